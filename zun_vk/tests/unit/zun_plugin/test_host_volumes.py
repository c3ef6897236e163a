"""The companion waits for a capsule's host volumes, then mounts them."""

import os
import threading

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

from oslo_config import cfg  # noqa: E402
from zun.common import consts  # noqa: E402

from zun_vk.tests.unit.zun_plugin import fakes  # noqa: E402
from zun_vk.zun_plugin import driver  # noqa: E402
from zun_vk.zun_plugin import host_volumes  # noqa: E402
from zun_vk.zun_plugin import volume_hints  # noqa: E402

PLAN = volume_hints.format_plan(
    {'cfg': ('files', 0), 'scratch': ('disk', 0), 'shm': ('memory', 0)},
    {('i', 0): [('scratch', '/seed', '', False)],
     ('c', 0): [('cfg', '/etc/app', '', False),
                ('cfg', '/etc/one', 'key', False),
                ('scratch', '/data', 'logs/app', True),
                ('shm', '/dev/shm', '', False)]})


class DockerLike(fakes.FakeWrapped):
    """Has the docker driver's _get_binds, called once per container."""

    def __init__(self):
        super().__init__()
        self.binds = {}

    def _get_binds(self, context, requested_volumes):
        return {'/cinder/%s' % v: {'bind': '/mnt/%s' % v}
                for v in requested_volumes}

    def create_capsule(self, context, capsule, image, networks, volumes):
        for member in (list(capsule.init_containers) +
                       list(capsule.containers)):
            self.binds[member.name] = self._get_binds(
                context, volumes.get(member.uuid, []))
        return super().create_capsule(context, capsule)


@pytest.fixture
def root(tmp_path, monkeypatch):
    fakes.install_db(monkeypatch)
    cfg.CONF.set_override('pods_dir', str(tmp_path), 'zun_vk_plugin')
    cfg.CONF.set_override('volumes_timeout', 5, 'zun_vk_plugin')
    yield str(tmp_path)
    cfg.CONF.clear_override('pods_dir', 'zun_vk_plugin')
    cfg.CONF.clear_override('volumes_timeout', 'zun_vk_plugin')


def _capsule(plan=PLAN):
    labels = {'zun-vk/node': 'vk-1', 'zun-vk/pod-uid': 'pod-1'}
    if plan is not None:
        labels[volume_hints.VOLUMES_LABEL] = plan
    app = fakes.container(2, 'app', status=consts.CREATING)
    init = fakes.container(3, 'init', status=consts.CREATING, init=True)
    return fakes.capsule(1, status=consts.CREATING, labels=labels,
                         containers=[app], init_containers=[init])


def _prepare_like_the_agent(root, uuid):
    """What zun-vk-agent and zun-vk do once plan.json is there."""
    base = os.path.join(root, uuid)
    for kind, name in (('disk', 'scratch'), ('memory', 'shm')):
        os.makedirs(os.path.join(base, kind, name))
    files = os.path.join(base, 'files', 'cfg')
    os.makedirs(os.path.join(files, '..2026_12_02'))
    os.symlink('..2026_12_02', os.path.join(files, '..data'))
    open(os.path.join(base, 'prepared'), 'w').close()


def _agent_when_planned(root, uuid):
    def run():
        plan = os.path.join(root, uuid, 'plan.json')
        for _ in range(2000):
            if os.path.exists(plan):
                _prepare_like_the_agent(root, uuid)
                return
            threading.Event().wait(0.005)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_containers_get_their_binds_once_the_volumes_are_ready(root):
    capsule = _capsule()
    wrapped = DockerLike()
    drv = driver.NotifyingDriver(wrapped=wrapped,
                                 sender=fakes.RecordingSender())
    agent = _agent_when_planned(root, capsule.uuid)
    drv.create_capsule(fakes.CONTEXT, capsule, 'image', [],
                       {capsule.containers[0].uuid: ['vol-1']})
    agent.join()
    base = os.path.join(root, capsule.uuid)
    with open(os.path.join(base, 'plan.json')) as stream:
        assert volume_hints.parse_plan(stream.read()) == (
            volume_hints.parse_plan(PLAN))
    assert wrapped.binds['init'] == {
        base + '/disk/scratch': {'bind': '/seed', 'mode': 'rw'}}
    assert wrapped.binds['app'] == {
        # Zun's own Cinder binds stay.
        '/cinder/vol-1': {'bind': '/mnt/vol-1'},
        # files volumes are read-only, as the kubelet mounts them
        base + '/files/cfg': {'bind': '/etc/app', 'mode': 'ro'},
        base + '/files/cfg/key': {'bind': '/etc/one', 'mode': 'ro'},
        base + '/disk/scratch/logs/app': {'bind': '/data', 'mode': 'ro'},
        base + '/memory/shm': {'bind': '/dev/shm', 'mode': 'rw'}}
    # A subPath of an emptyDir is made, as the kubelet makes it.
    assert os.path.isdir(base + '/disk/scratch/logs/app')


