"""Engine properties on books mixing every instrument (bonds, FRNs, swaps, futures, gold, cash)
under curve, FX, gold and credit-spread shocks: a zero shock gives zero P&L exactly, the parts
add up to the P&L exactly, P&L is additive over books and group sums add up to the totals,
another base currency is a conversion, and shard, chunk and thread splits give the same
numbers bit for bit."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import polars as pl
import pytest

import portfolios
import shocks
import stress
import stress.evaluate as ev
from benchmarks import workloads
from stress.engine import run_prepared
from stress.groups import Groupings
from stress.prepare import prepare
from stress.resolve import resolve
from tests.sharding import split_sums

MARKET = workloads.market()
BOOK = workloads.mixed_book(60, seed=3)
PARTS = ("pnl_rates", "pnl_spread", "pnl_fx", "pnl_gold", "pnl_cross")
SCEN = shocks.from_dict({"scenario": [
    {"name": "zero"},
    {"name": "curves", "rates": {"USD": {"tenors": ["2Y", "10Y"], "bp": [40, 90]},
                                 "ALL": {"parallel_bp": 15}}, "fx": {"JPY": -4.0}},
    {"name": "credit", "spreads": {"by": "sector", "bp": {"financials": 150, "ALL": 30}},
     "fx": {"EUR": 2.0}},
    {"name": "both", "rates": {"JPY": {"parallel_bp": -60}},
     "spreads": {"by": "sector", "bp": {"utilities": 400, "govt": -10}}, "gold": {"pct": 5.0}},
]}, "<mixed properties>")
SUMMED = ("pnl", *PARTS, "pv_before", "pv_after", "dv01_before", "dv01_after", "cs01_before",
          "cs01_after", "taylor_pnl")


def run(book: portfolios.Portfolio = BOOK, **kw: Any) -> stress.StressResult:
    return stress.run(book, MARKET, SCEN, **kw)


@pytest.fixture(scope="module")
def full() -> stress.StressResult:
    return run(detail="positions", by=["sector"], worst_scenarios=None)


def test_books_mix_every_instrument() -> None:
    kinds = set(BOOK.frame["instrument"].to_list())
    assert {"bond", "frn", "swap", "future"} <= kinds


def test_zero_shock_gives_exactly_zero(full: stress.StressResult) -> None:
    zero = full.positions.filter(full.positions["scenario"] == "zero")
    for c in ("pnl", *PARTS):
        assert (zero[c].to_numpy() == 0.0).all(), c
    row = full.summary.row(0, named=True)
    assert row["pnl"] == 0.0 and row["pv_after"] == row["pv_before"]
    for a, b in (("dv01_before", "dv01_after"), ("cs01_before", "cs01_after"),
                 ("duration_before", "duration_after")):
        assert row[a] == row[b], a


def test_parts_add_up_exactly(full: stress.StressResult) -> None:
    for frame in (full.summary, full.positions, full.by("sector")):
        total = sum(frame[c].to_numpy() for c in PARTS)
        assert np.array_equal(total, frame["pnl"].to_numpy())


def test_spread_part_only_where_spreads_move(full: stress.StressResult) -> None:
    s = full.summary
    assert s["pnl_spread"][1] == 0.0  # curves only
    assert s["pnl_spread"][2] != 0.0 and s["pnl_rates"][2] == 0.0  # spreads only
    swaps = full.positions.filter(full.positions["position_id"].cast(str).str.starts_with("SWAP"))
    assert (swaps["pnl_spread"].to_numpy() == 0.0).all()


def test_positions_and_groups_add_up_to_totals(full: stress.StressResult) -> None:
    pos = full.positions
    for c in SUMMED:
        per = pos.group_by("scenario", maintain_order=True).agg(pl.col(c).sum())[c].to_numpy()
        tot = full.summary[c].to_numpy()
        scale = np.abs(pos["pv_before"]).sum() + np.abs(pos["pv_after"]).sum() + 1.0
        np.testing.assert_allclose(per, tot, rtol=0, atol=1e-9 * scale, err_msg=c)
        grouped = full.by("sector").group_by("scenario", maintain_order=True).agg(
            pl.col(c).sum())[c].to_numpy()
        np.testing.assert_allclose(grouped, tot, rtol=0, atol=1e-9 * scale, err_msg=c)


def test_book_durations_weigh_cashflow_instruments_and_add_futures_risk(
        full: stress.StressResult) -> None:
    """A book's duration and convexity, before and after: the positions' dollar figures over
    the PV of the cashflow instruments alone. A future adds its forward dollar duration and
    convexity, but its value after (its margined P&L) is no weight: until it was left out, a
    group of short JGBs and a short JGB future read 181 years after +300 bp."""
    kinds = BOOK.frame.select(pl.col("position_id").cast(pl.String), "instrument")
    pos = full.positions.with_columns(pl.col("position_id").cast(pl.String)).join(
        kinds, on="position_id")
    futures = pos.filter((pl.col("instrument") == "future") & (pl.col("scenario") != "zero"))
    assert (futures["pv_after"] != 0.0).all()
    for when in ("before", "after"):
        dollar = pl.col(f"dv01_{when}") * 1e4
        # A position's value behind its duration: its PV, a future's forward value.
        value = dollar / pl.col(f"duration_{when}")
        per = pos.group_by("scenario", maintain_order=True).agg(
            dollar=dollar.sum(),
            dollar_c=(pl.col(f"convexity_{when}") * value).fill_nan(None).sum(),
            pv=pl.col(f"pv_{when}").filter(pl.col("instrument").is_in(["bond", "frn", "swap"]))
            .sum())
        for column, num in ((f"duration_{when}", "dollar"), (f"convexity_{when}", "dollar_c")):
            np.testing.assert_allclose(full.summary[column].to_numpy(),
                                       (per[num] / per["pv"]).to_numpy(), rtol=1e-9)


def test_pnl_is_additive_across_books() -> None:
    frame = BOOK.frame
    half = frame.height // 2
    a = portfolios.Portfolio(frame[:half], BOOK.source, BOOK.attributes)
    b = portfolios.Portfolio(frame[half:], BOOK.source, BOOK.attributes)
    whole = run().summary
    parts = [run(a).summary, run(b).summary]
    for c in SUMMED:
        got = parts[0][c].to_numpy() + parts[1][c].to_numpy()
        scale = np.abs(whole["pv_before"].to_numpy()) + 1.0
        np.testing.assert_allclose(got, whole[c].to_numpy(), rtol=0, atol=1e-9 * scale.max(),
                                   err_msg=c)


def test_other_base_currency_is_a_conversion() -> None:
    usd = run().summary
    jpy = stress.run(BOOK, MARKET, SCEN, base_currency="JPY").summary
    x0 = MARKET.with_base("JPY").fx_rate("USD") / MARKET.fx_rate("USD")
    # Amounts before the shocks convert at today's rate.
    for c in ("pv_before", "dv01_before", "cs01_before"):
        np.testing.assert_allclose(jpy[c].to_numpy(), usd[c].to_numpy() * x0, rtol=1e-12)


@pytest.mark.parametrize("size", [1, 7, 25])
def test_shards_are_bit_for_bit(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(ev, "SHARD_POSITIONS", size)
    """Futures, FRNs and swaps in any shard: a run's sums are its shards' node weights, each
    shard laid out on its own, merged in shard order."""
    whole = run(worst_scenarios=None)
    np.testing.assert_array_equal(split_sums(BOOK, MARKET, SCEN, size), whole.raw.sums[:, :1])


def test_chunks_and_threads_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    many = shocks.concat([dataclasses.replace(
        SCEN, names=tuple(f"{n}_{k}" for n in SCEN.names)) for k in range(12)])
    base = stress.run(BOOK, MARKET, many, detail="positions")
    one = stress.run(BOOK, MARKET, many, detail="positions", chunk_size=5)
    assert np.array_equal(base.raw.sums, one.raw.sums)
    assert base.positions.equals(one.positions)
    monkeypatch.setattr(ev, "threaded", lambda *a, **k: True)
    threaded = stress.run(BOOK, MARKET, many, detail="positions")
    assert np.array_equal(base.raw.sums, threaded.raw.sums)



def test_a_scenario_gives_the_same_figures_alone_as_in_its_set() -> None:
    """Scenarios without credit-spread shifts, evaluated apart from those with (a chunk of a
    sharded run, an ES tail), keep the whole set's layout and so its bits."""
    prepared = prepare(BOOK, MARKET, spread_by=("sector",))
    resolved = resolve(SCEN, MARKET, prepared.book.currencies, prepared.book.position_currencies)
    one = Groupings.total(prepared.book.n_positions)
    raw, _ = ev.evaluate(prepared, resolved, one, worst=0)
    for s in range(len(SCEN)):
        alone, _ = ev.evaluate(prepared, resolved.select([s]), one, worst=0)
        assert alone.sums.tobytes() == raw.sums[[s]].tobytes(), SCEN.names[s]


