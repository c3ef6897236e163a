"""A pod's volumes on the compute host: the contract of its three parts.

Zun's capsule API mounts Cinder volumes only. For the volumes the
kubelet keeps on the node (configMap, secret, downwardAPI, projected and
emptyDir), zun-vk writes a plan into the capsule's ``zun-vk/volumes``
label; the companion driver inside zun-compute, the host agent beside it
and zun-vk itself share the layout below.

The label's value is JSON::

    {"v": {"<volume>": ["files"] | ["disk", <bytes>] | ["memory", <bytes>]},
     "m": {"c0": [["<volume>", "<mountPath>", "<subPath>", <readOnly>]],
           "i1": [...]},
     "e": "<volume>",
     "t": {"c0": ["<terminationMessagePath>", "<terminationMessagePolicy>"]}}

``v`` names each volume and its kind: ``files`` (its files come from
zun-vk: configMap, secret, downwardAPI, projected), ``disk`` and
``memory`` (an emptyDir on disk or in a tmpfs; the number is its
sizeLimit in bytes, 0 for none). ``m`` lists the mounts of each container
by its kind letter and index, as in capsule_hints. ``e``, when present,
names a files volume no container mounts: the containers' variables
whose values come from Secrets (env_hints), which reach the engine past
Zun.
``h`` is the pod's /etc/hosts as the kubelet writes it (etc_hosts):
``{"n": "<hostname>", "d": "<domain or empty>", "a": [["<ip>",
["<name>", ...]], ...]}`` (spec.hostAliases); the companion driver writes
``etc-hosts`` once Neutron gave the capsule its address and binds it at
/etc/hosts of every container that does not mount a file there itself.
``t`` gives each container its termination message file: an empty file
``termination/<c0>`` (mode 0666, so any user of the container may write
it) that the companion driver makes and bind-mounts at the path; once the
container has ended, the companion reads what it wrote (or, under
``FallbackToLogsOnError`` and a failure, the end of its log) as the
kubelet does (termination).

The host directory of one capsule, ``<root>/<capsule uuid>/``:

* ``plan.json``: the plan, written by the companion driver when
  zun-compute starts creating the capsule; the agent then knows the
  capsule is being created on its host.
* ``files/``: a tmpfs the agent mounts, one ``files/<volume>/`` per
  files volume, in the kubelet's atomic ``..data`` layout. Secrets live
  in memory only.
* ``memory/<volume>/``: a tmpfs per memory emptyDir (the agent's).
* ``disk/<volume>/``: a directory per disk emptyDir (the agent's).
* ``termination/<container key>``: the termination message files (the
  companion driver's).
* ``prepared``: written by the agent once the directories above exist.
* ``deleted``: written by the companion driver when the capsule is
  deleted; the agent then unmounts and removes the directory.

The containers are created once ``prepared`` exists and every files
volume has its ``..data``. Pure and dependency-free: zun-vk, the driver
and the agent all import it.
"""

import json
import os
import re

VOLUMES_LABEL = 'zun-vk/volumes'

FILES = 'files'
DISK = 'disk'
MEMORY = 'memory'
KINDS = (FILES, DISK, MEMORY)

TERMINATION_DIR = 'termination'
HOSTS_FILE = 'etc-hosts'
TERMINATION_POLICIES = ('File', 'FallbackToLogsOnError')
PLAN_FILE = 'plan.json'
PREPARED_FILE = 'prepared'
DELETED_FILE = 'deleted'
DATA_LINK = '..data'

