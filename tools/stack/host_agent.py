"""zun-vk-agent beside zun-compute, on the stack's podman engine.

It runs from zun-vk's virtualenv (with the agent's extra, the docker SDK)
as a process of its own, as on a real compute host, and listens on
127.0.0.1 only.
"""

import os

from . import components as comp
from . import context as C
from . import podman
from . import streaming_pki
from . import util

AGENT_PORT = 10350


def conf_path(ctx):
    return ctx.path('zun-vk-agent', 'zun-vk-agent.conf')


def write_agent_conf(ctx):
    pki = streaming_pki.StreamingPKI(ctx)
    text = comp.ini({
        'DEFAULT': {'debug': True},
        'agent': {'host': C.zun_host(), 'bind_address': C.HOST,
                  'port': AGENT_PORT,
                  'cert_file': pki.agent('agent.crt'),
                  'key_file': pki.agent('agent.key'),
                  'client_ca_file': pki.agent('ca.crt'),
                  'allowed_clients': streaming_pki.ZUN_VK_CLIENT_NAME,
                  'ticket_public_key_file': pki.agent('ticket.pub'),
                  'docker_url': podman.api_url(ctx),
                  'pods_dir': comp.pod_volumes_dir(ctx)},
    })
    return comp.write_file(conf_path(ctx), text, 0o600)


def zun_vk_sections(ctx):
    """What zun-vk.conf needs to reach this agent."""
    pki = streaming_pki.StreamingPKI(ctx)
    return {'host_agents': {
        'ca_file': pki.agent('ca.crt'),
        'cert_file': pki.agent('zun-vk-client.crt'),
        'key_file': pki.agent('zun-vk-client.key'),
        'ticket_private_key_file': pki.agent('ticket.key'),
        'endpoints': '%s:%s:%d' % (C.zun_host(), C.HOST, AGENT_PORT),
    }}


class ZunVKAgent(comp.Component):
    name = 'zun-vk-agent'
    port_key = False
    ready_timeout = 30

    @property
    def address(self):
        return 'https://%s:%d (mutual TLS)' % (C.HOST, AGENT_PORT)

    def configure(self):
        streaming_pki.StreamingPKI(self.ctx).ensure()
        write_agent_conf(self.ctx)
        with open(conf_path(self.ctx)) as f:
            return comp._fingerprint(
                f.read(), streaming_pki.StreamingPKI(self.ctx).fingerprint())

    def command(self):
        return ([os.path.join(self.ctx.venvs['zun-vk'], 'bin',
                              'zun-vk-agent'),
                 '--config-file', conf_path(self.ctx)], {}, None)

    def ready(self):
        return self.pid() is not None and util.port_open(AGENT_PORT)
