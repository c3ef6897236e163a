"""What zun-vk sends to and reads from the Kubernetes API (no network)."""

import json
import threading
import types

from kubernetes import client as k8s_client
from kubernetes.client import exceptions as k8s_exc
import pytest

from zun_vk.kube import cluster_view
from zun_vk.kube import pods as pod_client


class FakeCore(object):
    def __init__(self):
        self.calls = []
        self.services = {'default': [{'metadata': {'name': 'kubernetes'},
                                      'spec': {'clusterIP': '10.0.0.1'}}],
                         'ns': []}
        self.node = {'status': {'allocatable': {'cpu': '100'}}}
        self.fail = None

    def _maybe_fail(self):
        if self.fail is not None:
            raise self.fail

    def read_namespaced_service(self, name, namespace, **kwargs):
        self.calls.append(('read_service', namespace, name, kwargs))
        self._maybe_fail()
        for service in self.services.get(namespace, []):
            if service['metadata']['name'] == name:
                return service
        raise k8s_exc.ApiException(status=404, reason='Not Found')

    def list_namespaced_service(self, namespace, **kwargs):
        self.calls.append(('list_services', namespace, kwargs))
        self._maybe_fail()
        return types.SimpleNamespace(items=self.services.get(namespace, []))

    def read_node(self, name, **kwargs):
        self.calls.append(('read_node', name, kwargs))
        self._maybe_fail()
        if self.node is None:
            raise k8s_exc.ApiException(status=404, reason='Not Found')
        return self.node

    def patch_namespaced_pod_status(self, name, namespace, body, **kwargs):
        self.calls.append(('patch_status', name, namespace, body, kwargs))
        return {'metadata': {'name': name}, 'status': body['status']}

    def create_namespaced_event(self, namespace, body, **kwargs):
        self.calls.append(('create_event', namespace, body))
        return body


class FakeKube(object):
    timeout = 5

    def __init__(self):
        self.core = FakeCore()

    def to_dict(self, obj):
        return obj


class Clock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def view():
    kube, clock = FakeKube(), Clock()
    return types.SimpleNamespace(
        kube=kube, clock=clock,
        view=cluster_view.ClusterView(kube, 'vk-1', clock=clock))


def calls(kube, kind):
    return [c for c in kube.core.calls if c[0] == kind]


def test_namespace_services_are_listed_once_per_cache_period(view):
    for _ in range(5):
        assert view.view.namespace_services('ns') == []
    assert len(calls(view.kube, 'list_services')) == 1
    # Served from the API server's watch cache, not etcd.
    assert calls(view.kube, 'list_services')[0][2]['resource_version'] == '0'
    view.clock.now += cluster_view.SERVICE_CACHE_SECONDS
    view.view.namespace_services('ns')
    assert len(calls(view.kube, 'list_services')) == 2


def test_master_service_read_by_name_and_missing_is_empty(view):
    assert [s['metadata']['name'] for s in view.view.master_services()] == [
        'kubernetes']
    view.kube.core.services['default'] = []
    view.clock.now += 60
    assert view.view.master_services() == []


def test_forbidden_services_say_what_to_grant(view):
    view.kube.core.fail = k8s_exc.ApiException(status=403,
                                               reason='Forbidden')
    with pytest.raises(cluster_view.ServicesForbidden) as exc:
        view.view.namespace_services('ns')
    assert 'get and list on services' in str(exc.value)
    # A failure is not cached.
    view.kube.core.fail = None
    assert view.view.namespace_services('ns') == []


def test_other_errors_pass_through(view):
    view.kube.core.fail = k8s_exc.ApiException(status=503,
                                               reason='Unavailable')
    with pytest.raises(k8s_exc.ApiException):
        view.view.namespace_services('ns')


def test_node_allocatable_cached(view):
    assert view.view.node_allocatable() == {'cpu': '100'}
    assert view.view.node_allocatable() == {'cpu': '100'}
    assert len(calls(view.kube, 'read_node')) == 1
    view.kube.core.node = None
    view.clock.now += cluster_view.NODE_CACHE_SECONDS
    assert view.view.node_allocatable() == {}


def test_concurrent_readers_share_one_list(view):
    entered = threading.Event()
    release = threading.Event()
    original = view.kube.core.list_namespaced_service

    def slow_list(namespace, **kwargs):
        entered.set()
        assert release.wait(30)
        return original(namespace, **kwargs)
    view.kube.core.list_namespaced_service = slow_list
    results = []
    threads = [threading.Thread(
        target=lambda: results.append(view.view.namespace_services('ns')))
        for _ in range(4)]
    for thread in threads:
        thread.start()
    assert entered.wait(30)
    release.set()
    for thread in threads:
        thread.join(30)
    assert results == [[]] * 4
    assert len(calls(view.kube, 'list_services')) == 1


