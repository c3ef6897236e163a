"""A Neutron stand-in: just enough of the Networking API v2.0 for Zun.

Zun 18.0.0 calls Neutron from zun-api (pick a network for a capsule) and
from zun-compute (ports for addresses, security groups for exposed ports).
This serves one shared network with one IPv4 subnet (10.99.0.0/16), and
keeps ports and security groups (and their rules) in a JSON file so a
restart loses nothing. Tokens are not validated. Every request is logged.

Usage: neutron_standin.py --port 19696 --state-file FILE [--host 127.0.0.1]
"""

import argparse
import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
import ipaddress
import json
import logging
import os
import random
import threading
import urllib.parse
import uuid

LOG = logging.getLogger('neutron-standin')

NETWORK_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, 'zun-vk-stack/network'))
SUBNET_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, 'zun-vk-stack/subnet'))
CIDR = ipaddress.ip_network('10.99.0.0/16')
GATEWAY = '10.99.0.1'
OWNER = 'zun-vk-stack'
CREATED = '2024-01-01T00:00:00Z'

EXTENSIONS = [
    ('binding', 'Port Binding'),
    ('security-group', 'security-group'),
    ('standard-attr-description', 'standard-attr-description'),
    ('standard-attr-timestamp', 'Resource timestamps'),
    ('project-id', 'project_id field enabled'),
    ('external-net', 'Neutron external network'),
    ('quotas', 'Quota management support'),
]

# collection name in the URL -> (singular key, plural key)
RESOURCES = {
    'networks': ('network', 'networks'),
    'subnets': ('subnet', 'subnets'),
    'ports': ('port', 'ports'),
    'security-groups': ('security_group', 'security_groups'),
    'security-group-rules': ('security_group_rule', 'security_group_rules'),
}
MUTABLE = ('ports', 'security-groups', 'security-group-rules')


def now():
    return datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')


def base_network():
    return {
        'id': NETWORK_ID, 'name': 'zun-vk-stack-net', 'status': 'ACTIVE',
        'admin_state_up': True, 'shared': True, 'router:external': False,
        'tenant_id': OWNER, 'project_id': OWNER, 'subnets': [SUBNET_ID],
        'mtu': 1450, 'availability_zones': ['nova'], 'description': '',
        'ipv4_address_scope': None, 'ipv6_address_scope': None,
        'port_security_enabled': True, 'provider:network_type': 'vxlan',
        'created_at': CREATED, 'updated_at': CREATED, 'tags': [],
        'revision_number': 1,
    }


def base_subnet():
    return {
        'id': SUBNET_ID, 'name': 'zun-vk-stack-subnet',
        'network_id': NETWORK_ID, 'ip_version': 4, 'cidr': str(CIDR),
        'gateway_ip': GATEWAY, 'enable_dhcp': True,
        'allocation_pools': [{'start': '10.99.0.2',
                              'end': '10.99.255.254'}],
        'dns_nameservers': [], 'host_routes': [], 'tenant_id': OWNER,
        'project_id': OWNER, 'subnetpool_id': None, 'description': '',
        'ipv6_address_mode': None, 'ipv6_ra_mode': None,
        'created_at': CREATED, 'updated_at': CREATED, 'tags': [],
        'revision_number': 1,
    }


class Store(object):
    def __init__(self, path):
        self.path = path
        self.lock = threading.RLock()
        self.data = {'ports': {}, 'security-groups': {},
                     'security-group-rules': {}}
        if path and os.path.exists(path):
            try:
                with open(path) as f:
                    loaded = json.load(f)
                for k in self.data:
                    self.data[k] = loaded.get(k, {})
            except ValueError:
                LOG.warning('ignoring unreadable state file %s', path)

    def save(self):
        if not self.path:
            return
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def items(self, coll):
        if coll == 'networks':
            return [base_network()]
        if coll == 'subnets':
            return [base_subnet()]
        with self.lock:
            return [dict(v) for v in self.data[coll].values()]

    def allocate_ip(self, wanted=None):
        used = {ip['ip_address'] for p in self.data['ports'].values()
                for ip in p.get('fixed_ips', [])}
        used.add(GATEWAY)
        if wanted:
            if wanted in used:
                raise Conflict('IpAddressAlreadyAllocated',
                               'IP address %s already allocated' % wanted)
            return wanted
        for host in CIDR.hosts():
            ip = str(host)
            if ip not in used and not ip.endswith('.0') and ip != GATEWAY:
                return ip
        raise Conflict('IpAddressGenerationFailure',
                       'No more IP addresses available')


class HTTPError(Exception):
    status = 400
    kind = 'BadRequest'

    def __init__(self, kind=None, message=''):
        super(HTTPError, self).__init__(message)
        self.kind = kind or self.kind
        self.message = message


