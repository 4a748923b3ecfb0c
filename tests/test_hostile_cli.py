"""The command line against hostile but realistic inputs: bracketed text, empty books, row
problems found only against the market, extreme shocks, output directories that must appear
whole, and real signals sent to real processes mid-write."""

from __future__ import annotations

import datetime as dt
import json
import math
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
from shocks.tenors import parse_tenor
from stress.cli import SHOW_TENORS
from stress.output import MANIFEST
from tests import strategies as ts

ROOT = Path(__file__).resolve().parents[1]

MARKET = ts.MARKET_TOML

HEADER = "position_id,instrument,currency,notional,coupon,maturity,convention,clean_price,book"
BOOK = HEADER + """
UST_10Y,bond,USD,10000000,4.25,2035-11-15,UST,,rates
JGB_40Y,bond,JPY,-2000000000,1.9,2065-03-20,JGB,,rates
GOLD,gold,USD,1000,,,,,macro
"""

SCENARIOS = """
[[scenario]]
name = "up"
description = "test"
[scenario.rates.ALL]
parallel_bp = 50
"""


_run = ts.run_cli

@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return ts.input_files(tmp_path, BOOK, SCENARIOS)

def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return ["run", "-p", str(files["book"]), "-m", str(files["market"]), "-s", str(files["scen"]),
            *extra]


# --------------------------------------------------------------------------- markup


