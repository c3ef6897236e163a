"""Keystone projects, users, roles and the service catalog, over REST."""

import threading
import time

from . import context as C
from . import util
from .util import StackError

# Bump when the resources below change, so `up` applies them again.
SPEC_VERSION = 2

_token_lock = threading.Lock()
_token = {}


def token(ctx, user='admin', password=C.ADMIN_PASSWORD, project='admin',
          fresh=False):
    key = (user, project)
    with _token_lock:
        cached = _token.get(key)
        if cached and not fresh and cached[1] > time.time():
            return cached[0]
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': user, 'domain': {'id': 'default'},
                'password': password}}},
            'scope': {'project': {'name': project,
                                  'domain': {'id': 'default'}}}}}
        status, resp, headers = util.http(
            'POST', ctx.auth_url + '/auth/tokens', body, timeout=10)
        if status != 201:
            raise StackError('keystone: cannot get a token for %s (HTTP %s)'
                             % (user, status))
        tok = headers['X-Subject-Token']
        _token[key] = (tok, time.time() + 3000)
        return tok


class _Api(object):
    def __init__(self, ctx):
        self.ctx = ctx
        self.tok = token(ctx)

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        status, resp, _ = util.http(method, self.ctx.auth_url + path, body,
                                    headers={'X-Auth-Token': self.tok},
                                    timeout=10)
        if status not in ok:
            raise StackError('keystone: %s %s answered %s: %s'
                             % (method, path, status, str(resp)[:300]))
        return resp

    def find(self, coll, name, **filters):
        q = '&'.join(['name=%s' % name] +
                     ['%s=%s' % kv for kv in filters.items()])
        items = self.call('GET', '/%s?%s' % (coll, q))[coll]
        return items[0] if items else None

    def ensure(self, coll, single, name, extra=None, **filters):
        found = self.find(coll, name, **filters)
        if found:
            return found
        body = {'name': name}
        body.update(extra or {})
        return self.call('POST', '/' + coll, {single: body})[single]


def ensure_resources(ctx):
    api = _Api(ctx)
    roles = {r: api.ensure('roles', 'role', r)['id']
             for r in ('admin', 'member', 'reader', 'service')}
    projects = {p: api.ensure('projects', 'project', p,
                              {'domain_id': 'default',
                               'description': 'zun-vk local stack'},
                              domain_id='default')['id']
                for p in (C.SERVICE_PROJECT, C.DEMO_PROJECT)}

    def user(name, password, project):
        u = api.find('users', name, domain_id='default')
        if u is None:
            u = api.call('POST', '/users', {'user': {
                'name': name, 'password': password, 'domain_id': 'default',
                'default_project_id': projects[project]}})['user']
        else:
            api.call('PATCH', '/users/' + u['id'],
                     {'user': {'password': password}})
        return u['id']

    def grant(user_id, project, role):
        api.call('PUT', '/projects/%s/users/%s/roles/%s'
                 % (projects[project], user_id, roles[role]))

    for name, pw in C.SERVICE_USERS.items():
        uid = user(name, pw, C.SERVICE_PROJECT)
        grant(uid, C.SERVICE_PROJECT, 'admin')
        grant(uid, C.SERVICE_PROJECT, 'service')
    demo = user(C.DEMO_USER, C.DEMO_PASSWORD, C.DEMO_PROJECT)
    grant(demo, C.DEMO_PROJECT, 'member')
    grant(demo, C.DEMO_PROJECT, 'reader')

    catalog = [
        ('zun', 'container', ctx.url('zun-api', '/v1')),
        ('placement', 'placement', ctx.url('placement')),
        ('neutron', 'network', ctx.url('neutron')),
    ]
    for name, stype, url in catalog:
        svc = api.find('services', name, type=stype)
        if svc is None:
            svc = api.call('POST', '/services', {'service': {
                'name': name, 'type': stype, 'enabled': True}})['service']
        eps = api.call('GET', '/endpoints?service_id=%s' % svc['id'])[
            'endpoints']
        for iface in ('public', 'internal', 'admin'):
            mine = [e for e in eps if e['interface'] == iface]
            if mine and mine[0]['url'] == url and \
                    mine[0].get('region_id') == C.REGION:
                continue
            for e in mine:
                api.call('DELETE', '/endpoints/' + e['id'])
            api.call('POST', '/endpoints', {'endpoint': {
                'service_id': svc['id'], 'interface': iface, 'url': url,
                'region_id': C.REGION, 'enabled': True}})


def resource_provider_exists(ctx, name):
    status, body, _ = util.http(
        'GET', ctx.url('placement', '/resource_providers?name=' + name),
        headers={'X-Auth-Token': token(ctx),
                 'OpenStack-API-Version': 'placement 1.14'}, timeout=5)
    if status == 401:
        token(ctx, fresh=True)
        return False
    return status == 200 and bool(body.get('resource_providers'))
