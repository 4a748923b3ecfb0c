"""The HTML report: one self-contained file (plotly.js, the page's script and style inline, the
data as JSON) that opens offline and prints.

``payload`` turns the report data into the JSON the page draws from; ``render`` writes the page.
Only ``render`` needs plotly (for its bundled plotly.js); ``import stress`` and a run without
``--report`` never import it.

Every piece of user text (position ids, scenario names, descriptions, sources, file names) is
escaped: the static part with ``html.escape``; the JSON with ``<``, ``>``, ``&`` and the line
separators written as ``\\u`` escapes, so no text can close the script element that holds it;
the page's script puts text into the document only as text nodes and escapes it for plotly's
labels, which read a little HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from stress.families import BY_KEY, JGB_2026, ORDER, window_end
from stress.groups import MATURITY_BUCKETS, MISSING
from stress.io import OutputError, os_reason, write_bytes
from stress.pricing import KEY_TENORS
from stress.reportdata import (
    KEY_RATE_COLUMNS,
    REPORT_TENORS,
    ReportData,
    ReportError,
    detailed_scenarios,
)

#: Shown for a missing number (an en dash), here and in the page's script.
MISSING_TEXT = "\u2013"
#: Install hint named by every error about a missing plotly.
INSTALL_HINT = "pip install 'stress[report]'"
#: Scenarios of a generated family listed one by one (ranking, Taylor scatter); the histogram
#: and the time series always hold all of them.
LISTED_PER_GENERATED = 200
#: Worst scenarios shown as cards of their own.
WORST_CARDS = 3

_PARTS = ("pnl", "pnl_rates", "pnl_spread", "pnl_fx", "pnl_gold", "pnl_cross")


def require_plotly() -> None:
    """Raise ReportError (one line, naming the install command) when plotly is missing."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise ReportError(
            f"the HTML report needs plotly, which is not installed: {INSTALL_HINT}"
        ) from None


# --------------------------------------------------------------------------- formatting


def fmt_amount(x: float | None) -> str:
    """An amount in whole units of the base currency with thousands separators; ``-`` for a
    missing number, ``0`` (never ``-0``) for less than half a unit. The page's script formats
    the same way."""
    if x is None or not math.isfinite(x):
        return MISSING_TEXT
    if abs(x) < 0.5:
        return "0"
    return f"{x:,.0f}"


