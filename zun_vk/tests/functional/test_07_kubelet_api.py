"""kubectl logs, exec, attach, port-forward and stats on the node's pods.

Real kubectl against the real kube-apiserver, which dials zun-vk's
kubelet API with its client certificate; zun-vk relays to the agent on
the compute host, which drives the real engine. Both stream protocols
are tried: kubectl 1.32's WebSocket (passed through by the stack's
apiserver) and SPDY/3.1 (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false).
"""

import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import termios
import time
import urllib.request

import pytest

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures

PROTOCOLS = {'websocket': {}, 'spdy': {
    'KUBECTL_REMOTE_COMMAND_WEBSOCKETS': 'false',
    'KUBECTL_PORT_FORWARD_WEBSOCKETS': 'false'}}


@pytest.fixture(autouse=True)
def real_containers_only(stack):
    fixtures.require_real_containers(stack)


busybox = fixtures.busybox


def kubectl_env(stack, protocol='websocket'):
    env = dict(os.environ)
    env['KUBECONFIG'] = stack.kubeconfig
    env.update(PROTOCOLS[protocol])
    return env


def kubectl(stack, namespace, *args, protocol='websocket', input=None,
            timeout=60):
    return subprocess.run(['kubectl', '-n', namespace] + list(args),
                          env=kubectl_env(stack, protocol), input=input,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def run_pod(kube, namespace, name, containers, phases=('Running',),
            **spec):
    kube.core.create_namespaced_pod(namespace, conftest.pod_body(
        name, containers=containers, **spec))

    def ready():
        pod = kube.core.read_namespaced_pod(name, namespace)
        if pod.status.phase not in phases:
            return False
        if 'Running' in phases:
            return all(cs.ready for cs in pod.status.container_statuses
                       or [])
        return True
    fixtures.wait_for(ready, timeout=180, interval=0.5,
                      description='pod %s %s' % (name, '/'.join(phases)))


def wait_output(stack, namespace, args, expected, timeout=60):
    def seen():
        out = kubectl(stack, namespace, *args)
        return out.returncode == 0 and expected(out.stdout.decode())
    fixtures.wait_for(seen, timeout=timeout, interval=1,
                      description='kubectl %s' % ' '.join(args))
    return kubectl(stack, namespace, *args).stdout.decode()


# logs ------------------------------------------------------------------------

def test_logs_of_each_container_with_options(stack, kube, namespace):
    run_pod(kube, namespace, 'talk', [
        busybox('a', 'for i in 1 2 3; do echo a$i; done; echo a-err >&2; '
                     'sleep 3600'),
        busybox('b', 'echo b1; sleep 3600')],
        init_containers=[busybox('prep', 'echo prepared')])
    out = wait_output(stack, namespace, ['logs', 'talk', '-c', 'a'],
                      lambda text: 'a-err' in text)
    assert out.split() == ['a1', 'a2', 'a3', 'a-err']
    assert kubectl(stack, namespace, 'logs', 'talk', '-c', 'b').stdout == \
        b'b1\n'
    assert kubectl(stack, namespace, 'logs', 'talk', '-c', 'prep'
                   ).stdout == b'prepared\n'
    tail = kubectl(stack, namespace, 'logs', 'talk', '-c', 'a', '--tail=2')
    assert tail.stdout.split() == [b'a3', b'a-err']
    stamped = kubectl(stack, namespace, 'logs', 'talk', '-c', 'b',
                      '--timestamps').stdout.decode()
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z b1$',
                    stamped.strip()), stamped
    assert kubectl(stack, namespace, 'logs', 'talk', '-c', 'b',
                   '--since=1h').stdout == b'b1\n'
    assert kubectl(stack, namespace, 'logs', 'talk', '-c', 'a',
                   '--limit-bytes=3').stdout == b'a1\n'
    missing = kubectl(stack, namespace, 'logs', 'talk', '-c', 'nope')
    assert missing.returncode != 0
    assert b'nope' in missing.stderr


