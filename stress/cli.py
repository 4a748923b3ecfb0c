"""The ``stress`` command line: analytics, stress runs and the scenario library.

Every piece of user text (position ids, scenario names and descriptions, error messages) is
printed as plain text, never parsed as terminal markup: the consoles have markup off and
styling is applied with ``rich.text.Text``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
from numba.core import event as numba_event
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

import portfolios
import shocks
from portfolios.model import Portfolio
from portfolios.problems import PortfolioError, Problem
from shocks.errors import HistoryError
from shocks.model import ScenarioSet
from shocks.parse import ScenarioError
from shocks.tenors import parse_tenor
from stress import __version__, cli_history
from stress.analytics import book_analytics
from stress.batch import layout_names
from stress.book import Book, build_book, validate
from stress.data import default_market_path
from stress.engine import WORST_SCENARIOS, load_for, run_prepared
from stress.evaluate import SHARD_POSITIONS, NumericalError
from stress.families import families_of
from stress.groups import GroupingError
from stress.io import FORMATS, OutputError, write_frame
from stress.market import Market, MarketError
from stress.output import MANIFEST, OutputSet
from stress.prepare import prepare_book
from stress.report import analytics_table, print_run_report
from stress.reportdata import (
    REPORT_GROUPINGS,
    ReportData,
    ReportError,
    collect,
    collect_parts,
    detailed_scenarios,
    read,
    read_reverses,
)
from stress.reportdata import write as write_report_data
from stress.resolve import resolve
from stress.result import StressResult
from stress.reverse_stress import ReverseStressError
from stress.risk import RiskError
from stress.work import run_work, shows_progress, usable_cpus

log = logging.getLogger("stress")

DEFAULT_BOOK = "global_macro"

#: The project's own errors: bad inputs, reported in one line with exit code 2. OSError covers
#: files that cannot be read or written (its message names the file).
USER_ERRORS = (
    PortfolioError,
    MarketError,
    ScenarioError,
    HistoryError,
    GroupingError,
    OutputError,
    NumericalError,
    RiskError,
    ReverseStressError,
    ReportError,
    OSError,
)

#: Tenors at which `stress scenarios NAME` shows a curve shift.
SHOW_TENORS = ("3M", "1Y", "2Y", "5Y", "10Y", "20Y", "30Y", "40Y")
#: Columns of prose (scenario descriptions and sources) in `stress scenarios`: prose wraps at
#: a readable width, also into a pipe (a 1,000-column console, so that no figure of a run's
#: tables wraps).
PROSE_WIDTH = 100

EPILOG = """\
examples:
  stress run                                   bundled macro book, bundled market, whole library
  stress run --scenarios jgb_meltdown_2026 irrbb --detail positions --out results/
  stress run --portfolio book.csv --market market.toml --skip-invalid --out out/
  stress run --by currency book --out results/ --format csv
  stress run --report report.html              the same run as a self-contained HTML report
  stress report results/ -o report.html        the HTML report of an earlier --out set
  stress analytics --portfolio jgb_life_insurer
  stress scenarios                             list the built-in scenario library
  stress scenarios jgb_meltdown_2026           show one scenario's shocks on the market
  stress scenarios generate historical --from 2008-01-01 --to 2024-06-30 --horizon 10 \
      --out hist.parquet                       historical windows of the bundled history
  stress run --scenarios hist.parquet --out results/     VaR/ES panel, risk files
  stress run --scenarios jgb_2026 --fill-unshocked       fill what a scenario leaves at zero
  stress reverse --loss 50m --out reverse/     the most plausible move that loses 50m
