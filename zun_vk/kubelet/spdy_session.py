"""The server side of one SPDY/3.1 connection, over any byte transport.

It behaves as moby/spdystream does under apimachinery's
``httpstream/spdy`` server connection, which is what clients (kubectl,
kube-apiserver) are written against:

- every stream is opened by the client (SYN_STREAM); the server answers
  with an empty SYN_REPLY, or resets it (RST_STREAM CANCEL) when
  ``validate_stream`` refuses its headers;
- DATA is buffered per stream; FIN half-closes the client's side, RST
  ends both; PING from the client is echoed; SETTINGS, WINDOW_UPDATE and
  HEADERS are read and ignored (spdystream does no flow control);
- GOAWAY from the client, end of file, or a malformed frame end the
  session; close() resets the streams still open, says GOAWAY and
  closes the transport.

Back-pressure: when a stream holds ``max_buffered`` unread bytes the
reader thread waits until its reader catches up (or the stream or
session ends), which stops reading the transport and lets TCP push back
on the client. spdystream blocks the same way, and like it this can hold
up the other streams of the session while one reader lags.

Streams reach the server through accept(). The transport must make a
read blocked in another thread return when close() is called (shut a
socket down before closing it).
"""

import collections
import logging
import threading
import time

from zun_vk.kubelet import spdy

LOG = logging.getLogger(__name__)

DEFAULT_MAX_BUFFERED = 256 << 10
# Go peers cut DATA at 32 KiB; so do we.
WRITE_CHUNK = 32 << 10
# How long close() keeps reading for the client to hang up, so that
# unread bytes in our socket do not turn our last frames into a TCP reset.
DEFAULT_LINGER = 5.0
READ_SIZE = 64 << 10


class StreamClosed(OSError):
    """Write on a stream that was reset, closed, or whose session ended."""


class Stream:
    """One client-opened SPDY stream. Thread-safe."""

    def __init__(self, session, stream_id, headers, remote_open=True,
                 local_open=True):
        self.session = session
        self.id = stream_id
        self.headers = headers
        self._cond = threading.Condition()
        self._chunks = collections.deque()
        self._buffered = 0
        self._remote_open = remote_open
        self._local_open = local_open
        self.was_reset = False

    def header(self, name, default=None):
        values = self.headers.get(name.lower())
        return values[0] if values else default

    def read(self, size=65536):
        """Up to size bytes; b'' at FIN, reset, or the session's end."""
        with self._cond:
            while not self._chunks and self._remote_open:
                self._cond.wait()
            if not self._chunks:
                return b''
            chunk = self._chunks.popleft()
            if len(chunk) > size:
                self._chunks.appendleft(chunk[size:])
                chunk = chunk[:size]
            self._buffered -= len(chunk)
            self._cond.notify_all()
            return chunk

    def write(self, data):
        """Send data; StreamClosed when it can no longer be sent."""
        view = memoryview(data)
        for start in range(0, len(view), WRITE_CHUNK):
            self._send_data(bytes(view[start:start + WRITE_CHUNK]), 0)

    def close(self):
        """Our FIN: we send nothing more. Idempotent."""
        try:
            self._send_data(b'', spdy.FLAG_FIN)
        except StreamClosed:
            pass

    def reset(self, status=spdy.CANCEL):
        """End both directions.

        Like spdystream, says RST_STREAM only when our side was still open.
        """
        with self._cond:
            send = self._local_open
            self._local_open = False
            self._end_remote(reset=True)
        self.session._forget(self)
        if send:
            try:
                self.session._send(spdy.RstStream(self.id, status))
            except StreamClosed:
                pass

    @property
    def remote_closed(self):
        with self._cond:
            return not self._remote_open

    @property
    def local_closed(self):
        with self._cond:
            return not self._local_open

    def _send_data(self, data, flags):
        # The session's write lock orders frames; ours only guards state,
        # so a FIN can never overtake data written before it.
        with self.session._write_lock:
            with self._cond:
                if not self._local_open:
                    raise StreamClosed('stream %d is closed' % self.id)
                if flags & spdy.FLAG_FIN:
                    self._local_open = False
            self.session._send_locked(spdy.Data(self.id, data, flags))
        if flags & spdy.FLAG_FIN and self.remote_closed:
            self.session._forget(self)

    # Called by the session's reader thread.

    def _deliver(self, data, limit):
        with self._cond:
            while (self._buffered >= limit and self._remote_open
                   and not self.session.closing):
                self._cond.wait()
            if not self._remote_open or self.session.closing:
                return
            self._chunks.append(data)
            self._buffered += len(data)
            self._cond.notify_all()

    def _end_remote(self, reset=False):
        with self._cond:
            self._remote_open = False
            if reset:
                self.was_reset = True
                self._local_open = False
                self._chunks.clear()
                self._buffered = 0
            self._cond.notify_all()

    def _wake(self):
        with self._cond:
            self._cond.notify_all()


