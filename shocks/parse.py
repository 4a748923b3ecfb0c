"""Read scenario TOML files into a ScenarioSet, with errors that name file, scenario and field."""

from __future__ import annotations

import itertools
import math
import re
import reprlib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from portfolios.currencies import ISO_4217
from shocks.errors import HistoryError, ScenarioError
from shocks.history import MAX_HORIZON, HistoryLike, as_date, resolve_history
from shocks.model import ALL, BASEL_TENORS, FloatArray, Level, ScenarioSet, concat
from shocks.predict import predict
from shocks.tenors import Tenor, parse_tenor

#: Keys allowed in a [scenario.rates.CCY] table.
RATE_KEYS = ("tenors", "bp", "to_pct", "parallel_bp", "twist", "butterfly", "short_bp", "long_bp")
_SCENARIO_KEYS = ("name", "description", "source", "rates", "spreads", "fx", "gold", "predict")
_SPREAD_KEYS = ("by", "bp")
#: A position attribute a spread shift may go by: a column name as the loader keeps it.
_ATTRIBUTE = re.compile(r"^[a-z_][a-z0-9_]*$")
_PREDICT_KEYS = ("window", "horizon")
#: Largest zero-rate shift a scenario may give (bp, either sign): 100 percentage points.
MAX_SHIFT_BP = 10_000.0
#: Largest level a level target may move a zero rate to (percent, either sign).
MAX_LEVEL_PCT = 100.0
#: Largest rise of an FX rate or of gold (percent): tenfold.
MAX_PERCENT_CHANGE = 900.0


def out_of_bounds(x: FloatArray, kind: str) -> Any:
    """Where ``x`` is not what a scenario may hold (NaN and infinities included): shifts in bp
    (``kind`` "bp") beyond MAX_SHIFT_BP either way, FX and gold changes in percent ("pct") not
    above -100 (a zero multiplier) and at most MAX_PERCENT_CHANGE."""
    with np.errstate(invalid="ignore"):
        if kind == "bp":
            return ~(np.abs(x) <= MAX_SHIFT_BP)
        return ~((x > -100.0) & (x <= MAX_PERCENT_CHANGE))

__all__ = ["RATE_KEYS", "ScenarioError", "from_dict", "read_toml"]


Shape = tuple[tuple[Tenor, ...], FloatArray]  # (tenors, bp): linear between, flat beyond


def read_toml(
    path: str | Path, origin: str | None = None, history: HistoryLike | None = None
) -> ScenarioSet:
    """Parse one scenario file (``history``: for ``[scenario.predict]``, default the bundled
    one)."""
    p = Path(path)
    origin = origin or str(p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{origin}: cannot read scenario file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{origin}: not UTF-8 text ({_where_byte(exc)}); expected a TOML scenario file "
            "saved as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: not valid TOML: {exc}") from exc
    return from_dict(data, origin, history)


def _where_byte(exc: UnicodeDecodeError) -> str:
    """Where the first byte that is not UTF-8 sits, as a line and column (1-based)."""
    head = bytes(exc.object[: exc.start])
    line = head.count(b"\n") + 1
    column = exc.start - (head.rfind(b"\n") + 1) + 1
    return f"byte {exc.object[exc.start]:#04x} on line {line}, column {column}"


def from_dict(
    data: dict[str, Any], origin: str = "<scenarios>", history: HistoryLike | None = None
) -> ScenarioSet:
    """Build a ScenarioSet from the parsed TOML structure ``{"scenario": [ {...}, ... ]}``.

    A scenario with a ``[scenario.predict]`` table has the history factors it leaves open
    filled from those it gives (``_predicted``), with ``history`` or the bundled one."""
    specs = data.get("scenario")
    if not isinstance(specs, list) or not specs:
        raise ScenarioError(f"{origin}: expected one or more [[scenario]] tables")
    extra = set(data) - {"scenario"}
    if extra:
        raise ScenarioError(
            f"{origin}: unknown top-level keys {sorted(extra)}; expected only [[scenario]] tables"
        )
    parsed = [_scenario(spec, i, origin, history) for i, spec in enumerate(specs)]
    try:
        return concat(parsed)
    except ValueError as exc:  # a name used twice in the file
        raise ScenarioError(f"{origin}: {exc}") from None


