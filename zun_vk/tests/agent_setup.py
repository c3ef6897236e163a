"""Configuration of an in-process agent and of its client, for tests.

Used by the unit tests (with a fake engine) and the functional test of
the agent against the real engine.
"""

import socket
import ssl
import tempfile

from oslo_config import cfg

from zun_vk.conf import host_agents
from zun_vk.host_agent import conf as agent_conf

HOST = 'compute1'


def agent_conf_for(files, host=HOST, cert='agent', port=0, pods_dir=None):
    """pods_dir: a new directory beside the PKI files unless given."""
    if pods_dir is None:
        pods_dir = tempfile.mkdtemp(prefix='capsules-', dir=files.directory)
    conf = cfg.ConfigOpts()
    agent_conf.register_opts(conf)
    conf([], project='zun-vk-test', default_config_files=[])
    for name, value in {
            'host': host, 'bind_address': '127.0.0.1', 'port': port,
            'cert_file': getattr(files, cert + '_cert'),
            'key_file': getattr(files, cert + '_key'),
            'client_ca_file': files.ca,
            'ticket_public_key_file': files.ticket_public,
            'pods_dir': pods_dir}.items():
        conf.set_override(name, value, group='agent')
    return conf


def client_conf_for(files, endpoints, **overrides):
    conf = cfg.ConfigOpts()
    host_agents.register_opts(conf)
    conf([], project='zun-vk-test', default_config_files=[])
    values = {'ca_file': files.ca, 'cert_file': files.client_cert,
              'key_file': files.client_key,
              'ticket_private_key_file': files.ticket_private,
              'endpoints': endpoints, 'connect_timeout': 10.0,
              'read_timeout': 30.0, 'locate_timeout': 10.0}
    values.update(overrides)
    for name, value in values.items():
        conf.set_override(name, value, group='host_agents')
    return conf


def raw_request(port, files, path, method='GET', headers=(), cert='client',
                ca=None, body=None):
    """(status, body) of one request made with the certificate given.

    cert None: none at all. ssl.SSLError or OSError when TLS refuses.
    body: bytes sent after the head (headers must say how long).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca or files.ca)
    if cert:
        context.load_cert_chain(getattr(files, cert + '_cert'),
                                getattr(files, cert + '_key'))
    with socket.create_connection(('127.0.0.1', port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname='127.0.0.1') as tls:
            lines = ['%s %s HTTP/1.1' % (method, path), 'Host: x']
            lines += ['%s: %s' % h for h in headers]
            tls.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode()
                        + (body or b''))
            data = b''
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    if not data:
        raise ConnectionResetError('closed without a reply')
    head, _, body = data.partition(b'\r\n\r\n')
    return int(head.split()[1]), body.decode()
