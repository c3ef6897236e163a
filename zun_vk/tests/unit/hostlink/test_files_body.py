"""The files body: what zun-vk sends, what the agent takes."""

import base64
import json

import pytest

from zun_vk.hostlink import files_body


def test_round_trip():
    files = [('a/b.txt', b'\x00\xffdata', 0o644), ('key', b'', 0o600)]
    body = files_body.encode(files)
    assert json.loads(body) == {'files': [
        {'path': 'a/b.txt', 'mode': 420,
         'data': base64.b64encode(b'\x00\xffdata').decode()},
        {'path': 'key', 'mode': 384, 'data': ''}]}
    assert files_body.decode(body) == {'a/b.txt': (b'\x00\xffdata', 0o644),
                                       'key': (b'', 0o600)}


def test_empty_list_is_an_empty_volume():
    assert files_body.decode(b'{"files": []}') == {}


def entry(**fields):
    base = {'path': 'a', 'mode': 420, 'data': 'eA=='}
    base.update(fields)
    return json.dumps({'files': [base]}).encode()


@pytest.mark.parametrize('body,message', [
    (b'\xff', 'not JSON'),
    (b'[1]', '{"files": [...]}'),
    (b'{"file": []}', '{"files": [...]}'),
    (b'{"files": [1]}', 'file 0 is not an object'),
    (entry(path=''), 'no path'),
    (entry(path=7), 'no path'),
    (entry(mode=0o1000), 'mode of a'),
    (entry(mode='420'), 'mode of a'),
    (entry(mode=True), 'mode of a'),
    (entry(data=None), 'no base64 data'),
    (entry(data='not base64!'), 'not base64'),
    (json.dumps({'files': [{'path': 'a', 'mode': 1, 'data': ''},
                           {'path': 'a', 'mode': 1, 'data': ''}]}).encode(),
     'given twice'),
])
def test_bad_bodies(body, message):
    with pytest.raises(files_body.BadBody) as info:
        files_body.decode(body)
    assert message in str(info.value)


def test_errors_never_show_the_data():
    secret = base64.b64encode(b'TOPSECRET').decode()
    with pytest.raises(files_body.BadBody) as info:
        files_body.decode(entry(data=secret + '!'))
    assert secret not in str(info.value)
    assert 'TOPSECRET' not in str(info.value)
