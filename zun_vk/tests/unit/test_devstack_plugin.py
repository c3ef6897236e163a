"""The DevStack plugin, phase by phase, against a stand-in of DevStack
(see devstack_host): zun-vk, and zun-compute with the companion driver.
The host agent's part is in test_devstack_agent.
"""

import os
import shutil
import subprocess
import sys

import pytest

from zun_vk.tests.unit import devstack_host
from zun_vk.tests.unit.devstack_host import DEVSTACK_FILES
from zun_vk.tests.unit.devstack_host import KEYSTONE
from zun_vk.tests.unit.devstack_host import RABBIT_URL
from zun_vk.tests.unit.devstack_host import ROOT
from zun_vk.tests.unit.devstack_host import STACK

_generator_has_zun_vk = devstack_host.generator_has_zun_vk
_short_hostname = devstack_host.short_hostname


@pytest.fixture(scope='session')
def sample_cache(tmp_path_factory):
    return tmp_path_factory.mktemp('samples')


@pytest.fixture
def devstack(tmp_path, sample_cache):
    return devstack_host.DevStack(tmp_path, sample_cache)


@pytest.fixture
def stacked(devstack):
    devstack.write_kubeconfig()
    devstack.run(*STACK)
    return devstack


# stack ---------------------------------------------------------------------

def test_stack_installs_zun_vk_from_the_plugin_directory(stacked):
    assert 'setup_develop %s' % ROOT in stacked.records()


def test_stack_creates_the_service_user(stacked):
    assert 'create_service_user zun-vk admin' in stacked.records()


def test_config_names_the_node_cluster_and_kubeconfig(stacked):
    conf = stacked.read_ini()
    assert conf['DEFAULT']['node_name'] == 'zun-vk-%s' % _short_hostname()
    assert conf['DEFAULT']['cluster_id'] == 'devstack'
    assert conf['DEFAULT']['debug'] == 'True'
    assert conf['kubernetes']['kubeconfig'] == str(stacked.kubeconfig)
    assert conf['node']['internal_ip'] == '192.0.2.10'


def test_config_has_keystoneauth_options_for_zun(stacked):
    zun = dict(stacked.read_ini()['zun'])
    expected = {
        'auth_type': 'password',
        'auth_url': KEYSTONE,
        'username': 'zun-vk',
        'password': 'secretservice',
        'project_name': 'service',
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'region_name': 'RegionOne',
        'valid_interfaces': 'internal,public',
        'service_type': 'container',
    }
    assert {k: zun.get(k) for k in expected} == expected
    # keystoneauth refuses interface next to valid_interfaces.
    assert 'interface' not in zun


def test_config_keeps_every_option_of_the_sample(stacked):
    if not _generator_has_zun_vk():
        pytest.skip('zun-vk is not installed: no real sample to compare')
    sample = (stacked.conf_dir / 'zun-vk.conf.sample').read_text()
    text = stacked.conf.read_text()
    for option in ('#pod_workers = 10', '#lease_duration = 40',
                   '#graceful_shutdown_timeout = 60'):
        assert option in sample
        assert option in text


def test_notifications_are_off_by_default(stacked):
    conf = stacked.read_ini()
    assert conf['notifications']['enabled'] == 'False'
    assert not conf.has_option('oslo_messaging_notifications',
                               'transport_url')


def test_notifications_use_devstack_notification_transport(devstack):
    devstack.write_kubeconfig()
    devstack.env['ZUN_VK_NOTIFICATIONS'] = 'true'
    devstack.run(*STACK)
    conf = devstack.read_ini()
    assert conf['notifications']['enabled'] == 'True'
    assert conf['oslo_messaging_notifications']['transport_url'] == (
        RABBIT_URL)


def test_stack_extra_starts_the_service(stacked):
    assert 'run_process zun-vk %s/zun-vk --config-file %s' % (
        stacked.bin, stacked.conf) in stacked.records()


def test_zun_vk_accepts_the_config(stacked):
    ks_loading = pytest.importorskip('keystoneauth1.loading')
    from oslo_config import cfg

    from zun_vk.conf import opts
    from zun_vk.conf import validate

    conf = cfg.ConfigOpts()
    for module in opts.MODULES:
        module.register_opts(conf)
    conf(['--config-file', str(stacked.conf)], project='zun-vk')
    validate.check(conf)
    assert conf.node_name == 'zun-vk-%s' % _short_hostname()
    auth = ks_loading.load_auth_from_conf_options(conf, 'zun')
    assert auth.auth_url == KEYSTONE
    adapter = ks_loading.load_adapter_from_conf_options(
        conf, 'zun', session=ks_loading.load_session_from_conf_options(
            conf, 'zun', auth=auth))
    assert adapter.service_type == 'container'
    assert adapter.interface == ['internal', 'public']


