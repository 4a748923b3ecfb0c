"""Bond prices, yields and risk against QuantLib, their defining identities, named edge cases
and officially published price/yield examples.

Set ``STRESS_QL_EXAMPLES`` to run the random QuantLib comparison with more examples.
"""

from __future__ import annotations

import datetime as dt
import math
import os

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import portfolios
import stress
from portfolios.conventions import DAY_COUNT_NAMES, DAY_COUNTS, FREQUENCIES
from stress.cashflows import CashflowBook, build_cashflows
from stress.dates import from_days, to_days
from stress.kernels.bonds import yield_of
from stress.pricing import KEY_TENORS
from tests import strategies as ts

pytest.importorskip("QuantLib")
from tests import qlref

QL_EXAMPLES = int(os.environ.get("STRESS_QL_EXAMPLES", "100"))

# Tolerances (relative, with an absolute floor per 100 face for figures that can be ~0:
# QuantLib computes a coupon as 100 x ((1 + r t) - 1), which rounds at ~1e-14 per 100).
PRICE_REL, PRICE_ABS = 1e-10, 1e-12
YIELD_REL = 1e-9
RISK_REL = 1e-8


def close(ours: float, theirs: float, rel: float, abs_: float = 0.0) -> bool:
    return abs(ours - theirs) <= rel * abs(theirs) + abs_


def book_of(val: dt.date, bonds: list[ts.BondSpec] | tuple[ts.BondSpec, ...]) -> CashflowBook:
    return build_cashflows(
        val,
        np.array([to_days(b.maturity) for b in bonds], dtype=np.int64),
        np.array([b.coupon for b in bonds], dtype=np.float64),
        np.array([b.frequency for b in bonds], dtype=np.int64),
        np.array([DAY_COUNTS[b.day_count] for b in bonds], dtype=np.int64),
    )


def yield_defined(val: dt.date, bonds) -> bool:
    """False for a bond whose only remaining yield time is 0: under 30/360 the day before a
    maturity on the 1st, valued on the 31st, counts no days (no yield reproduces a price)."""
    book = book_of(val, bonds)
    return bool((book.yield_time[book.offsets[1:] - 1] > 0).all())


def yield_tolerance(y: float, val: dt.date, bond: ts.BondSpec) -> float:
    """1e-9 relative to the yield, floored by how well a yield is determined by a price
    known to ~1e-15 relative: dy ~ 1e-15 / duration (short bonds, yields near 0)."""
    book = book_of(val, [bond])
    # (+1e-14: a yield near 0 of a long bond whose stepwise times, e.g. ACT/ACT ISDA's over 600
    # monthly periods, each carry their own rounding.)
    return YIELD_REL * abs(y) + 1e-13 / book.yield_time[-1] + 1e-14


def compare_with_quantlib(case: ts.Case, market: stress.Market | None = None) -> None:
    """Assert that every bond of ``case`` matches QuantLib."""
    market = market or ts.market(case.valuation_date, case.curve)
    out = stress.analytics(ts.portfolio(case), market)
    curve = market.curves["USD"]
    base = qlref.zero_curve(case.valuation_date, list(curve.times), list(curve.rates))
    for b, row in zip(case.bonds, out.iter_rows(named=True), strict=True):
        qb = qlref.fixed_rate_bond(case.valuation_date, b.maturity, b.coupon, b.frequency,
                                   b.day_count)
        curve = qlref.spreaded(base, b.spread_bp / 1e4)
        if qlref.refuses_yield(b.day_count, b.maturity):
            qb.bond.setPricingEngine(qlref.ql.DiscountingBondEngine(curve))
            q = qlref.QlAnalytics(qb.bond.dirtyPrice(), qb.bond.cleanPrice(),
                                  qb.bond.accruedAmount(qb.settlement), qb.bond.NPV(),
                                  *[float("nan")] * 4)
        else:
            q = qlref.analytics(qb, curve)
        where = f"{case.valuation_date} {b}: ours {row}, QuantLib {q}"
        assert close(row["dirty_price"], q.dirty, PRICE_REL, PRICE_ABS), where
        assert close(row["clean_price"], q.clean, PRICE_REL, PRICE_ABS), where
        assert close(row["accrued"], q.accrued, PRICE_REL, PRICE_ABS), where
        if qlref.refuses_yield(b.day_count, b.maturity):
            continue
        ytm = row["ytm"] / 100.0
        assert abs(ytm - q.ytm) <= yield_tolerance(q.ytm, case.valuation_date, b), where
        # Yield risk at QuantLib's yield and ours differ by d(risk)/dy x dy; both are tiny.
        assert close(row["modified_duration"], q.modified_duration, RISK_REL), where
        assert close(row["macaulay_duration"], q.macaulay_duration, RISK_REL), where
        assert close(row["convexity"], q.convexity, RISK_REL), where


