"""The link between zun-vk and the host agents on the compute hosts.

client: what zun-vk calls; tickets, framing, http1 and tlsio: the
protocol, shared with the agent (zun_vk.host_agent).
"""
