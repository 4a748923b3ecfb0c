"""What a report shows, as plain frames: collected from a finished run, written into its output
set (``stress run --out DIR``) and read back from one (``stress report DIR``).

Both paths give equal frames (every frame is normalized to one schema, and Parquet and CSV keep
float64 numbers exactly), so a report made straight after a run and one made later from its
output directory show the same numbers. Nothing here imports a charting library.

Files of a set, beside ``summary``, ``by_<column>``, ``positions`` and ``rejects.csv``:

- ``by_currency``, ``by_maturity_bucket``: the summary per position currency and per maturity
  bucket (every run sums by these two);
- ``worst``: per scenario its lowest-P&L positions, worst first, with every detail column;
- ``scenarios``: per scenario its family (``stress.families``), description, source, origin and
  gold move (percent of XAU in USD);
- ``curve_shifts``: per scenario and curve of the book, the zero-rate shift in bp at the report
  tenors, from the resolved arrays the engine priced with (``stress.resolve``);
- ``fx_moves``: per scenario and position currency, the percent change of its value in the base
  currency, as priced;
- ``key_rate_dv01``: per position currency, before any shock: PV, DV01 and the key-rate DV01s
  (base currency, loss for a 1 bp rise);
- ``risk_by_family`` (when the run has generated scenarios): VaR and ES per generated family
  (the run's own ``risk`` file, when it writes one, is VaR and ES over all its scenarios);
- ``reverse_stress`` (optional, written by a reverse-stress run): see ``check_reverse``.

The manifest's ``report`` entry holds the header facts and the file of each part.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.loader import PositionSource
from portfolios.model import Portfolio
from portfolios.parquet_bytes import read_parquet_bytes
from shocks.library import ScenarioSource
from shocks.tenors import parse_tenor
from stress import __version__
from stress.analytics import book_analytics
from stress.book import Book, build_book
from stress.engine import as_portfolio, check_worst, load_for, run_prepared
from stress.families import BY_KEY, JGB_2026, families_of
from stress.io import FORMATS
from stress.kernels.scenarios import DETAIL
from stress.market import Market, MarketSource, as_market
from stress.output import MANIFEST, OutputSet, file_digest
from stress.prepare import Prepared, prepare_book
from stress.pricing import KEY_TENORS
from stress.resolve import resolve
from stress.result import SUMMARY_COLUMNS, SUMMARY_WORST, StressResult
from stress.risk import DEFAULT_LEVELS, var_es

if TYPE_CHECKING:
    from stress.reverse_stress import ReverseStress

#: Scenarios a report shows in full (curve shifts, contributors, per currency): all of them up
#: to DETAIL_ALL; beyond, the DETAIL_WORST worst of the run, the DETAIL_PER_FAMILY worst of
#: each family and the January 2026 episode.
DETAIL_ALL = 300
DETAIL_WORST = 100
DETAIL_PER_FAMILY = 20
#: Version of the report files; ``stress report`` reads sets of this version.
REPORT_VERSION = 1
#: Groupings every run sums by, for the report and the terminal's per-currency table.
REPORT_GROUPINGS = ("currency", "maturity_bucket")
#: Tenors at which reports show curve shifts.
REPORT_TENORS = ("3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y", "40Y", "50Y")
KEY_RATE_COLUMNS = tuple(f"kr_dv01_{k:g}y" for k in KEY_TENORS)

_WORST_NAMES = tuple(f"worst_{k + 1}" for k in range(SUMMARY_WORST))

#: Column types of each part; columns not named here are float64 (amounts, durations, ...).
SCHEMAS: dict[str, dict[str, Any]] = {
    "summary": {"scenario": pl.String, **dict.fromkeys(_WORST_NAMES, pl.String)},
    "by_currency": {"scenario": pl.String, "currency": pl.String},
    "by_maturity_bucket": {"scenario": pl.String, "maturity_bucket": pl.String},
    "worst": {"scenario": pl.String, "rank": pl.Int64, "position_id": pl.String},
    "scenarios": {c: pl.String for c in ("scenario", "family", "description", "source", "origin")}
    | {"gold_pct": pl.Float64},
    "curve_shifts": {"scenario": pl.String, "curve": pl.String, "tenor": pl.String},
    "fx_moves": {"scenario": pl.String, "currency": pl.String},
    "key_rate_dv01": {"currency": pl.String},
    "risk_by_family": {"family": pl.String, "tail": pl.Int64, "worst_scenario": pl.String},
    "reverse_stress": {"solution": pl.String, "factor": pl.String, "unit": pl.String},
}
#: The columns each part must have (the rest of its columns are kept as they are).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "summary": ("scenario", *SUMMARY_COLUMNS),
    "by_currency": ("scenario", "currency", *SUMMARY_COLUMNS),
    "by_maturity_bucket": ("scenario", "maturity_bucket", *SUMMARY_COLUMNS),
    "worst": ("scenario", "rank", "position_id", *DETAIL),
    "scenarios": ("scenario", "family", "description", "source", "origin", "gold_pct"),
    "curve_shifts": ("scenario", "curve", "tenor", "years", "shift_bp"),
    "fx_moves": ("scenario", "currency", "pct"),
    "key_rate_dv01": ("currency", "pv_base", "dv01", *KEY_RATE_COLUMNS),
    "risk_by_family": ("family", "level", "var", "es", "tail", "worst_scenario"),
    "reverse_stress": ("solution", "factor", "unit", "move", "z", "distance", "pnl"),
}
#: Parts a set may lack: no generated scenarios, no reverse stress.
OPTIONAL = ("risk_by_family", "reverse_stress")


class ReportError(ValueError):
    """A report that cannot be made from what it was given (an incomplete output set, a
    reverse-stress frame without its columns, no charting library)."""


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows. ``header``: the run's facts (book, positions, market date,
    base currency, scenario set, when and how long it ran); the frames are described in the
    module docstring."""

    header: dict[str, Any]
    summary: pl.DataFrame
    by_currency: pl.DataFrame
    by_maturity_bucket: pl.DataFrame
    worst: pl.DataFrame
    scenarios: pl.DataFrame
    curve_shifts: pl.DataFrame
    fx_moves: pl.DataFrame
    key_rate_dv01: pl.DataFrame
    risk_by_family: pl.DataFrame
    reverse_stress: pl.DataFrame | None = None

    @property
    def base_currency(self) -> str:
        return str(self.header["base_currency"])

    def frames(self) -> dict[str, pl.DataFrame]:
        """The parts by name (``reverse_stress`` only when present)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "header"}
        return {k: v for k, v in out.items() if v is not None}

    def with_reverse(self, frame: pl.DataFrame | None) -> ReportData:
        """The same data with a reverse-stress result (checked by ``check_reverse``)."""
        return replace(self, reverse_stress=None if frame is None else check_reverse(frame))


def normalize(part: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the column types of ``part``: named types, float64 for the rest."""
    _check_columns(part, frame)
    schema = SCHEMAS[part]
    return frame.select(
        pl.col(c).cast(schema.get(c, pl.Float64), strict=False) for c in frame.columns
    )


