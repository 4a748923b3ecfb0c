"""Market construction: par-curve bootstrap, zero-curve interpolation, FX, tenor parsing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import portfolios
import stress
from portfolios.conventions import DAY_COUNTS, PRESETS
from shocks.tenors import Tenor, parse_tenor
from stress import Market
from stress.cashflows import build_cashflows
from stress.curves import ZeroCurve
from stress.dates import to_days
from stress.market import MarketError
from tests import reference as ref
from tests import strategies as ts

VAL = dt.date(2026, 1, 20)


# --- par curves ----------------------------------------------------------------------------

#: (curve currency, convention used for its par bonds: the currency's default or explicit).
PAR_SETUPS = [("USD", None), ("JPY", None), ("EUR", None), ("GBP", None), ("USD", "USD_CORP"),
              ("CHF", "BUND"), ("AUD", "UST")]


@st.composite
def par_curves(draw: st.DrawFn):
    val = draw(ts.valuation_dates())
    ccy, convention = draw(st.sampled_from(PAR_SETUPS))
    curve = draw(ts.zero_curves(min_nodes=1, max_nodes=8))
    # Par yields: a level plus small steps, as real curves (no 8 % next to -1 %).
    level = draw(st.floats(-0.5, 7.0))
    steps = draw(st.lists(st.floats(-0.5, 0.5), min_size=len(curve.tenors),
                          max_size=len(curve.tenors)))
    rates = tuple(round(level + sum(steps[: i + 1]), 6) for i in range(len(steps)))
    return val, ccy, convention, curve.tenors, rates


def _par_market(val, ccy, convention, tenors, rates) -> Market:
    table = {"type": "par", "tenors": list(tenors), "rates": list(rates)}
    if convention:
        table["convention"] = convention
    fx = {} if ccy == "USD" else {f"USD{ccy}": 1.5}
    return Market.from_dict({"valuation_date": val, "curves": {ccy: table}, "fx": fx})


def _assert_unreachable(val, ccy, convention, tenors, rates, message: str) -> None:
    """The first par bond the bootstrap refuses is out of reach: on the curve bootstrapped
    from the earlier tenors, extended by a zero rate of -100 % or +100 % at its own tenor, it
    still prices above (below) par."""
    i = next(k for k in range(1, len(tenors) + 1)
             if not _bootstraps(val, ccy, convention, tenors[:k], rates[:k])) - 1
    assert f"({rates[i]} %)" in message, message
    conv = convention or {"USD": "UST", "JPY": "JGB", "EUR": "BUND", "GBP": "GILT"}[ccy]
    preset = PRESETS[conv]
    maturity = parse_tenor(tenors[i]).date(val)
    prices = []
    for z in (-100.0, 100.0):
        times, zeros = [], []
        if i:
            prefix = _par_market(val, ccy, convention, tenors[:i], rates[:i]).curves[ccy]
            times, zeros = list(prefix.times), list(prefix.rates * 100)
        # A zero curve out of a market file's range (+-100 %): built directly.
        zc = ZeroCurve("USD", np.array([*times, (maturity - val).days / 365]),
                       np.array([*zeros, z]) / 100.0)
        book = build_cashflows(val, np.array([to_days(maturity)]), np.array([rates[i]]),
                               np.array([preset.frequency]),
                               np.array([DAY_COUNTS[preset.day_count]]))
        prices.append(float(np.sum(book.amount * zc.discount(book.time))) - book.accrued[0])
    assert prices[0] < 100.0 or prices[1] > 100.0, prices


def _bootstraps(val, ccy, convention, tenors, rates) -> bool:
    try:
        _par_market(val, ccy, convention, tenors, rates)
    except stress.MarketError:
        return False
    return True


@settings(max_examples=ts.examples(80), deadline=None)
@given(par_curves())
@example((dt.date(2000, 2, 29), "USD", None, ("1M", "2M", "3M", "6M", "9M", "1Y", "40Y", "50Y"),
          (7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.5)))
def test_par_bootstrap_reprices_every_par_bond_at_100(qlref, drawn):
    """Every par bond reprices at 100, or the bootstrap refuses a bond that no zero rate
    reaches (a yield step after a long gap: the earlier coupons alone are worth over par)."""
    val, ccy, convention, tenors, rates = drawn
    try:
        market = _par_market(val, ccy, convention, tenors, rates)
    except stress.MarketError as exc:
        _assert_unreachable(val, ccy, convention, tenors, rates, str(exc))
        return
    curve = market.curves[ccy]
    maturities = [val + dt.timedelta(days=round(t * 365)) for t in curve.times]
    conv = convention or {"USD": "UST", "JPY": "JGB", "EUR": "BUND", "GBP": "GILT"}[ccy]
    preset = PRESETS[conv]
    # Every par bond (negative par yields too) off the curve, from its cashflows.
    n = len(rates)
    book = build_cashflows(val, np.array([to_days(m) for m in maturities]), np.array(rates),
                           np.full(n, preset.frequency), np.full(n, DAY_COUNTS[preset.day_count]))
    for i in range(n):
        sl = slice(book.offsets[i], book.offsets[i + 1])
        dirty = float(np.sum(book.amount[sl] * curve.discount(book.time[sl])))
        assert dirty - book.accrued[i] == pytest.approx(100.0, abs=1e-10)
    # Through the positions and analytics (coupons must be >= 0 there).
    live = [(t, m, r) for t, m, r in zip(tenors, maturities, rates, strict=True) if r >= 0]
    if live:
        # Par bonds are bootstrapped settling on the valuation date, unadjusted: the
        # convention's frequency and day count with T+0 and no calendar.
        positions = portfolios.load(pl.DataFrame({
            "position_id": [f"P{t}" for t, _, _ in live], "instrument": "bond", "currency": ccy,
            "notional": 1e6, "coupon": [r for _, _, r in live],
            "maturity": [m for _, m, _ in live], "convention": conv, "settlement_days": 0,
            "calendar": "NONE", "ex_dividend_days": 0,
        }))
        out = stress.analytics(positions, market)
        np.testing.assert_allclose(out["clean_price"].to_numpy(), 100.0, rtol=0, atol=1e-10)
    # And QuantLib agrees that these bonds are at par on the bootstrapped curve.
    ql_curve = qlref.zero_curve(val, list(curve.times), list(curve.rates))
    for m, r in zip(maturities, rates, strict=True):
        qb = qlref.fixed_rate_bond(val, m, r, preset.frequency, preset.day_count)
        assert qlref.analytics(qb, ql_curve).clean == pytest.approx(100.0, abs=1e-10)


@pytest.mark.parametrize("tenor", ["1M", "2M", "3M", "6M", "1Y"])
@pytest.mark.parametrize("rate", [-0.5, 0.1, 4.37])
def test_par_bootstrap_of_short_tenors(tenor, rate):
    """Regression: Newton in the bootstrap demanded a step below 1e-15, which price rounding
    makes impossible for short maturities (dP/dz = -t P is small): valid curves failed with
    "no zero rate reprices the ... par bond"."""
    preset = PRESETS["UST"]
    for day in range(0, 365, 3):
        val = dt.date(2026, 1, 1) + dt.timedelta(days=day)
        curve = Market.from_dict({"valuation_date": val, "curves": {"USD": {
            "type": "par", "tenors": [tenor], "rates": [rate]}}}).curves["USD"]
        maturity = parse_tenor(tenor).date(val)
        book = build_cashflows(val, np.array([to_days(maturity)]), np.array([rate]),
                               np.array([preset.frequency]),
                               np.array([DAY_COUNTS[preset.day_count]]))
        clean = float(np.sum(book.amount * curve.discount(book.time))) - book.accrued[0]
        assert clean == pytest.approx(100.0, abs=1e-10), (val, tenor, rate)


# --- zero curves ---------------------------------------------------------------------------


def test_zero_curve_nodes_are_calendar_dates():
    """Tenors are calendar periods added to the valuation date, the day clamped to the month's
    end; week/day tenors are whole days, and a number of years is that time, as in a scenario
    (so a key-rate shock at 2.5 moves the pillar 2.5 by its own size; it was the whole day
    912, 2.49863 years, and moved 99.93 bp of 100)."""
    val = dt.date(2024, 1, 31)
    market = Market.from_dict({"valuation_date": val, "curves": {"USD": {
        "tenors": ["1W", "10D", "1M", "3M", "1Y", "18M", 2.5, "10Y"],
        "rates": [1, 2, 3, 4, 5, 6, 7, 8]}}})
    c = market.curves["USD"]
    dates = [dt.date(2024, 2, 7), dt.date(2024, 2, 10), dt.date(2024, 2, 29),
             dt.date(2024, 4, 30), dt.date(2025, 1, 31), dt.date(2025, 7, 31),
             None, dt.date(2034, 1, 31)]
    np.testing.assert_array_equal(c.times, [2.5 if d is None else (d - val).days / 365
                                            for d in dates])
    np.testing.assert_array_equal(c.rates, np.arange(1, 9) / 100)
    # Numbers that fall on one day (912.5 and 912.54 days) are still two pillars; tenors out
    # of order are refused.
    two = Market.from_dict({"valuation_date": val, "curves": {"USD": {
        "tenors": [2.5, 2.5001], "rates": [1, 2]}}})
    np.testing.assert_array_equal(two.curves["USD"].times, [2.5, 2.5001])
    with pytest.raises(MarketError, match="tenors must be positive and strictly increasing"):
        Market.from_dict({"valuation_date": val, "curves": {"USD": {
            "tenors": ["3Y", 2.9], "rates": [1, 2]}}})


@settings(max_examples=ts.examples(100), deadline=None)
@given(ts.valuation_dates(), ts.zero_curves(), st.lists(st.floats(0, 80), min_size=1, max_size=20))
def test_zero_curve_is_linear_between_nodes_and_flat_outside(val, spec, times):
    market = ts.market(val, spec)
    c = market.curves["USD"]
    rates = [r / 100 for r in spec.rates]
    np.testing.assert_array_equal(c.rates, np.array(spec.rates) / 100)
    for t in times:
        assert c.zero(t) == pytest.approx(ref.interpolate(list(c.times), rates, t), abs=1e-15)
    assert c.zero(0.0) == rates[0] and c.zero(c.times[0] / 2) == rates[0]
    assert c.zero(c.times[-1] + 10) == rates[-1]
    np.testing.assert_array_equal(c.zero(c.times), rates)
    for i in range(len(c.times) - 1):
        mid = (c.times[i] + c.times[i + 1]) / 2
        assert c.zero(mid) == pytest.approx((rates[i] + rates[i + 1]) / 2, abs=1e-15)
    assert c.discount(5.0) == pytest.approx(np.exp(-c.zero(5.0) * 5.0), rel=1e-15)


def test_zero_curve_matches_quantlib_discount_factors(qlref):
    spec = ts.CurveSpec(("3M", "2Y", "10Y", "30Y"), (-0.2, 1.5, 3.0, 2.5))
    market = ts.market(VAL, spec)
    c = market.curves["USD"]
    ql_curve = qlref.zero_curve(VAL, list(c.times), list(c.rates))
    for days in [1, 30, 91, 365, 500, 3650, 7000, 10950, 20000]:
        d = qlref.qdate(VAL) + days
        assert c.discount(days / 365) == pytest.approx(ql_curve.discount(d), rel=1e-14)


# --- FX ------------------------------------------------------------------------------------

FX_MARKET = {
    "valuation_date": VAL,
    "base_currency": "USD",
    "curves": {
        "USD": {"tenors": ["1Y", "10Y"], "rates": [4.0, 4.2]},
        "EUR": {"tenors": ["1Y", "10Y"], "rates": [2.0, 2.6]},
        "JPY": {"tenors": ["1Y", "10Y"], "rates": [0.8, 2.1]},
    },
    "fx": {"USDJPY": 158.4, "EURUSD": 1.08, "GBPUSD": 1.27, "EURCHF": 0.94},
    "gold": {"XAUUSD": 2650.0},
}


def test_fx_cross_rates():
    m = Market.from_dict(FX_MARKET)
    assert m.usd_value == pytest.approx(
        {"USD": 1.0, "JPY": 1 / 158.4, "EUR": 1.08, "GBP": 1.27, "CHF": 1.08 / 0.94})
    assert m.fx_rate("EUR", "JPY") == pytest.approx(1.08 * 158.4, rel=1e-15)
    assert m.fx_rate("GBP", "EUR") == pytest.approx(1.27 / 1.08, rel=1e-15)
    assert m.fx_rate("CHF", "USD") == pytest.approx(1.08 / 0.94, rel=1e-15)
    assert m.fx_rate("JPY") == pytest.approx(1 / 158.4, rel=1e-15)  # base currency USD
    assert m.fx_rate("EUR", "EUR") == 1.0
    assert m.with_base("JPY").fx_rate("EUR") == pytest.approx(1.08 * 158.4, rel=1e-15)
    assert m.with_base(None) is m and m.with_base("usd") is m


def test_fx_pairs_may_be_quoted_either_way_and_consistent_triples_are_accepted():
    a = Market.from_dict({**FX_MARKET, "fx": {"JPYUSD": 1 / 158.4, "USDEUR": 1 / 1.08}})
    assert a.fx_rate("EUR", "JPY") == pytest.approx(1.08 * 158.4, rel=1e-14)
    b = Market.from_dict({**FX_MARKET, "fx": {"USDJPY": 158.4, "EURUSD": 1.08,
                                               "EURJPY": 1.08 * 158.4 * (1 + 5e-7)}})
    assert b.fx_rate("EUR", "JPY") == pytest.approx(1.08 * 158.4, rel=1e-6)


@pytest.mark.parametrize("base", ["USD", "JPY", "EUR", "GBP"])
def test_base_currency_conversion_in_analytics(base):
    m = Market.from_dict({**FX_MARKET, "base_currency": base})
    book = portfolios.load(pl.DataFrame({
        "position_id": ["EUR_BUND", "JGB", "GOLD", "GBP_CASH", "USD_CASH"],
        "instrument": ["bond", "bond", "gold", "fx", "fx"],
        "currency": ["EUR", "JPY", "USD", "GBP", "USD"],
        "notional": [1e6, -1e8, 100.0, 5e5, 2e5],
        "coupon": [2.5, 1.0, None, None, None],
        "maturity": [dt.date(2034, 2, 15), dt.date(2036, 3, 20), None, None, None],
        "convention": ["BUND", "JGB", None, None, None],
    }))
    out = stress.analytics(book, m)
    rows = {r["position_id"]: r for r in out.iter_rows(named=True)}
    usd_per_base = 1 / m.usd_value[base]
    for pid, ccy_usd in [("EUR_BUND", 1.08), ("JGB", 1 / 158.4), ("GOLD", 1.0),
                         ("GBP_CASH", 1.27), ("USD_CASH", 1.0)]:
        r = rows[pid]
        assert r["pv_base"] == pytest.approx(r["pv"] * ccy_usd * usd_per_base, rel=1e-14), pid
    assert rows["GOLD"]["pv"] == 100.0 * 2650.0
    assert rows["GBP_CASH"]["pv"] == 5e5
    # The Bund settles T+2: its dirty price is its value on the settlement date, which the
    # curve discounts to the valuation date (no cashflow between).
    bund = rows["EUR_BUND"]
    t_settle = (bund["settlement_date"] - m.valuation_date).days / 365
    assert bund["pv"] == pytest.approx(
        1e6 / 100 * bund["dirty_price"] * m.curves["EUR"].discount(t_settle), rel=1e-14)
    assert rows["JGB"]["pv"] < 0
    # The same through the base_currency argument.
    usd = Market.from_dict(FX_MARKET)
    again = stress.analytics(book, usd, base_currency=base)
    np.testing.assert_allclose(again["pv_base"].to_numpy(), out["pv_base"].to_numpy(),
                               rtol=1e-15)


# --- tenors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tenor", "years", "months", "label"),
    [
        ("3M", Tenor(3.0, "M"), 0.25, 3, "3M"),
        ("10Y", Tenor(10.0, "Y"), 10.0, 120, "10Y"),
        (" 18m ", Tenor(18.0, "M"), 1.5, 18, "18M"),
        ("1y", Tenor(1.0, "Y"), 1.0, 12, "1Y"),
        ("2W", Tenor(2.0, "W"), 14 / 365, None, "2W"),
        ("5D", Tenor(5.0, "D"), 5 / 365, None, "5D"),
        ("1.5Y", Tenor(1.5, "Y"), 1.5, None, "1.5Y"),
        ("0.5M", Tenor(0.5, "M"), 0.5 / 12, None, "0.5M"),
        (0.25, Tenor(0.25, ""), 0.25, None, "0.25"),
        (7, Tenor(7.0, ""), 7.0, None, "7"),
    ],
)
def test_parse_tenor(text, tenor, years, months, label):
    parsed = parse_tenor(text)
    assert parsed == tenor
    assert parsed.years == pytest.approx(years, rel=1e-15)
    assert parsed.months == months
    assert str(parsed) == label


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3X", "'3X' is not a tenor like '3M', '10Y' or a number of years"),
        ("0M", "'0M' is not a tenor like '3M', '10Y' or a number of years"),
        ("-1Y", "'-1Y' is not a tenor like '3M', '10Y' or a number of years"),
        ("Y", "'Y' is not a tenor like '3M', '10Y' or a number of years"),
        ("", "'' is not a tenor like '3M', '10Y' or a number of years"),
        ("1Y6M", "'1Y6M' is not a tenor like '3M', '10Y' or a number of years"),
        (0, "0 is not a positive number of years"),
        (-2.5, "-2.5 is not a positive number of years"),
        (float("nan"), "nan is not a positive number of years"),
        (True, "True is not a tenor"),
        (None, "None is not a tenor like '3M', '10Y' or a number of years"),
        (["1Y"], "['1Y'] is not a tenor like '3M', '10Y' or a number of years"),
    ],
)
def test_parse_tenor_errors(value, message):
    with pytest.raises(ValueError) as info:
        parse_tenor(value)
    assert str(info.value) == message


@settings(max_examples=ts.examples(100), deadline=None)
@given(st.integers(1, 600), st.sampled_from(["M", "Y"]), ts.valuation_dates())
def test_month_and_year_tenors_are_calendar_periods(n, unit, val):
    tenor = parse_tenor(f"{n}{unit}")
    months = n if unit == "M" else 12 * n
    assert tenor.months == months
    market = Market.from_dict({"valuation_date": val, "curves": {"USD": {
        "tenors": [f"{n}{unit}"], "rates": [1.0]}}})
    expected = ref.add_months(val, months)
    assert market.curves["USD"].times[0] == (expected - val).days / 365


def test_a_par_table_missing_its_type_is_refused_not_read_as_zero_rates() -> None:
    spec = {"tenors": ["2Y", "10Y", "40Y"], "rates": [1.2, 2.2, 3.6], "convention": "JGB"}
    base = {"valuation_date": "2026-01-20", "base_currency": "JPY", "fx": {"USDJPY": 158.0}}
    with pytest.raises(MarketError, match='a zero curve has none; for par yields add type = "par"'
                       r' \(type defaults to "zero"\)'):
        Market.from_dict({**base, "curves": {"JPY": spec}})
    with pytest.raises(MarketError, match="a zero curve has none"):
        Market.from_dict({**base, "curves": {"JPY": {**spec, "type": "zero"}}})
    par = Market.from_dict({**base, "curves": {"JPY": {**spec, "type": "par"}}})
    assert par.curves["JPY"].rates[-1] > 0.036  # bootstrapped zeros lie above the par yields
