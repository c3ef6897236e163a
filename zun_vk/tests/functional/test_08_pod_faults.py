"""The pod loop under faults: duplicates, same-name pods, cluster identity.

The first two tests use the suite's zun-vk (reconcile every 10 s); the
last starts one of its own with no [DEFAULT]cluster_id, for a node of
its own.
"""

import uuid

from kubernetes.client import exceptions as k8s_exc
import pytest

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures
from zun_vk.tests.functional import test_02_pods as pods_test
from zun_vk.tests.functional import test_03_crash as crash_test
from zun_vk.translate import pod_to_capsule as to_capsule


def running_pod(kube, namespace, name):
    kube.core.create_namespaced_pod(namespace, conftest.pod_body(name))
    fixtures.wait_for(
        lambda: pods_test.phase(kube, namespace, name) == 'Running',
        timeout=120, description='pod %s Running' % name)
    return pods_test.read_pod(kube, namespace, name)


def test_a_second_capsule_of_a_pod_is_deleted_and_the_oldest_kept(
        kube, zun, namespace):
    pod = running_pod(kube, namespace, 'twice')
    uid = pod.metadata.uid
    first = fixtures.capsule_of_pod(zun, uid)
    # What a create whose reply was lost leaves once it is retried: a
    # second capsule of the same name and labels, younger.
    duplicate = fixtures.create_capsule(zun, {
        'kind': 'capsule',
        'metadata': {'name': to_capsule.capsule_name(namespace, 'twice',
                                                     uid),
                     'labels': dict(first['labels'])},
        'spec': {'containers': [{'name': 'main', 'image': 'busybox',
                                 'command': ['sh', '-c', 'sleep 3600']}]},
    })
    try:
        fixtures.wait_for(
            lambda: fixtures.capsule_detail(zun, duplicate['uuid']) is None,
            timeout=240, interval=2,
            description='duplicate capsule deleted by reconcile')
        assert fixtures.capsule_detail(zun, first['uuid']) is not None
        assert pods_test.phase(kube, namespace, 'twice') == 'Running'
        fixtures.wait_for(
            lambda: any(r == 'DuplicateCapsule' and duplicate['uuid'] in m
                        for _t, r, m in pods_test.pod_events(
                            kube, namespace, 'twice')),
            timeout=60, description='DuplicateCapsule Event')
    finally:
        fixtures.delete_capsule(zun, duplicate['uuid'])


def test_a_pod_recreated_under_its_name_never_runs_beside_its_predecessor(
        kube, zun, namespace):
    old = running_pod(kube, namespace, 'web-0')
    old_capsule = fixtures.capsule_of_pod(zun, old.metadata.uid)
    # kubectl delete --force: the pod leaves the API at once, its
    # capsule is still running.
    kube.core.delete_namespaced_pod('web-0', namespace,
                                    grace_period_seconds=0)

    def recreated():
        try:
            return kube.core.create_namespaced_pod(
                namespace, conftest.pod_body('web-0'))
        except k8s_exc.ApiException as exc:
            if exc.status == 409:
                return None
            raise
    new = fixtures.wait_for(recreated, timeout=60,
                            description='web-0 created again')
    assert new.metadata.uid != old.metadata.uid
    new_capsule = fixtures.wait_for(
        lambda: fixtures.capsule_of_pod(zun, new.metadata.uid),
        timeout=180, interval=1, description='capsule of the new web-0')
    # By the time the new capsule exists, the old one is gone.
    assert fixtures.capsule_detail(zun, old_capsule['uuid']) is None
    fixtures.wait_for(
        lambda: pods_test.phase(kube, namespace, 'web-0') == 'Running',
        timeout=120, description='the new web-0 Running')
    capsules = pods_test.capsules_of(zun, namespace)
    assert [c['uuid'] for c in capsules] == [new_capsule['uuid']]


@pytest.fixture
def identity_node(stack, kube, tmp_path):
    node = 'zun-vk-identity-%s' % uuid.uuid4().hex[:6]
    process = fixtures.start_zun_vk(stack, node, tmp_path, {
        'DEFAULT': {'cluster_id': ''},
        # A grace period of 0 let reconcile delete the test's orphan while
        # Zun was still answering its POST, which then failed with 500.
        'sync': {'status_poll_interval': 2, 'reconcile_interval': 5,
                 'orphan_grace_period': 10},
    }, kube=kube)
    yield node
    process.close()
    fixtures.delete_node(kube, node)


def test_the_default_cluster_id_is_the_kube_system_uid(
        kube, zun, namespace, identity_node):
    cluster_uid = kube.core.read_namespace('kube-system').metadata.uid
    body = fixtures.pod_body_for(identity_node, 'identified', [
        fixtures.busybox('main', 'sleep 3600')], restart_policy='Always')
    pod = kube.core.create_namespaced_pod(namespace, body)
    # An orphan of this cluster, and a capsule of another cluster that
    # kept the old default cluster_id, both for this node's name.
    ours = fixtures.create_capsule(zun, crash_test.foreign_template(
        cluster_uid, identity_node, uuid.uuid4().hex))
    theirs = fixtures.create_capsule(zun, crash_test.foreign_template(
        'default', identity_node, uuid.uuid4().hex))
    try:
        capsule = fixtures.wait_for(
            lambda: fixtures.capsule_of_pod(zun, pod.metadata.uid),
            timeout=120, description='capsule of the pod')
        assert capsule['labels']['zun-vk/cluster-id'] == cluster_uid
        fixtures.wait_for(
            lambda: pods_test.phase(kube, namespace, 'identified') ==
            'Running', timeout=120, description='pod Running')
        fixtures.wait_for(
            lambda: fixtures.capsule_detail(zun, ours['uuid']) is None,
            timeout=120, interval=2, description='our orphan deleted')
        assert fixtures.capsule_detail(zun, theirs['uuid']) is not None
        kube.core.delete_namespaced_pod('identified', namespace)
        fixtures.wait_for(
            lambda: fixtures.capsule_of_pod(zun, pod.metadata.uid) is None,
            timeout=120, description='capsule gone with its pod')
    finally:
        for leftover in (ours, theirs, fixtures.capsule_of_pod(
                zun, pod.metadata.uid)):
            if leftover is not None:
                fixtures.delete_capsule(zun, leftover['uuid'])
        try:
            kube.core.delete_namespaced_pod('identified', namespace,
                                            grace_period_seconds=0)
        except k8s_exc.ApiException as exc:
            if exc.status != 404:
                raise
