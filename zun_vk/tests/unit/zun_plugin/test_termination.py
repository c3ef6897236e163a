"""Termination messages, read as the kubelet reads them."""

import datetime
import os

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

from oslo_config import cfg  # noqa: E402
from zun.common import consts  # noqa: E402

from zun_vk.tests.unit.zun_plugin import fakes  # noqa: E402
from zun_vk.zun_plugin import host_volumes  # noqa: E402
from zun_vk.zun_plugin import state_sync  # noqa: E402
from zun_vk.zun_plugin import termination  # noqa: E402
from zun_vk.zun_plugin import volume_hints  # noqa: E402

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0)


def exited(code):
    return {'Status': 'exited', 'ExitCode': code, 'Error': '',
            'OOMKilled': False, 'StartedAt': '2025-03-01T11:55:00Z',
            'FinishedAt': '2025-03-01T11:59:57Z'}


class Engine(fakes.FakeDocker):
    def __init__(self, states, log=b''):
        super().__init__(states)
        self.log = log
        self.log_calls = []

    def logs(self, container_id, stdout=True, stderr=True, stream=False,
             follow=True):
        self.log_calls.append((container_id, stream, follow))
        # In chunks, as the engine streams it.
        return iter([self.log[i:i + 100]
                     for i in range(0, len(self.log), 100)])


@pytest.fixture(autouse=True)
def host():
    cfg.CONF.set_override('host', fakes.HOST)
    yield
    cfg.CONF.clear_override('host')


def _capsule(policy='File'):
    plan = volume_hints.format_plan({}, {}, termination={
        ('c', 0): ('/dev/termination-log', policy)})
    app = fakes.container(2, 'app', container_id='c-app',
                          status_detail='Up 1 seconds')
    capsule = fakes.capsule(1, containers=[app], container_id='sandbox-1',
                            labels={'zun-vk/node': 'vk-1',
                                    volume_hints.VOLUMES_LABEL: plan})
    return capsule


def _sync(root, engine, capsule, sync=None):
    sync = sync or state_sync.DockerCapsuleSync(
        client_factory=engine.factory(),
        lookup=lambda ctx, uuid: capsule, clock=lambda: NOW,
        pods_dir=root)
    sync.sync(fakes.CONTEXT, [capsule])
    return capsule.containers[0], sync


def _prepared(root, capsule):
    plan = host_volumes.plan_of(capsule)
    host_volumes.write_plan(root, capsule.uuid, plan)
    host_volumes.make_termination_files(root, capsule.uuid, plan)
    return volume_hints.termination_file(root, capsule.uuid, 'c', 0)


def test_the_file_is_made_for_anyone_and_bound_where_the_pod_says(tmp_path):
    root = str(tmp_path)
    capsule = _capsule()
    path = _prepared(root, capsule)
    assert os.stat(path).st_mode & 0o777 == 0o666
    assert os.path.getsize(path) == 0
    plan = host_volumes.plan_of(capsule)
    assert host_volumes.binds(root, capsule.uuid, plan, 'c', 0) == [
        (path, '/dev/termination-log', False)]


def test_what_the_container_wrote_is_its_message(tmp_path, monkeypatch):
    fakes.install_db(monkeypatch)
    root = str(tmp_path)
    capsule = _capsule()
    with open(_prepared(root, capsule), 'w') as stream:
        stream.write('DONE' + 'x' * 5000)
    engine = Engine({'sandbox-1': exited(0), 'c-app': exited(0)})
    app, _ = _sync(root, engine, capsule)
    assert app.status == consts.STOPPED
    assert app.status_reason == 'DONE' + 'x' * (
        termination.MAX_MESSAGE_BYTES - 4)
    assert engine.log_calls == []


def test_a_failure_that_wrote_nothing_falls_back_to_its_log(tmp_path,
                                                            monkeypatch):
    fakes.install_db(monkeypatch)
    root = str(tmp_path)
    capsule = _capsule('FallbackToLogsOnError')
    _prepared(root, capsule)
    engine = Engine({'sandbox-1': exited(1), 'c-app': exited(1)},
                    log=b'a' * 3000 + b'\nDONE\n')
    app, sync = _sync(root, engine, capsule)
    assert engine.log_calls == [('c-app', True, False)]
    assert app.status_reason.endswith('DONE\n')
    assert len(app.status_reason) == termination.FALLBACK_BYTES
    # Read once per ending of the container.
    _sync(root, engine, capsule, sync)
    assert len(engine.log_calls) == 1
    assert app.status_reason.endswith('DONE\n')


@pytest.mark.parametrize('policy, code', [('File', 1),
                                          ('FallbackToLogsOnError', 0)])
