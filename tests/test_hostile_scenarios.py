"""Fuzzing the scenario parser: whatever bytes or structure a scenario file holds, reading it
raises nothing but ScenarioError, and a set it accepts prices to finite numbers."""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import portfolios
import shocks
import stress
from shocks import ScenarioError
from tests import strategies as ts

GOOD = b"""
[[scenario]]
name = "jgb"
description = "JGB sell-off [approximate]"
[scenario.rates.JPY]
tenors = ["2Y", "10Y", "40Y"]
bp = [5, 25, 60]
[scenario.rates.ALL]
parallel_bp = 10
twist = { short = "2Y", pivot = "10Y", long = "30Y", short_bp = -5, long_bp = 5 }
[scenario.fx]
JPY = -4.0
[scenario.gold]
pct = 6.0

[[scenario]]
name = "level"
[scenario.rates.USD]
tenors = ["10Y", "30Y"]
to_pct = [5.0, 5.5]
"""

MARKET = stress.Market.from_dict({
    "valuation_date": "2026-01-20",
    "curves": {"USD": {"tenors": ["1Y", "10Y", "30Y"], "rates": [3.6, 4.2, 4.8]},
               "JPY": {"tenors": ["1Y", "10Y", "40Y"], "rates": [0.8, 2.2, 3.9]}},
    "fx": {"USDJPY": 158.0},
    "gold": {"XAUUSD": 4800.0},
})
BOOK = portfolios.load(pl.DataFrame({
    "position_id": ["ust", "jgb", "gold", "cash"],
    "instrument": ["bond", "bond", "gold", "fx"],
    "currency": ["USD", "JPY", "USD", "JPY"],
    "notional": [1e7, -2e9, 1e3, 5e8],
    "coupon": [4.25, 1.9, None, None],
    "maturity": [dt.date(2035, 11, 15), dt.date(2065, 3, 20), None, None],
    "convention": ["UST", "JGB", None, None],
}))

FUZZ = settings(max_examples=ts.examples(150), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _read(tmp: Path, data: bytes) -> shocks.ScenarioSet | None:
    path = tmp / "fuzz.toml"
    path.write_bytes(data)
    try:
        return shocks.read_toml(path)
    except ScenarioError as exc:
        assert str(exc).startswith(str(path)), exc
        return None


def _priced(scen: shocks.ScenarioSet) -> None:
    try:
        res = stress.run(BOOK, MARKET, scen)
    except (ScenarioError, stress.MarketError) as exc:
        assert "market" in str(exc) or "out of order" in str(exc), exc
        return
    assert np.isfinite(res.summary["pnl"].to_numpy()).all()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The good file with bytes deleted, inserted, replaced or the file cut short."""
    data = bytearray(GOOD)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(("delete", "insert", "replace", "truncate")))
        chunk = draw(st.binary(min_size=1, max_size=6) | st.sampled_from(
            [b"[", b"]", b'"', b"=", b"\n", b"1e400", b"nan", b"-inf", b"\xff", b"\x00",
             b"999999Y", b"to_pct", b"[[scenario]]\n"]))
        if kind == "delete":
            del data[pos:pos + len(chunk)]
        elif kind == "insert":
            data[pos:pos] = chunk
        elif kind == "replace":
            data[pos:pos + len(chunk)] = chunk
        else:
            del data[pos:]
    return bytes(data)


@FUZZ
@given(mutated())
@example(GOOD.replace(b"bp = [5, 25, 60]", b"bp = [5, 25, 1e308]"))
@example(GOOD.replace(b"parallel_bp = 10", b"parallel_bp = 1" + b"0" * 400))
@example(GOOD.replace(b"JPY = -4.0", b"JPY = -1" + b"0" * 30))
@example(GOOD.replace(b'"40Y"', b'"999Y"'))
@example(GOOD.replace(b'"2Y", "10Y", "40Y"', b'"1Y", 1, "12M"'))
def test_mutated_files_raise_only_scenario_errors(tmp_path_factory: Any, data: bytes) -> None:
    scen = _read(tmp_path_factory.mktemp("fuzz"), data)
    if scen is not None:
        _priced(scen)


_scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
            | st.sampled_from([10**400, -10**400, 2**63, -(2**63) - 1])
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
            | st.sampled_from(["2Y", "10Y", "0M", "-1Y", "1e9Y", "ALL", "JPY", "jpy", "USD", "XAU"])
            | st.dates())
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.sampled_from(
                           ["tenors", "bp", "to_pct", "parallel_bp", "twist", "butterfly",
                            "short_bp", "long_bp", "short", "pivot", "long", "belly", "wings_bp",
                            "belly_bp", "short_bp", "long_bp", "pct", "JPY", "USD", "ALL", "EUR",
                            "name", "x"]), inner, max_size=5), max_leaves=20)


@st.composite
def scenario_docs(draw: st.DrawFn) -> dict[str, Any]:
    specs = []
    for i in range(draw(st.integers(0, 3))):
        spec: dict[str, Any] = {"name": draw(st.sampled_from([f"s{i}", "", 5, "[x]"]))}
        for key in draw(st.lists(st.sampled_from(
                ["description", "source", "rates", "fx", "gold", "other"]), max_size=4)):
            spec[key] = draw(_values)
        specs.append(spec)
    doc: dict[str, Any] = {"scenario": specs}
    if draw(st.booleans()):
        doc[draw(st.sampled_from(["market", "scenario2"]))] = draw(_values)
    return doc


@FUZZ
@given(scenario_docs())
def test_any_structure_raises_only_scenario_errors(doc: dict[str, Any]) -> None:
    try:
        scen = shocks.from_dict(doc, "doc.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("doc.toml"), exc
        return
    _priced(scen)


def test_the_good_file_is_good(tmp_path: Path) -> None:
    scen = _read(tmp_path, GOOD)
    assert scen is not None and scen.names == ("jgb", "level")
    assert tomllib.loads(GOOD.decode())  # the fuzz starts from valid TOML
    res = stress.run(BOOK, MARKET, scen)
    assert all(math.isfinite(x) for x in res.summary["pnl"])
