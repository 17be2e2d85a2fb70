"""The Exampleshire example place, counted end to end as `make demo` does.

Each source's total is worked out here from the example files themselves, read
with openpyxl (and the csv module for the district's Windows-1252 export) and
added up by hand, never taken from placecount's own reading of them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from placecount import api
from placecount.store import Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "exampleshire"
COUNTY = EXAMPLES / "county_council_outturn_2008-09.xlsx"
DISTRICT = EXAMPLES / "riverton_district_outturn_2008-09.csv"
NHS = EXAMPLES / "nhs_exampleshire_2008-09.xlsx"
POLICE = EXAMPLES / "police_authority_poa_2008-09.xlsx"
PESA = EXAMPLES / "pesa_cra_regional_2008-09.xlsx"
NDPB = EXAMPLES / "ndpb_spending_2008-09.xlsx"

PLACE_POPULATION = 512_300
REGION_POPULATION = 4_400_000
PESA_SHARE = Fraction(PLACE_POPULATION, REGION_POPULATION)


# --- hand-written reading of the example files -------------------------------------------------


def hand_amount(cell: object) -> Decimal:
    """A cell as a person reads it: 1,234 / (1,234) / £1,234 / - for nothing."""
    if isinstance(cell, int | float):
        return Decimal(str(cell))
    text = str(cell).strip()
    if text in {"-", "–", ""}:
        return Decimal(0)
    negative = text.startswith("(") and text.endswith(")")
    number = Decimal(text.strip("()").replace("£", "").replace(",", ""))
    return -number if negative else number


def sheet_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    wb = load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def to_pence(pounds: Decimal) -> int:
    value = pounds * 100
    assert value == value.to_integral_value()
    return int(value)


def county_pence() -> int:
    rows = sheet_rows(COUNTY, "RO Summary")
    assert rows[3][2] == "Net current expenditure (£ thousand)"
    lines = [r for r in rows if isinstance(r[0], str) and re.fullmatch(r"RS\d\d", r[0])]
    assert len(lines) == 16
    return to_pence(sum((hand_amount(r[2]) for r in lines), Decimal(0)) * 1000)


def district_pence() -> int:
    text = DISTRICT.read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Service")
    assert rows[start][1] == "Net expenditure £"
    total = Decimal(0)
    count = 0
    for r in rows[start + 1 :]:
        if r[0] == "Total":
            break
        total += hand_amount(r[1])
        count += 1
    assert count == 10
    return to_pence(total)


def nhs_pence() -> int:
    rows = sheet_rows(NHS, "Programme spend")
    assert rows[3][2] == "Net expenditure (£000)"
    lines = [r for r in rows[5:] if r[0] and r[2] is not None]
    assert len(lines) == 10
    return to_pence(sum((hand_amount(r[2]) for r in lines), Decimal(0)) * 1000)


def police_pence() -> int:
    rows = sheet_rows(POLICE, "POA 2008-09")
    assert rows[4][2] == "Net expenditure (£)"
    total = Decimal(0)
    for r in rows[5:]:
        if r[1] == "TOTAL":
            break
        total += hand_amount(r[2])
    return to_pence(total)


def round_half_even(value: Fraction) -> int:
    floor, rest = divmod(value.numerator, value.denominator)
    twice = 2 * rest
    if twice > value.denominator or (twice == value.denominator and floor % 2 == 1):
        return floor + 1
    return floor


def pesa_expected() -> dict[int, int]:
    """Excel row → pence for each counted PESA line: East Midlands £m × share, half-even.

    Sub-functions are counted; a function only when no sub-function follows it;
    "of which" and total rows never.
    """
    rows = sheet_rows(PESA, "Table 9.15")
    assert rows[1][0] == "£ million"
    col = rows[3].index("East Midlands")
    labelled = [(i + 1, str(r[0]), r[col]) for i, r in enumerate(rows[4:], start=4) if r[0]]
    out: dict[int, int] = {}
    for pos, (excel_row, label, cell) in enumerate(labelled):
        if cell is None:  # the source note under the table
            continue
        sub = re.match(r"^(\d+)\.(\d+) ", label)
        fn = re.match(r"^(\d+)\. ", label)
        if sub:
            counted = True
        elif fn:
            subs = rf"^{fn.group(1)}\.\d+ "
            counted = not any(
                re.match(subs, lab) for lab in _until_next_function(labelled[pos + 1 :])
            )
        else:
            counted = False  # "of which: …", "Total identifiable expenditure …"
        if counted:
            out[excel_row] = round_half_even(Fraction(hand_amount(cell)) * 100_000_000 * PESA_SHARE)
    return out


def pesa_health_rows() -> set[int]:
    """Excel rows of the PESA table under function 7 (Health): '7.1 …', '7.2 …', '7. Health'.

    The table is central government's and gives functions only, so the NHS bodies'
    own accounts replace all of central government's division 07 (issue 12).
    """
    rows = sheet_rows(PESA, "Table 9.15")
    return {i + 1 for i, r in enumerate(rows) if r[0] and re.match(r"^7\.(\d+)? ", str(r[0]))}


def _until_next_function(rest: list[tuple[int, str, object]]) -> Iterator[str]:
    for _, label, _ in rest:
        if re.match(r"^\d+\. ", label) or label.startswith("Total"):
            return
        yield label


def ndpb_pence() -> int:
    rows = sheet_rows(NDPB, "NDPBs")
    assert rows[1][0] == "£000"
    assert rows[3] == (
        "Body",
        "Sponsor department",
        "Status",
        "Direct connection",
        "Expenditure in area",
    )
    total = Decimal(0)
    overseas = {"Foreign and Commonwealth Office", "DfID"}
    for body, sponsor, status, connected, amount in rows[4:]:
        if body is None or amount is None:
            continue
        if status != "Executive" or connected != "Yes" or sponsor in overseas:
            continue
        total += hand_amount(amount)
    return to_pence(total * 1000)


def county_transfers_pence() -> int:
    """County lines whose "Paid to" names a body counted too (an NHS organisation)."""
    rows = sheet_rows(COUNTY, "RO Summary")
    assert rows[3][3] == "Paid to"
    nhs_orgs = {r[0] for r in sheet_rows(NHS, "Programme spend")[5:] if r[0] and r[2]}
    paid = [r for r in rows[4:] if r[0] and len(r) > 3 and r[3] in nhs_orgs]
    assert [r[1] for r in paid] == ["Contribution to pooled budget with NHS Exampleshire"]
    return to_pence(sum((hand_amount(r[2]) for r in paid), Decimal(0)) * 1000)


def gbp(pence: int) -> str:
    return str((Decimal(pence) / 100).quantize(Decimal("0.01")))


# --- the count, as the Makefile's demo target runs it ------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "placecount.duckdb"
    api.init(db, "Exampleshire", "2008-09", population=PLACE_POPULATION, area_code="E10000099")
    api.ingest("council", [COUNTY], db, org="Exampleshire County Council")
    api.ingest("council", [DISTRICT], db, org="Riverton District Council")
    api.ingest("nhs", [NHS], db)
    api.ingest("police", [POLICE], db, org="Exampleshire Police Authority")
    api.ingest(
        "pesa",
        [PESA],
        db,
        region="East Midlands",
        place_population=PLACE_POPULATION,
        region_population=REGION_POPULATION,
    )
    api.ingest("ndpb", [NDPB], db)
    return db


@pytest.fixture(scope="module")
def sources(demo_db: Path) -> dict[str, dict[str, Any]]:
    return {s["file_name"]: s for s in api.sources(demo_db)}


def test_every_example_file_is_ingested(sources: dict[str, dict[str, Any]]) -> None:
    spreadsheets = [p.name for p in EXAMPLES.iterdir() if p.suffix in (".xlsx", ".csv")]
    assert sorted(sources) == sorted(spreadsheets)


@pytest.mark.parametrize(
    ("path", "kind", "expected"),
    [
        (COUNTY, "council", county_pence),
        (DISTRICT, "council", district_pence),
        (NHS, "nhs", nhs_pence),
        (POLICE, "police", police_pence),
        (PESA, "pesa", lambda: sum(pesa_expected().values())),
        (NDPB, "ndpb", ndpb_pence),
    ],
    ids=["county", "district", "nhs", "police", "pesa", "ndpb"],
)
def test_source_total_equals_the_hand_sum(
    sources: dict[str, dict[str, Any]], path: Path, kind: str, expected: Any
) -> None:
    src = sources[path.name]
    assert src["kind"] == kind
    assert src["total_gbp"] == gbp(expected())


def test_hand_sums_agree_with_the_publishers_own_totals() -> None:
    """The files' printed Total rows (a check on the hand-reading above, not on placecount)."""
    assert county_pence() == to_pence(Decimal("763653.95") * 1000)
    assert district_pence() == to_pence(Decimal("12757139"))
    assert nhs_pence() == to_pence(Decimal("589296.25") * 1000)
    assert police_pence() == to_pence(Decimal("121989418"))


