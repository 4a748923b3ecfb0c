"""The numba kernels and vectorized builders against the pure-Python references."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import portfolios
import stress
from portfolios.conventions import DAY_COUNT_NAMES, DAY_COUNTS, FREQUENCIES
from portfolios.synthetic import synthetic_book
from shocks.tenors import add_months
from stress import pricing
from stress.book import build_book
from stress.cashflows import CashflowBook, build_cashflows
from stress.curves import ZeroCurve
from stress.dates import from_days, to_days
from stress.kernels import bonds as kb
from stress.kernels import fastexp
from stress.kernels import schedules as ks
from stress.pricing import KEY_TENORS
from tests import reference as ref
from tests import strategies as ts

SETTINGS = settings(max_examples=ts.examples(150), deadline=None)


def book_of(val: dt.date, specs: list[ts.BondSpec]):
    return build_cashflows(
        val,
        np.array([to_days(b.maturity) for b in specs], dtype=np.int64),
        np.array([b.coupon for b in specs], dtype=np.float64),
        np.array([b.frequency for b in specs], dtype=np.int64),
        np.array([DAY_COUNTS[b.day_count] for b in specs], dtype=np.int64),
    )


def segment(book, i: int) -> slice:
    return slice(int(book.offsets[i]), int(book.offsets[i + 1]))


@st.composite
def books(draw: st.DrawFn, max_bonds: int = 5):
    val = draw(ts.valuation_dates())
    specs = draw(st.lists(ts.bonds(val), min_size=1, max_size=max_bonds))
    return val, specs


# --- calendar and day counts -------------------------------------------------------------


@SETTINGS
@given(ts.valuation_dates(), st.integers(-600, 600), st.booleans())
def test_roll_back_matches_month_arithmetic(d, months, eom):
    got = ks.roll_back(d.year * 12 + d.month - 1, d.day, eom, -months, 1)
    assert from_days(got) == ref.add_months(d, months, eom)


@SETTINGS
@given(ts.valuation_dates(), st.integers(0, 600))
def test_add_tenor_clamps_to_month_end(d, months):
    assert add_months(d, months) == ref.add_months(d, months)


@SETTINGS
@given(st.dates(dt.date(1900, 3, 1), dt.date(2200, 12, 31)))
def test_civil_date_round_trip(d):
    n = to_days(d)
    assert ks.civil_from_days(n) == (d.year, d.month, d.day)
    assert ks.days_from_civil(d.year, d.month, d.day) == n
    assert ks.days_in_month(d.year, d.month) == (ref.add_months(d, 0, True).day)


@st.composite
def day_count_inputs(draw: st.DrawFn):
    """A regular coupon period [start, end] and d1 <= d2 inside or around it."""
    maturity = draw(ts.maturities(draw(ts.valuation_dates())))
    frequency = draw(st.sampled_from(FREQUENCIES))
    k = draw(st.integers(0, 40))
    end = ref.add_months(maturity, -k * (12 // frequency), ref.is_month_end(maturity))
    start = ref.add_months(maturity, -(k + 1) * (12 // frequency), ref.is_month_end(maturity))
    d1 = draw(st.one_of(st.just(start), st.dates(start, end)))
    # Inside the period, its end, or anywhere later (30/360 pairs across month ends).
    d2 = draw(st.one_of(st.just(end), st.dates(d1, end), ts.maturities(d1)))
    return d1, d2, start, end, frequency


@SETTINGS
@given(day_count_inputs(), st.sampled_from(DAY_COUNT_NAMES))
def test_year_fraction_matches_reference(inputs, name):
    d1, d2, start, end, f = inputs
    got = ks.year_fraction(DAY_COUNTS[name], to_days(d1), to_days(d2), to_days(start),
                           to_days(end), f)
    assert got == pytest.approx(ref.year_fraction(name, d1, d2, start, end, f), rel=1e-15,
                                abs=1e-15)


@pytest.mark.parametrize(
    ("d1", "d2", "us", "eu"),
    [
        # Values worked out by hand from the written rules.
        (dt.date(2026, 1, 31), dt.date(2026, 7, 31), 180, 180),
        (dt.date(2026, 1, 30), dt.date(2026, 7, 31), 180, 180),
        (dt.date(2026, 1, 29), dt.date(2026, 7, 31), 182, 181),
        (dt.date(2026, 2, 28), dt.date(2026, 8, 31), 180, 182),  # Feb end counts as the 30th (US)
        (dt.date(2027, 2, 28), dt.date(2028, 2, 29), 360, 361),  # both Feb ends (US)
        (dt.date(2028, 2, 29), dt.date(2028, 8, 31), 180, 181),
        (dt.date(2028, 2, 28), dt.date(2028, 8, 28), 180, 180),  # Feb 28 of a leap year: no rule
        (dt.date(2025, 12, 31), dt.date(2026, 1, 1), 1, 1),
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31), 360, 359),
    ],
)
def test_thirty_360_hand_values(d1, d2, us, eu):
    assert ref.days_30_360_us(d1, d2) == us
    assert ref.days_30e_360(d1, d2) == eu
    assert ks.year_fraction(3, to_days(d1), to_days(d2), 0, 1, 2) == pytest.approx(us / 360)
    assert ks.year_fraction(4, to_days(d1), to_days(d2), 0, 1, 2) == pytest.approx(eu / 360)


# --- cashflows ------------------------------------------------------------------------------


@SETTINGS
@given(books())
def test_build_cashflows_matches_reference(drawn):
    val, specs = drawn
    book = book_of(val, specs)
    assert book.n_bonds == len(specs)
    assert book.offsets[0] == 0 and book.offsets[-1] == book.n_cashflows
    for i, b in enumerate(specs):
        r = ref.cashflows(val, b.maturity, b.coupon, b.frequency, b.day_count)
        sl = segment(book, i)
        assert [from_days(d) for d in book.pay_day[sl]] == [f.pay for f in r.flows]
        assert book.pay_day[sl][-1] == to_days(b.maturity)
        np.testing.assert_array_equal(book.time[sl], [f.time for f in r.flows])
        np.testing.assert_allclose(book.amount[sl], [f.amount for f in r.flows], rtol=1e-14,
                                   atol=1e-13)
        np.testing.assert_allclose(book.yield_time[sl], [f.yield_time for f in r.flows],
                                   rtol=1e-13, atol=1e-14)
        assert book.accrued[i] == pytest.approx(r.accrued, rel=1e-14, abs=1e-14)
        assert tuple(from_days(d) for d in book.coupon_days[i]) == r.period
        assert r.period[0] <= val < r.period[1]


@SETTINGS
@given(books(max_bonds=6), st.data())
def test_cashflow_subset_picks_bonds(drawn, data):
    val, specs = drawn
    book = book_of(val, specs)
    pick = np.array(data.draw(st.lists(st.integers(0, len(specs) - 1), max_size=8)),
                    dtype=np.int64)
    sub = book.subset(pick)
    alone = book_of(val, [specs[i] for i in pick]) if len(pick) else None
    assert sub.n_bonds == len(pick)
    if alone is not None:
        for name in ("offsets", "pay_day", "time", "amount", "yield_time", "accrued",
                     "coupon_days"):
            np.testing.assert_array_equal(getattr(sub, name), getattr(alone, name))


@SETTINGS
@given(books(max_bonds=6), st.data())
def test_cashflow_concat_is_the_book_of_all_bonds(drawn, data):
    val, specs = drawn
    cut = data.draw(st.integers(0, len(specs)))
    parts = [book_of(val, specs[:cut]) if cut else CashflowBook.empty(to_days(val)),
             book_of(val, specs[cut:]) if cut < len(specs) else CashflowBook.empty(to_days(val))]
    joined = CashflowBook.concat(parts)
    whole = book_of(val, specs)
    for name in ("offsets", "pay_day", "time", "amount", "yield_time", "accrued", "coupon_days"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(whole, name))


def test_large_books_take_the_parallel_path_with_the_same_results():
    """Books above the parallel threshold give what the same bonds give in small (serial)
    chunks, and what the reference gives."""
    from stress.cashflows import _WORK_PER_BOND
    from stress.work import threaded

    n = 2500
    assert threaded(n * _WORK_PER_BOND, n) and not threaded(500 * _WORK_PER_BOND, 500)
    rng = np.random.default_rng(20260120)
    val = dt.date(2026, 1, 20)
    maturity = to_days(val) + rng.integers(1, 50 * 365, n)
    maturity[::7] = [to_days(ref.add_months(from_days(d), 0, True)) for d in maturity[::7]]
    coupon = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0, 10, n))
    freq = rng.choice(FREQUENCIES, n)
    code = rng.integers(0, 5, n)
    big = build_cashflows(val, maturity, coupon, freq, code)
    chunks = [build_cashflows(val, maturity[i:i + 500], coupon[i:i + 500], freq[i:i + 500],
                              code[i:i + 500]) for i in range(0, n, 500)]
    for name in ("pay_day", "time", "amount", "yield_time", "accrued", "coupon_days"):
        np.testing.assert_array_equal(getattr(big, name),
                                      np.concatenate([getattr(c, name) for c in chunks]))
    np.testing.assert_array_equal(np.diff(big.offsets),
                                  np.concatenate([np.diff(c.offsets) for c in chunks]))
    for i in rng.choice(n, 40, replace=False):
        r = ref.cashflows(val, from_days(maturity[i]), coupon[i], int(freq[i]),
                          DAY_COUNT_NAMES[code[i]])
        sl = segment(big, i)
        assert [from_days(d) for d in big.pay_day[sl]] == [f.pay for f in r.flows]
        np.testing.assert_allclose(big.amount[sl], [f.amount for f in r.flows], rtol=1e-14,
                                   atol=1e-13)


def test_build_cashflows_rejects_bad_inputs():
    val = dt.date(2026, 1, 20)
    with pytest.raises(ValueError, match="after the valuation date"):
        build_cashflows(val, np.array([to_days(val)]), np.array([1.0]), np.array([2]),
                        np.array([0]))
    with pytest.raises(ValueError, match="frequency must be 1, 2, 4 or 12"):
        build_cashflows(val, np.array([to_days(val) + 400]), np.array([1.0]), np.array([3]),
                        np.array([0]))
    # Each rule alone, on the second of two bonds (the first is good).
    v = to_days(val)
    good: dict[str, Any] = {"maturity_day": [v + 800], "coupon": [1.0], "frequency": [2],
                            "day_count": [0], "issue_day": [ks.NO_DATE], "first_coupon_day":
                            [ks.NO_DATE], "calendar": [0], "business_day_convention": [0],
                            "settlement_days": [0], "ex_dividend_days": [0]}  # fmt: skip
    cases = [
        ({"frequency": 12, "day_count": 8}, None),
        ({"frequency": 0}, "frequency must be"), ({"frequency": 6}, "frequency must be"),
        ({"frequency": 24}, "frequency must be"), ({"day_count": 9}, "frequency must be"),
        ({"day_count": -1}, "frequency must be"), ({"calendar": 6}, "unknown calendar"),
        ({"calendar": -1}, "unknown calendar"),
        ({"business_day_convention": 5}, "unknown calendar"),
        ({"settlement_days": -1}, "unknown calendar"), ({"ex_dividend_days": -1}, "unknown"),
        ({"issue_day": v + 1}, "issue dates"), ({"issue_day": v + 800}, "issue dates"),
        ({"issue_day": v - 10, "first_coupon_day": v - 10}, "issue dates"),
        ({"first_coupon_day": v + 100}, "issue dates"),
        ({"issue_day": v - 10, "first_coupon_day": v + 801}, "issue dates"),
        ({"issue_day": v - 10, "first_coupon_day": v + 800}, None),
        ({"maturity_day": v, "frequency": 3}, "after the valuation date"),
    ]
    for change, error in cases:
        args = {k: np.array(x * 2) for k, x in good.items()}
        for k, x in change.items():
            args[k][1] = x
        if error is None:
            build_cashflows(val, **args)
        else:
            with pytest.raises(ValueError, match=error):
                build_cashflows(val, **args)


# --- curves ----------------------------------------------------------------------------------


@st.composite
def curves(draw: st.DrawFn):
    n = draw(st.integers(1, 8))
    times = sorted(draw(st.lists(st.floats(1 / 365, 60.0), min_size=n, max_size=n,
                                 unique=True)))
    rates = draw(st.lists(st.floats(-0.02, 0.1), min_size=n, max_size=n))
    return np.array(times), np.array(rates)


@SETTINGS
@given(curves(), st.lists(st.floats(0.0, 80.0), min_size=1, max_size=20))
def test_interp_flat_and_zero_curve_match_reference(curve, at):
    times, rates = curve
    zc = ZeroCurve("USD", times, rates)
    for t in at:
        expected = ref.interpolate(list(times), list(rates), t)
        assert kb.interp_flat(times, rates, t) == pytest.approx(expected, rel=1e-13, abs=1e-15)
        assert zc.zero(t) == pytest.approx(expected, rel=1e-13, abs=1e-15)
        assert zc.discount(t) == pytest.approx(math.exp(-expected * t), rel=1e-13)


def _curve_arrays(market: stress.Market):
    c = market.curves["USD"]
    return np.array([0, len(c.times)], dtype=np.int64), c.times, c.rates


_KEY_TIMES = st.one_of(
    st.sampled_from([0.0, *KEY_TENORS, 45.0]),  # on a key, or flat beyond the first and last
    st.floats(0.0, 50.0),
)


@SETTINGS
@given(st.lists(st.lists(st.tuples(_KEY_TIMES, st.floats(-1e6, 1e6)), max_size=8),
                min_size=1, max_size=6))
def test_key_rate_sums_match_reference(rows: list[list[tuple[float, float]]]) -> None:
    """Each row's key-rate sums are its weights spread by the triangular key-rate function,
    and they add up to the row's sum of weights."""
    key_t = np.array(KEY_TENORS)
    offsets = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    time = np.array([t for r in rows for t, _ in r], dtype=np.float64)
    weight = np.array([w for r in rows for _, w in r], dtype=np.float64)
    out = np.full((len(rows), len(key_t)), np.nan)
    kb.key_rate_sums(offsets, time, weight, key_t, out)
    for i, r in enumerate(rows):
        scale = sum(abs(w) for _, w in r)
        want = [sum(w * ref.key_rate_weight(list(key_t), k, t) for t, w in r)
                for k in range(len(key_t))]  # fmt: skip
        np.testing.assert_allclose(out[i], want, rtol=1e-13, atol=1e-14 * scale)
        assert out[i].sum() == pytest.approx(sum(w for _, w in r), rel=1e-13, abs=1e-13 * scale)


