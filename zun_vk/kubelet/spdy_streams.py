"""exec, attach and port-forward over SPDY/3.1, as the kubelet serves them.

The behaviour follows the kubelet's streaming server
(``pkg/kubelet/cri/streaming/remotecommand/httpstream.go`` and
``portforward/httpstream.go``) and apimachinery's ``httpstream.Handshake``.

The HTTP server does the handshake with negotiate() and
upgrade_headers(), answers 101, then hands the upgraded connection to
serve_exec() or serve_port_forward().
"""

import logging
import threading
import time

from zun_vk.kubelet import exec_status
from zun_vk.kubelet import spdy_session
from zun_vk.kubelet import streams

LOG = logging.getLogger(__name__)

SPDY_UPGRADE = 'SPDY/3.1'
PROTOCOL_HEADER = 'X-Stream-Protocol-Version'
ACCEPTED_HEADER = 'X-Accepted-Stream-Protocol-Versions'

# In the order the kubelet lists them. client-go since 1.29 asks for v5
# first over SPDY too (kube-apiserver's stream translator as well); for
# SPDY, v5 is v4 on both sides (the CLOSE signal exists only on
# WebSockets), and the current kubelet serves it with its v4 handler.
REMOTECOMMAND_PROTOCOLS = (
    'v5.channel.k8s.io',
    'v4.channel.k8s.io',
    'v3.channel.k8s.io',
    'v2.channel.k8s.io',
    'channel.k8s.io',
)
PORTFORWARD_PROTOCOLS = ('portforward.k8s.io',)
_PROTOCOLS = {
    streams.REMOTECOMMAND: REMOTECOMMAND_PROTOCOLS,
    streams.PORTFORWARD: PORTFORWARD_PROTOCOLS,
}

# The kubelet's defaults: --streaming-connection-idle-timeout and the
# stream creation timeout.
DEFAULT_IDLE_TIMEOUT = 4 * 3600.0
DEFAULT_STREAM_TIMEOUT = 30.0


class StreamSetupError(Exception):
    """The client did not open the streams the request needs."""


def is_spdy_upgrade(connection, upgrade):
    """Whether Connection and Upgrade header values ask for SPDY/3.1."""
    return ('upgrade' in (connection or '').lower()
            and SPDY_UPGRADE.lower() in (upgrade or '').lower())


def upgrade_headers(protocol):
    """The (name, value) pairs of the 101 answer."""
    return [('Connection', 'Upgrade'), ('Upgrade', SPDY_UPGRADE),
            (PROTOCOL_HEADER, protocol)]


def negotiate(kind, requested_versions):
    """The protocol to speak: the client's first choice the server knows.

    requested_versions holds every X-Stream-Protocol-Version header value
    (each may list several, comma separated). Raises streams.Refused as
    httpstream.Handshake answers: 400 when the client named none, 403
    with the accepted list when none match.
    """
    if kind not in _PROTOCOLS:
        raise ValueError('unknown kind of stream session: %r' % (kind,))
    server = _PROTOCOLS[kind]
    client = [version.strip() for value in requested_versions
              for version in value.split(',') if version.strip()]
    if not client:
        raise streams.Refused(
            400, 'unable to upgrade: %s is required' % PROTOCOL_HEADER)
    for version in client:
        if version in server:
            return version
    raise streams.Refused(
        403, 'unable to upgrade: unable to negotiate protocol: client '
        'supports [%s], server accepts [%s]'
        % (' '.join(client), ' '.join(server)),
        headers=[(ACCEPTED_HEADER, version) for version in server])


def _version(protocol):
    if protocol not in REMOTECOMMAND_PROTOCOLS:
        raise ValueError('not a remotecommand protocol: %r' % (protocol,))
    return int(protocol[1]) if protocol.startswith('v') else 1


def expected_stream_types(protocol, options):
    """The streamtype headers the client opens for these options."""
    wanted = {'error'}
    if options.stdin:
        wanted.add('stdin')
    if options.stdout:
        wanted.add('stdout')
    # A terminal merges stderr into stdout; the kubelet drops it.
    if options.stderr and not options.tty:
        wanted.add('stderr')
    if options.tty and _version(protocol) >= 3:
        wanted.add('resize')
    return wanted


