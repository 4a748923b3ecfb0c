"""Linear interpolation on an increasing grid, flat outside it: the one bracket search that
curves, key-rate weights and scenario shifts share."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def bracket(xs, x):
    """``(lo, hi, frac)`` with ``xs[lo] <= x <= xs[hi]``, ``hi = lo + 1`` and ``frac`` the
    position of x between them (0 at ``xs[lo]``, 1 at ``xs[hi]``); outside the grid
    ``lo == hi`` is the nearest end and ``frac == 0``, so the value there is flat."""
    n = len(xs)
    if x <= xs[0]:
        return 0, 0, 0.0
    if x >= xs[n - 1]:
        return n - 1, n - 1, 0.0
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo, hi, (x - xs[lo]) / (xs[hi] - xs[lo])


@njit(cache=True)
def interp_flat(xs, ys, x):
    """Linear interpolation of ``ys`` over increasing ``xs`` at ``x``, flat outside."""
    lo, hi, frac = bracket(xs, x)
    return ys[lo] + frac * (ys[hi] - ys[lo])
