import base64
import copy

import pytest

from zun_vk.translate import errors
from zun_vk.translate import pod_env
from zun_vk.translate import pod_to_capsule as ptc

UID = '7f3c2a1e-90ab-4cde-8f01-23456789abcd'
SA_MOUNT = {'name': 'kube-api-access-x7k2p', 'readOnly': True,
            'mountPath': '/var/run/secrets/kubernetes.io/serviceaccount'}
DEFAULTS = ptc.CapsuleDefaults(cpu=0.5, memory_mb=256)
VOL_1 = '0f2c8e4a-1b3d-4c5e-8f60-718293a4b5c6'
VOL_2 = '1e3d9f5b-2c4e-4d6f-9071-8293a4b5c6d7'
VOL_3 = '2d4eaf6c-3d5f-4e70-a182-93a4b5c6d7e8'


def make_pod(spec=None, container=None, **meta):
    """A pod as the API returns it, with the injected token volume."""
    base_container = {
        'name': 'web', 'image': 'nginx:1.25',
        'imagePullPolicy': 'IfNotPresent',
        'terminationMessagePath': '/dev/termination-log',
        'terminationMessagePolicy': 'File',
        'volumeMounts': [dict(SA_MOUNT)],
    }
    base_container.update(container or {})
    pod = {
        'apiVersion': 'v1', 'kind': 'Pod',
        'metadata': {'name': 'web-0', 'namespace': 'shop', 'uid': UID,
                     'labels': {'app': 'web'},
                     'annotations': {'team': 'blue'}},
        'spec': {
            'nodeName': 'zun-vk-1', 'restartPolicy': 'Always',
            'serviceAccountName': 'default', 'dnsPolicy': 'ClusterFirst',
            'schedulerName': 'default-scheduler',
            'terminationGracePeriodSeconds': 30,
            'volumes': [{'name': 'kube-api-access-x7k2p',
                         'projected': {'defaultMode': 420, 'sources': []}}],
            'containers': [base_container],
        },
        'status': {'phase': 'Pending'},
    }
    pod['metadata'].update(meta)
    spec = dict(spec or {})
    pod['spec']['volumes'] += spec.pop('volumes', [])
    pod['spec'].update(spec)
    return pod


def translate(pod, resolved_env=None, defaults=DEFAULTS):
    if resolved_env is None:
        resolved_env = pod_env.resolve_env(pod, {}, {})
    return ptc.pod_to_capsule(pod, cluster_id='c1', node_name='zun-vk-1',
                              resolved_env=resolved_env, defaults=defaults)


def only_container(request):
    return request.template['spec']['containers'][0]


# --- names and labels ---

@pytest.mark.parametrize('namespace, name, uid, expected', [
    ('shop', 'web-0', UID, 'k8s-shop-web-0-7f3c2a1e'),
    ('default', 'My.Pod', 'ABCDEF12-0000', 'k8s-default-my.pod-abcdef12'),
    ('ns', 'pod_ü✓', '00000000-1', 'k8s-ns-pod-00000000'),
    ('', '', 'deadbeefcafe', 'k8s-deadbeef'),
    ('ns', '...', 'deadbeefcafe', 'k8s-ns-deadbeef'),
])
def test_capsule_name(namespace, name, uid, expected):
    assert ptc.capsule_name(namespace, name, uid) == expected


def test_capsule_name_without_enough_hex_uses_a_hash():
    name = ptc.capsule_name('ns', 'p', 'xyz')
    assert name == ptc.capsule_name('ns', 'p', 'xyz')
    assert name.startswith('k8s-ns-p-')
    assert name != ptc.capsule_name('ns', 'p', 'xyw')


ODD_NAMES = [
    'a', 'A' * 300, 'x.y.z', 'UPPER-case', 'ünïcödé-名前', '-leading',
    'trailing-', '.dot.', 'sp ace', 'tab\tnew\nline', '$(VAR)', '', '-',
    '_', 'a' * 253, 'ns.' * 80, '🚀', '0', '..' * 100,
]


@pytest.mark.parametrize('namespace', ['default', 'kube-system', 'x' * 63,
                                       'Ω', ''])
def test_capsule_name_always_valid_for_zun(namespace):
    seen = set()
    for index, name in enumerate(ODD_NAMES):
        uid = '%08x-0000-4000-8000-000000000000' % index
        result = ptc.capsule_name(namespace, name, uid)
        assert result == ptc.capsule_name(namespace, name, uid)
        assert ptc.ZUN_NAME_PATTERN.fullmatch(result), result
        assert 2 <= len(result) <= ptc.CAPSULE_NAME_MAX_LEN
        # Zun prefixes 'capsule-' and appends '-omicron-24' for containers.
        assert len('capsule-%s-omicron-24' % result) <= 255
        assert result.endswith('-%08x' % index)
        seen.add(result)
    assert len(seen) == len(ODD_NAMES)


def test_zun_vk_labels():
    assert ptc.zun_vk_labels('c1', 'node-a', 'ns', 'pod', 'uid-1') == {
        'zun-vk/cluster-id': 'c1', 'zun-vk/node': 'node-a',
        'zun-vk/namespace': 'ns', 'zun-vk/pod-name': 'pod',
        'zun-vk/pod-uid': 'uid-1'}


# --- the template ---

def test_minimal_pod_template():
    request = translate(make_pod())
    assert request.template == {
        'kind': 'capsule',
        'metadata': {
            'name': 'k8s-shop-web-0-7f3c2a1e',
            'labels': {'app': 'web', 'zun-vk/cluster-id': 'c1',
                       'zun-vk/node': 'zun-vk-1',
                       'zun-vk/namespace': 'shop',
                       'zun-vk/pod-name': 'web-0', 'zun-vk/pod-uid': UID},
            'annotations': {'team': 'blue'},
        },
        'spec': {
            'containers': [{
                'name': 'web', 'image': 'nginx:1.25',
                'imagePullPolicy': 'IfNotPresent',
                'resources': {'requests': {'cpu': 0.5, 'memory': 256}},
            }],
            'initContainers': [],
            'restartPolicy': 'Always',
        },
    }
    assert request.warnings == ()


