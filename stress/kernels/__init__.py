"""numba kernels: plain loops over flat arrays into preallocated outputs.

Kernels import nothing of the project. Their public wrappers (in ``stress.pricing`` and
``stress.engine``) check shapes and allocate; the kernels only compute.

numba caches compiled kernels beside their source by default. For a regular install that is
site-packages, where ``pip uninstall`` (or ``pip install -e`` over it) leaves the cache files
behind as a bare ``stress`` directory, which Python then imports in place of a later editable
install. A regular install therefore caches in the user's cache directory; ``NUMBA_CACHE_DIR``,
when set, wins, and a source tree keeps numba's default.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path

import numba


def cache_dir(here: Path, site_dirs: Iterable[Path], env: Mapping[str, str]) -> Path | None:
    """Where kernels at ``here`` should cache (None: numba's default)."""
    if env.get("NUMBA_CACHE_DIR") or not any(s in here.parents for s in site_dirs):
        return None
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "stress" / "numba"


_site = {Path(p).resolve() for k, p in sysconfig.get_paths().items() if k in ("purelib", "platlib")}
_dir = cache_dir(Path(__file__).resolve(), _site, os.environ)
if _dir is not None:
    # Read when each kernel's cache is set up (at decoration), so it must precede the kernels.
    numba.config.CACHE_DIR = str(_dir)  # type: ignore[attr-defined]  # set from env, untyped
