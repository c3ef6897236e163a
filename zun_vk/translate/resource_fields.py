"""``resourceFieldRef`` env values, computed the way the kubelet does.

The kubelet (``pkg/api/v1/resource/helpers.go``
ExtractContainerResourceValue, and ``pkg/kubelet/kubelet_resources.go``
defaultPodLimitsForDownwardAPI) answers ``limits.cpu``,
``limits.memory``, ``limits.ephemeral-storage``, ``requests.cpu``,
``requests.memory``, ``requests.ephemeral-storage`` and
``requests.hugepages-<size>`` / ``limits.hugepages-<size>``:

* the container is the one named by ``containerName``, else the
  container whose env it is;
* a limit of cpu, memory or ephemeral-storage that is not set (or zero)
  is the node's allocatable amount of it; a request that is not set is 0
  (the API server already copied limits into unset requests);
* the value is divided by ``divisor`` (1 when unset or zero; a negative
  one refuses the pod, as the API server would) and rounded
  UP to an integer: cpu in millicores (``ceil(milli(value) /
  milli(divisor))``), everything else in whole units
  (``ceil(ceil(value) / ceil(divisor))``).

So ``limits.cpu`` of 250m is "1", with divisor 1m "250"; ``limits.memory``
of 64Mi with divisor 1Mi is "64".
"""

import fractions
import math

from zun_vk.translate import errors
from zun_vk.translate import quantity

# Resources whose unset limit the kubelet takes from the node.
DEFAULTED_FROM_NODE = ('cpu', 'memory', 'ephemeral-storage')
_FIXED = ('cpu', 'memory', 'ephemeral-storage')
_HUGEPAGES = 'hugepages-'
_MILLI = 1000


def references(pod):
    """(container, resourceFieldRef) pairs of every container's env."""
    spec = pod.get('spec') or {}
    for kind in ('initContainers', 'containers'):
        for container in spec.get(kind) or []:
            for var in container.get('env') or []:
                ref = (var.get('valueFrom') or {}).get('resourceFieldRef')
                if ref is not None:
                    yield container, ref


def needs_node_allocatable(pod):
    """Whether some reference reads a limit that the pod does not set."""
    for container, ref in references(pod):
        section, name = _split(ref.get('resource') or '')
        if section != 'limits' or name not in DEFAULTED_FROM_NODE:
            continue
        target = find_container(pod, ref.get('containerName')) or container
        if _is_zero_or_unset(_resources(target, 'limits').get(name)):
            return True
    return False


def find_container(pod, name):
    """The container (regular, then init) of that name, or None."""
    if not name:
        return None
    spec = pod.get('spec') or {}
    for kind in ('containers', 'initContainers'):
        for container in spec.get(kind) or []:
            if container.get('name') == name:
                return container
    return None


def value(pod, container, ref, node_allocatable, path):
    """The env value (text) of one resourceFieldRef of container's env.

    node_allocatable is the Node's ``status.allocatable`` (quantities by
    resource name), or None when unknown; path names the reference in
    errors. Raises UnsupportedPod for what the kubelet would refuse too.
    """
    resource = ref.get('resource') or ''
    target = container
    if ref.get('containerName'):
        target = find_container(pod, ref['containerName'])
        if target is None:
            raise errors.UnsupportedPod(
                path + '.containerName',
                "the pod has no container named '%s'"
                % ref['containerName'])
    section, name = _split(resource)
    if section is None or not (name in _FIXED or
                               name.startswith(_HUGEPAGES)):
        raise errors.UnsupportedPod(
            path + '.resource',
            "'%s' is not a container resource; use limits.cpu, "
            'limits.memory, limits.ephemeral-storage, requests.cpu, '
            'requests.memory or requests.ephemeral-storage' % resource)
    raw = _resources(target, section).get(name)
    if (section == 'limits' and name in DEFAULTED_FROM_NODE and
            _is_zero_or_unset(raw)):
        raw = (node_allocatable or {}).get(name, raw)
    try:
        amount = _parse(raw)
        divisor = _parse(ref.get('divisor'))
    except ValueError as exc:
        raise errors.UnsupportedPod(path, str(exc)) from None
    if divisor < 0:
        # The API server refuses these too; rounded, one would divide by 0.
        raise errors.UnsupportedPod(
            path + '.divisor', "the divisor '%s' is negative; use 1m or 1 "
            'for cpu, 1, 1Ki or 1Mi for memory' % ref.get('divisor'))
    if divisor == 0:
        divisor = fractions.Fraction(1)
    if name == 'cpu':
        return str(_ceil_div(math.ceil(amount * _MILLI),
                             math.ceil(divisor * _MILLI)))
    return str(_ceil_div(math.ceil(amount), math.ceil(divisor)))


def _split(resource):
    section, _, name = resource.partition('.')
    if section not in ('limits', 'requests') or not name:
        return None, None
    return section, name


def _resources(container, section):
    return ((container or {}).get('resources') or {}).get(section) or {}


def _parse(raw):
    if raw is None or raw == '':
        return fractions.Fraction(0)
    return quantity.parse_quantity(raw)


def _is_zero_or_unset(raw):
    try:
        return _parse(raw) == 0
    except ValueError:
        return False


def _ceil_div(numerator, denominator):
    return -(-numerator // denominator)
