"""Keep a container's Secret-derived values out of its Zun template.

With the companion on the hosts (``hide``), each variable whose value
came from a Secret (pod_env flags them) is left out of the template's
env, and the command and args keep ``$(VAR)`` where such a value would
be expanded; the real values travel to the host as a file of the
secret variables volume (zun_plugin/env_hints). Variables that hold
the pod's IP mark take the same path, so that the companion can put the
address in. Without the companion the values from Secrets stay in the
template, as Zun stores them, and the pod gets a warning that says so.
"""

import dataclasses

from zun_vk.translate import pod_env
from zun_vk.zun_plugin import env_hints


@dataclasses.dataclass(frozen=True)
class ContainerEnv:
    """What one container's template and host file get."""

    env: dict                 # the template's env
    command: list = None      # the template's command and args
    args: list = None
    secret_file: bytes = None  # env_hints' file, or None


def split(path, container, env, flags, hide, problems, warnings):
    """-> ContainerEnv of one container.

    env is the container's resolved environment (a dict), flags the
    names in it whose values came from Secrets (``'secret'``) or hold the
    pod's IP mark (``'late'``, only with hide): {name: set of flags}.
    """
    secret = {n for n, f in flags.items() if 'secret' in f}
    late = {n for n, f in flags.items() if 'late' in f}
    hidden = (secret | late) if hide else set()
    public = {k: v for k, v in env.items() if k not in hidden}
    fields, real, tainted = {}, [], False
    for field in ('command', 'args'):
        if not container.get(field):
            continue
        used = set()
        expanded = [pod_env.expand_references(str(part), env, used)
                    for part in container[field]]
        real += expanded
        if used & hidden:
            tainted = True
            expanded = [pod_env.expand_references(str(part), public)
                        for part in container[field]]
        fields[field] = expanded
    _check_sub_path_exprs(path, container, env, secret & hidden,
                          late & hidden, problems)
    if secret and not hide:
        warnings.append(
            '%s.env: %s from Secrets %s stored by Zun with the capsule, '
            'where every member of its OpenStack project can read %s '
            '(install zun-vk\'s companion driver and agent on the compute '
            'hosts, set [zun]companion_driver and [host_agents], and the '
            'values reach the containers past Zun).' % (
                path, ', '.join(sorted(secret)),
                'is' if len(secret) == 1 else 'are',
                'it' if len(secret) == 1 else 'them'))
    secret_file = None
    if hidden or tainted:
        secret_file = env_hints.format_file(
            [(k, v) for k, v in env.items() if k in hidden],
            real if tainted else None)
    return ContainerEnv(public, fields.get('command'), fields.get('args'),
                        secret_file)


def _check_sub_path_exprs(path, container, env, secret, late, problems):
    for index, mount in enumerate(container.get('volumeMounts') or []):
        used = set()
        pod_env.expand_references(mount.get('subPathExpr') or '', env, used)
        field = '%s.volumeMounts[%d].subPathExpr' % (path, index)
        if used & secret:
            problems.append((
                field, 'must not use variables from Secrets (%s): the path '
                'is stored by Zun, where every member of the project can '
                'read it' % ', '.join(sorted(used & secret))))
        elif used & late:
            problems.append((
                field, 'cannot use the pod IP (%s): the volumes are planned '
                'before Neutron gives the capsule its address'
                % ', '.join(sorted(used & late))))


def volume_files(secret_files):
    """{(letter, index): file} -> the volume's files, {path: (bytes, mode)}."""
    return {env_hints.member_key(letter, index): (data, env_hints.FILE_MODE)
            for (letter, index), data in sorted(secret_files.items())}
