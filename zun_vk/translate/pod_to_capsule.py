"""Translate a Kubernetes pod into a Zun capsule template (pure functions).

The pod is a dict in Kubernetes API JSON form (camelCase). The result is
the ``template`` of ``POST /v1/capsules`` at microversion 1.40, shaped the
way zun 18.0.0 validates it (``zun/api/controllers/v1/schemas/
parameter_types.py``: ``capsule_template``) and consumes it
(``zun/api/controllers/v1/capsules.py``).

Rules, and the Zun facts behind them:

Names and labels
    ``capsule_name()`` is ``k8s-<namespace>-<name>-<8 hex of the UID>``,
    lower-cased, characters outside ``[a-z0-9_.-]`` replaced by '-', cut to
    CAPSULE_NAME_MAX_LEN. Zun's rule is ``^[a-zA-Z0-9][a-zA-Z0-9_.-]+$``,
    2 to 255 characters, but Zun names each container of a capsule
    ``capsule-<capsule name>-<greek letter>-<n>`` in a 255 character
    column, so a capsule name must stay within 236 characters. Zun does not
    keep the pod's container names (it validates them against the same
    rule, so a one-letter name is left out of the template) and lists a
    capsule's containers in creation order, which is spec order:
    capsule_to_status matches them by position.
    Capsule labels are a free JSON object in Zun (no key or value rule) and
    are copied onto the sandbox container as engine labels, so any string
    key works; the zun-vk labels (LABEL_*) win over pod labels of the same
    key. Pod annotations become capsule annotations (1.38+).

Resources
    Zun takes ``resources.requests.cpu`` as a number of cores and
    ``resources.requests.memory`` as an integer number of MiB (the docker
    driver passes ``<memory>M`` to the engine; the capsule API adds the
    numbers up, so strings are not accepted there). Per container the
    Kubernetes limit wins when set, else the request, else the defaults
    passed in. cpu is converted exactly ('100m' -> 0.1); memory is rounded
    UP to whole MiB and never 0. Zun rejects values under its
    ``[DEFAULT]minimum_cpus`` (0.1) and ``minimum_memory`` (4 MiB): smaller
    values are raised to ``defaults.min_cpu`` / ``min_memory_mb``. Values
    over ``defaults.max_cpu`` / ``max_memory_mb`` (Zun's
    ``maximum_cpus`` / ``maximum_memory``, when given) refuse the pod.
    Extended resources (GPUs, hugepages) refuse the pod; ephemeral-storage
    is ignored with a warning.

Containers
    name, image (Zun takes 2 to 255 characters with a letter or digit
    followed by one of ``[a-zA-Z0-9_.-]``; other names, such as a
    one-letter Docker Hub name, refuse the pod), command, args, workDir
    (from workingDir), env (a JSON object of strings: Zun stores it as
    the container's environment),
    ports (``containerPort`` and ``protocol`` TCP or UDP; Zun drops names
    and refuses SCTP; hostPort/hostIP refuse the pod), imagePullPolicy,
    tty, stdin. Zun appends ``args`` to ``command`` and runs the result as
    the engine's CMD: it cannot replace an image's ENTRYPOINT, so a pod
    that sets ``command`` gets a warning. ``$(VAR)`` references in env
    values, command and args are expanded here the way the kubelet does,
    since neither Zun nor the engine knows that syntax.

Environment
    Resolved by pod_env (env, envFrom, fieldRef, resourceFieldRef and
    Service variables, with the kubelet's ``$(VAR)`` expansion) before
    the translation, which takes the result as ``resolved_env``. With
    the companion and agents (``host_volumes``), values from Secrets are
    left out of the template for the host (secret_env).

Volumes
    See pod_volumes: Cinder volumes in the capsule template; configMap,
    secret, downwardAPI, projected and emptyDir on the compute host when
    it runs the companion driver and host agent (``host_volumes``), with
    the plan in the capsule's ``zun-vk/volumes`` label; without them the
    service account token volume is dropped silently and the rest
    refuses the pod.

Refused (UnsupportedPod, naming every offending field)
    hostNetwork, hostPID, hostIPC, shareProcessNamespace, ephemeral
    containers, Windows pods, resource claims, unknown restartPolicy,
    privileged containers, added capabilities, Unmasked procMount,
    postStart hooks (the container would run without the setup it expects),
    sidecar init containers (restartPolicy Always: Zun waits for each init
    container to stop), volumeDevices, the volume rules of pod_volumes.

Accepted with a warning (returned in CapsuleRequest.warnings, for an Event)
    liveness/readiness/startup probes: Zun cannot run them, so a container
    counts as ready once it runs (as if it had no probe) and is never
    restarted for a failing probe; preStop hooks and stopSignal (not run
    at stop); securityContext settings that restrict the container
    (runAsUser, runAsNonRoot, readOnlyRootFilesystem, capabilities.drop,
    seccomp/SELinux/AppArmor profiles, sysctls, ...), since a capsule runs
    with the image's user and the engine's default profile; dnsConfig,
    hostAliases and subdomain without the companion and agents (with
    them the plan carries the kubelet's /etc/hosts), hostname without the
    companion driver (the
    capsule template carries no host name, /etc/hosts entries or DNS
    settings, so the containers get the engine's name for the sandbox,
    not the pod's name); command without the companion driver
    (ENTRYPOINT, see above). With it, the labels of companion_labels carry
    the pod's host name and which commands are ENTRYPOINTs;
    Cinder fsType (Zun uses its own ``[volume]fstype``).
"""

