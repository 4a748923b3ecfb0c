"""Instruments as extension points: each kind of position is a small module, registered here.

A module holds the instrument's name (the ``instrument`` cell of a positions file), its
valuation form in the kernels (``stress.kernels.scenarios``: cashflows on a curve, gold, cash),
and, for cashflow instruments, the builder that lays its rows out as cashflows per 100 face
(``CashflowRows``) plus its own analytics columns. Adding an instrument (an FRN, a bond future)
is a module here, its validation in ``portfolios.loader`` and one line in each registry.
"""

from __future__ import annotations

from stress.instruments import bond, cash, floating, future, gold
from stress.instruments.base import CashflowRows, ForwardRows, Instrument

INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (bond.BOND, gold.GOLD, cash.CASH, floating.FRN, floating.SWAP, future.FUTURES)
}

__all__ = ["INSTRUMENTS", "CashflowRows", "ForwardRows", "Instrument"]
