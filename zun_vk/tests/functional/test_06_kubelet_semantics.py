"""What the kubelet does that zun-vk does too, as a kubectl user sees it.

Service variables and resourceFieldRef values are checked in the
capsule's environment as Zun stores it (with either of the stack's
drivers) and, when the stack runs real containers, by the containers
themselves: a pod whose checks pass Succeeds. activeDeadlineSeconds,
kubelet Events and readiness gates need no real containers.
"""

import math
import time

from kubernetes.client import exceptions as k8s_exc
import pytest

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures
from zun_vk.translate import quantity

DEADLINE_MESSAGE = ('Pod was active on the node longer than the specified '
                    'deadline')
GATE = 'zun-vk.test/gate'


def pod_body(name, containers=None, restart_policy='Always', **spec):
    """conftest.pod_body with more spec fields (camelCase)."""
    body = conftest.pod_body(name, restart_policy=restart_policy,
                             containers=containers)
    body['spec'].update(spec)
    return body


def read_pod(kube, namespace, name):
    return kube.core.read_namespaced_pod(name, namespace)


def phase(kube, namespace, name):
    return read_pod(kube, namespace, name).status.phase


def wait_phase(kube, namespace, name, phases, timeout=120):
    fixtures.wait_for(
        lambda: phase(kube, namespace, name) in phases, timeout=timeout,
        description='pod %s %s' % (name, '/'.join(phases)))
    return read_pod(kube, namespace, name)


def checks(name, script, **extra):
    container = {'name': name, 'image': 'busybox',
                 'imagePullPolicy': 'IfNotPresent',
                 'command': ['sh', '-c', script]}
    container.update(extra)
    return container


def capsule_env(zun, pod, index=0):
    """The environment Zun stores for the pod's container at index."""
    capsule = fixtures.wait_for(
        lambda: fixtures.capsule_of_pod(zun, pod.metadata.uid),
        timeout=60, description='capsule of %s' % pod.metadata.name)
    detail = fixtures.capsule_detail(zun, capsule['uuid'])
    return detail['containers'][index].get('environment') or {}


def condition(pod, kind):
    for cond in pod.status.conditions or []:
        if cond.type == kind:
            return cond
    return None


def kubelet_events(kube, namespace, name):
    events = kube.core.list_namespaced_event(
        namespace,
        field_selector='source=kubelet,involvedObject.name=%s' % name)
    return events.items


# --- Service variables ------------------------------------------------


@pytest.fixture
def foo_service(kube, namespace):
    """A ClusterIP Service 'foo' (port 8765, named 'web') in namespace."""
    service = kube.core.create_namespaced_service(namespace, {
        'apiVersion': 'v1', 'kind': 'Service',
        'metadata': {'name': 'foo'},
        'spec': {'selector': {'app': 'nothing'},
                 'ports': [{'name': 'web', 'port': 8765,
                            'targetPort': 8080}]}})
    return service.spec.cluster_ip


def api_service(kube):
    service = kube.core.read_namespaced_service('kubernetes', 'default')
    return service.spec.cluster_ip, service.spec.ports[0].port


def test_service_variables_like_the_kubelet(kube, zun, stack, namespace,
                                            foo_service):
    api_ip, api_port = api_service(kube)
    script = ' && '.join([
        'test "$FOO_SERVICE_HOST" = %s' % foo_service,
        'test "$FOO_SERVICE_PORT" = 8765',
        'test "$FOO_PORT" = tcp://%s:8765' % foo_service,
        'test "$FOO_PORT_8765_TCP_ADDR" = %s' % foo_service,
        'test "$KUBERNETES_SERVICE_HOST" = %s' % api_ip,
        'test "$KUBERNETES_SERVICE_PORT" = %s' % api_port,
        # $(VAR) in args and env sees them, as with the kubelet.
        'test "$1" = %s' % foo_service,
        'test "$URL" = http://%s:8765/' % foo_service,
        # The pod's own variable wins.
        'test "$FOO_SERVICE_PORT_WEB" = mine',
    ])
    container = checks(
        'check', script, args=['_', '$(FOO_SERVICE_HOST)'],
        env=[{'name': 'URL', 'value': 'http://$(FOO_SERVICE_HOST):8765/'},
             {'name': 'FOO_SERVICE_PORT_WEB', 'value': 'mine'}])
    created = kube.core.create_namespaced_pod(namespace, pod_body(
        'svc-env', restart_policy='Never', containers=[container]))
    env = capsule_env(zun, created)
    assert env['FOO_SERVICE_HOST'] == foo_service
    assert env['FOO_PORT_8765_TCP'] == 'tcp://%s:8765' % foo_service
    assert env['FOO_PORT_8765_TCP_PROTO'] == 'tcp'
    assert env['FOO_SERVICE_PORT_WEB'] == 'mine'
    assert env['KUBERNETES_SERVICE_HOST'] == api_ip
    assert env['KUBERNETES_PORT_%s_TCP_PORT' % api_port] == str(api_port)
    assert env['URL'] == 'http://%s:8765/' % foo_service
    if fixtures.real_containers(stack):
        done = wait_phase(kube, namespace, 'svc-env',
                          ('Succeeded', 'Failed'))
        assert done.status.phase == 'Succeeded', (
            'the container did not see the Service variables: exit code %s'
            % done.status.container_statuses[0].state.terminated.exit_code)


def test_without_service_links_only_the_api_service(kube, zun, stack,
                                                    namespace, foo_service):
    api_ip, _port = api_service(kube)
    body = pod_body(
        'no-links', restart_policy='Never', enableServiceLinks=False,
        containers=[checks('check', 'test -z "$FOO_SERVICE_HOST" && '
                           'test "$KUBERNETES_SERVICE_HOST" = %s' % api_ip)])
    created = kube.core.create_namespaced_pod(namespace, body)
    env = capsule_env(zun, created)
    assert 'FOO_SERVICE_HOST' not in env
    assert env['KUBERNETES_SERVICE_HOST'] == api_ip
    if fixtures.real_containers(stack):
        done = wait_phase(kube, namespace, 'no-links',
                          ('Succeeded', 'Failed'))
        assert done.status.phase == 'Succeeded'


# --- resourceFieldRef -------------------------------------------------


def resource_env(name, resource, divisor):
    return {'name': name, 'valueFrom': {'resourceFieldRef': {
        'resource': resource, 'divisor': divisor}}}


def node_allocatable_mib(kube):
    node = kube.core.read_node(conftest.NODE)
    memory = quantity.parse_quantity(node.status.allocatable['memory'])
    return math.ceil(memory / 2 ** 20)


def test_resource_field_ref_with_and_without_limits(kube, zun, stack,
                                                    namespace):
    env = [resource_env('CPU_M', 'limits.cpu', '1m'),
           resource_env('CPU', 'limits.cpu', '1'),
           resource_env('MEM_MI', 'limits.memory', '1Mi'),
           resource_env('REQ_MEM_MI', 'requests.memory', '1Mi')]
    limited = checks(
        'limited', 'test "$CPU_M" = 250 && test "$CPU" = 1 && '
        'test "$MEM_MI" = 64 && test "$REQ_MEM_MI" = 32',
        env=env, resources={'limits': {'cpu': '250m', 'memory': '64Mi'},
                            'requests': {'cpu': '250m', 'memory': '32Mi'}})
    expected_mib = node_allocatable_mib(kube)
    unlimited = checks(
        'unlimited', 'test "$MEM_MI" = %d && test "$REQ_MEM_MI" = 0'
        % expected_mib,
        env=[resource_env('MEM_MI', 'limits.memory', '1Mi'),
             resource_env('REQ_MEM_MI', 'requests.memory', '1Mi')])
    created = kube.core.create_namespaced_pod(namespace, pod_body(
        'resources', restart_policy='Never',
        containers=[limited, unlimited]))
    limited_env = capsule_env(zun, created, 0)
    assert (limited_env['CPU_M'], limited_env['CPU'], limited_env['MEM_MI'],
            limited_env['REQ_MEM_MI']) == ('250', '1', '64', '32')
    # No limit: the node's allocatable memory, as the kubelet gives it.
    unlimited_env = capsule_env(zun, created, 1)
    assert unlimited_env['MEM_MI'] == str(expected_mib)
    assert unlimited_env['REQ_MEM_MI'] == '0'
    if fixtures.real_containers(stack):
        done = wait_phase(kube, namespace, 'resources',
                          ('Succeeded', 'Failed'))
        assert done.status.phase == 'Succeeded'


# --- activeDeadlineSeconds --------------------------------------------


def assert_deadline_exceeded(kube, zun, namespace, name, uid):
    pod = wait_phase(kube, namespace, name, ('Failed',), timeout=120)
    assert pod.status.reason == 'DeadlineExceeded'
    assert pod.status.message == DEADLINE_MESSAGE
    fixtures.wait_for(lambda: fixtures.capsule_of_pod(zun, uid) is None,
                      timeout=90, description='capsule of %s deleted' % name)
    fixtures.wait_for(
        lambda: any(e.reason == 'DeadlineExceeded' and e.type == 'Normal'
                    and e.message == DEADLINE_MESSAGE
                    for e in kubelet_events(kube, namespace, name)),
        timeout=30, description='DeadlineExceeded Event')
    # Failed for good: no new capsule, no other reason later.
    assert phase(kube, namespace, name) == 'Failed'
    assert read_pod(kube, namespace, name).status.reason == (
        'DeadlineExceeded')


