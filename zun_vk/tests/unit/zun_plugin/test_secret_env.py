"""Variables from Secrets reach the engine's create call, never Zun."""

import os

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

from oslo_config import cfg  # noqa: E402
from zun.common import consts  # noqa: E402

from zun_vk.tests.unit.zun_plugin import fakes  # noqa: E402
from zun_vk.zun_plugin import capsule_hints  # noqa: E402
from zun_vk.zun_plugin import driver  # noqa: E402
from zun_vk.zun_plugin import engine_create  # noqa: E402
from zun_vk.zun_plugin import env_hints  # noqa: E402
from zun_vk.zun_plugin import volume_hints  # noqa: E402

ENV_VOLUME = 'zun-vk-env'
PLAN = volume_hints.format_plan({}, {}, ENV_VOLUME)


class Client(object):
    """Stands in for the docker SDK client Zun's driver creates with."""

    created = []

    def create_container(self, image, **kwargs):
        self.created.append((image, kwargs))
        return {'Id': 'engine-%d' % len(self.created)}


engine_create.hook_create(Client)


class DockerLike(fakes.FakeWrapped):
    """Creates each member through Client, as Zun's docker driver does."""

    def _get_binds(self, context, requested_volumes):
        return {}

    def get_container_name(self, container):
        return consts.NAME_PREFIX + container.uuid

    def create_capsule(self, context, capsule, image, networks, volumes):
        # The sandbox gets the capsule's address before the members.
        capsule.addresses = {'net-1': [{'addr': '10.0.0.7', 'version': 4}]}
        for member in (list(capsule.init_containers) +
                       list(capsule.containers)):
            Client().create_container(
                'busybox', name=self.get_container_name(member),
                command=member.command, entrypoint=member.entrypoint,
                environment=member.environment)
            member.save(context)
        return super().create_capsule(context, capsule)


@pytest.fixture
def root(tmp_path, monkeypatch):
    saves = fakes.install_db(monkeypatch)
    cfg.CONF.set_override('pods_dir', str(tmp_path), 'zun_vk_plugin')
    cfg.CONF.set_override('volumes_timeout', 5, 'zun_vk_plugin')
    Client.created = []
    yield str(tmp_path), saves
    cfg.CONF.clear_override('pods_dir', 'zun_vk_plugin')
    cfg.CONF.clear_override('volumes_timeout', 'zun_vk_plugin')


def _capsule(entrypoints=None):
    labels = {'zun-vk/node': 'vk-1', volume_hints.VOLUMES_LABEL: PLAN}
    if entrypoints:
        labels[capsule_hints.ENTRYPOINT_LABEL] = entrypoints
    app = fakes.container(2, 'app', status=consts.CREATING)
    app.environment = {'MODE': 'prod'}
    app.command = ['sh', '-c', 'login --password=$(PASS)']
    app.entrypoint = None
    init = fakes.container(3, 'init', status=consts.CREATING, init=True)
    init.environment = {}
    init.command = ['true']
    init.entrypoint = None
    for member in (app, init):
        member.obj_reset_changes()
    return fakes.capsule(1, status=consts.CREATING, labels=labels,
                         containers=[app], init_containers=[init])


def _deliver(root, capsule, files):
    """What zun-vk-agent and zun-vk leave in the capsule's directory."""
    base = os.path.join(root, capsule.uuid)
    data = os.path.join(base, 'files', ENV_VOLUME, '..2026_12_03')
    os.makedirs(data)
    for name, content in files.items():
        with open(os.path.join(data, name), 'wb') as stream:
            stream.write(content)
    os.symlink('..2026_12_03', os.path.join(base, 'files', ENV_VOLUME,
                                            '..data'))
    open(os.path.join(base, 'prepared'), 'w').close()


def _driver():
    drv = driver.NotifyingDriver(wrapped=DockerLike(),
                                 sender=fakes.RecordingSender())
    drv.hooks_create = True
    return drv


