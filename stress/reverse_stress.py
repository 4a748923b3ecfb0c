"""Reverse stress: the most plausible market move whose loss reaches a threshold.

Plausibility is the Mahalanobis distance d(x) = sqrt(x' S^+ x) of a factor move x under the
covariance S of N-day changes of the market history's factors (``shocks.covariance``; rates in
bp, FX and gold in log-percent). The most plausible move with P&L(x) = -L solves
min d(x) subject to P&L(x) = -L; at the optimum x is parallel to S times the P&L's gradient.

1. Linearised answer: with sensitivities s (the P&L's gradient at no move, by central
   differences of full revaluations), x = -L S s / (s'S s) and d = L / sqrt(s'S s).
2. Refinement by full revaluation: at the current move x take the gradient g, search the ray
   -lambda S g for the lambda whose full-revaluation P&L is -L, move there; repeat until the
   P&L is within ``tolerance`` of -L and the move settles. Convexity makes the linear answer
   too optimistic (too close) for large losses; the refinement corrects it.

The distance becomes a probability two ways, both under a joint normal model (fat tails make
them optimistic): d^2 is chi-squared with as many degrees of freedom as factors (how unusual a
move this size is in any direction), and P(Z >= d) for the linearised loss (how likely a loss
of at least L is over the horizon, to first order).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.loader import PositionSource
from portfolios.model import Portfolio
from shocks.covariance import covariance
from shocks.errors import ScenarioError
from shocks.history import History, Window
from shocks.model import ScenarioSet
from stress.engine import as_portfolio, run_prepared
from stress.evaluate import check_count, evaluate, total_pnl
from stress.groups import Groupings
from stress.histories import market_history
from stress.market import Market, MarketSource, as_market
from stress.prepare import Prepared, prepare
from stress.resolve import resolve

FloatArray = npt.NDArray[np.float64]


class ReverseStressError(ValueError):
    """A loss that cannot be reached, or a book with no exposure to the history's factors."""


@dataclass(frozen=True)
class ReverseStress:
    """The most plausible move that loses ``loss`` (base currency).

    ``scenario``: the move as a one-scenario ScenarioSet (``to_toml`` writes it as a scenario
    file); ``moves``: per factor its move in scenario units (bp, percent), its standard
    deviation over the horizon (factor units: bp, log-percent) and the move in standard
    deviations; ``pnl``: the full-revaluation P&L of the move; ``distance``: its Mahalanobis
    distance (standard deviations); ``linear_distance``: that of the linearised answer;
    ``positions``: every position's P&L under the move; ``left_alone``: history factors without
    enough data in the window (not moved).
    """

    loss: float
    pnl: float
    distance: float
    linear_distance: float
    chi2_probability: float
    tail_probability: float
    degrees_of_freedom: int
    iterations: int
    horizon: int
    window: tuple[str, str]
    history: str
    base_currency: str
    scenario: ScenarioSet
    moves: pl.DataFrame
    positions: pl.DataFrame
    left_alone: tuple[str, ...]

    def to_toml(self) -> str:
        """The scenario as a TOML scenario file that ``stress run --scenarios`` reads."""
        return scenario_toml(self.scenario)


