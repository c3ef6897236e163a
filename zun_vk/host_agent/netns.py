"""TCP connections made from inside a capsule's network namespace.

Port-forward reaches 127.0.0.1:<port> of the pod, which only exists in
the sandbox's network namespace. setns(CLONE_NEWNET) moves the calling
thread alone (Linux namespaces are per task), so a short-lived thread
enters the namespace, connects and ends; the connected socket keeps its
namespace and is then used from any thread. Entering a namespace needs
CAP_SYS_ADMIN: the agent runs as root, as zun-compute does.
"""

import ctypes
import ctypes.util
import os
import socket
import threading

CLONE_NEWNET = 0x40000000

_libc = None


def _setns():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library('c') or None,
                            use_errno=True)
        _libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
        _libc.setns.restype = ctypes.c_int
    return _libc.setns


class NamespaceError(OSError):
    """The namespace could not be entered (gone, or no privilege)."""


def _connect_inside(pid, port, timeout, result):
    try:
        fd = os.open('/proc/%d/ns/net' % pid, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        result['error'] = NamespaceError(
            exc.errno, 'network namespace of process %d: %s'
            % (pid, exc.strerror))
        return
    try:
        if _setns()(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            result['error'] = NamespaceError(
                errno, 'cannot enter the network namespace of process %d: '
                '%s' % (pid, os.strerror(errno)))
            return
    finally:
        os.close(fd)
    try:
        sock = socket.create_connection(('127.0.0.1', port),
                                        timeout=timeout)
        sock.settimeout(None)
        result['socket'] = sock
    except OSError as exc:
        result['error'] = exc


def connect(pid, port, timeout=10.0):
    """A socket connected to 127.0.0.1:port inside pid's network.

    Raises NamespaceError or the connect's OSError.
    """
    result = {}
    thread = threading.Thread(target=_connect_inside,
                              args=(pid, port, timeout, result),
                              name='netns-connect-%d' % pid, daemon=True)
    thread.start()
    thread.join()
    if 'error' in result:
        raise result['error']
    return result['socket']
