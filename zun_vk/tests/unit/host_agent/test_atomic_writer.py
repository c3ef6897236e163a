"""The kubelet's atomic writer: layout, updates, modes, refused paths."""

import errno
import os
import re
import stat

import pytest

from zun_vk.host_agent import atomic_writer
from zun_vk.host_agent import safe_fs

TS_DIR = re.compile(r'^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9}$')


@pytest.fixture(autouse=True)
def strict_umask():
    # The agent's unit runs it with umask 077; modes must not depend on it.
    old = os.umask(0o077)
    yield
    os.umask(old)


@pytest.fixture
def target(tmp_path):
    path = tmp_path / 'vol'
    path.mkdir()
    fd = os.open(str(path), os.O_RDONLY | os.O_DIRECTORY)
    yield path, fd
    os.close(fd)


def write(target, payload):
    return atomic_writer.write(target[1], payload)


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def data_dir(path):
    return os.readlink(str(path / '..data'))


def listing(path):
    return sorted(os.listdir(str(path)))


PAYLOAD = {'app.conf': (b'level=debug\n', 0o644),
           'tls/key.pem': (b'-----KEY-----\n', 0o600),
           'tls/nested/ca.pem': (b'CA', 0o444),
           'run.sh': (b'#!/bin/sh\n', 0o755)}


def test_first_write_makes_the_kubelet_layout(target):
    path, _ = target
    assert write(target, PAYLOAD) is True
    ts = data_dir(path)
    assert TS_DIR.match(ts), ts
    assert listing(path) == sorted(['..data', ts, 'app.conf', 'tls',
                                    'run.sh'])
    for name in ('app.conf', 'tls', 'run.sh'):
        assert os.readlink(str(path / name)) == '..data/' + name
    assert (path / 'tls' / 'nested' / 'ca.pem').read_bytes() == b'CA'
    assert (path / 'app.conf').read_bytes() == b'level=debug\n'
    assert mode_of(path / ts) == 0o755
    assert mode_of(path / ts / 'tls') == 0o755
    assert mode_of(path / ts / 'tls' / 'nested') == 0o755
    for name, (_, mode) in PAYLOAD.items():
        assert mode_of(path / ts / name) == mode, name
    assert not os.path.lexists(str(path / '..data_tmp'))


def test_unchanged_payload_is_not_written_again(target):
    path, _ = target
    write(target, PAYLOAD)
    ts = data_dir(path)
    inode = os.lstat(str(path / ts / 'app.conf')).st_ino
    assert write(target, dict(PAYLOAD)) is False
    assert data_dir(path) == ts
    assert os.lstat(str(path / ts / 'app.conf')).st_ino == inode


def test_update_swaps_data_and_removes_what_went(target):
    path, _ = target
    write(target, PAYLOAD)
    old = data_dir(path)
    new_payload = {'app.conf': (b'level=info\n', 0o644),
                   'extra': (b'', 0o640)}
    assert write(target, new_payload) is True
    new = data_dir(path)
    assert new != old and TS_DIR.match(new)
    assert listing(path) == sorted(['..data', new, 'app.conf', 'extra'])
    assert (path / 'app.conf').read_bytes() == b'level=info\n'
    assert (path / 'extra').read_bytes() == b''
    assert mode_of(path / new / 'extra') == 0o640


def test_a_key_that_went_from_a_subdirectory_goes(target):
    path, _ = target
    write(target, {'d/a': (b'1', 0o644), 'd/b': (b'2', 0o644)})
    assert write(target, {'d/a': (b'1', 0o644)}) is True
    assert os.listdir(str(path / 'd')) == ['a']


def test_mode_change_alone_is_written(target):
    path, _ = target
    write(target, {'key': (b'x', 0o644)})
    assert write(target, {'key': (b'x', 0o400)}) is True
    assert mode_of(path / data_dir(path) / 'key') == 0o400


def test_empty_payload_still_gives_data(target):
    path, _ = target
    assert write(target, {}) is True
    assert os.listdir(str(path / data_dir(path))) == []
    assert write(target, {}) is False
    write(target, {'a': (b'1', 0o644)})
    assert write(target, {}) is True
    assert listing(path) == sorted(['..data', data_dir(path)])


def test_paths_are_cleaned(target):
    path, _ = target
    write(target, {'a//b/./c': (b'x', 0o644)})
    assert (path / 'a' / 'b' / 'c').read_bytes() == b'x'


def test_stale_links_and_data_tmp_of_a_cut_write_are_cleaned(target):
    path, _ = target
    write(target, {'a': (b'1', 0o644)})
    os.symlink('..data/gone', str(path / 'gone'))
    os.symlink('nowhere', str(path / '..data_tmp'))
    assert write(target, {'a': (b'1', 0o644)}) is True
    assert listing(path) == sorted(['..data', data_dir(path), 'a'])


def test_missing_visible_link_is_made_without_a_rewrite(target):
    path, _ = target
    write(target, {'a': (b'1', 0o644)})
    ts = data_dir(path)
    os.unlink(str(path / 'a'))
    assert write(target, {'a': (b'1', 0o644)}) is False
    assert data_dir(path) == ts
    assert (path / 'a').read_bytes() == b'1'


def test_failed_write_keeps_the_old_files(target, monkeypatch):
    path, _ = target
    write(target, {'a': (b'1', 0o644)})
    ts = data_dir(path)
    calls = []
    real = safe_fs.write_new_file

    def full(dir_fd, name, data, mode):
        calls.append(name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, 'No space left on device')
        real(dir_fd, name, data, mode)

    monkeypatch.setattr(safe_fs, 'write_new_file', full)
    with pytest.raises(OSError) as info:
        write(target, {'a': (b'2', 0o644), 'b': (b'3', 0o644)})
    assert info.value.errno == errno.ENOSPC
    assert data_dir(path) == ts
    assert listing(path) == sorted(['..data', ts, 'a'])
    assert (path / 'a').read_bytes() == b'1'


@pytest.mark.parametrize('path,message', [
    ('', 'empty'),
    ('/etc/passwd', 'relative'),
    ('../x', "'..'"),
    ('a/../../b', "'..'"),
    ('..data', "start with '..'"),
    ('..2026_01_01_00_00_00.1/x', "start with '..'"),
    ('./..data', "start with '..'"),
    ('.', 'names no file'),
    ('a\x00b', 'NUL'),
    ('x' * 256, 'longer than 255'),
    ('a/' * 2049, 'longer than 4096'),
])
def test_bad_paths_are_refused(target, path, message):
    with pytest.raises(atomic_writer.BadPayload, match=re.escape(message)):
        write(target, {path: (b'', 0o644)})
    assert os.listdir(str(target[0])) == []


@pytest.mark.parametrize('payload,message', [
    ({'a': (b'', 0o644), 'a/b': (b'', 0o644)}, 'a file and the directory'),
    ({'a': (b'', 0o644), './a': (b'', 0o644)}, 'given twice'),
    ({'a': (b'', 0o1777)}, 'mode'),
    ({'a': (b'', -1)}, 'mode'),
    ({'a': (b'', True)}, 'mode'),
    ({'a': (b'', '644')}, 'mode'),
    ({'a': ('text', 0o644)}, 'bytes'),
])
def test_bad_payloads_are_refused(target, payload, message):
    with pytest.raises(atomic_writer.BadPayload, match=message):
        write(target, payload)
    assert os.listdir(str(target[0])) == []