def test_the_engine_gets_the_values_and_zun_never_holds_them(root):
    root, saves = root
    capsule = _capsule(entrypoints='c0:2')
    _deliver(root, capsule, {'c0': env_hints.format_file(
        [('PASS', 'hunter2')], ['sh', '-c', 'login --password=hunter2'])})
    _driver().create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    (_, init_kwargs), (_, app_kwargs) = Client.created
    assert init_kwargs['environment'] == {}
    assert init_kwargs['command'] == ['true']
    assert app_kwargs['environment'] == {'MODE': 'prod', 'PASS': 'hunter2'}
    # The ENTRYPOINT split applies to the real command too.
    assert app_kwargs['entrypoint'] == ['sh', '-c']
    assert app_kwargs['command'] == ['login --password=hunter2']
    app = capsule.containers[0]
    assert app.environment == {'MODE': 'prod'}
    assert 'hunter2' not in repr(app.command) + repr(app.entrypoint)
    assert 'hunter2' not in repr(saves.saved)
    # Nothing stays registered after the create.
    Client().create_container('busybox', name=consts.NAME_PREFIX + app.uuid,
                              environment={})
    assert Client.created[-1][1]['environment'] == {}


def test_a_container_without_a_file_is_created_as_zun_says(root):
    root, _saves = root
    capsule = _capsule()
    _deliver(root, capsule, {})
    _driver().create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert Client.created[1][1]['environment'] == {'MODE': 'prod'}
    assert Client.created[1][1]['command'] == [
        'sh', '-c', 'login --password=$(PASS)']


def test_a_broken_file_fails_the_create(root):
    root, _saves = root
    capsule = _capsule()
    _deliver(root, capsule, {'c0': b'{"env": "nope"}'})
    with pytest.raises(env_hints.BadEnvFile):
        _driver().create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert Client.created == []


def test_a_driver_that_cannot_pass_them_refuses(root):
    root, _saves = root
    capsule = _capsule()
    _deliver(root, capsule, {})
    drv = _driver()
    drv.hooks_create = False
    with pytest.raises(volume_hints.BadPlan) as exc:
        drv.create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    assert 'only the docker driver can pass' in str(exc.value)


def test_the_hook_is_installed_once():
    wrapped = Client.create_container
    assert engine_create.hook_create(Client)
    assert Client.create_container is wrapped


def test_a_list_environment_is_merged():
    got = engine_create.with_extras({'environment': ['A=1', 'B=x=y']},
                                    {'environment': {'S': 's'}})
    assert got['environment'] == {'A': '1', 'B': 'x=y', 'S': 's'}


def test_the_pod_ip_is_put_in_when_the_engine_creates_the_container(root):
    root, saves = root
    capsule = _capsule()
    mark = env_hints.FIELD_MARKS['status.podIP']
    _deliver(root, capsule, {'c0': env_hints.format_file(
        [('POD_IP', mark), ('URL', 'http://%s:80' % mark)],
        ['serve', '--bind=' + mark])})
    _driver().create_capsule(fakes.CONTEXT, capsule, 'image', [], {})
    app_kwargs = Client.created[1][1]
    assert app_kwargs['environment'] == {
        'MODE': 'prod', 'POD_IP': '10.0.0.7', 'URL': 'http://10.0.0.7:80'}
    assert app_kwargs['command'] == ['serve', '--bind=10.0.0.7']
    assert '10.0.0.7' not in repr(capsule.containers[0].environment)


class Engine(object):
    def __init__(self, name):
        self.name = name

    def version(self):
        return {'Components': [{'Name': self.name}]}


@pytest.mark.parametrize('engine, uts', [
    ('Podman Engine', 'container:sandbox-1'), ('Engine', None)])
def test_members_share_the_sandboxs_host_name_on_podman(engine, uts):
    engine_create._podman.clear()
    try:
        got = engine_create.share_uts(Engine(engine), {'host_config': {
            'NetworkMode': 'container:sandbox-1'}})
    finally:
        engine_create._podman.clear()
    assert got['host_config'].get('UTSMode') == uts


def test_a_container_on_its_own_network_keeps_its_host_name():
    engine_create._podman.clear()
    engine_create._podman['answer'] = True
    try:
        got = engine_create.share_uts(Engine('Podman Engine'), {
            'host_config': {'NetworkMode': 'bridge'}})
    finally:
        engine_create._podman.clear()
    assert 'UTSMode' not in got['host_config']
