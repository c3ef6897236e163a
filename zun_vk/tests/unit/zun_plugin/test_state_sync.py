"""Engine states of capsule containers, recorded the way Zun records them."""

import datetime
import re

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

from oslo_config import cfg  # noqa: E402
from zun.common import consts  # noqa: E402

from zun_vk.tests.unit.zun_plugin import fakes  # noqa: E402
from zun_vk.zun_plugin import driver  # noqa: E402
from zun_vk.zun_plugin import state_sync  # noqa: E402

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0)
STARTED = '2025-03-01T11:55:00.123456789Z'
FINISHED = '2025-03-01T11:59:57.5Z'
ZERO = '0001-01-01T00:00:00Z'
# zun-vk's translation reads the exit code with this pattern.
ZUN_VK_EXIT = re.compile(r'Exited\s*\((-?\d+)\)')


def running(started=STARTED):
    return {'Status': 'running', 'Running': True, 'Paused': False,
            'Restarting': False, 'OOMKilled': False, 'Dead': False,
            'Pid': 42, 'ExitCode': 0, 'Error': '', 'StartedAt': started,
            'FinishedAt': ZERO}


def exited(code, error='', oom=False, finished=FINISHED):
    return {'Status': 'exited', 'Running': False, 'Paused': False,
            'Restarting': False, 'OOMKilled': oom, 'Dead': False, 'Pid': 0,
            'ExitCode': code, 'Error': error, 'StartedAt': STARTED,
            'FinishedAt': finished}


@pytest.fixture(autouse=True)
def host():
    cfg.CONF.set_override('host', fakes.HOST)
    yield
    cfg.CONF.clear_override('host')


@pytest.fixture
def db(monkeypatch):
    return fakes.install_db(monkeypatch)


# --- pure mapping ------------------------------------------------------------

@pytest.mark.parametrize('state,status,detail,code,reason', [
    (running(), consts.RUNNING, 'Up 5 mins', None, None),
    (exited(0), consts.STOPPED, 'Exited(0) 3 seconds ago', 0, None),
    (exited(3), consts.STOPPED, 'Exited(3) 3 seconds ago', 3, None),
    (exited(137, oom=True), consts.STOPPED, 'Exited(137) 3 seconds ago',
     137, 'OOMKilled'),
    (exited(127, error='exec: "nope": not found'), consts.STOPPED,
     'Exited(127) 3 seconds ago (error)', 127, 'exec: "nope": not found'),
    (dict(exited(1), Status='removing'), consts.STOPPED,
     'Exited(1) 3 seconds ago', 1, None),
    (dict(exited(1), Status='stopped'), consts.STOPPED,
     'Exited(1) 3 seconds ago', 1, None),
    (dict(exited(2), Status='restarting', Restarting=True),
     consts.RESTARTING, 'Restarting', 2, None),
    (dict(running(), Status='paused', Paused=True), consts.PAUSED,
     'Up 5 mins (paused)', None, None),
    (dict(exited(1), Status='dead', Dead=True), consts.DEAD, 'Dead', 1,
     None),
    # No State.Status (old engines): from the flags.
    ({'Running': True, 'StartedAt': STARTED}, consts.RUNNING, 'Up 5 mins',
     None, None),
    ({'Running': False, 'ExitCode': 4, 'StartedAt': STARTED,
      'FinishedAt': '2025-03-01T09:00:00Z'}, consts.STOPPED,
     'Exited(4) 3 hours ago', 4, None),
    ({'Status': 'exited', 'ExitCode': 0, 'FinishedAt': '2025-02-27T12:00:00Z'},
     consts.STOPPED, 'Exited(0) 2 days ago', 0, None),
])
def test_observe(state, status, detail, code, reason):
    obs = state_sync.observe(state, NOW)
    assert (obs.status, obs.detail, obs.exit_code, obs.reason) == (
        status, detail, code, reason)
    if status == consts.STOPPED:
        assert int(ZUN_VK_EXIT.search(obs.detail).group(1)) == code


@pytest.mark.parametrize('state', [
    {'Status': 'created', 'StartedAt': ZERO, 'FinishedAt': ZERO},
    {'Status': 'configured'},
    None,
    'running',
])
def test_observe_says_nothing_when_it_knows_nothing(state):
    assert state_sync.observe(state, NOW) is None


def test_observe_records_times():
    obs = state_sync.observe(exited(3), NOW)
    assert obs.started_at == datetime.datetime(2025, 3, 1, 11, 55)
    assert obs.finished_at == datetime.datetime(2025, 3, 1, 11, 59, 57)


R, S, E, D = consts.RUNNING, consts.STOPPED, consts.ERROR, consts.DEAD


