"""NotifyingDriver: delegation, loading, events and the sync diff."""

import time
from unittest import mock

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

from oslo_config import cfg  # noqa: E402
from stevedore import driver as stevedore_driver  # noqa: E402
from zun.common import consts  # noqa: E402
from zun.container import driver as zun_driver  # noqa: E402

from zun_vk.tests.unit.zun_plugin import fakes  # noqa: E402
from zun_vk.zun_plugin import driver  # noqa: E402
from zun_vk.zun_plugin import notifier  # noqa: E402

CONF = cfg.CONF
SPECIAL = ('create_capsule', 'delete_capsule', 'update_containers_states')


@pytest.fixture(autouse=True)
def host():
    CONF.set_override('host', fakes.HOST)
    yield
    CONF.clear_override('host')


@pytest.fixture
def db(monkeypatch):
    return fakes.install_db(monkeypatch)


@pytest.fixture
def sender():
    return fakes.RecordingSender()


@pytest.fixture
def wrapped():
    return fakes.FakeWrapped()


@pytest.fixture
def drv(wrapped, sender):
    return driver.NotifyingDriver(wrapped=wrapped, sender=sender)


# --- shape and delegation ---------------------------------------------------

def test_is_what_zun_loaders_check(drv):
    assert isinstance(drv, zun_driver.ContainerDriver)
    assert isinstance(drv, zun_driver.CapsuleDriver)
    assert isinstance(drv, zun_driver.BaseDriver)


def test_every_public_base_method_is_overridden():
    names = driver.base_method_names()
    # Spot checks that the scan found all three bases.
    for name in ('create', 'pull_image', 'create_capsule', 'delete_capsule',
                 'get_available_resources', 'update_provider_tree',
                 'capabilities_as_traits', 'get_pci_resources'):
        assert name in names
    for name in names:
        assert name in vars(driver.NotifyingDriver), name


@pytest.mark.parametrize('name', [n for n in driver.base_method_names()
                                  if n not in SPECIAL])
def test_base_method_is_delegated(name):
    wrapped = mock.Mock()
    drv = driver.NotifyingDriver(wrapped=wrapped,
                                 sender=fakes.RecordingSender())
    result = getattr(drv, name)(mock.sentinel.a, key=mock.sentinel.b)
    getattr(wrapped, name).assert_called_once_with(mock.sentinel.a,
                                                   key=mock.sentinel.b)
    assert result is getattr(wrapped, name).return_value


def test_special_methods_are_delegated(drv, wrapped, db):
    capsule = fakes.capsule(1, status=consts.CREATING)
    assert drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {}) is \
        capsule
    drv.delete_capsule(fakes.CONTEXT, capsule, True)
    drv.update_containers_states(fakes.CONTEXT, [capsule], object())
    assert [c[0] for c in wrapped.calls] == list(SPECIAL)
    assert wrapped.calls[0][2] == ('image', [], {})
    assert wrapped.calls[1][2] is True


def test_other_attributes_come_from_the_wrapped_driver(drv):
    # The docker driver's extras the manager calls (load_image,
    # read_tar_image, check_container_exist, ...) and its capabilities.
    assert drv.load_image('/x') == ('loaded', '/x')
    assert drv.capabilities == {'fake': True}
    assert drv.capabilities_as_traits is not None
    with pytest.raises(AttributeError):
        drv.no_such_thing


def test_delegated_errors_propagate():
    wrapped = mock.Mock()
    wrapped.stop.side_effect = ValueError('boom')
    drv = driver.NotifyingDriver(wrapped=wrapped,
                                 sender=fakes.RecordingSender())
    with pytest.raises(ValueError):
        drv.stop(fakes.CONTEXT, object(), 10)


# --- loading -----------------------------------------------------------------

class _FakeZunDriver(fakes.FakeWrapped, zun_driver.ContainerDriver):
    pass


class _Registry(object):
    """Stands in for stevedore's entry point lookup."""

    def __init__(self, plugins):
        self.plugins = plugins

    def __call__(self, namespace, name, invoke_on_load=False, **kwargs):
        plugin = self.plugins[(namespace, name)]
        return mock.Mock(driver=plugin() if invoke_on_load else plugin)


