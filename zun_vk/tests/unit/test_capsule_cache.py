"""Capsule states never move backwards, whatever order answers arrive in."""

import itertools
import types

import pytest

from zun_vk.services import capsule_cache
from zun_vk.services import pod_handler
from zun_vk.services import pod_state
from zun_vk.services import pods as pod_service
from zun_vk.tests.unit import pod_fakes as fakes
from zun_vk.translate import pod_to_capsule as to_capsule
from zun_vk import workqueue

UID = '0123456789abcdef'
SECOND = '2026-01-01T00:00:05Z'


def capsule(container_status, updated_at=SECOND, detail=None,
            uuid='cap-1'):
    return {
        'uuid': uuid, 'name': 'k8s-ns-p-01234567', 'status': 'Running',
        'labels': {to_capsule.LABEL_CLUSTER: fakes.CLUSTER,
                   to_capsule.LABEL_NODE: fakes.NODE,
                   to_capsule.LABEL_NAMESPACE: 'ns',
                   to_capsule.LABEL_POD_NAME: 'p',
                   to_capsule.LABEL_POD_UID: UID},
        'created_at': '2026-01-01T00:00:00Z', 'updated_at': updated_at,
        'addresses': {}, 'init_containers': [],
        'containers': [{'uuid': 'c-1', 'name': 'capsule-x-alpha-1',
                        'status': container_status,
                        'status_detail': detail,
                        'created_at': '2026-01-01T00:00:01Z',
                        'updated_at': updated_at}]}


RUNNING = capsule('Running')
# Zun saves seconds: the stop may carry the same updated_at as the start.
STOPPED = capsule('Stopped', detail='Exited(0) 1 second ago')
STOPPED_LATER = capsule('Stopped', updated_at='2026-01-01T00:00:09Z',
                        detail='Exited(0) 1 second ago')


@pytest.fixture
def state():
    # Every look at the clock is later than the one before.
    return pod_state.NodeState(fakes.CLUSTER, fakes.NODE,
                               clock=itertools.count().__next__)


def test_a_list_sent_before_a_get_does_not_undo_it(state):
    listed_at = state.now()
    state.set_capsule(UID, STOPPED, state.now())
    state.replace_capsules([RUNNING], listed_at)
    assert state.capsule(UID) == STOPPED


def test_a_list_sent_after_a_get_replaces_it(state):
    state.set_capsule(UID, RUNNING, state.now())
    state.replace_capsules([STOPPED], state.now())
    assert state.capsule(UID) == STOPPED


def test_a_later_change_in_zun_wins_over_a_later_request(state):
    # The LIST started first but Zun had saved a later change by the
    # time it read the capsule: its answer is the newer one.
    listed_at = state.now()
    state.set_capsule(UID, RUNNING, state.now())
    state.replace_capsules([STOPPED_LATER], listed_at)
    assert state.capsule(UID) == STOPPED_LATER
    # And an older change never comes back, however late it was asked.
    state.set_capsule(UID, RUNNING, state.now())
    assert state.capsule(UID) == STOPPED_LATER


def test_a_list_sent_before_a_create_keeps_the_new_capsule(state):
    state.replace_capsules([])
    state.observe('ADDED', fakes.make_pod(uid=UID))
    listed_at = state.now()
    state.set_capsule(UID, RUNNING, state.now())
    assert state.replace_capsules([], listed_at) == set()
    assert state.capsule(UID) == RUNNING
    # A list sent after the create that lacks it: the capsule is gone.
    assert state.replace_capsules([], state.now()) == {'ns/p'}
    assert state.capsule(UID) is None


def test_a_list_sent_before_a_404_does_not_bring_the_capsule_back(state):
    state.set_capsule(UID, RUNNING, state.now())
    listed_at = state.now()
    state.set_capsule(UID, None, state.now())
    state.replace_capsules([RUNNING], listed_at)
    assert state.capsule(UID) is None


def test_removals_are_forgotten_after_a_while():
    clock = types.SimpleNamespace(now=0.0)
    cache = capsule_cache.CapsuleCache(clock=lambda: clock.now)
    cache.put(UID, None, 10.0)
    assert cache.put(UID, RUNNING, 5.0) is None
    clock.now = capsule_cache.REMOVAL_MEMORY_SECONDS + 11
    cache.replace({}, clock.now)
    assert cache.put(UID, RUNNING, 5.0) == RUNNING


def test_last_change_reads_the_capsule_and_its_containers():
    assert capsule_cache.last_change(STOPPED_LATER).second == 9
    assert capsule_cache.last_change({'created_at': None}) is None


class PagingZun(fakes.FakeZun):
    """A LIST that is overtaken by a GET while it pages."""

    def __init__(self, state):
        super().__init__()
        self.state = state
        self.while_listing = None

    def list_capsules(self):
        page = super().list_capsules()
        if self.while_listing is not None:
            self.while_listing()
        return page


def test_the_status_poll_never_turns_a_terminated_container_back():
    state = pod_state.NodeState(clock=itertools.count().__next__)
    zun = PagingZun(state)
    pods, events = fakes.FakePods(), fakes.FakeEvents()
    handler = pod_handler.PodHandler(fakes.conf(), state, pods, zun,
                                     events)
    service = pod_service.PodService(types.SimpleNamespace())
    service.state, service.zun = state, zun
    service.queue = workqueue.KeyedQueue()
    pod = fakes.make_pod(uid=UID, phase='Running')
    pod['spec']['restartPolicy'] = 'Never'
    key = state.observe('ADDED', pod)
    zun.capsules['cap-1'] = dict(RUNNING)
    service._poll_once()
    handler.sync(key)
    assert pods.statuses[-1]['containerStatuses'][0]['state'].keys() == {
        'running'}

    def container_stops_and_a_hint_reads_it():
        zun.capsules['cap-1'] = dict(STOPPED)
        state.hint({'pod_uid': UID})
        handler.sync(key)
    # The LIST read the capsule running; before it ends, a notification
    # makes the handler GET the stopped capsule and write it.
    zun.while_listing = container_stops_and_a_hint_reads_it
    service._poll_once()
    assert pods.statuses[-1]['phase'] == 'Succeeded'
    written = len(pods.statuses)
    zun.while_listing = None
    handler.sync(key)
    assert len(pods.statuses) == written
    assert state.capsule(UID)['containers'][0]['status'] == 'Stopped'
