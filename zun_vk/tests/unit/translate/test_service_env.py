import pytest

from zun_vk.translate import service_env as se


def service(name, cluster_ip, *ports, namespace='ns', kind=None):
    spec = {'clusterIP': cluster_ip,
            'ports': [dict(p) for p in ports]}
    if kind:
        spec['type'] = kind
    return {'metadata': {'name': name, 'namespace': namespace},
            'spec': spec}


KUBERNETES = service('kubernetes', '10.0.0.1',
                     {'name': 'https', 'port': 443, 'protocol': 'TCP'},
                     namespace='default')
KUBERNETES_ENV = {
    'KUBERNETES_SERVICE_HOST': '10.0.0.1',
    'KUBERNETES_SERVICE_PORT': '443',
    'KUBERNETES_SERVICE_PORT_HTTPS': '443',
    'KUBERNETES_PORT': 'tcp://10.0.0.1:443',
    'KUBERNETES_PORT_443_TCP': 'tcp://10.0.0.1:443',
    'KUBERNETES_PORT_443_TCP_PROTO': 'tcp',
    'KUBERNETES_PORT_443_TCP_PORT': '443',
    'KUBERNETES_PORT_443_TCP_ADDR': '10.0.0.1',
}


def pod(namespace='ns', links=None):
    spec = {}
    if links is not None:
        spec['enableServiceLinks'] = links
    return {'metadata': {'namespace': namespace}, 'spec': spec}


def test_variables_of_a_service_like_the_kubelet():
    svc = service('my-svc', '10.0.0.11',
                  {'name': 'http', 'port': 80, 'protocol': 'TCP'},
                  {'name': 'dns', 'port': 53, 'protocol': 'UDP'})
    assert list(se.variables_of(svc).items()) == [
        ('MY_SVC_SERVICE_HOST', '10.0.0.11'),
        ('MY_SVC_SERVICE_PORT', '80'),
        ('MY_SVC_SERVICE_PORT_HTTP', '80'),
        ('MY_SVC_SERVICE_PORT_DNS', '53'),
        ('MY_SVC_PORT', 'tcp://10.0.0.11:80'),
        ('MY_SVC_PORT_80_TCP', 'tcp://10.0.0.11:80'),
        ('MY_SVC_PORT_80_TCP_PROTO', 'tcp'),
        ('MY_SVC_PORT_80_TCP_PORT', '80'),
        ('MY_SVC_PORT_80_TCP_ADDR', '10.0.0.11'),
        ('MY_SVC_PORT_53_UDP', 'udp://10.0.0.11:53'),
        ('MY_SVC_PORT_53_UDP_PROTO', 'udp'),
        ('MY_SVC_PORT_53_UDP_PORT', '53'),
        ('MY_SVC_PORT_53_UDP_ADDR', '10.0.0.11'),
    ]


def test_unnamed_port_without_protocol_is_tcp():
    env = se.variables_of(service('foo', '10.0.0.5', {'port': 8765}))
    assert env == {
        'FOO_SERVICE_HOST': '10.0.0.5', 'FOO_SERVICE_PORT': '8765',
        'FOO_PORT': 'tcp://10.0.0.5:8765',
        'FOO_PORT_8765_TCP': 'tcp://10.0.0.5:8765',
        'FOO_PORT_8765_TCP_PROTO': 'tcp',
        'FOO_PORT_8765_TCP_PORT': '8765',
        'FOO_PORT_8765_TCP_ADDR': '10.0.0.5'}


@pytest.mark.parametrize('svc, counts', [
    (service('a', '10.0.0.2', {'port': 1}), True),
    (service('a', 'None', {'port': 1}), False),
    (service('a', '', kind='ExternalName'), False),
    ({'metadata': {'name': 'a'}, 'spec': {'type': 'ExternalName',
                                          'externalName': 'x.example'}},
     False),
])
def test_only_services_with_a_cluster_ip_count(svc, counts):
    assert se.has_cluster_ip(svc) is counts
    env = se.service_env(pod(), [], [svc])
    assert ('A_SERVICE_HOST' in env) is counts


NAMESPACE_SERVICES = [service('db', '10.0.0.7', {'port': 5432})]


@pytest.mark.parametrize('the_pod, expected_prefixes', [
    (pod(), ['DB_', 'KUBERNETES_']),
    (pod(links=True), ['DB_', 'KUBERNETES_']),
    # Without service links only the API server's Service is given.
    (pod(links=False), ['KUBERNETES_']),
])
def test_service_links(the_pod, expected_prefixes):
    env = se.service_env(the_pod, [KUBERNETES], NAMESPACE_SERVICES)
    prefixes = sorted({name.split('_')[0] + '_' for name in env})
    assert prefixes == expected_prefixes
    assert {k: v for k, v in env.items()
            if k.startswith('KUBERNETES_')} == KUBERNETES_ENV


def test_only_the_kubernetes_service_of_default_is_given_everywhere():
    other = service('dns', '10.0.0.10', {'port': 53}, namespace='default')
    env = se.service_env(pod(links=False), [KUBERNETES, other], [])
    assert env == KUBERNETES_ENV


def test_a_kubernetes_service_of_the_namespace_wins_with_links():
    mine = service('kubernetes', '10.9.9.9', {'port': 8443})
    env = se.service_env(pod(), [KUBERNETES], [mine])
    assert env['KUBERNETES_SERVICE_HOST'] == '10.9.9.9'
    env = se.service_env(pod(links=False), [KUBERNETES], [mine])
    assert env['KUBERNETES_SERVICE_HOST'] == '10.0.0.1'


def test_no_services_no_variables():
    assert se.service_env(pod(), [], []) == {}
