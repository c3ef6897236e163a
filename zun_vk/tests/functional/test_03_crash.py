"""Crash safety and reconcile: nothing duplicated, orphaned or stuck."""

import collections
import uuid

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures
from zun_vk.tests.functional import test_02_pods as pods_test


def foreign_template(cluster, node, pod_uid):
    return {
        'kind': 'capsule',
        'metadata': {
            'name': 'k8s-foreign-%s' % pod_uid[:8],
            'labels': {'zun-vk/cluster-id': cluster, 'zun-vk/node': node,
                       'zun-vk/namespace': 'nowhere',
                       'zun-vk/pod-name': 'ghost',
                       'zun-vk/pod-uid': pod_uid}},
        'spec': {'containers': [{'name': 'sleeper', 'image': 'busybox',
                                 'command': ['sleep', '3600']}]},
    }


def test_orphans_are_deleted_and_others_never_touched(kube, zun,
                                                      ready_node):
    ours = fixtures.create_capsule(zun, foreign_template(
        conftest.CLUSTER, conftest.NODE, uuid.uuid4().hex))
    other_cluster = fixtures.create_capsule(zun, foreign_template(
        'another-cluster', conftest.NODE, uuid.uuid4().hex))
    other_node = fixtures.create_capsule(zun, foreign_template(
        conftest.CLUSTER, 'another-node', uuid.uuid4().hex))
    try:
        fixtures.wait_for(
            lambda: ours['uuid'] not in {
                c['uuid'] for c in fixtures.list_capsules(zun)},
            timeout=120, description='orphan capsule deleted')
        left = {c['uuid'] for c in fixtures.list_capsules(zun)}
        assert other_cluster['uuid'] in left
        assert other_node['uuid'] in left
    finally:
        for capsule in (ours, other_cluster, other_node):
            fixtures.delete_capsule(zun, capsule['uuid'])


def test_sigkill_during_a_burst_leaves_no_duplicates_or_orphans(
        kube, zun, vk, namespace):
    names = ['burst-%02d' % i for i in range(30)]
    for name in names:
        kube.core.create_namespaced_pod(namespace, conftest.pod_body(name))
    # Delete a third of them while the rest are being created.
    doomed = names[::3]
    for name in doomed:
        kube.core.delete_namespaced_pod(name, namespace)
    fixtures.wait_for(
        lambda: len(pods_test.capsules_of(zun, namespace)) >= 5,
        timeout=120, description='capsule creation under way')
    vk.kill()
    vk.start()
    survivors = sorted(set(names) - set(doomed))
    seen = {}

    def settled():
        pods = {p.metadata.name: p for p in
                kube.core.list_namespaced_pod(namespace).items}
        seen['phases'] = {
            name: (p.status.phase, p.status.reason,
                   bool(p.metadata.deletion_timestamp))
            for name, p in pods.items()}
        if sorted(pods) != survivors:
            return False
        return all(p.status.phase == 'Running' for p in pods.values())
    try:
        fixtures.wait_for(settled, timeout=300, interval=2,
                          description='surviving pods Running, deleted '
                                      'gone')
    except fixtures.TimeoutExpired:
        raise AssertionError('pods not settled: %s' % seen.get('phases'))
    pods = {p.metadata.uid: p.metadata.name for p in
            kube.core.list_namespaced_pod(namespace).items}

    def capsules_match():
        capsules = pods_test.capsules_of(zun, namespace)
        per_pod = collections.Counter(
            c['labels']['zun-vk/pod-uid'] for c in capsules)
        return (set(per_pod) == set(pods) and
                all(n == 1 for n in per_pod.values()))
    fixtures.wait_for(capsules_match, timeout=180, interval=2,
                      description='one capsule per pod, no orphans')
    for name in survivors:
        kube.core.delete_namespaced_pod(name, namespace)
    fixtures.wait_for(
        lambda: not kube.core.list_namespaced_pod(namespace).items,
        timeout=180, description='all pods deleted')
    fixtures.wait_for(lambda: not pods_test.capsules_of(zun, namespace),
                      timeout=60, description='all capsules deleted')
