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

import threading
import time

from kubernetes.client import exceptions as k8s_exc

from zun_vk.translate import service_env

SERVICE_CACHE_SECONDS = 3.0
NODE_CACHE_SECONDS = 60.0


class ServicesForbidden(Exception):
    """zun-vk's Kubernetes identity may not read Services."""


class _Expiring(object):
    """Values by key, each kept ``ttl`` seconds; one loader per key."""

    def __init__(self, ttl, clock):
        self.ttl = ttl
        self.clock = clock
        self.lock = threading.Lock()
        self.values = {}
        self.loading = {}

    def get(self, key, load):
        with self.lock:
            key_lock = self.loading.setdefault(key, threading.Lock())
        with key_lock:
            with self.lock:
                found = self.values.get(key)
                if found is not None and found[0] > self.clock():
                    return found[1]
            value = load()
            with self.lock:
                self.values[key] = (self.clock() + self.ttl, value)
                if len(self.values) > 10000:
                    self._drop_expired_locked()
            return value

    def _drop_expired_locked(self):
        now = self.clock()
        for key in [k for k, (expiry, _v) in self.values.items()
                    if expiry <= now]:
            del self.values[key]
            self.loading.pop(key, None)


class ClusterView(object):
    def __init__(self, kube, node_name, clock=time.monotonic,
                 service_ttl=SERVICE_CACHE_SECONDS,
                 node_ttl=NODE_CACHE_SECONDS):
        self.kube = kube
        self.node_name = node_name
        self._services = _Expiring(service_ttl, clock)
        self._node = _Expiring(node_ttl, clock)

    def master_services(self):
        """The ``kubernetes`` Service of ``default`` as a list (0 or 1)."""
        return self._services.get(('master',), self._read_master)

    def namespace_services(self, namespace):
        """Every Service of the namespace, as API dicts."""
        return self._services.get(
            ('namespace', namespace), lambda: self._list(namespace))

    def node_allocatable(self):
        """The Node's status.allocatable, {} when the Node is not there."""
        return self._node.get('allocatable', self._read_allocatable)

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
