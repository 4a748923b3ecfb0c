"""StressResult: a plain value holding what a stress run found, as polars frames, and the raw
sums it was built from. Nothing here evaluates anything: groupings and the number of worst
positions kept are requested before the run (``stress.run(..., by=[...], worst=n)``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio
from shocks.model import ScenarioSet
from stress.evaluate import RawSums, check_count, pnl_of
from stress.groups import TOTAL, Groupings
from stress.kernels.scenarios import (
    BOND_PV_AFTER,
    BOND_PV_BEFORE,
    DETAIL,
    DOLLAR_CONVEXITY_AFTER,
    DOLLAR_CONVEXITY_BEFORE,
    DOLLAR_DURATION_AFTER,
    DOLLAR_DURATION_BEFORE,
    DOLLAR_SPREAD_DURATION_AFTER,
    DOLLAR_SPREAD_DURATION_BEFORE,
    N_METRICS,
    PNL_CROSS,
    PNL_FX,
    PNL_GOLD,
    PNL_RATES,
    PNL_SPREAD,
    PV_AFTER,
    PV_BEFORE,
    TAYLOR_CONVEXITY,
    TAYLOR_DURATION,
)
from stress.risk import DEFAULT_LEVELS, Level, Levels, RiskError, check_levels, var_es

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Worst positions named in each summary row (``worst_1`` ... and their P&L).
SUMMARY_WORST = 3


def derived_columns(m: FloatArray) -> dict[str, FloatArray]:
    """Report columns from raw metrics ``m[metric, ...]`` (any trailing shape), base currency.

    ``pnl`` is the sum of its five parts, so they add up to it exactly. Durations and
    convexities are weighted by the PV of cashflow instruments (years, years^2; futures add
    their forward dollar duration and no PV); DV01 is the base-currency loss for a 1 bp
    parallel rise of every curve and CS01 for a 1 bp rise of every credit spread, spread
    duration its PV-weighted duration; the Taylor estimate of the rates P&L is
    -sum(t*PV*shift) + 1/2*sum(t^2*PV*shift^2) (curve shifts) and the residual is exact minus
    estimate.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        taylor = m[TAYLOR_DURATION] + m[TAYLOR_CONVEXITY]
        return {
            "pnl": pnl_of(m),
            "pnl_rates": m[PNL_RATES],
            "pnl_spread": m[PNL_SPREAD],
            "pnl_fx": m[PNL_FX],
            "pnl_gold": m[PNL_GOLD],
            "pnl_cross": m[PNL_CROSS],
            "pv_before": m[PV_BEFORE],
            "pv_after": m[PV_AFTER],
            "duration_before": _ratio(m[DOLLAR_DURATION_BEFORE], m[BOND_PV_BEFORE]),
            "duration_after": _ratio(m[DOLLAR_DURATION_AFTER], m[BOND_PV_AFTER]),
            "convexity_before": _ratio(m[DOLLAR_CONVEXITY_BEFORE], m[BOND_PV_BEFORE]),
            "convexity_after": _ratio(m[DOLLAR_CONVEXITY_AFTER], m[BOND_PV_AFTER]),
            "dv01_before": m[DOLLAR_DURATION_BEFORE] * 1e-4,
            "dv01_after": m[DOLLAR_DURATION_AFTER] * 1e-4,
            "spread_duration_before": _ratio(m[DOLLAR_SPREAD_DURATION_BEFORE], m[BOND_PV_BEFORE]),
            "spread_duration_after": _ratio(m[DOLLAR_SPREAD_DURATION_AFTER], m[BOND_PV_AFTER]),
            "cs01_before": m[DOLLAR_SPREAD_DURATION_BEFORE] * 1e-4,
            "cs01_after": m[DOLLAR_SPREAD_DURATION_AFTER] * 1e-4,
            "taylor_duration": m[TAYLOR_DURATION],
            "taylor_convexity": m[TAYLOR_CONVEXITY],
            "taylor_pnl": taylor,
            "taylor_residual": m[PNL_RATES] - taylor,
        }


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den, NaN where den is 0: a PV-weighted duration of bonds whose PVs cancel is not
    defined (whatever rounding leaves in the numerator)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den == 0.0, np.nan, num / den)


