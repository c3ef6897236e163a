"""The capsule labels that tell zun-vk's companion driver what Zun cannot.

Zun's capsule template has no host name and merges command with args;
on compute hosts that run the companion ([zun]companion_driver) these
labels carry the pod's host name and which commands are ENTRYPOINTs
(the contract is zun_plugin/capsule_hints).
"""

from zun_vk.zun_plugin import capsule_hints

HOSTNAME_MAX_LEN = 63


def labels(pod):
    """The companion's labels of a pod's capsule."""
    spec = pod.get('spec') or {}
    out = {capsule_hints.HOSTNAME_LABEL: pod_hostname(pod)}
    lengths = entrypoints(spec)
    if lengths:
        out[capsule_hints.ENTRYPOINT_LABEL] = lengths
    return out


def pod_hostname(pod):
    """The host name the kubelet gives a pod's containers.

    spec.hostname when set, else the pod's name cut to 63 characters
    without a trailing '-' or '.' (GeneratePodHostNameAndDomain).
    """
    spec = pod.get('spec') or {}
    if spec.get('hostname'):
        return spec['hostname']
    name = (pod.get('metadata') or {}).get('name') or ''
    if len(name) > HOSTNAME_MAX_LEN:
        name = name[:HOSTNAME_MAX_LEN].rstrip('-.')
    return name


def entrypoints(spec):
    """The label telling the companion which commands are ENTRYPOINTs."""
    lengths = {}
    for kind, zun_kind in (('containers', 'containers'),
                           ('initContainers', 'init_containers')):
        for index, container in enumerate(spec.get(kind) or []):
            if container.get('command'):
                lengths[(capsule_hints.KINDS[zun_kind], index)] = len(
                    container['command'])
    return capsule_hints.format_entrypoints(lengths)


def etc_hosts(pod, cluster_domain):
    """The plan's /etc/hosts (volume_hints' ``h``), as the kubelet's.

    The domain is <subdomain>.<namespace>.svc.<cluster domain> for a pod
    with spec.subdomain (GeneratePodHostNameAndDomain).
    """
    spec = pod.get('spec') or {}
    namespace = (pod.get('metadata') or {}).get('namespace') or 'default'
    domain = ''
    if spec.get('subdomain'):
        domain = '%s.%s.svc.%s' % (spec['subdomain'], namespace,
                                   cluster_domain)
    return {'n': pod_hostname(pod), 'd': domain,
            'a': [[alias.get('ip') or '', list(alias.get('hostnames') or [])]
                  for alias in spec.get('hostAliases') or []]}
