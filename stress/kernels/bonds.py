"""Bond kernels over CSR cashflow arrays: key-rate sums, quotes on settlement (dirty price,
yield and yield risk) and the spread solvers."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from stress.kernels.interp import bracket, interp_flat

_MAX_ITER = 100


@njit(cache=True)
def key_rate_sums(offsets, time, weight, key_t, out):
    """Per row i: out[i, k] = sum over its entries j (``offsets[i]:offsets[i+1]``) of
    weight[j] w_k(time[j]), w_k the triangular key-rate function of key tenor k (flat beyond
    the first and last key): the weights of a time add up to 1, so a row's sums add up to the
    sum of its weights. Entries are added in order."""
    for i in range(len(offsets) - 1):
        for k in range(len(key_t)):
            out[i, k] = 0.0
        for j in range(offsets[i], offsets[i + 1]):
            lo, hi, frac = bracket(key_t, time[j])
            if lo == hi:
                out[i, lo] += weight[j]
            else:
                out[i, lo] += (1.0 - frac) * weight[j]
                out[i, hi] += frac * weight[j]


@njit(cache=True)
def solve_spread_settled(
    offsets,
    time,
    amount,
    curve,
    curve_off,
    curve_t,
    curve_z,
    settle_t,
    target,
    out_spread,
    out_ok,
):
    """Constant zero spread s with sum CF exp(-(z(t)+s) t) = target exp(-(z(ts)+s) ts): the
    cashflows' value on the settlement date (``settle_t`` years away) is the dirty price
    ``target`` per 100 (QuantLib's zSpread with a settlement date).

    Safeguarded Newton: the settlement value falls monotonically in s, so a bracket is kept and
    bisection takes over whenever a Newton step leaves it. ``out_ok`` says whether it converged.
    """
    for i in range(len(offsets) - 1):
        c = curve[i]
        xs = curve_t[curve_off[c] : curve_off[c + 1]]
        zs = curve_z[curve_off[c] : curve_off[c + 1]]
        ts = settle_t[i]
        zs_settle = interp_flat(xs, zs, ts)
        lo = -1.0
        hi = 1.0
        s = 0.0
        ok = False
        for _ in range(_MAX_ITER):
            pay = target[i] * np.exp(-(zs_settle + s) * ts)
            f = -pay
            df = ts * pay
            for j in range(offsets[i], offsets[i + 1]):
                t = time[j]
                v = amount[j] * np.exp(-(interp_flat(xs, zs, t) + s) * t)
                f += v
                df -= t * v
            if f == 0.0:  # exact hit: keep s (the bracket update below would move it)
                ok = True
                break
            if f > 0.0:
                lo = s
            else:
                hi = s
            step = f / df if df != 0.0 else 0.0
            new = s - step
            if not (lo < new < hi) or df == 0.0:
                new = 0.5 * (lo + hi)
            if abs(new - s) <= 1e-15 + 1e-13 * abs(s):
                s = new
                # A root, not bisection squeezed against an edge of the bracket (no root).
                ok = abs(f) <= 1e-9 * abs(target[i]) + 1e-12
                break
            s = new
        out_spread[i] = s
        out_ok[i] = ok


@njit(cache=True)
def solve_spread(
    offsets,
    time,
    amount,
    curve,
    curve_off,
    curve_t,
    curve_z,
    target,
    out_spread,
    out_ok,
):
    """``solve_spread_settled`` with settlement on the valuation date: sum CF exp(-(z(t)+s) t)
    = target (dirty per 100)."""
    solve_spread_settled(offsets, time, amount, curve, curve_off, curve_t, curve_z,
                         np.zeros(len(offsets) - 1), target, out_spread, out_ok)


@njit(cache=True)
def settled_value(lo, hi, drop, time, amount, xs, zs, spread, ts):
    """The value on the settlement date (``ts`` years from the valuation date) of cashflow
    rows ``lo:hi``, the first less ``drop``, per 100 face: sum CF DF(t) / DF(ts) on the zero
    curve (xs, zs) plus ``spread`` (QuantLib's Bond.dirtyPrice()). NaN without rows."""
    if hi == lo:
        return np.nan
    pv = 0.0
    for j in range(lo, hi):
        t = time[j]
        a = amount[j] - drop if j == lo else amount[j]
        pv += a * np.exp(-(interp_flat(xs, zs, t) + spread) * t)
    return pv / np.exp(-(interp_flat(xs, zs, ts) + spread) * ts)


@njit(cache=True)
def yield_of(lo, hi, drop, yield_time, amount, frequency, target, guess):
    """``(y, ok)``: the yield y, compounded ``frequency`` times a year, with
    sum CF (1+y/f)^(-f T) = target over cashflow rows ``lo:hi`` (the first less ``drop``).

    ``yield_time`` is each cashflow's cumulative time in the bond's day count. Safeguarded
    Newton over y in (-f, 10) from ``guess``; ``ok`` says whether it converged.
    """
    f = float(frequency)
    y_lo = -f + 1e-9
    y_hi = 10.0
    y = guess
    step = y_hi - y_lo  # the step before last, for the safeguard below
    last = step
    for _ in range(_MAX_ITER):
        base = 1.0 + y / f
        g = -target
        dg = 0.0
        for j in range(lo, hi):
            a = amount[j] - drop if j == lo else amount[j]
            v = a * base ** (-f * yield_time[j])
            g += v
            dg -= yield_time[j] * v / base
        if g == 0.0:  # exact hit: keep y (the bracket update below would move it)
            return y, True
        if g > 0.0:
            y_lo = y
        else:
            y_hi = y
        new = y - g / dg if dg != 0.0 else 0.5 * (y_lo + y_hi)
        # Bisect when Newton leaves the bracket or does not halve the step before last:
        # from far on the steep side of a long zero coupon at a negative yield, Newton
        # creeps (about 1/(f T) of log(1 + y/f) a step) and ran out of iterations.
        if not (y_lo < new < y_hi) or abs(new - y) > 0.5 * abs(step):
            new = 0.5 * (y_lo + y_hi)
        step, last = last, new - y
        if abs(new - y) <= 1e-15 + 1e-13 * abs(y):
            # A root, not bisection squeezed against an edge of the bracket (no root, e.g.
            # a price independent of the yield when every yield time is 0).
            return new, abs(g) <= 1e-9 * abs(target) + 1e-12
        y = new
    return y, False


@njit(cache=True)
def yield_risk_of(lo, hi, drop, yield_time, amount, frequency, y):
    """``(modified duration, convexity)`` of cashflow rows ``lo:hi`` (the first less
    ``drop``) at yield y: -(1/P) dP/dy and (1/P) d2P/dy2 (QuantLib's BondFunctions
    definitions for compounded yields)."""
    f = float(frequency)
    base = 1.0 + y / f
    p = 0.0
    dp = 0.0
    d2p = 0.0
    for j in range(lo, hi):
        t = yield_time[j]
        b = (amount[j] - drop if j == lo else amount[j]) * base ** (-f * t)
        p += b
        dp -= t * b / base
        d2p += b * t * (f * t + 1.0) / (f * base * base)
    return -dp / p, d2p / p


@njit(cache=True)
def _quote_one(i, args):
    (offsets, unquoted, drop, time, yield_time, amount, curve, spread, curve_off, curve_t,
     curve_z, settle_t, frequency, guess, out_dirty, out_y, out_ok, out_mod, out_conv) = args
    lo = offsets[i] + unquoted[i]
    hi = offsets[i + 1]
    c = curve[i]
    xs = curve_t[curve_off[c] : curve_off[c + 1]]
    zs = curve_z[curve_off[c] : curve_off[c + 1]]
    dirty = settled_value(lo, hi, drop[i], time, amount, xs, zs, spread[i], settle_t[i])
    out_dirty[i] = dirty
    y, ok, mod, conv = np.nan, True, np.nan, np.nan
    if not np.isnan(dirty) and frequency[i] > 0:
        y, ok = yield_of(lo, hi, drop[i], yield_time, amount, frequency[i], dirty, guess)
        if not ok:
            y = np.nan
        mod, conv = yield_risk_of(lo, hi, drop[i], yield_time, amount, frequency[i], y)
    out_y[i] = y
    out_ok[i] = ok
    out_mod[i] = mod
    out_conv[i] = conv


@njit(cache=True, parallel=True)
def bond_quotes(args):
    """Per bond, quoted for settlement: the dirty price (``settled_value`` of the rows paid
    after settlement, the first less its ex-dividend drop), the yield from ``guess`` and its
    modified duration and convexity. NaN: every figure of a bond without rows paid after
    settlement, the yield figures of one of frequency 0 (FRNs, swaps) or whose yield did not
    converge; ``out_ok`` is False only for the last. ``args`` is the flat tuple: offsets,
    unquoted, drop, time, yield_time, amount, curve, spread, curve_off, curve_t, curve_z,
    settle_t, frequency, guess, and the outputs dirty, y, ok, mod, conv."""
    for i in prange(len(args[0]) - 1):
        _quote_one(i, args)


@njit(cache=True)
def bond_quotes_serial(args):
    """``bond_quotes`` without threads, for small books."""
    for i in range(len(args[0]) - 1):
        _quote_one(i, args)
