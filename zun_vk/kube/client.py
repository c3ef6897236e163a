"""Kubernetes I/O: one rate-limited client shared by a worker process."""

import threading
import time

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class TokenBucket(object):
    """Client-side throttling like client-go's QPS and burst."""

    def __init__(self, qps, burst, clock=time.monotonic, sleep=time.sleep):
        self._rate = float(qps)
        self._capacity = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self):
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity,
                               self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)


def throttle(rest_client, bucket):
    """Make every request of the client wait for a token of bucket.

    Every API call, watches included, ends in RESTClientObject.request
    (ApiClient.request and call_api differ between client versions, and
    some versions never call the former); its GET, POST, ... helpers call
    it through the instance, so the wrapper set here sees them too.
    """
    request = rest_client.request

    def throttled(*args, **kwargs):
        bucket.acquire()
        return request(*args, **kwargs)
    rest_client.request = throttled


def new_api_client(conf):
    """An ApiClient for [kubernetes]; raises on an unusable kubeconfig.

    Its requests are throttled to [kubernetes]qps and burst.
    """
    configuration = k8s_client.Configuration()
    if conf.kubernetes.kubeconfig:
        k8s_config.load_kube_config(
            config_file=conf.kubernetes.kubeconfig,
            context=conf.kubernetes.context,
            client_configuration=configuration,
            persist_config=False)
    else:
        k8s_config.load_incluster_config(
            client_configuration=configuration)
    # zun-vk retries with its own backoff and logs one line per failure.
    configuration.retries = 0
    # Enough connections for the pod workers plus the watch.
    configuration.connection_pool_maxsize = max(
        8, conf.sync.pod_workers + 4)
    api_client = k8s_client.ApiClient(configuration)
    throttle(api_client.rest_client, TokenBucket(conf.kubernetes.qps,
                                                 conf.kubernetes.burst))
    api_client.user_agent = 'zun-vk/%s' % conf.node_name
    return api_client


class KubeAPI(object):
    """The typed APIs zun-vk uses, built from one ApiClient."""

    def __init__(self, conf):
        self.conf = conf
        self.api_client = new_api_client(conf)
        self.core = k8s_client.CoreV1Api(self.api_client)
        self.coordination = k8s_client.CoordinationV1Api(self.api_client)
        self.timeout = conf.kubernetes.request_timeout
        self.host = self.api_client.configuration.host

    def to_dict(self, obj):
        """An API object as its JSON dict (camelCase keys)."""
        return self.api_client.sanitize_for_serialization(obj)

    def close(self):
        try:
            self.api_client.close()
        except Exception:  # noqa: B902 - closing is best effort
            LOG.debug('Closing the Kubernetes client failed', exc_info=True)
