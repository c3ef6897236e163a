"""What the pod worker does for one pod key.

PodHandler.sync(key) looks at the newest pod and capsule of the shared
pod_state.NodeState, takes the next step for that pod (create the
capsule, write the status, stop it at its activeDeadlineSeconds, delete
it) and returns a delay after which the key should be looked at again,
or None.
"""

import datetime

from kubernetes.client import exceptions as k8s_exc
from oslo_log import log as logging

from zun_vk.kube import cluster_view
from zun_vk.kube import pods as pod_client
from zun_vk.services import capsule_removal
from zun_vk.services import create_retry
from zun_vk.services import pod_files
from zun_vk import timestamps
from zun_vk.translate import active_deadline
from zun_vk.translate import capsule_to_status as to_status
from zun_vk.translate import errors as translate_errors
from zun_vk.translate import kubelet_events
from zun_vk.translate import pod_env
from zun_vk.translate import pod_to_capsule as to_capsule
from zun_vk.translate import resource_fields
from zun_vk.translate import service_env
from zun_vk.zun import client as zun_client

LOG = logging.getLogger(__name__)

ORPHAN_PREFIX = 'capsule:'
TERMINAL_PHASES = ('Succeeded', 'Failed')
MISSING_REFERENCE_RETRY = 10.0
# The Event of a capsule Zun could not create, before it is created again.
REASON_FAILED_CREATE = 'FailedCreate'
# A deadline wake-up is queued this long after the deadline, so that the
# pod is past it when it is looked at again.
DEADLINE_MARGIN = 0.5


def orphan_key(capsule):
    return ORPHAN_PREFIX + capsule['uuid']


def is_transient(exc):
    if isinstance(exc, zun_client.ZunError):
        return exc.transient
    return pod_client.is_transient(exc)


def describe_error(exc):
    if isinstance(exc, k8s_exc.ApiException):
        return 'Kubernetes API error %s: %s' % (exc.status, exc.reason)
    return ' '.join(str(exc).split())[:500] or type(exc).__name__


def pod_started(pod):
    """True when the pod's containers ever ran (the kubelet's view)."""
    status = pod.get('status') or {}
    if status.get('phase') == 'Running':
        return True
    for cs in (status.get('containerStatuses') or []):
        state = cs.get('state') or {}
        if 'running' in state or 'terminated' in state:
            return True
    return False


