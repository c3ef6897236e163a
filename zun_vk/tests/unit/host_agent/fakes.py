"""A fake engine and helpers to run a real agent server in-process."""

import queue
import threading
import types

from zun_vk.host_agent import base
from zun_vk.host_agent import service
from zun_vk.hostlink import client as client_mod
from zun_vk.tests import agent_setup

HOST = agent_setup.HOST
CAPSULE = '0a1b2c3d-0000-4000-8000-00000000c001'
MEMBER = '0a1b2c3d-0000-4000-8000-00000000a001'
OTHER_MEMBER = '0a1b2c3d-0000-4000-8000-00000000a002'
UNKNOWN_CAPSULE = '0a1b2c3d-0000-4000-8000-0000000000ff'
STATS = {CAPSULE: {'start_time': 1.0, 'containers': {MEMBER: {
    'cpu_usage_core_nanoseconds': 5, 'memory_usage_bytes': 7,
    'memory_working_set_bytes': 6, 'start_time': 2.0, 'timestamp': 3.0}}}}


class FakeStream(object):
    """Engine output from a queue; stdin recorded (and echoed)."""

    def __init__(self, output=(), echo=False):
        self.output = queue.Queue()
        for item in output:
            self.output.put(item)
        self.echo = echo
        self.stdin = bytearray()
        self.stdin_closed = threading.Event()
        self.closed = threading.Event()

    def read(self, size=65536):
        return b'' if self.closed.is_set() else self.output.get()

    def write(self, data):
        self.stdin += data
        if self.echo:
            self.output.put(bytes(data))

    def close_stdin(self):
        self.stdin_closed.set()
        if self.echo:
            self.output.put(b'')

    def close(self):
        self.closed.set()
        self.output.put(b'')


class FakeProcess(base.Process):
    def __init__(self, stream, demultiplex=False, exit_code=0):
        self.resizes = queue.Queue()
        super().__init__(stream, demultiplex,
                         lambda w, h: self.resizes.put((w, h)),
                         lambda: exit_code)


class FakeLogs(object):
    """Log chunks the test feeds one by one; None ends the log."""

    def __init__(self):
        self.chunks = queue.Queue()
        self.closed = threading.Event()

    def __iter__(self):
        while True:
            chunk = self.chunks.get()
            if chunk is None or self.closed.is_set():
                return
            yield chunk

    def close(self):
        self.closed.set()
        self.chunks.put(None)


class FakeEngine(object):
    """The engine calls the server makes, with what a test scripts."""

    def __init__(self):
        self.members = {CAPSULE: {MEMBER, OTHER_MEMBER}}
        self.log_calls = []
        self.logs_to_serve = queue.Queue()
        self.processes = queue.Queue()
        self.exec_calls = []
        self.targets = queue.Queue()
        self.connect_calls = []

    def has_capsule(self, capsule):
        return capsule in self.members

    def member(self, capsule, container):
        if container not in self.members.get(capsule, ()):
            raise base.NotFound('container %s is not in capsule %s on '
                                'host %s' % (container, capsule, HOST))
        return types.SimpleNamespace(capsule=capsule, uuid=container)

    def logs(self, member, **options):
        self.log_calls.append((member.uuid, options))
        return self.logs_to_serve.get()

    def exec(self, member, command, stdin=False, tty=False):
        self.exec_calls.append((member.uuid, list(command), stdin, tty))
        return self.processes.get()

    def attach(self, member, stdin=False):
        self.exec_calls.append((member.uuid, 'attach', stdin))
        return self.processes.get()

    def connect(self, capsule, port):
        self.connect_calls.append((capsule, port))
        target = self.targets.get()
        if isinstance(target, Exception):
            raise target
        return target

    def stats(self):
        return STATS


def start_agent(files, engine=None, **kwargs):
    agent = service.AgentService(agent_setup.agent_conf_for(files, **kwargs),
                                 engine or FakeEngine())
    agent.start()
    agent.engine = agent.server.engine
    return agent


def client_for(files, agents, **overrides):
    endpoints = {host: '127.0.0.1:%d' % agent.address[1]
                 for host, agent in agents.items()}
    conf = agent_setup.client_conf_for(files, endpoints, **overrides)
    return client_mod.AgentClient(conf)


agent_conf_for = agent_setup.agent_conf_for
client_conf_for = agent_setup.client_conf_for
raw_request = agent_setup.raw_request
