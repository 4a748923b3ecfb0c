"""Properties of the stress engine that hold for any book and scenario.

Zero shocks give exactly zero P&L; P&L adds up across positions, books and groupings and
scales with notional; FX-only shocks move only the FX part; P&L falls as rates rise for a long
book; the Taylor residual is third order in the shock; results are bit-identical whatever the
chunk size or thread count; the P&L is exactly the sum of its parts; another base currency is
a conversion; level targets land on the target.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import gc
import math
import pickle
from typing import Any

import numba
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import portfolios
import shocks
import stress
from portfolios.synthetic import synthetic_book
from stress.prepare import prepare
from stress.resolve import resolve
from tests import strategies as ts
from tests.sharding import split_sums

VAL = dt.date(2026, 1, 20)
MARKET_SPEC: dict[str, Any] = {
    "valuation_date": VAL.isoformat(),
    "base_currency": "USD",
    "curves": {
        "USD": {"type": "zero", "tenors": ["3M", "1Y", "2Y", "5Y", "10Y", "30Y"],
                "rates": [4.3, 4.0, 3.8, 3.9, 4.2, 4.7]},
        "JPY": {"type": "zero", "tenors": ["1Y", "5Y", "10Y", "20Y", "40Y"],
                "rates": [0.8, 1.3, 1.9, 2.9, 3.6]},
        "EUR": {"type": "zero", "tenors": ["6M", "2Y", "10Y", "30Y"],
                "rates": [2.0, 2.1, 2.7, 3.2]},
        "GBP": {"type": "zero", "tenors": ["1Y", "10Y", "30Y"], "rates": [3.8, 4.5, 5.1]},
    },
    "fx": {"USDJPY": 158.0, "EURUSD": 1.17, "GBPUSD": 1.34},
    "gold": {"XAUUSD": 4800.0},
}
MARKET = stress.Market.from_dict(MARKET_SPEC)
CURRENCIES = ("USD", "JPY", "EUR", "GBP")
MONEY = ("pnl", "pnl_rates", "pnl_spread", "pnl_fx", "pnl_gold", "pnl_cross", "pv_before",
         "pv_after", "cs01_before", "cs01_after",
         "dv01_before", "dv01_after", "taylor_pnl", "taylor_residual")
SUMMED = (*MONEY, "taylor_duration", "taylor_convexity")  # summary columns that add up
PARTS = ("pnl_rates", "pnl_spread", "pnl_fx", "pnl_gold", "pnl_cross")
FLOOR = 1e-4  # differences smaller than FLOOR x |PV| are compared in absolute terms
FAST = settings(max_examples=ts.examples(40),
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- helpers


def load(rows: list[dict[str, Any]]) -> portfolios.Portfolio:
    return portfolios.load(ts.positions_frame(rows))


def scen(*specs: dict[str, Any]) -> shocks.ScenarioSet:
    return shocks.from_dict({"scenario": list(specs)}, "<property test>")


def run(rows: list[dict[str, Any]], scenarios: shocks.ScenarioSet, **kw: Any
        ) -> stress.StressResult:
    return stress.run(load(rows), MARKET, scenarios, **kw)


def by_key(pos: pl.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["scenario"], r["position_id"]): r
            for r in pos.with_columns(pl.col("scenario", "position_id").cast(pl.String))
            .iter_rows(named=True)}


def same(a: float, b: float) -> bool:
    """Bit-for-bit equal (NaN equals NaN)."""
    return a == b or (math.isnan(a) and math.isnan(b))


def frames_identical(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    for c in a.columns:
        if a[c].dtype.is_float():
            np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy(), err_msg=c)
        else:
            assert a[c].cast(pl.String).to_list() == b[c].cast(pl.String).to_list(), c


def bond(pid: str, ccy: str, notional: float, coupon: float, maturity: dt.date,
         convention: str = "UST", spread_bp: float | None = None,
         clean_price: float | None = None, book: str = "A") -> dict[str, Any]:
    return {"position_id": pid, "instrument": "bond", "currency": ccy, "notional": notional,
            "coupon": coupon, "maturity": maturity, "convention": convention,
            "spread_bp": spread_bp, "clean_price": clean_price, "book": book}


def other(pid: str, kind: str, ccy: str, notional: float, book: str = "A") -> dict[str, Any]:
    return {"position_id": pid, "instrument": kind, "currency": ccy, "notional": notional,
            "coupon": None, "maturity": None, "convention": None, "spread_bp": None,
            "clean_price": None, "book": book}


# --------------------------------------------------------------------------- strategies


def _num(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def position_rows(draw: st.DrawFn, *, long_bonds_only: bool = False, min_size: int = 1,
                  max_size: int = 8) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(min_size, max_size))):
        kind = "bond" if long_bonds_only else draw(st.sampled_from(("bond", "bond", "gold",
                                                                     "fx")))
        notional = draw(_num(1e3, 1e8))
        if not long_bonds_only and draw(st.booleans()):
            notional = -notional
        book = draw(st.sampled_from(("A", "B")))
        if kind == "bond":
            ccy = draw(st.sampled_from(CURRENCIES))
            conv = draw(st.sampled_from(("UST", "JGB", "BUND", "GILT", "USD_CORP")))
            quote = draw(st.sampled_from(("none", "spread", "price")))
            if quote == "price":  # near par, so that some spread reproduces the price
                mat = VAL + dt.timedelta(days=draw(st.integers(2 * 365, 15 * 365)))
                coupon = draw(_num(2.0, 6.0))
            else:
                mat = VAL + dt.timedelta(days=draw(st.integers(1, 45 * 365)))
                coupon = draw(st.one_of(st.just(0.0), _num(0.0, 9.0)))
            rows.append(bond(f"P{i}", ccy, notional, coupon, mat, conv,
                             spread_bp=draw(_num(-50.0, 300.0)) if quote == "spread" else None,
                             clean_price=draw(_num(90.0, 110.0)) if quote == "price" else None,
                             book=book))
        else:
            ccy = "USD" if kind == "gold" else draw(st.sampled_from(CURRENCIES))
            rows.append(other(f"P{i}", kind, ccy, notional, book))
    return rows


TENORS = ("3M", "6M", "1Y", "2Y", "5Y", "7Y", "10Y", "20Y", "30Y", "50Y")


@st.composite
def scenario_sets(draw: st.DrawFn, *, fx: bool = True, gold: bool = True) -> shocks.ScenarioSet:
    specs = []
    for k in range(draw(st.integers(1, 5))):
        spec: dict[str, Any] = {"name": f"s{k}"}
        rates = {}
        for c in draw(st.lists(st.sampled_from((*CURRENCIES, "ALL")), max_size=3, unique=True)):
            shape = draw(st.sampled_from(("keyrate", "parallel", "basel", "twist")))
            if shape == "keyrate":
                idx = sorted(draw(st.lists(st.integers(0, len(TENORS) - 1), min_size=1,
                                           max_size=4, unique=True)))
                rates[c] = {"tenors": [TENORS[i] for i in idx],
                            "bp": [draw(_num(-300.0, 300.0)) for _ in idx]}
            elif shape == "parallel":
                rates[c] = {"parallel_bp": draw(_num(-300.0, 300.0))}
            elif shape == "basel":
                rates[c] = {"short_bp": draw(_num(-300.0, 300.0)),
                            "long_bp": draw(_num(-300.0, 300.0))}
            else:
                rates[c] = {"twist": {"short": "2Y", "pivot": "5Y", "long": "30Y",
                                      "short_bp": draw(_num(-100.0, 100.0)),
                                      "long_bp": draw(_num(-100.0, 100.0))}}
        if rates:
            spec["rates"] = rates
        if fx:
            moves = draw(st.lists(st.sampled_from(("JPY", "EUR", "GBP")), max_size=3,
                                  unique=True))
            if moves:
                spec["fx"] = {c: draw(_num(-40.0, 40.0)) for c in moves}
        if gold and draw(st.booleans()):
            spec["gold"] = {"pct": draw(_num(-40.0, 40.0))}
        specs.append(spec)
    return scen(*specs)


def pv_scale(res: stress.StressResult) -> np.ndarray:
    """Per scenario: the sum over positions of max(|pv_before|, |pv_after|), the size a
    difference of values (a P&L, a Taylor residual) is accurate relative to."""
    pos = res.positions.with_columns(
        pv=pl.max_horizontal(pl.col("pv_before").abs(), pl.col("pv_after").abs()))
    per = pos.group_by("scenario").agg(pl.col("pv").sum()).sort(pl.col("scenario").to_physical())
    return per["pv"].to_numpy()


def ratio_scale(res: stress.StressResult, column: str) -> np.ndarray:
    """Per scenario: the size a summary duration or convexity (``column``, a ratio of sums
    over bonds) is accurate relative to, the sum of |ratio x pv| over the bonds over |their
    summed pv|: a long-short book's dollar duration can cancel to ~0 while each bond's is
    rounded on its own scale."""
    pv = "pv_after" if column.endswith("_after") else "pv_before"
    per = (res.positions.filter(pl.col(column).is_not_nan())
           .group_by("scenario")
           .agg(w=(pl.col(column) * pl.col(pv)).abs().sum(), pv=pl.col(pv).sum()))
    scale = res.summary.select("scenario").join(per, on="scenario", how="left")
    return (scale["w"] / scale["pv"].abs()).fill_null(0.0).to_numpy()


def close(got: np.ndarray, want: np.ndarray, scale: np.ndarray, rtol: float) -> None:
    bad = np.abs(got - want) > rtol * scale
    assert not bad.any(), (got[bad], want[bad], scale[bad])


# --------------------------------------------------------------------------- zero shock


ZERO = scen(
    {"name": "nothing"},
    {"name": "parallel_0", "rates": {"ALL": {"parallel_bp": 0}}},
    {"name": "everything_0",
     "rates": {"USD": {"tenors": ["2Y", "10Y"], "bp": [0, 0]}, "JPY": {"short_bp": 0},
               "EUR": {"twist": {"short": "2Y", "pivot": "5Y", "long": "30Y", "short_bp": 0,
                                 "long_bp": 0}}},
     "fx": {"JPY": 0.0, "EUR": 0.0}, "gold": {"pct": 0.0}},
)


@FAST
@given(position_rows(), st.sampled_from(CURRENCIES))
def test_zero_shock_gives_exactly_zero(rows: list[dict[str, Any]], base: str) -> None:
    res = run(rows, ZERO, detail="positions", base_currency=base)
    pnl_cols = ("pnl", *PARTS, "taylor_pnl", "taylor_residual")
    for frame in (res.summary, res.positions):
        for c in pnl_cols:
            assert (frame[c] == 0.0).all(), c
        for what in ("pv", "duration", "convexity", "dv01"):
            before = frame[f"{what}_before"].to_numpy()
            np.testing.assert_array_equal(frame[f"{what}_after"].to_numpy(), before)
    for c in ("taylor_duration", "taylor_convexity", *(f"worst_{k}_pnl" for k in (1, 2, 3)
                                                     if f"worst_{k}_pnl" in res.summary)):
        assert (res.summary[c] == 0.0).all(), c


# --------------------------------------------------------------------------- additivity


@settings(FAST, max_examples=max(1, FAST.max_examples * 3 // 4))
@given(position_rows(min_size=2), scenario_sets())
def test_pnl_is_additive_across_books(rows: list[dict[str, Any]],
                                      scenarios: shocks.ScenarioSet) -> None:
    parts = {b: [r for r in rows if r["book"] == b] for b in ("A", "B")}
    assume(all(parts.values()))
    whole = run(rows, scenarios, detail="positions", by=["book"])
    subs = {b: run(p, scenarios, detail="positions") for b, p in parts.items()}

    # each position's numbers do not depend on what else is in the book
    got = by_key(whole.positions)
    for sub in subs.values():
        for key, row in by_key(sub.positions).items():
            assert all(same(row[c], got[key][c]) for c in row if c not in ("scenario",
                                                                             "position_id"))

    # book totals add up, and so do the by("book") groups
    grouped = whole.by("book").sort(pl.col("scenario").to_physical(), "book")
    floor = FLOOR * pv_scale(whole)
    for c in SUMMED:
        a, b = subs["A"].summary[c].to_numpy(), subs["B"].summary[c].to_numpy()
        scale = np.abs(a) + np.abs(b) + floor
        close(whole.summary[c].to_numpy(), a + b, scale, 1e-9)
        ga = grouped.filter(pl.col("book") == "A")[c].to_numpy()
        gb = grouped.filter(pl.col("book") == "B")[c].to_numpy()
        np.testing.assert_array_equal(ga, a)  # a group is summed as its own book would be
        np.testing.assert_array_equal(gb, b)
        close(whole.summary[c].to_numpy(), ga + gb, scale, 1e-9)


@FAST
@given(position_rows(min_size=2), scenario_sets(), st.integers(1, 3))
def test_a_run_in_shards_is_its_shards_weights_merged(rows: list[dict[str, Any]],
                                                      scenarios: shocks.ScenarioSet,
                                                      size: int) -> None:
    """Any book in shards of any size: the run's sums are those of its shards laid out each on
    its own (as a split run's tasks lay them out) with their node weights merged in shard
    order, bit for bit."""
    book = load(rows)
    whole = stress.run(book, MARKET, scenarios, shard_positions=size)
    np.testing.assert_array_equal(split_sums(book, MARKET, scenarios, size),
                                  whole.raw.sums[:, :1])


@FAST
@given(position_rows(min_size=2), scenario_sets(), st.sampled_from(("currency", "instrument",
                                                                    "maturity_bucket")))
def test_by_sums_to_summary(rows: list[dict[str, Any]], scenarios: shocks.ScenarioSet,
                            column: str) -> None:
    res = run(rows, scenarios, detail="positions", by=[column])
    floor = FLOOR * pv_scale(res)
    grouped = res.by(column)
    assert grouped.height == len(scenarios) * grouped[column].n_unique()
    totals = grouped.group_by("scenario").agg(
        [pl.col(c).sum() for c in SUMMED] + [pl.col(c).abs().sum().alias(f"abs_{c}")
                                             for c in SUMMED])
    totals = totals.sort(pl.col("scenario").to_physical())
    for c in SUMMED:
        close(res.summary[c].to_numpy(), totals[c].to_numpy(),
              totals[f"abs_{c}"].to_numpy() + floor, 1e-9)


@FAST
@given(position_rows(), scenario_sets(), st.data())
def test_scaling_a_notional_scales_its_pnl(rows: list[dict[str, Any]],
                                           scenarios: shocks.ScenarioSet,
                                           data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(rows) - 1))
    factor = data.draw(st.sampled_from((-3.0, 0.5, 2.0, 1000.0)))
    scaled = [dict(r) for r in rows]
    scaled[k]["notional"] *= factor
    base = by_key(run(rows, scenarios, detail="positions").positions)
    new = by_key(run(scaled, scenarios, detail="positions").positions)
    pid = rows[k]["position_id"]
    for key, row in new.items():
        old = base[key]
        for c in row:
            if c in ("scenario", "position_id"):
                continue
            if key[1] != pid:
                assert same(row[c], old[c]), (key, c)
            elif c in MONEY:
                # exact up to rounding of the values whose difference the P&L is (1e-14 PV)
                scale = abs(factor) * max(abs(old[c]), abs(old["pnl_rates"]),
                                          1e-2 * max(abs(old["pv_before"]), abs(old["pv_after"])))
                assert abs(row[c] - factor * old[c]) <= 1e-12 * scale, (key, c)
            else:  # durations and convexities do not depend on size or sign
                assert same(row[c], old[c]) or abs(row[c] - old[c]) <= 1e-12 * abs(old[c]), \
                    (key, c)


# --------------------------------------------------------------------------- FX only


@FAST
@given(position_rows(), st.sampled_from(CURRENCIES), st.data())
def test_fx_only_shock_moves_only_fx(rows: list[dict[str, Any]], base: str,
                                     data: st.DataObject) -> None:
    movable = [c for c in CURRENCIES if c != "USD"]
    moves = data.draw(st.dictionaries(st.sampled_from(movable), _num(-40.0, 40.0),
                                      min_size=1, max_size=3))
    res = run(rows, scen({"name": "fx", "fx": moves}), detail="positions", base_currency=base)
    pos = res.positions.with_columns(pl.col("position_id").cast(pl.String))
    ccy = {r["position_id"]: r["currency"] for r in rows}
    growth = {c: 1.0 + moves.get(c, 0.0) / 100.0 for c in CURRENCIES}
    move = np.array([growth[ccy[p]] / growth[base] - 1.0 for p in pos["position_id"]])
    pv = pos["pv_before"].to_numpy()
    # exact up to the rounding of the FX rates whose difference it is (1e-14 of the PV)
    close(pos["pnl_fx"].to_numpy(), pv * move, np.abs(pv * move) + 1e-2 * np.abs(pv), 1e-12)
    for c in ("pnl_rates", "pnl_gold", "pnl_cross", "taylor_pnl", "taylor_residual"):
        assert (pos[c] == 0.0).all(), c
        assert (res.summary[c] == 0.0).all(), c
    np.testing.assert_array_equal(pos["pnl"].to_numpy(), pos["pnl_fx"].to_numpy())
    # the local value did not move, so the after-PV is the before-PV at the new rate
    close(pos["pv_after"].to_numpy(), pv * (1.0 + move), np.abs(pv), 1e-13)


# --------------------------------------------------------------------------- rates


@FAST
@given(position_rows(long_bonds_only=True, max_size=6))
def test_long_book_loses_as_rates_rise(rows: list[dict[str, Any]]) -> None:
    grid = shocks.parallel_grid(-300.0, 300.0, 25.0)
    pnl = run(rows, grid).summary["pnl"].to_numpy()
    assert np.all(np.diff(pnl) < 0), pnl
    assert pnl[len(pnl) // 2] == 0.0  # the 0 bp point
    # and every position on its own
    pos = run(rows, grid, detail="positions").positions
    for _, g in pos.group_by("position_id"):
        p = g.sort(pl.col("scenario").to_physical())["pnl"].to_numpy()
        assert np.all(np.diff(p) < 0)


def test_taylor_residual_is_third_order() -> None:
    rows = [bond("ust2", "USD", 3e7, 3.5, dt.date(2028, 1, 31)),
            bond("ust10", "USD", 2e7, 4.25, dt.date(2035, 11, 15), spread_bp=10.0),
            bond("jgb30", "JPY", 4e9, 2.2, dt.date(2055, 12, 20), "JGB")]
    for sign in (1.0, -1.0):
        scenarios = scen(*({"name": f"p{b:g}", "rates": {"ALL": {"parallel_bp": sign * b}}}
                           for b in (50.0, 25.0, 12.5)))
        res = run(rows, scenarios).summary
        r = res["taylor_residual"].to_numpy()
        # e^-x - (1 - x + x^2/2) = -x^3/6 + ...: opposite in sign to the shift for a long book
        assert np.all(np.sign(r) == -sign), r
        ratios = r[:-1] / r[1:]
        assert np.all(np.abs(ratios / 8.0 - 1.0) < 0.05), ratios
        # the estimate itself is good to third order: residual << P&L
        assert np.all(np.abs(r) < 1e-2 * np.abs(res["pnl_rates"].to_numpy()))


# --------------------------------------------------------------------------- determinism


@pytest.fixture(scope="module")
def big() -> tuple[portfolios.Portfolio, shocks.ScenarioSet]:
    book = portfolios.load(synthetic_book(3000, seed=7, valuation_date=VAL))
    scenarios = shocks.concat([
        shocks.parallel_grid(-200.0, 200.0, 10.0),
        scen(*({"name": f"kr{k}", "rates": {"JPY": {"tenors": ["2Y", "10Y", "30Y"],
                                                    "bp": [k, 3 * k, -2 * k]}},
                "fx": {"JPY": -k / 4, "EUR": k / 8}} for k in range(1, 25))),
    ])
    return book, scenarios


def test_chunk_size_does_not_change_results(big: tuple[Any, Any]) -> None:
    book, scenarios = big
    runs = [stress.run(book, MARKET, scenarios, detail="positions", chunk_size=c)
            for c in (None, 1, 3, 17)]
    for other_run in runs[1:]:
        frames_identical(runs[0].summary, other_run.summary)
        frames_identical(runs[0].positions, other_run.positions)


def test_thread_count_does_not_change_results(big: tuple[Any, Any]) -> None:
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread")
    book, scenarios = big
    before = numba.get_num_threads()
    out = []
    try:
        for n in (1, 2):
            numba.set_num_threads(n)
            res = stress.run(book, MARKET, scenarios, detail="positions", by=["currency"])
            out.append((res, res.by("currency")))
    finally:
        numba.set_num_threads(before)
    frames_identical(out[0][0].summary, out[1][0].summary)
    frames_identical(out[0][0].positions, out[1][0].positions)
    frames_identical(out[0][1], out[1][1])


@pytest.mark.parametrize("detail", ["summary", "positions"])
def test_splitting_the_book_over_threads_does_not_change_results(
    big: tuple[Any, Any], detail: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each block of the pass split into parts of the book, one task each, whose worst lists
    are merged (``stress.evaluate.position_parts``): the same figures and the same worst
    positions as one pass. Every position comes twice, so equal P&Ls straddle the parts'
    cuts, and the earlier copy must be ranked first as in one pass."""
    _, scenarios = big
    frame = pl.DataFrame(synthetic_book(3000, seed=7, valuation_date=VAL))
    twice = portfolios.load(
        pl.concat([frame, frame.with_columns(pl.col("position_id") + "_copy")]),
        valuation_date=VAL,
    )
    # Unsplit on one thread; split into parts on one thread and on two.
    with monkeypatch.context() as m:
        m.setattr(stress.evaluate, "position_parts", lambda *a: 1)
        want = stress.run(twice, MARKET, scenarios, detail=detail, worst=7)
    before = numba.get_num_threads()
    try:
        for threads, parts in ((1, 2), (numba.config.NUMBA_NUM_THREADS, 3), (1, 7)):
            numba.set_num_threads(threads)
            with monkeypatch.context() as m:
                m.setattr(stress.evaluate, "position_parts", lambda *a, k=parts: k)
                got = stress.run(twice, MARKET, scenarios, detail=detail, worst=7)
            frames_identical(want.summary, got.summary)
            frames_identical(want.worst, got.worst)
            if detail == "positions":
                frames_identical(want.positions, got.positions)
    finally:
        numba.set_num_threads(before)
    # The copies tie: a position's copy is never ranked before it.
    ids = want.worst.filter(pl.col("scenario") == want.worst["scenario"][0])["position_id"]
    assert any(i.endswith("_copy") for i in ids.cast(pl.String))


def test_position_parts_keep_threads_busy() -> None:
    from stress.evaluate import part_starts, position_parts

    # A streamed shard's chunk is one block: two threads share it.
    assert position_parts(1, 50_000, 15_000, True, 2) == 2
    # Seven blocks of positions: split in two, 3.5 blocks a thread rather than 4.
    assert position_parts(7, 10_000, 13_000, True, 2) == 2
    # Many blocks keep the threads busy on their own; a summary block's fixed work
    # (multipliers, bounds, seeds) outweighs a small book's scan.
    assert position_parts(63, 10_000, 13_000, True, 2) == 1
    assert position_parts(7, 10_000, 13_000, False, 2) == 1
    assert position_parts(1, 100, 13_000, True, 8) == 1  # under two tiles: nothing to split
    starts = part_starts(1000, 3)
    assert starts.tolist() == [0, 320, 640, 1000]
    assert part_starts(5, 1).tolist() == [0, 5]


def test_the_positions_frame_outlives_its_run(big: tuple[Any, Any]) -> None:
    """The detail lives in pages mapped for the run (``stress.pages.float_pages``): the
    frame must keep them, whatever is freed and allocated after the run."""
    book, scenarios = big
    positions = stress.run(book, MARKET, scenarios, detail="positions").positions
    numbers = [c for c, t in positions.schema.items() if t == pl.Float64]
    want = {c: positions[c].to_numpy().copy() for c in numbers}
    gc.collect()
    churn = [np.full(1 << 17, float(k)) for k in range(64)]  # reuse whatever was freed
    assert len(numbers) == 20 and len(churn) == 64
    for c in numbers:
        assert np.array_equal(positions[c].to_numpy(), want[c], equal_nan=True), c


# --------------------------------------------------------------------------- identities


@FAST
@given(position_rows(), scenario_sets(), st.sampled_from(CURRENCIES))
def test_pnl_is_exactly_the_sum_of_its_parts(rows: list[dict[str, Any]],
                                             scenarios: shocks.ScenarioSet, base: str) -> None:
    res = run(rows, scenarios, detail="positions", base_currency=base, by=["book", "currency"])
    for frame in (res.summary, res.positions, res.by("book"), res.by("currency")):
        total = (frame["pnl_rates"] + frame["pnl_spread"] + frame["pnl_fx"] + frame["pnl_gold"]
                 + frame["pnl_cross"])
        np.testing.assert_array_equal(frame["pnl"].to_numpy(), total.to_numpy())
        np.testing.assert_array_equal(
            frame["taylor_residual"].to_numpy(),
            (frame["pnl_rates"] - frame["taylor_pnl"]).to_numpy())


@FAST
@given(position_rows(), scenario_sets(fx=False))
@example(  # a summary duration of 0.0005 from dollar durations of about 1e4 that cancel
    rows=[bond("P0", "GBP", 9993590.0, 3.719, dt.date(2035, 8, 5), clean_price=99.5),
          bond("P1", "USD", 10719872.0, 2.0, dt.date(2028, 1, 21), clean_price=100.0),
          bond("P2", "EUR", -93100674.0, 0.0, dt.date(2027, 4, 22), spread_bp=228.0)],
    scenarios=scen({"name": "s0"}),
)
def test_other_base_currency_is_a_conversion(rows: list[dict[str, Any]],
                                             scenarios: shocks.ScenarioSet) -> None:
    usd = run(rows, scenarios, detail="positions")
    jpy = run(rows, scenarios, detail="positions", base_currency="JPY")
    assert usd.base_currency == "USD"
    assert jpy.base_currency == "JPY"
    rate = MARKET_SPEC["fx"]["USDJPY"]
    # The rounding scale of a figure is the gross PV behind it: per position its own PV, per
    # scenario the sum over positions (a long-short book's net PV can cancel to ~0).
    for a, b, gross in ((usd.summary, jpy.summary, pv_scale(usd)), (usd.positions, jpy.positions,
                        None)):  # fmt: skip
        pv = np.maximum(np.abs(a["pv_before"].to_numpy()), np.abs(a["pv_after"].to_numpy()))
        if gross is not None:
            pv = np.maximum(pv, gross)
        rates_pnl = np.abs(a["pnl_rates"].to_numpy()) * rate
        for c in MONEY:
            x = a[c].to_numpy() * rate
            scale = np.maximum(np.abs(x), FLOOR * pv * rate)
            if c == "taylor_residual":  # a difference of the two
                scale = np.maximum(scale, rates_pnl)
            close(b[c].to_numpy(), x, scale, 1e-12)
        for c in ("duration_before", "duration_after", "convexity_before", "convexity_after"):
            x = a[c].to_numpy()
            scale = np.abs(np.nan_to_num(x))
            if gross is not None:
                scale = np.maximum(scale, ratio_scale(usd, c))
            close(np.nan_to_num(b[c].to_numpy()), np.nan_to_num(x), scale, 1e-12)
            np.testing.assert_array_equal(np.isnan(b[c].to_numpy()), np.isnan(x))


# --------------------------------------------------------------------------- level targets


def zero_coupon(pid: str, ccy: str, days: int, notional: float = 1e6) -> dict[str, Any]:
    """A zero-coupon bond paying exactly on its maturity date (no calendar: a maturity on a
    holiday is not rolled)."""
    return {**bond(pid, ccy, notional, 0.0, VAL + dt.timedelta(days=days), "JGB"),
            "calendar": "NONE"}


#: Days from VAL to its 10Y and 20Y tenor dates (2036-01-20, 2046-01-20), and their times.
D10 = (dt.date(2036, 1, 20) - VAL).days
D20 = (dt.date(2046, 1, 20) - VAL).days
T10, T20 = D10 / 365.0, D20 / 365.0


@pytest.mark.parametrize("with_all", [False, True])
def test_level_target_lands_on_target(with_all: bool) -> None:
    """A zero-coupon bond maturing exactly at the tenor (10Y = 2036-01-20: 3652/365 ACT/365F
    years) is worth exp(-target x t) after the scenario; a level target replaces the ALL
    shift."""
    rates: dict[str, Any] = {"JPY": {"tenors": ["10Y", "20Y"], "to_pct": [2.5, 3.75]}}
    if with_all:
        rates["ALL"] = {"parallel_bp": 40.0}
    scenarios = scen({"name": "to_level", "rates": rates})
    mid = (D10 + D20) // 2
    rows = [zero_coupon("z10", "JPY", D10), zero_coupon("z20", "JPY", D20),
            zero_coupon("z15", "JPY", mid), zero_coupon("u10", "USD", D10)]
    res = run(rows, scenarios, detail="positions", base_currency="JPY")
    pv = {r["position_id"]: r["pv_after"] for r in res.positions.with_columns(
        pl.col("position_id").cast(pl.String)).iter_rows(named=True)}
    assert pv["z10"] == pytest.approx(1e6 * math.exp(-0.025 * T10), rel=1e-13)
    assert pv["z20"] == pytest.approx(1e6 * math.exp(-0.0375 * T20), rel=1e-13)
    # between the targets the shift (not the rate) is linear in time
    jpy = MARKET.curves["JPY"]
    tm = mid / 365.0
    w = (tm - T10) / (T20 - T10)
    mid_shift = (1 - w) * (0.025 - jpy.zero(T10)) + w * (0.0375 - jpy.zero(T20))
    assert pv["z15"] == pytest.approx(
        1e6 * math.exp(-(jpy.zero(tm) + mid_shift) * tm), rel=1e-13)
    usd_shift = 0.004 if with_all else 0.0
    usd_zero = MARKET.curves["USD"].zero(T10)
    assert pv["u10"] == pytest.approx(1e6 * math.exp(-(usd_zero + usd_shift) * T10)
                                      * MARKET.fx_rate("USD", "JPY"), rel=1e-13)

    # the same through resolve: base zero + shift = target at the tenors
    book = prepare(load(rows), MARKET).book
    shocks_ = resolve(scenarios, MARKET, book.currencies, book.position_currencies)
    ci = book.currencies.index("JPY")
    grid = list(shocks_.times)
    for tenor, target in ((T10, 0.025), (T20, 0.0375)):
        z = jpy.zero(tenor) + shocks_.shift_bp[0, ci, grid.index(tenor)] / 1e4
        assert z == pytest.approx(target, abs=1e-15)


def test_a_set_reused_on_other_markets_places_its_shifts_afresh() -> None:
    """A ScenarioSet keeps the shifts it placed on a calendar (a trading tool reuses one set):
    another valuation date or another market's levels must not read them. Its arrays are
    read-only, so what it keeps stays true."""
    scenarios = shocks.from_dict({"scenario": [
        {"name": "kr", "rates": {"JPY": {"tenors": ["6M", "10Y"], "bp": [10.0, 30.0]}}},
        {"name": "lvl", "rates": {"JPY": {"tenors": ["10Y"], "to_pct": [2.5]}}},
    ]})
    with pytest.raises(ValueError, match="read-only"):
        scenarios.bp[0, 0, 0] = 1.0
    later = stress.Market.from_dict({**MARKET_SPEC, "valuation_date": "2026-03-20"})
    higher = stress.Market.from_dict({**MARKET_SPEC, "curves": {**MARKET_SPEC["curves"], "JPY": {
        "type": "zero", "tenors": ["1Y", "40Y"], "rates": [1.0, 3.0]}}})
    for market in (MARKET, later, higher, MARKET, later, higher):
        fresh = dataclasses.replace(scenarios)  # nothing placed yet
        got = resolve(scenarios, market, ("JPY",), ("JPY",))
        want = resolve(fresh, market, ("JPY",), ("JPY",))
        assert np.array_equal(got.times, want.times)
        assert np.array_equal(got.shift_bp, want.shift_bp)
    six_months = (dt.date(2026, 7, 20) - VAL).days / 365.0
    assert six_months in resolve(scenarios, MARKET, ("JPY",), ("JPY",)).times
    assert six_months not in resolve(scenarios, later, ("JPY",), ("JPY",)).times
    assert len(scenarios._placed) == 2  # one entry per (valuation date, curves)


def test_a_set_owns_its_arrays_and_keeps_nothing_across_copies() -> None:
    """A set copies the writable arrays it is given (a caller writing into its own buffer
    later changes neither the set nor what it keeps), and a pickled or copied set is read-only
    again and starts with nothing kept."""
    bp = np.zeros((1, 1, 1))
    scenarios = shocks.ScenarioSet(
        names=("s",), descriptions=("",), sources=("",), origins=("<t>",), currencies=("USD",),
        tenors=(shocks.parse_tenor("10Y"),), bp=bp, knots=np.ones((1, 1, 1), dtype=np.bool_),
        fx_currencies=(), fx_pct=np.zeros((1, 0)), gold_pct=np.zeros(1),
    )  # fmt: skip
    before = resolve(scenarios, MARKET, ("USD",), ("USD",)).shift_bp.copy()
    bp[:] = 100.0
    assert np.array_equal(resolve(scenarios, MARKET, ("USD",), ("USD",)).shift_bp, before)
    for copied in (pickle.loads(pickle.dumps(scenarios)), copy.deepcopy(scenarios),
                   dataclasses.replace(scenarios)):  # fmt: skip
        assert not copied.bp.flags.writeable and copied._placed == {}
        assert np.array_equal(resolve(copied, MARKET, ("USD",), ("USD",)).shift_bp, before)
    for day in range(1, 10):  # what a set keeps is bounded
        scenarios.curve_shifts(VAL + dt.timedelta(days=day), ("USD",))
    assert len(scenarios._placed) == shocks.model.PLACED_KEPT


def test_level_target_single_tenor_is_a_parallel_move() -> None:
    scenarios = scen({"name": "lvl", "rates": {"USD": {"tenors": ["10Y"], "to_pct": [5.0]}}})
    rows = [zero_coupon("a", "USD", 3650), zero_coupon("b", "USD", 365 * 30)]
    pos = run(rows, scenarios, detail="positions").positions.sort(
        pl.col("position_id").to_physical())
    usd = MARKET.curves["USD"]
    shift = 0.05 - usd.zero(T10)
    want = [1e6 * math.exp(-(usd.zero(t) + shift) * t) for t in (10.0, 30.0)]
    assert pos["pv_after"].to_list() == pytest.approx(want, rel=1e-13)