#: The columns ``derived_columns`` gives (the summary's and every grouping's figures), in order.
SUMMARY_COLUMNS = tuple(derived_columns(np.zeros((N_METRICS, 0))))
#: The columns of the frames showing a grouping's figures beside its own column: no grouping
#: may take one of these names.
GROUP_FRAME_COLUMNS = frozenset(
    ("scenario", *SUMMARY_COLUMNS, "level", "var", "es", "tail", "worst_scenario",
     "component_es", "share")
)  # fmt: skip


def _enum(codes: npt.NDArray[np.int64] | npt.NDArray[np.uint32], categories: pl.Series
          ) -> pl.Series:  # fmt: skip
    """Categorical column from codes into the Enum series ``categories``; code -1 is null.
    Codes given as uint32 (polars' own index type) are all valid and taken as they are: a
    positions frame's 10M codes would otherwise be converted, several times slower than the
    gather itself. Either way they go in as a polars Series: a numpy array is widened to int64
    and bounds-checked first (10M codes: 66 ms, against 24 ms)."""
    if codes.dtype == np.uint32:
        return categories.gather(pl.Series(codes))
    out = categories.gather(pl.Series(np.maximum(codes, 0).astype(np.uint32)))
    missing = codes < 0
    return out.scatter(np.flatnonzero(missing), None) if missing.any() else out


def enum_of(values: pl.Series) -> pl.Series:
    """``values`` (unique strings) as an Enum whose categories are those values, in order."""
    return values.cast(pl.Enum(values))


class GroupFrames(Mapping[str, pl.DataFrame]):
    """The figures per scenario and group of each grouping (``StressResult.by``), each frame
    built when first read: a million scenarios by three groupings of 15 groups are 15M rows,
    7 GB of frames that a run printing its worst scenario never reads."""

    def __init__(self, groups: Groupings, sums: FloatArray, names: pl.Series) -> None:
        self._groups = groups
        self._sums = sums  # (S, groups, N_METRICS)
        self._names = names  # the scenarios, an Enum
        self._frames: dict[str, pl.DataFrame] = {}

    def __getitem__(self, name: str) -> pl.DataFrame:
        if name not in self._frames:
            self._frames[name] = self.rows(name, np.arange(self._sums.shape[0]))
        return self._frames[name]

    def rows(self, name: str, scenarios: npt.ArrayLike) -> pl.DataFrame:
        """The frame of grouping ``name`` for the ``scenarios`` (indices, 0 to S - 1) alone:
        one scenario's groups without the frame of all of them."""
        if name not in self:
            raise KeyError(name)
        scenarios = np.asarray(scenarios, dtype=np.int64).reshape(-1)
        n_s = self._sums.shape[0]
        if ((scenarios < 0) | (scenarios >= n_s)).any():
            raise IndexError(f"scenario indices must be from 0 to {n_s - 1}")
        if name in self._frames:  # scenario-major: scenario s is rows s G to (s + 1) G
            G = len(self._groups.labels[self._groups.names.index(name)])
            return self._frames[name][(scenarios[:, None] * G + np.arange(G)).ravel()]
        q = self._groups.names.index(name)
        # The grouping's slice first (a view), then the scenarios: not a copy of every
        # grouping's sums.
        block = self._sums[:, self._groups.span(name), :][scenarios]
        S, G = block.shape[:2]
        m = block.transpose(2, 0, 1).reshape(block.shape[2], S * G)
        return pl.DataFrame(
            {
                "scenario": _enum(np.repeat(scenarios, G), self._names).alias("scenario"),
                name: pl.Series(np.tile(np.array(self._groups.labels[q], dtype=object), S),
                                dtype=pl.String),
                **derived_columns(m),
            }
        )

    def __contains__(self, name: object) -> bool:
        return name != TOTAL and name in self._groups.names

    def __iter__(self) -> Iterator[str]:
        return iter([n for n in self._groups.names if n != TOTAL])

    def __len__(self) -> int:
        return len(self._groups.names) - 1

    def __repr__(self) -> str:
        return f"GroupFrames({', '.join(map(repr, self))})"


