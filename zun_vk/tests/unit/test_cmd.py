"""The command line: bad input ends in one clear line and exit code 2."""

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from zun_vk.tests.unit import processes


def run_zun_vk(*args, timeout=60):
    return subprocess.run(
        [sys.executable, '-m', 'zun_vk.cmd.agent'] + list(args),
        capture_output=True, text=True, timeout=timeout)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_missing_config_file_is_one_line():
    result = run_zun_vk('--config-file', '/nonexistent/zun-vk.conf')
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ['zun-vk: configuration error: Failed to find some '
                     'config files: /nonexistent/zun-vk.conf']


@pytest.mark.parametrize('group,option,value', [
    ('sync', 'pod_workers', 'lots'),
    ('node', 'kubelet_port', 'http'),
    ('node', 'lease_duration', '0'),
    ('notifications', 'enabled', 'perhaps'),
])
def test_invalid_value_names_option_and_file(tmp_path, group, option,
                                             value):
    conf = write(tmp_path, 'bad.conf', '''
        [%s]
        %s = %s
        ''' % (group, option, value))
    result = run_zun_vk('--config-file', conf)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert '[%s]%s' % (group, option) in lines[0]
    assert conf in lines[0]
    assert 'Traceback' not in result.stderr


def test_bad_taint_is_refused(tmp_path):
    conf = write(tmp_path, 'taint.conf', '''
        [node]
        taints = virtual-kubelet.io/provider=zun:Sometimes
        ''')
    result = run_zun_vk('--config-file', conf)
    assert result.returncode == 2
    assert '[node]taints' in result.stderr
    assert 'NoSchedule' in result.stderr


def test_unreadable_kubeconfig_is_named(tmp_path):
    conf = write(tmp_path, 'kube.conf', '''
        [kubernetes]
        kubeconfig = %s/missing-kubeconfig
        ''' % tmp_path)
    result = run_zun_vk('--config-file', conf)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        'zun-vk: configuration error: [kubernetes]kubeconfig: '
        '%s/missing-kubeconfig does not exist or is not a file' % tmp_path)


def _unreachable_peers_conf(tmp_path):
    kubeconfig = write(tmp_path, 'kubeconfig', '''
        apiVersion: v1
        kind: Config
        clusters:
        - name: c
          cluster: {server: "https://127.0.0.1:1"}
        users:
        - name: u
          user: {token: t}
        contexts:
        - name: x
          context: {cluster: c, user: u}
        current-context: x
        ''')
    return write(tmp_path, 'zun-vk.conf', '''
        [DEFAULT]
        node_name = unreachable
        [node]
        kubelet_port = %d
        [kubernetes]
        kubeconfig = %s
        [zun]
        auth_type = password
        auth_url = http://127.0.0.1:1/v3
        username = u
        password = p
        project_name = p
        user_domain_name = Default
        project_domain_name = Default
        [notifications]
        enabled = true
        [oslo_messaging_notifications]
        transport_url = rabbit://guest:guest@127.0.0.1:1/
        ''' % (_free_port(), kubeconfig))


