"""The kubelet HTTP server: TLS, the kubelet's auth filter, then the route.

One thread per connection (the stdlib's threading HTTP server), the TLS
handshake done in that thread so a slow client never holds the accept
loop. Every request is authenticated and authorized before anything else
is looked at, /healthz included, as on the kubelet's secure port.
Streaming requests are upgraded here (SPDY/3.1, or WebSocket with the
channel protocols or the SPDY tunnel of port-forward, whichever the
caller asks for) and handed to the protocol front ends; what runs
inside a session is the backend's business.
"""

import http.server
import json
import ssl

from oslo_log import log as logging

from zun_vk import http_error
from zun_vk.kubelet import auth
from zun_vk.kubelet import routes
from zun_vk.kubelet import spdy_streams
from zun_vk.kubelet import streams
from zun_vk.kubelet import transport as transport_mod
from zun_vk.kubelet import websocket_streams
from zun_vk import tls_http

LOG = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10
# Headers of a plain-text error, as Go's http.Error writes them.
_ERROR_HEADERS = (('Content-Type', 'text/plain; charset=utf-8'),
                  ('X-Content-Type-Options', 'nosniff'))


def tls_context(cert_file, key_file, client_ca_file):
    """A server context: TLS 1.2+, client certificates verified if sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        context.load_verify_locations(cafile=client_ca_file)
        # A certificate from another CA fails the handshake; none at all
        # leaves bearer tokens as the way in.
        context.verify_mode = ssl.CERT_OPTIONAL
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


class KubeletHTTPServer(tls_http.ThreadingTLSServer):
    def __init__(self, address, context, app, max_connections,
                 idle_timeout):
        self.app = app
        super().__init__(address, KubeletRequestHandler, context,
                         handshake_timeout=HANDSHAKE_TIMEOUT,
                         max_connections=max_connections,
                         idle_timeout=idle_timeout)

    def handle_error(self, request, client_address):
        LOG.exception('Kubelet API request from %s failed',
                      client_address[0])


class KubeletRequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # Unbuffered: after an upgrade the session owns every byte the client
    # sends (see transport.py).
    rbufsize = 0
    server_version = 'zun-vk'
    sys_version = ''

    def log_message(self, format, *args):
        LOG.debug('%s %s', self.client_address[0], format % args)

    def do_GET(self):
        self._serve('GET')

    def do_HEAD(self):
        self._serve('HEAD')

    def do_POST(self):
        self._serve('POST')

    def do_PUT(self):
        self._serve('PUT')

    def do_DELETE(self):
        self._serve('DELETE')

    def do_PATCH(self):
        self._serve('PATCH')

    # ------------------------------------------------------------------

    def _serve(self, method):
        app = self.server.app
        path = self.path.split('?', 1)[0]
        try:
            user = app.authenticator.authenticate(
                self.connection.getpeercert(),
                self.headers.get('Authorization'))
            app.authorizer.authorize(user, method, path)
        except auth.AuthError as exc:
            LOG.info('Kubelet API %s %s from %s refused: %s', method, path,
                     self.client_address[0], exc.message)
            return self._error(exc.status, exc.message)
        try:
            route = routes.parse(method, self.path)
            self._dispatch(app.backend, route, user)
        except http_error.HTTPError as exc:
            # Bad routes, missing pods or containers, refused handshakes.
            self._error(exc.status, exc.message, exc.headers)
        except spdy_streams.StreamSetupError as exc:
            # The 101 is sent: nothing to answer, only to say why.
            LOG.info('Kubelet API %s: %s', path, exc)

    def _dispatch(self, backend, route, user):
        op = route.operation
        LOG.debug('Kubelet API %s for %s', op, user.name)
        if op == routes.HEALTHZ:
            return self._reply(200, b'ok', 'text/plain; charset=utf-8')
        if op == routes.PODS:
            return self._json(backend.pods())
        if op == routes.STATS_SUMMARY:
            return self._json(backend.stats_summary(dict(route.query)))
        if op == routes.METRICS_RESOURCE:
            return self._reply(200, backend.metrics_resource().encode(),
                               'text/plain; version=0.0.4')
        if op == routes.LOGS:
            return self._logs(backend, route)
        if op == routes.RUN:
            output = backend.run(route)
            return self._reply(200, output, 'text/plain; charset=utf-8')
        return self._stream(backend, route)

    def _logs(self, backend, route):
        # Resolve first so a missing pod or container is a clean error.
        chunks = backend.logs(route)
        try:
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()
        except OSError:
            LOG.debug('Log reader of %s/%s went away', route.namespace,
                      route.pod)
        finally:
            close = getattr(chunks, 'close', None)
            if close is not None:
                close()
        self.close_connection = True

    def _stream(self, backend, route):
        kind = (streams.PORTFORWARD if route.operation == routes.PORT_FORWARD
                else streams.REMOTECOMMAND)
        target = backend.resolve(route)
        upgrade = (self.headers.get('Upgrade') or '').strip().lower()
        app = self.server.app
        if upgrade == 'websocket':
            protocol, reply = websocket_streams.handshake(
                kind, self.headers, ports=route.ports
                if kind == streams.PORTFORWARD else None)
            self._switch(reply)
            wire = transport_mod.SocketTransport(self.connection)
            if kind == streams.PORTFORWARD:
                websocket_streams.serve_port_forward(
                    wire, protocol, route.ports,
                    lambda conn: backend.port_forward(target, conn),
                    idle_timeout=app.stream_idle_timeout,
                    stream_timeout=app.stream_creation_timeout,
                    pod=route.pod, uid=route.pod_uid or '')
            else:
                websocket_streams.serve_exec(
                    wire, protocol, route.exec_options,
                    lambda channels: backend.exec(target, route, channels),
                    idle_timeout=app.stream_idle_timeout,
                    command=list(route.command) or None)
            self.close_connection = True
            return
        if upgrade.startswith('spdy/'):
            requested = self.headers.get_all('X-Stream-Protocol-Version')
            protocol = spdy_streams.negotiate(kind, requested or [])
            self._switch(spdy_streams.upgrade_headers(protocol))
            wire = transport_mod.SocketTransport(self.connection)
            if kind == streams.PORTFORWARD:
                spdy_streams.serve_port_forward(
                    wire, lambda conn: backend.port_forward(target, conn),
                    idle_timeout=app.stream_idle_timeout,
                    stream_timeout=app.stream_creation_timeout,
                    pod=route.pod, uid=route.pod_uid or '')
            else:
                spdy_streams.serve_exec(
                    wire, protocol, route.exec_options,
                    lambda channels: backend.exec(target, route, channels),
                    stream_timeout=app.stream_creation_timeout,
                    idle_timeout=app.stream_idle_timeout,
                    command=list(route.command) or None)
        else:
            return self._error(400, 'Upgrade request required')
        self.close_connection = True

    # ------------------------------------------------------------------

    def _switch(self, headers):
        self.send_response_only(101)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def _reply(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _json(self, value):
        self._reply(200, json.dumps(value).encode(), 'application/json')

    def _error(self, status, message, headers=()):
        self._reply(status, (message + '\n').encode(),
                    _ERROR_HEADERS[0][1], (_ERROR_HEADERS[1],) +
                    tuple(headers))


class App(object):
    """What the request handlers need, built once per worker process."""

    def __init__(self, authenticator, authorizer, backend,
                 stream_creation_timeout=30, stream_idle_timeout=14400):
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.backend = backend
        self.stream_creation_timeout = stream_creation_timeout
        self.stream_idle_timeout = stream_idle_timeout
