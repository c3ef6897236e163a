"""The DevStack plugin's host agent: zun-vk-agent, its credentials and
the capsules' volume directory, against the stand-in of DevStack."""

import shutil
import stat
import subprocess

import pytest

from zun_vk.tests.unit import devstack_host
from zun_vk.tests.unit.devstack_host import STACK


@pytest.fixture(scope='session')
def sample_cache(tmp_path_factory):
    return tmp_path_factory.mktemp('samples')


@pytest.fixture
def devstack(tmp_path, sample_cache):
    host = devstack_host.DevStack(tmp_path, sample_cache)
    host.write_kubeconfig()
    return host


@pytest.fixture
def stacked(devstack):
    """One node: zun-vk, zun-compute with the companion, the agent."""
    devstack.with_companion()
    devstack.run(*STACK)
    return devstack


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def _openssl(*args):
    return subprocess.run(['openssl'] + list(args), capture_output=True,
                          text=True)


def _agent_command(devstack):
    return '%s/zun-vk-agent --config-file %s' % (devstack.bin,
                                                 devstack.agent_conf)


# The service ----------------------------------------------------------------

def test_agent_starts_as_root_beside_zun_compute(stacked):
    assert ('run_process zun-vk-agent %s group=root user=root'
            % _agent_command(stacked)) in stacked.records()
    agent = stacked.read_ini(stacked.agent_conf)['agent']
    assert agent['host'] == devstack_host.hostname()
    assert agent['bind_address'] == '192.0.2.10'
    assert agent['port'] == '10350'
    assert agent['allowed_clients'] == 'zun-vk'


def test_agent_is_off_without_the_companion(devstack):
    devstack.run(*STACK)
    assert not devstack.agent_conf.exists()
    assert not any('zun-vk-agent' in r for r in devstack.records())
    assert not devstack.read_ini().has_option('zun', 'companion_driver')


def test_disabled_agent_is_neither_configured_nor_started(devstack):
    devstack.with_companion()
    devstack.run(*STACK, 'unstack', 'clean',
                 localrc='disable_service zun-vk-agent')
    records = devstack.records()
    assert not any('zun-vk-agent' in r for r in records)
    assert not devstack.pods_dir.exists()


def test_agent_and_companion_name_the_same_pods_dir(stacked):
    agent = stacked.read_ini(stacked.agent_conf)['agent']
    zun = stacked.read_ini(stacked.zun_conf)
    assert agent['pods_dir'] == str(stacked.pods_dir)
    assert zun['zun_vk_plugin']['pods_dir'] == str(stacked.pods_dir)
    # zun-compute runs as the stack user and makes capsule directories.
    assert agent['pods_dir_owner'] == stacked.env['STACK_USER']
    assert stacked.pods_dir.is_dir()
    assert _mode(stacked.pods_dir) == 0o711


def test_agent_uses_zun_computes_engine_and_host_name(devstack):
    devstack.with_companion()
    with devstack.zun_conf.open('a') as stream:
        stream.write('host = compute-7\n\n[docker]\n'
                     'api_url = unix:///run/podman/podman.sock\n')
    devstack.run(*STACK)
    agent = devstack.read_ini(devstack.agent_conf)['agent']
    assert agent['host'] == 'compute-7'
    assert agent['docker_url'] == 'unix:///run/podman/podman.sock'
    assert devstack.read_ini()['host_agents']['endpoints'] == (
        'compute-7:192.0.2.10:10350')


def test_agent_config_keeps_every_option_of_the_sample(stacked):
    if not devstack_host.generator_has_zun_vk():
        pytest.skip('zun-vk is not installed: no real sample to compare')
    text = stacked.agent_conf.read_text()
    for option in ('#files_tmpfs_size = 64', '#orphan_dir_age = 3600'):
        assert option in text


# zun-vk's side ---------------------------------------------------------------

def test_zun_vk_knows_this_hosts_agent_and_the_companion(stacked):
    conf = stacked.read_ini()
    host_agents = conf['host_agents']
    assert host_agents['endpoints'] == '%s:192.0.2.10:10350' % (
        devstack_host.hostname())
    assert host_agents['ca_file'] == str(stacked.ca_dir / 'ca.crt')
    assert host_agents['cert_file'] == str(stacked.client_pki / 'zun-vk.crt')
    assert host_agents['key_file'] == str(stacked.client_pki / 'zun-vk.key')
    assert host_agents['ticket_private_key_file'] == str(
        stacked.client_pki / 'ticket.key')
    assert conf['zun']['companion_driver'] == 'True'


def test_other_nodes_agents_follow_this_ones(devstack):
    devstack.with_companion()
    devstack.env['ZUN_VK_AGENT_ENDPOINTS'] = 'compute2:192.0.2.22'
    devstack.run(*STACK)
    assert devstack.read_ini()['host_agents']['endpoints'] == (
        '%s:192.0.2.10:10350,compute2:192.0.2.22' % devstack_host.hostname())


