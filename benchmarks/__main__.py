"""``python -m benchmarks [--quick] [--out DIR] [--repeats N]``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.suite import FULL_SIZES, QUICK_SIZES, run_suite


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Engine speed against QuantLib and numpy, in one run.",
    )
    p.add_argument("--quick", action="store_true", help="small cases only (< 2 minutes)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="results folder")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats per case (median)")
    args = p.parse_args()
    start = time.perf_counter()
    run_suite(
        QUICK_SIZES if args.quick else FULL_SIZES,
        repeats=args.repeats,
        quantlib_sample=(200, 20),
        out_dir=args.out,
        mixed=(2_000, 100) if args.quick else (10_000, 1_000),
    )
    print(f"benchmark run took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