def _start(conf, log):
    with open(log, 'w') as out:
        return subprocess.Popen(
            [sys.executable, '-m', 'zun_vk.cmd.agent', '--config-file',
             conf], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_runs_with_nothing_reachable_and_stops_cleanly(tmp_path, sig):
    log = tmp_path / 'zun-vk.log'
    proc = _start(_unreachable_peers_conf(tmp_path), log)
    try:
        # Both peers are named in clear errors while the service runs on.
        assert processes.wait_for(lambda: (
            'Kubernetes API at https://127.0.0.1:1' in log.read_text() and
            'Zun API at' in log.read_text()), timeout=60), log.read_text()
        assert proc.poll() is None
        workers = processes.children_of(proc.pid)
        # node, pods, notifications, kubelet
        assert len(workers) == 4, workers
        started = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    print('stopped %.2f s after %s' % (took, sig.name))
    assert proc.returncode == 0
    # The target is 5 s; the bound leaves room for a loaded test machine.
    assert took < 15, 'took %.1f s to stop' % took
    assert not [p for p in workers if os.path.exists('/proc/%d' % p)]
    assert 'Traceback' not in log.read_text()


# The banner of each Guru Meditation report, and frames of its stacks.
_REPORT = re.compile(r'^=+\s+Guru Meditation\s+=+$', re.M)
_MAIN_FRAME = re.compile(r'/zun_vk/cmd/agent\.py:\d+ in main$', re.M)
_ZUN_VK_FRAME = re.compile(r'/zun_vk/\S+\.py:\d+ in \w+$', re.M)


def test_sigusr2_reports_the_threads_of_every_process(tmp_path):
    log = tmp_path / 'zun-vk.log'
    proc = _start(_unreachable_peers_conf(tmp_path), log)
    try:
        assert processes.wait_for(lambda: (
            'Kubernetes API at https://127.0.0.1:1' in log.read_text() and
            len(processes.children_of(proc.pid)) == 4),
            timeout=60), log.read_text()
        workers = processes.children_of(proc.pid)
        # The launcher, then each worker (they fork from it), one at a
        # time so that their reports do not mix.
        for count, pid in enumerate([proc.pid] + workers, start=1):
            os.kill(pid, signal.SIGUSR2)
            assert processes.wait_for(
                lambda: len(_REPORT.findall(log.read_text())) == count,
                timeout=30), log.read_text()
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    text = log.read_text()
    launcher, *worker_reports = _REPORT.split(text)[1:]
    assert _MAIN_FRAME.search(launcher), launcher
    assert len(worker_reports) == 4
    for report in worker_reports:
        assert _ZUN_VK_FRAME.search(report), report
    assert 'Unable to run Guru Meditation Report' not in text


def test_generated_sample_starts_and_stops(tmp_path):
    sample = tmp_path / 'zun-vk.conf.sample'
    subprocess.run(
        [sys.executable, '-m', 'oslo_config.generator', '--config-file',
         os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'zun-vk', 'zun-vk-config-generator.conf'),
         '--output-file', str(sample)], check=True, timeout=120)
    text = sample.read_text()
    for group in ('[DEFAULT]', '[node]', '[kubernetes]', '[zun]', '[sync]',
                  '[notifications]', '[oslo_messaging_notifications]'):
        assert group in text
    log = tmp_path / 'zun-vk.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'zun_vk.cmd.agent', '--config-file',
             str(sample)], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        assert processes.wait_for(lambda: (
            'Cannot set up the Kubernetes client' in log.read_text() and
            '[zun]auth_type is not set' in log.read_text()),
            timeout=60), log.read_text()
        workers = processes.children_of(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert not [p for p in workers if os.path.exists('/proc/%d' % p)]
    assert 'Traceback' not in log.read_text()


@pytest.mark.parametrize('settings,message', [
    ('tls_cert_file = /etc/hostname\n',
     '[kubelet]tls_cert_file and [kubelet]tls_private_key_file go together'),
    ('client_ca_file = /nonexistent/ca.crt\n',
     '[kubelet]client_ca_file: /nonexistent/ca.crt does not exist'),
    ('webhook_authentication = false\n',
     'nobody could use the kubelet API'),
])
def test_unusable_kubelet_api_settings_are_named(tmp_path, settings,
                                                 message):
    conf = write(tmp_path, 'zun-vk.conf', '[kubelet]\n' + settings)
    result = run_zun_vk('--config-file', conf)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_reports_are_set_up_before_the_workers_fork(monkeypatch):
    from zun_vk.cmd import agent
    from zun_vk import version

    events = processes.record_launches(monkeypatch)
    monkeypatch.setattr(agent, 'prepare', lambda argv: None)
    assert agent.main([]) == 0
    assert events[0] == ('reports', (version,),
                         {'service_name': 'zun-vk', 'conf': agent.CONF})
    assert ('launch', 'PodService') in events[1:]


@pytest.mark.parametrize('generator', ['zun-vk-config-generator.conf',
                                       'zun-vk-agent-config-generator.conf'])
def test_samples_list_the_report_options(tmp_path, generator):
    sample = tmp_path / 'sample.conf'
    subprocess.run(
        [sys.executable, '-m', 'oslo_config.generator', '--config-file',
         os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'zun-vk', generator),
         '--output-file', str(sample)], check=True, timeout=120)
    text = sample.read_text()
    assert '[oslo_reports]' in text
    assert '#log_dir = <None>' in text.split('[oslo_reports]')[1]