def _scenario(spec: Any, index: int, origin: str, history: HistoryLike | None) -> ScenarioSet:
    if not isinstance(spec, dict):
        raise ScenarioError(f"{origin}: scenario #{index + 1}: expected a table")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(f"{origin}: scenario #{index + 1}: name: expected a non-empty string")

    def fail(fld: str, msg: str) -> ScenarioError:
        return ScenarioError(f"{origin}: scenario {name!r}: {fld}: {msg}")

    unknown = set(spec) - set(_SCENARIO_KEYS)
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown key; expected one of {', '.join(_SCENARIO_KEYS)}")
    for key in ("description", "source"):
        if not isinstance(spec.get(key, ""), str):
            raise fail(key, "expected a string")

    rates = spec.get("rates", {})
    if not isinstance(rates, dict):
        raise fail("rates", "expected tables [scenario.rates.CCY]")
    shapes: dict[str, Shape] = {}
    levels: list[Level] = []
    for ccy_raw, block in rates.items():
        ccy = ccy_raw.upper()
        if ccy != ALL and ccy not in ISO_4217:
            raise fail(f"rates.{ccy_raw}", "not an ISO 4217 currency code (or ALL)")
        if ccy in shapes or any(lv.currency == ccy for lv in levels):
            raise fail(f"rates.{ccy_raw}", f"{ccy} is given twice (codes ignore case)")
        shape, level = _rate_block(block, f"rates.{ccy_raw}", fail)
        if level is not None:
            if ccy == ALL:
                raise fail(f"rates.{ccy_raw}.to_pct", "level targets need a named currency")
            levels.append(Level(0, ccy, level[0], tuple(level[1].tolist())))
        else:
            assert shape is not None
            shapes[ccy] = shape

    fx_block = spec.get("fx", {})
    if not isinstance(fx_block, dict):
        raise fail("fx", "expected a table like { JPY = -4.0 }")
    fx: dict[str, float] = {}
    for ccy_raw, pct in fx_block.items():
        ccy = ccy_raw.upper()
        if ccy == "USD":
            raise fail(
                "fx.USD",
                "FX moves are changes of a currency's value in USD, so USD "
                "itself cannot move; express a dollar move as the other currencies' moves",
            )
        if ccy not in ISO_4217:
            raise fail(f"fx.{ccy_raw}", "not an ISO 4217 currency code")
        if ccy in fx:
            raise fail(f"fx.{ccy_raw}", f"{ccy} is given twice (codes ignore case)")
        fx[ccy] = _percent_change(pct, f"fx.{ccy_raw}", fail)
    gold_block = spec.get("gold", {})
    if not isinstance(gold_block, dict) or set(gold_block) - {"pct"}:
        raise fail("gold", "expected a table with one key, pct (percent change of XAU in USD)")
    gold = _percent_change(gold_block.get("pct", 0.0), "gold.pct", fail)

    spread_keys, spread_bp = _spreads(spec.get("spreads"), fail)

    # Level targets' currencies and tenors join the axes too (no knots: the engine resolves
    # them against the market), so the set's axes name everything it touches.
    currencies = tuple(sorted(set(shapes) | {lv.currency for lv in levels}))
    tenors = _union(
        [t for knots, _ in shapes.values() for t in knots]
        + [t for lv in levels for t in lv.tenors]
    )
    keys = [t.key for t in tenors]
    bp = np.zeros((1, len(currencies), len(tenors)))
    knots = np.zeros(bp.shape, dtype=np.bool_)
    for c, (ts, ys) in shapes.items():
        cols = [keys.index(t.key) for t in ts]
        bp[0, currencies.index(c), cols] = ys
        knots[0, currencies.index(c), cols] = True
    fx_ccy = tuple(sorted(fx))
    base = ScenarioSet(
        names=(name,),
        descriptions=(spec.get("description", ""),),
        sources=(spec.get("source", ""),),
        origins=(origin,),
        currencies=currencies,
        tenors=tenors,
        bp=bp,
        knots=knots,
        fx_currencies=fx_ccy,
        fx_pct=np.array([[fx[c] for c in fx_ccy]], dtype=np.float64).reshape(1, -1),
        gold_pct=np.array([gold]),
        levels=tuple(levels),
        spread_keys=spread_keys,
        spread_bp=np.array([spread_bp], dtype=np.float64).reshape(1, -1),
        spread_set=np.ones((1, len(spread_keys)), dtype=np.bool_),
    )
    if "predict" not in spec:
        return base
    return _predicted(base, spec, fail, history)


