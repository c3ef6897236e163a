"""Hypothesis strategies: pods as the Kubernetes API returns them.

``pod_cases()`` draws a PodCase: a pod (API JSON, camelCase) with the
ConfigMaps, Secrets and node facts its environment may read, plus the
fields the translation must refuse. Fields are drawn from what the API
server accepts (names are DNS labels, ports are integers, ...), mixing
what Zun can run with what it cannot; ``refused`` lists the paths of the
fields drawn to be unsupported, in the notation refusals use.
"""

import base64
import dataclasses
import string

from hypothesis import strategies as st

from zun_vk.translate import pod_to_capsule as ptc

_LOWER = string.ascii_lowercase + string.digits
SA_MOUNT = ptc.SERVICE_ACCOUNT_MOUNT


@dataclasses.dataclass
class PodCase:
    pod: dict
    configmaps: dict
    secrets: dict
    host_ip: str
    node_allocatable: dict
    defaults: ptc.CapsuleDefaults
    # Refused by pod_to_capsule (all of them named in one refusal) and by
    # the environment's resolution (pod_env stops at the first).
    refused: list
    refused_env: list


def dns_labels(max_size=12):
    return st.builds(
        lambda first, rest: first + rest.rstrip('-'),
        st.sampled_from(_LOWER),
        st.text(alphabet=_LOWER + '-', max_size=max_size - 1))


def quantities():
    """Quantities in the API's grammar: '250m', '1.5Gi', '2e3', 3, ..."""
    number = st.one_of(
        st.integers(0, 16).map(str), st.integers(0, 4096).map(str),
        st.builds('{}.{}'.format, st.integers(0, 64), st.integers(0, 999)))
    suffix = st.sampled_from(['', '', 'm', 'k', 'M', 'G', 'Ki', 'Mi', 'Gi',
                              'n', 'u', 'e3', 'E', 'Ti', 'e-2'])
    text = st.builds(lambda sign, n, s: sign + n + s,
                     st.sampled_from([''] * 8 + ['-', '+']), number, suffix)
    return st.one_of(text, st.integers(0, 64))


REALISTIC = {
    'cpu': ['100m', '250m', '0.5', '1', '2', '1500m', 1],
    'memory': ['64Mi', '128Mi', '1Gi', '512M', '100000000', 256 * 2 ** 20],
    'ephemeral-storage': ['1Gi'],
    'image': ['nginx:1.25', 'busybox', 'ghcr.io/a/b',
              'registry.example.com:5000/team/app:v1',
              'quay.io/org/tool@sha256:' + 'ab12' * 16],
}
# The API only needs a non-empty image name without surrounding blanks.
ODD_IMAGES = st.text(alphabet=string.ascii_letters + string.digits + ':/@._-',
                     min_size=1, max_size=300)


def texts(max_size=20):
    return st.text(max_size=max_size)


