from oslo_config import cfg

kubernetes_group = cfg.OptGroup(
    'kubernetes',
    title='Kubernetes API options',
    help='How zun-vk reaches the Kubernetes API server.')

kubernetes_opts = [
    cfg.StrOpt('kubeconfig',
               help='Path of a kubeconfig file. When unset, zun-vk uses '
                    'the in-cluster service account configuration.'),
    cfg.StrOpt('context',
               help='Context of the kubeconfig to use; the file\'s current '
                    'context when unset.'),
    cfg.FloatOpt('qps',
                 default=20.0,
                 min=0.1,
                 help='Sustained rate of requests per second to the '
                      'Kubernetes API server.'),
    cfg.IntOpt('burst',
               default=40,
               min=1,
               help='Requests allowed above [kubernetes]qps in a burst.'),
    cfg.IntOpt('request_timeout',
               default=30,
               min=1,
               help='Timeout in seconds of one Kubernetes API request '
                    '(watches excepted).'),
]


def register_opts(conf):
    conf.register_group(kubernetes_group)
    conf.register_opts(kubernetes_opts, group=kubernetes_group)


def list_opts():
    return {kubernetes_group: kubernetes_opts}
