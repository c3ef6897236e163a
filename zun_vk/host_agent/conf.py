"""Options of the host agent, read from /etc/zun-vk/zun-vk-agent.conf.

Only oslo.config here: oslo-config-generator imports this module
(namespace ``zun_vk.host_agent``).
"""

import socket

from oslo_config import cfg

GROUP = 'agent'
# Outside the kubelet's and kube-proxy's ports (10248-10259) and
# OpenStack's registered ports, so the agent can run beside a kubelet or
# any OpenStack service on the same host.
DEFAULT_PORT = 10350

agent_group = cfg.OptGroup(
    GROUP,
    title='zun-vk host agent options',
    help='zun-vk-agent runs as root on every Zun compute host beside '
         'zun-compute. It serves container logs, exec, attach, '
         'port-forward and usage statistics of the capsules on this host '
         'to zun-vk, and to nobody else: every connection needs a client '
         'certificate signed by client_ca_file whose name is in '
         'allowed_clients, and every request a ticket signed by zun-vk\'s '
         'private key (checked with ticket_public_key_file) that names '
         'this host, the operation and the container, expires within '
         'seconds and works once. The host holds no Kubernetes or '
         'OpenStack credentials. It also keeps the host directories of '
         'the capsules\' volumes (pods_dir).')

agent_opts = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this compute host as Zun knows it: the value '
                    'of zun-compute\'s [DEFAULT]host (which also defaults '
                    'to the host name). Tickets name the host they are '
                    'for; a ticket for any other name is refused.'),
    cfg.HostAddressOpt('bind_address',
                       help='Management address to listen on, reachable '
                            'from the controllers that run zun-vk and '
                            'from nowhere else (see the firewall rule in '
                            'the host agent guide). Required: the agent '
                            'does not pick an address on its own.'),
    cfg.PortOpt('port',
                default=DEFAULT_PORT,
                help='TCP port of the agent\'s HTTPS endpoint. zun-vk '
                     'reaches it through [host_agents]endpoints or '
                     '[host_agents]port.'),
    cfg.StrOpt('cert_file',
               help='PEM certificate of this agent\'s HTTPS server, with '
                    'subjectAltNames for every address zun-vk uses to '
                    'reach it. Required.'),
    cfg.StrOpt('key_file',
               secret=True,
               help='PEM private key of cert_file, readable by root only. '
                    'Required.'),
    cfg.StrOpt('client_ca_file',
               help='PEM CA certificate(s) that sign the client '
                    'certificate zun-vk presents. Connections without a '
                    'client certificate from this CA are refused during '
                    'the TLS handshake. Use a CA of its own for the agent '
                    'channel, not one that signs anything else. '
                    'Required.'),
    cfg.ListOpt('allowed_clients',
                default=['zun-vk'],
                help='Names a client certificate must carry (as its '
                     'subject CN or a DNS subjectAltName) to be served. '
                     'Other certificates of the same CA, such as another '
                     'agent\'s server certificate, get 403.'),
    cfg.StrOpt('ticket_public_key_file',
               help='PEM Ed25519 public key whose private half zun-vk '
                    'signs tickets with ([host_agents]'
                    'ticket_private_key_file). Required.'),
    cfg.IntOpt('ticket_clock_skew',
               default=30,
               min=0,
               max=300,
               help='Seconds by which the clocks of zun-vk and this host '
                    'may differ when checking a ticket\'s issue and expiry '
                    'times. Keep both clocks synchronized (NTP).'),
    cfg.StrOpt('docker_url',
               default='unix:///var/run/docker.sock',
               help='Docker API of the container engine zun-compute\'s '
                    'docker driver uses (zun.conf [docker]api_url), for '
                    'example unix:///run/podman/podman.sock. Only '
                    'unix:// and tcp:// without TLS are supported.'),
    cfg.StrOpt('docker_api_version',
               default='auto',
               help='Docker API version to request, or "auto" for the '
                    'engine\'s own. 1.41 or newer gives one-shot stats.'),
    cfg.IntOpt('docker_timeout',
               default=30,
               min=1,
               help='Seconds to wait for the engine\'s answer to a call '
                    'that is not a stream (inspect, exec create, stats).'),
    cfg.IntOpt('handshake_timeout',
               default=10,
               min=1,
               help='Seconds a new connection has to finish its TLS '
                    'handshake and send its request head.'),
    cfg.IntOpt('max_connections',
               default=256,
               min=1,
               help='Connections served at once (each open log stream, '
                    'exec, attach or port-forward holds one); more are '
                    'closed at once.'),
    cfg.StrOpt('pods_dir',
               default='/var/lib/zun-vk/capsules',
               help='Directory of the capsules\' volumes on this host '
                    '(configMap, secret, downwardAPI, projected and '
                    'emptyDir), one <capsule uuid>/ each: the zun-vk '
                    'companion driver inside zun-compute creates them, '
                    'the agent mounts and fills them, the engine '
                    'bind-mounts them into the containers. Must be the '
                    'same path as the driver\'s. The agent creates it '
                    '(mode 0711, missing parents 0755) if missing; the '
                    'user zun-compute runs as must be able to create '
                    'directories in it (see pods_dir_owner).'),
    cfg.StrOpt('pods_dir_owner',
               default='',
               help='User (and group: "user:group"; names or numbers) '
                    'pods_dir is given to at start, so that zun-compute '
                    'running as that user can create capsule directories '
                    'in it. Empty: its owner stays as it is (root when '
                    'the agent created it), which suits a zun-compute '
                    'that runs as root.'),
    cfg.IntOpt('files_tmpfs_size',
               default=64,
               min=1,
               help='Size in MiB of the tmpfs mounted at files/ of each '
                    'capsule with configMap, secret, downwardAPI or '
                    'projected volumes; all such volumes of one capsule '
                    'share it. Their files live in memory only and go '
                    'with the capsule.'),
    cfg.IntOpt('memory_tmpfs_size',
               default=0,
               min=0,
               help='Size in MiB of the tmpfs of an emptyDir with medium '
                    'Memory that has no sizeLimit. 0: tmpfs\'s own '
                    'default, half of the host\'s memory, as the kubelet '
                    '1.20 mounts it. The pages used count against the '
                    'memory of the container that writes them.'),
    cfg.IntOpt('orphan_dir_age',
               default=3600,
               min=60,
               help='Seconds after which a capsule directory whose '
                    'capsule the engine does not have (no container '
                    'zun-<capsule uuid>) is unmounted and removed, for '
                    'capsules that failed or went without the driver '
                    'saying so. Longer than the creation of a capsule '
                    'may take, image pulls included.'),
]


def register_opts(conf):
    conf.register_group(agent_group)
    conf.register_opts(agent_opts, group=agent_group)


def list_opts():
    """Options for oslo-config-generator: [(group, opts)]."""
    return [(agent_group, agent_opts)]


REQUIRED = ('bind_address', 'cert_file', 'key_file', 'client_ca_file',
            'ticket_public_key_file')


def missing_options(conf):
    """[agent] options that must be set and are not, as '[agent]name'."""
    group = getattr(conf, GROUP)
    return ['[%s]%s' % (GROUP, name) for name in REQUIRED
            if not getattr(group, name)]
