"""The stress engine: positions + market + scenarios -> cashflow book -> kernels -> raw sums ->
StressResult, in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import shocks
from portfolios.model import Portfolio
from shocks.history import History
from shocks.library import ScenarioSource, load
from shocks.model import ScenarioSet
from stress.evaluate import check_finite, evaluate, tail_components
from stress.groups import groupings
from stress.histories import market_history
from stress.market import Market
from stress.prepare import Prepared, prepare
from stress.resolve import resolve
from stress.result import StressResult, build_result
from stress.risk import check_levels

DETAIL_MODES = ("summary", "positions")
#: Scenarios whose worst positions a summary run finds (the ones of lowest P&L).
WORST_SCENARIOS = 100


def run(
    portfolio: Portfolio,
    market: Market,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    *,
    detail: str = "summary",
    base_currency: str | None = None,
    by: Sequence[str] = (),
    worst: int = 10,
    worst_scenarios: int | None = WORST_SCENARIOS,
    risk: Sequence[float] = (),
    history: History | None = None,
    fill_unshocked: bool = False,
    skip_invalid: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """Revalue ``portfolio`` under every scenario by full revaluation.

    Args:
        portfolio: validated positions (``portfolios.load``).
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
        progress: called with (scenarios done, total) after each chunk.
    """
    if detail not in DETAIL_MODES:
        raise ValueError(f"detail: got {detail!r}; expected 'summary' or 'positions'")
    if worst < 0:
        raise ValueError(f"worst: got {worst}; expected a count of positions, 0 or more")
    market = market.with_base(base_currency)
    scen = load_for(market, scenarios, history, fill_unshocked=fill_unshocked)
    prepared = prepare(portfolio, market, skip_invalid=skip_invalid)
    return run_prepared(
        prepared,
        scen,
        detail=detail,
        by=by,
        worst=worst,
        worst_scenarios=worst_scenarios,
        risk=risk,
        chunk_size=chunk_size,
        progress=progress,
    )


def load_for(
    market: Market,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    history: History | None = None,
    *,
    fill_unshocked: bool = False,
) -> ScenarioSet:
    """The scenarios, with predictive fills from the history's factors the market prices."""
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
    risk: Sequence[float] = (),
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """``run`` on a book prepared once (``stress.prepare.prepare``) for many runs."""
    book = prepared.book
    scen = load(scenarios)
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
        progress=progress,
    )
    check_finite(raw, prepared, shocks, scen)
    components = tail_components(prepared, shocks, raw, check_levels(risk)) if risk else {}
    return build_result(
        scen, book.market.base_currency, book.portfolio, groups, raw, positions, components
    )
