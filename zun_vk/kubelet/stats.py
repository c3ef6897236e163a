"""Container samples from the agents as the kubelet publishes them.

Pure. ``/stats/summary`` is the kubelet's statsapi v1alpha1 Summary;
``/metrics/resource`` the Prometheus text that metrics-server scrapes.
The virtual node's own figures are the sums over its pods, since the node
is nothing but its capsules.

An agent's stats (hostlink.client.AgentClient.stats) map capsule uuid ->
``containers`` -> member uuid -> sample, a sample holding
``cpu_usage_core_nanoseconds`` (cumulative), ``memory_working_set_bytes``,
``memory_usage_bytes`` and ``start_time`` (seconds since the epoch).
"""

import datetime

from zun_vk import timestamps
from zun_vk.translate import capsule_to_status
from zun_vk.translate import pod_to_capsule

_HELP = (
    ('container_cpu_usage_seconds_total', 'counter',
     'Cumulative cpu time consumed by the container in core-seconds'),
    ('container_memory_working_set_bytes', 'gauge',
     'Current working set of the container in bytes'),
    ('container_start_time_seconds', 'gauge',
     'Start time of the container since unix epoch in seconds'),
    ('node_cpu_usage_seconds_total', 'counter',
     'Cumulative cpu time consumed by the node in core-seconds'),
    ('node_memory_working_set_bytes', 'gauge',
     'Current working set of the node in bytes'),
    ('pod_cpu_usage_seconds_total', 'counter',
     'Cumulative cpu time consumed by the pod in core-seconds'),
    ('pod_memory_working_set_bytes', 'gauge',
     'Current working set of the pod in bytes'),
    ('scrape_error', 'gauge',
     '1 if there was an error while getting container metrics, 0 '
     'otherwise'),
)


def _kube_time(value):
    # The client's models serialize times as isoformat(); the API's
    # form is RFC 3339 with Z.
    if isinstance(value, str) and value.endswith('+00:00'):
        return value[:-len('+00:00')] + 'Z'
    return value


def _started(sample):
    when = sample.get('start_time')
    if not when:
        return None
    return datetime.datetime.fromtimestamp(float(when),
                                           datetime.timezone.utc)


def samples(pods, capsules, by_host):
    """[(pod, container name, sample)] for every running member found."""
    by_uid = {p['metadata']['uid']: p for p in pods}
    merged = {}
    for host_stats in by_host.values():
        merged.update((host_stats or {}).get('capsules') or {})
    result = []
    for capsule in capsules:
        labels = capsule.get('labels') or {}
        pod = by_uid.get(labels.get(pod_to_capsule.LABEL_POD_UID))
        members = (merged.get(capsule.get('uuid')) or {}).get('containers')
        if pod is None or not members:
            continue
        specs = (pod.get('spec') or {}).get('containers') or []
        pairs = capsule_to_status.match_containers(
            specs, capsule.get('containers') or [])
        for spec, member in pairs:
            sample = members.get((member or {}).get('uuid'))
            if sample:
                result.append((pod, spec.get('name'), sample))
    return result


def _cpu(sample, key, now, previous):
    """The Summary's CPUStats.

    usageNanoCores is the rate since the previous sample of the
    container (since its start the first time).
    """
    total = int(sample.get('cpu_usage_core_nanoseconds') or 0)
    since, base = previous.get(key, (None, None))
    if since is None:
        since, base = _started(sample), 0
    previous[key] = (now, total)
    rate = None
    if since is not None:
        elapsed = (now - since).total_seconds()
        if elapsed > 0 and total >= base:
            rate = int((total - base) / elapsed)
    stats = {'time': timestamps.rfc3339(now), 'usageCoreNanoSeconds': total}
    if rate is not None:
        stats['usageNanoCores'] = rate
    return stats


def _memory(sample, now):
    return {'time': timestamps.rfc3339(now),
            'workingSetBytes': int(sample.get('memory_working_set_bytes')
                                   or 0),
            'usageBytes': int(sample.get('memory_usage_bytes') or 0)}


def _add(total, part):
    for key, value in part.items():
        if key != 'time':
            total[key] = total.get(key, 0) + value
    return total


