"""The components of the local stack and how each starts, checks, stops."""

import hashlib
import os
import shutil
import ssl
import subprocess
import sys
import time

from . import context as C
from . import streaming_pki
from . import util
from .util import info
from .util import StackError


def _fingerprint(*texts):
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode() if isinstance(t, str) else t)
    return h.hexdigest()[:16]


def write_file(path, text, mode=0o644):
    """Write text if it differs; return True when the file changed."""
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def ini(sections):
    """Render {section: {key: value}} as an INI file."""
    out = []
    for section, values in sections.items():
        out.append('[%s]' % section)
        for k, v in values.items():
            if isinstance(v, bool):
                v = 'true' if v else 'false'
            out.append('%s = %s' % (k, v))
        out.append('')
    return '\n'.join(out)


def insecure_ssl():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Component(object):
    """One process of the stack, tracked by a pid file under $STATE/run."""

    name = None
    port_key = None
    ready_timeout = 60
    stop_timeout = 30
    # May be the machine's own service, reused when reachable.
    shared = False
    # Variables of the caller's environment the process must not see.
    unset_env = ()

    def __init__(self, ctx):
        self.ctx = ctx

    # -- identity ----------------------------------------------------------

    @property
    def port(self):
        return C.PORTS[self.port_key or self.name]

    @property
    def address(self):
        return '%s:%d' % (C.HOST, self.port)

    @property
    def pid_file(self):
        return os.path.join(self.ctx.run_dir, self.name + '.pid')

    @property
    def log_file(self):
        return self.ctx.log(self.name)

    # -- overridables ------------------------------------------------------

    def configure(self):
        """Write config files; return a fingerprint of them."""
        return ''

    def pre_start(self):
        """One-time setup before the process starts (db sync, keys...)."""

    def command(self):
        """Return (argv, extra env, cwd)."""
        raise NotImplementedError

    def ready(self):
        return util.port_open(self.port)

    def post_ready(self):
        """Setup that needs the running service (idempotent)."""

    # -- pid file ----------------------------------------------------------

    def _record(self):
        try:
            with open(self.pid_file) as f:
                parts = f.read().split()
            return int(parts[0]), int(parts[1]), (parts[2] if len(parts) > 2
                                                  else '')
        except (OSError, ValueError, IndexError):
            return None, None, ''

    def pid(self):
        """PID of our running process, or None."""
        pid, started, _ = self._record()
        if pid and util.pid_alive(pid) and \
                util.proc_start_time(pid) == started:
            return pid
        return None

    def all_pids(self):
        pid = self.pid()
        return [pid] + util.children(pid) if pid else []

    # -- lifecycle ---------------------------------------------------------

    def start(self, fingerprint=''):
        argv, env, cwd = self.command()
        full_env = dict(os.environ)
        for k in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV') + tuple(
                self.unset_env):
            full_env.pop(k, None)
        full_env.update(env or {})
        os.makedirs(self.ctx.log_dir, exist_ok=True)
        with open(self.log_file, 'ab') as log:
            log.write(('\n===== %s starting: %s\n' % (
                time.strftime('%Y-%m-%d %H:%M:%S'),
                ' '.join(argv))).encode())
            log.flush()
            proc = subprocess.Popen(argv, stdout=log, stderr=log,
                                    stdin=subprocess.DEVNULL, env=full_env,
                                    cwd=cwd or self.ctx.state,
                                    start_new_session=True, close_fds=True)
        self.started_at = time.time()
        with open(self.pid_file + '.tmp', 'w') as f:
            f.write('%d %d %s\n' % (proc.pid, util.proc_start_time(proc.pid),
                                    fingerprint or '-'))
        os.replace(self.pid_file + '.tmp', self.pid_file)
        self._proc = proc
        return proc.pid

    def wait_ready(self, timeout=None):
        proc = getattr(self, '_proc', None)

        def alive():
            if proc is not None:
                return proc.poll() is None
            return self.pid() is not None
        try:
            util.wait_for(self.ready, timeout or self.ready_timeout,
                          self.name, alive=alive)
        except StackError as e:
            rc = proc.poll() if proc is not None else None
            why = ('exited with code %s' % rc if rc is not None
                   else str(e).split(': ', 1)[-1])
            raise StackError('%s failed to start (%s), see %s'
                             % (self.name, why, self.log_file))

    def stop(self):
        pid = self.pid()
        if pid:
            util.terminate(pid, self.stop_timeout, self.name)
        proc = getattr(self, '_proc', None)
        if proc is not None:
            proc.poll()
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass
        return pid

    def up(self):
        """Bring the component up unless it already runs healthy."""
        t0 = time.time()
        fp = self.configure() or ''
        pid = self.pid()
        if pid:
            recorded = self._record()[2]
            if recorded not in (fp, '-') and fp:
                info('%s: configuration changed, restarting' % self.name)
                self.stop()
            elif self.ready() or self._wait_quietly(15):
                self.post_ready()
                return 'already running (pid %d)' % pid
            else:
                info('%s (pid %d) is not healthy, restarting'
                     % (self.name, pid))
                self.stop()
        if self.port_key is not False and util.port_open(self.port):
            raise StackError('%s: port %d is already in use by a process '
                             'this stack did not start' %
                             (self.name, self.port))
        self.pre_start()
        pid = self.start(fp)
        self.wait_ready()
        self.post_ready()
        return 'started (pid %d) in %.1fs' % (pid, time.time() - t0)

    def _wait_quietly(self, timeout):
        try:
            util.wait_for(self.ready, timeout, self.name,
                          alive=lambda: self.pid() is not None)
            return True
        except StackError:
            return False

    def status(self):
        pid = self.pid()
        if pid:
            try:
                ok = self.ready()
            except Exception:
                ok = False
            return ('up' if ok else 'unhealthy'), pid
        return 'down', None