@settings(max_examples=ts.examples(80), deadline=None)
@given(books(), ts.zero_curves(), ts.spreads_bp())
def test_solve_spread_matches_bisection(drawn, curve, spread_bp):
    val, specs = drawn
    book = book_of(val, specs)
    market = ts.market(val, curve)
    curve_off, curve_t, curve_z = _curve_arrays(market)
    n = book.n_bonds
    target = np.empty(n)
    for i in range(n):
        sl = segment(book, i)
        flows = list(zip(book.time[sl], book.amount[sl], strict=True))
        target[i] = ref.curve_price(flows, list(curve_t), list(curve_z), spread_bp / 1e4)
    out, ok = np.empty(n), np.empty(n, dtype=np.bool_)
    kb.solve_spread(book.offsets, book.time, book.amount, np.zeros(n, dtype=np.int64),
                    curve_off, curve_t, curve_z, target, out, ok)
    assert ok.all()
    for i in range(n):
        sl = segment(book, i)
        flows = list(zip(book.time[sl], book.amount[sl], strict=True))
        expected = ref.solve_spread(flows, list(curve_t), list(curve_z), target[i])
        # Both reproduce the price; the spread itself is as well determined as the price.
        t_max = book.time[sl][-1]
        assert out[i] == pytest.approx(expected, abs=1e-12 / t_max + 1e-13)
        assert out[i] == pytest.approx(spread_bp / 1e4, abs=1e-12 / t_max + 1e-13)


