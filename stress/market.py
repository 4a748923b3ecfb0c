"""The market a book is valued on: valuation date, zero curves per currency, FX and gold.

FX is held as each currency's value in USD, so any base currency and every cross rate follow,
and an FX shock (percent change of a currency's value in USD) applies in one place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import os
import re
import reprlib
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Union

import numpy as np

from portfolios.conventions import CURRENCY_BOND_CONVENTION, PRESETS
from portfolios.currencies import ISO_4217
from portfolios.loader import TextDecodeError, decode_text
from shocks.tenors import MAX_YEARS, Tenor, TenorTooLongError, parse_tenor
from stress.curves import BootstrapError, ZeroCurve, bootstrap_par

_PAIR = re.compile(r"^([A-Z]{3})([A-Z]{3})$")

# --- what a market file may hold (README, "What is validated") --------------------------------

TOP_KEYS: Final = ("valuation_date", "base_currency", "curves", "fx", "gold")
CURVE_KEYS: Final = ("type", "tenors", "rates", "convention")
GOLD_KEYS: Final = ("XAUUSD",)
#: Valuation dates: inclusive bounds.
VALUATION_DATE_RANGE: Final = (dt.date(1900, 1, 1), dt.date(2199, 12, 31))
#: Curve rates in percent (zero or par): inclusive bounds.
RATE_PCT_RANGE: Final = (-50.0, 100.0)
#: FX: every quoted pair and every currency's implied value in USD, inclusive bounds.
FX_RANGE: Final = (1e-6, 1e6)
#: Gold in USD per troy ounce: 0 < price < this.
MAX_GOLD_USD: Final = 1e7

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxlist, _repr.maxdict, _repr.maxtuple = 3, 12, 8, 12
_repr.maxstring, _repr.maxother, _repr.maxlong = 80, 80, 40


#: A market, or the path of a market file.
MarketSource = Union["Market", str, os.PathLike[str]]


def as_market(market: MarketSource) -> Market:
    """``market`` as it is when a Market, else the market file it names (the API takes either,
    as it takes positions as a Portfolio or a file)."""
    if isinstance(market, Market):
        return market
    if isinstance(market, str | os.PathLike):
        return Market.load(market)
    raise TypeError(f"market: got {_show(market)}; expected a stress.Market or the path of a "
                    "market file (stress.Market.load reads one)")


def _show(value: Any) -> str:
    """A value as it appears in a message: repr, shortened for long or deeply nested values."""
    return _repr.repr(value)


def _real(value: Any) -> float | None:
    """A TOML number as a float (a huge integer becomes +-inf); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


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
    def load(cls, path: str | os.PathLike[str]) -> Market:
        """Read a market TOML file (see the README for the format)."""
        if not isinstance(path, str | os.PathLike):
            raise MarketError(f"market file: got {_show(path)}; expected a path")
        p = Path(path)
        try:
            is_dir = p.is_dir()
            raw = b"" if is_dir else p.read_bytes()
        except OSError as exc:
            raise MarketError(f"{p}: cannot read market file ({exc.strerror or exc})") from exc
        except ValueError as exc:  # a NUL in the path
            raise MarketError(f"{_show(str(p))}: cannot read market file ({exc})") from None
        if is_dir:
            raise MarketError(f"{p}: is a directory; expected a market TOML file")
        try:
            text, _ = decode_text(raw)
        except TextDecodeError as exc:
            raise MarketError(
                f"{p}: cannot read market file: line {exc.line}: {exc.reason}"
            ) from None
        if not text.strip():
            raise MarketError(
                f"{p}: the market file is empty; expected valuation_date, [curves.CCY] tables, "
                "[fx] and [gold] (see the README)"
            )
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MarketError(f"{p}: not valid TOML: {exc}") from exc
        except RecursionError:
            raise MarketError(f"{p}: not valid TOML: arrays or tables nested too deeply") from None
        return cls.from_dict(data, source=str(p))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<market>") -> Market:
        """Build from the parsed TOML structure (same keys as the file)."""
        if not isinstance(data, dict):
            raise MarketError(f"{source}: expected a table of market data, got {_show(data)}")
        _known_keys(data, TOP_KEYS, source, "")
        val = _date(data, "valuation_date", source)
        base_raw = data.get("base_currency", "USD")
        if not isinstance(base_raw, str):
            raise MarketError(
                f"{source}: base_currency: got {_show(base_raw)}; expected an ISO 4217 code "
                'like "USD"'
            )
        base = base_raw.strip().upper()
        if base not in ISO_4217:
            raise MarketError(f"{source}: base_currency {base!r} is not an ISO 4217 code")
        curves_data = data.get("curves", {})
        if not isinstance(curves_data, dict) or not curves_data:
            raise MarketError(f"{source}: [curves] needs at least one [curves.CCY] table")
        seen: dict[str, str] = {}
        for key in curves_data:
            if not isinstance(key, str):
                raise MarketError(
                    f"{source}: [curves]: got the key {_show(key)}; expected a currency code"
                )
            if key.upper() in seen:
                raise MarketError(
                    f"{source}: [curves.{seen[key.upper()]}] and [curves.{key}] are the same "
                    "currency; expected one table per currency"
                )
            seen[key.upper()] = key
        curves = {
            ccy.upper(): _curve(ccy.upper(), spec, val, source) for ccy, spec in curves_data.items()
        }
        usd_value = _fx(data.get("fx", {}), source)
        gold = _gold(data.get("gold", {}), source)
        market = cls(val, base, curves, usd_value, gold, source)
        market._check_base(f"{source}: base_currency")
        return market

    def with_base(self, base_currency: str | None) -> Market:
        """This market with ``base_currency`` (an ISO code, any case) as its base currency."""
        if base_currency is None:
            return self
        if not isinstance(base_currency, str):
            raise MarketError(f"base currency: got {base_currency!r}; expected a currency code "
                              "such as JPY")
        code = base_currency.strip().upper()
        if code == self.base_currency:
            return self
        out = replace(self, base_currency=code)
        out._check_base("base currency", base_currency)  # an argument: not the file's fault
        return out

    def _check_base(self, what: str, given: str | None = None) -> None:
        """Refuse a base currency the market has no USD value of, naming where it came from
        (``what``: the file's key or the argument) rather than the [fx] table."""
        code = self.base_currency
        if code in self.usd_value:
            return
        known = ", ".join(sorted(self.usd_value))
        got = _show(code if given is None else given)
        if code not in ISO_4217 or code == "XAU":
            raise MarketError(f"{what}: got {got}; expected an ISO 4217 currency code the market "
                              f"prices ({known})")
        raise MarketError(f"{what}: got {got}; the market's [fx] table prices {known}, not "
                          f"{code} (add a pair such as USD{code}, or pick one of these)")

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
    d: dt.date | None = None
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, str):
        with contextlib.suppress(ValueError):
            d = dt.date.fromisoformat(v)
    if d is None:
        raise MarketError(
            f'{source}: {key}: got {_show(v)}; expected an ISO date like "2026-01-20"'
        )
    low, high = VALUATION_DATE_RANGE
    if not low <= d <= high:
        raise MarketError(
            f"{source}: {key}: got {d.isoformat()}; expected a date from {low.isoformat()} to "
            f"{high.isoformat()}"
        )
    return d


