"""The files of configMap, secret, downwardAPI and projected volumes.

Rendered as the kubelet writes them (pkg/volume/configmap, secret,
downwardapi, projected and pkg/fieldpath): every key without ``items``,
``items`` mapping keys to paths with their own ``mode``, ``defaultMode``
0644 unless set, ``optional`` objects and keys, ``binaryData``, labels
and annotations as ``key="Go-quoted value"`` lines in key order, and
resourceFieldRef values as the kubelet's environment gets them. Pure: the
caller passes a ``sources`` object with ``config_map(name)`` and
``secret(name)`` (the object as API JSON, or None when missing) and
``service_account_token(audience, expiration_seconds)`` (the token).

render() returns {relative path: (bytes, mode)}. It raises
errors.MissingReference for a missing object or key that is not optional
(the kubelet retries the mount: so does the caller) and VolumeError for a
volume no kubelet would mount.
"""

import base64
import binascii

from zun_vk.translate import errors
from zun_vk.translate import pod_env
from zun_vk.translate import resource_fields

DEFAULT_MODE = 0o644
DEFAULT_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600


class VolumeError(errors.TranslationError):
    """A volume the kubelet would not mount either; the message says why."""

    status_reason = 'FailedMount'


def render(volume, pod, sources, node_allocatable=None):
    """{path: (bytes, mode)} of one pod volume (a spec.volumes entry)."""
    files = {}
    if volume.get('configMap') is not None:
        source = volume['configMap']
        _add_object(files, pod, sources, 'ConfigMap', source,
                    _mode(source.get('defaultMode')))
    elif volume.get('secret') is not None:
        source = volume['secret']
        _add_object(files, pod, sources, 'Secret',
                    dict(source, name=source.get('secretName')),
                    _mode(source.get('defaultMode')))
    elif volume.get('downwardAPI') is not None:
        source = volume['downwardAPI']
        _add_downward(files, pod, source.get('items') or [],
                      _mode(source.get('defaultMode')), node_allocatable)
    elif volume.get('projected') is not None:
        _add_projected(files, pod, sources, volume['projected'],
                       node_allocatable)
    else:
        raise VolumeError('volume %s is not a configMap, secret, '
                          'downwardAPI or projected volume'
                          % volume.get('name'))
    return files


def _mode(value, default=DEFAULT_MODE):
    if value is None:
        return default
    if not isinstance(value, int) or not 0 <= value <= 0o777:
        raise VolumeError('mode %r must be between 0 and 0777 (octal)'
                          % (value,))
    return value


def check_path(path):
    """A file path inside the volume: relative, no '..' element."""
    if not isinstance(path, str) or not path:
        raise VolumeError('a file path must not be empty')
    if path.startswith('/'):
        raise VolumeError("file path '%s' must be relative" % path)
    parts = path.split('/')
    if '..' in parts or path.startswith('..'):
        raise VolumeError("file path '%s' must not contain '..'" % path)
    return path


def _object_payload(kind, obj):
    """{key: bytes} of a ConfigMap (data and binaryData) or Secret."""
    out = {}
    if kind == 'ConfigMap':
        for key, text in (obj.get('data') or {}).items():
            out[key] = (text or '').encode('utf-8')
        encoded = obj.get('binaryData') or {}
    else:
        encoded = obj.get('data') or {}
    for key, text in encoded.items():
        try:
            out[key] = base64.b64decode(text or '', validate=True)
        except (binascii.Error, ValueError):
            raise VolumeError('%s %s: the value of key %s is not base64'
                              % (kind, _name(obj), key)) from None
    return out


def _name(obj):
    return (obj.get('metadata') or {}).get('name')