def test_solve_spread_exact_price_at_zero_spread_is_zero():
    """Regression: a target hit exactly by the first Newton iterate (spread 0) used to be
    replaced by the bracket midpoint (-0.5, i.e. -5000 bp)."""
    out, ok = np.empty(1), np.empty(1, dtype=np.bool_)
    kb.solve_spread(np.array([0, 1]), np.array([1.0]), np.array([100.0]), np.array([0]),
                    np.array([0, 1]), np.array([1.0]), np.array([0.0]), np.array([100.0]),
                    out, ok)
    assert ok[0] and out[0] == 0.0


def test_solve_spread_without_a_root_is_not_ok():
    """Regression: a target no spread in (-1, 1) reaches was reported converged at -1."""
    out, ok = np.empty(2), np.empty(2, dtype=np.bool_)
    kb.solve_spread(np.array([0, 1, 2]), np.array([1.0, 1.0]), np.array([100.0, 100.0]),
                    np.array([0, 0]), np.array([0, 1]), np.array([1.0]), np.array([0.0]),
                    np.array([1e5, 1e-5]), out, ok)
    assert not ok.any()


# --- yields ----------------------------------------------------------------------------------


def _yield_defined(book) -> bool:
    """A yield exists when the last flow's yield time is positive (30/360 can make it 0)."""
    return bool((book.yield_time[book.offsets[1:] - 1] > 0).all())


