from zun_vk.translate import status_patch


def test_only_zun_vks_part_and_conditions_are_sent():
    status = {
        'phase': 'Running', 'reason': None, 'message': None,
        'qosClass': 'Burstable', 'nominatedNodeName': 'other',
        'conditions': [
            {'type': 'example.com/gate', 'status': 'True'},
            {'type': 'Initialized', 'status': 'True'},
            {'type': 'Ready', 'status': 'True', 'reason': None},
            {'type': 'ContainersReady', 'status': 'True'},
            {'type': 'PodScheduled', 'status': 'True'},
            {'type': 'DisruptionTarget', 'status': 'True'},
        ],
        'hostIP': '192.0.2.1',
        'podIP': '10.0.0.5', 'podIPs': [{'ip': '10.0.0.5'}],
        'startTime': '2026-01-01T00:00:00Z',
        'containerStatuses': [{'name': 'a'}],
    }
    patch = status_patch.strategic_merge_patch(
        status, {'podIPs': [{'ip': '10.0.0.4'}]})
    assert patch == {
        'phase': 'Running', 'reason': None, 'message': None,
        'conditions': [
            {'type': 'Initialized', 'status': 'True'},
            {'type': 'Ready', 'status': 'True', 'reason': None},
            {'type': 'ContainersReady', 'status': 'True'},
            {'type': 'PodScheduled', 'status': 'True'},
        ],
        'hostIP': '192.0.2.1',
        'podIP': '10.0.0.5',
        'podIPs': [{'ip': '10.0.0.5'}, {'$patch': 'replace'}],
        'startTime': '2026-01-01T00:00:00Z',
        'containerStatuses': [{'name': 'a'}],
    }
    # The status itself is left as it was.
    assert status['podIPs'] == [{'ip': '10.0.0.5'}]


def test_host_ips_are_replaced_whole_too():
    patch = status_patch.strategic_merge_patch(
        {'hostIP': '192.0.2.1', 'hostIPs': [{'ip': '192.0.2.1'}]},
        {'hostIPs': [{'ip': '192.0.2.9'}]})
    assert patch['hostIPs'] == [{'ip': '192.0.2.1'}, {'$patch': 'replace'}]


def test_nothing_to_say_about_conditions_sends_none():
    assert 'conditions' not in status_patch.strategic_merge_patch(
        {'phase': 'Pending', 'conditions': [{'type': 'mine'}]})


def test_no_directive_where_the_pod_has_no_list_yet():
    # The API server would keep the directive as an empty address.
    status = {'podIP': '10.0.0.5', 'podIPs': [{'ip': '10.0.0.5'}]}
    for current in (None, {}, {'podIPs': []}, {'podIP': ''}):
        assert status_patch.strategic_merge_patch(status, current)[
            'podIPs'] == [{'ip': '10.0.0.5'}]