def test_runs_on_a_kept_layout_equal_runs_on_a_fresh_one() -> None:
    """A prepared book keeps its node weights for the next run with the same groups: runs
    with other groups or shard sizes in between must not pick up the wrong ones."""
    kept = prepare(BOOK, MARKET, spread_by=SCEN.spread_attributes)
    for kw in ({}, {"by": ["sector"]}, {"shard_positions": 7}, {"by": ["currency"]}, {}):
        fresh = prepare(BOOK, MARKET, spread_by=SCEN.spread_attributes)
        a, b = run_prepared(kept, SCEN, **kw), run_prepared(fresh, SCEN, **kw)
        assert a.summary.equals(b.summary)
        assert a.groups.keys() == b.groups.keys()
        assert all(a.groups[k].equals(b.groups[k]) for k in a.groups)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_few_rows_are_read_as_a_query_reads_them(seed: int) -> None:
    """A layout reads a few rows cell by cell (a what-if's trade) and more in one polars
    query: both give the same arrays, on every instrument's columns, nulls filled."""
    from stress.instruments import bond, floating, future
    from stress.instruments.base import FEW_ROWS, read_cells, read_query

    frame = workloads.mixed_book(400, seed=seed).frame
    # Bonds with every optional cell both present and null (reading does not validate).
    k = pl.int_range(pl.len())
    dense = workloads.book(200, workload="dense").frame.with_columns(
        issue_date=pl.when(k % 2 == 0).then(pl.col("maturity") - pl.duration(days=3653)),
        first_coupon_date=pl.when(k % 3 == 0).then(pl.col("maturity") - pl.duration(days=3471)),
        clean_price=pl.when(k % 4 == 0).then(99.5 - k / 7),
        spread_bp=pl.when(k % 5 == 0).then(k * 1.25),
    )
    for kind, columns in (("bond", bond.COLUMNS), ("frn", floating.FRN_COLUMNS),
                          ("swap", floating.SWAP_COLUMNS), ("future", future.COLUMNS)):
        rows = frame.filter(pl.col("instrument") == kind)
        if kind == "bond":
            rows = pl.concat([rows, dense], how="diagonal_relaxed")
        assert rows.height > FEW_ROWS
        cells, query = read_cells(rows, columns), read_query(rows, columns)
        for k in columns:
            assert cells[k].dtype == query[k].dtype, (kind, k)
            assert np.array_equal(cells[k], query[k], equal_nan=True), (kind, k)