def _yields(offsets, yield_time, amount, frequency, target, guess):
    """``kb.yield_of`` of every bond of a CSR book: (yields, converged)."""
    out = [kb.yield_of(offsets[i], offsets[i + 1], 0.0, yield_time, amount, frequency[i],
                       target[i], guess) for i in range(len(offsets) - 1)]  # fmt: skip
    return np.array([y for y, _ in out]), np.array([ok for _, ok in out])


@SETTINGS
@given(books(), st.floats(-0.05, 0.25))
def test_solve_yield_matches_bisection(drawn, y):
    val, specs = drawn
    book = book_of(val, specs)
    assume(_yield_defined(book))
    n = book.n_bonds
    freq = np.array([b.frequency for b in specs], dtype=np.int64)
    target = np.empty(n)
    flows = []
    for i in range(n):
        sl = segment(book, i)
        flows.append(list(zip(book.yield_time[sl], book.amount[sl], strict=True)))
        target[i] = ref.yield_price(flows[i], y, specs[i].frequency)
    out, ok = _yields(book.offsets, book.yield_time, book.amount, freq, target, 0.03)
    assert ok.all()
    for i in range(n):
        expected = ref.solve_yield(flows[i], target[i], specs[i].frequency)
        # The yield is known to (price rounding) / (price x duration).
        t_max = flows[i][-1][0]
        tol = 1e-12 * (1 + abs(y)) / t_max
        assert out[i] == pytest.approx(expected, abs=tol)
        assert out[i] == pytest.approx(y, abs=tol)


