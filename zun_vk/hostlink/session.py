"""What AgentClient hands out: log streams, sessions, port streams."""

import socket
import threading

from oslo_log import log as logging

from zun_vk.hostlink import framing
from zun_vk.hostlink import http1
from zun_vk.hostlink import tlsio

LOG = logging.getLogger(__name__)

_CHUNK = 65536


class AgentError(Exception):
    """A host agent request that failed.

    message is a sentence, status HTTP-like (see hostlink.client for the
    meanings).
    """

    def __init__(self, message, status=502):
        super().__init__(message)
        self.message = message
        self.status = status


class LogStream(object):
    """A container's log: iterate for bytes chunks as written; close().

    Iteration raises AgentError 502 when the agent's stream breaks off
    (the agent stopped), 504 when a log that is not followed stalls for
    [host_agents]read_timeout; after close() it just ends.
    """

    def __init__(self, sock, prefix, host, chunked=True):
        self._sock = sock
        self._prefix = prefix
        self._host = host
        self._chunked = chunked
        self._closed = False

    def __iter__(self):
        decoder = http1.ChunkedDecoder() if self._chunked else None
        data, self._prefix = self._prefix, b''
        try:
            while True:
                if data:
                    if decoder is None:
                        yield data
                    else:
                        yield from decoder.feed(data)
                        if decoder.done:
                            return
                data = self._recv()
                if not data:
                    if decoder is not None and not self._closed:
                        raise AgentError('the log stream from host %s '
                                         'broke off' % self._host, 502)
                    return
        except http1.HTTPError as exc:
            raise AgentError('the log stream from host %s is not valid: '
                             '%s' % (self._host, exc), 502) from None
        finally:
            self.close()

    def _recv(self):
        try:
            return self._sock.recv(_CHUNK)
        except socket.timeout:
            if self._closed:
                return b''
            raise AgentError('the host agent of %s sent no log for a while'
                             % self._host, 504) from None
        except (OSError, ValueError):
            if self._closed:
                return b''
            raise AgentError('the log stream from host %s broke off'
                             % self._host, 502) from None

    def close(self):
        """End the stream (also from another thread); idempotent."""
        if self._closed:
            return
        self._closed = True
        tlsio.close_quietly(self._sock)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Framed(object):
    def __init__(self, connection, host):
        self._connection = connection
        self._host = host
        self._reader = framing.FrameReader(connection.recv)
        self._closed = False

    def _send(self, data):
        if self._closed:
            return
        try:
            self._connection.sendall(data)
        except OSError as exc:
            LOG.debug('Dropped input for host %s: %s', self._host, exc)

    def _read_frame(self):
        try:
            return self._reader.read_frame()
        except (OSError, framing.ProtocolError) as exc:
            if self._closed:
                return None
            raise AgentError('the session with the host agent of %s broke '
                             'off: %s' % (self._host, exc), 502) from None

    def close(self):
        """End the session (also from another thread); idempotent."""
        self._closed = True
        self._connection.close()


class AgentSession(_Framed):
    """One exec or attach.

    send_stdin, close_stdin and resize may be called from another
    thread than events(); they are dropped once the session has ended.
    """

    def send_stdin(self, data):
        if data:
            self._send(framing.encode_data(framing.STDIN, bytes(data)))

    def close_stdin(self):
        """The process reads EOF on its stdin."""
        self._send(framing.encode(framing.STDIN_EOF))

    def resize(self, width, height):
        """The terminal's size in characters (with a tty)."""
        self._send(framing.encode_resize(width, height))

    def events(self):
        """What the process writes, then how it ended.

        Yields ('stdout', bytes), ('stderr', bytes), then one
        ('exit', code) or ('error', sentence), and ends.
        """
        try:
            while True:
                try:
                    frame = self._read_frame()
                except AgentError as exc:
                    yield 'error', exc.message
                    return
                if frame is None:
                    if not self._closed:
                        yield 'error', ('the host agent of %s ended the '
                                        'session without a status'
                                        % self._host)
                    return
                channel, payload = frame
                if channel == framing.STDOUT:
                    yield 'stdout', payload
                elif channel == framing.STDERR:
                    yield 'stderr', payload
                elif channel == framing.STATUS:
                    try:
                        yield framing.parse_status(payload)
                    except framing.ProtocolError as exc:
                        yield 'error', str(exc)
                    return
                else:
                    yield 'error', ('the host agent of %s sent channel %d'
                                    % (self._host, channel))
                    return
        finally:
            self.close()


class PortStream(_Framed):
    """A TCP connection inside a capsule, used like a socket.

    recv from one thread while sendall runs in another.
    """

    def __init__(self, connection, host):
        super().__init__(connection, host)
        self._buffer = b''
        self._eof = False
        self._lock = threading.Lock()

    def recv(self, size=_CHUNK):
        """Up to size bytes; b'' once the peer in the capsule closed.

        Raises AgentError 502 when the connection broke.
        """
        with self._lock:
            while not self._buffer and not self._eof:
                frame = self._read_frame()
                if frame is None:
                    if not self._closed:
                        raise AgentError('the port-forward connection from '
                                         'host %s broke off' % self._host,
                                         502)
                    self._eof = True
                    break
                channel, payload = frame
                if channel == framing.STDOUT:
                    self._buffer = payload
                elif channel == framing.OUTPUT_EOF:
                    self._eof = True
                elif channel == framing.STATUS:
                    self._eof = True
                    kind, value = framing.parse_status(payload)
                    if kind == 'error':
                        raise AgentError(value, 502)
                else:
                    raise AgentError('the host agent of %s sent channel %d'
                                     % (self._host, channel), 502)
            data, self._buffer = self._buffer[:size], self._buffer[size:]
            return data

    def sendall(self, data):
        """Send bytes to the peer; OSError once the stream is closed."""
        if self._closed:
            raise BrokenPipeError('port-forward stream is closed')
        if data:
            self._connection.sendall(framing.encode_data(framing.STDIN,
                                                         bytes(data)))

    def shutdown_write(self):
        """Half-close: the peer reads EOF; recv goes on."""
        self._send(framing.encode(framing.STDIN_EOF))
