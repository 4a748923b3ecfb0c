"""Gold: a position in troy ounces, worth the XAUUSD price in USD."""

from __future__ import annotations

import math

from stress.instruments.base import Instrument
from stress.kernels.scenarios import GOLD as GOLD_FORM
from stress.market import Market


def _price(market: Market) -> float:
    return market.gold_usd if market.gold_usd is not None else math.nan


GOLD = Instrument(name="gold", form=GOLD_FORM, unit_value=_price)
