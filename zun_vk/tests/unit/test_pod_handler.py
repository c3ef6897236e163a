"""The pod handler's decisions, against in-memory Kubernetes and Zun."""

import datetime
import types

import pytest

from zun_vk.services import pod_handler
from zun_vk.translate import pod_to_capsule as to_capsule
from zun_vk.zun import client as zun_client

NODE = 'vk-1'
CLUSTER = 'c1'


def conf():
    return types.SimpleNamespace(
        cluster_id=CLUSTER, node_name=NODE,
        node=types.SimpleNamespace(internal_ip='10.0.0.1'),
        zun=types.SimpleNamespace(default_cpu=0.5, default_memory_mb=256,
                                  availability_zone=None))


def make_pod(name='p', uid='0123456789abcdef', phase='Pending', **meta):
    pod = {
        'metadata': dict({'name': name, 'namespace': 'ns', 'uid': uid,
                          'resourceVersion': '1'}, **meta),
        'spec': {'nodeName': NODE, 'restartPolicy': 'Always',
                 'containers': [{'name': 'main', 'image': 'busybox'}]},
        'status': {'phase': phase},
    }
    return pod


class FakeZun(object):
    def __init__(self):
        self.capsules = {}
        self.created = []
        self.deleted = []
        self.fail_create = None
        self.counter = 0

    def _labels_ok(self, c):
        return c

    def create_capsule(self, template):
        if self.fail_create:
            raise self.fail_create
        self.counter += 1
        uuid = 'cap-%d' % self.counter
        capsule = {'uuid': uuid, 'name': template['metadata']['name'],
                   'labels': template['metadata']['labels'],
                   'status': 'Creating', 'status_reason': None,
                   'created_at': '2026-01-01T00:00:0%dZ' % self.counter,
                   'containers': [], 'init_containers': [],
                   'addresses': {}}
        self.capsules[uuid] = capsule
        self.created.append(uuid)
        return dict(capsule)

    def get_capsule(self, ident):
        matches = [c for c in self.capsules.values()
                   if ident in (c['uuid'], c['name'])]
        if len(matches) > 1:
            raise zun_client.ZunError('Multiple', status=409,
                                      transient=False)
        return dict(matches[0]) if matches else None

    def delete_capsule(self, uuid):
        self.deleted.append(uuid)
        return self.capsules.pop(uuid, None) is None

    def list_capsules(self):
        return [dict(c) for c in self.capsules.values()]


class FakePods(object):
    def __init__(self):
        self.statuses = []
        self.deleted = []
        self.config_maps = {}
        self.secrets = {}

    def patch_status(self, pod, status):
        self.statuses.append(status)
        updated = dict(pod, status=status)
        meta = dict(pod['metadata'])
        meta['resourceVersion'] = str(int(meta['resourceVersion']) + 1)
        updated['metadata'] = meta
        return updated

    def delete_now(self, pod):
        self.deleted.append(pod['metadata']['uid'])

    def read_config_map(self, namespace, name):
        return self.config_maps.get(name)

    def read_secret(self, namespace, name):
        return self.secrets.get(name)


class FakeEvents(object):
    def __init__(self):
        self.recorded = []

    def record(self, pod, event_type, reason, message):
        self.recorded.append((event_type, reason, message))


@pytest.fixture
def env():
    state = pod_handler.NodeState()
    zun, pods, events = FakeZun(), FakePods(), FakeEvents()
    handler = pod_handler.PodHandler(conf(), state, pods, zun, events)
    return types.SimpleNamespace(state=state, zun=zun, pods=pods,
                                 events=events, handler=handler)


