from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

zun_group = cfg.OptGroup(
    'zun',
    title='Zun API options',
    help='Credentials and endpoint of the Zun project that runs the '
         'pods, loaded the keystoneauth way (auth_type, auth_url, '
         'username, ...).')

DEFAULT_SERVICE_TYPE = 'container'
DEFAULT_TIMEOUT = 60.0
TIMEOUT_HELP = ('Seconds zun-vk waits on each Zun and Keystone request, '
                'to connect and then for each read of the answer, before '
                'it gives the request up and retries later. It keeps a '
                'connection left half-open from blocking a pod worker; '
                'unset, a request may wait forever.')

zun_opts = [
    cfg.StrOpt('api_version',
               default='1.40',
               help='Zun API microversion to request. 1.40 or newer is '
                    'recommended; init containers need 1.34, ports 1.35, '
                    'tty and stdin 1.37 and annotations 1.38.'),
    cfg.StrOpt('availability_zone',
               help='Availability zone for the capsules. When set it is '
                    'also published as the node label '
                    'topology.kubernetes.io/zone.'),
    cfg.FloatOpt('default_cpu',
                 default=0.5,
                 min=0.001,
                 help='cpu (cores) of a container whose pod gives neither '
                      'a limit nor a request.'),
    cfg.IntOpt('default_memory_mb',
               default=512,
               min=4,
               help='Memory (MiB) of a container whose pod gives neither '
                    'a limit nor a request.'),
    cfg.BoolOpt('companion_driver',
                default=False,
                help='Every compute host of the project\'s capsules runs '
                     'zun-vk\'s companion driver (zun_vk_notifying). Then '
                     'a container\'s "command" replaces the image\'s '
                     'ENTRYPOINT, as on a kubelet; without it Zun passes '
                     'the command to the ENTRYPOINT as arguments, and '
                     'zun-vk warns about that on every such pod. With '
                     "zun-vk's host agent as well ([host_agents]), pods "
                     'may mount configMap, secret, downwardAPI, projected '
                     'and emptyDir volumes, which live on the compute '
                     'host.'),
    cfg.IntOpt('empty_dir_cinder_size_gb',
               min=1,
               help='When set, an emptyDir volume on disk (not medium: '
                    'Memory) becomes a new Cinder volume of this size in '
                    'GiB, or of its sizeLimit when larger, that Zun '
                    'deletes with the capsule, instead of a directory on '
                    'the compute host. Cinder volumes are mounted whole '
                    'and read-write: such mounts may not use subPath or '
                    'readOnly.'),
]


def register_opts(conf):
    # keystoneauth registers the auth plugin's options into the group when
    # it loads the plugin. oslo.config copies a registered OptGroup
    # shallowly, sharing its options with the module's zun_group: a group
    # of this conf's own keeps them out of every other ConfigOpts.
    conf.register_group(cfg.OptGroup(zun_group.name, title=zun_group.title,
                                     help=zun_group.help))
    conf.register_opts(zun_opts, group=zun_group.name)
    ks_loading.register_session_conf_options(conf, zun_group.name)
    ks_loading.register_auth_conf_options(conf, zun_group.name)
    ks_loading.register_adapter_conf_options(conf, zun_group.name)
    conf.set_default('service_type', DEFAULT_SERVICE_TYPE,
                     group=zun_group.name)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=zun_group.name)
    conf.set_default('timeout', DEFAULT_TIMEOUT, group=zun_group.name)


def _keystoneauth_opts():
    opts = ks_loading.get_session_conf_options()
    opts += ks_loading.get_auth_common_conf_options()
    # The options of the usual plugins, so the sample shows them.
    for name in ('password', 'v3applicationcredential'):
        opts += ks_loading.get_auth_plugin_conf_options(name)
    opts += ks_loading.get_adapter_conf_options(include_deprecated=False)
    unique = {}
    for opt in opts:
        unique.setdefault(opt.dest, opt)
    for opt in unique.values():
        if opt.dest == 'service_type':
            opt.default = DEFAULT_SERVICE_TYPE
        elif opt.dest == 'valid_interfaces':
            opt.default = ['internal', 'public']
        elif opt.dest == 'timeout':
            opt.default = DEFAULT_TIMEOUT
            opt.help = TIMEOUT_HELP
    return sorted(unique.values(), key=lambda o: o.dest)


def list_opts():
    return {zun_group: zun_opts + _keystoneauth_opts()}
