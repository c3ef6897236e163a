"""The agent's HTTP API: which request is which operation.

==============================================================  ===========
request                                                         operation
==============================================================  ===========
``GET /healthz`` (client certificate, no ticket)                healthz
``GET /v1/stats``                                               stats
``GET /v1/capsules/{capsule}``                                  lookup
``GET /v1/capsules/{c}/containers/{m}/logs?follow=&tail=&``     logs
``since=&timestamps=&limit_bytes=``
``POST /v1/capsules/{c}/containers/{m}/exec?command=..&``       exec
``command=..&stdin=&tty=`` (upgrade)
``POST /v1/capsules/{c}/containers/{m}/attach?stdin=&tty=``     attach
(upgrade)
``POST /v1/capsules/{c}/portforward?port=`` (upgrade)           portforward
``PUT /v1/capsules/{c}/volumes/{volume}`` (JSON body)           files
==============================================================  ===========

Every request but healthz carries its ticket in ``X-Zun-VK-Ticket``.
Upgrades ask for ``Upgrade: zun-vk-stream/1`` (see hostlink.framing).
The files body is hostlink.files_body's; its ticket names the volume and
the body's SHA-256.
"""

import dataclasses
import re
import urllib.parse

from zun_vk.hostlink import tickets
from zun_vk import http_error

HEALTHZ = 'healthz'
TICKET_HEADER = 'X-Zun-VK-Ticket'
UPGRADE_OPERATIONS = frozenset([tickets.EXEC, tickets.ATTACH,
                                tickets.PORT_FORWARD])

_UUID = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
# A Kubernetes volume name: a DNS label.
_VOLUME = r'[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?'
_PATHS = [
    (re.compile(r'^/healthz$'), HEALTHZ, 'GET'),
    (re.compile(r'^/v1/stats$'), tickets.STATS, 'GET'),
    (re.compile(r'^/v1/capsules/(?P<capsule>%s)$' % _UUID),
     tickets.LOOKUP, 'GET'),
    (re.compile(r'^/v1/capsules/(?P<capsule>%s)/containers/'
                r'(?P<container>%s)/logs$' % (_UUID, _UUID)),
     tickets.LOGS, 'GET'),
    (re.compile(r'^/v1/capsules/(?P<capsule>%s)/containers/'
                r'(?P<container>%s)/exec$' % (_UUID, _UUID)),
     tickets.EXEC, 'POST'),
    (re.compile(r'^/v1/capsules/(?P<capsule>%s)/containers/'
                r'(?P<container>%s)/attach$' % (_UUID, _UUID)),
     tickets.ATTACH, 'POST'),
    (re.compile(r'^/v1/capsules/(?P<capsule>%s)/portforward$' % _UUID),
     tickets.PORT_FORWARD, 'POST'),
    (re.compile(r'^/v1/capsules/(?P<capsule>%s)/volumes/(?P<volume>%s)$'
                % (_UUID, _VOLUME)),
     tickets.FILES, 'PUT'),
]
MAX_COMMAND_ARGS = 1024
MAX_COMMAND_BYTES = 65536


class BadRequest(http_error.HTTPError):
    """A request the agent answers with status and a one-line message."""


@dataclasses.dataclass(frozen=True)
class Request:
    op: str
    capsule: str = None
    container: str = None
    port: int = None
    command: tuple = None
    stdin: bool = False
    tty: bool = False
    follow: bool = False
    tail: int = None
    since: float = None
    timestamps: bool = False
    limit_bytes: int = None
    volume: str = None

    @property
    def upgrade(self):
        return self.op in UPGRADE_OPERATIONS

    @property
    def has_body(self):
        return self.op == tickets.FILES

    def ticket_target(self):
        """Keyword arguments of tickets.verify for this request.

        A body is added by the server once read.
        """
        return {'op': self.op, 'capsule': self.capsule,
                'container': self.container, 'port': self.port,
                'command': list(self.command) if self.command is not None
                else None, 'volume': self.volume}


def _one(query, name):
    values = query.get(name, [])
    if len(values) > 1:
        raise BadRequest(400, 'parameter %s is given more than once' % name)
    return values[0] if values else None


def _bool(query, name):
    value = _one(query, name)
    if value is None or value.lower() in ('', '0', 'false'):
        return False
    if value.lower() in ('1', 'true'):
        return True
    raise BadRequest(400, 'parameter %s must be 1 or 0, not %r'
                     % (name, value[:32]))


def _int(query, name, minimum):
    value = _one(query, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise BadRequest(400, 'parameter %s must be an integer of at least '
                         '%d, not %r' % (name, minimum, value[:32]))
    return number


def _since(query):
    value = _one(query, 'since')
    if value is None:
        return None
    try:
        since = float(value)
    except ValueError:
        since = -1.0
    if not since > 0 or since != since or since == float('inf'):
        raise BadRequest(400, 'parameter since must be seconds since the '
                         'epoch, not %r' % value[:32])
    return since


def _command(query):
    command = query.get('command', [])
    if not command:
        raise BadRequest(400, 'exec needs a command')
    if len(command) > MAX_COMMAND_ARGS or \
            sum(len(a) for a in command) > MAX_COMMAND_BYTES:
        raise BadRequest(400, 'the command is too long')
    return tuple(command)


def parse(method, target):
    """The Request of an HTTP method and request target.

    Raises BadRequest: 404 for an unknown path (capsule and container
    must be lowercase uuids, as Zun writes them), 405 for the wrong
    method, 400 for a bad parameter.
    """
    split = urllib.parse.urlsplit(target)
    try:
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True,
                                      strict_parsing=False,
                                      max_num_fields=MAX_COMMAND_ARGS + 16)
    except ValueError:
        raise BadRequest(400, 'too many query parameters') from None
    for pattern, op, allowed in _PATHS:
        match = pattern.match(split.path)
        if not match:
            continue
        if method != allowed:
            raise BadRequest(405, '%s needs %s' % (split.path, allowed))
        fields = match.groupdict()
        args = {'op': op, 'capsule': fields.get('capsule'),
                'container': fields.get('container'),
                'volume': fields.get('volume')}
        if op == tickets.LOGS:
            args.update(follow=_bool(query, 'follow'),
                        tail=_int(query, 'tail', 0),
                        since=_since(query),
                        timestamps=_bool(query, 'timestamps'),
                        limit_bytes=_int(query, 'limit_bytes', 1))
        elif op in (tickets.EXEC, tickets.ATTACH):
            args.update(stdin=_bool(query, 'stdin'), tty=_bool(query, 'tty'))
            if op == tickets.EXEC:
                args['command'] = _command(query)
        elif op == tickets.PORT_FORWARD:
            port = _int(query, 'port', 1)
            if port is None or port > 65535:
                raise BadRequest(400, 'port-forward needs a port from 1 to '
                                 '65535')
            args['port'] = port
        return Request(**args)
    raise BadRequest(404, 'no such path: %s' % split.path[:200])


def client_names(peercert):
    """Subject CN and DNS subjectAltNames of ssl.getpeercert()'s dict."""
    names = set()
    for rdn in (peercert or {}).get('subject', ()):
        for key, value in rdn:
            if key == 'commonName':
                names.add(value)
    for kind, value in (peercert or {}).get('subjectAltName', ()):
        if kind == 'DNS':
            names.add(value)
    return names