class _ExecChannels(streams.ExecChannels):

    def __init__(self, session, protocol, options, found, command):
        self.options = options
        self._session = session
        self._protocol = protocol
        self._command = command
        self._error = found.get('error')
        self._stdin = found.get('stdin') if options.stdin else None
        self._stdout = found.get('stdout')
        self._stderr = found.get('stderr')
        self._resize = found.get('resize')
        self._finish_lock = threading.Lock()
        self.finished = False

    def read_stdin(self, size=65536):
        if self._stdin is None:
            return b''
        return self._stdin.read(size)

    def write_stdout(self, data):
        _write_quietly(self._stdout, data)

    def write_stderr(self, data):
        _write_quietly(self._stderr, data)

    def resizes(self):
        if self._resize is None or not self.options.tty:
            return iter(())
        return exec_status.decode_resizes(self._resize.read)

    def finish(self, exit_code=None, error=None):
        with self._finish_lock:
            if self.finished:
                return
            self.finished = True
        for stream in (self._stdout, self._stderr):
            if stream is not None:
                stream.close()
        status = exec_status.outcome(exit_code, error, self._command)
        payload = exec_status.encode(_version(self._protocol), status)
        if self._error is not None:
            _write_quietly(self._error, payload)
            self._error.close()
        self._session.close()

    def closed(self):
        return self._session.closing


def _write_quietly(stream, data):
    if stream is None or not data:
        return
    try:
        stream.write(data)
    except spdy_session.StreamClosed:
        pass


def _wait_for_streams(session, wanted, timeout):
    """{streamtype: stream} once every wanted type arrived."""
    deadline = time.monotonic() + timeout
    found = {}
    while not wanted <= found.keys():
        stream = session.accept(max(0.0, deadline - time.monotonic()))
        if stream is None:
            missing = ', '.join(sorted(wanted - found.keys()))
            if session.closing:
                raise StreamSetupError(
                    'the client went away before opening its %s stream(s)'
                    % missing)
            return found, ('timed out waiting for the client to create '
                           'streams: missing %s' % missing)
        kind = stream.header('streamtype', '')
        if kind not in ('error', 'stdin', 'stdout', 'stderr', 'resize'):
            LOG.warning('resetting exec stream of unexpected type %r', kind)
            stream.reset()
        elif kind in found:
            LOG.warning('resetting a second %s stream', kind)
            stream.reset()
        else:
            found[kind] = stream
    return found, None


def serve_exec(transport, protocol, options, handler,
               stream_timeout=DEFAULT_STREAM_TIMEOUT, idle_timeout=None,
               command=None):
    """Serve one exec or attach session on an upgraded connection.

    Waits for the client's streams, then runs handler(channels) in this
    thread with a streams.ExecChannels, and returns once the handler
    returned and the session is closed. command (the argv) only words
    the non-zero exit message as the runtime would. Raises
    StreamSetupError when the streams do not all arrive in time.
    """
    wanted = expected_stream_types(protocol, options)
    session = spdy_session.Session(transport,
                                   idle_timeout=idle_timeout).start()
    try:
        found, problem = _wait_for_streams(session, wanted, stream_timeout)
        session.refuse_new_streams()
        channels = _ExecChannels(session, protocol, options, found, command)
        if problem:
            LOG.warning('exec session refused: %s', problem)
            channels.finish(error=problem)
            raise StreamSetupError(problem)
        if _version(protocol) == 1:
            # What 1.0 kubelets did and v1 clients expect: the error
            # stream is reset at once (so v1 never reports errors), and
            # our side of stdin is closed.
            found['error'].reset()
            if 'stdin' in found:
                found['stdin'].close()
        try:
            handler(channels)
        except Exception as exc:
            channels.finish(error=str(exc) or exc.__class__.__name__)
            raise
        if not channels.finished:
            LOG.warning('exec handler returned without an outcome')
    finally:
        session.close()


