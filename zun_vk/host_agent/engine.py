"""The container engine as Zun's docker capsule driver leaves it.

Zun 18.0.0's docker driver names every engine container ``zun-<uuid>``
(``consts.NAME_PREFIX`` + the Zun uuid). A capsule is a sandbox
container named after the capsule's uuid; each of its containers (init
containers too) is named after its own uuid and joins the sandbox's
network and IPC namespaces (``network_mode=container:<sandbox id>``),
not its PID namespace. A member therefore belongs to a capsule exactly
when its HostConfig.NetworkMode is ``container:<full id of zun-<capsule
uuid>>``; that is checked on every request, so a ticket for one capsule
never reaches another capsule's container.
"""

import concurrent.futures
import contextlib
import threading
import time
import urllib.parse

import docker
from docker import errors as docker_errors
from docker import utils as docker_utils
from oslo_log import log as logging
import requests

from zun_vk.host_agent import base
from zun_vk.host_agent import hijack
from zun_vk.host_agent import netns
from zun_vk.host_agent import usage
from zun_vk import timestamps

LOG = logging.getLogger(__name__)

NAME_PREFIX = 'zun-'
_UPGRADE = {'Connection': 'Upgrade', 'Upgrade': 'tcp'}
# After an exec's output ends the engine may still report it running for
# a moment; this long at most is waited for its exit code.
EXEC_EXIT_DEADLINE = 10.0
STATS_WORKERS = 8

EngineError = base.EngineError
NotFound = base.NotFound
Conflict = base.Conflict
Unavailable = base.Unavailable
Process = base.Process


class Sandbox(object):
    def __init__(self, capsule, inspect):
        self.capsule = capsule
        self.engine_id = inspect['Id']
        state = inspect.get('State') or {}
        self.running = bool(state.get('Running'))
        self.pid = state.get('Pid') or 0
        self.started_at = timestamps.engine_seconds(state.get('StartedAt'))


class Member(object):
    def __init__(self, capsule, uuid, inspect):
        self.capsule = capsule
        self.uuid = uuid
        self.engine_id = inspect['Id']
        state = inspect.get('State') or {}
        self.running = bool(state.get('Running'))
        self.tty = bool((inspect.get('Config') or {}).get('Tty'))
        self.started_at = timestamps.engine_seconds(state.get('StartedAt'))


def sandbox_of(inspect):
    """Engine id of the sandbox a container joined, or None."""
    mode = (inspect.get('HostConfig') or {}).get('NetworkMode') or ''
    return mode[len('container:'):] if mode.startswith('container:') \
        else None


def zun_uuid(name):
    """The Zun uuid of an engine container name, or None."""
    name = name.lstrip('/')
    return name[len(NAME_PREFIX):] if name.startswith(NAME_PREFIX) \
        else None


class LogChunks(object):
    """Log output as the engine writes it; stdout and stderr in order."""

    def __init__(self, stream, limit_bytes=None):
        self._stream = stream
        self._left = limit_bytes

    def __iter__(self):
        try:
            for chunk in self._stream:
                if self._left is not None:
                    chunk = chunk[:self._left]
                    self._left -= len(chunk)
                if chunk:
                    yield chunk
                if self._left == 0:
                    return
        except (requests.exceptions.RequestException, OSError,
                ValueError, AttributeError):
            # The stream was closed (client gone, agent stopping) or the
            # engine dropped it: the log simply ends here.
            return

    def close(self):
        try:
            self._stream.close()
        except Exception:  # noqa: B902 - closing only
            pass