def one_bond_case(val: dt.date, bond: ts.BondSpec, curve: ts.CurveSpec | None = None) -> ts.Case:
    return ts.Case(val, curve or ts.CurveSpec(("1Y", "5Y", "10Y", "30Y"), (3.0, 3.5, 3.9, 4.2)),
                  (bond,))


def row_of(case: ts.Case) -> dict:
    market = ts.market(case.valuation_date, case.curve)
    return stress.analytics(ts.portfolio(case), market).row(0, named=True)


# --- random bonds against QuantLib ---------------------------------------------------------


@settings(max_examples=ts.examples(QL_EXAMPLES), deadline=None)
@given(ts.cases())
def test_random_bonds_match_quantlib(case):
    assume(yield_defined(case.valuation_date, case.bonds))
    compare_with_quantlib(case)


@settings(max_examples=ts.examples(50), deadline=None)
@given(ts.cases(max_bonds=2))
def test_clean_price_quotes_solve_to_quantlib_z_spread(case):
    """A clean price quote is reproduced by the solved spread, which is QuantLib's z-spread."""
    assume(yield_defined(case.valuation_date, case.bonds))
    market = ts.market(case.valuation_date, case.curve)
    priced = stress.analytics(ts.portfolio(case), market)
    quoted = ts.bond_frame(case.bonds).drop("spread_bp").with_columns(
        clean_price=priced["clean_price"]
    )
    assume((priced["clean_price"] > 0).all())
    out = stress.analytics(portfolios.load(quoted), market)
    curve = market.curves["USD"]
    base = qlref.zero_curve(case.valuation_date, list(curve.times), list(curve.rates))
    for b, p, row in zip(case.bonds, priced.iter_rows(named=True), out.iter_rows(named=True),
                         strict=True):
        assert close(row["clean_price"], p["clean_price"], 1e-12, 1e-12)
        qb = qlref.fixed_rate_bond(case.valuation_date, b.maturity, b.coupon, b.frequency,
                                   b.day_count)
        z = qlref.z_spread(qb, p["clean_price"], base)
        t_max = (b.maturity - case.valuation_date).days / 365.0
        # A spread is pinned down to (price rounding) / (price x duration).
        assert abs(row["spread_bp"] / 1e4 - z) <= 1e-12 / t_max + 1e-14
        assert abs(row["spread_bp"] - b.spread_bp) <= 1e-8 / t_max + 1e-10


# --- identities ----------------------------------------------------------------------------


def _yield_price(book: CashflowBook, i: int, y: float, f: int) -> float:
    sl = slice(book.offsets[i], book.offsets[i + 1])
    return float(np.sum(book.amount[sl] * (1.0 + y / f) ** (-f * book.yield_time[sl])))