# A Kubernetes volume name is a DNS label; nothing else reaches a path.
_VOLUME_NAME = re.compile(r'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')
_MEMBER = re.compile(r'^[ci][0-9]{1,4}$')
_UUID = re.compile(
    r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


class BadPlan(ValueError):
    """The label or plan.json is not a plan this version understands."""


def format_plan(volumes, mounts, env_volume=None, termination=None,
                hosts=None):
    """The label's value.

    volumes: {name: (kind, size_bytes)}; mounts: {(letter, index):
    [(volume, mount_path, sub_path, read_only)]}; env_volume: the files
    volume of the secret variables, or None; termination: {(letter,
    index): (path, policy)}; hosts: {'n', 'd', 'a'} as above. None when
    there is nothing to plan.
    """
    if env_volume:
        volumes = dict(volumes, **{env_volume: (FILES, 0)})
    if not volumes and not termination and not hosts:
        return None
    value = {
        'v': {name: [kind] if kind == FILES else [kind, int(size or 0)]
              for name, (kind, size) in sorted(volumes.items())},
        'm': {'%s%d' % key: [[v, p, s or '', bool(ro)]
                             for v, p, s, ro in entries]
              for key, entries in sorted(mounts.items()) if entries},
    }
    if env_volume:
        value['e'] = env_volume
    if termination:
        value['t'] = {'%s%d' % key: [path, policy] for key, (path, policy)
                      in sorted(termination.items())}
    if hosts:
        value['h'] = hosts
    return json.dumps(value, separators=(',', ':'), sort_keys=True)


class Plan(object):
    """A parsed, checked plan."""

    def __init__(self, volumes, mounts, env_volume=None, termination=None,
                 hosts=None):
        self.volumes = volumes    # {name: (kind, size_bytes)}
        self.mounts = mounts      # {(letter, index): [(v, path, sub, ro)]}
        self.env_volume = env_volume  # files volume of secret variables
        # {(letter, index): (terminationMessagePath, policy)}
        self.termination = termination or {}
        self.hosts = hosts        # {'n', 'd', 'a'}, or None

    def names(self, kind):
        return sorted(n for n, (k, _) in self.volumes.items() if k == kind)

    def to_json(self):
        return format_plan(self.volumes, self.mounts, self.env_volume,
                           self.termination, self.hosts)

    def __eq__(self, other):
        return (isinstance(other, Plan) and self.volumes == other.volumes
                and self.mounts == other.mounts
                and self.env_volume == other.env_volume
                and self.termination == other.termination
                and self.hosts == other.hosts)

    def __repr__(self):
        return 'Plan(%r, %r, %r, %r, %r)' % (
            self.volumes, self.mounts, self.env_volume, self.termination,
            self.hosts)


def check_sub_path(sub_path):
    """A relative path inside a volume: no '..', not absolute."""
    if not sub_path:
        return ''
    if not isinstance(sub_path, str) or sub_path.startswith('/') or (
            '\x00' in sub_path):
        raise BadPlan('subPath %r must be a relative path' % (sub_path,))
    parts = [p for p in sub_path.split('/') if p not in ('', '.')]
    if '..' in parts:
        raise BadPlan("subPath %r must not contain '..'" % sub_path)
    return '/'.join(parts)


def parse_plan(text):
    """The label's (or plan.json's) value -> Plan; None when absent.

    Raises BadPlan for anything malformed: a capsule whose volumes
    cannot be set up must not start without them.
    """
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadPlan('%s is not JSON: %s' % (VOLUMES_LABEL, exc)) from None
    if not isinstance(value, dict):
        raise BadPlan('%s must be a JSON object' % VOLUMES_LABEL)
    volumes = {}
    for name, spec in (value.get('v') or {}).items():
        if not _VOLUME_NAME.match(str(name)):
            raise BadPlan('bad volume name %r' % (name,))
        if not isinstance(spec, list) or not spec or spec[0] not in KINDS:
            raise BadPlan('volume %s has no known kind' % name)
        size = 0
        if spec[0] != FILES:
            size = spec[1] if len(spec) > 1 else 0
            if not isinstance(size, int) or size < 0:
                raise BadPlan('volume %s has a bad size' % name)
        volumes[name] = (spec[0], size)
    mounts = {}
    for member, entries in (value.get('m') or {}).items():
        if not _MEMBER.match(str(member)) or not isinstance(entries, list):
            raise BadPlan('bad container key %r' % (member,))
        out = []
        for entry in entries:
            if not isinstance(entry, list) or len(entry) != 4:
                raise BadPlan('bad mount %r' % (entry,))
            volume, path, sub, read_only = entry
            if volume not in volumes:
                raise BadPlan('mount of unknown volume %r' % (volume,))
            if not isinstance(path, str) or not path.startswith('/'):
                raise BadPlan('mount path %r must be absolute' % (path,))
            out.append((volume, path, check_sub_path(sub),
                        bool(read_only)))
        mounts[(member[0], int(member[1:]))] = out
    env_volume = value.get('e') or None
    if env_volume is not None:
        if volumes.get(env_volume, (None,))[0] != FILES:
            raise BadPlan('the secret variables need a files volume, not '
                          '%r' % (env_volume,))
        if any(entry[0] == env_volume for entries in mounts.values()
               for entry in entries):
            raise BadPlan('volume %s of the secret variables must not be '
                          'mounted' % env_volume)
    return Plan(volumes, mounts, env_volume,
                _parse_termination(value.get('t') or {}),
                _parse_hosts(value.get('h')))


def _hosts_word(text):
    # One field of a hosts line: nothing that starts another field or line.
    return isinstance(text, str) and not any(c in text for c in
                                             '\t\n\r\x00 #')


def _parse_hosts(value):
    if value is None:
        return None
    if not isinstance(value, dict) or not _hosts_word(value.get('n')) or \
            not value.get('n') or not isinstance(value.get('d', ''), str) \
            or (value.get('d') and not _hosts_word(value['d'])):
        raise BadPlan('bad /etc/hosts plan %r' % (value,))
    aliases = value.get('a') or []
    if not isinstance(aliases, list) or not all(
            isinstance(a, list) and len(a) == 2 and _hosts_word(a[0]) and
            a[0] and isinstance(a[1], list) and
            all(_hosts_word(n) and n for n in a[1]) for a in aliases):
        raise BadPlan('bad host aliases %r' % (aliases,))
    return {'n': value['n'], 'd': value.get('d') or '',
            'a': [[a[0], list(a[1])] for a in aliases]}


def _parse_termination(value):
    if not isinstance(value, dict):
        raise BadPlan('the termination files must be an object')
    out = {}
    for member, entry in value.items():
        if not _MEMBER.match(str(member)) or not isinstance(entry, list) \
                or len(entry) != 2:
            raise BadPlan('bad termination file %r of %r' % (entry, member))
        path, policy = entry
        if not isinstance(path, str) or not path.startswith('/') or (
                '\x00' in path):
            raise BadPlan('termination message path %r must be absolute'
                          % (path,))
        if policy not in TERMINATION_POLICIES:
            raise BadPlan('unknown termination message policy %r'
                          % (policy,))
        out[(member[0], int(member[1:]))] = (path, policy)
    return out


def termination_file(root, capsule_uuid, letter, index):
    """Where a container's termination message file is on the host."""
    return os.path.join(capsule_dir(root, capsule_uuid), TERMINATION_DIR,
                        '%s%d' % (letter, index))


# --- the host directory ---------------------------------------------------

def capsule_dir(root, capsule_uuid):
    if not _UUID.match(str(capsule_uuid)):
        raise BadPlan('bad capsule uuid %r' % (capsule_uuid,))
    return os.path.join(root, capsule_uuid)


def volume_dir(root, capsule_uuid, kind, volume):
    """Where a volume lives on the host."""
    if kind not in KINDS or not _VOLUME_NAME.match(str(volume)):
        raise BadPlan('bad volume %r of kind %r' % (volume, kind))
    return os.path.join(capsule_dir(root, capsule_uuid), kind, volume)


def is_capsule_uuid(name):
    return bool(_UUID.match(str(name)))


def is_volume_name(name):
    return bool(_VOLUME_NAME.match(str(name)))
