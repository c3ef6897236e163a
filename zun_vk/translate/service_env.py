"""Service environment variables, built the way the kubelet builds them.

The kubelet (``pkg/kubelet/kubelet_pods.go`` getServiceEnvVarMap and
``pkg/kubelet/envvars/envvars.go`` FromServices) gives every container:

* the variables of the ``kubernetes`` Service of the ``default``
  namespace, always (``KUBERNETES_SERVICE_HOST``, ``..._PORT``, ...), so
  in-cluster clients find the API server;
* with ``spec.enableServiceLinks`` (true unless set to false) the
  variables of every Service of the pod's own namespace; one of them
  named ``kubernetes`` wins over the ``default`` one.

Only Services with a cluster IP count: headless ones (``None``) and
ExternalName ones (no cluster IP) are left out. For a Service ``my-svc``
with cluster IP 10.0.0.11 and ports 80/TCP (named ``http``) and 53/UDP::

    MY_SVC_SERVICE_HOST=10.0.0.11
    MY_SVC_SERVICE_PORT=80            first port
    MY_SVC_SERVICE_PORT_HTTP=80       every named port
    MY_SVC_PORT=tcp://10.0.0.11:80    first port, Docker link style
    MY_SVC_PORT_80_TCP=tcp://10.0.0.11:80
    MY_SVC_PORT_80_TCP_PROTO=tcp
    MY_SVC_PORT_80_TCP_PORT=80
    MY_SVC_PORT_80_TCP_ADDR=10.0.0.11
    MY_SVC_PORT_53_UDP=udp://10.0.0.11:53   (and its _PROTO, _PORT, _ADDR)

The pod's own env and envFrom win over these, and ``$(VAR)`` references
see them (pod_env.resolve_env does both). Services are dicts in
API JSON form.
"""

MASTER_NAMESPACE = 'default'
MASTER_SERVICES = ('kubernetes',)
_NO_CLUSTER_IP = ('', 'None')


def enable_service_links(pod):
    """spec.enableServiceLinks; the API defaults it to true."""
    value = (pod.get('spec') or {}).get('enableServiceLinks')
    return value is None or bool(value)


def has_cluster_ip(service):
    """The kubelet's IsServiceIPSet: not headless, not ExternalName."""
    cluster_ip = (service.get('spec') or {}).get('clusterIP')
    return cluster_ip is not None and cluster_ip not in _NO_CLUSTER_IP


def services_for_pod(pod, master_services, namespace_services):
    """The Services whose variables the pod gets, sorted by name.

    master_services are Services of the ``default`` namespace (only the
    ones named in MASTER_SERVICES are used); namespace_services those of
    the pod's namespace (used only with enableServiceLinks).
    """
    chosen = {}
    for service in master_services or ():
        name = _name(service)
        if name in MASTER_SERVICES and has_cluster_ip(service):
            chosen.setdefault(name, service)
    if enable_service_links(pod):
        for service in namespace_services or ():
            if has_cluster_ip(service):
                chosen[_name(service)] = service
    return [chosen[name] for name in sorted(chosen)]


def service_env(pod, master_services, namespace_services):
    """{variable name: value} for the pod, in a stable order."""
    env = {}
    for service in services_for_pod(pod, master_services,
                                    namespace_services):
        env.update(variables_of(service))
    return env


def variables_of(service):
    """The variables of one Service with a cluster IP, in kubelet order."""
    spec = service.get('spec') or {}
    ports = spec.get('ports') or []
    cluster_ip = spec.get('clusterIP')
    prefix = env_name(_name(service))
    result = {prefix + '_SERVICE_HOST': cluster_ip}
    if not ports:
        # The API requires ports on a Service with a cluster IP; without
        # any there is nothing more the kubelet could write.
        return result
    result[prefix + '_SERVICE_PORT'] = str(ports[0].get('port'))
    for port in ports:
        if port.get('name'):
            result['%s_SERVICE_PORT_%s' % (prefix, env_name(port['name']))] = (
                str(port.get('port')))
    for index, port in enumerate(ports):
        protocol = port.get('protocol') or 'TCP'
        url = '%s://%s:%s' % (protocol.lower(), cluster_ip, port.get('port'))
        if index == 0:
            result[prefix + '_PORT'] = url
        port_prefix = '%s_PORT_%s_%s' % (prefix, port.get('port'),
                                         protocol.upper())
        result[port_prefix] = url
        result[port_prefix + '_PROTO'] = protocol.lower()
        result[port_prefix + '_PORT'] = str(port.get('port'))
        result[port_prefix + '_ADDR'] = cluster_ip
    return result


def env_name(name):
    """A Service or port name as the kubelet spells it in a variable."""
    return str(name).replace('-', '_').upper()


def _name(service):
    return (service.get('metadata') or {}).get('name') or ''
