"""The files of the node's pods' volumes, delivered to their hosts.

For each capsule whose plan (the ``zun-vk/volumes`` label) has files
volumes (configMap, secret, downwardAPI, projected), zun-vk renders the
files as the kubelet would (translate/volume_files) and hands them to the
host agent of the capsule's host, which keeps them in a tmpfs. The
companion driver holds the containers back until they have arrived.
Afterwards the files are rendered again every [sync]volume_refresh_interval
seconds and sent when they changed, so an edited ConfigMap or a new
label reaches the files within the kubelet's period. Service account
tokens are requested again before they expire, as the kubelet does.
The volume of the secret variables (translate/secret_env) is sent while
the capsule is being created only: the engine reads it once, as the
kubelet resolves env once per container start.

Secret values pass through memory only: never logged, never sent to Zun.
One thread hands due pods to a small pool; a pod is never worked on by
two threads at once.
"""

import collections
import concurrent.futures
import datetime
import hashlib
import json
import threading
import time

from kubernetes.client import exceptions as k8s_exc
from oslo_log import log as logging

from zun_vk.hostlink import client as agent_client
from zun_vk.kube import pods as pod_client
from zun_vk import timestamps
from zun_vk.translate import errors as translate_errors
from zun_vk.translate import volume_files
from zun_vk.zun_plugin import volume_hints

LOG = logging.getLogger(__name__)

# While a capsule is being created its files are awaited: look often.
CREATING_RETRY = 1.0
MAX_RETRY = 60.0
POOL_SIZE = 4
# The kubelet's token manager: a token is renewed once 80 % of its life
# has passed, or after 24 hours.
TOKEN_REFRESH_FRACTION = 0.8
TOKEN_MAX_AGE = 24 * 3600
GONE_STATUSES = ('Error', 'Deleting', 'Deleted', 'Stopped')

Tracked = collections.namedtuple('Tracked',
                                 'key uid capsule volumes env_volume')
CREATING = 'Creating'


def plan_of(capsule):
    """The capsule's plan, or None (also for a label that is broken)."""
    try:
        return volume_hints.parse_plan(
            (capsule.get('labels') or {}).get(volume_hints.VOLUMES_LABEL))
    except volume_hints.BadPlan:
        return None


def digest(files):
    """A digest of rendered files: unchanged files are not sent again."""
    hashed = hashlib.sha256()
    for path in sorted(files):
        data, mode = files[path]
        hashed.update(path.encode('utf-8') + b'\0')
        hashed.update(b'%o\0' % mode)
        hashed.update(hashlib.sha256(data).digest())
    return hashed.hexdigest()


class TokenCache(object):
    """Service account tokens by pod, audience and expiry, as the kubelet's.

    request(pod, audience, seconds) -> (token, aware expiry datetime).
    """

    def __init__(self, request, now=timestamps.utcnow):
        self._request = request
        self._now = now
        self._lock = threading.Lock()
        self._tokens = {}

    def get(self, pod, audience, seconds):
        key = (pod['metadata']['uid'], audience or '', int(seconds))
        with self._lock:
            held = self._tokens.get(key)
        now = self._now()
        if held is not None and not self._stale(held, seconds, now):
            return held[0]
        token, expires = self._request(pod, audience, seconds)
        with self._lock:
            self._tokens[key] = (token, expires, now)
        return token

    @staticmethod
    def _stale(held, seconds, now):
        _token, expires, issued = held
        if expires is None:
            return True
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=datetime.timezone.utc)
        refresh = expires - datetime.timedelta(
            seconds=seconds * (1 - TOKEN_REFRESH_FRACTION))
        return now >= refresh or (now - issued).total_seconds() >= (
            TOKEN_MAX_AGE)

    def forget(self, uid):
        with self._lock:
            for key in [k for k in self._tokens if k[0] == uid]:
                del self._tokens[key]


