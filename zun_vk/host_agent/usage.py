"""CPU and memory figures of containers and of the host, from raw data.

Pure functions: the engine's stats JSON and the text of /proc files go
in, the numbers the kubelet's resource metrics need come out (cumulative
CPU nanoseconds, memory working set).
"""

import os

from zun_vk import timestamps


def working_set(memory_stats):
    """usage minus inactive file cache, as the kubelet counts it.

    cgroup v1 engines report total_inactive_file, cgroup v2 ones
    inactive_file; some (podman on cgroup v1) report neither, and then
    the working set is the usage.
    """
    usage = memory_stats.get('usage') or 0
    stats = memory_stats.get('stats') or {}
    inactive = stats.get('total_inactive_file')
    if inactive is None:
        inactive = stats.get('inactive_file')
    inactive = inactive or 0
    return usage - inactive if inactive < usage else 0


def container_usage(stats):
    """The figures of one container's one-shot engine stats."""
    cpu = ((stats.get('cpu_stats') or {}).get('cpu_usage') or {})
    memory = stats.get('memory_stats') or {}
    return {
        'cpu_usage_core_nanoseconds': int(cpu.get('total_usage') or 0),
        'memory_usage_bytes': int(memory.get('usage') or 0),
        'memory_working_set_bytes': int(working_set(memory)),
        'timestamp': timestamps.engine_seconds(stats.get('read')),
    }


_CPU_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)   # user nice system irq softirq steal


def host_cpu_nanoseconds(proc_stat, clock_ticks):
    """Busy CPU time of the whole host from /proc/stat, in ns.

    Idle and iowait are not busy; guest time is already in user.
    """
    for line in proc_stat.splitlines():
        fields = line.split()
        if fields and fields[0] == 'cpu':
            values = [int(v) for v in fields[1:]]
            busy = sum(values[i] for i in _CPU_BUSY_FIELDS
                       if i < len(values))
            return busy * 1000000000 // clock_ticks
    raise ValueError('/proc/stat has no "cpu" line')


def host_boot_time(proc_stat):
    for line in proc_stat.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == 'btime':
            return int(fields[1])
    return None


def host_memory(meminfo):
    """Total, available and working-set bytes from /proc/meminfo.

    The working set is what is not available (MemTotal - MemAvailable):
    memory in use that the kernel cannot simply drop.
    """
    values = {}
    for line in meminfo.splitlines():
        name, sep, rest = line.partition(':')
        if sep:
            parts = rest.split()
            if parts:
                scale = 1024 if len(parts) > 1 and parts[1] == 'kB' else 1
                values[name.strip()] = int(parts[0]) * scale
    total = values.get('MemTotal', 0)
    available = values.get('MemAvailable')
    if available is None:
        available = (values.get('MemFree', 0) + values.get('Buffers', 0)
                     + values.get('Cached', 0))
    return {
        'memory_total_bytes': total,
        'memory_available_bytes': available,
        'memory_working_set_bytes': max(0, total - available),
    }


def _read(path):
    with open(path) as f:
        return f.read()


def host_usage(proc='/proc'):
    """The host's own figures for node_* metrics."""
    proc_stat = _read(os.path.join(proc, 'stat'))
    result = {
        'cpu_usage_core_nanoseconds': host_cpu_nanoseconds(
            proc_stat, os.sysconf('SC_CLK_TCK')),
        'boot_time': host_boot_time(proc_stat),
    }
    result.update(host_memory(_read(os.path.join(proc, 'meminfo'))))
    return result