class PodHandler(object):
    def __init__(self, conf, state, pods, zun, events, cluster=None,
                 cluster_id=None, files=None):
        self.conf = conf
        # kube/cluster_identity.py: [DEFAULT]cluster_id or kube-system's
        # UID.
        self.cluster_id = cluster_id or conf.cluster_id
        self.state = state
        self.state.configure(self.cluster_id, conf.node_name)
        self.pods = pods
        self.zun = zun
        self.events = events
        # cluster_view.ClusterView: Services and the Node's allocatable.
        self.cluster = cluster
        self.removal = capsule_removal.CapsuleRemoval(state, pods, zun,
                                                      events)
        self.retry = create_retry.CreateRetry(state.now)
        # pod_files.PodFiles: the files of the pods' volumes on the hosts.
        self.files = files if files is not None else (
            pod_files.NoHostVolumes())
        # pod UID -> (deadline, time after which no wake-up is pending)
        self.deadline_wakeups = {}

    # entry point ---------------------------------------------------------

    def sync(self, key):
        if key.startswith(ORPHAN_PREFIX):
            return self.removal.delete_orphan(key[len(ORPHAN_PREFIX):])
        pod = self.state.pod(key)
        if pod is None:
            return self._pod_gone(key)
        uid = pod['metadata']['uid']
        capsule = self.state.capsule(uid)
        duplicates = self.state.take_duplicates(uid)
        if duplicates:
            keep = self.removal.keep_oldest(pod, duplicates)
            if capsule is None or capsule['uuid'] != keep['uuid']:
                capsule = self._read_capsule(uid, keep['uuid'])
        if self.state.take_refresh(key) and capsule is not None:
            capsule = self._read_capsule(uid, capsule['uuid'])
        if pod['metadata'].get('deletionTimestamp'):
            return self.removal.delete_pod(
                pod, capsule or self._find_capsule(pod))
        phase = (pod.get('status') or {}).get('phase')
        if active_deadline.is_deadline_failure(pod):
            return self._stop_for_deadline(pod, capsule)
        if phase not in TERMINAL_PHASES and active_deadline.exceeded(
                pod, timestamps.utcnow()):
            return self._deadline_exceeded(pod, capsule)
        if self.retry.waiting(uid) is not None:
            return self._await_retry(pod, capsule)
        if capsule is None:
            capsule = self._find_capsule(pod)
        if capsule is None:
            if phase in TERMINAL_PHASES:
                return None
            if pod_started(pod):
                return self._lost(pod)
            if not self.state.capsules_listed():
                # An earlier pod of the same name may have a capsule that
                # only a LIST shows; the first one queues every pod.
                return None
            return self.removal.remove_predecessors(pod) or self._create(
                pod)
        if create_retry.failed_to_create(pod, capsule, pod_started(pod)):
            return self._retry_create(pod, capsule)
        if to_status.capsule_ran(capsule):
            self.retry.started(uid)
        self.files.track(pod, capsule, lambda: self._secret_files(pod))
        return self._deadline_wakeup(self._write_status(pod, capsule))

    # create --------------------------------------------------------------

    def _read_capsule(self, uid, capsule_id):
        """GET the capsule into the cache; the newest capsule known."""
        return self.state.fetch_capsule(
            uid, lambda: self.zun.get_capsule(capsule_id))

    def _find_capsule(self, pod):
        """The pod's capsule looked up by its deterministic name."""
        meta = pod['metadata']
        name = to_capsule.capsule_name(meta['namespace'], meta['name'],
                                       meta['uid'])
        sent = self.state.now()
        try:
            capsule = self.zun.get_capsule(name)
        except zun_client.ZunError as exc:
            if exc.status != 409:
                raise
            # Zun holds several capsules of that name: keep the oldest.
            capsule = self.removal.keep_oldest(pod, [
                c for c in self.zun.list_capsules()
                if c.get('name') == name and self.state.ours(c) and
                (c.get('labels') or {}).get(
                    to_capsule.LABEL_POD_UID) == meta['uid']])
        if capsule is not None:
            labels = capsule.get('labels') or {}
            if labels.get(to_capsule.LABEL_POD_UID) != meta['uid']:
                return None
        return self.state.set_capsule(meta['uid'], capsule, sent)

    def _resolve_env(self, pod):
        namespace = pod['metadata']['namespace']
        config_maps, secrets = {}, {}
        for ref in pod_env.env_references(pod):
            if ref.kind == 'ConfigMap' and ref.name not in config_maps:
                config_maps[ref.name] = self.pods.read_config_map(
                    namespace, ref.name)
            elif ref.kind == 'Secret' and ref.name not in secrets:
                secrets[ref.name] = self.pods.read_secret(namespace,
                                                          ref.name)
        config_maps = {k: v for k, v in config_maps.items() if v is not None}
        secrets = {k: v for k, v in secrets.items() if v is not None}
        allocatable = None
        if (self.cluster is not None and
                resource_fields.needs_node_allocatable(pod)):
            allocatable = self.cluster.node_allocatable()
        return pod_env.resolve_env(pod, config_maps, secrets,
                                   host_ip=self.conf.node.internal_ip,
                                   service_env=self._service_env(pod),
                                   node_allocatable=allocatable,
                                   pod_ip_on_host=self.files.enabled)

    def _secret_files(self, pod):
        """The pod's secret variables for its host, derived again.

        For a capsule still being created whose create this process did
        not send (zun-vk restarted meanwhile). None when they cannot be
        derived now; pod_files asks again.
        """
        try:
            return to_capsule.pod_to_capsule(
                pod, cluster_id=self.cluster_id,
                node_name=self.conf.node_name,
                resolved_env=self._resolve_env(pod),
                defaults=self._defaults()).secret_files
        except (translate_errors.TranslationError,
                k8s_exc.ApiException) as exc:
            LOG.info('Pod %s: its secret variables cannot be derived now: '
                     '%s', pod_client.pod_key(pod), type(exc).__name__)
            return None

    def _service_env(self, pod):
        """The Service variables of the pod, as the kubelet gives them."""
        if self.cluster is None:
            return {}
        forbidden = None
        try:
            master = self.cluster.master_services()
            local = []
            if service_env.enable_service_links(pod):
                local = self.cluster.namespace_services(
                    pod['metadata']['namespace'])
        except cluster_view.ServicesForbidden as exc:
            forbidden = exc
        if forbidden is not None:
            # The pod still runs; the operator learns what to grant.
            LOG.warning('Pod %s: %s', pod_client.pod_key(pod), forbidden)
            self.events.record(pod, 'Warning', 'ServiceEnvUnavailable',
                               'The containers get no Service variables: '
                               '%s.' % forbidden)
            return {}
        return service_env.service_env(pod, master, local)

    def _create(self, pod):
        key = pod_client.pod_key(pod)
        now = timestamps.rfc3339(timestamps.utcnow())
        # Problems are handled after the try block: oslo.log would append
        # the active exception to every line logged inside it.
        refusal = missing = None
        try:
            resolved = self._resolve_env(pod)
            request = to_capsule.pod_to_capsule(
                pod, cluster_id=self.cluster_id,
                node_name=self.conf.node_name, resolved_env=resolved,
                defaults=self._defaults())
        except translate_errors.UnsupportedPod as exc:
            refusal = exc
        except translate_errors.ContainerConfigError as exc:
            missing = exc
        if refusal is not None:
            LOG.warning('Pod %s cannot run on Zun: %s', key, refusal)
            self._patch_status(pod, to_status.refused_pod_status(
                pod, 'UnsupportedPodSpec', str(refusal), now=now))
            self.events.record(pod, 'Warning', 'UnsupportedPodSpec',
                               str(refusal))
            return None
        if missing is not None:
            LOG.info('Pod %s waits for %s', key, missing)
            self._patch_status(pod, to_status.pending_status(
                pod, 'CreateContainerConfigError', str(missing), now=now))
            self.events.record(pod, 'Warning', 'Failed',
                               'Error: %s' % missing)
            return MISSING_REFERENCE_RETRY
        for warning in request.warnings:
            self.events.record(pod, 'Warning', 'IgnoredPodField', warning)
        failure = None
        sent = self.state.now()
        try:
            capsule = self.zun.create_capsule(request.template)
        except zun_client.ZunError as exc:
            failure = exc
        if failure is not None:
            message = 'Zun could not create the capsule: %s' % failure
            self.events.record(pod, 'Warning', 'ProviderCreateFailed',
                               message)
            self._patch_status(pod, to_status.pending_status(
                pod, 'ProviderCreateFailed', message, now=now))
            raise failure
        capsule = self.state.set_capsule(pod['metadata']['uid'], capsule,
                                         sent) or capsule
        self.files.track(pod, capsule, lambda: request.secret_files)
        LOG.info('Pod %s: created capsule %s (%s)', key,
                 capsule.get('name'), capsule.get('uuid'))
        self.events.record(pod, 'Normal', 'CapsuleCreated',
                           'Created Zun capsule %s (%s)' % (
                               capsule.get('name'), capsule.get('uuid')))
        return self._deadline_wakeup(self._write_status(pod, capsule))

    # capsules Zun could not create ---------------------------------------

    def _retry_create(self, pod, capsule):
        """Delete the failed capsule; it is created again after a back-off.

        The pod stays Pending, its containers waiting with the kubelet's
        reason and a message that says when the capsule is created again.
        """
        uid = pod['metadata']['uid']
        delay = self.retry.schedule(uid, capsule['uuid'])
        now = timestamps.utcnow()
        again = timestamps.rfc3339(now + datetime.timedelta(seconds=delay))
        reason, message = to_status.creation_failure(capsule)
        zun_reason = capsule.get('status_reason') or 'no reason given'
        LOG.warning('Pod %s: Zun could not create capsule %s (%s); creating '
                    'it again in %d s', pod_client.pod_key(pod),
                    capsule['uuid'], zun_reason, delay)
        status = to_status.pending_status(
            pod, reason, '%s The capsule is created again at %s (back-off '
            '%d s).' % (message, again, delay), now=timestamps.rfc3339(now))
        self._record(pod, kubelet_events.status_events(pod.get('status'),
                                                       status))
        self.events.record(pod, 'Warning', REASON_FAILED_CREATE,
                           'Zun could not create capsule %s: %s; deleting '
                           'it and creating it again in %d s' % (
                               capsule['uuid'], zun_reason, delay))
        return self._await_retry(self._patch_status(pod, status) or pod,
                                 capsule)

    def _await_retry(self, pod, capsule):
        """Wait for the failed capsule to go and the back-off to pass."""
        uid = pod['metadata']['uid']
        failed_uuid, _due = self.retry.waiting(uid)
        if capsule is not None and capsule['uuid'] != failed_uuid:
            # Not the capsule that failed: look again, as usual.
            self.retry.done_waiting(uid)
            return 0
        delay = self.removal.delete_failed(pod, capsule)
        if delay is not None:
            return delay
        left = self.retry.left(uid)
        if left > 0:
            return left
        self.retry.done_waiting(uid)
        return self.removal.remove_predecessors(pod) or self._create(pod)

    def _defaults(self):
        return to_capsule.CapsuleDefaults(
            cpu=self.conf.zun.default_cpu,
            memory_mb=self.conf.zun.default_memory_mb,
            availability_zone=self.conf.zun.availability_zone,
            companion_driver=self.conf.zun.companion_driver,
            host_volumes=self.files.enabled,
            cluster_domain=self.conf.node.cluster_domain,
            empty_dir_cinder_size_gb=self.conf.zun.empty_dir_cinder_size_gb)

    # status --------------------------------------------------------------

    def _write_status(self, pod, capsule):
        """Write the capsule's view of the pod; returns the newest pod."""
        status = to_status.capsule_to_pod_status(
            pod, capsule, node_ip=self.conf.node.internal_ip,
            now=timestamps.rfc3339(timestamps.utcnow()))
        old = pod.get('status') or {}
        if (status.get('phase') == 'Pending' and pod_started(pod) and
                capsule.get('status') == 'Error'):
            # A pod never goes back to Pending: Zun lost what ran it, and
            # nothing will restart it, so its controller must replace it.
            status = dict(status, phase='Failed')
        if not to_status.pod_status_changed(old, status):
            return pod
        # Events first, as the kubelet records them when things happen:
        # whoever sees the new status finds its Events already there.
        self._record(pod, kubelet_events.status_events(old, status))
        updated = self._patch_status(pod, status)
        if status.get('phase') != old.get('phase'):
            LOG.info('Pod %s: %s -> %s (capsule %s %s)',
                     pod_client.pod_key(pod), old.get('phase'),
                     status.get('phase'), capsule.get('uuid'),
                     capsule.get('status'))
        return updated or pod

    def _record(self, pod, events):
        for event in events:
            self.events.record(pod, event.type, event.reason, event.message,
                               field_path=event.field_path)

    def _patch_status(self, pod, status):
        updated = self.pods.patch_status(pod, status)
        if updated is not None:
            self.state.update_pod(updated)
        return updated

    def _lost(self, pod):
        message = ('The pod\'s Zun capsule no longer exists; it was deleted '
                   'outside Kubernetes. Delete the pod, or let its '
                   'controller replace it.')
        LOG.warning('Pod %s: capsule lost', pod_client.pod_key(pod))
        self._patch_status(pod, to_status.lost_capsule_status(
            pod, now=timestamps.rfc3339(timestamps.utcnow())))
        self.events.record(pod, 'Warning', 'CapsuleLost', message)
        return None

    # activeDeadlineSeconds -----------------------------------------------

    def _deadline_exceeded(self, pod, capsule):
        LOG.info('Pod %s: active longer than its activeDeadlineSeconds '
                 '(%s s); stopping it', pod_client.pod_key(pod),
                 pod['spec'].get('activeDeadlineSeconds'))
        self.deadline_wakeups.pop(pod['metadata']['uid'], None)
        self.events.record(pod, 'Normal', active_deadline.REASON,
                           active_deadline.MESSAGE)
        self._record(pod, kubelet_events.killing_events(pod.get('status')))
        updated = self._patch_status(pod, active_deadline.exceeded_status(
            pod, now=timestamps.rfc3339(timestamps.utcnow())))
        return self._stop_for_deadline(updated or pod, capsule)

    def _stop_for_deadline(self, pod, capsule):
        """Delete the capsule of a pod failed for its deadline, once."""
        uid = pod['metadata']['uid']
        requested = self.removal.delete_requested
        if uid in requested:
            return None
        if capsule is None:
            capsule = self._find_capsule(pod)
        if capsule is not None:
            self.removal.delete_capsule(pod, capsule)
        # Also when there was none: later looks need not ask Zun again.
        requested.setdefault(uid, timestamps.utcnow())
        return None

    def _deadline_wakeup(self, pod):
        """The delay after which the pod's deadline passes, if not queued.

        Every look at the pod goes through its queue key: the handler
        returns the delay once per deadline (a new or lowered
        activeDeadlineSeconds gives a new one), not once per sync.
        """
        uid = pod['metadata']['uid']
        due = active_deadline.due(pod)
        if due is None or (pod.get('status') or {}).get(
                'phase') in TERMINAL_PHASES:
            self.deadline_wakeups.pop(uid, None)
            return None
        now = timestamps.utcnow()
        queued = self.deadline_wakeups.get(uid)
        if queued is not None and queued[0] == due and now < queued[1]:
            return None
        self.deadline_wakeups[uid] = (
            due, due + datetime.timedelta(seconds=DEADLINE_MARGIN / 2))
        return max(0.0, (due - now).total_seconds()) + DEADLINE_MARGIN

    def _pod_gone(self, key):
        """The pod left the API without us: remove its capsule."""
        uid = self.state.take_gone_uid(key)
        if uid is not None:
            self.files.forget(uid)
            self.deadline_wakeups.pop(uid, None)
            self.retry.forget(uid)
            self.removal.pod_gone(key, uid)
        return None
