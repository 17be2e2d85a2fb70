"""The count as one self-contained HTML page a board member can open in any browser.

Everything is inside the file: the styles, a few lines of script (a print button and a
toggle for the detail tables) and the charts, drawn here as inline SVG. Nothing is
fetched from a network, so the page opens the same on a machine with no internet access
and an auditor can keep the one file as the record. The figures are the library result's
own decimal strings, formatted as every other format formats them (:mod:`placecount.render`):
the page computes nothing beyond the layout of its chart.

Example::

    result = placecount.api.report(db)
    page = report_html(result)            # a str: write it with render.write_output
"""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import Path
from typing import Any

from .charts import PALETTE as CHART_PALETTE
from .render import count_columns, coverage_lines, money, percent

#: Colours per source kind: the one colour-blind-safe palette every chart uses.
PALETTE = CHART_PALETTE

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#1b1b1b;
background:#fff;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:1.5rem}
h1{font-size:1.7rem;margin:.2rem 0}
h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem}
h3{font-size:1.05rem}
.headline{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.card{border:1px solid #ccd;border-radius:6px;padding:.7rem 1rem;min-width:12rem}
.card .big{font-size:1.5rem;font-weight:700}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;vertical-align:top}
th{background:#e8f0f8;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:700;border-top:2px solid #333}
.note{color:#444;font-size:.9rem}.warn{color:#8a4b00}
figure{margin:1rem 0;overflow-x:auto}figure svg{max-width:100%;height:auto}
.wide{overflow-x:auto}figcaption{font-size:.9rem;color:#444}
.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:middle}
button{font:inherit;padding:.2rem .8rem}
@media print{button{display:none}main{max-width:none;padding:0}details{display:block}
details>summary{display:none}h2{break-after:avoid}table,figure{break-inside:avoid}}
"""

_SCRIPT = """
document.getElementById('print').addEventListener('click',function(){window.print();});
document.getElementById('open-all').addEventListener('click',function(){
  document.querySelectorAll('details').forEach(function(d){d.open=true;});});
"""


def e(text: Any) -> str:
    """Text for HTML: escaped, quotes too."""
    return html.escape("" if text is None else str(text), quote=True)


def gbp(text: str | None) -> str:
    """'1234.5' → '£1,234.50', negatives as '−£…'; None → ''."""
    if text is None:
        return ""
    value = Decimal(text)
    return ("−£" if value < 0 else "£") + money(str(abs(value)))


def _table(
    heads: list[str], rows: list[list[str]], numeric: set[int], total: list[str] | None = None
) -> str:
    out = ['<div class="wide"><table>', "<thead><tr>"]
    out += [
        f'<th{" class=n" if i in numeric else ""} scope="col">{e(h)}</th>'
        for i, h in enumerate(heads)
    ]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append(
            "<tr>"
            + "".join(
                f"<td{' class=n' if i in numeric else ''}>{e(c)}</td>" for i, c in enumerate(row)
            )
            + "</tr>"
        )
    if total is not None:
        out.append(
            '<tr class="total">'
            + "".join(
                f"<td{' class=n' if i in numeric else ''}>{e(c)}</td>" for i, c in enumerate(total)
            )
            + "</tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def count_table(result: dict[str, Any]) -> str:
    """The table with the same columns and figures as the Markdown and the workbook."""
    cols = count_columns(result)
    heads = ["COFOG", "Function"] + [c.heading for c in cols]
    rows = [
        [r["cofog_code"] or "—", r["cofog_name"], *(c.text(r) for c in cols)]
        for r in result["rows"]
    ]
    total = ["", "Total", *(c.text(result["totals"]) for c in cols)]
    return _table(heads, rows, set(range(2, len(heads))), total)


def grade_table(result: dict[str, Any]) -> str:
    """Each row by confidence grade: actual accounts, a driver, a population share or an
    assumption."""
    grades = list(result["totals"]["by_grade_gbp"])
    heads = ["COFOG", "Function"] + [f"{g.capitalize()} £" for g in grades] + ["Total £"]
    rows = [
        [r["cofog_code"] or "—", r["cofog_name"]]
        + [money(r["by_grade_gbp"][g]) for g in grades]
        + [money(r["total_gbp"])]
        for r in result["rows"]
    ]
    t = result["totals"]
    total = ["", "Total"] + [money(t["by_grade_gbp"][g]) for g in grades] + [money(t["total_gbp"])]
    return _table(heads, rows, set(range(2, len(heads))), total)


def records_table(result: dict[str, Any]) -> str:
    """The tidy records (one per COFOG code and source kind), as the CSV has them."""
    from .render import RECORD_COLUMNS

    heads = ["COFOG", "Function", "Kind", "Amount £", "Current £", "Capital £", "Not split £"]
    heads += ["Actual £", "Driver £", "Population £", "Assumption £"]
    rows = [
        [r["cofog_code"] or "—", r["cofog_name"], result["kind_titles"].get(r["kind"], r["kind"])]
        + [money(r[c]) for c in RECORD_COLUMNS[3:]]
        for r in result["records"]
    ]
    return _table(heads, rows, set(range(3, len(heads))))


def bar_chart(result: dict[str, Any]) -> str:
    """The count by COFOG row and source kind as stacked horizontal bars, in inline SVG.

    Each segment carries a tooltip (an SVG title) with its exact amount; bar lengths are the
    only floats here, and they are for drawing only."""
    rows = [r for r in result["rows"] if Decimal(r["total_gbp"]) > 0]
    kinds = result["kinds"]
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(kinds)}
    if not rows:
        return '<p class="note">Nothing counted: no chart to draw.</p>'
    biggest = max(float(Decimal(r["total_gbp"])) for r in rows) or 1.0
    label_w, bar_w, value_w, bar_h, gap, top = 300, 620, 130, 22, 8, 10
    height = top + len(rows) * (bar_h + gap) + 30
    width = label_w + bar_w + value_w
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui,Arial,sans-serif" font-size="13" '
        f'aria-labelledby="chart-title"><title id="chart-title">{e(_chart_title(result))}</title>'
    ]
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        name = f"{r['cofog_code'] or '—'} {r['cofog_name']}"
        short = name if len(name) <= 40 else name[:39] + "…"
        ty = f"{y + bar_h * 0.72:.1f}"
        out.append(f'<text x="{label_w - 8}" y="{ty}" text-anchor="end">{e(short)}</text>')
        x = float(label_w)
        for k in kinds:
            amount = Decimal(r["by_kind_gbp"][k])
            if amount <= 0:
                continue
            w = float(amount) / biggest * bar_w
            out.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar_h}" fill="{colours[k]}">'
                f"<title>{e(name)}: {e(result['kind_titles'][k])} "
                f"{e(gbp(r['by_kind_gbp'][k]))}</title></rect>"
            )
            x += w
        out.append(
            f'<text x="{x + 6:.2f}" y="{y + bar_h * 0.72:.1f}">{e(_short_m(r["total_gbp"]))}</text>'
        )
    axis_y = top + len(rows) * (bar_h + gap)
    out.append(f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{axis_y}" stroke="#333"/>')
    out.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{colours[k]}"></i>{e(result["kind_titles"][k])}</span>'
        for k in kinds
    )
    return "".join(out) + f'<div class="legend">{legend}</div>'


def _short_m(text: str) -> str:
    """'123456789.00' → '£123.5m' (a chart label; the table has the exact figure)."""
    from .charts import pounds_m

    return pounds_m(int(Decimal(text) * 100))


def _chart_title(result: dict[str, Any]) -> str:
    return f"The count by COFOG {result['by']} and by source (£m)"


def _title(result: dict[str, Any]) -> str:
    place = result.get("place") or {}
    title = f"Public spending by COFOG {result['by']}"
    if place:
        title = f"{place['name']} {place['financial_year']}: public money in the place"
    if result.get("theme"):
        title += f" (theme {result['theme']['name']})"
    return title


def headline(result: dict[str, Any]) -> str:
    hl = result["headline"]
    t = result["totals"]
    cards = [
        f'<div class="card"><div>The count ({e(hl["basis"])} spending)</div>'
        f'<div class="big">{e(gbp(hl["amount_gbp"]))}</div></div>'
    ]
    if hl.get("per_head_gbp") is not None:
        pop = (result.get("place") or {}).get("population")
        people = f" of {pop:,} residents" if isinstance(pop, int) else ""
        cards.append(
            f'<div class="card"><div>Per head{e(people)}</div>'
            f'<div class="big">{e(gbp(hl["per_head_gbp"]))}</div></div>'
        )
    grades = " · ".join(
        f"{e(g)} {e(gbp(v))} ({e(percent(t['by_grade_share'][g]))})"
        for g, v in t["by_grade_gbp"].items()
        if Decimal(v)
    )
    cards.append(f'<div class="card"><div>By confidence grade</div><div>{grades}</div></div>')
    gaps = "".join(f"<li>{e(g)}</li>" for g in hl["gaps"])
    basis = f'<ul class="note">{gaps}</ul>' if gaps else ""
    return '<div class="headline">' + "".join(cards) + "</div>" + basis


def reconciliation(result: dict[str, Any]) -> str:
    """How the count adds up: gross, less transfers, replacements and spending outside."""
    rec = result["reconciliation"]
    rows: list[list[str]] = [["Gross spend of the bodies counted", gbp(rec["gross_gbp"])]]
    for t in rec["transfers"]:
        rows.append(
            [f"less transfer {t['from']} → {t['to']}: {t['label']}", "−" + gbp(t["amount_gbp"])]
        )
    for o in rec["replaced"]:
        rows.append([f"less {o['text']}", "−" + gbp(o["amount_gbp"])])
    for o in rec.get("outside") or []:
        if Decimal(o["amount_gbp"]):
            rows.append(
                [f"less outside the count: {o['label']} ({o['why']})", "−" + gbp(o["amount_gbp"])]
            )
    if len(rec["transfers"]) > 1:
        rows.append(["Transfers removed, in all", "−" + gbp(rec["transfers_gbp"])])
    if len(rec["replaced"]) > 1:
        rows.append(["Estimates replaced by actuals, in all", "−" + gbp(rec["replaced_gbp"])])
    if Decimal(rec.get("outside_gbp") or 0):
        rows.append(["Outside the count, in all", "−" + gbp(rec["outside_gbp"])])
    if Decimal(rec.get("not_counted_gbp") or 0):
        rows.append(["Kept out of the count (shown, not added)", gbp(rec["not_counted_gbp"])])
    hl = result["headline"]
    out = [_table(["", "£"], rows, {1}, ["The count", gbp(rec["count_gbp"])])]
    out.append(f"<p>Headline, {e(hl['basis'])} spending: <b>{e(gbp(hl['amount_gbp']))}</b>.</p>")
    if Decimal(hl.get("capital_left_out_gbp") or 0):
        out.append(
            f'<p class="note">Capital spending left out of the headline: '
            f"{e(gbp(hl['capital_left_out_gbp']))}.</p>"
        )
    items: list[str] = []
    for t in rec.get("transfers_kept") or []:
        items.append(
            f"Kept in the count: {t['from']} → {t['to']}, {gbp(t['amount_gbp'])}: {t['why']}"
        )
    for n in rec.get("not_counted") or []:
        lines = "1 line" if n["lines"] == 1 else f"{n['lines']} lines"
        items.append(f"{n['label']} ({n['kind']}): {lines}, {gbp(n['amount_gbp'])}")
    for o in rec.get("outside") or []:
        head = f", {gbp(o['per_head_gbp'])} a head" if o.get("per_head_gbp") else ""
        items.append(
            f"Outside the count, shown beside it: {o['label']} ({o['why']}): "
            f"{gbp(o['amount_gbp'])}{head}"
        )
    items += coverage_lines(result)
    memo = [n for n in result["ndpb_of_which"] if not n["added"]]
    for n in memo:
        bodies = "1 body" if n["bodies"] == 1 else f"{n['bodies']} bodies"
        items.append(
            f"NDPBs shown 'of which', not added: {n['sponsor']}, {bodies}, {gbp(n['amount_gbp'])}"
        )
    for n in result["ndpb_of_which"]:
        if n["added"]:
            items.append(f"NDPBs added (no PESA figure for {n['sponsor']}): {gbp(n['amount_gbp'])}")
    for c in result.get("ndpb_checks") or []:
        items.append(
            f"Warning: {c['text']} (of which {gbp(c['memo_gbp'])}; PESA {gbp(c['pesa_gbp'])})."
        )
    if items:
        out.append(
            "<ul>"
            + "".join(
                f"<li{' class=warn' if i.startswith('Warning') else ''}>{e(i)}</li>" for i in items
            )
            + "</ul>"
        )
    return "".join(out)


def method(result: dict[str, Any]) -> str:
    items: list[tuple[str, str]] = [
        ("Classification", "UN COFOG 1999"),
        ("Rows", f"COFOG {result['by']}"),
    ]
    items += [(k.replace("_", " "), str(v)) for k, v in result["method"].items()]
    items += [(f"filter: {k}", ", ".join(v) or "(none)") for k, v in result["filters"].items()]
    for p in result["pesa"]:
        items.append(
            (
                f"PESA share: {p['file']}",
                f"region {p['region']} × share {p['share']} ({p['share_basis']}), "
                f"{p['part']} = {gbp(p['amount_gbp'])}",
            )
        )
    for r in result.get("coverage_rules") or []:
        items.append((f"Coverage rule {r['rule']}", f"{r['text']}. {r['note']}".rstrip()))
    out = [_table(["Setting", "Value"], [list(i) for i in items], set())]
    out.append(
        '<p class="note">The count adds the spending of every body counted, removes what one '
        "counted body passed to another (it is spending of the body that finally spends it), "
        "replaces the central-government estimates that a body's own accounts cover, and shows "
        "outside-the-count spending beside it rather than in it. Amounts are exact to the penny; "
        "shares are rounded once from exact figures.</p>"
    )
    sources = result.get("sources") or []
    if sources:
        heads = [
            "File",
            "Sheet",
            "Kind",
            "Organisation",
            "Year",
            "Lines kept",
            "Total £",
            "SHA-256",
        ]
        rows = [
            [
                s.get("file_name", ""),
                s.get("sheet") or "",
                s.get("kind", ""),
                s.get("org") or "",
                s.get("financial_year") or "",
                str(s.get("lines_kept", "")),
                money(s.get("total_gbp")),
                s.get("file_sha256", ""),
            ]
            for s in sources
        ]
        out.append("<h3>Sources</h3>" + _table(heads, rows, {5, 6}))
    return "".join(out)


def svg_inline(path: Path) -> str:
    """An SVG file's ``<svg>`` element, without its XML prologue, for inlining."""
    text = Path(path).read_text(encoding="utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else ""


def report_html(result: dict[str, Any], charts: list[dict[str, str]] | None = None) -> str:
    """The count as one HTML page. ``charts`` adds figures: ``{"title", "svg", "caption"}``
    (the mapping wall, scenario charts) drawn elsewhere as inline SVG."""
    title = _title(result)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no request may leave the page: a policy the browser enforces, besides our not asking
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
        '<p><button id="print" type="button">Print</button> '
        '<button id="open-all" type="button">Open every detail</button></p>',
        headline(result),
        f"<h2>The count by function and source</h2><figure>{bar_chart(result)}"
        f"<figcaption>{e(_chart_title(result))}. Hover a bar for its exact amount."
        "</figcaption></figure>",
        "<h2>The table</h2>",
        count_table(result),
        "<details><summary>By confidence grade</summary>",
        grade_table(result),
        "</details><details><summary>Records: each COFOG code and source kind</summary>",
        records_table(result),
        "</details>",
        "<h2>How the count adds up</h2>",
        reconciliation(result),
    ]
    for chart in charts or []:
        parts.append(f"<h2>{e(chart['title'])}</h2><figure>{chart['svg']}")
        if chart.get("caption"):
            parts.append(f"<figcaption>{e(chart['caption'])}</figcaption>")
        parts.append("</figure>")
    parts += ["<h2>Method and sources</h2>", method(result)]
    parts.append(f"</main><script>{_SCRIPT}</script></body></html>\n")
    return "\n".join(parts)


def project_charts(db: Path, project_file: Path | None = None) -> list[dict[str, str]]:
    """The mapping walls and scenario charts the project file lists, as inline SVG."""
    import tempfile

    from . import api, scenario, scenario_render
    from .project import FlowsOutput, ScenarioOutput, load_project

    pf = api._project_file(db, project_file)
    project = load_project(pf)
    if project is None:
        return []
    base = pf.parent
    charts: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="placecount-html-") as tmp:
        for i, spec in enumerate(project.outputs):
            target = Path(tmp) / f"chart{i}.svg"
            if isinstance(spec, FlowsOutput) and spec.chart:
                source = base / spec.input if spec.input else None
                flows = api.flows(
                    source,
                    db=db,
                    rate=spec.rate,
                    measured=spec.measured,
                    chart=target,
                    title=spec.title,
                )
                t = flows["totals"]
                charts.append(
                    {
                        "title": f"Mapping wall: {flows['title']}",
                        "svg": svg_inline(target),
                        "caption": f"{t['paths']} path{'s' if t['paths'] != 1 else ''}: "
                        f"{gbp(t['in_gbp'])} in, {gbp(t['delivered_gbp'])} delivered, "
                        f"{gbp(t['administration_gbp'])} estimated administration at "
                        f"{percent(flows['method']['rate'])} a hand-over.",
                    }
                )
            elif isinstance(spec, ScenarioOutput):
                model = scenario.load_scenario(base / spec.input)
                priced = scenario.price(model, db)
                scenario_render.scenario_chart(priced, target)
                charts.append(
                    {
                        "title": f"Scenario: {priced['scenario']['name']}",
                        "svg": svg_inline(target),
                        "caption": "A − (B + C) = Y by financial year, central case.",
                    }
                )
    return charts
