"""Workbooks that print and scale: the count, flows, scenarios and comparisons as xlsx.

Every sheet gets a print area, fits one page wide (landscape where the table is wider than
tall or than a portrait page), repeats its header row on each page and carries the title,
the place and page numbers in its page header and footer. Amounts are numbers with a £
format, never text; shares are the rounded figures of :mod:`placecount.rounding` stored as
numbers with a % format, so Excel shows what every other format shows. Sheets are written
in xlsxwriter's constant-memory mode (a row at a time, to a temporary file), and a table
longer than Excel's 1,048,576 rows goes on over sheets "Lines", "Lines 2", …

>>> human("Councils £"), human("£ per head"), human("in_gbp")
('Councils (£)', 'Per head (£)', 'In (£)')
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

#: Excel's rows a sheet (the header row is one of them).
EXCEL_ROWS = 1_048_576
#: Workbooks carry this fixed date, so the same count gives the same bytes.
FIXED_DATE = (2000, 1, 1)
#: A table of more rows than this shows a progress bar (on a terminal) while it is written.
PROGRESS_FROM = 20_000

GBP = "£#,##0.00;-£#,##0.00"
GBP_WHOLE = "£#,##0;-£#,##0"
PCT = "0.0%"
HEAD = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}

# A4 with half-inch side margins, in points; a column of width w (characters) is about
# (7w + 5) pixels, 3/4 of a point each; a row is 15 points.
_PORTRAIT_WIDTH_PT = (8.27 - 1.0) * 72
_ROW_PT = 15.0
_DEFAULT_WIDTH = 8.43

_WORDS = {
    "Share": "Share of total",
    "hand_overs": "Hand-overs",
    "measured_at": "Measured at",
    "administration_share_of_delivered": "Administration / delivered",
    "in_gbp": "In (£)",
}


def human(title: str) -> str:
    """A column heading as a reader writes it: 'Total £' → 'Total (£)', a field name such
    as 'delivered_gbp' → 'Delivered (£)'."""
    if title in _WORDS:
        return _WORDS[title]
    if title == "£":
        return "Amount (£)"
    if title == "£ per head":
        return "Per head (£)"
    if " " not in title and title.islower():  # a field name
        words = title.split("_")
        unit = " (£)" if words[-1] == "gbp" else ""
        words = words[:-1] if unit else words
        text = " ".join(words)
        return (text[:1].upper() + text[1:] + unit) if text else "Amount (£)"
    if title.endswith(" £ per head"):
        return title[: -len(" £ per head")] + " per head (£)"
    if title.endswith(" £"):
        return title[:-2] + " (£)"
    return title


def _header_text(text: str) -> str:
    # '&' starts a code in a page header; xlsxwriter refuses a header over 255 characters
    return text.replace("&", "&&")[:100]


class Sheet:
    """One worksheet, written top to bottom; it remembers how far it reaches so that its
    page setup covers exactly what was written."""

    def __init__(self, book: Book, name: str) -> None:
        self.book = book
        self.name = name
        self.ws = book.wb.add_worksheet(name)
        self.last_row = -1
        self.last_col = -1
        self.widths: dict[int, float] = {}
        self.head_row: int | None = None

    def put(self, r: int, c: int, value: Any, fmt: Any = None) -> None:
        """A cell: None blank, numbers as numbers, everything else as text (never a
        formula: the workbook is made with strings_to_formulas off)."""
        ws = self.ws
        if value is None:
            if fmt is None:
                return
            ws.write_blank(r, c, None, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(r, c, value, fmt)
        elif isinstance(value, (int, float)):
            ws.write_number(r, c, value, fmt)
        elif isinstance(value, Decimal):
            ws.write_number(r, c, float(value), fmt)
        else:
            ws.write_string(r, c, str(value), fmt)
        self.last_row = max(self.last_row, r)
        self.last_col = max(self.last_col, c)

    def width(self, first: int, last: int, width: float) -> None:
        self.ws.set_column(first, last, width)
        for c in range(first, last + 1):
            self.widths[c] = width

    def header(self, r: int, titles: list[str], height: float | None = None) -> None:
        """The header row: repeated at the top of every printed page."""
        if height is not None:
            self.ws.set_row(r, height)
        for c, t in enumerate(titles):
            self.put(r, c, t, self.book.head)
        self.head_row = r

    def finish(self) -> None:
        """Print area, one page wide, orientation, repeated header, title and page numbers."""
        ws = self.ws
        rows, cols = max(self.last_row, 0), max(self.last_col, 0)
        ws.print_area(0, 0, rows, cols)
        ws.fit_to_pages(1, 0)
        ws.set_paper(9)  # A4
        ws.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
        if self.head_row is not None:
            ws.repeat_rows(self.head_row)
        width_pt = sum((7 * self.widths.get(c, _DEFAULT_WIDTH) + 5) * 0.75 for c in range(cols + 1))
        height_pt = (rows + 1) * _ROW_PT
        if width_pt > min(height_pt, _PORTRAIT_WIDTH_PT):
            ws.set_landscape()
        else:
            ws.set_portrait()
        left = _header_text(self.book.title)
        right = _header_text(self.book.place)
        ws.set_header(f"&L{left}&R{right}" if right else f"&L{left}")
        ws.set_footer(f"&L{_header_text(self.name)}&RPage &P of &N")


class Book:
    """An xlsx workbook in memory that treats every string as text (never a formula or a
    link), carries a fixed date (the same figures give the same bytes) and is written in
    constant memory."""

    def __init__(self, title: str, place: str = "", path: Path | None = None) -> None:
        import xlsxwriter

        self.title = title
        self.place = place
        # written to ``path`` when given: a workbook of a million lines is never held whole
        self.sink = io.BytesIO() if path is None else None
        self.wb = xlsxwriter.Workbook(
            self.sink if path is None else str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self.wb.set_properties({"title": title, "created": dt.datetime(*FIXED_DATE)})
        self.sheets: list[Sheet] = []
        self.head = self.wb.add_format(HEAD)
        self.bold = self.wb.add_format({"bold": True})
        self.title_format = self.wb.add_format({"bold": True, "font_size": 14})
        self.gbp = self.wb.add_format({"num_format": GBP})
        self.gbp_whole = self.wb.add_format({"num_format": GBP_WHOLE})
        self.pct = self.wb.add_format({"num_format": PCT})
        self.total_gbp = self.wb.add_format({"num_format": GBP, "bold": True, "top": 1})
        self.total_whole = self.wb.add_format({"num_format": GBP_WHOLE, "bold": True, "top": 1})
        self.total_pct = self.wb.add_format({"num_format": PCT, "bold": True, "top": 1})
        self.total_text = self.wb.add_format({"bold": True, "top": 1})

    def sheet(self, name: str) -> Sheet:
        """A new sheet; the previous one is finished (constant memory writes them in turn)."""
        if self.sheets:
            self.sheets[-1].finish()
        s = Sheet(self, name[:31])
        self.sheets.append(s)
        return s

    def table(
        self,
        name: str,
        rows: Iterable[dict[str, Any]],
        count: int,
        columns: list[tuple[str, str, float]],
        max_rows: int = EXCEL_ROWS,
        what: str = "rows",
    ) -> list[str]:
        """A table of ``count`` rows under a header, over as many sheets as Excel's row
        limit needs ("Lines", "Lines 2", …); amounts (keys ending ``_gbp``) as exact £
        numbers. Returns the sheets' names."""
        per_sheet = max_rows - 1
        n_sheets = max(1, math.ceil(count / per_sheet))
        names = [name if i == 0 else f"{name} {i + 1}" for i in range(n_sheets)]
        it = iter(rows)
        label = f"Writing {count:,} {what} to the {name} sheet"
        with progress(label, count if count >= PROGRESS_FROM else 0) as tick:
            for i, sheet_name in enumerate(names):
                s = self.sheet(sheet_name)
                for c, (_, _, w) in enumerate(columns):
                    s.width(c, c, w)
                s.header(0, [t for _, t, _ in columns])
                s.ws.freeze_panes(1, 0)
                take = min(per_sheet, count - i * per_sheet)
                r = 0
                # the hot loop of a large count: xlsxwriter's own writers, called directly
                write_number, write_string = s.ws.write_number, s.ws.write_string
                cols = [(c, key, key.endswith("_gbp")) for c, (key, _, _) in enumerate(columns)]
                gbp = self.gbp
                for r, row in enumerate(_take(it, take), start=1):
                    for c, key, money in cols:
                        value = row.get(key)
                        if value is None:
                            continue
                        if money:
                            write_number(r, c, float(value), gbp)
                        elif isinstance(value, str):
                            write_string(r, c, value)
                        elif isinstance(value, (int, float)) and not isinstance(value, bool):
                            write_number(r, c, value)
                        else:
                            s.put(r, c, value)
                    if r % 5000 == 0:
                        tick(5000)
                tick(r % 5000)
                s.last_row = max(s.last_row, r)
                if r:
                    s.ws.autofilter(0, 0, r, len(columns) - 1)
        return names

    def close(self) -> bytes:
        """The workbook's bytes (nothing when it was written to a file)."""
        if self.sheets:
            self.sheets[-1].finish()
        with progress("Compressing the workbook", 1 if self._big() else 0):
            self.wb.close()
        return b"" if self.sink is None else self.sink.getvalue()

    def _big(self) -> bool:
        return sum(max(s.last_row, 0) for s in self.sheets) >= PROGRESS_FROM


