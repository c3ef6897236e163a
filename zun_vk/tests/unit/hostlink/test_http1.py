"""The HTTP/1.1 pieces zun-vk uses towards host agents."""

import pytest

from zun_vk.hostlink import http1


@pytest.mark.parametrize('text,expected', [
    ('192.0.2.10', ('192.0.2.10', 10350)),
    ('192.0.2.10:10351', ('192.0.2.10', 10351)),
    ('compute1.mgmt.example.org', ('compute1.mgmt.example.org', 10350)),
    ('compute1.mgmt:443', ('compute1.mgmt', 443)),
    ('[2001:db8::1]:10351', ('2001:db8::1', 10351)),
    ('[2001:db8::1]', ('2001:db8::1', 10350)),
    ('2001:db8::1', ('2001:db8::1', 10350)),
])
def test_parse_endpoint(text, expected):
    assert http1.parse_endpoint(text, 10350) == expected


@pytest.mark.parametrize('text', [
    '', 'host:', 'host:http', 'host:0', 'host:70000', '[::1', '[::1]x',
    ':80'])
def test_parse_endpoint_refuses(text):
    with pytest.raises(ValueError):
        http1.parse_endpoint(text, 10350)


def test_build_request():
    data = http1.build_request('POST', '/v1/x', [('command', 'sh -c'),
                                                 ('tty', '1')],
                               'h:1', [('X-A', 'b')])
    assert data == (b'POST /v1/x?command=sh+-c&tty=1 HTTP/1.1\r\n'
                    b'Host: h:1\r\nX-A: b\r\nContent-Length: 0\r\n\r\n')


def test_build_request_with_a_body():
    data = http1.build_request('PUT', '/v1/v', [], 'h:1', [], body=b'{}')
    assert data == (b'PUT /v1/v HTTP/1.1\r\nHost: h:1\r\n'
                    b'Content-Length: 2\r\n\r\n{}')


def test_host_header_brackets_ipv6():
    assert http1.host_header('2001:db8::1', 5) == '[2001:db8::1]:5'
    assert http1.host_header('h', 5) == 'h:5'


def test_read_head_keeps_what_follows():
    chunks = [b'HTTP/1.1 101 Switching\r\nUpgrade: x\r', b'\n\r\nABC']
    head, rest = http1.read_head(lambda n: chunks.pop(0))
    assert rest == b'ABC'
    status, reason, headers = http1.parse_response_head(head)
    assert (status, reason, headers) == (101, 'Switching', {'upgrade': 'x'})


@pytest.mark.parametrize('chunks', [[b'HTTP/1.1 200'], [b'x' * 70000]])
def test_read_head_refuses_short_or_long_heads(chunks):
    chunks = list(chunks)
    with pytest.raises(http1.HTTPError):
        http1.read_head(lambda n: chunks.pop(0) if chunks else b'')


@pytest.mark.parametrize('head', [b'SSH-2.0-OpenSSH', b'HTTP/1.1 abc',
                                  b'HTTP/2 200'])
def test_parse_response_head_refuses(head):
    with pytest.raises(http1.HTTPError):
        http1.parse_response_head(head)


BODY = b'5\r\nhello\r\n1;ext=1\r\n\n\r\n0\r\nTrailer: x\r\n\r\n'


@pytest.mark.parametrize('split', [1, 2, 3, 4, 9, 100])
def test_chunked_decoder(split):
    decoder = http1.ChunkedDecoder()
    out = b''
    for i in range(0, len(BODY), split):
        assert not decoder.done
        out += b''.join(decoder.feed(BODY[i:i + split]))
    assert out == b'hello\n'
    assert decoder.done


def test_chunked_decoder_passes_partial_chunks_on_at_once():
    decoder = http1.ChunkedDecoder()
    assert decoder.feed(b'a\r\nhel') == [b'hel']
    assert decoder.feed(b'lo worl') == [b'lo worl']
    assert decoder.feed(b'\r\n') == []


@pytest.mark.parametrize('body', [b'zz\r\n', b'-5\r\nhello\r\n',
                                  b'2\r\nhiXX', b'1' * 5000])
def test_chunked_decoder_refuses(body):
    with pytest.raises(http1.HTTPError):
        http1.ChunkedDecoder().feed(body)
