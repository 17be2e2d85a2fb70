"""The bundled mapping tables on the files bodies really publish (issue 13).

Each expected figure is worked out here from the file with its own code (openpyxl and
Decimal, or the file's own COFOG column), never from placecount's output. The files are
not part of the project: the tests are skipped when they are absent.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from placecount.cofog import load_mapping, map_lines
from placecount.models import ReadOptions, SourceRead
from placecount.sources import read_sources

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
CRA_2018 = REAL / "pesa" / "CRA_2018_Database_for_Publication_rvsd.xlsx"
CRA_2010 = REAL / "pesa" / "pesa_2010_database_tables_chapter9.xlsx"
PESA_2024 = REAL / "pesa" / "pesa2024_chapter9.xlsx"
ONS = REAL / "ons" / "ons_regional_expenditure_fye2023.xlsx"
OPENSPENDING_MAP = REAL / "cofog" / "cra_cofog_map.json"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the published file {path.name} is not here (see the project's sources)")
    return path


@cache
def sheet_rows(path: Path, sheet: str | None = None) -> list[tuple[Any, ...]]:
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        return [tuple(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def pence(value: object, unit: int) -> int:
    """A cell in pounds × unit, as exact pence."""
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return int((d * unit * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@cache
def mapped(kind: str, path: Path, **kw: Any) -> list[tuple[SourceRead, Any, Any]]:
    """Each source read from the file, with its table after mapping and its allocations."""
    opts = ReadOptions(share=Fraction(1), share_text="1", **kw)
    reads, _ = read_sources(kind, need(path), opts)
    out = []
    for read in reads:
        table, allocations, _ = map_lines(
            read.table, load_mapping(kind), read.file_name, read.sheet
        )
        out.append((read, table, allocations))
    return out


def coverage(results: list[tuple[SourceRead, Any, Any]]) -> tuple[int, int, dict[str, int]]:
    """Money of the lines counted that a row maps, all of it, and the rest by label."""
    done = total = 0
    rest: dict[str, int] = defaultdict(int)
    for _, table, _ in results:
        for row in table.to_pylist():
            if not row["included"] or row["amount_pence"] is None:
                continue
            total += abs(row["amount_pence"])
            if row["mapped"]:
                done += abs(row["amount_pence"])
            else:
                rest[row["native_label"] or row["native_code"] or ""] += row["amount_pence"]
    return done, total, dict(rest)


# --- OpenSpending's CRA → COFOG map ---------------------------------------------------------

_NUMBER = re.compile(r"^\s*(\d{1,2}(?:\.\d{1,2})?)\.?\s+(.+)$")

#: Where this table keeps a CRA line at a broader level than OpenSpending's code, because
#: the line spans the finer codes (DOMAIN.md: keep the level the source supports). Each
#: is (OpenSpending's code, its sub-function label) → ours.
BROADER_ON_PURPOSE = {
    ("07.1", "Medical services"): "07",
    ("07.1", "7. Medical services"): "07",
    ("07.4", "Central and other health services"): "07",
    ("07.4", "7. Central and other health services"): "07",
    (
        "01.1.1",
        "1.1 Executive and legislative organs, financial and fiscal affairs, external affairs",
    ): "01.1",
    ("04.2.3", "of which: other agriculture, food and fisheries policy"): "04.2",
    ("04.5.1", "of which: local public transport"): "04.5",
    ("04.5.5", "of which: other transport"): "04.5",
}
#: Where this table is finer than OpenSpending's map: its LA data line under the agriculture
#: breakdown of function 4 is agriculture (04.2), as its other spelling's is in the map.
FINER_ON_PURPOSE = {
    ("04", "of which: agriculture, forestry, fishing and hunting", "LA data sub_function"): "04.2"
}
#: Lines OpenSpending gave a code and this table marks outside a place count.
OUTSIDE_ON_PURPOSE = {
    "AME margin",
    "Departmental unallocated provision",
    "Reserve and other funds",
    "GNI-based contribution (net of abatement and collection costs)",
    "EU entries",
    "EU transactions",
    "Attributed aid and CFSP",
    "EC receipts",
}


#: The map's lines this table gives exactly OpenSpending's code.
AGREE = 97


def test_every_line_of_openspendings_map_is_mapped_and_agrees_or_differs_on_purpose() -> None:
    entries = json.loads(need(OPENSPENDING_MAP).read_text(encoding="utf-8"))
    assert len(entries) == 116
    pesa = load_mapping("pesa")
    broader, finer, outside, agree = {}, {}, set(), 0
    for os_code, function, sub in entries:
        m = _NUMBER.match(sub)
        code, label = (m.group(1), m.group(2)) if m else (None, sub)
        hit = pesa.find(code, label, function)
        assert hit is not None, (function, sub)
        rows, _ = hit
        if rows[0].treatment:
            assert rows[0].treatment == "outside"
            outside.add(sub)
            continue
        [ours] = [r.cofog_code for r in rows]
        assert ours is not None
        assert ours[:2] == os_code[:2], (function, sub, ours, os_code)
        if ours == os_code:
            agree += 1
        elif ours.startswith(os_code + "."):
            finer[(os_code, function, sub)] = ours
        else:
            # broader, never finer or beside: OpenSpending's code lies inside ours
            assert os_code.startswith(ours + "."), (function, sub, ours, os_code)
            broader[(os_code, sub)] = ours
    assert broader == BROADER_ON_PURPOSE
    assert finer == FINER_ON_PURPOSE
    assert outside == OUTSIDE_ON_PURPOSE
    assert agree == AGREE


def test_openspending_la_data_lines_map_to_their_functions_division() -> None:
    """The map's 14 'LA data sub_function' lines: each under its own function, never 01."""
    entries = json.loads(need(OPENSPENDING_MAP).read_text(encoding="utf-8"))
    pesa = load_mapping("pesa")
    la = [(c, f) for c, f, s in entries if s == "LA data sub_function"]
    assert len(la) == 14
    for os_code, function in la:
        rows = pesa.lookup(None, "LA data sub_function", function)
        assert rows is not None, function
        assert [r.cofog_code for r in rows] == [
            FINER_ON_PURPOSE.get((os_code, function, "LA data sub_function"), os_code)
        ], function


