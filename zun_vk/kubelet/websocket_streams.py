"""exec, attach and port-forward over WebSockets, as the kubelet serves them.

The channel protocols follow the kubelet's streaming server
(``cri/streaming/remotecommand/websocket.go``, ``portforward/websocket.go``)
on apimachinery's ``wsstream.Conn``, plus what kube-apiserver 1.30+ serves
itself and an older apiserver passes through byte for byte: the
``v5.channel.k8s.io`` exec protocol (``util/proxy/websocket.go``) and
SPDY/3.1 tunnelled in WebSocket messages for port-forward
(``util/proxy/streamtunnel.go``).

The HTTP server checks the request with handshake(), answers 101 with the
headers it returns, then hands the upgraded connection to serve_exec() or
serve_port_forward().
"""

import logging
import threading

from zun_vk.kubelet import exec_status
from zun_vk.kubelet import spdy_streams
from zun_vk.kubelet import streams
from zun_vk.kubelet import websocket_conn
from zun_vk.kubelet import websocket_protocols

LOG = logging.getLogger(__name__)

TunnelTransport = websocket_conn.TunnelTransport
handshake = websocket_protocols.handshake
encode = websocket_protocols.encode
decode = websocket_protocols.decode
REMOTECOMMAND_PROTOCOLS = websocket_protocols.REMOTECOMMAND_PROTOCOLS
PORTFORWARD_PROTOCOLS = websocket_protocols.PORTFORWARD_PROTOCOLS
TUNNEL_PORTFORWARD = websocket_protocols.TUNNEL_PORTFORWARD

STDIN, STDOUT, STDERR, ERROR, RESIZE = range(5)
STREAM_CLOSE = 255
CLOSE_PROTOCOL_ERROR = 1002
MAX_PORTS = websocket_protocols.MAX_PORTS


class _ExecChannels(streams.ExecChannels):

    def __init__(self, protocol, options, command):
        self.options = options
        self._version, self._base64 = REMOTECOMMAND_PROTOCOLS[protocol]
        self._command = command
        # A terminal merges stderr into stdout; the kubelet drops it.
        self._stderr_open = options.stderr and not options.tty
        self._stdin = websocket_conn.Pipe()
        # Sizes are tiny; one that nobody reads is not worth a stall.
        self._resize = websocket_conn.Pipe(
            limit=exec_status.MAX_RESIZE_MESSAGE, drop_when_full=True)
        self._finish_lock = threading.Lock()
        self.finished = False
        self.conn = None

    def read_stdin(self, size=65536):
        if not self.options.stdin:
            return b''
        return self._stdin.read(size)

    def write_stdout(self, data):
        if self.options.stdout:
            self._send(STDOUT, data)

    def write_stderr(self, data):
        if self._stderr_open:
            self._send(STDERR, data)

    def resizes(self):
        if not self.options.tty:
            return iter(())
        return exec_status.decode_resizes(self._resize.read)

    def finish(self, exit_code=None, error=None):
        with self._finish_lock:
            if self.finished:
                return
            self.finished = True
        self.end_input()
        status = exec_status.outcome(exit_code, error, self._command)
        self._send(ERROR, exec_status.encode(self._version, status))
        self.conn.close()

    def closed(self):
        return self.conn.closing

    def announce(self):
        # Both the kubelet and kube-apiserver send an empty message on
        # the lowest channel the client reads, to say the session is up.
        if self.options.stdout:
            channel = STDOUT
        elif self._stderr_open:
            channel = STDERR
        else:
            channel = ERROR
        self.conn.send(encode(channel, b'', self._base64))

    def _send(self, channel, data):
        if data:
            self.conn.send(encode(channel, data, self._base64))

    def end_input(self):
        self._stdin.end()
        self._resize.end()

    def on_message(self, payload):
        raw = payload.encode('utf-8') if isinstance(payload, str) else payload
        if self._version >= 5 and raw[:1] == bytes([STREAM_CLOSE]):
            return self._on_stream_close(raw)
        decoded = decode(payload, self._base64)
        if decoded is None:
            return
        channel, data = decoded
        if data is None:
            LOG.warning('dropping a message that is not base64 on '
                        'channel %d', channel)
        elif channel == STDIN and self.options.stdin:
            self._stdin.put(data)
        elif channel == RESIZE and self.options.tty:
            self._resize.put(data)
        # Other channels only go to the client; the kubelet ignores
        # what a client sends on them.

    def _on_stream_close(self, raw):
        if len(raw) != 2 or raw[1] > RESIZE:
            LOG.warning('closing an exec WebSocket: bad close signal %r',
                        raw[:8])
            self.conn.close(CLOSE_PROTOCOL_ERROR, wait=False)
        elif raw[1] == STDIN:
            self._stdin.end()
        elif raw[1] == RESIZE:
            self._resize.end()


