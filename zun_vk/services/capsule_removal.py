"""Deleting capsules for the pod handler, and waiting until they are gone.

A deleted pod's capsule (then the pod, with grace 0 and its UID as
precondition), the capsule of a pod that left the API without us,
orphans that reconcile found, the extra capsules of a pod that has
several (a POST whose reply was lost: Zun created the capsule, zun-vk
never heard and created another), and the capsule of an earlier pod of
the same name (a StatefulSet's web-0 re-created, a force delete), which
must be gone before the new pod's capsule is created. Every call comes
from the handler, so through the queue key of the pod concerned.
"""

from oslo_log import log as logging

from zun_vk.kube import pods as pod_client
from zun_vk.services import capsule_cache
from zun_vk import timestamps
from zun_vk.translate import kubelet_events
from zun_vk.translate import pod_to_capsule as to_capsule
from zun_vk.zun import client as zun_client

LOG = logging.getLogger(__name__)

DELETE_CHECK_INTERVAL = 1.0
# A delete that takes longer is looked at less often: notifications
# (capsule.delete.end) end the wait at once anyway.
DELETE_SLOW_AFTER = 10.0
DELETE_SLOW_INTERVAL = 5.0
# A delete Zun failed (capsule left in Error) is asked again after 10 s,
# doubling to 5 min, as the kubelet backs off.
RETRY_DELETE_FIRST = 10.0
RETRY_DELETE_MAX = 300.0
# A capsule whose delete was asked is not asked again for this long while
# LISTs still show it (Zun deletes asynchronously). Zun 18 drops a delete
# that races with the capsule's create, so it is asked again after this.
DELETE_MEMORY_SECONDS = 60.0


