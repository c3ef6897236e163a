"""What the pod worker does for one pod key, and the state it shares.

NodeState holds the newest pods (from the watch) and capsules (from the
poll, hints and our own calls). PodHandler.sync(key) takes the next step
for that pod and returns a delay after which the key should be looked at
again, or None.
"""

import threading

from kubernetes.client import exceptions as k8s_exc
from oslo_log import log as logging

from zun_vk.kube import pods as pod_client
from zun_vk.kube import timestamps
from zun_vk.translate import capsule_to_status as to_status
from zun_vk.translate import errors as translate_errors
from zun_vk.translate import pod_to_capsule as to_capsule
from zun_vk.zun import client as zun_client

LOG = logging.getLogger(__name__)

ORPHAN_PREFIX = 'capsule:'
TERMINAL_PHASES = ('Succeeded', 'Failed')
DELETE_CHECK_INTERVAL = 1.0
MISSING_REFERENCE_RETRY = 10.0


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


class NodeState(object):
    """Pods bound to the node and the capsules labelled for it."""

    def __init__(self, cluster_id=None, node_name=None):
        self.lock = threading.Lock()
        self.cluster_id = cluster_id
        self.node_name = node_name
        self.pods = {}
        self.uids = {}
        self.gone = {}
        self.capsules = {}
        self.refresh = set()
        self.orphans = {}
        self.all_ours = []

    def configure(self, cluster_id, node_name):
        self.cluster_id = cluster_id
        self.node_name = node_name

    def ours(self, capsule):
        labels = capsule.get('labels') or {}
        return (labels.get(to_capsule.LABEL_CLUSTER) == self.cluster_id and
                labels.get(to_capsule.LABEL_NODE) == self.node_name and
                bool(labels.get(to_capsule.LABEL_POD_UID)))

    # pods ----------------------------------------------------------------

    def _set_pod_locked(self, pod):
        key = pod_client.pod_key(pod)
        old = self.pods.get(key)
        if old is not None and old['metadata']['uid'] != pod['metadata'][
                'uid']:
            self.gone[key] = old['metadata']['uid']
            self.uids.pop(old['metadata']['uid'], None)
        self.pods[key] = pod
        self.uids[pod['metadata']['uid']] = key
        return key

    def _drop_pod_locked(self, key):
        old = self.pods.pop(key, None)
        if old is not None:
            self.uids.pop(old['metadata']['uid'], None)
            self.gone[key] = old['metadata']['uid']

    def replace_pods(self, pods):
        with self.lock:
            fresh = {pod_client.pod_key(p) for p in pods}
            keys = set(self.pods) | fresh
            for key in set(self.pods) - fresh:
                self._drop_pod_locked(key)
            for pod in pods:
                self._set_pod_locked(pod)
            return keys

    def observe(self, kind, pod):
        with self.lock:
            if kind == 'DELETED':
                key = pod_client.pod_key(pod)
                current = self.pods.get(key)
                if (current is not None and current['metadata']['uid'] ==
                        pod['metadata']['uid']):
                    self._drop_pod_locked(key)
                return key
            key = pod_client.pod_key(pod)
            current = self.pods.get(key)
            if current is not None and _older(pod, current):
                return key
            return self._set_pod_locked(pod)

    def update_pod(self, pod):
        with self.lock:
            current = self.pods.get(pod_client.pod_key(pod))
            if current is None or current['metadata']['uid'] != pod[
                    'metadata']['uid']:
                return
            if not _older(pod, current):
                self._set_pod_locked(pod)

    def pod(self, key):
        with self.lock:
            return self.pods.get(key)

    def take_gone_uid(self, key):
        with self.lock:
            return self.gone.pop(key, None)

    # capsules ------------------------------------------------------------

    def replace_capsules(self, capsules):
        """Keep our capsules; return the pod keys whose capsule changed."""
        changed = set()
        with self.lock:
            fresh = {}
            for capsule in capsules:
                if not self.ours(capsule):
                    continue
                uid = capsule['labels'][to_capsule.LABEL_POD_UID]
                # Duplicates (a crash between POST and reply) keep the
                # oldest; the handler removes the others.
                if uid in fresh and (fresh[uid].get('created_at') or '') <= (
                        capsule.get('created_at') or ''):
                    continue
                fresh[uid] = capsule
            for uid in set(self.capsules) | set(fresh):
                if self.capsules.get(uid) != fresh.get(uid):
                    key = self.uids.get(uid)
                    if key is not None:
                        changed.add(key)
            self.capsules = fresh
            self.all_ours = [c for c in capsules if self.ours(c)]
        return changed

    def capsule(self, uid):
        with self.lock:
            return self.capsules.get(uid)

    def set_capsule(self, uid, capsule):
        with self.lock:
            if capsule is None:
                self.capsules.pop(uid, None)
            else:
                self.capsules[uid] = capsule

    def hint(self, hint):
        with self.lock:
            key = self.uids.get(hint.get('pod_uid'))
            if key is None:
                for uid, capsule in self.capsules.items():
                    if capsule.get('uuid') == hint.get('capsule_uuid'):
                        key = self.uids.get(uid)
                        break
            if key is not None:
                self.refresh.add(key)
            return key

    def take_refresh(self, key):
        with self.lock:
            if key in self.refresh:
                self.refresh.discard(key)
                return True
            return False

    def reconcile_plan(self, grace, now=None):
        """(orphan capsules older than grace, every pod key)."""
        now = now or timestamps.utcnow()
        with self.lock:
            orphans = []
            for capsule in self.all_ours:
                uid = capsule['labels'][to_capsule.LABEL_POD_UID]
                if uid in self.uids:
                    continue
                created = to_status.parse_time(capsule.get('created_at'))
                if created is None or now - created >= grace:
                    orphans.append(capsule)
                    self.orphans[capsule['uuid']] = capsule
            return orphans, list(self.pods)

    def take_orphan(self, capsule_uuid):
        with self.lock:
            capsule = self.orphans.pop(capsule_uuid, None)
            if capsule is None:
                return None
            uid = capsule['labels'][to_capsule.LABEL_POD_UID]
            if uid in self.uids:
                return None
            return capsule


