"""Kubernetes I/O for the node's pods: list, watch, status, delete, Events,
and what their volumes read (ConfigMaps, Secrets, service account tokens).

Pods are handled as plain dicts in API JSON form (camelCase), the form the
pure translation functions take.
"""

import uuid

from kubernetes import client as k8s_client
from kubernetes.client import exceptions as k8s_exc
from kubernetes import watch as k8s_watch
from oslo_log import log as logging

from zun_vk import timestamps
from zun_vk.translate import status_patch

LOG = logging.getLogger(__name__)

WATCH_TIMEOUT = 120
TRANSIENT_STATUSES = {409, 429, 500, 502, 503, 504}


class Gone(Exception):
    """The watch's resourceVersion is too old: relist."""


def is_transient(exc):
    status = getattr(exc, 'status', None)
    if isinstance(exc, k8s_exc.ApiException):
        return status in TRANSIENT_STATUSES or status == 0 or status is None
    return True


def pod_key(pod):
    meta = pod['metadata']
    return '%s/%s' % (meta['namespace'], meta['name'])


class PodClient(object):
    def __init__(self, kube, node_name):
        self.kube = kube
        self.node_name = node_name
        self.selector = 'spec.nodeName=%s' % node_name
        self._watch = None

    # list and watch -------------------------------------------------------

    def list(self):
        """(pods, resourceVersion) of every pod bound to the node."""
        result = self.kube.core.list_pod_for_all_namespaces(
            field_selector=self.selector,
            _request_timeout=self.kube.timeout)
        pods = [self.kube.to_dict(p) for p in result.items]
        return pods, result.metadata.resource_version

    def watch(self, resource_version):
        """Yield (type, pod dict, resourceVersion) until the watch ends.

        Raises Gone when the resourceVersion has been compacted away.
        """
        self._watch = k8s_watch.Watch()
        stream = self._watch.stream(
            self.kube.core.list_pod_for_all_namespaces,
            field_selector=self.selector,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_TIMEOUT,
            _request_timeout=WATCH_TIMEOUT + 30)
        try:
            # The client raises ERROR events as ApiException itself.
            for event in stream:
                kind = event['type']
                obj = event['object']
                if kind == 'BOOKMARK':
                    rv = (event.get('raw_object') or {}).get(
                        'metadata', {}).get('resourceVersion')
                    yield kind, None, rv
                    continue
                pod = self.kube.to_dict(obj)
                yield kind, pod, pod['metadata'].get('resourceVersion')
        except k8s_exc.ApiException as exc:
            if exc.status == 410:
                raise Gone(str(exc))
            raise
        finally:
            self._watch = None

    def stop_watch(self):
        watch = self._watch
        if watch is not None:
            watch.stop()

    # reads -----------------------------------------------------------------

    def read(self, namespace, name):
        try:
            return self.kube.to_dict(self.kube.core.read_namespaced_pod(
                name, namespace, _request_timeout=self.kube.timeout))
        except k8s_exc.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def read_config_map(self, namespace, name):
        """The ConfigMap's data, or None when it does not exist."""
        obj = self.config_map(namespace, name)
        return None if obj is None else dict(obj.get('data') or {})

    def read_secret(self, namespace, name):
        """The Secret's data (base64 values), or None when missing."""
        obj = self.secret(namespace, name)
        return None if obj is None else dict(obj.get('data') or {})

    def config_map(self, namespace, name):
        """The ConfigMap as JSON (data, binaryData), or None if missing."""
        try:
            return self.kube.to_dict(self.kube.core.read_namespaced_config_map(
                name, namespace, _request_timeout=self.kube.timeout))
        except k8s_exc.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def secret(self, namespace, name):
        """The Secret as JSON (data in base64), or None if missing."""
        try:
            return self.kube.to_dict(self.kube.core.read_namespaced_secret(
                name, namespace, _request_timeout=self.kube.timeout))
        except k8s_exc.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def service_account_token(self, pod, audience, expiration_seconds):
        """(token, expires at: aware datetime) for the pod's account.

        A TokenRequest bound to the pod, as the kubelet makes it: the
        token stops working when the pod is deleted. No audience means
        the API server's own.
        """
        meta = pod['metadata']
        account = (pod.get('spec') or {}).get('serviceAccountName') or (
            'default')
        body = k8s_client.AuthenticationV1TokenRequest(
            spec=k8s_client.V1TokenRequestSpec(
                audiences=[audience] if audience else [],
                expiration_seconds=int(expiration_seconds),
                bound_object_ref=k8s_client.V1BoundObjectReference(
                    api_version='v1', kind='Pod', name=meta['name'],
                    uid=meta['uid'])))
        reply = self.kube.core.create_namespaced_service_account_token(
            account, meta['namespace'], body,
            _request_timeout=self.kube.timeout)
        return reply.status.token, reply.status.expiration_timestamp

    # writes ----------------------------------------------------------------

    def patch_status(self, pod, status):
        """Write zun-vk's part of the pod's status; returns the pod.

        A strategic merge patch (see translate/status_patch.py): the
        conditions others own survive it, podIPs are replaced whole. The
        UID makes a same-name pod safe.
        """
        meta = pod['metadata']
        body = {'metadata': {'uid': meta['uid']},
                'status': status_patch.strategic_merge_patch(
                    status, pod.get('status'))}
        try:
            result = self.kube.core.patch_namespaced_pod_status(
                meta['name'], meta['namespace'], body,
                _content_type='application/strategic-merge-patch+json',
                _request_timeout=self.kube.timeout)
        except k8s_exc.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return self.kube.to_dict(result)

    def delete_now(self, pod):
        """Delete the pod with grace 0 once its capsule is gone.

        The UID precondition keeps a new pod of the same name safe.
        """
        meta = pod['metadata']
        body = {'gracePeriodSeconds': 0,
                'preconditions': {'uid': meta['uid']}}
        try:
            self.kube.core.delete_namespaced_pod(
                meta['name'], meta['namespace'], body=body,
                grace_period_seconds=0,
                _request_timeout=self.kube.timeout)
        except k8s_exc.ApiException as exc:
            # 404: already gone; 409: the UID no longer matches.
            if exc.status not in (404, 409):
                raise


