"""A pod's volumes and mounts, as Zun and the compute host can give them.

Three homes for a pod volume:

* **Cinder** (Zun's capsule template): a ``cinder`` volume source by its
  volume ID, and ``emptyDir`` as a new Cinder volume Zun deletes with
  the capsule when the operator asks for that
  (``empty_dir_cinder_size_gb``). Zun ignores readOnly and mounts whole
  volumes only, so readOnly, subPath and subPathExpr refuse such mounts.
* **The compute host** (``host_volumes``: the hosts run zun-vk's
  companion driver and host agent): configMap, secret, downwardAPI and
  projected volumes become files the agent keeps in a tmpfs and zun-vk
  keeps up to date (volume_files), emptyDir a directory on disk or a
  tmpfs (``medium: Memory``, sized by sizeLimit). They are mounted by the
  companion as the kubelet mounts them: the files volumes read-only,
  subPath and subPathExpr allowed. The plan travels in the capsule's
  ``zun-vk/volumes`` label (zun_plugin/volume_hints).
* **Nowhere**: without host volumes, the service account token volume
  Kubernetes adds to every pod is dropped silently (refusing it would
  refuse every pod); every other type refuses the pod with what to
  install or use instead.

hostPath, persistentVolumeClaim and the rest refuse the pod everywhere.
"""

import dataclasses
import math

from zun_vk.translate import errors
from zun_vk.translate import pod_env
from zun_vk.translate import quantity
from zun_vk.zun_plugin import volume_hints

SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'
FILE_KINDS = ('configMap', 'secret', 'downwardAPI', 'projected')
# Zun's capsule schema takes a Cinder volume by its UUID, 36 characters.
ZUN_VOLUME_ID_LEN = 36
# A kubelet-sized default for a files volume's sources is not needed
# here: the agent sizes the capsule's files tmpfs ([agent]).
_KNOWN_VOLUME_KEYS = ('name',)

_VOLUME_ID = ('Zun takes a Cinder volume by its ID, the %d character UUID '
              "that 'openstack volume show -c id' prints"
              % ZUN_VOLUME_ID_LEN)
_READ_ONLY = ('Zun mounts Cinder volumes read-write and ignores readOnly; '
              'remove readOnly to accept that')
_NEEDS_HOST = (
    "need zun-vk's companion driver and host agent on the compute hosts "
    '(install both, then set [zun]companion_driver = true and configure '
    '[host_agents] in zun-vk.conf)')


@dataclasses.dataclass
class PodVolumes:
    """The pod's volumes by name, sorted by where they live."""

    cinder: dict       # name -> Zun volume of the capsule template
    host: dict         # name -> (volume_hints kind, size bytes)
    dropped: set       # names left out silently
    declared: set      # every name in spec.volumes


def volume_kind(volume):
    """The volume source's key (emptyDir when none is set)."""
    source = [k for k in volume if k not in _KNOWN_VOLUME_KEYS
              and volume[k] is not None]
    return source[0] if source else 'emptyDir'


def pod_volumes(spec, defaults, problems, warnings):
    """Sort spec.volumes; problems get (field, why) for each refusal."""
    result = PodVolumes({}, {}, set(),
                        {v.get('name') for v in spec.get('volumes') or []})
    mounts = {}
    for kind in ('initContainers', 'containers'):
        for container in spec.get(kind) or []:
            for mount in container.get('volumeMounts') or []:
                mounts.setdefault(mount.get('name'), []).append(mount)
    for index, volume in enumerate(spec.get('volumes') or []):
        path = 'spec.volumes[%d]' % index
        name = volume.get('name') or ''
        kind = volume_kind(volume)
        if kind == 'cinder':
            _cinder(path, name, volume['cinder'], result, problems,
                    warnings)
        elif kind == 'emptyDir':
            _empty_dir(path, name, volume.get('emptyDir') or {}, defaults,
                       result, problems)
        elif kind in FILE_KINDS:
            if defaults.host_volumes:
                result.host[name] = (volume_hints.FILES, 0)
            elif _is_service_account_volume(name, kind,
                                            mounts.get(name, [])):
                result.dropped.add(name)
            else:
                problems.append((path + '.' + kind, '%s volumes %s'
                                 % (kind, _NEEDS_HOST)))
        else:
            problems.append((path + '.' + kind, _refusal(kind)))
    return result


