import threading

from zun_vk import ttl_cache


class Clock(object):
    now = 100.0

    def __call__(self):
        return self.now


def test_values_expire_after_their_own_ttl():
    clock = Clock()
    cache = ttl_cache.TTLCache(clock)
    cache.put('a', 1, 10)
    cache.put('b', 2, 30)
    cache.put('c', 3, 0)      # not kept
    assert (cache.get('a'), cache.get('b'), cache.get('c')) == (1, 2, None)
    clock.now += 11
    assert (cache.get('a'), cache.get('b')) == (None, 2)


def test_a_full_cache_drops_expired_entries_first():
    clock = Clock()
    cache = ttl_cache.TTLCache(clock, size=2)
    cache.put('old', 1, 1)
    cache.put('keep', 2, 100)
    clock.now += 2
    cache.put('new', 3, 100)
    assert (cache.get('keep'), cache.get('new')) == (2, 3)


def test_concurrent_readers_share_one_load():
    cache = ttl_cache.TTLCache()
    started, release = threading.Event(), threading.Event()
    loads = []

    def load():
        loads.append(1)
        started.set()
        release.wait(10)
        return 'value'
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        cache.get_or_load('k', load, 60))) for _ in range(5)]
    for thread in threads:
        thread.start()
    assert started.wait(10)
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == ['value'] * 5
    assert loads == [1]
