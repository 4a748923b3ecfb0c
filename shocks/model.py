"""Scenarios as dense arrays: curve shifts at key tenors, FX and gold moves.

A ScenarioSet holds S scenarios over C curve currencies and K key tenors. ``bp[s, c, k]`` is
the zero-rate shift in basis points at ``tenors[k]`` where ``knots[s, c, k]`` is true: the
scenario's own key tenors for that curve. Between its knots a shift is linear in time and beyond
them flat; other entries of ``bp`` are unused (0). Tenors are calendar periods, placed in time
only against a valuation date (``curve_shifts``), so a shock at "10Y" sits on a market's 10Y
pillar exactly. The currency ``"ALL"`` applies to every curve (added to a curve's own shift).
Level targets ("move the 40Y JPY zero rate *to* 4 %") need a market and are kept in ``levels``.
Credit-spread shifts are keyed by (position attribute, value): ``spread_bp[s, g]`` moves the
spread of every position whose attribute ``spread_keys[g][0]`` has the value
``spread_keys[g][1]`` where ``spread_set[s, g]`` is true; the value ``"ALL"`` stands for every
position the scenario does not name under that attribute.

Every per-scenario field is declared once (``_per_scenario``) with the axes it is labelled by,
so ``select`` and ``concat`` handle every field, including ones added later, the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from shocks.errors import ScenarioError
from shocks.tenors import Tenor

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ALL = "ALL"


def _years(values: Sequence[float]) -> tuple[Tenor, ...]:
    return tuple(Tenor(float(v), "") for v in values)


#: BCBS d368 time-bucket midpoints (years), extended to 50Y for long bonds: the nodes on which
#: the exponential IRRBB shapes are sampled (linear between, as the standard's buckets).
BASEL_GRID: tuple[float, ...] = (
    0.0028,
    0.0417,
    0.1667,
    0.375,
    0.625,
    0.875,
    1.25,
    1.75,
    2.5,
    3.5,
    4.5,
    5.5,
    6.5,
    7.5,
    8.5,
    9.5,
    12.5,
    17.5,
    25.0,
    30.0,
    40.0,
    50.0,
)
BASEL_TENORS = _years(BASEL_GRID)


@dataclass(frozen=True)
class Level:
    """Move the zero rate of ``currency`` at ``tenors`` *to* ``pct`` percent."""

    scenario: int
    currency: str
    tenors: tuple[Tenor, ...]
    pct: tuple[float, ...]


def _per_scenario(*axes: str, dtype: type | None = None) -> dict[str, Any]:
    """Field metadata: one entry per scenario, a tuple of texts, or (``dtype``) an array whose
    further dimensions are labelled by ``axes``."""
    return {"per_scenario": axes, "dtype": dtype}


#: Field metadata: the labels of one dimension of the per-scenario arrays.
_AXIS = {"axis": True}

#: The default of optional per-scenario arrays (filled in as zeros of the declared shape).
_ZEROS: Any = None


#: How many placements of its curve shifts a ScenarioSet keeps (see ``ScenarioSet._placed``).
PLACED_KEPT = 4


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``a`` as a read-only array no one else can write: itself when it is read-only and owns
    its data, else a read-only copy (a view or a writable array may change under a set)."""
    if a.flags.writeable or a.base is not None:
        a = a.copy()
        a.flags.writeable = False
    return a


