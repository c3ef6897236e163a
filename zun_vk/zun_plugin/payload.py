"""What a capsule looks like in a notification, and what counts as a change.

Reads Zun's capsule objects duck-typed (no zun import), so unset or
unloadable fields read as None instead of raising.
"""

import datetime
import re

from oslo_log import log as logging

from zun_vk import timestamps

LOG = logging.getLogger(__name__)

_EXIT_CODE = re.compile(r'Exited\s*\((-?\d+)\)')


def field(obj, name):
    """obj.name, or None when it is unset or cannot be loaded."""
    is_set = getattr(obj, 'obj_attr_is_set', None)
    try:
        if is_set is not None and name not in ('containers',
                                               'init_containers'):
            if not is_set(name):
                return None
        return getattr(obj, name, None)
    except Exception:  # noqa: B902 - a lazy load may fail; it's a hint
        LOG.debug('Cannot read %s of %s', name, getattr(obj, 'uuid', obj),
                  exc_info=True)
        return None


def members(capsule, kind='containers'):
    """The capsule's containers or init_containers (lazily loaded)."""
    value = field(capsule, kind)
    try:
        return list(value or [])
    except TypeError:
        return []


def exit_code_from_detail(detail):
    """The N of 'Exited(N) ...', Zun's status_detail for a stopped one.

    zun-vk's translation of capsules reads exit codes with it too.
    """
    if not isinstance(detail, str):
        return None
    match = _EXIT_CODE.search(detail)
    return int(match.group(1)) if match else None


def iso(value):
    """A datetime (naive means UTC) as 'YYYY-MM-DDTHH:MM:SSZ'.

    Anything else is passed on as text, unread.
    """
    if isinstance(value, datetime.datetime):
        return timestamps.rfc3339(value)
    return None if value is None else str(value)


def _status(value):
    return None if value is None else str(value)


def container_data(container, observed=None):
    """One container of the payload; observed: what the engine told us."""
    observed = observed or {}
    exit_code = observed.get('exit_code')
    if exit_code is None:
        exit_code = exit_code_from_detail(field(container, 'status_detail'))
    return {
        'name': field(container, 'name'),
        'uuid': field(container, 'uuid'),
        'status': _status(field(container, 'status')),
        'status_reason': field(container, 'status_reason'),
        'status_detail': field(container, 'status_detail'),
        'exit_code': exit_code,
        'started_at': iso(observed.get('started_at') or
                          field(container, 'started_at')),
        'finished_at': iso(observed.get('finished_at')),
    }


def capsule_data(capsule, observed=None, status=None):
    """The ``data`` of a CapsulePayload; status overrides the object's."""
    observed = observed or {}
    labels = field(capsule, 'labels')
    return {
        'uuid': field(capsule, 'uuid'),
        'name': field(capsule, 'name'),
        'status': status or _status(field(capsule, 'status')),
        'status_reason': field(capsule, 'status_reason'),
        'labels': dict(labels) if isinstance(labels, dict) else {},
        'host': field(capsule, 'host'),
        'containers': [
            container_data(c, observed.get(field(c, 'uuid')))
            for c in members(capsule, 'containers')],
        'init_containers': [
            container_data(c, observed.get(field(c, 'uuid')))
            for c in members(capsule, 'init_containers')],
    }


def signature(capsule):
    """What a change notification is about.

    The statuses, reasons and exit codes of the capsule and of each of its
    containers.
    """
    def one(obj):
        return (_status(field(obj, 'status')), field(obj, 'status_reason'),
                exit_code_from_detail(field(obj, 'status_detail')))
    return (one(capsule),
            tuple(sorted((str(field(c, 'uuid')), one(c))
                         for kind in ('init_containers', 'containers')
                         for c in members(capsule, kind))))
