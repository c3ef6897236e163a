"""Kubernetes resource quantities, checked as the API server checks them.

kubernetes.utils.parse_quantity does the arithmetic. It is looser than
the API server (it takes ' 1', '1K', '1_000', 'inf', Unicode digits and
any exponent), rounds to 28 digits and names no value in its errors, so
text first passes the grammar of ``k8s.io/apimachinery/pkg/api/resource``::

    quantity  ::= [+-] number suffix
    number    ::= digits | digits '.' digits | digits '.' | '.' digits
    suffix    ::= binarySI | decimalSI | ('e' | 'E') [+-] digits
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI ::= n | u | m | '' | k | M | G | T | P | E

Values are kept as :class:`fractions.Fraction`, so '100m' is exactly 1/10
and rounding happens once, where the caller asks for it.
"""

import decimal
import fractions
import math
import re

from kubernetes import utils as kube_utils

_QUANTITY = re.compile(
    r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)'
    r'(?:[KMGTPE]i|[numkMGTPE]|[eE](?P<exponent>[+-]?[0-9]+)|)')

# Far beyond any real resource amount; keeps '1e999999999' from making a
# number with a billion digits.
_MAX_EXPONENT = 64
# Digits of the largest multiplier, 2**60 (Ei): with the text's own digits,
# the precision that keeps the client's Decimal product exact.
_MULTIPLIER_DIGITS = 19
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
    exponent = match.group('exponent')
    if exponent and abs(int(exponent)) > _MAX_EXPONENT:
        raise ValueError('invalid quantity %r: exponent out of range'
                         % value)
    with decimal.localcontext() as context:
        context.prec = len(value) + _MULTIPLIER_DIGITS
        return fractions.Fraction(kube_utils.parse_quantity(value))


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
