"""The stress engine: positions + market + scenarios -> cashflow book -> kernels -> raw sums ->
StressResult, in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import portfolios
import shocks
from portfolios.loader import PositionSource
from portfolios.model import Portfolio
from shocks.history import History, check_history
from shocks.library import ScenarioSource, load
from shocks.model import ScenarioSet
from stress.book import validate
from stress.coverage import warn_unmoved
from stress.evaluate import check_count, check_finite, evaluate, tail_components
from stress.groups import groupings
from stress.histories import market_history
from stress.io import OutputError
from stress.market import Market, MarketSource, as_market
from stress.prepare import Prepared, prepare
from stress.resolve import resolve
from stress.result import StressResult, build_result
from stress.risk import Levels, requested_levels

DETAIL_MODES = ("summary", "positions")
#: Scenarios whose worst positions a summary run finds (the ones of lowest P&L).
WORST_SCENARIOS = 100
#: The most worst positions kept per scenario: their lists take scenarios x worst x the detail
#: columns whatever the book holds, so a count meant as "all positions" would not fit memory.
MAX_WORST = 100_000


def run(
    portfolio: Portfolio | PositionSource,
    market: MarketSource,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    *,
    detail: str = "summary",
    base_currency: str | None = None,
    by: Sequence[str] = (),
    worst: int = 10,
    worst_scenarios: int | None = WORST_SCENARIOS,
    risk: Levels = (),
    history: History | None = None,
    fill_unshocked: bool = False,
    skip_invalid: bool = False,
    chunk_size: int | None = None,
    shard_positions: int | None = None,
    client: Any = None,
    positions_dir: str | Path | None = None,
    work_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """Revalue ``portfolio`` under every scenario by full revaluation.

    Args:
        portfolio: validated positions (``portfolios.load``), or positions (a frame or a
            file) validated here as of the market's valuation date.
        market: the base market; its ``base_currency`` unless ``base_currency`` is given.
        scenarios: built-in names or groups, TOML paths, a ScenarioSet, or a list of these.
        detail: ``"summary"`` (one row per scenario) or ``"positions"`` (also one row per
            position and scenario).
        by: position attributes (or ``maturity_bucket``) to sum the results by, read with
            ``result.by(column)``.
        worst: how many lowest-P&L positions to keep per scenario (``result.contributors``).
        worst_scenarios: in summary mode, the worst positions are found for this many
            scenarios of lowest P&L (None: for every scenario; positions mode always finds
            them for every scenario). The book's totals never need a pass over positions.
        risk: confidence levels (e.g. ``(0.99, 0.975)``) at which to keep each position's
            component of the expected shortfall (``result.component_es``); VaR and ES
            themselves (``result.risk``) need no request.
        history: the market history behind ``[scenario.predict]`` tables and
            ``fill_unshocked`` (default: the bundled one), restricted to the factors the market
            prices.
        fill_unshocked: fill every history factor a scenario leaves unshocked with its
            conditional mean given the ones it shocks (``shocks.fill_unshocked``).
        skip_invalid: leave out rows the market cannot value (matured, a currency without a
            curve or FX rate, an unreachable clean price) instead of raising; they join
            ``result.rejects`` with the portfolio's own rejects.
        chunk_size: scenarios per chunk (default: sized to keep work arrays near 256 MiB).
        shard_positions: positions per shard (default ``stress.evaluate.SHARD_POSITIONS``):
            node weights are formed per shard of consecutive positions and merged in shard
            order (``stress.totals``), so a run split over processes gives the same numbers
            bit for bit as one process with the same shard size (another shard size may change
            the last bits).
        client: a ``distributed.Client``: the run becomes one task per shard (and chunk of
            ``stress.batch.TASK_SCENARIOS`` scenarios) on its cluster; the book is validated
            here, each shard laid out (and its worst positions found) on a worker, its node
            weights merged and summed here. The result equals a single-process run's.
        positions_dir: a new or empty directory: runs shard by shard (on ``client``'s cluster
            or here), and with ``detail="positions"`` each task writes its per-position detail
            there as one Parquet file, never holding all of it in one process; read it with
            ``result.scan_positions()`` (``polars.scan_parquet`` or ``pyarrow.dataset`` of the
            directory).
        work_dir: keep each finished task's results in this directory, so that the same run
            started again after a kill resumes; other inputs start afresh.
        progress: called with (scenarios done, total) after each chunk, or for a run shard by
            shard with (tasks done, total).
    """
    check_detail(detail)
    market = as_market(market)
    for name, flag in (("fill_unshocked", fill_unshocked), ("skip_invalid", skip_invalid)):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name}: got {flag!r}; expected True or False")
    portfolio = as_portfolio(portfolio, market, skip_invalid=bool(skip_invalid))
    check_worst(worst, worst_scenarios)
    if chunk_size is not None:
        check_count("chunk_size", chunk_size, 1)
    check_progress(progress)
    if client is not None or positions_dir is not None or work_dir is not None:
        return _run_sharded(
            portfolio,
            market,
            scenarios,
            detail=detail,
            base_currency=base_currency,
            by=by,
            worst=worst,
            worst_scenarios=worst_scenarios,
            risk=risk,
            history=history,
            fill_unshocked=fill_unshocked,
            skip_invalid=skip_invalid,
            chunk_size=chunk_size,
            shard_positions=shard_positions,
            client=client,
            positions_dir=None if positions_dir is None else Path(positions_dir),
            work_dir=None if work_dir is None else Path(work_dir),
            progress=progress,
        )
    market = market.with_base(base_currency)
    scen = load_for(market, scenarios, history, fill_unshocked=fill_unshocked)
    prepared = prepare(portfolio, market, skip_invalid=skip_invalid,
                       spread_by=scen.spread_attributes)
    return run_prepared(
        prepared,
        scen,
        detail=detail,
        by=by,
        worst=worst,
        worst_scenarios=worst_scenarios,
        risk=risk,
        chunk_size=chunk_size,
        shard_positions=shard_positions,
        progress=progress,
    )


def _run_sharded(
    portfolio: Portfolio,
    market: Market,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    *,
    detail: str,
    base_currency: str | None,
    by: Sequence[str],
    worst: int,
    worst_scenarios: int | None,
    risk: Levels,
    history: History | None,
    fill_unshocked: bool,
    skip_invalid: bool,
    chunk_size: int | None,
    shard_positions: int | None,
    client: Any,
    positions_dir: Path | None,
    work_dir: Path | None,
    progress: Callable[[int, int], None] | None,
) -> StressResult:
    from stress.batch import Executor, SerialExecutor, WorkDir, run_sharded

    if detail == "positions" and positions_dir is None:
        raise ValueError(
            "detail='positions' shard by shard writes files: give positions_dir (a new or "
            "empty directory)"
        )
    if positions_dir is not None and (
        (positions_dir.exists() and not positions_dir.is_dir())
        or (positions_dir.is_dir() and any(positions_dir.iterdir()))
    ):
        raise OutputError(f"{positions_dir}: positions_dir must be a new or empty directory")
    market = market.with_base(base_currency)
    scen = load_for(market, scenarios, history, fill_unshocked=fill_unshocked)
    valid = validate(portfolio, market, skip_invalid=skip_invalid)
    executor: Executor = SerialExecutor()
    if client is not None:
        from stress.cluster import DaskExecutor

        executor = DaskExecutor(client)
    work = WorkDir(work_dir) if work_dir is not None else None
    try:
        done = run_sharded(
            valid,
            market,
            scen,
            detail=detail,
            by=by,
            worst=worst,
            worst_scenarios=worst_scenarios,
            risk=requested_levels(risk),
            chunk_size=chunk_size,
            shard_positions=shard_positions,
            executor=executor,
            work=work,
            positions_dir=positions_dir,
            progress=progress,
        )
    finally:
        if work is not None:
            work.close()
    result, parts = done.result, done.parts
    if detail == "positions":
        assert positions_dir is not None
        if work is not None:
            from stress.output import link_files

            link_files(work.parts, [name for name, _ in parts], positions_dir)
        result = result.with_positions(positions_dir, [name for name, _ in parts])
    return result


def check_detail(detail: str) -> None:
    """Refuse a detail mode other than DETAIL_MODES."""
    if detail not in DETAIL_MODES:
        raise ValueError(f"detail: got {detail!r}; expected 'summary' or 'positions'")


def check_worst(worst: int, worst_scenarios: int | None) -> None:
    """Refuse counts of worst positions and scenarios that are not whole numbers of 0 or
    more, and more worst positions per scenario than MAX_WORST."""
    if check_count("worst", worst, 0) > MAX_WORST:
        raise ValueError(f"worst: got {worst:,}; expected at most {MAX_WORST:,} positions per "
                         "scenario (every position's figures: detail='positions')")
    if worst_scenarios is not None:
        check_count("worst_scenarios", worst_scenarios, 0)


def check_progress(progress: object) -> None:
    """Refuse a progress callback that cannot be called, before the run's work."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress: got {progress!r}; expected a function called with "
                        "(done, total), or None")


