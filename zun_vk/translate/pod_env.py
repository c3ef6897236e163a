"""A pod's environment, resolved the way the kubelet does (pure functions).

``env_references()`` lists the ConfigMaps and Secrets a pod needs;
``resolve_env()`` resolves env and envFrom from their ``data`` (Secret
values base64-encoded, as the API returns them) with kubelet semantics:
envFrom first, then env in order, later names override earlier ones,
optional references that are missing are skipped. fieldRef supports
metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'],
metadata.annotations['k'], metadata.labels and metadata.annotations
(whole, ``k="v"`` lines sorted), spec.nodeName and
spec.serviceAccountName. status.hostIP and status.hostIPs resolve to
the virtual node's IP when the caller passes ``host_ip``: that is the
value this node reports as the pod's hostIP. Neutron assigns the pod's
address while Zun creates the capsule, after the template is fixed: with
``pod_ip_on_host`` (the companion on the hosts) status.podIP(s) resolve
to a mark (env_hints) that the companion driver replaces with the
capsule's address before the engine creates the container; otherwise
they refuse the pod. resourceFieldRef is computed as the kubelet does (see
resource_fields), an unset limit being the node's allocatable amount
when the caller passes it. The variables of Services (see service_env)
come first: the pod's own env wins over them and ``$(VAR)`` sees them.

Every value is a string, as Zun stores a container's environment; the
translation (pod_to_capsule) then expands ``$(VAR)`` in command and args
against the result.
"""

import base64
import binascii
import collections
import dataclasses
import re

from zun_vk.translate import errors
from zun_vk.translate import resource_fields
from zun_vk.zun_plugin import env_hints

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


@dataclasses.dataclass(frozen=True)
class EnvReference:
    """A ConfigMap or Secret (or one key of it) a pod's env needs."""

    kind: str
    namespace: str
    name: str
    key: str = None
    optional: bool = False


def expand_references(text, env, used=None):
    """Expand ``$(NAME)`` from the dict env the way the kubelet does.

    ``$$`` is an escaped ``$``; unknown names and incomplete references
    stay as written. The names expanded are added to the set used, when
    given.
    """
    out = []
    i = 0
    size = len(text)
    while i < size:
        char = text[i]
        if char != '$' or i + 1 == size:
            out.append(char)
            i += 1
            continue
        following = text[i + 1]
        if following == '$':
            out.append('$')
            i += 2
        elif following == '(':
            close = text.find(')', i + 2)
            if close == -1:
                out.append('$(')
                i += 2
            else:
                name = text[i + 2:close]
                if name in env:
                    out.append(env[name])
                    if used is not None:
                        used.add(name)
                else:
                    out.append('$(%s)' % name)
                i = close + 1
        else:
            out.append(char + following)
            i += 2
    return ''.join(out)


class _EveryName(dict):
    """A mapping that has every name: expansion then reports them all."""

    def __contains__(self, name):
        return True

    def __getitem__(self, name):
        return ''


def referenced_names(text):
    """The names text refers to with ``$(NAME)``, defined or not."""
    used = set()
    expand_references(text, _EveryName(), used)
    return used


def _all_containers(pod):
    spec = pod.get('spec') or {}
    for kind in ('initContainers', 'containers'):
        for index, container in enumerate(spec.get(kind) or []):
            yield 'spec.%s[%d]' % (kind, index), container


def env_references(pod):
    """ConfigMaps and Secrets (and keys) the pod's environment needs.

    In first-use order, without duplicates; ``key`` is None for envFrom.
    """
    namespace = _meta(pod).get('namespace') or 'default'
    found = []
    for _path, container in _all_containers(pod):
        for source in container.get('envFrom') or []:
            for kind, field in (('ConfigMap', 'configMapRef'),
                                ('Secret', 'secretRef')):
                ref = source.get(field)
                if ref is not None:
                    found.append(EnvReference(
                        kind, namespace, ref.get('name') or '', None,
                        bool(ref.get('optional'))))
        for var in container.get('env') or []:
            value_from = var.get('valueFrom') or {}
            for kind, field in (('ConfigMap', 'configMapKeyRef'),
                                ('Secret', 'secretKeyRef')):
                ref = value_from.get(field)
                if ref is not None:
                    found.append(EnvReference(
                        kind, namespace, ref.get('name') or '',
                        ref.get('key'), bool(ref.get('optional'))))
    return list(dict.fromkeys(found))


