"""Dates as int64 days since 1970-01-01 (the kernels' date type)."""

from __future__ import annotations

import datetime as dt

EPOCH = dt.date(1970, 1, 1)


def to_days(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def from_days(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))
