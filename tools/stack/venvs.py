"""Virtualenvs keyed by a hash of their pinned requirements."""

import hashlib
import os
import shutil
import subprocess
import sys

from . import util

HERE = os.path.dirname(os.path.abspath(__file__))
REQ_DIR = os.path.join(HERE, 'requirements')
MARKER = '.zun-vk-stack-complete'


def requirements_hash(*paths):
    h = hashlib.sha256()
    h.update(('%d.%d' % sys.version_info[:2]).encode())
    for p in paths:
        with open(p, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()[:12]


def venv_path(cache_dir, name, req_files):
    return os.path.join(cache_dir, 'venvs',
                        '%s-%s' % (name, requirements_hash(*req_files)))


def ensure(cache_dir, name, req_files=None, pip_args=(), log=None):
    """Return the path of a ready virtualenv, creating it when missing.

    req_files defaults to requirements/<name>.txt.  A venv counts as
    ready only once a marker file written after a successful install
    exists, so an interrupted install is redone from scratch.
    """
    if req_files is None:
        req_files = [os.path.join(REQ_DIR, name + '.txt')]
    path = venv_path(cache_dir, name, req_files)
    if os.path.exists(os.path.join(path, MARKER)):
        return path
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log = log or os.devnull
    util.info('creating virtualenv %s (pip install, this takes a while)'
              % path)
    tmp = path + '.tmp'
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    # Build in place: virtualenvs are not relocatable.
    with open(log, 'ab') as out:
        subprocess.check_call([sys.executable, '-m', 'venv', path],
                              stdout=out, stderr=subprocess.STDOUT)
        cmd = [os.path.join(path, 'bin', 'pip'), 'install', '-q',
               '--disable-pip-version-check']
        for r in req_files:
            cmd += ['-r', r]
        cmd += list(pip_args)
        rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT)
    if rc != 0:
        raise util.StackError('pip install for the %s virtualenv failed, '
                              'see %s' % (name, log))
    with open(os.path.join(path, MARKER), 'w') as f:
        f.write('\n'.join(req_files) + '\n')
    return path
