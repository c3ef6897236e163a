"""What every zun-vk worker shares: threads that stop on one event."""

import threading
import time

from oslo_log import log as logging

from oslo_service import service  # noqa: I100 - backend chosen in __init__

LOG = logging.getLogger(__name__)

STOP_TIMEOUT = 1.0
# A thread that died of an unexpected exception runs again after a delay
# growing from the first to the second number of seconds.
RESTART_BACKOFF = (1, 30)


class Backoff(object):
    """Exponential delays for retrying something that keeps failing."""

    def __init__(self, initial, maximum):
        self.initial = initial
        self.maximum = maximum
        self.failures = 0

    def failed(self):
        delay = min(self.maximum, self.initial * (2 ** self.failures))
        self.failures += 1
        return delay

    def succeeded(self):
        self.failures = 0


class Worker(service.ServiceBase):
    """An oslo.service service whose threads are made in start().

    Nothing is built in __init__ because the launcher forks a child
    process per service; sockets and threads belong in the child.
    """

    name = 'worker'

    def __init__(self, conf):
        super().__init__()
        self.conf = conf
        self._stop = threading.Event()
        self._threads = []

    @property
    def stopping(self):
        return self._stop.is_set()

    def sleep(self, seconds):
        """Sleep unless stopping; True when the worker should go on."""
        return not self._stop.wait(seconds)

    def spawn(self, name, target, *args):
        """Run target(*args) on a thread until it returns or we stop.

        A target that raises is logged with its traceback and run again
        after a back-off: a worker whose loop died would look alive and
        do nothing.
        """
        def run():
            backoff = Backoff(*RESTART_BACKOFF)
            while not self.stopping:
                try:
                    target(*args)
                    return
                except Exception:  # noqa: B902 - a dying thread must be seen
                    if self.stopping:
                        return
                    delay = backoff.failed()
                    LOG.exception('%s thread %s failed; starting it again '
                                  'in %d s', self.name, name, delay)
                if not self.sleep(delay):
                    return
        thread = threading.Thread(target=run, name='%s-%s' % (self.name,
                                                              name),
                                  daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def start(self):
        self._stop.clear()

    def stop(self, graceful=False):
        self._stop.set()
        self.release()
        # Threads are daemons and the worker process exits right after
        # this, so waiting is only for a tidy end of work in progress.
        deadline = time.monotonic() + STOP_TIMEOUT
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def release(self):
        """Close connections so blocked threads wake up; for subclasses."""

    def wait(self):
        self._stop.wait()
        for thread in self._threads:
            thread.join(STOP_TIMEOUT)

    def reset(self):
        pass
