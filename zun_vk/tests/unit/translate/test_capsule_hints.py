"""The label contract between zun-vk's translation and the companion."""

import pytest

from zun_vk.translate import companion_labels
from zun_vk.translate import pod_to_capsule as to_capsule
from zun_vk.zun_plugin import capsule_hints


def test_format_and_parse_round_trip():
    lengths = {('c', 0): 2, ('i', 1): 1, ('c', 10): 3}
    value = capsule_hints.format_entrypoints(lengths)
    assert value == 'c0:2,c10:3,i1:1'
    assert capsule_hints.parse_entrypoints(value) == lengths
    assert capsule_hints.format_entrypoints({}) is None


@pytest.mark.parametrize('value', [None, '', ',', 'c', 'c0', 'c0:', 'x0:1',
                                   'c0:-1', 'ca:1', 'c0:1:2'])
def test_parse_skips_malformed_items(value):
    assert capsule_hints.parse_entrypoints(value) == {}


def test_split_command():
    assert capsule_hints.split_command(['a', 'b', 'c'], 1) == (
        ['a'], ['b', 'c'])
    assert capsule_hints.split_command(None, 2) == ([], [])


def _pod(**containers):
    return {
        'metadata': {'name': 'p', 'namespace': 'ns', 'uid': 'u-1'},
        'spec': {
            'initContainers': containers.get('init', []),
            'containers': containers.get('app', []),
        },
    }


def _translate(pod, companion):
    return to_capsule.pod_to_capsule(
        pod, cluster_id='c', node_name='n', resolved_env=None,
        defaults=to_capsule.CapsuleDefaults(companion_driver=companion))


def test_companion_hosts_get_the_label_and_no_warning():
    pod = _pod(init=[{'name': 'init', 'image': 'busybox',
                      'command': ['sh', '-c', 'true']}],
               app=[{'name': 'plain', 'image': 'busybox', 'args': ['x']},
                    {'name': 'app', 'image': 'busybox',
                     'command': ['/bin/echo'], 'args': ['a', 'b']}])
    request = _translate(pod, companion=True)
    labels = request.template['metadata']['labels']
    assert labels[capsule_hints.ENTRYPOINT_LABEL] == 'c1:1,i0:3'
    assert not [w for w in request.warnings if 'ENTRYPOINT' in w]
    # Zun still receives command and args as the pod gives them.
    app = request.template['spec']['containers'][1]
    assert (app['command'], app['args']) == (['/bin/echo'], ['a', 'b'])


def test_without_companion_no_label_and_a_warning():
    pod = _pod(app=[{'name': 'app', 'image': 'busybox',
                     'command': ['/bin/echo']}])
    request = _translate(pod, companion=False)
    assert capsule_hints.ENTRYPOINT_LABEL not in \
        request.template['metadata']['labels']
    assert [w for w in request.warnings if 'ENTRYPOINT' in w and
            'companion_driver' in w]


def test_no_command_no_label():
    pod = _pod(app=[{'name': 'app', 'image': 'busybox', 'args': ['x']}])
    request = _translate(pod, companion=True)
    assert capsule_hints.ENTRYPOINT_LABEL not in \
        request.template['metadata']['labels']


@pytest.mark.parametrize('meta,spec,expected', [
    ({'name': 'web-0'}, {}, 'web-0'),
    ({'name': 'web-0'}, {'hostname': 'db'}, 'db'),
    # Cut to 63 characters without a trailing '-' or '.'.
    ({'name': 'a' * 62 + '-b'}, {}, 'a' * 62),
    ({'name': 'a' * 61 + '.-xyz'}, {}, 'a' * 61),
])
def test_pod_hostname_as_the_kubelet(meta, spec, expected):
    pod = {'metadata': meta, 'spec': spec}
    assert companion_labels.pod_hostname(pod) == expected


def test_companion_hosts_get_the_hostname_label_and_no_warning():
    pod = _pod(app=[{'name': 'app', 'image': 'busybox'}])
    pod['spec']['hostname'] = 'db-0'
    request = _translate(pod, companion=True)
    labels = request.template['metadata']['labels']
    assert labels[capsule_hints.HOSTNAME_LABEL] == 'db-0'
    assert request.warnings == ()
    without = _translate(pod, companion=False)
    assert capsule_hints.HOSTNAME_LABEL not in \
        without.template['metadata']['labels']
    assert [w for w in without.warnings if w.startswith('spec.hostname')]
