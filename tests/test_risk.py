"""VaR and expected shortfall: the quantile rule on hand-made P&L vectors, the properties that
hold for any vector, and component ES adding up to ES through the engine."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import portfolios
import shocks
import stress
from stress.risk import RiskError, check_levels, tail_size, var_es
from tests import strategies as ts

# --------------------------------------------------------------------------- the rule


def test_rule_on_a_hand_made_vector() -> None:
    """Losses 10, 9, ..., 1 (P&L -10 .. -1) over 100 scenarios, the rest gains."""
    pnl = np.concatenate([-np.arange(10.0, 0.0, -1.0), np.arange(1.0, 91.0)])
    np.random.default_rng(0).shuffle(pnl)
    r99 = var_es(pnl, 0.99)  # k = ceil(0.01 x 100) = 1
    assert (r99.var, r99.es, len(r99.tail)) == (10.0, 10.0, 1)
    r975 = var_es(pnl, 0.975)  # k = ceil(2.5) = 3: losses 10, 9, 8
    assert (r975.var, r975.es) == (8.0, 9.0)
    r95 = var_es(pnl, 0.95)  # k = 5: 10..6
    assert (r95.var, r95.es) == (6.0, 8.0)
    assert pnl[r95.tail].tolist() == [-10.0, -9.0, -8.0, -7.0, -6.0]


def test_tail_sizes() -> None:
    assert [tail_size(100, a) for a in (0.99, 0.975, 0.95, 0.9)] == [1, 3, 5, 10]
    assert tail_size(43, 0.99) == 1 and tail_size(43, 0.95) == 3  # ceil(2.15)
    assert tail_size(8000, 0.99) == 80 and tail_size(8000, 0.975) == 200
    assert tail_size(1, 0.999) == 1


def test_ties_are_broken_by_scenario_order() -> None:
    pnl = np.array([-5.0, -7.0, -5.0, -7.0, 1.0])
    assert var_es(pnl, 0.6).tail.tolist() == [1, 3]  # k = 2
    assert var_es(pnl, 0.4).tail.tolist() == [1, 3, 0]


def test_all_gains_give_a_negative_var() -> None:
    r = var_es(np.array([3.0, 4.0, 5.0]), 0.5)
    assert (r.var, r.es) == (-4.0, -3.5)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5, math.nan])
def test_levels_outside_zero_one_are_refused(level: float) -> None:
    with pytest.raises(RiskError, match="expected a confidence level between 0 and 1"):
        check_levels([level])


@settings(max_examples=ts.examples(200), deadline=None)
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=300),
       st.lists(st.floats(0.5, 0.999), min_size=2, max_size=4, unique=True))
def test_es_at_least_var_and_both_monotone_in_the_level(pnl: list[float],
                                                        levels: list[float]) -> None:
    x = np.array(pnl)
    results = [var_es(x, a) for a in sorted(levels)]
    for r in results:
        assert r.es >= r.var - 1e-9 * max(1.0, abs(r.var))
        assert r.var == -np.sort(x)[len(r.tail) - 1]
    for lo, hi in itertools.pairwise(results):
        assert hi.var >= lo.var and hi.es >= lo.es - 1e-9 * max(1.0, abs(lo.es))


# --------------------------------------------------------------------------- through the engine


VAL = dt.date(2026, 1, 20)
MARKET = stress.Market.from_dict({
    "valuation_date": VAL.isoformat(),
    "curves": {"USD": {"tenors": ["1Y", "5Y", "10Y", "30Y"], "rates": [3.6, 3.8, 4.2, 4.8]},
               "JPY": {"tenors": ["1Y", "10Y", "40Y"], "rates": [0.8, 2.2, 3.9]}},
    "fx": {"USDJPY": 158.0}, "gold": {"XAUUSD": 4800.0},
})


@st.composite
def books_and_sets(draw: st.DrawFn) -> tuple[portfolios.Portfolio, shocks.ScenarioSet]:
    rows: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("bond", "bond", "gold", "fx")))
        ccy = "USD" if kind == "gold" else draw(st.sampled_from(("USD", "JPY")))
        row: dict[str, Any] = {"position_id": f"P{i}", "instrument": kind, "currency": ccy,
                               "notional": draw(st.sampled_from((-1.0, 1.0)))
                               * draw(st.floats(1e3, 1e8)), "book": draw(st.sampled_from("AB"))}
        if kind == "bond":
            row |= {"coupon": draw(st.floats(0.0, 8.0)), "convention": "UST",
                    "maturity": VAL + dt.timedelta(days=draw(st.integers(30, 40 * 365)))}
        rows.append(row)
    n = draw(st.integers(5, 60))
    specs = [{"name": f"s{k}",
              "rates": {"USD": {"parallel_bp": draw(st.floats(-200, 200))},
                        "JPY": {"tenors": ["2Y", "30Y"],
                                "bp": [draw(st.floats(-200, 200)), draw(st.floats(-200, 200))]}},
              "fx": {"JPY": draw(st.floats(-20, 20))}, "gold": {"pct": draw(st.floats(-20, 20))}}
             for k in range(n)]
    return portfolios.load(ts.positions_frame(rows)), shocks.from_dict({"scenario": specs})


@settings(max_examples=ts.examples(25), deadline=None)
@given(books_and_sets(), st.sampled_from((0.99, 0.975, 0.9, 0.5)))
def test_component_es_adds_up_to_es(case: tuple[Any, Any], level: float) -> None:
    book, scen = case
    res = stress.run(book, MARKET, scen, by=["book"], risk=[level])
    es = res.risk([level])["es"][0]
    scale = max(1.0, float(res.summary["pv_before"].abs().sum()) * 1e-12, abs(es) * 1e-12)
    per_position = res.component_es(level)
    assert per_position["component_es"].sum() == pytest.approx(es, abs=scale)
    per_book = res.component_es(level, by="book")
    assert per_book["component_es"].sum() == pytest.approx(es, abs=scale)
    # a position's component is minus its mean P&L over the tail scenarios, from the detail
    tail = var_es(res.summary["pnl"].to_numpy(), level).tail
    names = [res.scenarios.names[i] for i in tail]
    detail = stress.run(book, MARKET, scen, detail="positions").positions.with_columns(
        pl.col("scenario", "position_id").cast(pl.String))
    want = (detail.filter(pl.col("scenario").is_in(names)).group_by("position_id")
            .agg((-pl.col("pnl").mean()).alias("c")))
    got = dict(zip(per_position["position_id"], per_position["component_es"], strict=True))
    for pid, c in want.iter_rows():
        assert got[pid] == pytest.approx(c, rel=1e-12, abs=scale)


def test_component_es_needs_its_level_requested() -> None:
    book = portfolios.load(pl.DataFrame({"position_id": ["c"], "instrument": ["fx"],
                                         "currency": ["JPY"], "notional": [1e9]}))
    scen = shocks.from_dict({"scenario": [{"name": f"s{k}", "fx": {"JPY": k - 5.0}}
                                          for k in range(10)]})
    res = stress.run(book, MARKET, scen, risk=[0.9])
    assert res.component_es(0.9)["component_es"].to_list() == pytest.approx(
        [res.risk([0.9])["es"][0]])
    with pytest.raises(RiskError, match=r"component ES at 0.99 was not kept \(levels kept: 0.9\)"):
        res.component_es(0.99)
    # VaR and ES at the run's levels unless asked for others; a level asked twice is one row.
    assert res.risk()["level"].to_list() == [0.9]
    assert stress.run(book, MARKET, scen).risk()["level"].to_list() == [0.99, 0.975]
    assert res.risk([0.99, 0.9, 0.99])["level"].to_list() == [0.99, 0.9]
    assert stress.run(book, MARKET, scen, risk=[0.9, 0.9]).components.keys() == {0.9}
