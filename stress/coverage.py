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
from shocks.factors import GOLD, Factor, FactorSpace
from shocks.model import ScenarioSet
from stress.instruments import curves_of
from stress.warnings import StressWarning

#: Origins of scenario sets drawn from market history (read back from a file: "<origin>
#: (<file>)"). Other generators (the parallel grid, reverse stress) move what they mean to.
GENERATED = ("generator:historical", "generator:monte_carlo")


def unmoved(portfolio: Portfolio, scen: ScenarioSet, base_currency: str) -> list[str]:
    """The factors ``portfolio`` is exposed to that no scenario of ``scen`` drawn from history
    moves (``FactorSpace.given``): a curve of its instruments (no knot on it or on ALL, at any
    tenor), the FX rate of a position currency against ``base_currency`` (neither currency's
    value in USD moves), gold."""
    generated = np.flatnonzero([o.startswith(GENERATED) for o in scen.origins])
    if not len(generated) or not len(portfolio):
        return []
    s = scen if len(generated) == len(scen) else scen.select(generated)
    f = portfolio.frame
    curves = curves_of(f)
    currencies = sorted(set(f["currency"].unique()) - {base_currency})
    # Every curve point of the set's tenors, the FX rates (USD is the numeraire) and gold.
    factors = [Factor("rate", c, t) for c in curves for t in s.tenors]
    factors += [Factor("fx", c) for c in sorted({*currencies, base_currency} - {"USD"})]
    factors.append(Factor("gold", GOLD))
    given = dict(zip(factors, FactorSpace(tuple(factors)).given(s).tolist(), strict=True))
    out = [f"the {c} curve" for c in curves
           if not any(given[Factor("rate", c, t)] for t in s.tenors)]  # fmt: skip
    out += [f"{c} against {base_currency}" for c in currencies
            if not (given.get(Factor("fx", c)) or given.get(Factor("fx", base_currency)))]
    if (f["instrument"] == "gold").any() and not given[Factor("gold", GOLD)]:
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
