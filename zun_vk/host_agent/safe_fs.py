"""File operations relative to directory fds that never follow symlinks.

The agent works as root inside capsule directories that zun-compute's
user creates and may change while the agent works. Every path below the
pods directory is therefore opened one component at a time with
O_NOFOLLOW, and everything after that is done relative to the opened
directory, so a directory swapped for a symlink never takes the agent
(or a mount, or a removal) out of the pods directory.
"""

import errno
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_dir(parent_fd, name):
    """A new fd of the directory name in parent_fd; no symlinks.

    OSError ENOTDIR or ELOOP when name is not a directory.
    """
    return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)


def open_path(root_fd, parts):
    """A new fd of root_fd/parts[0]/parts[1]/...; no symlinks anywhere."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            if part in ('', '.', '..') or '/' in part:
                raise OSError(errno.EINVAL, 'bad path component %r' % part)
            child = open_dir(fd, part)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def lstat(dir_fd, name):
    """os.stat_result of name in dir_fd, or None when there is none."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def exists(dir_fd, name):
    return lstat(dir_fd, name) is not None


def make_dir(parent_fd, name, mode):
    """Make (or keep) the directory name with exactly mode; its fd.

    An existing directory is kept and chmod'ed; anything else by that
    name (a file, a symlink) is an error. The mode is set after mkdir, so
    the process umask does not matter.
    """
    try:
        os.mkdir(name, mode, dir_fd=parent_fd)
    except FileExistsError:
        pass
    fd = open_dir(parent_fd, name)
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_file(dir_fd, name, limit):
    """Bytes of the regular file name (at most limit bytes, else error)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                 dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, '%s is not a regular file' % name)
        if info.st_size > limit:
            raise OSError(errno.EFBIG, '%s is larger than %d bytes'
                          % (name, limit))
        data = bytearray()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return bytes(data)
            data += chunk
            if len(data) > limit:
                raise OSError(errno.EFBIG, '%s is larger than %d bytes'
                              % (name, limit))
    finally:
        os.close(fd)


def write_new_file(dir_fd, name, data, mode):
    """Create name (it must not exist) with data and exactly mode."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                 | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        # open(2) applied the umask; the kubelet chmods for the same
        # reason.
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def same_device(fd, parent_fd):
    return os.fstat(fd).st_dev == os.fstat(parent_fd).st_dev


def remove_tree(parent_fd, name):
    """Remove name in parent_fd and everything below it.

    Symlinks are removed, never followed. A directory on another
    filesystem than its parent (something still mounted) is not entered:
    OSError EBUSY, and what was removed up to there stays removed.
    """
    info = lstat(parent_fd, name)
    if info is None:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    fd = open_dir(parent_fd, name)
    try:
        if not same_device(fd, parent_fd):
            raise OSError(errno.EBUSY, '%s is a mount point' % name)
        _empty(fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


def _empty(fd):
    with os.scandir(fd) as entries:
        names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    for name, is_dir in names:
        if is_dir:
            remove_tree(fd, name)
        else:
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
