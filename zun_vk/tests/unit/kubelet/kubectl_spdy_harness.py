"""A stand-in API server on 127.0.0.1 that real kubectl can exec and
port-forward through, served by our SPDY code.

It answers what kubectl asks before streaming (/version for the
dispatching kubectl wrapper, discovery, GET of pod default/p), upgrades
the exec and portforward POSTs to SPDY/3.1 and hands them to
spdy_streams. Every byte kubectl sends after the upgrade is recorded.

Run as a script it records one session to stdout as hex, which is how
the files under data/ were made:

    python -m zun_vk.tests.unit.kubelet.kubectl_spdy_harness exec
"""

import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from zun_vk.kubelet import spdy_streams
from zun_vk.kubelet import streams

KUBECTL = '/usr/bin/kubectl'
POD_PATH = '/api/v1/namespaces/default/pods/p'
POD = {
    'apiVersion': 'v1', 'kind': 'Pod',
    'metadata': {'name': 'p', 'namespace': 'default',
                 'uid': '8a5c7d3e-0000-4000-8000-000000000001'},
    'spec': {'containers': [{'name': 'c', 'image': 'busybox'}]},
    'status': {'phase': 'Running'},
}
RESOURCES = {
    'kind': 'APIResourceList', 'groupVersion': 'v1',
    'resources': [
        {'name': 'pods', 'singularName': 'pod', 'namespaced': True,
         'kind': 'Pod', 'shortNames': ['po'],
         'verbs': ['get', 'list']},
        {'name': 'pods/exec', 'singularName': '', 'namespaced': True,
         'kind': 'PodExecOptions', 'verbs': ['create', 'get']},
        {'name': 'pods/portforward', 'singularName': '', 'namespaced': True,
         'kind': 'PodPortForwardOptions', 'verbs': ['create', 'get']},
    ],
}
# The kubectl wrapper picks the client matching the server's version.
VERSION = {'major': '1', 'minor': '32', 'gitVersion': 'v1.32.4',
           'platform': 'linux/amd64'}


class SocketTransport(streams.Transport):
    """streams.Transport over an upgraded socket; records what it reads."""

    def __init__(self, sock, reader):
        self._sock = sock
        self._reader = reader
        self._write_lock = threading.Lock()
        self._closed = False
        self.received = bytearray()

    def read(self, size):
        try:
            data = self._reader.read1(size)
        except (OSError, ValueError):
            return b''
        self.received += data
        return data

    def write(self, data):
        with self._write_lock:
            self._sock.sendall(data)

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == '/version':
            self._json(200, VERSION)
        elif path == '/api':
            self._json(200, {'kind': 'APIVersions', 'versions': ['v1']})
        elif path == '/apis':
            self._json(200, {'kind': 'APIGroupList', 'apiVersion': 'v1',
                             'groups': []})
        elif path == '/api/v1':
            self._json(200, RESOURCES)
        elif path == POD_PATH:
            self._json(200, POD)
        else:
            self._json(404, {'kind': 'Status', 'apiVersion': 'v1',
                             'status': 'Failure', 'reason': 'NotFound',
                             'code': 404, 'message': 'not found'})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == POD_PATH + '/exec':
            kind = streams.REMOTECOMMAND
        elif url.path == POD_PATH + '/portforward':
            kind = streams.PORTFORWARD
        else:
            return self.do_GET()
        harness = self.server.harness
        versions = self.headers.get_all('X-Stream-Protocol-Version') or []
        harness.requested_versions.append(versions)
        try:
            protocol = spdy_streams.negotiate(kind, versions)
        except streams.Refused as refused:
            self.send_response(refused.status)
            for name, value in refused.headers:
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(refused.message)))
            self.end_headers()
            self.wfile.write(refused.message.encode())
            return
        self.send_response(101)
        for name, value in spdy_streams.upgrade_headers(protocol):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        transport = SocketTransport(self.connection, self.rfile)
        harness.transports.append((kind, transport))
        try:
            if kind == streams.REMOTECOMMAND:
                options = streams.ExecOptions(
                    stdin=_flag(query, 'stdin'),
                    stdout=_flag(query, 'stdout'),
                    stderr=_flag(query, 'stderr'),
                    tty=_flag(query, 'tty'))
                spdy_streams.serve_exec(
                    transport, protocol, options, harness.exec_handler,
                    command=query.get('command'))
            else:
                spdy_streams.serve_port_forward(
                    transport, harness.port_handler, pod='p_default')
        except spdy_streams.StreamSetupError as exc:
            harness.log.append('stream setup failed: %s' % exc)
        finally:
            harness.sessions_done.release()


