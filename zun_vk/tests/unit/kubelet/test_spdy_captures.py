"""What real kubectl 1.32 sends (see data/README) decodes as expected."""

import os
import threading

import pytest

from zun_vk.kubelet import spdy
from zun_vk.kubelet import spdy_streams
from zun_vk.kubelet import streams
from zun_vk.tests.unit.kubelet import spdy_fakes

DATA = os.path.join(os.path.dirname(__file__), 'data')


def _capture(name):
    with open(os.path.join(DATA, name)) as source:
        return bytes.fromhex(source.read())


def _frames(name):
    return spdy.FrameDecoder().feed(_capture(name))


def _summary(frames):
    out = []
    for frame in frames:
        if isinstance(frame, spdy.SynStream):
            out.append(('SYN', frame.stream_id, frame.headers))
        elif isinstance(frame, spdy.Data):
            out.append(('DATA', frame.stream_id, frame.data, frame.flags))
        else:
            out.append(frame)
    return out


def test_exec_with_stdin():
    assert _summary(_frames('kubectl-1.32-exec-stdin.hex')) == [
        ('SYN', 1, {'streamtype': ['error']}),
        ('SYN', 3, {'streamtype': ['stdin']}),
        ('SYN', 5, {'streamtype': ['stdout']}),
        ('SYN', 7, {'streamtype': ['stderr']}),
        ('DATA', 3, b'hello\n', 0),
        # stdin EOF is FIN on the stdin stream.
        ('DATA', 3, b'', spdy.FLAG_FIN),
    ]


def test_exec_with_a_terminal_sends_resize_json_and_no_stderr():
    frames = _summary(_frames('kubectl-1.32-exec-tty.hex'))
    assert frames[:4] == [
        ('SYN', 1, {'streamtype': ['error']}),
        ('SYN', 3, {'streamtype': ['stdin']}),
        ('SYN', 5, {'streamtype': ['stdout']}),
        ('SYN', 7, {'streamtype': ['resize']}),
    ]
    resize = [f[2] for f in frames if f[0] == 'DATA' and f[1] == 7]
    assert resize == [b'{"Width":80,"Height":24}\n']
    stdin = b''.join(f[2] for f in frames if f[0] == 'DATA' and f[1] == 3)
    assert stdin.startswith(b'hi\n') and stdin.endswith(b'\x04')


def test_port_forward_pairs_error_and_data_by_requestid():
    assert _summary(_frames('kubectl-1.32-port-forward.hex')) == [
        ('SYN', 1, {'streamtype': ['error'], 'port': ['80'],
                    'requestid': ['0']}),
        # kubectl never writes on the error stream: FIN at once.
        ('DATA', 1, b'', spdy.FLAG_FIN),
        ('SYN', 3, {'streamtype': ['data'], 'port': ['80'],
                    'requestid': ['0']}),
        ('DATA', 3, b'ping\n', 0),
        ('DATA', 3, b'', spdy.FLAG_FIN),
    ]


@pytest.mark.parametrize('name', sorted(os.listdir(DATA)))
def test_captures_decode_whatever_the_read_sizes(name):
    if not name.endswith('.hex'):
        return
    wire = _capture(name)
    decoder = spdy.FrameDecoder()
    frames = []
    for start in range(0, len(wire), 7):
        frames += decoder.feed(wire[start:start + 7])
    assert frames == _frames(name)


def test_a_session_serves_the_captured_exec():
    client = spdy_fakes.Client()
    client.transport.feed(_capture('kubectl-1.32-exec-stdin.hex'))
    seen = {}

    def handler(channels):
        seen['stdin'] = b''
        while True:
            data = channels.read_stdin()
            if not data:
                break
            seen['stdin'] += data
        channels.finish(exit_code=0)

    spdy_streams.serve_exec(
        client.transport, 'v5.channel.k8s.io',
        streams.ExecOptions(stdin=True), handler)
    assert seen['stdin'] == b'hello\n'
    replies = [f.stream_id for f in client.received()
               if isinstance(f, spdy.SynReply)]
    assert replies == [1, 3, 5, 7]
    assert client.data_on(1) == (b'{"metadata":{},"status":"Success"}', True)
    assert client.transport.closed
    assert isinstance(client.received()[-1], spdy.GoAway)


def test_a_session_serves_the_captured_port_forward():
    client = spdy_fakes.Client()
    client.transport.feed(_capture('kubectl-1.32-port-forward.hex'))
    conns = []

    def handler(conn):
        conns.append(conn)
        conn.write(conn.read().upper())

    thread = threading.Thread(target=spdy_streams.serve_port_forward,
                              args=(client.transport, handler))
    thread.start()
    assert client.wait_fin(3) == b'PING\n'
    assert client.wait_fin(1) == b''
    assert conns[0].port == 80 and conns[0].request_id == '0'
    client.transport.hang_up()
    thread.join(spdy_fakes.DEADLINE)
    assert not thread.is_alive()
    assert client.transport.closed