class Engine(object):
    """docker SDK access to the engine of this host."""

    def __init__(self, url, api_version='auto', timeout=30, host=None):
        self.url = url
        self.host = host
        self._api_version = api_version
        self._timeout = timeout
        self._api = None
        self._stream_api = None
        self._lock = threading.Lock()

    # -- clients --------------------------------------------------------

    def _clients(self):
        with self._lock, self._errors('connect'):
            if self._api is None:
                api = docker.APIClient(base_url=self.url,
                                       version=self._api_version,
                                       timeout=self._timeout)
                # Streams (log follow, sessions) may be silent for hours:
                # a second client without a read timeout.
                self._stream_api = docker.APIClient(
                    base_url=self.url, version=api.api_version,
                    timeout=None)
                self._api = api
        return self._api, self._stream_api

    @property
    def api(self):
        return self._clients()[0]

    def close(self):
        with self._lock:
            for api in (self._api, self._stream_api):
                if api is not None:
                    api.close()
            self._api = self._stream_api = None

    @contextlib.contextmanager
    def _errors(self, what, not_found=None):
        try:
            yield
        except docker_errors.NotFound:
            raise NotFound(not_found or '%s: not found' % what) from None
        except docker_errors.APIError as exc:
            message = '%s: %s' % (what, exc.explanation or exc)
            if exc.status_code == 409:
                raise Conflict(message) from None
            raise EngineError(message) from None
        except (requests.exceptions.ConnectionError,
                docker_errors.DockerException, OSError) as exc:
            raise Unavailable('the container engine at %s does not answer '
                              '(%s)' % (self.url, exc)) from None

    def _url(self, api, path, *args):
        quoted = [urllib.parse.quote(a, safe='') for a in args]
        return '%s/v%s%s' % (api.base_url, api.api_version,
                             path.format(*quoted))

    def _upgrade(self, what, path, engine_id, **kwargs):
        stream_api = self._clients()[1]
        with self._errors(what):
            url = self._url(stream_api, path, engine_id)
            response = stream_api.post(url, headers=_UPGRADE, stream=True,
                                       **kwargs)
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as exc:
                response.close()
                raise docker_errors.create_api_error_from_http_exception(
                    exc)
            return hijack.EngineStream(response)

    # -- resolution -----------------------------------------------------

    def _where(self):
        return ' on host %s' % self.host if self.host else ''

    def sandbox(self, capsule):
        with self._errors('capsule %s' % capsule,
                          'capsule %s is not on this host%s'
                          % (capsule, self._where())):
            return Sandbox(capsule, self.api.inspect_container(
                NAME_PREFIX + capsule))

    def has_capsule(self, capsule):
        try:
            self.sandbox(capsule)
            return True
        except NotFound:
            return False

    def member(self, capsule, container):
        """The container of the capsule; NotFound unless it is one."""
        sandbox = self.sandbox(capsule)
        missing = 'container %s is not in capsule %s%s' % (
            container, capsule, self._where())
        with self._errors('container %s' % container, missing):
            inspect = self.api.inspect_container(NAME_PREFIX + container)
        if sandbox_of(inspect) != sandbox.engine_id:
            LOG.info('Container %s does not share the network namespace '
                     'of capsule %s; refused', container, capsule)
            raise NotFound(missing)
        return Member(capsule, container, inspect)

    # -- operations -----------------------------------------------------

    def logs(self, member, follow=False, tail=None, since=None,
             timestamps=False, limit_bytes=None):
        stream_api = self._clients()[1]
        with self._errors('logs of container %s' % member.uuid):
            stream = stream_api.logs(
                member.engine_id, stdout=True, stderr=True, stream=True,
                follow=follow, timestamps=timestamps,
                tail='all' if tail is None else tail,
                since=since if since else None)
        return LogChunks(stream, limit_bytes)

    def _require_running(self, member):
        if not member.running:
            raise Conflict('container %s of capsule %s is not running'
                           % (member.uuid, member.capsule))

    def exec(self, member, command, stdin=False, tty=False):
        self._require_running(member)
        api = self.api
        with self._errors('exec in container %s' % member.uuid):
            exec_id = api.exec_create(member.engine_id, list(command),
                                      stdout=True, stderr=True,
                                      stdin=stdin, tty=tty)['Id']
        stream = self._upgrade('exec in container %s' % member.uuid,
                               '/exec/{0}/start', exec_id,
                               json={'Tty': tty, 'Detach': False})

        def resize(width, height):
            with self._errors('resize'):
                api.exec_resize(exec_id, height=height, width=width)

        def exit_code():
            deadline = time.monotonic() + EXEC_EXIT_DEADLINE
            delay = 0.02
            while True:
                with self._errors('exec in container %s' % member.uuid):
                    info = api.exec_inspect(exec_id)
                if not info.get('Running') or time.monotonic() > deadline:
                    return info.get('ExitCode')
                time.sleep(delay)
                delay = min(0.5, delay * 2)

        return Process(stream, not tty, resize, exit_code)

    def attach(self, member, stdin=False):
        self._require_running(member)
        api = self.api
        params = {'stdin': 1 if stdin else 0, 'stdout': 1, 'stderr': 1,
                  'stream': 1}
        stream = self._upgrade('attach to container %s' % member.uuid,
                               '/containers/{0}/attach', member.engine_id,
                               params=params)

        def resize(width, height):
            with self._errors('resize'):
                api.resize(member.engine_id, height=height, width=width)

        # As the kubelet: an attach that ends without an error succeeded,
        # whatever the container's own exit code (the pod status has it).
        return Process(stream, not member.tty, resize, lambda: 0)

    def connect(self, capsule, port, timeout=10.0):
        """A socket to 127.0.0.1:port inside the capsule's network."""
        sandbox = self.sandbox(capsule)
        if not sandbox.running or not sandbox.pid:
            raise Conflict('capsule %s is not running' % capsule)
        try:
            return netns.connect(sandbox.pid, port, timeout)
        except netns.NamespaceError as exc:
            raise EngineError(str(exc), status=500) from None
        except OSError as exc:
            raise EngineError('cannot connect to port %d in capsule %s: %s'
                              % (port, capsule, exc.strerror or exc)
                              ) from None

    # -- statistics -----------------------------------------------------

    def _running_zun_containers(self):
        api = self.api
        with self._errors('list containers'):
            listed = api.containers(filters={'name': NAME_PREFIX})
        inspected = []
        for entry in listed:
            names = entry.get('Names') or []
            uuid = zun_uuid(names[0]) if names else None
            if uuid is None:
                continue
            try:
                with self._errors('inspect'):
                    inspected.append((uuid, api.inspect_container(
                        entry['Id'])))
            except NotFound:
                continue     # gone since the list
        return inspected

    def _one_stats(self, engine_id):
        api = self.api
        kwargs = {'stream': False}
        if docker_utils.version_gte(api.api_version, '1.41'):
            kwargs['one_shot'] = True
        try:
            with self._errors('stats'):
                return api.stats(engine_id, **kwargs)
        except EngineError as exc:
            LOG.debug('No stats for %s: %s', engine_id, exc)
            return None

    def stats(self):
        """Usage of every capsule container running on this host."""
        containers = self._running_zun_containers()
        by_id = {inspect['Id']: (uuid, inspect)
                 for uuid, inspect in containers}
        members = [(uuid, inspect, by_id[sandbox_of(inspect)])
                   for uuid, inspect in containers
                   if sandbox_of(inspect) in by_id]
        with concurrent.futures.ThreadPoolExecutor(STATS_WORKERS) as pool:
            figures = list(pool.map(lambda m: self._one_stats(m[1]['Id']),
                                    members))
        capsules = {}
        for member, raw in zip(members, figures):
            uuid, inspect, (capsule, sandbox) = member
            if raw is None:
                continue
            entry = capsules.setdefault(capsule, {
                'start_time': Sandbox(capsule, sandbox).started_at,
                'containers': {}})
            record = usage.container_usage(raw)
            record['start_time'] = Member(capsule, uuid, inspect).started_at
            entry['containers'][uuid] = record
        return capsules
