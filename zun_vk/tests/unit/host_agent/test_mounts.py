"""tmpfs mounts by directory fd; one test mounts for real (root only)."""

import json
import os

import pytest

from zun_vk.host_agent import mounts
from zun_vk.host_agent import pod_dirs
from zun_vk.host_agent import safe_fs
from zun_vk.tests.unit.host_agent import fakes

CAPSULE = fakes.CAPSULE


@pytest.mark.parametrize('size,mode,expected', [
    (1 << 20, 0o755, 'size=1048576,mode=755'),
    (0, 0o777, 'mode=777'),
])
def test_tmpfs_options(size, mode, expected):
    assert mounts.tmpfs_options(size, mode) == expected


def test_mountinfo_paths_are_unescaped():
    assert mounts.unescape_mountinfo(r'/a\040b/c\011d\134e') == \
        '/a b/c\td\\e'


def test_mount_points_under_a_path(tmp_path):
    info = tmp_path / 'mountinfo'
    info.write_text(
        '22 1 0:21 / / rw - ext4 /dev/vda1 rw\n'
        '40 22 0:40 / /srv/caps/x/files rw,nosuid,nodev - tmpfs tmpfs rw\n'
        '41 22 0:41 / /srv/caps/x/memory/a\\040b rw - tmpfs tmpfs rw\n'
        '42 41 0:42 / /srv/caps/x/memory/a\\040b/deeper rw - tmpfs tmpfs '
        'rw\n'
        '43 22 0:43 / /srv/caps/xy/files rw - tmpfs tmpfs rw\n'
        '44 22 0:44 / /srv/caps/x rw - tmpfs tmpfs rw\n')
    mounter = mounts.Mounter(mountinfo=str(info))
    assert mounter.mount_points_under('/srv/caps/x') == [
        '/srv/caps/x/memory/a b/deeper', '/srv/caps/x/memory/a b',
        '/srv/caps/x/files']


def mount_of(path):
    """(options, fs options) of the mount at path, or None."""
    with open('/proc/self/mountinfo') as f:
        for line in f:
            fields = line.split()
            if mounts.unescape_mountinfo(fields[4]) == path:
                dash = fields.index('-')
                return fields[5], fields[dash + 1], fields[dash + 3]
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason='mounting needs root')
def test_real_tmpfs_volumes_are_mounted_filled_and_removed(tmp_path):
    old_umask = os.umask(0o077)
    root = tmp_path / 'capsules'
    dirs = pod_dirs.PodDirs(str(root), files_size=4 << 20)
    try:
        dirs.ensure_root()
        capsule = root / CAPSULE
        capsule.mkdir()
        (capsule / 'plan.json').write_text(json.dumps(
            {'v': {'cfg': ['files'], 'cache': ['memory', 1 << 20],
                   'scratch': ['disk', 0]}, 'm': {}}))
        real = os.path.realpath(str(capsule))
        try:
            dirs.scan()
            assert (capsule / 'prepared').exists()
            files = mount_of(real + '/files')
            memory = mount_of(real + '/memory/cache')
            assert files is not None and memory is not None
            for options, fstype, _ in (files, memory):
                assert fstype == 'tmpfs'
                assert 'nosuid' in options and 'nodev' in options
            assert 'size=4096k' in files[2] and 'mode=755' in files[2]
            assert 'size=1024k' in memory[2] and 'mode=777' in memory[2]
            assert dirs.write_files(CAPSULE, 'cfg', {
                'key': (b'secret', 0o600)}) is True
            assert (capsule / 'files' / 'cfg' / 'key').read_bytes() == \
                b'secret'
            # The secret is in the tmpfs, not on the disk below it.
            parent_fd = os.open(str(capsule), os.O_RDONLY)
            try:
                assert not safe_fs.same_device(
                    safe_fs.open_dir(parent_fd, 'files'), parent_fd)
            finally:
                os.close(parent_fd)
            (capsule / 'deleted').write_text('')
            dirs.scan()
            assert not capsule.exists()
            assert mounts.Mounter().mount_points_under(real) == []
        finally:
            for point in mounts.Mounter().mount_points_under(real):
                os.system('umount -l %s' % point)
    finally:
        os.umask(old_umask)


@pytest.mark.skipif(os.geteuid() != 0, reason='mounting needs root')
def test_removal_stops_at_a_mount_it_could_not_unmount(tmp_path):
    top = tmp_path / 'top'
    (top / 'mnt').mkdir(parents=True)
    fd = os.open(str(top / 'mnt'), os.O_RDONLY | os.O_DIRECTORY)
    mounter = mounts.Mounter()
    try:
        mounter.mount_tmpfs(fd, 1 << 20, 0o755)
        (top / 'mnt' / 'inside').write_text('kept')
        parent = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
        try:
            with pytest.raises(OSError, match='mount point'):
                safe_fs.remove_tree(parent, 'top')
        finally:
            os.close(parent)
        assert (top / 'mnt' / 'inside').read_text() == 'kept'
    finally:
        inner = os.open(str(top / 'mnt'), os.O_RDONLY | os.O_DIRECTORY)
        mounter.unmount(inner)
        os.close(inner)
        os.close(fd)
    assert mounter.mount_points_under(os.path.realpath(str(top))) == []