# ---------------------------------------------------------------------------
# Kubernetes


class Etcd(Component):
    name = 'etcd'

    def command(self):
        data = self.ctx.path('etcd')
        os.makedirs(data, mode=0o700, exist_ok=True)
        client = 'http://%s:%d' % (C.HOST, C.PORTS['etcd'])
        peer = 'http://%s:%d' % (C.HOST, C.PORTS['etcd-peer'])
        return ([shutil.which('etcd') or '/usr/bin/etcd',
                 '--name', 'zun-vk-stack', '--data-dir', data,
                 '--listen-client-urls', client,
                 '--advertise-client-urls', client,
                 '--listen-peer-urls', peer,
                 '--initial-advertise-peer-urls', peer,
                 '--initial-cluster', 'zun-vk-stack=' + peer,
                 '--unsafe-no-fsync', '--logger', 'zap',
                 '--log-level', 'warn'], {}, None)

    def ready(self):
        status, body, _ = util.http('GET', 'http://%s:%d/health' % (
            C.HOST, self.port), timeout=2)
        return status == 200 and isinstance(body, dict) and \
            body.get('health') == 'true'


class KubePKI(object):
    """CA, apiserver serving cert, service-account key, tokens."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = ctx.path('kube')

    def f(self, name):
        return os.path.join(self.dir, name)

    def ensure(self):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        openssl = shutil.which('openssl') or '/usr/bin/openssl'
        log = self.ctx.log('kube-pki')
        if not os.path.exists(self.f('sa.key')):
            util.run([openssl, 'genrsa', '-out', self.f('sa.key'), '2048'],
                     log=log)
        if not os.path.exists(self.f('ca.crt')):
            util.run([openssl, 'req', '-x509', '-newkey', 'rsa:2048',
                      '-nodes', '-keyout', self.f('ca.key'),
                      '-out', self.f('ca.crt'), '-days', '3650',
                      '-subj', '/CN=zun-vk-stack-ca'], log=log)
        if not os.path.exists(self.f('apiserver.crt')):
            ext = self.f('apiserver.ext')
            write_file(ext, (
                'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,'
                'DNS:kubernetes,DNS:kubernetes.default,'
                'DNS:kubernetes.default.svc\n'
                'keyUsage=digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=serverAuth\n'))
            util.run([openssl, 'req', '-newkey', 'rsa:2048', '-nodes',
                      '-keyout', self.f('apiserver.key'),
                      '-out', self.f('apiserver.csr'),
                      '-subj', '/CN=kube-apiserver'], log=log)
            util.run([openssl, 'x509', '-req', '-in', self.f('apiserver.csr'),
                      '-CA', self.f('ca.crt'), '-CAkey', self.f('ca.key'),
                      '-CAcreateserial', '-days', '3650',
                      '-extfile', ext, '-out', self.f('apiserver.crt')],
                     log=log)
        token = self.ctx.secrets['kube_token']
        write_file(self.f('tokens.csv'),
                   '%s,admin,admin,"system:masters"\n' % token, 0o600)
        self.write_kubeconfig(self.ctx.kubeconfig, 'admin', token)

    def write_kubeconfig(self, path, user, token):
        import base64
        with open(self.f('ca.crt'), 'rb') as f:
            ca = base64.b64encode(f.read()).decode()
        return write_file(path, (
            'apiVersion: v1\n'
            'kind: Config\n'
            'clusters:\n'
            '- name: zun-vk-stack\n'
            '  cluster:\n'
            '    server: https://%s:%d\n'
            '    certificate-authority-data: %s\n'
            'users:\n'
            '- name: %s\n'
            '  user:\n'
            '    token: %s\n'
            'contexts:\n'
            '- name: zun-vk-stack\n'
            '  context:\n'
            '    cluster: zun-vk-stack\n'
            '    user: %s\n'
            'current-context: zun-vk-stack\n'
        ) % (C.HOST, C.PORTS['kube-apiserver'], ca, user, token, user),
            0o600)

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.f('ca.crt'))


def kube_request(ctx, method, path, body=None, timeout=3):
    pki = KubePKI(ctx)
    return util.http(method, ctx.url('kube-apiserver', path), body=body,
                     headers={'Authorization': 'Bearer ' +
                              ctx.secrets['kube_token']},
                     timeout=timeout, context=pki.ssl_context())


def kube_get(ctx, path, timeout=3):
    return kube_request(ctx, 'GET', path, timeout=timeout)


class KubeApiserver(Component):
    name = 'kube-apiserver'

    def configure(self):
        pki = KubePKI(self.ctx)
        pki.ensure()
        streaming = streaming_pki.StreamingPKI(self.ctx)
        streaming.ensure()
        return _fingerprint(self.ctx.secrets['kube_token'],
                            os.environ.get('ZUN_VK_STACK_KUBE_EXTRA_ARGS',
                                           ''), streaming.fingerprint(),
                            'kubelet-client-flags')

    def command(self):
        pki = KubePKI(self.ctx)
        argv = [
            os.path.join(self.ctx.kube_bin, 'kube-apiserver'),
            '--bind-address=%s' % C.HOST,
            '--advertise-address=%s' % C.HOST,
            '--secure-port=%d' % self.port,
            '--etcd-servers=http://%s:%d' % (C.HOST, C.PORTS['etcd']),
            '--token-auth-file=%s' % pki.f('tokens.csv'),
            '--authorization-mode=RBAC',
            '--client-ca-file=%s' % pki.f('ca.crt'),
            '--tls-cert-file=%s' % pki.f('apiserver.crt'),
            '--tls-private-key-file=%s' % pki.f('apiserver.key'),
            '--service-account-issuer=https://kubernetes.default.svc',
            '--service-account-key-file=%s' % pki.f('sa.key'),
            '--service-account-signing-key-file=%s' % pki.f('sa.key'),
            '--service-cluster-ip-range=10.0.0.0/24',
            '--disable-admission-plugins=ServiceAccount',
            '--allow-privileged=true',
            '--cert-dir=%s' % pki.f('certs'),
            # How the apiserver reaches zun-vk's kubelet API: its own
            # client certificate, the node's certificate checked against
            # the cluster CA, and the node's InternalIP.
            '--kubelet-client-certificate=%s'
            % pki.f('apiserver-kubelet-client.crt'),
            '--kubelet-client-key=%s' % pki.f('apiserver-kubelet-client.key'),
            '--kubelet-certificate-authority=%s' % pki.f('ca.crt'),
            '--kubelet-preferred-address-types=InternalIP,Hostname',
            '--profiling=false',
            '--v=1',
        ]
        argv += os.environ.get('ZUN_VK_STACK_KUBE_EXTRA_ARGS', '').split()
        return argv, {}, None

    def ready(self):
        status, body, _ = kube_get(self.ctx, '/readyz', timeout=2)
        return status == 200

    def post_ready(self):
        # The kubelet API lets the apiserver's client certificate in only
        # with nodes/proxy, stats, metrics and log: what this role grants.
        binding = {
            'apiVersion': 'rbac.authorization.k8s.io/v1',
            'kind': 'ClusterRoleBinding',
            'metadata': {'name': 'zun-vk-stack:apiserver-kubelet-client'},
            'roleRef': {'apiGroup': 'rbac.authorization.k8s.io',
                        'kind': 'ClusterRole',
                        'name': 'system:kubelet-api-admin'},
            'subjects': [{'apiGroup': 'rbac.authorization.k8s.io',
                          'kind': 'User',
                          'name': streaming_pki.KUBELET_CLIENT_USER}],
        }
        status, body, _ = kube_request(
            self.ctx, 'POST',
            '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
            binding)
        if status not in (201, 409):
            raise StackError('kube-apiserver: cannot bind %s to '
                             'system:kubelet-api-admin (HTTP %s: %s)'
                             % (streaming_pki.KUBELET_CLIENT_USER, status,
                                body))


class _KubeController(Component):
    binary = None
    ready_timeout = 60

    def configure(self):
        pki = KubePKI(self.ctx)
        self.kubeconfig = pki.f(self.name + '.kubeconfig')
        pki.write_kubeconfig(self.kubeconfig, 'admin',
                             self.ctx.secrets['kube_token'])
        return _fingerprint(self.ctx.secrets['kube_token'])

    def common_args(self):
        return [
            os.path.join(self.ctx.kube_bin, self.name),
            '--kubeconfig=%s' % self.kubeconfig,
            '--authentication-kubeconfig=%s' % self.kubeconfig,
            '--authorization-kubeconfig=%s' % self.kubeconfig,
            '--bind-address=%s' % C.HOST,
            '--secure-port=%d' % self.port,
            '--port=0',
            '--leader-elect=false',
            '--profiling=false',
            '--v=1',
        ]

    def ready(self):
        status, body, _ = util.http(
            'GET', 'https://%s:%d/healthz' % (C.HOST, self.port),
            timeout=2, context=insecure_ssl())
        return status == 200


class KubeScheduler(_KubeController):
    name = 'kube-scheduler'

    def command(self):
        return self.common_args(), {}, None


class KubeControllerManager(_KubeController):
    name = 'kube-controller-manager'

    def command(self):
        pki = KubePKI(self.ctx)
        return self.common_args() + [
            '--service-account-private-key-file=%s' % pki.f('sa.key'),
            '--root-ca-file=%s' % pki.f('ca.crt'),
            '--use-service-account-credentials=true',
            '--controllers=*,-nodeipam',
            '--cluster-name=zun-vk-stack',
        ], {}, None


# ---------------------------------------------------------------------------
# Shared infrastructure: MariaDB and RabbitMQ


class MariaDB(Component):
    name = 'mariadb'
    shared = True
    ready_timeout = 60

    def command(self):
        os.makedirs('/run/mysqld', exist_ok=True)
        try:
            shutil.chown('/run/mysqld', 'mysql', 'mysql')
        except (LookupError, OSError):
            pass
        return (['/usr/sbin/mariadbd'], {}, '/')

    def ready(self):
        p = subprocess.run(self.client_argv() + ['-e', 'SELECT 1'],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return p.returncode == 0

    @staticmethod
    def client_argv():
        client = shutil.which('mariadb') or shutil.which('mysql') or \
            '/usr/bin/mariadb'
        return [client, '-uroot', '-h', C.HOST, '-P', str(C.PORTS['mariadb']),
                '--connect-timeout=3']

    def sql(self, statements, capture=False):
        p = util.run(self.client_argv() + ['-N', '-B'],
                     input='\n'.join(statements).encode(), capture=True)
        return p.stdout.decode()

    def post_ready(self):
        pw = self.ctx.secrets['db_password']
        stmts = []
        for db in C.DB_NAMES.values():
            stmts.append('CREATE DATABASE IF NOT EXISTS `%s` '
                         'CHARACTER SET utf8mb4;' % db)
        for host in ('127.0.0.1', 'localhost'):
            stmts.append("CREATE USER IF NOT EXISTS '%s'@'%s' "
                         "IDENTIFIED BY '%s';" % (C.DB_USER, host, pw))
            stmts.append("ALTER USER '%s'@'%s' IDENTIFIED BY '%s';"
                         % (C.DB_USER, host, pw))
            for db in C.DB_NAMES.values():
                stmts.append("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s';"
                             % (db, C.DB_USER, host))
        self.sql(stmts)

    def drop_all(self):
        stmts = ['DROP DATABASE IF EXISTS `%s`;' % db
                 for db in C.DB_NAMES.values()]
        for host in ('127.0.0.1', 'localhost'):
            stmts.append("DROP USER IF EXISTS '%s'@'%s';" % (C.DB_USER, host))
        self.sql(stmts)


class RabbitMQ(Component):
    name = 'rabbitmq'
    shared = True
    ready_timeout = 90
    stop_timeout = 60

    def command(self):
        return ([shutil.which('rabbitmq-server') or
                 '/usr/sbin/rabbitmq-server'],
                {'RABBITMQ_NODE_IP_ADDRESS': C.HOST}, '/')

    def ready(self):
        return util.port_open(self.port)

    def _ctl(self, *args, check=True):
        return util.run([shutil.which('rabbitmqctl') or
                         '/usr/sbin/rabbitmqctl', '-q'] + list(args),
                        capture=True, check=check)

    def post_ready(self):
        marker = self.ctx.path('markers', 'rabbitmq')
        want = _fingerprint(C.RABBIT_USER, C.RABBIT_VHOST,
                            self.ctx.secrets['rabbit_password'],
                            C.RABBIT_POLICY, C.RABBIT_POLICY_PATTERN,
                            C.RABBIT_POLICY_DEFINITION)
        if os.path.exists(marker):
            with open(marker) as f:
                if f.read().strip() == want:
                    perms = self._ctl('list_permissions', '-p', C.RABBIT_VHOST,
                                      check=False)
                    if perms.returncode == 0 and \
                            C.RABBIT_USER in perms.stdout.decode():
                        return
        vhosts = self._ctl('list_vhosts').stdout.decode().split()
        if C.RABBIT_VHOST not in vhosts:
            self._ctl('add_vhost', C.RABBIT_VHOST)
        users = [line.split()[0] for line in
                 self._ctl('list_users').stdout.decode().splitlines()
                 if line.strip()]
        pw = self.ctx.secrets['rabbit_password']
        if C.RABBIT_USER in users:
            self._ctl('change_password', C.RABBIT_USER, pw)
        else:
            self._ctl('add_user', C.RABBIT_USER, pw)
        self._ctl('set_permissions', '-p', C.RABBIT_VHOST, C.RABBIT_USER,
                  '.*', '.*', '.*')
        self.set_policy()
        write_file(marker, want + '\n')

    def set_policy(self):
        """Cap the notification queues nothing (or no one any more) drains.

        The companion plugin's notifier declares and fills
        <topic>.info although zun-vk listens through a pool queue of its
        own; a stopped zun-vk leaves its pool queue behind. Both are
        capped at 1000 messages (oldest dropped) and deleted after an
        hour without consumers.
        """
        self._ctl('set_policy', '-p', C.RABBIT_VHOST, '--apply-to', 'queues',
                  '--priority', '1', C.RABBIT_POLICY,
                  C.RABBIT_POLICY_PATTERN, C.RABBIT_POLICY_DEFINITION)

    def drop_all(self):
        self._ctl('delete_vhost', C.RABBIT_VHOST, check=False)
        self._ctl('delete_user', C.RABBIT_USER, check=False)
        try:
            os.unlink(self.ctx.path('markers', 'rabbitmq'))
        except OSError:
            pass


def ensure_shared(comp):
    """Reuse the machine's service when reachable, else start our own."""
    if comp.pid() is None and comp.ready():
        comp.post_ready()
        return 'reusing the machine\'s server at %s' % comp.address
    return comp.up()


