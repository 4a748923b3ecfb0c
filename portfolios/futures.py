"""Bond futures contracts and the exchanges' conversion factor formulas.

A conversion factor is the price per 1 of face at which a deliverable bond yields the
contract's notional coupon (6 %) on the delivery date; each exchange fixes its own arithmetic:

- **CME** (UST futures TU, FV, TY, US), "Calculating U.S. Treasury Futures Conversion Factors"
  (CME Group, Interest Rate Research Center): with n the whole years from the first day of the
  delivery month to maturity and z the further whole months (rounded down to a quarter for TY
  and US, to a month for TU and FV), v = z if z < 7, else 3 (TY, US) or z - 6 (TU, FV);
  a = 1/1.03^(v/6), b = (coupon/2)(6 - v)/6, c = 1/1.03^(2n) if z < 7 else 1/1.03^(2n+1),
  d = (coupon/0.06)(1 - c); factor = a (coupon/2 + c + d) - b, rounded to 4 decimals.
- **Eurex** (FGBL, annual ACT/ACT coupons): the clean price at a 6 % annual yield on the
  delivery date, f = days from delivery to the next coupon / days of that coupon period and n
  the coupons after the next one: 1.06^-f (c/0.06 (1.06 - 1.06^-n) + 1.06^-n) - c (1 - f),
  rounded to 6 decimals (Eurex's regular-coupon case of its published formula).
- **JPX / Osaka Exchange** (10-year JGB futures, semiannual coupons on the 20th, delivery on
  the 20th): with a the whole months from delivery to the next coupon and n the coupons after
  it, 1.03^-(a/6) (c/2 + c/0.06 (1 - 1.03^-n) + 1.03^-n) - (c/2)(6 - a)/6, rounded to 6
  decimals (JPX, "Conversion Factor Formula (from July 6, 2015)").
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Contract:
    """A bond futures contract: its currency, face per contract, the CTD's bond convention,
    the exchange and its conversion factor rule."""

    name: str
    description: str
    currency: str
    size: float
    convention: str
    exchange: str


CONTRACTS: Final[dict[str, Contract]] = {
    c.name: c
    for c in (
        Contract("JGB10", "10-year JGB futures (Osaka Exchange)", "JPY", 100_000_000.0, "JGB",
                 "JPX"),
        Contract("TU", "2-Year T-Note futures (CBOT)", "USD", 200_000.0, "UST", "CME"),
        Contract("FV", "5-Year T-Note futures (CBOT)", "USD", 100_000.0, "UST", "CME"),
        Contract("TY", "10-Year T-Note futures (CBOT)", "USD", 100_000.0, "UST", "CME"),
        Contract("US", "Treasury Bond futures (CBOT)", "USD", 100_000.0, "UST", "CME"),
        Contract("FGBL", "Euro-Bund futures (Eurex)", "EUR", 100_000.0, "BUND", "EUREX"),
    )
}


def _months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from ``start`` to ``end`` (the day of month counts)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return months


def _add_months(d: dt.date, months: int) -> dt.date:
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def cme_factor(contract: str, coupon_pct: float, maturity: dt.date, delivery: dt.date) -> float:
    """CME's conversion factor of a Treasury for the contract's delivery month."""
    c = coupon_pct / 100.0
    first = delivery.replace(day=1)
    total = _months_between(first, maturity)
    n, z = divmod(total, 12)
    if contract in ("TY", "US"):
        z = z // 3 * 3
    v = z if z < 7 else (3 if contract in ("TY", "US") else z - 6)
    a = 1.0 / 1.03 ** (v / 6.0)
    b = (c / 2.0) * (6.0 - v) / 6.0
    cc = 1.0 / 1.03 ** (2 * n) if z < 7 else 1.0 / 1.03 ** (2 * n + 1)
    d = (c / 0.06) * (1.0 - cc)
    return float(round(a * (c / 2.0 + cc + d) - b, 4))


def eurex_factor(coupon_pct: float, maturity: dt.date, delivery: dt.date) -> float:
    """Eurex's conversion factor of an annual ACT/ACT bond delivered on ``delivery``."""
    c = coupon_pct / 100.0
    years = maturity.year - delivery.year
    nxt = _add_months(maturity, -12 * years)
    if nxt <= delivery:
        nxt = _add_months(maturity, -12 * (years - 1))
        years -= 1
    prev = _add_months(nxt, -12)
    f = (nxt - delivery).days / (nxt - prev).days
    n = years  # coupons after the next one
    v = 1.06**-n
    dirty = 1.06**-f * (c / 0.06 * (1.06 - v) + v)
    return float(round(dirty - c * (1.0 - f), 6))


def jpx_factor(coupon_pct: float, maturity: dt.date, delivery: dt.date) -> float:
    """JPX's conversion factor of a semiannual JGB delivered on ``delivery``."""
    c = coupon_pct / 100.0
    total = _months_between(delivery, maturity)
    a = total % 6
    n = total // 6  # coupons after the next one (a = 0: the next is a whole period away)
    if a == 0:
        a = 6
        n -= 1
    v = 1.03**-n
    price = (c / 2.0 + c / 0.06 * (1.0 - v) + v) / 1.03 ** (a / 6.0)
    return float(round(price - (c / 2.0) * (6.0 - a) / 6.0, 6))


def conversion_factor(contract: str, coupon_pct: float, maturity: dt.date,
                      delivery: dt.date) -> float:  # fmt: skip
    """The exchange's conversion factor of a deliverable bond for ``contract``."""
    exchange = CONTRACTS[contract].exchange
    if exchange == "CME":
        return cme_factor(contract, coupon_pct, maturity, delivery)
    if exchange == "EUREX":
        return eurex_factor(coupon_pct, maturity, delivery)
    return jpx_factor(coupon_pct, maturity, delivery)