@pytest.mark.parametrize('capsule_status,main,sandbox_missing,expected', [
    (R, [('a', R, None, False), ('b', S, 3, False)], False, (R, None)),
    (R, [('a', consts.RESTARTING, 1, False)], False, (R, None)),
    (R, [('a', S, 0, False), ('b', S, 0, False)], False, (S, None)),
    (R, [('a', S, 0, False), ('b', S, 3, False)], False,
     (S, 'Container b exited with code 3')),
    (R, [('a', D, None, False)], False, (S, 'Container a is dead')),
    (S, [('a', R, None, False)], False, (R, None)),
    (R, [('a', S, 0, False)], True, (E, state_sync.SANDBOX_GONE)),
    (R, [('a', R, None, False)], True, (R, None)),
    (R, [('a', E, None, True), ('b', S, 0, False)], False,
     (E, state_sync.CONTAINER_GONE % 'a')),
    # Not decided: no containers, containers not started, capsule in a
    # state the sync leaves to Zun.
    (R, [], False, None),
    (R, [('a', consts.CREATED, None, False)], False, None),
    (E, [('a', R, None, False)], False, None),
    (consts.CREATING, [('a', S, 0, False)], False, None),
])
def test_capsule_verdict(capsule_status, main, sandbox_missing, expected):
    assert state_sync.capsule_verdict(capsule_status, main,
                                      sandbox_missing) == expected


# --- the sync against a fake engine ------------------------------------------

def _capsule(n=1, status=consts.RUNNING, members=(('web', 'c-web'),
                                                  ('side', 'c-side')),
             init=()):
    containers = [fakes.container(10 * n + i, name, container_id=cid,
                                  status_detail='Up 1 seconds')
                  for i, (name, cid) in enumerate(members)]
    init_containers = [fakes.container(10 * n + 5 + i, name,
                                       status=consts.STOPPED,
                                       container_id=cid,
                                       status_detail='Exited(0)', init=True)
                       for i, (name, cid) in enumerate(init)]
    return fakes.capsule(n, status=status, containers=containers,
                         init_containers=init_containers,
                         container_id='sandbox-%d' % n)


def _sync(engine, capsules, lookup=None):
    sync = state_sync.DockerCapsuleSync(
        client_factory=engine.factory(),
        lookup=lookup or (lambda ctx, uuid: fakes.capsule(1)),
        clock=lambda: NOW)
    return sync.sync(fakes.CONTEXT, capsules)


def test_exited_container_is_recorded_and_capsule_stays_running(db):
    capsule = _capsule()
    engine = fakes.FakeDocker({'sandbox-1': running(), 'c-web': running(),
                               'c-side': exited(3)})
    observed = _sync(engine, [capsule])
    web, side = capsule.containers
    assert (side.status, side.status_detail) == (
        consts.STOPPED, 'Exited(3) 3 seconds ago')
    assert side.started_at == datetime.datetime(2025, 3, 1, 11, 55)
    assert web.status == consts.RUNNING
    assert capsule.status == consts.RUNNING
    assert observed[side.uuid] == {
        'exit_code': 3,
        'started_at': datetime.datetime(2025, 3, 1, 11, 55),
        'finished_at': datetime.datetime(2025, 3, 1, 11, 59, 57)}
    # web got its started_at once; side its state; the capsule nothing.
    assert sorted(u for u, _ in db.saved) == sorted([web.uuid, side.uuid])

    # A second sync with nothing new saves nothing.
    db.saved.clear()
    _sync(engine, [capsule])
    assert db.saved == []


def test_capsule_stops_when_every_container_has(db):
    capsule = _capsule()
    engine = fakes.FakeDocker({'sandbox-1': running(), 'c-web': exited(0),
                               'c-side': exited(3)})
    _sync(engine, [capsule])
    assert capsule.status == consts.STOPPED
    assert capsule.status_reason == 'Container side exited with code 3'
    assert [c.status for c in capsule.containers] == [consts.STOPPED] * 2

    # The engine restarts one (restartPolicy Always): Running again.
    engine.states['c-side'] = running('2025-03-01T11:59:59Z')
    _sync(engine, [capsule])
    side = capsule.containers[1]
    assert (side.status, side.status_reason) == (consts.RUNNING, None)
    assert side.started_at == datetime.datetime(2025, 3, 1, 11, 59, 59)
    assert (capsule.status, capsule.status_reason) == (consts.RUNNING, None)


def test_init_containers_are_recorded_but_do_not_decide(db):
    capsule = _capsule(members=(('web', 'c-web'),), init=(('init', 'c-i'),))
    engine = fakes.FakeDocker({'sandbox-1': running(), 'c-web': running(),
                               'c-i': exited(0)})
    _sync(engine, [capsule])
    init = capsule.init_containers[0]
    assert init.status_detail == 'Exited(0) 3 seconds ago'
    assert capsule.status == consts.RUNNING