def test_local_conf_settings_win(devstack):
    kubeconfig = devstack.tmp / 'admin.conf'
    devstack.kubeconfig = kubeconfig
    devstack.write_kubeconfig()
    devstack.env.update({
        'ZUN_VK_NODE_NAME': 'edge-1',
        'ZUN_VK_CLUSTER_ID': 'prod',
        'ZUN_VK_KUBECONFIG': str(kubeconfig),
        'ZUN_VK_KUBE_CONTEXT': 'test',
        'ZUN_VK_PROJECT_NAME': 'k8s-pods',
        'ZUN_VK_USER_ROLE': 'member',
    })
    devstack.run(*STACK)
    conf = devstack.read_ini()
    assert conf['DEFAULT']['node_name'] == 'edge-1'
    assert conf['DEFAULT']['cluster_id'] == 'prod'
    assert conf['kubernetes']['kubeconfig'] == str(kubeconfig)
    assert conf['kubernetes']['context'] == 'test'
    assert conf['zun']['project_name'] == 'k8s-pods'
    records = devstack.records()
    assert 'create_service_user zun-vk member' in records
    assert 'get_or_create_project k8s-pods default' in records


def test_missing_kubeconfig_stops_stack_with_a_clear_message(devstack):
    result = devstack.run(*STACK, check=False)
    assert result.returncode != 0
    assert 'ZUN_VK_KUBECONFIG' in result.stderr
    assert str(devstack.kubeconfig) in result.stderr
    assert not any(r.startswith('run_process') for r in devstack.records())


# the kubelet API -----------------------------------------------------------

def test_kubelet_api_gets_the_cluster_files_local_conf_names(devstack):
    devstack.write_kubeconfig()
    files = {}
    for name in ('client-ca.crt', 'kubelet.crt', 'kubelet.key'):
        files[name] = devstack.tmp / name
        files[name].write_text('PEM\n')
    devstack.env.update({
        'ZUN_VK_KUBELET_CLIENT_CA_FILE': str(files['client-ca.crt']),
        'ZUN_VK_KUBELET_TLS_CERT_FILE': str(files['kubelet.crt']),
        'ZUN_VK_KUBELET_TLS_KEY_FILE': str(files['kubelet.key']),
    })
    result = devstack.run(*STACK)
    kubelet = devstack.read_ini()['kubelet']
    assert kubelet['client_ca_file'] == str(files['client-ca.crt'])
    assert kubelet['tls_cert_file'] == str(files['kubelet.crt'])
    assert kubelet['tls_private_key_file'] == str(files['kubelet.key'])
    assert 'ZUN_VK_KUBELET_CLIENT_CA_FILE is not set' not in result.stderr


def test_kubelet_api_without_the_client_ca_warns(devstack):
    devstack.write_kubeconfig()
    result = devstack.run(*STACK)
    assert 'ZUN_VK_KUBELET_CLIENT_CA_FILE is not set' in result.stderr
    kubelet = devstack.read_ini()['kubelet']
    # zun-vk then serves a self-signed certificate of its own.
    assert 'client_ca_file' not in kubelet
    assert 'tls_cert_file' not in kubelet


def test_kubelet_certificate_without_its_key_stops_stack(devstack):
    devstack.write_kubeconfig()
    devstack.env['ZUN_VK_KUBELET_TLS_CERT_FILE'] = str(devstack.tmp / 'k.crt')
    result = devstack.run(*STACK, check=False)
    assert result.returncode != 0
    assert 'set both ZUN_VK_KUBELET_TLS_CERT_FILE and' in result.stderr


def test_unreadable_kubelet_client_ca_stops_before_starting(devstack):
    devstack.write_kubeconfig()
    missing = devstack.tmp / 'no-such-ca.crt'
    devstack.env['ZUN_VK_KUBELET_CLIENT_CA_FILE'] = str(missing)
    result = devstack.run(*STACK, check=False)
    assert result.returncode != 0
    assert "ZUN_VK_KUBELET_CLIENT_CA_FILE: '%s'" % missing in result.stderr
    assert not any(r.startswith('run_process') for r in devstack.records())


