"""tools/localstack: a local stack of the real peers zun-vk talks to."""

import argparse
import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from . import components as comp
from . import context as C
from . import host_agent
from . import util
from . import venvs
from .util import info
from .util import StackError

KUBE_DEB_VERSION = '1.20.5+really1.20.2-1.1+deb12u1'

# name -> (class, dependencies)
GRAPH = [
    ('etcd', comp.Etcd, []),
    ('kube-apiserver', comp.KubeApiserver, ['etcd']),
    ('kube-scheduler', comp.KubeScheduler, ['kube-apiserver']),
    ('kube-controller-manager', comp.KubeControllerManager,
     ['kube-apiserver']),
    ('mariadb', comp.MariaDB, []),
    ('rabbitmq', comp.RabbitMQ, []),
    ('neutron', comp.Neutron, []),
    ('podman', comp.Podman, []),
    ('keystone', comp.Keystone, ['mariadb']),
    ('placement', comp.Placement, ['keystone']),
    ('zun-api', comp.ZunApi, ['keystone', 'rabbitmq', 'neutron']),
    ('zun-compute', comp.ZunCompute, ['zun-api', 'placement', 'podman']),
    ('zun-vk-agent', host_agent.ZunVKAgent, ['podman', 'kube-apiserver']),
    ('zun-vk', comp.ZunVK, ['zun-compute', 'kube-apiserver']),
]
NAMES = [g[0] for g in GRAPH]
# Stopped in these waves, each wave in parallel.
STOP_WAVES = [
    ['zun-vk', 'zun-vk-agent'],
    ['zun-compute', 'zun-api', 'placement', 'neutron',
     'kube-controller-manager', 'kube-scheduler'],
    ['keystone', 'kube-apiserver', 'podman'],
    ['etcd', 'rabbitmq', 'mariadb'],
]


# What setup.cfg's "agent" extra installs.
AGENT_EXTRA = 'docker>=7.0.0'


def kube_bin_dir(ctx):
    return os.path.join(ctx.cache, 'kubernetes-%s' % KUBE_DEB_VERSION, 'bin')


def resolve(ctx):
    """Fill in the paths of caches without creating anything."""
    ctx.kube_bin = kube_bin_dir(ctx)
    for name in ('keystone', 'placement', 'zun', 'client'):
        ctx.venvs[name] = venvs.venv_path(
            ctx.cache, name, [os.path.join(venvs.REQ_DIR, name + '.txt')])
    req = os.path.join(C.REPO_ROOT, 'requirements.txt')
    if os.path.exists(req):
        ctx.venvs['zun-vk'] = venvs.venv_path(ctx.cache, 'zun-vk', [req])


# ---------------------------------------------------------------------------
# installation


def _apt_install(ctx, packages):
    if not packages:
        return
    log = ctx.log('apt')
    info('apt-get install %s' % ' '.join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    util.run(['apt-get', 'update', '-qq'], log=log, env=env)
    util.run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends'] +
             packages, log=log, env=env)


def system_packages(ctx):
    need = []
    if not os.path.exists('/usr/bin/etcd'):
        need.append('etcd-server')
    if not shutil.which('openssl'):
        need.append('openssl')
    if not shutil.which('lscpu'):
        need.append('util-linux')
    if not shutil.which('kubectl'):
        need.append('kubernetes-client')
    db = comp.MariaDB(ctx)
    if not (shutil.which('mariadb') or shutil.which('mysql')):
        need.append('mariadb-client')
    if not os.path.exists('/usr/sbin/mariadbd') and \
            not util.port_open(db.port):
        need.append('mariadb-server')
    if not shutil.which('rabbitmqctl'):
        need.append('rabbitmq-server')
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        need.append('python3-venv')
    _apt_install(ctx, need)


