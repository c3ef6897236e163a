"""[kubernetes]qps and burst hold for every request the client sends."""

import http.server
import json
import threading
import types

from kubernetes import client as k8s_client
import pytest

from zun_vk.kube import client as kube_client


class NamespaceHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        body = json.dumps({'apiVersion': 'v1', 'kind': 'Namespace',
                           'metadata': {'name': 'kube-system',
                                        'uid': 'u-1'}}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api_server():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                             NamespaceHandler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def kubeconfig(api_server, tmp_path):
    path = tmp_path / 'kubeconfig'
    path.write_text(json.dumps({
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'test',
        'clusters': [{'name': 'test', 'cluster': {
            'server': 'http://127.0.0.1:%d' % api_server.server_port}}],
        'users': [{'name': 'test', 'user': {'token': 'secret'}}],
        'contexts': [{'name': 'test', 'context': {'cluster': 'test',
                                                  'user': 'test'}}]}))
    return str(path)


class StoppedClock(object):
    """Time moves only while the bucket sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def conf(kubeconfig, qps=2.0, burst=3):
    return types.SimpleNamespace(
        node_name='vk-1', sync=types.SimpleNamespace(pod_workers=1),
        kubernetes=types.SimpleNamespace(
            kubeconfig=kubeconfig, context=None, qps=qps, burst=burst,
            request_timeout=10))


def test_requests_beyond_the_burst_wait_at_the_qps(api_server, kubeconfig,
                                                   monkeypatch):
    clock = StoppedClock()
    bucket = kube_client.TokenBucket
    monkeypatch.setattr(
        kube_client, 'TokenBucket', lambda qps, burst: bucket(
            qps, burst, clock=clock, sleep=clock.sleep))
    api = kube_client.new_api_client(conf(kubeconfig, qps=2.0, burst=3))
    core = k8s_client.CoreV1Api(api)
    for _ in range(5):
        assert core.read_namespace('kube-system').metadata.uid == 'u-1'
    assert len(api_server.paths) == 5
    # [kubernetes]burst = 3 go at once, the fourth and fifth wait half a
    # second each ([kubernetes]qps = 2).
    assert clock.sleeps == [0.5, 0.5]
    api.close()
