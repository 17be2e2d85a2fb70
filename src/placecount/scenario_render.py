"""Scenarios as tables, CSV, Markdown, xlsx and a chart (journeys: :mod:`.journey_render`).

The renderers compute nothing: every figure is a decimal string from
:func:`placecount.scenario.price`, so Y = A − (B + C) holds in every format exactly as it
holds in the result. matplotlib, plotly and xlsxwriter are imported inside the functions
that use them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from .charts import COST_COLOUR, MPL_STYLE, NET_COLOUR, SAVING_COLOUR, plotly_text, rgba
from .escape import md_cell
from .render import atomic_path, money, percent, to_csv

CASE_TITLES = {"low": "Low (prudent)", "central": "Central", "high": "High"}
CSV_COLUMNS = [
    "year",
    "case",
    "a_gbp",
    "b_gbp",
    "c_gbp",
    "y_gbp",
    "cumulative_y_gbp",
    "discounted_y_gbp",
]
YEAR_COLUMNS = [
    ("case", "Case"),
    ("year", "Year"),
    ("year_number", "Year number"),
    ("a_gbp", "A savings £"),
    ("b_before_bias_gbp", "B before bias £"),
    ("c_before_bias_gbp", "C before bias £"),
    ("optimism_bias_gbp", "Optimism bias £"),
    ("b_gbp", "B investment £"),
    ("c_gbp", "C universal services £"),
    ("y_gbp", "Y = A − (B + C) £"),
    ("cumulative_y_gbp", "Cumulative Y £"),
    ("discount_factor", "Discount factor"),
    ("discounted_a_gbp", "Discounted A £"),
    ("discounted_b_gbp", "Discounted B £"),
    ("discounted_c_gbp", "Discounted C £"),
    ("discounted_y_gbp", "Discounted Y £"),
    ("cumulative_discounted_y_gbp", "Cumulative discounted Y £"),
]
AGENCY_COLUMNS = [
    ("agency", "Agency"),
    ("a_gbp", "Saves (A) £"),
    ("b_gbp", "Invests (B) £"),
    ("c_gbp", "Sustains (C) £"),
    ("costs_gbp", "Costs B + C £"),
    ("net_gbp", "Net £"),
    ("role", "Pays or gains"),
]


def pounds(text: str) -> str:
    """'-288' → '−£288.00', '1536' → '£1,536.00'."""
    value = Decimal(text)
    return ("−" if value < 0 else "") + f"£{abs(value):,.2f}"


def _title(result: dict[str, Any]) -> str:
    s = result["scenario"]
    years = s["year_labels"]
    span = years[0] if len(years) == 1 else f"{years[0]} to {years[-1]}"
    return f"{s['name']} ({s['theme']}), {span}: A − (B + C) = Y"


def _bias_note(result: dict[str, Any]) -> str:
    m = result["method"]
    if Decimal(m["optimism_bias"]) == 0:
        return "No optimism-bias uplift."
    return (
        f"B and C include an optimism-bias uplift of {percent(m['optimism_bias'])} "
        f"({m['optimism_bias_from']})."
    )


def method_lines(result: dict[str, Any]) -> list[str]:
    """How the figures were made, the inputs behind them, and any warnings, as text lines."""
    m = result["method"]
    out = [
        f"Discounting: {m['discounting']} (rate from {m['discount_rate_from']}).",
        _bias_note(result),
        f"Cases: {m['cases']}.",
        f"Payback: {m['payback']}.",
        f"Rounding: {m['rounding']}.",
    ]
    for p in result["provenance"]:
        if p["source"] == "store":
            of = f"COFOG {p['cofog']} {p.get('cofog_name') or ''}".rstrip()
            if p["kind"]:
                of += f" ({p['kind']})"
            out.append(
                f"{p['item']} {p['name']!r}: {of}, counted {pounds(p['counted_gbp'])} "
                f"from {len(p['lines'])} lines:"
            )
            for x in p["lines"]:
                sheet = f" › {x['sheet']!r}" if x["sheet"] else ""
                out.append(
                    f"  {x['file']}{sheet}!{x['cell']} {x['org'] or ''} "
                    f"{x['native_label'] or x['native_code'] or ''}: {pounds(x['amount_gbp'])}"
                )
        else:
            out.append(
                f"{p['item']} {p['name']!r}: journey {p['journey']!r} ({p['journey_file']}): "
                f"{pounds(p['total_gbp'])} now, {pounds(p['redesigned_total_gbp'])} redesigned, "
                f"saving {pounds(p['saving_per_family_gbp'])} per family."
            )
    out += [f"Warning: {w}" for w in result["warnings"]]
    return out


# -- table (rich) -----------------------------------------------------------------------


def scenario_tables(result: dict[str, Any]) -> list[Any]:
    """The summary by case, the central case year by year, who pays and who gains, the
    items and the method, as rich tables and text."""
    from rich.table import Table

    out: list[Any] = []
    summary = Table(title=_title(result))
    for head in [
        "Case",
        "A savings £",
        "B investment £",
        "C universal £",
        "of which bias £",
        "Y £",
        "Y discounted £",
        "Payback",
    ]:
        summary.add_column(head, justify="left" if head in ("Case", "Payback") else "right")
    for case in ("low", "central", "high"):
        t = result["cases"][case]["totals"]
        summary.add_row(
            CASE_TITLES[case],
            money(t["a_gbp"]),
            money(t["b_gbp"]),
            money(t["c_gbp"]),
            money(t["optimism_bias_gbp"]),
            money(t["y_gbp"]),
            money(t["discounted_y_gbp"]),
            result["cases"][case]["payback"]["text"],
        )
    out.append(summary)
    central = result["cases"]["central"]
    years = Table(title="Central case, year by year", show_footer=True)
    t = central["totals"]
    for head, key, footer in [
        ("Year", "year", "Total"),
        ("A £", "a_gbp", money(t["a_gbp"])),
        ("B £", "b_gbp", money(t["b_gbp"])),
        ("C £", "c_gbp", money(t["c_gbp"])),
        ("Y £", "y_gbp", money(t["y_gbp"])),
        ("Cumulative Y £", "cumulative_y_gbp", ""),
        ("Discount factor", "discount_factor", ""),
        ("Discounted Y £", "discounted_y_gbp", money(t["discounted_y_gbp"])),
    ]:
        years.add_column(head, justify="left" if key == "year" else "right", footer=footer)
    for r in central["years"]:
        years.add_row(
            r["year"],
            money(r["a_gbp"]),
            money(r["b_gbp"]),
            money(r["c_gbp"]),
            money(r["y_gbp"]),
            money(r["cumulative_y_gbp"]),
            r["discount_factor"],
            money(r["discounted_y_gbp"]),
        )
    out.append(years)
    agencies = Table(title="Who pays and who gains (central case, all years)")
    for key, head in AGENCY_COLUMNS:
        agencies.add_column(head, justify="left" if key in ("agency", "role") else "right")
    for r in central["agencies"]:
        agencies.add_row(
            *[r[k] if k in ("agency", "role") else money(r[k]) for k, _ in AGENCY_COLUMNS]
        )
    out.append(agencies)
    items = Table(title="Items (totals over all years; B and C with the bias)")
    for head in ["Item", "Name", "Agency", "How valued (central)", "Low £", "Central £", "High £"]:
        items.add_column(head, justify="right" if head.endswith("£") else "left")
    for item in result["items"]:
        c = item["cases"]
        items.add_row(
            item["path"],
            item["name"],
            item["agency"],
            c["central"]["formula"],
            money(c["low"]["total_gbp"]),
            money(c["central"]["total_gbp"]),
            money(c["high"]["total_gbp"]),
        )
    out.append(items)
    out.extend(method_lines(result))
    return out


def tables_text(parts: list[Any], width: int | None = 200) -> str:
    """Rich tables and lines of text as plain text."""
    from .console import SafeConsole

    buffer = io.StringIO()
    console = SafeConsole(file=buffer, width=width, highlight=False)
    for part in parts:
        if isinstance(part, str):
            console.print(part, markup=False)
        else:
            console.print(part)
    return buffer.getvalue()


SCENARIO_FORMATS = ("table", "csv", "json", "xlsx", "md")


def _unknown_format(fmt: str, formats: tuple[str, ...]) -> Exception:
    from .errors import InputError

    return InputError.one(
        "bad-option",
        f"cannot write this as {fmt or 'that kind of file'!r}: use "
        + ", ".join(formats)
        + " (a file's format comes from its extension; .txt is the table).",
    )


def scenario_output(result: dict[str, Any], fmt: str, width: int | None = 200) -> str | bytes:
    """A priced scenario in one of SCENARIO_FORMATS: text, or bytes for xlsx."""
    return output_in(
        result,
        fmt,
        SCENARIO_FORMATS,
        csv=scenario_csv,
        md=scenario_markdown,
        xlsx=scenario_xlsx,
        table=lambda r: tables_text(scenario_tables(r), width),
    )


def output_in(
    result: dict[str, Any],
    fmt: str,
    formats: tuple[str, ...],
    **writers: Callable[[dict[str, Any]], str | bytes],
) -> str | bytes:
    """The result in ``fmt``: JSON, or the writer given for it."""
    if fmt == "json":
        from .render import to_json

        return to_json(result)
    if fmt in writers:
        return writers[fmt](result)
    raise _unknown_format(fmt, formats)


# -- csv, markdown ----------------------------------------------------------------------


def scenario_csv(result: dict[str, Any]) -> str:
    """Tidy CSV: one row per case × year (low, central, high), Y = A − (B + C) on each."""
    rows = [
        {**r, "case": case}
        for case in ("low", "central", "high")
        for r in result["cases"][case]["years"]
    ]
    return to_csv(rows, CSV_COLUMNS)


def _md_table(heads: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    out = ["| " + " | ".join(md_cell(h) for h in heads) + " |"]
    out.append("|" + "|".join("---:" if i in right else "---" for i in range(len(heads))) + "|")
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return out


def scenario_markdown(result: dict[str, Any]) -> str:
    """The scenario as Markdown for a board paper: summary, years, agencies, items, method."""
    s = result["scenario"]
    out = [f"# {md_cell(_title(result))}", ""]
    for key, label in (("question", "Question"), ("proposition", "Proposition")):
        if s.get(key):
            out += [f"**{label}:** {md_cell(s[key])}", ""]
    out += ["## Summary", ""]
    out += _md_table(
        ["Case", "A £", "B £", "C £", "of which bias £", "Y £", "Y discounted £", "Payback"],
        [
            [
                CASE_TITLES[case],
                *[
                    money(result["cases"][case]["totals"][k])
                    for k in (
                        "a_gbp",
                        "b_gbp",
                        "c_gbp",
                        "optimism_bias_gbp",
                        "y_gbp",
                        "discounted_y_gbp",
                    )
                ],
                result["cases"][case]["payback"]["text"],
            ]
            for case in ("low", "central", "high")
        ],
        {1, 2, 3, 4, 5, 6},
    )
    for case in ("central", "low", "high"):
        c = result["cases"][case]
        out += ["", f"## {CASE_TITLES[case]} case, year by year", ""]
        keys = [
            "a_gbp",
            "b_gbp",
            "c_gbp",
            "y_gbp",
            "cumulative_y_gbp",
            "discount_factor",
            "discounted_y_gbp",
        ]
        rows = [
            [r["year"], *[r[k] if k == "discount_factor" else money(r[k]) for k in keys]]
            for r in c["years"]
        ]
        t = c["totals"]
        rows.append(
            [
                "Total",
                money(t["a_gbp"]),
                money(t["b_gbp"]),
                money(t["c_gbp"]),
                money(t["y_gbp"]),
                "",
                "",
                money(t["discounted_y_gbp"]),
            ]
        )
        out += _md_table(
            [
                "Year",
                "A £",
                "B £",
                "C £",
                "Y £",
                "Cumulative Y £",
                "Discount factor",
                "Discounted Y £",
            ],
            rows,
            set(range(1, 8)),
        )
    out += ["", "## Who pays and who gains (central case, all years)", ""]
    out += _md_table(
        [h for _, h in AGENCY_COLUMNS],
        [
            [r[k] if k in ("agency", "role") else money(r[k]) for k, _ in AGENCY_COLUMNS]
            for r in result["cases"]["central"]["agencies"]
        ],
        {1, 2, 3, 4, 5},
    )
    out += ["", "## Items", ""]
    out += _md_table(
        ["Item", "Name", "Agency", "How valued (central)", "Low £", "Central £", "High £"],
        [
            [
                i["path"],
                i["name"],
                i["agency"],
                i["cases"]["central"]["formula"],
                *[money(i["cases"][c]["total_gbp"]) for c in ("low", "central", "high")],
            ]
            for i in result["items"]
        ],
        {4, 5, 6},
    )
    out += ["", "## Method", ""]
    out += [f"- {md_cell(line.strip())}" for line in method_lines(result)]
    return "\n".join(out) + "\n"


# -- xlsx -------------------------------------------------------------------------------


def scenario_xlsx(result: dict[str, Any]) -> bytes:
    """Summary, Years (case × year), Agencies, Items and Method sheets; £ as numbers.
    Every sheet prints one page wide with its header row on each page."""
    from .workbook import Book, human

    book = Book(_title(result))

    def put(s: Any, r: int, c: int, key: str, value: Any) -> None:
        if value is None:
            return
        if key.endswith("_gbp"):
            s.put(r, c, float(Decimal(value)), book.gbp)
        elif key in ("discount_factor",):
            s.put(r, c, float(Decimal(value)))
        elif isinstance(value, int):
            s.put(r, c, value)
        else:
            s.put(r, c, str(value))

    def sheet(
        name: str,
        rows: list[dict[str, Any]],
        columns: list[tuple[str, str]],
        start: int = 0,
        above: tuple[tuple[str, Any], ...] = (),
    ) -> Any:
        s = book.sheet(name)
        for c, (key, _) in enumerate(columns):
            s.width(c, c, 44 if key in ("name", "formula", "agency", "value") else 16)
        for r, (text, fmt) in enumerate(above):
            s.put(r, 0, text, fmt)
        s.header(start, [human(title) for _, title in columns])
        for r, row in enumerate(rows, start=start + 1):
            for c, (key, _) in enumerate(columns):
                put(s, r, c, key, row.get(key))
        s.ws.freeze_panes(start + 1, 0)
        return s

    summary_rows = []
    for case in ("low", "central", "high"):
        c = result["cases"][case]
        summary_rows.append(
            {
                "case": case,
                **c["totals"],
                "payback": c["payback"]["text"],
                "discounted_payback": c["discounted_payback"]["text"],
            }
        )
    sheet(
        "Summary",
        summary_rows,
        [
            ("case", "Case"),
            ("a_gbp", "A savings £"),
            ("b_before_bias_gbp", "B before bias £"),
            ("c_before_bias_gbp", "C before bias £"),
            ("optimism_bias_gbp", "Optimism bias £"),
            ("b_gbp", "B investment £"),
            ("c_gbp", "C universal services £"),
            ("y_gbp", "Y = A − (B + C) £"),
            ("discounted_a_gbp", "Discounted A £"),
            ("discounted_b_gbp", "Discounted B £"),
            ("discounted_c_gbp", "Discounted C £"),
            ("discounted_y_gbp", "Discounted Y £"),
            ("payback", "Payback"),
            ("discounted_payback", "Discounted payback"),
        ],
        start=2,
        above=((_title(result), book.bold), (_bias_note(result), None)),
    )
    sheet(
        "Years",
        [
            {**r, "case": case}
            for case in ("low", "central", "high")
            for r in result["cases"][case]["years"]
        ],
        YEAR_COLUMNS,
    )
    sheet(
        "Agencies",
        [
            {**r, "case": case}
            for case in ("low", "central", "high")
            for r in result["cases"][case]["agencies"]
        ],
        [("case", "Case"), *AGENCY_COLUMNS],
    )
    labels = result["scenario"]["year_labels"]
    item_rows = []
    for item in result["items"]:
        for case in ("low", "central", "high"):
            c = item["cases"][case]
            row = {
                "path": item["path"],
                "term": item["term"],
                "name": item["name"],
                "agency": item["agency"],
                "case": case,
                "formula": c["formula"],
                "total_before_bias_gbp": c["total_before_bias_gbp"],
                "total_gbp": c["total_gbp"],
                "note": item["note"],
            }
            row.update({f"y{t}_gbp": v for t, v in enumerate(c["years_gbp"])})
            item_rows.append(row)
    sheet(
        "Items",
        item_rows,
        [
            ("path", "Item"),
            ("term", "Term"),
            ("name", "Name"),
            ("agency", "Agency"),
            ("case", "Case"),
            ("formula", "How valued"),
            ("total_before_bias_gbp", "Total before bias £"),
            ("total_gbp", "Total £"),
            *[(f"y{t}_gbp", f"{label} £") for t, label in enumerate(labels)],
            ("note", "Note"),
        ],
    )
    method = [{"setting": k, "value": str(v)} for k, v in sorted(result["method"].items())]
    method += [
        {"setting": f"scenario.{k}", "value": str(v)}
        for k, v in result["scenario"].items()
        if v is not None and k != "year_labels"
    ]
    method += [{"setting": "warning", "value": w} for w in result["warnings"]]
    for p in result["provenance"]:
        if p["source"] == "journey":
            method.append(
                {
                    "setting": f"{p['item']} journey",
                    "value": f"{p['journey']} ({p['journey_file']}): saving "
                    f"{p['saving_per_family_gbp']} per family",
                }
            )
    ws = sheet("Method", method, [("setting", "Setting"), ("value", "Value")])
    lines = [
        {"item": p["item"], "cofog": p["cofog"], "counted_gbp": p["counted_gbp"], **x}
        for p in result["provenance"]
        if p["source"] == "store"
        for x in p["lines"]
    ]
    if lines:
        start = len(method) + 3
        ws.put(start - 1, 0, "Lines behind the share items", book.bold)
        columns = [
            ("item", "Item"),
            ("cofog", "COFOG"),
            ("file", "File"),
            ("sheet", "Sheet"),
            ("cell", "Cell"),
            ("org", "Org"),
            ("native_label", "Label"),
            ("cofog_share", "COFOG share"),
            ("amount_gbp", "Amount (£)"),
        ]
        for c, (_, title) in enumerate(columns):
            ws.put(start, c, title, book.head)
        for r, row in enumerate(lines, start=start + 1):
            for c, (key, _) in enumerate(columns):
                put(ws, r, c, key, row.get(key))
    return book.close()


# -- chart ------------------------------------------------------------------------------

CHART_SUFFIXES = (".svg", ".png", ".html")
A_COLOUR = SAVING_COLOUR
Y_COLOUR = NET_COLOUR


def _chart_series(result: dict[str, Any]) -> dict[str, list[float]]:
    """Pounds for the chart (floats only here, for drawing: never for sums)."""

    def col(case: str, key: str) -> list[float]:
        return [float(Decimal(r[key])) for r in result["cases"][case]["years"]]

    return {
        "a": col("central", "a_gbp"),
        "bc": col("central", "b_plus_c_gbp"),
        "y": col("central", "y_gbp"),
        "cumulative": col("central", "cumulative_y_gbp"),
        "y_low": col("low", "y_gbp"),
        "y_high": col("high", "y_gbp"),
    }


def _short(value: float) -> str:
    """An axis label that does not misstate its tick: 2_500_000 → '£2.5m',
    -2_500_000 → '−£2.5m', 12_000 → '£12k', 7_500 → '£7.5k' (never '£8k')."""
    size = abs(value)
    sign = "−" if value < 0 else ""

    def short(x: float) -> str:  # up to two decimals, none that are zeros
        return f"{x:,.2f}".rstrip("0").rstrip(".")

    if size >= 1_000_000:
        return f"{sign}£{short(size / 1_000_000)}m"
    if size >= 1_000:
        return f"{sign}£{short(size / 1_000)}k"
    return f"{sign}£{size:,.0f}"


def _chart_title(result: dict[str, Any]) -> str:
    import textwrap

    s = result["scenario"]
    years = s["year_labels"]
    span = years[0] if len(years) == 1 else f"{years[0]} to {years[-1]}"
    name = "\n".join(textwrap.wrap(s["name"], 90))
    return f"{name}\nA − (B + C) = Y, central case, {span}"


def scenario_chart(result: dict[str, Any], path: Path) -> None:
    """A, B + C and Y over the years (central case, with Y's low–high range and the
    cumulative Y): ``.svg`` or ``.png`` with matplotlib, ``.html`` with plotly (its script
    inside the file). The same result gives the same bytes; the file is written atomically."""
    write_chart(
        path, lambda tmp: _chart_html(result, tmp), lambda tmp, fmt: _chart_static(result, tmp, fmt)
    )


def write_chart(
    path: Path, html: Callable[[Path], None], static: Callable[[Path, str], None]
) -> None:
    """A chart written atomically by its suffix: ``html(tmp)`` for .html, else
    ``static(tmp, "svg" or "png")``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CHART_SUFFIXES:
        from .errors import InputError

        raise InputError.one(
            "bad-option", f"--chart {path.name!r}: give a .svg, .png or .html file."
        )
    with atomic_path(path) as tmp:
        if suffix == ".html":
            html(tmp)
        else:
            static(tmp, suffix[1:])


