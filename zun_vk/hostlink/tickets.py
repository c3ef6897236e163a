"""Signed, short-lived, single-use tickets for requests to host agents.

zun-vk decides whether a Kubernetes request may reach a container (the
kube-apiserver's request was authenticated and authorized by zun-vk's
kubelet server) and hands that decision to the compute host as a ticket:
the operation, the host, the capsule, the container, the port or the
digest of the command, the volume and the digest of the files written
into it, an expiry and a random nonce, signed with
zun-vk's Ed25519 key. The host agent holds only the public key, so a
compromised compute host cannot mint tickets for another one, and a
ticket names exactly one request. The idea follows the kubelet's CRI
streaming server (single-use tokens with a short lifetime).

Text format (version 1), three dot-separated parts::

    zvk1.<base64url(JSON claims)>.<base64url(Ed25519 signature)>

The signature covers ``zvk1.<claims part>`` as ASCII bytes.
"""

import base64
import binascii
import hashlib
import heapq
import json
import os
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization

VERSION = 'zvk1'
# A ticket authorizes the start of one request; nothing needs more than a
# few seconds between signing and use, so long lifetimes are refused even
# when correctly signed.
MAX_TTL = 300
MAX_LENGTH = 4096

LOGS = 'logs'
EXEC = 'exec'
ATTACH = 'attach'
PORT_FORWARD = 'portforward'
STATS = 'stats'
LOOKUP = 'lookup'
FILES = 'files'
OPERATIONS = frozenset([LOGS, EXEC, ATTACH, PORT_FORWARD, STATS, LOOKUP,
                        FILES])
# The claims that name a request's target; a claim a ticket lacks must
# be absent from the request too, so tickets of one operation never fit
# another's request.
TARGET_CLAIMS = ('op', 'host', 'capsule', 'container', 'port', 'cmd',
                 'volume', 'body')


class TicketError(Exception):
    """A ticket the agent must refuse.

    reason is one line for the log and the reply, status the HTTP status
    to answer with.
    """

    status = 401

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class InvalidTicket(TicketError):
    """Missing, malformed, badly signed, expired or not yet valid."""

    status = 401


class TicketMismatch(TicketError):
    """Correctly signed, but for another request, or used before."""

    status = 403


