"""Turning library results into tables, JSON and CSV. The renderer computes nothing."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Issue
from .escape import md_cell, md_fence, visible

if TYPE_CHECKING:  # rich is imported by the functions that draw tables, only
    from rich.console import Console
    from rich.table import Table


def money(text: str | None) -> str:
    """'1234567.5' → '1,234,567.50'; None → ''."""
    if text is None:
        return ""
    return f"{Decimal(text):,.2f}"


def to_json(data: Any) -> str:
    """JSON with sorted keys and money as decimal strings, so reruns are byte-identical."""
    from ._json import dumps  # json.dumps(indent=2, ...) byte for byte, faster

    return dumps(data) + "\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula, made to read as text.

    A label from someone's spreadsheet such as ``=HYPERLINK("http://x","y")`` must not
    become a live formula in a reader's Excel: it gets a leading apostrophe, which Excel
    and LibreOffice show as text. Numbers (``-1234.00``) are left alone.
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if value.startswith(("-", "+")):
        try:
            Decimal(value)
            return value
        except ArithmeticError:
            pass
    return "'" + value


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV with a header row; text that looks like a formula is written as text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([safe_cell("" if r.get(c) is None else r.get(c)) for c in columns])
    return out.getvalue()


def issue_line(issue: Issue) -> str:
    """An issue as one line for the terminal: 'error: file › 'Sheet'!D14 (Header): message'.

    Messages quote cells: their control characters and newlines are shown as escapes, so a
    cell cannot clear the screen or start a line of its own.
    """
    return visible(f"{issue.severity}: {issue}")


def print_issues(console: Console, issues: list[Issue], quiet: bool = False) -> None:
    for issue in issues:
        if quiet and issue.severity != "error":
            continue
        style = {"error": "bold red", "warning": "yellow", "info": "dim"}[issue.severity]
        console.print(issue_line(issue), style=style, markup=False, highlight=False, soft_wrap=True)


UNIT_NAMES = {"pounds": "£", "thousands": "£000", "millions": "£m"}


def ingest_lines(result: dict[str, Any]) -> list[str]:
    """An ingest as short plain-text blocks, one per file and sheet."""
    out: list[str] = []
    verb = {
        "added": "Added",
        "replaced": "Replaced",
        "unchanged": "Already ingested",
        "dry run": "Read (dry run, nothing written)",
    }
    for s in result["sources"]:
        where = s["file"] + (f" › {s['sheet']!r}" if s["sheet"] else "")
        out.append(
            f"{verb.get(s['status'], s['status'])} {where} "
            f"({s['kind']}, {s['org'] or 'no org'}, {s['financial_year'] or 'no year'})"
        )
        units_from = s["units_from"] or ""
        evidence = units_from if units_from.startswith("proved") else f"from {units_from}"
        out.append(f"  header row {s['header_row']}; units {UNIT_NAMES[s['units']]} ({evidence})")
        out.extend([f"  text encoding {s['encoding']}"] if s.get("encoding") else [])
        if s.get("columns"):
            out.append(
                "  columns: "
                + " · ".join(
                    f"{c['column']} {c['role']}" + (f" {c['header']!r}" if c["header"] else "")
                    for c in s["columns"]
                )
            )
        if s.get("pesa_share"):
            out.append(
                f"  region {s['region']!r} × share {s['pesa_share']} "
                f"({s['share_basis']}); part: {s['part']}"
            )
        tables = s.get("tables") or []
        if tables:
            out.append(f"  tables found ({len(tables)}):")
            for t in tables[:20]:
                kept, left = t["lines_kept"], t["lines_left_out"]
                out.append(f"    {t['table']}: {kept} lines kept, {left} left out")
        out.append(f"  {s['lines_kept']} lines kept, total £{money(s['total_gbp'])}")
        totals = s.get("total_rows") or []
        if totals:
            matched = sum(1 for t in totals if t["matched"])
            out.append(
                f"  control totals: {matched} of {len(totals)} total rows equal the lines they head"
            )
            for t in totals[:10]:
                check = (
                    f"= {t['heads']} ({t['lines']} lines)"
                    if t["matched"]
                    else f"≠ £{money(t['sum'])} ({t['heads']})"
                )
                out.append(f"    row {t['row']} {t['label']!r} £{money(t['printed'])} {check}")
        if s["unmapped_lines"]:
            out.append(
                f"  {s['unmapped_lines']} unmapped (kept, not classified): "
                f"£{money(s['unmapped_gbp'])}"
            )
        if s["left_out"]:
            out.append(f"  left out of the count ({len(s['left_out'])}):")
            # lines read across a row (a table of many bodies) are named by their cell
            by_cell = len({x.get("column") for x in s["left_out"]}) > 1
            for x in s["left_out"][:25]:
                label = f" {x['label']!r}" if x["label"] else ""
                amount = f" {x['amount']}" if x["amount"] else ""
                where = f"{x['column']}{x['row']}" if by_cell else f"row {x['row']}"
                out.append(f"    {where}{label}{amount}: {x['reason']}")
            if len(s["left_out"]) > 25:
                out.append(f"    …and {len(s['left_out']) - 25} more")
    return out


@dataclass(frozen=True)
class CountColumn:
    """A figure column of the count's table, the same in every format: its heading as
    the table prints it, what it holds (``gbp``, ``total``, ``per_head``, ``share`` or
    ``memo``) and its value in a row (or in the totals)."""

    heading: str
    kind: str
    value: Callable[[dict[str, Any]], str | None]

    def text(self, row: dict[str, Any]) -> str:
        value = self.value(row)
        return percent(value) if self.kind == "share" else money(value)


def count_columns(result: dict[str, Any], economic: bool = True) -> list[CountColumn]:
    """The count's figure columns after COFOG and Function: one per source kind, current
    and capital (with ``economic``), the total, £ per head (with a population), the share,
    and the NDPBs shown beside the count. The totals' share is 100% when there are rows."""
    cols = [
        CountColumn(result["kind_titles"][k] + " £", "gbp", _field("by_kind_gbp", k))
        for k in result["kinds"]
    ]
    if economic:
        cols += [CountColumn(head, "gbp", _field(key)) for key, head in economic_columns(result)]
    cols.append(CountColumn("Total £", "total", _field("total_gbp")))
    if result["totals"].get("per_head_gbp") is not None:
        cols.append(CountColumn("£ per head", "per_head", _field("per_head_gbp")))
    whole = "1.000" if result["rows"] else None
    cols.append(CountColumn("Share", "share", lambda r: r.get("share_of_total", whole)))
    if result.get("memo_title"):
        cols.append(CountColumn(result["memo_title"] + " £", "memo", _field("ndpb_memo_gbp")))
    return cols


