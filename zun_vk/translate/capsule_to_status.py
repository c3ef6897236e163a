"""Translate a Zun capsule into a Kubernetes PodStatus (pure functions).

The capsule is the dict zun-api returns at microversion 1.40 (see
``zun/api/controllers/v1/views/capsules_view.py``): uuid, status,
status_reason, addresses, cpu, memory, created_at, updated_at, and
``containers`` / ``init_containers``, each with uuid, name, image, status,
status_reason, status_detail, created_at and updated_at. The result is a
whole PodStatus in API camelCase, meant to replace the pod's status; keys
we do not own (qosClass, foreign conditions, ...) are carried over from
``pod['status']``. reason and message, of the pod and of the conditions
we own, are present with None when unset, so that writing the status as a
merge patch clears stale values.

Rules (what the kubelet does, adapted to what Zun reports):

Matching
    Zun replaces container names with its own (``capsule-<capsule>-<greek>
    -<n>``) and lists a capsule's containers by creation order, which is
    spec order; a spec container is matched by name when Zun kept it,
    else by position. A spec container with no Zun container is waiting
    (ContainerCreating, or PodInitializing behind unfinished init
    containers).

Container states (Zun statuses from zun/common/consts.py)
    Creating, Created, Rebuilding: waiting ContainerCreating
    (PodInitializing while init containers have not completed).
    Running: running, ready. Paused: running, not ready.
    Restarting: waiting CrashLoopBackOff (the engine is restarting it).
    Stopped, Error, Dead, Deleted: terminated. The exit code comes from
    ``status_detail`` ('Exited(3) 2 seconds ago'); reason Completed for 0,
    else Error; message from status_reason. When Zun gives no exit code
    (its own periodic sync records none), exitCode 137 with reason
    ContainerStatusUnknown, the kubelet's convention for a container whose
    end was not observed; a code seen earlier for the same container is
    kept. Deleting: terminated if an exit code is known, else running
    (not ready). Unknown: waiting ContainerStatusUnknown. A termination
    the restart policy makes final (any under Never; exit 0 under
    OnFailure, and for init containers) is kept even if Zun later shows
    the container otherwise, as the API server refuses that transition.
    Zun's container view has no start or finish time: startedAt is kept
    from the pod's current status while the container (by containerID)
    stays in that state, else taken from the container's ``started_at``
    if present, else ``updated_at`` (Zun saves the row when the state
    changes), else ``created_at``; finishedAt likewise from
    ``finished_at``, else ``updated_at``. containerID is
    ``zun://<container uuid>``; imageID is ``zun://image/<spec image>``
    once the container exists (Zun reports no digest). restartCount is 0
    (Zun does not count restarts) and lastState is kept from the pod's
    current status.

Phase (kubelet getPhase)
    An init container that is not terminated keeps the pod Pending; one
    that failed fails the pod under restartPolicy Never. Any waiting
    container: Pending. Some running: Running. All terminated: Succeeded
    if all exited 0; otherwise Failed under Never, Running under Always
    and OnFailure, because Zun hands the policy to the container engine,
    which restarts the containers itself. A pod whose phase is Succeeded
    or Failed never changes phase again.

Capsule failures
    A capsule in Error (scheduling, image pull or engine failure) with no
    running container makes the pod Failed under restartPolicy Never (Zun
    will not retry) and Pending otherwise, with reason ProviderFailed and
    a message built from status_reason that says what to do. Containers
    that never started show ErrImagePull, ErrImageNeverPull or
    CreateContainerError. The pod handler does not write this status for
    a capsule none of whose containers ran (capsule_ran): it creates the
    capsule again whatever the restart policy (services/create_retry.py).

Conditions (kubelet status/generate.go)
    PodScheduled True; Initialized True when every init container exited
    0 (or a regular container has started), else False
    ContainersNotInitialized; ContainersReady True when every container
    is ready, else False ContainersNotReady (PodCompleted / PodFailed in
    terminal phases); Ready as ContainersReady, and False
    ReadinessGatesNotReady while a readiness gate's condition is not True.
    lastTransitionTime is kept from the pod's current status while a
    condition's status does not change. Probes are not run, so a running
    container is ready.

Addresses
    podIP is the first IPv4 address of the capsule (IPv6 if it has none);
    podIPs holds at most one address per family, IPv4 first, as the API
    requires; the previous addresses are kept while the capsule reports
    none. hostIP is the node's IP. startTime is the capsule's created_at,
    kept once set.
"""

