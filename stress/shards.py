"""A run cut into tasks: shards of consecutive positions (x chunks of scenarios), each laid out
and revalued on its own, anywhere: in this process, or on a Dask worker.

A task receives plain data (the shard's validated positions, the market, the scenarios already
placed on the market for the whole book, the shard's group codes) and runs the same kernels as
a single-process run. Its raw sums are the single-process run's sums of that shard (which
forms its sums shard by shard, ``stress.evaluate``), and the client adds them in shard order,
so the totals are the same bit for bit; worst positions merge by keeping the lowest P&Ls,
earlier positions first on ties. Per-position detail is written by the task itself, one file
per task, never sent back.

Nothing here imports Dask: ``stress.cluster`` runs these functions on a cluster.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio
from stress.evaluate import RawSums, evaluate, first_broken, keep_lowest, worst_positions
from stress.groups import Groupings
from stress.kernels.scenarios import (
    D_PNL,
    DETAIL,
    N_DETAIL,
    N_METRICS,
)
from stress.market import Market
from stress.prepare import Prepared, prepare
from stress.resolve import ResolvedShocks
from stress.totals import ShardTotals, shard_totals

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Layouts a process keeps for a summary run's second pass (the worst positions of the chosen
#: scenarios, ES components), in bytes; shards beyond it are laid out again when needed (a
#: layout costs more than the sums). None: PREPARED_CACHE_SHARE of the Dask worker's memory
#: limit, or of this machine's memory outside a cluster (a single-process summary run holds
#: the whole book's layout too).
PREPARED_CACHE_BYTES: int | None = None
PREPARED_CACHE_SHARE = 0.5


@dataclass(frozen=True)
class Shared:
    """What every task of a run reads (shipped to each worker once).

    ``key`` identifies the run's inputs (a hash): a worker's cached layouts are only reused
    for the same key. ``shocks`` are the scenarios on the market for the whole book's curves
    and currencies: each shard takes its own columns, so every shard interpolates on the same
    grid as a single-process run.
    """

    key: str
    market: Market
    shocks: ResolvedShocks
    scenario_names: tuple[str, ...]
    group_names: tuple[str, ...]
    group_labels: tuple[tuple[str, ...], ...]
    worst: int
    detail: bool
    by_position: bool
    chunk_size: int | None
    keep: bool
    fmt: str = "parquet"
    #: Also each shard's key-rate DV01 table (``stress.reportdata.key_rate_dv01``).
    key_rates: bool = False


@dataclass(frozen=True)
class Shard:
    """Positions ``first:first + len(portfolio)`` of the book, with their group codes: shard
    ``index`` of ``size`` positions, or with ``count`` > 1 that many consecutive shards, laid
    out and summed in one call (each shard's sums still apart)."""

    index: int
    first: int
    portfolio: Portfolio
    codes: IntArray
    size: int = 0
    count: int = 1

    def groups(self, shared: Shared) -> Groupings:
        return Groupings(shared.group_names, shared.group_labels, self.codes)


def join(shards: Sequence[Shard]) -> Shard:
    """Consecutive shards as one task's positions."""
    if len(shards) == 1:
        return shards[0]
    first = shards[0]
    frame = pl.concat([sh.portfolio.frame for sh in shards], rechunk=True)
    return Shard(
        first.index,
        first.first,
        Portfolio(frame, first.portfolio.source, first.portfolio.attributes),
        np.ascontiguousarray(np.concatenate([sh.codes for sh in shards])),
        first.size,
        len(shards),
    )


def cut(
    portfolio: Portfolio, groups: Groupings, shard_positions: int
) -> list[Shard]:
    """The book as shards of ``shard_positions`` consecutive positions (one empty shard for an
    empty book), each with its slice of the whole book's group codes."""
    n = len(portfolio)
    bounds = [(lo, min(n, lo + shard_positions)) for lo in range(0, n, shard_positions)] or [
        (0, 0)
    ]
    frame = portfolio.frame
    return [
        Shard(
            k,
            lo,
            Portfolio(frame[lo:hi], portfolio.source, portfolio.attributes),
            np.ascontiguousarray(groups.codes[lo:hi]),
            shard_positions,
        )
        for k, (lo, hi) in enumerate(bounds)
    ]


@dataclass(frozen=True)
class Partial:
    """One task's results for one shard: for scenarios ``lo:hi`` its worst positions (indices
    into the whole book; for no scenarios when the run finds them in a second pass) and the
    detail file it wrote, and with the first scenarios its node weights (``totals``) and its
    key-rate table."""

    shard: int
    lo: int
    hi: int
    raw: RawSums
    part: str | None = None
    rows: int = 0
    key_rates: pl.DataFrame | None = None
    totals: ShardTotals | None = None


@dataclass(frozen=True)
class Finish:
    """A shard's second pass: the worst positions of the chosen scenarios, and per ES level
    its positions' components."""

    shard: int
    worst: RawSums
    components: dict[float, FloatArray]


# --------------------------------------------------------------------------- layouts


_cache: OrderedDict[tuple[str, int, int], tuple[Prepared, int]] = OrderedDict()
_cache_lock = threading.Lock()


def prepared_shard(shared: Shared, shard: Shard) -> Prepared:
    """The shard laid out on the market (from this process's cache when a task of the same
    run laid it out here before)."""
    key = (shared.key, shard.index, shard.count)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit[0]
    prepared = prepare(shard.portfolio, shared.market, spread_by=shared.shocks.spread_attributes)
    if shared.keep:
        size = _nbytes(prepared)
        with _cache_lock:
            for old in [k for k in _cache if k[0] != shared.key]:
                del _cache[old]
            # Keep the first layouts that fit: a second pass over the shards in order then
            # finds the early ones here and lays out only the rest again.
            if sum(v[1] for v in _cache.values()) + size <= _cache_budget():
                _cache[key] = (prepared, size)
    return prepared


def _cache_budget() -> int:
    if PREPARED_CACHE_BYTES is not None:
        return PREPARED_CACHE_BYTES
    limit = 0
    dist = sys.modules.get("distributed")  # only where Dask already runs this task
    if dist is not None:
        try:
            limit = int(dist.get_worker().memory_manager.memory_limit or 0)
        except (ValueError, AttributeError):
            limit = 0
    if not limit:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(limit * PREPARED_CACHE_SHARE)


def forget(key: str) -> None:
    """Drop this process's cached layouts of the run ``key``."""
    with _cache_lock:
        for old in [k for k in _cache if k[0] == key]:
            del _cache[old]


def _nbytes(obj: Any, depth: int = 0) -> int:
    """Bytes of the arrays held by ``obj`` (records, dataclasses, tuples of arrays)."""
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if depth > 4:
        return 0
    if isinstance(obj, tuple):
        return sum(_nbytes(x, depth + 1) for x in obj)
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields is not None:
        return sum(_nbytes(getattr(obj, f), depth + 1) for f in fields)
    return 0


def _shocks_for(shared: Shared, prepared: Prepared, lo: int, hi: int) -> ResolvedShocks:
    """Scenarios ``lo:hi`` for the shard's own curves and currencies (their columns of the
    whole book's arrays)."""
    sh = shared.shocks
    book = prepared.book
    ci = [sh.curves.index(c) for c in book.currencies]
    xi = [sh.currencies.index(c) for c in book.position_currencies]
    return ResolvedShocks(
        tuple(book.currencies),
        tuple(book.position_currencies),
        sh.times,
        np.ascontiguousarray(sh.shift_bp[lo:hi][:, ci]),
        np.ascontiguousarray(sh.fx_multiplier[lo:hi][:, xi]),
        np.ascontiguousarray(sh.gold_multiplier[lo:hi]),
        sh.spreads.select(np.arange(lo, hi)) if sh.spreads is not None else None,
    )


def _select(shocks: ResolvedShocks, idx: IntArray) -> ResolvedShocks:
    return shocks.select(idx)


def _globalize(raw: RawSums, first: int) -> RawSums:
    """The worst positions as indices into the whole book."""
    worst = np.where(raw.worst >= 0, raw.worst + first, -1)
    return RawSums(raw.sums, worst, raw.worst_pnl, raw.worst_detail)


# --------------------------------------------------------------------------- tasks


def sums_task(
    shared: Shared, shard: Shard, lo: int, hi: int, parts: str | None = None
) -> list[Partial]:
    """One shard (or ``shard.count`` consecutive ones, laid out in one call): from the first
    scenarios on (``lo`` = 0) each shard's node weights, merged by the client in shard order
    into the book's totals; when the run finds worst positions for every scenario (one shard
    per task then), the worst positions of scenarios ``lo:hi``, and with ``parts`` (a
    directory) the per-position detail written there as one file."""
    prepared = prepared_shard(shared, shard)
    size = shard.size or max(len(shard.portfolio), 1)
    groups = shard.groups(shared)
    raw = RawSums.unfound(np.zeros((hi - lo, 0, N_METRICS)), hi - lo, shared.worst)
    name = None
    if shared.by_position:
        assert shard.count == 1
        writer = None
        if shared.detail and parts is not None:
            writer = DetailWriter(
                Path(parts),
                part_name(shard.index, lo, shared.fmt),
                shared.scenario_names[lo:hi],
                shard.portfolio.frame["position_id"],
                shared.fmt,
            )
        try:
            raw, _ = evaluate(
                prepared,
                _shocks_for(shared, prepared, lo, hi),
                groups,
                worst=shared.worst,
                detail=writer is not None,
                sink=writer,
                chunk_size=shared.chunk_size,
                shard_positions=size,
                sums=False,
            )
            name = writer.close() if writer is not None else None
        finally:
            if writer is not None:
                writer.abort()
        raw = _globalize(raw, shard.first)
    rows = len(shard.portfolio) * (hi - lo) if name is not None else 0
    tables: list[pl.DataFrame | None] = [None] * shard.count
    totals: list[ShardTotals | None] = [None] * shard.count
    if lo == 0:
        totals = list(shard_totals(prepared, groups, size))
        if shared.key_rates:
            from stress.analytics import book_analytics
            from stress.reportdata import key_rate_dv01_of

            table = book_analytics(prepared.book, prepared)
            tables = [key_rate_dv01_of(table[j * size : (j + 1) * size])
                      for j in range(shard.count)]  # fmt: skip
    return [
        Partial(shard.index + j, lo, hi, raw, name, rows, tables[j], totals[j])
        for j in range(shard.count)
    ]


def finish_task(
    shared: Shared, shard: Shard, chosen: IntArray, tails: dict[float, IntArray]
) -> Finish:
    """The second pass of one shard: its worst positions in the ``chosen`` scenarios, and for
    each ES level its positions' components (minus their mean P&L over the level's tail
    scenarios ``tails[level]``)."""
    prepared = prepared_shard(shared, shard)
    S = len(shared.scenario_names)
    all_shocks = _shocks_for(shared, prepared, 0, S)
    worst = worst_positions(
        prepared, _select(all_shocks, chosen), shared.worst, shared.chunk_size
    )
    components: dict[float, FloatArray] = {}
    if tails:
        union = np.unique(np.concatenate(list(tails.values())))
        n_p = prepared.book.n_positions
        one = Groupings.total(n_p)
        _, detail = evaluate(prepared, _select(all_shocks, union), one, worst=0, detail=True)
        assert detail is not None
        pnl = detail[D_PNL].reshape(len(union), n_p).T  # scenario-major
        components = {
            a: -pnl[:, np.searchsorted(union, idx)].mean(axis=1) for a, idx in tails.items()
        }
    return Finish(shard.index, _globalize(worst, shard.first), components)


def broken_task(shared: Shared, shard: Shard, s: int) -> int:
    """The first position of the shard (index into the whole book) whose figures under
    scenario ``s`` are not finite numbers, or -1 (``stress.evaluate.check_finite``)."""
    prepared = prepared_shard(shared, shard)
    shocks = _shocks_for(shared, prepared, s, s + 1)
    one = Groupings.total(prepared.book.n_positions)
    _, detail = evaluate(prepared, shocks, one, worst=0, detail=True)
    assert detail is not None
    broken = first_broken(detail)
    return shard.first + broken if broken >= 0 else -1


# --------------------------------------------------------------------------- merging


def merge_worst(earlier: RawSums, later: RawSums) -> RawSums:
    """The K lowest P&Ls of two lists of worst positions per scenario (``earlier`` holding
    positions that come before ``later``'s in the book): ties keep the earlier position
    first, as a single pass over the whole book does."""
    k = earlier.worst.shape[1]
    if k == 0:
        return earlier
    worst, pnl, detail = keep_lowest(
        np.concatenate([earlier.worst, later.worst], axis=1),
        np.concatenate([earlier.worst_pnl, later.worst_pnl], axis=1),
        np.concatenate([earlier.worst_detail, later.worst_detail], axis=1),
        k,
    )
    return RawSums(earlier.sums, worst, pnl, detail)


# --------------------------------------------------------------------------- detail files


def part_name(shard: int, lo: int, fmt: str) -> str:
    """The file of one task's per-position detail: shard, then first scenario."""
    return f"part-{shard:06d}-{lo:07d}.{fmt}"


class DetailWriter:
    """Writes one task's per-position detail into one file, chunk by chunk of scenarios
    (Parquet: one row group each), under a temporary name renamed into place when complete:
    a killed task leaves no file that looks whole.

    Columns: ``scenario`` and ``position_id`` (text), then every detail column (``DETAIL``);
    rows scenario-major (every position of a scenario, then the next scenario).
    """

    def __init__(
        self, directory: Path, name: str, scenarios: tuple[str, ...], ids: pl.Series, fmt: str
    ) -> None:
        self.path = directory / name
        self.tmp = directory / f".{name}.{os.getpid()}-{threading.get_ident()}.tmp"
        self.scenarios = pl.Series("scenario", list(scenarios), dtype=pl.String)
        self.ids = ids.cast(pl.String).alias("position_id")
        self.fmt = fmt
        self._writer: Any = None
        self._file: Any = None
        directory.mkdir(parents=True, exist_ok=True)

    def __call__(self, lo: int, hi: int, block: FloatArray) -> None:
        n, m = len(self.ids), hi - lo
        frame = pl.DataFrame(
            {
                "scenario": self.scenarios[lo:hi].gather(np.repeat(np.arange(m), n)),
                "position_id": self.ids.gather(np.tile(np.arange(n), m)),
                **{c: block[i] for i, c in enumerate(DETAIL)},
            }
        )
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if self._writer is None:
                # Dictionary pages for the two text columns only: trying them on the numbers
                # (and failing, they are all distinct) costs five times the write.
                self._writer = pq.ParquetWriter(
                    self.tmp, table.schema, use_dictionary=["scenario", "position_id"]
                )
            self._writer.write_table(table)
        else:
            if self._file is None:
                self._file = open(self.tmp, "wb")  # noqa: SIM115 (closed in close/abort)
            frame.write_csv(self._file, include_header=self._file.tell() == 0)

    def close(self) -> str:
        """Finish the file and move it into place; returns its name."""
        if self._writer is None and self._file is None:
            self(0, 0, np.empty((N_DETAIL, 0)))  # no rows: a file with the columns alone
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._file is not None:
            self._file.close()
            self._file = None
        # On disk before its name: the task's sums, saved next, mark it done for a resume.
        with open(self.tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.path)
        return self.path.name

    def abort(self) -> None:
        """Remove a file not finished (no-op after ``close``)."""
        for handle in (self._writer, self._file):
            if handle is not None:
                handle.close()
        self._writer = self._file = None
        self.tmp.unlink(missing_ok=True)