def _field(*path: str) -> Callable[[dict[str, Any]], str | None]:
    def value(row: dict[str, Any]) -> str | None:
        out: Any = row
        for key in path:
            out = out[key]
        return None if out is None else str(out)

    return value


def report_table(result: dict[str, Any]) -> Table:
    """The count as a rich table: COFOG rows, a column per source kind, totals."""
    from rich.table import Table

    place = result.get("place") or {}
    level = {"division": "division", "group": "group", "class": "class"}[result["by"]]
    title = f"Public spending by COFOG {level}"
    if place:
        title = f"{place['name']} {place['financial_year']}: {title[0].lower()}{title[1:]}"
    if result.get("theme"):
        title += f" — theme {result['theme']['name']!r}"
    table = Table(title=title, show_footer=True)
    table.add_column("COFOG", footer="")
    table.add_column("Function", footer="Total")
    totals = result["totals"]
    cols = count_columns(result, economic=False)
    style = {"total": "bold", "memo": "dim"}
    for c in cols:
        table.add_column(c.heading, justify="right", footer=c.text(totals), style=style.get(c.kind))
    for r in result["rows"]:
        table.add_row(r["cofog_code"] or "—", r["cofog_name"], *(c.text(r) for c in cols))
    return table


def report_economic_table(result: dict[str, Any]) -> Table:
    """The same rows split into current and capital spending (a terminal is not wide
    enough for both in one table)."""
    from rich.table import Table

    hl = result["headline"]
    table = Table(
        title=f"Current and capital spending (the headline is {hl['basis']} spending)",
        show_footer=True,
    )
    table.add_column("COFOG", footer="")
    table.add_column("Function", footer="Total")
    econ = economic_columns(result)
    totals = result["totals"]
    for key, head in econ:
        table.add_column(head, justify="right", footer=money(totals[key]))
    table.add_column("Total £", justify="right", footer=money(totals["total_gbp"]), style="bold")
    for r in result["rows"]:
        cells = [r["cofog_code"] or "—", r["cofog_name"]]
        cells += [money(r[key]) for key, _ in econ]
        cells.append(money(r["total_gbp"]))
        table.add_row(*cells)
    return table


