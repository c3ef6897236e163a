import json
import threading

import pytest

from zun_vk.kubelet import spdy
from zun_vk.kubelet import spdy_streams
from zun_vk.kubelet import streams
from zun_vk.tests.unit.kubelet import spdy_fakes

KUBECTL_132 = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io',
               'v2.channel.k8s.io', 'channel.k8s.io']


@pytest.mark.parametrize('kind, requested, chosen', [
    (streams.REMOTECOMMAND, KUBECTL_132, 'v5.channel.k8s.io'),
    (streams.REMOTECOMMAND, ['v4.channel.k8s.io,v3.channel.k8s.io'],
     'v4.channel.k8s.io'),
    (streams.REMOTECOMMAND, [' v9.channel.k8s.io , v3.channel.k8s.io ',
                             'v4.channel.k8s.io'], 'v3.channel.k8s.io'),
    (streams.REMOTECOMMAND, ['channel.k8s.io'], 'channel.k8s.io'),
    (streams.PORTFORWARD, ['portforward.k8s.io'], 'portforward.k8s.io'),
    (streams.PORTFORWARD, ['SPDY/3.1+portforward.k8s.io',
                           'portforward.k8s.io'], 'portforward.k8s.io'),
])
def test_negotiate_takes_the_clients_first_known_choice(kind, requested,
                                                        chosen):
    assert spdy_streams.negotiate(kind, requested) == chosen


def test_negotiate_refuses_with_the_accepted_list():
    with pytest.raises(streams.Refused) as refused:
        spdy_streams.negotiate(streams.PORTFORWARD,
                               ['v4.channel.k8s.io, v9'])
    assert refused.value.status == 403
    assert refused.value.headers == [
        ('X-Accepted-Stream-Protocol-Versions', 'portforward.k8s.io')]
    assert refused.value.message == (
        'unable to upgrade: unable to negotiate protocol: client supports '
        '[v4.channel.k8s.io v9], server accepts [portforward.k8s.io]')
    with pytest.raises(streams.Refused) as refused:
        spdy_streams.negotiate(streams.REMOTECOMMAND, ['v6.channel.k8s.io'])
    assert [value for _, value in refused.value.headers] == KUBECTL_132


@pytest.mark.parametrize('requested', [[], [''], [' , ']])
def test_negotiate_needs_a_requested_version(requested):
    with pytest.raises(streams.Refused) as refused:
        spdy_streams.negotiate(streams.REMOTECOMMAND, requested)
    assert refused.value.status == 400
    assert 'X-Stream-Protocol-Version is required' in refused.value.message


def test_negotiate_knows_two_kinds():
    with pytest.raises(ValueError):
        spdy_streams.negotiate('logs', ['v4.channel.k8s.io'])


def test_upgrade_headers():
    assert spdy_streams.upgrade_headers('v4.channel.k8s.io') == [
        ('Connection', 'Upgrade'), ('Upgrade', 'SPDY/3.1'),
        ('X-Stream-Protocol-Version', 'v4.channel.k8s.io')]


@pytest.mark.parametrize('connection, upgrade, expected', [
    ('Upgrade', 'SPDY/3.1', True),
    ('keep-alive, upgrade', 'spdy/3.1', True),
    ('Upgrade', 'websocket', False),
    (None, 'SPDY/3.1', False),
    ('Upgrade', None, False),
])
def test_is_spdy_upgrade(connection, upgrade, expected):
    assert spdy_streams.is_spdy_upgrade(connection, upgrade) is expected


