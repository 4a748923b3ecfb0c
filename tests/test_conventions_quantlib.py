"""Market conventions against QuantLib: day counts, calendars, odd first coupons, settlement,
payment rolling, ex-dividend periods; and the JGB simple yield against published figures.

QuantLib is built the way ``tests/qlref.py`` documents: a ``Schedule`` from the issue date with
the first coupon date as its first date (accrual unadjusted, no calendar), the market's
calendar as the bond's payment calendar (payments rolled, settlement days counted on it) and
its ex-coupon calendar. Set ``STRESS_QL_EXAMPLES`` for more random examples.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import os
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import portfolios
import stress
from portfolios.conventions import (
    BUSINESS_DAY_CONVENTIONS,
    CALENDARS,
    DAY_COUNT_NAMES,
    DAY_COUNTS,
    FREQUENCIES,
    PRESETS,
)
from stress import calendars
from stress.cashflows import build_cashflows
from stress.dates import from_days, to_days
from stress.kernels import schedules as ks
from tests import reference as ref
from tests import strategies as ts

ql = pytest.importorskip("QuantLib")
from tests import qlref  # noqa: E402

QL_EXAMPLES = int(os.environ.get("STRESS_QL_EXAMPLES", "60"))
PRICE_REL, PRICE_ABS = 1e-10, 1e-12
YIELD_REL = 1e-9
RISK_REL = 1e-8


def close(ours: float, theirs: float, rel: float, abs_: float = 0.0) -> bool:
    return abs(ours - theirs) <= rel * abs(theirs) + abs_


# --- calendars: the holidays package against QuantLib ----------------------------------------

#: Every weekday from 2000 to 2080 on which the holidays package and QuantLib's calendar
#: disagree (True: a holiday only in the holidays package, which the engine follows):
#: - US: QuantLib keeps the SIFMA early close on Good Fridays that fall on the first Friday of
#:   April (the payroll report day) as a business day in future years; the holidays package
#:   closes them. The package also has the closing of 12 September 2001, QuantLib not (it has
#:   11 September only).
#: - JP: QuantLib has 6 May 2003 as a holiday; it was a Tuesday and no holiday (Constitution
#:   Day fell on a Saturday, and no substitute day was due).
#: - UK (England and Wales) and TARGET: no disagreement.
DISAGREEMENTS: dict[str, dict[dt.date, bool]] = {
    "US": {
        dt.date(2001, 9, 12): True,
        **{dt.date(y, m, d): True for y, m, d in (
            (2034, 4, 7), (2037, 4, 3), (2042, 4, 4), (2045, 4, 7), (2048, 4, 3), (2053, 4, 4),
            (2064, 4, 4), (2067, 4, 1), (2075, 4, 5), (2078, 4, 1), (2080, 4, 5))},
    },
    "JP": {dt.date(2003, 5, 6): False},
    "UK": {},
    "TARGET": {},
}


@pytest.mark.parametrize("name", ["US", "JP", "UK", "TARGET"])
def test_holiday_calendars_agree_with_quantlib_but_for_the_listed_days(name):
    cal = qlref.CALENDARS[name]()
    found = {}
    d = dt.date(2000, 1, 1)
    while d <= dt.date(2080, 12, 31):
        if d.weekday() < 5:
            ours = not calendars.is_business_day(name, d)
            if ours != cal.isHoliday(qlref.qdate(d)):
                found[d] = ours
        d += dt.timedelta(days=1)
    assert found == DISAGREEMENTS[name]


def test_calendars_none_and_weekends():
    for d in (dt.date(2026, 1, 1), dt.date(2026, 1, 3), dt.date(2026, 12, 25)):
        assert calendars.is_business_day("NONE", d)
    assert calendars.is_business_day("WEEKENDS", dt.date(2026, 12, 25))
    assert not calendars.is_business_day("WEEKENDS", dt.date(2026, 1, 3))
    # Beyond the table: weekends only.
    assert calendars.is_business_day("US", dt.date(2450, 12, 25)) == (
        dt.date(2450, 12, 25).weekday() < 5)


def near_disagreement(name: str, dates: list[dt.date], before: int = 20, after: int = 20) -> bool:
    """Whether a date the calendars disagree on lies within [d - before, d + after] of any of
    ``dates``: there the two calendars may roll or count differently."""
    bad = DISAGREEMENTS.get(name, {})
    return any(
        -before <= (b - d).days <= after for b in bad for d in dates
    )


@settings(max_examples=ts.examples(200), deadline=None)
@given(st.dates(dt.date(2000, 1, 1), dt.date(2070, 12, 31)),
       st.sampled_from(sorted(CALENDARS)), st.sampled_from(sorted(BUSINESS_DAY_CONVENTIONS)),
       st.integers(-10, 10))
def test_rolling_and_business_day_counts_match_quantlib(d, name, convention, n):
    assume(not near_disagreement(name, [d], 40, 40))
    cal = qlref.CALENDARS[name]()
    table, start = calendars.holiday_table(), calendars.TABLE_START
    code = CALENDARS[name]
    rolled = ks.adjust(to_days(d), BUSINESS_DAY_CONVENTIONS[convention], code, table, start)
    assert from_days(rolled) == qlref.pydate(cal.adjust(qlref.qdate(d), qlref.ROLLING[convention]))
    assert from_days(rolled) == ref.roll(d, convention, name)
    moved = ks.advance_days(to_days(d), n, code, table, start)
    assert from_days(moved) == qlref.pydate(cal.advance(qlref.qdate(d), n, ql.Days))
    assert from_days(moved) == ref.business_days_after(d, n, name)


# --- day counts --------------------------------------------------------------------------------


def ql_year_fraction(name: str, d1: dt.date, d2: dt.date, rs: dt.date | None = None,
                     re: dt.date | None = None, termination: dt.date | None = None) -> float:
    dc = qlref.day_counter(name, termination)
    if rs is None:
        return dc.yearFraction(qlref.qdate(d1), qlref.qdate(d2))
    return dc.yearFraction(qlref.qdate(d1), qlref.qdate(d2), qlref.qdate(rs), qlref.qdate(re))


dates = st.dates(dt.date(1960, 1, 1), dt.date(2100, 12, 31))


@st.composite
def date_pairs(draw: st.DrawFn) -> tuple[dt.date, dt.date]:
    """Any two dates, or dates near month ends, Februaries and year ends (the rules' edges)."""
    def special() -> st.SearchStrategy[dt.date]:
        return st.builds(
            lambda y, m, k: ts.month_end(y, m) - dt.timedelta(days=k),
            st.integers(1960, 2100), st.integers(1, 12), st.integers(-1, 2))
    d1 = draw(st.one_of(dates, special()))
    d2 = draw(st.one_of(dates, special(), st.builds(lambda k: d1 + dt.timedelta(days=k),
                                                      st.integers(-800, 800))))
    return d1, d2


@settings(max_examples=ts.examples(300), deadline=None)
@given(date_pairs(), st.sampled_from([n for n in DAY_COUNT_NAMES if n != "ACT/ACT-ICMA"]),
       st.one_of(st.none(), dates))
def test_day_counts_match_quantlib_on_random_dates(pair, name, termination):
    d1, d2 = pair
    if name == "30E/360 ISDA" and termination is None:
        termination = d2  # the rule's exception: the last day of February as termination date
    term = to_days(termination) if termination else -1
    ours = ks.year_fraction_t(DAY_COUNTS[name], to_days(d1), to_days(d2), 0, 1, term)
    theirs = ql_year_fraction(name, d1, d2, termination=termination)
    assert ours == pytest.approx(theirs, rel=1e-15, abs=1e-15)
    assert ours == pytest.approx(
        ref.year_fraction(name, d1, d2, d1, d2, 2, termination), rel=1e-15, abs=1e-15)


@pytest.mark.parametrize(
    ("name", "d1", "d2", "days"),
    [
        # Hand-worked from the written rules (ISDA 2006 4.16; NL/365: 29 February skipped).
        ("30/360 ISDA", dt.date(2026, 1, 31), dt.date(2026, 3, 31), 60),
        ("30/360 ISDA", dt.date(2026, 1, 30), dt.date(2026, 3, 31), 60),
        ("30/360 ISDA", dt.date(2026, 1, 29), dt.date(2026, 3, 31), 62),
        ("30/360 ISDA", dt.date(2026, 2, 28), dt.date(2026, 8, 31), 183),  # no February rule
        ("30E/360 ISDA", dt.date(2026, 2, 28), dt.date(2026, 8, 31), 180),
        ("30E/360 ISDA", dt.date(2027, 8, 31), dt.date(2028, 2, 29), 180),  # not termination
        ("NL/365", dt.date(2028, 2, 28), dt.date(2028, 3, 1), 1),
        ("NL/365", dt.date(2027, 1, 1), dt.date(2029, 1, 1), 730),
        ("NL/365", dt.date(2028, 2, 29), dt.date(2028, 3, 1), 1),
    ],
)
def test_day_count_hand_values(name, d1, d2, days):
    denominator = 365 if name == "NL/365" else 360
    got = ks.year_fraction_t(DAY_COUNTS[name], to_days(d1), to_days(d2), 0, 1, -1)
    assert got * denominator == pytest.approx(days, abs=1e-12)
    assert ql_year_fraction(name, d1, d2) * denominator == pytest.approx(days, abs=1e-12)


def test_thirty_e_360_isda_termination_date_keeps_february():
    """The last day of February as the maturity counts as itself, not the 30th."""
    d1, d2 = dt.date(2027, 8, 31), dt.date(2028, 2, 29)
    got = ks.year_fraction_t(6, to_days(d1), to_days(d2), 0, 1, to_days(d2))
    assert got * 360 == pytest.approx(179, abs=1e-12)
    assert ql_year_fraction("30E/360 ISDA", d1, d2, termination=d2) * 360 == pytest.approx(179)


def test_act_act_isda_hand_value():
    """2023-12-15 to 2024-07-15: 17/365 + 196/366."""
    got = ks.year_fraction_t(7, to_days(dt.date(2023, 12, 15)), to_days(dt.date(2024, 7, 15)),
                             0, 1, -1)
    assert got == pytest.approx(17 / 365 + 196 / 366, rel=1e-15)


@st.composite
def icma_inputs(draw: st.DrawFn):
    """A regular reference period of 1, 3, 6 or 12 months and two dates from two periods
    before it to three periods after it."""
    end = draw(st.one_of(dates, st.builds(ts.month_end, st.integers(1960, 2100),
                                          st.integers(1, 12))))
    months = 12 // draw(st.sampled_from(FREQUENCIES))
    start = ref.add_months(end, -months, ref.is_month_end(end))
    lo = ref.add_months(start, -2 * months)
    hi = ref.add_months(end, 3 * months)
    d1 = draw(st.one_of(st.dates(lo, hi), st.sampled_from([start, end, lo])))
    d2 = draw(st.one_of(st.dates(lo, hi), st.sampled_from([start, end, hi])))
    return d1, d2, start, end


@settings(max_examples=ts.examples(300), deadline=None)
@given(icma_inputs())
def test_act_act_icma_matches_quantlib_inside_before_and_after_the_reference_period(inputs):
    d1, d2, rs, re = inputs
    ours = ks.year_fraction_t(0, to_days(d1), to_days(d2), to_days(rs), to_days(re), -1)
    assert ours == pytest.approx(ref.act_act_icma(d1, d2, rs, re), rel=1e-14, abs=1e-15)
    lo, hi = min(d1, d2), max(d1, d2)
    if lo != hi and (lo >= re or (lo < rs and hi > re)):
        # QuantLib refuses a start on or after the reference period's end, and a start before
        # it with an end after it (the engine never asks: its dates start inside or before).
        with pytest.raises(RuntimeError, match="invalid"):
            ql_year_fraction("ACT/ACT-ICMA", d1, d2, rs, re)
        return
    assert ours == pytest.approx(ql_year_fraction("ACT/ACT-ICMA", d1, d2, rs, re), rel=1e-14,
                                 abs=1e-15)


# --- bonds with conventions against QuantLib -------------------------------------------------


@dataclass(frozen=True)
class ConvBond:
    maturity: dt.date
    coupon: float
    frequency: int
    day_count: str
    issue: dt.date | None = None
    first_coupon: dt.date | None = None
    calendar: str = "NONE"
    convention: str = "UNADJUSTED"
    settlement_days: int = 0
    ex_dividend_days: int = 0
    notional: float = 1e6
    spread_bp: float = 0.0

    def ql(self, val: dt.date) -> qlref.QlBond:
        return qlref.fixed_rate_bond(
            val, self.maturity, self.coupon, self.frequency, self.day_count, issue=self.issue,
            first_coupon=self.first_coupon, calendar=self.calendar, convention=self.convention,
            settlement_days=self.settlement_days, ex_dividend_days=self.ex_dividend_days)

    def reference(self, val: dt.date) -> ref.Bond:
        return ref.cashflows(
            val, self.maturity, self.coupon, self.frequency, self.day_count, issue=self.issue,
            first_coupon=self.first_coupon, calendar_name=self.calendar,
            convention=self.convention, settlement_days=self.settlement_days,
            ex_dividend_days=self.ex_dividend_days)


def frame_of(bonds: list[ConvBond] | tuple[ConvBond, ...]) -> pl.DataFrame:
    return pl.DataFrame({
        "position_id": [f"C{i}" for i in range(len(bonds))],
        "instrument": ["bond"] * len(bonds),
        "currency": ["USD"] * len(bonds),
        "notional": [b.notional for b in bonds],
        "coupon": [b.coupon for b in bonds],
        "maturity": [b.maturity for b in bonds],
        "frequency": [b.frequency for b in bonds],
        "day_count": [b.day_count for b in bonds],
        "spread_bp": [b.spread_bp for b in bonds],
        "issue_date": pl.Series([b.issue for b in bonds], dtype=pl.Date),
        "first_coupon_date": pl.Series([b.first_coupon for b in bonds], dtype=pl.Date),
        "calendar": [b.calendar for b in bonds],
        "business_day_convention": [b.convention for b in bonds],
        "settlement_days": [b.settlement_days for b in bonds],
        "ex_dividend_days": [b.ex_dividend_days for b in bonds],
    })


CURVE = ts.CurveSpec(("1M", "1Y", "5Y", "10Y", "30Y"), (2.9, 3.0, 3.5, 3.9, 4.2))


def regular_dates_after(b: ConvBond, after: dt.date) -> list[dt.date]:
    """The bond's regular coupon dates strictly after ``after``, latest first."""
    step, eom = 12 // b.frequency, ref.is_month_end(b.maturity)
    out, k = [], 0
    while (d := ref.add_months(b.maturity, -k * step, eom)) > after:
        out.append(d)
        k += 1
    return out


@st.composite
def conv_bonds(draw: st.DrawFn, val: dt.date) -> ConvBond:
    """A bond with any day count, an issue date (short, long or regular first coupon) or
    none, any calendar and rolling, settlement T+0 to T+3 and an ex-dividend period or none."""
    b = ConvBond(
        maturity=draw(ts.maturities(val)),
        coupon=draw(ts.coupons()),
        frequency=draw(st.sampled_from(FREQUENCIES)),
        day_count=draw(st.sampled_from(DAY_COUNT_NAMES)),
        calendar=draw(st.sampled_from(sorted(CALENDARS))),
        convention=draw(st.sampled_from(sorted(BUSINESS_DAY_CONVENTIONS))),
        settlement_days=draw(st.integers(0, 3)),
        ex_dividend_days=draw(st.sampled_from([0, 0, 7, 3])),
        notional=draw(ts.notionals()),
        spread_bp=draw(ts.spreads_bp()),
    )
    kind = draw(st.sampled_from(["none", "issue", "short", "long", "on_valuation"]))
    if kind == "none":
        return b
    issue = val if kind == "on_valuation" else val - dt.timedelta(
        days=draw(st.integers(0, 3 * 365)))
    regular = regular_dates_after(b, issue)
    first = None
    if kind == "short":
        first = regular[-1]
    elif kind == "long" and len(regular) > 1:
        first = regular[-2]
    return replace(b, issue=issue, first_coupon=first)


@st.composite
def conv_cases(draw: st.DrawFn, max_bonds: int = 3) -> tuple[dt.date, list[ConvBond]]:
    val = draw(st.dates(dt.date(2000, 1, 3), dt.date(2035, 12, 31)))
    return val, draw(st.lists(conv_bonds(val), min_size=1, max_size=max_bonds))


def comparable(val: dt.date, b: ConvBond) -> bool:
    """Inputs QuantLib can price like us: no calendar disagreement near a date that matters,
    a yield that exists (30/360 can leave a last yield time of 0)."""
    r = b.reference(val)
    if not r.flows:
        return False  # paid out by the valuation date (rolled back): refused, tested below
    dates = [val, r.settlement] + [f.pay for f in r.flows]
    if near_disagreement(b.calendar, dates):
        return False
    quoted = [f for f in r.flows if f.quoted]
    return not quoted or quoted[-1].yield_time > 0


def compare(val: dt.date, bonds: list[ConvBond], curve: ts.CurveSpec = CURVE) -> list[dict]:
    """Assert that every bond matches QuantLib; return our rows."""
    market = ts.market(val, curve)
    out = stress.analytics(portfolios.load(frame_of(bonds), valuation_date=val), market)
    zc = market.curves["USD"]
    base = qlref.zero_curve(val, list(zc.times), list(zc.rates))
    rows = list(out.iter_rows(named=True))
    for b, row in zip(bonds, rows, strict=True):
        qb = b.ql(val)
        where = f"{val} {b}: ours {row}"
        assert row["settlement_date"] == qlref.pydate(qb.settlement), where
        curve = qlref.spreaded(base, b.spread_bp / 1e4)
        qb.bond.setPricingEngine(ql.DiscountingBondEngine(curve))
        npv = qb.bond.NPV()
        assert close(row["pv"] / b.notional * 100, npv, PRICE_REL, PRICE_ABS), f"{where} {npv}"
        if not ql.BondFunctions.isTradable(qb.bond, qb.settlement):
            # Matured by settlement: no quote (QuantLib's prices are 0 there).
            assert row["dirty_price"] is None and row["ytm"] is None, where
            continue
        try:
            q = qlref.analytics(qb, curve)
        except RuntimeError as exc:
            if "negative time" in str(exc):
                # QuantLib's 30E/360 ISDA counts -1 day from a maturity on the last day of
                # February to itself (the start counts as the 30th, the termination date as
                # itself), so its yield functions refuse the redemption's stepwise time.
                assert b.day_count == "30E/360 ISDA", where
                assert b.maturity.month == 2 and ref.is_month_end(b.maturity), where
                continue
            # QuantLib's ACT/ACT-ICMA refuses a long first coupon whose payment is rolled
            # past its reference period's end; the engine counts on (see _isma).
            assert "invalid dates" in str(exc), where
            assert b.day_count == "ACT/ACT-ICMA" and b.first_coupon is not None, where
            continue
        where += f", QuantLib {q}"
        assert close(row["dirty_price"], q.dirty, PRICE_REL, PRICE_ABS), where
        assert close(row["clean_price"], q.clean, PRICE_REL, PRICE_ABS), where
        assert close(row["accrued"], q.accrued, PRICE_REL, PRICE_ABS), where
        t_max = max(f.yield_time for f in b.reference(val).flows)
        assert abs(row["ytm"] / 100 - q.ytm) <= YIELD_REL * abs(q.ytm) + 1e-13 / t_max, where
        assert close(row["modified_duration"], q.modified_duration, RISK_REL, 1e-12), where
        assert close(row["macaulay_duration"], q.macaulay_duration, RISK_REL, 1e-12), where
        assert close(row["convexity"], q.convexity, RISK_REL, 1e-12), where
    return rows


@settings(max_examples=ts.examples(QL_EXAMPLES), deadline=None)
@given(conv_cases())
def test_random_bonds_with_conventions_match_quantlib(case):
    val, bonds = case
    assume(all(comparable(val, b) for b in bonds))
    compare(val, bonds)


@settings(max_examples=ts.examples(100), deadline=None)
@given(conv_cases(max_bonds=4))
def test_cashflows_with_conventions_match_the_reference(case):
    val, bonds = case
    assume(all(b.reference(val).flows for b in bonds))
    book = stress.book.build_book(portfolios.load(frame_of(bonds), valuation_date=val),
                                  ts.market(val, CURVE)).cashflows
    for i, b in enumerate(bonds):
        r = b.reference(val)
        sl = slice(int(book.offsets[i]), int(book.offsets[i + 1]))
        assert [from_days(d) for d in book.pay_day[sl]] == [f.pay for f in r.flows]
        np.testing.assert_allclose(book.amount[sl], [f.amount for f in r.flows], rtol=1e-14,
                                   atol=1e-13)
        assert from_days(book.settlement_day[i]) == r.settlement
        assert book.unquoted[i] == sum(not f.quoted for f in r.flows)
        quoted = [f for f in r.flows if f.quoted]
        start = int(book.offsets[i] + book.unquoted[i])
        np.testing.assert_allclose(book.yield_time[start:sl.stop], [f.yield_time for f in quoted],
                                   rtol=1e-13, atol=1e-14)
        if quoted:
            assert book.amount[start] - book.quote_drop[i] == pytest.approx(
                quoted[0].quoted_amount, rel=1e-14, abs=1e-13)
        assert book.accrued[i] == pytest.approx(r.accrued, rel=1e-14, abs=1e-14)
        assert tuple(from_days(d) for d in book.coupon_days[i]) == r.period


@settings(max_examples=ts.examples(100), deadline=None)
@given(st.data())
def test_legs_accruing_on_rolled_dates_match_the_reference(data: st.DataObject) -> None:
    """FRNs' and swaps' legs (``adjusted_accrual``): every period between its rolled dates,
    on any calendar and convention and day count, against the reference schedule."""
    val = data.draw(ts.valuation_dates())
    n = data.draw(st.integers(1, 4))
    legs = [(data.draw(ts.maturities(val)), data.draw(ts.coupons()),
             data.draw(st.sampled_from(FREQUENCIES)), data.draw(st.sampled_from(DAY_COUNT_NAMES)),
             data.draw(st.sampled_from(sorted(CALENDARS))),
             data.draw(st.sampled_from(sorted(BUSINESS_DAY_CONVENTIONS)))) for _ in range(n)]
    want = [ref.cashflows(val, m, c, f, dc, calendar_name=cal, convention=bdc,
                          adjusted_accrual=True) for m, c, f, dc, cal, bdc in legs]
    assume(all(r.flows for r in want))
    book = build_cashflows(
        val, np.array([to_days(x[0]) for x in legs]), np.array([x[1] for x in legs]),
        np.array([x[2] for x in legs]), np.array([DAY_COUNTS[x[3]] for x in legs]),
        calendar=np.array([CALENDARS[x[4]] for x in legs]),
        business_day_convention=np.array([BUSINESS_DAY_CONVENTIONS[x[5]] for x in legs]),
        adjusted_accrual=True)
    for i, r in enumerate(want):
        sl = slice(int(book.offsets[i]), int(book.offsets[i + 1]))
        assert [from_days(d) for d in book.pay_day[sl]] == [f.pay for f in r.flows]
        np.testing.assert_allclose(book.amount[sl], [f.amount for f in r.flows], rtol=1e-14,
                                   atol=1e-13)
        assert book.accrued[i] == pytest.approx(r.accrued, rel=1e-14, abs=1e-14)
        assert tuple(from_days(d) for d in book.coupon_days[i]) == r.period


# --- named cases -------------------------------------------------------------------------------

VAL = dt.date(2026, 1, 20)


@pytest.mark.parametrize("day_count", DAY_COUNT_NAMES)
@pytest.mark.parametrize(
    ("issue", "first", "maturity"),
    [
        # Short first coupon: issued 2025-12-01, first coupon at the regular 2026-02-15.
        (dt.date(2025, 12, 1), dt.date(2026, 2, 15), dt.date(2036, 2, 15)),
        # Long first coupon: issued 2025-12-01, first coupon 2026-08-15 (2026-02-15 skipped).
        (dt.date(2025, 12, 1), dt.date(2026, 8, 15), dt.date(2036, 2, 15)),
        # Issued on the valuation date, first coupon inferred (the next regular date).
        (VAL, None, dt.date(2031, 5, 31)),
        # Issued on a regular coupon date: a regular first period.
        (dt.date(2025, 11, 30), None, dt.date(2031, 5, 31)),
        # Month-end schedule, short first coupon ending on the last day of February.
        (dt.date(2025, 12, 10), dt.date(2026, 2, 28), dt.date(2030, 8, 31)),
        # Long first coupon through a year's end, on the 30th of a month (not a month end).
        (dt.date(2025, 7, 1), dt.date(2026, 4, 30), dt.date(2029, 10, 30)),
    ],
)
def test_odd_first_coupons(day_count, issue, first, maturity):
    b = ConvBond(maturity, 4.375, 2, day_count, issue=issue, first_coupon=first,
                 spread_bp=20.0)
    (row,) = compare(VAL, [b])
    qb = b.ql(VAL)
    first_coupon = qb.bond.cashflows()[0]
    r = b.reference(VAL)
    # The first coupon accrues from the issue date: the amount QuantLib pays.
    assert r.flows[0].amount == pytest.approx(first_coupon.amount(), rel=1e-13)
    assert r.period[0] == issue
    if issue == VAL:
        assert row["accrued"] == 0.0


def test_long_first_coupon_amount_by_hand():
    """ACT/ACT-ICMA, semiannual, issued 2025-12-01, first coupon 2026-08-15: the notional
    period 2025-08-15 - 2026-02-15 contributes 76/184 of a half year, the regular period to
    2026-08-15 a whole one."""
    b = ConvBond(dt.date(2036, 2, 15), 4.0, 2, "ACT/ACT-ICMA", issue=dt.date(2025, 12, 1),
                 first_coupon=dt.date(2026, 8, 15))
    book = stress.book.build_book(portfolios.load(frame_of([b])), ts.market(VAL, CURVE))
    assert book.cashflows.amount[0] == pytest.approx(4.0 * 0.5 * (76 / 184 + 1), rel=1e-14)
    compare(VAL, [b])


@pytest.mark.parametrize("settlement_days", [0, 1, 2, 3])
@pytest.mark.parametrize("calendar", ["NONE", "US", "JP", "UK", "TARGET"])
def test_settlement_days(settlement_days, calendar):
    """Friday 2026-01-16 before Martin Luther King Day (US): T+1 is Tuesday on the US
    calendar, Monday elsewhere (Saturday on no calendar)."""
    val = dt.date(2026, 1, 16)
    b = ConvBond(dt.date(2035, 11, 15), 4.25, 2, "ACT/ACT-ICMA", calendar=calendar,
                 convention="FOLLOWING", settlement_days=settlement_days)
    (row,) = compare(val, [b])
    if calendar == "US" and settlement_days == 1:
        assert row["settlement_date"] == dt.date(2026, 1, 20)


def test_settlement_on_a_holiday_valuation_date_rolls_even_at_t_plus_0():
    """QuantLib: settlement = calendar.advance(today, 0 days) = today rolled Following."""
    val = dt.date(2026, 1, 1)  # New Year's Day
    b = ConvBond(dt.date(2030, 6, 30), 3.0, 2, "ACT/ACT-ICMA", calendar="UK",
                 convention="FOLLOWING", settlement_days=0)
    (row,) = compare(val, [b])
    assert row["settlement_date"] == dt.date(2026, 1, 2)


def test_coupon_paid_between_valuation_and_settlement_stays_in_the_position():
    """A coupon paid the day after the valuation date, before T+2 settlement: the position
    (pv, QuantLib's NPV) receives it, the quotes (QuantLib's dirty price) do not."""
    val = dt.date(2026, 2, 12)  # Thursday; coupon on Friday the 13th... of February 2026
    b = ConvBond(dt.date(2031, 2, 13), 5.0, 2, "ACT/ACT-ICMA", calendar="TARGET",
                 convention="FOLLOWING", settlement_days=2)
    (row,) = compare(val, [b])
    assert row["settlement_date"] == dt.date(2026, 2, 16)
    assert 0 < row["accrued"] < 0.1  # three days of the new period
    assert row["pv"] / b.notional * 100 > row["dirty_price"] + 2.4  # the 2.5 coupon


@pytest.mark.parametrize(
    ("val", "position_ex"),
    [
        (dt.date(2026, 2, 24), False),  # settles 25 Feb: cum-dividend
        (dt.date(2026, 2, 25), False),  # settles 26 Feb, the ex-dividend date: the quote is ex,
        # the position (valued on 25 Feb) still receives the coupon
        (dt.date(2026, 2, 26), True),  # valued on the ex-dividend date: not received
        (dt.date(2026, 3, 5), True),  # ex-dividend at valuation and settlement
        (dt.date(2026, 3, 6), True),  # settles on the payment date: a new period accrues
    ],
)
def test_gilt_ex_dividend_period(val, position_ex):
    """4.5% Treasury 2035 pays 7 March / 7 September; 7 March 2026 is a Saturday, paid Monday
    9 March; seven UK business days before is Thursday 26 February, the ex-dividend date. A
    trade settling on or after it is ex-dividend: negative accrued, the coupon not in the
    price (QuantLib's exCouponPeriod)."""
    b = ConvBond(dt.date(2035, 3, 7), 4.5, 2, "ACT/ACT-ICMA", calendar="UK",
                 convention="FOLLOWING", settlement_days=1, ex_dividend_days=7)
    (row,) = compare(val, [b])
    settle = row["settlement_date"]
    assert (row["accrued"] < 0) == (dt.date(2026, 2, 26) <= settle < dt.date(2026, 3, 9))
    qb = b.ql(val)
    coupon = next(c for c in qb.bond.cashflows() if qlref.pydate(c.date()) > val)
    assert qlref.pydate(ql.as_coupon(coupon).exCouponDate()) == dt.date(2026, 2, 26)
    book = stress.book.build_book(portfolios.load(frame_of([b]), valuation_date=val),
                                  ts.market(val, CURVE)).cashflows
    assert from_days(book.pay_day[0]) == dt.date(2026, 3, 9)
    assert (book.amount[0] == 0.0) == position_ex


@pytest.mark.parametrize("convention", sorted(BUSINESS_DAY_CONVENTIONS))
def test_payment_rolling_at_a_month_end(convention):
    """A month-end schedule whose 31 May 2031 is a Saturday: Following pays Monday 2 June,
    Modified Following Friday 30 May, Preceding Friday 30 May."""
    b = ConvBond(dt.date(2031, 5, 31), 3.25, 2, "30/360 US", calendar="US",
                 convention=convention, settlement_days=1)
    compare(VAL, [b])
    book = stress.book.build_book(portfolios.load(frame_of([b])), ts.market(VAL, CURVE))
    expected = {"UNADJUSTED": dt.date(2031, 5, 31), "FOLLOWING": dt.date(2031, 6, 2),
                "MODIFIED FOLLOWING": dt.date(2031, 5, 30), "PRECEDING": dt.date(2031, 5, 30),
                "MODIFIED PRECEDING": dt.date(2031, 5, 30)}[convention]
    assert from_days(book.cashflows.pay_day[-1]) == expected


def test_a_maturity_rolled_back_onto_the_valuation_date_is_refused():
    """Saturday 8 January 2000, Modified Preceding: paid Friday the 7th, the valuation date."""
    b = ConvBond(dt.date(2000, 1, 8), 1.0, 1, "ACT/ACT-ICMA", calendar="JP",
                 convention="MODIFIED PRECEDING")
    val = dt.date(2000, 1, 7)
    with pytest.raises(portfolios.PortfolioValidationError, match=(
            r"row 1 \(position_id 'C0'\), column 'maturity': got '2000-01-08'; expected a "
            "maturity paid after the valuation date 2000-01-07")):
        stress.analytics(portfolios.load(frame_of([b])), ts.market(val, CURVE))
    book = stress.book.build_book(portfolios.load(frame_of([b])), ts.market(val, CURVE),
                                  skip_invalid=True)
    assert book.n_positions == 0 and book.portfolio.rejects["column"].to_list() == ["maturity"]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_match_quantlib(preset):
    c = PRESETS[preset]
    bonds = [ConvBond(m, 3.5, c.frequency, c.day_count, calendar=c.calendar,
                      convention=c.business_day_convention, settlement_days=c.settlement_days,
                      ex_dividend_days=c.ex_dividend_days)
             for m in (dt.date(2027, 12, 31), dt.date(2035, 3, 7), dt.date(2055, 11, 15))]
    rows = compare(VAL, bonds)
    frame = pl.DataFrame({
        "position_id": ["A", "B", "C"], "instrument": "bond", "currency": "USD",
        "notional": 1e6, "coupon": 3.5, "maturity": [b.maturity for b in bonds],
        "convention": preset, "spread_bp": 0.0,
    })
    out = stress.analytics(portfolios.load(frame), ts.market(VAL, CURVE))
    for ours, row in zip(out.iter_rows(named=True), rows, strict=True):
        assert ours["dirty_price"] == row["dirty_price"] and ours["pv"] == row["pv"]


@settings(max_examples=ts.examples(30), deadline=None)
@given(conv_cases(max_bonds=2))
def test_clean_price_quotes_solve_to_quantlib_z_spread_with_settlement(case):
    """A clean price at settlement is reproduced by the solved spread, QuantLib's z-spread
    from its settlement date."""
    val, bonds = case
    assume(all(comparable(val, b) for b in bonds))
    market = ts.market(val, CURVE)
    priced = stress.analytics(portfolios.load(frame_of(bonds)), market)
    assume(priced["clean_price"].is_not_null().all() and (priced["clean_price"] > 0).all())
    quoted = frame_of(bonds).drop("spread_bp").with_columns(clean_price=priced["clean_price"])
    out = stress.analytics(portfolios.load(quoted), market)
    zc = market.curves["USD"]
    base = qlref.zero_curve(val, list(zc.times), list(zc.rates))
    for b, p, row in zip(bonds, priced.iter_rows(named=True), out.iter_rows(named=True),
                         strict=True):
        assert close(row["clean_price"], p["clean_price"], 1e-12, 1e-12)
        t_max = (b.maturity - val).days / 365.0
        assert abs(row["spread_bp"] - b.spread_bp) <= 1e-8 / t_max + 1e-10
        try:
            z = qlref.z_spread(b.ql(val), p["clean_price"], base)
        except RuntimeError:
            continue  # QuantLib's ACT/ACT-ICMA refusal (see compare)
        assert abs(row["spread_bp"] / 1e4 - z) <= 1e-12 / t_max + 1e-14


# --- JGB simple yield --------------------------------------------------------------------------


def test_simple_yield_published_example():
    """Worked example of the JGB simple yield (calculation-memo.skr.jp, "利回り", following
    JSDA's rules): settlement 2012-02-10, coupon 0.5 %, price 99.30, maturity 2015-12-20;
    years = 3 + 313/365 (one end counted, 29 February 2012 left out: more than a year to run)
    = 3.857534246..., yield = (0.5 + 0.7 / years) / 99.3 x 100 = 0.686266937 (their figures
    truncated to nine decimals)."""
    got = stress.pricing.simple_yield(np.array([0.5]), np.array([99.3]),
                                      np.array([to_days(dt.date(2012, 2, 10))]),
                                      np.array([to_days(dt.date(2015, 12, 20))]))
    assert got[0] == pytest.approx(0.686266937, abs=1e-9)


def test_simple_yield_counts_the_leap_day_within_a_year():
    """Under a year to run, 29 February counts (but the year still has 365 days)."""
    settle, maturity = dt.date(2028, 1, 10), dt.date(2028, 12, 20)
    got = stress.pricing.simple_yield(np.array([1.0]), np.array([99.5]),
                                      np.array([to_days(settle)]), np.array([to_days(maturity)]))
    years = (maturity - settle).days / 365
    assert got[0] == pytest.approx((1.0 + 0.5 / years) / 99.5 * 100, rel=1e-15)
    settle, maturity = dt.date(2027, 12, 20), dt.date(2028, 12, 20)  # a year to run
    got = stress.pricing.simple_yield(np.array([1.0]), np.array([99.5]),
                                      np.array([to_days(settle)]), np.array([to_days(maturity)]))
    assert got[0] == pytest.approx((1.0 + 0.5) / 99.5 * 100, rel=1e-15)


@settings(max_examples=ts.examples(100), deadline=None)
@given(st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31)), st.integers(1, 40 * 366),
       st.floats(0.0, 5.0), st.floats(50.0, 150.0))