# Credentials ---------------------------------------------------------------

def test_credentials_are_private(stacked):
    for directory in (stacked.ca_dir, stacked.client_pki, stacked.agent_pki):
        assert _mode(directory) == 0o700, directory
    for key in (stacked.ca_dir / 'ca.key', stacked.client_pki / 'zun-vk.key',
                stacked.client_pki / 'ticket.key',
                stacked.agent_pki / 'agent.key'):
        assert _mode(key) == 0o600, key
    # Nothing is left behind that the configuration does not name.
    assert sorted(p.name for p in stacked.agent_pki.iterdir()) == [
        'agent.crt', 'agent.key', 'ca.crt', 'ticket.pub']
    assert sorted(p.name for p in stacked.ca_dir.iterdir()) == [
        'ca.crt', 'ca.key', 'ticket.pub']


def test_agent_config_points_at_its_credentials(stacked):
    agent = stacked.read_ini(stacked.agent_conf)['agent']
    pki = stacked.agent_pki
    assert agent['cert_file'] == str(pki / 'agent.crt')
    assert agent['key_file'] == str(pki / 'agent.key')
    assert agent['client_ca_file'] == str(pki / 'ca.crt')
    assert agent['ticket_public_key_file'] == str(pki / 'ticket.pub')
    assert (pki / 'ticket.pub').read_bytes() == (
        stacked.ca_dir / 'ticket.pub').read_bytes()


def test_certificates_have_the_names_and_uses_the_guide_asks(stacked):
    ca = str(stacked.ca_dir / 'ca.crt')
    agent_crt = str(stacked.agent_pki / 'agent.crt')
    client_crt = str(stacked.client_pki / 'zun-vk.crt')
    assert _openssl('verify', '-CAfile', ca, '-purpose', 'sslserver',
                    agent_crt).returncode == 0
    assert _openssl('verify', '-CAfile', ca, '-purpose', 'sslclient',
                    client_crt).returncode == 0
    # An agent's certificate is no client certificate.
    assert _openssl('verify', '-CAfile', ca, '-purpose', 'sslclient',
                    agent_crt).returncode != 0
    text = _openssl('x509', '-in', agent_crt, '-noout', '-text').stdout
    assert 'IP Address:192.0.2.10' in text
    assert 'DNS:%s' % devstack_host.hostname() in text
    subject = _openssl('x509', '-in', client_crt, '-noout',
                       '-subject').stdout
    assert 'CN = zun-vk' in subject


def test_restack_keeps_the_ca_and_ticket_key(stacked):
    ca = (stacked.ca_dir / 'ca.crt').read_bytes()
    ticket = (stacked.client_pki / 'ticket.key').read_bytes()
    agent_crt = (stacked.agent_pki / 'agent.crt').read_bytes()
    stacked.run('unstack')
    stacked.run(*STACK)
    assert (stacked.ca_dir / 'ca.crt').read_bytes() == ca
    assert (stacked.client_pki / 'ticket.key').read_bytes() == ticket
    # Certificates are issued again, for the addresses of the day.
    assert (stacked.agent_pki / 'agent.crt').read_bytes() != agent_crt


def test_zun_vk_reaches_the_agent_with_them(devstack):
    """zun-vk's [host_agents] and the agent's [agent] fit together."""
    from oslo_config import cfg

    from zun_vk.conf import host_agents
    from zun_vk.host_agent import conf as agent_conf
    from zun_vk.host_agent import service
    from zun_vk.hostlink import client as client_mod
    from zun_vk.tests.unit.host_agent import fakes

    devstack.with_companion()
    devstack.env['ZUN_VK_AGENT_ADDRESS'] = '127.0.0.1'
    devstack.run(*STACK)

    agent_opts = cfg.ConfigOpts()
    agent_conf.register_opts(agent_opts)
    agent_opts(['--config-file', str(devstack.agent_conf)],
               project='zun-vk', default_config_files=[])
    assert agent_conf.missing_options(agent_opts) == []
    agent_opts.set_override('port', 0, group='agent')
    agent = service.AgentService(agent_opts, fakes.FakeEngine(),
                                 mounter=fakes.FakeMounter())
    agent.start()
    try:
        client_opts = cfg.ConfigOpts()
        host_agents.register_opts(client_opts)
        client_opts(['--config-file', str(devstack.conf)],
                    project='zun-vk', default_config_files=[])
        host = agent_opts.agent.host
        # The port the test agent got; the address is the configured one.
        client_opts.set_override(
            'endpoints', {host: '127.0.0.1:%d' % agent.address[1]},
            group='host_agents')
        client = client_mod.AgentClient(client_opts)
        assert client.stats(host)['capsules'] == fakes.STATS
    finally:
        agent.stop()


# Multi-node ----------------------------------------------------------------

