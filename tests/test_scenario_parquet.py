"""Scenario sets as Parquet files: exact round trips, large sets, and bad files named by file,
row, scenario and column."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shocks
from shocks import ScenarioError, ScenarioSet
from shocks.model import _axis_order
from shocks.tenors import Tenor, parse_tenor
from tests.strategies import examples

LABELS: tuple[Any, ...] = ("1D", "10D", "2W", "1M", "6M", "12M", "1Y", 1.0, 2.5, "2.5Y", "10Y",
                           0.0028, "40Y", 123.456789012345, "1.5Y")


def same(a: ScenarioSet, b: ScenarioSet) -> None:
    for f in ("names", "descriptions", "sources", "currencies", "tenors", "fx_currencies",
              "levels"):
        assert getattr(a, f) == getattr(b, f), f
    for f in ("bp", "knots", "fx_pct", "gold_pct"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@st.composite
def scenario_sets(draw: st.DrawFn) -> ScenarioSet:
    n = draw(st.integers(1, 5))
    names = draw(st.lists(st.text(min_size=1, max_size=8).filter(str.strip), min_size=n,
                          max_size=n, unique=True))
    text = st.text(max_size=12)
    tenors = list(_axis_order("tenors", {parse_tenor(x) for x in draw(
        st.lists(st.sampled_from(LABELS), max_size=5))}))
    # the axes read back are those the columns name: curves and tenors come together
    currencies = draw(st.lists(st.sampled_from(["ALL", "EUR", "JPY", "USD"]), unique=True,
                               min_size=1, max_size=3)) if tenors else []
    fx_ccy = draw(st.lists(st.sampled_from(["CHF", "EUR", "JPY"]), unique=True, max_size=3))
    shape = (n, len(currencies), len(tenors))
    knots = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)),
                                   max_size=int(np.prod(shape)))), dtype=bool).reshape(shape)
    bp = np.array(draw(st.lists(st.floats(-10_000, 10_000), min_size=int(np.prod(shape)),
                                max_size=int(np.prod(shape)))), dtype=float).reshape(shape)
    pct = st.floats(-99.999, 900.0)
    fx = np.array(draw(st.lists(pct, min_size=n * len(fx_ccy), max_size=n * len(fx_ccy))),
                  dtype=float).reshape(n, len(fx_ccy))
    return ScenarioSet(
        names=tuple(names),
        descriptions=tuple(draw(st.lists(text, min_size=n, max_size=n))),
        sources=tuple(draw(st.lists(text, min_size=n, max_size=n))),
        origins=("made",) * n,
        currencies=tuple(currencies),
        tenors=tuple(tenors),
        bp=np.where(knots, bp, 0.0),
        knots=knots,
        fx_currencies=tuple(fx_ccy),
        fx_pct=fx,
        gold_pct=np.array(draw(st.lists(pct, min_size=n, max_size=n)), dtype=float),
    )


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario_sets())
def test_round_trip_is_exact(tmp_path: Path, scen: ScenarioSet) -> None:
    path = shocks.write_parquet(scen, tmp_path / "s.parquet")
    back = shocks.read_parquet(path)
    same(scen, back)
    assert back.origins == (str(path),) * len(scen)
    same(scen, shocks.load(path))


def test_layout(tmp_path: Path) -> None:
    scen = shocks.from_dict({"scenario": [
        {"name": "a", "description": "d", "source": "s",
         "rates": {"JPY": {"tenors": ["2Y", "10Y"], "bp": [5, 25]}, "ALL": {"parallel_bp": 1}},
         "fx": {"JPY": -4.0}, "gold": {"pct": 6.0}},
        {"name": "b", "rates": {"USD": {"tenors": [2.5], "bp": [-3]}}},
    ]}, "x.toml")
    path = shocks.write_parquet(scen, tmp_path / "sub" / "x.parquet")
    frame = pl.read_parquet(path)
    assert frame.columns == [
        "scenario", "description", "source",
        "rates.ALL.1", "rates.ALL.2Y", "rates.ALL.2.5", "rates.ALL.10Y",
        "rates.JPY.1", "rates.JPY.2Y", "rates.JPY.2.5", "rates.JPY.10Y",
        "rates.USD.1", "rates.USD.2Y", "rates.USD.2.5", "rates.USD.10Y",
        "fx.JPY", "gold"]
    assert frame["rates.JPY.2Y"].to_list() == [5.0, None]
    assert frame["rates.ALL.1"].to_list() == [1.0, None]
    assert frame["fx.JPY"].to_list() == [-4.0, 0.0]
    same(scen, shocks.load(str(path)))
    # a path is a path, not a pattern
    odd = shocks.write_parquet(scen, tmp_path / "x[1]*.parquet")
    same(scen, shocks.read_parquet(odd))


def test_hundred_thousand_scenarios(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n, tenors = 100_000, tuple(parse_tenor(t) for t in ("1Y", "2Y", "5Y", "10Y", "30Y"))
    knots = rng.random((n, 2, len(tenors))) < 0.9
    scen = ScenarioSet(
        names=tuple(f"mc_{i:06d}" for i in range(1, n + 1)),
        descriptions=tuple(f"draw {i}" for i in range(n)),
        sources=("seeded",) * n,
        origins=("generator",) * n,
        currencies=("JPY", "USD"),
        tenors=tenors,
        bp=np.where(knots, rng.normal(0, 20, knots.shape), 0.0),
        knots=knots,
        fx_currencies=("EUR", "JPY"),
        fx_pct=rng.normal(0, 2, (n, 2)),
        gold_pct=rng.normal(0, 3, n),
    )
    path = shocks.write_parquet(scen, tmp_path / "big.parquet")
    same(scen, shocks.load(path))


def test_writing_refuses_what_reading_would() -> None:
    lv = shocks.from_dict({"scenario": [{"name": "lvl", "rates": {
        "JPY": {"tenors": ["40Y"], "to_pct": [4.0]}}}]})
    with pytest.raises(ScenarioError, match=r"cannot store scenario 'lvl': its level target "
                                            r"rates\.JPY\.to_pct needs a market"):
        shocks.write_parquet(lv, "/tmp/never.parquet")
    ok = shocks.from_dict({"scenario": [{"name": "x", "rates": {"JPY": {"parallel_bp": 1}},
                                         "fx": {"JPY": 1.0}}]})
    bad_bp = dataclasses.replace(ok, bp=np.full(ok.bp.shape, 2e4))
    with pytest.raises(ScenarioError, match=r"scenario 'x', column 'rates\.JPY\.1': got 20000"):
        shocks.write_parquet(bad_bp, "/tmp/never.parquet")
    bad_fx = dataclasses.replace(ok, fx_pct=np.array([[1000.0]]))
    with pytest.raises(ScenarioError, match=r"column 'fx\.JPY': got 1000\.0; expected a "
                                            r"percent change above -100 and at most 900"):
        shocks.write_parquet(bad_fx, "/tmp/never.parquet")
    # A set never holds a move no market can take (what reading refuses outright).
    with pytest.raises(ScenarioError, match=r"ScenarioSet\.bp: scenario 'x' has nan"):
        dataclasses.replace(ok, bp=np.full(ok.bp.shape, np.nan))
    with pytest.raises(ScenarioError, match=r"ScenarioSet\.fx_pct: scenario 'x' has -100\.0"):
        dataclasses.replace(ok, fx_pct=np.array([[-100.0]]))
    assert not Path("/tmp/never.parquet").exists()


# (columns, where the message points, a fragment of the explanation)
BAD_FRAMES: list[tuple[dict[str, Any], str, str]] = [
    ({"scenario": ["a"], "rate.JPY.10Y": [1.0]}, "column 'rate.JPY.10Y'",
     "expected a column of the scenario layout: scenario, description, source"),
    ({"scenario": ["a"], "rates.XYZ.10Y": [1.0]}, "column 'rates.XYZ.10Y'",
     "an ISO 4217 currency code or ALL"),
    ({"scenario": ["a"], "rates.JPY.10X": [1.0]}, "column 'rates.JPY.10X'", "a tenor after"),
    ({"scenario": ["a"], "rates.JPY.1Y": [1.0], "rates.JPY.12M": [1.0]}, "column 'rates.JPY.12M'",
     "each knot once (column 'rates.JPY.1Y' is the same)"),
    ({"scenario": ["a"], "fx.USD": [1.0]}, "column 'fx.USD'", "other than USD"),
    ({"scenario": ["a"], "fx.JPY": [1.0], "FX.jpy": [1.0]}, "column 'FX.jpy'",
     "each currency once"),
    # Two gold columns: the last used to win, silently.
    ({"scenario": ["a"], "gold": [10.0], "Gold": [-50.0]}, "column 'Gold'",
     "one gold column (column 'gold' is the same)"),
    ({"name": ["a"], "gold": [1.0]}, "column 'scenario'", "a 'scenario' column"),
    ({"scenario": ["a"], "description": [3]}, "column 'description'", "text (the column holds"),
    ({"scenario": [1, 2]}, "column 'scenario'", "text (the column holds Int64)"),
    ({"scenario": ["a", None]}, "row 2, column 'scenario'", "expected a non-empty scenario name"),
    ({"scenario": ["a", " "]}, "row 2, column 'scenario'", "got ' '; expected a non-empty"),
    ({"scenario": ["a", "b", "a"]}, "row 3 (scenario 'a'), column 'scenario'",
     "got 'a'; expected a unique name (it is also on row 1)"),
    ({"scenario": ["a"], "rates.JPY.10Y": [float("nan")]}, "row 1 (scenario 'a'), column "
     "'rates.JPY.10Y'", "got nan; expected a shift in bp between -10000 and 10000"),
    ({"scenario": ["a", "b"], "rates.JPY.10Y": [1.0, 2e4]}, "row 2 (scenario 'b'), column "
     "'rates.JPY.10Y'", "got 20000.0; expected a shift in bp"),
    ({"scenario": ["a"], "fx.JPY": [-100.0]}, "row 1 (scenario 'a'), column 'fx.JPY'",
     "got -100.0; expected a percent change above -100 and at most 900 (null = 0)"),
    ({"scenario": ["a"], "gold": [float("inf")]}, "row 1 (scenario 'a'), column 'gold'",
     "got inf; expected a percent change"),
    ({"scenario": ["a"], "fx.JPY": ["-4%"]}, "row 1 (scenario 'a'), column 'fx.JPY'",
     "got '-4%'; expected a number"),
    ({"scenario": ["a"], "gold": [[1.0]]}, "column 'gold'", "numbers (the column holds List"),
    ({"scenario": pl.Series([], dtype=pl.String)}, "", "no scenarios (the file has no rows)"),
]


@pytest.mark.parametrize(("columns", "where", "fragment"), BAD_FRAMES,
                         ids=[f"{w}:{f[:20]}" for _, w, f in BAD_FRAMES])
def test_bad_files_name_file_row_and_column(tmp_path: Path, columns: dict[str, Any], where: str,
                                            fragment: str) -> None:
    path = tmp_path / "bad.parquet"
    pl.DataFrame(columns).write_parquet(path)
    with pytest.raises(ScenarioError) as info:
        shocks.read_parquet(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: {where}"), msg
    assert fragment in msg, msg


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.parquet: cannot read scenario file"):
        shocks.load(tmp_path / "nope.parquet")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(ScenarioError, match=r"broken\.parquet: not a readable Parquet file"):
        shocks.read_parquet(broken)


def test_many_problems_are_listed_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "many.parquet"
    pl.DataFrame({"scenario": [f"s{i}" for i in range(50)], "gold": [-200.0] * 50}).write_parquet(
        path)
    with pytest.raises(ScenarioError) as info:
        shocks.read_parquet(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{path}: row 1 (scenario 's0'), column 'gold'")
    assert lines[-1] == "... and 20 more"


def test_text_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"Scenario": ["a", "b"], "rates.jpy.10y": [None, 5],
                  "fx.eur": [None, 1.5], "source": [None, "x"]}).write_parquet(path)
    s = shocks.read_parquet(path)
    assert s.currencies == ("JPY",) and s.tenors == (Tenor(10.0, "Y"),)
    assert s.knots[:, 0, 0].tolist() == [False, True] and s.bp[1, 0, 0] == 5.0
    assert s.fx_pct[:, 0].tolist() == [0.0, 1.5]
    assert s.sources == ("", "x") and s.descriptions == ("", "")
    np.testing.assert_array_equal(s.gold_pct, [0.0, 0.0])


NAMES = ["scenario", "Scenario", "description", "source", "gold", "fx.JPY", "fx.USD", "FX.eur",
         "rates.JPY.10Y", "rates.jpy.12M", "rates.JPY.1Y", "rates.ALL.2.5", "rates.XYZ.1Y",
         "rates.JPY", "other", ""]
VALUES = st.one_of(
    st.lists(st.one_of(st.none(), st.floats()), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6)), min_size=3, max_size=3),
)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=5))
def test_fuzzed_files_raise_only_scenario_errors(tmp_path: Path,
                                                 columns: dict[str, list[Any]]) -> None:
    path = tmp_path / "fuzz.parquet"
    pl.DataFrame({k: pl.Series(k, v, strict=False) for k, v in columns.items()}).write_parquet(
        path)
    try:
        s = shocks.read_parquet(path)
    except ScenarioError as exc:
        assert str(exc).startswith(str(path))
    else:
        same(s, shocks.read_parquet(shocks.write_parquet(s, tmp_path / "again.parquet")))
