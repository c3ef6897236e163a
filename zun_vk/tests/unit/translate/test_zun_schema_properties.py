"""Generated pods through the translation, checked against zun 18.0.0.

Every pod drawn is either refused, by a message that names the fields at
fault, or translated into a template that zun-api accepts: the body
schema of ``POST /v1/capsules`` (``schemas.capsules.capsule_create``,
whose ``template`` is ``parameter_types.capsule_template``), applied by
Zun's own ``SchemaValidator`` (jsonschema's Draft4Validator with a
``FormatChecker``, its minimum and maximum also reading numeric strings)
as its ``validated`` decorator does; then the template checks the API
runs before it stores anything (``check_capsule_template``,
``capsule_get_container_spec``, ``capsule_get_volume_spec``).

Runs in ``tox -e plugin``, where zun is installed. The examples are drawn
from a fixed seed, so every run checks the same pods.
"""

import collections
import copy
import json
import re

import pytest

pytest.importorskip(
    'zun', reason='zun is not installed: these tests check templates '
                  "against Zun's own schema; run them with tox -e plugin")

from hypothesis import given  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings  # noqa: E402
from zun.api.controllers.v1 import capsules as zun_capsules  # noqa: E402
from zun.api.controllers.v1.schemas import capsules as zun_schemas  # noqa
from zun.api.validation import validators as zun_validators  # noqa: E402
from zun.common import exception as zun_exception  # noqa: E402
from zun.common import utils as zun_utils  # noqa: E402
import zun.conf  # noqa: E402

from zun_vk.tests.unit.translate import pod_strategies  # noqa: E402
from zun_vk.translate import errors  # noqa: E402
from zun_vk.translate import pod_env  # noqa: E402
from zun_vk.translate import pod_to_capsule as ptc  # noqa: E402

# The schema takes its cpu and memory bounds from Zun's options (their
# defaults here); an operator gives zun-vk the same ones.
ZUN_LIMITS = {'min_cpu': zun.conf.CONF.minimum_cpus,
              'max_cpu': zun.conf.CONF.maximum_cpus,
              'min_memory_mb': zun.conf.CONF.minimum_memory,
              'max_memory_mb': zun.conf.CONF.maximum_memory}
CAPSULE_CREATE = zun_validators.SchemaValidator(zun_schemas.capsule_create)
# Fixed seed and no example database: the same pods on every run. No
# deadline: the machine's load must not fail a test.
EXAMPLES = settings(max_examples=400, derandomize=True, database=None,
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

_STEP = re.compile(r'\[(\d+)\]|([^.\[\]]+)')


def field_exists(pod, path):
    """Whether the pod sets the field a refusal names.

    Paths use the refusals' notation (``spec.containers[0].ports[1]``);
    a map key may hold dots (``resources.limits.nvidia.com/gpu``).
    """
    steps = [int(i) if i else key for i, key in _STEP.findall(path)]
    return _walk(pod, steps)


def _walk(node, steps):
    if not steps:
        return True
    if isinstance(steps[0], int):
        return (isinstance(node, list) and steps[0] < len(node) and
                _walk(node[steps[0]], steps[1:]))
    if not isinstance(node, dict):
        return False
    for end in range(len(steps), 0, -1):
        parts = steps[:end]
        if all(isinstance(p, str) for p in parts):
            key = '.'.join(parts)
            if key in node and _walk(node[key], steps[end:]):
                return True
    return False


def names(expected, path):
    """Whether a refusal of path names the expected field (or inside)."""
    return path == expected or path.startswith((expected + '.',
                                                expected + '['))


def assert_names_its_fields(pod, error, paths):
    message = str(error)
    for path in paths:
        assert path in message, (path, message)
        assert field_exists(pod, path), (path, message)


def outcome(case):
    """'translated', 'refused' or 'waits' (for a ConfigMap or Secret)."""
    pod = copy.deepcopy(case.pod)
    try:
        resolved = pod_env.resolve_env(
            pod, case.configmaps, case.secrets, host_ip=case.host_ip,
            node_allocatable=case.node_allocatable)
    except errors.MissingReference as exc:
        assert_names_its_fields(case.pod, exc, [exc.field_path])
        return 'waits'
    except errors.UnsupportedPod as exc:
        assert_names_its_fields(case.pod, exc, [exc.field_path])
        return 'refused'
    assert not case.refused_env, 'resolved env despite %s' % case.refused_env
    try:
        request = ptc.pod_to_capsule(
            pod, cluster_id='cluster-1', node_name='zun-vk-1',
            resolved_env=resolved, defaults=case.defaults)
    except errors.UnsupportedPod as exc:
        paths = [path for path, _reason in exc.problems]
        assert_names_its_fields(case.pod, exc, paths)
        unnamed = [field for field in case.refused
                   if not any(names(field, path) for path in paths)]
        assert not unnamed, (unnamed, str(exc))
        return 'refused'
    assert not case.refused, 'translated despite %s' % case.refused
    assert pod == case.pod, 'the translation changed the pod'
    # The body python-zunclient posts for ZunAPI.create_capsule.
    assert_zun_accepts(json.loads(json.dumps({'template': request.template})))
    return 'translated'


def assert_zun_accepts(body):
    """What zun-api checks of a capsule before storing it (raises if not)."""
    CAPSULE_CREATE.validate(body)
    spec, _template = zun_capsules.check_capsule_template(body['template'])
    zun_utils.capsule_get_container_spec(spec)
    zun_utils.capsule_get_volume_spec(spec)


def test_pods_are_refused_by_field_or_accepted_by_zun():
    outcomes = collections.Counter()

    @EXAMPLES
    @given(pod_strategies.pod_cases(ZUN_LIMITS))
    def check(case):
        outcomes[outcome(case)] += 1

    check()
    # Enough of both outcomes for the checks to mean something.
    assert outcomes['translated'] >= 40, outcomes
    assert outcomes['refused'] >= 40, outcomes


@pytest.mark.parametrize('path, exists', [
    ('spec.containers[0].resources.limits.nvidia.com/gpu', True),
    ('spec.containers[0].ports[0]', True),
    ('spec.containers[1]', False),
    ('spec.volumes[0].hostPath', False),
    ('spec.containers[0].image.x', False),
])
def test_field_exists(path, exists):
    pod = {'spec': {'containers': [{
        'image': 'nginx', 'ports': [{'containerPort': 80}],
        'resources': {'limits': {'nvidia.com/gpu': '1'}}}],
        'volumes': [{'name': 'v', 'cinder': {}}]}}
    assert field_exists(pod, path) is exists


def test_a_template_zun_rejects_fails_the_check():
    body = {'template': {'kind': 'capsule', 'metadata': {'name': 'k8s-a'},
                         'spec': {'containers': [{'image': 'x'}]}}}
    with pytest.raises(zun_exception.SchemaValidationError, match='image'):
        assert_zun_accepts(body)
