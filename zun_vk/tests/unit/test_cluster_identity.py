"""Each cluster labels its capsules with an id no other cluster has."""

import types

from kubernetes.client import exceptions as k8s_exc
from oslo_config import cfg
import pytest

from zun_vk.conf import default as default_conf
from zun_vk.kube import cluster_identity
from zun_vk.services import pod_handler
from zun_vk.services import pod_state
from zun_vk.services import pods as pod_service
from zun_vk.tests.unit import pod_fakes as fakes
from zun_vk.translate import pod_to_capsule as to_capsule

KUBE_SYSTEM_UID = '5c3e7f0a-1b2c-4d5e-8f90-123456789abc'


class FakeKube(object):
    timeout = 5

    def __init__(self, failures=()):
        self.failures = list(failures)
        self.reads = []
        self.closed = 0
        self.core = self

    def read_namespace(self, name, **kwargs):
        self.reads.append(name)
        if self.failures:
            raise self.failures.pop(0)
        return types.SimpleNamespace(metadata=types.SimpleNamespace(
            name=name, uid=KUBE_SYSTEM_UID))

    def close(self):
        self.closed += 1


def test_the_default_is_the_kube_system_namespace_uid():
    kube = FakeKube()
    assert cluster_identity.cluster_id(kube, None) == KUBE_SYSTEM_UID
    assert cluster_identity.cluster_id(kube, '') == KUBE_SYSTEM_UID
    assert kube.reads == ['kube-system', 'kube-system']


def test_a_configured_cluster_id_is_kept_and_nothing_read():
    kube = FakeKube()
    assert cluster_identity.cluster_id(kube, 'prod-eu') == 'prod-eu'
    assert kube.reads == []


def test_a_forbidden_read_says_what_to_grant_or_set():
    kube = FakeKube([k8s_exc.ApiException(status=403, reason='Forbidden')])
    with pytest.raises(cluster_identity.ClusterIdentityError) as caught:
        cluster_identity.cluster_id(kube, None)
    message = str(caught.value)
    assert 'get on namespace kube-system' in message
    assert '[DEFAULT]cluster_id' in message


def test_the_option_has_no_fixed_default_and_may_be_empty():
    conf = cfg.ConfigOpts()
    default_conf.register_opts(conf)
    conf([], project='zun-vk-unit', default_config_files=[])
    assert conf.cluster_id is None
    conf.set_override('cluster_id', '')
    assert conf.cluster_id == ''
    [opt] = [o for o in default_conf.list_opts()['DEFAULT']
             if o.dest == 'cluster_id']
    assert 'kube-system' in opt.help


def test_the_pod_worker_reads_the_id_at_start_and_retries(monkeypatch):
    kubes = [FakeKube([k8s_exc.ApiException(status=500, reason='boom')]),
             FakeKube()]
    monkeypatch.setattr(pod_service.kube_client, 'KubeAPI',
                        lambda conf: kubes.pop(0))
    conf = types.SimpleNamespace(
        cluster_id=None, kubernetes=types.SimpleNamespace(kubeconfig='k'))
    service = pod_service.PodService(conf)
    delays = []
    service.sleep = lambda seconds: delays.append(seconds) or True
    assert service._connect_kubernetes()
    assert service.cluster_id == KUBE_SYSTEM_UID
    assert delays == [1]


def test_capsules_carry_the_cluster_id_the_worker_read():
    conf = fakes.conf()
    conf.cluster_id = None
    state = pod_state.NodeState()
    zun = fakes.FakeZun()
    handler = pod_handler.PodHandler(conf, state, fakes.FakePods(), zun,
                                     fakes.FakeEvents(),
                                     cluster_id=KUBE_SYSTEM_UID)
    state.replace_capsules([])
    key = state.observe('ADDED', fakes.make_pod())
    handler.sync(key)
    labels = zun.templates[0]['metadata']['labels']
    assert labels[to_capsule.LABEL_CLUSTER] == KUBE_SYSTEM_UID
    # Its own capsules are the ones it follows.
    state.replace_capsules(zun.list_capsules())
    assert state.capsule(fakes.make_pod()['metadata']['uid']) is not None
