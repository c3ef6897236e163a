"""Variables from Secrets: from zun-vk to the container engine, past Zun.

Whatever a capsule template holds, Zun stores in its database and shows
to every member of the project (``zun capsule-describe``). So zun-vk
leaves out of the template each variable whose value came from a Secret
(``secretKeyRef``, ``envFrom.secretRef``, or ``$(VAR)`` of one), and
writes in the command and args a ``$(VAR)`` reference where such a value
was expanded. It delivers the real values like a secret volume's files
(volume_hints: the plan's ``e`` volume, in the capsule's tmpfs), one
file per container named by its key (``c0``, ``i1``)::

    {"env": [["NAME", "value"], ...], "command": ["...", ...]}

``command`` is there only when a value was expanded in it: the whole
list Zun runs (the pod's command followed by its args). The companion
driver reads the files once the volume has its ``..data`` and hands the
values to the engine's create call only; Zun's objects never hold them.

The pod's IP is not known when zun-vk writes the template: Neutron gives
the capsule its address while zun-compute creates the sandbox. A
variable from ``status.podIP`` or ``status.podIPs`` (and whatever
expands it) takes the same path, with a mark (FIELD_MARKS) where the
address goes; the companion replaces each mark with the capsule's
address (pod_ips, the rule zun-vk reports the pod's IPs by) just
before the engine creates the container. A mark is delimited by NUL
characters, which no variable value or argument can hold, so it never
meets user data, and replacing it after the kubelet's one-pass
``$(VAR)`` expansion gives what the expansion would have given with the
address known.

Pure and dependency-free: zun-vk's translation and the driver inside
zun-compute both import it.
"""

import json

# The files volume's name: a DNS label, made unique among the pod's own.
VOLUME_BASE = 'zun-vk-env'
# The capsule's directory is zun-compute's alone (0700); no container
# mounts this volume.
FILE_MODE = 0o444
MAX_FILE_BYTES = 4 * 1024 * 1024


FIELD_MARKS = {
    'status.podIP': '\x00status.podIP\x00',
    'status.podIPs': '\x00status.podIPs\x00',
}


class BadEnvFile(ValueError):
    """A file of the secret variables this version cannot read."""


def volume_name(taken):
    """A volume name for the secret variables not in taken."""
    name, number = VOLUME_BASE, 1
    while name in taken:
        number += 1
        name = '%s-%d' % (VOLUME_BASE, number)
    return name


def member_key(letter, index):
    return '%s%d' % (letter, index)


def format_file(env, command=None):
    """One container's file: env is [(name, value)], command a list."""
    value = {'env': [[str(n), str(v)] for n, v in env]}
    if command is not None:
        value['command'] = [str(part) for part in command]
    return json.dumps(value, separators=(',', ':')).encode('utf-8')


def parse_file(data):
    """-> (env as [(name, value)], command list or None)."""
    if len(data) > MAX_FILE_BYTES:
        raise BadEnvFile('the file of secret variables is too large')
    try:
        value = json.loads(data.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadEnvFile('the file of secret variables is not JSON: %s'
                         % exc) from None
    if not isinstance(value, dict):
        raise BadEnvFile('the file of secret variables is not an object')
    env = value.get('env') or []
    if not isinstance(env, list) or not all(
            isinstance(item, list) and len(item) == 2 and
            all(isinstance(part, str) for part in item) for item in env):
        raise BadEnvFile('"env" must be a list of [name, value] strings')
    command = value.get('command')
    if command is not None and not (
            isinstance(command, list) and
            all(isinstance(part, str) for part in command)):
        raise BadEnvFile('"command" must be a list of strings')
    return [tuple(item) for item in env], command


def has_marks(text):
    return '\x00' in text and any(m in text for m in FIELD_MARKS.values())


def pod_ips(addresses):
    """At most one IP per family, IPv4 first, in Zun's network order.

    addresses is a capsule's ``addresses`` ({network: [{'addr': ...}]}).
    """
    by_family = {}
    for entries in (addresses or {}).values():
        for entry in entries or []:
            addr = entry.get('addr') if isinstance(entry, dict) else None
            if not addr:
                continue
            family = 6 if ':' in addr else 4
            by_family.setdefault(family, addr)
    return [by_family[f] for f in (4, 6) if f in by_family]


def complete(text, ips):
    """text with its marks replaced by the pod's IPs (a list)."""
    if '\x00' not in text:
        return text
    return text.replace(FIELD_MARKS['status.podIP'], ips[0] if ips else '') \
        .replace(FIELD_MARKS['status.podIPs'], ','.join(ips))
