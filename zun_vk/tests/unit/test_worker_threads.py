"""A worker thread that dies of an unexpected exception runs again."""

import logging
import threading
import types

from zun_vk.services import base
from zun_vk.services import pod_state
from zun_vk.services import pods as pod_service
from zun_vk import workqueue


class Worker(base.Worker):
    name = 'test'

    def __init__(self):
        super().__init__(conf=None)
        self.delays = []

    def sleep(self, seconds):
        # No real waiting: the back-off is recorded.
        self.delays.append(seconds)
        return not self.stopping


def test_a_thread_that_raises_is_started_again_with_back_off(caplog):
    worker = Worker()
    runs = []

    def loop():
        runs.append(len(runs))
        if len(runs) < 3:
            raise KeyError('surprise')
    with caplog.at_level(logging.ERROR):
        thread = worker.spawn('loop', loop)
        thread.join(30)
    assert not thread.is_alive()
    assert runs == [0, 1, 2]
    assert worker.delays == [1, 2]
    failures = [r for r in caplog.records
                if 'thread loop failed' in r.getMessage()]
    assert len(failures) == 2 and failures[0].exc_info is not None


def test_a_thread_that_returns_is_not_started_again():
    worker = Worker()
    runs = []
    worker.spawn('once', lambda: runs.append(1)).join(30)
    assert runs == [1]
    assert worker.delays == []


def test_a_thread_failing_while_stopping_ends():
    worker = Worker()
    runs = []

    def loop():
        runs.append(1)
        worker._stop.set()
        raise RuntimeError('connection closed by stop()')
    worker.spawn('loop', loop).join(30)
    assert runs == [1]


def test_the_capsule_poll_goes_on_after_an_unexpected_error():
    class Service(pod_service.PodService):
        def sleep(self, seconds):
            return not self.stopping

    service = Service(types.SimpleNamespace(
        sync=types.SimpleNamespace(status_poll_interval=10)))
    service.state = pod_state.NodeState('c1', 'vk-1')
    service.queue = workqueue.KeyedQueue()
    service.synced = threading.Event()
    service.synced.set()
    lists = []

    class Zun(object):
        def list_capsules(self):
            lists.append(1)
            if len(lists) == 1:
                raise TypeError('a capsule Zun answered oddly')
            if len(lists) == 3:
                service._stop.set()
            return []
    service.zun = Zun()
    service.spawn('poll', service._poll_loop).join(30)
    assert len(lists) == 3
    assert service.state.capsules_listed()
