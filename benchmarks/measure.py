"""Timing of one engine case, run in its own process so that its peak RSS is its own.

``python -m benchmarks.measure BONDS SCENARIOS MODE REPEATS`` prints one JSON line (the suite
calls ``main`` through ``python -c``, which avoids runpy re-importing this module).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import portfolios
from benchmarks import workloads
from stress.engine import run_prepared
from stress.prepare import prepare


def median_time(fn: Callable[[], object], repeats: int, *, warm_up: bool = True) -> float:
    """Median wall time of ``repeats`` calls (after one untimed warm-up call)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def engine_case(bonds: int, n_scenarios: int, mode: str, repeats: int) -> dict[str, Any]:
    """Time the engine on a synthetic book: load (validation of the positions frame),
    cashflow build (``prepare``) and the scenario run, median of ``repeats`` runs after the
    first (``positions`` includes assembling the full polars frame). ``end_to_end_seconds``
    is load + build + the first run."""
    market = workloads.market()
    frame = workloads.book_frame(bonds)
    t0 = time.perf_counter()
    portfolio = portfolios.load(frame)
    t1 = time.perf_counter()
    prepared = prepare(portfolio, market)
    t2 = time.perf_counter()
    scen = workloads.scenarios(n_scenarios)
    detail = mode
    t3 = time.perf_counter()
    result = run_prepared(prepared, scen, detail=detail)
    first = time.perf_counter() - t3
    # Free the first result before the repeats so the peak RSS is that of one run.
    del result
    # The first run (which also loads the cached kernels) is the warm-up of the repeats.
    seconds = (
        first
        if repeats <= 1
        else median_time(
            lambda: run_prepared(prepared, scen, detail=detail), repeats, warm_up=False
        )
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


def main(argv: list[str]) -> None:
    """Print ``engine_case(BONDS, SCENARIOS, MODE, REPEATS)`` as one JSON line."""
    b, s, m, r = argv[:4]
    print(json.dumps(engine_case(int(b), int(s), m, int(r))))


if __name__ == "__main__":
    main(sys.argv[1:])