import re

from zun_vk import timestamps
from zun_vk.translate import errors
from zun_vk.zun_plugin import env_hints
from zun_vk.zun_plugin import payload

CONTAINER_ID_PREFIX = 'zun://'
IMAGE_ID_PREFIX = 'zun://image/'

REASON_PROVIDER_FAILED = 'ProviderFailed'
REASON_NOT_FOUND = 'NotFound'
LOST_MESSAGE = (
    'The Zun capsule that ran this pod was deleted outside Kubernetes, so '
    'its containers are gone. Delete the pod; its controller, if it has '
    'one, will create a replacement.')
UNKNOWN_EXIT_MESSAGE = ('The container could not be located when the pod '
                        'was terminated')

_OWNED_KEYS = ('phase', 'reason', 'message', 'conditions', 'hostIP',
               'hostIPs', 'podIP', 'podIPs', 'startTime',
               'containerStatuses', 'initContainerStatuses')
_KUBELET_CONDITIONS = ('Initialized', 'Ready', 'ContainersReady',
                       'PodScheduled', 'PodReadyToStartContainers')
_TERMINAL = ('Succeeded', 'Failed')
# What of a PodStatus zun-vk writes; everything else belongs to others.
OWNED_KEYS = _OWNED_KEYS
OWNED_CONDITIONS = ('Initialized', 'Ready', 'ContainersReady',
                    'PodScheduled')
_TIME_KEYS = ('startTime', 'lastTransitionTime', 'lastProbeTime',
              'startedAt', 'finishedAt')

# Categories of an observed container, for the phase.
_WAITING, _RUNNING, _TERMINATED, _RESTARTING, _UNKNOWN = (
    'waiting', 'running', 'terminated', 'restarting', 'unknown')

# (pattern in status_reason, container waiting reason, advice)
_FAILURES = (
    (re.compile(r'not enough hosts|no valid host|insufficient compute',
                re.I),
     'CreateContainerError',
     'No Zun compute host has room for this pod (%(size)s); lower its '
     'resource requests or limits, or ask the operator to add capacity.'),
    (re.compile(r'pull policy of never', re.I), 'ErrImageNeverPull',
     'The image is not on the Zun compute host and imagePullPolicy is '
     'Never; use IfNotPresent or Always.'),
    (re.compile(r'image|manifest|pull access denied|repository', re.I),
     'ErrImagePull',
     'Check the image name and tag, that its registry is reachable from '
     'the Zun compute hosts, and that it needs no credentials Zun lacks.'),
    (re.compile(r'quota', re.I), 'CreateContainerError',
     "The project's Zun quota is used up; delete capsules it no longer "
     'needs or ask the operator to raise the quota.'),
    (re.compile(r'volume', re.I), 'CreateContainerError',
     'Check that the Cinder volume exists, is available and is in the '
     "capsule's availability zone."),
    (re.compile(r'unexpected status', re.I), 'CreateContainerError',
     'An init container did not run to completion; check its command.'),
    (re.compile(r'docker|engine', re.I), 'CreateContainerError',
     'The container engine on the Zun compute host failed; try again, or '
     'ask the operator to check zun-compute.'),
)


# --- capsule -> status --------------------------------------------------