def _repo_meta_hash():
    h = hashlib.sha256(C.REPO_ROOT.encode())
    for name in ('setup.cfg', 'setup.py', 'pyproject.toml'):
        m = os.path.join(C.REPO_ROOT, name)
        if os.path.exists(m):
            with open(m, 'rb') as f:
                h.update(f.read())
    return h.hexdigest()[:16]


def _pbr_env():
    # pbr reads the version from git; a copy without history has none.
    env = dict(os.environ)
    env.setdefault('PBR_VERSION', '0.1.0')
    return env


def _pip_into(ctx, venv, marker_name, marker_value, args, what,
              before=None, env=None):
    marker = os.path.join(venv, marker_name)
    try:
        with open(marker) as f:
            if f.read().strip() == marker_value:
                return
    except OSError:
        pass
    log = ctx.log('pip')
    info('installing %s' % what)
    if before:
        before()
    util.run([os.path.join(venv, 'bin', 'pip'), 'install', '-q',
              '--disable-pip-version-check'] + args, log=log, env=env)
    comp.write_file(marker, marker_value + '\n')


def install(ctx, with_zun_vk):
    """Everything that is slow the first time and cached afterwards."""
    errors = []
    threads = []

    def job(fn, *a):
        def run():
            try:
                fn(*a)
            except Exception as e:  # noqa: reported below
                errors.append(e)
        t = threading.Thread(target=run)
        t.start()
        threads.append(t)

    def build_kube():
        if all(os.access(os.path.join(ctx.kube_bin, b), os.X_OK) for b in (
                'kube-apiserver', 'kube-scheduler',
                'kube-controller-manager')):
            return
        info('building kube-apiserver, kube-scheduler and '
             'kube-controller-manager from Debian\'s kubernetes source '
             '(first run only, about 4 min), log %s'
             % ctx.log('build-kubernetes'))
        script = os.path.join(C.STACK_DIR, 'build-kubernetes.sh')
        env = dict(os.environ, KUBE_DEB_VERSION=KUBE_DEB_VERSION)
        p = subprocess.run([script, ctx.cache], env=env,
                           stdout=subprocess.PIPE,
                           stderr=open(ctx.log('build-kubernetes'), 'ab'))
        out = p.stdout.decode().strip().splitlines()
        if p.returncode != 0 or not out or \
                os.path.abspath(out[-1]) != os.path.abspath(ctx.kube_bin):
            raise StackError('building kubernetes failed, see %s'
                             % ctx.log('build-kubernetes'))

    def venv(name):
        venvs.ensure(ctx.cache, name, log=ctx.log('pip-' + name))

    def zun_venv():
        venv('zun')
        # Built from a copy: a build leaves files behind in its source dir.
        for marker, src_dir, what in (
                ('.zunvk-test-driver', C.TEST_DRIVER_DIR,
                 'the zun test driver'),
                ('.zunvk-podman-network', C.PODMAN_NETWORK_DIR,
                 'the podman network driver')):
            with tempfile.TemporaryDirectory() as tmp:
                src = os.path.join(tmp, os.path.basename(src_dir))
                _pip_into(ctx, ctx.venvs['zun'], marker,
                          util.tree_hash(src_dir),
                          ['--no-deps', '--force-reinstall', src],
                          '%s into the zun virtualenv' % what,
                          before=lambda s=src_dir, d=src: shutil.copytree(
                              s, d, ignore=shutil.ignore_patterns(
                                  '__pycache__', 'build', '*.egg-info')))
        # zun-vk itself, for its companion driver (entry point
        # zun_vk_notifying), without dependencies: the plugin imports
        # only Zun, oslo libraries and zun_vk.zun_plugin.
        _pip_into(ctx, ctx.venvs['zun'], '.zunvk-plugin',
                  _repo_meta_hash(), ['--no-deps', '-e', C.REPO_ROOT],
                  'zun-vk (editable, no dependencies) into the zun '
                  'virtualenv for its companion driver',
                  env=_pbr_env())

    def zun_vk_venv():
        req = os.path.join(C.REPO_ROOT, 'requirements.txt')
        venvs.ensure(ctx.cache, 'zun-vk', [req],
                     log=ctx.log('pip-zun-vk'))
        _pip_into(ctx, ctx.venvs['zun-vk'], '.zunvk-editable',
                  _repo_meta_hash(), ['--no-deps', '-e', C.REPO_ROOT],
                  'zun-vk (editable) into its virtualenv')
        # The compute-host agent runs from the same virtualenv.
        _pip_into(ctx, ctx.venvs['zun-vk'], '.zunvk-agent-extra',
                  AGENT_EXTRA, [AGENT_EXTRA],
                  'the agent\'s engine client into zun-vk\'s virtualenv')

    job(build_kube)
    job(venv, 'keystone')
    job(venv, 'placement')
    job(zun_venv)
    job(venv, 'client')
    # The compute-host agent runs from zun-vk's virtualenv too.
    if with_zun_vk or ctx.real_containers:
        job(zun_vk_venv)
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    # The CLIs, without putting a virtualenv's python first on PATH.
    for prog in ('zun', 'openstack'):
        link = os.path.join(ctx.bin_dir, prog)
        target = os.path.join(ctx.venvs['client'], 'bin', prog)
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)


