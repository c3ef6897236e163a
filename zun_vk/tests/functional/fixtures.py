"""Helpers for functional tests against the stack of tools/localstack.

Nothing here is a pytest fixture itself: conftest.py builds its fixtures
from these. The stack (etcd, kube-apiserver, kube-scheduler,
kube-controller-manager, Keystone, Placement, a Neutron stand-in, zun-api
and zun-compute with zun-vk's companion driver around Zun's docker
driver on podman, or around the test driver: see stack_driver()) is
started once by ensure_stack() and left running for later runs;
`tools/localstack down` stops it.
"""

import collections
import os
import signal
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
LOCALSTACK = os.path.join(REPO_ROOT, 'tools', 'localstack')

AUTH_URL = 'http://127.0.0.1:15000/v3'
DEMO = {'username': 'demo', 'password': 'demo-secret',
        'project_name': 'demo', 'user_domain_name': 'Default',
        'project_domain_name': 'Default'}
REGION = 'RegionOne'
ZUN_API_VERSION = '1.40'

Stack = collections.namedtuple('Stack', [
    'state_dir', 'kubeconfig', 'zun_vk_conf', 'node', 'auth_url', 'env'])
KubeClients = collections.namedtuple('KubeClients', [
    'core', 'apps', 'batch', 'coordination', 'api_client'])


class TimeoutExpired(AssertionError):
    """wait_for gave up; the message names what was awaited."""


def wait_for(predicate, timeout=60, interval=0.5, description=None):
    """Poll predicate() until it returns a true value, and return that.

    Exceptions from predicate count as "not yet"; the last one is
    reported if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:  # noqa: B902 - polled again
            last_error = exc
        if time.monotonic() >= deadline:
            what = description or getattr(predicate, '__name__', 'condition')
            msg = 'timed out after %ss waiting for %s' % (timeout, what)
            if last_error is not None:
                msg += ' (last error: %s: %s)' % (
                    type(last_error).__name__, last_error)
            raise TimeoutExpired(msg)
        time.sleep(interval)


# ---------------------------------------------------------------------------
# the stack


def _system_python():
    # tools/localstack is stdlib-only and meant for the system python3;
    # from inside a virtualenv use the interpreter it was made from.
    return getattr(sys, '_base_executable', None) or sys.executable


def _localstack(*args, check=True, quiet=False):
    env = dict(os.environ)
    for key in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME'):
        env.pop(key, None)
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.run([_system_python(), LOCALSTACK] + list(args),
                          env=env, stdout=out, stderr=out)
    if check and proc.returncode != 0:
        raise RuntimeError('tools/localstack %s failed with exit code %d'
                           % (' '.join(args), proc.returncode))
    return proc.returncode


def _stack_env():
    out = subprocess.run([_system_python(), LOCALSTACK, 'env'],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    env = {}
    for line in out.splitlines():
        if line.startswith('export ') and '=' in line:
            key, _, value = line[len('export '):].partition('=')
            if key != 'PATH':
                env[key] = value.strip("'")
    return env


def stack_info():
    env = _stack_env()
    return Stack(state_dir=env['ZUN_VK_STACK_DIR'],
                 kubeconfig=env['KUBECONFIG'],
                 zun_vk_conf=env['ZUN_VK_CONFIG'],
                 node=env['ZUN_VK_NODE'],
                 auth_url=env['OS_AUTH_URL'], env=env)


def stack_healthy():
    """True when every component but zun-vk answers."""
    return _localstack('status', check=False, quiet=True) == 0


def ensure_stack():
    """Start the stack (without zun-vk) unless it already runs healthy."""
    if not stack_healthy():
        _localstack('up', '--no-zun-vk')
    return stack_info()


def stack_driver(stack=None):
    """'real' when zun-compute runs real containers (podman), else 'test'."""
    stack = stack or stack_info()
    return stack.env.get('ZUN_VK_STACK_DRIVER', 'test')


def real_containers(stack=None):
    return stack_driver(stack) == 'real'


def require_real_containers(stack):
    """Skip the calling test unless zun-compute runs real containers."""
    import pytest
    if not real_containers(stack):
        pytest.skip('the stack runs the test driver, not real containers '
                    '(tools/localstack up --real-containers)')


def busybox(name, script, **extra):
    """A container spec running script with sh in the stack's busybox."""
    container = {'name': name, 'image': 'busybox',
                 'imagePullPolicy': 'IfNotPresent',
                 'command': ['sh', '-c', script]}
    container.update(extra)
    return container


