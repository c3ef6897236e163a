"""tmpfs mounts of capsule directories, by directory fd.

mount(2) and umount2(2) are called on ``/proc/self/fd/<fd>`` of a
directory the caller opened without following symlinks, so the kernel
acts on exactly that directory even if its path changes meanwhile. The
mounts are ``nosuid,nodev`` like the kubelet's tmpfs volumes (not
``noexec``: configMap scripts with mode 0755 are common).

The pod directory code takes any object with these methods, so tests
can use a fake one where mounting is not possible.
"""

import ctypes
import ctypes.util
import errno
import os

MS_NOSUID = 0x2
MS_NODEV = 0x4
MNT_DETACH = 0x2

_libc = None


def _lib():
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or None,
                           use_errno=True)
        libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.c_char_p, ctypes.c_ulong,
                               ctypes.c_char_p]
        libc.mount.restype = ctypes.c_int
        libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        libc.umount2.restype = ctypes.c_int
        _libc = libc
    return _libc


def _fd_path(fd):
    return ('/proc/self/fd/%d' % fd).encode('ascii')


def tmpfs_options(size, mode):
    """The data argument of mount(2) for a tmpfs.

    size in bytes (0: the kernel's default, half the memory), mode of
    the tmpfs root.
    """
    options = ['mode=%o' % mode]
    if size:
        options.insert(0, 'size=%d' % size)
    return ','.join(options)


def unescape_mountinfo(field):
    """A path of /proc/self/mountinfo, unescaped.

    Space, tab, newline and backslash are written as octal escapes
    there.
    """
    out, i = [], 0
    while i < len(field):
        if field[i] == '\\' and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


class Mounter(object):
    """Real mounts; the agent runs as root (CAP_SYS_ADMIN)."""

    def __init__(self, mountinfo='/proc/self/mountinfo'):
        self.mountinfo = mountinfo

    def mount_tmpfs(self, dir_fd, size, mode):
        """Mount a new tmpfs on the directory of dir_fd."""
        data = tmpfs_options(size, mode).encode('ascii')
        if _lib().mount(b'tmpfs', _fd_path(dir_fd), b'tmpfs',
                        MS_NOSUID | MS_NODEV, data) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'cannot mount a tmpfs (%s): %s'
                          % (data.decode(), os.strerror(err)))

    def unmount(self, dir_fd):
        """Detach the mount whose root dir_fd is.

        Lazily: a container still holding it keeps it until it ends.
        """
        if _lib().umount2(_fd_path(dir_fd), MNT_DETACH) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'cannot unmount: %s' % os.strerror(err))

    def is_mount_root(self, dir_fd, parent_fd):
        """Whether dir_fd is the root of a filesystem mounted on it."""
        return os.fstat(dir_fd).st_dev != os.fstat(parent_fd).st_dev

    def mount_points_under(self, path):
        """Mount points strictly below path (a real path), deepest first."""
        prefix = path.rstrip('/') + '/'
        points = []
        try:
            with open(self.mountinfo, encoding='utf-8',
                      errors='surrogateescape') as f:
                for line in f:
                    fields = line.split(' ')
                    if len(fields) > 4:
                        point = unescape_mountinfo(fields[4])
                        if point.startswith(prefix):
                            points.append(point)
        except OSError as exc:
            raise OSError(exc.errno or errno.EIO, 'cannot read %s: %s'
                          % (self.mountinfo, exc.strerror or exc)) from None
        return sorted(set(points), key=lambda p: (-p.count('/'), p))
