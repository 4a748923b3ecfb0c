"""Slow, obviously-correct references for the vectorized code and the numba kernels.

Plain Python over ``datetime.date`` and floats: no numpy, no numba, one bond at a time, every
rule written out the way the conventions state it. The tests compare the package against these
on hypothesis inputs.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# --- calendar ------------------------------------------------------------------------------


def is_month_end(d: dt.date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def add_months(d: dt.date, months: int, end_of_month: bool = False) -> dt.date:
    """``d`` moved by ``months`` calendar months; the day is clamped to the month's length,
    and with ``end_of_month`` the result is the last day of its month."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, last if end_of_month else min(d.day, last))


def coupon_dates(
    maturity: dt.date, frequency: int, after: dt.date
) -> tuple[dt.date, list[dt.date]]:
    """Regular coupon dates rolled backward from ``maturity`` (each computed from the maturity,
    month-end maturities keep every date on a month end): the last one on or before ``after``,
    and the ones strictly after it, in chronological order."""
    step = 12 // frequency
    eom = is_month_end(maturity)
    live: list[dt.date] = []
    k = 0
    while True:
        d = add_months(maturity, -k * step, eom)
        if d <= after:
            return d, live[::-1]
        live.append(d)
        k += 1


# --- day counts ------------------------------------------------------------------------------


def _is_last_of_february(d: dt.date) -> bool:
    return d.month == 2 and is_month_end(d)


def days_30_360_us(d1: dt.date, d2: dt.date) -> int:
    """30/360 US (SIFMA bond basis), the rules in order:
    1. if d1 and d2 are both the last day of February, D2 = 30;
    2. if d1 is the last day of February, D1 = 30;
    3. if D2 is 31 and D1 is 30 or 31, D2 = 30;
    4. if D1 is 31, D1 = 30."""
    D1, D2 = d1.day, d2.day
    if _is_last_of_february(d1) and _is_last_of_february(d2):
        D2 = 30
    if _is_last_of_february(d1):
        D1 = 30
    if D2 == 31 and D1 >= 30:
        D2 = 30
    if D1 == 31:
        D1 = 30
    return 360 * (d2.year - d1.year) + 30 * (d2.month - d1.month) + (D2 - D1)


def days_30e_360(d1: dt.date, d2: dt.date) -> int:
    """30E/360 (Eurobond basis): a 31st counts as the 30th, at either end."""
    D1, D2 = min(d1.day, 30), min(d2.day, 30)
    return 360 * (d2.year - d1.year) + 30 * (d2.month - d1.month) + (D2 - D1)


