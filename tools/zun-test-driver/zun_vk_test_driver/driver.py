"""A container and capsule driver for zun-compute that runs nothing.

Capsules and containers exist only as records in a JSON state file; their
lifecycle is driven by labels so that status mapping can be tested end to
end against the real zun-api and zun-compute:

* ``zun-vk.test/start-delay: "<seconds>"`` keeps a capsule ``Creating``
  until the first state sync after the delay.
* ``zun-vk.test/exit-code: "<n>"`` makes the capsule's containers
  terminate with code ``n`` at the next state sync after they run.

See README.md for the exact fields this driver sets.
"""

import json
import os
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from zun.common import consts
from zun.common import exception
from zun.container import driver
from zun.network import neutron
from zun import objects

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

LABEL_EXIT_CODE = 'zun-vk.test/exit-code'
LABEL_START_DELAY = 'zun-vk.test/start-delay'
DEVICE_OWNER = 'compute:zunvk-test'
ID_PREFIX = 'zunvktest-'

opts = [
    cfg.StrOpt('state_dir',
               default=os.environ.get('ZUN_VK_TEST_DRIVER_STATE_DIR'),
               help='Directory holding the driver state file (state.json). '
                    'Defaults to $ZUN_VK_TEST_DRIVER_STATE_DIR, else '
                    '<state_path>/zunvk_test_driver.'),
    cfg.BoolOpt('use_neutron',
                default=True,
                help='Create a Neutron port per capsule/container for its '
                     'address (the real Zun flow). When false, addresses '
                     'come from 10.99.0.0/16 allocated by the driver.'),
]
CONF.register_opts(opts, group='zunvk_test_driver')


