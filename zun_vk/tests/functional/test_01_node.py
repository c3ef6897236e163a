"""The virtual node as Kubernetes and its users see it."""

import datetime
import time

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures
from zun_vk.translate import quantity

NODE = conftest.NODE


def read_node(kube):
    return kube.core.read_node(NODE)


def condition(node, ctype):
    for cond in node.status.conditions or []:
        if cond.type == ctype:
            return cond
    return None


def test_node_is_ready_with_labels_taint_address_and_capacity(
        kube, zun, ready_node):
    node = read_node(kube)
    labels = node.metadata.labels
    assert labels['type'] == 'virtual-kubelet'
    assert labels['kubernetes.io/role'] == 'agent'
    assert labels['kubernetes.io/hostname'] == NODE
    assert labels['kubernetes.io/os'] == 'linux'
    taints = [(t.key, t.value, t.effect) for t in node.spec.taints]
    assert ('virtual-kubelet.io/provider', 'zun', 'NoSchedule') in taints
    addresses = {a.type: a.address for a in node.status.addresses}
    assert addresses == {'InternalIP': '127.0.0.1', 'Hostname': 'localhost'}
    assert node.status.daemon_endpoints.kubelet_endpoint.port == \
        conftest.KUBELET_PORT
    assert node.status.node_info.operating_system == 'linux'
    assert 'zun-vk' in node.status.node_info.kubelet_version
    for ctype in ('MemoryPressure', 'DiskPressure', 'PIDPressure',
                  'NetworkUnavailable'):
        assert condition(node, ctype).status == 'False'

    # Capacity comes from the project's Zun quotas.
    quotas = fixtures.project_quotas(zun)
    expected = {'cpu': str(int(quotas['cpu'])),
                'memory': '%dMi' % quotas['memory'],
                'pods': str(quotas['containers'])}
    wanted = {k: quantity.parse_quantity(v) for k, v in expected.items()}

    def capacity(field):
        values = getattr(read_node(kube).status, field)
        # The API server canonicalises quantities (51200Mi becomes 50Gi).
        return {k: quantity.parse_quantity(values[k]) for k in wanted}
    fixtures.wait_for(lambda: capacity('capacity') == wanted, timeout=60,
                      description='node capacity %s' % expected)
    assert capacity('allocatable') == wanted


def test_lease_is_owned_by_the_node_and_renewed(kube, ready_node):
    def lease():
        return kube.coordination.read_namespaced_lease(
            NODE, 'kube-node-lease')
    first = lease()
    assert first.spec.lease_duration_seconds == 40
    assert first.spec.holder_identity == NODE
    owner = first.metadata.owner_references[0]
    assert (owner.kind, owner.name) == ('Node', NODE)
    assert owner.uid == read_node(kube).metadata.uid
    start = first.spec.renew_time
    fixtures.wait_for(lambda: lease().spec.renew_time > start, timeout=40,
                      description='Lease renewTime to advance')
    second = lease().spec.renew_time
    fixtures.wait_for(lambda: lease().spec.renew_time > second, timeout=40,
                      description='Lease renewTime to advance again')
    gap = (lease().spec.renew_time - second).total_seconds()
    print('Lease renewal gap: %.1f s' % gap)
    assert gap < 30


def test_admin_label_and_taint_survive_restart(kube, vk, ready_node):
    kube.core.patch_node(NODE, {'metadata': {'labels': {
        'example.com/owner': 'ops'}}})
    node = read_node(kube)
    taints = [t.to_dict() for t in node.spec.taints]
    taints.append({'key': 'example.com/maintenance', 'value': 'soon',
                   'effect': 'PreferNoSchedule'})
    kube.core.patch_node(NODE, {'spec': {'taints': taints}})
    vk.stop()
    vk.start()

    def kept():
        node = read_node(kube)
        keys = {t.key for t in node.spec.taints}
        return (node.metadata.labels.get('example.com/owner') == 'ops' and
                'example.com/maintenance' in keys and
                'virtual-kubelet.io/provider' in keys and
                node.metadata.labels.get('type') == 'virtual-kubelet')
    # The restarted zun-vk has re-registered once its Lease moves on.
    before = kube.coordination.read_namespaced_lease(
        NODE, 'kube-node-lease').spec.renew_time
    fixtures.wait_for(
        lambda: kube.coordination.read_namespaced_lease(
            NODE, 'kube-node-lease').spec.renew_time > before,
        timeout=60, description='Lease renewed by the restarted zun-vk')
    assert kept()
    # Clean up the admin's additions.
    node = read_node(kube)
    kube.core.patch_node(NODE, {
        'metadata': {'labels': {'example.com/owner': None}},
        'spec': {'taints': [t.to_dict() for t in node.spec.taints
                            if t.key != 'example.com/maintenance']}})


def test_ready_follows_the_zun_api(kube, ready_node):
    fixtures.stop_component('zun-api')
    try:
        started = time.monotonic()
        fixtures.wait_for(
            lambda: conftest.node_ready(kube) == 'False', timeout=60,
            description='Ready=False while zun-api is stopped')
        print('NotReady %.1f s after zun-api stopped'
              % (time.monotonic() - started))
        ready = condition(read_node(kube), 'Ready')
        assert ready.reason == 'ZunAPIUnavailable'
        assert 'Zun' in ready.message
    finally:
        fixtures.start_component('zun-api')
    started = time.monotonic()
    fixtures.wait_for(lambda: conftest.node_ready(kube) == 'True',
                      timeout=60, description='Ready=True again')
    print('Ready %.1f s after zun-api started'
          % (time.monotonic() - started))


def test_node_goes_not_ready_when_zun_vk_dies_and_recovers(
        kube, vk, ready_node):
    vk.kill()
    try:
        # The real kube-controller-manager marks the node Unknown after
        # its node-monitor-grace-period (40 s by default).
        fixtures.wait_for(
            lambda: conftest.node_ready(kube) == 'Unknown', timeout=180,
            interval=2, description='node NotReady after zun-vk died')
        ready = condition(read_node(kube), 'Ready')
        assert ready.reason == 'NodeStatusUnknown'
    finally:
        vk.start()
    fixtures.wait_for(lambda: conftest.node_ready(kube) == 'True',
                      timeout=90, description='node Ready after restart')
    heartbeat = condition(read_node(kube), 'Ready').last_heartbeat_time
    assert (datetime.datetime.now(datetime.timezone.utc) -
            heartbeat).total_seconds() < 90
