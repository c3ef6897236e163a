"""SPDY version 3 frames, as kube-apiserver and kubectl speak them.

The framing of draft-mbelshe-httpbis-spdy-00 (SPDY/3), in the subset
moby/spdystream implements: the eight control frames of SPDY/3 (no
CREDENTIAL) and DATA frames. SPDY/3.1 differs from SPDY/3 only in flow
control, which spdystream ignores, and so do we.

Header blocks share one zlib context per direction (see
``spdy_headers``): a ``FrameEncoder`` must therefore see frames in the
order they go on the wire, and a ``FrameDecoder`` every byte the peer
sent.

Nothing here does I/O; ``spdy_session`` drives it.
"""

import dataclasses
import struct

from zun_vk.kubelet import spdy_headers

# Fatal for the connection (see spdy_headers.ProtocolError).
ProtocolError = spdy_headers.ProtocolError
DICTIONARY = spdy_headers.DICTIONARY

VERSION = 3

SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes.
PROTOCOL_ERROR = 1
INVALID_STREAM = 2
REFUSED_STREAM = 3
UNSUPPORTED_VERSION = 4
CANCEL = 5
INTERNAL_ERROR = 6
FLOW_CONTROL_ERROR = 7
STREAM_IN_USE = 8
STREAM_ALREADY_CLOSED = 9
FRAME_TOO_LARGE = 11

# GOAWAY status codes.
GOAWAY_OK = 0
GOAWAY_PROTOCOL_ERROR = 1
GOAWAY_INTERNAL_ERROR = 2

# The length field has 24 bits; that is the protocol's own limit.
MAX_LENGTH = (1 << 24) - 1
# Go peers (client-go, kube-apiserver) write at most 32 KiB per DATA frame
# and small header blocks; the bound keeps a peer from making us buffer
# 16 MiB before a frame is even complete.
DEFAULT_MAX_FRAME_LENGTH = 1 << 20
DEFAULT_MAX_HEADER_BLOCK = spdy_headers.DEFAULT_MAX_HEADER_BLOCK

_STREAM_ID_MASK = 0x7fffffff
_HEADER = struct.Struct('>II')
_UINT32 = struct.Struct('>I')


@dataclasses.dataclass
class SynStream:
    stream_id: int
    headers: dict
    associated_to: int = 0
    priority: int = 0
    slot: int = 0
    flags: int = 0


@dataclasses.dataclass
class SynReply:
    stream_id: int
    headers: dict
    flags: int = 0


@dataclasses.dataclass
class RstStream:
    stream_id: int
    status: int


@dataclasses.dataclass
class Settings:
    # (flags, id, value) triples.
    entries: list = dataclasses.field(default_factory=list)
    flags: int = 0


@dataclasses.dataclass
class Ping:
    ping_id: int


@dataclasses.dataclass
class GoAway:
    last_good_stream_id: int
    status: int = GOAWAY_OK


@dataclasses.dataclass
class Headers:
    stream_id: int
    headers: dict
    flags: int = 0


@dataclasses.dataclass
class WindowUpdate:
    stream_id: int
    delta: int


@dataclasses.dataclass
class Data:
    stream_id: int
    data: bytes
    flags: int = 0


@dataclasses.dataclass
class UnknownControl:
    """A control frame of a type SPDY/3 does not define.

    The spec says to ignore those, so the decoder hands it over rather
    than failing.
    """

    frame_type: int
    flags: int
    payload: bytes


