import pytest

from zun_vk.translate import node as node_shape

DEFAULTS = {'cpu': '100', 'memory_mb': 409600, 'pods': 500}
NO_OVERRIDES = {'cpu': None, 'memory_mb': None, 'pods': None}


def test_labels_include_the_virtual_kubelet_set_and_extras():
    labels = node_shape.node_labels('vk-1', {'tier': 'gold'}, 'linux',
                                    'amd64', availability_zone='az1')
    assert labels['type'] == 'virtual-kubelet'
    assert labels['kubernetes.io/role'] == 'agent'
    assert labels['kubernetes.io/hostname'] == 'vk-1'
    assert labels['kubernetes.io/os'] == 'linux'
    assert labels['topology.kubernetes.io/zone'] == 'az1'
    assert labels['tier'] == 'gold'


def test_merge_taints_keeps_others_and_replaces_ours():
    existing = [
        {'key': 'node.kubernetes.io/unreachable', 'effect': 'NoExecute'},
        {'key': 'virtual-kubelet.io/provider', 'value': 'old',
         'effect': 'NoSchedule'},
        {'key': 'admin', 'value': 'x', 'effect': 'NoSchedule'},
    ]
    ours = [{'key': 'virtual-kubelet.io/provider', 'value': 'zun',
             'effect': 'NoSchedule'}]
    merged = node_shape.merge_taints(existing, ours)
    assert merged == [
        {'key': 'node.kubernetes.io/unreachable', 'effect': 'NoExecute'},
        {'key': 'admin', 'value': 'x', 'effect': 'NoSchedule'},
        {'key': 'virtual-kubelet.io/provider', 'value': 'zun',
         'effect': 'NoSchedule'},
    ]


@pytest.mark.parametrize('overrides,quotas,hosts,expected,sources', [
    # Nothing known: the configured defaults.
    (NO_OVERRIDES, None, None,
     {'cpu': '100', 'memory': '409600Mi', 'pods': '500'},
     {'cpu': 'default', 'memory': 'default', 'pods': 'default'}),
    # Quotas only.
    (NO_OVERRIDES, {'cpu': 20, 'memory': 51200, 'containers': 40}, None,
     {'cpu': '20', 'memory': '51200Mi', 'pods': '40'},
     {'cpu': 'quota', 'memory': 'quota', 'pods': 'quota'}),
    # Unlimited quotas fall back to the hosts' totals.
    (NO_OVERRIDES, {'cpu': -1, 'memory': -1, 'containers': -1},
     [{'cpus': 8, 'mem_total': 16000}, {'cpus': 4, 'mem_total': 8000}],
     {'cpu': '12', 'memory': '24000Mi', 'pods': '500'},
     {'cpu': 'hosts', 'memory': 'hosts', 'pods': 'default'}),
    # Both known: the smaller one limits the project.
    (NO_OVERRIDES, {'cpu': 20, 'memory': 4096, 'containers': 10},
     [{'cpus': 8, 'mem_total': 16000}],
     {'cpu': '8', 'memory': '4096Mi', 'pods': '10'},
     {'cpu': 'hosts', 'memory': 'quota', 'pods': 'quota'}),
    # Configuration wins over everything.
    ({'cpu': '2500m', 'memory_mb': 1024, 'pods': 7},
     {'cpu': 20, 'memory': 4096, 'containers': 10}, None,
     {'cpu': '2500m', 'memory': '1024Mi', 'pods': '7'},
     {'cpu': 'configuration', 'memory': 'configuration',
      'pods': 'configuration'}),
    # Fractional cpu from hosts becomes millicores.
    (NO_OVERRIDES, None, [{'cpus': 1.5, 'mem_total': 100}],
     {'cpu': '1500m', 'memory': '100Mi', 'pods': '500'},
     {'cpu': 'hosts', 'memory': 'hosts', 'pods': 'default'}),
])
def test_capacity_sources(overrides, quotas, hosts, expected, sources):
    result, got_sources = node_shape.capacity(overrides, DEFAULTS,
                                              quotas=quotas, hosts=hosts)
    assert result == expected
    assert got_sources == sources


def test_ready_condition_follows_zun_and_keeps_transition_time():
    first = node_shape.conditions(True, None, None, 't1')
    ready = [c for c in first if c['type'] == 'Ready'][0]
    assert ready['status'] == 'True'
    assert ready['lastTransitionTime'] == 't1'
    second = node_shape.conditions(True, None, first, 't2')
    ready = [c for c in second if c['type'] == 'Ready'][0]
    assert ready['lastTransitionTime'] == 't1'
    assert ready['lastHeartbeatTime'] == 't2'
    third = node_shape.conditions(False, 'Connection refused', second, 't3')
    ready = [c for c in third if c['type'] == 'Ready'][0]
    assert ready['status'] == 'False'
    assert ready['reason'] == 'ZunAPIUnavailable'
    assert 'Connection refused' in ready['message']
    assert ready['lastTransitionTime'] == 't3'
    others = {c['type']: c['status'] for c in third if c['type'] != 'Ready'}
    assert others == {'MemoryPressure': 'False', 'DiskPressure': 'False',
                      'PIDPressure': 'False', 'NetworkUnavailable': 'False'}


def test_comparable_ignores_heartbeat_times():
    a = {'conditions': node_shape.conditions(True, None, None, 't1'),
         'capacity': {'cpu': '1'}}
    b = {'conditions': node_shape.conditions(True, None, None, 't2'),
         'capacity': {'cpu': '1'}}
    c = {'conditions': node_shape.conditions(True, None, None, 't2'),
         'capacity': {'cpu': '2'}}
    assert node_shape.comparable(a) == node_shape.comparable(b)
    assert node_shape.comparable(a) != node_shape.comparable(c)


def test_addresses_publish_a_hostname_only_when_configured():
    assert node_shape.addresses('192.0.2.1') == [
        {'type': 'InternalIP', 'address': '192.0.2.1'}]
    assert node_shape.addresses('192.0.2.1', 'ctl-1.example') == [
        {'type': 'InternalIP', 'address': '192.0.2.1'},
        {'type': 'Hostname', 'address': 'ctl-1.example'}]
