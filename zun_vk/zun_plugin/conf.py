"""Options of the companion plugin, read from zun-compute's zun.conf.

Only oslo.config here: this module is also imported by
oslo-config-generator (namespace ``zun_vk.zun_plugin``) where zun may be
absent.
"""

from oslo_config import cfg

GROUP = 'zun_vk_plugin'

plugin_group = cfg.OptGroup(
    GROUP,
    title='zun-vk companion plugin options',
    help='The zun-vk companion driver runs inside zun-compute. It wraps '
         'the real container and capsule driver, records the real states '
         'and exit codes of the containers inside capsules during '
         "zun-compute's periodic state sync, and sends capsule "
         'notifications that zun-vk listens for. Enable it with '
         '[DEFAULT]container_driver = zun_vk_notifying and '
         '[DEFAULT]capsule_driver = zun_vk_notifying. The notification '
         'transport comes from [oslo_messaging_notifications]transport_url '
         '(else [DEFAULT]transport_url); the exchange is zun-compute\'s '
         'control exchange, "zun" by default.')

plugin_opts = [
    cfg.StrOpt('wrapped_driver',
               default='docker',
               help='Entry point name, in the zun.container.driver group, '
                    'of the driver that really runs containers and '
                    'capsules. Every call is handed to it. It may not be '
                    'zun_vk_notifying itself.'),
    cfg.BoolOpt('notifications_enabled',
                default=True,
                help='Send capsule notifications (capsule.create.start, '
                     'capsule.create.end, capsule.create.error, '
                     'capsule.update, capsule.delete.end). The state sync '
                     'of containers inside capsules runs either way.'),
    cfg.ListOpt('notification_topics',
                default=['notifications'],
                help='Topics the notifications are sent on, at priority '
                     'info. On RabbitMQ the queue <topic>.info is declared '
                     'and filled whether or not anything reads it: use a '
                     'topic whose .info queue is drained (the usual '
                     '"notifications" when ceilometer or another consumer '
                     'reads it), or point zun-vk\'s [notifications]topics '
                     'at a topic of its own and make sure its .info queue '
                     'is consumed or has a length limit.'),
    cfg.IntOpt('notification_queue_size',
               default=1000,
               min=1,
               help='Notifications waiting to be sent, at most. They are '
                    'sent in order by one background thread, so capsule '
                    'operations and the state sync never wait for the '
                    'broker; when the queue is full (broker down or slow) '
                    'new notifications are dropped with a warning. zun-vk '
                    'still sees the change at its next poll.'),
    cfg.IntOpt('notification_retry',
               default=3,
               min=-1,
               help='Broker connection retries for one notification '
                    'before it is dropped (oslo.messaging "retry": 0 tries '
                    'once, -1 retries until the broker is back while the '
                    'queue holds what comes meanwhile, up to '
                    'notification_queue_size, and delivers it in order '
                    'afterwards). Sending happens in the background either '
                    'way; this overrides [oslo_messaging_notifications]'
                    'retry.'),
    cfg.BoolOpt('cleanup_failed_capsules',
                default=True,
                help='When creating a capsule fails after some of its '
                     'containers exist in the engine, remove them (sandbox '
                     'included, network cleaned up by the wrapped driver). '
                     'zun-compute then records the capsule in Error without '
                     'a host, so a later delete would only remove database '
                     'rows and the containers would leak. Needs a wrapped '
                     'driver with delete_capsule (the docker driver).'),
    cfg.StrOpt('pods_dir',
               default='/var/lib/zun-vk/capsules',
               help="Where the host directories of capsules' pod volumes "
                    '(configMap, secret, downwardAPI, projected, emptyDir) '
                    'live: the same directory as zun-vk-agent\'s '
                    '[agent]pods_dir on this host. zun-compute\'s user '
                    'must be able to create directories in it.'),
    cfg.IntOpt('volumes_timeout',
               default=120,
               min=1,
               help='Seconds a capsule with pod volumes waits, before its '
                    'containers are created, for zun-vk-agent to prepare '
                    'the volumes and for zun-vk to deliver their files. '
                    'After that the capsule fails to create, with a reason '
                    'that says what was missing; zun-vk creates it again '
                    'after its back-off.'),
]


def register_opts(conf):
    conf.register_group(plugin_group)
    conf.register_opts(plugin_opts, group=plugin_group)


def list_opts():
    """Options for oslo-config-generator: [(group, opts)]."""
    return [(plugin_group, plugin_opts)]