def serve_exec(transport, protocol, options, handler, stream_timeout=None,
               idle_timeout=None, command=None):
    """Serve one exec or attach session on an upgraded connection.

    Runs handler(channels) in this thread with a streams.ExecChannels and
    returns once it returned and the WebSocket is closed. Every channel
    exists from the handshake on, so stream_timeout (spdy_streams'
    signature) has nothing to wait for. command (the argv) only words the
    non-zero exit message as the runtime would.
    """
    del stream_timeout
    channels = _ExecChannels(protocol, options, command)
    channels.conn = websocket_conn.MessageConnection(
        transport, channels.on_message, on_end=channels.end_input,
        idle_timeout=idle_timeout)
    channels.conn.start()
    try:
        channels.announce()
        try:
            handler(channels)
        except Exception as exc:
            channels.finish(error=str(exc) or exc.__class__.__name__)
            raise
        if not channels.finished:
            LOG.warning('exec handler returned without an outcome')
    finally:
        channels.end_input()
        channels.conn.close()


class _PortConnection(streams.PortConnection):

    def __init__(self, session, index, port, describe):
        self.port = port
        self._session = session
        self._data_channel = 2 * index
        self._error_channel = 2 * index + 1
        self._describe = describe
        self.incoming = websocket_conn.Pipe()
        self._lock = threading.Lock()
        self._done = False

    def read(self, size=65536):
        return self.incoming.read(size)

    def write(self, data):
        if not data:
            return
        if self._done or not self._session.send(self._data_channel, data):
            raise BrokenPipeError('the port-forward connection is closed')

    def fail(self, message):
        if self._end():
            self._session.send(self._error_channel, (
                'error forwarding port %d%s: %s'
                % (self.port, self._describe, message)).encode('utf-8'))

    def close(self):
        self._end()

    def announce(self):
        # The first message on both channels is the port, uint16 LE.
        port = self.port.to_bytes(2, 'little')
        self._session.send(self._data_channel, port)
        self._session.send(self._error_channel, port)

    def _end(self):
        # As the kubelet's channel Close: nothing goes on the wire; the
        # WebSocket closes once every port's connection ended.
        with self._lock:
            first = not self._done
            self._done = True
        self.incoming.end()
        return first


class _PortSession:

    def __init__(self, base64_codec):
        self._base64 = base64_codec
        self.conns = []
        self.conn = None

    def send(self, channel, data):
        return self.conn.send(encode(channel, data, self._base64))

    def on_message(self, payload):
        decoded = decode(payload, self._base64)
        if decoded is None:
            return
        channel, data = decoded
        if data is None:
            LOG.warning('dropping a message that is not base64 on '
                        'channel %d', channel)
        elif channel % 2 == 0 and channel // 2 < len(self.conns):
            self.conns[channel // 2].incoming.put(data)

    def on_end(self):
        for conn in self.conns:
            conn.incoming.end()


def _run_port_handler(handler, conn):
    try:
        handler(conn)
    except Exception as exc:
        LOG.exception('port-forward handler failed for port %d', conn.port)
        conn.fail(str(exc) or exc.__class__.__name__)
    else:
        conn.close()


def serve_port_forward(transport, protocol, ports, handler,
                       idle_timeout=spdy_streams.DEFAULT_IDLE_TIMEOUT,
                       stream_timeout=spdy_streams.DEFAULT_STREAM_TIMEOUT,
                       pod='', uid=''):
    """Serve one port-forward WebSocket on an upgraded connection.

    For the channel protocols: one connection per port of the query
    (ports, in order), handler(conn) in a thread each with a
    streams.PortConnection; returns when all handlers returned and the
    WebSocket is closed. For SPDY/3.1+portforward.k8s.io: the SPDY
    session of spdy_streams.serve_port_forward over a TunnelTransport
    (ports unused; the client names them per stream). pod and uid only
    word error messages as the kubelet does.
    """
    if protocol == TUNNEL_PORTFORWARD:
        tunnel = TunnelTransport(transport)
        try:
            spdy_streams.serve_port_forward(
                tunnel, handler, idle_timeout=idle_timeout,
                stream_timeout=stream_timeout, pod=pod, uid=uid)
        finally:
            tunnel.close()
        return
    if not ports or len(ports) > MAX_PORTS:
        raise ValueError('a port-forward WebSocket needs 1 to %d ports, '
                         'not %d' % (MAX_PORTS, len(ports)))
    describe = ' to pod %s, uid %s' % (pod, uid) if pod else ''
    session = _PortSession(PORTFORWARD_PROTOCOLS[protocol])
    session.conns = [_PortConnection(session, index, int(port), describe)
                     for index, port in enumerate(ports)]
    session.conn = websocket_conn.MessageConnection(
        transport, session.on_message, on_end=session.on_end,
        idle_timeout=idle_timeout)
    session.conn.start()
    try:
        for conn in session.conns:
            conn.announce()
        threads = [threading.Thread(
            target=_run_port_handler, args=(handler, conn), daemon=True,
            name='port-forward-%d' % conn.port) for conn in session.conns]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        session.on_end()
        session.conn.close()