class Session:
    """Serves one upgraded connection; see the module docstring.

    validate_stream(headers) returns None to accept a new stream, or a
    sentence saying why it is refused. idle_timeout (seconds) closes the
    session after that long without a frame either way.
    """

    def __init__(self, transport, validate_stream=None, idle_timeout=None,
                 max_buffered=DEFAULT_MAX_BUFFERED,
                 max_frame_length=spdy.DEFAULT_MAX_FRAME_LENGTH,
                 linger=DEFAULT_LINGER):
        self._transport = transport
        self._validate = validate_stream
        self._idle_timeout = idle_timeout
        self._max_buffered = max_buffered
        self._linger = linger
        self._decoder = spdy.FrameDecoder(max_frame_length)
        self._encoder = spdy.FrameEncoder()
        self._write_lock = threading.RLock()
        self._lock = threading.Condition()
        self._streams = {}
        self._accepted = collections.deque()
        self._last_stream_id = 0
        self._refusing = False
        self._closing = False
        self._ended = threading.Event()
        self._reader = None
        self._last_activity = time.monotonic()

    @property
    def closing(self):
        return self._closing

    @property
    def ended(self):
        return self._ended.is_set()

    def start(self):
        """Serve in a new thread; returns self."""
        self._reader = threading.Thread(target=self.serve, daemon=True,
                                        name='spdy-session-reader')
        self._reader.start()
        if self._idle_timeout:
            threading.Thread(target=self._watch_idle, daemon=True,
                             name='spdy-session-idle').start()
        return self

    def serve(self):
        """Read and dispatch frames until the session ends."""
        self._reader = self._reader or threading.current_thread()
        reason = 'the client closed the connection'
        try:
            while not self._ended.is_set():
                data = self._transport.read(READ_SIZE)
                if not data:
                    break
                self._last_activity = time.monotonic()
                for frame in self._decoder.feed(data):
                    if self._dispatch(frame):
                        reason = 'the client said GOAWAY'
                        return
        except spdy.ProtocolError as exc:
            reason = 'protocol error: %s' % exc
            LOG.warning('SPDY session ended by a protocol error: %s', exc)
            self._say_goaway(spdy.GOAWAY_PROTOCOL_ERROR)
        except OSError as exc:
            reason = 'transport error: %s' % exc
        finally:
            LOG.debug('SPDY session over: %s', reason)
            self._end()

    def accept(self, timeout=None):
        """The next stream the client opened, in order.

        None once the session ended with no stream left, or after timeout
        seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._accepted and not self._closing:
                remaining = (None if deadline is None
                             else deadline - time.monotonic())
                if remaining is not None and remaining <= 0:
                    return None
                self._lock.wait(remaining)
            return self._accepted.popleft() if self._accepted else None

    def refuse_new_streams(self):
        """Reset every stream the client opens from now on."""
        with self._lock:
            self._refusing = True

    def wait(self, timeout=None):
        """True once the session has ended."""
        return self._ended.wait(timeout)

    def close(self):
        """Reset open streams, say GOAWAY, close the transport.

        Blocks at most ``linger`` seconds waiting for the client to hang up.
        """
        with self._lock:
            first = not self._closing
            self._closing = True
            streams = list(self._streams.values())
            self._lock.notify_all()
        if first:
            for stream in streams:
                stream.reset()
            self._say_goaway(spdy.GOAWAY_OK)
            for stream in streams:
                stream._wake()
        if self._reader is None or self._reader is threading.current_thread():
            self._end()
        elif not self._ended.wait(self._linger):
            self._end()

    # Internals.

    def _say_goaway(self, status):
        with self._lock:
            last = self._last_stream_id
        try:
            self._send(spdy.GoAway(last, status))
        except StreamClosed:
            pass

    def _end(self):
        with self._lock:
            self._closing = True
            streams = list(self._streams.values())
            self._streams.clear()
            self._lock.notify_all()
        for stream in streams:
            stream._end_remote(reset=True)
        self._ended.set()
        try:
            self._transport.close()
        except OSError:
            pass

    def _send(self, frame):
        with self._write_lock:
            self._send_locked(frame)

    def _send_locked(self, frame):
        if self._ended.is_set():
            raise StreamClosed('the SPDY session has ended')
        try:
            self._transport.write(self._encoder.encode(frame))
        except OSError as exc:
            self._end()
            raise StreamClosed('cannot write to the client: %s' % exc)
        self._last_activity = time.monotonic()

    def _forget(self, stream):
        with self._lock:
            if self._streams.get(stream.id) is stream:
                del self._streams[stream.id]

    def _dispatch(self, frame):
        """Handle one frame; True when the session must end."""
        if isinstance(frame, spdy.SynStream):
            self._open_stream(frame)
        elif isinstance(frame, spdy.Data):
            stream = self._streams.get(frame.stream_id)
            if stream is None:
                return False
            if frame.data:
                stream._deliver(frame.data, self._max_buffered)
            if frame.flags & spdy.FLAG_FIN:
                self._remote_finished(stream)
        elif isinstance(frame, spdy.RstStream):
            stream = self._streams.get(frame.stream_id)
            if stream is not None:
                stream._end_remote(reset=True)
                self._forget(stream)
        elif isinstance(frame, spdy.Headers):
            stream = self._streams.get(frame.stream_id)
            if stream is not None and frame.flags & spdy.FLAG_FIN:
                self._remote_finished(stream)
        elif isinstance(frame, spdy.Ping):
            # Odd ids are the client's own pings; even ones would answer
            # ours, and we send none.
            if frame.ping_id % 2:
                self._send_quietly(frame)
        elif isinstance(frame, spdy.GoAway):
            return True
        else:
            LOG.debug('ignoring SPDY frame %r', frame)
        return False

    def _remote_finished(self, stream):
        stream._end_remote()
        if stream.local_closed:
            self._forget(stream)

    def _open_stream(self, frame):
        stream_id = frame.stream_id
        with self._lock:
            if stream_id % 2 == 0 or stream_id <= self._last_stream_id:
                refusal = spdy.PROTOCOL_ERROR
            elif self._closing or self._refusing:
                refusal = spdy.REFUSED_STREAM
                self._last_stream_id = stream_id
            else:
                refusal = None
                self._last_stream_id = stream_id
        if refusal is None and self._validate is not None:
            reason = self._validate(frame.headers)
            if reason:
                LOG.warning('refusing SPDY stream %d: %s', stream_id, reason)
                refusal = spdy.CANCEL
        if refusal is not None:
            self._send_quietly(spdy.RstStream(stream_id, refusal))
            return
        stream = Stream(
            self, stream_id, frame.headers,
            remote_open=not frame.flags & spdy.FLAG_FIN,
            local_open=not frame.flags & spdy.FLAG_UNIDIRECTIONAL)
        with self._lock:
            self._streams[stream_id] = stream
        self._send_quietly(spdy.SynReply(stream_id, {}))
        with self._lock:
            self._accepted.append(stream)
            self._lock.notify_all()

    def _send_quietly(self, frame):
        try:
            self._send(frame)
        except StreamClosed:
            pass

    def _watch_idle(self):
        while True:
            left = (self._last_activity + self._idle_timeout
                    - time.monotonic())
            if left <= 0:
                LOG.info('closing a SPDY session idle for %s s',
                         self._idle_timeout)
                self.close()
                return
            if self._ended.wait(left):
                return
