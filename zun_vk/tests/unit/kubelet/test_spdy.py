import hashlib
import struct
import zlib

import pytest

from zun_vk.kubelet import spdy
from zun_vk.kubelet import spdy_headers


def test_dictionary_is_the_spdy3_one_byte_for_byte():
    # Digest of golang.org/x/net/spdy's headerDictionary (also vendored by
    # moby/spdystream as spdy/dictionary.go).
    assert len(spdy.DICTIONARY) == 1423
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == (
        '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02')
    assert zlib.adler32(spdy.DICTIONARY) == 0xe3c6a7c2
    assert spdy.DICTIONARY.startswith(b'\x00\x00\x00\x07options')
    assert spdy.DICTIONARY.endswith(b'charset=iso-8859-1,utf-,*,enq=0.')


FRAMES = [
    spdy.SynStream(1, {'streamtype': ['error']}),
    spdy.SynStream(3, {'streamtype': ['data'], 'port': ['80'],
                       'requestid': ['0']}, associated_to=1, priority=7,
                   slot=2, flags=spdy.FLAG_FIN | spdy.FLAG_UNIDIRECTIONAL),
    spdy.SynReply(1, {}),
    spdy.SynReply(3, {'x-multi': ['a', 'b', '']}, flags=spdy.FLAG_FIN),
    spdy.RstStream(5, spdy.CANCEL),
    spdy.Settings([(0, 4, 100), (1, 7, 65536)]),
    spdy.Settings([], flags=1),
    spdy.Ping(1),
    spdy.Ping(0xffffffff),
    spdy.GoAway(7, spdy.GOAWAY_OK),
    spdy.GoAway(0, spdy.GOAWAY_PROTOCOL_ERROR),
    spdy.Headers(3, {'streamtype': ['stdin']}, flags=spdy.FLAG_FIN),
    spdy.WindowUpdate(3, 65536),
    spdy.Data(1, b'hello'),
    spdy.Data(0x7fffffff, b'', flags=spdy.FLAG_FIN),
    spdy.Data(3, bytes(range(256)) * 100),
]


@pytest.mark.parametrize('frame', FRAMES, ids=repr)
def test_every_frame_type_round_trips(frame):
    wire = spdy.FrameEncoder().encode(frame)
    assert spdy.FrameDecoder().feed(wire) == [frame]


def test_header_blocks_share_one_zlib_context_per_direction():
    encoder = spdy.FrameEncoder()
    frames = [spdy.SynStream(2 * n + 1, {'streamtype': ['stdout'],
                                         'port': [str(n)]})
              for n in range(20)]
    wire = [encoder.encode(frame) for frame in frames]
    # Later blocks refer back to earlier ones, so they shrink ...
    assert len(wire[-1]) < len(wire[0])
    # ... and cannot be read without them.
    with pytest.raises(spdy.ProtocolError):
        spdy.FrameDecoder().feed(wire[-1])
    decoder = spdy.FrameDecoder()
    assert [f for w in wire for f in decoder.feed(w)] == frames


def test_partial_feeds_give_the_same_frames():
    encoder = spdy.FrameEncoder()
    wire = b''.join(encoder.encode(frame) for frame in FRAMES)
    decoder = spdy.FrameDecoder()
    decoded = []
    for index in range(len(wire)):
        decoded += decoder.feed(wire[index:index + 1])
    assert decoded == FRAMES


def test_exact_bytes_of_fixed_frames():
    encode = spdy.FrameEncoder().encode
    assert encode(spdy.Ping(1)).hex() == '8003000600000004' '00000001'
    assert encode(spdy.RstStream(3, spdy.CANCEL)).hex() == (
        '8003000300000008' '00000003' '00000005')
    assert encode(spdy.GoAway(5)).hex() == (
        '8003000700000008' '00000005' '00000000')
    assert encode(spdy.WindowUpdate(1, 10)).hex() == (
        '8003000900000008' '00000001' '0000000a')
    assert encode(spdy.Data(3, b'hi', spdy.FLAG_FIN)).hex() == (
        '00000003' '01000002' '6869')
    assert encode(spdy.Settings([(1, 4, 100)])).hex() == (
        '800300040000000c' '00000001' '01000004' '00000064')


def test_header_block_lowercases_names_and_joins_values_with_nul():
    block = spdy_headers.encode_header_block(
        {'StreamType': 'error', 'x': ['a', 'b']})
    assert block == (b'\x00\x00\x00\x02'
                     b'\x00\x00\x00\x0astreamtype\x00\x00\x00\x05error'
                     b'\x00\x00\x00\x01x\x00\x00\x00\x03a\x00b')
    assert spdy_headers.decode_header_block(block) == {
        'streamtype': ['error'], 'x': ['a', 'b']}


def _block(*entries):
    out = struct.pack('>I', len(entries))
    for name, value in entries:
        out += struct.pack('>I', len(name)) + name
        out += struct.pack('>I', len(value)) + value
    return out