class _Drawer(object):
    """Draws the parts of one pod, noting the fields it must refuse."""

    def __init__(self, draw, defaults, host_ip):
        self.draw = draw
        self.defaults = defaults
        self.host_ip = host_ip
        self.refused = []
        self.refused_env = []
        self.volumes_by_name = {}
        self.mount_paths = {}

    def maybe(self, value_strategy):
        return self.draw(st.one_of(st.none(), value_strategy))

    def rarely(self):
        # About one in 40: a pod has many chances to be refused. (Not an
        # end of the range: Hypothesis draws those more often.)
        return self.draw(st.integers(0, 39)) == 20

    def usually(self, common, odd):
        """A value drawn from common, now and then from odd instead."""
        return self.draw(odd if self.rarely() else common)

    def sometimes_refused(self, accepted, refused):
        """One of accepted, or now and then the refused value(s)."""
        if self.rarely():
            if isinstance(refused, str):
                return refused
            return self.draw(st.sampled_from(refused))
        return self.draw(st.sampled_from(accepted))

    def refuse_if(self, condition, path):
        if condition:
            self.refused.append(path)

    def pod_spec(self):
        draw = self.draw
        spec = {}
        for field in ('hostNetwork', 'hostPID', 'hostIPC',
                      'shareProcessNamespace'):
            value = self.rarely() or self.maybe(st.just(False))
            if value is not None:
                spec[field] = value
                self.refuse_if(value, 'spec.' + field)
        policy = self.sometimes_refused(
            [None, 'Always', 'OnFailure', 'Never'], 'Sometimes')
        if policy:
            spec['restartPolicy'] = policy
            self.refuse_if(policy == 'Sometimes', 'spec.restartPolicy')
        os_name = self.sometimes_refused([None, 'linux'], 'windows')
        if os_name:
            spec['os'] = {'name': os_name}
            self.refuse_if(os_name == 'windows', 'spec.os.name')
        if self.rarely():
            spec['ephemeralContainers'] = [{'name': 'debug',
                                            'image': 'busybox'}]
            self.refused.append('spec.ephemeralContainers')
        if self.rarely():
            spec['resourceClaims'] = [{'name': 'gpu'}]
            self.refused.append('spec.resourceClaims')
        # Accepted with a warning.
        for field, value in (
                ('securityContext', {'runAsUser': 1000, 'fsGroup': 2000}),
                ('hostname', 'web'), ('subdomain', 'svc'),
                ('hostAliases', [{'ip': '10.0.0.1',
                                  'hostnames': ['db']}]),
                ('dnsConfig', {'nameservers': ['10.0.0.2']}),
                ('hostUsers', False),
                ('resources', {'limits': {'cpu': '1'}})):
            if draw(st.booleans()):
                spec[field] = value
        # Container names are unique across init and regular containers.
        names = draw(st.lists(dns_labels(), min_size=1, max_size=4,
                              unique=True))
        split = len(names) if self.rarely() else draw(
            st.integers(0, len(names) - 1))
        spec['volumes'] = self.volumes()
        spec['initContainers'] = [
            self.container('spec.initContainers[%d]' % i, name)
            for i, name in enumerate(names[:split])]
        spec['containers'] = [
            self.container('spec.containers[%d]' % i, name)
            for i, name in enumerate(names[split:])]
        self.refuse_if(not spec['containers'], 'spec.containers')
        self.token_volume_refusals(spec['volumes'])
        return spec

    def volumes(self):
        names = self.draw(st.lists(dns_labels(), max_size=4, unique=True))
        return [self.volume('spec.volumes[%d]' % i, name)
                for i, name in enumerate(names)]

    def volume(self, path, name):
        draw = self.draw
        kind = self.sometimes_refused(
            ['cinder', 'emptyDir', 'token'],
            ['hostPath', 'persistentVolumeClaim', 'configMap', 'secret',
             'downwardAPI'])
        if kind == 'token':
            # Kubernetes injects one; dropped only if mounted nowhere else.
            if draw(st.booleans()):
                volume = {'name': 'kube-api-access-' + name,
                          'projected': {'defaultMode': 420, 'sources': []}}
            else:
                volume = {'name': name + '-token-x7k2p',
                          'secret': {'secretName': name + '-token-x7k2p'}}
            self._declare(volume['name'], path, 'token')
            return volume
        if kind == 'cinder':
            cinder = {'volumeID': self.usually(
                st.uuids().map(str), st.text(min_size=1, max_size=40))}
            self.refuse_if(len(cinder['volumeID']) != 36,
                           path + '.cinder.volumeID')
            for field, value in (('readOnly', True), ('fsType', 'ext4'),
                                 ('secretRef', {'name': 'creds'})):
                if self.rarely():
                    cinder[field] = value
                    self.refuse_if(field != 'fsType',
                                   '%s.cinder.%s' % (path, field))
            self._declare(name, path, 'mountable')
            return {'name': name, 'cinder': cinder}
        if kind == 'emptyDir':
            empty_dir = {}
            if draw(st.booleans()):
                empty_dir['medium'] = self.sometimes_refused([''], 'Memory')
            if draw(st.booleans()):
                empty_dir['sizeLimit'] = draw(quantities())
            if (not self.defaults.empty_dir_cinder_size_gb or
                    empty_dir.get('medium') == 'Memory'):
                # Without host volumes: Cinder for disk ones only.
                self.refused.append(path + '.emptyDir')
                self._declare(name, path, 'refused')
            else:
                self._declare(name, path, 'mountable')
            return {'name': name, 'emptyDir': empty_dir}
        self.refused.append('%s.%s' % (path, kind))
        self._declare(name, path, 'refused')
        source = {'hostPath': {'path': '/srv'},
                  'persistentVolumeClaim': {'claimName': 'data'},
                  'configMap': {'name': 'settings'},
                  'secret': {'secretName': 'creds'},
                  'downwardAPI': {'items': []}}[kind]
        return {'name': name, kind: source}

    def _declare(self, name, path, kind):
        self.volumes_by_name[name] = (path, kind)
        self.mount_paths[name] = []

    def token_volume_refusals(self, volumes):
        """A token volume mounted elsewhere than its path is refused."""
        for volume in volumes:
            path, kind = self.volumes_by_name[volume['name']]
            if kind == 'token' and any(
                    p != SA_MOUNT for p in self.mount_paths[volume['name']]):
                source = 'projected' if 'projected' in volume else 'secret'
                self.refused.append('%s.%s' % (path, source))

    def container(self, path, name):
        draw = self.draw
        container = {'name': name, 'image': self.usually(
            st.sampled_from(REALISTIC['image']), ODD_IMAGES)}
        for field in ('command', 'args'):
            if draw(st.booleans()):
                container[field] = draw(st.lists(st.one_of(
                    texts(), st.sampled_from(['$(A)', '$$(A)', '$(', 'x$'])),
                    max_size=3))
        if draw(st.booleans()):
            container['workingDir'] = draw(texts())
        for field, values in (
                ('imagePullPolicy', ['Always', 'Never', 'IfNotPresent']),
                ('tty', [True, False]), ('stdin', [True, False])):
            if draw(st.booleans()):
                container[field] = draw(st.sampled_from(values))
        container['env'] = [self.env_var('%s.env[%d]' % (path, i))
                            for i in range(draw(st.integers(0, 3)))]
        if self.rarely():
            container['envFrom'] = [self.env_from(
                '%s.envFrom[0]' % path)]
        container['ports'] = [self.port('%s.ports[%d]' % (path, i))
                              for i in range(draw(st.integers(0, 3)))]
        container['resources'] = self.resources(path + '.resources')
        container['volumeMounts'] = self.mounts(path)
        self.security_and_hooks(path, container)
        return container

    def env_var(self, path):
        draw = self.draw
        name = draw(st.text(alphabet=string.ascii_letters + '_.-',
                            min_size=1, max_size=8))
        source = draw(st.sampled_from(
            ['value', 'value', 'field', 'configMap', 'secret', 'resource']))
        if source == 'value':
            return {'name': name, 'value': draw(st.one_of(
                texts(), st.just('$(A)-$$(B)')))}
        if source == 'field':
            field = self.sometimes_refused(
                ['metadata.name', 'metadata.labels', "metadata.labels['app']",
                 'spec.nodeName', 'status.hostIP'],
                ['status.podIP', 'spec.nodeSelector'])
            if field in ('status.podIP', 'spec.nodeSelector') or (
                    field == 'status.hostIP' and not self.host_ip):
                self.refused_env.append(path + '.valueFrom.fieldRef')
            return {'name': name,
                    'valueFrom': {'fieldRef': {'fieldPath': field}}}
        if source == 'resource':
            ref = {'resource': draw(st.sampled_from(
                ['limits.cpu', 'requests.memory', 'limits.memory',
                 'requests.hugepages-2Mi']))}
            if draw(st.booleans()):
                # The API server takes only 1m, 1, 1k, 1Mi, ... (0: unset).
                ref['divisor'] = self.usually(
                    st.sampled_from(['1m', '1', '1Mi', '1Gi', '1k', '0']),
                    st.sampled_from(['-1', '-500m', '-1n', '0.5', '3']))
                if ref['divisor'].startswith('-'):
                    self.refused_env.append(
                        path + '.valueFrom.resourceFieldRef.divisor')
            return {'name': name, 'valueFrom': {'resourceFieldRef': ref}}
        field = source + 'KeyRef'
        ref = {'name': 'absent' if self.rarely() else 'settings',
               'key': 'missing' if self.rarely() else draw(
                   st.sampled_from(['mode', 'text']))}
        if draw(st.booleans()):
            ref['optional'] = True
        return {'name': name, 'valueFrom': {field: ref}}

    def env_from(self, path):
        draw = self.draw
        field = draw(st.sampled_from(['configMapRef', 'secretRef']))
        ref = {'name': 'absent' if self.rarely() else 'settings'}
        if draw(st.booleans()):
            ref['optional'] = True
        source = {field: ref}
        if draw(st.booleans()):
            source['prefix'] = draw(st.sampled_from(['APP_', '1', '=']))
        return source

    def port(self, path):
        draw = self.draw
        port = {'containerPort': draw(st.integers(1, 65535))}
        protocol = self.sometimes_refused([None, 'TCP', 'UDP'], 'SCTP')
        if protocol:
            port['protocol'] = protocol
        if draw(st.booleans()):
            port['name'] = draw(dns_labels())
        if self.rarely():
            port['hostPort'] = draw(st.integers(1, 65535))
        if self.rarely():
            port['hostIP'] = '0.0.0.0'
        self.refuse_if(protocol == 'SCTP' or 'hostPort' in port or
                       'hostIP' in port, path)
        return port

    def resources(self, path):
        draw = self.draw
        resources = {}
        for section in ('limits', 'requests'):
            values = {}
            names = draw(st.lists(st.sampled_from(
                ['cpu', 'memory', 'ephemeral-storage']), unique=True))
            if self.rarely():
                names.append(draw(st.sampled_from(
                    ['nvidia.com/gpu', 'hugepages-2Mi'])))
            for name in names:
                values[name] = self.usually(
                    st.sampled_from(REALISTIC.get(name, ['1'])),
                    quantities())
                self.refuse_if(name in ('nvidia.com/gpu', 'hugepages-2Mi'),
                               '%s.%s.%s' % (path, section, name))
            if values:
                resources[section] = values
        return resources

    def mounts(self, path):
        draw = self.draw
        mounts = []
        declared = sorted(self.volumes_by_name)
        names = draw(st.lists(st.sampled_from(declared), max_size=3)
                     if declared else st.just([]))
        if self.rarely():
            names.append('undeclared')
        for index, name in enumerate(names):
            mount_path = '%s.volumeMounts[%d]' % (path, index)
            kind = self.volumes_by_name.get(name, (None, 'undeclared'))[1]
            mount = {'name': name, 'mountPath': '/mnt/%d' % index}
            if kind == 'token' and not self.rarely():
                mount.update(mountPath=SA_MOUNT, readOnly=True)
            self.refuse_if(kind == 'undeclared', mount_path + '.name')
            for field, value in (('readOnly', True), ('subPath', 'part'),
                                 ('mountPropagation', 'HostToContainer')):
                if self.rarely() and field not in mount:
                    mount[field] = value
                    self.refuse_if(kind == 'mountable',
                                   '%s.%s' % (mount_path, field))
            if name in self.mount_paths:
                self.mount_paths[name].append(mount['mountPath'])
            mounts.append(mount)
        return mounts

    def security_and_hooks(self, path, container):
        draw = self.draw
        security = {}
        for field, value, refused in (
                ('privileged', True, 'privileged'),
                ('capabilities', {'add': ['NET_ADMIN']}, 'capabilities.add'),
                ('capabilities', {'drop': ['ALL']}, None),
                ('procMount', 'Unmasked', 'procMount'),
                ('runAsUser', 1000, None),
                ('readOnlyRootFilesystem', True, None)):
            if self.rarely() and field not in security:
                security[field] = value
                if refused:
                    self.refused.append(
                        '%s.securityContext.%s' % (path, refused))
        if security:
            container['securityContext'] = security
        hook = self.sometimes_refused([None, 'preStop'], 'postStart')
        if hook:
            container['lifecycle'] = {hook: {'exec': {'command': ['true']}}}
            self.refuse_if(hook == 'postStart',
                           path + '.lifecycle.postStart')
        if draw(st.booleans()):
            container['livenessProbe'] = {'tcpSocket': {'port': 80}}
        if self.rarely():
            container['volumeDevices'] = [{'name': 'raw',
                                           'devicePath': '/dev/xvda'}]
            self.refused.append(path + '.volumeDevices')
        if self.rarely():
            container['restartPolicy'] = 'Always'
            self.refused.append(path + '.restartPolicy')