def year_fraction(
    day_count: str,
    d1: dt.date,
    d2: dt.date,
    ref_start: dt.date,
    ref_end: dt.date,
    frequency: int,
) -> float:
    """Year fraction from d1 to d2. ``[ref_start, ref_end]`` is the regular coupon period
    containing them, used by ACT/ACT-ICMA: actual days over the period's actual days, times the
    period's length in years (months / 12)."""
    days = (d2 - d1).days
    if day_count == "ACT/ACT-ICMA":
        return (12 // frequency) / 12 * days / (ref_end - ref_start).days
    if day_count == "ACT/365F":
        return days / 365
    if day_count == "ACT/360":
        return days / 360
    if day_count == "30/360":
        return days_30_360_us(d1, d2) / 360
    if day_count == "30E/360":
        return days_30e_360(d1, d2) / 360
    raise ValueError(day_count)


# --- cashflows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    pay: dt.date
    time: float  # ACT/365F years from the valuation date
    amount: float  # per 100 face
    yield_time: float  # QuantLib's stepwise time in the bond's day count


@dataclass(frozen=True)
class Bond:
    flows: list[Flow]
    accrued: float
    period: tuple[dt.date, dt.date]  # the live coupon period


def cashflows(
    valuation: dt.date, maturity: dt.date, coupon_pct: float, frequency: int, day_count: str
) -> Bond:
    """Live cashflows per 100 face: every coupon date strictly after ``valuation``; a coupon
    pays coupon% x the year fraction of its period; the last flow adds the redemption."""
    start, dates = coupon_dates(maturity, frequency, valuation)
    first_end = dates[0]
    accrued_fraction = year_fraction(day_count, start, valuation, start, first_end, frequency)
    flows = []
    previous = start
    t = 0.0
    for k, pay in enumerate(dates):
        fraction = year_fraction(day_count, previous, pay, previous, pay, frequency)
        amount = coupon_pct * fraction
        if pay == maturity:
            amount += 100.0
        # Yield time: the first period counts from the valuation date as the whole period less
        # its accrued part; later periods count whole.
        t += fraction - accrued_fraction if k == 0 else fraction
        flows.append(Flow(pay, (pay - valuation).days / 365, amount, t))
        previous = pay
    return Bond(flows, coupon_pct * accrued_fraction, (start, first_end))


# --- curve -----------------------------------------------------------------------------------


def interpolate(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    """Linear between nodes, flat before the first and after the last."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            w = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
            return ys[i - 1] + w * (ys[i] - ys[i - 1])
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class CurveRisk:
    pv: float
    duration: float
    convexity: float
    key_rate: list[float]


def key_rate_weight(key_times: Sequence[float], k: int, t: float) -> float:
    """Triangular weight of key tenor k at time t: 1 at the key, 0 at its neighbours, and flat
    (1) before the first key and after the last."""
    if t <= key_times[0]:
        return 1.0 if k == 0 else 0.0
    if t >= key_times[-1]:
        return 1.0 if k == len(key_times) - 1 else 0.0
    indicator = [0.0] * len(key_times)
    indicator[k] = 1.0
    return interpolate(key_times, indicator, t)


def curve_risk(
    flows: Sequence[tuple[float, float]],
    curve_times: Sequence[float],
    curve_rates: Sequence[float],
    spread: float,
    key_times: Sequence[float],
) -> CurveRisk:
    """PV of (time, amount) flows at DF = exp(-(z(t)+spread) t), and its sensitivities to
    parallel and key-rate zero shifts: D = sum t CF DF / PV, C = sum t^2 CF DF / PV,
    KRD_k = sum w_k(t) t CF DF / PV."""
    pv = d = c = 0.0
    krd = [0.0] * len(key_times)
    for t, amount in flows:
        v = amount * math.exp(-(interpolate(curve_times, curve_rates, t) + spread) * t)
        pv += v
        d += t * v
        c += t * t * v
        for k in range(len(key_times)):
            krd[k] += key_rate_weight(key_times, k, t) * t * v
    return CurveRisk(pv, d / pv, c / pv, [x / pv for x in krd])


# --- yields ----------------------------------------------------------------------------------


def yield_price(flows: Sequence[tuple[float, float]], y: float, frequency: int) -> float:
    """Dirty price of (yield time, amount) flows at yield y compounded ``frequency`` a year."""
    return sum(a * (1 + y / frequency) ** (-frequency * t) for t, a in flows)


def bisect(fn: Callable[[float], float], lo: float, hi: float, tol: float = 1e-15) -> float:
    """Root of a function with fn(lo) > 0 > fn(hi) (or the reverse), by bisection."""
    f_lo = fn(lo)
    if (f_lo > 0) == (fn(hi) > 0):
        raise ValueError(f"bisect: [{lo}, {hi}] does not bracket a root")
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        f_mid = fn(mid)
        if f_mid == 0 or hi - lo <= tol * max(1.0, abs(mid)):
            return mid
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def solve_yield(
    flows: Sequence[tuple[float, float]],
    price: float,
    frequency: int,
    lo: float = -0.5,
    hi: float = 1.0,
) -> float:
    """The yield reproducing ``price``, by bisection over [lo, hi] (-50 % to 100 %)."""
    return bisect(lambda y: yield_price(flows, y, frequency) - price, lo, hi)


def yield_risk(
    flows: Sequence[tuple[float, float]], y: float, frequency: int
) -> tuple[float, float, float]:
    """(modified duration, Macaulay duration, convexity) at yield y, from the closed-form
    derivatives of P(y) = sum a (1 + y/f)^(-f t):
    dP/dy = -sum t a (1+y/f)^(-f t - 1), d2P/dy2 = sum t (t + 1/f) a (1+y/f)^(-f t - 2)."""
    base = 1 + y / frequency
    p = sum(a * base ** (-frequency * t) for t, a in flows)
    dp = -sum(t * a * base ** (-frequency * t - 1) for t, a in flows)
    d2p = sum(t * (t + 1 / frequency) * a * base ** (-frequency * t - 2) for t, a in flows)
    modified = -dp / p
    return modified, modified * base, d2p / p


def curve_price(
    flows: Sequence[tuple[float, float]],
    curve_times: Sequence[float],
    curve_rates: Sequence[float],
    spread: float,
) -> float:
    return curve_risk(flows, curve_times, curve_rates, spread, [1.0]).pv


def solve_spread(
    flows: Sequence[tuple[float, float]],
    curve_times: Sequence[float],
    curve_rates: Sequence[float],
    price: float,
) -> float:
    """The zero spread reproducing ``price``, by bisection over (-1, 1)."""
    return bisect(lambda s: curve_price(flows, curve_times, curve_rates, s) - price, -1.0, 1.0)
