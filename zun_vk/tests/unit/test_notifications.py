import queue

import oslo_messaging
import pytest

from zun_vk.services import notifications

VERSIONED = {
    'zun_vk_object.name': 'CapsulePayload',
    'zun_vk_object.namespace': 'zun_vk',
    'zun_vk_object.version': '1.0',
    'zun_vk_object.data': {
        'uuid': 'c1', 'status': 'Running',
        'labels': {'zun-vk/node': 'vk-1', 'zun-vk/pod-uid': 'p1'}},
}


@pytest.mark.parametrize('payload,expected', [
    (VERSIONED, {'capsule_uuid': 'c1', 'pod_uid': 'p1',
                 'event_type': 'capsule.update'}),
    ({'uuid': 'c2', 'labels': {'zun-vk/pod-uid': 'p2'}},
     {'capsule_uuid': 'c2', 'pod_uid': 'p2',
      'event_type': 'capsule.update'}),
    # Another node's capsule is not ours.
    ({'uuid': 'c3', 'labels': {'zun-vk/node': 'vk-2'}}, None),
    # Garbage.
    ('not json at all', None),
    ({'uuid': 42}, None),
    ({'zun_vk_object.data': 'x'}, None),
    (None, None),
])
def test_hint_from_notification(payload, expected):
    assert notifications.hint_from_notification(
        'capsule.update', payload, 'vk-1') == expected


def test_endpoint_acknowledges_garbage_and_forwards_hints():
    hints = queue.Queue()
    endpoint = notifications.CapsuleEndpoint('vk-1', hints)
    handled = oslo_messaging.NotificationResult.HANDLED
    assert endpoint.info({}, 'zun-compute', 'capsule.update', [1, 2],
                         {}) == handled
    assert hints.empty()
    assert endpoint.info({}, 'zun-compute', 'capsule.update', VERSIONED,
                         {}) == handled
    assert hints.get_nowait()['capsule_uuid'] == 'c1'
