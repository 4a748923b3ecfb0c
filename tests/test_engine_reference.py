"""The engine against a slow, obvious pure-Python reference engine.

The reference loops over scenarios, positions and cashflows with Python floats and
``datetime``, interpolates curves and shocks with its own piecewise-linear function, resolves
key-rate, parallel, twist, ALL and level-target (``to_pct``) shocks itself, and only borrows the
cashflow schedule (``stress.cashflows.build_cashflows``, tested elsewhere). It computes every
column of ``summary`` (including the three worst positions) and of ``positions``; the engine
must agree to 1e-10 relative.

Relative is measured against the magnitudes that enter a number: a P&L is a difference of PVs
(it is compared against max(|P&L|, 1e-4 x |PV|)), a book total against the sum of its
positions' magnitudes, and a duration or convexity (a ratio of sums) against its condition.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolios
import shocks
import stress
from portfolios.conventions import BUSINESS_DAY_CONVENTIONS, CALENDARS, DAY_COUNTS, PRESETS
from stress.cashflows import build_cashflows
from tests import strategies as ts

RTOL = 1e-10
FLOOR = 1e-4  # P&L magnitudes below FLOOR x |PV| are compared in absolute terms
CURRENCIES = ("USD", "JPY", "EUR")
CURVE_TENORS = ("1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "20Y", "30Y", "40Y")
SHOCK_TENORS = ("2W", "1M", "3M", "6M", "1Y", "18M", "2Y", "1000D", "5Y", "10Y", "20Y", "30Y",
                "50Y")
MONEY = ("pnl", "pnl_rates", "pnl_spread", "pnl_fx", "pnl_gold", "pnl_cross", "pv_before",
         "pv_after", "cs01_before", "cs01_after",
         "dv01_before", "dv01_after", "taylor_duration", "taylor_convexity", "taylor_pnl",
         "taylor_residual")
RATIOS = {"duration_before": ("dd0", "bpv0"), "duration_after": ("dd1", "bpv1"),
          "convexity_before": ("dc0", "bpv0"), "convexity_after": ("dc1", "bpv1"),
          "spread_duration_before": ("dd0", "bpv0"), "spread_duration_after": ("dd1", "bpv1")}
SECTORS = ("financials", "utilities", "govt")


def spread_bp(spec: dict[str, Any], row: dict[str, Any]) -> float:
    """A scenario's spread shift of a position: its group's value, else ALL's, else 0."""
    table = spec.get("spreads")
    if not table:
        return 0.0
    label = row.get(table["by"])
    bp = table["bp"]
    return float(bp.get(label, bp.get("ALL", 0.0))) if label is not None else float(
        bp.get("n/a", bp.get("ALL", 0.0)))


# --------------------------------------------------------------------------- reference engine


