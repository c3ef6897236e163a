"""Functional tests run against the real peers of tools/localstack.

One zun-vk process, started from this checkout with the stack's
configuration plus the overrides below, serves the node NODE for the
whole run; tests that restart or kill it bring it back before they end.
"""

import uuid

import pytest

from zun_vk.tests.functional import fixtures

NODE = 'zun-vk-functional'
CLUSTER = 'functional'
TAINT_KEY = 'virtual-kubelet.io/provider'
# Not the stack's own zun-vk's port: both may run at once.
KUBELET_PORT = 10251

OVERRIDES = '''
[DEFAULT]
node_name = %(node)s
cluster_id = %(cluster)s
debug = true

[sync]
status_poll_interval = 2
reconcile_interval = 10
orphan_grace_period = 15
pod_workers = 8

[node]
lease_renew_interval = 10
status_update_interval = 60
capacity_refresh_interval = 10
kubelet_port = %(kubelet_port)d
'''


@pytest.fixture(scope='session')
def stack():
    return fixtures.ensure_stack()


@pytest.fixture(scope='session')
def kube(stack):
    return fixtures.kube_clients(stack)


@pytest.fixture(scope='session')
def zun(stack):
    return fixtures.zun_client(stack)


@pytest.fixture(scope='session')
def vk_config(stack, tmp_path_factory):
    path = tmp_path_factory.mktemp('zun-vk') / 'overrides.conf'
    path.write_text(OVERRIDES % {'node': NODE, 'cluster': CLUSTER,
                                 'kubelet_port': KUBELET_PORT})
    return [stack.zun_vk_conf, str(path)]


@pytest.fixture(scope='session')
def vk(stack, vk_config, tmp_path_factory):
    log_file = tmp_path_factory.mktemp('zun-vk-log') / 'zun-vk.log'
    process = fixtures.ZunVK(vk_config, log_file=str(log_file))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope='session')
def ready_node(vk, kube):
    fixtures.wait_for(lambda: node_ready(kube) == 'True', timeout=120,
                      description='node %s Ready' % NODE)
    return NODE


@pytest.fixture
def namespace(kube, ready_node):
    name = 'zvk-%s' % uuid.uuid4().hex[:8]
    kube.core.create_namespace({'metadata': {'name': name}})
    yield name
    kube.core.delete_namespace(name)


def node_ready(kube):
    try:
        node = kube.core.read_node(NODE)
    except Exception:  # noqa: B902 - not registered yet
        return None
    for cond in node.status.conditions or []:
        if cond.type == 'Ready':
            return cond.status
    return None


def pod_spec(containers, init_containers=None, restart_policy='Always',
             volumes=None):
    spec = {
        'nodeSelector': {'kubernetes.io/hostname': NODE},
        'tolerations': [{'key': TAINT_KEY, 'operator': 'Exists',
                         'effect': 'NoSchedule'}],
        'restartPolicy': restart_policy,
        'containers': containers,
    }
    if init_containers:
        spec['initContainers'] = init_containers
    if volumes:
        spec['volumes'] = volumes
    return spec


def pod_body(name, labels=None, **spec_args):
    spec = pod_spec(spec_args.pop('containers', None) or [
        {'name': 'main', 'image': 'busybox',
         'command': ['sh', '-c', 'sleep 3600']}], **spec_args)
    return {'apiVersion': 'v1', 'kind': 'Pod',
            'metadata': {'name': name, 'labels': labels or {}},
            'spec': spec}
