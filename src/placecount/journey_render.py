"""Journeys as tables, CSV, Markdown, xlsx and a chart.

The renderers compute nothing: every figure is a decimal string from
:func:`placecount.scenario.cost_journey`, so the touchpoints add up to the total and the
saving is now less redesigned in every format exactly as in the result. matplotlib,
plotly and xlsxwriter are imported inside the functions that use them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from .charts import MPL_STYLE, PALETTE, plotly_text
from .escape import md_cell, md_text
from .render import money, percent, to_csv
from .scenario_render import _md_table, output_in, pounds, tables_text, write_chart

JOURNEY_FORMATS = ("table", "csv", "json", "xlsx", "md")


def journey_output(result: dict[str, Any], fmt: str, width: int | None = 200) -> str | bytes:
    """A costed journey in one of JOURNEY_FORMATS: text, or bytes for xlsx."""
    return output_in(
        result,
        fmt,
        JOURNEY_FORMATS,
        csv=journey_csv,
        md=journey_markdown,
        xlsx=journey_xlsx,
        table=lambda r: tables_text(journey_tables(r), width),
    )


# -- csv, table, markdown ---------------------------------------------------------------

JOURNEY_COLUMNS = [
    "journey",
    "index",
    "agency",
    "service",
    "contact",
    "count",
    "unit_cost_gbp",
    "hours",
    "hourly_cost_gbp",
    "cost_gbp",
]


def journey_csv(result: dict[str, Any]) -> str:
    """Tidy CSV: one row per touchpoint, now and (if given) redesigned."""
    rows = [{**tp, "journey": "now"} for tp in result["touchpoints"]]
    if result["redesigned"]:
        rows += [{**tp, "journey": "redesigned"} for tp in result["redesigned"]["touchpoints"]]
    return to_csv(rows, JOURNEY_COLUMNS)


def journey_tables(result: dict[str, Any]) -> list[Any]:
    """Touchpoints, cost by agency and by kind of contact, the total and the saving."""
    from rich.table import Table

    out: list[Any] = []
    j = result["journey"]
    tps = Table(title=f"{j['name']}: {pounds(result['total_gbp'])}", show_footer=True)
    for head, right in [
        ("Agency", False),
        ("Service", False),
        ("Contact", False),
        ("How costed", False),
        ("Cost £", True),
    ]:
        tps.add_column(head, justify="right" if right else "left")
    tps.columns[0].footer = "Total"
    tps.columns[-1].footer = money(result["total_gbp"])
    for tp in result["touchpoints"]:
        tps.add_row(tp["agency"], tp["service"], tp["contact"], tp["basis"], money(tp["cost_gbp"]))
    out.append(tps)
    for key, title in (("by_agency", "By agency"), ("by_contact", "By kind of contact")):
        name = "agency" if key == "by_agency" else "contact"
        table = Table(title=title)
        table.add_column(name.capitalize())
        table.add_column("Touchpoints", justify="right")
        table.add_column("Cost £", justify="right")
        table.add_column("Share", justify="right")
        for r in result[key]:
            table.add_row(
                r[name], str(r["touchpoints"]), money(r["cost_gbp"]), percent(r["share_of_total"])
            )
        out.append(table)
    if result["redesigned"]:
        saving = Table(title="Redesigned: the saving per family, by agency", show_footer=True)
        for head, footer in [
            ("Agency", "Total"),
            ("Now £", money(result["total_gbp"])),
            ("Redesigned £", money(result["redesigned"]["total_gbp"])),
            ("Saving £", money(result["saving_gbp"])),
        ]:
            saving.add_column(head, justify="left" if head == "Agency" else "right", footer=footer)
        for r in result["saving_by_agency"]:
            saving.add_row(
                r["agency"], money(r["now_gbp"]), money(r["redesigned_gbp"]), money(r["saving_gbp"])
            )
        out.append(saving)
        out.append(
            f"Total {pounds(result['total_gbp'])}; redesigned £"
            f"{money(result['redesigned']['total_gbp'])}; saving per family "
            f"{pounds(result['saving_gbp'])}."
        )
    else:
        out.append(f"Total {pounds(result['total_gbp'])}.")
    return out


def journey_markdown(result: dict[str, Any]) -> str:
    """The journey as Markdown: touchpoints, by agency, by contact, the saving."""
    j = result["journey"]
    out = [f"# {md_cell(j['name'])}: {pounds(result['total_gbp'])}", ""]
    if j.get("description"):
        out += [md_text(j["description"]), ""]
    out += _md_table(
        ["Agency", "Service", "Contact", "How costed", "Cost £"],
        [
            [tp["agency"], tp["service"], tp["contact"], tp["basis"], money(tp["cost_gbp"])]
            for tp in result["touchpoints"]
        ]
        + [["Total", "", "", "", money(result["total_gbp"])]],
        {4},
    )
    for key, title in (("by_agency", "By agency"), ("by_contact", "By kind of contact")):
        name = "agency" if key == "by_agency" else "contact"
        out += ["", f"## {title}", ""]
        out += _md_table(
            [name.capitalize(), "Touchpoints", "Cost £", "Share"],
            [
                [r[name], str(r["touchpoints"]), money(r["cost_gbp"]), percent(r["share_of_total"])]
                for r in result[key]
            ],
            {1, 2, 3},
        )
    if result["redesigned"]:
        out += ["", "## Redesigned: the saving per family", ""]
        out += _md_table(
            ["Agency", "Now £", "Redesigned £", "Saving £"],
            [
                [
                    r["agency"],
                    money(r["now_gbp"]),
                    money(r["redesigned_gbp"]),
                    money(r["saving_gbp"]),
                ]
                for r in result["saving_by_agency"]
            ]
            + [
                [
                    "Total",
                    money(result["total_gbp"]),
                    money(result["redesigned"]["total_gbp"]),
                    money(result["saving_gbp"]),
                ]
            ],
            {1, 2, 3},
        )
    return "\n".join(out) + "\n"


# -- xlsx -------------------------------------------------------------------------------

#: The touchpoint sheets' columns: (key, heading, width). Keys ending ``_gbp`` are £.
TOUCHPOINT_SHEET_COLUMNS: list[tuple[str, str, float]] = [
    ("agency", "Agency", 40),
    ("service", "Service", 44),
    ("contact", "Contact", 12),
    ("count", "Count", 9),
    ("unit_cost_gbp", "Unit cost (£)", 14),
    ("hours", "Hours", 8),
    ("hourly_cost_gbp", "Hourly cost (£)", 14),
    ("basis", "How costed", 26),
    ("cost_gbp", "Cost (£)", 14),
    ("note", "Note", 30),
]
_NUMBER_KEYS = ("count", "hours")


def journey_xlsx(result: dict[str, Any]) -> bytes:
    """Touchpoints (and Redesigned), By agency, By contact, Saving (with a redesign) and
    Method sheets; £ as numbers with a pence format, shares as rounded percentages, and
    every name from the journey file as text. Every sheet prints one page wide with its
    header row on each page.

    >>> from placecount.scenario import cost_journey, load_journey
    >>> r = cost_journey(load_journey("examples/scenarios/family_journey.yaml"))
    >>> journey_xlsx(r)[:2]
    b'PK'
    """
    from .workbook import Book

    j = result["journey"]
    title = f"{j['name']}: {pounds(result['total_gbp'])}"
    book = Book(title, j.get("place") or "")

    def value(s: Any, r: int, c: int, key: str, v: Any, total: bool = False) -> None:
        if v is None:
            return
        if key.endswith("_gbp"):
            s.put(r, c, float(Decimal(v)), book.total_gbp if total else book.gbp)
        elif key == "share_of_total":
            s.put(r, c, float(Decimal(v)), book.total_pct if total else book.pct)
        elif key in _NUMBER_KEYS:
            s.put(r, c, float(Decimal(v)))
        elif isinstance(v, int) and not isinstance(v, bool):
            s.put(r, c, v, book.total_text if total else None)
        else:
            s.put(r, c, str(v), book.total_text if total else None)

    def sheet(
        name: str,
        heading: str,
        rows: list[dict[str, Any]],
        columns: list[tuple[str, str, float]],
        total: dict[str, Any] | None,
    ) -> None:
        s = book.sheet(name)
        s.put(0, 0, heading, book.title_format)
        for c, (_, _, w) in enumerate(columns):
            s.width(c, c, w)
        s.header(2, [h for _, h, _ in columns])
        r = 2
        for r, row in enumerate(rows, start=3):
            for c, (key, _, _) in enumerate(columns):
                value(s, r, c, key, row.get(key))
        if total is not None:
            for c, (key, _, _) in enumerate(columns):
                # the whole total row is ruled, blanks too
                if total.get(key) is None:
                    s.put(r + 1, c, None, book.total_text)
                else:
                    value(s, r + 1, c, key, total[key], total=True)
        s.ws.freeze_panes(3, 0)

    now_total = {"agency": "Total", "cost_gbp": result["total_gbp"]}
    sheet(
        "Touchpoints",
        f"{j['name']}: touchpoints now",
        result["touchpoints"],
        TOUCHPOINT_SHEET_COLUMNS,
        now_total,
    )
    redesigned = result["redesigned"]
    if redesigned:
        sheet(
            "Redesigned",
            f"{j['name']}: touchpoints redesigned",
            redesigned["touchpoints"],
            TOUCHPOINT_SHEET_COLUMNS,
            {"agency": "Total", "cost_gbp": redesigned["total_gbp"]},
        )
    for key, name, label in (
        ("by_agency", "By agency", "agency"),
        ("by_contact", "By contact", "contact"),
    ):
        rows = result[key]
        sheet(
            name,
            f"{j['name']}: cost {name.lower()}" + (" (now)" if redesigned else ""),
            rows,
            [
                (label, label.capitalize(), 40 if label == "agency" else 16),
                ("touchpoints", "Touchpoints", 12),
                ("cost_gbp", "Cost (£)", 14),
                ("share_of_total", "Share of total", 12),
            ],
            {
                label: "Total",
                "touchpoints": sum(x["touchpoints"] for x in rows),
                "cost_gbp": result["total_gbp"],
                "share_of_total": "1" if rows else None,
            },
        )
    if redesigned:
        sheet(
            "Saving",
            f"{j['name']}: the saving per family, by agency",
            result["saving_by_agency"],
            [
                ("agency", "Agency", 40),
                ("now_gbp", "Now (£)", 14),
                ("redesigned_gbp", "Redesigned (£)", 14),
                ("saving_gbp", "Saving (£)", 14),
            ],
            {
                "agency": "Total",
                "now_gbp": result["total_gbp"],
                "redesigned_gbp": redesigned["total_gbp"],
                "saving_gbp": result["saving_gbp"],
            },
        )
    items: list[tuple[str, str]] = [
        ("Journey", j["name"]),
        ("Description", j.get("description") or ""),
        ("Place", j.get("place") or ""),
        ("Journey file", j.get("file") or ""),
        ("Total now", pounds(result["total_gbp"])),
    ]
    if redesigned:
        items += [
            ("Total redesigned", pounds(redesigned["total_gbp"])),
            ("Saving per family", pounds(result["saving_gbp"])),
        ]
    items += [(f"method.{k}", str(v)) for k, v in sorted(result["method"].items())]
    items.append(
        (
            "Amounts",
            "Each cell holds the exact amount in pounds and pence; shares are rounded to "
            "0.1% once, as in every other format.",
        )
    )
    s = book.sheet("Method")
    s.width(0, 0, 24)
    s.width(1, 1, 90)
    s.header(0, ["Setting", "Value"])
    for r, (k, v) in enumerate(items, start=1):
        s.put(r, 0, k)
        s.put(r, 1, v)
    return book.close()


# -- chart ------------------------------------------------------------------------------

NOW_COLOUR = PALETTE[0]
REDESIGNED_COLOUR = PALETTE[1]


def _chart_series(result: dict[str, Any]) -> tuple[list[str], list[float], list[float] | None]:
    """Agencies, their cost now and redesigned, in pounds (floats only here, for drawing:
    never for sums), in the order of the cost now, largest first."""
    if result["redesigned"]:
        rows = result["saving_by_agency"]
        order = {a["agency"]: k for k, a in enumerate(result["by_agency"])}
        # an agency only in the redesign goes after those of the journey now
        rows = sorted(rows, key=lambda x: order.get(x["agency"], len(order)))
        return (
            [x["agency"] for x in rows],
            [float(Decimal(x["now_gbp"])) for x in rows],
            [float(Decimal(x["redesigned_gbp"])) for x in rows],
        )
    rows = result["by_agency"]
    return [x["agency"] for x in rows], [float(Decimal(x["cost_gbp"])) for x in rows], None


def chart_title(result: dict[str, Any]) -> str:
    """The journey's name, then its cost, and with a redesign the saving per family.

    >>> chart_title({"journey": {"name": "Mr A"}, "total_gbp": "263.98", "redesigned": None})
    'Mr A\\nCost by agency: £263.98'
    """
    import textwrap

    name = "\n".join(textwrap.wrap(result["journey"]["name"], 90)) or result["journey"]["name"]
    if not result["redesigned"]:
        return f"{name}\nCost by agency: {pounds(result['total_gbp'])}"
    return (
        f"{name}\nCost by agency: {pounds(result['total_gbp'])} now, "
        f"{pounds(result['redesigned']['total_gbp'])} redesigned, "
        f"saving {pounds(result['saving_gbp'])} per family"
    )


def journey_chart(result: dict[str, Any], path: Path) -> None:
    """The journey's cost by agency as bars, now beside redesigned when there is a
    redesign, the saving in the title: ``.svg`` or ``.png`` with matplotlib, ``.html``
    with plotly (its script inside the file). The same journey gives the same bytes; the
    file is written atomically."""
    write_chart(
        path, lambda tmp: _chart_html(result, tmp), lambda tmp, fmt: _chart_static(result, tmp, fmt)
    )


def _chart_static(result: dict[str, Any], tmp: Path, fmt: str) -> None:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    names, now, after = _chart_series(result)
    ys = list(range(len(names)))
    with matplotlib.rc_context(MPL_STYLE):
        fig = Figure(figsize=(11, 2.0 + 0.45 * len(names) * (2 if after else 1)))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        if after is None:
            ax.barh(ys, now, 0.7, color=NOW_COLOUR, label="Now")
        else:
            height = 0.4
            ax.barh([y - height / 2 for y in ys], now, height, color=NOW_COLOUR, label="Now")
            ax.barh(
                [y + height / 2 for y in ys],
                after,
                height,
                color=REDESIGNED_COLOUR,
                label="Redesigned",
            )
            ax.legend(loc="lower right", frameon=False, fontsize=9)
        # names as given, one tick each: plain text under MPL_STYLE (no mathtext)
        ax.set_yticks(ys, names)
        ax.invert_yaxis()
        # whole pounds: a journey's agencies cost hundreds or thousands, and a short '£8k'
        # for a tick at 7,500 would misstate it
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"£{v:,.0f}"))
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(chart_title(result), fontsize=12)
        fig.tight_layout()
        if fmt == "svg":
            fig.savefig(tmp, format="svg", metadata={"Date": None})
        else:
            fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})


def _chart_html(result: dict[str, Any], tmp: Path) -> None:
    import plotly.graph_objects as go

    names, now, after = _chart_series(result)
    labels = [plotly_text(n) for n in names]
    fig = go.Figure()
    fig.add_bar(y=labels, x=now, name="Now", orientation="h", marker_color=NOW_COLOUR)
    if after is not None:
        fig.add_bar(
            y=labels, x=after, name="Redesigned", orientation="h", marker_color=REDESIGNED_COLOUR
        )
    fig.update_layout(
        title={
            "text": plotly_text(chart_title(result)).replace("\n", "<br>"),
            "x": 0.5,
            "xanchor": "center",
        },
        barmode="group",
        # one category per agency, largest at the top, in the order of the other formats
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
            "autorange": "reversed",
        },
        xaxis={"tickprefix": "£", "separatethousands": True},
        height=max(400, 160 + 28 * len(names) * (2 if after else 1)),
        margin={"l": 320},
    )
    fig.write_html(
        tmp,
        include_plotlyjs=True,
        full_html=True,
        div_id="placecount-journey",
        config={"displaylogo": False},
    )
