"""The body of ``PUT /v1/capsules/{capsule}/volumes/{volume}``.

zun-vk sends the rendered files of one files volume (configMap, secret,
downwardAPI, projected) to the agent of the capsule's host as JSON::

    {"files": [{"path": "a/b.txt", "mode": 420, "data": "<base64>"}]}

path is relative to the volume, mode the file's permission bits (0 to
0o777, here 420 = 0o644), data its bytes in standard base64. The ticket
of the request carries the SHA-256 of exactly these bytes. Shared by the
client and the agent, so both agree on the format and the size limit.
"""

import base64
import binascii
import json

# Kubernetes keeps a configMap or secret under 1 MiB; a projected volume
# may combine several. Base64 makes the body a third larger than the
# files.
MAX_BODY = 8 << 20


class BadBody(ValueError):
    """A body that is not a files list; one line, never the data."""


def encode(files):
    """The body of files, a list of (path, bytes, mode)."""
    entries = [{'path': str(path), 'mode': int(mode),
                'data': base64.b64encode(bytes(data)).decode('ascii')}
               for path, data, mode in files]
    return json.dumps({'files': entries}, separators=(',', ':'),
                      ensure_ascii=False).encode('utf-8')


def decode(body):
    """{path: (bytes, mode)} of a body; BadBody.

    Paths are checked here only for being strings given once; the
    writer checks what they may name.
    """
    try:
        value = json.loads(body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise BadBody('the body is not JSON') from None
    if not isinstance(value, dict) or not isinstance(value.get('files'),
                                                     list):
        raise BadBody('the body must be {"files": [...]}')
    payload = {}
    for number, entry in enumerate(value['files']):
        if not isinstance(entry, dict):
            raise BadBody('file %d is not an object' % number)
        path, mode, data = (entry.get('path'), entry.get('mode'),
                            entry.get('data'))
        if not isinstance(path, str) or not path:
            raise BadBody('file %d has no path' % number)
        if type(mode) is not int or not 0 <= mode <= 0o777:
            raise BadBody('the mode of %s must be an integer from 0 to '
                          '0777' % path[:256])
        if not isinstance(data, str):
            raise BadBody('%s has no base64 data' % path[:256])
        try:
            raw = base64.b64decode(data.encode('ascii'), validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise BadBody('the data of %s is not base64' % path[:256]) \
                from None
        if path in payload:
            raise BadBody('file path %s is given twice' % path[:256])
        payload[path] = (raw, mode)
    return payload
