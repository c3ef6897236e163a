"""The pure parts of tools/conformance: subset, focus, JUnit, docs."""

import os
import re
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools')
sys.path.insert(0, os.path.abspath(TOOLS))

from e2e import docs  # noqa: E402
from e2e import images  # noqa: E402
from e2e import report  # noqa: E402
from e2e import subset  # noqa: E402

PODS = '[k8s.io] Pods should get a host IP [NodeConformance] [Conformance]'
SECRET = ('[sig-storage] Secrets should be consumable from pods in volume '
          '[NodeConformance] [Conformance]')

JUNIT = '''<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Kubernetes e2e suite" tests="2" failures="1" errors="0">
  <testcase name="%(pods)s" classname="Kubernetes e2e suite" time="12.5">
  </testcase>
  <testcase name="%(secret)s" classname="Kubernetes e2e suite" time="301">
    <failure type="Failure">/workspace/test/e2e/common/secrets.go:42
Unexpected error:
    &lt;*errors.errorString&gt;: pod "pod-secrets" failed: refused
/workspace/test/e2e/framework/util.go:700</failure>
  </testcase>
  <testcase name="[k8s.io] Other test" classname="Kubernetes e2e suite"
      time="0"><skipped></skipped></testcase>
</testsuite>
''' % {'pods': PODS, 'secret': SECRET}


def test_subset_selects_areas_and_drops_serial():
    names = [
        PODS, SECRET,
        '[sig-storage] EmptyDir wrapper volumes should not cause race '
        'condition when used for configmaps [Serial] [Conformance]',
        '[sig-network] Services should serve a basic endpoint '
        '[Conformance]',
        '[k8s.io] KubeletManagedEtcHosts should test kubelet managed '
        '/etc/hosts file [LinuxOnly] [NodeConformance] [Conformance]',
    ]
    chosen = subset.select(names)
    assert chosen == sorted([PODS, SECRET, names[4]])


def test_kept_subset_has_the_161_tests():
    names = subset.read()
    assert len(names) == 161
    assert len(set(names)) == 161
    assert all(subset.area_of(n) for n in names)


def test_focus_matches_exactly_the_names():
    names = [PODS, SECRET, "[k8s.io] Docker Containers should be able to "
             "override the image's default arguments (docker cmd) "
             "[NodeConformance] [Conformance]"]
    focus = subset.focus_regex(names)
    # What ginkgo matches: the name behind the top level container.
    for n in names:
        assert re.search(focus, '[Top Level] ' + n)
    assert not re.search(focus, '[Top Level] ' + PODS + ' again')
    assert not re.search(focus, '[Top Level] [k8s.io] Pods should get')


def test_go_quote_escapes_only_metacharacters():
    assert subset.go_quote('a b[c](d) e.f') == r'a b\[c\]\(d\) e\.f'


def test_narrow_by_user_focus():
    assert subset.narrow([PODS, SECRET], 'Secrets') == [SECRET]
    assert subset.narrow([PODS, SECRET], None) == [PODS, SECRET]


def test_failure_line_joins_unexpected_error():
    msg = ('/workspace/test/e2e/common/secrets.go:42\nUnexpected error:\n'
           '    <*errors.errorString>: timed out\n'
           '/workspace/test/e2e/framework/util.go:700')
    assert report.failure_line(msg) == \
        'Unexpected error: <*errors.errorString>: timed out'
    assert report.failure_line('') == ''
    assert len(report.failure_line('x' * 500)) == 200


def test_read_junit_merges_nodes(tmp_path):
    (tmp_path / 'junit_01.xml').write_text(JUNIT)
    # Another ginkgo node ran "Other test"; the first only skipped it.
    (tmp_path / 'junit_02.xml').write_text(
        '<testsuite><testcase name="[k8s.io] Other test" time="3">'
        '</testcase><testcase name="%s" time="0"><skipped/></testcase>'
        '</testsuite>' % PODS)
    got = report.read_junit(str(tmp_path))
    assert got[PODS].state == report.PASS
    assert got[SECRET].state == report.FAIL
    assert 'refused' in got[SECRET].first_line
    assert got['[k8s.io] Other test'].state == report.PASS