def test_no_fallback_to_the_log_otherwise(tmp_path, monkeypatch, policy,
                                          code):
    fakes.install_db(monkeypatch)
    root = str(tmp_path)
    capsule = _capsule(policy)
    _prepared(root, capsule)
    engine = Engine({'sandbox-1': exited(code), 'c-app': exited(code)},
                    log=b'log')
    app, _ = _sync(root, engine, capsule)
    assert engine.log_calls == []
    assert app.status_reason is None


def test_an_ending_zun_recorded_first_still_gets_its_message(
        tmp_path, monkeypatch):
    # Zun's create inspects a container that exits at once as Stopped.
    fakes.install_db(monkeypatch)
    root = str(tmp_path)
    capsule = _capsule()
    capsule.containers[0].status = consts.STOPPED
    with open(_prepared(root, capsule), 'w') as stream:
        stream.write('early')
    engine = Engine({'sandbox-1': exited(0), 'c-app': exited(0)})
    app, _ = _sync(root, engine, capsule)
    assert app.status_reason == 'early'


@pytest.mark.parametrize('log, tail', [
    (b'', b''),
    (b'DONE', b'DONE'),
    (b'one\nDONE\n', b'one\nDONE\n'),
    (b''.join(b'%d\n' % i for i in range(100)),
     b''.join(b'%d\n' % i for i in range(20, 100))),
    (b'x' * 5000 + b'\nend', (b'x' * 5000 + b'\nend')[-2048:]),
])
def test_the_log_tail_is_the_kubelets(log, tail):
    chunks = [log[i:i + 7] for i in range(0, len(log), 7)]
    assert termination.log_tail(chunks) == tail


def test_a_broken_termination_plan_is_refused():
    with pytest.raises(volume_hints.BadPlan):
        volume_hints.parse_plan('{"t": {"c0": ["relative", "File"]}}')
    with pytest.raises(volume_hints.BadPlan):
        volume_hints.parse_plan('{"t": {"c0": ["/x", "Never"]}}')


def test_etc_hosts_is_written_with_the_address_and_bound(tmp_path):
    root = str(tmp_path)
    plan_text = volume_hints.format_plan({}, {}, hosts={
        'n': 'web-0', 'd': '', 'a': [['1.2.3.4', ['db']]]})
    capsule = fakes.capsule(1, labels={volume_hints.VOLUMES_LABEL:
                                       plan_text},
                            containers=[fakes.container(2, 'app')])
    plan = host_volumes.plan_of(capsule)
    host_volumes.write_plan(root, capsule.uuid, plan)
    volmaps = host_volumes.with_binds({}, capsule, root, plan)[
        capsule.containers[0].uuid]
    # The sandbox exists now, with its address.
    capsule.addresses = {'net': [{'addr': '10.0.0.9'}]}
    binds = host_volumes.add_binds({}, volmaps)
    path = host_volumes.hosts_file(root, capsule.uuid)
    assert binds == {path: {'bind': '/etc/hosts', 'mode': 'rw'}}
    with open(path) as stream:
        text = stream.read()
    assert '10.0.0.9\tweb-0\n' in text and '1.2.3.4\tdb\n' in text


class Populating(fakes.FakeWrapped):
    """Inspects each member after starting it, as Zun's create does."""

    def _get_binds(self, context, requested_volumes):
        return {}

    def _populate_container(self, container, response, force=False):
        container.status = consts.STOPPED

    def create_capsule(self, context, capsule, image, networks, volumes):
        for member in capsule.containers:
            self._get_binds(context, volumes.get(member.uuid, []))
            self._populate_container(member, {'State': {'ExitCode': 0}})
            member.save(context)
        return super().create_capsule(context, capsule)


def test_a_container_ended_at_create_has_its_message_then(tmp_path,
                                                          monkeypatch):
    from zun_vk.zun_plugin import driver
    fakes.install_db(monkeypatch)
    root = str(tmp_path)
    cfg.CONF.set_override('pods_dir', root, 'zun_vk_plugin')
    capsule = _capsule()
    capsule.status = consts.CREATING
    uuid = capsule.uuid

    class Agent(Populating):
        def create_capsule(self, context, capsule, *args):
            # The container wrote its message and exited.
            path = volume_hints.termination_file(root, uuid, 'c', 0)
            with open(path, 'w') as stream:
                stream.write('at once')
            return super().create_capsule(context, capsule, *args)
    drv = driver.NotifyingDriver(wrapped=Agent(),
                                 sender=fakes.RecordingSender())
    # The agent's part: the capsule's directory is prepared.
    import threading

    def prepare():
        for _ in range(2000):
            if os.path.exists(os.path.join(root, uuid, 'plan.json')):
                open(os.path.join(root, uuid, 'prepared'), 'w').close()
                return
            threading.Event().wait(0.005)
    thread = threading.Thread(target=prepare, daemon=True)
    thread.start()
    try:
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    finally:
        cfg.CONF.clear_override('pods_dir', 'zun_vk_plugin')
    thread.join()
    assert capsule.containers[0].status_reason == 'at once'