@dataclass(frozen=True)
class StressResult:
    """What a stress run found; all amounts in ``base_currency``.

    ``summary``: one row per scenario (P&L and its parts, risk before/after, Taylor estimate,
    the worst positions). ``by(column)``: the summary per value of an attribute requested with
    ``by=``. ``worst``: per scenario its lowest-P&L positions, worst first, with every
    per-position column; ``contributors(scenario, n)`` reads it. ``positions``: one row per
    (scenario, position), only with ``detail="positions"``. ``raw`` holds the sums the frames
    were derived from.
    """

    scenarios: ScenarioSet
    base_currency: str
    summary: pl.DataFrame
    groups: GroupFrames
    worst: pl.DataFrame
    raw: RawSums
    rejects: pl.DataFrame
    position_ids: pl.Series
    detail: pl.DataFrame | None = None
    components: dict[float, FloatArray] = field(default_factory=dict)
    positions_dir: Path | None = None
    positions_parts: tuple[str, ...] = ()

    @property
    def positions(self) -> pl.DataFrame:
        if self.detail is None:
            if self.positions_dir is not None:
                raise ValueError(
                    f"per-position results were written to {self.positions_dir}, not kept in "
                    "memory; read them with result.scan_positions()"
                )
            raise ValueError("per-position results were not kept; run with detail='positions'")
        return self.detail

    def scan_positions(self) -> pl.LazyFrame:
        """The per-position results, lazily: from memory, or from the Parquet files a run
        shard by shard wrote (``scenario`` and ``position_id`` are text there)."""
        if self.positions_dir is not None:
            return pl.scan_parquet([self.positions_dir / p for p in self.positions_parts])
        return self.positions.lazy()

    def with_positions(self, directory: Path, parts: list[str]) -> StressResult:
        """This result with its per-position detail in the files ``parts`` of ``directory``."""
        return replace(self, positions_dir=directory, positions_parts=tuple(parts))

    def by(self, column: str) -> pl.DataFrame:
        """P&L and risk per scenario and value of ``column`` (requested with ``by=``)."""
        if column not in self.groups:
            asked = ", ".join(self.groups) or "none"
            raise KeyError(
                f"no grouping by {column!r} in this result (groupings: {asked}); run with "
                f"by=[{column!r}] (CLI: --by {column})"
            )
        return self.groups[column]

    def contributors(self, scenario: str, n: int = 10) -> pl.DataFrame:
        """The ``n`` positions that lose most in ``scenario``, worst first, with every
        per-position column."""
        if scenario not in self.scenarios.names:
            raise KeyError(f"no scenario {scenario!r} in this result")
        check_count("n", n, 0)
        kept = self.raw.worst.shape[1]
        if n > kept:
            raise ValueError(f"this result kept the {kept} worst positions; run with worst={n}")
        s = self.scenarios.names.index(scenario)
        if kept and len(self.position_ids) and self.raw.worst[s, 0] < 0:
            covered = int((self.raw.worst[:, 0] >= 0).sum())
            raise ValueError(
                f"the worst positions were found for the {covered} scenarios of lowest P&L, "
                f"not for {scenario!r}; run with worst_scenarios=None for every scenario"
            )
        return self.worst.filter(pl.col("scenario") == scenario).head(n)

    def risk(
        self, levels: Levels | None = None, by: str | None = None
    ) -> pl.DataFrame:
        """VaR and expected shortfall of the P&L over the scenarios (``stress.risk`` states
        the rule), losses positive, base currency: one row per level, or per level and value
        of ``by`` (a grouping requested with ``by=``) with each group's own VaR and ES.
        ``tail`` is the number of tail scenarios, ``worst_scenario`` the worst of them.
        ``levels``: by default those the run was given (``risk=``), else 0.99 and 0.975."""
        levels = check_levels(tuple(self.components) or DEFAULT_LEVELS if levels is None
                              else levels)  # fmt: skip
        frames = [(None, self.summary["pnl"].to_numpy())]
        if by is not None:
            grouped = self.by(by)
            frames = [
                (g, grouped.filter(pl.col(by) == g)["pnl"].to_numpy())
                for g in grouped[by].unique(maintain_order=True).to_list()
            ]
        rows = []
        for group, pnl in frames:
            for a in levels:
                r = var_es(pnl, a)
                row = {"level": a, "var": r.var, "es": r.es, "tail": len(r.tail),
                       "worst_scenario": self.scenarios.names[int(r.tail[0])]}  # fmt: skip
                rows.append(row if by is None else {by: group, **row})
        return pl.DataFrame(rows)

    def component_es(self, level: Level, by: str | None = None) -> pl.DataFrame:
        """Each position's (or, with ``by``, each group's) component of the expected shortfall
        at ``level``: minus its mean P&L over the tail scenarios; the components add up to
        the ES. Per position it needs the level requested with ``risk=`` before the run."""
        (level,) = check_levels([level])
        es = var_es(self.summary["pnl"].to_numpy(), level)
        if by is None:
            if level not in self.components:
                asked = ", ".join(f"{a:g}" for a in self.components) or "none"
                raise RiskError(
                    f"component ES at {level:g} was not kept (levels kept: {asked}); run with "
                    f"risk=[{level:g}] (CLI: --risk {level:g})"
                )
            comp = self.components[level]
            names = self.position_ids
        else:
            grouped = self.by(by)
            tail_rows = grouped.filter(pl.col("scenario").to_physical().is_in(es.tail))
            per = tail_rows.group_by(by, maintain_order=True).agg(pl.col("pnl").mean())
            comp = -per["pnl"].to_numpy()
            names = per[by]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = comp / es.es
        return pl.DataFrame(
            {
                by or "position_id": names,
                "component_es": comp,
                "share": share,
            }
        ).with_columns(pl.lit(level).alias("level"), pl.lit(es.es).alias("es"))

    def to_pandas(self) -> pd.DataFrame:
        """The summary as a pandas DataFrame (``positions.to_pandas()`` for the detail)."""
        return self.summary.to_pandas()


