"""NotifyingDriver: Zun's real driver, plus capsule states and notifications.

zun-compute loads it by entry point name ``zun_vk_notifying`` from both
``zun.container.driver`` and ``zun.capsule.driver``
(``[DEFAULT]container_driver`` / ``capsule_driver``). Zun instantiates
the class with no arguments and checks it against ``ContainerDriver``
and ``CapsuleDriver``, hence the three bases. Their placeholder methods
raise NotImplementedError, so every public method of the bases is
delegated explicitly (installed below at class creation); anything else
(the docker driver's load_image, read_tar_image, check_container_exist,
get_image, inspect_image, capabilities, ...) is looked up on the wrapped
driver by ``__getattr__``.

Extras on top of the wrapped driver:

* ``create_capsule``: the pod's host volumes (host_volumes): the plan is
  written, the containers wait until the agent prepared them and zun-vk
  delivered their files, then mount them; the variables from Secrets
  reach the engine's create calls only (secret_env, engine_create), and
  so does the sandbox's host name on podman. capsule.create.start, then
  capsule.create.end or capsule.create.error once zun-compute has saved
  the outcome (the docker driver returns before the capsule row says
  Running; the error is recorded by the manager after the driver
  raised), so that zun-vk's refresh reads the new state. A failed create
  is cleaned up in the engine ([zun_vk_plugin]cleanup_failed_capsules).
* ``delete_capsule``: capsule.delete.end once the capsule's row is gone;
  its host volumes are left to the agent to remove.
* ``update_containers_states`` (zun-compute's periodic sync, called with
  the plain containers and then with the capsules of all hosts): syncs
  the containers inside this host's capsules from the engine (docker
  driver only, see state_sync) and sends one capsule.update for each
  capsule whose status, status_reason or containers' statuses, reasons
  or exit codes changed during the sync.
"""

import contextlib
import functools

from oslo_config import cfg
from oslo_log import log as logging

from zun.common import consts
from zun.container import driver as zun_driver

from zun_vk.zun_plugin import capsule_hints
from zun_vk.zun_plugin import conf as plugin_conf
from zun_vk.zun_plugin import engine_create
from zun_vk.zun_plugin import host_volumes
from zun_vk.zun_plugin import notifier
from zun_vk.zun_plugin import payload
from zun_vk.zun_plugin import secret_env
from zun_vk.zun_plugin import state_sync
from zun_vk.zun_plugin import termination
from zun_vk.zun_plugin import volume_hints

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

ENTRY_POINT = 'zun_vk_notifying'
CONTAINER_GROUP = 'zun.container.driver'
BASES = (zun_driver.BaseDriver, zun_driver.ContainerDriver,
         zun_driver.CapsuleDriver)


def base_method_names():
    """Every public method name of Zun's driver base classes."""
    names = set()
    for base in BASES:
        for name, value in vars(base).items():
            if name.startswith('_'):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if callable(value):
                names.add(name)
    return sorted(names)


def _delegate(name):
    def method(self, *args, **kwargs):
        return getattr(self.wrapped, name)(*args, **kwargs)
    method.__name__ = name
    method.__qualname__ = 'NotifyingDriver.%s' % name
    method.__doc__ = 'Handed to the wrapped driver.'
    return method


def _install_delegates(cls):
    """Delegate every base method the class does not define itself."""
    for name in base_method_names():
        if name not in vars(cls):
            setattr(cls, name, _delegate(name))
    return cls


def load_wrapped_driver(name):
    """Instantiate the zun.container.driver entry point name."""
    from stevedore import driver as stevedore_driver

    if not name or name == ENTRY_POINT:
        raise ValueError('[%s]wrapped_driver must name the driver that '
                         'runs the containers (e.g. docker), not %r'
                         % (plugin_conf.GROUP, name))
    manager = stevedore_driver.DriverManager(CONTAINER_GROUP, name,
                                             invoke_on_load=False)
    plugin = manager.driver
    if isinstance(plugin, type) and issubclass(plugin, NotifyingDriver):
        raise ValueError('[%s]wrapped_driver %r is the zun-vk plugin '
                         'itself' % (plugin_conf.GROUP, name))
    wrapped = plugin()
    if not isinstance(wrapped, zun_driver.ContainerDriver):
        raise TypeError('%r does not load a Zun container driver' % name)
    LOG.info('zun-vk plugin wraps the %r driver (%s)', name,
             type(wrapped).__name__)
    return wrapped


