"""A scratch DevStack host for the plugin's tests.

Each run is a bash process like DevStack's own: the stand-in functions,
then the ``local.conf`` lines of the test, then the plugin's settings,
then ``plugin.sh`` for each phase. stack.sh runs the three stack phases
in one shell with errexit; unstack.sh and clean.sh are shells of their
own. The stand-in edits INI files for real and records everything else
(package installs, Keystone calls, run_process/stop_process, unmounts).
Runs start in a directory of their own, so that nothing in the work tree
(an egg-info left by ``pip install -e``) is mistaken for an installed
package.
"""

import configparser
import importlib.metadata
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
STANDIN = pathlib.Path(__file__).resolve().parent / 'devstack_standin'
DEVSTACK_FILES = ['devstack/plugin.sh', 'devstack/settings',
                  'devstack/lib/zun-vk', 'devstack/lib/zun-vk-agent',
                  'devstack/lib/zun-vk-pki']

KEYSTONE = 'http://192.0.2.10/identity'
RABBIT_URL = 'rabbit://stackrabbit:secretrabbit@192.0.2.10:5672/'
STACK = ('stack install', 'stack post-config', 'stack extra')


# Runs the real generator once per session and generator configuration,
# from the tree under test, then copies its sample.
GENERATOR = """#!/bin/sh
for arg in "$@"; do
    [ "$previous" = --output-file ] && out=$arg
    [ "$previous" = --config-file ] && config=$arg
    previous=$arg
done
cache=%(cache)s/$(basename "$config").sample
if [ ! -f "$cache" ]; then
    PYTHONPATH=%(root)s %(python)s -c 'import sys
from oslo_config import generator
sys.exit(generator.main())' "$@" || exit 1
    cp "$out" "$cache"
fi
cp "$cache" "$out"
"""


def generator_has_zun_vk():
    return bool(importlib.metadata.entry_points(group='oslo.config.opts',
                                                name='zun_vk'))


def short_hostname():
    return subprocess.run(['hostname', '-s'], capture_output=True,
                          text=True, check=True).stdout.strip().lower()


def hostname():
    return subprocess.run(['hostname'], capture_output=True, text=True,
                          check=True).stdout.strip()