# --- CRA 2018: North West against the file's own COFOG Level 0 ------------------------------


def cra_2018_by_row(region: str) -> dict[int, tuple[str, str, int]]:
    """Excel row → (COFOG Level 0 division as '01'…, HMT Function, 2017-18 pence)."""
    rows = sheet_rows(need(CRA_2018), "CRA 2018 database")
    at = {h: i for i, h in enumerate(rows[0])}
    out = {}
    for n, r in enumerate(rows[1:], start=2):
        if r[at["NUTS Region"]] != region or r[at["2017-18"]] is None:
            continue
        level0 = str(r[at["COFOG Level 0"]])
        division = f"{int(level0.split('.')[0]):02d}" if level0[0].isdigit() else level0
        out[n] = (division, str(r[at["HMT Function"]]), pence(r[at["2017-18"]], 1000))
    return out


def test_cra_2018_north_west_by_division_agrees_with_the_files_cofog_level_0_to_the_penny() -> None:
    expected_rows = cra_2018_by_row("ENGLAND_North West")
    expected: dict[str, int] = defaultdict(int)
    for division, _, p in expected_rows.values():
        expected[division] += p
    assert sum(expected.values()) == 71_185_419_000_00  # the figure recorded with the file
    [(_, table, allocations)] = mapped(
        "pesa", CRA_2018, region="North West", year="2017-18", units="thousands"
    )
    excel_rows = table.column("row").to_pylist()
    got: dict[str, int] = defaultdict(int)
    for index, code, amount, rule in zip(
        allocations.column("line_index").to_pylist(),
        allocations.column("cofog_code").to_pylist(),
        allocations.column("amount_pence").to_pylist(),
        allocations.column("rule").to_pylist(),
        strict=True,
    ):
        got[code[:2]] += amount
        # every line in the division the file itself gives it, and the row that said so named
        assert code[:2] == expected_rows[excel_rows[index]][0], (excel_rows[index], code)
        assert re.fullmatch(r"pesa\.csv line \d+, by .+", rule), rule
    assert dict(got) == dict(expected)
    assert (
        coverage(mapped("pesa", CRA_2018, region="North West", year="2017-18", units="thousands"))[
            2
        ]
        == {}
    )


def test_cra_2018_health_lines_are_mapped_by_their_lettered_codes() -> None:
    [(_, table, allocations)] = mapped(
        "pesa", CRA_2018, region="North West", year="2017-18", units="thousands"
    )
    codes = table.column("native_code").to_pylist()
    rules = {
        codes[i]: rule
        for i, rule in zip(
            allocations.column("line_index").to_pylist(),
            allocations.column("rule").to_pylist(),
            strict=True,
        )
        if codes[i] in ("7.A", "7.B", "7.C")
    }
    assert sorted(rules) == ["7.A", "7.B", "7.C"]
    assert all(rule.endswith("by code and label") for rule in rules.values())