def reverse(
    portfolio: Portfolio | PositionSource,
    market: MarketSource,
    loss: float,
    *,
    history: History | None = None,
    window: Window | None = None,
    horizon: int = 10,
    base_currency: str | None = None,
    tolerance: float = 1e-3,
    max_iterations: int = 30,
) -> ReverseStress:
    """The most plausible move of the history's factors whose loss on ``portfolio`` reaches
    ``loss`` (base currency, a positive number); see the module docstring.

    Args:
        history: the market history (default: the bundled one), restricted to the factors
            the market prices.
        window: (start, end) of the changes the covariance is built on (default: the last
            five years of the history).
        horizon: business days of each change.
        tolerance: the full-revaluation P&L must be within ``tolerance`` x loss of -loss.

    Raises:
        ReverseStressError: the loss is not positive, the book has no exposure to the factors,
            or no move reaches the loss.
    """
    if isinstance(loss, bool) or not (isinstance(loss, int | float | np.number)
                                      and math.isfinite(loss) and loss > 0):  # fmt: skip
        raise ReverseStressError(f"loss: got {loss!r}; expected a positive amount")
    if isinstance(tolerance, bool) or not (isinstance(tolerance, int | float | np.number)
                                           and 0 < tolerance < 1):  # fmt: skip
        raise ReverseStressError(f"tolerance: got {tolerance!r}; expected a fraction of the "
                                 "loss between 0 and 1, e.g. 0.001")
    check_count("max_iterations", max_iterations, 1)
    market = as_market(market)
    portfolio = as_portfolio(portfolio, market)
    market = market.with_base(base_currency)
    h = market_history(market, history)
    cov = covariance(h, horizon, window)
    avail = cov.available
    if not avail.any():
        raise ReverseStressError(
            f"{h.source}: no factor has enough {cov.horizon}-day changes within "
            f"{cov.window[0]} .. {cov.window[1]} for a covariance"
        )
    S = cov.psd()
    prepared = prepare(portfolio, market)
    space = h.space
    names = [h.factors[i] for i in np.flatnonzero(avail)]
    step = 0.01 * np.sqrt(np.maximum(np.diag(S), 1e-12))

    def scenarios(x: FloatArray, label: str) -> ScenarioSet:
        full = np.full((len(x), len(h.factors)), np.nan)
        full[:, avail] = x
        return space.scenarios(full, names=[f"{label}_{i}" for i in range(len(x))],
                               origin="generator:reverse_stress")  # fmt: skip

    def pnl(x: FloatArray) -> FloatArray:
        return _book_pnl(prepared, market, scenarios(np.atleast_2d(x), "x"))

    def gradient(x: FloatArray) -> FloatArray:
        bumps = np.diag(step)
        values = pnl(np.vstack([x + bumps, x - bumps]))
        n = len(step)
        return np.asarray((values[:n] - values[n:]) / (2.0 * step))

    g = gradient(np.zeros(len(step)))
    variance = float(g @ S @ g)
    still = [n for n, gi, v in zip(names, g, np.diag(S), strict=True) if gi != 0 and not v > 0]
    if not variance > 0.0 and still:
        raise ReverseStressError(
            f"the book is exposed to {', '.join(still)}, which did not move within "
            f"{cov.window[0]} .. {cov.window[1]} of {h.source}: no move of them is plausible "
            "there; pick another window"
        )
    if not variance > 0.0:
        raise ReverseStressError(
            f"the book has no exposure to the history's factors ({', '.join(names)}): no move "
            "of them changes its value"
        )
    linear_distance = loss / math.sqrt(variance)
    # The linear guess -loss S g / variance, revalued along its direction: a loss the linear
    # model reaches only by moves beyond what markets take is refused here, saying how far
    # full revaluation goes.
    direction = -(S @ g)
    scale, _ = _reach(pnl, loss, loss / variance * direction, direction)
    x = scale * direction
    value = float("nan")
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported)
        g = gradient(x)
        direction = -(S @ g)
        scale, value = _reach(pnl, loss, x, direction)
        new = scale * direction
        settled = _distance(new - x, S) <= 1e-4 * max(_distance(new, S), 1e-12)
        x = new
        if settled and abs(value + loss) <= tolerance * loss:
            break
    if not abs(value + loss) <= tolerance * loss:
        raise ReverseStressError(
            f"no move found whose loss is within {tolerance:.1%} of {_money(loss)} after "
            f"{max_iterations} refinements (closest P&L {_money(value)})"
        )
    distance = _distance(x, S)
    scen = scenarios(x[None, :], "reverse")
    label = f"reverse_{_short(loss)}"
    start, end = cov.window
    description = (
        f"Reverse stress: the most plausible move of {len(names)} history factors whose "
        f"full-revaluation loss is {_money(loss)} {market.base_currency}: {distance:.2f} standard "
        f"deviations (Mahalanobis) under the covariance of {horizon}-day changes "
        f"{start} .. {end} of {h.source}"
    )
    scen = replace(
        scen,
        names=(label,),
        descriptions=(description,),
        sources=(f"stress.reverse, history {h.source}",),
    )
    full = np.zeros(len(avail))
    full[avail] = x
    moves_scn = space.to_scenario_units(full)[avail]
    sd = np.sqrt(np.maximum(np.diag(S), 0.0))
    detail = run_prepared(prepared, scen, detail="positions").positions
    return ReverseStress(
        loss=float(loss),
        pnl=value,
        distance=distance,
        linear_distance=linear_distance,
        chi2_probability=chi2_sf(distance**2, len(names)),
        tail_probability=0.5 * math.erfc(linear_distance / math.sqrt(2.0)),
        degrees_of_freedom=len(names),
        iterations=iterations,
        horizon=horizon,
        window=(str(start), str(end)),
        history=h.source,
        base_currency=market.base_currency,
        scenario=scen,
        moves=pl.DataFrame(
            {
                "factor": names,
                "move": moves_scn,
                "unit": [_unit(space.factors[i].kind) for i in np.flatnonzero(avail)],
                "stdev": sd,
                "z": x / np.where(sd > 0, sd, np.nan),
            }
        ),
        positions=detail.drop("scenario").with_columns(pl.col("position_id").cast(pl.String)),
        left_alone=tuple(h.factors[i] for i in np.flatnonzero(~avail)),
    )