class CapsuleRemoval(object):
    def __init__(self, state, pods, zun, events):
        self.state = state
        self.pods = pods
        self.zun = zun
        self.events = events
        # pod UID -> when the delete of the pod's own capsule was asked
        self.delete_requested = {}
        # capsule uuid -> (capsule, state.now() when its delete was
        # asked), for capsules deleted on behalf of another pod
        self.deleting = {}
        # pod UID -> (state.now() of the last delete asked, failed ones)
        self.delete_attempts = {}

    def _record(self, pod, events):
        for event in events:
            self.events.record(pod, event.type, event.reason, event.message,
                               field_path=event.field_path)

    def _asked(self, capsule):
        """True while a delete of the capsule is remembered as asked."""
        horizon = self.state.now() - DELETE_MEMORY_SECONDS
        for uuid, (_capsule, asked) in list(self.deleting.items()):
            if asked < horizon:
                del self.deleting[uuid]
        uid = (capsule.get('labels') or {}).get(to_capsule.LABEL_POD_UID)
        return capsule['uuid'] in self.deleting or (
            uid in self.delete_requested)

    def _ask_delete(self, capsule):
        """Ask Zun to delete the capsule, remembered; True if gone."""
        asked = self.state.now()
        gone = self.zun.delete_capsule(capsule['uuid'])
        if not gone:
            self.deleting[capsule['uuid']] = (capsule, asked)
        return gone

    def _read(self, uid, capsule_id):
        return self.state.fetch_capsule(
            uid, lambda: self.zun.get_capsule(capsule_id))

    # a deleted pod ---------------------------------------------------------

    def delete_pod(self, pod, capsule):
        """Delete the pod's capsule, then the pod once Zun says 404.

        capsule is the pod's capsule as found, None when it has none.
        Returns the delay after which to look again, or None when done.
        """
        uid = pod['metadata']['uid']
        if capsule is not None and uid in self.delete_requested:
            capsule = self._read(uid, capsule['uuid'])
            if capsule is not None:
                return self._still_deleting(pod, capsule)
        elif capsule is not None:
            self._record(pod, kubelet_events.killing_events(
                pod.get('status')))
            if not self.delete_capsule(pod, capsule):
                return DELETE_CHECK_INTERVAL
        self.pods.delete_now(pod)
        self.delete_requested.pop(uid, None)
        self.delete_attempts.pop(uid, None)
        self.state.set_capsule(uid, None)
        LOG.info('Pod %s: capsule gone, pod deleted', pod_client.pod_key(pod))
        return None

    def delete_failed(self, pod, capsule):
        """Delete a capsule Zun failed to create, to create it again.

        capsule is the failed capsule as known, None once a LIST no
        longer shows it. Returns the delay after which to look again
        while Zun still has it, or None once Zun answered 404: then the
        delete is forgotten, so that the new capsule is not taken for
        one being deleted.
        """
        uid = pod['metadata']['uid']
        if capsule is not None and uid not in self.delete_requested:
            if not self.delete_capsule(pod, capsule):
                return DELETE_CHECK_INTERVAL
        elif capsule is not None:
            capsule = self._read(uid, capsule['uuid'])
            if capsule is not None:
                return self._still_deleting(pod, capsule)
        self.delete_requested.pop(uid, None)
        self.delete_attempts.pop(uid, None)
        self.state.set_capsule(uid, None)
        return None

    def delete_capsule(self, pod, capsule):
        """Ask Zun to delete the pod's capsule; True if already gone."""
        try:
            gone = self.zun.delete_capsule(capsule['uuid'])
        except zun_client.ZunError as exc:
            self.events.record(pod, 'Warning', 'ProviderDeleteFailed',
                               'Zun could not delete capsule %s: %s'
                               % (capsule['uuid'], exc))
            raise
        uid = pod['metadata']['uid']
        self.delete_requested[uid] = timestamps.utcnow()
        _last, failed = self.delete_attempts.get(uid, (None, 0))
        self.delete_attempts[uid] = (self.state.now(), failed)
        LOG.info('Pod %s: deleting capsule %s', pod_client.pod_key(pod),
                 capsule['uuid'])
        return gone

    def _still_deleting(self, pod, capsule):
        """The delay to the next look at a capsule Zun is deleting.

        A capsule in Error failed its delete (Zun leaves it there for
        good): ask again, backing off per pod.
        """
        uid = pod['metadata']['uid']
        now = self.state.now()
        last, failed = self.delete_attempts.get(uid, (now, 0))
        if capsule.get('status') != 'Error':
            return (DELETE_SLOW_INTERVAL if now - last > DELETE_SLOW_AFTER
                    else DELETE_CHECK_INTERVAL)
        wait = min(RETRY_DELETE_MAX, RETRY_DELETE_FIRST * 2 ** failed)
        if now - last < wait:
            return wait - (now - last)
        reason = capsule.get('status_reason') or 'no reason given'
        LOG.warning('Pod %s: Zun failed to delete capsule %s (%s); asking '
                    'again', pod_client.pod_key(pod), capsule['uuid'],
                    reason)
        self.events.record(pod, 'Warning', 'ProviderDeleteFailed',
                           'Zun could not delete capsule %s (%s); deleting '
                           'it again' % (capsule['uuid'], reason))
        self.delete_attempts[uid] = (now, failed + 1)
        if self.delete_capsule(pod, capsule):
            return 0
        return DELETE_CHECK_INTERVAL

    # capsules without a pod -------------------------------------------------

    def pod_gone(self, key, uid):
        """The pod left the API without us: remove its capsule."""
        already_deleting = self.delete_requested.pop(uid, None) is not None
        capsule = self.state.capsule(uid)
        if capsule is None:
            return
        if already_deleting:
            # Remembered, so that a pod of the same name waits for it.
            self.deleting.setdefault(capsule['uuid'],
                                     (capsule, self.state.now()))
        else:
            LOG.info('Pod %s was removed; deleting its capsule %s', key,
                     capsule['uuid'])
            self._ask_delete(capsule)
        self.state.set_capsule(uid, None)

    def delete_orphan(self, capsule_uuid):
        capsule = self.state.take_orphan(capsule_uuid)
        if capsule is None:
            return
        labels = capsule.get('labels') or {}
        LOG.info('Deleting orphan capsule %s of pod %s/%s (uid %s)',
                 capsule_uuid, labels.get(to_capsule.LABEL_NAMESPACE),
                 labels.get(to_capsule.LABEL_POD_NAME),
                 labels.get(to_capsule.LABEL_POD_UID))
        self.zun.delete_capsule(capsule_uuid)

    # duplicates ------------------------------------------------------------

    def keep_oldest(self, pod, capsules):
        """Delete all but the oldest of the pod's capsules; the oldest.

        Each deletion is logged and recorded as an Event on the pod.
        """
        if not capsules:
            return None
        keep, *extras = sorted(capsules, key=capsule_cache.age_order)
        for extra in extras:
            if self._asked(extra):
                continue
            LOG.warning('Pod %s: capsule %s (created %s) duplicates its '
                        'oldest capsule %s (created %s); deleting it',
                        pod_client.pod_key(pod), extra['uuid'],
                        extra.get('created_at'), keep['uuid'],
                        keep.get('created_at'))
            failure = None
            try:
                self._ask_delete(extra)
            except zun_client.ZunError as exc:
                failure = exc
            if failure is not None:
                # Zun may refuse while the capsule is still being
                # created; the next reconcile finds it again.
                LOG.warning('Pod %s: duplicate capsule %s not deleted '
                            'yet: %s', pod_client.pod_key(pod),
                            extra['uuid'], failure)
                continue
            self.events.record(
                pod, 'Warning', 'DuplicateCapsule',
                'Deleted Zun capsule %s, a second capsule for this pod '
                '(a create whose reply was lost); the pod keeps its '
                'oldest capsule %s' % (extra['uuid'], keep['uuid']))
        return keep

    # an earlier pod of the same name ---------------------------------------

    def remove_predecessors(self, pod):
        """Delete the capsules of earlier pods of the pod's name.

        Returns the delay after which to look again while one is still
        in Zun, or None once none is left.
        """
        remembered = [capsule for capsule, _asked in self.deleting.values()]
        waiting = False
        for capsule in self.state.predecessors(pod, remembered):
            sent = self.state.now()
            if self._asked(capsule):
                gone = self.zun.get_capsule(capsule['uuid']) is None
            else:
                gone = self._delete_predecessor(pod, capsule)
            if gone:
                self.deleting.pop(capsule['uuid'], None)
                self.delete_requested.pop(
                    capsule['labels'].get(to_capsule.LABEL_POD_UID), None)
                self.state.capsule_gone(capsule, sent)
            waiting = waiting or not gone
        return DELETE_CHECK_INTERVAL if waiting else None

    def _delete_predecessor(self, pod, capsule):
        old_uid = capsule['labels'].get(to_capsule.LABEL_POD_UID)
        LOG.info('Pod %s: deleting capsule %s of the earlier pod of that '
                 'name (uid %s) before creating its own',
                 pod_client.pod_key(pod), capsule['uuid'], old_uid)
        if self._ask_delete(capsule):
            return True
        self.events.record(
            pod, 'Normal', 'WaitingForPreviousCapsule',
            'Waiting for Zun to delete capsule %s of the previous pod of '
            'this name (uid %s) before creating this pod\'s capsule'
            % (capsule['uuid'], old_uid))
        return False