def test_cra_2018_eu_entries_are_shown_outside_the_count_not_unmapped() -> None:
    expected = {
        n: p
        for n, (division, _, p) in cra_2018_by_row("OUTSIDE UK").items()
        if division.startswith("EU")
    }
    assert (
        len(expected) == 5
        and sum(expected.values())
        == (11_760_942 - 697_810 + 2_973_841 - 4_546_954 + 0) * 1000 * 100
    )
    [(_, table, _)] = mapped(
        "pesa", CRA_2018, region="OUTSIDE UK", year="2017-18", units="thousands"
    )
    outside = {
        r["row"]: (r["amount_pence"], r["reason"])
        for r in table.to_pylist()
        if r["reason"] and r["reason"].startswith("outside a place count")
    }
    assert {n: p for n, (p, _) in outside.items()} == expected
    assert all(re.search(r"pesa\.csv line \d+, by label", why) for _, why in outside.values())
    done, total, rest = coverage(
        mapped("pesa", CRA_2018, region="OUTSIDE UK", year="2017-18", units="thousands")
    )
    assert rest == {} and done == total


# --- CRA 2010: "LA data" under its own function ----------------------------------------------


def test_cra_2010_every_la_data_line_is_in_its_own_functions_division() -> None:
    rows = sheet_rows(need(CRA_2010))
    at = {h: i for i, h in enumerate(rows[0])}
    expected = {}
    for n, r in enumerate(rows[1:], start=2):
        if r[at["NUTS 1 region"]] != "ENGLAND_North West" or r[at["2008-09"]] is None:
            continue
        level1 = str(r[at["COFOG level 1"]])
        division = f"{int(level1.split('.')[0]):02d}" if level1[0].isdigit() else level1
        expected[n] = (division, str(r[at["Dept Name"]]) == "ENG_LA")
    [(_, table, allocations)] = mapped(
        "pesa", CRA_2010, region="North West", year="2008-09", units="millions"
    )
    excel_rows = table.column("row").to_pylist()
    la_divisions: set[str] = set()
    for index, code in zip(
        allocations.column("line_index").to_pylist(),
        allocations.column("cofog_code").to_pylist(),
        strict=True,
    ):
        division, is_la = expected[excel_rows[index]]
        assert code[:2] == division, (excel_rows[index], code)
        if is_la:
            la_divisions.add(code[:2])
    assert la_divisions == {d for d, is_la in expected.values() if is_la}
    assert len(la_divisions) == 10


# --- the share of money mapped, on every PESA-kind file ----------------------------------------

PESA_FILES = [
    (CRA_2018, {"region": "North West", "year": "2017-18", "units": "thousands"}),
    (CRA_2018, {"region": "OUTSIDE UK", "year": "2017-18", "units": "thousands"}),
    (CRA_2010, {"region": "North West", "year": "2008-09", "units": "millions"}),
    (CRA_2010, {"region": "Outside UK", "year": "2008-09", "units": "millions"}),
    (PESA_2024, {"region": "North West", "year": "2022-23"}),
    (ONS, {"region": "North East", "year": "2022-23", "table": "1"}),
    (ONS, {"region": "North East", "year": "2022-23", "table": "2"}),
]


@pytest.mark.parametrize(
    ("path", "options"), PESA_FILES, ids=lambda v: v.name if isinstance(v, Path) else None
)
def test_at_least_99_5_percent_of_the_money_is_mapped(path: Path, options: dict[str, str]) -> None:
    done, total, rest = coverage(mapped("pesa", path, **options))
    assert total > 0
    assert Fraction(done, total) >= Fraction(995, 1000), rest


# --- council: service-line codes ----------------------------------------------------------------

COUNCIL = REAL / "council"
RA_2025 = COUNCIL / "RA_2024-25_data_Part_1.ods"
RA_2024 = COUNCIL / "RA_2023-24_data_Part_1.csv"
RS_2014 = COUNCIL / "RS_2013-14_by_LA.xls"
RSX_2024 = COUNCIL / "RSX_2023-24_data_by_LA.csv"
RO2_2018 = COUNCIL / "RO2_2017-18_by_LA.xlsx"
COR4_2017 = COUNCIL / "COR4_2016-17_capital_by_LA.xlsx"