def _defaults(zun_limits):
    return st.builds(
        ptc.CapsuleDefaults,
        cpu=st.sampled_from([0.5, 1.0]),
        memory_mb=st.sampled_from([256, 512]),
        availability_zone=st.sampled_from([None, 'nova']),
        empty_dir_cinder_size_gb=st.sampled_from([None, 1, 10]),
        **{key: st.just(value) for key, value in zun_limits.items()})


def _secret_value(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


@st.composite
def pod_cases(draw, zun_limits):
    """PodCases; zun_limits: the min_*/max_* CapsuleDefaults of Zun's."""
    defaults = draw(_defaults(zun_limits))
    host_ip = draw(st.sampled_from([None, '192.0.2.10']))
    drawer = _Drawer(draw, defaults, host_ip)
    spec = drawer.pod_spec()
    labels = draw(st.dictionaries(dns_labels(), texts(), max_size=3))
    annotations = draw(st.dictionaries(texts(), texts(), max_size=2))
    pod = {
        'apiVersion': 'v1', 'kind': 'Pod',
        'metadata': {
            'name': draw(st.one_of(dns_labels(), st.text(
                alphabet=_LOWER + '.-', min_size=1, max_size=253))),
            'namespace': draw(dns_labels()),
            'uid': str(draw(st.uuids())),
            'labels': labels, 'annotations': annotations},
        'spec': spec,
        'status': {'phase': 'Pending'},
    }
    data = draw(st.fixed_dictionaries(
        {'mode': texts(), 'text': texts()},
        optional={'A-B': texts(), 'has=equals': texts(), '': texts()}))
    secret_data = {key: _secret_value(value) for key, value in data.items()}
    if drawer.rarely():
        secret_data['text'] = '%%% not base64'
    return PodCase(
        pod=pod,
        configmaps={'settings': data},
        secrets={'settings': secret_data},
        host_ip=host_ip,
        node_allocatable=draw(st.sampled_from(
            [None, {'cpu': '8', 'memory': '16Gi'}])),
        defaults=defaults, refused=drawer.refused,
        refused_env=drawer.refused_env)