def test_active_deadline_seconds_fails_the_pod(kube, zun, namespace):
    started = time.monotonic()
    created = kube.core.create_namespaced_pod(namespace, pod_body(
        'deadline', restart_policy='Never', activeDeadlineSeconds=10))
    assert_deadline_exceeded(kube, zun, namespace, 'deadline',
                             created.metadata.uid)
    took = time.monotonic() - started
    # startTime has whole seconds: the deadline may pass up to 1 s early.
    assert took >= 8, 'failed after %.1f s, before its deadline' % took
    print('pod with activeDeadlineSeconds 10 Failed after %.1f s' % took)


def test_a_deadline_set_on_a_running_pod_applies(kube, zun, namespace):
    created = kube.core.create_namespaced_pod(namespace, pod_body(
        'later-deadline'))
    wait_phase(kube, namespace, 'later-deadline', ('Running',))
    kube.core.patch_namespaced_pod('later-deadline', namespace,
                                   {'spec': {'activeDeadlineSeconds': 5}})
    assert_deadline_exceeded(kube, zun, namespace, 'later-deadline',
                             created.metadata.uid)


# --- Events -----------------------------------------------------------


def test_events_are_the_kubelets(kube, namespace, ready_node):
    kube.core.create_namespaced_pod(namespace, pod_body('events'))
    wait_phase(kube, namespace, 'events', ('Running',))

    def created_and_started():
        found = {(e.reason, e.message, e.involved_object.field_path)
                 for e in kubelet_events(kube, namespace, 'events')}
        return {('Created', 'Created container main',
                 'spec.containers{main}'),
                ('Started', 'Started container main',
                 'spec.containers{main}')} <= found
    fixtures.wait_for(created_and_started, timeout=30,
                      description='Created and Started Events from the '
                      'kubelet')
    for event in kubelet_events(kube, namespace, 'events'):
        assert event.source.component == 'kubelet'
        assert event.source.host == ready_node
    kube.core.delete_namespaced_pod('events', namespace)
    fixtures.wait_for(
        lambda: any(e.reason == 'Killing' and
                    e.message == 'Stopping container main'
                    for e in kubelet_events(kube, namespace, 'events')),
        timeout=60, description='Killing Event')


# --- readiness gates --------------------------------------------------


def set_gate(kube, namespace, name, value):
    """Get the pod, then UpdateStatus with the gate's condition.

    As a controller (or the conformance test of the pod lifecycle) does;
    a 409 means the pod changed in between, so read it again.
    """
    deadline = time.monotonic() + 60
    while True:
        pod = read_pod(kube, namespace, name)
        conditions = [c for c in pod.status.conditions or []
                      if c.type != GATE]
        conditions.append({'type': GATE, 'status': value})
        pod.status.conditions = conditions
        try:
            return kube.core.replace_namespaced_pod_status(name, namespace,
                                                           pod)
        except k8s_exc.ApiException as exc:
            if exc.status != 409 or time.monotonic() > deadline:
                raise


def test_readiness_gate_holds_ready_and_its_condition_survives(
        kube, namespace):
    kube.core.create_namespaced_pod(namespace, pod_body(
        'gated', readinessGates=[{'conditionType': GATE}]))
    wait_phase(kube, namespace, 'gated', ('Running',))

    def ready_reason():
        pod = read_pod(kube, namespace, 'gated')
        ready = condition(pod, 'Ready')
        containers = condition(pod, 'ContainersReady')
        if containers is None or containers.status != 'True':
            return None
        return ready.status, ready.reason, ready.message
    status, reason, message = fixtures.wait_for(
        ready_reason, timeout=60, description='containers ready')
    assert (status, reason) == ('False', 'ReadinessGatesNotReady')
    assert message == ('corresponding condition of pod readiness gate '
                       '"%s" does not exist.' % GATE)

    set_gate(kube, namespace, 'gated', 'True')
    fixtures.wait_for(
        lambda: condition(read_pod(kube, namespace, 'gated'),
                          'Ready').status == 'True',
        timeout=60, description='Ready once the gate is True')
    # zun-vk wrote Ready: the gate's condition is still there.
    assert condition(read_pod(kube, namespace, 'gated'),
                     GATE).status == 'True'

    set_gate(kube, namespace, 'gated', 'False')
    fixtures.wait_for(
        lambda: condition(read_pod(kube, namespace, 'gated'),
                          'Ready').reason == 'ReadinessGatesNotReady',
        timeout=60, description='not Ready once the gate is False')
    pod = read_pod(kube, namespace, 'gated')
    assert condition(pod, GATE).status == 'False'
    assert condition(pod, 'Ready').message == (
        'the status of pod readiness gate "%s" is not "True", but False'
        % GATE)