@pytest.fixture
def registry(monkeypatch):
    reg = _Registry({
        ('zun.container.driver', 'zun_vk_notifying'):
            driver.NotifyingDriver,
        ('zun.capsule.driver', 'zun_vk_notifying'): driver.NotifyingDriver,
        ('zun.container.driver', 'fake'): _FakeZunDriver,
    })
    monkeypatch.setattr(stevedore_driver, 'DriverManager', reg)
    notifier._reset_for_tests()
    yield reg
    notifier._reset_for_tests()
    CONF.clear_override('wrapped_driver', group='zun_vk_plugin')
    CONF.clear_override('container_driver')
    CONF.clear_override('capsule_driver')


def test_zun_loads_it_in_both_roles_sharing_one_sender(registry):
    CONF.set_override('container_driver', 'zun_vk_notifying')
    CONF.set_override('capsule_driver', 'zun_vk_notifying')
    CONF.set_override('wrapped_driver', 'fake', group='zun_vk_plugin')
    container_role = zun_driver.load_container_driver()
    capsule_role = zun_driver.load_capsule_driver()
    assert isinstance(container_role, driver.NotifyingDriver)
    assert isinstance(capsule_role, driver.NotifyingDriver)
    assert isinstance(container_role.wrapped, fakes.FakeWrapped)
    assert container_role.sender is capsule_role.sender
    assert container_role.capsule_sync is None  # not the docker driver


@pytest.mark.parametrize('name', ['zun_vk_notifying', ''])
def test_refuses_to_wrap_itself(registry, name):
    CONF.set_override('wrapped_driver', name, group='zun_vk_plugin')
    with pytest.raises(ValueError):
        driver.NotifyingDriver()


def test_refuses_its_own_class_under_another_name(registry):
    registry.plugins[('zun.container.driver', 'alias')] = \
        driver.NotifyingDriver
    with pytest.raises(ValueError):
        driver.load_wrapped_driver('alias')


def test_docker_driver_gets_the_capsule_sync(monkeypatch):
    from zun.container.docker import driver as docker_driver
    fake_docker = docker_driver.DockerDriver.__new__(
        docker_driver.DockerDriver)
    drv = driver.NotifyingDriver(wrapped=fake_docker,
                                 sender=fakes.RecordingSender())
    assert drv.capsule_sync is not None


# --- create and delete events ------------------------------------------------

def test_create_sends_start_then_end(drv, sender, db):
    capsule = fakes.capsule(1, status=consts.CREATING)

    def create(context, obj, *args, **kwargs):
        obj.status = consts.RUNNING
        obj.save(context)
        return obj
    drv.wrapped.create_capsule = create
    drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert sender.types() == ['capsule.create.start', 'capsule.create.end']
    assert sender.data(0)['status'] == consts.CREATING
    assert sender.data(1)['status'] == consts.RUNNING


def test_create_end_waits_for_the_managers_save(drv, sender, db):
    # Zun's docker driver sets Running without saving; zun-compute saves
    # when it clears the task state. zun-vk must not read Created.
    capsule = fakes.capsule(1, status=consts.CREATED)
    drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert sender.types() == ['capsule.create.start']
    capsule.task_state = None
    capsule.save(fakes.CONTEXT)
    assert sender.types() == ['capsule.create.start', 'capsule.create.end']
    assert sender.data()['status'] == consts.RUNNING
    # One-shot: later saves send nothing.
    capsule.save(fakes.CONTEXT)
    assert len(sender.events) == 2
    assert 'save' not in capsule.__dict__


def test_create_error_is_sent_once_zun_recorded_it(drv, wrapped, sender, db):
    capsule = fakes.capsule(1, status=consts.CREATING)
    wrapped.create_error = RuntimeError('image not found')
    with pytest.raises(RuntimeError):
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert sender.types() == ['capsule.create.start']
    # What zun-compute's _fail_container does next.
    capsule.status = consts.ERROR
    capsule.status_reason = 'image not found'
    capsule.host = None
    capsule.save(fakes.CONTEXT)
    assert sender.types() == ['capsule.create.start', 'capsule.create.error']
    data = sender.data()
    assert (data['status'], data['status_reason'], data['host']) == (
        consts.ERROR, 'image not found', None)