@pytest.mark.parametrize("guess", [0.0, 0.03, -0.01])
def test_solve_yield_exact_hit_keeps_the_root(guess):
    """Regression: when P(y) == target exactly the solver returned the bracket midpoint."""
    y, ok = kb.yield_of(0, 1, 0.0, np.array([0.5]), np.array([100.0]), 2, 100.0, guess)
    assert ok and abs(y) < 1e-14


def test_solve_yield_long_zero_at_a_negative_yield_converges():
    """Regression (found by hypothesis): a 46-year zero coupon at -4.9 % solved from a 3 %
    guess. Newton's first step lands far on the steep side (-87 %), from where it crept back
    about 1/47 of log(1 + y) a step and ran out of iterations; it now bisects instead."""
    t = (dt.date(2046, 3, 31) - dt.date(2000, 1, 1)).days / 360.0
    y = -0.048828125
    got, ok = kb.yield_of(0, 1, 0.0, np.array([t]), np.array([100.0]), 1,
                          100.0 * (1.0 + y) ** -t, 0.03)
    assert ok
    assert got == pytest.approx(y, abs=1e-12 * (1 + abs(y)) / t)


def test_solve_yield_without_a_root_is_not_ok():
    """Regression: with every yield time 0 (price independent of the yield) the solver
    bisected to the edge of its bracket (1000 %) and reported success."""
    _, ok = kb.yield_of(0, 1, 0.0, np.array([0.0]), np.array([104.0]), 1, 103.99, 0.03)
    assert not ok


@SETTINGS
@given(books(), st.floats(-0.05, 0.25))
def test_yield_risk_matches_reference(drawn, y):
    val, specs = drawn
    book = book_of(val, specs)
    n = book.n_bonds
    freq = np.array([b.frequency for b in specs], dtype=np.int64)
    for i in range(n):
        mod, conv = kb.yield_risk_of(book.offsets[i], book.offsets[i + 1], 0.0, book.yield_time,
                                     book.amount, freq[i], y)
        sl = segment(book, i)
        flows = list(zip(book.yield_time[sl], book.amount[sl], strict=True))
        r_mod, _, r_conv = ref.yield_risk(flows, y, specs[i].frequency)
        assert mod == pytest.approx(r_mod, rel=1e-12, abs=1e-15)
        assert conv == pytest.approx(r_conv, rel=1e-12, abs=1e-15)


