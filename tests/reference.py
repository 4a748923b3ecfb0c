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


def days_30_360_bond_basis(d1: dt.date, d2: dt.date) -> int:
    """30/360 ISDA bond basis (ISDA 2006 4.16(f)): D1 = 31 becomes 30; then D2 = 31 becomes
    30 when D1 is 30."""
    D1, D2 = d1.day, d2.day
    if D1 == 31:
        D1 = 30
    if D2 == 31 and D1 == 30:
        D2 = 30
    return 360 * (d2.year - d1.year) + 30 * (d2.month - d1.month) + (D2 - D1)


def days_30e_360_isda(d1: dt.date, d2: dt.date, termination: dt.date | None) -> int:
    """30E/360 ISDA (ISDA 2006 4.16(h)): the 31st and the last day of February are the 30th,
    except the last day of February when d2 is the termination date."""
    D1, D2 = min(d1.day, 30), min(d2.day, 30)
    if _is_last_of_february(d1):
        D1 = 30
    if d2 != termination and _is_last_of_february(d2):
        D2 = 30
    return 360 * (d2.year - d1.year) + 30 * (d2.month - d1.month) + (D2 - D1)


def act_act_isda(d1: dt.date, d2: dt.date) -> float:
    """Days in each calendar year over that year's length (366 in leap years)."""
    if d1 == d2:
        return 0.0
    if d1 > d2:
        return -act_act_isda(d2, d1)
    dib1 = 366.0 if calendar.isleap(d1.year) else 365.0
    dib2 = 366.0 if calendar.isleap(d2.year) else 365.0
    total = float(d2.year - d1.year - 1)
    total += (dt.date(d1.year + 1, 1, 1) - d1).days / dib1
    total += (d2 - dt.date(d2.year, 1, 1)).days / dib2
    return total


def no_leap_days(d1: dt.date, d2: dt.date) -> int:
    """Actual days from d1 to d2 less the 29 Februaries in (d1, d2] (in [d2, d1) negated)."""
    lo, hi, sign = (d1, d2, 1) if d1 <= d2 else (d2, d1, -1)
    leap_days = sum(1 for y in range(lo.year, hi.year + 1)
                    if calendar.isleap(y) and lo < dt.date(y, 2, 29) <= hi)
    return sign * ((hi - lo).days - leap_days)


def act_act_icma(d1: dt.date, d2: dt.date, ref_start: dt.date, ref_end: dt.date) -> float:
    """QuantLib's ActualActual(ISMA) without a schedule, written as QuantLib writes it
    (recursively): inside the reference period, period x days / period days; before it (a long
    first coupon), notional periods counted back; after it, whole periods counted forward.
    Where QuantLib refuses (d1 before and d2 after the reference period) the parts add up."""
    if d1 == d2:
        return 0.0
    if d2 < d1:
        return -act_act_icma(d2, d1, ref_start, ref_end)
    months = round(12 * (ref_end - ref_start).days / 365)  # lround: never a half here
    if months == 0:
        ref_start, ref_end, months = d1, add_months(d1, 12), 12
    period = months / 12.0
    if d2 <= ref_end:
        if d1 >= ref_start:
            return period * (d2 - d1).days / (ref_end - ref_start).days
        previous = add_months(ref_start, -months)
        if d2 > ref_start:
            return (act_act_icma(d1, ref_start, previous, ref_start)
                    + act_act_icma(ref_start, d2, ref_start, ref_end))
        return act_act_icma(d1, d2, previous, ref_start)
    total = act_act_icma(d1, ref_end, ref_start, ref_end)
    i = 0
    while True:
        start = add_months(ref_end, months * i)
        end = add_months(ref_end, months * (i + 1))
        if d2 < end:
            break
        total += period
        i += 1
    return total + act_act_icma(start, d2, start, end)