def capsule_to_pod_status(pod, capsule, *, node_ip, now):
    """The PodStatus for pod, given its capsule as zun-api returns it."""
    spec = pod.get('spec') or {}
    old = pod.get('status') or {}
    policy = spec.get('restartPolicy') or 'Always'
    failure = _failure(capsule)
    init_specs = spec.get('initContainers') or []
    main_specs = spec.get('containers') or []

    init_seen = [_final(_observe(c, z, _old_statuses(old, True), failure,
                                 now, 'PodInitializing'), policy, True)
                 for c, z in _match(init_specs,
                                    capsule.get('init_containers'))]
    initialized = all(o.category == _TERMINATED and o.exit_code == 0
                      for o in init_seen)
    pending_reason = 'ContainerCreating' if initialized else 'PodInitializing'
    main_seen = [_final(_observe(c, z, _old_statuses(old, False), failure,
                                 now, pending_reason), policy, False)
                 for c, z in _match(main_specs, capsule.get('containers'))]

    phase = _phase(policy, init_seen, main_seen)
    reason = message = None
    if failure and phase not in _TERMINAL and not any(
            o.category == _RUNNING for o in main_seen):
        phase = 'Failed' if policy == 'Never' else 'Pending'
        reason, message = REASON_PROVIDER_FAILED, failure.message

    return _assemble(
        pod, phase, reason, message,
        [_status(o, init=True) for o in init_seen],
        [_status(o, init=False) for o in main_seen],
        now, host_ip=node_ip,
        pod_ips=_pod_ips(capsule.get('addresses')) or None,
        start_time=capsule.get('created_at'))


def lost_capsule_status(pod, *, now):
    """Status for a pod whose capsule vanished from Zun (404).

    Phase Failed with reason NotFound, as virtual-kubelet reports it;
    containers not already terminated become terminated
    ContainerStatusUnknown (exit code 137), as the kubelet reports
    containers it cannot find any more.
    """
    return terminated_status(pod, REASON_NOT_FOUND, LOST_MESSAGE, now=now)


def terminated_status(pod, reason, message, *, now):
    """Phase Failed with reason and message, every container terminated.

    Containers not already terminated become terminated
    ContainerStatusUnknown (exit code 137), the kubelet's way of writing
    a container whose end it did not observe.
    """
    spec = pod.get('spec') or {}
    old = pod.get('status') or {}

    def gone(containers, init):
        previous = _old_statuses(old, init)
        result = []
        for container in containers:
            before = previous.get(container.get('name')) or {}
            state = before.get('state') or {}
            if 'terminated' not in state:
                terminated = {'exitCode': 137,
                              'reason': 'ContainerStatusUnknown',
                              'message': UNKNOWN_EXIT_MESSAGE}
                if before.get('containerID'):
                    terminated['containerID'] = before['containerID']
                state = {'terminated': terminated}
            result.append(_plain_status(container, before, state))
        return result

    return _assemble(pod, 'Failed', reason, message,
                     gone(spec.get('initContainers') or [], True),
                     gone(spec.get('containers') or [], False), now)


def refused_pod_status(pod, reason, message, *, now):
    """Status for a pod this node will not run (e.g. UnsupportedPod).

    Like the kubelet's admission rejection: phase Failed with the reason
    and message, and no container statuses (no container was created).
    """
    return _assemble(pod, 'Failed', reason, message, None, None, now)


def pending_status(pod, reason, message, *, now):
    """Status for a pod that waits for something (e.g. a ConfigMap).

    Phase Pending, every container waiting with reason and message
    (CreateContainerConfigError for a missing ConfigMap or Secret).
    """
    spec = pod.get('spec') or {}
    old = pod.get('status') or {}
    waiting = {'waiting': {'reason': reason, 'message': message}}

    def waiting_all(containers, init):
        previous = _old_statuses(old, init)
        return [_plain_status(c, previous.get(c.get('name')) or {},
                              waiting)
                for c in containers]

    return _assemble(pod, 'Pending', reason, message,
                     waiting_all(spec.get('initContainers') or [], True),
                     waiting_all(spec.get('containers') or [], False), now)


def pod_status_changed(old_status, new_status):
    """Whether writing new_status would change what we own of old_status.

    Ignores condition lastTransitionTime/lastProbeTime and the spelling
    of timestamps, empty versus absent values, and fields we do not own.
    """
    return _comparable(old_status) != _comparable(new_status)