# --- the whole analytics pipeline ------------------------------------------------------------


@settings(max_examples=ts.examples(60), deadline=None)
@given(ts.cases())
def test_analytics_matches_reference_pipeline(case):
    book = book_of(case.valuation_date, list(case.bonds))
    assume(_yield_defined(book))
    market = ts.market(case.valuation_date, case.curve)
    out = stress.analytics(ts.portfolio(case), market)
    c = market.curves["USD"]
    for b, row in zip(case.bonds, out.iter_rows(named=True), strict=True):
        r = ref.cashflows(case.valuation_date, b.maturity, b.coupon, b.frequency, b.day_count)
        curve_flows = [(f.time, f.amount) for f in r.flows]
        yield_flows = [(f.yield_time, f.amount) for f in r.flows]
        risk = ref.curve_risk(curve_flows, list(c.times), list(c.rates), b.spread_bp / 1e4,
                              list(KEY_TENORS))
        y = ref.solve_yield(yield_flows, risk.pv, b.frequency)
        mod, mac, conv = ref.yield_risk(yield_flows, y, b.frequency)
        t_max = r.flows[-1].yield_time
        assert row["dirty_price"] == pytest.approx(risk.pv, rel=1e-12)
        assert row["accrued"] == pytest.approx(r.accrued, rel=1e-13, abs=1e-14)
        assert row["clean_price"] == pytest.approx(risk.pv - r.accrued, rel=1e-12, abs=1e-12)
        assert row["ytm"] / 100 == pytest.approx(y, abs=1e-12 * (1 + abs(y)) / t_max)
        assert row["modified_duration"] == pytest.approx(mod, rel=1e-9)
        assert row["macaulay_duration"] == pytest.approx(mac, rel=1e-9)
        assert row["convexity"] == pytest.approx(conv, rel=1e-9)
        assert row["effective_duration"] == pytest.approx(risk.duration, rel=1e-12)
        assert row["effective_convexity"] == pytest.approx(risk.convexity, rel=1e-12)
        krd = [row[f"krd_{k:g}y"] for k in KEY_TENORS]
        np.testing.assert_allclose(krd, risk.key_rate, rtol=1e-12, atol=1e-14)
        assert row["pv"] == pytest.approx(b.notional / 100 * risk.pv, rel=1e-12)
        assert row["dv01"] == pytest.approx(risk.duration * row["pv"] * 1e-4, rel=1e-12)


@pytest.mark.parametrize("market_conventions", [False, True])
def test_bond_quotes_on_threads_are_the_serial_ones(monkeypatch: pytest.MonkeyPatch,
                                                    market_conventions: bool) -> None:
    """``bond_risk`` picks the threaded or the serial kernel by the book's size: both give
    the same bits (ex-dividend drops and settlement lags included, with market
    conventions)."""
    market = stress.Market.load(stress.default_market_path())
    frame = synthetic_book(400, valuation_date=market.valuation_date,
                           market_conventions=market_conventions)  # fmt: skip
    book = build_book(portfolios.load(frame), market)
    runs = []
    for parallel in (False, True):
        monkeypatch.setattr(pricing, "threaded", lambda *_, parallel=parallel, **__: parallel)
        runs.append(pricing.bond_risk(book))
    assert np.isfinite(runs[0].ytm).sum() > 300
    for field in dataclasses.fields(pricing.BondRisk):
        serial, threaded = getattr(runs[0], field.name), getattr(runs[1], field.name)
        np.testing.assert_array_equal(serial, threaded, err_msg=field.name)


