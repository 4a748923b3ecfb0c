"""Distributed runs: the overhead of a local Dask cluster against one process at the same core
count, the peak memory of a streamed positions run, and a scaling model for large runs built
from measured per-shard costs and per-task overhead.

``python -m benchmarks.distributed [--bonds 1000000] [--scenarios 1000] [--workers 2]``

Not part of ``python -m benchmarks`` (it starts a cluster and writes gigabytes of Parquet).
Writes ``distributed.json`` and ``distributed.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np

import stress
from benchmarks import workloads
from stress.batch import MAX_TASK_SHARDS, TASKS_PER_WORKER, layout_names
from stress.book import validate
from stress.engine import WORST_SCENARIOS
from stress.evaluate import SHARD_POSITIONS, evaluate, worst_positions
from stress.groups import groupings
from stress.prepare import prepare
from stress.resolve import resolve
from stress.totals import shard_totals, to_arrays

#: The run the scaling model predicts.
TARGET_POSITIONS = 100_000_000
TARGET_SCENARIOS = 10_000
TARGET_WORKERS = (10, 100, 1_000)
#: Assumed network bandwidth between client, scheduler and workers (bytes/s).
BANDWIDTH = 1e9
#: Assumed scheduler cost per task (s): Dask's documented order of magnitude.
SCHEDULER_PER_TASK = 1e-3


def _cpu() -> float:
    """CPU seconds of this process so far, every thread included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def overhead(bonds: int, n_scenarios: int, workers: int, repeats: int) -> dict[str, Any]:
    """Wall time of a summary run in one process (numba on every core) and on a local
    cluster of ``workers`` processes sharing the same cores: runs alternate (the machine's
    load varies) after a warm-up of each, medians of ``repeats``. The cluster's task stream
    gives each task's compute time on its worker."""
    from distributed import Client

    from stress.cluster import local_cluster

    market = workloads.market()
    book = workloads.book(bonds)
    scen = workloads.scenarios(n_scenarios)
    single = stress.run(book, market, scen)  # warm-up: numba's cache loaded
    t_single: list[float] = []
    t_cluster: list[float] = []
    cpu_single: list[float] = []
    cpu_cluster: list[float] = []
    phases: dict[str, list[float]] = {}
    same = True
    with local_cluster(workers) as cluster, Client(cluster) as client:
        stress.run(book, market, scen, client=client)  # warm-up of the workers
        for _ in range(repeats):
            c0 = _cpu()
            single, t = _timed(lambda: stress.run(book, market, scen))
            t_single.append(t)
            cpu_single.append(_cpu() - c0)
            client.get_task_stream()  # (starts recording)
            begun = time.time()
            # CPU of the client and scheduler (this process) and of every worker process.
            c0, w0 = _cpu(), client.run(_cpu)
            many, t = _timed(lambda: stress.run(book, market, scen, client=client))
            w1 = client.run(_cpu)
            cpu_cluster.append(_cpu() - c0 + sum(w1[w] - w0.get(w, 0.0) for w in w1))
            t_cluster.append(t)
            same = same and single.raw.sums.tobytes() == many.raw.sums.tobytes()
            same = same and single.raw.worst.tobytes() == many.raw.worst.tobytes()
            for task in client.get_task_stream(start=begun):
                name = str(task.get("key", "")).rsplit("-", 1)[0]
                if name in ("sums_task", "finish_task"):
                    phases.setdefault(name, []).extend(
                        s["stop"] - s["start"] for s in task["startstops"]
                        if s["action"] == "compute"
                    )
    single_s, cluster_s = float(np.median(t_single)), float(np.median(t_cluster))
    n_tasks = sum(len(v) for v in phases.values()) / repeats
    compute = sum(sum(v) for v in phases.values()) / repeats
    return {
        "bonds": bonds,
        "scenarios": n_scenarios,
        "workers": workers,
        "cores": os.cpu_count(),
        "repeats": repeats,
        "single_seconds": single_s,
        "single_all": t_single,
        "cluster_seconds": cluster_s,
        "cluster_all": t_cluster,
        "overhead_pct": 100.0 * (cluster_s / single_s - 1.0),
        "single_cpu_seconds": float(np.median(cpu_single)),
        "cluster_cpu_seconds": float(np.median(cpu_cluster)),
        "cpu_overhead_pct": 100.0 * (float(np.median(cpu_cluster))
                                     / float(np.median(cpu_single)) - 1.0),
        "bit_identical": same,
        "tasks": n_tasks,
        "task_compute_seconds": compute,
        "task_seconds": {k: float(np.median(v)) for k, v in phases.items()},
    }