def test_availability_zone_and_label_precedence():
    pod = make_pod(labels={'app': 'web', 'zun-vk/node': 'forged'})
    request = translate(pod, defaults=ptc.CapsuleDefaults(
        availability_zone='az-2'))
    assert request.template['availabilityZone'] == 'az-2'
    assert request.template['metadata']['labels']['zun-vk/node'] == (
        'zun-vk-1')


def test_full_container_fields():
    pod = make_pod(container={
        'command': ['sh', '-c'], 'args': ['echo $(GREETING) $$(HOME)'],
        'workingDir': '/srv', 'tty': True, 'stdin': True,
        'stdinOnce': True, 'imagePullPolicy': 'Always',
        'env': [{'name': 'GREETING', 'value': 'hi'},
                {'name': 'MSG', 'value': '$(GREETING) there'}],
        'ports': [{'name': 'http', 'containerPort': 80, 'protocol': 'TCP'},
                  {'containerPort': 80},
                  {'containerPort': 53, 'protocol': 'UDP'}],
    })
    request = translate(pod)
    assert only_container(request) == {
        'name': 'web', 'image': 'nginx:1.25',
        'command': ['sh', '-c'], 'args': ['echo hi $(HOME)'],
        'workDir': '/srv',
        'env': {'GREETING': 'hi', 'MSG': 'hi there'},
        'ports': [{'containerPort': 80, 'protocol': 'TCP'},
                  {'containerPort': 53, 'protocol': 'UDP'}],
        'imagePullPolicy': 'Always', 'tty': True, 'stdin': True,
        'resources': {'requests': {'cpu': 0.5, 'memory': 256}},
    }
    assert request.warnings == (
        'spec.containers[0].command: if the image defines an ENTRYPOINT, '
        'Zun keeps it and passes the command to it as arguments; use an '
        'image without an ENTRYPOINT if the command must run as given (or '
        "install zun-vk's companion driver on the compute hosts and set "
        '[zun]companion_driver).',)


def test_init_containers_in_order():
    pod = make_pod(spec={'initContainers': [
        {'name': 'one', 'image': 'busybox', 'args': ['true']},
        {'name': 'two', 'image': 'busybox', 'args': ['true'],
         'resources': {'limits': {'cpu': '2', 'memory': '1Gi'}}}]})
    spec = translate(pod).template['spec']
    assert spec['initContainers'] == [
        {'name': 'one', 'image': 'busybox', 'args': ['true'],
         'resources': {'requests': {'cpu': 0.5, 'memory': 256}}},
        {'name': 'two', 'image': 'busybox', 'args': ['true'],
         'resources': {'requests': {'cpu': 2.0, 'memory': 1024}}},
    ]


@pytest.mark.parametrize('policy', ['Always', 'OnFailure', 'Never'])
def test_restart_policy_passes_through(policy):
    pod = make_pod(spec={'restartPolicy': policy})
    assert translate(pod).template['spec']['restartPolicy'] == policy


def test_missing_restart_policy_is_always():
    pod = make_pod()
    del pod['spec']['restartPolicy']
    assert translate(pod).template['spec']['restartPolicy'] == 'Always'


# --- resources ---

@pytest.mark.parametrize('resources, expected', [
    ({}, {'cpu': 0.5, 'memory': 256}),
    ({'requests': {'cpu': '100m', 'memory': '64Mi'}},
     {'cpu': 0.1, 'memory': 64}),
    ({'requests': {'cpu': '100m'}, 'limits': {'cpu': '1500m'}},
     {'cpu': 1.5, 'memory': 256}),
    ({'requests': {'memory': '64Mi'}, 'limits': {'memory': '1G'}},
     {'cpu': 0.5, 'memory': 954}),
    ({'limits': {'cpu': '2', 'memory': '1.5Gi'}},
     {'cpu': 2.0, 'memory': 1536}),
    ({'requests': {'cpu': '0.25', 'memory': '1e9'}},
     {'cpu': 0.25, 'memory': 954}),
    ({'requests': {'cpu': '10m', 'memory': '1Mi'}},
     {'cpu': 0.1, 'memory': 4}),
    ({'requests': {'cpu': '0', 'memory': '0'}}, {'cpu': 0.1, 'memory': 4}),
    ({'requests': {'cpu': '333m', 'memory': '512k'}},
     {'cpu': 0.333, 'memory': 4}),
    ({'requests': {'cpu': '1', 'memory': '100Mi',
                   'ephemeral-storage': '1Gi'}},
     {'cpu': 1.0, 'memory': 100}),
])
def test_resources(resources, expected):
    pod = make_pod(container={'resources': resources})
    assert only_container(translate(pod))['resources'] == {
        'requests': expected}


def test_ephemeral_storage_warns():
    pod = make_pod(container={'resources': {
        'limits': {'ephemeral-storage': '1Gi'}}})
    assert translate(pod).warnings == (
        'spec.containers[0].resources.limits.ephemeral-storage: ignored; '
        'Zun does not limit container disk per pod.',)


def test_resources_default_and_minimums_come_from_settings():
    defaults = ptc.CapsuleDefaults(cpu=1, memory_mb=512, min_cpu=0.25,
                                   min_memory_mb=32)
    pod = make_pod(spec={'initContainers': [
        {'name': 'i', 'image': 'busybox',
         'resources': {'requests': {'cpu': '1m', 'memory': '1Mi'}}}]})
    spec = translate(pod, defaults=defaults).template['spec']
    assert spec['containers'][0]['resources']['requests'] == {
        'cpu': 1.0, 'memory': 512}
    assert spec['initContainers'][0]['resources']['requests'] == {
        'cpu': 0.25, 'memory': 32}


