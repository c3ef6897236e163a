"""Errors raised while translating a pod into a Zun capsule.

Each error's ``str()`` is a sentence a Kubernetes user can act on: it
names the pod field at fault and says what to change. The pod handler puts
it into an Event and into the pod status (``status_reason`` gives the
CamelCase reason for ``status.reason``).
"""


class TranslationError(Exception):
    """Base class: the pod cannot be turned into a capsule as it is."""

    status_reason = 'ProviderFailed'


class UnsupportedPod(TranslationError):
    """The pod asks for something Zun capsules cannot do.

    ``field_path`` is the pod field in Kubernetes notation
    (``spec.containers[0].securityContext.privileged``); ``reason`` says
    why it cannot run and what to do instead. ``problems`` lists every
    (field_path, reason) pair found, the first one being this error's own,
    so a user can fix all of them in one edit.
    """

    status_reason = 'UnsupportedPodSpec'

    def __init__(self, field_path, reason, *, also=()):
        self.field_path = field_path
        self.reason = reason
        self.problems = ((field_path, reason),) + tuple(also)
        super().__init__(str(self))

    def __str__(self):
        parts = ['%s: %s' % problem for problem in self.problems]
        text = sentence(parts[0])
        if len(parts) > 1:
            text += ' Also: ' + ' '.join(sentence(p) for p in parts[1:])
        return text

    @classmethod
    def from_problems(cls, problems):
        """One error for a non-empty list of (field_path, reason) pairs."""
        first, *rest = problems
        return cls(first[0], first[1], also=rest)


class ContainerConfigError(TranslationError):
    """A container's configuration cannot be made from the pod as it is now.

    The kubelet leaves such a pod Pending with reason
    CreateContainerConfigError and tries again: the pod, or what it
    refers to, may change (a ConfigMap created, an annotation added).
    """

    status_reason = 'CreateContainerConfigError'

    def __init__(self, field_path, message):
        self.field_path = field_path
        self.message = message
        super().__init__(str(self))

    def __str__(self):
        return sentence('%s: %s' % (self.field_path, self.message))


class MissingReference(ContainerConfigError):
    """A ConfigMap, Secret or key the pod's environment needs is missing.

    ``kind`` is 'ConfigMap' or 'Secret'; ``key`` is None for ``envFrom``
    references to a whole object.
    """

    def __init__(self, kind, namespace, name, key=None, field_path=None,
                 *, object_found=False):
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.key = key
        self.field_path = field_path
        self.object_found = object_found
        Exception.__init__(self, str(self))

    def __str__(self):
        where = '%s: ' % self.field_path if self.field_path else ''
        ref = '%s %s/%s' % (self.kind, self.namespace, self.name)
        if not self.object_found:
            what = '%s not found' % ref
            if self.key is None:
                fix = 'create it or mark the reference optional'
            else:
                fix = ("create it with the key '%s' or mark the reference "
                       "optional" % self.key)
        else:
            what = "%s has no key '%s'" % (ref, self.key)
            fix = 'add the key or mark the reference optional'
        return '%s%s; %s.' % (where, what, fix)


def sentence(text):
    """text, ending with a full stop unless it ends a sentence already."""
    text = text.rstrip()
    return text if text.endswith(('.', '!', '?')) else text + '.'
