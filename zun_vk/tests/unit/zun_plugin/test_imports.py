"""The companion plugin imports nothing of zun_vk that zun-compute lacks."""

import json
import subprocess
import sys

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: the companion plugin runs inside '
                  'zun-compute; run these tests with tox -e plugin')

# What zun_vk.zun_plugin may import of the rest of zun_vk: modules that
# need only oslo libraries and the standard library.
SHARED = {'zun_vk', 'zun_vk.timestamps'}

_PROBE = '''
import json, pkgutil, sys
import zun_vk.zun_plugin as plugin
for info in pkgutil.iter_modules(plugin.__path__):
    __import__('zun_vk.zun_plugin.' + info.name)
print(json.dumps(sorted(m for m in sys.modules
                        if m.split('.')[0] in ('zun_vk', 'kubernetes'))))
'''


def test_plugin_imports_only_itself_and_shared_modules():
    # A fresh interpreter: the tests' own imports would hide a stray one.
    out = subprocess.run([sys.executable, '-c', _PROBE], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert 'zun_vk.zun_plugin.driver' in loaded
    strays = {m for m in loaded
              if m not in SHARED and not m.startswith('zun_vk.zun_plugin')}
    assert strays == set()