def test_a_new_pod_gets_one_capsule_even_when_synced_twice(env):
    pod = make_pod()
    key = env.state.observe('ADDED', pod)
    env.handler.sync(key)
    # The poll has not seen the capsule yet: the handler finds it by name.
    env.state.replace_capsules([])
    env.handler.sync(key)
    assert len(env.zun.created) == 1
    capsule = env.zun.capsules[env.zun.created[0]]
    assert capsule['labels'][to_capsule.LABEL_POD_UID] == pod['metadata'][
        'uid']
    assert capsule['labels'][to_capsule.LABEL_NODE] == NODE
    assert [r for _t, r, _m in env.events.recorded] == ['Created']


def test_duplicate_capsules_are_reduced_to_the_oldest(env):
    pod = make_pod()
    key = env.state.observe('ADDED', pod)
    env.handler.sync(key)
    first = env.zun.created[0]
    # A crash between POST and reply left a second capsule of that name.
    env.zun.create_capsule(dict(env.zun.capsules[first],
                                metadata={'name': env.zun.capsules[first][
                                    'name'], 'labels': env.zun.capsules[
                                        first]['labels']}))
    env.state.replace_capsules([])
    env.handler.sync(key)
    assert list(env.zun.capsules) == [first]
    assert len(env.zun.created) == 2


def test_unsupported_pod_fails_with_reason_and_event(env):
    pod = make_pod()
    pod['spec']['hostNetwork'] = True
    key = env.state.observe('ADDED', pod)
    assert env.handler.sync(key) is None
    assert env.zun.created == []
    status = env.pods.statuses[-1]
    assert status['phase'] == 'Failed'
    assert status['reason'] == 'UnsupportedPodSpec'
    assert 'hostNetwork' in status['message']
    assert env.events.recorded[-1][:2] == ('Warning', 'UnsupportedPodSpec')


def test_missing_config_map_keeps_pod_pending_and_retries(env):
    pod = make_pod()
    pod['spec']['containers'][0]['env'] = [{
        'name': 'X', 'valueFrom': {'configMapKeyRef': {'name': 'cm',
                                                       'key': 'x'}}}]
    key = env.state.observe('ADDED', pod)
    assert env.handler.sync(key) == pod_handler.MISSING_REFERENCE_RETRY
    assert env.zun.created == []
    assert env.pods.statuses[-1]['phase'] == 'Pending'
    env.pods.config_maps['cm'] = {'x': 'value'}
    assert env.handler.sync(key) is None
    assert len(env.zun.created) == 1


def test_zun_error_on_create_is_reported_and_raised_for_retry(env):
    env.zun.fail_create = zun_client.ZunError('Creating failed: HTTP 503',
                                              status=503)
    key = env.state.observe('ADDED', make_pod())
    with pytest.raises(zun_client.ZunError):
        env.handler.sync(key)
    assert env.events.recorded[-1][1] == 'ProviderCreateFailed'
    assert env.pods.statuses[-1]['phase'] == 'Pending'


def test_delete_removes_capsule_then_pod_with_grace_zero(env):
    pod = make_pod()
    key = env.state.observe('ADDED', pod)
    env.handler.sync(key)
    uuid = env.zun.created[0]
    deleting = make_pod(deletionTimestamp='2026-01-01T00:00:00Z',
                        resourceVersion='5')
    env.state.observe('MODIFIED', deleting)
    env.state.replace_capsules(env.zun.list_capsules())
    # Zun deletes asynchronously: the pod is looked at again shortly.
    assert env.handler.sync(key) == pod_handler.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [uuid]
    assert env.pods.deleted == []
    assert env.events.recorded[-1][1] == 'Killing'
    # Zun answers 404 now: the pod goes, with grace 0.
    assert env.handler.sync(key) is None
    assert env.zun.deleted == [uuid]
    assert env.pods.deleted == [pod['metadata']['uid']]


def test_started_pod_whose_capsule_vanished_is_failed(env):
    pod = make_pod(phase='Running')
    pod['status']['containerStatuses'] = [
        {'name': 'main', 'state': {'running': {}}}]
    key = env.state.observe('ADDED', pod)
    assert env.handler.sync(key) is None
    assert env.zun.created == []
    assert env.pods.statuses[-1]['phase'] == 'Failed'
    assert env.events.recorded[-1][1] == 'CapsuleLost'


