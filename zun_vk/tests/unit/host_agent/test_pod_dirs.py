"""Capsule volume directories: prepared, filled, removed (fake mounts)."""

import json
import os
import stat
import threading
import time

import pytest

from zun_vk.host_agent import atomic_writer
from zun_vk.host_agent import base
from zun_vk.host_agent import pod_dirs
from zun_vk.tests.unit.host_agent import fakes

CAPSULE = fakes.CAPSULE
OTHER = '0a1b2c3d-0000-4000-8000-00000000c002'
MIB = 1 << 20
PLAN = {'v': {'cfg': ['files'], 'token': ['files'],
              'cache': ['memory', MIB], 'shm': ['memory', 0],
              'scratch': ['disk', 0]},
        'm': {'c0': [['cfg', '/etc/app', '', True],
                     ['scratch', '/tmp', '', False]]}}


@pytest.fixture(autouse=True)
def strict_umask():
    old = os.umask(0o077)
    yield
    os.umask(old)


class Clock(object):
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


class Engine(object):
    def __init__(self):
        self.capsules = set()
        self.error = None
        self.asked = []

    def has_capsule(self, capsule):
        self.asked.append(capsule)
        if self.error:
            raise self.error
        return capsule in self.capsules


@pytest.fixture
def env(tmp_path):
    root = tmp_path / 'capsules'
    mounter = fakes.FakeMounter()
    engine = Engine()
    clock = Clock()
    dirs = pod_dirs.PodDirs(str(root), capsule_exists=engine.has_capsule,
                            mounter=mounter, files_size=64 * MIB,
                            memory_size=512 * MIB, orphan_age=3600,
                            clock=clock)
    dirs.ensure_root()
    return dirs, mounter, engine, clock, root


def new_capsule(root, capsule=CAPSULE, plan=PLAN):
    path = root / capsule
    path.mkdir()
    if plan is not None:
        (path / 'plan.json').write_text(
            plan if isinstance(plan, str) else json.dumps(plan))
    return path


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_root_is_made_with_modes_that_let_zun_compute_in(tmp_path):
    root = tmp_path / 'var' / 'lib' / 'capsules'
    pod_dirs.PodDirs(str(root), mounter=fakes.FakeMounter()).ensure_root()
    assert mode_of(root) == 0o711
    assert mode_of(root.parent) == 0o755
    assert mode_of(root.parent.parent) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_root_is_given_to_its_owner(tmp_path):
    root = tmp_path / 'capsules'
    pod_dirs.PodDirs(str(root), mounter=fakes.FakeMounter(),
                     owner='65534:65533').ensure_root()
    info = os.stat(str(root))
    assert (info.st_uid, info.st_gid) == (65534, 65533)


@pytest.mark.parametrize('text,expected', [
    ('0', (0, 0)),
    ('root', (0, 0)),
    ('root:0', (0, 0)),
    ('54321', (54321, 54321)),
    ('54321:7', (54321, 7)),
])
def test_resolve_owner(text, expected):
    assert pod_dirs.resolve_owner(text) == expected


@pytest.mark.parametrize('text', ['no-such-user-zvk', 'root:no-such-grp'])
def test_resolve_owner_refuses_unknown_names(text):
    with pytest.raises(ValueError, match='no-such'):
        pod_dirs.resolve_owner(text)


def test_plan_is_prepared(env):
    dirs, mounter, _, _, root = env
    path = new_capsule(root)
    dirs.scan()
    assert (path / 'prepared').is_file()
    assert mounter.sizes() == {
        str(path / 'files'): (64 * MIB, 0o755),
        str(path / 'memory' / 'cache'): (MIB, 0o777),
        str(path / 'memory' / 'shm'): (512 * MIB, 0o777),
    }
    assert sorted(os.listdir(str(path / 'files'))) == ['cfg', 'token']
    assert mode_of(path / 'files' / 'cfg') == 0o755
    assert mode_of(path / 'memory') == 0o755
    assert mode_of(path / 'memory' / 'cache') == 0o777
    assert mode_of(path / 'disk' / 'scratch') == 0o777
    assert dirs.has_capsule(CAPSULE)


