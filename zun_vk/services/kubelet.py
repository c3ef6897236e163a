"""The kubelet worker: the kubelet HTTP API on [node]kubelet_port.

Its own process, so a long log stream or a busy exec never slows the pod
loop or the heartbeat. Clients, the listening socket and the accept loop
are made in start(): the launcher forks before that.
"""

import shutil
import tempfile

from oslo_log import log as logging

from zun_vk.hostlink import client as agent_client
from zun_vk.kube import client as kube_client
from zun_vk.kube import cluster_identity
from zun_vk.kube import pods as pod_client
from zun_vk.kubelet import auth
from zun_vk.kubelet import backend as kubelet_backend
from zun_vk.kubelet import certs
from zun_vk.kubelet import server as kubelet_server
from zun_vk.services import base
from zun_vk.zun import client as zun_client

LOG = logging.getLogger(__name__)


class KubeletService(base.Worker):
    name = 'kubelet'

    def start(self):
        super().start()
        self.httpd = None
        self.kube = None
        self.spawn('serve', self._serve)

    def _build(self):
        conf = self.conf
        self.kube = kube_client.KubeAPI(conf)
        cluster_id = cluster_identity.cluster_id(self.kube, conf.cluster_id)
        app = kubelet_server.App(
            auth.Authenticator(self.kube.api_client, conf),
            auth.Authorizer(self.kube.api_client, conf),
            kubelet_backend.Backend(
                conf, pod_client.PodClient(self.kube, conf.node_name),
                zun_client.ZunAPI(conf), agent_client.AgentClient(conf),
                cluster_id=cluster_id),
            stream_creation_timeout=conf.kubelet.stream_creation_timeout,
            stream_idle_timeout=conf.kubelet.stream_idle_timeout)
        address = conf.kubelet.bind_address or conf.node.internal_ip
        httpd = kubelet_server.KubeletHTTPServer(
            (address, conf.node.kubelet_port), self._tls_context(), app,
            conf.kubelet.max_connections, conf.kubelet.stream_idle_timeout)
        LOG.info('Kubelet API of node %s listening on https://%s:%d '
                 '(client certificates: %s, bearer tokens: %s)',
                 conf.node_name, address, conf.node.kubelet_port,
                 conf.kubelet.client_ca_file or 'not accepted',
                 'TokenReview' if conf.kubelet.webhook_authentication
                 else 'not accepted')
        return httpd

    def _serve(self):
        """Set up, retrying what fails as the other workers do, then serve.

        An unusable kubeconfig or a port still held by another process
        is said once per attempt and retried; the process keeps running.
        """
        backoff = base.Backoff(1, 30)
        while not self.stopping and self.httpd is None:
            try:
                self.httpd = self._build()
                break
            except Exception as exc:  # noqa: B902 - retried below
                error = exc
            if self.kube is not None:
                self.kube.close()
                self.kube = None
            delay = backoff.failed()
            LOG.error('Cannot serve the kubelet API on port %d (retrying '
                      'in %d s): %s', self.conf.node.kubelet_port, delay,
                      str(error) or type(error).__name__)
            if not self.sleep(delay):
                return
        # handle_request() returns after its timeout, so the loop sees
        # the stop flag within half a second.
        self.httpd.timeout = 0.5
        while not self.stopping:
            self.httpd.handle_request()

    def _tls_context(self):
        opts = self.conf.kubelet
        if opts.tls_cert_file:
            return kubelet_server.tls_context(
                opts.tls_cert_file, opts.tls_private_key_file,
                opts.client_ca_file)
        names = [self.conf.node.internal_ip, self.conf.node.hostname,
                 self.conf.node_name, 'localhost']
        cert, key = certs.self_signed(self.conf.node_name, names)
        LOG.warning('[kubelet]tls_cert_file is not set: serving a '
                    'self-signed certificate that kube-apiserver cannot '
                    'verify')
        scratch = tempfile.mkdtemp(prefix='zun-vk-kubelet-')
        try:
            return kubelet_server.tls_context(
                certs.write_private(scratch, 'cert', cert),
                certs.write_private(scratch, 'key', key),
                opts.client_ca_file)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def release(self):
        httpd = getattr(self, 'httpd', None)
        if httpd is not None:
            httpd.server_close()
        kube = getattr(self, 'kube', None)
        if kube is not None:
            kube.close()
