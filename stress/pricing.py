"""Bond analytics on a Book: validating wrappers that allocate and call the numba kernels."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stress.book import Book
from stress.kernels.bonds import bond_quotes, bond_quotes_serial
from stress.kernels.schedules import simple_yield_years
from stress.warnings import StressWarning
from stress.work import threaded

FloatArray = npt.NDArray[np.float64]

#: Key tenors (years) of the key-rate durations.
KEY_TENORS: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 30.0, 40.0)


@dataclass(frozen=True)
class BondRisk:
    """Per-bond quoted figures, one entry per bond of the book (prices per 100 face), for
    settlement on the bond's settlement date, as the market quotes them: ``dirty``
    (QuantLib's dirtyPrice(): the cashflows paid after settlement, valued on the settlement
    date), ``accrued``, ``ytm`` and the yield risks; NaN for a bond maturing by its
    settlement date. (Curve risk, effective and key-rate, comes from the engine's present
    values: ``stress.analytics``.)
    """

    dirty: FloatArray
    accrued: FloatArray
    ytm: FloatArray  # decimal, compounded at the coupon frequency; NaN where unsolved
    modified_duration: FloatArray
    macaulay_duration: FloatArray
    convexity: FloatArray


def bond_risk(book: Book) -> BondRisk:
    """Dirty price on settlement, yield to maturity and yield risk of every bond in
    ``book``."""
    cf = book.cashflows
    n = cf.n_bonds
    dirty, ytm, mod, conv = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    ok = np.empty(n, dtype=np.bool_)
    args = (cf.offsets, cf.unquoted, cf.quote_drop, cf.time, cf.yield_time, cf.amount,
            book.curve, book.spread, book.curve_off, book.curve_t, book.curve_z,
            cf.settlement_time, book.frequency, 0.03, dirty, ytm, ok, mod, conv)  # fmt: skip
    parallel = threaded(cf.n_cashflows, n, loaded=bool(bond_quotes.overloads))
    (bond_quotes if parallel else bond_quotes_serial)(args)
    # Bonds maturing by their settlement date have no quote: their quoted figures stay NaN.
    # FRNs and swaps (frequency 0) have no yield.
    accrued = np.where(np.isnan(dirty), np.nan, cf.accrued)
    if not ok.all():
        bad = book.portfolio.frame["position_id"].gather(book.cashflow_pos[~ok]).to_list()
        msg = f"yield to maturity did not converge for {', '.join(bad[:10])}; left empty"
        warnings.warn(msg, StressWarning, stacklevel=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mac = mod * (1.0 + ytm / book.frequency)
    return BondRisk(dirty, accrued, ytm, mod, mac, conv)


def simple_yield(
    coupon: FloatArray,
    clean: FloatArray,
    settlement_day: npt.NDArray[np.int64],
    maturity_day: npt.NDArray[np.int64],
) -> FloatArray:
    """The Japanese market's simple yield in percent (JGB quotes, JSDA's convention):
    (coupon + (100 - clean) / years) / clean x 100, with years from settlement to maturity
    counted by ``simple_yield_years`` (days / 365, 29 February left out from a year on)."""
    years = np.empty(len(coupon))
    simple_yield_years(
        np.ascontiguousarray(settlement_day, dtype=np.int64),
        np.ascontiguousarray(maturity_day, dtype=np.int64),
        years,
    )
    out: FloatArray = (coupon + (100.0 - clean) / years) / clean * 100.0
    return out
