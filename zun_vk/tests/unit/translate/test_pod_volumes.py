"""Pod volumes on a compute host with the companion driver and agent."""

import json

import pytest

from zun_vk.translate import errors
from zun_vk.translate import pod_to_capsule as ptc
from zun_vk.zun_plugin import volume_hints

HOST = ptc.CapsuleDefaults(companion_driver=True, host_volumes=True)
SA = '/var/run/secrets/kubernetes.io/serviceaccount'


def pod(volumes, containers, init=()):
    return {
        'metadata': {'name': 'p', 'namespace': 'ns', 'uid': 'u-1'},
        'spec': {'volumes': volumes, 'containers': list(containers),
                 'initContainers': list(init)},
    }


def container(name, mounts, env=()):
    return {'name': name, 'image': 'busybox', 'volumeMounts': mounts,
            'env': [{'name': k, 'value': v} for k, v in env]}


def translate(p, defaults=HOST):
    return ptc.pod_to_capsule(p, cluster_id='c', node_name='n',
                              resolved_env=None, defaults=defaults)


def plan(request):
    labels = request.template['metadata']['labels']
    return volume_hints.parse_plan(labels.get(volume_hints.VOLUMES_LABEL))


def test_every_kubelet_volume_is_planned_on_the_host():
    request = translate(pod(
        [{'name': 'cfg', 'configMap': {'name': 'settings'}},
         {'name': 'creds', 'secret': {'secretName': 's'}},
         {'name': 'info', 'downwardAPI': {'items': []}},
         {'name': 'all', 'projected': {'sources': []}},
         {'name': 'scratch', 'emptyDir': {}},
         {'name': 'shm', 'emptyDir': {'medium': 'Memory',
                                      'sizeLimit': '64Mi'}},
         {'name': 'unused', 'configMap': {'name': 'x'}}],
        [container('app', [
            {'name': 'cfg', 'mountPath': '/etc/app'},
            {'name': 'creds', 'mountPath': '/etc/creds', 'readOnly': True},
            {'name': 'info', 'mountPath': '/etc/info'},
            {'name': 'all', 'mountPath': '/etc/all'},
            {'name': 'scratch', 'mountPath': '/data', 'subPath': 'app'},
            {'name': 'shm', 'mountPath': '/dev/shm'}]),
         container('side', [{'name': 'scratch', 'mountPath': '/data'}])],
        init=[container('init', [{'name': 'scratch',
                                  'mountPath': '/seed'}])]))
    got = plan(request)
    assert got.volumes == {
        'cfg': ('files', 0), 'creds': ('files', 0), 'info': ('files', 0),
        'all': ('files', 0), 'scratch': ('disk', 0),
        'shm': ('memory', 64 * 2 ** 20)}
    assert got.mounts[('c', 0)] == [
        ('cfg', '/etc/app', '', False), ('creds', '/etc/creds', '', True),
        ('info', '/etc/info', '', False), ('all', '/etc/all', '', False),
        ('scratch', '/data', 'app', False), ('shm', '/dev/shm', '', False)]
    assert got.mounts[('c', 1)] == [('scratch', '/data', '', False)]
    assert got.mounts[('i', 0)] == [('scratch', '/seed', '', False)]
    # Zun's template mounts none of them.
    spec = request.template['spec']
    assert 'volumes' not in spec
    assert all('volumeMounts' not in c for c in spec['containers'])


def test_service_account_token_volume_is_delivered_not_dropped():
    request = translate(pod(
        [{'name': 'kube-api-access-abcde', 'projected': {'sources': []}}],
        [container('app', [{'name': 'kube-api-access-abcde',
                            'mountPath': SA, 'readOnly': True}])]))
    assert plan(request).mounts[('c', 0)] == [
        ('kube-api-access-abcde', SA, '', True)]


def test_sub_path_expr_expands_the_container_env():
    request = translate(pod(
        [{'name': 'logs', 'emptyDir': {}}],
        [container('app', [{'name': 'logs', 'mountPath': '/logs',
                            'subPathExpr': '$(POD)/x'}],
                   env=[('POD', 'web-0')])]))
    assert plan(request).mounts[('c', 0)] == [
        ('logs', '/logs', 'web-0/x', False)]


@pytest.mark.parametrize('mount, field', [
    ({'subPath': '../escape'}, 'subPath'),
    ({'subPath': '/abs'}, 'subPath'),
    ({'subPath': 'a', 'subPathExpr': 'b'}, 'subPathExpr'),
    ({'mountPropagation': 'Bidirectional'}, 'mountPropagation'),
])
def test_bad_host_mounts_are_refused(mount, field):
    mount = dict({'name': 'v', 'mountPath': '/v'}, **mount)
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod([{'name': 'v', 'emptyDir': {}}],
                      [container('app', [mount], env=[('UP', '..')])]))
    assert exc.value.field_path == 'spec.containers[0].volumeMounts[0].%s' % (
        field)


