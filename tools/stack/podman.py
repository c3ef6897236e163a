"""podman as the container engine of zun-compute's docker driver.

Everything lives under $STATE/podman: a private containers.conf (given
by CONTAINERS_CONF), storage.conf (CONTAINERS_STORAGE_CONF), storage,
run and tmp dirs, the CNI network config dir and the API socket, so the
stack never touches the machine's own podman setup. No registry is
reachable: the images zun-compute needs are built locally from the
busybox-static binary (see build_images).
"""

import os
import shutil
import socket
import subprocess
import tempfile

from .util import info
from .util import StackError

# Packages the real-container mode needs (Debian 12: podman 4.3).
APT_PACKAGES = ['podman', 'runc', 'fuse-overlayfs', 'slirp4netns', 'uidmap',
                'busybox-static', 'pciutils', 'containernetworking-plugins',
                'iptables']

BUSYBOX_IMAGE = 'docker.io/library/busybox:latest'
# [DEFAULT] sandbox_image: the docker driver's "pause" container of every
# capsule. Stops at once on TERM.
SANDBOX_REF = 'zunvkstack/sandbox:latest'
SANDBOX_IMAGE = 'docker.io/' + SANDBOX_REF
SANDBOX_CMD = ('["/bin/sh", "-c", "trap \'exit 0\' TERM INT; '
               'while :; do sleep 3600 & wait $!; done"]')
# Bump when build_images changes what it makes.
IMAGES_VERSION = '2'
API_VERSION = '1.40'        # [docker] docker_remote_api_version


def podman_bin():
    return shutil.which('podman') or '/usr/bin/podman'


def busybox_bin():
    for path in ('/bin/busybox', '/usr/bin/busybox'):
        if os.access(path, os.X_OK):
            return path
    return shutil.which('busybox')


def base_dir(ctx):
    return ctx.path('podman')


def socket_path(ctx):
    return os.path.join(base_dir(ctx), 'podman.sock')


def api_url(ctx):
    return 'unix://' + socket_path(ctx)


def conf_paths(ctx):
    d = base_dir(ctx)
    return (os.path.join(d, 'containers.conf'),
            os.path.join(d, 'storage.conf'))


def write_config(ctx):
    """containers.conf and storage.conf; returns their text."""
    from .components import write_file
    d = base_dir(ctx)
    for sub in ('storage', 'run', 'tmp', 'net', 'volumes'):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    containers_conf, storage_conf = conf_paths(ctx)
    # crun fails on this kind of VM (setrlimit RLIMIT_NOFILE), runc works;
    # systemd is not the cgroup manager here; the default nofile/nproc
    # limits of podman are above what the VM allows.
    cc = (
        '[containers]\n'
        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        'log_driver = "k8s-file"\n'
        '\n'
        '[engine]\n'
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        'tmp_dir = "%(d)s/tmp"\n'
        'volume_path = "%(d)s/volumes"\n'
        'image_parallel_copies = 1\n'
        '\n'
        '[network]\n'
        'network_backend = "cni"\n'
        'network_config_dir = "%(d)s/net"\n'
    ) % {'d': d}
    sc = (
        '[storage]\n'
        'driver = "vfs"\n'
        'graphroot = "%(d)s/storage"\n'
        'runroot = "%(d)s/run"\n'
    ) % {'d': d}
    write_file(containers_conf, cc)
    write_file(storage_conf, sc)
    return cc + sc


def env(ctx):
    """What podman (CLI or service) needs to use the stack's setup."""
    containers_conf, storage_conf = conf_paths(ctx)
    return {'CONTAINERS_CONF': containers_conf,
            'CONTAINERS_STORAGE_CONF': storage_conf}


