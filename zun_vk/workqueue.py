"""A keyed work queue: one key is never handled by two workers at once.

Like client-go's workqueue: adding a key that is already waiting does
nothing, adding a key that is being handled marks it to be handled again
afterwards, and keys can be added after a delay (retries, polling).
"""

import heapq
import threading
import time


class KeyedQueue(object):
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._cond = threading.Condition()
        self._ready = []
        self._waiting = set()
        self._processing = set()
        self._again = set()
        self._delayed = []
        self._shutdown = False

    def add(self, key):
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key):
        if self._shutdown or key in self._waiting:
            return
        if key in self._processing:
            self._again.add(key)
            return
        self._waiting.add(key)
        self._ready.append(key)
        self._cond.notify()

    def add_after(self, key, delay):
        if delay <= 0:
            return self.add(key)
        with self._cond:
            heapq.heappush(self._delayed, (self._clock() + delay, id(key),
                                           key))
            self._cond.notify()

    def get(self, timeout=None):
        """The next key to handle, or None on shutdown or timeout."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while True:
                if self._shutdown:
                    return None
                self._promote_due_locked()
                if self._ready:
                    key = self._ready.pop(0)
                    self._waiting.discard(key)
                    self._processing.add(key)
                    return key
                wait = None
                if self._delayed:
                    wait = max(0.0, self._delayed[0][0] - self._clock())
                if deadline is not None:
                    left = deadline - self._clock()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def _promote_due_locked(self):
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _due, _id, key = heapq.heappop(self._delayed)
            self._add_locked(key)

    def done(self, key):
        with self._cond:
            self._processing.discard(key)
            if key in self._again:
                self._again.discard(key)
                self._add_locked(key)

    def __len__(self):
        with self._cond:
            return len(self._ready) + len(self._delayed)

    def shutdown(self):
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()
