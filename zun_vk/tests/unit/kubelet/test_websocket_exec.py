"""exec and attach over the WebSocket channel protocols, message by message.

The client is wsproto on a socketpair; the server is serve_exec on a
SocketTransport, as the kubelet server runs it.
"""

import base64
import json
import threading

import pytest
from wsproto import events as ws_events

from zun_vk.kubelet import streams
from zun_vk.kubelet import websocket_streams
from zun_vk.tests.unit.kubelet import ws_fakes

ALL = streams.ExecOptions(stdin=True, stdout=True, stderr=True)
SUCCESS = {'metadata': {}, 'status': 'Success'}
EXIT_7 = {
    'metadata': {}, 'status': 'Failure',
    'message': 'command terminated with non-zero exit code: error '
               'executing command [sh -c x], exit code 7',
    'reason': 'NonZeroExitCode',
    'details': {'causes': [{'reason': 'ExitCode', 'message': '7'}]}}
BINARY = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io', '']
BASE64 = ['v4.base64.channel.k8s.io', 'base64.channel.k8s.io']


def _serve(protocol, handler, options=ALL, **kwargs):
    kwargs.setdefault('command', ['sh', '-c', 'x'])
    return ws_fakes.Server(lambda transport: websocket_streams.serve_exec(
        transport, protocol, options, handler, **kwargs))


def _frame(protocol, channel, data):
    return websocket_streams.encode(
        channel, data, websocket_streams.REMOTECOMMAND_PROTOCOLS[protocol][1])


def _unframe(protocol, message):
    return websocket_streams.decode(
        message, websocket_streams.REMOTECOMMAND_PROTOCOLS[protocol][1])


def _echo_once(exit_code):
    # Without v5's close signal a client cannot end stdin and stay: read
    # one message, answer, finish.
    def handler(channels):
        data = channels.read_stdin()
        channels.write_stdout(data.upper())
        channels.write_stderr(b'to stderr')
        channels.finish(exit_code=exit_code)
    return handler


@pytest.mark.parametrize('protocol', BINARY + BASE64)
@pytest.mark.parametrize('exit_code', [0, 7])
def test_session_framing_and_status(protocol, exit_code):
    server = _serve(protocol, _echo_once(exit_code))
    client = server.client
    client.send(_frame(protocol, 0, b'hello'))
    messages, code = client.until_close()
    assert server.join() is None
    decoded = [_unframe(protocol, message) for message in messages]
    if protocol in BASE64:
        assert all(isinstance(message, str) for message in messages)
    else:
        assert all(isinstance(message, bytes) for message in messages)
    # The empty message on stdout says the session is up.
    assert decoded[:3] == [(1, b''), (1, b'HELLO'), (2, b'to stderr')]
    version = websocket_streams.REMOTECOMMAND_PROTOCOLS[protocol][0]
    if version >= 4:
        expected = EXIT_7 if exit_code else SUCCESS
        assert decoded[3][0] == 3
        assert json.loads(decoded[3][1]) == expected
        assert len(decoded) == 4
    elif exit_code:
        # Before v4 the error channel carries the message as text.
        assert decoded[3:] == [(3, EXIT_7['message'].encode())]
    else:
        # ...and nothing at all on success.
        assert decoded[3:] == []
    assert code == 1000


def test_status_json_is_written_as_go_writes_it():
    server = _serve('v4.channel.k8s.io', _echo_once(7))
    server.client.send(b'\x00x')
    messages, _ = server.client.until_close()
    assert messages[-1] == (
        b'\x03{"metadata":{},"status":"Failure","message":"command '
        b'terminated with non-zero exit code: error executing command '
        b'[sh -c x], exit code 7","reason":"NonZeroExitCode","details":'
        b'{"causes":[{"reason":"ExitCode","message":"7"}]}}')


@pytest.mark.parametrize('protocol, expected', [
    ('v5.channel.k8s.io', None),
    ('channel.k8s.io',
     b'\x03Internal error occurred: the compute host cannot be reached'),
])
def test_failure_with_a_sentence(protocol, expected):
    def handler(channels):
        channels.finish(error='the compute host cannot be reached')

    server = _serve(protocol, handler)
    messages, _ = server.client.until_close()
    assert server.join() is None
    if expected is None:
        status = json.loads(messages[-1][1:])
        assert status == {
            'metadata': {}, 'status': 'Failure', 'code': 500,
            'reason': 'InternalError',
            'message': 'Internal error occurred: the compute host '
                       'cannot be reached',
            'details': {'causes': [
                {'message': 'the compute host cannot be reached'}]}}
    else:
        assert messages[-1] == expected