def _predicted(
    base: ScenarioSet, spec: dict[str, Any], fail: Fail, history: HistoryLike | None
) -> ScenarioSet:
    """``base`` with the history factors it does not give filled by ``predict``.

    The given factors are exactly the history factors the scenario names: the listed tenors of
    a curve given by ``tenors`` + ``bp`` alone (each must be a tenor of the history's curve),
    every history tenor of a curve given by any other shape (a parallel shift, twist,
    butterfly or Basel shape defines the whole curve: its value at each history tenor is
    given), and the FX and gold entries listed. Every other history factor is inferred, other
    tenors of a curve with given tenors included. Curves and currencies the history lacks keep
    their shocks and inform nothing.
    """
    table = spec["predict"]
    if not isinstance(table, dict):
        raise fail("predict", "expected a table [scenario.predict] (keys window, horizon)")
    for key in sorted(set(table) - set(_PREDICT_KEYS)):
        raise fail(f"predict.{key}", f"unknown key; expected one of {', '.join(_PREDICT_KEYS)}")
    window = None
    if "window" in table:
        raw = table["window"]
        if not isinstance(raw, list) or len(raw) != 2:
            raise fail("predict.window", f'got {raw!r}; expected ["2013-01-01", "2024-06-30"]')
        try:
            window = (as_date(raw[0], "start"), as_date(raw[1], "end"))
        except HistoryError as exc:
            raise fail("predict.window", str(exc)) from None
        if window[1] <= window[0]:
            raise fail("predict.window", f"got {raw!r}; expected a start before the end")
    horizon = table.get("horizon", 10)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON:
        raise fail("predict.horizon", f"got {horizon!r}; expected a whole number of days from 1 "
                                      f"to {MAX_HORIZON:,}")
    for lv in base.levels:
        raise fail(
            f"rates.{lv.currency}.to_pct",
            "a level target cannot be predicted from (it needs a market); give bp moves",
        )
    if ALL in base.currencies:
        raise fail("rates.ALL", "predict needs moves of named curves, not of ALL curves")
    h = resolve_history(history)
    given: dict[str, float] = {}
    for ccy_raw, block in spec.get("rates", {}).items():
        ccy = ccy_raw.upper()
        if ccy not in h.curves:
            continue
        ci = base.currencies.index(ccy)
        tenors = h.curves[ccy]
        if set(block) <= {"tenors", "bp"}:
            for k in np.flatnonzero(base.knots[0, ci]).tolist():
                t = base.tenors[k]
                match = [x for x in tenors if x.key == t.key]
                if not match:
                    raise fail(
                        f"rates.{ccy_raw}.tenors",
                        f"{t} is not a tenor of the {ccy} curve of the history ({h.source}); "
                        f"its tenors are {', '.join(map(str, tenors))}",
                    )
                given[f"{ccy}.{match[0]}"] = float(base.bp[0, ci, k])
        else:
            shift = base.shift_bp(0, ccy, [x.years for x in tenors])
            given |= {f"{ccy}.{x}": float(v) for x, v in zip(tenors, shift, strict=True)}
    for ccy_raw in spec.get("fx", {}):
        ccy = ccy_raw.upper()
        if f"FX.{ccy}" in h.factors:
            given[f"FX.{ccy}"] = float(base.fx_pct[0, base.fx_currencies.index(ccy)])
    if isinstance(spec.get("gold"), dict) and "pct" in spec["gold"] and "XAU" in h.factors:
        given["XAU"] = float(base.gold_pct[0])
    if not given:
        raise fail(
            "predict",
            f"the scenario moves no factor of the history ({h.source}: "
            f"{', '.join(h.factors)}); there is nothing to infer from",
        )
    try:
        prediction = predict(h, given, window, horizon)
    except HistoryError as exc:
        raise fail("predict", str(exc)) from None
    return prediction.overlay(base)


