"""The real states of the containers inside capsules, from the engine.

Zun 18.0.0's docker driver syncs plain containers only: a container
inside a capsule that exits keeps "Running" in Zun forever, with no exit
code. During zun-compute's periodic sync the plugin inspects, for every
capsule of this host, the sandbox and each container through the docker
client Zun's docker driver uses, and records what it finds through Zun's
own objects, in Zun's own vocabulary:

* a container: ``status`` Running / Paused / Restarting / Stopped / Dead
  as Zun's docker driver maps engine states for plain containers, and
  ``status_detail`` in the same format ('Up 5 mins', 'Exited(3) 2
  seconds ago', plus ' (error)' when the engine reports an error);
  ``status_reason`` the engine's error text, or 'OOMKilled'; ``started_at``
  the engine's StartedAt. A container the engine no longer has becomes
  Error with reason 'No such container: <id> in docker', as Zun does for
  plain containers.
* the capsule (only while it is Running or Stopped, and no task runs on
  it): Running while any of its containers runs, restarts or is paused;
  Stopped once every container has stopped, whatever the exit codes
  (status_reason names the first container that exited non-zero). Zun's
  own convention is the same for plain containers: an exited container is
  Stopped, and Error means Zun itself failed (create, engine, delete);
  zun-vk reads a capsule in Error as a provider failure and the exit codes
  from the containers. The capsule becomes Error only when the engine
  lost its sandbox or one of its containers and nothing runs any more.

Objects in a transitional state (Creating, Deleting, Deleted, or with a
task_state) are left alone, as Zun's docker driver does.
"""

import collections

from oslo_log import log as logging
from oslo_utils import timeutils

from zun.common import consts

from zun_vk import timestamps
from zun_vk.zun_plugin import capsule_hints
from zun_vk.zun_plugin import host_volumes
from zun_vk.zun_plugin import payload
from zun_vk.zun_plugin import termination
from zun_vk.zun_plugin import volume_hints

LOG = logging.getLogger(__name__)

RUNNING_LIKE = (consts.RUNNING, consts.RESTARTING, consts.PAUSED)
ENDED = (consts.STOPPED, consts.DEAD)
UNSTABLE = (consts.CREATING, consts.DELETING, consts.DELETED)
CAPSULE_SYNCED = (consts.RUNNING, consts.STOPPED)
MESSAGES_REMEMBERED = 4096

SANDBOX_GONE = ('The sandbox container of this capsule no longer exists '
                'in the container engine')
CONTAINER_GONE = ('Container %s of this capsule no longer exists in the '
                  'container engine')

Observation = collections.namedtuple(
    'Observation', ['status', 'detail', 'exit_code', 'started_at',
                    'finished_at', 'reason', 'missing'])


