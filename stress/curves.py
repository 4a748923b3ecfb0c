"""Zero curves: continuously compounded zero rates, linear in time, flat outside the nodes.

Curves come from zero rates directly or from par yields bootstrapped node by node with the
currency's bond convention (a par bond prices at a clean 100 off the curve).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portfolios.conventions import DAY_COUNTS, Convention
from stress.cashflows import build_cashflows
from stress.dates import to_days

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ZeroCurve:
    """Zero curve of one currency. ``times`` in ACT/365F years from the valuation date,
    ``rates`` continuously compounded, as decimals (0.02 = 2 %)."""

    currency: str
    times: FloatArray
    rates: FloatArray

    def zero(self, t: npt.ArrayLike) -> FloatArray:
        """Zero rate(s) at time(s) ``t`` in years, as decimals."""
        return np.interp(np.asarray(t, dtype=np.float64), self.times, self.rates)

    def discount(self, t: npt.ArrayLike) -> FloatArray:
        tt = np.asarray(t, dtype=np.float64)
        return np.exp(-self.zero(tt) * tt)


#: Largest zero rate (decimal, either sign) the bootstrap considers.
_MAX_ZERO = 1.0


class BootstrapError(ValueError):
    """A par curve could not be bootstrapped (no zero rate reprices a par bond)."""


def bootstrap_par(
    currency: str,
    valuation_date: dt.date,
    maturities: list[dt.date],
    par_yields_pct: list[float],
    convention: Convention,
) -> ZeroCurve:
    """Zero curve on which a bond of each maturity with coupon = par yield (percent) and the
    given convention prices at a clean 100. Nodes are the maturities' ACT/365F times."""
    val = to_days(valuation_date)
    mat = np.array([to_days(d) for d in maturities], dtype=np.int64)
    n = len(mat)
    book = build_cashflows(
        valuation_date,
        mat,
        np.asarray(par_yields_pct, dtype=np.float64),
        np.full(n, convention.frequency),
        np.full(n, DAY_COUNTS[convention.day_count]),
    )
    times = (mat - val) / 365.0
    rates = np.zeros(n)
    for i in range(n):
        sl = slice(book.offsets[i], book.offsets[i + 1])
        t, a = book.time[sl], book.amount[sl]
        target = 100.0 + book.accrued[i]
        # Node i's weight in the zero rate at each cashflow time (1 past the node: flat).
        if i == 0:
            w = np.ones_like(t)
        else:
            w = np.clip((t - times[i - 1]) / (times[i] - times[i - 1]), 0.0, 1.0)
        known = np.interp(t, times[:i], rates[:i]) if i else np.zeros_like(t)
        start = par_yields_pct[i] / 100.0 if i == 0 else rates[i - 1]
        z = _solve_node(a, t, w, known, target, start)
        if z is None:
            raise BootstrapError(
                f"{currency} par curve: no zero rate reprices the {maturities[i]} par bond "
                f"({par_yields_pct[i]} %)"
            )
        rates[i] = z
    return ZeroCurve(currency, times, rates)


def _solve_node(
    a: FloatArray, t: FloatArray, w: FloatArray, known: FloatArray, target: float, start: float
) -> float | None:
    """The zero rate z at a node that prices cashflows ``a`` at times ``t`` to ``target``, the
    zero rate at each cashflow being ``known (1 - w) + z w``; None if no z in
    [-_MAX_ZERO, _MAX_ZERO] does. Safeguarded Newton: the price falls as z rises, so a bracket
    is kept and bisection takes over whenever a Newton step leaves it."""

    def excess(z: float) -> tuple[float, float]:
        v = a * np.exp(-(known * (1.0 - w) + z * w) * t)
        return float(v.sum() - target), float(-(w * t * v).sum())

    lo, hi = -_MAX_ZERO, _MAX_ZERO
    if excess(lo)[0] < 0.0 or excess(hi)[0] > 0.0:
        return None
    z = min(max(start, lo), hi)
    for _ in range(200):
        f, df = excess(z)
        if f > 0.0:
            lo = z
        else:
            hi = z
        new = z - f / df if df < 0.0 else 0.5 * (lo + hi)
        if not lo <= new <= hi:
            new = 0.5 * (lo + hi)
        # Converged: the step is below rounding, or the price is reproduced (for short
        # maturities df = -t P is small, so price rounding alone moves z by > 1e-15).
        if abs(new - z) < 1e-15 or abs(f) <= 1e-13 * target:
            return new
        z = new
    return None