def interp(x: float, xs: list[float], ys: list[float]) -> float:
    """Piecewise linear through (xs, ys), flat outside."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    for k in range(1, len(xs)):
        if x <= xs[k]:
            w = (x - xs[k - 1]) / (xs[k] - xs[k - 1])
            return ys[k - 1] + w * (ys[k] - ys[k - 1])
    raise AssertionError("unreachable")


def add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    year = d.year + y
    return dt.date(year, m + 1, min(d.day, calendar.monthrange(year, m + 1)[1]))


def tenor_years(label: str) -> float:
    """Nominal length: n/12 for months, n/365 for days."""
    n, unit = float(label[:-1]), label[-1]
    return {"D": n / 365.0, "W": n * 7 / 365.0, "M": n / 12.0, "Y": n}[unit]


def tenor_time(label: str, val: dt.date) -> float:
    """ACT/365F years from ``val`` to the end of the calendar period ``label``."""
    n, unit = int(label[:-1]), label[-1]
    if unit in "MY":
        end = add_months(val, n if unit == "M" else 12 * n)
    else:
        end = val + dt.timedelta(days=n * (7 if unit == "W" else 1))
    return (end - val).days / 365.0


def curve_nodes(val: dt.date, spec: dict[str, Any]) -> tuple[list[float], list[float]]:
    """(ACT/365F times, decimal rates) of a zero curve given by calendar tenors."""
    times = []
    for label in spec["tenors"]:
        n, unit = int(label[:-1]), label[-1]
        d = add_months(val, n if unit == "M" else 12 * n)
        times.append((d - val).days / 365.0)
    return times, [r / 100.0 for r in spec["rates"]]


def block_shift(block: dict[str, Any], t: float, val: dt.date) -> float:
    """Shift in bp at time t of one additive rates block: its shapes summed at the union of
    their tenors (each shape evaluated there by nominal length), linear in calendar time
    between those tenors, flat beyond; a parallel shift adds everywhere."""
    shapes = []
    if "tenors" in block:
        shapes.append((list(block["tenors"]), list(block["bp"])))
    if "twist" in block:
        tw = block["twist"]
        shapes.append(([tw[k] for k in ("short", "pivot", "long")],
                       [tw["short_bp"], 0.0, tw["long_bp"]]))
    out = block.get("parallel_bp", 0.0)
    if not shapes:
        return out
    union = sorted({x for labels, _ in shapes for x in labels}, key=tenor_years)
    values = [sum(interp(tenor_years(x), [tenor_years(y) for y in labels], bp)
                  for labels, bp in shapes) for x in union]
    return out + interp(t, [tenor_time(x, val) for x in union], values)


def shift_bp(spec: dict[str, Any], ccy: str, t: float,
             curve: tuple[list[float], list[float]], val: dt.date) -> float:
    """The scenario's shift of the ``ccy`` zero rate at time t: a level target replaces every
    other shift of that curve; otherwise the currency's block plus the ALL block."""
    rates = spec.get("rates", {})
    block = rates.get(ccy)
    if block is not None and "to_pct" in block:
        tenors = [tenor_time(x, val) for x in block["tenors"]]
        bp = [(p / 100.0 - interp(T, *curve)) * 1e4 for T, p in zip(tenors, block["to_pct"],
                                                                     strict=True)]
        return interp(t, tenors, bp)
    return sum(block_shift(rates[c], t, val) for c in (ccy, "ALL") if c in rates)


