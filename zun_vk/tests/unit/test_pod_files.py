"""zun-vk delivers the files of a pod's volumes to its capsule's host."""

import datetime
import types

from kubernetes.client import exceptions as k8s_exc

from zun_vk.hostlink import client as agent_client
from zun_vk.services import pod_files
from zun_vk.services import pod_state
from zun_vk.tests.unit import pod_fakes as fakes
from zun_vk.zun_plugin import volume_hints

CAPSULE = '11111111-2222-3333-4444-555555555555'
UTC = datetime.timezone.utc


class Agents(object):
    def __init__(self):
        self.sent = []
        self.where = None
        self.refuse = None

    def locate(self, capsule, zun_host=None):
        if self.where is None:
            raise agent_client.AgentError('not yet', 404)
        return self.where

    def put_files(self, host, capsule, volume, files):
        if self.refuse:
            raise agent_client.AgentError(self.refuse, 409)
        self.sent.append((host, capsule, volume, files))
        return True


class Kube(object):
    def __init__(self):
        self.config_maps = {'cfg': {'data': {'k': 'v1'}}}
        self.tokens = 0

    def config_map(self, namespace, name):
        return self.config_maps.get(name)

    def secret(self, namespace, name):
        return None

    def service_account_token(self, pod, audience, seconds):
        self.tokens += 1
        return 'tok-%d' % self.tokens, datetime.datetime(
            2030, 1, 1, tzinfo=UTC)


def setup():
    conf = types.SimpleNamespace(sync=types.SimpleNamespace(
        volume_refresh_interval=50))
    state = pod_state.NodeState()
    pod = fakes.make_pod(uid='uid-1')
    pod['spec']['volumes'] = [{'name': 'cfg', 'configMap': {'name': 'cfg'}}]
    key = state.observe('ADDED', pod)
    capsule = {'uuid': CAPSULE, 'status': 'Creating', 'labels': {
        volume_hints.VOLUMES_LABEL: volume_hints.format_plan(
            {'cfg': ('files', 0)}, {('c', 0): [('cfg', '/c', '', False)]})}}
    state.set_capsule('uid-1', capsule)
    kube, agents, events = Kube(), Agents(), fakes.FakeEvents()
    files = pod_files.PodFiles(conf, state, kube, agents, events)
    files.track(state.pod(key), capsule)
    return files, kube, agents, events


def test_files_reach_the_host_once_found_then_only_when_changed():
    files, kube, agents, events = setup()
    # Not on a host yet: look again soon.
    assert files.sync('uid-1') == pod_files.CREATING_RETRY
    agents.where = 'compute1'
    assert files.sync('uid-1') == 50
    assert agents.sent == [('compute1', CAPSULE, 'cfg',
                            [('k', b'v1', 0o644)])]
    assert files.sync('uid-1') == 50
    assert len(agents.sent) == 1          # unchanged: not sent again
    kube.config_maps['cfg']['data']['k'] = 'v2'
    files.sync('uid-1')
    assert agents.sent[-1][3] == [('k', b'v2', 0o644)]


def test_a_missing_config_map_is_a_failed_mount_and_retried():
    files, kube, agents, events = setup()
    agents.where = 'compute1'
    kube.config_maps.clear()
    delay = files.sync('uid-1')
    assert delay == pod_files.CREATING_RETRY
    assert files.sync('uid-1') == 2 * pod_files.CREATING_RETRY
    reasons = [e[1] for e in events.recorded]
    assert reasons[0] == 'FailedMount'
    assert 'ConfigMap ns/cfg not found' in events.recorded[0][2]
    assert agents.sent == []


def test_a_refused_token_request_is_a_failed_mount():
    files, kube, agents, events = setup()
    agents.where = 'compute1'
    pod = files.state.pod('ns/p')
    pod['spec']['volumes'] = [{'name': 'cfg', 'projected': {'sources': [
        {'serviceAccountToken': {'path': 'token'}}]}}]

    def refuse(pod, audience, seconds):
        raise k8s_exc.ApiException(status=400, reason='Bad Request')
    files.tokens = pod_files.TokenCache(refuse)
    assert files.sync('uid-1') == pod_files.CREATING_RETRY
    assert events.recorded[0][1] == 'FailedMount'
    assert '400 Bad Request' in events.recorded[0][2]
    assert agents.sent == []


def test_an_agent_not_ready_is_retried():
    files, kube, agents, events = setup()
    agents.where, agents.refuse = 'compute1', 'not prepared'
    assert files.sync('uid-1') == pod_files.CREATING_RETRY
    agents.refuse = None
    assert files.sync('uid-1') == 50
    assert len(agents.sent) == 1