def fmt_number(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return MISSING_TEXT
    return f"{x:,.{digits}f}"


def fmt_seconds(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return MISSING_TEXT
    return f"{x:.2f} s" if x < 60 else f"{int(x // 60)} min {x % 60:.0f} s"


def json_for_script(value: Any) -> str:
    """JSON that can sit inside a ``<script>`` element whatever text it holds."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for a, b in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(a, b)
    return text


Numbers = Sequence[Any] | np.ndarray | pl.Series


def _clean(values: Numbers, digits: int) -> list[float | None]:
    """Floats for JSON: rounded to ``digits`` decimals, NaN/inf/null as None."""
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64).to_numpy()
    out: list[float | None] = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        out.append(round(v, digits) if math.isfinite(v) else None)
    return out


def _amounts(values: Numbers) -> list[float | None]:
    return _clean(values, 2)


def _ratios(values: Numbers) -> list[float | None]:
    return _clean(values, 6)


# --------------------------------------------------------------------------- payload


def payload(data: ReportData) -> dict[str, Any]:
    """The JSON the page draws from (see the module docstring of ``stress.reportdata``)."""
    summary = data.summary.join(
        data.scenarios.select("scenario", "family"), on="scenario", how="left"
    ).with_columns(pl.col("family").fill_null("user"))
    summary = summary.with_row_index("run_order").with_columns(
        pl.col("family").replace_strict(ORDER, default=len(ORDER)).alias("family_order")
    )
    ranked = summary.sort("pnl", "run_order")
    rank = dict(zip(ranked["scenario"].to_list(), range(1, ranked.height + 1), strict=True))
    ordered = summary.sort("family_order", "pnl", "run_order")
    present = list(dict.fromkeys(ordered["family"].to_list()))
    counts = ordered["family"].value_counts()
    count = dict(zip(counts["family"].to_list(), counts["count"].to_list(), strict=True))
    families = [
        {"key": k, "label": BY_KEY[k].label, "generated": BY_KEY[k].generated, "n": count[k]}
        for k in present
    ]
    fam_index = {k: i for i, k in enumerate(present)}

    # Listed scenarios: every one of the named families; the worst of each generated one.
    per_family_rank = ordered.with_columns(
        pl.int_range(pl.len()).over("family").alias("family_rank")
    )
    generated = pl.col("family").is_in([k for k in present if BY_KEY[k].generated])
    listed = per_family_rank.filter(~generated | (pl.col("family_rank") < LISTED_PER_GENERATED))
    names = listed["scenario"].to_list()
    # Those shown in full (stress.reportdata.detailed_scenarios), all of them listed.
    listed_names = set(names)
    detailed = [
        n
        for n in detailed_scenarios(
            summary["scenario"].to_list(), summary["pnl"].to_numpy(), summary["family"].to_list()
        )
        if n in listed_names
    ]
    detail_index = {n: i for i, n in enumerate(detailed)}
    dates = [window_end(n) for n in names]
    scen = {
        "name": names,
        "family": [fam_index[f] for f in listed["family"].to_list()],
        "rank": [rank[n] for n in names],
        **{c: _amounts(listed[c]) for c in (*_PARTS, "taylor_pnl", "taylor_residual")},
        **{
            c: _ratios(listed[c])
            for c in ("duration_before", "duration_after", "convexity_before", "convexity_after")
        },
        "dv01_before": _amounts(listed["dv01_before"]),
        "dv01_after": _amounts(listed["dv01_after"]),
        "date": [d.isoformat() if d else None for d in dates],
        "detail": [detail_index.get(n, -1) for n in names],
    }
    row_of = {n: i for i, n in enumerate(names)}
    curves = sorted(set(data.curve_shifts["curve"].to_list()))
    fx_ccy = sorted(set(data.fx_moves["currency"].to_list()))
    parts = _partitions(data, detailed)
    details = [_detail(parts, name, row_of[name], curves, fx_ccy) for name in detailed]
    worst_cards = [detail_index[n] for n in ranked["scenario"].head(WORST_CARDS).to_list()]
    pinned = (
        detail_index[JGB_2026]
        if JGB_2026 in detail_index and detail_index[JGB_2026] not in worst_cards
        else None
    )
    return {
        "meta": {
            **{k: data.header.get(k) for k in ("book", "base_currency", "valuation_date")},
            "scenarios": ordered.height,
        },
        "families": families,
        "tenors": list(REPORT_TENORS),
        "curves": curves,
        "fx_currencies": fx_ccy,
        "scen": scen,
        "details": details,
        "worst_cards": worst_cards,
        "pinned_card": pinned,
        "key_rates": _key_rates(data),
        "distributions": _distributions(data, ordered, present),
        "reverse": _reverse(data.reverse_stress),
    }


def _by(rows: pl.DataFrame, label: str, order: Sequence[str] | None = None) -> dict[str, Any]:
    if order is not None:
        rank = {v: i for i, v in enumerate(order)}
        rows = rows.sort(pl.col(label).replace_strict(rank, default=len(rank)))
    return {
        "label": rows[label].to_list(),
        **{
            c: _amounts(rows[c])
            for c in (*_PARTS, "pv_before", "pv_after", "dv01_before", "dv01_after")
        },
        **{
            c: _ratios(rows[c])
            for c in ("duration_before", "duration_after", "convexity_before", "convexity_after")
        },
    }


_PER_SCENARIO = ("scenarios", "curve_shifts", "fx_moves", "worst", "by_currency",
                 "by_maturity_bucket")  # fmt: skip


def _partitions(data: ReportData, names: list[str]) -> dict[str, dict[str, pl.DataFrame]]:
    """The per-scenario frames' rows of each of ``names``, split by scenario once."""
    out: dict[str, dict[str, pl.DataFrame]] = {}
    for part in _PER_SCENARIO:
        frame: pl.DataFrame = getattr(data, part)
        rows = frame.filter(pl.col("scenario").is_in(names))
        split = rows.partition_by("scenario", as_dict=True, maintain_order=True)
        out[part] = {str(k[0]): v for k, v in split.items()}
        out[part]["\0empty"] = frame.head(0)
    return out


def _detail(
    parts: dict[str, dict[str, pl.DataFrame]],
    name: str,
    row: int,
    curves: list[str],
    fx_ccy: list[str],
) -> dict[str, Any]:
    def rows(part: str) -> pl.DataFrame:
        return parts[part].get(name, parts[part]["\0empty"])

    info = rows("scenarios")
    first = info.row(0, named=True) if info.height else {}
    shifts = rows("curve_shifts")
    by_curve = {
        c: _ratios(
            shifts.filter(pl.col("curve") == c).sort(
                pl.col("tenor").replace_strict(
                    {t: i for i, t in enumerate(REPORT_TENORS)}, default=len(REPORT_TENORS)
                )
            )["shift_bp"]
        )
        for c in curves
    }
    fx = rows("fx_moves")
    fx_pct = dict(zip(fx["currency"].to_list(), fx["pct"].to_list(), strict=True))
    worst = rows("worst").sort("rank")
    buckets = [b[0] for b in MATURITY_BUCKETS] + [MISSING]
    return {
        "row": row,
        "description": first.get("description") or "",
        "source": first.get("source") or "",
        "origin": first.get("origin") or "",
        "shifts": by_curve,
        "fx": _ratios([fx_pct.get(c, 0.0) for c in fx_ccy]),
        "gold": _ratios([first.get("gold_pct") or 0.0])[0],
        "contributors": {
            "label": worst["position_id"].to_list(),
            **{c: _amounts(worst[c]) for c in _PARTS},
            **{c: _ratios(worst[c]) for c in ("duration_before", "duration_after")},
        },
        "by_currency": _by(rows("by_currency"), "currency"),
        "by_bucket": _by(rows("by_maturity_bucket"), "maturity_bucket", buckets),
    }


def _key_rates(data: ReportData) -> dict[str, Any]:
    kr = data.key_rate_dv01.sort("currency")
    first = data.by_currency.filter(
        pl.col("scenario") == (data.summary["scenario"][0] if data.summary.height else "")
    )
    before = {
        r["currency"]: r for r in first.iter_rows(named=True)
    }  # risk before is the same in every scenario
    ccy = kr["currency"].to_list()
    return {
        "currency": ccy,
        "tenors": [f"{k:g}Y" for k in KEY_TENORS],
        "pv": _amounts(kr["pv_base"]),
        "dv01": _amounts(kr["dv01"]),
        "kr": [_amounts(list(row)) for row in kr.select(KEY_RATE_COLUMNS).iter_rows()],
        "duration": _ratios([before.get(c, {}).get("duration_before", math.nan) for c in ccy]),
        "convexity": _ratios([before.get(c, {}).get("convexity_before", math.nan) for c in ccy]),
    }


def _distributions(
    data: ReportData, ordered: pl.DataFrame, present: list[str]
) -> list[dict[str, Any]]:
    out = []
    for key in present:
        if not BY_KEY[key].generated:
            continue
        rows = ordered.filter(pl.col("family") == key)
        dates = [window_end(n) for n in rows["scenario"].to_list()]
        series = None
        if all(d is not None for d in dates):
            pairs = sorted(
                (d.isoformat(), p)  # type: ignore[union-attr]
                for d, p in zip(dates, rows["pnl"].to_list(), strict=True)
            )
            series = {"date": [d for d, _ in pairs], "pnl": _amounts([p for _, p in pairs])}
        risk = data.risk_by_family.filter(pl.col("family") == key)
        out.append(
            {
                "family": key,
                "label": BY_KEY[key].label,
                "pnl": _amounts(rows["pnl"]),
                "series": series,
                "risk": [
                    {
                        "level": r["level"],
                        "var": _amounts([r["var"]])[0],
                        "es": _amounts([r["es"]])[0],
                        "tail": r["tail"],
                        "worst": r["worst_scenario"],
                    }
                    for r in risk.iter_rows(named=True)
                ],
            }
        )
    return out


def _reverse(frame: pl.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None or frame.is_empty():
        return None
    out = []
    for (label,), rows in frame.group_by("solution", maintain_order=True):
        out.append(
            {
                "label": str(label),
                "distance": _ratios([rows["distance"][0]])[0],
                "pnl": _amounts([rows["pnl"][0]])[0],
                "factor": rows["factor"].to_list(),
                "unit": rows["unit"].to_list(),
                "move": _ratios(rows["move"]),
                "z": _ratios(rows["z"]),
            }
        )
    return out


# --------------------------------------------------------------------------- page


def _asset(name: str) -> str:
    return (resources.files("stress.htmlreport") / name).read_text(encoding="utf-8")


def _header(data: ReportData) -> str:
    h = data.header
    e = html.escape
    rejected = int(h.get("rejected_rows") or 0)
    positions = f"{int(h.get('positions') or 0):,}"
    if rejected:
        positions += f" ({rejected:,} rows rejected)"
    started = str(h.get("run_started") or "")
    try:
        when = dt.datetime.fromisoformat(started)
        started = when.strftime("%Y-%m-%d %H:%M %Z").strip()
    except ValueError:
        pass
    facts = [
        ("Book", str(h.get("book") or ""), str(h.get("portfolio") or "")),
        ("Positions", positions, ""),
        ("Market date", str(h.get("valuation_date") or ""), str(h.get("market") or "")),
        ("Base currency", str(h.get("base_currency") or ""), ""),
        (
            "Scenario set",
            f"{h.get('scenario_set') or ''} ({int(h.get('scenarios') or 0):,} scenarios)",
            "",
        ),
        ("Run", f"{started}, {fmt_seconds(h.get('run_seconds'))}", ""),
    ]
    items = "".join(
        f'<div class="fact"><dt>{e(k)}</dt><dd{f" title={chr(34)}{e(t)}{chr(34)}" if t else ""}>'
        f"{e(v)}</dd></div>"
        for k, v, t in facts
    )
    return f'<dl class="facts" id="facts">{items}</dl>'


def _key_figures(data: ReportData) -> str:
    e = html.escape
    base = data.base_currency
    s = data.summary.sort("pnl", maintain_order=True)
    cards = []
    if s.height:
        w = s.row(0, named=True)
        cards.append(("Worst scenario", str(w["scenario"]), f"{fmt_amount(w['pnl'])} {base}"))
    j = data.summary.filter(pl.col("scenario") == JGB_2026)
    if j.height:
        cards.append(("January 2026 JGB episode", JGB_2026, f"{fmt_amount(j['pnl'][0])} {base}"))
    if s.height:
        dv01 = float(s["dv01_before"][0])
        cards.append(
            (
                "DV01 before (whole book)",
                "loss for +1 bp on every curve",
                f"{fmt_amount(dv01)} {base}",
            )
        )
        pv = float(s["pv_before"][0])
        cards.append(("Book value before", "all positions", f"{fmt_amount(pv)} {base}"))
    for r in data.risk_by_family.filter(pl.col("level") == 0.99).iter_rows(named=True):
        cards.append(
            (
                f"VaR 99% ({BY_KEY[r['family']].label})",
                f"ES {fmt_amount(r['es'])}",
                f"{fmt_amount(r['var'])} {base}",
            )
        )
    return "".join(
        f'<div class="figure"><div class="figure-title">{e(t)}</div>'
        f'<div class="figure-value">{e(v)}</div><div class="figure-note">{e(n)}</div></div>'
        for t, n, v in cards
    )


def write_html(data: ReportData, path: Path) -> int:
    """Write the page of ``data`` to ``path`` atomically (a temporary file renamed into
    place); returns its size in bytes."""
    text = render(data).encode("utf-8")
    try:
        write_bytes(path, text)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the report here ({os_reason(exc, path)})"
                          ) from exc
    return len(text)


def render(data: ReportData) -> str:
    """The whole page as one string."""
    require_plotly()
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    found = re.search(r"plotly\.js v([0-9][0-9A-Za-z.+-]*)", js[:2000])
    h = data.header
    e = html.escape
    title = f"Stress report: {h.get('book') or ''}, {h.get('valuation_date') or ''}"
    body = _asset("report.html")
    replacements = {
        "{{title}}": e(title),
        "{{csp}}": (
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; "
            "base-uri 'none'"
        ),
        "{{style}}": _asset("report.css"),
        "{{facts}}": _header(data),
        "{{figures}}": _key_figures(data),
        "{{base}}": e(data.base_currency),
        "{{version}}": e(str(h.get("stress_version") or "")),
        "{{plotly_version}}": e(found.group(1) if found else "(bundled)"),
        "{{data}}": json_for_script(payload(data)),
        "{{plotly}}": js,
        "{{script}}": _asset("report.js"),
    }
    # One pass, in template order: a replacement's text is never searched again, so user
    # text that looks like a placeholder stays text.
    out = []
    rest = body
    while True:
        i = rest.find("{{")
        if i < 0:
            out.append(rest)
            break
        j = rest.index("}}", i) + 2
        out.append(rest[:i])
        out.append(replacements[rest[i:j]])
        rest = rest[j:]
    return "".join(out)
