"""port-forward over the WebSocket channel protocols and the SPDY tunnel,
and the message layer under both."""

import threading

import pytest
from wsproto import events as ws_events

from zun_vk.kubelet import websocket_conn
from zun_vk.kubelet import websocket_streams
from zun_vk.tests.unit.kubelet import ws_fakes


def _serve(protocol, ports, handler, **kwargs):
    return ws_fakes.Server(
        lambda transport: websocket_streams.serve_port_forward(
            transport, protocol, ports, handler, **kwargs))


def _echo_upper(conn):
    while True:
        data = conn.read()
        if not data:
            return
        conn.write(data.upper())


@pytest.mark.parametrize('protocol', ['v4.channel.k8s.io', ''])
def test_ports_are_announced_then_each_carries_its_bytes(protocol):
    server = _serve(protocol, [80, 8443], _echo_upper)
    client = server.client
    # Data then error channel of each port, the port as uint16 LE.
    announced = sorted(client.message() for _ in range(4))
    assert announced == [b'\x00P\x00', b'\x01P\x00', b'\x02\xfb\x20',
                         b'\x03\xfb\x20']
    client.send(b'\x00to eighty')
    assert client.message() == b'\x00TO EIGHTY'
    client.send(b'\x02to 8443')
    assert client.message() == b'\x02TO 8443'
    # Error channels and unknown channels only go to the client.
    client.send(b'\x01ignored')
    client.send(b'\x09ignored')
    client.send(b'\x00again')
    assert client.message() == b'\x00AGAIN'
    client.close()
    assert client.next() == ('close', 1000)
    assert server.join() is None


def test_base64_port_forward():
    server = _serve('v4.base64.channel.k8s.io', [80], _echo_upper)
    client = server.client
    assert sorted(client.message() for _ in range(2)) == ['0UAA=', '1UAA=']
    client.send(websocket_streams.encode(0, b'abc', True))
    assert client.message() == websocket_streams.encode(0, b'ABC', True)
    client.close()
    assert server.join() is None


def test_failure_goes_on_the_error_channel_and_others_go_on():
    def handler(conn):
        if conn.port == 81:
            conn.fail('connection refused')
            return
        _echo_upper(conn)

    server = _serve('v4.channel.k8s.io', [80, 81], handler, pod='p',
                    uid='u-1')
    client = server.client
    messages = [client.message() for _ in range(5)]
    assert b'\x03error forwarding port 81 to pod p, uid u-1: connection ' \
           b'refused' in messages
    client.send(b'\x00still')
    assert client.message() == b'\x00STILL'
    client.close()
    assert server.join() is None


def test_a_failing_handler_is_reported():
    def handler(conn):
        raise OSError('no route')

    server = _serve('v4.channel.k8s.io', [80], handler)
    messages, code = server.client.until_close()
    assert messages[-1] == b'\x01error forwarding port 80: no route'
    # With every port's connection over, the WebSocket closes.
    assert code == 1000
    assert server.join() is None


def test_client_going_away_ends_reads_and_fails_writes():
    outcome = {}
    read = threading.Event()

    def handler(conn):
        outcome['read'] = conn.read()
        read.set()
        try:
            conn.write(b'too late')
        except OSError as exc:
            outcome['write'] = type(exc)

    server = _serve('v4.channel.k8s.io', [80], handler)
    server.client.message()
    server.client.message()
    server.client.hang_up()
    assert server.join() is None
    assert outcome == {'read': b'', 'write': BrokenPipeError}


def test_needs_ports():
    server = _serve('v4.channel.k8s.io', [], _echo_upper)
    assert isinstance(server.join(), ValueError)


def test_ping_while_forwarding():
    server = _serve('v4.channel.k8s.io', [80], _echo_upper)
    client = server.client
    client.message()
    client.message()
    client.send_event(ws_events.Ping(payload=b'p'))
    assert client.next() == ('pong', b'p')
    client.close()
    assert server.join() is None


# The SPDY tunnel, at the byte level: whatever a tunnel carries is the
# SPDY session's business (kubectl's port-forward test runs it whole).

def _serve_tunnel(serve):
    def run(transport):
        tunnel = websocket_streams.TunnelTransport(transport)
        try:
            return serve(tunnel)
        finally:
            tunnel.close()
    return ws_fakes.Server(run)


def _echo_bytes(tunnel):
    total = 0
    while True:
        data = tunnel.read(7)
        if not data:
            return total
        total += len(data)
        tunnel.write(data)


def test_tunnel_carries_a_byte_stream_in_binary_messages():
    server = _serve_tunnel(_echo_bytes)
    client = server.client
    sent = [b'a', b'bcdefghijk', b'\x00' * 70000]
    for chunk in sent:
        client.send(chunk)
    received = b''
    while len(received) < sum(map(len, sent)):
        message = client.message()
        # No channel byte: each message is bytes the tunnel wrote.
        assert isinstance(message, bytes) and 0 < len(message) <= 7
        received += message
    assert received == b''.join(sent)
    client.close()
    assert client.next() == ('close', 1000)
    assert server.join() is None
    assert server.result == len(received)


def test_tunnel_refuses_text():
    server = _serve_tunnel(_echo_bytes)
    server.client.send('SPDY frames are never text')
    assert server.client.until_close()[1] == 1003
    assert server.join() is None


def test_tunnel_close_from_the_server_side():
    def serve(tunnel):
        tunnel.write(b'bye')
        tunnel.close()
        with pytest.raises(OSError):
            tunnel.write(b'after close')
        return tunnel.read(10)

    server = _serve_tunnel(serve)
    messages, code = server.client.until_close()
    assert (messages, code) == ([b'bye'], 1000)
    assert server.join() is None
    assert server.result == b''


# The message layer.

def _serve_messages(**kwargs):
    received = []

    def run(transport):
        conn = websocket_conn.MessageConnection(
            transport, received.append, **kwargs).start()
        conn.wait(ws_fakes.DEADLINE)
        return conn
    return ws_fakes.Server(run), received


def test_oversized_message_is_refused():
    server, received = _serve_messages(max_message=10)
    server.client.send(b'small')
    server.client.send(b'x' * 11)
    assert server.client.until_close()[1] == 1009
    assert server.join() is None
    assert received == [b'small']


def test_idle_connection_is_closed():
    server, _ = _serve_messages(idle_timeout=0.05)
    assert server.client.until_close()[1] == 1001
    assert server.join() is None


def test_pipe_blocks_a_full_writer_until_read():
    pipe = websocket_conn.Pipe(limit=4)
    pipe.put(b'12345')
    putting = threading.Thread(target=pipe.put, args=(b'678',))
    putting.start()
    assert pipe.read(3) == b'123'
    assert pipe.read() == b'45'
    putting.join(ws_fakes.DEADLINE)
    assert pipe.read() == b'678'
    pipe.end()
    pipe.put(b'dropped')
    assert pipe.read() == b''


def test_pipe_that_drops_when_full():
    pipe = websocket_conn.Pipe(limit=2, drop_when_full=True)
    pipe.put(b'abc')
    pipe.put(b'dropped')
    pipe.end()
    assert pipe.read() == b'abc'
    assert pipe.read() == b''