# unstack and clean ---------------------------------------------------------

def test_unstack_stops_the_service_and_keeps_the_config(stacked):
    stacked.run('unstack')
    assert stacked.records()[-1] == 'stop_process zun-vk'
    assert stacked.conf.exists()


def test_clean_removes_the_config_directory(stacked):
    stacked.run('unstack')
    stacked.run('clean')
    assert not stacked.conf_dir.exists()


def test_disabled_service_does_nothing(devstack):
    devstack.write_kubeconfig()
    devstack.run(*STACK, 'unstack', 'clean',
                 localrc='disable_service zun-vk')
    assert devstack.records() == []
    assert not devstack.conf_dir.exists()


# zun-compute and the notifying driver --------------------------------------

def write_zun_conf(devstack, container_driver='docker',
                   capsule_driver='docker'):
    devstack.write_zun_conf(container_driver, capsule_driver)


def test_zun_compute_wraps_its_driver_and_notifies(devstack):
    devstack.write_kubeconfig()
    devstack.install_companion_driver()
    write_zun_conf(devstack)
    devstack.env.update({'ZUN_VK_CONFIGURE_ZUN_COMPUTE': 'True',
                         'ZUN_VK_NOTIFICATIONS': 'True'})
    devstack.run(*STACK)
    zun = devstack.read_ini(devstack.zun_conf)
    assert zun['DEFAULT']['container_driver'] == 'zun_vk_notifying'
    assert zun['DEFAULT']['capsule_driver'] == 'zun_vk_notifying'
    assert zun['zun_vk_plugin']['wrapped_driver'] == 'docker'
    assert zun['oslo_messaging_notifications']['driver'] == 'messagingv2'
    assert zun['oslo_messaging_notifications']['transport_url'] == (
        RABBIT_URL)
    assert 'setup_develop %s zun-compute' % ROOT in devstack.records()
    # Running post-config again keeps the real driver behind ours.
    devstack.run('stack post-config')
    zun = devstack.read_ini(devstack.zun_conf)
    assert zun['zun_vk_plugin']['wrapped_driver'] == 'docker'


def test_compute_only_host_configures_zun_compute_only(devstack):
    devstack.install_companion_driver()
    write_zun_conf(devstack)
    devstack.env['ZUN_VK_CONFIGURE_ZUN_COMPUTE'] = 'True'
    devstack.env['ENABLED_SERVICES'] = 'zun-compute'
    # The agent has tests of its own (test_devstack_agent).
    devstack.run(*STACK, localrc='disable_service zun-vk zun-vk-agent')
    zun = devstack.read_ini(devstack.zun_conf)
    assert zun['DEFAULT']['capsule_driver'] == 'zun_vk_notifying'
    assert not devstack.conf.exists()
    assert devstack.records() == ['setup_develop %s zun-compute' % ROOT]


@pytest.mark.parametrize('setup,expected', [
    ('missing driver', "'zun_vk_notifying' driver is not installed"),
    ('two drivers', "container driver 'docker' and capsule driver 'cri'"),
    ('plugin order', "'enable_plugin zun' before 'enable_plugin zun-vk'"),
])
def test_zun_compute_refusals_are_clear(devstack, setup, expected):
    devstack.write_kubeconfig()
    devstack.env['ZUN_VK_CONFIGURE_ZUN_COMPUTE'] = 'True'
    if setup != 'missing driver':
        devstack.install_companion_driver()
    write_zun_conf(devstack, capsule_driver=(
        'cri' if setup == 'two drivers' else 'docker'))
    if setup == 'plugin order':
        devstack.env['DEVSTACK_PLUGINS'] = 'zun-vk,zun'
    result = devstack.run(*STACK, check=False)
    assert result.returncode != 0
    assert expected in result.stderr
    zun = devstack.read_ini(devstack.zun_conf)
    assert zun['DEFAULT']['container_driver'] == 'docker'


# style ---------------------------------------------------------------------

def test_devstack_scripts_are_bashate_clean():
    bashate = shutil.which('bashate') or shutil.which(
        'bashate', path=os.path.dirname(sys.executable))
    if bashate is None:
        pytest.skip('bashate is not installed (tox -e pep8 runs it)')
    result = subprocess.run([bashate, '-i', 'E006'] + DEVSTACK_FILES,
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
