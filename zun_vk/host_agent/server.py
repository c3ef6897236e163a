"""The agent's HTTPS server: mutual TLS, tickets, then the operation.

A connection is served in three steps, each refusing what it cannot
vouch for:

1. TLS handshake in the connection's own thread, client certificate
   required and checked against [agent]client_ca_file (a client without
   one, or with one from another CA, never gets an HTTP answer);
2. the certificate's CN or a DNS subjectAltName must be in
   [agent]allowed_clients (403), so another certificate of the same CA,
   such as an agent's server certificate, is no client;
3. the ticket in X-Zun-VK-Ticket must be signed by zun-vk's key, name
   this host, the operation and the target of this very request (for a
   files write also the SHA-256 of its body, read before the ticket is
   checked), be in its time and unused (401/403).

Request bodies (files writes) are never logged.
"""

import http.server
import select
import socket
import ssl
import threading

from oslo_log import log as logging

from zun_vk.host_agent import base
from zun_vk.host_agent import routes
from zun_vk.host_agent import sessions
from zun_vk.host_agent import usage
from zun_vk.hostlink import files_body
from zun_vk.hostlink import framing
from zun_vk.hostlink import tickets
from zun_vk.hostlink import tlsio
from zun_vk import http_error
from zun_vk import tls_http
from zun_vk import version

LOG = logging.getLogger(__name__)

_LOG_CHUNK_END = b'\r\n'