def test_simple_yield_matches_its_definition(settle, days, coupon, price):
    maturity = settle + dt.timedelta(days=days)
    got = stress.pricing.simple_yield(np.array([coupon]), np.array([price]),
                                      np.array([to_days(settle)]), np.array([to_days(maturity)]))
    a_year_on = ref.add_months(settle, 12)
    n = ref.no_leap_days(settle, maturity) if maturity >= a_year_on else days
    leap_days = sum(1 for y in range(settle.year, maturity.year + 1)
                    if pycalendar.isleap(y) and settle < dt.date(y, 2, 29) <= maturity)
    if maturity >= a_year_on:
        assert n == days - leap_days
    expected = (coupon + (100 - price) / (n / 365)) / price * 100
    assert got[0] == pytest.approx(expected, rel=1e-13, abs=1e-13)


def test_simple_yield_in_analytics_uses_the_clean_price_at_settlement():
    frame = pl.DataFrame({
        "position_id": ["JGB10"], "instrument": ["bond"], "currency": ["JPY"],
        "notional": [1e9], "coupon": [1.7], "maturity": [dt.date(2035, 12, 20)],
        "convention": ["JGB"],
    })
    market = ts.market(VAL, CURVE, currency="JPY", fx={"USDJPY": 158.4})
    row = stress.analytics(portfolios.load(frame), market).row(0, named=True)
    assert row["settlement_date"] == dt.date(2026, 1, 21)
    years = ref.no_leap_days(dt.date(2026, 1, 21), dt.date(2035, 12, 20)) / 365
    clean = row["clean_price"]
    assert row["simple_yield"] == pytest.approx((1.7 + (100 - clean) / years) / clean * 100,
                                                rel=1e-14)


@example(val=dt.date(2026, 1, 20))
@given(st.dates(dt.date(2000, 1, 1), dt.date(2035, 12, 31)))
@settings(max_examples=ts.examples(10), deadline=None)
def test_jgb_preset_settles_t_plus_1_on_japanese_business_days(val):
    qb = qlref.fixed_rate_bond(val, dt.date(2045, 12, 20), 1.0, 2, "ACT/365F", calendar="JP",
                               convention="FOLLOWING", settlement_days=1)
    assume(not near_disagreement("JP", [val]))
    frame = pl.DataFrame({
        "position_id": ["J"], "instrument": ["bond"], "currency": ["JPY"], "notional": [1e9],
        "coupon": [1.0], "maturity": [dt.date(2045, 12, 20)], "convention": ["JGB"],
    })
    market = ts.market(val, CURVE, currency="JPY", fx={"USDJPY": 150.0})
    row = stress.analytics(portfolios.load(frame), market).row(0, named=True)
    assert row["settlement_date"] == qlref.pydate(qb.settlement)
