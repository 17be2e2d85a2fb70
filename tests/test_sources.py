"""Readers: how each kind of spreadsheet is read into lines, kept or left out with a reason.

Every expected figure here is worked out in the test from the cells it writes (by
hand, with Decimal and Fraction), never taken from placecount's own output.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from placecount import api
from placecount.errors import InputError
from placecount.models import ReadOptions, SourceRead
from placecount.sources import read_source
from placecount.store import Store

ROOT = Path(__file__).resolve().parents[1]

#: Pence in one unit, written out by hand.
PENCE_PER = {"pounds": 100, "thousands": 100_000, "millions": 100_000_000}


def read(kind: str, path: Path, **options: Any) -> SourceRead:
    found, _ = read_source(kind, path, ReadOptions(**options))
    return found


def read_with_issues(kind: str, path: Path, **options: Any) -> tuple[SourceRead, list[Any]]:
    return read_source(kind, path, ReadOptions(**options))


def pence(amount: str, units: str) -> int:
    """Exact pence for an amount typed in the test as a plain decimal string."""
    value = Decimal(amount) * PENCE_PER[units]
    assert value == value.to_integral_value(), "test amounts are whole pence"
    return int(value)


def round_half_even(value: Fraction) -> int:
    """Banker's rounding of an exact fraction, written out without round()."""
    floor, rest = divmod(value.numerator, value.denominator)
    twice = 2 * rest
    if twice > value.denominator or (twice == value.denominator and floor % 2 == 1):
        return floor + 1
    return floor


def input_error(fn: Callable[[], object]) -> InputError:
    with pytest.raises(InputError) as info:
        fn()
    return info.value


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], merges: Sequence[str] = ()) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    for m in merges:
        ws.merge_cells(m)
    wb.save(path)
    return path


# --- the header: found below title rows, or pointed at ------------------------------------


def test_header_found_below_title_rows(xlsx: Callable[..., Path]) -> None:
    path = xlsx(
        [
            ["Exampleshire County Council"],
            ["Revenue outturn 2008-09"],
            [],
            ["Source: RO forms", "Unaudited"],
            [],
            ["Code", "Service", "Net expenditure (£000)"],
            ["RS01", "Education services", 100.5],
            ["RS02", "Highways and transport services", "2,000"],
        ]
    )
    found = read("council", path)
    assert found.header_row == 6
    assert [(ln.row, ln.native_code, ln.amount_pence) for ln in found.kept] == [
        (7, "RS01", pence("100.5", "thousands")),
        (8, "RS02", pence("2000", "thousands")),
    ]


TITLE_TEXT = st.text(
    alphabet="bcdfghjklmnpqrstvwxyz BCDFGHJKLMNPQRSTVWXYZ0123456789:,.", max_size=25
)
TITLE_ROW = st.lists(TITLE_TEXT, max_size=3)
AMOUNT = st.decimals(min_value=-1_000_000, max_value=1_000_000, places=1)


def _as_cell(value: Decimal, style: int) -> object:
    if style == 0:
        return float(value)
    text = f"{abs(value):,}"
    if value < 0:
        return f"({text})" if style == 1 else f"-{text}"
    return text


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    titles=st.lists(TITLE_ROW, min_size=0, max_size=8),
    amounts=st.lists(st.tuples(AMOUNT, st.integers(0, 2)), min_size=1, max_size=6),
)
def test_header_found_under_any_number_of_title_rows(
    titles: list[list[str]], amounts: list[tuple[Decimal, int]]
) -> None:
    rows: list[list[object]] = [list(t) for t in titles]
    rows.append(["Code", "Service", "Net current expenditure (£ thousand)"])
    for i, (value, style) in enumerate(amounts, start=1):
        rows.append([f"RS{i:02d}", f"Service line {i}", _as_cell(value, style)])
    hand_sum = sum((v for v, _ in amounts), Decimal(0))
    rows.append([None, "Total", float(hand_sum)])
    with tempfile.TemporaryDirectory() as tmp:
        found = read("council", write_xlsx(Path(tmp) / "titles.xlsx", rows))
    assert found.header_row == len(titles) + 1
    assert found.units == "thousands"
    assert len(found.kept) == len(amounts)
    assert found.total_pence == int(hand_sum * PENCE_PER["thousands"])
    assert [ln.reason for ln in found.left_out] == ["total row"]


UNKNOWN_HEADER_ROWS = [
    ["Exampleshire Parish Council"],
    ["Payments 2008-09"],
    ["Ref", "What for", "Cash paid out (£)"],
    ["P1", "Grass cutting", "1,250.40"],
    ["P2", "Bus shelter repairs", 310],
]


def test_unknown_header_is_not_guessed(xlsx: Callable[..., Path]) -> None:
    error = input_error(lambda: read("council", xlsx(UNKNOWN_HEADER_ROWS)))
    assert [i.code for i in error.issues] == ["no-header"]


