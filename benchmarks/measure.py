"""Timing of one engine case and the plain numba baseline on the same book and scenarios, run
in its own process so that its peak RSS is the engine's own.

``python -c "from benchmarks.measure import main; main(ARGS)"`` with ARGS = BONDS SCENARIOS
MODE REPEATS WORKLOAD prints one JSON line (the suite calls ``main`` through ``python -c``,
which avoids runpy re-importing this module). Exit status 1 means a check failed (the plain
baseline disagrees with the engine); a case the machine cannot hold in memory prints a JSON
line with ``failed`` instead.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

import portfolios
from benchmarks import baselines, workloads
from shocks.model import ScenarioSet
from stress.book import Book
from stress.engine import run_prepared
from stress.prepare import prepare
from stress.resolve import resolve
from stress.result import StressResult

FloatArray = npt.NDArray[np.float64]

#: Relative accuracy the plain numba baseline must reach against the engine (the case raises
#: otherwise): positions sum in the same order, totals per node, so both agree to rounding.
PLAIN_TOL = 1e-9
#: Positions mode: the engine's figures kept for the check cover this many scenarios (all
#: positions), so that keeping them does not add to the run's peak RSS.
CHECK_SCENARIOS = 32
_CHECKED = ("pv_after", "duration_after", "convexity_after")
#: A case timed once first runs on this many scenarios, untimed: two blocks, enough for the
#: threaded kernels on a large book.
WARM_UP_SCENARIOS = 32


def timings(
    fn: Callable[[], object], repeats: int, *, warm_up: bool = True
) -> tuple[list[float], object]:
    """Wall times of ``repeats`` calls (after one untimed warm-up call), and the last call's
    result. A call's time ends when it returns: the previous result is freed before the
    clock starts, since freeing a big one is the caller's work, not the call's (unmapping a
    positions run's 1.6 GB at 10k x 1k takes 0.18 s)."""
    last = fn() if warm_up else None
    times = []
    for _ in range(repeats):
        last = None
        t = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - t)
    return times, last


def median_time(fn: Callable[[], object], repeats: int, *, warm_up: bool = True) -> float:
    """Median wall time of ``repeats`` calls (after one untimed warm-up call)."""
    return statistics.median(timings(fn, repeats, warm_up=warm_up)[0])


