"""Volume files as the kubelet writes them."""

import base64

import pytest

from zun_vk.translate import errors
from zun_vk.translate import volume_files as vf


def b64(data):
    return base64.b64encode(data).decode()


class Sources(object):
    def __init__(self, config_maps=None, secrets=None):
        self.config_maps = config_maps or {}
        self.secrets = secrets or {}
        self.tokens = []

    def config_map(self, name):
        return self.config_maps.get(name)

    def secret(self, name):
        return self.secrets.get(name)

    def service_account_token(self, audience, seconds):
        self.tokens.append((audience, seconds))
        return 'token-for-%s' % (audience or 'api')


POD = {
    'metadata': {'name': 'web-0', 'namespace': 'shop', 'uid': 'u-1',
                 'labels': {'b': 'x"y', 'a': 'é'},
                 'annotations': {'note': 'line1\nline2\t\x01'}},
    'spec': {'containers': [{'name': 'app', 'resources': {
        'limits': {'cpu': '250m', 'memory': '64Mi'}}}]},
}
CM = {'metadata': {'name': 'cfg'}, 'data': {'k1': 'v1', 'k2': 'v2'},
      'binaryData': {'bin': b64(b'\x00\xff')}}
SECRET = {'metadata': {'name': 's'}, 'data': {'pw': b64(b'hunter2')}}


def test_config_map_all_keys_with_binary_data_and_default_mode():
    files = vf.render({'name': 'v', 'configMap': {'name': 'cfg'}}, POD,
                      Sources({'cfg': CM}))
    assert files == {'k1': (b'v1', 0o644), 'k2': (b'v2', 0o644),
                     'bin': (b'\x00\xff', 0o644)}


def test_secret_items_modes_and_default_mode():
    files = vf.render({'name': 'v', 'secret': {
        'secretName': 's', 'defaultMode': 0o400,
        'items': [{'key': 'pw', 'path': 'a/b'},
                  {'key': 'pw', 'path': 'c', 'mode': 0o600}]}}, POD,
        Sources(secrets={'s': SECRET}))
    assert files == {'a/b': (b'hunter2', 0o400), 'c': (b'hunter2', 0o600)}


def test_missing_objects_and_keys_wait_unless_optional():
    with pytest.raises(errors.MissingReference) as exc:
        vf.render({'name': 'v', 'configMap': {'name': 'nope'}}, POD,
                  Sources())
    assert str(exc.value).startswith('ConfigMap shop/nope not found')
    assert vf.render({'name': 'v', 'configMap': {
        'name': 'nope', 'optional': True}}, POD, Sources()) == {}
    items = {'name': 'cfg', 'items': [{'key': 'gone', 'path': 'g'}]}
    with pytest.raises(errors.MissingReference) as exc:
        vf.render({'name': 'v', 'configMap': items}, POD,
                  Sources({'cfg': CM}))
    assert "has no key 'gone'" in str(exc.value)
    assert vf.render({'name': 'v', 'configMap': dict(items, optional=True)},
                     POD, Sources({'cfg': CM})) == {}


@pytest.mark.parametrize('path', ['/abs', '../up', 'a/../b', '..x', ''])
def test_bad_paths_are_refused(path):
    with pytest.raises(vf.VolumeError):
        vf.render({'name': 'v', 'configMap': {
            'name': 'cfg', 'items': [{'key': 'k1', 'path': path}]}}, POD,
            Sources({'cfg': CM}))


def test_downward_api_formats_maps_as_the_kubelet():
    files = vf.render({'name': 'v', 'downwardAPI': {'items': [
        {'path': 'labels', 'fieldRef': {'fieldPath': 'metadata.labels'}},
        {'path': 'annotations',
         'fieldRef': {'fieldPath': 'metadata.annotations'}},
        {'path': 'one', 'fieldRef': {
            'fieldPath': "metadata.labels['b']"}},
        {'path': 'name', 'fieldRef': {'fieldPath': 'metadata.name'},
         'mode': 0o600},
        {'path': 'cpu', 'resourceFieldRef': {
            'containerName': 'app', 'resource': 'limits.cpu',
            'divisor': '1m'}},
        {'path': 'mem', 'resourceFieldRef': {
            'containerName': 'app', 'resource': 'limits.memory'}}]}},
        POD, Sources())
    assert files['labels'] == ('a="é"\nb="x\\"y"'.encode(), 0o644)
    assert files['annotations'] == (
        b'note="line1\\nline2\\t\\x01"', 0o644)
    assert files['one'] == (b'x"y', 0o644)
    assert files['name'] == (b'web-0', 0o600)
    assert files['cpu'] == (b'250', 0o644)
    assert files['mem'] == (str(64 * 2 ** 20).encode(), 0o644)


def test_projected_sources_share_one_default_mode():
    sources = Sources({'cfg': CM}, {'s': SECRET})
    files = vf.render({'name': 'v', 'projected': {
        'defaultMode': 0o440, 'sources': [
            {'configMap': {'name': 'cfg',
                           'items': [{'key': 'k1', 'path': 'cm/k1'}]}},
            {'secret': {'name': 's'}},
            {'downwardAPI': {'items': [
                {'path': 'ns', 'fieldRef': {
                    'fieldPath': 'metadata.namespace'}}]}},
            {'serviceAccountToken': {'path': 'token',
                                     'audience': 'vault'}}]}},
        POD, sources)
    assert files == {'cm/k1': (b'v1', 0o440), 'pw': (b'hunter2', 0o440),
                     'ns': (b'shop', 0o440),
                     'token': (b'token-for-vault', 0o440)}
    assert sources.tokens == [('vault', 3600)]


def test_short_tokens_and_unknown_sources_are_refused():
    with pytest.raises(vf.VolumeError):
        vf.render({'name': 'v', 'projected': {'sources': [
            {'serviceAccountToken': {'path': 't',
                                     'expirationSeconds': 60}}]}}, POD,
            Sources())
    with pytest.raises(vf.VolumeError) as exc:
        vf.render({'name': 'v', 'projected': {'sources': [
            {'clusterTrustBundle': {'path': 'ca'}}]}}, POD, Sources())
    assert 'clusterTrustBundle' in str(exc.value)


def test_status_fields_are_not_available_in_volumes():
    with pytest.raises(vf.VolumeError):
        vf.render({'name': 'v', 'downwardAPI': {'items': [
            {'path': 'ip', 'fieldRef': {'fieldPath': 'status.podIP'}}]}},
            POD, Sources())
