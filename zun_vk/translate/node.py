"""The virtual node's labels, taints, capacity and conditions (pure)."""

from zun_vk.conf import validate

ZONE_LABEL = 'topology.kubernetes.io/zone'
# Zun reports quota -1 for "unlimited".
UNLIMITED = -1


def node_labels(node_name, extra, operating_system, architecture,
                availability_zone=None):
    labels = {
        'type': 'virtual-kubelet',
        'kubernetes.io/role': 'agent',
        'kubernetes.io/hostname': node_name,
        'kubernetes.io/os': operating_system,
        'kubernetes.io/arch': architecture,
        'beta.kubernetes.io/os': operating_system,
        'beta.kubernetes.io/arch': architecture,
    }
    if availability_zone:
        labels[ZONE_LABEL] = availability_zone
    labels.update(extra or {})
    return labels


def configured_taints(taint_texts):
    return [validate.parse_taint(text) for text in taint_texts]


def merge_taints(existing, ours):
    """Our taints added to the node's, keeping everyone else's.

    A taint is identified by key and effect; ours replace a taint with the
    same identity so a changed value in the configuration is applied.
    """
    ours_keys = {(t['key'], t['effect']) for t in ours}
    merged = [t for t in (existing or [])
              if (t.get('key'), t.get('effect')) not in ours_keys]
    return merged + [dict(t) for t in ours]


def _positive(value):
    return value is not None and value != UNLIMITED and value > 0


def capacity(overrides, defaults, quotas=None, hosts=None):
    """Node capacity from configuration, Zun quotas and compute hosts.

    Precedence: a configured value wins; otherwise the smaller of the
    project quota and the compute hosts' total (a project can use neither
    more than its quota nor more than the hosts have); otherwise the
    configured default. Returns Kubernetes quantities as strings, and for
    each resource the source it came from.
    """
    quotas = quotas or {}
    host_cpus = host_memory = None
    if hosts:
        host_cpus = sum(float(h.get('cpus') or 0) for h in hosts) or None
        host_memory = sum(int(h.get('mem_total') or 0)
                          for h in hosts) or None

    def pick(override, quota, host_total, default):
        if override is not None:
            return override, 'configuration'
        candidates = []
        if _positive(quota):
            candidates.append((quota, 'quota'))
        if _positive(host_total):
            candidates.append((host_total, 'hosts'))
        if candidates:
            return min(candidates, key=lambda c: float(c[0]))
        return default, 'default'

    cpu, cpu_source = pick(overrides.get('cpu'), quotas.get('cpu'),
                           host_cpus, defaults['cpu'])
    memory, memory_source = pick(overrides.get('memory_mb'),
                                 quotas.get('memory'), host_memory,
                                 defaults['memory_mb'])
    pods, pods_source = pick(overrides.get('pods'), quotas.get('containers'),
                             None, defaults['pods'])
    result = {
        'cpu': _cpu_quantity(cpu),
        'memory': '%dMi' % int(memory),
        'pods': str(int(pods)),
    }
    sources = {'cpu': cpu_source, 'memory': memory_source,
               'pods': pods_source}
    return result, sources


def _cpu_quantity(value):
    if isinstance(value, str):
        return value
    millis = int(round(float(value) * 1000))
    if millis % 1000 == 0:
        return str(millis // 1000)
    return '%dm' % millis


def conditions(zun_ok, zun_reason, previous, now):
    """Node conditions; transition times kept while a status holds."""
    previous = {c.get('type'): c for c in (previous or [])}

    def condition(ctype, status, reason, message):
        old = previous.get(ctype) or {}
        transition = old.get('lastTransitionTime')
        if old.get('status') != status or not transition:
            transition = now
        return {'type': ctype, 'status': status, 'reason': reason,
                'message': message, 'lastHeartbeatTime': now,
                'lastTransitionTime': transition}

    if zun_ok:
        ready = condition('Ready', 'True', 'ZunAPIReady',
                          'The Zun API answers; pods can run.')
    else:
        ready = condition('Ready', 'False', 'ZunAPIUnavailable',
                          'The Zun API does not answer: %s' % zun_reason)
    return [
        ready,
        condition('MemoryPressure', 'False', 'ZunHasSufficientMemory',
                  'Memory is managed by Zun and its quotas.'),
        condition('DiskPressure', 'False', 'ZunHasNoDiskPressure',
                  'Disk is managed by Zun.'),
        condition('PIDPressure', 'False', 'ZunHasSufficientPID',
                  'Processes are managed by Zun.'),
        condition('NetworkUnavailable', 'False', 'ZunNetworkReady',
                  'Capsules get their network from Zun.'),
    ]


def comparable(status):
    """The part of a node status whose change must be posted at once."""
    conds = sorted((c['type'], c['status'], c.get('reason'), c.get('message'))
                   for c in status.get('conditions', []))
    return (conds, status.get('capacity'), status.get('allocatable'),
            status.get('addresses'), status.get('daemonEndpoints'),
            status.get('nodeInfo'))


def addresses(internal_ip, hostname=None):
    """status.addresses: a Hostname only when one that resolves is known.

    kube-apiserver dials the first address of its preferred types, and
    Hostname comes first by default: a node name that no resolver knows
    would break every "kubectl logs" and "exec".
    """
    result = [{'type': 'InternalIP', 'address': internal_ip}]
    if hostname:
        result.append({'type': 'Hostname', 'address': hostname})
    return result
