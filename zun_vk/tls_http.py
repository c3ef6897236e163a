"""A threaded HTTPS server whose connections do TLS in their own thread.

Both listening ports of zun-vk use it: the kubelet API on the controller
and the agent on each compute host. The handshake is not done in
accept(), so a slow or hostile client cannot stall the accept loop, and
the number of connections served at once is bounded.
"""

import http.server
import socket
import ssl
import threading

from oslo_log import log as logging

from zun_vk.hostlink import tlsio

LOG = logging.getLogger(__name__)


class ThreadingTLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler_class, ssl_context,
                 handshake_timeout=10, max_connections=256,
                 idle_timeout=None):
        self.ssl_context = ssl_context
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self.address_family = (socket.AF_INET6 if ':' in address[0]
                               else socket.AF_INET)
        super().__init__(address, handler_class)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            LOG.warning('Too many connections; closing the one from %s',
                        client_address[0])
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request, client_address):
        request.settimeout(self.handshake_timeout)
        tlsio.enable_keepalive(request)
        try:
            connection = self.ssl_context.wrap_socket(request,
                                                      server_side=True)
        except (ssl.SSLError, OSError) as exc:
            LOG.info('TLS handshake with %s failed: %s', client_address[0],
                     exc)
            return
        connection.settimeout(self.idle_timeout)
        try:
            self.serve_connection(connection, client_address)
        except (ssl.SSLError, OSError) as exc:
            LOG.debug('Connection from %s ended: %s', client_address[0],
                      exc)
        finally:
            tlsio.close_quietly(connection)

    def serve_connection(self, connection, client_address):
        """Run the request handler on the TLS connection; for subclasses."""
        self.RequestHandlerClass(connection, client_address, self)

    def handle_error(self, request, client_address):
        LOG.exception('Unexpected error serving %s', client_address[0])