def _older(pod, current):
    try:
        return int(pod['metadata'].get('resourceVersion') or 0) < int(
            current['metadata'].get('resourceVersion') or 0)
    except ValueError:
        return False


class PodHandler(object):
    def __init__(self, conf, state, pods, zun, events):
        self.conf = conf
        self.state = state
        self.state.configure(conf.cluster_id, conf.node_name)
        self.pods = pods
        self.zun = zun
        self.events = events
        self.delete_requested = {}

    # entry point ---------------------------------------------------------

    def sync(self, key):
        if key.startswith(ORPHAN_PREFIX):
            return self._delete_orphan(key[len(ORPHAN_PREFIX):])
        pod = self.state.pod(key)
        if pod is None:
            return self._pod_gone(key)
        uid = pod['metadata']['uid']
        capsule = self.state.capsule(uid)
        if self.state.take_refresh(key) and capsule is not None:
            capsule = self.zun.get_capsule(capsule['uuid'])
            self.state.set_capsule(uid, capsule)
        if pod['metadata'].get('deletionTimestamp'):
            return self._delete(pod, capsule)
        phase = (pod.get('status') or {}).get('phase')
        if capsule is None:
            capsule = self._find_capsule(pod)
        if capsule is None:
            if phase in TERMINAL_PHASES:
                return None
            if pod_started(pod):
                return self._lost(pod)
            return self._create(pod)
        self._write_status(pod, capsule)
        return None

    # create --------------------------------------------------------------

    def _find_capsule(self, pod):
        """The pod's capsule looked up by its deterministic name."""
        meta = pod['metadata']
        name = to_capsule.capsule_name(meta['namespace'], meta['name'],
                                       meta['uid'])
        try:
            capsule = self.zun.get_capsule(name)
        except zun_client.ZunError as exc:
            if exc.status != 409:
                raise
            # Zun holds several capsules of that name: keep the oldest.
            capsule = self._dedupe(pod, name)
        if capsule is not None:
            labels = capsule.get('labels') or {}
            if labels.get(to_capsule.LABEL_POD_UID) != meta['uid']:
                return None
            self.state.set_capsule(meta['uid'], capsule)
        return capsule

    def _dedupe(self, pod, name):
        uid = pod['metadata']['uid']
        mine = [c for c in self.zun.list_capsules()
                if c.get('name') == name and self.state.ours(c) and
                (c.get('labels') or {}).get(to_capsule.LABEL_POD_UID) == uid]
        mine.sort(key=lambda c: c.get('created_at') or '')
        for extra in mine[1:]:
            LOG.warning('Pod %s: deleting duplicate capsule %s',
                        pod_client.pod_key(pod), extra['uuid'])
            self.zun.delete_capsule(extra['uuid'])
        return mine[0] if mine else None

    def _resolve_env(self, pod):
        namespace = pod['metadata']['namespace']
        config_maps, secrets = {}, {}
        for ref in to_capsule.env_references(pod):
            if ref.kind == 'ConfigMap' and ref.name not in config_maps:
                config_maps[ref.name] = self.pods.read_config_map(
                    namespace, ref.name)
            elif ref.kind == 'Secret' and ref.name not in secrets:
                secrets[ref.name] = self.pods.read_secret(namespace,
                                                          ref.name)
        config_maps = {k: v for k, v in config_maps.items() if v is not None}
        secrets = {k: v for k, v in secrets.items() if v is not None}
        return to_capsule.resolve_env(pod, config_maps, secrets,
                                      host_ip=self.conf.node.internal_ip)

    def _create(self, pod):
        key = pod_client.pod_key(pod)
        now = to_status.rfc3339(timestamps.utcnow())
        # Problems are handled after the try block: oslo.log would append
        # the active exception to every line logged inside it.
        refusal = missing = None
        try:
            resolved = self._resolve_env(pod)
            request = to_capsule.pod_to_capsule(
                pod, cluster_id=self.conf.cluster_id,
                node_name=self.conf.node_name, resolved_env=resolved,
                defaults=self._defaults())
        except translate_errors.UnsupportedPod as exc:
            refusal = exc
        except translate_errors.MissingReference as exc:
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
        self.state.set_capsule(pod['metadata']['uid'], capsule)
        LOG.info('Pod %s: created capsule %s (%s)', key,
                 capsule.get('name'), capsule.get('uuid'))
        self.events.record(pod, 'Normal', 'Created',
                           'Created Zun capsule %s (%s)' % (
                               capsule.get('name'), capsule.get('uuid')))
        self._write_status(pod, capsule)
        return None

    def _defaults(self):
        return to_capsule.CapsuleDefaults(
            cpu=self.conf.zun.default_cpu,
            memory_mb=self.conf.zun.default_memory_mb,
            availability_zone=self.conf.zun.availability_zone)

    # status --------------------------------------------------------------

    def _write_status(self, pod, capsule):
        status = to_status.capsule_to_pod_status(
            pod, capsule, node_ip=self.conf.node.internal_ip,
            now=to_status.rfc3339(timestamps.utcnow()))
        old = pod.get('status') or {}
        if (status.get('phase') == 'Pending' and pod_started(pod) and
                capsule.get('status') == 'Error'):
            # A pod never goes back to Pending: Zun lost what ran it, and
            # nothing will restart it, so its controller must replace it.
            status = dict(status, phase='Failed')
        if not to_status.pod_status_changed(old, status):
            return
        updated = self._patch_status(pod, status)
        if status.get('phase') != old.get('phase'):
            LOG.info('Pod %s: %s -> %s (capsule %s %s)',
                     pod_client.pod_key(pod), old.get('phase'),
                     status.get('phase'), capsule.get('uuid'),
                     capsule.get('status'))
        if (status.get('phase') == 'Failed' and
                old.get('phase') != 'Failed'):
            self.events.record(pod, 'Warning', 'Failed',
                               status.get('message') or
                               'The pod\'s containers failed')
        elif (status.get('phase') == 'Running' and
              old.get('phase') != 'Running'):
            self.events.record(pod, 'Normal', 'Started',
                               'Capsule %s is running' % capsule.get('uuid'))
        return updated

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
            pod, now=to_status.rfc3339(timestamps.utcnow())))
        self.events.record(pod, 'Warning', 'CapsuleLost', message)
        return None

    # delete --------------------------------------------------------------

    def _delete(self, pod, capsule):
        key = pod_client.pod_key(pod)
        uid = pod['metadata']['uid']
        if capsule is None:
            capsule = self._find_capsule(pod)
        if capsule is not None and uid in self.delete_requested:
            capsule = self.zun.get_capsule(capsule['uuid'])
            self.state.set_capsule(uid, capsule)
        if capsule is None:
            self.pods.delete_now(pod)
            self.delete_requested.pop(uid, None)
            self.state.set_capsule(uid, None)
            LOG.info('Pod %s: capsule gone, pod deleted', key)
            return None
        if uid not in self.delete_requested:
            try:
                gone = self.zun.delete_capsule(capsule['uuid'])
            except zun_client.ZunError as exc:
                self.events.record(pod, 'Warning', 'ProviderDeleteFailed',
                                   'Zun could not delete capsule %s: %s'
                                   % (capsule['uuid'], exc))
                raise
            self.delete_requested[uid] = timestamps.utcnow()
            self.events.record(pod, 'Normal', 'Killing',
                               'Deleting Zun capsule %s' % capsule['uuid'])
            LOG.info('Pod %s: deleting capsule %s', key, capsule['uuid'])
            if gone:
                return self._delete(pod, None)
        return DELETE_CHECK_INTERVAL

    def _pod_gone(self, key):
        """The pod left the API without us: remove its capsule."""
        uid = self.state.take_gone_uid(key)
        if uid is None:
            return None
        already_deleting = self.delete_requested.pop(uid, None) is not None
        capsule = self.state.capsule(uid)
        if capsule is not None and not already_deleting:
            LOG.info('Pod %s was removed; deleting its capsule %s', key,
                     capsule['uuid'])
            self.zun.delete_capsule(capsule['uuid'])
            self.state.set_capsule(uid, None)
        return None

    def _delete_orphan(self, capsule_uuid):
        capsule = self.state.take_orphan(capsule_uuid)
        if capsule is None:
            return None
        labels = capsule.get('labels') or {}
        LOG.info('Deleting orphan capsule %s of pod %s/%s (uid %s)',
                 capsule_uuid, labels.get(to_capsule.LABEL_NAMESPACE),
                 labels.get(to_capsule.LABEL_POD_NAME),
                 labels.get(to_capsule.LABEL_POD_UID))
        self.zun.delete_capsule(capsule_uuid)
        return None
