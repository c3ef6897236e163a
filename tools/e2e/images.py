"""The images the conformance subset runs, built locally under e2e names.

No registry is reachable here, so every image is made in the stack's
podman storage from a busybox-static root file system plus, where the
test depends on the program, the program itself built from the same
kubernetes tree (agnhost, nnp). The names come from the tree's
test/utils/image/manifest.go, so they are exactly what e2e.test asks
for. Stand-ins, and the tests whose outcome they could change:

- pause: a shell loop that exits on TERM (what pause does); tests only
  need a container that keeps running.
- httpd and nginx: busybox httpd on port 80 serving "It works!"; the
  apps tests (Deployment, ReplicaSet, ReplicationController) only wait
  for the pods to be available, none fetches a page.
- busybox, nonroot (busybox as uid 1234) and nonewprivs (the tree's nnp
  program, set-uid root) are what the real images hold.
"""

import hashlib
import os
import re
import shutil
import stat
import tempfile

from stack import podman
from stack.util import info
from stack.util import StackError

# Bump when what build() makes changes.
VERSION = '1'

LOOP = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"
HTTPD = ('#!/bin/sh\n'
         '# Stand-in of the web server: busybox httpd in the foreground.\n'
         'exec /bin/busybox httpd -f -p 80 -h %s\n')
IT_WORKS = '<html><body><h1>It works!</h1></body></html>\n'


def manifest_names(tree):
    """{image key: full e2e name} read from the tree's manifest.go."""
    path = os.path.join(tree, 'test', 'utils', 'image', 'manifest.go')
    with open(path) as f:
        text = f.read()
    registries = dict(re.findall(r'^\s*(\w+Registry|DockerGluster):\s*'
                                 r'"([^"]+)"', text, re.M))
    # Lower-camel variables name the registries in the configs lines.
    by_var = {k[0].lower() + k[1:]: v for k, v in registries.items()}
    names = {}
    for key, var, name, version in re.findall(
            r'configs\[(\w+)\]\s*=\s*Config\{(\w+),\s*"([^"]+)",\s*'
            r'"([^"]+)"\}', text):
        reg = by_var.get(var)
        if reg is None and var == 'PrivateRegistry':
            reg = registries.get('PrivateRegistry')
        if reg:
            names[key] = '%s/%s:%s' % (reg, name, version)
    return names


class Image(object):
    """One image: a key of manifest.go, its config and how to fill it."""

    def __init__(self, key, fill=None, entrypoint=None, cmd=None,
                 user=None, workdir=None):
        self.key = key
        self.fill = fill
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.user = user
        self.workdir = workdir

    def changes(self):
        import json
        out = []
        if self.entrypoint is not None:
            out.append('ENTRYPOINT ' + json.dumps(self.entrypoint))
        if self.cmd is not None:
            out.append('CMD ' + json.dumps(self.cmd))
        if self.user is not None:
            out.append('USER %s' % self.user)
        if self.workdir is not None:
            out.append('WORKDIR %s' % self.workdir)
        return out


def _fresh(root, rel):
    # Never write through an applet link: it points at busybox itself.
    path = os.path.join(root, rel.lstrip('/'))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    return path


def _write(root, rel, text, mode=0o644):
    path = _fresh(root, rel)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def _copy(root, src, rel, mode=0o755):
    path = _fresh(root, rel)
    shutil.copyfile(src, path)
    os.chmod(path, mode)


def _agnhost(bins, tree):
    def fill(root):
        _copy(root, os.path.join(bins, 'agnhost'), '/agnhost')
        # entrypoint-tester tests override the entrypoint with agnhost-2.
        os.symlink('agnhost', os.path.join(root, 'agnhost-2'))
        os.makedirs(os.path.join(root, 'uploads'), exist_ok=True)
        porter = os.path.join(tree, 'test', 'images', 'agnhost', 'porter')
        for name in ('localhost.crt', 'localhost.key'):
            _copy(root, os.path.join(porter, name), '/' + name, 0o644)
    return fill


def _pause(root):
    _write(root, '/pause', '#!/bin/sh\n' + LOOP + '\n', 0o755)


def _httpd(root):
    docroot = '/usr/local/apache2/htdocs'
    _write(root, docroot + '/index.html', IT_WORKS)
    _write(root, '/usr/local/bin/httpd-foreground', HTTPD % docroot, 0o755)


def _nginx(root):
    docroot = '/usr/share/nginx/html'
    _write(root, docroot + '/index.html', IT_WORKS)
    # The image's command is "nginx -g 'daemon off;'": arguments ignored.
    _write(root, '/usr/sbin/nginx', HTTPD % docroot, 0o755)


def _nonewprivs(bins):
    def fill(root):
        _copy(root, os.path.join(bins, 'nonewprivs'),
              '/usr/local/bin/nnp',
              0o755 | stat.S_ISUID | stat.S_ISGID)
    return fill


def catalogue(bins, tree):
    httpd = dict(fill=_httpd, cmd=['httpd-foreground'])
    nginx = dict(fill=_nginx, cmd=['nginx', '-g', 'daemon off;'])
    return [
        Image('Agnhost', _agnhost(bins, tree), entrypoint=['/agnhost'],
              cmd=['pause']),
        Image('BusyBox', cmd=['sh']),
        Image('Pause', _pause, entrypoint=['/pause']),
        Image('Httpd', **httpd),
        Image('HttpdNew', **httpd),
        Image('Nginx', **nginx),
        Image('NginxNew', **nginx),
        Image('NonRoot', cmd=['sh'], user='1234'),
        Image('Nonewprivs', _nonewprivs(bins), cmd=['nnp']),
    ]


def _fingerprint(bins, names):
    h = hashlib.sha256(VERSION.encode())
    for key in sorted(names):
        h.update(('%s=%s\n' % (key, names[key])).encode())
    for prog in ('agnhost', 'nonewprivs'):
        st = os.stat(os.path.join(bins, prog))
        h.update(('%s %d %d\n' % (prog, st.st_size, int(st.st_mtime))
                  ).encode())
    return h.hexdigest()[:16]


def build(ctx, bins, tree):
    """Import every image into the stack's storage; returns their names."""
    names = manifest_names(tree)
    images = catalogue(bins, tree)
    missing = [i.key for i in images if i.key not in names]
    if missing:
        raise StackError('manifest.go of %s has no image %s'
                         % (tree, ', '.join(missing)))
    marker = os.path.join(ctx.state, 'run', 'conformance-images')
    want = _fingerprint(bins, names)
    present = all(podman.cli(ctx, 'image', 'exists', names[i.key],
                             check=False).returncode == 0 for i in images)
    try:
        with open(marker) as f:
            if f.read().strip() == want and present:
                return [names[i.key] for i in images]
    except OSError:
        pass
    for image in images:
        name = names[image.key]
        info('conformance: building image %s' % name)
        with tempfile.TemporaryDirectory() as tmp:
            root = podman.busybox_rootfs(os.path.join(tmp, 'rootfs'))
            if image.fill:
                image.fill(root)
            tar = podman.tar_rootfs(root, os.path.join(tmp, 'rootfs.tar'))
            args = ['import']
            for change in image.changes():
                args += ['--change', change]
            podman.cli(ctx, *(args + [tar, name]), timeout=600)
    with open(marker, 'w') as f:
        f.write(want + '\n')
    return [names[i.key] for i in images]
