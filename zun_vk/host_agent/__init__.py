"""zun-vk-agent: runs as root on each Zun compute host beside zun-compute.

It serves the logs, exec, attach, port-forward and statistics of the
containers inside this host's capsules to zun-vk (see zun_vk.hostlink),
which Zun's API cannot reach.
"""