def summary(node_name, pods, capsules, by_host, previous, now):
    """The Summary; previous carries CPU samples from call to call."""
    pod_entries = {}
    node_cpu = {'time': timestamps.rfc3339(now), 'usageCoreNanoSeconds': 0}
    node_memory = {'time': timestamps.rfc3339(now), 'workingSetBytes': 0,
                   'usageBytes': 0}
    for pod, name, sample in samples(pods, capsules, by_host):
        meta = pod['metadata']
        entry = pod_entries.get(meta['uid'])
        if entry is None:
            entry = pod_entries[meta['uid']] = {
                'podRef': {'name': meta['name'],
                           'namespace': meta['namespace'],
                           'uid': meta['uid']},
                'startTime': _kube_time(
                    (pod.get('status') or {}).get('startTime')),
                'containers': [],
                'cpu': {'time': timestamps.rfc3339(now),
                        'usageCoreNanoSeconds': 0},
                'memory': {'time': timestamps.rfc3339(now),
                           'workingSetBytes': 0, 'usageBytes': 0}}
        cpu = _cpu(sample, (meta['uid'], name), now, previous)
        memory = _memory(sample, now)
        started = _started(sample)
        entry['containers'].append({
            'name': name,
            'startTime': timestamps.rfc3339(started) if started else None,
            'cpu': cpu, 'memory': memory})
        for total in (entry['cpu'], node_cpu):
            _add(total, cpu)
        for total in (entry['memory'], node_memory):
            _add(total, memory)
    return {'node': {'nodeName': node_name, 'cpu': node_cpu,
                     'memory': node_memory, 'systemContainers': []},
            'pods': list(pod_entries.values())}


def _labels(**labels):
    return '{%s}' % ','.join(
        '%s="%s"' % (k, str(v).replace('\\', '\\\\').replace('"', '\\"'))
        for k, v in sorted(labels.items()))


def resource_metrics(pods, capsules, by_host, now, scrape_error=False):
    """Prometheus text of /metrics/resource."""
    stamp = ' %d' % int(now.timestamp() * 1000)
    lines = {name: [] for name, _, _ in _HELP}
    node_cpu = node_memory = 0
    per_pod = {}
    for pod, name, sample in samples(pods, capsules, by_host):
        meta = pod['metadata']
        cpu = int(sample.get('cpu_usage_core_nanoseconds') or 0) / 1e9
        memory = int(sample.get('memory_working_set_bytes') or 0)
        labels = _labels(container=name, namespace=meta['namespace'],
                         pod=meta['name'])
        lines['container_cpu_usage_seconds_total'].append(
            '%s %s%s' % (labels, repr(cpu), stamp))
        lines['container_memory_working_set_bytes'].append(
            '%s %d%s' % (labels, memory, stamp))
        started = _started(sample)
        if started is not None:
            lines['container_start_time_seconds'].append(
                '%s %s%s' % (labels, repr(started.timestamp()), stamp))
        key = (meta['namespace'], meta['name'])
        pod_cpu, pod_memory = per_pod.get(key, (0, 0))
        per_pod[key] = (pod_cpu + cpu, pod_memory + memory)
        node_cpu += cpu
        node_memory += memory
    for (namespace, name), (cpu, memory) in sorted(per_pod.items()):
        labels = _labels(namespace=namespace, pod=name)
        lines['pod_cpu_usage_seconds_total'].append(
            '%s %s%s' % (labels, repr(cpu), stamp))
        lines['pod_memory_working_set_bytes'].append(
            '%s %d%s' % (labels, memory, stamp))
    lines['node_cpu_usage_seconds_total'].append(
        ' %s%s' % (repr(float(node_cpu)), stamp))
    lines['node_memory_working_set_bytes'].append(
        ' %d%s' % (node_memory, stamp))
    lines['scrape_error'].append(' %d' % (1 if scrape_error else 0))
    out = []
    for name, kind, text in _HELP:
        out.append('# HELP %s [ALPHA] %s' % (name, text))
        out.append('# TYPE %s %s' % (name, kind))
        out.extend(name + line for line in lines[name])
    return '\n'.join(out) + '\n'
