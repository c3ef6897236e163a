"""Pods run as Zun capsules: what a kubectl user sees."""

import base64

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures

POD_UID_LABEL = 'zun-vk/pod-uid'


def our_capsules(zun):
    return [c for c in fixtures.list_capsules(zun)
            if (c.get('labels') or {}).get('zun-vk/node') == conftest.NODE
            and (c.get('labels') or {}).get('zun-vk/cluster-id') ==
            conftest.CLUSTER]


def capsules_of(zun, namespace):
    return [c for c in our_capsules(zun)
            if c['labels'].get('zun-vk/namespace') == namespace]


def read_pod(kube, namespace, name):
    return kube.core.read_namespaced_pod(name, namespace)


def phase(kube, namespace, name):
    return read_pod(kube, namespace, name).status.phase


def pod_events(kube, namespace, name):
    events = kube.core.list_namespaced_event(
        namespace, field_selector='involvedObject.name=%s' % name)
    return [(e.type, e.reason, e.message) for e in events.items]


def test_deployment_runs_ready_pods_and_scales_to_zero(
        kube, zun, namespace):
    labels = {'app': 'web'}
    body = {
        'apiVersion': 'apps/v1', 'kind': 'Deployment',
        'metadata': {'name': 'web'},
        'spec': {
            'replicas': 3,
            'selector': {'matchLabels': labels},
            'template': {
                'metadata': {'labels': labels},
                'spec': conftest.pod_spec([{
                    'name': 'httpd', 'image': 'busybox',
                    'command': ['httpd', '-f', '-p', '8080'],
                    'ports': [{'containerPort': 8080}],
                    'resources': {'requests': {'cpu': '100m',
                                               'memory': '64Mi'}}}]),
            },
        },
    }
    kube.apps.create_namespaced_deployment(namespace, body)

    def ready_pods():
        pods = kube.core.list_namespaced_pod(namespace).items
        return [p for p in pods if p.status.phase == 'Running' and
                p.status.pod_ip and any(
                    c.type == 'Ready' and c.status == 'True'
                    for c in p.status.conditions or [])]
    fixtures.wait_for(lambda: len(ready_pods()) == 3, timeout=120,
                      description='3 Running, Ready pods with IPs')
    pods = ready_pods()
    capsules = {c['labels'][POD_UID_LABEL]: c
                for c in capsules_of(zun, namespace)}
    assert sorted(capsules) == sorted(p.metadata.uid for p in pods)
    for pod in pods:
        capsule = capsules[pod.metadata.uid]
        assert pod.spec.node_name == conftest.NODE
        assert pod.status.host_ip == '127.0.0.1'
        status = pod.status.container_statuses[0]
        assert status.name == 'httpd'
        assert status.ready is True
        assert status.state.running is not None
        assert status.container_id.startswith('zun://')
        assert capsule['labels']['app'] == 'web'
    fixtures.wait_for(
        lambda: kube.apps.read_namespaced_deployment(
            'web', namespace).status.available_replicas == 3,
        timeout=60, description='Deployment available')

    kube.apps.patch_namespaced_deployment(
        'web', namespace, {'spec': {'replicas': 0}})
    fixtures.wait_for(
        lambda: not kube.core.list_namespaced_pod(namespace).items,
        timeout=120, description='pods gone after scaling to 0')
    fixtures.wait_for(lambda: not capsules_of(zun, namespace), timeout=60,
                      description='capsules gone after scaling to 0')


def job_body(name, exit_code):
    template = conftest.pod_body(
        name, labels={'zun-vk.test/exit-code': str(exit_code)},
        restart_policy='Never',
        containers=[{'name': 'work', 'image': 'busybox',
                     'command': ['sh', '-c', 'exit %d' % exit_code]}])
    return {'apiVersion': 'batch/v1', 'kind': 'Job',
            'metadata': {'name': name},
            'spec': {'backoffLimit': 0,
                     'template': {'metadata': template['metadata'],
                                  'spec': template['spec']}}}


def job_pod(kube, namespace, job):
    pods = kube.core.list_namespaced_pod(
        namespace, label_selector='job-name=%s' % job).items
    return pods[0] if pods else None