def _ulps(got: float, want: float) -> float:
    if math.isinf(want) or want == 0.0:
        return 0.0 if got == want else math.inf
    return abs(got - want) / math.ulp(want)


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.floats(-800.0, 800.0),
            st.floats(-1e-6, 1e-6),
            st.sampled_from([0.0, -0.0, 708.0, 709.0, -708.0, -745.0, -746.0, 709.8, 710.0]),
            st.sampled_from([math.inf, -math.inf, math.nan, 5e-324, -5e-324]),
        ),
        min_size=1,
        max_size=70,
    )
)
def test_fastexp_is_within_one_ulp_of_exp(xs):
    # math.exp is the reference: correctly rounded to within an ulp on every libm we run on.
    x = np.array(xs)
    out = np.full_like(x, -1.0)
    fastexp.exp_array(x, out)
    for v, got in zip(xs, out, strict=True):
        if math.isnan(v):
            assert math.isnan(got)
            continue
        want = math.exp(v) if v < 709.78 else math.inf
        assert _ulps(float(got), want) <= 1.0, (v, got, want)


def test_fastexp_gives_the_same_bits_in_every_lane_and_length():
    x = np.random.default_rng(3).uniform(-60.0, 60.0, 257)
    whole = np.empty_like(x)
    fastexp.exp_array(x, whole)
    for n in (1, 3, 16, 100):
        part = np.empty(n)
        fastexp.exp_array(x[-n:].copy(), part)
        assert np.array_equal(part, whole[-n:])


def test_a_regular_install_caches_kernels_outside_site_packages(tmp_path: Path) -> None:
    """numba's cache files beside an installed package outlive ``pip uninstall`` and then
    shadow an editable install: an install under site-packages caches in the user's cache."""
    from stress.kernels import cache_dir

    site = tmp_path / "site-packages"
    here = site / "stress" / "kernels" / "__init__.py"
    assert cache_dir(here, [site], {"XDG_CACHE_HOME": str(tmp_path / "c")}) == (
        tmp_path / "c" / "stress" / "numba")
    assert cache_dir(here, [site], {"NUMBA_CACHE_DIR": "/x"}) is None  # the user's choice
    assert cache_dir(tmp_path / "src" / "stress" / "kernels" / "__init__.py", [site], {}) is None


def test_book_layout_is_the_same_on_threads_and_as_a_direct_count(monkeypatch) -> None:
    """``prepare_book``'s present values and nodes are the same bits on threads as without,
    agree with the discount formula, and number the nodes as the distinct (curve, spread
    line, payment day) of the cashflows valued on their payment day, in that order (FRN reset
    terms, which read their line on another day, get nodes of their own after them)."""
    import stress.prepare as sp
    from benchmarks import workloads
    from stress.book import build_book

    market = workloads.market()
    book = build_book(workloads.mixed_book(400, seed=7), market)
    layouts = []
    for threads in (False, True):
        monkeypatch.setattr(sp, "threaded", lambda *_, on=threads, **__: on)
        layouts.append(sp.prepare_book(book, ("sector",)))
    serial, threaded = layouts
    for name in serial.cashflows._fields:
        np.testing.assert_array_equal(getattr(threaded.cashflows, name),
                                      getattr(serial.cashflows, name), err_msg=name)
    for name in ("node_day", "node_curve", "node_spread", "node_sday"):
        np.testing.assert_array_equal(getattr(threaded, name), getattr(serial, name), name)

    cf, p = book.cashflows, serial
    row = np.repeat(np.arange(cf.n_bonds), np.diff(cf.offsets))
    t, ts = cf.time, book.spread_time
    z = np.empty(len(t))
    for k, c in enumerate(book.currencies):
        on = book.curve[row] == k
        z[on] = market.curves[c].zero(t[on])
    s = book.spread[row]
    want = cf.amount * np.where(ts == t, np.exp(-(z + s) * t), np.exp(-z * t - s * ts))
    np.testing.assert_allclose(p.cashflows.pv, want, rtol=1e-14, atol=0)
    np.testing.assert_allclose(p.cashflows.pv_t2, want * t * t, rtol=1e-14, atol=0)

    node = p.cashflows.node
    assert node.min() >= 0
    day = cf.pay_day - cf.valuation_day
    np.testing.assert_array_equal(p.node_curve[node], book.curve[row])
    np.testing.assert_array_equal(p.node_day[node], day)
    own = (ts != t) & (p.node_spread[node] >= 0)  # reset terms on a moving spread line
    assert own.any() and node[own].min() > node[~own].max()
    np.testing.assert_array_equal(p.node_sday[node[own]], np.rint(ts[own] * 365.0))
    keyed = np.stack([p.node_curve, p.node_spread, p.node_day], axis=1)[: node[~own].max() + 1]
    direct = np.unique(keyed[node[~own]], axis=0)
    np.testing.assert_array_equal(keyed, direct)  # distinct, in (curve, line, day) order