def _chart_static(result: dict[str, Any], tmp: Path, fmt: str) -> None:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    data = _chart_series(result)
    labels = result["scenario"]["year_labels"]
    xs = list(range(len(labels)))
    with matplotlib.rc_context(MPL_STYLE):
        fig = Figure(figsize=(10, 6))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        width = 0.38
        ax.bar([x - width / 2 for x in xs], data["a"], width, color=A_COLOUR, label="A savings")
        ax.bar(
            [x + width / 2 for x in xs],
            data["bc"],
            width,
            color=COST_COLOUR,
            label="B + C costs",
        )
        ax.fill_between(
            xs, data["y_low"], data["y_high"], color=Y_COLOUR, alpha=0.12, label="Y, low to high"
        )
        ax.plot(xs, data["y"], color=Y_COLOUR, marker="o", linewidth=2.2, label="Y = A − (B + C)")
        ax.plot(
            xs,
            data["cumulative"],
            color=Y_COLOUR,
            linestyle="--",
            linewidth=1.4,
            label="Cumulative Y",
        )
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(xs, labels)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _short(v)))
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        ax.set_title(_chart_title(result), fontsize=12)
        fig.tight_layout()
        if fmt == "svg":
            fig.savefig(tmp, format="svg", metadata={"Date": None})
        else:
            fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})