def _is_capsule(obj):
    # The sync hands over Capsule and Container objects (zun.objects),
    # which are siblings; both carry container_type.
    return (type(obj).__name__ == 'Capsule' or
            getattr(obj, 'container_type', None) == consts.TYPE_CAPSULE)


def _is_docker(driver):
    try:
        from zun.container.docker import driver as docker_driver
    except Exception:  # noqa: B902 - no docker SDK: not docker then
        return False
    return isinstance(driver, docker_driver.DockerDriver)


def _never_raise(func):
    """Notification bookkeeping must never fail a driver call."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception:  # noqa: B902
            LOG.exception('zun-vk plugin: %s failed (ignored)',
                          func.__name__)
    return wrapper


@_install_delegates
class NotifyingDriver(zun_driver.BaseDriver, zun_driver.ContainerDriver,
                      zun_driver.CapsuleDriver):
    """Wraps a Zun driver; see the module documentation."""

    def __init__(self, wrapped=None, sender=None, capsule_sync=None):
        # BaseDriver.__init__ is not called: the wrapped driver owns the
        # volume drivers, allocation ratios and provider tree, and every
        # method that uses them runs on it.
        plugin_conf.register_opts(CONF)
        if wrapped is None:
            wrapped = load_wrapped_driver(CONF.zun_vk_plugin.wrapped_driver)
        self.wrapped = wrapped
        self.sender = sender if sender is not None else notifier.get_sender(
            CONF)
        if capsule_sync is None and _is_docker(wrapped):
            capsule_sync = state_sync.DockerCapsuleSync(
                pods_dir=CONF.zun_vk_plugin.pods_dir)
        self.capsule_sync = capsule_sync
        self.mounts_host_volumes = _hook_binds(wrapped)
        _hook_populate(wrapped)
        self.hooks_create = _is_docker(wrapped) and _hook_create()

    def __getattr__(self, name):
        # Only reached for attributes the class and instance lack.
        if name.startswith('__') or name in ('wrapped', 'sender',
                                             'capsule_sync'):
            raise AttributeError(name)
        wrapped = self.__dict__.get('wrapped')
        if wrapped is None:
            raise AttributeError(name)
        return getattr(wrapped, name)

    # --- notifications ---------------------------------------------------

    @_never_raise
    def _emit(self, event_type, capsule, observed=None, status=None):
        data = payload.capsule_data(capsule, observed, status=status)
        self.sender.emit(event_type, notifier.versioned(data))

    @staticmethod
    def _after_next(obj, method_name, callback):
        """Call callback() once, after obj's next method_name call.

        Only a call that succeeded counts. False if obj cannot take the
        hook.
        """
        try:
            original = getattr(obj, method_name)
        except Exception:  # noqa: B902
            return False

        def hooked(*args, **kwargs):
            obj.__dict__.pop(method_name, None)
            result = original(*args, **kwargs)
            callback()
            return result
        try:
            obj.__dict__[method_name] = hooked
        except Exception:  # noqa: B902 - e.g. __slots__
            return False
        return True

    def _emit_after_save(self, capsule, event_type, status=None):
        def send():
            self._emit(event_type, capsule, status=status)
        if not self._after_next(capsule, 'save', send):
            send()

    # --- capsules ----------------------------------------------------------

    def create_capsule(self, context, capsule, *args, **kwargs):
        self._emit('capsule.create.start', capsule)
        _apply_entrypoints(capsule)
        _apply_hostname(capsule)
        try:
            args, kwargs = self._prepare_volumes(capsule, args, kwargs)
            with self._engine_extras(capsule), self._terminations(capsule):
                result = self.wrapped.create_capsule(context, capsule,
                                                     *args, **kwargs)
        except Exception:
            # zun-compute records Error (and drops the host) right after
            # this raises; tell zun-vk once that is saved.
            self._cleanup_failed_create(context, capsule)
            self._volumes_done(capsule)
            self._emit_after_save(capsule, 'capsule.create.error')
            raise
        # zun-compute's final save of the create task is on the object it
        # passed in (the docker driver returns that same object).
        self._created(capsule)
        return result

    def _prepare_volumes(self, capsule, args, kwargs):
        """Wait for the capsule's host volumes; the args that mount them.

        Zun's manager passes (image, requested_networks,
        requested_volumes) positionally.
        """
        plan = host_volumes.plan_of(capsule)
        if plan is None:
            return args, kwargs
        if not self.mounts_host_volumes:
            raise volume_hints.BadPlan(
                'the pod has volumes only the docker driver can mount '
                '([zun_vk_plugin]wrapped_driver is %r)'
                % CONF.zun_vk_plugin.wrapped_driver)
        root = CONF.zun_vk_plugin.pods_dir
        uuid = payload.field(capsule, 'uuid')
        host_volumes.write_plan(root, uuid, plan)
        host_volumes.make_termination_files(root, uuid, plan)
        host_volumes.wait_ready(root, uuid, plan,
                                CONF.zun_vk_plugin.volumes_timeout)
        if len(args) >= 3:
            args = args[:2] + (host_volumes.with_binds(
                args[2], capsule, root, plan),) + tuple(args[3:])
        else:
            kwargs = dict(kwargs, requested_volumes=host_volumes.with_binds(
                kwargs.get('requested_volumes'), capsule, root, plan))
        return args, kwargs

    def _engine_extras(self, capsule):
        """While it is active, the engine's create calls get their extras.

        Every member of a capsule with a plan is registered: each shares
        the sandbox's host name, and some get variables from Secrets.
        """
        plan = host_volumes.plan_of(capsule)
        if plan is None or not self.hooks_create:
            if plan is not None and plan.env_volume:
                raise volume_hints.BadPlan(
                    'the pod has variables from Secrets that only the '
                    'docker driver can pass ([zun_vk_plugin]wrapped_driver '
                    'is %r)' % CONF.zun_vk_plugin.wrapped_driver)
            return contextlib.nullcontext()
        loaded = secret_env.load(CONF.zun_vk_plugin.pods_dir,
                                 payload.field(capsule, 'uuid'), plan,
                                 capsule)
        extras = {self.wrapped.get_container_name(member): {}
                  for kind in capsule_hints.KINDS
                  for member in payload.members(capsule, kind)}
        extras.update(secret_env.overrides(
            capsule, loaded, self.wrapped.get_container_name))
        return engine_create.registered(extras, capsule)

    def _terminations(self, capsule):
        """While it is active, Zun's create reads termination messages."""
        plan = host_volumes.plan_of(capsule)
        return termination.creating(payload.field(capsule, 'uuid'), plan, [
            (payload.field(member, 'uuid'), letter, index)
            for kind, letter in capsule_hints.KINDS.items()
            for index, member in enumerate(payload.members(capsule, kind))])

    @_never_raise
    def _volumes_done(self, capsule):
        """The agent may remove the capsule's host volumes."""
        if host_volumes.plan_of(capsule) is not None:
            host_volumes.mark_deleted(CONF.zun_vk_plugin.pods_dir,
                                      payload.field(capsule, 'uuid'))

    @_never_raise
    def _created(self, capsule):
        try:
            unsaved = bool(capsule.obj_what_changed())
        except Exception:  # noqa: B902 - not a Zun object: it's saved
            unsaved = False
        if unsaved:
            # The docker driver leaves the final status for the manager's
            # save at the end of the create task.
            self._emit_after_save(capsule, 'capsule.create.end')
        else:
            self._emit('capsule.create.end', capsule)

    @_never_raise
    def _cleanup_failed_create(self, context, capsule):
        if not CONF.zun_vk_plugin.cleanup_failed_capsules:
            return
        if self.capsule_sync is None:
            return  # only the docker driver is known to leak here
        created = [payload.field(capsule, 'container_id')] + [
            payload.field(c, 'container_id')
            for kind in ('init_containers', 'containers')
            for c in payload.members(capsule, kind)]
        if not any(created):
            return
        LOG.info('Creating capsule %s failed; removing what was created '
                 'of it from the engine', payload.field(capsule, 'uuid'))
        self.wrapped.delete_capsule(context, capsule, True)

    def delete_capsule(self, context, capsule, *args, **kwargs):
        def gone():
            self._emit('capsule.delete.end', capsule, status=consts.DELETED)
        hooked = self._after_next(capsule, 'destroy', gone)
        try:
            result = self._delete_capsule(context, capsule, *args, **kwargs)
        except Exception:
            # zun-compute records Error next.
            self._emit_after_save(capsule, 'capsule.update')
            raise
        self._volumes_done(capsule)
        if not hooked:
            gone()
        return result

    def _delete_capsule(self, context, capsule, *args, **kwargs):
        try:
            return self.wrapped.delete_capsule(context, capsule, *args,
                                               **kwargs)
        except Exception as exc:  # noqa: B902 - re-raised unless known
            if not _sandbox_never_made(capsule, exc):
                raise
        # A capsule deleted while zun-compute was still creating it has no
        # sandbox: Zun's docker driver removed its members, then failed on
        # stopping a sandbox of ID None and left the capsule in Error for
        # good. Finish what its delete does after that: the network.
        LOG.info('Capsule %s was deleted before its sandbox existed; '
                 'removing the rest of it', payload.field(capsule, 'uuid'))
        force = args[0] if args else kwargs.get('force', False)
        return self.wrapped.delete(context, capsule, force)

    # --- the periodic sync -------------------------------------------------

    def update_containers_states(self, context, containers, manager):
        capsules = self._local_capsules(containers)
        before = self._signatures(capsules)
        try:
            return self.wrapped.update_containers_states(
                context, containers, manager)
        finally:
            self._after_sync(context, capsules, before)

    @staticmethod
    def _local_capsules(containers):
        try:
            return [c for c in containers or ()
                    if _is_capsule(c) and
                    payload.field(c, 'host') == CONF.host]
        except Exception:  # noqa: B902
            LOG.exception('zun-vk plugin: cannot list capsules to sync')
            return []

    @staticmethod
    def _signatures(capsules):
        result = {}
        for capsule in capsules:
            try:
                result[id(capsule)] = payload.signature(capsule)
            except Exception:  # noqa: B902
                LOG.debug('No signature for %s', capsule, exc_info=True)
        return result

    @_never_raise
    def _after_sync(self, context, capsules, before):
        if not capsules:
            return
        observed = {}
        if self.capsule_sync is not None:
            observed = self.capsule_sync.sync(context, capsules) or {}
        for capsule in capsules:
            try:
                after = payload.signature(capsule)
            except Exception:  # noqa: B902
                continue
            if before.get(id(capsule)) != after:
                self._emit('capsule.update', capsule, observed)


