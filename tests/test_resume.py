"""Resumable runs: a real ``stress run --out DIR`` process killed with SIGKILL at some point
of its work, started again with the same command, keeps the tasks it had finished (in
``.DIR.stress-work/``) and writes the same set, bit for bit, as a run never interrupted; a
changed input starts afresh."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import portfolios
import shocks
import stress
from stress.batch import WorkDir
from stress.histories import market_history
from stress.output import MANIFEST

ROOT = Path(__file__).resolve().parents[1]
MARKET = stress.Market.load(stress.default_market_path())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("resume")
    book, scen = d / "book.csv", d / "scen.parquet"
    portfolios.synthetic_book(10_000, seed=3, currencies=("USD", "JPY")).write_csv(book)
    shocks.write_parquet(shocks.monte_carlo(market_history(MARKET), n=100, seed=1), scen)
    return {"book": book, "scen": scen, "dir": d}


def _command(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "stress", "run", "-p", str(inputs["book"]), "-s",
            str(inputs["scen"]), "--detail", "positions", "--shard-positions", "500", "--out",
            str(out), *extra]


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def reference(inputs: dict[str, Path]) -> Path:
    """The set written by a run never interrupted."""
    out = inputs["dir"] / "reference"
    _run(_command(inputs, out))
    return out


def _kill_when(cmd: list[str], work: Path, ready: str, count: int) -> int:
    """Start ``cmd``, SIGKILL it once ``work/ready`` holds ``count`` finished files; return
    how many it held when the process was gone."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((work / ready).glob("*.npz"))) >= count:
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return len(list((work / "sums").glob("*.npz"))) + len(list((work / "finish").glob("*.npz")))


def _same_sets(a: Path, b: Path) -> None:
    ma, mb = (json.loads((d / MANIFEST).read_text()) for d in (a, b))
    assert ma["files"] == mb["files"] and ma["positions_parts"] == mb["positions_parts"]
    for name in ma["files"]:
        if name.endswith("/"):
            names = sorted(p.name for p in (a / name).iterdir())
            assert names == sorted(p.name for p in (b / name).iterdir())
            for part in names:
                fa, fb = pl.read_parquet(a / name / part), pl.read_parquet(b / name / part)
                assert fa.equals(fb), part
                for c in fa.columns:
                    if fa[c].dtype == pl.Float64:  # bit for bit, NaN included
                        assert fa[c].to_numpy().tobytes() == fb[c].to_numpy().tobytes()
        elif name.endswith(".parquet"):
            fa, fb = pl.read_parquet(a / name), pl.read_parquet(b / name)
            assert fa.equals(fb), name
            for c in fa.columns:
                if fa[c].dtype == pl.Float64:
                    assert fa[c].to_numpy().tobytes() == fb[c].to_numpy().tobytes(), (name, c)
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes()


@pytest.mark.parametrize(("ready", "count"), [("sums", 3), ("finish", 1)])
def test_a_killed_run_resumes_and_writes_the_same_set(inputs: dict[str, Path], reference: Path,
                                                      tmp_path: Path, ready: str,
                                                      count: int) -> None:
    """Killed with 3 shards done (first pass), or in the second pass (worst positions and ES
    components of the 100 scenarios): the rerun keeps every finished task and its set is
    the uninterrupted run's."""
    out = tmp_path / "out"
    work = tmp_path / ".out.stress-work"
    cmd = _command(inputs, out)
    finished = _kill_when(cmd, work, ready, count)
    assert not out.exists()  # nothing half-written where readers look
    assert finished >= count
    done = _run(cmd)
    assert f"resumed: {finished} finished tasks were kept" in done.stderr
    _same_sets(out, reference)
    assert not work.exists()  # committed: the work is removed
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.stress-tmp-")]


def test_a_changed_input_starts_afresh(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    work = tmp_path / ".out.stress-work"
    cmd = _command(inputs, out)
    assert _kill_when(cmd, work, "sums", 2) >= 2
    key = json.loads((work / "work.json").read_text())["key"]
    # The same command with another scenario set: nothing of the first is kept.
    other = cmd[:]
    other[other.index(str(inputs["scen"]))] = "irrbb"
    done = _run(other)
    assert "resumed" not in done.stderr
    assert pl.read_parquet(out / "summary.parquet").height == 6
    fresh = tmp_path / "fresh"
    _run([*other[:-1], str(fresh)])
    _same_sets(out, fresh)
    assert key  # (the killed run had recorded its inputs' hash)


def test_work_of_other_inputs_is_discarded(tmp_path: Path) -> None:
    """The API's work_dir: finished tasks of the same inputs are reused; a different input
    (here the book) empties the directory first."""
    book = portfolios.load(portfolios.sample_path("global_macro"))
    work = tmp_path / "work"
    first = stress.run(book, MARKET, "all", shard_positions=4, work_dir=work)
    sums = sorted((work / "sums").iterdir())
    assert len(sums) == 5
    # Remove two finished tasks, as if the run had been killed before them.
    for p in sums[1:3]:
        p.unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in (work / "sums").iterdir()}
    again = stress.run(book, MARKET, "all", shard_positions=4, work_dir=work)
    assert again.raw.sums.tobytes() == first.raw.sums.tobytes()
    assert again.summary.equals(first.summary)
    for p in (work / "sums").iterdir():  # the kept ones were read, not rewritten
        if p.name in stamps:
            assert p.stat().st_mtime_ns == stamps[p.name]
    smaller = portfolios.Portfolio(book.frame[:10], book.source, book.attributes)
    third = stress.run(smaller, MARKET, "all", shard_positions=4, work_dir=work)
    assert len(list((work / "sums").iterdir())) == 3
    np.testing.assert_array_equal(
        third.raw.sums, stress.run(smaller, MARKET, "all", shard_positions=4).raw.sums)