def test_header_row_and_columns_given_for_a_header_the_schema_does_not_know(
    xlsx: Callable[..., Path],
) -> None:
    path = xlsx(UNKNOWN_HEADER_ROWS)
    found = read(
        "council", path, header_row=3, columns={"amount": "Cash paid out (£)", "label": "What for"}
    )
    assert found.header_row == 3
    assert found.units == "pounds"  # from the header's "(£)"
    assert [(ln.row, ln.column, ln.native_label, ln.amount_pence) for ln in found.kept] == [
        (4, "C", "Grass cutting", 125_040),
        (5, "C", "Bus shelter repairs", 31_000),
    ]


def test_header_row_and_column_options_through_ingest(db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx(UNKNOWN_HEADER_ROWS, name="parish.xlsx")
    result = api.ingest(
        "council",
        [path],
        db,
        org="Parish",
        header_row=3,
        columns=["amount=Cash paid out", "label=What for"],
    )
    [src] = result.sources
    assert src["header_row"] == 3
    assert Decimal(src["total_gbp"]) == Decimal("1250.40") + Decimal("310")


# --- units -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "units"),
    [
        ("Net expenditure £000", "thousands"),
        ("Net expenditure (£000)", "thousands"),
        ("Net expenditure £'000", "thousands"),
        ("Net expenditure (£ thousand)", "thousands"),
        ("Net expenditure £k", "thousands"),
        ("Net expenditure £m", "millions"),
        ("Net expenditure (£ million)", "millions"),
        ("Net expenditure £", "pounds"),
    ],
)
def test_units_from_the_header(xlsx: Callable[..., Path], header: str, units: str) -> None:
    path = xlsx([["Service", header], ["Education services", 12.5], ["Libraries", "(3)"]])
    found, issues = read_with_issues("council", path)
    assert found.units == units
    assert [ln.amount_pence for ln in found.kept] == [pence("12.5", units), -pence("3", units)]
    assert "unit-not-stated" not in [i.code for i in issues]


@pytest.mark.parametrize(
    ("title", "units"),
    [("£000", "thousands"), ("All figures £ million", "millions"), ("Amounts in £", "pounds")],
)
def test_units_from_the_title_when_the_header_says_nothing(
    xlsx: Callable[..., Path], title: str, units: str
) -> None:
    path = xlsx([["Outturn 2008-09"], [title], [], ["Service", "Net expenditure"], ["Roads", 7]])
    found, issues = read_with_issues("council", path)
    assert (found.header_row, found.units) == (4, units)
    assert [ln.amount_pence for ln in found.kept] == [pence("7", units)]
    assert "unit-not-stated" not in [i.code for i in issues]


def test_units_option_overrides_header_and_title(xlsx: Callable[..., Path]) -> None:
    path = xlsx([["£ thousand"], ["Service", "Net expenditure (£000)"], ["Roads", 7]])
    found = read("council", path, units="millions")
    assert found.units == "millions"
    assert [ln.amount_pence for ln in found.kept] == [pence("7", "millions")]


# Issue 11: units are proved, never assumed. With no unit anywhere, the candidates are
# tested against what a body could spend a head of the place; one plausible unit proves
# it, otherwise the ingest stops and asks for --units.


@pytest.mark.parametrize(
    ("written", "population", "units"),
    [
        # £1,234,567 over 1,000 people: as £000 £1,234,567 a head (no), as £ £1,235 (yes)
        ("1234567", 1_000, "pounds"),
        # 450,000 over 300,000 people: as £000 £1,500 a head (yes), as £ £1.50 (no)
        ("450000", 300_000, "thousands"),
        # 2,400 over 300,000 people: as £m £8,000 a head (yes), as £000 £8 (no)
        ("2400", 300_000, "millions"),
    ],
)
def test_unit_not_stated_is_proved_by_plausibility_a_head(
    xlsx: Callable[..., Path], written: str, population: int, units: str
) -> None:
    path = xlsx([["Outturn"], ["Code", "Service", "Net expenditure"], ["X1", "Roads", written]])
    found, issues = read_with_issues("council", path, population=population)
    assert found.units == units
    assert [ln.amount_pence for ln in found.kept] == [pence(written, units)]
    proved = [(i.code, i.severity, i.row, i.column) for i in issues if i.code == "unit-proved"]
    assert proved == [("unit-proved", "info", 2, "C")]
    assert found.units_from.startswith("proved by plausibility")


@pytest.mark.parametrize(
    ("population", "evidence"),
    [
        (None, "no population"),
        # 7 over 10,000,000 people: £0.0000007, £0.0007 or £0.70 a head: none plausible
        (10_000_000, "which no unit gives"),
    ],
)
def test_unit_not_proved_stops_and_asks_for_units(
    xlsx: Callable[..., Path], population: int | None, evidence: str
) -> None:
    path = xlsx([["Outturn"], ["Code", "Service", "Net expenditure"], ["X1", "Roads", 7]])
    with pytest.raises(InputError) as exc:
        read("council", path, population=population)
    issue = exc.value.issues[0]
    assert issue.code == "unit-not-proved"
    assert evidence in issue.message
    assert "--units" in (issue.note or "")


def test_unit_from_a_notes_sheet(tmp_path: Path) -> None:
    """The CRA database's way: the data sheet says nothing, a Metadata sheet says £'000s."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Data"
    ws.append(["Code", "Service", "Net expenditure"])
    ws.append(["X1", "Roads", 7])
    meta = wb.create_sheet("Metadata")
    meta["A1"] = "A difference of £40 million is due to rounding."
    meta["A2"] = "Levels of expenditure shown are in £'000s."
    path = tmp_path / "book.xlsx"
    wb.save(path)
    found = read("council", path)
    assert found.units == "thousands"
    assert found.units_from == "sheet 'Metadata' A2: \"Levels of expenditure shown are in £'000s.\""
    assert [ln.amount_pence for ln in found.kept] == [pence("7", "thousands")]


def test_unit_from_cells_written_in_pounds(xlsx: Callable[..., Path]) -> None:
    path = xlsx([["Service", "Net expenditure"], ["Roads", "£1,021,386,000"], ["Parks", 5]])
    found = read("council", path)
    assert found.units == "pounds"
    assert "A2" not in found.units_from and "B2" in found.units_from
    assert [ln.amount_pence for ln in found.kept] == [102_138_600_000, 500]


def test_title_rows_that_disagree_on_the_unit_are_an_error(xlsx: Callable[..., Path]) -> None:
    path = xlsx([["£ thousand"], ["£ million"], ["Service", "Net expenditure"], ["Roads", 7]])
    with pytest.raises(InputError) as exc:
        read("council", path)
    assert exc.value.issues[0].code == "unit-ambiguous"


# --- merged header cells -----------------------------------------------------------------


def test_two_row_header_with_merged_cells(xlsx: Callable[..., Path]) -> None:
    """The NHS example's shape: amount merged down C4:C5, a group heading over A4:B4."""
    rows: list[list[object]] = [
        ["NHS bodies: net expenditure by programme of care, 2008-09"],
        ["Unaudited outturn"],
        [],
        ["Body and programme", None, "Net expenditure (£000)"],
        ["Organisation", "Programme of care", None],
        ["NHS Testshire", "Acute services", 298450],
        ["NHS Testshire", "Prescribing", 71230.75],
        ["Testshire Hospitals NHS Trust", "Specialised commissioning", "2,975"],
        [None, "Sub-total", 372655.75],
    ]
    found = read("nhs", xlsx(rows, merges=["A4:B4", "C4:C5"]))
    assert (found.header_row, found.units) == (5, "thousands")
    assert [(ln.row, ln.column, ln.org, ln.native_label, ln.amount_pence) for ln in found.kept] == [
        (6, "C", "NHS Testshire", "Acute services", pence("298450", "thousands")),
        (7, "C", "NHS Testshire", "Prescribing", pence("71230.75", "thousands")),
        (
            8,
            "C",
            "Testshire Hospitals NHS Trust",
            "Specialised commissioning",
            pence("2975", "thousands"),
        ),
    ]
    assert [(ln.row, ln.reason) for ln in found.left_out] == [(9, "total row")]


# --- codes stay text -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_codes_keep_their_leading_zeros(
    db: Path, xlsx: Callable[..., Path], csv_file: Callable[..., Path], fmt: str
) -> None:
    if fmt == "xlsx":
        path = xlsx(
            [
                ["Code", "Service", "Net expenditure (£000)"],
                ["0412", "Education services", 5],
                ["007", "Libraries", 1],
            ],
            name="codes.xlsx",
        )
    else:
        path = csv_file(
            "Code,Service,Net expenditure (£000)\r\n0412,Education services,5\r\n"
            "007,Libraries,1\r\n",
            name="codes.csv",
        )
    assert [ln.native_code for ln in read("council", path).kept] == ["0412", "007"]
    api.ingest("council", [path], db, org="Testshire")
    with Store.open(db) as store:
        stored = store.con.execute("SELECT native_code FROM lines ORDER BY excel_row").fetchall()
    assert stored == [("0412",), ("007",)]


# --- CSV encodings and delimiters, parquet ------------------------------------------------

DISTRICT_CSV = (
    "Riverton District Council,,\r\n"
    "Revenue outturn 2008-09,,\r\n"
    ",,\r\n"
    "Service,Net expenditure £,Notes\r\n"
    'Waste collection,"£3,214,560",\r\n'
    'Recreation and sport,"£2,450,000",\r\n'
    'Elections,"(£12,500)",by-election\r\n'
    "Court services,–,transferred\r\n"
    'Total,"£5,652,060",\r\n'
    "Figures are unaudited.,,\r\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_pound_sign_survives_every_encoding(
    csv_file: Callable[..., Path], encoding: str
) -> None:
    path = csv_file(DISTRICT_CSV, name=f"district_{encoding}.csv", encoding=encoding)
    found = read("council", path)
    assert (found.header_row, found.units) == (4, "pounds")
    assert [(ln.native_label, ln.amount_text, ln.amount_pence) for ln in found.kept] == [
        ("Waste collection", "£3,214,560", 321_456_000),
        ("Recreation and sport", "£2,450,000", 245_000_000),
        ("Elections", "(£12,500)", -1_250_000),
        ("Court services", "–", 0),
    ]
    assert found.total_pence == (3_214_560 + 2_450_000 - 12_500) * 100
    assert [(ln.row, ln.reason) for ln in found.left_out] == [
        (9, "total row"),
        (10, "note under the table"),
    ]


def test_csv_separated_by_semicolons(csv_file: Callable[..., Path]) -> None:
    text = (
        "Riverton District Council;;\n"
        "Service;Net expenditure £;Notes\n"
        "Waste collection;£3,214,560;collected weekly\n"
        "Homelessness;645120;\n"
        "Elections;(£12,500);\n"
        "Total;£3,847,180;\n"
    )
    found = read("council", csv_file(text, name="semi.csv"))
    assert found.header_row == 2
    assert [(ln.native_label, ln.amount_pence) for ln in found.kept] == [
        ("Waste collection", 321_456_000),
        ("Homelessness", 64_512_000),
        ("Elections", -1_250_000),
    ]


def test_parquet_input(tmp_path: Path) -> None:
    table = pa.table(
        {
            "Code": ["0412", "RS02", None],
            "Service": ["Education services", "Highways and transport services", "Total"],
            "Net expenditure (£000)": [412345.6, 38210.4, 450556.0],
        }
    )
    path = tmp_path / "outturn.parquet"
    pq.write_table(table, path)
    found = read("council", path)
    assert (found.header_row, found.units) == (1, "thousands")
    assert [(ln.row, ln.native_code, ln.amount_pence) for ln in found.kept] == [
        (2, "0412", pence("412345.6", "thousands")),
        (3, "RS02", pence("38210.4", "thousands")),
    ]
    assert [(ln.row, ln.reason) for ln in found.left_out] == [(4, "total row")]


# --- rows: totals, notes, dashes, blanks, brackets, numbers as text ------------------------


def test_rows_left_out_and_odd_amounts(xlsx: Callable[..., Path]) -> None:
    rows: list[list[object]] = [
        ["Testshire County Council: revenue outturn 2008-09"],
        ["Service", "Net expenditure (£000)"],
        ["Education services", 100],
        ["Sub-total", 100],
        ["Highways and transport services", "–"],
        ["Court services", "-"],
        ["Housing services", None],
        ["Other services", "(1,234)"],
        ["Cultural and related services", "2,500.5"],
        ["Central services", " 42 "],
        ["Total", 1408.5],
        ["TOTAL", 1408.5],
        ["Grand total", 1408.5],
        [],
        ["Note: figures are net of specific grants."],
        ["1. Court services moved to the Ministry of Justice."],
    ]
    found = read("council", xlsx(rows))
    assert [(ln.row, ln.native_label, ln.amount_pence) for ln in found.kept] == [
        (3, "Education services", pence("100", "thousands")),
        (5, "Highways and transport services", 0),
        (6, "Court services", 0),
        (8, "Other services", -pence("1234", "thousands")),
        (9, "Cultural and related services", pence("2500.5", "thousands")),
        (10, "Central services", pence("42", "thousands")),
    ]
    assert [(ln.row, ln.reason) for ln in found.left_out] == [
        (4, "total row"),
        (7, "no amount"),
        (11, "total row"),
        (12, "total row"),
        (13, "total row"),
        (15, "note under the table"),
        (16, "note under the table"),
    ]
    assert found.total_pence == pence("1408.5", "thousands")


# --- PESA wide table ----------------------------------------------------------------------

PESA_REGIONS = ["North East", "East Midlands", "London", "England"]
#: (label, cells for the four regions), as a CRA table prints them (£ million).
PESA_WIDE: list[tuple[str, tuple[str, str, str, str]]] = [
    ("1. General public services", ("350.1", "412.6", "901.3", "5000.2")),
    (
        "1.1 Executive and legislative organs, financial and fiscal affairs, external affairs",
        ("250.0", "301.2", "700.7", "3600.1"),
    ),
    ("1.3 General services", ("90.1", "98.3", "190.5", "1300.0")),
    ("LA data", ("10.0", "13.1", "10.1", "100.1")),
    ("3. Public order and safety", ("800.5", "712.3", "1500.9", "9000.0")),
    ("of which: police", ("400.2", "402.5", "700.0", "4000.0")),
    ("3.1 Police services", ("400.2", "402.5", "700.0", "4000.0")),
    ("3.3 Law courts", ("400.3", "309.8", "800.9", "5000.0")),
    ("5. Environment protection", ("77.7", "98.4", "120.3", "800.8")),
    ("7. Health", ("5000.0", "6866.8", "9000.0", "70000.0")),
    ("7.1 Medical services", ("4900.0", "6711.4", "8800.0", "68000.0")),
    ("7.3 Central and other health services", ("100.0", "155.4", "200.0", "2000.0")),
    ("8. Recreation, culture and religion", ("120.4", "141.23", "300.1", "1600.2")),
    ("10. Social protection", ("7000.0", "5011.3", "9000.0", "80000.0")),
    ("10.2 Old age", ("6000.0", "5012.8", "8000.0", "70000.0")),
    ("10.5 Unemployment", ("1000.0", "-1.5", "1000.0", "10000.0")),
    ("Total identifiable expenditure on services", ("13348.7", "14242.59", "20721.3", "166401.2")),
]
#: Rows (Excel numbering) counted, and left out with the reason's key words.
PESA_KEPT_ROWS = [6, 7, 8, 11, 12, 13, 15, 16, 17, 19, 20]
PESA_LEFT_OUT = {
    5: "function total",  # 1. has sub-functions
    9: "function total",
    10: "of which",
    14: "function total",
    18: "function total",
    21: "total row",
    23: "",  # the source footnote: no amount, so not counted (any reason will do)
}


def pesa_wide_rows() -> list[list[object]]:
    rows: list[list[object]] = [
        [
            "Table 9.15 Central government identifiable expenditure on services by function, "
            "country and region, 2008-09"
        ],
        ["£ million"],
        [],
        [None, *PESA_REGIONS],
    ]
    for label, cells in PESA_WIDE:
        rows.append([label, *(float(c) for c in cells)])
    rows.append([])
    rows.append(["Source: HM Treasury, PESA 2010, Country and Regional Analysis."])
    return rows


def expected_pesa_pence(region: str, share: Fraction) -> dict[int, int]:
    """Each counted row's pence: the region's cell × £1m × 100 × share, rounded half-even."""
    col = PESA_REGIONS.index(region)
    out = {}
    for excel_row, (_, cells) in enumerate(PESA_WIDE, start=5):
        if excel_row in PESA_KEPT_ROWS:
            out[excel_row] = round_half_even(Fraction(Decimal(cells[col])) * 100_000_000 * share)
    return out


@pytest.mark.parametrize(
    ("region", "share_text"), [("East Midlands", "0.0724"), ("London", "0.333333")]
)
def test_pesa_wide_is_the_share_of_the_region_line_by_line(
    xlsx: Callable[..., Path], region: str, share_text: str
) -> None:
    share = Fraction(Decimal(share_text))
    found = read(
        "pesa",
        xlsx(pesa_wide_rows(), name="cra.xlsx"),
        region=region,
        share=share,
        share_text=share_text,
    )
    column = "BCDE"[PESA_REGIONS.index(region)]
    expected = expected_pesa_pence(region, share)
    assert {ln.row: ln.amount_pence for ln in found.kept} == expected
    assert {ln.column for ln in found.kept} == {column}
    assert found.total_pence == sum(expected.values())
    assert (found.header_row, found.units, found.region, found.part) == (
        4,
        "millions",
        region,
        "central",
    )
    left_out = {ln.row: ln.reason or "" for ln in found.left_out}
    assert sorted(left_out) == sorted(PESA_LEFT_OUT)
    for row, words in PESA_LEFT_OUT.items():
        assert words in left_out[row].lower(), (row, left_out[row])


def test_pesa_wide_functions_sub_functions_and_la_data(xlsx: Callable[..., Path]) -> None:
    share = Fraction(1, 10)
    found = read("pesa", xlsx(pesa_wide_rows()), region="East Midlands", share=share)
    assert [(ln.native_code, ln.native_label) for ln in found.kept] == [
        ("1.1", "Executive and legislative organs, financial and fiscal affairs, external affairs"),
        ("1.3", "General services"),
        ("1.LA", "LA data"),
        ("3.1", "Police services"),
        ("3.3", "Law courts"),
        ("5", "Environment protection"),  # a function with no sub-functions is kept whole
        ("7.1", "Medical services"),
        ("7.3", "Central and other health services"),
        ("8", "Recreation, culture and religion"),
        ("10.2", "Old age"),
        ("10.5", "Unemployment"),
    ]


def test_pesa_of_which_pasted_into_a_function_label(xlsx: Callable[..., Path]) -> None:
    """Published files paste "of which:" into function labels: still the function's total."""
    rows: list[list[object]] = [
        ["Central government spending, £ million"],
        [None, "North East", "East Midlands", "London"],
        ["4. Economic affairs - of which: enterprise and economic development", 1, 10, 1],
        ["4.1 General economic, commercial and labour affairs", 1, 4, 1],
        ["4.5 Transport", 1, 6, 1],
        ["8. Recreation, culture and religion", 1, 2, 1],
    ]
    found = read("pesa", xlsx(rows), region="East Midlands", share=Fraction(1))
    assert [(ln.row, ln.native_code, ln.amount_pence) for ln in found.kept] == [
        (4, "4.1", pence("4", "millions")),
        (5, "4.5", pence("6", "millions")),
        (6, "8", pence("2", "millions")),
    ]
    assert [ln.row for ln in found.left_out] == [3]


def test_pesa_rounding_is_half_even(xlsx: Callable[..., Path]) -> None:
    """Half pennies go to the even penny: 1.5p → 2p, 2.5p → 2p, 3.5p → 4p, -2.5p → -2p."""
    rows: list[list[object]] = [
        ["Central government spending by function and region"],
        [None, "North East", "East Midlands", "London"],
        ["5. Environment protection", 1, "0.03", 1],
        ["6. Housing and community amenities", 1, "0.05", 1],
        ["8. Recreation, culture and religion", 1, "0.07", 1],
        ["9. Education", 1, "(0.05)", 1],
    ]
    found = read("pesa", xlsx(rows), region="East Midlands", share=Fraction(1, 2), units="pounds")
    assert [ln.amount_pence for ln in found.kept] == [2, 2, 4, -2]


def test_pesa_population_share_is_exact(db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx(pesa_wide_rows(), name="cra.xlsx")
    api.ingest(
        "pesa",
        [path],
        db,
        region="East Midlands",
        place_population=512_300,
        region_population=4_400_000,
    )
    expected = expected_pesa_pence("East Midlands", Fraction(512_300, 4_400_000))
    with Store.open(db) as store:
        stored = dict(
            store.con.execute("SELECT excel_row, amount_pence FROM lines WHERE included").fetchall()
        )
        basis = store.con.execute("SELECT share_basis FROM sources").fetchone()
    assert stored == expected
    assert "512,300" in basis[0] and "4,400,000" in basis[0]


def test_pesa_needs_a_region(xlsx: Callable[..., Path]) -> None:
    path = xlsx(pesa_wide_rows())
    error = input_error(lambda: read("pesa", path, share=Fraction(1, 10)))
    assert [(i.code, i.row) for i in error.issues] == [("region-required", 4)]


def test_pesa_region_must_be_a_column(xlsx: Callable[..., Path]) -> None:
    path = xlsx(pesa_wide_rows())
    error = input_error(lambda: read("pesa", path, region="Atlantis", share=Fraction(1, 10)))
    assert [(i.code, i.row) for i in error.issues] == [("region-not-found", 4)]
    assert "East Midlands" in (error.issues[0].note or "")


def test_pesa_needs_a_share(xlsx: Callable[..., Path]) -> None:
    path = xlsx(pesa_wide_rows())
    error = input_error(lambda: read("pesa", path, region="East Midlands"))
    assert [i.code for i in error.issues] == ["share-required"]


# --- PESA long extract ----------------------------------------------------------------------

PESA_LONG_HEADER = [
    "Department",
    "Function",
    "Sub-function",
    "Region",
    "Year",
    "CG/LG/PC",
    "Capital or current",
    "Amount (£ million)",
]
PESA_LONG: list[tuple[str, str, str, str, str, str, str, str]] = [
    (
        "Department of Health",
        "7. Health",
        "7.1 Medical services",
        "East Midlands",
        "2008-09",
        "CG",
        "Current",
        "6711.4",
    ),
    (
        "Department of Health",
        "7. Health",
        "7.1 Medical services",
        "London",
        "2008-09",
        "CG",
        "Current",
        "9000.1",
    ),
    (
        "Department for Transport",
        "4. Economic affairs",
        "4.5 Transport",
        "East Midlands",
        "2008-09",
        "LG",
        "Capital",
        "813.2",
    ),
    (
        "Department for Transport",
        "4. Economic affairs",
        "4.5 Transport",
        "East Midlands",
        "2007-08",
        "LG",
        "Capital",
        "700.05",
    ),
    (
        "Department for Transport",
        "4. Economic affairs",
        "4.5 Transport",
        "East Midlands",
        "2008-09",
        "PC",
        "Capital",
        "120.5",
    ),
    (
        "Communities and Local Government",
        "10. Social protection",
        "10.7 Social exclusion n.e.c.",
        "East Midlands",
        "2008-09",
        "LG",
        "Current",
        "796.9",
    ),
    (
        "Communities and Local Government",
        "10. Social protection",
        "10.7 Social exclusion n.e.c.",
        "West Midlands",
        "2008-09",
        "LG",
        "Current",
        "801.1",
    ),
    (
        "Work and Pensions",
        "10. Social protection",
        "10.2 Old age",
        "East Midlands",
        "2007-08",
        "CG",
        "Current",
        "4900.3",
    ),
]
PART_OF = {"CG": "central", "LG": "local", "PC": "public-corporation"}


def pesa_long_file(xlsx: Callable[..., Path]) -> Path:
    rows: list[list[object]] = [["PESA Country and Regional Analysis: database extract"], []]
    rows.append(list(PESA_LONG_HEADER))
    rows.extend([*r[:7], float(r[7])] for r in PESA_LONG)
    return xlsx(rows, name="cra_extract.xlsx")


@pytest.mark.parametrize(
    ("year", "region"),
    [("2008-09", "East Midlands"), ("2007-08", "East Midlands"), ("2008-09", "West Midlands")],
)
def test_pesa_long_extract_filters_region_and_year(
    xlsx: Callable[..., Path], year: str, region: str
) -> None:
    share = Fraction(Decimal("0.1164"))
    found = read("pesa", pesa_long_file(xlsx), region=region, year=year, share=share)
    expected = [
        (
            excel_row,
            sub.split(" ", 1)[0],
            PART_OF[part],
            round_half_even(Fraction(Decimal(amount)) * 100_000_000 * share),
        )
        for excel_row, (_, _, sub, reg, yr, part, _, amount) in enumerate(PESA_LONG, start=4)
        if reg == region and yr == year
    ]
    assert expected  # the table has rows for each case
    assert [(ln.row, ln.native_code, ln.part, ln.amount_pence) for ln in found.kept] == expected
    assert found.total_pence == sum(e[3] for e in expected)
    assert found.year == year


def test_pesa_long_extract_with_several_years_needs_year(xlsx: Callable[..., Path]) -> None:
    path = pesa_long_file(xlsx)
    error = input_error(lambda: read("pesa", path, region="East Midlands", share=Fraction(1, 10)))
    assert [i.code for i in error.issues] == ["bad-option"]
    assert "--year" in error.issues[0].message


def test_pesa_long_extract_needs_region_and_knows_the_regions(xlsx: Callable[..., Path]) -> None:
    path = pesa_long_file(xlsx)
    no_region = input_error(lambda: read("pesa", path, year="2008-09", share=Fraction(1, 10)))
    assert [i.code for i in no_region.issues] == ["region-required"]
    unknown = input_error(
        lambda: read("pesa", path, region="Atlantis", year="2008-09", share=Fraction(1, 10))
    )
    assert [i.code for i in unknown.issues] == ["region-not-found"]


def test_pesa_long_extract_part_is_stored_per_line(db: Path, xlsx: Callable[..., Path]) -> None:
    api.ingest("pesa", [pesa_long_file(xlsx)], db, region="East Midlands", share="0.5")
    with Store.open(db) as store:
        stored = store.con.execute(
            "SELECT excel_row, part FROM lines WHERE included ORDER BY excel_row"
        ).fetchall()
    # The project year is 2008-09, so only those East Midlands rows are read.
    assert stored == [(4, "central"), (6, "local"), (8, "public-corporation"), (9, "local")]


# --- NDPBs ----------------------------------------------------------------------------------


def test_ndpb_exclusions_each_with_its_reason(xlsx: Callable[..., Path]) -> None:
    rows: list[list[object]] = [
        ["Non-departmental public bodies: expenditure in Testshire 2008-09"],
        ["£000"],
        ["Body", "Sponsor department", "Status", "Direct connection", "Expenditure in area"],
        ["Environment Agency", "Defra", "Executive", "Yes", 18230],
        ["Low Pay Commission", "BIS", "Advisory", "Yes", 15],
        ["Employment Tribunals", "BIS", "Tribunal", "Yes", 640],
        ["British Council", "Foreign and Commonwealth Office", "Executive", "Yes", 120],
        ["CDC Group", "DfID", "Executive", "Yes", 75],
        ["British Museum", "DCMS", "Executive", "No", 210],
        ["Sport England", "DCMS", "Executive", "Yes", 2870.5],
    ]
    found = read("ndpb", xlsx(rows))
    assert [(ln.row, ln.org, ln.amount_pence) for ln in found.kept] == [
        (4, "Environment Agency", pence("18230", "thousands")),
        (10, "Sport England", pence("2870.5", "thousands")),
    ]
    reasons = {ln.row: (ln.reason or "").lower() for ln in found.left_out}
    assert sorted(reasons) == [5, 6, 7, 8, 9]
    assert "advisory" in reasons[5]
    assert "tribunal" in reasons[6]
    assert "foreign and commonwealth office" in reasons[7]
    assert "dfid" in reasons[8]
    assert "no direct connection" in reasons[9]


# --- generic: the sheet's own COFOG codes -------------------------------------------------


def test_generic_cofog_codes_are_normalised(db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx(
        [
            ["European Regional Development Fund: Objective 2 payments in Testshire"],
            ["COFOG code", "Description", "Amount (£)"],
            ["7.3", "Hospital equipment grant", 1000],
            ["07.3", "Community hospital", "250.50"],
            ["10.2.0", "Older people's day centre", 99.99],
        ],
        name="erdf.xlsx",
    )
    api.ingest("generic", [path], db, org="ERDF")
    with Store.open(db) as store:
        stored = store.con.execute(
            "SELECT l.excel_row, a.cofog_code, a.amount_pence FROM allocations a "
            "JOIN lines l USING (line_id) ORDER BY l.excel_row"
        ).fetchall()
    assert stored == [(3, "07.3", 100_000), (4, "07.3", 25_050), (5, "10.2.0", 9_999)]


GENERIC_BAD_CODE = [
    ["COFOG code", "Description", "Amount (£)"],
    ["07.3", "Community hospital", 100],
    ["7.9", "Something else", 50],
]


def test_generic_unknown_cofog_code_is_an_error_with_the_row(
    db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(GENERIC_BAD_CODE, name="bad.xlsx")
    error = input_error(lambda: api.ingest("generic", [path], db, org="ERDF"))
    assert [(i.code, i.row, i.value) for i in error.issues] == [("unknown-cofog-code", 3, "7.9")]
    with Store.open(db) as store:
        assert store.con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_generic_unknown_cofog_code_names_the_column(db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx(GENERIC_BAD_CODE, name="bad.xlsx")
    error = input_error(lambda: api.ingest("generic", [path], db, org="ERDF"))
    assert [(i.row, i.column) for i in error.issues] == [(3, "A")]


# --- header matching: whole cells first, never a word inside another (issue 11) ----------


def test_a_column_that_only_contains_an_alias_is_never_taken(xlsx: Callable[..., Path]) -> None:
    """A per-borough table: 'Winter service' holds the word 'service' but is no label column.

    Taking it made every borough's row a line of one council, a count 55 times too high.
    """
    path = xlsx(
        [
            ["Local authority", "Winter service", "Street lighting", "Net current expenditure"],
            ["Barnet", 1200, 3400, 4600],
            ["Bexley", 900, 2100, 3000],
        ]
    )
    with pytest.raises(InputError) as exc:
        read("council", path)
    issue = exc.value.issues[0]
    assert issue.code == "no-header"
    assert "column B 'Winter service' only partly fits 'label'" in (issue.note or "")
    assert "--column" in (issue.note or "")


@pytest.mark.parametrize(
    ("header", "fits"),
    [
        ("Net expenditure 2008-09", True),
        ("Actual net expenditure", True),
        ("Net expenditure (final outturn)", True),
        ("Net expenditure on winter gritting", False),
    ],
)
def test_an_alias_with_years_or_status_words_is_a_strong_fit(
    xlsx: Callable[..., Path], header: str, fits: bool
) -> None:
    path = xlsx([["£000"], ["Service", header], ["Roads", 7]])
    if fits:
        found = read("council", path)
        assert found.columns == {"label": "A", "amount": "B"}
        assert [ln.amount_pence for ln in found.kept] == [pence("7", "thousands")]
    else:
        with pytest.raises(InputError) as exc:
            read("council", path)
        assert exc.value.issues[0].code == "no-header"


def test_two_columns_fitting_a_role_equally_are_refused(xlsx: Callable[..., Path]) -> None:
    path = xlsx(
        [
            ["£000"],
            ["Service 2008-09", "Service 2009-10", "Net expenditure"],
            ["Roads", "Highways", 7],
        ]
    )
    with pytest.raises(InputError) as exc:
        read("council", path)
    issue = exc.value.issues[0]
    assert (issue.code, issue.row) == ("ambiguous-column", 2)
    assert "A 'Service 2008-09', B 'Service 2009-10'" in issue.message
    assert issue.note == "Say which with --column label='Service 2008-09'."


# --- years checked (issue 11) ------------------------------------------------------------


def test_a_file_for_another_year_is_refused_unless_year_says_so(
    xlsx: Callable[..., Path],
) -> None:
    path = xlsx(
        [["Revenue Account budget 2024-25"], ["Service", "Net expenditure £000"], ["Roads", 7]]
    )
    with pytest.raises(InputError) as exc:
        read("council", path, project_year="2008-09")
    issue = exc.value.issues[0]
    assert issue.code == "year-mismatch"
    assert "2024-25 (the title A1 'Revenue Account budget 2024-25' says so)" in issue.message
    assert "--year 2024-25" in (issue.note or "")
    found = read("council", path, project_year="2008-09", year="2024-25")
    assert found.year == "2024-25"
    assert [ln.amount_pence for ln in found.kept] == [pence("7", "thousands")]


def test_a_year_column_keeps_only_the_counts_year(xlsx: Callable[..., Path]) -> None:
    path = xlsx(
        [
            ["Financial year", "Service", "Net expenditure £000"],
            ["2007-08", "Roads", 5],
            ["2008-09", "Roads", 7],
            ["2008/09", "Parks", 2],
        ]
    )
    found, issues = read_with_issues("council", path, project_year="2008-09")
    assert [(ln.row, ln.amount_pence) for ln in found.kept] == [
        (3, pence("7", "thousands")),
        (4, pence("2", "thousands")),
    ]
    assert [(ln.row, ln.reason) for ln in found.left_out] == [(2, "another year (2007-08)")]
    assert "other-years-left-out" in [i.code for i in issues]


def test_a_year_column_of_several_years_with_no_count_year_is_an_error(
    xlsx: Callable[..., Path],
) -> None:
    path = xlsx(
        [
            ["Year", "Service", "Net expenditure £000"],
            ["2007-08", "Roads", 5],
            ["2008-09", "Roads", 7],
        ]
    )
    with pytest.raises(InputError) as exc:
        read("council", path)
    assert exc.value.issues[0].code == "several-years"
    assert exc.value.issues[0].note == "Say which with --year 2008-09."
