"""Which Kubernetes cluster zun-vk serves, as written into capsule labels.

``[DEFAULT]cluster_id`` when set; else the UID of the cluster's
``kube-system`` namespace, which every cluster has, which never changes
while the cluster lives, and which no other cluster shares. Two clusters
that share a Zun project thus never take each other's capsules for
orphans, even when nobody configured them apart.
"""

from kubernetes.client import exceptions as k8s_exc

NAMESPACE = 'kube-system'


class ClusterIdentityError(Exception):
    """The cluster's identity cannot be read."""


def cluster_id(kube, configured=None):
    """configured when set, else the UID of namespace kube-system."""
    if configured:
        return configured
    try:
        namespace = kube.core.read_namespace(
            NAMESPACE, _request_timeout=kube.timeout)
    except k8s_exc.ApiException as exc:
        if exc.status not in (401, 403, 404):
            raise
        raise ClusterIdentityError(
            'cannot read namespace %s, whose UID identifies the cluster '
            'in capsule labels (Kubernetes API error %s: %s); grant get '
            'on namespace %s (see the install guide, "Kubernetes '
            'identity") or set [DEFAULT]cluster_id' % (
                NAMESPACE, exc.status, exc.reason, NAMESPACE)) from None
    uid = getattr(getattr(namespace, 'metadata', None), 'uid', None)
    if not uid:
        raise ClusterIdentityError('namespace %s has no UID; set '
                                   '[DEFAULT]cluster_id' % NAMESPACE)
    return uid