def server_ssl_context(cert_file, key_file, client_ca_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.load_verify_locations(cafile=client_ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class _Refusal(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _close_when_peer_leaves(connection, chunks, done):
    """End a log stream as soon as its reader closes the connection.

    A followed log may be silent for hours; without this the agent would
    notice the reader's departure only at the next write. zun-vk sends
    nothing after its request, so the socket turning readable means it
    closed. Only select() here: TLS reads stay in the handler's thread.
    """
    while not done.is_set():
        try:
            readable, _, _ = select.select([connection], [], [], 1.0)
        except (OSError, ValueError):
            return
        if readable and not done.is_set():
            chunks.close()
            return


class AgentRequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'zun-vk-agent/%s' % version.version_string()
    # Unbuffered: after an upgrade the rest of the connection is read
    # from the socket itself, so nothing may sit in a read buffer.
    rbufsize = 0

    def log_message(self, fmt, *args):
        LOG.debug('%s %s', self.address_string(), fmt % args)

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_PUT(self):
        self._serve()

    # -- replies --------------------------------------------------------

    def _reply(self, status, body,
               content_type='text/plain; charset=utf-8'):
        # One request per connection: zun-vk opens a connection for each
        # (most are streams), and an idle connection holds a thread.
        if isinstance(body, str):
            body = (body.rstrip('\n') + '\n').encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, status, message):
        LOG.info('Refused %s %s from %s: %d %s', self.command,
                 self.path.split('?', 1)[0], self.client_address[0],
                 status, message)
        self._reply(status, message)

    # -- checks ---------------------------------------------------------

    def _check_client(self):
        names = routes.client_names(self.connection.getpeercert())
        if not names & set(self.server.allowed_clients):
            raise _Refusal(403, 'client certificate %s is not one of '
                           '[agent]allowed_clients'
                           % (', '.join(sorted(names)) or '(no name)'))

    def _check_ticket(self, request, body=None):
        try:
            tickets.verify(
                self.server.ticket_key, self.headers.get(
                    routes.TICKET_HEADER, ''),
                host=self.server.host, clock_skew=self.server.clock_skew,
                replay_cache=self.server.replay_cache, body=body,
                **request.ticket_target())
        except tickets.TicketError as exc:
            raise _Refusal(exc.status, exc.reason) from None

    def _check_upgrade(self):
        upgrade = self.headers.get('Upgrade', '')
        connection = self.headers.get('Connection', '').lower()
        if upgrade != framing.PROTOCOL or 'upgrade' not in connection:
            raise _Refusal(426, 'this operation needs Connection: Upgrade '
                           'and Upgrade: %s' % framing.PROTOCOL)

    def _read_body(self):
        """The request body: Content-Length bytes, at most MAX_BODY."""
        if self.headers.get('Transfer-Encoding'):
            raise _Refusal(411, 'send the body with Content-Length, not '
                           'Transfer-Encoding')
        length = self.headers.get('Content-Length')
        if length is None:
            raise _Refusal(411, '%s needs Content-Length' % self.command)
        if not length.isdigit():
            raise _Refusal(400, 'bad Content-Length %r' % length[:32])
        length = int(length)
        if length > files_body.MAX_BODY:
            raise _Refusal(413, 'the body of %d bytes is larger than %d '
                           'bytes' % (length, files_body.MAX_BODY))
        body = bytearray()
        while len(body) < length:
            # rfile is unbuffered: a read may return less than asked.
            chunk = self.rfile.read(min(65536, length - len(body)))
            if not chunk:
                raise _Refusal(400, 'the body ended after %d of %d bytes'
                               % (len(body), length))
            body += chunk
        return bytes(body)

    # -- dispatch -------------------------------------------------------

    def _serve(self):
        try:
            self._check_client()
            try:
                request = routes.parse(self.command, self.path)
            except routes.BadRequest as exc:
                raise _Refusal(exc.status, exc.message) from None
            if request.op == routes.HEALTHZ:
                self._reply(200, 'ok')
                return
            if request.upgrade:
                self._check_upgrade()
            if request.has_body:
                # Read first: the ticket names the body's digest.
                body = self._read_body()
                self._check_ticket(request, body)
                self._op_files(request, body)
                return
            self._check_ticket(request)
            # Authorized: from here on the time limit is the peers' own
            # (a follower of a quiet log may wait for hours).
            self.connection.settimeout(None)
            getattr(self, '_op_' + request.op)(request)
        except _Refusal as exc:
            self._refuse(exc.status, exc.message)
        except (base.EngineError, http_error.HTTPError) as exc:
            self._refuse(exc.status, exc.message)

    def _op_files(self, request, body):
        pod_dirs = self.server.pod_dirs
        if pod_dirs is None:
            raise _Refusal(404, 'this agent keeps no capsule volumes')
        try:
            payload = files_body.decode(body)
        except files_body.BadBody as exc:
            raise _Refusal(400, str(exc)) from None
        written = pod_dirs.write_files(request.capsule, request.volume,
                                       payload)
        if written:
            LOG.info('Wrote %d files into volume %s of capsule %s',
                     len(payload), request.volume, request.capsule)
        else:
            LOG.debug('Volume %s of capsule %s is up to date',
                      request.volume, request.capsule)
        self._reply(200, sessions.json_body({'written': written}),
                    content_type='application/json')

    def _op_lookup(self, request):
        # A capsule being created here has its volume directory before
        # the engine has any container of it.
        pod_dirs = self.server.pod_dirs
        if not (pod_dirs is not None and pod_dirs.has_capsule(
                request.capsule)) and \
                not self.server.engine.has_capsule(request.capsule):
            raise _Refusal(404, 'capsule %s is not on host %s'
                           % (request.capsule, self.server.host))
        self._reply(200, sessions.json_body({
            'capsule': request.capsule, 'host': self.server.host}),
            content_type='application/json')

    def _op_stats(self, request):
        body = {'host': self.server.host,
                'node': self.server.host_usage(),
                'capsules': self.server.engine.stats()}
        self._reply(200, sessions.json_body(body),
                    content_type='application/json')

    def _op_logs(self, request):
        engine = self.server.engine
        member = engine.member(request.capsule, request.container)
        chunks = engine.logs(member, follow=request.follow,
                             tail=request.tail, since=request.since,
                             timestamps=request.timestamps,
                             limit_bytes=request.limit_bytes)
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Transfer-Encoding', 'chunked')
        self.send_header('Connection', 'close')
        self.close_connection = True
        self.end_headers()
        done = threading.Event()
        threading.Thread(target=_close_when_peer_leaves,
                         args=(self.connection, chunks, done),
                         name='logs-watch', daemon=True).start()
        with self.server.track(chunks):
            try:
                for chunk in chunks:
                    # One HTTP chunk per engine write, sent at once, so a
                    # follower sees each line as it is written.
                    self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                self.wfile.write(b'0\r\n\r\n')
            except OSError:
                LOG.debug('Log reader went away')
            finally:
                done.set()
                chunks.close()

    def _switch(self):
        self.send_response(101)
        self.send_header('Connection', 'Upgrade')
        self.send_header('Upgrade', framing.PROTOCOL)
        self.end_headers()
        self.close_connection = True
        return tlsio.DuplexSocket(self.connection)

    def _op_exec(self, request):
        engine = self.server.engine
        member = engine.member(request.capsule, request.container)
        process = engine.exec(member, request.command, stdin=request.stdin,
                              tty=request.tty)
        self._run_process(process)

    def _op_attach(self, request):
        engine = self.server.engine
        member = engine.member(request.capsule, request.container)
        self._run_process(engine.attach(member, stdin=request.stdin))

    def _run_process(self, process):
        try:
            connection = self._switch()
        except OSError:
            process.close()
            raise
        with self.server.track(connection):
            sessions.run_process(connection, process)

    def _op_portforward(self, request):
        target = self.server.engine.connect(request.capsule, request.port)
        try:
            connection = self._switch()
        except OSError:
            target.close()
            raise
        with self.server.track(connection):
            sessions.run_port(connection, target)


class AgentHTTPServer(tls_http.ThreadingTLSServer):
    """The agent's HTTPS server; what it knows, its handlers read."""

    def __init__(self, address, ssl_context, engine, ticket_key, host,
                 allowed_clients, clock_skew=30, handshake_timeout=10,
                 max_connections=256, host_usage=usage.host_usage,
                 pod_dirs=None):
        self.engine = engine
        self.pod_dirs = pod_dirs
        self.ticket_key = ticket_key
        self.host = host
        self.allowed_clients = list(allowed_clients)
        self.clock_skew = clock_skew
        self.host_usage = host_usage
        self.replay_cache = tickets.ReplayCache()
        self._active = set()
        self._active_lock = threading.Lock()
        super().__init__(address, AgentRequestHandler, ssl_context,
                         handshake_timeout=handshake_timeout,
                         max_connections=max_connections,
                         idle_timeout=handshake_timeout)

    def serve_connection(self, connection, client_address):
        with self.track(connection):
            self.RequestHandlerClass(connection, client_address, self)

    def track(self, closable):
        """Context manager: close() it when the server stops."""
        server = self

        class _Tracked(object):
            def __enter__(self):
                with server._active_lock:
                    server._active.add(closable)
                return closable

            def __exit__(self, *exc):
                with server._active_lock:
                    server._active.discard(closable)
        return _Tracked()

    def close_all(self):
        with self._active_lock:
            active = list(self._active)
        for closable in active:
            try:
                if isinstance(closable, ssl.SSLSocket):
                    closable.shutdown(socket.SHUT_RDWR)
                closable.close()
            except OSError:
                pass