def reference(market: dict[str, Any], rows: list[dict[str, Any]],
              scenarios: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(summary rows, position rows scenario-major) as plain dicts."""
    val = dt.date.fromisoformat(market["valuation_date"])
    base = market["base_currency"]
    usd = {"USD": 1.0, "JPY": 1.0 / market["fx"]["USDJPY"], "EUR": market["fx"]["EURUSD"]}
    gold = market["gold"]["XAUUSD"]
    curves = {c: curve_nodes(val, market["curves"][c]) for c in CURRENCIES}
    flows: dict[int, list[tuple[float, float]]] = {}
    for i, r in enumerate(rows):
        if r["instrument"] != "bond":
            continue
        freq, dc = (PRESETS[r["convention"]].frequency, PRESETS[r["convention"]].day_count) \
            if r["convention"] else (r["frequency"], r["day_count"])
        mat = (r["maturity"] - dt.date(1970, 1, 1)).days
        kw = {}
        if r["convention"]:  # the preset's calendar, rolling and ex-dividend period
            c = PRESETS[r["convention"]]
            kw = {"calendar": np.array([CALENDARS[c.calendar]]),
                  "business_day_convention": np.array([BUSINESS_DAY_CONVENTIONS[
                      c.business_day_convention]]),
                  "settlement_days": np.array([c.settlement_days]),
                  "ex_dividend_days": np.array([c.ex_dividend_days])}
        cf = build_cashflows(val, np.array([mat]), np.array([r["coupon"]]), np.array([freq]),
                             np.array([DAY_COUNTS[dc]]), **kw)
        flows[i] = [((int(p) - cf.valuation_day) / 365.0, float(a))
                    for p, a in zip(cf.pay_day, cf.amount, strict=True)]
    summary, positions = [], []
    for spec in scenarios:
        fx = spec.get("fx", {})
        grow = {c: 1.0 + fx.get(c, 0.0) / 100.0 for c in usd}
        g_mul = 1.0 + spec.get("gold", {}).get("pct", 0.0) / 100.0
        rows_s = []
        for i, r in enumerate(rows):
            c = r["currency"]
            x0 = usd[c] / usd[base]
            x1 = usd[c] * grow[c] / (usd[base] * grow[base])
            q: dict[str, Any] = dict.fromkeys(("dd0", "dd1", "dc0", "dc1", "t1", "t2", "bpv0",
                                               "bpv1"), 0.0)
            if r["instrument"] == "bond":
                s = (r["spread_bp"] or 0.0) / 1e4
                ds = spread_bp(spec, r) / 1e4
                scale = r["notional"] / 100.0
                l0 = l1 = lr = dd0 = dd1 = dc0 = dc1 = t1 = t2 = 0.0
                for t, a in flows[i]:
                    z = interp(t, *curves[c])
                    d = shift_bp(spec, c, t, curves[c], val) / 1e4
                    v0 = a * math.exp(-(z + s) * t)
                    v1 = a * math.exp(-(z + s + d + ds) * t)
                    lr += a * math.exp(-(z + s + d) * t)
                    l0 += v0
                    l1 += v1
                    dd0 += v0 * t
                    dd1 += v1 * t
                    dc0 += v0 * t * t
                    dc1 += v1 * t * t
                    t1 += v0 * t * d
                    t2 += v0 * t * t * d * d
                l0, l1, lr = scale * l0, scale * l1, scale * lr
                q.update(dd0=scale * dd0 * x0, dd1=scale * dd1 * x1, dc0=scale * dc0 * x0,
                         dc1=scale * dc1 * x1, t1=-scale * t1 * x0, t2=0.5 * scale * t2 * x0,
                         bpv0=l0 * x0, bpv1=l1 * x1)
            elif r["instrument"] == "gold":
                l0 = r["notional"] * gold
                l1 = lr = l0 * g_mul
            else:
                l0 = l1 = lr = r["notional"]
            dl, dx = l1 - l0, x1 - x0
            q.update(
                id=r["position_id"], pnl=l1 * x1 - l0 * x0,
                pnl_rates=(lr - l0) * x0 if r["instrument"] == "bond" else 0.0,
                pnl_spread=(l1 - lr) * x0 if r["instrument"] == "bond" else 0.0,
                cs01_before=q["dd0"] * 1e-4, cs01_after=q["dd1"] * 1e-4,
                pnl_gold=dl * x0 if r["instrument"] == "gold" else 0.0,
                pnl_fx=l0 * dx, pnl_cross=dl * dx, pv_before=l0 * x0, pv_after=l1 * x1,
                dv01_before=q["dd0"] * 1e-4, dv01_after=q["dd1"] * 1e-4,
                taylor_duration=q["t1"], taylor_convexity=q["t2"],
                taylor_pnl=q["t1"] + q["t2"])
            q["taylor_residual"] = q["pnl_rates"] - q["taylor_pnl"]
            q["pv"] = max(abs(q["pv_before"]), abs(q["pv_after"]))
            for col, (num, den) in RATIOS.items():
                q[col] = q[num] / q[den] if q[den] != 0 else math.nan
            rows_s.append(q)
        positions += rows_s
        total: dict[str, Any] = {k: sum(p[k] for p in rows_s) for k in (
            *MONEY, "dd0", "dd1", "dc0", "dc1", "bpv0", "bpv1")}
        total["taylor_residual"] = total["pnl_rates"] - total["taylor_pnl"]
        for col, (num, den) in RATIOS.items():
            total[col] = total[num] / total[den] if total[den] != 0 else math.nan
        total["_parts"] = rows_s
        worst = sorted(rows_s, key=lambda p: p["pnl"])[:3]
        total["worst_pnl"] = [p["pnl"] for p in worst]
        summary.append(total)
    return summary, positions


# --------------------------------------------------------------------------- tolerances


def magnitude(col: str, parts: list[dict[str, Any]], value: float) -> float:
    """The scale a computed ``col`` (a sum over ``parts``) is accurate relative to."""
    if col in RATIOS:
        num, den = RATIOS[col]
        d = abs(sum(p[den] for p in parts))
        if d == 0:
            return math.nan  # no bonds: the ratio is NaN and is compared as such
        return (sum(abs(p[num]) for p in parts) + abs(value) * sum(abs(p[den]) for p in parts)) / d
    extra = ("pnl_rates", "taylor_pnl") if col == "taylor_residual" else ()
    return sum(max(abs(p[col]), FLOOR * p["pv"], *(abs(p[e]) for e in extra)) for p in parts)


def check(got: float, want: float, scale: float, what: str) -> None:
    if math.isnan(want):
        assert math.isnan(got), f"{what}: {got} != NaN"
        return
    assert abs(got - want) <= RTOL * scale, f"{what}: {got!r} != {want!r} (scale {scale:g})"


# --------------------------------------------------------------------------- strategies


def _num(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 4))


def _tenor_list(draw: st.DrawFn, min_size: int = 1, max_size: int = 4) -> list[str]:
    idx = draw(st.lists(st.integers(0, len(SHOCK_TENORS) - 1), min_size=min_size,
                        max_size=max_size, unique=True))
    return [SHOCK_TENORS[i] for i in sorted(idx)]


@st.composite
def rate_block(draw: st.DrawFn, allow_level: bool) -> dict[str, Any]:
    if allow_level and draw(st.integers(0, 4)) == 0:
        tenors = _tenor_list(draw, max_size=3)
        return {"tenors": tenors, "to_pct": [draw(_num(-1.0, 9.0)) for _ in tenors]}
    block: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(("keyrate", "parallel", "twist")), min_size=1,
                             max_size=3, unique=True)):
        if key == "keyrate":
            block["tenors"] = _tenor_list(draw)
            block["bp"] = [draw(_num(-300.0, 300.0)) for _ in block["tenors"]]
        elif key == "parallel":
            block["parallel_bp"] = draw(_num(-300.0, 300.0))
        else:
            short, pivot, long = _tenor_list(draw, 3, 3)
            block["twist"] = {"short": short, "pivot": pivot, "long": long,
                              "short_bp": draw(_num(-100.0, 100.0)),
                              "long_bp": draw(_num(-100.0, 100.0))}
    return block


@st.composite
def inputs(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    val = draw(st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)))
    curves = {}
    for c in CURRENCIES:
        idx = sorted(draw(st.lists(st.integers(0, len(CURVE_TENORS) - 1), min_size=1,
                                   max_size=6, unique=True)))
        curves[c] = {"type": "zero", "tenors": [CURVE_TENORS[i] for i in idx],
                     "rates": [draw(_num(-1.0, 8.0)) for _ in idx]}
    market = {"valuation_date": val.isoformat(), "base_currency": draw(st.sampled_from(CURRENCIES)),
              "curves": curves, "fx": {"USDJPY": draw(_num(80.0, 200.0)),
                                       "EURUSD": draw(_num(0.8, 1.5))},
              "gold": {"XAUUSD": draw(_num(1000.0, 6000.0))}}
    rows = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("bond", "bond", "gold", "fx")))
        row: dict[str, Any] = {
            "position_id": f"P{i}", "instrument": kind,
            "currency": "USD" if kind == "gold" else draw(st.sampled_from(CURRENCIES)),
            "notional": draw(st.sampled_from((1.0, -1.0))) * draw(_num(1.0, 1e8)),
            "coupon": None, "maturity": None, "convention": None, "frequency": None,
            "day_count": None, "spread_bp": None,
            "sector": draw(st.one_of(st.none(), st.sampled_from(SECTORS)))}
        if kind == "bond":
            row["maturity"] = val + dt.timedelta(days=draw(st.integers(1, 45 * 365)))
            row["coupon"] = draw(st.one_of(st.just(0.0), _num(0.0, 9.0)))
            row["spread_bp"] = draw(st.one_of(st.none(), _num(-50.0, 300.0)))
            if draw(st.booleans()):
                row["convention"] = draw(st.sampled_from(sorted(PRESETS)))
            else:
                row["frequency"] = draw(st.sampled_from((1, 2, 4, 12)))
                row["day_count"] = draw(st.sampled_from(sorted(DAY_COUNTS)))
        rows.append(row)
    scenarios = []
    for k in range(draw(st.integers(1, 4))):
        spec: dict[str, Any] = {"name": f"scen_{k}"}
        ccys = draw(st.lists(st.sampled_from((*CURRENCIES, "ALL")), max_size=3, unique=True))
        if ccys:
            spec["rates"] = {c: draw(rate_block(allow_level=c != "ALL")) for c in ccys}
        fx = draw(st.lists(st.sampled_from(("JPY", "EUR")), max_size=2, unique=True))
        if fx:
            spec["fx"] = {c: draw(_num(-40.0, 40.0)) for c in fx}
        if draw(st.booleans()):
            spec["gold"] = {"pct": draw(_num(-40.0, 40.0))}
        if draw(st.booleans()):
            labels = draw(st.lists(st.sampled_from((*SECTORS, "ALL")), min_size=1, max_size=3,
                                   unique=True))
            spec["spreads"] = {"by": "sector",
                               "bp": {k: draw(_num(-200.0, 500.0)) for k in labels}}
        scenarios.append(spec)
    return market, rows, scenarios


def run_engine(market: dict[str, Any], rows: list[dict[str, Any]],
               scenarios: list[dict[str, Any]]) -> stress.StressResult:
    frame = ts.positions_frame(rows)
    return stress.run(portfolios.load(frame), stress.Market.from_dict(market),
                      shocks.from_dict({"scenario": scenarios}, "<reference test>"),
                      detail="positions")


# --------------------------------------------------------------------------- tests


def compare(market: dict[str, Any], rows: list[dict[str, Any]],
            scenarios: list[dict[str, Any]]) -> None:
    res = run_engine(market, rows, scenarios)
    ref_summary, ref_positions = reference(market, rows, scenarios)

    # rows in (scenario, position) input order, whatever order the engine returns them in
    pos = res.positions.sort(pl.col("scenario").to_physical(),
                             pl.col("position_id").to_physical())
    assert pos.height == len(ref_positions)
    assert pos["scenario"].cast(pl.String).to_list() == [
        s["name"] for s in scenarios for _ in rows]
    assert pos["position_id"].cast(pl.String).to_list() == [p["id"] for p in ref_positions]
    expected_cols = {"scenario", "position_id", *MONEY, *RATIOS} - {"taylor_duration",
                                                                    "taylor_convexity"}
    assert set(pos.columns) == expected_cols
    for col in sorted(expected_cols - {"scenario", "position_id"}):
        for k, (got, want) in enumerate(zip(pos[col].to_list(), ref_positions, strict=True)):
            check(got, want[col], magnitude(col, [want], want[col]), f"positions[{k}].{col}")

    summ = res.summary
    assert summ["scenario"].cast(pl.String).to_list() == [s["name"] for s in scenarios]
    n_worst = min(3, len(rows))
    assert set(summ.columns) == {"scenario", *MONEY, *RATIOS} | {
        f"worst_{k}{sfx}" for k in range(1, n_worst + 1) for sfx in ("", "_pnl")}
    for s, want in enumerate(ref_summary):
        for col in (*MONEY, *RATIOS):
            check(summ[col][s], want[col], magnitude(col, want["_parts"], want[col]),
                  f"summary[{s}].{col}")
        by_id = {p["id"]: p for p in want["_parts"]}
        ids = [summ[f"worst_{k}"].cast(pl.String)[s] for k in range(1, n_worst + 1)]
        assert len(set(ids)) == n_worst
        for k, (pid, wp) in enumerate(zip(ids, want["worst_pnl"], strict=True), start=1):
            got = summ[f"worst_{k}_pnl"][s]
            p = by_id[pid]
            scale = magnitude("pnl", [p], p["pnl"])
            # the k-th worst P&L, and the position named has that P&L
            check(got, wp, scale, f"summary[{s}].worst_{k}_pnl")
            check(got, p["pnl"], scale, f"summary[{s}].worst_{k} ({pid})")


# Random books and spread tables: a table that moves no position of the book is a case too.
@pytest.mark.filterwarnings("ignore:the scenarios' spread shifts by")
@settings(max_examples=ts.examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(inputs())
def test_engine_matches_reference(case: tuple[Any, Any, Any]) -> None:
    compare(*case)


def test_reference_fixed_case() -> None:
    """A readable case with every kind of position and shock, JPY base."""
    market = {"valuation_date": "2026-01-30", "base_currency": "JPY",
              "curves": {"USD": {"type": "zero", "tenors": ["3M", "2Y", "10Y", "30Y"],
                                 "rates": [4.3, 3.9, 4.2, 4.7]},
                         "JPY": {"type": "zero", "tenors": ["1Y", "10Y", "40Y"],
                                 "rates": [0.8, 1.9, 3.4]},
                         "EUR": {"type": "zero", "tenors": ["2Y", "10Y"], "rates": [2.1, 2.7]}},
              "fx": {"USDJPY": 158.0, "EURUSD": 1.17}, "gold": {"XAUUSD": 4800.0}}
    none = {"coupon": None, "maturity": None, "convention": None, "frequency": None,
            "day_count": None, "spread_bp": None}
    rows = [
        {**none, "position_id": "jgb", "instrument": "bond", "currency": "JPY",
         "notional": 1e9, "coupon": 2.1, "maturity": dt.date(2064, 3, 20), "convention": "JGB"},
        {**none, "position_id": "ust", "instrument": "bond", "currency": "USD",
         "notional": -1e7, "coupon": 4.0, "maturity": dt.date(2036, 2, 29),
         "frequency": 2, "day_count": "ACT/ACT-ICMA", "spread_bp": 15.0},
        {**none, "position_id": "bund", "instrument": "bond", "currency": "EUR",
         "notional": 5e6, "coupon": 0.0, "maturity": dt.date(2031, 8, 15), "convention": "BUND"},
        {**none, "position_id": "gold", "instrument": "gold", "currency": "USD",
         "notional": 250.0},
        {**none, "position_id": "usd", "instrument": "fx", "currency": "USD", "notional": -3e6},
    ]
    scenarios = [
        {"name": "meltdown", "rates": {"JPY": {"tenors": ["2Y", "10Y", "30Y"],
                                               "bp": [5, 25, 60]},
                                       "ALL": {"parallel_bp": 10}},
         "fx": {"JPY": -4.0}, "gold": {"pct": 6.0}},
        {"name": "level", "rates": {"JPY": {"tenors": ["10Y", "40Y"], "to_pct": [2.5, 4.0]},
                                    "ALL": {"twist": {"short": "2Y", "pivot": "5Y",
                                                      "long": "30Y", "short_bp": -20,
                                                      "long_bp": 30}}},
         "fx": {"EUR": 2.0}},
        {"name": "nothing"},
    ]
    compare(market, rows, scenarios)
