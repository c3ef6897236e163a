"""The framed byte stream between zun-vk and a host agent after an upgrade.

After ``101 Switching Protocols`` (``Upgrade: zun-vk-stream/1``) both
sides exchange frames::

    channel (1 byte) | payload length (4 bytes, big-endian) | payload

Channels:

==========  =========  ==================================================
channel     direction  payload
==========  =========  ==================================================
0 STDIN     to agent   bytes for the process's stdin, or the TCP peer
1 STDOUT    to zun-vk  the process's stdout (all output with a tty), or
                       bytes from the TCP peer
2 STDERR    to zun-vk  the process's stderr
3 STATUS    to zun-vk  JSON ``{"exit_code": n}`` or ``{"error": "..."}``;
                       always the last frame
4 RESIZE    to agent   JSON ``{"width": w, "height": h}``
5 STDIN_EOF to agent   empty: no more stdin (a half-close)
6 OUT_EOF   to zun-vk  empty: the TCP peer sent its last byte
==========  =========  ==================================================

Half-closes travel as frames because TLS cannot close one direction of
a connection. The client sends nothing before it has read the 101.
"""

import json
import struct

PROTOCOL = 'zun-vk-stream/1'

STDIN = 0
STDOUT = 1
STDERR = 2
STATUS = 3
RESIZE = 4
STDIN_EOF = 5
OUTPUT_EOF = 6
CHANNELS = frozenset([STDIN, STDOUT, STDERR, STATUS, RESIZE, STDIN_EOF,
                      OUTPUT_EOF])

HEADER = struct.Struct('>BI')
# Senders split data into frames of at most this many bytes; a larger
# announced length is a protocol error (and bounds what a peer can make
# the other side buffer).
MAX_PAYLOAD = 1 << 20
MAX_DIMENSION = 65535


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def encode(channel, payload=b''):
    if channel not in CHANNELS:
        raise ValueError('unknown channel %r' % channel)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError('frame payload of %d bytes is too long'
                         % len(payload))
    return HEADER.pack(channel, len(payload)) + bytes(payload)


def encode_data(channel, data):
    """data split into as many frames as it needs; b'' for no data."""
    return b''.join(encode(channel, data[i:i + MAX_PAYLOAD])
                    for i in range(0, len(data), MAX_PAYLOAD))


def encode_status(exit_code=None, error=None):
    if (exit_code is None) == (error is None):
        raise ValueError('a status has an exit code or an error')
    body = ({'exit_code': int(exit_code)} if error is None
            else {'error': str(error)})
    return encode(STATUS, json.dumps(body).encode('utf-8'))


def parse_status(payload):
    """('exit', code) or ('error', message) from a STATUS payload."""
    try:
        body = json.loads(bytes(payload).decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError('status frame is not JSON') from None
    if isinstance(body, dict):
        code = body.get('exit_code')
        if type(code) is int:
            return 'exit', code
        if isinstance(body.get('error'), str):
            return 'error', body['error']
    raise ProtocolError('status frame has neither exit_code nor error')


def encode_resize(width, height):
    body = {'width': int(width), 'height': int(height)}
    return encode(RESIZE, json.dumps(body).encode('utf-8'))


def parse_resize(payload):
    """(width, height) from a RESIZE payload, each 0..65535."""
    try:
        body = json.loads(bytes(payload).decode('utf-8'))
        width, height = body['width'], body['height']
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise ProtocolError('resize frame is not {"width", "height"} '
                            'JSON') from None
    for value in (width, height):
        if type(value) is not int or not 0 <= value <= MAX_DIMENSION:
            raise ProtocolError('resize frame has a bad dimension %r'
                                % (value,))
    return width, height


class FrameDecoder(object):
    """Turns received bytes into (channel, payload) frames."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data):
        """Add bytes; returns the frames now complete, in order."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER.size:
            channel, length = HEADER.unpack_from(self._buffer)
            if channel not in CHANNELS:
                raise ProtocolError('unknown channel %d' % channel)
            if length > MAX_PAYLOAD:
                raise ProtocolError('frame of %d bytes is too long' % length)
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append((channel, bytes(self._buffer[HEADER.size:end])))
            del self._buffer[:end]
        return frames

    @property
    def partial(self):
        """True while part of a frame is buffered."""
        return bool(self._buffer)


class FrameReader(object):
    """Frames from a blocking recv(size) callable, one at a time."""

    def __init__(self, recv, chunk_size=65536):
        self._recv = recv
        self._chunk_size = chunk_size
        self._decoder = FrameDecoder()
        self._ready = []

    def read_frame(self):
        """The next (channel, payload), or None at the peer's EOF.

        Raises ProtocolError when the stream ends inside a frame.
        """
        while not self._ready:
            data = self._recv(self._chunk_size)
            if not data:
                if self._decoder.partial:
                    raise ProtocolError('connection closed inside a frame')
                return None
            self._ready.extend(self._decoder.feed(data))
        return self._ready.pop(0)

    def __iter__(self):
        while True:
            frame = self.read_frame()
            if frame is None:
                return
            yield frame