@settings(max_examples=ts.examples(60), deadline=None)
@given(ts.cases())
def test_yield_round_trip(case):
    """price -> yield -> price, and yield -> price -> yield."""
    assume(yield_defined(case.valuation_date, case.bonds))
    out = stress.analytics(ts.portfolio(case), ts.market(case.valuation_date, case.curve))
    book = book_of(case.valuation_date, case.bonds)
    for i, (b, row) in enumerate(zip(case.bonds, out.iter_rows(named=True), strict=True)):
        back = _yield_price(book, i, row["ytm"] / 100, b.frequency)
        assert close(back, row["dirty_price"], 1e-12, 1e-13)
    freq = np.array([b.frequency for b in case.bonds], dtype=np.int64)
    y0 = np.array([0.02 + 0.01 * i for i in range(len(case.bonds))])
    prices = np.array([_yield_price(book, i, y0[i], b.frequency)
                       for i, b in enumerate(case.bonds)])
    for i, b in enumerate(case.bonds):
        y, ok = yield_of(book.offsets[i], book.offsets[i + 1], 0.0, book.yield_time,
                         book.amount, freq[i], prices[i], 0.0)
        assert ok
        assert abs(y - y0[i]) <= yield_tolerance(y0[i], case.valuation_date, b)


@settings(max_examples=ts.examples(60), deadline=None)
@given(ts.cases())
def test_yield_risk_is_the_finite_difference_of_the_yield_price(case):
    """Modified duration = -P'(y)/P and convexity = P''(y)/P by central differences of
    QuantLib's price-from-yield; Macaulay = modified x (1 + y/f)."""
    assume(yield_defined(case.valuation_date, case.bonds))
    out = stress.analytics(ts.portfolio(case), ts.market(case.valuation_date, case.curve))
    for b, row in zip(case.bonds, out.iter_rows(named=True), strict=True):
        if qlref.refuses_yield(b.day_count, b.maturity):
            continue
        qb = qlref.fixed_rate_bond(case.valuation_date, b.maturity, b.coupon, b.frequency,
                                   b.day_count)
        y = row["ytm"] / 100

        def price(dy: float, qb=qb, y=y) -> float:
            return qlref.yield_dirty_price(qb, y + dy)

        p0 = price(0.0)
        assert close(p0, row["dirty_price"], 1e-11, 1e-12)
        h = 1e-6
        fd_duration = -(price(h) - price(-h)) / (2 * h * p0)
        assert close(row["modified_duration"], fd_duration, 1e-6, 1e-9)
        h = 1e-4
        fd_convexity = (price(h) + price(-h) - 2 * p0) / (h * h * p0)
        assert close(row["convexity"], fd_convexity, 1e-5, 1e-6)
        assert close(row["macaulay_duration"],
                     row["modified_duration"] * (1 + y / b.frequency), 1e-14)


#: Shifted copies of the curve under other currencies, so that one market and one portfolio
#: price every bond on all of them at once: (currency, parallel shift in bp).
_SHIFTS = (("USD", 0.0), ("EUR", 0.01), ("GBP", -0.01), ("CHF", 1.0), ("SEK", -1.0))


