"""Workbooks that print and scale (issues 15, 16 and 14 item 7): page setup on every sheet of
every workbook, human headings, shares and whole pounds as number formats, the division-only
row named as such in every format, the Lines sheet split past Excel's row limit, and one
count showing the same figures in every format, every table adding up."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.workbook import report_xlsx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "exampleshire"
D = Decimal

# the README's demo: every bundled example file of Exampleshire
DEMO = [
    ("council", "county_council_outturn_2008-09.xlsx", {"org": "Exampleshire County Council"}),
    ("council", "riverton_district_outturn_2008-09.csv", {"org": "Riverton District Council"}),
    ("nhs", "nhs_exampleshire_2008-09.xlsx", {}),
    ("police", "police_authority_poa_2008-09.xlsx", {"org": "Exampleshire Police Authority"}),
    (
        "pesa",
        "pesa_cra_regional_2008-09.xlsx",
        {"region": "East Midlands", "place_population": 512300, "region_population": 4400000},
    ),
    ("ndpb", "ndpb_spending_2008-09.xlsx", {}),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "placecount.duckdb"
    api.init(db, "Exampleshire", "2008-09", population=512300)
    for kind, name, options in DEMO:
        api.ingest(kind, [EXAMPLES / name], db, **options)  # type: ignore[arg-type]
    return db


def invoke(*args: str) -> str:
    done = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    return done.stdout


def workbooks(demo: Path, tmp_path: Path) -> dict[str, Path]:
    """The report (by division and by group), flows, scenario and compare workbooks."""
    out = {
        "report": tmp_path / "count.xlsx",
        "group": tmp_path / "group.xlsx",
        "flows": tmp_path / "flows.xlsx",
        "scenario": tmp_path / "scenario.xlsx",
        "compare": tmp_path / "compare.xlsx",
    }
    invoke("report", "--db", str(demo), "-o", str(out["report"]))
    invoke("report", "--db", str(demo), "--by", "group", "-o", str(out["group"]))
    funding = ROOT / "examples" / "leicester" / "european_funding.csv"
    invoke("flows", str(funding), "--sensitivity", "0.1,0.2", "-o", str(out["flows"]))
    scenario = ROOT / "examples" / "scenarios" / "older_people_dorset.yaml"
    invoke("scenario", str(scenario), "-o", str(out["scenario"]))
    count = tmp_path / "count.json"
    count.write_text(invoke("report", "--db", str(demo), "--format", "json"), encoding="utf-8")
    other = tmp_path / "again.json"
    shutil.copy(count, other)
    invoke("compare", str(count), str(other), "-o", str(out["compare"]))
    return out


def columns_width(ws: Worksheet) -> float:
    """The sheet's printed width in characters (Excel's default column is 8.43)."""
    from openpyxl.utils import get_column_letter

    total = 0.0
    for c in range(1, ws.max_column + 1):
        dim = ws.column_dimensions.get(get_column_letter(c))
        total += dim.width if dim is not None and dim.width else 8.43
    return total


def test_every_sheet_of_every_workbook_prints_one_page_wide(demo: Path, tmp_path: Path) -> None:
    books = workbooks(demo, tmp_path)
    seen = 0
    for name, path in books.items():
        wb = load_workbook(path)
        for ws in wb.worksheets:
            where = (name, ws.title)
            # the print area covers everything written
            area = ws.print_area
            assert area, where
            m = re.fullmatch(r"'?[^!]+'?!\$A\$1:\$([A-Z]+)\$(\d+)", area)
            assert m, (where, area)
            from openpyxl.utils import column_index_from_string

            assert column_index_from_string(m.group(1)) == ws.max_column, where
            assert int(m.group(2)) == ws.max_row, where
            # one page wide, as many pages tall as it takes
            assert ws.sheet_properties.pageSetUpPr.fitToPage, where
            assert ws.page_setup.fitToWidth in (None, 1), where  # None: Excel's default, 1
            assert ws.page_setup.fitToHeight == 0, where
            # a header row on every page, and the title and page numbers
            assert ws.print_title_rows, where
            assert "&P" in ws.oddFooter.right.text, where
            assert ws.oddHeader.left.text, where
            # landscape where the table is wider than a portrait A4 page (7.27 inches of
            # columns at about 7 pixels a character: some 95 characters) or than it is tall
            wide = columns_width(ws) > 95 or columns_width(ws) * 7 * 0.75 > ws.max_row * 15
            assert ws.page_setup.orientation == ("landscape" if wide else "portrait"), where
            seen += 1
    assert seen >= 5 + 4 + 5 + 3
    count = load_workbook(books["report"])["Count"]
    assert count.page_setup.orientation == "landscape"
    assert count.print_title_rows == "$4:$4"  # the heading row of the table
    assert count.oddHeader.right.text == "Exampleshire"
    assert "Exampleshire 2008-09" in count.oddHeader.left.text


def _pdf_pages(path: Path) -> list[tuple[float, float]]:
    """Each page's width and height in points, from the PDF's page objects."""
    data = path.read_bytes()
    pages = re.findall(rb"/Type\s*/Page[^s]", data)
    boxes = re.findall(rb"/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert len(boxes) >= len(pages) > 0
    return [(float(w), float(h)) for w, h in boxes[: len(pages)]]


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice (soffice) is not installed: the page count needs it to print to PDF",
)
@pytest.mark.parametrize("by", ["division", "group"])
def test_the_count_sheet_of_the_example_prints_to_three_landscape_pages_at_most(
    demo: Path, tmp_path: Path, by: str
) -> None:
    book = tmp_path / "count.xlsx"
    invoke("report", "--db", str(demo), "--by", by, "-o", str(book))
    wb = load_workbook(book)
    for other in wb.sheetnames[1:]:
        del wb[other]
    only = tmp_path / "count_sheet.xlsx"
    wb.save(only)
    done = subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(only)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    pages = _pdf_pages(tmp_path / "count_sheet.pdf")
    assert 1 <= len(pages) <= 3
    assert all(w > h for w, h in pages)  # landscape


def _header(ws: Worksheet, row: int) -> list[Any]:
    return [c.value for c in ws[row]]


def test_headings_are_words_with_the_unit_in_brackets(demo: Path, tmp_path: Path) -> None:
    books = workbooks(demo, tmp_path)
    count = load_workbook(books["report"])["Count"]
    assert _header(count, 4)[:2] == ["COFOG", "Function"]
    assert {"Councils (£)", "NHS (£)", "Total (£)", "Per head (£)", "Share of total"} <= set(
        _header(count, 4)
    )
    paths = load_workbook(books["flows"])["Paths"]
    assert _header(paths, 1) == [
        "Stream",
        "Path",
        "Hand-overs",
        "Measured at",
        "In (£)",
        "Delivered (£)",
        "Administration (£)",
        "Administration / delivered",
    ]
    years = load_workbook(books["scenario"])["Years"]
    assert "A savings (£)" in _header(years, 1)
    for path in books.values():
        for ws in load_workbook(path).worksheets:
            head_row = int(ws.print_title_rows.split(":")[0].strip("$"))
            for v in _header(ws, head_row):
                if isinstance(v, str):
                    assert not re.search(r"\bgbp\b|_|hand overs| £$", v), (ws.title, v)


def test_shares_are_the_reports_own_rounded_figures_and_pounds_are_whole(
    demo: Path, tmp_path: Path
) -> None:
    data = json.loads(invoke("report", "--db", str(demo), "--format", "json"))
    book = tmp_path / "count.xlsx"
    invoke("report", "--db", str(demo), "-o", str(book))
    ws = load_workbook(book)["Count"]
    head = _header(ws, 4)
    share_col = head.index("Share of total")
    total_col = head.index("Total (£)")
    per_head_col = head.index("Per head (£)")
    by_code = {r[0].value: r for r in ws.iter_rows(min_row=5) if r[0].value}
    for r in data["rows"]:
        cells = by_code[r["cofog_code"] or ""]
        share = cells[share_col]
        assert share.number_format == "0.0%"
        # the cell holds the report's 3-decimal share, so Excel shows the same 0.1%
        assert D(str(share.value)) == D(r["share_of_total"])
        total = cells[total_col]
        assert total.number_format == "£#,##0;-£#,##0"  # shown in whole pounds …
        assert D(str(total.value)).quantize(D("0.01")) == D(r["total_gbp"])  # … kept exact
        assert cells[per_head_col].number_format == "£#,##0.00;-£#,##0.00"
    lines = load_workbook(book)["Lines"]
    amount = _header(lines, 1).index("Amount (£)")
    assert lines.cell(row=2, column=amount + 1).number_format == "£#,##0.00;-£#,##0.00"


def test_the_workbook_stores_the_share_the_terminal_shows(tmp_path: Path) -> None:
    """Issue 15: a share shown 4.4% in the terminal was 4.5% in the workbook (rounded
    twice). 89 of 2,000 is 4.45% exactly: the workbook holds the report's one rounding,
    3 decimals, and not the exact fraction for Excel to round again."""
    db = tmp_path / "placecount.duckdb"
    api.init(db, "Sharesham", "2008-09")
    book = Workbook()
    ws = book.active
    ws.append(["Service", "Net expenditure (£)"])
    ws.append(["Fire and rescue services", 89])
    ws.append(["Highways and transport services", 1911])
    source = tmp_path / "outturn.xlsx"
    book.save(source)
    api.ingest("council", [source], db, org="A Council")
    data = api.report(db, detail=True)
    shares = sorted(D(r["share_of_total"]) for r in data["rows"])
    assert len(shares) == 2 and sum(shares) == 1
    assert all(s == s.quantize(D("0.001")) for s in shares)
    table = invoke("report", "--db", str(db))
    out = tmp_path / "count.xlsx"
    out.write_bytes(report_xlsx(data))
    cells = [
        c.value
        for row in load_workbook(out)["Count"].iter_rows(min_row=5)
        for c in row
        if c.number_format == "0.0%" and c.row < 7
    ]
    assert sorted(D(str(v)) for v in cells) == shares
    assert 0.0445 not in cells
    for s in shares:
        assert f"{s * 100:.1f}%" in table


def test_the_division_only_row_says_so_in_every_format(demo: Path, tmp_path: Path) -> None:
    label = "Health — not split further"
    args = ["report", "--db", str(demo), "--by", "group"]
    data = json.loads(invoke(*args, "--format", "json"))
    [health] = [r for r in data["rows"] if r["cofog_code"] == "07"]
    assert health["cofog_name"] == label
    # it is what is mapped no finer than the division: the NHS example's £52.11m, not the
    # division's total of £589.30m (07.1 to 07.6 are rows of their own)
    assert health["total_gbp"] == "52110000.00"
    assert sum(D(r["total_gbp"]) for r in data["rows"] if (r["cofog_code"] or "")[:2] == "07") == (
        D("589296250.00")
    )
    assert [r["cofog_name"] for r in data["rows"] if r["cofog_code"] == "07.3"] == [
        "Hospital services"
    ]
    assert label in invoke(*args)
    assert f"| 07 | {label} |" in invoke(*args, "--format", "md")
    records = list(csv.DictReader(io.StringIO(invoke(*args, "--format", "csv"))))
    assert {r["cofog_name"] for r in records if r["cofog_code"] == "07"} == {label}
    page = tmp_path / "count.html"
    invoke(*args, "-o", str(page))
    assert label in page.read_text(encoding="utf-8")
    book = tmp_path / "count.xlsx"
    invoke(*args, "-o", str(book))
    ws = load_workbook(book)["Count"]
    [row] = [r for r in ws.iter_rows(min_row=5) if r[0].value == "07"]
    assert row[1].value == label
    assert not any(c.font.b for c in row)  # not styled like a subtotal
    method = {r[0]: r[1] for r in load_workbook(book)["Method"].iter_rows(values_only=True)}
    assert "not the total of the codes under it" in method["Rows not split further"]
    # by division nothing is coarser than the rows
    assert "not split further" not in invoke("report", "--db", str(demo), "--format", "md")


def test_lines_go_on_over_sheets_past_the_row_limit(demo: Path, tmp_path: Path) -> None:
    data = api.report(demo, detail=True)
    n = len(data["lines"])
    expected = [
        (x["file_name"], x["excel_row"], x["cofog_code"], x["amount_gbp"]) for x in data["lines"]
    ]
    assert n > 40
    out = tmp_path / "count.xlsx"
    out.write_bytes(report_xlsx(data, max_rows=20))  # 19 lines a sheet under the header
    wb = load_workbook(out)
    names = [s for s in wb.sheetnames if s.startswith("Lines")]
    sheets = -(-n // 19)
    assert names == ["Lines"] + [f"Lines {i}" for i in range(2, sheets + 1)]
    got = []
    for name in names:
        ws = wb[name]
        assert ws.max_row <= 20
        head = _header(ws, 1)
        assert head[0] == "File" and "Amount (£)" in head
        assert ws.print_title_rows == "$1:$1"
        cols = [head.index(h) for h in ("File", "Row", "COFOG", "Amount (£)")]
        for row in ws.iter_rows(min_row=2, values_only=True):
            got.append((row[cols[0]], row[cols[1]], row[cols[2]], f"{D(str(row[cols[3]])):.2f}"))
    assert got == expected
    method = {r[0]: r[1] for r in wb["Method"].iter_rows(values_only=True)}
    said = method["Lines sheets"]
    assert f"{n:,} lines over {sheets} sheets" in said and "Lines 2" in said
    # under the limit: one sheet and nothing said
    whole = tmp_path / "whole.xlsx"
    whole.write_bytes(report_xlsx(api.report(demo, detail=True)))
    wb = load_workbook(whole)
    assert [s for s in wb.sheetnames if s.startswith("Lines")] == ["Lines"]
    assert wb["Lines"].max_row == n + 1
    assert "Lines sheets" not in {r[0] for r in wb["Method"].iter_rows(values_only=True)}


def test_the_lines_come_in_the_order_of_the_lines_query(demo: Path) -> None:
    """The Arrow table behind the Lines sheet is sorted outside DuckDB: the same lines in
    the same order as the store's own ORDER BY gives."""
    from placecount.api import LineRows
    from placecount.count import count
    from placecount.project import load_project
    from placecount.store import CountQueries, Store

    project = load_project(demo.parent / "placecount.toml")
    with Store.open(demo, create=False) as store:
        queries = CountQueries(store)
        count(store, project, by="group", queries=queries)
        by_query = queries.lines()
        streamed = list(LineRows(*queries.lines_table()))
    assert len(streamed) == len(by_query) > 40
    for line in by_query:
        line["amount_gbp"] = f"{D(line.pop('pence')) / 100:.2f}"
        line["theme_share"] = str(line["theme_share"])
    keys = ("kind", "file_name", "sheet", "excel_row", "cofog_code")
    assert [tuple(x[k] for k in keys) for x in streamed] == [
        tuple(x[k] for k in keys) for x in by_query
    ]
    assert sorted(streamed, key=lambda x: x["line_id"]) == sorted(
        by_query, key=lambda x: x["line_id"]
    )


