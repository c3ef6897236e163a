from oslo_config import cfg

sync_group = cfg.OptGroup(
    'sync',
    title='Pod synchronisation options',
    help='How zun-vk keeps pods and capsules in step.')

sync_opts = [
    cfg.IntOpt('pod_workers',
               default=10,
               min=1,
               help='Pods handled in parallel. Events of one pod are '
                    'always handled in order by one worker.'),
    cfg.IntOpt('status_poll_interval',
               default=10,
               min=1,
               help='Seconds between polls of the capsule list that '
                    'update pod statuses. One paged list per poll serves '
                    'all the node\'s pods. With notifications enabled '
                    'this can be much longer (for example 60).'),
    cfg.IntOpt('reconcile_interval',
               default=120,
               min=5,
               help='Seconds between full reconciliations of the node\'s '
                    'pods with the project\'s capsules (also run at '
                    'start).'),
    cfg.IntOpt('orphan_grace_period',
               default=120,
               min=0,
               help='A capsule labelled for this node and cluster that has '
                    'no pod is deleted once it is older than this many '
                    'seconds.'),
    cfg.IntOpt('relist_interval',
               default=300,
               min=10,
               help='Seconds between safety relists of the node\'s pods '
                    'beneath the watch.'),
    cfg.IntOpt('max_retry_delay',
               default=60,
               min=1,
               help='Longest delay in seconds between retries of a pod '
                    'action that failed with a transient error.'),
    cfg.IntOpt('volume_refresh_interval',
               default=50,
               min=5,
               help='Seconds between two renderings of the files of a '
                    "pod's configMap, secret, downwardAPI and projected "
                    'volumes; what changed (an edited ConfigMap or Secret, '
                    "the pod's labels or annotations, a renewed service "
                    'account token) is then sent to the host agent. The '
                    'kubelet takes about a minute. Each rendering reads '
                    'the ConfigMaps and Secrets the pod mounts.'),
]


def register_opts(conf):
    conf.register_group(sync_group)
    conf.register_opts(sync_opts, group=sync_group)


def list_opts():
    return {sync_group: sync_opts}
