"""In-memory Kubernetes and Zun for the pod handler's unit tests."""

import types

from zun_vk.kube import cluster_view
from zun_vk.zun import client as zun_client

NODE = 'vk-1'
CLUSTER = 'c1'


def conf():
    return types.SimpleNamespace(
        cluster_id=CLUSTER, node_name=NODE,
        node=types.SimpleNamespace(internal_ip='10.0.0.1',
                                   cluster_domain='cluster.local'),
        zun=types.SimpleNamespace(default_cpu=0.5, default_memory_mb=256,
                                  availability_zone=None,
                                  companion_driver=False,
                                  empty_dir_cinder_size_gb=None))


def make_pod(name='p', uid='0123456789abcdef', phase='Pending', **meta):
    pod = {
        'metadata': dict({'name': name, 'namespace': 'ns', 'uid': uid,
                          'resourceVersion': '1'}, **meta),
        'spec': {'nodeName': NODE, 'restartPolicy': 'Always',
                 'containers': [{'name': 'main', 'image': 'busybox'}]},
        'status': {'phase': phase},
    }
    return pod


class FakeZun(object):
    def __init__(self):
        self.capsules = {}
        self.created = []
        self.deleted = []
        self.fail_create = None
        self.counter = 0
        self.templates = []
        self.gets = 0

    def _labels_ok(self, c):
        return c

    def create_capsule(self, template):
        if self.fail_create:
            raise self.fail_create
        self.counter += 1
        uuid = 'cap-%d' % self.counter
        capsule = {'uuid': uuid, 'name': template['metadata']['name'],
                   'labels': template['metadata']['labels'],
                   'status': 'Creating', 'status_reason': None,
                   'created_at': '2026-01-01T00:00:0%dZ' % self.counter,
                   'containers': [], 'init_containers': [],
                   'addresses': {}}
        self.capsules[uuid] = capsule
        self.created.append(uuid)
        self.templates.append(template)
        return dict(capsule)

    def get_capsule(self, ident):
        self.gets += 1
        matches = [c for c in self.capsules.values()
                   if ident in (c['uuid'], c['name'])]
        if len(matches) > 1:
            raise zun_client.ZunError('Multiple', status=409,
                                      transient=False)
        return dict(matches[0]) if matches else None

    def delete_capsule(self, uuid):
        self.deleted.append(uuid)
        return self.capsules.pop(uuid, None) is None

    def list_capsules(self):
        return [dict(c) for c in self.capsules.values()]


class FakePods(object):
    def __init__(self):
        self.statuses = []
        self.deleted = []
        self.config_maps = {}
        self.secrets = {}

    def patch_status(self, pod, status):
        self.statuses.append(status)
        updated = dict(pod, status=status)
        meta = dict(pod['metadata'])
        meta['resourceVersion'] = str(int(meta['resourceVersion']) + 1)
        updated['metadata'] = meta
        return updated

    def delete_now(self, pod):
        self.deleted.append(pod['metadata']['uid'])

    def read_config_map(self, namespace, name):
        return self.config_maps.get(name)

    def read_secret(self, namespace, name):
        return self.secrets.get(name)


class FakeEvents(object):
    def __init__(self):
        self.recorded = []
        self.paths = []

    def record(self, pod, event_type, reason, message, field_path=None):
        self.recorded.append((event_type, reason, message))
        self.paths.append(field_path)


class FakeCluster(object):
    def __init__(self):
        self.master = []
        self.services = {}
        self.allocatable = {'cpu': '100', 'memory': '409600Mi'}
        self.forbidden = False
        self.allocatable_reads = 0

    def master_services(self):
        if self.forbidden:
            raise cluster_view.ServicesForbidden('may not read Services')
        return self.master

    def namespace_services(self, namespace):
        return self.services.get(namespace, [])

    def node_allocatable(self):
        self.allocatable_reads += 1
        return self.allocatable