# ---------------------------------------------------------------------------
# OpenStack


def _marker_ok(ctx, name, value):
    path = ctx.path('markers', name)
    try:
        with open(path) as f:
            return f.read().strip() == value
    except OSError:
        return False


def _set_marker(ctx, name, value):
    write_file(ctx.path('markers', name), value + '\n')


def _venv_bin(ctx, venv, prog):
    return os.path.join(ctx.venvs[venv], 'bin', prog)


def _gunicorn(ctx, venv, port, app, name, extra=()):
    argv = [_venv_bin(ctx, venv, 'gunicorn'),
            '--bind', '%s:%d' % (C.HOST, port),
            '--workers', '1', '--worker-class', 'gthread', '--threads', '8',
            '--timeout', '120', '--graceful-timeout', '5',
            '--name', name, '--no-control-socket']
    return argv + list(extra) + [app]


class Keystone(Component):
    name = 'keystone'
    ready_timeout = 90

    @property
    def conf_dir(self):
        return self.ctx.path('keystone')

    def configure(self):
        d = self.conf_dir
        text = ini({
            'DEFAULT': {'debug': False, 'use_stderr': True},
            'database': {'connection': self.ctx.db_url('keystone'),
                         'max_retries': -1},
            'token': {'provider': 'fernet', 'expiration': 86400},
            'fernet_tokens': {
                'key_repository': os.path.join(d, 'fernet-keys')},
            'fernet_receipts': {
                'key_repository': os.path.join(d, 'fernet-keys')},
            'credential': {
                'key_repository': os.path.join(d, 'credential-keys')},
            'cache': {'enabled': True, 'backend': 'oslo_cache.dict'},
            'identity': {'password_hash_rounds': 4},
            'oslo_policy': {'enforce_new_defaults': True,
                            'enforce_scope': False},
        })
        write_file(os.path.join(d, 'keystone.conf'), text, 0o600)
        return _fingerprint(text)

    def manage(self, *args):
        util.run([_venv_bin(self.ctx, 'keystone', 'keystone-manage'),
                  '--config-file', os.path.join(self.conf_dir,
                                                'keystone.conf')] +
                 list(args), log=self.ctx.log('keystone-manage'))

    def pre_start(self):
        if _marker_ok(self.ctx, 'keystone', 'bootstrapped'):
            return
        info('keystone: db_sync and bootstrap (first run)')
        self.manage('db_sync')
        for what in ('fernet_setup', 'credential_setup'):
            self.manage(what, '--keystone-user', 'root',
                        '--keystone-group', 'root')
        url = self.ctx.url('keystone')
        self.manage('bootstrap', '--bootstrap-password', C.ADMIN_PASSWORD,
                    '--bootstrap-region-id', C.REGION,
                    '--bootstrap-admin-url', url,
                    '--bootstrap-internal-url', url,
                    '--bootstrap-public-url', url)
        _set_marker(self.ctx, 'keystone', 'bootstrapped')

    def command(self):
        return (_gunicorn(self.ctx, 'keystone', self.port,
                          'keystone_wsgi:application', 'keystone',
                          ['--pythonpath', C.STACK_DIR]),
                {'OS_KEYSTONE_CONFIG_DIR': self.conf_dir}, None)

    def ready(self):
        status, _, _ = util.http('GET', self.ctx.url('keystone', '/v3'),
                                 timeout=3)
        return status == 200

    def post_ready(self):
        from . import keystone_setup
        want = _fingerprint(repr(keystone_setup.SPEC_VERSION))
        if _marker_ok(self.ctx, 'keystone-resources', want):
            return
        keystone_setup.ensure_resources(self.ctx)
        _set_marker(self.ctx, 'keystone-resources', want)


