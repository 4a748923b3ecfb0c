"""The evaluator: run the kernels over a prepared book, chunk by chunk of scenarios, and return
raw sums per (scenario, group, metric) and the worst positions, nothing derived.

The sums come from node weights, which add up over disjoint sets of positions (``stress.totals``
merges a book's shards'), and worst positions merge by keeping the lowest P&Ls, so a result
over shards of a book is their weights merged plus a merge of their worst positions.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import get_num_threads

from shocks.model import ScenarioSet
from stress.groups import Groupings
from stress.kernels.scenarios import (
    BLOCK,
    D_CONVEXITY_AFTER,
    D_CONVEXITY_BEFORE,
    D_DURATION_AFTER,
    D_DURATION_BEFORE,
    D_PNL,
    D_SPREAD_DURATION_AFTER,
    D_SPREAD_DURATION_BEFORE,
    N_DETAIL,
    N_METRICS,
    PNL_CROSS,
    PNL_FX,
    PNL_GOLD,
    PNL_RATES,
    PNL_SPREAD,
    POSITION_TILE,
    CurveShifts,
    Outputs,
    Positions,
    Shocks,
    TaylorRuns,
    group_sums,
    group_sums_serial,
    stress_positions,
    stress_positions_serial,
    taylor_runs,
)
from stress.pages import float_pages
from stress.prepare import Prepared, prepare_book
from stress.resolve import ResolvedShocks
from stress.risk import tail
from stress.totals import Totals, kept_totals
from stress.work import run_work, sums_work, threaded

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Memory budget for a chunk's per-node, per-scenario discount multipliers and shifts (bytes).
CHUNK_BYTES = 256 * 2**20
#: Memory budget for one chunk's per-position detail when it is streamed to a sink (bytes).
DETAIL_CHUNK_BYTES = 128 * 2**20
#: A block of the pass over positions computes every node's multiplier and shift for its
#: scenarios into a table the positions then read at random: above this size the block
#: covers half as many scenarios.
TABLE_BYTES = 8 * 2**20
#: Positions per shard. Node weights are formed per shard, then merged in shard order
#: (``stress.totals``), so a run split over processes or machines (one task per shard) gives
#: the same numbers as one process.
SHARD_POSITIONS = 50_000
#: The cost of a task of the pass over positions (``position_parts``), per block of 16
#: scenarios on one thread, in microseconds: fixed per node (the block's multipliers and, in
#: summary mode, its bounds' tables and seed positions) and per position (priced with every
#: detail column, or in summary mode mostly ruled out by its bound). Measured on the dense
#: book: 10k bonds in positions mode, 0.6 ms of tables (13k nodes) and 18 ms of pricing a
#: block; 1M bonds in summary mode, 2.0 ms fixed (15k nodes) and 9.4 ms of scan.
NODE_US = {True: 0.05, False: 0.13}
POSITION_US = {True: 1.8, False: 0.0094}


#: Receives the per-position detail of scenarios ``lo:hi`` as an (N_DETAIL, (hi - lo) x
#: positions) array, scenario-major (row s x positions + i is position i under scenario
#: lo + s); the array is reused for the next chunk.
DetailSink = Callable[[int, int, FloatArray], None]


class NumericalError(ValueError):
    """A result that is not a finite number: inputs so extreme that the arithmetic overflows."""


@dataclass(frozen=True)
class RawSums:
    """The scenario pass's output for S scenarios.

    ``sums[s, group, metric]`` over the groups of every grouping (metrics named in
    ``stress.kernels.scenarios.METRICS``, base currency); ``worst[s, k]`` the k-th lowest-P&L
    position (index into the book, -1 when the book has fewer positions), ``worst_pnl`` its P&L
    and ``worst_detail[s, k, column]`` its detail columns (``DETAIL``).
    """

    sums: FloatArray
    worst: IntArray
    worst_pnl: FloatArray
    worst_detail: FloatArray

    @classmethod
    def unfound(cls, sums: FloatArray, n_scenarios: int, worst: int) -> RawSums:
        """``sums`` beside room for ``worst`` positions of ``n_scenarios`` scenarios, none
        found yet (-1, +inf P&L, zero detail). The detail of a slot without a position is
        never read; left zero, its pages are not touched until a position fills them (a
        million scenarios whose 100 worst get positions: 1.6 GB of NaN written before)."""
        return cls(
            sums,
            np.full((n_scenarios, worst), -1, dtype=np.int64),
            np.full((n_scenarios, worst), np.inf),
            np.zeros((n_scenarios, worst, N_DETAIL)),
        )


def keep_lowest(
    worst: IntArray, pnl: FloatArray, detail: FloatArray, k: int
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per scenario (row), the ``k`` lowest P&Ls of lists of worst positions laid side by
    side (axis 1), ordered by P&L, then position, as one pass over the whole book keeps them
    (``_keep_worst``). Empty slots (+inf, -1) sort last: a P&L is finite."""
    order = np.lexsort((worst, pnl), axis=1)[:, :k]
    rows = np.arange(len(pnl))[:, None]
    return worst[rows, order], pnl[rows, order], detail[rows, order]


