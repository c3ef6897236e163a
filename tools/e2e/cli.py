"""tools/conformance: the conformance subset against the local stack."""

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import time

from stack import cli as stack_cli
from stack import context as C
from stack.util import info
from stack.util import StackError

from . import build
from . import docs
from . import images
from . import node
from . import report
from . import subset

DEFAULT_REPORT_DIR = os.path.join('~', '.local', 'share', 'zun-vk-stack',
                                  'conformance')


def git_revision():
    p = subprocess.run(['git', '-C', C.REPO_ROOT, 'describe', '--always',
                        '--dirty'], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return p.stdout.decode().strip() or 'unknown'


def stack_up():
    tool = os.path.join(C.TOOLS_DIR, 'localstack')
    if subprocess.run([tool, 'up', '--real-containers']).returncode != 0:
        raise StackError('the local stack did not come up with real '
                         'containers (tools/localstack up --real-containers)')


def ginkgo_argv(ctx, bins, tree, names, report_dir, nodes, allowed):
    kubectl = shutil.which('kubectl') or 'kubectl'
    return [
        os.path.join(bins, 'ginkgo'), '-nodes=%d' % nodes, '-noColor',
        '-timeout=90m', '-focus=' + subset.focus_regex(names),
        os.path.join(bins, 'e2e.test'), '--',
        '--kubeconfig=' + ctx.kubeconfig, '--provider=skeleton',
        '--report-dir=' + report_dir, '--e2e-output-dir=' + report_dir,
        '--repo-root=' + tree, '--kubectl-path=' + kubectl,
        # The stack's own node (tainted) and nodes other tests left.
        '--allowed-not-ready-nodes=%d' % allowed,
        '--disable-log-dump', '--node-schedulable-timeout=2m',
    ]


def run(args):
    ctx = C.Context()
    report_dir = os.path.abspath(os.path.expanduser(args.report_dir))
    names = subset.narrow(subset.read(), args.focus)
    if not names:
        raise StackError('no test of the subset matches --focus %r'
                         % args.focus)
    t0 = time.time()
    stack_up()
    stack_cli.resolve(ctx)
    bins = build.ensure(ctx)
    tree = build.tree(ctx)
    images.build(ctx, bins, tree)
    node.remove(ctx, wait=0)        # what an interrupted run left
    info('conformance: node %s %s' % (node.NODE, node.start(ctx)))
    os.makedirs(report_dir, exist_ok=True)
    for old in os.listdir(report_dir):
        if old.startswith('junit_'):
            os.unlink(os.path.join(report_dir, old))
    log = os.path.join(report_dir, 'e2e.log')
    argv = ginkgo_argv(ctx, bins, tree, names, report_dir, args.nodes,
                       len(node.other_nodes(ctx)))
    info('conformance: running %d test(s) on %d ginkgo node(s), log %s'
         % (len(names), args.nodes, log))
    started = time.time()
    interrupted = False
    try:
        with open(log, 'wb') as out:
            subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                           cwd=report_dir,
                           env=dict(os.environ, KUBECONFIG=ctx.kubeconfig))
    except KeyboardInterrupt:
        interrupted = True
    took = time.time() - started
    # The results first: a failed clean-up must not lose them.
    results = report.for_subset(names, report.read_junit(report_dir))
    meta = {'date': datetime.datetime.utcnow().strftime('%Y-%m-%d'),
            'kubernetes': stack_cli.KUBE_DEB_VERSION,
            'zun_vk': git_revision(), 'ginkgo_nodes': args.nodes,
            'focus': args.focus or '', 'run_seconds': int(took)}
    path = os.path.join(report_dir, 'results.json')
    report.write_json(path, results, meta)
    cleanup_error = None
    if not args.keep_node:
        try:
            node.remove(ctx)
        except StackError as e:
            cleanup_error = e
    for line in report.summary_lines(results):
        print(line)
    print('results: %s; JUnit XML and e2e.log in %s (%d min in all)'
          % (path, report_dir, round((time.time() - t0) / 60.0)))
    if cleanup_error is not None:
        sys.stderr.write('conformance: ERROR: cleaning up: %s\n'
                         % cleanup_error)
        return 1
    if interrupted:
        return 130
    return 0


def update_subset(args):
    ctx = C.Context()
    stack_cli.resolve(ctx)
    path = os.path.join(build.tree(ctx), 'test', 'conformance', 'testdata',
                        'conformance.yaml')
    with open(path) as f:
        names = subset.select(subset.codenames_from_yaml(f.read()))
    subset.write(names)
    info('conformance: %d tests in %s' % (len(names), subset.SUBSET_FILE))
    return 0


def write_docs(args):
    data = report.load_json(args.results)
    with open(docs.TABLE_FILE, 'w') as f:
        f.write(docs.render(data, docs.read_reasons()))
    info('conformance: wrote %s from %s' % (docs.TABLE_FILE, args.results))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='conformance',
        description='Run the node-relevant subset of Kubernetes\' '
                    'conformance tests (tools/e2e/subset.txt) against the '
                    'local stack on an untainted zun-vk node, print PASS or '
                    'FAIL per test and the pass rate.')
    ap.add_argument('--focus', help='only the subset\'s tests whose name '
                    'matches this regular expression')
    ap.add_argument('--report-dir', default=DEFAULT_REPORT_DIR,
                    help='where JUnit XML, e2e.log and results.json go '
                    '(default %(default)s)')
    ap.add_argument('--nodes', type=int, default=4,
                    help='ginkgo nodes running tests in parallel '
                    '(default %(default)s)')
    ap.add_argument('--keep-node', action='store_true',
                    help='leave the conformance node and its capsules in '
                    'place afterwards, for debugging')
    ap.add_argument('--update-subset', action='store_true',
                    help='regenerate tools/e2e/subset.txt from the tree\'s '
                    'conformance.yaml and exit')
    ap.add_argument('--write-docs', metavar='RESULTS_JSON',
                    dest='results',
                    help='regenerate the docs\' results table from a run\'s '
                    'results.json and exit')
    args = ap.parse_args(argv)
    try:
        if args.update_subset:
            return update_subset(args)
        if args.results:
            return write_docs(args)
        return run(args)
    except StackError as e:
        sys.stderr.write('conformance: ERROR: %s\n' % e)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write('conformance: interrupted\n')
        return 130
