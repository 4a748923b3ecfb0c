"""The benchmark suite runs at a tiny size and its accuracy checks pass (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import run_suite


def test_suite_runs_and_writes_its_outputs(tmp_path: Path) -> None:
    results = run_suite([(40, 3)], repeats=1, quantlib_sample=(5, 2), out_dir=tmp_path,
                        isolate=False, cold_start=False, what_if=False)
    modes = {c["mode"] for c in results["cases"]}
    assert modes == {"summary", "positions"}
    # The baselines reprice the same bonds as the engine (the suite raises otherwise).
    assert results["baselines"]["quantlib"]["max_rel_price_diff"] < 1e-8
    assert results["baselines"]["numpy"]["40"]["max_rel_price_diff"] < 1e-10
    assert json.loads((tmp_path / "results.json").read_text())["cases"]
    assert "x QuantLib" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "scaling.png").stat().st_size > 0
