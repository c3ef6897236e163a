import threading

import pytest

from zun_vk.kubelet import spdy
from zun_vk.kubelet import spdy_session
from zun_vk.tests.unit.kubelet import spdy_fakes
from zun_vk.tests.unit.kubelet.spdy_fakes import poll


@pytest.fixture
def client():
    return spdy_fakes.Client()


@pytest.fixture
def session(client):
    session = spdy_session.Session(client.transport).start()
    yield session
    session.close()


def _in_thread(target, *args):
    result = {}

    def run():
        result['value'] = target(*args)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_a_client_stream_is_answered_and_accepted(client, session):
    client.open(1, streamtype='error')
    stream = session.accept(spdy_fakes.DEADLINE)
    assert stream.id == 1
    assert stream.headers == {'streamtype': ['error']}
    assert stream.header('StreamType') == 'error'
    assert stream.header('port') is None
    assert client.wait_frame(spdy.SynReply, stream_id=1).headers == {}


def test_data_is_read_in_order_until_fin(client, session):
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    client.data(1, b'hello ')
    client.data(1, b'world', fin=True)
    assert stream.read(3) == b'hel'
    assert stream.read() == b'lo '
    assert stream.read() == b'world'
    assert stream.read() == b''
    assert stream.remote_closed
    # Our side stays open after the client's FIN.
    stream.write(b'reply')
    poll(lambda: client.data_on(1)[0] == b'reply', what='reply data')


def test_writes_are_cut_in_32k_frames_and_one_fin(client, session):
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    stream.write(b'x' * (70 << 10))
    stream.close()
    stream.close()
    assert client.wait_fin(1) == b'x' * (70 << 10)
    data = [f for f in client.received() if isinstance(f, spdy.Data)]
    assert [len(f.data) for f in data] == [32 << 10, 32 << 10, 6 << 10, 0]
    assert [f.flags for f in data] == [0, 0, 0, spdy.FLAG_FIN]
    with pytest.raises(spdy_session.StreamClosed):
        stream.write(b'late')


def test_client_reset_ends_both_directions(client, session):
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    thread, result = _in_thread(stream.read)
    client.send(spdy.RstStream(1, spdy.CANCEL))
    thread.join(spdy_fakes.DEADLINE)
    assert result['value'] == b''
    assert stream.was_reset
    with pytest.raises(spdy_session.StreamClosed):
        stream.write(b'x')
    # A reset stream says nothing more, not even RST.
    stream.reset()
    assert client.resets() == {}


def test_our_reset_says_cancel_unless_we_already_finished(client, session):
    client.open(1)
    client.open(3)
    first = session.accept(spdy_fakes.DEADLINE)
    second = session.accept(spdy_fakes.DEADLINE)
    first.reset()
    second.close()
    second.reset()
    client.wait_fin(3)
    client.wait_frame(spdy.RstStream, stream_id=1)
    assert client.resets() == {1: spdy.CANCEL}
    assert first.read() == b''


def test_client_pings_are_echoed_and_others_ignored(client, session):
    client.send(spdy.Ping(2), spdy.Ping(7))
    client.wait_frame(spdy.Ping, ping_id=7)
    assert [f.ping_id for f in client.received()
            if isinstance(f, spdy.Ping)] == [7]


def test_settings_window_update_and_headers_are_ignored(client, session):
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    client.send(spdy.Settings([(0, 7, 1 << 20)]), spdy.WindowUpdate(1, 10),
                spdy.Headers(1, {'x': ['y']}), spdy.Data(1, b'still here'))
    assert stream.read() == b'still here'
    # HEADERS with FIN half-closes like DATA with FIN.
    client.send(spdy.Headers(1, {}, flags=spdy.FLAG_FIN))
    assert stream.read() == b''


# Client streams have odd ids, each above the last.
@pytest.mark.parametrize('stream_id', [4, 1, 3])
def test_bad_stream_ids_are_refused_with_protocol_error(client, session,
                                                        stream_id):
    client.open(3)
    session.accept(spdy_fakes.DEADLINE)
    client.open(stream_id)
    client.wait_frame(spdy.RstStream, stream_id=stream_id)
    assert client.resets()[stream_id] == spdy.PROTOCOL_ERROR
    assert session.accept(0) is None


def test_validate_stream_refusal_resets_without_reply(client):
    session = spdy_session.Session(
        client.transport,
        validate_stream=lambda h: None if 'port' in h else 'no port').start()
    client.open(1)
    client.open(3, port='80')
    assert session.accept(spdy_fakes.DEADLINE).id == 3
    assert client.resets() == {1: spdy.CANCEL}
    assert [f.stream_id for f in client.received()
            if isinstance(f, spdy.SynReply)] == [3]
    session.close()


