"""The pod worker: the node's pods run as Zun capsules.

Everything done to one pod (create, status write, delete, reconcile fix,
notification hint) goes through that pod's key in one KeyedQueue, so no
two threads ever act on the same pod at once: two creators would make
duplicate capsules (Zun does not enforce unique names) and two status
writers could move a pod backwards. Handlers are level-triggered: they
look at the newest pod and capsule they know and do the next step.
"""

import datetime
import queue as queue_lib
import threading
import time

from oslo_log import log as logging

from zun_vk.hostlink import client as agent_client
from zun_vk.kube import client as kube_client
from zun_vk.kube import cluster_identity
from zun_vk.kube import cluster_view
from zun_vk.kube import pods as pod_client
from zun_vk.services import base
from zun_vk.services import pod_files
from zun_vk.services import pod_handler
from zun_vk.services import pod_state
from zun_vk import workqueue
from zun_vk.zun import client as zun_client

LOG = logging.getLogger(__name__)


class PodService(base.Worker):
    name = 'pods'

    def __init__(self, conf, hints=None):
        super().__init__(conf)
        self.hints = hints

    def start(self):
        super().start()
        self.queue = workqueue.KeyedQueue()
        self.synced = threading.Event()
        self.spawn('connect', self._connect)

    def _connect(self):
        """Build the clients, then the threads that use them."""
        conf = self.conf
        if not self._connect_kubernetes():
            return
        self.zun = zun_client.ZunAPI(conf)
        self.pods = pod_client.PodClient(self.kube, conf.node_name)
        self.events = pod_client.EventRecorder(self.kube, conf.node_name)
        self.state = pod_state.NodeState()
        cluster = cluster_view.ClusterView(self.kube, conf.node_name)
        self.files = self._pod_files(cluster)
        self.handler = pod_handler.PodHandler(
            conf, self.state, self.pods, self.zun, self.events,
            cluster=cluster, cluster_id=self.cluster_id, files=self.files)
        for index in range(conf.sync.pod_workers):
            self.spawn('worker-%d' % index, self._work)
        self.spawn('watch', self._watch_loop)
        self.spawn('poll', self._poll_loop)
        self.spawn('reconcile', self._reconcile_loop)
        if self.hints is not None:
            self.spawn('hints', self._hint_loop)
        if self.files.enabled:
            self.spawn('volume-files', self.files.run,
                       lambda: self.stopping)
        LOG.info('Pod worker started: %d workers, capsule poll every %d s, '
                 'reconcile every %d s', conf.sync.pod_workers,
                 conf.sync.status_poll_interval,
                 conf.sync.reconcile_interval)

    def _pod_files(self, cluster):
        """Pod volumes on the hosts need the companion and the agents."""
        agents = agent_client.AgentClient(self.conf)
        if not (self.conf.zun.companion_driver and agents.configured):
            return pod_files.NoHostVolumes()
        return pod_files.PodFiles(self.conf, self.state, self.pods, agents,
                                  self.events, cluster=cluster)

    def _connect_kubernetes(self):
        """The Kubernetes client and the cluster's id; False if stopping.

        An unusable in-cluster configuration or kubeconfig, or a cluster
        identity that cannot be read, is retried like an unreachable
        API: the daemon keeps running and says why.
        """
        conf = self.conf
        backoff = base.Backoff(1, 30)
        while not self.stopping:
            kube = None
            try:
                kube = kube_client.KubeAPI(conf)
                self.cluster_id = cluster_identity.cluster_id(
                    kube, conf.cluster_id)
                self.kube = kube
                break
            except Exception as exc:  # noqa: B902 - retried below
                error = exc
            if kube is not None:
                kube.close()
            delay = backoff.failed()
            LOG.error('Cannot set up the Kubernetes client from %s '
                      '(retrying in %d s): %s',
                      conf.kubernetes.kubeconfig or
                      'the in-cluster configuration', delay,
                      pod_handler.describe_error(error))
            if not self.sleep(delay):
                return False
        if self.stopping:
            return False
        if not conf.cluster_id:
            LOG.info('Cluster id %s: the UID of namespace %s',
                     self.cluster_id, cluster_identity.NAMESPACE)
        return True

    def release(self):
        queue = getattr(self, 'queue', None)
        if queue is not None:
            queue.shutdown()
        pods = getattr(self, 'pods', None)
        if pods is not None:
            pods.stop_watch()
        kube = getattr(self, 'kube', None)
        if kube is not None:
            kube.close()

    # workers -----------------------------------------------------------

    def _work(self):
        retries = {}
        max_delay = self.conf.sync.max_retry_delay
        while not self.stopping:
            key = self.queue.get()
            if key is None:
                return
            failure = None
            try:
                again = self.handler.sync(key)
                retries.pop(key, None)
            except Exception as exc:  # noqa: B902 - never lose a pod
                failure = exc
            finally:
                self.queue.done(key)
            if failure is not None:
                if self.stopping:
                    return
                again = self._retry_delay(key, failure, retries, max_delay)
            if again is not None:
                self.queue.add_after(key, again)

    def _retry_delay(self, key, failure, retries, max_delay):
        failures = retries.get(key, 0)
        retries[key] = failures + 1
        delay = min(max_delay, 0.5 * (2 ** failures))
        transient = pod_handler.is_transient(failure)
        expected = transient or isinstance(failure, zun_client.ZunError)
        LOG.log(logging.WARNING if transient else logging.ERROR,
                'Pod %s: %s; retrying in %.1f s', key,
                pod_handler.describe_error(failure), delay,
                exc_info=None if expected else failure)
        return delay

    # pod watch ---------------------------------------------------------

    def _relist(self):
        pods, resource_version = self.pods.list()
        keys = self.state.replace_pods(pods)
        for key in keys:
            self.queue.add(key)
        self.synced.set()
        return resource_version

    def _watch_loop(self):
        backoff = base.Backoff(1, 30)
        resource_version = None
        next_relist = 0.0
        relist_interval = self.conf.sync.relist_interval
        while not self.stopping:
            try:
                if resource_version is None or time.monotonic() >= next_relist:
                    resource_version = self._relist()
                    next_relist = time.monotonic() + relist_interval
                    LOG.debug('Listed the pods of node %s at '
                              'resourceVersion %s', self.conf.node_name,
                              resource_version)
                for kind, pod, rv in self.pods.watch(resource_version):
                    if rv:
                        resource_version = rv
                    if pod is not None:
                        key = self.state.observe(kind, pod)
                        self.queue.add(key)
                    if self.stopping or time.monotonic() >= next_relist:
                        break
                backoff.succeeded()
                failure = None
            except pod_client.Gone:
                failure = None
                LOG.info('Pod watch expired (410 Gone); listing again')
                resource_version = None
            except Exception as exc:  # noqa: B902 - the watch never dies
                failure = exc
            if failure is not None:
                if self.stopping:
                    return
                delay = backoff.failed()
                LOG.error('Pod watch on the Kubernetes API at %s failed '
                          '(retrying in %d s): %s', self.kube.host, delay,
                          pod_handler.describe_error(failure))
                resource_version = None
                if not self.sleep(delay):
                    return

    # capsule status poll ---------------------------------------------

    def _poll_once(self):
        # The LIST's start: an answer from before it never replaces one
        # a GET or create got while the LIST was paging.
        listed_at = self.state.now()
        capsules = self.zun.list_capsules()
        changed = self.state.replace_capsules(capsules, listed_at)
        for key in changed:
            self.queue.add(key)

    def _poll_loop(self):
        interval = self.conf.sync.status_poll_interval
        backoff = base.Backoff(interval, max(interval, 60))
        if not self._wait_synced():
            return
        while not self.stopping:
            failure = None
            try:
                self._poll_once()
            except zun_client.ZunError as exc:
                failure = exc
            if failure is None:
                backoff.succeeded()
                delay = interval
            else:
                delay = backoff.failed()
                LOG.error('Polling capsules at %s failed (retrying in %d '
                          's): %s', self.zun.describe_endpoint(), delay,
                          failure)
            if not self.sleep(delay):
                return

    def _wait_synced(self):
        while not self.synced.wait(1):
            if self.stopping:
                return False
        return True

    # reconcile ---------------------------------------------------------

    def _reconcile_loop(self):
        if not self._wait_synced():
            return
        interval = self.conf.sync.reconcile_interval
        while not self.stopping:
            failure = None
            try:
                self._reconcile()
            except Exception as exc:  # noqa: B902 - try again next time
                failure = exc
            if failure is not None:
                LOG.error('Reconcile failed: %s',
                          pod_handler.describe_error(failure))
            if not self.sleep(interval):
                return

    def _reconcile(self):
        listed_at = self.state.now()
        capsules = self.zun.list_capsules()
        self.state.replace_capsules(capsules, listed_at)
        grace = datetime.timedelta(
            seconds=self.conf.sync.orphan_grace_period)
        orphans, duplicated, pod_keys = self.state.reconcile_plan(grace)
        for capsule in orphans:
            self.queue.add(pod_handler.orphan_key(capsule))
        for key in pod_keys:
            self.queue.add(key)
        LOG.debug('Reconcile: %d pods (%d with duplicate capsules), %d '
                  'orphan capsules queued', len(pod_keys), len(duplicated),
                  len(orphans))

    # notification hints ----------------------------------------------

    def _hint_loop(self):
        while not self.stopping:
            try:
                hint = self.hints.get(timeout=1)
            except queue_lib.Empty:
                continue
            except (EOFError, OSError):
                return
            key = self.state.hint(hint)
            if key is not None:
                self.queue.add(key)
