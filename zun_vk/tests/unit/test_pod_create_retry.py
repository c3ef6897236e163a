"""Capsules Zun could not create are created again, with back-off."""

import types

import pytest

from zun_vk.services import capsule_removal
from zun_vk.services import create_retry
from zun_vk.services import pod_handler
from zun_vk.services import pod_state
from zun_vk.tests.unit import pod_fakes as fakes

NO_HOST = 'There are not enough hosts available.'


class SlowDeleteZun(fakes.FakeZun):
    """Zun keeps a deleted capsule until the test lets it go."""

    def __init__(self):
        super().__init__()
        self.slow = False

    def delete_capsule(self, uuid):
        if not self.slow:
            return super().delete_capsule(uuid)
        self.deleted.append(uuid)
        return False

    def finish_deletes(self):
        for uuid in set(self.deleted):
            self.capsules.pop(uuid, None)


@pytest.fixture
def env():
    clock = types.SimpleNamespace(t=1000.0)
    state = pod_state.NodeState(clock=lambda: clock.t)
    zun, pods, events = SlowDeleteZun(), fakes.FakePods(), fakes.FakeEvents()
    handler = pod_handler.PodHandler(fakes.conf(), state, pods, zun, events,
                                     cluster=fakes.FakeCluster())
    state.replace_capsules([])
    return types.SimpleNamespace(clock=clock, state=state, zun=zun,
                                 pods=pods, events=events, handler=handler)


def fail_newest(env, reason=NO_HOST, detail=None):
    """Zun puts the newest capsule in Error, its container never run."""
    capsule = env.zun.capsules[env.zun.created[-1]]
    capsule.update(status='Error', status_reason=reason, containers=[
        {'uuid': 'c-' + capsule['uuid'], 'name': 'main', 'status': 'Error',
         'status_reason': reason, 'status_detail': detail}])
    env.clock.t += 1
    env.state.replace_capsules(env.zun.list_capsules())


def run_newest(env):
    capsule = env.zun.capsules[env.zun.created[-1]]
    capsule.update(status='Running', containers=[
        {'uuid': 'c-' + capsule['uuid'], 'name': 'main',
         'status': 'Running', 'status_detail': 'Up 1 second'}])
    env.clock.t += 1
    env.state.replace_capsules(env.zun.list_capsules())


def reasons(env):
    return [r for _t, r, _m in env.events.recorded]


def test_failed_capsule_is_created_again_under_its_name(env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    first = env.zun.created[0]
    name = env.zun.capsules[first]['name']
    fail_newest(env)
    # Zun deletes asynchronously: its 404 is awaited.
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [first]
    assert env.zun.created == [first]
    event = env.events.recorded[-1]
    assert event[:2] == ('Warning', pod_handler.REASON_FAILED_CREATE)
    assert NO_HOST in event[2] and 'in 10 s' in event[2]
    assert ('Warning', 'Failed', 'Error: CreateContainerError') in \
        env.events.recorded
    status = env.pods.statuses[-1]
    assert status['phase'] == 'Pending'
    waiting = status['containerStatuses'][0]['state']['waiting']
    assert waiting['reason'] == 'CreateContainerError'
    assert 'created again at' in waiting['message']
    # Gone; not created again before the back-off has passed.
    env.clock.t += 4
    assert env.handler.sync(key) == pytest.approx(6)
    assert env.zun.created == [first]
    env.clock.t += 6
    env.handler.sync(key)
    assert len(env.zun.created) == 2
    assert env.zun.capsules[env.zun.created[1]]['name'] == name
    # Room freed up: the pod starts.
    run_newest(env)
    env.handler.sync(key)
    assert env.pods.statuses[-1]['phase'] == 'Running'
    assert len(env.zun.created) == 2


def test_back_off_doubles_to_five_minutes_and_resets_once_started(env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    delays = []
    for _attempt in range(7):
        fail_newest(env)
        env.handler.sync(key)
        delays.append(env.handler.sync(key))
        env.clock.t += delays[-1]
        env.handler.sync(key)
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert reasons(env).count(pod_handler.REASON_FAILED_CREATE) == 7
    assert len(env.zun.created) == 8
    run_newest(env)
    env.handler.sync(key)
    # A pod that ran is not re-created any more: its count is dropped.
    assert env.handler.retry.failures == {}


def test_restart_policy_never_is_retried_and_stays_pending(env):
    pod = fakes.make_pod()
    pod['spec']['restartPolicy'] = 'Never'
    key = env.state.observe('ADDED', pod)
    env.handler.sync(key)
    fail_newest(env, reason='Failed to pull image busybox:nope')
    env.handler.sync(key)
    status = env.pods.statuses[-1]
    assert status['phase'] == 'Pending'
    assert status['containerStatuses'][0]['state']['waiting'][
        'reason'] == 'ErrImagePull'
    env.clock.t += create_retry.RETRY_CREATE_FIRST
    env.handler.sync(key)
    env.handler.sync(key)
    assert len(env.zun.created) == 2
    assert 'Failed' not in [s['phase'] for s in env.pods.statuses]


def test_no_second_capsule_before_zun_answers_404(env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    first = env.zun.created[0]
    env.zun.slow = True
    fail_newest(env)
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    env.clock.t += 60
    env.handler.sync(key)
    assert env.zun.created == [first]
    env.zun.finish_deletes()
    env.clock.t += 60
    env.handler.sync(key)
    assert len(env.zun.created) == 2
    # The new capsule is not taken for one being deleted: deleting the
    # pod deletes it.
    env.state.observe('MODIFIED', fakes.make_pod(
        deletionTimestamp='2026-01-01T00:00:00Z', resourceVersion='50'))
    env.handler.sync(key)
    assert env.zun.deleted[-1] == env.zun.created[1]


def test_a_deleted_pod_is_neither_deleted_again_nor_recreated(env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    env.zun.slow = True
    fail_newest(env)
    env.handler.sync(key)
    env.state.observe('MODIFIED', fakes.make_pod(
        deletionTimestamp='2026-01-01T00:00:00Z', resourceVersion='50'))
    env.clock.t += 1
    env.handler.sync(key)
    env.zun.finish_deletes()
    env.clock.t += 60
    assert env.handler.sync(key) is None
    assert len(env.zun.created) == 1
    assert env.pods.deleted == ['0123456789abcdef']


def test_a_pod_whose_container_ran_keeps_its_restart_policy(env):
    key = env.state.observe('ADDED', fakes.make_pod())
    env.handler.sync(key)
    fail_newest(env, reason='Container exited', detail='Exited(1) 1 s ago')
    env.handler.sync(key)
    env.clock.t += 600
    env.handler.sync(key)
    assert env.zun.deleted == []
    assert len(env.zun.created) == 1
    assert pod_handler.REASON_FAILED_CREATE not in reasons(env)


@pytest.mark.parametrize('containers, ran', [
    ([{'status': 'Error', 'status_detail': None}], False),
    ([{'status': 'Creating'}], False),
    ([{'status': 'Error', 'status_detail': 'Exited(2) 1 s ago'}], True),
    ([{'status': 'Stopped'}], True),
])
def test_failed_to_create_only_when_no_container_ran(containers, ran):
    capsule = {'status': 'Error', 'containers': containers,
               'init_containers': []}
    assert create_retry.failed_to_create(
        fakes.make_pod(), capsule, started=False) is not ran
    assert not create_retry.failed_to_create(
        fakes.make_pod(), capsule, started=True)
    assert not create_retry.failed_to_create(
        fakes.make_pod(phase='Failed'), capsule, started=False)
