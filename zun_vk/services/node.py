"""The node worker: registration, Lease heartbeats and node status.

It runs in a process of its own so that no pod work can starve the
heartbeat. Zun's health is probed on a separate thread, so a Zun API that
hangs turns the node NotReady instead of stalling the Lease.
"""

import threading
import time

from oslo_log import log as logging

from zun_vk.kube import client as kube_client
from zun_vk.kube import node as node_client
from zun_vk.services import base
from zun_vk import timestamps
from zun_vk.translate import node as node_shape
from zun_vk import version
from zun_vk.zun import client as zun_client

LOG = logging.getLogger(__name__)


class ZunHealth(object):
    """What the last probes of the Zun API said, shared between threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok = None
        self.reason = 'not checked yet'
        self.probe_started = None
        self.quotas = None
        self.hosts = None

    def verdict(self, patience):
        """(ok, reason); a probe running longer than patience fails."""
        with self.lock:
            started = self.probe_started
            if started is not None and time.monotonic() - started > patience:
                return False, 'no answer within %d s' % patience
            return bool(self.ok), self.reason


class NodeService(base.Worker):
    name = 'node'

    def start(self):
        super().start()
        self.health = ZunHealth()
        self.zun = zun_client.ZunAPI(self.conf)
        self.spawn('zun-health', self._probe_zun)
        self.spawn('heartbeat', self._heartbeat)
        LOG.info('Node worker started for node %s: Lease renewed every '
                 '%d s, status posted on change and every %d s',
                 self.conf.node_name, self.conf.node.lease_renew_interval,
                 self.conf.node.status_update_interval)

    # Zun side ------------------------------------------------------------

    def _probe_zun(self):
        interval = self.conf.node.lease_renew_interval
        next_capacity = 0.0
        hosts_allowed = True
        while not self.stopping:
            with self.health.lock:
                self.health.probe_started = time.monotonic()
            try:
                self.zun.ping()
                ok, reason = True, None
            except zun_client.ZunError as exc:
                ok, reason = False, str(exc)
            with self.health.lock:
                was_ok = self.health.ok
                self.health.ok, self.health.probe_started = ok, None
                self.health.reason = reason
            if ok and was_ok is not True:
                LOG.info('Zun API at %s answers', self.zun.describe_endpoint())
            elif not ok and was_ok is not False:
                LOG.error('Zun API at %s does not answer: %s',
                          self.zun.describe_endpoint(), reason)
            if ok and time.monotonic() >= next_capacity:
                hosts_allowed = self._refresh_capacity(hosts_allowed)
                next_capacity = (time.monotonic() +
                                 self.conf.node.capacity_refresh_interval)
            if not self.sleep(interval if ok else min(interval, 5)):
                return

    def _refresh_capacity(self, hosts_allowed):
        try:
            quotas = self.zun.quotas()
        except zun_client.ZunError as exc:
            LOG.warning('Cannot read the Zun project quotas: %s', exc)
            quotas = None
        hosts = None
        if hosts_allowed:
            try:
                hosts = self.zun.hosts()
            except zun_client.ZunError as exc:
                if exc.status == 403:
                    LOG.info('The [zun] credentials may not list compute '
                             'hosts; capacity comes from quotas and '
                             'configuration only')
                    hosts_allowed = False
                else:
                    LOG.warning('Cannot list Zun compute hosts: %s', exc)
        with self.health.lock:
            if quotas is not None:
                self.health.quotas = quotas
            if hosts is not None:
                self.health.hosts = hosts
        return hosts_allowed

    # Kubernetes side -----------------------------------------------------

    def _status(self, previous_conditions):
        conf = self.conf
        ok, reason = self.health.verdict(conf.node.lease_renew_interval)
        with self.health.lock:
            quotas, hosts = self.health.quotas, self.health.hosts
        capacity, sources = node_shape.capacity(
            {'cpu': conf.node.cpu, 'memory_mb': conf.node.memory_mb,
             'pods': conf.node.pods},
            {'cpu': conf.node.default_cpu,
             'memory_mb': conf.node.default_memory_mb,
             'pods': conf.node.default_pods},
            quotas=quotas, hosts=hosts)
        now = timestamps.rfc3339(timestamps.utcnow())
        return {
            'capacity': capacity,
            'allocatable': dict(capacity),
            'conditions': node_shape.conditions(ok, reason,
                                                previous_conditions, now),
            'addresses': node_shape.addresses(conf.node.internal_ip,
                                              conf.node.hostname),
            'daemonEndpoints': {
                'kubeletEndpoint': {'Port': conf.node.kubelet_port}},
            'nodeInfo': {
                'machineID': '', 'systemUUID': '', 'bootID': '',
                'kernelVersion': '',
                'osImage': 'OpenStack Zun capsules (API %s)'
                           % conf.zun.api_version,
                'containerRuntimeVersion': 'zun://%s' % conf.zun.api_version,
                'kubeletVersion': 'zun-vk-%s' % version.version_string(),
                'kubeProxyVersion': '',
                'operatingSystem': conf.node.operating_system,
                'architecture': conf.node.architecture,
            },
        }, sources

    def _heartbeat(self):
        conf = self.conf
        backoff = base.Backoff(1, 30)
        kube = None
        node = None
        registered = False
        last_posted = None
        last_post_time = 0.0
        conditions = None
        last_sources = None
        while not self.stopping:
            try:
                if kube is None:
                    kube = kube_client.KubeAPI(conf)
                    self._kube = kube
                    node = node_client.NodeClient(kube, conf.node_name)
                status, sources = self._status(conditions)
                if not registered:
                    node.register(
                        node_shape.node_labels(
                            conf.node_name, conf.node.labels,
                            conf.node.operating_system,
                            conf.node.architecture,
                            conf.zun.availability_zone),
                        node_shape.configured_taints(conf.node.taints),
                        status)
                    registered = True
                    last_posted = None
                node.renew_lease(conf.node.lease_duration)
                due = (time.monotonic() - last_post_time >=
                       conf.node.status_update_interval)
                if due or node_shape.comparable(status) != last_posted:
                    node.patch_status(status)
                    if sources != last_sources:
                        LOG.info('Node capacity %s (sources: %s)',
                                 status['capacity'], sources)
                        last_sources = sources
                    self._log_ready_change(conditions, status['conditions'])
                    conditions = status['conditions']
                    last_posted = node_shape.comparable(status)
                    last_post_time = time.monotonic()
                if backoff.failures:
                    LOG.info('Kubernetes API at %s answers again', kube.host)
                backoff.succeeded()
                delay = conf.node.lease_renew_interval
            except Exception as exc:  # noqa: B902 - keep the heartbeat alive
                failure = exc
            else:
                failure = None
            if failure is not None:
                # Logged outside the handler: oslo.log would append the
                # active exception to the line.
                if self.stopping:
                    return
                status_code = getattr(failure, 'status', None)
                if status_code == 404 or kube is None or status_code is None:
                    # Node deleted under us, or never reached: register
                    # again once the API answers.
                    registered = False
                delay = backoff.failed()
                where = kube.host if kube else (
                    conf.kubernetes.kubeconfig or 'in-cluster configuration')
                LOG.error('Node heartbeat to the Kubernetes API at %s '
                          'failed (retrying in %d s): %s', where, delay,
                          ' '.join(str(failure).split())[:500])
            if not self.sleep(delay):
                return

    @staticmethod
    def _log_ready_change(old, new):
        def ready(conds):
            for cond in conds or []:
                if cond['type'] == 'Ready':
                    return cond['status'], cond['message']
            return None, None
        before, after = ready(old), ready(new)
        if before[0] != after[0]:
            LOG.info('Node Ready=%s: %s', after[0], after[1])

    def release(self):
        kube = getattr(self, '_kube', None)
        if kube is not None:
            kube.close()
