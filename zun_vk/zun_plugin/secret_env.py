"""The companion's part of the secret variables (env_hints).

Once the capsule's volumes are ready, the driver reads each container's
file of the secret variables from the capsule's tmpfs; overrides() says
what the engine's create call of that container gets on top of what Zun
passes (engine_create): the variables, and the command with the values
expanded. Zun's container objects never hold the values, so zun-compute
never saves them to its database and Zun's API never shows them.
"""

import os

from zun_vk.zun_plugin import capsule_hints
from zun_vk.zun_plugin import env_hints
from zun_vk.zun_plugin import payload
from zun_vk.zun_plugin import volume_hints


def load(root, capsule_uuid, plan, capsule):
    """{(letter, index): (env, command)} of the capsule's containers.

    Raises env_hints.BadEnvFile for a file that is there but broken:
    a container must not start without its variables.
    """
    if plan is None or not plan.env_volume:
        return {}
    data_dir = os.path.join(
        volume_hints.volume_dir(root, capsule_uuid, volume_hints.FILES,
                                plan.env_volume),
        volume_hints.DATA_LINK)
    found = {}
    for kind, letter in capsule_hints.KINDS.items():
        for index, _member in enumerate(payload.members(capsule, kind)):
            path = os.path.join(data_dir, env_hints.member_key(letter, index))
            try:
                with open(path, 'rb') as stream:
                    data = stream.read(env_hints.MAX_FILE_BYTES + 1)
            except FileNotFoundError:
                continue
            found[(letter, index)] = env_hints.parse_file(data)
    return found


def overrides(capsule, loaded, engine_name):
    """{engine container name: what its create call gets on top}.

    engine_name(container) is the docker driver's get_container_name.
    A command follows the ENTRYPOINT split of capsule_hints, as the
    command Zun passes does.
    """
    labels = payload.field(capsule, 'labels') or {}
    lengths = capsule_hints.parse_entrypoints(
        labels.get(capsule_hints.ENTRYPOINT_LABEL))
    out = {}
    for kind, letter in capsule_hints.KINDS.items():
        for index, container in enumerate(payload.members(capsule, kind)):
            if (letter, index) not in loaded:
                continue
            env, command = loaded[(letter, index)]
            extra = {'environment': dict(env)}
            if command is not None:
                length = lengths.get((letter, index))
                if length:
                    extra['entrypoint'], extra['command'] = (
                        capsule_hints.split_command(command, length))
                else:
                    extra['command'] = list(command)
            out[engine_name(container)] = extra
    return out
