"""QuantLib oracle for the tests: builds QuantLib bonds and curves from our inputs.

QuantLib is a test-only dependency; the ``stress`` package never imports it. Everything here is
set up the way the package documents its conventions:

- a fixed-rate bond with face 100 and a schedule rolled backward from maturity (end-of-month
  rule, no calendar, accrual unadjusted) from its issue date (first coupon date as the
  schedule's first date) or, without one, from a regular coupon date before the valuation
  date; payments rolled on the market's calendar with its business-day convention (the bond's
  payment calendar, which also counts its settlement days), ex-coupon periods in business
  days of that calendar; settlement days 0, no calendar and no rolling by default;
- a zero curve linear in continuously compounded zero rate on ACT/365F time, flat outside the
  nodes (QuantLib extrapolates flat-forward, so a node at the reference date with the first
  rate and a node 100 years out with the last rate make it flat where it matters);
- a continuously compounded ACT/365F zero spread on top (``ZeroSpreadedTermStructure``);
- yields compounded at the coupon frequency in the bond's own day count.

The regular coupon date is found with QuantLib's own schedule generator (a schedule rolled back
far beyond the valuation date), so the oracle does not reuse our date arithmetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import QuantLib as ql  # noqa: N813 (the customary alias)

#: Our day-count names -> QuantLib day counters (called with the bond's maturity, the
#: termination date of 30E/360 ISDA).
DAY_COUNTERS = {
    "ACT/ACT-ICMA": lambda m: ql.ActualActual(ql.ActualActual.ISMA),
    "ACT/365F": lambda m: ql.Actual365Fixed(),
    "ACT/360": lambda m: ql.Actual360(),
    "30/360": lambda m: ql.Thirty360(ql.Thirty360.USA),
    "30/360 US": lambda m: ql.Thirty360(ql.Thirty360.USA),
    "30E/360": lambda m: ql.Thirty360(ql.Thirty360.European),
    "30/360 ISDA": lambda m: ql.Thirty360(ql.Thirty360.BondBasis),
    "30E/360 ISDA": lambda m: ql.Thirty360(ql.Thirty360.ISDA, m),
    "ACT/ACT ISDA": lambda m: ql.ActualActual(ql.ActualActual.ISDA),
    "NL/365": lambda m: ql.Actual365Fixed(ql.Actual365Fixed.NoLeap),
}
#: Our calendar names -> QuantLib calendars.
CALENDARS = {
    "NONE": ql.NullCalendar,
    "WEEKENDS": ql.WeekendsOnly,
    "US": lambda: ql.UnitedStates(ql.UnitedStates.GovernmentBond),
    "JP": ql.Japan,
    "UK": lambda: ql.UnitedKingdom(ql.UnitedKingdom.Settlement),
    "TARGET": ql.TARGET,
}
_BESPOKE: dict[str, ql.Calendar] = {}


def holidays_calendar(name: str) -> ql.Calendar:
    """A QuantLib calendar holding exactly the engine's holidays (the holidays package's, via
    ``stress.calendars``) and weekends, for tests of what is built on a calendar rather than of
    the calendar itself (QuantLib's own calendars differ on a few days)."""
    if name in ("NONE", "WEEKENDS"):
        return CALENDARS[name]()
    if name not in _BESPOKE:
        from stress.calendars import holidays_of

        cal = ql.BespokeCalendar(f"holidays {name}")
        cal.addWeekend(ql.Saturday)
        cal.addWeekend(ql.Sunday)
        for d in holidays_of(name):
            if 1901 <= d.year <= 2199:  # QuantLib's dates
                cal.addHoliday(qdate(d))
        _BESPOKE[name] = cal
    return _BESPOKE[name]


#: Our business-day conventions -> QuantLib's.
ROLLING = {
    "UNADJUSTED": ql.Unadjusted,
    "FOLLOWING": ql.Following,
    "MODIFIED FOLLOWING": ql.ModifiedFollowing,
    "PRECEDING": ql.Preceding,
    "MODIFIED PRECEDING": ql.ModifiedPreceding,
}
FREQUENCIES = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly, 12: ql.Monthly}

ACCURACY = 1e-14
MAX_ITERATIONS = 200


