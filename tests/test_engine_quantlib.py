"""Per-position P&L of the engine against QuantLib full revaluation on shifted curves.

Random markets (zero curves in three currencies, FX, gold), random books of bonds, gold and FX
cash, and random key-rate / parallel / ALL, FX and gold scenarios. Every bond is priced in
QuantLib as a FixedRateBond on the base ZeroCurve and, per scenario, on that curve shifted by a
PiecewiseZeroSpreadedTermStructure (zero-rate spreads linear in ACT/365F time, flat outside the
nodes, continuous compounding: the engine's shock model, reproduced exactly). The shocked
zero rate of the engine at a node date is base + the scenario's key-rate shape for the currency
+ the ALL shape, so the spread nodes are the union of both shapes' tenors.

Shock tenors are whole numbers of days (``nY`` = 365 n days, ``nW``, ``nD``) so that each node
is a date whose ACT/365F time equals the engine's tenor time exactly.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolios
import shocks
import stress
from portfolios.conventions import PRESETS as CONVENTIONS
from tests import strategies as ts

ql = pytest.importorskip("QuantLib")
from tests import qlref  # noqa: E402

CURRENCIES = ("USD", "JPY", "EUR")
CURVE_TENORS = ("1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y",
                "40Y", "50Y")
# Shock tenors with a whole number of days (so a QuantLib date has exactly the same time).
SHOCK_TENORS = ("1W", "30D", "100D", "1Y", "400D", "2Y", "1000D", "3Y", "5Y", "7Y", "10Y",
                "15Y", "20Y", "25Y", "30Y", "40Y", "50Y", "60Y")
DAY_COUNT_QL = {
    "ACT/ACT-ICMA": lambda: ql.ActualActual(ql.ActualActual.ISMA),
    "ACT/365F": ql.Actual365Fixed,
    "ACT/360": ql.Actual360,
    "30/360": lambda: ql.Thirty360(ql.Thirty360.USA),
    "30E/360": lambda: ql.Thirty360(ql.Thirty360.European),
}
PRESETS = {"UST": (2, "ACT/ACT-ICMA"), "JGB": (2, "ACT/365F"), "BUND": (1, "ACT/ACT-ICMA"),
           "GILT": (2, "ACT/ACT-ICMA"), "USD_CORP": (2, "30/360")}
EXAMPLES = int(os.environ.get("STRESS_QL_EXAMPLES", "60"))
# Relative tolerance, and the floor (a fraction of the position's PV) below which a P&L is
# compared in absolute terms: a P&L is a difference of two PVs, each good to ~1e-15.
RTOL = 1e-8
PNL_FLOOR = 1e-6


def tenor_days(label: str, val: Any) -> int:
    """Days from ``val`` to the end of the calendar period ``label`` (QuantLib's Period)."""
    n, unit = int(label[:-1]), label[-1]
    units = {"D": ql.Days, "W": ql.Weeks, "M": ql.Months, "Y": ql.Years}[unit]
    return int((val + ql.Period(n, units)) - val)


def month_end(d: dt.date) -> dt.date:
    nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


# --------------------------------------------------------------------------- strategies


@dataclass
class Case:
    market: dict[str, Any]
    rows: list[dict[str, Any]]
    scenarios: list[dict[str, Any]]


def _pct(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 4))


@st.composite
def markets(draw: st.DrawFn) -> dict[str, Any]:
    val = draw(st.dates(dt.date(2020, 1, 1), dt.date(2032, 12, 31)))
    curves = {}
    for ccy in CURRENCIES:
        idx = sorted(draw(st.lists(st.integers(0, len(CURVE_TENORS) - 1), min_size=1,
                                   max_size=8, unique=True)))
        curves[ccy] = {"type": "zero", "tenors": [CURVE_TENORS[i] for i in idx],
                       "rates": [draw(_pct(-1.0, 8.0)) for _ in idx]}
    return {
        "valuation_date": val.isoformat(),
        "base_currency": draw(st.sampled_from(CURRENCIES)),
        "curves": curves,
        "fx": {"USDJPY": draw(_pct(80.0, 200.0)), "EURUSD": draw(_pct(0.8, 1.5))},
        "gold": {"XAUUSD": draw(_pct(1000.0, 6000.0))},
    }


