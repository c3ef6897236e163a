"""The zun-vk companion plugin, which runs inside zun-compute.

Everything in this package imports only Zun, oslo libraries, itself and
zun_vk.timestamps (oslo.utils and the standard library), never the rest
of zun_vk (which needs the kubernetes client and selects oslo.service's
threading backend, while zun-compute runs under eventlet).
"""
