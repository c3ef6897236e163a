"""Results of a conformance run: JUnit files in, a table out.

Pure functions over ginkgo's JUnit XML and the subset's test names, so
that the printed summary, the results file and the docs table are all
made from one reading of the run.
"""

import glob
import json
import os
import re
import xml.etree.ElementTree as ET

PASS, FAIL, NOT_RUN = 'PASS', 'FAIL', 'NOT RUN'
# Ginkgo reports a failing BeforeSuite/AfterSuite as a test of that name.
SUITE_SETUP = ('BeforeSuite', 'AfterSuite')


class Result(object):
    def __init__(self, name, state, seconds=0.0, failure=''):
        self.name = name
        self.state = state
        self.seconds = seconds
        self.failure = failure

    @property
    def first_line(self):
        return failure_line(self.failure)

    def as_dict(self):
        return {'name': self.name, 'state': self.state,
                'seconds': round(self.seconds, 1),
                'failure': self.first_line}


def failure_line(message, width=200):
    """One line of a ginkgo failure that says what went wrong.

    Ginkgo writes "<code location>\\n<time>: <message>\\n<location>"; an
    "Unexpected error:" carries its substance in the error's `s:` line,
    and a failed pod's status dump in its Reason and Message.
    """
    lines = [ln.strip() for ln in (message or '').splitlines()]
    lines = [ln for ln in lines if ln and not _is_location(ln)]
    if not lines:
        return ''
    lines[0] = TIMESTAMP.sub('', lines[0])
    text = lines[0]
    if text.rstrip(':') == 'Unexpected error':
        quoted = [ln for ln in lines[1:] if ln.startswith('s: "')]
        if quoted:
            text = quoted[0][4:].rstrip(',').rstrip('"').replace('\\"', '"')
        elif len(lines) > 1:
            text = '%s %s' % (text, lines[1])
    elif text == 'Expected':
        text = ' '.join(lines[:4])
    pod = POD_FAILURE.search(text)
    if pod:
        text = '%s: %s' % (pod.group('reason'), pod.group('message').strip())
    text = re.sub(r'\s+', ' ', text)
    if len(text) > width:
        text = text[:width - 3] + '...'
    return text


# "Dec  2 01:36:23.390: " in front of the message.
TIMESTAMP = re.compile(r'^[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d\.\d+: ')
# The pod-level Message and Reason of a printed PodStatus.
POD_FAILURE = re.compile(r'\}\] Message:(?P<message>.*?) '
                         r'Reason:(?P<reason>\w+) NominatedNodeName')


def _is_location(line):
    # "/go/src/k8s.io/kubernetes/test/e2e/common/pods.go:123"
    return bool(re.match(r'^\S+\.go:\d+$', line))


def read_junit(report_dir):
    """{test name: Result} from every junit_*.xml under report_dir.

    With several ginkgo nodes each file holds the specs its node ran and
    the others as skipped: a run result wins over a skip.
    """
    results = {}
    for path in sorted(glob.glob(os.path.join(report_dir, 'junit_*.xml'))):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            continue
        for case in root.iter('testcase'):
            name = case.get('name', '')
            seconds = float(case.get('time') or 0)
            failure = case.find('failure')
            if failure is not None:
                res = Result(name, FAIL, seconds, failure.text or '')
            elif case.find('skipped') is not None:
                res = Result(name, NOT_RUN, seconds)
            else:
                res = Result(name, PASS, seconds)
            old = results.get(name)
            if old is None or old.state == NOT_RUN:
                results[name] = res
    return results


def for_subset(subset, junit):
    """One Result per subset test, in the subset's order."""
    setup_failure = next((junit[n] for n in SUITE_SETUP
                          if n in junit and junit[n].state == FAIL), None)
    out = []
    for name in subset:
        res = junit.get(name)
        if res is None:
            res = Result(name, NOT_RUN)
            if setup_failure is not None:
                res.failure = '%s failed: %s' % (
                    setup_failure.name, setup_failure.first_line)
        out.append(res)
    return out


def totals(results):
    passed = sum(1 for r in results if r.state == PASS)
    failed = sum(1 for r in results if r.state == FAIL)
    not_run = sum(1 for r in results if r.state == NOT_RUN)
    total = len(results)
    rate = 100.0 * passed / total if total else 0.0
    return {'total': total, 'passed': passed, 'failed': failed,
            'not_run': not_run, 'pass_rate': round(rate, 1)}


def summary_lines(results):
    lines = []
    for r in results:
        line = '%-7s %s' % (r.state, r.name)
        if r.state != PASS and r.first_line:
            line += '\n        %s' % r.first_line
        lines.append(line)
    t = totals(results)
    lines.append('%(passed)d passed, %(failed)d failed, %(not_run)d not run '
                 'of %(total)d: %(pass_rate).1f %%' % t)
    return lines


def write_json(path, results, meta):
    data = dict(meta)
    data['totals'] = totals(results)
    data['tests'] = [r.as_dict() for r in results]
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)


def load_json(path):
    with open(path) as f:
        return json.load(f)