def year_fraction(
    day_count: str,
    d1: dt.date,
    d2: dt.date,
    ref_start: dt.date,
    ref_end: dt.date,
    frequency: int,
    termination: dt.date | None = None,
) -> float:
    """Year fraction from d1 to d2. ``[ref_start, ref_end]`` is the coupon's reference period
    (ACT/ACT-ICMA only), ``termination`` the bond's maturity (30E/360 ISDA only)."""
    days = (d2 - d1).days
    if day_count == "ACT/ACT-ICMA":
        return act_act_icma(d1, d2, ref_start, ref_end)
    if day_count == "ACT/365F":
        return days / 365
    if day_count == "ACT/360":
        return days / 360
    if day_count in ("30/360", "30/360 US"):
        return days_30_360_us(d1, d2) / 360
    if day_count == "30E/360":
        return days_30e_360(d1, d2) / 360
    if day_count == "30/360 ISDA":
        return days_30_360_bond_basis(d1, d2) / 360
    if day_count == "30E/360 ISDA":
        return days_30e_360_isda(d1, d2, termination) / 360
    if day_count == "ACT/ACT ISDA":
        return act_act_isda(d1, d2)
    if day_count == "NL/365":
        return no_leap_days(d1, d2) / 365
    raise ValueError(day_count)


# --- calendars -------------------------------------------------------------------------------

_HOLIDAY_SETS: dict[str, frozenset[dt.date]] = {}


def holiday_set(name: str) -> frozenset[dt.date]:
    """The calendar's holidays straight from the holidays package (1899-2200)."""
    if name not in _HOLIDAY_SETS:
        import holidays

        years = range(1899, 2201)
        source = {
            "US": lambda: holidays.financial_holidays("XSIF", years=years),
            "JP": lambda: holidays.Japan(years=years, categories=("bank", "public")),
            "UK": lambda: holidays.UnitedKingdom(subdiv="ENG", years=years),
            "TARGET": lambda: holidays.financial_holidays("XECB", years=years),
        }[name]
        _HOLIDAY_SETS[name] = frozenset(source())
    return _HOLIDAY_SETS[name]


def is_business_day(calendar_name: str, d: dt.date) -> bool:
    if calendar_name == "NONE":
        return True
    if d.weekday() >= 5:
        return False
    return calendar_name == "WEEKENDS" or d not in holiday_set(calendar_name)


def roll(d: dt.date, convention: str, calendar_name: str) -> dt.date:
    """A date rolled to a business day by the convention's rule."""
    one = dt.timedelta(days=1)

    def forward(x: dt.date) -> dt.date:
        while not is_business_day(calendar_name, x):
            x += one
        return x

    def backward(x: dt.date) -> dt.date:
        while not is_business_day(calendar_name, x):
            x -= one
        return x

    if convention == "UNADJUSTED":
        return d
    if convention in ("FOLLOWING", "MODIFIED FOLLOWING"):
        x = forward(d)
        return backward(d) if convention == "MODIFIED FOLLOWING" and x.month != d.month else x
    x = backward(d)
    return forward(d) if convention == "MODIFIED PRECEDING" and x.month != d.month else x


def business_days_after(d: dt.date, n: int, calendar_name: str) -> dt.date:
    """n business days after d (before it for n < 0); for n = 0, d rolled Following."""
    if n == 0:
        return roll(d, "FOLLOWING", calendar_name)
    step = dt.timedelta(days=1 if n > 0 else -1)
    for _ in range(abs(n)):
        d += step
        while not is_business_day(calendar_name, d):
            d += step
    return d


# --- cashflows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    pay: dt.date
    time: float  # ACT/365F years from the valuation date
    amount: float  # per 100 face
    yield_time: float  # QuantLib's stepwise time from settlement in the bond's day count
    quoted: bool = True  # paid after settlement (part of the bond's quotes)
    quoted_amount: float = 0.0  # the amount in the quotes (an ex-dividend coupon left out)


@dataclass(frozen=True)
class Bond:
    flows: list[Flow]
    accrued: float  # on the settlement date
    period: tuple[dt.date, dt.date]  # the first live coupon period
    settlement: dt.date = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Coupon:
    start: dt.date
    end: dt.date
    ref_start: dt.date
    ref_end: dt.date
    pay: dt.date
    ex_date: dt.date | None


