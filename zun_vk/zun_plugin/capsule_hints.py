"""What zun-vk tells the companion driver through a capsule's labels.

Zun's capsule API merges a container's ``command`` and ``args`` into one
list it runs as the engine's CMD, so the image's ENTRYPOINT stays in
front. Kubernetes replaces the ENTRYPOINT with ``command``. zun-vk
records, for each container whose pod sets ``command``, how many of the
merged list's items were the command; the companion driver turns those
into the engine's entrypoint before the container is created.

The entrypoints label's value is "c0:2,i1:1": the container at index 0 of the
capsule's containers had a command of 2 items, the init container at
index 1 one of 1 item. Pure and dependency-free: zun-vk's translation
and the driver inside zun-compute both import it.
"""

ENTRYPOINT_LABEL = 'zun-vk/entrypoints'
# The pod's host name, as the kubelet derives it: the engine gives it to
# the capsule's sandbox, whose UTS namespace the containers share.
HOSTNAME_LABEL = 'zun-vk/hostname'
KINDS = {'containers': 'c', 'init_containers': 'i'}


def format_entrypoints(lengths):
    """{('c'|'i', index): command length} -> the label's value, or None."""
    if not lengths:
        return None
    return ','.join('%s%d:%d' % (kind, index, n)
                    for (kind, index), n in sorted(lengths.items()))


def parse_entrypoints(value):
    """The label's value -> {('c'|'i', index): command length}.

    Anything malformed is left out: the container then keeps Zun's own
    behaviour rather than failing to start.
    """
    out = {}
    for item in (value or '').split(','):
        kind, _, rest = item.strip().partition(':')
        if len(kind) < 2 or kind[0] not in KINDS.values():
            continue
        try:
            index, length = int(kind[1:]), int(rest)
        except ValueError:
            continue
        if index >= 0 and length > 0:
            out[(kind[0], index)] = length
    return out


def split_command(command, length):
    """(entrypoint, cmd) of Zun's merged command list."""
    command = list(command or [])
    return command[:length], command[length:]