@pytest.mark.parametrize('protocol, options, expected', [
    ('v4.channel.k8s.io', streams.ExecOptions(),
     {'error', 'stdout', 'stderr'}),
    ('v4.channel.k8s.io', streams.ExecOptions(stdin=True, tty=True),
     {'error', 'stdin', 'stdout', 'resize'}),
    ('v5.channel.k8s.io', streams.ExecOptions(stdout=False, stdin=True,
                                              stderr=False),
     {'error', 'stdin'}),
    ('v3.channel.k8s.io', streams.ExecOptions(tty=True),
     {'error', 'stdout', 'resize'}),
    # Terminal resizing came with v3.
    ('v2.channel.k8s.io', streams.ExecOptions(tty=True), {'error', 'stdout'}),
    ('channel.k8s.io', streams.ExecOptions(stdin=True, tty=True),
     {'error', 'stdin', 'stdout'}),
])
def test_expected_stream_types(protocol, options, expected):
    assert spdy_streams.expected_stream_types(protocol, options) == expected


class Exec:
    """serve_exec in a thread, against a scripted client."""

    def __init__(self, protocol, options, handler, **kwargs):
        self.client = spdy_fakes.Client()
        self.error = None
        self.thread = threading.Thread(
            target=self._run, daemon=True,
            args=(protocol, options, handler, kwargs))
        self.thread.start()

    def _run(self, protocol, options, handler, kwargs):
        try:
            spdy_streams.serve_exec(self.client.transport, protocol, options,
                                    handler, **kwargs)
        except Exception as exc:
            self.error = exc

    def join(self):
        self.thread.join(spdy_fakes.DEADLINE)
        assert not self.thread.is_alive()
        return self


def _open_exec_streams(client, *kinds):
    for index, kind in enumerate(kinds):
        client.open(2 * index + 1, streamtype=kind)


def _echo_then(exit_code=None, error=None):
    def handler(channels):
        while True:
            data = channels.read_stdin()
            if not data:
                break
            channels.write_stdout(data)
        channels.write_stderr(b'err\n')
        channels.finish(exit_code=exit_code, error=error)
    return handler


def test_v4_exec_reports_the_exit_code_as_a_status():
    run = Exec('v4.channel.k8s.io', streams.ExecOptions(stdin=True),
               _echo_then(exit_code=7), command=['false'])
    _open_exec_streams(run.client, 'error', 'stdin', 'stdout', 'stderr')
    run.client.data(3, b'hello')
    run.client.data(3, b'', fin=True)
    run.join()
    client = run.client
    assert client.data_on(5) == (b'hello', True)
    assert client.data_on(7) == (b'err\n', True)
    status = json.loads(client.data_on(1)[0])
    assert status['reason'] == 'NonZeroExitCode'
    assert status['details']['causes'] == [{'reason': 'ExitCode',
                                            'message': '7'}]
    assert status['message'] == ('command terminated with non-zero exit '
                                 'code: error executing command [false], '
                                 'exit code 7')
    # Our stdin side was still open: reset, as the kubelet's Close does.
    assert client.resets() == {3: spdy.CANCEL}
    assert client.received()[-1] == spdy.GoAway(7)
    assert run.error is None


@pytest.mark.parametrize('protocol, outcome, expected', [
    ('v3.channel.k8s.io', {'exit_code': 0}, b''),
    ('v2.channel.k8s.io', {'exit_code': 1},
     b'command terminated with non-zero exit code: exit code 1'),
    ('v5.channel.k8s.io', {'error': 'gone'},
     b'{"metadata":{},"status":"Failure","message":"Internal error '
     b'occurred: gone","reason":"InternalError","details":{"causes":'
     b'[{"message":"gone"}]},"code":500}'),
])
def test_outcome_per_protocol_version(protocol, outcome, expected):
    run = Exec(protocol, streams.ExecOptions(stderr=False),
               lambda channels: channels.finish(**outcome))
    _open_exec_streams(run.client, 'error', 'stdout')
    run.join()
    assert run.client.data_on(1) == (expected, True)


def test_v1_resets_the_error_stream_and_closes_our_stdin_at_once():
    started = threading.Event()
    release = threading.Event()

    def handler(channels):
        started.set()
        release.wait(spdy_fakes.DEADLINE)
        channels.finish(error='never seen by v1 clients')

    run = Exec('channel.k8s.io', streams.ExecOptions(stdin=True, tty=True),
               handler)
    _open_exec_streams(run.client, 'error', 'stdin', 'stdout')
    run.client.wait_frame(spdy.RstStream, stream_id=1)
    assert run.client.wait_fin(3) == b''
    assert started.wait(spdy_fakes.DEADLINE)
    release.set()
    run.join()
    assert run.client.data_on(1) == (b'', False)