def schedule(
    maturity: dt.date,
    frequency: int,
    issue: dt.date | None,
    first_coupon: dt.date | None,
    until: dt.date,
) -> list[tuple[dt.date, dt.date, dt.date, dt.date]]:
    """(accrual start, end, reference start, reference end) of every coupon ending after
    ``until`` - 1 year, chronological: the regular dates rolled back from maturity (a
    month-end maturity keeps every date on a month end) down to the first coupon date (given,
    or the first regular date after issue); the first period accrues from the issue date, its
    reference period one period back from its end (a month end stays one)."""
    step = 12 // frequency
    eom = is_month_end(maturity)
    ends: list[dt.date] = []
    k = 0
    while True:
        d = add_months(maturity, -k * step, eom)
        if issue is not None and (d <= issue or (first_coupon is not None and d < first_coupon)):
            break
        if issue is None and d < until - dt.timedelta(days=400):
            break
        ends.append(d)
        k += 1
    ends.reverse()
    out = []
    for i, end in enumerate(ends):
        if i == 0 and issue is not None:
            ref = add_months(end, -step, is_month_end(end))
            out.append((issue, end, ref, end))
        else:
            start = ends[i - 1] if i else add_months(maturity, -k * step, eom)
            out.append((start, end, start, end))
    return out


def cashflows(
    valuation: dt.date,
    maturity: dt.date,
    coupon_pct: float,
    frequency: int,
    day_count: str,
    *,
    issue: dt.date | None = None,
    first_coupon: dt.date | None = None,
    calendar_name: str = "NONE",
    convention: str = "UNADJUSTED",
    settlement_days: int = 0,
    ex_dividend_days: int = 0,
    adjusted_accrual: bool = False,
) -> Bond:
    """Live cashflows per 100 face, the way QuantLib's FixedRateBond and CashFlows see them:
    coupons paid strictly after ``valuation``, each paying coupon% x the year fraction of its
    unadjusted period (``adjusted_accrual``: of its period with both dates rolled, as a
    swap's legs, quoted on the valuation date itself) on its end date rolled by the
    convention; a coupon ex-dividend on the
    valuation date is not received; the last flow adds the redemption. Quotes are on the
    settlement date: flows paid after it, an ex-dividend coupon left out, accrued and the
    stepwise yield time from it."""
    settle = (valuation if adjusted_accrual
              else business_days_after(valuation, settlement_days, calendar_name))
    coupons = []
    for start, end, rs, re in schedule(maturity, frequency, issue, first_coupon, valuation):
        pay = roll(end, convention, calendar_name)
        if adjusted_accrual:
            start = rs = roll(start, convention, calendar_name)
            end = re = pay
        ex = (business_days_after(pay, -ex_dividend_days, calendar_name)
              if ex_dividend_days else None)
        coupons.append(Coupon(start, end, rs, re, pay, ex))
    live = [c for c in coupons if c.pay > valuation]

    term = roll(maturity, convention, calendar_name) if adjusted_accrual else maturity

    def yf(c: Coupon, d1: dt.date, d2: dt.date) -> float:
        return year_fraction(day_count, d1, d2, c.ref_start, c.ref_end, frequency, term)

    flows = []
    accrued = 0.0
    last = settle
    t = 0.0
    first_quoted = True
    for c in live:
        amount = coupon_pct * yf(c, c.start, c.end)
        ex_at_val = c.ex_date is not None and c.ex_date <= valuation
        ex_at_settle = c.ex_date is not None and c.ex_date <= settle
        book_amount = (0.0 if ex_at_val else amount) + (100.0 if c.end == term else 0.0)
        quoted_amount = (0.0 if ex_at_settle else amount) + (100.0 if c.end == term else 0.0)
        quoted = c.pay > settle
        y = 0.0
        if quoted:
            if first_quoted and settle > c.start:
                if ex_at_settle:
                    accrued = -coupon_pct * yf(c, settle, max(settle, c.end))
                else:
                    accrued = coupon_pct * yf(c, c.start, min(settle, c.end))
            first_quoted = False
            if last != c.start:
                t += yf(c, c.start, c.pay) - yf(c, c.start, last)
            else:
                t += yf(c, last, c.pay)
            y = t
            last = c.pay
        flows.append(Flow(c.pay, (c.pay - valuation).days / 365, book_amount, y, quoted,
                          quoted_amount))
    period = (live[0].start, live[0].end) if live else (maturity, maturity)
    return Bond(flows, accrued, period, settle)


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
