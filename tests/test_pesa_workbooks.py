"""PESA workbooks built in code: the CRA database's errors, department blocks in wide
tables, and pence rounded once per source."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from placecount.errors import InputError
from placecount.models import ReadOptions, SourceRead
from placecount.sources import read_sources
from placecount.sources._rounding import round_once


def read(path: Path, **kw: Any) -> SourceRead:
    share = kw.pop("share", Fraction(1))
    reads, _ = read_sources("pesa", path, ReadOptions(share=share, share_text=str(share), **kw))
    [found] = reads
    return found


def input_error(fn: Callable[[], object]) -> InputError:
    with pytest.raises(InputError) as info:
        fn()
    return info.value


# --- synthetic CRA database: the errors ---------------------------------------------------

CRA_HEADER = [
    "Department Name",
    "Organisation Name",
    "HMT Function",
    "HMT Subfunction",
    "ID/non-ID",
    "CAP or CUR",
    "CG, LG, PC, BOE",
    "NUTS Region",
    "2016-17",
    "2017-18",
]


def cra_workbook(tmp_path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Metadata"
    ws["C2"] = "Levels of expenditure shown are in £'000s."
    data = wb.create_sheet("CRA database")
    data.append(CRA_HEADER)
    for r in rows:
        data.append(r)
    path = tmp_path / "cra.xlsx"
    wb.save(path)
    return path


NW, LONDON = "ENGLAND_North West", "ENGLAND_London"
CRA_ROWS: list[list[object]] = [
    ["DH", "NHS Trusts", "7. Health", "7.A Medical services", "ID", "CUR", "CG", NW, 10, None],
    ["DfT", "DfT", "4. Economic affairs", "4.5 of which: railway", "ID", "CAP", "LA", NW, 5, None],
    ["DfT", "DfT", "4. Economic affairs", "4.5 of which: railway", "ID", "CAP", "LA", LONDON, 7, 9],
]


def test_synthetic_cra_a_year_with_no_amounts_for_the_region(tmp_path: Path) -> None:
    path = cra_workbook(tmp_path, CRA_ROWS)
    error = input_error(lambda: read(path, region="North West", year="2017-18"))
    assert [i.code for i in error.issues] == ["year-not-found"]
    assert "no rows for region" not in error.issues[0].message
    assert (error.issues[0].sheet, error.issues[0].column) == ("CRA database", "J")
    # the other year has both lines, LA read as LG, in £'000s
    found = read(path, region="North West", year="2016-17")
    assert [(ln.native_code, ln.extra["sector"], ln.amount_pence) for ln in found.kept] == [
        ("7.A", "CG", 1_000_000),
        ("4.5", "LG", 500_000),
    ]
    assert found.kept[0].org == "DH / NHS Trusts"
    assert found.kept[1].org == "DfT"


def test_synthetic_cra_year_before_region_and_several_years(tmp_path: Path) -> None:
    path = cra_workbook(tmp_path, CRA_ROWS)
    missing = input_error(lambda: read(path, region="Atlantis", year="2012-13"))
    assert [i.code for i in missing.issues] == ["year-not-found"]
    several = input_error(lambda: read(path, region="North West"))
    assert [i.code for i in several.issues] == ["bad-option"]
    unknown = input_error(lambda: read(path, region="Atlantis", year="2016-17"))
    assert [i.code for i in unknown.issues] == ["region-not-found"]


def test_synthetic_cra_rows_left_out_name_their_cell(tmp_path: Path) -> None:
    rows = [list(CRA_ROWS[0]), list(CRA_ROWS[1])]
    rows[1][8] = "12O"
    path = cra_workbook(tmp_path, rows)
    error = input_error(lambda: read(path, region="North West", year="2016-17"))
    assert [(i.code, i.sheet, i.row, i.column) for i in error.issues] == [
        ("unparseable-amount", "CRA database", 3, "I")
    ]


# --- rounding once ----------------------------------------------------------------------


@given(st.lists(st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**9)))
def test_round_once_adds_up_to_the_rounded_total_each_within_a_penny(
    exact: list[Fraction],
) -> None:
    got = round_once(exact)
    assert sum(got) == round(sum(exact, Fraction(0)))
    assert all(abs(g - x) < 1 for g, x in zip(got, exact, strict=True))


def test_round_once_where_rounding_each_line_drifts(tmp_path: Path) -> None:
    # three lines of £5 (0.000005 £m) at a share of 1/1000: half a penny each
    rows = [
        ["DH", "DH", "7. Health", f"7.A Medical services {i}", "ID", "CUR", "CG", NW, 0.005, 1]
        for i in range(3)
    ]
    path = cra_workbook(tmp_path, rows)
    found = read(path, region="North West", year="2016-17", share=Fraction(1, 1000))
    each = [round(Fraction(Decimal("0.005")) * 1000 * 100 / 1000) for _ in rows]
    assert sum(each) == 0  # rounding each line on its own loses the 1.5p
    assert found.total_pence == 2  # 1.5p rounded once, half to even
    assert sorted(ln.amount_pence or 0 for ln in found.kept) == [0, 1, 1]


# --- department blocks in wide PESA tables (PESA 2005 style) ------------------------------

REGIONS = ["North East", "North West", "London", "England"]
#: (label, North East, North West): a department's row carries its total.
DEPARTMENT_BLOCKS: list[tuple[str, object, object]] = [
    ("Department for Education and Skills", 1000.5, 2000.0),
    ("9. Education", 900.2, 1800.0),
    ("10. Social protection", 100.3, 200.0),
    ("Department of Health", 3000.0, 6001.0),
    ("7. Health", 2990.0, 5990.0),
    ("10. Social protection", 10.0, 10.0),
    ("Home Office", None, None),
    ("3. Public order and safety", 500.0, 900.0),
    ("3.1 Police services", 400.0, 700.0),
    ("3.6 Public order and safety n.e.c.", 100.0, 200.0),
    ("Total identifiable expenditure", 4500.5, 8900.0),
]
FIRST_ROW = 5  # Excel row of the first block line
KEPT = {"9. Education", "7. Health", "3.1 Police services", "3.6 Public order and safety n.e.c."}
KEPT |= {"10. Social protection"}


def department_workbook(tmp_path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Table 7.1 Identifiable expenditure on services by department, 2003-04"])
    ws.append(["£ million"])
    ws.append([])
    ws.append([None, *REGIONS])
    for label, ne, nw in DEPARTMENT_BLOCKS:
        ws.append([label, ne, nw, None, None])
    path = tmp_path / "pesa_2005_departments.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("region", ["North East", "North West"])
def test_department_totals_are_never_lines(tmp_path: Path, region: str) -> None:
    found = read(department_workbook(tmp_path), region=region, share=Fraction(1, 4), part="total")
    col = 1 if region == "North East" else 2
    expected = [
        (FIRST_ROW + i, round(Fraction(Decimal(str(cells[col]))) * 100_000_000 / 4))
        for i, cells in enumerate(DEPARTMENT_BLOCKS)
        if cells[0] in KEPT
    ]
    assert [(ln.row, ln.amount_pence) for ln in found.kept] == expected
    # the kept lines add up to the printed grand total: no department counted twice
    grand = Fraction(Decimal(str(DEPARTMENT_BLOCKS[-1][col]))) * 100_000_000 / 4
    assert found.total_pence == round(grand)
    reasons = {ln.row: ln.reason or "" for ln in found.left_out}
    assert "department total" in reasons[FIRST_ROW]
    assert "department total" in reasons[FIRST_ROW + 3]
    assert "department" in reasons[FIRST_ROW + 6]
    assert "function total" in reasons[FIRST_ROW + 7]
    assert "total row" in reasons[FIRST_ROW + 10]
    # each function line is the department's
    assert [ln.org for ln in found.kept] == [
        "Department for Education and Skills",
        "Department for Education and Skills",
        "Department of Health",
        "Department of Health",
        "Home Office",
        "Home Office",
    ]


def test_department_total_differing_from_its_functions_is_reported(tmp_path: Path) -> None:
    path = department_workbook(tmp_path)
    reads, issues = read_sources(
        "pesa",
        path,
        ReadOptions(region="North West", share=Fraction(1), share_text="1", part="total"),
    )
    mismatches = [(i.row, i.column) for i in issues if i.code == "subtotal-mismatch"]
    assert mismatches == [(FIRST_ROW + 3, "C")]  # Department of Health: 6,001 against 6,000


# --- the long extract (a year column): the year filter is not the region's fault ----------


def long_extract(tmp_path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Department", "Function", "Sub-function", "Region", "Year", "Amount (£ million)"])
    ws.append(["DH", "7. Health", "7.1 Medical services", "ENGLAND_East Midlands", "2007-08", 6.5])
    ws.append(["DH", "7. Health", "7.1 Medical services", "ENGLAND_East Midlands", "2008-09", 7.25])
    ws.append(["DH", "7. Health", "7.1 Medical services", "ENGLAND_London", "2008-09", 9.0])
    path = tmp_path / "extract.xlsx"
    wb.save(path)
    return path


def test_long_extract_year_with_no_rows_is_a_year_error(tmp_path: Path) -> None:
    path = long_extract(tmp_path)
    error = input_error(lambda: read(path, region="East Midlands", year="2009-10"))
    assert [i.code for i in error.issues] == ["year-not-found"]
    assert "2007-08, 2008-09" in (error.issues[0].note or "")
    unknown = input_error(lambda: read(path, region="Atlantis", year="2008-09"))
    assert [i.code for i in unknown.issues] == ["region-not-found"]


def test_long_extract_region_as_published_with_its_country(tmp_path: Path) -> None:
    found = read(long_extract(tmp_path), region="East Midlands", year="2008-09", part="central")
    assert [(ln.row, ln.amount_pence) for ln in found.kept] == [(3, 725_000_000)]


# --- chapter 9 tables (regions as rows) and ONS tables, built in code --------------------

YEARS = ["2021-22\noutturn", "2022-23\noutturn"]


def chapter9_workbook(tmp_path: Path, health: int, education: int, control: int) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "9.1a"
    ws.append(["Table 9.1a  Total identifiable expenditure on services, 2021-22 to 2022-23"])
    ws.append([None, None, "£ million"])
    ws.append([None, "National Statistics"])
    ws.append([None, *YEARS])
    ws.append(["North East", 1, control])
    ws.append(["London", 1, 2])
    for number, name, amount in (("9.11", "Health", health), ("9.13", "Education", education)):
        t = wb.create_sheet(number)
        t.append(
            [f"Table {number}  Identifiable expenditure on {name.lower()}, 2021-22 to 2022-23"]
        )
        t.append([None, None, None, None, None, "£ million"])
        t.append([None, name, None, "of which: current", None, "of which: capital"])
        t.append([None, "National Statistics"])
        t.append([None, *YEARS, *YEARS, *YEARS])
        t.append(["North East", 1, amount, 1, amount - 3, 1, 3])
        t.append(["London", 1, 1, 1, 1, 1, 1])
    path = tmp_path / "chapter9.xlsx"
    wb.save(path)
    return path


def test_chapter9_functions_from_their_total_block(tmp_path: Path) -> None:
    path = chapter9_workbook(tmp_path, health=500, education=300, control=801)
    reads, issues = read_sources(
        "pesa", path, ReadOptions(region="North East", year="2022-23", share=Fraction(1, 2))
    )
    assert [(r.sheet, r.kept[0].native_code, r.kept[0].row, r.kept[0].column) for r in reads] == [
        ("9.11", "7", 6, "C"),
        ("9.13", "9", 6, "C"),
    ]
    assert [r.total_pence for r in reads] == [250 * 100_000_000, 150 * 100_000_000]
    [check] = [i for i in issues if i.code == "subtotal-mismatch"]
    assert (check.sheet, check.row, check.column) == ("9.1a", 5, "C")


def test_chapter9_functions_far_from_the_control_total_are_an_error(tmp_path: Path) -> None:
    path = chapter9_workbook(tmp_path, health=500, education=300, control=1_100)
    error = input_error(lambda: read(path, region="North East", year="2022-23"))
    assert [(i.code, i.sheet, i.row, i.column) for i in error.issues] == [
        ("control-total-mismatch", "9.1a", 5, "C")
    ]


def ons_workbook(tmp_path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Contents"
    ws.append(["Table of contents"])
    for region in ("North East", "London"):
        sheet = wb.create_sheet(region)
        sheet.append([f"Public Sector Expenditure Tables for {region}"])
        sheet.append(
            ["This worksheet contains two tables. All numeric values equate to £ millions."]
        )
        for n, name in ((1, "Total Managed Expenditure"), (2, "Total Identifiable Expenditure")):
            sheet.append([f"Table {n}: {name}", "2021 to 2022", "2022 to 2023"])
            sheet.append(["7. Health", 10, 20 * n])
            sheet.append(["7. of which: medical services", 5, 15])
            sheet.append(["10. Social protection", 30, "4O"])
            sheet.append([f"Total {name.lower()}", 40, 20 * n + 40])
            sheet.append([])
    path = tmp_path / "ons.xlsx"
    wb.save(path)
    return path


def test_ons_table_not_found_and_a_bad_cell(tmp_path: Path) -> None:
    path = ons_workbook(tmp_path)
    missing = input_error(lambda: read(path, region="London", year="2022-23", table="9"))
    assert [i.code for i in missing.issues] == ["table-not-found"]
    assert "2: Total Identifiable Expenditure" in missing.issues[0].message
    bad = input_error(lambda: read(path, region="London", year="2022-23", table="2"))
    assert [(i.code, i.sheet, i.row, i.column) for i in bad.issues] == [
        ("unparseable-amount", "London", 12, "C")
    ]
    found = read(path, region="London", year="2021-22", table="Total Identifiable Expenditure")
    assert [(ln.row, ln.native_code, ln.amount_pence) for ln in found.kept] == [
        (10, "7", 10 * 100_000_000),
        (12, "10", 30 * 100_000_000),
    ]


def test_long_extract_is_rounded_once(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Department", "Sub-function", "Region", "Year", "Amount (£ million)"])
    for i in range(3):
        ws.append(["DH", f"7.{i + 1} Health {i}", "North West", "2008-09", 0.000005])
    path = tmp_path / "extract.xlsx"
    wb.save(path)
    found = read(path, region="North West", year="2008-09", share=Fraction(1, 1000), part="central")
    # £5 a line at a share of 1/1000 is half a penny: 1.5p in all, rounded once to 2p
    assert found.total_pence == 2
    assert sorted(ln.amount_pence or 0 for ln in found.kept) == [0, 1, 1]


def test_ons_tables_with_no_identifiable_total_ask_which(tmp_path: Path) -> None:
    """The default is the total identifiable table; a workbook without one is a choice."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Contents"
    for region in ("North East", "London"):
        sheet = wb.create_sheet(region)
        sheet.append(["All numeric values equate to £ millions."])
        for n, name in ((1, "Total Managed Expenditure"), (3, "Current Identifiable Expenditure")):
            sheet.append([f"Table {n}: {name}", "2021 to 2022", "2022 to 2023"])
            sheet.append(["7. Health", 10, 20])
            sheet.append([f"Total {name.lower()}", 10, 20])
            sheet.append([])
    path = tmp_path / "ons.xlsx"
    wb.save(path)
    refused = input_error(lambda: read(path, region="North East", year="2022-23"))
    assert [i.code for i in refused.issues] == ["table-required"]
    assert "--table" in (refused.issues[0].note or "")
