"""The newest capsule known for each pod UID: never older news over newer.

Capsules reach the pod worker from paged LISTs (the status poll and
reconcile), which take a while, and from the handler's own GETs and
creates, which may answer while a LIST is still paging. Each entry keeps
the time its request was sent. An answer replaces an entry only when it
is newer: Zun saved a later change of that capsule (the newest
``updated_at`` of the capsule and its containers), or, when the
timestamps cannot tell (a different capsule, or the same second), its
request was sent later. A LIST that started before a GET thus never turns
a terminated container back to running.
"""

import datetime
import time

from zun_vk import timestamps

# How long a removal (a 404, a capsule missing from a LIST) is remembered
# against answers to requests sent before it; far longer than any LIST.
REMOVAL_MEMORY_SECONDS = 600.0
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def last_change(capsule):
    """The newest timestamp Zun saved on the capsule or its containers."""
    stamps = [capsule.get('updated_at'), capsule.get('created_at')]
    for member in ((capsule.get('containers') or []) +
                   (capsule.get('init_containers') or [])):
        if isinstance(member, dict):
            stamps += [member.get('updated_at'), member.get('created_at')]
    parsed = [t for t in map(timestamps.parse, stamps) if t is not None]
    return max(parsed) if parsed else None


def age_order(capsule):
    """Sort key: the oldest capsule first (undated last), then by uuid."""
    created = timestamps.parse(capsule.get('created_at'))
    return (created is None, created or _EPOCH, capsule.get('uuid') or '')


def is_newer(capsule, sent_at, current, current_sent_at):
    """True when capsule (None: gone), read at sent_at, may replace current.

    Zun's timestamps decide between two views of one capsule; otherwise
    the request sent later wins, and a tie goes to the newcomer.
    """
    if (capsule is not None and current is not None and
            capsule.get('uuid') == current.get('uuid')):
        new, old = last_change(capsule), last_change(current)
        if new is not None and old is not None and new != old:
            return new > old
    return sent_at >= current_sent_at


class CapsuleCache(object):
    """pod UID -> (capsule or None for gone, time its request was sent).

    Not locked: NodeState calls it under its own lock.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._entries = {}

    def get(self, uid):
        entry = self._entries.get(uid)
        return entry[0] if entry is not None else None

    def items(self):
        return [(uid, entry[0]) for uid, entry in self._entries.items()
                if entry[0] is not None]

    def put(self, uid, capsule, sent_at=None):
        """Store the answer of a request sent at sent_at (default: now).

        Returns the capsule the cache holds for uid afterwards.
        """
        if sent_at is None:
            sent_at = self.clock()
        entry = self._entries.get(uid)
        if entry is None or is_newer(capsule, sent_at, *entry):
            self._entries[uid] = (capsule, sent_at)
        return self.get(uid)

    def replace(self, fresh, listed_at):
        """Apply a LIST sent at listed_at, as {uid: capsule}.

        A uid the LIST does not have is gone unless something newer
        says otherwise. Returns the uids whose capsule changed.
        """
        changed = set()
        held = {uid for uid, _capsule in self.items()}
        for uid in held | set(fresh):
            before = self.get(uid)
            if self.put(uid, fresh.get(uid), listed_at) != before:
                changed.add(uid)
        horizon = self.clock() - REMOVAL_MEMORY_SECONDS
        for uid, (capsule, sent_at) in list(self._entries.items()):
            if capsule is None and sent_at < horizon:
                del self._entries[uid]
        return changed
