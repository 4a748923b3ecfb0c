"""The benchmark suite: engine cases with the plain numba baseline beside each, QuantLib and numpy
baselines, cold start and what-if latency, in one run, per workload (``workloads.WORKLOADS``).

Every baseline is checked against the engine's numbers before any ratio is printed, and a
disagreement raises. Speed is never a failure: a slow engine (or a case the machine cannot hold
or finish in time) is reported as a target not met.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
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
#: The session's what-if answer against a fresh run of the trade alone (relative to its size).
SESSION_TOL = 1e-9
#: What-if latency: median of this many runs.
WHAT_IF_RUNS = 50
#: An engine case still running after this long is stopped and reported as not met.
CASE_TIMEOUT_S = 1800.0

QUICK_SIZES = [(1_000, 100), (10_000, 1), (10_000, 1_000)]
FULL_SIZES = [(b, s) for b in (1_000, 10_000, 100_000, 1_000_000) for s in (1, 100, 1_000, 10_000)]
#: Cases left out: positions mode beyond this many rows (memory), summary beyond this work
#: (bond-scenarios). The dense book runs 1M x 10k summary (a target); the month-end book keeps
#: its earlier grid, which keeps the full run shorter.
MAX_POSITION_ROWS = 10_000_000
MAX_SUMMARY_WORK = {"dense": 10_000_000_000, "month-end": 1_000_000_000}
#: The session what-if: a prepared dense book of this many positions x scenarios (full run).
SESSION_SIZE = (100_000, 1_000)
QUICK_SESSION_SIZE = (10_000, 1_000)
#: The batch job: ``stress run --out`` on a dense book of this many positions x scenarios.
BATCH_SIZE = (1_000_000, 1_000)
QUICK_BATCH_SIZE = (100_000, 100)

#: Target thresholds (dense book; QuantLib ratios against its price-only rate).
TARGET_POSITIONS = (10_000, 1_000, 300.0)
TARGET_SUMMARY = (10_000, 10_000, 3_000.0)
TARGET_LARGE = (1_000_000, 10_000, 60.0, 4096.0)  # seconds end to end, peak RSS MB
TARGET_SESSION_MS = 1.0
TARGET_WHAT_IF_MS = 5.0
TARGET_WARM_START_S = 3.0


def run_suite(
    sizes: Sequence[tuple[int, int]],
    *,
    workloads_run: Sequence[str] = workloads.WORKLOADS,
    repeats: int = 3,
    quantlib_sample: tuple[int, int] = (100, 10),
    out_dir: Path = Path("benchmarks/results"),
    isolate: bool = True,
    cold_start: bool = True,
    what_if: bool = True,
    session_size: tuple[int, int] | None = SESSION_SIZE,
    extra_targets: bool = True,
    mixed: tuple[int, int] | None = None,
    batch: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Run every case of every workload in ``workloads_run`` and write results.json,
    results.md and scaling.png into ``out_dir``. ``session_size`` (positions, scenarios) of
    the dense book the session what-if runs against, ``mixed`` that of the mixed-book case,
    ``batch`` that of the batch job (``stress run --out``); None leaves any of them out."""
    run = [workloads.check_workload(w) for w in workloads.WORKLOADS if w in workloads_run]
    unknown = set(workloads_run) - set(run)
    if unknown or not run:
        raise ValueError(
            f"workloads: got {sorted(workloads_run)}; expected some of {workloads.WORKLOADS}"
        )
    started = time.time()
    load_before = _load_average()
    cases: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    base: dict[str, Any] = {}
    if isolate:
        _warm_kernels()
    # Every engine case first: the baselines build large books in this process, and the cases
    # are best started from a small one.
    for workload in run:
        for bonds, n_s in sizes:
            for mode in ("summary", "positions"):
                key = {"workload": workload, "bonds": bonds, "scenarios": n_s, "mode": mode}
                limit = MAX_POSITION_ROWS if mode == "positions" else MAX_SUMMARY_WORK[workload]
                if bonds * n_s > limit:
                    skipped.append({**key, "limit": limit})
                    continue
                reps = repeats if bonds * n_s <= 10_000_000 else 1
                case = (
                    _isolated(bonds, n_s, mode, reps, workload)
                    if isolate
                    else engine_case(bonds, n_s, mode, reps, workload)
                )
                if "failed" in case:
                    failed.append({**key, "why": case["failed"]})
                    print(f"engine {workload} {mode} {bonds:,} x {n_s:,}: {case['failed']}")
                    continue
                plain = case["plain_numba"]
                print(
                    f"engine {workload:9s} {mode:9s} {bonds:>9,} bonds ({case['nodes']:>6,} "
                    f"nodes) x {n_s:>6,} scenarios: {case['seconds']:.4f} s "
                    f"{case['rate']:.3g} bond-scenarios/s; plain numba {plain['seconds']:.4f} s "
                    f"(agrees to {max(plain['max_rel_diff'].values()):.0e}): "
                    f"{case['ratio_plain_numba']:.3g}x",
                    flush=True,
                )
                cases.append(case)
    for workload in run:
        books = sorted({b for b, _ in sizes})
        base[workload] = _baselines(workload, books, quantlib_sample, repeats)
        mine = [c for c in cases if c["workload"] == workload]
        base[workload]["build_seconds"] = {
            str(b): min(c["build_seconds"] for c in mine if c["bonds"] == b)
            for b in sorted({c["bonds"] for c in mine})
        }
        ql = base[workload]["quantlib"]
        for c in mine:
            c["ratio_quantlib"] = c["rate"] / ql["rate"]
            c["ratio_quantlib_price_only"] = c["rate"] / ql["rate_price_only"]
            c["ratio_numpy"] = c["rate"] / base[workload]["numpy"][str(c["bonds"])]["rate"]
    results: dict[str, Any] = {
        "workloads": {
            w: {
                "description": workloads.DESCRIPTIONS[w],
                "nodes": {
                    str(c["bonds"]): c["nodes"]
                    for c in sorted(cases, key=lambda c: c["bonds"])
                    if c["workload"] == w
                },
            }
            for w in run
        },
        "cases": cases,
        "skipped": skipped,
        "failed": failed,
        "baselines": base,
    }
    if cold_start:
        results["cold_start"] = _cold_start()
    if what_if:
        results["what_if"] = _what_if()
    if mixed is not None:
        results["mixed"] = _mixed(*mixed, repeats)
    if session_size is not None:
        results["session_what_if"] = _session_what_if(*session_size)
    if batch is not None:
        results["batch"] = _batch(*batch)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average_before": load_before,
        "load_average_after": _load_average(),
        "wall_seconds": time.time() - started,
        "repeat_spread": _repeat_spread(cases),
    }
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