def _dist_info(site, name, version, entry_points=''):
    dist = site / ('%s-%s.dist-info' % (name.replace('-', '_'), version))
    dist.mkdir()
    (dist / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' % (name, version))
    if entry_points:
        (dist / 'entry_points.txt').write_text(entry_points)
    return dist


class DevStack(object):
    """A scratch DevStack host: directories, environment and runs."""

    def __init__(self, tmp_path, sample_cache):
        self.tmp = tmp_path
        self.sample_cache = sample_cache
        self.home = tmp_path / 'home'
        self.bin = tmp_path / 'bin'
        self.cwd = tmp_path / 'cwd'
        self.conf_dir = tmp_path / 'etc' / 'zun-vk'
        self.conf = self.conf_dir / 'zun-vk.conf'
        self.agent_conf = self.conf_dir / 'zun-vk-agent.conf'
        self.zun_conf = tmp_path / 'etc' / 'zun' / 'zun.conf'
        self.data_dir = tmp_path / 'data'
        self.pods_dir = self.data_dir / 'zun-vk' / 'capsules'
        self.ca_dir = self.conf_dir / 'agent-ca'
        self.client_pki = self.conf_dir / 'host-agents'
        self.agent_pki = self.conf_dir / 'agent'
        self.mounts = tmp_path / 'mounts'
        self.log = tmp_path / 'standin.log'
        self.kubeconfig = self.home / '.kube' / 'config'
        self.site = tmp_path / 'site'
        for path in (self.home, self.bin, self.cwd, self.zun_conf.parent):
            path.mkdir(parents=True)
        self.log.touch()
        self._write_generator()
        self._write_python()
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': str(self.home),
            'STANDIN_LOG': str(self.log),
            'STANDIN_PYTHON': sys.executable,
            'STANDIN_MOUNTS': str(self.mounts),
            'STACK_USER': subprocess.run(
                ['id', '-un'], capture_output=True, text=True,
                check=True).stdout.strip(),
            'DEST': str(tmp_path / 'opt'),
            'DATA_DIR': str(self.data_dir),
            'HOST_IP': '192.0.2.10',
            'SERVICE_HOST': '192.0.2.10',
            'REGION_NAME': 'RegionOne',
            'SERVICE_PASSWORD': 'secretservice',
            'SERVICE_DOMAIN_NAME': 'Default',
            'SERVICE_PROJECT_NAME': 'service',
            'KEYSTONE_SERVICE_URI': KEYSTONE,
            'ENABLE_DEBUG_LOG_LEVEL': 'True',
            'RABBIT_USERID': 'stackrabbit',
            'RABBIT_PASSWORD': 'secretrabbit',
            'RABBIT_HOST': '192.0.2.10',
            'SSL_BUNDLE_FILE': str(tmp_path / 'ca-bundle.pem'),
            'ENABLED_SERVICES': 'key,rabbit,zun-api,zun-compute',
            'DEVSTACK_PLUGINS': 'zun,zun-vk',
            'ZUN_CONF': str(self.zun_conf),
            'ZUN_VK_CONF_DIR': str(self.conf_dir),
            'ZUN_VK_BIN_DIR': str(self.bin),
        }

    def _write_generator(self):
        """oslo-config-generator: the real one when zun-vk is installed.

        The session's first sample of each generator configuration is
        kept and copied by later runs.
        """
        script = self.bin / 'oslo-config-generator'
        if generator_has_zun_vk():
            script.write_text(GENERATOR % {'python': sys.executable,
                                           'root': ROOT,
                                           'cache': self.sample_cache})
        else:
            # zun-vk's entry points are not installed: an empty sample.
            script.write_text(textwrap.dedent('''\
                #!/bin/sh
                while [ $# -gt 0 ]; do
                    [ "$1" = --output-file ] && out=$2
                    shift
                done
                printf '[DEFAULT]\\n' > "$out"
                '''))
        script.chmod(0o755)

    def _write_python(self):
        """zun-compute's python3: it sees only the packages under site.

        -S keeps this interpreter's own site-packages (where zun-vk and
        its driver may be installed) out of sight, PYTHONSAFEPATH the
        current directory. Zun's requirements bring the docker SDK.
        """
        self.site.mkdir()
        python = self.bin / 'python3'
        python.write_text('#!/bin/sh\nPYTHONSAFEPATH=1 PYTHONPATH=%s '
                          'exec %s -S "$@"\n' % (self.site, sys.executable))
        python.chmod(0o755)
        self.docker_sdk = _dist_info(self.site, 'docker', '7.1.0')

    def install_companion_driver(self):
        """Make the notifying driver's entry points visible to python3."""
        _dist_info(self.site, 'zun-vk', '1.0', textwrap.dedent('''\
            [zun.container.driver]
            zun_vk_notifying = zun_vk.zun_plugin.driver:NotifyingDriver

            [zun.capsule.driver]
            zun_vk_notifying = zun_vk.zun_plugin.driver:NotifyingDriver
            '''))

    def write_kubeconfig(self):
        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.write_text(textwrap.dedent('''\
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster: {server: "https://192.0.2.10:6443"}
            users:
            - name: test
              user: {token: "not-a-real-token"}
            contexts:
            - name: test
              context: {cluster: test, user: test}
            current-context: test
            '''))

    def write_zun_conf(self, container_driver='docker',
                       capsule_driver='docker'):
        self.zun_conf.write_text(textwrap.dedent('''\
            [DEFAULT]
            container_driver = %s
            capsule_driver = %s
            debug = True
            ''' % (container_driver, capsule_driver)))

    def with_companion(self):
        """zun-compute here is to load the companion driver."""
        self.install_companion_driver()
        self.write_zun_conf()
        self.env['ZUN_VK_CONFIGURE_ZUN_COMPUTE'] = 'True'
        return self

    def run(self, *phases, localrc='', check=True):
        """Source the plugin for the phases in one shell, like stack.sh."""
        script = ['set -o errexit',
                  'source %s/functions' % STANDIN,
                  localrc,
                  'source %s/devstack/settings' % ROOT]
        for phase in phases:
            script.append('source %s/devstack/plugin.sh %s' % (ROOT, phase))
        result = subprocess.run(['bash', '-c', '\n'.join(script)],
                                env=self.env, cwd=self.cwd,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            pytest.fail('%s failed (%d):\n%s' % (
                ', '.join(phases), result.returncode, result.stderr[-4000:]))
        return result

    def records(self):
        return self.log.read_text().splitlines()

    def read_ini(self, path=None):
        parser = configparser.RawConfigParser(default_section='__none__',
                                              interpolation=None)
        parser.read(path or self.conf)
        return parser
