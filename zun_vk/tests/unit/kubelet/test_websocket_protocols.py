"""The WebSocket handshake and channel framing, as the kubelet does them."""

import email.message

import pytest

from zun_vk.kubelet import streams
from zun_vk.kubelet import websocket_protocols as wsp

RC = streams.REMOTECOMMAND
PF = streams.PORTFORWARD
# RFC 6455 section 1.3's example.
KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='


def _request(*protocols, **overrides):
    headers = {'Host': 'node:10250', 'Upgrade': 'websocket',
               'Connection': 'Upgrade', 'Sec-WebSocket-Key': KEY,
               'Sec-WebSocket-Version': '13'}
    headers.update(overrides)
    pairs = [(name, value) for name, value in headers.items()
             if value is not None]
    pairs += [('Sec-WebSocket-Protocol', value) for value in protocols]
    return pairs


@pytest.mark.parametrize('kind, protocols, chosen', [
    # Every exec subprotocol the kubelet knows, plus v5.
    (RC, ['v5.channel.k8s.io'], 'v5.channel.k8s.io'),
    (RC, ['v4.channel.k8s.io'], 'v4.channel.k8s.io'),
    (RC, ['v4.base64.channel.k8s.io'], 'v4.base64.channel.k8s.io'),
    (RC, ['base64.channel.k8s.io'], 'base64.channel.k8s.io'),
    (RC, ['channel.k8s.io'], 'channel.k8s.io'),
    # No subprotocol at all: binary channels, the oldest status.
    (RC, [], ''),
    # The client's order wins, and unknown names are skipped.
    (RC, ['v4.channel.k8s.io, v5.channel.k8s.io'], 'v4.channel.k8s.io'),
    (RC, ['x.k8s.io', 'v5.channel.k8s.io'], 'v5.channel.k8s.io'),
    (RC, [' , base64.channel.k8s.io ,'], 'base64.channel.k8s.io'),
    # The Python client's default.
    (PF, ['v5.channel.k8s.io,v4.channel.k8s.io'], 'v4.channel.k8s.io'),
    (PF, ['v4.base64.channel.k8s.io'], 'v4.base64.channel.k8s.io'),
    (PF, [], ''),
    # kubectl 1.31+: SPDY tunnelled in WebSocket messages.
    (PF, ['SPDY/3.1+portforward.k8s.io'], 'SPDY/3.1+portforward.k8s.io'),
    (PF, ['v4.channel.k8s.io', 'SPDY/3.1+portforward.k8s.io'],
     'SPDY/3.1+portforward.k8s.io'),
])
def test_subprotocol_choice(kind, protocols, chosen):
    protocol, reply = wsp.handshake(kind, _request(*protocols))
    assert protocol == chosen
    expected = [('Upgrade', 'websocket'), ('Connection', 'Upgrade'),
                ('Sec-WebSocket-Accept', ACCEPT)]
    if chosen:
        expected.append(('Sec-WebSocket-Protocol', chosen))
    assert reply == expected


@pytest.mark.parametrize('kind, protocols, status, message, headers', [
    (RC, ['v3.channel.k8s.io'], 403,
     'requested protocol(s) are not supported: [v3.channel.k8s.io]; '
     'supports [v5.channel.k8s.io v4.channel.k8s.io '
     'v4.base64.channel.k8s.io channel.k8s.io base64.channel.k8s.io]', []),
    # Port-forward has no v5 and no unversioned channel protocol.
    (PF, ['v5.channel.k8s.io'], 403,
     'requested protocol(s) are not supported: [v5.channel.k8s.io]; '
     'supports [v4.channel.k8s.io v4.base64.channel.k8s.io]', []),
    (PF, ['channel.k8s.io', 'portforward.k8s.io'], 403,
     'requested protocol(s) are not supported: [channel.k8s.io '
     'portforward.k8s.io]; supports [v4.channel.k8s.io '
     'v4.base64.channel.k8s.io]', []),
    # Exec is never tunnelled.
    (RC, ['SPDY/3.1+portforward.k8s.io'], 403,
     'requested protocol(s) are not supported: '
     '[SPDY/3.1+portforward.k8s.io]; supports [v5.channel.k8s.io '
     'v4.channel.k8s.io v4.base64.channel.k8s.io channel.k8s.io '
     'base64.channel.k8s.io]', []),
    # A tunnel to a SPDY protocol the kubelet lacks: its SPDY refusal.
    (PF, ['SPDY/3.1+v9.portforward.k8s.io'], 403,
     'unable to upgrade: unable to negotiate protocol: client supports '
     '[v9.portforward.k8s.io], server accepts [portforward.k8s.io]',
     [('X-Accepted-Stream-Protocol-Versions', 'portforward.k8s.io')]),
])
def test_no_common_subprotocol(kind, protocols, status, message, headers):
    with pytest.raises(streams.Refused) as refused:
        wsp.handshake(kind, _request(*protocols))
    assert refused.value.status == status
    assert refused.value.message == message
    assert refused.value.headers == headers