def _known_keys(table: dict[str, Any], allowed: tuple[str, ...], source: str, where: str) -> None:
    """Refuse a key the format does not define (a typo would otherwise be ignored)."""
    for key in table:
        if key not in allowed:
            raise MarketError(
                f"{source}: {where}unknown key {_show(key)}; expected "
                + (f"one of {', '.join(allowed)}" if len(allowed) > 1 else allowed[0])
            )


def _curve(ccy: str, spec: Any, val: dt.date, source: str) -> ZeroCurve:
    where = f"{source}: [curves.{ccy}]"
    if ccy not in ISO_4217:
        raise MarketError(f"{where}: {ccy!r} is not an ISO 4217 currency code")
    if not isinstance(spec, dict):
        raise MarketError(f"{where}: expected a table with type, tenors and rates")
    _known_keys(spec, CURVE_KEYS, source, f"[curves.{ccy}]: ")
    kind = spec.get("type", "zero")
    if kind not in ("zero", "par"):
        raise MarketError(f'{where}: type: got {_show(kind)}; expected "zero" or "par"')
    tenors_raw, rates_raw = spec.get("tenors"), spec.get("rates")
    if not isinstance(tenors_raw, list) or not tenors_raw:
        raise MarketError(f'{where}: tenors: expected a non-empty list like ["1Y", "10Y"]')
    if not isinstance(rates_raw, list) or len(rates_raw) != len(tenors_raw):
        raise MarketError(
            f"{where}: rates: expected a list of {len(tenors_raw)} numbers (one per "
            f"tenor), got {_show(rates_raw)}"
        )
    low, high = RATE_PCT_RANGE
    rates: list[float] = []
    for r in rates_raw:
        x = _real(r)
        if x is None or math.isnan(x):
            raise MarketError(f"{where}: rates: got {_show(r)}; expected a rate in percent")
        if not low <= x <= high:
            raise MarketError(
                f"{where}: rates: got {_show(r)}; expected a rate in percent from {low:g} "
                f"to {high:g}"
            )
        rates.append(x)
    tenors: list[Tenor] = []
    for t in tenors_raw:
        try:
            tenors.append(parse_tenor(t))
        except TenorTooLongError:
            raise MarketError(
                f"{where}: tenors: got {_show(t)}; expected a tenor of at most "
                f"{MAX_YEARS:g} years"
            ) from None
        except ValueError as exc:
            raise MarketError(f"{where}: tenors: {exc}") from None
    if kind == "zero":
        if "convention" in spec:
            # A par table whose type was left out would otherwise be read as zero rates.
            raise MarketError(
                f'{where}: convention: a zero curve has none; for par yields add type = "par"'
                + ("" if "type" in spec else ' (type defaults to "zero")')
            )
        # A number of years is that time, as in a scenario (not the whole day nearest it).
        times = np.array([t.time(val) for t in tenors])
        if not (times[0] > 0 and (np.diff(times) > 0).all()):
            raise MarketError(f"{where}: tenors must be positive and strictly increasing")
        return ZeroCurve(ccy, times, np.asarray(rates, dtype=np.float64) / 100.0)
    # A par curve's tenors are its bonds' maturities: whole days.
    dates = [t.date(val) for t in tenors]
    if any(b <= a for a, b in itertools.pairwise(dates)) or dates[0] <= val:
        raise MarketError(f"{where}: tenors must be positive and strictly increasing")
    conv_name = spec.get("convention", CURRENCY_BOND_CONVENTION.get(ccy))
    if not isinstance(conv_name, str) or conv_name not in PRESETS:
        raise MarketError(
            f"{where}: convention: got {_show(conv_name)}; a par curve needs one of "
            f"{', '.join(PRESETS)}"
        )
    try:
        with np.errstate(all="ignore"):  # extreme par yields overflow on the way to an error
            curve = bootstrap_par(ccy, val, dates, rates, PRESETS[conv_name])
    except BootstrapError as exc:
        raise MarketError(f"{where}: {exc}") from None
    if not np.isfinite(curve.rates).all():
        raise MarketError(
            f"{where}: {ccy} par curve: the bootstrap gives non-finite zero rates; expected par "
            "yields that some zero curve reprices"
        )
    return curve