def test_a_failing_handler_reports_and_raises():
    def handler(channels):
        raise RuntimeError('engine exploded')

    server = _serve('v5.channel.k8s.io', handler)
    messages, _ = server.client.until_close()
    assert isinstance(server.join(), RuntimeError)
    assert json.loads(messages[-1][1:])['message'] == (
        'Internal error occurred: engine exploded')


@pytest.mark.parametrize('options, channel', [
    (streams.ExecOptions(stdin=True, stdout=True, stderr=True), 1),
    (streams.ExecOptions(stdin=True, stdout=False, stderr=True), 2),
    (streams.ExecOptions(stdin=True, stdout=False, stderr=False), 3),
    # A terminal has no stderr.
    (streams.ExecOptions(stdin=True, stdout=False, stderr=True, tty=True),
     3),
])
def test_first_message_on_the_lowest_output_channel(options, channel):
    def handler(channels):
        channels.write_stdout(b'out')
        channels.write_stderr(b'err')
        channels.finish(exit_code=0)

    server = _serve('v5.channel.k8s.io', handler, options)
    messages, _ = server.client.until_close()
    assert messages[0] == bytes([channel])
    # Channels the client did not ask for stay silent.
    sent = [message[0] for message in messages[1:]]
    assert (1 in sent) == options.stdout
    assert (2 in sent) == (options.stderr and not options.tty)


def test_v5_close_signal_ends_stdin_and_the_session_goes_on():
    def handler(channels):
        received = b''
        while True:
            data = channels.read_stdin()
            if not data:
                break
            received += data
        assert not channels.closed()
        channels.write_stdout(received)
        channels.finish(exit_code=0)

    server = _serve('v5.channel.k8s.io', handler)
    client = server.client
    client.send(b'\x00hello ')
    client.send(b'\x00world')
    client.send(b'\xff\x00')
    # Ignored after the close signal.
    client.send(b'\x00late')
    messages, code = client.until_close()
    assert server.join() is None
    assert messages[:2] == [b'\x01', b'\x01hello world']
    assert code == 1000


def test_without_v5_the_close_signal_is_data_on_channel_255():
    seen = []

    def handler(channels):
        seen.append(channels.read_stdin())
        channels.finish(exit_code=0)

    server = _serve('v4.channel.k8s.io', handler)
    server.client.send(b'\xff\x00')
    server.client.send(b'\x00after')
    server.client.until_close()
    assert seen == [b'after']


@pytest.mark.parametrize('signal', [b'\xff', b'\xff\x00\x00', b'\xff\x05'])
def test_a_bad_close_signal_ends_the_session(signal):
    ended = threading.Event()

    def handler(channels):
        assert channels.read_stdin() == b''
        ended.set()

    server = _serve('v5.channel.k8s.io', handler)
    server.client.send(signal)
    messages, code = server.client.until_close()
    assert code == 1002
    assert server.join() is None
    assert ended.is_set()


@pytest.mark.parametrize('how', ['close', 'hang_up'])
def test_end_of_stream_when_the_client_goes_away(how):
    outcome = {}

    def handler(channels):
        outcome['stdin'] = channels.read_stdin()
        # The client is gone: writes are dropped, not raised.
        channels.write_stdout(b'nobody reads this')
        outcome['closed'] = channels.closed()
        outcome['resizes'] = list(channels.resizes())
        channels.finish(exit_code=0)

    server = _serve('v4.channel.k8s.io', handler,
                    streams.ExecOptions(stdin=True, tty=True))
    assert server.client.message() == b'\x01'
    if how == 'close':
        server.client.close()
        assert server.client.next() == ('close', 1000)
    else:
        server.client.hang_up()
    assert server.join() is None
    assert outcome == {'stdin': b'', 'closed': True, 'resizes': []}


