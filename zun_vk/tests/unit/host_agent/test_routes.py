"""Requests to the agent: which operation, which target, which options."""

import pytest

from zun_vk.host_agent import routes

C = '1111abcd-2222-3333-4444-555555555555'
M = '66666666-7777-8888-9999-000000000000'
MEMBER = '/v1/capsules/%s/containers/%s' % (C, M)


@pytest.mark.parametrize('method,target,expected', [
    ('GET', '/healthz', routes.Request('healthz')),
    ('GET', '/v1/stats', routes.Request('stats')),
    ('GET', '/v1/capsules/' + C, routes.Request('lookup', capsule=C)),
    ('GET', MEMBER + '/logs', routes.Request('logs', C, M)),
    ('GET', MEMBER + '/logs?follow=1&tail=10&since=1700000000.5&'
     'timestamps=true&limit_bytes=100',
     routes.Request('logs', C, M, follow=True, tail=10,
                    since=1700000000.5, timestamps=True, limit_bytes=100)),
    ('GET', MEMBER + '/logs?follow=0&tail=0',
     routes.Request('logs', C, M, tail=0)),
    ('POST', MEMBER + '/exec?command=sh&command=-c&command=echo+a%26b'
     '&stdin=1&tty=0',
     routes.Request('exec', C, M, command=('sh', '-c', 'echo a&b'),
                    stdin=True)),
    ('POST', MEMBER + '/attach?stdin=1&tty=1',
     routes.Request('attach', C, M, stdin=True, tty=True)),
    ('POST', '/v1/capsules/%s/portforward?port=8080' % C,
     routes.Request('portforward', C, port=8080)),
    ('PUT', '/v1/capsules/%s/volumes/kube-api-access-x1' % C,
     routes.Request('files', C, volume='kube-api-access-x1')),
    ('PUT', '/v1/capsules/%s/volumes/a' % C,
     routes.Request('files', C, volume='a')),
])
def test_parse(method, target, expected):
    assert routes.parse(method, target) == expected


@pytest.mark.parametrize('method,target,status,message', [
    ('GET', '/', 404, 'no such path'),
    ('GET', '/v1/capsules/../../etc', 404, 'no such path'),
    ('GET', '/v1/capsules/%s/containers/%s/logs' % (C.upper(), M), 404,
     'no such path'),
    ('GET', '/v1/capsules/%s/containers/zun-x/logs' % C, 404,
     'no such path'),
    ('POST', MEMBER + '/logs', 405, 'needs GET'),
    ('GET', MEMBER + '/exec?command=ls', 405, 'needs POST'),
    ('POST', MEMBER + '/exec', 400, 'needs a command'),
    ('GET', MEMBER + '/logs?tail=-1', 400, 'tail'),
    ('GET', MEMBER + '/logs?tail=ten', 400, 'tail'),
    ('GET', MEMBER + '/logs?limit_bytes=0', 400, 'limit_bytes'),
    ('GET', MEMBER + '/logs?since=yesterday', 400, 'since'),
    ('GET', MEMBER + '/logs?since=nan', 400, 'since'),
    ('GET', MEMBER + '/logs?follow=maybe', 400, 'follow'),
    ('GET', MEMBER + '/logs?follow=1&follow=0', 400, 'more than once'),
    ('POST', '/v1/capsules/%s/portforward' % C, 400, 'needs a port'),
    ('POST', '/v1/capsules/%s/portforward?port=70000' % C, 400, 'port'),
    ('PUT', '/v1/capsules/%s/volumes/Config' % C, 404, 'no such path'),
    ('PUT', '/v1/capsules/%s/volumes/-a' % C, 404, 'no such path'),
    ('PUT', '/v1/capsules/%s/volumes/%s' % (C, 'a' * 64), 404,
     'no such path'),
    ('PUT', '/v1/capsules/%s/volumes/a/b' % C, 404, 'no such path'),
    ('PUT', '/v1/capsules/%s/volumes/..' % C, 404, 'no such path'),
    ('GET', '/v1/capsules/%s/volumes/cfg' % C, 405, 'needs PUT'),
    ('PUT', '/v1/capsules/' + C, 405, 'needs GET'),
])
def test_parse_refuses(method, target, status, message):
    with pytest.raises(routes.BadRequest) as info:
        routes.parse(method, target)
    assert info.value.status == status
    assert message in info.value.message


def test_ticket_target_of_files_names_the_volume():
    request = routes.parse('PUT', '/v1/capsules/%s/volumes/cfg' % C)
    assert request.has_body and not request.upgrade
    assert request.ticket_target() == {
        'op': 'files', 'capsule': C, 'container': None, 'port': None,
        'command': None, 'volume': 'cfg'}


def test_ticket_target_of_exec_names_the_command():
    request = routes.parse('POST', MEMBER + '/exec?command=ls&command=-l')
    assert request.ticket_target() == {
        'op': 'exec', 'capsule': C, 'container': M, 'port': None,
        'command': ['ls', '-l'], 'volume': None}
    assert request.upgrade


@pytest.mark.parametrize('peercert,names', [
    ({}, set()),
    (None, set()),
    ({'subject': ((('commonName', 'zun-vk'),),)}, {'zun-vk'}),
    ({'subject': ((('organizationName', 'x'),), (('commonName', 'a'),)),
      'subjectAltName': (('DNS', 'b'), ('IP Address', '10.0.0.1'))},
     {'a', 'b'}),
])
def test_client_names(peercert, names):
    assert routes.client_names(peercert) == names
