"""The benchmark suite runs at a tiny size and its accuracy checks pass (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import run_suite
from benchmarks.suite import NUMPY_TOL, QUANTLIB_PRICE_TOL, QUANTLIB_RISK_TOL


def test_suite_runs_and_writes_its_outputs(tmp_path: Path) -> None:
    results = run_suite(
        sizes=[(50, 3)],
        repeats=1,
        quantlib_sample=(5, 2),
        out_dir=tmp_path,
        isolate=False,
        cold_start=False,
        mixed=(40, 3),
    )
    assert results["mixed"]["summary"]["seconds"] > 0
    cases = results["cases"]
    assert {c["mode"] for c in cases} == {"summary", "positions"}
    assert all(c["bonds"] == 50 and c["scenarios"] == 3 and c["seconds"] > 0 for c in cases)
    assert all(c["ratio_quantlib"] > 0 and c["ratio_numpy"] > 0 for c in cases)
    # The baselines reprice the same bonds as the engine (the suite raises otherwise).
    ql = results["baselines"]["quantlib"]
    assert ql["sample"] == [5, 2] and ql["note"] == "sampled, extrapolated"
    assert ql["max_rel_price_diff"] < QUANTLIB_PRICE_TOL
    assert max(ql["max_rel_duration_diff"], ql["max_rel_convexity_diff"]) < QUANTLIB_RISK_TOL
    np_check = results["baselines"]["numpy"]["50"]
    assert max(np_check["max_rel_price_diff"], np_check["max_rel_risk_diff"]) < NUMPY_TOL
    assert results["what_if"]["scenarios"] > 0 and results["what_if"]["run_ms"] > 0
    assert {t["target"].split()[0] for t in results["targets"]} >= {"positions", "summary"}
    written = json.loads((tmp_path / "results.json").read_text())
    assert len(written["cases"]) == 2
    table = (tmp_path / "results.md").read_text()
    assert "x QuantLib" in table and "| target |" in table
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"
