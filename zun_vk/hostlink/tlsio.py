"""A TLS connection that one thread reads while another writes.

An OpenSSL connection must not be used by two threads at once, yet an
exec session reads stdout in one thread while stdin is written from
another. DuplexSocket puts the socket in non-blocking mode and makes
every TLS call under one lock; the waiting (select) happens outside the
lock, so a blocked reader never holds up a writer. Plain sockets work
the same way.
"""

import select
import socket
import ssl
import threading

# How often a blocked reader or writer looks again at a closed flag; only
# a bound on how late close() from another thread is noticed when the
# socket shutdown did not wake select already.
_WAKE_INTERVAL = 1.0
_SEND_CHUNK = 16384


def enable_keepalive(sock):
    """TCP keepalive, so a peer that vanished ends a silent session."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, 'TCP_KEEPIDLE'):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 15)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 4)
    except OSError:
        pass


def shutdown_quietly(sock, how=socket.SHUT_RDWR):
    """Shut a socket down, if it still can be.

    The FIN goes out, and a thread blocked reading it wakes up, even
    while another thread still waits in select() on it.
    """
    try:
        sock.shutdown(how)
    except OSError:
        pass


def close_quietly(sock):
    """Shut down and close a socket; idempotent."""
    shutdown_quietly(sock)
    try:
        sock.close()
    except OSError:
        pass


class DuplexSocket(object):
    """recv/sendall/close over a (TLS) socket, safe across two threads.

    prefix holds bytes already read from the socket by whoever parsed
    the HTTP head; they are returned first.
    """

    def __init__(self, sock, prefix=b''):
        self._sock = sock
        self._prefix = bytes(prefix)
        self._lock = threading.Lock()
        self._closed = False
        sock.setblocking(False)

    @property
    def closed(self):
        return self._closed

    def _wait(self, for_write, timeout=None):
        readers, writers = ([], [self._sock]) if for_write else (
            [self._sock], [])
        try:
            select.select(readers, writers, [],
                          _WAKE_INTERVAL if timeout is None else timeout)
        except (OSError, ValueError):
            # Closed by the other thread meanwhile; the caller's loop
            # sees the closed flag.
            pass

    def recv(self, size):
        """Up to size bytes; b'' at the peer's EOF or after close()."""
        if self._prefix:
            data, self._prefix = (self._prefix[:size],
                                  self._prefix[size:])
            return data
        while True:
            with self._lock:
                if self._closed:
                    return b''
                try:
                    return self._sock.recv(size)
                except ssl.SSLWantWriteError:
                    for_write = True
                except (ssl.SSLWantReadError, BlockingIOError):
                    for_write = False
                except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                    return b''
            self._wait(for_write)

    def sendall(self, data):
        """Send every byte; OSError once the connection is gone."""
        view = memoryview(bytes(data))
        while view:
            with self._lock:
                if self._closed:
                    raise BrokenPipeError('connection is closed')
                try:
                    sent = self._sock.send(view[:_SEND_CHUNK])
                    view = view[sent:]
                    continue
                except ssl.SSLWantReadError:
                    for_write = False
                except (ssl.SSLWantWriteError, BlockingIOError):
                    for_write = True
            self._wait(for_write)

    def close(self):
        """Close both directions; wakes a blocked recv; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            close_quietly(self._sock)
