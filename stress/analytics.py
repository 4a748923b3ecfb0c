"""Per-position analytics: prices, yield, durations, convexity, DV01, PV and key-rate risk."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from portfolios.loader import PositionSource
from portfolios.model import Portfolio
from stress.book import Book, build_book
from stress.engine import as_portfolio
from stress.instruments import INSTRUMENTS
from stress.kernels.bonds import key_rate_sums
from stress.kernels.scenarios import Futures
from stress.market import MarketSource, as_market
from stress.prepare import Prepared, prepare_book
from stress.pricing import KEY_TENORS, bond_risk, simple_yield

_KEYS = np.array(KEY_TENORS)


def analytics(
    portfolio: Portfolio | PositionSource, market: MarketSource, *, base_currency: str | None = None
) -> pl.DataFrame:
    """One row per position.

    Bond columns, quoted for settlement on ``settlement_date`` (the valuation date plus the
    bond's settlement days on its calendar), as the market quotes them: ``clean_price``,
    ``dirty_price`` and ``accrued`` per 100 face (accrued is negative in an ex-dividend period);
    ``ytm`` in percent, compounded at the coupon frequency (QuantLib's ``bondYield``);
    ``simple_yield`` in percent, the Japanese market's simple yield on the clean price;
    ``macaulay_duration`` and ``modified_duration`` in years and ``convexity`` in years^2 on
    that yield (all empty for a bond maturing by its settlement date). The position's figures,
    on the valuation date: curve-based ``effective_duration``/``effective_convexity`` (parallel
    shift of the continuously compounded zero curve) and key-rate durations ``krd_2y`` ...
    ``krd_40y``, which add up to the effective duration; ``dv01`` = PV change for a 1 bp
    parallel fall of the curve, in the position currency. Every row: ``pv`` in the position
    currency (bonds: the value of the cashflows paid after the valuation date, which for T+0
    settlement is notional / 100 x dirty price) and ``pv_base`` in the base currency (gold:
    ounces x XAUUSD, in USD; fx: the cash amount).
    ``spread_duration`` (years) and ``cs01`` (position-currency loss for a 1 bp rise of its
    credit spread) for instruments with one; futures' ``pv`` is 0 (margined).

    FRNs and swaps (T+0, no yield): prices per 100 face or notional from their equivalent
    cashflows (rate duration near the next reset; a swap's is of its net PV). Futures:
    ``clean_price`` is the theoretical futures price (CTD forward clean / conversion factor)
    beside the quoted ``futures_price``, ``net_basis`` their difference in futures points (held
    in scenarios), ``conversion_factor``; durations are the CTD's forward ones and ``dv01`` the
    CTD's forward DV01 over the conversion factor times the contracts.
    """
    market = as_market(market).with_base(base_currency)
    return book_analytics(build_book(as_portfolio(portfolio, market), market))


def book_analytics(book: Book, prepared: Prepared | None = None) -> pl.DataFrame:
    """``analytics`` of a book already laid out on its market (``stress.book.build_book``);
    ``prepared``: the book prepared already (``prepare_book``, by any spread attributes),
    which it is not again."""
    market = book.market
    portfolio = book.portfolio
    risk = bond_risk(book)
    n = book.n_positions
    pos = book.cashflow_pos

    def column(values: np.ndarray) -> np.ndarray:
        out = np.full(n, np.nan)
        out[pos] = values
        return out

    f = portfolio.frame
    if prepared is None:
        prepared = prepare_book(book)
    assert prepared.book is book, "prepared from another book"
    cfs = prepared.cashflows
    with np.errstate(invalid="ignore", divide="ignore"):
        # Curve figures of every cashflow row as the engine prices them (an FRN's credit
        # spread discounts to its payment dates); quotes and yields from ``bond_risk``.
        dirty = cfs.pv_before
        eff_d = np.where(dirty != 0, cfs.pv_t_before / dirty, np.nan)
        eff_c = np.where(dirty != 0, cfs.pv_t2_before / dirty, np.nan)
        spread_d = np.where(book.credit & (dirty != 0), cfs.pv_ts_before / dirty, np.nan)
    is_bond = f["instrument"].to_numpy()[pos] == "bond"
    # Positions without cashflows are worth their units times the instrument's unit value.
    unit = f["instrument"].replace_strict(
        {name: i.unit_value(market) for name, i in INSTRUMENTS.items()}, return_dtype=pl.Float64
    )
    pv = book.notional * unit.to_numpy()
    pv[pos] = book.notional[pos] / 100.0 * cfs.pv_before
    scale = book.scale
    dv01 = column(eff_d * pv[pos] * 1e-4)
    cs01 = column(np.where(book.credit, cfs.pv_ts_before * scale[pos] * 1e-4, np.nan))
    # Bonds are quoted for settlement (``bond_risk``); FRNs and swaps on the valuation date.
    quote = np.where(is_bond, risk.dirty, dirty)
    clean = column(quote - risk.accrued)
    eff_dur, eff_conv, spread_dur = column(eff_d), column(eff_c), column(spread_d)
    krd = _key_rate_durations(prepared, cfs.pv_before)
    krd_cols = np.full((n, len(KEY_TENORS)), np.nan)
    krd_cols[pos] = krd
    futures_price = np.full(n, np.nan)
    net_basis = np.full(n, np.nan)
    factor = np.full(n, np.nan)
    fb, fu = book.futures, prepared.futures
    if fb is not None and fb.n:
        fp = fb.pos
        r = fb.rows
        pv[fp] = 0.0
        theo = (fu.fwd - r.delivery_accrued) / r.conversion_factor
        clean[fp] = theo
        futures_price[fp] = r.futures_price
        net_basis[fp] = r.futures_price - theo
        factor[fp] = r.conversion_factor
        eff_dur[fp] = fu.fwd_tau / fu.fwd
        eff_conv[fp] = fu.fwd_tau2 / fu.fwd
        spread_dur[fp] = fu.fwd_ts / fu.fwd
        dv01[fp] = scale[fp] * fu.fwd_tau * 1e-4
        cs01[fp] = scale[fp] * fu.fwd_ts * 1e-4
        krd_cols[fp] = _forward_key_rate_durations(fu)
    cf = book.cashflows
    rows = f[pos]
    maturity_day = rows["maturity"].cast(pl.Int64).to_numpy().astype(np.int64)
    coupon = rows["coupon"].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        simple = np.where(is_bond, simple_yield(coupon, quote - risk.accrued, cf.settlement_day,
                                                maturity_day), np.nan)  # fmt: skip
    settlement = pl.Series(column(np.where(is_bond, cf.settlement_day, np.nan)),
                           nan_to_null=True)
    out = pl.DataFrame(
        {
            "position_id": f["position_id"],
            "instrument": f["instrument"],
            "currency": f["currency"],
            "notional": f["notional"],
            "maturity": f["maturity"],
            "coupon": f["coupon"],
            "spread_bp": _spread_bp(book, column),
            "settlement_date": settlement.cast(pl.Int32).cast(pl.Date),
            "clean_price": clean,
            "dirty_price": column(quote),
            "accrued": column(risk.accrued),
            "ytm": column(risk.ytm * 100.0),
            "simple_yield": column(simple),
            "macaulay_duration": column(risk.macaulay_duration),
            "modified_duration": column(risk.modified_duration),
            "convexity": column(risk.convexity),
            "effective_duration": eff_dur,
            "effective_convexity": eff_conv,
            "dv01": dv01,
            "spread_duration": spread_dur,
            "cs01": cs01,
            "futures_price": futures_price,
            "conversion_factor": factor,
            "net_basis": net_basis,
            "pv": pv,
            "pv_base": pv * book.fx0,
            "dv01_base": dv01 * book.fx0,
            **{f"krd_{k:g}y": krd_cols[:, i] for i, k in enumerate(KEY_TENORS)},
        },
        nan_to_null=True,
    )
    return pl.concat([out, f.select(portfolio.attributes)], how="horizontal")


def _key_rate_durations(prepared: Prepared, pv_before: np.ndarray) -> np.ndarray:
    """Per cashflow row, sum of pv t w_k(t) / PV over its cashflows, from the engine's present
    values (an FRN's reset terms at their reset dates): they add up to the effective
    duration."""
    cf = prepared.cashflows
    out = np.empty((len(pv_before), len(KEY_TENORS)))
    key_rate_sums(cf.offsets, prepared.book.cashflows.time, cf.pv_t, _KEYS, out)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pv_before[:, None] != 0, out / pv_before[:, None], np.nan)


def _forward_key_rate_durations(fu: Futures) -> np.ndarray:
    """Per future, the forward key-rate durations of its CTD: a key rate moves each cashflow
    after delivery and the delivery date's discount factor, so w_k(t) t - w_k(T_d) T_d per
    unit of forward price; they add up to the forward duration."""
    f = len(fu.fwd)
    out = np.empty((f, len(KEY_TENORS)))
    key_rate_sums(fu.offsets, fu.time, fu.fpv * fu.time, _KEYS, out)
    delivery = np.empty((f, len(KEY_TENORS)))
    key_rate_sums(np.arange(f + 1), fu.delivery_t, fu.fwd * fu.delivery_t, _KEYS, delivery)
    return (out - delivery) / fu.fwd[:, None]


def _spread_bp(book: Book, column: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = column(np.where(book.credit, book.spread * 1e4, np.nan))
    if book.futures is not None and book.futures.n:
        out[book.futures.pos] = book.futures.rows.spread * 1e4
    return out
