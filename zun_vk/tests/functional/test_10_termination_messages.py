"""Termination messages, as the kubelet fills them in.

Real containers only: the companion driver binds a file of the capsule's
host directory at terminationMessagePath, and reads it (or the end of
the log) when the container has ended.
"""

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
