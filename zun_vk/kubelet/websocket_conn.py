"""A server WebSocket after the handshake, on a streams.Transport.

The HTTP server answers the upgrade itself (after authenticating the
client), so this is wsproto's post-handshake layer only. One reader
thread turns frames into whole messages for a callback, answers pings and
the closing handshake; any thread may send. Also the byte pipe the
protocol front ends buffer incoming data in, and TunnelTransport, the
byte stream that SPDY-over-WebSocket (kubectl 1.31+ port-forward) carries
in binary messages.
"""

import collections
import logging
import threading
import time

from wsproto import connection as ws_connection
from wsproto import events as ws_events
from wsproto import utilities as ws_utilities

from zun_vk.kubelet import streams

LOG = logging.getLogger(__name__)

READ_SIZE = 65536
# A message is delivered whole; client-go writes one per 32 KiB read and
# the Python client one per 1 MiB, so this only stops a runaway peer.
MAX_MESSAGE = 16 * 1024 * 1024
# How long to wait for the client's answer to our Close frame.
CLOSE_TIMEOUT = 10.0
DEFAULT_PIPE_LIMIT = 1024 * 1024

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_TOO_BIG = 1009

_OPEN = ws_connection.ConnectionState.OPEN


class Pipe:
    """Bytes one thread puts in and another takes out, in order.

    put() blocks while more than limit bytes wait (which stops the reader
    thread, and so the client, as a full socket buffer would); with
    drop_when_full it discards instead. end() is EOF: reads drain what is
    left, then return b''; later puts are dropped.
    """

    def __init__(self, limit=DEFAULT_PIPE_LIMIT, drop_when_full=False):
        self._cond = threading.Condition()
        self._chunks = collections.deque()
        self._size = 0
        self._limit = limit
        self._drop_when_full = drop_when_full
        self._ended = False

    def put(self, data):
        if not data:
            return
        with self._cond:
            while self._size > self._limit and not self._ended:
                if self._drop_when_full:
                    return
                self._cond.wait()
            if self._ended:
                return
            self._chunks.append(bytes(data))
            self._size += len(data)
            self._cond.notify_all()

    def read(self, size=65536):
        with self._cond:
            while not self._chunks and not self._ended:
                self._cond.wait()
            if not self._chunks:
                return b''
            chunk = self._chunks.popleft()
            if len(chunk) > size:
                self._chunks.appendleft(chunk[size:])
                chunk = chunk[:size]
            self._size -= len(chunk)
            self._cond.notify_all()
            return chunk

    def end(self):
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    @property
    def ended(self):
        return self._ended