def _unit(kind: str) -> str:
    return "bp" if kind == "rate" else "%"


def _book_pnl(prepared: Prepared, market: Market, scen: ScenarioSet) -> FloatArray:
    """The book's P&L under each scenario (totals only)."""
    book = prepared.book
    shocks = resolve(scen, market, book.currencies, book.position_currencies)
    raw, _ = evaluate(prepared, shocks, Groupings.total(book.n_positions), worst=0)
    return total_pnl(raw)


def _distance(x: FloatArray, S: FloatArray) -> float:
    """Mahalanobis length sqrt(x' S^+ x) (least squares: S may be singular)."""
    y = np.linalg.lstsq(S, x, rcond=None)[0]
    return float(math.sqrt(max(float(x @ y), 0.0)))


def _reach(
    pnl: Callable[[FloatArray], FloatArray], loss: float, x: FloatArray, direction: FloatArray
) -> tuple[float, float]:
    """The scale lambda > 0 with P&L(lambda direction) = -loss (``pnl`` maps moves, one per
    row, to their P&Ls), by bracketing on a grid of full revaluations around the current
    point, then regula falsi; returns (lambda, P&L)."""

    def fn(lam: FloatArray) -> FloatArray:
        """The P&L of each move lam x direction; NaN for one no market can take (a currency
        or gold falling 100 % or more, a figure beyond floating point)."""
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                values = pnl(np.outer(lam, direction))
        except ScenarioError:
            if len(lam) == 1:
                return np.array([np.nan])
            return np.concatenate([fn(lam[i : i + 1]) for i in range(len(lam))])
        return np.where(np.isfinite(values), values, np.nan)

    # Lengths scaled by their largest component: a loss of 1e300 asks for moves whose
    # squares overflow.
    top = max(float(np.max(np.abs(x))), float(np.max(np.abs(direction))), 1e-300)
    start = float(np.linalg.norm(x / top)) / max(float(np.linalg.norm(direction / top)), 1e-300)
    lam = min(start, 1e300) * np.array([0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0,
                                        5.0, 10.0])  # fmt: skip
    largest = 0.0
    for _ in range(80):
        values = fn(lam)
        taken = ~np.isnan(values)
        if taken.any():
            largest = max(largest, -float(np.nanmin(values)))
        over = np.flatnonzero(values <= -loss)
        if len(over) or (taken.any() and not taken[-1]):
            break  # reached, or the moves that could reach it are beyond what markets take
        # Further out while every move is one markets take, much nearer while none is (a
        # loss beyond any market's reach starts the search at absurd moves).
        lam = lam * 10.0 if taken.any() else lam / 1e4
    if not len(over):
        raise ReverseStressError(
            f"no move reaches a loss of {_money(loss)}: the largest loss along the most "
            f"plausible direction is {_money(largest)}"
        )
    k = int(over[0])
    hi, f_hi = float(lam[k]), float(values[k])
    lo, f_lo = (0.0, 0.0) if k == 0 else (float(lam[k - 1]), float(values[k - 1]))
    for _ in range(60):
        # Regula falsi on f(lambda) + loss, kept bracketed, with a bisection fallback.
        mid = lo + (hi - lo) * (f_lo + loss) / (f_lo - f_hi) if f_lo != f_hi else 0.5 * (lo + hi)
        if not lo < mid < hi:
            mid = 0.5 * (lo + hi)
        f_mid = float(fn(np.array([mid]))[0])
        if abs(f_mid + loss) <= 1e-6 * loss:
            return mid, f_mid
        if f_mid <= -loss:
            hi, f_hi = mid, f_mid
        else:
            lo, f_lo = mid, f_mid
    return hi, f_hi