class Harness:
    """The stand-in server plus a kubeconfig that points at it.

    The WebSocket harness is the same with its own request handler and
    kubectl told to try WebSockets.
    """

    handler_class = _Handler
    websockets = 'false'
    prefix = 'kubectl-spdy-'

    def __init__(self, exec_handler=None, port_handler=None):
        self.exec_handler = exec_handler
        self.port_handler = port_handler
        self.log = []
        self.requested_versions = []
        self.transports = []
        self.sessions_done = threading.Semaphore(0)
        self._dir = tempfile.TemporaryDirectory(prefix=self.prefix)
        self.kubeconfig = os.path.join(self._dir.name, 'kubeconfig')
        self._server = None
        self.port = None

    @property
    def url(self):
        return 'https://127.0.0.1:%d' % self.port

    def __enter__(self):
        cert = os.path.join(self._dir.name, 'cert.pem')
        key = os.path.join(self._dir.name, 'key.pem')
        subprocess.run(
            ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
             'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
             '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert],
            check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), self.handler_class)
        self._server.daemon_threads = True
        self._server.harness = self
        self._server.socket = context.wrap_socket(self._server.socket,
                                                  server_side=True)
        self.port = self._server.server_address[1]
        with open(self.kubeconfig, 'w') as out:
            json.dump({
                'apiVersion': 'v1', 'kind': 'Config',
                'clusters': [{'name': 'h', 'cluster': {
                    'server': self.url,
                    'insecure-skip-tls-verify': True}}],
                'users': [{'name': 'u', 'user': {'token': 'harness'}}],
                'contexts': [{'name': 'h', 'context': {
                    'cluster': 'h', 'user': 'u', 'namespace': 'default'}}],
                'current-context': 'h'}, out)
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name='kubectl-harness').start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()

    def env(self):
        env = dict(os.environ)
        env.update(KUBECONFIG=self.kubeconfig, HOME=self._dir.name,
                   KUBECTL_REMOTE_COMMAND_WEBSOCKETS=self.websockets,
                   KUBECTL_PORT_FORWARD_WEBSOCKETS=self.websockets)
        return env

    def kubectl(self, *args, **kwargs):
        kwargs.setdefault('timeout', 60)
        return subprocess.run([KUBECTL] + list(args), env=self.env(),
                              capture_output=True, **kwargs)

    def popen(self, *args):
        return subprocess.Popen([KUBECTL] + list(args), env=self.env(),
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def wait_sessions(self, count=1, timeout=30.0):
        deadline = time.monotonic() + timeout
        for _ in range(count):
            if not self.sessions_done.acquire(
                    timeout=max(0.0, deadline - time.monotonic())):
                return False
        return True


def _echo_exec(channels):
    while True:
        data = channels.read_stdin()
        if not data:
            break
        channels.write_stdout(data)
    channels.write_stderr(b'to stderr\n')
    channels.finish(exit_code=7)


def _echo_until_eot(channels):
    # In a terminal ^D is a byte like any other: stop at it.
    while True:
        data = channels.read_stdin()
        channels.write_stdout(data)
        if not data or b'\x04' in data:
            break
    channels.finish(exit_code=0)


def _echo_port(conn):
    while True:
        data = conn.read()
        if not data:
            break
        conn.write(data)


def _capture(what):
    exec_handler = _echo_until_eot if what == 'exec-tty' else _echo_exec
    with Harness(exec_handler, _echo_port) as harness:
        if what == 'exec':
            result = harness.kubectl('exec', '-i', 'p', '--', 'sh', '-c',
                                     'cat', input=b'hello\n')
        elif what == 'exec-tty':
            # kubectl wants a terminal for -t; script gives it one.
            result = subprocess.run(
                ['script', '-qec', 'stty cols 80 rows 24; '
                 '%s exec -i -t p -- sh' % KUBECTL,
                 '/dev/null'], env=harness.env(), input=b'hi\n\x04',
                capture_output=True, timeout=60)
        else:
            result = _port_forward_once(harness)
        harness.wait_sessions()
        sys.stderr.write('kubectl: %r\nversions asked: %r\n'
                         % (result, harness.requested_versions))
        for kind, transport in harness.transports:
            sys.stdout.write('%s %s\n' % (kind, transport.received.hex()))


def _port_forward_once(harness, payload=b'ping\n'):
    proc = harness.popen('port-forward', '--address', '127.0.0.1', 'p',
                         ':80')
    try:
        local_port = read_forwarded_port(proc)
        return exchange(local_port, payload)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def read_forwarded_port(proc):
    # "Forwarding from 127.0.0.1:NNNNN -> 80"
    line = proc.stdout.readline().decode()
    if 'Forwarding from' not in line:
        raise RuntimeError('kubectl port-forward said %r, %r'
                           % (line, proc.stderr.read()))
    return int(line.split('->')[0].rsplit(':', 1)[1])


def exchange(port, payload, timeout=30.0):
    """Send payload on a new connection, half-close, read to the end."""
    with socket.create_connection(('127.0.0.1', port),
                                  timeout=timeout) as conn:
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
        received = bytearray()
        while True:
            data = conn.recv(65536)
            if not data:
                return bytes(received)
            received += data


if __name__ == '__main__':
    _capture(sys.argv[1] if len(sys.argv) > 1 else 'exec')
