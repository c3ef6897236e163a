"""The clock, and times as Kubernetes, Zun and the container engine write them.

oslo.utils' timeutils reads them all (ISO 8601 through iso8601, no zone
meaning UTC). It no longer formats, so the two forms of the Kubernetes
API are strftime patterns. Only oslo.utils and the standard library are
imported here: the companion plugin inside zun-compute uses this module
too.
"""

import datetime
import re

from oslo_utils import timeutils

# metav1.Time: RFC 3339 in UTC, whole seconds.
_KUBE_TIME = '%Y-%m-%dT%H:%M:%SZ'
# metav1.MicroTime, as Lease renewTime wants.
_KUBE_MICRO_TIME = '%Y-%m-%dT%H:%M:%S.%fZ'
# The engine writes "0001-01-01T00:00:00Z" for a time that never was.
_ZERO_YEAR = 1
# iso8601 keeps microseconds; the engine writes nanoseconds.
_FRACTION = re.compile(r'[.,]([0-9]+)')


def utcnow():
    """Now, as an aware UTC datetime."""
    return timeutils.utcnow(with_timezone=True)


def parse(value):
    """A time from Zun or Kubernetes as an aware UTC datetime.

    Text ('2026-11-28T01:02:03Z', '2026-11-28 01:02:03.000000',
    '...+02:00') is read to the second; datetimes are converted. Naive
    means UTC. None for None and for text it cannot read.
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc)
    try:
        moment = timeutils.parse_isotime(str(value).strip())
    except ValueError:
        return None
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0)


def rfc3339(value):
    """Kubernetes' 'YYYY-MM-DDTHH:MM:SSZ' of what parse reads, or None."""
    moment = parse(value)
    return moment.strftime(_KUBE_TIME) if moment else None


def micro_time(moment):
    """metav1.MicroTime of an aware UTC datetime."""
    return moment.strftime(_KUBE_MICRO_TIME)


def _engine_moment(text):
    if not isinstance(text, str):
        return None
    try:
        moment = timeutils.parse_isotime(text.strip())
    except ValueError:
        return None
    return moment if moment.year > _ZERO_YEAR else None


def engine_datetime(text):
    """An engine time as a naive UTC datetime to the second, as Zun keeps it.

    None for the zero time and for text it cannot read.
    """
    moment = _engine_moment(text)
    if moment is None:
        return None
    return timeutils.normalize_time(moment).replace(microsecond=0)


def engine_seconds(text):
    """An engine time as seconds since the epoch (float), to the nanosecond.

    None for the zero time and for text it cannot read.
    """
    moment = _engine_moment(text)
    if moment is None:
        return None
    fraction = _FRACTION.search(text)
    return (moment.replace(microsecond=0).timestamp() +
            (float('0.' + fraction.group(1)) if fraction else 0.0))
