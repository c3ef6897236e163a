"""The kubelet's atomic writer, for the files of a pod's volume.

configMap, secret, downwardAPI and projected volumes look on a compute
host as they look on a kubelet's node (pkg/volume/util/atomic_writer.go,
Kubernetes 1.20)::

    <target>/..2026_01_31_12_00_00.123456789/   the files
    <target>/..data -> ..2026_01_31_12_00_00.123456789
    <target>/<name> -> ..data/<name>            one per top-level name

An update writes a new timestamped directory, makes the user-visible
links of new top-level names, points ``..data_tmp`` at the new directory
and renames it over ``..data``: one atomic rename, so a reader sees the
old set of files or the new one, never a mix (applications watch
``..data`` for updates). Then the links no longer in the payload and the
old directory go. Names starting with ``..`` belong to the writer.

Where this differs from the kubelet, on purpose: a file whose mode alone
changed is written anew (the kubelet compares contents only, so a new
defaultMode waited for the next change of data); a ``..data_tmp`` left
by a crash is replaced rather than failing every later write; missing
user-visible links are made again even when nothing else changed (as
later kubelets do). Every operation is relative to the target's
directory fd and never follows a symlink. Not thread-safe: the caller
serializes writes to one target.
"""

import datetime
import errno
import os
import random
import stat

from zun_vk.host_agent import safe_fs

DATA_LINK = '..data'
NEW_DATA_LINK = '..data_tmp'
DIR_MODE = 0o755
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
MAX_MODE = 0o777

_random = random.SystemRandom()


class BadPayload(ValueError):
    """A payload the writer refuses; nothing was written."""


def clean_path(path):
    """A file's path relative to the volume, normalized; or BadPayload.

    Like the kubelet: not empty, not absolute, no '..' component, no
    first component starting with '..' (those names are the writer's),
    255 bytes per name and 4096 in all at most. 'a//b/./c' is 'a/b/c'.
    """
    if not isinstance(path, str) or not path:
        raise BadPayload('a file path must not be empty')
    if '\x00' in path:
        raise BadPayload('file path %r contains a NUL byte' % path[:64])
    if path.startswith('/'):
        raise BadPayload('file path %s must be relative' % path[:256])
    if len(path.encode('utf-8', 'surrogatepass')) > MAX_PATH_BYTES:
        raise BadPayload('file path %s... is longer than %d bytes'
                         % (path[:64], MAX_PATH_BYTES))
    items = path.split('/')
    if '..' in items:
        raise BadPayload("file path %s must not contain '..'" % path[:256])
    if any(len(i.encode('utf-8', 'surrogatepass')) > MAX_NAME_BYTES
           for i in items):
        raise BadPayload('file path %s... has a name longer than %d bytes'
                         % (path[:64], MAX_NAME_BYTES))
    parts = [i for i in items if i not in ('', '.')]
    if not parts:
        raise BadPayload('file path %r names no file' % path)
    # Checked after cleaning: './..data' must not reach the data link.
    if parts[0].startswith('..'):
        raise BadPayload("file path %s must not start with '..'"
                         % path[:256])
    return '/'.join(parts)


def validate(payload):
    """{clean path: (bytes, mode)} of {path: (bytes, mode)}; BadPayload."""
    clean = {}
    for path, (data, mode) in payload.items():
        name = clean_path(path)
        if name in clean:
            raise BadPayload('file path %s is given twice' % name)
        if not isinstance(data, (bytes, bytearray)):
            raise BadPayload('the data of %s must be bytes' % name)
        if type(mode) is not int or not 0 <= mode <= MAX_MODE:
            raise BadPayload('the mode of %s must be from 0 to 0777, not %r'
                             % (name, mode))
        clean[name] = (bytes(data), mode)
    for name in clean:
        parts = name.split('/')
        for depth in range(1, len(parts)):
            parent = '/'.join(parts[:depth])
            if parent in clean:
                raise BadPayload('%s is a file and the directory of %s'
                                 % (parent, name))
    return clean


def _ancestors_and_self(name):
    parts = name.split('/')
    return {'/'.join(parts[:depth]) for depth in range(1, len(parts) + 1)}


def _current_dir(target_fd):
    """Name of the timestamped directory ..data points at, or None."""
    try:
        name = os.readlink(DATA_LINK, dir_fd=target_fd)
    except FileNotFoundError:
        return None
    if ('/' in name or not name.startswith('..')
            or name in ('..', DATA_LINK, NEW_DATA_LINK)):
        raise OSError(errno.EINVAL, '%s points at %r, not at a timestamped '
                      'directory' % (DATA_LINK, name))
    info = safe_fs.lstat(target_fd, name)
    if info is None or not stat.S_ISDIR(info.st_mode):
        # The kubelet treats a vanished directory as no files at all.
        return None
    return name