@dataclass(frozen=True)
class ScenarioSet:
    """S scenarios as dense arrays (see the module docstring). Build it by keyword."""

    names: tuple[str, ...] = field(metadata=_per_scenario())
    descriptions: tuple[str, ...] = field(metadata=_per_scenario())
    sources: tuple[str, ...] = field(metadata=_per_scenario())
    #: The file (or "library:<file>", "generator:<name>") each scenario came from.
    origins: tuple[str, ...] = field(metadata=_per_scenario())
    #: Curve currencies, possibly including ALL.
    currencies: tuple[str, ...] = field(metadata=_AXIS)
    #: Key tenors, by increasing nominal length.
    tenors: tuple[Tenor, ...] = field(metadata=_AXIS)
    #: (S, C, K) shift in bp at each scenario's knots.
    bp: FloatArray = field(metadata=_per_scenario("currencies", "tenors", dtype=np.float64))
    #: (S, C, K) which tenors are each scenario's knots on each curve.
    knots: BoolArray = field(metadata=_per_scenario("currencies", "tenors", dtype=np.bool_))
    fx_currencies: tuple[str, ...] = field(metadata=_AXIS)
    #: (S, F) percent change of each currency's value in USD.
    fx_pct: FloatArray = field(metadata=_per_scenario("fx_currencies", dtype=np.float64))
    #: (S,) percent change of XAU in USD.
    gold_pct: FloatArray = field(metadata=_per_scenario(dtype=np.float64))
    levels: tuple[Level, ...] = field(default=())
    #: Credit-spread groups: (position attribute, value) pairs, the value ALL standing for
    #: every position a scenario does not name under that attribute.
    spread_keys: tuple[tuple[str, str], ...] = field(default=(), metadata=_AXIS)
    #: (S, G) spread shift in bp of each group (where ``spread_set``).
    spread_bp: FloatArray = field(
        default=_ZEROS, metadata=_per_scenario("spread_keys", dtype=np.float64)
    )
    #: (S, G) which groups each scenario shifts.
    spread_set: BoolArray = field(
        default=_ZEROS, metadata=_per_scenario("spread_keys", dtype=np.bool_)
    )
    #: Curve shifts already placed on a calendar, by (valuation date, currencies), at most
    #: PLACED_KEPT: a trading tool prices one trade against the same set many times a
    #: minute. Sound because the set's arrays are its own and read-only (``_frozen``); never
    #: pickled.
    _placed: dict[tuple[dt.date, tuple[str, ...]], tuple[FloatArray, FloatArray]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        n = len(self.names)
        for f in dataclasses.fields(self):
            axes = f.metadata.get("per_scenario")
            if axes is None:
                continue
            value = getattr(self, f.name)
            shape = (n, *(len(getattr(self, a)) for a in axes))
            dtype = f.metadata["dtype"]
            if value is None:  # an optional field left out: nothing shifted
                value = np.zeros(shape, dtype=dtype)
                object.__setattr__(self, f.name, value)
            if dtype is None:
                ok = isinstance(value, tuple) and len(value) == n
            else:
                ok = isinstance(value, np.ndarray) and value.shape == shape
                ok = ok and value.dtype == dtype
            if not ok:
                raise ValueError(
                    f"ScenarioSet.{f.name}: expected "
                    + (f"a tuple of {n}" if dtype is None else f"a {dtype.__name__} array of "
                       f"shape {shape}")
                )
            if dtype is not None:
                object.__setattr__(self, f.name, _frozen(value))
        if self.tenors and any(
            b.years < a.years for a, b in zip(self.tenors, self.tenors[1:], strict=False)
        ):
            raise ValueError("ScenarioSet.tenors: expected increasing tenors")
        self._check_values()

    def _check_values(self) -> None:
        """Refuse moves no market can take: a shift that is not a finite number, a currency or
        gold falling 100 % or more (worth nothing, or less). Files and generators never make
        them; a set built by hand might."""
        checks = (
            ("bp", self.bp, "a finite shift in bp"),
            ("spread_bp", self.spread_bp, "a finite spread shift in bp"),
            ("fx_pct", self.fx_pct, "a finite percent change above -100"),
            ("gold_pct", self.gold_pct, "a finite percent change above -100"),
        )
        for name, values, expected in checks:
            ok = np.isfinite(values)
            if name.endswith("_pct"):
                ok &= values > -100.0
            if not ok.all():
                bad = np.argwhere(~ok)[0]
                raise ScenarioError(
                    f"ScenarioSet.{name}: scenario {self.names[bad[0]]!r} has "
                    f"{float(values[tuple(bad)])!r}; expected {expected}"
                )

    def __len__(self) -> int:
        return len(self.names)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_placed"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            # Unpickled arrays are this set's own: read-only again, so nothing kept goes stale.
            object.__setattr__(self, k, _frozen(v) if isinstance(v, np.ndarray) else v)
        object.__setattr__(self, "_placed", {})

    @property
    def grid(self) -> FloatArray:
        """The key tenors' nominal lengths in years (``Tenor.years``)."""
        return np.array([t.years for t in self.tenors], dtype=np.float64)

    @property
    def spread_attributes(self) -> tuple[str, ...]:
        """The position attributes the set's spread shifts go by (sorted)."""
        used = np.asarray(self.spread_set.any(axis=0)).tolist() if len(self) else []
        return tuple(sorted({k[0] for k, u in zip(self.spread_keys, used, strict=False) if u}))

    def spread_shift(
        self, attributes: Sequence[str], labels: Sequence[Sequence[str]]
    ) -> FloatArray:
        """(S, len(labels)) spread shift in bp of positions whose values of ``attributes`` are
        ``labels[g]``: per attribute the scenario's value for the position's label, else its
        ALL value, else 0; added over attributes."""
        out = np.zeros((len(self), len(labels)))
        index = {k: i for i, k in enumerate(self.spread_keys)}
        for a, attr in enumerate(attributes):
            default = index.get((attr, ALL))
            for g, lab in enumerate(labels):
                k = index.get((attr, lab[a]))
                own = self.spread_set[:, k] if k is not None else np.zeros(len(self), np.bool_)
                value = np.where(own, self.spread_bp[:, k] if k is not None else 0.0, 0.0)
                if default is not None:
                    value = np.where(~own & self.spread_set[:, default],
                                     self.spread_bp[:, default], value)
                out[:, g] += value
        return out

    def frame(self) -> pl.DataFrame:
        """One row per scenario: name, description, source, origin."""
        return pl.DataFrame(
            {
                "scenario": list(self.names),
                "description": list(self.descriptions),
                "source": list(self.sources),
                "origin": list(self.origins),
            }
        )

    def shift_bp(self, scenario: int, currency: str, t: npt.ArrayLike) -> FloatArray:
        """The scenario's shift in bp at nominal times ``t`` (years, ``Tenor.years``) for
        ``currency``, ALL included (level targets excluded: they need a market). Valuation
        uses ``curve_shifts``, which places tenors on a valuation date's calendar."""
        tt = np.asarray(t, dtype=np.float64)
        out = np.zeros(tt.shape)
        for c in dict.fromkeys((currency, ALL)):
            if c in self.currencies:
                ci = self.currencies.index(c)
                mask = self.knots[scenario, ci]
                if mask.any():
                    out += np.interp(tt, self.grid[mask], self.bp[scenario, ci, mask])
        return out

    def curve_shifts(
        self,
        valuation_date: dt.date,
        currencies: Sequence[str],
        zero_rate: Callable[[str, FloatArray], FloatArray] | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """The shifts the engine prices with: ``(times, shift)``, ``times`` (K',) the distinct
        ACT/365F times of the key tenors on ``valuation_date``'s calendar and ``shift`` (S,
        len(currencies), K') in bp, linear between a scenario's own knots in that time and flat
        beyond (so exact on ``times`` for linear interpolation), the ALL shift included.

        ``zero_rate(currency, times)`` gives the market's zero rates (decimals) for level
        targets, which set the zero rate of their curve, ALL shift included, to the target.

        Raises:
            ValueError: a scenario's knots do not fall in increasing order on that calendar
                (a number of years between two labels that resolve the other way round).
        """
        levels = [lv for lv in self.levels if lv.currency in currencies]
        level_t = [np.array([t.time(valuation_date) for t in lv.tenors]) for lv in levels]
        key = (valuation_date, tuple(currencies))
        if key not in self._placed:
            if len(self._placed) >= PLACED_KEPT:
                del self._placed[next(iter(self._placed))]  # the oldest
            self._placed[key] = self._place(valuation_date, key[1], level_t)
        times, placed = self._placed[key]
        if not levels:
            return times, placed
        out = placed.copy()
        for lv, t in zip(levels, level_t, strict=True):
            if zero_rate is None:
                raise ValueError("level targets need the market's zero rates")
            if np.any(np.diff(t) <= 0):
                self._misordered(lv.scenario, lv.tenors, t, valuation_date)
            bp = (np.asarray(lv.pct) / 100.0 - zero_rate(lv.currency, t)) * 1e4
            out[lv.scenario, list(currencies).index(lv.currency)] = np.interp(times, t, bp)
        return times, out

    def _place(
        self, valuation_date: dt.date, currencies: tuple[str, ...], level_t: list[FloatArray]
    ) -> tuple[FloatArray, FloatArray]:
        """``curve_shifts`` without the level targets (read-only): the times (the level
        targets' tenors included) and the shifts there."""
        tenor_t = np.array([t.time(valuation_date) for t in self.tenors], dtype=np.float64)
        # At least one point: a set that moves no curve has a zero shift at one year.
        times = np.unique(np.concatenate([tenor_t, *level_t, np.array([] if len(tenor_t) or
                                                                      level_t else [1.0])]))
        out = np.zeros((len(self), len(currencies), len(times)))
        for ci, c in enumerate(currencies):
            for src in dict.fromkeys((c, ALL)):  # a fixed order of the sums
                if src in self.currencies:
                    k = self.currencies.index(src)
                    self._resample(self.bp[:, k], self.knots[:, k], tenor_t, times, out[:, ci])
        times.flags.writeable = False
        out.flags.writeable = False
        return times, out

    def _resample(
        self,
        bp: FloatArray,
        knots: BoolArray,
        tenor_t: FloatArray,
        times: FloatArray,
        out: FloatArray,
    ) -> None:
        """``out[s] += `` each row's knots interpolated onto ``times``, one pattern of knots
        at a time (historical sets share one pattern, so this is a few vector operations)."""
        patterns, which = row_patterns(knots.reshape(len(knots), -1))
        for p, mask in enumerate(patterns):
            if not mask.any():
                continue
            rows = np.flatnonzero(which.ravel() == p)
            xs = tenor_t[mask]
            if np.any(np.diff(xs) <= 0):
                tenors = tuple(t for t, m in zip(self.tenors, mask, strict=True) if m)
                self._misordered(int(rows[0]), tenors, xs, None)
            values = bp[rows][:, mask]
            # Interpolation weights of each knot on ``times``: 1 at the knot, 0 at the others.
            # A loop over knots (not a matrix product) keeps the sums in one fixed order.
            for j in range(len(xs)):
                unit = np.zeros(len(xs))
                unit[j] = 1.0
                out[rows] += values[:, j, None] * np.interp(times, xs, unit)[None, :]

    def _misordered(
        self, s: int, tenors: Sequence[Tenor], t: FloatArray, val: dt.date | None
    ) -> None:
        on = f" on {val.isoformat()}" if val else ""
        labels = ", ".join(f"{x} = {y:.6g}y" for x, y in zip(tenors, t, strict=True))
        raise ValueError(
            f"{self.origins[s]}: scenario {self.names[s]!r}: tenors fall out of order{on} "
            f"({labels}); give them as labels or as numbers of years, not a mix"
        )

    def select(self, index: npt.ArrayLike) -> ScenarioSet:
        """The scenarios at the given positions, in that order."""
        idx = np.atleast_1d(np.asarray(index, dtype=np.int64))
        remap = {int(old): new for new, old in enumerate(idx)}
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if "per_scenario" in f.metadata:
                value = getattr(self, f.name)
                changes[f.name] = (
                    value[idx] if isinstance(value, np.ndarray) else tuple(value[i] for i in idx)
                )
        changes["levels"] = tuple(
            dataclasses.replace(lv, scenario=remap[lv.scenario])
            for lv in self.levels
            if lv.scenario in remap
        )
        return dataclasses.replace(self, **changes)


def row_patterns(
    mask: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """The distinct rows of a boolean (S, K) matrix, in a fixed order, and each row's pattern:
    ``np.unique(mask, axis=0, return_inverse=True)``, but through one integer per row when
    K <= 62 (sorting 100,000 rows as raw bytes takes seconds; as integers, milliseconds)."""
    K = mask.shape[1]
    if K > 62:
        patterns, which = np.unique(mask, axis=0, return_inverse=True)
        return patterns, which.ravel()
    bits = np.left_shift(np.int64(1), np.arange(K, dtype=np.int64))
    keys = mask.astype(np.int64) @ bits
    uniq, which = np.unique(keys, return_inverse=True)
    patterns = ((uniq[:, None] >> np.arange(K, dtype=np.int64)) & 1).astype(np.bool_)
    return patterns, which.ravel()


def _axis_order(name: str, labels: set[Any]) -> tuple[Any, ...]:
    if name == "tenors":
        # One label per period ("12M" and "1Y" are one tenor), shortest first.
        unique = {t.key: t for t in sorted(labels, key=str)}
        return tuple(sorted(unique.values(), key=lambda t: (t.years, t.key)))
    return tuple(sorted(labels))


def concat(sets: Sequence[ScenarioSet]) -> ScenarioSet:
    """One set holding all scenarios of ``sets``, in order (names must stay unique).

    Axes are merged (union of currencies, tenors, FX currencies); each scenario keeps its own
    knots, so nothing is resampled and nothing is lost.
    """
    seen: dict[str, str] = {}
    for s in sets:
        for name, origin in zip(s.names, s.origins, strict=True):
            if name in seen:
                raise ValueError(
                    f"scenario name {name!r} appears twice ({seen[name]} and {origin})"
                )
            seen[name] = origin
    fields = dataclasses.fields(ScenarioSet)
    axes = {
        f.name: _axis_order(f.name, {x for s in sets for x in getattr(s, f.name)})
        for f in fields
        if f.metadata.get("axis")
    }
    keyed = {
        name: {(t.key if name == "tenors" else t): i for i, t in enumerate(labels)}
        for name, labels in axes.items()
    }
    total = sum(len(s) for s in sets)
    built: dict[str, Any] = dict(axes)
    for f in fields:
        dims = f.metadata.get("per_scenario")
        if dims is None:
            continue
        parts = [getattr(s, f.name) for s in sets]
        if f.metadata["dtype"] is None:
            built[f.name] = tuple(x for p in parts for x in p)
            continue
        out = np.zeros((total, *(len(axes[a]) for a in dims)), dtype=f.metadata["dtype"])
        row = 0
        for s, part in zip(sets, parts, strict=True):
            where = [
                np.array(
                    [keyed[a][t.key if a == "tenors" else t] for t in getattr(s, a)],
                    dtype=np.int64,
                )
                for a in dims
            ]
            out[np.ix_(np.arange(row, row + len(s)), *where)] = part
            row += len(s)
        built[f.name] = out
    levels: list[Level] = []
    row = 0
    for s in sets:
        levels += [dataclasses.replace(lv, scenario=lv.scenario + row) for lv in s.levels]
        row += len(s)
    return ScenarioSet(**built, levels=tuple(levels))


def empty() -> ScenarioSet:
    """A set with no scenarios."""
    return concat([])