class NotFound(HTTPError):
    status = 404
    kind = 'NotFound'


class Conflict(HTTPError):
    status = 409
    kind = 'Conflict'


def _match(item, filters):
    for key, wanted in filters.items():
        if key in ('fields', 'limit', 'marker', 'sort_key', 'sort_dir',
                   'page_reverse'):
            continue
        have = item.get(key)
        if key == 'tenant_id' and have is None:
            have = item.get('project_id')
        if key == 'fixed_ips':
            # fixed_ips=ip_address=1.2.3.4 / subnet_id=...
            ok = False
            for w in wanted:
                k, _, v = w.partition('=')
                if any(ip.get(k) == v for ip in item.get('fixed_ips', [])):
                    ok = True
            if not ok:
                return False
            continue
        if isinstance(have, bool):
            if str(have).lower() not in [w.lower() for w in wanted]:
                return False
        elif isinstance(have, list):
            if not any(w in have for w in wanted):
                return False
        elif str(have) not in wanted:
            return False
    return True


def _fields(item, filters):
    fields = filters.get('fields')
    if not fields:
        return item
    return {k: v for k, v in item.items() if k in fields}


class Handler(BaseHTTPRequestHandler):
    server_version = 'neutron-standin/1.0'
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        LOG.info('%s %s', self.address_string(), fmt % args)

    # -- plumbing --------------------------------------------------------

    def _send(self, status, body=None):
        raw = b'' if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(raw)))
        self.send_header('X-Openstack-Request-Id',
                         'req-' + str(uuid.uuid4()))
        self.end_headers()
        if raw and self.command != 'HEAD':
            self.wfile.write(raw)

    def _body(self):
        n = int(self.headers.get('Content-Length') or 0)
        if not n:
            return {}
        try:
            return json.loads(self.rfile.read(n).decode() or '{}')
        except ValueError:
            raise HTTPError('BadRequest', 'body is not JSON')

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split('/') if p]
        filters = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if parts and parts[-1].endswith('.json'):
            parts[-1] = parts[-1][:-5]
        try:
            status, body = self._route(parts, filters)
        except HTTPError as e:
            status, body = e.status, {'NeutronError': {
                'type': e.kind, 'message': e.message, 'detail': ''}}
        except Exception as e:  # noqa: report, do not die
            LOG.exception('internal error')
            status, body = 500, {'NeutronError': {
                'type': 'InternalError', 'message': str(e), 'detail': ''}}
        if body is not None and LOG.isEnabledFor(logging.DEBUG):
            LOG.debug('-> %d %s', status, json.dumps(body)[:2000])
        self._send(status, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    # -- routes ----------------------------------------------------------

    def _route(self, parts, filters):
        store = self.server.store
        method = self.command
        if not parts:
            return 200, {'versions': [{
                'id': 'v2.0', 'status': 'CURRENT',
                'links': [{'rel': 'self', 'href':
                           'http://%s/v2.0/' % self.headers.get('Host')}]}]}
        if parts[0] != 'v2.0':
            raise NotFound('NotFound', 'no such path')
        parts = parts[1:]
        if method in ('POST', 'PUT'):
            body = self._body()
            LOG.info('%s /%s body %s', method, '/'.join(parts),
                     json.dumps(body)[:1000])
        if not parts:
            return 200, {'resources': [
                {'name': s, 'collection': p, 'links': []}
                for s, p in RESOURCES.values()]}
        coll = parts[0]
        if coll == 'extensions':
            exts = [{'alias': a, 'name': n, 'description': n, 'links': [],
                     'updated': '2024-01-01T00:00:00-00:00'}
                    for a, n in EXTENSIONS]
            if len(parts) == 2:
                for e in exts:
                    if e['alias'] == parts[1]:
                        return 200, {'extension': e}
                raise NotFound('ExtensionNotFound', parts[1])
            return 200, {'extensions': exts}
        if coll == 'quotas' and len(parts) >= 2:
            return 200, {'quota': {'network': -1, 'subnet': -1, 'port': -1,
                                   'security_group': -1,
                                   'security_group_rule': -1}}
        if coll not in RESOURCES:
            raise NotFound('NotFound', 'unknown resource %s' % coll)
        single, plural = RESOURCES[coll]
        rid = parts[1] if len(parts) > 1 else None

        if method in ('GET', 'HEAD'):
            items = store.items(coll)
            if rid is None:
                return 200, {plural: [_fields(i, filters) for i in items
                                      if _match(i, filters)]}
            for i in items:
                if i['id'] == rid:
                    return 200, {single: _fields(i, filters)}
            raise NotFound('%sNotFound' % single.title().replace('_', ''),
                           '%s %s could not be found.' % (single, rid))

        if coll not in MUTABLE:
            raise HTTPError('BadRequest', '%s is read-only here' % coll)
        with store.lock:
            table = store.data[coll]
            if method == 'POST' and rid is None:
                req = body.get(single)
                if isinstance(req, dict):
                    reqs, bulk = [req], False
                else:
                    reqs, bulk = body.get(plural) or [], True
                made = [self._create(store, coll, r) for r in reqs]
                for m in made:
                    table[m['id']] = m
                self._after_create(store, coll, made)
                store.save()
                return 201, ({plural: made} if bulk else {single: made[0]})
            if rid is None:
                raise HTTPError('BadRequest', 'missing id')
            if rid not in table:
                raise NotFound('%sNotFound' % single.title().replace('_', ''),
                               '%s %s could not be found.' % (single, rid))
            if method == 'PUT':
                upd = body.get(single) or {}
                upd.pop('id', None)
                if coll == 'ports' and 'fixed_ips' in upd:
                    upd['fixed_ips'] = self._fixed_ips(store,
                                                       upd['fixed_ips'])
                table[rid].update(upd)
                table[rid]['updated_at'] = now()
                table[rid]['revision_number'] = table[rid].get(
                    'revision_number', 1) + 1
                store.save()
                return 200, {single: table[rid]}
            if method == 'DELETE':
                del table[rid]
                if coll == 'security-groups':
                    for k in [k for k, r in
                              store.data['security-group-rules'].items()
                              if r.get('security_group_id') == rid]:
                        del store.data['security-group-rules'][k]
                store.save()
                return 204, None
        raise HTTPError('BadRequest', 'unsupported')

    # -- creation --------------------------------------------------------

    def _common(self, req):
        project = req.get('project_id') or req.get('tenant_id') or OWNER
        ts = now()
        return {'id': str(uuid.uuid4()), 'tenant_id': project,
                'project_id': project, 'created_at': ts, 'updated_at': ts,
                'revision_number': 1, 'tags': [],
                'description': req.get('description', '')}

    def _fixed_ips(self, store, wanted):
        out = []
        for w in wanted or [{}]:
            if w.get('subnet_id') not in (None, SUBNET_ID):
                raise NotFound('SubnetNotFound', w['subnet_id'])
            out.append({'subnet_id': SUBNET_ID,
                        'ip_address': store.allocate_ip(w.get('ip_address'))})
        return out

    def _create(self, store, coll, req):
        item = self._common(req)
        if coll == 'ports':
            if req.get('network_id') not in (None, NETWORK_ID):
                raise NotFound('NetworkNotFound',
                               'Network %s could not be found.'
                               % req.get('network_id'))
            mac = 'fa:16:3e:%02x:%02x:%02x' % tuple(
                random.randint(0, 255) for _ in range(3))
            item.update({
                'name': req.get('name', ''), 'network_id': NETWORK_ID,
                'admin_state_up': req.get('admin_state_up', True),
                'mac_address': req.get('mac_address', mac),
                'fixed_ips': self._fixed_ips(store, req.get('fixed_ips')),
                'device_id': req.get('device_id', ''),
                'device_owner': req.get('device_owner', ''),
                'status': 'ACTIVE',
                'security_groups': req.get('security_groups', []),
                'binding:host_id': req.get('binding:host_id', ''),
                'binding:vif_type': 'ovs', 'binding:vnic_type':
                    req.get('binding:vnic_type', 'normal'),
                'binding:profile': req.get('binding:profile', {}),
                'binding:vif_details': {}, 'allowed_address_pairs': [],
                'extra_dhcp_opts': [], 'port_security_enabled': True,
            })
        elif coll == 'security-groups':
            item.update({'name': req.get('name', ''), 'stateful': True,
                         'security_group_rules': []})
        elif coll == 'security-group-rules':
            sg = req.get('security_group_id')
            if sg not in store.data['security-groups']:
                raise NotFound('SecurityGroupNotFound', str(sg))
            item.update({k: req.get(k) for k in (
                'security_group_id', 'direction', 'ethertype', 'protocol',
                'port_range_min', 'port_range_max', 'remote_ip_prefix',
                'remote_group_id')})
            item['ethertype'] = item['ethertype'] or 'IPv4'
        return item

    def _after_create(self, store, coll, made):
        if coll == 'security-group-rules':
            for r in made:
                sg = store.data['security-groups'][r['security_group_id']]
                sg.setdefault('security_group_rules', []).append(dict(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=19696)
    ap.add_argument('--state-file')
    ap.add_argument('--debug', action='store_true')
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format='%(asctime)s %(levelname)s %(name)s %(message)s')
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.store = Store(args.state_file)
    LOG.info('listening on http://%s:%d/ (network %s, subnet %s %s)',
             args.host, args.port, NETWORK_ID, SUBNET_ID, CIDR)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