def test_for_subset_marks_missing_and_setup_failure(tmp_path):
    junit = {'BeforeSuite': report.Result(
        'BeforeSuite', report.FAIL, 0, 'x.go:1\nnodes not ready\nx.go:2')}
    results = report.for_subset([PODS], junit)
    assert results[0].state == report.NOT_RUN
    assert results[0].failure == 'BeforeSuite failed: nodes not ready'
    t = report.totals(results)
    assert t == {'total': 1, 'passed': 0, 'failed': 0, 'not_run': 1,
                 'pass_rate': 0.0}


def test_summary_and_json(tmp_path):
    (tmp_path / 'junit_01.xml').write_text(JUNIT)
    results = report.for_subset([PODS, SECRET],
                                report.read_junit(str(tmp_path)))
    lines = report.summary_lines(results)
    assert lines[0].startswith('PASS    ' + PODS)
    assert lines[1].startswith('FAIL    ' + SECRET)
    assert lines[-1] == '1 passed, 1 failed, 0 not run of 2: 50.0 %'
    path = str(tmp_path / 'results.json')
    report.write_json(path, results, {'date': '2026-12-02'})
    data = report.load_json(path)
    assert data['totals']['pass_rate'] == 50.0
    assert data['tests'][1]['state'] == 'FAIL'


def test_reasons_and_rendered_table(tmp_path):
    reasons = docs.parse_reasons(
        '# comment\n'
        r'\[sig-storage\] Secrets ' '\n'
        '    secret volumes are not\n'
        '    supported\n')
    assert docs.reason_for(SECRET, reasons) == \
        'secret volumes are not supported'
    assert docs.reason_for(PODS, reasons) == ''
    (tmp_path / 'junit_01.xml').write_text(JUNIT)
    results = report.for_subset([PODS, SECRET],
                                report.read_junit(str(tmp_path)))
    path = str(tmp_path / 'results.json')
    report.write_json(path, results, {'date': '2026-12-02',
                                      'zun_vk': 'abc', 'ginkgo_nodes': 4,
                                      'run_seconds': 600})
    text = docs.render(report.load_json(path), reasons)
    assert '**1 of 2 passed (50.0 %)**' in text
    assert '   * - [sig-storage] Secrets\n     - 0 of 1' in text
    assert ('     - FAIL\n     - secret volumes are not supported'
            in text)


def test_manifest_names(tmp_path):
    d = tmp_path / 'test' / 'utils' / 'image'
    d.mkdir(parents=True)
    (d / 'manifest.go').write_text('''
func initReg() RegistryList {
    registry := RegistryList{
        DockerLibraryRegistry:   "docker.io/library",
        PromoterE2eRegistry:     "k8s.gcr.io/e2e-test-images",
        GcRegistry:              "k8s.gcr.io",
    }
}
    configs[Agnhost] = Config{promoterE2eRegistry, "agnhost", "2.21"}
    configs[BusyBox] = Config{dockerLibraryRegistry, "busybox", "1.29"}
    configs[Pause] = Config{gcRegistry, "pause", "3.2"}
''')
    assert images.manifest_names(str(tmp_path)) == {
        'Agnhost': 'k8s.gcr.io/e2e-test-images/agnhost:2.21',
        'BusyBox': 'docker.io/library/busybox:1.29',
        'Pause': 'k8s.gcr.io/pause:3.2'}


@pytest.mark.parametrize('image,expected', [
    (images.Image('X', cmd=['sh']), ['CMD ["sh"]']),
    (images.Image('X', entrypoint=['/agnhost'], cmd=['pause'], user='1234'),
     ['ENTRYPOINT ["/agnhost"]', 'CMD ["pause"]', 'USER 1234']),
])
def test_image_changes(image, expected):
    assert image.changes() == expected
