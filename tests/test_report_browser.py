"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) driven by
playwright, one browser for the session, every network request blocked.

Each test opens a report, checks that nothing was fetched and nothing went wrong (no console
error, no page error, no dialog), that every chart drew its marks, and then works the page as a
reader would: the family filter, the name filter, the scenario chooser, a click on a bar. A
screenshot of each page is saved under the test's tmp directory.

The tests skip, saying why, when Chromium (``apt-get install chromium``) or playwright
(``pip install playwright``; never ``playwright install``: it downloads its own browser) is
missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import portfolios
import stress
from stress.htmlreport import fmt_amount
from stress.reportdata import REPORT_TENORS, read, run_report
from tests.report_cases import (
    HOSTILE_DESCRIPTION,
    HOSTILE_POSITION,
    HOSTILE_SCENARIO,
    full_scenarios,
    hand_made_reverse,
    hostile_files,
)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the session, with a fresh profile."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (the browser tests "
                    "need it)")  # fmt: skip
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install playwright"
    )
    pw = sync_api.sync_playwright().start()
    try:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1366, "height": 900},
        )
    except Exception as exc:  # a broken install: say so rather than fail every test
        pw.stop()
        pytest.skip(f"Chromium at {CHROMIUM} did not start under playwright: {exc}")
    try:
        yield context
    finally:
        context.close()
        pw.stop()


@dataclass
class Opened:
    page: Any
    requests: list[str] = field(default_factory=list)  # every request the page made
    blocked: list[str] = field(default_factory=list)  # those that left the file
    problems: list[str] = field(default_factory=list)  # console errors, page errors, dialogs
    seconds: float = 0.0


def _open(browser: Any, path: Path) -> Opened:
    page = browser.new_page()
    opened = Opened(page)
    uri = path.resolve().as_uri()

    def route(r: Any) -> None:
        if r.request.url == uri:
            r.continue_()
        else:
            opened.blocked.append(r.request.url)
            r.abort()

    def dialog(d: Any) -> None:
        opened.problems.append(f"dialog: {d.message}")
        d.dismiss()

    page.route("**/*", route)
    page.on("request", lambda r: opened.requests.append(r.url))
    page.on("console", lambda m: opened.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "assert") else None)  # fmt: skip
    page.on("pageerror", lambda e: opened.problems.append(f"page error: {e}"))
    page.on("dialog", dialog)
    start = time.perf_counter()
    page.goto(uri)
    page.wait_for_selector("body[data-ready='1']", timeout=LOAD_TIMEOUT_MS)
    opened.seconds = time.perf_counter() - start
    return opened


#: Every chart on show (sections without data stay hidden) with its traces and drawn marks
#: (bars, points, lines: SVG paths inside the traces' groups).
CHARTS_JS = """() => Array.from(document.querySelectorAll('.chart'))
.filter(d => d.closest('[hidden]') === null).map(d => ({
  id: d.id,
  plot: d.classList.contains('js-plotly-plot'),
  traces: (d.data || []).length,
  marks: d.querySelectorAll('.cartesianlayer .trace path').length,
  empty: d.querySelector('.empty') ? d.querySelector('.empty').textContent : null,
}))"""


def _charts(page: Any) -> list[dict[str, Any]]:
    charts: list[dict[str, Any]] = page.evaluate(CHARTS_JS)
    return charts


def _offline_and_clean(opened: Opened) -> None:
    assert opened.blocked == []  # no network request was even attempted
    assert set(opened.requests) == {opened.page.url}
    assert opened.problems == []


def _ranked_names(page: Any) -> list[str]:
    names: list[str] = page.evaluate(
        "() => { const d = document.getElementById('chart-ranked');"
        " return d.data ? d.data[0].y[1] : []; }"
    )
    return names


def _bars(page: Any) -> int:
    n: int = page.locator("#chart-ranked .barlayer .trace").first.locator(".point").count()
    return n


