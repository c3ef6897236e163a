"""zun-vk-agent against the real container engine, driven by AgentClient.

The agent runs in this process with certificates made for the test, on
the Docker API of the stack's podman (or of the engine named by
ZUN_VK_TEST_DOCKER_URL, which then leaves the stack alone). The test
makes its own containers shaped as Zun's docker driver makes a capsule:
a sandbox ``zun-<capsule uuid>`` and members ``zun-<container uuid>``
joined to its network and IPC namespaces, all from the busybox image the
stack built (no registry is reachable). They are removed at the end.

Port-forward enters the sandbox's network namespace: this needs root,
as the agent has on a compute host.
"""

import os
import re
import time
import uuid

import pytest

from zun_vk.tests import agent_setup
from zun_vk.tests.functional import fixtures
from zun_vk.tests import pki

docker = pytest.importorskip('docker')

from zun_vk.host_agent import engine as engine_mod  # noqa: E402
from zun_vk.host_agent import service  # noqa: E402
from zun_vk.hostlink import client as client_mod  # noqa: E402

HOST = agent_setup.HOST
IMAGE = 'docker.io/library/busybox:latest'
RUN = uuid.uuid4().hex[:8]
LABEL = {'zun-vk-functional': 'host-agent-%s' % RUN}
TIMESTAMPED = re.compile(
    rb'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) ')

SANDBOX_COMMAND = ['sh', '-c', "trap 'exit 0' TERM; "
                   'while :; do sleep 3600 & wait $!; done']
# Writes what appears in /tmp/say, so the test can make the container
# log a line at a moment of its choosing.
TALKER_COMMAND = ['sh', '-c', 'echo first; echo err-first >&2; '
                  'while :; do if [ -f /tmp/say ]; then cat /tmp/say; '
                  'rm /tmp/say; fi; sleep 0.1; done']
HTTPD_COMMAND = ['sh', '-c', 'mkdir -p /www && echo hello-from-pod > '
                 '/www/index.html && exec httpd -f -p 127.0.0.1:8080 '
                 '-h /www']
READER_COMMAND = ['sh', '-c', 'while read line; do echo "got $line"; done']


@pytest.fixture(scope='module')
def engine_url(request):
    url = os.environ.get('ZUN_VK_TEST_DOCKER_URL')
    if url:
        return url
    stack = request.getfixturevalue('stack')
    if not fixtures.real_containers(stack):
        pytest.skip('the stack runs Zun\'s test driver: no engine')
    return 'unix://' + stack.env['ZUN_VK_STACK_PODMAN_SOCKET']


