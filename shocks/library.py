"""The built-in scenario library (TOML files in ``shocks/library/``) and ``load``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from shocks.history import HistoryLike
from shocks.model import ScenarioSet, concat
from shocks.parquet import read_parquet
from shocks.parse import ScenarioError, read_toml

ScenarioSource = str | Path | ScenarioSet


@cache
def _library() -> ScenarioSet:
    root = resources.files("shocks") / "library"
    files = sorted(p.name for p in root.iterdir() if p.name.endswith(".toml"))
    return concat([read_toml(Path(str(root / f)), origin=f"library:{f}") for f in files])


def library() -> pl.DataFrame:
    """The built-in scenarios: name, description, source and the library file (group)."""
    lib = _library()
    return (
        lib.frame()
        .with_columns(
            pl.col("origin").str.strip_prefix("library:").str.strip_suffix(".toml").alias("group")
        )
        .drop("origin")
    )


def load(
    source: ScenarioSource | Sequence[ScenarioSource], history: HistoryLike | None = None
) -> ScenarioSet:
    """Scenarios from a built-in name, a library group (``historical``, ``irrbb``, ...),
    ``"all"`` for the whole library, a TOML or Parquet (``.parquet``) path, a ScenarioSet, or a
    list of any of these. ``history`` serves TOML scenarios with a ``[scenario.predict]`` table
    (default: the bundled history)."""
    if isinstance(source, str | Path | ScenarioSet):
        return _one(source, history)
    if not isinstance(source, Iterable):
        raise ScenarioError(f"scenarios: got {source!r}; expected built-in names or groups, "
                            "TOML or Parquet paths, a ScenarioSet, or a list of these")
    sets = [_one(s, history) for s in source]
    if not sets:
        raise ScenarioError("no scenarios given")
    try:
        return concat(sets)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


def _one(source: ScenarioSource, history: HistoryLike | None = None) -> ScenarioSet:
    if isinstance(source, ScenarioSet):
        return source
    lib = _library()
    key = str(source)
    if key == "all":
        return lib
    if key in lib.names:
        return lib.select([lib.names.index(key)])
    group = [i for i, o in enumerate(lib.origins) if o == f"library:{key}.toml"]
    if group:
        return lib.select(group)
    path = Path(source)
    if not key.strip():
        # Path("") is the current directory, read as a TOML file that is a directory.
        raise ScenarioError(f"scenarios: got {key!r}; expected a built-in name or group, or a "
                            "TOML or Parquet path")
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet(path)
    if path.suffix.lower() == ".toml" or path.exists():
        return read_toml(path, history=history)
    groups = sorted({o[8:-5] for o in lib.origins})
    raise ScenarioError(
        f"{key!r} is neither a scenario file nor a built-in scenario; built-in groups: "
        f"{', '.join(groups)} (or 'all'); see `stress scenarios` for the names"
    )