def chi2_sf(x: float, k: int) -> float:
    """P(X >= x) for X chi-squared with k degrees of freedom: the regularized upper incomplete
    gamma function Q(k/2, x/2), by its series (x < k/2 + 1) or continued fraction."""
    a, z = 0.5 * k, 0.5 * x
    if z <= 0.0:
        return 1.0
    log_front = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1.0:
        term = total = 1.0 / a
        n = a
        for _ in range(1000):
            n += 1.0
            term *= z / n
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # Lentz's method for the continued fraction of Q.
    tiny = 1e-300
    b = z + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return math.exp(log_front) * h


def _money(x: float) -> str:
    """An amount of money for a message: whole units with thousands separators, or three
    significant digits where that would be a 300-digit number or 0."""
    if x == 0.0 or 1.0 <= abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _short(amount: float) -> str:
    """50e6 -> '50m', 1.2e9 -> '1.2bn'."""
    for div, unit in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if amount >= div:
            return f"{amount / div:g}{unit}"
    return f"{amount:g}"


def scenario_toml(scen: ScenarioSet) -> str:
    """A scenario set without level targets as a TOML scenario file (numbers to full
    precision, so reading it back gives the same shifts)."""
    if scen.levels:
        raise ValueError("scenario_toml: level targets are not written")
    lines: list[str] = []
    for i, name in enumerate(scen.names):
        lines += ["[[scenario]]", f"name = {_q(name)}", f"description = {_q(scen.descriptions[i])}",
                  f"source = {_q(scen.sources[i])}"]  # fmt: skip
        for c, ccy in enumerate(scen.currencies):
            mask = scen.knots[i, c]
            if not mask.any():
                continue
            tenors = [str(t) for t, m in zip(scen.tenors, mask, strict=True) if m]
            bp = [repr(float(v)) for v in scen.bp[i, c, mask]]
            lines += [
                f"[scenario.rates.{ccy}]",
                "tenors = [" + ", ".join(_q(t) for t in tenors) + "]",
                "bp = [" + ", ".join(bp) + "]",
            ]
        moves = [(c, scen.fx_pct[i, k]) for k, c in enumerate(scen.fx_currencies)]
        if any(v for _, v in moves):
            lines.append("[scenario.fx]")
            lines += [f"{c} = {float(v)!r}" for c, v in moves if v]
        if scen.gold_pct[i]:
            lines += ["[scenario.gold]", f"pct = {float(scen.gold_pct[i])!r}"]
        lines.append("")
    return "\n".join(lines)


def _q(text: str) -> str:
    """A TOML basic string."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + "".join(ch if ch >= " " else f"\\u{ord(ch):04x}" for ch in out) + '"'
