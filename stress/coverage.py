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
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio
from shocks.factors import GOLD, Factor, FactorSpace
from shocks.model import ALL, ScenarioSet
from stress.groups import MISSING
from stress.instruments import CREDIT, curves_of
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


def unmatched_spreads(portfolio: Portfolio, scen: ScenarioSet) -> list[str]:
    """What in the set's spread tables looks like a mistake against ``portfolio``'s positions
    with a credit spread (a position without a value is "n/a", as the engine reads it), and
    which scenarios it is in: a label that differs from a value of the book only in spaces or
    case (" BBB" for "BBB"), and in the user's own scenarios an attribute the book has no
    column of, or tables none of whose labels (nor ALL) is a value of the book. Each would
    leave spread P&L at zero without a word. A table that shifts only other labels than the
    book's is not one (a high-yield shock on an investment-grade book), and the library's
    credit scenarios go by rating, which a book of government bonds may well not have: they
    are checked for mistypes alone."""
    if not scen.spread_attributes:
        return []
    book = portfolio.frame
    credit = book.select(pl.col("instrument").is_in(CREDIT).alias("credit"),
                         *[pl.col(a) for a in scen.spread_attributes if a in book.columns]
                         ).filter("credit")  # fmt: skip
    if not len(credit):
        return []
    library = np.array([o.startswith("library:") for o in scen.origins])
    out = []
    for attr in scen.spread_attributes:
        keys = [k for k, (a, _) in enumerate(scen.spread_keys) if a == attr]
        labels = [scen.spread_keys[k][1] for k in keys]
        shifted = scen.spread_set[:, keys]
        if attr in credit.columns:
            column = credit[attr]
            unlabelled = column.null_count() == len(column)
            values = set(column.cast(pl.String).fill_null(MISSING).unique().to_list())
        else:
            unlabelled, values = True, {MISSING}
        moves = np.array([lab == ALL or lab in values for lab in labels])
        # Pairs of a book value and a label that differ in spaces or case alone.
        pairs = [(v, lab) for v in sorted(values) for lab in labels
                 if v != lab and v.strip().upper() == lab.strip().upper()]
        mistyped = {lab for _, lab in pairs}
        close = np.array([lab in mistyped for lab in labels])
        idle = ~(shifted & moves).any(axis=1) & shifted.any(axis=1)
        if (shifted & close).any():
            why = ", ".join(f"the book's {v!r} against the scenarios' {lab!r}"
                            for v, lab in pairs[:3])
            found = (shifted & close).any(axis=1)
            out.append(f"{attr!r} in {_some(scen, found)} ({why}: labels must match exactly, "
                       "spaces and case included)")
        elif unlabelled and (idle & ~library).any():
            why = ("the book has no column of that name" if attr not in credit.columns
                   else "no position with a credit spread has a value of it")
            out.append(f"{attr!r} in {_some(scen, idle & ~library)} ({why})")
        elif not unlabelled and (idle & ~library).any():
            own = shifted[~library].any(axis=0)
            if (own & moves).any():
                continue  # some of the user's tables move the book: the others are narrower
            named = sorted({lab for lab, used in zip(labels, own, strict=True) if used})
            out.append(f"{attr!r} in {_some(scen, idle & ~library)} (the book's values "
                       f"{', '.join(repr(v) for v in sorted(values)[:5])}; the scenarios "
                       f"name {', '.join(repr(v) for v in named[:5])})")
    return out


def _some(scen: ScenarioSet, which: npt.NDArray[np.bool_]) -> str:
    """The first scenarios of ``which``, named, and how many more."""
    named = np.flatnonzero(which)
    more = f" and {len(named) - 3} more" if len(named) > 3 else ""
    return ", ".join(repr(scen.names[i]) for i in named[:3]) + more


def warn_unmoved(portfolio: Portfolio, scen: ScenarioSet, base_currency: str) -> None:
    """A StressWarning naming what ``unmoved`` and ``unmatched_spreads`` find."""
    spreads = unmatched_spreads(portfolio, scen)
    if spreads:
        warnings.warn(
            f"the scenarios' spread shifts by {'; '.join(spreads)} miss the positions they "
            "look meant for: those positions' spreads do not move",
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