@pytest.mark.parametrize('resources, field, text', [
    ({'limits': {'cpu': '32'}},
     'spec.containers[0].resources.limits.cpu',
     '32.0 cores is more than the 16.0 cores Zun allows per container'),
    ({'requests': {'memory': '16Gi'}},
     'spec.containers[0].resources.requests.memory',
     '16384 MiB is more than the 8192 MiB Zun allows per container'),
    ({'requests': {'cpu': 'lots'}},
     'spec.containers[0].resources.requests.cpu',
     "invalid quantity 'lots'"),
    ({'limits': {'memory': '-1Gi'}},
     'spec.containers[0].resources.limits.memory',
     "invalid quantity '-1Gi': must not be negative"),
    ({'limits': {'nvidia.com/gpu': '1'}},
     'spec.containers[0].resources.limits.nvidia.com/gpu',
     'Zun capsules offer cpu and memory only'),
    ({'requests': {'hugepages-2Mi': '64Mi'}},
     'spec.containers[0].resources.requests.hugepages-2Mi',
     'Zun capsules offer cpu and memory only'),
    ({'claims': [{'name': 'gpu'}]},
     'spec.containers[0].resources.claims',
     'dynamic resource allocation'),
])
def test_resource_refusals(resources, field, text):
    defaults = ptc.CapsuleDefaults(max_cpu=16.0, max_memory_mb=8192)
    pod = make_pod(container={'resources': resources})
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod, defaults=defaults)
    assert exc.value.field_path == field
    assert text in exc.value.reason


# --- refusals ---

def _privileged(pod):
    pod['spec']['containers'][0]['securityContext'] = {'privileged': True}


def _init_privileged(pod):
    pod['spec']['initContainers'] = [{
        'name': 'i', 'image': 'busybox',
        'securityContext': {'privileged': True}}]


REFUSALS = [
    ({'spec': {'hostNetwork': True}}, 'spec.hostNetwork',
     'spec.hostNetwork: Zun capsules run in their own network namespace; '
     'host networking is not supported.'),
    ({'spec': {'hostPID': True}}, 'spec.hostPID', None),
    ({'spec': {'hostIPC': True}}, 'spec.hostIPC', None),
    ({'spec': {'shareProcessNamespace': True}},
     'spec.shareProcessNamespace', None),
    ({'spec': {'ephemeralContainers': [{'name': 'dbg', 'image': 'busybox'}]}},
     'spec.ephemeralContainers', None),
    ({'spec': {'restartPolicy': 'Sometimes'}}, 'spec.restartPolicy',
     "spec.restartPolicy: 'Sometimes' is not a restart policy Zun knows; "
     'use Always, OnFailure or Never.'),
    ({'spec': {'os': {'name': 'windows'}}}, 'spec.os.name', None),
    ({'spec': {'resourceClaims': [{'name': 'gpu'}]}},
     'spec.resourceClaims', None),
    ({'spec': {'containers': []}}, 'spec.containers', None),
    (_privileged, 'spec.containers[0].securityContext.privileged',
     'spec.containers[0].securityContext.privileged: Zun capsules cannot '
     'run privileged containers.'),
    (_init_privileged, 'spec.initContainers[0].securityContext.privileged',
     None),
    ({'container': {'securityContext': {
        'capabilities': {'add': ['NET_ADMIN']}}}},
     'spec.containers[0].securityContext.capabilities.add', None),
    ({'container': {'securityContext': {'procMount': 'Unmasked'}}},
     'spec.containers[0].securityContext.procMount', None),
    ({'container': {'lifecycle': {'postStart': {'exec': {
        'command': ['true']}}}}},
     'spec.containers[0].lifecycle.postStart', None),
    ({'container': {'volumeDevices': [{'name': 'v', 'devicePath': '/d'}]}},
     'spec.containers[0].volumeDevices', None),
    ({'container': {'restartPolicy': 'Always'}},
     'spec.containers[0].restartPolicy', None),
    ({'spec': {'initContainers': [{'name': 'side', 'image': 'envoy',
                                   'restartPolicy': 'Always'}]}},
     'spec.initContainers[0].restartPolicy', None),
    ({'container': {'image': ''}}, 'spec.containers[0].image', None),
    ({'container': {'image': 'a'}}, 'spec.containers[0].image',
     'spec.containers[0].image: Zun takes image names of 2 to 255 '
     "characters with a letter or digit followed by a letter, digit, '_', "
     "'.' or '-'; write a one-letter Docker Hub name in full "
     '(docker.io/library/<name>).'),
    ({'container': {'image': 'registry.example.com/' + 'a' * 240}},
     'spec.containers[0].image', None),
    ({'container': {'image': ':/@'}}, 'spec.containers[0].image', None),
    ({'container': {'ports': [{'containerPort': 80, 'hostPort': 8080}]}},
     'spec.containers[0].ports[0].hostPort', None),
    ({'container': {'ports': [{'containerPort': 80, 'hostIP': '1.2.3.4'}]}},
     'spec.containers[0].ports[0].hostIP', None),
    ({'container': {'ports': [{'containerPort': 9, 'protocol': 'SCTP'}]}},
     'spec.containers[0].ports[0].protocol',
     'spec.containers[0].ports[0].protocol: Zun capsules expose TCP and '
     'UDP ports only.'),
    ({'spec': {'volumes': [{'name': 'h', 'hostPath': {'path': '/'}}]},
      'container': {'volumeMounts': [{'name': 'h', 'mountPath': '/h'}]}},
     'spec.volumes[1].hostPath', None),
    ({'spec': {'volumes': [{'name': 'd', 'persistentVolumeClaim': {
        'claimName': 'data'}}]}},
     'spec.volumes[1].persistentVolumeClaim', None),
    ({'spec': {'volumes': [{'name': 'e', 'emptyDir': {}}]}},
     'spec.volumes[1].emptyDir', None),
    ({'spec': {'volumes': [{'name': 'c', 'configMap': {'name': 'cm'}}]}},
     'spec.volumes[1].configMap',
     "spec.volumes[1].configMap: configMap volumes need zun-vk's companion "
     'driver and host agent on the compute hosts (install both, then set '
     '[zun]companion_driver = true and configure [host_agents] in '
     'zun-vk.conf).'),
    ({'spec': {'volumes': [{'name': 's', 'secret': {'secretName': 's'}}]}},
     'spec.volumes[1].secret', None),
    ({'spec': {'volumes': [{'name': 'p', 'projected': {'sources': []}}]}},
     'spec.volumes[1].projected', None),
    ({'spec': {'volumes': [{'name': 'd', 'downwardAPI': {'items': []}}]}},
     'spec.volumes[1].downwardAPI', None),
    ({'spec': {'volumes': [{'name': 'n', 'nfs': {'server': 'x',
                                                 'path': '/'}}]}},
     'spec.volumes[1].nfs', None),
    ({'container': {'volumeMounts': [{'name': 'nope', 'mountPath': '/x'}]}},
     'spec.containers[0].volumeMounts[0].name', None),
    ({'spec': {'volumes': [{'name': 'c', 'cinder': {'volumeID': 'vol-1'}}]}},
     'spec.volumes[1].cinder.volumeID',
     'spec.volumes[1].cinder.volumeID: Zun takes a Cinder volume by its ID, '
     "the 36 character UUID that 'openstack volume show -c id' prints."),
    ({'spec': {'volumes': [{'name': 'c', 'cinder': {'fsType': 'ext4'}}]}},
     'spec.volumes[1].cinder.volumeID', None),
    ({'spec': {'volumes': [{'name': 'c', 'cinder': {
        'volumeID': VOL_1, 'readOnly': True}}]}},
     'spec.volumes[1].cinder.readOnly', None),
    ({'spec': {'volumes': [{'name': 'c', 'cinder': {
        'volumeID': VOL_1, 'secretRef': {'name': 's'}}}]}},
     'spec.volumes[1].cinder.secretRef', None),
]


