"""Sharded runs: a run as tasks over shards of positions (and chunks of scenarios), on an
executor (this process, or a Dask cluster: ``stress.cluster``), reduced in shard order, with
the work in progress kept on disk so that a killed run resumes where it stopped.

Phases:

1. Every task returns its shards' node weights (``stress.totals``) and, when the run finds
   worst positions for every scenario (one task per shard and scenario chunk then), the worst
   positions of its chunk, writing its detail file in positions mode. The client merges the
   weights in shard order, as a single-process run merges its shards', and sums every
   scenario over them, so the totals are the same bit for bit.
2. When the run needs them, one task per shard finds its worst positions in the scenarios of
   lowest total P&L and its positions' ES components; the lists merge by lowest P&L.

The work directory (``WorkDir``; ``.DIR.stress-work/`` beside ``--out DIR``) holds
``work.json`` (the inputs' hash), each finished task's results as ``.npz`` (``sums/``,
``finish/``) and the detail files (``positions/``). A run with the same inputs keeps what is
there; any other input starts afresh. Nothing in it is unpickled.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio
from shocks.model import ScenarioSet
from stress.coverage import warn_unmoved
from stress.dates import to_days
from stress.evaluate import (
    NumericalError,
    RawSums,
    check_shard_positions,
    sum_totals,
    total_pnl,
)
from stress.groups import Groupings, groupings
from stress.instruments import curves_of
from stress.io import OutputError
from stress.kernels.scenarios import N_DETAIL, N_METRICS
from stress.market import Market
from stress.resolve import ResolvedShocks, resolve
from stress.result import StressResult, build_result
from stress.risk import tail
from stress.shards import (
    Finish,
    Partial,
    Shard,
    Shared,
    broken_task,
    cut,
    finish_task,
    forget,
    join,
    merge_worst,
    part_name,
    sums_task,
)
from stress.totals import ShardTotals, from_arrays, merge, to_arrays

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Scenarios per task where tasks find every scenario's worst positions: a larger set is also
#: split by scenario (each chunk a task per shard).
TASK_SCENARIOS = 10_000
#: Format version of the work directory: another one is discarded. 4: a book's PV after
#: leaves its futures out (kept sums of version 3 counted them).
WORK_VERSION = 4
#: A summary run's task lays out up to this many consecutive shards (each shard's node weights
#: kept apart): fewer, larger tasks cost the scheduler and the transfers less. Fewer when the
#: run has too few shards to give every worker TASKS_PER_WORKER tasks.
MAX_TASK_SHARDS = 8
TASKS_PER_WORKER = 2


class Executor(Protocol):
    """Runs tasks: in this process (``SerialExecutor``) or on a cluster."""

    def share(self, obj: Any) -> Any:
        """A handle on ``obj`` for the tasks (shipped to the workers once)."""

    def scatter(self, objs: Sequence[Any]) -> list[Any]:
        """Handles on ``objs``, one each."""

    def run(
        self,
        fn: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        hints: Sequence[Any] | None = None,
    ) -> Iterator[tuple[int, Any, Any]]:
        """Call ``fn(*call)`` for every call; yield (call number, result, where it ran) as
        calls finish, in any order. ``hints`` are places (from earlier yields) to prefer."""

    def forget(self, key: str) -> None:
        """Drop the workers' cached layouts of the run ``key``."""

    def workers(self) -> int:
        """How many tasks run at once."""
        ...


class SerialExecutor:
    """Every task in this process, one after the other."""

    def share(self, obj: Any) -> Any:
        return obj

    def scatter(self, objs: Sequence[Any]) -> list[Any]:
        return list(objs)

    def run(
        self,
        fn: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        hints: Sequence[Any] | None = None,
    ) -> Iterator[tuple[int, Any, Any]]:
        for i, call in enumerate(calls):
            yield i, fn(*call), None

    def forget(self, key: str) -> None:
        forget(key)

    def workers(self) -> int:
        return 1