def test_preparation_happens_once(env):
    dirs, mounter, _, clock, root = env
    new_capsule(root)
    dirs.scan()
    calls = list(mounter.calls)
    clock.now += pod_dirs.RELOOK_INTERVAL + 1
    dirs.scan()
    (root / CAPSULE / 'prepared').unlink()
    dirs.scan()
    # Prepared again, but nothing mounted twice.
    assert (root / CAPSULE / 'prepared').exists()
    assert mounter.calls == calls


def test_plan_without_volumes_is_prepared_without_mounts(env):
    dirs, mounter, _, _, root = env
    path = new_capsule(root, plan='')
    dirs.scan()
    assert (path / 'prepared').exists()
    assert mounter.calls == []
    assert sorted(os.listdir(str(path))) == ['plan.json', 'prepared']


def test_nothing_happens_without_plan(env):
    dirs, mounter, _, _, root = env
    path = new_capsule(root, plan=None)
    (root / 'not-a-capsule').mkdir()
    dirs.scan()
    assert os.listdir(str(path)) == []
    assert not dirs.has_capsule(CAPSULE)


def test_bad_plan_is_not_prepared_until_mended(env, caplog):
    dirs, mounter, _, clock, root = env
    path = new_capsule(root, plan='{"v": {"Bad_Name": ["files"]}}')
    dirs.scan()
    dirs.scan()
    assert not (path / 'prepared').exists()
    errors = [r for r in caplog.records if 'Bad_Name' in r.getMessage()]
    assert len(errors) == 1
    (path / 'plan.json').write_text(json.dumps(PLAN))
    clock.now += pod_dirs.RETRY_INTERVAL
    dirs.scan()
    assert (path / 'prepared').exists()


def test_an_unchanged_directory_is_not_looked_into(env, monkeypatch):
    dirs, _, _, clock, root = env
    path = new_capsule(root)
    dirs.scan()
    old = clock.now - 60
    os.utime(str(path), (old, old))
    dirs.scan()
    looked = []
    monkeypatch.setattr(dirs, '_settle', looked.append)
    for _ in range(3):
        dirs.scan()
    assert looked == []
    (path / 'deleted').write_text('')
    dirs.scan()
    assert looked == [CAPSULE]


def test_deleted_capsule_is_unmounted_and_removed(env):
    dirs, mounter, _, _, root = env
    path = new_capsule(root)
    new_capsule(root, OTHER)
    dirs.scan()
    dirs.write_files(CAPSULE, 'cfg', {'a': (b'1', 0o644)})
    (path / 'deleted').write_text('')
    dirs.scan()
    assert not path.exists()
    assert sorted(c[1] for c in mounter.calls if c[0] == 'unmount') == [
        str(path / 'files'), str(path / 'memory' / 'cache'),
        str(path / 'memory' / 'shm')]
    assert (root / OTHER / 'prepared').exists()
    assert not dirs.has_capsule(CAPSULE)


def test_removal_never_follows_symlinks_out_of_the_root(env, tmp_path):
    dirs, _, _, _, root = env
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'precious').write_text('keep me')
    path = new_capsule(root)
    dirs.scan()
    os.symlink(str(outside), str(path / 'disk' / 'scratch' / 'link'))
    os.symlink(str(outside / 'precious'), str(path / 'file-link'))
    (path / 'deleted').write_text('')
    dirs.scan()
    assert not path.exists()
    assert (outside / 'precious').read_text() == 'keep me'


def test_a_directory_swapped_for_a_symlink_is_not_entered(env, tmp_path):
    dirs, mounter, _, _, root = env
    outside = tmp_path / 'outside'
    outside.mkdir()
    path = new_capsule(root, plan={'v': {'cfg': ['files']}, 'm': {}})
    os.symlink(str(outside), str(path / 'files'))
    dirs.scan()
    assert not (path / 'prepared').exists()
    assert mounter.calls == []
    assert os.listdir(str(outside)) == []


def test_a_mount_that_stays_keeps_the_directory(env):
    dirs, mounter, _, clock, root = env
    path = new_capsule(root)
    dirs.scan()
    stuck = mounter.unmount
    mounter.unmount = lambda fd: None
    (path / 'deleted').write_text('')
    dirs.scan()
    # Nothing below a mount point was removed, and it is tried again.
    assert (path / 'files' / 'cfg').is_dir()
    mounter.unmount = stuck
    clock.now += pod_dirs.RETRY_INTERVAL
    dirs.scan()
    assert not path.exists()


def age(path, seconds, clock):
    then = clock.now - seconds
    os.utime(str(path / 'plan.json'), (then, then))