def percent(share: str | None) -> str:
    return "" if share is None else f"{Decimal(share) * 100:.1f}%"


def _amount_line_at(label: str, amount: str, sign: str = "", width: int = 84) -> list[str]:
    """A label and a right-aligned amount; a long label gets its own line. The figure is
    never cut: in a narrow terminal the label column narrows instead."""
    figure = f"{sign}£{money(amount)}".rjust(22)
    room = max(min(62, width - len(figure)), 20)
    if len(label) <= room:
        return [f"{label:<{room}}{figure}"]
    return [label, f"{'':<{room}}{figure}"]


def report_notes(result: dict[str, Any], width: int = 84) -> list[str]:
    """The reconciliation, PESA shares, NDPBs and coverage, as lines under the table."""
    rec = result["reconciliation"]
    out = ["", "How the count adds up:"]

    def _amount_line(label: str, amount: str, sign: str = "") -> list[str]:
        return _amount_line_at(label, amount, sign, width)

    out += _amount_line("  Gross spend of the bodies counted", rec["gross_gbp"])
    for t in rec["transfers"]:
        out += _amount_line(
            f"  less transfer {t['from']} → {t['to']}: {t['label']}", t["amount_gbp"], "−"
        )
    for o in rec["replaced"]:
        out += _amount_line(f"  less {o['text']}", o["amount_gbp"], "−")
    outside = [o for o in rec.get("outside") or [] if Decimal(o["amount_gbp"])]
    if outside:
        out += _amount_line(
            "  less spending outside a place count (shown below)", rec["outside_gbp"], "−"
        )
    out += _amount_line("  The count", rec["count_gbp"])
    hl = result["headline"]
    out += _amount_line(f"  Headline, {hl['basis']} spending", hl["amount_gbp"])
    if hl.get("per_head_gbp") is not None:
        out.append(f"  (£{money(hl['per_head_gbp'])} a head)")
    out += [f"  Headline basis: {gap}" for gap in hl["gaps"]]
    grades = result["totals"]["by_grade_gbp"]
    shares = result["totals"]["by_grade_share"]
    out.append(
        "By confidence grade: "
        + " · ".join(
            f"{g} £{money(v)} ({percent(shares[g])})" for g, v in grades.items() if Decimal(v)
        )
    )
    if outside:
        out.append("Outside the count, shown beside it:")
        for o in outside:
            head = f", £{money(o['per_head_gbp'])} a head" if o["per_head_gbp"] else ""
            out.append(f"  {o['label']} ({o['why']}): £{money(o['amount_gbp'])}{head}")
    for t in rec["transfers_kept"]:
        out.append(f"  (kept: {t['from']} → {t['to']}, £{money(t['amount_gbp'])}: {t['why']})")
    for c in rec.get("transfer_checks") or []:
        out.append(f"Warning: {c['text']}.")
    for p in result["pesa"]:
        out.append(
            f"PESA: {p['file']} region {p['region']!r} × share {p['share']} "
            f"({p['share_basis']}), {p['part']} = £{money(p['amount_gbp'])}"
        )
    memo = [n for n in result["ndpb_of_which"] if not n["added"]]
    if memo:
        out.append("NDPBs shown 'of which', not added (inside their sponsors' PESA figures):")
        for n in memo:
            bodies = "1 body" if n["bodies"] == 1 else f"{n['bodies']} bodies"
            out.append(f"  {n['sponsor']}: {bodies}, £{money(n['amount_gbp'])}")
    for c in result.get("ndpb_checks", []):
        out.append(f"Warning: {c['text']}.")
    for n in result["ndpb_of_which"]:
        if n["added"]:
            out.append(
                f"NDPBs added (no PESA figure for {n['sponsor']}): £{money(n['amount_gbp'])}"
            )
    return out + coverage_lines(result)