def test_orphans_only_of_this_node_and_cluster_after_grace(env):
    old = '2026-01-01T00:00:00Z'
    labels = {to_capsule.LABEL_CLUSTER: CLUSTER,
              to_capsule.LABEL_NODE: NODE}
    capsules = [
        {'uuid': 'orphan', 'created_at': old,
         'labels': dict(labels, **{to_capsule.LABEL_POD_UID: 'gone'})},
        {'uuid': 'young', 'created_at': '2026-01-01T00:09:59Z',
         'labels': dict(labels, **{to_capsule.LABEL_POD_UID: 'gone2'})},
        {'uuid': 'other-node', 'created_at': old,
         'labels': {to_capsule.LABEL_CLUSTER: CLUSTER,
                    to_capsule.LABEL_NODE: 'vk-2',
                    to_capsule.LABEL_POD_UID: 'x'}},
        {'uuid': 'other-cluster', 'created_at': old,
         'labels': {to_capsule.LABEL_CLUSTER: 'c2',
                    to_capsule.LABEL_NODE: NODE,
                    to_capsule.LABEL_POD_UID: 'y'}},
        {'uuid': 'unlabelled', 'created_at': old, 'labels': {}},
    ]
    env.state.replace_capsules(capsules)
    now = datetime.datetime(2026, 1, 1, 0, 10, tzinfo=datetime.timezone.utc)
    orphans, _keys = env.state.reconcile_plan(
        datetime.timedelta(seconds=120), now=now)
    assert [c['uuid'] for c in orphans] == ['orphan']
    env.zun.capsules['orphan'] = capsules[0]
    env.handler.sync(pod_handler.orphan_key(capsules[0]))
    assert env.zun.deleted == ['orphan']


def test_stale_watch_event_does_not_roll_a_pod_back(env):
    newer = make_pod(resourceVersion='10')
    older = make_pod(resourceVersion='9', phase='Unknown')
    key = env.state.observe('MODIFIED', newer)
    env.state.observe('MODIFIED', older)
    assert env.state.pod(key)['metadata']['resourceVersion'] == '10'


def test_started_pod_whose_capsule_errors_fails_not_pending(env):
    pod = make_pod(phase='Running')
    pod['status']['containerStatuses'] = [
        {'name': 'main', 'state': {'running': {}}}]
    key = env.state.observe('ADDED', pod)
    capsule = {
        'uuid': 'cap-x', 'name': 'x', 'status': 'Error',
        'status_reason': 'Sandbox container is gone',
        'labels': {to_capsule.LABEL_CLUSTER: CLUSTER,
                   to_capsule.LABEL_NODE: NODE,
                   to_capsule.LABEL_POD_UID: pod['metadata']['uid']},
        'created_at': '2026-01-01T00:00:00Z', 'addresses': {},
        'containers': [{'uuid': 'c1', 'name': 'capsule-x-a-1',
                        'status': 'Error', 'status_detail': None}],
        'init_containers': []}
    env.state.replace_capsules([capsule])
    env.handler.sync(key)
    assert env.pods.statuses[-1]['phase'] == 'Failed'


def test_pod_removed_during_capsule_delete_sends_one_delete(env):
    pod = make_pod()
    key = env.state.observe('ADDED', pod)
    env.handler.sync(key)
    uuid = env.zun.created[0]
    env.state.observe('MODIFIED', make_pod(
        deletionTimestamp='2026-01-01T00:00:00Z', resourceVersion='5'))
    env.state.replace_capsules(env.zun.list_capsules())
    assert env.handler.sync(key) == pod_handler.DELETE_CHECK_INTERVAL
    # The namespace controller removes the pod before Zun answers 404.
    env.state.observe('DELETED', make_pod(resourceVersion='6'))
    assert env.handler.sync(key) is None
    assert env.zun.deleted == [uuid]
