"""Capsule notifications: pod statuses follow capsules without polling.

The stack's zun-compute runs zun-vk's companion driver, which sends a
capsule notification when a capsule changes (on the stack's topic). Each
test starts a zun-vk of its own, for a node of its own, that polls the
capsule list only every 300 s, so a pod that follows its capsule within
seconds can only have heard about it through a notification. Works with
the test driver (a label makes the capsule's container exit) and with
real containers (the container exits by itself).

The last test stops the machine's RabbitMQ for a while; deselect it with
``-m "not broker_outage"``.
"""

import time
import uuid

import pytest

from zun_vk.tests.functional import fixtures

CLUSTER = 'functional-notify'
LONG = 300          # [sync] status_poll_interval and reconcile_interval
EXIT_LABEL = 'zun-vk.test/exit-code'
DELAY_LABEL = 'zun-vk.test/start-delay'


@pytest.fixture(scope='module')
def stack():
    return fixtures.ensure_stack()


@pytest.fixture(scope='module')
def kube(stack):
    return fixtures.kube_clients(stack)


@pytest.fixture(scope='module')
def zun(stack):
    return fixtures.zun_client(stack)


@pytest.fixture(scope='module')
def topic(stack):
    return stack.env.get('ZUN_VK_STACK_NOTIFY_TOPIC', 'zun_vk_stack')


@pytest.fixture(scope='module')
def notifying_stack(stack):
    if stack.env.get('ZUN_VK_STACK_NOTIFICATIONS') != 'true':
        pytest.skip('the stack runs without notifications '
                    '(tools/localstack up --no-notifications)')
    return stack


@pytest.fixture
def vks(stack, kube, topic, tmp_path):
    """Start zun-vk processes for nodes of their own; stopped afterwards."""
    started = []

    def start(node, notifications=True, poll=LONG, reconcile=LONG):
        overrides = {
            'DEFAULT': {'cluster_id': CLUSTER},
            'sync': {'status_poll_interval': poll,
                     'reconcile_interval': reconcile,
                     'orphan_grace_period': 30, 'pod_workers': 4},
            'notifications': {'enabled': str(notifications).lower(),
                              'topics': topic, 'exchange': 'zun'},
        }
        t0 = time.monotonic()
        process = fixtures.start_zun_vk(stack, node, tmp_path, overrides,
                                        kube=kube)
        process.started = t0
        process.node = node
        started.append(process)
        print('zun-vk for %s (notifications %s, poll %d s) Ready in %.1f s'
              % (node, 'on' if notifications else 'off', poll,
                 time.monotonic() - t0))
        return process
    yield start
    for process in started:
        process.close()
    for process in started:
        fixtures.delete_node(kube, process.node)


@pytest.fixture
def namespace(kube, zun):
    name = 'zvk-n-%s' % uuid.uuid4().hex[:8]
    kube.core.create_namespace({'metadata': {'name': name}})
    yield name
    # The zun-vk processes may be gone already: delete what is left of
    # the namespace's capsules directly.
    for pod in kube.core.list_namespaced_pod(name).items:
        capsule = fixtures.capsule_of_pod(zun, pod.metadata.uid)
        if capsule is not None:
            fixtures.delete_capsule(zun, capsule['uuid'])
        kube.core.delete_namespaced_pod(pod.metadata.name, name,
                                        grace_period_seconds=0)
    kube.core.delete_namespace(name)


def exiting_pod(stack, node, name, code=3, after=2, delay=None):
    """A pod whose only container exits with code `after` s after start.

    Test driver: labels make the capsule's containers exit at the state
    sync after it runs (and stay Creating for `delay` s first). Real
    containers: the command does it.
    """
    labels = {}
    if fixtures.real_containers(stack):
        sleep = after + (delay or 0)
        command = ['sh', '-c', 'sleep %d; exit %d' % (sleep, code)]
    else:
        labels[EXIT_LABEL] = str(code)
        if delay:
            labels[DELAY_LABEL] = str(delay)
        command = ['sh', '-c', 'sleep 3600']
    return fixtures.pod_body_for(node, name, [{
        'name': 'work', 'image': 'busybox', 'imagePullPolicy':
        'IfNotPresent', 'command': command}], labels=labels)