def zun_vk_installable():
    return all(os.path.exists(os.path.join(C.REPO_ROOT, f))
               for f in ('requirements.txt',)) and any(
        os.path.exists(os.path.join(C.REPO_ROOT, f))
        for f in ('setup.cfg', 'setup.py', 'pyproject.toml'))


# ---------------------------------------------------------------------------
# commands


def make(ctx, name):
    for n, cls, _ in GRAPH:
        if n == name:
            return cls(ctx)
    raise StackError('unknown component %r (one of: %s)'
                     % (name, ', '.join(NAMES)))


def bring_up(ctx, names):
    """Start components (in dependency order, in parallel where possible)."""
    deps = {n: [d for d in ds if d in names] for n, _, ds in GRAPH
            if n in names}
    done, failed = set(), []
    lock = threading.Condition()
    results = {}

    def worker(name):
        c = make(ctx, name)
        try:
            if c.shared:
                msg = comp.ensure_shared(c)
            else:
                msg = c.up()
            info('%-24s %s' % (name, msg))
            with lock:
                done.add(name)
                lock.notify_all()
        except Exception as e:  # noqa: reported by the caller
            with lock:
                failed.append((name, e))
                lock.notify_all()

    started = set()
    threads = []
    with lock:
        while True:
            if failed:
                break
            ready = [n for n in deps if n not in started and
                     all(d in done for d in deps[n])]
            for n in ready:
                started.add(n)
                t = threading.Thread(target=worker, args=(n,))
                t.start()
                threads.append(t)
            if len(done) == len(deps):
                break
            lock.wait(0.5)
    for t in threads:
        t.join()
    if failed:
        name, e = failed[0]
        if isinstance(e, StackError):
            raise e
        raise StackError('%s failed to start (%s: %s), see %s' % (
            name, type(e).__name__, e, ctx.log(name)))
    return results


def prepare_real_containers(ctx):
    """Packages, podman config and images; None if containers run, else why."""
    from . import podman
    need = podman.missing_packages()
    if need:
        try:
            _apt_install(ctx, need)
        except StackError as e:
            return 'installing %s failed: %s' % (' '.join(need), e)
        need = [p for p in podman.missing_packages() if p != 'pciutils']
        if need:
            return 'still missing after apt-get: %s' % ' '.join(need)
    try:
        podman.write_config(ctx)
        podman.build_images(ctx)
    except (StackError, OSError, subprocess.SubprocessError) as e:
        return 'building the local images failed: %s' % e
    version = podman.cli(ctx, '--version', check=False).stdout.decode()
    want = hashlib.sha256((version + podman.IMAGES_VERSION).encode()
                          ).hexdigest()[:16]
    if comp._marker_ok(ctx, 'podman-probe', want):
        return None
    why = podman.probe(ctx)
    if why is None:
        comp._set_marker(ctx, 'podman-probe', want)
    return why