def _authtoken(ctx, user):
    return {
        'www_authenticate_uri': ctx.url('keystone'),
        'auth_url': ctx.url('keystone'),
        'auth_type': 'password',
        'auth_version': 'v3',
        'username': user,
        'password': C.SERVICE_USERS[user],
        'project_name': C.SERVICE_PROJECT,
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'region_name': C.REGION,
        'service_token_roles_required': True,
    }


class Placement(Component):
    name = 'placement'

    @property
    def conf_dir(self):
        return self.ctx.path('placement')

    def configure(self):
        text = ini({
            'DEFAULT': {'debug': False, 'use_stderr': True},
            'api': {'auth_strategy': 'keystone'},
            'keystone_authtoken': _authtoken(self.ctx, 'placement'),
            'placement_database': {
                'connection': self.ctx.db_url('placement'),
                'max_retries': -1},
            'oslo_policy': {'enforce_new_defaults': True,
                            'enforce_scope': False},
        })
        write_file(os.path.join(self.conf_dir, 'placement.conf'), text, 0o600)
        return _fingerprint(text)

    def pre_start(self):
        if _marker_ok(self.ctx, 'placement-db', self.ctx.venvs['placement']):
            return
        util.run([_venv_bin(self.ctx, 'placement', 'placement-manage'),
                  '--config-file',
                  os.path.join(self.conf_dir, 'placement.conf'),
                  'db', 'sync'], log=self.ctx.log('placement-manage'))
        _set_marker(self.ctx, 'placement-db', self.ctx.venvs['placement'])

    def command(self):
        return (_gunicorn(self.ctx, 'placement', self.port,
                          'placement.wsgi.api:application', 'placement'),
                {'OS_PLACEMENT_CONFIG_DIR': self.conf_dir}, None)

    def ready(self):
        status, _, _ = util.http('GET', self.ctx.url('placement', '/'),
                                 timeout=3)
        return status == 200


class Neutron(Component):
    name = 'neutron'

    def command(self):
        os.makedirs(self.ctx.path('neutron'), exist_ok=True)
        return ([sys.executable, os.path.join(C.STACK_DIR,
                                              'neutron_standin.py'),
                 '--host', C.HOST, '--port', str(self.port),
                 '--state-file', self.ctx.path('neutron', 'state.json')],
                {}, None)

    def ready(self):
        status, _, _ = util.http('GET', self.ctx.url('neutron',
                                                     '/v2.0/networks'),
                                 timeout=2)
        return status == 200


class Podman(Component):
    """`podman system service`: the Docker API for Zun's docker driver."""

    name = 'podman'
    port_key = False
    ready_timeout = 30
    stop_timeout = 20
    # With these podman would be a client of another service.
    unset_env = ('CONTAINER_HOST', 'CONTAINER_CONNECTION')

    @property
    def address(self):
        return 'Docker API on $STATE/podman/podman.sock'

    def configure(self):
        from . import podman
        return _fingerprint(podman.write_config(self.ctx))

    def pre_start(self):
        from . import podman
        try:
            os.unlink(podman.socket_path(self.ctx))
        except OSError:
            pass

    def command(self):
        from . import podman
        return ([podman.podman_bin(), 'system', 'service', '--time=0',
                 podman.api_url(self.ctx)], podman.env(self.ctx), None)

    def ready(self):
        from . import podman
        return podman.service_ready(self.ctx)

    def up(self):
        if self.pid() is None and os.path.exists(
                os.path.join(self.ctx.path('podman'), 'containers.conf')):
            # Left over from a service that died: nothing runs them.
            self.remove_containers()
        return super(Podman, self).up()

    def remove_containers(self):
        from . import podman
        try:
            n = podman.remove_all_containers(self.ctx)
        except StackError as e:
            info('podman: removing the stack\'s containers failed: %s' % e)
            return 0
        if n:
            info('podman: removed %d container(s) of the stack' % n)
        return n

    def stop(self):
        # The containers outlive the service (conmon keeps them): remove
        # them first, through the CLI on the stack's own storage.
        if os.path.exists(os.path.join(self.ctx.path('podman'),
                                       'containers.conf')):
            self.remove_containers()
        return super(Podman, self).stop()