# --- observing containers ----------------------------------------------

class _Observed:
    """One spec container as seen in the capsule."""

    def __init__(self, spec, state, category, exit_code=None,
                 container_id=None, ready=False, previous=None):
        self.spec = spec
        self.state = state
        self.category = category
        self.exit_code = exit_code
        self.container_id = container_id
        self.ready = ready
        self.previous = previous or {}
        # The image Zun runs the container from (None: not created yet).
        self.image = None


class _Failure:

    def __init__(self, waiting_reason, message):
        self.waiting_reason = waiting_reason
        self.message = message


def _match(specs, zun_containers):
    """Pairs (spec container, Zun container or None), in spec order."""
    zun_containers = list(zun_containers or [])
    names = {c.get('name') for c in specs}
    by_name = {z.get('name'): z for z in zun_containers}
    pairs = []
    for index, container in enumerate(specs):
        found = by_name.get(container.get('name'))
        if found is None and index < len(zun_containers):
            candidate = zun_containers[index]
            if candidate.get('name') not in names:
                found = candidate
        pairs.append((container, found))
    return pairs


def _observe(spec, zun, previous_by_name, failure, now, pending_reason):
    seen = _observe_state(spec, zun, previous_by_name, failure, now,
                          pending_reason)
    if zun is not None and zun.get('image'):
        seen.image = zun['image']
    return seen


def _observe_state(spec, zun, previous_by_name, failure, now,
                   pending_reason):
    previous = previous_by_name.get(spec.get('name')) or {}
    if zun is None:
        return _Observed(spec, _waiting_for(failure, pending_reason),
                         _WAITING, previous=previous)
    status = zun.get('status')
    container_id = CONTAINER_ID_PREFIX + str(zun.get('uuid'))
    exit_code = payload.exit_code_from_detail(zun.get('status_detail'))
    old_state = previous.get('state') or {}
    same = previous.get('containerID') == container_id

    if status in ('Running', 'Paused') or (status == 'Deleting' and
                                           exit_code is None):
        started = (_kept(old_state, 'running', 'startedAt', same) or
                   _time(zun, 'started_at', 'updated_at', 'created_at') or
                   timestamps.rfc3339(now))
        return _Observed(spec, {'running': {'startedAt': started}},
                         _RUNNING, container_id=container_id,
                         ready=status == 'Running', previous=previous)
    if status in ('Stopped', 'Error', 'Dead', 'Deleted', 'Deleting'):
        return _terminated(spec, zun, exit_code, container_id, previous,
                           old_state if same else {}, now)
    if status == 'Restarting':
        state = {'waiting': {
            'reason': 'CrashLoopBackOff',
            'message': 'The container exited and the container engine is '
                       'restarting it.'}}
        return _Observed(spec, state, _RESTARTING, container_id=container_id,
                         previous=previous)
    if status == 'Unknown':
        state = {'waiting': {
            'reason': 'ContainerStatusUnknown',
            'message': zun.get('status_reason') or
            'Zun cannot tell the state of this container.'}}
        return _Observed(spec, state, _UNKNOWN, container_id=container_id,
                         previous=previous)
    return _Observed(spec, _waiting_for(failure, pending_reason), _WAITING,
                     previous=previous)


def _final(seen, policy, init):
    """Keep a termination that the restart policy makes final.

    The API server rejects a status that brings such a container back
    (and the engine will not restart it), so a later, stale view from Zun
    must not either.
    """
    before = (seen.previous.get('state') or {}).get('terminated')
    if not before or seen.category == _TERMINATED:
        return seen
    code = before.get('exitCode')
    if policy == 'Never' or (code == 0 and (init or policy == 'OnFailure')):
        kept = _Observed(seen.spec, {'terminated': before}, _TERMINATED,
                         exit_code=code,
                         container_id=seen.previous.get('containerID'),
                         previous=seen.previous)
        kept.image = seen.image or seen.previous.get('image')
        return kept
    return seen