def peak_rss() -> float:
    """This process's peak resident set size in MiB: the high-water mark of its own memory
    (``VmHWM``, which starts afresh at exec). ``getrusage``'s ``ru_maxrss`` is the fallback
    where /proc is missing; on Linux it keeps the parent's peak across fork and exec, so a
    case started by a large parent would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_case(
    bonds: int, n_scenarios: int, mode: str, repeats: int, workload: str = "dense"
) -> dict[str, Any]:
    """Time the engine on a benchmark book: load (validation of the positions frame),
    cashflow build (``prepare``) and the scenario run, median of ``repeats`` runs after the
    first (``positions`` includes assembling the full polars frame). ``end_to_end_seconds``
    is load + build + the first run; a case timed once (``repeats`` 1) first runs untimed on
    WARM_UP_SCENARIOS scenarios, counted in its end to end. ``peak_rss_mb`` is taken before
    the plain numba baseline runs; that baseline is then timed on the same book and scenarios
    (median of ``repeats`` after a warm-up on one scenario) and checked against the engine's
    figures."""
    market = workloads.market()
    frame = workloads.book_frame(bonds, workload=workload)
    t0 = time.perf_counter()
    portfolio = portfolios.load(frame)
    t1 = time.perf_counter()
    prepared = prepare(portfolio, market)
    t2 = time.perf_counter()
    del frame
    scen = workloads.scenarios(n_scenarios)
    n_nodes = prepared.n_nodes
    n_cashflows = prepared.book.cashflows.n_cashflows
    warm = 0.0
    if repeats <= 1 and n_scenarios > WARM_UP_SCENARIOS:
        # A case timed once gets the untimed start the plain baseline gets (its per-node sums
        # and kernels): a run on a few scenarios loads the kernels and pays what the book
        # keeps for later runs (node weights, position-id categories, bounds).
        t3 = time.perf_counter()
        run_prepared(prepared, scen.select(np.arange(WARM_UP_SCENARIOS)), detail=mode)
        warm = time.perf_counter() - t3
    t3 = time.perf_counter()
    result = run_prepared(prepared, scen, detail=mode)
    first = time.perf_counter() - t3
    engine = _engine_figures(result, mode)
    # Free the first result before the repeats so the peak RSS is that of one run.
    del result
    # The first run (which also loads the cached kernels) is the warm-up of the repeats.
    again = partial(run_prepared, prepared, scen, detail=mode)
    times = [first] if repeats <= 1 else timings(again, repeats, warm_up=False)[0]
    seconds = statistics.median(times)
    peak_rss_mb = peak_rss()
    # The baseline builds its own inputs from the book's cashflows: free the engine's.
    book = prepared.book
    del prepared, again
    plain = _plain_case(book, scen, mode, repeats, engine)
    return {
        "workload": workload,
        "bonds": bonds,
        "scenarios": n_scenarios,
        "mode": mode,
        "nodes": n_nodes,
        "cashflows": n_cashflows,
        "seconds": seconds,
        "times": times,
        "rate": bonds * n_scenarios / seconds,
        "load_seconds": t1 - t0,
        "build_seconds": t2 - t1,
        "end_to_end_seconds": (t2 - t0) + warm + first,
        "peak_rss_mb": peak_rss_mb,
        "plain_numba": plain,
        "ratio_plain_numba": plain["seconds"] / seconds,
    }


def _engine_figures(result: StressResult, mode: str) -> dict[str, FloatArray]:
    """What the plain baseline is checked against: positions mode, each position's PV after
    the shock (base currency), duration and convexity under the first ``CHECK_SCENARIOS``
    scenarios, as (positions, scenarios) arrays placed by the rows' position and scenario
    codes (whatever order the engine writes its rows in); summary mode, the book's PV after,
    duration and convexity per scenario."""
    if mode == "summary":
        s = result.summary
        return {c: s[c].to_numpy().copy() for c in _CHECKED}
    assert result.positions is not None
    n_p = result.positions["position_id"].dtype.categories.len()  # type: ignore[attr-defined]
    n_s = len(result.summary)
    k = min(n_s, CHECK_SCENARIOS)
    f = (
        result.positions.lazy()
        .select(
            pl.col("position_id").to_physical().cast(pl.Int64).alias("i"),
            pl.col("scenario").to_physical().cast(pl.Int64).alias("s"),
            *_CHECKED,
        )
        .filter(pl.col("s") < k)
        .collect()
    )
    i, s_idx = f["i"].to_numpy(), f["s"].to_numpy()
    out = {}
    for c in _CHECKED:
        a = np.full((n_p, k), np.nan)
        a[i, s_idx] = f[c].to_numpy()
        out[c] = a
    return out


def _plain_case(
    book: Book, scen: ScenarioSet, mode: str, repeats: int, engine: dict[str, FloatArray]
) -> dict[str, Any]:
    """Time the plain numba baseline and check it against the engine's ``engine`` figures."""
    shocks = resolve(scen, book.market, book.currencies, book.position_currencies)
    t = time.perf_counter()
    inputs = baselines.plain_inputs(book, per_cashflow=mode == "positions")
    setup = time.perf_counter() - t
    baselines.plain_numba(inputs, shocks.select([0]), mode)  # load the cached kernels
    times, last = timings(lambda: baselines.plain_numba(inputs, shocks, mode), max(repeats, 1),
                          warm_up=False)  # fmt: skip
    seconds = statistics.median(times)
    assert isinstance(last, baselines.PlainResult)
    out = last
    if mode == "summary":
        pv = out.totals[:, 0]
        diffs = {
            "pv": _max_rel(pv, engine["pv_after"]),
            "duration": _max_rel(out.totals[:, 1] / pv, engine["duration_after"]),
            "convexity": _max_rel(out.totals[:, 2] / pv, engine["convexity_after"]),
        }
    else:
        k = engine["pv_after"].shape[1]
        pos = book.cashflow_pos
        # Base-currency value of one unit of local price per 100 face after the FX move.
        unit = (book.scale * book.fx0)[pos][:, None] * shocks.fx_multiplier[
            :k, book.currency_code[pos]
        ].T
        price = out.price[:k].T
        diffs = {
            "pv": _max_rel(price * unit, engine["pv_after"][pos]),
            "duration": _max_rel(out.moment_t[:k].T / price, engine["duration_after"][pos]),
            "convexity": _max_rel(out.moment_t2[:k].T / price, engine["convexity_after"][pos]),
        }
    worst = max(diffs.values())
    if not worst < PLAIN_TOL:
        raise AssertionError(
            f"plain numba baseline and the engine disagree ({mode}, max rel. diff "
            + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
            + ")"
        )
    return {
        "seconds": seconds,
        "times": times,
        "rate": book.cashflows.n_bonds * len(scen) / seconds,
        "setup_seconds": setup,
        "nodes": inputs.n_nodes,
        "max_rel_diff": diffs,
        "checked": True,
    }


def _max_rel(x: FloatArray, ref: FloatArray) -> float:
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x / ref - 1.0)))


#: Warm-up cases: a tiny one (the kernels' serial variants) and one large enough for their
#: threaded variants (``stress.work.threaded``).
WARM_UP_SIZES = ((40, 2), (2_000, 200))


def warm_kernels() -> None:
    """Run small cases of every workload and mode, so that numba compiles (and caches) every
    kernel before any case is timed: an engine just changed would otherwise pay for its
    compilation in the first case's end-to-end time."""
    for workload in workloads.WORKLOADS:
        for mode in ("summary", "positions"):
            for bonds, n_s in WARM_UP_SIZES:
                engine_case(bonds, n_s, mode, 1, workload)


def main(argv: list[str]) -> None:
    """Print ``engine_case(BONDS, SCENARIOS, MODE, REPEATS, WORKLOAD)`` as one JSON line; a
    case that runs out of memory prints ``{"failed": ...}`` (the suite reports it as not met)."""
    b, s, m, r, w = argv[:5]
    try:
        out = engine_case(int(b), int(s), m, int(r), w)
    except MemoryError:
        out = {"failed": "out of memory (MemoryError)"}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
