"""Capsule notifications, sent without ever making zun-compute wait.

``emit`` only puts the notification on a bounded in-memory queue; one
background thread (a green thread once zun-compute has monkey-patched
``threading``) sends the queue in order through an oslo.messaging
Notifier. A broker that is down or slow therefore blocks that thread
only: capsule operations and the periodic state sync go on, and when the
queue is full new notifications are dropped with a warning (zun-vk sees
the change at its next poll; notifications are hints, never the truth).

One sender serves the whole process: zun-compute loads the plugin twice
(container role and capsule role).
"""

import os
import queue
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

PAYLOAD_NAME = 'CapsulePayload'
PAYLOAD_NAMESPACE = 'zun_vk'
PAYLOAD_VERSION = '1.0'
_KEY = 'zun_vk_object.'

# Every event is sent at priority info, so it lands in <topic>.info, the
# queue consumers such as ceilometer drain (no <topic>.error pile-up).
PRIORITY = 'info'

_DROP_LOG_EVERY = 100


def versioned(data):
    """A payload in the versioned-notification layout."""
    return {_KEY + 'name': PAYLOAD_NAME,
            _KEY + 'namespace': PAYLOAD_NAMESPACE,
            _KEY + 'version': PAYLOAD_VERSION,
            _KEY + 'data': data}


def default_notifier_factory(conf):
    """Build the oslo.messaging Notifier described by conf."""
    def factory():
        import oslo_messaging

        transport = oslo_messaging.get_notification_transport(conf)
        # get_notification_transport registered [oslo_messaging_notifications].
        # Its drivers, else messagingv2: zun-compute sends nothing else,
        # so an empty list only means nobody configured it.
        driver = (None if conf.oslo_messaging_notifications.driver
                  else 'messagingv2')
        return oslo_messaging.Notifier(
            transport,
            publisher_id='zun-compute.%s' % conf.host,
            driver=driver,
            topics=list(conf.zun_vk_plugin.notification_topics),
            retry=conf.zun_vk_plugin.notification_retry)
    return factory


class NotificationSender(object):
    """A bounded queue of notifications and the thread that sends it.

    ``notifier_factory`` returns an object with
    ``info(ctxt, event_type, payload)`` (an oslo.messaging Notifier); it
    is called in the sender thread, on the first notification.
    """

    def __init__(self, notifier_factory, queue_size=1000, enabled=True):
        self._factory = notifier_factory
        self._queue_size = queue_size
        self.enabled = enabled
        self._lock = threading.Lock()
        self._queue = None
        self._thread = None
        self._pid = None
        self._notifier = None
        self._factory_failed_at = None
        self._busy = False
        self.dropped = 0
        self._dropped_unreported = 0
        # Handed to the notifier (which logs and drops what it could not
        # deliver after its retries) and not handed over.
        self.sent = 0
        self.failed = 0

    # --- producer side: never blocks -----------------------------------

    def emit(self, event_type, payload):
        """Queue one notification; True if queued, False if dropped."""
        if not self.enabled:
            return False
        try:
            self._ensure_thread()
            self._queue.put_nowait((event_type, payload))
            return True
        except queue.Full:
            full = True
        except Exception:  # noqa: B902 - must never hurt the caller
            LOG.exception('Could not queue notification %s', event_type)
            return False
        if full:
            self.dropped += 1
            self._dropped_unreported += 1
            if self._dropped_unreported == 1 or (
                    self.dropped % _DROP_LOG_EVERY == 0):
                LOG.warning('Notification queue full (%d waiting; is the '
                            'notification broker reachable?): dropped %s '
                            '(%d dropped so far). zun-vk picks the change '
                            'up at its next poll.', self._queue_size,
                            event_type, self.dropped)
        return False

    def _ensure_thread(self):
        pid = os.getpid()
        if self._thread is not None and self._pid == pid:
            return
        with self._lock:
            if self._thread is not None and self._pid == pid:
                return
            # First use, or a fork copied us without our thread.
            self._queue = queue.Queue(maxsize=self._queue_size)
            self._notifier = None
            self._pid = pid
            thread = threading.Thread(target=self._run,
                                      name='zun-vk-notifier', daemon=True)
            thread.start()
            self._thread = thread

    # --- consumer side ---------------------------------------------------

    def _run(self):
        q = self._queue
        while True:
            item = q.get()
            if item is None:
                q.task_done()
                return
            self._busy = True
            try:
                self._send(*item)
            finally:
                self._busy = False
                q.task_done()

    def _get_notifier(self):
        if self._notifier is not None:
            return self._notifier
        if (self._factory_failed_at is not None and
                time.monotonic() - self._factory_failed_at < 60):
            return None
        try:
            self._notifier = self._factory()
            self._factory_failed_at = None
        except Exception:  # noqa: B902 - bad config must not kill us
            self._factory_failed_at = time.monotonic()
            LOG.exception('Cannot set up the capsule notifier; '
                          'notifications are dropped for a minute')
        return self._notifier

    def _send(self, event_type, payload):
        notifier = self._get_notifier()
        if notifier is None:
            self.failed += 1
            return
        started = time.monotonic()
        try:
            # oslo.messaging logs and swallows delivery failures itself
            # (after [zun_vk_plugin]notification_retry attempts).
            getattr(notifier, PRIORITY)({}, event_type, payload)
            self.sent += 1
        except Exception:  # noqa: B902 - keep sending the rest
            self.failed += 1
            LOG.exception('Sending notification %s failed', event_type)
        took = time.monotonic() - started
        if took > 5:
            LOG.warning('Sending notification %s took %.1f s; is the '
                        'notification broker reachable?', event_type, took)
        if self._dropped_unreported and self._queue.qsize() == 0:
            LOG.warning('Notification queue drained; %d notifications '
                        'were dropped while it was full',
                        self._dropped_unreported)
            self._dropped_unreported = 0

    # --- for tests and orderly shutdown ------------------------------------

    def flush(self, timeout=10.0):
        """Wait until everything queued so far was handed to the notifier."""
        if self._queue is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def stop(self, timeout=5.0):
        thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)
        self._thread = None


_SENDER = None
_SENDER_LOCK = threading.Lock()


def get_sender(conf):
    """The process-wide sender, made from conf on first use."""
    global _SENDER
    with _SENDER_LOCK:
        if _SENDER is None:
            group = conf.zun_vk_plugin
            _SENDER = NotificationSender(
                default_notifier_factory(conf),
                queue_size=group.notification_queue_size,
                enabled=group.notifications_enabled)
        return _SENDER


def _reset_for_tests():
    global _SENDER
    with _SENDER_LOCK:
        if _SENDER is not None:
            _SENDER.stop(1)
        _SENDER = None