def _terminated(spec, zun, exit_code, container_id, previous, old_state,
                now):
    old_terminated = old_state.get('terminated') or {}
    if exit_code is None and 'exitCode' in old_terminated:
        exit_code = old_terminated['exitCode']
    if exit_code is None:
        terminated = {'exitCode': 137, 'reason': 'ContainerStatusUnknown',
                      'message': zun.get('status_reason') or
                      'Zun reports the container %s but not its exit code.'
                      % str(zun.get('status')).lower()}
        category_code = 137
    else:
        terminated = {'exitCode': exit_code,
                      'reason': 'Completed' if exit_code == 0 else 'Error'}
        if zun.get('status_reason'):
            terminated['message'] = zun['status_reason']
        category_code = exit_code
    same_end = old_terminated.get('exitCode') == category_code
    terminated['startedAt'] = (
        _kept(old_state, 'running', 'startedAt', True) or
        _kept(old_state, 'terminated', 'startedAt', True) or
        _time(zun, 'started_at', 'created_at') or timestamps.rfc3339(now))
    terminated['finishedAt'] = (
        _kept(old_state, 'terminated', 'finishedAt', same_end) or
        _time(zun, 'finished_at', 'updated_at') or timestamps.rfc3339(now))
    terminated['containerID'] = container_id
    return _Observed(spec, {'terminated': terminated}, _TERMINATED,
                     exit_code=category_code, container_id=container_id,
                     previous=previous)


def _waiting_for(failure, pending_reason):
    if failure:
        return {'waiting': {'reason': failure.waiting_reason,
                            'message': failure.message}}
    return {'waiting': {'reason': pending_reason}}


def _kept(old_state, kind, field, allowed):
    if not allowed:
        return None
    return timestamps.rfc3339((old_state.get(kind) or {}).get(field))


def _time(zun, *fields):
    for field in fields:
        text = timestamps.rfc3339(zun.get(field))
        if text:
            return text
    return None


def _failure(capsule):
    if capsule.get('status') != 'Error':
        return None
    raw = (capsule.get('status_reason') or '').strip()
    if not raw:
        return _Failure('CreateContainerError',
                        'Zun reports the capsule in Error without a '
                        "reason; ask the operator to check zun-compute's "
                        'log.')
    size = 'cpu %s, memory %s MiB' % (capsule.get('cpu'),
                                      capsule.get('memory'))
    for pattern, waiting_reason, advice in _FAILURES:
        if pattern.search(raw):
            return _Failure(waiting_reason,
                            'Zun could not create the capsule: %s %s'
                            % (errors.sentence(raw), advice % {'size': size}))
    return _Failure('CreateContainerError', 'Zun could not create the '
                    'capsule: %s' % errors.sentence(raw))


def _phase(policy, init_seen, main_seen):
    pending_init = failed_init = 0
    for seen in init_seen:
        if seen.category == _TERMINATED:
            failed_init += seen.exit_code != 0
        elif seen.category == _RESTARTING:
            failed_init += 1
        else:
            pending_init += 1
    if failed_init and policy == 'Never':
        return 'Failed'
    counts = {_WAITING: 0, _RUNNING: 0, _TERMINATED: 0, _RESTARTING: 0,
              _UNKNOWN: 0}
    succeeded = 0
    for seen in main_seen:
        counts[seen.category] += 1
        succeeded += seen.category == _TERMINATED and seen.exit_code == 0
    stopped = counts[_TERMINATED] + counts[_RESTARTING]
    if pending_init or counts[_WAITING]:
        return 'Pending'
    if counts[_RUNNING] and not counts[_UNKNOWN]:
        return 'Running'
    if not counts[_RUNNING] and stopped and not counts[_UNKNOWN]:
        if policy == 'Always':
            return 'Running'
        if stopped == succeeded:
            return 'Succeeded'
        return 'Failed' if policy == 'Never' else 'Running'
    return 'Pending'


