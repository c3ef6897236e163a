"""The notification worker: capsule notifications become pod refreshes.

A notification is only a hint. It names a capsule whose pod the pod
worker then refreshes from the Zun API; nothing in the payload is trusted
as the capsule's state. The listener runs in its own process and hands
hints over through a queue the launcher created before forking.
"""

import queue
import threading

from oslo_log import log as logging
import oslo_messaging

from zun_vk.services import base

LOG = logging.getLogger(__name__)

EVENT_TYPES = r'^capsule\.(create\.(start|end|error)|update|delete\.end)$'
POD_UID_LABEL = 'zun-vk/pod-uid'
NODE_LABEL = 'zun-vk/node'


def capsule_data(payload):
    """The capsule fields of a payload, versioned or flat; None if absent."""
    if not isinstance(payload, dict):
        return None
    for key, value in payload.items():
        if key.endswith('_object.data') and isinstance(value, dict):
            payload = value
            break
    if not isinstance(payload.get('uuid'), str):
        return None
    return payload


def hint_from_notification(event_type, payload, node_name):
    """The hint for the pod worker, or None when the capsule isn't ours."""
    data = capsule_data(payload)
    if data is None:
        return None
    labels = data.get('labels')
    if not isinstance(labels, dict):
        labels = {}
    node = labels.get(NODE_LABEL)
    if node is not None and node != node_name:
        return None
    return {'capsule_uuid': data['uuid'],
            'pod_uid': labels.get(POD_UID_LABEL),
            'event_type': event_type}


class CapsuleEndpoint(object):
    """Receives capsule notifications and forwards them as hints."""

    def __init__(self, node_name, hints):
        self.node_name = node_name
        self.hints = hints
        self.filter_rule = oslo_messaging.NotificationFilter(
            event_type=EVENT_TYPES)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        try:
            hint = hint_from_notification(event_type, payload,
                                          self.node_name)
        except Exception:  # noqa: B902 - garbage must never stop us
            hint = None
        if hint is None:
            LOG.debug('Ignoring %s notification from %s: not a capsule of '
                      'node %s', event_type, publisher_id, self.node_name)
            return oslo_messaging.NotificationResult.HANDLED
        try:
            self.hints.put(hint, timeout=1)
        except queue.Full:
            LOG.warning('Hint queue full; capsule %s is refreshed at the '
                        'next poll instead', hint['capsule_uuid'])
        return oslo_messaging.NotificationResult.HANDLED

    error = info
    warn = info


class NotificationService(base.Worker):
    name = 'notifications'

    def __init__(self, conf, hints):
        super().__init__(conf)
        self.hints = hints
        self.listener = None

    def start(self):
        super().start()
        # Connecting blocks while the broker is down: do it on a thread so
        # the service starts, and stops, whatever the broker does.
        self.spawn('listener', self._listen)

    def _listen(self):
        group = self.conf.notifications
        pool = group.pool or 'zun-vk-%s' % self.conf.node_name
        transport = oslo_messaging.get_notification_transport(self.conf)
        targets = [oslo_messaging.Target(topic=topic,
                                         exchange=group.exchange)
                   for topic in group.topics]
        listener = oslo_messaging.get_notification_listener(
            transport, targets,
            [CapsuleEndpoint(self.conf.node_name, self.hints)],
            executor='threading', pool=pool)
        self.listener = listener
        LOG.info('Listening for capsule notifications on exchange %s, '
                 'topics %s, pool %s', group.exchange,
                 ','.join(group.topics), pool)
        if self.stopping:
            return
        listener.start()

    def release(self):
        listener, self.listener = self.listener, None
        if listener is None:
            return

        def stop_listener():
            try:
                listener.stop()
                listener.wait()
            except Exception:  # noqa: B902 - stopping is best effort
                LOG.debug('Stopping the listener failed', exc_info=True)
        # Stopping waits for the broker too; never longer than this.
        stopper = threading.Thread(target=stop_listener, daemon=True)
        stopper.start()
        stopper.join(base.STOP_TIMEOUT)