def test_logs_of_a_container_that_exited(stack, kube, namespace):
    run_pod(kube, namespace, 'done', [busybox('job', 'echo finished')],
            phases=('Succeeded',), restart_policy='Never')
    out = wait_output(stack, namespace, ['logs', 'done'],
                      lambda text: 'finished' in text)
    assert out == 'finished\n'


def test_logs_follow_streams_lines_as_written(stack, kube, namespace):
    run_pod(kube, namespace, 'ticker', [
        busybox('t', 'i=0; while true; do i=$((i+1)); echo tick$i; '
                     'sleep 1; done')])
    proc = subprocess.Popen(
        ['kubectl', '-n', namespace, 'logs', '-f', '--tail=1', 'ticker'],
        env=kubectl_env(stack), stdout=subprocess.PIPE)
    try:
        first = proc.stdout.readline().decode().strip()
        second = proc.stdout.readline().decode().strip()
        assert re.match(r'^tick\d+$', first), first
        # The second line was written after the follow began.
        assert int(second[4:]) == int(first[4:]) + 1
    finally:
        proc.kill()
        proc.wait()


# exec ------------------------------------------------------------------------

@pytest.fixture
def shell_pod(kube, namespace):
    run_pod(kube, namespace, 'shell', [busybox('sh', 'sleep 3600')])
    return 'shell'


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_exec_streams_and_exit_code(stack, namespace, shell_pod, protocol):
    out = kubectl(stack, namespace, 'exec', shell_pod, '--', 'sh', '-c',
                  'echo out; echo err >&2; exit 7', protocol=protocol)
    assert out.returncode == 7, out.stderr
    assert out.stdout == b'out\n'
    assert b'err\n' in out.stderr
    ok = kubectl(stack, namespace, 'exec', shell_pod, '--', 'true',
                 protocol=protocol)
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_exec_with_piped_stdin(stack, namespace, shell_pod, protocol):
    data = b''.join(b'line %d\n' % i for i in range(2000))
    out = kubectl(stack, namespace, 'exec', '-i', shell_pod, '--', 'sh',
                  '-c', 'cat; echo done', protocol=protocol, input=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data + b'done\n'


def _read_until(fd, pattern, timeout=60):
    buf = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            match = re.search(pattern, buf)
            if match:
                return match
    raise AssertionError('%r not seen in %r' % (pattern, buf[-500:]))


def _set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0,
                                                    0))


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_exec_tty_with_resize(stack, namespace, shell_pod, protocol):
    env = kubectl_env(stack, protocol)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe('kubectl', ['kubectl', '-n', namespace, 'exec', '-it',
                               shell_pod, '--', 'sh'], env)
    try:
        _set_size(fd, 30, 100)
        _read_until(fd, rb'[#$] ')
        os.write(fd, b'stty size\r')
        _read_until(fd, rb'30 100')
        _set_size(fd, 45, 120)
        os.kill(pid, signal.SIGWINCH)

        def resized():
            os.write(fd, b'stty size\r')
            try:
                _read_until(fd, rb'45 120', timeout=3)
                return True
            except AssertionError:
                return False
        fixtures.wait_for(resized, timeout=30, interval=0.5,
                          description='the new terminal size inside')
        os.write(fd, b'exit 3\r')
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 3
        pid = None
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


# attach and port-forward -----------------------------------------------------