@pytest.fixture(scope='module')
def api(engine_url):
    api = docker.APIClient(base_url=engine_url, version='auto', timeout=60)
    try:
        api.inspect_image(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip('the engine has no %s image' % IMAGE)
    yield api
    api.close()


class Capsule(object):
    """Engine containers shaped like one capsule of Zun's docker driver."""

    def __init__(self, api):
        self.api = api
        self.uuid = str(uuid.uuid4())
        self.ids = []
        self.sandbox_id = self._run(self.uuid, SANDBOX_COMMAND,
                                    ipc_mode='shareable')
        self.members = {}

    def _run(self, name_uuid, command, stdin_open=False, **host_config):
        created = self.api.create_container(
            IMAGE, name='zun-' + name_uuid, command=command, labels=LABEL,
            stdin_open=stdin_open,
            host_config=self.api.create_host_config(**host_config))
        self.ids.append(created['Id'])
        self.api.start(created['Id'])
        return created['Id']

    def add(self, role, command, stdin_open=False):
        member = str(uuid.uuid4())
        self._run(member, command, stdin_open=stdin_open,
                  network_mode='container:%s' % self.sandbox_id,
                  ipc_mode='container:%s' % self.sandbox_id)
        self.members[role] = member
        return member

    def remove(self):
        for engine_id in reversed(self.ids):
            try:
                self.api.remove_container(engine_id, force=True)
            except docker.errors.NotFound:
                pass


@pytest.fixture(scope='module')
def capsule(api):
    capsule = Capsule(api)
    try:
        capsule.add('talker', TALKER_COMMAND)
        capsule.add('httpd', HTTPD_COMMAND)
        capsule.add('reader', READER_COMMAND, stdin_open=True)
        # A Zun-named container outside the capsule: never reachable
        # through the capsule's tickets.
        capsule.stranger = str(uuid.uuid4())
        capsule._run(capsule.stranger, SANDBOX_COMMAND)
        yield capsule
    finally:
        capsule.remove()


@pytest.fixture(scope='module')
def client(engine_url, capsule, tmp_path_factory):
    files = pki.Files(tmp_path_factory.mktemp('agent-pki'))
    engine = engine_mod.Engine(engine_url, host=HOST)
    agent = service.AgentService(agent_setup.agent_conf_for(files), engine)
    agent.start()
    try:
        conf = agent_setup.client_conf_for(
            files, {HOST: '127.0.0.1:%d' % agent.address[1]})
        yield client_mod.AgentClient(conf)
    finally:
        agent.stop()


def read_until(chunks, needle, what):
    data = b''
    for chunk in chunks:
        data += chunk
        if needle in data:
            return data
    raise AssertionError('%s ended before %r: %r' % (what, needle, data))


def run(client, capsule, command, stdin=None, tty=False, resize=None):
    session = client.exec(HOST, capsule.uuid, capsule.members['talker'],
                          command, stdin=stdin is not None, tty=tty)
    if resize:
        session.resize(*resize)
    if stdin is not None:
        session.send_stdin(stdin)
        if not tty:
            session.close_stdin()
    out = {'stdout': b'', 'stderr': b''}
    outcome = None
    for kind, value in session.events():
        if kind in out:
            out[kind] += value
        else:
            outcome = (kind, value)
    return out['stdout'], out['stderr'], outcome


def test_locate_finds_the_capsule_here(client, capsule):
    assert client.locate(capsule.uuid) == HOST
    with pytest.raises(client_mod.AgentError) as info:
        client.locate(str(uuid.uuid4()))
    assert info.value.status == 404


def test_logs_follow_sees_a_line_written_later(client, capsule):
    talker = capsule.members['talker']
    stream = client.logs(HOST, capsule.uuid, talker, follow=True)
    try:
        chunks = iter(stream)
        early = read_until(chunks, b'err-first\n', 'the followed log')
        assert early.index(b'first\n') < early.index(b'err-first\n')
        _, _, outcome = run(client, capsule, [
            'sh', '-c', 'echo later > /tmp/say.new && mv /tmp/say.new '
            '/tmp/say'])
        assert outcome == ('exit', 0)
        read_until(chunks, b'later\n', 'the followed log')
    finally:
        stream.close()


def test_logs_tail_timestamps_and_limit(client, capsule):
    talker = capsule.members['talker']
    fixtures.wait_for(lambda: b'err-first' in b''.join(client.logs(
        HOST, capsule.uuid, talker)), timeout=60,
        description='the first lines logged')
    last = b''.join(client.logs(HOST, capsule.uuid, talker, tail_lines=1))
    assert last.count(b'\n') == 1
    stamped = b''.join(client.logs(HOST, capsule.uuid, talker,
                                   timestamps=True))
    lines = stamped.splitlines()
    assert lines and all(TIMESTAMPED.match(line) for line in lines), lines
    assert b''.join(client.logs(HOST, capsule.uuid, talker,
                                limit_bytes=3)) == b'fir'
    future = b''.join(client.logs(HOST, capsule.uuid, talker,
                                  since=time.time() + 3600))
    assert b'first' not in future


def test_exec_stdout_stderr_and_exit_code(client, capsule):
    out, err, outcome = run(client, capsule,
                            ['sh', '-c', 'echo out; echo err >&2; exit 7'])
    assert (out, err, outcome) == (b'out\n', b'err\n', ('exit', 7))


def test_exec_with_stdin(client, capsule):
    out, err, outcome = run(client, capsule, ['cat'], stdin=b'hello\n')
    assert (out, err, outcome) == (b'hello\n', b'', ('exit', 0))


def test_exec_with_tty_and_resize(client, capsule):
    # The engine applies a resize asynchronously, so stdin may reach the
    # shell first: poll (10 s at most) until the terminal has its size.
    script = ('read go; for i in $(seq 100); do s=$(stty size 2>/dev/null) '
              '&& [ "$s" != "0 0" ] && break; sleep 0.1; done; echo "$s"')
    out, err, outcome = run(client, capsule, ['sh', '-c', script],
                            stdin=b'go\n', tty=True, resize=(111, 33))
    assert b'33 111' in out, out
    assert err == b''
    assert outcome == ('exit', 0)


def test_attach_reaches_the_main_process(client, capsule):
    session = client.attach(HOST, capsule.uuid, capsule.members['reader'],
                            stdin=True)
    try:
        session.send_stdin(b'ping\n')
        out = b''
        for kind, value in session.events():
            assert kind == 'stdout', (kind, value)
            out += value
            if b'got ping\n' in out:
                break
    finally:
        session.close()


def http_get(client, capsule):
    stream = client.port_forward(HOST, capsule.uuid, 8080)
    try:
        stream.sendall(b'GET / HTTP/1.0\r\nHost: pod\r\n\r\n')
        stream.shutdown_write()
        reply = b''
        while True:
            data = stream.recv(65536)
            if not data:
                return reply
            reply += data
    finally:
        stream.close()


def test_port_forward_reaches_loopback_inside_the_capsule(client, capsule):
    reply = fixtures.wait_for(lambda: http_get(client, capsule),
                              timeout=60, description='httpd in the pod')
    assert reply.startswith(b'HTTP/1.')
    assert reply.endswith(b'hello-from-pod\n')


def test_port_forward_to_a_closed_port_is_refused(client, capsule):
    with pytest.raises(client_mod.AgentError) as info:
        client.port_forward(HOST, capsule.uuid, 8099)
    assert info.value.status == 502
    assert 'refused' in info.value.message.lower()


def test_stats_have_cpu_and_memory_of_each_member(client, capsule):
    def sampled():
        found = client.stats(HOST)['capsules'].get(capsule.uuid)
        if not found:
            return None
        talker = found['containers'].get(capsule.members['talker'])
        if talker and talker['cpu_usage_core_nanoseconds'] > 0 and \
                talker['memory_working_set_bytes'] > 0:
            return found
        return None

    found = fixtures.wait_for(sampled, timeout=60,
                              description='non-zero usage of the talker')
    # The reader may have ended: podman 4.3 closes a container's stdin
    # when an attach with stdin ends (Docker keeps it open).
    assert {capsule.members['talker'], capsule.members['httpd']} <= set(
        found['containers'])
    assert found['start_time'] > 0
    for figures in found['containers'].values():
        assert figures['start_time'] >= found['start_time'] - 1
        assert figures['memory_usage_bytes'] > 0


def test_containers_outside_the_capsule_are_not_found(client, capsule):
    with pytest.raises(client_mod.AgentError) as info:
        client.logs(HOST, capsule.uuid, capsule.stranger)
    assert info.value.status == 404
    with pytest.raises(client_mod.AgentError) as info:
        client.exec(HOST, capsule.uuid, capsule.stranger, ['true'])
    assert info.value.status == 404
