"""Bond analytics on a Book: validating wrappers that allocate and call the numba kernels."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stress.book import Book
from stress.kernels.bonds import curve_risk, solve_yield, yield_risk
from stress.warnings import StressWarning

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Key tenors (years) of the key-rate durations.
KEY_TENORS: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 30.0, 40.0)


@dataclass(frozen=True)
class BondRisk:
    """Per-bond analytics, one entry per bond of the book (prices per 100 face)."""

    dirty: FloatArray
    accrued: FloatArray
    ytm: FloatArray  # decimal, compounded at the coupon frequency; NaN where unsolved
    modified_duration: FloatArray
    macaulay_duration: FloatArray
    convexity: FloatArray
    effective_duration: FloatArray
    effective_convexity: FloatArray
    key_rate_durations: FloatArray  # (bonds, len(KEY_TENORS))


def bond_risk(book: Book, key_tenors: tuple[float, ...] = KEY_TENORS) -> BondRisk:
    """Curve prices and risk, yield to maturity and yield risk of every bond in ``book``."""
    cf = book.cashflows
    n = cf.n_bonds
    dirty, eff_d, eff_c = np.empty(n), np.empty(n), np.empty(n)
    krd = np.empty((n, len(key_tenors)))
    curve_risk(
        cf.offsets,
        cf.time,
        cf.amount,
        book.curve,
        book.spread,
        book.curve_off,
        book.curve_t,
        book.curve_z,
        np.asarray(key_tenors, dtype=np.float64),
        dirty,
        eff_d,
        eff_c,
        krd,
    )
    ytm = np.full(n, np.nan)
    ok = np.ones(n, dtype=np.bool_)
    # Yields of instruments quoted on one (FRNs and swaps have frequency 0: none).
    quoted = np.flatnonzero(book.frequency > 0)
    if len(quoted) == n:
        solve_yield(cf.offsets, cf.yield_time, cf.amount, book.frequency, dirty,
                    np.full(n, 0.03), ytm, ok)  # fmt: skip
    elif len(quoted):
        sub = cf.subset(quoted)
        y, k = np.empty(len(quoted)), np.empty(len(quoted), dtype=np.bool_)
        solve_yield(sub.offsets, sub.yield_time, sub.amount, book.frequency[quoted],
                    dirty[quoted], np.full(len(quoted), 0.03), y, k)  # fmt: skip
        ytm[quoted], ok[quoted] = y, k
    if not ok.all():
        bad = book.portfolio.frame["position_id"].gather(book.cashflow_pos[~ok]).to_list()
        msg = f"yield to maturity did not converge for {', '.join(bad[:10])}; left empty"
        log.warning(msg)
        warnings.warn(msg, StressWarning, stacklevel=2)
        ytm[~ok] = np.nan
    mod, conv = np.full(n, np.nan), np.full(n, np.nan)
    if len(quoted):
        sub = cf.subset(quoted)
        m, c = np.empty(len(quoted)), np.empty(len(quoted))
        yield_risk(sub.offsets, sub.yield_time, sub.amount, book.frequency[quoted],
                   ytm[quoted], m, c)  # fmt: skip
        mod[quoted], conv[quoted] = m, c
    with np.errstate(invalid="ignore", divide="ignore"):
        mac = mod * (1.0 + ytm / book.frequency)
    return BondRisk(dirty, cf.accrued, ytm, mod, mac, conv, eff_d, eff_c, krd)
