"""Who is calling the kubelet API, and may they: the kubelet's own filter.

Authentication is a client certificate verified by the TLS handshake
against [kubelet]client_ca_file (user = common name, groups =
organizations) or a bearer token checked with TokenReview. Authorization
is a SubjectAccessReview on the node with the subresource the kubelet
derives from the path (kubernetes pkg/kubelet/server/auth.go). Answers
are cached for the kubelet's default times, allowed and denied apart.
"""

import dataclasses
import hashlib
import time

from kubernetes import client as k8s_client
from kubernetes.client import exceptions as k8s_exceptions
from oslo_log import log as logging

from zun_vk import http_error
from zun_vk import ttl_cache

LOG = logging.getLogger(__name__)

_VERBS = {'POST': 'create', 'GET': 'get', 'HEAD': 'get', 'PUT': 'update',
          'PATCH': 'patch', 'DELETE': 'delete'}
_SUBRESOURCES = (('/stats', 'stats'), ('/metrics', 'metrics'),
                 ('/logs', 'log'), ('/spec', 'spec'))


class AuthError(http_error.HTTPError):
    """The caller is not let in; status is 401 or 403."""


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    groups: tuple = ()
    uid: str = ''
    extra: tuple = ()   # ((key, (values...)), ...), hashable for the cache

    def extra_dict(self):
        return {key: list(values) for key, values in self.extra}


def _is_subpath(path, prefix):
    return path == prefix or path.startswith(prefix + '/')


def request_attributes(node_name, method, path):
    """(verb, subresource) of a request, as the kubelet maps them."""
    verb = _VERBS.get(method.upper(), '')
    subresource = 'proxy'
    for prefix, name in _SUBRESOURCES:
        if _is_subpath(path, prefix):
            subresource = name
            break
    return verb, subresource


def user_from_certificate(peer_cert):
    """The user a verified client certificate names, or None.

    peer_cert is ssl.SSLSocket.getpeercert(): a dict only when the
    handshake verified the chain against the client CA.
    """
    if not peer_cert:
        return None
    names, groups = [], []
    for rdn in peer_cert.get('subject', ()):
        for key, value in rdn:
            if key == 'commonName':
                names.append(value)
            elif key == 'organizationName':
                groups.append(value)
    if not names or not names[0]:
        return None
    return User(name=names[0], groups=tuple(groups))


def bearer_token(authorization):
    """The token of an 'Authorization: Bearer ...' header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        return None
    return token.strip()


class Authenticator(object):
    """Certificates first, then TokenReview; never anonymous."""

    def __init__(self, api_client, conf, clock=time.monotonic):
        self._api = k8s_client.AuthenticationV1Api(api_client)
        self._webhook = conf.kubelet.webhook_authentication
        self._ttl = conf.kubelet.authentication_cache_ttl
        self._cache = ttl_cache.TTLCache(clock)

    def authenticate(self, peer_cert, authorization):
        user = user_from_certificate(peer_cert)
        if user is not None:
            return user
        token = bearer_token(authorization)
        if token is None or not self._webhook:
            raise AuthError(401, 'Unauthorized')
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            if isinstance(cached, User):
                return cached
            raise AuthError(401, 'Unauthorized')
        user = self._review(token)
        self._cache.put(key, user if user is not None else 'denied',
                        self._ttl)
        if user is None:
            raise AuthError(401, 'Unauthorized')
        return user

    def _review(self, token):
        body = k8s_client.V1TokenReview(
            spec=k8s_client.V1TokenReviewSpec(token=token))
        try:
            review = self._api.create_token_review(body, _request_timeout=10)
        except (k8s_exceptions.ApiException, OSError) as exc:
            # Not cached: an API server hiccup must not lock users out.
            LOG.warning('TokenReview failed: %s', _describe(exc))
            raise AuthError(401, 'Unauthorized') from None
        status = review.status
        if status is None or not status.authenticated or status.user is None:
            return None
        info = status.user
        extra = tuple(sorted((k, tuple(v or ()))
                             for k, v in (info.extra or {}).items()))
        return User(name=info.username or '', groups=tuple(info.groups or ()),
                    uid=info.uid or '', extra=extra)


class Authorizer(object):
    """SubjectAccessReview on nodes/<subresource> of this node."""

    def __init__(self, api_client, conf, clock=time.monotonic):
        self._api = k8s_client.AuthorizationV1Api(api_client)
        self._node = conf.node_name
        self._allowed_ttl = conf.kubelet.authorized_cache_ttl
        self._denied_ttl = conf.kubelet.unauthorized_cache_ttl
        self._cache = ttl_cache.TTLCache(clock)

    def authorize(self, user, method, path):
        verb, subresource = request_attributes(self._node, method, path)
        key = (user, verb, subresource)
        allowed = self._cache.get(key)
        if allowed is None:
            allowed = self._review(user, verb, subresource)
            if allowed is not None:
                self._cache.put(key, allowed, self._allowed_ttl if allowed
                                else self._denied_ttl)
        if not allowed:
            raise AuthError(403, 'Forbidden (user=%s, verb=%s, '
                                 'resource=nodes, subresource=%s)'
                            % (user.name, verb, subresource))

    def _review(self, user, verb, subresource):
        body = k8s_client.V1SubjectAccessReview(
            spec=k8s_client.V1SubjectAccessReviewSpec(
                user=user.name, groups=list(user.groups),
                uid=user.uid or None, extra=user.extra_dict() or None,
                resource_attributes=k8s_client.V1ResourceAttributes(
                    verb=verb, version='v1', resource='nodes',
                    subresource=subresource, name=self._node)))
        try:
            review = self._api.create_subject_access_review(
                body, _request_timeout=10)
        except (k8s_exceptions.ApiException, OSError) as exc:
            LOG.warning('SubjectAccessReview for %s failed: %s', user.name,
                        _describe(exc))
            return None
        return bool(review.status and review.status.allowed)


def _describe(exc):
    if isinstance(exc, k8s_exceptions.ApiException):
        return '%s %s' % (exc.status, exc.reason)
    return str(exc) or type(exc).__name__