def running_pod(node, name):
    return fixtures.pod_body_for(node, name, [{
        'name': 'main', 'image': 'busybox', 'imagePullPolicy':
        'IfNotPresent', 'command': [
            'sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"]}])


def pod_view(kube, namespace, name):
    """(phase, [(container, state, exit code)]) of a pod."""
    pod = kube.core.read_namespaced_pod(name, namespace)
    containers = []
    for cs in pod.status.container_statuses or []:
        if cs.state.terminated:
            containers.append((cs.name, 'terminated',
                               cs.state.terminated.exit_code))
        elif cs.state.running:
            containers.append((cs.name, 'running', None))
        elif cs.state.waiting:
            containers.append((cs.name, 'waiting:%s'
                               % cs.state.waiting.reason, None))
    return pod.status.phase, containers


def watch_capsule(zun, kube, namespace, name, statuses, timeout=180):
    """Poll the Zun API until the pod's capsule has one of statuses.

    Returns (monotonic time first seen, capsule detail).
    """
    pod = kube.core.read_namespaced_pod(name, namespace)
    uid = pod.metadata.uid
    capsule = fixtures.wait_for(
        lambda: fixtures.capsule_of_pod(zun, uid), timeout=120,
        interval=0.5, description='capsule of pod %s' % name)

    def changed():
        detail = fixtures.capsule_detail(zun, capsule['uuid'])
        if detail and detail['status'] in statuses:
            return time.monotonic(), detail
        return None
    return fixtures.wait_for(changed, timeout=timeout, interval=0.2,
                             description='capsule of %s %s' % (
                                 name, '/'.join(statuses)))


def wait_pod_failed_with(kube, namespace, name, code, timeout):
    def failed():
        phase, containers = pod_view(kube, namespace, name)
        if phase == 'Failed' and containers and \
                containers[0][1:] == ('terminated', code):
            return time.monotonic()
        return None
    return fixtures.wait_for(failed, timeout=timeout, interval=0.2,
                             description='pod %s Failed with exit code %d'
                             % (name, code))


def check_transition_arrives(stack, kube, zun, namespace, vk, name,
                             code=3):
    """Create an exiting pod; the pod follows its capsule well before a poll.

    Returns the delay (s) between the capsule's change seen in the Zun API
    and the pod's.
    """
    created = time.monotonic()
    kube.core.create_namespaced_pod(
        namespace, exiting_pod(stack, vk.node, name, code))
    capsule_at, capsule = watch_capsule(zun, kube, namespace, name,
                                        ('Stopped', 'Error'))
    assert capsule['status'] == 'Stopped', capsule
    assert 'exited with code %d' % code in (capsule['status_reason'] or '')
    pod_at = wait_pod_failed_with(kube, namespace, name, code, timeout=60)
    pod = kube.core.read_namespaced_pod(name, namespace)
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated.finished_at is not None
    assert terminated.reason == 'Error'
    # No poll can have told it: the only one ran when zun-vk started.
    assert pod_at - vk.started < LONG - 10
    delay = pod_at - capsule_at
    print('%s: capsule %s %.1f s after the pod was created; pod Failed '
          '%.2f s after the capsule changed in the Zun API'
          % (name, capsule['status'], capsule_at - created, delay))
    return delay


def test_notification_updates_the_pod_long_before_the_poll(
        notifying_stack, kube, zun, namespace, vks):
    vk = vks('zun-vk-notify')
    delay = check_transition_arrives(notifying_stack, kube, zun, namespace,
                                     vk, 'exits-3')
    assert delay < 60


def test_without_notifications_the_pod_waits_for_the_poll(
        stack, kube, zun, namespace, vks):
    vk = vks('zun-vk-notify-off', notifications=False)
    name = 'exits-3-unheard'
    kube.core.create_namespaced_pod(
        namespace, exiting_pod(stack, vk.node, name))
    capsule_at, capsule = watch_capsule(zun, kube, namespace, name,
                                        ('Stopped', 'Error'))
    before = pod_view(kube, namespace, name)
    assert before[0] != 'Failed'
    seen = set()
    while time.monotonic() < capsule_at + 20:
        view = pod_view(kube, namespace, name)
        seen.add(repr(view))
        assert view[0] != 'Failed', (
            'pod followed its capsule without notifications nor a poll')
        assert all(state != 'terminated' for _n, state, _c in view[1])
        time.sleep(0.5)
    assert time.monotonic() - vk.started < LONG - 10
    print('capsule %s (%s); 20 s later the pod still shows %s (views seen: '
          '%s)' % (capsule['status'], capsule['status_reason'], before[0],
                   '; '.join(sorted(seen))))


def test_garbage_on_the_topic_changes_nothing(
        notifying_stack, kube, zun, namespace, vks, tmp_path):
    vk = vks('zun-vk-notify')
    kube.core.create_namespaced_pod(namespace,
                                    running_pod(vk.node, 'steady'))
    fixtures.wait_for(
        lambda: pod_view(kube, namespace, 'steady')[0] == 'Running',
        timeout=120, interval=0.5, description='pod steady Running')
    steady = pod_view(kube, namespace, 'steady')
    steady_capsule = fixtures.capsule_of_pod(
        zun, kube.core.read_namespaced_pod('steady', namespace).metadata.uid)

    publisher = 'zun-compute.garbage-%s' % uuid.uuid4().hex[:8]
    notifier = fixtures.notification_publisher(notifying_stack,
                                               publisher_id=publisher)
    garbage = [
        ('capsule.update', 'not a capsule at all {{{'),
        ('capsule.update', ['a', 'list', 3]),
        ('capsule.update', 42),
        ('capsule.update', None),
        ('capsule.update', {'zun_vk_object.data': 'a string'}),
        ('capsule.update', {'zun_vk_object.data': {'uuid': 12345}}),
        ('capsule.update', {'uuid': {'nested': True}, 'labels': 'x'}),
        ('capsule.create.end', {'zun_vk_object.data': {
            'uuid': str(uuid.uuid4()), 'status': 'Stopped',
            'labels': {'zun-vk/node': vk.node,
                       'zun-vk/pod-uid': str(uuid.uuid4())}}}),
        # A real capsule of ours, with a payload that lies: zun-vk reads
        # the capsule from the Zun API, never the payload.
        ('capsule.update', {'zun_vk_object.data': {
            'uuid': steady_capsule['uuid'], 'status': 'Error',
            'status_reason': 'made up',
            'labels': {'zun-vk/node': vk.node}}}),
        ('capsule.frobnicate', {'zun_vk_object.data': {
            'uuid': steady_capsule['uuid']}}),
        ('', {}),
    ]
    for event_type, payload in garbage:
        notifier.info({}, event_type, payload)
    notifier.transport.cleanup()

    log = vk.log_file

    def ignored():
        with open(log, errors='replace') as f:
            return sum(1 for line in f
                       if 'Ignoring ' in line and publisher in line)
    # The listener logs what it drops (debug): wait until it has seen the
    # seven payloads that name no capsule (the unknown uuid and the lying
    # payload are looked up; the wrong event types are filtered out).
    fixtures.wait_for(lambda: ignored() >= 7, timeout=30, interval=0.5,
                      description='garbage notifications ignored')
    print('zun-vk ignored %d garbage notifications' % ignored())
    assert vk.is_running()
    assert pod_view(kube, namespace, 'steady') == steady

    delay = check_transition_arrives(notifying_stack, kube, zun, namespace,
                                     vk, 'after-garbage')
    assert delay < 60
    assert pod_view(kube, namespace, 'steady') == steady
    assert vk.is_running()


@pytest.mark.broker_outage
def test_broker_outage(notifying_stack, kube, zun, namespace, vks):
    """RabbitMQ down: polling keeps pods right; notifications resume after.

    zun-api hands capsules to zun-compute over the same broker, so no
    capsule can be created while it is down. A zun-vk that polls every
    2 s follows a capsule that changes during the outage; a zun-vk that
    only listens (poll 300 s) gets the next change after the broker is
    back within seconds.
    """
    poller = vks('zun-vk-outage-poll', notifications=False, poll=2,
                 reconcile=30)
    listener = vks('zun-vk-outage-listen')
    # It changes ~20 s after it is created: during the outage.
    if fixtures.real_containers(notifying_stack):
        body = exiting_pod(notifying_stack, poller.node, 'during', after=25)
    else:
        body = exiting_pod(notifying_stack, poller.node, 'during', delay=20)
    kube.core.create_namespaced_pod(namespace, body)
    uid = kube.core.read_namespaced_pod('during', namespace).metadata.uid

    def handed_to_compute():
        capsule = fixtures.capsule_of_pod(zun, uid)
        if capsule is None:
            return None
        detail = fixtures.capsule_detail(zun, capsule['uuid'])
        # The driver has it once it gave the capsule an address.
        return detail if detail and detail.get('addresses') else None
    fixtures.wait_for(handed_to_compute, timeout=120, interval=0.5,
                      description='capsule handed to zun-compute')

    down_at = time.monotonic()
    stop = fixtures.rabbitmqctl('stop_app')
    assert stop.returncode == 0, stop.stderr.decode(errors='replace')
    try:
        stopped_in = time.monotonic() - down_at
        assert not fixtures.broker_answers()
        capsule_at, capsule = watch_capsule(
            zun, kube, namespace, 'during', ('Stopped', 'Error'),
            timeout=120)
        pod_at = wait_pod_failed_with(kube, namespace, 'during', 3,
                                      timeout=60)
        assert not fixtures.broker_answers(), 'the broker came back early'
        assert poller.is_running() and listener.is_running()
        assert fixtures.node_condition(kube, listener.node) == 'True'
        print('broker stopped in %.1f s; during the outage the capsule '
              'went %s %.1f s in and the polling zun-vk had the pod '
              'Failed %.1f s later' % (stopped_in, capsule['status'],
                                       capsule_at - down_at,
                                       pod_at - capsule_at))
    finally:
        up_at = time.monotonic()
        start = fixtures.rabbitmqctl('start_app', timeout=300)
        fixtures.wait_for(fixtures.broker_answers, timeout=300, interval=1,
                          description='RabbitMQ answering again')
        print('broker down for %.1f s; start_app (%d) answered in %.1f s'
              % (time.monotonic() - down_at, start.returncode,
                 time.monotonic() - up_at))
    assert listener.is_running()
    # zun-compute and zun-vk's listener reconnect by themselves, but a
    # restarted broker has lost their (transient) queues until then: a
    # capsule handed to zun-compute before its queue is back is lost.
    back_at = time.monotonic()
    compute_queue = 'zun-compute.%s' % notifying_stack.env.get(
        'ZUN_VK_STACK_ZUN_HOST', '')
    listen_queue = 'zun-vk-%s' % listener.node

    def reconnected():
        queues = fixtures.queue_consumers()
        return (queues.get(compute_queue, 0) > 0 and
                queues.get(listen_queue, 0) > 0)
    fixtures.wait_for(reconnected, timeout=120, interval=1,
                      description='zun-compute and zun-vk consuming again')
    print('zun-compute and the listening zun-vk consumed again %.1f s '
          'after the broker answered' % (time.monotonic() - back_at))
    # The next change reaches the listening zun-vk at once.
    delay = check_transition_arrives(notifying_stack, kube, zun, namespace,
                                     listener, 'after-outage')
    assert delay < 60