# -- one count in every format --------------------------------------------------------------


class _Tables(HTMLParser):
    """The cells of each table of a page, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _pence(text: str) -> int:
    """'1,234.56' or '−1,234.56' → 123456 (exact: no float)."""
    text = text.replace(",", "").replace("−", "-").replace("£", "").replace("*", "").strip()
    return int(D(text) * 100)


def _shares_by_hand(parts: list[int]) -> list[str]:
    """Each part's share of the whole to 0.1%, by the largest remainder, as '12.3%'."""
    whole = sum(parts)
    tenths = [Fraction(p * 1000, whole) for p in parts]
    floors = [t.numerator // t.denominator for t in tenths]
    order = sorted(range(len(parts)), key=lambda i: (floors[i] - tenths[i], -parts[i], i))
    for i in order[: 1000 - sum(floors)]:
        floors[i] += 1
    return [f"{Decimal(f) / 10:.1f}%" for f in floors]


def _row_code(code: str | None, by: str) -> str | None:
    """A line's COFOG code as the report's row: its first 2 (division) or 4 (group)
    characters, or the code itself where it is coarser."""
    if code is None:
        return None
    return code[: {"division": 2, "group": 4}[by]]


@pytest.mark.parametrize("by", ["division", "group"])
def test_every_format_shows_the_same_figures_and_every_table_adds_up(
    demo: Path, tmp_path: Path, by: str
) -> None:
    args = ["report", "--db", str(demo), "--by", by]
    data = json.loads(invoke(*args, "--format", "json"))
    # worked out here from the lines behind the count: each row's pence, their sum, shares
    detail = api.report(demo, by=by, detail=True)
    expected: dict[str | None, int] = {}
    for line in detail["lines"]:
        if line["treatment"] == "counted":
            code = _row_code(line["cofog_code"], by)
            expected[code] = expected.get(code, 0) + _pence(line["amount_gbp"])
    rows = data["rows"]
    codes = [r["cofog_code"] for r in rows]
    assert {c: v for c, v in expected.items() if v or c in codes} == {
        r["cofog_code"]: _pence(r["total_gbp"]) for r in rows if r["cofog_code"] in expected
    }
    row_pence = [expected.get(c, 0) for c in codes]
    total = sum(expected.values())
    assert sum(row_pence) == total == _pence(data["totals"]["total_gbp"])
    shares = _shares_by_hand(row_pence)
    assert [f"{D(r['share_of_total']) * 100:.1f}%" for r in rows] == shares
    kinds = data["kinds"]
    for k in kinds:  # each source's column adds up to its total
        assert sum(_pence(r["by_kind_gbp"][k]) for r in rows) == _pence(
            data["totals"]["by_kind_gbp"][k]
        )
    assert sum(_pence(r["per_head_gbp"]) for r in rows) == _pence(data["totals"]["per_head_gbp"])

    def money(p: int) -> str:
        return f"{D(p) / 100:,.2f}"

    # csv: one record per code × kind, adding up to each row and to the total
    records = list(csv.DictReader(io.StringIO(invoke(*args, "--format", "csv"))))
    by_code: dict[str | None, int] = {}
    for rec in records:
        code = rec["cofog_code"] or None
        by_code[code] = by_code.get(code, 0) + _pence(rec["amount_gbp"])
    assert [by_code.get(c, 0) for c in codes] == row_pence
    assert sum(_pence(rec["amount_gbp"]) for rec in records) == total

    # md and html: the table's rows, each row's figures and shares, the total row
    md = invoke(*args, "--format", "md")
    md_rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in md.splitlines()
        if line.startswith("| ") and not line.startswith("| COFOG")
    ]
    page_file = tmp_path / "count.html"
    invoke(*args, "-o", str(page_file))
    parser = _Tables()
    parser.feed(page_file.read_text(encoding="utf-8"))
    [html_table] = [
        t for t in parser.tables if t and t[0][:2] == ["COFOG", "Function"] and "Share" in t[0]
    ]
    html_rows = html_table[1:]
    for name, table_rows in (("md", md_rows), ("html", html_rows)):
        heads = (
            html_table[0]
            if name == "html"
            else md.splitlines()[
                md.splitlines().index(next(x for x in md.splitlines() if x.startswith("| COFOG")))
            ]
            .strip("|")
            .split("|")
        )
        heads = [h.strip() for h in heads]
        t_col, s_col = heads.index("Total £"), heads.index("Share")
        body = [r for r in table_rows if r[1].strip("*") != "Total"]
        [foot] = [r for r in table_rows if r[1].strip("*") == "Total"]
        assert [_pence(r[t_col]) for r in body] == row_pence, name
        assert [r[s_col] for r in body] == shares, name
        assert _pence(foot[t_col]) == total == sum(_pence(r[t_col]) for r in body), name
        for k_i in range(2, 2 + len(kinds)):  # every source column adds up
            assert sum(_pence(r[k_i]) for r in body) == _pence(foot[k_i]), (name, heads[k_i])

    # the terminal: every row's whole figure and share, and the total
    table = invoke(*args)
    for p, s in zip(row_pence, shares, strict=True):
        assert money(p) in table and s in table
    assert money(total) in table

    # the workbook: exact amounts in the cells, the same shares, rows adding up
    book = tmp_path / "count.xlsx"
    invoke(*args, "-o", str(book))
    ws = load_workbook(book)["Count"]
    heads = _header(ws, 4)
    t_col, s_col = heads.index("Total (£)"), heads.index("Share of total")
    body = []
    foot = None
    for r in ws.iter_rows(min_row=5, values_only=True):
        if r[1] == "Total":
            foot = r
            break
        body.append(r)
    assert foot is not None
    assert [_pence(str(r[t_col])) for r in body] == row_pence
    assert [f"{D(str(r[s_col])) * 100:.1f}%" for r in body] == shares
    assert [D(str(r[s_col])) for r in body] == [D(r["share_of_total"]) for r in rows]
    assert _pence(str(foot[t_col])) == total == sum(_pence(str(r[t_col])) for r in body)
    for k_i in range(2, 2 + len(kinds)):
        assert sum(_pence(str(r[k_i])) for r in body) == _pence(str(foot[k_i]))
    # and the Lines sheet's counted lines add up to the count
    lines = load_workbook(book)["Lines"]
    lh = _header(lines, 1)
    a_col, t_c = lh.index("Amount (£)"), lh.index("In the count as")
    counted = [
        _pence(f"{D(str(r[a_col])):.2f}")
        for r in lines.iter_rows(min_row=2, values_only=True)
        if r[t_c] == "counted"
    ]
    assert sum(counted) == total


def test_a_long_write_shows_progress_on_stderr_only(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from placecount import workbook

    monkeypatch.setattr(workbook, "PROGRESS_FROM", 1)  # as if the count were large
    book = tmp_path / "count.xlsx"
    done = CliRunner().invoke(
        app, ["report", "--db", str(demo), "-o", str(book)], env={"FORCE_COLOR": "1"}
    )
    assert done.exit_code == 0, done.output
    assert "Writing" in done.stderr and "lines to the Lines sheet" in done.stderr
    assert "Writing" not in done.stdout and "━" not in done.stdout
    assert load_workbook(book)["Lines"].max_row > 40
