from oslo_config import cfg

node_group = cfg.OptGroup(
    'node',
    title='Virtual node options',
    help='Identity and shape of the Kubernetes node that zun-vk '
         'registers.')

node_opts = [
    cfg.DictOpt('labels',
                default={},
                help='Extra labels for the Node, for example '
                     '"topology.kubernetes.io/zone:nova". They are added '
                     'to the labels zun-vk always sets (type, '
                     'kubernetes.io/role, kubernetes.io/hostname, '
                     'kubernetes.io/os).'),
    cfg.ListOpt('taints',
                default=['virtual-kubelet.io/provider=zun:NoSchedule'],
                help='Taints of the Node, each as "key=value:Effect" or '
                     '"key:Effect" with Effect one of NoSchedule, '
                     'PreferNoSchedule or NoExecute. Only pods that '
                     'tolerate them are scheduled to the node. An empty '
                     'list registers an untainted node.'),
    cfg.StrOpt('cpu',
               help='Overrides the cpu capacity of the node (Kubernetes '
                    'quantity such as "64" or "32500m"). By default it '
                    'comes from Zun: the project quota, else the compute '
                    'hosts\' total.'),
    cfg.IntOpt('memory_mb',
               min=1,
               help='Overrides the memory capacity of the node in MiB. By '
                    'default it comes from Zun: the project quota, else '
                    'the compute hosts\' total.'),
    cfg.IntOpt('pods',
               min=1,
               help='Overrides the maximum number of pods on the node. By '
                    'default it is the Zun containers quota when that is '
                    'set, else [node]default_pods.'),
    cfg.StrOpt('default_cpu',
               default='100',
               help='cpu capacity to report when neither a quota nor the '
                    'compute hosts give one (Kubernetes quantity).'),
    cfg.IntOpt('default_memory_mb',
               default=409600,
               min=1,
               help='Memory capacity in MiB to report when neither a quota '
                    'nor the compute hosts give one.'),
    cfg.IntOpt('default_pods',
               default=500,
               min=1,
               help='Maximum number of pods to report when the Zun '
                    'containers quota is unlimited.'),
    cfg.HostAddressOpt('internal_ip',
                       default='127.0.0.1',
                       help='Address published as the node\'s InternalIP '
                            'and as the pods\' hostIP. The Kubernetes API '
                            'server dials it for "kubectl logs" and '
                            '"exec".'),
    cfg.HostAddressOpt('hostname',
                       help='Host name published as the node\'s Hostname '
                            'address. kube-apiserver tries a Hostname '
                            'address first by default '
                            '(--kubelet-preferred-address-types), so set '
                            'it only to a name that resolves to '
                            '[node]internal_ip where the API server runs; '
                            'when unset the node publishes its InternalIP '
                            'only.'),
    cfg.StrOpt('cluster_domain',
               default='cluster.local',
               help='The cluster\'s DNS domain, as the kubelet\'s '
                    '--cluster-domain: a pod with spec.subdomain finds '
                    'itself in /etc/hosts as '
                    '<hostname>.<subdomain>.<namespace>.svc.<domain>.'),
    cfg.PortOpt('kubelet_port',
                default=10250,
                help='Port of the kubelet API ([kubelet] group), '
                     'published as the node\'s kubelet endpoint.'),
    cfg.IntOpt('lease_duration',
               default=40,
               min=1,
               help='leaseDurationSeconds of the node\'s Lease in '
                    'kube-node-lease.'),
    cfg.IntOpt('lease_renew_interval',
               default=10,
               min=1,
               help='Seconds between Lease renewals. Zun\'s health is '
                    'checked at the same pace, so the Ready condition '
                    'follows Zun within one renewal.'),
    cfg.IntOpt('status_update_interval',
               default=60,
               min=1,
               help='The node status is written when it changes and at '
                    'least this often (seconds).'),
    cfg.IntOpt('capacity_refresh_interval',
               default=60,
               min=1,
               help='Seconds between reads of the Zun quotas and hosts '
                    'that give the node\'s capacity.'),
    cfg.StrOpt('operating_system',
               default='linux',
               help='Operating system of the capsules\' containers, '
                    'published as kubernetes.io/os and in nodeInfo.'),
    cfg.StrOpt('architecture',
               default='amd64',
               help='CPU architecture of the Zun compute hosts, published '
                    'as kubernetes.io/arch and in nodeInfo.'),
]


def register_opts(conf):
    conf.register_group(node_group)
    conf.register_opts(node_opts, group=node_group)


def list_opts():
    return {node_group: node_opts}