def accept_token(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    return ws_utilities.generate_accept_token(key.encode('latin-1')).decode()


class MessageConnection:
    """Whole WebSocket messages in and out of an upgraded transport.

    on_message(payload) runs in the reader thread for each complete
    message: bytes for a binary one, str for a text one. on_end() runs
    there once, when the connection is over for whatever reason.
    idle_timeout closes the connection after that many seconds without a
    data message either way (pings do not count, as with the kubelet's
    read and write deadlines).
    """

    def __init__(self, transport, on_message, on_end=None, idle_timeout=None,
                 close_timeout=CLOSE_TIMEOUT, max_message=MAX_MESSAGE):
        self._transport = transport
        self._on_message = on_message
        self._on_end = on_end
        self._idle_timeout = idle_timeout
        self._close_timeout = close_timeout
        self._max_message = max_message
        self._ws = ws_connection.Connection(
            ws_connection.ConnectionType.SERVER)
        # _state_lock guards the wsproto state and is never held during
        # I/O; _write_lock keeps encoded frames in order on the wire.
        self._state_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._control = collections.deque()
        self._closing = False
        self._ended = threading.Event()
        self._last_activity = time.monotonic()
        self._reader = None

    @property
    def closing(self):
        """True once either side began to close, or the transport broke."""
        return self._closing or self._ended.is_set()

    def start(self):
        self._reader = threading.Thread(target=self._serve, daemon=True,
                                        name='websocket-reader')
        self._reader.start()
        if self._idle_timeout:
            threading.Thread(target=self._watch_idle, daemon=True,
                             name='websocket-idle').start()
        return self

    def send(self, payload):
        """Send one message (bytes: binary, str: text).

        Returns False, sending nothing, once the connection is closing.
        """
        if self.closing:
            return False
        self._last_activity = time.monotonic()
        return self._send_event(
            ws_events.TextMessage(data=payload) if isinstance(payload, str)
            else ws_events.BytesMessage(data=bytes(payload)))

    def close(self, code=CLOSE_NORMAL, reason=None, wait=True):
        """Start the closing handshake, wait for the answer, hang up.

        Idempotent; safe from any thread but the reader's (which only
        closes without waiting).
        """
        self._closing = True
        self._send_event(ws_events.CloseConnection(code=code, reason=reason))
        if wait and threading.current_thread() is not self._reader:
            self._ended.wait(self._close_timeout)
        self._transport.close()

    def wait(self, timeout=None):
        """True once the connection is over."""
        return self._ended.wait(timeout)

    # ------------------------------------------------------------------

    def _send_event(self, event):
        with self._write_lock:
            with self._state_lock:
                try:
                    data = self._ws.send(event)
                except ws_utilities.LocalProtocolError:
                    data = None
            if data is None:
                return False
            try:
                self._transport.write(data)
            except OSError:
                self._closing = True
                return False
            self._flush_control_locked()
        self._flush_control()
        return True

    def _queue_control(self, event):
        """Encode a pong or close answer now, write it when the wire is free.

        The reader never blocks on a writer stuck behind a slow client:
        whoever holds the write lock flushes these before letting go.
        """
        with self._state_lock:
            try:
                self._control.append(self._ws.send(event))
            except ws_utilities.LocalProtocolError:
                return
        self._flush_control()

    def _flush_control(self):
        while self._control:
            if not self._write_lock.acquire(blocking=False):
                return  # The holder flushes before it lets go.
            try:
                self._flush_control_locked()
            finally:
                self._write_lock.release()

    def _flush_control_locked(self):
        while True:
            with self._state_lock:
                if not self._control:
                    return
                data = self._control.popleft()
            try:
                self._transport.write(data)
            except OSError:
                self._closing = True

    def _serve(self):
        parts, size = [], 0
        try:
            while not self._ended.is_set():
                data = self._transport.read(READ_SIZE)
                with self._state_lock:
                    if self._ws.state is ws_connection.ConnectionState.CLOSED:
                        break
                    self._ws.receive_data(data or None)
                    received = list(self._ws.events())
                for event in received:
                    if isinstance(event, ws_events.Message):
                        parts.append(event.data)
                        size += len(event.data)
                        if size > self._max_message:
                            LOG.warning('closing a WebSocket: a message '
                                        'over %d bytes', self._max_message)
                            self._closing = True
                            self._queue_control(ws_events.CloseConnection(
                                code=CLOSE_TOO_BIG))
                            return
                        if event.message_finished:
                            payload = ''.join(parts) if isinstance(
                                event, ws_events.TextMessage) else b''.join(
                                    parts)
                            parts, size = [], 0
                            self._last_activity = time.monotonic()
                            self._on_message(payload)
                    elif isinstance(event, ws_events.Ping):
                        self._queue_control(event.response())
                    elif isinstance(event, ws_events.CloseConnection):
                        self._closing = True
                        self._answer_close(event)
                        return
                if not data:
                    return
        except Exception:
            LOG.exception('WebSocket reader failed')
        finally:
            self._closing = True
            # Let a queued close answer out before hanging up, unless a
            # writer is stuck behind a client that stopped reading.
            if self._write_lock.acquire(timeout=self._close_timeout):
                try:
                    self._flush_control_locked()
                finally:
                    self._write_lock.release()
            self._ended.set()
            self._transport.close()
            if self._on_end is not None:
                self._on_end()

    def _answer_close(self, event):
        state = self._ws.state
        if state is ws_connection.ConnectionState.REMOTE_CLOSING:
            # The client began: answer, then the server hangs up first
            # (RFC 6455 7.1.1).
            self._queue_control(event.response())
        elif state is _OPEN:
            # wsproto reports a frame it cannot parse as a close event
            # and leaves the connection open: tell the client why.
            LOG.warning('closing a WebSocket after a protocol error: %s',
                        event.reason)
            self._queue_control(event)
        # Otherwise this answers our own Close frame, or the transport
        # ended without one.

    def _watch_idle(self):
        while True:
            left = self._last_activity + self._idle_timeout - time.monotonic()
            if left <= 0:
                LOG.info('closing a WebSocket idle for %s s',
                         self._idle_timeout)
                self.close(CLOSE_GOING_AWAY, wait=False)
                return
            if self._ended.wait(left):
                return


class TunnelTransport(streams.Transport):
    """A byte stream carried in binary WebSocket messages.

    What client-go's TunnelingConnection speaks for the
    ``SPDY/3.1+portforward.k8s.io`` subprotocol: each write is one binary
    message, reads concatenate them, no channel byte; a text message is a
    protocol error. The reader starts at once.
    """

    def __init__(self, transport, close_timeout=CLOSE_TIMEOUT):
        self._incoming = Pipe()
        self._conn = MessageConnection(
            transport, self._on_message, on_end=self._incoming.end,
            close_timeout=close_timeout)
        self._conn.start()

    def read(self, size):
        return self._incoming.read(size)

    def write(self, data):
        if not data:
            return
        if not self._conn.send(bytes(data)):
            raise BrokenPipeError('the WebSocket tunnel is closed')

    def close(self):
        self._incoming.end()
        self._conn.close()

    def wait(self, timeout=None):
        """True once the WebSocket is over."""
        return self._conn.wait(timeout)

    def _on_message(self, payload):
        if isinstance(payload, str):
            LOG.warning('closing a WebSocket tunnel that sent a text message')
            self._incoming.end()
            self._conn.close(CLOSE_UNSUPPORTED_DATA, wait=False)
            return
        self._incoming.put(payload)
