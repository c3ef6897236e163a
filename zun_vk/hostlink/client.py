"""zun-vk's client of the host agents (zun-vk-agent on compute hosts).

The kubelet server calls AgentClient for a pod's logs, exec, attach,
port-forward and for the statistics of a host, and zun-vk for the files
of pods' volumes (put_files). Every call opens its own
mutual-TLS connection to the agent of the capsule's host and carries a
fresh ticket that names exactly that request (see tickets). Errors are
AgentError with an HTTP-like status:

* 404 the capsule or container is not on that host;
* 409 the container is not running (put_files: the capsule's volumes
  are not prepared yet, or the volume is no files volume of its plan;
  worth trying again shortly);
* 403 the agent refused the request (certificate or ticket);
* 503 the agent cannot be reached (or [host_agents] is not configured);
* 502 the agent answered badly, its certificate is not trusted, or the
  connection inside the capsule failed (nothing listens on the port);
* 504 the agent said nothing within [host_agents]read_timeout.
"""

import collections
import concurrent.futures
import json
import socket
import ssl
import threading
import urllib.parse

from oslo_log import log as logging

from zun_vk.hostlink import files_body
from zun_vk.hostlink import framing
from zun_vk.hostlink import http1
from zun_vk.hostlink import session as agent_session
from zun_vk.hostlink import tickets
from zun_vk.hostlink import tlsio
from zun_vk import version

LOG = logging.getLogger(__name__)

TICKET_HEADER = 'X-Zun-VK-Ticket'
LOCATE_CACHE_SIZE = 10000
MAX_ERROR_BODY = 4096

AgentError = agent_session.AgentError
AgentSession = agent_session.AgentSession
LogStream = agent_session.LogStream
PortStream = agent_session.PortStream


def _flag(value):
    return '1' if value else '0'


def _quote(text):
    return urllib.parse.quote(str(text), safe='')


