"""Market history as the engine uses it: the factors a market can price.

A history may hold factors a market does not (the bundled one has CHF, the bundled market does
not): scenarios generated from it for a run, predictive fills and reverse stress use only the
factors the market prices — a curve it has, an FX rate it has, gold when it has a price.
"""

from __future__ import annotations

from shocks.errors import HistoryError
from shocks.factors import parse_factor
from shocks.history import History, check_history, default_history
from stress.market import Market


def market_history(market: Market, history: History | None = None) -> History:
    """``history`` (default: the bundled one) restricted to the factors ``market`` prices.

    Raises:
        HistoryError: no factor of the history is priced by the market.
    """
    check_history(history, optional=True)
    h = history if history is not None else default_history()
    keep = [name for name in h.factors if _priced(name, market)]
    if not keep:
        raise HistoryError(
            f"{h.source}: none of its factors ({', '.join(h.factors)}) is priced by the market "
            f"({market.source}: curves {', '.join(sorted(market.curves))})"
        )
    return h if len(keep) == len(h.factors) else h.select(keep)


def _priced(name: str, market: Market) -> bool:
    f = parse_factor(name)
    if f.kind == "rate":
        return f.currency in market.curves
    if f.kind == "fx":
        return f.currency in market.usd_value
    return market.gold_usd is not None
