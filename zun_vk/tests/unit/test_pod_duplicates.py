"""Two capsules for one pod: reconcile finds them and the oldest stays."""

import logging
import threading
import types

import pytest

from zun_vk.services import pod_handler
from zun_vk.services import pod_state
from zun_vk.services import pods as pod_service
from zun_vk.tests.unit import pod_fakes as fakes
from zun_vk import workqueue
from zun_vk.zun import client as zun_client


@pytest.fixture
def env():
    state = pod_state.NodeState()
    zun, pods, events = fakes.FakeZun(), fakes.FakePods(), fakes.FakeEvents()
    handler = pod_handler.PodHandler(fakes.conf(), state, pods, zun, events)
    service = pod_service.PodService(types.SimpleNamespace(
        sync=types.SimpleNamespace(orphan_grace_period=120)))
    service.state, service.zun = state, zun
    service.queue = workqueue.KeyedQueue()
    service.synced = threading.Event()
    state.replace_capsules([])
    return types.SimpleNamespace(state=state, zun=zun, pods=pods,
                                 events=events, handler=handler,
                                 service=service)


def a_second_capsule_like(env, first):
    """What a retried POST leaves when Zun created the first one."""
    original = env.zun.templates[0]
    env.zun.create_capsule(original)
    second = env.zun.created[-1]
    assert env.zun.capsules[second]['created_at'] > env.zun.capsules[
        first]['created_at']
    return second


def queued(service):
    keys = []
    while True:
        key = service.queue.get(timeout=0)
        if key is None:
            return keys
        keys.append(key)
        service.queue.done(key)


def test_reconcile_deletes_all_but_the_oldest_capsule(env, caplog):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    first = env.zun.created[0]
    second = a_second_capsule_like(env, first)
    third = a_second_capsule_like(env, first)
    # The status poll alone keeps the oldest in its cache, never deletes.
    env.service._poll_once()
    for key_ in queued(env.service):
        env.handler.sync(key_)
    assert env.zun.deleted == []

    env.service._reconcile()
    assert key in queued(env.service)
    with caplog.at_level(logging.WARNING):
        env.handler.sync(key)
    assert sorted(env.zun.deleted) == sorted([second, third])
    assert list(env.zun.capsules) == [first]
    assert env.state.capsule('0123456789abcdef')['uuid'] == first
    events = [e for e in env.events.recorded if e[1] == 'DuplicateCapsule']
    assert len(events) == 2
    assert all(e[0] == 'Warning' and first in e[2] for e in events)
    logged = [r.getMessage() for r in caplog.records
              if 'duplicates its oldest capsule' in r.getMessage()]
    assert len(logged) == 2 and second in ' '.join(logged)


def test_the_pod_moves_to_its_oldest_capsule(env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    first = env.zun.created[0]
    second = a_second_capsule_like(env, first)
    # The handler's cache holds the younger one (the retried POST's).
    env.state.set_capsule('0123456789abcdef',
                          dict(env.zun.capsules[second]))
    env.zun.capsules[first]['status'] = 'Running'
    env.service._reconcile()
    env.handler.sync(key)
    assert env.zun.deleted == [second]
    capsule = env.state.capsule('0123456789abcdef')
    assert (capsule['uuid'], capsule['status']) == (first, 'Running')


def test_a_duplicate_is_deleted_once_while_zun_still_lists_it(env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    first = env.zun.created[0]
    second = a_second_capsule_like(env, first)
    lingering = dict(env.zun.capsules[second], status='Deleting')
    env.service._reconcile()
    env.handler.sync(key)
    # Zun deletes asynchronously: the next LISTs still show it.
    env.zun.capsules[second] = lingering
    for _ in range(2):
        env.service._reconcile()
        env.handler.sync(key)
    assert env.zun.deleted == [second]
    assert [e[1] for e in env.events.recorded].count('DuplicateCapsule') == 1


def test_capsules_of_other_pods_are_not_duplicates(env):
    one = env.state.observe('ADDED', fakes.make_pod('one', uid='1' * 16))
    two = env.state.observe('ADDED', fakes.make_pod('two', uid='2' * 16))
    env.handler.sync(one)
    env.handler.sync(two)
    env.service._reconcile()
    env.handler.sync(one)
    env.handler.sync(two)
    assert env.zun.deleted == []


def test_a_duplicate_zun_refuses_to_delete_is_tried_at_the_next_reconcile(
        env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    first = env.zun.created[0]
    second = a_second_capsule_like(env, first)
    delete = env.zun.delete_capsule

    def refuse(uuid):
        raise zun_client.ZunError('Deleting capsule %s failed: HTTP 409: '
                                  'still Creating' % uuid, status=409)
    env.zun.delete_capsule = refuse
    env.service._reconcile()
    # The pod is still looked after meanwhile.
    assert env.handler.sync(key) is None
    assert second in env.zun.capsules
    assert 'DuplicateCapsule' not in [e[1] for e in env.events.recorded]
    env.zun.delete_capsule = delete
    env.service._reconcile()
    env.handler.sync(key)
    assert list(env.zun.capsules) == [first]
