"""The benchmark suite: engine cases, baselines, cold start and what-if latency in one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import portfolios
import shocks
import stress
from benchmarks import baselines, workloads
from benchmarks.measure import engine_case, median_time
from benchmarks.report import write_reports
from stress.engine import evaluate, prepare

QUICK_SIZES = [
    (1_000, 1),
    (1_000, 100),
    (1_000, 1_000),
    (10_000, 1),
    (10_000, 100),
    (10_000, 1_000),
]
FULL_SIZES = [(b, s) for b in (1_000, 10_000, 100_000, 1_000_000) for s in (1, 100, 1_000, 10_000)]
#: Cases left out: positions mode beyond this many rows (memory), summary beyond this work.
MAX_POSITION_ROWS = 10_000_000
MAX_SUMMARY_WORK = 1_000_000_000


def run_suite(
    sizes: list[tuple[int, int]],
    *,
    repeats: int = 3,
    quantlib_sample: tuple[int, int] = (100, 10),
    out_dir: Path = Path("benchmarks/results"),
    isolate: bool = True,
    cold_start: bool = True,
    what_if: bool = True,
    extra_targets: bool = True,
) -> dict[str, Any]:
    """Run every case and write results.json, results.md and scaling.png into ``out_dir``."""
    cases = []
    skipped = []
    for bonds, n_s in sizes:
        for mode in ("summary", "positions"):
            limit = MAX_POSITION_ROWS if mode == "positions" else MAX_SUMMARY_WORK
            if bonds * n_s > limit:
                skipped.append(
                    {
                        "bonds": bonds,
                        "scenarios": n_s,
                        "mode": mode,
                        "why": f"{bonds * n_s:,} bond-scenarios over the {limit:,} limit",
                    }
                )
                continue
            reps = repeats if bonds * n_s <= 10_000_000 else 1
            case = (
                _isolated(bonds, n_s, mode, reps)
                if isolate
                else engine_case(bonds, n_s, mode, reps)
            )
            print(
                f"engine {mode:9s} {bonds:>9,} bonds x {n_s:>6,} scenarios: "
                f"{case['seconds']:.4f} s  {case['rate']:.3g} bond-scenarios/s",
                flush=True,
            )
            cases.append(case)
    base = _baselines(sorted({b for b, _ in sizes}), quantlib_sample)
    for c in cases:
        c["ratio_quantlib"] = c["rate"] / base["quantlib"]["rate"]
        c["ratio_quantlib_price_only"] = c["rate"] / base["quantlib"]["rate_price_only"]
        c["ratio_numpy"] = c["rate"] / base["numpy"][str(c["bonds"])]["rate"]
    results: dict[str, Any] = {
        "cases": cases,
        "skipped": skipped,
        "baselines": base,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
    if cold_start:
        results["cold_start"] = _cold_start()
    if what_if:
        results["what_if_ms"] = _what_if()
    if extra_targets:
        results["targets"] = _targets(results)
    write_reports(results, out_dir)
    return results


def _isolated(bonds: int, n_s: int, mode: str, repeats: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure", str(bonds), str(n_s), mode, str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _baselines(book_sizes: list[int], sample: tuple[int, int]) -> dict[str, Any]:
    """QuantLib on a sample (rate extrapolated), numpy per book size, both checked against the
    engine's prices, durations and convexities."""
    market = workloads.market()
    n_bonds, n_s = sample
    prepared = prepare(workloads.book(max(n_bonds, 10)), market)
    # FX moves do not change local prices; drop them so the engine's pv_after is local x FX0.
    scen = workloads.scenarios(n_s)
    scen = replace(scen, fx_pct=np.zeros_like(scen.fx_pct))
    engine = _engine_local(prepared, scen)
    idx = np.arange(min(n_bonds, prepared.book.cashflows.n_bonds))
    ql = baselines.quantlib(prepared, scen, idx)
    ql_err = float(np.max(np.abs(ql.prices / engine["price"][idx] - 1)))
    ql_dur = float(np.max(np.abs(ql.duration / engine["duration"][idx] - 1)))
    print(
        f"QuantLib: {ql.rate:.3g} bond-scenarios/s (sample {len(idx)} bonds x {n_s} "
        f"scenarios, extrapolated); max rel. price diff vs engine {ql_err:.1e}",
        flush=True,
    )
    if ql_err > 1e-8:
        raise AssertionError(f"QuantLib and the engine disagree: {ql_err:.2e} relative")
    out: dict[str, Any] = {
        "quantlib": {
            "rate": ql.rate,
            "rate_price_only": ql.bond_scenarios / ql.price_only_seconds,
            "sample": [len(idx), n_s],
            "max_rel_price_diff": ql_err,
            "max_rel_duration_diff": ql_dur,
            "note": "sampled, extrapolated",
        },
        "numpy": {},
    }
    for bonds in book_sizes:
        prep = prepare(workloads.book(bonds), market)
        s_np = workloads.scenarios(max(1, min(n_s, 10_000_000 // bonds // 10 or 1)))
        s_np = replace(s_np, fx_pct=np.zeros_like(s_np.fx_pct))
        npb = baselines.numpy_baseline(prep, s_np)
        eng = _engine_local(prep, s_np)
        err = float(np.max(np.abs(npb.prices / eng["price"] - 1)))
        print(
            f"numpy {bonds:>9,} bonds: {npb.rate:.3g} bond-scenarios/s; max rel. price "
            f"diff vs engine {err:.1e}",
            flush=True,
        )
        if err > 1e-10:
            raise AssertionError(f"numpy baseline and the engine disagree: {err:.2e} relative")
        out["numpy"][str(bonds)] = {
            "rate": npb.rate,
            "scenarios": len(s_np),
            "max_rel_price_diff": err,
        }
    return out


def _engine_local(
    prepared: stress.engine.Prepared, scen: shocks.ScenarioSet
) -> dict[str, np.ndarray]:
    """Engine dirty prices per 100, durations and convexities (bonds x scenarios)."""
    book = prepared.book
    res = evaluate(prepared, scen, np.zeros(book.n_positions, dtype=np.int64), 1, detail=True)
    f = res.positions.with_columns(
        pl.col("position_id").to_physical().alias("i"), pl.col("scenario").to_physical().alias("s")
    )
    f = f.filter(pl.col("i").is_in(book.bond_pos)).sort("i", "s")
    S = len(scen)
    scale = (prepared.scale * book.fx0)[book.bond_pos][:, None]
    return {
        "price": f["pv_after"].to_numpy().reshape(-1, S) / scale,
        "duration": f["duration_after"].to_numpy().reshape(-1, S),
    }


def _cold_start() -> dict[str, float]:
    """First ``stress run`` in a fresh process: empty numba cache, then warm."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("empty_cache_s", "warm_cache_s"):
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "stress", "run"], env=env, check=True, capture_output=True
            )
            out[label] = time.perf_counter() - t
    print(
        f"cold start `stress run`: {out['empty_cache_s']:.2f} s empty cache, "
        f"{out['warm_cache_s']:.2f} s warm",
        flush=True,
    )
    return out


def _what_if() -> float:
    """One new trade (load + validate + run) against the whole built-in library, median ms."""
    market = stress.Market.load(stress.default_market_path())
    library = shocks.load("all")
    trade = pl.DataFrame(
        {
            "position_id": ["NEW"],
            "instrument": ["bond"],
            "currency": ["JPY"],
            "notional": [10e9],
            "coupon": [3.4],
            "maturity": ["2065-03-20"],
            "convention": ["JGB"],
        }
    )

    def once() -> object:
        return stress.run(portfolios.load(trade), market, library)

    ms = 1000 * median_time(once, 50)
    print(f"what-if: one trade x {len(library)} library scenarios: {ms:.2f} ms", flush=True)
    return ms


def _targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    def case(b: int, s: int, mode: str) -> dict[str, Any] | None:
        return next(
            (
                c
                for c in results["cases"]
                if (c["bonds"], c["scenarios"], c["mode"]) == (b, s, mode)
            ),
            None,
        )

    rows = []
    c = case(10_000, 1_000, "positions")
    rows.append(
        {
            "target": "positions 10k x 1k >= 500x QuantLib",
            "value": None if c is None else f"{c['ratio_quantlib']:.0f}x",
            "met": None if c is None else c["ratio_quantlib"] >= 500,
        }
    )
    c = case(10_000, 10_000, "summary")
    rows.append(
        {
            "target": "summary 10k x 10k >= 5000x QuantLib",
            "value": None if c is None else f"{c['ratio_quantlib']:.0f}x",
            "met": None if c is None else c["ratio_quantlib"] >= 5000,
        }
    )
    c = case(1_000_000, 1_000, "summary")
    rows.append(
        {
            "target": "1M x 1k summary end to end < 60 s, RSS < 4 GB",
            "value": None
            if c is None
            else f"{c['end_to_end_seconds']:.1f} s, {c['peak_rss_mb'] / 1024:.2f} GB",
            "met": None if c is None else c["end_to_end_seconds"] < 60 and c["peak_rss_mb"] < 4096,
        }
    )
    if "what_if_ms" in results:
        rows.append(
            {
                "target": "what-if one trade x library < 5 ms",
                "value": f"{results['what_if_ms']:.2f} ms",
                "met": results["what_if_ms"] < 5,
            }
        )
    if "cold_start" in results:
        w = results["cold_start"]["warm_cache_s"]
        rows.append(
            {"target": "`stress run` warm cache < 3 s", "value": f"{w:.2f} s", "met": w < 3}
        )
    return rows
