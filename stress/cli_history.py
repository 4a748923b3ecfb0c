"""The command line's scenarios-from-data parts: generating scenario sets from a market history,
the risk panel of a run, and reverse stress."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

import shocks
from portfolios.model import Portfolio
from shocks.errors import HistoryError
from shocks.factors import describe
from shocks.history import History
from stress.coverage import GENERATED
from stress.histories import market_history
from stress.io import OutputError, os_reason, write_bytes
from stress.market import Market
from stress.output import OutputSet
from stress.result import StressResult
from stress.reverse_stress import ReverseStress, reverse, scenario_toml
from stress.risk import DEFAULT_LEVELS, RiskError


def generated(origins: tuple[str, ...]) -> bool:
    """Whether every scenario of a set was generated from market history (a run over one
    shows the risk panel)."""
    return bool(origins) and all(o.startswith(GENERATED) for o in origins)

_AMOUNT = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*(k|m|mn|bn|b)?\s*$",
                     re.IGNORECASE)  # fmt: skip
_UNITS = {"k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9}


def amount(text: str) -> float:
    """A positive amount like ``50m``, ``1.5bn``, ``250k``, ``5e7`` or ``50,000,000``."""
    m = _AMOUNT.match(text)
    value = float(m.group(1).replace(",", "").replace("_", "")) * _UNITS.get(
        (m.group(2) or "").lower(), 1.0
    ) if m else 0.0  # fmt: skip
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"expected a positive amount like 50m, 1.5bn, 250k or 50000000, got {text!r}"
        )
    return value


def level(text: str) -> float:
    try:
        a = float(text)
    except ValueError:
        a = -1.0
    if not 0.0 < a < 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a level between 0 and 1 like 0.99, got {text!r}"
        )
    return a


def history_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        default=None,
        help="market history (CSV or Parquet, wide layout: date, JPY.10Y, FX.JPY, XAU, ...); "
        "default: the bundled JGB/UST/FX/gold history",
    )


def window_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--from", dest="start", metavar="DATE", default=None,
                   help=f"first date of the {what} (ISO); default: five years before --to")
    p.add_argument("--to", dest="end", metavar="DATE", default=None,
                   help=f"last date of the {what} (ISO); default: the history's last date")
    p.add_argument("--horizon", type=int, default=10, metavar="DAYS",
                   help="business days of each change (default: 10)")  # fmt: skip


def cli_window(args: argparse.Namespace, h: History) -> tuple[str, str]:
    """--from and --to as their help says: --to the history's last date when not given,
    --from five years before --to."""
    start, end = h.default_window(end=args.end)
    return args.start or start.isoformat(), end.isoformat()


def load_history(args: argparse.Namespace, market: Market) -> History:
    """The history of --history (or the bundled one) restricted to what the market prices."""
    h = shocks.load_history(args.history) if args.history else None
    return market_history(market, h)


def generate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stress scenarios generate",
        description="Generate a scenario set from a market history and write it to a file "
        "(.parquet, or .toml for small sets) that `stress run --scenarios` reads.",
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    h = kinds.add_parser(
        "historical",
        help="one scenario per N-day window of the history",
        description="Historical simulation: one scenario per N-day window, named "
        "hist_<end date>_<N>d. Rate changes become zero-rate shifts at the history's tenors "
        "(the change of a quoted yield applied as a zero shift: an approximation); FX and "
        "gold move by their relative change.",
    )
    window_options(h, "windows")
    h.add_argument("--no-overlapping", dest="overlapping", action="store_false",
                   help="every N-th window only (default: every window, overlapping)")
    h.add_argument("--rates", choices=("absolute", "relative"), default="absolute",
                   help="rate changes as they happened, or scaled to today's levels")  # fmt: skip
    mc = kinds.add_parser(
        "monte-carlo",
        help="correlated random draws from the history's covariance",
        description="Monte Carlo: correlated draws of every factor's N-day move from the "
        "covariance over a window, seeded and reproducible.",
    )
    window_options(mc, "covariance window")
    mc.add_argument("--n", type=int, default=10_000, help="number of scenarios (default 10000)")
    mc.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    mc.add_argument("--dist", choices=("normal", "t"), default="normal")
    mc.add_argument("--dof", type=float, default=None,
                    help="Student-t degrees of freedom (with --dist t; default 5)")
    for sp in (h, mc):
        history_options(sp)
        sp.add_argument("--market", "-m", type=Path, metavar="M", default=None,
                        help="keep only the factors this market prices (default: the bundled "
                        "market)")  # fmt: skip
        sp.add_argument("--out", "-o", type=Path, metavar="FILE", required=True,
                        help="the scenario file to write (.parquet or .toml)")  # fmt: skip
    return p


def generate(args: argparse.Namespace, market: Market, err: Console) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in (".parquet", ".pq", ".toml"):
        raise HistoryError(f"{args.out}: expected a .parquet or .toml scenario file to write")
    dof = getattr(args, "dof", None)
    if dof is not None and args.dist != "t":
        # Else normal draws would come out under a --dof that reads as fat tails.
        raise HistoryError(f"--dof {dof:g}: the degrees of freedom of Student-t draws; give "
                           "--dist t with it")
    h = load_history(args, market)
    start, end = cli_window(args, h)
    if args.kind == "historical":
        scen = shocks.historical(h, start=start, end=end, horizon=args.horizon,
                                 overlapping=args.overlapping, rates=args.rates)  # fmt: skip
    else:
        scen = shocks.monte_carlo(h, n=args.n, horizon=args.horizon, window=(start, end),
                                  seed=args.seed, dist=args.dist,
                                  dof=5.0 if dof is None else dof)  # fmt: skip
    _write_scenarios(args.out, scen)
    err.print(f"wrote {len(scen):,} scenarios to {args.out}")
    still = ~h.space.given(scen)
    if still.any():
        # Each description names them, but a batch log shows only this line: a book holding
        # gold would show no gold P&L in any of these scenarios.
        err.print(Text.assemble(
            ("warning: ", "yellow"),
            f"no scenario moves {describe(h.space, still)}: the history has too few "
            f"{args.horizon}-day changes of theirs in the window (pick one with --from/--to)",
        ))  # fmt: skip
    return 0


def _write_scenarios(path: Path, scen: shocks.ScenarioSet) -> None:
    """``scen`` as a TOML or Parquet file at ``path``, or an OutputError saying why not."""
    try:
        if path.suffix.lower() == ".toml":
            write_bytes(path, scenario_toml(scen).encode("utf-8"))
        else:
            shocks.write_parquet(scen, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({os_reason(exc, path)})") from None


def risk_levels(args: argparse.Namespace, generated: bool) -> tuple[float, ...]:
    """The levels of a run's risk panel: --risk, or the defaults for a generated set."""
    if args.risk is not None:
        return tuple(args.risk) or DEFAULT_LEVELS
    return DEFAULT_LEVELS if generated else ()


