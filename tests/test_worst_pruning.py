"""The worst-positions pass skips positions whose P&L bounds keep them out of a scenario's worst
(``stress.kernels.scenarios.Bounds``): the positions it keeps, their P&Ls and their detail
columns must be bit for bit those of the pass that prices every position (the detail pass),
on books of every instrument, long and short, with ties; and the bounds must hold."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import portfolios
import shocks
from benchmarks import workloads
from stress.evaluate import RawSums, _day_segments, _shocks, evaluate
from stress.groups import Groupings
from stress.kernels.scenarios import (
    BOUND_SLACK,
    CASHFLOWS,
    D_PNL,
    _node_tables,
    _rest_scale,
    _run_extremes,
    _shift_lines,
)
from stress.prepare import Prepared, prepare
from stress.resolve import ResolvedShocks, resolve
from tests import strategies as ts

MARKET = workloads.market()


def _resolved(prepared: Prepared, scen: shocks.ScenarioSet) -> ResolvedShocks:
    book = prepared.book
    return resolve(scen, MARKET, book.currencies, book.position_currencies)


def _worst(prepared: Prepared, rs: ResolvedShocks, k: int, detail: bool) -> RawSums:
    raw, _ = evaluate(prepared, rs, Groupings.total(prepared.book.n_positions), worst=k,
                      detail=detail)  # fmt: skip
    return raw


def _assert_same_worst(prepared: Prepared, rs: ResolvedShocks, k: int) -> None:
    pruned = _worst(prepared, rs, k, detail=False)
    every = _worst(prepared, rs, k, detail=True)
    np.testing.assert_array_equal(pruned.worst, every.worst)
    np.testing.assert_array_equal(pruned.worst_pnl, every.worst_pnl)
    np.testing.assert_array_equal(pruned.worst_detail, every.worst_detail)


@settings(max_examples=ts.examples(8), deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 120),
    n_s=st.integers(1, 40),
    k=st.sampled_from([1, 3, 10]),
    credit=st.booleans(),
)
def test_pruned_pass_keeps_the_same_worst_positions(
    seed: int, n: int, n_s: int, k: int, credit: bool
) -> None:
    book = workloads.mixed_book(n, seed=seed)
    scen = (workloads.credit_scenarios(n_s, seed=seed) if credit
            else workloads.scenarios(n_s, seed=seed))  # fmt: skip
    prepared = prepare(book, MARKET, spread_by=scen.spread_attributes)
    _assert_same_worst(prepared, _resolved(prepared, scen), k)


def test_fx_moves_alone_keep_the_same_worst_positions() -> None:
    """Curves still and currencies moving by up to 30 %: the bound of the rest must take the
    FX moves (a long in a falling currency loses its value's share of the fall)."""
    book = workloads.mixed_book(300, seed=9)
    scen = workloads.scenarios(40, seed=9)
    still = dataclasses.replace(scen, fx_pct=scen.fx_pct * 10.0, bp=np.zeros_like(scen.bp))
    prepared = prepare(book, MARKET, spread_by=still.spread_attributes)
    _assert_same_worst(prepared, _resolved(prepared, still), 5)


def test_ties_keep_the_earlier_position() -> None:
    """Three copies of every position: equal P&Ls, of which the earlier copies are kept."""
    frame = workloads.mixed_book_frame(40, seed=5)
    copies = pl.concat([frame.with_columns(pl.col("position_id") + f"_{c}") for c in "abc"])
    book = portfolios.load(copies, valuation_date=MARKET.valuation_date)
    scen = workloads.credit_scenarios(20, seed=5)
    prepared = prepare(book, MARKET, spread_by=scen.spread_attributes)
    rs = _resolved(prepared, scen)
    _assert_same_worst(prepared, rs, 6)
    worst = _worst(prepared, rs, 6, detail=False)
    # The copies of the worst position are its first three, earliest first.
    pnl = worst.worst_pnl
    tied = pnl[:, 0] == pnl[:, 1]
    assert tied.any()
    assert (worst.worst[tied, 0] < worst.worst[tied, 1]).all()


@pytest.mark.parametrize("workload", ["dense", "month-end"])
def test_pruning_on_a_large_book_agrees_and_skips_most_positions(workload: str) -> None:
    book = workloads.book(3_000, seed=2, workload=workload)
    scen = workloads.scenarios(48, seed=3)
    prepared = prepare(book, MARKET)
    rs = _resolved(prepared, scen)
    _assert_same_worst(prepared, rs, 10)
    # The bounds rule out most (position, scenario) pairs at the final thresholds: the
    # pruning does real work (and the bounds hold for every pair).
    lb, pnl = _lower_bounds(prepared, rs)
    assert (lb <= pnl).all()
    threshold = np.sort(pnl, axis=1)[:, 9:10]
    assert (lb > threshold).mean() > 0.8


def test_bounds_hold_for_every_instrument_and_shock() -> None:
    book = workloads.mixed_book(200, seed=11)
    scen = workloads.credit_scenarios(16, seed=11)
    prepared = prepare(book, MARKET, spread_by=scen.spread_attributes)
    lb, pnl = _lower_bounds(prepared, _resolved(prepared, scen))
    assert (lb <= pnl).all()
    assert np.isfinite(lb).any()  # some positions are bounded


@pytest.mark.parametrize("workload", ["dense", "mixed"])
def test_the_bound_of_a_whole_block_holds_in_every_lane(workload: str) -> None:
    """Before its lanes one by one, the pass bounds a position's P&L in every lane of a block
    at once, from the lanes' extremes of the multipliers and FX: that bound is below the
    position's P&L in every lane (so a position it rules out is out in each), and it rules
    out most positions of a dense book at the final thresholds."""
    if workload == "dense":
        book, scen = workloads.book(3_000, seed=2, workload="dense"), workloads.scenarios(32)
    else:
        book, scen = workloads.mixed_book(200, seed=11), workloads.credit_scenarios(32, seed=11)
    prepared = prepare(book, MARKET, spread_by=scen.spread_attributes)
    rs = _resolved(prepared, scen)
    n_p = prepared.book.n_positions
    _, detail = evaluate(prepared, rs, Groupings.total(n_p), worst=0, detail=True)
    assert detail is not None
    pnl = detail[D_PNL].reshape(len(scen), n_p)
    bd, b, cf = prepared.bounds, prepared.book, prepared.cashflows
    segments = _day_segments(rs.times, prepared.last_day)
    i = np.flatnonzero(b.form == CASHFLOWS)
    i = i[bd.prunable[prepared.cashflow_row[i]]]
    r = prepared.cashflow_row[i]
    u, k, sc, x0 = bd.last_node[r], b.currency_code[i], b.scale[i], b.fx0[i]
    p, n = bd.positive[r] * sc * x0, bd.negative[r] * sc * x0
    c_lo, c_hi = np.where(sc >= 0, p, n), np.where(sc >= 0, n, p)
    v0 = sc * cf.pv_before[r] * x0
    ruled_out, stops = [], []
    for s0 in range(0, len(scen), 16):
        cs, sh = _shocks(prepared, rs, np.arange(s0, s0 + 16), segments)
        gtab = np.empty((prepared.n_nodes, sh.lanes))
        spreads = cs.spread_bp.shape[1] > 0
        rtab = np.empty((prepared.n_nodes if spreads else 0, sh.lanes))
        no_shifts = np.empty((0, sh.lanes))
        _node_tables(sh.node_day, sh.node_curve, sh.node_spread, sh.node_sday, cs,
                     _shift_lines(cs, 0, 16), 0, 16, gtab, rtab, no_shifts)  # fmt: skip
        gmin, gmax = np.empty_like(gtab), np.empty_like(gtab)
        _run_extremes(gtab, bd.run_start, 16, gmin, gmax)
        hmax = gmax
        if spreads:  # the run's greatest multiplier with or without the spread shift
            hmax = np.empty_like(gmax)
            for node in range(len(gmax)):
                top = np.maximum(gmax[node], rtab[node])
                start = bd.run_start[node] == node
                hmax[node] = top if start else np.maximum(hmax[node - 1], top)
        fx = cs.fx_multiplier[:, k]  # lanes x positions
        x = c_lo * gmin[u, :16].min(axis=1) + c_hi * gmax[u, :16].max(axis=1)
        slack = BOUND_SLACK * (np.abs(p) + np.abs(n))
        block_lb = (np.minimum(x * fx.min(axis=0), x * fx.max(axis=0))
                    - slack * hmax[u, :16].max(axis=1) * (fx.max(axis=0) + 1.0)
                    - (v0 + BOUND_SLACK * np.abs(v0)))  # fmt: skip
        lanes = pnl[s0 : s0 + 16][:, i]
        assert (block_lb <= lanes).all()
        top = np.sort(pnl[s0 : s0 + 16], axis=1)[:, 9].max()
        ruled_out.append((block_lb > top).mean())
        # The bound of every position from a slot of the pass's order on, where it stops.
        fxm = cs.fx_multiplier[:16]  # lanes x currencies
        low = np.minimum(gmin[:, :16].min(axis=0), 1.0) * np.minimum(fxm.min(axis=1), 1.0)
        high = np.maximum(gmax[:, :16].max(axis=0), 1.0) * np.maximum(fxm.max(axis=1), 1.0)
        reach = np.maximum(1.0 - low, high - 1.0)
        slack_reach = np.maximum(hmax[:, :16].max(axis=0), 0.0) * (
            np.maximum(fxm.max(axis=1), 1.0) + 1.0)
        # The kernel's, from the runs' last nodes, is the same.
        got, got_slack = np.empty(16), np.empty(16)
        _rest_scale(gmin, gmax, hmax, bd.run_start, np.ascontiguousarray(fxm.T), 16, got,
                    got_slack)  # fmt: skip
        np.testing.assert_array_equal(got, reach)
        np.testing.assert_array_equal(got_slack, slack_reach)
        # (slots, lanes): a bound of every position from the slot on, in each lane
        rest_lb = (-bd.rest[:, :1] * reach + bd.rest[:, 1:2]
                   - bd.rest[:, 2:] * slack_reach)  # fmt: skip
        later = pnl[s0 : s0 + 16][:, bd.order].T[::-1]
        least_after = np.minimum.accumulate(later, axis=0)[::-1]
        bounded = bd.slot_node >= 0
        assert (rest_lb[bounded] <= least_after[bounded]).all()
        thr = np.sort(pnl[s0 : s0 + 16], axis=1)[:, 9]
        stops.append(np.argmax(np.append((rest_lb > thr).all(axis=1), True)) / n_p)
    if workload == "dense":
        assert np.mean(ruled_out) > 0.5
        # Sizes spread like a real book's: the pass stops well before the end.
        assert np.mean(stops) < 0.5


def _lower_bounds(prepared: Prepared, rs: ResolvedShocks) -> tuple[np.ndarray, np.ndarray]:
    """(scenarios x positions) the pass's lower bounds of P&L (-inf where it has none), from
    the bounds' definition in plain numpy, and the P&Ls of the detail pass."""
    n_s, n_p = len(rs.gold_multiplier), prepared.book.n_positions
    _, detail = evaluate(prepared, rs, Groupings.total(n_p), worst=0, detail=True)
    assert detail is not None
    pnl = detail[D_PNL].reshape(n_s, n_p)
    bd, book, cf = prepared.bounds, prepared.book, prepared.cashflows
    segments = _day_segments(rs.times, int(prepared.node_day.max()))
    lb = np.full((n_s, n_p), -np.inf)
    for s in range(n_s):
        cs, sh = _shocks(prepared, rs, np.array([s]), segments)
        n_nodes = prepared.n_nodes
        gtab = np.empty((n_nodes, sh.lanes))
        rtab = np.empty((n_nodes if cs.spread_bp.shape[1] else 0, sh.lanes))
        _node_tables(sh.node_day, sh.node_curve, sh.node_spread, sh.node_sday, cs,
                     _shift_lines(cs, 0, 1), 0, 1, gtab, rtab, np.empty((0, sh.lanes)))  # fmt: skip
        gmin, gmax = np.empty_like(gtab), np.empty_like(gtab)
        _run_extremes(gtab, bd.run_start, 1, gmin, gmax)
        # The run's extremes bound the multipliers of every node of each row.
        row_of = np.repeat(np.arange(len(cf.offsets) - 1), np.diff(cf.offsets))
        u_of = bd.last_node[row_of]
        ok = bd.prunable[row_of]
        assert (gmin[u_of, 0][ok] <= gtab[cf.node, 0][ok]).all()
        assert (gtab[cf.node, 0][ok] <= gmax[u_of, 0][ok]).all()
        i = np.flatnonzero(book.form == CASHFLOWS)
        r = prepared.cashflow_row[i]
        i, r = i[bd.prunable[r]], r[bd.prunable[r]]
        u = bd.last_node[r]
        sc, x0 = book.scale[i], book.fx0[i]
        pos, neg, lo, hi = bd.positive[r], bd.negative[r], gmin[u, 0], gmax[u, 0]
        # Per 100 face a row is worth between these; a short is worth least at the top.
        least = np.where(sc >= 0, pos * lo + neg * hi, pos * hi + neg * lo)
        x1 = x0 * cs.fx_multiplier[0, book.currency_code[i]]
        v0 = sc * cf.pv_before[r] * x0
        slack = BOUND_SLACK * (np.abs(sc) * (pos - neg) * hi * x1 + np.abs(v0))
        lb[s, i] = sc * least * x1 - v0 - slack
    return lb, pnl



def test_offsetting_extreme_curve_and_spread_shocks_keep_the_same_worst() -> None:
    """A curve fall of thousands of bp offset by a larger spread rise (both accepted): the
    curve-only value is then ~1e10 x the value, and the rates and spread parts that cancel to
    the P&L carry its rounding, which the bounds' slack must cover."""
    frame = pl.DataFrame({
        "position_id": ["Z40"], "instrument": ["bond"], "currency": ["USD"], "notional": [1e7],
        "coupon": [0.0], "maturity": ["2066-01-20"], "frequency": [1], "day_count": ["ACT/365F"],
        "spread_bp": [50.0], "sector": ["financials"],
    })
    book = portfolios.load(frame, valuation_date=MARKET.valuation_date)
    scen = shocks.from_dict({"scenario": [
        {"name": f"s{k}", "rates": {"ALL": {"parallel_bp": -fall}},
         "spreads": {"by": "sector", "bp": {"financials": fall + 300.0}}}
        for k, fall in enumerate(np.linspace(5500.0, 8000.0, 64))
    ]}, "<extreme offsetting shocks>")
    prepared = prepare(book, MARKET, spread_by=scen.spread_attributes)
    _assert_same_worst(prepared, _resolved(prepared, scen), 1)


def test_bounds_of_rows_without_cashflows_leave_the_others_alone() -> None:
    """Rows without cashflows (none reach the kernels today) are not prunable and do not
    shift the per-row sums of their neighbours."""
    prepared = prepare(workloads.book(5, seed=1), MARKET)
    cf = prepared.cashflows
    n = len(cf.node)
    # An empty row in front of the last and one at the end.
    offsets = np.concatenate([cf.offsets[:-1], [cf.offsets[-2], n, n]])
    gapped = dataclasses.replace(prepared, cashflows=cf._replace(
        offsets=offsets, pv_before=np.append(cf.pv_before, [0.0, 0.0])))
    a, b = prepared.bounds, gapped.bounds
    rows = len(cf.offsets) - 1
    keep = np.r_[0 : rows - 1, rows]  # the original rows in the gapped layout
    np.testing.assert_array_equal(b.last_node[keep], a.last_node)
    np.testing.assert_array_equal(b.positive[keep], a.positive)
    np.testing.assert_array_equal(b.negative[keep], a.negative)
    assert not b.prunable[[rows - 1, rows + 1]].any()


def test_row_bounds_match_a_plain_reference() -> None:
    """``row_bounds`` against a row-by-row reading of the definition, on every instrument."""
    scen = workloads.credit_scenarios(2, seed=3)
    prepared = prepare(workloads.mixed_book(150, seed=3), MARKET,
                       spread_by=scen.spread_attributes)  # fmt: skip
    cf, bd = prepared.cashflows, prepared.bounds
    keys = list(zip(prepared.node_curve.tolist(), prepared.node_spread.tolist(), strict=True))
    for r in range(len(cf.offsets) - 1):
        pv = cf.pv[cf.offsets[r] : cf.offsets[r + 1]]
        nodes = cf.node[cf.offsets[r] : cf.offsets[r + 1]]
        assert np.isclose(bd.positive[r], math.fsum(pv[pv > 0]), rtol=1e-14, atol=0.0)
        assert np.isclose(bd.negative[r], math.fsum(pv[pv <= 0]), rtol=1e-14, atol=0.0)
        last = int(nodes.max())
        assert bd.last_node[r] == last
        # Prunable: every node of the row is in the run of equal keys that ends at its last.
        start = last
        while start > 0 and keys[start - 1] == keys[last]:
            start -= 1
        assert bd.prunable[r] == bool(nodes.min() >= start)
    assert bd.prunable.any() and not bd.prunable.all()  # FRN reset nodes sit elsewhere


def test_position_bounds_are_their_rows_bounds_read_per_position() -> None:
    """``Bounds.slot_node`` and ``slot_terms``, what the pass scans to rule positions out,
    against the rows' bounds read position by position in the pass's order: longs and shorts,
    and FRNs, swaps and futures, which the pass always prices (so they come first); then
    the order itself and the bounds of the rest against sums over the later slots."""
    scen = workloads.credit_scenarios(2, seed=3)
    prepared = prepare(workloads.mixed_book(400, seed=5), MARKET,
                       spread_by=scen.spread_attributes)  # fmt: skip
    bd, book, cf = prepared.bounds, prepared.book, prepared.cashflows
    assert sorted(bd.order.tolist()) == list(range(book.n_positions))
    shorts = 0
    gross = []
    for j, i in enumerate(bd.order.tolist()):
        r = int(prepared.cashflow_row[i])
        if book.form[i] != CASHFLOWS or not bd.prunable[r]:
            assert bd.slot_node[j] == -1
            assert not gross  # before every bounded position
            assert bd.rest[j, 0] == np.inf
            continue
        assert bd.slot_node[j] == bd.last_node[r]
        sc, x0 = float(book.scale[i]), float(book.fx0[i])
        p, n = float(bd.positive[r]) * sc * x0, float(bd.negative[r]) * sc * x0
        v0 = sc * float(cf.pv_before[r]) * x0
        # A long position is worth least where its positive cashflows are worth least.
        want = [p, n] if sc >= 0 else [n, p]
        want += [BOUND_SLACK * (abs(p) + abs(n)), v0 + BOUND_SLACK * abs(v0)]
        assert bd.slot_terms[j].tolist() == want
        gross.append((-(want[0] - want[1]), i))
        shorts += sc < 0
    assert gross == sorted(gross)  # largest gross value first, ties in book order
    assert shorts and (bd.slot_node >= 0).any() and (bd.slot_node < 0).any()
    first = int(np.argmax(bd.slot_node >= 0))
    t = bd.slot_terms
    for j in range(first, book.n_positions):
        later = t[j:]
        assert bd.rest[j, 0] == later[0, 0] - later[0, 1] == (later[:, 0] - later[:, 1]).max()
        assert bd.rest[j, 1] == (later[:, 0] + later[:, 1] - later[:, 3]).min()
        assert bd.rest[j, 2] == later[:, 2].max()
