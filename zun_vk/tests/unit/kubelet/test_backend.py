import datetime
import threading
import types

import pytest

from zun_vk.hostlink import client as agent_client
from zun_vk.kubelet import backend
from zun_vk.kubelet import routes
from zun_vk.kubelet import streams
from zun_vk.translate import pod_to_capsule

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
CONF = types.SimpleNamespace(node_name='zun-vk-1', cluster_id='c1')


def make_pod(name='web', uid='uid-1', node='zun-vk-1', waiting=None):
    pod = {'metadata': {'name': name, 'namespace': 'ns', 'uid': uid},
           'spec': {'nodeName': node,
                    'initContainers': [{'name': 'init'}],
                    'containers': [{'name': 'app'}, {'name': 'side'}]},
           'status': {}}
    if waiting:
        pod['status']['containerStatuses'] = [
            {'name': 'app', 'state': {'waiting': {'reason': waiting}}}]
    return pod


def make_capsule(pod, members=('m-app', 'm-side'), host=None):
    meta = pod['metadata']
    capsule = {
        'uuid': 'cap-1',
        'name': pod_to_capsule.capsule_name('ns', meta['name'], meta['uid']),
        'labels': {pod_to_capsule.LABEL_POD_UID: meta['uid'],
                   pod_to_capsule.LABEL_NODE: 'zun-vk-1',
                   pod_to_capsule.LABEL_CLUSTER: 'c1'},
        'init_containers': [{'name': 'capsule-cap-1-alpha-0',
                             'uuid': 'm-init'}],
        'containers': [{'name': 'capsule-cap-1-beta-%d' % i, 'uuid': m}
                       for i, m in enumerate(members)]}
    if host:
        capsule['host'] = host
    return capsule


class FakePods(object):
    def __init__(self, pods):
        self.pods = {(p['metadata']['namespace'], p['metadata']['name']): p
                     for p in pods}

    def read(self, namespace, name):
        return self.pods.get((namespace, name))

    def list(self):
        return list(self.pods.values()), '42'


class FakeZun(object):
    def __init__(self, capsules):
        self.capsules = {c['name']: c for c in capsules}

    def get_capsule(self, name):
        return self.capsules.get(name)

    def list_capsules(self):
        return list(self.capsules.values())


class FakeSession(object):
    def __init__(self, events):
        self._events = events
        self.stdin = []
        self.stdin_closed = threading.Event()
        self.sizes = []
        self.closed = False

    def send_stdin(self, data):
        self.stdin.append(data)

    def close_stdin(self):
        self.stdin_closed.set()

    def resize(self, width, height):
        self.sizes.append((width, height))

    def events(self):
        # The output ends only after stdin has been relayed, as a real
        # "cat" would.
        self.stdin_closed.wait(10)
        return iter(self._events)

    def close(self):
        self.closed = True


class FakeAgents(object):
    def __init__(self, session=None, fail=None):
        self.calls = []
        self.session = session
        self.fail = fail

    def locate(self, capsule_uuid, zun_host=None):
        self.calls.append(('locate', capsule_uuid, zun_host))
        return zun_host or 'compute-1'

    def logs(self, host, capsule_uuid, container_uuid, **options):
        self.calls.append(('logs', host, capsule_uuid, container_uuid,
                           options))
        if self.fail:
            raise self.fail
        return iter([b'line 1\n', b'line 2\n'])

    def exec(self, host, capsule_uuid, container_uuid, command, stdin=False,
             tty=False):
        self.calls.append(('exec', host, container_uuid, command, stdin,
                           tty))
        if self.fail:
            raise self.fail
        return self.session

    def attach(self, host, capsule_uuid, container_uuid, stdin=False,
               tty=False):
        self.calls.append(('attach', host, container_uuid, stdin, tty))
        return self.session


class FakeChannels(streams.ExecChannels):
    def __init__(self, options, stdin=(), sizes=()):
        self.options = options
        self._stdin = list(stdin)
        self._sizes = list(sizes)
        self.out, self.err = [], []
        self.outcome = None

    def read_stdin(self, size=65536):
        return self._stdin.pop(0) if self._stdin else b''

    def write_stdout(self, data):
        self.out.append(data)

    def write_stderr(self, data):
        self.err.append(data)

    def resizes(self):
        return iter(self._sizes)

    def finish(self, exit_code=None, error=None):
        self.outcome = (exit_code, error)

    def closed(self):
        return False


def make_backend(pods, capsules, agents):
    return backend.Backend(CONF, FakePods(pods), FakeZun(capsules), agents,
                           clock=lambda: NOW)


def logs_route(query='', container='app', pod='web'):
    return routes.parse('GET', '/containerLogs/ns/%s/%s?%s'
                        % (pod, container, query))


def test_logs_reach_the_member_with_the_options():
    pod = make_pod()
    agents = FakeAgents()
    b = make_backend([pod], [make_capsule(pod)], agents)
    chunks = b.logs(logs_route('follow=true&tailLines=5&timestamps=true'
                               '&limitBytes=9&container=side',
                               container='side'))
    assert list(chunks) == [b'line 1\n', b'line 2\n']
    call = agents.calls[-1]
    assert call[:4] == ('logs', 'compute-1', 'cap-1', 'm-side')
    assert call[4] == dict(follow=True, tail_lines=5, since=None,
                           timestamps=True, limit_bytes=9)


