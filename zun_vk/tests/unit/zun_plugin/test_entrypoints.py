"""A pod's command replaces the image's ENTRYPOINT on a companion host."""

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

from zun.common import consts  # noqa: E402

from zun_vk.tests.unit.zun_plugin import fakes  # noqa: E402
from zun_vk.zun_plugin import capsule_hints  # noqa: E402
from zun_vk.zun_plugin import driver  # noqa: E402


def _capsule(label, containers, init_containers=()):
    labels = {'zun-vk/node': 'vk-1', 'zun-vk/pod-uid': 'pod-1'}
    if label is not None:
        labels[capsule_hints.ENTRYPOINT_LABEL] = label
    return fakes.capsule(1, status=consts.CREATING, labels=labels,
                         containers=containers,
                         init_containers=init_containers)


def _member(n, command, init=False):
    c = fakes.container(n, 'c%d' % n, status=consts.CREATING, init=init)
    c.command = command
    c.entrypoint = None
    return c


def test_marked_commands_become_entrypoints(monkeypatch):
    fakes.install_db(monkeypatch)
    app = _member(2, ['sh', '-c', 'echo hi', 'extra'])
    plain = _member(3, ['only-args'])
    init = _member(4, ['/agnhost-2'], init=True)
    capsule = _capsule('c0:3,i0:1', [app, plain], [init])
    wrapped = fakes.FakeWrapped()
    seen = {}

    def create(context, capsule, *args, **kwargs):
        seen.update({c.name: (c.entrypoint, c.command)
                     for c in (list(capsule.containers) +
                               list(capsule.init_containers))})
        return capsule
    wrapped.create_capsule = create
    drv = driver.NotifyingDriver(wrapped=wrapped,
                                 sender=fakes.RecordingSender())
    drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert seen == {
        # command and args: ENTRYPOINT = command, CMD = args
        'c2': (['sh', '-c', 'echo hi'], ['extra']),
        # args only: the image's ENTRYPOINT stays, CMD = args
        'c3': (None, ['only-args']),
        # command only: no CMD, not even the image's
        'c4': (['/agnhost-2'], []),
    }


@pytest.mark.parametrize('label', [None, '', 'garbage', 'c0:x', 'q0:1',
                                   'c-1:2', 'c0:0'])
def test_unmarked_or_malformed_label_changes_nothing(monkeypatch, label):
    fakes.install_db(monkeypatch)
    app = _member(2, ['sh', '-c', 'true'])
    capsule = _capsule(label, [app])
    drv = driver.NotifyingDriver(wrapped=fakes.FakeWrapped(),
                                 sender=fakes.RecordingSender())
    drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert (app.entrypoint, app.command) == (None, ['sh', '-c', 'true'])


class NullResource(Exception):
    """Named as the docker SDK's error for an empty resource ID."""


def _refusing_wrapped(calls):
    wrapped = fakes.FakeWrapped()

    def delete_capsule(context, capsule, force):
        calls.append(('delete_capsule', force))
        raise NullResource('Resource ID was not provided')

    def delete(context, capsule, force):
        calls.append(('delete', capsule.uuid, force))
    wrapped.delete_capsule = delete_capsule
    wrapped.delete = delete
    return wrapped


def test_capsule_deleted_before_its_sandbox_is_removed(monkeypatch):
    fakes.install_db(monkeypatch)
    calls = []
    sender = fakes.RecordingSender()
    drv = driver.NotifyingDriver(wrapped=_refusing_wrapped(calls),
                                 sender=sender)
    capsule = _capsule(None, [])
    capsule.container_id = None
    drv.delete_capsule(fakes.CONTEXT, capsule, True)
    assert calls == [('delete_capsule', True), ('delete', capsule.uuid, True)]


def test_null_resource_with_a_sandbox_is_still_an_error(monkeypatch):
    fakes.install_db(monkeypatch)
    calls = []
    drv = driver.NotifyingDriver(wrapped=_refusing_wrapped(calls),
                                 sender=fakes.RecordingSender())
    capsule = _capsule(None, [])
    capsule.container_id = 'abc123'
    with pytest.raises(NullResource):
        drv.delete_capsule(fakes.CONTEXT, capsule, True)
    assert calls == [('delete_capsule', True)]


def test_the_sandbox_gets_the_pods_hostname(monkeypatch):
    fakes.install_db(monkeypatch)
    capsule = _capsule(None, [])
    capsule.labels = dict(capsule.labels, **{
        capsule_hints.HOSTNAME_LABEL: 'web-0'})
    capsule.hostname = None
    seen = {}
    wrapped = fakes.FakeWrapped()

    def create(context, capsule, *args, **kwargs):
        seen['hostname'] = capsule.hostname
        return capsule
    wrapped.create_capsule = create
    drv = driver.NotifyingDriver(wrapped=wrapped,
                                 sender=fakes.RecordingSender())
    drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert seen == {'hostname': 'web-0'}
