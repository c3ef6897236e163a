"""Pods as real containers: Zun's docker driver on podman.

Only when the stack's zun-compute runs real containers
(`tools/localstack up` where podman works, or `up --real-containers`):
exit codes, Jobs, a shared network namespace and clean deletion come
from the engine itself, through the companion driver's state sync.
"""

import time

import pytest

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures


@pytest.fixture(autouse=True)
def real_containers_only(stack):
    fixtures.require_real_containers(stack)


busybox = fixtures.busybox


def read_pod(kube, namespace, name):
    return kube.core.read_namespaced_pod(name, namespace)


def statuses(pod):
    return {cs.name: cs for cs in pod.status.container_statuses or []}


def wait_phase(kube, namespace, name, phases, timeout=120):
    started = time.monotonic()
    fixtures.wait_for(
        lambda: read_pod(kube, namespace, name).status.phase in phases,
        timeout=timeout, interval=0.5,
        description='pod %s %s' % (name, '/'.join(phases)))
    return time.monotonic() - started


def engine_names(zun, capsule_uuid):
    """Names of the capsule's containers in the engine (zun-<uuid>)."""
    detail = fixtures.capsule_detail(zun, capsule_uuid)
    uuids = [capsule_uuid] + [c['uuid'] for c in
                              (detail.get('containers') or []) +
                              (detail.get('init_containers') or [])]
    return {'zun-%s' % u for u in uuids}


def test_exit_3_fails_the_pod_with_exit_code_3(kube, namespace):
    body = conftest.pod_body('exit-3', restart_policy='Never', containers=[
        busybox('work', 'sleep 1; exit 3')])
    kube.core.create_namespaced_pod(namespace, body)
    took = wait_phase(kube, namespace, 'exit-3', ('Failed', 'Succeeded'))
    pod = read_pod(kube, namespace, 'exit-3')
    assert pod.status.phase == 'Failed'
    terminated = statuses(pod)['work'].state.terminated
    assert terminated.exit_code == 3
    assert terminated.reason == 'Error'
    assert terminated.finished_at is not None
    assert terminated.started_at is not None
    assert terminated.finished_at >= terminated.started_at
    print('pod Failed with exit code 3 %.1f s after it was created; ran '
          '%.1f s' % (took, (terminated.finished_at -
                             terminated.started_at).total_seconds()))


def test_exit_0_succeeds(kube, namespace):
    body = conftest.pod_body('exit-0', restart_policy='Never', containers=[
        busybox('work', 'echo done')])
    kube.core.create_namespaced_pod(namespace, body)
    took = wait_phase(kube, namespace, 'exit-0', ('Failed', 'Succeeded'))
    pod = read_pod(kube, namespace, 'exit-0')
    assert pod.status.phase == 'Succeeded'
    terminated = statuses(pod)['work'].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, 'Completed')
    assert terminated.finished_at is not None
    print('pod Succeeded %.1f s after it was created' % took)


def test_job_completes(kube, namespace):
    template = conftest.pod_body('job', restart_policy='Never', containers=[
        busybox('work', 'i=0; while [ $i -lt 3 ]; do i=$((i+1)); '
                'sleep 1; done; echo counted $i')])
    kube.batch.create_namespaced_job(namespace, {
        'apiVersion': 'batch/v1', 'kind': 'Job',
        'metadata': {'name': 'counts'},
        'spec': {'backoffLimit': 0, 'template': {
            'metadata': template['metadata'], 'spec': template['spec']}}})
    started = time.monotonic()
    fixtures.wait_for(
        lambda: (kube.batch.read_namespaced_job(
            'counts', namespace).status.succeeded or 0) == 1,
        timeout=180, interval=0.5, description='Job complete')
    job = kube.batch.read_namespaced_job('counts', namespace)
    assert any(c.type == 'Complete' and c.status == 'True'
               for c in job.status.conditions or [])
    print('Job complete %.1f s after it was created'
          % (time.monotonic() - started))


def test_containers_of_a_pod_share_one_network_namespace(kube, namespace):
    serve = ('mkdir -p /www && echo hello-from-httpd > /www/index.html && '
             'exec httpd -f -p 8080 -h /www')
    fetch = ('for i in $(seq 1 60); do '
             'wget -qO- http://127.0.0.1:8080/ | grep -q hello-from-httpd '
             '&& exit 0; sleep 0.5; done; exit 1')
    body = conftest.pod_body('pair', restart_policy='Never', containers=[
        busybox('web', serve, ports=[{'containerPort': 8080}]),
        busybox('client', fetch)])
    kube.core.create_namespaced_pod(namespace, body)
    started = time.monotonic()

    def client_done():
        cs = statuses(read_pod(kube, namespace, 'pair')).get('client')
        return cs is not None and cs.state.terminated is not None
    fixtures.wait_for(client_done, timeout=120, interval=0.5,
                      description='client container finished')
    pod = read_pod(kube, namespace, 'pair')
    cs = statuses(pod)
    assert cs['client'].state.terminated.exit_code == 0, (
        'wget could not reach httpd on 127.0.0.1:8080 of its own pod')
    assert cs['web'].state.running is not None
    assert pod.status.phase == 'Running'
    assert pod.status.pod_ip
    print('client fetched the page from its sibling over 127.0.0.1 %.1f s '
          'after the pod was created; pod IP %s'
          % (time.monotonic() - started, pod.status.pod_ip))


def test_deleting_the_pod_leaves_no_container(kube, zun, namespace):
    body = conftest.pod_body(
        'short-lived', restart_policy='Never',
        init_containers=[busybox('init', 'true')],
        containers=[busybox('main', "trap 'exit 0' TERM; "
                            "while :; do sleep 1; done"),
                    busybox('side', "trap 'exit 0' TERM; "
                            "while :; do sleep 1; done")])
    kube.core.create_namespaced_pod(namespace, body)
    wait_phase(kube, namespace, 'short-lived', ('Running',))
    uid = read_pod(kube, namespace, 'short-lived').metadata.uid
    capsule = fixtures.capsule_of_pod(zun, uid)
    names = engine_names(zun, capsule['uuid'])
    present = fixtures.podman_container_names()
    # The sandbox, the init container and both containers.
    assert len(names) == 4
    assert names <= present, names - present

    started = time.monotonic()
    kube.core.delete_namespaced_pod('short-lived', namespace)

    def gone():
        pods = kube.core.list_namespaced_pod(namespace).items
        return not [p for p in pods if p.metadata.name == 'short-lived']
    fixtures.wait_for(gone, timeout=120, interval=0.5,
                      description='pod deleted')
    pod_gone = time.monotonic() - started
    fixtures.wait_for(
        lambda: not (names & fixtures.podman_container_names()),
        timeout=120, interval=0.5,
        description='its containers gone from podman ps -a')
    fixtures.wait_for(
        lambda: fixtures.capsule_detail(zun, capsule['uuid']) is None,
        timeout=60, interval=0.5, description='capsule gone')
    print('pod gone %.1f s, its 4 containers gone from podman %.1f s '
          'after the delete' % (pod_gone, time.monotonic() - started))