def build_result(
    scenarios: ScenarioSet,
    base_currency: str,
    portfolio: Portfolio,
    groups: Groupings,
    raw: RawSums,
    detail: FloatArray | None,
    components: dict[float, FloatArray] | None = None,
) -> StressResult:
    """Derive the frames of a StressResult from the raw sums."""
    ids = portfolio.position_id_enum
    names = enum_of(pl.Series("scenario", list(scenarios.names), dtype=pl.String))
    S, P = len(scenarios), len(ids)

    def scenario_column(codes: npt.NDArray[np.int64] | npt.NDArray[np.uint32]) -> pl.Series:
        return _enum(codes, names).alias("scenario")

    summary: dict[str, pl.Series | FloatArray] = {
        "scenario": scenario_column(np.arange(S)),
        **derived_columns(raw.sums[:, 0, :].T),
    }
    for k in range(min(SUMMARY_WORST, raw.worst.shape[1], P)):
        summary[f"worst_{k + 1}"] = _enum(raw.worst[:, k], ids).alias(f"worst_{k + 1}")
        summary[f"worst_{k + 1}_pnl"] = raw.worst_pnl[:, k]
    kept = raw.worst >= 0
    s_idx, k_idx = np.nonzero(kept)
    worst = pl.DataFrame(
        {
            "scenario": pl.Series(np.array(scenarios.names, dtype=object)[s_idx], dtype=pl.String),
            "rank": k_idx + 1,
            "position_id": ids.gather(raw.worst[kept]).cast(pl.String),
            **{c: raw.worst_detail[s_idx, k_idx, i] for i, c in enumerate(DETAIL)},
        }
    )
    positions = None
    if detail is not None:
        positions = pl.DataFrame(
            {
                "scenario": scenario_column(np.repeat(np.arange(S, dtype=np.uint32), P)),
                "position_id": _enum(np.tile(np.arange(P, dtype=np.uint32), S), ids),
                **{c: detail[i] for i, c in enumerate(DETAIL)},
            }
        )
    return StressResult(
        scenarios=scenarios,
        base_currency=base_currency,
        summary=pl.DataFrame(summary),
        groups=GroupFrames(groups, raw.sums, names),
        worst=worst,
        raw=raw,
        rejects=portfolio.rejects,
        position_ids=portfolio.frame["position_id"],
        detail=positions,
        components=components or {},
    )