def stop_component(name):
    """Stop one stack component (e.g. 'zun-api') until start_component."""
    _localstack('stop-component', name)


def start_component(name):
    """Start one stack component again; returns once it is ready."""
    _localstack('start-component', name)


# ---------------------------------------------------------------------------
# clients


def kube_clients(stack=None):
    from kubernetes import client
    from kubernetes import config

    stack = stack or stack_info()
    api = config.new_client_from_config(config_file=stack.kubeconfig)
    return KubeClients(core=client.CoreV1Api(api),
                       apps=client.AppsV1Api(api),
                       batch=client.BatchV1Api(api),
                       coordination=client.CoordinationV1Api(api),
                       api_client=api)


class ZunClient(object):
    """A python-zunclient v1 client for the demo project, and its session."""

    def __init__(self, client, session, api_version):
        self.client = client
        self.session = session
        self.api_version = api_version

    def __getattr__(self, name):
        return getattr(self.client, name)


def keystone_session(stack=None, **credentials):
    from keystoneauth1.identity import v3
    from keystoneauth1 import session as ks_session

    auth_url = stack.auth_url if stack else AUTH_URL
    creds = dict(DEMO)
    creds.update(credentials)
    return ks_session.Session(auth=v3.Password(auth_url=auth_url, **creds))


def zun_client(stack=None, api_version=None, **credentials):
    """A zunclient for the demo project (or the credentials given).

    At microversion 1.40, or the newest the server has if that is older.
    """
    from zunclient import api_versions
    from zunclient import client as zclient

    session = keystone_session(stack, **credentials)
    endpoint = session.get_endpoint(service_type='container',
                                    interface='public', region_name=REGION)
    wanted = api_versions.APIVersion(api_version or ZUN_API_VERSION)
    resp = session.get(endpoint.rstrip('/').rsplit('/v1', 1)[0] + '/',
                       authenticated=False, raise_exc=False)
    try:
        newest = resp.json()['versions'][0]['max_version']
        newest = api_versions.APIVersion(newest)
        if newest < wanted:
            wanted = newest
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    client = zclient.Client(wanted.get_string(), session=session,
                            endpoint_override=endpoint, region_name=REGION)
    return ZunClient(client, session, wanted.get_string())


def _to_dict(resource):
    return resource.to_dict() if hasattr(resource, 'to_dict') else dict(
        resource._info)


def list_capsules(zun, all_projects=False):
    """Every capsule the client's project can see, as dicts."""
    result, marker = [], None
    while True:
        kwargs = {'limit': 100, 'marker': marker, 'sort_key': 'created_at',
                  'sort_dir': 'asc'}
        if all_projects:
            kwargs['all_projects'] = True
        page = zun.capsules.list(**kwargs)
        result.extend(_to_dict(c) for c in page)
        if len(page) < 100:
            return result
        marker = page[-1].uuid


def capsule_detail(zun, capsule_id):
    """GET of one capsule as a dict, or None after a 404."""
    from zunclient import exceptions

    try:
        return _to_dict(zun.capsules.get(capsule_id))
    except exceptions.NotFound:
        return None


def create_capsule(zun, template):
    """POST a capsule template ({'kind', 'metadata', 'spec'}); a dict."""
    return _to_dict(zun.capsules.create(template=template))


def delete_capsule(zun, capsule_id, wait=False, timeout=60):
    """DELETE a capsule (a 404 is fine); optionally wait until it is gone."""
    from zunclient import exceptions

    try:
        zun.capsules.delete(capsule_id)
    except exceptions.NotFound:
        return
    if wait:
        wait_for(lambda: capsule_detail(zun, capsule_id) is None,
                 timeout=timeout, description='capsule %s gone' % capsule_id)