def choose_mode(ctx, args):
    """Decide and remember the driver mode and notifications."""
    notifications = not args.no_notifications
    if args.test_driver:
        driver, why = C.MODE_TEST, 'asked for (--test-driver)'
    else:
        t0 = time.time()
        problem = prepare_real_containers(ctx)
        if problem is None:
            driver = C.MODE_REAL
            why = 'podman runs containers here'
            info('real containers: podman works (checked in %.1fs)'
                 % (time.time() - t0))
        elif args.real_containers:
            raise StackError('real containers asked for (--real-containers) '
                             'but podman does not work here: %s' % problem)
        else:
            driver = C.MODE_TEST
            why = 'podman does not work here: %s' % problem
            info('real containers: not available (%s); using the test '
                 'driver' % problem)
    ctx.save_mode(driver, notifications, why)
    return driver


def mode_line(ctx):
    mode = ctx.mode
    if mode['driver'] == C.MODE_REAL:
        from . import podman
        what = ('real containers: Zun\'s docker driver on podman (%s)'
                % podman.api_url(ctx))
    else:
        what = 'test driver (zunvk_test, nothing runs)'
    return ('mode: %s, wrapped by %s; notifications %s (topic %s)%s' % (
        what, C.PLUGIN_DRIVER, 'on' if mode['notifications'] else 'off',
        C.NOTIFY_TOPIC, ' [%s]' % mode['why'] if mode['why'] else ''))


def write_zun_vk_conf(ctx):
    comp.write_zun_vk_conf(ctx, host_agent.zun_vk_sections(ctx)
                           if ctx.real_containers else None)


def mode_names(ctx, names):
    """The components of the stack's mode among names."""
    # The agent needs an engine: real-container mode only.
    return [n for n in names if n not in ('podman', 'zun-vk-agent') or
            ctx.real_containers]


def cmd_up(ctx, args):
    t0 = time.time()
    ctx.makedirs()
    with_zun_vk = not args.no_zun_vk
    if with_zun_vk and not zun_vk_installable():
        info('zun-vk: skipped: %s has no requirements.txt and setup.cfg '
             'yet, so zun-vk cannot be installed' % C.REPO_ROOT)
        with_zun_vk = False
    resolve(ctx)
    system_packages(ctx)
    driver = choose_mode(ctx, args)
    if driver != C.MODE_REAL:
        podman_svc = comp.Podman(ctx)
        if podman_svc.pid():
            # zun-compute goes back to the test driver: it must not find
            # (or be found by) the engine.
            comp.ZunCompute(ctx).stop()
            podman_svc.stop()
    install(ctx, with_zun_vk)
    write_zun_vk_conf(ctx)
    names = mode_names(ctx, [n for n in NAMES
                             if n != 'zun-vk' or with_zun_vk])
    bring_up(ctx, names)
    info(mode_line(ctx))
    info('stack ready in %.1fs (state %s)' % (time.time() - t0, ctx.state))
    info('use it with: eval "$(%s env)"' % os.path.join(C.TOOLS_DIR,
                                                        'localstack'))


def cmd_install(ctx, args):
    """Only the slow, cached part of `up`: packages, builds, virtualenvs."""
    t0 = time.time()
    ctx.makedirs()
    with_zun_vk = not args.no_zun_vk and zun_vk_installable()
    resolve(ctx)
    system_packages(ctx)
    install(ctx, with_zun_vk)
    info('installed in %.1fs (caches in %s)' % (time.time() - t0, ctx.cache))


