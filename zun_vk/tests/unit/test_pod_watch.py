"""The pod watch: resumes from its resourceVersion, relists on 410."""

import threading
import types

from zun_vk.kube import pods as pod_client
from zun_vk.services import pod_state
from zun_vk.services import pods as pod_service
from zun_vk import workqueue


def make_pod(name, rv, uid=None):
    return {'metadata': {'name': name, 'namespace': 'ns',
                         'uid': uid or 'uid-' + name,
                         'resourceVersion': str(rv)},
            'spec': {}, 'status': {}}


class ScriptedPodClient(object):
    """Answers list() and watch() from a script, then stops the test."""

    def __init__(self, service, lists, watches):
        self.service = service
        self.lists = list(lists)
        self.watches = list(watches)
        self.list_calls = 0
        self.watch_from = []

    def list(self):
        self.list_calls += 1
        return self.lists.pop(0)

    def watch(self, resource_version):
        self.watch_from.append(resource_version)
        if not self.watches:
            self.service._stop.set()
            return
        step = self.watches.pop(0)
        if isinstance(step, Exception):
            raise step
        for event in step:
            yield event

    def stop_watch(self):
        pass


def run_watch(lists, watches):
    conf = types.SimpleNamespace(
        sync=types.SimpleNamespace(relist_interval=3600),
        node_name='vk-1', kubernetes=None)
    service = pod_service.PodService(conf)
    service.queue = workqueue.KeyedQueue()
    service.state = pod_state.NodeState('c1', 'vk-1')
    service.synced = threading.Event()
    service.kube = types.SimpleNamespace(host='https://k8s')
    service.sleep = lambda seconds: not service._stop.is_set()
    client = ScriptedPodClient(service, lists, watches)
    service.pods = client
    thread = threading.Thread(target=service._watch_loop)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return service, client


def test_watch_resumes_from_the_last_resource_version():
    a1, b2 = make_pod('a', 11), make_pod('b', 12)
    service, client = run_watch(
        lists=[([make_pod('a', 10)], '10')],
        watches=[[('MODIFIED', a1, '11'), ('ADDED', b2, '12')],
                 [('BOOKMARK', None, '15')],
                 []])
    assert client.list_calls == 1
    assert client.watch_from == ['10', '12', '15', '15']
    assert service.state.pod('ns/b')['metadata']['resourceVersion'] == '12'
    assert service.synced.is_set()


def test_gone_relists_and_forgets_deleted_pods():
    service, client = run_watch(
        lists=[([make_pod('a', 10), make_pod('b', 10)], '10'),
               ([make_pod('a', 30)], '30')],
        watches=[pod_client.Gone('too old'), []])
    assert client.list_calls == 2
    assert client.watch_from == ['10', '30', '30']
    assert service.state.pod('ns/b') is None
    # The vanished pod's key is queued so its capsule gets cleaned up.
    keys = set()
    while True:
        key = service.queue.get(timeout=0)
        if key is None:
            break
        keys.add(key)
        service.queue.done(key)
    assert keys == {'ns/a', 'ns/b'}


def test_a_failing_watch_is_retried_not_fatal():
    service, client = run_watch(
        lists=[([], '5'), ([], '6')],
        watches=[ConnectionError('reset'), []])
    assert client.list_calls == 2
    assert client.watch_from == ['5', '6', '6']