class _State(object):
    """Records of what 'runs', persisted so a compute restart keeps them."""

    def __init__(self):
        self.lock = threading.RLock()
        self.path = None
        self.data = None

    def load(self):
        with self.lock:
            if self.data is not None:
                return
            state_dir = (CONF.zunvk_test_driver.state_dir or
                         os.path.join(CONF.state_path, 'zunvk_test_driver'))
            os.makedirs(state_dir, exist_ok=True)
            self.path = os.path.join(state_dir, 'state.json')
            try:
                with open(self.path) as f:
                    self.data = json.load(f)
            except FileNotFoundError:
                self.data = {}
            except ValueError:
                LOG.warning('Ignoring unreadable state file %s', self.path)
                self.data = {}
            self.data.setdefault('items', {})
            self.data.setdefault('next_ip', 1)
            LOG.info('zunvk_test driver state: %s (%d records)',
                     self.path, len(self.data['items']))

    def save(self):
        with self.lock:
            tmp = self.path + '.tmp'
            with open(tmp, 'w') as f:
                json.dump(self.data, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)

    def get(self, uuid):
        with self.lock:
            rec = self.data['items'].get(uuid)
            return dict(rec) if rec is not None else None

    def put(self, uuid, rec):
        with self.lock:
            self.data['items'][uuid] = rec
            self.save()

    def pop(self, uuid):
        with self.lock:
            rec = self.data['items'].pop(uuid, None)
            self.save()
            return rec

    def allocate_ip(self):
        with self.lock:
            n = self.data['next_ip']
            self.data['next_ip'] = n + 1 if n < 65533 else 1
            self.save()
            return '10.99.%d.%d' % ((n + 1) // 256, (n + 1) % 256 or 1)


STATE = _State()


def _label(obj, key):
    labels = obj.labels or {}
    return labels.get(key)


def _exit_code(obj):
    value = _label(obj, LABEL_EXIT_CODE)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        LOG.warning('%s: ignoring bad %s label %r', obj.uuid,
                    LABEL_EXIT_CODE, value)
        return None


def _start_delay(obj):
    value = _label(obj, LABEL_START_DELAY)
    if value is None:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        LOG.warning('%s: ignoring bad %s label %r', obj.uuid,
                    LABEL_START_DELAY, value)
        return 0.0


def _ports(container):
    """Exposed ports as numbers, like the docker driver reports them."""
    out = []
    for key in (container.exposed_ports or {}):
        try:
            out.append(int(str(key).split('/')[0]))
        except ValueError:
            pass
    return sorted(out)


class TestDriver(driver.BaseDriver, driver.ContainerDriver,
                 driver.CapsuleDriver):
    """Docker-free driver: capsules and containers only 'run' on paper."""

    capabilities = {}

    def __init__(self):
        super(TestDriver, self).__init__()
        STATE.load()

    # ----- host -----------------------------------------------------

    def get_pci_resources(self):
        return '[]'

    def get_host_numa_topology(self):
        return objects.NUMATopology(nodes=[])

    # ----- networking ---------------------------------------------------

    def _connect(self, context, obj, requested_networks):
        """Give obj one address per requested network; returns records."""
        addresses = {}
        ports = []
        for net in requested_networks or []:
            net_id = net['network']
            if CONF.zunvk_test_driver.use_neutron:
                api = neutron.NeutronAPI(context)
                addrs, port = api.create_or_update_port(
                    obj, net_id, net, DEVICE_OWNER)
                ports.append({'id': port['id'],
                              'preserve': bool(net.get('preserve_on_delete'))})
            else:
                addrs = [{'addr': STATE.allocate_ip(), 'version': 4,
                          'port': None, 'subnet_id': None,
                          'preserve_on_delete': False}]
            addresses[net_id] = addrs
        return addresses, ports

    def _disconnect(self, context, rec):
        for port in (rec or {}).get('ports', []):
            if port.get('preserve'):
                continue
            try:
                neutron.NeutronAPI(context).delete_port(port['id'],
                                                        admin=True)
            except Exception as e:  # noqa: a gone port is fine
                LOG.warning('Deleting port %s failed: %s', port['id'], e)

    # ----- transitions ---------------------------------------------------

    @staticmethod
    def _set(obj, status, detail, reason=None, started=False):
        """Set fields; return True when something changed."""
        changed = (obj.status != status or obj.status_detail != detail or
                   obj.status_reason != reason)
        obj.status = status
        obj.status_detail = detail
        obj.status_reason = reason
        if started:
            obj.started_at = timeutils.utcnow()
            changed = True
        if not obj.container_id:
            obj.container_id = ID_PREFIX + obj.uuid
            changed = True
        return changed

    def _capsule_running(self, context, capsule, rec):
        for c in capsule.init_containers or []:
            self._set(c, consts.STOPPED, 'Exited(0)', started=True)
            c.save(context)
        for c in capsule.containers or []:
            self._set(c, consts.RUNNING, 'Up', started=True)
            c.ports = _ports(c)
            c.save(context)
        self._set(capsule, consts.RUNNING, 'Up', started=True)
        capsule.save(context)
        rec.update(phase='running', running_at=time.time())
        STATE.put(capsule.uuid, rec)
        LOG.info('Capsule %s is Running', capsule.uuid)

    def _capsule_exited(self, context, capsule, rec, code):
        detail = 'Exited(%d)' % code
        for c in capsule.containers or []:
            if c.status != consts.STOPPED or c.status_detail != detail:
                self._set(c, consts.STOPPED, detail)
                c.save(context)
        # As the companion plugin (zun_vk.zun_plugin.state_sync) records
        # it with real containers: an exit code is not a Zun failure, the
        # capsule is Stopped and the reason names the first container
        # that exited non-zero.
        reason = None
        if code != 0:
            names = [c.name for c in capsule.containers or []]
            reason = 'Container %s exited with code %d' % (
                names[0] if names else 'unknown', code)
        self._set(capsule, consts.STOPPED, detail, reason=reason)
        capsule.save(context)
        rec.update(phase='exited', exit_code=code, finished_at=time.time())
        STATE.put(capsule.uuid, rec)
        LOG.info('Capsule %s exited with code %d: %s', capsule.uuid, code,
                 capsule.status)

    # ----- capsules -----------------------------------------------------

    def create_capsule(self, context, capsule, image, requested_networks,
                       requested_volumes):
        addresses, ports = self._connect(context, capsule,
                                         requested_networks)
        rec = {'kind': 'capsule', 'ports': ports, 'phase': 'creating',
               'created_at': time.time(),
               'start_after': time.time() + _start_delay(capsule)}
        STATE.put(capsule.uuid, rec)
        capsule.addresses = addresses
        capsule.container_id = ID_PREFIX + capsule.uuid
        capsule.save(context)
        if _start_delay(capsule) > 0:
            for c in list(capsule.init_containers or []) + list(
                    capsule.containers or []):
                c.container_id = ID_PREFIX + c.uuid
                c.save(context)
            LOG.info('Capsule %s stays Creating for %ss', capsule.uuid,
                     _start_delay(capsule))
            return capsule
        self._capsule_running(context, capsule, rec)
        return capsule

    def delete_capsule(self, context, capsule, force):
        rec = STATE.pop(capsule.uuid)
        self._disconnect(context, rec)
        LOG.info('Capsule %s deleted', capsule.uuid)

    def _sync_capsule(self, context, capsule):
        if capsule.host != CONF.host or capsule.task_state:
            return
        rec = STATE.get(capsule.uuid)
        if rec is None:
            if capsule.status not in (consts.CREATING, consts.DELETING,
                                      consts.DELETED, consts.ERROR):
                self._set(capsule, consts.ERROR, None,
                          reason='No such capsule in the test driver')
                capsule.save(context)
            return
        phase = rec.get('phase')
        if phase == 'creating':
            if time.time() >= rec.get('start_after', 0):
                self._capsule_running(context, capsule, rec)
            return
        if phase == 'running':
            code = _exit_code(capsule)
            if code is not None:
                self._capsule_exited(context, capsule, rec, code)

    # ----- plain containers (enough for zun run/stop/delete) ------------

    def create(self, context, container, image, requested_networks,
               requested_volumes):
        addresses, ports = self._connect(context, container,
                                         requested_networks)
        STATE.put(container.uuid, {'kind': 'container', 'ports': ports,
                                   'phase': 'created',
                                   'created_at': time.time()})
        container.addresses = addresses
        self._set(container, consts.CREATED, 'Created')
        container.save(context)
        return container

    def _container_phase(self, context, container, phase, status, detail,
                         started=False):
        rec = STATE.get(container.uuid) or {'kind': 'container',
                                            'ports': []}
        rec['phase'] = phase
        STATE.put(container.uuid, rec)
        self._set(container, status, detail, started=started)
        container.save(context)
        return container

    def start(self, context, container):
        return self._container_phase(context, container, 'running',
                                     consts.RUNNING, 'Up', started=True)

    def stop(self, context, container, timeout):
        return self._container_phase(context, container, 'exited',
                                     consts.STOPPED, 'Exited(0)')

    def kill(self, context, container, signal=None):
        return self._container_phase(context, container, 'exited',
                                     consts.STOPPED, 'Exited(137)')

    def reboot(self, context, container, timeout):
        return self.start(context, container)

    def pause(self, context, container):
        return self._container_phase(context, container, 'paused',
                                     consts.PAUSED, 'Up (paused)')

    def unpause(self, context, container):
        return self._container_phase(context, container, 'running',
                                     consts.RUNNING, 'Up')

    def delete(self, context, container, force):
        rec = STATE.pop(container.uuid)
        self._disconnect(context, rec)

    def show(self, context, container):
        return container

    def show_logs(self, context, container, stdout=True, stderr=True,
                  timestamps=False, tail='all', since=None):
        return ''

    def update(self, context, container):
        return container

    def check_container_exist(self, container):
        return STATE.get(container.uuid) is not None

    def list(self, context):
        """Plain containers of this host, and those the driver lost."""
        local, missing = [], []
        for c in objects.Container.list_by_host(context, CONF.host):
            if c.status in (consts.CREATING, consts.DELETING,
                            consts.DELETED):
                local.append(c)
                continue
            if STATE.get(c.uuid) is None:
                missing.append(c)
            else:
                local.append(c)
        return local, missing

    def _sync_container(self, context, container):
        if container.host != CONF.host or container.task_state:
            return
        rec = STATE.get(container.uuid)
        if rec is None:
            return
        code = _exit_code(container)
        if rec.get('phase') == 'running' and code is not None:
            self._container_phase(context, container, 'exited',
                                  consts.STOPPED, 'Exited(%d)' % code)

    def update_containers_states(self, context, containers, manager):
        for obj in containers:
            try:
                if isinstance(obj, objects.Capsule):
                    self._sync_capsule(context, obj)
                else:
                    self._sync_container(context, obj)
            except (exception.ContainerNotFound,
                    exception.CapsuleNotFound):
                pass  # deleted while we looked
            except Exception:
                LOG.exception('State sync of %s failed', obj.uuid)

    # ----- images: nothing to pull ------------------------------------

    def pull_image(self, context, repo, tag, image_pull_policy='always',
                   driver_name=None, registry=None):
        image = {'image': repo, 'repo': repo, 'tag': tag, 'path': None,
                 'driver': (driver_name or CONF.default_image_driver or
                            'docker').split('.')[0]}
        return image, True

    def load_image(self, image_path=None):
        pass

    def read_tar_image(self, image):
        pass

    def search_image(self, context, repo, tag, driver_name, exact_match):
        return [{'image': repo, 'tags': [tag or 'latest']}]

    def inspect_image(self, image):
        return {'Id': 'sha256:' + '0' * 64, 'RepoTags': [image],
                'Size': 0, 'Config': {'Cmd': [], 'Entrypoint': None}}

    def delete_image(self, context, img_id, image_driver=None):
        pass
