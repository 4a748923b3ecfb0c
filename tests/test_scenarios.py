"""Scenario parsing: every shock shape gives its documented shift, every error names the file,
the scenario and the field; concat, load and parallel_grid."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import portfolios
import shocks
import stress
from shocks import ScenarioError, ScenarioSet
from shocks.factors import FactorSpace
from shocks.model import BASEL_GRID, Level
from shocks.tenors import Tenor

ORIGIN = "my_scenarios.toml"


def one(spec: dict[str, Any]) -> ScenarioSet:
    return shocks.from_dict({"scenario": [{"name": "s", **spec}]}, ORIGIN)


def shift(spec: dict[str, Any], ccy: str, t: list[float]) -> np.ndarray:
    return one(spec).shift_bp(0, ccy, t)


# --------------------------------------------------------------------------- shapes


def test_key_rate_shape_is_linear_between_tenors_and_flat_beyond() -> None:
    s = {"rates": {"JPY": {"tenors": ["2Y", "10Y"], "bp": [5, 25]}}}
    np.testing.assert_allclose(shift(s, "JPY", [0.1, 2, 4, 6, 10, 30, 80]),
                               [5, 5, 10, 15, 25, 25, 25], rtol=1e-15)
    np.testing.assert_array_equal(shift(s, "USD", [1, 10]), [0, 0])  # other curves untouched


def test_tenor_units() -> None:
    s = {"rates": {"USD": {"tenors": ["10D", "2W", "6M", 2.5, "1y"], "bp": [1, 2, 3, 4, 5]}}}
    # months are n/12 years, weeks and days n/365; numbers are years; sorted by time
    with pytest.raises(ScenarioError, match="strictly increasing"):
        one(s)
    s["rates"]["USD"] = {"tenors": ["10D", "2W", "6M", "1y", 2.5], "bp": [1, 2, 3, 4, 5]}
    assert one(s).grid.tolist() == [10 / 365, 14 / 365, 0.5, 1.0, 2.5]


def test_parallel_shape_is_flat() -> None:
    s = {"rates": {"USD": {"parallel_bp": 15}}}
    np.testing.assert_array_equal(shift(s, "USD", [0.01, 1, 7, 50, 100]), [15] * 5)


def test_twist_pivots_around_zero() -> None:
    s = {"rates": {"EUR": {"twist": {"short": "2Y", "pivot": "5Y", "long": "30Y",
                                     "short_bp": -20, "long_bp": 30}}}}
    np.testing.assert_allclose(shift(s, "EUR", [1, 2, 3.5, 5, 17.5, 30, 50]),
                               [-20, -20, -10, 0, 15, 30, 30], rtol=1e-15, atol=1e-14)


def test_butterfly_moves_wings_against_belly() -> None:
    s = {"rates": {"EUR": {"butterfly": {"short": "2Y", "belly": "10Y", "long": "30Y",
                                         "wings_bp": -10, "belly_bp": 20}}}}
    np.testing.assert_allclose(shift(s, "EUR", [1, 2, 6, 10, 20, 30, 40]),
                               [-10, -10, 5, 20, 5, -10, -10], rtol=1e-15)


@pytest.mark.parametrize(("key", "shape"), [
    ("short_bp", lambda t: np.exp(-t / 4)),
    ("long_bp", lambda t: 1 - np.exp(-t / 4)),
])
def test_basel_shapes_sampled_on_the_basel_grid(key: str, shape: Any) -> None:
    grid = np.array(BASEL_GRID)
    s = {"rates": {"GBP": {key: 300}}}
    np.testing.assert_allclose(shift(s, "GBP", grid), 300 * shape(grid), rtol=1e-14)
    mid = (grid[:-1] + grid[1:]) / 2  # linear between the nodes
    np.testing.assert_allclose(shift(s, "GBP", mid),
                               300 * (shape(grid[:-1]) + shape(grid[1:])) / 2, rtol=1e-13)
    np.testing.assert_array_equal(shift(s, "GBP", [0.0, 60.0]),  # flat outside
                                  300 * shape(np.array([grid[0], grid[-1]])))


def test_basel_steepener_is_short_plus_long() -> None:
    grid = np.array(BASEL_GRID)
    s = {"rates": {"USD": {"short_bp": -195, "long_bp": 135}}}
    np.testing.assert_allclose(shift(s, "USD", grid),
                               -195 * np.exp(-grid / 4) + 135 * (1 - np.exp(-grid / 4)),
                               rtol=1e-13)


def test_shapes_in_one_block_add_up() -> None:
    s = {"rates": {"JPY": {"tenors": ["2Y", "10Y"], "bp": [5, 25], "parallel_bp": 10,
                           "twist": {"short": "1Y", "pivot": "5Y", "long": "20Y",
                                     "short_bp": -8, "long_bp": 8}}}}
    t = [0.5, 1, 2, 3, 5, 7.5, 10, 20, 40]
    key = np.interp(t, [2, 10], [5, 25])
    twist = np.interp(t, [1, 5, 20], [-8, 0, 8])
    np.testing.assert_allclose(shift(s, "JPY", t), key + 10 + twist, rtol=1e-14, atol=1e-13)


def test_all_applies_to_every_curve_on_top_of_its_own() -> None:
    s = {"rates": {"ALL": {"parallel_bp": 10}, "jpy": {"tenors": ["2Y", "10Y"], "bp": [5, 25]}}}
    sc = one(s)
    assert sc.currencies == ("ALL", "JPY")  # currency codes are upper-cased
    np.testing.assert_allclose(sc.shift_bp(0, "JPY", [2, 6, 10]), [15, 25, 35])
    np.testing.assert_array_equal(sc.shift_bp(0, "GBP", [2, 6, 10]), [10, 10, 10])


def test_level_target_is_kept_for_the_engine() -> None:
    sc = one({"rates": {"JPY": {"tenors": ["10Y", "40Y"], "to_pct": [2.5, 4.0]},
                        "USD": {"parallel_bp": 5}}})
    assert sc.levels == (Level(0, "JPY", (Tenor(10.0, "Y"), Tenor(40.0, "Y")), (2.5, 4.0)),)
    assert "JPY" in sc.currencies
    assert {10.0, 40.0} <= set(sc.grid.tolist())
    np.testing.assert_array_equal(sc.shift_bp(0, "JPY", [1, 10, 40]), [0, 0, 0])  # no market
    np.testing.assert_array_equal(sc.shift_bp(0, "USD", [1, 10, 40]), [5, 5, 5])


def test_fx_gold_and_texts() -> None:
    sc = one({"description": "yen slides", "source": "made up", "fx": {"jpy": -4.0, "EUR": 2},
              "gold": {"pct": 6.0}})
    assert sc.fx_currencies == ("EUR", "JPY")
    np.testing.assert_array_equal(sc.fx_pct, [[2.0, -4.0]])
    np.testing.assert_array_equal(sc.gold_pct, [6.0])
    assert (sc.names, sc.descriptions, sc.sources, sc.origins) == (
        ("s",), ("yen slides",), ("made up",), (ORIGIN,))
    assert sc.frame().columns == ["scenario", "description", "source", "origin"]


def test_several_scenarios_keep_their_own_shapes_on_the_shared_grid() -> None:
    specs = [
        {"name": "a", "rates": {"JPY": {"tenors": ["2Y", "10Y"], "bp": [5, 25]}}},
        {"name": "b", "rates": {"JPY": {"tenors": ["1Y", "5Y", "30Y"], "bp": [-3, 7, 1]}}},
        {"name": "c", "rates": {"USD": {"short_bp": 100}}, "fx": {"EUR": 1.0}},
        {"name": "d"},
    ]
    sc = shocks.from_dict({"scenario": specs}, ORIGIN)
    assert sc.names == ("a", "b", "c", "d")
    t = np.linspace(0, 60, 241)
    np.testing.assert_allclose(sc.shift_bp(0, "JPY", t), np.interp(t, [2, 10], [5, 25]),
                               rtol=1e-14)
    np.testing.assert_allclose(sc.shift_bp(1, "JPY", t),
                               np.interp(t, [1, 5, 30], [-3, 7, 1]), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(sc.shift_bp(2, "USD", t), shift(specs[2], "USD", t), rtol=1e-14)
    for i, c in ((0, "USD"), (2, "JPY"), (3, "JPY"), (3, "USD")):
        np.testing.assert_array_equal(sc.shift_bp(i, c, t), 0.0)
    np.testing.assert_array_equal(sc.fx_pct[:, sc.fx_currencies.index("EUR")], [0, 0, 1, 0])
    sel = sc.select([2, 0])
    assert sel.names == ("c", "a")
    np.testing.assert_array_equal(sel.shift_bp(1, "JPY", t), sc.shift_bp(0, "JPY", t))


def test_read_toml(tmp_path: Path) -> None:
    path = tmp_path / "jgb.toml"
    path.write_text(
        '[[scenario]]\nname = "jgb_meltdown"\ndescription = "JGB sell-off"\n'
        '[scenario.rates.JPY]\ntenors = ["2Y", "10Y", "30Y"]\nbp = [5, 25, 60]\n'
        "[scenario.fx]\nJPY = -4.0\n[scenario.gold]\npct = 6.0\n", encoding="utf-8")
    sc = shocks.read_toml(path)
    assert sc.names == ("jgb_meltdown",)
    assert sc.origins == (str(path),)
    np.testing.assert_allclose(sc.shift_bp(0, "JPY", [2, 10, 20, 30]), [5, 25, 42.5, 60])
    assert shocks.load(path).names == ("jgb_meltdown",)
    assert shocks.load(str(path)).names == ("jgb_meltdown",)


# --------------------------------------------------------------------------- parse errors


def _bad(rates: Any = None, **spec: Any) -> dict[str, Any]:
    out = {"name": "bad_one", **spec}
    if rates is not None:
        out["rates"] = rates
    return out


TWIST = {"short": "2Y", "pivot": "5Y", "long": "30Y", "short_bp": 1, "long_bp": 2}
FLY = {"short": "2Y", "belly": "5Y", "long": "30Y", "wings_bp": 1, "belly_bp": 2}

# (scenario spec, field the message must name, a fragment of the explanation)
SCENARIO_ERRORS = [
    (_bad(shocks=1), "shocks", "unknown key"),
    (_bad(description=3), "description", "expected a string"),
    (_bad(source=["x"]), "source", "expected a string"),
    (_bad(rates=[1, 2]), "rates", "expected tables"),
    (_bad({"XYZ": {"parallel_bp": 1}}), "rates.XYZ", "ISO 4217"),
    (_bad({"JPY": {"parallel_bp": 1}, "jpy": {"parallel_bp": 2}}), "rates.jpy", "twice"),
    (_bad({"ALL": {"tenors": ["10Y"], "to_pct": [3.0]}}), "rates.ALL.to_pct",
     "named currency"),
    (_bad({"JPY": 5}), "rates.JPY", "expected a table"),
    (_bad({"JPY": {}}), "rates.JPY", "no shock given"),
    (_bad({"JPY": {"shift": 5}}), "rates.JPY.shift", "unknown key"),
    (_bad({"JPY": {"tenors": "10Y", "bp": [1]}}), "rates.JPY.tenors", "non-empty list"),
    (_bad({"JPY": {"tenors": [], "bp": []}}), "rates.JPY.tenors", "non-empty list"),
    (_bad({"JPY": {"tenors": ["10X"], "bp": [1]}}), "rates.JPY.tenors", "not a tenor"),
    (_bad({"JPY": {"tenors": [-2], "bp": [1]}}), "rates.JPY.tenors", "positive"),
    (_bad({"JPY": {"tenors": ["10Y", "2Y"], "bp": [1, 2]}}), "rates.JPY.tenors",
     "strictly increasing"),
    (_bad({"JPY": {"tenors": ["2Y", "24M"], "bp": [1, 2]}}), "rates.JPY.tenors",
     "strictly increasing"),
    (_bad({"JPY": {"bp": [1, 2]}}), "rates.JPY.tenors", "bp needs a tenors list"),
    (_bad({"JPY": {"tenors": ["2Y", "10Y"]}}), "rates.JPY.bp", "list of 2 numbers"),
    (_bad({"JPY": {"tenors": ["2Y", "10Y"], "bp": [1]}}), "rates.JPY.bp", "list of 2 numbers"),
    (_bad({"JPY": {"tenors": ["2Y"], "bp": ["x"]}}), "rates.JPY.bp", "expected a number"),
    (_bad({"JPY": {"tenors": ["2Y"], "bp": [True]}}), "rates.JPY.bp", "expected a number"),
    (_bad({"JPY": {"tenors": ["2Y"], "bp": [math.nan]}}), "rates.JPY.bp", "expected a number"),
    (_bad({"JPY": {"to_pct": [3.0]}}), "rates.JPY.tenors", "to_pct needs a tenors list"),
    (_bad({"JPY": {"tenors": ["10Y"], "to_pct": [3.0], "parallel_bp": 5}}),
     "rates.JPY.to_pct", "cannot be combined with parallel_bp"),
    (_bad({"JPY": {"tenors": ["10Y"], "to_pct": ["3%"]}}), "rates.JPY.to_pct",
     "expected a number"),
    (_bad({"JPY": {"parallel_bp": "5bp"}}), "rates.JPY.parallel_bp", "expected a number"),
    (_bad({"JPY": {"parallel_bp": math.inf}}), "rates.JPY.parallel_bp", "expected a number"),
    (_bad({"JPY": {"short_bp": None}}), "rates.JPY.short_bp", "expected a number"),
    (_bad({"JPY": {"long_bp": "1"}}), "rates.JPY.long_bp", "expected a number"),
    (_bad({"JPY": {"twist": 5}}), "rates.JPY.twist", "inline table with exactly"),
    (_bad({"JPY": {"twist": {**TWIST, "extra": 1}}}), "rates.JPY.twist",
     "inline table with exactly"),
    (_bad({"JPY": {"twist": {k: v for k, v in TWIST.items() if k != "pivot"}}}),
     "rates.JPY.twist", "long, long_bp, pivot, short, short_bp"),
    (_bad({"JPY": {"twist": {**TWIST, "short": "soon"}}}), "rates.JPY.twist.short",
     "not a tenor"),
    (_bad({"JPY": {"twist": {**TWIST, "long_bp": "up"}}}), "rates.JPY.twist.long_bp",
     "expected a number"),
    (_bad({"JPY": {"twist": {**TWIST, "pivot": "1Y"}}}), "rates.JPY.twist",
     "short < pivot < long"),
    (_bad({"JPY": {"butterfly": {**FLY, "belly_bp": None}}}), "rates.JPY.butterfly.belly_bp",
     "expected a number"),
    (_bad({"JPY": {"butterfly": {**FLY, "belly": "40Y"}}}), "rates.JPY.butterfly",
     "short < belly < long"),
    (_bad({"JPY": {"butterfly": TWIST}}), "rates.JPY.butterfly",
     "belly, belly_bp, long, short, wings_bp"),
    (_bad(fx=5), "fx", "expected a table"),
    (_bad(fx={"USD": 2.0}), "fx.USD", "USD itself cannot move"),
    (_bad(fx={"usd": 2.0}), "fx.USD", "USD itself cannot move"),
    (_bad(fx={"ABC": 2.0}), "fx.ABC", "ISO 4217"),
    (_bad(fx={"JPY": 1.0, "jpy": 2.0}), "fx.jpy", "twice"),
    (_bad(fx={"JPY": "-4%"}), "fx.JPY", "percent change above -100"),
    (_bad(fx={"JPY": -100}), "fx.JPY", "percent change above -100"),
    (_bad(fx={"JPY": False}), "fx.JPY", "percent change above -100"),
    (_bad(fx={"JPY": math.nan}), "fx.JPY", "percent change above -100"),
    (_bad(gold=6.0), "gold", "one key, pct"),
    (_bad(gold={"pct": 6.0, "usd": 1}), "gold", "one key, pct"),
    (_bad(gold={"pct": -120.0}), "gold.pct", "percent change above -100"),
    (_bad(gold={"pct": "6"}), "gold.pct", "percent change above -100"),
]


@pytest.mark.parametrize(("spec", "field", "fragment"), SCENARIO_ERRORS,
                         ids=[f"{f}:{m}" for _, f, m in SCENARIO_ERRORS])
def test_scenario_errors_name_file_scenario_and_field(spec: dict[str, Any], field: str,
                                                      fragment: str) -> None:
    data = {"scenario": [{"name": "fine", "rates": {"USD": {"parallel_bp": 1}}}, spec]}
    with pytest.raises(ScenarioError) as info:
        shocks.from_dict(data, ORIGIN)
    assert str(info.value).startswith(f"{ORIGIN}: scenario 'bad_one': {field}: "), info.value
    assert fragment in str(info.value)


@pytest.mark.parametrize(("data", "fragment"), [
    ({}, "expected one or more [[scenario]] tables"),
    ({"scenario": []}, "expected one or more [[scenario]] tables"),
    ({"scenario": {"name": "x"}}, "expected one or more [[scenario]] tables"),
    ({"scenario": [{"name": "x"}], "market": {}}, "unknown top-level keys ['market']"),
    ({"scenario": [{"name": "x"}, 5]}, "scenario #2: expected a table"),
    ({"scenario": [{"rates": {}}]}, "scenario #1: name: expected a non-empty string"),
    ({"scenario": [{"name": "  "}]}, "scenario #1: name: expected a non-empty string"),
    ({"scenario": [{"name": 7}]}, "scenario #1: name: expected a non-empty string"),
    ({"scenario": [{"name": "x"}, {"name": "y"}, {"name": "x"}]},
     "scenario name 'x' appears twice"),
])
def test_file_level_errors_name_the_file(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        shocks.from_dict(data, ORIGIN)
    assert str(info.value).startswith(f"{ORIGIN}: "), info.value
    assert fragment in str(info.value)


def test_read_toml_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ScenarioError, match=r"missing\.toml: cannot read scenario file"):
        shocks.read_toml(missing)
    with pytest.raises(ScenarioError, match=r"missing\.toml: cannot read scenario file"):
        shocks.load(str(missing))
    broken = tmp_path / "broken.toml"
    broken.write_text('[[scenario]]\nname = "x\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken\.toml: not valid TOML"):
        shocks.read_toml(broken)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenario]]\nname = "oops"\n[scenario.rates.JPY]\nbp = [1]\n',
                   encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        shocks.load(bad)
    assert str(info.value).startswith(f"{bad}: scenario 'oops': rates.JPY.tenors: ")
    with pytest.raises(ScenarioError) as info:
        shocks.read_toml(bad, origin="library:bad.toml")
    assert str(info.value).startswith("library:bad.toml: scenario 'oops': ")


# --------------------------------------------------------------------------- library, concat


def test_load_unknown_source_lists_the_groups() -> None:
    with pytest.raises(ScenarioError) as info:
        shocks.load("no_such_scenario")
    msg = str(info.value)
    assert "'no_such_scenario' is neither a scenario file nor a built-in scenario" in msg
    groups = sorted(set(shocks.library()["group"].to_list()))
    assert groups and f"built-in groups: {', '.join(groups)} (or 'all')" in msg


def test_load_empty_list() -> None:
    with pytest.raises(ScenarioError, match="no scenarios given"):
        shocks.load([])


def test_load_names_groups_and_all() -> None:
    lib = shocks.library()
    assert lib.columns == ["scenario", "description", "source", "group"]
    everything = shocks.load("all")
    assert everything.names == tuple(lib["scenario"].to_list())
    name, group = lib["scenario"][0], lib["group"][0]
    assert shocks.load(name).names == (name,)
    members = tuple(lib.filter(pl.col("group") == group)["scenario"].to_list())
    assert shocks.load(group).names == members
    own = one({"rates": {"USD": {"parallel_bp": 1}}})
    assert shocks.load([name, own]).names == (name, "s")


def test_concat_rejects_duplicate_names() -> None:
    a = shocks.from_dict({"scenario": [{"name": "x"}]}, "a.toml")
    b = shocks.from_dict({"scenario": [{"name": "y"}, {"name": "x"}]}, "b.toml")
    twice = r"scenario name 'x' appears twice \(a\.toml and b\.toml\)"
    with pytest.raises(ValueError, match=twice):
        shocks.concat([a, b])
    with pytest.raises(ScenarioError, match=r"'x' appears twice \(a\.toml and b\.toml\)"):
        shocks.load([a, b])
    # the library's grid and the generator's share names
    with pytest.raises(ScenarioError, match=r"appears twice \(library:parallel_grid\.toml and "
                                            r"generator:parallel_grid\)"):
        shocks.load(["parallel_grid", shocks.parallel_grid()])


def test_concat_merges_grids_exactly() -> None:
    a = one({"rates": {"JPY": {"tenors": ["2Y", "10Y"], "bp": [5, 25]}}, "fx": {"JPY": -4}})
    b = shocks.from_dict({"scenario": [{"name": "t", "rates": {"ALL": {"short_bp": 50}},
                                        "gold": {"pct": 3}}]}, "b.toml")
    c = shocks.concat([a, b])
    assert c.names == ("s", "t")
    assert c.origins == (ORIGIN, "b.toml")
    assert c.currencies == ("ALL", "JPY")
    t = np.linspace(0, 60, 601)
    np.testing.assert_allclose(c.shift_bp(0, "JPY", t), a.shift_bp(0, "JPY", t), rtol=1e-14)
    np.testing.assert_allclose(c.shift_bp(1, "USD", t), b.shift_bp(0, "USD", t), rtol=1e-14)
    np.testing.assert_array_equal(c.fx_pct, [[-4.0], [0.0]])
    np.testing.assert_array_equal(c.gold_pct, [0.0, 3.0])


# --------------------------------------------------------------------------- parallel_grid


def test_parallel_grid() -> None:
    g = shocks.parallel_grid()
    assert len(g) == 25
    assert g.names[0] == "parallel_m300"
    assert g.names[12] == "parallel_p0"
    assert g.names[-1] == "parallel_p300"
    assert set(g.origins) == {"generator:parallel_grid"}
    assert g.descriptions[1] == "parallel shift of -275 bp"
    for i, bp in enumerate(np.arange(-300, 301, 25)):
        for ccy in ("USD", "JPY", "XAU"):
            np.testing.assert_array_equal(g.shift_bp(i, ccy, [0.1, 5, 50]), [bp] * 3)
    np.testing.assert_array_equal(g.gold_pct, 0.0)
    assert g.fx_currencies == ()

    fine = shocks.parallel_grid(-25, 25, 12.5, currency="JPY")
    assert fine.names == ("parallel_m25", "parallel_m12.5", "parallel_p0", "parallel_p12.5",
                          "parallel_p25")
    np.testing.assert_array_equal(fine.shift_bp(1, "JPY", [3]), [-12.5])
    np.testing.assert_array_equal(fine.shift_bp(1, "USD", [3]), [0.0])
    assert shocks.parallel_grid(10, 10, 5).names == ("parallel_p10",)


@pytest.mark.parametrize(("lo", "hi", "step"), [(0, 100, 0), (0, 100, -5), (100, 0, 25)])
def test_parallel_grid_rejects_bad_ranges(lo: float, hi: float, step: float) -> None:
    with pytest.raises(ValueError, match="step_bp > 0 and hi_bp >= lo_bp"):
        shocks.parallel_grid(lo, hi, step)


# --------------------------------------------------------------------------- engine errors


MARKET = stress.Market.from_dict({
    "valuation_date": "2026-01-20",
    "curves": {"USD": {"type": "zero", "tenors": ["1Y", "10Y"], "rates": [4.0, 4.3]},
               "JPY": {"type": "zero", "tenors": ["1Y", "10Y"], "rates": [0.8, 1.9]}},
    "fx": {"USDJPY": 158.0},
}, source="mkt.toml")
BOOK = portfolios.load(pl.DataFrame({
    "position_id": ["ust"], "instrument": ["bond"], "currency": ["USD"], "notional": [1e6],
    "coupon": [4.0], "maturity": [dt.date(2030, 1, 15)], "convention": ["UST"]}))
FINE = shocks.from_dict({"scenario": [{"name": "fine", "rates": {"USD": {"parallel_bp": 5}}}]},
                        "a.toml")


@pytest.mark.parametrize(("spec", "field", "fragment"), [
    ({"rates": {"GBP": {"parallel_bp": 5}}}, "rates.GBP", "has no GBP curve"),
    ({"rates": {"EUR": {"tenors": ["2Y", "10Y"], "bp": [0, 30]}}}, "rates.EUR",
     "has no EUR curve"),
    ({"rates": {"GBP": {"tenors": ["10Y"], "to_pct": [4.0]}}}, "rates.GBP.to_pct",
     "has no GBP curve"),
    ({"fx": {"CHF": 2.0}}, "fx.CHF", "has no FX rate for CHF"),
    ({"fx": {"JPY": 1.0, "EUR": -3.0}}, "fx.EUR", "has no FX rate for EUR"),
])
def test_engine_errors_for_what_the_market_lacks(spec: dict[str, Any], field: str,
                                                 fragment: str) -> None:
    """The scenario named is the one that needs the missing data, even after others."""
    bad = shocks.from_dict({"scenario": [{"name": "bad_one", **spec}]}, "b.toml")
    with pytest.raises(ScenarioError) as info:
        stress.run(BOOK, MARKET, [FINE, bad])
    assert str(info.value) == f"b.toml: scenario 'bad_one': {field}: the market (mkt.toml) " \
        + fragment


def test_engine_error_for_a_level_on_a_curve_only_the_levels_name() -> None:
    """A hand-built set whose level names a currency outside ``currencies``."""
    sc = ScenarioSet(names=("lvl",), descriptions=("",), sources=("",), origins=("hand.toml",),
                     currencies=(), tenors=(Tenor(10.0, ""),), bp=np.zeros((1, 0, 1)),
                     knots=np.zeros((1, 0, 1), dtype=bool), fx_currencies=(),
                     fx_pct=np.zeros((1, 0)), gold_pct=np.zeros(1),
                     levels=(Level(0, "GBP", (Tenor(10.0, ""),), (4.0,)),))
    with pytest.raises(ScenarioError) as info:
        stress.run(BOOK, MARKET, sc)
    assert str(info.value) == ("hand.toml: scenario 'lvl': rates.GBP.to_pct: the market "
                               "(mkt.toml) has no GBP curve")


def test_engine_accepts_shocks_on_curves_the_book_does_not_hold() -> None:
    sc = shocks.from_dict({"scenario": [{"name": "jpy", "rates": {"JPY": {"parallel_bp": 50},
                                                                  "ALL": {"parallel_bp": 0}},
                                         "fx": {"JPY": -10.0}}]}, "c.toml")
    res = stress.run(BOOK, MARKET, sc)
    assert res.summary["pnl"].to_list() == [0.0]


def test_a_factor_space_names_the_factors_a_set_gives_moves_of() -> None:
    space = FactorSpace.of(["JPY.10Y", "JPY.40Y", "USD.10Y", "FX.JPY", "FX.EUR", "XAU"])
    moves = np.array([[5.0, np.nan, 3.0, 1.0, np.nan, np.nan],
                      [np.nan, np.nan, 0.0, 2.0, np.nan, np.nan]])  # fmt: skip
    scen = space.scenarios(moves, names=["a", "b"], units="scenario")
    # A knot of 0 bp is a move given (a curve point pinned); an FX or gold move of 0 % is not.
    assert space.given(scen).tolist() == [True, False, True, True, False, False]
    assert not FactorSpace.of(["EUR.10Y"]).given(scen).any()
