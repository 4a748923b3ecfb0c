"""The Python API takes the arguments its users pass (a frame for a book, one id, one level,
numpy numbers) and refuses wrong ones with a message naming the argument: never a traceback
from inside numpy, polars or numba, never a value silently ignored or misread."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import portfolios
import shocks
import stress
from shocks import History, HistoryError, ScenarioError
from stress.groups import MATURITY_BUCKETS, GroupingError
from stress.histories import market_history
from stress.io import OutputError
from stress.market import MarketError
from stress.reverse_stress import ReverseStressError
from tests.history_samples import synthetic

MARKET = stress.Market.load(stress.default_market_path())
BOOK = portfolios.load(portfolios.sample_path("global_macro"))
POSITIONS = BOOK.frame.drop("row")
SCEN = shocks.load("jgb_2026")


def test_a_book_as_a_frame_runs_as_the_loaded_book() -> None:
    want = stress.run(BOOK, MARKET, SCEN).summary
    assert stress.run(POSITIONS, MARKET, SCEN).summary.equals(want)
    assert stress.analytics(POSITIONS, MARKET).equals(stress.analytics(BOOK, MARKET))
    matured = pl.concat([POSITIONS, POSITIONS.head(1).with_columns(
        position_id=pl.lit("OLD"), maturity=dt.date(2026, 1, 19))], how="diagonal_relaxed")
    run = stress.run(matured, MARKET, SCEN, skip_invalid=True)
    assert run.rejects["position_id"].to_list() == ["OLD"]
    assert run.summary.equals(want)


def test_groupings_cannot_take_the_name_of_a_result_column() -> None:
    book = portfolios.load(POSITIONS.with_columns(pnl=pl.lit("desk A")))
    with pytest.raises(GroupingError, match="cannot group by 'pnl': the results have a column"):
        stress.run(book, MARKET, SCEN, by=["pnl"])
    # A book's own maturity_bucket column is what it groups by (the engine's buckets were
    # put in its place without a word); without one, the engine's.
    buckets = portfolios.load(POSITIONS.with_columns(maturity_bucket=pl.lit("desk A")))
    own = stress.run(buckets, MARKET, SCEN, by=["maturity_bucket"]).by("maturity_bucket")
    assert own["maturity_bucket"].unique().to_list() == ["desk A"]
    engine = stress.run(BOOK, MARKET, SCEN, by=["maturity_bucket"]).by("maturity_bucket")
    assert set(engine["maturity_bucket"]) <= {b[0] for b in MATURITY_BUCKETS} | {"n/a"}
    # The frames of the groupings are built when first read, once.
    both = stress.run(BOOK, MARKET, SCEN, by=["book", "currency"])
    assert list(both.groups) == ["book", "currency"] and "currency" in both.groups
    assert "total" not in both.groups and len(both.groups) == 2
    picked = np.array([2, 0])  # one scenario's groups, without every scenario's frame
    alone = both.groups.rows("book", picked)
    assert both.by("book") is both.by("book")
    assert alone.equals(both.groups.rows("book", picked))
    assert alone.equals(pl.concat([both.by("book").filter(pl.col("scenario") == SCEN.names[s])
                                   for s in picked]))
    with pytest.raises(IndexError, match="scenario indices must be from 0 to"):
        both.groups.rows("book", [-1])
    assert repr(both.groups) == "GroupFrames('book', 'currency')"
    assert both.by("book").height == len(SCEN) * both.by("book")["book"].n_unique()
    one = stress.run(BOOK, MARKET, SCEN, by="currency")  # one name, not its letters
    assert one.by("currency").equals(stress.run(BOOK, MARKET, SCEN, by=["currency"])
                                     .by("currency"))


def test_spread_shifts_that_move_no_position_are_said() -> None:
    """A label written " BBB", or a ``by`` naming no column of the book, left a scenario's
    spread P&L at zero without a word; each scenario is checked against its own table."""
    corp = pl.DataFrame({"position_id": ["C"], "instrument": ["bond"], "currency": ["USD"],
                         "notional": [1e7], "coupon": [5.0], "maturity": [dt.date(2035, 11, 15)],
                         "convention": ["USD_CORP"], "rating": ["BBB"]})
    assert stress.run(corp, MARKET, "dash_for_cash_2020").summary["pnl_spread"][0] < 0
    padded = corp.with_columns(rating=pl.lit(" BBB"))
    with pytest.warns(stress.StressWarning, match=r"spread shifts by 'rating' in "
                      r"'dash_for_cash_2020' \(the book's ' BBB' against the scenarios' 'BBB': "
                      r"labels must match exactly, spaces and case included\) miss the "
                      r"positions they look meant for"):
        stress.run(padded, MARKET, "dash_for_cash_2020")

    def spreads(*tables: dict[str, object]) -> shocks.ScenarioSet:
        return shocks.from_dict({"scenario": [{"name": f"s{i}", "spreads": t}
                                              for i, t in enumerate(tables)]}, "<user>")

    # One scenario's table matching the book does not cover another's that does not.
    mixed = spreads({"by": "rating", "bp": {"BBB": 100}}, {"by": "rating", "bp": {" BBB": 100}})
    with pytest.warns(stress.StressWarning, match=r"by 'rating' in 's1' \(the book's 'BBB' "
                                                  r"against the scenarios' ' BBB': labels"):
        res = stress.run(corp, MARKET, mixed)
    assert res.summary["pnl_spread"][1] == 0.0
    with pytest.warns(stress.StressWarning, match=r"by 'sektor' in 's0' \(the book has no "
                                                  r"column of that name\)"):
        stress.run(corp, MARKET, spreads({"by": "sektor", "bp": {"financials": 500}}))
    # A table of other labels than the book's is no mistake (a high-yield shock on an
    # investment-grade book), unless no label of the set is one of the book's.
    other = spreads({"by": "rating", "bp": {"CCC": 900}}, {"by": "rating", "bp": {"BBB": 50}})
    assert stress.run(corp, MARKET, other).summary["pnl_spread"][0] == 0.0
    with pytest.warns(stress.StressWarning, match=r"by 'rating' in 's0' \(the book's values "
                                                  r"'BBB'; the scenarios name 'CCC'\)"):
        stress.run(corp, MARKET, spreads({"by": "rating", "bp": {"CCC": 900}}))
    # Positions without a value are "n/a" to a table, as the engine reads them: no warning.
    unlabelled = spreads({"by": "sektor", "bp": {"n/a": 100}}, {"by": "rating", "bp": {"ALL": 5}})
    assert (stress.run(corp, MARKET, unlabelled).summary["pnl_spread"] < 0).all()
    # The library's credit scenarios leave a book without ratings alone, on purpose.
    assert stress.run(corp.drop("rating"), MARKET, "dash_for_cash_2020").summary.height == 1


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"worst": True}, ValueError, "worst: got True; expected a whole number of 0 or more"),
    ({"worst": 2.5}, ValueError, "worst: got 2.5"),
    ({"worst": 10**12}, ValueError, "worst: got 1,000,000,000,000; expected at most 100,000"),
    ({"worst_scenarios": -1}, ValueError, "worst_scenarios: got -1"),
    ({"chunk_size": 1.5}, ValueError, "chunk_size: got 1.5; expected a whole number of 1"),
    ({"fill_unshocked": "no"}, TypeError, "fill_unshocked: got 'no'; expected True or False"),
    ({"skip_invalid": 1}, TypeError, "skip_invalid: got 1"),
    ({"history": 42}, HistoryError, "history: got 42; expected a shocks.History"),
    ({"base_currency": 5}, MarketError, "base currency: got 5; expected a currency code"),
    ({"risk": [1.5]}, ValueError, "risk level 1.5"),
    ({"detail": "position"}, ValueError, "detail: got 'position'"),
    ({"progress": 5}, TypeError, r"progress: got 5; expected a function called with \(done, "
                                 r"total\), or None"),
])
def test_run_refuses_wrong_options(kwargs: dict[str, object], error: type[Exception],
                                   message: str) -> None:
    with pytest.raises(error, match=message):
        stress.run(BOOK, MARKET, SCEN, **kwargs)  # type: ignore[arg-type]


def test_run_reads_options_as_their_users_write_them() -> None:
    levels = stress.run(BOOK, MARKET, "historical", risk=np.array([0.99, 0.975]))
    assert list(levels.components) == [0.99, 0.975]
    assert levels.component_es(np.float32(0.99)).height == len(BOOK)
    assert levels.risk(np.float32(0.99))["level"].to_list() == [0.99]
    padded = stress.run(BOOK, MARKET, SCEN, base_currency=" jpy ")
    assert padded.base_currency == "JPY"
    with pytest.raises(ScenarioError, match="scenarios: got None; expected built-in names"):
        stress.run(BOOK, MARKET, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n: got -1; expected a whole number of 0 or more"):
        levels.contributors(levels.scenarios.names[0], -1)


def test_a_scenario_set_holds_only_moves_a_market_can_take() -> None:
    fx = shocks.from_dict({"scenario": [{"name": "x", "fx": {"JPY": -5.0},
                                         "rates": {"JPY": {"parallel_bp": 10}}}]})
    with pytest.raises(ScenarioError, match=r"fx_pct: scenario 'x' has -150\.0; expected a "
                                            "finite percent change above -100"):
        dataclasses.replace(fx, fx_pct=np.array([[-150.0]]))
    with pytest.raises(ScenarioError, match="gold_pct: scenario 'x' has -200"):
        dataclasses.replace(fx, gold_pct=np.array([-200.0]))
    with pytest.raises(ScenarioError, match="bp: scenario 'x' has inf"):
        dataclasses.replace(fx, bp=np.full(fx.bp.shape, np.inf))


def test_positions_dir_must_be_a_directory(tmp_path: Path) -> None:
    file = tmp_path / "a_file.txt"
    file.write_text("x")
    with pytest.raises(OutputError, match="positions_dir must be a new or empty directory"):
        stress.run(BOOK, MARKET, SCEN, detail="positions", positions_dir=file)


def test_reverse_stress_checks_its_arguments_and_says_how_far_it_reaches() -> None:
    for loss in (1e12, 1e15):  # moves that far take currencies below zero
        with pytest.raises(ReverseStressError, match=r"no move reaches a loss of .*: the largest "
                                                     r"loss along the most plausible direction "
                                                     r"is [1-9]"):
            stress.reverse(POSITIONS, MARKET, loss)
    for kwargs, message in (({"tolerance": -1.0}, "tolerance: got -1.0"),
                            ({"tolerance": math.nan}, "tolerance: got nan"),
                            ({"loss": True}, "loss: got True; expected a positive amount")):
        with pytest.raises(ReverseStressError, match=message):
            stress.reverse(BOOK, MARKET, **{"loss": 5e7, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_iterations: got 0; expected a whole number of 1"):
        stress.reverse(BOOK, MARKET, 5e7, max_iterations=0)
    with pytest.raises(ReverseStressError, match="no factor has enough 10-day changes within"):
        stress.reverse(BOOK, MARKET, 5e7, window=("1900-01-01", "1901-01-01"))


def test_generators_refuse_what_they_cannot_draw() -> None:
    h = synthetic(300)
    with pytest.raises(HistoryError, match="overlapping: got 'no'; expected True or False"):
        shocks.historical(h, overlapping="no")  # type: ignore[arg-type]
    moves = np.full((1, len(h.factors)), np.nan)
    moves[0, h.factors.index(next(f for f in h.factors if f.startswith("FX.")))] = 1e5
    with pytest.raises(ScenarioError, match="is too large for a scenario"):
        h.space.scenarios(moves, names=["huge"])
    for call, message in (
        (lambda: shocks.historical("history.parquet"),
         "history: got 'history.parquet'; expected a shocks.History"),
        (lambda: shocks.monte_carlo(h, n=3, seed=-1), "seed: got -1; expected a whole number"),
        (lambda: shocks.historical(h, today="2020-01-01"), "only rates='relative' reads it"),
        (lambda: shocks.predict(h, [("JPY.40Y", 60)]), "given: got a list; expected a mapping"),
        (lambda: shocks.fill_unshocked("historical", h), "got a str; expected a ScenarioSet"),
        (lambda: shocks.monte_carlo(h, n=10**11), "n: got 100000000000; expected a whole"),
        (lambda: shocks.historical(h, rates="relative", displacement=-5.0),
         "displacement: got -5.0; expected percentage points >= 0"),
        (lambda: h.select("JPY.10Y"), "select: got 'JPY.10Y'; expected a list of factor names"),
        (lambda: h.select([]), "select: got \\[\\]; expected a list"),
        (lambda: h.select(["JPY.99Y"]), "'JPY.99Y' is not one of the factors"),
        (lambda: dataclasses.replace(h, max_carry_days="10"),
         "max_carry_days: got '10'; expected a whole number of days"),
    ):
        with pytest.raises(HistoryError, match=message):
            call()
    assert len(shocks.monte_carlo(h, n=np.int64(3), seed=np.int64(1))) == 3
    # JPY.120M is the JPY.10Y column, as the loader reads one for the other.
    assert h.select(["JPY.120M"]).factors == h.select(["JPY.10Y"]).factors
    with pytest.raises(ValueError, match="600,000,000,000,001 shifts; expected at most"):
        shocks.parallel_grid(step_bp=1e-12)
    with pytest.raises(ValueError, match="expected finite numbers of bp"):
        shocks.parallel_grid(step_bp=math.nan)
    assert shocks.parallel_grid(-0.3, 0.3, 0.1).names[3] == "parallel_p0"


def test_a_market_may_be_a_file_and_anything_else_is_named() -> None:
    path = stress.default_market_path()
    a = stress.run(BOOK, path, SCEN)
    assert a.summary.equals(stress.run(BOOK, MARKET, SCEN).summary)
    assert stress.analytics(BOOK, str(path)).height == len(BOOK)
    for call in (lambda m: stress.run(BOOK, m, SCEN), lambda m: stress.analytics(BOOK, m),
                 lambda m: stress.Session(BOOK, m, SCEN), lambda m: stress.reverse(BOOK, m, 1e6)):
        with pytest.raises(TypeError, match=r"market: got None; expected a stress\.Market or "
                           "the path of a market file"):
            call(None)
    for bad, message in ((None, "market file: got None; expected a path"),
                         ("m\x00.toml", "cannot read market file \\(embedded null byte\\)"),
                         ("x" * 300 + ".toml", "cannot read market file \\(File name too long")):
        with pytest.raises(stress.MarketError, match=message):
            stress.Market.load(bad)  # type: ignore[arg-type]


def test_a_history_quoted_the_other_way_round_is_warned_of() -> None:
    h = synthetic(300)
    j = h.factors.index("FX.JPY")
    values = h.values.copy()
    values[:, j] = 1.0 / values[:, j]  # USDJPY where the value of one yen in USD belongs
    upside_down = dataclasses.replace(h, values=values)
    with pytest.warns(stress.StressWarning, match="FX.JPY is .* USD on .*, the market's 0.00627"
                      ".*is it quoted the other way round"):
        stress.reverse(BOOK, MARKET, 1e6, history=upside_down)


def test_a_currency_near_parity_quoted_the_other_way_round_is_warned_of() -> None:
    """EUR given as 1/EURUSD is only 1.37 times off the market (within the factor of 10 that
    catches USDJPY) but its inverse is near the market's: warned of, as is GBP. A move of
    10 % since the history's end, JPY's 44 % since 2021 (whose inverse is nowhere near) or
    EUR's fall to 0.97 in 2022 (a little nearer inverted) is not."""
    from stress.histories import implausible_levels

    dates = synthetic(300).dates
    walk = np.exp(np.cumsum(np.random.default_rng(3).normal(0.0, 0.005, (len(dates), 3)),
                            axis=0))  # fmt: skip
    names = ("FX.EUR", "FX.GBP", "FX.JPY")

    def found(last: dict[str, float]) -> list[str]:
        levels = walk / walk[-1] * [last.get(n, MARKET.usd_value[n[3:]]) for n in names]
        return implausible_levels(History(dates=dates, factors=names, values=levels,
                                          source="h.csv"), MARKET)  # fmt: skip

    assert not found({})
    for name in ("FX.EUR", "FX.GBP"):
        usd = MARKET.usd_value[name[3:]]
        (msg,) = found({name: 1.0 / usd})
        assert msg.startswith(f"h.csv: {name} is ") and msg.endswith(
            "is it quoted the other way round?")
        assert not found({name: usd * 1.1}) and not found({name: usd / 1.1})
    assert not found({"FX.JPY": MARKET.usd_value["JPY"] * 1.44})
    assert not found({"FX.EUR": 0.97})  # EURUSD in autumn 2022: 1.21 times off, not inverted