#: Each council file with bodies of every class (county, district, unitary, metropolitan,
#: London borough, police, fire) where the file has them.
COUNCIL_FILES = [
    (
        RA_2025,
        (
            "E09000004",
            "E08000003",
            "E06000063",
            "E10000017",
            "E23000003",
            "E31000023",
            "E07000200",
        ),
    ),
    (RA_2024, ("Birmingham", "Camden", "Kent", "Babergh")),
    (RS_2014, ("E4601", "E2321", "E2302", "E7023", "E6123")),
    (RSX_2024, ("E10000003", "E09000007")),
    (RO2_2018, ("Birmingham", "Kent")),
    (COR4_2017, ("Birmingham", "Kent")),
]


def council(path: Path, orgs: tuple[str, ...]) -> list[tuple[SourceRead, Any, Any]]:
    return mapped("council", path, orgs=orgs)


@pytest.mark.parametrize(
    ("path", "orgs"), COUNCIL_FILES, ids=lambda v: v.name if isinstance(v, Path) else None
)
def test_council_files_at_least_99_5_percent_of_the_money_is_mapped(
    path: Path, orgs: tuple[str, ...]
) -> None:
    done, total, rest = coverage(council(path, orgs))
    assert total > 0
    assert Fraction(done, total) >= Fraction(995, 1000), rest


def ra_2025_cells(ons: str) -> dict[str, int]:
    """Service-line code → pence for one authority, read from the file's code row (row 9)."""
    from test_real_council import sheet_rows as council_rows

    rows = council_rows(RA_2025, "RA_LA_Data_2024-25")
    codes = rows[8]
    row = next(r for r in rows if len(r) > 1 and r[1] == ons)
    end = codes.index("799")
    return {codes[c]: pence(row[c] or 0, 1000) for c in range(6, end) if codes[c]}


RA_TOTALS = ["190", "290", "330", "360", "390", "490", "509", "590", "599", "690"]


@pytest.mark.parametrize("ons", ["E09000004", "E08000003", "E10000017", "E06000063"])
def test_ra_2024_25_every_service_line_is_mapped_by_its_code(ons: str) -> None:
    need(RA_2025)
    cells = ra_2025_cells(ons)
    lines = {c: p for c, p in cells.items() if c not in RA_TOTALS}
    assert len(lines) == 137
    [(_, table, allocations)] = council(RA_2025, (ons,))
    codes = table.column("native_code").to_pylist()
    by_code: dict[str, int] = defaultdict(int)
    for i, amount, rule in zip(
        allocations.column("line_index").to_pylist(),
        allocations.column("amount_pence").to_pylist(),
        allocations.column("rule").to_pylist(),
        strict=True,
    ):
        by_code[codes[i]] += amount
        assert re.fullmatch(r"council\.csv line \d+, by code( and label)?", rule), rule
    assert {c: p for c, p in by_code.items() if p} == {c: p for c, p in lines.items() if p}


def test_ra_2023_24_lines_whose_labels_are_misread_are_still_mapped_by_code() -> None:
    """The 2023-24 CSV's dashes and apostrophes do not survive its encoding: codes do."""
    [(_, table, allocations)] = council(RA_2024, ("Birmingham",))
    labels = dict(
        zip(
            table.column("native_code").to_pylist(),
            table.column("native_label").to_pylist(),
            strict=True,
        )
    )
    assert "’" not in labels["325"] and "young people" in labels["325"]
    rules = dict(
        zip(
            [
                table.column("native_code")[i].as_py()
                for i in allocations.column("line_index").to_pylist()
            ],
            allocations.column("rule").to_pylist(),
            strict=True,
        )
    )
    assert rules["325"].endswith("by code")


def section_money(ons: str) -> dict[str, dict[str, int]]:
    """Each RA service total's lines' money by the division their rows give, for one body.

    A section is the codes between one TOTAL column and the next, as the file lays them
    out; police (601) and fire (602) are one-line tables of their own.
    """
    from test_real_council import sheet_rows as council_rows

    codes = council_rows(need(RA_2025), "RA_LA_Data_2024-25")[8]
    cells = ra_2025_cells(ons)
    council_map = load_mapping("council")
    out: dict[str, dict[str, int]] = {}
    start = 6
    for total in RA_TOTALS:
        end = codes.index(total)
        money: dict[str, int] = defaultdict(int)
        for c in range(start, end):
            if codes[c] in ("601", "602"):
                continue
            rows = council_map.lookup(codes[c], None)
            assert rows is not None, codes[c]
            money[(rows[0].cofog_code or "")[:2]] += abs(cells.get(codes[c], 0))
        out[total] = dict(money)
        start = end + 1
    return out