class AgentClient(object):
    """Requests to host agents; thread-safe, one connection per call.

    conf is zun-vk's oslo.config CONF; the options are [host_agents].
    Certificates and the ticket key are loaded at the first call, so a
    zun-vk without host agents starts all the same (every call then
    raises AgentError 503 saying what to configure).
    """

    def __init__(self, conf):
        self._group = conf.host_agents
        self._lock = threading.Lock()
        self._context = None
        self._key = None
        self._located = collections.OrderedDict()

    # -- configuration --------------------------------------------------

    @property
    def configured(self):
        group = self._group
        return bool(group.ca_file and group.cert_file and group.key_file
                    and group.ticket_private_key_file)

    def _credentials(self):
        with self._lock:
            if self._context is None:
                if not self.configured:
                    raise AgentError(
                        'host agents are not configured: set [host_agents]'
                        'ca_file, cert_file, key_file and '
                        'ticket_private_key_file', 503)
                group = self._group
                try:
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    context.minimum_version = ssl.TLSVersion.TLSv1_2
                    context.load_verify_locations(cafile=group.ca_file)
                    context.load_cert_chain(group.cert_file, group.key_file)
                    key = tickets.load_private_key(
                        group.ticket_private_key_file)
                except (OSError, ValueError) as exc:
                    raise AgentError('cannot load the [host_agents] '
                                     'certificates or ticket key: %s'
                                     % exc, 503) from None
                self._context, self._key = context, key
            return self._context, self._key

    def endpoint(self, host):
        """(address, port) of the agent of a Zun host name."""
        text = (self._group.endpoints or {}).get(host)
        if not text:
            return host, self._group.port
        try:
            return http1.parse_endpoint(text, self._group.port)
        except ValueError as exc:
            raise AgentError('[host_agents]endpoints has a bad entry for '
                             '%s: %s' % (host, exc), 503) from None

    # -- one request ----------------------------------------------------

    def _connect(self, host, timeout):
        context, _ = self._credentials()
        address, port = self.endpoint(host)
        where = 'the host agent of %s at %s' % (
            host, http1.host_header(address, port))
        try:
            raw = socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            raise AgentError('%s is unreachable: %s' % (where, exc),
                             503) from None
        tlsio.enable_keepalive(raw)
        try:
            return context.wrap_socket(raw, server_hostname=address), where
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            raise AgentError('%s has a certificate zun-vk does not trust: '
                             '%s' % (where, exc.verify_message or exc),
                             502) from None
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            raise AgentError('TLS with %s failed: %s' % (where, exc),
                             503) from None

    def _open(self, host, method, path, query, ticket, upgrade=False,
              timeout=None, capsule=None, body=None, content_type=None):
        """Send one request; (socket, headers, bytes after the head).

        Raises AgentError for a reply that is not 200 (101 for an
        upgrade); a 404 also forgets that the capsule was on this host.
        """
        connect_timeout = timeout or self._group.connect_timeout
        read_timeout = timeout or self._group.read_timeout
        sock, where = self._connect(host, connect_timeout)
        headers = [('User-Agent', 'zun-vk/%s' % version.version_string()),
                   (TICKET_HEADER, ticket), ('Connection', 'close')]
        if upgrade:
            headers[-1] = ('Connection', 'Upgrade')
            headers.append(('Upgrade', framing.PROTOCOL))
        if content_type:
            headers.append(('Content-Type', content_type))
        address, port = self.endpoint(host)
        try:
            sock.settimeout(read_timeout)
            sock.sendall(http1.build_request(
                method, path, query, http1.host_header(address, port),
                headers, body=body))
            head, rest = http1.read_head(sock.recv)
            status, reason, reply = http1.parse_response_head(head)
            if status == (101 if upgrade else 200):
                return sock, reply, rest
            message = self._error_body(sock, reply, rest) or reason
        except socket.timeout:
            sock.close()
            raise AgentError('%s did not answer within %s s'
                             % (where, read_timeout), 504) from None
        except (OSError, http1.HTTPError) as exc:
            sock.close()
            raise AgentError('%s did not answer properly: %s'
                             % (where, exc), 502) from None
        sock.close()
        if status == 404 and capsule is not None:
            self.forget(capsule, host)
        if status == 401:
            status = 403    # zun-vk's own ticket: never the caller's fault
        raise AgentError('%s: %s' % (where, message) if status in (
            403, 502, 503) else message, status)

    @staticmethod
    def _error_body(sock, headers, rest):
        try:
            length = min(int(headers.get('content-length', '0')),
                         MAX_ERROR_BODY)
        except ValueError:
            length = 0
        body = rest
        while len(body) < length:
            data = sock.recv(length - len(body))
            if not data:
                break
            body += data
        return body[:length].decode('utf-8', 'replace').strip()

    def _ticket(self, op, host, capsule=None, container=None, port=None,
                command=None, volume=None, body=None):
        _, key = self._credentials()
        return tickets.sign(key, op, host, capsule, container=container,
                            port=port, command=command, volume=volume,
                            body=body, ttl=self._group.ticket_ttl)

    def _get_json(self, host, path, ticket, timeout=None, method='GET',
                  body=None, capsule=None):
        sock, headers, rest = self._open(
            host, method, path, [], ticket, timeout=timeout, body=body,
            capsule=capsule,
            content_type='application/json' if body is not None else None)
        try:
            body = bytearray(rest)
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                body += data
            return json.loads(body.decode('utf-8'))
        except (OSError, ValueError) as exc:
            raise AgentError('the host agent of %s sent a bad reply: %s'
                             % (host, exc), 502) from None
        finally:
            sock.close()

    # -- where a capsule runs -------------------------------------------

    def _remember(self, capsule, host):
        with self._lock:
            self._located[capsule] = host
            self._located.move_to_end(capsule)
            while len(self._located) > LOCATE_CACHE_SIZE:
                self._located.popitem(last=False)

    def forget(self, capsule, host=None):
        """Drop what locate() remembered about a capsule.

        With host: only if it was remembered on that host.
        """
        with self._lock:
            if host is None or self._located.get(capsule) == host:
                self._located.pop(capsule, None)

    def _has_capsule(self, host, capsule):
        ticket = self._ticket(tickets.LOOKUP, host, capsule)
        try:
            self._get_json(host, '/v1/capsules/%s' % _quote(capsule),
                           ticket, timeout=self._group.locate_timeout)
            return True
        except AgentError as exc:
            if exc.status == 404:
                return False
            raise

    def locate(self, capsule_uuid, zun_host=None):
        """The Zun host name whose agent runs the capsule.

        zun_host when Zun told us (the capsule's admin-only host field);
        otherwise every agent in [host_agents]endpoints is asked at once
        ([host_agents]locate_timeout) and the answer is cached per
        capsule (capsules do not move; a 404 from that host later drops
        it). AgentError 404 when no agent has it, 503 when none has it
        but some did not answer.
        """
        if zun_host:
            self._remember(capsule_uuid, zun_host)
            return zun_host
        with self._lock:
            known = self._located.get(capsule_uuid)
        if known:
            return known
        hosts = sorted(self._group.endpoints or {})
        if not hosts:
            raise AgentError('Zun did not say which host runs capsule %s '
                             'and [host_agents]endpoints lists no agents '
                             'to ask' % capsule_uuid, 503)
        self._credentials()
        silent = []
        pool = concurrent.futures.ThreadPoolExecutor(min(32, len(hosts)))
        try:
            futures = {pool.submit(self._has_capsule, host, capsule_uuid):
                       host for host in hosts}
            for future in concurrent.futures.as_completed(futures):
                host = futures[future]
                try:
                    found = future.result()
                except AgentError as exc:
                    LOG.debug('Looking for capsule %s: %s', capsule_uuid,
                              exc.message)
                    silent.append(host)
                    continue
                if found:
                    self._remember(capsule_uuid, host)
                    return host
        finally:
            pool.shutdown(wait=False)
        if silent:
            raise AgentError('capsule %s is on none of the host agents '
                             'that answered; no answer from %s'
                             % (capsule_uuid, ', '.join(sorted(silent))),
                             503)
        raise AgentError('capsule %s is on none of the %d host agents'
                         % (capsule_uuid, len(hosts)), 404)

    # -- operations -----------------------------------------------------

    def _member_path(self, capsule_uuid, container_uuid, op):
        return '/v1/capsules/%s/containers/%s/%s' % (
            _quote(capsule_uuid), _quote(container_uuid), op)

    def logs(self, host, capsule_uuid, container_uuid, *, follow=False,
             tail_lines=None, since=None, timestamps=False,
             limit_bytes=None):
        """The container's log as a LogStream: bytes chunks, as written.

        stdout and stderr come interleaved in the order written (as
        ``docker logs`` shows them). tail_lines: only the last n lines;
        since: seconds since the epoch (float) or a datetime; timestamps:
        each line starts with its RFC 3339 time; limit_bytes: stop after
        that many bytes. With follow the stream goes on until the
        container stops or close() is called.
        """
        query = [('follow', _flag(follow)),
                 ('timestamps', _flag(timestamps))]
        if tail_lines is not None:
            query.append(('tail', str(int(tail_lines))))
        if since is not None:
            if hasattr(since, 'timestamp'):
                since = since.timestamp()
            query.append(('since', repr(float(since))))
        if limit_bytes is not None:
            query.append(('limit_bytes', str(int(limit_bytes))))
        ticket = self._ticket(tickets.LOGS, host, capsule_uuid,
                              container=container_uuid)
        sock, headers, rest = self._open(
            host, 'GET', self._member_path(capsule_uuid, container_uuid,
                                           'logs'), query, ticket,
            capsule=capsule_uuid)
        # A followed log may be silent for as long as the container is.
        sock.settimeout(None if follow else self._group.read_timeout)
        return LogStream(sock, rest, host,
                         chunked='chunked' in headers.get(
                             'transfer-encoding', '').lower())

    def _session(self, host, path, query, ticket, capsule):
        sock, _, rest = self._open(host, 'POST', path, query, ticket,
                                   upgrade=True, capsule=capsule)
        return tlsio.DuplexSocket(sock, prefix=rest)

    def exec(self, host, capsule_uuid, container_uuid, command, *,
             stdin=False, tty=False):
        """Run command (a list of strings) in the container.

        Returns an AgentSession once the process runs. With tty, all
        output comes as 'stdout'; without, stdout and stderr apart.
        """
        command = [str(a) for a in command]
        query = [('command', a) for a in command]
        query += [('stdin', _flag(stdin)), ('tty', _flag(tty))]
        ticket = self._ticket(tickets.EXEC, host, capsule_uuid,
                              container=container_uuid, command=command)
        connection = self._session(host, self._member_path(
            capsule_uuid, container_uuid, 'exec'), query, ticket,
            capsule_uuid)
        return AgentSession(connection, host)

    def attach(self, host, capsule_uuid, container_uuid, *, stdin=False,
               tty=False):
        """Attach to the container's main process (its stdio).

        Output is demultiplexed by the container's own tty setting; the
        session ends with ('exit', 0) when the stream ends, as the
        kubelet reports an attach.
        """
        query = [('stdin', _flag(stdin)), ('tty', _flag(tty))]
        ticket = self._ticket(tickets.ATTACH, host, capsule_uuid,
                              container=container_uuid)
        connection = self._session(host, self._member_path(
            capsule_uuid, container_uuid, 'attach'), query, ticket,
            capsule_uuid)
        return AgentSession(connection, host)

    def port_forward(self, host, capsule_uuid, port):
        """A PortStream to 127.0.0.1:port inside the capsule's network.

        The connection is made before this returns: nothing listening
        there raises AgentError 502.
        """
        port = int(port)
        ticket = self._ticket(tickets.PORT_FORWARD, host, capsule_uuid,
                              port=port)
        connection = self._session(
            host, '/v1/capsules/%s/portforward' % _quote(capsule_uuid),
            [('port', str(port))], ticket, capsule_uuid)
        return PortStream(connection, host)

    def stats(self, host):
        """Usage of the host and of every capsule container on it::

            {"host": name,
             "node": {"cpu_usage_core_nanoseconds", "boot_time",
                      "memory_total_bytes", "memory_available_bytes",
                      "memory_working_set_bytes"},
             "capsules": {capsule uuid: {
                 "start_time": seconds since the epoch,
                 "containers": {container uuid: {
                     "cpu_usage_core_nanoseconds", "memory_usage_bytes",
                     "memory_working_set_bytes", "start_time",
                     "timestamp"}}}}}

        CPU is cumulative (a rate needs two samples); times are floats,
        seconds since the epoch.
        """
        return self._get_json(host, '/v1/stats',
                              self._ticket(tickets.STATS, host))

    def put_files(self, host, capsule_uuid, volume, files):
        """Write the files of a files volume into its capsule's directory.

        A files volume is a configMap, secret, downwardAPI or projected
        volume; files a list of (path relative to the volume, bytes,
        mode). The agent replaces the volume's files atomically, as the
        kubelet does. Returns True when it wrote them, False when the
        volume already held exactly these.

        AgentError 409: the capsule's volumes are not prepared yet or
        its plan has no such files volume (try again shortly); 404: the
        capsule has no directory on that host (not yet, or no longer);
        400: a path or mode the agent refuses; 413: more than
        hostlink.files_body.MAX_BODY; 507: the capsule's files tmpfs is
        full; otherwise as the other calls.
        """
        body = files_body.encode(files)
        if len(body) > files_body.MAX_BODY:
            raise AgentError('the files of volume %s of capsule %s take %d '
                             'bytes, more than the %d a request may carry'
                             % (volume, capsule_uuid, len(body),
                                files_body.MAX_BODY), 413)
        ticket = self._ticket(tickets.FILES, host, capsule_uuid,
                              volume=volume, body=body)
        reply = self._get_json(
            host, '/v1/capsules/%s/volumes/%s' % (_quote(capsule_uuid),
                                                  _quote(volume)),
            ticket, method='PUT', body=body, capsule=capsule_uuid)
        if not isinstance(reply, dict) or \
                not isinstance(reply.get('written'), bool):
            raise AgentError('the host agent of %s sent a bad reply to a '
                             'files write' % host, 502)
        return reply['written']