def _warm_kernels() -> None:
    """Compile and cache every kernel in a process of its own before the timed cases."""
    done = subprocess.run(
        [sys.executable, "-c", "from benchmarks.measure import warm_kernels; warm_kernels()"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"warming the kernels failed (exit {done.returncode}):\n"
            + "\n".join(done.stderr.strip().splitlines()[-15:])
        )


def _isolated(bonds: int, n_s: int, mode: str, repeats: int, workload: str) -> dict[str, Any]:
    """``engine_case`` in a fresh process, so that the peak RSS is the case's own. A case
    killed by a signal (the kernel's out-of-memory killer) or stopped after
    ``CASE_TIMEOUT_S`` comes back as ``{"failed": why}``; any other failure (a baseline check
    among them) raises."""
    args = [str(bonds), str(n_s), mode, str(repeats), workload]
    done = _in_fresh_process(
        "import sys; from benchmarks.measure import main; main(sys.argv[1:])", args,
        f"engine case {workload} {mode} {bonds} x {n_s}",
    )  # fmt: skip
    if isinstance(done, str):
        return {"failed": done}
    return dict(json.loads(done[0].stdout.strip().splitlines()[-1]))


def _in_fresh_process(code: str, args: list[str], what: str
                      ) -> tuple[subprocess.CompletedProcess[str], float] | str:  # fmt: skip
    """``python -c code *args`` from the project's root: the finished process and its wall
    seconds, or why it did not finish (a signal, the kernel's out-of-memory killer among
    them, or ``CASE_TIMEOUT_S``: a case the machine cannot hold or finish is not met, never a
    failure of the run). Any other failure raises, naming ``what``."""
    t = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, cwd=ROOT, env=_env(), timeout=CASE_TIMEOUT_S)  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"stopped after {CASE_TIMEOUT_S:.0f} s"
    seconds = time.perf_counter() - t
    if done.returncode < 0:
        return f"killed by signal {-done.returncode} (out of memory?)"
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n"
                           + "\n".join(done.stderr.strip().splitlines()[-15:]))  # fmt: skip
    return done, seconds


