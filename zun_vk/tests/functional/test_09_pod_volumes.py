"""configMap, secret, downwardAPI, projected and emptyDir volumes.

Real containers only: the companion driver inside zun-compute holds the
containers back until the stack's zun-vk-agent has prepared the capsule's
host directory and zun-vk has delivered the files, then bind-mounts them.
What the containers see is read with real kubectl exec.
"""

import base64
import os
import subprocess

import pytest

from zun_vk.tests.functional import conftest
from zun_vk.tests.functional import fixtures

# A value that must never leave Kubernetes and the compute host's tmpfs.
SECRET_VALUE = 'zvk-s3cr3t-%s' % os.urandom(6).hex()
BLOB = bytes(range(256))


@pytest.fixture(autouse=True)
def real_containers_only(stack):
    fixtures.require_real_containers(stack)


def kubectl(stack, namespace, *args, timeout=60):
    env = dict(os.environ, KUBECONFIG=stack.kubeconfig)
    return subprocess.run(['kubectl', '-n', namespace] + list(args),
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def sh(stack, namespace, pod, script, container='main'):
    out = kubectl(stack, namespace, 'exec', pod, '-c', container, '--',
                  'sh', '-c', script)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode()


def wait_running(kube, namespace, name, timeout=180):
    def running():
        pod = kube.core.read_namespaced_pod(name, namespace)
        return pod.status.phase == 'Running' and all(
            cs.ready for cs in pod.status.container_statuses or [])
    fixtures.wait_for(running, timeout=timeout, interval=0.5,
                      description='pod %s Running' % name)


VOLUMES = [
    {'name': 'cfg', 'configMap': {'name': 'app-config'}},
    {'name': 'sec', 'secret': {
        'secretName': 'app-secret', 'defaultMode': 0o400,
        'items': [{'key': 'password', 'path': 'creds/pw'}]}},
    {'name': 'info', 'downwardAPI': {'items': [
        {'path': 'labels', 'fieldRef': {'fieldPath': 'metadata.labels'}},
        {'path': 'annotations',
         'fieldRef': {'fieldPath': 'metadata.annotations'}},
        {'path': 'cpu_limit', 'resourceFieldRef': {
            'containerName': 'main', 'resource': 'limits.cpu',
            'divisor': '1m'}},
        {'path': 'mem_limit', 'resourceFieldRef': {
            'containerName': 'main', 'resource': 'limits.memory',
            'divisor': '1Mi'}}]}},
    {'name': 'proj', 'projected': {'defaultMode': 0o440, 'sources': [
        {'configMap': {'name': 'app-config',
                       'items': [{'key': 'greeting', 'path': 'cm/greeting'}]}},
        {'secret': {'name': 'app-secret',
                    'items': [{'key': 'user', 'path': 'sec/user'}]}},
        {'downwardAPI': {'items': [
            {'path': 'name', 'fieldRef': {'fieldPath': 'metadata.name'}}]}},
        {'configMap': {'name': 'not-there', 'optional': True}}]}},
    {'name': 'scratch', 'emptyDir': {}},
    {'name': 'mem', 'emptyDir': {'medium': 'Memory', 'sizeLimit': '16Mi'}},
]


@pytest.fixture
def files_pod(kube, namespace):
    kube.core.create_namespaced_config_map(namespace, {
        'metadata': {'name': 'app-config'},
        'data': {'greeting': 'hello', 'app.properties': 'a=1\nb=2\n'},
        'binaryData': {'blob': base64.b64encode(BLOB).decode()}})
    kube.core.create_namespaced_secret(namespace, {
        'metadata': {'name': 'app-secret'},
        'stringData': {'password': SECRET_VALUE, 'user': 'admin'}})
    mounts = [{'name': 'cfg', 'mountPath': '/etc/cfg'},
              {'name': 'sec', 'mountPath': '/etc/sec'},
              {'name': 'info', 'mountPath': '/etc/info'},
              {'name': 'proj', 'mountPath': '/etc/proj'},
              {'name': 'cfg', 'mountPath': '/etc/greeting',
               'subPath': 'greeting'},
              {'name': 'scratch', 'mountPath': '/scratch'},
              {'name': 'mem', 'mountPath': '/mem'}]
    body = conftest.pod_body('files', labels={'tier': 'web'}, containers=[
        fixtures.busybox('main', 'sleep 3600', volumeMounts=mounts,
                         resources={'limits': {'cpu': '250m',
                                               'memory': '64Mi'}}),
        fixtures.busybox('peer', 'echo disk > /scratch/from-peer; '
                         'echo memory > /mem/from-peer; sleep 3600',
                         volumeMounts=[
                             {'name': 'scratch', 'mountPath': '/scratch'},
                             {'name': 'mem', 'mountPath': '/mem'}])],
        volumes=VOLUMES)
    body['metadata']['annotations'] = {'note': 'first "quoted"'}
    kube.core.create_namespaced_pod(namespace, body)
    wait_running(kube, namespace, 'files')
    return 'files'


def test_files_have_the_kubelets_bytes_modes_and_layout(stack, namespace,
                                                        files_pod):
    def run(script, container='main'):
        return sh(stack, namespace, files_pod, script, container)

    assert run('cat /etc/cfg/greeting') == 'hello'
    assert run('cat /etc/cfg/app.properties') == 'a=1\nb=2\n'
    assert run('od -An -v -tx1 /etc/cfg/blob | tr -d " \\n"') == BLOB.hex()
    # The atomic layout: user-visible names link into ..data.
    listing = run('ls -a /etc/cfg').split()
    assert {'..data', 'greeting', 'blob', 'app.properties'} <= set(listing)
    assert run('readlink /etc/cfg/greeting') == '..data/greeting\n'
    # items and defaultMode 0400
    assert run('cat /etc/sec/creds/pw') == SECRET_VALUE
    assert run('stat -L -c %a /etc/sec/creds/pw') == '400\n'
    assert run('ls /etc/sec') == 'creds\n'
    # downward API, formatted as the kubelet formats it
    assert run('cat /etc/info/labels') == 'tier="web"'
    assert run('cat /etc/info/annotations') == 'note="first \\"quoted\\""'
    assert run('cat /etc/info/cpu_limit') == '250'
    assert run('cat /etc/info/mem_limit') == '64'
    assert run('stat -L -c %a /etc/info/labels') == '644\n'
    # projected, with its own defaultMode; the optional source is absent
    assert run('cat /etc/proj/cm/greeting /etc/proj/sec/user '
               '/etc/proj/name') == 'helloadminfiles'
    assert run('stat -L -c %a /etc/proj/sec/user') == '440\n'
    # a subPath mount of one key
    assert run('cat /etc/greeting') == 'hello'
    # files volumes are read-only, as the kubelet mounts them
    assert run('touch /etc/cfg/new 2>/dev/null && echo rw || echo ro') == (
        'ro\n')
    # emptyDir shared by both containers, on disk and in memory
    fixtures.wait_for(lambda: run('cat /scratch/from-peer /mem/from-peer '
                                  '2>/dev/null || true') == 'disk\nmemory\n',
                      timeout=60, description='the peer container writes')
    mounts = run('cat /proc/mounts')
    assert any(line.split()[1] == '/mem' and line.split()[2] == 'tmpfs'
               for line in mounts.splitlines()), mounts
    assert any(line.split()[1] == '/etc/sec' and line.split()[2] == 'tmpfs'
               for line in mounts.splitlines()), mounts


def test_edits_and_new_labels_reach_the_files(stack, kube, namespace,
                                              files_pod):
    kube.core.patch_namespaced_config_map('app-config', namespace,
                                          {'data': {'greeting': 'bonjour'}})
    kube.core.patch_namespaced_pod(files_pod, namespace,
                                   {'metadata': {'labels': {'tier': 'api'}}})

    def updated():
        out = kubectl(stack, namespace, 'exec', files_pod, '-c', 'main',
                      '--', 'cat', '/etc/cfg/greeting',
                      '/etc/proj/cm/greeting',
                      '/etc/info/labels').stdout.decode()
        return out == 'bonjourbonjourtier="api"'
    fixtures.wait_for(updated, timeout=90, interval=2,
                      description='the edited ConfigMap and label in the '
                                  'files')
    # A subPath mount keeps what it had, as on a kubelet.
    assert sh(stack, namespace, files_pod, 'cat /etc/greeting') == 'hello'


def test_secret_values_stay_out_of_zun_and_the_logs(stack, kube, zun, vk,
                                                    namespace, files_pod):
    assert_only_in_the_pod(stack, kube, zun, vk, namespace, files_pod)


def assert_only_in_the_pod(stack, kube, zun, vk, namespace, name):
    """SECRET_VALUE is neither in Zun's API nor its database nor a log."""
    pod = kube.core.read_namespaced_pod(name, namespace)
    capsule = fixtures.capsule_of_pod(zun, pod.metadata.uid)
    detail = fixtures.capsule_detail(zun, capsule['uuid'])
    assert SECRET_VALUE not in repr(detail)
    dump = subprocess.run(
        ['mysqldump', '-uroot', '-h127.0.0.1', '--skip-extended-insert',
         'zunvkstack_zun'], stdout=subprocess.PIPE, check=True).stdout
    assert capsule['uuid'].encode() in dump     # the dump is of that DB
    assert SECRET_VALUE.encode() not in dump
    log_dir = os.path.join(stack.state_dir, 'logs')
    logs = [os.path.join(log_dir, n) for n in os.listdir(log_dir)]
    logs.append(vk.log_file)
    assert any(n.startswith('zun-vk-agent') for n in os.listdir(log_dir))
    for path in logs:
        with open(path, 'rb') as stream:
            assert SECRET_VALUE.encode() not in stream.read(), path
    return detail


def test_variables_from_secrets_reach_the_containers_past_zun(
        stack, kube, zun, vk, namespace):
    kube.core.create_namespaced_secret(namespace, {
        'metadata': {'name': 'env-secret'},
        'stringData': {'password': SECRET_VALUE, 'user': 'admin'}})
    password = {'name': 'PW', 'valueFrom': {'secretKeyRef': {
        'name': 'env-secret', 'key': 'password'}}}
    body = conftest.pod_body('env', containers=[fixtures.busybox(
        'main', 'echo "$1" > /tmp/arg; exec sleep 3600',
        args=['sh', 'pw=$(PW)'],
        env=[password, {'name': 'DSN', 'value': 'u:$(PW)@db'},
             {'name': 'MODE', 'value': 'prod'}],
        envFrom=[{'prefix': 'S_', 'secretRef': {'name': 'env-secret'}}])])
    # The init container passes only with the value in its environment.
    body['spec']['initContainers'] = [fixtures.busybox(
        'check', 'test "${#PW}" = %d' % len(SECRET_VALUE), env=[password])]
    kube.core.create_namespaced_pod(namespace, body)
    wait_running(kube, namespace, 'env')

    def run(script):
        return sh(stack, namespace, 'env', script)
    assert run('printf %s "$PW"') == SECRET_VALUE
    assert run('printf %s "$DSN"') == 'u:%s@db' % SECRET_VALUE
    assert run('printf %s "$S_password $S_user $MODE"') == (
        '%s admin prod' % SECRET_VALUE)
    assert run('cat /tmp/arg') == 'pw=%s\n' % SECRET_VALUE
    detail = assert_only_in_the_pod(stack, kube, zun, vk, namespace, 'env')
    main, = detail['containers']
    assert main['environment'].get('MODE') == 'prod'
    assert 'PW' not in main['environment']
    # The reference stays where Zun shows the command.
    assert main['entrypoint'] + main['command'] == [
        'sh', '-c', 'echo "$1" > /tmp/arg; exec sleep 3600', 'sh',
        'pw=$(PW)']


SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'


def test_the_service_account_token_lets_an_in_cluster_client_in(
        stack, kube, namespace, tmp_path):
    """The projected volume the ServiceAccount admission plugin adds."""
    from kubernetes import client

    fixtures.wait_for(
        lambda: kube.core.list_namespaced_service_account(
            namespace, field_selector='metadata.name=default').items,
        timeout=60, description='the default service account')
    body = conftest.pod_body('sa', containers=[fixtures.busybox(
        'main', 'exec sleep 3600', volumeMounts=[
            {'name': 'kube-api-access-x1', 'mountPath': SA_DIR,
             'readOnly': True}])],
        volumes=[{'name': 'kube-api-access-x1', 'projected': {
            'defaultMode': 0o644, 'sources': [
                {'serviceAccountToken': {'expirationSeconds': 3607,
                                         'path': 'token'}},
                {'configMap': {'name': 'kube-root-ca.crt', 'items': [
                    {'key': 'ca.crt', 'path': 'ca.crt'}]}},
                {'downwardAPI': {'items': [{'path': 'namespace', 'fieldRef': {
                    'apiVersion': 'v1',
                    'fieldPath': 'metadata.namespace'}}]}}]}}])
    body['spec']['serviceAccountName'] = 'default'
    kube.core.create_namespaced_pod(namespace, body)
    wait_running(kube, namespace, 'sa')
    token = sh(stack, namespace, 'sa', 'cat %s/token' % SA_DIR)
    assert sh(stack, namespace, 'sa', 'cat %s/namespace' % SA_DIR) == (
        namespace)
    ca = tmp_path / 'ca.crt'
    ca.write_text(sh(stack, namespace, 'sa', 'cat %s/ca.crt' % SA_DIR))

    # What an in-cluster client does with the three files.
    config = client.Configuration()
    config.host = kube.api_client.configuration.host
    config.ssl_ca_cert = str(ca)
    config.api_key = {'authorization': 'Bearer ' + token}
    as_pod = client.CoreV1Api(client.ApiClient(config))
    with pytest.raises(client.ApiException) as refused:
        as_pod.list_namespaced_secret(namespace)
    # Authenticated (not 401) as the pod's service account, which RBAC
    # gives no Secrets.
    assert refused.value.status == 403
    assert 'system:serviceaccount:%s:default' % namespace in (
        refused.value.body)
    review = client.AuthenticationV1Api(kube.api_client).create_token_review(
        {'spec': {'token': token}})
    assert review.status.authenticated
    pod = kube.core.read_namespaced_pod('sa', namespace)
    assert review.status.user.extra[
        'authentication.kubernetes.io/pod-uid'] == [pod.metadata.uid]


def test_the_pod_ip_reaches_env_and_args(stack, kube, namespace):
    pod_ip = {'name': 'POD_IP', 'valueFrom': {'fieldRef': {
        'fieldPath': 'status.podIP'}}}
    body = conftest.pod_body('ip', containers=[fixtures.busybox(
        'main', 'echo "$1" > /tmp/arg; exec sleep 3600',
        args=['sh', 'bind=$(POD_IP):8080'],
        env=[pod_ip, {'name': 'URL', 'value': 'http://$(POD_IP)/'}])])
    kube.core.create_namespaced_pod(namespace, body)
    wait_running(kube, namespace, 'ip')
    reported = kube.core.read_namespaced_pod('ip', namespace).status.pod_ip
    assert reported
    run = lambda script: sh(stack, namespace, 'ip', script)  # noqa: E731
    assert run('printf %s "$POD_IP $URL"') == '%s http://%s/' % (
        reported, reported)
    assert run('cat /tmp/arg') == 'bind=%s:8080\n' % reported
    # The address the container itself has.
    assert reported in run('ip -o addr 2>/dev/null || hostname -i')


def test_a_sub_path_expr_missing_a_value_waits_until_the_pod_has_it(
        stack, kube, namespace):
    annotation = {'name': 'DIR', 'valueFrom': {'fieldRef': {
        'fieldPath': "metadata.annotations['dir']"}}}
    body = conftest.pod_body('subpath', containers=[fixtures.busybox(
        'main', 'exec sleep 3600', env=[annotation],
        volumeMounts=[{'name': 'work', 'mountPath': '/sub',
                       'subPathExpr': '$(DIR)/app'},
                      {'name': 'work', 'mountPath': '/work'}])],
        volumes=[{'name': 'work', 'emptyDir': {}}])
    kube.core.create_namespaced_pod(namespace, body)

    def waiting_reason():
        pod = kube.core.read_namespaced_pod('subpath', namespace)
        for cs in pod.status.container_statuses or []:
            if cs.state.waiting is not None:
                return pod.status.phase, cs.state.waiting.reason
        return pod.status.phase, None
    fixtures.wait_for(
        lambda: waiting_reason() == ('Pending',
                                     'CreateContainerConfigError'),
        timeout=60, description='the container waits for its subPath')
    kube.core.patch_namespaced_pod('subpath', namespace, {
        'metadata': {'annotations': {'dir': 'data'}}})
    wait_running(kube, namespace, 'subpath')
    sh(stack, namespace, 'subpath', 'echo hi > /sub/f')
    assert sh(stack, namespace, 'subpath', 'cat /work/data/app/f') == 'hi\n'