def test_tty_exec_gets_resizes_and_no_stderr():
    seen = []

    def handler(channels):
        seen.extend(channels.resizes())
        channels.write_stderr(b'dropped')
        channels.finish(exit_code=0)

    run = Exec('v4.channel.k8s.io',
               streams.ExecOptions(stdin=True, stderr=True, tty=True),
               handler)
    _open_exec_streams(run.client, 'error', 'stdin', 'stdout', 'resize')
    run.client.data(7, b'{"Width":80,"Height":24}\n{"Width":100,')
    run.client.data(7, b'"Height":40}\n', fin=True)
    run.join()
    assert seen == [(80, 24), (100, 40)]
    assert run.client.data_on(1)[0] == b'{"metadata":{},"status":"Success"}'


def test_without_stdin_read_stdin_is_empty_at_once():
    results = []

    def handler(channels):
        results.append(channels.read_stdin())
        results.append(list(channels.resizes()))
        results.append(channels.closed())
        channels.finish()
        results.append(channels.closed())

    run = Exec('v4.channel.k8s.io', streams.ExecOptions(), handler)
    _open_exec_streams(run.client, 'error', 'stdout', 'stderr')
    run.join()
    assert results == [b'', [], False, True]


def test_streams_that_do_not_arrive_are_reported_on_the_error_stream():
    handler_ran = []
    run = Exec('v4.channel.k8s.io', streams.ExecOptions(stdin=True),
               handler_ran.append, stream_timeout=0.1)
    _open_exec_streams(run.client, 'error', 'stdout')
    run.join()
    assert isinstance(run.error, spdy_streams.StreamSetupError)
    assert 'missing stderr, stdin' in str(run.error)
    status = json.loads(run.client.data_on(1)[0])
    assert status['message'] == (
        'Internal error occurred: timed out waiting for the client to '
        'create streams: missing stderr, stdin')
    assert handler_ran == []


def test_a_client_that_leaves_before_its_streams():
    run = Exec('v4.channel.k8s.io', streams.ExecOptions(), None)
    run.client.open(1, streamtype='error')
    run.client.send(spdy.GoAway(0))
    run.join()
    assert 'went away' in str(run.error)


def test_unexpected_and_duplicate_streams_are_reset():
    run = Exec('v4.channel.k8s.io', streams.ExecOptions(stderr=False),
               lambda channels: channels.finish())
    _open_exec_streams(run.client, 'error', 'bogus', 'error', 'stdout')
    run.join()
    assert run.client.resets() == {3: spdy.CANCEL, 5: spdy.CANCEL}
    assert run.client.data_on(1)[1]


def test_a_failing_handler_reports_its_error_and_raises():
    def handler(channels):
        raise RuntimeError('the compute host is unreachable')

    run = Exec('v4.channel.k8s.io', streams.ExecOptions(stderr=False),
               handler)
    _open_exec_streams(run.client, 'error', 'stdout')
    run.join()
    assert isinstance(run.error, RuntimeError)
    assert json.loads(run.client.data_on(1)[0])['message'] == (
        'Internal error occurred: the compute host is unreachable')


def test_writes_after_the_client_left_are_dropped():
    def handler(channels):
        run.client.transport.hang_up()
        spdy_fakes.poll(channels.closed, what='the session to end')
        channels.write_stdout(b'nobody listens')
        channels.finish(exit_code=1)

    run = Exec('v4.channel.k8s.io', streams.ExecOptions(stderr=False),
               handler)
    _open_exec_streams(run.client, 'error', 'stdout')
    run.join()
    assert run.error is None
    assert run.client.data_on(5) == (b'', False)
