"""The agent as an oslo.service service: built in start(), gone in stop().
"""

import threading

from oslo_log import log as logging

from zun_vk.host_agent import conf as agent_conf
from zun_vk.host_agent import server as server_mod
from zun_vk.hostlink import tickets

from oslo_service import service  # noqa: I100 - backend chosen in cmd

LOG = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """Something in [agent] keeps the agent from starting; one line."""


def build_server(conf, engine=None):
    """An AgentHTTPServer bound to [agent]bind_address:port.

    engine defaults to the docker engine at [agent]docker_url (imported
    here so that the server can be built with another engine without
    the docker SDK).
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
            max_connections=group.max_connections)
    except OSError as exc:
        raise ConfigurationError('cannot listen on %s:%d: %s' % (
            group.bind_address, group.port, exc.strerror or exc)) from None


def check(conf):
    """Raise ConfigurationError unless build_server would succeed.

    Loads the certificates and the key and binds the port once (then
    lets go of it), without touching the engine, which may start later.
    """
    build_server(conf, engine=_NO_ENGINE).server_close()


_NO_ENGINE = object()


class AgentService(service.ServiceBase):
    """Serves until stop(); nothing is built before start()."""

    def __init__(self, conf, engine=None):
        super().__init__()
        self.conf = conf
        self._engine = engine
        self.server = None
        self._thread = None
        self._stopped = threading.Event()

    @property
    def address(self):
        return self.server.server_address if self.server else None

    def start(self):
        self._stopped.clear()
        self.server = build_server(self.conf, self._engine)
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={'poll_interval': 0.2},
                                        name='agent-accept', daemon=True)
        self._thread.start()
        LOG.info('zun-vk-agent for host %s listening on %s:%d, engine %s',
                 self.conf.agent.host, self.address[0], self.address[1],
                 self.conf.agent.docker_url)

    def stop(self, graceful=False):
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