def test_lost_sandbox_fails_the_capsule(db):
    capsule = _capsule()
    engine = fakes.FakeDocker({'c-web': exited(0), 'c-side': exited(0)})
    _sync(engine, [capsule])
    assert (capsule.status, capsule.status_reason) == (
        consts.ERROR, state_sync.SANDBOX_GONE)


def test_lost_container_is_error_like_zun_does_for_plain_ones(db):
    capsule = _capsule()
    engine = fakes.FakeDocker({'sandbox-1': running(), 'c-web': exited(0)})
    _sync(engine, [capsule])
    side = capsule.containers[1]
    assert (side.status, side.status_reason) == (
        consts.ERROR, 'No such container: c-side in docker')
    assert capsule.status == consts.ERROR
    assert capsule.status_reason == state_sync.CONTAINER_GONE % 'side'


def test_capsule_being_deleted_is_left_alone(db):
    capsule = _capsule()
    engine = fakes.FakeDocker({'sandbox-1': running()})
    deleting = fakes.capsule(1, status=consts.DELETING)
    _sync(engine, [capsule], lookup=lambda ctx, uuid: deleting)
    assert capsule.status == consts.RUNNING
    assert [c.status for c in capsule.containers] == [consts.RUNNING] * 2
    assert db.saved == []


@pytest.mark.parametrize('status', [consts.CREATING, consts.DELETING,
                                    consts.DELETED])
def test_transitional_capsules_are_skipped(db, status):
    capsule = _capsule(status=status)
    engine = fakes.FakeDocker({})
    _sync(engine, [capsule])
    assert engine.inspected == []


def test_container_with_a_task_is_skipped(db):
    capsule = _capsule()
    capsule.containers[1].task_state = consts.CONTAINER_STOPPING
    engine = fakes.FakeDocker({'sandbox-1': running(), 'c-web': running(),
                               'c-side': exited(1)})
    _sync(engine, [capsule])
    assert capsule.containers[1].status == consts.RUNNING


def test_engine_down_changes_nothing_and_raises_nothing(db):
    import requests

    capsule = _capsule()
    engine = fakes.FakeDocker(fail=requests.ConnectionError('refused'))
    assert _sync(engine, [capsule, _capsule(2)]) == {}
    assert engine.inspected == ['sandbox-1']  # gave up after the first
    assert db.saved == []


def test_one_bad_capsule_does_not_stop_the_others(db):
    bad = _capsule()
    bad.containers[0].save = None  # explodes when called
    good = _capsule(2, members=(('web', 'c2-web'),))
    engine = fakes.FakeDocker({'sandbox-1': running(), 'c-web': exited(1),
                               'c-side': running(), 'sandbox-2': running(),
                               'c2-web': exited(0)})
    _sync(engine, [bad, good])
    assert good.status == consts.STOPPED


# --- through the driver ------------------------------------------------------

def test_driver_sync_records_exit_and_notifies_once(db):
    capsule = _capsule()
    other_host = _capsule(2, members=(('web', 'c2-web'),))
    other_host.host = 'compute-2'
    engine = fakes.FakeDocker({'sandbox-1': running(), 'c-web': running(),
                               'c-side': exited(3)})
    sender = fakes.RecordingSender()
    drv = driver.NotifyingDriver(
        wrapped=fakes.FakeWrapped(), sender=sender,
        capsule_sync=state_sync.DockerCapsuleSync(
            client_factory=engine.factory(),
            lookup=lambda ctx, uuid: capsule, clock=lambda: NOW))
    drv.update_containers_states(fakes.CONTEXT, [capsule, other_host],
                                 object())
    assert 'c2-web' not in engine.inspected
    assert sender.types() == ['capsule.update']
    data = sender.data()
    assert data['status'] == consts.RUNNING
    side = data['containers'][1]
    assert side == {
        'name': 'side', 'uuid': capsule.containers[1].uuid,
        'status': consts.STOPPED, 'status_reason': None,
        'status_detail': 'Exited(3) 3 seconds ago', 'exit_code': 3,
        'started_at': '2025-03-01T11:55:00Z',
        'finished_at': '2025-03-01T11:59:57Z'}

    # Next sync: web exits 0 as well; the capsule stops; one more update.
    engine.states['c-web'] = exited(0)
    drv.update_containers_states(fakes.CONTEXT, [capsule], object())
    assert sender.types() == ['capsule.update', 'capsule.update']
    assert sender.data()['status'] == consts.STOPPED
    assert sender.data()['status_reason'] == \
        'Container side exited with code 3'

    # Nothing new: nothing sent.
    drv.update_containers_states(fakes.CONTEXT, [capsule], object())
    assert len(sender.events) == 2
