"""The Public Bodies Directory read as an NDPB source: a workbook built here in its shape."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from placecount.errors import InputError
from placecount.models import ReadOptions
from placecount.sources import read_sources

DATA_HEADER = [
    "overall_financial_year",
    "overall_alb_name",
    "overall_parent_department",
    "overall_classification",
    "finance_spend_tme",
]
BODIES = [
    ["2023/24", "Arts Body", "Department for Culture, Media and Sport", "Executive NDPB", 1000.005],
    ["2023/24", "Advice Panel", "HM Treasury", "Advisory NDPB", 20.5],
    ["2023/24", "Appeals Tribunal", "Ministry of Justice", "Tribunal NDPB", 30],
    ["2023/24", "Crown Body", "Home Office", "Crown NDPB", 40],
    ["2023/24", "Some Agency", "Department for Transport", "Executive Agency", 50],
    ["2023/24", "Tax Office", "HM Treasury", "Non-Ministerial Department", 60],
    [
        "2023/24",
        "Council Abroad",
        "Foreign, Commonwealth and Development Office",
        "Executive NDPB",
        70,
    ],
    ["2023/24", "Quiet Body", "Cabinet Office", "Executive NDPB", None],
    [
        "2023/24",
        "Science Body",
        "Department for Science, Innovation and Technology",
        "Executive NDPB",
        2000.015,
    ],
]


def directory(path: Path, headline: str = "Total Managed Expenditure For ALBs (£)") -> Path:
    wb = Workbook()
    cover = wb.active
    cover.title = "Cover"
    cover.append(["Public Bodies Directory"])
    variables = wb.create_sheet("Variables")
    variables.append(["Variable", "Label", "Type"])
    variables.append(["overall_alb_name", "Name", "Text"])
    variables.append(["finance_spend_tme", "Total Managed Expenditure", "Number (Decimal)"])
    headlines = wb.create_sheet("Headlines")
    headlines.append(["Measure", "Value"])
    headlines.append([headline, 1])
    data = wb.create_sheet("Data")
    data.append(["Table 5: Public Bodies Directory 2023/24"])
    data.append(["Blank cells indicate no data was provided."])
    data.append(DATA_HEADER)
    for body in BODIES:
        data.append(body)
    wb.save(path)
    return path


def test_directory_rules(tmp_path: Path) -> None:
    [found], issues = read_sources("ndpb", directory(tmp_path / "pbd.xlsx"), ReadOptions())
    assert (found.sheet, found.header_row, found.units) == ("Data", 3, "pounds")
    assert found.units_from.startswith("'Headlines'!A2 'Total Managed Expenditure For ALBs (£)'")
    # executive NDPBs are kept, each cell rounded to the penny half-even (1000.005 → 1000.00,
    # 2000.015 → 2000.02); the one sponsored by the Foreign Office is left out
    assert [ln.native_label for ln in found.kept] == ["Arts Body", "Science Body"]
    assert found.total_pence == 100000 + 200002
    reasons = {ln.native_label: ln.reason or "" for ln in found.left_out}
    assert reasons["Advice Panel"].startswith("Advisory NDPB body")
    assert reasons["Appeals Tribunal"].startswith("Tribunal NDPB body")
    assert reasons["Crown Body"].startswith("Crown NDPB")
    assert "not an NDPB" in reasons["Some Agency"]
    assert "not an NDPB" in reasons["Tax Office"]
    assert "overseas" in reasons["Council Abroad"]
    assert reasons["Quiet Body"] == "no amount"
    [warn] = [i for i in issues if i.code == "national-totals"]
    assert (warn.severity, warn.sheet, warn.column) == ("warning", "Data", "E")
    assert found.kept[0].org == "Arts Body"
    assert Decimal(found.total_pence) / 100 == Decimal("3000.02")


def test_directory_unit_must_be_stated_somewhere(tmp_path: Path) -> None:
    path = directory(tmp_path / "pbd.xlsx", headline="Total Managed Expenditure For ALBs")
    with pytest.raises(InputError) as err:
        read_sources("ndpb", path, ReadOptions())
    assert err.value.issues[0].code == "unit-not-proved"
    [found], _ = read_sources("ndpb", path, ReadOptions(units="pounds"))
    assert found.units_from == "--units"


def test_a_workbook_without_the_directory_sheets_is_read_as_before(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    [found], _ = read_sources(
        "ndpb", root / "examples" / "exampleshire" / "ndpb_spending_2008-09.xlsx", ReadOptions()
    )
    assert found.units == "thousands"
    assert not found.sheet or found.sheet != "Data"