"""


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return n


def _workers(text: str) -> int:
    """A local cluster's worker count: each is a process, so no more than the CPUs this
    process may run on (99,999 workers started until the machine gave out)."""
    n = _positive(text)
    cpus = usable_cpus()
    if n > cpus:
        raise argparse.ArgumentTypeError(f"expected at most {cpus} (the CPUs here), got {text!r}")
    return n


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stress",
        description="Stress-test bond portfolios against yield-curve, FX and gold scenarios.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    p.add_argument("--version", action="version", version=f"stress {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def market_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--market",
            "-m",
            metavar="M",
            type=Path,
            default=None,
            help="market TOML file; default: the bundled 2026-01-20 market",
        )

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--portfolio",
            "-p",
            default=DEFAULT_BOOK,
            metavar="P",
            help="positions file (.csv/.parquet) or a bundled book name "
            f"({', '.join(portfolios.sample_names())}); default: {DEFAULT_BOOK}",
        )
        market_option(sp)
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
        help="write the table to FILE (.parquet or .csv) instead of the terminal; with "
        "--skip-invalid the rejects go to rejects.csv beside it",
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
        help="write the results into DIR as one set: summary, by_<column>, positions/ (one "
        "file per task), rejects.csv, the report's data (worst, scenarios, curve_shifts, "
        "fx_moves, key_rate_dv01, risk) and manifest.json (replaces an earlier run's set in "
        "DIR); finished work is kept in .DIR.stress-work/ until then, so the same command "
        "started again after a kill resumes",
    )
    r.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="also write a self-contained HTML report with charts to FILE (needs plotly: "
        "pip install 'stress[report]')",
    )
    r.add_argument(
        "--detail",
        choices=("summary", "positions"),
        default="summary",
        help="positions: also write one row per position and scenario",
    )
    r.add_argument(
        "--by",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="also sum the results by these position columns (or maturity_bucket)",
    )
    r.add_argument(
        "--format",
        choices=FORMATS,
        default="parquet",
        help="file format of --out (default: parquet)",
    )
    r.add_argument(
        "--top",
        type=_positive,
        default=25,
        metavar="N",
        help="scenarios shown on the terminal (default: 25, worst first)",
    )
    r.add_argument(
        "--risk",
        nargs="*",
        type=cli_history.level,
        default=None,
        metavar="LEVEL",
        help="VaR/ES panel at these levels (default 0.99 0.975; shown anyway for generated "
        "scenario sets) with each position's ES component; --out writes risk files",
    )
    r.add_argument(
        "--fill-unshocked",
        action="store_true",
        help="fill the history factors a scenario leaves unshocked with their conditional "
        "mean given the ones it shocks (predictive stress)",
    )
    cli_history.history_options(r)
    where = r.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="run shard by shard on a local Dask cluster of N worker processes (loopback "
        "only; needs the 'cluster' extra)",
    )
    where.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="run shard by shard on the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://host:8786, or tls://host:8786 with the certificates of Dask's configuration)",
    )
    r.add_argument(
        "--shard-positions",
        type=_positive,
        default=None,
        metavar="N",
        help=f"positions per shard (default {SHARD_POSITIONS:,}); node weights are merged shard "
        "by shard, so another size may change the last bits of the figures",
    )

    cli_history.reverse_parser(sub, common)

    s = sub.add_parser(
        "scenarios",
        help="list or show the built-in scenario library",
        description="List the built-in scenarios, or show the shocks of some as they are "
        "priced: placed on the market's valuation calendar and curves.",
    )
    s.add_argument("names", nargs="*", metavar="NAME|GROUP|FILE")
    market_option(s)
    s.epilog = "generate sets from market history: stress scenarios generate --help"

    h = sub.add_parser(
        "report",
        help="the HTML report of an earlier run's --out directory",
        description="Write the self-contained HTML report (charts, no network needed) of the "
        "output set an earlier `stress run --out DIR` wrote. Needs plotly: "
        "pip install 'stress[report]'.",
    )
    h.add_argument("directory", type=Path, metavar="DIR", help="the --out directory of a run")
    h.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="the HTML file to write (default: DIR.html beside DIR)",
    )
    h.add_argument(
        "--reverse",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="reverse-stress results to show: directories `stress reverse --out` wrote (one "
        "per loss draws P&L against distance), or CSV/Parquet files (factor, move, and "
        "optionally unit, z, solution, distance, pnl); default: the set's reverse_stress "
        "file, if any",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    generating = _generate_args(argv)
    args = (
        cli_history.generate_parser().parse_args(generating)
        if generating is not None
        else _parser().parse_args(argv)
    )
    if generating is not None:
        args.command = "generate"
        args.verbose = argv.count("-v") + argv.count("--verbose")
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    err = Console(stderr=True, markup=False, highlight=False)
    handler: logging.Handler
    compiling: contextlib.AbstractContextManager[object]
    if err.is_terminal:
        handler = RichHandler(console=err)
        # A fresh install's first run compiles the kernels: say so rather than wait a minute
        # in silence.
        compiling = numba_event.install_listener("numba:compile", FirstCompile(err))
    else:
        # Logs and CI capture lines whole: a wrapped message breaks grep. Log records go out
        # as plain lines (RichHandler lays one out in columns padded to the console's width,
        # a kilobyte of spaces per line in a batch job's log).
        err = Console(stderr=True, width=1000, markup=False, highlight=False)
        handler = _StderrLines()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        compiling = contextlib.nullcontext()
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler])
    out = Console(markup=False, highlight=False)
    if not out.is_terminal:
        # Piped or captured output has no width to fit: tables as wide as their figures
        # (a row on one line for grep, never a number elided or wrapped).
        out = Console(width=1000, markup=False, highlight=False)
    with _terminate_cleanly(), compiling, warnings.catch_warnings():
        # The packages' warnings (a yield that did not converge, a history that looks
        # mistyped) as log lines, without Python's file and source line.
        warnings.showwarning = lambda message, *_a, **_k: log.warning("%s", message)
        try:
            _refuse_writing_over_inputs(args)
            if args.command == "analytics":
                return _analytics(args, out, err)
            if args.command == "run":
                return _run(args, out, err)
            if args.command == "report":
                return _report(args, err)
            if args.command == "reverse":
                book = _book(args, err)
                return cli_history.run_reverse(args, book.portfolio, book.market, out, err)
            if args.command == "generate":
                return cli_history.generate(args, _market(args), err)
            return _scenarios(args, out)
        except USER_ERRORS as exc:
            err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
            return 2
        except KeyboardInterrupt:
            err.print(Text("interrupted: nothing was written", style="yellow"))
            return 130
        except Terminated:
            err.print(Text("terminated: nothing was written", style="yellow"))
            return 128 + signal.SIGTERM
        except Exception as exc:
            # Not a problem with the inputs: a bug. Say so, and how to see where it is.
            if args.verbose:
                raise
            err.print(
                Text.assemble(
                    ("internal error: ", "bold red"),
                    f"{type(exc).__name__}: {exc}\nThis is a bug in stress, not a problem with "
                    "your inputs; rerun with -v to see the traceback, and please report it.",
                ),
                soft_wrap=True,
            )
            return 3


def _generate_args(argv: list[str]) -> list[str] | None:
    """The arguments after ``scenarios generate`` (global flags may come first), or None."""
    for i, a in enumerate(argv):
        if not a.startswith("-"):
            if a == "scenarios" and argv[i + 1 : i + 2] == ["generate"]:
                return argv[i + 2 :]
            return None
    return None


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so every cleanup runs."""


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C: cleanup runs (no half-written output), exit 143."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _market(args: argparse.Namespace) -> Market:
    return Market.load(args.market or default_market_path())