def test_client_leaving_mid_output():
    def handler(channels):
        while not channels.closed():
            channels.write_stdout(b'x' * 4096)
        channels.finish(exit_code=0)

    server = _serve('v5.channel.k8s.io', handler)
    for _ in range(5):
        server.client.message()
    server.client.hang_up()
    assert server.join() is None


def test_stdin_not_asked_for_reads_empty_and_is_ignored():
    seen = []

    def handler(channels):
        seen.append(channels.read_stdin())
        channels.finish(exit_code=0)

    server = _serve('v5.channel.k8s.io', handler,
                    streams.ExecOptions(stdout=True))
    server.client.send(b'\x00ignored')
    server.client.until_close()
    assert seen == [b'']


def test_base64_stdin_and_garbage():
    seen = []

    def handler(channels):
        seen.append(channels.read_stdin())
        channels.finish(exit_code=0)

    server = _serve('base64.channel.k8s.io', handler)
    server.client.send('0!!not base64!!')
    server.client.send(b'9' + base64.b64encode(b'no such channel'))
    server.client.send('0' + base64.b64encode(b'\x00\xffbinary').decode())
    server.client.until_close()
    assert seen == [b'\x00\xffbinary']


@pytest.mark.parametrize('protocol', ['v5.channel.k8s.io',
                                      'v4.base64.channel.k8s.io'])
def test_terminal_resizes(protocol):
    sizes = []

    def handler(channels):
        sizes.extend(channels.resizes())
        channels.finish(exit_code=0)

    tty = streams.ExecOptions(stdin=True, stdout=True, tty=True)
    server = _serve(protocol, handler, tty)
    client = server.client
    client.send(_frame(protocol, 4, b'{"Width":80,"Height":24}'))
    # A size cut in two messages, two in one, Go's case-blind names.
    client.send(_frame(protocol, 4, b'{"Width":100,'))
    client.send(_frame(protocol, 4, b'"Height":30}{"width":1,"height":2}'))
    if protocol.startswith('v5'):
        client.send(b'\xff\x04')
    else:
        client.close()
    client.until_close()
    assert server.join() is None
    assert sizes == [(80, 24), (100, 30), (1, 2)]


def test_no_resizes_without_a_terminal():
    result = []

    def handler(channels):
        result.append(list(channels.resizes()))
        channels.finish(exit_code=0)

    server = _serve('v5.channel.k8s.io', handler)
    server.client.send(b'\x04{"Width":80,"Height":24}')
    server.client.until_close()
    assert result == [[]]


def test_ping_is_answered_mid_session():
    release = threading.Event()

    def handler(channels):
        release.wait(ws_fakes.DEADLINE)
        channels.finish(exit_code=0)

    server = _serve('v5.channel.k8s.io', handler)
    client = server.client
    assert client.message() == b'\x01'
    client.send_event(ws_events.Ping(payload=b'heartbeat'))
    assert client.next() == ('pong', b'heartbeat')
    release.set()
    assert client.until_close()[1] == 1000
    assert server.join() is None


def test_fragmented_messages_are_put_back_together():
    seen = []

    def handler(channels):
        seen.append(channels.read_stdin())
        channels.finish(exit_code=0)

    server = _serve('v5.channel.k8s.io', handler)
    client = server.client
    client.send_event(ws_events.BytesMessage(data=b'\x00frag',
                                             message_finished=False))
    client.send_event(ws_events.Ping(payload=b'between'))
    client.send_event(ws_events.BytesMessage(data=b'mented'))
    messages, _ = client.until_close()
    assert seen == [b'fragmented']


def test_unmasked_frame_is_a_protocol_error():
    def handler(channels):
        assert channels.read_stdin() == b''

    server = _serve('v5.channel.k8s.io', handler)
    # A binary frame without the mask every client frame must carry.
    server.client.sock.sendall(b'\x82\x02\x00x')
    messages, code = server.client.until_close()
    assert code == 1002
    assert server.join() is None


def test_stream_timeout_is_accepted_for_spdy_parity():
    server = _serve('v5.channel.k8s.io',
                    lambda channels: channels.finish(exit_code=0),
                    stream_timeout=0.001)
    assert server.client.until_close()[1] == 1000
    assert server.join() is None
