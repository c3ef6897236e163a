"""What the server needs of an engine: its errors and a session's shape.

Kept apart from engine.py so that the server (and its tests, with a
fake engine) do not need the docker SDK.
"""


class EngineError(Exception):
    """A request the engine could not serve; status is HTTP-like."""

    status = 502

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(EngineError):
    status = 404


class Conflict(EngineError):
    status = 409


class Unavailable(EngineError):
    status = 503


class Process(object):
    """An exec or attach session: engine stream, resize, final status."""

    def __init__(self, stream, demultiplex, resize, exit_code):
        self.stream = stream
        self.demultiplex = demultiplex
        self._resize = resize
        self._exit_code = exit_code

    def resize(self, width, height):
        self._resize(width, height)

    def exit_code(self):
        return self._exit_code()

    def close(self):
        self.stream.close()
