import socket

from oslo_config import cfg

default_opts = [
    cfg.StrOpt('node_name',
               default=socket.gethostname().split('.')[0].lower(),
               sample_default='<short host name>',
               regex=r'^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$',
               help='Name of the Kubernetes node this zun-vk process '
                    'serves. Must be a valid Kubernetes node name (a DNS '
                    'subdomain: lower case letters, digits, "-" and "."). '
                    'Each zun-vk process serving the same cluster needs '
                    'its own node name.'),
    cfg.StrOpt('cluster_id',
               regex=r'^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$',
               sample_default='<UID of the kube-system namespace>',
               help='Identifier of the Kubernetes cluster. It is written '
                    'into the labels of every capsule zun-vk creates, so '
                    'that several clusters can share one Zun project '
                    'without touching each other\'s capsules: zun-vk '
                    'only ever deletes capsules labelled with its own '
                    'cluster_id and node name. When unset or empty, '
                    'zun-vk reads the UID of the cluster\'s kube-system '
                    'namespace at start, which is unique per cluster '
                    '(its identity needs get on that namespace). Set it '
                    'to keep the capsules of an existing installation: '
                    'before this default, it was "default".'),
]


def register_opts(conf):
    conf.register_opts(default_opts)


def list_opts():
    return {'DEFAULT': default_opts}
