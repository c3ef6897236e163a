"""Files writes through the agent's HTTPS server, by hand and by client.

A real server on 127.0.0.1 with a fake engine and fake mounts; the
capsule directories are made in the agent's own temporary pods_dir and
prepared by its own poll.
"""

import base64
import json
import logging
import os
import time

import pytest

from zun_vk.host_agent import service
from zun_vk.hostlink import client as client_mod
from zun_vk.hostlink import files_body
from zun_vk.hostlink import tickets
from zun_vk.tests import pki
from zun_vk.tests.unit.host_agent import fakes

HOST = fakes.HOST
CAPSULE = fakes.UNKNOWN_CAPSULE     # not in the engine: only its directory
PATH = '/v1/capsules/%s/volumes/cfg' % CAPSULE
PLAN = {'v': {'cfg': ['files'], 'cache': ['memory', 0]}, 'm': {}}
BODY = files_body.encode([('app.conf', b'x=1\n', 0o644)])


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return pki.Files(tmp_path_factory.mktemp('pki'))


@pytest.fixture
def agent(files):
    agent = fakes.start_agent(files)
    yield agent
    agent.stop()


@pytest.fixture
def client(files, agent):
    return fakes.client_for(files, {HOST: agent})


def capsule_dir(agent, capsule=CAPSULE):
    return os.path.join(agent.pod_dirs.root, capsule)


def make_capsule(agent, plan=PLAN, capsule=CAPSULE, wait=True):
    path = capsule_dir(agent, capsule)
    os.mkdir(path)
    # Atomically, as the companion driver writes it: the agent's poll
    # must not read half a plan.
    with open(os.path.join(path, 'plan.json.tmp'), 'w') as f:
        f.write(plan if isinstance(plan, str) else json.dumps(plan))
    os.rename(os.path.join(path, 'plan.json.tmp'),
              os.path.join(path, 'plan.json'))
    if wait:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(path, 'prepared')):
            assert time.monotonic() < deadline, 'not prepared'
            time.sleep(0.02)
    return path


def ticket(files, volume='cfg', body=BODY, capsule=CAPSULE, op='files'):
    key = tickets.load_private_key(files.ticket_private)
    return tickets.sign(key, op, HOST, capsule, volume=volume, body=body)


def put(agent, files, body=BODY, ticket_text=None, path=PATH, length=True,
        headers=()):
    headers = list(headers)
    if ticket_text is not None:
        headers.append(('X-Zun-VK-Ticket', ticket_text))
    if length:
        headers.append(('Content-Length', str(len(body))))
    return fakes.raw_request(agent.address[1], files, path, method='PUT',
                             headers=headers, body=body)


def test_put_writes_the_files(agent, files):
    path = make_capsule(agent)
    assert put(agent, files, ticket_text=ticket(files)) == (
        200, '{"written": true}\n')
    with open(os.path.join(path, 'files', 'cfg', 'app.conf'), 'rb') as f:
        assert f.read() == b'x=1\n'
    assert put(agent, files, ticket_text=ticket(files)) == (
        200, '{"written": false}\n')


def test_put_without_ticket_is_unauthorized(agent, files):
    path = make_capsule(agent)
    assert put(agent, files) == (401, 'no ticket\n')
    assert os.listdir(os.path.join(path, 'files', 'cfg')) == []


@pytest.mark.parametrize('make,reason', [
    (lambda f: ticket(f, volume='other'), 'volume other, not cfg'),
    (lambda f: ticket(f, body=BODY + b' '), 'another request body'),
    (lambda f: ticket(f, capsule=fakes.CAPSULE), 'capsule'),
    (lambda f: ticket(f, op='lookup', volume=None, body=None),
     'operation'),
])
def test_put_with_a_ticket_for_another_write_is_forbidden(agent, files,
                                                          make, reason):
    path = make_capsule(agent)
    status, body = put(agent, files, ticket_text=make(files))
    assert status == 403 and reason in body
    assert os.listdir(os.path.join(path, 'files', 'cfg')) == []


def test_replayed_put_is_forbidden(agent, files):
    make_capsule(agent)
    once = ticket(files)
    assert put(agent, files, ticket_text=once)[0] == 200
    assert put(agent, files, ticket_text=once) == (
        403, 'ticket was already used\n')


def test_put_needs_content_length(agent, files):
    status, body = put(agent, files, ticket_text=ticket(files),
                       length=False)
    assert status == 411 and 'Content-Length' in body


def test_too_large_a_body_is_refused_unread(agent, files):
    status, body = put(agent, files, body=b'', length=False, headers=[
        ('Content-Length', str(files_body.MAX_BODY + 1))])
    assert status == 413


