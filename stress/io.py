"""Writing result frames: Parquet or CSV, atomically (no half-written file after a crash)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

FORMATS = ("parquet", "csv")


class OutputError(ValueError):
    """Results that cannot be written where or how they were asked for."""


def write_frame(frame: pl.DataFrame, path: Path, fmt: str | None = None) -> Path:
    """Write ``frame`` to ``path`` (format from ``fmt`` or the suffix) via a temporary file in
    the same directory and an atomic rename."""
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise OutputError(f"{path}: unknown output format {fmt!r}; expected .parquet or .csv")
    try:
        tmp = _temporary_beside(path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({os_reason(exc, path)})") from None

    def write(to: str) -> None:
        if fmt == "parquet":
            frame.write_parquet(to)
        else:
            # CSV has no categorical type: write the labels.
            frame.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String)).write_csv(to)

    _put_in_place(tmp, path, write)
    return path


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and an atomic
    rename, readable by all as a file written in place would be; OSError as the OS raises it."""

    def write(to: str) -> None:
        Path(to).write_bytes(data)
        os.chmod(to, 0o644)

    _put_in_place(_temporary_beside(path), path, write)


def _temporary_beside(path: Path) -> str:
    """An empty temporary file in ``path``'s directory (made if missing), named after it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return tmp


def _put_in_place(tmp: str, path: Path, write: Callable[[str], None]) -> None:
    """``write`` the temporary file ``tmp``, then rename it onto ``path``; on any failure
    remove it, so no half-written file is left at either name."""
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def os_reason(exc: OSError, path: Path) -> str:
    """The OS's reason, naming the directory that is not one (mkdir's "File exists")."""
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            return f"{parent} is a file, not a directory"
    return exc.strerror or str(exc)
