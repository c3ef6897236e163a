import types

from kubernetes import client as k8s_client
from kubernetes.client import exceptions as k8s_exceptions
import pytest

from zun_vk.kubelet import auth


def conf(**kubelet):
    values = dict(webhook_authentication=True, authentication_cache_ttl=120,
                  authorized_cache_ttl=300, unauthorized_cache_ttl=30)
    values.update(kubelet)
    return types.SimpleNamespace(node_name='zun-vk-1',
                                 kubelet=types.SimpleNamespace(**values))


class Clock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeTokenReviews(object):
    def __init__(self, users):
        self.users = users
        self.calls = 0
        self.fail = False

    def create_token_review(self, body, _request_timeout=None):
        self.calls += 1
        if self.fail:
            raise k8s_exceptions.ApiException(status=500, reason='boom')
        user = self.users.get(body.spec.token)
        status = k8s_client.V1TokenReviewStatus(authenticated=bool(user))
        if user:
            status.user = k8s_client.V1UserInfo(
                username=user[0], groups=list(user[1]), uid='u-1',
                extra={'scopes': ['a']})
        return k8s_client.V1TokenReview(spec=body.spec, status=status)


class FakeAccessReviews(object):
    def __init__(self, allowed):
        self.allowed = allowed
        self.calls = []

    def create_subject_access_review(self, body, _request_timeout=None):
        attrs = body.spec.resource_attributes
        self.calls.append((body.spec.user, attrs.verb, attrs.resource,
                           attrs.subresource, attrs.name))
        ok = (body.spec.user, attrs.verb, attrs.subresource) in self.allowed
        return k8s_client.V1SubjectAccessReview(
            spec=body.spec,
            status=k8s_client.V1SubjectAccessReviewStatus(allowed=ok))


def authenticator(users, **kw):
    clock = Clock()
    a = auth.Authenticator(k8s_client.ApiClient(), conf(**kw), clock=clock)
    a._api = FakeTokenReviews(users)
    return a, clock


def authorizer(allowed):
    clock = Clock()
    a = auth.Authorizer(k8s_client.ApiClient(), conf(), clock=clock)
    a._api = FakeAccessReviews(allowed)
    return a, clock


@pytest.mark.parametrize('method,path,verb,subresource', [
    ('GET', '/containerLogs/ns/p/c', 'get', 'proxy'),
    ('POST', '/exec/ns/p/c', 'create', 'proxy'),
    ('GET', '/exec/ns/p/c', 'get', 'proxy'),
    ('POST', '/portForward/ns/p', 'create', 'proxy'),
    ('GET', '/stats/summary', 'get', 'stats'),
    ('GET', '/stats', 'get', 'stats'),
    ('GET', '/statsfoo', 'get', 'proxy'),
    ('GET', '/metrics/resource', 'get', 'metrics'),
    ('GET', '/logs/syslog', 'get', 'log'),
    ('GET', '/healthz', 'get', 'proxy'),
    ('HEAD', '/pods', 'get', 'proxy'),
    ('PUT', '/x', 'update', 'proxy'),
    ('PATCH', '/x', 'patch', 'proxy'),
    ('DELETE', '/x', 'delete', 'proxy'),
])
def test_request_attributes_follow_the_kubelet(method, path, verb,
                                               subresource):
    assert auth.request_attributes('n', method, path) == (verb, subresource)


def test_certificate_user_and_groups():
    cert = {'subject': ((('organizationName', 'system:masters'),),
                        (('organizationName', 'ops'),),
                        (('commonName', 'kube-apiserver'),))}
    assert auth.user_from_certificate(cert) == auth.User(
        'kube-apiserver', ('system:masters', 'ops'))


@pytest.mark.parametrize('cert', [None, {}, {'subject': ()},
                                  {'subject': ((('commonName', ''),),)}])
def test_no_usable_certificate(cert):
    assert auth.user_from_certificate(cert) is None


@pytest.mark.parametrize('header,token', [
    ('Bearer abc', 'abc'), ('bearer  abc ', 'abc'), ('Basic abc', None),
    ('Bearer', None), ('Bearer  ', None), (None, None), ('', None)])
def test_bearer_token(header, token):
    assert auth.bearer_token(header) == token


def test_anonymous_is_refused():
    a, _ = authenticator({})
    with pytest.raises(auth.AuthError) as exc:
        a.authenticate(None, None)
    assert exc.value.status == 401
    assert a._api.calls == 0


def test_certificate_wins_without_a_review():
    a, _ = authenticator({})
    cert = {'subject': ((('commonName', 'apiserver'),),)}
    assert a.authenticate(cert, 'Bearer bad').name == 'apiserver'
    assert a._api.calls == 0


def test_token_review_and_its_cache():
    a, clock = authenticator({'good': ('alice', ['dev'])})
    user = a.authenticate(None, 'Bearer good')
    assert (user.name, user.groups, user.uid) == ('alice', ('dev',), 'u-1')
    assert user.extra_dict() == {'scopes': ['a']}
    a.authenticate(None, 'Bearer good')
    assert a._api.calls == 1
    clock.now += 121
    a.authenticate(None, 'Bearer good')
    assert a._api.calls == 2


def test_bad_token_is_401_and_cached():
    a, _ = authenticator({})
    for _ in range(2):
        with pytest.raises(auth.AuthError) as exc:
            a.authenticate(None, 'Bearer nope')
        assert exc.value.status == 401
    assert a._api.calls == 1


def test_review_failure_is_401_and_not_cached():
    a, _ = authenticator({'good': ('alice', [])})
    a._api.fail = True
    with pytest.raises(auth.AuthError):
        a.authenticate(None, 'Bearer good')
    a._api.fail = False
    assert a.authenticate(None, 'Bearer good').name == 'alice'


def test_tokens_off_means_certificates_only():
    a, _ = authenticator({'good': ('alice', [])},
                         webhook_authentication=False)
    with pytest.raises(auth.AuthError):
        a.authenticate(None, 'Bearer good')


def test_authorize_asks_for_the_node_subresource():
    a, _ = authorizer({('alice', 'create', 'proxy')})
    a.authorize(auth.User('alice'), 'POST', '/exec/ns/p/c')
    assert a._api.calls == [('alice', 'create', 'nodes', 'proxy',
                             'zun-vk-1')]


def test_forbidden_message_names_the_attributes():
    a, _ = authorizer(set())
    with pytest.raises(auth.AuthError) as exc:
        a.authorize(auth.User('bob'), 'GET', '/stats/summary')
    assert exc.value.status == 403
    assert exc.value.message == ('Forbidden (user=bob, verb=get, '
                                 'resource=nodes, subresource=stats)')


def test_decisions_are_cached_for_their_own_times():
    a, clock = authorizer({('alice', 'get', 'proxy')})
    alice, bob = auth.User('alice'), auth.User('bob')
    a.authorize(alice, 'GET', '/pods')
    with pytest.raises(auth.AuthError):
        a.authorize(bob, 'GET', '/pods')
    a.authorize(alice, 'GET', '/pods')
    with pytest.raises(auth.AuthError):
        a.authorize(bob, 'GET', '/pods')
    assert len(a._api.calls) == 2
    clock.now += 31      # denials expire first
    with pytest.raises(auth.AuthError):
        a.authorize(bob, 'GET', '/pods')
    a.authorize(alice, 'GET', '/pods')
    assert len(a._api.calls) == 3
    clock.now += 300
    a.authorize(alice, 'GET', '/pods')
    assert len(a._api.calls) == 4
