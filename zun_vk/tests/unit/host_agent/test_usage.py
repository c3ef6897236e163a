"""Usage figures the kubelet's resource metrics need."""

import pytest

from zun_vk.host_agent import hijack
from zun_vk.host_agent import usage


@pytest.mark.parametrize('memory,expected', [
    ({'usage': 1000, 'stats': {'total_inactive_file': 300,
                               'inactive_file': 999}}, 700),   # cgroup v1
    ({'usage': 1000, 'stats': {'inactive_file': 400}}, 600),   # cgroup v2
    ({'usage': 1000}, 1000),                                   # podman v1
    ({'usage': 100, 'stats': {'inactive_file': 400}}, 0),
    ({}, 0),
])
def test_working_set(memory, expected):
    assert usage.working_set(memory) == expected


def test_container_usage():
    stats = {'read': '2026-12-01T21:42:50.074891767Z',
             'cpu_stats': {'cpu_usage': {'total_usage': 40228031}},
             'memory_stats': {'usage': 724992, 'limit': 25276502016}}
    assert usage.container_usage(stats) == {
        'cpu_usage_core_nanoseconds': 40228031,
        'memory_usage_bytes': 724992,
        'memory_working_set_bytes': 724992,
        'timestamp': pytest.approx(1796161370.074891767)}


def test_container_usage_of_empty_stats_is_zero():
    assert usage.container_usage({})['cpu_usage_core_nanoseconds'] == 0


PROC_STAT = '''cpu  100 20 30 5000 40 5 6 7 8 9
cpu0 50 10 15 2500 20 2 3 3 4 4
intr 1234
btime 1700000000
'''


def test_host_cpu_counts_busy_time_only():
    # user+nice+system+irq+softirq+steal = 100+20+30+5+6+7 ticks
    assert usage.host_cpu_nanoseconds(PROC_STAT, 100) == 168 * 10000000
    assert usage.host_boot_time(PROC_STAT) == 1700000000


def test_host_cpu_needs_the_cpu_line():
    with pytest.raises(ValueError):
        usage.host_cpu_nanoseconds('intr 1\n', 100)


@pytest.mark.parametrize('meminfo,expected', [
    ('MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\n',
     (1024000, 614400, 409600)),
    ('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n',
     (1024000, 409600, 614400)),
])
def test_host_memory(meminfo, expected):
    result = usage.host_memory(meminfo)
    assert (result['memory_total_bytes'], result['memory_available_bytes'],
            result['memory_working_set_bytes']) == expected


def test_host_usage_reads_proc(tmp_path):
    (tmp_path / 'stat').write_text(PROC_STAT)
    (tmp_path / 'meminfo').write_text('MemTotal: 10 kB\nMemAvailable: 4 kB\n')
    result = usage.host_usage(str(tmp_path))
    assert result['cpu_usage_core_nanoseconds'] > 0
    assert result['memory_working_set_bytes'] == 6 * 1024


def engine_frame(stream, payload):
    return hijack.ENGINE_HEADER.pack(stream, len(payload)) + payload


@pytest.mark.parametrize('split', [1, 3, 8, 9, 1000])
def test_demuxer_keeps_the_order_written(split):
    data = (engine_frame(1, b'out 1\n') + engine_frame(2, b'err 1\n') +
            engine_frame(1, b'') + engine_frame(1, b'out 2\n'))
    demuxer = hijack.Demuxer()
    frames = []
    for i in range(0, len(data), split):
        frames.extend(demuxer.feed(data[i:i + split]))
    assert frames == [(1, b'out 1\n'), (2, b'err 1\n'), (1, b'out 2\n')]


def test_demuxer_refuses_unknown_streams():
    with pytest.raises(hijack.EngineStreamError):
        hijack.Demuxer().feed(b'\x07\x00\x00\x00\x00\x00\x00\x01x')
