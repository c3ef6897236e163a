"""What the kubelet API does: find the pod's capsule, relay to its agent.

The pod comes from Kubernetes (it must be bound to this node), its
capsule from Zun by the pod's deterministic capsule name (its pod-UID
label must match), the container inside the capsule by the same matching
the pod status uses, and the compute host from Zun or, when Zun does not
show it to zun-vk's credentials, from the agents themselves. Streams are
then copied both ways between the client's session and the agent's.
"""

import datetime
import threading

from oslo_log import log as logging

from zun_vk.hostlink import client as agent_client
from zun_vk.kubelet import routes
from zun_vk.kubelet import stats as stats_shape
from zun_vk import timestamps
from zun_vk.translate import capsule_to_status
from zun_vk.translate import pod_to_capsule
from zun_vk.zun import client as zun_client

LOG = logging.getLogger(__name__)

COPY_SIZE = 65536


class Target(object):
    """One pod's capsule on a compute host, and the asked-for container."""

    def __init__(self, pod, capsule, host, container_uuid=None,
                 container_name=None):
        self.pod = pod
        self.capsule = capsule
        self.host = host
        self.container_uuid = container_uuid
        self.container_name = container_name

    @property
    def capsule_uuid(self):
        return self.capsule['uuid']

    @property
    def pod_name(self):
        return self.pod['metadata']['name']


def _all_specs(pod):
    spec = pod.get('spec') or {}
    return ((spec.get('initContainers') or []) +
            (spec.get('containers') or []))


def _container_status(pod, name):
    status = pod.get('status') or {}
    for key in ('initContainerStatuses', 'containerStatuses'):
        for entry in status.get(key) or []:
            if entry.get('name') == name:
                return entry
    return None


def _member(pod, capsule, name):
    """The Zun container of spec container name, or None."""
    spec = pod.get('spec') or {}
    for specs, members in (
            (spec.get('initContainers') or [],
             capsule.get('init_containers') or []),
            (spec.get('containers') or [], capsule.get('containers') or [])):
        for container, member in capsule_to_status.match_containers(
                specs, members):
            if container.get('name') == name:
                return member
    return None


