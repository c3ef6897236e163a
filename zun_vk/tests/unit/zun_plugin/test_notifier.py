"""The sender: a bounded queue, one background thread, oslo.messaging."""

import logging
import time

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

from oslo_config import cfg  # noqa: E402
import oslo_messaging  # noqa: E402
from oslo_messaging.notify import _impl_test  # noqa: E402

from zun_vk.tests.unit.zun_plugin import fakes  # noqa: E402
from zun_vk.zun_plugin import conf as plugin_conf  # noqa: E402
from zun_vk.zun_plugin import notifier  # noqa: E402


def _conf(**plugin):
    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.StrOpt('host'))
    plugin_conf.register_opts(conf)
    conf([], project='zun')
    conf.set_override('host', 'compute-7')
    # Registers [DEFAULT]transport_url and [oslo_messaging_notifications].
    oslo_messaging.get_notification_transport(conf, url='fake:/')
    conf.set_override('transport_url', 'fake:/')
    for key, value in plugin.items():
        conf.set_override(key, value, group='zun_vk_plugin')
    return conf


@pytest.fixture
def sender():
    made = []

    def make(factory, **kwargs):
        made.append(notifier.NotificationSender(factory, **kwargs))
        return made[-1]
    yield make
    for one in made:
        one.stop(2)


def test_versioned_payload_layout():
    payload = notifier.versioned({'uuid': 'u'})
    assert payload == {'zun_vk_object.name': 'CapsulePayload',
                       'zun_vk_object.namespace': 'zun_vk',
                       'zun_vk_object.version': '1.0',
                       'zun_vk_object.data': {'uuid': 'u'}}
    # What zun-vk's listener looks for.
    assert [k for k in payload if k.endswith('_object.data')]


def test_sends_through_a_real_oslo_messaging_notifier(sender):
    _impl_test.reset()
    conf = _conf(notification_retry=2)
    conf.set_override('driver', ['test'], group='oslo_messaging_notifications')
    one = sender(notifier.default_notifier_factory(conf))
    assert one.emit('capsule.update', notifier.versioned({'uuid': 'u1'}))
    assert one.emit('capsule.delete.end', notifier.versioned({'uuid': 'u2'}))
    assert one.flush(10)
    sent = _impl_test.NOTIFICATIONS
    assert [(m['event_type'], m['publisher_id'], prio, retry)
            for _, m, prio, retry in sent] == [
        ('capsule.update', 'zun-compute.compute-7', 'INFO', 2),
        ('capsule.delete.end', 'zun-compute.compute-7', 'INFO', 2)]
    assert sent[0][1]['payload']['zun_vk_object.data'] == {'uuid': 'u1'}
    assert one.sent == 2


def test_notifier_uses_plugin_topics_and_defaults_to_messagingv2(
        sender, monkeypatch):
    seen = {}

    class Capture(object):
        def __init__(self, transport, **kwargs):
            seen.update(kwargs)

        def info(self, ctxt, event_type, payload):
            seen['sent'] = event_type

    monkeypatch.setattr(oslo_messaging, 'Notifier', Capture)
    conf = _conf(notification_topics=['zun_vk'], notification_retry=0)
    one = sender(notifier.default_notifier_factory(conf))
    one.emit('capsule.update', {})
    assert one.flush(10)
    assert seen == {'publisher_id': 'zun-compute.compute-7',
                    'driver': 'messagingv2', 'topics': ['zun_vk'],
                    'retry': 0, 'sent': 'capsule.update'}


def test_emit_never_blocks_and_overflow_is_dropped_with_a_warning(
        sender, caplog):
    blocked = fakes.BlockingNotifier()
    one = sender(lambda: blocked, queue_size=3)
    caplog.set_level(logging.WARNING)
    try:
        assert one.emit('capsule.update', {'n': 0})
        assert blocked.entered.wait(5)  # the sender is stuck in the send
        started = time.monotonic()
        results = [one.emit('capsule.update', {'n': n})
                   for n in range(1, 250)]
        assert time.monotonic() - started < 1.0
        assert results.count(True) == 3
        assert one.dropped == 249 - 3
        results.insert(0, True)
        warnings = [r for r in caplog.records
                    if 'Notification queue full' in r.getMessage()]
        # Warned at the first drop and then every 100th, not for each.
        assert 1 <= len(warnings) <= 4
    finally:
        blocked.release.set()
    assert one.flush(10)
    # In order, nothing lost of what was queued.
    assert blocked.sent == ['capsule.update'] * results.count(True)


def test_a_raising_notifier_does_not_stop_the_sender(sender):
    raising = fakes.RaisingNotifier()
    one = sender(lambda: raising)
    for n in range(3):
        one.emit('capsule.update', {})
    assert one.flush(10)
    assert raising.attempts == 3
    assert one.failed == 3


def test_a_broken_factory_drops_for_a_while(sender):
    calls = []

    def factory():
        calls.append(1)
        raise ValueError('bad transport_url')
    one = sender(factory)
    for n in range(5):
        one.emit('capsule.update', {})
    assert one.flush(10)
    assert len(calls) == 1
    assert one.failed == 5


def test_disabled_sender_sends_nothing_and_starts_no_thread(sender):
    one = sender(lambda: pytest.fail('no notifier wanted'), enabled=False)
    assert one.emit('capsule.update', {}) is False
    assert one._thread is None


def test_one_sender_per_process():
    notifier._reset_for_tests()
    try:
        conf = _conf(notification_queue_size=7)
        first = notifier.get_sender(conf)
        assert notifier.get_sender(conf) is first
        assert first._queue_size == 7
    finally:
        notifier._reset_for_tests()


def test_conf_lists_its_options():
    [(group, opts)] = plugin_conf.list_opts()
    assert group.name == 'zun_vk_plugin'
    assert {o.name: o.default for o in opts} == {
        'wrapped_driver': 'docker',
        'notifications_enabled': True,
        'notification_topics': ['notifications'],
        'notification_queue_size': 1000,
        'notification_retry': 3,
        'pods_dir': '/var/lib/zun-vk/capsules',
        'volumes_timeout': 120,
        'cleanup_failed_capsules': True,
    }