def coverage_lines(result: dict[str, Any]) -> list[str]:
    """What the count does not cover, one line each: every format prints these words."""
    cov = result["coverage"]
    out = []
    if Decimal(cov["unmapped_gbp"]):
        out.append(
            f"Not mapped to COFOG: £{money(cov['unmapped_gbp'])} (in the count; "
            "`placecount unmapped` lists the lines)"
        )
    for e in cov["excluded"]:
        lines = "1 line" if e["lines"] == 1 else f"{e['lines']} lines"
        out.append(f"Left out ({e['kind']}): {e['reason']}: {lines}, £{money(e['amount_gbp'])}")
    for b in cov["no_data"]:
        note = f": {b['note']}" if b.get("note") else ""
        kind = f" ({b['kind']})" if b.get("kind") else ""
        out.append(f"No data: {b['name']}{kind}{note}")
    return out


def report_markdown(result: dict[str, Any]) -> str:
    """The count as a Markdown table, for pasting into papers."""
    cols = count_columns(result)
    heads = ["COFOG", "Function"] + [c.heading for c in cols]
    lines = [
        "| " + " | ".join(md_cell(h) for h in heads) + " |",
        "|" + "|".join(["---", "---"] + ["---:"] * (len(heads) - 2)) + "|",
    ]
    for r in result["rows"]:
        cells = [md_cell(r["cofog_code"] or "—"), md_cell(r["cofog_name"])]
        lines.append("| " + " | ".join(cells + [c.text(r) for c in cols]) + " |")
    t = result["totals"]
    total = [c.text(t) for c in cols]
    lines.append(
        "| " + " | ".join(["", "**Total**"] + [f"**{x}**" if x else "" for x in total]) + " |"
    )
    place = result.get("place") or {}
    title = f"## {md_cell(place['name'])} {md_cell(place['financial_year'])}\n\n" if place else ""
    # labels from the inputs are in the notes: the fence is longer than any of their backticks
    notes = md_fence([line for line in report_notes(result) if line])
    return title + "\n".join(lines) + "\n\n" + notes + "\n"


RECORD_COLUMNS = [
    "cofog_code",
    "cofog_name",
    "kind",
    "amount_gbp",
    "current_gbp",
    "capital_gbp",
    "unsplit_gbp",
    "grade_actual_gbp",
    "grade_driver_gbp",
    "grade_population_gbp",
    "grade_assumption_gbp",
]

ECONOMIC_TITLES = {"current": "Current £", "capital": "Capital £", "unsplit": "Not split £"}


def economic_columns(result: dict[str, Any]) -> list[tuple[str, str]]:
    """Current and capital columns, and 'not split' when some source does not split them."""
    keys = ["current", "capital"]
    if Decimal(result["totals"].get("unsplit_gbp") or 0):
        keys.append("unsplit")
    return [(f"{k}_gbp", ECONOMIC_TITLES[k]) for k in keys]


