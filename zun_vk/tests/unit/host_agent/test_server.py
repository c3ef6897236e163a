"""The agent's HTTPS server: who gets in, and what they get.

A real server on 127.0.0.1 with certificates made for the test and a
fake engine; requests made by hand (to try what zun-vk would never send)
or through AgentClient.
"""

import ssl

import pytest

from zun_vk.host_agent import service
from zun_vk.hostlink import framing
from zun_vk.hostlink import tickets
from zun_vk.tests import pki
from zun_vk.tests.unit.host_agent import fakes

CAPSULE, MEMBER, HOST = fakes.CAPSULE, fakes.MEMBER, fakes.HOST
LOGS = '/v1/capsules/%s/containers/%s/logs' % (CAPSULE, MEMBER)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return pki.Files(tmp_path_factory.mktemp('pki'))


@pytest.fixture
def agent(files):
    agent = fakes.start_agent(files)
    yield agent
    agent.stop()


def port_of(agent):
    return agent.address[1]


def ticket(files, op='logs', host=HOST, capsule=CAPSULE, container=MEMBER,
           key=None, **kwargs):
    key = key or tickets.load_private_key(files.ticket_private)
    return tickets.sign(key, op, host, capsule, container=container,
                        **kwargs)


def get(agent, files, path=LOGS, ticket_text=None, **kwargs):
    headers = kwargs.pop('headers', [])
    if ticket_text is not None:
        headers = headers + [('X-Zun-VK-Ticket', ticket_text)]
    return fakes.raw_request(port_of(agent), files, path, headers=headers,
                             **kwargs)


# -- who gets in -------------------------------------------------------


def test_healthz_needs_only_the_client_certificate(agent, files):
    assert get(agent, files, '/healthz') == (200, 'ok\n')


@pytest.mark.parametrize('cert', [None, 'rogue_client'])
def test_tls_refuses_clients_without_a_certificate_of_the_ca(agent, files,
                                                             cert):
    with pytest.raises((ssl.SSLError, OSError)):
        get(agent, files, '/healthz', cert=cert)


def test_certificate_with_another_name_is_forbidden(agent, files):
    status, body = get(agent, files, '/healthz', cert='other_client')
    assert status == 403
    assert 'mallory' in body and 'allowed_clients' in body


def test_agent_server_certificate_is_no_client(agent, files):
    # Same CA, but a server certificate: OpenSSL refuses it for client
    # authentication (extended key usage), else the name check would.
    try:
        status, _ = get(agent, files, '/healthz', cert='agent')
    except (ssl.SSLError, OSError):
        return
    assert status == 403


def test_request_without_ticket_is_unauthorized(agent, files):
    status, body = get(agent, files)
    assert (status, body) == (401, 'no ticket\n')
    assert agent.engine.log_calls == []


@pytest.mark.parametrize('make,status,reason', [
    (lambda f: ticket(f, key=tickets.load_private_key(
        f.other_ticket_private)), 401, 'signature'),
    (lambda f: ticket(f, host='compute2'), 403, 'host compute2'),
    (lambda f: ticket(f, container=fakes.OTHER_MEMBER), 403, 'container'),
    (lambda f: ticket(f, capsule=fakes.UNKNOWN_CAPSULE), 403, 'capsule'),
    (lambda f: ticket(f, op='exec', command=['ls']), 403, 'operation'),
    (lambda f: ticket(f, now=1), 401, 'expired'),
])
def test_bad_tickets_are_refused(agent, files, make, status, reason):
    got, body = get(agent, files, ticket_text=make(files))
    assert got == status
    assert reason in body
    assert agent.engine.log_calls == []


def test_replayed_ticket_is_forbidden(agent, files):
    logs = fakes.FakeLogs()
    logs.chunks.put(None)
    agent.engine.logs_to_serve.put(logs)
    once = ticket(files)
    assert get(agent, files, ticket_text=once)[0] == 200
    assert get(agent, files, ticket_text=once) == (
        403, 'ticket was already used\n')


