/* The stress report page: draws every chart and table from the JSON in #report-data.
 * User text (scenario names, position ids, descriptions) reaches the document only as text
 * nodes (textContent), and plotly labels only through esc(): plotly reads a little HTML in
 * its labels, so "<" and "&" are written as entities there. */
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("report-data").textContent);
  var BASE = D.meta.base_currency || "";
  var S = D.scen;
  var FAM = D.families;
  var COLORS = { rates: "#3769a6", fx: "#e08a2c", gold: "#c9a227", cross: "#8d96a0" };
  var PARTS = [
    ["pnl_rates", "rates", COLORS.rates],
    ["pnl_fx", "FX", COLORS.fx],
    ["pnl_gold", "gold", COLORS.gold],
    ["pnl_cross", "cross", COLORS.cross]
  ];
  var CURVE_COLORS = ["#3769a6", "#c0392b", "#2e8b57", "#8e44ad", "#e08a2c", "#16a2b8",
    "#7f6a3b", "#d35d9c", "#555555"];
  var FAMILY_COLORS = ["#b3261e", "#e08a2c", "#3769a6", "#2e8b57", "#8d96a0", "#8e44ad",
    "#16a2b8", "#7f6a3b", "#d35d9c", "#555555"];
  var MAX_BARS_PER_FAMILY = 40;
  var MAX_BARS_PER_GENERATED = 15;  // their histogram shows them all
  /* One colour per currency, the same in every chart. */
  var CCY = D.curves.concat(D.key_rates.currency).filter(function (c, i, a) {
    return a.indexOf(c) === i;
  }).sort();
  function ccyColor(c) {
    var i = CCY.indexOf(c);
    return CURVE_COLORS[(i < 0 ? CCY.length : i) % CURVE_COLORS.length];
  }
  var CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]
  };
  var NF0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

  // ------------------------------------------------------------------ formatting
  function finite(x) { return typeof x === "number" && isFinite(x); }
  function amount(x) {
    if (!finite(x)) { return "\u2013"; }
    if (Math.abs(x) < 0.5) { return "0"; }
    return NF0.format(x);
  }
  function fixed(x, d) {
    if (!finite(x)) { return "\u2013"; }
    return new Intl.NumberFormat("en-US", { minimumFractionDigits: d,
      maximumFractionDigits: d }).format(x);
  }
  function signed(x, d) {
    if (!finite(x)) { return "\u2013"; }
    var s = fixed(x, d);
    return x > 0 ? "+" + s : s;
  }
  function arrow(a, b, d) { return fixed(a, d) + " \u2192 " + fixed(b, d); }
  function arrowAmount(a, b) { return amount(a) + " \u2192 " + amount(b); }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function pct(x) { return finite(x) ? (x * 100).toFixed(1).replace(/\.0$/, "") + "%" : ""; }

  // ------------------------------------------------------------------ DOM helpers
  function el(tag, attrs) {
    var e = document.createElement(tag);
    var k;
    attrs = attrs || {};
    for (k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) { continue; }
      if (k === "class") { e.className = attrs[k]; }
      else if (k === "text") { e.textContent = attrs[k]; }
      else { e.setAttribute(k, attrs[k]); }
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) { continue; }
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }
  function byId(id) { return document.getElementById(id); }

  /* A table: columns [{label, cls}], rows of cells (string, or {text, cls}). */
  function fillTable(table, columns, rows) {
    while (table.firstChild) { table.removeChild(table.firstChild); }
    var head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", { "class": c.cls || "", text: c.label })); });
    table.appendChild(el("thead", {}, head));
    var body = el("tbody");
    rows.forEach(function (r) {
      if (r.family) {
        body.appendChild(el("tr", { "class": "family-row" },
          el("td", { colspan: String(columns.length), text: r.family })));
        return;
      }
      var tr = el("tr");
      r.forEach(function (cell, i) {
        var c = typeof cell === "object" && cell !== null ? cell : { text: cell };
        var cls = (columns[i].cls || "") + (c.cls ? " " + c.cls : "");
        tr.appendChild(el("td", { "class": cls.trim(), text: c.text }));
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
  }
  function moneyCell(x) { return { text: amount(x), cls: finite(x) && x <= -0.5 ? "neg" : "" }; }

  // ------------------------------------------------------------------ plotly helpers
  /* Fixed margins: plotly's automargin redraws each chart until its margins settle, which
   * made the page three times slower to draw. */
  function layout(title, extra) {
    var base = {
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size: 12,
        color: "#1d232b" },
      margin: { l: 84, r: 16, t: title ? 62 : 34, b: 50 },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      separators: ".,",
      hoverlabel: { namelength: -1 },
      legend: { orientation: "h", x: 0, xanchor: "left", y: 1.0, yanchor: "bottom",
        font: { size: 11 } },
      title: { text: title || "", font: { size: 13 }, x: 0, xref: "container", xanchor: "left",
        y: 1, yref: "container", yanchor: "top", pad: { t: 8, l: 4 } }
    };
    var k;
    for (k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { base[k] = extra[k]; } }
    return base;
  }
  function axis(extra) {
    var a = { gridcolor: "#e8ebef", zerolinecolor: "#9aa3ad", automargin: false };
    var k;
    for (k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { a[k] = extra[k]; } }
    return a;
  }
  /* Left margin (px) for category labels of n characters at 11 px. */
  function labelMargin(labels, extra) {
    var n = 0;
    labels.forEach(function (l) { n = Math.max(n, String(l).length); });
    return Math.min(420, Math.round(12 + 6.4 * n + (extra || 0)));
  }
  var drawn = [];
  function draw(div, traces, lay) {
    if (drawn.indexOf(div) < 0) { drawn.push(div); }
    return Plotly.react(div, traces, lay, CONFIG);
  }
  function empty(div, text) {
    while (div.firstChild) { div.removeChild(div.firstChild); }
    div.appendChild(el("p", { "class": "empty", text: text }));
  }

  /* Stacked P&L parts per label, with the total as a marker. Horizontal: labels on y. */
  function partTraces(labels, src, horizontal, hoverNames) {
    var traces = PARTS.map(function (p) {
      var t = { type: "bar", name: p[1], marker: { color: p[2] },
        customdata: hoverNames || labels,
        hovertemplate: "%{customdata}<br>" + p[1] + ": %{" + (horizontal ? "x" : "y") +
          ":,.0f} " + esc(BASE) + "<extra></extra>" };
      if (horizontal) { t.orientation = "h"; t.y = labels; t.x = src[p[0]]; }
      else { t.x = labels; t.y = src[p[0]]; }
      return t;
    });
    var total = { type: "scatter", mode: "markers", name: "P&L",
      marker: { symbol: "diamond", size: 9, color: "#111", line: { color: "#fff", width: 1 } },
      customdata: hoverNames || labels,
      hovertemplate: "%{customdata}<br>P&L: %{" + (horizontal ? "x" : "y") + ":,.0f} " +
        esc(BASE) + "<extra></extra>" };
    if (horizontal) { total.y = labels; total.x = src.pnl; }
    else { total.x = labels; total.y = src.pnl; }
    traces.push(total);
    return traces;
  }

  // ------------------------------------------------------------------ ranking + filter
  var filterState = { families: FAM.map(function () { return true; }), text: "" };

  function visibleRows() {
    var byFamily = FAM.map(function () { return []; });
    var needle = filterState.text.toLowerCase();
    for (var i = 0; i < S.name.length; i++) {
      var f = S.family[i];
      if (!filterState.families[f]) { continue; }
      if (needle && S.name[i].toLowerCase().indexOf(needle) < 0) { continue; }
      byFamily[f].push(i);
    }
    return byFamily; // each family's scenarios are already ranked by P&L, worst first
  }

  function drawRanking() {
    var groups = visibleRows();
    var famLabels = [], names = [], hover = [], rowsIdx = [];
    var shown = 0, matching = 0;
    var tableRows = [];
    groups.forEach(function (idx, f) {
      if (!idx.length) { return; }
      matching += idx.length;
      var keep = idx.slice(0, FAM[f].generated ? MAX_BARS_PER_GENERATED : MAX_BARS_PER_FAMILY);
      var label = FAM[f].label + (keep.length < FAM[f].n ? " (" + keep.length + " of " +
        NF0.format(FAM[f].n) + ")" : "");
      tableRows.push({ family: label });
      keep.forEach(function (i) {
        famLabels.push(esc(label));
        names.push(esc(S.name[i]));
        hover.push(esc(S.name[i]) + " (#" + S.rank[i] + ")");
        rowsIdx.push(i);
        tableRows.push([String(S.rank[i]), S.name[i], moneyCell(S.pnl[i]),
          moneyCell(S.pnl_rates[i]), moneyCell(S.pnl_fx[i]), moneyCell(S.pnl_gold[i]),
          moneyCell(S.pnl_cross[i]), arrow(S.duration_before[i], S.duration_after[i], 2),
          arrowAmount(S.dv01_before[i], S.dv01_after[i]), moneyCell(S.taylor_pnl[i]),
          moneyCell(S.taylor_residual[i])]);
      });
      shown += keep.length;
    });
    var div = byId("chart-ranked");
    byId("filter-count").textContent = shown === matching
      ? shown + " of " + S.name.length + " scenarios shown"
      : shown + " shown of " + matching + " matching (the worst " + MAX_BARS_PER_FAMILY +
        " of each family, " + MAX_BARS_PER_GENERATED + " of a generated set)";
    if (!shown) {
      Plotly.purge(div);
      div.__clickBound = false;
      empty(div, "No scenario matches the filter.");
    } else {
      if (div.querySelector(".empty")) { div.removeChild(div.querySelector(".empty")); }
      var labels = [famLabels, names];
      var src = {};
      ["pnl", "pnl_rates", "pnl_fx", "pnl_gold", "pnl_cross"].forEach(function (c) {
        src[c] = rowsIdx.map(function (i) { return S[c][i]; });
      });
      var traces = partTraces(labels, src, true, hover);
      traces.forEach(function (t) { t.ids = undefined; });
      var rawFam = [], rawNames = [];
      rowsIdx.forEach(function (i) { rawNames.push(S.name[i]); rawFam.push(FAM[S.family[i]].label); });
      draw(div, traces, layout("", {
        barmode: "relative",
        height: Math.max(260, 100 + 19 * shown),
        margin: { l: labelMargin(rawNames) + labelMargin(rawFam, 10), r: 24, t: 34, b: 50 },
        xaxis: axis({ title: { text: "P&L (" + esc(BASE) + ")" }, tickformat: ",.0f" }),
        // An explicit range: the P&L markers would pad an automatic one by several rows.
        yaxis: axis({ type: "multicategory", range: [shown - 0.5, -0.5], autorange: false,
          dividercolor: "#c5ccd4", tickfont: { size: 11 } }),
        bargap: 0.25
      }));
      div.__rows = rowsIdx;
      if (!div.__clickBound) { div.on("plotly_click", onRankClick); div.__clickBound = true; }
    }
    fillTable(byId("table-ranked"), [
      { label: "#" }, { label: "scenario", cls: "text" }, { label: "P&L" }, { label: "rates" },
      { label: "FX" }, { label: "gold" }, { label: "cross" }, { label: "duration" },
      { label: "DV01" }, { label: "Taylor est." }, { label: "residual" }
    ], tableRows);
  }

  function buildFilter() {
    var box = byId("family-filter");
    FAM.forEach(function (f, k) {
      var input = el("input", { type: "checkbox", "data-family": f.key });
      input.checked = true;
      input.addEventListener("change", function () {
        filterState.families[k] = input.checked;
        drawRanking();
      });
      box.appendChild(el("label", {}, input, " " + f.label + " (" + NF0.format(f.n) + ")"));
    });
    var all = el("button", { type: "button", id: "filter-all", text: "all" });
    var none = el("button", { type: "button", id: "filter-none", text: "none" });
    function setAll(v) {
      box.querySelectorAll("input").forEach(function (i, k) { i.checked = v; filterState.families[k] = v; });
      drawRanking();
    }
    all.addEventListener("click", function () { setAll(true); });
    none.addEventListener("click", function () { setAll(false); });
    box.appendChild(all);
    box.appendChild(none);
    byId("name-filter").addEventListener("input", function (ev) {
      filterState.text = ev.target.value;
      drawRanking();
    });
  }

  // ------------------------------------------------------------------ scenario cards
  function scenarioCard(container, prefix) {
    var card = el("article", { "class": "scenario-card", id: prefix + "-card" });
    var parts = {};
    parts.title = el("h3");
    parts.headline = el("p", { "class": "headline" });
    parts.description = el("p", { "class": "description" });
    parts.source = el("p", { "class": "source" });
    card.appendChild(parts.title);
    card.appendChild(parts.headline);
    card.appendChild(parts.description);
    card.appendChild(parts.source);
    var grid = el("div", { "class": "grid" });
    ["shift", "moves", "contributors", "currency", "bucket", "dv01"].forEach(function (name) {
      parts[name] = el("div", { "class": "chart", id: prefix + "-" + name });
      grid.appendChild(parts[name]);
    });
    card.appendChild(grid);
    parts.shiftTable = el("table", { "class": "numbers", id: prefix + "-shift-table" });
    parts.currencyTable = el("table", { "class": "numbers", id: prefix + "-currency-table" });
    parts.contributorTable = el("table", { "class": "numbers", id: prefix + "-contributor-table" });
    card.appendChild(el("h4", { text: "Curve shift (bp), as priced" }));
    card.appendChild(el("div", { "class": "table-wrap" }, parts.shiftTable));
    card.appendChild(el("h4", { text: "By currency (" + BASE + ")" }));
    card.appendChild(el("div", { "class": "table-wrap" }, parts.currencyTable));
    card.appendChild(el("h4", { text: "Top contributors (" + BASE + ")" }));
    card.appendChild(el("div", { "class": "table-wrap" }, parts.contributorTable));
    container.appendChild(card);
    return parts;
  }

  function showScenario(parts, di) {
    var d = D.details[di];
    var i = d.row;
    var name = S.name[i];
    var fam = FAM[S.family[i]];
    parts.title.textContent = name;
    parts.title.appendChild(el("span", { "class": "badge", text: fam.label }));
    parts.title.appendChild(el("span", { "class": "badge", text: "#" + S.rank[i] + " of " +
      D.meta.scenarios }));
    while (parts.headline.firstChild) { parts.headline.removeChild(parts.headline.firstChild); }
    parts.headline.appendChild(el("span", { "class": "total",
      text: "P&L " + amount(S.pnl[i]) + " " + BASE }));
    parts.headline.appendChild(document.createTextNode(
      " = rates " + amount(S.pnl_rates[i]) + " + FX " + amount(S.pnl_fx[i]) + " + gold " +
      amount(S.pnl_gold[i]) + " + cross " + amount(S.pnl_cross[i]) +
      "; Taylor estimate of the rates P&L " + amount(S.taylor_pnl[i]) + " (residual " +
      amount(S.taylor_residual[i]) + ")"));
    parts.description.textContent = d.description;
    parts.source.textContent = d.source ? "Source: " + d.source : "";

    // Curve shifts, per curve of the book, at the report tenors.
    var curves = D.curves.filter(function (c) { return d.shifts[c]; });
    var shiftTraces = curves.map(function (c) {
      return { type: "scatter", mode: "lines+markers", name: esc(c), x: D.tenors, y: d.shifts[c],
        line: { color: ccyColor(c), width: 2 },
        marker: { size: 5 },
        hovertemplate: esc(c) + " %{x}: %{y:+.1f} bp<extra></extra>" };
    });
    if (curves.length) {
      draw(parts.shift, shiftTraces, layout("Curve shift by tenor (bp)", {
        height: 310, margin: { l: 56, r: 16, t: 62, b: 44 },
        xaxis: axis({ type: "category", tickfont: { size: 10 }, tickangle: 0 }),
        yaxis: axis({ tickformat: ",.0f", nticks: 7, ticksuffix: " bp" })
      }));
    } else { empty(parts.shift, "No curve in the book."); }
    fillTable(parts.shiftTable, [{ label: "curve", cls: "text" }].concat(
      D.tenors.map(function (t) { return { label: t }; })),
    curves.map(function (c) {
      return [c].concat(d.shifts[c].map(function (v) { return signed(v, 1); }));
    }));

    // FX (value of each currency in the base currency) and gold (XAU in USD).
    var mx = D.fx_currencies.map(esc);
    var my = d.fx.slice();
    mx.push("gold");
    my.push(d.gold);
    draw(parts.moves, [{ type: "bar", x: mx, y: my,
      marker: { color: my.map(function (v) { return v < 0 ? "#b3261e" : "#2e8b57"; }) },
      hovertemplate: "%{x}: %{y:+.2f}%<extra></extra>" }],
    layout("FX: value in " + esc(BASE) + "; gold: XAU in USD (%)", {
      height: 310, showlegend: false, margin: { l: 56, r: 16, t: 40, b: 44 },
      xaxis: axis({ type: "category", tickangle: 0 }),
      yaxis: axis({ ticksuffix: "%", tickformat: ".1f", nticks: 7 })
    }));

    // Top contributors.
    var c = d.contributors;
    if (c.label.length) {
      var ids = c.label.map(esc);
      draw(parts.contributors, partTraces(ids, c, true, ids),
      layout("Top contributors (" + esc(BASE) + ")", {
        barmode: "relative", height: Math.max(310, 110 + 20 * c.label.length),
        margin: { l: labelMargin(c.label), r: 24, t: 62, b: 44 },
        xaxis: axis({ tickformat: ",.0f", nticks: 4, tickangle: 0 }),
        yaxis: axis({ type: "category", autorange: "reversed", tickfont: { size: 11 } })
      }));
    } else { empty(parts.contributors, "No positions."); }
    fillTable(parts.contributorTable, [
      { label: "position", cls: "text" }, { label: "P&L" }, { label: "rates" }, { label: "FX" },
      { label: "gold" }, { label: "cross" }, { label: "duration" }
    ], c.label.map(function (id, k) {
      return [id, moneyCell(c.pnl[k]), moneyCell(c.pnl_rates[k]), moneyCell(c.pnl_fx[k]),
        moneyCell(c.pnl_gold[k]), moneyCell(c.pnl_cross[k]),
        arrow(c.duration_before[k], c.duration_after[k], 2)];
    }));

    // By currency and by maturity bucket.
    var bc = d.by_currency;
    var bb = d.by_bucket;
    if (bc.label.length) {
      var cl = bc.label.map(esc);
      draw(parts.currency, partTraces(cl, bc, false, cl),
      layout("P&L by currency (" + esc(BASE) + ")", {
        barmode: "relative", height: 310, xaxis: axis({ type: "category", tickangle: 0 }),
        yaxis: axis({ tickformat: ",.0f", nticks: 7 })
      }));
      var bl = bb.label.map(esc);
      draw(parts.bucket, partTraces(bl, bb, false, bl),
      layout("P&L by maturity bucket (" + esc(BASE) + ")", {
        barmode: "relative", height: 310,
        xaxis: axis({ type: "category", tickangle: 0, tickfont: { size: 10 } }),
        yaxis: axis({ tickformat: ",.0f", nticks: 7 })
      }));
      draw(parts.dv01, [
        { type: "bar", name: "before", x: cl, y: bc.dv01_before, marker: { color: "#9bb5d6" },
          hovertemplate: "%{x} DV01 before: %{y:,.0f} " + esc(BASE) + "<extra></extra>" },
        { type: "bar", name: "after", x: cl, y: bc.dv01_after, marker: { color: "#27548a" },
          hovertemplate: "%{x} DV01 after: %{y:,.0f} " + esc(BASE) + "<extra></extra>" }
      ], layout("DV01 by currency, before \u2192 after (" + esc(BASE) + " per bp)", {
        barmode: "group", height: 310, xaxis: axis({ type: "category", tickangle: 0 }),
        yaxis: axis({ tickformat: ",.0f", nticks: 7 })
      }));
    } else {
      empty(parts.currency, "No positions.");
      empty(parts.bucket, "No positions.");
      empty(parts.dv01, "No positions.");
    }
    fillTable(parts.currencyTable, [
      { label: "currency", cls: "text" }, { label: "P&L" }, { label: "rates" }, { label: "FX" },
      { label: "gold" }, { label: "cross" }, { label: "PV before" }, { label: "DV01" },
      { label: "duration" }, { label: "convexity" }
    ], bc.label.map(function (l, k) {
      return [l, moneyCell(bc.pnl[k]), moneyCell(bc.pnl_rates[k]), moneyCell(bc.pnl_fx[k]),
        moneyCell(bc.pnl_gold[k]), moneyCell(bc.pnl_cross[k]), moneyCell(bc.pv_before[k]),
        arrowAmount(bc.dv01_before[k], bc.dv01_after[k]),
        arrow(bc.duration_before[k], bc.duration_after[k], 2),
        arrow(bc.convexity_before[k], bc.convexity_after[k], 1)];
    }));
  }

  function buildWorstCards() {
    var box = byId("worst-cards");
    var cards = D.worst_cards.slice();
    if (D.pinned_card !== null && D.pinned_card !== undefined) { cards.push(D.pinned_card); }
    if (!cards.length) { empty(box, "No scenarios."); return; }
    cards.forEach(function (di, k) {
      var parts = scenarioCard(box, "worst-" + k);
      showScenario(parts, di);
    });
  }

  var chosen = null;
  function buildChooser() {
    var select = byId("chooser");
    var groups = {};
    FAM.forEach(function (f, k) { groups[k] = el("optgroup", { label: f.label }); });
    // In page order: families, then P&L within each.
    for (var i = 0; i < S.name.length; i++) {
      var di = S.detail[i];
      if (di < 0) { continue; }
      groups[S.family[i]].appendChild(el("option", { value: String(di),
        text: S.name[i] + "  (" + amount(S.pnl[i]) + ")" }));
    }
    FAM.forEach(function (f, k) { if (groups[k].childNodes.length) { select.appendChild(groups[k]); } });
    var n = D.details.length;
    byId("chooser-note").textContent = n < D.meta.scenarios
      ? n + " of " + NF0.format(D.meta.scenarios) + " scenarios have their detail in this file " +
        "(the worst of the run and of each family)"
      : "";
    if (!n) { empty(byId("chosen-card"), "No scenarios."); return; }
    chosen = scenarioCard(byId("chosen-card"), "chosen");
    select.value = String(D.worst_cards.length ? D.worst_cards[0] : 0);
    showScenario(chosen, Number(select.value));
    select.addEventListener("change", function () { showScenario(chosen, Number(select.value)); });
  }
  function onRankClick(ev) {
    if (!ev || !ev.points || !ev.points.length) { return; }
    var rows = byId("chart-ranked").__rows || [];
    var i = rows[ev.points[0].pointIndex];
    if (i === undefined || S.detail[i] < 0 || !chosen) { return; }
    var select = byId("chooser");
    select.value = String(S.detail[i]);
    showScenario(chosen, S.detail[i]);
    byId("explore").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // ------------------------------------------------------------------ risk before
  function drawKeyRates() {
    var k = D.key_rates;
    if (!k.currency.length) { empty(byId("chart-key-rates"), "No positions."); }
    else {
      draw(byId("chart-key-rates"), k.currency.map(function (c, j) {
        return { type: "bar", name: esc(c), x: k.tenors, y: k.kr[j],
          marker: { color: ccyColor(c) },
          hovertemplate: esc(c) + " %{x}: %{y:,.0f} " + esc(BASE) + "<extra></extra>" };
      }), layout("Key-rate DV01 by currency (" + esc(BASE) + " per bp)", {
        barmode: "group", height: 330, xaxis: axis({ type: "category", tickangle: 0 }),
        yaxis: axis({ tickformat: ",.0f", nticks: 8 })
      }));
    }
    fillTable(byId("table-key-rates"), [{ label: "currency", cls: "text" }, { label: "PV" },
      { label: "DV01" }, { label: "duration" }, { label: "convexity" }].concat(
      k.tenors.map(function (t) { return { label: "KR " + t }; })),
    k.currency.map(function (c, j) {
      return [c, moneyCell(k.pv[j]), moneyCell(k.dv01[j]), fixed(k.duration[j], 2),
        fixed(k.convexity[j], 1)].concat(k.kr[j].map(moneyCell));
    }));
  }

  // ------------------------------------------------------------------ Taylor
  function drawTaylor() {
    var exact = [], est = [], lo = Infinity, hi = -Infinity;
    var traces = [], resid = [];
    FAM.forEach(function (f, k) {
      var x = [], y = [], r = [], names = [];
      for (var i = 0; i < S.name.length; i++) {
        if (S.family[i] !== k || !finite(S.pnl_rates[i]) || !finite(S.taylor_pnl[i])) { continue; }
        x.push(S.pnl_rates[i]); y.push(S.taylor_pnl[i]); r.push(S.taylor_residual[i]);
        names.push(esc(S.name[i]));
        lo = Math.min(lo, S.pnl_rates[i], S.taylor_pnl[i]);
        hi = Math.max(hi, S.pnl_rates[i], S.taylor_pnl[i]);
      }
      if (!x.length) { return; }
      var color = FAMILY_COLORS[k % FAMILY_COLORS.length];
      traces.push({ type: "scatter", mode: "markers", name: esc(f.label), x: x, y: y,
        customdata: names, marker: { color: color, size: 7, opacity: 0.8 },
        hovertemplate: "%{customdata}<br>exact %{x:,.0f}<br>estimate %{y:,.0f}<extra></extra>" });
      resid.push({ type: "scatter", mode: "markers", name: esc(f.label), x: x, y: r,
        customdata: names, marker: { color: color, size: 7, opacity: 0.8 }, showlegend: false,
        hovertemplate: "%{customdata}<br>exact %{x:,.0f}<br>residual %{y:,.0f}<extra></extra>" });
      exact = exact.concat(x); est = est.concat(y);
    });
    if (!traces.length) {
      empty(byId("chart-taylor"), "No scenarios.");
      empty(byId("chart-residual"), "");
      return;
    }
    traces.unshift({ type: "scatter", mode: "lines", name: "estimate = exact", x: [lo, hi],
      y: [lo, hi], line: { color: "#9aa3ad", dash: "dash", width: 1 }, hoverinfo: "skip" });
    var lay = function (title, ytitle, legend) {
      return layout(title, {
        height: 420, showlegend: legend, margin: { l: 112, r: 16, t: 84, b: 56 },
        xaxis: axis({ title: { text: "exact rates P&L (" + esc(BASE) + ")" },
          tickformat: ",.0f", nticks: 6 }),
        yaxis: axis({ title: { text: ytitle + " (" + esc(BASE) + ")" }, tickformat: ",.0f",
          nticks: 8 })
      });
    };
    draw(byId("chart-taylor"), traces, lay("Taylor estimate against the exact rates P&L",
      "estimate", true));
    draw(byId("chart-residual"), resid, lay("Residual (exact \u2212 estimate) against the exact " +
      "rates P&L", "residual", false));
  }

  // ------------------------------------------------------------------ generated sets
  function drawGenerated() {
    if (!D.distributions.length) { return; }
    byId("generated").hidden = false;
    var box = byId("generated-sets");
    D.distributions.forEach(function (g, k) {
      var block = el("div", { "class": "generated-set", id: "generated-" + g.family });
      block.appendChild(el("h3", { text: g.label + " (" + NF0.format(g.pnl.length) +
        " scenarios)" }));
      var two = el("div", { "class": "two" });
      var hist = el("div", { "class": "chart", id: "chart-hist-" + g.family });
      two.appendChild(hist);
      var series = null;
      if (g.series) {
        series = el("div", { "class": "chart", id: "chart-series-" + g.family });
        two.appendChild(series);
      }
      block.appendChild(two);
      var table = el("table", { "class": "numbers", id: "table-risk-" + g.family });
      block.appendChild(el("div", { "class": "table-wrap" }, table));
      box.appendChild(block);
      var shapes = [], notes = [];
      var styles = { "0.99": "#b3261e", "0.975": "#e08a2c" };
      g.risk.forEach(function (r, j) {
        var color = styles[String(r.level)] || "#555";
        [["VaR", r["var"], "dash"], ["ES", r.es, "dot"]].forEach(function (m, n) {
          if (!finite(m[1])) { return; }
          shapes.push({ type: "line", xref: "x", yref: "paper", x0: -m[1], x1: -m[1], y0: 0,
            y1: 1, line: { color: color, dash: m[2], width: 1.5 } });
          notes.push({ xref: "x", yref: "paper", x: -m[1], y: 1 - 0.09 * (2 * j + n),
            xanchor: "left", yanchor: "top", showarrow: false, bgcolor: "rgba(255,255,255,0.8)",
            font: { size: 10, color: color },
            text: m[0] + " " + pct(r.level) + ": " + amount(m[1]) });
        });
      });
      draw(hist, [{ type: "histogram", x: g.pnl, nbinsx: Math.min(60, Math.max(10,
        Math.round(Math.sqrt(g.pnl.length) * 2))), marker: { color: "#9bb5d6",
        line: { color: "#27548a", width: 0.5 } },
        hovertemplate: "P&L %{x}<br>%{y} scenarios<extra></extra>", name: "scenarios" }],
      layout("P&L distribution (" + esc(BASE) + "); VaR dashed, ES dotted", {
        height: 360, shapes: shapes, annotations: notes, showlegend: false, bargap: 0.02,
        margin: { l: 64, r: 16, t: 40, b: 56 },
        xaxis: axis({ title: { text: "P&L (" + esc(BASE) + ")" }, tickformat: ",.0f", nticks: 6 }),
        yaxis: axis({ title: { text: "scenarios" } })
      }));
      if (series) {
        var v99 = g.risk.filter(function (r) { return r.level === 0.99; })[0];
        draw(series, [{ type: "scatter", x: g.series.date,
          mode: g.series.date.length > 400 ? "lines" : "lines+markers",
          y: g.series.pnl, line: { color: "#27548a", width: 1 }, marker: { size: 3 },
          name: "P&L", hovertemplate: "window ending %{x}<br>P&L %{y:,.0f} " + esc(BASE) +
            "<extra></extra>" }], layout("P&L through time (window end date; VaR 99% dashed)", {
          height: 360, showlegend: false, margin: { l: 112, r: 16, t: 40, b: 56 },
          shapes: v99 ? [{ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: -v99["var"],
            y1: -v99["var"], line: { color: "#b3261e", dash: "dash", width: 1 } }] : [],
          xaxis: axis({ type: "date" }),
          yaxis: axis({ title: { text: "P&L (" + esc(BASE) + ")" }, tickformat: ",.0f", nticks: 8 })
        }));
      }
      fillTable(table, [{ label: "level" }, { label: "VaR" }, { label: "ES" },
        { label: "tail scenarios" }, { label: "worst", cls: "text" }],
      g.risk.map(function (r) {
        return [pct(r.level), amount(r["var"]), amount(r.es), String(r.tail), r.worst];
      }));
    });
  }

  // ------------------------------------------------------------------ reverse stress
  function drawReverse() {
    var R = D.reverse;
    if (!R || !R.length) { return; }
    byId("reverse").hidden = false;
    var controls = byId("reverse-controls");
    var select = null;
    if (R.length > 1) {
      select = el("select", { id: "reverse-chooser" });
      R.forEach(function (s, k) {
        select.appendChild(el("option", { value: String(k), text: s.label }));
      });
      controls.appendChild(el("label", {}, "Solution ", select));
      var withDist = R.filter(function (s) { return finite(s.distance) && finite(s.pnl); });
      if (withDist.length) {
        draw(byId("chart-reverse-frontier"), [{ type: "scatter", mode: "lines+markers",
          x: withDist.map(function (s) { return s.distance; }),
          y: withDist.map(function (s) { return s.pnl; }),
          customdata: withDist.map(function (s) { return esc(s.label); }),
          marker: { size: 8, color: "#b3261e" }, line: { color: "#b3261e" },
          hovertemplate: "%{customdata}<br>distance %{x:.2f}<br>P&L %{y:,.0f}<extra></extra>" }],
        layout("P&L against distance, one point per solution", {
          height: 360, showlegend: false, margin: { l: 112, r: 16, t: 40, b: 56 },
          xaxis: axis({ title: { text: "distance" } }),
          yaxis: axis({ title: { text: "P&L (" + esc(BASE) + ")" }, tickformat: ",.0f" })
        }));
      }
    }
    function show(k) {
      var s = R[k];
      var labels = s.factor.map(function (f, j) {
        return esc(f) + (s.unit[j] ? " (" + esc(s.unit[j]) + ")" : "");
      });
      // Moves in bp and % side by side compare badly: in standard deviations when known.
      var inSd = s.z.length > 0 && s.z.every(finite);
      var x = inSd ? s.z : s.move;
      draw(byId("chart-reverse-moves"), [{ type: "bar", orientation: "h", y: labels, x: x,
        customdata: s.move.map(function (m, j) { return signed(m, 2) + " " + esc(s.unit[j]); }),
        marker: { color: x.map(function (v) { return v < 0 ? "#b3261e" : "#2e8b57"; }) },
        hovertemplate: "%{y}: %{customdata}" + (inSd ? " (%{x:+.2f} sd)" : "") +
          "<extra></extra>" }],
      layout("Factor moves" + (inSd ? " in standard deviations" : "") + ": " + esc(s.label), {
        height: Math.max(260, 90 + 20 * labels.length), showlegend: false,
        margin: { l: labelMargin(s.factor, 40), r: 16, t: 40, b: 44 },
        xaxis: axis({ nticks: 6 }),
        yaxis: axis({ type: "category", autorange: "reversed", tickfont: { size: 11 } })
      }));
      byId("reverse-summary").textContent = s.label + ": P&L " + amount(s.pnl) + " " + BASE +
        ", distance " + fixed(s.distance, 2);
      fillTable(byId("table-reverse"), [{ label: "factor", cls: "text" }, { label: "move" },
        { label: "unit", cls: "text" }, { label: "z (sd)" }],
      s.factor.map(function (f, j) {
        return [f, signed(s.move[j], 2), s.unit[j], signed(s.z[j], 2)];
      }));
    }
    show(0);
    if (select) { select.addEventListener("change", function () { show(Number(select.value)); }); }
  }

  // ------------------------------------------------------------------ print
  function fitAll() {
    drawn.forEach(function (div) { if (div.data) { Plotly.Plots.resize(div); } });
  }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    fitAll();
  });
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    if (mq.addEventListener) { mq.addEventListener("change", fitAll); }
  }

  // ------------------------------------------------------------------ go
  var started = performance.now();
  buildFilter();
  drawRanking();
  buildWorstCards();
  buildChooser();
  drawKeyRates();
  drawTaylor();
  drawGenerated();
  drawReverse();
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
  document.body.setAttribute("data-ready", "1");
})();
