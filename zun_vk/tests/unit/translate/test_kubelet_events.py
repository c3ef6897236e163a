import pytest

from zun_vk.translate import kubelet_events as ke


def cs(name='c', cid='zun://1', **state):
    status = {'name': name, 'state': state}
    if cid:
        status['containerID'] = cid
    return status


RUNNING = {'running': {'startedAt': 't'}}
CREATED = ('Normal', 'Created', 'Created container c', 'spec.containers{c}')
STARTED = ('Normal', 'Started', 'Started container c', 'spec.containers{c}')


@pytest.mark.parametrize('before, after, expected', [
    # First seen running, or already finished with an exit code.
    (cs(cid=None, waiting={'reason': 'ContainerCreating'}), cs(**RUNNING),
     [CREATED, STARTED]),
    (None, cs(terminated={'exitCode': 0, 'reason': 'Completed'}),
     [CREATED, STARTED]),
    (None, cs(terminated={'exitCode': 3, 'reason': 'Error'}),
     [CREATED, STARTED]),
    # Seen before under that ID: nothing new.
    (cs(**RUNNING), cs(**RUNNING), []),
    (cs(**RUNNING), cs(terminated={'exitCode': 0, 'reason': 'Completed'}),
     []),
    # A new ID (a capsule made again): new Events.
    (cs(**RUNNING), cs(cid='zun://2', **RUNNING), [CREATED, STARTED]),
    # An end that was not observed does not prove a start.
    (None, cs(terminated={'exitCode': 137,
                          'reason': 'ContainerStatusUnknown'}), []),
    (cs(**RUNNING), cs(waiting={'reason': 'CrashLoopBackOff'}),
     [('Warning', 'BackOff', 'Back-off restarting failed container',
       'spec.containers{c}')]),
    (cs(cid=None, waiting={'reason': 'ContainerCreating'}),
     cs(cid=None, waiting={'reason': 'ErrImagePull'}),
     [('Warning', 'Failed', 'Error: ErrImagePull', 'spec.containers{c}')]),
    (cs(cid=None, waiting={'reason': 'ErrImagePull'}),
     cs(cid=None, waiting={'reason': 'ErrImagePull'}), []),
    (None, cs(cid=None, waiting={'reason': 'ContainerCreating'}), []),
])
def test_container_events(before, after, expected):
    old = {'containerStatuses': [before]} if before else {}
    events = ke.status_events(old, {'containerStatuses': [after]})
    assert [tuple(e) for e in events] == expected


def test_init_containers_are_named_as_such():
    events = ke.status_events({}, {'initContainerStatuses': [
        cs('setup', terminated={'exitCode': 0, 'reason': 'Completed'})]})
    assert [e.field_path for e in events] == [
        'spec.initContainers{setup}'] * 2
    assert [e.message for e in events] == [
        'Created container setup', 'Started container setup']


@pytest.mark.parametrize('old, new, count', [
    ({}, {'reason': 'ProviderFailed', 'message': 'Zun says no.'}, 1),
    ({'reason': 'ProviderFailed', 'message': 'Zun says no.'},
     {'reason': 'ProviderFailed', 'message': 'Zun says no.'}, 0),
    ({'reason': 'ProviderFailed', 'message': 'Zun says no.'},
     {'reason': 'ProviderFailed', 'message': 'Zun says no again.'}, 1),
    ({}, {'reason': 'DeadlineExceeded', 'message': 'x'}, 0),
])
def test_provider_failed(old, new, count):
    events = ke.status_events(old, new)
    assert len(events) == count
    for event in events:
        assert (event.type, event.reason, event.message) == (
            'Warning', 'ProviderFailed', new['message'])


def test_killing_only_running_containers():
    status = {
        'initContainerStatuses': [
            cs('setup', terminated={'exitCode': 0, 'reason': 'Completed'})],
        'containerStatuses': [cs('a', **RUNNING),
                              cs('b', waiting={'reason': 'x'})]}
    assert [tuple(e) for e in ke.killing_events(status)] == [
        ('Normal', 'Killing', 'Stopping container a', 'spec.containers{a}')]
    assert ke.killing_events(None) == []
