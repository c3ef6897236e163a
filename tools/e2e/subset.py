"""Which conformance tests are the node-relevant subset, and how to focus them.

The subset is chosen once from the tree's conformance.yaml by AREAS and
kept in subset.txt, so that the pass rate of one run compares with the
next. Network tests that need kube-proxy or cluster DNS are not in it:
the local stack has neither.
"""

import os
import re

SUBSET_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'subset.txt')

AREAS = [
    r'\[k8s\.io\] (Pods|Container Runtime|Container Lifecycle Hook|'
    r'Docker Containers|InitContainer|Kubelet|KubeletManagedEtcHosts|'
    r'Lease|Probing container|Security Context|Variable Expansion) ',
    r'\[k8s\.io\] \[sig-node\] (Events|Pods Extended|PreStop) ',
    r'\[sig-node\] (ConfigMap|Downward API|PodTemplates|RuntimeClass) ',
    r'\[sig-api-machinery\] Secrets ',
    r'\[sig-apps\] (Deployment|Job|ReplicaSet|ReplicationController) ',
    r'\[sig-storage\] (ConfigMap|Secrets|Downward API volume|Projected '
    r'(configMap|secret|downwardAPI|combined)|EmptyDir volumes|'
    r'EmptyDir wrapper volumes) ',
]
EXCLUDED = re.compile(r'\[(Serial|Disruptive|Flaky)\]')

HEADER = """\
# The node-relevant conformance subset (tools/conformance --update-subset
# regenerates it from the kubernetes tree's conformance.yaml).
# One ginkgo test name per line.
"""


def select(codenames):
    """The subset's names among all conformance test names, sorted."""
    areas = [re.compile(a) for a in AREAS]
    chosen = set()
    for name in codenames:
        if EXCLUDED.search(name):
            continue
        if any(a.match(name) for a in areas):
            chosen.add(name)
    return sorted(chosen)


def area_of(name):
    """The part of a test's name that put it in the subset."""
    for a in AREAS:
        m = re.match(a, name)
        if m:
            return m.group(0).strip()
    return ''


def codenames_from_yaml(text):
    import yaml
    return [t['codename'] for t in yaml.safe_load(text) or []
            if t.get('codename')]


def read(path=SUBSET_FILE):
    with open(path) as f:
        return [ln.rstrip('\n') for ln in f
                if ln.strip() and not ln.startswith('#')]


def write(names, path=SUBSET_FILE):
    with open(path, 'w') as f:
        f.write(HEADER)
        for n in names:
            f.write(n + '\n')


def go_quote(text):
    """regexp.QuoteMeta: Go's RE2 rejects escapes of plain characters."""
    return re.sub(r'([\\.+*?()|\[\]{}^$])', r'\\\1', text)


def focus_regex(names):
    """One ginkgo -focus matching exactly these full test names.

    Ginkgo matches against the names with "[Top Level] " in front, and a
    name may be the start of another, hence the anchors.
    """
    return '(%s)$' % '|'.join(go_quote(n) for n in names)


def narrow(names, pattern):
    """Names matching a user's --focus (Python regex, searched)."""
    if not pattern:
        return list(names)
    rx = re.compile(pattern)
    return [n for n in names if rx.search(n)]
