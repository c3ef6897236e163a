"""Files the kubelet gives every container: termination log, /etc/hosts.

Real containers only: the companion driver binds files of the capsule's
host directory at terminationMessagePath (and reads it, or the end of
the log, when the container has ended) and at /etc/hosts.
"""

import os
import subprocess

import pytest

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures


@pytest.fixture(autouse=True)
def real_containers_only(stack):
    fixtures.require_real_containers(stack)


def terminated(kube, namespace, name):
    def state():
        pod = kube.core.read_namespaced_pod(name, namespace)
        for cs in pod.status.container_statuses or []:
            if cs.state.terminated is not None:
                return cs.state.terminated
        return None
    return fixtures.wait_for(state, timeout=180, interval=0.5,
                             description='pod %s terminated' % name)


@pytest.mark.parametrize('name, script, extra, code, message', [
    ('from-file', 'printf DONE > /dev/termination-log', {}, 0, 'DONE'),
    ('custom-path', 'printf "custom\\n" > /tmp/term; exit 2',
     {'terminationMessagePath': '/tmp/term'}, 2, 'custom\n'),
    ('from-log', 'echo one; echo DONE; exit 1',
     {'terminationMessagePolicy': 'FallbackToLogsOnError'}, 1,
     'one\nDONE\n'),
    # A last line without a newline (the engine's own tail drops it).
    ('from-log-unended', 'echo -n DONE; false',
     {'terminationMessagePolicy': 'FallbackToLogsOnError'}, 1, 'DONE'),
    # A success never falls back to the log.
    ('success', 'echo quiet',
     {'terminationMessagePolicy': 'FallbackToLogsOnError'}, 0, None),
])
def test_the_message_is_what_the_container_left(
        kube, namespace, name, script, extra, code, message):
    body = conftest.pod_body(name, restart_policy='Never', containers=[
        fixtures.busybox('main', script, **extra)])
    kube.core.create_namespaced_pod(namespace, body)
    state = terminated(kube, namespace, name)
    assert state.exit_code == code
    assert state.message == message


def test_etc_hosts_and_host_name_are_the_kubelets(stack, kube, namespace):
    body = conftest.pod_body('hosts', containers=[
        fixtures.busybox('main', 'exec sleep 3600'),
        fixtures.busybox('peer', 'exec sleep 3600')])
    body['spec'].update(hostname='web-0', subdomain='web', hostAliases=[
        {'ip': '123.45.67.89', 'hostnames': ['foo', 'bar']}])
    kube.core.create_namespaced_pod(namespace, body)

    def running():
        pod = kube.core.read_namespaced_pod('hosts', namespace)
        return pod.status.phase == 'Running' and pod.status.pod_ip and pod
    pod = fixtures.wait_for(running, timeout=180, description='pod Running')
    env = dict(os.environ, KUBECONFIG=stack.kubeconfig)
    for container in ('main', 'peer'):
        out = subprocess.run(
            ['kubectl', '-n', namespace, 'exec', 'hosts', '-c', container,
             '--', 'cat', '/etc/hosts'], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=60)
        assert out.returncode == 0, out.stderr.decode()
        hosts = out.stdout.decode()
        assert hosts.startswith('# Kubernetes-managed hosts file.\n')
        assert '%s\tweb-0.web.%s.svc.cluster.local\tweb-0\n' % (
            pod.status.pod_ip, namespace) in hosts
        assert '123.45.67.89\tfoo\tbar\n' in hosts
        # Every container of the pod has the pod's host name.
        out = subprocess.run(
            ['kubectl', '-n', namespace, 'exec', 'hosts', '-c', container,
             '--', 'hostname'], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=60)
        assert out.stdout.decode() == 'web-0\n', out.stderr.decode()