def test_failed_create_is_cleaned_up_for_docker(wrapped, sender, db):
    wrapped.create_error = RuntimeError('init container failed')
    drv = driver.NotifyingDriver(wrapped=wrapped, sender=sender,
                                 capsule_sync=mock.Mock())
    capsule = fakes.capsule(1, status=consts.CREATING, container_id='sb1')
    with pytest.raises(RuntimeError):
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert wrapped.calls[-1] == ('delete_capsule', capsule.uuid, True)


def test_failed_cleanup_does_not_hide_the_create_error(wrapped, sender, db):
    wrapped.create_error = RuntimeError('the real error')
    wrapped.delete_capsule = mock.Mock(side_effect=OSError('engine gone'))
    drv = driver.NotifyingDriver(wrapped=wrapped, sender=sender,
                                 capsule_sync=mock.Mock())
    capsule = fakes.capsule(1, status=consts.CREATING, container_id='sb1')
    with pytest.raises(RuntimeError, match='the real error'):
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})


def test_no_cleanup_when_nothing_was_created_or_disabled(wrapped, sender,
                                                         db):
    wrapped.create_error = RuntimeError('x')
    drv = driver.NotifyingDriver(wrapped=wrapped, sender=sender,
                                 capsule_sync=mock.Mock())
    with pytest.raises(RuntimeError):
        drv.create_capsule(fakes.CONTEXT, fakes.capsule(1), 'image', [], {})
    CONF.set_override('cleanup_failed_capsules', False,
                      group='zun_vk_plugin')
    try:
        with pytest.raises(RuntimeError):
            drv.create_capsule(fakes.CONTEXT,
                               fakes.capsule(2, container_id='sb'),
                               'image', [], {})
    finally:
        CONF.clear_override('cleanup_failed_capsules', group='zun_vk_plugin')
    assert [c[0] for c in wrapped.calls] == ['create_capsule'] * 2


def test_delete_end_is_sent_once_the_row_is_gone(drv, sender, db):
    capsule = fakes.capsule(1, status=consts.DELETING)
    drv.delete_capsule(fakes.CONTEXT, capsule, False)
    assert sender.events == []
    capsule.destroy(fakes.CONTEXT)  # zun-compute, after Placement cleanup
    assert sender.types() == ['capsule.delete.end']
    assert sender.data()['status'] == consts.DELETED
    assert db.destroyed == [capsule.uuid]


def test_failed_delete_sends_an_update_after_zun_records_it(
        drv, wrapped, sender, db):
    wrapped.delete_capsule = mock.Mock(side_effect=RuntimeError('engine'))
    capsule = fakes.capsule(1, status=consts.DELETING)
    with pytest.raises(RuntimeError):
        drv.delete_capsule(fakes.CONTEXT, capsule, False)
    capsule.status = consts.ERROR
    capsule.save(fakes.CONTEXT)
    assert sender.types() == ['capsule.update']
    assert sender.data()['status'] == consts.ERROR


# --- the sync diff -----------------------------------------------------------