def _book(args: argparse.Namespace, err: Console, market: Market | None = None) -> Book:
    """The portfolio laid out on the market (default: the one of the arguments); invalid rows
    stop the run or, with --skip-invalid, join the rejects (``book.portfolio.rejected``)."""
    market = market or _market(args).with_base(args.base_currency)
    book = build_book(_load(args, market), market, skip_invalid=args.skip_invalid)
    _report_portfolio(book.portfolio, args, err)
    return book


def _valid(args: argparse.Namespace, err: Console, market: Market) -> Portfolio:
    """The rows of the portfolio the market can value, checked as ``_book`` checks them
    (same errors, same rejects) without laying the book out: a run shard by shard lays out
    each shard where it runs."""
    portfolio = validate(_load(args, market), market, skip_invalid=args.skip_invalid)
    _report_portfolio(portfolio, args, err)
    return portfolio


def _load(args: argparse.Namespace, market: Market) -> Portfolio:
    src = args.portfolio
    path = portfolios.sample_path(src) if src in portfolios.sample_names() else Path(src)
    return portfolios.load(
        path, valuation_date=market.valuation_date, skip_invalid=args.skip_invalid
    )


def _report_portfolio(portfolio: Portfolio, args: argparse.Namespace, err: Console) -> None:
    _report_rejects(portfolio.rejected, portfolio.n_input_rows, args, err)
    if not len(portfolio):
        why = "every row was rejected" if portfolio.rejected else "the file has no rows"
        err.print(
            Text.assemble(
                ("warning: ", "yellow"),
                f"no positions to value ({why}); every figure below is zero",
            )
        )