import dataclasses
import hashlib
import re

from zun_vk.translate import companion_labels
from zun_vk.translate import errors
from zun_vk.translate import pod_env
from zun_vk.translate import pod_volumes
from zun_vk.translate import quantity
from zun_vk.translate import secret_env
from zun_vk.zun_plugin import env_hints
from zun_vk.zun_plugin import volume_hints

LABEL_CLUSTER = 'zun-vk/cluster-id'
LABEL_NODE = 'zun-vk/node'
LABEL_NAMESPACE = 'zun-vk/namespace'
LABEL_POD_NAME = 'zun-vk/pod-name'
LABEL_POD_UID = 'zun-vk/pod-uid'

CAPSULE_NAME_PREFIX = 'k8s'
# Zun allows 255, minus the 19 characters it adds to name containers;
# 128 keeps names readable in CLI tables and far from that limit.
CAPSULE_NAME_MAX_LEN = 128
ZUN_NAME_PATTERN = re.compile(r'[a-zA-Z0-9][a-zA-Z0-9_.-]+')
# Zun's image_name schema: 2 to 255 characters holding this pair somewhere.
ZUN_IMAGE_PATTERN = re.compile(r'[a-zA-Z0-9][a-zA-Z0-9_.-]')
ZUN_IMAGE_MAX_LEN = 255

RESTART_POLICIES = ('Always', 'OnFailure', 'Never')
SERVICE_ACCOUNT_MOUNT = pod_volumes.SERVICE_ACCOUNT_MOUNT

_NAME_UNSAFE = re.compile(r'[^a-z0-9_.-]+')
_HEX = re.compile(r'[0-9a-f]')
_PROBES = ('livenessProbe', 'readinessProbe', 'startupProbe')
_POD_SECURITY_WARN = (
    'runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup',
    'fsGroupChangePolicy', 'supplementalGroups', 'supplementalGroupsPolicy',
    'seccompProfile', 'seLinuxOptions', 'seLinuxChangePolicy',
    'appArmorProfile', 'sysctls')
_CONTAINER_SECURITY_WARN = (
    'runAsUser', 'runAsGroup', 'runAsNonRoot', 'readOnlyRootFilesystem',
    'allowPrivilegeEscalation', 'seccompProfile', 'seLinuxOptions',
    'appArmorProfile')
# Zun 18's capsule template has no hostname, /etc/hosts or DNS field
# (zun/api/controllers/v1/capsules.py reads only the name, labels and
# annotations of its metadata): the engine names the capsule's sandbox.
# With the companion driver the sandbox gets the pod's host name; the
# domain of subdomain still has nowhere to go.
_HOSTNAME_WARN = (
    "a Zun capsule cannot be given a host name without zun-vk's companion "
    'driver ([zun]companion_driver), so its containers see the name the '
    "container engine gives the capsule; read the pod's name from a "
    'fieldRef to metadata.name instead')