class Sources(object):
    """What one pod's volumes read, each object read once per render."""

    def __init__(self, pods, tokens, pod):
        self._pods = pods
        self._tokens = tokens
        self._pod = pod
        self._namespace = pod['metadata']['namespace']
        self._read = {}

    def _once(self, kind, name, read):
        if (kind, name) not in self._read:
            self._read[(kind, name)] = read(self._namespace, name)
        return self._read[(kind, name)]

    def config_map(self, name):
        return self._once('ConfigMap', name, self._pods.config_map)

    def secret(self, name):
        return self._once('Secret', name, self._pods.secret)

    def service_account_token(self, audience, expiration_seconds):
        return self._tokens.get(self._pod, audience, expiration_seconds)


class NoHostVolumes(object):
    """The hosts keep no pod volumes ([zun]companion_driver or agents off)."""

    enabled = False

    def track(self, pod, capsule, secret_files=None):
        pass

    def forget(self, uid):
        pass


class PodFiles(object):
    """Keeps the files volumes of the node's pods on their hosts."""

    enabled = True

    def __init__(self, conf, state, pods, agents, events,
                 clock=time.monotonic, cluster=None):
        self.conf = conf
        self.state = state
        self.pods = pods
        self.agents = agents
        self.events = events
        self.clock = clock
        # cluster_view.ClusterView: the Node's allocatable, the value of
        # a resourceFieldRef to a limit the container does not set.
        self.cluster = cluster
        self.tokens = TokenCache(pods.service_account_token)
        self._lock = threading.Lock()
        self._tracked = {}      # uid -> Tracked
        # uid -> callable: the pod's (volume, files) of secret variables
        self._secret_files = {}
        self._due = {}          # uid -> monotonic time of the next look
        self._sent = {}         # (capsule, volume) -> digest sent
        self._failures = {}     # uid -> consecutive failures
        self._busy = set()
        self._wake = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            POOL_SIZE, thread_name_prefix='pod-files')

    # what the pod handler tells us --------------------------------------

    def track(self, pod, capsule, secret_files=None):
        """Deliver and keep up to date the files of the pod's capsule.

        secret_files() gives the pod's (volume, files) of secret
        variables (CapsuleRequest.secret_files), when its plan has them.
        """
        plan = plan_of(capsule)
        if plan is None or not plan.names(volume_hints.FILES):
            return
        uid = pod['metadata']['uid']
        entry = Tracked(pod_client.pod_key(pod), uid, capsule['uuid'],
                        tuple(plan.names(volume_hints.FILES)),
                        plan.env_volume)
        with self._lock:
            if secret_files is not None:
                self._secret_files[uid] = secret_files
            old = self._tracked.get(uid)
            if old == entry:
                return
            self._tracked[uid] = entry
            self._due[uid] = self.clock()
            self._failures.pop(uid, None)
            if old is not None and old.capsule != entry.capsule:
                self._drop_sent(old.capsule)
        self._wake.set()

    def forget(self, uid):
        with self._lock:
            old = self._tracked.pop(uid, None)
            self._secret_files.pop(uid, None)
            self._due.pop(uid, None)
            self._failures.pop(uid, None)
            if old is not None:
                self._drop_sent(old.capsule)
        self.tokens.forget(uid)

    def _drop_sent(self, capsule):
        for key in [k for k in self._sent if k[0] == capsule]:
            del self._sent[key]

    # the loop -----------------------------------------------------------

    def run(self, stopping):
        """Hand due pods to the pool until stopping() is true."""
        while not stopping():
            now = self.clock()
            with self._lock:
                due = [uid for uid, when in self._due.items()
                       if when <= now and uid not in self._busy]
                self._busy.update(due)
                upcoming = [w for u, w in self._due.items()
                            if u not in self._busy]
            for uid in due:
                self._pool.submit(self._look, uid)
            wait = min([max(0.0, w - now) for w in upcoming] + [1.0])
            self._wake.wait(wait)
            self._wake.clear()
        self._pool.shutdown(wait=False)

    def _look(self, uid):
        try:
            delay = self.sync(uid)
        except Exception:  # noqa: B902 - one pod must not stop the rest
            LOG.exception('Delivering the volume files of pod %s failed',
                          uid)
            delay = self._failed(uid)
        with self._lock:
            self._busy.discard(uid)
            if uid in self._tracked and delay is not None:
                self._due[uid] = self.clock() + delay
        self._wake.set()

    def _failed(self, uid):
        with self._lock:
            count = self._failures.get(uid, 0) + 1
            self._failures[uid] = count
        return min(MAX_RETRY, CREATING_RETRY * 2 ** (count - 1))

    # one pod ------------------------------------------------------------

    def sync(self, uid):
        """Deliver what changed; the delay before the next look, or None."""
        with self._lock:
            entry = self._tracked.get(uid)
        if entry is None:
            return None
        pod = self.state.pod(entry.key)
        capsule = self.state.capsule(uid)
        if (pod is None or pod['metadata']['uid'] != uid or
                pod['metadata'].get('deletionTimestamp') or
                capsule is None or capsule['uuid'] != entry.capsule):
            self.forget(uid)
            return None
        if capsule.get('status') in GONE_STATUSES:
            return self.conf.sync.volume_refresh_interval
        try:
            host = self.agents.locate(entry.capsule, capsule.get('host'))
        except agent_client.AgentError as exc:
            LOG.debug('Pod %s: capsule %s not found on a host yet: %s',
                      entry.key, entry.capsule, exc.message)
            return self._failed(uid)
        sources = Sources(self.pods, self.tokens, pod)
        for volume in entry.volumes:
            if volume == entry.env_volume:
                delivered = capsule.get('status') != CREATING or (
                    self._deliver_secret_env(pod, entry, host))
            else:
                delivered = self._deliver(pod, entry, host, volume, sources)
            if not delivered:
                return self._failed(uid)
        with self._lock:
            self._failures.pop(uid, None)
        return self.conf.sync.volume_refresh_interval

    def _deliver_secret_env(self, pod, entry, host):
        """Send the secret variables once, while the capsule is created."""
        volume = entry.env_volume
        if (entry.capsule, volume) in self._sent:
            return True
        with self._lock:
            secret_files = self._secret_files.get(entry.uid)
        found = secret_files() if secret_files is not None else None
        if not found or found[0] != volume:
            # The pod handler derives them again at its next look.
            LOG.debug('Pod %s: no secret variables for volume %s yet',
                      entry.key, volume)
            return False
        return self._send(entry, host, volume, found[1])

    def _deliver(self, pod, entry, host, volume, sources):
        spec = _volume_spec(pod, volume)
        if spec is None:
            return True
        failure = None
        try:
            files = volume_files.render(spec, pod, sources,
                                        self._node_allocatable())
        except translate_errors.TranslationError as exc:
            failure = exc
        except k8s_exc.ApiException as exc:
            # A read the API refused (a token for a pod without that
            # service account, no RBAC): the user sees it as the kubelet's.
            failure = '%s %s' % (exc.status, _api_message(exc))
        if failure is not None:
            # The kubelet's words, so that users find what they know.
            self.events.record(pod, 'Warning', 'FailedMount',
                               'MountVolume.SetUp failed for volume "%s" : '
                               '%s' % (volume, failure))
            return False
        return self._send(entry, host, volume, files)

    def _node_allocatable(self):
        # Cached by the cluster view for a while: cheap to ask each time.
        if self.cluster is None:
            return None
        return self.cluster.node_allocatable()

    def _send(self, entry, host, volume, files):
        signature = digest(files)
        if self._sent.get((entry.capsule, volume)) == signature:
            return True
        try:
            self.agents.put_files(host, entry.capsule, volume, [
                (path, data, mode)
                for path, (data, mode) in sorted(files.items())])
        except agent_client.AgentError as exc:
            LOG.debug('Pod %s: volume %s not delivered to %s: %s',
                      entry.key, volume, host, exc.message)
            return False
        with self._lock:
            self._sent[(entry.capsule, volume)] = signature
        LOG.debug('Pod %s: volume %s delivered to %s', entry.key, volume,
                  host)
        return True


def _api_message(exc):
    try:
        return json.loads(exc.body).get('message') or exc.reason
    except (TypeError, ValueError, AttributeError):
        return exc.reason


def _volume_spec(pod, name):
    for volume in (pod.get('spec') or {}).get('volumes') or []:
        if volume.get('name') == name:
            return volume
    return None
