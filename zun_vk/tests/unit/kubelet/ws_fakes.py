"""A wsproto WebSocket client on a socketpair, for the server's tests.

The server side runs in a thread on a SocketTransport, as the kubelet
server runs it; the test drives the client's end message by message.
"""

import socket
import threading

from wsproto import connection as ws_connection
from wsproto import events as ws_events

from zun_vk.kubelet import transport as transport_mod

DEADLINE = 10.0


class Client:
    """The client's end: send messages, read events one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(DEADLINE)
        self.ws = ws_connection.Connection(ws_connection.ConnectionType.CLIENT)
        self._pending = []
        self._parts = []
        self._eof = False

    def send(self, payload):
        event = (ws_events.TextMessage(data=payload)
                 if isinstance(payload, str)
                 else ws_events.BytesMessage(data=bytes(payload)))
        self.send_event(event)

    def send_event(self, event):
        self.sock.sendall(self.ws.send(event))

    def close(self, code=1000):
        self.send_event(ws_events.CloseConnection(code=code))

    def hang_up(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def next(self):
        """The next event from the server; answers its Close.

        ('message', payload), ('ping'|'pong', payload), ('close', code)
        or ('eof', None).
        """
        while not self._pending:
            if self._eof:
                return 'eof', None
            data = self.sock.recv(65536)
            if not data:
                self._eof = True
            self.ws.receive_data(data or None)
            for event in self.ws.events():
                self._collect(event)
        return self._pending.pop(0)

    def _collect(self, event):
        if isinstance(event, ws_events.Message):
            self._parts.append(event.data)
            if event.message_finished:
                joiner = '' if isinstance(event, ws_events.TextMessage) \
                    else b''
                self._pending.append(('message', joiner.join(self._parts)))
                self._parts = []
        elif isinstance(event, ws_events.Ping):
            self._pending.append(('ping', bytes(event.payload)))
        elif isinstance(event, ws_events.Pong):
            self._pending.append(('pong', bytes(event.payload)))
        elif isinstance(event, ws_events.CloseConnection):
            if self.ws.state is ws_connection.ConnectionState.REMOTE_CLOSING:
                try:
                    self.sock.sendall(self.ws.send(event.response()))
                except OSError:
                    pass  # A server that does not wait for the answer.
            self._pending.append(('close', int(event.code)))
            self._eof = True

    def message(self):
        kind, payload = self.next()
        assert kind == 'message', (kind, payload)
        return payload

    def until_close(self):
        """Every message up to the server's Close, and its code."""
        messages = []
        while True:
            kind, payload = self.next()
            if kind == 'message':
                messages.append(payload)
            elif kind in ('close', 'eof'):
                return messages, payload


class Server:
    """Runs serve(transport) in a thread; join() re-raises its error."""

    def __init__(self, serve):
        server_sock, client_sock = socket.socketpair()
        self.transport = transport_mod.SocketTransport(server_sock)
        self.client = Client(client_sock)
        self.error = None
        self.result = None
        self._thread = threading.Thread(target=self._run, args=(serve,),
                                        daemon=True, name='ws-test-server')
        self._thread.start()

    def _run(self, serve):
        try:
            self.result = serve(self.transport)
        except Exception as exc:
            self.error = exc

    def join(self, timeout=DEADLINE):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), 'the server did not return'
        return self.error

    def done(self):
        return not self._thread.is_alive()