def age(then, now):
    """How long ago, worded like Zun's docker driver ('3 mins')."""
    if then is None:
        return None
    delta = now - then
    if delta.days > 0:
        return '%d days' % delta.days
    seconds = max(0, int(delta.total_seconds()))
    if seconds >= 3600:
        return '%d hours' % (seconds // 3600)
    if seconds >= 60:
        return '%d mins' % (seconds // 60)
    return '%d seconds' % seconds


def _engine_status(state):
    status = state.get('Status')
    if isinstance(status, str) and status:
        return status.lower()
    # Engines that predate State.Status: derive it from the flags.
    if state.get('Paused'):
        return 'paused'
    if state.get('Restarting'):
        return 'restarting'
    if state.get('Running'):
        return 'running'
    if state.get('Dead'):
        return 'dead'
    if timestamps.engine_datetime(state.get('FinishedAt')):
        return 'exited'
    return 'created'


def observe(state, now=None):
    """The Zun view of an engine State dict, or None if it tells nothing.

    A container that was created but never started ('created') tells
    nothing new, nor does a state the mapping does not know.
    """
    if not isinstance(state, dict):
        return None
    now = now or timeutils.utcnow()
    status = _engine_status(state)
    started = timestamps.engine_datetime(state.get('StartedAt'))
    finished = timestamps.engine_datetime(state.get('FinishedAt'))
    error = state.get('Error') or None
    code = state.get('ExitCode')
    code = code if isinstance(code, int) else None
    if status == 'running':
        detail = 'Up %s' % age(started, now) if started else 'Up'
        return Observation(consts.RUNNING, detail, None, started, None,
                           None, False)
    if status == 'paused':
        detail = ('Up %s (paused)' % age(started, now) if started
                  else 'Up (paused)')
        return Observation(consts.PAUSED, detail, None, started, None,
                           None, False)
    if status == 'restarting':
        return Observation(consts.RESTARTING, 'Restarting', code, started,
                           finished, error, False)
    if status == 'stopped':  # podman's own word for exited
        status = 'exited'
    if status in ('exited', 'removing', 'dead'):
        reason = error or ('OOMKilled' if state.get('OOMKilled') else None)
        if status == 'dead':
            return Observation(consts.DEAD, 'Dead', code, started, finished,
                               reason, False)
        detail = 'Exited(%s)' % (code if code is not None else '?')
        if finished:
            detail += ' %s ago' % age(finished, now)
        if error:
            detail += ' (error)'
        return Observation(consts.STOPPED, detail, code, started, finished,
                           reason, False)
    if status != 'created':
        LOG.debug('Engine state %r has no Zun status', status)
    return None


def missing(container_id):
    return Observation(consts.ERROR, None, None, None, None,
                       'No such container: %s in docker' % container_id,
                       True)


def apply(container, obs):
    """Record obs on a Zun container object; True if anything changed."""
    old_status = payload.field(container, 'status')
    old_detail = payload.field(container, 'status_detail')
    changed = False
    status_changed = old_status != obs.status
    if status_changed:
        container.status = obs.status
        changed = True
    if obs.missing:
        refresh_detail = False
    else:
        old_code = payload.exit_code_from_detail(old_detail)
        old_started = payload.field(container, 'started_at')
        if old_started is not None:
            old_started = timeutils.normalize_time(old_started)
        restarted = (obs.started_at is not None and
                     (old_started is None or
                      old_started.replace(microsecond=0) != obs.started_at))
        if restarted:
            container.started_at = obs.started_at
            changed = True
        refresh_detail = (status_changed or restarted or
                          old_detail is None or
                          (obs.status in ENDED and
                           old_code != obs.exit_code))
    if refresh_detail and obs.detail != old_detail:
        container.status_detail = obs.detail
        changed = True
    old_reason = payload.field(container, 'status_reason')
    if (status_changed or obs.reason) and old_reason != obs.reason:
        container.status_reason = obs.reason
        changed = True
    return changed


def capsule_verdict(capsule_status, main, sandbox_missing):
    """The capsule's (status, status_reason) given its main containers.

    main: [(name, status, exit_code, missing)] after this sync. None when
    the capsule is not one the sync manages or nothing can be decided.
    """
    if capsule_status not in CAPSULE_SYNCED or not main:
        return None
    if any(status in RUNNING_LIKE for _, status, _, _ in main):
        return consts.RUNNING, None
    if sandbox_missing:
        return consts.ERROR, SANDBOX_GONE
    for name, _, _, gone in main:
        if gone:
            return consts.ERROR, CONTAINER_GONE % name
    if all(status in ENDED for _, status, _, _ in main):
        for name, status, code, _ in main:
            if status == consts.DEAD:
                return consts.STOPPED, 'Container %s is dead' % name
            if code not in (0, None):
                return (consts.STOPPED,
                        'Container %s exited with code %d' % (name, code))
        return consts.STOPPED, None
    return None


def _is_not_found(exc):
    return (getattr(exc, 'status_code', None) == 404 or
            getattr(getattr(exc, 'response', None), 'status_code',
                    None) == 404)


class EngineUnavailable(Exception):
    pass


class DockerCapsuleSync(object):
    """Inspects capsules' containers with Zun's docker client.

    client_factory: a context manager factory yielding a docker API
    client (default ``zun.container.docker.utils.docker_client``).
    lookup(context, uuid): the capsule as the database has it now (default
    ``objects.Capsule.get_by_uuid``); used before recording a container as
    gone, in case the capsule is being deleted.
    """

    def __init__(self, client_factory=None, lookup=None,
                 clock=timeutils.utcnow, pods_dir=None):
        if client_factory is None:
            from zun.container.docker import utils as docker_utils
            client_factory = docker_utils.docker_client
        if lookup is None:
            from zun import objects

            def lookup(context, uuid):
                return objects.Capsule.get_by_uuid(context, uuid)
        self._client_factory = client_factory
        self._lookup = lookup
        self._clock = clock
        # Where the termination message files are (host_volumes).
        self._pods_dir = pods_dir
        # (container id, finish time) whose message was read: once per
        # ending, whoever recorded the ending first (Zun's create records
        # a container that exits at once).
        self._messages_read = collections.OrderedDict()

    def sync(self, context, capsules):
        """Sync capsules of this host.

        Returns what the engine said about each container, keyed by
        container uuid, for the payloads.
        """
        observed = {}
        capsules = [c for c in capsules if self._stable(c)]
        if not capsules:
            return observed
        now = self._clock()
        try:
            with self._client_factory() as docker:
                for capsule in capsules:
                    try:
                        self._sync_one(context, docker, capsule, now,
                                       observed)
                    except EngineUnavailable as exc:
                        LOG.warning('Container engine unavailable; capsule '
                                    'states not synced this time: %s', exc)
                        break
                    except Exception:  # noqa: B902 - next capsule
                        LOG.exception('Syncing the containers of capsule '
                                      '%s failed',
                                      payload.field(capsule, 'uuid'))
        except Exception:  # noqa: B902 - never fail the sync
            LOG.exception('Syncing capsule containers failed')
        return observed

    @staticmethod
    def _stable(obj):
        return (not payload.field(obj, 'task_state') and
                payload.field(obj, 'status') not in UNSTABLE)

    def _inspect(self, docker, container_id):
        """The engine State, or None if the engine has no such container."""
        try:
            info = docker.inspect_container(container_id)
        except Exception as exc:  # noqa: B902 - sorted below
            if _is_not_found(exc):
                return None
            if isinstance(exc, (ConnectionError, OSError)) and not hasattr(
                    exc, 'status_code'):
                raise EngineUnavailable(str(exc))
            raise
        return (info or {}).get('State') or {}

    def _plan(self, capsule):
        if self._pods_dir is None:
            return None
        try:
            return host_volumes.plan_of(capsule)
        except volume_hints.BadPlan:
            return None

    def _with_message(self, docker, capsule, plan, kind, index, member,
                      obs):
        """obs with the container's termination message as its reason.

        Read once per ending of the container; afterwards the recorded
        message stays.
        """
        container_id = payload.field(member, 'container_id')
        ending = (container_id, obs.finished_at)
        if ending in self._messages_read:
            kept = payload.field(member, 'status_reason')
            return obs._replace(reason=kept) if kept else obs
        self._messages_read[ending] = True
        while len(self._messages_read) > MESSAGES_REMEMBERED:
            self._messages_read.popitem(last=False)

        def read_logs():
            return docker.logs(container_id, stdout=True, stderr=True,
                               stream=True, follow=False)
        try:
            text = termination.message(
                self._pods_dir, payload.field(capsule, 'uuid'), plan,
                capsule_hints.KINDS[kind], index, obs.exit_code, read_logs)
        except Exception:  # noqa: B902 - the status matters more
            LOG.exception('Cannot read the termination message of '
                          'container %s', payload.field(member, 'uuid'))
            return obs
        return obs._replace(reason=text) if text else obs

    def _being_deleted(self, context, capsule):
        try:
            current = self._lookup(context, payload.field(capsule, 'uuid'))
        except Exception:  # noqa: B902 - gone or unreadable: hands off
            return True
        return not self._stable(current)

    def _sync_one(self, context, docker, capsule, now, observed):
        uuid = payload.field(capsule, 'uuid')
        sandbox_missing = False
        sandbox_id = payload.field(capsule, 'container_id')
        if sandbox_id and self._inspect(docker, sandbox_id) is None:
            sandbox_missing = True
        main = []
        confirmed = None
        plan = self._plan(capsule)
        for kind in ('init_containers', 'containers'):
            for index, member in enumerate(payload.members(capsule, kind)):
                container_id = payload.field(member, 'container_id')
                if not container_id or not self._stable(member):
                    continue
                state = self._inspect(docker, container_id)
                if state is None:
                    if confirmed is None:
                        confirmed = not self._being_deleted(context, capsule)
                    if not confirmed:
                        LOG.debug('Capsule %s is being deleted; not syncing '
                                  'it', uuid)
                        return
                    obs = missing(container_id)
                else:
                    obs = observe(state, now)
                if obs is None:
                    continue
                if obs.status in ENDED and plan is not None:
                    obs = self._with_message(docker, capsule, plan, kind,
                                             index, member, obs)
                if not obs.missing:
                    observed[payload.field(member, 'uuid')] = {
                        'exit_code': obs.exit_code,
                        'started_at': obs.started_at,
                        'finished_at': obs.finished_at}
                old = payload.field(member, 'status')
                if apply(member, obs):
                    member.save(context)
                    if old != obs.status:
                        LOG.info('Status of container %s of capsule %s '
                                 'changed from %s to %s (%s)',
                                 payload.field(member, 'uuid'), uuid, old,
                                 obs.status, obs.detail or obs.reason)
                if kind == 'containers':
                    main.append((payload.field(member, 'name'),
                                 payload.field(member, 'status'),
                                 obs.exit_code, obs.missing))
        if sandbox_missing and not main:
            main.append(('sandbox', consts.ERROR, None, True))
        old_status = payload.field(capsule, 'status')
        verdict = capsule_verdict(old_status, main, sandbox_missing)
        if verdict is None:
            return
        status, reason = verdict
        if (status, reason) == (old_status,
                                payload.field(capsule, 'status_reason')):
            return
        if (status == consts.ERROR and confirmed is None and
                self._being_deleted(context, capsule)):
            return
        if status == old_status and status == consts.RUNNING:
            return  # keep a reason someone else wrote on a running one
        capsule.status = status
        capsule.status_reason = reason
        capsule.save(context)
        LOG.info('Status of capsule %s changed from %s to %s%s', uuid,
                 old_status, status, ' (%s)' % reason if reason else '')