def zun_conf_path(ctx):
    return ctx.path('zun', 'zun.conf')


def write_zun_conf(ctx):
    d = ctx.path('zun')
    paste = os.path.join(ctx.venvs['zun'], 'etc', 'zun', 'api-paste.ini')
    auth = _authtoken(ctx, 'zun')
    keystone_auth = {k: v for k, v in auth.items()
                     if k not in ('www_authenticate_uri', 'auth_version',
                                  'service_token_roles_required')}
    mode = ctx.mode
    real = mode['driver'] == C.MODE_REAL
    default = {
        'debug': True,
        'use_stderr': True,
        # [DEFAULT] host is left unset: the hostname, which Zun's docker
        # driver needs (it must equal the engine's info.Name).
        'my_ip': C.HOST,
        'state_path': os.path.join(d, 'state'),
        'transport_url': ctx.transport_url,
        # The companion plugin wraps the driver that runs the capsules.
        'container_driver': C.PLUGIN_DRIVER,
        'capsule_driver': C.PLUGIN_DRIVER,
        'image_driver_list': 'docker',
        'default_image_driver': 'docker',
        'sync_container_state_interval': C.SYNC_INTERVAL,
        'periodic_interval_max': 10,
        # zun-compute reports in about once a minute: three misses first.
        'service_down_time': 180,
    }
    if real:
        from . import podman
        default.update({
            'sandbox_image': podman.SANDBOX_REF,
            'sandbox_image_driver': 'docker',
        })
    sections = {
        'DEFAULT': default,
        'api': {'host_ip': C.HOST, 'port': C.PORTS['zun-api'],
                'workers': 1, 'api_paste_config': paste},
        'database': {'connection': ctx.db_url('zun'), 'max_retries': -1},
        'keystone_authtoken': auth,
        'keystone_auth': keystone_auth,
        'placement_client': {'region_name': C.REGION,
                             'endpoint_type': 'public'},
        'neutron_client': {'region_name': C.REGION,
                           'endpoint_type': 'public'},
        'cinder_client': {'region_name': C.REGION,
                          'endpoint_type': 'public'},
        'glance_client': {'region_name': C.REGION,
                          'endpoint_type': 'public'},
        'zun_client': {'region_name': C.REGION, 'endpoint_type': 'public'},
        'oslo_concurrency': {'lock_path': os.path.join(d, 'lock')},
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 60},
        'zunvk_test_driver': {'state_dir': os.path.join(d, 'test-driver')},
        'oslo_policy': {'enforce_new_defaults': True,
                        'enforce_scope': False},
        'oslo_messaging_notifications': {
            'driver': 'messagingv2',
            'transport_url': ctx.transport_url,
            'topics': C.NOTIFY_TOPIC,
        },
        'zun_vk_plugin': {
            'wrapped_driver': C.DRIVER_NAMES[mode['driver']],
            'notifications_enabled': mode['notifications'],
            'notification_topics': C.NOTIFY_TOPIC,
        },
    }
    if real:
        from . import podman
        sections['docker'] = {
            'api_url': podman.api_url(ctx),
            'docker_remote_api_version': podman.API_VERSION,
            'default_timeout': 120,
        }
        sections['network'] = {'driver': 'zunvk_podman'}
        # Shared with zun-vk-agent: the host directories of pod volumes.
        sections['zun_vk_plugin']['pods_dir'] = pod_volumes_dir(ctx)
    text = ini(sections)
    write_file(zun_conf_path(ctx), text, 0o600)
    for sub in ('state', 'lock', 'test-driver'):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    return _fingerprint(text)


