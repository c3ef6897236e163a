from oslo_config import cfg

DEFAULT_PORT = 10350

host_agents_group = cfg.OptGroup(
    'host_agents',
    title='zun-vk host agent client options',
    help='How zun-vk reaches zun-vk-agent on the Zun compute hosts for '
         'container logs, exec, attach, port-forward and statistics. The '
         'channel is mutual TLS with a CA of its own; every request also '
         'carries a ticket signed with ticket_private_key_file that the '
         'agent checks with the public half. Only zun-vk holds the client '
         'certificate and the private key: keep them readable by the '
         'zun-vk user alone.')

host_agents_opts = [
    cfg.StrOpt('ca_file',
               help='PEM CA certificate(s) that signed the agents\' server '
                    'certificates. Each agent\'s certificate must name '
                    'the address zun-vk connects to in a subjectAltName.'),
    cfg.StrOpt('cert_file',
               help='PEM client certificate zun-vk presents to the agents '
                    '(subject CN zun-vk, extended key usage clientAuth), '
                    'signed by the CA in the agents\' '
                    '[agent]client_ca_file.'),
    cfg.StrOpt('key_file',
               secret=True,
               help='PEM private key of cert_file.'),
    cfg.StrOpt('ticket_private_key_file',
               secret=True,
               help='PEM (PKCS#8) Ed25519 private key that signs tickets. '
                    'Its public half is every agent\'s '
                    '[agent]ticket_public_key_file.'),
    cfg.DictOpt('endpoints',
                default={},
                help='Agent address of each compute host, as Zun host '
                     'name:address[:port] pairs, e.g. "compute1:'
                     '192.0.2.11,compute2:compute2.mgmt.example.org:10351". '
                     'A host that is not listed is reached at its host '
                     'name on [host_agents]port. Finding the host of a '
                     'capsule when Zun does not say (the capsule\'s host '
                     'is admin-only) asks the listed agents only.'),
    cfg.PortOpt('port',
                default=DEFAULT_PORT,
                help='Agent port where endpoints gives none.'),
    cfg.FloatOpt('connect_timeout',
                 default=5.0,
                 min=0.1,
                 help='Seconds to connect to an agent and finish the TLS '
                      'handshake.'),
    cfg.FloatOpt('read_timeout',
                 default=30.0,
                 min=0.1,
                 help='Seconds to wait for an agent\'s reply; streams '
                      'that follow a log or run a session may stay silent '
                      'longer.'),
    cfg.FloatOpt('locate_timeout',
                 default=3.0,
                 min=0.1,
                 help='Seconds to wait for the agents\' answers when '
                      'asking which host runs a capsule (all are asked '
                      'at once).'),
    cfg.IntOpt('ticket_ttl',
               default=30,
               min=5,
               max=300,
               help='Seconds a ticket stays valid. It is used at once; '
                    'the margin covers clock differences, which the '
                    'agents also allow for ([agent]ticket_clock_skew).'),
]


def register_opts(conf):
    conf.register_group(host_agents_group)
    conf.register_opts(host_agents_opts, group=host_agents_group)


def list_opts():
    return {host_agents_group: host_agents_opts}
