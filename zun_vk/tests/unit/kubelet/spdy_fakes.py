"""An in-memory transport and a scripted SPDY client for session tests."""

import collections
import threading
import time

from zun_vk.kubelet import spdy
from zun_vk.kubelet import streams

DEADLINE = 10.0


def poll(predicate, timeout=DEADLINE, what='condition'):
    """Wait until predicate() is true; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s' % what)
        time.sleep(0.005)


class PipeTransport(streams.Transport):
    """The server's side of a connection whose client is the test."""

    def __init__(self):
        self._cond = threading.Condition()
        self._incoming = collections.deque()
        self._eof = False
        self.closed = False
        self.reads = 0
        self.written = bytearray()
        self.on_write = None

    # Transport.

    def read(self, size):
        with self._cond:
            while not self._incoming and not self._eof and not self.closed:
                self._cond.wait()
            self.reads += 1
            if not self._incoming:
                return b''
            chunk = self._incoming.popleft()
            if len(chunk) > size:
                self._incoming.appendleft(chunk[size:])
                chunk = chunk[:size]
            return chunk

    def write(self, data):
        with self._cond:
            if self.closed:
                raise BrokenPipeError('transport closed')
            self.written += data
            self._cond.notify_all()
        if self.on_write is not None:
            self.on_write()

    def close(self):
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # The client's end.

    def feed(self, data):
        with self._cond:
            self._incoming.append(bytes(data))
            self._cond.notify_all()

    def hang_up(self):
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def pending(self):
        with self._cond:
            return len(self._incoming)


class Client:
    """Speaks the client's side of SPDY through a PipeTransport.

    Like spdystream, it hangs up once the server said GOAWAY, unless told
    to stay (hang_up_on_goaway=False).
    """

    def __init__(self, transport=None, hang_up_on_goaway=True):
        self.transport = transport or PipeTransport()
        self._encoder = spdy.FrameEncoder()
        self._decoder = spdy.FrameDecoder()
        self._decoded = 0
        self._lock = threading.Lock()
        self.frames = []
        if hang_up_on_goaway:
            self.transport.on_write = self._hang_up_on_goaway

    def _hang_up_on_goaway(self):
        if any(isinstance(frame, spdy.GoAway) for frame in self.received()):
            self.transport.hang_up()

    def send(self, *frames):
        for frame in frames:
            self.transport.feed(self._encoder.encode(frame))

    def open(self, stream_id, flags=0, **headers):
        self.send(spdy.SynStream(stream_id, headers, flags=flags))

    def data(self, stream_id, data, fin=False):
        self.send(spdy.Data(stream_id, data, spdy.FLAG_FIN if fin else 0))

    def received(self):
        """Every frame the server wrote so far."""
        with self._lock:
            new = bytes(self.transport.written[self._decoded:])
            self._decoded += len(new)
            self.frames += self._decoder.feed(new)
            return list(self.frames)

    def wait_for(self, predicate, what='frames', timeout=DEADLINE):
        return poll(lambda: predicate(self.received()), timeout, what)

    def wait_frame(self, kind, what=None, timeout=DEADLINE, **fields):
        """The first frame of this type with these field values."""
        def match(frames):
            for frame in frames:
                if isinstance(frame, kind) and all(
                        getattr(frame, name) == value
                        for name, value in fields.items()):
                    return frame
            return None
        return self.wait_for(match, what or '%s %r' % (kind.__name__,
                                                       fields), timeout)

    def data_on(self, stream_id):
        """(bytes, fin seen) the server sent on a stream."""
        payload = b''
        fin = False
        for frame in self.received():
            if isinstance(frame, spdy.Data) and frame.stream_id == stream_id:
                payload += frame.data
                fin = fin or bool(frame.flags & spdy.FLAG_FIN)
        return payload, fin

    def wait_fin(self, stream_id, timeout=DEADLINE):
        poll(lambda: self.data_on(stream_id)[1], timeout,
             'FIN on stream %d' % stream_id)
        return self.data_on(stream_id)[0]

    def resets(self):
        return {frame.stream_id: frame.status for frame in self.received()
                if isinstance(frame, spdy.RstStream)}
