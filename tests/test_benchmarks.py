"""The benchmark suite runs at a tiny size and its accuracy checks pass (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from benchmarks import baselines, report, run_suite, suite, workloads
from benchmarks.measure import PLAIN_TOL, WARM_UP_SCENARIOS, engine_case
from benchmarks.suite import NUMPY_TOL, QUANTLIB_PRICE_TOL, QUANTLIB_RISK_TOL, SESSION_TOL
from stress.prepare import prepare
from stress.resolve import resolve


def test_suite_runs_and_writes_its_outputs(tmp_path: Path) -> None:
    results = run_suite(
        sizes=[(60, 3)],
        repeats=1,
        quantlib_sample=(5, 2),
        out_dir=tmp_path,
        isolate=False,
        cold_start=False,
        mixed=(40, 3),
        session_size=(60, 3),
        batch=(60, 3),
    )
    assert results["mixed"]["summary"]["seconds"] > 0
    assert results["batch"]["seconds"] > 0 and results["batch"]["peak_rss_mb"] > 50
    cases = results["cases"]
    assert {(c["workload"], c["mode"]) for c in cases} == {
        (w, m) for w in ("dense", "month-end") for m in ("summary", "positions")
    }
    assert all(c["bonds"] == 60 and c["scenarios"] == 3 and c["seconds"] > 0 for c in cases)
    assert all(c["nodes"] > 0 and c["cashflows"] >= c["nodes"] for c in cases)
    assert all(
        c["ratio_quantlib_price_only"] > 0 and c["ratio_quantlib"] > c["ratio_quantlib_price_only"]
        for c in cases
    )
    assert all(c["ratio_numpy"] > 0 and c["ratio_plain_numba"] > 0 for c in cases)
    # The plain numba baseline ran on every case and was checked against the engine (the case
    # raises otherwise), on the same nodes.
    for c in cases:
        plain = c["plain_numba"]
        assert plain["checked"] and plain["nodes"] == c["nodes"]
        assert set(plain["max_rel_diff"]) == {"pv", "duration", "convexity"}
        assert max(plain["max_rel_diff"].values()) < PLAIN_TOL
    for w in ("dense", "month-end"):
        base = results["baselines"][w]
        ql = base["quantlib"]
        assert ql["checked"] and ql["sample"] == [5, 2] and ql["note"] == "sampled, extrapolated"
        assert ql["max_rel_price_diff"] < QUANTLIB_PRICE_TOL
        assert max(ql["max_rel_duration_diff"], ql["max_rel_convexity_diff"]) < QUANTLIB_RISK_TOL
        np_check = base["numpy"]["60"]
        assert np_check["checked"]
        assert max(np_check["max_rel_price_diff"], np_check["max_rel_risk_diff"]) < NUMPY_TOL
        assert results["workloads"][w]["nodes"]["60"] > 0
    assert results["what_if"]["scenarios"] > 0 and results["what_if"]["run_ms"] > 0
    sw = results["session_what_if"]
    assert sw["checked"] and sw["max_rel_pnl_diff"] < SESSION_TOL
    assert sw["frame_ms"] > 0 and sw["loaded_ms"] > 0
    targets = {t["target"]: t for t in results["targets"]}
    assert any(t.startswith("positions 10k x 1k (dense) >= 300x QuantLib") for t in targets)
    assert any(t.startswith("summary 10k x 10k (dense) >= 3,000x QuantLib") for t in targets)
    assert any(t.startswith("summary 1M x 10k (dense) end to end < 60 s") for t in targets)
    plain_target = targets["engine no slower than the plain numba baseline on any case, both modes"]
    assert plain_target["met"] is not None and "of 4 cases" in plain_target["value"]
    # Targets at sizes not run are reported, never failed; the session's is n/a at this size.
    assert all(t["met"] is None for t in targets.values() if t["value"] is None)
    assert all(
        t["met"] is None and "measured on 60 x 3" in t["value"]
        for name, t in targets.items()
        if name.startswith("Session.what_if")
    )
    written = json.loads((tmp_path / "results.json").read_text())
    assert len(written["cases"]) == 4
    table = (tmp_path / "results.md").read_text()
    assert "### dense (headline)" in table and "### month-end" in table
    assert "x plain numba" in table and "x QuantLib (price only)" in table
    assert "| target |" in table and "machine:" in table and "batch job" in table
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"


def test_one_workload_only(tmp_path: Path) -> None:
    results = run_suite(
        sizes=[(20, 2)],
        workloads_run=("month-end",),
        repeats=2,
        quantlib_sample=(3, 1),
        out_dir=tmp_path,
        isolate=False,
        cold_start=False,
        what_if=False,
        session_size=None,
    )
    assert {c["workload"] for c in results["cases"]} == {"month-end"}
    assert list(results["baselines"]) == ["month-end"]
    assert all(len(c["times"]) == 2 for c in results["cases"])
    with pytest.raises(ValueError, match="workloads"):
        run_suite(sizes=[(20, 2)], workloads_run=("nope",), out_dir=tmp_path)


def test_dense_book_follows_the_market_cycles() -> None:
    f = workloads.dense_book_frame(4_000, seed=3)
    assert f.equals(workloads.dense_book_frame(4_000, seed=3))  # seeded
    day = pl.col("maturity").dt.day()
    month = pl.col("maturity").dt.month()
    seg = {s: f.filter(pl.col("segment") == s) for s in workloads.SEGMENT_NAMES}
    assert seg["JGB"].select((day == 20) & month.is_in([3, 6, 9, 12])).to_series().all()
    assert seg["UST"].select((day == 15) & month.is_in([2, 5, 8, 11])).to_series().all()
    notes_end = seg["UST notes"].select(pl.col("maturity").dt.month_end() == pl.col("maturity"))
    assert notes_end.to_series().all()
    assert seg["Bund"].select((day == 15) & month.is_in([2, 8])).to_series().all()
    gilt_days = seg["gilt"].select(day).to_series()
    assert set(gilt_days.unique()) <= {7, 22, 31}
    # Corporates mature on any day of the month.
    for s in ("USD corporate", "EUR corporate"):
        assert seg[s].select(day).to_series().n_unique() > 25
    years = (f["maturity"] - workloads.VALUATION).dt.total_days() / 365.25
    assert years.min() > 1.0 and years.max() <= 40.5
    assert 0.1 < (f["notional"] < 0).mean() < 0.3  # long and short
    shares = f["segment"].value_counts(normalize=True)
    assert shares.filter(pl.col("segment") == "JGB")["proportion"][0] > 0.3  # JGB-heavy
    # Far more distinct payment days than the month-end book of the same size.
    market = workloads.market()
    dense = prepare(workloads.book(4_000, workload="dense"), market).n_nodes
    month_end = prepare(workloads.book(4_000, workload="month-end"), market).n_nodes
    assert dense > 2 * month_end


def test_plain_numba_matches_a_direct_sum() -> None:
    """The plain baseline's totals and per-position figures against numpy on a few bonds."""
    market = workloads.market()
    book = prepare(workloads.book(30, workload="dense"), market).book
    scen = workloads.scenarios(4)
    shocks = resolve(scen, market, book.currencies, book.position_currencies)
    inputs = baselines.plain_inputs(book)
    pos = baselines.plain_numba(inputs, shocks, "positions")
    tot = baselines.plain_numba(inputs, shocks, "summary")
    cf = book.cashflows
    for r in (0, 7, 29):
        lo, hi = cf.offsets[r], cf.offsets[r + 1]
        ccy = book.currencies[book.curve[r]]
        t = cf.time[lo:hi]
        df = np.exp(-(market.curves[ccy].zero(t) + book.spread[r]) * t)
        for s in range(len(scen)):
            shift = shocks.shift_at(ccy, t)[s] * 1e-4
            v = cf.amount[lo:hi] * df * np.exp(-shift * t)
            assert pos.price[s, r] == pytest.approx(v.sum(), rel=1e-12)
            assert pos.moment_t[s, r] == pytest.approx((v * t).sum(), rel=1e-12)
            assert pos.moment_t2[s, r] == pytest.approx((v * t * t).sum(), rel=1e-12)
    rows = book.cashflow_pos
    fx1 = shocks.fx_multiplier[:, book.currency_code[rows]]
    unit = (book.scale * book.fx0)[rows][None, :] * fx1
    np.testing.assert_allclose(tot.totals[:, 0], (pos.price * unit).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(tot.totals[:, 1], (pos.moment_t * unit).sum(axis=1), rtol=1e-12)
    keys = np.stack([np.repeat(book.curve, np.diff(cf.offsets)), cf.pay_day])
    assert inputs.n_nodes == np.unique(keys, axis=1).shape[1]


def test_a_case_timed_once_starts_warm_and_counts_it_end_to_end() -> None:
    # The untimed first run on a few scenarios is in the end-to-end time, not the case's.
    case = engine_case(40, WARM_UP_SCENARIOS + 1, "summary", repeats=1)
    assert case["times"] == [case["seconds"]]
    assert case["end_to_end_seconds"] > case["load_seconds"] + case["build_seconds"] + case[
        "seconds"
    ]
    assert case["plain_numba"]["checked"]


def test_a_batch_job_that_failed_is_reported_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch job killed (out of memory) or stopped leaves the rest of the run standing."""
    monkeypatch.setattr(suite, "_cli_job", lambda args: {"failed": "killed by signal 9"})
    got = suite._batch(20, 2)
    assert got == {"positions": 20, "scenarios": 2, "failed": "killed by signal 9"}
    text = report.markdown({"workloads": {}, "batch": got})
    assert "20 dense positions x 2 scenarios: not measured (killed by signal 9)" in text
