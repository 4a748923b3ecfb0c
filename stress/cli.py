"""The ``stress`` command line: analytics, stress runs and the scenario library."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import portfolios
import shocks
from portfolios.problems import PortfolioError, problems_frame
from shocks.parse import ScenarioError
from stress.analytics import analytics
from stress.data import default_market_path
from stress.engine import run_prepared
from stress.groups import GroupingError
from stress.io import FORMATS, OutputError, write_frame
from stress.market import Market, MarketError
from stress.prepare import prepare
from stress.report import analytics_table, print_run_report
from stress.work import run_work, shows_progress

log = logging.getLogger("stress")

DEFAULT_BOOK = "global_macro"

#: The project's own errors: bad inputs, reported in one line with exit code 2. OSError covers
#: files that cannot be read or written (its message names the file).
USER_ERRORS = (PortfolioError, MarketError, ScenarioError, GroupingError, OutputError, OSError)

#: Tenors at which `stress scenarios NAME` shows a curve shift: (label, years).
SHOW_TENORS = (
    ("3M", 0.25),
    ("1Y", 1.0),
    ("2Y", 2.0),
    ("5Y", 5.0),
    ("10Y", 10.0),
    ("20Y", 20.0),
    ("30Y", 30.0),
    ("40Y", 40.0),
)

EPILOG = """\
examples:
  stress run                                   bundled macro book, bundled market, whole library
  stress run --scenarios jgb_meltdown_2026 irrbb --detail positions --out results/
  stress run --portfolio book.csv --market market.toml --skip-invalid --out out/
  stress analytics --portfolio jgb_life_insurer
  stress scenarios                             list the built-in scenario library
  stress scenarios jgb_meltdown_2026           show one scenario's shocks
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stress",
        description="Stress-test bond portfolios against yield-curve, FX and gold scenarios.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--portfolio",
            "-p",
            default=DEFAULT_BOOK,
            metavar="P",
            help="positions file (.csv/.parquet) or a bundled book name "
            f"({', '.join(portfolios.sample_names())}); default: {DEFAULT_BOOK}",
        )
        sp.add_argument(
            "--market",
            "-m",
            metavar="M",
            type=Path,
            default=None,
            help="market TOML file; default: the bundled 2026-01-20 market",
        )
        sp.add_argument(
            "--base-currency",
            metavar="CCY",
            default=None,
            help="report in this currency (default: the market's base currency)",
        )
        sp.add_argument(
            "--skip-invalid",
            action="store_true",
            help="value the valid rows and write rejects.csv instead of stopping",
        )

    a = sub.add_parser(
        "analytics",
        help="price, yield, duration, convexity, DV01 per position",
        description="Per-position analytics: clean/dirty price, accrued, yield, "
        "durations, convexity, DV01, PV and key-rate durations.",
    )
    common(a)
    a.add_argument(
        "--out",
        "-o",
        type=Path,
        metavar="FILE",
        help="write the table to FILE (.parquet or .csv) instead of the terminal",
    )

    r = sub.add_parser(
        "run",
        help="run stress scenarios on a portfolio",
        description="Full revaluation of a portfolio under stress scenarios: P&L "
        "split into rates/FX/gold/cross, duration and convexity before and after, "
        "and the duration-convexity estimate beside the exact P&L.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(r)
    r.add_argument(
        "--scenarios",
        "-s",
        nargs="+",
        default=["all"],
        metavar="NAME|FILE",
        help="built-in scenario names or groups, 'all', or TOML files (default: all)",
    )
    r.add_argument(
        "--out",
        "-o",
        type=Path,
        metavar="DIR",
        help="write summary (and positions, rejects) files into DIR",
    )
    r.add_argument(
        "--detail",
        choices=("summary", "positions"),
        default="summary",
        help="positions: also write one row per position and scenario",
    )
    r.add_argument(
        "--format",
        choices=FORMATS,
        default="parquet",
        help="file format of --out (default: parquet)",
    )
    r.add_argument(
        "--top",
        type=int,
        default=25,
        metavar="N",
        help="scenarios shown on the terminal (default: 25, worst first)",
    )

    s = sub.add_parser(
        "scenarios",
        help="list or show the built-in scenario library",
        description="List the built-in scenarios, or show the shocks of some.",
    )
    s.add_argument("names", nargs="*", metavar="NAME|GROUP|FILE")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    err = Console(stderr=True)
    if not err.is_terminal:
        # Logs and CI capture lines whole: a wrapped message breaks grep.
        err = Console(stderr=True, width=1000)
    logging.basicConfig(level=level, format="%(message)s", handlers=[RichHandler(console=err)])
    out = Console()
    if not out.is_terminal:
        # Piped or captured output has no width to fit; never elide numbers.
        out = Console(width=200)
    try:
        if args.command == "analytics":
            return _analytics(args, out, err)
        if args.command == "run":
            return _run(args, out, err)
        return _scenarios(args, out)
    except USER_ERRORS as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
        return 2
    except Exception as exc:
        # Not a problem with the inputs: a bug. Say so, and how to see where it is.
        if args.verbose:
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "This is a bug in stress, not a problem with your inputs; rerun with -v to see "
            "the traceback, and please report it.",
            highlight=False,
            soft_wrap=True,
        )
        return 3


