import copy
import datetime

import pytest

from zun_vk.translate import capsule_to_status as cts

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 28, 1, 10, 0, tzinfo=UTC)
NOW_TEXT = '2026-11-28T01:10:00Z'
EARLIER = '2026-11-28T00:00:00Z'
CREATED = '2026-11-28 01:00:00'
CREATED_TEXT = '2026-11-28T01:00:00Z'
UPDATED = '2026-11-28T01:02:03.000000'
UPDATED_TEXT = '2026-11-28T01:02:03Z'
NODE_IP = '192.0.2.10'


def make_pod(containers=('web',), init=(), policy='Always', status=None,
             gates=()):
    pod = {
        'metadata': {'name': 'web-0', 'namespace': 'shop', 'uid': 'u1'},
        'spec': {
            'restartPolicy': policy,
            'containers': [{'name': n, 'image': 'img-' + n}
                           for n in containers],
        },
        'status': status if status is not None else {
            'phase': 'Pending', 'qosClass': 'Burstable',
            'conditions': [{'type': 'PodScheduled', 'status': 'True',
                            'lastTransitionTime': EARLIER}]},
    }
    if init:
        pod['spec']['initContainers'] = [{'name': n, 'image': 'img-' + n}
                                         for n in init]
    if gates:
        pod['spec']['readinessGates'] = [{'conditionType': g} for g in gates]
    return pod


def zun(index, status='Running', detail=None, reason=None, **extra):
    container = {
        'uuid': 'uuid-%d' % index,
        'name': 'capsule-k8s-shop-web-0-u1-alpha-%d' % index,
        'status': status, 'status_reason': reason,
        'status_detail': detail, 'created_at': CREATED,
        'updated_at': UPDATED,
    }
    container.update(extra)
    return container


def make_capsule(containers, init=(), status='Running', reason=None,
                 addresses=None):
    return {
        'uuid': 'capsule-uuid', 'name': 'k8s-shop-web-0-u1',
        'status': status, 'status_reason': reason, 'cpu': 1.5,
        'memory': '640', 'created_at': CREATED, 'updated_at': UPDATED,
        'restart_policy': {'Name': 'always', 'MaximumRetryCount': '0'},
        'addresses': addresses if addresses is not None else {
            'net-1': [{'addr': '10.0.0.21', 'version': 4, 'port': 'p1',
                       'subnet_id': 's1', 'preserve_on_delete': False}]},
        'containers': list(containers), 'init_containers': list(init),
    }


def status_of(pod, capsule):
    return cts.capsule_to_pod_status(pod, capsule, node_ip=NODE_IP, now=NOW)


def conditions(status):
    return {c['type']: c for c in status['conditions']}


# --- a whole status ---

