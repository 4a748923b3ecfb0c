"""The report's data and page without a browser: families, formatting, escaping, the output
set round trip, the terminal's grouping, and the optional plotly."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from rich.console import Console

import portfolios
import shocks
import stress
from shocks.tenors import parse_tenor
from stress.cli import main
from stress.families import BY_KEY, FAMILIES, family_of, window_end
from stress.htmlreport import fmt_amount, json_for_script, payload
from stress.output import MANIFEST
from stress.report import print_run_report
from stress.reportdata import (
    KEY_RATE_COLUMNS,
    REPORT_TENORS,
    ReportError,
    check_reverse,
    read,
    read_reverses,
    reverse_frame,
    run_report,
)
from stress.resolve import resolve
from tests.report_cases import (
    HOSTILE_DESCRIPTION,
    HOSTILE_POSITION,
    HOSTILE_SCENARIO,
    full_scenarios,
    generated,
    hand_made_reverse,
    hostile_files,
)

ROOT = Path(__file__).resolve().parents[1]
MARKET = stress.Market.load(stress.default_market_path())
MACRO = portfolios.load(portfolios.sample_path("global_macro"))


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# --------------------------------------------------------------------------- families


def test_every_library_scenario_has_its_family() -> None:
    lib = shocks.library()
    got = {
        r["scenario"]: family_of(r["scenario"], f"library:{r['group']}.toml", r["description"])
        for r in lib.iter_rows(named=True)
    }
    assert got["jgb_meltdown_2026"] == "jgb_2026"
    assert got["jgb_meltdown_extended"] == got["capital_wars"] == "hypothetical"
    groups = dict(zip(lib["scenario"], lib["group"], strict=True))
    want = {"historical": "historical", "irrbb": "irrbb", "parallel_grid": "parallel"}
    for name, group in groups.items():
        if group in want:
            assert got[name] == want[group], name
    assert set(got.values()) == {"jgb_2026", "hypothetical", "historical", "irrbb", "parallel"}


@pytest.mark.parametrize(
    ("origin", "family"),
    [
        ("generator:parallel_grid", "parallel"),
        ("generator:historical", "historical_simulation"),
        ("generator:historical (/data/hist.parquet)", "historical_simulation"),
        ("generator:monte_carlo", "monte_carlo"),
        ("generator:monte_carlo (mc [1].parquet)", "monte_carlo"),
        ("generator:predict", "predictive"),
        ("generator:something_new", "generated"),
        ("library:credit.toml", "library"),
        ("/home/me/my scenarios.toml", "user"),
        ("<ScenarioSet>", "user"),
    ],
)
def test_families_from_origins(origin: str, family: str) -> None:
    assert family_of("x", origin, "HYPOTHETICAL: not a library jgb file") == family
    assert family in BY_KEY
    generated_families = ("historical_simulation", "monte_carlo", "generated")
    assert BY_KEY[family].generated == (family in generated_families)


def test_families_order_starts_with_the_january_2026_episode() -> None:
    assert FAMILIES[0].key == "jgb_2026"
    assert [f.key for f in FAMILIES].index("user") == len(FAMILIES) - 1


def test_window_end_from_historical_names() -> None:
    assert window_end("hist_2019-06-28_10d") == dt.date(2019, 6, 28)
    assert window_end("hist_2019-02-30_10d") is None
    assert window_end("hist_2019-06-28") is None
    assert window_end("jgb_meltdown_2026") is None


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("x", "text"),
    [(1234567.6, "1,234,568"), (-76196852.4, "-76,196,852"), (0.49, "0"), (-0.49, "0"),
     (-0.5, "-0"), (math.nan, "\u2013"), (None, "\u2013"), (1e12, "1,000,000,000,000")],
)  # fmt: skip
def test_amounts_in_whole_units_with_separators(x: float | None, text: str) -> None:
    if text == "-0":  # -0.5 rounds half to even: shown as a loss of 0, the sign kept
        assert fmt_amount(x) in ("-0", "0")
        return
    assert fmt_amount(x) == text


def test_json_for_script_cannot_close_its_element() -> None:
    value = {"a": HOSTILE_SCENARIO, "b": [HOSTILE_DESCRIPTION, "<!-- x -->", "]]>"]}
    text = json_for_script(value)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == value
    with pytest.raises(ValueError):
        json_for_script({"x": math.nan})  # NaN is no JSON: payloads write None


# --------------------------------------------------------------------------- collected data


@pytest.fixture(scope="module")
def macro_report() -> tuple[stress.StressResult, object]:
    return run_report(MACRO, MARKET, "all", book_name="global_macro", scenario_set="all")


def test_curve_shifts_are_the_resolved_arrays(macro_report: tuple) -> None:
    result, data = macro_report
    scen = result.scenarios
    curves = ("EUR", "GBP", "JPY", "USD")
    shocks_ = resolve(scen, MARKET, curves, ())
    t = np.array([parse_tenor(x).time(MARKET.valuation_date) for x in REPORT_TENORS])
    shifts = data.curve_shifts
    assert shifts.height == len(scen) * len(curves) * len(REPORT_TENORS)
    for c in curves:
        want = shocks_.shift_at(c, t)
        got = (
            shifts.filter(pl.col("curve") == c)["shift_bp"].to_numpy().reshape(len(scen), -1)
        )
        np.testing.assert_array_equal(got, want)
    j = shifts.filter((pl.col("scenario") == "jgb_meltdown_2026") & (pl.col("curve") == "JPY"))
    assert dict(zip(j["tenor"], j["shift_bp"], strict=True))["40Y"] == pytest.approx(50.0)


def test_fx_moves_and_gold_as_priced(macro_report: tuple) -> None:
    _, data = macro_report
    fx = data.fx_moves.filter(pl.col("scenario") == "jgb_meltdown_2026")
    moves = dict(zip(fx["currency"], fx["pct"], strict=True))
    assert set(moves) == {"EUR", "GBP", "JPY"}  # USD is the base
    assert moves["JPY"] == pytest.approx(-1.96)
    assert moves["EUR"] == 0.0
    gold = data.scenarios.filter(pl.col("scenario") == "jgb_meltdown_2026")["gold_pct"][0]
    assert gold == pytest.approx(9.4)


def test_fx_moves_follow_the_base_currency() -> None:
    _, data = run_report(MACRO, MARKET, "jgb_meltdown_2026", base_currency="JPY")
    moves = dict(zip(data.fx_moves["currency"], data.fx_moves["pct"], strict=True))
    assert "JPY" not in moves
    # The yen falls 1.96 % in USD: the dollar rises 1/(1 - 0.0196) - 1 in yen.
    assert moves["USD"] == pytest.approx((1 / (1 - 0.0196) - 1) * 100)


def test_key_rate_dv01_adds_up_and_matches_the_run(macro_report: tuple) -> None:
    _, data = macro_report
    kr = data.key_rate_dv01
    assert kr["currency"].to_list() == ["EUR", "GBP", "JPY", "USD"]
    total = kr.select(KEY_RATE_COLUMNS).sum_horizontal()
    np.testing.assert_allclose(total.to_numpy(), kr["dv01"].to_numpy(), rtol=1e-9)
    # The analytics' DV01 per currency is the run's DV01 before any shock.
    before = data.by_currency.filter(pl.col("scenario") == "jgb_meltdown_2026")
    want = dict(zip(before["currency"], before["dv01_before"], strict=True))
    for c, d in zip(kr["currency"], kr["dv01"], strict=True):
        assert d == pytest.approx(want[c], rel=1e-9), c
    assert float(kr["dv01"].sum()) == pytest.approx(float(data.summary["dv01_before"][0]))


def test_analytics_of_a_book_prepared_for_spread_shifts_are_its_own() -> None:
    """A shard hands its analytics the book it prepared for its scenarios' spread
    attributes (``stress.shards``): the figures are those of the book prepared alone."""
    from stress.analytics import book_analytics
    from stress.book import build_book
    from stress.prepare import prepare_book

    book = build_book(portfolios.load(portfolios.sample_path("global_macro")), MARKET)
    alone = book_analytics(book)
    assert alone.equals(book_analytics(book, prepare_book(book, ("sector", "rating"))))
    assert alone["krd_10y"].drop_nulls().len() > 10


def test_risk_of_a_generated_set_is_result_risk() -> None:
    result, data = run_report(MACRO, MARKET, generated(120, "monte_carlo", 5))
    want = result.risk()
    got = data.risk_by_family
    assert got["family"].to_list() == ["monte_carlo"] * want.height
    for c in ("level", "var", "es", "tail", "worst_scenario"):
        assert got[c].to_list() == want[c].to_list(), c
    # Named scenarios only: no risk rows.
    _, named = run_report(MACRO, MARKET, "irrbb")
    assert named.risk_by_family.is_empty()


def test_payload_lists_families_in_order_and_pins_the_episode(macro_report: tuple) -> None:
    _, data = macro_report
    p = payload(data)
    assert [f["key"] for f in p["families"]] == ["jgb_2026", "hypothetical", "historical",
                                                 "irrbb", "parallel"]  # fmt: skip
    scen = p["scen"]
    assert len(scen["name"]) == 44 and min(scen["detail"]) >= 0  # every scenario detailed
    # Within each family, ranked by P&L (worst first); rank 1 is the worst of the run.
    for f in range(len(p["families"])):
        pnl = [x for x, k in zip(scen["pnl"], scen["family"], strict=True) if k == f]
        assert pnl == sorted(pnl)
    worst = scen["name"][scen["rank"].index(1)]
    assert worst == data.summary.sort("pnl")["scenario"][0]
    pinned = p["details"][p["pinned_card"]]
    assert scen["name"][pinned["row"]] == "jgb_meltdown_2026"
    assert p["key_rates"]["tenors"] == ["2Y", "5Y", "10Y", "20Y", "30Y", "40Y"]


def test_payload_of_large_generated_sets_stays_small(tmp_path: Path) -> None:
    _, scen_path = hostile_files(tmp_path)
    _, data = run_report(MACRO, MARKET, full_scenarios(scen_path, n_hist=600, n_mc=800))
    p = payload(data)
    dist = {d["family"]: d for d in p["distributions"]}
    assert len(dist["historical_simulation"]["pnl"]) == 600  # the histogram has them all
    assert len(dist["monte_carlo"]["pnl"]) == 800
    assert len(dist["historical_simulation"]["series"]["date"]) == 600
    assert dist["monte_carlo"]["series"] is None
    assert len(p["scen"]["name"]) < 600  # the listed ones: named sets + the worst 200 of each
    assert len(p["details"]) <= 300
    # A summary run finds the worst positions of its 100 worst scenarios; the report finds
    # them for every scenario it shows in full (the January 2026 episode among them).
    assert all(d["contributors"]["label"] for d in p["details"])
    assert p["scen"]["name"][p["details"][p["pinned_card"]]["row"]] == "jgb_meltdown_2026"
    assert len(json_for_script(p)) < 1_500_000


# --------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    pytest.importorskip("plotly", reason="the HTML report needs plotly")
    from stress.htmlreport import render

    tmp = tmp_path_factory.mktemp("hostile")
    book_path, scen_path = hostile_files(tmp)
    _, data = run_report(portfolios.load(book_path), MARKET, full_scenarios(scen_path, 40, 60),
                         book_name="<b>book</b> \"x\"")  # fmt: skip
    data = data.with_reverse(hand_made_reverse())
    return render(data), data


def _data_text(page: str) -> str:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                  re.S)  # fmt: skip
    assert m is not None
    return m.group(1)


def _page_data(page: str) -> dict[str, object]:
    out: dict[str, object] = json.loads(_data_text(page))
    return out


def test_page_is_self_contained(hostile_page: tuple[str, object]) -> None:
    from plotly.offline import get_plotlyjs

    page, _ = hostile_page
    assert page.count(get_plotlyjs()) == 1  # plotly.js inlined once, whole
    # The rest of the page (the data aside: user text may say anything, escaped) loads
    # nothing: no link, image, frame, import or address.
    ours = page.replace(get_plotlyjs(), "").replace(_data_text(page), "")
    assert ours.count("<script") == 3 and ours.count("</script>") == 3  # data, plotly, ours
    found = [t for t in ("<link", "<iframe", "<img", "@import", "src=", "href=", "url(",
                         "http:", "https:") if t in ours]  # fmt: skip
    assert not found
    head = page[: page.index("</head>")]
    assert "default-src 'none'" in head  # the page may not fetch anything
    assert "@media print" in head


def test_user_text_is_escaped(hostile_page: tuple[str, object]) -> None:
    page, _ = hostile_page
    found = [raw for raw in (HOSTILE_SCENARIO, HOSTILE_DESCRIPTION, HOSTILE_POSITION,
                             "<b>book</b>") if raw in page]  # fmt: skip
    assert not found
    header = page[page.index('<dl class="facts"') : page.index("</dl>")]
    assert "&lt;b&gt;book&lt;/b&gt; &quot;x&quot;" in header  # escaped
    data = _page_data(page)
    scen = data["scen"]
    assert HOSTILE_SCENARIO in scen["name"]  # type: ignore[index]
    details = data["details"]
    descriptions = [d["description"] for d in details]  # type: ignore[attr-defined]
    assert HOSTILE_DESCRIPTION in descriptions
    ids = {i for d in details for i in d["contributors"]["label"]}  # type: ignore[attr-defined]
    assert HOSTILE_POSITION in ids


def test_run_and_report_show_the_same_numbers(bundled_run: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    again = bundled_run["html"].with_name("again.html")
    code, _, err = _run(["report", str(bundled_run["out"]), "-o", str(again)], capsys)
    assert code == 0, err
    assert again.read_bytes() == bundled_run["html"].read_bytes()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_output_set_round_trip(fmt: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    book_path, scen_path = hostile_files(tmp_path)
    out = tmp_path / "out"
    code, _, err = _run(["run", "-p", str(book_path), "-s", "jgb_2026", "irrbb", str(scen_path),
                         "--out", str(out), "--format", fmt, "--by", "book", "currency"],
                        capsys)  # fmt: skip
    assert code == 0, err
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted([*manifest["files"], MANIFEST])
    for part in ("summary", "by_currency", "by_maturity_bucket", "worst", "scenarios",
                 "curve_shifts", "fx_moves", "key_rate_dv01"):  # fmt: skip
        assert manifest["report"]["files"][part] == f"{part}.{fmt}"
    assert f"by_book.{fmt}" in manifest["files"]
    assert manifest["files"].count(f"by_currency.{fmt}") == 1
    header = manifest["report"]["header"]
    assert header["book"] == str(book_path) and header["positions"] == 20
    assert header["valuation_date"] == "2026-01-20" and header["base_currency"] == "USD"
    assert header["scenario_set"] == f"jgb_2026 irrbb {scen_path}"
    got = read(out)
    _, want = run_report(portfolios.load(book_path), MARKET, ["jgb_2026", "irrbb", scen_path])
    for name, frame in want.frames().items():
        other = got.frames()[name]
        assert other.columns == frame.columns, name
        assert other.schema == frame.schema, name
        if name == "worst":  # ties between equal P&Ls aside, the same rows
            frame, other = frame.sort("scenario", "rank"), other.sort("scenario", "rank")
        assert other.equals(frame), name
    assert HOSTILE_SCENARIO in got.scenarios["scenario"].to_list()
    assert HOSTILE_DESCRIPTION in got.scenarios["description"].to_list()


def test_report_of_an_incomplete_set_is_a_clear_error(bundled_run: dict[str, Path],
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def fails(directory: Path, fragment: str) -> None:
        code, _, err = _run(["report", str(directory), "-o", str(tmp_path / "r.html")], capsys)
        assert code == 2, err
        assert fragment in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
        assert not (tmp_path / "r.html").exists()

    fails(tmp_path / "nowhere", "no such directory")
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", "not a stress output set (no manifest.json)")
    old = tmp_path / "old"
    old.mkdir()
    (old / MANIFEST).write_text(json.dumps({"files": ["summary.parquet"]}))
    fails(old, "has no report data")
    broken = tmp_path / "broken"
    broken.mkdir()
    manifest = json.loads((bundled_run["out"] / MANIFEST).read_text())
    for name in manifest["files"]:
        if name != "worst.parquet":
            (broken / name).write_bytes((bundled_run["out"] / name).read_bytes())
    (broken / MANIFEST).write_text(json.dumps(manifest))
    fails(broken, "incomplete output set: worst.parquet is missing")
    (broken / "worst.parquet").write_text("not parquet")
    fails(broken, "worst.parquet: not the file this set's run wrote")
    del manifest["report"]["sha256"]  # as a set written before the digests were kept
    (broken / MANIFEST).write_text(json.dumps(manifest))
    fails(broken, "worst.parquet: unreadable")



def test_report_refuses_a_set_whose_numbers_were_damaged(bundled_run: dict[str, Path],
                                                         tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:  # fmt: skip
    """What a run never writes is refused by file, row and column, rather than shown: a
    blank or NaN P&L used to rank its scenario first or last, a cut-short summary to show
    half the run, an unknown family or a header field of another type to fail as a bug."""
    def damaged(name: str, change: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
                header: dict[str, object] | None = None) -> Path:  # fmt: skip
        d = tmp_path / f"d{len(list(tmp_path.iterdir()))}"
        shutil.copytree(bundled_run["out"], d)
        if change is not None:
            change(pl.read_parquet(d / name)).write_parquet(d / name)
        manifest = json.loads((d / MANIFEST).read_text())
        # Without the files' digests (as an older set): the figures' own checks are tested.
        del manifest["report"]["sha256"]
        manifest["report"]["header"].update(header or {})
        (d / MANIFEST).write_text(json.dumps(manifest))
        return d

    def fails(directory: Path, fragment: str) -> None:
        code, _, err = _run(["report", str(directory), "-o", str(tmp_path / "r.html")], capsys)
        assert code == 2 and fragment in err and "Traceback" not in err, err

    pnl_at = (lambda v: lambda f: f.with_columns(  # noqa: E731
        pl.when(pl.int_range(pl.len()) == 6).then(v).otherwise(pl.col("pnl")).alias("pnl")))
    fails(damaged("summary.parquet", pnl_at(float("nan"))),
          "summary.parquet: column 'pnl', row 7: got nan; expected a finite amount")
    fails(damaged("summary.parquet", pnl_at(None)),
          "summary.parquet: column 'pnl', row 7: empty; expected a value")
    fails(damaged("summary.parquet", lambda f: f.with_columns(pl.col("pnl").cast(pl.String)
                                                             + "x")),
          "summary.parquet: column 'pnl', row 1: got '")
    fails(damaged("summary.parquet", lambda f: f.head(22)),
          "summary.parquet: 22 scenarios where the run had 44 (a file cut short?)")
    fails(damaged("scenarios.parquet", lambda f: f.with_columns(family=pl.lit("desk"))),
          "scenarios.parquet: column 'family', row 1: got 'desk'; expected one of jgb_2026")
    fails(damaged("summary.parquet", header={"positions": "19 bonds"}),
          "report header 'positions': got '19 bonds'; expected int")


def test_report_refuses_a_set_holding_a_file_of_another_run(
        bundled_run: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Another book's summary copied into a set was shown under this book's name, a summary
    with a scenario duplicated and another dropped (still 44 rows) as the run's; the manifest
    keeps each report file's SHA-256."""
    def fails(directory: Path, fragment: str) -> None:
        code, _, err = _run(["report", str(directory), "-o", str(tmp_path / "r.html")], capsys)
        assert code == 2 and fragment in err and "Traceback" not in err, err

    other = tmp_path / "other"
    assert _run(["run", "-p", "jgb_life_insurer", "--out", str(other)], capsys)[0] == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(bundled_run["out"], mixed)
    shutil.copy(other / "summary.parquet", mixed / "summary.parquet")
    fails(mixed, "summary.parquet: not the file this set's run wrote (its content has changed "
                 "since: a file of another run?)")
    edited = tmp_path / "edited"
    shutil.copytree(bundled_run["out"], edited)
    frame = pl.read_parquet(edited / "summary.parquet")
    pl.concat([frame.head(43), frame.head(1)]).write_parquet(edited / "summary.parquet")
    fails(edited, "summary.parquet: not the file this set's run wrote")
    outside = tmp_path / "outside"
    shutil.copytree(bundled_run["out"], outside)
    manifest = json.loads((outside / MANIFEST).read_text())
    manifest["report"]["files"]["summary"] = "../other/summary.parquet"
    (outside / MANIFEST).write_text(json.dumps(manifest))
    fails(outside, "report file of summary: got '../other/summary.parquet'; expected the name "
                   "of a file in the set")


