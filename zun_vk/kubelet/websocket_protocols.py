"""The WebSocket handshake and channel framing of the kubelet's streams.

Pure functions: which subprotocol the kubelet (or, for what it serves
itself, kube-apiserver) picks and how it refuses (golang.org/x/net's
websocket server under apimachinery's ``wsstream``, and for the SPDY
tunnel ``util/proxy/streamtunnel.go``), and the channel byte prefix or
base64 text encoding of each message.
"""

import base64
import binascii

from zun_vk.kubelet import spdy_streams
from zun_vk.kubelet import streams
from zun_vk.kubelet import websocket_conn

# Subprotocol: (remotecommand version, base64 codec). The kubelet's list
# plus v5; "" is a client that named none, served as channel.k8s.io.
REMOTECOMMAND_PROTOCOLS = {
    'v5.channel.k8s.io': (5, False),
    'v4.channel.k8s.io': (4, False),
    'v4.base64.channel.k8s.io': (4, True),
    'channel.k8s.io': (1, False),
    'base64.channel.k8s.io': (1, True),
    '': (1, False),
}
# The kubelet's port-forward list has neither v1 name nor v5.
PORTFORWARD_PROTOCOLS = {
    'v4.channel.k8s.io': False,
    'v4.base64.channel.k8s.io': True,
    '': False,
}
TUNNEL_PREFIX = 'SPDY/3.1+'
TUNNEL_SUFFIX = '.k8s.io'
TUNNEL_PORTFORWARD = TUNNEL_PREFIX + spdy_streams.PORTFORWARD_PROTOCOLS[0]
# Each port takes two one-byte channel numbers.
MAX_PORTS = 128


def _header_pairs(headers):
    pairs = headers.items() if hasattr(headers, 'items') else headers
    for name, value in pairs:
        if isinstance(name, bytes):
            name = name.decode('latin-1')
        if isinstance(value, bytes):
            value = value.decode('latin-1')
        yield name.lower(), value


def _first(pairs, name):
    # Go's Header.Get: the first value only.
    for key, value in pairs:
        if key == name:
            return value.strip()
    return ''


def requested_protocols(headers):
    """The Sec-WebSocket-Protocol names, in the client's order."""
    return [name.strip() for key, value in _header_pairs(headers)
            if key == 'sec-websocket-protocol'
            for name in value.split(',') if name.strip()]


def is_tunnel_protocol(name):
    return name.startswith(TUNNEL_PREFIX) and name.endswith(TUNNEL_SUFFIX)


def handshake(kind, headers, ports=None):
    """Check a WebSocket upgrade; (subprotocol, headers of the 101 answer).

    headers: the request's headers, a mapping or (name, value) pairs. The
    subprotocol is the client's first choice the kubelet knows ('' when
    the client named none). Raises streams.Refused as the kubelet (and,
    for the SPDY tunnel, kube-apiserver) answers: 400 for a request that
    is not a WebSocket handshake, 403 for no common subprotocol. When
    ports (the port-forward query's) is given, the channel protocols,
    which take their ports from it, also need 1 to MAX_PORTS of them:
    400 otherwise. The method (GET) is the caller's to check.
    """
    if kind not in (streams.REMOTECOMMAND, streams.PORTFORWARD):
        raise ValueError('unknown kind of stream session: %r' % (kind,))
    pairs = list(_header_pairs(headers))
    if (_first(pairs, 'upgrade').lower() != 'websocket'
            or 'upgrade' not in _first(pairs, 'connection').lower()):
        raise streams.Refused(400, 'not websocket protocol')
    key = _first(pairs, 'sec-websocket-key')
    if not key:
        raise streams.Refused(400, 'mismatch challenge/response')
    if _first(pairs, 'sec-websocket-version') != '13':
        raise streams.Refused(400, 'missing or bad WebSocket Version',
                              [('Sec-WebSocket-Version', '13')])
    requested = requested_protocols(pairs)
    if kind == streams.PORTFORWARD and any(map(is_tunnel_protocol,
                                               requested)):
        chosen = _tunnel_protocol(requested)
    else:
        supported = (REMOTECOMMAND_PROTOCOLS if kind == streams.REMOTECOMMAND
                     else PORTFORWARD_PROTOCOLS)
        chosen = next((name for name in requested or [''] if name in
                       supported), None)
        if chosen is None:
            raise streams.Refused(
                403, 'requested protocol(s) are not supported: [%s]; '
                'supports [%s]' % (' '.join(requested),
                                   ' '.join(n for n in supported if n)))
    if (kind == streams.PORTFORWARD and chosen != TUNNEL_PORTFORWARD
            and ports is not None):
        _check_ports(ports)
    reply = [('Upgrade', 'websocket'), ('Connection', 'Upgrade'),
             ('Sec-WebSocket-Accept', websocket_conn.accept_token(key))]
    if chosen:
        reply.append(('Sec-WebSocket-Protocol', chosen))
    return chosen, reply


def _check_ports(ports):
    if not ports:
        raise streams.Refused(400, 'query parameter "port" is required')
    if len(ports) > MAX_PORTS:
        raise streams.Refused(400, 'at most %d ports can be forwarded over '
                                   'one WebSocket, not %d'
                              % (MAX_PORTS, len(ports)))


def _tunnel_protocol(requested):
    # kube-apiserver strips the prefix and asks the kubelet over SPDY, so
    # a refusal is httpstream.Handshake's.
    wanted = [name[len(TUNNEL_PREFIX):] for name in requested
              if is_tunnel_protocol(name)]
    return TUNNEL_PREFIX + spdy_streams.negotiate(streams.PORTFORWARD, wanted)


def encode(channel, data, base64_codec):
    """One message for a channel.

    A binary [channel] + data; with the base64 protocols a text message:
    the channel as a digit, then data in base64.
    """
    if base64_codec:
        # Go adds the channel to '0' in a byte, wrapping past 255.
        return chr((48 + channel) % 256) + base64.b64encode(data).decode()
    return bytes([channel]) + bytes(data)


def decode(payload, base64_codec):
    """(channel, data) of a message from the client.

    data is None when it cannot be decoded (the kubelet drops such a
    message); None for an empty message.
    """
    raw = payload.encode('utf-8') if isinstance(payload, str) else payload
    if not raw:
        return None
    if not base64_codec:
        return raw[0], raw[1:]
    channel = (raw[0] - 48) % 256
    try:
        data = base64.b64decode(raw[1:].replace(b'\r', b'').replace(
            b'\n', b''), validate=True)
    except (binascii.Error, ValueError):
        return channel, None
    return channel, data
