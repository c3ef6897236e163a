"""A pod re-created under the same name never runs beside its predecessor."""

import types

import pytest

from zun_vk.services import capsule_removal
from zun_vk.services import pod_handler
from zun_vk.services import pod_state
from zun_vk.tests.unit import pod_fakes as fakes
from zun_vk.translate import pod_to_capsule as to_capsule

OLD_UID = 'aaaaaaaa-0000-4000-8000-000000000001'
NEW_UID = 'bbbbbbbb-0000-4000-8000-000000000002'


class SlowDeletingZun(fakes.FakeZun):
    """Zun deletes capsules asynchronously: they linger as Deleting."""

    def delete_capsule(self, uuid):
        self.deleted.append(uuid)
        if uuid not in self.capsules:
            return True
        self.capsules[uuid]['status'] = 'Deleting'
        return False

    def finish_deleting(self):
        for uuid in [u for u, c in self.capsules.items()
                     if c['status'] == 'Deleting']:
            del self.capsules[uuid]


def new_env(zun=None, listed=True):
    state = pod_state.NodeState()
    zun = zun or SlowDeletingZun()
    pods, events = fakes.FakePods(), fakes.FakeEvents()
    handler = pod_handler.PodHandler(fakes.conf(), state, pods, zun, events)
    if listed:
        state.replace_capsules(zun.list_capsules())
    return types.SimpleNamespace(state=state, zun=zun, pods=pods,
                                 events=events, handler=handler)


@pytest.fixture
def env():
    return new_env()


def web_0(uid, rv):
    return fakes.make_pod('web-0', uid=uid, resourceVersion=str(rv))


def pod_uids_of_created(zun):
    return [t['metadata']['labels'][to_capsule.LABEL_POD_UID]
            for t in zun.templates]


def test_a_force_deleted_pod_is_replaced_only_once_its_capsule_is_gone(env):
    key = env.state.observe('ADDED', web_0(OLD_UID, 1))
    env.handler.sync(key)
    old = env.zun.created[0]
    # kubectl delete --force: the pod is gone at once and the StatefulSet
    # creates web-0 again; the watch may show only the new one.
    env.state.observe('ADDED', web_0(NEW_UID, 5))
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [old]
    assert pod_uids_of_created(env.zun) == [OLD_UID]
    assert ('Normal', 'WaitingForPreviousCapsule') in [
        e[:2] for e in env.events.recorded]
    # Zun has not finished: still no new capsule, no second delete.
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [old]
    assert pod_uids_of_created(env.zun) == [OLD_UID]
    env.zun.finish_deleting()
    env.handler.sync(key)
    assert pod_uids_of_created(env.zun) == [OLD_UID, NEW_UID]
    assert list(env.zun.capsules) == [env.zun.created[1]]
    assert env.state.capsule(NEW_UID)['uuid'] == env.zun.created[1]


def test_a_predecessor_known_only_from_the_list_is_deleted_first():
    # zun-vk restarted: only Zun remembers the earlier pod's capsule.
    before = new_env()
    before.handler.sync(before.state.observe('ADDED', web_0(OLD_UID, 1)))
    old = before.zun.created[0]
    env = new_env(zun=before.zun)
    key = env.state.observe('ADDED', web_0(NEW_UID, 5))
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [old]
    env.zun.finish_deleting()
    env.handler.sync(key)
    assert pod_uids_of_created(env.zun) == [OLD_UID, NEW_UID]


def test_no_capsule_is_created_before_the_first_capsule_list():
    before = new_env()
    before.handler.sync(before.state.observe('ADDED', web_0(OLD_UID, 1)))
    env = new_env(zun=before.zun, listed=False)
    key = env.state.observe('ADDED', web_0(NEW_UID, 5))
    assert env.handler.sync(key) is None
    assert env.zun.deleted == []
    assert pod_uids_of_created(env.zun) == [OLD_UID]
    # The first list queues every pod again.
    assert env.state.replace_capsules(env.zun.list_capsules()) == {key}
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [before.zun.created[0]]


def test_a_removed_pod_s_capsule_is_awaited_not_deleted_twice(env):
    key = env.state.observe('ADDED', web_0(OLD_UID, 1))
    env.handler.sync(key)
    old = env.zun.created[0]
    env.state.observe('DELETED', web_0(OLD_UID, 4))
    assert env.handler.sync(key) is None
    assert env.zun.deleted == [old]
    env.state.observe('ADDED', web_0(NEW_UID, 5))
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [old]
    assert pod_uids_of_created(env.zun) == [OLD_UID]
    env.zun.finish_deleting()
    env.handler.sync(key)
    assert pod_uids_of_created(env.zun) == [OLD_UID, NEW_UID]


def test_other_names_nodes_and_clusters_are_left_alone(env):
    labels = to_capsule.zun_vk_labels(fakes.CLUSTER, fakes.NODE, 'ns',
                                      'web-0', OLD_UID)
    others = {
        'other-name': dict(labels, **{to_capsule.LABEL_POD_NAME: 'web-1'}),
        'other-ns': dict(labels, **{to_capsule.LABEL_NAMESPACE: 'ns2'}),
        'other-node': dict(labels, **{to_capsule.LABEL_NODE: 'vk-2'}),
        'other-cluster': dict(labels, **{to_capsule.LABEL_CLUSTER: 'c2'}),
    }
    for uuid, capsule_labels in others.items():
        env.zun.capsules[uuid] = {
            'uuid': uuid, 'name': uuid, 'labels': capsule_labels,
            'status': 'Running', 'created_at': '2026-01-01T00:00:00Z'}
    env.state.replace_capsules(env.zun.list_capsules())
    env.handler.sync(env.state.observe('ADDED', web_0(NEW_UID, 5)))
    assert env.zun.deleted == []
    assert pod_uids_of_created(env.zun) == [NEW_UID]


def test_a_pod_deleted_then_forced_out_is_replaced_after_one_delete(env):
    key = env.state.observe('ADDED', web_0(OLD_UID, 1))
    env.handler.sync(key)
    old = env.zun.created[0]
    # Deleted: zun-vk asks Zun to delete the capsule and waits ...
    env.state.observe('MODIFIED', fakes.make_pod(
        'web-0', uid=OLD_UID, resourceVersion='3',
        deletionTimestamp='2026-01-01T00:00:00Z'))
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    # ... when a force delete removes the pod and web-0 comes back.
    env.state.observe('DELETED', web_0(OLD_UID, 4))
    assert env.handler.sync(key) is None
    env.state.observe('ADDED', web_0(NEW_UID, 5))
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [old]
    assert pod_uids_of_created(env.zun) == [OLD_UID]
    env.zun.finish_deleting()
    env.handler.sync(key)
    assert env.zun.deleted == [old]
    assert pod_uids_of_created(env.zun) == [OLD_UID, NEW_UID]
    assert env.handler.removal.delete_requested == {}