def _choose(page: Any, name: str) -> None:
    value = page.evaluate(
        "(name) => Array.from(document.querySelectorAll('#chooser option'))"
        ".find(o => o.textContent.startsWith(name + '  (')).value",
        name,
    )
    page.select_option("#chooser", value)


def _trace_y(page: Any, chart: str, name: str) -> list[float]:
    y: list[float] = page.evaluate(
        "([chart, name]) => document.getElementById(chart).data.find(t => t.name === name).y",
        [chart, name],
    )
    return y


def test_bundled_report_in_a_browser(browser: Any, bundled_run: dict[str, Path],
                                     tmp_path: Path) -> None:  # fmt: skip
    """`stress run --report` on the bundled defaults: offline, clean, every chart drawn, the
    filter and the chooser working, the numbers those of the output set."""
    opened = _open(browser, bundled_run["html"])
    page = opened.page
    _offline_and_clean(opened)
    charts = _charts(page)
    # Ranking, 4 cards of 6 (3 worst + the January 2026 episode), the chooser's card,
    # key rates, Taylor and residual.
    assert len(charts) == 1 + 4 * 6 + 6 + 1 + 2
    for c in charts:
        assert c["plot"] and c["traces"] and c["marks"], c

    data = read(bundled_run["out"])
    summary = data.summary.sort("pnl")
    worst = str(summary["scenario"][0])
    # The header and the key figures, formatted in the base currency.
    facts = page.text_content("#facts")
    for text in ("global_macro", "17", "2026-01-20", "USD", "all (43 scenarios)"):
        assert text in facts
    assert f"{fmt_amount(summary['pnl'][0])} USD" in page.text_content(".figures")

    # The filter: families and names.
    assert len(_ranked_names(page)) == 43 and _bars(page) == 43
    page.uncheck("input[data-family='parallel']")
    assert len(_ranked_names(page)) == 43 - 24 and _bars(page) == 43 - 24
    assert not any(n.startswith("parallel_") for n in _ranked_names(page))
    page.fill("#name-filter", "irrbb")
    assert sorted(_ranked_names(page)) == sorted(
        n for n in data.scenarios["scenario"].to_list() if n.startswith("irrbb")
    )
    assert page.locator("#table-ranked tbody tr:not(.family-row)").count() == 6
    page.click("#filter-none")
    assert page.text_content("#chart-ranked .empty") == "No scenario matches the filter."
    page.click("#filter-all")
    page.fill("#name-filter", "")
    assert len(_ranked_names(page)) == 43

    # The chooser shows the worst first, then any scenario: the curve shift is the one the
    # output set holds (the resolved arrays), the headline the summary's P&L.
    assert page.text_content("#chosen-card h3").startswith(worst)
    before = _trace_y(page, "chosen-shift", "JPY")
    _choose(page, "jgb_meltdown_2026")
    assert page.text_content("#chosen-card h3").startswith("jgb_meltdown_2026")
    shifts = data.curve_shifts.filter(
        (pl.col("scenario") == "jgb_meltdown_2026") & (pl.col("curve") == "JPY")
    )
    want = dict(zip(shifts["tenor"], shifts["shift_bp"], strict=True))
    got = _trace_y(page, "chosen-shift", "JPY")
    assert got != before
    assert got == pytest.approx([want[t] for t in REPORT_TENORS], abs=1e-6)
    assert got[REPORT_TENORS.index("40Y")] == pytest.approx(50.0)
    pnl = data.summary.filter(pl.col("scenario") == "jgb_meltdown_2026")["pnl"][0]
    assert f"P&L {fmt_amount(pnl)} USD" in page.text_content("#chosen-card .headline")
    assert "+50.0" in page.text_content("#chosen-shift-table")

    # A click on a bar of the ranking chooses that scenario.
    names = _ranked_names(page)
    k = names.index("irrbb_parallel_up")
    bar = page.locator("#chart-ranked .barlayer .trace").first.locator(".point").nth(k)
    box = bar.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => document.querySelector('#chosen-card h3').textContent"
        ".startsWith('irrbb_parallel_up')",
        timeout=5_000,
    )
    shot = tmp_path / "bundled_report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    print(f"\nscreenshot: {shot} (page ready in {opened.seconds:.1f} s, drawn in "
          f"{page.get_attribute('body', 'data-render-ms')} ms)")  # fmt: skip

    # Printed: no controls, every scenario table shown.
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.getElementById('filter')).display") == "none"
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("document.querySelector('.table-details').open")
    assert opened.problems == []
    page.close()


