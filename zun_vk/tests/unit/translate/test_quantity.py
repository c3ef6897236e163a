from fractions import Fraction

import pytest

from zun_vk.translate import quantity


@pytest.mark.parametrize('text, expected', [
    ('0', Fraction(0)),
    ('1', Fraction(1)),
    ('0.1', Fraction(1, 10)),
    ('.5', Fraction(1, 2)),
    ('5.', Fraction(5)),
    ('+2', Fraction(2)),
    ('-2', Fraction(-2)),
    ('100m', Fraction(1, 10)),
    ('1m', Fraction(1, 1000)),
    ('250u', Fraction(1, 4000)),
    ('5n', Fraction(5, 10 ** 9)),
    ('512k', Fraction(512000)),
    ('1M', Fraction(10 ** 6)),
    ('1G', Fraction(10 ** 9)),
    ('2T', Fraction(2 * 10 ** 12)),
    ('1P', Fraction(10 ** 15)),
    ('1E', Fraction(10 ** 18)),
    ('1Ki', Fraction(1024)),
    ('128Mi', Fraction(128 * 2 ** 20)),
    ('1.5Gi', Fraction(3 * 2 ** 29)),
    ('1Ti', Fraction(2 ** 40)),
    ('1Pi', Fraction(2 ** 50)),
    ('1Ei', Fraction(2 ** 60)),
    ('1e3', Fraction(1000)),
    ('1E3', Fraction(1000)),
    ('1e+3', Fraction(1000)),
    ('1e-3', Fraction(1, 1000)),
    ('1.5e2', Fraction(150)),
    (3, Fraction(3)),
    (0.25, Fraction(1, 4)),
])
def test_parse_quantity(text, expected):
    assert quantity.parse_quantity(text) == expected


@pytest.mark.parametrize('text', [
    '', ' 1', '1 ', '1\n', '.', 'm', 'Mi', '1.5.5', '1mi', '1KI', '1K',
    '1b', '1e', '1e1.5', '1e65', '1e-65', '--1', '0x10', 'one', '1Mi ',
    '١٢', '1_000', None, True, [], float('inf'), float('nan'),
    'inf', 'Infinity', '1e999999999',
])
def test_parse_quantity_rejects(text):
    with pytest.raises(ValueError) as exc:
        quantity.parse_quantity(text)
    assert repr(text) in str(exc.value)


def test_parse_quantity_stays_exact_past_28_digits():
    # Decimal's default precision would round this to 1.5Gi.
    text = '1.5000000000000000000000000000000001Gi'
    assert quantity.parse_quantity(text) == (
        Fraction('1.5000000000000000000000000000000001') * 2 ** 30)
    assert quantity.memory_mib('1048.576000000000000000000000000001k') == 2


@pytest.mark.parametrize('text, cores', [
    ('100m', 0.1),
    ('0.1', 0.1),
    ('0.5', 0.5),
    ('2', 2.0),
    ('1500m', 1.5),
    ('333m', 0.333),
    ('1e-1', 0.1),
    ('0', 0.0),
])
def test_cpu_cores(text, cores):
    assert quantity.cpu_cores(text) == cores


@pytest.mark.parametrize('text, mib', [
    ('128Mi', 128),
    ('1Gi', 1024),
    ('1.5Gi', 1536),
    ('1G', 954),
    ('1e9', 954),
    ('512k', 1),
    ('1', 1),
    ('0', 1),
    ('1048576', 1),
    ('1048577', 2),
    ('129M', 124),
    ('64Mi', 64),
    ('1000m', 1),
])
def test_memory_mib_rounds_up_never_zero(text, mib):
    assert quantity.memory_mib(text) == mib


@pytest.mark.parametrize('func', [quantity.cpu_cores, quantity.memory_mib])
def test_negative_rejected(func):
    with pytest.raises(ValueError, match="'-1': must not be negative"):
        func('-1')