@pytest.mark.parametrize('change, field, text', REFUSALS)
def test_refusals(change, field, text):
    if callable(change):
        pod = make_pod()
        change(pod)
    else:
        pod = make_pod(spec=change.get('spec'),
                       container=change.get('container'))
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod)
    assert exc.value.field_path == field
    assert exc.value.status_reason == 'UnsupportedPodSpec'
    if text is not None:
        assert str(exc.value) == text


@pytest.mark.parametrize('mount, field', [
    ({'readOnly': True}, 'spec.containers[0].volumeMounts[1].readOnly'),
    ({'subPath': 'x'}, 'spec.containers[0].volumeMounts[1].subPath'),
    ({'subPathExpr': '$(X)'},
     'spec.containers[0].volumeMounts[1].subPathExpr'),
    ({'mountPropagation': 'HostToContainer'},
     'spec.containers[0].volumeMounts[1].mountPropagation'),
])
def test_cinder_mount_refusals(mount, field):
    pod = make_pod(spec={'volumes': [
        {'name': 'data', 'cinder': {'volumeID': VOL_1}}]})
    pod['spec']['containers'][0]['volumeMounts'].append(
        dict({'name': 'data', 'mountPath': '/data'}, **mount))
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod)
    assert exc.value.field_path == field


def test_every_problem_is_reported_at_once():
    pod = make_pod(spec={'hostNetwork': True, 'hostPID': True},
                   container={'securityContext': {'privileged': True}})
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod)
    assert [p[0] for p in exc.value.problems] == [
        'spec.hostNetwork', 'spec.hostPID',
        'spec.containers[0].securityContext.privileged']


# --- warnings ---

@pytest.mark.parametrize('spec, container, warning', [
    ({}, {'livenessProbe': {'exec': {'command': ['true']}},
          'readinessProbe': {'httpGet': {'port': 80}}},
     'spec.containers[0]: livenessProbe, readinessProbe are not run by Zun; '
     'the container counts as ready once it runs and is never restarted '
     'for a failing probe.'),
    ({}, {'startupProbe': {'tcpSocket': {'port': 80}}},
     'spec.containers[0]: startupProbe is not run by Zun; the container '
     'counts as ready once it runs and is never restarted for a failing '
     'probe.'),
    ({}, {'lifecycle': {'preStop': {'exec': {'command': ['nginx', '-s',
                                                         'quit']}}}},
     'spec.containers[0].lifecycle.preStop: Zun cannot run it; the '
     'container is stopped without it.'),
    ({}, {'securityContext': {'runAsUser': 1000, 'runAsNonRoot': True,
                              'capabilities': {'drop': ['ALL']},
                              'allowPrivilegeEscalation': False}},
     'spec.containers[0].securityContext: runAsUser, runAsNonRoot, '
     'allowPrivilegeEscalation, capabilities.drop cannot be applied by '
     "Zun; the container runs as the image's user with the container "
     "engine's default profile."),
    ({'securityContext': {'fsGroup': 2000, 'runAsUser': 1000}}, {},
     'spec.securityContext: runAsUser, fsGroup cannot be applied by Zun; '
     "the containers run as the image's user with the container engine's "
     'default profile.'),
    ({'hostname': 'h'}, {},
     "spec.hostname: ignored; a Zun capsule cannot be given a host name "
     "without zun-vk's companion driver ([zun]companion_driver), so its "
     'containers see the name the container engine gives the capsule; '
     "read the pod's name from a fieldRef to metadata.name instead."),
    ({'subdomain': 's'}, {},
     "spec.subdomain: ignored; a Zun capsule's /etc/hosts carries no "
     "domain without zun-vk's companion driver and agent "
     '([zun]companion_driver, [host_agents]).'),
    ({'hostAliases': [{'ip': '1.2.3.4', 'hostnames': ['a']}]}, {},
     "spec.hostAliases: ignored; a Zun capsule's /etc/hosts is written by "
     "the container engine and gets no extra entries without zun-vk's "
     'companion driver and agent ([zun]companion_driver, [host_agents]); '
     'add them in the container command or use DNS names.'),
    ({'dnsConfig': {'nameservers': ['192.0.2.53']}}, {},
     'spec.dnsConfig: ignored; a Zun capsule uses the DNS servers of its '
     'Neutron subnet; ask the operator to set them on the subnet '
     '(openstack subnet set --dns-nameserver).'),
    ({'hostUsers': False}, {},
     'spec.hostUsers: Zun capsules do not use user namespaces; the '
     'setting is ignored.'),
    ({'resources': {'limits': {'cpu': '1'}}}, {},
     'spec.resources: pod-level resources are ignored; Zun sizes a capsule '
     'from its containers.'),
])
def test_warnings(spec, container, warning):
    request = translate(make_pod(spec=spec, container=container))
    assert request.warnings == (warning,)


