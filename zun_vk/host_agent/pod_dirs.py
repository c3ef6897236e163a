"""The host directories of capsules' volumes: prepared, filled, removed.

The layout and the part of each side are in zun_vk.zun_plugin.volume_hints
(the companion driver inside zun-compute writes ``plan.json`` and
``deleted``; the agent does the rest, as root). PodDirs.run() polls
[agent]pods_dir every half second:

* a capsule directory with ``plan.json`` and no ``prepared`` gets its
  tmpfs at ``files/`` (one ``files/<volume>/`` per files volume), a tmpfs
  per memory emptyDir at ``memory/<volume>``, a directory per disk
  emptyDir at ``disk/<volume>``, then ``prepared``;
* a capsule directory with ``deleted``, or an orphan (``plan.json``
  older than [agent]orphan_dir_age and no engine container
  ``zun-<capsule uuid>``: the capsule failed or went without its
  ``deleted``), loses its mounts and is removed.

A poll costs a directory listing and one lstat per capsule: a capsule
directory is looked into again only when its mtime changed (the driver's
and the agent's files are created in it), after a failure, or every
RELOOK_INTERVAL. write_files() fills a files volume (the agent's PUT
route). Every path below pods_dir is opened without following symlinks
(see safe_fs), and one lock per capsule keeps a write, a preparation
and a removal of the same capsule apart.
"""

import errno
import grp
import os
import pwd
import stat
import threading
import time

from oslo_log import log as logging

from zun_vk.host_agent import atomic_writer
from zun_vk.host_agent import base
from zun_vk.host_agent import mounts
from zun_vk.host_agent import safe_fs
from zun_vk import http_error
from zun_vk.zun_plugin import volume_hints

LOG = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
RELOOK_INTERVAL = 30.0
RETRY_INTERVAL = 5.0
ORPHAN_CHECK_INTERVAL = 60.0
# The kernel stamps directories with a coarse clock: a change within the
# same tick as the last one leaves the mtime as it was, so a directory
# changed this recently is looked into again at the next poll.
FRESH_MTIME = 2.0
MAX_PLAN_BYTES = 1 << 20
UNMOUNT_PASSES = 5

ROOT_MODE = 0o711
PARENT_MODE = 0o755
FILES_MODE = 0o755
EMPTY_DIR_MODE = 0o777
MIB = 1 << 20

FILES_DIR = volume_hints.FILES
MEMORY_DIR = volume_hints.MEMORY
DISK_DIR = volume_hints.DISK
PLAN = volume_hints.PLAN_FILE
PREPARED = volume_hints.PREPARED_FILE
DELETED = volume_hints.DELETED_FILE


class VolumeError(http_error.HTTPError):
    """A files write the agent answers with status and one line."""


def resolve_owner(text):
    """(uid, gid) of 'user', 'user:group' or numeric ids; ValueError."""
    user, _, group = text.partition(':')
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else \
            pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        if not user.isdigit():
            raise ValueError('no user %r' % user) from None
        uid = gid = int(user)
    if group:
        try:
            gid = int(group) if group.isdigit() else \
                grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError('no group %r' % group) from None
    return uid, gid


def private_mount_namespace():
    """Whether this process has a mount namespace other than PID 1's.

    Mounts made there are invisible to the container engine. None when
    it cannot be told.
    """
    try:
        return (os.readlink('/proc/self/ns/mnt')
                != os.readlink('/proc/1/ns/mnt'))
    except OSError:
        return None


class _Seen(object):
    __slots__ = ('signature', 'next_look', 'error')

    def __init__(self, signature, next_look, error=None):
        self.signature = signature
        self.next_look = next_look
        self.error = error


