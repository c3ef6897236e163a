"""Times as Kubernetes, Zun and the container engine write them."""

import datetime

import pytest

from zun_vk import timestamps

UTC = datetime.timezone.utc
ZERO = '0001-01-01T00:00:00Z'


@pytest.mark.parametrize('value, text', [
    ('2026-11-28T01:02:03Z', '2026-11-28T01:02:03Z'),
    ('2026-11-28T01:02:03.000000', '2026-11-28T01:02:03Z'),
    ('2026-11-28 01:02:03', '2026-11-28T01:02:03Z'),
    ('2026-11-28T01:02:03+00:00', '2026-11-28T01:02:03Z'),
    ('2026-11-28T01:02:03.123456+00:00', '2026-11-28T01:02:03Z'),
    ('2026-11-28T03:02:03+02:00', '2026-11-28T01:02:03Z'),
    ('2026-11-27T23:32:03-0130', '2026-11-28T01:02:03Z'),
    (datetime.datetime(2026, 11, 28, 1, 2, 3), '2026-11-28T01:02:03Z'),
    (datetime.datetime(2026, 11, 28, 2, 2, 3, tzinfo=datetime.timezone(
        datetime.timedelta(hours=1))), '2026-11-28T01:02:03Z'),
    ('yesterday', None),
    ('2026-13-40T01:02:03Z', None),
    ('', None),
    (None, None),
])
def test_rfc3339(value, text):
    assert timestamps.rfc3339(value) == text


def test_parse_reads_text_to_the_second_and_keeps_datetimes():
    # Zun's created_at and updated_at are compared to the second.
    assert timestamps.parse(' 2026-11-28T01:02:03.999999Z ') == \
        datetime.datetime(2026, 11, 28, 1, 2, 3, tzinfo=UTC)
    moment = datetime.datetime(2026, 11, 28, 1, 2, 3, 500000)
    assert timestamps.parse(moment) == moment.replace(tzinfo=UTC)


def test_micro_time_and_utcnow():
    assert timestamps.micro_time(
        datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == \
        '2026-01-02T03:04:05.000006Z'
    now = timestamps.utcnow()
    assert now.utcoffset() == datetime.timedelta(0)
    assert abs(now - datetime.datetime.now(UTC)) < datetime.timedelta(
        minutes=1)


@pytest.mark.parametrize('text,expected', [
    ('2025-03-01T11:55:00.123456789Z', datetime.datetime(2025, 3, 1, 11, 55)),
    ('2025-03-01T12:55:00+01:00', datetime.datetime(2025, 3, 1, 11, 55)),
    ('2025-03-01T06:55:00.5-0500', datetime.datetime(2025, 3, 1, 11, 55)),
    ('2025-03-01T11:55:00', datetime.datetime(2025, 3, 1, 11, 55)),
    (ZERO, None),
    ('', None),
    (None, None),
    ('yesterday', None),
])
def test_engine_datetime(text, expected):
    assert timestamps.engine_datetime(text) == expected


@pytest.mark.parametrize('text,expected', [
    ('2026-12-01T21:42:47.042765342Z', 1796161367.042765342),
    ('2026-12-01T21:42:47Z', 1796161367.0),
    ('2026-12-01T22:42:47.5+01:00', 1796161367.5),
    ('0001-01-01T00:00:00Z', None),
    ('', None),
    (None, None),
    ('yesterday', None),
])
def test_engine_seconds(text, expected):
    assert timestamps.engine_seconds(text) == pytest.approx(expected) \
        if expected else timestamps.engine_seconds(text) is None


def test_engine_seconds_keeps_what_is_below_a_microsecond():
    # iso8601 stops at microseconds: 900 ns would read as nothing.
    whole = timestamps.engine_seconds('2026-12-01T21:42:47Z')
    assert timestamps.engine_seconds('2026-12-01T21:42:47.0000009Z') > whole