def _status(seen, init):
    ready = seen.ready
    if init:
        ready = seen.category == _TERMINATED and seen.exit_code == 0
    result = {
        'name': seen.spec.get('name'),
        'state': seen.state,
        'lastState': seen.previous.get('lastState') or {},
        'ready': ready,
        'restartCount': 0,
        'image': _image(seen),
        'imageID': '',
        'started': seen.category == _RUNNING,
    }
    if seen.container_id:
        result['containerID'] = seen.container_id
        result['imageID'] = IMAGE_ID_PREFIX + _image(seen)
    return result


def _image(seen):
    # What runs, as the kubelet reports it: a patched spec.image does not
    # change a container Zun already made (nor make a status write).
    return seen.image or seen.spec.get('image') or ''


def _plain_status(container, before, state):
    result = {
        'name': container.get('name'),
        'state': state,
        'lastState': before.get('lastState') or {},
        'ready': False,
        'restartCount': before.get('restartCount') or 0,
        'image': container.get('image') or '',
        'imageID': before.get('imageID') or '',
        'started': False,
    }
    if before.get('containerID'):
        result['containerID'] = before['containerID']
    return result


def _old_statuses(old, init):
    key = 'initContainerStatuses' if init else 'containerStatuses'
    return {s.get('name'): s for s in old.get(key) or []}


def _pod_ips(addresses):
    # The companion gives status.podIP variables the same address.
    return env_hints.pod_ips(addresses)


# --- assembling ---------------------------------------------------------

def _assemble(pod, phase, reason, message, init_statuses, statuses, now,
              host_ip=None, pod_ips=None, start_time=None):
    spec = pod.get('spec') or {}
    old = pod.get('status') or {}
    now_text = timestamps.rfc3339(now)
    if old.get('phase') in _TERMINAL:
        # The kubelet never moves a pod out of a terminal phase.
        phase = old['phase']
        reason, message = old.get('reason'), old.get('message')

    status = {k: v for k, v in old.items() if k not in _OWNED_KEYS}
    status['phase'] = phase
    # Explicit None, so a merge patch of this status clears old values.
    status['reason'] = reason or None
    status['message'] = message or None
    status['conditions'] = _conditions(spec, old, phase, init_statuses,
                                       statuses, now_text)
    host_ip = host_ip or old.get('hostIP')
    if host_ip:
        status['hostIP'] = host_ip
        if old.get('hostIPs'):
            # Only where the API server knows the field (1.28+).
            status['hostIPs'] = [{'ip': host_ip}]
    pod_ips = pod_ips if pod_ips is not None else [
        entry.get('ip') for entry in old.get('podIPs') or []
        if entry.get('ip')] or ([old['podIP']] if old.get('podIP') else [])
    if pod_ips:
        status['podIP'] = pod_ips[0]
        status['podIPs'] = [{'ip': ip} for ip in pod_ips]
    start = (timestamps.rfc3339(old.get('startTime')) or
             timestamps.rfc3339(start_time))
    if start or statuses is not None:
        status['startTime'] = start or now_text
    if init_statuses:
        status['initContainerStatuses'] = init_statuses
    if statuses is not None:
        status['containerStatuses'] = statuses
    return status