def _spreads(block: Any, fail: Fail) -> tuple[tuple[tuple[str, str], ...], list[float]]:
    """The (attribute, value) keys and bp of a ``[scenario.spreads]`` table, keys sorted."""
    if block is None:
        return (), []
    if not isinstance(block, dict):
        raise fail("spreads", 'expected a table like { by = "sector", bp = { financials = 80 } }')
    for key in sorted(set(block) - set(_SPREAD_KEYS)):
        raise fail(f"spreads.{key}", f"unknown key; expected one of {', '.join(_SPREAD_KEYS)}")
    by = block.get("by")
    if not isinstance(by, str) or not _ATTRIBUTE.match(by.strip().lower()):
        raise fail(
            "spreads.by",
            f"got {_show(by)}; expected the name of a position attribute (a column such as "
            '"sector", "rating", "issuer" or "currency")',
        )
    by = by.strip().lower()
    values = block.get("bp")
    if not isinstance(values, dict) or not values:
        raise fail(
            "spreads.bp",
            f"got {_show(values)}; expected a table of shifts in bp by value of {by!r}, e.g. "
            "{ financials = 80, ALL = 25 }",
        )
    out: dict[str, float] = {}
    for label, v in values.items():
        if not label.strip():
            raise fail("spreads.bp", "expected non-empty values of the attribute as keys")
        out[label] = _number(v, f"spreads.bp.{label}", fail)
    keys = sorted(out)
    return tuple((by, k) for k in keys), [out[k] for k in keys]


def _union(tenors: list[Tenor]) -> tuple[Tenor, ...]:
    """Distinct periods ("12M" and "1Y" are one), shortest first."""
    unique = {t.key: t for t in tenors}
    return tuple(sorted(unique.values(), key=lambda t: (t.years, t.key)))


Fail = Callable[[str, str], ScenarioError]


_REPR = reprlib.Repr()
_REPR.maxlong, _REPR.maxstring, _REPR.maxother = 40, 80, 80


def _show(v: Any) -> str:
    """A value as it appears in a message: its repr, long ones shortened."""
    return _REPR.repr(v)


