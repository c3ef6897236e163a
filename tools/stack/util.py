"""Small helpers: output, processes, pid files, readiness polling."""

import errno
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


class StackError(Exception):
    """A failure reported as one line, making the command exit non-zero."""


def info(msg):
    sys.stderr.write('localstack: %s\n' % msg)
    sys.stderr.flush()


def run(cmd, log=None, check=True, env=None, input=None, capture=False,
        cwd=None):
    """Run a command, appending its output to log (if given)."""
    if capture:
        p = subprocess.run(cmd, env=env, input=input, cwd=cwd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and p.returncode != 0:
            raise StackError('%s failed (%d): %s' % (
                cmd[0], p.returncode,
                p.stderr.decode(errors='replace').strip()[-500:]))
        return p
    out = open(log, 'ab') if log else subprocess.DEVNULL
    try:
        if log:
            out.write(('$ %s\n' % ' '.join(cmd)).encode())
            out.flush()
        p = subprocess.run(cmd, env=env, input=input, cwd=cwd,
                           stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()
    if check and p.returncode != 0:
        raise StackError('%s failed (exit %d)%s' % (
            ' '.join(cmd[:3]), p.returncode, ', see %s' % log if log else ''))
    return p


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    # A zombie child of ours is not alive.
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        if state in ('Z', 'X'):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            return False
    except (OSError, IndexError):
        return False
    return True


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_pid(path, pid):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % pid)
    os.replace(tmp, path)


def proc_start_time(pid):
    """Kernel start time of pid (clock ticks since boot), or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return int(f.read().rsplit(')', 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def children(pid):
    """All descendants of pid (from /proc)."""
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, ()):
            out.append(c)
            todo.append(c)
    return out


def rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def terminate(pid, timeout=30.0, name='process'):
    """SIGTERM the process (and its process group), SIGKILL after timeout.

    Returns once pid and the descendants seen at the start have exited.
    """
    if not pid_alive(pid):
        return
    group = [pid] + children(pid)
    try:
        pgid = os.getpgid(pid)
    except OSError:
        pgid = None
    own_group = pgid == pid
    _signal_all(group, pgid if own_group else None, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in group):
            return
        time.sleep(0.1)
    info('%s (pid %d) did not exit within %ds, sending SIGKILL'
         % (name, pid, timeout))
    group = [p for p in group + children(pid) if pid_alive(p)]
    _signal_all(group, pgid if own_group else None, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in group):
            return
        time.sleep(0.1)
    raise StackError('%s (pid %d) survived SIGKILL' % (name, pid))


def _signal_all(pids, pgid, sig):
    if pgid:
        try:
            os.killpg(pgid, sig)
        except OSError:
            pass
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass


def port_open(port, host='127.0.0.1', timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http(method, url, body=None, headers=None, timeout=5.0, context=None):
    """Return (status, parsed-or-raw body, headers); status 0 if no answer."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault('Content-Type', 'application/json')
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout,
                                    context=context) as r:
            raw, status, hdrs = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read(), e.code, e.headers
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None, {}
    try:
        parsed = json.loads(raw.decode() or 'null')
    except ValueError:
        parsed = raw
    return status, parsed, hdrs


def wait_for(predicate, timeout, what, interval=0.2, alive=None):
    """Poll predicate until true; StackError naming `what` on timeout.

    alive: optional callable; if it returns False, fail at once (the
    process died).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: polling probes may fail while starting
            pass
        if alive is not None and not alive():
            raise StackError('%s: process exited' % what)
        if time.monotonic() > deadline:
            raise StackError('%s: not ready after %ds' % (what, timeout))
        time.sleep(interval)


def tree_hash(path):
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in (
            '__pycache__', 'build') and not d.endswith('.egg-info'))
        for f in sorted(files):
            if f.endswith('.pyc'):
                continue
            p = os.path.join(root, f)
            h.update(os.path.relpath(p, path).encode())
            with open(p, 'rb') as fh:
                h.update(fh.read())
    return h.hexdigest()[:16]
