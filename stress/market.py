"""The market a book is valued on: valuation date, zero curves per currency, FX and gold.

FX is held as each currency's value in USD, so any base currency and every cross rate follow,
and an FX shock (percent change of a currency's value in USD) applies in one place.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from portfolios.conventions import CURRENCY_BOND_CONVENTION, PRESETS
from portfolios.currencies import ISO_4217
from shocks.tenors import parse_tenor
from stress.curves import BootstrapError, ZeroCurve, bootstrap_par

_PAIR = re.compile(r"^([A-Z]{3})([A-Z]{3})$")


class MarketError(ValueError):
    """A market file or object that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Market:
    """Valuation date, zero curves, FX (value of one unit of each currency in USD) and gold."""

    valuation_date: dt.date
    base_currency: str
    curves: dict[str, ZeroCurve]
    usd_value: dict[str, float]
    gold_usd: float | None = None
    source: str = "<market>"

    @classmethod
    def load(cls, path: str | Path) -> Market:
        """Read a market TOML file (see the README for the format)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise MarketError(f"{p}: cannot read market file ({exc.strerror})") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MarketError(f"{p}: not valid TOML: {exc}") from exc
        return cls.from_dict(data, source=str(p))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<market>") -> Market:
        """Build from the parsed TOML structure (same keys as the file)."""
        val = _date(data, "valuation_date", source)
        base = str(data.get("base_currency", "USD")).upper()
        if base not in ISO_4217:
            raise MarketError(f"{source}: base_currency {base!r} is not an ISO 4217 code")
        curves_data = data.get("curves", {})
        if not isinstance(curves_data, dict) or not curves_data:
            raise MarketError(f"{source}: [curves] needs at least one [curves.CCY] table")
        curves = {
            ccy.upper(): _curve(ccy.upper(), spec, val, source) for ccy, spec in curves_data.items()
        }
        usd_value = _fx(data.get("fx", {}), source)
        gold = data.get("gold", {}).get("XAUUSD") if isinstance(data.get("gold"), dict) else None
        if gold is not None and not (isinstance(gold, int | float) and gold > 0):
            raise MarketError(
                f"{source}: [gold] XAUUSD: got {gold!r}; expected a positive price "
                "in USD per troy ounce"
            )
        market = cls(val, base, curves, usd_value, None if gold is None else float(gold), source)
        market.fx_rate(base, "USD")  # the base currency needs a USD value
        return market

    def with_base(self, base_currency: str | None) -> Market:
        if base_currency is None or base_currency.upper() == self.base_currency:
            return self
        out = replace(self, base_currency=base_currency.upper())
        out.fx_rate(out.base_currency, "USD")
        return out

    def fx_rate(self, currency: str, base: str | None = None) -> float:
        """Units of ``base`` (default: the market's base currency) per one unit of ``currency``."""
        base = base or self.base_currency
        for c in (currency, base):
            if c not in self.usd_value:
                known = ", ".join(sorted(self.usd_value))
                raise MarketError(
                    f"{self.source}: no FX rate for {c} (the [fx] table prices "
                    f"{known}); add a pair such as USD{c}"
                )
        return self.usd_value[currency] / self.usd_value[base]

    def curve(self, currency: str) -> ZeroCurve:
        try:
            return self.curves[currency]
        except KeyError:
            raise MarketError(
                f"{self.source}: no {currency} curve (curves: "
                f"{', '.join(sorted(self.curves))}); add [curves.{currency}]"
            ) from None


def _date(data: dict[str, Any], key: str, source: str) -> dt.date:
    v = data.get(key)
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise MarketError(f'{source}: {key}: got {v!r}; expected an ISO date like "2026-01-20"')


def _curve(ccy: str, spec: Any, val: dt.date, source: str) -> ZeroCurve:
    where = f"{source}: [curves.{ccy}]"
    if ccy not in ISO_4217:
        raise MarketError(f"{where}: {ccy!r} is not an ISO 4217 currency code")
    if not isinstance(spec, dict):
        raise MarketError(f"{where}: expected a table with type, tenors and rates")
    kind = spec.get("type", "zero")
    if kind not in ("zero", "par"):
        raise MarketError(f'{where}: type: got {kind!r}; expected "zero" or "par"')
    tenors_raw, rates = spec.get("tenors"), spec.get("rates")
    if not isinstance(tenors_raw, list) or not tenors_raw:
        raise MarketError(f'{where}: tenors: expected a non-empty list like ["1Y", "10Y"]')
    if not isinstance(rates, list) or len(rates) != len(tenors_raw):
        raise MarketError(
            f"{where}: rates: expected a list of {len(tenors_raw)} numbers (one per "
            f"tenor), got {rates!r}"
        )
    for r in rates:
        if isinstance(r, bool) or not isinstance(r, int | float) or not np.isfinite(r):
            raise MarketError(f"{where}: rates: got {r!r}; expected a rate in percent")
    try:
        tenors = [parse_tenor(t) for t in tenors_raw]
    except ValueError as exc:
        raise MarketError(f"{where}: tenors: {exc}") from None
    dates = [t.date(val) for t in tenors]
    if any(b <= a for a, b in itertools.pairwise(dates)) or dates[0] <= val:
        raise MarketError(f"{where}: tenors must be positive and strictly increasing")
    if kind == "zero":
        times = np.array([(d - val).days / 365.0 for d in dates])
        return ZeroCurve(ccy, times, np.asarray(rates, dtype=np.float64) / 100.0)
    conv_name = spec.get("convention", CURRENCY_BOND_CONVENTION.get(ccy))
    if conv_name not in PRESETS:
        raise MarketError(
            f"{where}: convention: got {conv_name!r}; a par curve needs one of {', '.join(PRESETS)}"
        )
    try:
        return bootstrap_par(ccy, val, dates, [float(r) for r in rates], PRESETS[conv_name])
    except BootstrapError as exc:
        raise MarketError(f"{where}: {exc}") from None


def _fx(table: Any, source: str) -> dict[str, float]:
    """Each currency's value in USD from quoted pairs (``USDJPY = 158.4``: JPY per USD)."""
    if not isinstance(table, dict):
        raise MarketError(f"{source}: [fx] must be a table of pairs like USDJPY = 158.4")
    pairs: list[tuple[str, str, float]] = []
    for key, rate in table.items():
        m = _PAIR.match(key.upper())
        if not m or m.group(1) not in ISO_4217 or m.group(2) not in ISO_4217:
            raise MarketError(f"{source}: [fx] {key}: expected a pair of ISO codes like USDJPY")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise MarketError(f"{source}: [fx] {key}: got {rate!r}; expected a positive rate")
        pairs.append((m.group(1), m.group(2), float(rate)))
    value = {"USD": 1.0}
    changed = True
    while changed:
        changed = False
        for a, b, r in pairs:
            if b in value and a not in value:
                value[a] = r * value[b]
                changed = True
            elif a in value and b not in value:
                value[b] = value[a] / r
                changed = True
    for a, b, r in pairs:
        if a not in value:
            raise MarketError(f"{source}: [fx] {a}{b}: not connected to USD by the other pairs")
        if abs(value[a] / value[b] / r - 1.0) > 1e-6:
            raise MarketError(
                f"{source}: [fx] {a}{b} = {r} disagrees with the other pairs "
                f"(they imply {value[a] / value[b]:.6g})"
            )
    return value
