"""The byte stream of an upgraded HTTP connection, as a streams.Transport.

A session reads the client in one thread while others write to it, and
an OpenSSL connection must not be used by two threads at once: with no
reader given, the socket goes through hostlink.tlsio.DuplexSocket, which
makes every TLS call under one lock. The kubelet server reads requests
unbuffered for this reason, so no byte the client sent after the
headers is left behind in a reader. With a buffered reader given (test
harnesses), reads go through it and writes straight to the socket.
"""

import threading

from zun_vk.hostlink import tlsio
from zun_vk.kubelet import streams


class SocketTransport(streams.Transport):
    def __init__(self, sock, rfile=None):
        self._sock = sock
        self._rfile = rfile
        self._duplex = tlsio.DuplexSocket(sock) if rfile is None else None
        self._write_lock = threading.Lock()
        self._closed = False

    def read(self, size):
        try:
            if self._duplex is not None:
                return self._duplex.recv(size)
            return self._rfile.read1(size)
        except (OSError, ValueError):
            return b''

    def write(self, data):
        if self._closed:
            raise OSError('the connection is closed')
        if self._duplex is not None:
            self._duplex.sendall(data)
            return
        with self._write_lock:
            self._sock.sendall(data)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self._duplex is not None:
            self._duplex.close()
        else:
            # Wakes a reader blocked in another thread; the HTTP server
            # closes the socket itself when the handler returns.
            tlsio.shutdown_quietly(self._sock)