def test_empty_security_context_does_not_warn():
    pod = make_pod(spec={'securityContext': {}},
                   container={'securityContext': {}})
    assert translate(pod).warnings == ()


# --- volumes ---

def test_service_account_token_volume_dropped():
    pod = make_pod(spec={'initContainers': [{
        'name': 'init', 'image': 'busybox',
        'volumeMounts': [dict(SA_MOUNT)]}]})
    spec = translate(pod).template['spec']
    assert 'volumes' not in spec
    assert 'volumeMounts' not in spec['containers'][0]
    assert 'volumeMounts' not in spec['initContainers'][0]


def test_legacy_secret_token_volume_dropped():
    pod = make_pod(spec={'volumes': [
        {'name': 'default-token-abcde',
         'secret': {'secretName': 'default-token-abcde'}}]})
    pod['spec']['containers'][0]['volumeMounts'] = [
        dict(SA_MOUNT, name='default-token-abcde')]
    assert 'volumes' not in translate(pod).template['spec']


def test_token_named_volume_mounted_elsewhere_is_refused():
    pod = make_pod()
    pod['spec']['containers'][0]['volumeMounts'] = [
        dict(SA_MOUNT, mountPath='/etc/token')]
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod)
    assert exc.value.field_path == 'spec.volumes[0].projected'
    assert exc.value.reason.startswith(
        "projected volumes need zun-vk's companion driver")


def test_cinder_volume():
    pod = make_pod(spec={
        'volumes': [{'name': 'data', 'cinder': {'volumeID': VOL_1,
                                                'fsType': 'xfs'}},
                    {'name': 'x', 'cinder': {'volumeID': VOL_2}},
                    {'name': 'unused', 'cinder': {'volumeID': VOL_3}}],
        'initContainers': [{'name': 'init', 'image': 'busybox',
                            'volumeMounts': [{'name': 'data',
                                              'mountPath': '/data'}]}]})
    pod['spec']['containers'][0]['volumeMounts'] += [
        {'name': 'data', 'mountPath': '/srv/data'},
        {'name': 'x', 'mountPath': '/x', 'readOnly': False,
         'mountPropagation': 'None'}]
    request = translate(pod)
    spec = request.template['spec']
    assert spec['volumes'] == [
        {'name': 'data', 'cinder': {'volumeID': VOL_1}},
        {'name': 'x_vol', 'cinder': {'volumeID': VOL_2}}]
    assert spec['containers'][0]['volumeMounts'] == [
        {'name': 'data', 'mountPath': '/srv/data'},
        {'name': 'x_vol', 'mountPath': '/x'}]
    assert spec['initContainers'][0]['volumeMounts'] == [
        {'name': 'data', 'mountPath': '/data'}]
    assert request.warnings == (
        'spec.volumes[1].cinder.fsType: ignored; Zun mounts Cinder volumes '
        'with the filesystem its operator configured ([volume]fstype).',)


@pytest.mark.parametrize('empty_dir, size', [
    ({}, 1),
    ({'sizeLimit': '500Mi'}, 1),
    ({'sizeLimit': '2Gi'}, 2),
    ({'sizeLimit': '2.5G'}, 3),
])
def test_empty_dir_backed_by_cinder_when_configured(empty_dir, size):
    pod = make_pod(spec={'volumes': [{'name': 'tmp', 'emptyDir': empty_dir}]})
    pod['spec']['containers'][0]['volumeMounts'] = [
        {'name': 'tmp', 'mountPath': '/tmp'}]
    defaults = ptc.CapsuleDefaults(empty_dir_cinder_size_gb=1)
    spec = translate(pod, defaults=defaults).template['spec']
    assert spec['volumes'] == [
        {'name': 'tmp', 'cinder': {'size': size, 'autoRemove': True}}]


def test_memory_empty_dir_needs_host_volumes_even_with_cinder():
    pod = make_pod(spec={'volumes': [{'name': 'shm', 'emptyDir': {
        'medium': 'Memory'}}]})
    with pytest.raises(errors.UnsupportedPod) as exc:
        translate(pod, defaults=ptc.CapsuleDefaults(
            empty_dir_cinder_size_gb=1))
    assert exc.value.field_path == 'spec.volumes[1].emptyDir'
    assert 'companion driver and host agent' in exc.value.reason


# --- environment ---

def b64(text):
    return base64.b64encode(text.encode()).decode()