def test_taylor_runs_and_spread_time_kinds_agree_with_sums_over_cashflows() -> None:
    """A pass over positions takes a row's Taylor sums from its runs (``TaylorRuns``) and its
    pv x spread time sums from pv x t where they are the same: both agree with the sums over
    the row's cashflows, on a book with swaps (no credit spread), bonds and FRNs (spread read
    on the reset day)."""
    from benchmarks import workloads
    from stress.evaluate import _day_segments, _taylor_runs
    from stress.kernels.nodes import TS_NONE, TS_OWN, TS_SAME
    from stress.prepare import prepare

    market = workloads.market()
    p = prepare(workloads.mixed_book(400, seed=7), market, spread_by=("sector",))
    cf = p.cashflows
    rows = np.repeat(np.arange(len(cf.offsets) - 1), np.diff(cf.offsets))
    zero = np.logical_and.reduceat(cf.pv_ts == 0.0, cf.offsets[:-1])
    same = np.logical_and.reduceat(cf.pv_ts == cf.pv_t, cf.offsets[:-1])
    want = np.where(zero, TS_NONE, np.where(same, TS_SAME, TS_OWN))
    np.testing.assert_array_equal(cf.ts_kind, want)
    assert set(want.tolist()) == {TS_NONE, TS_SAME, TS_OWN}

    grid = np.array([0.25, 1.0, 2.0, 5.0, 10.0, 30.0])
    segments = _day_segments(grid, p.last_day)
    tr = _taylor_runs(p, grid, segments)
    assert _taylor_runs(p, grid, segments) is tr  # kept for the next chunk
    # Every run is one curve and one segment; a row's runs cover its cashflows in order.
    node = cf.node
    t = p.node_day[node] * (1.0 / 365.0)
    seg, curve = segments[p.node_day[node]], p.node_curve[node]
    run_rows = np.repeat(np.arange(len(tr.offsets) - 1), np.diff(tr.offsets))
    new_run = np.ones(len(node), dtype=np.bool_)
    new_run[1:] = (rows[1:] != rows[:-1]) | (seg[1:] != seg[:-1]) | (curve[1:] != curve[:-1])
    np.testing.assert_array_equal(run_rows, rows[new_run])
    np.testing.assert_array_equal(tr.curve, curve[new_run])
    np.testing.assert_array_equal(tr.segment, seg[new_run])
    # Any shift lines a + b t per (curve, segment): the runs' terms give the direct sums.
    rng = np.random.default_rng(5)
    n_curves = int(p.node_curve.max()) + 1
    a = rng.normal(0.0, 1e-2, (n_curves, len(grid) + 1))
    b = rng.normal(0.0, 1e-3, (n_curves, len(grid) + 1))
    d = a[curve, seg] + b[curve, seg] * t
    direct_d = np.bincount(rows, cf.pv_t * d, minlength=len(cf.offsets) - 1)
    direct_c = np.bincount(rows, cf.pv_t2 * d * d, minlength=len(cf.offsets) - 1)
    ra, rb = a[tr.curve, tr.segment], b[tr.curve, tr.segment]
    runs_d = np.bincount(run_rows, ra * tr.m0 + rb * tr.m1, minlength=len(cf.offsets) - 1)
    runs_c = np.bincount(run_rows, ra * ra * tr.q0 + 2 * ra * rb * tr.q1 + rb * rb * tr.q2,
                         minlength=len(cf.offsets) - 1)  # fmt: skip
    # Rounding is relative to the terms a and b t, not to their sum d (which can cancel).
    size = np.abs(a[curve, seg]) + np.abs(b[curve, seg] * t)
    scale_d = np.bincount(rows, np.abs(cf.pv_t) * size, minlength=len(cf.offsets) - 1)
    scale_c = np.bincount(rows, np.abs(cf.pv_t2) * size**2, minlength=len(cf.offsets) - 1)
    np.testing.assert_array_less(np.abs(runs_d - direct_d), 1e-13 * scale_d + 1e-300)
    np.testing.assert_array_less(np.abs(runs_c - direct_c), 1e-13 * scale_c + 1e-300)
