"""The agent as an oslo.service service: built in start(), gone in stop().

Two threads: the HTTPS server's accept loop and the poll of the capsule
volume directories ([agent]pods_dir, see pod_dirs).
"""

import threading

from oslo_log import log as logging

from zun_vk.host_agent import conf as agent_conf
from zun_vk.host_agent import pod_dirs as pod_dirs_mod
from zun_vk.host_agent import server as server_mod
from zun_vk.hostlink import tickets

from oslo_service import service  # noqa: I100 - backend chosen in cmd

LOG = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """Something in [agent] keeps the agent from starting; one line."""


def build_pod_dirs(conf, engine=None, mounter=None):
    """The PodDirs of [agent]pods_dir, its root made and owned.

    Orphans are asked of engine's has_capsule (none: never removed);
    mounter defaults to real mounts.
    """
    group = conf.agent
    capsule_exists = getattr(engine, 'has_capsule', None)
    pod_dirs = pod_dirs_mod.PodDirs(
        group.pods_dir, capsule_exists=capsule_exists, mounter=mounter,
        files_size=group.files_tmpfs_size * pod_dirs_mod.MIB,
        memory_size=group.memory_tmpfs_size * pod_dirs_mod.MIB,
        orphan_age=group.orphan_dir_age,
        owner=group.pods_dir_owner or None)
    try:
        pod_dirs.ensure_root()
    except (OSError, ValueError) as exc:
        raise ConfigurationError('cannot prepare [agent]pods_dir %s: %s' % (
            group.pods_dir, getattr(exc, 'strerror', None) or exc)) from None
    return pod_dirs


def build_server(conf, engine=None, pod_dirs=None):
    """An AgentHTTPServer bound to [agent]bind_address:port.

    engine defaults to the docker engine at [agent]docker_url (imported
    here so that the server can be built with another engine without
    the docker SDK). Without pod_dirs the server writes no volumes.
    """
    group = conf.agent
    missing = agent_conf.missing_options(conf)
    if missing:
        raise ConfigurationError('%s must be set' % ', '.join(missing))
    try:
        context = server_mod.server_ssl_context(
            group.cert_file, group.key_file, group.client_ca_file)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            'cannot load [agent]cert_file, key_file or client_ca_file: %s'
            % exc) from None
    try:
        key = tickets.load_public_key(group.ticket_public_key_file)
    except (OSError, ValueError) as exc:
        raise ConfigurationError('cannot load [agent]ticket_public_key_file:'
                                 ' %s' % exc) from None
    if engine is None:
        from zun_vk.host_agent import engine as engine_mod
        engine = engine_mod.Engine(group.docker_url,
                                   api_version=group.docker_api_version,
                                   timeout=group.docker_timeout,
                                   host=group.host)
    try:
        return server_mod.AgentHTTPServer(
            (group.bind_address, group.port), context, engine, key,
            host=group.host, allowed_clients=group.allowed_clients,
            clock_skew=group.ticket_clock_skew,
            handshake_timeout=group.handshake_timeout,
            max_connections=group.max_connections, pod_dirs=pod_dirs)
    except OSError as exc:
        raise ConfigurationError('cannot listen on %s:%d: %s' % (
            group.bind_address, group.port, exc.strerror or exc)) from None


def check(conf):
    """Raise ConfigurationError unless build_server would succeed.

    Loads the certificates and the key and binds the port once (then
    lets go of it), without touching the engine, which may start later;
    makes [agent]pods_dir if missing.
    """
    build_server(conf, engine=_NO_ENGINE).server_close()
    build_pod_dirs(conf)


_NO_ENGINE = object()


class AgentService(service.ServiceBase):
    """Serves until stop(); nothing is built before start()."""

    def __init__(self, conf, engine=None, mounter=None):
        super().__init__()
        self.conf = conf
        self._engine = engine
        self._mounter = mounter
        self.server = None
        self.pod_dirs = None
        self._thread = None
        self._pods_thread = None
        self._pods_stop = threading.Event()
        self._stopped = threading.Event()

    @property
    def address(self):
        return self.server.server_address if self.server else None

    def start(self):
        self._stopped.clear()
        self._pods_stop.clear()
        server = build_server(self.conf, self._engine)
        try:
            server.pod_dirs = build_pod_dirs(self.conf, server.engine,
                                             self._mounter)
        except ConfigurationError:
            server.server_close()
            raise
        self.server, self.pod_dirs = server, server.pod_dirs
        if pod_dirs_mod.private_mount_namespace():
            LOG.warning('zun-vk-agent runs in a mount namespace of its own '
                        '(systemd ProtectSystem=, PrivateTmp= and the '
                        'like make one): the container engine will not '
                        'see the tmpfs volumes it mounts in %s',
                        self.conf.agent.pods_dir)
        self._pods_thread = threading.Thread(
            target=self.pod_dirs.run, args=(self._pods_stop,),
            name='agent-pod-dirs', daemon=True)
        self._pods_thread.start()
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={'poll_interval': 0.2},
                                        name='agent-accept', daemon=True)
        self._thread.start()
        LOG.info('zun-vk-agent for host %s listening on %s:%d, engine %s',
                 self.conf.agent.host, self.address[0], self.address[1],
                 self.conf.agent.docker_url)

    def stop(self, graceful=False):
        self._pods_stop.set()
        if self._pods_thread is not None:
            self._pods_thread.join(10)
            self._pods_thread = None
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            # Open streams and sessions end now: zun-vk sees their end
            # and the kubelet clients get an error, not a hang.
            server.close_all()
            close_engine = getattr(server.engine, 'close', None)
            if close_engine is not None:
                close_engine()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._stopped.set()

    def wait(self):
        self._stopped.wait()

    def reset(self):
        pass