def resolve_env(pod, configmaps, secrets, *, host_ip=None,
                service_env=None, node_allocatable=None,
                pod_ip_on_host=False):
    """Resolve every container's environment.

    configmaps and secrets map an object name (in the pod's namespace) to
    its ``data``; a Secret's values are base64 as the API returns them. A
    name missing from the dict means the object does not exist.
    service_env is service_env.service_env()'s result; node_allocatable
    the Node's status.allocatable. Returns
    {container name: [{'name': ..., 'value': ...}, ...]} for init and
    regular containers; a variable whose value comes from a Secret, also
    through ``$(VAR)``, has ``'secret': True`` as well, one with a pod IP
    mark ``'late': True``. Raises
    MissingReference for a required reference
    that cannot be satisfied and UnsupportedPod for a fieldRef or
    resourceFieldRef this node cannot provide.
    """
    resolved = {}
    sources = _Sources(configmaps or {}, secrets or {}, host_ip,
                       service_env or {}, node_allocatable, pod_ip_on_host)
    for path, container in _all_containers(pod):
        resolved[container.get('name')] = _resolve_container_env(
            pod, path, container, sources)
    return resolved


@dataclasses.dataclass(frozen=True)
class _Sources:
    configmaps: dict
    secrets: dict
    host_ip: str
    service_env: dict
    node_allocatable: dict
    pod_ip_on_host: bool = False


def _resolve_container_env(pod, path, container, sources):
    namespace = _meta(pod).get('namespace') or 'default'
    configmaps, secrets = sources.configmaps, sources.secrets
    env = {}
    flags = {}          # name -> {'secret', 'late'}: where its value came
    # The kubelet's $(VAR) sees the pod's variables, then the Services'.
    visible = collections.ChainMap(env, sources.service_env)
    for index, source in enumerate(container.get('envFrom') or []):
        source_path = '%s.envFrom[%d]' % (path, index)
        prefix = source.get('prefix') or ''
        for kind, field, objects in (
                ('ConfigMap', 'configMapRef', configmaps),
                ('Secret', 'secretRef', secrets)):
            ref = source.get(field)
            if ref is None:
                continue
            name = ref.get('name') or ''
            if name not in objects:
                if ref.get('optional'):
                    continue
                raise errors.MissingReference(
                    kind, namespace, name,
                    field_path='%s.%s' % (source_path, field))
            for key, raw in sorted((objects[name] or {}).items()):
                value = raw
                if kind == 'Secret':
                    value = _decode_secret(raw, name, key, source_path)
                if _valid_env_name(prefix + key):
                    env[prefix + key] = value
                    flags[prefix + key] = (
                        {'secret'} if kind == 'Secret' else set())
    for index, var in enumerate(container.get('env') or []):
        var_path = '%s.env[%d]' % (path, index)
        value_from = var.get('valueFrom')
        if not var.get('name'):
            continue
        if value_from is None:
            used = set()
            env[var['name']] = expand_references(var.get('value') or '',
                                                 visible, used)
            flags[var['name']] = set().union(
                *(flags.get(n, ()) for n in used if n in env))
            continue
        value = _value_from(pod, container, namespace, var_path, value_from,
                            sources)
        if value is not None:
            env[var['name']] = value
            flags[var['name']] = _origin(value_from, value)
    result = [dict({'name': name, 'value': value},
                   **{flag: True for flag in sorted(flags.get(name, ()))})
              for name, value in env.items()]
    result += [{'name': name, 'value': value}
               for name, value in sources.service_env.items()
               if name not in env]
    return result


def _origin(value_from, value):
    """The flags of a valueFrom variable (see resolve_env)."""
    if value_from.get('secretKeyRef') is not None:
        return {'secret'}
    if env_hints.has_marks(value):
        return {'late'}
    return set()


