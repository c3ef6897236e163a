"""The processes a test started: their children, and waiting on them."""

import os
import time


def children_of(pid):
    children = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry))
    return children


def wait_for(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def record_launches(monkeypatch):
    """What an entry point's main() sets up, in order, without forking.

    oslo.service's launcher and oslo.reports' setup record into the list
    returned: ('reports', args, kwargs) and ('launch', service class name).
    """
    from oslo_reports import guru_meditation_report as gmr
    from oslo_service import service

    events = []

    class Launcher(object):
        def __init__(self, conf, restart_method):
            pass

        def launch_service(self, launched):
            events.append(('launch', type(launched).__name__))

        def wait(self):
            return 0

    monkeypatch.setattr(service, 'ServiceLauncher', Launcher)
    monkeypatch.setattr(gmr.TextGuruMeditation, 'setup_autorun', staticmethod(
        lambda *args, **kwargs: events.append(('reports', args, kwargs))))
    return events
