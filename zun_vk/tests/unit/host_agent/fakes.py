"""A fake engine, a fake mounter and helpers to run a real agent server
in-process."""

import os
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


class FakeMounter(object):
    """Records "mounts" of directories instead of mounting.

    For tests that need not be root; answers as the real one would.
    """

    def __init__(self):
        self.mounted = {}     # (st_dev, st_ino) -> (path, size, mode)
        self.calls = []
        self.lock = threading.Lock()

    @staticmethod
    def _key(fd):
        info = os.fstat(fd)
        return info.st_dev, info.st_ino

    def mount_tmpfs(self, dir_fd, size, mode):
        path = os.readlink('/proc/self/fd/%d' % dir_fd)
        with self.lock:
            self.mounted[self._key(dir_fd)] = (path, size, mode)
            self.calls.append(('mount', path, size, mode))

    def unmount(self, dir_fd):
        with self.lock:
            path, _, _ = self.mounted.pop(self._key(dir_fd))
            self.calls.append(('unmount', path))

    def is_mount_root(self, dir_fd, parent_fd):
        with self.lock:
            return self._key(dir_fd) in self.mounted

    def mount_points_under(self, path):
        prefix = path.rstrip('/') + '/'
        with self.lock:
            points = [p for p, _, _ in self.mounted.values()
                      if p.startswith(prefix)]
        return sorted(points, key=lambda p: (-p.count('/'), p))

    def sizes(self):
        """{path: (size, mode)} of what is mounted."""
        with self.lock:
            return {p: (size, mode)
                    for p, size, mode in self.mounted.values()}


def start_agent(files, engine=None, mounter=None, **kwargs):
    agent = service.AgentService(agent_setup.agent_conf_for(files, **kwargs),
                                 engine or FakeEngine(),
                                 mounter=mounter or FakeMounter())
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
