"""The untainted zun-vk node the conformance tests run on, and its removal.

The e2e framework schedules plain pods, which never tolerate the stack's
own node's taint; this node carries none. It is a zun-vk process of its
own (node name, kubelet port and pid file apart from the stack's), and
everything it leaves behind (pods bound to it, its Node and Lease, the
capsules labelled for it) is removed afterwards.
"""

import json
import os
import subprocess
import time
import urllib.parse

from stack import components as comp
from stack import context as C
from stack import util
from stack.util import info

NODE = 'zun-vk-conformance'
KUBELET_PORT = 10252

# Lists the capsules labelled for a node and deletes them; run with the
# zun-vk virtualenv's python, which has keystoneauth and zunclient.
DELETE_CAPSULES = r'''
import json, sys, time
from keystoneauth1 import loading, session
from zunclient import client, exceptions
args = json.loads(sys.argv[1])
auth = loading.get_plugin_loader('password').load_from_options(
    auth_url=args['auth_url'], username=args['username'],
    password=args['password'], project_name=args['project'],
    user_domain_name='Default', project_domain_name='Default')
zun = client.Client(args['version'], session=session.Session(auth=auth),
                    region_name=args['region'])
def mine():
    found, marker = [], None
    while True:
        page = zun.capsules.list(limit=100, marker=marker)
        for c in page:
            labels = getattr(c, 'labels', None) or {}
            if labels.get('zun-vk/node') == args['node']:
                found.append(c.uuid)
        if len(page) < 100:
            return found
        marker = page[-1].uuid
left = mine()
print(len(left))
for uuid in left:
    try:
        zun.capsules.delete(uuid)
    except exceptions.NotFound:
        pass
deadline = time.time() + 300
while left and time.time() < deadline:
    time.sleep(2)
    left = mine()
if left:
    sys.exit('capsules still there after 300 s: %s' % ', '.join(left))
'''


class ConformanceZunVK(comp.ZunVK):
    name = 'zun-vk-conformance'
    node_name = NODE

    @property
    def overrides_path(self):
        return self.ctx.path('zun-vk', 'conformance.conf')

    def config_files(self):
        return [self.ctx.zun_vk_conf, self.overrides_path]

    def configure(self):
        comp.write_file(self.overrides_path, comp.ini({
            'DEFAULT': {'node_name': NODE},
            # The e2e framework's pods tolerate no taint.
            'node': {'taints': '', 'kubelet_port': KUBELET_PORT},
        }), 0o600)
        return super(ConformanceZunVK, self).configure()


def _kube(ctx, method, path, body=None):
    status, data, _ = comp.kube_request(ctx, method, path, body=body,
                                        timeout=30)
    return status, data


def pods_on_node(ctx):
    q = urllib.parse.urlencode({'fieldSelector': 'spec.nodeName=' + NODE})
    status, data = _kube(ctx, 'GET', '/api/v1/pods?' + q)
    if status != 200:
        return None
    return [(p['metadata']['namespace'], p['metadata']['name'])
            for p in data.get('items', [])]


def other_nodes(ctx):
    """Names of the cluster's nodes other than the conformance node."""
    status, data = _kube(ctx, 'GET', '/api/v1/nodes')
    if status != 200:
        raise util.StackError('listing nodes failed (%s)' % status)
    return [n['metadata']['name'] for n in data.get('items', [])
            if n['metadata']['name'] != NODE]


def start(ctx):
    return ConformanceZunVK(ctx).up()


def remove(ctx, wait=600, stalled=120):
    """Stop the node's zun-vk once its pods are gone; remove what is left.

    The tests' namespaces take their pods away; the wait ends when none
    is left, after `wait` seconds, or when none went for `stalled` s.
    """
    node = ConformanceZunVK(ctx)
    if node.pid():
        deadline = time.time() + wait
        pods = pods_on_node(ctx)
        last, last_change = len(pods or []), time.time()
        while pods and time.time() < deadline and \
                time.time() - last_change < stalled:
            time.sleep(5)
            pods = pods_on_node(ctx)
            if len(pods or []) != last:
                last, last_change = len(pods or []), time.time()
        if pods:
            info('conformance: %d pod(s) still on %s; removing them by '
                 'force' % (len(pods), NODE))
        node.stop()
    for ns, name in pods_on_node(ctx) or []:
        _kube(ctx, 'DELETE', '/api/v1/namespaces/%s/pods/%s' % (ns, name),
              {'kind': 'DeleteOptions', 'apiVersion': 'v1',
               'gracePeriodSeconds': 0})
    _kube(ctx, 'DELETE', '/api/v1/nodes/' + NODE)
    _kube(ctx, 'DELETE',
          '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/'
          + NODE)
    args = {'auth_url': ctx.auth_url, 'username': C.DEMO_USER,
            'password': C.DEMO_PASSWORD, 'project': C.DEMO_PROJECT,
            'region': C.REGION, 'version': C.ZUN_API_VERSION, 'node': NODE}
    python = os.path.join(ctx.venvs['zun-vk'], 'bin', 'python')
    p = subprocess.run([python, '-c', DELETE_CAPSULES, json.dumps(args)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=420)
    if p.returncode != 0:
        raise util.StackError('deleting the capsules of %s failed: %s' % (
            NODE, p.stderr.decode(errors='replace').strip()[-500:]))
    left = p.stdout.decode().strip() or '0'
    info('conformance: node %s removed (%s capsule(s) of it deleted)'
         % (NODE, left))