@pytest.mark.parametrize('expression, env, message', [
    # The kubelet's own words; the pod waits and is tried again.
    ('$(UP)', [('UP', '..')],
     "unable to provision SubPath `..`: must not contain '..'"),
    ('$(ABS)/x', [('ABS', '/etc')],
     'error SubPath `/etc/x` must not be an absolute path'),
    ('$(EMPTY)/$(NONE)/x', [('EMPTY', '')], 'missing value for EMPTY, NONE'),
])
def test_a_sub_path_expr_that_expands_badly_waits(expression, env, message):
    mount = {'name': 'v', 'mountPath': '/v', 'subPathExpr': expression}
    with pytest.raises(errors.ContainerConfigError) as exc:
        translate(pod([{'name': 'v', 'emptyDir': {}}],
                      [container('app', [mount], env=env)]))
    assert exc.value.status_reason == 'CreateContainerConfigError'
    assert str(exc.value) == (
        'spec.containers[0].volumeMounts[0].subPathExpr: %s.' % message)


def test_a_refusal_wins_over_a_sub_path_expr_that_waits():
    mount = {'name': 'v', 'mountPath': '/v', 'subPathExpr': '$(NONE)',
             'mountPropagation': 'Bidirectional'}
    with pytest.raises(errors.UnsupportedPod):
        translate(pod([{'name': 'v', 'emptyDir': {}}],
                      [container('app', [mount])]))


def test_without_host_volumes_files_volumes_say_what_to_install():
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod([{'name': 'cfg', 'configMap': {'name': 'x'}}],
                      [container('app', [{'name': 'cfg',
                                          'mountPath': '/c'}])]),
                  defaults=ptc.CapsuleDefaults(companion_driver=True))
    assert exc.value.field_path == 'spec.volumes[0].configMap'
    assert '[host_agents]' in exc.value.reason


def test_empty_dir_without_host_volumes_names_the_cinder_option():
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod([{'name': 'tmp', 'emptyDir': {}}],
                      [container('app', [{'name': 'tmp',
                                          'mountPath': '/tmp'}])]),
                  defaults=ptc.CapsuleDefaults())
    assert '[zun]empty_dir_cinder_size_gb' in exc.value.reason


def test_cinder_option_wins_for_disk_empty_dirs_on_companion_hosts():
    defaults = ptc.CapsuleDefaults(companion_driver=True, host_volumes=True,
                                   empty_dir_cinder_size_gb=5)
    request = translate(pod(
        [{'name': 'tmp', 'emptyDir': {}},
         {'name': 'shm', 'emptyDir': {'medium': 'Memory'}}],
        [container('app', [{'name': 'tmp', 'mountPath': '/tmp'},
                           {'name': 'shm', 'mountPath': '/dev/shm'}])]),
        defaults=defaults)
    assert request.template['spec']['volumes'] == [
        {'name': 'tmp', 'cinder': {'size': 5, 'autoRemove': True}}]
    assert plan(request).volumes == {'shm': ('memory', 0)}


def test_huge_pages_medium_is_refused():
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod([{'name': 'hp', 'emptyDir': {'medium': 'HugePages'}}],
                      [container('app', [{'name': 'hp',
                                          'mountPath': '/hp'}])]))
    assert exc.value.field_path == 'spec.volumes[0].emptyDir.medium'


def test_host_path_is_still_refused():
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod([{'name': 'h', 'hostPath': {'path': '/etc'}}],
                      [container('app', [{'name': 'h', 'mountPath': '/h'}])]))
    assert exc.value.field_path == 'spec.volumes[0].hostPath'


def test_plan_label_round_trips_and_is_compact():
    value = volume_hints.format_plan(
        {'a': ('files', 0), 'b': ('memory', 10)},
        {('c', 0): [('a', '/a', '', True), ('b', '/b', 'x', False)]})
    assert json.loads(value) == {
        'v': {'a': ['files'], 'b': ['memory', 10]},
        'm': {'c0': [['a', '/a', '', True], ['b', '/b', 'x', False]]}}
    parsed = volume_hints.parse_plan(value)
    assert parsed.to_json() == value


@pytest.mark.parametrize('value', [
    'not json', '[]', '{"v": {"Bad_Name": ["files"]}}',
    '{"v": {"a": ["nfs"]}}', '{"v": {"a": ["disk", -1]}}',
    '{"v": {"a": ["files"]}, "m": {"x0": []}}',
    '{"v": {"a": ["files"]}, "m": {"c0": [["b", "/b", "", false]]}}',
    '{"v": {"a": ["files"]}, "m": {"c0": [["a", "rel", "", false]]}}',
    '{"v": {"a": ["files"]}, "m": {"c0": [["a", "/a", "../x", false]]}}',
])
def test_broken_plans_are_refused_not_half_applied(value):
    with pytest.raises(volume_hints.BadPlan):
        volume_hints.parse_plan(value)
