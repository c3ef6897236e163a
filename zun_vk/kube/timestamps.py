"""The clock and the two time formats of the Kubernetes API."""

import datetime


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(moment):
    """metav1.Time: whole seconds."""
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def micro_time(moment):
    """metav1.MicroTime, as Lease renewTime wants."""
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
