"""A stand-in API server on 127.0.0.1 whose streams are our WebSocket code.

It answers what kubectl asks before streaming (as the SPDY harness does)
and upgrades the exec, attach and portforward GETs with
websocket_streams.handshake, then hands them to serve_exec or
serve_port_forward: kubectl 1.32 asks for v5.channel.k8s.io for exec and
for SPDY/3.1+portforward.k8s.io for port-forward; the Python client asks
for v5.channel.k8s.io,v4.channel.k8s.io for both.
"""

import http.server
import json
import urllib.parse

from zun_vk.kubelet import streams
from zun_vk.kubelet import transport as transport_mod
from zun_vk.kubelet import websocket_protocols
from zun_vk.kubelet import websocket_streams
from zun_vk.tests.unit.kubelet import kubectl_spdy_harness as spdy_harness

KUBECTL = spdy_harness.KUBECTL
POD_PATH = spdy_harness.POD_PATH
read_forwarded_port = spdy_harness.read_forwarded_port
exchange = spdy_harness.exchange


def _flag(query, name):
    return query.get(name, [''])[0] in ('1', 'true', 'True')


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        self.server.harness.log.append(fmt % args)

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, status, message, headers=()):
        body = message.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        # kubectl falls back to SPDY (a POST) when a WebSocket is refused.
        self.server.harness.fallbacks.append(self.path)
        self._refuse(400, 'this harness serves WebSockets only')

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        kinds = {POD_PATH + '/exec': streams.REMOTECOMMAND,
                 POD_PATH + '/attach': streams.REMOTECOMMAND,
                 POD_PATH + '/portforward': streams.PORTFORWARD}
        if url.path in kinds:
            return self._upgrade(kinds[url.path],
                                 urllib.parse.parse_qs(url.query))
        body = {'/version': spdy_harness.VERSION,
                '/api': {'kind': 'APIVersions', 'versions': ['v1']},
                '/apis': {'kind': 'APIGroupList', 'apiVersion': 'v1',
                          'groups': []},
                '/api/v1': spdy_harness.RESOURCES,
                POD_PATH: spdy_harness.POD}.get(url.path)
        if body is None:
            return self._json(404, {'kind': 'Status', 'apiVersion': 'v1',
                                    'status': 'Failure', 'code': 404,
                                    'reason': 'NotFound',
                                    'message': 'not found'})
        self._json(200, body)

    def _upgrade(self, kind, query):
        harness = self.server.harness
        harness.requested.append(
            websocket_protocols.requested_protocols(self.headers))
        # The API server's ?ports= becomes the kubelet's ?port=.
        ports = [int(port) for value in
                 query.get('ports', []) + query.get('port', [])
                 for port in value.split(',')]
        try:
            protocol, reply = websocket_streams.handshake(
                kind, self.headers,
                ports=ports if kind == streams.PORTFORWARD else None)
        except streams.Refused as refused:
            return self._refuse(refused.status, refused.message,
                                refused.headers)
        harness.negotiated.append(protocol)
        self.send_response_only(101)
        for name, value in reply:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        wire = transport_mod.SocketTransport(self.connection, self.rfile)
        try:
            if kind == streams.REMOTECOMMAND:
                options = streams.ExecOptions(
                    stdin=_flag(query, 'stdin'),
                    stdout=_flag(query, 'stdout'),
                    stderr=_flag(query, 'stderr'),
                    tty=_flag(query, 'tty'))
                websocket_streams.serve_exec(
                    wire, protocol, options, harness.exec_handler,
                    command=query.get('command'))
            else:
                websocket_streams.serve_port_forward(
                    wire, protocol, ports, harness.port_handler)
        finally:
            harness.sessions_done.release()


class Harness(spdy_harness.Harness):
    """The stand-in server plus a kubeconfig that points at it."""

    handler_class = _Handler
    websockets = 'true'
    prefix = 'kubectl-ws-'

    def __init__(self, exec_handler=None, port_handler=None):
        super().__init__(exec_handler, port_handler)
        self.requested = []
        self.negotiated = []
        self.fallbacks = []
