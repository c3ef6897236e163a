"""Paths, ports, credentials and generated secrets of the local stack."""

import json
import os
import secrets
import socket

TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(TOOLS_DIR)
STACK_DIR = os.path.join(TOOLS_DIR, 'stack')
TEST_DRIVER_DIR = os.path.join(TOOLS_DIR, 'zun-test-driver')
PODMAN_NETWORK_DIR = os.path.join(TOOLS_DIR, 'zun-podman-network')
# zun-vk's companion driver, installed (editable) into the zun virtualenv.
PLUGIN_DIR = os.path.join(REPO_ROOT, 'zun_vk', 'zun_plugin')

HOST = '127.0.0.1'
PORTS = {
    'etcd': 23790,
    'etcd-peer': 23800,
    'kube-apiserver': 16443,
    'kube-scheduler': 20259,
    'kube-controller-manager': 20257,
    'mariadb': 3306,
    'rabbitmq': 5672,
    'keystone': 15000,
    'placement': 18778,
    'neutron': 19696,
    'zun-api': 19517,
}

REGION = 'RegionOne'
ADMIN_PASSWORD = 'admin-secret'
DEMO_USER = 'demo'
DEMO_PASSWORD = 'demo-secret'
DEMO_PROJECT = 'demo'
SERVICE_PROJECT = 'service'
SERVICE_USERS = {'zun': 'zun-secret', 'placement': 'placement-secret'}
DB_USER = 'zunvkstack'
DB_NAMES = {'keystone': 'zunvkstack_keystone',
            'placement': 'zunvkstack_placement',
            'zun': 'zunvkstack_zun'}
RABBIT_USER = 'zunvkstack'
RABBIT_VHOST = 'zun-vk-stack'
# Driver modes of zun-compute (both wrapped by the companion plugin).
MODE_TEST = 'test'              # tools/zun-test-driver, nothing runs
MODE_REAL = 'real'              # Zun's docker driver on podman
DRIVER_NAMES = {MODE_TEST: 'zunvk_test', MODE_REAL: 'docker'}
PLUGIN_DRIVER = 'zun_vk_notifying'
# Notifications from the companion plugin to zun-vk.
NOTIFY_TOPIC = 'zun_vk_stack'
NOTIFY_EXCHANGE = 'zun'
# A notifier fills <topic>.info even when the only consumer listens
# through a pool (zun-vk's queue "zun-vk-<node>"), and pool queues of
# test nodes outlive their zun-vk: cap both kinds on the stack's vhost.
RABBIT_POLICY = 'zun-vk-cap'
RABBIT_POLICY_PATTERN = r'^(zun_vk_stack\.|zun-vk-)'
RABBIT_POLICY_DEFINITION = ('{"max-length":1000,"overflow":"drop-head",'
                            '"expires":3600000}')
ZUN_VK_NODE = 'zun-vk-local'
ZUN_API_VERSION = '1.40'
SYNC_INTERVAL = 3               # zun.conf sync_container_state_interval


def zun_host():
    """zun-compute's host: [DEFAULT] host is left unset, so the hostname.

    Zun's docker driver needs it to equal the engine's info.Name (the
    machine's hostname), or the compute node is never reported.
    """
    return socket.gethostname()


class Context(object):
    def __init__(self):
        home = os.path.expanduser('~')
        self.state = os.path.abspath(os.environ.get(
            'ZUN_VK_STACK_DIR',
            os.path.join(home, '.local', 'share', 'zun-vk-stack')))
        self.cache = os.path.abspath(os.environ.get(
            'ZUN_VK_CACHE_DIR', os.path.join(home, '.cache', 'zun-vk')))
        self.run_dir = os.path.join(self.state, 'run')
        self.log_dir = os.path.join(self.state, 'logs')
        self.bin_dir = os.path.join(self.state, 'bin')
        self.kubeconfig = os.path.join(self.state, 'kubeconfig')
        self.zun_vk_conf = os.path.join(self.state, 'zun-vk', 'zun-vk.conf')
        self.kube_bin = None    # set once kubernetes is built
        self.venvs = {}         # name -> path
        self._secrets = None

    # -- the mode `up` chose, remembered for env/status/start-component --

    @property
    def mode_file(self):
        return os.path.join(self.state, 'mode.json')

    @property
    def mode(self):
        """{'driver': MODE_TEST|MODE_REAL, 'notifications': bool}."""
        data = {}
        try:
            with open(self.mode_file) as f:
                data = json.load(f)
        except (OSError, ValueError):
            pass
        driver = data.get('driver')
        if driver not in DRIVER_NAMES:
            driver = MODE_TEST
        return {'driver': driver,
                'notifications': bool(data.get('notifications', True)),
                'why': data.get('why', '')}

    def save_mode(self, driver, notifications, why=''):
        os.makedirs(self.state, exist_ok=True)
        tmp = self.mode_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'driver': driver, 'notifications': notifications,
                       'why': why}, f, indent=1)
        os.replace(tmp, self.mode_file)

    @property
    def real_containers(self):
        return self.mode['driver'] == MODE_REAL

    def path(self, *parts):
        return os.path.join(self.state, *parts)

    def log(self, name):
        return os.path.join(self.log_dir, name + '.log')

    def makedirs(self):
        for d in (self.state, self.run_dir, self.log_dir, self.bin_dir):
            os.makedirs(d, exist_ok=True)

    @property
    def secrets(self):
        if self._secrets is None:
            path = self.path('secrets.json')
            data = {}
            if os.path.exists(path):
                with open(path) as f:
                    data = json.load(f)
            changed = False
            for key in ('db_password', 'rabbit_password', 'kube_token'):
                if key not in data:
                    data[key] = secrets.token_hex(16)
                    changed = True
            if changed:
                os.makedirs(self.state, exist_ok=True)
                fd = os.open(path + '.tmp',
                             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, 'w') as f:
                    json.dump(data, f, indent=1)
                os.replace(path + '.tmp', path)
            self._secrets = data
        return self._secrets

    def db_url(self, service):
        return 'mysql+pymysql://%s:%s@%s:%d/%s?charset=utf8' % (
            DB_USER, self.secrets['db_password'], HOST, PORTS['mariadb'],
            DB_NAMES[service])

    @property
    def transport_url(self):
        return 'rabbit://%s:%s@%s:%d/%s' % (
            RABBIT_USER, self.secrets['rabbit_password'], HOST,
            PORTS['rabbitmq'], RABBIT_VHOST)

    def url(self, name, path=''):
        scheme = 'https' if name.startswith('kube') else 'http'
        return '%s://%s:%d%s' % (scheme, HOST, PORTS[name], path)

    @property
    def auth_url(self):
        return self.url('keystone', '/v3')