def as_portfolio(source: Portfolio | PositionSource, market: Market, *,
                 skip_invalid: bool = False) -> Portfolio:  # fmt: skip
    """``source`` as it is when validated already, else its positions (a frame or a file)
    validated as of ``market``'s valuation date (invalid rows left out with
    ``skip_invalid``)."""
    if isinstance(source, Portfolio):
        return source
    return portfolios.load(source, valuation_date=market.valuation_date,
                           skip_invalid=skip_invalid)  # fmt: skip


def load_for(
    market: Market,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    history: History | None = None,
    *,
    fill_unshocked: bool = False,
) -> ScenarioSet:
    """The scenarios, with predictive fills from the history's factors the market prices."""
    # Now, though it is read only when a scenario needs it.
    check_history(history, optional=True)
    scen = load(scenarios, history=lambda: market_history(market, history))
    if fill_unshocked:
        scen = shocks.fill_unshocked(scen, market_history(market, history))
    return scen


def run_prepared(
    prepared: Prepared,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    *,
    detail: str = "summary",
    by: Sequence[str] = (),
    worst: int = 10,
    worst_scenarios: int | None = WORST_SCENARIOS,
    risk: Levels = (),
    chunk_size: int | None = None,
    shard_positions: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """``run`` on a book prepared once (``stress.prepare.prepare``) for many runs."""
    check_detail(detail)
    check_worst(worst, worst_scenarios)
    check_progress(progress)
    book = prepared.book
    scen = load(scenarios)
    warn_unmoved(book.portfolio, scen, book.market.base_currency)
    groups = groupings(book.portfolio, by, book.cashflows.valuation_day)
    shocks = resolve(scen, book.market, book.currencies, book.position_currencies)
    raw, positions = evaluate(
        prepared,
        shocks,
        groups,
        worst=worst,
        worst_scenarios=worst_scenarios,
        detail=detail == "positions",
        chunk_size=chunk_size,
        shard_positions=shard_positions,
        progress=progress,
    )
    check_finite(raw, prepared, shocks, scen)
    levels = requested_levels(risk)
    components = tail_components(prepared, shocks, raw, levels) if levels else {}
    return build_result(
        scen, book.market.base_currency, book.portfolio, groups, raw, positions, components
    )
