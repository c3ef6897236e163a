"""The companion's part of a pod's host volumes (see volume_hints).

At create, the driver writes the plan into the capsule's host directory
with the containers' termination message files, waits until the host
agent has prepared it and zun-vk's files have arrived, then gives each
container its bind mounts through the wrapped docker driver's own
``_get_binds`` (Zun calls it with one container's volume mappings; the
mappings list carries the extra binds). At delete it marks the
directory, and the agent removes it.

Only plain file operations run here: zun-compute need not be root. The
agent does the mounting.
"""

import errno
import os
import time

from oslo_log import log as logging

from zun_vk.zun_plugin import env_hints
from zun_vk.zun_plugin import etc_hosts
from zun_vk.zun_plugin import payload
from zun_vk.zun_plugin import volume_hints

LOG = logging.getLogger(__name__)

POLL_SECONDS = 0.25


class VolumesNotReady(Exception):
    """The capsule's volumes were not ready in time; it fails to create."""


class MountList(list):
    """One container's Zun volume mappings plus the host binds it gets.

    prepare() runs right before the container is created, when the
    capsule's sandbox (and so its address) exists.
    """

    def __init__(self, volmaps, binds, prepare=None):
        super().__init__(volmaps)
        self.zun_vk_binds = list(binds)
        self.zun_vk_prepare = prepare


def plan_of(capsule):
    """The capsule's volume plan (volume_hints.Plan) or None.

    Raises volume_hints.BadPlan for a label that is there but broken.
    """
    labels = payload.field(capsule, 'labels') or {}
    return volume_hints.parse_plan(labels.get(volume_hints.VOLUMES_LABEL))


def write_plan(root, capsule_uuid, plan):
    """Create the capsule's directory and its plan.json (atomically)."""
    directory = volume_hints.capsule_dir(root, capsule_uuid)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, volume_hints.PLAN_FILE)
    temporary = path + '.tmp'
    with open(temporary, 'w') as stream:
        stream.write(plan.to_json())
    os.replace(temporary, path)


def make_termination_files(root, capsule_uuid, plan):
    """An empty termination message file per container (mode 0666).

    Any user of the container may write it, as on a kubelet's node; the
    capsule's directory (0700) keeps everyone else out.
    """
    if not plan.termination:
        return
    directory = os.path.join(volume_hints.capsule_dir(root, capsule_uuid),
                             volume_hints.TERMINATION_DIR)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    for letter, index in plan.termination:
        path = volume_hints.termination_file(root, capsule_uuid, letter,
                                             index)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                     os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        try:
            os.fchmod(fd, 0o666)    # whatever zun-compute's umask
        finally:
            os.close(fd)


def missing(root, capsule_uuid, plan):
    """What the containers still wait for: a list of short phrases."""
    directory = volume_hints.capsule_dir(root, capsule_uuid)
    if not os.path.exists(os.path.join(directory,
                                       volume_hints.PREPARED_FILE)):
        return ['the host agent to prepare the volumes']
    return ['the files of volume %s' % name
            for name in plan.names(volume_hints.FILES)
            if not os.path.islink(os.path.join(
                volume_hints.volume_dir(root, capsule_uuid,
                                        volume_hints.FILES, name),
                volume_hints.DATA_LINK))]


def wait_ready(root, capsule_uuid, plan, timeout, clock=time.monotonic,
               sleep=time.sleep):
    """Return once the volumes are ready; VolumesNotReady after timeout."""
    deadline = clock() + timeout
    while True:
        waiting = missing(root, capsule_uuid, plan)
        if not waiting:
            return
        if clock() >= deadline:
            raise VolumesNotReady(
                'The pod volumes of capsule %s were not ready within %d s; '
                'still waiting for %s. Is zun-vk-agent running on this host '
                '(with the same pods_dir as [zun_vk_plugin]pods_dir), and '
                'can zun-vk reach it?' % (capsule_uuid, timeout,
                                          ', '.join(waiting)))
        sleep(POLL_SECONDS)


def binds(root, capsule_uuid, plan, letter, index):
    """[(host source, container path, read_only)] of one container.

    A subPath of an emptyDir is created when missing, as the kubelet
    does; a subPath of a files volume must exist (it is one of its keys).
    """
    out = []
    for volume, path, sub_path, read_only in plan.mounts.get(
            (letter, index), ()):
        kind, _size = plan.volumes[volume]
        source = volume_hints.volume_dir(root, capsule_uuid, kind, volume)
        if sub_path:
            source = os.path.join(source, sub_path)
            if kind != volume_hints.FILES:
                os.makedirs(source, exist_ok=True)
        out.append((source, path, read_only or kind == volume_hints.FILES))
    if plan.hosts and '/etc/hosts' not in {b[1] for b in out}:
        out.append((hosts_file(root, capsule_uuid), '/etc/hosts', False))
    if (letter, index) in plan.termination:
        out.append((volume_hints.termination_file(
            root, capsule_uuid, letter, index),
            plan.termination[(letter, index)][0], False))
    return out


def hosts_file(root, capsule_uuid):
    return os.path.join(volume_hints.capsule_dir(root, capsule_uuid),
                        volume_hints.HOSTS_FILE)


def write_hosts(root, capsule, plan):
    """The pod's /etc/hosts, once, with the address the capsule has now."""
    path = hosts_file(root, payload.field(capsule, 'uuid'))
    if not plan.hosts or os.path.exists(path):
        return
    data = etc_hosts.content(plan.hosts, env_hints.pod_ips(
        payload.field(capsule, 'addresses')))
    temporary = path + '.tmp'
    with open(temporary, 'wb') as stream:
        stream.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def with_binds(requested_volumes, capsule, root, plan):
    """Zun's requested_volumes, each container's list carrying its binds."""
    requested_volumes = dict(requested_volumes or {})

    def prepare():
        write_hosts(root, capsule, plan)
    for kind, letter in (('init_containers', 'i'), ('containers', 'c')):
        for index, container in enumerate(payload.members(capsule, kind)):
            uuid = payload.field(container, 'uuid')
            requested_volumes[uuid] = MountList(
                requested_volumes.get(uuid, []),
                binds(root, payload.field(capsule, 'uuid'), plan, letter,
                      index), prepare)
    return requested_volumes


def add_binds(binds_dict, volmaps):
    """Add the host binds a MountList carries to the docker driver's binds.

    binds_dict is {source: {'bind': path}} as the docker SDK takes it; a
    source mounted twice gets a spelling of its own ('/./'), which the
    engine resolves to the same directory.
    """
    prepare = getattr(volmaps, 'zun_vk_prepare', None)
    if prepare is not None:
        prepare()
    for source, path, read_only in getattr(volmaps, 'zun_vk_binds', ()):
        key = source
        while key in binds_dict:
            key = os.path.join(key, '.')
        binds_dict[key] = {'bind': path, 'mode': 'ro' if read_only else 'rw'}
    return binds_dict


def mark_deleted(root, capsule_uuid):
    """Tell the agent the capsule is gone; False if it had no directory."""
    directory = volume_hints.capsule_dir(root, capsule_uuid)
    try:
        with open(os.path.join(directory, volume_hints.DELETED_FILE),
                  'w'):
            pass
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True
