import threading

import pytest

from zun_vk.kubelet import spdy
from zun_vk.kubelet import spdy_session
from zun_vk.kubelet import spdy_streams
from zun_vk.tests.unit.kubelet import spdy_fakes


class PortForward:
    """serve_port_forward in a thread, against a scripted client."""

    def __init__(self, handler, **kwargs):
        self.client = spdy_fakes.Client()
        self.conns = []

        def record(conn):
            self.conns.append(conn)
            handler(conn)

        self.thread = threading.Thread(
            target=spdy_streams.serve_port_forward, daemon=True,
            args=(self.client.transport, record), kwargs=kwargs)
        self.thread.start()

    def stop(self):
        self.client.send(spdy.GoAway(0))
        self.thread.join(spdy_fakes.DEADLINE)
        assert not self.thread.is_alive()


def _echo(conn):
    while True:
        data = conn.read()
        if not data:
            return
        conn.write(data)


def test_each_error_and_data_pair_is_one_connection():
    run = PortForward(_echo)
    client = run.client
    client.open(1, streamtype='error', port='80', requestid='0')
    client.open(3, streamtype='error', port='443', requestid='1')
    client.open(5, streamtype='data', port='443', requestid='1')
    client.open(7, streamtype='data', port='80', requestid='0')
    client.data(5, b'to 443', fin=True)
    client.data(7, b'to 80', fin=True)
    assert client.wait_fin(5) == b'to 443'
    assert client.wait_fin(7) == b'to 80'
    # Done with a connection: FIN on its error stream too, with no message.
    assert client.wait_fin(1) == b''
    assert client.wait_fin(3) == b''
    assert sorted((c.request_id, c.port) for c in run.conns) == [
        ('0', 80), ('1', 443)]
    run.stop()


def test_clients_without_requestid_are_paired_by_stream_id():
    run = PortForward(_echo)
    client = run.client
    for error_id in (1, 5):
        client.open(error_id, streamtype='error', port='8080')
        client.open(error_id + 2, streamtype='data', port='8080')
        client.data(error_id + 2, b'id %d' % error_id, fin=True)
    assert client.wait_fin(3) == b'id 1'
    assert client.wait_fin(7) == b'id 5'
    assert sorted(c.request_id for c in run.conns) == ['1', '5']
    run.stop()


@pytest.mark.parametrize('headers', [
    {'streamtype': 'data'},
    {'streamtype': 'data', 'port': '0'},
    {'streamtype': 'data', 'port': '65536'},
    {'streamtype': 'data', 'port': 'http'},
    {'port': '80'},
    {'streamtype': 'stdin', 'port': '80'},
])
def test_streams_with_bad_headers_are_reset(headers):
    run = PortForward(_echo)
    run.client.open(1, **headers)
    run.client.wait_frame(spdy.RstStream, stream_id=1, status=spdy.CANCEL)
    run.stop()
    assert run.conns == []


def test_fail_writes_the_message_on_the_error_stream_and_closes():
    def handler(conn):
        conn.fail('connection refused')
        conn.fail('only once')
        conn.close()

    run = PortForward(handler, pod='p_default', uid='1234')
    run.client.open(1, streamtype='error', port='80', requestid='0')
    run.client.open(3, streamtype='data', port='80', requestid='0')
    assert run.client.wait_fin(1) == (
        b'error forwarding port 80 to pod p_default, uid 1234: '
        b'connection refused')
    assert run.client.wait_fin(3) == b''
    run.stop()


def test_a_failing_handler_fails_its_connection():
    def handler(conn):
        raise OSError('no route to the pod')

    run = PortForward(handler)
    run.client.open(1, streamtype='error', port='80', requestid='0')
    run.client.open(3, streamtype='data', port='80', requestid='0')
    assert run.client.wait_fin(1) == (
        b'error forwarding port 80: no route to the pod')
    run.stop()


def test_a_second_stream_of_one_type_is_reported_and_reset():
    run = PortForward(_echo)
    run.client.open(1, streamtype='error', port='80', requestid='0')
    run.client.open(3, streamtype='error', port='80', requestid='0')
    run.client.wait_frame(spdy.RstStream, stream_id=3)
    spdy_fakes.poll(lambda: run.client.data_on(1)[0] == (
        b'error processing stream for request 0: error stream already '
        b'assigned'), what='the error message')
    run.stop()


def test_half_pairs_time_out():
    run = PortForward(_echo, stream_timeout=0.05)
    run.client.open(1, streamtype='error', port='80', requestid='0')
    run.client.open(3, streamtype='data', port='80', requestid='1')
    assert run.client.wait_fin(1) == (
        b'timed out waiting for the streams of request 0')
    run.client.wait_frame(spdy.RstStream, stream_id=3)
    run.stop()
    assert run.conns == []


def test_writes_after_the_client_left_raise():
    written = threading.Event()
    outcome = []

    def handler(conn):
        written.wait(spdy_fakes.DEADLINE)
        try:
            conn.write(b'late')
        except OSError as exc:
            outcome.append(exc)

    run = PortForward(handler)
    run.client.open(1, streamtype='error', port='80', requestid='0')
    run.client.open(3, streamtype='data', port='80', requestid='0')
    spdy_fakes.poll(lambda: run.conns, what='the connection')
    run.client.transport.hang_up()
    run.thread.join(spdy_fakes.DEADLINE)
    assert not run.thread.is_alive()
    written.set()
    spdy_fakes.poll(lambda: outcome, what='the failed write')
    assert isinstance(outcome[0], spdy_session.StreamClosed)