# With the companion and agents (host_volumes), /etc/hosts is the
# kubelet's, with the subdomain and hostAliases (the plan's "h").
_ETC_HOSTS_FIELDS = ('subdomain', 'hostAliases')
_POD_FIELDS_WARN = (
    (('setHostnameAsFQDN',),
     "a Zun capsule's host name carries no domain"),
    (('subdomain',),
     "a Zun capsule's /etc/hosts carries no domain without zun-vk's "
     'companion driver and agent ([zun]companion_driver, [host_agents])'),
    (('hostAliases',),
     "a Zun capsule's /etc/hosts is written by the container engine and "
     "gets no extra entries without zun-vk's companion driver and agent "
     '([zun]companion_driver, [host_agents]); add them in the container '
     'command or use DNS names'),
    (('dnsConfig',),
     'a Zun capsule uses the DNS servers of its Neutron subnet; ask the '
     "operator to set them on the subnet (openstack subnet set "
     '--dns-nameserver)'),
)
_PROTOCOLS = ('TCP', 'UDP')


@dataclasses.dataclass(frozen=True)
class CapsuleDefaults:
    """Settings the translation needs (from zun-vk's configuration).

    cpu and memory_mb apply to a container whose pod gives neither a limit
    nor a request. min_*/max_* mirror Zun's ``[DEFAULT]minimum_cpus``,
    ``minimum_memory``, ``maximum_cpus`` and ``maximum_memory`` (None: no
    upper check here, Zun still enforces its own).
    """

    cpu: float = 1.0
    memory_mb: int = 512
    availability_zone: str = None
    min_cpu: float = 0.1
    min_memory_mb: int = 4
    max_cpu: float = None
    max_memory_mb: int = None
    # Disk emptyDirs as Cinder volumes of at least this size
    # ([zun]empty_dir_cinder_size_gb).
    empty_dir_cinder_size_gb: int = None
    # The compute hosts run the companion driver ([zun]companion_driver).
    companion_driver: bool = False
    # ... and the host agent too ([host_agents]): pod volumes on the host.
    host_volumes: bool = False
    # [node]cluster_domain: the domain of a subdomain in /etc/hosts.
    cluster_domain: str = 'cluster.local'


@dataclasses.dataclass(frozen=True)
class CapsuleRequest:
    """A capsule template plus warnings worth an Event on the pod.

    secret_files is (volume, {path: (bytes, mode)}) of the secret
    variables (secret_env), for the host; never for Zun, nor a log.
    """

    template: dict
    warnings: tuple = ()
    secret_files: tuple = dataclasses.field(default=None, repr=False)


def capsule_name(namespace, name, uid):
    """Deterministic, Zun-valid capsule name for one pod (by UID)."""
    suffix = _uid_tag(uid)
    middle = '%s-%s' % (namespace or '', name or '')
    middle = _NAME_UNSAFE.sub('-', middle.lower()).strip('-')
    room = CAPSULE_NAME_MAX_LEN - len(CAPSULE_NAME_PREFIX) - len(suffix) - 2
    middle = middle[:room].rstrip('-_.')
    parts = [CAPSULE_NAME_PREFIX] + ([middle] if middle else []) + [suffix]
    return '-'.join(parts)


def _uid_tag(uid):
    digits = ''.join(_HEX.findall(str(uid or '').lower()))
    if len(digits) < 8:
        digits = hashlib.sha256(str(uid or '').encode()).hexdigest()
    return digits[:8]


def zun_vk_labels(cluster_id, node_name, namespace, pod_name, pod_uid):
    """The labels that tie a capsule to its cluster, node and pod."""
    return {
        LABEL_CLUSTER: str(cluster_id),
        LABEL_NODE: str(node_name),
        LABEL_NAMESPACE: str(namespace),
        LABEL_POD_NAME: str(pod_name),
        LABEL_POD_UID: str(pod_uid),
    }


# --- pod -> capsule ------------------------------------------------------