def shard_costs(n_scenarios: int) -> dict[str, Any]:
    """One full shard (SHARD_POSITIONS positions) on one core: layout, its node weights (a
    first-pass task's work), the sums of every scenario over them (the client's work per
    scenario: a whole book's merged weights span about as many nodes as a shard's), the
    second pass (worst positions of WORST_SCENARIOS scenarios), and the client's validation
    per position."""
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    market = workloads.market()
    book = workloads.book(SHARD_POSITIONS)
    scen = workloads.scenarios(n_scenarios)
    prepare(book, market)
    prepared, t_prep = _timed(lambda: prepare(book, market))
    groups = groupings(book, (), prepared.book.cashflows.valuation_day)
    curves, currencies = layout_names(book)
    shocks = resolve(scen, market, curves, currencies)
    parts, t_weights = _timed(lambda: shard_totals(prepared, groups, SHARD_POSITIONS))
    weights_bytes = sum(np.asarray(a).nbytes for a in to_arrays(parts[0]).values())
    evaluate(prepared, shocks.select(np.arange(8)), groups, worst_scenarios=0)
    _, t_sums = _timed(lambda: evaluate(prepared, shocks, groups, worst_scenarios=0))
    chosen = shocks.select(np.arange(min(WORST_SCENARIOS, n_scenarios)))
    _, t_worst = _timed(lambda: worst_positions(prepared, chosen, 10))
    _, t_validate = _timed(lambda: validate(book, market))
    numba.set_num_threads(threads)
    per_shard_bytes = book.frame.estimated_size()
    return {
        "shard_positions": SHARD_POSITIONS,
        "scenarios": n_scenarios,
        "prepare_seconds": t_prep,
        "weights_seconds": t_weights,
        "weights_bytes": weights_bytes,
        "sums_seconds": t_sums,
        "sums_seconds_per_scenario": t_sums / n_scenarios,
        "worst_seconds": t_worst,
        "validate_seconds_per_position": t_validate / SHARD_POSITIONS,
        "shard_input_bytes": per_shard_bytes,
    }


