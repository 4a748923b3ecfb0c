"""Bond conventions: day counts, coupon frequencies and market presets.

Day counts follow QuantLib's definitions so that prices agree with it to rounding:

- ``ACT/ACT-ICMA``: actual days over actual days of the reference (coupon) period, divided by the
  coupon frequency; a regular coupon accrues exactly ``rate / frequency``.
- ``ACT/365F`` and ``ACT/360``: actual days over 365 or 360.
- ``30/360``: the US (SIFMA bond basis) rule, QuantLib's ``Thirty360.USA``: day 31 becomes 30,
  the end of February counts as day 30 when the period starts on it.
- ``30E/360``: the Eurobond basis, QuantLib's ``Thirty360.European``: day 31 becomes 30.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Integer codes used in the flat arrays handed to the kernels.
DAY_COUNTS: Final[dict[str, int]] = {
    "ACT/ACT-ICMA": 0,
    "ACT/365F": 1,
    "ACT/360": 2,
    "30/360": 3,
    "30E/360": 4,
}
DAY_COUNT_NAMES: Final[tuple[str, ...]] = tuple(DAY_COUNTS)

FREQUENCIES: Final[tuple[int, ...]] = (1, 2, 4, 12)


@dataclass(frozen=True)
class Convention:
    """A market's bond convention: coupons per year and day count."""

    name: str
    frequency: int
    day_count: str
    description: str


PRESETS: Final[dict[str, Convention]] = {
    c.name: c
    for c in (
        Convention("UST", 2, "ACT/ACT-ICMA", "US Treasury notes and bonds"),
        Convention("JGB", 2, "ACT/365F", "Japanese government bonds"),
        Convention("BUND", 1, "ACT/ACT-ICMA", "German Bunds"),
        Convention("GILT", 2, "ACT/ACT-ICMA", "UK gilts"),
        Convention("USD_CORP", 2, "30/360", "US dollar corporate bonds"),
    )
}

#: The convention used to bootstrap a par-yield curve of each currency.
CURRENCY_BOND_CONVENTION: Final[dict[str, str]] = {
    "USD": "UST",
    "JPY": "JGB",
    "EUR": "BUND",
    "GBP": "GILT",
}
