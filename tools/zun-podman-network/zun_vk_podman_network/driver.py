"""A Zun network driver for podman: one bridge network per Neutron network.

Zun's default ``kuryr`` driver creates Docker networks through the Kuryr
libnetwork plugin, which podman cannot load. This driver keeps
everything else of Kuryr's flow (a Neutron port per capsule, its address
handed to the engine as a static IPv4 address, ports deleted on
disconnect) and only replaces the engine side: a plain podman bridge
network named after the Neutron network id, with the subnet and gateway
of that network's IPv4 subnet in Neutron. After a container starts, the
address the engine really gave it is read back into Zun's record.

Select it in zun.conf with ``[network] driver = zunvk_podman``.
"""

from oslo_concurrency import lockutils
from oslo_log import log as logging

from zun.common import exception
from zun.network import kuryr_network

LOG = logging.getLogger(__name__)

BRIDGE_DRIVER = 'bridge'


class PodmanBridgeNetwork(kuryr_network.KuryrNetwork):
    """Kuryr's Neutron handling on podman's own bridge networks."""

    def _engine_network(self, name):
        for net in self.docker.networks(names=[name]) or []:
            if net.get('Name') == name:
                return net
        return None

    def get_or_create_network(self, context, neutron_net_id):
        if self._engine_network(neutron_net_id) is None:
            self.create_network(neutron_net_id)

    def create_network(self, neutron_net_id):
        # Capsules are created in parallel green threads of one process.
        with lockutils.lock('zunvk-podman-network-' + neutron_net_id):
            existing = self._engine_network(neutron_net_id)
            if existing is not None:
                return existing
            subnets = self.neutron_api.list_subnets(
                network_id=neutron_net_id).get('subnets', [])
            v4 = self._get_subnet(subnets, ip_version=4)
            if not v4:
                raise exception.ZunException(
                    'The Neutron network %s has no IPv4 subnet'
                    % neutron_net_id)
            ipam = {'Driver': 'default',
                    'Config': [{'Subnet': v4['cidr'],
                                'Gateway': v4['gateway_ip']}]}
            LOG.info('Creating podman bridge network %s (%s, gateway %s)',
                     neutron_net_id, v4['cidr'], v4['gateway_ip'])
            return self.docker.create_network(
                name=neutron_net_id, driver=BRIDGE_DRIVER, ipam=ipam,
                labels={'zun-vk-stack/neutron-network': neutron_net_id})

    def remove_network(self, network):
        try:
            self.docker.remove_network(network.name)
        except Exception as e:  # noqa: gone already is fine
            LOG.warning('Removing podman network %s failed: %s',
                        network.name, e)
        try:
            network.destroy()
        except Exception:  # noqa: there may be no database row
            pass

    def _disconnect_container_from_network(self, container_id, network_name,
                                           addrs_list):
        # Disconnecting is only bookkeeping in the engine (the container is
        # removed next); whatever it says, the Neutron ports must go.
        neutron_ports = set()
        all_ports = set()
        for addr in addrs_list:
            all_ports.add(addr['port'])
            if not addr['preserve_on_delete']:
                neutron_ports.add(addr['port'])
        try:
            if container_id:
                self.docker.disconnect_container_from_network(
                    container_id, network_name, force=True)
        except Exception as e:  # noqa: see above
            LOG.debug('Disconnecting %s from %s: %s', container_id,
                      network_name, e)
        finally:
            self.neutron_api.delete_or_unbind_ports(all_ports, neutron_ports)

    def on_container_started(self, container):
        """Record the addresses the engine really gave the container."""
        if not container.container_id or not container.addresses:
            return
        try:
            info = self.docker.inspect_container(container.container_id)
        except Exception as e:  # noqa: never fail a start for this
            LOG.warning('Cannot read the addresses of %s: %s',
                        container.uuid, e)
            return
        networks = (info.get('NetworkSettings') or {}).get('Networks') or {}
        addresses = dict(container.addresses)
        changed = False
        for net_id, addrs in addresses.items():
            actual = (networks.get(net_id) or {}).get('IPAddress')
            if not actual:
                continue
            new = []
            for addr in addrs:
                addr = dict(addr)
                if addr.get('version') == 4 and addr.get('addr') != actual:
                    LOG.warning('Container %s got %s on %s, not %s',
                                container.uuid, actual, net_id,
                                addr.get('addr'))
                    addr['addr'] = actual
                    changed = True
                new.append(addr)
            addresses[net_id] = new
        if changed:
            container.addresses = addresses

    def on_container_stopped(self, container):
        pass