def _fx(table: Any, source: str) -> dict[str, float]:
    """Each currency's value in USD from quoted pairs (``USDJPY = 158.4``: JPY per USD)."""
    if not isinstance(table, dict):
        raise MarketError(f"{source}: [fx] must be a table of pairs like USDJPY = 158.4")
    pairs: list[tuple[str, str, float]] = []
    low, high = FX_RANGE
    for key, rate in table.items():
        m = _PAIR.match(key.upper()) if isinstance(key, str) else None
        if not m or m.group(1) not in ISO_4217 or m.group(2) not in ISO_4217:
            raise MarketError(f"{source}: [fx] {key}: expected a pair of ISO codes like USDJPY")
        if m.group(1) == m.group(2):
            raise MarketError(
                f"{source}: [fx] {key}: expected a pair of two different currencies like USDJPY"
            )
        x = _real(rate)
        if x is None or not x > 0:
            raise MarketError(f"{source}: [fx] {key}: got {_show(rate)}; expected a positive rate")
        if not low <= x <= high:
            raise MarketError(
                f"{source}: [fx] {key}: got {_show(rate)}; expected a rate from {low:g} to {high:g}"
            )
        pairs.append((m.group(1), m.group(2), x))
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
        for c in (a, b):
            # Chained pairs multiply: each in range, their product can still be absurd.
            if not low <= value[c] <= high:
                raise MarketError(
                    f"{source}: [fx] {a}{b}: the pairs imply 1 {c} = {value[c]:.6g} USD; expected "
                    f"every currency's value in USD from {low:g} to {high:g}"
                )
        if abs(value[a] / value[b] / r - 1.0) > 1e-6:
            raise MarketError(
                f"{source}: [fx] {a}{b} = {r} disagrees with the other pairs "
                f"(they imply {value[a] / value[b]:.6g})"
            )
    return value


def _gold(table: Any, source: str) -> float | None:
    """XAUUSD from the [gold] table (None when there is none)."""
    if not isinstance(table, dict):
        raise MarketError(
            f"{source}: [gold] must be a table like XAUUSD = 4850.0; got {_show(table)}"
        )
    _known_keys(table, GOLD_KEYS, source, "[gold]: ")
    gold = table.get("XAUUSD")
    if gold is None:
        return None
    x = _real(gold)
    if x is None or not x > 0:
        raise MarketError(
            f"{source}: [gold] XAUUSD: got {_show(gold)}; expected a positive price "
            "in USD per troy ounce"
        )
    if not x < MAX_GOLD_USD:
        raise MarketError(
            f"{source}: [gold] XAUUSD: got {_show(gold)}; expected a positive price in USD per "
            f"troy ounce below {MAX_GOLD_USD:g}"
        )
    return x
