"""Real kubectl 1.32 and the Python client against our WebSocket server.

kubectl 1.32 execs over v5.channel.k8s.io and forwards ports over
SPDY/3.1+portforward.k8s.io (the SPDY session in WebSocket messages);
the Python client forwards ports over v4.channel.k8s.io. Everything runs
on 127.0.0.1; no test falls back to SPDY.
"""

import socket
import subprocess

from kubernetes import client as kube_client
from kubernetes import stream as kube_stream

from zun_vk.tests.unit.kubelet import kubectl_ws_harness as harness_lib


def _echo_stdin(exit_code=None, error=None):
    def handler(channels):
        while True:
            data = channels.read_stdin()
            if not data:
                break
            channels.write_stdout(data)
        channels.write_stderr(b'to stderr\n')
        channels.finish(exit_code=exit_code, error=error)
    return handler


def _echo_upper(conn):
    while True:
        data = conn.read()
        if not data:
            return
        conn.write(data.upper())


def test_exec_prints_both_streams_and_exits_with_the_code():
    with harness_lib.Harness(exec_handler=_echo_stdin(7)) as harness:
        result = harness.kubectl('exec', '-i', 'p', '--', 'cat',
                                 input=b'hello\nworld\n')
        assert harness.wait_sessions()
    assert result.stdout == b'hello\nworld\n'
    assert result.stderr == (b'to stderr\n'
                             b'command terminated with exit code 7\n')
    assert result.returncode == 7
    assert harness.negotiated == ['v5.channel.k8s.io']
    assert harness.fallbacks == []


def test_exec_exit_zero_with_much_input():
    with harness_lib.Harness(exec_handler=_echo_stdin(0)) as harness:
        result = harness.kubectl('exec', '-i', 'p', '--', 'cat',
                                 input=b'x' * 300000)
        assert harness.wait_sessions()
    assert result.returncode == 0, result.stderr
    assert result.stdout == b'x' * 300000
    assert result.stderr == b'to stderr\n'
    assert harness.fallbacks == []


def test_exec_failure_is_shown_as_a_sentence():
    handler = _echo_stdin(error='the compute host cannot be reached')
    with harness_lib.Harness(exec_handler=handler) as harness:
        result = harness.kubectl('exec', 'p', '--', 'true')
        assert harness.wait_sessions()
    assert result.returncode == 1
    assert result.stderr.endswith(
        b'Internal error occurred: the compute host cannot be reached\n')
    assert harness.fallbacks == []


def test_exec_with_a_terminal_reports_its_size():
    sizes = []

    def handler(channels):
        for size in channels.resizes():
            sizes.append(size)
            break
        channels.write_stdout(b'ready\r\n')
        channels.finish(exit_code=3)

    with harness_lib.Harness(exec_handler=handler) as harness:
        # kubectl wants a terminal for -t; script(1) gives it one.
        result = subprocess.run(
            ['script', '-qec', 'stty cols 91 rows 33; %s exec -i -t p -- sh'
             % harness_lib.KUBECTL, '/dev/null'],
            env=harness.env(), capture_output=True, timeout=60)
        assert harness.wait_sessions()
    assert sizes == [(91, 33)]
    assert b'ready' in result.stdout
    assert b'command terminated with exit code 3' in result.stdout
    assert harness.negotiated == ['v5.channel.k8s.io']


def test_kubectl_port_forward_through_the_spdy_tunnel():
    with harness_lib.Harness(port_handler=_echo_upper) as harness:
        proc = harness.popen('port-forward', '--address', '127.0.0.1', 'p',
                             ':80')
        try:
            port = harness_lib.read_forwarded_port(proc)
            first = harness_lib.exchange(port, b'hello\n')
            second = harness_lib.exchange(port, b'y' * 100000)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        assert harness.wait_sessions()
    assert first == b'HELLO\n'
    assert second == b'Y' * 100000
    assert harness.requested == [['SPDY/3.1+portforward.k8s.io']]
    assert harness.negotiated == ['SPDY/3.1+portforward.k8s.io']
    assert harness.fallbacks == []


def _recv_exactly(sock, size):
    received = b''
    while len(received) < size:
        data = sock.recv(size - len(received))
        assert data, 'the forwarded connection ended early'
        received += data
    return received


def test_python_client_port_forward_over_the_channel_protocol():
    with harness_lib.Harness(port_handler=_echo_upper) as harness:
        config = kube_client.Configuration()
        config.host = harness.url
        config.verify_ssl = False
        api = kube_client.CoreV1Api(kube_client.ApiClient(config))
        forward = kube_stream.portforward(
            api.connect_get_namespaced_pod_portforward, 'p', 'default',
            ports='80,443')
        first, second = forward.socket(80), forward.socket(443)
        for sock in (first, second):
            sock.setblocking(True)
            sock.settimeout(30)
        first.sendall(b'abc')
        second.sendall(b'z' * 50000)
        assert _recv_exactly(first, 3) == b'ABC'
        assert _recv_exactly(second, 50000) == b'Z' * 50000
        for sock in (first, second):
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        assert harness.wait_sessions()
        assert forward.error(80) is None
    assert harness.requested == [['v5.channel.k8s.io', 'v4.channel.k8s.io']]
    assert harness.negotiated == ['v4.channel.k8s.io']