def report_csv(result: dict[str, Any]) -> str:
    """Tidy CSV: one row per COFOG code × kind; the rows add up to the count's total."""
    return to_csv(result["records"], RECORD_COLUMNS)


def report_parquet(result: dict[str, Any]) -> bytes:
    """The tidy records as Parquet, amounts as DECIMAL(18, 2), or wider where a figure
    needs it (up to 38 digits: a count over £10^16)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = result["records"]
    amounts = [Decimal(r[name]) for r in recs for name in RECORD_COLUMNS[3:]]
    digits = max((len(str(abs(a * 100).to_integral_value())) for a in amounts), default=0)
    money = pa.decimal128(max(18, min(38, digits)), 2)
    table = pa.table(
        {
            "cofog_code": pa.array([r["cofog_code"] for r in recs], pa.string()),
            "cofog_name": pa.array([r["cofog_name"] for r in recs], pa.string()),
            "kind": pa.array([r["kind"] for r in recs], pa.string()),
            **{
                name: pa.array([Decimal(r[name]) for r in recs], money)
                for name in RECORD_COLUMNS[3:]
            },
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


#: Columns of a listing shown right-aligned (besides amounts, the keys ending ``_gbp``).
_RIGHT = {"lines_kept", "lines_left_out", "excel_row", "lines", "first_row"}


def _right(key: str) -> bool:
    return key.endswith("_gbp") or key in _RIGHT


def _cells(row: dict[str, Any], columns: list[tuple[str, str]]) -> list[str]:
    return [
        money(row[k]) if k.endswith("_gbp") else ("" if row.get(k) is None else str(row[k]))
        for k, _ in columns
    ]


def rows_table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for key, head in columns:
        table.add_column(head, justify="right" if _right(key) else "left")
    for r in rows:
        table.add_row(*_cells(r, columns))
    return table


#: Past this many rows a listing is printed as plain aligned columns, not a rich table:
#: rich measures every cell many times over (6,258 unmapped lines of a real payments file
#: took 3.9 s to draw; plain columns take a twentieth of that).
PLAIN_ROWS = 1_000


def plain_table(
    title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]], encoding: str
) -> Iterator[str]:
    """The lines of ``rows_table``'s listing as plain text: the title, the headings, a rule
    and a line a row, in columns as wide as their widest cell (measured as the terminal
    shows it), control characters as escapes and characters ``encoding`` lacks as their
    look-alikes, as the console shows them."""
    from rich.cells import cell_len

    from .escape import in_encoding, visible

    utf = encoding.lower().replace("-", "").startswith("utf")

    def shown(text: str) -> str:
        text = visible(text)
        return text if utf else in_encoding(text, encoding)

    heads = [shown(h) for _, h in columns]
    body = [[shown(c) for c in _cells(r, columns)] for r in rows]
    lengths = [[cell_len(c) for c in cells] for cells in [heads, *body]]
    widths = [max(n[i] for n in lengths) for i in range(len(columns))]
    right = [_right(k) for k, _ in columns]

    def line(cells: list[str], sizes: list[int]) -> str:
        parts = [
            " " * (w - n) + c if r else c + " " * (w - n)
            for c, n, w, r in zip(cells, sizes, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    yield shown(title)
    yield line(heads, lengths[0])
    yield "  ".join("-" * w for w in widths)
    for cells, sizes in zip(body, lengths[1:], strict=True):
        yield line(cells, sizes)


def what_if_table(what_if: dict[str, Any]) -> Table:
    """What a changed mapping moved: from one division (or 'unmapped', 'outside') to another."""
    table = rows_table(
        "What the mapping moved",
        what_if["moves"],
        [("from", "From"), ("to", "To"), ("kind", "Kind"), ("lines", "Lines"), ("amount_gbp", "£")],
    )
    table.caption = (
        f"Not mapped: £{money(what_if['unmapped_before_gbp'])} before, "
        f"£{money(what_if['unmapped_after_gbp'])} with this mapping."
    )
    return table


def new_workbook(title: str) -> tuple[Any, io.BytesIO]:
    """An xlsx workbook in memory (see :class:`placecount.workbook.Book`), as the raw
    xlsxwriter workbook and the buffer it is written to."""
    from .workbook import Book

    book = Book(title)
    assert book.sink is not None  # a book without a path is written to memory
    return book.wb, book.sink


def report_xlsx(result: dict[str, Any]) -> bytes:
    """The count as a workbook: see :func:`placecount.workbook.report_xlsx`."""
    from .workbook import report_xlsx as write

    return write(result)


@contextmanager
def atomic_path(path: Any) -> Iterator[Path]:
    """A new temporary file beside ``path``, made with an unpredictable name by
    ``tempfile.mkstemp`` (so a file or symlink planted there cannot be followed); write it
    by name in the block, and it replaces ``path`` when the block ends, or is removed."""
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_output(path: Any, data: str | bytes | Callable[[Path], Any]) -> None:
    """Write a file atomically: to a temporary file beside it, then renamed into place.
    ``data`` is the text or bytes, or a function that writes the file at the path given."""
    with atomic_path(path) as tmp:
        if callable(data):
            data(tmp)
        with open(tmp, "r+b") as fh:
            if not callable(data):
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
            os.fsync(fh.fileno())


def report_writer(result: dict[str, Any], fmt: str) -> str | bytes | Callable[[Path], Any]:
    """A report for :func:`write_output`: an xlsx is written straight into its file (a
    workbook of a million lines is never held in memory whole), the others as text."""
    if fmt == "xlsx":
        return lambda path: _report_xlsx_to(result, path)
    return report_output(result, fmt)


def _report_xlsx_to(result: dict[str, Any], path: Path) -> None:
    from xlsxwriter.exceptions import FileCreateError

    from .workbook import report_xlsx as write

    try:
        write(result, path=path)
    except FileCreateError as exc:  # the writer wraps the OSError (a full disk, say)
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, OSError):
            raise cause from None
        raise


PATH_COLUMNS = [
    "stream",
    "path",
    "hand_overs",
    "measured_at",
    "in_gbp",
    "delivered_gbp",
    "administration_gbp",
    "administration_share_of_delivered",
]
TOTAL_COLUMNS = [
    "paths",
    "in_gbp",
    "delivered_gbp",
    "administration_gbp",
    "administration_share_of_delivered",
]


def flows_csv(result: dict[str, Any]) -> str:
    """Tidy CSV: one row per source → end path."""
    return to_csv(result["paths"], PATH_COLUMNS)


def flows_tables(result: dict[str, Any]) -> list[Any]:
    """Paths, streams, totals, sensitivity and the collapse what-if, as rich tables."""
    from rich.table import Table

    rate = percent(result["method"]["rate"])
    out: list[Any] = []
    paths = Table(title=result["title"])
    for head, right in [
        ("Stream", False),
        ("Path", False),
        ("Hand-overs", True),
        ("Measured", False),
        ("In £", True),
        ("Delivered £", True),
        ("Administration £", True),
        ("Admin / delivered", True),
    ]:
        paths.add_column(head, justify="right" if right else "left")
    for p in result["paths"]:
        paths.add_row(
            p["stream"],
            p["path"],
            str(p["hand_overs"]),
            p["measured_at"],
            money(p["in_gbp"]),
            money(p["delivered_gbp"]),
            money(p["administration_gbp"]),
            percent(p["administration_share_of_delivered"]),
        )
    out.append(paths)
    if result.get("books"):
        books = Table(title="What the books say each body kept, and the rule beside it")
        for head in ("Stream", "Body", "In £", "Out £", "Kept (books) £", f"Rule at {rate} £"):
            books.add_column(head, justify="left" if head in ("Stream", "Body") else "right")
        for b in result["books"]:
            books.add_row(
                b["stream"],
                b["body"],
                money(b["in_gbp"]),
                money(b["out_gbp"]),
                money(b["kept_gbp"]),
                money(b["rule_gbp"]),
            )
        out.append(books)
    streams = Table(title=f"By stream, at {rate} per hand-over", show_footer=True)
    t = result["totals"]
    for head, key, right in [
        ("Stream", "stream", False),
        ("Paths", "paths", True),
        ("In £", "in_gbp", True),
        ("Delivered £", "delivered_gbp", True),
        ("Administration £", "administration_gbp", True),
        ("Admin / delivered", "administration_share_of_delivered", True),
    ]:
        footer = (
            "Total"
            if key == "stream"
            else (
                str(t[key])
                if key == "paths"
                else percent(t[key])
                if key.startswith("administration_share")
                else money(t[key])
            )
        )
        streams.add_column(head, justify="right" if right else "left", footer=footer)
    for s in result["streams"]:
        streams.add_row(
            s["stream"],
            str(s["paths"]),
            money(s["in_gbp"]),
            money(s["delivered_gbp"]),
            money(s["administration_gbp"]),
            percent(s["administration_share_of_delivered"]),
        )
    out.append(streams)
    if result["sensitivity"]:
        sens = Table(title="Sensitivity to the rate")
        for head in ["Rate", "In £", "Delivered £", "Administration £", "Admin / delivered"]:
            sens.add_column(head, justify="right")
        for s in result["sensitivity"]:
            sens.add_row(
                percent(s["rate"]),
                money(s["in_gbp"]),
                money(s["delivered_gbp"]),
                money(s["administration_gbp"]),
                percent(s["administration_share_of_delivered"]),
            )
        out.append(sens)
    if result.get("collapse"):
        out.append(collapse_line(result["collapse"]))
    return out


def collapse_line(c: dict[str, Any]) -> str:
    """The collapse what-if in one line: what taking a body out of the chains saves."""
    return (
        f"Without {c['body']} ({c['paths_changed']} paths lose a hand-over): "
        f"administration £{money(c['before']['administration_gbp'])} → "
        f"£{money(c['after']['administration_gbp'])}, saving "
        f"£{money(c['administration_saved_gbp'])}; "
        f"£{money(c['more_delivered_gbp'])} more delivered."
    )


def flows_xlsx(result: dict[str, Any]) -> bytes:
    """Funding chains as a workbook: see :func:`placecount.workbook.flows_xlsx`."""
    from .workbook import flows_xlsx as write

    return write(result)


def text_of(parts: list[Any]) -> str:
    """Rich renderables and lines as plain text 200 columns wide (for files)."""
    from .console import SafeConsole

    buffer = io.StringIO()
    console = SafeConsole(file=buffer, width=200, highlight=False, color_system=None)
    for part in parts:
        console.print(part, markup=False) if isinstance(part, str) else console.print(part)
    return buffer.getvalue()


REPORT_FORMATS = ("table", "csv", "json", "md", "xlsx", "parquet", "html")
FLOWS_FORMATS = ("table", "csv", "json", "xlsx")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".json": "json",
    ".md": "md",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".txt": "table",
    ".html": "html",
}


def report_output(result: dict[str, Any], fmt: str) -> str | bytes:
    """A report in one of REPORT_FORMATS."""
    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return report_csv(result)
    if fmt == "md":
        return report_markdown(result)
    if fmt == "xlsx":
        return report_xlsx(result)
    if fmt == "parquet":
        return report_parquet(result)
    if fmt == "html":
        from .report_html import report_html

        return report_html(result, result.pop("charts", None))
    return text_of([report_table(result), report_economic_table(result), *report_notes(result)])


def flows_output(result: dict[str, Any], fmt: str) -> str | bytes:
    """Funding chains in one of FLOWS_FORMATS."""
    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return flows_csv(result)
    if fmt == "xlsx":
        return flows_xlsx(result)
    return text_of(flows_tables(result))