def test_attach_to_a_container_reading_stdin(stack, kube, namespace):
    run_pod(kube, namespace, 'reader', [busybox(
        'r', 'while read line; do echo got:$line; done; sleep 3600',
        stdin=True)])
    proc = subprocess.Popen(
        ['kubectl', '-n', namespace, 'attach', '-i', 'reader'],
        env=kubectl_env(stack), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        def answered():
            proc.stdin.write(b'hello\n')
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 2)
            return ready and b'got:hello' in os.read(proc.stdout.fileno(),
                                                     4096)
        fixtures.wait_for(answered, timeout=60, interval=0.5,
                          description='the attached container answering')
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_port_forward_to_a_port_bound_on_loopback(stack, kube, namespace,
                                                  protocol):
    run_pod(kube, namespace, 'web', [busybox(
        'httpd', 'mkdir -p /www && echo hello-from-pod > /www/index.html && '
                 'exec httpd -f -p 127.0.0.1:8080 -h /www')])
    proc = subprocess.Popen(
        ['kubectl', '-n', namespace, 'port-forward', 'web', ':8080'],
        env=kubectl_env(stack, protocol), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()
        port = int(re.search(r'127\.0\.0\.1:(\d+)', line).group(1))
        for _ in range(3):
            with urllib.request.urlopen('http://127.0.0.1:%d/' % port,
                                        timeout=30) as reply:
                assert reply.read() == b'hello-from-pod\n'
    finally:
        proc.kill()
        proc.wait()


# stats -----------------------------------------------------------------------

def _raw(stack, path):
    out = subprocess.run(['kubectl', 'get', '--raw', path],
                         env=kubectl_env(stack), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode()


def test_stats_show_containers_that_grow_under_load(stack, kube, namespace):
    run_pod(kube, namespace, 'busy', [
        busybox('spin', 'while :; do :; done'),
        busybox('idle', 'sleep 3600')])
    proxy = '/api/v1/nodes/%s/proxy' % conftest.NODE

    def cpu_of(name):
        summary = json.loads(_raw(stack, proxy + '/stats/summary'))
        for pod in summary['pods']:
            if pod['podRef'] == {'name': 'busy', 'namespace': namespace,
                                 'uid': pod['podRef']['uid']}:
                for container in pod['containers']:
                    if container['name'] == name:
                        assert container['memory']['workingSetBytes'] > 0
                        return container['cpu']['usageCoreNanoSeconds']
        return None
    first = fixtures.wait_for(lambda: cpu_of('spin'), timeout=60,
                              description='the busy pod in stats/summary')
    fixtures.wait_for(lambda: (cpu_of('spin') or 0) > first + 10 ** 8,
                      timeout=60, description='CPU time growing')
    metrics = _raw(stack, proxy + '/metrics/resource')
    pattern = (r'container_cpu_usage_seconds_total\{container="spin",'
               r'namespace="%s",pod="busy"\} ([0-9.e+]+)' % namespace)
    assert float(re.search(pattern, metrics).group(1)) > 0
    assert re.search(r'container_memory_working_set_bytes\{container='
                     r'"idle",namespace="%s",pod="busy"\} [1-9]'
                     % namespace, metrics)


# security --------------------------------------------------------------------

KUBELET = ('127.0.0.1', conftest.KUBELET_PORT)


def _https(path, token=None, cert=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(*cert)
    request = urllib.request.Request('https://%s:%d%s' % (KUBELET + (path,)))
    if token:
        request.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(request, context=context,
                                    timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_kubelet_api_refuses_callers_without_rights(stack, kube, namespace,
                                                    tmp_path, ready_node):
    assert _https('/pods')[0] == 401
    assert _https('/pods', token='not-a-token')[0] == 401
    # A real token of a service account without nodes/proxy.
    kube.core.create_namespaced_service_account(
        namespace, {'metadata': {'name': 'nobody'}})
    token = kube.core.create_namespaced_service_account_token(
        'nobody', namespace, {'spec': {'audiences': []}}).status.token
    status, body = _https('/pods', token=token)
    assert status == 403
    assert b'subresource=proxy' in body
    assert _https('/stats/summary', token=token)[0] == 403
    # The cluster admin's token may.
    assert _https('/healthz', token=_admin_token(stack)) == (200, b'ok')
    # A client certificate from a CA the kubelet API does not trust.
    key, crt = tmp_path / 'key.pem', tmp_path / 'crt.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-keyout', str(key), '-out', str(crt),
                    '-days', '1',
                    '-subj', '/CN=system:admin/O=system:masters'],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError,
                        socket.error)):
        _https('/pods', cert=(str(crt), str(key)))


def _admin_token(stack):
    with open(stack.kubeconfig) as f:
        return re.search(r'token: (\S+)', f.read()).group(1)
