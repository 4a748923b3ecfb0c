"""Bond futures (``instrument = future``): JGB 10Y (Osaka Exchange), UST TU/FV/TY/US (CBOT),
Euro-Bund FGBL (Eurex).

A row gives the contract, the number of contracts (``notional``, negative = short), the
quoted futures price and the cheapest-to-deliver bond (``coupon``, ``maturity``, its
``conversion_factor`` or the exchange's formula, ``delivery_date``, and optionally its
``spread_bp`` or ``clean_price``). The future is priced as the CTD's forward clean price over
the conversion factor with the net basis held at today's value:

    F = (fwd_dirty - AI(T_d)) / CF - net basis,   fwd_dirty = sum over the CTD's cashflows
    after delivery of CF_i DF(t_i) / DF_curve(T_d)

(DF with the CTD's spread, DF_curve without: the financing leg carries no credit spread), so
under a scenario F moves by the change of the forward dirty price over CF and a position of n
contracts of size N makes n N dF / 100. Its value today is 0 (margined); its DV01 is the CTD's
forward DV01 over CF per contract (the derivative of this price under a parallel shift).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from portfolios.conventions import DAY_COUNTS, PRESETS
from portfolios.futures import CONTRACTS
from stress.cashflows import build_cashflows
from stress.dates import from_days
from stress.instruments.base import ForwardRows, Instrument, Read, read
from stress.kernels.scenarios import FUTURE
from stress.market import Market

#: What a future's layout reads of its position row (the CTD's terms and the contract's).
COLUMNS = {
    "maturity": Read("maturity", "day"),
    "coupon": Read("coupon", "float"),
    "delivery": Read("delivery_date", "day"),
    "spread_bp": Read("spread_bp", "float", fill=0.0),
    "clean_price": Read("clean_price", "float", fill=np.nan),
    "conversion_factor": Read("conversion_factor", "float"),
    "futures_price": Read("futures_price", "float"),
}


def build(rows: pl.DataFrame, market: Market) -> ForwardRows:
    """The futures ``rows`` (validated positions): their CTD bonds' cashflows per 100 face and
    the contracts' terms."""
    contract = rows["contract"].to_list()
    conv = [PRESETS[CONTRACTS[c].convention] for c in contract]
    cols = read(rows, **COLUMNS)
    maturity, coupon, delivery = cols["maturity"], cols["coupon"], cols["delivery"]
    frequency = np.array([c.frequency for c in conv], dtype=np.int64)
    day_count = np.array([DAY_COUNTS[c.day_count] for c in conv], dtype=np.int64)
    ctd = build_cashflows(market.valuation_date, maturity, coupon, frequency, day_count)
    accrued = np.empty(len(rows))
    # The CTD's accrued interest at delivery: its schedule seen from the delivery date.
    for d in np.unique(delivery):
        on = np.flatnonzero(delivery == d)
        seen = build_cashflows(from_days(int(d)), maturity[on], coupon[on], frequency[on],
                               day_count[on])  # fmt: skip
        accrued[on] = seen.accrued
    return ForwardRows(
        ctd=ctd,
        currency=tuple(rows["currency"].to_list()),
        spread=cols["spread_bp"] / 1e4,
        clean_price=cols["clean_price"],
        delivery_day=delivery,
        conversion_factor=cols["conversion_factor"],
        contract_size=np.array([CONTRACTS[c].size for c in contract], dtype=np.float64),
        futures_price=cols["futures_price"],
        delivery_accrued=accrued,
        contract=tuple(contract),
    )


FUTURES = Instrument(name="future", form=FUTURE, forward=build)