def pod_to_capsule(pod, *, cluster_id, node_name, resolved_env, defaults):
    """Build the capsule template for a pod.

    resolved_env is pod_env.resolve_env()'s result, or None when the caller has
    not resolved anything: then only literal env values are allowed and
    any valueFrom or envFrom raises ValueError. Raises UnsupportedPod
    listing every field Zun cannot honour. Returns a CapsuleRequest.
    """
    defaults = defaults if defaults is not None else CapsuleDefaults()
    meta = _meta(pod)
    spec = pod.get('spec') or {}
    problems = []
    warnings = []

    _check_pod(spec, defaults, problems, warnings)
    restart_policy = spec.get('restartPolicy') or 'Always'
    if restart_policy not in RESTART_POLICIES:
        problems.append((
            'spec.restartPolicy',
            "'%s' is not a restart policy Zun knows; use Always, OnFailure "
            'or Never' % restart_policy))
    volumes = pod_volumes.pod_volumes(spec, defaults, problems, warnings)

    built = {'initContainers': [], 'containers': []}
    mounted = set()
    host_mounts = {}
    secret_files = {}
    config_errors = []
    for kind, letter in (('initContainers', 'i'), ('containers', 'c')):
        for index, container in enumerate(spec.get(kind) or []):
            path = 'spec.%s[%d]' % (kind, index)
            zun_container, host, secret_file = _container(
                path, kind, container, resolved_env, defaults, volumes,
                mounted, problems, warnings, config_errors)
            built[kind].append(zun_container)
            if host:
                host_mounts[(letter, index)] = host
            if secret_file is not None:
                secret_files[(letter, index)] = secret_file
    if not built['containers']:
        problems.append(('spec.containers',
                         'a pod needs at least one container'))
    if problems:
        raise errors.UnsupportedPod.from_problems(problems)
    if config_errors:
        raise config_errors[0]

    labels = dict(meta.get('labels') or {})
    labels.update(zun_vk_labels(cluster_id, node_name,
                                meta.get('namespace'), meta.get('name'),
                                meta.get('uid')))
    if defaults.companion_driver:
        labels.update(companion_labels.labels(pod))
    env_volume = env_hints.volume_name(volumes.declared) if (
        secret_files) else None
    plan = pod_volumes.plan_label(
        volumes, host_mounts, env_volume,
        pod_volumes.termination_files(spec) if defaults.host_volumes
        else None,
        companion_labels.etc_hosts(pod, defaults.cluster_domain)
        if defaults.host_volumes else None)
    if plan:
        labels[volume_hints.VOLUMES_LABEL] = plan
    capsule_spec = {
        'containers': built['containers'],
        'initContainers': built['initContainers'],
        'restartPolicy': restart_policy,
    }
    used_volumes = [v for v in volumes.cinder.values()
                    if v['name'] in mounted]
    if used_volumes:
        capsule_spec['volumes'] = used_volumes
    template = {
        'kind': 'capsule',
        'metadata': {
            'name': capsule_name(meta.get('namespace'), meta.get('name'),
                                 meta.get('uid')),
            'labels': labels,
            'annotations': dict(meta.get('annotations') or {}),
        },
        'spec': capsule_spec,
    }
    if defaults.availability_zone:
        template['availabilityZone'] = defaults.availability_zone
    return CapsuleRequest(template, tuple(warnings), (
        env_volume, secret_env.volume_files(secret_files))
        if env_volume else None)


def _check_pod(spec, defaults, problems, warnings):
    for field, what in (
            ('hostNetwork', 'Zun capsules run in their own network '
             'namespace; host networking is not supported'),
            ('hostPID', 'Zun capsules cannot share the host process '
             'namespace'),
            ('hostIPC', 'Zun capsules cannot share the host IPC namespace'),
            ('shareProcessNamespace', 'Zun does not share one process '
             'namespace between the containers of a capsule')):
        if spec.get(field):
            problems.append(('spec.' + field, what))
    if spec.get('ephemeralContainers'):
        problems.append(('spec.ephemeralContainers',
                         'ephemeral (debug) containers cannot be added to a '
                         'Zun capsule'))
    if ((spec.get('os') or {}).get('name') or 'linux') != 'linux':
        problems.append(('spec.os.name',
                         'Zun capsules run Linux containers only'))
    if spec.get('resourceClaims'):
        problems.append(('spec.resourceClaims',
                         'dynamic resource allocation is not available to '
                         'Zun capsules'))
    security = spec.get('securityContext') or {}
    ignored = [f for f in _POD_SECURITY_WARN if security.get(f)]
    if ignored:
        warnings.append(
            'spec.securityContext: %s cannot be applied by Zun; the '
            "containers run as the image's user with the container "
            "engine's default profile." % ', '.join(ignored))
    if spec.get('hostUsers') is False:
        warnings.append('spec.hostUsers: Zun capsules do not use user '
                        'namespaces; the setting is ignored.')
    if spec.get('hostname') and not defaults.companion_driver:
        warnings.append('spec.hostname: ignored; %s.' % _HOSTNAME_WARN)
    for fields, why in _POD_FIELDS_WARN:
        ignored = ['spec.' + f for f in fields if spec.get(f) and not (
            defaults.host_volumes and f in _ETC_HOSTS_FIELDS)]
        if ignored:
            warnings.append('%s: ignored; %s.' % (', '.join(ignored), why))
    if spec.get('resources'):
        warnings.append('spec.resources: pod-level resources are ignored; '
                        'Zun sizes a capsule from its containers.')


