"""SPDY/3 header blocks: the name/value list and its zlib compression.

Header blocks are zlib streams that run across the whole connection:
one compression context per direction, primed with the SPDY/3
dictionary, each block ended with a sync flush. A compressor must see
blocks in the order they go on the wire, and a decompressor every block
the peer sent.
"""

import struct
import zlib

DEFAULT_MAX_HEADER_BLOCK = 256 << 10

_UINT32 = struct.Struct('>I')


class ProtocolError(Exception):
    """The peer sent bytes that are not SPDY/3 frames.

    Fatal for the connection: the header compression context is shared
    by every frame, so nothing after a bad frame can be trusted.
    """


def _spdy3_dictionary():
    # The zlib dictionary of the SPDY/3 specification (section 2.6.10.1):
    # these words, each after its length as 4 big-endian bytes, then a
    # run of plain text. Checked byte for byte by the unit tests.
    words = (
        'options head post put delete trace accept accept-charset '
        'accept-encoding accept-language accept-ranges age allow '
        'authorization cache-control connection content-base '
        'content-encoding content-language content-length '
        'content-location content-md5 content-range content-type date '
        'etag expect expires from host if-match if-modified-since '
        'if-none-match if-range if-unmodified-since last-modified '
        'location max-forwards pragma proxy-authenticate '
        'proxy-authorization range referer retry-after server te '
        'trailer transfer-encoding upgrade user-agent vary via warning '
        'www-authenticate method get status').split()
    words += ['200 OK', 'version', 'HTTP/1.1', 'url', 'public',
              'set-cookie', 'keep-alive', 'origin']
    tail = (
        '100101201202205206300302303304305306307402405406407408409410'
        '411412413414415416417502504505'
        '203 Non-Authoritative Information'
        '204 No Content'
        '301 Moved Permanently'
        '400 Bad Request'
        '401 Unauthorized'
        '403 Forbidden'
        '404 Not Found'
        '500 Internal Server Error'
        '501 Not Implemented'
        '503 Service Unavailable'
        'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec'
        ' 00:00:00'
        ' Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT'
        'chunked,text/html,image/png,image/jpg,image/gif,'
        'application/xml,application/xhtml+xml,text/plain,'
        'text/javascript,publicprivatemax-age=gzip,deflate,sdch'
        'charset=utf-8charset=iso-8859-1,utf-,*,enq=0.')
    out = bytearray()
    for word in words:
        out += _UINT32.pack(len(word)) + word.encode('ascii')
    return bytes(out + tail.encode('ascii'))


DICTIONARY = _spdy3_dictionary()


def encode_header_block(headers):
    """Uncompressed name/value block; a value may be a str or a list."""
    out = bytearray(_UINT32.pack(len(headers)))
    for name, value in headers.items():
        if not isinstance(value, str):
            value = '\0'.join(value)
        name = name.lower().encode('utf-8')
        if not name:
            raise ValueError('a SPDY header name cannot be empty')
        value = value.encode('utf-8')
        out += _UINT32.pack(len(name)) + name
        out += _UINT32.pack(len(value)) + value
    return bytes(out)


def decode_header_block(block):
    """dict of lowercase name -> list of values, from a plain block.

    ProtocolError unless the block is exactly one valid list.
    """
    view = memoryview(block)
    pos = 0

    def take(size):
        nonlocal pos
        if pos + size > len(view):
            raise ProtocolError('header block ends inside an entry')
        chunk = bytes(view[pos:pos + size])
        pos += size
        return chunk

    count = _UINT32.unpack(take(4))[0]
    # Each entry needs at least 8 bytes: refuse absurd counts up front.
    if count * 8 > len(view):
        raise ProtocolError('header block claims %d entries' % count)
    headers = {}
    for _ in range(count):
        raw_name = take(_UINT32.unpack(take(4))[0])
        raw_value = take(_UINT32.unpack(take(4))[0])
        try:
            name = raw_name.decode('utf-8')
            value = raw_value.decode('utf-8')
        except UnicodeDecodeError:
            raise ProtocolError('header is not UTF-8: %r' % raw_name)
        if not name:
            raise ProtocolError('empty header name')
        if name != name.lower():
            raise ProtocolError('header name %r is not lowercase' % name)
        if name in headers:
            raise ProtocolError('header %r appears twice' % name)
        headers[name] = value.split('\0')
    if pos != len(view):
        raise ProtocolError('%d bytes after the header block'
                            % (len(view) - pos))
    return headers


class HeaderCompressor:
    """Compresses the header blocks of one direction of a connection."""

    def __init__(self):
        self._zlib = zlib.compressobj(
            zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, 8,
            zlib.Z_DEFAULT_STRATEGY, DICTIONARY)

    def compress(self, headers):
        block = encode_header_block(headers)
        return self._zlib.compress(block) + self._zlib.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    """Reads the header blocks one peer sent, in order."""

    def __init__(self, max_block=DEFAULT_MAX_HEADER_BLOCK):
        self._zlib = zlib.decompressobj(zdict=DICTIONARY)
        self._max_block = max_block

    def decompress(self, compressed):
        try:
            block = self._zlib.decompress(compressed, self._max_block + 1)
        except zlib.error as exc:
            raise ProtocolError('header block does not decompress: %s' % exc)
        if len(block) > self._max_block or self._zlib.unconsumed_tail:
            raise ProtocolError('header block over %d bytes'
                                % self._max_block)
        return decode_header_block(block)