def test_job_failing_with_exit_code_3_ends_failed(kube, namespace):
    kube.batch.create_namespaced_job(namespace, job_body('fails', 3))
    fixtures.wait_for(
        lambda: (job_pod(kube, namespace, 'fails') is not None and
                 job_pod(kube, namespace, 'fails').status.phase == 'Failed'),
        timeout=120, description='pod of the failing Job Failed')
    pod = job_pod(kube, namespace, 'fails')
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated.exit_code == 3
    assert terminated.reason == 'Error'
    assert terminated.finished_at is not None
    fixtures.wait_for(
        lambda: any(c.type == 'Failed' and c.status == 'True'
                    for c in kube.batch.read_namespaced_job(
                        'fails', namespace).status.conditions or []),
        timeout=120, description='Job Failed')


def test_job_exiting_0_succeeds(kube, namespace):
    kube.batch.create_namespaced_job(namespace, job_body('works', 0))
    fixtures.wait_for(
        lambda: (kube.batch.read_namespaced_job(
            'works', namespace).status.succeeded or 0) == 1,
        timeout=120, description='Job succeeded')
    pod = job_pod(kube, namespace, 'works')
    assert pod.status.phase == 'Succeeded'
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, 'Completed')


def test_init_containers_and_env_from_config_map_and_secret(
        kube, zun, namespace):
    kube.core.create_namespaced_config_map(namespace, {
        'metadata': {'name': 'settings'}, 'data': {'colour': 'blue'}})
    kube.core.create_namespaced_secret(namespace, {
        'metadata': {'name': 'creds'},
        'data': {'token': base64.b64encode(b's3cret').decode()}})
    env = [
        {'name': 'COLOUR', 'valueFrom': {'configMapKeyRef': {
            'name': 'settings', 'key': 'colour'}}},
        {'name': 'TOKEN', 'valueFrom': {'secretKeyRef': {
            'name': 'creds', 'key': 'token'}}},
        {'name': 'MAYBE', 'valueFrom': {'secretKeyRef': {
            'name': 'creds', 'key': 'absent', 'optional': True}}},
        {'name': 'POD_NAME', 'valueFrom': {'fieldRef': {
            'fieldPath': 'metadata.name'}}},
        {'name': 'PLAIN', 'value': 'literal'},
    ]
    body = conftest.pod_body(
        'with-env',
        init_containers=[{'name': 'prepare', 'image': 'busybox',
                          'command': ['true']}],
        containers=[{'name': 'main', 'image': 'busybox',
                     'command': ['sleep', '3600'], 'env': env}])
    kube.core.create_namespaced_pod(namespace, body)
    fixtures.wait_for(lambda: phase(kube, namespace, 'with-env') ==
                      'Running', timeout=120,
                      description='pod with init container Running')
    pod = read_pod(kube, namespace, 'with-env')
    init = pod.status.init_container_statuses[0]
    assert init.name == 'prepare'
    assert init.state.terminated.exit_code == 0
    assert any(c.type == 'Initialized' and c.status == 'True'
               for c in pod.status.conditions)
    capsule = capsules_of(zun, namespace)[0]
    detail = fixtures.capsule_detail(zun, capsule['uuid'])
    # Zun renames a capsule's containers; they keep the spec's order.
    main = detail['containers'][0]
    # The pod's own variables, then the kubelet's Service variables.
    own = {k: v for k, v in main['environment'].items()
           if not k.startswith('KUBERNETES_')}
    # The Secret's value reaches the container past Zun (test_09).
    assert own == {'COLOUR': 'blue', 'POD_NAME': 'with-env',
                   'PLAIN': 'literal'}
    assert 'KUBERNETES_SERVICE_HOST' in main['environment']
    assert len(detail['init_containers']) == 1
    # The companion driver made the pod's command the ENTRYPOINT.
    init_zun = detail['init_containers'][0]
    assert (init_zun.get('entrypoint') or []) + (
        init_zun.get('command') or []) == ['true']


