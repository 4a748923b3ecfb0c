"""Risk factors of a market history, and the factor space scenarios map into and out of.

A factor is one observed market quantity, named in one of three forms (names ignore case and
are held upper-case):

- ``CCY.TENOR`` (``JPY.10Y``, ``USD.2Y``): the CCY yield curve at a tenor label, in percent;
- ``FX.CCY`` (``FX.JPY``): the value of one unit of CCY in USD (``FX.JPY`` ~ 0.0067, not 150);
- ``XAU``: gold in USD per troy ounce.

A *move* of a factor comes in two units:

- ``"scenario"`` units, the ScenarioSet's: rates in bp, FX and gold in percent change;
- ``"factor"`` units, the unit of covariances, Monte Carlo draws and predictions: rates in bp,
  FX and gold in *log-percent*, 100 ln(new / old). Log changes add over time, are symmetric and
  map back to a percent change above -100 whatever their size, so a normal or Student-t draw
  always gives a valid FX or gold move. 100 ln(1 + p/100) is p to first order.

``FactorSpace`` turns a ScenarioSet into an (S, F) matrix of factor moves and back: the
bridge for reverse stress and any other computation in factor space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from portfolios.currencies import ISO_4217
from shocks.errors import ScenarioError
from shocks.model import ALL, FloatArray, ScenarioSet, _axis_order, row_patterns
from shocks.tenors import Tenor, parse_tenor

Kind = Literal["rate", "fx", "gold"]
Units = Literal["factor", "scenario"]
GOLD = "XAU"

#: What a factor name looks like, for error messages.
FACTOR_FORMS = (
    "a factor name: CCY.TENOR (a yield in percent, e.g. JPY.10Y), FX.CCY (the value of one "
    "unit of CCY in USD, e.g. FX.JPY) or XAU (gold in USD per troy ounce)"
)
_KIND_ORDER = {"rate": 0, "fx": 1, "gold": 2}


@dataclass(frozen=True)
class Factor:
    """One risk factor: a curve point (``tenor`` set), an FX rate or gold."""

    kind: Kind
    currency: str  # the curve's or FX rate's currency; XAU for gold
    tenor: Tenor | None = None

    @property
    def name(self) -> str:
        if self.kind == "rate":
            return f"{self.currency}.{self.tenor}"
        if self.kind == "fx":
            return f"FX.{self.currency}"
        return GOLD

    @property
    def identity(self) -> tuple[str, str, tuple[str, float]]:
        """What makes two factors the same: ``JPY.12M`` and ``JPY.1Y`` are one."""
        return (self.kind, self.currency, self.tenor.key if self.tenor else ("", 0.0))

    @property
    def sort_key(self) -> tuple[int, str, float, tuple[str, float]]:
        """Rates by currency and tenor, then FX by currency, then gold."""
        t = self.tenor
        if t is None:
            return (_KIND_ORDER[self.kind], self.currency, 0.0, ("", 0.0))
        return (_KIND_ORDER[self.kind], self.currency, t.years, t.key)

    def __str__(self) -> str:
        return self.name


def parse_factor(text: object) -> Factor:
    """The factor a column name (``JPY.10Y``, ``FX.JPY``, ``XAU``) stands for.

    Raises:
        ValueError: not a factor name (the message says why).
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not {FACTOR_FORMS}")
    name = text.strip().upper()
    if name == GOLD:
        return Factor("gold", GOLD)
    head, _, tail = name.partition(".")
    if head == "FX":
        if tail == "USD":
            raise ValueError("FX.USD: FX rates are values in USD, so USD itself has none")
        if tail == GOLD:
            raise ValueError("FX.XAU: gold is the XAU column (USD per troy ounce)")
        if tail not in ISO_4217:
            raise ValueError(f"{text!r}: {tail!r} is not an ISO 4217 currency code")
        return Factor("fx", tail)
    if head in ISO_4217 and tail:
        if head == ALL:
            raise ValueError(f"{text!r}: ALL stands for every curve in scenarios, not a curve")
        if head == GOLD:
            raise ValueError(f"{text!r}: gold has no curve; its price is the XAU column")
        if not any(c.isalpha() for c in tail):
            raise ValueError(f"{text!r}: expected a tenor label like 10Y or 6M after {head}.")
        return Factor("rate", head, parse_tenor(tail))
    raise ValueError(f"{text!r} is not {FACTOR_FORMS}")