ENV_POD = make_pod(
    labels={'app': 'web', 'tier': 'front'},
    annotations={'note': 'say "hi"\n'},
    spec={'initContainers': [{
        'name': 'init', 'image': 'busybox',
        'env': [{'name': 'A', 'value': '1'}]}]},
    container={
        'envFrom': [
            {'configMapRef': {'name': 'settings'}},
            {'prefix': 'DB_', 'secretRef': {'name': 'db'}},
            {'configMapRef': {'name': 'gone', 'optional': True}},
        ],
        'env': [
            {'name': 'LEVEL', 'value': 'debug'},
            {'name': 'URL', 'value': 'http://$(HOST):$(PORT)/$(NOPE)'},
            {'name': 'POD', 'valueFrom': {'fieldRef': {
                'apiVersion': 'v1', 'fieldPath': 'metadata.name'}}},
            {'name': 'NS', 'valueFrom': {'fieldRef': {
                'fieldPath': 'metadata.namespace'}}},
            {'name': 'UID', 'valueFrom': {'fieldRef': {
                'fieldPath': 'metadata.uid'}}},
            {'name': 'NODE', 'valueFrom': {'fieldRef': {
                'fieldPath': 'spec.nodeName'}}},
            {'name': 'SA', 'valueFrom': {'fieldRef': {
                'fieldPath': 'spec.serviceAccountName'}}},
            {'name': 'TIER', 'valueFrom': {'fieldRef': {
                'fieldPath': "metadata.labels['tier']"}}},
            {'name': 'MISSING_LABEL', 'valueFrom': {'fieldRef': {
                'fieldPath': "metadata.labels['nope']"}}},
            {'name': 'NOTE', 'valueFrom': {'fieldRef': {
                'fieldPath': "metadata.annotations['note']"}}},
            {'name': 'LABELS', 'valueFrom': {'fieldRef': {
                'fieldPath': 'metadata.labels'}}},
            {'name': 'ANNOTATIONS', 'valueFrom': {'fieldRef': {
                'fieldPath': 'metadata.annotations'}}},
            {'name': 'HOST_IP', 'valueFrom': {'fieldRef': {
                'fieldPath': 'status.hostIP'}}},
            {'name': 'TOKEN', 'valueFrom': {'secretKeyRef': {
                'name': 'api', 'key': 'token'}}},
            {'name': 'COLOR', 'valueFrom': {'configMapKeyRef': {
                'name': 'settings', 'key': 'COLOR'}}},
            {'name': 'OPT_KEY', 'valueFrom': {'configMapKeyRef': {
                'name': 'settings', 'key': 'nope', 'optional': True}}},
            {'name': 'OPT_OBJ', 'valueFrom': {'secretKeyRef': {
                'name': 'gone', 'key': 'k', 'optional': True}}},
            {'name': 'HOST', 'value': 'overridden'},
        ],
    })
CONFIGMAPS = {'settings': {'LEVEL': 'info', 'HOST': 'db.local',
                           'PORT': '5432', 'COLOR': 'blue',
                           'bad=name': 'x'}}
SECRETS = {'db': {'PASSWORD': b64('s3cret')}, 'api': {'token': b64('t0k')}}


def test_resolve_env():
    resolved = pod_env.resolve_env(ENV_POD, CONFIGMAPS, SECRETS,
                                   host_ip='192.0.2.10')
    assert resolved == {
        'init': [{'name': 'A', 'value': '1'}],
        'web': [
            {'name': 'COLOR', 'value': 'blue'},
            {'name': 'HOST', 'value': 'overridden'},
            {'name': 'LEVEL', 'value': 'debug'},
            {'name': 'PORT', 'value': '5432'},
            {'name': 'DB_PASSWORD', 'value': 's3cret', 'secret': True},
            {'name': 'URL', 'value': 'http://db.local:5432/$(NOPE)'},
            {'name': 'POD', 'value': 'web-0'},
            {'name': 'NS', 'value': 'shop'},
            {'name': 'UID', 'value': UID},
            {'name': 'NODE', 'value': 'zun-vk-1'},
            {'name': 'SA', 'value': 'default'},
            {'name': 'TIER', 'value': 'front'},
            {'name': 'MISSING_LABEL', 'value': ''},
            {'name': 'NOTE', 'value': 'say "hi"\n'},
            {'name': 'LABELS', 'value': 'app="web"\ntier="front"'},
            {'name': 'ANNOTATIONS', 'value': 'note="say \\"hi\\"\\n"'},
            {'name': 'HOST_IP', 'value': '192.0.2.10'},
            {'name': 'TOKEN', 'value': 't0k', 'secret': True},
        ],
    }


def test_resolved_env_reaches_the_template():
    resolved = pod_env.resolve_env(ENV_POD, CONFIGMAPS, SECRETS,
                                   host_ip='192.0.2.10')
    template = translate(ENV_POD, resolved_env=resolved).template
    env = template['spec']['containers'][0]['env']
    assert env['URL'] == 'http://db.local:5432/$(NOPE)'
    assert env['DB_PASSWORD'] == 's3cret'
    assert list(env) == [v['name'] for v in resolved['web']]
    assert template['spec']['initContainers'][0]['env'] == {'A': '1'}


def test_env_references():
    assert pod_env.env_references(ENV_POD) == [
        pod_env.EnvReference('ConfigMap', 'shop', 'settings', None, False),
        pod_env.EnvReference('Secret', 'shop', 'db', None, False),
        pod_env.EnvReference('ConfigMap', 'shop', 'gone', None, True),
        pod_env.EnvReference('Secret', 'shop', 'api', 'token', False),
        pod_env.EnvReference('ConfigMap', 'shop', 'settings', 'COLOR', False),
        pod_env.EnvReference('ConfigMap', 'shop', 'settings', 'nope', True),
        pod_env.EnvReference('Secret', 'shop', 'gone', 'k', True),
    ]


def test_env_references_none():
    assert pod_env.env_references(make_pod()) == []


