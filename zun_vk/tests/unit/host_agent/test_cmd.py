"""zun-vk-agent on the command line: clear refusals, clean SIGTERM."""

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

from zun_vk.tests import pki
from zun_vk.tests.unit.host_agent import fakes
from zun_vk.tests.unit import processes


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


def _serving(port, files, proc, log):
    def answers():
        assert proc.poll() is None, log.read_text()
        try:
            return fakes.raw_request(port, files, '/healthz') == (
                200, 'ok\n')
        except OSError:
            return False
    assert processes.wait_for(answers, timeout=60), log.read_text()


def _start_logged(conf, log):
    with open(log, 'w') as out:
        return subprocess.Popen(
            [sys.executable, '-m', 'zun_vk.cmd.host_agent', '--config-file',
             conf], stdout=out, stderr=subprocess.STDOUT)


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


# The banner of each Guru Meditation report, and a frame of its stacks.
_REPORT = re.compile(r'^=+\s+Guru Meditation\s+=+$', re.M)
_ZUN_VK_FRAME = re.compile(r'/zun_vk/\S+\.py:\d+ in \w+$', re.M)


def test_sigusr2_reports_the_threads_of_both_processes(tmp_path):
    files = pki.Files(tmp_path / 'pki')
    port = free_port()
    log = tmp_path / 'zun-vk-agent.log'
    proc = _start_logged(write_conf(tmp_path, files, port), log)
    try:
        _serving(port, files, proc, log)
        workers = processes.children_of(proc.pid)
        assert len(workers) == 1, workers
        for count, pid in enumerate([proc.pid] + workers, start=1):
            os.kill(pid, signal.SIGUSR2)
            assert processes.wait_for(
                lambda: len(_REPORT.findall(log.read_text())) == count,
                timeout=30), log.read_text()
    finally:
        _stop(proc)
    launcher, worker = _REPORT.split(log.read_text())[1:]
    assert re.search(r'/zun_vk/cmd/host_agent\.py:\d+ in main$', launcher,
                     re.M), launcher
    # The worker's threads serve the agent's API.
    assert _ZUN_VK_FRAME.search(worker), worker
    assert 'Unable to run Guru Meditation Report' not in worker


def test_reports_go_to_oslo_reports_log_dir(tmp_path):
    files = pki.Files(tmp_path / 'pki')
    port = free_port()
    reports = tmp_path / 'reports'
    reports.mkdir()
    log = tmp_path / 'zun-vk-agent.log'
    conf = write_conf(tmp_path, files, port,
                      '[oslo_reports]\nlog_dir = %s\n' % reports)
    proc = _start_logged(conf, log)
    try:
        _serving(port, files, proc, log)
        proc.send_signal(signal.SIGUSR2)
        assert processes.wait_for(lambda: [
            p for p in reports.glob('zun-vk-agent_gurumeditation_*')
            if _ZUN_VK_FRAME.search(p.read_text())], timeout=30), \
            log.read_text()
    finally:
        _stop(proc)
    assert not _REPORT.search(log.read_text())


def test_reports_are_set_up_before_the_worker_forks(monkeypatch):
    from oslo_config import cfg

    from zun_vk.cmd import host_agent
    from zun_vk.host_agent import service as agent_service
    from zun_vk import version

    conf = cfg.ConfigOpts()
    events = processes.record_launches(monkeypatch)
    monkeypatch.setattr(host_agent, 'CONF', conf)
    monkeypatch.setattr(host_agent, 'prepare',
                        lambda argv: host_agent.agent_conf.register_opts(conf))
    monkeypatch.setattr(agent_service, 'check', lambda conf: None)
    assert host_agent.main([]) == 0
    assert events == [
        ('reports', (version,),
         {'service_name': 'zun-vk-agent', 'conf': conf}),
        ('launch', 'AgentService')]