def log_pct(pct: npt.ArrayLike) -> FloatArray:
    """Percent change to log-percent: 100 ln(1 + p/100)."""
    return 100.0 * np.log1p(np.asarray(pct, dtype=np.float64) / 100.0)


def simple_pct(log_percent: npt.ArrayLike) -> FloatArray:
    """Log-percent to percent change: 100 (exp(x/100) - 1)."""
    return 100.0 * np.expm1(np.asarray(log_percent, dtype=np.float64) / 100.0)


@dataclass(frozen=True)
class FactorSpace:
    """An ordered set of factors, and the maps between ScenarioSets and (S, F) factor moves.

    ``moves(scen)`` reads each scenario at the factors: a curve point is the scenario's shift
    at that tenor (its knots interpolated linearly in nominal years, ``Tenor.years``, flat
    beyond, the ALL shift added: exactly its knot value at a knot), an FX rate or gold its
    percent move (0 where the scenario does not move it). ``scenarios(moves)`` builds one
    scenario per row with a knot at each curve factor's tenor; ``overlay`` writes moves into
    existing scenarios. NaN in a moves matrix means "leave this factor alone". Factors of a
    scenario outside the space (other curves or currencies) are ignored by ``moves`` and kept
    by ``overlay``.
    """

    factors: tuple[Factor, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.factors]
        if len({f.identity for f in self.factors}) != len(names):
            raise ValueError(f"FactorSpace: factors appear twice in {names}")

    @classmethod
    def of(cls, names: Sequence[str]) -> FactorSpace:
        """The space of the named factors (``"JPY.10Y"``, ``"FX.JPY"``, ``"XAU"``), in order."""
        return cls(tuple(parse_factor(n) for n in names))

    def __len__(self) -> int:
        return len(self.factors)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    @cached_property
    def curves(self) -> dict[str, tuple[int, ...]]:
        """Curve currency -> the indices of its factors, shortest tenor first."""
        out: dict[str, list[int]] = {}
        for i, f in enumerate(self.factors):
            if f.kind == "rate":
                out.setdefault(f.currency, []).append(i)
        return {
            c: tuple(sorted(ix, key=lambda i: self.factors[i].sort_key)) for c, ix in out.items()
        }

    @cached_property
    def relative(self) -> npt.NDArray[np.bool_]:
        """(F,) which factors move in relative terms (FX and gold)."""
        return np.array([f.kind != "rate" for f in self.factors], dtype=np.bool_)

    @cached_property
    def _positions(self) -> dict[tuple[str, str, tuple[str, float]], int]:
        return {f.identity: i for i, f in enumerate(self.factors)}

    def index(self, name: str) -> int:
        """Position of a factor given by name (case ignored; ``JPY.120M`` is ``JPY.10Y``)."""
        try:
            return self._positions[parse_factor(name).identity]
        except (ValueError, KeyError):
            raise ValueError(
                f"{name!r} is not one of the factors: {', '.join(self.names)}"
            ) from None

    def to_factor_units(self, moves: npt.ArrayLike) -> FloatArray:
        """(.., F) scenario units (bp, percent) to factor units (bp, log-percent)."""
        out = np.array(moves, dtype=np.float64)
        out[..., self.relative] = log_pct(out[..., self.relative])
        return out

    def to_scenario_units(self, moves: npt.ArrayLike) -> FloatArray:
        """(.., F) factor units (bp, log-percent) to scenario units (bp, percent)."""
        out = np.array(moves, dtype=np.float64)
        out[..., self.relative] = simple_pct(out[..., self.relative])
        return out

    def moves(self, scen: ScenarioSet, units: Units = "factor") -> FloatArray:
        """(S, F) each scenario's move of each factor (see the class docstring).

        Raises:
            ScenarioError: a scenario has a level target (it needs a market to become a
                move).
        """
        for lv in scen.levels:
            raise ScenarioError(
                f"{scen.origins[lv.scenario]}: scenario {scen.names[lv.scenario]!r}: "
                f"rates.{lv.currency}.to_pct: a level target needs a market to become a move"
            )
        out = np.zeros((len(scen), len(self)))
        for ccy, cols in self.curves.items():
            years = np.array([self._tenor(i).years for i in cols])
            out[:, cols] = _shift_at(scen, ccy, years)
        for j, f in enumerate(self.factors):
            if f.kind == "fx" and f.currency in scen.fx_currencies:
                out[:, j] = scen.fx_pct[:, scen.fx_currencies.index(f.currency)]
            elif f.kind == "gold":
                out[:, j] = scen.gold_pct
        # No FX or gold move is at or below -100 % (no log change): a ScenarioSet refuses one.
        return self.to_factor_units(out) if units == "factor" else out

    def given(self, scen: ScenarioSet) -> npt.NDArray[np.bool_]:
        """(F,) which factors some scenario of ``scen`` gives a move of its own: a knot at
        the factor's tenor on its curve (or on ALL), a nonzero FX or gold move. A curve point
        no scenario gives still moves with the curve's other knots; an FX rate or gold no
        scenario gives never moves."""
        out = np.zeros(len(self), dtype=np.bool_)
        keys = [t.key for t in scen.tenors]
        for j, f in enumerate(self.factors):
            if f.kind == "rate":
                assert f.tenor is not None
                k = keys.index(f.tenor.key) if f.tenor.key in keys else -1
                rows = [scen.currencies.index(c) for c in (f.currency, ALL)
                        if c in scen.currencies]  # fmt: skip
                out[j] = k >= 0 and bool(scen.knots[:, rows, k].any())
            elif f.kind == "fx":
                out[j] = f.currency in scen.fx_currencies and bool(
                    (scen.fx_pct[:, scen.fx_currencies.index(f.currency)] != 0.0).any()
                )
            else:
                out[j] = bool((scen.gold_pct != 0.0).any())
        return out

    def scenarios(
        self,
        moves: npt.ArrayLike,
        *,
        names: Sequence[str],
        units: Units = "factor",
        descriptions: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        origin: str = "generator:factors",
    ) -> ScenarioSet:
        """One scenario per row of ``moves`` (S, F): a knot at each curve factor's tenor, the
        FX and gold moves; NaN entries leave the factor unshocked (no knot, 0 %)."""
        n = len(names)
        base = ScenarioSet(
            names=tuple(names),
            descriptions=tuple(descriptions) if descriptions is not None else ("",) * n,
            sources=tuple(sources) if sources is not None else ("",) * n,
            origins=(origin,) * n,
            currencies=(),
            tenors=(),
            bp=np.zeros((n, 0, 0)),
            knots=np.zeros((n, 0, 0), dtype=np.bool_),
            fx_currencies=(),
            fx_pct=np.zeros((n, 0)),
            gold_pct=np.zeros(n),
        )
        return self.overlay(base, moves, units=units)

    def overlay(
        self, scen: ScenarioSet, moves: npt.ArrayLike, *, units: Units = "scenario"
    ) -> ScenarioSet:
        """``scen`` with the finite entries of ``moves`` (S, F) written in: a curve factor
        becomes a knot at its tenor (replacing a knot there), an FX or gold factor replaces the
        scenario's move. NaN entries leave the scenario as it is. Axes grow as needed."""
        vals = np.array(moves, dtype=np.float64)
        if vals.shape != (len(scen), len(self)):
            raise ValueError(
                f"FactorSpace: expected moves of shape {(len(scen), len(self))}, got {vals.shape}"
            )
        if units == "factor":
            with np.errstate(over="ignore"):
                vals = self.to_scenario_units(vals)
        too_big = np.argwhere(np.isinf(vals))
        if len(too_big):
            i, j = too_big[0]
            raise ScenarioError(f"FactorSpace: the move of {self.factors[j].name} in scenario "
                                f"{i} is too large for a scenario (beyond floating point)")
        given = ~np.isnan(vals)
        used = np.asarray(given.any(axis=0))
        rate_cols = [j for j, f in enumerate(self.factors) if f.kind == "rate" and used[j]]
        currencies = tuple(
            sorted(set(scen.currencies) | {self.factors[j].currency for j in rate_cols})
        )
        tenors: tuple[Tenor, ...] = _axis_order(
            "tenors", set(scen.tenors) | {self._tenor(j) for j in rate_cols}
        )
        fx_cols = [j for j, f in enumerate(self.factors) if f.kind == "fx" and used[j]]
        fx_ccy = tuple(
            sorted(set(scen.fx_currencies) | {self.factors[j].currency for j in fx_cols})
        )
        keys = {t.key: k for k, t in enumerate(tenors)}
        n = len(scen)
        bp = np.zeros((n, len(currencies), len(tenors)))
        knots = np.zeros(bp.shape, dtype=np.bool_)
        ci = np.array([currencies.index(c) for c in scen.currencies], dtype=np.int64)
        ki = np.array([keys[t.key] for t in scen.tenors], dtype=np.int64)
        rows = np.arange(n)
        bp[np.ix_(rows, ci, ki)] = scen.bp
        knots[np.ix_(rows, ci, ki)] = scen.knots
        fx = np.zeros((n, len(fx_ccy)))
        fx[:, [fx_ccy.index(c) for c in scen.fx_currencies]] = scen.fx_pct
        gold = scen.gold_pct.copy()
        for j, f in enumerate(self.factors):
            m = given[:, j]
            if not m.any():
                continue
            if f.kind == "rate":
                c, k = currencies.index(f.currency), keys[self._tenor(j).key]
                bp[m, c, k] = vals[m, j]
                knots[m, c, k] = True
            elif f.kind == "fx":
                fx[m, fx_ccy.index(f.currency)] = vals[m, j]
            else:
                gold[m] = vals[m, j]
        return ScenarioSet(
            names=scen.names,
            descriptions=scen.descriptions,
            sources=scen.sources,
            origins=scen.origins,
            currencies=currencies,
            tenors=tenors,
            bp=bp,
            knots=knots,
            fx_currencies=fx_ccy,
            fx_pct=fx,
            gold_pct=gold,
            levels=scen.levels,
            spread_keys=scen.spread_keys,
            spread_bp=scen.spread_bp,
            spread_set=scen.spread_set,
        )

    def _tenor(self, j: int) -> Tenor:
        t = self.factors[j].tenor
        assert t is not None
        return t