def test_one_run_at_a_time_holds_a_work_directory(tmp_path: Path) -> None:
    a, b = WorkDir(tmp_path / "w"), WorkDir(tmp_path / "w")
    a.open("k", {})
    try:
        with pytest.raises(stress.io.OutputError, match="another run is working here"):
            b.open("k", {})
    finally:
        a.close()
    b.open("k", {})
    b.remove()
    assert not (tmp_path / "w").exists()


@pytest.mark.filterwarnings("ignore:no generated scenario moves the EUR curve")
def test_a_kept_result_that_is_damaged_or_misplaced_is_computed_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    """A kept task result is trusted only when it reads back whole as that task's: a sums
    file copied over another shard's, or cut short, is removed and its task run again (the
    totals used to take the copy's numbers, or the run failed as an internal error)."""
    book = portfolios.load(portfolios.sample_path("global_macro"))
    scen = shocks.monte_carlo(market_history(MARKET), n=40, seed=2)
    work = tmp_path / "work"
    first = stress.run(book, MARKET, scen, shard_positions=4, work_dir=work, risk=0.9,
                       worst_scenarios=5)  # fmt: skip
    sums = sorted((work / "sums").iterdir())
    finish = sorted((work / "finish").iterdir())
    assert len(sums) == 5 and finish
    sums[2].write_bytes(sums[1].read_bytes())
    sums[3].write_bytes(sums[3].read_bytes()[:500])
    sums[4].write_bytes(b"")
    finish[0].write_bytes(finish[0].read_bytes()[:300])
    again = stress.run(book, MARKET, scen, shard_positions=4, work_dir=work, risk=0.9,
                       worst_scenarios=5)  # fmt: skip
    assert again.raw.sums.tobytes() == first.raw.sums.tobytes()
    assert again.worst.equals(first.worst)
    assert again.components[0.9].tobytes() == first.components[0.9].tobytes()
    said = caplog.text
    assert f"{sums[2]}: not the result of its task: running that task again" in said
    assert f"{sums[3]}: unreadable" in said and f"{finish[0]}: unreadable" in said


def test_credit_spread_shifts_are_part_of_the_inputs(tmp_path: Path) -> None:
    """Two sets that differ only in their credit-spread shifts are other inputs: a run of one
    starts afresh in the other's work directory (the inputs' hash used to leave the spread
    shifts out, and the run took the other set's weights)."""
    from benchmarks import workloads

    book, market = workloads.mixed_book(60, seed=4), workloads.market()
    plain, credit = workloads.scenarios(30), workloads.credit_scenarios(30)
    assert plain.names == credit.names and not plain.spread_attributes
    work = tmp_path / "work"
    kw = {"shard_positions": 7, "by": ["sector"], "worst_scenarios": 3}
    stress.run(book, market, plain, work_dir=work, **kw)
    again = stress.run(book, market, credit, work_dir=work, **kw)
    assert again.raw.sums.tobytes() == stress.run(book, market, credit, **kw).raw.sums.tobytes()


def test_a_kept_file_of_another_run_is_computed_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    """A task's file copied from another run's work directory (another book, the same shapes)
    is not this run's: every file holds its run's key, and the task runs again."""
    from benchmarks import workloads

    market, scen = workloads.market(), workloads.credit_scenarios(30)
    kw = {"shard_positions": 7, "by": ["sector"], "worst_scenarios": 3}
    book = workloads.mixed_book(60, seed=4)
    stress.run(workloads.mixed_book(60, seed=99), market, scen, work_dir=tmp_path / "b", **kw)
    first = stress.run(book, market, scen, work_dir=tmp_path / "a", **kw)
    name = "sums/s000001-0000000.npz"
    (tmp_path / "a" / name).write_bytes((tmp_path / "b" / name).read_bytes())
    again = stress.run(book, market, scen, work_dir=tmp_path / "a", **kw)
    assert again.raw.sums.tobytes() == first.raw.sums.tobytes()
    assert f"{tmp_path / 'a' / name}: not the result of its task" in caplog.text
