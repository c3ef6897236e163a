from oslo_config import cfg

notifications_group = cfg.OptGroup(
    'notifications',
    title='Zun notification listener options',
    help='Capsule notifications from the zun-vk plugin in zun-compute '
         'make pod statuses follow capsules without waiting for the next '
         'poll. The transport comes from '
         '[oslo_messaging_notifications]transport_url.')

notifications_opts = [
    cfg.BoolOpt('enabled',
                default=False,
                help='Listen for capsule notifications. Without them pod '
                     'statuses follow capsules at '
                     '[sync]status_poll_interval.'),
    cfg.ListOpt('topics',
                default=['notifications'],
                help='Notification topics to listen on.'),
    cfg.StrOpt('exchange',
               default='zun',
               help='Exchange the notifications are published on.'),
    cfg.StrOpt('pool',
               help='Listener pool name. Every zun-vk process needs its '
                    'own pool so that it gets every notification and '
                    'takes none from other consumers; by default '
                    '"zun-vk-<node_name>".'),
]


def register_opts(conf):
    conf.register_group(notifications_group)
    conf.register_opts(notifications_opts, group=notifications_group)


def list_opts():
    return {notifications_group: notifications_opts}