def test_running_pod_full_status():
    pod = make_pod(containers=('web', 'log'), init=('setup',))
    capsule = make_capsule(
        [zun(1), zun(2, started_at='2026-11-28T01:01:00+00:00')],
        init=[zun(0, 'Stopped', 'Exited(0) 5 seconds ago')])
    assert status_of(pod, capsule) == {
        'phase': 'Running', 'reason': None, 'message': None,
        'qosClass': 'Burstable',
        'conditions': [
            {'type': 'Initialized', 'status': 'True',
             'lastTransitionTime': NOW_TEXT, 'reason': None, 'message': None},
            {'type': 'Ready', 'status': 'True',
             'lastTransitionTime': NOW_TEXT, 'reason': None, 'message': None},
            {'type': 'ContainersReady', 'status': 'True',
             'lastTransitionTime': NOW_TEXT, 'reason': None, 'message': None},
            {'type': 'PodScheduled', 'status': 'True',
             'lastTransitionTime': EARLIER, 'reason': None, 'message': None},
        ],
        'hostIP': NODE_IP,
        'podIP': '10.0.0.21',
        'podIPs': [{'ip': '10.0.0.21'}],
        'startTime': CREATED_TEXT,
        'initContainerStatuses': [{
            'name': 'setup',
            'state': {'terminated': {
                'exitCode': 0, 'reason': 'Completed',
                'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                'containerID': 'zun://uuid-0'}},
            'lastState': {}, 'ready': True, 'restartCount': 0,
            'image': 'img-setup', 'imageID': 'zun://image/img-setup',
            'containerID': 'zun://uuid-0', 'started': False,
        }],
        'containerStatuses': [
            {'name': 'web', 'state': {'running': {
                'startedAt': UPDATED_TEXT}},
             'lastState': {}, 'ready': True, 'restartCount': 0,
             'image': 'img-web', 'imageID': 'zun://image/img-web',
             'containerID': 'zun://uuid-1', 'started': True},
            {'name': 'log', 'state': {'running': {
                'startedAt': '2026-11-28T01:01:00Z'}},
             'lastState': {}, 'ready': True, 'restartCount': 0,
             'image': 'img-log', 'imageID': 'zun://image/img-log',
             'containerID': 'zun://uuid-2', 'started': True},
        ],
    }


def test_creating_capsule_full_status():
    pod = make_pod(init=('setup',))
    capsule = make_capsule([], status='Creating', addresses={})
    assert status_of(pod, capsule) == {
        'phase': 'Pending', 'reason': None, 'message': None,
        'qosClass': 'Burstable',
        'conditions': [
            {'type': 'Initialized', 'status': 'False',
             'reason': 'ContainersNotInitialized',
             'message': 'containers with incomplete status: [setup]',
             'lastTransitionTime': NOW_TEXT},
            {'type': 'Ready', 'status': 'False',
             'reason': 'ContainersNotReady',
             'message': 'containers with unready status: [web]',
             'lastTransitionTime': NOW_TEXT},
            {'type': 'ContainersReady', 'status': 'False',
             'reason': 'ContainersNotReady',
             'message': 'containers with unready status: [web]',
             'lastTransitionTime': NOW_TEXT},
            {'type': 'PodScheduled', 'status': 'True',
             'lastTransitionTime': EARLIER, 'reason': None, 'message': None},
        ],
        'hostIP': NODE_IP,
        'startTime': CREATED_TEXT,
        'initContainerStatuses': [{
            'name': 'setup', 'state': {'waiting': {
                'reason': 'PodInitializing'}},
            'lastState': {}, 'ready': False, 'restartCount': 0,
            'image': 'img-setup', 'imageID': '', 'started': False}],
        'containerStatuses': [{
            'name': 'web', 'state': {'waiting': {
                'reason': 'PodInitializing'}},
            'lastState': {}, 'ready': False, 'restartCount': 0,
            'image': 'img-web', 'imageID': '', 'started': False}],
    }


# --- container states ---

@pytest.mark.parametrize('zun_status, detail, reason, state, ready, started', [
    ('Creating', None, None,
     {'waiting': {'reason': 'ContainerCreating'}}, False, False),
    ('Created', 'Created', None,
     {'waiting': {'reason': 'ContainerCreating'}}, False, False),
    ('Rebuilding', None, None,
     {'waiting': {'reason': 'ContainerCreating'}}, False, False),
    ('Running', 'Up 2 seconds', None,
     {'running': {'startedAt': UPDATED_TEXT}}, True, True),
    ('Paused', 'Up 2 mins (paused)', None,
     {'running': {'startedAt': UPDATED_TEXT}}, False, True),
    ('Deleting', None, None,
     {'running': {'startedAt': UPDATED_TEXT}}, False, True),
    ('Stopped', 'Exited(0) 2 seconds ago ', None,
     {'terminated': {'exitCode': 0, 'reason': 'Completed',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Stopped', 'Exited(3)', 'boom',
     {'terminated': {'exitCode': 3, 'reason': 'Error', 'message': 'boom',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Error', 'Exited(137) 5 mins ago (error)', None,
     {'terminated': {'exitCode': 137, 'reason': 'Error',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Deleting', 'Exited(0) 1 seconds ago', None,
     {'terminated': {'exitCode': 0, 'reason': 'Completed',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Stopped', 'Up 3 seconds', None,
     {'terminated': {'exitCode': 137, 'reason': 'ContainerStatusUnknown',
                     'message': 'Zun reports the container stopped but not '
                                'its exit code.',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Error', None, 'engine said no',
     {'terminated': {'exitCode': 137, 'reason': 'ContainerStatusUnknown',
                     'message': 'engine said no',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Dead', 'Dead', None,
     {'terminated': {'exitCode': 137, 'reason': 'ContainerStatusUnknown',
                     'message': 'Zun reports the container dead but not '
                                'its exit code.',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Deleted', None, None,
     {'terminated': {'exitCode': 137, 'reason': 'ContainerStatusUnknown',
                     'message': 'Zun reports the container deleted but not '
                                'its exit code.',
                     'startedAt': CREATED_TEXT, 'finishedAt': UPDATED_TEXT,
                     'containerID': 'zun://uuid-1'}}, False, False),
    ('Restarting', 'Restarting', None,
     {'waiting': {'reason': 'CrashLoopBackOff',
                  'message': 'The container exited and the container '
                             'engine is restarting it.'}}, False, False),
    ('Unknown', None, 'container state is missing',
     {'waiting': {'reason': 'ContainerStatusUnknown',
                  'message': 'container state is missing'}}, False, False),
])
def test_container_states(zun_status, detail, reason, state, ready, started):
    status = status_of(make_pod(), make_capsule(
        [zun(1, zun_status, detail, reason)]))
    container = status['containerStatuses'][0]
    assert container['state'] == state
    assert container['ready'] is ready
    assert container['started'] is started
    waiting = 'waiting' in state and zun_status in (
        'Creating', 'Created', 'Rebuilding')
    assert ('containerID' in container) is not waiting
    assert container['imageID'] == ('' if waiting else 'zun://image/img-web')


def test_zun_container_times_are_used_when_present():
    status = status_of(make_pod(), make_capsule([zun(
        1, 'Stopped', 'Exited(0)', started_at='2026-11-28T01:00:30Z',
        finished_at='2026-11-28T01:01:30+00:00')]))
    terminated = status['containerStatuses'][0]['state']['terminated']
    assert terminated['startedAt'] == '2026-11-28T01:00:30Z'
    assert terminated['finishedAt'] == '2026-11-28T01:01:30Z'


def test_times_fall_back_to_now():
    container = zun(1)
    del container['updated_at'], container['created_at']
    status = status_of(make_pod(), make_capsule([container]))
    assert status['containerStatuses'][0]['state'] == {
        'running': {'startedAt': NOW_TEXT}}


# --- matching ---

def test_containers_matched_by_position_when_zun_renamed_them():
    pod = make_pod(containers=('a', 'b', 'c'))
    status = status_of(pod, make_capsule(
        [zun(1), zun(2, 'Stopped', 'Exited(1)')]))
    got = [(s['name'], list(s['state']), s.get('containerID'))
           for s in status['containerStatuses']]
    assert got == [('a', ['running'], 'zun://uuid-1'),
                   ('b', ['terminated'], 'zun://uuid-2'),
                   ('c', ['waiting'], None)]
    assert status['containerStatuses'][2]['state'] == {
        'waiting': {'reason': 'ContainerCreating'}}


def test_containers_matched_by_name_when_zun_kept_them():
    pod = make_pod(containers=('a', 'b'))
    capsule = make_capsule([zun(1, name='b'), zun(2, 'Stopped', 'Exited(0)',
                                                  name='a')])
    status = status_of(pod, capsule)
    assert [s['containerID'] for s in status['containerStatuses']] == [
        'zun://uuid-2', 'zun://uuid-1']


def test_positional_candidate_claimed_by_another_name_is_skipped():
    pod = make_pod(containers=('a', 'b'))
    status = status_of(pod, make_capsule([zun(1, name='b')]))
    assert [s.get('containerID') for s in status['containerStatuses']] == [
        None, 'zun://uuid-1']


# --- phase ---

R = ('Running', 'Up 1 second')
C = ('Creating', None)
OK = ('Stopped', 'Exited(0) 1 second ago')
BAD = ('Stopped', 'Exited(2) 1 second ago')
LOST = ('Stopped', None)
RS = ('Restarting', 'Restarting')
UNK = ('Unknown', None)

PHASES = [
    # policy, init states, container states, phase
    ('Always', [], [C], 'Pending'),
    ('Always', [], [R], 'Running'),
    ('Always', [], [R, C], 'Pending'),
    ('Always', [], [R, OK], 'Running'),
    ('Always', [], [OK], 'Running'),
    ('Always', [], [BAD], 'Running'),
    ('Always', [], [RS], 'Running'),
    ('Always', [], [R, UNK], 'Pending'),
    ('Always', [R], [C], 'Pending'),
    ('Always', [OK, C], [C], 'Pending'),
    ('Always', [OK], [R], 'Running'),
    ('Always', [BAD], [C], 'Pending'),
    ('Always', [RS], [C], 'Pending'),
    ('OnFailure', [], [R], 'Running'),
    ('OnFailure', [], [OK, OK], 'Succeeded'),
    ('OnFailure', [], [OK, BAD], 'Running'),
    ('OnFailure', [], [LOST], 'Running'),
    ('OnFailure', [], [RS], 'Running'),
    ('OnFailure', [OK], [OK], 'Succeeded'),
    ('OnFailure', [BAD], [C], 'Pending'),
    ('Never', [], [R], 'Running'),
    ('Never', [], [R, OK], 'Running'),
    ('Never', [], [OK], 'Succeeded'),
    ('Never', [], [OK, BAD], 'Failed'),
    ('Never', [], [LOST], 'Failed'),
    ('Never', [], [C], 'Pending'),
    ('Never', [BAD], [C], 'Failed'),
    ('Never', [BAD], [R], 'Failed'),
    ('Never', [OK], [OK], 'Succeeded'),
    ('Never', [R], [C], 'Pending'),
]


@pytest.mark.parametrize('policy, init, main, phase', PHASES)
def test_phase(policy, init, main, phase):
    pod = make_pod(containers=['c%d' % i for i in range(len(main))],
                   init=['i%d' % i for i in range(len(init))], policy=policy)
    capsule = make_capsule(
        [zun(10 + i, *state) for i, state in enumerate(main)],
        init=[zun(i, *state) for i, state in enumerate(init)])
    status = status_of(pod, capsule)
    assert status['phase'] == phase
    assert status['reason'] is None
    assert status['message'] is None


@pytest.mark.parametrize('old_phase', ['Succeeded', 'Failed'])
def test_terminal_phase_never_changes(old_phase):
    pod = make_pod(status={'phase': old_phase, 'reason': 'Evicted',
                           'message': 'gone'})
    status = status_of(pod, make_capsule([zun(1)]))
    assert (status['phase'], status['reason'], status['message']) == (
        old_phase, 'Evicted', 'gone')
    assert conditions(status)['Ready']['reason'] == (
        'PodCompleted' if old_phase == 'Succeeded' else 'PodFailed')


# --- capsule failures ---

FAILURES = [
    ('There are not enough hosts available.', 'CreateContainerError',
     'Zun could not create the capsule: There are not enough hosts '
     'available. No Zun compute host has room for this pod (cpu 1.5, '
     'memory 640 MiB); lower its resource requests or limits, or ask the '
     'operator to add capacity.'),
    ('No valid host was found. ', 'CreateContainerError',
     'Zun could not create the capsule: No valid host was found. No Zun '
     'compute host has room for this pod (cpu 1.5, memory 640 MiB); lower '
     'its resource requests or limits, or ask the operator to add '
     'capacity.'),
    ('Image nginx:nope could not be found.', 'ErrImagePull',
     'Zun could not create the capsule: Image nginx:nope could not be '
     'found. Check the image name and tag, that its registry is reachable '
     'from the Zun compute hosts, and that it needs no credentials Zun '
     'lacks.'),
    ('Image busybox not present with pull policy of Never',
     'ErrImageNeverPull',
     'Zun could not create the capsule: Image busybox not present with '
     'pull policy of Never. The image is not on the Zun compute host and '
     'imagePullPolicy is Never; use IfNotPresent or Always.'),
    ('Error on pulling image: private/app:1', 'ErrImagePull', None),
    ('Quota exceeded for resources: containers', 'CreateContainerError',
     'Zun could not create the capsule: Quota exceeded for resources: '
     "containers. The project's Zun quota is used up; delete capsules it "
     'no longer needs or ask the operator to raise the quota.'),
    ('Volumes did not reach available status after 60 seconds',
     'CreateContainerError', None),
    ('Container has unexpected status: Restarting', 'CreateContainerError',
     None),
    ('Docker internal error: 500 Server Error.', 'CreateContainerError',
     None),
    ('Something odd', 'CreateContainerError',
     'Zun could not create the capsule: Something odd.'),
    (None, 'CreateContainerError',
     "Zun reports the capsule in Error without a reason; ask the operator "
     "to check zun-compute's log."),
]


@pytest.mark.parametrize('reason, waiting_reason, message', FAILURES)
@pytest.mark.parametrize('policy, phase', [
    ('Always', 'Pending'), ('OnFailure', 'Pending'), ('Never', 'Failed')])
def test_capsule_failure(reason, waiting_reason, message, policy, phase):
    pod = make_pod(policy=policy, containers=('a', 'b'))
    capsule = make_capsule([zun(1, 'Creating')], status='Error',
                           reason=reason, addresses={})
    status = status_of(pod, capsule)
    assert status['phase'] == phase
    assert status['reason'] == 'ProviderFailed'
    if message is not None:
        assert status['message'] == message
    for container in status['containerStatuses']:
        assert container['state'] == {'waiting': {
            'reason': waiting_reason, 'message': status['message']}}


def test_capsule_error_with_running_container_keeps_running():
    capsule = make_capsule([zun(1)], status='Error', reason='odd')
    status = status_of(make_pod(), capsule)
    assert status['phase'] == 'Running'
    assert status['reason'] is None
    assert status['message'] is None


def test_capsule_error_after_success_is_succeeded():
    capsule = make_capsule([zun(1, *OK)], status='Error', reason='odd')
    status = status_of(make_pod(policy='OnFailure'), capsule)
    assert status['phase'] == 'Succeeded'


# --- conditions ---

def test_transition_times_kept_while_status_unchanged():
    old = {'phase': 'Running', 'conditions': [
        {'type': 'Initialized', 'status': 'True',
         'lastTransitionTime': '2026-11-28T00:00:01Z'},
        {'type': 'Ready', 'status': 'False',
         'lastTransitionTime': '2026-11-28T00:00:02Z',
         'reason': 'ContainersNotReady'},
        {'type': 'ContainersReady', 'status': 'True',
         'lastTransitionTime': '2026-11-28T00:00:03+00:00'},
        {'type': 'PodScheduled', 'status': 'True',
         'lastTransitionTime': '2026-11-28T00:00:00Z'},
    ]}
    status = status_of(make_pod(status=old), make_capsule([zun(1)]))
    times = {c['type']: c['lastTransitionTime']
             for c in status['conditions']}
    assert times == {'Initialized': '2026-11-28T00:00:01Z',
                     'Ready': NOW_TEXT,
                     'ContainersReady': '2026-11-28T00:00:03Z',
                     'PodScheduled': '2026-11-28T00:00:00Z'}


def test_foreign_conditions_and_fields_are_kept():
    old = {'phase': 'Pending', 'qosClass': 'Guaranteed',
           'nominatedNodeName': 'x',
           'conditions': [{'type': 'example.com/lb', 'status': 'True',
                           'lastTransitionTime': EARLIER},
                          {'type': 'PodReadyToStartContainers',
                           'status': 'True'}]}
    status = status_of(make_pod(status=old), make_capsule([zun(1)]))
    assert status['qosClass'] == 'Guaranteed'
    assert status['nominatedNodeName'] == 'x'
    assert [c['type'] for c in status['conditions']] == [
        'example.com/lb', 'Initialized', 'Ready', 'ContainersReady',
        'PodScheduled']
    assert status['conditions'][0] == old['conditions'][0]


@pytest.mark.parametrize('gates, foreign, ready', [
    (['example.com/lb'], [], (
        'False', 'ReadinessGatesNotReady',
        'corresponding condition of pod readiness gate "example.com/lb" '
        'does not exist.')),
    (['example.com/lb'], [('example.com/lb', 'False')], (
        'False', 'ReadinessGatesNotReady',
        'the status of pod readiness gate "example.com/lb" is not "True", '
        'but False')),
    (['a', 'b'], [('a', 'True')], (
        'False', 'ReadinessGatesNotReady',
        'corresponding condition of pod readiness gate "b" does not '
        'exist.')),
    (['a', 'b'], [('a', 'True'), ('b', 'True')], ('True', None, None)),
])
def test_readiness_gates(gates, foreign, ready):
    old = {'phase': 'Running', 'conditions': [
        {'type': t, 'status': s} for t, s in foreign]}
    pod = make_pod(status=old, gates=gates)
    status = status_of(pod, make_capsule([zun(1)]))
    got = conditions(status)
    assert (got['Ready']['status'], got['Ready'].get('reason'),
            got['Ready'].get('message')) == ready
    assert got['ContainersReady']['status'] == 'True'


def test_initialized_when_a_regular_container_started():
    pod = make_pod(init=('setup',), policy='Always')
    capsule = make_capsule([zun(1)], init=[zun(0, *BAD)])
    got = conditions(status_of(pod, capsule))
    assert got['Initialized']['status'] == 'True'


def test_unready_message_lists_containers_in_spec_order():
    pod = make_pod(containers=('a', 'b', 'c'))
    capsule = make_capsule([zun(1, 'Creating'), zun(2), zun(3, *BAD)])
    got = conditions(status_of(pod, capsule))
    assert got['ContainersReady']['message'] == (
        'containers with unready status: [a c]')


def test_succeeded_conditions():
    pod = make_pod(policy='Never', init=('setup',))
    capsule = make_capsule([zun(1, *OK)], init=[zun(0, *OK)])
    got = conditions(status_of(pod, capsule))
    assert {k: (v['status'], v.get('reason')) for k, v in got.items()} == {
        'Initialized': ('True', 'PodCompleted'),
        'Ready': ('False', 'PodCompleted'),
        'ContainersReady': ('False', 'PodCompleted'),
        'PodScheduled': ('True', None)}


# --- addresses and times ---

@pytest.mark.parametrize('addresses, old, ips', [
    ({'n1': [{'addr': 'fd00::5', 'version': 6},
             {'addr': '10.0.0.5', 'version': 4}],
      'n2': [{'addr': '10.1.0.5', 'version': 4}]}, {},
     ['10.0.0.5', 'fd00::5']),
    ({'n1': [{'addr': 'fd00::5', 'version': 6}]}, {}, ['fd00::5']),
    ({}, {'podIP': '10.9.9.9', 'podIPs': [{'ip': '10.9.9.9'}]},
     ['10.9.9.9']),
    ({}, {'podIP': '10.9.9.8'}, ['10.9.9.8']),
    ({}, {}, []),
])
def test_pod_ips(addresses, old, ips):
    pod = make_pod(status=dict(old, phase='Running'))
    status = status_of(pod, make_capsule([zun(1)], addresses=addresses))
    assert status.get('podIP') == (ips[0] if ips else None)
    assert status.get('podIPs', []) == [{'ip': ip} for ip in ips]


def test_host_ips_only_where_the_api_has_them():
    plain = status_of(make_pod(), make_capsule([zun(1)]))
    assert 'hostIPs' not in plain
    pod = make_pod(status={'phase': 'Pending', 'hostIP': '1.1.1.1',
                           'hostIPs': [{'ip': '1.1.1.1'}]})
    status = status_of(pod, make_capsule([zun(1)]))
    assert status['hostIP'] == NODE_IP
    assert status['hostIPs'] == [{'ip': NODE_IP}]


def test_start_time_kept_once_set():
    pod = make_pod(status={'phase': 'Running',
                           'startTime': '2026-11-27T23:00:00+00:00'})
    assert status_of(pod, make_capsule([zun(1)]))['startTime'] == (
        '2026-11-27T23:00:00Z')


def test_started_at_kept_across_polls():
    first = status_of(make_pod(), make_capsule([zun(1)]))
    pod = make_pod(status=first)
    later = make_capsule([zun(1, updated_at='2026-11-28T01:09:00Z')])
    second = status_of(pod, later)
    assert second['containerStatuses'][0]['state'] == {
        'running': {'startedAt': UPDATED_TEXT}}
    assert not cts.pod_status_changed(first, second)


def test_new_container_id_gets_new_started_at():
    first = status_of(make_pod(), make_capsule([zun(1)]))
    later = make_capsule([zun(7, updated_at='2026-11-28T01:09:00Z')])
    second = status_of(make_pod(status=first), later)
    assert second['containerStatuses'][0]['state']['running'] == {
        'startedAt': '2026-11-28T01:09:00Z'}


def test_termination_keeps_started_at_and_known_exit_code():
    first = status_of(make_pod(policy='Never'), make_capsule([zun(1)]))
    stopped = make_capsule([zun(1, 'Stopped', 'Exited(4) 1 seconds ago',
                                updated_at='2026-11-28T01:05:00Z')])
    second = status_of(make_pod(policy='Never', status=first), stopped)
    assert second['containerStatuses'][0]['state']['terminated'] == {
        'exitCode': 4, 'reason': 'Error', 'startedAt': UPDATED_TEXT,
        'finishedAt': '2026-11-28T01:05:00Z', 'containerID': 'zun://uuid-1'}
    # A later sync loses the detail and bumps updated_at.
    stale = make_capsule([zun(1, 'Stopped', 'Up 2 seconds',
                              updated_at='2026-11-28T01:07:00Z')])
    third = status_of(make_pod(policy='Never', status=second), stale)
    assert third['containerStatuses'][0]['state'] == (
        second['containerStatuses'][0]['state'])
    assert third['phase'] == 'Failed'
    assert not cts.pod_status_changed(second, third)


# --- other statuses ---

def test_lost_capsule_status():
    running = status_of(make_pod(containers=('a', 'b'), init=('i',)),
                        make_capsule([zun(1), zun(2, *OK)],
                                     init=[zun(0, *OK)]))
    pod = make_pod(containers=('a', 'b'), init=('i',), status=running)
    status = cts.lost_capsule_status(pod, now=NOW)
    assert status['phase'] == 'Failed'
    assert status['reason'] == 'NotFound'
    assert status['message'] == cts.LOST_MESSAGE
    assert status['containerStatuses'][0] == {
        'name': 'a', 'state': {'terminated': {
            'exitCode': 137, 'reason': 'ContainerStatusUnknown',
            'message': 'The container could not be located when the pod '
                       'was terminated',
            'containerID': 'zun://uuid-1'}},
        'lastState': {}, 'ready': False, 'restartCount': 0,
        'image': 'img-a', 'imageID': 'zun://image/img-a',
        'containerID': 'zun://uuid-1', 'started': False}
    assert status['containerStatuses'][1]['state'] == (
        running['containerStatuses'][1]['state'])
    assert status['initContainerStatuses'][0]['state'] == (
        running['initContainerStatuses'][0]['state'])
    assert status['podIP'] == '10.0.0.21'
    assert status['hostIP'] == NODE_IP
    assert status['startTime'] == CREATED_TEXT
    got = conditions(status)
    assert (got['Ready']['status'], got['Ready']['reason']) == (
        'False', 'PodFailed')
    assert got['Initialized']['status'] == 'True'


def test_lost_capsule_of_succeeded_pod_stays_succeeded():
    pod = make_pod(status={'phase': 'Succeeded'})
    assert cts.lost_capsule_status(pod, now=NOW)['phase'] == 'Succeeded'


def test_refused_pod_status():
    pod = make_pod(init=('i',))
    status = cts.refused_pod_status(
        pod, 'UnsupportedPodSpec', 'spec.hostNetwork: no.', now=NOW)
    assert status == {
        'phase': 'Failed', 'reason': 'UnsupportedPodSpec',
        'message': 'spec.hostNetwork: no.', 'qosClass': 'Burstable',
        'conditions': [
            {'type': 'Initialized', 'status': 'False',
             'reason': 'UnknownContainerStatuses',
             'lastTransitionTime': NOW_TEXT, 'message': None},
            {'type': 'Ready', 'status': 'False', 'reason': 'PodFailed',
             'lastTransitionTime': NOW_TEXT, 'message': None},
            {'type': 'ContainersReady', 'status': 'False',
             'reason': 'PodFailed', 'lastTransitionTime': NOW_TEXT,
             'message': None},
            {'type': 'PodScheduled', 'status': 'True',
             'lastTransitionTime': EARLIER, 'reason': None, 'message': None},
        ],
    }


def test_pending_status():
    pod = make_pod(containers=('a', 'b'))
    message = "ConfigMap shop/cm not found; create it."
    status = cts.pending_status(pod, 'CreateContainerConfigError', message,
                                now=NOW)
    assert status['phase'] == 'Pending'
    assert status['reason'] == 'CreateContainerConfigError'
    assert status['message'] == message
    assert status['startTime'] == NOW_TEXT
    assert [s['state'] for s in status['containerStatuses']] == [
        {'waiting': {'reason': 'CreateContainerConfigError',
                     'message': message}}] * 2
    assert conditions(status)['ContainersReady']['message'] == (
        'containers with unready status: [a b]')
    assert conditions(status)['PodScheduled']['lastTransitionTime'] == (
        EARLIER)


# --- change detection ---

BASE = status_of(make_pod(), make_capsule([zun(1)]))


def _changed(mutate):
    new = copy.deepcopy(BASE)
    mutate(new)
    return cts.pod_status_changed(BASE, new)


def _set(path, value):
    def mutate(status):
        target = status
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


@pytest.mark.parametrize('mutate, changed', [
    (lambda s: None, False),
    (_set(('conditions', 1, 'lastTransitionTime'), '2030-01-01T00:00:00Z'),
     False),
    (_set(('conditions', 1, 'lastProbeTime'), '2030-01-01T00:00:00Z'),
     False),
    (_set(('startTime',), '2026-11-28T01:00:00+00:00'), False),
    (_set(('containerStatuses', 0, 'lastState'), None), False),
    (_set(('qosClass',), 'BestEffort'), False),
    (lambda s: s['conditions'].insert(0, {'type': 'x', 'status': 'True'}),
     False),
    (lambda s: s['conditions'].reverse(), False),
    (_set(('phase',), 'Failed'), True),
    (_set(('reason',), 'NotFound'), True),
    (_set(('message',), 'hello'), True),
    (_set(('podIP',), '10.0.0.22'), True),
    (_set(('hostIP',), '192.0.2.11'), True),
    (_set(('conditions', 1, 'status'), 'False'), True),
    (_set(('conditions', 1, 'message'), 'why'), True),
    (_set(('containerStatuses', 0, 'ready'), False), True),
    (_set(('containerStatuses', 0, 'state'),
          {'waiting': {'reason': 'X'}}), True),
    (_set(('containerStatuses', 0, 'state', 'running', 'startedAt'),
          '2026-11-28T01:05:00Z'), True),
    (lambda s: s.pop('containerStatuses'), True),
])
def test_pod_status_changed(mutate, changed):
    assert _changed(mutate) is changed


def test_pod_status_changed_handles_empty():
    assert not cts.pod_status_changed(None, {})
    assert cts.pod_status_changed({}, {'phase': 'Pending'})


@pytest.mark.parametrize('policy, init, exit_detail, later, kept', [
    ('Never', False, 'Exited(0)', ('Running', 'Up 1 second'), True),
    ('Never', False, 'Exited(1)', ('Restarting', 'Restarting'), True),
    ('OnFailure', False, 'Exited(0)', ('Running', 'Up 1 second'), True),
    ('OnFailure', False, 'Exited(1)', ('Running', 'Up 1 second'), False),
    ('Always', False, 'Exited(0)', ('Running', 'Up 1 second'), False),
    ('Always', True, 'Exited(0)', ('Running', 'Up 1 second'), True),
    ('Always', True, 'Exited(1)', ('Restarting', 'Restarting'), False),
])
def test_final_terminations_are_kept(policy, init, exit_detail, later,
                                     kept):
    def pod_and_capsule(state, status=None):
        if init:
            pod = make_pod(init=('i',), policy=policy, status=status)
            capsule = make_capsule([zun(1, 'Creating')],
                                   init=[zun(0, *state)])
            return pod, capsule, 'initContainerStatuses'
        pod = make_pod(policy=policy, status=status)
        return pod, make_capsule([zun(0, *state)]), 'containerStatuses'

    pod, capsule, key = pod_and_capsule(('Stopped', exit_detail))
    first = status_of(pod, capsule)
    pod, capsule, key = pod_and_capsule(later, status=first)
    second = status_of(pod, capsule)
    before = first[key][0]['state']
    after = second[key][0]['state']
    assert 'terminated' in before
    assert (after == before) is kept


def _strategic_merge(old, patch):
    # What the API server does with a status patch: None deletes a key,
    # conditions merge element by element by type, other lists are
    # replaced.
    result = dict(old)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif key == 'conditions':
            merged = {c['type']: dict(c) for c in old.get(key) or []}
            for condition in value:
                merged[condition['type']] = _strategic_merge(
                    merged.get(condition['type'], {}), condition)
            result[key] = list(merged.values())
        else:
            result[key] = value
    return result


def test_patching_with_the_status_clears_stale_reasons():
    pod = make_pod()
    failing = status_of(pod, make_capsule(
        [zun(1, 'Creating')], status='Error', reason='No valid host was '
        'found.', addresses={}))
    stored = _strategic_merge(pod['status'], failing)
    assert stored['reason'] == 'ProviderFailed'
    running = status_of(make_pod(status=stored), make_capsule([zun(1)]))
    stored = _strategic_merge(stored, running)
    assert 'reason' not in stored and 'message' not in stored
    ready = conditions(stored)['Ready']
    assert ready['status'] == 'True'
    assert 'reason' not in ready and 'message' not in ready


def test_image_is_the_one_zun_runs():
    pod = make_pod()
    capsule = make_capsule([zun(1, image='img-web')])
    first = status_of(pod, capsule)
    # The spec's image is patched: the container Zun runs does not
    # change, so neither does the status (and nothing is written).
    pod['status'] = first
    pod['spec']['containers'][0]['image'] = 'img-web:2'
    second = status_of(pod, capsule)
    status = second['containerStatuses'][0]
    assert (status['image'], status['imageID']) == (
        'img-web', 'zun://image/img-web')
    assert not cts.pod_status_changed(first, second)


def test_image_of_a_container_zun_has_not_made_is_the_specs():
    pod = make_pod()
    status = status_of(pod, make_capsule([], status='Creating'))
    assert status['containerStatuses'][0]['image'] == 'img-web'