def _value_from(pod, container, namespace, path, value_from, sources):
    """One env var's value, or None when an optional source is missing."""
    configmaps, secrets = sources.configmaps, sources.secrets
    if value_from.get('fieldRef') is not None:
        field_path = value_from['fieldRef'].get('fieldPath') or ''
        return _field_value(pod, field_path, sources,
                            path + '.valueFrom.fieldRef.fieldPath')
    if value_from.get('resourceFieldRef') is not None:
        return resource_fields.value(
            pod, container, value_from['resourceFieldRef'],
            sources.node_allocatable, path + '.valueFrom.resourceFieldRef')
    for kind, field, objects in (('ConfigMap', 'configMapKeyRef', configmaps),
                                 ('Secret', 'secretKeyRef', secrets)):
        ref = value_from.get(field)
        if ref is None:
            continue
        name = ref.get('name') or ''
        key = ref.get('key') or ''
        optional = bool(ref.get('optional'))
        ref_path = '%s.valueFrom.%s' % (path, field)
        if name not in objects:
            if optional:
                return None
            raise errors.MissingReference(kind, namespace, name, key,
                                          ref_path)
        data = objects[name] or {}
        if key not in data:
            if optional:
                return None
            raise errors.MissingReference(kind, namespace, name, key,
                                          ref_path, object_found=True)
        if kind == 'Secret':
            return _decode_secret(data[key], name, key, ref_path)
        return data[key]
    raise errors.UnsupportedPod(
        path + '.valueFrom', 'this kind of value source is not supported; '
        'use fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef')


def _field_value(pod, field_path, sources, path):
    meta = _meta(pod)
    spec = pod.get('spec') or {}
    simple = {
        'metadata.name': meta.get('name'),
        'metadata.namespace': meta.get('namespace'),
        'metadata.uid': meta.get('uid'),
        'spec.nodeName': spec.get('nodeName'),
        'spec.serviceAccountName': spec.get('serviceAccountName'),
    }
    if field_path in simple:
        return simple[field_path] or ''
    if field_path in ('metadata.labels', 'metadata.annotations'):
        return format_map(meta.get(field_path.split('.')[1]) or {})
    match = _SUBSCRIPT.match(field_path)
    if match:
        return (meta.get(match.group(1)) or {}).get(match.group(2), '')
    if field_path in ('status.hostIP', 'status.hostIPs'):
        if sources.host_ip:
            return sources.host_ip
        raise errors.UnsupportedPod(
            path, 'the node IP ([node]internal_ip) is not configured, so %s '
            'cannot be provided' % field_path)
    if field_path in ('status.podIP', 'status.podIPs'):
        if sources.pod_ip_on_host:
            return env_hints.FIELD_MARKS[field_path]
        raise errors.UnsupportedPod(
            path, 'Neutron assigns the pod IP while Zun creates the capsule, '
            'after the environment is fixed, so %s can only be provided by '
            "zun-vk's companion driver and agent on the compute hosts "
            '([zun]companion_driver and [host_agents]); without them, read '
            'the address inside the container (for example with '
            '`hostname -i`)' % field_path)
    raise errors.UnsupportedPod(
        path, "the field '%s' is not supported in env; use metadata.name, "
        'metadata.namespace, metadata.uid, metadata.labels, '
        'metadata.annotations, spec.nodeName, spec.serviceAccountName or '
        'status.hostIP' % field_path)


def format_map(values):
    """Labels or annotations as the kubelet formats them: sorted k="v"."""
    return '\n'.join('%s=%s' % (key, _go_quote(values[key]))
                     for key in sorted(values))


def _go_quote(text):
    escapes = {'"': '\\"', '\\': '\\\\', '\a': '\\a', '\b': '\\b',
               '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t',
               '\v': '\\v'}
    out = []
    for char in str(text):
        if char in escapes:
            out.append(escapes[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append('\\x%02x' % ord(char))
        elif ord(char) < 0x10000:
            out.append('\\u%04x' % ord(char))
        else:
            out.append('\\U%08x' % ord(char))
    return '"%s"' % ''.join(out)


def _decode_secret(raw, name, key, path):
    try:
        return base64.b64decode(raw or '', validate=True).decode('utf-8')
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
        raise errors.UnsupportedPod(
            path, "the value of key '%s' in Secret %s is not UTF-8 text; "
            'Zun passes environment values as text' % (key, name)) from None


def _valid_env_name(name):
    # The engine cannot represent names with '=' or control characters.
    return bool(name) and '=' not in name and name.isprintable()


def _meta(pod):
    return pod.get('metadata') or {}
