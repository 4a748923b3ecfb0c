"""Shards: a book's node weights are formed shard by shard (consecutive positions) and merged
in shard order, so a run split into one task per shard, on any number of processes or
machines, gives the same numbers bit for bit; worst positions merge by keeping the lowest
P&Ls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import portfolios
import stress
import stress.engine
import stress.evaluate as ev
from stress.engine import run
from stress.prepare import prepare
from tests.sharding import split_sums

MARKET = stress.Market.load(stress.default_market_path())
BOOK = portfolios.load(portfolios.sample_path("global_macro"))


@pytest.mark.parametrize("size", [1, 4, 5, 16])
def test_a_sharded_run_is_its_shards_merged_in_order(monkeypatch: pytest.MonkeyPatch,
                                                     size: int) -> None:
    """The sums of a run are those of its shards' node weights, each shard laid out on its
    own (as a task of a split run lays it out), merged in shard order."""
    monkeypatch.setattr(ev, "SHARD_POSITIONS", size)
    whole = run(BOOK, MARKET, "all", worst_scenarios=None)
    assert prepare(BOOK, MARKET, spread_by=("sector",)).spread_labels  # credit lines move
    np.testing.assert_array_equal(
        split_sums(BOOK, MARKET, stress.engine.load_for(MARKET, "all"), size),
        whole.raw.sums[:, :1])
    frame = BOOK.frame
    shards = [portfolios.Portfolio(frame[lo:lo + size], BOOK.source, BOOK.attributes)
              for lo in range(0, len(frame), size)]
    parts = [run(sh, MARKET, "all", worst_scenarios=None) for sh in shards]
    # worst positions: the K lowest P&Ls over the shards' own lists, earlier shards first
    k = whole.raw.worst.shape[1]
    for s in range(len(whole.scenarios)):
        cands = [(p.raw.worst_pnl[s, j], lo + p.raw.worst[s, j])
                 for lo, p in zip(range(0, len(frame), size), parts, strict=True)
                 for j in range(k) if p.raw.worst[s, j] >= 0]
        best = sorted(cands, key=lambda c: (c[0], c[1]))[:k]
        assert [i for _, i in best] == [int(i) for i in whole.raw.worst[s] if i >= 0]


def test_shards_change_no_figure_beyond_rounding(monkeypatch: pytest.MonkeyPatch) -> None:
    one = run(BOOK, MARKET, "all").summary
    monkeypatch.setattr(ev, "SHARD_POSITIONS", 3)
    split = run(BOOK, MARKET, "all").summary
    for c in ("pnl", "pv_after", "dv01_after", "taylor_pnl"):
        np.testing.assert_allclose(split[c].to_numpy(), one[c].to_numpy(), rtol=1e-13,
                                   atol=1e-6)


def test_detail_streamed_to_a_sink_is_the_detail_in_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``evaluate(detail=True, sink=...)`` hands the per-position detail over chunk by chunk of
    scenarios, each within DETAIL_CHUNK_BYTES, and never returns the whole array; the chunks
    are the in-memory detail, bit for bit, and the sums and worst positions do not change."""
    from stress.groups import Groupings
    from stress.kernels.scenarios import N_DETAIL
    from stress.prepare import prepare
    from stress.resolve import resolve

    prepared = prepare(BOOK, MARKET)
    scen = stress.engine.load_for(MARKET, "all")
    shocks = resolve(scen, MARKET, prepared.book.currencies, prepared.book.position_currencies)
    groups = Groupings.total(len(BOOK))
    raw, whole = ev.evaluate(prepared, shocks, groups, detail=True)
    assert whole is not None
    n_p, S = len(BOOK), len(scen)
    monkeypatch.setattr(ev, "DETAIL_CHUNK_BYTES", 8 * N_DETAIL * n_p * 5)  # 5 scenarios
    got = np.full_like(whole, np.nan)
    seen = []

    def sink(lo: int, hi: int, block: np.ndarray) -> None:
        assert block.shape == (N_DETAIL, n_p * (hi - lo)) and hi - lo <= 5
        seen.append((lo, hi))
        got[:, lo * n_p:hi * n_p] = block  # scenario-major, as the whole run's

    raw2, none = ev.evaluate(prepared, shocks, groups, detail=True, sink=sink)
    assert none is None
    assert seen[0][0] == 0 and seen[-1][1] == S and len(seen) == -(-S // 5)
    assert got.tobytes() == whole.tobytes()
    assert raw2.sums.tobytes() == raw.sums.tobytes()
    assert raw2.worst.tobytes() == raw.worst.tobytes()


@pytest.mark.parametrize("case", ["a short bond and futures", "futures alone", "swaps alone"])
@pytest.mark.parametrize("worst_scenarios", [3, None])
def test_a_split_run_of_odd_shards_is_the_single_process_run(
        tmp_path: Path, case: str, worst_scenarios: int | None) -> None:  # fmt: skip
    """Shards whose futures' CTDs pay after every bond of the shard, or of futures alone (the
    second pass read its day table past the end: a segfault), and swaps in a currency no bond
    has (the client had no curve for them): a run split into tasks is the one-process run."""
    import datetime as dt

    import polars as pl

    from benchmarks import workloads

    market = workloads.market()
    frame = workloads.mixed_book_frame(400, 5)
    usd = frame.filter(pl.col("currency") == "USD")
    bonds = usd.filter(pl.col("instrument") == "bond")
    futures = usd.filter(pl.col("instrument") == "future").head(3)
    if case == "a short bond and futures":
        short = bonds.filter(pl.col("maturity") < market.valuation_date + dt.timedelta(days=300))
        parts, size = [short.head(1), futures], 10
    elif case == "futures alone":
        parts, size = [bonds.head(2), futures.head(2)], 2
    else:
        swaps = frame.filter((pl.col("instrument") == "swap") & (pl.col("currency") == "EUR"))
        parts, size = [bonds.head(8), swaps.head(4)], 4
    book = portfolios.load(pl.concat(parts, how="diagonal_relaxed"),
                           valuation_date=market.valuation_date)  # fmt: skip
    scen = workloads.scenarios(20)
    kw: dict[str, Any] = {"shard_positions": size, "worst_scenarios": worst_scenarios}
    one = stress.run(book, market, scen, **kw)
    split = stress.run(book, market, scen, work_dir=tmp_path / "work", **kw)
    assert split.raw.sums.tobytes() == one.raw.sums.tobytes()
    assert split.worst.equals(one.worst)