def risk_panel(console: Console, result: StressResult, levels: tuple[float, ...]) -> None:
    """VaR, ES and the largest components of the ES at the highest level."""
    ccy = result.base_currency
    t = Table(title=f"VaR and expected shortfall over {len(result.scenarios):,} scenarios "
              f"({ccy}, losses positive)", title_justify="left", header_style="bold")  # fmt: skip
    for c in ("level", "VaR", "ES", "tail scenarios", "worst scenario"):
        t.add_column(c, justify="left" if c == "worst scenario" else "right")
    for r in result.risk(levels).iter_rows(named=True):
        t.add_row(f"{r['level']:.1%}", f"{r['var']:,.0f}", f"{r['es']:,.0f}", str(r["tail"]),
                  Text(r["worst_scenario"]))  # fmt: skip
    console.print(t)
    top = max(levels)
    try:
        comp = result.component_es(top).sort("component_es", descending=True).head(10)
    except RiskError:
        return
    parts = Table(title=f"Largest contributions to the {top:.1%} ES ({ccy})",
                  title_justify="left", header_style="bold")  # fmt: skip
    for name in ("position", "component ES", "share"):
        parts.add_column(name, justify="left" if name == "position" else "right")
    for r in comp.iter_rows(named=True):
        parts.add_row(Text(str(r["position_id"])), f"{r['component_es']:,.0f}",
                      f"{r['share']:.1%}")  # fmt: skip
    console.print(parts)