def qdate(d: dt.date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


def pydate(d: ql.Date) -> dt.date:
    return dt.date(d.year(), d.month(), d.dayOfMonth())


def day_counter(name: str, maturity: dt.date | None = None) -> ql.DayCounter:
    return DAY_COUNTERS[name](qdate(maturity) if maturity else ql.Date())


def set_evaluation_date(valuation_date: dt.date) -> None:
    ql.Settings.instance().evaluationDate = qdate(valuation_date)


def _schedule(
    effective: ql.Date, maturity: ql.Date, frequency: int, first: ql.Date | None = None
) -> ql.Schedule:
    return ql.Schedule(
        effective,
        maturity,
        ql.Period(12 // frequency, ql.Months),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        True,
        first or ql.Date(),
    )


def regular_coupon_date_before(
    valuation_date: dt.date, maturity: dt.date, frequency: int, periods_back: int = 0
) -> dt.date:
    """The regular coupon date on or before ``valuation_date`` (QuantLib's backward roll), or
    the one ``periods_back`` periods before it."""
    far = qdate(maturity) - ql.Period(max(60, maturity.year - valuation_date.year + 5), ql.Years)
    dates = [pydate(d) for d in _schedule(far, qdate(maturity), frequency).dates()]
    # dates[0] is the (irregular) far-away effective date; the rest are regular.
    i = max(i for i, d in enumerate(dates) if i > 0 and d <= valuation_date)
    return dates[i - periods_back]


def refuses_yield(day_count: str, maturity: dt.date) -> bool:
    """Whether QuantLib's yield functions refuse the bond: its 30E/360 ISDA counts -1 day from
    a maturity on the last day of February to itself (the start date counts as the 30th, the
    termination date as itself), a negative stepwise time for the redemption."""
    return day_count == "30E/360 ISDA" and maturity.month == 2 and (
        maturity + dt.timedelta(days=1)
    ).month == 3


def preset_bond(
    valuation_date: dt.date, maturity: dt.date, coupon_pct: float, preset: str
) -> QlBond:
    """``fixed_rate_bond`` with a market preset's conventions (settlement, calendar, rolling,
    ex-dividend period)."""
    from portfolios.conventions import PRESETS

    c = PRESETS[preset]
    return fixed_rate_bond(
        valuation_date, maturity, coupon_pct, c.frequency, c.day_count, calendar=c.calendar,
        convention=c.business_day_convention, settlement_days=c.settlement_days,
        ex_dividend_days=c.ex_dividend_days,
    )


@dataclass(frozen=True)
class QlBond:
    bond: ql.FixedRateBond
    day_counter: ql.DayCounter
    frequency: int
    settlement: ql.Date

    def rate(self, y: float) -> ql.InterestRate:
        return ql.InterestRate(y, self.day_counter, ql.Compounded, FREQUENCIES[self.frequency])


def fixed_rate_bond(
    valuation_date: dt.date,
    maturity: dt.date,
    coupon_pct: float,
    frequency: int,
    day_count: str,
    *,
    issue: dt.date | None = None,
    first_coupon: dt.date | None = None,
    calendar: str = "NONE",
    convention: str = "UNADJUSTED",
    settlement_days: int = 0,
    ex_dividend_days: int = 0,
    engine_holidays: bool = False,
) -> QlBond:
    """The QuantLib bond for one of our bond rows (the evaluation date is set as a side effect).
    Its ``settlement`` is QuantLib's settlement date for the evaluation date. With
    ``engine_holidays`` its calendar holds the engine's holidays (``holidays_calendar``), not
    QuantLib's own, for comparisons of pricing rather than of calendars."""
    set_evaluation_date(valuation_date)
    if issue is not None:
        schedule = _schedule(qdate(issue), qdate(maturity), frequency,
                             qdate(first_coupon) if first_coupon else None)
    else:
        # A regular date a period before the one on or before the valuation date: a coupon
        # date on or before it may be paid after it (rolled forward).
        effective = regular_coupon_date_before(valuation_date, maturity, frequency, 1)
        schedule = _schedule(qdate(effective), qdate(maturity), frequency)
    dc = day_counter(day_count, maturity)
    cal = holidays_calendar(calendar) if engine_holidays else CALENDARS[calendar]()
    bond = ql.FixedRateBond(
        settlement_days,
        100.0,
        schedule,
        [coupon_pct / 100.0],
        dc,
        ROLLING[convention],
        100.0,
        qdate(issue) if issue else ql.Date(),
        cal,
        ql.Period(ex_dividend_days, ql.Days) if ex_dividend_days else ql.Period(),
        cal,
        ql.Unadjusted,
        False,
    )
    return QlBond(bond, dc, frequency, bond.settlementDate())


def zero_curve(
    valuation_date: dt.date, times: list[float], rates: list[float]
) -> ql.YieldTermStructureHandle:
    """QuantLib zero curve through our nodes (``times`` ACT/365F years, whole days; ``rates``
    continuously compounded decimals), flat before the first and after the last node."""
    ref = qdate(valuation_date)
    dates = [ref] + [ref + round(t * 365.0) for t in times] + [ref + ql.Period(100, ql.Years)]
    zs = [rates[0], *rates, rates[-1]]
    curve = ql.ZeroCurve(dates, zs, ql.Actual365Fixed(), ql.NullCalendar(), ql.Linear(),
                         ql.Continuous, ql.Annual)
    curve.enableExtrapolation()
    return ql.YieldTermStructureHandle(curve)


def spreaded(curve: ql.YieldTermStructureHandle, spread: float) -> ql.YieldTermStructureHandle:
    """``curve`` plus a continuously compounded ACT/365F zero spread (decimal)."""
    ts = ql.ZeroSpreadedTermStructure(
        curve, ql.QuoteHandle(ql.SimpleQuote(spread)), ql.Continuous, ql.NoFrequency,
        ql.Actual365Fixed(),
    )
    ts.enableExtrapolation()
    return ql.YieldTermStructureHandle(ts)


@dataclass(frozen=True)
class QlAnalytics:
    dirty: float
    clean: float
    accrued: float
    npv: float  # the value on the evaluation date (cashflows paid after it)
    ytm: float  # decimal
    modified_duration: float
    macaulay_duration: float
    convexity: float


def bond_yield(qb: QlBond, dirty: float) -> float:
    """``BondFunctions.bondYield`` for a dirty price, compounded at the coupon frequency."""
    return float(
        ql.BondFunctions.bondYield(
            qb.bond,
            ql.BondPrice(dirty, ql.BondPrice.Dirty),
            qb.day_counter,
            ql.Compounded,
            FREQUENCIES[qb.frequency],
            qb.settlement,
            ACCURACY,
            MAX_ITERATIONS,
            0.03,
        )
    )


def yield_dirty_price(qb: QlBond, y: float) -> float:
    """Dirty price per 100 at yield ``y`` (QuantLib's clean price at that yield + accrued)."""
    clean = ql.BondFunctions.cleanPrice(qb.bond, qb.rate(y), qb.settlement)
    return float(clean + ql.BondFunctions.accruedAmount(qb.bond, qb.settlement))


def analytics(qb: QlBond, curve: ql.YieldTermStructureHandle) -> QlAnalytics:
    """Curve prices (DiscountingBondEngine on ``curve``) and yield analytics of ``qb``."""
    qb.bond.setPricingEngine(ql.DiscountingBondEngine(curve))
    dirty = qb.bond.dirtyPrice()
    y = bond_yield(qb, dirty)
    rate = qb.rate(y)
    return QlAnalytics(
        dirty=dirty,
        clean=qb.bond.cleanPrice(),
        accrued=qb.bond.accruedAmount(qb.settlement),
        npv=qb.bond.NPV(),
        ytm=y,
        modified_duration=ql.BondFunctions.duration(
            qb.bond, rate, ql.Duration.Modified, qb.settlement
        ),
        macaulay_duration=ql.BondFunctions.duration(
            qb.bond, rate, ql.Duration.Macaulay, qb.settlement
        ),
        convexity=ql.BondFunctions.convexity(qb.bond, rate, qb.settlement),
    )


def z_spread(qb: QlBond, clean: float, curve: ql.YieldTermStructureHandle) -> float:
    """QuantLib's continuously compounded ACT/365F z-spread reproducing a clean price."""
    z = ql.BondFunctions.zSpread(
        qb.bond,
        ql.BondPrice(clean, ql.BondPrice.Clean),
        curve.currentLink(),
        ql.Actual365Fixed(),
        ql.Continuous,
        ql.NoFrequency,
        qb.settlement,
        ACCURACY,
        MAX_ITERATIONS,
        0.0,
    )
    return float(z)
