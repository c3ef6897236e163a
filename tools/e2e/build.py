"""e2e.test, ginkgo and the test images' programs, from the stack's tree.

Built by the same script and from the same Debian kubernetes source as
the stack's control plane, into the same version-named cache, so the
tests match the apiserver they run against.
"""

import glob
import os
import subprocess

from stack import cli as stack_cli
from stack import context as C
from stack.util import info
from stack.util import StackError

# make WHAT -> the binary it leaves in _output/bin.
TARGETS = {
    'test/e2e/e2e.test': 'e2e.test',
    'vendor/github.com/onsi/ginkgo/ginkgo': 'ginkgo',
    'test/images/agnhost': 'agnhost',
    'test/images/nonewprivs': 'nonewprivs',
}


def tree(ctx):
    """The extracted kubernetes source tree the stack builds from."""
    found = sorted(glob.glob(os.path.join(
        ctx.cache, 'kubernetes-build', 'src', 'kubernetes-*', '')))
    found = [d for d in found if os.path.isdir(os.path.join(d, 'test'))]
    if not found:
        raise StackError('no kubernetes source tree under %s/kubernetes-'
                         'build/src: run tools/localstack install first'
                         % ctx.cache)
    return found[0].rstrip('/')


def ensure(ctx):
    """Build what is missing; returns the directory of the binaries."""
    bins = stack_cli.kube_bin_dir(ctx)
    if all(os.access(os.path.join(bins, b), os.X_OK)
           for b in TARGETS.values()):
        return bins
    log = ctx.log('build-e2e')
    info('conformance: building %s from Debian\'s kubernetes source '
         '(first run only, about 30 min on two cores), log %s'
         % (', '.join(TARGETS.values()), log))
    env = dict(os.environ, KUBE_DEB_VERSION=stack_cli.KUBE_DEB_VERSION,
               KUBE_WHAT=' '.join(TARGETS),
               KUBE_BINARIES=' '.join(TARGETS.values()))
    script = os.path.join(C.STACK_DIR, 'build-kubernetes.sh')
    with open(log, 'ab') as err:
        p = subprocess.run([script, ctx.cache], env=env,
                           stdout=subprocess.PIPE, stderr=err)
    out = p.stdout.decode().strip().splitlines()
    if p.returncode != 0 or not out or \
            os.path.abspath(out[-1]) != os.path.abspath(bins):
        raise StackError('building the e2e binaries failed, see %s' % log)
    return bins
