"""Benchmark outputs: results.json, markdown tables per workload and a scaling plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stress.kernels.scenarios import DETAIL

HEADLINE = "dense"


def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = []
    for workload, info in results["workloads"].items():
        lines += _workload_section(results, workload, info)
    groups: dict[tuple[str, str, int], list[str]] = {}
    for s in results.get("skipped", []):
        size = f"{s['bonds']:,} x {s['scenarios']:,}"
        groups.setdefault((s["workload"], s["mode"], s["limit"]), []).append(size)
    for (workload, mode, limit), sizes in groups.items():
        lines.append(
            f"skipped ({workload}, {mode} mode, over {limit:,} bond-scenarios): "
            + ", ".join(sizes)
        )
    for f in results.get("failed", []):
        lines.append(
            f"**failed**: {f['workload']} {f['mode']} {f['bonds']:,} x {f['scenarios']:,} "
            f"({f['why']})"
        )
    if results.get("skipped") or results.get("failed"):
        lines.append("")
    if "cold_start" in results:
        cs = results["cold_start"]
        if "skipped" in cs:
            lines.append(f"cold start: not measured ({cs['skipped']})")
        else:
            lines.append(
                f"cold start `{cs['command']}` (wall clock incl. imports): "
                f"{cs['empty_cache_s']:.2f} s with an empty numba cache, "
                f"{cs['warm_cache_s']:.2f} s warm"
            )
    if "what_if" in results:
        w = results["what_if"]
        lines.append(
            f"what-if (one trade x {w['scenarios']} scenarios, {w['source']}): "
            f"`stress.run` {w['run_ms']:.2f} ms, load + validate + run {w['load_run_ms']:.2f} ms"
        )
    if "mixed" in results:
        mx = results["mixed"]
        lines.append(
            f"mixed book (bonds, FRNs, swaps, futures; spread shocks by sector), "
            f"{mx['n_positions']:,} positions x {mx['scenarios']:,} scenarios: summary "
            f"{mx['summary']['seconds']:.2f} s, positions {mx['positions']['seconds']:.2f} s"
        )
    if "session_what_if" in results:
        sw = results["session_what_if"]
        lines.append(
            f"session what-if (`stress.Session(book, market, scenarios).what_if(trade)`, one "
            f"{sw['trade']} vs a prepared {sw['positions']:,}-position dense book x "
            f"{sw['scenarios']:,} scenarios; median of warm calls): {sw['frame_ms']:.2f} ms "
            f"with the trade as a DataFrame (validated), {sw['loaded_ms']:.2f} ms as a loaded "
            f"Portfolio; the session took {sw['session_build_seconds']:.1f} s to build; P&L "
            f"agrees with a fresh run of the trade to {sw['max_rel_pnl_diff']:.0e}"
        )
    if "batch" in results:
        b = results["batch"]
        measured = (
            f"not measured ({b['failed']})"
            if "failed" in b
            else f"{b['seconds']:.1f} s end to end, peak RSS {b['peak_rss_mb']:,.0f} MB"
        )
        lines.append(
            f"batch job (`stress run --portfolio book.parquet --scenarios set.parquet --out DIR`"
            f" in a fresh process, warm cache, bundled market), {b['positions']:,} dense "
            f"positions x {b['scenarios']:,} scenarios: {measured}"
        )
    if "targets" in results:
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for t in results["targets"]:
            met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
            lines.append(f"| {t['target']} | {t['value'] or 'not run'} | {met} |")
    if "machine" in results:
        m = results["machine"]
        spread = m.get("repeat_spread")
        lines += [
            "",
            f"machine: {m['cpus']} CPUs, Python {m['python']}; load average (1, 5, 15 min) "
            f"{_load(m.get('load_average_before'))} before and "
            f"{_load(m.get('load_average_after'))} after the run; "
            + (
                f"timed repeats of a case (>= 50 ms) spread by {spread['median']:.0%} (median) "
                f"and up to {spread['max']:.0%} (slowest vs fastest)"
                if spread
                else "no case was repeated long enough to show the noise"
            )
            + f"; the run took {m['wall_seconds']:.0f} s.",
        ]
    return "\n".join(lines) + "\n"


def _load(x: list[float] | None) -> str:
    return ", ".join(f"{v:.2f}" for v in x) if x else "unknown"


def _workload_section(results: dict[str, Any], workload: str, info: dict[str, Any]) -> list[str]:
    base = results["baselines"][workload]
    title = f"{workload} (headline)" if workload == HEADLINE else workload
    lines = [
        f"### {title}: {info['description']}",
        "",
        "| bonds | nodes | scenarios | mode | engine s | bond-scen/s | x QuantLib (price only) "
        "| x QuantLib (3 NPVs) | plain numba s | x plain numba | x numpy | build s | end to end s "
        "| peak RSS MB |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cases = [c for c in results["cases"] if c["workload"] == workload]
    for c in cases:
        p = c["plain_numba"]
        lines.append(
            f"| {c['bonds']:,} | {c['nodes']:,} | {c['scenarios']:,} | {c['mode']} | "
            f"{c['seconds']:.4f} | {c['rate']:.3g} | {c['ratio_quantlib_price_only']:,.0f} | "
            f"{c['ratio_quantlib']:,.0f} | {p['seconds']:.4f} | {c['ratio_plain_numba']:.3g} | "
            f"{c['ratio_numpy']:,.1f} | {c['build_seconds']:.3f} | "
            f"{c['end_to_end_seconds']:.2f} | {c['peak_rss_mb']:,.0f} |"
        )
    ql = base["quantlib"]
    lines += [
        "",
        f"QuantLib ({ql['note']}: {ql['sample'][0]} bonds of the {ql['sample_book']:,}-bond "
        f"{workload} book x {ql['sample'][1]} scenarios, median of {ql.get('repeats', 1)} "
        f"passes): {ql['rate_price_only']:.3g} "
        f"bond-scenarios/s for the price alone, {ql['rate']:.3g}/s for price, duration and "
        f"convexity. Method: {ql['method']}. Max relative difference to the engine: price "
        f"{ql['max_rel_price_diff']:.1e}, duration {ql['max_rel_duration_diff']:.1e}, "
        f"convexity {ql['max_rel_convexity_diff']:.1e} (bump error).",
        "",
    ]
    if cases:
        diffs = [c["plain_numba"]["max_rel_diff"] for c in cases]
        worst = {k: max(d[k] for d in diffs) for k in diffs[0]}
        lines += [
            "plain numba (`@njit(parallel=True)` over scenarios: one exp per node, then a loop "
            "over positions for positions mode, over the nodes' summed cashflows for the totals "
            "in summary mode; timed in each case's process on the same book and scenarios; "
            "`x plain numba` is its time over the engine's, > 1 when the engine is faster. The "
            "baseline does less than the engine: its positions mode returns three arrays where "
            f"the engine assembles its {len(DETAIL) + 2}-column frame; its totals leave out the "
            "engine's P&L "
            "attribution and worst positions): "
            f"checked against the engine on all {len(cases)} cases, max relative difference "
            + ", ".join(f"{k} {v:.0e}" for k, v in worst.items())
            + ".",
            "",
        ]
    lines += [
        "numpy (vectorized, no numba; rate per bond-scenario, extrapolated from the scenarios "
        "timed): "
        + ", ".join(
            f"{int(b):,} bonds {v['rate']:.3g}/s over {v['scenarios']} scenarios (price diff "
            f"{v['max_rel_price_diff']:.0e}, risk diff {v['max_rel_risk_diff']:.0e})"
            for b, v in base["numpy"].items()
        )
        + ".",
        "",
    ]
    if base.get("build_seconds"):
        lines += [
            "cashflow build (`prepare`, fastest case): "
            + ", ".join(f"{int(b):,} bonds {t:.3f} s" for b, t in base["build_seconds"].items())
            + ".",
            "",
        ]
    return lines


def write_reports(results: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (out_dir / "results.md").write_text(table)
    _plot(results, out_dir / "scaling.png")
    print()
    print(table)
    print(f"results in {out_dir}/ (results.json, results.md, scaling.png)")


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["workloads"])
    fig, axes = plt.subplots(
        1, len(names), figsize=(6.5 * len(names), 4.8), squeeze=False, sharey=True
    )
    for ax, workload in zip(axes[0], names, strict=True):
        cases = [c for c in results["cases"] if c["workload"] == workload]
        colours = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4)
        for mode, marker in (("summary", "o"), ("positions", "s")):
            for bonds in sorted({c["bonds"] for c in cases}):
                pts = sorted(
                    (c["scenarios"], c["rate"], c["plain_numba"]["rate"])
                    for c in cases
                    if c["mode"] == mode and c["bonds"] == bonds
                )
                if not pts:
                    continue
                colour = next(colours)
                xs = [p[0] for p in pts]
                ax.plot(xs, [p[1] for p in pts], marker=marker, color=colour,
                        label=f"{mode}, {bonds:,} bonds")  # fmt: skip
                ax.plot(xs, [p[2] for p in pts], marker=marker, color=colour, ls=":",
                        alpha=0.5, mfc="none")  # fmt: skip
        ql = results["baselines"][workload]["quantlib"]
        ax.axhline(ql["rate_price_only"], color="grey", ls="--", label="QuantLib (price only)")
        ax.axhline(ql["rate"], color="grey", ls="-.", label="QuantLib (3 NPVs)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("scenarios")
        ax.set_title(f"{workload} book (dotted: plain numba on the same case)", fontsize=9)
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("bond-scenarios per second")
    fig.suptitle("stress engine throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