def project_quotas(zun):
    """The project's Zun quotas: containers, cpu, memory, disk."""
    project_id = zun.session.get_project_id()
    return _to_dict(zun.quotas.get(project_id))


# ---------------------------------------------------------------------------
# zun-vk as a process


class ZunVK(object):
    """zun-vk run from this checkout as `python -m zun_vk.cmd.agent`.

    config_file: a path or a list of paths (later files override earlier
    ones); extra_args: more command line arguments; overrides: a dict
    {'group': {'option': value}} written to an extra config file placed
    after config_file.
    """

    def __init__(self, config_file, log_file=None, extra_args=(),
                 overrides=None, env=None):
        if isinstance(config_file, (str, os.PathLike)):
            config_file = [config_file]
        self.config_files = [str(c) for c in config_file]
        self.log_file = str(log_file) if log_file else None
        self.extra_args = list(extra_args)
        self.overrides = overrides
        self.env = env
        self.proc = None
        self._log = None

    def _override_file(self):
        if not self.overrides:
            return None
        base = self.log_file or os.path.join(
            os.path.dirname(self.config_files[0]), 'zun-vk')
        path = base + '.overrides.conf'
        lines = []
        for group, values in self.overrides.items():
            lines.append('[%s]' % group)
            lines.extend('%s = %s' % kv for kv in values.items())
            lines.append('')
        with open(path, 'w') as f:
            f.write('\n'.join(lines))
        return path

    @property
    def command(self):
        cmd = [sys.executable, '-m', 'zun_vk.cmd.agent']
        files = list(self.config_files)
        extra = self._override_file()
        if extra:
            files.append(extra)
        for path in files:
            cmd += ['--config-file', path]
        return cmd + self.extra_args

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        """Start zun-vk unless it is already running; returns the pid."""
        if self.is_running():
            return self.proc.pid
        env = dict(os.environ)
        env.update(self.env or {})
        if self._log is None and self.log_file:
            os.makedirs(os.path.dirname(self.log_file) or '.', exist_ok=True)
            self._log = open(self.log_file, 'ab')
        out = self._log or subprocess.DEVNULL
        if self._log:
            self._log.write(('\n===== %s starting: %s\n' % (
                time.strftime('%H:%M:%S'), ' '.join(self.command))).encode())
            self._log.flush()
        self.proc = subprocess.Popen(self.command, stdout=out, stderr=out,
                                     stdin=subprocess.DEVNULL, env=env,
                                     cwd=REPO_ROOT, start_new_session=True)
        return self.proc.pid

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except OSError:
            pass

    def stop(self, timeout=30):
        """SIGTERM, wait for the exit (SIGKILL after timeout); exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(10)
        # Worker processes left behind by the parent are ended too.
        self._signal_group(signal.SIGKILL)
        return self.proc.returncode

    def kill(self):
        """SIGKILL the whole process group, as a crash would; exit code."""
        if self.proc is None:
            return None
        self._signal_group(signal.SIGKILL)
        self.proc.wait(10)
        return self.proc.returncode

    def close(self):
        self.stop()
        if self._log:
            self._log.close()
            self._log = None


def start_zun_vk(stack, node, log_dir, overrides=None, kube=None,
                 timeout=120):
    """A zun-vk of its own for node, started and waited for until Ready.

    overrides: {'group': {'option': value}} on top of the stack's
    zun-vk.conf (node_name is set to node).
    """
    # Extra nodes serve no kubelet API: the port belongs to the suite's
    # main zun-vk.
    merged = {'DEFAULT': {'node_name': node, 'debug': 'true'},
              'kubelet': {'enabled': 'false'}}
    for group, values in (overrides or {}).items():
        merged.setdefault(group, {}).update(values)
    os.makedirs(str(log_dir), exist_ok=True)
    process = ZunVK([stack.zun_vk_conf],
                    log_file=os.path.join(str(log_dir), node + '.log'),
                    overrides=merged)
    process.start()
    if kube is not None:
        try:
            wait_for(lambda: node_condition(kube, node, 'Ready') == 'True',
                     timeout=timeout, description='node %s Ready' % node)
        except Exception:
            process.close()
            raise
    return process


def node_condition(kube, node, kind='Ready'):
    """The status of one condition of a node, or None."""
    try:
        obj = kube.core.read_node(node)
    except Exception:  # noqa: B902 - not registered (yet)
        return None
    for cond in obj.status.conditions or []:
        if cond.type == kind:
            return cond.status
    return None


def delete_node(kube, node):
    try:
        kube.core.delete_node(node)
    except Exception:  # noqa: B902 - gone already
        pass


def pod_body_for(node, name, containers, labels=None,
                 restart_policy='Never', **spec):
    """A Pod for node (nodeSelector and the virtual-kubelet toleration)."""
    body_spec = {
        'nodeSelector': {'kubernetes.io/hostname': node},
        'tolerations': [{'key': 'virtual-kubelet.io/provider',
                         'operator': 'Exists', 'effect': 'NoSchedule'}],
        'restartPolicy': restart_policy,
        'containers': containers,
    }
    body_spec.update(spec)
    return {'apiVersion': 'v1', 'kind': 'Pod',
            'metadata': {'name': name, 'labels': labels or {}},
            'spec': body_spec}


def capsule_of_pod(zun, pod_uid):
    """The capsule (list view) labelled with pod_uid, or None."""
    for capsule in list_capsules(zun):
        if (capsule.get('labels') or {}).get('zun-vk/pod-uid') == pod_uid:
            return capsule
    return None


# ---------------------------------------------------------------------------
# the message broker (the machine's RabbitMQ, shared)


def rabbitmqctl(*args, timeout=120):
    return subprocess.run(['rabbitmqctl', '-q'] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def broker_answers(vhost='zun-vk-stack'):
    """True when RabbitMQ runs its application and serves the vhost."""
    import socket

    try:
        with socket.create_connection(('127.0.0.1', 5672), timeout=2):
            pass
    except OSError:
        return False
    try:
        p = rabbitmqctl('list_queues', '-p', vhost, 'name', timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode == 0


def queue_consumers(vhost='zun-vk-stack'):
    """{queue name: consumer count} on the vhost ({} if unanswered)."""
    try:
        p = rabbitmqctl('list_queues', '-p', vhost, 'name', 'consumers',
                        timeout=30)
    except subprocess.TimeoutExpired:
        return {}
    out = {}
    for line in p.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def notification_publisher(stack, topic=None, exchange='zun',
                           publisher_id='zun-compute.functional-test'):
    """A plain oslo.messaging Notifier on the stack's broker and exchange."""
    from oslo_config import cfg
    import oslo_messaging

    url = stack.env['ZUN_VK_STACK_TRANSPORT_URL']
    topic = topic or stack.env.get('ZUN_VK_STACK_NOTIFY_TOPIC',
                                   'zun_vk_stack')
    conf = cfg.ConfigOpts()
    conf([], project='zun-vk-functional', default_config_files=[])
    # The transport registers control_exchange (its default exchange)
    # and reads it when made: register, set, then make the real one.
    oslo_messaging.get_notification_transport(conf, url=url).cleanup()
    conf.set_override('control_exchange', exchange)
    transport = oslo_messaging.get_notification_transport(conf, url=url)
    return oslo_messaging.Notifier(transport, publisher_id=publisher_id,
                                   driver='messagingv2', topics=[topic],
                                   retry=3)


# ---------------------------------------------------------------------------
# podman (when the stack runs real containers)


def podman(*args, stack=None, timeout=120):
    """The podman CLI on the stack's containers; a CompletedProcess."""
    stack = stack or stack_info()
    env = dict(os.environ)
    for key in ('CONTAINERS_CONF', 'CONTAINERS_STORAGE_CONF',
                'CONTAINER_HOST'):
        if key in stack.env:
            env[key] = stack.env[key]
        else:
            env.pop(key, None)
    return subprocess.run(['podman'] + list(args), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def podman_container_names(stack=None):
    """Names of every container podman has for the stack (running or not)."""
    p = podman('ps', '-a', '--format', '{{.Names}}', stack=stack)
    if p.returncode != 0:
        raise RuntimeError('podman ps failed: %s'
                           % p.stderr.decode(errors='replace'))
    return set(p.stdout.decode().split())