class ZunApi(Component):
    name = 'zun-api'

    def configure(self):
        return write_zun_conf(self.ctx)

    def pre_start(self):
        zun_db_upgrade(self.ctx)

    def command(self):
        return ([_venv_bin(self.ctx, 'zun', 'zun-api'),
                 '--config-file', zun_conf_path(self.ctx)], {}, None)

    def ready(self):
        status, _, _ = util.http('GET', self.ctx.url('zun-api', '/v1'),
                                 timeout=3)
        return status == 200


def zun_db_upgrade(ctx):
    if _marker_ok(ctx, 'zun-db', ctx.venvs['zun']):
        return
    util.run([_venv_bin(ctx, 'zun', 'zun-db-manage'),
              '--config-file', zun_conf_path(ctx), 'upgrade'],
             log=ctx.log('zun-db-manage'))
    _set_marker(ctx, 'zun-db', ctx.venvs['zun'])


class ZunCompute(Component):
    name = 'zun-compute'
    port_key = False
    ready_timeout = 90
    # It keeps consuming RPC for seconds after SIGTERM: wait for the exit.
    stop_timeout = 60

    @property
    def address(self):
        mode = self.ctx.mode
        return 'host=%s, %s' % (
            C.zun_host(), 'docker on podman' if mode['driver'] ==
            C.MODE_REAL else 'test driver')

    def configure(self):
        # A changed driver or plugin is reinstalled by `up` (the plugin is
        # an editable install): restart to load it.
        return _fingerprint(write_zun_conf(self.ctx),
                            util.tree_hash(C.TEST_DRIVER_DIR),
                            util.tree_hash(C.PODMAN_NETWORK_DIR),
                            util.tree_hash(C.PLUGIN_DIR))

    def pre_start(self):
        zun_db_upgrade(self.ctx)
        self._forget_other_hosts()

    def _forget_other_hosts(self):
        """Drop compute services and nodes of other host names.

        Older stacks ran zun-compute as host "localstack"; a stale row
        would let the scheduler pick a host nobody serves.
        """
        db = C.DB_NAMES['zun']
        host = C.zun_host()
        MariaDB(self.ctx).sql([
            "DELETE FROM `%s`.pci_device WHERE compute_node_uuid IN "
            "(SELECT uuid FROM `%s`.compute_node WHERE hostname <> '%s');"
            % (db, db, host),
            "DELETE FROM `%s`.compute_node WHERE hostname <> '%s';"
            % (db, host),
            "DELETE FROM `%s`.zun_service WHERE `binary` = 'zun-compute' "
            "AND host <> '%s';" % (db, host)])

    def command(self):
        env = {'ZUN_VK_TEST_DRIVER_STATE_DIR':
               self.ctx.path('zun', 'test-driver')}
        if not shutil.which('lspci'):
            # The inventory task shells out to lspci (pciutils); without
            # it the compute node is never created.
            standin = self.ctx.path('zun', 'bin', 'lspci')
            write_file(standin, '#!/bin/sh\nexit 0\n', 0o755)
            env['PATH'] = '%s:%s' % (os.path.dirname(standin),
                                     os.environ.get('PATH', '/usr/bin:/bin'))
        return ([_venv_bin(self.ctx, 'zun', 'zun-compute'),
                 '--config-file', zun_conf_path(self.ctx)], env, None)

    def _last_seen_up(self):
        out = MariaDB(self.ctx).sql([
            "SET time_zone = '+00:00';",
            "SELECT UNIX_TIMESTAMP(last_seen_up) FROM `%s`.zun_service "
            "WHERE host = '%s' AND `binary` = 'zun-compute';"
            % (C.DB_NAMES['zun'], C.zun_host())]).split()
        return float(out[-1]) if out and out[-1] != 'NULL' else 0.0

    def ready(self):
        if self.pid() is None:
            return False
        started = getattr(self, 'started_at', None)
        if started is None:
            pid = self.pid()
            started = _proc_start_epoch(pid)
        if self._last_seen_up() < int(started) - 1:
            return False
        from . import keystone_setup
        return keystone_setup.resource_provider_exists(self.ctx,
                                                       C.zun_host())


