"""Terminal reports (rich tables) for analytics and stress results."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from stress.families import BY_KEY, JGB_2026, ORDER, families_of
from stress.reportdata import generated_risk
from stress.result import StressResult


def _amount(x: float | None) -> Text:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return Text("-", style="dim")
    x = x if abs(x) >= 0.5 else 0.0  # no "-0" for rounding noise
    return Text(f"{x:,.0f}", style="red" if x < 0 else "")


def _num(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def _arrow(before: float | None, after: float | None, digits: int = 2) -> str:
    return f"{_num(before, digits)} → {_num(after, digits)}"


def _attribution(r: dict[str, Any]) -> list[Text | str]:
    """P&L, its rates/spread/FX/gold/cross parts and duration before -> after of a result
    row."""
    parts = [_amount(r[c]) for c in ("pnl", "pnl_rates", "pnl_spread", "pnl_fx", "pnl_gold",
                                     "pnl_cross")]
    return [*parts, _arrow(r["duration_before"], r["duration_after"])]


def analytics_table(df: pl.DataFrame, base_currency: str) -> Table:
    """One row per position: price (a future's: the theoretical futures price), yield,
    durations, convexity, DV01, spread duration, CS01 and PVs."""
    t = Table(title="Position analytics", title_justify="left", header_style="bold")
    for name in (
        "position",
        "ccy",
        "notional",
        "clean",
        "ytm %",
        "mod dur",
        "convexity",
        "eff dur",
        "DV01 (ccy)",
        "sprd dur",
        "CS01 (ccy)",
        f"PV ({base_currency})",
    ):
        t.add_column(
            name, justify="left" if name in ("position", "ccy") else "right", overflow="fold"
        )
    for r in df.iter_rows(named=True):
        t.add_row(
            Text(r["position_id"]),
            r["currency"],
            _amount(r["notional"]),
            _num(r["clean_price"], 3),
            _num(r["ytm"], 3),
            _num(r["modified_duration"]),
            _num(r["convexity"], 1),
            _num(r["effective_duration"]),
            _amount(r["dv01"]),
            _num(r["spread_duration"]),
            _amount(r["cs01"]),
            _amount(r["pv_base"]),
        )
    total = float(df["pv_base"].sum())
    t.add_section()
    t.add_row("total", "", "", "", "", "", "", "", "", "", "", _amount(total))
    return t


def ranked_by_family(
    summary: pl.DataFrame, families: list[str], shown: set[str] | None = None
) -> list[tuple[str, int, list[tuple[int, dict[str, Any]]]]]:
    """Scenarios grouped by family (``stress.families`` order), ranked by P&L within each,
    worst first: per family its key, its number of scenarios and the (overall rank, summary
    row) pairs of those in ``shown`` (default all). Rank 1 is the worst of the whole run."""
    order = summary.with_columns(pl.Series("family", families, dtype=pl.String)).with_row_index(
        "i").sort("pnl", maintain_order=True)  # fmt: skip
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    counts: dict[str, int] = {}
    for rank, r in enumerate(order.iter_rows(named=True), 1):
        counts[r["family"]] = counts.get(r["family"], 0) + 1
        if shown is None or str(r["scenario"]) in shown:
            groups.setdefault(r["family"], []).append((rank, r))
    keys = sorted(counts, key=lambda k: ORDER[k])
    return [(k, counts[k], groups.get(k, [])) for k in keys]


def scenario_table(
    summary: pl.DataFrame,
    base_currency: str,
    families: list[str],
    shown: set[str] | None = None,
) -> Table:
    """Scenarios grouped by family and ranked by P&L within each, worst first, with
    attribution and risk before → after; ``#`` is the rank in the whole run."""
    t = Table(
        title=f"Scenarios ranked by P&L ({base_currency})",
        title_justify="left",
        header_style="bold",
    )
    for name in (
        "#",
        "scenario",
        "P&L",
        "rates",
        "spread",
        "FX",
        "gold",
        "cross",
        "duration",
        "convexity",
        "DV01",
        "Taylor est.",
        "residual",
    ):
        t.add_column(name, justify="left" if name == "scenario" else "right", overflow="fold")
    for n, (key, count, rows) in enumerate(ranked_by_family(summary, families, shown)):
        if not rows:
            continue
        if n:
            t.add_section()
        note = f"{count}" if len(rows) == count else f"{len(rows)} of {count} shown"
        t.add_row("", Text(f"{BY_KEY[key].label} ({note})", style="bold"))
        for rank, r in rows:
            t.add_row(
                str(rank),
                Text(str(r["scenario"])),
                *_attribution(r),
                _arrow(r["convexity_before"], r["convexity_after"], 1),
                _arrow(r["dv01_before"], r["dv01_after"], 0),
                _amount(r["taylor_pnl"]),
                _amount(r["taylor_residual"]),
            )
    return t


def contributors_table(frame: pl.DataFrame, scenario: str, base_currency: str) -> Table:
    t = Table(
        title=Text(f"Top contributors in the worst scenario, {scenario} ({base_currency})"),
        title_justify="left",
        header_style="bold",
    )
    for name in ("position", "P&L", "rates", "spread", "FX", "gold", "cross", "duration"):
        t.add_column(name, justify="left" if name == "position" else "right", overflow="fold")
    for r in frame.iter_rows(named=True):
        t.add_row(
            Text(str(r["position_id"])),
            *_attribution(r),
        )
    return t


def currency_table(by_currency: pl.DataFrame, scenario: str, base_currency: str) -> Table:
    """Per position currency in ``scenario``: P&L, DV01, duration and convexity before → after
    (DV01 in the base currency; a book-wide duration of a long-short book means little)."""
    t = Table(
        title=Text(f"DV01 by currency in the worst scenario, {scenario} ({base_currency})"),
        title_justify="left",
        header_style="bold",
    )
    for name in ("currency", "P&L", "PV before", "DV01", "duration", "convexity"):
        t.add_column(name, justify="left" if name == "currency" else "right", overflow="fold")
    rows = by_currency.filter(pl.col("scenario").cast(pl.String) == scenario)
    for r in rows.iter_rows(named=True):
        t.add_row(
            Text(str(r["currency"])),
            _amount(r["pnl"]),
            _amount(r["pv_before"]),
            _arrow(r["dv01_before"], r["dv01_after"], 0),
            _arrow(r["duration_before"], r["duration_after"]),
            _arrow(r["convexity_before"], r["convexity_after"], 1),
        )
    return t


def risk_table(risk: pl.DataFrame, counts: dict[str, int], base_currency: str) -> Table:
    """VaR and ES per generated family (losses positive)."""
    t = Table(
        title=f"VaR and expected shortfall of generated scenarios ({base_currency}, losses "
        "positive)",
        title_justify="left",
        header_style="bold",
    )
    for name in ("family", "scenarios", "level", "VaR", "ES", "tail", "worst"):
        t.add_column(name, justify="left" if name in ("family", "worst") else "right")
    for r in risk.iter_rows(named=True):
        t.add_row(
            BY_KEY[r["family"]].label,
            f"{counts[r['family']]:,}",
            f"{r['level']:.1%}",
            _amount(r["var"]),
            _amount(r["es"]),
            str(r["tail"]),
            Text(str(r["worst_scenario"])),
        )
    return t


def print_run_report(
    console: Console, result: StressResult, top: int | None, *, family_risk: bool = True
) -> None:
    """Scenarios ranked by P&L within their families (the ``top`` worst of the run, and the
    January 2026 JGB episode whatever its rank), the top contributors and the per-currency
    DV01 of the worst one, and (``family_risk``) VaR/ES of each generated family."""
    summary = result.summary
    scen = result.scenarios
    base = result.base_currency
    families = families_of(scen.names, scen.origins, scen.descriptions)
    S = summary.height
    limit = top if top is not None and top < S else None
    ranked = summary.sort("pnl", maintain_order=True)["scenario"].cast(pl.String).to_list()
    shown = set(ranked if limit is None else ranked[:limit])
    pinned = JGB_2026 in scen.names and JGB_2026 not in shown
    if pinned:
        shown.add(JGB_2026)
    parts: list[Table | str] = [scenario_table(summary, base, families, shown)]
    if S and len(result.worst):
        worst = ranked[0]
        parts += ["", contributors_table(result.contributors(worst), worst, base)]
    if S and "currency" in result.groups:
        # The worst scenario's rows alone: every scenario's would be a frame of S x currencies.
        rows = result.groups.rows("currency", np.array([scen.names.index(ranked[0])]))
        if rows.height:
            parts += ["", currency_table(rows, ranked[0], base)]
    risk = generated_risk(summary, families) if family_risk else summary.head(0)
    if risk.height:
        counts = {k: families.count(k) for k in set(families)}
        parts += ["", risk_table(risk, counts, base)]
    console.print(Group(*parts))
    if limit is not None:
        console.print(f"(the {limit:,} worst of {S:,} scenarios; --top N shows more)")
    if pinned:
        rank = ranked.index(JGB_2026) + 1
        console.print(
            f"({JGB_2026}, the January 2026 JGB episode, is shown whatever its rank: #{rank})"
        )