@pytest.mark.parametrize('block, message', [
    (_block((b'Port', b'80')), 'not lowercase'),
    (_block((b'port', b'80'), (b'port', b'81')), 'twice'),
    (_block((b'', b'x')), 'empty header name'),
    (_block((b'port', b'80')) + b'\x00', 'after the header block'),
    (_block((b'port', b'80'))[:-1], 'ends inside'),
    (b'\xff\xff\xff\xff', 'claims'),
    (_block((b'p\xff', b'1')), 'UTF-8'),
    (b'\x00\x00', 'ends inside'),
])
def test_malformed_header_blocks(block, message):
    with pytest.raises(spdy.ProtocolError, match=message):
        spdy_headers.decode_header_block(block)


def _control(frame_type, payload, flags=0, version=3):
    return struct.pack('>HHI', 0x8000 | version, frame_type,
                       (flags << 24) | len(payload)) + payload


def _compressed(block):
    compressor = zlib.compressobj(zdict=spdy.DICTIONARY)
    return compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)


@pytest.mark.parametrize('wire, message', [
    (_control(spdy.PING, b'\0\0\0\1', version=2), 'unsupported SPDY version'),
    (struct.pack('>II', 1, spdy.DEFAULT_MAX_FRAME_LENGTH + 1), 'maximum'),
    (_control(spdy.RST_STREAM, struct.pack('>II', 1, 0)), 'status 0'),
    (_control(spdy.RST_STREAM, struct.pack('>II', 0, 5)), 'stream 0'),
    (_control(spdy.RST_STREAM, b'\0\0\0\1'), 'must be 8'),
    (_control(spdy.PING, b'\0\0\0\1\0'), 'must be 4'),
    (_control(spdy.GOAWAY, b'\0\0\0\1'), 'must be 8'),
    (_control(spdy.WINDOW_UPDATE, b'\0\0\0\1'), 'must be 8'),
    (_control(spdy.SETTINGS, struct.pack('>I', 2) + b'\0' * 8), 'must be 20'),
    (_control(spdy.SETTINGS, b''), 'needs 4'),
    (_control(spdy.SYN_STREAM, b'\0' * 9), 'needs 10'),
    (_control(spdy.SYN_REPLY, b'\0\0'), 'needs 4'),
    (_control(spdy.SYN_REPLY, b'\0\0\0\1' + b'not zlib'), 'decompress'),
    (_control(spdy.SYN_STREAM, b'\0' * 10
              + _compressed(_block((b'port', b'1')))), 'stream 0'),
    (_control(spdy.HEADERS, b'\0\0\0\1'
              + _compressed(_block((b'X', b'1')))), 'not lowercase'),
    (struct.pack('>II', 0, 1) + b'x', 'DATA frame on stream 0'),
])
def test_malformed_frames(wire, message):
    decoder = spdy.FrameDecoder()
    with pytest.raises(spdy.ProtocolError, match=message):
        decoder.feed(wire)
    # The shared zlib context is lost: the connection cannot go on.
    with pytest.raises(spdy.ProtocolError, match='already failed'):
        decoder.feed(spdy.FrameEncoder().encode(spdy.Ping(1)))


def test_oversized_frame_is_refused_from_its_header_alone():
    decoder = spdy.FrameDecoder(max_frame_length=16)
    assert decoder.feed(spdy.FrameEncoder().encode(
        spdy.Data(1, b'x' * 16))) == [spdy.Data(1, b'x' * 16)]
    with pytest.raises(spdy.ProtocolError, match='17 bytes'):
        decoder.feed(struct.pack('>II', 1, 17))


def test_a_header_block_that_inflates_past_the_limit_is_refused():
    block = _block((b'x', b'a' * 100000))
    decoder = spdy.FrameDecoder(max_header_block=1000)
    with pytest.raises(spdy.ProtocolError, match='over 1000 bytes'):
        decoder.feed(_control(spdy.SYN_REPLY,
                              b'\0\0\0\1' + _compressed(block)))


def test_unknown_control_frames_are_handed_over_not_fatal():
    decoder = spdy.FrameDecoder()
    frames = decoder.feed(_control(10, b'cred', flags=1)
                          + spdy.FrameEncoder().encode(spdy.Ping(3)))
    assert frames == [spdy.UnknownControl(10, 1, b'cred'), spdy.Ping(3)]


@pytest.mark.parametrize('frame', [
    spdy.Data(0, b''),
    spdy.SynReply(0x80000000, {}),
    spdy.RstStream(1, 0),
    spdy.Headers(1, {'': 'x'}),
    'not a frame',
])
def test_encoder_refuses_what_no_peer_could_read(frame):
    with pytest.raises((ValueError, TypeError)):
        spdy.FrameEncoder().encode(frame)
