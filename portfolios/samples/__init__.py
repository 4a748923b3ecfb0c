"""Bundled sample books (CSV files beside this module)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_names() -> list[str]:
    """Names of the bundled sample books."""
    return sorted(
        p.name[:-4] for p in resources.files(__name__).iterdir() if p.name.endswith(".csv")
    )


def sample_path(name: str) -> Path:
    """Path of a bundled sample book, e.g. ``sample_path("global_macro")``."""
    if name not in sample_names():
        raise KeyError(f"no sample book {name!r}; available: {', '.join(sample_names())}")
    return Path(str(resources.files(__name__) / f"{name}.csv"))