def _container(path, kind, container, resolved_env, defaults, volumes,
               mounted, problems, warnings, config_errors):
    """(Zun container, host mounts, secret variables file) of a container."""
    name = container.get('name') or ''
    _check_container(path, kind, container, problems, warnings)
    env, secret = _container_env(path, container, resolved_env)
    split = secret_env.split(path, container, env, secret,
                             defaults.host_volumes, problems, warnings)
    result = {}
    if ZUN_NAME_PATTERN.fullmatch(name):
        # Zun validates but then replaces the name; a one-letter
        # Kubernetes name would fail that validation, so it is left out.
        result['name'] = name
    result['image'] = container.get('image') or ''
    if not result['image']:
        problems.append((path + '.image', 'an image is required'))
    elif not _zun_image_name(result['image']):
        problems.append((path + '.image', _IMAGE_NAME))
    for field in ('command', 'args'):
        if getattr(split, field):
            result[field] = getattr(split, field)
    if container.get('command') and not defaults.companion_driver:
        warnings.append(
            "%s.command: if the image defines an ENTRYPOINT, Zun keeps it "
            'and passes the command to it as arguments; use an image '
            'without an ENTRYPOINT if the command must run as given '
            '(or install zun-vk\'s companion driver on the compute hosts '
            'and set [zun]companion_driver).' % path)
    if container.get('workingDir'):
        result['workDir'] = container['workingDir']
    if split.env:
        result['env'] = split.env
    ports = _ports(path, container, problems)
    if ports:
        result['ports'] = ports
    if container.get('imagePullPolicy'):
        result['imagePullPolicy'] = container['imagePullPolicy']
    for field, zun_field in (('tty', 'tty'), ('stdin', 'stdin')):
        if container.get(field):
            result[zun_field] = True
    result['resources'] = {
        'requests': _resources(path, container, defaults, problems,
                               warnings)}
    mounts, host_mounts = pod_volumes.container_mounts(
        path, container, volumes, env, problems, config_errors)
    if mounts:
        result['volumeMounts'] = mounts
        mounted.update(m['name'] for m in mounts)
    return result, host_mounts, split.secret_file


_IMAGE_NAME = (
    'Zun takes image names of 2 to %d characters with a letter or digit '
    "followed by a letter, digit, '_', '.' or '-'; write a one-letter "
    'Docker Hub name in full (docker.io/library/<name>)' % ZUN_IMAGE_MAX_LEN)


def _zun_image_name(image):
    return (2 <= len(image) <= ZUN_IMAGE_MAX_LEN and
            ZUN_IMAGE_PATTERN.search(image) is not None)


def _check_container(path, kind, container, problems, warnings):
    security = container.get('securityContext') or {}
    if security.get('privileged'):
        problems.append((path + '.securityContext.privileged',
                         'Zun capsules cannot run privileged containers'))
    if (security.get('capabilities') or {}).get('add'):
        problems.append((path + '.securityContext.capabilities.add',
                         'Zun capsules cannot add Linux capabilities'))
    if security.get('procMount') not in (None, 'Default'):
        problems.append((path + '.securityContext.procMount',
                         'Zun capsules always use the default /proc mask'))
    if (security.get('windowsOptions') or {}).get('hostProcess'):
        problems.append((path + '.securityContext.windowsOptions',
                         'Zun capsules run Linux containers only'))
    ignored = [f for f in _CONTAINER_SECURITY_WARN
               if security.get(f) is not None]
    if (security.get('capabilities') or {}).get('drop'):
        ignored.append('capabilities.drop')
    if ignored:
        warnings.append(
            '%s.securityContext: %s cannot be applied by Zun; the '
            "container runs as the image's user with the container "
            "engine's default profile." % (path, ', '.join(ignored)))
    lifecycle = container.get('lifecycle') or {}
    if lifecycle.get('postStart'):
        problems.append((path + '.lifecycle.postStart',
                         'Zun cannot run lifecycle hooks; run the setup in '
                         'the container command or an init container'))
    for hook in ('preStop', 'stopSignal'):
        if lifecycle.get(hook):
            warnings.append('%s.lifecycle.%s: Zun cannot run it; the '
                            'container is stopped without it.' % (path, hook))
    probes = [p for p in _PROBES if container.get(p)]
    if probes:
        warnings.append(
            '%s: %s not run by Zun; the container counts as ready once it '
            'runs and is never restarted for a failing probe.'
            % (path, ', '.join(probes) + (' are' if len(probes) > 1
                                          else ' is')))
    if container.get('volumeDevices'):
        problems.append((path + '.volumeDevices',
                         'Zun capsules cannot attach raw block devices'))
    if kind == 'initContainers' and container.get('restartPolicy'):
        problems.append((path + '.restartPolicy',
                         'sidecar init containers are not supported: Zun '
                         'waits for each init container to stop before '
                         'starting the next'))
    elif kind == 'containers' and (container.get('restartPolicy') or
                                   container.get('restartPolicyRules')):
        problems.append((path + '.restartPolicy',
                         'per-container restart policies are not '
                         'supported; Zun applies the pod restartPolicy'))


