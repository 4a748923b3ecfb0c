"""Scenario families: how reports group scenarios, read from where each one came from.

A scenario's family follows from its origin (``ScenarioSet.origins``: ``library:<group>.toml``
for the built-in library, ``generator:<name>`` for generated sets, ``generator:<name> (<file>)``
for one read back from a Parquet file, a file path for the user's own TOML) and, inside the
January 2026 library group, from its name and description: the episode itself
(``jgb_meltdown_2026``) apart from the continuations whose descriptions say they are
hypothetical. Families are shown in a fixed order, the January 2026 episode first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

#: The January 2026 JGB episode: reports always show it when the run has it.
JGB_2026 = "jgb_meltdown_2026"


@dataclass(frozen=True)
class Family:
    key: str
    label: str
    #: Generated sets (many scenarios drawn from data or a model): reports show their
    #: distribution, VaR and ES rather than every scenario.
    generated: bool = False


FAMILIES = (
    Family("jgb_2026", "January 2026 JGB episode"),
    Family("hypothetical", "Hypothetical continuations"),
    Family("predictive", "Predictive stress"),
    Family("historical", "Historical episodes"),
    Family("irrbb", "Regulatory IRRBB"),
    Family("parallel", "Parallel grid"),
    Family("library", "Other built-in scenarios"),
    Family("historical_simulation", "Historical simulation", generated=True),
    Family("monte_carlo", "Monte Carlo", generated=True),
    Family("generated", "Other generated sets", generated=True),
    Family("user", "User files"),
)
BY_KEY = {f.key: f for f in FAMILIES}
ORDER = {f.key: i for i, f in enumerate(FAMILIES)}

_LIBRARY_GROUPS = {"historical": "historical", "irrbb": "irrbb", "parallel_grid": "parallel"}
_GENERATORS = {
    "parallel_grid": "parallel",
    "historical": "historical_simulation",
    "historical_simulation": "historical_simulation",
    "monte_carlo": "monte_carlo",
    "mc": "monte_carlo",
    "predict": "predictive",
}
#: ``generator:<name>``, possibly followed by the file it was read back from: ``generator:
#: historical (hist.parquet)``.
_GENERATOR = re.compile(r"^generator:([A-Za-z0-9_.-]*)")
_HYPOTHETICAL = re.compile(r"\bhypothetical\b", re.IGNORECASE)
_WINDOW = re.compile(r"^hist_(\d{4}-\d{2}-\d{2})_(\d+)d$")


def family_of(name: str, origin: str, description: str = "") -> str:
    """The family key of one scenario (a key of ``BY_KEY``)."""
    if origin.startswith("library:"):
        group = origin[len("library:") :].removesuffix(".toml")
        if group == "jgb_2026":
            if name == JGB_2026 or not _HYPOTHETICAL.search(description):
                return "jgb_2026"
            return "hypothetical"
        return _LIBRARY_GROUPS.get(group, "library")
    m = _GENERATOR.match(origin)
    if m:
        return _GENERATORS.get(m.group(1), "generated")
    return "user"


def families_of(
    names: Sequence[str], origins: Sequence[str], descriptions: Sequence[str]
) -> list[str]:
    """``family_of`` for every scenario of a set."""
    return [family_of(n, o, d) for n, o, d in zip(names, origins, descriptions, strict=True)]


def window_end(name: str) -> dt.date | None:
    """The end date of a historical window named ``hist_<YYYY-MM-DD>_<N>d``, else None."""
    m = _WINDOW.match(name)
    if m is None:
        return None
    try:
        return dt.date.fromisoformat(m.group(1))
    except ValueError:
        return None