class Backend(object):
    def __init__(self, conf, pods, zun, agents, clock=None,
                 cluster_id=None):
        self.conf = conf
        self.node_name = conf.node_name
        self.cluster_id = cluster_id or conf.cluster_id
        self.pods_api = pods
        self.zun = zun
        self.agents = agents
        self._clock = clock or timestamps.utcnow
        self._cpu_samples = {}
        self._cpu_lock = threading.Lock()

    # lookups ---------------------------------------------------------------

    def _pod(self, namespace, name, uid=None):
        pod = self.pods_api.read(namespace, name)
        if pod is None or (pod.get('spec') or {}).get('nodeName') != \
                self.node_name:
            raise routes.RouteError(404, 'pod %s/%s does not exist'
                                    % (namespace, name))
        if uid and pod['metadata'].get('uid') != uid:
            raise routes.RouteError(404, 'pod not found')
        return pod

    def _capsule(self, pod):
        meta = pod['metadata']
        name = pod_to_capsule.capsule_name(meta['namespace'], meta['name'],
                                           meta['uid'])
        try:
            capsule = self.zun.get_capsule(name)
        except zun_client.ZunError as exc:
            raise routes.RouteError(503 if exc.transient else 500,
                                    'cannot read the capsule of pod %s: %s'
                                    % (meta['name'], exc))
        labels = (capsule or {}).get('labels') or {}
        if capsule is None or \
                labels.get(pod_to_capsule.LABEL_POD_UID) != meta['uid']:
            return None
        return capsule

    def _host(self, capsule):
        try:
            return self.agents.locate(capsule['uuid'], capsule.get('host'))
        except agent_client.AgentError as exc:
            raise routes.RouteError(exc.status, exc.message)

    def _waiting(self, pod, name):
        status = _container_status(pod, name) or {}
        waiting = (status.get('state') or {}).get('waiting')
        reason = (waiting or {}).get('reason') or 'ContainerCreating'
        return routes.RouteError(
            400, 'container "%s" in pod "%s" is waiting to start: %s'
            % (name, pod['metadata']['name'], reason))

    def resolve(self, route):
        """The Target of an exec, attach, run or port-forward request."""
        pod = self._pod(route.namespace, route.pod, route.pod_uid)
        capsule = self._capsule(pod)
        if route.container is None:
            if capsule is None:
                raise routes.RouteError(
                    400, 'pod %s has no running sandbox yet'
                    % pod['metadata']['name'])
            return Target(pod, capsule, self._host(capsule))
        names = [c.get('name') for c in _all_specs(pod)]
        if route.container not in names:
            raise routes.RouteError(404, 'container not found ("%s")'
                                    % route.container)
        member = _member(pod, capsule, route.container) if capsule else None
        if member is None or not member.get('uuid'):
            raise self._waiting(pod, route.container)
        return Target(pod, capsule, self._host(capsule), member['uuid'],
                      route.container)

    # logs ------------------------------------------------------------------

    def logs(self, route):
        pod = self._pod(route.namespace, route.pod)
        name = route.container
        if name not in [c.get('name') for c in _all_specs(pod)]:
            raise routes.RouteError(404, 'container "%s" not found in pod '
                                         '"%s"' % (name, route.pod))
        options = route.logs
        if options.previous:
            # The engine restarts a container in place, keeping one log:
            # there is never a previous instance to show apart.
            raise routes.RouteError(
                400, 'previous terminated container "%s" in pod "%s" not '
                     'found' % (name, route.pod))
        capsule = self._capsule(pod)
        member = _member(pod, capsule, name) if capsule else None
        if member is None or not member.get('uuid'):
            raise self._waiting(pod, name)
        since = options.since_time
        if options.since_seconds is not None:
            since = self._clock() - datetime.timedelta(
                seconds=options.since_seconds)
        try:
            return self.agents.logs(
                self._host(capsule), capsule['uuid'], member['uuid'],
                follow=options.follow, tail_lines=options.tail_lines,
                since=since, timestamps=options.timestamps,
                limit_bytes=options.limit_bytes)
        except agent_client.AgentError as exc:
            raise routes.RouteError(exc.status if exc.status != 404 else 400,
                                    exc.message)

    # exec and attach --------------------------------------------------------

    def _open(self, target, route):
        opts = route.exec_options
        if route.operation == routes.ATTACH:
            return self.agents.attach(
                target.host, target.capsule_uuid, target.container_uuid,
                stdin=opts.stdin, tty=opts.tty)
        return self.agents.exec(
            target.host, target.capsule_uuid, target.container_uuid,
            list(route.command), stdin=opts.stdin, tty=opts.tty)

    def exec(self, target, route, channels):
        """Relay one exec or attach session; called in its own thread."""
        try:
            session = self._open(target, route)
        except agent_client.AgentError as exc:
            channels.finish(error=exc.message)
            return
        try:
            if channels.options.stdin:
                _spawn(self._pump_stdin, channels, session)
            if channels.options.tty:
                _spawn(self._pump_resize, channels, session)
            exit_code, error = None, None
            for kind, data in session.events():
                if kind == 'stdout':
                    channels.write_stdout(data)
                elif kind == 'stderr':
                    channels.write_stderr(data)
                elif kind == 'exit':
                    exit_code = data
                elif kind == 'error':
                    error = data
            if exit_code is None and error is None:
                error = 'the session ended without an exit code'
            channels.finish(exit_code=exit_code if error is None else None,
                            error=error)
        finally:
            session.close()

    @staticmethod
    def _pump_stdin(channels, session):
        try:
            while True:
                data = channels.read_stdin(COPY_SIZE)
                if not data:
                    break
                session.send_stdin(data)
            session.close_stdin()
        except (OSError, agent_client.AgentError):
            LOG.debug('stdin relay ended', exc_info=True)

    @staticmethod
    def _pump_resize(channels, session):
        try:
            for width, height in channels.resizes():
                session.resize(width, height)
        except (OSError, agent_client.AgentError):
            LOG.debug('resize relay ended', exc_info=True)

    def run(self, route):
        """/run: the command's output in one reply, as the kubelet does."""
        target = self.resolve(route)
        try:
            session = self.agents.exec(target.host, target.capsule_uuid,
                                       target.container_uuid,
                                       list(route.command))
        except agent_client.AgentError as exc:
            raise routes.RouteError(exc.status, exc.message)
        output = []
        try:
            for kind, data in session.events():
                if kind in ('stdout', 'stderr'):
                    output.append(data)
        finally:
            session.close()
        return b''.join(output)

    # port-forward -----------------------------------------------------------

    def port_forward(self, target, conn):
        """Relay one forwarded connection; called in its own thread."""
        try:
            upstream = self.agents.port_forward(target.host,
                                                target.capsule_uuid,
                                                conn.port)
        except agent_client.AgentError as exc:
            # The front end words it as the kubelet does ("error
            # forwarding port N to pod P, uid U: ...").
            conn.fail(exc.message)
            return

        def upstream_to_client():
            try:
                while True:
                    data = upstream.recv(COPY_SIZE)
                    if not data:
                        break
                    conn.write(data)
            except OSError:
                pass
            finally:
                conn.close()

        reader = _spawn(upstream_to_client)
        try:
            while True:
                data = conn.read(COPY_SIZE)
                if not data:
                    break
                upstream.sendall(data)
            upstream.shutdown_write()
        except OSError:
            LOG.debug('port-forward relay to client ended', exc_info=True)
        reader.join()
        upstream.close()

    # pods and stats ---------------------------------------------------------

    def pods(self):
        pods, version = self.pods_api.list()
        return {'kind': 'PodList', 'apiVersion': 'v1',
                'metadata': {'resourceVersion': version or ''},
                'items': pods}

    def _sample(self):
        pods, _ = self.pods_api.list()
        capsules = [c for c in self.zun.list_capsules()
                    if (c.get('labels') or {}).get(
                        pod_to_capsule.LABEL_NODE) == self.node_name and
                    (c.get('labels') or {}).get(
                        pod_to_capsule.LABEL_CLUSTER) == self.cluster_id]
        hosts = {}
        for capsule in capsules:
            try:
                host = self.agents.locate(capsule['uuid'],
                                          capsule.get('host'))
            except agent_client.AgentError:
                continue
            hosts.setdefault(host, None)
        by_host = {}
        for host in hosts:
            try:
                by_host[host] = self.agents.stats(host)
            except agent_client.AgentError as exc:
                LOG.warning('Stats of compute host %s unavailable: %s',
                            host, exc.message)
        return pods, capsules, by_host

    def stats_summary(self, query):
        pods, capsules, by_host = self._sample()
        with self._cpu_lock:
            return stats_shape.summary(self.node_name, pods, capsules,
                                       by_host, self._cpu_samples,
                                       self._clock())

    def metrics_resource(self):
        pods, capsules, by_host = self._sample()
        return stats_shape.resource_metrics(pods, capsules, by_host,
                                            self._clock())


def _spawn(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread
