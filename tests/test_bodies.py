"""Tables of many bodies (one row per authority), stacked one-body sheets and files that are
not spending, on small workbooks built here with the shape of the published ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placecount.cli import app
from placecount.errors import InputError, Issue
from placecount.models import ReadOptions, SourceRead
from placecount.sources import read_sources
from placecount.sources.bodies import below_the_line_reason, measure_of
from placecount.store import Store

TITLE = [
    ["Worksheet 2: Revenue Account Budget (RA) 2030-31"],
    ["Data are reported in £ thousand."],
]
IDS = [
    "asset ids",
    None,
    None,
    None,
    None,
    "edu1",
    "edu2",
    "edutot",
    "pol",
    "tse",
    "hb",
    "pp",
    "nce",
]
SECTIONS = [
    "section headings",
    None,
    None,
    None,
    None,
    "Education Services",
    None,
    None,
    "Police",
    "Total Service Expenditure",
    "Housing benefits",
    "Precepts and Levies",
    "Net Current Expenditure",
]
CODES = ["line number", None, None, None, None, 110, 120, 190, 601, 799, 811, 821, 849]
HEADER = [
    "E-code",
    "ONS Code",
    "Local authority",
    "Class",
    "Notes",
    "Early years",
    "Primary schools",
    "TOTAL EDUCATION SERVICES",
    "TOTAL POLICE SERVICES",
    "TOTAL SERVICE EXPENDITURE",
    "Housing benefits: rent allowances",
    "Parish Precepts",
    "NET CURRENT EXPENDITURE",
]


def ra_rows(*bodies: list[Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [*TITLE, IDS, SECTIONS, CODES, HEADER]
    rows += [list(b) for b in bodies]
    rows.append(["Eng", "E92000001", "ENGLAND", "Eng", None, 30, 60, 90, 50, 140, 12, 3, 155])
    rows.append(["E-code", "ONS Code", "Class Breakdown", "Class"])
    rows.append(["-", "E07", "Shire Districts", "SD", None, 0, 0, 0, 0, 0, 0, 0, 0])
    return rows


TESTFORD = ["E1", "E06000901", "Testford", "UA", None, 10, 20.5, 30.5, 0, 30.5, 7, 2, 39.5]
TESTFORD_FOREST = ["E2", "E07000902", "Testford Forest", "SD", None, 0, 0, 0, 0, 0, 5, 1, 6]
TESTSHIRE_POLICE = ["E3", "E23000903", "Testshire PCC", "O", None, 0, 0, 0, 50, 50, 0, 0, 50]


def read(path: Path, *orgs: str, **kw: Any) -> tuple[list[SourceRead], list[Issue]]:
    options = ReadOptions(orgs=list(orgs), org=orgs[0] if len(orgs) == 1 else None, **kw)
    return read_sources("council", path, options)


@pytest.fixture
def ra(xlsx: Callable[..., Path]) -> Path:
    return xlsx(
        ra_rows(TESTFORD, TESTFORD_FOREST, TESTSHIRE_POLICE),
        name="ra_2030-31.xlsx",
        sheet="RA_LA_Data",
    )


def test_one_row_per_authority_keeps_the_service_lines(ra: Path) -> None:
    reads, issues = read(ra, "Testford")
    [src] = reads
    # by hand: early years 10 + primary 20.5 (£ thousand); 190, 799 and below are not lines
    assert src.total_pence == 3_050_000
    assert [(ln.native_code, ln.native_label) for ln in src.kept] == [
        ("110", "Early years"),
        ("120", "Primary schools"),
        ("601", "TOTAL POLICE SERVICES"),
    ]
    assert {ln.org for ln in src.lines} == {"Testford"}
    assert src.kept[0].extra == {
        "org_class": "UA",
        "org_code": "E06000901",
        "measure": "net",
        "spend_type": "current",
    }
    assert (src.units, src.units_from) == (
        "thousands",
        "sheet 'RA_LA_Data' A2: 'Data are reported in £ thousand.'",
    )
    assert src.year == "2030-31" and src.org == "Testford"
    reasons = {ln.native_code: ln.reason for ln in src.left_out}
    assert reasons["190"] == "subtotal of Education Services: a control total, not a line"
    assert reasons["799"] == "control total (TOTAL SERVICE EXPENDITURE)"
    assert "housing benefit" in (reasons["811"] or "")
    assert "transfer" in (reasons["821"] or "")
    assert "total" in (reasons["849"] or "")
    assert issues == []


def test_police_one_line_table_is_a_line_and_rows_by_code(ra: Path) -> None:
    reads, _ = read(ra, "E23000903", "Testford")
    [src] = reads
    by_org = {}
    for ln in src.kept:
        by_org[ln.org] = by_org.get(ln.org, 0) + (ln.amount_pence or 0)
    assert by_org == {"Testshire PCC": 5_000_000, "Testford": 3_050_000}
    assert {ln.row for ln in src.lines if ln.org == "Testshire PCC"} == {9}


def test_name_never_matches_by_prefix(ra: Path) -> None:
    reads, _ = read(ra, "testford")  # case and spacing do not matter; the whole name does
    assert {ln.org for ln in reads[0].lines} == {"Testford"}
    with pytest.raises(InputError) as exc:
        read(ra, "Testford F")
    [issue] = exc.value.issues
    assert issue.code == "org-not-found"
    assert "'Testford Forest'" in (issue.note or "")
    with pytest.raises(InputError) as exc:
        read(ra, "Testford UA")  # as another release spells it: suggested, not taken
    assert (issue := exc.value.issues[0]).code == "org-not-found"
    assert "Did you mean 'Testford'" in (issue.note or "")


def test_england_and_class_rows_are_never_bodies(ra: Path) -> None:
    for name, row in (("ENGLAND", 10), ("E92000001", 10), ("E07", 12), ("Shire Districts", 12)):
        with pytest.raises(InputError) as exc:
            read(ra, name)
        [issue] = exc.value.issues
        assert (issue.code, issue.row) == ("org-not-found", row), name


def test_several_bodies_and_no_org(ra: Path) -> None:
    with pytest.raises(InputError) as exc:
        read(ra)
    [issue] = exc.value.issues
    assert issue.code == "org-required"
    assert "3 bodies" in issue.message and "--org 'Testford' or --org E06000901" in (
        issue.note or ""
    )


def test_suppressed_chosen_body_is_an_error_others_are_not_read(xlsx: Callable[..., Path]) -> None:
    hidden = ["E4", "E07000904", "Hidden", "SD", "[x]"] + ["[x]"] * 8
    path = xlsx(ra_rows(TESTFORD, hidden), sheet="RA_LA_Data")
    reads, _ = read(path, "Testford")
    assert reads[0].total_pence == 3_050_000
    with pytest.raises(InputError) as exc:
        read(path, "Hidden")
    [issue] = exc.value.issues
    assert (issue.code, issue.row, issue.column) == ("body-suppressed", 8, "J")
    assert "Hidden (E07000904)" in issue.message


def test_control_total_mismatch_names_the_cell(xlsx: Callable[..., Path]) -> None:
    wrong = TESTFORD[:7] + [31, 0, 30.5] + TESTFORD[10:]
    path = xlsx(ra_rows(wrong), sheet="RA_LA_Data")
    reads, issues = read(path, "Testford")
    assert reads[0].total_pence == 3_050_000  # the lines are counted as published
    assert [(i.code, i.row, i.column, i.severity) for i in issues] == [
        ("control-total-mismatch", 7, "H", "warning")
    ]


def test_a_bad_cell_of_a_chosen_body_names_it(xlsx: Callable[..., Path]) -> None:
    bad = TESTFORD[:6] + ["2O.5"] + TESTFORD[7:]
    path = xlsx(ra_rows(bad), sheet="RA_LA_Data")
    with pytest.raises(InputError) as exc:
        read(path, "Testford")
    [issue] = exc.value.issues
    assert (issue.code, issue.row, issue.column, issue.value) == (
        "unparseable-amount",
        7,
        "G",
        "2O.5",
    )


# -- measures C1…C7 --------------------------------------------------------------------------

MEASURES = [
    "Employees (C1)",
    "Running Expenses (C2)",
    "Total Expenditure (C3 = C1 + C2)",
    "Sales, Fees and Charges (C4)",
    "Other Income (C5)",
    "Total Income (C6 = C4 + C5)",
    "Net Current Expenditure (C7 = C3 - C6)",
]


def ro_rows(body: list[Any]) -> list[list[Any]]:
    lines = [(11, "Highways maintenance"), (12, "Transport planning"), (90, "TOTAL HIGHWAYS")]
    row_no = [None, None, None, "Row_no"] + [n for n, _ in lines for _ in MEASURES]
    col_no = [None, None, None, "Col_no"] + [c for _ in lines for c in range(1, 8)]
    labels: list[Any] = [None, None, None, None]
    for _, label in lines:
        labels += [label] + [None] * 6
    header = ["E-code", "ONS Code", "Local authority", "Class"] + MEASURES * 3
    return [
        ["Revenue Outturn (RO2) 2031-32"],
        ["Net current expenditure (£ thousand)"],
        row_no,
        col_no,
        labels,
        header,
        body,
        [None, None, "ENGLAND"],
    ]


def test_measures_net_by_default_gross_and_income_on_request(xlsx: Callable[..., Path]) -> None:
    one = [1, 2, 3, 1, 0.5, 1.5, 1.5]  # C1…C7 of line 11
    two = [0, 4, 4, 1, 1, 2, 2]
    total = [1, 6, 7, 2, 1.5, 3.5, 3.5]
    path = xlsx(ro_rows(["E1", "E06000901", "Testford", "UA", *one, *two, *total]))
    reads, issues = read(path, "Testford")
    [src] = reads
    assert [(ln.native_code, ln.native_label, ln.extra["measure"]) for ln in src.kept] == [
        ("11", "Highways maintenance", "net"),
        ("12", "Transport planning", "net"),
    ]
    assert src.total_pence == 350_000 and issues == []
    assert "measure employees" in (src.left_out[0].reason or "")
    reads, _ = read(path, "Testford", measure="gross")
    assert reads[0].total_pence == 700_000
    reads, _ = read(path, "Testford", measure="income")
    assert reads[0].total_pence == 350_000


def test_measure_of_header_words() -> None:
    assert measure_of("Education services - Employees\n (C1)") == (
        "employees",
        "Education services",
    )
    assert measure_of("Total Capital Expenditure ") == ("gross", "")
    assert measure_of("COR1/2  Total Expenditure")[0] == "expenditure on assets"
    assert measure_of("Primary schools") == (None, "Primary schools")


def test_below_the_line_reasons() -> None:
    assert "transfer" in below_the_line_reason("Integrated Transport Authority levy *")
    assert "financing" in below_the_line_reason("Revenue Support Grant")
    assert "total" in below_the_line_reason("COUNCIL TAX REQUIREMENT (total of lines 900 to 985)")
    assert "accounting" in below_the_line_reason("Leasing payments")


# -- stacked tables, one body ------------------------------------------------------------------


def stacked_rows(shown: str) -> list[list[Any]]:
    head = [
        "Service category code",
        "Service category description",
        "Net Current Expenditure £ thousand",
    ]
    return [
        ["Worksheet 1: Revenue Account Budget (RA) 2030-31"],
        ["Select local authority by clicking on cell A4"],
        [None],
        [shown],
        ["Table 1a: Education"],
        head,
        [110, "Early years", 10],
        [120, "Primary schools", 20.25],
        [190, "TOTAL EDUCATION SERVICES", 30.25],
        ["Table 1j: Police"],
        head,
        [601, "TOTAL POLICE SERVICES", 5],
        ["Table 1n: Total Service Expenditure"],
        head,
        [799, "TOTAL SERVICE EXPENDITURE", 35.25],
        ["Table 1o: Housing Benefits"],
        head,
        [811, "Housing benefits: rent allowances", 7],
    ]


def test_stacked_tables_read_table_by_table(xlsx: Callable[..., Path]) -> None:
    path = xlsx(stacked_rows("Testford"), sheet="LA_drop-down", extra_sheets={"Notes": [["x"]]})
    reads, issues = read(path, sheet="LA_drop-down")
    [src] = reads
    assert src.org == "Testford" and src.year == "2030-31"
    assert [(ln.row, ln.native_code, ln.extra["table_name"]) for ln in src.kept] == [
        (7, "110", "Table 1a: Education"),
        (8, "120", "Table 1a: Education"),
        (12, "601", "Table 1j: Police"),
    ]
    assert src.total_pence == 3_525_000 and issues == []
    reasons = {ln.native_code: ln.reason or "" for ln in src.left_out}
    assert "subtotal" in reasons["190"] and "control total" in reasons["799"]
    assert "housing benefit" in reasons["811"]
    with pytest.raises(InputError) as exc:
        read(path, "Elsewhere", sheet="LA_drop-down")
    assert exc.value.issues[0].code == "org-not-found"


def test_stacked_sheet_showing_england_warns(xlsx: Callable[..., Path]) -> None:
    path = xlsx(stacked_rows("ENGLAND"), sheet="LA_drop-down")
    _, issues = read(path, sheet="LA_drop-down")
    assert [i.code for i in issues] == ["not-a-body"]


# -- not spending -------------------------------------------------------------------------------


def test_reserves_table_is_refused(xlsx: Callable[..., Path]) -> None:
    rows = [
        ["Revenue Account Budget (RA): reserves"],
        ["Data are reported in £ thousand."],
        [None, None, None, None, "Estimated Reserves at 1 April", None],
        [None, None, None, None, 1011, 1012],
        ["E-code", "ONS Code", "Local authority", "Class", "Schools reserves", "Other reserves"],
        ["E1", "E06000901", "Testford", "UA", 5, 6],
    ]
    with pytest.raises(InputError) as exc:
        read(xlsx(rows), "Testford")
    [issue] = exc.value.issues
    assert issue.code == "not-spending" and "reserves" in issue.message


def test_cli_exit_2_nothing_written(runner: CliRunner, db: Path, ra: Path) -> None:
    result = runner.invoke(app, ["ingest", "council", str(ra), "--org", "Nowhere", "--db", str(db)])
    assert result.exit_code == 2
    assert "ra_2030-31.xlsx › 'RA_LA_Data': no body 'Nowhere'" in result.stderr
    with Store.open(db) as store:
        assert store.sources() == []
    result = runner.invoke(
        app, ["ingest", "council", str(ra), "--org", "Testford", "--db", str(db)]
    )
    assert result.exit_code == 0, result.stderr
    with Store.open(db) as store:
        [src] = store.sources()
        assert (src["org"], src["total_pence"]) == ("Testford", 3_050_000)


def test_other_bodies_of_the_same_sheet_are_sources_of_their_own(
    runner: CliRunner, db: Path, ra: Path
) -> None:
    def ingest(*args: str) -> Any:
        return runner.invoke(app, ["ingest", "council", str(ra), *args, "--db", str(db)])

    assert ingest("--org", "Testford").exit_code == 0
    assert ingest("--org", "Testshire PCC").exit_code == 0
    again = ingest("--org", "Testford")
    assert again.exit_code == 0 and "already in the database" in again.stderr
    both = ingest("--org", "Testford", "--org", "Testford Forest")
    assert both.exit_code == 2 and "conflicting-source" not in both.stderr
    assert "already ingested from this sheet" in both.stderr
    with Store.open(db) as store:
        assert [(s["org"], s["total_pence"]) for s in store.sources()] == [
            ("Testford", 3_050_000),
            ("Testshire PCC", 5_000_000),
        ]
    assert ingest("--org", "Testford", "--org", "Testford Forest", "--replace").exit_code == 0
    with Store.open(db) as store:
        assert sorted((s["org"], s["total_pence"]) for s in store.sources()) == [
            ("Testford; Testford Forest", 3_050_000),
            ("Testshire PCC", 5_000_000),
        ]


def test_a_file_whose_only_table_is_stacked_is_read_without_sheet(
    xlsx: Callable[..., Path],
) -> None:
    path = xlsx([["Front page"]], extra_sheets={"LA_drop-down": stacked_rows("Testford")})
    reads, _ = read(path)
    [src] = reads
    assert (src.sheet, src.org, src.total_pence) == ("LA_drop-down", "Testford", 3_525_000)


def test_units_proved_only_when_the_file_states_none(xlsx: Callable[..., Path]) -> None:
    rows = ra_rows(TESTFORD)
    rows[1] = ["Revenue account"]  # no unit anywhere
    path = xlsx(rows, sheet="RA_LA_Data")
    # 30.5 as written for 1,000 people: £30.50 a head in £ thousand is the only plausible unit
    reads, _ = read(path, "Testford", population=1_000)
    assert reads[0].units == "thousands"
    assert reads[0].units_from.startswith("proved by plausibility")
    with pytest.raises(InputError) as exc:
        read(path, "Testford")
    assert exc.value.issues[0].code == "unit-not-proved"
    reads, _ = read(path, "Testford", units="millions")
    assert (reads[0].units, reads[0].units_from) == ("millions", "--units")


def test_orgs_file(runner: CliRunner, db: Path, ra: Path, tmp_path: Path) -> None:
    orgs = tmp_path / "bodies.txt"
    orgs.write_text("# the place's bodies\nTestford\nE23000903\n", encoding="utf-8")
    result = runner.invoke(
        app, ["ingest", "council", str(ra), "--orgs", str(orgs), "--db", str(db), "--dry-run"]
    )
    assert result.exit_code == 0, result.stderr
    assert "Testford; Testshire PCC" in result.stderr


def test_a_long_table_with_authority_codes_is_left_to_the_sheet_reader(
    xlsx: Callable[..., Path],
) -> None:
    rows = [
        ["Net expenditure 2030-31 (£ thousand)"],
        ["ONS code", "Authority", "Service", "Net expenditure"],
        ["E06000901", "Testford", "Education services", 12],
        ["E06000901", "Testford", "Cultural and related services", 3.5],
    ]
    reads, _ = read(xlsx(rows), "Testford")
    [src] = reads
    assert src.total_pence == 1_550_000 and src.header_row == 2
    assert [ln.native_label for ln in src.kept] == [
        "Education services",
        "Cultural and related services",
    ]


def test_an_nhs_table_with_icb_codes_that_is_not_allocations(xlsx: Callable[..., Path]) -> None:
    rows = [
        ["Spending 2030-31 (£ thousand)"],
        ["ICB code", "ICB name", "Service", "Amount"],
        ["QZZ", "NHS Testshire ICB", "Acute services", 100],
    ]
    options = ReadOptions(org="NHS Testshire ICB")
    [src], _ = read_sources("nhs", xlsx(rows), options)
    assert src.total_pence == 10_000_000
