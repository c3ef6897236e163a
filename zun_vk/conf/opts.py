"""Options for oslo-config-generator (``tox -e genconfig``)."""

from zun_vk.conf import default
from zun_vk.conf import host_agents
from zun_vk.conf import kubelet
from zun_vk.conf import kubernetes
from zun_vk.conf import node
from zun_vk.conf import notifications
from zun_vk.conf import sync
from zun_vk.conf import zun

MODULES = (default, node, kubernetes, kubelet, zun, sync, notifications,
           host_agents)


def list_opts():
    result = []
    for module in MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result