def test_orphans_are_removed_once_old_and_not_in_the_engine(env):
    dirs, _, engine, clock, root = env
    young = new_capsule(root, OTHER)
    old = new_capsule(root)
    dirs.scan()
    age(old, 3601, clock)
    age(young, 60, clock)
    engine.capsules.add(CAPSULE)
    assert dirs.remove_orphans() == []
    assert old.exists()
    engine.capsules.clear()
    assert dirs.remove_orphans() == [CAPSULE]
    assert not old.exists() and young.exists()
    assert engine.asked == [CAPSULE, CAPSULE]


def test_orphans_stay_while_the_engine_does_not_answer(env):
    dirs, _, engine, clock, root = env
    path = new_capsule(root)
    dirs.scan()
    age(path, 7200, clock)
    engine.error = base.Unavailable('the engine does not answer')
    assert dirs.remove_orphans() == []
    assert path.exists()


def test_scan_looks_for_orphans_now_and_then(env):
    dirs, _, engine, clock, root = env
    path = new_capsule(root)
    dirs.scan()
    age(path, 7200, clock)
    dirs.scan()
    assert path.exists()
    clock.now += pod_dirs.ORPHAN_CHECK_INTERVAL
    dirs.scan()
    assert not path.exists()


# -- writing files --------------------------------------------------------


def test_write_files_projects_into_the_volume(env):
    dirs, _, _, _, root = env
    new_capsule(root)
    dirs.scan()
    payload = {'token': (b'secret', 0o600), 'ca/ca.crt': (b'CA', 0o644)}
    assert dirs.write_files(CAPSULE, 'token', payload) is True
    volume = root / CAPSULE / 'files' / 'token'
    assert (volume / 'token').read_bytes() == b'secret'
    assert (volume / 'ca' / 'ca.crt').read_bytes() == b'CA'
    assert os.readlink(str(volume / 'token')) == '..data/token'
    assert dirs.write_files(CAPSULE, 'token', payload) is False


@pytest.mark.parametrize('setup,volume,status,message', [
    ('none', 'cfg', 404, 'no directory'),
    ('no plan', 'cfg', 404, 'neither being created'),
    ('deleted', 'cfg', 404, 'neither being created'),
    ('not prepared', 'cfg', 409, 'not prepared yet'),
    ('prepared', 'cache', 409, 'no files volume cache'),
    ('prepared', 'unknown', 409, 'no files volume unknown'),
    ('unmounted', 'cfg', 500, 'is not its tmpfs'),
])
def test_write_files_refusals(env, setup, volume, status, message):
    dirs, mounter, _, _, root = env
    if setup != 'none':
        path = new_capsule(root, plan=None if setup == 'no plan' else PLAN)
    if setup in ('prepared', 'deleted', 'unmounted'):
        dirs.scan()
    if setup == 'deleted':
        (path / 'deleted').write_text('')
    if setup == 'unmounted':
        mounter.mounted.clear()
    with pytest.raises(pod_dirs.VolumeError) as info:
        dirs.write_files(CAPSULE, volume, {'a': (b'1', 0o644)})
    assert info.value.status == status
    assert message in info.value.message


def test_write_files_refuses_bad_paths_before_anything(env):
    dirs, _, _, _, root = env
    with pytest.raises(pod_dirs.VolumeError) as info:
        dirs.write_files(CAPSULE, 'cfg', {'../escape': (b'1', 0o644)})
    assert info.value.status == 400


def test_a_full_tmpfs_is_507(env, monkeypatch):
    dirs, _, _, _, root = env
    new_capsule(root)
    dirs.scan()

    def full(fd, payload):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(atomic_writer, 'write', full)
    with pytest.raises(pod_dirs.VolumeError) as info:
        dirs.write_files(CAPSULE, 'cfg', {'a': (b'1', 0o644)})
    assert info.value.status == 507
    assert 'files_tmpfs_size' in info.value.message


def test_the_loop_prepares_and_stops(env):
    dirs, _, _, _, root = env
    stop = threading.Event()
    thread = threading.Thread(target=dirs.run, args=(stop, 0.05))
    thread.start()
    try:
        path = new_capsule(root)
        deadline = time.monotonic() + 30
        while not (path / 'prepared').exists():
            assert time.monotonic() < deadline, 'not prepared'
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