def _proc_start_epoch(pid):
    ticks = util.proc_start_time(pid) or 0
    with open('/proc/stat') as f:
        for line in f:
            if line.startswith('btime'):
                btime = int(line.split()[1])
                break
        else:
            btime = 0
    return btime + ticks / os.sysconf('SC_CLK_TCK')


class ZunVK(Component):
    name = 'zun-vk'
    port_key = False
    ready_timeout = 90
    node_name = C.ZUN_VK_NODE

    @property
    def address(self):
        return 'node %s' % self.node_name

    def config_files(self):
        return [self.ctx.zun_vk_conf]

    def configure(self):
        # zun-vk.conf is written by `up` before this: restart on a change
        # (notifications turned on or off, for example).
        texts = []
        for path in self.config_files():
            try:
                with open(path) as f:
                    texts.append(f.read())
            except OSError:
                return ''
        return _fingerprint(*texts)

    def command(self):
        argv = [_venv_bin(self.ctx, 'zun-vk', 'zun-vk')]
        for path in self.config_files():
            argv += ['--config-file', path]
        return argv, {}, None

    def ready(self):
        if self.pid() is None:
            return False
        status, body, _ = kube_get(self.ctx,
                                   '/api/v1/nodes/' + self.node_name)
        if status != 200:
            return False
        started = getattr(self, 'started_at', None)
        for cond in body.get('status', {}).get('conditions', []):
            if cond.get('type') == 'Ready':
                if cond.get('status') != 'True':
                    return False
                if started is None:
                    return True
                # The node object outlives a zun-vk: only a heartbeat of
                # the process just started counts.
                import calendar
                try:
                    beat = calendar.timegm(time.strptime(
                        cond.get('lastHeartbeatTime') or '',
                        '%Y-%m-%dT%H:%M:%SZ'))
                except ValueError:
                    return False
                return beat >= int(started) - 1
        return False


def pod_volumes_dir(ctx):
    """zun-compute's and the agent's pods_dir."""
    return ctx.path('pod-volumes')


def write_zun_vk_conf(ctx, extra_sections=None):
    pki = streaming_pki.StreamingPKI(ctx)
    sections = {
        'DEFAULT': {'node_name': C.ZUN_VK_NODE, 'cluster_id': 'localstack',
                    'debug': True},
        # localhost resolves to the node's InternalIP here.
        'node': {'hostname': 'localhost'},
        'kubelet': {'tls_cert_file': pki.kube('kubelet-serving.crt'),
                    'tls_private_key_file': pki.kube('kubelet-serving.key'),
                    'client_ca_file': pki.kube('ca.crt')},
        'kubernetes': {'kubeconfig': ctx.kubeconfig},
        'zun': {'auth_type': 'password', 'auth_url': ctx.auth_url,
                'username': C.DEMO_USER, 'password': C.DEMO_PASSWORD,
                'project_name': C.DEMO_PROJECT,
                'user_domain_name': 'Default',
                'project_domain_name': 'Default',
                'region_name': C.REGION, 'valid_interfaces': 'public',
                # zun-compute runs wrapped by the companion driver.
                'companion_driver': True},
        'sync': {'status_poll_interval': 2, 'reconcile_interval': 30,
                 'orphan_grace_period': 30},
        'oslo_messaging_notifications': {
            'transport_url': ctx.transport_url},
        'notifications': {'enabled': ctx.mode['notifications'],
                          'topics': C.NOTIFY_TOPIC,
                          'exchange': C.NOTIFY_EXCHANGE},
    }
    sections.update(extra_sections or {})
    return write_file(ctx.zun_vk_conf, ini(sections), 0o600)
