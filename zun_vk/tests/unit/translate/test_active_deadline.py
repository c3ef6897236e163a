import datetime

import pytest

from zun_vk.translate import active_deadline as ad

UTC = datetime.timezone.utc
START = '2026-01-01T00:00:00Z'
START_TIME = datetime.datetime(2026, 1, 1, tzinfo=UTC)


def pod(seconds=None, start=START, phase='Running', reason=None):
    spec = {'containers': [{'name': 'c', 'image': 'busybox'}]}
    if seconds is not None:
        spec['activeDeadlineSeconds'] = seconds
    status = {'phase': phase}
    if start:
        status['startTime'] = start
    if reason:
        status['reason'] = reason
    return {'metadata': {'name': 'p', 'uid': 'u'}, 'spec': spec,
            'status': status}


@pytest.mark.parametrize('the_pod, due', [
    (pod(10), START_TIME + datetime.timedelta(seconds=10)),
    (pod(0), START_TIME),
    (pod(None), None),
    (pod(10, start=None), None),
])
def test_due(the_pod, due):
    assert ad.due(the_pod) == due


@pytest.mark.parametrize('elapsed, exceeded', [
    (9.9, False), (10, True), (11, True)])
def test_exceeded_from_the_start_time(elapsed, exceeded):
    now = START_TIME + datetime.timedelta(seconds=elapsed)
    assert ad.exceeded(pod(10), now) is exceeded


@pytest.mark.parametrize('the_pod, failed', [
    (pod(10, phase='Failed', reason='DeadlineExceeded'), True),
    (pod(10, phase='Failed', reason='Error'), False),
    (pod(10, phase='Running', reason='DeadlineExceeded'), False),
])
def test_is_deadline_failure(the_pod, failed):
    assert ad.is_deadline_failure(the_pod) is failed


def test_exceeded_status_is_the_kubelets():
    the_pod = pod(10)
    the_pod['status']['containerStatuses'] = [{
        'name': 'c', 'containerID': 'zun://1',
        'state': {'running': {'startedAt': START}}}]
    status = ad.exceeded_status(the_pod, now='2026-01-01T00:01:00Z')
    assert status['phase'] == 'Failed'
    assert status['reason'] == 'DeadlineExceeded'
    assert status['message'] == (
        'Pod was active on the node longer than the specified deadline')
    assert status['startTime'] == START
    terminated = status['containerStatuses'][0]['state']['terminated']
    assert terminated['exitCode'] == 137
    assert terminated['reason'] == 'ContainerStatusUnknown'
    assert terminated['containerID'] == 'zun://1'
