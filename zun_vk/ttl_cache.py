"""Values kept for a while: TokenReview answers, Services, the Node.

Bounded (expired entries go first, then everything), and get_or_load
makes concurrent readers of one missing key wait for a single load.
"""

import threading
import time


class TTLCache(object):
    def __init__(self, clock=time.monotonic, size=4096):
        self._items = {}
        self._loading = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._size = size

    def get(self, key):
        """The value of key, or None when absent or expired."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= self._clock():
                del self._items[key]
                return None
            return value

    def put(self, key, value, ttl):
        if ttl <= 0:
            return
        with self._lock:
            if len(self._items) >= self._size:
                now = self._clock()
                for stale in [k for k, (exp, _) in self._items.items()
                              if exp <= now]:
                    del self._items[stale]
                if len(self._items) >= self._size:
                    self._items.clear()
            self._items[key] = (self._clock() + ttl, value)

    def get_or_load(self, key, load, ttl):
        """The cached value, else load() once however many ask at once."""
        with self._lock:
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            value = self.get(key)
            if value is None:
                value = load()
                self.put(key, value, ttl)
        with self._lock:
            self._loading.pop(key, None)
        return value
