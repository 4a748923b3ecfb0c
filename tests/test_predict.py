"""Predictive stress: the conditional mean equals a least-squares regression (no intercept: the
covariance is not demeaned) computed here from the levels, the conditional covariance equals
the regression's residual second moment, given factors keep their values exactly, near-singular
given sets are handled; fill_unshocked and the TOML [scenario.predict] table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shocks
from shocks import History, HistoryError, ScenarioError
from shocks.predict import ILL_CONDITIONED
from tests.history_samples import CORR, FACTORS, factor_changes, synthetic
from tests.strategies import examples

WHOLE = ("2000-01-01", "2030-01-01")
REL = np.array([f.startswith(("FX", "XAU")) for f in FACTORS])


def regression(h: History, given: dict[str, float], horizon: int = 10) -> tuple[Any, ...]:
    """(expected moves in scenario units, residual stdev, residual covariance) of the others."""
    X = factor_changes(h, horizon)
    ix = [FACTORS.index(f) for f in given]
    iy = [j for j in range(len(FACTORS)) if j not in ix]
    x = np.array([100 * np.log1p(v / 100) if REL[FACTORS.index(f)] else v
                  for f, v in given.items()])
    beta = np.linalg.lstsq(X[:, ix], X[:, iy], rcond=None)[0]
    y = x @ beta
    y = np.where(REL[iy], 100 * np.expm1(y / 100), y)
    resid = X[:, iy] - X[:, ix] @ beta
    return iy, y, np.sqrt(np.mean(resid**2, axis=0)), resid.T @ resid / len(X)


@pytest.mark.parametrize("given", [
    {"JPY.10Y": 25.0},
    {"JPY.10Y": 25.0, "FX.JPY": -4.0},
    {"JPY.2Y": -3.0, "USD.10Y": 40.0, "XAU": 6.0},
])
def test_conditional_mean_is_the_regression(given: dict[str, float]) -> None:
    h = synthetic(1200)
    p = shocks.predict(h, given, window=WHOLE, horizon=10)
    iy, y, sd, C = regression(h, given)
    np.testing.assert_allclose(p.moves[iy], y, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(p.stdev[iy], sd, rtol=1e-9)
    np.testing.assert_allclose(p.conditional_covariance, C, rtol=1e-8, atol=1e-10)
    for f, v in given.items():
        assert p.move(f) == v  # exactly
        assert p.stdev[FACTORS.index(f)] == 0.0
    assert p.given == tuple(f for f in FACTORS if f in given)
    assert p.inferred == tuple(f for f in FACTORS if f not in given)
    cov = shocks.covariance(h, horizon=10, window=WHOLE)
    assert (p.stdev[iy] >= 0).all() and (p.stdev[iy] <= cov.stdev[iy] + 1e-12).all()
    assert p.n_windows == cov.n_windows and p.condition >= 1.0


def test_prediction_as_a_scenario() -> None:
    h = synthetic(800)
    p = shocks.predict(h, {"jpy.10y": 25.0, "fx.jpy": -4.0}, window=WHOLE)
    s = p.scenario("jgb_fill", description="JGB sell-off")
    assert s.names == ("jgb_fill",) and s.currencies == ("JPY", "USD")
    assert s.knots.sum() == 4 and s.bp[0, 0, 1] == 25.0  # JPY 2Y, 10Y, 30Y and USD 10Y
    assert s.fx_pct[0, 0] == -4.0 and s.gold_pct[0] == pytest.approx(p.move("XAU"))
    assert s.descriptions[0].startswith("JGB sell-off [Predictive fill: given JPY 10Y, FX JPY; "
                                        "inferred JPY 2Y/30Y, USD curve, gold as their "
                                        "conditional mean under the covariance of 10-day changes "
                                        "over 2000-01-01 .. 2030-01-01 (")
    frame = p.frame()
    assert frame.columns == ["factor", "role", "move", "stdev"]
    assert frame["role"].to_list() == ["inferred", "given", "inferred", "inferred", "given",
                                       "inferred"]
    np.testing.assert_array_equal(h.space.moves(s, units="scenario")[0], p.moves)


def test_near_singular_given_sets() -> None:
    corr = CORR.copy()
    corr[2, :] = corr[1, :]
    corr[:, 2] = corr[:, 1]
    corr[1, 2] = corr[2, 1] = 0.999999  # JPY 10Y and 30Y move almost together
    h = synthetic(1200, corr=corr)
    given = {"JPY.10Y": 10.0, "JPY.30Y": 14.0}
    p = shocks.predict(h, given, window=WHOLE)
    assert p.condition > ILL_CONDITIONED
    assert "condition number of the given factors' covariance" in p.summary()
    iy, y, sd, _ = regression(h, given)
    np.testing.assert_allclose(p.moves[iy], y, rtol=1e-5)
    np.testing.assert_allclose(p.stdev[iy], sd, rtol=1e-5)
    assert np.isfinite(p.moves).all() and (p.stdev >= 0).all()
    assert p.move("JPY.10Y") == 10.0 and p.move("JPY.30Y") == 14.0


def test_exactly_singular_given_sets() -> None:
    """A factor given twice (a copy of another): the pseudo-inverse gives the same fill as
    the factor given once, when the moves agree."""
    h = synthetic(800)
    v = h.values.copy()
    v[:, FACTORS.index("JPY.30Y")] = v[:, FACTORS.index("JPY.10Y")] + 1.0
    twin = History(dates=h.dates, factors=h.factors, values=v)
    both = shocks.predict(twin, {"JPY.10Y": 10.0, "JPY.30Y": 10.0}, window=WHOLE)
    one = shocks.predict(twin.select([f for f in FACTORS if f != "JPY.30Y"]),
                         {"JPY.10Y": 10.0}, window=WHOLE)
    others = [f for f in one.factors if f != "JPY.10Y"]
    keep = [FACTORS.index(f) for f in others]
    np.testing.assert_allclose(both.moves[keep], [one.move(f) for f in others], rtol=1e-6)
    assert both.condition > 1e12
    assert (both.stdev[keep] >= 0).all()


def test_bundled_history_long_end_jgbs() -> None:
    h = shocks.default_history()
    window = ("2013-04-01", "2018-03-31")
    given = {"JPY.20Y": 20.0, "JPY.25Y": 22.0, "JPY.30Y": 25.0, "JPY.40Y": 30.0}
    p = shocks.predict(h, given, window=window)
    assert p.condition > 100
    assert all(p.move(f) == v for f, v in given.items())
    assert np.isfinite(p.moves).all() and (p.stdev >= 0).all()
    assert p.not_inferred == () and len(p.inferred) == len(h.factors) - 4
    # neighbouring tenors follow: the 15Y moves with the 20Y
    assert 5 < p.move("JPY.15Y") < 30


def test_factors_without_data_in_the_window() -> None:
    h = shocks.default_history()  # gold ends in 2018, EUR/GBP/CHF in 2021
    p = shocks.predict(h, {"JPY.40Y": 30.0, "XAU": 5.0})  # the last five years
    assert p.window[1] == h.last_date
    assert p.unused == ("XAU",) and p.not_inferred == ()
    assert p.move("XAU") == 5.0
    assert "given but with too few changes in the window to inform the fill: gold" in p.summary()
    q = shocks.predict(h, {"JPY.40Y": 30.0})
    assert q.not_inferred == ("XAU",) and np.isnan(q.move("XAU"))
    assert q.scenario().gold_pct[0] == 0.0
    assert "left unshocked, too few changes in the window: gold" in q.summary()
    gold = shocks.from_dict({"scenario": [{"name": "g", "gold": {"pct": 8.0}}]})
    out = shocks.fill_unshocked(gold, h)
    assert out.descriptions[0].startswith("Predictive fill: not done, no factor it moves (gold) "
                                          "has 20 10-day changes within 2021-02-20 .. 2026-02-20")
    assert not out.knots.any() and out.gold_pct[0] == 8.0
    with pytest.raises(HistoryError, match=r"no given factor has 20 10-day changes .* \(XAU 0\)"):
        shocks.predict(h, {"XAU": 8.0})


@pytest.mark.parametrize(("given", "fragment"), [
    ({"JPY.5Y": 1.0}, "given: 'JPY.5Y' is not one of the factors: JPY.2Y, JPY.10Y"),
    ({"EURUSD": 1.0}, "given: 'EURUSD' is not one of the factors"),
    ({"JPY.10Y": "10"}, "given: JPY.10Y: got '10'; expected a number"),
    ({"JPY.10Y": float("nan")}, "expected a number"),
    ({"FX.JPY": -100.0}, "given: FX.JPY: got -100.0; expected a percent change above -100"),
    ({"JPY.10Y": 1.0, "jpy.10y": 2.0}, "given: JPY.10Y is given twice"),
])
def test_predict_errors(given: dict[str, Any], fragment: str) -> None:
    with pytest.raises(HistoryError) as info:
        shocks.predict(synthetic(100), given)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- fill_unshocked


def test_fill_unshocked() -> None:
    h = synthetic(1000)
    scen = shocks.from_dict({"scenario": [
        {"name": "curve", "description": "JGB", "rates": {"JPY": {"tenors": ["2Y", "10Y"],
                                                                   "bp": [5, 25]}}},
        {"name": "yen", "fx": {"JPY": -4.0}},
        {"name": "none"},
        {"name": "level", "rates": {"JPY": {"tenors": ["40Y"], "to_pct": [4.0]}},
         "fx": {"JPY": 2.0}},
        {"name": "all", "rates": {"ALL": {"parallel_bp": 10}, "EUR": {"parallel_bp": 3}}},
        {"name": "curve2", "rates": {"JPY": {"tenors": ["2Y", "10Y"], "bp": [1, 2]}}},
    ]}, "s.toml")
    out = shocks.fill_unshocked(scen, h, window=WHOLE)
    assert out.names == scen.names and out.levels == scen.levels
    moves = h.space.moves(out.select([0, 1, 4, 5]), units="scenario")
    # curve: every JPY tenor given (30Y flat beyond the 10Y knot), the rest inferred
    p = shocks.predict(h, {"JPY.2Y": 5.0, "JPY.10Y": 25.0, "JPY.30Y": 25.0}, window=WHOLE)
    np.testing.assert_allclose(moves[0], p.moves, rtol=1e-12)
    assert out.descriptions[0].startswith("JGB [Predictive fill: given JPY curve; inferred USD "
                                          "curve, FX JPY, gold as")
    # the scenario's own knots are kept: no new knot on a curve it shocks
    jpy = out.currencies.index("JPY")
    assert [str(out.tenors[k]) for k in np.flatnonzero(out.knots[0, jpy])] == ["2Y", "10Y"]
    p = shocks.predict(h, {"FX.JPY": -4.0}, window=WHOLE)
    np.testing.assert_allclose(moves[1], p.moves, rtol=1e-12)
    # nothing given: returned as it is
    assert out.descriptions[2] == "" and not out.knots[2].any() and out.gold_pct[2] == 0
    # a level target's curve is neither given nor inferred
    assert [str(out.tenors[k]) for k in np.flatnonzero(out.knots[3, jpy])] == []
    usd = out.currencies.index("USD")
    assert out.knots[3, usd].any() and out.gold_pct[3] != 0
    assert "given FX JPY; inferred USD curve, gold" in out.descriptions[3]
    # ALL shocks every curve: only FX and gold are inferred; EUR is kept as it is
    p = shocks.predict(h, {f: 10.0 for f in FACTORS[:4]}, window=WHOLE)
    np.testing.assert_allclose(moves[2], p.moves, rtol=1e-12)
    assert out.shift_bp(4, "EUR", [5.0])[0] == 13.0
    # scenarios sharing a pattern share one solve and each get their own fill
    p = shocks.predict(h, {"JPY.2Y": 1.0, "JPY.10Y": 2.0, "JPY.30Y": 2.0}, window=WHOLE)
    np.testing.assert_allclose(moves[3], p.moves, rtol=1e-12)


# --------------------------------------------------------------------------- TOML


def toml_one(spec: dict[str, Any], history: History | None) -> shocks.ScenarioSet:
    return shocks.from_dict({"scenario": [{"name": "p", **spec}]}, "p.toml", history=history)


def test_toml_predict_fills_the_rest() -> None:
    h = synthetic(1000)
    spec = {"description": "JGB", "rates": {"JPY": {"tenors": ["10Y"], "bp": [25]},
                                            "EUR": {"parallel_bp": 7}},
            "fx": {"jpy": -4.0, "AUD": 1.0},
            "predict": {"window": ["2000-01-01", "2030-01-01"], "horizon": 10}}
    s = toml_one(spec, h)
    p = shocks.predict(h, {"JPY.10Y": 25.0, "FX.JPY": -4.0}, window=WHOLE)
    np.testing.assert_allclose(h.space.moves(s, units="scenario")[0], p.moves, rtol=1e-12)
    jpy = s.currencies.index("JPY")
    assert [str(s.tenors[k]) for k in np.flatnonzero(s.knots[0, jpy])] == ["2Y", "10Y", "30Y"]
    assert s.shift_bp(0, "EUR", [3.0])[0] == 7.0  # not a history curve: kept, informs nothing
    assert s.fx_pct[0, s.fx_currencies.index("AUD")] == 1.0
    assert s.descriptions[0].startswith("JGB [Predictive fill: given JPY 10Y, FX JPY; inferred "
                                        "JPY 2Y/30Y, USD curve, gold")
    # TOML dates work too, and the horizon defaults to 10
    import datetime as dt
    spec["predict"] = {"window": [dt.date(2000, 1, 1), dt.date(2030, 1, 1)]}
    np.testing.assert_array_equal(toml_one(spec, h).bp, s.bp)


def test_toml_shapes_give_the_whole_curve() -> None:
    h = synthetic(1000)
    s = toml_one({"rates": {"JPY": {"parallel_bp": 15}}, "predict": {"window": list(WHOLE)}}, h)
    jpy = s.currencies.index("JPY")
    assert [str(t) for t, k in zip(s.tenors, s.knots[0, jpy], strict=True) if k] == ["1"]
    p = shocks.predict(h, {"JPY.2Y": 15.0, "JPY.10Y": 15.0, "JPY.30Y": 15.0}, window=WHOLE)
    np.testing.assert_allclose(h.space.moves(s, units="scenario")[0], p.moves, rtol=1e-12)
    twist = {"short": "2Y", "pivot": "10Y", "long": "30Y", "short_bp": -10, "long_bp": 20}
    s = toml_one({"rates": {"JPY": {"twist": twist}}, "predict": {"window": list(WHOLE)}}, h)
    p = shocks.predict(h, {"JPY.2Y": -10.0, "JPY.10Y": 0.0, "JPY.30Y": 20.0}, window=WHOLE)
    np.testing.assert_allclose(h.space.moves(s, units="scenario")[0], p.moves, rtol=1e-12,
                               atol=1e-12)


def test_toml_predict_with_the_bundled_history(tmp_path: Path) -> None:
    path = tmp_path / "jgb.toml"
    path.write_text('[[scenario]]\nname = "jgb40"\n[scenario.rates.JPY]\ntenors = ["40Y"]\n'
                    'bp = [50]\n[scenario.predict]\nwindow = ["2013-04-01", "2018-03-31"]\n',
                    encoding="utf-8")
    s = shocks.load(path)
    assert "bundled:shocks/data/history.parquet" in s.descriptions[0]
    jpy = s.currencies.index("JPY")
    assert s.knots[0, jpy].sum() == 15 and s.gold_pct[0] != 0.0
    h = synthetic(500)
    with pytest.raises(ScenarioError, match=r"jgb\.toml: scenario 'jgb40': rates\.JPY\.tenors: "
                                            r"40Y is not a tenor of the JPY curve of the history "
                                            r"\(<polars DataFrame>\); its tenors are 2Y, 10Y, 30Y"):
        shocks.load(path, history=h)
    with pytest.raises(ScenarioError, match="40Y is not a tenor"):
        shocks.read_toml(path, history=h)


BAD_PREDICT = [
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": 5}, "predict", "expected a table"),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"size": 1}}, "predict.size",
     "unknown key; expected one of window, horizon"),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"window": ["2020-01-01"]}},
     "predict.window", 'expected ["2013-01-01", "2024-06-30"]'),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"window": ["2020-01-01", "soon"]}},
     "predict.window", "end: got 'soon'; expected a date YYYY-MM-DD"),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"window": ["2020-01-01", "2019-01-01"]}},
     "predict.window", "expected a start before the end"),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"horizon": 0}}, "predict.horizon",
     "got 0; expected a whole number of days from 1 to 26,100"),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"horizon": 10**20}}, "predict.horizon",
     "got 100000000000000000000; expected a whole number of days from 1 to 26,100"),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"horizon": True}}, "predict.horizon",
     "got True"),
    ({"rates": {"JPY": {"tenors": ["40Y"], "to_pct": [4.0]}}, "predict": {}},
     "rates.JPY.to_pct", "a level target cannot be predicted from"),
    ({"rates": {"ALL": {"parallel_bp": 5}}, "predict": {}}, "rates.ALL",
     "predict needs moves of named curves"),
    ({"rates": {"EUR": {"parallel_bp": 5}}, "predict": {}}, "predict",
     "the scenario moves no factor of the history (<polars DataFrame>: JPY.2Y, JPY.10Y"),
    ({"rates": {"JPY": {"tenors": ["5Y"], "bp": [1]}}, "predict": {}}, "rates.JPY.tenors",
     "5Y is not a tenor of the JPY curve of the history"),
    ({"rates": {"JPY": {"parallel_bp": 1}}, "predict": {"window": ["2031-01-01", "2032-01-01"]}},
     "predict", "no given factor has 20 10-day changes within 2031-01-01 .. 2032-01-01 to infer "
     "from (JPY.2Y 0, JPY.10Y 0, JPY.30Y 0); choose a window where they have data"),
]


@pytest.mark.parametrize(("spec", "field", "fragment"), BAD_PREDICT,
                         ids=[f"{f}:{m[:20]}" for _, f, m in BAD_PREDICT])
def test_toml_predict_errors(spec: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        toml_one(spec, synthetic(200))
    assert str(info.value).startswith(f"p.toml: scenario 'p': {field}: "), info.value
    assert fragment in str(info.value)


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 40), st.floats(allow_nan=True),
                 st.text(max_size=10), st.dates().map(str), st.dates(),
                 st.lists(st.one_of(st.dates(), st.text(max_size=10)), max_size=3))


# Random horizons up to 40 days on 300 days of history: a covariance of overlapping windows
# worth few independent ones is a case here, warned of as it should be.
@pytest.mark.filterwarnings("ignore:.*rests on overlapping windows")
@settings(max_examples=examples(60), deadline=None)
@given(st.dictionaries(st.sampled_from(["window", "horizon", "other"]), JUNK, max_size=3),
       st.sampled_from([{"JPY": {"tenors": ["10Y"], "bp": [5]}},
                        {"JPY": {"tenors": ["2Y", "7Y"], "bp": [5, 6]}},
                        {"USD": {"parallel_bp": 3}, "EUR": {"short_bp": 10}},
                        {"ALL": {"parallel_bp": 1}},
                        {"JPY": {"tenors": ["30Y"], "to_pct": [2.0]}}, {}]),
       st.dictionaries(st.sampled_from(["JPY", "EUR", "XAU"]), st.floats(-50, 50), max_size=2))
def test_fuzzed_predict_tables_raise_only_scenario_errors(
    table: dict[str, Any], rates: dict[str, Any], fx: dict[str, float]
) -> None:
    spec: dict[str, Any] = {"rates": rates, "predict": table}
    if fx:
        spec["fx"] = fx
    try:
        s = toml_one(spec, FUZZ_HISTORY)
    except ScenarioError as exc:
        assert str(exc).startswith("p.toml: scenario 'p': ")
    else:
        assert np.isfinite(s.bp).all() and np.isfinite(s.fx_pct).all()


FUZZ_HISTORY = synthetic(300)
