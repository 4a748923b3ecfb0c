"""exp over a short array in a loop the compiler vectorizes.

numba calls libm's scalar ``exp`` once per element (this machine's numba has no SVML), about
6 ns each, and the scenario kernels need one per (node, scenario): 10k scenarios of a book
paying on 16k distinct days are 1.6e8 of them. Written with plain arithmetic instead, the
loop runs 4 or 8 lanes per instruction.

Method (as fdlibm's ``exp``, minus its table): x = k ln2 + r with k the integer nearest to
x / ln2 and |r| <= ln2 / 2 (ln2 split into a high part with trailing zero bits, so k x hi is
exact, and a low part); exp(r) by its Taylor polynomial to degree 13 (the next term is below
4e-18 relative) in Horner form; 2^k built from its exponent bits. Within 1 ulp of the correctly
rounded exp (tested against ``math.exp``), and a function of x alone: the same input gives the
same bits in any lane, loop position or thread.

Inputs outside [-708, 709] (and NaN) get libm's ``exp`` in a second loop: the scenario kernels
never produce them (shifts are at most 100 % and times at most about 100 years), but a
function that clamped would be silently wrong for someone else.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_LO = -708.0
_HI = 709.0
#: 1.5 x 2^52: adding it and subtracting it again rounds a double to the nearest integer.
_ROUND = 6755399441055744.0
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: k x _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_C2 = 1.0 / 2.0
_C3 = 1.0 / 6.0
_C4 = 1.0 / 24.0
_C5 = 1.0 / 120.0
_C6 = 1.0 / 720.0
_C7 = 1.0 / 5040.0
_C8 = 1.0 / 40320.0
_C9 = 1.0 / 362880.0
_C10 = 1.0 / 3628800.0
_C11 = 1.0 / 39916800.0
_C12 = 1.0 / 479001600.0
_C13 = 1.0 / 6227020800.0
_BIAS = 1023


@njit(cache=True, inline="always")
def exp_into(x, out, bits, n):
    """out[i] = exp(x[i]) for i < n; ``bits`` is int64 scratch of at least n elements, and
    ``out`` must not be ``x``."""
    outside = False
    for i in range(n):
        outside |= not (_LO <= x[i] <= _HI)
        xi = min(max(x[i], _LO), _HI)
        kf = (xi * _INV_LN2 + _ROUND) - _ROUND
        r = (xi - kf * _LN2_HI) - kf * _LN2_LO
        p = _C13
        p = p * r + _C12
        p = p * r + _C11
        p = p * r + _C10
        p = p * r + _C9
        p = p * r + _C8
        p = p * r + _C7
        p = p * r + _C6
        p = p * r + _C5
        p = p * r + _C4
        p = p * r + _C3
        p = p * r + _C2
        p = p * r + 1.0
        bits[i] = (np.int64(kf) + _BIAS) << 52
        out[i] = p * r + 1.0
    scale = bits.view(np.float64)
    for i in range(n):
        out[i] *= scale[i]
    if outside:
        _libm(x, out, n)


@njit(cache=True)
def _libm(x, out, n):
    for i in range(n):
        if not (_LO <= x[i] <= _HI):
            out[i] = np.exp(x[i])


@njit(cache=True)
def exp_array(x, out):
    """``exp_into`` over whole 1-D arrays (for tests and one-off use)."""
    bits = np.empty(len(x), dtype=np.int64)
    exp_into(x, out, bits, len(x))