@settings(max_examples=ts.examples(60), deadline=None)
@given(ts.cases())
def test_effective_risk_is_the_finite_difference_of_curve_shifts(case):
    """Effective duration/convexity = -P'/P and P''/P under parallel zero-rate shifts of the
    market curve; key-rate durations add up to the effective duration."""
    assume(yield_defined(case.valuation_date, case.bonds))
    market = stress.Market.from_dict({
        "valuation_date": case.valuation_date,
        "curves": {ccy: case.curve.shifted(bp).table() for ccy, bp in _SHIFTS},
        "fx": {"EURUSD": 1.1, "GBPUSD": 1.3, "USDCHF": 0.9, "USDSEK": 10.5},
    })
    frame = pl.concat([ts.bond_frame(case.bonds, ccy).with_columns(
        position_id=pl.col("position_id") + ccy) for ccy, _ in _SHIFTS])
    out = stress.analytics(portfolios.load(frame), market)
    n = len(case.bonds)
    p = out["dirty_price"].to_numpy().reshape(len(_SHIFTS), n)
    p0, up1, down1, up2, down2 = p
    h = 1e-6  # 0.01 bp
    fd_d = -(up1 - down1) / (2 * h * p0)
    base = out[:n]
    np.testing.assert_allclose(base["effective_duration"].to_numpy(), fd_d, rtol=1e-6,
                               atol=1e-8)
    h = 1e-4  # 1 bp
    fd_c = (up2 + down2 - 2 * p0) / (h * h * p0)
    np.testing.assert_allclose(base["effective_convexity"].to_numpy(), fd_c, rtol=1e-5,
                               atol=1e-6)
    krd = base.select([f"krd_{k:g}y" for k in KEY_TENORS]).to_numpy().sum(axis=1)
    np.testing.assert_allclose(krd, base["effective_duration"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        base["dv01"].to_numpy(),
        base["effective_duration"].to_numpy() * base["pv"].to_numpy() * 1e-4,
        rtol=1e-12,
    )


@settings(max_examples=ts.examples(100), deadline=None)
@given(ts.valuation_dates().flatmap(lambda v: st.tuples(st.just(v), ts.bonds(v))),
       st.floats(-0.04, 0.3), st.floats(1e-6, 0.05))
def test_price_falls_as_yield_rises(drawn, y, dy):
    val, bond = drawn
    assume(yield_defined(val, [bond]))
    book = book_of(val, [bond])
    assert _yield_price(book, 0, y + dy, bond.frequency) < _yield_price(book, 0, y,
                                                                          bond.frequency)


@settings(max_examples=ts.examples(40), deadline=None)
@given(ts.cases(max_bonds=1), st.floats(1.0, 200.0))
def test_ytm_rises_with_the_spread(case, extra_bp):
    assume(yield_defined(case.valuation_date, case.bonds))
    wider = ts.Case(case.valuation_date, case.curve,
                   tuple(ts.BondSpec(b.maturity, b.coupon, b.frequency, b.day_count, b.notional,
                                    b.spread_bp + extra_bp) for b in case.bonds))
    a, b = row_of(case), row_of(wider)
    assert b["dirty_price"] < a["dirty_price"]
    assert b["ytm"] > a["ytm"]


# --- named edge cases ----------------------------------------------------------------------


@pytest.mark.parametrize("frequency", FREQUENCIES)
@pytest.mark.parametrize("day_count", DAY_COUNT_NAMES)
def test_valuation_on_a_coupon_date(frequency, day_count):
    """On a coupon date accrued is 0 and that coupon is gone: the first cashflow is the next
    coupon, a whole period later."""
    val = dt.date(2026, 5, 15)
    bond = ts.BondSpec(dt.date(2036, 5, 15), 4.5, frequency, day_count, spread_bp=25.0)
    case = one_bond_case(val, bond)
    book = book_of(val, [bond])
    assert book.accrued[0] == 0.0
    assert from_days(book.pay_day[0]) == qlref.pydate(qlref.qdate(val) + qlref.ql.Period(
        12 // frequency, qlref.ql.Months))
    assert book.n_cashflows == 10 * frequency
    assert from_days(book.coupon_days[0, 0]) == val
    row = row_of(case)
    assert row["accrued"] == 0.0
    assert row["clean_price"] == row["dirty_price"]
    compare_with_quantlib(case)


@pytest.mark.parametrize(
    ("maturity", "expected_dates"),
    [
        # Feb 28 of a non-leap year is a month end: every coupon date is a month end.
        (dt.date(2027, 2, 28), [dt.date(2026, 8, 31), dt.date(2027, 2, 28)]),
        # Feb 29: a leap-day maturity, month ends too (Feb 28 in non-leap years).
        (dt.date(2028, 2, 29), [dt.date(2026, 8, 31), dt.date(2027, 2, 28), dt.date(2027, 8, 31),
                                dt.date(2028, 2, 29)]),
        # The 31st: month ends (Sep 30 between).
        (dt.date(2027, 3, 31), [dt.date(2026, 3, 31), dt.date(2026, 9, 30), dt.date(2027, 3, 31)]),
        # Feb 28 of a leap year is NOT a month end: the day stays the 28th.
        (dt.date(2028, 2, 28), [dt.date(2026, 8, 28), dt.date(2027, 2, 28), dt.date(2027, 8, 28),
                                dt.date(2028, 2, 28)]),
        # The 30th of a 31-day month: Feb clamps to its end, the others stay on the 30th.
        (dt.date(2027, 8, 30), [dt.date(2026, 2, 28), dt.date(2026, 8, 30), dt.date(2027, 2, 28),
                                dt.date(2027, 8, 30)]),
    ],
)
@pytest.mark.parametrize("day_count", DAY_COUNT_NAMES)
def test_month_end_maturities(maturity, expected_dates, day_count):
    val = dt.date(2026, 1, 20) if maturity.month != 2 else dt.date(2026, 3, 2)
    bond = ts.BondSpec(maturity, 5.25, 2, day_count, spread_bp=-15.0)
    book = book_of(val, [bond])
    assert [from_days(d) for d in book.pay_day] == expected_dates
    compare_with_quantlib(one_bond_case(val, bond))


@pytest.mark.parametrize("frequency", FREQUENCIES)
def test_month_end_schedules_for_every_frequency(frequency):
    val = dt.date(2024, 2, 29)
    bonds = tuple(ts.BondSpec(m, 3.0, frequency, "ACT/ACT-ICMA") for m in (
        dt.date(2029, 2, 28), dt.date(2032, 2, 29), dt.date(2030, 5, 31), dt.date(2031, 4, 30)))
    book = book_of(val, bonds)
    assert all(from_days(d + 1).day == 1 for d in book.pay_day)  # all month ends
    compare_with_quantlib(ts.Case(val, ts.CurveSpec(("1Y", "10Y"), (2.0, 4.0)), bonds))


def test_forty_year_jgb():
    """A 40-year JGB (JGB convention: semiannual ACT/365F) on a JPY curve."""
    val = dt.date(2026, 1, 20)
    frame = pl.DataFrame({
        "position_id": ["JGB40"], "instrument": ["bond"], "currency": ["JPY"],
        "notional": [1e9], "coupon": [2.2], "maturity": [dt.date(2066, 3, 20)],
        "convention": ["JGB"],
    })
    pf = portfolios.load(frame, valuation_date=val)
    assert pf.frame.row(0, named=True)["frequency"] == 2
    assert pf.frame.row(0, named=True)["day_count"] == "ACT/365F"
    curve = ts.CurveSpec(("1Y", "5Y", "10Y", "20Y", "30Y", "40Y"), (0.9, 1.4, 2.2, 3.1, 3.5, 3.7))
    market = ts.market(val, curve, currency="JPY", fx={"USDJPY": 158.4})
    row = stress.analytics(pf, market).row(0, named=True)
    zc = market.curves["JPY"]
    qb = qlref.preset_bond(val, dt.date(2066, 3, 20), 2.2, "JGB")  # T+1, Japanese calendar
    q = qlref.analytics(qb, qlref.zero_curve(val, list(zc.times), list(zc.rates)))
    assert row["settlement_date"] == qlref.pydate(qb.settlement) == dt.date(2026, 1, 21)
    assert close(row["pv"] / 1e7, q.npv, PRICE_REL)
    assert close(row["dirty_price"], q.dirty, PRICE_REL)
    assert close(row["accrued"], q.accrued, PRICE_REL)
    assert close(row["ytm"] / 100, q.ytm, YIELD_REL)
    assert close(row["modified_duration"], q.modified_duration, RISK_REL)
    assert close(row["convexity"], q.convexity, RISK_REL)
    assert row["effective_duration"] > 20
    assert row["pv_base"] == pytest.approx(row["pv"] / 158.4, rel=1e-14)


@pytest.mark.parametrize("frequency", FREQUENCIES)
@pytest.mark.parametrize("day_count", DAY_COUNT_NAMES)
def test_zero_coupon(frequency, day_count):
    """Price = 100 DF(T); yield in closed form (100/P)^(1/(f T)) - 1 per period."""
    val = dt.date(2025, 7, 9)
    bond = ts.BondSpec(dt.date(2047, 11, 15), 0.0, frequency, day_count, spread_bp=40.0)
    case = one_bond_case(val, bond)
    row = row_of(case)
    market = ts.market(val, case.curve)
    t = (bond.maturity - val).days / 365
    assert row["dirty_price"] == pytest.approx(
        100 * math.exp(-(market.curves["USD"].zero(t) + 0.004) * t), rel=1e-14)
    assert row["accrued"] == 0.0
    book = book_of(val, [bond])
    T = book.yield_time[-1]
    y = frequency * ((100 / row["dirty_price"]) ** (1 / (frequency * T)) - 1)
    assert row["ytm"] / 100 == pytest.approx(y, rel=1e-12)
    assert row["macaulay_duration"] == pytest.approx(T, rel=1e-12)
    assert row["effective_duration"] == pytest.approx(t, rel=1e-14)
    compare_with_quantlib(case)


@pytest.mark.parametrize("day_count", DAY_COUNT_NAMES)
@pytest.mark.parametrize("val", [dt.date(2026, 1, 20), dt.date(2028, 2, 28), dt.date(2027, 2, 27)])
def test_one_day_to_maturity(day_count, val):
    maturity = val + dt.timedelta(days=1)
    bond = ts.BondSpec(maturity, 6.0, 2, day_count, spread_bp=10.0)
    case = one_bond_case(val, bond)
    book = book_of(val, [bond])
    assert book.n_cashflows == 1
    if not yield_defined(val, [bond]):
        # NL/365 counts no day from 28 to 29 February: no yield (like 30/360 below).
        assert day_count == "NL/365" and maturity == dt.date(2028, 2, 29)
        with pytest.warns(stress.StressWarning, match="did not converge"):
            row = row_of(case)
        assert row["dirty_price"] == pytest.approx(book.amount[0] * math.exp(-0.031 / 365),
                                                   rel=1e-14)
        return
    row = row_of(case)
    df = math.exp(-(0.03 + 0.001) / 365)
    assert row["dirty_price"] == pytest.approx(book.amount[0] * df, rel=1e-14)
    assert row["effective_duration"] == pytest.approx(1 / 365, rel=1e-14)
    compare_with_quantlib(case)


def test_thirty_360_day_before_maturity_has_no_yield():
    """30/360 counts no days from Dec 31 to Jan 1 after a whole year accrued: the last
    cashflow's yield time is 0, no yield reproduces the price. We warn and leave ytm empty;
    QuantLib cannot solve it either."""
    val = dt.date(2025, 12, 31)
    bond = ts.BondSpec(dt.date(2026, 1, 1), 4.0, 1, "30/360")
    assert not yield_defined(val, [bond])
    case = one_bond_case(val, bond)
    with pytest.warns(stress.StressWarning, match="yield to maturity did not converge for B0"):
        row = row_of(case)
    assert row["ytm"] is None and row["modified_duration"] is None
    assert row["dirty_price"] == pytest.approx(104 * math.exp(-0.03 / 365), rel=1e-14)
    qb = qlref.fixed_rate_bond(val, bond.maturity, 4.0, 1, "30/360")
    with pytest.raises(RuntimeError):
        qlref.bond_yield(qb, row["dirty_price"])


def test_negative_rates_curve():
    val = dt.date(2020, 9, 30)
    curve = ts.CurveSpec(("3M", "1Y", "2Y", "5Y", "10Y", "30Y"),
                        (-0.6, -0.65, -0.7, -0.6, -0.45, -0.1))
    bonds = (
        ts.BondSpec(dt.date(2030, 8, 15), 0.0, 1, "ACT/ACT-ICMA"),
        ts.BondSpec(dt.date(2025, 10, 10), 0.0, 1, "ACT/ACT-ICMA", spread_bp=-20.0),
        ts.BondSpec(dt.date(2050, 8, 15), 0.25, 1, "ACT/ACT-ICMA"),
        ts.BondSpec(dt.date(2023, 2, 28), 0.5, 4, "30E/360", spread_bp=5.0),
    )
    case = ts.Case(val, curve, bonds)
    compare_with_quantlib(case)
    out = stress.analytics(ts.portfolio(case), ts.market(val, curve))
    assert (out["dirty_price"][:2] > 100).all()
    assert (out["ytm"][:2] < 0).all()


def test_short_position():
    """A short position has negative pv and dv01; every per-100 figure is the long one's."""
    val = dt.date(2026, 1, 20)
    long_ = ts.BondSpec(dt.date(2035, 11, 15), 4.25, 2, "ACT/ACT-ICMA", 5e6, 12.0)
    short = ts.BondSpec(dt.date(2035, 11, 15), 4.25, 2, "ACT/ACT-ICMA", -5e6, 12.0)
    case = ts.Case(val, ts.CurveSpec(("1Y", "10Y", "30Y"), (3.6, 4.1, 4.6)), (long_, short))
    out = stress.analytics(ts.portfolio(case), ts.market(val, case.curve))
    a, b = out.row(0, named=True), out.row(1, named=True)
    per_100 = ["clean_price", "dirty_price", "accrued", "ytm", "macaulay_duration",
               "modified_duration", "convexity", "effective_duration", "effective_convexity",
               *[f"krd_{k:g}y" for k in KEY_TENORS]]
    assert {k: a[k] for k in per_100} == {k: b[k] for k in per_100}
    assert b["pv"] == pytest.approx(-5e6 / 100 * b["dirty_price"], rel=1e-15) and b["pv"] < 0
    assert b["pv"] == -a["pv"] and b["dv01"] == -a["dv01"] and b["dv01"] < 0
    compare_with_quantlib(case)


@pytest.mark.parametrize("clean", [85.5, 100.0, 112.25])
def test_clean_price_quote_reproduced_by_the_solved_spread(clean):
    val = dt.date(2026, 1, 20)
    frame = pl.DataFrame({
        "position_id": ["Q1"], "instrument": ["bond"], "currency": ["USD"], "notional": [1e6],
        "coupon": [4.0], "maturity": [dt.date(2036, 2, 15)], "convention": ["USD_CORP"],
        "clean_price": [clean],
    })
    curve = ts.CurveSpec(("1Y", "5Y", "10Y", "30Y"), (3.0, 3.5, 3.9, 4.2))
    market = ts.market(val, curve)
    row = stress.analytics(portfolios.load(frame), market).row(0, named=True)
    assert row["clean_price"] == pytest.approx(clean, rel=1e-13)
    zc = market.curves["USD"]
    qb = qlref.preset_bond(val, dt.date(2036, 2, 15), 4.0, "USD_CORP")  # T+1, SIFMA calendar
    base = qlref.zero_curve(val, list(zc.times), list(zc.rates))
    assert row["spread_bp"] / 1e4 == pytest.approx(qlref.z_spread(qb, clean, base), abs=1e-13)
    q = qlref.analytics(qb, qlref.spreaded(base, row["spread_bp"] / 1e4))
    assert q.clean == pytest.approx(clean, rel=1e-12)


def test_clean_price_equal_to_the_curve_price_solves_to_zero_spread():
    """Regression: a quote equal to the zero-spread price gave a -5000 bp spread."""
    val = dt.date(2026, 1, 20)
    bond = ts.BondSpec(dt.date(2027, 1, 20), 0.0, 1, "ACT/365F")
    case = one_bond_case(val, bond, ts.CurveSpec(("1Y", "2Y"), (0.0, 0.0)))
    frame = ts.bond_frame(case.bonds).drop("spread_bp").with_columns(clean_price=pl.lit(100.0))
    row = stress.analytics(portfolios.load(frame), ts.market(val, case.curve)).row(0, named=True)
    assert row["spread_bp"] == 0.0 and row["clean_price"] == 100.0


def test_unreachable_clean_price_is_rejected_as_bad_input():
    """Regression: a price no spread in (-100 %, 100 %) reproduces used to "converge" to the
    edge of the bracket (-10000 bp) silently; it is now a validation error naming the row."""
    val = dt.date(2026, 1, 20)
    frame = pl.DataFrame({
        "position_id": ["Q9"], "instrument": ["bond"], "currency": ["USD"], "notional": [1e6],
        "coupon": [4.0], "maturity": [dt.date(2027, 1, 20)], "convention": ["UST"],
        "clean_price": [5000.0],
    })
    market = ts.market(val, ts.CurveSpec(("1Y", "5Y"), (3.0, 3.5)))
    with pytest.raises(portfolios.PortfolioValidationError) as err:
        stress.analytics(portfolios.load(frame), market)
    assert (
        "row 1 (position_id 'Q9'), column 'clean_price': got 5000.0; expected a clean price "
        "that some spread over the USD curve reproduces"
    ) in str(err.value)


# --- officially published examples ---------------------------------------------------------


def yield_price_and_accrued(val: dt.date, bond: ts.BondSpec, y: float) -> tuple[float, float]:
    """(dirty price, accrued) per 100 at yield ``y`` from our cashflow book."""
    book = book_of(val, [bond])
    return _yield_price(book, 0, y, bond.frequency), float(book.accrued[0])


def test_us_treasury_published_price():
    """31 CFR Part 356, Appendix B ("Formulas and Tables"), section II.A, the example for a
    security with a regular first interest payment period: the 8-3/4 % 30-year bond issued
    May 15, 1990, due May 15, 2020, interest May 15 / Nov 15, sold at a yield of 8.84 %:
    P = 99.057893 per 100 (prices are rounded to six decimals).

    Settlement on a coupon date (r = s = 184) makes Treasury's formula the ordinary
    semiannual compounded yield price, which is what we compute (ACT/ACT-ICMA, UST)."""
    bond = ts.BondSpec(dt.date(2020, 5, 15), 8.75, 2, "ACT/ACT-ICMA")
    dirty, accrued = yield_price_and_accrued(dt.date(1990, 5, 15), bond, 0.0884)
    assert accrued == 0.0
    assert round(dirty, 6) == 99.057893
    # And back: the yield of the published price.
    book = book_of(dt.date(1990, 5, 15), [bond])
    y, ok = yield_of(0, book.offsets[1], 0.0, book.yield_time, book.amount, 2, 99.057893, 0.03)
    assert ok and round(y * 100, 4) == 8.84


def test_us_treasury_published_accrued_interest():
    """31 CFR Part 356, Appendix B, section I.D, example (1): a 6-3/4 % note issued May 15,
    2000 (first interest Nov 15, 2000; a 5-year note, due May 15, 2005), reopened Aug 15,
    2000: 92 of 184 days accrued, $16.87500 per $1,000 (1.6875 per 100)."""
    bond = ts.BondSpec(dt.date(2005, 5, 15), 6.75, 2, "ACT/ACT-ICMA")
    _, accrued = yield_price_and_accrued(dt.date(2000, 8, 15), bond, 0.05)
    assert round(accrued * 10, 5) == 16.875


@pytest.mark.parametrize(
    ("settlement", "maturity", "coupon", "yield_pct", "dirty"),
    [
        (dt.date(1999, 5, 24), dt.date(2015, 12, 7), 8.0, 4.445, 145.012268),
        (dt.date(1999, 5, 26), dt.date(2015, 12, 7), 8.0, 4.445, 145.047301),
        (dt.date(1999, 5, 10), dt.date(2004, 11, 26), 6.75, 4.634, 113.315543),
        (dt.date(1999, 5, 17), dt.date(2004, 11, 26), 6.75, 4.634, 113.415969),
    ],
)
def test_uk_dmo_published_gilt_prices(settlement, maturity, coupon, yield_pct, dirty):
    """UK Debt Management Office gilt price/yield worked examples (8 % Treasury 2015 and
    6-3/4 % Treasury 2004 at gross redemption yields of 4.445 % and 4.634 %, cum-dividend
    settlements), dirty prices per 100 to six decimals, as tabulated from the DMO's
    published examples in rateslib's ``FixedRateBond`` documentation. The DMO formula
    discounts at v^(r/s) with v = 1/(1 + y/2), i.e. our semiannual ACT/ACT-ICMA yield price.
    (The examples' ex-dividend settlements are left out: we do not model ex-dividend.)"""
    bond = ts.BondSpec(maturity, coupon, 2, "ACT/ACT-ICMA")
    price, _ = yield_price_and_accrued(settlement, bond, yield_pct / 100)
    assert round(price, 6) == dirty