def _cinder(path, name, cinder, result, problems, warnings):
    if cinder.get('readOnly'):
        problems.append((path + '.cinder.readOnly', _READ_ONLY))
    if cinder.get('secretRef'):
        problems.append((path + '.cinder.secretRef',
                         'Zun attaches Cinder volumes with its own '
                         'credentials; remove secretRef'))
    if not _zun_volume_id(cinder.get('volumeID')):
        problems.append((path + '.cinder.volumeID', _VOLUME_ID))
    if cinder.get('fsType'):
        warnings.append(
            '%s.cinder.fsType: ignored; Zun mounts Cinder volumes with the '
            'filesystem its operator configured ([volume]fstype).' % path)
    result.cinder[name] = {'name': zun_volume_name(name),
                           'cinder': {'volumeID': cinder.get('volumeID')}}


def _empty_dir(path, name, empty_dir, defaults, result, problems):
    limit = 0
    if empty_dir.get('sizeLimit'):
        try:
            limit = quantity.parse_quantity(empty_dir['sizeLimit'])
        except ValueError as exc:
            problems.append((path + '.emptyDir.sizeLimit', str(exc)))
            return
    memory = empty_dir.get('medium') == 'Memory'
    if empty_dir.get('medium') not in (None, '', 'Memory'):
        problems.append((path + '.emptyDir.medium',
                         "medium must be '' or Memory (huge pages are not "
                         'available to Zun capsules)'))
        return
    if defaults.empty_dir_cinder_size_gb and not memory:
        size = max(defaults.empty_dir_cinder_size_gb,
                   math.ceil(limit / 2 ** 30))
        result.cinder[name] = {'name': zun_volume_name(name),
                               'cinder': {'size': size, 'autoRemove': True}}
    elif defaults.host_volumes:
        result.host[name] = (volume_hints.MEMORY if memory
                             else volume_hints.DISK, int(math.ceil(limit)))
    else:
        problems.append((
            path + '.emptyDir', 'emptyDir volumes %s; or, for emptyDir on '
            'disk only, have Zun create a Cinder volume for each: set '
            '[zun]empty_dir_cinder_size_gb' % _NEEDS_HOST))


def zun_volume_name(name):
    return name if len(name) >= 2 else name + '_vol'


def _zun_volume_id(volume_id):
    return isinstance(volume_id, str) and len(volume_id) == ZUN_VOLUME_ID_LEN


def _refusal(kind):
    if kind == 'hostPath':
        return ('Zun capsules cannot mount paths of the compute host; use an '
                'emptyDir or a Cinder volume instead')
    if kind == 'persistentVolumeClaim':
        return ('persistent volume claims are not supported; use a cinder '
                'volume source with the Cinder volume ID instead')
    return ('%s volumes are not supported; Zun capsules mount Cinder '
            'volumes, and with the companion driver configMap, secret, '
            'downwardAPI, projected and emptyDir volumes' % kind)


def _is_service_account_volume(name, kind, mounts):
    if kind == 'projected':
        named = name.startswith('kube-api-access-')
    elif kind == 'secret':
        named = '-token-' in name
    else:
        return False
    return named and all(m.get('mountPath', '').rstrip('/') ==
                         SERVICE_ACCOUNT_MOUNT for m in mounts)


# --- one container's mounts ----------------------------------------------

