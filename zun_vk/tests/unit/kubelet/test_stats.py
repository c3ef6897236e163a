import datetime

from zun_vk.kubelet import stats

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC)


def pod(name, uid, containers):
    return {'metadata': {'name': name, 'namespace': 'ns', 'uid': uid},
            'spec': {'containers': [{'name': c} for c in containers]},
            'status': {'startTime': '2026-01-01T00:00:00Z'}}


def capsule(uuid, pod_uid, members):
    return {'uuid': uuid, 'labels': {'zun-vk/pod-uid': pod_uid},
            'containers': [{'name': 'capsule-x-%d' % i, 'uuid': m}
                           for i, m in enumerate(members)]}


STARTED = datetime.datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def sample(cpu_s, memory):
    return {'cpu_usage_core_nanoseconds': int(cpu_s * 1e9),
            'memory_working_set_bytes': memory,
            'memory_usage_bytes': memory + 100, 'start_time': STARTED}


PODS = [pod('web', 'u1', ['app', 'side']), pod('idle', 'u2', ['app'])]
CAPSULES = [capsule('c1', 'u1', ['m1', 'm2']), capsule('c2', 'u2', ['m3']),
            capsule('c3', 'gone', ['m4'])]


def host(capsules):
    return {'capsules': {uuid: {'containers': members}
                         for uuid, members in capsules.items()}}


BY_HOST = {'h1': host({'c1': {'m1': sample(6, 1000), 'm2': sample(3, 500)},
                       'c3': {'m4': sample(1, 1)}}),
           'h2': host({'c2': {'m3': sample(0.5, 10)}})}


def test_samples_match_members_to_spec_names():
    found = sorted((p['metadata']['name'], name) for p, name, _ in
                   stats.samples(PODS, CAPSULES, BY_HOST))
    assert found == [('idle', 'app'), ('web', 'app'), ('web', 'side')]


def test_summary_sums_pods_and_node_and_rates_cpu():
    previous = {}
    result = stats.summary('zun-vk-1', PODS, CAPSULES, BY_HOST, previous,
                           NOW)
    assert result['node']['nodeName'] == 'zun-vk-1'
    assert result['node']['cpu']['usageCoreNanoSeconds'] == int(9.5e9)
    assert result['node']['memory']['workingSetBytes'] == 1510
    web = [p for p in result['pods'] if p['podRef']['name'] == 'web'][0]
    assert web['podRef'] == {'name': 'web', 'namespace': 'ns', 'uid': 'u1'}
    assert web['memory']['workingSetBytes'] == 1500
    app = web['containers'][0]
    assert app['name'] == 'app'
    assert app['startTime'] == '2026-01-01T00:00:00Z'
    # 6 s of CPU over the 60 s since the container started: 0.1 core.
    assert app['cpu']['usageNanoCores'] == 100000000
    # The next sample rates against this one.
    later = NOW + datetime.timedelta(seconds=10)
    busy = {'h1': host({'c1': {'m1': sample(11, 1000),
                               'm2': sample(3, 500)}})}
    result = stats.summary('zun-vk-1', PODS, CAPSULES, busy, previous,
                           later)
    web = result['pods'][0]
    assert web['containers'][0]['cpu']['usageNanoCores'] == 500000000
    assert web['containers'][1]['cpu']['usageNanoCores'] == 0


def test_resource_metrics_have_the_names_metrics_server_reads():
    text = stats.resource_metrics(PODS, CAPSULES, BY_HOST, NOW)
    stamp = int(NOW.timestamp() * 1000)
    assert ('container_cpu_usage_seconds_total{container="app",'
            'namespace="ns",pod="web"} 6.0 %d' % stamp) in text
    assert ('container_memory_working_set_bytes{container="side",'
            'namespace="ns",pod="web"} 500 %d' % stamp) in text
    assert 'container_start_time_seconds{container="app"' in text
    assert 'node_cpu_usage_seconds_total 9.5 %d' % stamp in text
    assert 'node_memory_working_set_bytes 1510 %d' % stamp in text
    assert 'pod_memory_working_set_bytes{namespace="ns",pod="web"} 1500' \
        in text
    assert '# TYPE container_cpu_usage_seconds_total counter' in text
    assert 'scrape_error 0' in text
    assert 'gone' not in text


def test_label_values_are_escaped():
    assert stats._labels(pod='a"b\\c') == '{pod="a\\"b\\\\c"}'