def test_upgrade_operations_need_the_upgrade_headers(agent, files):
    path = '/v1/capsules/%s/portforward?port=80' % CAPSULE
    status, body = get(agent, files, path, method='POST', ticket_text=ticket(
        files, 'portforward', container=None, port=80))
    assert status == 426
    assert agent.engine.connect_calls == []


def test_unknown_path_is_404_even_before_the_ticket(agent, files):
    assert get(agent, files, '/v1/secrets')[0] == 404


# -- what they get -----------------------------------------------------


@pytest.fixture
def client(files, agent):
    return fakes.client_for(files, {HOST: agent})


def test_logs_arrive_chunk_by_chunk(agent, client):
    logs = fakes.FakeLogs()
    agent.engine.logs_to_serve.put(logs)
    stream = client.logs(HOST, CAPSULE, MEMBER, follow=True, tail_lines=5,
                         since=1700000000.25, timestamps=True,
                         limit_bytes=1000)
    chunks = iter(stream)
    logs.chunks.put(b'first line\n')
    assert next(chunks) == b'first line\n'
    logs.chunks.put(b'second line\n')
    assert next(chunks) == b'second line\n'
    logs.chunks.put(None)
    assert list(chunks) == []
    assert agent.engine.log_calls == [(MEMBER, {
        'follow': True, 'tail': 5, 'since': 1700000000.25,
        'timestamps': True, 'limit_bytes': 1000})]


def test_closing_a_followed_log_ends_it_on_the_agent(agent, client):
    logs = fakes.FakeLogs()
    agent.engine.logs_to_serve.put(logs)
    stream = client.logs(HOST, CAPSULE, MEMBER, follow=True)
    chunks = iter(stream)
    logs.chunks.put(b'x\n')
    assert next(chunks) == b'x\n'
    stream.close()
    logs.chunks.put(b'after close\n')
    assert logs.closed.wait(30)


def test_container_of_another_capsule_is_not_found(agent, client):
    with pytest.raises(fakes.client_mod.AgentError) as info:
        client.logs(HOST, CAPSULE, fakes.UNKNOWN_CAPSULE)
    assert info.value.status == 404
    assert 'is not in capsule' in info.value.message


def engine_frame(stream, payload):
    from zun_vk.host_agent import hijack
    return hijack.ENGINE_HEADER.pack(stream, len(payload)) + payload


def test_exec_separates_stdout_and_stderr_and_reports_the_exit_code(
        agent, client):
    stream = fakes.FakeStream([engine_frame(1, b'out\n'),
                               engine_frame(2, b'err\n'), b''])
    agent.engine.processes.put(fakes.FakeProcess(stream, demultiplex=True,
                                                 exit_code=7))
    session = client.exec(HOST, CAPSULE, MEMBER, ['sh', '-c', 'exit 7'])
    assert list(session.events()) == [('stdout', b'out\n'),
                                      ('stderr', b'err\n'), ('exit', 7)]
    assert agent.engine.exec_calls == [(MEMBER, ['sh', '-c', 'exit 7'],
                                        False, False)]


def test_exec_stdin_reaches_the_process_and_its_eof_too(agent, client):
    stream = fakes.FakeStream(echo=True)
    agent.engine.processes.put(fakes.FakeProcess(stream))
    session = client.exec(HOST, CAPSULE, MEMBER, ['cat'], stdin=True)
    session.send_stdin(b'hello ')
    session.send_stdin(b'world')
    session.close_stdin()
    output = b''
    for kind, value in session.events():
        if kind == 'stdout':
            output += value
        else:
            assert (kind, value) == ('exit', 0)
    assert output == b'hello world'
    assert stream.stdin_closed.is_set()