def _container_env(path, container, resolved_env):
    """(env dict, {name: flags} as secret_env.split takes them)."""
    name = container.get('name')
    if resolved_env is not None and name in resolved_env:
        return ({var['name']: '' if var.get('value') is None
                 else str(var['value']) for var in resolved_env[name]},
                {var['name']: {f for f in ('secret', 'late') if var.get(f)}
                 for var in resolved_env[name]})
    if container.get('envFrom'):
        raise ValueError('%s.envFrom needs resolve_env() first' % path)
    env = {}
    for index, var in enumerate(container.get('env') or []):
        if var.get('valueFrom') is not None:
            raise ValueError('%s.env[%d].valueFrom needs resolve_env() first'
                             % (path, index))
        if var.get('name'):
            env[var['name']] = pod_env.expand_references(
                var.get('value') or '', env)
    return env, {}


def _ports(path, container, problems):
    ports = []
    for index, port in enumerate(container.get('ports') or []):
        port_path = '%s.ports[%d]' % (path, index)
        protocol = port.get('protocol') or 'TCP'
        if protocol not in _PROTOCOLS:
            problems.append((port_path + '.protocol',
                             'Zun capsules expose TCP and UDP ports only'))
            continue
        if port.get('hostPort'):
            problems.append((port_path + '.hostPort',
                             'Zun capsules have their own IP address and '
                             'cannot bind ports on a host; use containerPort '
                             'and the pod IP'))
            continue
        if port.get('hostIP'):
            problems.append((port_path + '.hostIP',
                             'Zun capsules cannot bind host addresses'))
            continue
        entry = {'containerPort': int(port['containerPort']),
                 'protocol': protocol}
        if entry not in ports:
            ports.append(entry)
    return ports


def _resources(path, container, defaults, problems, warnings):
    resources = container.get('resources') or {}
    limits = resources.get('limits') or {}
    requests = resources.get('requests') or {}
    res_path = path + '.resources'
    for section, values in (('limits', limits), ('requests', requests)):
        for name in values:
            if name == 'ephemeral-storage':
                warnings.append('%s.%s.ephemeral-storage: ignored; Zun does '
                                'not limit container disk per pod.'
                                % (res_path, section))
            elif name not in ('cpu', 'memory'):
                problems.append(('%s.%s.%s' % (res_path, section, name),
                                 'Zun capsules offer cpu and memory only'))
    if resources.get('claims'):
        problems.append((res_path + '.claims',
                         'dynamic resource allocation is not available to '
                         'Zun capsules'))
    requested = {}
    for name, default, convert, low, high, unit in (
            ('cpu', defaults.cpu, quantity.cpu_cores, defaults.min_cpu,
             defaults.max_cpu, 'cores'),
            ('memory', defaults.memory_mb, quantity.memory_mib,
             defaults.min_memory_mb, defaults.max_memory_mb, 'MiB')):
        if name in limits:
            source, raw = 'limits', limits[name]
        elif name in requests:
            source, raw = 'requests', requests[name]
        else:
            source, raw = None, None
        field = ('%s.%s.%s' % (res_path, source, name) if source
                 else res_path)
        try:
            value = default if source is None else convert(raw)
        except ValueError as exc:
            problems.append((field, str(exc)))
            continue
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            problems.append((field, '%s %s is more than the %s %s Zun '
                             'allows per container; lower it' % (
                                 value, unit, high, unit)))
        requested[name] = float(value) if name == 'cpu' else int(value)
    return requested


def _meta(pod):
    return pod.get('metadata') or {}