# --------------------------------------------------------------------------- the work directory


class WorkDir:
    """Finished tasks of a run kept on disk, for a run with the same inputs to resume from.

    ``key`` is the inputs' hash: a directory holding another key (or another layout version)
    is emptied first. One run at a time holds the directory (an exclusive lock).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: Any = None
        self.resumed = 0
        self.key = ""

    @classmethod
    def beside(cls, target: Path) -> WorkDir:
        """The work directory of output set ``target``: ``.NAME.stress-work`` beside it."""
        return cls(target.parent / f".{target.name}.stress-work")

    def open(self, key: str, meta: dict[str, Any]) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = open(self.path / "lock", "a+b")  # noqa: SIM115 (held until close)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot keep work here ({exc.strerror})") from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise OutputError(
                f"{self.path}: another run is working here (same --out); wait for it to end"
            ) from None
        self._lock = lock
        self.key = key
        try:
            self._prepare(key, meta)
        except OSError as exc:
            raise OutputError(f"{self.path}: the work kept here cannot be used ({exc}); remove "
                              "the directory to start afresh") from exc

    def _prepare(self, key: str, meta: dict[str, Any]) -> None:
        """Empty the directory of work for other inputs, and make its layout."""
        info = self._read_info()
        if info.get("key") != key or info.get("version") != WORK_VERSION:
            if info:
                log.info("inputs changed since the work in %s: starting afresh", self.path)
            for sub in ("sums", "finish", "positions"):
                shutil.rmtree(self.path / sub, ignore_errors=True)
            (self.path / "work.json").unlink(missing_ok=True)
        for sub in ("sums", "finish", "positions"):
            (self.path / sub).mkdir(exist_ok=True)
            # Files a killed run was writing.
            for p in (self.path / sub).glob(".*.tmp"):
                p.unlink(missing_ok=True)
        if not (self.path / "work.json").exists():
            self._write_json(
                "work.json",
                {
                    "version": WORK_VERSION,
                    "key": key,
                    "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    **meta,
                },
            )

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def remove(self) -> None:
        """The run is committed: its work is no longer needed."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    @property
    def parts(self) -> Path:
        return self.path / "positions"

    def _read_info(self) -> dict[str, Any]:
        try:
            data = json.loads((self.path / "work.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, self.path / name)

    def _save(self, sub: str, name: str, arrays: dict[str, Any]) -> None:
        tmp = self.path / sub / f".{name}.tmp"
        with open(tmp, "wb") as f:
            # The run's key in every file: a file of another run (copied here) is not this
            # run's, whatever its shapes.
            np.savez(f, key=self.key, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path / sub / name)

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    # phase 1
    def sums_name(self, shard: int, lo: int) -> str:
        return f"s{shard:06d}-{lo:07d}.npz"

    def has_sums(self, shard: int, lo: int, hi: int, part: str | None, n_groups: int,
                 worst: int) -> bool:  # fmt: skip
        """Whether the task is done: its results saved whole, for this shard and these
        scenarios ``lo:hi`` (with ``lo`` = 0 its node weights; after its detail file ``part``,
        which must hold the rows it recorded). A kept file that is damaged or not the task's
        is removed, and the task runs again."""
        path = self.path / "sums" / self.sums_name(shard, lo)

        def whole(z: dict[str, Any]) -> bool:
            n = hi - lo
            if (int(z["shard"]), int(z["lo"]), int(z["hi"])) != (shard, lo, hi) or (
                z["worst"].shape != (n, worst) or z["worst_detail"].shape != (n, worst, N_DETAIL)
                or (str(z["part"]) or None) != part
                or (lo == 0) != (from_arrays(z, n_groups) is not None)
            ):  # fmt: skip
                return False
            return part is None or _rows(self.parts / part) == int(z["rows"])

        return self._kept(path, whole)

    def save_sums(self, p: Partial) -> None:
        self._save(
            "sums",
            self.sums_name(p.shard, p.lo),
            {
                "shard": p.shard,
                "lo": p.lo,
                "hi": p.hi,
                "worst": p.raw.worst,
                "worst_pnl": p.raw.worst_pnl,
                "worst_detail": p.raw.worst_detail,
                "part": p.part or "",
                "rows": p.rows,
                **_frame_arrays("key_rates", p.key_rates),
                **(to_arrays(p.totals) if p.totals is not None else {}),
            },
        )

    def load_sums(self, shard: int, lo: int, n_groups: int) -> Partial:
        z = self._load(self.path / "sums" / self.sums_name(shard, lo))
        n = int(z["hi"]) - int(z["lo"])
        raw = RawSums(np.zeros((n, 0, N_METRICS)), z["worst"], z["worst_pnl"], z["worst_detail"])
        part = str(z["part"]) or None
        return Partial(int(z["shard"]), int(z["lo"]), int(z["hi"]), raw, part, int(z["rows"]),
                       _arrays_frame("key_rates", z), from_arrays(z, n_groups))  # fmt: skip

    # phase 2
    def finish_name(self, shard: int, count: int = 1) -> str:
        return f"f{shard:06d}-{count:04d}.npz"

    def has_finish(self, shard: int, count: int, n_scenarios: int, worst: int,
                   levels: Sequence[float]) -> bool:  # fmt: skip
        """Whether the second pass of shards ``shard:shard + count`` is done and kept whole
        (for ``n_scenarios`` scenarios and these ES levels); else as ``has_sums``."""
        path = self.path / "finish" / self.finish_name(shard, count)

        def whole(z: dict[str, Any]) -> bool:
            return (int(z["shard"]) == shard and z["worst"].shape == (n_scenarios, worst)
                    and z["worst_detail"].shape == (n_scenarios, worst, N_DETAIL)
                    and sorted(z["levels"].tolist()) == sorted(levels))  # fmt: skip

        return self._kept(path, whole)

    def _kept(self, path: Path, whole: Callable[[dict[str, Any]], bool]) -> bool:
        if not path.exists():
            return False
        try:
            z = self._load(path)
            ok = str(z["key"]) == self.key and whole(z)
        except Exception as exc:  # a damaged file fails in numpy, zipfile or on a missing key
            log.warning("%s: unreadable (%s): running its task again", path, exc)
            ok = None
        if ok is False:
            log.warning("%s: not the result of its task: running that task again", path)
        if not ok:
            path.unlink(missing_ok=True)
        return bool(ok)

    def save_finish(self, f: Finish, count: int = 1) -> None:
        arrays: dict[str, Any] = {
            "shard": f.shard,
            "worst": f.worst.worst,
            "worst_pnl": f.worst.worst_pnl,
            "worst_detail": f.worst.worst_detail,
            "levels": np.array(sorted(f.components), dtype=np.float64),
        }
        for i, a in enumerate(sorted(f.components)):
            arrays[f"component_{i}"] = f.components[a]
        self._save("finish", self.finish_name(f.shard, count), arrays)

    def load_finish(self, shard: int, count: int = 1) -> Finish:
        z = self._load(self.path / "finish" / self.finish_name(shard, count))
        worst = RawSums(np.empty((0, 0, N_METRICS)), z["worst"], z["worst_pnl"], z["worst_detail"])
        comps = {float(a): z[f"component_{i}"] for i, a in enumerate(z["levels"])}
        return Finish(int(z["shard"]), worst, comps)


def _frame_arrays(name: str, frame: pl.DataFrame | None) -> dict[str, Any]:
    """A small frame of text and float columns as plain arrays (an .npz needs no pickle)."""
    if frame is None:
        return {}
    out: dict[str, Any] = {f"{name}__columns": np.array(frame.columns, dtype=str)}
    for i, c in enumerate(frame.columns):
        col = frame[c]
        out[f"{name}__{i}"] = (
            np.array(col.to_list(), dtype=str) if col.dtype == pl.String else col.to_numpy()
        )
    return out


def _arrays_frame(name: str, z: dict[str, Any]) -> pl.DataFrame | None:
    if f"{name}__columns" not in z:
        return None
    columns = [str(c) for c in z[f"{name}__columns"]]
    data = {}
    for i, c in enumerate(columns):
        a = z[f"{name}__{i}"]
        data[c] = pl.Series(c, a.tolist(), dtype=pl.String) if a.dtype.kind == "U" else a
    return pl.DataFrame(data)


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class ShardedRun:
    """What ``run_sharded`` found: the result; the detail files written (name, rows) in shard
    order; the worst positions of the ``also_worst`` scenarios the result does not cover
    (scenario -> (positions, P&Ls, detail)); with ``key_rates`` the book's key-rate DV01
    table (``stress.reportdata.key_rate_dv01``, summed shard by shard)."""

    result: StressResult
    parts: list[tuple[str, int]]
    extra_worst: dict[int, tuple[IntArray, FloatArray, FloatArray]]
    key_rates: pl.DataFrame | None = None

    def worst_of(self, names: Sequence[str]) -> pl.DataFrame:
        """``result.worst`` with the rows of ``names`` found in ``extra_worst`` added, in
        the order of ``names`` (as ``stress.reportdata.collect`` fills them)."""
        scen = self.result.scenarios
        index = {n: i for i, n in enumerate(scen.names)}
        have = set(self.result.worst["scenario"].to_list())
        missing = [index[n] for n in names if n not in have and index[n] in self.extra_worst]
        if not missing:
            return self.result.worst
        raw = self.result.raw
        k = raw.worst.shape[1]
        sub = RawSums(
            raw.sums[missing],
            np.stack([self.extra_worst[i][0] for i in missing]).reshape(len(missing), k),
            np.stack([self.extra_worst[i][1] for i in missing]).reshape(len(missing), k),
            np.stack([self.extra_worst[i][2] for i in missing]).reshape(len(missing), k, -1),
        )
        portfolio = Portfolio(
            pl.DataFrame({"position_id": self.result.position_ids}), "<positions>"
        )
        groups = Groupings.total(len(portfolio))
        part = build_result(scen.select(missing), self.result.base_currency, portfolio,
                            groups, RawSums(sub.sums[:, :1], sub.worst, sub.worst_pnl,
                                            sub.worst_detail), None)  # fmt: skip
        return pl.concat([self.result.worst, part.worst])


def layout_names(portfolio: Portfolio) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The curves and the position currencies a book of ``portfolio`` is laid out with
    (``stress.book.Book.currencies`` and ``position_currencies``), without laying it out."""
    f = portfolio.frame
    return curves_of(f), tuple(sorted(f["currency"].unique().to_list()))


def input_key(
    portfolio: Portfolio,
    market: Market,
    shocks: ResolvedShocks,
    names: Sequence[str],
    options: dict[str, Any],
) -> str:
    """A hash of everything a run's numbers depend on: the valid positions, the market, the
    scenarios on the market and the options."""
    h = hashlib.sha256()

    class _Hasher:
        def write(self, b: bytes) -> int:
            h.update(b)
            return len(b)

        def flush(self) -> None:
            pass

    portfolio.frame.write_ipc_stream(_Hasher())  # type: ignore[call-overload]
    h.update(json.dumps([market.valuation_date.isoformat(), market.base_currency,
                         sorted(market.usd_value.items()), market.gold_usd]).encode())  # fmt: skip
    for c in sorted(market.curves):
        h.update(c.encode())
        h.update(np.ascontiguousarray(market.curves[c].times, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(market.curves[c].rates, dtype=np.float64).tobytes())
    h.update(json.dumps([shocks.curves, shocks.currencies, list(names)]).encode())
    for a in (shocks.times, shocks.shift_bp, shocks.fx_multiplier, shocks.gold_multiplier):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    spreads = shocks.spreads
    if spreads is not None:  # the credit-spread shifts, by attribute and value
        h.update(json.dumps(spreads.spread_keys).encode())
        h.update(np.ascontiguousarray(spreads.spread_bp, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(spreads.spread_set, dtype=np.bool_).tobytes())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    return h.hexdigest()


class _Reducer:
    """Takes task results in shard order, chunk by chunk of scenarios, as they arrive in any
    order (results kept on disk are read when their turn comes): each shard's node weights,
    and its worst positions merged into the run's."""

    def __init__(
        self, S: int, n_groups: int, worst: int, chunks: list[int], n_shards: int,
        by_position: bool, work: WorkDir | None,
    ) -> None:  # fmt: skip
        self.raw = RawSums.unfound(np.zeros((S, n_groups, N_METRICS)), S, worst)
        self.next = dict.fromkeys(chunks, 0)
        self.n_shards = n_shards
        self.by_position = by_position
        self.work = work
        self.pending: dict[tuple[int, int], Partial | None] = {}
        self.parts: dict[tuple[int, int], tuple[str, int]] = {}
        self.key_rates: list[pl.DataFrame] = []
        self.n_groups = n_groups
        self.totals: list[ShardTotals | None] = [None] * n_shards

    def add(self, shard: int, lo: int, partial: Partial | None) -> None:
        """Shard ``shard``'s result for the chunk at ``lo`` (None: read it from the work
        directory when its turn comes)."""
        self.pending[(shard, lo)] = partial
        while self.next[lo] < self.n_shards and (self.next[lo], lo) in self.pending:
            k = self.next[lo]
            p = self.pending.pop((k, lo))
            if p is None:
                assert self.work is not None
                p = self.work.load_sums(k, lo, self.n_groups)
            self._fold(k, p)
            self.next[lo] += 1

    def _fold(self, k: int, p: Partial) -> None:
        rows = slice(p.lo, p.hi)
        if p.totals is not None:
            self.totals[k] = p.totals
        if self.by_position:
            here = RawSums(self.raw.sums, self.raw.worst[rows], self.raw.worst_pnl[rows],
                           self.raw.worst_detail[rows])  # fmt: skip
            merged = merge_worst(here, p.raw)
            self.raw.worst[rows] = merged.worst
            self.raw.worst_pnl[rows] = merged.worst_pnl
            self.raw.worst_detail[rows] = merged.worst_detail
        if p.part is not None:
            self.parts[(k, p.lo)] = (p.part, p.rows)
        if p.key_rates is not None:
            self.key_rates.append(p.key_rates)  # chunk 0 of each shard, in shard order

    def complete(self) -> bool:
        return all(v == self.n_shards for v in self.next.values())


def run_sharded(
    portfolio: Portfolio,
    market: Market,
    scen: ScenarioSet,
    *,
    detail: str = "summary",
    by: Sequence[str] = (),
    worst: int = 10,
    worst_scenarios: int | None = 100,
    risk: tuple[float, ...] = (),
    chunk_size: int | None = None,
    shard_positions: int | None = None,
    task_scenarios: int | None = None,
    executor: Executor | None = None,
    work: WorkDir | None = None,
    positions_dir: Path | None = None,
    fmt: str = "parquet",
    key_rates: bool = False,
    also_worst: Callable[[FloatArray], Sequence[int]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ShardedRun:
    """``stress.run`` as tasks over shards of the (validated) ``portfolio``: the same result,
    bit for bit, as a single-process run with the same shard size.

    Per-position detail (``detail="positions"``) is written by the tasks into
    ``positions_dir`` (or the work directory's ``positions/``) and not returned
    (``ShardedRun.parts`` lists the files). ``also_worst(total P&L per scenario)`` names
    scenarios whose worst positions are wanted besides the result's own (the report's); they
    are found in the same second pass.
    """
    executor = executor or SerialExecutor()
    size = check_shard_positions(shard_positions)
    step = TASK_SCENARIOS if task_scenarios is None else task_scenarios
    if step < 1:
        raise ValueError(f"task_scenarios: got {step}; expected 1 or more")
    valuation_day = to_days(market.valuation_date)
    groups = groupings(portfolio, by, valuation_day)
    curves, currencies = layout_names(portfolio)
    shocks = resolve(scen, market, curves, currencies)
    warn_unmoved(portfolio, scen, market.base_currency)
    S = len(scen)
    positions = detail == "positions"
    by_position = positions or worst_scenarios is None or worst_scenarios >= S
    second = (not by_position and worst > 0 and bool(worst_scenarios)) or bool(risk)
    options = {
        "detail": detail,
        "by": list(by),
        "worst": worst,
        "worst_scenarios": worst_scenarios,
        "risk": list(risk),
        "shard_positions": size,
        "task_scenarios": step,
        "format": fmt,
        "key_rates": key_rates,
        "also_worst": also_worst is not None,
    }
    if work is not None:
        key = input_key(portfolio, market, shocks, scen.names, options)
    else:
        key = uuid.uuid4().hex
    shards = cut(portfolio, groups, size)
    # Tasks run per chunk of scenarios only where they find worst positions (or detail) for
    # every scenario; the sums are the client's, from the shards' node weights.
    chunks = (list(range(0, S, step)) or [0]) if by_position else [0]
    bounds = {lo: min(S, lo + step) if by_position else 0 for lo in chunks}
    shared = Shared(
        key=key,
        market=market,
        shocks=shocks,
        scenario_names=scen.names,
        group_names=groups.names,
        group_labels=groups.labels,
        worst=worst,
        detail=positions,
        by_position=by_position,
        chunk_size=chunk_size,
        # Layouts kept for the second pass of a summary run (positions mode streams its
        # detail and keeps nothing: its ES components lay the shards out again).
        keep=second and not by_position,
        fmt=fmt,
        key_rates=key_rates,
    )
    if work is not None:
        work.open(key, {"shards": len(shards), "scenarios": S, "positions": len(portfolio),
                        "options": options})  # fmt: skip
        parts_dir: Path | None = work.parts if positions else None
    else:
        parts_dir = positions_dir if positions else None
    if positions and parts_dir is None:
        raise ValueError("a sharded run writes per-position detail to files: give positions_dir")
    if parts_dir is not None:
        parts_dir.mkdir(parents=True, exist_ok=True)
    reducer = _Reducer(S, groups.n_groups, worst, chunks, len(shards), by_position, work)
    # Tasks: aligned blocks of up to k consecutive shards (one shard per task when the run
    # finds worst positions or detail in the first pass); results are kept per shard, so a
    # resumed run may group its remaining shards otherwise.
    k = 1
    if not by_position:
        k = max(1, min(MAX_TASK_SHARDS, len(shards) // (TASKS_PER_WORKER * executor.workers())))
    blocks = [(g, min(len(shards), g + k) - g) for g in range(0, len(shards), k)]
    todo: list[tuple[int, int, int]] = []  # (first shard, count, first scenario)
    kept = 0
    for lo in chunks:
        for first, count in blocks:
            run: list[int] = []
            for i in range(first, first + count):
                part = part_name(i, lo, fmt) if positions else None
                if work is not None and work.has_sums(i, lo, bounds[lo], part, groups.n_groups,
                                                      worst):  # fmt: skip
                    reducer.add(i, lo, None)
                    kept += 1
                else:
                    run.append(i)
            # Runs of consecutive shards still to do, one task each.
            while run:
                n = 1
                while n < len(run) and run[n] == run[0] + n:
                    n += 1
                todo.append((run[0], n, lo))
                run = run[n:]
    total_tasks = len(shards) * len(chunks) + (len(blocks) if second else 0)
    if work is not None:
        work.resumed = kept
        if kept:
            log.info("resuming: %d of %d shard results already done in %s", kept,
                     len(shards) * len(chunks), work.path)  # fmt: skip
    done = kept
    if progress is not None:
        progress(done, total_tasks)
    try:
        where: dict[tuple[int, int], Any] = {}
        shared_h = executor.share(shared)
        # One handle per block of shards for every task of the run: its positions are shipped
        # once, and a second-pass task goes where its block already is (and was laid out).
        handles = _Handles(executor, shards)
        calls = [
            (shared_h, handles.get(first, count), lo, bounds[lo],
             None if parts_dir is None else str(parts_dir))
            for first, count, lo in todo
        ]  # fmt: skip
        started = time.monotonic()
        for i, partials, at in executor.run(sums_task, calls):
            first, count, lo = todo[i]
            where[(first, count)] = at
            for partial in partials:
                j = partial.shard
                if work is not None:
                    work.save_sums(partial)
                    # Out of turn, it waits on disk rather than in memory.
                    reducer.add(j, lo, partial if reducer.next[lo] == j else None)
                else:
                    reducer.add(j, lo, partial)
            done += count
            if progress is not None:
                progress(done, total_tasks)
            log.debug("task %d/%d (shards %d-%d, scenarios %d-%d) done after %.1f s",
                      i + 1, len(todo), first, first + count - 1, lo, bounds[lo],
                      time.monotonic() - started)  # fmt: skip
        assert reducer.complete()
        raw = reducer.raw
        _sum_shards(reducer.totals, shocks, market, raw.sums, chunk_size)
        _check_finite(raw, shared_h, blocks, handles, scen, executor, portfolio)
        components: dict[float, FloatArray] = {}
        extra: dict[int, tuple[IntArray, FloatArray, FloatArray]] = {}
        if second:
            chosen = (
                np.sort(np.argsort(total_pnl(raw), kind="stable")[:worst_scenarios])
                if not by_position and worst and worst_scenarios
                else np.zeros(0, dtype=np.int64)
            )
            more = np.zeros(0, dtype=np.int64)
            if also_worst is not None and not by_position and worst and len(portfolio):
                wanted = np.unique(np.asarray(also_worst(total_pnl(raw)), dtype=np.int64))
                more = np.setdiff1d(wanted, chosen)
            tails = {a: tail(total_pnl(raw), a) for a in risk}
            done = _second_pass(shared_h, blocks, handles, chosen, more, tails, executor, work,
                                where, raw, components, extra, done, total_tasks,
                                progress)  # fmt: skip
    finally:
        executor.forget(key)
    result = build_result(scen, market.base_currency, portfolio, groups, raw, None, components)
    parts = [reducer.parts[(sh.index, lo)] for sh in shards for lo in chunks] if positions else []
    tables = None
    if key_rates:
        from stress.reportdata import combine_key_rates

        tables = combine_key_rates(reducer.key_rates)
    return ShardedRun(result, parts, extra, tables)


class _Handles:
    """The executor's handles on blocks of consecutive shards, made when first needed."""

    def __init__(self, executor: Executor, shards: list[Shard]) -> None:
        self.executor = executor
        self.shards = shards
        self.made: dict[tuple[int, int], Any] = {}

    def get(self, first: int, count: int = 1) -> Any:
        if (first, count) not in self.made:
            block = join(self.shards[first : first + count])
            self.made[(first, count)] = self.executor.scatter([block])[0]
        return self.made[(first, count)]


def _sum_shards(parts: Sequence[ShardTotals | None], shocks: ResolvedShocks, market: Market,
                out: FloatArray, chunk_size: int | None) -> None:  # fmt: skip
    """The run's sums per (scenario, group) into ``out``, from the shards' node weights
    merged in shard order, as a single process merges them (``stress.totals``)."""
    kept = [p for p in parts if p is not None]
    assert len(kept) == len(parts)
    labels = tuple(sorted({lab for p in kept for lab in p.labels}))
    fx_before = np.array([market.fx_rate(c) for c in shocks.currencies])
    totals = merge(kept, shocks.curves, shocks.currencies, labels, fx_before)
    sum_totals(totals, shocks, shocks.spread_attributes, labels, out, chunk_size)


def _second_pass(
    shared_h: Any,
    blocks: list[tuple[int, int]],
    handles: _Handles,
    chosen: IntArray,
    more: IntArray,
    tails: dict[float, IntArray],
    executor: Executor,
    work: WorkDir | None,
    where: dict[tuple[int, int], Any],
    raw: RawSums,
    components: dict[float, FloatArray],
    extra: dict[int, tuple[IntArray, FloatArray, FloatArray]],
    done: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    """Worst positions of the ``chosen`` scenarios (into ``raw``) and of the ``more`` ones
    (into ``extra``), and ES components, block by block of shards, merged in book order."""
    both = np.union1d(chosen, more).astype(np.int64)
    results: dict[tuple[int, int], Finish] = {}
    todo = []
    for block in blocks:
        if work is not None and work.has_finish(*block, len(both), raw.worst.shape[1],
                                                list(tails)):  # fmt: skip
            done += 1
            work.resumed += 1
        else:
            todo.append(block)
    if progress is not None:
        progress(done, total)
    calls = [(shared_h, handles.get(*block), both, tails) for block in todo]
    hints = [where.get(block) for block in todo]
    for i, fin, _ in executor.run(finish_task, calls, hints):
        if work is not None:
            work.save_finish(fin, todo[i][1])
        else:
            results[todo[i]] = fin
        done += 1
        if progress is not None:
            progress(done, total)
    merged = RawSums.unfound(raw.sums, len(both), raw.worst.shape[1])
    parts: dict[float, list[FloatArray]] = {a: [] for a in tails}
    for block in blocks:
        fin = results.pop(block) if work is None else work.load_finish(*block)
        if len(both):
            merged = merge_worst(merged, fin.worst)
        for a in tails:
            parts[a].append(fin.components[a])
    rows = np.searchsorted(both, chosen)
    if len(chosen):
        raw.worst[chosen] = merged.worst[rows]
        raw.worst_pnl[chosen] = merged.worst_pnl[rows]
        raw.worst_detail[chosen] = merged.worst_detail[rows]
    for j, s in enumerate(both):
        if s not in chosen:
            extra[int(s)] = (merged.worst[j], merged.worst_pnl[j], merged.worst_detail[j])
    for a in tails:
        components[a] = np.concatenate(parts[a]) if parts[a] else np.zeros(0)
    return done


def _check_finite(
    raw: RawSums,
    shared_h: Any,
    blocks: list[tuple[int, int]],
    handles: _Handles,
    scen: ScenarioSet,
    executor: Executor,
    portfolio: Portfolio,
) -> None:
    """``stress.evaluate.check_finite`` over shards: the same message, naming the first
    scenario whose totals are not finite and the first position of the book that breaks."""
    bad = ~np.isfinite(raw.sums).all(axis=(1, 2))
    if not bad.any():
        return
    s = int(np.flatnonzero(bad)[0])
    calls = [(shared_h, handles.get(*block), s) for block in blocks]
    hits = [first for _, first, _ in executor.run(broken_task, calls) if first >= 0]
    who = "the book's risk sums"
    if hits:
        who = f"position {portfolio.frame['position_id'][min(hits)]!r}"
    raise NumericalError(
        f"{scen.origins[s]}: scenario {scen.names[s]!r}: {who} has a value that is "
        "not a finite number (the shocks or positions are too extreme to compute); check the "
        "scenario's shifts and the position's notional and prices"
    )


def _rows(path: Path) -> int | None:
    """The rows of a kept detail part, None when it cannot be read (a part a crash cut short:
    its writer renames it into place without an fsync)."""
    try:
        scan = pl.scan_csv(path) if path.suffix == ".csv" else pl.scan_parquet(path)
        return int(scan.select(pl.len()).collect().item())
    except Exception:  # polars raises several kinds for a damaged file
        return None