def container_mounts(path, container, volumes, env, problems,
                     config_errors=None):
    """(Zun volumeMounts, host mounts) of one container.

    Host mounts are (volume, mountPath, subPath, readOnly) tuples;
    subPathExpr is expanded with the container's env (a dict), as the
    kubelet does: an expansion that misses a value, or gives an absolute
    path or one with '..', is a errors.ContainerConfigError appended to
    config_errors (the pod waits and is tried again, as on a kubelet).
    """
    zun_mounts, host_mounts = [], []
    for index, mount in enumerate(container.get('volumeMounts') or []):
        mount_path = '%s.volumeMounts[%d]' % (path, index)
        name = mount.get('name')
        if name in volumes.dropped:
            continue
        if name not in volumes.cinder and name not in volumes.host:
            # A refused volume was reported already.
            if name not in volumes.declared:
                problems.append((mount_path + '.name',
                                 "no volume named '%s' in spec.volumes"
                                 % name))
            continue
        if mount.get('mountPropagation') not in (None, 'None'):
            problems.append((mount_path + '.mountPropagation',
                             'Zun capsules do not support mount '
                             'propagation'))
        target = mount.get('mountPath') or ''
        if not target.startswith('/'):
            problems.append((mount_path + '.mountPath',
                             'must be an absolute path'))
            continue
        if name in volumes.cinder:
            _cinder_mount(mount_path, mount, problems)
            zun_mounts.append({'name': volumes.cinder[name]['name'],
                               'mountPath': target})
            continue
        sub_path = _sub_path(mount_path, mount, env, problems,
                             config_errors)
        if sub_path is not None:
            host_mounts.append((name, target, sub_path,
                                bool(mount.get('readOnly'))))
    return zun_mounts, host_mounts


def _cinder_mount(mount_path, mount, problems):
    for field in ('subPath', 'subPathExpr'):
        if mount.get(field):
            problems.append((mount_path + '.' + field,
                             'Zun mounts whole Cinder volumes only'))
    if mount.get('readOnly'):
        problems.append((mount_path + '.readOnly', _READ_ONLY))


def _sub_path(mount_path, mount, env, problems, config_errors):
    sub_path, field = mount.get('subPath') or '', 'subPath'
    if mount.get('subPathExpr'):
        if sub_path:
            problems.append((mount_path + '.subPathExpr',
                            'subPath and subPathExpr are mutually '
                             'exclusive'))
            return None
        sub_path, error = _expand_sub_path(mount['subPathExpr'], env)
        if error is not None:
            if config_errors is not None:
                config_errors.append(errors.ContainerConfigError(
                    mount_path + '.subPathExpr', error))
            return None
        field = 'subPathExpr'
    try:
        return volume_hints.check_sub_path(sub_path)
    except volume_hints.BadPlan as exc:
        problems.append((mount_path + '.' + field, str(exc)))
        return None


DEFAULT_TERMINATION_PATH = '/dev/termination-log'


def _expand_sub_path(expression, env):
    """(subPath, None) or (None, the kubelet's error text)."""
    expanded = pod_env.expand_references(expression, env)
    # The kubelet counts an empty value as missing, too.
    missing = sorted(n for n in pod_env.referenced_names(expression)
                     if not env.get(n))
    if missing:
        return None, 'missing value for %s' % ', '.join(missing)
    if expanded.startswith('/'):
        return None, 'error SubPath `%s` must not be an absolute path' % (
            expanded)
    if '..' in expanded.split('/'):
        return None, ("unable to provision SubPath `%s`: must not contain "
                      "'..'" % expanded)
    return expanded, None


def plan_label(volumes, host_mounts, env_volume=None, termination=None,
               hosts=None):
    """The zun-vk/volumes label of the mounted host volumes, or None.

    host_mounts: {(letter, index): [host mount]}; env_volume: the volume
    of the secret variables (secret_env), or None; termination: each
    container's termination message file (termination_files); hosts:
    the pod's /etc/hosts (companion_labels.etc_hosts).
    """
    used = {m[0] for entries in host_mounts.values() for m in entries}
    return volume_hints.format_plan(
        {name: kind for name, kind in volumes.host.items() if name in used},
        host_mounts, env_volume, termination, hosts)


def termination_files(spec):
    """{(letter, index): (terminationMessagePath, policy)} of the pod.

    The API server defaults both fields; a pod without them gets the
    kubelet's defaults.
    """
    out = {}
    for kind, letter in (('initContainers', 'i'), ('containers', 'c')):
        for index, container in enumerate(spec.get(kind) or []):
            policy = container.get('terminationMessagePolicy')
            if policy not in volume_hints.TERMINATION_POLICIES:
                policy = 'File'
            out[(letter, index)] = (
                container.get('terminationMessagePath') or
                DEFAULT_TERMINATION_PATH, policy)
    return out