@pytest.mark.parametrize('overrides, message, headers', [
    ({'Upgrade': None}, 'not websocket protocol', []),
    ({'Upgrade': 'SPDY/3.1'}, 'not websocket protocol', []),
    ({'Connection': 'keep-alive'}, 'not websocket protocol', []),
    ({'Sec-WebSocket-Key': None}, 'mismatch challenge/response', []),
    ({'Sec-WebSocket-Version': '8'}, 'missing or bad WebSocket Version',
     [('Sec-WebSocket-Version', '13')]),
    ({'Sec-WebSocket-Version': None}, 'missing or bad WebSocket Version',
     [('Sec-WebSocket-Version', '13')]),
])
def test_not_a_websocket_handshake(overrides, message, headers):
    with pytest.raises(streams.Refused) as refused:
        wsp.handshake(RC, _request('v5.channel.k8s.io', **overrides))
    assert (refused.value.status, refused.value.message,
            refused.value.headers) == (400, message, headers)


@pytest.mark.parametrize('protocols, ports, refusal', [
    (['v4.channel.k8s.io'], [80], None),
    (['v4.channel.k8s.io'], None, None),
    (['v4.channel.k8s.io'], [], 'query parameter "port" is required'),
    ([], [], 'query parameter "port" is required'),
    (['v4.channel.k8s.io'], list(range(1, 130)),
     'at most 128 ports can be forwarded over one WebSocket, not 129'),
    # The tunnel names its ports in each SPDY stream.
    (['SPDY/3.1+portforward.k8s.io'], [], None),
])
def test_port_forward_ports(protocols, ports, refusal):
    if refusal is None:
        wsp.handshake(PF, _request(*protocols), ports=ports)
        return
    with pytest.raises(streams.Refused) as refused:
        wsp.handshake(PF, _request(*protocols), ports=ports)
    assert (refused.value.status, refused.value.message) == (400, refusal)


def test_header_names_and_values_in_any_case_and_type():
    pairs = [(b'upgrade', b'WebSocket'),
             (b'connection', b'keep-alive, Upgrade'),
             (b'sec-websocket-key', KEY.encode()),
             (b'sec-websocket-version', b'13'),
             (b'SEC-WEBSOCKET-PROTOCOL', b'v4.channel.k8s.io')]
    assert wsp.handshake(RC, pairs)[0] == 'v4.channel.k8s.io'


def test_headers_as_http_server_gives_them():
    message = email.message.Message()
    for name, value in _request('x.k8s.io', 'base64.channel.k8s.io'):
        message[name] = value
    assert wsp.handshake(RC, message)[0] == 'base64.channel.k8s.io'
    assert wsp.handshake(RC, dict(_request()))[0] == ''


def test_unknown_kind():
    with pytest.raises(ValueError):
        wsp.handshake('logs', _request())


@pytest.mark.parametrize('channel, data, base64_codec, message', [
    (1, b'hi', False, b'\x01hi'),
    (0, b'', False, b'\x00'),
    (3, b'\x00\xff', False, b'\x03\x00\xff'),
    (1, b'hi', True, '1aGk='),
    (2, b'', True, '2'),
    (9, b'\n', True, '9Cg=='),
    # Channels past 9 are the characters after '9', as Go adds them.
    (10, b'x', True, ':eA=='),
])
def test_encode(channel, data, base64_codec, message):
    assert wsp.encode(channel, data, base64_codec) == message


@pytest.mark.parametrize('message, base64_codec, decoded', [
    (b'\x00foo\n', False, (0, b'foo\n')),
    (b'\x04', False, (4, b'')),
    # A text message on a binary protocol is its UTF-8 bytes.
    ('\x00h\u00e9', False, (0, b'h\xc3\xa9')),
    ('0Zm9vCg==', True, (0, b'foo\n')),
    (b'0Zm9v\r\nCg==', True, (0, b'foo\n')),
    ('4', True, (4, b'')),
    ('0not base64!', True, (0, None)),
    ('0Zm9', True, (0, None)),
    (b'', False, None),
    ('', True, None),
])
def test_decode(message, base64_codec, decoded):
    assert wsp.decode(message, base64_codec) == decoded