def risk_frames(result: StressResult, levels: tuple[float, ...]) -> dict[str, pl.DataFrame]:
    """The risk files of --out: VaR/ES per level, and each position's ES component."""
    frames = {"risk": result.risk(levels)}
    parts = [result.component_es(a) for a in levels if a in result.components]
    if parts:
        frames["risk_components"] = pl.concat(parts)
    return frames


def reverse_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                   common: object) -> None:  # fmt: skip
    r = sub.add_parser(
        "reverse",
        help="the most plausible move that loses a given amount",
        description="Reverse stress: the most plausible move of the history's factors "
        "(smallest Mahalanobis distance under the covariance of N-day changes) whose "
        "full-revaluation loss reaches --loss. Prints the factor moves, the distance and "
        "what it means as a probability, and the P&L by position; with --out also writes the "
        "move as reverse.toml, a scenario file `stress run --scenarios` reads.",
    )
    common(r)  # type: ignore[operator]
    r.add_argument("--loss", type=amount, required=True, metavar="AMOUNT",
                   help="the loss to reach, in the base currency: 50m, 1.5bn, 250k, ...")
    window_options(r, "covariance window")
    history_options(r)
    r.add_argument("--out", "-o", type=Path, metavar="DIR",
                   help="write reverse.toml, moves and positions into DIR as one set")  # fmt: skip


def run_reverse(
    args: argparse.Namespace, portfolio: Portfolio, market: Market, out: Console, err: Console
) -> int:
    h = shocks.load_history(args.history) if args.history else None
    window = cli_window(args, market_history(market, h))
    target = OutputSet(args.out) if args.out else None
    res = reverse(portfolio, market, args.loss, history=h, window=window, horizon=args.horizon)
    print_reverse(out, res)
    if target is not None:
        with target as files:
            written = [files.write(res.moves, "moves.csv"),
                       files.write(res.positions, "positions.csv")]  # fmt: skip
            written.append(files.write_text(res.to_toml(), "reverse.toml"))
            files.commit({"loss": res.loss, "pnl": res.pnl, "distance": res.distance,
                          "base_currency": res.base_currency})  # fmt: skip
        err.print("wrote " + ", ".join(str(w) for w in written))
    return 0


def print_reverse(console: Console, r: ReverseStress) -> None:
    ccy = r.base_currency
    console.print(Text(r.scenario.descriptions[0]))
    console.print(
        f"loss {r.loss:,.0f} {ccy}: full-revaluation P&L {r.pnl:,.0f} after {r.iterations} "
        f"refinements; distance {r.distance:.2f} standard deviations (linearised "
        f"{r.linear_distance:.2f}) over {r.degrees_of_freedom} factors"
    )
    console.print(
        f"under a normal model: a move at least this far in any direction has probability "
        f"{r.chi2_probability:.3g} (chi-squared, {r.degrees_of_freedom} degrees of freedom); "
        f"a {r.horizon}-day loss of at least {r.loss:,.0f} has probability "
        f"{r.tail_probability:.3g} (linearised). Fat tails make both optimistic."
    )
    if r.left_alone:
        console.print(f"not moved (too few changes in the window): {', '.join(r.left_alone)}")
    t = Table(title="Factor moves", title_justify="left", header_style="bold")
    for c in ("factor", "move", "stdev", "z"):
        t.add_column(c, justify="left" if c == "factor" else "right")
    for row in r.moves.iter_rows(named=True):
        t.add_row(row["factor"], f"{row['move']:+.2f} {row['unit']}", f"{row['stdev']:.2f}",
                  f"{row['z']:+.2f}")  # fmt: skip
    console.print(t)
    p = Table(title=f"P&L by position ({ccy})", title_justify="left", header_style="bold")
    for c in ("position", "P&L", "rates", "FX", "gold", "cross"):
        p.add_column(c, justify="left" if c == "position" else "right")
    for row in r.positions.sort("pnl").iter_rows(named=True):
        p.add_row(Text(row["position_id"]), *(f"{row[c]:,.0f}" for c in
                  ("pnl", "pnl_rates", "pnl_fx", "pnl_gold", "pnl_cross")))  # fmt: skip
    console.print(p)
