"""Tenor labels ("3M", "1Y", "2W", "10D", or a number of years) and where they fall in time.

A label is a calendar period: it is resolved against a valuation date (the date plus the period,
then ACT/365F years), the same way for market curves and for scenario shocks, so that a key-rate
shock at a curve pillar moves that pillar by exactly its own size. A plain number is a number of
years and stays one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_TENOR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([DWMY])\s*$", re.IGNORECASE)
_DAYS_PER = {"D": 1, "W": 7}
#: Longest tenor accepted (years): far beyond any bond, short of calendar overflow.
MAX_YEARS = 1000.0


@dataclass(frozen=True)
class Tenor:
    """A calendar period (``count`` of ``unit`` in D, W, M, Y) or a plain number of years."""

    count: float
    unit: str  # "D", "W", "M", "Y", or "" for years given as a number

    @property
    def years(self) -> float:
        """Nominal length in years: n/12 for months, n/365 for days, 7n/365 for weeks."""
        if self.unit in ("", "Y"):
            return self.count
        if self.unit == "M":
            return self.count / 12.0
        return self.count * _DAYS_PER[self.unit] / 365.0

    @property
    def months(self) -> int | None:
        """Whole months of a month or year period (None otherwise)."""
        if self.unit == "M" and self.count == int(self.count):
            return int(self.count)
        if self.unit == "Y" and self.count == int(self.count):
            return 12 * int(self.count)
        return None

    @property
    def key(self) -> tuple[str, float]:
        """Identity of the period: "12M" and "1Y" (or "7D" and "1W") are the same tenor."""
        if self.months is not None:
            return ("M", float(self.months))
        if self.unit in _DAYS_PER:
            return ("D", self.count * _DAYS_PER[self.unit])
        return (self.unit, self.count)

    def date(self, valuation_date: dt.date) -> dt.date:
        """The valuation date plus this period: whole months clamp the day to the month's end
        (QuantLib's ``Date + Period`` without the end-of-month rule); other periods and
        numbers of years become whole days (years x 365, rounded)."""
        if self.months is not None:
            return add_months(valuation_date, self.months)
        return valuation_date + dt.timedelta(days=round(self.years * 365))

    def time(self, valuation_date: dt.date) -> float:
        """ACT/365F years from ``valuation_date`` to this tenor; a plain number of years is
        itself."""
        if not self.unit:
            return self.count
        return (self.date(valuation_date) - valuation_date).days / 365.0

    def __str__(self) -> str:
        if not self.unit:
            return f"{self.count:g}"
        return f"{self.count:g}{self.unit}"


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` plus ``months`` calendar months, the day clamped to the end of the month."""
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return dt.date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


class TenorTooLongError(ValueError):
    """A tenor longer than MAX_YEARS (dates that far out do not exist in the calendar)."""


def parse_tenor(value: object) -> Tenor:
    """Parse "3M", "10Y", "2W", "5D" or a positive number of years; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a tenor")
    tenor = None
    if isinstance(value, int | float):
        if not value > 0:
            raise ValueError(f"{value!r} is not a positive number of years")
        try:
            tenor = Tenor(float(value), "")
        except OverflowError:  # an integer too large for a float
            tenor = Tenor(float("inf"), "")
    elif isinstance(value, str):
        m = _TENOR.match(value)
        if m and float(m.group(1)) > 0:
            tenor = Tenor(float(m.group(1)), m.group(2).upper())
    if tenor is None:
        raise ValueError(f"{value!r} is not a tenor like '3M', '10Y' or a number of years")
    if not tenor.years <= MAX_YEARS:
        raise TenorTooLongError(
            f"got {value!r}; expected a tenor of at most {MAX_YEARS:g} years"
        )
    return tenor
