"""The kubelet HTTP server in-process: TLS, the auth filter, the routes."""

import http.client
import ssl
import threading

import pytest

from zun_vk.kubelet import auth
from zun_vk.kubelet import certs
from zun_vk.kubelet import routes
from zun_vk.kubelet import server


class FakeAuthenticator(object):
    def authenticate(self, peer_cert, authorization):
        if authorization == 'Bearer good':
            return auth.User('alice')
        if authorization == 'Bearer weak':
            return auth.User('bob')
        raise auth.AuthError(401, 'Unauthorized')


class FakeAuthorizer(object):
    def authorize(self, user, method, path):
        if user.name != 'alice':
            verb, sub = auth.request_attributes('n', method, path)
            raise auth.AuthError(403, 'Forbidden (user=%s, verb=%s, '
                                      'resource=nodes, subresource=%s)'
                                 % (user.name, verb, sub))


class FakeBackend(object):
    def pods(self):
        return {'kind': 'PodList', 'items': []}

    def logs(self, route):
        if route.container == 'missing':
            raise routes.RouteError(404, 'container "missing" not found')
        return iter([b'one\n', b'', b'two\n'])

    def resolve(self, route):
        return object()


@pytest.fixture(scope='module')
def kubelet(tmp_path_factory):
    directory = tmp_path_factory.mktemp('pki')
    cert, key = certs.self_signed('node', ['127.0.0.1'])
    context = server.tls_context(
        certs.write_private(str(directory), 'c', cert),
        certs.write_private(str(directory), 'k', key), None)
    app = server.App(FakeAuthenticator(), FakeAuthorizer(), FakeBackend())
    httpd = server.KubeletHTTPServer(('127.0.0.1', 0), context, app, 8, 30)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def request(port, method, path, token=None, headers=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection('127.0.0.1', port, context=context,
                                       timeout=10)
    all_headers = dict(headers or {})
    if token:
        all_headers['Authorization'] = 'Bearer ' + token
    conn.request(method, path, headers=all_headers)
    reply = conn.getresponse()
    body = reply.read()
    conn.close()
    return reply.status, body, reply


@pytest.mark.parametrize('path', ['/healthz', '/pods', '/nothing',
                                  '/containerLogs/ns/p/c'])
def test_no_credentials_is_401_everywhere(kubelet, path):
    status, body, _ = request(kubelet, 'GET', path)
    assert (status, body) == (401, b'Unauthorized\n')


def test_a_user_without_the_right_is_403(kubelet):
    status, body, _ = request(kubelet, 'GET', '/stats/summary', 'weak')
    assert status == 403
    assert body == (b'Forbidden (user=bob, verb=get, resource=nodes, '
                    b'subresource=stats)\n')


def test_healthz_and_pods(kubelet):
    assert request(kubelet, 'GET', '/healthz', 'good')[:2] == (200, b'ok')
    status, body, reply = request(kubelet, 'GET', '/pods', 'good')
    assert status == 200 and b'"PodList"' in body
    assert reply.getheader('Content-Type') == 'application/json'


def test_unknown_path_is_404_after_auth(kubelet):
    assert request(kubelet, 'GET', '/nothing', 'good')[0] == 404


def test_logs_are_chunked(kubelet):
    status, body, reply = request(kubelet, 'GET', '/containerLogs/ns/p/c',
                                  'good')
    assert (status, body) == (200, b'one\ntwo\n')
    assert reply.getheader('Transfer-Encoding') == 'chunked'


def test_backend_errors_are_plain_text(kubelet):
    status, body, reply = request(kubelet, 'GET',
                                  '/containerLogs/ns/p/missing', 'good')
    assert (status, body) == (404, b'container "missing" not found\n')
    assert reply.getheader('X-Content-Type-Options') == 'nosniff'


def test_bad_query_is_400(kubelet):
    status, _, _ = request(kubelet, 'GET',
                           '/containerLogs/ns/p/c?tailLines=x', 'good')
    assert status == 400


def test_exec_without_upgrade_is_400(kubelet):
    status, body, _ = request(kubelet, 'POST',
                              '/exec/ns/p/c?command=ls&output=1', 'good')
    assert (status, body) == (400, b'Upgrade request required\n')


def test_unsupported_spdy_protocol_is_403_with_the_accepted_ones(kubelet):
    status, _, reply = request(
        kubelet, 'POST', '/exec/ns/p/c?command=ls&output=1', 'good',
        {'Connection': 'Upgrade', 'Upgrade': 'SPDY/3.1',
         'X-Stream-Protocol-Version': 'v99.channel.k8s.io'})
    assert status == 403
    assert 'v4.channel.k8s.io' in reply.getheader(
        'X-Accepted-Stream-Protocol-Versions')


def test_plain_http_is_not_served(kubelet):
    conn = http.client.HTTPConnection('127.0.0.1', kubelet, timeout=10)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        conn.request('GET', '/healthz')
        conn.getresponse()


def test_websocket_without_a_common_subprotocol_is_refused(kubelet):
    status, _, _ = request(
        kubelet, 'GET', '/exec/ns/p/c?command=ls&output=1', 'good',
        {'Connection': 'Upgrade', 'Upgrade': 'websocket',
         'Sec-WebSocket-Version': '13',
         'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
         'Sec-WebSocket-Protocol': 'v99.channel.k8s.io'})
    assert status == 403


def test_websocket_without_credentials_is_401(kubelet):
    status, _, _ = request(
        kubelet, 'GET', '/exec/ns/p/c?command=ls&output=1', None,
        {'Connection': 'Upgrade', 'Upgrade': 'websocket',
         'Sec-WebSocket-Version': '13',
         'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
         'Sec-WebSocket-Protocol': 'v5.channel.k8s.io'})
    assert status == 401
