"""``python -m benchmarks [--quick] [--workload dense|month-end|both] [--out DIR]
[--repeats N]``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.suite import (
    BATCH_SIZE,
    FULL_SIZES,
    QUICK_BATCH_SIZE,
    QUICK_SESSION_SIZE,
    QUICK_SIZES,
    SESSION_SIZE,
    run_suite,
)
from benchmarks.workloads import WORKLOADS


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Engine speed against QuantLib, a plain numba baseline and numpy, in one run.",
    )
    p.add_argument("--quick", action="store_true", help="small cases only (about a minute)")
    p.add_argument(
        "--workload",
        choices=(*WORKLOADS, "both"),
        default="both",
        help="benchmark book: dense dates (the headline), month-end, or both (default)",
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="results folder")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats per case (median)")
    args = p.parse_args()
    if args.repeats < 1:
        p.error("--repeats: expected 1 or more")
    start = time.perf_counter()
    run_suite(
        QUICK_SIZES if args.quick else FULL_SIZES,
        workloads_run=WORKLOADS if args.workload == "both" else (args.workload,),
        repeats=args.repeats,
        quantlib_sample=(200, 20),
        out_dir=args.out,
        mixed=(2_000, 100) if args.quick else (10_000, 1_000),
        batch=QUICK_BATCH_SIZE if args.quick else BATCH_SIZE,
        # The session what-if needs the dense book; it runs whenever that book is benchmarked.
        session_size=None
        if args.workload == "month-end"
        else (QUICK_SESSION_SIZE if args.quick else SESSION_SIZE),
    )
    print(f"benchmark run took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
