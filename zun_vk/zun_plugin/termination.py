"""A container's termination message, read as the kubelet reads it.

The companion driver bind-mounts an empty file of the capsule's host
directory at each container's ``terminationMessagePath``
(volume_hints' ``t``). Once the container has ended, its message is what
it wrote there, at most 4096 bytes; under ``FallbackToLogsOnError``, a
container that failed and wrote nothing gets the end of its log instead
(its last 80 lines, at most 2048 bytes). The sync records the message as
the container's status_reason, which zun-vk shows as
``state.terminated.message``.
"""

import contextlib
import errno
import os

from zun_vk.zun_plugin import volume_hints

MAX_MESSAGE_BYTES = 4096
FALLBACK_LINES = 80
FALLBACK_BYTES = 2048


def read_file(path):
    """The first MAX_MESSAGE_BYTES of the file; b'' when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            return b''
        raise
    try:
        return os.read(fd, MAX_MESSAGE_BYTES)
    finally:
        os.close(fd)


def log_tail(chunks, lines=FALLBACK_LINES, max_bytes=FALLBACK_BYTES):
    """The last lines of a log read as chunks of bytes, at most max_bytes.

    The engine's own tail is not used: podman's drops a last line that
    has no newline, which is just what a message like "DONE" is.
    """
    kept = b''
    for chunk in chunks:
        # Enough to hold the lines asked for, whatever their length.
        kept = (kept + chunk)[-(max_bytes * 4):]
    ends_open = not kept.endswith(b'\n')
    parts = kept.split(b'\n')
    if not ends_open:
        parts = parts[:-1]
    text = b'\n'.join(parts[-lines:]) + (b'' if ends_open else b'\n')
    return text[-max_bytes:] if parts else b''


def message(root, capsule_uuid, plan, letter, index, exit_code, read_logs):
    """The termination message of one container, or None.

    read_logs() gives the container's log as an iterable of bytes; it is
    called only for the fallback.
    """
    if plan is None:
        return None
    entry = plan.termination.get((letter, index))
    if entry is None:
        return None
    _path, policy = entry
    data = read_file(volume_hints.termination_file(root, capsule_uuid,
                                                   letter, index))
    if (not data and policy == 'FallbackToLogsOnError' and
            exit_code not in (0, None)):
        data = log_tail(read_logs() or ())
    text = data.decode('utf-8', 'replace')
    return text or None


# Containers of capsules being created: {container uuid: (capsule uuid,
# plan, letter, index)}. Zun's create inspects each container right
# after starting it; one that has ended already is recorded Stopped
# there, and must have its message then, not a sync later.
_creating = {}


@contextlib.contextmanager
def creating(capsule_uuid, plan, members):
    """While a capsule is created; members: [(uuid, letter, index)]."""
    entries = {uuid: (capsule_uuid, plan, letter, index)
               for uuid, letter, index in members
               if plan is not None and (letter, index) in plan.termination}
    _creating.update(entries)
    try:
        yield
    finally:
        for uuid in entries:
            _creating.pop(uuid, None)


def on_create_inspect(root, container, response, read_logs):
    """The message of a container Zun's create found ended, or None."""
    entry = _creating.get(getattr(container, 'uuid', None))
    if entry is None:
        return None
    capsule_uuid, plan, letter, index = entry
    code = ((response or {}).get('State') or {}).get('ExitCode')
    return message(root, capsule_uuid, plan, letter, index,
                   code if isinstance(code, int) else None, read_logs)
