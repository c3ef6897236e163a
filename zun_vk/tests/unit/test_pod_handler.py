"""The pod handler's decisions, against in-memory Kubernetes and Zun."""

import datetime
import types

import pytest

from zun_vk.services import capsule_removal
from zun_vk.services import pod_handler
from zun_vk.services import pod_state
from zun_vk.tests.unit import pod_fakes as fakes
from zun_vk.translate import pod_to_capsule as to_capsule
from zun_vk.zun import client as zun_client

NODE = fakes.NODE
CLUSTER = fakes.CLUSTER
make_pod = fakes.make_pod


@pytest.fixture
def env():
    state = pod_state.NodeState()
    zun, pods, events = fakes.FakeZun(), fakes.FakePods(), fakes.FakeEvents()
    cluster = fakes.FakeCluster()
    handler = pod_handler.PodHandler(fakes.conf(), state, pods, zun, events,
                                     cluster=cluster)
    # The status poll has listed the (no) capsules of the project.
    state.replace_capsules([])
    return types.SimpleNamespace(state=state, zun=zun, pods=pods,
                                 events=events, handler=handler,
                                 cluster=cluster)


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
    assert [r for _t, r, _m in env.events.recorded] == ['CapsuleCreated']


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
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.zun.deleted == [uuid]
    assert env.pods.deleted == []
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
    orphans, _duplicated, _keys = env.state.reconcile_plan(
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
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    # The namespace controller removes the pod before Zun answers 404.
    env.state.observe('DELETED', make_pod(resourceVersion='6'))
    assert env.handler.sync(key) is None
    assert env.zun.deleted == [uuid]


# --- what the kubelet does -------------------------------------------------

def service(name, namespace, cluster_ip, port):
    return {'metadata': {'name': name, 'namespace': namespace},
            'spec': {'clusterIP': cluster_ip, 'ports': [{'port': port}]}}


def created_env(env):
    return env.zun.templates[-1]['spec']['containers'][0].get('env') or {}


@pytest.mark.parametrize('links, db_expected', [
    (None, True), (True, True), (False, False)])
def test_service_variables_reach_the_capsule(env, links, db_expected):
    env.cluster.master = [service('kubernetes', 'default', '10.0.0.1', 443)]
    env.cluster.services['ns'] = [service('db', 'ns', '10.0.0.7', 5432)]
    pod = make_pod()
    if links is not None:
        pod['spec']['enableServiceLinks'] = links
    pod['spec']['containers'][0]['env'] = [
        {'name': 'DB_PORT', 'value': 'mine'}]
    env.handler.sync(env.state.observe('ADDED', pod))
    variables = created_env(env)
    assert variables['KUBERNETES_SERVICE_HOST'] == '10.0.0.1'
    assert variables['KUBERNETES_PORT_443_TCP_PORT'] == '443'
    assert ('DB_SERVICE_HOST' in variables) is db_expected
    # The pod's own variable wins over the Service's.
    assert variables['DB_PORT'] == 'mine'


def test_services_forbidden_still_runs_the_pod_and_says_why(env):
    env.cluster.forbidden = True
    env.handler.sync(env.state.observe('ADDED', make_pod()))
    assert len(env.zun.created) == 1
    assert 'KUBERNETES_SERVICE_HOST' not in created_env(env)
    assert ('Warning', 'ServiceEnvUnavailable') in [
        e[:2] for e in env.events.recorded]


@pytest.mark.parametrize('resources, value, reads', [
    ({}, '409600', 1),
    ({'limits': {'memory': '64Mi'}, 'requests': {'memory': '64Mi'}},
     '64', 0),
])
def test_resource_field_ref_with_and_without_limit(
        env, resources, value, reads):
    pod = make_pod()
    pod['spec']['containers'][0].update(resources=resources, env=[{
        'name': 'MEM', 'valueFrom': {'resourceFieldRef': {
            'resource': 'limits.memory', 'divisor': '1Mi'}}}])
    env.handler.sync(env.state.observe('ADDED', pod))
    assert created_env(env)['MEM'] == value
    assert env.cluster.allocatable_reads == reads


def run_capsule(env, key, status='Running', detail=None):
    uuid = env.zun.created[-1]
    env.zun.capsules[uuid].update(status='Running', containers=[{
        'uuid': 'c-1', 'name': 'capsule-x-alpha-1', 'image': 'busybox',
        'status': status, 'status_detail': detail,
        'created_at': '2026-01-01T00:00:05Z',
        'updated_at': '2026-01-01T00:00:06Z'}])
    env.state.replace_capsules(env.zun.list_capsules())
    return env.handler.sync(key)


def test_created_and_started_events_like_the_kubelet(env):
    key = env.state.observe('ADDED', make_pod())
    env.handler.sync(key)
    run_capsule(env, key)
    recorded = list(zip(env.events.recorded, env.events.paths))
    assert recorded[-2:] == [
        (('Normal', 'Created', 'Created container main'),
         'spec.containers{main}'),
        (('Normal', 'Started', 'Started container main'),
         'spec.containers{main}')]
    # Nothing new: no new Events.
    count = len(env.events.recorded)
    env.handler.sync(key)
    assert len(env.events.recorded) == count


def test_deleting_a_running_pod_reports_stopping_its_containers(env):
    key = env.state.observe('ADDED', make_pod())
    env.handler.sync(key)
    run_capsule(env, key)
    running = env.state.pod(key)
    deleting = dict(running, metadata=dict(
        running['metadata'], deletionTimestamp='2026-01-01T00:00:00Z',
        resourceVersion='50'))
    env.state.observe('MODIFIED', deleting)
    assert env.handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert env.events.recorded[-1] == ('Normal', 'Killing',
                                       'Stopping container main')
    assert env.events.paths[-1] == 'spec.containers{main}'


def ago(seconds):
    moment = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(seconds=seconds)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def with_deadline(pod, seconds, started_ago):
    pod['spec']['activeDeadlineSeconds'] = seconds
    pod['status']['startTime'] = ago(started_ago)
    return pod


def test_a_pod_past_its_deadline_is_stopped_and_failed(env):
    key = env.state.observe('ADDED', make_pod())
    env.handler.sync(key)
    run_capsule(env, key)
    uuid = env.zun.created[0]
    late = dict(env.state.pod(key))
    late['metadata'] = dict(late['metadata'], resourceVersion='60')
    late['spec'] = dict(late['spec'])
    late['status'] = dict(late['status'])
    env.state.observe('MODIFIED', with_deadline(late, 10, 3600))
    assert env.handler.sync(key) is None
    status = env.pods.statuses[-1]
    assert (status['phase'], status['reason'], status['message']) == (
        'Failed', 'DeadlineExceeded',
        'Pod was active on the node longer than the specified deadline')
    terminated = status['containerStatuses'][0]['state']['terminated']
    assert terminated['exitCode'] == 137
    assert env.zun.deleted == [uuid]
    assert ('Normal', 'DeadlineExceeded',
            'Pod was active on the node longer than the specified '
            'deadline') in env.events.recorded
    assert ('Normal', 'Killing', 'Stopping container main') in (
        env.events.recorded)
    # Looked at again (the capsule is gone): no second delete, no
    # "capsule lost", no new capsule.
    env.state.replace_capsules([])
    assert env.handler.sync(key) is None
    assert env.zun.deleted == [uuid]
    assert len(env.zun.created) == 1
    assert env.pods.statuses[-1]['reason'] == 'DeadlineExceeded'


def test_a_pending_pod_past_its_deadline_is_failed_without_a_capsule(env):
    pod = with_deadline(make_pod(), 5, 60)
    key = env.state.observe('ADDED', pod)
    env.handler.sync(key)
    assert env.zun.created == []
    assert env.pods.statuses[-1]['reason'] == 'DeadlineExceeded'
    # Looked at again: nothing more to ask Zun.
    gets = env.zun.gets
    assert env.handler.sync(key) is None
    assert env.zun.gets == gets
    assert env.zun.created == []


def test_the_deadline_is_queued_once_and_an_update_honoured(env):
    pod = with_deadline(make_pod(), 600, 0)
    key = env.state.observe('ADDED', pod)
    first = env.handler.sync(key)
    assert 590 < first <= 600 + pod_handler.DEADLINE_MARGIN
    # Synced again for another reason: the wake-up is already queued.
    assert env.handler.sync(key) is None
    lowered = dict(env.state.pod(key))
    lowered['metadata'] = dict(lowered['metadata'], resourceVersion='70')
    lowered['spec'] = dict(lowered['spec'], activeDeadlineSeconds=30)
    env.state.observe('MODIFIED', lowered)
    second = env.handler.sync(key)
    assert 20 < second <= 30 + pod_handler.DEADLINE_MARGIN
    # The deadline passes: the next look stops the pod.
    passed = dict(env.state.pod(key))
    passed['metadata'] = dict(passed['metadata'], resourceVersion='80')
    passed['status'] = dict(passed['status'], startTime=ago(31))
    env.state.observe('MODIFIED', passed)
    assert env.handler.sync(key) is None
    assert env.pods.statuses[-1]['reason'] == 'DeadlineExceeded'
    assert env.zun.deleted == env.zun.created


class _FailingFirstDelete(fakes.FakeZun):
    """Zun leaves the capsule in Error after the first delete."""

    def delete_capsule(self, uuid):
        self.deleted.append(uuid)
        if len(self.deleted) == 1:
            self.capsules[uuid].update(status='Error',
                                       status_reason='Resource ID was not '
                                                     'provided')
            return False
        return self.capsules.pop(uuid, None) is None


def test_failed_delete_is_asked_again_with_back_off():
    clock = types.SimpleNamespace(t=1000.0)
    state = pod_state.NodeState(clock=lambda: clock.t)
    zun, pods, events = _FailingFirstDelete(), fakes.FakePods(), \
        fakes.FakeEvents()
    handler = pod_handler.PodHandler(fakes.conf(), state, pods, zun, events,
                                     cluster=fakes.FakeCluster())
    state.replace_capsules([])
    pod = make_pod()
    key = state.observe('ADDED', pod)
    handler.sync(key)
    uuid = zun.created[0]
    state.observe('MODIFIED', make_pod(
        deletionTimestamp='2026-01-01T00:00:00Z', resourceVersion='5'))
    assert handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    # The capsule is in Error now: no new delete before the back-off.
    clock.t += 1
    delay = handler.sync(key)
    assert zun.deleted == [uuid]
    assert delay == pytest.approx(capsule_removal.RETRY_DELETE_FIRST - 1)
    clock.t += delay
    assert handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    assert zun.deleted == [uuid, uuid]
    assert [r for _t, r, _m in events.recorded][-1] == \
        'ProviderDeleteFailed'
    assert 'Resource ID was not provided' in events.recorded[-1][2]
    # Gone now: the pod is deleted.
    assert handler.sync(key) is None
    assert pods.deleted == [pod['metadata']['uid']]


def test_a_slow_delete_is_looked_at_less_often():
    clock = types.SimpleNamespace(t=1000.0)
    state = pod_state.NodeState(clock=lambda: clock.t)

    class SlowZun(fakes.FakeZun):
        def delete_capsule(self, uuid):
            self.deleted.append(uuid)
            self.capsules[uuid]['status'] = 'Deleting'
            return False
    zun = SlowZun()
    handler = pod_handler.PodHandler(fakes.conf(), state, fakes.FakePods(),
                                     zun, fakes.FakeEvents(),
                                     cluster=fakes.FakeCluster())
    state.replace_capsules([])
    key = state.observe('ADDED', make_pod())
    handler.sync(key)
    state.observe('MODIFIED', make_pod(
        deletionTimestamp='2026-01-01T00:00:00Z', resourceVersion='5'))
    handler.sync(key)
    clock.t += 2
    assert handler.sync(key) == capsule_removal.DELETE_CHECK_INTERVAL
    clock.t += capsule_removal.DELETE_SLOW_AFTER
    assert handler.sync(key) == capsule_removal.DELETE_SLOW_INTERVAL
    assert len(zun.deleted) == 1
