"""Real kubectl (SPDY forced) against our SPDY server, on 127.0.0.1."""

import subprocess

from zun_vk.tests.unit.kubelet import kubectl_spdy_harness as harness_lib


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


def test_exec_prints_both_streams_and_exits_with_the_code():
    with harness_lib.Harness(exec_handler=_echo_stdin(7)) as harness:
        result = harness.kubectl('exec', '-i', 'p', '--', 'cat',
                                 input=b'hello\nworld\n')
        assert harness.wait_sessions()
    assert result.stdout == b'hello\nworld\n'
    assert result.stderr == (b'to stderr\n'
                             b'command terminated with exit code 7\n')
    assert result.returncode == 7
    assert harness.requested_versions[0][0] == 'v5.channel.k8s.io'


def test_exec_exit_zero():
    with harness_lib.Harness(exec_handler=_echo_stdin(0)) as harness:
        result = harness.kubectl('exec', '-i', 'p', '--', 'cat',
                                 input=b'x' * 200000)
        assert harness.wait_sessions()
    assert result.returncode == 0, result.stderr
    assert result.stdout == b'x' * 200000
    assert result.stderr == b'to stderr\n'


def test_exec_failure_is_shown_as_a_sentence():
    handler = _echo_stdin(error='the compute host cannot be reached')
    with harness_lib.Harness(exec_handler=handler) as harness:
        result = harness.kubectl('exec', 'p', '--', 'true')
        assert harness.wait_sessions()
    assert result.returncode == 1
    assert result.stderr.endswith(
        b'Internal error occurred: the compute host cannot be reached\n')


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


def test_port_forward_carries_bytes_both_ways():
    def echo_upper(conn):
        assert conn.port == 80
        while True:
            data = conn.read()
            if not data:
                return
            conn.write(data.upper())

    with harness_lib.Harness(port_handler=echo_upper) as harness:
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
    assert harness.requested_versions == [['portforward.k8s.io']]
