"""zun-vk configuration: one module per option group."""

from oslo_config import cfg

from zun_vk.conf import default
from zun_vk.conf import host_agents
from zun_vk.conf import kubelet
from zun_vk.conf import kubernetes
from zun_vk.conf import node
from zun_vk.conf import notifications
from zun_vk.conf import sync
from zun_vk.conf import zun

CONF = cfg.CONF

default.register_opts(CONF)
node.register_opts(CONF)
kubernetes.register_opts(CONF)
kubelet.register_opts(CONF)
zun.register_opts(CONF)
sync.register_opts(CONF)
notifications.register_opts(CONF)
host_agents.register_opts(CONF)
