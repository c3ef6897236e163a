"""An error that both HTTP servers (kubelet API, agent) answer as is."""


class HTTPError(Exception):
    """A reply other than success, decided before any body was sent.

    status is the HTTP status, message the one-line body, headers extra
    (name, value) pairs of the reply.
    """

    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)
