"""Upgraded sessions: framed zun-vk connection <-> engine or TCP peer.

Each session uses the handler's thread for the output direction and one
more thread for what zun-vk sends. Whichever side ends first ends the
session: the process's output ending gives the final status; zun-vk
going away closes the engine stream (an exec's process then runs on, as
with the kubelet when the client disconnects).
"""

import json
import socket
import threading

from oslo_log import log as logging

from zun_vk.host_agent import base
from zun_vk.host_agent import hijack
from zun_vk.hostlink import framing

LOG = logging.getLogger(__name__)

_CHUNK = 65536
_JOIN_TIMEOUT = 5.0


class FrameWriter(object):
    """Frames to zun-vk; whole frames even when two threads write."""

    def __init__(self, connection):
        self._connection = connection
        self._lock = threading.Lock()
        self.broken = False

    def send(self, channel, payload=b''):
        """False once zun-vk's connection is gone."""
        if self.broken:
            return False
        try:
            with self._lock:
                self._connection.sendall(framing.encode_data(
                    channel, payload) if payload else
                    framing.encode(channel))
            return True
        except OSError:
            self.broken = True
            return False

    def status(self, exit_code=None, error=None):
        if self.broken:
            return False
        try:
            with self._lock:
                self._connection.sendall(framing.encode_status(exit_code,
                                                               error))
            return True
        except OSError:
            self.broken = True
            return False


def _spawn(name, target):
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def _process_inbound(connection, process, done, gone):
    """zun-vk -> engine: stdin, stdin EOF, terminal size."""
    stdin_open = True
    try:
        for channel, payload in framing.FrameReader(connection.recv):
            if channel == framing.STDIN and stdin_open:
                try:
                    process.stream.write(payload)
                except OSError:
                    stdin_open = False      # the process closed its stdin
            elif channel == framing.STDIN_EOF:
                stdin_open = False
                process.stream.close_stdin()
            elif channel == framing.RESIZE:
                width, height = framing.parse_resize(payload)
                try:
                    process.resize(width, height)
                except base.EngineError as exc:
                    LOG.debug('Resize refused: %s', exc.message)
            elif channel != framing.STDIN:
                raise framing.ProtocolError('unexpected channel %d from '
                                            'the client' % channel)
    except (framing.ProtocolError, OSError) as exc:
        LOG.info('Session input ended: %s', exc)
    finally:
        if not done.is_set():
            # zun-vk went away first: stop the output pump as well.
            gone.set()
            process.close()


def _pump_output(process, writer):
    """engine -> zun-vk until the output ends; an error or None."""
    demuxer = hijack.Demuxer() if process.demultiplex else None
    while True:
        try:
            data = process.stream.read(_CHUNK)
        except OSError as exc:
            return 'the engine stream broke: %s' % exc
        if not data:
            return None
        if demuxer is None:
            frames = [(hijack.ENGINE_STDOUT, data)]
        else:
            try:
                frames = demuxer.feed(data)
            except hijack.EngineStreamError as exc:
                return str(exc)
        for stream, payload in frames:
            channel = (framing.STDOUT if stream == hijack.ENGINE_STDOUT
                       else framing.STDERR)
            if not writer.send(channel, payload):
                return None


def run_process(connection, process):
    """Serve one exec or attach until it ends; always closes both."""
    writer = FrameWriter(connection)
    done, gone = threading.Event(), threading.Event()
    inbound = _spawn('session-input', lambda: _process_inbound(
        connection, process, done, gone))
    try:
        error = _pump_output(process, writer)
        if not writer.broken and not gone.is_set():
            if error is None:
                try:
                    code = process.exit_code()
                except base.EngineError as exc:
                    error = exc.message
                else:
                    if code is None:
                        error = 'the engine did not report an exit code'
            if error is None:
                writer.status(exit_code=code)
            else:
                writer.status(error=error)
    finally:
        done.set()
        process.close()
        connection.close()
        inbound.join(_JOIN_TIMEOUT)


def _port_inbound(connection, target, state):
    try:
        for channel, payload in framing.FrameReader(connection.recv):
            if channel == framing.STDIN:
                target.sendall(payload)
            elif channel == framing.STDIN_EOF:
                target.shutdown(socket.SHUT_WR)
                state['client_eof'] = True
                return
            else:
                raise framing.ProtocolError('unexpected channel %d from '
                                            'the client' % channel)
    except (framing.ProtocolError, OSError) as exc:
        LOG.debug('Port-forward input ended: %s', exc)
        state['client_error'] = str(exc)
    # Without a half-close zun-vk closed or broke the connection: end
    # the TCP connection too.
    try:
        target.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def run_port(connection, target):
    """Relay one port-forward connection until both sides are done."""
    writer = FrameWriter(connection)
    state = {}
    inbound = _spawn('portforward-input',
                     lambda: _port_inbound(connection, target, state))
    error = None
    try:
        while True:
            try:
                data = target.recv(_CHUNK)
            except OSError as exc:
                if 'client_error' not in state:
                    error = 'the connection in the capsule broke: %s' % exc
                break
            if not data:
                break
            if not writer.send(framing.STDOUT, data):
                break
        if error is None and writer.send(framing.OUTPUT_EOF):
            # TCP allows the other direction to go on after a half-close.
            inbound.join()
        if error is not None:
            writer.status(error=error)
        elif 'client_error' not in state:
            writer.status(exit_code=0)
    finally:
        connection.close()
        target.close()
        inbound.join(_JOIN_TIMEOUT)


def json_body(value):
    return (json.dumps(value, sort_keys=True) + '\n').encode('utf-8')