def _chart_html(result: dict[str, Any], tmp: Path) -> None:
    import plotly.graph_objects as go

    data = _chart_series(result)
    labels = result["scenario"]["year_labels"]
    fig = go.Figure()
    fig.add_bar(x=labels, y=data["a"], name="A savings", marker_color=A_COLOUR)
    fig.add_bar(x=labels, y=data["bc"], name="B + C costs", marker_color=COST_COLOUR)
    fig.add_scatter(
        x=labels, y=data["y_high"], name="Y high", mode="lines", line={"width": 0}, showlegend=False
    )
    fig.add_scatter(
        x=labels,
        y=data["y_low"],
        name="Y, low to high",
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor=rgba(Y_COLOUR, 0.12),
    )
    fig.add_scatter(
        x=labels,
        y=data["y"],
        name="Y = A − (B + C)",
        mode="lines+markers",
        line={"color": Y_COLOUR},
    )
    fig.add_scatter(
        x=labels,
        y=data["cumulative"],
        name="Cumulative Y",
        mode="lines",
        line={"color": Y_COLOUR, "dash": "dash"},
    )
    fig.update_layout(
        title={
            "text": plotly_text(_chart_title(result)).replace("\n", "<br>"),
            "x": 0.5,
            "xanchor": "center",
        },
        barmode="group",
        # financial years are names, not dates: plotly would read "2010-11" as November 2010
        # and draw the years on a time axis (two of five visible); one category per year
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": labels},
        yaxis={"tickprefix": "£", "separatethousands": True},
        height=600,
    )
    fig.write_html(
        tmp,
        include_plotlyjs=True,
        full_html=True,
        div_id="placecount-scenario",
        config={"displaylogo": False},
    )