class PodDirs(object):
    """The capsule directories under root, for one agent.

    capsule_exists(uuid) says whether the engine has the capsule's
    sandbox (the engine's has_capsule); None: orphans are never removed.
    mounter: mounts.Mounter or a fake of it. Sizes in bytes; memory_size
    0 leaves tmpfs its default (half the host's memory), as the kubelet
    1.20 does for an emptyDir in memory without sizeLimit.
    """

    def __init__(self, root, capsule_exists=None, mounter=None,
                 files_size=64 * MIB, memory_size=0, orphan_age=3600,
                 owner=None, clock=time.time):
        self.root = root
        self._capsule_exists = capsule_exists
        self._mounter = mounter or mounts.Mounter()
        self.files_size = files_size
        self.memory_size = memory_size
        self.orphan_age = orphan_age
        self.owner = owner
        self._clock = clock
        self._real_root = os.path.realpath(root)
        self._locks = {}
        self._locks_lock = threading.Lock()
        self._seen = {}
        self._next_orphan_check = 0.0
        self._scan_error = None

    # -- the root directory --------------------------------------------

    def ensure_root(self):
        """Make root (mode 0711, parents 0755) unless it exists.

        Gives it to owner when set. OSError or ValueError when that
        fails.
        """
        root = os.path.abspath(self.root)
        missing, path = [], root
        while not os.path.isdir(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        for path in reversed(missing):
            os.mkdir(path)
            # Explicit modes: the agent's umask (077 in its unit) would
            # keep zun-compute's user out of the parents.
            os.chmod(path, ROOT_MODE if path == root else PARENT_MODE)
            LOG.info('Created %s', path)
        info = os.stat(self.root)
        if not stat.S_ISDIR(info.st_mode):
            raise OSError(errno.ENOTDIR, '%s is not a directory'
                          % self.root)
        if self.owner:
            uid, gid = resolve_owner(self.owner)
            if (info.st_uid, info.st_gid) != (uid, gid):
                os.chown(self.root, uid, gid)
                LOG.info('%s now belongs to %s', self.root, self.owner)
        self._real_root = os.path.realpath(self.root)

    def _open_root(self):
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY
                       | os.O_CLOEXEC)

    # -- locks ----------------------------------------------------------

    def _lock(self, capsule):
        with self._locks_lock:
            return self._locks.setdefault(capsule, threading.Lock())

    def _drop_lock(self, capsule):
        with self._locks_lock:
            self._locks.pop(capsule, None)

    # -- questions of the server ----------------------------------------

    def has_capsule(self, capsule):
        """Whether the capsule is being created or runs here.

        That is: its directory has plan.json and no deleted.
        """
        if not volume_hints.is_capsule_uuid(capsule):
            return False
        try:
            root_fd = self._open_root()
            try:
                fd = safe_fs.open_dir(root_fd, capsule)
            finally:
                os.close(root_fd)
        except OSError:
            return False
        try:
            return (safe_fs.exists(fd, PLAN)
                    and not safe_fs.exists(fd, DELETED))
        except OSError:
            return False
        finally:
            os.close(fd)

    def _plan(self, capsule_fd):
        try:
            text = safe_fs.read_file(capsule_fd, PLAN, MAX_PLAN_BYTES)
            plan = volume_hints.parse_plan(text.decode('utf-8'))
        except UnicodeDecodeError:
            raise volume_hints.BadPlan('%s is not UTF-8' % PLAN) from None
        return plan or volume_hints.Plan({}, {})

    def write_files(self, capsule, volume, payload):
        """Project payload, {path: (bytes, mode)}, into a files volume.

        True when written, False when the volume already held exactly
        that. VolumeError: 400 bad payload, 404 no such capsule here, 409
        not prepared yet or no files volume of that name in the plan, 507
        the files tmpfs is full, 500 anything else.
        """
        try:
            atomic_writer.validate(payload)
        except atomic_writer.BadPayload as exc:
            raise VolumeError(400, str(exc)) from None
        if not volume_hints.is_capsule_uuid(capsule) or \
                not volume_hints.is_volume_name(volume):
            raise VolumeError(400, 'bad capsule or volume name')
        with self._lock(capsule):
            root_fd = self._open_root()
            try:
                try:
                    capsule_fd = safe_fs.open_dir(root_fd, capsule)
                except (FileNotFoundError, NotADirectoryError):
                    capsule_fd = None
                if capsule_fd is None:
                    raise VolumeError(404, 'capsule %s has no directory '
                                      'here' % capsule)
                try:
                    return self._write_locked(capsule_fd, capsule, volume,
                                              payload)
                finally:
                    os.close(capsule_fd)
            finally:
                os.close(root_fd)

    def _write_locked(self, capsule_fd, capsule, volume, payload):
        if not safe_fs.exists(capsule_fd, PLAN) or \
                safe_fs.exists(capsule_fd, DELETED):
            raise VolumeError(404, 'capsule %s is neither being created '
                              'nor running here' % capsule)
        if not safe_fs.exists(capsule_fd, PREPARED):
            raise VolumeError(409, 'the volumes of capsule %s are not '
                              'prepared yet' % capsule)
        try:
            plan = self._plan(capsule_fd)
        except (OSError, volume_hints.BadPlan) as exc:
            raise VolumeError(500, 'cannot read the plan of capsule %s: %s'
                              % (capsule, exc)) from None
        if plan.volumes.get(volume, (None,))[0] != volume_hints.FILES:
            raise VolumeError(409, 'capsule %s has no files volume %s'
                              % (capsule, volume))
        try:
            files_fd = safe_fs.open_dir(capsule_fd, FILES_DIR)
            try:
                if not self._mounter.is_mount_root(files_fd, capsule_fd):
                    # Secrets are kept in memory only, never on a disk.
                    raise VolumeError(500, '%s/ of capsule %s is not its '
                                      'tmpfs' % (FILES_DIR, capsule))
                volume_fd = safe_fs.make_dir(files_fd, volume, FILES_MODE)
            finally:
                os.close(files_fd)
            try:
                return atomic_writer.write(volume_fd, payload)
            finally:
                os.close(volume_fd)
        except atomic_writer.BadPayload as exc:
            raise VolumeError(400, str(exc)) from None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise VolumeError(507, 'volume %s does not fit in the '
                                  'files tmpfs of capsule %s (%d MiB, '
                                  '[agent]files_tmpfs_size)' % (
                                      volume, capsule,
                                      self.files_size // MIB)) from None
            raise VolumeError(500, 'cannot write volume %s of capsule %s: '
                              '%s' % (volume, capsule,
                                      exc.strerror or exc)) from None

    # -- preparation and removal ----------------------------------------

    def _mount_once(self, dir_fd, parent_fd, size, mode):
        # A mount left by an agent that stopped half-way is kept.
        if not self._mounter.is_mount_root(dir_fd, parent_fd):
            self._mounter.mount_tmpfs(dir_fd, size, mode)

    def _prepare(self, capsule_fd, capsule):
        plan = self._plan(capsule_fd)
        files = plan.names(volume_hints.FILES)
        if files:
            fd = safe_fs.make_dir(capsule_fd, FILES_DIR, FILES_MODE)
            try:
                self._mount_once(fd, capsule_fd, self.files_size,
                                 FILES_MODE)
            finally:
                os.close(fd)
            # Opened again: the first fd is the directory under the tmpfs.
            fd = safe_fs.open_dir(capsule_fd, FILES_DIR)
            try:
                for name in files:
                    os.close(safe_fs.make_dir(fd, name, FILES_MODE))
            finally:
                os.close(fd)
        memory = plan.names(volume_hints.MEMORY)
        if memory:
            fd = safe_fs.make_dir(capsule_fd, MEMORY_DIR, PARENT_MODE)
            try:
                for name in memory:
                    size = plan.volumes[name][1] or self.memory_size
                    volume_fd = safe_fs.make_dir(fd, name, EMPTY_DIR_MODE)
                    try:
                        self._mount_once(volume_fd, fd, size,
                                         EMPTY_DIR_MODE)
                    finally:
                        os.close(volume_fd)
            finally:
                os.close(fd)
        disk = plan.names(volume_hints.DISK)
        if disk:
            fd = safe_fs.make_dir(capsule_fd, DISK_DIR, PARENT_MODE)
            try:
                for name in disk:
                    os.close(safe_fs.make_dir(fd, name, EMPTY_DIR_MODE))
            finally:
                os.close(fd)
        try:
            safe_fs.write_new_file(capsule_fd, PREPARED, b'', 0o644)
        except FileExistsError:
            pass
        LOG.info('Prepared the volumes of capsule %s: files %s, memory %s, '
                 'disk %s', capsule, ','.join(files) or '-',
                 ','.join(memory) or '-', ','.join(disk) or '-')

    def _unmount_all(self, root_fd, capsule):
        path = os.path.join(self._real_root, capsule)
        for _ in range(UNMOUNT_PASSES):
            points = self._mounter.mount_points_under(path)
            if not points:
                return
            for point in points:
                parts = [capsule] + point[len(path) + 1:].split('/')
                try:
                    fd = safe_fs.open_path(root_fd, parts)
                    parent_fd = safe_fs.open_path(root_fd, parts[:-1])
                except OSError as exc:
                    LOG.warning('Cannot reach mount point %s: %s', point,
                                exc.strerror or exc)
                    continue
                try:
                    if self._mounter.is_mount_root(fd, parent_fd):
                        self._mounter.unmount(fd)
                finally:
                    os.close(fd)
                    os.close(parent_fd)
        points = self._mounter.mount_points_under(path)
        if points:
            raise OSError(errno.EBUSY, 'still mounted: %s'
                          % ', '.join(points))

    def _teardown(self, root_fd, capsule):
        self._unmount_all(root_fd, capsule)
        safe_fs.remove_tree(root_fd, capsule)
        LOG.info('Removed the volume directory of capsule %s', capsule)

    def _settle(self, capsule):
        """Prepare or remove the capsule's directory as it asks.

        Returns 'removed', 'prepared' or 'waiting' (no plan.json yet).
        """
        with self._lock(capsule):
            root_fd = self._open_root()
            try:
                state = self._settle_locked(root_fd, capsule)
            finally:
                os.close(root_fd)
        if state == 'removed':
            self._drop_lock(capsule)
        return state

    def _settle_locked(self, root_fd, capsule):
        try:
            capsule_fd = safe_fs.open_dir(root_fd, capsule)
        except (FileNotFoundError, NotADirectoryError):
            return 'removed'
        try:
            if safe_fs.exists(capsule_fd, DELETED):
                state = 'removed'
            elif safe_fs.exists(capsule_fd, PREPARED):
                return 'prepared'
            elif safe_fs.exists(capsule_fd, PLAN):
                self._prepare(capsule_fd, capsule)
                return 'prepared'
            else:
                return 'waiting'
        finally:
            os.close(capsule_fd)
        self._teardown(root_fd, capsule)
        return state

    def remove(self, capsule):
        """Unmount and remove the capsule's directory now."""
        with self._lock(capsule):
            root_fd = self._open_root()
            try:
                self._teardown(root_fd, capsule)
            finally:
                os.close(root_fd)
        self._drop_lock(capsule)

    # -- the poll -------------------------------------------------------

    def _look(self, capsule, signature, mtime, now):
        try:
            state = self._settle(capsule)
            error = None
        except (OSError, volume_hints.BadPlan) as exc:
            state = 'failed'
            error = str(exc)
            previous = self._seen.get(capsule)
            if previous is None or previous.error != error:
                LOG.error('Volumes of capsule %s: %s (tried again every '
                          '%d s)', capsule, error, RETRY_INTERVAL)
        if state == 'removed':
            self._seen.pop(capsule, None)
            return
        if error:
            next_look = now + RETRY_INTERVAL
        elif now - mtime < FRESH_MTIME:
            next_look = now
        else:
            next_look = now + RELOOK_INTERVAL
        self._seen[capsule] = _Seen(signature, next_look, error)

    def scan(self):
        """One poll of root: prepare and remove what asks for it."""
        now = self._clock()
        root_fd = self._open_root()
        try:
            with os.scandir(root_fd) as entries:
                found = [(e.name, e.stat(follow_symlinks=False))
                         for e in entries
                         if volume_hints.is_capsule_uuid(e.name)]
        finally:
            os.close(root_fd)
        present = set()
        for capsule, info in found:
            if not stat.S_ISDIR(info.st_mode):
                continue
            present.add(capsule)
            signature = (info.st_ino, info.st_mtime_ns)
            seen = self._seen.get(capsule)
            if seen is not None and seen.signature == signature and \
                    now < seen.next_look:
                continue
            self._look(capsule, signature, info.st_mtime_ns / 1e9, now)
        for capsule in set(self._seen) - present:
            del self._seen[capsule]
        if now >= self._next_orphan_check:
            self._next_orphan_check = now + ORPHAN_CHECK_INTERVAL
            self.remove_orphans(now)

    def _age(self, capsule):
        """Seconds since plan.json (else the directory) was written."""
        root_fd = self._open_root()
        try:
            fd = safe_fs.open_dir(root_fd, capsule)
        finally:
            os.close(root_fd)
        try:
            if safe_fs.exists(fd, DELETED):
                return None     # removed by the poll already
            info = safe_fs.lstat(fd, PLAN) or os.fstat(fd)
        finally:
            os.close(fd)
        return self._clock() - info.st_mtime

    def remove_orphans(self, now=None):
        """Remove old directories whose capsule the engine does not have.

        Old: plan.json older than orphan_age. Returns the removed
        capsules' uuids.
        """
        if self._capsule_exists is None:
            return []
        removed = []
        for capsule in sorted(self._seen):
            try:
                age = self._age(capsule)
            except OSError:
                continue
            if age is None or age < self.orphan_age:
                continue
            try:
                if self._capsule_exists(capsule):
                    continue
            except base.EngineError as exc:
                LOG.warning('Cannot tell orphaned capsule directories: %s',
                            exc.message)
                return removed
            LOG.info('Capsule %s has had its volume directory for %d s but '
                     'the engine has no container zun-%s: removing it',
                     capsule, age, capsule)
            try:
                self.remove(capsule)
            except OSError as exc:
                LOG.error('Cannot remove the volume directory of capsule '
                          '%s: %s', capsule, exc)
                continue
            self._seen.pop(capsule, None)
            removed.append(capsule)
        return removed

    def run(self, stopped, interval=POLL_INTERVAL):
        """Poll until the threading.Event stopped is set."""
        while True:
            try:
                self.scan()
                if self._scan_error:
                    LOG.info('%s can be read again', self.root)
                self._scan_error = None
            except Exception as exc:  # noqa: B902 - the loop goes on
                if str(exc) != self._scan_error:
                    LOG.exception('Cannot poll %s', self.root)
                self._scan_error = str(exc)
            if stopped.wait(interval):
                return