def _check_columns(part: str, frame: pl.DataFrame) -> None:
    """Refuse a ``part`` frame without one of its REQUIRED_COLUMNS, naming them."""
    missing = [c for c in REQUIRED_COLUMNS[part] if c not in frame.columns]
    if missing:
        raise ReportError(f"{part}: missing column(s) {', '.join(missing)}")


def check_reverse(frame: pl.DataFrame) -> pl.DataFrame:
    """A reverse-stress result, for reports: one row per factor move of each solution.

    Columns: ``factor`` (text, e.g. ``JPY.10Y`` or ``FX.JPY``) and ``move`` (number) are
    required; ``unit`` (``bp`` or ``%``, default empty), ``z`` (the move in standard
    deviations), ``solution`` (a label, default ``reverse stress``; several solutions, e.g.
    one per target loss, form a frontier), ``distance`` (how implausible the solution is, e.g.
    its Mahalanobis distance) and ``pnl`` (the book's P&L in the solution, base currency) are
    optional; distance and P&L hold one value per solution. ``stress.reverse`` results
    convert with ``reverse_frame``.
    """
    missing = [c for c in ("factor", "move") if c not in frame.columns]
    if missing:
        raise ReportError(
            f"reverse stress: missing column(s) {', '.join(missing)}; expected factor, move "
            "and optionally unit, z, solution, distance, pnl"
        )
    defaults = {"solution": "reverse stress", "unit": "", "z": None, "distance": None,
                "pnl": None}  # fmt: skip
    out = frame.with_columns(
        pl.lit(v, dtype=SCHEMAS["reverse_stress"].get(c, pl.Float64)).alias(c)
        for c, v in defaults.items()
        if c not in frame.columns
    )
    try:
        out = out.with_columns(pl.col("move", "z", "distance", "pnl").cast(pl.Float64, strict=True))
        out = normalize("reverse_stress", out.select(REQUIRED_COLUMNS["reverse_stress"]))
    except (pl.exceptions.PolarsError, ReportError) as exc:
        raise ReportError(f"reverse stress: {exc}") from None
    per = out.group_by("solution").agg(pl.col("distance", "pnl").n_unique())
    if per.height and (per["distance"].max() > 1 or per["pnl"].max() > 1):  # type: ignore[operator]
        raise ReportError("reverse stress: distance and pnl must hold one value per solution")
    return out.with_columns(pl.col("solution", "unit").fill_null(""))


