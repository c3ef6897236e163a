"""What the engine's create call of a capsule member gets on top of Zun's.

Zun's docker driver builds each member's create call itself. While the
companion creates a capsule, it registers an extra for each member under
its engine name (registered); the docker client's ``create_container``
is wrapped once per process (hook_create) and applies it:

* the variables and command of secret_env, with the pod IP marks of
  env_hints replaced by the capsule's address, which Zun gives when it
  creates the sandbox, before the members;
* on podman, the sandbox's UTS namespace, so that the member has the
  pod's host name (share_uts).

Any other create call passes through unchanged.
"""

import contextlib
import functools
import threading

from zun_vk.zun_plugin import env_hints
from zun_vk.zun_plugin import payload

_lock = threading.Lock()
_pending = {}   # engine container name -> (extra, capsule)


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
    if getattr(original, 'zun_vk_extras', False):
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
    create_container.zun_vk_extras = True
    client_class.create_container = create_container
    return True
