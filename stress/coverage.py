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
import polars as pl

from portfolios.model import Portfolio
from shocks.factors import GOLD, Factor, FactorSpace
from shocks.model import ALL, ScenarioSet
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


#: Instruments with a credit spread, which spread shifts move (a swap has none).
CREDIT = ("bond", "frn", "future")


def unmatched_spreads(portfolio: Portfolio, scen: ScenarioSet) -> list[str]:
    """Why each attribute the set's spread shifts go by moves no position of ``portfolio``
    with a credit spread: the book has no such column, or none of its values is one the set
    names (and the set gives no ALL value for it). A misspelt ``by`` or a label written " BBB"
    would otherwise leave every spread P&L at zero without a word."""
    attributes = scen.spread_attributes
    f = portfolio.frame.filter(pl.col("instrument").is_in(CREDIT)) if attributes else None
    if f is None or not len(f):
        return []
    # The library's credit scenarios go by rating: a book of government bonds without ratings
    # is left alone on purpose, a user's file naming a column the book lacks is a typo.
    own = scen.select([i for i, o in enumerate(scen.origins) if not o.startswith("library:")])
    out = []
    for attr in attributes:
        named = {label for a, label in scen.spread_keys if a == attr}
        if ALL in named:
            continue
        values = (set(f[attr].cast(pl.String).drop_nulls().to_list()) if attr in f.columns
                  else set())  # fmt: skip
        if not values:
            if attr in own.spread_attributes:
                out.append(f"{attr!r} (the book has no column of that name)"
                           if attr not in f.columns else
                           f"{attr!r} (no position with a credit spread has a value of it)")
            continue
        if values & named:
            continue
        near = {v.strip().upper(): v for v in named}
        close = [f"{v!r} for {near[v.strip().upper()]!r}" for v in sorted(values)
                 if v.strip().upper() in near]
        if close:
            out.append(f"{attr!r} (the book's {', '.join(close[:5])}: labels must match "
                       "exactly, spaces and case included)")
        else:
            shown = ", ".join(repr(v) for v in sorted(values)[:5])
            out.append(f"{attr!r} (the book's values {shown}; the scenarios name "
                       f"{', '.join(repr(v) for v in sorted(named)[:5])})")
    return out


def warn_unmoved(portfolio: Portfolio, scen: ScenarioSet, base_currency: str) -> None:
    """A StressWarning naming what ``unmoved`` and ``unmatched_spreads`` find."""
    spreads = unmatched_spreads(portfolio, scen)
    if spreads:
        warnings.warn(
            f"the scenarios' spread shifts by {'; '.join(spreads)} move no position: the "
            "book's spread P&L from them is zero",
            StressWarning,
            stacklevel=3,
        )
    names = unmoved(portfolio, scen, base_currency)
    if names:
        warnings.warn(
            f"no generated scenario moves {', '.join(names)}, to which the book is exposed: "
            "the book's P&L from them is zero in every one (the history has too few changes "
            "of theirs in the window the scenarios were drawn from)",
            StressWarning,
            stacklevel=3,
        )
