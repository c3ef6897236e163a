"""Fakes for the companion plugin's tests. Needs zun: import it only after
``pytest.importorskip('zun')``."""

import contextlib
import threading

from oslo_config import cfg
from zun.common import consts
from zun import objects

from zun_vk.zun_plugin import conf as plugin_conf

HOST = 'compute-1'
CONTEXT = object()

plugin_conf.register_opts(cfg.CONF)


def uuid(n):
    return '6a4b3c0e-0000-4000-8000-%012d' % n


class Saves(object):
    """Replaces the database behind Zun's container objects."""

    def __init__(self):
        self.saved = []
        self.destroyed = []

    def save(self, obj, context=None):
        self.saved.append((obj.uuid, obj.obj_what_changed()))
        obj.obj_reset_changes()

    def destroy(self, obj, context=None):
        self.destroyed.append(obj.uuid)


def install_db(monkeypatch):
    saves = Saves()
    monkeypatch.setattr(objects.container.ContainerBase, 'save',
                        lambda self, context=None: saves.save(self, context))
    monkeypatch.setattr(objects.container.ContainerBase, 'destroy',
                        lambda self, context=None: saves.destroy(self,
                                                                 context))
    return saves


def _fill(obj, n, name, status, host=HOST, container_id=None,
          status_detail=None, labels=None):
    obj.uuid = uuid(n)
    obj.name = name
    obj.status = status
    obj.status_reason = None
    obj.status_detail = status_detail
    obj.task_state = None
    obj.host = host
    obj.container_id = container_id
    obj.labels = labels or {}
    obj.started_at = None
    return obj


def container(n, name, status=consts.RUNNING, container_id=None,
              status_detail=None, init=False):
    cls = objects.CapsuleInitContainer if init else objects.CapsuleContainer
    obj = _fill(cls(), n, name, status, container_id=container_id,
                status_detail=status_detail)
    obj.capsule_id = 1
    obj.obj_reset_changes()
    return obj


def capsule(n, status=consts.RUNNING, host=HOST, containers=(),
            init_containers=(), container_id=None, labels=None):
    obj = _fill(objects.Capsule(), n, 'capsule-%d' % n, status, host=host,
                container_id=container_id,
                labels=labels if labels is not None else {
                    'zun-vk/node': 'vk-1', 'zun-vk/pod-uid': 'pod-%d' % n})
    obj.containers = list(containers)
    obj.init_containers = list(init_containers)
    obj.obj_reset_changes()
    return obj


def plain_container(n, status=consts.RUNNING, host=HOST):
    obj = _fill(objects.Container(), n, 'plain-%d' % n, status, host=host)
    obj.obj_reset_changes()
    return obj


class RecordingSender(object):
    """Stands in for notifier.NotificationSender."""

    def __init__(self):
        self.events = []

    def emit(self, event_type, payload):
        self.events.append((event_type, payload))
        return True

    def types(self):
        return [e for e, _ in self.events]

    def data(self, index=-1):
        return self.events[index][1]['zun_vk_object.data']


class FakeWrapped(object):
    """A wrapped driver that is not Zun's docker driver."""

    capabilities = {'fake': True}

    def __init__(self):
        self.calls = []
        self.sync = None
        self.create_error = None

    def create_capsule(self, context, capsule, *args, **kwargs):
        self.calls.append(('create_capsule', capsule.uuid, args, kwargs))
        if self.create_error:
            raise self.create_error
        capsule.status = consts.RUNNING
        return capsule

    def delete_capsule(self, context, capsule, force):
        self.calls.append(('delete_capsule', capsule.uuid, force))

    def update_containers_states(self, context, containers, manager):
        self.calls.append(('update_containers_states', len(containers)))
        if self.sync:
            self.sync(containers)

    def load_image(self, path=None):
        return ('loaded', path)


class FakeDocker(object):
    """A docker API client with canned inspect results."""

    def __init__(self, states=None, fail=None):
        self.states = dict(states or {})
        self.fail = fail
        self.inspected = []

    def inspect_container(self, container_id):
        self.inspected.append(container_id)
        if self.fail is not None:
            raise self.fail
        if container_id not in self.states:
            import docker.errors
            import requests

            response = requests.Response()
            response.status_code = 404
            raise docker.errors.NotFound('No such container: %s'
                                         % container_id, response=response)
        return {'Id': container_id, 'State': self.states[container_id]}

    def factory(self):
        @contextlib.contextmanager
        def client():
            yield self
        return client


class BlockingNotifier(object):
    """A notifier whose sends block until released (a broker outage)."""

    def __init__(self):
        self.release = threading.Event()
        self.sent = []
        self.entered = threading.Event()

    def info(self, ctxt, event_type, payload):
        self.entered.set()
        self.release.wait(30)
        self.sent.append(event_type)


class RaisingNotifier(object):
    def __init__(self):
        self.attempts = 0

    def info(self, ctxt, event_type, payload):
        self.attempts += 1
        raise RuntimeError('broker on fire')