def model(
    costs: dict[str, Any], per_task: float, workers: int, slowdown: float = 1.0
) -> dict[str, Any]:
    """Predicted wall time of a TARGET_POSITIONS x TARGET_SCENARIOS summary run on
    ``workers`` single-core workers, tasks grouped as ``stress.batch`` groups them (up to
    MAX_TASK_SHARDS shards a task, TASKS_PER_WORKER tasks a worker). A first-pass task lays
    out its shards and forms their node weights; the client merges them and sums every
    scenario once, on one core (as a shard's sums: the book's nodes are about a shard's); a
    second-pass task finds the worst positions of 100 scenarios on the layouts the worker
    kept. ``slowdown`` scales the one-process costs to what a worker measured."""
    n_shards = math.ceil(TARGET_POSITIONS / costs["shard_positions"])
    k = max(1, min(MAX_TASK_SHARDS, n_shards // (TASKS_PER_WORKER * workers)))
    blocks = math.ceil(n_shards / k)
    tasks1 = blocks
    task1 = k * slowdown * (costs["prepare_seconds"] + costs["weights_seconds"]) + per_task
    task2 = k * slowdown * costs["worst_seconds"] + per_task
    waves1 = math.ceil(tasks1 / workers)
    waves2 = math.ceil(blocks / workers)
    # Serial on the client: validation, shipping the positions, receiving and merging the
    # shards' node weights, the sums, scheduling every task.
    validate_s = costs["validate_seconds_per_position"] * TARGET_POSITIONS
    ship_s = costs["shard_input_bytes"] * n_shards / BANDWIDTH
    weights_bytes = costs["weights_bytes"] * n_shards
    reduce_s = (weights_bytes / BANDWIDTH + weights_bytes / 5e9
                + costs["sums_seconds_per_scenario"] * TARGET_SCENARIOS)
    schedule_s = (tasks1 + blocks) * SCHEDULER_PER_TASK
    compute_s = waves1 * task1 + waves2 * task2
    client_s = validate_s + ship_s + reduce_s + schedule_s
    wall = client_s + compute_s
    return {
        "workers": workers,
        "shards_per_task": k,
        "tasks": tasks1 + blocks,
        "waves": [waves1, waves2],
        "compute_seconds": compute_s,
        "client_seconds": client_s,
        "wall_seconds": wall,
        "efficiency": (tasks1 * task1 + blocks * task2) / workers / wall,
    }


def streamed_memory(bonds: int, scenario_counts: list[int]) -> list[dict[str, Any]]:
    """Peak RSS of ``stress run --detail positions --out`` in its own process (single
    process, no cluster) on ``bonds`` positions, for several scenario counts: the detail is
    streamed to Parquet parts, so the peak should not grow with the scenarios."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        book = tmp / "book.parquet"
        workloads.book_frame(bonds).write_parquet(book)
        market = tmp / "market.toml"
        market.write_text(_market_toml())
        for n in scenario_counts:
            scen = tmp / f"scen{n}.parquet"
            import shocks

            shocks.write_parquet(workloads.scenarios(n), scen)
            target = tmp / f"out{n}"
            # The child's own peak (VmHWM, reset by exec), not ru_maxrss (which keeps this
            # large parent's peak across the fork).
            code = (
                "import re, sys; from stress.cli import main; "
                "code = main(sys.argv[1:]); "
                "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()); "
                "print('RSS', hwm.group(1)); "
                "sys.exit(code)"
            )
            args = ["run", "-p", str(book), "-m", str(market), "-s", str(scen), "--detail",
                    "positions", "--out", str(target)]  # fmt: skip
            t = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
            )
            seconds = time.perf_counter() - t
            rss = int(next(x for x in done.stdout.split("\n") if x.startswith("RSS")).split()[1])
            size = sum(p.stat().st_size for p in (target / "positions").iterdir())
            out.append({"bonds": bonds, "scenarios": n, "rows": bonds * n,
                        "peak_rss_mb": rss / 1024, "seconds": seconds,
                        "parquet_mb": size / 2**20})  # fmt: skip
            shutil.rmtree(target)
    return out


def _market_toml() -> str:
    m = workloads.market()
    lines = [f'valuation_date = "{m.valuation_date.isoformat()}"',
             f'base_currency = "{m.base_currency}"']  # fmt: skip
    for c, curve in m.curves.items():
        lines += [f"[curves.{c}]", 'type = "zero"',
                  f"tenors = [{', '.join(repr(float(t)) for t in curve.times)}]",
                  f"rates = [{', '.join(repr(float(r) * 100) for r in curve.rates)}]"]  # fmt: skip
    lines.append("[fx]")
    for c, v in m.usd_value.items():
        if c != "USD":
            lines.append(f"USD{c} = {1.0 / v!r}")
    if m.gold_usd:
        lines += ["[gold]", f"XAUUSD = {m.gold_usd!r}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__)
    p.add_argument("--bonds", type=int, default=1_000_000)
    p.add_argument("--scenarios", type=int, default=1_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--memory-bonds", type=int, default=1_000_000)
    p.add_argument("--memory-scenarios", type=int, nargs="*", default=[10, 40])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="recompute the model and report from an earlier distributed.json",
    )
    args = p.parse_args()
    if args.from_json is not None:
        results = json.loads(args.from_json.read_text())
    else:
        results = {"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count()}
        results["overhead"] = overhead(args.bonds, args.scenarios, args.workers, args.repeats)
        print(json.dumps(results["overhead"], indent=1))
        results["shard_costs"] = shard_costs(args.scenarios)
        print(json.dumps(results["shard_costs"], indent=1))
        if args.memory_scenarios:
            results["memory"] = streamed_memory(args.memory_bonds, args.memory_scenarios)
            print(json.dumps(results["memory"], indent=1))
    o, costs = results["overhead"], results["shard_costs"]
    # Per-task overhead: the cluster's wall time beyond its tasks' compute shared out over
    # the workers, per task (scheduling, transfers, the client's validation and reduction).
    per_task = max(0.0, o["cluster_seconds"] - o["task_compute_seconds"] / o["workers"]) * \
        o["workers"] / max(o["tasks"], 1)  # fmt: skip
    results["per_task_overhead_seconds"] = per_task
    # The same first-pass work measured in one process (one thread, per shard) and on the
    # workers (per task of several shards): the ratio is the workers' slowdown from sharing
    # the cores with each other (and with other users of the machine).
    n_shards = math.ceil(o["bonds"] / costs["shard_positions"])
    first_tasks = o["tasks"] / 2 if "finish_task" in o["task_seconds"] else o["tasks"]
    per_task_shards = n_shards / max(first_tasks, 1)
    in_process = costs["prepare_seconds"] + costs["weights_seconds"]
    on_worker = o["task_seconds"].get("sums_task", in_process * per_task_shards)
    slowdown = max(1.0, on_worker / (per_task_shards * in_process))
    results["shards_per_task"] = per_task_shards
    results["worker_slowdown"] = slowdown
    results["model"] = [model(costs, per_task, w) for w in TARGET_WORKERS]
    results["model_measured_on_workers"] = [
        model(costs, per_task, w, slowdown) for w in TARGET_WORKERS
    ]
    print(json.dumps(results["model"], indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "distributed.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "distributed.md").write_text(report(results))
    print(report(results))


def report(r: dict[str, Any]) -> str:
    o = r["overhead"]
    c = r["shard_costs"]
    ts = o["task_seconds"]
    lines = [
        f"# Distributed runs ({r['date']}, {r['cores']} cores)",
        "",
        f"{o['bonds']:,} bonds x {o['scenarios']:,} scenarios, summary, median of "
        f"{o['repeats']} alternating runs: one process {o['single_seconds']:.1f} s, "
        f"{o['workers']} local workers {o['cluster_seconds']:.1f} s "
        f"({o['overhead_pct']:+.0f} %; all runs: one process "
        f"{', '.join(f'{x:.1f}' for x in o['single_all'])} s, cluster "
        f"{', '.join(f'{x:.1f}' for x in o['cluster_all'])} s); {o['tasks']:.0f} tasks; "
        f"bit-identical: {o['bit_identical']}. CPU time (every process and thread): one "
        f"process {o['single_cpu_seconds']:.1f} s, cluster {o['cluster_cpu_seconds']:.1f} s "
        f"({o['cpu_overhead_pct']:+.0f} %).",
        "",
        f"One shard of {c['shard_positions']:,} positions on one core, in one process: layout "
        f"{c['prepare_seconds']:.3f} s, node weights {c['weights_seconds']:.3f} s "
        f"({c['weights_bytes'] / 1e6:.1f} MB), sums {c['sums_seconds_per_scenario'] * 1e3:.3f} "
        f"ms per scenario, worst positions of {WORST_SCENARIOS} scenarios "
        f"{c['worst_seconds']:.3f} s; client validation "
        f"{c['validate_seconds_per_position'] * 1e6:.2f} us per position. On the workers: "
        f"first-pass task {ts.get('sums_task', float('nan')):.2f} s, second-pass task "
        f"{ts.get('finish_task', float('nan')):.2f} s (median, {r['shards_per_task']:.0f} "
        f"shards a task; x{r['worker_slowdown']:.1f} the one-process cost per shard); per-task "
        "overhead "
        f"{r['per_task_overhead_seconds'] * 1e3:.0f} ms.",
        "",
    ]
    for title, rows in (
        ("shard costs measured in one process", r["model"]),
        ("shard costs as measured on the workers", r["model_measured_on_workers"]),
    ):
        lines += [
            f"Predicted {TARGET_POSITIONS:,} positions x {TARGET_SCENARIOS:,} scenarios "
            f"(summary), {title}:",
            "",
            "| workers | shards a task | tasks | compute | client | wall | efficiency |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for m in rows:
            lines.append(
                f"| {m['workers']:,} | {m['shards_per_task']} | {m['tasks']:,} | "
                f"{m['compute_seconds']:,.0f} s | "
                f"{m['client_seconds']:,.0f} s | {m['wall_seconds']:,.0f} s | "
                f"{m['efficiency']:.0%} |"
            )
        lines.append("")
    if "memory" in r:
        lines += ["| streamed positions run (one process) | rows | peak RSS | time | Parquet |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        for m in r["memory"]:
            lines.append(
                f"| {m['bonds']:,} x {m['scenarios']:,} | {m['rows']:,} | "
                f"{m['peak_rss_mb']:,.0f} MB | {m['seconds']:.0f} s | {m['parquet_mb']:,.0f} MB |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
