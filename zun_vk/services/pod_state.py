"""What the pod worker knows of the node's pods and capsules.

NodeState holds the newest pods (from the watch) and capsules (from the
poll, hints and the handler's own calls), shared by the worker threads.
Every capsule comes with the time its request was sent (``now()`` before
the call), so that an older answer never replaces a newer one.
"""

import threading
import time

from zun_vk.kube import pods as pod_client
from zun_vk.services import capsule_cache
from zun_vk import timestamps
from zun_vk.translate import pod_to_capsule as to_capsule


class NodeState(object):
    """Pods bound to the node and the capsules labelled for it."""

    def __init__(self, cluster_id=None, node_name=None,
                 clock=time.monotonic):
        self.lock = threading.Lock()
        self.cluster_id = cluster_id
        self.node_name = node_name
        self.now = clock
        self.pods = {}
        self.uids = {}
        self.gone = {}
        self.capsules = capsule_cache.CapsuleCache(clock)
        self.listed = False
        self.refresh = set()
        self.orphans = {}
        self.duplicates = {}
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

    def replace_capsules(self, capsules, listed_at=None):
        """Take a LIST sent at listed_at (default: now).

        Keeps our capsules; returns the pod keys whose capsule changed,
        every pod key after the first LIST (no capsule is created
        before it: see capsules_listed).
        """
        if listed_at is None:
            listed_at = self.now()
        fresh = {}
        for capsule in capsules:
            if not self.ours(capsule):
                continue
            uid = capsule['labels'][to_capsule.LABEL_POD_UID]
            # Duplicates (a POST whose reply was lost) keep the oldest;
            # the handler removes the others.
            if uid not in fresh or capsule_cache.age_order(
                    capsule) < capsule_cache.age_order(fresh[uid]):
                fresh[uid] = capsule
        with self.lock:
            changed = self.capsules.replace(fresh, listed_at)
            self.all_ours = [c for c in capsules if self.ours(c)]
            first, self.listed = not self.listed, True
            if first:
                return set(self.pods)
            return {self.uids[uid] for uid in changed if uid in self.uids}

    def capsules_listed(self):
        """True once a whole LIST of the project's capsules was taken."""
        with self.lock:
            return self.listed

    def capsule(self, uid):
        with self.lock:
            return self.capsules.get(uid)

    def set_capsule(self, uid, capsule, sent_at=None):
        """Store a GET's or create's answer (None: no such capsule).

        sent_at is when the request was sent (default: now). Returns the
        capsule now known for uid: an answer older than what the cache
        holds does not replace it.
        """
        with self.lock:
            return self.capsules.put(uid, capsule, sent_at)

    def fetch_capsule(self, uid, read):
        """Call read() (a Zun GET of uid's capsule) and store its answer.

        Returns the capsule now known for uid, as set_capsule does.
        """
        sent = self.now()
        return self.set_capsule(uid, read(), sent)

    def predecessors(self, pod, remembered=()):
        """Our capsules of earlier pods with the pod's namespace and name.

        Looked for in the cache, the last LIST and the capsules given
        (deletes the handler asked for): labelled with the pod's
        namespace and name but another pod UID.
        """
        meta = pod['metadata']
        with self.lock:
            candidates = ([c for _uid, c in self.capsules.items()] +
                          self.all_ours + list(remembered))
        found = {}
        for capsule in candidates:
            labels = capsule.get('labels') or {}
            if (self.ours(capsule) and
                    labels.get(to_capsule.LABEL_NAMESPACE) ==
                    meta['namespace'] and
                    labels.get(to_capsule.LABEL_POD_NAME) == meta['name'] and
                    labels.get(to_capsule.LABEL_POD_UID) != meta['uid']):
                found.setdefault(capsule['uuid'], capsule)
        return list(found.values())

    def capsule_gone(self, capsule, sent_at):
        """Zun answered 404 for the capsule to a request sent at sent_at."""
        uid = capsule['labels'][to_capsule.LABEL_POD_UID]
        with self.lock:
            cached = self.capsules.get(uid)
            if cached is not None and cached['uuid'] == capsule['uuid']:
                self.capsules.put(uid, None, sent_at)
            self.all_ours = [c for c in self.all_ours
                             if c['uuid'] != capsule['uuid']]

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
        """What reconcile queues, from the last LIST.

        (orphan capsules older than grace, keys of the pods with more
        than one capsule, every pod key). The handler takes each pod's
        duplicates with take_duplicates().
        """
        now = now or timestamps.utcnow()
        with self.lock:
            orphans = []
            per_pod = {}
            for capsule in self.all_ours:
                uid = capsule['labels'][to_capsule.LABEL_POD_UID]
                if uid in self.uids:
                    per_pod.setdefault(uid, []).append(capsule)
                    continue
                created = timestamps.parse(capsule.get('created_at'))
                if created is None or now - created >= grace:
                    orphans.append(capsule)
                    self.orphans[capsule['uuid']] = capsule
            self.duplicates = {uid: capsules for uid, capsules in
                               per_pod.items() if len(capsules) > 1}
            duplicated = [self.uids[uid] for uid in self.duplicates]
            return orphans, duplicated, list(self.pods)

    def take_duplicates(self, uid):
        """Every capsule of the pod when reconcile found several, else []."""
        with self.lock:
            return self.duplicates.pop(uid, [])

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
