"""Tenor labels: "3M", "1Y", "2W", "10D", or a number of years."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TENOR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([DWMY])\s*$", re.IGNORECASE)
_DAYS_PER = {"D": 1, "W": 7}


@dataclass(frozen=True)
class Tenor:
    """A calendar period (``count`` of ``unit`` in D, W, M, Y) or a plain number of years."""

    count: float
    unit: str  # "D", "W", "M", "Y", or "" for years given as a number

    @property
    def years(self) -> float:
        """Length in years: n/12 for months, n/365 for days, 7n/365 for weeks."""
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

    def __str__(self) -> str:
        if not self.unit:
            return f"{self.count:g}"
        return f"{self.count:g}{self.unit}"


def parse_tenor(value: object) -> Tenor:
    """Parse "3M", "10Y", "2W", "5D" or a positive number of years; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a tenor")
    if isinstance(value, int | float):
        if not value > 0:
            raise ValueError(f"{value!r} is not a positive number of years")
        return Tenor(float(value), "")
    if isinstance(value, str):
        m = _TENOR.match(value)
        if m and float(m.group(1)) > 0:
            return Tenor(float(m.group(1)), m.group(2).upper())
    raise ValueError(f"{value!r} is not a tenor like '3M', '10Y' or a number of years")