def test_pesa_is_the_population_share_of_east_midlands_line_by_line(demo_db: Path) -> None:
    expected = pesa_expected()
    # 17 sub-functions, and the functions 5, 8 and 11 that have none
    assert len(expected) == 20
    with Store.open(demo_db) as store:
        stored = dict(
            store.con.execute(
                "SELECT excel_row, amount_pence FROM lines WHERE kind = 'pesa' AND included"
            ).fetchall()
        )
        share = store.con.execute(
            "SELECT pesa_share, region FROM sources WHERE kind = 'pesa'"
        ).fetchone()
        eu = store.con.execute(
            "SELECT excel_row, reason FROM lines WHERE kind = 'pesa' AND native_label = "
            "'EU transactions'"
        ).fetchall()
    # function 11, EU transactions, has no COFOG function: shown outside the count (issue 13)
    [(eu_row, why)] = eu
    assert why.startswith("outside a place count: EU transactions")
    assert "(pesa.csv line " in why
    assert stored == {row: p for row, p in expected.items() if row != eu_row}
    # 512,300 / 4,400,000 = 0.1164318…, shown to six places
    assert share == ("0.116432", "East Midlands")


def test_report_adds_the_counted_kinds_and_not_the_ndpbs(demo_db: Path) -> None:
    """Count = councils + NHS + police + PESA, the pooled budget once; NDPBs only "of which".

    The NHS bodies' own accounts replace central government's health estimate (issue 12):
    PESA counts every line but those of function 7.
    """
    transfer = county_transfers_pence()
    council = county_pence() + district_pence() - transfer
    nhs = nhs_pence()
    police = police_pence()
    health = pesa_health_rows()
    replaced = sum(v for row, v in pesa_expected().items() if row in health)
    pesa = sum(v for row, v in pesa_expected().items() if row not in health)
    assert len(health & set(pesa_expected())) == 3  # 7.1, 7.2 and 7.3 are counted lines
    ndpb = ndpb_pence()
    grand = council + nhs + police + pesa
    report = api.report(demo_db)
    assert report["kinds"] == ["council", "nhs", "police", "pesa"]
    totals = report["totals"]
    assert totals["by_kind_gbp"] == {
        "council": gbp(council),
        "nhs": gbp(nhs),
        "police": gbp(police),
        "pesa": gbp(pesa),
    }
    assert totals["total_gbp"] == gbp(grand)
    assert totals["ndpb_memo_gbp"] == gbp(ndpb)
    assert totals["per_head_gbp"] == str(
        (Decimal(grand) / 100 / PLACE_POPULATION).quantize(Decimal("0.01"))
    )
    reconciliation = report["reconciliation"]
    assert reconciliation["gross_gbp"] == gbp(grand + transfer + replaced)
    assert reconciliation["transfers_gbp"] == gbp(transfer)
    assert reconciliation["replaced_gbp"] == gbp(replaced)
    assert [(r["estimate"], r["coarse"], r["amount_gbp"]) for r in reconciliation["replaced"]] == [
        ("central government, 07 Health", True, gbp(replaced))
    ]
    assert reconciliation["count_gbp"] == gbp(grand)
    # the rows add up to the totals, kind by kind
    for kind in report["kinds"]:
        column = sum(Decimal(r["by_kind_gbp"][kind]) for r in report["rows"])
        assert column == Decimal(totals["by_kind_gbp"][kind]), kind
    assert sum(Decimal(r["total_gbp"]) for r in report["rows"]) == Decimal(gbp(grand))
    memo = sum(Decimal(r["ndpb_memo_gbp"] or 0) for r in report["rows"])
    assert memo == Decimal(gbp(ndpb))