def _report_rejects(
    rejected: Sequence[Problem], n_rows: int, args: argparse.Namespace, err: Console
) -> None:
    if not rejected:
        return
    rows = len({p.row for p in rejected})
    where = "the rejects file beside --out" if args.out else "--out to write them all"
    err.print(
        Text.assemble(
            ("warning: ", "yellow"),
            f"{rows} of {n_rows} rows rejected ({len(rejected)} problems; see {where})",
        )
    )
    for prob in rejected[:10]:
        err.print(f"  - {prob}")
    if len(rejected) > 10:
        err.print(f"  ... and {len(rejected) - 10} more")


def _analytics(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.out and args.out.name.lower() == "rejects.csv":
        raise OutputError(
            f"{args.out}: the rejects report is written as rejects.csv beside the table; "
            "give the table another name"
        )
    book = _book(args, err)
    table = book_analytics(book)
    if not args.out:
        out.print(analytics_table(table, book.market.base_currency))
        return 0
    # The rejects first: the table's arrival says the pair is complete.
    if book.portfolio.rejected or args.skip_invalid:
        write_frame(book.portfolio.rejects, args.out.with_name("rejects.csv"))
    write_frame(table, args.out)
    err.print(f"wrote {len(table)} rows to {args.out}")
    return 0


def _run(args: argparse.Namespace, out: Console, err: Console) -> int:
    start = time.perf_counter()
    started = dt.datetime.now(dt.UTC)
    # The output directory and the report's needs are checked before any work: a refused
    # --out or --report costs nothing.
    target = OutputSet(args.out) if args.out else None
    if args.report is not None:
        _check_report_file(args.report)
    # Scenarios before positions: a scenario file is quick to check.
    market = _market(args).with_base(args.base_currency)
    history = shocks.load_history(args.history) if args.history else None
    scen = load_for(market, args.scenarios, history, fill_unshocked=args.fill_unshocked)
    levels = cli_history.risk_levels(args, cli_history.generated(scen.origins))
    # The report's groupings for the files and the report; a run that only prints shows the
    # worst scenario by currency (each grouping is a sum per scenario and group: at a
    # million scenarios the maturity buckets alone were 1.1 GB).
    writes = target is not None or args.report is not None
    by = list(dict.fromkeys([*args.by, *(REPORT_GROUPINGS if writes else ("currency",))]))
    if target is not None or args.workers or args.cluster:
        return _run_sharded(args, out, err, market, scen, levels, by, target, start, started)
    book = _book(args, err, market)
    prepared = prepare_book(book, scen.spread_attributes)
    work = run_work(len(prepared.cashflows.pv), book.n_positions, len(scen))
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
        # No --out: no file takes the per-position detail, so it is not kept; the worst
        # positions of every scenario (what positions mode finds) are all the report needs.
        result = run_prepared(
            prepared,
            scen,
            worst_scenarios=None if args.detail == "positions" else WORST_SCENARIOS,
            by=by,
            risk=levels,
            shard_positions=args.shard_positions,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    elapsed = time.perf_counter() - start
    _report_run(out, result, scen, args.top, levels)
    if args.report is not None:
        data = collect(
            result,
            book,
            prepared=prepared,
            book_name=args.portfolio,
            scenario_set=" ".join(args.scenarios),
            run_started=started,
            run_seconds=elapsed,
        )
        _write_html(data, args.report, err)
    err.print(
        f"{book.n_positions} positions x {len(scen)} scenarios in {elapsed:.2f} s "
        f"(base currency {market.base_currency}, valuation {market.valuation_date})"
    )
    return 0


def _report_run(
    out: Console,
    result: StressResult,
    scen: ScenarioSet,
    top: int,
    levels: tuple[float, ...],
) -> None:
    # The per-family VaR/ES table says nothing the risk panel does not for one generated set.
    families = set(families_of(scen.names, scen.origins, scen.descriptions))
    print_run_report(out, result, top, family_risk=not (levels and len(families) == 1))
    if levels:
        cli_history.risk_panel(out, result, levels)


def _run_sharded(
    args: argparse.Namespace,
    out: Console,
    err: Console,
    market: Market,
    scen: ScenarioSet,
    levels: tuple[float, ...],
    by: list[str],
    target: OutputSet | None,
    start: float,
    started: dt.datetime,
) -> int:
    """``stress run`` shard by shard: in this process (``--out`` alone) or on a Dask cluster
    (``--workers``, ``--cluster``). With ``--out DIR`` each finished task is kept in
    ``.DIR.stress-work/`` beside DIR until the set is committed, so the same command started
    again after a kill resumes; per-position detail is written by the tasks as Parquet (or
    CSV) files into ``DIR/positions/``. The report's data comes from the same tasks (each
    shard's key-rate DV01s, the worst positions of the scenarios it shows in full)."""
    from stress.batch import Executor, SerialExecutor, WorkDir, run_sharded

    portfolio = _valid(args, err, market)
    work = WorkDir.beside(args.out) if target is not None else None
    # Without --out no file takes the per-position detail: the worst positions of every
    # scenario (what positions mode finds) are all the terminal needs.
    detail = args.detail if target is not None else "summary"
    worst_scenarios = None if args.detail == "positions" else WORST_SCENARIOS
    report = target is not None or args.report is not None
    family = families_of(scen.names, scen.origins, scen.descriptions)

    def also_worst(pnl: np.ndarray) -> list[int]:
        index = {n: i for i, n in enumerate(scen.names)}
        return [index[n] for n in detailed_scenarios(scen.names, pnl, family)]

    batch = not err.is_terminal
    if batch:
        logging.getLogger("stress.progress").setLevel(logging.INFO)
    with contextlib.ExitStack() as stack:
        executor: Executor = SerialExecutor()
        where = "this process"
        if args.workers or args.cluster:
            executor, where = _cluster(args, stack)
        bar = stack.enter_context(
            Progress(
                TextColumn("revaluing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("tasks"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=batch,
            )
        )
        task = bar.add_task("run", total=None)
        logged = _ProgressLog()

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            logged(done, total)

        if work is not None:
            stack.callback(work.close)
        run = run_sharded(
            portfolio,
            market,
            scen,
            detail=detail,
            by=by,
            worst_scenarios=worst_scenarios,
            risk=levels,
            shard_positions=args.shard_positions,
            executor=executor,
            work=work,
            fmt=args.format,
            key_rates=report,
            also_worst=also_worst if report else None,
            progress=progress,
        )
        if work is not None and work.resumed:
            err.print(f"resumed: {work.resumed} finished tasks were kept from an earlier run")
    result = run.result
    elapsed = time.perf_counter() - start
    _report_run(out, result, scen, args.top, levels)
    data = None
    if report:
        assert run.key_rates is not None
        curves, currencies = layout_names(portfolio)
        data = collect_parts(
            result,
            portfolio,
            market,
            curves,
            currencies,
            run.key_rates,
            fill_worst=run.worst_of,
            book_name=args.portfolio,
            scenario_set=" ".join(args.scenarios),
            run_started=started,
            run_seconds=elapsed,
        )
    if target is not None and data is not None:
        assert work is not None
        ext = args.format
        with target as files:
            files.write(result.summary, f"summary.{ext}")
            for column in by:
                files.write(result.by(column), f"by_{column}.{ext}")
            if args.detail == "positions":
                files.link(work.parts, [name for name, _ in run.parts], "positions")
            if levels:
                for name, frame in cli_history.risk_frames(result, levels).items():
                    files.write(frame, f"{name}.{ext}")
            files.write(result.rejects, "rejects.csv")
            report_entry = write_report_data(data, files, ext, set(files.files))
            meta = _manifest(args, portfolio, market, len(scen))
            meta["run"] = {"where": where, "shard_positions": args.shard_positions
                           or SHARD_POSITIONS}  # fmt: skip
            if args.detail == "positions":
                meta["positions_parts"] = [{"file": f"positions/{name}", "rows": rows}
                                           for name, rows in run.parts]  # fmt: skip
            files.commit({**meta, "report": report_entry})
        # The set is in place: the work kept for a resume is done with.
        work.remove()
        err.print(f"wrote {args.out}: " + ", ".join([*files.files, MANIFEST]))
    if args.report is not None and data is not None:
        _write_html(data, args.report, err)
    err.print(
        f"{len(portfolio)} positions x {len(scen)} scenarios in {elapsed:.2f} s on {where} "
        f"(base currency {market.base_currency}, valuation {market.valuation_date})"
    )
    return 0


def _cluster(args: argparse.Namespace, stack: contextlib.ExitStack) -> tuple[Any, str]:
    """A Dask executor for --workers or --cluster, closed with ``stack``."""
    try:
        from stress.cluster import DaskExecutor, connect
    except ImportError:
        raise OutputError(
            "--workers and --cluster need Dask: pip install 'stress[cluster]' (or "
            "'dask[distributed]')"
        ) from None
    if not args.verbose:
        # Dask logs its cluster's comings and goings at INFO (its configuration's level, set
        # on import): without -v they are noise around the run's own lines.
        logging.getLogger("distributed").setLevel(logging.WARNING)
    try:
        client = stack.enter_context(connect(args.cluster, args.workers))
    except (OSError, TimeoutError) as exc:
        raise OutputError(f"cannot reach the Dask scheduler at {args.cluster}: {exc}") from exc
    if args.cluster:
        n = len(client.scheduler_info().get("workers", {}))
        return DaskExecutor(client), f"the cluster at {args.cluster} ({n} workers)"
    return DaskExecutor(client), f"a local cluster of {args.workers} workers"


class _ProgressLog:
    """Progress as log lines (``stress.progress``, shown in batch runs): every 10 % or 30 s."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        now = time.monotonic()
        if tenth > self.shown or now - self.last > 30 or done == total:
            if done == total and self.shown == 10:
                return
            self.shown = tenth
            self.last = now
            logging.getLogger("stress.progress").info("%d of %d tasks done", done, total)


def _refuse_writing_over_inputs(args: argparse.Namespace) -> None:
    """Refuse an output file that is one of the command's input files: ``analytics -p
    book.csv --out book.csv`` would replace the book with its analytics."""
    inputs: list[object] = [getattr(args, a, None) for a in ("portfolio", "market", "history")]
    inputs += list(getattr(args, "scenarios", None) or [])
    read = {}
    for given in inputs:
        # os.path, not Path: a name too long for the system is the readers' to report.
        if isinstance(given, str | Path) and os.path.isfile(given):
            read[os.path.realpath(given)] = given
    for flag, attr in (("--out", "out"), ("--report", "report"), ("--output", "output")):
        target = getattr(args, attr, None)
        if isinstance(target, Path) and os.path.realpath(target) in read:
            raise OutputError(f"{flag} {target}: is {read[os.path.realpath(target)]}, which "
                              "this command reads; give another path")
    # An output set is one whole: a report written into it would replace one of its files,
    # or be a file of no set that the next run into it refuses.
    sets = [("--out", getattr(args, "out", None))] if getattr(args, "command", "") == "run" else []
    if getattr(args, "command", "") == "report":
        sets = [("the output set", args.directory)]
    for what, directory in sets:
        for flag, attr in (("--report", "report"), ("--output", "output")):
            target = getattr(args, attr, None)
            if not (isinstance(target, Path) and isinstance(directory, Path)):
                continue
            if Path(os.path.realpath(directory)) in Path(os.path.realpath(target)).parents:
                raise OutputError(f"{flag} {target}: is inside {what} {directory}, which is "
                                  "written as one whole; give a path outside it")


def _check_report_file(path: Path) -> None:
    """Refuse a --report target before any work: plotly missing, a directory, no .html."""
    from stress.htmlreport import require_plotly

    require_plotly()
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; --report needs an HTML file name")


def _write_html(data: ReportData, path: Path, err: Console) -> None:
    from stress.htmlreport import write_html

    size = write_html(data, path)
    err.print(f"wrote {path} ({size / 1e6:.1f} MB)")


def _report(args: argparse.Namespace, err: Console) -> int:
    _check_report_file(args.output or Path("report.html"))
    directory: Path = args.directory
    data = read(directory)
    if args.reverse is not None:
        data = data.with_reverse(read_reverses(args.reverse))
    target = args.output
    if target is None:
        full = directory.resolve()
        target = full.parent / f"{full.name or 'report'}.html"
    _write_html(data, target, err)
    return 0


def _manifest(
    args: argparse.Namespace, portfolio: Portfolio, market: Market, n_scenarios: int
) -> dict[str, Any]:
    return {
        "stress_version": __version__,
        "command": ["stress", *sys.argv[1:]] if sys.argv else [],
        "portfolio": str(portfolio.source),
        "market": market.source,
        "valuation_date": market.valuation_date.isoformat(),
        "base_currency": market.base_currency,
        "scenarios": n_scenarios,
        "positions": len(portfolio),
        "input_rows": portfolio.n_input_rows,
        "rejected_rows": len({p.row for p in portfolio.rejected}),
    }


class FirstCompile(numba_event.Listener):
    """Says once, when numba first compiles a kernel in this process (no cached machine code:
    the first run after an install or an upgrade), that it is doing so and for how long."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.said = False

    def on_start(self, event: numba_event.Event) -> None:
        if not self.said:
            self.said = True
            self.console.print(
                "compiling the engine's kernels for this machine: about a minute, once; "
                "later runs load them from numba's cache",
                style="dim",
            )

    def on_end(self, event: numba_event.Event) -> None:
        pass


class _StderrLines(logging.StreamHandler):  # type: ignore[type-arg]
    """Log records as plain lines to whatever ``sys.stderr`` is when each comes (as rich's
    console finds it), not the stream of the first call that set logging up."""

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not sys.stderr:
            self.setStream(sys.stderr)
        super().emit(record)


def _scenarios(args: argparse.Namespace, out: Console) -> int:
    if not args.names:
        lib = shocks.library()
        t = Table(title="Built-in scenarios", title_justify="left", header_style="bold")
        for c in ("group", "scenario", "description"):
            t.add_column(c, overflow="fold", max_width=PROSE_WIDTH if c == "description" else None)
        for r in lib.sort("group", maintain_order=True).iter_rows(named=True):
            t.add_row(r["group"], r["scenario"], r["description"])
        out.print(t)
        return 0
    market = _market(args)
    # Predictive fills from the history's factors the market prices, as a run has them.
    scen = load_for(market, args.names)
    curves = tuple(sorted(market.curves))
    # The same arrays the engine prices with: tenors on the market's calendar, ALL included,
    # level targets resolved against the market's curves.
    shocks_ = resolve(scen, market, curves, ())
    labels = SHOW_TENORS
    times = np.array([parse_tenor(x).time(market.valuation_date) for x in labels])
    shown = {c: shocks_.shift_at(c, times) for c in curves}
    out.print(
        f"shocks as priced on {market.source} (valuation {market.valuation_date}); "
        "zero-rate shifts in bp at the market's tenor dates"
    )
    prose = min(out.width, PROSE_WIDTH)
    for i, name in enumerate(scen.names):
        out.print(Rule(Text(name, style="bold")), width=prose)
        out.print(scen.descriptions[i], width=prose)
        if scen.sources[i]:
            out.print(Text(f"source: {scen.sources[i]}", style="dim"), width=prose)
        t = Table(header_style="bold", title="zero-rate shift (bp)", title_justify="left")
        t.add_column("curve")
        for label in labels:
            t.add_column(label, justify="right")
        for c in curves:
            row = shown[c][i]
            if np.any(shocks_.shift_bp[i, curves.index(c)] != 0):
                t.add_row(c, *[f"{v:+.0f}" for v in row])
        if t.row_count:
            out.print(t)
        for lv in scen.levels:
            if lv.scenario == i:
                out.print(
                    f"{lv.currency} zero rate moved to "
                    + ", ".join(f"{p:g} % at {t}" for t, p in zip(lv.tenors, lv.pct, strict=True))
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
        spreads = [
            f"{label} {scen.spread_bp[i, g]:+g} bp"
            for g, (attr, label) in enumerate(scen.spread_keys)
            if scen.spread_set[i, g]
        ]
        if spreads:
            by = ", ".join(sorted({a for (a, _), u in zip(scen.spread_keys, scen.spread_set[i],
                                                          strict=True) if u}))
            out.print(Text(f"credit spreads by {by}: " + ", ".join(spreads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
