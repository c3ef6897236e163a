"""spec.activeDeadlineSeconds, as the kubelet enforces it (pure).

The kubelet (``pkg/kubelet/active_deadline.go``) fails a pod that has
been active on the node longer than ``spec.activeDeadlineSeconds``,
counted from ``status.startTime``: phase Failed, reason
DeadlineExceeded, the message below and a Normal Event with both; then
it stops the containers. The field may be set or lowered on a running
pod, and the new value applies at once.
"""

import datetime

from zun_vk import timestamps
from zun_vk.translate import capsule_to_status

REASON = 'DeadlineExceeded'
MESSAGE = 'Pod was active on the node longer than the specified deadline'


def due(pod):
    """When the pod's deadline passes (aware datetime), or None.

    None when the pod has no deadline or no start time yet.
    """
    seconds = (pod.get('spec') or {}).get('activeDeadlineSeconds')
    started = timestamps.parse(
        (pod.get('status') or {}).get('startTime'))
    if seconds is None or started is None:
        return None
    return started + datetime.timedelta(seconds=int(seconds))


def exceeded(pod, now):
    """Whether the pod ran for its activeDeadlineSeconds by ``now``."""
    deadline = due(pod)
    return deadline is not None and now >= deadline


def is_deadline_failure(pod):
    """Whether the pod was already failed for its deadline."""
    status = pod.get('status') or {}
    return status.get('phase') == 'Failed' and status.get('reason') == REASON


def exceeded_status(pod, *, now):
    """The pod's status once its deadline passed.

    Containers that were not terminated are written terminated with the
    kubelet's ContainerStatusUnknown (exit code 137): zun-vk deletes the
    capsule and does not see how the containers end.
    """
    return capsule_to_status.terminated_status(pod, REASON, MESSAGE,
                                               now=now)
