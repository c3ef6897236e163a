"""The framed stream after an upgrade: frames survive any split."""

import pytest

from zun_vk.hostlink import framing


def test_frame_layout():
    assert framing.encode(framing.STDOUT, b'hi') == b'\x01\x00\x00\x00\x02hi'
    assert framing.encode(framing.STDIN_EOF) == b'\x05\x00\x00\x00\x00'


@pytest.mark.parametrize('split', [1, 2, 3, 5, 7, 1000])
def test_decoder_reassembles_frames_split_anywhere(split):
    stream = (framing.encode(framing.STDOUT, b'hello') +
              framing.encode(framing.STDERR, b'') +
              framing.encode_status(exit_code=7))
    decoder = framing.FrameDecoder()
    frames = []
    for i in range(0, len(stream), split):
        frames.extend(decoder.feed(stream[i:i + split]))
    assert frames == [(framing.STDOUT, b'hello'), (framing.STDERR, b''),
                      (framing.STATUS, b'{"exit_code": 7}')]
    assert not decoder.partial


@pytest.mark.parametrize('data,message', [
    (b'\x09\x00\x00\x00\x00', 'unknown channel 9'),
    (b'\x01\x7f\x00\x00\x00', 'too long'),
])
def test_decoder_refuses_bad_frames(data, message):
    with pytest.raises(framing.ProtocolError, match=message):
        framing.FrameDecoder().feed(data)


def test_large_data_becomes_several_frames():
    data = b'x' * (framing.MAX_PAYLOAD * 2 + 3)
    frames = framing.FrameDecoder().feed(framing.encode_data(
        framing.STDIN, data))
    assert [len(p) for _, p in frames] == [framing.MAX_PAYLOAD,
                                           framing.MAX_PAYLOAD, 3]
    assert framing.encode_data(framing.STDIN, b'') == b''


def test_encode_refuses_oversized_payload():
    with pytest.raises(ValueError):
        framing.encode(framing.STDIN, b'x' * (framing.MAX_PAYLOAD + 1))


def reader_over(chunks):
    chunks = list(chunks)
    return framing.FrameReader(lambda size: chunks.pop(0) if chunks
                               else b'')


def test_reader_ends_cleanly_at_eof():
    reader = reader_over([framing.encode(framing.STDOUT, b'a')[:3],
                          framing.encode(framing.STDOUT, b'a')[3:]])
    assert list(reader) == [(framing.STDOUT, b'a')]


def test_reader_refuses_eof_inside_a_frame():
    reader = reader_over([framing.encode(framing.STDOUT, b'abc')[:6]])
    with pytest.raises(framing.ProtocolError, match='inside a frame'):
        reader.read_frame()


@pytest.mark.parametrize('payload,expected', [
    (b'{"exit_code": 0}', ('exit', 0)),
    (b'{"exit_code": 137}', ('exit', 137)),
    (b'{"error": "no such container"}', ('error', 'no such container')),
])
def test_parse_status(payload, expected):
    assert framing.parse_status(payload) == expected


@pytest.mark.parametrize('payload', [
    b'', b'nonsense', b'[]', b'{"exit_code": "7"}', b'{"exit_code": true}',
    b'{}', b'\xff'])
def test_parse_status_refuses(payload):
    with pytest.raises(framing.ProtocolError):
        framing.parse_status(payload)


def test_status_needs_exactly_one_outcome():
    with pytest.raises(ValueError):
        framing.encode_status()
    with pytest.raises(ValueError):
        framing.encode_status(exit_code=0, error='both')


def test_resize_round_trip():
    frame = framing.FrameDecoder().feed(framing.encode_resize(120, 40))
    assert frame[0][0] == framing.RESIZE
    assert framing.parse_resize(frame[0][1]) == (120, 40)


@pytest.mark.parametrize('payload', [
    b'{"width": 80}', b'{"width": -1, "height": 2}',
    b'{"width": 70000, "height": 2}', b'{"width": "80", "height": 2}',
    b'[80, 24]', b'junk'])
def test_parse_resize_refuses(payload):
    with pytest.raises(framing.ProtocolError):
        framing.parse_resize(payload)
