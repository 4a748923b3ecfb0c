"""The command line: reports, files written, and errors without tracebacks."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from numba import njit
from numba.core import event as numba_event
from rich.console import Console

from stress.cli import FirstCompile, main
from tests import strategies as ts

MARKET = ts.MARKET_TOML

BOOK = """position_id,instrument,currency,notional,coupon,maturity,convention,book
UST_10Y,bond,USD,10000000,4.25,2035-11-15,UST,rates
JGB_40Y,bond,JPY,-2000000000,1.9,2065-03-20,JGB,rates
GOLD,gold,USD,1000,,,,macro
JPY_CASH,fx,JPY,-500000000,,,,macro
"""

SCENARIOS = """
[[scenario]]
name = "up"
description = "test"
[scenario.rates.ALL]
parallel_bp = 50
[scenario.fx]
JPY = -3.0
[scenario.gold]
pct = 5.0

[[scenario]]
name = "down"
[scenario.rates.USD]
tenors = ["2Y", "10Y"]
bp = [-20, -40]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return ts.input_files(tmp_path, BOOK, SCENARIOS)

_run = ts.run_cli

def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("run", "analytics", "scenarios", "examples:"):
        assert word in out


def test_a_local_cluster_has_at_most_a_worker_per_cpu(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stress.cli.usable_cpus", lambda: 2)
    with pytest.raises(SystemExit) as exc:
        main(["run", "--workers", "99999"])
    assert exc.value.code == 2
    assert "argument --workers: expected at most 2 (the CPUs here), got '99999'" in (
        capsys.readouterr().err)


def test_run_writes_summary_positions_and_report(files: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    code, out, err = _run(["run", "-p", str(files["book"]), "-m", str(files["market"]),
                           "-s", str(files["scen"]), "--detail", "positions", "--out",
                           str(out_dir)], capsys)
    assert code == 0, err
    assert "Scenarios ranked by P&L" in out and "Top contributors" in out
    summary = pl.read_parquet(out_dir / "summary.parquet")
    positions = pl.read_parquet(out_dir / "positions")
    assert summary["scenario"].to_list() == ["up", "down"]
    assert positions.height == 2 * 4
    assert not list(out_dir.glob(".*.tmp"))  # no temporary files left behind


def test_run_csv_format(files: dict[str, Path], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run", "-p", str(files["book"]), "-m", str(files["market"]), "-s",
                         str(files["scen"]), "--out", str(tmp_path / "o"), "--format", "csv"],
                        capsys)
    assert code == 0, err
    assert pl.read_csv(tmp_path / "o" / "summary.csv")["scenario"].to_list() == ["up", "down"]


def test_invalid_rows_stop_the_run_with_every_problem(files: dict[str, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(BOOK + "BAD1,bond,USD,abc,4,2030-01-01,UST,x\n"
                             "BAD2,option,USD,1,,,,x\n")
    code, out, err = _run(["run", "-p", str(files["book"]), "-m", str(files["market"]),
                           "-s", str(files["scen"])], capsys)
    assert code == 2
    assert "Traceback" not in err + out
    assert "row 5 (position_id 'BAD1'), column 'notional': got 'abc'" in err
    assert "row 6 (position_id 'BAD2'), column 'instrument': got 'option'" in err


def test_skip_invalid_writes_rejects_and_accounts_for_every_row(
        files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(BOOK + "BAD1,bond,USD,abc,4,2030-01-01,UST,x\n"
                             "OLD,bond,USD,100,4,2020-01-01,UST,x\n")
    out_dir = tmp_path / "out"
    code, _, err = _run(["run", "-p", str(files["book"]), "-m", str(files["market"]), "-s",
                         str(files["scen"]), "--skip-invalid", "--detail", "positions",
                         "--out", str(out_dir)], capsys)
    assert code == 0, err
    assert "2 of 6 rows rejected" in err
    rejects = pl.read_csv(out_dir / "rejects.csv")
    positions = pl.read_parquet(out_dir / "positions")
    kept = set(positions["position_id"].cast(pl.String).to_list())
    assert set(rejects["position_id"].to_list()) == {"BAD1", "OLD"}
    assert "a maturity after the valuation date 2026-01-20" in " ".join(rejects["reason"])
    assert kept | set(rejects["position_id"].to_list()) == {
        "UST_10Y", "JGB_40Y", "GOLD", "JPY_CASH", "BAD1", "OLD"}


def test_market_missing_a_currency_names_it(files: dict[str, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(BOOK + "BUND,bond,EUR,1000000,2.5,2035-02-15,BUND,x\n")
    code, _, err = _run(["run", "-p", str(files["book"]), "-m", str(files["market"]), "-s",
                         str(files["scen"])], capsys)
    assert code == 2
    assert "no EUR curve, needed by 1 bond position (e.g. 'BUND')" in err
    assert "no FX rate for EUR" in err


def test_unknown_scenario_is_a_clear_error(files: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run", "-p", str(files["book"]), "-m", str(files["market"]), "-s",
                         "no_such_scenario"], capsys)
    assert code == 2
    assert "'no_such_scenario' is neither a scenario file nor a built-in scenario" in err


def test_missing_files_are_clear_errors(files: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run", "-p", str(tmp_path / "nope.csv"), "-m", str(files["market"])],
                        capsys)
    assert code == 2 and "nope.csv: no such positions file" in err
    code, _, err = _run(["run", "-m", str(tmp_path / "nope.toml")], capsys)
    assert code == 2 and "nope.toml: cannot read market file" in err


def test_analytics_table_and_file(files: dict[str, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["analytics", "-p", str(files["book"]), "-m", str(files["market"])],
                          capsys)
    assert code == 0, err
    assert "UST_10Y" in out and "Position analytics" in out
    target = tmp_path / "a.parquet"
    code, _, err = _run(["analytics", "-p", str(files["book"]), "-m", str(files["market"]),
                         "--out", str(target)], capsys)
    assert code == 0, err
    assert pl.read_parquet(target).height == 4


def test_default_run_on_bundled_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["run", "--top", "5"], capsys)
    assert code == 0, err
    assert "Scenarios ranked by P&L (USD)" in out and "Top contributors" in out
    assert "positions x" in err


def test_captured_tables_keep_a_row_on_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Captured output is laid out as wide as the tables need: a row is one line, its
    before -> after figures (duration, convexity, DV01) whole, however large the book."""
    big = BOOK.replace("10000000,", "900000000000000,").replace("-2000000000,", "-9e14,")
    paths = ts.input_files(tmp_path, big, SCENARIOS)
    code, out, err = _run(["run", "--portfolio", str(paths["book"]), "--market",
                           str(paths["market"]), "--scenarios", str(paths["scen"])], capsys)
    assert code == 0, err
    ranked = [line for line in out.splitlines()
              if line.startswith("│") and line.split("│")[1].strip().isdigit()]
    assert len(ranked) == 2 and all(line.count("→") == 3 for line in ranked), out
    assert max(len(line) for line in ranked) > 200  # wider than any terminal default


def test_a_batch_jobs_log_has_plain_unpadded_lines(files: dict[str, Path],
                                                   tmp_path: Path) -> None:
    """With stderr a file (a batch job's log), log records are plain lines: a timestamp, the
    level and the message, never padded to a console's width."""
    log = tmp_path / "run.log"
    with log.open("w") as f:
        done = subprocess.run(
            [sys.executable, "-m", "stress", "-v", "run", "--portfolio", str(files["book"]),
             "--market", str(files["market"]), "--scenarios", str(files["scen"]),
             "--out", str(tmp_path / "out")],
            stdout=subprocess.DEVNULL, stderr=f, timeout=300,
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])),
        )  # fmt: skip
    lines = log.read_text().splitlines()
    assert done.returncode == 0, lines
    records = [line for line in lines if " INFO " in line]
    assert records and all(line.endswith("tasks done") for line in records), lines
    assert all(line == line.rstrip() and len(line) < 300 for line in lines), lines


def test_scenarios_list_and_show(files: dict[str, Path],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["scenarios"], capsys)
    assert code == 0 and "jgb_meltdown_2026" in out
    # Captured, the library's long descriptions fold at a readable width (the console is
    # 1,000 columns wide so that no figure of a run's tables wraps).
    assert max(len(line) for line in out.splitlines()) < 200
    code, out, _ = _run(["scenarios", "jgb_meltdown_2026"], capsys)
    assert code == 0 and max(len(line) for line in out.splitlines()) < 200
    code, out, _ = _run(["scenarios", str(files["scen"])], capsys)
    assert code == 0 and "up" in out and "JPY -3.00 %" in out and "gold: +5.00 %" in out


def test_skip_invalid_without_out_lists_the_problems(files: dict[str, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(BOOK + "BAD1,bond,USD,1000,4,2030-02-30,UST,x\n")
    code, _, err = _run(["run", "-p", str(files["book"]), "-m", str(files["market"]), "-s",
                           str(files["scen"]), "--skip-invalid"], capsys)
    assert code == 0, err
    assert "1 of 5 rows rejected (1 problems; see --out to write them all)" in err
    assert "row 5 (position_id 'BAD1'), column 'maturity': got '2030-02-30'" in err
    assert "4 positions x 2 scenarios" in err


def test_analytics_skip_invalid_writes_rejects_beside_the_table(
        files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(BOOK + "BAD1,bond,XXX,1000,4,2030-01-15,UST,x\n")
    target = tmp_path / "a.csv"
    code, _, err = _run(["analytics", "-p", str(files["book"]), "-m", str(files["market"]),
                         "--skip-invalid", "--out", str(target)], capsys)
    assert code == 0, err
    assert pl.read_csv(target).height == 4
    rejects = pl.read_csv(tmp_path / "rejects.csv")
    assert rejects["position_id"].to_list() == ["BAD1"]
    assert rejects["column"].to_list() == ["currency"]


def test_a_first_compile_is_said_once() -> None:
    """At a terminal, a run that has to compile kernels (no cached machine code) says so,
    once, instead of a silent minute."""
    console = Console(file=io.StringIO(), width=200)
    with numba_event.install_listener("numba:compile", FirstCompile(console)):
        njit(lambda x: x + 1)(1)
        njit(lambda x: x + 2)(2)
    said = console.file.getvalue()
    assert said.count("compiling the engine's kernels") == 1, said