def test_missing_config_map_keeps_pod_pending_until_it_appears(
        kube, namespace):
    body = conftest.pod_body('waits', containers=[{
        'name': 'main', 'image': 'busybox', 'command': ['sleep', '3600'],
        'env': [{'name': 'X', 'valueFrom': {'configMapKeyRef': {
            'name': 'later', 'key': 'x'}}}]}])
    kube.core.create_namespaced_pod(namespace, body)

    def waiting_reason():
        statuses = read_pod(kube, namespace, 'waits').status
        for cs in statuses.container_statuses or []:
            if cs.state.waiting:
                return cs.state.waiting.reason
        return None
    fixtures.wait_for(
        lambda: waiting_reason() == 'CreateContainerConfigError',
        timeout=60, description='pod waiting for its ConfigMap')
    assert phase(kube, namespace, 'waits') == 'Pending'
    assert any('later' in (message or '') for _t, _r, message in
               pod_events(kube, namespace, 'waits'))
    kube.core.create_namespaced_config_map(namespace, {
        'metadata': {'name': 'later'}, 'data': {'x': '1'}})
    fixtures.wait_for(lambda: phase(kube, namespace, 'waits') == 'Running',
                      timeout=120, description='pod Running once the '
                      'ConfigMap exists')


def test_host_path_pod_is_refused_and_others_still_run(kube, namespace):
    body = conftest.pod_body(
        'wants-host', volumes=[{'name': 'h', 'hostPath': {'path': '/etc'}}],
        containers=[{'name': 'main', 'image': 'busybox',
                     'command': ['sleep', '3600'],
                     'volumeMounts': [{'name': 'h', 'mountPath': '/h'}]}])
    kube.core.create_namespaced_pod(namespace, body)
    kube.core.create_namespaced_pod(namespace, conftest.pod_body('fine'))
    fixtures.wait_for(lambda: phase(kube, namespace, 'wants-host') ==
                      'Failed', timeout=60,
                      description='hostPath pod Failed')
    pod = read_pod(kube, namespace, 'wants-host')
    assert pod.status.reason == 'UnsupportedPodSpec'
    assert 'hostPath' in pod.status.message
    fixtures.wait_for(
        lambda: any(r == 'UnsupportedPodSpec' and 'hostPath' in m
                    for _t, r, m in pod_events(kube, namespace,
                                               'wants-host')),
        timeout=30, description='Event for the refused pod')
    fixtures.wait_for(lambda: phase(kube, namespace, 'fine') == 'Running',
                      timeout=120, description='other pod Running')


def test_capsule_deleted_behind_our_back_fails_the_pod(kube, zun,
                                                       namespace):
    kube.core.create_namespaced_pod(namespace, conftest.pod_body('lost'))
    fixtures.wait_for(lambda: phase(kube, namespace, 'lost') == 'Running',
                      timeout=120, description='pod Running')
    capsule = capsules_of(zun, namespace)[0]
    fixtures.delete_capsule(zun, capsule['uuid'])
    fixtures.wait_for(lambda: phase(kube, namespace, 'lost') == 'Failed',
                      timeout=90, description='pod Failed once its capsule '
                      'vanished')
    pod = read_pod(kube, namespace, 'lost')
    assert 'capsule' in (pod.status.message or '').lower()
    assert any(r == 'CapsuleLost'
               for _t, r, _m in pod_events(kube, namespace, 'lost'))


def test_deleting_a_pod_removes_its_capsule_and_records_events(
        kube, zun, namespace):
    kube.core.create_namespaced_pod(namespace, conftest.pod_body('bye'))
    fixtures.wait_for(lambda: phase(kube, namespace, 'bye') == 'Running',
                      timeout=120, description='pod Running')
    assert any(r == 'Created' for _t, r, _m in
               pod_events(kube, namespace, 'bye'))
    kube.core.delete_namespaced_pod('bye', namespace)

    def gone():
        try:
            read_pod(kube, namespace, 'bye')
        except Exception as exc:  # noqa: B902
            return getattr(exc, 'status', None) == 404
        return False
    fixtures.wait_for(gone, timeout=60, description='pod deleted')
    assert not capsules_of(zun, namespace)
