"""Scenario sets as Parquet files: one row per scenario, one column per shock.

Layout (wide; column names ignore case in their fixed parts, currencies are upper-cased):

| column | type | meaning |
|---|---|---|
| ``scenario`` | text | unique, non-empty name |
| ``description``, ``source`` | text | optional; null = "" |
| ``generator`` | text | optional: the generator of a generated scenario (``historical``, ...) |
| ``rates.CCY.TENOR`` | float64 | zero-rate shift in bp at a knot of the CCY curve |
| ``fx.CCY`` | float64 | percent change of the value of one CCY in USD; null = 0 |
| ``gold`` | float64 | percent change of XAU in USD; null = 0 |
| ``spreads.ATTR.VALUE`` | float64 | spread shift in bp where ATTR is VALUE (ALL: the others) |

A ``rates`` cell is null where the scenario has no knot at that tenor of that curve (``ALL`` =
every curve, as in TOML files). Shifts lie within +-10,000 bp and FX and gold moves above -100 %
and at most +900 %, the bounds of the TOML parser.

``TENOR`` is a label (``10Y``, ``6M``, ``2W``, ``10D``) or a plain number of years (``2.5``).
Level targets ("move the 40Y *to* 4 %") need a market and have no column: a set holding one is
refused. Reading back what ``write_parquet`` wrote gives the same set (origins become the file,
``generator:<name> (<file>)`` for a generated scenario;
the axes are those the columns name, so a set with curve currencies but no tenors, or tenors but
no curve, comes back without them).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from portfolios.currencies import ISO_4217
from portfolios.parquet_bytes import read_parquet_bytes
from shocks.errors import SHOWN, ScenarioError
from shocks.model import ALL, FloatArray, ScenarioSet, _axis_order
from shocks.parse import MAX_PERCENT_CHANGE, MAX_SHIFT_BP, out_of_bounds
from shocks.tenors import Tenor, parse_tenor

TEXT_COLUMNS = ("scenario", "description", "source", "generator")
_GENERATOR = "generator:"
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_LAYOUT = (
    "scenario, description, source, rates.CCY.TENOR (bp), spreads.ATTRIBUTE.VALUE (bp), fx.CCY "
    "(percent) or gold (percent)"
)


def tenor_label(t: Tenor) -> str:
    """The column label of a tenor: ``10Y``, ``6M``, or a number of years (``2.5``), exact."""
    count = np.format_float_positional(t.count, trim="-")
    return f"{count}{t.unit}"


def _parse_label(text: str) -> Tenor:
    if _NUMBER.match(text.strip()):
        return parse_tenor(float(text))
    return parse_tenor(text)


def write_parquet(scen: ScenarioSet, path: str | Path) -> Path:
    """Write ``scen`` in the layout of the module docstring (atomically: a temporary file in
    the same folder, then a rename).

    Raises:
        ScenarioError: a level target, a non-finite shift at a knot, or an FX or gold move that
            is not a finite percent change above -100 (what reading would refuse).
    """
    p = Path(path)
    for lv in scen.levels:
        raise ScenarioError(
            f"{p}: cannot store scenario {scen.names[lv.scenario]!r}: its level target "
            f"rates.{lv.currency}.to_pct needs a market; a Parquet scenario file holds shifts "
            "in bp only"
        )
    columns: dict[str, pl.Series] = {
        "scenario": pl.Series("scenario", scen.names, dtype=pl.String),
        "description": pl.Series("description", scen.descriptions, dtype=pl.String),
        "source": pl.Series("source", scen.sources, dtype=pl.String),
    }
    if any(o.startswith(_GENERATOR) for o in scen.origins):
        columns["generator"] = pl.Series(
            "generator",
            [o[len(_GENERATOR) :] if o.startswith(_GENERATOR) else None for o in scen.origins],
            dtype=pl.String,
        )
    for c, ccy in enumerate(scen.currencies):
        for k, t in enumerate(scen.tenors):
            name = f"rates.{ccy}.{tenor_label(t)}"
            knots = scen.knots[:, c, k]
            _check(scen, p, name, scen.bp[:, c, k], knots, "bp")
            columns[name] = pl.Series(name, np.where(knots, scen.bp[:, c, k], np.nan),
                                      nan_to_null=True)
    for g, (attr, label) in enumerate(scen.spread_keys):
        name = f"spreads.{attr}.{label}"
        used = scen.spread_set[:, g]
        _check(scen, p, name, scen.spread_bp[:, g], used, "bp")
        columns[name] = pl.Series(name, np.where(used, scen.spread_bp[:, g], np.nan),
                                  nan_to_null=True)
    everywhere = np.ones(len(scen), dtype=np.bool_)
    for k, ccy in enumerate(scen.fx_currencies):
        name = f"fx.{ccy}"
        _check(scen, p, name, scen.fx_pct[:, k], everywhere, "pct")
        columns[name] = pl.Series(name, scen.fx_pct[:, k])
    _check(scen, p, "gold", scen.gold_pct, everywhere, "pct")
    columns["gold"] = pl.Series("gold", scen.gold_pct)
    frame = pl.DataFrame(list(columns.values()))
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        frame.write_parquet(tmp)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


#: What a cell of each kind must be.
EXPECTED = {
    "bp": f"a shift in bp between {-MAX_SHIFT_BP:g} and {MAX_SHIFT_BP:g} (null = no knot)",
    "pct": f"a percent change above -100 and at most {MAX_PERCENT_CHANGE:g} (null = 0)",
}


def _check(scen: ScenarioSet, p: Path, column: str, x: FloatArray, used: Any, kind: str) -> None:
    bad = used & out_of_bounds(x, kind)
    for s in np.flatnonzero(bad)[:1].tolist():
        expected = EXPECTED[kind].split(" (")[0]
        raise ScenarioError(
            f"{p}: cannot store scenario {scen.names[s]!r}, column {column!r}: "
            f"got {float(x[s])!r}; expected {expected}"
        )


class _Problems:
    def __init__(self, origin: str, names: list[Any] | None) -> None:
        self.origin = origin
        self.names = names
        self.lines: list[str] = []

    def cell(self, row: int, column: str, value: Any, expected: str) -> None:
        name = self.names[row] if self.names is not None else None
        who = f" (scenario {name!r})" if isinstance(name, str) and name.strip() else ""
        got = "" if value is None else f"got {value!r}; "
        self.lines.append(
            f"{self.origin}: row {row + 1}{who}, column {column!r}: {got}expected {expected}"
        )

    def column(self, column: str, expected: str) -> None:
        self.lines.append(f"{self.origin}: column {column!r}: expected {expected}")

    def raise_any(self) -> None:
        if not self.lines:
            return
        shown = self.lines[:SHOWN]
        if len(self.lines) > SHOWN:
            shown.append(f"... and {len(self.lines) - SHOWN} more")
        raise ScenarioError("\n".join(shown))


def read_parquet(path: str | Path, origin: str | None = None) -> ScenarioSet:
    """Read a scenario Parquet file (layout in the module docstring).

    Raises:
        ScenarioError: the file cannot be read, or some columns or cells are invalid (each
            named by file, row, scenario and column).
    """
    p = Path(path)
    origin = origin or str(p)
    try:
        data = p.read_bytes()  # the path itself: no glob expansion
    except OSError as exc:
        raise ScenarioError(f"{origin}: cannot read scenario file ({exc.strerror})") from None
    try:
        df = read_parquet_bytes(data)
    except OSError as exc:
        raise ScenarioError(f"{origin}: not a readable Parquet file: {exc}") from None
    return _from_frame(df, origin)


def _from_frame(df: pl.DataFrame, origin: str) -> ScenarioSet:
    lower = {c: c.strip().lower() for c in df.columns}
    names: list[Any] | None = None
    if "scenario" in lower.values():
        col = df[next(c for c in df.columns if lower[c] == "scenario")]
        if col.dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(col.dtype, pl.Enum):
            names = col.cast(pl.String).to_list()
    problems = _Problems(origin, names)
    if "scenario" not in lower.values():
        problems.column("scenario", "a 'scenario' column of unique names")
    text: dict[str, pl.Series] = {}
    rates: dict[tuple[str, tuple[str, float]], tuple[str, Tenor]] = {}
    fx: dict[str, str] = {}
    spreads: dict[tuple[str, str], str] = {}
    gold: str | None = None
    for c in df.columns:
        key = lower[c]
        if key in TEXT_COLUMNS:
            if key in text:
                problems.column(c, f"one {key!r} column (it appears twice)")
            elif df[c].dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(
                df[c].dtype, pl.Enum
            ):
                text[key] = df[c].cast(pl.String)
            else:
                problems.column(c, f"text (the column holds {df[c].dtype})")
            continue
        head, _, rest = c.strip().partition(".")
        if key == "gold":
            if gold is not None:
                problems.column(c, f"one gold column (column {gold!r} is the same)")
            gold = c
        elif head.lower() == "rates" and rest:
            ccy, _, label = rest.partition(".")
            ccy = ccy.upper()
            if ccy != ALL and ccy not in ISO_4217:
                problems.column(c, f"an ISO 4217 currency code or ALL after 'rates.', not {ccy!r}")
                continue
            try:
                t = _parse_label(label)
            except ValueError as exc:
                problems.column(c, f"a tenor after rates.{ccy}. ({exc})")
                continue
            if (ccy, t.key) in rates:
                problems.column(c, f"each knot once (column {rates[ccy, t.key][0]!r} is the same)")
                continue
            rates[ccy, t.key] = (c, t)
        elif head.lower() == "spreads" and rest:
            attr, _, label = rest.partition(".")
            attr = attr.strip().lower()
            if not re.match(r"^[a-z_][a-z0-9_]*$", attr) or not label.strip():
                problems.column(c, "spreads.ATTRIBUTE.VALUE: a position attribute and a value")
            elif (attr, label) in spreads:
                problems.column(c, f"each group once (column {spreads[attr, label]!r} is the same)")
            else:
                spreads[attr, label] = c
        elif head.lower() == "fx" and rest:
            ccy = rest.upper()
            if ccy == "USD" or ccy not in ISO_4217:
                problems.column(c, "fx.CCY with an ISO 4217 currency code other than USD")
            elif ccy in fx:
                problems.column(c, f"each currency once (column {fx[ccy]!r} is the same)")
            else:
                fx[ccy] = c
        else:
            problems.column(c, f"a column of the scenario layout: {_LAYOUT}")
    problems.raise_any()
    if df.height == 0:
        raise ScenarioError(f"{origin}: no scenarios (the file has no rows)")

    names_col = text["scenario"].cast(pl.String)
    scen_names = names_col.to_list()
    blank = (names_col.str.strip_chars().fill_null("") == "").to_numpy()
    again = (names_col.is_duplicated() & ~names_col.is_first_distinct()).to_numpy() & ~blank
    for i in np.flatnonzero(blank).tolist():
        problems.cell(i, "scenario", scen_names[i], "a non-empty scenario name")
    if again.any():
        first: dict[str, int] = {}
        for i, n in enumerate(scen_names):
            first.setdefault(n, i)
        for i in np.flatnonzero(again).tolist():
            n = scen_names[i]
            problems.cell(i, "scenario", n, f"a unique name (it is also on row {first[n] + 1})")

    def numbers(column: str, kind: str, null_is: float) -> FloatArray:
        col = df[column]
        if col.dtype == pl.String:
            nums = col.str.strip_chars().cast(pl.Float64, strict=False)
            for i in np.flatnonzero((col.is_not_null() & nums.is_null()).to_numpy()).tolist():
                problems.cell(i, column, col[i], "a number")
        elif col.dtype.is_numeric() or col.dtype == pl.Null:
            nums = col.cast(pl.Float64)
        else:
            problems.column(column, f"numbers (the column holds {col.dtype})")
            return np.full(df.height, null_is)
        x = nums.to_numpy().astype(np.float64)
        null = nums.is_null().to_numpy()
        bad = ~null & out_of_bounds(x, kind)
        for i in np.flatnonzero(bad).tolist():
            problems.cell(i, column, float(x[i]), EXPECTED[kind])
        x[null] = null_is
        return x

    curve_ccy = tuple(dict.fromkeys(ccy for ccy, _ in rates))
    tenors: tuple[Tenor, ...] = _axis_order("tenors", {t for _, t in rates.values()})
    keys = {t.key: k for k, t in enumerate(tenors)}
    S = df.height
    bp = np.zeros((S, len(curve_ccy), len(tenors)))
    knots = np.zeros(bp.shape, dtype=np.bool_)
    for (ccy, tenor_key), (column, _) in rates.items():
        x = numbers(column, "bp", np.nan)
        ci, ki = curve_ccy.index(ccy), keys[tenor_key]
        knots[:, ci, ki] = ~np.isnan(x)
        bp[:, ci, ki] = np.nan_to_num(x, nan=0.0)
    fx_ccy = tuple(fx)
    fx_pct = np.zeros((S, len(fx_ccy)))
    for k, ccy in enumerate(fx_ccy):
        fx_pct[:, k] = numbers(fx[ccy], "pct", 0.0)
    gold_pct = numbers(gold, "pct", 0.0) if gold is not None else np.zeros(S)
    spread_keys = tuple(sorted(spreads))
    spread_bp = np.zeros((S, len(spread_keys)))
    for g, skey in enumerate(spread_keys):
        spread_bp[:, g] = numbers(spreads[skey], "bp", np.nan)
    spread_set = ~np.isnan(spread_bp)
    spread_bp[~spread_set] = 0.0
    problems.raise_any()

    def texts(key: str) -> tuple[str, ...]:
        if key not in text:
            return ("",) * S
        return tuple(text[key].cast(pl.String).fill_null("").to_list())

    return ScenarioSet(
        names=tuple(scen_names),
        descriptions=texts("description"),
        sources=texts("source"),
        origins=tuple(f"{_GENERATOR}{g} ({origin})" if g else origin for g in texts("generator")),
        currencies=curve_ccy,
        tenors=tenors,
        bp=bp,
        knots=knots,
        fx_currencies=fx_ccy,
        fx_pct=fx_pct,
        gold_pct=gold_pct,
        spread_keys=spread_keys,
        spread_bp=spread_bp,
        spread_set=spread_set,
    )