@st.composite
def position_rows(draw: st.DrawFn, val: dt.date) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("bond", "bond", "bond", "gold", "fx")))
        sign = draw(st.sampled_from((1.0, -1.0)))
        row: dict[str, Any] = {"position_id": f"P{i}", "instrument": kind,
                               "notional": sign * draw(_pct(1e3, 1e8)), "coupon": None,
                               "maturity": None, "convention": None, "frequency": None,
                               "day_count": None, "spread_bp": None}
        if kind == "gold":
            row["currency"] = "USD"
        elif kind == "fx":
            row["currency"] = draw(st.sampled_from(CURRENCIES))
        else:
            mat = val + dt.timedelta(days=draw(st.integers(1, 50 * 365)))
            if draw(st.booleans()):
                mat = month_end(mat)
            if draw(st.booleans()):
                row["convention"] = draw(st.sampled_from(sorted(PRESETS)))
            else:
                row["frequency"] = draw(st.sampled_from((1, 2, 4, 12)))
                row["day_count"] = draw(st.sampled_from(sorted(DAY_COUNT_QL)))
            row.update(currency=draw(st.sampled_from(CURRENCIES)), maturity=mat,
                       coupon=draw(st.one_of(st.just(0.0), _pct(0.0, 10.0))),
                       spread_bp=draw(st.one_of(st.none(), _pct(-100.0, 300.0))))
        rows.append(row)
    return rows


@st.composite
def rate_blocks(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"parallel_bp": draw(_pct(-300.0, 300.0))}
    idx = sorted(draw(st.lists(st.integers(0, len(SHOCK_TENORS) - 1), min_size=1, max_size=5,
                               unique=True)))
    return {"tenors": [SHOCK_TENORS[i] for i in idx],
            "bp": [draw(_pct(-300.0, 300.0)) for _ in idx]}


