"""Test configuration: hypothesis profiles and the QuantLib oracle as a fixture.

Profiles, chosen with the environment variable ``HYPOTHESIS_PROFILE``:

- ``dev`` (default): random examples, as many as each test asks for (``examples(n)``).
- ``ci``: derandomized (the same examples on every run), no deadline, no example database,
  so a CI run is deterministic. ``.ci/run`` selects it.
- ``explore``: random, with ``STRESS_EXPLORE`` (default 20) times the examples each test asks
  for. Run it before you stop; a failure it finds becomes an ``@example`` regression.

The packages' own ``StressWarning`` and ``HistoryWarning`` are errors in every test
(``pyproject.toml``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_COMMON)
settings.register_profile("explore", **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def qlref() -> ModuleType:
    """The QuantLib oracle (``tests/qlref.py``); tests that use it skip without QuantLib."""
    pytest.importorskip("QuantLib")
    from tests import qlref as module

    return module


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """One local Dask cluster for the session: 2 worker processes of 1 thread each, bound to
    the loopback interface, no dashboard (``stress.cluster.local_cluster``)."""
    distributed = pytest.importorskip("distributed")
    from stress.cluster import local_cluster

    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`stress run --report r.html --out out/` on the bundled defaults (the macro book, the
    bundled market, the whole library), once per session: the report and the output set."""
    pytest.importorskip("plotly", reason="the HTML report needs plotly: stress[report]")
    from stress.cli import main

    root = tmp_path_factory.mktemp("bundled")
    paths = {"html": root / "report.html", "out": root / "out"}
    code = main(["run", "--report", str(paths["html"]), "--out", str(paths["out"])])
    assert code == 0
    return paths