def test_bracketed_user_text_is_printed_as_it_is(files: dict[str, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(HEADER + "\n[bold]UST[/bold],bond,USD,1e7,4.25,2035-11-15,UST,,x\n"
                             "[/],bond,USD,1e6,4,2030-01-15,UST,,x\n")
    files["scen"].write_text('[[scenario]]\nname = "[red]up[/]"\ndescription = "a [link=x] b"\n'
                             "[scenario.rates.ALL]\nparallel_bp = 50\n")
    code, out, err = _run(_args(files), capsys)
    assert code == 0, err
    assert "[red]up[/]" in out
    assert "[bold]UST[/bold]" in out and "[/]" in out
    code, out, err = _run(["scenarios", str(files["scen"]), "-m", str(files["market"])], capsys)
    assert code == 0, err
    assert "[red]up[/]" in out and "a [link=x] b" in out


def test_error_messages_keep_their_bracketed_parts(files: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(BOOK + "BUND,bond,EUR,1000000,2.5,2035-02-15,BUND,,x\n")
    code, _, err = _run(_args(files), capsys)
    assert code == 2
    assert "add [curves.EUR]" in err
    files["scen"].write_text("[[scenario]]\nname = 'x'\n[scenario.rates.JPY]\nbogus = 1\n")
    code, _, err = _run(_args(files), capsys)
    assert code == 2 and "rates.JPY.bogus: unknown key" in err


# --------------------------------------------------------------------------- empty books


def test_header_only_book_is_an_empty_valid_result(files: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(HEADER + "\n")
    out_dir = tmp_path / "out"
    code, _, err = _run(_args(files, "--out", str(out_dir)), capsys)
    assert code == 0, err
    assert "no positions to value (the file has no rows)" in err
    summary = pl.read_parquet(out_dir / "summary.parquet")
    assert summary["pnl"].to_list() == [0.0]
    assert pl.read_csv(out_dir / "rejects.csv").height == 0


def test_every_row_rejected_still_writes_the_rejects(files: dict[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    files["book"].write_text(HEADER + "\nA,bond,USD,abc,4,2030-01-15,UST,,x\n"
                             "B,bond,XXX,1,4,2030-01-15,UST,,x\n")
    out_dir = tmp_path / "out"
    code, _, err = _run(_args(files, "--skip-invalid", "--out", str(out_dir)), capsys)
    assert code == 0, err
    assert "no positions to value (every row was rejected)" in err
    assert set(pl.read_csv(out_dir / "rejects.csv")["position_id"]) == {"A", "B"}


# --------------------------------------------------------------------------- skip-invalid


def test_row_problems_found_on_the_market_are_rejects(files: dict[str, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A price no spread reproduces and a currency the market has no curve for are found only
    once the book meets the market; with --skip-invalid they are rejects, not an abort."""
    files["book"].write_text(BOOK + "RICH,bond,USD,1000000,4,2030-01-15,UST,0.5,x\n"
                             "BUND,bond,EUR,1000000,2.5,2035-02-15,BUND,,x\n")
    code, _, err = _run(_args(files), capsys)
    assert code == 2
    out_dir = tmp_path / "out"
    code, _, err = _run(_args(files, "--skip-invalid", "--detail", "positions", "--out",
                              str(out_dir)), capsys)
    assert code == 0, err
    rejects = pl.read_csv(out_dir / "rejects.csv")
    assert set(rejects["position_id"]) == {"RICH", "BUND"}
    reasons = {pid: " ".join(rejects.filter(pl.col("position_id") == pid)["reason"])
               for pid in ("RICH", "BUND")}
    assert "a clean price that some spread over the USD curve reproduces" in reasons["RICH"]
    assert "has no EUR curve" in reasons["BUND"] and "has no FX rate for EUR" in reasons["BUND"]
    kept = set(pl.read_parquet(out_dir / "positions")["position_id"].cast(pl.String))
    assert kept | set(rejects["position_id"]) == {"UST_10Y", "JGB_40Y", "GOLD", "RICH", "BUND"}
    assert not kept & set(rejects["position_id"])


def test_analytics_refuses_to_overwrite_its_table_with_the_rejects(
        files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["analytics", "-p", str(files["book"]), "-m", str(files["market"]),
                         "--skip-invalid", "--out", str(tmp_path / "rejects.csv")], capsys)
    assert code == 2
    assert "give the table another name" in err
    assert not (tmp_path / "rejects.csv").exists()


# --------------------------------------------------------------------------- extreme shocks


@pytest.mark.parametrize(("block", "fragment"), [
    ("[scenario.rates.USD]\nparallel_bp = 1e300", "rates.USD.parallel_bp: got 1e+300; "
     "expected a number between -10000 and 10000 bp"),
    ("[scenario.fx]\nJPY = 1e9", "fx.JPY: got 1000000000.0; expected a percent change above "
     "-100 and at most 900"),
    ("[scenario.rates.JPY]\ntenors = ['10Y']\nto_pct = [1e5]", "rates.JPY.to_pct: got 100000.0; "
     "expected a number between -100 and 100 percent"),
    ("[scenario.rates.JPY]\ntenors = ['99999Y']\nbp = [1]",
     "rates.JPY.tenors: got '99999Y'; expected a tenor of at most 1000 years"),
])
def test_extreme_shocks_are_refused(files: dict[str, Path], block: str, fragment: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    files["scen"].write_text(f"[[scenario]]\nname = 'x'\n{block}\n")
    code, out, err = _run(_args(files), capsys)
    assert code == 2, out
    assert fragment in err
    assert "Traceback" not in err


def test_scenario_file_not_utf8(files: dict[str, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    files["scen"].write_bytes("[[scenario]]\nname = 'caf\u00e9'\n".encode("latin-1"))
    code, _, err = _run(_args(files), capsys)
    assert code == 2
    assert "scen.toml: not UTF-8 text (byte 0xe9 on line 2, column 12); expected a TOML " \
           "scenario file saved as UTF-8" in err


# --------------------------------------------------------------------------- output sets


def test_a_second_run_replaces_the_whole_set(files: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    assert _run(_args(files, "--detail", "positions", "--by", "book", "--out", str(out_dir)),
                capsys)[0] == 0
    assert (out_dir / "positions").is_dir() and (out_dir / "by_book.parquet").exists()
    assert _run(_args(files, "--out", str(out_dir), "--format", "csv"), capsys)[0] == 0
    manifest = json.loads((out_dir / MANIFEST).read_text())
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*manifest["files"], MANIFEST])
    # Only the second run's files: no positions, no by_book, nothing left in Parquet.
    assert manifest["files"][:4] == ["summary.csv", "by_currency.csv", "by_maturity_bucket.csv",
                                     "rejects.csv"]
    assert all(n.endswith(".csv") for n in manifest["files"])
    assert not {"positions.csv", "by_book.csv"} & set(manifest["files"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_a_directory_of_other_files_is_refused(files: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "mine"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("keep me")
    code, _, err = _run(_args(files, "--out", str(out_dir)), capsys)
    assert code == 2
    assert "holds files that are not a stress output set" in err
    assert (out_dir / "notes.txt").read_text() == "keep me"
    # A manifest.json of something else (a web app's) is no output set, and a file added to
    # an earlier set would go with it: both refused, nothing removed.
    (out_dir / MANIFEST).write_text('{"name": "my extension"}')
    code, _, err = _run(_args(files, "--out", str(out_dir)), capsys)
    assert code == 2 and "(its manifest.json is not a stress output set's)" in err
    assert sorted(p.name for p in out_dir.iterdir()) == [MANIFEST, "notes.txt"]
    earlier = tmp_path / "earlier"
    assert _run(_args(files, "--out", str(earlier)), capsys)[0] == 0
    (earlier / "my_notes.txt").write_text("keep me")
    (earlier / "src").mkdir()
    code, _, err = _run(_args(files, "--out", str(earlier)), capsys)
    assert code == 2 and "(my_notes.txt, src not listed in its manifest.json)" in err
    assert (earlier / "my_notes.txt").read_text() == "keep me"
    # What a file browser or server leaves in any folder it shows goes with the set.
    again = tmp_path / "again"
    assert _run(_args(files, "--out", str(again)), capsys)[0] == 0
    for name in (".DS_Store", "Thumbs.db", ".nfs0000000001"):
        (again / name).write_text("x")
    assert _run(_args(files, "--out", str(again)), capsys)[0] == 0
    assert not (again / ".DS_Store").exists()
    (tmp_path / "file").write_text("x")
    code, _, err = _run(_args(files, "--out", str(tmp_path / "file")), capsys)
    assert code == 2 and "exists and is not a directory" in err


def test_an_output_file_cannot_be_an_input_file(files: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """analytics --out book.csv would replace the book with its analytics, --report book.csv
    with HTML."""
    before = {k: p.read_bytes() for k, p in files.items()}
    book = str(files["book"])
    for argv in (["analytics", "-p", book, "-m", str(files["market"]), "--out", book],
                 _args(files, "--report", str(files["scen"])),
                 _args(files, "--report", str(files["market"]))):
        code, _, err = _run(argv, capsys)
        assert code == 2 and "which this command reads; give another path" in err, err
    assert {k: p.read_bytes() for k, p in files.items()} == before
    # Nor a report inside the output set it reports on: it would replace one of the set's
    # files, or be a file of no set that the next run into the directory refuses.
    out = files["book"].parent / "out"
    code, _, err = _run(_args(files, "--out", str(out), "--report", str(out / "r.html")), capsys)
    assert code == 2 and f"--report {out / 'r.html'}: is inside --out {out}" in err, err
    assert _run(_args(files, "--out", str(out)), capsys)[0] == 0
    code, _, err = _run(["report", str(out), "-o", str(out / "summary.parquet")], capsys)
    assert code == 2 and "is inside the output set" in err, err


def test_paths_through_a_file_and_empty_names_are_said_plainly(
        files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not "[Errno 17] File exists: 'afile'", nor a scenario file "." that is a directory."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    book, market = str(files["book"]), str(files["market"])
    for argv, message in (
        (["analytics", "-p", book, "-m", market, "--out", f"{afile}/x.csv"],
         f"{afile}/x.csv: cannot be written ({afile} is a file, not a directory)"),
        (["scenarios", "generate", "historical", "--from", "2020-01-01", "--to", "2020-03-31",
          "--out", f"{afile}/x.parquet"],
         f"{afile}/x.parquet: cannot be written ({afile} is a file, not a directory)"),
        (["report", str(afile)], f"{afile}: a file, not a directory; give the --out directory"),
        (["run", "-p", book, "-m", market, "-s", ""],
         "scenarios: got ''; expected a built-in name or group, or a TOML or Parquet path"),
    ):
        code, _, err = _run(argv, capsys)
        assert code == 2 and message in err, err
        assert "Errno" not in err


def test_paths_with_pattern_characters(files: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "res[1]*"
    assert _run(_args(files, "--out", str(out_dir)), capsys)[0] == 0
    assert (out_dir / "summary.parquet").exists()
    assert _run(_args(files, "--out", str(out_dir)), capsys)[0] == 0


def _big_book(path: Path, n: int) -> None:
    frame = portfolios.synthetic_book(n, seed=3, currencies=("USD", "JPY"))
    frame.write_csv(path)


def _consistent(out_dir: Path) -> None:
    """The directory holds one complete set: exactly the manifest's files (a directory of
    per-position parts, ``positions/``, exactly its listed parts), every one readable."""
    manifest = json.loads((out_dir / MANIFEST).read_text())
    names = [name.rstrip("/") for name in manifest["files"]]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*names, MANIFEST])

    def read(path: Path) -> pl.DataFrame:
        return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)

    for name in manifest["files"]:
        if name.endswith("/"):
            parts = sorted((out_dir / name).iterdir())
            assert [f"{name}{p.name}" for p in parts] == \
                [x["file"] for x in manifest["positions_parts"]]
            frame = pl.concat([read(p) for p in parts])
        else:
            frame = read(out_dir / name)
        if name.startswith("positions"):
            assert frame.height == manifest["positions"] * manifest["scenarios"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_write_never_leaves_a_mixed_set(files: dict[str, Path], tmp_path: Path,
                                                     sig: signal.Signals,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A real process is killed while it writes a large positions file into a directory that
    holds an earlier set: afterwards the directory holds the earlier set, whole."""
    book = tmp_path / "big.csv"
    _big_book(book, 8_000)
    out_dir = tmp_path / "out"
    args = ["run", "-p", str(book), "-m", str(files["market"]), "-s", "parallel_grid", "--out",
            str(out_dir)]
    assert _run([*args, "--format", "csv"], capsys)[0] == 0
    before = json.loads((out_dir / MANIFEST).read_text())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "stress", *args, "--detail", "positions",
                             "--format", "csv"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Wait until the new set is being written (its hidden directory appears), then signal.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(f".out.stress-tmp-{proc.pid}-") for p in tmp_path.iterdir()):
            break
        time.sleep(0.002)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:  # the set was swapped in before the signal landed
        _consistent(out_dir)
        return
    assert proc.returncode in (-signal.SIGKILL, 128 + signal.SIGTERM, 130), stderr
    assert "Traceback" not in stderr, stderr
    last = {signal.SIGINT: "interrupted: nothing was written",
            signal.SIGTERM: "terminated: nothing was written"}
    if sig in last:
        assert stderr.strip().splitlines()[-1] == last[sig], stderr
    _consistent(out_dir)
    after = json.loads((out_dir / MANIFEST).read_text())
    # The earlier set, whole; or, when the signal landed after the swap (while the run was
    # removing its finished work, .out.stress-work), the new set, whole: never a mix.
    assert after == before or (sig == signal.SIGKILL and "--detail" in after["command"]
                               and after["positions_parts"]), stderr  # fmt: skip
    # The next run into the directory removes what a SIGKILL left behind.
    assert _run([*args, "--format", "csv"], capsys)[0] == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.stress-tmp-")]
    _consistent(out_dir)


# --------------------------------------------------------------------------- display


MARKET_OBJ = stress.Market.load(stress.default_market_path())


def test_display_is_what_the_engine_prices() -> None:
    """For every built-in scenario, the shift `stress scenarios` shows at each tenor is the
    shift a zero-coupon bond maturing on that tenor's date is revalued with."""
    from stress.resolve import resolve

    lib = shocks.load("all")
    curves = tuple(sorted(MARKET_OBJ.curves))
    shown = resolve(lib, MARKET_OBJ, curves, ())
    val = MARKET_OBJ.valuation_date
    rows = []
    for c in curves:
        for label in SHOW_TENORS:
            mat = parse_tenor(label).date(val)
            rows.append({"position_id": f"{c}_{label}", "instrument": "bond", "currency": c,
                         "notional": 1e6, "coupon": 0.0, "maturity": mat, "frequency": 1,
                         "day_count": "ACT/365F"})
    book = portfolios.load(pl.DataFrame(rows))
    res = stress.run(book, MARKET_OBJ, lib, detail="positions")
    pos = res.positions.with_columns(pl.col("scenario", "position_id").cast(pl.String))
    got = {(r["scenario"], r["position_id"]): (r["pv_before"], r["pv_after"])
           for r in pos.iter_rows(named=True)}
    fx = {c: MARKET_OBJ.fx_rate(c) for c in curves}
    for label in SHOW_TENORS:
        t = (parse_tenor(label).date(val) - val).days / 365.0
        display = {c: shown.shift_at(c, [t])[:, 0] for c in curves}
        for s, name in enumerate(lib.names):
            for c in curves:
                before, after = got[(name, f"{c}_{label}")]
                fx_s = 1.0 + (lib.fx_pct[s, lib.fx_currencies.index(c)] / 100.0
                              if c in lib.fx_currencies else 0.0)
                # pv_after is in USD at the shocked FX rate: take the FX move out.
                priced = -math.log(after / fx_s / before) / t * 1e4
                assert priced == pytest.approx(display[c][s], abs=1e-6), (name, c, label)
    assert fx  # (keeps the FX table in view for readers of the assertion)


def test_scenarios_command_prints_those_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["scenarios", "parallel_p300", "jgb_meltdown_2026"], capsys)
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("│ JPY")]
    assert rows[0].split("│")[2:-1] == [" +300 "] * len(SHOW_TENORS)  # not +600
    from stress.resolve import resolve

    scen = shocks.load("jgb_meltdown_2026")
    t = np.array([parse_tenor(x).time(MARKET_OBJ.valuation_date) for x in SHOW_TENORS])
    want = resolve(scen, MARKET_OBJ, ("JPY",), ()).shift_at("JPY", t)[0]
    assert [c.strip() for c in rows[1].split("│")[2:-1]] == [f"{v:+.0f}" for v in want]
    assert dt.date(2026, 1, 20).isoformat() in out
