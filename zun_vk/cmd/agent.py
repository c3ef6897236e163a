"""zun-vk: the virtual kubelet service."""

import multiprocessing
import signal
import sys

from oslo_config import cfg
from oslo_log import log as logging
from oslo_reports import guru_meditation_report as gmr
from oslo_reports import opts as gmr_opts

from zun_vk import cmd  # noqa: F401 - selects the threading backend
from zun_vk import conf as zun_vk_conf
from zun_vk.conf import validate
from zun_vk import version

from oslo_service import service  # noqa: I100 - after the backend choice

LOG = logging.getLogger(__name__)
CONF = zun_vk_conf.CONF

QUIET_LIBRARIES = [
    'kubernetes.client.rest=WARN',
    'urllib3=ERROR',
    'urllib3.connectionpool=ERROR',
    'keystoneauth=ERROR',
    'stevedore=WARN',
    'amqp=WARN',
    'kombu=WARN',
    'oslo.messaging=INFO',
    'oslo_messaging=INFO',
    'cotyledon=WARN',
]


def prepare(argv):
    """Parse the command line and configuration files and check them.

    Raises validate.ConfigurationError with a one-line message.
    """
    logging.register_options(CONF)
    gmr_opts.set_defaults(CONF)
    logging.set_defaults(
        default_log_levels=logging.get_default_log_levels() +
        QUIET_LIBRARIES)
    try:
        CONF(argv, project='zun-vk', version=version.version_string())
    except cfg.Error as exc:
        raise validate.ConfigurationError(
            str(exc).replace('\n', ' ')) from None
    validate.check(CONF)
    logging.setup(CONF, 'zun-vk')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        prepare(argv)
    except validate.ConfigurationError as exc:
        print('zun-vk: configuration error: %s' % exc, file=sys.stderr)
        return 2

    # Services are imported here so that option parsing errors above never
    # pay for importing the Kubernetes and Zun clients.
    from zun_vk.services import kubelet
    from zun_vk.services import node
    from zun_vk.services import notifications
    from zun_vk.services import pods

    # Before the workers fork, so that each of them reports too.
    gmr.TextGuruMeditation.setup_autorun(version, service_name='zun-vk',
                                         conf=CONF)
    LOG.info('zun-vk %s serving node %s of cluster %s',
             version.version_string(), CONF.node_name,
             CONF.cluster_id or '(the UID of its kube-system namespace)')
    # Each service runs in its own process; the notification listener
    # hands capsule hints to the pod service through this queue, created
    # before the workers fork.
    hints = multiprocessing.get_context('fork').Queue(maxsize=10000)
    launcher = service.ServiceLauncher(CONF, restart_method='mutate')
    launcher.launch_service(node.NodeService(CONF))
    launcher.launch_service(pods.PodService(CONF, hints))
    if CONF.notifications.enabled:
        launcher.launch_service(
            notifications.NotificationService(CONF, hints))
    else:
        LOG.info('Capsule notifications are disabled; pod statuses follow '
                 'capsules every %d s', CONF.sync.status_poll_interval)
    if CONF.kubelet.enabled:
        launcher.launch_service(kubelet.KubeletService(CONF))
    else:
        LOG.info('The kubelet API is disabled: "kubectl logs", "exec" and '
                 '"port-forward" fail on this node\'s pods')
    _graceful_sigint(launcher)
    return launcher.wait()


def _graceful_sigint(launcher):
    """Stop on SIGINT as on SIGTERM.

    The threading launcher's process manager exits at once on SIGINT
    (status 1, workers killed mid-request). Its signals arrive through a
    wakeup pipe, so the only place to change that is its dispatcher.
    """
    manager = getattr(launcher, '_manager', None)
    dispatch = getattr(manager, '_on_signal_received', None)
    if dispatch is None:
        return

    def on_signal(signo):
        dispatch(signal.SIGTERM if signo == signal.SIGINT else signo)
    manager._on_signal_received = on_signal


if __name__ == '__main__':
    sys.exit(main())
