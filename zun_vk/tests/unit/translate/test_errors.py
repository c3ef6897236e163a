import pytest

from zun_vk.translate import errors


def test_unsupported_pod_sentence():
    exc = errors.UnsupportedPod(
        'spec.hostNetwork',
        'Zun capsules run in their own network namespace; host networking '
        'is not supported')
    assert str(exc) == (
        'spec.hostNetwork: Zun capsules run in their own network namespace; '
        'host networking is not supported.')
    assert exc.field_path == 'spec.hostNetwork'
    assert exc.status_reason == 'UnsupportedPodSpec'


def test_unsupported_pod_lists_every_problem():
    exc = errors.UnsupportedPod.from_problems([
        ('spec.hostPID', 'not supported'),
        ('spec.hostIPC', 'not supported either.'),
    ])
    assert exc.field_path == 'spec.hostPID'
    assert exc.problems == (('spec.hostPID', 'not supported'),
                            ('spec.hostIPC', 'not supported either.'))
    assert str(exc) == ('spec.hostPID: not supported. '
                        'Also: spec.hostIPC: not supported either.')


@pytest.mark.parametrize('kwargs, text', [
    (dict(kind='ConfigMap', namespace='ns', name='cm'),
     'ConfigMap ns/cm not found; create it or mark the reference '
     'optional.'),
    (dict(kind='Secret', namespace='ns', name='s', key='k',
          field_path='spec.containers[0].env[1]'),
     "spec.containers[0].env[1]: Secret ns/s not found; create it with the "
     "key 'k' or mark the reference optional."),
    (dict(kind='ConfigMap', namespace='ns', name='cm', key='k',
          object_found=True),
     "ConfigMap ns/cm has no key 'k'; add the key or mark the reference "
     "optional."),
])
def test_missing_reference_sentence(kwargs, text):
    exc = errors.MissingReference(**kwargs)
    assert str(exc) == text
    assert exc.status_reason == 'CreateContainerConfigError'
    assert exc.kind == kwargs['kind']
    assert exc.key == kwargs.get('key')
