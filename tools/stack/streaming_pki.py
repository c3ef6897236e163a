"""Certificates and keys of the kubelet API and of the agent channel.

Two trust domains, as in a real deployment:

* the cluster's CA (KubePKI) signs zun-vk's kubelet serving certificate,
  which kube-apiserver verifies (--kubelet-certificate-authority), and
  the apiserver's kubelet client certificate, which zun-vk verifies
  ([kubelet]client_ca_file);
* a CA of the agent channel signs the agent's serving certificate and
  zun-vk's client certificate; zun-vk alone holds the Ed25519 key that
  signs tickets, the agent the public half.

Files are made once and kept; openssl is the only tool.
"""

import os
import shutil

from . import context as C
from . import util

KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client'
ZUN_VK_CLIENT_NAME = 'zun-vk'
DAYS = '3650'


def _openssl():
    return shutil.which('openssl') or '/usr/bin/openssl'


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def _signed(directory, name, subject, extensions, ca_crt, ca_key, log):
    """name.key and name.crt signed by the CA, unless they exist."""
    crt = os.path.join(directory, name + '.crt')
    if os.path.exists(crt):
        return
    key = os.path.join(directory, name + '.key')
    csr = os.path.join(directory, name + '.csr')
    ext = os.path.join(directory, name + '.ext')
    _write(ext, extensions)
    util.run([_openssl(), 'req', '-newkey', 'rsa:2048', '-nodes',
              '-keyout', key, '-out', csr, '-subj', subject], log=log)
    os.chmod(key, 0o600)
    util.run([_openssl(), 'x509', '-req', '-in', csr, '-CA', ca_crt,
              '-CAkey', ca_key, '-CAcreateserial', '-days', DAYS,
              '-extfile', ext, '-out', crt], log=log)


class StreamingPKI(object):
    """Paths: kube(name) in the cluster PKI, agent(name) of the agents."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.kube_dir = ctx.path('kube')
        self.agent_dir = ctx.path('agent-pki')

    def kube(self, name):
        return os.path.join(self.kube_dir, name)

    def agent(self, name):
        return os.path.join(self.agent_dir, name)

    def ensure(self):
        """Make what is missing; the cluster CA must exist already."""
        log = self.ctx.log('streaming-pki')
        ca_crt, ca_key = self.kube('ca.crt'), self.kube('ca.key')
        _signed(self.kube_dir, 'kubelet-serving', '/CN=%s' % C.ZUN_VK_NODE,
                'subjectAltName=IP:%s,DNS:localhost,DNS:%s\n'
                'keyUsage=digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=serverAuth\n' % (C.HOST, C.ZUN_VK_NODE),
                ca_crt, ca_key, log)
        _signed(self.kube_dir, 'apiserver-kubelet-client',
                '/CN=%s' % KUBELET_CLIENT_USER,
                'keyUsage=digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=clientAuth\n', ca_crt, ca_key, log)
        os.makedirs(self.agent_dir, mode=0o700, exist_ok=True)
        if not os.path.exists(self.agent('ca.crt')):
            util.run([_openssl(), 'req', '-x509', '-newkey', 'rsa:2048',
                      '-nodes', '-keyout', self.agent('ca.key'),
                      '-out', self.agent('ca.crt'), '-days', DAYS,
                      '-subj', '/CN=zun-vk-stack-agent-ca'], log=log)
        agent_ca = (self.agent('ca.crt'), self.agent('ca.key'))
        _signed(self.agent_dir, 'agent', '/CN=%s' % C.zun_host(),
                'subjectAltName=IP:%s,DNS:localhost,DNS:%s\n'
                'keyUsage=digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=serverAuth\n' % (C.HOST, C.zun_host()),
                *agent_ca, log=log)
        _signed(self.agent_dir, 'zun-vk-client',
                '/CN=%s' % ZUN_VK_CLIENT_NAME,
                'keyUsage=digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=clientAuth\n', *agent_ca, log=log)
        if not os.path.exists(self.agent('ticket.pub')):
            util.run([_openssl(), 'genpkey', '-algorithm', 'ed25519',
                      '-out', self.agent('ticket.key')], log=log)
            os.chmod(self.agent('ticket.key'), 0o600)
            util.run([_openssl(), 'pkey', '-in', self.agent('ticket.key'),
                      '-pubout', '-out', self.agent('ticket.pub')], log=log)

    def fingerprint(self):
        """What a change of any certificate should restart."""
        parts = []
        for path in (self.kube('kubelet-serving.crt'),
                     self.kube('apiserver-kubelet-client.crt'),
                     self.agent('agent.crt'), self.agent('zun-vk-client.crt'),
                     self.agent('ticket.pub')):
            try:
                with open(path) as f:
                    parts.append(f.read())
            except OSError:
                parts.append('')
        return ''.join(parts)