def test_sync_sends_one_update_per_changed_capsule(drv, wrapped, sender,
                                                   db):
    a1 = fakes.container(11, 'a-one')
    a2 = fakes.container(12, 'a-two')
    changed = fakes.capsule(1, containers=[a1, a2])
    b1 = fakes.container(21, 'b-one')
    same = fakes.capsule(2, containers=[b1])
    c1 = fakes.container(31, 'c-one')
    elsewhere = fakes.capsule(3, host='compute-2', containers=[c1])
    init = fakes.container(41, 'd-init', status=consts.RUNNING, init=True)
    capsule_only = fakes.capsule(4, status=consts.CREATING,
                                 init_containers=[init])

    def sync(objs):
        # Two changes in one capsule, one in another host's capsule, the
        # capsule itself in a third.
        a1.status, a1.status_detail = consts.STOPPED, 'Exited(3)'
        a2.status_reason = 'OOMKilled'
        c1.status = consts.STOPPED
        capsule_only.status = consts.RUNNING
    wrapped.sync = sync
    drv.update_containers_states(
        fakes.CONTEXT, [changed, same, elsewhere, capsule_only], object())
    assert sender.types() == ['capsule.update', 'capsule.update']
    first, second = sender.data(0), sender.data(1)
    assert first == {
        'uuid': changed.uuid,
        'name': 'capsule-1',
        'status': consts.RUNNING,
        'status_reason': None,
        'labels': {'zun-vk/node': 'vk-1', 'zun-vk/pod-uid': 'pod-1'},
        'host': fakes.HOST,
        'containers': [
            {'name': 'a-one', 'uuid': a1.uuid, 'status': consts.STOPPED,
             'status_reason': None, 'status_detail': 'Exited(3)',
             'exit_code': 3, 'started_at': None, 'finished_at': None},
            {'name': 'a-two', 'uuid': a2.uuid, 'status': consts.RUNNING,
             'status_reason': 'OOMKilled', 'status_detail': None,
             'exit_code': None, 'started_at': None, 'finished_at': None},
        ],
        'init_containers': [],
    }
    assert second['uuid'] == capsule_only.uuid
    assert second['init_containers'][0]['name'] == 'd-init'
    payload = sender.events[0][1]
    assert payload['zun_vk_object.name'] == 'CapsulePayload'
    assert payload['zun_vk_object.namespace'] == 'zun_vk'
    assert payload['zun_vk_object.version'] == '1.0'


def test_sync_without_changes_sends_nothing(drv, sender, db):
    capsules = [fakes.capsule(1, containers=[fakes.container(2, 'x')])]
    drv.update_containers_states(fakes.CONTEXT, capsules, object())
    drv.update_containers_states(fakes.CONTEXT, [fakes.plain_container(5)],
                                 object())
    assert sender.events == []


def test_plain_containers_are_not_reported(drv, wrapped, sender, db):
    plain = fakes.plain_container(5)

    def sync(objs):
        plain.status = consts.STOPPED
    wrapped.sync = sync
    drv.update_containers_states(fakes.CONTEXT, [plain], object())
    assert sender.events == []


def test_sync_error_still_reports_and_propagates(drv, wrapped, sender, db):
    capsule = fakes.capsule(1)

    def sync(objs):
        capsule.status = consts.STOPPED
        raise RuntimeError('wrapped sync failed')
    wrapped.sync = sync
    with pytest.raises(RuntimeError):
        drv.update_containers_states(fakes.CONTEXT, [capsule], object())
    assert sender.types() == ['capsule.update']


def test_broken_payload_never_fails_the_driver(drv, wrapped, db):
    drv.sender = mock.Mock(emit=mock.Mock(side_effect=RuntimeError('x')))
    capsule = fakes.capsule(1, status=consts.CREATING)

    def sync(objs):
        capsule.status = consts.RUNNING
    wrapped.sync = sync
    drv.update_containers_states(fakes.CONTEXT, [capsule], object())
    drv.create_capsule(fakes.CONTEXT, fakes.capsule(2), 'image', [], {})


# --- a stuck broker never blocks the driver ----------------------------------

def test_blocked_notifier_never_blocks_driver_calls(wrapped, db, caplog):
    blocked = fakes.BlockingNotifier()
    sender = notifier.NotificationSender(lambda: blocked, queue_size=5)
    drv = driver.NotifyingDriver(wrapped=wrapped, sender=sender)
    try:
        started = time.monotonic()
        drv.create_capsule(fakes.CONTEXT, fakes.capsule(100), 'image', [],
                           {})
        # The broker hangs on the first notification...
        assert blocked.entered.wait(5)
        # ...and capsule operations go on regardless.
        for n in range(1, 50):
            capsule = fakes.capsule(100 + n, status=consts.CREATING)
            drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
        took = time.monotonic() - started
        assert took < 2.0
        # 50 create.start (create.end waits for a save that never comes
        # here): one stuck in the notifier, 5 queued, the rest dropped.
        assert sender.dropped == 50 - 1 - 5
        assert 'Notification queue full' in caplog.text
    finally:
        blocked.release.set()
        assert sender.flush(10)
        sender.stop()
    assert len(blocked.sent) == 6
    assert blocked.sent[0] == 'capsule.create.start'