def test_report_reads_a_reverse_stress_file(bundled_run: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rev = tmp_path / "reverse.csv"
    hand_made_reverse().write_csv(rev)
    html = tmp_path / "r.html"
    code, _, err = _run(["report", str(bundled_run["out"]), "-o", str(html), "--reverse",
                         str(rev)], capsys)  # fmt: skip
    assert code == 0, err
    data = _page_data(html.read_text(encoding="utf-8"))
    reverse = data["reverse"]
    assert [s["label"] for s in reverse] == ["loss 50m", "loss 100m <i>"]  # type: ignore[union-attr]
    assert reverse[0]["move"][0] == 35.0  # type: ignore[index]
    rev.write_text("factor,size\nJPY 10Y,3\n")
    code, _, err = _run(["report", str(bundled_run["out"]), "-o", str(html), "--reverse",
                         str(rev)], capsys)  # fmt: skip
    assert code == 2 and "missing column(s) move" in err


def _reverse_set(directory: Path, loss: float, pnl: float, distance: float) -> Path:
    """A directory as `stress reverse --out` writes it."""
    directory.mkdir()
    (directory / MANIFEST).write_text(json.dumps({
        "files": ["moves.csv"], "loss": loss, "pnl": pnl, "distance": distance,
        "base_currency": "USD"}))  # fmt: skip
    pl.DataFrame({"factor": ["JPY.10Y", "FX.JPY"], "move": [20.0 * loss / 5e7, -2.0],
                  "unit": ["bp", "%"], "stdev": [8.0, 1.0],
                  "z": [2.5 * loss / 5e7, -2.0]}).write_csv(directory / "moves.csv")  # fmt: skip
    return directory


def test_report_reads_reverse_stress_output_sets(bundled_run: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    a = _reverse_set(tmp_path / "rev50", 5e7, -50_000_010.0, 3.25)
    b = _reverse_set(tmp_path / "rev100", 1e8, -99_999_990.0, 6.5)
    html = tmp_path / "r.html"
    code, _, err = _run(["report", str(bundled_run["out"]), "-o", str(html), "--reverse",
                         str(a), str(b)], capsys)  # fmt: skip
    assert code == 0, err
    reverse = _page_data(html.read_text(encoding="utf-8"))["reverse"]
    assert [s["label"] for s in reverse] == ["loss 50,000,000 USD", "loss 100,000,000 USD"]  # type: ignore[union-attr]
    assert [s["distance"] for s in reverse] == [3.25, 6.5]  # type: ignore[union-attr]
    assert reverse[1]["z"] == [5.0, -2.0] and reverse[1]["unit"] == ["bp", "%"]  # type: ignore[index]
    # The same set twice: the second keeps its own label.
    frame = read_reverses([a, a])
    assert frame["solution"].unique(maintain_order=True).to_list() == [
        "loss 50,000,000 USD", "loss 50,000,000 USD (rev50)"]  # fmt: skip
    (tmp_path / "other").mkdir()
    code, _, err = _run(["report", str(bundled_run["out"]), "-o", str(html), "--reverse",
                         str(tmp_path / "other")], capsys)  # fmt: skip
    assert code == 2 and "not a reverse-stress output set" in err


def test_reverse_stress_results_convert() -> None:
    from stress.reverse_stress import reverse

    result = reverse(MACRO, MARKET, 40e6)
    frame = reverse_frame(result)
    assert frame["solution"].unique().to_list() == ["loss 40,000,000 USD"]
    assert frame["factor"].to_list() == result.moves["factor"].to_list()
    assert frame["move"].to_list() == result.moves["move"].to_list()
    assert frame["distance"].unique().to_list() == [result.distance]
    assert frame["pnl"][0] == pytest.approx(-40e6, rel=2e-3)


def test_reverse_frames_are_checked() -> None:
    ok = check_reverse(pl.DataFrame({"factor": ["JPY 10Y"], "move": [12]}))
    want = {"solution": "reverse stress", "factor": "JPY 10Y", "unit": "", "move": 12.0,
            "z": None, "distance": None, "pnl": None}  # fmt: skip
    assert ok.row(0, named=True) == want
    with pytest.raises(ReportError, match="missing column"):
        check_reverse(pl.DataFrame({"factor": ["x"]}))
    with pytest.raises(ReportError, match="reverse stress"):
        check_reverse(pl.DataFrame({"factor": ["x"], "move": ["a lot"]}))
    with pytest.raises(ReportError, match="one value per solution"):
        check_reverse(pl.DataFrame({"factor": ["x", "y"], "move": [1.0, 2.0],
                                    "distance": [1.0, 2.0]}))  # fmt: skip


def test_report_target_must_be_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("plotly")
    code, _, err = _run(["run", "-s", "irrbb", "--report", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err


# --------------------------------------------------------------------------- plotly optional

_NO_PLOTLY = """
import sys
sys.modules["plotly"] = None  # as if not installed: importing it raises ImportError
from stress.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_without_plotly_report_is_a_one_line_error(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    for args in (["run", "-s", "irrbb", "--report", str(html)], ["report", str(tmp_path)]):
        proc = _python(_NO_PLOTLY, *args)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'stress[report]'" in lines[0], proc.stderr
        assert proc.stdout == ""  # refused before any work
    assert not html.exists()


def test_core_path_never_imports_plotly(tmp_path: Path) -> None:
    code = """
import sys
import stress, stress.cli
stress.run(stress.cli.portfolios.load(stress.cli.portfolios.sample_path("global_macro")),
           stress.Market.load(stress.default_market_path()), "irrbb")
assert stress.cli.main(["run", "-s", "jgb_2026", "--out", sys.argv[1]]) == 0
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("plotly", "playwright"))
print("LOADED", loaded)
"""
    proc = _python(code, str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout


# --------------------------------------------------------------------------- terminal


def _terminal(result: stress.StressResult, top: int | None) -> str:
    text = io.StringIO()
    print_run_report(Console(file=text, width=220, markup=False, highlight=False), result, top)
    return text.getvalue()


def test_terminal_ranks_within_families_and_pins_the_episode(macro_report: tuple) -> None:
    result, _ = macro_report
    out = _terminal(result, 5)
    assert "Scenarios ranked by P&L (USD)" in out and "Top contributors" in out
    assert "(the 5 worst of 44 scenarios; --top N shows more)" in out
    lines = out.splitlines()
    row = next(line for line in lines if "│ jgb_meltdown_2026" in line)
    rank = int(row.split("│")[1])
    assert rank > 5  # not among the worst, shown all the same
    assert f"is shown whatever its rank: #{rank}" in out
    # Families in order, the episode first; ranks rise within each family.
    shown = ("January 2026 JGB episode (1)", "Historical episodes (3 of 11 shown)",
             "Regulatory IRRBB (1 of 6 shown)", "Parallel grid (1 of 24 shown)")
    heads = [next(i for i, line in enumerate(lines) if f"│ {label}" in line) for label in shown]
    assert heads == sorted(heads)
    ranks = [int(line.split("│")[1]) for line in lines
             if re.match(r"^│ +\d+ │", line) and "│ historical" not in line
             and line.split("│")[2].strip() in {"global_rate_shock_2022", "bond_massacre_1994",
                                                 "dash_for_cash_2020"}]  # fmt: skip
    assert ranks == sorted(ranks) and len(ranks) == 3
    assert "DV01 by currency in the worst scenario" in out
    dv01 = next(line for line in lines if line.startswith("│ JPY ") and "→" in line)
    assert "-228,417 →" in dv01  # the short JGBs and JGB futures: negative DV01 in JPY


def test_terminal_shows_every_scenario_without_a_limit(macro_report: tuple) -> None:
    result, _ = macro_report
    out = _terminal(result, None)
    assert "worst of" not in out and "whatever its rank" not in out
    assert "Parallel grid (24)" in out and "Historical episodes (11)" in out


def test_terminal_risk_of_generated_sets(tmp_path: Path) -> None:
    result, _ = run_report(MACRO, MARKET, [generated(50, "historical", 3), "jgb_2026"])
    out = _terminal(result, 10)
    assert "VaR and expected shortfall of generated scenarios" in out
    risk = result.risk()  # over all 53, not the table's 50: check the table's own numbers
    assert "Historical simulation" in out and "99.0%" in out and "97.5%" in out
    assert risk.height == 2
