"""Kubernetes I/O for the virtual node: the Node object and its Lease."""

from kubernetes.client import exceptions as k8s_exc
from oslo_log import log as logging

from zun_vk import timestamps
from zun_vk.translate import node as node_shape

LOG = logging.getLogger(__name__)

LEASE_NAMESPACE = 'kube-node-lease'
CONFLICT_RETRIES = 5


class NodeClient(object):
    def __init__(self, kube, node_name):
        self.kube = kube
        self.name = node_name
        self.uid = None

    def read(self):
        try:
            return self.kube.to_dict(self.kube.core.read_node(
                self.name, _request_timeout=self.kube.timeout))
        except k8s_exc.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def register(self, labels, taints, initial_status):
        """Create the Node, or add our labels and taints to the existing one.

        Labels, annotations and taints that others put on the Node are
        kept. A conflicting write is retried from a fresh read.
        """
        for _attempt in range(CONFLICT_RETRIES):
            current = self.read()
            if current is None:
                body = {
                    'apiVersion': 'v1', 'kind': 'Node',
                    'metadata': {'name': self.name, 'labels': labels},
                    'spec': {'taints': taints},
                }
                try:
                    created = self.kube.core.create_node(
                        body, _request_timeout=self.kube.timeout)
                except k8s_exc.ApiException as exc:
                    if exc.status == 409:
                        continue
                    raise
                self.uid = created.metadata.uid
                LOG.info('Registered node %s', self.name)
                self.patch_status(initial_status)
                return
            metadata = current['metadata']
            merged_labels = dict(metadata.get('labels') or {})
            merged_labels.update(labels)
            spec = current.get('spec') or {}
            merged_taints = node_shape.merge_taints(spec.get('taints'),
                                                    taints)
            self.uid = metadata['uid']
            if (merged_labels == (metadata.get('labels') or {}) and
                    merged_taints == (spec.get('taints') or [])):
                LOG.info('Node %s is already registered', self.name)
                return
            current['metadata']['labels'] = merged_labels
            current.setdefault('spec', {})['taints'] = merged_taints
            try:
                # A replace carries the resourceVersion just read: a
                # concurrent change gives 409 and a fresh read, never an
                # overwrite of someone else's edit.
                self.kube.core.replace_node(
                    self.name, current, _request_timeout=self.kube.timeout)
            except k8s_exc.ApiException as exc:
                if exc.status == 409:
                    LOG.debug('Node %s changed while registering; '
                              'retrying', self.name)
                    continue
                raise
            LOG.info('Updated labels and taints of node %s', self.name)
            return
        raise RuntimeError('node %s kept changing while zun-vk registered '
                           'it' % self.name)

    def patch_status(self, status):
        self.kube.core.patch_node_status(
            self.name, {'status': status},
            _request_timeout=self.kube.timeout)

    def renew_lease(self, duration):
        """Create or renew the node's Lease; returns the renew time."""
        now = timestamps.utcnow()
        for _attempt in range(CONFLICT_RETRIES):
            try:
                lease = self.kube.coordination.read_namespaced_lease(
                    self.name, LEASE_NAMESPACE,
                    _request_timeout=self.kube.timeout)
            except k8s_exc.ApiException as exc:
                if exc.status != 404:
                    raise
                lease = None
            if lease is None:
                body = {
                    'apiVersion': 'coordination.k8s.io/v1', 'kind': 'Lease',
                    'metadata': {
                        'name': self.name, 'namespace': LEASE_NAMESPACE,
                        'ownerReferences': self._owner_references()},
                    'spec': {'holderIdentity': self.name,
                             'leaseDurationSeconds': duration,
                             'renewTime': timestamps.micro_time(now)},
                }
                try:
                    self.kube.coordination.create_namespaced_lease(
                        LEASE_NAMESPACE, body,
                        _request_timeout=self.kube.timeout)
                    return now
                except k8s_exc.ApiException as exc:
                    if exc.status == 409:
                        continue
                    raise
            body = self.kube.to_dict(lease)
            body['spec']['holderIdentity'] = self.name
            body['spec']['leaseDurationSeconds'] = duration
            body['spec']['renewTime'] = timestamps.micro_time(now)
            if not body['metadata'].get('ownerReferences') and self.uid:
                body['metadata']['ownerReferences'] = self._owner_references()
            try:
                self.kube.coordination.replace_namespaced_lease(
                    self.name, LEASE_NAMESPACE, body,
                    _request_timeout=self.kube.timeout)
                return now
            except k8s_exc.ApiException as exc:
                if exc.status == 409:
                    continue
                raise
        raise RuntimeError('the Lease of node %s kept changing' % self.name)

    def _owner_references(self):
        if not self.uid:
            return []
        return [{'apiVersion': 'v1', 'kind': 'Node', 'name': self.name,
                 'uid': self.uid}]
