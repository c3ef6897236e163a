"""The companion's part of the secret variables (env_hints).

Once the capsule's volumes are ready, the driver reads each container's
file of the secret variables from the capsule's tmpfs and registers what
the engine's create call of that container gets on top of what Zun
passes: the variables, and the command with the values expanded, the
pod's IP put in where they hold its mark. The
docker client's ``create_container`` is wrapped once per process; it
adds what is registered under the container's engine name and passes
everything else through unchanged. Zun's container objects never hold
the values, so zun-compute never saves them to its database and Zun's
API never shows them.
"""

import contextlib
import functools
import os
import threading

from zun_vk.zun_plugin import capsule_hints
from zun_vk.zun_plugin import env_hints
from zun_vk.zun_plugin import payload
from zun_vk.zun_plugin import volume_hints

_lock = threading.Lock()
_pending = {}   # engine container name -> {'environment': ..., ...}


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


@contextlib.contextmanager
def registered(extras, capsule):
    """Let the create calls of these containers get their extras.

    The pod's IPs are read from the capsule at each create call: Zun
    gives the capsule its addresses when it creates the sandbox.
    """
    with _lock:
        _pending.update({name: (extra, capsule)
                         for name, extra in extras.items()})
    try:
        yield
    finally:
        with _lock:
            for name in extras:
                _pending.pop(name, None)


def with_extras(kwargs, extra, pod_ips=()):
    """The create call's kwargs with one container's extras applied.

    The pod IP marks (env_hints) in them become pod_ips.
    """
    ips = list(pod_ips)
    kwargs = dict(kwargs)
    if extra.get('environment'):
        environment = kwargs.get('environment') or {}
        if isinstance(environment, (list, tuple)):
            environment = dict(item.partition('=')[::2]
                               for item in environment)
        kwargs['environment'] = dict(environment, **{
            name: env_hints.complete(value, ips)
            for name, value in extra['environment'].items()})
    for field in ('entrypoint', 'command'):
        if field in extra:
            kwargs[field] = [env_hints.complete(part, ips)
                             for part in extra[field]]
    return kwargs


_podman = {}


def _is_podman(client):
    """Whether the engine is podman (asked once per process)."""
    if 'answer' not in _podman:
        try:
            components = client.version().get('Components') or []
        except Exception:  # noqa: B902 - unknown: leave the call alone
            return False
        _podman['answer'] = any('podman' in str(c.get('Name', '')).lower()
                                for c in components)
    return _podman['answer']


def share_uts(client, kwargs):
    """A capsule member shares the sandbox's host name, as on a kubelet.

    Zun's driver joins each member to the sandbox's network only. Docker
    then gives the member the sandbox's host name; podman does not, but
    takes a UTS namespace of the same container, which Docker's API has
    no use for.
    """
    host_config = kwargs.get('host_config') or {}
    network = host_config.get('NetworkMode') or ''
    if (not network.startswith('container:') or host_config.get('UTSMode')
            or not _is_podman(client)):
        return kwargs
    return dict(kwargs, host_config=dict(host_config, UTSMode=network))


def hook_create(client_class):
    """Wrap client_class.create_container once; False if it has none."""
    original = getattr(client_class, 'create_container', None)
    if original is None:
        return False
    if getattr(original, 'zun_vk_secret_env', False):
        return True

    @functools.wraps(original)
    def create_container(self, image, *args, **kwargs):
        with _lock:
            pending = _pending.get(kwargs.get('name'))
        if pending is not None:
            extra, capsule = pending
            kwargs = with_extras(kwargs, extra, env_hints.pod_ips(
                payload.field(capsule, 'addresses')))
            kwargs = share_uts(self, kwargs)
        return original(self, image, *args, **kwargs)
    create_container.zun_vk_secret_env = True
    client_class.create_container = create_container
    return True
