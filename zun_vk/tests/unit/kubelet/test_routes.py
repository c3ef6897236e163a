import datetime

import pytest

from zun_vk.kubelet import routes
from zun_vk.kubelet import streams

UTC = datetime.timezone.utc


@pytest.mark.parametrize('method,target,operation', [
    ('GET', '/healthz', routes.HEALTHZ),
    ('GET', '/pods', routes.PODS),
    ('GET', '/pods/', routes.PODS),
    ('GET', '/stats/summary', routes.STATS_SUMMARY),
    ('POST', '/stats/summary', routes.STATS_SUMMARY),
    ('GET', '/metrics/resource', routes.METRICS_RESOURCE),
    ('GET', '/containerLogs/ns/p/c', routes.LOGS),
    ('POST', '/exec/ns/p/c?command=ls&output=1', routes.EXEC),
    ('GET', '/exec/ns/p/uid/c?command=ls&output=1', routes.EXEC),
    ('POST', '/attach/ns/p/c?output=1', routes.ATTACH),
    ('POST', '/portForward/ns/p', routes.PORT_FORWARD),
    ('GET', '/portForward/ns/p/uid?port=80', routes.PORT_FORWARD),
    ('POST', '/run/ns/p/c?cmd=ls%20-l', routes.RUN),
])
def test_known_paths(method, target, operation):
    assert routes.parse(method, target).operation == operation


@pytest.mark.parametrize('method,target', [
    ('GET', '/'),
    ('GET', '/nothing'),
    ('DELETE', '/healthz'),
    ('GET', '/containerLogs/ns/p'),
    ('GET', '/exec/ns'),
    ('GET', '/run/ns/p/c?cmd=ls'),
    ('PUT', '/portForward/ns/p'),
    ('GET', '/stats/other'),
])
def test_unknown_paths_are_404(method, target):
    with pytest.raises(routes.RouteError) as exc:
        routes.parse(method, target)
    assert exc.value.status == 404


def test_exec_route_fields():
    route = routes.parse(
        'POST', '/exec/ns/p/uid-1/c?command=sh&command=-c&command=echo%20hi'
                '&input=1&output=1&error=1')
    assert (route.namespace, route.pod, route.pod_uid, route.container) == \
        ('ns', 'p', 'uid-1', 'c')
    assert route.command == ('sh', '-c', 'echo hi')
    assert route.exec_options == streams.ExecOptions(
        stdin=True, stdout=True, stderr=True, tty=False)


def test_tty_drops_stderr_as_the_kubelet_does():
    route = routes.parse('POST', '/exec/ns/p/c?command=sh&input=1&output=1'
                                 '&error=1&tty=1')
    assert route.exec_options == streams.ExecOptions(
        stdin=True, stdout=True, stderr=False, tty=True)


@pytest.mark.parametrize('query', ['', 'output=true', 'input=0&output=0'])
def test_exec_needs_a_stream(query):
    with pytest.raises(routes.RouteError) as exc:
        routes.parse('POST', '/exec/ns/p/c?command=ls&' + query)
    assert exc.value.status == 400
    assert 'at least 1 of stdin, stdout, stderr' in exc.value.message


def test_exec_needs_a_command():
    with pytest.raises(routes.RouteError) as exc:
        routes.parse('POST', '/exec/ns/p/c?output=1')
    assert exc.value.status == 400


def test_run_splits_cmd_on_spaces():
    assert routes.parse('POST', '/run/ns/p/c?cmd=ls%20-l%20/').command == \
        ('ls', '-l', '/')


@pytest.mark.parametrize('query,expected', [
    ('', routes.LogOptions()),
    ('follow=true', routes.LogOptions(follow=True)),
    ('follow=', routes.LogOptions(follow=True)),
    ('follow=false&timestamps=1', routes.LogOptions(timestamps=True)),
    ('follow=0', routes.LogOptions()),
    ('tailLines=10', routes.LogOptions(tail_lines=10)),
    ('tail=5', routes.LogOptions(tail_lines=5)),
    ('tail=all', routes.LogOptions()),
    ('tailLines=0', routes.LogOptions(tail_lines=0)),
    ('limitBytes=100', routes.LogOptions(limit_bytes=100)),
    ('sinceSeconds=30', routes.LogOptions(since_seconds=30)),
    ('sinceTime=2026-01-02T03:04:05Z', routes.LogOptions(
        since_time=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))),
    ('sinceTime=2026-01-02T05:04:05%2B02:00', routes.LogOptions(
        since_time=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))),
    ('previous=true', routes.LogOptions(previous=True)),
])
def test_log_options(query, expected):
    route = routes.parse('GET', '/containerLogs/ns/p/c?' + query)
    assert route.logs == expected


@pytest.mark.parametrize('query,status', [
    ('tailLines=x', 400),
    ('sinceSeconds=1.5', 400),
    ('sinceTime=yesterday', 400),
    ('sinceTime=2026-01-02T03:04:05', 400),
    ('limitBytes=99999999999999999999', 400),
    ('sinceSeconds=0', 422),
    ('tailLines=-1', 422),
    ('limitBytes=0', 422),
    ('sinceSeconds=10&sinceTime=2026-01-02T03:04:05Z', 422),
])
def test_bad_log_options(query, status):
    with pytest.raises(routes.RouteError) as exc:
        routes.parse('GET', '/containerLogs/ns/p/c?' + query)
    assert exc.value.status == status


@pytest.mark.parametrize('query,ports', [
    ('', ()),
    ('port=80', (80,)),
    ('port=80&port=443', (80, 443)),
    ('port=80,8080', (80, 8080)),
])
def test_port_forward_ports(query, ports):
    assert routes.parse('GET', '/portForward/ns/p?' + query).ports == ports


@pytest.mark.parametrize('query', ['port=http', 'port=0', 'port=70000'])
def test_bad_ports(query):
    with pytest.raises(routes.RouteError) as exc:
        routes.parse('GET', '/portForward/ns/p?' + query)
    assert exc.value.status == 400


def test_names_are_unquoted():
    route = routes.parse('GET', '/containerLogs/my%2Dns/p/c')
    assert route.namespace == 'my-ns'
