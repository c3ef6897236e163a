"""The engine's hijacked connections of exec and attach.

``POST /exec/{id}/start`` and ``POST /containers/{id}/attach`` with
``Upgrade: tcp`` turn the HTTP connection into a raw stream: stdin from
us, output to us. Without a tty the output is multiplexed: each write
of the process comes as an 8-byte header (stream type, three zero bytes,
big-endian length) and the payload; with a tty it is the bare terminal
output.
"""

import socket
import struct

from zun_vk.hostlink import tlsio

ENGINE_HEADER = struct.Struct('>BxxxI')
ENGINE_STDOUT = 1
ENGINE_STDERR = 2
ENGINE_SYSTEMERR = 3


class EngineStreamError(Exception):
    """The engine's stream is not what the Docker API promises."""


class Demuxer(object):
    """Splits a multiplexed engine stream into (stream type, payload)."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data):
        self._buffer += data
        frames = []
        while len(self._buffer) >= ENGINE_HEADER.size:
            stream, length = ENGINE_HEADER.unpack_from(self._buffer)
            if stream not in (0, ENGINE_STDOUT, ENGINE_STDERR,
                              ENGINE_SYSTEMERR):
                raise EngineStreamError('unknown stream type %d in the '
                                        "engine's output" % stream)
            end = ENGINE_HEADER.size + length
            if len(self._buffer) < end:
                break
            payload = bytes(self._buffer[ENGINE_HEADER.size:end])
            del self._buffer[:end]
            if payload:
                frames.append((stream, payload))
        return frames


class EngineStream(object):
    """Output reader and stdin writer of one hijacked engine connection.

    Built from the requests Response of the upgrade. Reading goes through
    the HTTP parser's buffered reader, not the bare socket: output that
    arrived together with the 101 head is already in that buffer, and
    the docker SDK's own socket=True would lose it.
    """

    def __init__(self, response):
        self._response = response
        try:
            self._reader = response.raw._fp.fp
            self._sock = self._reader.raw._sock
        except AttributeError:
            raise EngineStreamError('the engine connection cannot be taken '
                                    'over (unexpected HTTP client '
                                    'internals)') from None
        # The session lasts as long as the process: no read timeout.
        self._sock.settimeout(None)
        self._closed = False

    def read(self, size=65536):
        """Output bytes as they come; b'' at the end of the stream."""
        if self._closed:
            return b''
        try:
            return self._reader.read1(size)
        except (OSError, ValueError):
            # ValueError: the reader was closed by close() meanwhile.
            if self._closed:
                return b''
            raise

    def write(self, data):
        self._sock.sendall(data)

    def close_stdin(self):
        """Half-close: the process reads EOF on its stdin."""
        tlsio.shutdown_quietly(self._sock, socket.SHUT_WR)

    def close(self):
        if self._closed:
            return
        self._closed = True
        tlsio.shutdown_quietly(self._sock)
        self._response.close()
        try:
            self._sock.close()
        except OSError:
            pass
