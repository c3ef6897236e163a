from oslo_config import cfg

kubelet_group = cfg.OptGroup(
    'kubelet',
    title='Kubelet API options',
    help='The kubelet HTTP API that kube-apiserver calls for "kubectl '
         'logs", "exec", "attach", "port-forward" and for the stats that '
         'metrics-server reads. It listens on [kubelet]bind_address and '
         '[node]kubelet_port, always with TLS, and serves only callers '
         'that authenticate (a client certificate signed by '
         '[kubelet]client_ca_file, or a bearer token that the API '
         'server\'s TokenReview accepts) and that a SubjectAccessReview '
         'allows on the node\'s nodes/proxy, nodes/stats, nodes/metrics '
         'or nodes/log subresource, as the kubelet does. There is no '
         'anonymous access.')

kubelet_opts = [
    cfg.BoolOpt('enabled',
                default=True,
                help='Serve the kubelet API. Without it "kubectl logs", '
                     '"exec", "attach" and "port-forward" fail on the '
                     'node\'s pods.'),
    cfg.HostAddressOpt('bind_address',
                       help='Address the kubelet API listens on. Defaults '
                            'to [node]internal_ip, the address the API '
                            'server dials.'),
    cfg.StrOpt('tls_cert_file',
               help='PEM serving certificate (with its chain) of the '
                    'kubelet API. Its subjectAltNames must cover the '
                    'node\'s published addresses; kube-apiserver checks '
                    'them when it runs with --kubelet-certificate-'
                    'authority. When unset, zun-vk makes a self-signed '
                    'certificate at start, as the kubelet does; the API '
                    'server then cannot verify the node.'),
    cfg.StrOpt('tls_private_key_file',
               help='PEM private key of [kubelet]tls_cert_file.'),
    cfg.StrOpt('client_ca_file',
               help='PEM bundle of the CAs whose client certificates are '
                    'accepted; the user is the certificate\'s common name '
                    'and its organizations are the groups, as for the '
                    'kubelet\'s --client-ca-file. Point it at the CA of '
                    'kube-apiserver\'s --kubelet-client-certificate. When '
                    'unset, only bearer tokens are accepted.'),
    cfg.BoolOpt('webhook_authentication',
                default=True,
                help='Accept bearer tokens, checked with the API server\'s '
                     'TokenReview API. The [kubernetes] identity needs '
                     'create on tokenreviews (the system:auth-delegator '
                     'ClusterRole grants it).'),
    cfg.IntOpt('authentication_cache_ttl',
               default=120,
               min=0,
               help='Seconds a TokenReview answer is reused.'),
    cfg.IntOpt('authorized_cache_ttl',
               default=300,
               min=0,
               help='Seconds an allowing SubjectAccessReview is reused.'),
    cfg.IntOpt('unauthorized_cache_ttl',
               default=30,
               min=0,
               help='Seconds a denying SubjectAccessReview is reused.'),
    cfg.IntOpt('stream_idle_timeout',
               default=14400,
               min=1,
               help='An exec, attach or port-forward session with no '
                    'traffic for this many seconds is closed (the '
                    'kubelet\'s --streaming-connection-idle-timeout, '
                    '4 h).'),
    cfg.IntOpt('stream_creation_timeout',
               default=30,
               min=1,
               help='Seconds a client has, after the upgrade, to open the '
                    'streams of an exec, attach or port-forward.'),
    cfg.IntOpt('max_connections',
               default=256,
               min=1,
               help='Concurrent connections served; more wait to be '
                    'accepted.'),
]


def register_opts(conf):
    conf.register_group(kubelet_group)
    conf.register_opts(kubelet_opts, group=kubelet_group)


def list_opts():
    return {kubelet_group: kubelet_opts}
