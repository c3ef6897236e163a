"""Values from Secrets stay out of the capsule template on companion hosts."""

import base64
import json

import pytest

from zun_vk.translate import errors
from zun_vk.translate import pod_env
from zun_vk.translate import pod_to_capsule as ptc
from zun_vk.zun_plugin import env_hints
from zun_vk.zun_plugin import volume_hints

HOST = ptc.CapsuleDefaults(companion_driver=True, host_volumes=True)
PLAIN = ptc.CapsuleDefaults()
SECRETS = {'db': {'user': base64.b64encode(b'admin').decode(),
                  'password': base64.b64encode(b'hunter2').decode()}}
CONFIGMAPS = {'cfg': {'user': 'public-user'}}


def pod(env=(), env_from=(), command=None, args=None, volumes=(),
        mounts=(), init_env=None):
    app = {'name': 'app', 'image': 'busybox', 'env': list(env),
           'envFrom': list(env_from), 'volumeMounts': list(mounts)}
    if command is not None:
        app['command'] = command
    if args is not None:
        app['args'] = args
    spec = {'containers': [app], 'volumes': list(volumes)}
    if init_env is not None:
        spec['initContainers'] = [{'name': 'init', 'image': 'busybox',
                                   'env': init_env}]
    return {'metadata': {'name': 'p', 'namespace': 'ns', 'uid': 'u-1'},
            'spec': spec}


def secret_ref(name, key):
    return {'name': name, 'valueFrom': {'secretKeyRef': {'name': 'db',
                                                         'key': key}}}


def translate(p, defaults=HOST):
    resolved = pod_env.resolve_env(p, CONFIGMAPS, SECRETS)
    return ptc.pod_to_capsule(p, cluster_id='c', node_name='n',
                              resolved_env=resolved, defaults=defaults)


def secret_file(request, key='c0'):
    volume, files = request.secret_files
    data, mode = files[key]
    assert mode == 0o444
    return env_hints.parse_file(data)


def test_resolve_env_marks_what_came_from_a_secret():
    p = pod(env_from=[{'secretRef': {'name': 'db'}, 'prefix': 'DB_'},
                      {'configMapRef': {'name': 'cfg'}}],
            env=[secret_ref('PASS', 'password'),
                 {'name': 'DSN', 'value': 'u:$(PASS)@db'},
                 {'name': 'PLAIN', 'value': '$(user)'},
                 # A plain value over a secret one is plain again.
                 {'name': 'DB_user', 'value': 'visible'}])
    got = {v['name']: v.get('secret', False)
           for v in pod_env.resolve_env(p, CONFIGMAPS, SECRETS)['app']}
    assert got == {'DB_password': True, 'DB_user': False, 'user': False,
                   'PASS': True, 'DSN': True, 'PLAIN': False}


def test_secret_values_leave_the_template_for_the_host():
    request = translate(pod(
        env=[secret_ref('PASS', 'password'),
             {'name': 'DSN', 'value': 'u:$(PASS)@db'},
             {'name': 'MODE', 'value': 'prod'}],
        command=['sh', '-c'], args=['login --password=$(PASS) $(MODE)']))
    template = json.dumps(request.template)
    assert 'hunter2' not in template
    app = request.template['spec']['containers'][0]
    assert app['env'] == {'MODE': 'prod'}
    assert app['command'] == ['sh', '-c']
    # The reference stays as written where the value would be expanded.
    assert app['args'] == ['login --password=$(PASS) prod']
    env, command = secret_file(request)
    assert env == [('PASS', 'hunter2'), ('DSN', 'u:hunter2@db')]
    assert command == ['sh', '-c', 'login --password=hunter2 prod']
    labels = request.template['metadata']['labels']
    plan = volume_hints.parse_plan(labels[volume_hints.VOLUMES_LABEL])
    assert plan.env_volume == request.secret_files[0] == 'zun-vk-env'
    assert plan.volumes == {'zun-vk-env': ('files', 0)}
    assert plan.mounts == {}
    assert 'hunter2' not in repr(request)


def test_a_command_without_secret_values_is_not_sent_to_the_host():
    request = translate(pod(env=[secret_ref('PASS', 'password')],
                            command=['echo', 'hello']))
    assert request.template['spec']['containers'][0]['command'] == [
        'echo', 'hello']
    assert secret_file(request) == ([('PASS', 'hunter2')], None)