def test_hostile_and_generated_report_in_a_browser(browser: Any, tmp_path: Path) -> None:
    """User text with markup in every place, generated sets (historical windows, Monte
    Carlo) and a reverse-stress result."""
    pytest.importorskip("plotly")
    from stress.htmlreport import write_html

    book_path, scen_path = hostile_files(tmp_path)
    market = stress.Market.load(stress.default_market_path())
    _, data = run_report(portfolios.load(book_path), market, full_scenarios(scen_path, 60, 80),
                         book_name="<b>book</b>")  # fmt: skip
    html = tmp_path / "hostile.html"
    write_html(data.with_reverse(hand_made_reverse()), html)
    opened = _open(browser, html)
    page = opened.page
    _offline_and_clean(opened)  # no alert() ran: a dialog would be a problem
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 3
    for c in _charts(page):
        assert c["plot"] and c["traces"] and c["marks"], c

    # Text shown as text: the header, tick labels of the ranking, the chooser and the card.
    assert "<b>book</b>" in page.text_content("#facts")
    ticks = page.evaluate(
        "() => Array.from(document.querySelectorAll('#chart-ranked text')).map(t => t.textContent)"
    )
    assert HOSTILE_SCENARIO in ticks
    _choose(page, HOSTILE_SCENARIO)
    title = page.text_content("#chosen-card h3")
    assert title.startswith(HOSTILE_SCENARIO)
    assert page.text_content("#chosen-card .description") == HOSTILE_DESCRIPTION
    assert HOSTILE_POSITION in page.text_content("#chosen-contributor-table")

    # Generated sets: histogram with VaR and ES, P&L through time for the windows.
    assert page.is_visible("#generated")
    for family in ("historical_simulation", "monte_carlo"):
        hist = page.evaluate(f"document.getElementById('chart-hist-{family}').data[0].x.length")
        assert hist == {"historical_simulation": 60, "monte_carlo": 80}[family]
        lines = page.locator(f"#chart-hist-{family} .shapelayer path").count()
        assert lines == 4  # VaR and ES at 99 % and 97.5 %
    dates = page.evaluate("document.getElementById('chart-series-historical_simulation')"
                          ".data[0].x")  # fmt: skip
    assert dates[0] == "2019-01-02" and dates == sorted(dates) and len(dates) == 60
    assert page.locator("#chart-series-monte_carlo").count() == 0
    risk = data.risk_by_family.filter(pl.col("family") == "monte_carlo")
    risk = risk.sort("level", descending=True)
    table = page.text_content("#table-risk-monte_carlo")
    assert fmt_amount(risk["var"][0]) in table and fmt_amount(risk["es"][1]) in table

    # Reverse stress: the moves of the chosen solution and the frontier.
    assert page.is_visible("#reverse")
    moves = page.evaluate("document.getElementById('chart-reverse-moves').data[0].x")
    assert moves == [35.0, 60.0, 40.0, -3.0, -6.0]
    page.select_option("#reverse-chooser", "1")
    moves = page.evaluate("document.getElementById('chart-reverse-moves').data[0].x")
    assert moves == pytest.approx([63.0, 108.0, 72.0, -5.4, -10.8])
    summary = page.text_content("#reverse-summary")
    assert summary == "loss 100m <i>: P&L -100,000,000 USD, distance 3.40"
    assert page.locator("#chart-reverse-frontier .cartesianlayer .trace .point").count() == 2

    shot = tmp_path / "hostile_report.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot} (page ready in {opened.seconds:.1f} s)")
    assert opened.problems == []
    page.close()