class ReplayCacheFull(TicketError):
    """More unexpired tickets than the cache holds; try again later."""

    status = 503


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _b64decode(text):
    padded = text + '=' * (-len(text) % 4)
    try:
        return base64.b64decode(padded.encode('ascii'), altchars=b'-_',
                                validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidTicket('ticket is not valid base64url') from None


def command_digest(command):
    """SHA-256 (hex) of an exec command, a list of strings.

    The ticket carries the digest rather than the command so a long
    command does not make the ticket long.
    """
    text = json.dumps(list(command), separators=(',', ':'),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def body_digest(body):
    """SHA-256 (hex) of a request body, bytes.

    A ticket for a files write carries it, so a ticket for one set of
    files cannot write another.
    """
    return hashlib.sha256(bytes(body)).hexdigest()


def expected_claims(op, host, capsule=None, container=None, port=None,
                    command=None, volume=None, body=None):
    """The claims that bind a ticket to one request."""
    if op not in OPERATIONS:
        raise ValueError('unknown operation %r' % op)
    claims = {'op': op, 'host': host}
    if capsule is not None:
        claims['capsule'] = capsule
    if container is not None:
        claims['container'] = container
    if port is not None:
        claims['port'] = int(port)
    if command is not None:
        claims['cmd'] = command_digest(command)
    if volume is not None:
        claims['volume'] = volume
    if body is not None:
        claims['body'] = body_digest(body)
    return claims


def sign(private_key, op, host, capsule, container=None, port=None,
         command=None, ttl=30, now=None, volume=None, body=None):
    """A ticket for one request, valid ttl seconds from now.

    private_key is an Ed25519PrivateKey; capsule is None only for the
    host-wide stats operation; body (bytes) is the request body of a
    files write.
    """
    if not 0 < ttl <= MAX_TTL:
        raise ValueError('ticket ttl must be between 1 and %d s' % MAX_TTL)
    issued = int(time.time() if now is None else now)
    claims = expected_claims(op, host, capsule, container, port, command,
                             volume, body)
    claims.update({'v': 1, 'iat': issued, 'exp': issued + int(ttl),
                   'nonce': _b64encode(os.urandom(16))})
    body = json.dumps(claims, separators=(',', ':'), sort_keys=True)
    signed = '%s.%s' % (VERSION, _b64encode(body.encode('utf-8')))
    signature = private_key.sign(signed.encode('ascii'))
    return '%s.%s' % (signed, _b64encode(signature))


def _decode(public_key, ticket):
    if not isinstance(ticket, str) or not ticket:
        raise InvalidTicket('no ticket')
    if len(ticket) > MAX_LENGTH:
        raise InvalidTicket('ticket is too long')
    parts = ticket.split('.')
    if len(parts) != 3:
        raise InvalidTicket('ticket is not in the zvk1.<claims>.<signature> '
                            'format')
    if parts[0] != VERSION:
        raise InvalidTicket('ticket version %r is not supported'
                            % parts[0][:16])
    signature = _b64decode(parts[2])
    try:
        public_key.verify(signature,
                          ('%s.%s' % (parts[0], parts[1])).encode('ascii'))
    except (InvalidSignature, UnicodeEncodeError):
        raise InvalidTicket('ticket signature is not valid') from None
    try:
        claims = json.loads(_b64decode(parts[1]).decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        raise InvalidTicket('ticket claims are not JSON') from None
    if not isinstance(claims, dict) or claims.get('v') != 1:
        raise InvalidTicket('ticket claims are not version 1')
    for name in ('iat', 'exp'):
        if type(claims.get(name)) is not int:
            raise InvalidTicket('ticket has no valid %s' % name)
    if not isinstance(claims.get('nonce'), str) or not claims['nonce']:
        raise InvalidTicket('ticket has no nonce')
    return claims


def _check_time(claims, now, clock_skew):
    if not 0 < claims['exp'] - claims['iat'] <= MAX_TTL:
        raise InvalidTicket('ticket lifetime is not between 1 and %d s'
                            % MAX_TTL)
    if now > claims['exp'] + clock_skew:
        raise InvalidTicket('ticket expired %d s ago'
                            % int(now - claims['exp']))
    if now < claims['iat'] - clock_skew:
        raise InvalidTicket('ticket is not valid for another %d s (are the '
                            'clocks of zun-vk and this host in step?)'
                            % int(claims['iat'] - now))


def _check_target(claims, expected):
    for name in TARGET_CLAIMS:
        want, got = expected.get(name), claims.get(name)
        if want != got:
            what = {'cmd': 'command', 'op': 'operation'}.get(name, name)
            if name == 'cmd':
                raise TicketMismatch('ticket is for another command')
            if name == 'body':
                raise TicketMismatch('ticket is for another request body')
            raise TicketMismatch('ticket is for %s %s, not %s' % (
                what, got if got is not None else '(none)',
                want if want is not None else '(none)'))


def verify(public_key, ticket, *, op, host, capsule=None, container=None,
           port=None, command=None, volume=None, body=None, now=None,
           clock_skew=30, replay_cache=None):
    """Check a ticket against the request it arrived with.

    Returns the claims. Raises InvalidTicket (401) for a ticket that is
    not a valid ticket at all or whose time is up, TicketMismatch (403)
    for a valid ticket that names another request or was used before
    (when a ReplayCache is given), ReplayCacheFull (503).
    """
    now = time.time() if now is None else now
    claims = _decode(public_key, ticket)
    _check_time(claims, now, clock_skew)
    _check_target(claims, expected_claims(op, host, capsule, container,
                                          port, command, volume, body))
    if replay_cache is not None:
        replay_cache.remember(claims['nonce'], claims['exp'] + clock_skew,
                              now)
    return claims


class ReplayCache(object):
    """Nonces of accepted tickets, each kept until its ticket expires.

    Thread-safe. max_entries bounds memory: a ticket arriving when that
    many unexpired tickets were already accepted is refused (503).
    """

    def __init__(self, max_entries=100000):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._expiry = {}
        self._heap = []

    def __len__(self):
        return len(self._expiry)

    def _purge(self, now):
        while self._heap and self._heap[0][0] < now:
            expires, nonce = heapq.heappop(self._heap)
            if self._expiry.get(nonce) == expires:
                del self._expiry[nonce]

    def remember(self, nonce, expires, now=None):
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now)
            if nonce in self._expiry:
                raise TicketMismatch('ticket was already used')
            if len(self._expiry) >= self.max_entries:
                raise ReplayCacheFull('too many tickets in use; try again')
            self._expiry[nonce] = expires
            heapq.heappush(self._heap, (expires, nonce))


def load_private_key(path):
    """zun-vk's Ed25519 signing key from a PEM file (PKCS#8)."""
    with open(path, 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError('%s is not an Ed25519 private key' % path)
    return key


def load_public_key(path):
    """The Ed25519 public key host agents verify tickets with (PEM)."""
    with open(path, 'rb') as f:
        key = serialization.load_pem_public_key(f.read())
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError('%s is not an Ed25519 public key' % path)
    return key