def _inputs(args: argparse.Namespace, err: Console) -> tuple[portfolios.Portfolio, Market]:
    market = Market.load(args.market or default_market_path()).with_base(args.base_currency)
    src = args.portfolio
    path = portfolios.sample_path(src) if src in portfolios.sample_names() else Path(src)
    book = portfolios.load(
        path, valuation_date=market.valuation_date, skip_invalid=args.skip_invalid
    )
    if book.rejected:
        rows = len({p.row for p in book.rejected})
        where = "the rejects file beside --out" if args.out else "--out to write them all"
        err.print(
            f"[yellow]warning:[/] {rows} of {book.n_input_rows} rows rejected "
            f"({len(book.rejected)} problems; see {where})"
        )
        for prob in book.rejected[:10]:
            err.print(f"  - {prob}", highlight=False, markup=False)
        if len(book.rejected) > 10:
            err.print(f"  ... and {len(book.rejected) - 10} more")
    return book, market


def _analytics(args: argparse.Namespace, out: Console, err: Console) -> int:
    book, market = _inputs(args, err)
    table = analytics(book, market)
    if args.out:
        write_frame(table, args.out)
        if book.rejected:
            write_frame(book.rejects, args.out.with_name("rejects.csv"))
        err.print(f"wrote {len(table)} rows to {args.out}")
    else:
        out.print(analytics_table(table, market.base_currency))
    return 0


def _run(args: argparse.Namespace, out: Console, err: Console) -> int:
    start = time.perf_counter()
    book, market = _inputs(args, err)
    scen = shocks.load(args.scenarios)
    prepared = prepare(book, market)
    work = run_work(len(prepared.cashflows.pv), len(book), len(scen))
    with Progress(
        TextColumn("revaluing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scenarios"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not shows_progress(work),
    ) as bar:
        task = bar.add_task("run", total=len(scen))
        result = run_prepared(
            prepared,
            scen,
            detail=args.detail,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    elapsed = time.perf_counter() - start
    worst = str(result.summary.sort("pnl")["scenario"][0])
    contributors = result.contributors(worst, 10)
    print_run_report(
        out,
        result.summary,
        contributors,
        worst,
        market.base_currency,
        args.top if len(scen) > args.top else None,
    )
    if len(scen) > args.top:
        out.print(f"(the {args.top} worst of {len(scen)} scenarios; --top N shows more)")
    if args.out:
        ext = args.format
        written = [write_frame(result.summary, args.out / f"summary.{ext}")]
        if args.detail == "positions":
            written.append(write_frame(result.positions, args.out / f"positions.{ext}"))
        if book.rejected or args.skip_invalid:
            written.append(write_frame(problems_frame(book.rejected), args.out / "rejects.csv"))
        err.print("wrote " + ", ".join(str(w) for w in written))
    err.print(
        f"{len(book)} positions x {len(scen)} scenarios in {elapsed:.2f} s "
        f"(base currency {market.base_currency}, valuation {market.valuation_date})"
    )
    return 0


def _scenarios(args: argparse.Namespace, out: Console) -> int:
    if not args.names:
        lib = shocks.library()
        t = Table(title="Built-in scenarios", title_justify="left", header_style="bold")
        for c in ("group", "scenario", "description"):
            t.add_column(c, overflow="fold")
        for r in lib.sort("group", maintain_order=True).iter_rows(named=True):
            t.add_row(r["group"], r["scenario"], r["description"])
        out.print(t)
        return 0
    scen = shocks.load(args.names)
    for i, name in enumerate(scen.names):
        out.rule(f"[bold]{name}")
        out.print(scen.descriptions[i], highlight=False)
        if scen.sources[i]:
            out.print(f"[dim]source: {scen.sources[i]}", highlight=False)
        t = Table(header_style="bold", title="zero-rate shift (bp)", title_justify="left")
        t.add_column("curve")
        for label, _ in SHOW_TENORS:
            t.add_column(label, justify="right")
        times = np.array([y for _, y in SHOW_TENORS])
        for ci, c in enumerate(scen.currencies):
            if scen.bp[i, ci].any():
                t.add_row(c, *[f"{v:+.0f}" for v in scen.shift_bp(i, c, times)])
        if t.row_count:
            out.print(t)
        for lv in scen.levels:
            if lv.scenario == i:
                out.print(
                    f"{lv.currency} zero rate to "
                    + ", ".join(
                        f"{p:g} % at {t:g}y" for t, p in zip(lv.tenors, lv.pct, strict=True)
                    )
                )
        moves = [
            f"{c} {scen.fx_pct[i, k]:+.2f} %"
            for k, c in enumerate(scen.fx_currencies)
            if scen.fx_pct[i, k]
        ]
        if moves:
            out.print("FX vs USD: " + ", ".join(moves))
        if scen.gold_pct[i]:
            out.print(f"gold: {scen.gold_pct[i]:+.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
