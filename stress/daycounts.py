"""Vectorized year fractions for the day counts in ``portfolios.conventions`` (QuantLib's rules)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stress.dates import days_in_month, split

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _thirty_360_days(d1: IntArray, d2: IntArray, us: bool) -> IntArray:
    y1, m1, dd1 = split(d1)
    y2, m2, dd2 = split(d2)
    if us:
        # SIFMA bond basis: a period starting on the last day of February counts it as the 30th.
        feb1 = (m1 == 2) & (dd1 == days_in_month((y1 - 1970) * 12 + 1))
        feb2 = (m2 == 2) & (dd2 == days_in_month((y2 - 1970) * 12 + 1))
        dd2 = np.where(feb1 & feb2, 30, dd2)
        dd1 = np.where(feb1, 30, dd1)
        dd2 = np.where((dd2 == 31) & (dd1 >= 30), 30, dd2)
        dd1 = np.where(dd1 == 31, 30, dd1)
    else:
        dd1 = np.minimum(dd1, 30)
        dd2 = np.minimum(dd2, 30)
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (dd2 - dd1)


def year_fraction(
    code: IntArray,
    d1: IntArray,
    d2: IntArray,
    ref_start: IntArray,
    ref_end: IntArray,
    frequency: IntArray,
) -> FloatArray:
    """Year fraction from ``d1`` to ``d2`` (days since epoch) for each element's day-count code.

    ``ref_start``/``ref_end`` is the regular coupon period holding [d1, d2], used by
    ACT/ACT-ICMA only (as in QuantLib, whose period length is months/12).
    """
    out = np.empty(code.shape, dtype=np.float64)
    days = (d2 - d1).astype(np.float64)
    m = code == 0
    if m.any():
        period = (12 // frequency[m]) / 12.0
        out[m] = period * days[m] / (ref_end[m] - ref_start[m])
    m = code == 1
    out[m] = days[m] / 365.0
    m = code == 2
    out[m] = days[m] / 360.0
    for c, us in ((3, True), (4, False)):
        m = code == c
        if m.any():
            out[m] = _thirty_360_days(d1[m], d2[m], us) / 360.0
    return out
