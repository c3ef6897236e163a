import pytest

from zun_vk.translate import errors
from zun_vk.translate import resource_fields as rf

ALLOCATABLE = {'cpu': '100', 'memory': '409600Mi', 'pods': '500'}


def pod_with(resources=None, ref=None, init=None):
    container = {'name': 'app', 'image': 'busybox',
                 'resources': resources or {},
                 'env': [{'name': 'X', 'valueFrom': {
                     'resourceFieldRef': ref or {}}}]}
    spec = {'containers': [container]}
    if init:
        spec['initContainers'] = [init]
    return {'spec': spec}


def value(the_pod, ref, allocatable=ALLOCATABLE):
    container = the_pod['spec']['containers'][0]
    return rf.value(the_pod, container, ref, allocatable, 'path')


SIZED = {'limits': {'cpu': '250m', 'memory': '64Mi',
                    'ephemeral-storage': '1Gi'},
         'requests': {'cpu': '100m', 'memory': '32Mi',
                      'ephemeral-storage': '500M'}}


@pytest.mark.parametrize('resources, ref, expected', [
    # cpu rounds up to whole divisors of millicores.
    (SIZED, {'resource': 'limits.cpu'}, '1'),
    (SIZED, {'resource': 'limits.cpu', 'divisor': '1m'}, '250'),
    (SIZED, {'resource': 'requests.cpu', 'divisor': '1m'}, '100'),
    (SIZED, {'resource': 'requests.cpu'}, '1'),
    ({'limits': {'cpu': '2'}}, {'resource': 'limits.cpu'}, '2'),
    ({'limits': {'cpu': '1500m'}}, {'resource': 'limits.cpu'}, '2'),
    ({'limits': {'cpu': '0.0001'}}, {'resource': 'limits.cpu',
                                     'divisor': '1m'}, '1'),
    # memory and storage: bytes, rounded up.
    (SIZED, {'resource': 'limits.memory'}, str(64 * 2 ** 20)),
    (SIZED, {'resource': 'limits.memory', 'divisor': '1Mi'}, '64'),
    (SIZED, {'resource': 'limits.memory', 'divisor': '1M'}, '68'),
    (SIZED, {'resource': 'requests.memory', 'divisor': '1Gi'}, '1'),
    (SIZED, {'resource': 'limits.ephemeral-storage', 'divisor': '1Mi'},
     '1024'),
    (SIZED, {'resource': 'requests.ephemeral-storage', 'divisor': '1k'},
     '500000'),
    # The API gives an unset divisor as '0': it means 1.
    (SIZED, {'resource': 'limits.memory', 'divisor': '0'},
     str(64 * 2 ** 20)),
    # Unset requests are 0; unset limits are the node's allocatable.
    ({}, {'resource': 'requests.cpu', 'divisor': '1m'}, '0'),
    ({}, {'resource': 'requests.memory'}, '0'),
    ({}, {'resource': 'limits.cpu'}, '100'),
    ({}, {'resource': 'limits.memory', 'divisor': '1Mi'}, '409600'),
    ({'limits': {'memory': '0'}}, {'resource': 'limits.memory',
                                   'divisor': '1Mi'}, '409600'),
    # The node reports no ephemeral-storage: 0, as the kubelet would
    # without it.
    ({}, {'resource': 'limits.ephemeral-storage'}, '0'),
    ({}, {'resource': 'requests.hugepages-2Mi'}, '0'),
])
def test_values(resources, ref, expected):
    assert value(pod_with(resources, ref), ref) == expected


def test_unknown_node_allocatable_leaves_the_unset_limit_zero():
    ref = {'resource': 'limits.cpu'}
    assert value(pod_with({}, ref), ref, allocatable=None) == '0'


def test_container_name_selects_another_container():
    init = {'name': 'setup', 'image': 'busybox',
            'resources': {'limits': {'memory': '128Mi'}}}
    ref = {'resource': 'limits.memory', 'divisor': '1Mi',
           'containerName': 'setup'}
    assert value(pod_with(SIZED, ref, init=init), ref) == '128'


@pytest.mark.parametrize('ref, field', [
    ({'resource': 'limits.gpu'}, 'path.resource'),
    ({'resource': 'cpu'}, 'path.resource'),
    ({'resource': 'status.cpu'}, 'path.resource'),
    ({'resource': 'limits.cpu', 'containerName': 'nope'},
     'path.containerName'),
    ({'resource': 'limits.cpu', 'divisor': 'lots'}, 'path'),
    # Rounded up, these would divide by zero.
    ({'resource': 'limits.cpu', 'divisor': '-1n'}, 'path.divisor'),
    ({'resource': 'limits.memory', 'divisor': '-500m'}, 'path.divisor'),
    ({'resource': 'limits.memory', 'divisor': '-1Mi'}, 'path.divisor'),
])
def test_refusals(ref, field):
    with pytest.raises(errors.UnsupportedPod) as exc:
        value(pod_with(SIZED, ref), ref)
    assert exc.value.field_path == field


@pytest.mark.parametrize('resources, ref, needed', [
    ({}, {'resource': 'limits.cpu'}, True),
    ({}, {'resource': 'limits.memory'}, True),
    ({}, {'resource': 'requests.memory'}, False),
    (SIZED, {'resource': 'limits.cpu'}, False),
    ({'limits': {'cpu': '1'}}, {'resource': 'limits.memory'}, True),
    ({}, {'resource': 'limits.hugepages-2Mi'}, False),
])
def test_needs_node_allocatable(resources, ref, needed):
    assert rf.needs_node_allocatable(pod_with(resources, ref)) is needed


def test_pod_without_references_needs_nothing():
    assert not rf.needs_node_allocatable(
        {'spec': {'containers': [{'name': 'a', 'env': [
            {'name': 'X', 'value': '1'}]}]}})