def _add_object(files, pod, sources, kind, source, default_mode):
    name = source.get('name') or ''
    namespace = pod['metadata'].get('namespace')
    optional = bool(source.get('optional'))
    read = sources.config_map if kind == 'ConfigMap' else sources.secret
    obj = read(name)
    if obj is None:
        if optional:
            return
        raise errors.MissingReference(kind, namespace, name)
    payload = _object_payload(kind, obj)
    items = source.get('items')
    if not items:
        for key, data in payload.items():
            files[check_path(key)] = (data, default_mode)
        return
    for item in items:
        key = item.get('key')
        if key not in payload:
            if optional:
                continue
            raise errors.MissingReference(kind, namespace, name, key,
                                          object_found=True)
        files[check_path(item.get('path') or '')] = (
            payload[key], _mode(item.get('mode'), default_mode))


def _add_downward(files, pod, items, default_mode, node_allocatable):
    for item in items:
        path = check_path(item.get('path') or '')
        mode = _mode(item.get('mode'), default_mode)
        if item.get('fieldRef'):
            text = field_value(pod, item['fieldRef'].get('fieldPath') or '')
        elif item.get('resourceFieldRef'):
            ref = item['resourceFieldRef']
            container = resource_fields.find_container(
                pod, ref.get('containerName'))
            if container is None:
                raise VolumeError('downwardAPI item %s: resourceFieldRef '
                                  'needs the name of one of the pod\'s '
                                  'containers' % path)
            text = resource_fields.value(pod, container, ref,
                                         node_allocatable,
                                         'resourceFieldRef')
        else:
            raise VolumeError('downwardAPI item %s needs a fieldRef or a '
                              'resourceFieldRef' % path)
        files[path] = (text.encode('utf-8'), mode)


def field_value(pod, field_path):
    """The text of a downward API fieldRef, as pkg/fieldpath formats it."""
    meta = pod.get('metadata') or {}
    for prefix, key in (('metadata.labels', 'labels'),
                        ('metadata.annotations', 'annotations')):
        if field_path == prefix:
            return pod_env.format_map(meta.get(key) or {})
        if field_path.startswith(prefix + "['") and field_path.endswith(
                "']"):
            return (meta.get(key) or {}).get(
                field_path[len(prefix) + 2:-2], '')
    simple = {'metadata.name': meta.get('name'),
              'metadata.namespace': meta.get('namespace'),
              'metadata.uid': meta.get('uid')}
    if field_path in simple:
        return simple[field_path] or ''
    raise VolumeError("fieldRef '%s' is not available in a downwardAPI "
                      'volume; use metadata.name, metadata.namespace, '
                      'metadata.uid, metadata.labels or '
                      'metadata.annotations' % field_path)


def _add_projected(files, pod, sources, projected, node_allocatable):
    default_mode = _mode(projected.get('defaultMode'))
    for index, source in enumerate(projected.get('sources') or []):
        if source.get('configMap') is not None:
            _add_object(files, pod, sources, 'ConfigMap',
                        source['configMap'], default_mode)
        elif source.get('secret') is not None:
            _add_object(files, pod, sources, 'Secret', source['secret'],
                        default_mode)
        elif source.get('downwardAPI') is not None:
            _add_downward(files, pod, source['downwardAPI'].get('items')
                          or [], default_mode, node_allocatable)
        elif source.get('serviceAccountToken') is not None:
            token = source['serviceAccountToken']
            seconds = token.get('expirationSeconds') or DEFAULT_TOKEN_SECONDS
            if seconds < MIN_TOKEN_SECONDS:
                raise VolumeError('serviceAccountToken expirationSeconds '
                                  'must be at least %d' % MIN_TOKEN_SECONDS)
            text = sources.service_account_token(
                token.get('audience'), seconds)
            files[check_path(token.get('path') or '')] = (
                text.encode('utf-8'), default_mode)
        else:
            kinds = [k for k, v in source.items() if v is not None]
            raise VolumeError('projected source %d (%s) is not available '
                              'on Zun capsules; use configMap, secret, '
                              'downwardAPI or serviceAccountToken'
                              % (index, ', '.join(kinds) or 'empty'))