class _PortConnection(streams.PortConnection):

    def __init__(self, request_id, port, data, error, describe):
        self.request_id = request_id
        self.port = port
        self._data = data
        self._error = error
        self._describe = describe
        self._lock = threading.Lock()
        self._done = False

    def read(self, size=65536):
        return self._data.read(size)

    def write(self, data):
        self._data.write(data)

    def fail(self, message):
        if self._end():
            _write_quietly(self._error, (
                'error forwarding port %d%s: %s'
                % (self.port, self._describe, message)).encode('utf-8'))
            self._close_streams()

    def close(self):
        if self._end():
            self._close_streams()

    def _end(self):
        with self._lock:
            first = not self._done
            self._done = True
            return first

    def _close_streams(self):
        self._error.close()
        self._data.close()


def _validate_port_forward_stream(headers):
    port = (headers.get('port') or [''])[0]
    if not port:
        return '"port" header is required'
    if not port.isdigit() or not 0 < int(port) < 65536:
        return 'unable to parse %r as a port' % port
    kind = (headers.get('streamtype') or [''])[0]
    if kind not in ('error', 'data'):
        return 'invalid stream type %r' % kind
    return None


def _request_id(stream):
    # Clients before requestid existed opened error then data with
    # consecutive ids; the kubelet pairs them by id in that case.
    request_id = stream.header('requestid')
    if request_id:
        return request_id
    if stream.header('streamtype') == 'error':
        return str(stream.id)
    return str(stream.id - 2)


def _run_port_handler(handler, conn):
    try:
        handler(conn)
    except Exception as exc:
        LOG.exception('port-forward handler failed for port %d', conn.port)
        conn.fail(str(exc) or exc.__class__.__name__)
    else:
        conn.close()


def serve_port_forward(transport, handler, idle_timeout=DEFAULT_IDLE_TIMEOUT,
                       stream_timeout=DEFAULT_STREAM_TIMEOUT, pod='', uid=''):
    """Serve one portforward.k8s.io session on an upgraded connection.

    Calls handler(conn) in a new thread for each connection the client
    forwards (a complete error + data stream pair), with a
    streams.PortConnection. Returns when the session ends. pod and uid
    only word error messages as the kubelet does.
    """
    describe = ' to pod %s, uid %s' % (pod, uid) if pod else ''
    session = spdy_session.Session(
        transport, validate_stream=_validate_port_forward_stream,
        idle_timeout=idle_timeout).start()
    pending = {}  # request id -> ({streamtype: stream}, deadline)
    try:
        while True:
            now = time.monotonic()
            for request_id, (pair, deadline) in list(pending.items()):
                if deadline <= now:
                    del pending[request_id]
                    _expire_pair(request_id, pair)
            wait = min((deadline for _, deadline in pending.values()),
                       default=now + 60.0) - now
            stream = session.accept(max(0.0, wait))
            if stream is None:
                if session.closing:
                    return
                continue
            request_id = _request_id(stream)
            kind = stream.header('streamtype')
            pair, deadline = pending.setdefault(
                request_id, ({}, time.monotonic() + stream_timeout))
            if kind in pair:
                message = ('error processing stream for request %s: %s '
                           'stream already assigned' % (request_id, kind))
                LOG.warning('port-forward: %s', message)
                if 'error' in pair:
                    _write_quietly(pair['error'], message.encode('utf-8'))
                stream.reset()
                continue
            pair[kind] = stream
            if len(pair) == 2:
                del pending[request_id]
                conn = _PortConnection(
                    request_id, int(pair['data'].header('port')),
                    pair['data'], pair['error'], describe)
                threading.Thread(
                    target=_run_port_handler, args=(handler, conn),
                    daemon=True,
                    name='port-forward-%s' % request_id).start()
    finally:
        session.close()


def _expire_pair(request_id, pair):
    message = 'timed out waiting for the streams of request %s' % request_id
    LOG.warning('port-forward: %s', message)
    error = pair.get('error')
    if error is not None:
        _write_quietly(error, message.encode('utf-8'))
        error.close()
    data = pair.get('data')
    if data is not None:
        data.reset()