def evaluate(
    prepared: Prepared,
    shocks: ResolvedShocks,
    groups: Groupings,
    *,
    worst: int = 10,
    worst_scenarios: int | None = None,
    detail: bool = False,
    sink: DetailSink | None = None,
    chunk_size: int | None = None,
    shard_positions: int | None = None,
    sums: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[RawSums, FloatArray | None]:
    """Revalue every position of ``prepared`` under every scenario of ``shocks``.

    The sums per group come from per-node weights, without a pass over positions. A pass over
    positions finds each scenario's worst positions: for every scenario with ``detail`` (which
    also returns every position's detail columns as an array (N_DETAIL, scenarios x
    positions), scenario-major), otherwise for the ``worst_scenarios`` scenarios of lowest
    P&L (None: all of them); the other scenarios have no worst positions (-1).

    Args:
        worst: how many lowest-P&L positions to keep per scenario.
        sink: with ``detail``, receives the detail chunk by chunk of scenarios instead of one
            array for the whole run (which is then not returned): memory stays bounded by
            DETAIL_CHUNK_BYTES whatever the number of positions and scenarios.
        chunk_size: scenarios per chunk (default: sized to keep work arrays near CHUNK_BYTES).
        shard_positions: positions per shard (default SHARD_POSITIONS): the sums come from
            node weights formed per shard and merged in shard order (``stress.totals``).
        sums: False for no sums (``sums`` has no groups) and no pass that needs them: a task
            of a split run, whose client sums the merged weights of every shard.
        progress: called with (scenarios done, total) after each chunk.
    """
    if not set(shocks.spread_attributes) <= set(prepared.spread_by):
        # The book's shock buckets do not follow these spread attributes: lay it out for them.
        # A layout by more attributes (that of a whole set, of which these scenarios are a
        # part) is kept: a scenario's figures must not depend on the others it runs with.
        log.debug("laying the book out again for spread shifts by %s", shocks.spread_attributes)
        prepared = prepare_book(prepared.book, shocks.spread_attributes)
    book = prepared.book
    n_p, S = book.n_positions, len(shocks.gold_multiplier)
    if chunk_size is None:
        chunk_size = _default_chunk(prepared.n_nodes)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    streaming = detail and sink is not None
    if streaming:
        chunk_size = min(chunk_size, max(1, DETAIL_CHUNK_BYTES // (8 * N_DETAIL * max(n_p, 1))))
    chunk_size = max(min(chunk_size, S), 1)
    # The sums come from the shards' node weights, merged in shard order.
    totals = kept_totals(prepared, groups, check_shard_positions(shard_positions)) if sums else None
    out_sums = np.empty((S, groups.n_groups if sums else 0, N_METRICS))
    raw = RawSums.unfound(out_sums, S, worst)
    out_detail = float_pages((N_DETAIL, n_p * S)) if detail and not streaming else np.empty((0, 0))
    # A streamed chunk's detail goes to one flat buffer, viewed contiguous for each chunk.
    buffer = np.empty(N_DETAIL * n_p * chunk_size) if streaming else np.empty(0)
    by_position = detail or worst_scenarios is None or worst_scenarios >= S
    segments = _day_segments(shocks.times, prepared.last_day)
    for lo in range(0, S, chunk_size):
        hi = min(S, lo + chunk_size)
        idx = np.arange(lo, hi)
        cs = _curve_shifts(shocks, idx, segments, prepared.spread_by, prepared.spread_labels)
        if totals is not None:
            _sum_chunk(totals, cs, out_sums[lo:hi])
        if streaming:
            # This chunk's detail alone, scenario-major: row s x positions + i.
            block = buffer[: N_DETAIL * n_p * (hi - lo)].reshape(N_DETAIL, n_p * (hi - lo))
            _positions_pass(prepared, *_shocks(prepared, shocks, idx, segments, cs), raw, idx,
                            block, 0, n_p)  # fmt: skip
            assert sink is not None
            sink(lo, hi, block)
        elif by_position and (worst or detail):
            _positions_pass(prepared, *_shocks(prepared, shocks, idx, segments, cs), raw, idx,
                            out_detail, lo, n_p)  # fmt: skip
        if progress is not None:
            progress(hi, S)
        log.debug("scenarios %d-%d of %d done", lo, hi, S)
    if not by_position and worst and worst_scenarios and sums:
        # The worst positions of the worst scenarios only: a second, small pass.
        chosen = np.sort(np.argsort(total_pnl(raw), kind="stable")[:worst_scenarios])
        for lo in range(0, len(chosen), chunk_size):
            idx = chosen[lo : lo + chunk_size]
            _positions_pass(prepared, *_shocks(prepared, shocks, idx, segments), raw, idx,
                            out_detail, 0, 0)  # fmt: skip
    return raw, (out_detail if detail and not streaming else None)


def check_shard_positions(shard_positions: int | None) -> int:
    """The shard size to use: ``shard_positions``, or SHARD_POSITIONS (read when called)."""
    return check_count("shard_positions", SHARD_POSITIONS if shard_positions is None
                       else shard_positions, 1)  # fmt: skip


def check_count(name: str, value: object, minimum: int) -> int:
    """``value`` as an int when it is a whole number (not a bool) of ``minimum`` or more."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}: got {value!r}; expected a whole number of {minimum} or more")
    return int(value)


def worst_positions(
    prepared: Prepared,
    shocks: ResolvedShocks,
    worst: int,
    chunk_size: int | None = None,
) -> RawSums:
    """Only the worst positions of every scenario of ``shocks`` (``RawSums.sums`` is empty):
    the second pass of a summary run, for the scenarios it chose."""
    S = len(shocks.gold_multiplier)
    raw = RawSums.unfound(np.empty((S, 0, N_METRICS)), S, worst)
    if chunk_size is None:
        chunk_size = _default_chunk(prepared.n_nodes)
    chunk_size = max(min(chunk_size, S), 1)
    if worst and prepared.book.n_positions:
        segments = _day_segments(shocks.times, prepared.last_day)
        for lo in range(0, S, chunk_size):
            idx = np.arange(lo, min(S, lo + chunk_size))
            _positions_pass(prepared, *_shocks(prepared, shocks, idx, segments), raw, idx,
                            np.empty((0, 0)), 0, 0)  # fmt: skip
    return raw


def _day_segments(grid: FloatArray, last_day: int) -> IntArray:
    """For days 0..last_day: the interval of ``grid`` each falls in, as ``interp.bracket``
    places its time day/365 (0: at or before grid[0]; k: grid[k-1] <= t < grid[k]; K: at or
    after the last point). Read-only: kept for the next run on the same grid."""
    return _segments(grid.tobytes(), last_day)


@functools.lru_cache(maxsize=16)
def _segments(grid_bytes: bytes, last_day: int) -> IntArray:
    # Keyed by the grid's bytes: a session prices each what-if on the same grid, and the
    # search over every day to maturity is a tenth of a trade's evaluation.
    grid = np.frombuffer(grid_bytes, dtype=np.float64)
    t = np.arange(last_day + 1, dtype=np.int64) / 365.0
    k = len(grid)
    seg = np.searchsorted(grid, t, side="right").astype(np.int64)
    seg[t <= grid[0]] = 0
    seg[t >= grid[-1]] = k
    seg.flags.writeable = False
    return seg


def sum_totals(
    totals: Totals, shocks: ResolvedShocks, spread_by: Sequence[str],
    labels: Sequence[Sequence[str]], out: FloatArray, chunk_size: int | None = None,
) -> None:  # fmt: skip
    """The sums per (scenario, group) of ``totals`` under every scenario of ``shocks`` into
    ``out`` (S, groups, N_METRICS), chunk by chunk; the spread lines ``labels`` by the
    attributes ``spread_by``, as the totals index them."""
    S = len(shocks.gold_multiplier)
    step = chunk_size or max(1, _default_chunk(len(totals.weights.day)))
    segments = _day_segments(shocks.times, totals.last_day)
    for lo in range(0, S, step):
        idx = np.arange(lo, min(S, lo + step))
        _sum_chunk(totals, _curve_shifts(shocks, idx, segments, spread_by, labels),
                   out[lo : lo + len(idx)])  # fmt: skip


def _default_chunk(n_nodes: int) -> int:
    """Scenarios per chunk by default: a chunk's multipliers and shifts take 16 bytes per node
    and scenario, kept near CHUNK_BYTES."""
    return CHUNK_BYTES // (16 * max(n_nodes, 1))


def _sum_chunk(totals: Totals, cs: CurveShifts, out: FloatArray) -> None:
    w = totals.weights
    n_blocks = -(-out.shape[0] // BLOCK)
    parallel = threaded(sums_work(len(w.group), len(w.day), out.shape[0]), n_blocks,
                        loaded=bool(group_sums.overloads))
    (group_sums if parallel else group_sums_serial)(n_blocks, w, totals.values, totals.futures,
                                                    cs, out)  # fmt: skip


def _shocks(
    prepared: Prepared, shocks: ResolvedShocks, idx: IntArray, segments: IntArray,
    cs: CurveShifts | None = None,
) -> tuple[CurveShifts, Shocks]:  # fmt: skip
    """The positions pass's record of scenarios ``idx``: each block of ``lanes`` scenarios
    computes every node's multiplier into a table of about TABLE_BYTES. ``cs``: the
    scenarios' curve shifts when the caller has them already."""
    # Measured with multipliers walked day by day (10k bonds, 53k nodes): 16 lanes 3.0 s,
    # 8 lanes 2.4 s, 4 lanes 3.9 s, 1 lane 15 s. Computed per node (dense 10k bonds, 13k
    # nodes, a 3.4 MB table at 16 lanes): 16 lanes 1.35 s, 8 lanes 1.47 s.
    lanes = BLOCK if 16 * BLOCK * prepared.n_nodes <= TABLE_BYTES else BLOCK // 2
    sh = Shocks(
        node_day=prepared.node_day,
        node_curve=prepared.node_curve,
        node_spread=prepared.node_spread,
        node_sday=prepared.node_sday,
        lanes=lanes,
        gold_before=prepared.book.market.gold_usd or 0.0,
    )
    if cs is None:
        cs = _curve_shifts(shocks, idx, segments, prepared.spread_by, prepared.spread_labels)
    return cs, sh


def position_parts(
    n_blocks: int, n_positions: int, n_nodes: int, detail: bool, threads: int
) -> int:
    """How many parts of the book each block of the pass is split into, each (block, part) a
    task. A thread runs ceil(tasks / threads) tasks one after another, each costing the
    block's fixed work and its part's positions (``NODE_US``, ``POSITION_US``): the count of
    least time, where it saves a twentieth or more. Seven blocks on two threads take four
    blocks' time unsplit and three and a half split in two; one block (a one-scenario run,
    a chunk of a streamed shard) half of its time split in two."""
    fixed = NODE_US[detail] * n_nodes
    per_position = POSITION_US[detail] * n_positions
    best, least = 1, -(-n_blocks // threads) * (fixed + per_position)
    for parts in range(2, min(threads, n_positions // POSITION_TILE) + 1):
        cost = -(-n_blocks * parts // threads) * (fixed + per_position / parts)
        if cost < 0.95 * least:
            best, least = parts, cost
    return best


def part_starts(n_positions: int, parts: int) -> IntArray:
    """The first position of each of ``parts`` parts of the book, then ``n_positions``: near
    equal, each a whole number of POSITION_TILE (the detail's tiles stay aligned)."""
    cuts = [round(n_positions * p / parts / POSITION_TILE) * POSITION_TILE
            for p in range(parts)]  # fmt: skip
    return np.array([*cuts, n_positions], dtype=np.int64)


def _taylor_runs(prepared: Prepared, grid: FloatArray, segments: IntArray) -> TaylorRuns:
    """The cashflow rows' TaylorRuns on ``segments``, the day segments of ``grid``: kept on
    ``prepared`` for the next chunk and the next run on the same grid (at 1M positions they
    are a pass over 35M cashflows)."""
    key = grid.tobytes()
    kept = prepared.memo.get("taylor")
    if isinstance(kept, tuple) and kept[0] == key:
        runs: TaylorRuns = kept[1]
        return runs
    cf = prepared.cashflows
    n_rows = len(cf.offsets) - 1
    count = np.empty(n_rows, dtype=np.int64)
    args = (cf.offsets, cf.node, prepared.node_day, prepared.node_curve, segments, cf.pv_t,
            cf.pv_t2)  # fmt: skip
    none_i, none_f = np.empty(0, dtype=np.int64), np.empty(0)
    taylor_runs(*args, False, count, TaylorRuns(none_i, none_i, none_i, *(none_f,) * 5))
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    n = int(offsets[-1])
    runs = TaylorRuns(offsets, np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
                      *(np.empty(n) for _ in range(5)))  # fmt: skip
    taylor_runs(*args, True, count, runs)
    prepared.memo["taylor"] = (key, runs)
    return runs


def _curve_shifts(
    shocks: ResolvedShocks, idx: IntArray, segments: IntArray, spread_by: Sequence[str],
    labels: Sequence[Sequence[str]],
) -> CurveShifts:  # fmt: skip
    spread = (
        shocks.select(idx).spread_shift(spread_by, labels)
        if spread_by
        else np.zeros((len(idx), 0))
    )
    return CurveShifts(
        grid=shocks.times,
        shift_bp=np.ascontiguousarray(shocks.shift_bp[idx]),
        segment=segments,
        fx_multiplier=np.ascontiguousarray(shocks.fx_multiplier[idx]),
        gold_multiplier=np.ascontiguousarray(shocks.gold_multiplier[idx]),
        spread_bp=np.ascontiguousarray(spread, dtype=np.float64),
    )


def _positions_pass(
    prepared: Prepared,
    cs: CurveShifts,
    sh: Shocks,
    raw: RawSums,
    idx: IntArray,
    detail: FloatArray,
    detail_first: int,
    detail_stride: int,
) -> None:
    """Every position under scenarios ``idx`` (the rows of ``sh``): their worst positions
    into ``raw`` and, when ``detail`` is not empty, every position's detail columns."""
    book = prepared.book
    positions = Positions(
        form=book.form,
        scale=book.scale,
        fx_before=book.fx0,
        currency=book.currency_code,
        cashflow_row=prepared.cashflow_row,
    )
    n_p, n_s, n_worst = book.n_positions, len(idx), raw.worst.shape[1]
    n_blocks = -(-n_s // sh.lanes)
    parts = position_parts(n_blocks, n_p, prepared.n_nodes, detail.size > 0, get_num_threads())
    # Threads for two tasks or more (a single one runs on this thread: the pool would only
    # add its wake-up), and a book split only for them.
    parallel = threaded(run_work(len(prepared.cashflows.pv), n_p, n_s), n_blocks * parts,
                        loaded=bool(stress_positions.overloads))  # fmt: skip
    parts = parts if parallel else 1
    # Every list is filled by the pass (the lanes of its block): no need to clear them.
    out = Outputs(
        worst=np.empty((parts * n_s, n_worst), dtype=np.int64),
        worst_pnl=np.empty((parts * n_s, n_worst)),
        worst_detail=np.empty((parts * n_s, n_worst, N_DETAIL)),
        detail=detail,
        detail_first=detail_first,
        detail_stride=detail_stride,
    )
    (stress_positions if parallel else stress_positions_serial)(
        n_blocks, part_starts(n_p, parts), positions, prepared.cashflows,
        _taylor_runs(prepared, cs.grid, cs.segment), prepared.futures, cs, sh, prepared.bounds,
        out,
    )  # fmt: skip
    worst, pnl, kept = out.worst, out.worst_pnl, out.worst_detail
    if parts > 1:  # per scenario, the parts' lists side by side, merged by P&L, then position
        worst, pnl, kept = keep_lowest(np.concatenate(np.split(worst, parts), axis=1),
                                       np.concatenate(np.split(pnl, parts), axis=1),
                                       np.concatenate(np.split(kept, parts), axis=1),
                                       n_worst)  # fmt: skip
    raw.worst[idx], raw.worst_pnl[idx], raw.worst_detail[idx] = worst, pnl, kept


def first_broken(detail: FloatArray) -> int:
    """The first position (column of a one-scenario ``detail``) with a figure that is not a
    finite number, or -1. Durations and convexities are ratios, undefined (NaN) for gold and
    cash positions: not a sign of overflow, so they are not looked at."""
    ratios = [D_DURATION_BEFORE, D_DURATION_AFTER, D_CONVEXITY_BEFORE, D_CONVEXITY_AFTER,
              D_SPREAD_DURATION_BEFORE, D_SPREAD_DURATION_AFTER]  # fmt: skip
    broken = np.flatnonzero(~np.isfinite(np.delete(detail, ratios, axis=0)).all(axis=0))
    return int(broken[0]) if len(broken) else -1


def check_finite(
    raw: RawSums, prepared: Prepared, shocks: ResolvedShocks, scenarios: ScenarioSet
) -> None:
    """Raise NumericalError naming the first scenario and position whose figures are not
    finite numbers (validated inputs should never get here: this is the last guard)."""
    if np.isfinite(raw.sums).all():  # one flat pass: the per-scenario test costs more
        return
    bad = ~np.isfinite(raw.sums).all(axis=(1, 2))
    s = int(np.flatnonzero(bad)[0])
    one = Groupings.total(prepared.book.n_positions)
    _, detail = evaluate(prepared, shocks.select([s]), one, worst=0, detail=True)
    assert detail is not None
    broken = first_broken(detail)
    who = (
        f"position {prepared.book.portfolio.position_ids[broken]!r}"
        if broken >= 0
        else "the book's risk sums"
    )
    raise NumericalError(
        f"{scenarios.origins[s]}: scenario {scenarios.names[s]!r}: {who} has a value that is "
        "not a finite number (the shocks or positions are too extreme to compute); check the "
        "scenario's shifts and the position's notional and prices"
    )


def pnl_of(m: FloatArray) -> FloatArray:
    """The P&L of raw metrics ``m[metric, ...]``: the sum of its five parts, in the summary's
    order (so the figures agree to the bit)."""
    pnl: FloatArray = m[PNL_RATES] + m[PNL_SPREAD] + m[PNL_FX] + m[PNL_GOLD] + m[PNL_CROSS]
    return pnl


def total_pnl(raw: RawSums) -> FloatArray:
    """The book's P&L per scenario."""
    return pnl_of(raw.sums[:, 0, :].T)


def tail_components(
    prepared: Prepared, shocks: ResolvedShocks, raw: RawSums, levels: tuple[float, ...]
) -> dict[float, FloatArray]:
    """Per level, each position's component of the expected shortfall: minus its mean P&L over
    the level's tail scenarios (``stress.risk``). The positions are revalued once more, in
    the union of the tails only."""
    tails = {a: tail(total_pnl(raw), a) for a in levels}
    union = np.unique(np.concatenate(list(tails.values())))
    n_p = prepared.book.n_positions
    one = Groupings.total(n_p)
    _, detail = evaluate(prepared, shocks.select(union), one, worst=0, detail=True)
    assert detail is not None
    pnl = detail[D_PNL].reshape(len(union), n_p).T  # scenario-major
    return {a: -pnl[:, np.searchsorted(union, idx)].mean(axis=1) for a, idx in tails.items()}