def _baselines(
    workload: str, book_sizes: list[int], sample: tuple[int, int], repeats: int = 1
) -> dict[str, Any]:
    """QuantLib on a sample (rate extrapolated; median of ``repeats`` passes), numpy per book
    size, both checked against the engine's prices, durations and convexities on the same
    bonds and scenarios."""
    market = workloads.market()
    n_bonds, n_s = sample
    # The sample: random bonds of the largest benchmark book up to 10k (all of its bonds are
    # revalued by the engine for the check) under the first scenarios of the benchmark sets
    # (``workloads.scenarios`` draws the same shifts for scenario i whatever the set's size).
    ql_book = max((b for b in book_sizes if b <= 10_000), default=min(book_sizes))
    prepared = prepare(workloads.book(ql_book, workload=workload), market)
    # FX moves do not change local prices; drop them so the engine's pv_after is local x FX0.
    scen = _no_fx(workloads.scenarios(n_s))
    engine = _engine_local(prepared, scen)
    n_book = prepared.book.cashflows.n_bonds
    rng = np.random.default_rng(7)
    idx = np.sort(rng.choice(n_book, min(n_bonds, n_book), replace=False)).astype(np.int64)
    ql = baselines.quantlib(prepared, scen, idx, repeats)
    ql_err = _max_rel(ql.prices, engine["price"][idx])
    ql_dur = _max_rel(ql.duration, engine["duration"][idx])
    ql_conv = _max_rel(ql.convexity, engine["convexity"][idx])
    print(
        f"QuantLib ({workload}): {ql.bond_scenarios / ql.price_only_seconds:.3g} "
        f"bond-scenarios/s price only, {ql.rate:.3g}/s with duration and convexity (sample "
        f"{len(idx)} of {ql_book:,} bonds x {n_s} scenarios, extrapolated); max rel. diff vs "
        f"engine: price {ql_err:.1e}, duration {ql_dur:.1e}, convexity {ql_conv:.1e}",
        flush=True,
    )
    if not ql_err < QUANTLIB_PRICE_TOL:
        raise AssertionError(
            f"QuantLib and the engine disagree ({workload}): prices {ql_err:.2e} relative"
        )
    if not max(ql_dur, ql_conv) < QUANTLIB_RISK_TOL:
        raise AssertionError(
            f"QuantLib and the engine disagree ({workload}): duration {ql_dur:.2e}, "
            f"convexity {ql_conv:.2e}"
        )
    out: dict[str, Any] = {
        "quantlib": {
            "rate": ql.rate,
            "rate_price_only": ql.bond_scenarios / ql.price_only_seconds,
            "sample": [len(idx), n_s],
            "sample_book": ql_book,
            "repeats": max(repeats, 1),
            "max_rel_price_diff": ql_err,
            "max_rel_duration_diff": ql_dur,
            "max_rel_convexity_diff": ql_conv,
            "checked": True,
            "note": "sampled, extrapolated",
            "method": "FixedRateBond + DiscountingBondEngine on a "
            "SpreadedLinearZeroInterpolatedTermStructure (SimpleQuote spreads at the shock "
            "tenors) over a ZeroCurve; price only: 1 NPV per bond and scenario; with effective "
            "duration and convexity from +-1 bp parallel bumps of the shocked curve: 3 NPVs",
        },
        "numpy": {},
    }
    for bonds in book_sizes:
        prep = (
            prepared
            if bonds == ql_book
            else prepare(workloads.book(bonds, workload=workload), market)
        )
        s_np = _no_fx(workloads.scenarios(max(1, min(n_s, 10_000_000 // bonds // 10))))
        npb = baselines.numpy_baseline(prep, s_np)
        eng = _engine_local(prep, s_np)
        del prep
        err = _max_rel(npb.prices, eng["price"])
        risk = max(
            _max_rel(npb.duration, eng["duration"]), _max_rel(npb.convexity, eng["convexity"])
        )
        print(
            f"numpy ({workload}) {bonds:>9,} bonds: {npb.rate:.3g} bond-scenarios/s; max rel. "
            f"diff vs engine: price {err:.1e}, duration/convexity {risk:.1e}",
            flush=True,
        )
        if not max(err, risk) < NUMPY_TOL:
            raise AssertionError(
                f"numpy baseline and the engine disagree ({workload}): price {err:.2e}, "
                f"risk {risk:.2e}"
            )
        out["numpy"][str(bonds)] = {
            "rate": npb.rate,
            "scenarios": len(s_np),
            "max_rel_price_diff": err,
            "max_rel_risk_diff": risk,
            "checked": True,
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


def _load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


#: Timings shorter than this are left out of the noise estimate (thread wake-ups dominate).
NOISE_MIN_SECONDS = 0.05


def _repeat_spread(cases: list[dict[str, Any]]) -> dict[str, float] | None:
    """How far the timed repeats of a case spread: (slowest - fastest) / fastest, the median
    and the largest over the cases with more than one repeat of at least
    ``NOISE_MIN_SECONDS`` (engine and plain numba)."""
    spreads = [
        max(t) / min(t) - 1.0
        for c in cases
        for t in (c["times"], c["plain_numba"]["times"])
        if len(t) > 1 and min(t) >= NOISE_MIN_SECONDS
    ]
    if not spreads:
        return None
    return {"median": float(np.median(spreads)), "max": float(np.max(spreads))}


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


def _batch(bonds: int, n_s: int) -> dict[str, Any]:
    """The job a risk team runs: ``stress run --portfolio book.parquet --scenarios
    set.parquet --out DIR`` in a fresh process on a dense book of ``bonds`` positions and
    ``n_s`` generated scenarios, on the bundled market: wall clock including imports,
    loading, validation, the sharded run, analytics and the files written, and the process's
    peak RSS. An untimed run of the same job on at most 10k positions first compiles what
    the batch path alone uses (analytics, threaded at that size). A job killed by a signal
    or stopped after ``CASE_TIMEOUT_S`` comes back as ``{"failed": why}``."""
    with tempfile.TemporaryDirectory() as tmp:
        scen = Path(tmp, "set.parquet")
        shocks.write_parquet(workloads.scenarios(n_s), scen)
        for n in (min(bonds, 10_000), bonds):
            book, out = Path(tmp, f"book{n}.parquet"), Path(tmp, f"out{n}")
            workloads.book_frame(n, workload="dense").write_parquet(book)
            job = _cli_job(["run", "--portfolio", str(book), "--scenarios", str(scen),
                            "--out", str(out)])  # fmt: skip
            if "failed" in job:
                print(f"batch `stress run --out` {n:,} x {n_s:,}: {job['failed']}", flush=True)
                return {"positions": bonds, "scenarios": n_s, **job}
        rows = pl.read_parquet(out / "summary.parquet").height
    if rows != n_s:
        raise AssertionError(f"the batch job wrote {rows} summary rows for {n_s} scenarios")
    print(f"batch `stress run --out`: {bonds:,} dense positions x {n_s:,} scenarios in "
          f"{job['seconds']:.1f} s, peak RSS {job['peak_rss_mb']:,.0f} MB", flush=True)
    return {"positions": bonds, "scenarios": n_s, **job}


def _cli_job(args: list[str]) -> dict[str, Any]:
    """``stress`` with ``args`` in a fresh process (``_in_fresh_process``): wall seconds and
    its peak RSS (MB), or ``{"failed": why}``."""
    code = ("import sys; from stress.cli import main; from benchmarks.measure import "
            "peak_rss; rc = main(sys.argv[1:]); print(f'PEAK_RSS_MB {peak_rss():.0f}', "
            "file=sys.stderr); sys.exit(rc)")  # fmt: skip
    done = _in_fresh_process(code, args, f"`stress {' '.join(args)}`")
    if isinstance(done, str):
        return {"failed": done}
    process, seconds = done
    peak = [line.split()[1] for line in process.stderr.splitlines()
            if line.startswith("PEAK_RSS_MB ")]  # fmt: skip
    return {"seconds": seconds, "peak_rss_mb": float(peak[-1])}


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


#: The session what-if's trade: a 10-year USD corporate maturing off the cycles (30/360).
SESSION_TRADE = {
    "position_id": ["NEW_CORP"],
    "instrument": ["bond"],
    "currency": ["USD"],
    "notional": [25e6],
    "coupon": [5.125],
    "maturity": ["2036-04-09"],
    "convention": ["USD_CORP"],
    "spread_bp": [135.0],
}


def _session_what_if(bonds: int, n_s: int) -> dict[str, Any]:
    """``stress.Session(book, market, scenarios).what_if(trade)`` for one trade against a
    prepared dense book of ``bonds`` positions x ``n_s`` scenarios: median ms (warm) with the
    trade as a DataFrame (validated on each call) and as an already loaded Portfolio. The
    answer is checked against a fresh run of the trade alone."""
    market = workloads.market()
    book = workloads.book(bonds, workload="dense")
    scen = workloads.scenarios(n_s)
    t = time.perf_counter()
    session = stress.Session(book, market, scen)
    build = time.perf_counter() - t
    trade = pl.DataFrame(SESSION_TRADE)
    loaded = portfolios.load(trade, valuation_date=market.valuation_date)
    frame_ms = 1000 * median_time(lambda: session.what_if(trade), WHAT_IF_RUNS)
    loaded_ms = 1000 * median_time(lambda: session.what_if(loaded), WHAT_IF_RUNS)
    got = session.what_if(loaded).pnl
    want = run_prepared(prepare(loaded, market), scen).summary["pnl"].to_numpy()
    diff = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-300))
    print(
        f"session what-if: one trade vs {bonds:,} dense positions x {n_s:,} scenarios: "
        f"{frame_ms:.2f} ms (DataFrame, validated), {loaded_ms:.2f} ms (loaded Portfolio); "
        f"session built in {build:.1f} s; P&L agrees with a fresh run to {diff:.0e}",
        flush=True,
    )
    if not diff < SESSION_TOL:
        raise AssertionError(f"session what-if and a fresh run of the trade disagree: {diff:.2e}")
    return {
        "positions": bonds,
        "scenarios": n_s,
        "trade": "10Y USD corporate (30/360, 135 bp spread)",
        "frame_ms": frame_ms,
        "loaded_ms": loaded_ms,
        "session_build_seconds": build,
        "max_rel_pnl_diff": diff,
        "checked": True,
    }


def _targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    def case(b: int, s: int, mode: str) -> dict[str, Any] | None:
        return next(
            (
                c
                for c in results["cases"]
                if (c["workload"], c["bonds"], c["scenarios"], c["mode"]) == ("dense", b, s, mode)
            ),
            None,
        )

    def failure(b: int, s: int, mode: str) -> str | None:
        return next(
            (
                f"failed: {f['why']}"
                for f in results["failed"]
                if (f["workload"], f["bonds"], f["scenarios"], f["mode"]) == ("dense", b, s, mode)
            ),
            None,
        )

    def row(target: str, value: str | None, met: bool | None) -> dict[str, Any]:
        return {"target": target, "value": value, "met": met}

    def quantlib_target(b: int, s: int, mode: str, x: float) -> dict[str, Any]:
        name = (
            f"{mode} {_short(b)} x {_short(s)} (dense) >= {x:,.0f}x QuantLib (price only; "
            "3-NPV ratio beside)"
        )
        c = case(b, s, mode)
        if c is None:
            return row(name, failure(b, s, mode), False if failure(b, s, mode) else None)
        r = c["ratio_quantlib_price_only"]
        return row(name, f"{r:,.0f}x (3 NPVs: {c['ratio_quantlib']:,.0f}x)", r >= x)

    rows = [
        quantlib_target(*TARGET_POSITIONS[:2], "positions", TARGET_POSITIONS[2]),
        quantlib_target(*TARGET_SUMMARY[:2], "summary", TARGET_SUMMARY[2]),
    ]
    b, s, secs, rss = TARGET_LARGE
    name = (
        f"summary {_short(b)} x {_short(s)} (dense) end to end < {secs:.0f} s, peak RSS < "
        f"{rss / 1024:.0f} GB"
    )
    c = case(b, s, "summary")
    if c is None:
        fail = failure(b, s, "summary")
        rows.append(row(name, fail, False if fail else None))
    else:
        rows.append(
            row(
                name,
                f"{c['end_to_end_seconds']:.1f} s, {c['peak_rss_mb'] / 1024:.2f} GB",
                c["end_to_end_seconds"] < secs and c["peak_rss_mb"] < rss,
            )
        )
    name = "engine no slower than the plain numba baseline on any case, both modes"
    if results["cases"]:
        slow = min(results["cases"], key=lambda c: c["ratio_plain_numba"])
        n_met = sum(c["ratio_plain_numba"] >= 1.0 for c in results["cases"])
        rows.append(
            row(
                name,
                f"{n_met} of {len(results['cases'])} cases; slowest "
                f"{slow['ratio_plain_numba']:.3g}x ({slow['workload']} {slow['mode']} "
                f"{_short(slow['bonds'])} x {_short(slow['scenarios'])})",
                n_met == len(results["cases"]),
            )
        )
    else:
        rows.append(row(name, None, None))
    if "session_what_if" in results:
        sw = results["session_what_if"]
        full = sw["positions"] >= SESSION_SIZE[0] and sw["scenarios"] >= SESSION_SIZE[1]
        size = (
            ""
            if full
            else f" (measured on {_short(sw['positions'])} x {_short(sw['scenarios'])})"
        )
        for key, how in (("frame_ms", "DataFrame, validated"), ("loaded_ms", "loaded Portfolio")):
            rows.append(
                row(
                    f"Session.what_if one trade ({how}) vs {_short(SESSION_SIZE[0])} dense x "
                    f"{_short(SESSION_SIZE[1])} < {TARGET_SESSION_MS:g} ms",
                    f"{sw[key]:.2f} ms{size}",
                    sw[key] < TARGET_SESSION_MS if full else None,
                )
            )
    if "what_if" in results:
        ms = results["what_if"]["run_ms"]
        rows.append(
            row(
                f"what-if one trade x library < {TARGET_WHAT_IF_MS:g} ms (stress.run, warm)",
                f"{ms:.2f} ms",
                ms < TARGET_WHAT_IF_MS,
            )
        )
    if "cold_start" in results:
        cs = results["cold_start"]
        w = None if "skipped" in cs else cs["warm_cache_s"]
        rows.append(
            row(
                f"`stress run` warm cache < {TARGET_WARM_START_S:g} s",
                None if w is None else f"{w:.2f} s",
                None if w is None else w < TARGET_WARM_START_S,
            )
        )
    return rows


def _short(n: int) -> str:
    """1000 -> '1k', 1000000 -> '1M'."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)