@pytest.mark.parametrize('configmaps, secrets, kind, name, key, found', [
    ({}, SECRETS, 'ConfigMap', 'settings', None, False),
    (CONFIGMAPS, {'api': SECRETS['api']}, 'Secret', 'db', None, False),
    (CONFIGMAPS, {'db': SECRETS['db']}, 'Secret', 'api', 'token', False),
    (CONFIGMAPS, dict(SECRETS, api={'other': b64('x')}), 'Secret', 'api',
     'token', True),
    ({'settings': {'HOST': 'h'}}, SECRETS, 'ConfigMap', 'settings', 'COLOR',
     True),
])
def test_missing_references(configmaps, secrets, kind, name, key, found):
    with pytest.raises(errors.MissingReference) as exc:
        pod_env.resolve_env(ENV_POD, configmaps, secrets, host_ip='192.0.2.10')
    assert (exc.value.kind, exc.value.namespace, exc.value.name,
            exc.value.key, exc.value.object_found) == (
                kind, 'shop', name, key, found)
    assert exc.value.field_path.startswith('spec.containers[0].')


def test_missing_reference_message():
    pod = make_pod(container={'env': [{'name': 'X', 'valueFrom': {
        'configMapKeyRef': {'name': 'cm', 'key': 'k'}}}]})
    with pytest.raises(errors.MissingReference) as exc:
        pod_env.resolve_env(pod, {'cm': {}}, {})
    assert str(exc.value) == (
        'spec.containers[0].env[0].valueFrom.configMapKeyRef: ConfigMap '
        "shop/cm has no key 'k'; add the key or mark the reference "
        'optional.')


def test_configmap_without_data_counts_as_existing():
    pod = make_pod(container={'envFrom': [{'configMapRef': {'name': 'e'}}]})
    assert pod_env.resolve_env(pod, {'e': None}, {}) == {'web': []}


@pytest.mark.parametrize('field_path, host_ip, field, text', [
    ('status.podIP', None,
     'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath',
     'Neutron assigns the pod IP'),
    ('status.podIPs', '192.0.2.1',
     'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath',
     'status.podIPs can only be provided by zun-vk\'s companion'),
    ('status.hostIP', None,
     'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath',
     'the node IP ([node]internal_ip) is not configured'),
    ('spec.schedulerName', None,
     'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath',
     "the field 'spec.schedulerName' is not supported"),
])
def test_unsupported_field_refs(field_path, host_ip, field, text):
    pod = make_pod(container={'env': [{'name': 'X', 'valueFrom': {
        'fieldRef': {'fieldPath': field_path}}}]})
    with pytest.raises(errors.UnsupportedPod) as exc:
        pod_env.resolve_env(pod, {}, {}, host_ip=host_ip)
    assert exc.value.field_path == field
    assert text in exc.value.reason


def test_host_ips_resolves_to_node_ip():
    pod = make_pod(container={'env': [{'name': 'X', 'valueFrom': {
        'fieldRef': {'fieldPath': 'status.hostIPs'}}}]})
    assert pod_env.resolve_env(pod, {}, {}, host_ip='192.0.2.1') == {
        'web': [{'name': 'X', 'value': '192.0.2.1'}]}


def test_resource_field_ref_resolved():
    pod = make_pod(container={
        'resources': {'limits': {'cpu': '250m', 'memory': '64Mi'},
                      'requests': {'cpu': '250m', 'memory': '64Mi'}},
        'env': [
            {'name': 'CPU', 'valueFrom': {
                'resourceFieldRef': {'resource': 'limits.cpu'}}},
            {'name': 'MEM', 'valueFrom': {'resourceFieldRef': {
                'resource': 'requests.memory', 'divisor': '1Mi'}}},
            {'name': 'BOTH', 'value': '$(CPU)/$(MEM)'}]})
    env = pod_env.resolve_env(pod, {}, {})['web']
    assert env == [{'name': 'CPU', 'value': '1'},
                   {'name': 'MEM', 'value': '64'},
                   {'name': 'BOTH', 'value': '1/64'}]


def test_resource_field_ref_unset_limit_is_node_allocatable():
    pod = make_pod(container={'env': [{'name': 'MEM', 'valueFrom': {
        'resourceFieldRef': {'resource': 'limits.memory',
                             'divisor': '1Gi'}}}]})
    env = pod_env.resolve_env(pod, {}, {},
                              node_allocatable={'memory': '409600Mi'})['web']
    assert env == [{'name': 'MEM', 'value': '400'}]


def test_bad_resource_field_ref_refused():
    pod = make_pod(container={'env': [{'name': 'X', 'valueFrom': {
        'resourceFieldRef': {'resource': 'limits.gpu'}}}]})
    with pytest.raises(errors.UnsupportedPod) as exc:
        pod_env.resolve_env(pod, {}, {})
    assert exc.value.field_path == (
        'spec.containers[0].env[0].valueFrom.resourceFieldRef.resource')


@pytest.mark.parametrize('raw', ['not base64!', '%%',
                                 base64.b64encode(b'\xff\xfe').decode()])
def test_secret_that_is_not_text_refused(raw):
    pod = make_pod(container={'env': [{'name': 'X', 'valueFrom': {
        'secretKeyRef': {'name': 's', 'key': 'k'}}}]})
    with pytest.raises(errors.UnsupportedPod) as exc:
        pod_env.resolve_env(pod, {}, {'s': {'k': raw}})
    assert "key 'k' in Secret s is not UTF-8 text" in str(exc.value)


@pytest.mark.parametrize('container', [
    {'env': [{'name': 'X', 'valueFrom': {'fieldRef': {
        'fieldPath': 'metadata.name'}}}]},
    {'envFrom': [{'configMapRef': {'name': 'cm'}}]},
])
def test_unresolved_env_needs_resolve_env(container):
    pod = make_pod(container=container)
    with pytest.raises(ValueError, match='needs resolve_env'):
        ptc.pod_to_capsule(pod, cluster_id='c', node_name='n',
                           resolved_env=None, defaults=DEFAULTS)