def _list_tree(fd, prefix=''):
    """Relative paths of every file and directory below fd."""
    paths = set()
    with os.scandir(fd) as entries:
        children = [(e.name, e.is_dir(follow_symlinks=False))
                    for e in entries]
    for name, is_dir in children:
        path = prefix + name
        paths.add(path)
        if is_dir:
            child = safe_fs.open_dir(fd, name)
            try:
                paths |= _list_tree(child, path + '/')
            finally:
                os.close(child)
    return paths


def _same_file(dir_fd, name, data, mode):
    parts = name.split('/')
    try:
        fd = safe_fs.open_path(dir_fd, parts[:-1])
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False
        raise
    try:
        info = safe_fs.lstat(fd, parts[-1])
        if (info is None or not stat.S_ISREG(info.st_mode)
                or stat.S_IMODE(info.st_mode) != mode
                or info.st_size != len(data)):
            return False
        return safe_fs.read_file(fd, parts[-1], len(data)) == data
    finally:
        os.close(fd)


def _new_dir(target_fd, now):
    stamp = now.strftime('..%Y_%m_%d_%H_%M_%S.')
    for _ in range(100):
        name = stamp + '%09d' % _random.randrange(10 ** 9)
        try:
            os.mkdir(name, DIR_MODE, dir_fd=target_fd)
        except FileExistsError:
            continue
        fd = safe_fs.open_dir(target_fd, name)
        os.fchmod(fd, DIR_MODE)
        return name, fd
    raise OSError(errno.EEXIST, 'no free timestamped directory name')


def _write_files(ts_fd, payload):
    for name in sorted(payload):
        data, mode = payload[name]
        parts = name.split('/')
        fd = os.dup(ts_fd)
        try:
            for part in parts[:-1]:
                child = safe_fs.make_dir(fd, part, DIR_MODE)
                os.close(fd)
                fd = child
            safe_fs.write_new_file(fd, parts[-1], data, mode)
        finally:
            os.close(fd)


def _make_visible_links(target_fd, payload):
    for top in sorted({name.split('/', 1)[0] for name in payload}):
        if safe_fs.lstat(target_fd, top) is None:
            os.symlink(DATA_LINK + '/' + top, top, dir_fd=target_fd)


def _stale_links(target_fd, payload):
    """User-visible links of names no longer in the payload."""
    tops = {name.split('/', 1)[0] for name in payload}
    with os.scandir(target_fd) as entries:
        return {e.name for e in entries
                if not e.name.startswith('..') and e.name not in tops
                and e.is_symlink()}


def write(target_fd, payload, now=None):
    """Project payload, {path: (bytes, mode)}, into the target directory.

    Returns True when files were written, False when the target already
    held exactly this payload (same paths, contents and modes). Raises
    BadPayload (nothing touched) or OSError (the previous files stay as
    they were; a half-written new directory is removed).
    """
    payload = validate(payload)
    old = _current_dir(target_fd)
    # The kubelet finds stale names in the old directory only; links
    # left by a write cut short after its rename are found here too.
    stale = _stale_links(target_fd, payload)
    if old is not None:
        old_fd = safe_fs.open_dir(target_fd, old)
        try:
            wanted = set()
            for name in payload:
                wanted |= _ancestors_and_self(name)
            stale |= _list_tree(old_fd) - wanted
            unchanged = all(_same_file(old_fd, name, data, mode)
                            for name, (data, mode) in payload.items())
        finally:
            os.close(old_fd)
        if unchanged and not stale:
            _make_visible_links(target_fd, payload)
            return False
    now = now or datetime.datetime.now(datetime.timezone.utc)
    new, new_fd = _new_dir(target_fd, now)
    try:
        try:
            _write_files(new_fd, payload)
        finally:
            os.close(new_fd)
        # Links first: on the first write a reader that finds ..data
        # also finds every name (their targets appear with the rename).
        _make_visible_links(target_fd, payload)
        if safe_fs.lstat(target_fd, NEW_DATA_LINK) is not None:
            os.unlink(NEW_DATA_LINK, dir_fd=target_fd)
        os.symlink(new, NEW_DATA_LINK, dir_fd=target_fd)
        os.rename(NEW_DATA_LINK, DATA_LINK, src_dir_fd=target_fd,
                  dst_dir_fd=target_fd)
    except BaseException:
        try:
            if safe_fs.lstat(target_fd, NEW_DATA_LINK) is not None:
                os.unlink(NEW_DATA_LINK, dir_fd=target_fd)
            safe_fs.remove_tree(target_fd, new)
        except OSError:
            pass
        raise
    # Only top-level names are links of their own; deeper stale paths go
    # with the old directory.
    for name in stale:
        info = safe_fs.lstat(target_fd, name) if '/' not in name else None
        if info is not None and stat.S_ISLNK(info.st_mode):
            os.unlink(name, dir_fd=target_fd)
    if old is not None:
        safe_fs.remove_tree(target_fd, old)
    return True
