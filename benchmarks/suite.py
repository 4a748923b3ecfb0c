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
from stress.cli import DEFAULT_BOOK
from stress.engine import run_prepared
from stress.prepare import Prepared, prepare

#: The repository root: subprocesses import the packages from here whatever the cwd.
ROOT = Path(__file__).resolve().parents[1]
#: Relative accuracy the baselines must reach against the engine (the suite raises otherwise).
QUANTLIB_PRICE_TOL = 1e-6
#: Bump-and-reprice duration and convexity carry an O(h^2) error (h = 1 bp): ~1e-6 at 40 years.
QUANTLIB_RISK_TOL = 1e-4
NUMPY_TOL = 1e-10
#: What-if latency: median of this many runs.
WHAT_IF_RUNS = 50

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
    mixed: tuple[int, int] | None = (10_000, 1_000),
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
    base["build_seconds"] = {
        str(b): min(c["build_seconds"] for c in cases if c["bonds"] == b)
        for b in sorted({c["bonds"] for c in cases})
    }
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
        results["what_if"] = _what_if()
    if mixed is not None:
        results["mixed"] = _mixed(*mixed, repeats)
    if extra_targets:
        results["targets"] = _targets(results)
    write_reports(results, out_dir)
    return results


def _mixed(n: int, n_s: int, repeats: int) -> dict[str, Any]:
    """The mixed workload: bonds, FRNs, swaps and futures (``workloads.mixed_book``) under
    key-rate, FX and per-sector spread shocks (``workloads.credit_scenarios``), summary and
    positions mode (best of ``repeats`` after a warm-up run)."""
    market = workloads.market()
    book = workloads.mixed_book(n)
    scen = workloads.credit_scenarios(n_s)
    out: dict[str, Any] = {"n_positions": n, "scenarios": n_s}
    for mode in ("summary", "positions"):
        stress.run(book, market, scen, detail=mode)
        best = min(_timed(lambda mode=mode: stress.run(book, market, scen, detail=mode))
                   for _ in range(max(repeats, 1)))  # fmt: skip
        out[mode] = {"seconds": best, "rate": n * n_s / best}
        print(f"mixed {mode:9s} {n:>9,} positions x {n_s:>6,} scenarios: {best:.4f} s",
              flush=True)
    return out


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _isolated(bonds: int, n_s: int, mode: str, repeats: int) -> dict[str, Any]:
    """``engine_case`` in a fresh process, so that the peak RSS is the case's own."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from benchmarks.measure import main; main(sys.argv[1:])",
            str(bonds),
            str(n_s),
            mode,
            str(repeats),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"engine case {mode} {bonds} x {n_s} failed (exit {out.returncode}):\n"
            + "\n".join(out.stderr.strip().splitlines()[-15:])
        )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _baselines(book_sizes: list[int], sample: tuple[int, int]) -> dict[str, Any]:
    """QuantLib on a sample (rate extrapolated), numpy per book size, both checked against the
    engine's prices, durations and convexities on the same bonds and scenarios."""
    market = workloads.market()
    n_bonds, n_s = sample
    # The sample: random bonds of the largest benchmark book up to 10k (all of its bonds are
    # revalued by the engine for the check) under the first scenarios of the benchmark sets
    # (``workloads.scenarios`` draws the same shifts for scenario i whatever the set's size).
    ql_book = max((b for b in book_sizes if b <= 10_000), default=min(book_sizes))
    prepared = prepare(workloads.book(ql_book), market)
    # FX moves do not change local prices; drop them so the engine's pv_after is local x FX0.
    scen = _no_fx(workloads.scenarios(n_s))
    engine = _engine_local(prepared, scen)
    n_book = prepared.book.cashflows.n_bonds
    rng = np.random.default_rng(7)
    idx = np.sort(rng.choice(n_book, min(n_bonds, n_book), replace=False)).astype(np.int64)
    ql = baselines.quantlib(prepared, scen, idx)
    ql_err = _max_rel(ql.prices, engine["price"][idx])
    ql_dur = _max_rel(ql.duration, engine["duration"][idx])
    ql_conv = _max_rel(ql.convexity, engine["convexity"][idx])
    print(
        f"QuantLib: {ql.rate:.3g} bond-scenarios/s (sample {len(idx)} of {ql_book:,} bonds x "
        f"{n_s} scenarios, extrapolated); max rel. diff vs engine: price {ql_err:.1e}, "
        f"duration {ql_dur:.1e}, convexity {ql_conv:.1e}",
        flush=True,
    )
    if not ql_err < QUANTLIB_PRICE_TOL:
        raise AssertionError(f"QuantLib and the engine disagree: prices {ql_err:.2e} relative")
    if not max(ql_dur, ql_conv) < QUANTLIB_RISK_TOL:
        raise AssertionError(
            f"QuantLib and the engine disagree: duration {ql_dur:.2e}, convexity {ql_conv:.2e}"
        )
    out: dict[str, Any] = {
        "quantlib": {
            "rate": ql.rate,
            "rate_price_only": ql.bond_scenarios / ql.price_only_seconds,
            "sample": [len(idx), n_s],
            "sample_book": ql_book,
            "max_rel_price_diff": ql_err,
            "max_rel_duration_diff": ql_dur,
            "max_rel_convexity_diff": ql_conv,
            "note": "sampled, extrapolated",
            "method": "FixedRateBond + DiscountingBondEngine on a "
            "SpreadedLinearZeroInterpolatedTermStructure over a ZeroCurve; effective duration "
            "and convexity from +-1 bp parallel bumps of the shocked curve (3 NPVs per bond "
            "and scenario)",
        },
        "numpy": {},
    }
    for bonds in book_sizes:
        prep = prepared if bonds == ql_book else prepare(workloads.book(bonds), market)
        s_np = _no_fx(workloads.scenarios(max(1, min(n_s, 10_000_000 // bonds // 10))))
        npb = baselines.numpy_baseline(prep, s_np)
        eng = _engine_local(prep, s_np)
        err = _max_rel(npb.prices, eng["price"])
        risk = max(
            _max_rel(npb.duration, eng["duration"]), _max_rel(npb.convexity, eng["convexity"])
        )
        print(
            f"numpy {bonds:>9,} bonds: {npb.rate:.3g} bond-scenarios/s; max rel. diff vs "
            f"engine: price {err:.1e}, duration/convexity {risk:.1e}",
            flush=True,
        )
        if not max(err, risk) < NUMPY_TOL:
            raise AssertionError(
                f"numpy baseline and the engine disagree: price {err:.2e}, risk {risk:.2e}"
            )
        out["numpy"][str(bonds)] = {
            "rate": npb.rate,
            "scenarios": len(s_np),
            "max_rel_price_diff": err,
            "max_rel_risk_diff": risk,
        }
    return out


def _no_fx(scen: shocks.ScenarioSet) -> shocks.ScenarioSet:
    return replace(scen, fx_pct=np.zeros_like(scen.fx_pct))


def _max_rel(x: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(x / ref - 1.0)))


def _env() -> dict[str, str]:
    """The environment for subprocesses: this repository first on PYTHONPATH."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""))


def _engine_local(prepared: Prepared, scen: shocks.ScenarioSet) -> dict[str, np.ndarray]:
    """Engine dirty prices per 100, durations and convexities (bonds x scenarios)."""
    book = prepared.book
    res = run_prepared(prepared, scen, detail="positions")
    f = res.positions.with_columns(
        pl.col("position_id").to_physical().alias("i"), pl.col("scenario").to_physical().alias("s")
    )
    f = f.filter(pl.col("i").is_in(book.cashflow_pos)).sort("i", "s")
    S = len(scen)
    scale = (book.scale * book.fx0)[book.cashflow_pos][:, None]
    return {
        "price": f["pv_after"].to_numpy().reshape(-1, S) / scale,
        "duration": f["duration_after"].to_numpy().reshape(-1, S),
        "convexity": f["convexity_after"].to_numpy().reshape(-1, S),
    }


def _cold_start() -> dict[str, Any]:
    """First ``stress run`` (bundled book and market, whole library) in a fresh process, wall
    clock including imports: with an empty numba cache, then with the cache it left."""
    if DEFAULT_BOOK not in portfolios.sample_names() or not stress.default_market_path().exists():
        note = "bundled book or market missing: cold start not measured"
        print(f"cold start: skipped ({note})", flush=True)
        return {"skipped": note}
    out: dict[str, Any] = {"command": "python -m stress run"}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(_env(), NUMBA_CACHE_DIR=cache)
        for label in ("empty_cache_s", "warm_cache_s"):
            t = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "stress", "run"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            out[label] = time.perf_counter() - t
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
                out["skipped"] = f"`stress run` failed (exit {done.returncode}): {tail[0]}"
                print(f"cold start: {out['skipped']}", flush=True)
                return out
    print(
        f"cold start `stress run`: {out['empty_cache_s']:.2f} s empty cache, "
        f"{out['warm_cache_s']:.2f} s warm",
        flush=True,
    )
    return out


def _what_if() -> dict[str, Any]:
    """One new trade against the whole built-in library (60 generated scenarios if it is
    empty): median ms of ``stress.run`` on the loaded 1-row portfolio with the market already
    loaded, and of loading + validating the trade and running it."""
    try:
        market = stress.Market.load(stress.default_market_path())
    except (OSError, stress.MarketError):
        market = workloads.market()
    library = shocks.load("all")
    source = "built-in library"
    if len(library) == 0:
        library, source = workloads.scenarios(60), "60 generated scenarios (library empty)"
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
    one = portfolios.load(trade)
    run_ms = 1000 * median_time(lambda: stress.run(one, market, library), WHAT_IF_RUNS)
    load_run_ms = 1000 * median_time(
        lambda: stress.run(portfolios.load(trade), market, library), WHAT_IF_RUNS
    )
    print(
        f"what-if: one trade x {len(library)} scenarios ({source}): run {run_ms:.2f} ms, "
        f"load + run {load_run_ms:.2f} ms",
        flush=True,
    )
    return {
        "scenarios": len(library),
        "source": source,
        "run_ms": run_ms,
        "load_run_ms": load_run_ms,
    }


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
    if "what_if" in results:
        ms = results["what_if"]["run_ms"]
        rows.append(
            {
                "target": "what-if one trade x library < 5 ms (stress.run, warm)",
                "value": f"{ms:.2f} ms",
                "met": ms < 5,
            }
        )
    if "cold_start" in results:
        cs = results["cold_start"]
        w = None if "skipped" in cs else cs["warm_cache_s"]
        rows.append(
            {
                "target": "`stress run` warm cache < 3 s",
                "value": None if w is None else f"{w:.2f} s",
                "met": None if w is None else w < 3,
            }
        )
    return rows