# --------------------------------------------------------------------------- from a run


def detailed_scenarios(
    names: Sequence[str], pnl: npt.ArrayLike, family: Sequence[str]
) -> list[str]:
    """The scenarios a report shows in full (see DETAIL_ALL), worst first."""
    p = np.asarray(pnl, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    ranked = [names[i] for i in order]
    if len(ranked) <= DETAIL_ALL:
        return ranked
    keep = set(ranked[:DETAIL_WORST])
    seen: dict[str, int] = {}
    for i in order:
        f = family[i]
        if seen.get(f, 0) < DETAIL_PER_FAMILY:
            keep.add(names[i])
            seen[f] = seen.get(f, 0) + 1
    keep.add(JGB_2026)
    return [n for n in ranked if n in keep]


def collect(
    result: StressResult,
    book: Book,
    *,
    prepared: Prepared | None = None,
    book_name: str | None = None,
    scenario_set: str = "",
    run_started: dt.datetime | None = None,
    run_seconds: float | None = None,
) -> ReportData:
    """The report data of ``result``, a run of ``book`` (grouped at least by
    ``REPORT_GROUPINGS``). A summary run finds the worst positions of its scenarios of lowest
    P&L only (``stress.run(worst_scenarios=...)``); with the ``prepared`` book the run was
    made on, they are found for every scenario the report shows in full too."""
    fill = None
    if prepared is not None:
        p = prepared

        def fill(wanted: list[str]) -> pl.DataFrame:
            return _fill_worst(result, p, wanted)

    return collect_parts(
        result,
        book.portfolio,
        book.market,
        book.currencies,
        book.position_currencies,
        key_rate_dv01(book),
        fill_worst=fill,
        book_name=book_name,
        scenario_set=scenario_set,
        run_started=run_started,
        run_seconds=run_seconds,
    )


def collect_parts(
    result: StressResult,
    portfolio: Portfolio,
    market: Market,
    currencies: Sequence[str],
    position_currencies: Sequence[str],
    key_rates: pl.DataFrame,
    *,
    fill_worst: Callable[[list[str]], pl.DataFrame] | None = None,
    book_name: str | None = None,
    scenario_set: str = "",
    run_started: dt.datetime | None = None,
    run_seconds: float | None = None,
) -> ReportData:
    """``collect`` from the pieces of a book rather than the book laid out: the valid
    ``portfolio``, its curves and position currencies, its ``key_rate_dv01`` table, and
    ``fill_worst(wanted)`` giving ``result.worst`` with the worst positions of the scenarios
    ``wanted`` (``detailed_scenarios``) it lacks (a run shard by shard finds them in its
    second pass)."""
    scen = result.scenarios
    for column in REPORT_GROUPINGS:
        result.by(column)  # raises, naming the grouping to request
    header = {
        "book": book_name or str(portfolio.source),
        "portfolio": str(portfolio.source),
        "positions": len(portfolio),
        "input_rows": portfolio.n_input_rows,
        "rejected_rows": len({p.row for p in portfolio.rejected}),
        "market": market.source,
        "valuation_date": market.valuation_date.isoformat(),
        "base_currency": market.base_currency,
        "scenario_set": scenario_set or _describe_set(scen.origins),
        "scenarios": len(scen),
        "run_started": (run_started or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "run_seconds": run_seconds,
        "stress_version": __version__,
    }
    shocks = resolve(scen, market, currencies, position_currencies)
    family = families_of(scen.names, scen.origins, scen.descriptions)
    names = np.array(scen.names, dtype=object)
    S = len(scen)
    scenarios = pl.DataFrame(
        {
            "scenario": list(scen.names),
            "family": family,
            "description": list(scen.descriptions),
            "source": list(scen.sources),
            "origin": list(scen.origins),
            "gold_pct": scen.gold_pct,
        },
        schema=SCHEMAS["scenarios"],
    )
    labels = REPORT_TENORS
    times = np.array([parse_tenor(x).time(market.valuation_date) for x in labels])
    C, T = len(currencies), len(labels)
    shift = (
        np.stack([shocks.shift_at(c, times) for c in currencies], axis=1)
        if C and S
        else np.zeros((S, C, T))
    )
    curve_shifts = pl.DataFrame(
        {
            "scenario": np.repeat(names, C * T),
            "curve": np.tile(np.repeat(np.array(currencies, dtype=object), T), S),
            "tenor": np.tile(np.array(labels, dtype=object), S * C),
            "years": np.tile(times, S * C),
            "shift_bp": shift.ravel(),
        },
        schema={**SCHEMAS["curve_shifts"], "years": pl.Float64, "shift_bp": pl.Float64},
    )
    others = [c for c in position_currencies if c != market.base_currency]
    F = len(others)
    fx_idx = [list(position_currencies).index(c) for c in others]
    fx_moves = pl.DataFrame(
        {
            "scenario": np.repeat(names, F),
            "currency": np.tile(np.array(others, dtype=object), S),
            "pct": ((shocks.fx_multiplier[:, fx_idx] - 1.0) * 100.0).ravel(),
        },
        schema={**SCHEMAS["fx_moves"], "pct": pl.Float64},
    )
    worst = result.worst
    if fill_worst is not None:
        worst = fill_worst(wanted_worst(result))
    frames = {
        "summary": result.summary,
        "by_currency": result.by("currency"),
        "by_maturity_bucket": result.by("maturity_bucket"),
        "worst": worst,
        "scenarios": scenarios,
        "curve_shifts": curve_shifts,
        "fx_moves": fx_moves,
        "key_rate_dv01": key_rates,
        "risk_by_family": generated_risk(result.summary, family),
    }
    return ReportData(header=header, **{k: normalize(k, v) for k, v in frames.items()})


def wanted_worst(result: StressResult) -> list[str]:
    """The scenarios whose worst positions the report shows (``detailed_scenarios``)."""
    scen = result.scenarios
    family = families_of(scen.names, scen.origins, scen.descriptions)
    return detailed_scenarios(scen.names, result.summary["pnl"].to_numpy(), family)


def combine_key_rates(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """``key_rate_dv01`` of a book from those of its shards (in shard order): the sums per
    currency added shard by shard."""
    if not parts:
        return pl.DataFrame()
    return (
        pl.concat(parts, rechunk=True)
        .group_by("currency", maintain_order=True)
        .agg(pl.exclude("currency").sum())
        .sort("currency")
    )


def _fill_worst(result: StressResult, prepared: Prepared, wanted: list[str]) -> pl.DataFrame:
    """``result.worst`` with the worst positions of the ``wanted`` scenarios it lacks, found
    by a run of those scenarios alone."""
    kept = result.raw.worst.shape[1]
    have = set(result.worst["scenario"].to_list())
    missing = [n for n in wanted if n not in have]
    if not missing or not kept or not prepared.book.n_positions:
        return result.worst
    scen = result.scenarios
    index = {n: i for i, n in enumerate(scen.names)}
    extra = run_prepared(
        prepared, scen.select([index[n] for n in missing]), worst=kept, worst_scenarios=None
    )
    return pl.concat([result.worst, extra.worst])


def _describe_set(origins: tuple[str, ...]) -> str:
    """A short name for a set of scenarios: library groups, file names, generators."""
    counts: dict[str, int] = {}
    for o in origins:
        if o.startswith("library:"):
            key = o[len("library:") :].removesuffix(".toml")
        elif o.startswith("generator:"):
            key = o[len("generator:") :]
        else:
            key = Path(o).name or o
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(counts)


def key_rate_dv01(book: Book) -> pl.DataFrame:
    """Per position currency, before any shock: PV, DV01 and key-rate DV01s in the base
    currency (the loss for a 1 bp rise of the zero curve, of each key rate)."""
    return key_rate_dv01_of(book_analytics(book))


def key_rate_dv01_of(table: pl.DataFrame) -> pl.DataFrame:
    """``key_rate_dv01`` from the positions' analytics (``book_analytics``)."""
    krd = [f"krd_{k:g}y" for k in KEY_TENORS]
    pv = pl.col("pv_base")
    # DV01 in the base currency and its split by key rate (a future's from its forward).
    dv01 = pl.col("dv01_base").fill_null(0.0)
    per_duration = (dv01 / pl.col("effective_duration")).fill_nan(0.0).fill_null(0.0)
    return (
        table.group_by("currency", maintain_order=True)
        .agg(
            pv.sum().alias("pv_base"),
            dv01.sum().alias("dv01"),
            *[
                (pl.col(k).fill_nan(0.0).fill_null(0.0) * per_duration).sum().alias(c)
                for k, c in zip(krd, KEY_RATE_COLUMNS, strict=True)
            ],
        )
        .sort("currency")
    )


def generated_risk(summary: pl.DataFrame, family: list[str]) -> pl.DataFrame:
    """VaR and ES (``stress.risk``'s rule, losses positive) over each generated family's
    scenarios, at the default levels; for a run of one generated set this is
    ``result.risk()``."""
    pnl = summary["pnl"].to_numpy()
    names = summary["scenario"].cast(pl.String).to_list()
    fam = np.array(family, dtype=object)
    rows = []
    for key in dict.fromkeys(family):
        if not BY_KEY[key].generated:
            continue
        idx = np.flatnonzero(fam == key)
        for level in DEFAULT_LEVELS:
            r = var_es(pnl[idx], level)
            rows.append(
                {
                    "family": key,
                    "level": level,
                    "var": r.var,
                    "es": r.es,
                    "tail": len(r.tail),
                    "worst_scenario": names[idx[r.tail[0]]],
                }
            )
    schema = {
        "family": pl.String,
        "level": pl.Float64,
        "var": pl.Float64,
        "es": pl.Float64,
        "tail": pl.Int64,
        "worst_scenario": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def run_report(
    portfolio: Portfolio | PositionSource,
    market: MarketSource,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    *,
    base_currency: str | None = None,
    book_name: str | None = None,
    scenario_set: str = "",
    worst: int = 10,
    skip_invalid: bool = False,
) -> tuple[StressResult, ReportData]:
    """Run ``scenarios`` on ``portfolio`` (as ``stress.run``, grouped by
    ``REPORT_GROUPINGS``) and collect the report data: the Python form of
    ``stress run --report``."""
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC)
    market = as_market(market).with_base(base_currency)
    portfolio = as_portfolio(portfolio, market, skip_invalid=skip_invalid)
    check_worst(worst, None)
    book = build_book(portfolio, market, skip_invalid=skip_invalid)
    scen = load_for(market, scenarios)
    prepared = prepare_book(book, scen.spread_attributes)
    result = run_prepared(prepared, scen, by=REPORT_GROUPINGS, worst=worst)
    data = collect(
        result,
        book,
        prepared=prepared,
        book_name=book_name,
        scenario_set=scenario_set,
        run_started=started,
        run_seconds=time.perf_counter() - t0,
    )
    return result, data


# --------------------------------------------------------------------------- output sets


def file_names(ext: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The file of each part in a set of format ``ext``."""
    return {part: f"{part}.{ext}" for part in SCHEMAS} | dict(extra or {})


def write(data: ReportData, files: OutputSet, ext: str, written: set[str]) -> dict[str, Any]:
    """Write the parts of ``data`` not yet in the set (``written``: the file names already
    there, e.g. ``summary.parquet``) and return the manifest's ``report`` entry."""
    names = file_names(ext)
    parts: dict[str, str] = {}
    for part, frame in data.frames().items():
        if part in OPTIONAL and frame.is_empty():
            continue
        name = names[part]
        if name not in written:
            files.write(frame, name)
            written.add(name)
        parts[part] = name
    # The files' digests: a report of the set reads the files this run wrote, not one copied
    # in from another run (the figures of another book under this book's name).
    digests = {part: files.digest(name) for part, name in parts.items()}
    return {"version": REPORT_VERSION, "header": data.header, "files": parts,
            "sha256": digests}


def read(directory: str | Path) -> ReportData:
    """The report data of the output set in ``directory`` (``stress run --out``).

    Raises:
        ReportError: the directory is not a complete output set with report data.
    """
    directory = Path(directory)
    rerun = f"run `stress run --out {directory}` to write one"
    if not directory.is_dir():
        what = "a file, not a directory" if directory.exists() else "no such directory"
        raise ReportError(f"{directory}: {what}; give the --out directory of a run")
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(
            f"{directory}: not a stress output set (no {MANIFEST}); {rerun}"
        ) from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{directory / MANIFEST}: unreadable ({exc}); {rerun}") from None
    entry = manifest.get("report") if isinstance(manifest, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict):
        raise ReportError(
            f"{directory}: this output set has no report data (written by an older stress); {rerun}"
        )
    if entry.get("version") != REPORT_VERSION:
        raise ReportError(
            f"{directory}: report data of version {entry.get('version')!r}; this stress reads "
            f"version {REPORT_VERSION}; {rerun}"
        )
    files: dict[str, str] = entry["files"]
    digests = entry.get("sha256")
    frames: dict[str, pl.DataFrame] = {}
    for part in SCHEMAS:
        name = files.get(part)
        if name is None:
            if part in OPTIONAL:
                continue
            raise ReportError(f"{directory}: incomplete output set: no {part} file; {rerun}")
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ReportError(f"{directory / MANIFEST}: report file of {part}: got {name!r}; "
                              f"expected the name of a file in the set; {rerun}")
        path = directory / name
        if not path.is_file():
            raise ReportError(f"{directory}: incomplete output set: {name} is missing; {rerun}")
        # Sets written before the digests were kept have none to check.
        if isinstance(digests, dict) and digests.get(part) != file_digest(path):
            raise ReportError(f"{path}: not the file this set's run wrote (its content has "
                              f"changed since: a file of another run?); {rerun}")
        try:
            frames[part] = _read_part(part, _read_frame(path))
        except ReportError as exc:
            raise ReportError(f"{path}: {exc}") from None
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ReportError(f"{path}: unreadable ({exc}); {rerun}") from None
    if "risk_by_family" not in frames:
        frames["risk_by_family"] = generated_risk(frames["summary"].head(0), [])
    header = entry.get("header")
    if not isinstance(header, dict) or "base_currency" not in header:
        raise ReportError(f"{directory / MANIFEST}: report entry without its header; {rerun}")
    for key, kinds in HEADER_TYPES.items():
        value = header.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise ReportError(f"{directory / MANIFEST}: report header {key!r}: got {value!r}; "
                              f"expected {' or '.join(k.__name__ for k in kinds)}; {rerun}")
    n = header.get("scenarios")
    if isinstance(n, int) and frames["summary"].height != n:
        raise ReportError(f"{directory / files['summary']}: {frames['summary'].height} "
                          f"scenarios where the run had {n} (a file cut short?); {rerun}")
    return ReportData(header=header, **frames)


#: Types of the header fields a report computes with (the others are shown as text).
HEADER_TYPES: dict[str, tuple[type, ...]] = {
    "positions": (int,), "rejected_rows": (int,), "scenarios": (int,),
    "run_seconds": (int, float),
}  # fmt: skip


def _read_part(part: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A part read from a file, held to what a run writes (``normalize`` converts a run's own
    frames): every value of its type, with the row of the first that is not; no missing key,
    family or P&L; P&Ls finite. A hand-edited or damaged file would otherwise show a blank or
    a NaN as a scenario's P&L, and rank it."""
    _check_columns(part, frame)
    schema = SCHEMAS[part]
    out = {}
    for c in frame.columns:
        dtype = schema.get(c, pl.Float64)
        col = frame[c].str.strip_chars() if frame[c].dtype == pl.String and dtype != pl.String \
            else frame[c]  # fmt: skip
        try:
            out[c] = col.cast(dtype, strict=True)
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
            bad = col.cast(dtype, strict=False).is_null() & col.is_not_null()
            row = int(bad.arg_max() or 0)
            raise ReportError(f"column {c!r}, row {row + 1}: got {frame[c][row]!r}; expected "
                              f"{'a number' if dtype.is_numeric() else dtype}") from None
    checked = pl.DataFrame(out)
    keys = [c for c in REQUIRED_COLUMNS[part] if schema.get(c) == pl.String and c != "source"
            and c != "description"] + [c for c in checked.columns if c.startswith("pnl")]
    for c in keys:
        missing = checked[c].is_null()
        if missing.any():
            raise ReportError(f"column {c!r}, row {int(missing.arg_max() or 0) + 1}: empty; "
                              "expected a value")
    for c in checked.columns:
        if c.startswith("pnl"):
            bad = ~checked[c].is_finite()
            if bad.any():
                row = int(bad.arg_max() or 0)
                raise ReportError(f"column {c!r}, row {row + 1}: got {checked[c][row]}; "
                                  "expected a finite amount")
    if "family" in checked.columns:
        unknown = ~checked["family"].is_in(list(BY_KEY))
        if unknown.any():
            row = int(unknown.arg_max() or 0)
            raise ReportError(f"column 'family', row {row + 1}: got {checked['family'][row]!r}; "
                              f"expected one of {', '.join(BY_KEY)}")
    return checked


def _read_frame(path: Path) -> pl.DataFrame:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; expected .parquet or .csv")
    if fmt == "parquet":
        return read_parquet_bytes(path.read_bytes())
    # Every column as text first: types come from the part's schema, not from guessing.
    return pl.read_csv(path, infer_schema=False)


def reverse_frame(result: ReverseStress) -> pl.DataFrame:
    """A ``stress.reverse`` result as a reverse-stress frame (``check_reverse``): one solution,
    labelled by its loss."""
    label = f"loss {result.loss:,.0f} {result.base_currency}"
    return check_reverse(
        result.moves.select("factor", "move", "unit", "z").with_columns(
            pl.lit(label).alias("solution"),
            pl.lit(result.distance).alias("distance"),
            pl.lit(result.pnl).alias("pnl"),
        )
    )


def read_reverse(path: Path) -> pl.DataFrame:
    """A reverse-stress result: a CSV or Parquet file (``check_reverse``), or the directory
    ``stress reverse --out`` wrote (its moves, and its loss, P&L and distance)."""
    try:
        if path.is_dir():
            return _read_reverse_set(path)
        frame = _read_frame(path)
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise ReportError(f"{path}: unreadable ({exc})") from None
    try:
        return check_reverse(frame)
    except ReportError as exc:
        raise ReportError(f"{path}: {exc}") from None


def _read_reverse_set(directory: Path) -> pl.DataFrame:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        facts = {k: float(manifest[k]) for k in ("loss", "pnl", "distance")}
        base = str(manifest.get("base_currency", ""))
        moves = _read_frame(directory / "moves.csv")
    except (KeyError, TypeError, FileNotFoundError):
        raise ReportError(
            f"{directory}: not a reverse-stress output set (stress reverse --out writes "
            f"{MANIFEST} with loss, pnl and distance, and moves.csv)"
        ) from None
    label = f"loss {facts['loss']:,.0f} {base}".strip()
    frame = moves.with_columns(
        pl.lit(label).alias("solution"),
        pl.lit(facts["distance"]).alias("distance"),
        pl.lit(facts["pnl"]).alias("pnl"),
    )
    try:
        return check_reverse(frame)
    except ReportError as exc:
        raise ReportError(f"{directory}: {exc}") from None


def read_reverses(paths: Sequence[Path]) -> pl.DataFrame:
    """Several reverse-stress results as one frame (e.g. one per loss: a frontier); a label
    seen before gets its file's name added."""
    frames = []
    seen: set[str] = set()
    for path in paths:
        frame = read_reverse(path)
        labels = frame["solution"].unique(maintain_order=True).to_list()
        renamed = {x: f"{x} ({path.name})" if x in seen else x for x in labels}
        seen |= set(renamed.values())
        frames.append(frame.with_columns(pl.col("solution").replace(renamed)))
    return pl.concat(frames)