def _take(it: Iterator[dict[str, Any]], n: int) -> Iterator[dict[str, Any]]:
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return


@contextmanager
def progress(label: str, total: int) -> Iterator[Any]:
    """A progress bar on stderr while a long write runs (only on a terminal, and only when
    ``total`` is not 0); yields a function that advances it."""
    if not total:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True)
    columns = (
        (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        if total > 1
        else (SpinnerColumn(), TextColumn("{task.description}"))
    )
    bar = Progress(*columns, console=console, transient=True, disable=not console.is_terminal)
    with bar:
        task = bar.add_task(label, total=total if total > 1 else None)
        yield lambda n: bar.advance(task, n)


# -- the count -------------------------------------------------------------------------------


def _num(text: str | None) -> float | None:
    # xlsx stores numbers as doubles: exact to the penny for any public budget
    return None if text is None else float(Decimal(text))


LINE_COLUMNS: list[tuple[str, str, float]] = [
    ("file_name", "File", 36),
    ("sheet", "Sheet", 16),
    ("excel_column", "Column", 7),
    ("excel_row", "Row", 6),
    ("kind", "Kind", 9),
    ("org", "Organisation", 30),
    ("native_code", "Code", 10),
    ("native_label", "Label", 44),
    ("cofog_code", "COFOG", 9),
    ("cofog_share", "COFOG share", 11),
    ("basis", "Basis", 9),
    ("sector", "Sector", 7),
    ("economic", "Economic", 9),
    ("grade", "Grade", 11),
    ("identifiable", "Identifiable", 12),
    ("apportionment", "Share of region", 12),
    ("amount_gbp", "Amount (£)", 18),
    ("treatment", "In the count as", 14),
    ("replaced_by", "Replaced by rule", 18),
    ("transfer_to", "Transfer to", 24),
]


def report_xlsx(
    result: dict[str, Any], max_rows: int = EXCEL_ROWS, path: Path | None = None
) -> bytes:
    """A workbook a finance officer can forward and print: Count, Sources, Method,
    Unmapped and Excluded, and Lines (over several sheets past Excel's row limit,
    ``max_rows`` a sheet). Amounts are numbers with a £ format, never text: whole pounds
    shown on the Count sheet, exact pence on the others. Written to ``path`` when given
    (and nothing returned), else returned."""
    from .render import count_columns

    place = result.get("place") or {}
    title = f"Public spending by COFOG {result['by']}"
    if place:
        title = f"{place['name']} {place['financial_year']}: {title}"
    if result.get("theme"):
        title += f" (theme {result['theme']['name']})"
    book = Book(title, place.get("name", "") if place else "", path)

    # -- Count ----------------------------------------------------------------------------
    s = book.sheet("Count")
    s.put(0, 0, title, book.title_format)
    s.put(1, 0, "Amounts in whole £ (exact pence on the Lines sheet). Method on the Method sheet.")
    cols = count_columns(result)
    heads = ["COFOG", "Function"] + [human(c.heading) for c in cols]
    hr = 3
    s.width(0, 0, 8)
    s.width(1, 1, 44)
    s.width(2, len(heads) - 1, 15)
    s.header(hr, heads, height=32)
    # whole £ on this sheet (the cells keep the exact amounts), pence per head, % shares
    body = {"per_head": book.gbp, "share": book.pct}
    foot = {"per_head": book.total_gbp, "share": book.total_pct}
    r = hr
    for r, row in enumerate(result["rows"], start=hr + 1):
        s.put(r, 0, row["cofog_code"] or "")
        s.put(r, 1, row["cofog_name"])
        for c, col in enumerate(cols, start=2):
            s.put(r, c, _num(col.value(row)), body.get(col.kind, book.gbp_whole))
    tr = r + 1
    s.put(tr, 0, "", book.total_text)
    s.put(tr, 1, "Total", book.total_text)
    for c, col in enumerate(cols, start=2):
        s.put(tr, c, _num(col.value(result["totals"])), foot.get(col.kind, book.total_whole))
    rec = result["reconciliation"]
    rr = tr + 2
    s.put(rr, 1, "How the count adds up", book.bold)
    recon: list[tuple[str, str]] = [("Gross spend of the bodies counted", rec["gross_gbp"])]
    recon += [
        (f"less transfer {x['from']} → {x['to']} ({x['label']})", f"-{x['amount_gbp']}")
        for x in rec["transfers"]
    ]
    recon += [(f"less {x['text']}", f"-{x['amount_gbp']}") for x in rec["replaced"]]
    recon += [
        (f"outside the count: {x['label']} ({x['why']})", f"-{x['amount_gbp']}")
        for x in rec.get("outside", [])
    ]
    recon.append(("The count", rec["count_gbp"]))
    hl = result["headline"]
    recon.append((f"Headline ({hl['basis']})", hl["amount_gbp"]))
    recon += [(f"Confidence grade: {g}", v) for g, v in result["totals"]["by_grade_gbp"].items()]
    i = rr
    for i, (label, amount) in enumerate(recon, start=rr + 1):
        strong = label == "The count" or label.startswith("Headline")
        s.put(i, 1, label, book.bold if strong else None)
        s.put(i, 2, _num(amount.replace("--", "")), book.total_gbp if strong else book.gbp)
    for j, gap in enumerate(hl["gaps"], start=i + 1):
        s.put(j, 1, f"Headline: {gap}")
    s.ws.freeze_panes(hr + 1, 2)

    # -- Sources --------------------------------------------------------------------------
    sources = result.get("sources", [])
    book.table(
        "Sources",
        sources,
        len(sources),
        [
            ("file_name", "File", 38),
            ("file_sha256", "SHA-256", 66),
            ("sheet", "Sheet", 18),
            ("kind", "Kind", 9),
            ("org", "Organisation", 34),
            ("financial_year", "Year", 9),
            ("units", "Units", 10),
            ("region", "Region", 16),
            ("part", "PESA part", 10),
            ("pesa_share", "Share", 10),
            ("share_basis", "Share basis", 30),
            ("lines_kept", "Lines kept", 10),
            ("lines_left_out", "Left out", 10),
            ("total_gbp", "Total (£)", 18),
        ],
        max_rows,
    )

    # -- Method ---------------------------------------------------------------------------
    lines = result.get("lines", [])
    n_lines = len(lines)
    per_sheet = max_rows - 1
    line_sheets = max(1, math.ceil(n_lines / per_sheet))
    wm = book.sheet("Method")
    items = _method_items(result)
    if line_sheets > 1:
        names = ", ".join(["Lines"] + [f"Lines {k}" for k in range(2, line_sheets + 1)])
        items.append(
            (
                "Lines sheets",
                f"{n_lines:,} lines over {line_sheets} sheets ({names}), at most "
                f"{per_sheet:,} a sheet: a sheet holds at most {max_rows:,} rows "
                "with its header.",
            )
        )
    wm.width(0, 0, 40)
    wm.width(1, 1, 70)
    wm.header(0, ["Setting", "Value"])
    for k, (key, value) in enumerate(items, start=1):
        wm.put(k, 0, key)
        wm.put(k, 1, value)

    # -- Unmapped and Excluded ------------------------------------------------------------
    unmapped = result.get("unmapped_lines", [])
    excluded = result.get("excluded_lines", [])
    rows = itertools.chain(
        ({**u, "status": "not mapped (in the count)", "reason": ""} for u in unmapped),
        ({**x, "status": "left out"} for x in excluded),
    )
    book.table(
        "Unmapped and Excluded",
        rows,
        len(unmapped) + len(excluded),
        [
            ("status", "Status", 24),
            ("file_name", "File", 36),
            ("sheet", "Sheet", 16),
            ("excel_row", "Row", 6),
            ("kind", "Kind", 9),
            ("org", "Organisation", 30),
            ("native_code", "Code", 10),
            ("native_label", "Label", 44),
            ("amount_text", "As written", 14),
            ("amount_gbp", "Amount (£)", 18),
            ("reason", "Reason", 40),
        ],
        max_rows,
    )

    # -- Lines ----------------------------------------------------------------------------
    book.table("Lines", lines, n_lines, LINE_COLUMNS, max_rows, what="lines")
    return book.close()


def _method_items(result: dict[str, Any]) -> list[tuple[str, Any]]:
    place = result.get("place") or {}
    items: list[tuple[str, Any]] = [
        ("Classification", "UN COFOG 1999"),
        ("Rows are COFOG", result["by"]),
    ]
    items += [(f"method.{k}", str(v)) for k, v in result["method"].items()]
    items += [(f"filter.{k}", ", ".join(v) or "(none)") for k, v in result["filters"].items()]
    if result.get("theme"):
        items.append(("theme", result["theme"]["name"]))
    for p in result["pesa"]:
        items.append(
            (
                f"PESA share: {p['file']} ({p['region']})",
                f"{p['share']} ({p['share_basis']}), part {p['part']}",
            )
        )
    hl = result["headline"]
    items.append(("Headline basis", f"{hl['basis']} spending"))
    items += [("Headline: left out or not split", gap) for gap in hl["gaps"]]
    items += [
        (f"Coverage rule {r['rule']}", f"{r['text']}. {r['note']}".rstrip())
        for r in result.get("coverage_rules", [])
    ]
    for n in result["ndpb_of_which"]:
        items.append(
            (
                f"NDPBs sponsored by {n['sponsor']}",
                ("added" if n["added"] else "of which, not added")
                + (", covered by PESA" if n["covered_by_pesa"] else ", no PESA figure"),
            )
        )
    for b in result["coverage"]["no_data"]:
        items.append((f"No data: {b['name']}", b.get("note") or ""))
    if any(r.get("level") and r["level"] != result["by"] for r in result["rows"]):
        items.append(
            (
                "Rows not split further",
                f"A row named '… — not split further' holds only the lines mapped no finer "
                f"than its code, not the total of the codes under it (the rows are by "
                f"{result['by']}).",
            )
        )
    items.append(
        (
            "Amounts",
            "The Count sheet shows whole pounds; each cell holds the exact amount "
            "(the Lines sheet shows pence). Shares are rounded to 0.1% once, as in every "
            "other format.",
        )
    )
    if place:
        items += [
            ("Place", place["name"]),
            ("Financial year", place["financial_year"]),
            ("Population", place.get("population")),
        ]
    return items


# -- flows -----------------------------------------------------------------------------------

_SHARE_KEYS = ("rate", "administration_share_of_delivered")


def flows_xlsx(result: dict[str, Any]) -> bytes:
    """Paths, Streams, Sensitivity and Method sheets; amounts as £ numbers, the rate and
    administration shares as percentages."""
    from .render import PATH_COLUMNS, TOTAL_COLUMNS

    book = Book(result.get("title") or "placecount flows")

    def write(name: str, rows: list[dict[str, Any]], cols: list[str]) -> None:
        s = book.sheet(name)
        for c, col in enumerate(cols):
            s.width(c, c, 60 if col in ("path", "value") else 24 if col == "setting" else 16)
        s.header(0, [human(col) for col in cols])
        for r, row in enumerate(rows, start=1):
            for c, col in enumerate(cols):
                v = row.get(col)
                if v is None:
                    continue
                if col.endswith("_gbp"):
                    s.put(r, c, float(Decimal(v)), book.gbp)
                elif col in _SHARE_KEYS:
                    s.put(r, c, float(Decimal(v)), book.pct)
                elif isinstance(v, int):
                    s.put(r, c, v)
                else:
                    s.put(r, c, str(v))
        s.ws.freeze_panes(1, 0)

    write("Paths", result["paths"], PATH_COLUMNS)
    write(
        "Streams",
        [*result["streams"], {"stream": "Total", **result["totals"]}],
        ["stream", *TOTAL_COLUMNS],
    )
    write("Sensitivity", result["sensitivity"], ["rate", *TOTAL_COLUMNS])
    method = [{"setting": k, "value": str(v)} for k, v in result["method"].items()]
    method += [{"setting": f"input.{k}", "value": str(v)} for k, v in result["input"].items()]
    if result.get("collapse"):
        c = result["collapse"]
        method += [
            {"setting": "collapse.body", "value": c["body"]},
            {
                "setting": "collapse.administration_saved_gbp",
                "value": c["administration_saved_gbp"],
            },
        ]
    write("Method", method, ["setting", "value"])
    return book.close()


__all__ = ["EXCEL_ROWS", "Book", "Sheet", "flows_xlsx", "human", "report_xlsx"]
