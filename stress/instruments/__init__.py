"""Instruments as extension points: each kind of position is a small module, registered here.

A module holds the instrument's name (the ``instrument`` cell of a positions file), its
valuation form in the kernels (``stress.kernels.scenarios``: cashflows on a curve, gold, cash),
and, for cashflow instruments, the builder that lays its rows out as cashflows per 100 face
(``CashflowRows``) plus its own analytics columns. Adding an instrument (an FRN, a bond future)
is a module here, its validation in ``portfolios.loader`` and one line in each registry.
"""

from __future__ import annotations

import polars as pl

from stress.instruments import bond, cash, floating, future, gold
from stress.instruments.base import CashflowRows, ForwardRows, Instrument

INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (bond.BOND, gold.GOLD, cash.CASH, floating.FRN, floating.SWAP, future.FUTURES)
}

#: Instruments laid out on their currency's curve: cashflows (bonds, FRNs, swaps) and forwards
#: (bond futures).
ON_CURVES = tuple(n for n, i in INSTRUMENTS.items() if i.build is not None or i.forward is not None)

#: Instruments with a credit spread, which spread shifts move (a swap has none).
CREDIT = ("bond", "frn", "future")


def curves_of(positions: pl.DataFrame) -> tuple[str, ...]:
    """The curves a book of ``positions`` (a validated positions frame) is laid out on, as
    ``stress.book`` lays it out: the currencies of its instruments on curves, sorted."""
    on = positions.filter(positions["instrument"].is_in(ON_CURVES))
    return tuple(sorted(on["currency"].unique().to_list()))


__all__ = ["CREDIT", "INSTRUMENTS", "ON_CURVES", "CashflowRows", "ForwardRows", "Instrument",
           "curves_of"]
