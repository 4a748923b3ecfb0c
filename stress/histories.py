"""Market history as the engine uses it: the factors a market can price.

A history may hold factors a market does not (the bundled one has CHF, the bundled market does
not): scenarios generated from it for a run, predictive fills and reverse stress use only the
factors the market prices — a curve it has, an FX rate it has, gold when it has a price.
"""

from __future__ import annotations

import warnings

import numpy as np

from shocks.errors import HistoryError
from shocks.factors import parse_factor
from shocks.history import History, check_history, default_history
from stress.market import Market
from stress.warnings import StressWarning

#: An FX rate's last level in the history this many times the market's, or less than its
#: inverse: a quote the other way round (JPY: about 25,000 times).
FX_LEVEL_RATIO = 10.0
#: An FX rate's last level this many times off the market's either way, where its inverse is
#: nearer the market's: a currency near parity quoted the other way round (EURUSD 1.17 given
#: as 0.855, 1.37 times off) that FX_LEVEL_RATIO lets through. Its moves would come out with
#: the wrong sign.
FX_INVERSE_RATIO = 1.2
#: ... where its inverse is this much nearer (a fraction of the distance on log scale): a real
#: EURUSD of 0.97 (autumn 2022) against 1.17 is off by 1.21 but only a little nearer inverted.
INVERSE_NEARER = 0.5
#: Percentage points between a yield's last level and the market's: beyond any move of a
#: developed market's yields over years.
RATE_LEVEL_GAP = 10.0
#: Yields (percent) whose every level in the history lies within this of zero, where the
#: market's rates at their tenors reach DECIMAL_MARKET_PCT, look like decimals (0.043 for
#: 4.3 %): ES came out a hundred times too small, and far from any gap to the market.
DECIMAL_MAX_PCT = 0.2
DECIMAL_MARKET_PCT = 1.0


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
    h = h if len(keep) == len(h.factors) else h.select(keep)
    for msg in implausible_levels(h, market):
        warnings.warn(msg, StressWarning, stacklevel=2)
    return h


def implausible_levels(h: History, market: Market) -> list[str]:
    """What in ``h`` looks like a unit or quote mistake the loader's ranges let through: an FX
    rate whose last level is more than FX_LEVEL_RATIO from the market's, or more than
    FX_INVERSE_RATIO where its inverse is clearly nearer (INVERSE_NEARER; a quote the other
    way round), a yield whose last level is more than RATE_LEVEL_GAP percentage points from
    the market's zero rate at its tenor (a column in bp; the loader warns of a single cell,
    ``shocks.HistoryWarning``), yields that never leave DECIMAL_MAX_PCT of zero where the
    market's are well above it (decimals, not percent). Histories end before the market's date
    and rates move, so these are warnings with generous bounds, not refusals."""
    out: list[str] = []
    last, when = h.levels()
    rates: list[int] = []  # the yield columns, and the market's zero rates at their tenors
    market_rates: list[float] = []
    for j, name in enumerate(h.factors):
        f = parse_factor(name)
        if f.kind == "fx":
            usd = market.usd_value[f.currency]
            ratio = last[j] / usd
            off = abs(np.log(ratio))
            inverted = (off > np.log(FX_INVERSE_RATIO)
                        and abs(np.log(last[j] * usd)) < INVERSE_NEARER * off)
            if off > np.log(FX_LEVEL_RATIO) or inverted:
                out.append(
                    f"{h.source}: {name} is {last[j]:.6g} USD on {when[j]}, the market's "
                    f"{market.usd_value[f.currency]:.6g}: {name} is the value of one "
                    f"{f.currency} in USD; is it quoted the other way round?"
                )
        elif f.kind == "rate":
            assert f.tenor is not None
            curve = market.curves[f.currency]
            now = 100.0 * float(curve.zero(f.tenor.years))
            rates.append(j)
            market_rates.append(now)
            if abs(last[j] - now) > RATE_LEVEL_GAP:
                out.append(
                    f"{h.source}: {name} is {last[j]:.4g} % on {when[j]}, the market's zero "
                    f"rate there {now:.4g} %: yields are in percent; is the column in bp?"
                )
    if rates:
        seen = np.abs(h.values[:, rates])
        highest = float(np.nanmax(seen)) if np.isfinite(seen).any() else 0.0
        market_top = max(abs(r) for r in market_rates)
        if highest <= DECIMAL_MAX_PCT and market_top >= DECIMAL_MARKET_PCT:
            out.append(
                f"{h.source}: no yield of the history is ever more than {highest:.3g} % from "
                f"zero, where the market's reach {market_top:.3g} %: yields are in percent; "
                "are they decimals (0.043 for 4.3 %)?"
            )
    return out


def _priced(name: str, market: Market) -> bool:
    f = parse_factor(name)
    if f.kind == "rate":
        return f.currency in market.curves
    if f.kind == "fx":
        return f.currency in market.usd_value
    return market.gold_usd is not None
