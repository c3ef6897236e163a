"""The outcome of an exec as the kubelet reports it, and terminal resizes.

Pure functions shared by the protocol front ends. The Status shapes are
those of the kubelet's ``remotecommand/exec.go`` and apimachinery's
``NewInternalError``; client-go's error stream decoders read them.
"""

import json

STATUS_SUCCESS = 'Success'
STATUS_FAILURE = 'Failure'
REASON_NON_ZERO_EXIT = 'NonZeroExitCode'
CAUSE_EXIT_CODE = 'ExitCode'
REASON_INTERNAL_ERROR = 'InternalError'
MAX_RESIZE_MESSAGE = 4096


def outcome(exit_code=None, error=None, command=None):
    """metav1.Status (a dict, in Go's field order) for an exec's end.

    error wins over exit_code; neither, or exit code 0, is Success.
    command (the argv) words the message as containerd does.
    """
    status = {'metadata': {}}
    if error:
        status.update(
            status=STATUS_FAILURE,
            message='Internal error occurred: %s' % error,
            reason=REASON_INTERNAL_ERROR,
            details={'causes': [{'message': error}]},
            code=500)
    elif exit_code:
        if command:
            # Go prints a []string as [a b c].
            what = 'error executing command [%s], exit code %d' % (
                ' '.join(command), exit_code)
        else:
            what = 'exit code %d' % exit_code
        status.update(
            status=STATUS_FAILURE,
            message='command terminated with non-zero exit code: ' + what,
            reason=REASON_NON_ZERO_EXIT,
            details={'causes': [{'reason': CAUSE_EXIT_CODE,
                                 'message': str(exit_code)}]})
    else:
        status['status'] = STATUS_SUCCESS
    return status


def go_json(value):
    """JSON bytes as Go's encoding/json writes them.

    Compact, UTF-8, with <, > and & escaped.
    """
    text = json.dumps(value, separators=(',', ':'), ensure_ascii=False)
    for char, escaped in (('<', '\\u003c'), ('>', '\\u003e'),
                          ('&', '\\u0026'), ('\u2028', '\\u2028'),
                          ('\u2029', '\\u2029')):
        text = text.replace(char, escaped)
    return text.encode('utf-8')


def encode(version, status):
    """The error stream's bytes for a remotecommand protocol version.

    v4 and later carry the Status as JSON; v1 to v3 carry the message
    as plain text, and nothing at all on success.
    """
    if version >= 4:
        return go_json(status)
    if status.get('status') == STATUS_SUCCESS:
        return b''
    return status.get('message', '').encode('utf-8')


def _complete_objects(buffer):
    """Split off the complete top-level JSON objects.

    Returns (their texts, the bytes left over, whether the buffer holds
    only objects so far).
    """
    objects = []
    pos = 0
    while True:
        while pos < len(buffer) and buffer[pos] in b' \t\r\n':
            pos += 1
        if pos == len(buffer):
            return objects, b'', True
        if buffer[pos] != ord('{'):
            return objects, b'', False
        depth, in_string, escaped, end = 0, False, False, None
        for index in range(pos, len(buffer)):
            char = buffer[index]
            if in_string:
                if escaped:
                    escaped = False
                elif char == ord('\\'):
                    escaped = True
                elif char == ord('"'):
                    in_string = False
            elif char == ord('"'):
                in_string = True
            elif char in b'{[':
                depth += 1
            elif char in b'}]':
                depth -= 1
                if depth == 0:
                    end = index + 1
                    break
        if end is None:
            return objects, bytes(buffer[pos:]), True
        objects.append(bytes(buffer[pos:end]))
        pos = end


def _size(text):
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    # Go matches struct fields case-insensitively and leaves absent
    # ones at zero; a value of another type fails the decode.
    fields = {key.lower(): item for key, item in value.items()}
    size = []
    for name in ('width', 'height'):
        item = fields.get(name, 0)
        if (not isinstance(item, int) or isinstance(item, bool)
                or not 0 <= item <= 0xffff):
            return None
        size.append(item)
    return tuple(size)


def decode_resizes(read):
    """Yield (width, height) from a stream of TerminalSize JSON objects.

    However the bytes are cut; read(size) returns b'' at the end. Stops
    at the first thing that is not a TerminalSize, as the kubelet does.
    """
    buffer = b''
    while True:
        data = read(4096)
        if not data:
            return
        objects, buffer, well_formed = _complete_objects(buffer + data)
        for text in objects:
            size = _size(text)
            if size is None:
                return
            yield size
        # A terminal size is a few dozen bytes; anything longer is not one.
        if not well_formed or len(buffer) > MAX_RESIZE_MESSAGE:
            return