def _shift_at(scen: ScenarioSet, currency: str, years: FloatArray) -> FloatArray:
    """(S, len(years)) each scenario's shift of ``currency`` (ALL included) at nominal
    ``years``, one pattern of knots at a time (a historical set has one or a few)."""
    out = np.zeros((len(scen), len(years)))
    grid = scen.grid
    for src in (currency, ALL):
        if src not in scen.currencies:
            continue
        k = scen.currencies.index(src)
        knots, bp = scen.knots[:, k], scen.bp[:, k]
        if not knots.shape[1]:
            continue
        patterns, which = row_patterns(knots)
        for p, mask in enumerate(patterns):
            if not mask.any():
                continue
            xs = grid[mask]
            # Weights of each knot at ``years``: exactly 1 at the knot itself and 0 at the
            # others, so a factor at a knot reads the knot's value exactly.
            eye = np.eye(len(xs))
            weights = np.stack([np.interp(years, xs, eye[j]) for j in range(len(xs))])
            if len(patterns) == 1:
                out += bp[:, mask] @ weights
            else:
                rows = np.flatnonzero(which == p)
                out[rows] += bp[np.ix_(rows, np.flatnonzero(mask))] @ weights
    return out


def describe(space: FactorSpace, mask: npt.ArrayLike) -> str:
    """The factors ``mask`` selects, grouped for a description: ``JPY curve, USD 20Y/30Y,
    FX EUR/GBP, gold`` (a whole curve is named as one)."""
    m = np.asarray(mask, dtype=np.bool_)
    parts: list[str] = []
    for ccy, cols in space.curves.items():
        picked = [i for i in cols if m[i]]
        if len(picked) == len(cols):
            parts.append(f"{ccy} curve")
        elif picked:
            parts.append(f"{ccy} " + "/".join(str(space.factors[i].tenor) for i in picked))
    fx = [f.currency for f, x in zip(space.factors, m, strict=True) if x and f.kind == "fx"]
    if fx:
        parts.append("FX " + "/".join(fx))
    if any(x and f.kind == "gold" for f, x in zip(space.factors, m, strict=True)):
        parts.append("gold")
    return ", ".join(parts)
