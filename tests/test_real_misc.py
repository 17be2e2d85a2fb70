"""Real published files: a council's payment list and the Public Bodies Directory.

Each test works its figure out from the file's cells with its own code (openpyxl, or
the sheet's XML read as text, and Decimal), checks it against the figure independently
worked out in SOURCES.md, then checks placecount's kept total equals it to the penny.
The files are never copied into the project; the tests skip when they are absent.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from collections import Counter, defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.models import ReadOptions
from placecount.sources import read_source, read_sources
from placecount.store import Store

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
PAYMENTS = REAL / "payments" / "Babergh_District_Council_payments.xlsx"
DIRECTORY = REAL / "ndpb" / "Public_Bodies_Directory_2023_24.xlsx"
PENNY = Decimal("0.01")

needs_payments = pytest.mark.skipif(not PAYMENTS.exists(), reason="real payments file absent")
needs_directory = pytest.mark.skipif(
    not DIRECTORY.exists(), reason="real Public Bodies Directory absent"
)


# --- independent readings ------------------------------------------------------------------


def payment_rows() -> list[tuple[int, dt.date, str, Decimal]]:
    """(Excel row, date, supplier, amount) of every payment, read with openpyxl."""
    from openpyxl import load_workbook

    wb = load_workbook(PAYMENTS, read_only=True)
    ws = wb["Sheet15"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Council name", "Payment Date", "Supplier", "Amount")
    out = []
    for r, (_, day, supplier, amount) in enumerate(rows[1:], start=2):
        if isinstance(amount, str):  # 'Sheet15'!D9648 is the text 1241,32
            assert re.fullmatch(r"\d+,\d\d", amount), (r, amount)
            value = Decimal(amount.replace(",", "."))
        elif isinstance(amount, float):
            value = Decimal(repr(amount))
        else:
            value = Decimal(amount)
        out.append((r, day.date(), supplier, value))
    wb.close()
    return out


def in_2023_24(day: dt.date) -> bool:
    return dt.date(2023, 4, 1) <= day <= dt.date(2024, 3, 31)


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def sheet_cells(path: Path, name: str) -> dict[int, dict[str, str]]:
    """A sheet's cells as the text stored in its XML: {row: {column letters: text}}."""
    with zipfile.ZipFile(path) as zf:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        rid = next(s.get(_REL) for s in book.iter(f"{_NS}sheet") if s.get("name") == name)
        target = next(r.get("Target") for r in rels if r.get("Id") == rid)
        assert target is not None
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        shared = [
            "".join(t.text or "" for t in si.iter(f"{_NS}t"))
            for si in ET.fromstring(zf.read("xl/sharedStrings.xml")).iter(f"{_NS}si")
        ]
        out: dict[int, dict[str, str]] = {}
        for row in ET.fromstring(zf.read(part)).iter(f"{_NS}row"):
            cells: dict[str, str] = {}
            for c in row.iter(f"{_NS}c"):
                ref = c.get("r") or ""
                letters = re.match(r"[A-Z]+", ref)
                v = c.find(f"{_NS}v")
                if letters is None or v is None or v.text is None:
                    continue
                cells[letters.group(0)] = shared[int(v.text)] if c.get("t") == "s" else v.text
            out[int(row.get("r") or 0)] = cells
    return out


def directory_bodies() -> list[dict[str, str | Decimal | None]]:
    """Each body of the directory's Data sheet (header on row 7), amounts to the penny."""
    cells = sheet_cells(DIRECTORY, "Data")
    header = {text: col for col, text in cells[7].items()}
    out = []
    for r in sorted(cells):
        row = cells[r]
        if r <= 7 or not row:
            continue
        spend = row.get(header["finance_spend_tme"])
        out.append(
            {
                "row": str(r),
                "name": row.get(header["overall_alb_name"]),
                "department": row.get(header["overall_parent_department"]),
                "classification": row.get(header["overall_classification"]),
                "spend": None
                if spend is None
                else Decimal(spend).quantize(PENNY, rounding=ROUND_HALF_EVEN),
            }
        )
    return out


# --- payments ------------------------------------------------------------------------------


@needs_payments
def test_payments_file_figures_are_those_worked_out_in_sources_md() -> None:
    rows = payment_rows()
    # SOURCES.md: all payments £105,068,114.37 with D9648 read as 1241.32
    assert sum(a for *_, a in rows) == Decimal("105068114.37")
    assert [(r, a) for r, *_, a in rows if r == 9648] == [(9648, Decimal("1241.32"))]
    year = [a for _, d, _, a in rows if in_2023_24(d)]
    assert (len(year), sum(year)) == (6258, Decimal("32608209.40"))
    # SOURCES.md counts 19,768 payments; the sheet has 19,769 rows below its header, each
    # dated and with an amount (rows 2 to 19770), and their sum is SOURCES.md's total
    assert len(rows) == 19769
    assert min(d for _, d, _, _ in rows) == dt.date(2019, 9, 19)
    assert max(d for _, d, _, _ in rows) == dt.date(2025, 11, 25)