def _apply_entrypoints(capsule):
    """Make each marked container's command its ENTRYPOINT, as on a kubelet.

    Zun's API merged command and args into container.command; the label
    says how many items of it were the pod's command (capsule_hints).
    """
    labels = payload.field(capsule, 'labels') or {}
    lengths = capsule_hints.parse_entrypoints(
        labels.get(capsule_hints.ENTRYPOINT_LABEL))
    if not lengths:
        return
    for kind, letter in capsule_hints.KINDS.items():
        for index, container in enumerate(payload.members(capsule, kind)):
            length = lengths.get((letter, index))
            if length is None:
                continue
            entrypoint, command = capsule_hints.split_command(
                payload.field(container, 'command'), length)
            container.entrypoint = entrypoint
            container.command = command


def _hook_binds(wrapped):
    """Let the docker driver mount the host binds of host_volumes.

    False when the wrapped driver has no such hook (not docker's).
    """
    original = getattr(wrapped, '_get_binds', None)
    if original is None:
        return False

    def get_binds(context, requested_volumes):
        return host_volumes.add_binds(original(context, requested_volumes),
                                      requested_volumes)
    wrapped._get_binds = get_binds
    return True


def _hook_populate(wrapped):
    """Give a container Zun's create finds ended its termination message."""
    original = getattr(wrapped, '_populate_container', None)
    if original is None:
        return

    def populate(container, response, *args, **kwargs):
        result = original(container, response, *args, **kwargs)
        ended = (consts.STOPPED, consts.DEAD)
        if payload.field(container, 'status') in ended:
            _read_message(container, response)
        return result
    wrapped._populate_container = populate


@_never_raise
def _read_message(container, response):
    from zun.container.docker import utils as docker_utils

    def read_logs():
        with docker_utils.docker_client() as docker:
            yield from docker.logs(
                payload.field(container, 'container_id'), stdout=True,
                stderr=True, stream=True, follow=False)
    text = termination.on_create_inspect(CONF.zun_vk_plugin.pods_dir,
                                         container, response, read_logs)
    if text:
        container.status_reason = text


def _hook_create():
    """Let the docker client's create calls take their extras."""
    try:
        from zun.container.docker import utils as docker_utils
    except Exception:  # noqa: B902 - no docker SDK: nothing to hook
        return False
    return engine_create.hook_create(docker_utils.DockerHTTPClient)


def _sandbox_never_made(capsule, exc):
    """exc is the docker SDK's refusal of an empty sandbox ID."""
    return (type(exc).__name__ == 'NullResource' and
            not payload.field(capsule, 'container_id'))


def _apply_hostname(capsule):
    """Give the capsule's sandbox the pod's host name (the label's)."""
    labels = payload.field(capsule, 'labels') or {}
    hostname = labels.get(capsule_hints.HOSTNAME_LABEL)
    if hostname and not payload.field(capsule, 'hostname'):
        capsule.hostname = hostname