def test_a_capsule_without_a_plan_is_left_alone(root):
    capsule = _capsule(plan=None)
    wrapped = DockerLike()
    drv = driver.NotifyingDriver(wrapped=wrapped,
                                 sender=fakes.RecordingSender())
    drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert os.listdir(root) == []
    assert wrapped.binds == {'init': {}, 'app': {}}


def test_volumes_that_never_arrive_fail_the_create_and_say_why(root):
    cfg.CONF.set_override('volumes_timeout', 1, 'zun_vk_plugin')
    capsule = _capsule()
    wrapped = DockerLike()
    sender = fakes.RecordingSender()
    drv = driver.NotifyingDriver(wrapped=wrapped, sender=sender)
    with pytest.raises(host_volumes.VolumesNotReady) as exc:
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert 'zun-vk-agent' in str(exc.value)
    assert 'prepare the volumes' in str(exc.value)
    assert wrapped.binds == {}
    # The agent may remove what was prepared.
    assert os.path.exists(os.path.join(root, capsule.uuid, 'deleted'))


def test_missing_files_are_named():
    plan = volume_hints.parse_plan(PLAN)

    class Clock(object):
        now = 0.0

        def __call__(self):
            return self.now

        def sleep(self, seconds):
            self.now += seconds

    clock = Clock()
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        uuid = fakes.uuid(1)
        os.makedirs(os.path.join(root, uuid))
        open(os.path.join(root, uuid, 'prepared'), 'w').close()
        with pytest.raises(host_volumes.VolumesNotReady) as exc:
            host_volumes.wait_ready(root, uuid, plan, 3, clock=clock,
                                    sleep=clock.sleep)
    assert 'the files of volume cfg' in str(exc.value)
    assert clock.now >= 3


def test_a_broken_plan_fails_the_create(root):
    capsule = _capsule(plan='{"v": {"a": ["nfs"]}}')
    drv = driver.NotifyingDriver(wrapped=DockerLike(),
                                 sender=fakes.RecordingSender())
    with pytest.raises(volume_hints.BadPlan):
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})


def test_a_driver_that_cannot_bind_refuses_host_volumes(root):
    capsule = _capsule()
    drv = driver.NotifyingDriver(wrapped=fakes.FakeWrapped(),
                                 sender=fakes.RecordingSender())
    with pytest.raises(volume_hints.BadPlan) as exc:
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert 'only the docker driver can mount' in str(exc.value)


def test_delete_marks_the_directory_for_the_agent(root):
    capsule = _capsule()
    os.makedirs(os.path.join(root, capsule.uuid))
    drv = driver.NotifyingDriver(wrapped=DockerLike(),
                                 sender=fakes.RecordingSender())
    drv.delete_capsule(fakes.CONTEXT, capsule, False)
    assert os.path.exists(os.path.join(root, capsule.uuid, 'deleted'))


def test_one_source_mounted_twice_keeps_both_binds():
    volmaps = host_volumes.MountList([], [('/h/v', '/a', True),
                                          ('/h/v', '/b', False)])
    assert host_volumes.add_binds({}, volmaps) == {
        '/h/v': {'bind': '/a', 'mode': 'ro'},
        '/h/v/.': {'bind': '/b', 'mode': 'rw'}}