@needs_payments
def test_every_payment_kept_when_no_year_is_given() -> None:
    rows = payment_rows()
    every = sum(a for *_, a in rows)
    assert every == Decimal("105068114.37")
    found, issues = read_source("payments", PAYMENTS, ReadOptions())
    assert found.kept_count == len(rows)
    assert Decimal(found.total_pence) / 100 == every
    [warn] = [i for i in issues if i.code == "year-not-stated"]
    assert "paid 2019-09-19 to 2025-11-25" in warn.message
    # pounds on the evidence of pence alone (no population here)
    assert found.units == "pounds" and "carry pence" in found.units_from


@needs_payments
def test_payments_ingested_through_the_cli(runner: CliRunner, tmp_path: Path) -> None:
    rows = payment_rows()
    year = [(r, d, s, a) for r, d, s, a in rows if in_2023_24(d)]
    expected = sum(a for *_, a in year)
    assert expected == Decimal("32608209.40")
    db = tmp_path / "placecount.duckdb"
    api.init(db, "Babergh", "2023-24", population=92_000)
    result = runner.invoke(app, ["ingest", "payments", str(PAYMENTS), "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    assert f"{len(rows) - len(year):,} payments outside 2023-24 left out" in result.stderr
    assert "'Sheet15'!D9648 (Amount): '1241,32' is written with a decimal comma" in result.stderr
    with Store.open(db) as store:
        [src] = store.sources()
        assert (src["kind"], src["org"], src["financial_year"]) == (
            "payments",
            "Babergh District Council",
            "2023-24",
        )
        assert src["part"] == "partial, not counted"
        assert "pence" in src["units_from"] and "a head" in src["units_from"]
        kept = store.query(
            "SELECT excel_row, paid_on, native_label, amount_pence FROM lines "
            "WHERE included ORDER BY excel_row"
        )
        scaffolding = store.query(
            "SELECT excel_row, included, reason FROM lines WHERE native_label = "
            "'Total Access Scaffolding Limited' ORDER BY excel_row"
        )
    assert len(kept) == len(year)
    assert Decimal(sum(k["amount_pence"] for k in kept)) / 100 == expected
    assert [k["excel_row"] for k in kept] == [r for r, *_ in year]
    assert {k["paid_on"] for k in kept} == {d.isoformat() for _, d, _, _ in year}
    assert [k for k in kept if k["excel_row"] == 9648] == [
        {
            "excel_row": 9648,
            "paid_on": "2023-11-22",
            "native_label": "KEN GRIME & SON LTD",
            "amount_pence": 124132,
        }
    ]
    # the supplier "Total Access Scaffolding Limited" is paid, never taken as a total
    paid = [(r, in_2023_24(d)) for r, d, s, _ in rows if s == "Total Access Scaffolding Limited"]
    assert paid
    assert [(x["excel_row"], x["included"]) for x in scaffolding] == paid
    assert {x["reason"] for x in scaffolding} <= {None, "paid outside 2023-24"}

    # not counted by default: shown beside the count, in the CLI's report as in the library's
    shown = runner.invoke(app, ["report", "--format", "json", "--db", str(db)])
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["reconciliation"]["not_counted"][0]["amount_gbp"] == (
        f"{expected:.2f}"
    )
    report = api.report(db)
    assert report["totals"]["total_gbp"] == "0.00"
    [beside] = report["reconciliation"]["not_counted"]
    assert (beside["label"], beside["lines"], Decimal(beside["amount_gbp"])) == (
        "payments, not counted (partial)",
        len(year),
        expected,
    )
    # --count puts them in
    result = runner.invoke(
        app, ["ingest", "payments", str(PAYMENTS), "--count", "--replace", "--db", str(db)]
    )
    assert result.exit_code == 0, result.stderr
    report = api.report(db)
    assert Decimal(report["totals"]["total_gbp"]) == expected
    assert Decimal(report["totals"]["by_kind_gbp"]["payments"]) == expected
    assert report["reconciliation"]["not_counted"] == []


# --- the Public Bodies Directory -------------------------------------------------------------

#: SOURCES.md: bodies and £ by overall_classification (each cell rounded to the penny)
DIRECTORY_FIGURES = {
    "Executive NDPB": (116, Decimal("229590665626.94")),
    "Advisory NDPB": (66, Decimal("29795853.79")),
    "Tribunal NDPB": (8, Decimal("19306583.64")),
    "Crown NDPB": (4, Decimal("341938277.97")),
    "Executive Agency": (39, Decimal("92528421256.18")),
    "Non-Ministerial Department": (20, Decimal("43239526386.45")),
}


@needs_directory
def test_directory_figures_are_those_worked_out_in_sources_md() -> None:
    bodies = directory_bodies()
    assert len(bodies) == 253
    count: Counter[str] = Counter()
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for b in bodies:
        cls = str(b["classification"])
        count[cls] += 1
        if isinstance(b["spend"], Decimal):
            spend[cls] += b["spend"]
    assert {c: (count[c], spend[c]) for c in count} == DIRECTORY_FIGURES
    blanks = [b for b in bodies if b["spend"] is None]
    assert [b["classification"] for b in blanks] == ["Executive NDPB"]


@needs_directory
def test_directory_read_with_no_flags(runner: CliRunner, db: Path) -> None:
    bodies = directory_bodies()
    # the Cumbria rules: executive NDPBs are kept, except those the Foreign Office sponsors
    kept = [
        b
        for b in bodies
        if b["classification"] == "Executive NDPB"
        and b["spend"] is not None
        and "Foreign" not in str(b["department"])
    ]
    expected = sum((b["spend"] for b in kept if isinstance(b["spend"], Decimal)), Decimal(0))
    overseas = [
        b
        for b in bodies
        if b["classification"] == "Executive NDPB" and "Foreign" in str(b["department"])
    ]
    assert expected == DIRECTORY_FIGURES["Executive NDPB"][1] - sum(
        (b["spend"] for b in overseas if isinstance(b["spend"], Decimal)), Decimal(0)
    )

    [found], issues = read_sources("ndpb", DIRECTORY, ReadOptions())
    assert (found.sheet, found.header_row, found.units) == ("Data", 7, "pounds")
    assert "'Headlines'!A15" in found.units_from and "(£)" in found.units_from
    assert found.kept_count == len(kept)
    assert Decimal(found.total_pence) / 100 == expected
    assert sorted(ln.native_label or "" for ln in found.kept) == sorted(
        str(b["name"]) for b in kept
    )
    # what is left out, by classification, adds up to SOURCES.md's figures
    by_row = {int(str(b["row"])): str(b["classification"]) for b in bodies}
    left: dict[str, Decimal] = defaultdict(Decimal)
    for ln in found.left_out:
        if ln.before_share_pence is not None:
            left[by_row[ln.row]] += Decimal(ln.before_share_pence) / 100
    for cls in ("Advisory NDPB", "Tribunal NDPB", "Crown NDPB", "Executive Agency"):
        assert left[cls] == DIRECTORY_FIGURES[cls][1], cls
    assert left["Non-Ministerial Department"] == DIRECTORY_FIGURES["Non-Ministerial Department"][1]
    reasons = {by_row[ln.row]: ln.reason for ln in found.left_out if ln.reason != "no amount"}
    assert "not an NDPB" in (reasons["Executive Agency"] or "")
    assert "not an NDPB" in (reasons["Non-Ministerial Department"] or "")
    assert "Crown" in (reasons["Crown NDPB"] or "")
    assert any(i.code == "national-totals" and i.severity == "warning" for i in issues)

    # through the CLI into a project of the directory's year with no population: exit 0,
    # the kept total stored, with the warning that these are national totals
    national = db.parent / "national" / "placecount.duckdb"
    api.init(national, "England", "2023-24")
    result = runner.invoke(app, ["ingest", "ndpb", str(DIRECTORY), "--db", str(national)])
    assert result.exit_code == 0, result.stderr
    assert "national spending" in result.stderr
    [src] = api.sources(national)
    # the mapping row for Reclaim Fund Ltd leaves it out as not spending (dormant-account
    # money received net of reclaims): the stored total is the rest (issue 13)
    [reclaim] = [b["spend"] for b in kept if b["name"] == "Reclaim Fund Ltd"]
    assert Decimal(src["total_gbp"]) == expected - reclaim
    # into a place's count (2023-24, 500,000 people) the national totals are refused: about
    # £228bn over 500,000 people is some £457,000 a head, beyond any real body
    place = db.parent / "place" / "placecount.duckdb"
    api.init(place, "Cumbria", "2023-24", population=500_000)
    result = runner.invoke(app, ["ingest", "ndpb", str(DIRECTORY), "--db", str(place)])
    assert result.exit_code == 2
    assert "beyond any real body" in result.stderr and "--share" in result.stderr
    assert api.sources(place) == []
