"""The little of HTTP/1.1 zun-vk speaks to host agents.

zun-vk opens one connection per request (the agent closes it after the
reply) and keeps the socket for the stream that follows an upgrade or a
chunked reply, so it writes the request and parses the reply head
itself instead of letting an HTTP library own the socket.
"""

import urllib.parse

MAX_HEAD = 65536


class HTTPError(Exception):
    """The peer's HTTP is cut short, too long or not HTTP."""


def parse_endpoint(text, default_port):
    """(address, port) of an endpoint.

    "address", "address:port", "[v6]:port" or a bare IPv6 address.
    """
    text = text.strip()
    if not text:
        raise ValueError('empty endpoint')
    if text.startswith('['):
        address, sep, rest = text[1:].partition(']')
        if not sep or (rest and not rest.startswith(':')):
            raise ValueError('bad endpoint %r' % text)
        port = rest[1:] if rest else None
    elif text.count(':') == 1:
        address, port = text.split(':')
    else:
        address, port = text, None
    if not address:
        raise ValueError('endpoint %r has no address' % text)
    if port is None:
        return address, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('endpoint %r has a bad port' % text)
    return address, int(port)


def build_request(method, path, query, host_header, headers=(), body=None):
    """Request bytes.

    query is a list of (name, value) pairs, body bytes or None.
    """
    target = path
    if query:
        target += '?' + urllib.parse.urlencode(query)
    lines = ['%s %s HTTP/1.1' % (method, target), 'Host: %s' % host_header]
    lines.extend('%s: %s' % pair for pair in headers)
    if body is not None:
        lines.append('Content-Length: %d' % len(body))
    elif method in ('POST', 'PUT'):
        lines.append('Content-Length: 0')
    head = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
    return head + bytes(body) if body else head


def host_header(address, port):
    return '[%s]:%d' % (address, port) if ':' in address else \
        '%s:%d' % (address, port)


def read_head(recv, limit=MAX_HEAD):
    """Read an HTTP head with recv(size).

    Returns (head bytes without the blank line, bytes received after
    it).
    """
    buffer = b''
    while True:
        end = buffer.find(b'\r\n\r\n')
        if end >= 0:
            return buffer[:end], buffer[end + 4:]
        if len(buffer) > limit:
            raise HTTPError('HTTP head longer than %d bytes' % limit)
        data = recv(65536)
        if not data:
            raise HTTPError('connection closed before the reply')
        buffer += data


def parse_response_head(head):
    """(status, reason, {lowercase name: value}) of a reply head."""
    lines = head.decode('iso-8859-1').split('\r\n')
    parts = lines[0].split(' ', 2)
    if len(parts) < 2 or not parts[0].startswith('HTTP/1.') or \
            not parts[1].isdigit():
        raise HTTPError('not an HTTP/1.x reply: %r' % lines[0][:80])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(':')
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else '', headers


class ChunkedDecoder(object):
    """Decodes a chunked body incrementally: feed(bytes) -> [chunks]."""

    def __init__(self, max_line=4096):
        self._buffer = bytearray()
        # None: a size line is next; n > 0: n bytes of data are left;
        # 0: the CRLF after the data; -1: trailers after the last chunk.
        self._left = None
        self._max_line = max_line
        self.done = False

    def _line(self):
        end = self._buffer.find(b'\r\n')
        if end < 0:
            if len(self._buffer) > self._max_line:
                raise HTTPError('chunk size line too long')
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 2]
        return line

    def feed(self, data):
        self._buffer += data
        chunks = []
        while not self.done:
            if self._left is None:
                line = self._line()
                if line is None:
                    break
                size = line.split(b';', 1)[0].strip()
                if not size or len(size) > 15 or \
                        size.strip(b'0123456789abcdefABCDEF'):
                    raise HTTPError('bad chunk size %r' % size[:16])
                self._left = int(size, 16)
                if self._left == 0:
                    self._left = -1     # trailers follow
            elif self._left == -1:
                line = self._line()
                if line is None:
                    break
                if line == b'':
                    self.done = True
            elif self._left > 0:
                # Hand out what is there; the rest of the chunk comes
                # later (a log line is passed on as soon as it arrives).
                take = min(self._left, len(self._buffer))
                if not take:
                    break
                chunks.append(bytes(self._buffer[:take]))
                del self._buffer[:take]
                self._left -= take
            else:
                if len(self._buffer) < 2:
                    break
                if self._buffer[:2] != b'\r\n':
                    raise HTTPError('chunk not followed by CRLF')
                del self._buffer[:2]
                self._left = None
        return [c for c in chunks if c]
