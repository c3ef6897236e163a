"""The streams of one exec, attach or port-forward, whatever the protocol.

kube-apiserver reaches a kubelet with SPDY/3.1 or with one of the
WebSocket channel protocols, depending on its version and on the client's.
The protocol front ends (``spdy_streams`` and ``websocket_streams``) turn
an upgraded connection into the objects below; the relay to the compute
host reads and writes them and never knows which protocol was spoken.
"""

import abc
import dataclasses

from zun_vk import http_error

# Kinds of session, for protocol negotiation.
REMOTECOMMAND = 'remotecommand'
PORTFORWARD = 'portforward'


class Refused(http_error.HTTPError):
    """A handshake the server must answer with an HTTP error.

    Its headers may say what is accepted instead, for example
    X-Accepted-Stream-Protocol-Versions.
    """


@dataclasses.dataclass(frozen=True)
class ExecOptions:
    """What the client asked for in the query string."""

    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False


class Transport(abc.ABC):
    """A byte stream after the HTTP upgrade (socket, TLS, or tunnel)."""

    @abc.abstractmethod
    def read(self, size):
        """Up to size bytes; b'' once the peer closed."""

    @abc.abstractmethod
    def write(self, data):
        """Send all of data; raises OSError once the peer is gone."""

    @abc.abstractmethod
    def close(self):
        """Close both directions; idempotent."""


class ExecChannels(abc.ABC):
    """stdin, stdout, stderr, resize and status of one exec or attach.

    Methods may be called from different threads (one pump per
    direction). Writes after the client went away are dropped.
    """

    options = ExecOptions()

    @abc.abstractmethod
    def read_stdin(self, size=65536):
        """Bytes the client typed or piped; b'' at its EOF.

        Blocks. Returns b'' at once when stdin was not asked for.
        """

    @abc.abstractmethod
    def write_stdout(self, data):
        """Output for the client's stdout."""

    @abc.abstractmethod
    def write_stderr(self, data):
        """Output for the client's stderr (never asked for with a tty)."""

    @abc.abstractmethod
    def resizes(self):
        """Iterator of (width, height) terminal sizes, as the client sends.

        It ends when the session ends; it is empty without a tty.
        """

    @abc.abstractmethod
    def finish(self, exit_code=None, error=None):
        """Report the outcome and end the session.

        exit_code 0: Success; another exit code: NonZeroExitCode with
        the code as the ExitCode cause; error (a sentence): Failure with
        that message. Encoded as the negotiated protocol version wants
        (a metav1.Status on v4/v5, plain text before).
        """

    @abc.abstractmethod
    def closed(self):
        """True once the client has gone away."""


class PortConnection(abc.ABC):
    """One TCP connection the client wants to a port inside the pod."""

    port = 0

    @abc.abstractmethod
    def read(self, size=65536):
        """Bytes from the client; b'' at its EOF."""

    @abc.abstractmethod
    def write(self, data):
        """Bytes for the client."""

    @abc.abstractmethod
    def fail(self, message):
        """Tell the client this connection failed, and close it."""

    @abc.abstractmethod
    def close(self):
        """End the connection normally; idempotent."""