def test_literal_env_without_resolution():
    pod = make_pod(container={'env': [{'name': 'A', 'value': 'x'},
                                      {'name': 'B', 'value': '$(A)y'}]})
    request = ptc.pod_to_capsule(pod, cluster_id='c', node_name='n',
                                 resolved_env=None, defaults=DEFAULTS)
    assert only_container(request)['env'] == {'A': 'x', 'B': 'xy'}


ENV = {'VAR_A': 'A', 'VAR_B': 'B', 'VAR_C': 'C', 'VAR_REF': '$(VAR_A)',
       'VAR_EMPTY': ''}


@pytest.mark.parametrize('text, expected', [
    ('$(VAR_A)', 'A'),
    ('$(VAR_A)-$(VAR_A)', 'A-A'),
    ('___$(VAR_B)___', '___B___'),
    ('$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'),
    ('$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'),
    ('$$(VAR_A)_$$(VAR_B)', '$(VAR_A)_$(VAR_B)'),
    ('f000-$$VAR_A', 'f000-$VAR_A'),
    ('foo\\$(VAR_C)bar', 'foo\\Cbar'),
    ('$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'),
    ('$(VAR_A$(VAR_B)', '$(VAR_A$(VAR_B)'),
    ('$(VAR_REF)', '$(VAR_A)'),
    ('foo$(VAR_EMPTY)bar', 'foobar'),
    ('foo$(VAR_Awhoops!', 'foo$(VAR_Awhoops!'),
    ('$?_boo_$!', '$?_boo_$!'),
    ('$VAR_A', '$VAR_A'),
    ('$(VAR_DNE)', '$(VAR_DNE)'),
    ('$$$$$$(BIG_MONEY)', '$$$(BIG_MONEY)'),
    ('$$$$$$$(VAR_A)', '$$$A'),
    ('$$$$$$$(GOOD_ODDS)', '$$$$(GOOD_ODDS)'),
    ('${VAR_A}', '${VAR_A}'),
    ('$(VAR_B)_______$(A', 'B_______$(A'),
    ('$(VAR_C)_______$(', 'C_______$('),
    ('$(VAR_A)foobarzab$', 'Afoobarzab$'),
    ('--$($($($($--', '--$($($($($--'),
    ('$(foo$$var)', '$(foo$$var)'),
    ('', ''),
])
def test_expand_references(text, expected):
    assert pod_env.expand_references(text, ENV) == expected


def test_translation_does_not_modify_the_pod():
    pod = make_pod(container={'args': ['$(X)'],
                              'env': [{'name': 'X', 'value': '1'}]})
    before = copy.deepcopy(pod)
    translate(pod)
    assert pod == before


def test_one_letter_container_name_left_out():
    # Zun's container name rule needs two characters; Zun renames
    # capsule containers anyway.
    pod = make_pod(container={'name': 'a'})
    assert 'name' not in only_container(translate(pod))


@pytest.mark.parametrize('values, text', [
    ({}, ''),
    ({'b': '2', 'a': '1'}, 'a="1"\nb="2"'),
    ({'k': 'tab\there'}, 'k="tab\\there"'),
    ({'k': 'back\\slash'}, 'k="back\\\\slash"'),
    ({'k': 'nul\x00'}, 'k="nul\\x00"'),
    ({'k': 'café ✓'}, 'k="café ✓"'),
])
def test_format_map_like_the_kubelet(values, text):
    assert pod_env.format_map(values) == text


# --- service variables ---

SERVICE_ENV = {'KUBERNETES_SERVICE_HOST': '10.0.0.1',
               'KUBERNETES_SERVICE_PORT': '443',
               'DB_SERVICE_HOST': '10.0.0.7'}


def test_service_env_comes_after_the_pods_own_and_loses_to_it():
    pod = make_pod(container={'env': [
        {'name': 'DB_SERVICE_HOST', 'value': 'db.example'},
        {'name': 'API', 'value': 'https://$(KUBERNETES_SERVICE_HOST):'
                                 '$(KUBERNETES_SERVICE_PORT)'}]})
    env = pod_env.resolve_env(pod, {}, {}, service_env=SERVICE_ENV)['web']
    assert env == [
        {'name': 'DB_SERVICE_HOST', 'value': 'db.example'},
        {'name': 'API', 'value': 'https://10.0.0.1:443'},
        {'name': 'KUBERNETES_SERVICE_HOST', 'value': '10.0.0.1'},
        {'name': 'KUBERNETES_SERVICE_PORT', 'value': '443'},
    ]


def test_a_reference_before_the_pods_own_value_sees_the_services():
    # The kubelet expands in order: until the pod defines the name, the
    # Service's value is the one a $(VAR) sees.
    pod = make_pod(container={'env': [
        {'name': 'BEFORE', 'value': '$(DB_SERVICE_HOST)'},
        {'name': 'DB_SERVICE_HOST', 'value': 'mine'},
        {'name': 'AFTER', 'value': '$(DB_SERVICE_HOST)'}]})
    env = {v['name']: v['value'] for v in pod_env.resolve_env(
        pod, {}, {}, service_env=SERVICE_ENV)['web']}
    assert (env['BEFORE'], env['DB_SERVICE_HOST'], env['AFTER']) == (
        '10.0.0.7', 'mine', 'mine')


def test_service_env_reaches_command_and_template():
    pod = make_pod(container={
        'command': ['sh', '-c'],
        'args': ['test "$(DB_SERVICE_HOST)" = 10.0.0.7']})
    resolved = pod_env.resolve_env(pod, {}, {}, service_env=SERVICE_ENV)
    container = only_container(translate(pod, resolved_env=resolved))
    assert container['command'] == ['sh', '-c']
    assert container['args'] == ['test "10.0.0.7" = 10.0.0.7']
    assert container['env'] == SERVICE_ENV
