"""zun-vk-agent on the command line: clear refusals, clean SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

from zun_vk.tests import pki
from zun_vk.tests.unit.host_agent import fakes


def run_agent(*args):
    return subprocess.Popen(
        [sys.executable, '-m', 'zun_vk.cmd.host_agent'] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def write_conf(tmp_path, files, port, extra=''):
    path = tmp_path / 'zun-vk-agent.conf'
    path.write_text(textwrap.dedent('''
        [agent]
        host = compute1
        bind_address = 127.0.0.1
        port = %d
        cert_file = %s
        key_file = %s
        client_ca_file = %s
        ticket_public_key_file = %s
        docker_url = unix://%s/no-engine.sock
        pods_dir = %s/capsules
        ''' % (port, files.agent_cert, files.agent_key, files.ca,
               files.ticket_public, tmp_path, tmp_path)) + extra)
    return str(path)


def test_missing_options_are_one_line(tmp_path):
    path = tmp_path / 'empty.conf'
    path.write_text('[agent]\nhost = compute1\n')
    proc = run_agent('--config-file', str(path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        'zun-vk-agent: configuration error: [agent]bind_address, '
        '[agent]cert_file, [agent]key_file, [agent]client_ca_file, '
        '[agent]ticket_public_key_file must be set (see the host agent '
        'guide)']


def test_unreadable_key_is_one_line(tmp_path):
    files = pki.Files(tmp_path / 'pki')
    conf = write_conf(tmp_path, files, 1)
    os.unlink(files.ticket_public)
    proc = run_agent('--config-file', conf)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and 'ticket_public_key_file' in lines[0], err


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_serves_until_sigterm(tmp_path):
    files = pki.Files(tmp_path / 'pki')
    port = free_port()
    proc = run_agent('--config-file', write_conf(tmp_path, files, port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert fakes.raw_request(port, files, '/healthz') == (
                    200, 'ok\n')
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, 'agent did not start'
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert 'Traceback' not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