def stop_all(ctx, names):
    stopped = []
    errors = []

    def stop(c):
        try:
            t0 = time.time()
            pid = c.stop()
            if pid:
                stopped.append((c.name, pid, time.time() - t0))
        except Exception as e:  # noqa: reported below
            errors.append(e)

    for wave in STOP_WAVES:
        threads = []
        for name in wave:
            if name not in names:
                continue
            t = threading.Thread(target=stop, args=(make(ctx, name),))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    for name, pid, took in stopped:
        info('%-24s stopped (pid %d) in %.1fs' % (name, pid, took))
    if errors:
        raise errors[0]


def cmd_down(ctx, args):
    t0 = time.time()
    stop_all(ctx, NAMES)
    info('stack down in %.1fs' % (time.time() - t0))


def cmd_status(ctx, args):
    resolve(ctx)
    any_down = False
    total_rss = 0
    for name in mode_names(ctx, NAMES):
        c = make(ctx, name)
        state, pid = c.status()
        if state == 'down' and c.shared:
            try:
                if c.ready():
                    state, pid = 'up', None
                    name_note = ' (machine\'s own)'
                else:
                    name_note = ''
            except Exception:
                name_note = ''
        else:
            name_note = ''
        if state != 'up' and name != 'zun-vk':
            any_down = True
        rss = sum(util.rss_kb(p) for p in c.all_pids())
        total_rss += rss
        print('%-24s %-9s %-44s %-7s %s' % (
            name, state, c.address + name_note, pid if pid else '-',
            '%dMB' % (rss // 1024) if rss else '-'))
    print('%-24s %-9s %-44s %-7s %dMB' % (
        'total', '', '(RSS of the processes this stack started)', '',
        total_rss // 1024))
    print(mode_line(ctx))
    return 1 if any_down else 0


def cmd_env(ctx, args):
    resolve(ctx)
    lines = {
        'KUBECONFIG': ctx.kubeconfig,
        'OS_AUTH_URL': ctx.auth_url,
        'OS_USERNAME': C.DEMO_USER,
        'OS_PASSWORD': C.DEMO_PASSWORD,
        'OS_PROJECT_NAME': C.DEMO_PROJECT,
        'OS_USER_DOMAIN_NAME': 'Default',
        'OS_PROJECT_DOMAIN_NAME': 'Default',
        'OS_REGION_NAME': C.REGION,
        'OS_IDENTITY_API_VERSION': '3',
        'OS_ENDPOINT_TYPE': 'publicURL',
        'OS_INTERFACE': 'public',
        'ZUN_API_VERSION': C.ZUN_API_VERSION,
        'ZUN_VK_CONFIG': ctx.zun_vk_conf,
        'ZUN_VK_NODE': C.ZUN_VK_NODE,
        'ZUN_VK_STACK_DIR': ctx.state,
        'ZUN_VK_STACK_DRIVER': ctx.mode['driver'],
        'ZUN_VK_STACK_NOTIFICATIONS': ('true' if ctx.mode['notifications']
                                       else 'false'),
        'ZUN_VK_STACK_NOTIFY_TOPIC': C.NOTIFY_TOPIC,
        'ZUN_VK_STACK_TRANSPORT_URL': ctx.transport_url,
        'ZUN_VK_STACK_ZUN_HOST': C.zun_host(),
    }
    if ctx.real_containers:
        from . import podman
        # The podman CLI then works on the stack's storage: it sees the
        # stack's containers and images, also while the service is down.
        lines.update(podman.env(ctx))
        lines['ZUN_VK_STACK_PODMAN_SOCKET'] = podman.socket_path(ctx)
    for k, v in lines.items():
        print('export %s=%s' % (k, shlex.quote(v)))
    print('export PATH=%s:"$PATH"' % shlex.quote(
        '%s:%s' % (ctx.bin_dir, ctx.kube_bin)))


def cmd_stop_component(ctx, args):
    c = make(ctx, args.name)
    pid = c.stop()
    info('%s %s' % (args.name, 'stopped (pid %d)' % pid if pid
                    else 'was not running'))


def cmd_start_component(ctx, args):
    resolve(ctx)
    if args.name == 'zun-vk':
        write_zun_vk_conf(ctx)
    c = make(ctx, args.name)
    msg = comp.ensure_shared(c) if c.shared else c.up()
    info('%s %s' % (args.name, msg))


def cmd_clean(ctx, args):
    stop_all(ctx, NAMES)
    if os.path.exists(ctx.path('podman', 'containers.conf')):
        from . import podman
        podman.remove_all_containers(ctx)
        podman.remove_networks(ctx)
    db = comp.MariaDB(ctx)
    if db.ready():
        db.drop_all()
    rmq = comp.RabbitMQ(ctx)
    if rmq.ready() and shutil.which('rabbitmqctl'):
        rmq.drop_all()
    if os.path.isdir(ctx.state):
        shutil.rmtree(ctx.state)
    info('removed %s, the stack\'s databases and RabbitMQ vhost '
         '(caches in %s kept)' % (ctx.state, ctx.cache))


@contextlib.contextmanager
def _exclusive(ctx):
    ctx.makedirs()
    with open(os.path.join(ctx.run_dir, 'localstack.lock'), 'w') as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            info('waiting for another localstack command to finish')
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='localstack',
        description='A local stack of the real peers of zun-vk: etcd, '
                    'kube-apiserver, kube-scheduler, '
                    'kube-controller-manager, Keystone, Placement, a '
                    'Neutron stand-in, zun-api, zun-compute (Zun\'s docker '
                    'driver on podman, or a test driver) and zun-vk.')
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('up', help='install what is missing and start')
    p.add_argument('--no-zun-vk', action='store_true',
                   help='start everything except zun-vk itself')
    which = p.add_mutually_exclusive_group()
    which.add_argument('--test-driver', action='store_true',
                       help='zun-compute with the test driver (nothing '
                       'runs), even where podman works')
    which.add_argument('--real-containers', action='store_true',
                       help='zun-compute with Zun\'s docker driver on '
                       'podman; fail if podman does not work here')
    p.add_argument('--no-notifications', action='store_true',
                   help='the companion plugin sends no notifications and '
                   'zun-vk listens for none (it only polls)')
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser('install', help='only install and build what `up` '
                       'needs (packages, kubernetes, virtualenvs)')
    p.add_argument('--no-zun-vk', action='store_true',
                   help='skip the zun-vk virtualenv')
    p.set_defaults(fn=cmd_install)
    sub.add_parser('down', help='stop everything this stack started'
                   ).set_defaults(fn=cmd_down)
    sub.add_parser('status', help='one line per component'
                   ).set_defaults(fn=cmd_status)
    sub.add_parser('env', help='print export lines for a shell'
                   ).set_defaults(fn=cmd_env)
    p = sub.add_parser('stop-component', help='stop one component')
    p.add_argument('name', choices=NAMES)
    p.set_defaults(fn=cmd_stop_component)
    p = sub.add_parser('start-component', help='start one component')
    p.add_argument('name', choices=NAMES)
    p.set_defaults(fn=cmd_start_component)
    sub.add_parser('clean', help='down, then drop the stack\'s databases, '
                   'RabbitMQ vhost and state dir (caches are kept)'
                   ).set_defaults(fn=cmd_clean)
    args = ap.parse_args(argv)
    ctx = C.Context()
    try:
        if args.cmd in ('env', 'status'):
            return args.fn(ctx, args) or 0
        # One changing command at a time (a test fixture may run `up`
        # while someone else does): two would start everything twice.
        with _exclusive(ctx):
            return args.fn(ctx, args) or 0
    except StackError as e:
        sys.stderr.write('localstack: ERROR: %s\n' % e)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write('localstack: interrupted\n')
        return 130