def test_logs_since_seconds_is_a_time():
    pod = make_pod()
    agents = FakeAgents()
    make_backend([pod], [make_capsule(pod)], agents).logs(
        logs_route('sinceSeconds=30'))
    assert agents.calls[-1][4]['since'] == NOW - datetime.timedelta(
        seconds=30)


def test_init_container_logs():
    pod = make_pod()
    agents = FakeAgents()
    make_backend([pod], [make_capsule(pod)], agents).logs(
        logs_route(container='init'))
    assert agents.calls[-1][3] == 'm-init'


def test_zun_host_is_used_when_zun_shows_it():
    pod = make_pod()
    agents = FakeAgents()
    make_backend([pod], [make_capsule(pod, host='c7')], agents).logs(
        logs_route())
    assert ('locate', 'cap-1', 'c7') in agents.calls
    assert agents.calls[-1][1] == 'c7'


@pytest.mark.parametrize('pods,route,status,message', [
    ([], logs_route(), 404, 'pod ns/web does not exist'),
    ([make_pod(node='other')], logs_route(), 404, 'does not exist'),
    ([make_pod()], logs_route(container='nope'), 404,
     'container "nope" not found in pod "web"'),
    ([make_pod()], logs_route('previous=true'), 400,
     'previous terminated container "app" in pod "web" not found'),
])
def test_log_errors(pods, route, status, message):
    b = make_backend(pods, [make_capsule(make_pod())], FakeAgents())
    with pytest.raises(routes.RouteError) as exc:
        b.logs(route)
    assert exc.value.status == status
    assert message in exc.value.message


def test_logs_of_a_pod_without_capsule_say_it_is_waiting():
    b = make_backend([make_pod(waiting='ContainerCreating')], [],
                     FakeAgents())
    with pytest.raises(routes.RouteError) as exc:
        b.logs(logs_route())
    assert exc.value.status == 400
    assert exc.value.message == ('container "app" in pod "web" is waiting '
                                 'to start: ContainerCreating')


def test_a_capsule_of_another_pod_uid_is_not_used():
    pod = make_pod()
    capsule = make_capsule(pod)
    capsule['labels'][pod_to_capsule.LABEL_POD_UID] = 'someone-else'
    with pytest.raises(routes.RouteError) as exc:
        make_backend([pod], [capsule], FakeAgents()).logs(logs_route())
    assert exc.value.status == 400


def test_agent_errors_become_http_errors():
    pod = make_pod()
    agents = FakeAgents(fail=agent_client.AgentError('agent down', 503))
    with pytest.raises(routes.RouteError) as exc:
        make_backend([pod], [make_capsule(pod)], agents).logs(logs_route())
    assert (exc.value.status, exc.value.message) == (503, 'agent down')


def test_resolve_checks_the_pod_uid():
    pod = make_pod()
    b = make_backend([pod], [make_capsule(pod)], FakeAgents())
    route = routes.parse('POST', '/exec/ns/web/other-uid/app?command=ls'
                                 '&output=1')
    with pytest.raises(routes.RouteError) as exc:
        b.resolve(route)
    assert exc.value.status == 404
    route = routes.parse('POST', '/exec/ns/web/uid-1/app?command=ls'
                                 '&output=1')
    assert b.resolve(route).container_uuid == 'm-app'


def test_exec_relays_streams_resize_and_exit_code():
    pod = make_pod()
    session = FakeSession([('stdout', b'out'), ('stderr', b'err'),
                           ('exit', 7)])
    agents = FakeAgents(session)
    b = make_backend([pod], [make_capsule(pod)], agents)
    route = routes.parse('POST', '/exec/ns/web/app?command=sh&command=-c'
                                 '&command=x&input=1&output=1&tty=1')
    channels = FakeChannels(route.exec_options, stdin=[b'a', b'b'],
                            sizes=[(80, 24)])
    b.exec(b.resolve(route), route, channels)
    assert agents.calls[-1] == ('exec', 'compute-1', 'm-app',
                                ['sh', '-c', 'x'], True, True)
    assert channels.out == [b'out'] and channels.err == [b'err']
    assert channels.outcome == (7, None)
    assert session.stdin == [b'a', b'b'] and session.stdin_closed.is_set()
    assert session.closed


def test_exec_failure_is_reported_on_the_error_stream():
    pod = make_pod()
    agents = FakeAgents(fail=agent_client.AgentError('no such container',
                                                     404))
    b = make_backend([pod], [make_capsule(pod)], agents)
    route = routes.parse('POST', '/exec/ns/web/app?command=ls&output=1')
    channels = FakeChannels(route.exec_options)
    b.exec(b.resolve(route), route, channels)
    assert channels.outcome == (None, 'no such container')


def test_attach_uses_attach():
    pod = make_pod()
    session = FakeSession([('exit', 0)])
    session.close_stdin()
    agents = FakeAgents(session)
    b = make_backend([pod], [make_capsule(pod)], agents)
    route = routes.parse('POST', '/attach/ns/web/side?output=1')
    channels = FakeChannels(route.exec_options)
    b.exec(b.resolve(route), route, channels)
    assert agents.calls[-1] == ('attach', 'compute-1', 'm-side', False,
                                False)
    assert channels.outcome == (0, None)


def test_pods_lists_the_node_pods():
    pod = make_pod()
    result = make_backend([pod], [], FakeAgents()).pods()
    assert result['kind'] == 'PodList' and result['items'] == [pod]
