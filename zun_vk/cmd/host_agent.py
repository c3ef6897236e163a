"""zun-vk-agent: the compute host's agent for logs, exec and statistics."""

import sys

from oslo_config import cfg
from oslo_log import log as logging
from oslo_reports import guru_meditation_report as gmr
from oslo_reports import opts as gmr_opts

from zun_vk import cmd  # noqa: F401 - selects the threading backend
from zun_vk.host_agent import conf as agent_conf
from zun_vk import version

from oslo_service import service  # noqa: I100 - after the backend choice

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

QUIET_LIBRARIES = [
    'urllib3=ERROR',
    'urllib3.connectionpool=ERROR',
    'docker=WARN',
    'cotyledon=WARN',
]


class ConfigurationError(Exception):
    """Bad or missing configuration; one line for the operator."""


def prepare(argv, conf=CONF):
    """Parse the command line and configuration files and check them."""
    agent_conf.register_opts(conf)
    logging.register_options(conf)
    gmr_opts.set_defaults(conf)
    logging.set_defaults(
        default_log_levels=logging.get_default_log_levels() +
        QUIET_LIBRARIES)
    try:
        conf(argv, project='zun-vk', prog='zun-vk-agent',
             version=version.version_string())
    except cfg.Error as exc:
        raise ConfigurationError(str(exc).replace('\n', ' ')) from None
    missing = agent_conf.missing_options(conf)
    if missing:
        raise ConfigurationError('%s must be set (see the host agent '
                                 'guide)' % ', '.join(missing))
    logging.setup(conf, 'zun-vk-agent')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        prepare(argv)
    except ConfigurationError as exc:
        print('zun-vk-agent: configuration error: %s' % exc,
              file=sys.stderr)
        return 2

    from zun_vk.host_agent import service as agent_service

    # Certificates, keys and the listening socket are checked here, in
    # the parent, so that a mistake ends the start with one line instead
    # of a worker that dies and is restarted.
    try:
        agent_service.check(CONF)
    except agent_service.ConfigurationError as exc:
        print('zun-vk-agent: configuration error: %s' % exc,
              file=sys.stderr)
        return 2
    # Before the worker forks, so that it reports too.
    gmr.TextGuruMeditation.setup_autorun(
        version, service_name='zun-vk-agent', conf=CONF)
    LOG.info('zun-vk-agent %s for host %s', version.version_string(),
             CONF.agent.host)
    launcher = service.ServiceLauncher(CONF, restart_method='mutate')
    launcher.launch_service(agent_service.AgentService(CONF))
    return launcher.wait()


if __name__ == '__main__':
    sys.exit(main())
