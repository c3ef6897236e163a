"""AgentClient: finding a capsule's host, and errors a caller can use."""

import socket

import pytest

from zun_vk.hostlink import client as client_mod
from zun_vk.tests import pki
from zun_vk.tests.unit.host_agent import fakes

CAPSULE, MEMBER = fakes.CAPSULE, fakes.MEMBER


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return pki.Files(tmp_path_factory.mktemp('pki'))


@pytest.fixture
def agents(files):
    running = {}
    for host in ('compute1', 'compute2'):
        engine = fakes.FakeEngine()
        if host == 'compute2':
            engine.members = {}
        running[host] = fakes.start_agent(files, engine, host=host)
    yield running
    for agent in running.values():
        agent.stop()


def unused_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def client_with(files, agents, dead=(), **overrides):
    endpoints = {host: '127.0.0.1:%d' % agent.address[1]
                 for host, agent in agents.items()}
    for host in dead:
        endpoints[host] = '127.0.0.1:%d' % unused_port()
    return client_mod.AgentClient(fakes.client_conf_for(files, endpoints,
                                                        **overrides))


def test_locate_asks_the_agents(files, agents):
    client = client_with(files, agents, dead=['compute3'])
    assert client.locate(CAPSULE) == 'compute1'


def test_locate_remembers_until_the_host_says_404(files, agents):
    client = client_with(files, agents)
    assert client.locate(CAPSULE) == 'compute1'
    agents['compute1'].engine.members = {}
    assert client.locate(CAPSULE) == 'compute1'    # cached
    with pytest.raises(client_mod.AgentError):
        client.logs('compute1', CAPSULE, MEMBER)
    with pytest.raises(client_mod.AgentError) as info:
        client.locate(CAPSULE)
    assert info.value.status == 404


def test_locate_believes_zun(files, agents):
    client = client_with(files, agents)
    assert client.locate(CAPSULE, zun_host='compute2') == 'compute2'
    assert client.locate(CAPSULE) == 'compute2'


def test_capsule_nowhere_is_404(files, agents):
    client = client_with(files, agents)
    with pytest.raises(client_mod.AgentError) as info:
        client.locate(fakes.UNKNOWN_CAPSULE)
    assert info.value.status == 404
    assert 'none of the 2 host agents' in info.value.message


def test_capsule_nowhere_with_a_silent_agent_is_503(files, agents):
    client = client_with(files, agents, dead=['compute9'])
    with pytest.raises(client_mod.AgentError) as info:
        client.locate(fakes.UNKNOWN_CAPSULE)
    assert info.value.status == 503
    assert 'compute9' in info.value.message


def test_unreachable_agent_is_503(files, agents):
    client = client_with(files, {}, dead=['compute1'])
    with pytest.raises(client_mod.AgentError) as info:
        client.stats('compute1')
    assert info.value.status == 503
    assert 'unreachable' in info.value.message


def test_agent_with_an_untrusted_certificate_is_502(files):
    impostor = fakes.start_agent(files, cert='rogue_agent')
    try:
        client = client_with(files, {'compute1': impostor})
        with pytest.raises(client_mod.AgentError) as info:
            client.stats('compute1')
        assert info.value.status == 502
        assert 'does not trust' in info.value.message
        assert impostor.engine.log_calls == []
    finally:
        impostor.stop()


def test_refused_ticket_is_403(files, agents):
    client = client_with(files, agents,
                         ticket_private_key_file=files.other_ticket_private)
    with pytest.raises(client_mod.AgentError) as info:
        client.stats('compute1')
    assert info.value.status == 403
    assert 'signature' in info.value.message


def test_ticket_for_the_wrong_host_name_is_403(files, agents):
    # zun-vk believes compute2 answers at compute1's address.
    endpoints = {'compute2': '127.0.0.1:%d' % agents['compute1'].address[1]}
    client = client_mod.AgentClient(fakes.client_conf_for(files, endpoints))
    with pytest.raises(client_mod.AgentError) as info:
        client.stats('compute2')
    assert info.value.status == 403
    assert 'host compute2, not compute1' in info.value.message


def test_not_configured_is_503(files):
    conf = fakes.client_conf_for(files, {})
    conf.clear_override('cert_file', group='host_agents')
    client = client_mod.AgentClient(conf)
    assert not client.configured
    with pytest.raises(client_mod.AgentError) as info:
        client.stats('compute1')
    assert info.value.status == 503
    assert '[host_agents]' in info.value.message


def test_bad_endpoint_entry_is_503(files):
    client = client_mod.AgentClient(fakes.client_conf_for(
        files, {'compute1': 'host:port'}))
    with pytest.raises(client_mod.AgentError) as info:
        client.stats('compute1')
    assert info.value.status == 503


def test_hosts_not_listed_are_reached_by_name(files):
    client = client_mod.AgentClient(fakes.client_conf_for(
        files, {'compute1': '192.0.2.1'}))
    assert client.endpoint('compute1') == ('192.0.2.1', 10350)
    assert client.endpoint('compute7') == ('compute7', 10350)


def test_exec_on_a_stopped_container_says_so(files, agents):
    from zun_vk.host_agent import base

    class Stopped(fakes.FakeEngine):
        def exec(self, member, command, stdin=False, tty=False):
            raise base.Conflict('container %s of capsule %s is not running'
                                % (member.uuid, member.capsule))

    agent = fakes.start_agent(files, Stopped())
    try:
        client = client_with(files, {'compute1': agent})
        with pytest.raises(client_mod.AgentError) as info:
            client.exec('compute1', CAPSULE, MEMBER, ['ls'])
        assert info.value.status == 409
        assert 'is not running' in info.value.message
    finally:
        agent.stop()
