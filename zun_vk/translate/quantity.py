"""Exact parsing of Kubernetes resource quantities.

The grammar is the one of ``k8s.io/apimachinery/pkg/api/resource``::

    quantity  ::= [+-] number suffix
    number    ::= digits | digits '.' digits | digits '.' | '.' digits
    suffix    ::= binarySI | decimalSI | ('e' | 'E') [+-] digits
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI ::= n | u | m | '' | k | M | G | T | P | E

Values are kept as :class:`fractions.Fraction`, so '100m' is exactly 1/10
and rounding happens once, where the caller asks for it.
"""

import fractions
import math
import re

_QUANTITY = re.compile(
    r'(?P<sign>[+-]?)'
    r'(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)'
    r'(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+|)')

_BINARY = {'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40,
           'Pi': 2 ** 50, 'Ei': 2 ** 60}
_DECIMAL = {'n': -9, 'u': -6, 'm': -3, '': 0, 'k': 3, 'M': 6, 'G': 9,
            'T': 12, 'P': 15, 'E': 18}
# Far beyond any real resource amount; keeps '1e999999999' from making a
# number with a billion digits.
_MAX_EXPONENT = 64
MIB = 2 ** 20


def parse_quantity(value):
    """Return the exact value of a Kubernetes quantity as a Fraction.

    Accepts the string form the API returns, and ints (the API client may
    hand over plain numbers). Raises ValueError naming the bad value.
    """
    if isinstance(value, bool):
        raise ValueError('invalid quantity %r: not a number' % (value,))
    if isinstance(value, int):
        return fractions.Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError('invalid quantity %r: not finite' % (value,))
        return fractions.Fraction(repr(value))
    if not isinstance(value, str):
        raise ValueError('invalid quantity %r: expected a string such as '
                         "'100m', '0.5', '128Mi' or '1G'" % (value,))
    match = _QUANTITY.fullmatch(value)
    if not match:
        raise ValueError(
            "invalid quantity %r: expected a number with an optional "
            "suffix (m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an "
            "exponent such as e3)" % value)
    number = fractions.Fraction(match.group('number'))
    if match.group('sign') == '-':
        number = -number
    suffix = match.group('suffix')
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        exponent = _DECIMAL[suffix]
    else:
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            raise ValueError('invalid quantity %r: exponent out of range'
                             % value)
    return number * fractions.Fraction(10) ** exponent


def _non_negative(value):
    amount = parse_quantity(value)
    if amount < 0:
        raise ValueError('invalid quantity %r: must not be negative'
                         % (value,))
    return amount


def cpu_cores(value):
    """CPU quantity ('100m', '0.5', '2') as a float number of cores."""
    return float(_non_negative(value))


def memory_mib(value):
    """Memory quantity in bytes ('128Mi', '1G', '1e9') as whole MiB.

    Rounds up, so the container never gets less than it asked for, and
    never returns 0 (a zero limit would mean "unlimited" to the engine).
    """
    amount = _non_negative(value)
    return max(1, math.ceil(amount / MIB))