def _conditions(spec, old, phase, init_statuses, statuses, now_text):
    old_conditions = old.get('conditions') or []
    kept = [c for c in old_conditions
            if c.get('type') not in _KUBELET_CONDITIONS]
    by_type = {c.get('type'): c for c in old_conditions}

    names = [c.get('name') for c in spec.get('containers') or []]
    init_names = [c.get('name') for c in spec.get('initContainers') or []]
    ready = {s['name']: s['ready'] for s in statuses or []}
    init_ready = {s['name']: s['ready'] for s in init_statuses or []}
    started = any('running' in s['state'] or 'terminated' in s['state']
                  for s in statuses or [])

    if statuses is None and init_names:
        initialized = ('False', 'UnknownContainerStatuses', None)
    elif phase == 'Succeeded':
        initialized = ('True', 'PodCompleted', None)
    elif started:
        initialized = ('True', None, None)
    else:
        incomplete = [n for n in init_names if not init_ready.get(n)]
        initialized = (('False', 'ContainersNotInitialized',
                        'containers with incomplete status: %s'
                        % _go_list(incomplete)) if incomplete
                       else ('True', None, None))

    if phase == 'Succeeded':
        containers_ready = ('False', 'PodCompleted', None)
    elif phase == 'Failed':
        containers_ready = ('False', 'PodFailed', None)
    elif statuses is None:
        containers_ready = ('False', 'UnknownContainerStatuses', None)
    else:
        unready = [n for n in names if not ready.get(n)]
        containers_ready = (('False', 'ContainersNotReady',
                             'containers with unready status: %s'
                             % _go_list(unready)) if unready
                            else ('True', None, None))

    pod_ready = containers_ready
    if containers_ready[0] == 'True':
        gates = []
        for gate in spec.get('readinessGates') or []:
            kind = gate.get('conditionType')
            condition = by_type.get(kind)
            if condition is None:
                gates.append('corresponding condition of pod readiness '
                             'gate "%s" does not exist.' % kind)
            elif condition.get('status') != 'True':
                gates.append('the status of pod readiness gate "%s" is not '
                             '"True", but %s' % (kind,
                                                 condition.get('status')))
        if gates:
            pod_ready = ('False', 'ReadinessGatesNotReady', ', '.join(gates))

    result = list(kept)
    for kind, (value, reason, message) in (
            ('Initialized', initialized), ('Ready', pod_ready),
            ('ContainersReady', containers_ready),
            ('PodScheduled', ('True', None, None))):
        condition = {'type': kind, 'status': value}
        before = by_type.get(kind) or {}
        if before.get('status') == value and before.get(
                'lastTransitionTime'):
            condition['lastTransitionTime'] = timestamps.rfc3339(
                before['lastTransitionTime']) or now_text
        else:
            condition['lastTransitionTime'] = now_text
        condition['reason'] = reason
        condition['message'] = message
        result.append(condition)
    return result


def _go_list(names):
    # The kubelet formats these lists with Go's %s: [a b].
    return '[%s]' % ' '.join(names)


# --- change detection ---------------------------------------------------

def _comparable(status):
    status = status or {}
    owned = {key: status.get(key) for key in _OWNED_KEYS
             if key != 'conditions'}
    owned['conditions'] = sorted(
        (c.get('type') or '', c.get('status') or '', c.get('reason') or '',
         c.get('message') or '')
        for c in status.get('conditions') or []
        if c.get('type') in _KUBELET_CONDITIONS)
    return _normalized(owned)


def _normalized(value, key=None):
    if isinstance(value, dict):
        result = {}
        for k, v in value.items():
            v = _normalized(v, k)
            if v not in (None, '', {}, []):
                result[k] = v
        return result
    if isinstance(value, (list, tuple)):
        return [_normalized(v) for v in value]
    if key in _TIME_KEYS:
        return timestamps.rfc3339(value) or value
    return value


def match_containers(specs, zun_containers):
    """(spec container, Zun container or None) pairs, in spec order."""
    return _match(specs, zun_containers)


# Zun statuses a container reaches only once it ran.
_RAN_STATUSES = ('Running', 'Paused', 'Restarting', 'Stopped', 'Dead')


def capsule_ran(capsule):
    """True when the capsule or one of its containers is known to have run.

    A container ran when Zun shows it running, stopped or dead, or with
    an exit code; one in Error without an exit code was never started.
    """
    if capsule.get('status') == 'Running':
        return True
    for container in ((capsule.get('init_containers') or []) +
                      (capsule.get('containers') or [])):
        detail = container.get('status_detail')
        if (container.get('status') in _RAN_STATUSES or
                payload.exit_code_from_detail(detail) is not None):
            return True
    return False


def creation_failure(capsule):
    """(container waiting reason, message) for a capsule in Error.

    The reason is the kubelet's (CreateContainerError, ErrImagePull,
    ErrImageNeverPull); the message quotes Zun and says what to do.
    """
    failure = _failure(capsule)
    if failure is None:
        return None
    return failure.waiting_reason, failure.message