def test_a_history_of_yields_in_decimals_is_warned_of() -> None:
    """0.043 for 4.3 % passes every range and is far from no market level by 10 points: ES
    came out a hundred times too small."""
    from stress.histories import implausible_levels

    h = synthetic(300)
    rates = [j for j, f in enumerate(h.factors) if f.split(".")[0] in MARKET.curves]
    assert rates and not implausible_levels(h, MARKET)
    values = h.values.copy()
    values[:, rates] /= 100.0
    found = implausible_levels(dataclasses.replace(h, values=values), MARKET)
    assert len(found) == 1 and "yields are in percent; are they decimals (0.043 for 4.3 %)?" \
        in found[0]


def test_a_generated_set_that_leaves_a_holding_alone_is_warned_of() -> None:
    # The bundled history has no gold price after 2018: its default window moves no gold,
    # and the macro book holds 20,000 oz.
    h = market_history(MARKET)
    recent = shocks.monte_carlo(h, n=20, seed=1)
    # (Nor has it a Bund or gilt curve: named whatever the window.)
    with pytest.warns(stress.StressWarning, match="no generated scenario moves the EUR curve, "
                      "the GBP curve, gold, to which the book is exposed"):
        result = stress.run(BOOK, MARKET, recent)
    assert (result.summary["pnl_gold"] == 0).all()
    covered = shocks.monte_carlo(h, n=20, seed=1, window=("2013-04-01", "2018-03-31"))
    with pytest.warns(stress.StressWarning, match="moves the EUR curve, the GBP curve, to which"):
        assert (stress.run(BOOK, MARKET, covered).summary["pnl_gold"] != 0).any()
    stress.run(BOOK, MARKET, "jgb_2026")  # hand-written scenarios leave factors alone freely
