"""Cached reads of what a pod's environment needs beyond its own objects.

The kubelet reads Services and its Node from informers; zun-vk reads
them when a pod is created, through short-lived caches so that a burst of
pods in one namespace costs one list, not one per pod:

* the Services of a namespace, for service links, and the ``kubernetes``
  Service of ``default``, for every pod: kept SERVICE_CACHE_SECONDS, and
  listed with resourceVersion 0, which the API server answers from its
  watch cache instead of etcd. A Service created moments before a pod may
  be missed for that long, as it may be by a kubelet whose informer lags;
  the variables are fixed when the capsule is created, as they are when
  a container starts;
* the Node's ``status.allocatable`` (written by zun-vk's node worker in
  another process), for resourceFieldRef limits a pod does not set: kept
  NODE_CACHE_SECONDS, the pace at which the node worker refreshes it.

Concurrent readers of one key wait for a single request.
"""

import time

from kubernetes.client import exceptions as k8s_exc

from zun_vk.translate import service_env
from zun_vk import ttl_cache

SERVICE_CACHE_SECONDS = 3.0
NODE_CACHE_SECONDS = 60.0


class ServicesForbidden(Exception):
    """zun-vk's Kubernetes identity may not read Services."""


class ClusterView(object):
    def __init__(self, kube, node_name, clock=time.monotonic,
                 service_ttl=SERVICE_CACHE_SECONDS,
                 node_ttl=NODE_CACHE_SECONDS):
        self.kube = kube
        self.node_name = node_name
        self._cache = ttl_cache.TTLCache(clock, size=10000)
        self._service_ttl = service_ttl
        self._node_ttl = node_ttl

    def master_services(self):
        """The ``kubernetes`` Service of ``default`` as a list (0 or 1)."""
        return self._cache.get_or_load(('master',), self._read_master,
                                       self._service_ttl)

    def namespace_services(self, namespace):
        """Every Service of the namespace, as API dicts."""
        return self._cache.get_or_load(
            ('namespace', namespace), lambda: self._list(namespace),
            self._service_ttl)

    def node_allocatable(self):
        """The Node's status.allocatable, {} when the Node is not there."""
        return self._cache.get_or_load('allocatable',
                                       self._read_allocatable,
                                       self._node_ttl)

    def _read_master(self):
        found = []
        for name in service_env.MASTER_SERVICES:
            try:
                service = self.kube.core.read_namespaced_service(
                    name, service_env.MASTER_NAMESPACE,
                    _request_timeout=self.kube.timeout)
            except k8s_exc.ApiException as exc:
                if exc.status == 404:
                    continue
                raise _translated(exc) from None
            found.append(self.kube.to_dict(service))
        return found

    def _list(self, namespace):
        try:
            result = self.kube.core.list_namespaced_service(
                namespace, resource_version='0',
                _request_timeout=self.kube.timeout)
        except k8s_exc.ApiException as exc:
            raise _translated(exc) from None
        return [self.kube.to_dict(s) for s in result.items]

    def _read_allocatable(self):
        try:
            node = self.kube.core.read_node(
                self.node_name, _request_timeout=self.kube.timeout)
        except k8s_exc.ApiException as exc:
            if exc.status == 404:
                return {}
            raise
        status = self.kube.to_dict(node).get('status') or {}
        return dict(status.get('allocatable') or {})


def _translated(exc):
    if exc.status == 403:
        return ServicesForbidden(
            "zun-vk's Kubernetes identity may not read Services (%s); "
            'grant it get and list on services (see the install guide, '
            '"Kubernetes identity")' % exc.reason)
    return exc