def test_tty_resizes_reach_the_process(agent, client):
    stream = fakes.FakeStream()
    process = fakes.FakeProcess(stream)
    agent.engine.processes.put(process)
    session = client.exec(HOST, CAPSULE, MEMBER, ['sh'], stdin=True,
                          tty=True)
    session.resize(100, 30)
    assert process.resizes.get(timeout=30) == (100, 30)
    stream.output.put(b'$ ')
    stream.output.put(b'')
    assert list(session.events()) == [('stdout', b'$ '), ('exit', 0)]
    assert agent.engine.exec_calls[-1][2:] == (True, True)


def test_client_going_away_closes_the_engine_stream(agent, client):
    stream = fakes.FakeStream()
    agent.engine.processes.put(fakes.FakeProcess(stream))
    session = client.attach(HOST, CAPSULE, MEMBER, stdin=True)
    session.close()
    assert stream.closed.wait(30)
    assert agent.engine.exec_calls == [(MEMBER, 'attach', True)]


def test_port_forward_relays_both_ways_with_half_close(agent, client):
    import socket
    inside, target = socket.socketpair()
    agent.engine.targets.put(target)
    with inside:
        stream = client.port_forward(HOST, CAPSULE, 8080)
        stream.sendall(b'ping')
        stream.shutdown_write()
        received = b''
        while True:
            data = inside.recv(100)
            if not data:
                break
            received += data
        assert received == b'ping'
        inside.sendall(b'pong')
        inside.shutdown(socket.SHUT_WR)
        answer = b''
        while True:
            data = stream.recv(2)
            if not data:
                break
            answer += data
        assert answer == b'pong'
        stream.close()
    assert agent.engine.connect_calls == [(CAPSULE, 8080)]


def test_port_forward_to_nothing_is_a_502(agent, client):
    from zun_vk.host_agent import base
    agent.engine.targets.put(base.EngineError(
        'cannot connect to port 9 in capsule x: Connection refused'))
    with pytest.raises(fakes.client_mod.AgentError) as info:
        client.port_forward(HOST, CAPSULE, 9)
    assert info.value.status == 502
    assert 'Connection refused' in info.value.message


def test_stats(agent, client):
    stats = client.stats(HOST)
    assert stats['host'] == HOST
    assert stats['capsules'] == fakes.STATS
    assert stats['node']['cpu_usage_core_nanoseconds'] > 0
    assert stats['node']['memory_working_set_bytes'] > 0


def test_stopping_the_agent_ends_open_streams(files):
    agent = fakes.start_agent(files)
    client = fakes.client_for(files, {HOST: agent})
    stream = fakes.FakeStream()
    agent.engine.processes.put(fakes.FakeProcess(stream))
    session = client.exec(HOST, CAPSULE, MEMBER, ['sleep', '1000'])
    agent.stop()
    events = list(session.events())
    assert events[-1][0] == 'error'
    assert stream.closed.wait(30)


def test_missing_options_stop_the_start(files):
    conf = fakes.agent_conf_for(files)
    conf.clear_override('ticket_public_key_file', group='agent')
    with pytest.raises(service.ConfigurationError,
                       match=r'\[agent\]ticket_public_key_file'):
        service.build_server(conf, engine=fakes.FakeEngine())


def test_unreadable_certificate_stops_the_start(files, tmp_path):
    conf = fakes.agent_conf_for(files)
    conf.set_override('cert_file', str(tmp_path / 'missing.crt'),
                      group='agent')
    with pytest.raises(service.ConfigurationError, match='cert_file'):
        service.build_server(conf, engine=fakes.FakeEngine())


def test_framing_of_a_session_ends_with_one_status(agent, client):
    stream = fakes.FakeStream([b'a', b''])
    agent.engine.processes.put(fakes.FakeProcess(stream, exit_code=3))
    session = client.exec(HOST, CAPSULE, MEMBER, ['x'])
    events = list(session.events())
    assert events == [('stdout', b'a'), ('exit', 3)]
    assert framing.STATUS == 3
