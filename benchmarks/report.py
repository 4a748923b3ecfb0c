"""Benchmark outputs: results.json, a markdown ratio table and a scaling plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def markdown(results: dict[str, Any]) -> str:
    base = results["baselines"]
    lines = [
        "| bonds | scenarios | mode | engine s | bond-scen/s | x QuantLib | x QuantLib (price "
        "only) | x numpy | build s | peak RSS MB |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in results["cases"]:
        lines.append(
            f"| {c['bonds']:,} | {c['scenarios']:,} | {c['mode']} | {c['seconds']:.4f} | "
            f"{c['rate']:.3g} | {c['ratio_quantlib']:,.0f} | "
            f"{c['ratio_quantlib_price_only']:,.0f} | {c['ratio_numpy']:,.1f} | "
            f"{c['build_seconds']:.3f} | {c['peak_rss_mb']:,.0f} |"
        )
    ql = base["quantlib"]
    lines += [
        "",
        f"QuantLib ({ql['note']}: {ql['sample'][0]} bonds of the {ql['sample_book']:,}-bond "
        f"book x {ql['sample'][1]} scenarios): {ql['rate']:.3g} bond-scenarios/s for price, "
        f"duration and convexity, {ql['rate_price_only']:.3g}/s for the price alone. "
        f"Method: {ql['method']}. Max relative difference to the engine: price "
        f"{ql['max_rel_price_diff']:.1e}, duration {ql['max_rel_duration_diff']:.1e}, "
        f"convexity {ql['max_rel_convexity_diff']:.1e} (bump error).",
        "",
        "numpy (vectorized, no numba; rate per bond-scenario, extrapolated from the scenarios "
        "timed): "
        + ", ".join(
            f"{int(b):,} bonds {v['rate']:.3g}/s over {v['scenarios']} scenarios (price diff "
            f"{v['max_rel_price_diff']:.0e}, risk diff {v['max_rel_risk_diff']:.0e})"
            for b, v in base["numpy"].items()
        )
        + ".",
        "",
        "cashflow build (`prepare`, fastest case): "
        + ", ".join(f"{int(b):,} bonds {t:.3f} s" for b, t in base["build_seconds"].items())
        + ".",
    ]
    for s in results.get("skipped", []):
        lines.append(f"skipped: {s['mode']} {s['bonds']:,} x {s['scenarios']:,} ({s['why']})")
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
    if "targets" in results:
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for t in results["targets"]:
            met = "n/a" if t["met"] is None else ("yes" if t["met"] else "no")
            lines.append(f"| {t['target']} | {t['value'] or 'not run'} | {met} |")
    return "\n".join(lines) + "\n"


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

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode, marker in (("summary", "o"), ("positions", "s")):
        for bonds in sorted({c["bonds"] for c in results["cases"]}):
            pts = sorted(
                (c["scenarios"], c["rate"])
                for c in results["cases"]
                if c["mode"] == mode and c["bonds"] == bonds
            )
            if pts:
                ax.plot(*zip(*pts, strict=True), marker=marker, label=f"{mode}, {bonds:,} bonds")
    ax.axhline(results["baselines"]["quantlib"]["rate"], color="grey", ls="--", label="QuantLib")
    np_rates = [v["rate"] for v in results["baselines"]["numpy"].values()]
    if np_rates:
        ax.axhline(max(np_rates), color="grey", ls=":", label="numpy (best book size)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("scenarios")
    ax.set_ylabel("bond-scenarios per second")
    ax.set_title("stress engine throughput")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