class FrameEncoder:
    """Serializes frames for one direction of one connection."""

    def __init__(self):
        self._compress = spdy_headers.HeaderCompressor().compress

    def encode(self, frame):
        if isinstance(frame, Data):
            _check_stream_id(frame.stream_id)
            if len(frame.data) > MAX_LENGTH:
                raise ValueError('DATA payload over %d bytes' % MAX_LENGTH)
            return (_HEADER.pack(frame.stream_id,
                                 (frame.flags << 24) | len(frame.data))
                    + bytes(frame.data))
        frame_type, flags, payload = self._control_payload(frame)
        if len(payload) > MAX_LENGTH:
            raise ValueError('control frame over %d bytes' % MAX_LENGTH)
        return _HEADER.pack(0x80000000 | (VERSION << 16) | frame_type,
                            (flags << 24) | len(payload)) + payload

    def _control_payload(self, frame):
        if isinstance(frame, SynStream):
            _check_stream_id(frame.stream_id)
            payload = struct.pack(
                '>IIBB', frame.stream_id, frame.associated_to,
                (frame.priority & 0x7) << 5, frame.slot)
            return (SYN_STREAM, frame.flags,
                    payload + self._compress(frame.headers))
        if isinstance(frame, SynReply):
            _check_stream_id(frame.stream_id)
            return (SYN_REPLY, frame.flags, _UINT32.pack(frame.stream_id)
                    + self._compress(frame.headers))
        if isinstance(frame, Headers):
            _check_stream_id(frame.stream_id)
            return (HEADERS, frame.flags, _UINT32.pack(frame.stream_id)
                    + self._compress(frame.headers))
        if isinstance(frame, RstStream):
            _check_stream_id(frame.stream_id)
            if not frame.status:
                raise ValueError('RST_STREAM needs a non-zero status')
            return RST_STREAM, 0, struct.pack('>II', frame.stream_id,
                                              frame.status)
        if isinstance(frame, Settings):
            payload = bytearray(_UINT32.pack(len(frame.entries)))
            for entry_flags, entry_id, value in frame.entries:
                payload += struct.pack('>II', (entry_flags << 24) | entry_id,
                                       value)
            return SETTINGS, frame.flags, bytes(payload)
        if isinstance(frame, Ping):
            return PING, 0, _UINT32.pack(frame.ping_id)
        if isinstance(frame, GoAway):
            return GOAWAY, 0, struct.pack(
                '>II', frame.last_good_stream_id & _STREAM_ID_MASK,
                frame.status)
        if isinstance(frame, WindowUpdate):
            _check_stream_id(frame.stream_id)
            return WINDOW_UPDATE, 0, struct.pack(
                '>II', frame.stream_id, frame.delta & _STREAM_ID_MASK)
        raise TypeError('not a SPDY frame: %r' % (frame,))


def _check_stream_id(stream_id):
    if not 0 < stream_id <= _STREAM_ID_MASK:
        raise ValueError('stream id %r out of range' % (stream_id,))