@pytest.mark.parametrize('body,status,message', [
    (b'{"files": 1}', 400, '{"files": [...]}'),
    (files_body.encode([('../etc/passwd', b'', 0o644)]), 400, "'..'"),
])
def test_bad_bodies_are_400(agent, files, body, status, message):
    make_capsule(agent)
    got, text = put(agent, files, body=body,
                    ticket_text=ticket(files, body=body))
    assert got == status and message in text


def test_not_prepared_is_409(agent, files):
    # A plan the agent cannot prepare: prepared never comes.
    make_capsule(agent, plan='{"v": {"cfg": ["files"]}, "m": {"x": []}}',
                 wait=False)
    status, body = put(agent, files, ticket_text=ticket(files))
    assert status == 409 and 'not prepared yet' in body


def test_no_such_capsule_is_404(agent, files):
    status, body = put(agent, files, ticket_text=ticket(files))
    assert status == 404


def test_the_data_is_never_logged(agent, files, caplog):
    caplog.set_level(logging.DEBUG)
    make_capsule(agent)
    secret = files_body.encode([('token', b'TOPSECRET', 0o600)])
    assert put(agent, files, body=secret,
               ticket_text=ticket(files, body=secret))[0] == 200
    bad = secret.replace(b'"token"', b'"../token"')
    assert put(agent, files, body=bad,
               ticket_text=ticket(files, body=bad))[0] == 400
    text = '\n'.join(r.getMessage() for r in caplog.records)
    assert 'Wrote 1 files into volume cfg' in text
    assert 'TOPSECRET' not in text
    assert base64.b64encode(b'TOPSECRET').decode() not in text


# -- lookup ---------------------------------------------------------------


def test_lookup_finds_a_capsule_by_its_directory(agent, files, client):
    with pytest.raises(client_mod.AgentError) as info:
        client.locate(CAPSULE)
    assert info.value.status == 404
    make_capsule(agent, wait=False)
    assert client.locate(CAPSULE) == HOST
    # Still found by the engine's sandbox, without a directory.
    assert client.locate(fakes.CAPSULE) == HOST


# -- the client -----------------------------------------------------------


def test_client_put_files(agent, client):
    path = make_capsule(agent)
    payload = [('app.conf', b'a=1\n', 0o644), ('tls/key', b'K', 0o600)]
    assert client.put_files(HOST, CAPSULE, 'cfg', payload) is True
    assert client.put_files(HOST, CAPSULE, 'cfg', payload) is False
    volume = os.path.join(path, 'files', 'cfg')
    with open(os.path.join(volume, 'tls', 'key'), 'rb') as f:
        assert f.read() == b'K'
    assert client.put_files(HOST, CAPSULE, 'cfg',
                            payload[:1]) is True
    assert sorted(n for n in os.listdir(volume)
                  if not n.startswith('..')) == ['app.conf']


@pytest.mark.parametrize('volume,status', [('cache', 409), ('nope', 409)])
def test_client_put_files_to_no_files_volume_is_409(agent, client, volume,
                                                    status):
    make_capsule(agent)
    with pytest.raises(client_mod.AgentError) as info:
        client.put_files(HOST, CAPSULE, volume, [('a', b'', 0o644)])
    assert info.value.status == status
    assert 'no files volume' in info.value.message


def test_client_put_files_without_directory_is_404(agent, client):
    with pytest.raises(client_mod.AgentError) as info:
        client.put_files(HOST, CAPSULE, 'cfg', [('a', b'', 0o644)])
    assert info.value.status == 404


def test_client_refuses_too_large_a_write_itself(client):
    big = [('big', b'\0' * files_body.MAX_BODY, 0o644)]
    with pytest.raises(client_mod.AgentError) as info:
        client.put_files(HOST, CAPSULE, 'cfg', big)
    assert info.value.status == 413


# -- the service ----------------------------------------------------------


def test_the_agent_makes_its_pods_dir(files, tmp_path):
    pods_dir = tmp_path / 'lib' / 'capsules'
    agent = fakes.start_agent(files, pods_dir=str(pods_dir))
    try:
        assert oct(os.stat(str(pods_dir)).st_mode & 0o777) == '0o711'
        assert agent.pod_dirs.root == str(pods_dir)
    finally:
        agent.stop()


def test_an_unusable_pods_dir_stops_the_start(files, tmp_path):
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    conf = fakes.agent_conf_for(files, pods_dir=str(blocker / 'capsules'))
    agent = service.AgentService(conf, fakes.FakeEngine(),
                                 mounter=fakes.FakeMounter())
    with pytest.raises(service.ConfigurationError,
                       match=r'\[agent\]pods_dir'):
        agent.start()
    with pytest.raises(service.ConfigurationError,
                       match=r'\[agent\]pods_dir'):
        service.check(conf)