def _real(v: Any) -> float | None:
    """``v`` as a float when it is a TOML number (not a bool); integers too large for a float
    become infinite."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _number(
    v: Any, where: str, fail: Fail, bound: float = MAX_SHIFT_BP, unit: str = "bp"
) -> float:
    """A number within +-``bound`` (a shift in bp unless ``unit`` says otherwise)."""
    x = _real(v)
    if x is None or math.isnan(x):
        raise fail(where, f"got {_show(v)}; expected a number")
    if not abs(x) <= bound:
        raise fail(
            where, f"got {_show(v)}; expected a number between {-bound:g} and {bound:g} {unit}"
        )
    return x


def _tenor(v: Any, where: str, fail: Fail) -> Tenor:
    try:
        return parse_tenor(v)
    except ValueError as exc:
        raise fail(where, str(exc)) from None


def _percent_change(v: Any, where: str, fail: Fail) -> float:
    x = _real(v)
    if x is None or not -100 < x <= MAX_PERCENT_CHANGE:
        raise fail(
            where, f"got {_show(v)}; expected a percent change above -100 and at most "
            f"{MAX_PERCENT_CHANGE:g}"
        )
    return x


def _rate_block(block: Any, prefix: str, scenario_fail: Fail) -> tuple[Shape | None, Shape | None]:
    """(additive shape, None) or (None, level targets) for one currency's rates table."""

    def fail(fld: str, msg: str) -> ScenarioError:
        return scenario_fail(f"{prefix}.{fld}" if fld else prefix, msg)

    if not isinstance(block, dict):
        raise fail("", "expected a table")
    unknown = set(block) - set(RATE_KEYS)
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown key; expected one of {', '.join(RATE_KEYS)}")
    tenors: tuple[Tenor, ...] = ()
    if "tenors" in block:
        raw = block["tenors"]
        if not isinstance(raw, list) or not raw:
            raise fail("tenors", 'expected a non-empty list like ["2Y", "10Y"]')
        tenors = tuple(_tenor(t, "tenors", fail) for t in raw)
        if any(b.years <= a.years for a, b in itertools.pairwise(tenors)):
            raise fail("tenors", f"got {raw!r}; expected strictly increasing tenors")
    if "to_pct" in block:
        others = sorted(set(block) - {"tenors", "to_pct"})
        if others:
            raise fail("to_pct", f"a level target cannot be combined with {', '.join(others)}")
        return None, (tenors, _values(block, "to_pct", tenors, fail))
    parts: list[Shape] = []
    if "tenors" in block or "bp" in block:
        parts.append((tenors, _values(block, "bp", tenors, fail)))
    # A parallel shift is flat: it adds its size at the other shapes' tenors (a knot of its
    # own would only duplicate one of theirs).
    parallel = _number(block["parallel_bp"], "parallel_bp", fail) if "parallel_bp" in block else 0.0
    if "twist" in block:
        parts.append(
            _points(
                block["twist"],
                "twist",
                (("short", "short_bp"), ("pivot", None), ("long", "long_bp")),
                fail,
            )
        )
    if "butterfly" in block:
        parts.append(
            _points(
                block["butterfly"],
                "butterfly",
                (("short", "wings_bp"), ("belly", "belly_bp"), ("long", "wings_bp")),
                fail,
            )
        )
    grid = np.array([t.years for t in BASEL_TENORS])
    if "short_bp" in block:
        parts.append(
            (BASEL_TENORS, _number(block["short_bp"], "short_bp", fail) * np.exp(-grid / 4))
        )
    if "long_bp" in block:
        parts.append(
            (BASEL_TENORS, _number(block["long_bp"], "long_bp", fail) * (1 - np.exp(-grid / 4)))
        )
    if not parts:
        if "parallel_bp" not in block:
            raise fail("", f"no shock given; expected some of {', '.join(RATE_KEYS)}")
        return ((Tenor(1.0, ""),), np.array([parallel])), None
    if len(parts) == 1:
        return (parts[0][0], parts[0][1] + parallel), None
    # Shapes in one block add up at the union of their tenors, each evaluated there by
    # nominal length (Tenor.years); the sum is linear in time between those tenors.
    union = _union([t for p in parts for t in p[0]])
    xs = np.array([t.years for t in union])
    total = np.full(len(xs), parallel)
    for ts, ys in parts:
        total += np.interp(xs, [t.years for t in ts], ys)
    return (union, total), None


def _values(block: dict[str, Any], key: str, tenors: tuple[Tenor, ...], fail: Fail) -> FloatArray:
    if "tenors" not in block:
        raise fail("tenors", f"{key} needs a tenors list of the same length")
    raw = block.get(key)
    if not isinstance(raw, list) or len(raw) != len(tenors):
        raise fail(key, f"got {raw!r}; expected a list of {len(tenors)} numbers, one per tenor")
    if key == "to_pct":
        return np.array([_number(v, key, fail, MAX_LEVEL_PCT, "percent") for v in raw])
    return np.array([_number(v, key, fail) for v in raw])


def _points(spec: Any, where: str, keys: tuple[tuple[str, str | None], ...], fail: Fail) -> Shape:
    needed = {k for pair in keys for k in pair if k}
    if not isinstance(spec, dict) or set(spec) != needed:
        raise fail(where, f"expected an inline table with exactly {', '.join(sorted(needed))}")
    xs = tuple(_tenor(spec[t], f"{where}.{t}", fail) for t, _ in keys)
    ys = [0.0 if v is None else _number(spec[v], f"{where}.{v}", fail) for _, v in keys]
    if not xs[0].years < xs[1].years < xs[2].years:
        raise fail(where, f"expected {keys[0][0]} < {keys[1][0]} < {keys[2][0]} tenors")
    return xs, np.array(ys)