class EventRecorder(object):
    """Events on pods, as a kubelet records them.

    Source component ``kubelet`` and host the node name, so
    ``kubectl get events --field-selector source=kubelet`` lists them;
    field_path names a container (``spec.containers{c}``). Repeats of
    the same reason and message for a pod update one Event's count
    instead of adding new ones.
    """

    def __init__(self, kube, node_name, component='kubelet'):
        self.kube = kube
        self.node_name = node_name
        self.component = component
        self._seen = {}

    def record(self, pod, event_type, reason, message, field_path=None):
        meta = pod['metadata']
        now = timestamps.rfc3339(timestamps.utcnow())
        key = (meta['uid'], event_type, reason, message, field_path)
        try:
            seen = self._seen.get(key)
            if seen is not None:
                name, count = seen
                count += 1
                try:
                    self.kube.core.patch_namespaced_event(
                        name, meta['namespace'],
                        {'count': count, 'lastTimestamp': now},
                        _request_timeout=self.kube.timeout)
                    self._seen[key] = (name, count)
                    return
                except k8s_exc.ApiException as exc:
                    if exc.status != 404:
                        raise
            name = '%s.%s' % (meta['name'][:200], uuid.uuid4().hex[:16])
            involved = {
                'kind': 'Pod', 'apiVersion': 'v1',
                'namespace': meta['namespace'], 'name': meta['name'],
                'uid': meta['uid'],
                'resourceVersion': meta.get('resourceVersion')}
            if field_path:
                involved['fieldPath'] = field_path
            body = {
                'metadata': {'name': name, 'namespace': meta['namespace']},
                'involvedObject': involved,
                'reason': reason,
                'message': message[:1024],
                'type': event_type,
                'count': 1,
                'firstTimestamp': now,
                'lastTimestamp': now,
                'source': {'component': self.component,
                           'host': self.node_name},
                'reportingComponent': self.component,
                'reportingInstance': self.node_name,
            }
            self.kube.core.create_namespaced_event(
                meta['namespace'], body, _request_timeout=self.kube.timeout)
            if len(self._seen) > 10000:
                self._seen.clear()
            self._seen[key] = (name, 1)
        except Exception as exc:  # noqa: B902 - an Event is never fatal
            LOG.warning('Could not record Event %s for pod %s/%s: %s',
                        reason, meta['namespace'], meta['name'], exc)