def test_no_service_total_maps_to_a_division_its_own_lines_contradict() -> None:
    """A total (190 Education …) goes where most of England's money on its lines goes: the
    RS and RSX summaries publish only totals."""
    council_map = load_mapping("council")

    def division(code: str) -> str:
        rows = council_map.lookup(code, None)
        assert rows is not None, code
        return (rows[0].cofog_code or "")[:2]

    for total, money in section_money("E92000001").items():
        assert division(total) == max(money, key=lambda d: money[d]), (total, money)
    # planning and development is the one total England splits almost evenly (06 / 04)
    planning = section_money("E92000001")["599"]
    assert Fraction(planning["06"], sum(planning.values())) < Fraction(55, 100)


def test_a_client_groups_sub_line_is_mapped_under_its_group_never_by_its_label_alone() -> None:
    council_map = load_mapping("council")
    assert council_map.lookup(None, "Residential care placements") is None
    older = council_map.find(
        None,
        "Residential care placements",
        "Older people (aged 65 or over) including older mentally ill",
    )
    younger = council_map.find(
        None, "Residential care placements", "Adults aged under 65 with learning disabilities"
    )
    assert older is not None and younger is not None
    assert (older[0][0].cofog_code, older[1]) == ("10.2.0", "label under its parent")
    assert (younger[0][0].cofog_code, younger[1]) == ("10.1.2", "label under its parent")


def test_ro2_and_cor4_line_numbers_are_keyed_with_their_labels() -> None:
    """RO2's line 11 and COR4's group 11 share a number: neither matches by number alone."""
    council_map = load_mapping("council")
    assert council_map.find("11", "Something else") is None
    ro2 = council_map.find("11", "Highways maintenance planning, policy and strategy")
    cor4 = council_map.find("11", "Central Services (including Court Services)")
    assert ro2 is not None and cor4 is not None
    assert (ro2[0][0].cofog_code, cor4[0][0].cofog_code) == ("04.5.1", "01")


# --- NHS -----------------------------------------------------------------------------------

NHS = REAL / "nhs" / "nhs_allocations_2023-24_2024-25.xlsx"


@pytest.mark.parametrize("icb", ["QHM", "QOP", "QWE"])
def test_nhs_allocations_are_mapped_whole_to_their_level(icb: str) -> None:
    results = mapped("nhs", NHS, orgs=(icb,), year="2023-24")
    done, total, rest = coverage(results)
    assert total > 0 and done == total, rest
    codes = {
        table.column("native_label")[i].as_py(): code
        for _, table, allocations in results
        for i, code in zip(
            allocations.column("line_index").to_pylist(),
            allocations.column("cofog_code").to_pylist(),
            strict=True,
        )
    }
    assert codes == {
        "ICB core services": "07",
        "Primary medical care": "07.2.1",
        "Other primary care": "07",
        "Administration": "07.6.0",
    }


def every_body(path: Path) -> tuple[str, ...]:
    """Every authority row's code in a table of many bodies, worked from the file: the rows
    above ENGLAND with a code, less those the file suppresses ('[x]')."""
    from test_real_council import sheet_rows as council_rows

    if path == RA_2025:
        rows, col = council_rows(path, "RA_LA_Data_2024-25")[10:], 1
    elif path == RS_2014:
        rows, col = council_rows(path, "RS LA Data 2013-14 (1)")[7:], 0
    else:
        rows, col = council_rows(path)[11:], 1
    out = []
    for r in rows:
        if any(cell.strip().upper() == "ENGLAND" for cell in r[:4]):
            break
        code = r[col].strip() if len(r) > col else ""
        if re.fullmatch(r"E\d{4}|E\d{8}", code) and not any(c.strip() == "[x]" for c in r):
            out.append(code)
    return tuple(out)


@pytest.mark.parametrize(
    ("path", "bodies"),
    [(RA_2025, 403), (RSX_2024, 411 - 14), (RS_2014, 444)],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_every_authority_of_a_council_file_is_mapped_in_full(path: Path, bodies: int) -> None:
    codes = every_body(need(path))
    assert len(codes) == bodies
    done, total, rest = coverage(council(path, codes))
    assert total > 0
    assert (done, rest) == (total, {})
