"""The Events a kubelet would record for a change of pod status (pure).

zun-vk records Events as the kubelet does (source component ``kubelet``,
host the node name), with the kubelet's reasons and messages
(``pkg/kubelet/events/event.go``, ``pkg/kubelet/kuberuntime``) where it
does the equivalent:

* a container seen running, or finished with an exit code, under a
  container ID not seen before: Normal ``Created`` "Created container c"
  and Normal ``Started`` "Started container c". Zun creates and starts a
  capsule's containers by itself, so both are reported when zun-vk first
  sees the result;
* a container newly waiting in CrashLoopBackOff (the engine restarts
  it): Warning ``BackOff`` "Back-off restarting failed container";
* a container newly waiting with ErrImagePull, ErrImageNeverPull or
  CreateContainerError: Warning ``Failed`` "Error: <reason>";
* a container being stopped: Normal ``Killing`` "Stopping container c".

Container Events name the container in ``involvedObject.fieldPath``
(``spec.containers{c}``) as the kubelet's do. What only zun-vk does keeps
a reason of its own: ``ProviderFailed`` when Zun reports the capsule in
Error (the message says what Zun said and what to do).

Zun does not report image pulls separately from container creation, so
there are no Pulling/Pulled Events, and a container the engine restarts
keeps its ID, so its restarts are not reported.
"""

import collections

Event = collections.namedtuple('Event',
                               ['type', 'reason', 'message', 'field_path'])

NORMAL = 'Normal'
WARNING = 'Warning'
PROVIDER_FAILED = 'ProviderFailed'
BACK_OFF_MESSAGE = 'Back-off restarting failed container'
FAILED_WAITING_REASONS = ('ErrImagePull', 'ErrImageNeverPull',
                          'CreateContainerError')
# Terminations that prove the container ran (an exit code was seen).
_RAN = ('Completed', 'Error', 'OOMKilled')
_KINDS = (('initContainers', 'initContainerStatuses'),
          ('containers', 'containerStatuses'))


def field_path(kind, name):
    """involvedObject.fieldPath of a container, as the kubelet writes it."""
    return 'spec.%s{%s}' % (kind, name)


def status_events(old_status, new_status):
    """The Events for going from old_status to new_status, in order."""
    old_status = old_status or {}
    new_status = new_status or {}
    events = []
    reason = new_status.get('reason')
    if reason == PROVIDER_FAILED and (
            old_status.get('reason') != reason or
            old_status.get('message') != new_status.get('message')):
        events.append(Event(WARNING, PROVIDER_FAILED,
                            new_status.get('message') or '', None))
    for kind, key in _KINDS:
        before_by_name = {s.get('name'): s
                          for s in old_status.get(key) or []}
        for status in new_status.get(key) or []:
            name = status.get('name')
            events.extend(_container_events(
                field_path(kind, name), name,
                before_by_name.get(name) or {}, status))
    return events


def killing_events(status):
    """Killing Events for the running containers of a pod status."""
    events = []
    for kind, key in _KINDS:
        for container in (status or {}).get(key) or []:
            if 'running' in (container.get('state') or {}):
                name = container.get('name')
                events.append(Event(NORMAL, 'Killing',
                                    'Stopping container %s' % name,
                                    field_path(kind, name)))
    return events


def _container_events(path, name, before, after):
    events = []
    started = _started_id(after)
    if started and started != _started_id(before):
        events.append(Event(NORMAL, 'Created', 'Created container %s' % name,
                            path))
        events.append(Event(NORMAL, 'Started', 'Started container %s' % name,
                            path))
    waiting = _waiting_reason(after)
    if waiting and waiting != _waiting_reason(before):
        if waiting == 'CrashLoopBackOff':
            events.append(Event(WARNING, 'BackOff', BACK_OFF_MESSAGE, path))
        elif waiting in FAILED_WAITING_REASONS:
            events.append(Event(WARNING, 'Failed', 'Error: %s' % waiting,
                                path))
    return events


def _started_id(status):
    """The container ID of a container known to have started, or None."""
    state = status.get('state') or {}
    terminated = state.get('terminated')
    if 'running' in state or (terminated and
                              terminated.get('reason') in _RAN):
        return status.get('containerID')
    return None


def _waiting_reason(status):
    return ((status.get('state') or {}).get('waiting') or {}).get('reason')
