"""Tickets: only the request they were signed for, once, in time."""

import base64
import json

from cryptography.hazmat.primitives.asymmetric import ed25519
import pytest

from zun_vk.hostlink import tickets

KEY = ed25519.Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key()
OTHER_KEY = ed25519.Ed25519PrivateKey.generate()
NOW = 1700000000
CAPSULE = '11111111-2222-3333-4444-555555555555'
CONTAINER = '66666666-7777-8888-9999-000000000000'

EXEC = dict(op='exec', host='compute1', capsule=CAPSULE,
            container=CONTAINER, command=['sh', '-c', 'exit 7'])
PORT = dict(op='portforward', host='compute1', capsule=CAPSULE, port=8080)


def request(base, **changes):
    merged = {'container': None, 'port': None, 'command': None}
    merged.update(base)
    merged.update(changes)
    return merged


def signed(base=EXEC, key=KEY, ttl=30, now=NOW):
    args = dict(base)
    return tickets.sign(key, args.pop('op'), args.pop('host'),
                        args.pop('capsule'), ttl=ttl, now=now, **args)


def check(ticket, base=EXEC, now=NOW + 1, cache=None, **changes):
    return tickets.verify(PUBLIC, ticket, now=now, replay_cache=cache,
                          **request(base, **changes))


def test_valid_ticket_gives_its_claims():
    claims = check(signed())
    assert claims['op'] == 'exec'
    assert claims['host'] == 'compute1'
    assert claims['capsule'] == CAPSULE
    assert claims['container'] == CONTAINER
    assert claims['cmd'] == tickets.command_digest(['sh', '-c', 'exit 7'])
    assert claims['exp'] - claims['iat'] == 30


def test_format_is_versioned_text():
    ticket = signed()
    version, claims, signature = ticket.split('.')
    assert version == 'zvk1'
    body = json.loads(base64.urlsafe_b64decode(claims + '=' * (-len(
        claims) % 4)))
    assert body['v'] == 1
    assert len(base64.urlsafe_b64decode(signature + '==')) == 64


def _tamper(ticket):
    version, claims, signature = ticket.split('.')
    body = json.loads(base64.urlsafe_b64decode(claims + '=' * (-len(
        claims) % 4)))
    body['host'] = 'compute2'
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(
        b'=').decode()
    return '.'.join([version, forged, signature])


@pytest.mark.parametrize('name,ticket,kwargs,error,reason', [
    ('missing', '', {}, tickets.InvalidTicket, 'no ticket'),
    ('garbage', 'hello', {}, tickets.InvalidTicket, 'format'),
    ('future version', 'zvk9.' + signed().split('.', 1)[1], {},
     tickets.InvalidTicket, 'version'),
    ('tampered', _tamper(signed()), {'host': 'compute2'},
     tickets.InvalidTicket, 'signature'),
    ('wrong key', signed(key=OTHER_KEY), {}, tickets.InvalidTicket,
     'signature'),
    ('bad base64', 'zvk1.!!!.???', {}, tickets.InvalidTicket, 'base64'),
    ('expired', signed(), {'now': NOW + 30 + 30 + 1},
     tickets.InvalidTicket, 'expired'),
    ('not yet valid', signed(), {'now': NOW - 31},
     tickets.InvalidTicket, 'not valid for another'),
    ('wrong op', signed(), {'op': 'attach', 'command': None},
     tickets.TicketMismatch, 'operation exec, not attach'),
    ('wrong host', signed(), {'host': 'compute2'},
     tickets.TicketMismatch, 'host compute1, not compute2'),
    ('wrong capsule', signed(), {'capsule': CONTAINER},
     tickets.TicketMismatch, 'capsule'),
    ('wrong container', signed(), {'container': CAPSULE},
     tickets.TicketMismatch, 'container'),
    ('wrong command', signed(), {'command': ['sh']},
     tickets.TicketMismatch, 'another command'),
    ('no command', signed(), {'command': None},
     tickets.TicketMismatch, 'another command'),
    ('wrong port', signed(PORT), {'base': PORT, 'port': 22},
     tickets.TicketMismatch, 'port 8080, not 22'),
])
def test_refused(name, ticket, kwargs, error, reason):
    base = kwargs.pop('base', EXEC)
    now = kwargs.pop('now', NOW + 1)
    with pytest.raises(error) as info:
        check(ticket, base, now=now, **kwargs)
    assert reason in info.value.reason
    assert info.value.status == (401 if error is tickets.InvalidTicket
                                 else 403)