def cli(ctx, *args, check=True, timeout=120):
    """Run the podman CLI on the stack's storage (not through the API)."""
    full = dict(os.environ)
    full.pop('CONTAINER_HOST', None)
    full.pop('CONTAINER_CONNECTION', None)
    full.update(env(ctx))
    try:
        p = subprocess.run([podman_bin()] + list(args), env=full,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StackError('podman %s: no answer in %ds' % (args[0], timeout))
    if check and p.returncode != 0:
        raise StackError('podman %s failed (%d): %s' % (
            ' '.join(args[:2]), p.returncode,
            p.stderr.decode(errors='replace').strip()[-500:]))
    return p


def missing_packages():
    need = []
    checks = {
        'podman': lambda: shutil.which('podman'),
        'runc': lambda: shutil.which('runc'),
        'fuse-overlayfs': lambda: shutil.which('fuse-overlayfs'),
        'slirp4netns': lambda: shutil.which('slirp4netns'),
        'uidmap': lambda: shutil.which('newuidmap'),
        'busybox-static': lambda: busybox_bin(),
        'pciutils': lambda: shutil.which('lspci'),
        'containernetworking-plugins': lambda: os.path.exists(
            '/usr/lib/cni/bridge'),
        'iptables': lambda: shutil.which('iptables'),
    }
    for pkg in APT_PACKAGES:
        if not checks[pkg]():
            need.append(pkg)
    return need


def busybox_rootfs(root):
    """Fill root with a busybox-static file system (binary + applets)."""
    bb = busybox_bin()
    if not bb:
        raise StackError('busybox-static is not installed')
    for sub in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root',
                'www', 'proc', 'sys', 'dev', 'var/run'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    os.chmod(os.path.join(root, 'tmp'), 0o1777)
    shutil.copy2(bb, os.path.join(root, 'bin', 'busybox'))
    applets = subprocess.run([bb, '--list-full'], stdout=subprocess.PIPE,
                             check=True).stdout.decode().split()
    for applet in applets:
        link = os.path.join(root, applet)
        if applet == 'bin/busybox' or os.path.lexists(link):
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink('/bin/busybox', link)
    with open(os.path.join(root, 'etc', 'passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\n'
                'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
    with open(os.path.join(root, 'etc', 'group'), 'w') as f:
        f.write('root:x:0:\nnogroup:x:65534:\n')
    return root


def tar_rootfs(root, tar):
    subprocess.run(['tar', '-C', root, '--numeric-owner', '-cf', tar, '.'],
                   check=True)
    return tar


def _rootfs_tar(tmp):
    """A tar of a busybox-static root file system."""
    root = busybox_rootfs(os.path.join(tmp, 'rootfs'))
    return tar_rootfs(root, os.path.join(tmp, 'rootfs.tar'))


def images_present(ctx):
    p = cli(ctx, 'image', 'exists', BUSYBOX_IMAGE, check=False)
    q = cli(ctx, 'image', 'exists', SANDBOX_IMAGE, check=False)
    return p.returncode == 0 and q.returncode == 0


def build_images(ctx):
    """Import busybox and the sandbox image into the stack's storage."""
    from . import components
    marker = 'podman-images'
    if components._marker_ok(ctx, marker, IMAGES_VERSION) and \
            images_present(ctx):
        return False
    info('podman: building the busybox and sandbox images locally')
    with tempfile.TemporaryDirectory() as tmp:
        tar = _rootfs_tar(tmp)
        cli(ctx, 'import', '--change', 'CMD ["sh"]', tar, BUSYBOX_IMAGE)
        cli(ctx, 'import', '--change', 'CMD ' + SANDBOX_CMD,
            '--change', 'STOPSIGNAL TERM', tar, SANDBOX_IMAGE)
    components._set_marker(ctx, marker, IMAGES_VERSION)
    return True


def probe(ctx):
    """None when a container runs here, else why not (one line)."""
    try:
        p = cli(ctx, 'run', '--rm', '--network', 'none', BUSYBOX_IMAGE,
                'sh', '-c', 'exit 7', check=False, timeout=60)
    except StackError as e:
        return str(e)
    if p.returncode != 7:
        err = p.stderr.decode(errors='replace').strip().splitlines()
        return 'podman run failed (%d): %s' % (
            p.returncode, err[-1] if err else 'no output')
    return None


def engine_name(ctx, timeout=2):
    """info.Name of the running podman service (the machine's hostname)."""
    status, body = _api(ctx, 'GET', '/info', timeout=timeout)
    if status == 200 and isinstance(body, dict) and body.get('Name'):
        return body['Name']
    return None


def _api(ctx, method, path, timeout=5):
    """A tiny HTTP/1.0 client for the API socket: (status, json or None)."""
    import http.client
    import json

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(socket_path(ctx))

    try:
        conn = Conn('localhost', timeout=timeout)
        conn.request(method, '/v%s%s' % (API_VERSION, path))
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
    except (OSError, http.client.HTTPException):
        return 0, None
    try:
        return resp.status, json.loads(raw.decode() or 'null')
    except ValueError:
        return resp.status, None


def service_ready(ctx):
    status, _ = _api(ctx, 'GET', '/_ping', timeout=2)
    return status == 200


def remove_all_containers(ctx):
    """Remove every container of the stack's storage; how many there were."""
    def listed():
        return cli(ctx, 'ps', '-aq', check=False).stdout.decode().split()
    ids = listed()
    left = ids
    # A capsule's sandbox cannot go before the containers that share its
    # namespaces: go round again for what a pass left.
    for _ in range(3):
        if not left:
            break
        cli(ctx, 'rm', '--all', '--force', '--time', '2', check=False,
            timeout=180)
        left = listed()
    if left:
        info('podman: %d container(s) could not be removed: %s'
             % (len(left), ' '.join(left)))
    return len(ids)


def remove_networks(ctx):
    """Remove the stack's podman networks (and so their host bridges).

    A bridge left on the host keeps its subnet "in use": a new network
    with the Neutron stand-in's subnet could not be made afterwards.
    """
    p = cli(ctx, 'network', 'ls', '--format', '{{.Name}}', check=False)
    names = [n for n in p.stdout.decode().split() if n != 'podman']
    for name in names:
        cli(ctx, 'network', 'rm', '-f', name, check=False)
    return names


def ps(ctx):
    p = cli(ctx, 'ps', '-a', '--format', '{{.ID}} {{.Names}} {{.Status}}',
            check=False)
    return p.stdout.decode().splitlines()
