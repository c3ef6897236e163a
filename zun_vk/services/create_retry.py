"""Creating again the capsules Zun could not create, as the kubelet does.

A capsule in Error whose containers never ran (no host with room, an
image Zun could not pull, a network it could not set up) stays so for
good: Zun does not retry. The kubelet retries such pods whatever their
restartPolicy, so the pod handler deletes the capsule, waits until Zun
answers 404 and creates it again under the same name, backing off per
pod: 10 s, doubling to 5 min, from zero again once a capsule starts.
"""

from zun_vk.translate import capsule_to_status as to_status

RETRY_CREATE_FIRST = 10.0
RETRY_CREATE_MAX = 300.0


def failed_to_create(pod, capsule, started):
    """True when the capsule is in Error and nothing of the pod ran.

    started is whether the pod's status shows containers that ran
    (pod_handler.pod_started); a pod that ran keeps its restartPolicy.
    """
    phase = (pod.get('status') or {}).get('phase')
    return (capsule.get('status') == 'Error' and not started and
            phase not in ('Succeeded', 'Failed') and
            not to_status.capsule_ran(capsule))


class CreateRetry(object):
    """Per pod UID: failed creates so far, and the next create due.

    Times are the NodeState clock's (state.now()).
    """

    def __init__(self, clock):
        self.now = clock
        # pod UID -> capsules that failed in a row
        self.failures = {}
        # pod UID -> (uuid of the failed capsule, when to create again)
        self.due = {}

    def schedule(self, uid, capsule_uuid):
        """Remember the failed capsule; the back-off delay in seconds."""
        failed = self.failures.get(uid, 0)
        delay = min(RETRY_CREATE_MAX, RETRY_CREATE_FIRST * 2 ** failed)
        self.failures[uid] = failed + 1
        self.due[uid] = (capsule_uuid, self.now() + delay)
        return delay

    def waiting(self, uid):
        """(failed capsule uuid, when to create again), or None."""
        return self.due.get(uid)

    def left(self, uid):
        """Seconds until the pod's capsule may be created again."""
        _uuid, due = self.due[uid]
        return max(0.0, due - self.now())

    def done_waiting(self, uid):
        self.due.pop(uid, None)

    def started(self, uid):
        """A capsule of the pod runs: the next failure waits 10 s again."""
        self.failures.pop(uid, None)

    def forget(self, uid):
        self.failures.pop(uid, None)
        self.due.pop(uid, None)