def test_a_deleted_pod_is_forgotten():
    files, kube, agents, events = setup()
    files.state.pod('ns/p')['metadata']['deletionTimestamp'] = 'now'
    assert files.sync('uid-1') is None
    assert files.sync('uid-1') is None


def test_tokens_are_renewed_after_80_percent_of_their_life():
    now = [datetime.datetime(2030, 1, 1, tzinfo=UTC)]
    issued = []

    def request(pod, audience, seconds):
        issued.append(now[0])
        return 'tok-%d' % len(issued), now[0] + datetime.timedelta(
            seconds=seconds)
    cache = pod_files.TokenCache(request, now=lambda: now[0])
    pod = fakes.make_pod(uid='u')
    assert cache.get(pod, None, 3600) == 'tok-1'
    now[0] += datetime.timedelta(seconds=2000)
    assert cache.get(pod, None, 3600) == 'tok-1'
    now[0] += datetime.timedelta(seconds=900)     # past 2880 s
    assert cache.get(pod, None, 3600) == 'tok-2'
    assert cache.get(pod, 'vault', 3600) == 'tok-3'   # its own audience


def _with_secret_variables(files, status='Creating'):
    state = files.state
    capsule = dict(state.capsule('uid-1'), status=status)
    capsule['labels'] = {volume_hints.VOLUMES_LABEL: volume_hints.format_plan(
        {'cfg': ('files', 0)}, {('c', 0): [('cfg', '/c', '', False)]},
        'zun-vk-env')}
    state.set_capsule('uid-1', capsule)
    return capsule


def test_secret_variables_are_sent_once_while_the_capsule_is_created():
    files, kube, agents, events = setup()
    capsule = _with_secret_variables(files)
    derived = []

    def secret_files():
        derived.append(1)
        return 'zun-vk-env', {'c0': (b'{"env":[]}', 0o444)}
    files.track(files.state.pod('ns/p'), capsule, secret_files)
    agents.where = 'compute1'
    assert files.sync('uid-1') == 50
    assert [s[2] for s in agents.sent] == ['cfg', 'zun-vk-env']
    assert agents.sent[1][3] == [('c0', b'{"env":[]}', 0o444)]
    files.sync('uid-1')
    assert len(agents.sent) == 2 and len(derived) == 1


def test_secret_variables_not_derived_yet_are_asked_again():
    files, kube, agents, events = setup()
    capsule = _with_secret_variables(files)
    files.track(files.state.pod('ns/p'), capsule, lambda: None)
    agents.where = 'compute1'
    assert files.sync('uid-1') == pod_files.CREATING_RETRY
    assert [s[2] for s in agents.sent] == ['cfg']


def test_a_running_capsule_gets_no_secret_variables():
    files, kube, agents, events = setup()
    capsule = _with_secret_variables(files, status='Running')

    def secret_files():
        raise AssertionError('not needed once the engine has them')
    files.track(files.state.pod('ns/p'), capsule, secret_files)
    agents.where = 'compute1'
    assert files.sync('uid-1') == 50
    assert [s[2] for s in agents.sent] == ['cfg']


def test_a_limit_the_container_does_not_set_is_the_nodes_allocatable():
    conf = types.SimpleNamespace(sync=types.SimpleNamespace(
        volume_refresh_interval=50))
    state = pod_state.NodeState()
    pod = fakes.make_pod(uid='uid-1')
    pod['spec']['volumes'] = [{'name': 'info', 'downwardAPI': {'items': [
        {'path': 'cpu_limit', 'resourceFieldRef': {
            'containerName': pod['spec']['containers'][0]['name'],
            'resource': 'limits.cpu'}},
        {'path': 'mem_limit', 'resourceFieldRef': {
            'containerName': pod['spec']['containers'][0]['name'],
            'resource': 'limits.memory'}}]}}]
    key = state.observe('ADDED', pod)
    capsule = {'uuid': CAPSULE, 'status': 'Creating', 'labels': {
        volume_hints.VOLUMES_LABEL: volume_hints.format_plan(
            {'info': ('files', 0)}, {('c', 0): [('info', '/i', '', False)]})}}
    state.set_capsule('uid-1', capsule)
    cluster = types.SimpleNamespace(node_allocatable=lambda: {
        'cpu': '20', 'memory': '50Gi'})
    agents = Agents()
    agents.where = 'compute1'
    files = pod_files.PodFiles(conf, state, Kube(), agents,
                               fakes.FakeEvents(), cluster=cluster)
    files.track(state.pod(key), capsule)
    assert files.sync('uid-1') == 50
    assert dict((p, d) for p, d, _m in agents.sent[0][3]) == {
        'cpu_limit': b'20', 'mem_limit': str(50 * 1024 ** 3).encode()}