def test_clock_skew_is_allowed_on_both_ends():
    ticket = signed()
    check(ticket, now=NOW - 29)
    check(ticket, now=NOW + 30 + 29)


def test_replayed_ticket_is_refused():
    cache = tickets.ReplayCache()
    ticket = signed()
    check(ticket, cache=cache)
    with pytest.raises(tickets.TicketMismatch) as info:
        check(ticket, cache=cache)
    assert 'already used' in info.value.reason


def test_mismatch_does_not_use_up_the_ticket():
    cache = tickets.ReplayCache()
    ticket = signed()
    with pytest.raises(tickets.TicketMismatch):
        check(ticket, cache=cache, host='compute2')
    check(ticket, cache=cache)


def test_replay_cache_forgets_expired_nonces():
    cache = tickets.ReplayCache()
    cache.remember('a', expires=100, now=50)
    cache.remember('b', expires=200, now=50)
    cache.remember('c', expires=300, now=150)
    assert len(cache) == 2
    cache.remember('a', expires=400, now=160)


def test_full_replay_cache_refuses_with_503():
    cache = tickets.ReplayCache(max_entries=1)
    cache.remember('a', expires=100, now=50)
    with pytest.raises(tickets.ReplayCacheFull) as info:
        cache.remember('b', expires=100, now=50)
    assert info.value.status == 503


def test_lifetime_beyond_maximum_is_refused_even_when_signed():
    with pytest.raises(ValueError):
        signed(ttl=tickets.MAX_TTL + 1)


def test_nonces_differ():
    assert signed() != signed()


def test_stats_ticket_names_no_capsule():
    ticket = tickets.sign(KEY, 'stats', 'compute1', None, now=NOW)
    tickets.verify(PUBLIC, ticket, op='stats', host='compute1', now=NOW)
    with pytest.raises(tickets.TicketMismatch):
        tickets.verify(PUBLIC, ticket, op='stats', host='compute1',
                       capsule=CAPSULE, now=NOW)


def test_keys_load_from_pem(tmp_path):
    from zun_vk.tests import pki
    files = pki.Files(tmp_path)
    private = tickets.load_private_key(files.ticket_private)
    public = tickets.load_public_key(files.ticket_public)
    ticket = tickets.sign(private, 'stats', 'h', None)
    tickets.verify(public, ticket, op='stats', host='h')
    with pytest.raises(ValueError):
        tickets.load_public_key(files.ca)
    with pytest.raises(ValueError):
        tickets.load_private_key(files.client_key)


BODY = b'{"files":[]}'
FILES = dict(op='files', host='compute1', capsule=CAPSULE, volume='cfg',
             body=BODY)


@pytest.mark.parametrize('changes,reason', [
    ({'volume': 'other'}, 'volume cfg, not other'),
    ({'body': b'{"files":[{}]}'}, 'another request body'),
    ({'body': None}, 'another request body'),
    ({'capsule': CONTAINER}, 'capsule'),
    ({'op': 'lookup', 'volume': None, 'body': None}, 'operation'),
])
def test_files_ticket_names_volume_and_body(changes, reason):
    ticket = signed(FILES)
    assert check(ticket, FILES)['body'] == tickets.body_digest(BODY)
    with pytest.raises(tickets.TicketMismatch) as info:
        check(ticket, FILES, **changes)
    assert reason in info.value.reason


def test_tickets_of_other_operations_write_no_files():
    lookup = signed(dict(op='lookup', host='compute1', capsule=CAPSULE))
    with pytest.raises(tickets.TicketMismatch):
        check(lookup, FILES, op='lookup')
    # ... and the tickets made before files writes existed still work.
    check(lookup, dict(op='lookup', host='compute1', capsule=CAPSULE))


def test_body_digest_is_sha256_hex():
    assert tickets.body_digest(b'') == (
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