def test_each_container_gets_its_own_file():
    request = translate(pod(env=[{'name': 'X', 'value': '1'}],
                            init_env=[secret_ref('U', 'user')]))
    assert sorted(request.secret_files[1]) == ['i0']
    assert secret_file(request, 'i0') == ([('U', 'admin')], None)
    assert request.template['spec']['containers'][0]['env'] == {'X': '1'}


def test_no_secret_values_no_volume():
    request = translate(pod(env=[{'name': 'X', 'value': '1'}]))
    assert request.secret_files is None
    plan = volume_hints.parse_plan(
        request.template['metadata']['labels'][volume_hints.VOLUMES_LABEL])
    # Only the termination message file every container gets.
    assert (plan.volumes, plan.env_volume) == ({}, None)
    assert plan.termination == {('c', 0): ('/dev/termination-log', 'File')}


def test_the_volume_name_avoids_the_pods_own():
    request = translate(pod(
        env=[secret_ref('PASS', 'password')],
        volumes=[{'name': 'zun-vk-env', 'emptyDir': {}},
                 {'name': 'zun-vk-env-2', 'emptyDir': {}}]))
    assert request.secret_files[0] == 'zun-vk-env-3'


def test_without_the_companion_the_values_stay_with_a_warning():
    request = translate(pod(env=[secret_ref('PASS', 'password')]),
                        defaults=PLAIN)
    assert request.template['spec']['containers'][0]['env'] == {
        'PASS': 'hunter2'}
    assert request.secret_files is None
    warning, = [w for w in request.warnings if 'Secrets' in w]
    assert 'spec.containers[0].env: PASS from Secrets is stored by Zun' in (
        warning)
    assert '[zun]companion_driver' in warning


def test_a_sub_path_expr_of_a_secret_value_is_refused():
    with pytest.raises(errors.UnsupportedPod) as caught:
        translate(pod(
            env=[secret_ref('PASS', 'password')],
            volumes=[{'name': 'data', 'emptyDir': {}}],
            mounts=[{'name': 'data', 'mountPath': '/d',
                     'subPathExpr': 'x/$(PASS)'}]))
    assert ('spec.containers[0].volumeMounts[0].subPathExpr' in
            str(caught.value))
    assert 'hunter2' not in str(caught.value)


def test_the_plan_names_the_volume_of_the_secret_variables():
    text = volume_hints.format_plan({'cfg': ('files', 0)},
                                    {('c', 0): [('cfg', '/c', '', False)]},
                                    'zun-vk-env')
    plan = volume_hints.parse_plan(text)
    assert plan.env_volume == 'zun-vk-env'
    assert plan.names('files') == ['cfg', 'zun-vk-env']
    assert volume_hints.parse_plan(plan.to_json()) == plan


@pytest.mark.parametrize('text, why', [
    ('{"v": {"a": ["disk", 0]}, "e": "a"}', 'need a files volume'),
    ('{"v": {}, "e": "zun-vk-env"}', 'need a files volume'),
    ('{"v": {"a": ["files"]}, "m": {"c0": [["a", "/x", "", false]]},'
     ' "e": "a"}', 'must not be mounted'),
])
def test_a_broken_plan_of_secret_variables_is_refused(text, why):
    with pytest.raises(volume_hints.BadPlan) as caught:
        volume_hints.parse_plan(text)
    assert why in str(caught.value)


@pytest.mark.parametrize('data', [
    b'not json', b'[]', b'{"env": [["A"]]}', b'{"env": [["A", 1]]}',
    b'{"env": [], "command": "sh"}', b'\xff',
])
def test_a_broken_file_of_secret_variables_is_refused(data):
    with pytest.raises(env_hints.BadEnvFile):
        env_hints.parse_file(data)


def test_the_file_round_trips():
    data = env_hints.format_file([('A', 'x=1\n')], ['sh', '-c', 'é'])
    assert env_hints.parse_file(data) == ([('A', 'x=1\n')],
                                          ['sh', '-c', 'é'])


def pod_ip(name='POD_IP', field='status.podIP'):
    return {'name': name, 'valueFrom': {'fieldRef': {'fieldPath': field}}}


def translate_late(p):
    resolved = pod_env.resolve_env(p, CONFIGMAPS, SECRETS,
                                   pod_ip_on_host=True)
    return ptc.pod_to_capsule(p, cluster_id='c', node_name='n',
                              resolved_env=resolved, defaults=HOST)


