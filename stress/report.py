"""Terminal reports (rich tables) for analytics and stress results."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

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
    """P&L, its rates/FX/gold/cross parts and duration before -> after of a result row."""
    parts = [_amount(r[c]) for c in ("pnl", "pnl_rates", "pnl_fx", "pnl_gold", "pnl_cross")]
    return [*parts, _arrow(r["duration_before"], r["duration_after"])]


def analytics_table(df: pl.DataFrame, base_currency: str) -> Table:
    """One row per position: price, yield, durations, convexity, DV01 and PVs."""
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
            _amount(r["pv_base"]),
        )
    total = float(df["pv_base"].sum())
    t.add_section()
    t.add_row("total", "", "", "", "", "", "", "", "", _amount(total))
    return t


def scenario_table(summary: pl.DataFrame, base_currency: str, limit: int | None = None) -> Table:
    """Scenarios ranked by P&L, worst first, with attribution and risk before → after."""
    ranked = summary.sort("pnl")
    if limit is not None:
        ranked = ranked.head(limit)
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
    for i, r in enumerate(ranked.iter_rows(named=True), 1):
        t.add_row(
            str(i),
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
    for name in ("position", "P&L", "rates", "FX", "gold", "cross", "duration"):
        t.add_column(name, justify="left" if name == "position" else "right", overflow="fold")
    for r in frame.iter_rows(named=True):
        t.add_row(
            Text(str(r["position_id"])),
            *_attribution(r),
        )
    return t


def print_run_report(console: Console, result: StressResult, limit: int | None) -> None:
    """Scenarios ranked by P&L, and the top contributors of the worst one."""
    parts: list[Table | str] = [scenario_table(result.summary, result.base_currency, limit)]
    if len(result.worst):
        worst = str(result.summary.sort("pnl", maintain_order=True)["scenario"][0])
        parts += ["", contributors_table(result.contributors(worst), worst, result.base_currency)]
    console.print(Group(*parts))