class FrameDecoder:
    """Turns the bytes one peer sent into frames, however they were cut.

    feed() returns the frames its bytes completed. After a ProtocolError
    the decoder refuses further input.
    """

    def __init__(self, max_frame_length=DEFAULT_MAX_FRAME_LENGTH,
                 max_header_block=DEFAULT_MAX_HEADER_BLOCK):
        self._buffer = bytearray()
        self._max_frame_length = max_frame_length
        # Every block must be decompressed, in order, even when its frame
        # is then ignored: the zlib context spans the connection.
        self._headers = spdy_headers.HeaderDecompressor(
            max_header_block).decompress
        self._failed = None

    def feed(self, data):
        if self._failed:
            raise ProtocolError('connection already failed: %s'
                                % self._failed)
        self._buffer += data
        frames = []
        try:
            while len(self._buffer) >= 8:
                first, second = _HEADER.unpack_from(self._buffer)
                length = second & 0xffffff
                if length > self._max_frame_length:
                    raise ProtocolError(
                        'frame of %d bytes, over the %d-byte maximum'
                        % (length, self._max_frame_length))
                if len(self._buffer) < 8 + length:
                    break
                payload = bytes(self._buffer[8:8 + length])
                del self._buffer[:8 + length]
                frames.append(self._parse(first, second >> 24, payload))
        except ProtocolError as exc:
            self._failed = str(exc)
            raise
        return frames

    def _parse(self, first, flags, payload):
        if not first & 0x80000000:
            stream_id = first & _STREAM_ID_MASK
            if not stream_id:
                raise ProtocolError('DATA frame on stream 0')
            return Data(stream_id, payload, flags)
        version = (first >> 16) & 0x7fff
        frame_type = first & 0xffff
        if version != VERSION:
            raise ProtocolError('unsupported SPDY version %d (control frame '
                                'type %d)' % (version, frame_type))
        parser = self._PARSERS.get(frame_type)
        if parser is None:
            return UnknownControl(frame_type, flags, payload)
        return parser(self, flags, payload)

    def _syn_stream(self, flags, payload):
        _need(payload, 10, 'SYN_STREAM')
        stream_id, associated, priority, slot = struct.unpack_from(
            '>IIBB', payload)
        stream_id &= _STREAM_ID_MASK
        headers = self._headers(payload[10:])
        if not stream_id:
            raise ProtocolError('SYN_STREAM for stream 0')
        return SynStream(stream_id, headers, associated & _STREAM_ID_MASK,
                         priority >> 5, slot, flags)

    def _syn_reply(self, flags, payload):
        stream_id = _stream_of(payload, 'SYN_REPLY')
        return SynReply(stream_id, self._headers(payload[4:]), flags)

    def _headers_frame(self, flags, payload):
        stream_id = _stream_of(payload, 'HEADERS')
        return Headers(stream_id, self._headers(payload[4:]), flags)

    def _rst_stream(self, flags, payload):
        _exactly(payload, 8, 'RST_STREAM')
        stream_id, status = struct.unpack('>II', payload)
        stream_id &= _STREAM_ID_MASK
        if not stream_id or not status:
            raise ProtocolError('RST_STREAM with stream %d, status %d'
                                % (stream_id, status))
        return RstStream(stream_id, status)

    def _settings(self, flags, payload):
        _need(payload, 4, 'SETTINGS')
        count = _UINT32.unpack_from(payload)[0]
        _exactly(payload, 4 + 8 * count, 'SETTINGS')
        entries = []
        for index in range(count):
            flag_id, value = struct.unpack_from('>II', payload, 4 + 8 * index)
            entries.append((flag_id >> 24, flag_id & 0xffffff, value))
        return Settings(entries, flags)

    def _ping(self, flags, payload):
        _exactly(payload, 4, 'PING')
        return Ping(_UINT32.unpack(payload)[0])

    def _goaway(self, flags, payload):
        _exactly(payload, 8, 'GOAWAY')
        last_good, status = struct.unpack('>II', payload)
        return GoAway(last_good & _STREAM_ID_MASK, status)

    def _window_update(self, flags, payload):
        _exactly(payload, 8, 'WINDOW_UPDATE')
        stream_id, delta = struct.unpack('>II', payload)
        return WindowUpdate(stream_id & _STREAM_ID_MASK,
                            delta & _STREAM_ID_MASK)

    _PARSERS = {
        SYN_STREAM: _syn_stream,
        SYN_REPLY: _syn_reply,
        RST_STREAM: _rst_stream,
        SETTINGS: _settings,
        PING: _ping,
        GOAWAY: _goaway,
        HEADERS: _headers_frame,
        WINDOW_UPDATE: _window_update,
    }


def _need(payload, size, name):
    if len(payload) < size:
        raise ProtocolError('%s frame of %d bytes, needs %d'
                            % (name, len(payload), size))


def _exactly(payload, size, name):
    if len(payload) != size:
        raise ProtocolError('%s frame of %d bytes, must be %d'
                            % (name, len(payload), size))


def _stream_of(payload, name):
    _need(payload, 4, name)
    stream_id = _UINT32.unpack_from(payload)[0] & _STREAM_ID_MASK
    if not stream_id:
        raise ProtocolError('%s for stream 0' % name)
    return stream_id
