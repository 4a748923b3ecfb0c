"""Whether a generated scenario set moves what a book is exposed to.

A set drawn from a market history moves only the factors the history has changes of in its
window (the bundled history has no gold price after 2018, so the default Monte Carlo window
leaves gold alone): a book's exposure to a factor no scenario moves shows no P&L in any of
them, and its VaR reads as if the exposure were not there. Hand-written scenarios leave
factors alone on purpose, so only the ones drawn from history are looked at.
"""

from __future__ import annotations

import warnings

import numpy as np

from portfolios.model import Portfolio
from shocks.model import ALL, ScenarioSet
from stress.warnings import StressWarning

#: Origins of scenario sets drawn from market history (read back from a file: "<origin>
#: (<file>)"). Other generators (the parallel grid, reverse stress) move what they mean to.
GENERATED = ("generator:historical", "generator:monte_carlo")
#: Instruments valued on their currency's curve.
ON_CURVES = ("bond", "frn", "swap", "future")


def unmoved(portfolio: Portfolio, scen: ScenarioSet, base_currency: str) -> list[str]:
    """The factors ``portfolio`` is exposed to that no scenario of ``scen`` drawn from history
    moves: a curve of its instruments (no knot on it or on ALL), the FX rate of a position
    currency against ``base_currency`` (neither currency's value in USD moves), gold."""
    generated = np.flatnonzero([o.startswith(GENERATED) for o in scen.origins])
    if not len(generated) or not len(portfolio):
        return []
    s = scen.select(generated)
    f = portfolio.frame
    out: list[str] = []
    for ccy in sorted(f.filter(f["instrument"].is_in(ON_CURVES))["currency"].unique()):
        rows = [s.currencies.index(c) for c in (ccy, ALL) if c in s.currencies]
        if not s.knots[:, rows, :].any():
            out.append(f"the {ccy} curve")

    def fx_moves(ccy: str) -> bool:
        if ccy not in s.fx_currencies:
            return False
        return bool((s.fx_pct[:, s.fx_currencies.index(ccy)] != 0.0).any())

    for ccy in sorted(set(f["currency"].unique()) - {base_currency}):
        if not (fx_moves(ccy) or fx_moves(base_currency)):
            out.append(f"{ccy} against {base_currency}")
    if (f["instrument"] == "gold").any() and not (s.gold_pct != 0.0).any():
        out.append("gold")
    return out


def warn_unmoved(portfolio: Portfolio, scen: ScenarioSet, base_currency: str) -> None:
    """A StressWarning naming what ``unmoved`` finds."""
    names = unmoved(portfolio, scen, base_currency)
    if names:
        warnings.warn(
            f"no generated scenario moves {', '.join(names)}, to which the book is exposed: "
            "the book's P&L from them is zero in every one (the history has too few changes "
            "of theirs in the window the scenarios were drawn from)",
            StressWarning,
            stacklevel=3,
        )
