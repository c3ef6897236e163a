"""A pod status as the strategic merge patch zun-vk sends (pure).

zun-vk writes only its part of a PodStatus (capsule_to_status.OWNED_KEYS)
and only the conditions it owns (Initialized, Ready, ContainersReady,
PodScheduled). Conditions are a list merged by ``type`` in a strategic
merge patch, so conditions others write (readiness gates, a
controller's, a user's ``kubectl patch --subresource status``) are left
as the API server has them, even when zun-vk's copy of the pod is older
than theirs: a JSON merge patch would replace the whole list with
zun-vk's copy and wipe a condition it had not seen yet.

podIPs and hostIPs are lists merged by ``ip``: merging would keep a
recreated capsule's old address next to its new one, so they carry the
``$patch: replace`` directive and are replaced whole, as a JSON merge
patch would. The directive goes only where the pod already has the
list: kube-apiserver (1.20 at least) keeps a list directive as an
element when the field is absent, and then refuses the empty address.
containerStatuses and initContainerStatuses have no merge strategy and
are replaced whole anyway. A key whose value is None is
removed, as in a JSON merge patch (a stale reason or message).
"""

from zun_vk.translate import capsule_to_status as to_status

REPLACE = {'$patch': 'replace'}
_REPLACED_LISTS = ('podIPs', 'hostIPs')


def strategic_merge_patch(status, current=None):
    """The ``status`` of the patch for a full status zun-vk computed.

    current is the pod's status as last read, for the list directives.
    """
    current = current or {}
    patch = {key: status[key] for key in to_status.OWNED_KEYS
             if key in status and key != 'conditions'}
    conditions = [dict(c) for c in status.get('conditions') or []
                  if c.get('type') in to_status.OWNED_CONDITIONS]
    if conditions:
        patch['conditions'] = conditions
    for key in _REPLACED_LISTS:
        if patch.get(key) is not None and current.get(key):
            patch[key] = list(patch[key]) + [dict(REPLACE)]
    return patch
