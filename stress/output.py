"""Output sets: the files of one run appear in their directory whole, or not at all.

A run's files are written into a hidden temporary directory beside the target, with a manifest
written last, then swapped in with one rename (Linux ``renameat2(RENAME_EXCHANGE)`` when the
target exists: readers never see a mix of two runs, nor a half-written file). A kill at any
moment leaves the previous set intact; the temporary directory of a killed run is removed by
the next run into the same target. A target that holds anything but an earlier output set is
refused rather than replaced.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from stress.io import OutputError, write_frame

MANIFEST = "manifest.json"
_TMP_TAG = ".stress-tmp-"
_RENAME_EXCHANGE = 2  # linux/fs.h


class OutputSet:
    """Write files into ``target`` as one set::

        with OutputSet(Path("results")) as out:
            out.write(summary, "summary.parquet")
            out.commit({"scenarios": 43})
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.files: list[str] = []
        self._tmp: Path | None = None
        if target.exists() and not target.is_dir():
            raise OutputError(f"{target}: exists and is not a directory; --out needs a directory")
        if target.is_dir() and any(target.iterdir()):
            foreign = _foreign(target)
            if foreign:
                raise OutputError(
                    f"{target}: the directory holds files that are not a stress output set "
                    f"({foreign}); give a new or empty directory, or one an earlier run wrote "
                    "(it is replaced whole)"
                )

    def __enter__(self) -> OutputSet:
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._remove_stale(parent)
            self._tmp = Path(tempfile.mkdtemp(prefix=self._prefix, dir=parent))
        except OSError as exc:
            raise OutputError(f"{self.target}: cannot write results here ({exc.strerror})") from exc
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Whatever happened (an error, Ctrl-C, SIGTERM), no half set is left behind.
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def write(self, frame: pl.DataFrame, name: str, fmt: str | None = None) -> Path:
        """Write ``frame`` as ``name`` in the set; returns its final path."""
        if self._tmp is None:
            raise RuntimeError("OutputSet.write outside its with-block")
        write_frame(frame, self._tmp / name, fmt)
        self.files.append(name)
        return self.target / name

    def write_text(self, text: str, name: str) -> Path:
        """Write ``text`` (UTF-8) as ``name`` in the set; returns its final path."""
        if self._tmp is None:
            raise RuntimeError("OutputSet.write_text outside its with-block")
        (self._tmp / name).write_text(text, encoding="utf-8")
        self.files.append(name)
        return self.target / name

    def digest(self, name: str) -> str:
        """The SHA-256 of the set's file ``name`` as written (before the commit)."""
        if self._tmp is None:
            raise RuntimeError("OutputSet.digest outside its with-block")
        return file_digest(self._tmp / name)

    def link(self, source: Path, names: list[str], directory: str) -> Path:
        """Put the files ``names`` of ``source`` into the set's ``directory`` (hard links:
        no copy, and ``source`` keeps them until the set is committed); returns its final
        path."""
        if self._tmp is None:
            raise RuntimeError("OutputSet.link outside its with-block")
        link_files(source, names, self._tmp / directory)
        self.files.append(f"{directory}/")
        return self.target / directory

    def commit(self, meta: dict[str, Any]) -> None:
        """Write the manifest and swap the set in."""
        if self._tmp is None:
            raise RuntimeError("OutputSet.commit outside its with-block")
        manifest = {
            "files": self.files,
            "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **meta,
        }
        (self._tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        try:
            if not self.target.exists():
                os.rename(self._tmp, self.target)
                self._tmp = None
                return
            if not _exchange(self._tmp, self.target):
                # No atomic exchange here: move the old set aside first, so a kill between the
                # two renames leaves the old set complete beside the target, never a mix.
                aside = Path(tempfile.mkdtemp(prefix=self._prefix, dir=self.target.parent))
                os.rename(self.target, aside / "old")
                os.rename(self._tmp, self.target)
                self._tmp = aside
        except OSError as exc:
            raise OutputError(f"{self.target}: cannot write results here ({exc.strerror})") from exc

    @property
    def _prefix(self) -> str:
        return f".{self.target.name}{_TMP_TAG}{os.getpid()}-"

    def _remove_stale(self, parent: Path) -> None:
        """Temporary directories left by killed runs into the same target (their process is
        gone; a run still going keeps its own)."""
        stem = f".{self.target.name}{_TMP_TAG}"
        for p in parent.iterdir():
            if not p.name.startswith(stem):
                continue
            pid = p.name[len(stem) :].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)


def file_digest(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _foreign(target: Path) -> str:
    """What in ``target`` no earlier output set wrote ("" when it is one): a set is replaced
    whole, so a directory that merely holds a file named manifest.json (a web app's), or a
    set with a file added by hand, would lose what is not the set's."""
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        listed = manifest["files"]
        if not isinstance(listed, list):
            raise TypeError
        names = {str(f).rstrip("/") for f in listed}
    except FileNotFoundError:
        return f"no {MANIFEST}"
    except (OSError, ValueError, TypeError, KeyError):
        return f"its {MANIFEST} is not a stress output set's"
    extra = sorted(p.name for p in target.iterdir()
                   if p.name not in names | {MANIFEST} and not _os_metadata(p.name))
    if not extra:
        return ""
    shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
    return f"{shown} not listed in its {MANIFEST}"


def _os_metadata(name: str) -> bool:
    """A file an operating system or file server puts in any folder it shows or serves
    (Finder's .DS_Store on opening the folder): it goes with the set it sits in."""
    return name in (".DS_Store", "Thumbs.db", "desktop.ini") or name.startswith((".nfs", "._"))


def link_files(source: Path, names: list[str], directory: Path) -> None:
    """Hard-link (or, across file systems, copy) the files ``names`` of ``source`` into
    ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            os.link(source / name, directory / name)
        except OSError:
            shutil.copy2(source / name, directory / name)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(done == 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