def _compute_node(tmp_path, sample_cache, name):
    node = devstack_host.DevStack(tmp_path / name, sample_cache)
    node.with_companion()
    node.env.update({'HOST_IP': '192.0.2.22',
                     'ENABLED_SERVICES': 'zun-compute'})
    return node


def test_compute_node_uses_the_copied_ca(stacked, tmp_path, sample_cache):
    node = _compute_node(tmp_path, sample_cache, 'compute2')
    shutil.copytree(stacked.ca_dir, node.ca_dir)
    node.run(*STACK, localrc='disable_service zun-vk')
    assert not node.conf.exists()
    assert ('run_process zun-vk-agent %s group=root user=root'
            % _agent_command(node)) in node.records()
    assert _openssl('verify', '-CAfile', str(stacked.ca_dir / 'ca.crt'),
                    str(node.agent_pki / 'agent.crt')).returncode == 0
    assert (node.agent_pki / 'ticket.pub').read_bytes() == (
        stacked.ca_dir / 'ticket.pub').read_bytes()
    text = _openssl('x509', '-in', str(node.agent_pki / 'agent.crt'),
                    '-noout', '-text').stdout
    assert 'IP Address:192.0.2.22' in text
    # The copy stays private.
    assert _mode(node.ca_dir) == 0o700
    assert _mode(node.ca_dir / 'ca.key') == 0o600


def test_compute_node_without_the_ca_stops_clearly(tmp_path, sample_cache):
    node = _compute_node(tmp_path, sample_cache, 'compute2')
    result = node.run(*STACK, localrc='disable_service zun-vk', check=False)
    assert result.returncode != 0
    assert 'ZUN_VK_AGENT_CA_DIR' in result.stderr
    assert str(node.ca_dir / 'ca.crt') in result.stderr
    assert not any(r.startswith('run_process') for r in node.records())


# Refusals ------------------------------------------------------------------

def test_agent_without_zun_compute_stops_clearly(devstack):
    devstack.env['ENABLED_SERVICES'] = 'key,rabbit'
    result = devstack.run(*STACK, localrc='enable_service zun-vk-agent',
                          check=False)
    assert result.returncode != 0
    assert 'zun-compute is not enabled here' in result.stderr
    assert "disable_service zun-vk-agent" in result.stderr


def test_agent_without_the_docker_sdk_stops_clearly(devstack):
    devstack.with_companion()
    shutil.rmtree(devstack.docker_sdk)
    result = devstack.run(*STACK, check=False)
    assert result.returncode != 0
    assert 'needs the docker SDK (docker>=7)' in result.stderr
    assert not devstack.agent_conf.exists()


def test_agent_without_the_companion_warns_about_volumes(devstack):
    devstack.write_zun_conf()
    result = devstack.run(*STACK, localrc='enable_service zun-vk-agent')
    assert ('run_process zun-vk-agent %s group=root user=root'
            % _agent_command(devstack)) in devstack.records()
    assert 'without the companion driver' in result.stderr
    assert 'companion_driver' not in devstack.read_ini()['zun']


# unstack and clean ---------------------------------------------------------

def test_unstack_stops_the_agent_and_keeps_its_volumes(stacked):
    stacked.run('unstack')
    assert stacked.records()[-2:] == ['stop_process zun-vk',
                                      'stop_process zun-vk-agent']
    assert stacked.pods_dir.is_dir()
    assert stacked.agent_conf.exists()


def test_clean_unmounts_then_removes_everything(stacked):
    capsule = stacked.pods_dir / '0a1b2c3d-0000-4000-8000-00000000c001'
    (capsule / 'files').mkdir(parents=True)
    (capsule / 'memory' / 'cache').mkdir(parents=True)
    stacked.mounts.write_text('\n'.join([
        '/', str(stacked.tmp / 'elsewhere'), str(capsule / 'files'),
        str(capsule / 'memory' / 'cache')]) + '\n')
    stacked.run('unstack')
    stacked.run('clean')
    unmounts = [r for r in stacked.records() if r.startswith('umount')]
    assert unmounts == ['umount --lazy %s' % (capsule / 'memory' / 'cache'),
                        'umount --lazy %s' % (capsule / 'files')]
    for path in (stacked.pods_dir, stacked.conf_dir, stacked.ca_dir):
        assert not path.exists(), path


def test_clean_never_removes_through_a_mount(stacked):
    files = stacked.pods_dir / '0a1b2c3d-0000-4000-8000-00000000c001' / 'files'
    files.mkdir(parents=True)
    (files / 'secret').write_text('on a tmpfs')
    stacked.mounts.write_text('%s\n' % files)
    stacked.env['STANDIN_UMOUNT_FAILS'] = '1'
    result = stacked.run('clean', check=False)
    assert result.returncode != 0
    assert 'still mounted below it' in result.stderr
    assert (files / 'secret').exists()