def test_a_few_rows_read_only_their_own_columns() -> None:
    """Reading a few rows converts only the columns it reads: an attribute may hold a date
    Python's dates cannot (the loader accepts them), and a one-row trade carrying one runs.
    A null where a value is needed is the same error on either path."""
    from stress.instruments import bond
    from stress.instruments.base import read_cells, read_query

    market = workloads.market()
    trade = pl.DataFrame({"position_id": ["T"], "instrument": ["bond"], "currency": ["USD"],
                          "notional": [1e6], "coupon": [4.0], "maturity": ["2035-05-15"],
                          "convention": ["UST"]}).with_columns(
        review_date=pl.lit(3_700_000, dtype=pl.Int32).cast(pl.Date))  # year 12100
    book = portfolios.load(trade, valuation_date=market.valuation_date)
    few = stress.run(book, market, workloads.scenarios(3)).summary
    twenty = pl.concat([trade] * 20).with_columns(
        position_id=pl.format("T{}", pl.int_range(pl.len())))
    many = stress.run(portfolios.load(twenty, valuation_date=market.valuation_date), market,
                      workloads.scenarios(3)).summary  # fmt: skip
    assert np.allclose(many["pnl"].to_numpy(), 20 * few["pnl"].to_numpy(), rtol=1e-12)
    broken = book.frame.with_columns(calendar=pl.lit(None, dtype=pl.String))
    for reader in (read_cells, read_query):
        with pytest.raises(ValueError, match="calendar: null cells the layout cannot read"):
            reader(broken, bond.COLUMNS)
