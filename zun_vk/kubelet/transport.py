"""The byte stream of an upgraded HTTP connection, as a streams.Transport.

Reads go through the HTTP server's buffered reader, which may already
hold the first bytes the client sent after the request headers; writes go
straight to the socket.
"""

import threading

from zun_vk.hostlink import tlsio
from zun_vk.kubelet import streams


class SocketTransport(streams.Transport):
    def __init__(self, sock, rfile=None):
        self._sock = sock
        self._rfile = rfile
        self._write_lock = threading.Lock()
        self._closed = False

    def read(self, size):
        try:
            if self._rfile is not None:
                return self._rfile.read1(size)
            return self._sock.recv(size)
        except (OSError, ValueError):
            return b''

    def write(self, data):
        if self._closed:
            raise OSError('the connection is closed')
        with self._write_lock:
            self._sock.sendall(data)

    def close(self):
        if self._closed:
            return
        self._closed = True
        # Wakes a reader blocked in another thread; the HTTP server
        # closes the socket itself when the handler returns.
        tlsio.shutdown_quietly(self._sock)
