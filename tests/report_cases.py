"""Inputs for the report tests: hand-made generated sets (historical windows, Monte Carlo), a
reverse-stress result, and hostile text in every place user text can reach a report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

import portfolios
import shocks
from shocks.model import ScenarioSet
from shocks.tenors import parse_tenor

#: Text that must reach the page as text: markup, brackets, quotes, a script end tag.
HOSTILE_SCENARIO = "<script>alert('s')</script>[red]\"q\"&amp;"
HOSTILE_DESCRIPTION = "</script><script>alert(\"d\")</script> [link=x] {{data}} & \u2028 end"
HOSTILE_POSITION = "<img src=x onerror=alert(1)>[b]'\""

HOSTILE_TOML = f"""
[[scenario]]
name = {json.dumps(HOSTILE_SCENARIO)}
description = {json.dumps(HOSTILE_DESCRIPTION)}
source = "<b>bold</b> [source]"
[scenario.rates.USD]
tenors = ["2Y", "10Y"]
bp = [60, 90]
[scenario.fx]
JPY = -5.0
"""

TENORS = ("2Y", "5Y", "10Y", "30Y")
CURVES = ("USD", "JPY", "EUR", "GBP")


def generated(
    n: int, kind: str, seed: int, start: dt.date = dt.date(2019, 1, 2)
) -> ScenarioSet:
    """``n`` seeded scenarios of rate, FX and gold moves: historical 10-day windows named by
    their end date (``kind="historical"``) or Monte Carlo draws (``kind="monte_carlo"``)."""
    rng = np.random.default_rng(seed)
    C, K = len(CURVES), len(TENORS)
    level = rng.normal(0.0, 25.0, size=(n, C, 1))
    bp = level + rng.normal(0.0, 8.0, size=(n, C, K))
    if kind == "historical":
        days = []
        d = start
        while len(days) < n:
            if d.weekday() < 5:
                days.append(d)
            d += dt.timedelta(days=1)
        names = tuple(f"hist_{d.isoformat()}_10d" for d in days)
        descriptions = tuple(f"Historical 10-day change to {d}" for d in days)
    else:
        names = tuple(f"mc_{i:05d}" for i in range(n))
        descriptions = ("Monte Carlo draw",) * n
    return ScenarioSet(
        names=names,
        descriptions=descriptions,
        sources=(f"test {kind}",) * n,
        origins=(f"generator:{kind}",) * n,
        currencies=CURVES,
        tenors=tuple(parse_tenor(t) for t in TENORS),
        bp=bp,
        knots=np.ones((n, C, K), dtype=np.bool_),
        fx_currencies=("EUR", "GBP", "JPY"),
        fx_pct=rng.normal(0.0, 1.5, size=(n, 3)),
        gold_pct=rng.normal(0.0, 2.0, size=n),
    )


def hostile_files(tmp: Path) -> tuple[Path, Path]:
    """A book (the bundled macro book plus a position with a hostile id) and a scenario file
    with a hostile name, description and source."""
    book = pl.read_csv(portfolios.sample_path("global_macro"), infer_schema=False)
    extra = book.filter(pl.col("position_id") == "UST_10Y_2035").with_columns(
        pl.lit(HOSTILE_POSITION).alias("position_id"), pl.lit("30000000").alias("notional")
    )
    book_path = tmp / "book.csv"
    pl.concat([book, extra]).write_csv(book_path)
    scen_path = tmp / "hostile.toml"
    scen_path.write_text(HOSTILE_TOML, encoding="utf-8")
    return book_path, scen_path


def full_scenarios(scen_path: Path, n_hist: int = 260, n_mc: int = 400) -> ScenarioSet:
    """The whole library, a user file, historical windows and Monte Carlo draws."""
    return shocks.load(
        ["all", scen_path, generated(n_hist, "historical", 1), generated(n_mc, "monte_carlo", 2)]
    )


def hand_made_reverse() -> pl.DataFrame:
    """A hand-made reverse-stress result: two solutions, each a few factor moves."""
    rows = []
    for label, scale, distance, pnl in (
        ("loss 50m", 1.0, 2.1, -50_000_000.0),
        ("loss 100m <i>", 1.8, 3.4, -100_000_000.0),
    ):
        for factor, unit, move in (
            ("JPY 10Y", "bp", 35.0),
            ("JPY 40Y", "bp", 60.0),
            ("USD 10Y", "bp", 40.0),
            ("JPY", "%", -3.0),
            ("gold", "%", -6.0),
        ):
            row = {"solution": label, "factor": factor, "unit": unit, "move": move * scale,
                   "distance": distance, "pnl": pnl}  # fmt: skip
            rows.append(row)
    return pl.DataFrame(rows)
