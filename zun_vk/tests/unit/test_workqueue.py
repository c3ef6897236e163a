import threading

from zun_vk import workqueue


class FakeClock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_waiting_key_is_queued_once():
    q = workqueue.KeyedQueue()
    q.add('a')
    q.add('b')
    q.add('a')
    assert q.get(timeout=0) == 'a'
    assert q.get(timeout=0) == 'b'
    assert q.get(timeout=0) is None


def test_key_added_while_processing_comes_back_after_done():
    q = workqueue.KeyedQueue()
    q.add('a')
    assert q.get(timeout=0) == 'a'
    q.add('a')
    # Not handed to a second worker while the first still has it.
    assert q.get(timeout=0) is None
    q.done('a')
    assert q.get(timeout=0) == 'a'


def test_add_after_waits_for_its_time():
    clock = FakeClock()
    q = workqueue.KeyedQueue(clock=clock)
    q.add_after('a', 5)
    assert q.get(timeout=0) is None
    clock.now = 5.0
    assert q.get(timeout=0) == 'a'


def test_shutdown_wakes_waiting_workers():
    q = workqueue.KeyedQueue()
    got = []
    worker = threading.Thread(target=lambda: got.append(q.get()))
    worker.start()
    q.shutdown()
    worker.join(10)
    assert not worker.is_alive()
    assert got == [None]