def test_refuse_new_streams(client, session):
    session.refuse_new_streams()
    client.open(1)
    client.wait_frame(spdy.RstStream, stream_id=1,
                      status=spdy.REFUSED_STREAM)


def test_fin_in_syn_stream_and_unidirectional(client, session):
    client.open(1, flags=spdy.FLAG_FIN | spdy.FLAG_UNIDIRECTIONAL)
    stream = session.accept(spdy_fakes.DEADLINE)
    assert stream.read() == b''
    with pytest.raises(spdy_session.StreamClosed):
        stream.write(b'x')


def test_client_goaway_ends_the_session_and_wakes_readers(client, session):
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    thread, result = _in_thread(stream.read)
    accepting, accepted = _in_thread(session.accept)
    client.send(spdy.GoAway(1))
    assert session.wait(spdy_fakes.DEADLINE)
    thread.join(spdy_fakes.DEADLINE)
    accepting.join(spdy_fakes.DEADLINE)
    assert result['value'] == b''
    assert accepted['value'] is None
    assert client.transport.closed


def test_end_of_file_ends_the_session(client, session):
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    client.transport.hang_up()
    assert session.wait(spdy_fakes.DEADLINE)
    assert stream.read() == b''
    with pytest.raises(spdy_session.StreamClosed):
        stream.write(b'x')


def test_a_malformed_frame_says_goaway_protocol_error(client, session):
    client.transport.feed(b'\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01')
    assert session.wait(spdy_fakes.DEADLINE)
    goaway = client.wait_frame(spdy.GoAway)
    assert goaway.status == spdy.GOAWAY_PROTOCOL_ERROR


def test_close_resets_open_streams_says_goaway_and_wakes_everyone(client):
    session = spdy_session.Session(client.transport).start()
    client.open(1)
    client.open(3)
    first = session.accept(spdy_fakes.DEADLINE)
    second = session.accept(spdy_fakes.DEADLINE)
    second.close()
    reading, result = _in_thread(first.read)
    session.close()
    reading.join(spdy_fakes.DEADLINE)
    assert result['value'] == b''
    assert session.ended and client.transport.closed
    assert client.resets() == {1: spdy.CANCEL}
    assert client.received()[-1] == spdy.GoAway(3, spdy.GOAWAY_OK)
    assert session.accept() is None
    session.close()


def test_close_does_not_wait_past_linger_for_a_client_that_stays():
    client = spdy_fakes.Client(hang_up_on_goaway=False)
    session = spdy_session.Session(client.transport, linger=0.01).start()
    session.close()
    assert session.ended and client.transport.closed


def test_a_full_buffer_stops_reading_the_transport_until_drained(client):
    session = spdy_session.Session(client.transport, max_buffered=4).start()
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    client.data(1, b'abcd')
    client.data(1, b'efgh')
    client.send(spdy.Ping(1))
    # The reader holds the second frame, waiting for room ...
    poll(lambda: len(stream._cond._waiters) == 1, what='a blocked reader')
    # ... and so leaves the PING unread in the transport.
    assert client.transport.pending() == 1
    assert stream.read() == b'abcd'
    client.wait_frame(spdy.Ping, ping_id=1)
    assert stream.read() == b'efgh'
    session.close()


def test_close_wakes_a_reader_blocked_on_a_full_buffer(client):
    session = spdy_session.Session(client.transport, max_buffered=1).start()
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    client.data(1, b'a')
    client.data(1, b'b')
    poll(lambda: len(stream._cond._waiters) == 1, what='a blocked reader')
    session.close()
    assert session.ended


def test_idle_session_is_closed():
    client = spdy_fakes.Client()
    session = spdy_session.Session(client.transport,
                                   idle_timeout=0.05).start()
    assert session.wait(spdy_fakes.DEADLINE)
    client.wait_frame(spdy.GoAway)


def test_write_failure_ends_the_session(client, session):
    client.open(1)
    stream = session.accept(spdy_fakes.DEADLINE)
    client.transport.close()
    with pytest.raises(spdy_session.StreamClosed):
        stream.write(b'x')
    assert session.wait(spdy_fakes.DEADLINE)


def test_serve_in_the_calling_thread(client):
    session = spdy_session.Session(client.transport)
    thread = threading.Thread(target=session.serve, daemon=True)
    thread.start()
    client.open(1)
    assert session.accept(spdy_fakes.DEADLINE).id == 1
    session.close()
    thread.join(spdy_fakes.DEADLINE)
    assert not thread.is_alive()