def test_the_pod_ip_is_left_to_the_host_with_a_mark():
    request = translate_late(pod(
        env=[pod_ip(), pod_ip('POD_IPS', 'status.podIPs'),
             {'name': 'URL', 'value': 'http://$(POD_IP):8080'},
             {'name': 'MODE', 'value': 'prod'}],
        command=['serve', '--bind=$(POD_IP)']))
    app = request.template['spec']['containers'][0]
    assert app['env'] == {'MODE': 'prod'}
    assert app['command'] == ['serve', '--bind=$(POD_IP)']
    assert '\x00' not in json.dumps(request.template)
    env, command = secret_file(request)
    ip, ips = (env_hints.FIELD_MARKS['status.podIP'],
               env_hints.FIELD_MARKS['status.podIPs'])
    assert env == [('POD_IP', ip), ('POD_IPS', ips),
                   ('URL', 'http://%s:8080' % ip)]
    assert command == ['serve', '--bind=%s' % ip]
    assert [env_hints.complete(v, ['10.0.0.5', 'fd00::5'])
            for _n, v in env] == ['10.0.0.5', '10.0.0.5,fd00::5',
                                  'http://10.0.0.5:8080']


def test_without_the_companion_the_pod_ip_refuses_the_pod():
    with pytest.raises(errors.UnsupportedPod) as caught:
        translate(pod(env=[pod_ip()]), defaults=PLAIN)
    assert "companion driver and agent" in str(caught.value)


def test_a_sub_path_expr_of_the_pod_ip_is_refused():
    with pytest.raises(errors.UnsupportedPod) as caught:
        translate_late(pod(
            env=[pod_ip()], volumes=[{'name': 'data', 'emptyDir': {}}],
            mounts=[{'name': 'data', 'mountPath': '/d',
                     'subPathExpr': '$(POD_IP)'}]))
    assert 'cannot use the pod IP (POD_IP)' in str(caught.value)


@pytest.mark.parametrize('addresses, ips', [
    (None, []),
    ({'net-1': [{'addr': '10.0.0.5'}, {'addr': 'fd00::5'}],
      'net-2': [{'addr': '10.1.0.5'}]}, ['10.0.0.5', 'fd00::5']),
    ({'net-1': [{'addr': 'fd00::5'}, {'addr': ''}]}, ['fd00::5']),
])
def test_pod_ips_follow_the_status_rule(addresses, ips):
    assert env_hints.pod_ips(addresses) == ips


def test_a_mark_without_an_address_is_empty():
    assert env_hints.complete(env_hints.FIELD_MARKS['status.podIP'], []) == ''
    assert env_hints.complete('no marks', []) == 'no marks'


def test_the_pods_etc_hosts_is_planned_as_the_kubelet_writes_it():
    p = pod()
    p['spec'].update(subdomain='web', hostAliases=[
        {'ip': '123.45.67.89', 'hostnames': ['foo', 'bar']}])
    request = translate(p)
    plan = volume_hints.parse_plan(
        request.template['metadata']['labels'][volume_hints.VOLUMES_LABEL])
    assert plan.hosts == {'n': 'p', 'd': 'web.ns.svc.cluster.local',
                          'a': [['123.45.67.89', ['foo', 'bar']]]}
    assert not [w for w in request.warnings if 'hostAliases' in w or
                'subdomain' in w]
    from zun_vk.zun_plugin import etc_hosts
    text = etc_hosts.content(plan.hosts, ['10.0.0.5']).decode()
    assert text.startswith('# Kubernetes-managed hosts file.\n'
                           '127.0.0.1\tlocalhost\n')
    assert '10.0.0.5\tp.web.ns.svc.cluster.local\tp\n' in text
    assert text.endswith('\n# Entries added by HostAliases.\n'
                         '123.45.67.89\tfoo\tbar\n')


@pytest.mark.parametrize('hosts', [
    {'n': 'a b'}, {'n': ''}, {'n': 'p', 'a': [['1.2.3.4', ['x\ny']]]},
    {'n': 'p', 'a': [['', ['x']]]}, {'n': 'p', 'd': 'bad\tdomain'},
])
def test_an_etc_hosts_plan_that_could_inject_lines_is_refused(hosts):
    with pytest.raises(volume_hints.BadPlan):
        volume_hints.parse_plan(json.dumps({'h': hosts}))