@st.composite
def scenario_specs(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for k in range(draw(st.integers(1, 4))):
        spec: dict[str, Any] = {"name": f"s{k}"}
        ccys = draw(st.lists(st.sampled_from((*CURRENCIES, "ALL")), max_size=3, unique=True))
        if ccys:
            spec["rates"] = {c: draw(rate_blocks()) for c in ccys}
        fx = draw(st.lists(st.sampled_from(("JPY", "EUR")), max_size=2, unique=True))
        if fx:
            spec["fx"] = {c: draw(_pct(-40.0, 40.0)) for c in fx}
        if draw(st.booleans()):
            spec["gold"] = {"pct": draw(_pct(-40.0, 40.0))}
        out.append(spec)
    return out


@st.composite
def cases(draw: st.DrawFn) -> Case:
    market = draw(markets())
    val = dt.date.fromisoformat(market["valuation_date"])
    return Case(market, draw(position_rows(val)), draw(scenario_specs()))


# --------------------------------------------------------------------------- QuantLib side


def qdate(d: dt.date) -> Any:
    return ql.Date(d.day, d.month, d.year)


def base_curve(val: Any, spec: dict[str, Any]) -> Any:
    """QuantLib ZeroCurve on the market's nodes, with a node at the reference date holding the
    first rate and one 100 years past the last holding the last rate (flat extrapolation)."""
    dates = []
    for label in spec["tenors"]:
        n, unit = int(label[:-1]), label[-1]
        dates.append(val + ql.Period(n, ql.Months if unit == "M" else ql.Years))
    rates = [r / 100.0 for r in spec["rates"]]
    dates = [val, *dates, dates[-1] + 36500]
    rates = [rates[0], *rates, rates[-1]]
    curve = ql.ZeroCurve(dates, rates, ql.Actual365Fixed(), ql.NullCalendar(), ql.Linear(),
                         ql.Continuous)
    curve.enableExtrapolation()
    return curve


def shock_nodes(block: dict[str, Any] | None, val: Any) -> tuple[list[int], list[float]]:
    """(node days, bp) of one rate block: linear between nodes in time, flat beyond."""
    if block is None:
        return [], []
    if "parallel_bp" in block:
        return [365], [block["parallel_bp"]]
    return [tenor_days(t, val) for t in block["tenors"]], list(block["bp"])


def shifted(handle: Any, val: Any, own: dict[str, Any] | None,
            every: dict[str, Any] | None) -> Any:
    """``handle``'s curve with zero rates shifted by own + ALL (piecewise linear in time)."""
    parts = [p for p in (shock_nodes(own, val), shock_nodes(every, val)) if p[0]]
    if not parts:
        return handle
    days = sorted({d for p in parts for d in p[0]})
    t = np.array(days) / 365.0
    bp = sum(np.interp(t, np.array(p[0]) / 365.0, np.array(p[1])) for p in parts)
    days.append(days[-1] + 36500)  # at least two nodes; the shift is flat beyond anyway
    bp = [*bp, bp[-1]]
    quotes = [ql.QuoteHandle(ql.SimpleQuote(b * 1e-4)) for b in bp]
    curve = ql.PiecewiseZeroSpreadedTermStructure(handle, quotes, [val + d for d in days])
    curve.enableExtrapolation()
    return ql.YieldTermStructureHandle(curve)


def ql_bond(val: Any, row: dict[str, Any]) -> Any:
    freq, dc = PRESETS[row["convention"]] if row["convention"] else (row["frequency"],
                                                                      row["day_count"])
    months = 12 // freq
    mat = qdate(row["maturity"])
    cal = ql.NullCalendar()
    # Effective date: the maturity rolled back by whole periods to a period before the
    # valuation date (a coupon date just before it may be paid after it, rolled forward).
    n = max(1, ((mat.year() - val.year()) * 12 + mat.month() - val.month()) // months - 1)
    while cal.advance(mat, -n * months, ql.Months, ql.Unadjusted, True) > val:
        n += 1
    eff = cal.advance(mat, -(n + 1) * months, ql.Months, ql.Unadjusted, True)
    schedule = ql.Schedule(eff, mat, ql.Period(months, ql.Months), cal, ql.Unadjusted,
                           ql.Unadjusted, ql.DateGeneration.Backward, True)
    if not row["convention"]:
        return ql.FixedRateBond(0, 100.0, schedule, [row["coupon"] / 100.0], DAY_COUNT_QL[dc]())
    # A preset's payment calendar, rolling and ex-coupon period (settlement days do not move
    # the NPV on the evaluation date, which is what is compared).
    c = CONVENTIONS[row["convention"]]
    pay = qlref.holidays_calendar(c.calendar)
    ex = ql.Period(c.ex_dividend_days, ql.Days) if c.ex_dividend_days else ql.Period()
    return ql.FixedRateBond(c.settlement_days, 100.0, schedule, [row["coupon"] / 100.0],
                            DAY_COUNT_QL[dc](), qlref.ROLLING[c.business_day_convention], 100.0,
                            ql.Date(), pay, ex, pay)


def npv(bond: Any, curve: Any, spread_bp: float | None) -> float:
    spread = ql.QuoteHandle(ql.SimpleQuote((spread_bp or 0.0) * 1e-4))
    disc = ql.ZeroSpreadedTermStructure(curve, spread, ql.Continuous, ql.NoFrequency,
                                        ql.Actual365Fixed())
    bond.setPricingEngine(ql.DiscountingBondEngine(ql.YieldTermStructureHandle(disc)))
    return float(bond.NPV())


def quantlib_positions(case: Case) -> list[dict[str, float]]:
    """Per (scenario, position), scenario-major: pv_before, pv_after, pnl, pnl_rates, pnl_fx in
    the base currency, by full QuantLib revaluation."""
    m = case.market
    val = qdate(dt.date.fromisoformat(m["valuation_date"]))
    ql.Settings.instance().evaluationDate = val
    usd_value = {"USD": 1.0, "JPY": 1.0 / m["fx"]["USDJPY"], "EUR": m["fx"]["EURUSD"]}
    base = m["base_currency"]
    gold = m["gold"]["XAUUSD"]
    handles = {c: ql.YieldTermStructureHandle(base_curve(val, m["curves"][c]))
               for c in CURRENCIES}
    bonds = {i: ql_bond(val, r) for i, r in enumerate(case.rows) if r["instrument"] == "bond"}
    local0 = {}
    for i, r in enumerate(case.rows):
        if r["instrument"] == "bond":
            local0[i] = r["notional"] / 100.0 * npv(bonds[i], handles[r["currency"]],
                                                    r["spread_bp"])
        elif r["instrument"] == "gold":
            local0[i] = r["notional"] * gold
        else:
            local0[i] = r["notional"]
    out = []
    for spec in case.scenarios:
        rates = spec.get("rates", {})
        fx = spec.get("fx", {})
        curves = {c: shifted(handles[c], val, rates.get(c), rates.get("ALL"))
                  for c in CURRENCIES}

        def value(c: str, fx: dict[str, float] = fx) -> float:
            return usd_value[c] * (1.0 + fx.get(c, 0.0) / 100.0)

        for i, r in enumerate(case.rows):
            c = r["currency"]
            x0 = usd_value[c] / usd_value[base]
            x1 = value(c) / value(base)
            if r["instrument"] == "bond":
                l1 = r["notional"] / 100.0 * npv(bonds[i], curves[c], r["spread_bp"])
            elif r["instrument"] == "gold":
                l1 = local0[i] * (1.0 + spec.get("gold", {}).get("pct", 0.0) / 100.0)
            else:
                l1 = local0[i]
            l0 = local0[i]
            out.append({"pv_before": l0 * x0, "pv_after": l1 * x1, "pnl": l1 * x1 - l0 * x0,
                        "pnl_rates": (l1 - l0) * x0 if r["instrument"] == "bond" else 0.0,
                        "pnl_fx": l0 * (x1 - x0)})
    return out


# --------------------------------------------------------------------------- engine side


def engine_positions(case: Case) -> pl.DataFrame:
    market = stress.Market.from_dict(case.market)
    book = portfolios.load(ts.positions_frame(case.rows))
    scen = shocks.from_dict({"scenario": case.scenarios}, "<quantlib test>")
    pos = stress.run(book, market, scen, detail="positions").positions
    return scenario_major(pos)


def scenario_major(pos: pl.DataFrame) -> pl.DataFrame:
    """Positions rows ordered by (scenario, position), both in input order (Enum codes)."""
    return pos.sort(pl.col("scenario").to_physical(), pl.col("position_id").to_physical())


def relative_errors(case: Case) -> dict[str, float]:
    """Worst relative disagreement per column between the engine and QuantLib."""
    got = engine_positions(case)
    ref = quantlib_positions(case)
    assert got.height == len(ref)
    assert got["scenario"].cast(pl.String).to_list() == [
        s["name"] for s in case.scenarios for _ in case.rows]
    assert got["position_id"].cast(pl.String).to_list() == [
        r["position_id"] for _ in case.scenarios for r in case.rows]
    worst: dict[str, float] = {}
    for k in ("pv_before", "pv_after", "pnl", "pnl_rates", "pnl_fx"):
        g = got[k].to_numpy()
        r = np.array([row[k] for row in ref])
        scale = np.abs(r)
        if k.startswith("pnl"):
            pv = np.array([max(abs(row["pv_before"]), abs(row["pv_after"])) for row in ref])
            scale = np.maximum(scale, PNL_FLOOR * pv)
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.where(g == r, 0.0, np.abs(g - r) / scale)
        worst[k] = float(err.max())
    return worst


@settings(max_examples=ts.examples(EXAMPLES), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_position_pnl_matches_quantlib(case: Case) -> None:
    worst = relative_errors(case)
    assert max(worst.values()) <= RTOL, worst


def test_quantlib_example_jgb_meltdown() -> None:
    """A fixed, readable case: JGB key-rate steepener, yen down, gold up, USD base."""
    case = Case(
        market={"valuation_date": "2026-01-20", "base_currency": "USD",
                "curves": {"USD": {"type": "zero", "tenors": ["1Y", "5Y", "30Y"],
                                   "rates": [4.0, 4.2, 4.6]},
                           "JPY": {"type": "zero", "tenors": ["1Y", "10Y", "40Y"],
                                   "rates": [0.8, 1.9, 3.4]},
                           "EUR": {"type": "zero", "tenors": ["2Y", "10Y"],
                                   "rates": [2.1, 2.7]}},
                "fx": {"USDJPY": 158.0, "EURUSD": 1.17}, "gold": {"XAUUSD": 4800.0}},
        rows=[
            {"position_id": "jgb40", "instrument": "bond", "currency": "JPY",
             "notional": 5e9, "coupon": 2.2, "maturity": dt.date(2065, 3, 20),
             "convention": "JGB", "frequency": None, "day_count": None, "spread_bp": None},
            {"position_id": "ust10", "instrument": "bond", "currency": "USD",
             "notional": -2e7, "coupon": 4.25, "maturity": dt.date(2035, 11, 15),
             "convention": "UST", "frequency": None, "day_count": None, "spread_bp": 12.0},
            {"position_id": "gold", "instrument": "gold", "currency": "USD",
             "notional": 1000.0, "coupon": None, "maturity": None, "convention": None,
             "frequency": None, "day_count": None, "spread_bp": None},
            {"position_id": "eur", "instrument": "fx", "currency": "EUR",
             "notional": 3e6, "coupon": None, "maturity": None, "convention": None,
             "frequency": None, "day_count": None, "spread_bp": None},
        ],
        scenarios=[{"name": "jgb_meltdown",
                    "rates": {"JPY": {"tenors": ["2Y", "10Y", "30Y"], "bp": [5, 25, 60]},
                              "ALL": {"parallel_bp": 10}},
                    "fx": {"JPY": -4.0, "EUR": 1.5}, "gold": {"pct": 6.0}}],
    )
    worst = relative_errors(case)
    assert max(worst.values()) <= RTOL, worst
