"""Historical simulation on hand-made histories (hand-computed changes, absolute and relative,
zero and negative yields, names, descriptions, overlapping or not), the bundled history, and
FactorSpace: scenarios to factor moves and back."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import portfolios
import shocks
import stress
from shocks import FactorSpace, History, HistoryError, ScenarioError
from shocks.factors import row_patterns
from shocks.tenors import Tenor
from tests.strategies import examples

# Mon 6 .. Fri 10 January 2020
DATES = ["2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09", "2020-01-10"]
TINY = {
    "JPY.2Y": [-0.10, 0.00, 0.05, None, 0.02],
    "JPY.10Y": [0.20, 0.25, 0.30, 0.28, 0.35],
    "FX.JPY": [0.0090, 0.0091, None, 0.0092, 0.0093],
    "XAU": [1500.0, 1530.0, 1515.0, 1545.0, 1560.0],
}


def tiny() -> History:
    return History.load(pl.DataFrame({"date": DATES, **TINY}, strict=False))


def knot(s: shocks.ScenarioSet, i: int, ccy: str, tenor: str) -> float | None:
    c = s.currencies.index(ccy)
    k = [str(t) for t in s.tenors].index(tenor)
    return float(s.bp[i, c, k]) if s.knots[i, c, k] else None


def test_absolute_changes_by_hand() -> None:
    s = shocks.historical(tiny(), horizon=1)
    assert s.names == ("hist_2020-01-07_1d", "hist_2020-01-08_1d", "hist_2020-01-09_1d",
                       "hist_2020-01-10_1d")
    assert set(s.origins) == {"generator:historical"}
    assert s.sources[0] == "history: <polars DataFrame>"
    assert s.currencies == ("JPY",) and [str(t) for t in s.tenors] == ["2Y", "10Y"]
    assert s.fx_currencies == ("JPY",)
    two = [knot(s, i, "JPY", "2Y") for i in range(4)]
    ten = [knot(s, i, "JPY", "10Y") for i in range(4)]
    # -0.10 -> 0.00 -> 0.05 -> (none on the 9th) -> 0.02, carried from the 8th
    assert two == pytest.approx([10, 5, None, -3])  # type: ignore[arg-type]
    assert two[2] is None
    assert ten == pytest.approx([5, 5, -2, 7])
    fx = [100 * (0.0091 / 0.0090 - 1), 0.0, 100 * (0.0092 / 0.0091 - 1),
          100 * (0.0093 / 0.0092 - 1)]
    np.testing.assert_allclose(s.fx_pct[:, 0], fx, rtol=1e-12)
    gold = [100 * (1530 / 1500 - 1), 100 * (1515 / 1530 - 1), 100 * (1545 / 1515 - 1),
            100 * (1560 / 1545 - 1)]
    np.testing.assert_allclose(s.gold_pct, gold, rtol=1e-12)
    assert s.descriptions[0] == ("Historical 1-day change 2020-01-06 to 2020-01-07; rate "
                                 "changes as they happened")
    assert s.descriptions[1].endswith("; unshocked, no change in this window: FX JPY")
    assert s.descriptions[2].endswith("; unshocked, no change in this window: JPY 2Y")
    # without a 2Y knot the curve's shift there follows its other knots (flat beyond 10Y's)
    np.testing.assert_allclose(s.shift_bp(2, "JPY", [2.0, 10.0]), [-2.0, -2.0], rtol=1e-13)


def test_relative_changes_by_hand_through_zero_and_negative_yields() -> None:
    h = tiny()
    s = shocks.historical(h, horizon=1, rates="relative")
    d = 2.0  # default displacement, percentage points; today = the last date: 2Y 0.02, 10Y 0.35
    two = [10 * (0.02 + d) / (-0.10 + d), 5 * (0.02 + d) / (0.00 + d), None,
           -3 * (0.02 + d) / (0.05 + d)]
    ten = [5 * (0.35 + d) / (0.20 + d), 5 * (0.35 + d) / (0.25 + d),
           -2 * (0.35 + d) / (0.30 + d), 7 * (0.35 + d) / (0.28 + d)]
    for i in range(4):
        if two[i] is None:
            assert knot(s, i, "JPY", "2Y") is None
        else:
            assert knot(s, i, "JPY", "2Y") == pytest.approx(two[i], rel=1e-12)
        assert knot(s, i, "JPY", "10Y") == pytest.approx(ten[i], rel=1e-12)
    # FX and gold are relative already
    np.testing.assert_array_equal(s.fx_pct, shocks.historical(h, horizon=1).fx_pct)
    assert "rate changes scaled to the levels of 2020-01-10, displaced by 2 %" in s.descriptions[0]
    # another today and displacement
    s = shocks.historical(h, horizon=1, rates="relative", today="2020-01-08", displacement=0.5)
    assert knot(s, 0, "JPY", "2Y") == pytest.approx(10 * 0.55 / 0.40, rel=1e-12)
    assert knot(s, 0, "JPY", "10Y") == pytest.approx(5 * 0.80 / 0.70, rel=1e-12)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"rates": "relative", "displacement": 0.1},
     "JPY.2Y is at -0.1 % on the window start 2020-01-06, at or below -displacement (-0.1 %)"),
    ({"rates": "relative", "today": "2020-01-03"}, "JPY.2Y has no level on or before 2020-01-03"),
    ({"rates": "relative", "displacement": float("nan")}, "displacement: got nan"),
    ({"rates": "log"}, "rates: got 'log'; expected one of absolute, relative"),
    ({"horizon": 0}, "horizon: got 0"),
    ({"horizon": 2.5}, "horizon: got 2.5"),
    ({"start": "2020-01-10"}, "no 1-day window with a change lies within 2020-01-10 .. "),
    ({"start": "06/01/2020"}, "start: got '06/01/2020'; expected a date YYYY-MM-DD"),
])
def test_argument_errors(kwargs: dict[str, object], fragment: str) -> None:
    args: dict[str, object] = {"horizon": 1, **kwargs}
    with pytest.raises(HistoryError) as info:
        shocks.historical(tiny(), **args)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_negative_level_relative_error_with_today_below_displacement() -> None:
    frame = pl.DataFrame({"date": DATES[:3], "EUR.2Y": [0.5, -0.2, -2.5]})
    with pytest.raises(HistoryError, match=r"EUR\.2Y is at -2\.5 % on or before 2020-01-08"):
        shocks.historical(History.load(frame), horizon=1, rates="relative")


def test_overlapping_and_not() -> None:
    h = tiny()
    over = shocks.historical(h, horizon=2)
    assert over.names == ("hist_2020-01-08_2d", "hist_2020-01-09_2d", "hist_2020-01-10_2d")
    assert knot(over, 0, "JPY", "2Y") == pytest.approx(15)
    assert over.descriptions[0].startswith("Historical 2-day change 2020-01-06 to 2020-01-08")
    apart = shocks.historical(h, horizon=2, overlapping=False)
    assert apart.names == ("hist_2020-01-08_2d", "hist_2020-01-10_2d")
    np.testing.assert_array_equal(apart.bp, over.select([0, 2]).bp)
    within = shocks.historical(h, start="2020-01-07", end="2020-01-09", horizon=1)
    assert within.names == ("hist_2020-01-08_1d", "hist_2020-01-09_1d")


def test_bundled_history_and_the_engine() -> None:
    h = shocks.default_history()
    s = shocks.historical(h, start="1990-01-01", end="2024-06-30", horizon=1)
    assert 8_000 < len(s) < 10_000 and len(set(s.names)) == len(s)
    assert s.currencies == ("JPY", "USD") and len(s.tenors) == 15
    assert s.fx_currencies == ("CHF", "EUR", "GBP", "JPY")
    i = s.names.index("hist_2013-04-04_1d")  # the BoJ's QQE announcement
    assert knot(s, i, "JPY", "30Y") == pytest.approx(-26.8, abs=1e-9)
    assert knot(s, i, "JPY", "40Y") == pytest.approx(-26.6, abs=1e-9)
    i = s.names.index("hist_2016-06-24_1d")  # the Brexit vote
    assert s.fx_pct[i, s.fx_currencies.index("GBP")] == pytest.approx(
        100 * (1.3639 / 1.48 - 1), rel=1e-12)
    # no one-day move spliced from two different 20Y series
    assert knot(s, s.names.index("hist_1993-10-01_1d"), "USD", "20Y") is None
    book = portfolios.load(portfolios.sample_path("global_macro"))
    market = stress.Market.load(stress.default_market_path())
    week = shocks.historical(h, start="2024-07-01", end="2024-07-12", horizon=1)
    # The bundled history has no Bund or gilt curve, no EUR or GBP rate after 2021 and no
    # gold price after 2018: the run says what the macro book's P&L leaves out.
    with pytest.warns(stress.StressWarning, match="no generated scenario moves the EUR curve, "
                      "the GBP curve, EUR against USD, GBP against USD, gold, to which"):
        res = stress.run(book, market, week)
    assert res.summary["scenario"].to_list() == list(week.names)
    assert np.isfinite(res.summary["pnl"].to_numpy()).all()


# --------------------------------------------------------------------------- FactorSpace


def test_factor_names() -> None:
    assert shocks.parse_factor(" jpy.10y ").name == "JPY.10Y"
    assert shocks.parse_factor("fx.eur").name == "FX.EUR"
    assert shocks.parse_factor("xau").kind == "gold"
    assert shocks.parse_factor("USD.6M").tenor == Tenor(6.0, "M")
    for bad, fragment in [("FX.USD", "USD itself"), ("JPY", "not a factor name"),
                          ("JPY.ten", "not a tenor"), ("XYZ.10Y", "not a factor name"),
                          ("FX.XYZ", "not an ISO 4217"), (3, "not a factor name")]:
        with pytest.raises(ValueError, match=fragment):
            shocks.parse_factor(bad)


SPACE = FactorSpace.of(["JPY.2Y", "JPY.10Y", "JPY.40Y", "USD.10Y", "FX.JPY", "XAU"])


def test_moves_read_scenarios_at_the_factors() -> None:
    scen = shocks.from_dict({"scenario": [
        {"name": "a", "rates": {"JPY": {"tenors": ["5Y", "30Y"], "bp": [10, 35]},
                                "ALL": {"parallel_bp": 1}, "EUR": {"parallel_bp": 50}},
         "fx": {"JPY": -4.0, "EUR": 3.0}, "gold": {"pct": 6.0}},
        {"name": "b"},
    ]}, "t.toml")
    m = SPACE.moves(scen, units="scenario")
    np.testing.assert_allclose(m[0], [11, 1 + 10 + 25 * 5 / 25, 36, 1, -4, 6])
    np.testing.assert_array_equal(m[1], 0.0)
    f = SPACE.moves(scen)  # factor units: log-percent for FX and gold
    np.testing.assert_allclose(f[0, 4:], 100 * np.log([0.96, 1.06]), rtol=1e-14)
    np.testing.assert_array_equal(f[0, :4], m[0, :4])


def test_scenarios_and_overlay() -> None:
    moves = np.array([[5.0, np.nan, 30.0, -7.0, np.log(0.95) * 100, np.nan]])
    s = SPACE.scenarios(moves, names=["x"], descriptions=["d"])
    assert s.currencies == ("JPY", "USD") and [str(t) for t in s.tenors] == ["2Y", "10Y", "40Y"]
    assert knot(s, 0, "JPY", "10Y") is None and knot(s, 0, "JPY", "40Y") == 30.0
    assert s.fx_pct[0, 0] == pytest.approx(-5.0, rel=1e-13) and s.gold_pct[0] == 0.0
    back = SPACE.moves(s)
    np.testing.assert_array_equal(back[0, [0, 2, 3]], moves[0, [0, 2, 3]])
    assert back[0, 1] == pytest.approx(5 + 25 * 8 / 38)  # interpolated between the knots
    # overlay keeps what the space does not hold and replaces what it gives
    base = shocks.from_dict({"scenario": [{"name": "y", "rates": {
        "EUR": {"parallel_bp": 9}, "JPY": {"tenors": ["10Y"], "bp": [1]}}, "fx": {"EUR": 2}}]})
    out = SPACE.overlay(base, np.array([[np.nan, 4.0, np.nan, np.nan, np.nan, 3.0]]))
    assert knot(out, 0, "JPY", "10Y") == 4.0 and out.gold_pct[0] == 3.0
    assert out.shift_bp(0, "EUR", [5.0])[0] == 9.0 and out.fx_pct[0].tolist() == [2.0]
    assert out.names == base.names and out.descriptions == base.descriptions


def test_moves_refuse_levels_and_total_losses() -> None:
    lv = shocks.from_dict({"scenario": [{"name": "l", "rates": {
        "JPY": {"tenors": ["40Y"], "to_pct": [4.0]}}}]}, "l.toml")
    with pytest.raises(ScenarioError, match=r"l\.toml: scenario 'l': rates\.JPY\.to_pct: a level"):
        SPACE.moves(lv)
    # An FX or gold move of -100 % has no log change: no scenario set holds one.
    with pytest.raises(ScenarioError, match=r"scenario 'z' has -100\.0; expected a finite percent "
                                            "change above -100"):
        SPACE.scenarios(np.array([[0, 0, 0, 0, -100.0, 0]]), names=["z"], units="scenario")
    with pytest.raises(ValueError, match="expected moves of shape"):
        SPACE.scenarios(np.zeros((2, 3)), names=["a", "b"])


@settings(max_examples=examples(40), deadline=None)
@given(st.integers(1, 70).flatmap(lambda k: st.lists(
    st.lists(st.booleans(), min_size=k, max_size=k), min_size=1, max_size=30)))
def test_row_patterns_are_the_distinct_rows(rows: list[list[bool]]) -> None:
    mask = np.array(rows, dtype=bool)
    patterns, which = row_patterns(mask)
    np.testing.assert_array_equal(patterns[which], mask)
    assert len(patterns) == len(np.unique(mask, axis=0))


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(st.lists(st.one_of(st.just(np.nan), st.floats(-500, 500)),
                         min_size=len(SPACE), max_size=len(SPACE)), min_size=1, max_size=5))
def test_factor_moves_round_trip(rows: list[list[float]]) -> None:
    moves = np.array(rows)
    s = SPACE.scenarios(moves, names=[f"s{i}" for i in range(len(rows))])
    back = SPACE.moves(s)
    given_ = np.isfinite(moves)
    np.testing.assert_allclose(back[given_], moves[given_], rtol=1e-12, atol=1e-12)
    rates = ~SPACE.relative
    np.testing.assert_array_equal(back[:, rates][given_[:, rates]],
                                  moves[:, rates][given_[:, rates]])  # exact at knots
