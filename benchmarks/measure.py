"""Timing of one engine case, run in its own process so that its peak RSS is its own.

``python -m benchmarks.measure BONDS SCENARIOS MODE REPEATS`` prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import workloads
from stress.engine import evaluate, prepare


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def engine_case(bonds: int, n_scenarios: int, mode: str, repeats: int) -> dict[str, Any]:
    """Time the engine on a synthetic book: load + cashflow build, and the scenario run
    (``positions`` includes assembling the full polars frame)."""
    market = workloads.market()
    t0 = time.perf_counter()
    portfolio = workloads.book(bonds)
    t1 = time.perf_counter()
    prepared = prepare(portfolio, market)
    t2 = time.perf_counter()
    scen = workloads.scenarios(n_scenarios)
    groups = np.zeros(prepared.book.n_positions, dtype=np.int64)
    detail = mode == "positions"
    t3 = time.perf_counter()
    result = evaluate(prepared, scen, groups, 1, detail=detail)
    if detail:
        _ = result.positions
    first = time.perf_counter() - t3
    seconds = (
        first
        if repeats <= 1
        else median_time(lambda: evaluate(prepared, scen, groups, 1, detail=detail), repeats - 1)
    )
    return {
        "bonds": bonds,
        "scenarios": n_scenarios,
        "mode": mode,
        "seconds": seconds,
        "rate": bonds * n_scenarios / seconds,
        "load_seconds": t1 - t0,
        "build_seconds": t2 - t1,
        "end_to_end_seconds": (t2 - t0) + first,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    b, s, m, r = sys.argv[1:5]
    print(json.dumps(engine_case(int(b), int(s), m, int(r))))
