"""The command line: bad input ends in one clear line and exit code 2."""

import subprocess
import sys
import textwrap

import pytest


def run_zun_vk(*args, timeout=60):
    return subprocess.run(
        [sys.executable, '-m', 'zun_vk.cmd.agent'] + list(args),
        capture_output=True, text=True, timeout=timeout)


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