POD = {'metadata': {'name': 'p', 'namespace': 'ns', 'uid': 'u-1',
                    'resourceVersion': '7'}}


def test_status_is_a_strategic_merge_patch_of_zun_vks_part():
    kube = FakeKube()
    client = pod_client.PodClient(kube, 'vk-1')
    client.patch_status(dict(POD, status={'podIPs': [{'ip': '10.0.0.4'}]}), {
        'phase': 'Running', 'qosClass': 'BestEffort',
        'conditions': [{'type': 'Ready', 'status': 'True'},
                       {'type': 'example.com/gate', 'status': 'True'}],
        'podIP': '10.0.0.5', 'podIPs': [{'ip': '10.0.0.5'}]})
    (_kind, name, namespace, body, kwargs), = calls(kube, 'patch_status')
    assert (name, namespace) == ('p', 'ns')
    assert kwargs['_content_type'] == (
        'application/strategic-merge-patch+json')
    assert body == {
        'metadata': {'uid': 'u-1'},
        'status': {'phase': 'Running',
                   'conditions': [{'type': 'Ready', 'status': 'True'}],
                   'podIP': '10.0.0.5',
                   'podIPs': [{'ip': '10.0.0.5'}, {'$patch': 'replace'}]}}


@pytest.mark.parametrize('field_path', [None, 'spec.containers{c}'])
def test_events_come_from_the_kubelet_of_the_node(field_path):
    kube = FakeKube()
    recorder = pod_client.EventRecorder(kube, 'vk-1')
    recorder.record(POD, 'Normal', 'Started', 'Started container c',
                    field_path=field_path)
    (_kind, namespace, body), = calls(kube, 'create_event')
    assert namespace == 'ns'
    assert body['source'] == {'component': 'kubelet', 'host': 'vk-1'}
    assert body['reportingComponent'] == 'kubelet'
    assert body['reportingInstance'] == 'vk-1'
    assert (body['type'], body['reason'], body['message']) == (
        'Normal', 'Started', 'Started container c')
    involved = body['involvedObject']
    assert (involved['kind'], involved['name'], involved['uid']) == (
        'Pod', 'p', 'u-1')
    assert involved.get('fieldPath') == field_path


class _WatchResponse(object):
    """The streamed body of a watch, as urllib3 hands it to the client."""

    status = 200

    def __init__(self, events):
        self.lines = [json.dumps(e).encode() + b'\n' for e in events]

    def stream(self, amt=None, decode_content=False):
        return iter(self.lines)

    def close(self):
        pass

    def release_conn(self):
        pass


def _watch(events):
    """What PodClient.watch yields from the client's own Watch."""
    requests = []

    def list_pod_for_all_namespaces(**kwargs):
        """:return: V1PodList"""
        requests.append(kwargs)
        return _WatchResponse(events)

    kube = types.SimpleNamespace(
        core=types.SimpleNamespace(
            list_pod_for_all_namespaces=list_pod_for_all_namespaces),
        to_dict=k8s_client.ApiClient().sanitize_for_serialization)
    got = []
    try:
        for item in pod_client.PodClient(kube, 'vk-1').watch('5'):
            got.append(item)
    finally:
        assert [r['resource_version'] for r in requests] == ['5']
    return got


def _error(code, message):
    return {'type': 'ERROR', 'object': {
        'kind': 'Status', 'apiVersion': 'v1', 'status': 'Failure',
        'code': code, 'reason': 'Expired', 'message': message}}


def test_watch_yields_pods_and_bookmarks():
    assert _watch([
        {'type': 'ADDED', 'object': POD},
        {'type': 'BOOKMARK', 'object': {
            'kind': 'Pod', 'metadata': {'resourceVersion': '9'}}}]) == [
        ('ADDED', POD, '7'), ('BOOKMARK', None, '9')]


def test_watch_of_a_compacted_resource_version_is_gone():
    # The client raises ERROR events as ApiException itself.
    with pytest.raises(pod_client.Gone, match='too old resource version'):
        _watch([{'type': 'ADDED', 'object': POD},
                _error(410, 'too old resource version: 5 (8)')])


def test_other_watch_errors_pass_through():
    with pytest.raises(k8s_exc.ApiException) as exc:
        _watch([_error(500, 'etcd is unhappy')])
    assert exc.value.status == 500
