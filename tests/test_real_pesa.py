"""PESA, CRA and ONS regional tables as really published, against figures worked out here.

Each test works its expected figure out from the file with its own code (openpyxl and
Decimal, nothing of placecount's reader), checks it against the figure recorded with the
files, then checks what placecount keeps. The files are not part of the project: the
tests are skipped when they are absent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from placecount.cli import app
from placecount.errors import InputError
from placecount.models import ReadOptions, SourceRead
from placecount.sources import read_sources
from placecount.store import Store

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
CRA_2018 = REAL / "pesa" / "CRA_2018_Database_for_Publication_rvsd.xlsx"
CRA_2010 = REAL / "pesa" / "pesa_2010_database_tables_chapter9.xlsx"
PESA_2024 = REAL / "pesa" / "pesa2024_chapter9.xlsx"
ONS = REAL / "ons" / "ons_regional_expenditure_fye2023.xlsx"
NINE_DECIMALS = Decimal("1e-9")


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the published file {path.name} is not here (see the project's sources)")
    return path


@cache
def sheet_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def as_decimal(value: object) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def pounds_to_pence(pounds: Decimal) -> int:
    return int((pounds * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def read(path: Path, **kw: Any) -> tuple[list[SourceRead], list[Any]]:
    share = kw.pop("share", Fraction(1))
    return read_sources("pesa", path, ReadOptions(share=share, share_text=str(share), **kw))


def kept(reads: list[SourceRead]) -> Iterator[dict[str, Any]]:
    for r in reads:
        for row in r.table.to_pylist():
            if row["included"]:
                yield row


def input_error(fn: Callable[[], object]) -> InputError:
    with pytest.raises(InputError) as info:
        fn()
    return info.value


# --- CRA 2018 database ------------------------------------------------------------------

CRA_2018_SLICES = {
    ("CG", "ID", "CUR"): 47_783_875_000,
    ("CG", "ID", "CAP"): 4_984_486_000,
    ("LG", "ID", "CUR"): 15_227_880_000,
    ("LG", "ID", "CAP"): 3_105_672_000,
    ("PC", "ID", "CAP"): 83_506_000,
}
CRA_2018_COFOG = {
    "1": 556_443_000,
    "2": 7_801_000,
    "3": 3_313_967_000,
    "4": 5_546_927_000,
    "5": 3_268_817_000,
    "6": 744_947_000,
    "7": 16_969_478_000,
    "8": 776_384_000,
    "9": 9_063_472_000,
    "10": 30_937_183_000,
}
NHS = ("NHS Trusts", "NHS Commissioning Board (NHS England)")
SECTOR = {"CG": "CG", "LG": "LG", "LA": "LG", "PC": "PC", "BOE": "BOE"}
IDENT = {"id": "identifiable", "non-id": "non-identifiable"}
SPEND = {"CAP": "capital", "CUR": "current"}


@cache
def cra_2018_worked() -> dict[str, Any]:
    """North West 2017-18 from the cells: £'000s, as the Metadata sheet says."""
    rows = sheet_rows(need(CRA_2018), "CRA 2018 database")
    head = list(rows[0])
    at = {name: head.index(name) for name in head if name}
    total = Decimal(0)
    slices: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    cofog: dict[str, Decimal] = defaultdict(Decimal)
    nhs = Decimal(0)
    n = 0
    for r in rows[1:]:
        if r[at["NUTS Region"]] != "ENGLAND_North West":
            continue
        n += 1
        pounds = as_decimal(r[at["2017-18"]]) * 1000
        total += pounds
        slices[(r[at["CG, LG, PC, BOE"]], r[at["ID/non-ID"]], r[at["CAP or CUR"]])] += pounds
        cofog[str(r[at["COFOG Level 0"]]).split(".")[0]] += pounds
        if r[at["Organisation Name"]] in NHS:
            nhs += pounds
    return {"rows": n, "total": total, "slices": slices, "cofog": cofog, "nhs": nhs}


def test_cra_2018_worked_figures_are_the_recorded_ones() -> None:
    w = cra_2018_worked()
    assert w["rows"] == 1576
    assert w["total"] == 71_185_419_000
    for key, pounds in CRA_2018_SLICES.items():
        assert w["slices"][key] == pounds, key
    assert w["nhs"] == 15_591_404_000
    assert dict(w["cofog"]) == CRA_2018_COFOG


def test_cra_2018_north_west_kept_lines_and_slices_to_the_penny() -> None:
    w = cra_2018_worked()
    reads, _ = read(CRA_2018, region="North West", year="2017-18")
    [source] = reads
    assert source.units == "thousands"
    assert "Metadata" in source.units_from and "C2" in source.units_from
    assert source.kept_count == w["rows"]
    assert source.total_pence == pounds_to_pence(w["total"])
    lines = list(kept(reads))
    got: dict[tuple[str, str, str], int] = defaultdict(int)
    for ln in lines:
        got[(ln["sector"], ln["identifiable"], ln["spend_type"])] += ln["amount_pence"]
    for sector, ident, spend in CRA_2018_SLICES:
        key = (SECTOR[sector], IDENT[ident.lower()], SPEND[spend])
        assert got[key] == pounds_to_pence(w["slices"][(sector, ident, spend)]), key
    nhs = sum(ln["amount_pence"] for ln in lines if ln["org"].endswith(NHS))
    assert nhs == pounds_to_pence(w["nhs"])
    # the department is kept with the organisation
    orgs = {ln["org"] for ln in lines}
    assert any(o.endswith(" / NHS Trusts") for o in orgs)
    # health sub-functions keep their codes as published
    assert {"7.A", "7.B", "7.C"} <= {ln["native_code"] for ln in lines}


def the_place_is_the_region(db: Path, population: int) -> None:
    """With share 1 the place is the whole region: its population is the region's, so the
    count's check of £ a head (no body spends over £50,000 a head) is made against it."""
    from placecount.project import load_project, write_project

    project_file = db.with_name("placecount.toml")
    project = load_project(project_file)
    assert project is not None
    project.place.population = population
    write_project(project_file, project)


def test_cra_2018_through_the_cli_stores_the_lines_and_cofog(runner: CliRunner, db: Path) -> None:
    w = cra_2018_worked()
    the_place_is_the_region(db, 7_258_658)  # North West, ONS mid-2017 estimate
    args = ["ingest", "pesa", str(CRA_2018), "--region", "North West", "--year", "2017-18"]
    result = runner.invoke(app, [*args, "--share", "1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        total, n = store.con.execute(
            "SELECT sum(amount_pence), count(*) FROM lines WHERE included"
        ).fetchone()  # type: ignore[misc]
        sectors = dict(
            store.con.execute(
                "SELECT sector || '/' || identifiable || '/' || spend_type, sum(amount_pence) "
                "FROM lines WHERE included GROUP BY ALL"
            ).fetchall()
        )
        divisions = dict(
            store.con.execute(
                "SELECT CAST(CAST(substr(cofog_code, 1, 2) AS INTEGER) AS VARCHAR), "
                "sum(amount_pence) FROM allocations GROUP BY ALL"
            ).fetchall()
        )
        year, region = store.con.execute("SELECT financial_year, region FROM sources").fetchone()  # type: ignore[misc]
    assert (n, total) == (w["rows"], pounds_to_pence(w["total"]))
    assert sectors["CG/identifiable/current"] == pounds_to_pence(w["slices"][("CG", "ID", "CUR")])
    assert sectors["PC/identifiable/capital"] == pounds_to_pence(w["slices"][("PC", "ID", "CAP")])
    assert divisions == {k: pounds_to_pence(v) for k, v in w["cofog"].items()}
    assert year == "2017-18"
    assert "North West" in region


def test_cra_2018_missing_year_is_said_before_the_region(runner: CliRunner, db: Path) -> None:
    args = ["ingest", "pesa", str(need(CRA_2018)), "--region", "Atlantis", "--year", "2019-20"]
    result = runner.invoke(app, [*args, "--share", "1", "--db", str(db)])
    assert result.exit_code == 2
    assert "2019-20" in result.stderr and "2017-18" in result.stderr
    assert "Atlantis" not in result.stderr
    assert "Traceback" not in result.output
    with Store.open(db) as store:
        assert store.con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_cra_2018_needs_one_year() -> None:
    error = input_error(lambda: read(need(CRA_2018), region="North West"))
    assert [i.code for i in error.issues] == ["bad-option"]
    assert "--year" in error.issues[0].message and "2013-14" in error.issues[0].message


def test_cra_2018_region_spellings() -> None:
    both = read(need(CRA_2018), region="Yorkshire and the Humber", year="2017-18")[0][0]
    rows = sheet_rows(CRA_2018, "CRA 2018 database")
    names = {"ENGLAND_Yorkshire and the Humber", "ENGLAND_Yorkshire and The Humber"}
    expected = [r for r in rows[1:] if r[12] in names]
    assert {r[12] for r in expected} == names  # the file spells it both ways
    assert both.kept_count == len(expected)
    assert both.total_pence == pounds_to_pence(sum(as_decimal(r[18]) for r in expected) * 1000)


# --- CRA 2010 (PESA 2010 chapter 9 database) ----------------------------------------------

CRA_2010_SLICES = {
    ("CG", "ID", "CUR"): Decimal("37980.780632504"),
    ("CG", "ID", "CAP"): Decimal("3372.948819476"),
    ("LA", "ID", "CUR"): Decimal("15476.966190112"),
    ("LA", "ID", "CAP"): Decimal("2263.290616909"),
    ("PC", "ID", "CAP"): Decimal("77.601597412"),
}
CRA_2010_COFOG = {
    "1": Decimal("812.089524586"),
    "2": Decimal("8.219455604"),
    "3": Decimal("3844.140489424"),
    "4": Decimal("3833.129120445"),
    "5": Decimal("1496.972042382"),
    "6": Decimal("1833.269534530"),
    "7": Decimal("13101.452888787"),
    "8": Decimal("813.630973181"),
    "9": Decimal("9331.272932311"),
    "10": Decimal("24097.410895163"),
}
NORTH_WEST_2008 = 6_900_000  # about the North West's people in 2008


@cache
def cra_2010_worked() -> dict[str, Any]:
    """North West 2008-09, £ million, each cell to nine decimals.

    The cells hold binary fractions (0.10547961996281600…); as text, to nine decimals
    (a thousandth of a penny in £ million), is how the recorded figures were summed and
    how the spreadsheet reader gives them. Summed at full precision the total is
    59,171.587856421…, 0.8p more.
    """
    path = need(CRA_2010)
    rows = sheet_rows(path, load_workbook(path, read_only=True).sheetnames[0])
    head = list(rows[0])
    at = {name: head.index(name) for name in head if name}
    total = Decimal(0)
    slices: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    cofog: dict[str, Decimal] = defaultdict(Decimal)
    health = Decimal(0)
    n = 0
    for r in rows[1:]:
        if r[at["NUTS 1 region"]] != "ENGLAND_North West":
            continue
        n += 1
        value = r[at["2008-09"]]
        if value is None:
            continue
        m = as_decimal(value).quantize(NINE_DECIMALS, rounding=ROUND_HALF_EVEN)
        total += m
        slices[(r[at["CG, LG or PC"]], r[at["ID or non-ID"]], r[at["CAP or CUR"]])] += m
        cofog[str(r[at["COFOG level 1"]]).split(".")[0]] += m
        if r[at["Dept Name"]] == "Department of Health" and r[at["CG, LG or PC"]] == "CG":
            health += m
    return {"rows": n, "total": total, "slices": slices, "cofog": cofog, "health": health}


def test_cra_2010_worked_figures_are_the_recorded_ones() -> None:
    w = cra_2010_worked()
    assert w["rows"] == 1410
    assert w["total"] == Decimal("59171.587856413")
    for key, m in CRA_2010_SLICES.items():
        assert w["slices"][key] == m, key
    assert w["health"] == Decimal("12770.992785068")
    assert dict(w["cofog"]) == CRA_2010_COFOG


def test_cra_2010_unit_proved_from_the_region_population_and_total_to_the_penny() -> None:
    w = cra_2010_worked()
    reads, _ = read(
        CRA_2010, region="North West", year="2008-09", region_population=NORTH_WEST_2008
    )
    [source] = reads
    assert source.units == "millions"
    assert source.units_from.startswith("proved by plausibility")
    assert source.total_pence == pounds_to_pence(w["total"] * 1_000_000)
    lines = list(kept(reads))
    # every line within a penny of its cell (the cells carry thousandths of a penny)
    for ln in lines:
        exact = as_decimal(ln["amount_text"]).quantize(NINE_DECIMALS) * 100_000_000
        assert abs(ln["amount_pence"] - exact) < 1, ln["row"]
    # so a slice of n lines is within n pence of its exact figure; these are within £1.
    # LA is local government.
    got: dict[tuple[str, str, str], int] = defaultdict(int)
    for ln in lines:
        got[(ln["sector"], ln["identifiable"], ln["spend_type"])] += ln["amount_pence"]
    for (sector, ident, spend), m in CRA_2010_SLICES.items():
        key = (SECTOR[sector], IDENT[ident.lower()], SPEND[spend])
        assert abs(got[key] - m * 100_000_000) < 100, key
    health = sum(
        ln["amount_pence"]
        for ln in lines
        if ln["org"] == "Department of Health" and ln["sector"] == "CG"
    )
    assert abs(health - w["health"] * 100_000_000) < 100
    by_function: dict[str, int] = defaultdict(int)
    for ln in lines:
        by_function[(ln["native_code"] or "").split(".")[0]] += ln["amount_pence"]
    assert set(by_function) == set(CRA_2010_COFOG)
    for function, m in CRA_2010_COFOG.items():
        assert abs(by_function[function] - m * 100_000_000) < 100, function


def test_cra_2010_unit_from_place_population_over_share() -> None:
    # 5% of the region's people: the region is the place's people / 0.05
    reads, _ = read(
        need(CRA_2010),
        region="north west",
        year="2008-09",
        share=Fraction(1, 20),
        population=NORTH_WEST_2008 // 20,
    )
    assert reads[0].units == "millions"
    w = cra_2010_worked()
    exact = w["total"] * 1_000_000 * 100 / 20
    assert reads[0].total_pence == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_cra_2010_with_no_population_asks_for_units() -> None:
    error = input_error(lambda: read(need(CRA_2010), region="North West", year="2008-09"))
    assert [i.code for i in error.issues] == ["unit-not-proved"]
    assert "--units" in (error.issues[0].note or "")


# --- PESA 2024 chapter 9: regions as rows, one function per table -------------------------

PESA_2024_NORTH_EAST = [308, 17, 1630, 4291, 386, 623, 8754, 367, 4249, 14087]
FUNCTION_TABLES = ["9.5", "9.6", "9.7", "9.8", "9.9", "9.10", "9.11", "9.12", "9.13", "9.14"]


def test_pesa_2024_north_east_by_function() -> None:
    path = need(PESA_2024)
    worked = []
    for sheet in FUNCTION_TABLES:
        rows = sheet_rows(path, sheet)
        col = next(i for i, v in enumerate(rows[4]) if str(v).startswith("2022-23"))
        ne = next(r for r in rows if r[0] == "North East")
        worked.append(Decimal(ne[col]))
    control = sheet_rows(path, "9.1a")
    ne_total = next(r for r in control if r[0] == "North East")[5]
    assert worked == PESA_2024_NORTH_EAST
    assert sum(worked) == ne_total == 34_712

    reads, issues = read(path, region="North East", year="2022-23")
    assert [r.sheet for r in reads] == FUNCTION_TABLES
    lines = list(kept(reads))
    assert [ln["native_code"] for ln in lines] == [str(i) for i in range(1, 11)]
    assert [ln["amount_pence"] for ln in lines] == [int(v) * 100_000_000 for v in worked]
    assert sum(r.total_pence for r in reads) == 34_712 * 100_000_000
    codes = {i.code for i in issues}
    assert {"total-block-taken", "control-total"} <= codes


def test_pesa_2024_north_west_functions_differ_from_the_control_total_by_rounding() -> None:
    path = need(PESA_2024)
    reads, issues = read(path, region="North West", year="2022-23")
    assert sum(r.total_pence for r in reads) == 96_543 * 100_000_000
    [check] = [i for i in issues if i.code == "subtotal-mismatch"]
    assert "96,545" in check.message and "-2" in check.message
    assert (check.sheet, check.row, check.column) == ("9.1a", 6, "F")


def test_pesa_2024_missing_year_before_region() -> None:
    error = input_error(lambda: read(need(PESA_2024), region="Atlantis", year="2030-31"))
    assert [i.code for i in error.issues] == ["year-not-found"]


# --- ONS country and regional public sector finances -------------------------------------


def ons_table(sheet: str, title: str) -> tuple[list[Decimal], Decimal]:
    """A table's lines (functions, EU transactions, adjustments) and its printed total."""
    rows = sheet_rows(need(ONS), sheet)
    start = next(i for i, r in enumerate(rows) if r[0] == title)
    col = list(rows[start]).index("2022 to 2023")
    lines: list[Decimal] = []
    for r in rows[start + 1 :]:
        label = str(r[0])
        if label.lower().startswith("total"):
            return lines, Decimal(r[col])
        if "of which" not in label:
            lines.append(Decimal(r[col]))
    raise AssertionError("no total row")


def test_ons_north_east_identifiable() -> None:
    lines, printed = ons_table("North East", "Table 2: Total Identifiable Expenditure")
    assert printed == 34_713
    assert sum(lines) == 34_715  # the published functions, each rounded to £m
    reads, issues = read(ONS, region="North East", year="2022-23", table="2")
    [source] = reads
    assert source.units == "millions"
    assert source.total_pence == sum(lines) * 100_000_000
    [check] = [i for i in issues if i.code == "subtotal-mismatch"]
    assert "34,713" in check.message and "2" in check.message
    assert (check.sheet, check.row) == ("North East", 46)


def test_ons_north_east_total_managed_expenditure_by_name() -> None:
    lines, printed = ons_table("North East", "Table 1: Total Managed Expenditure")
    assert printed == 46_637
    reads, _ = read(ONS, region="North East", year="2022-23", table="Total Managed Expenditure")
    assert reads[0].total_pence == sum(lines) * 100_000_000


def test_ons_takes_the_identifiable_table_by_default_and_says_so(
    runner: CliRunner, db: Path
) -> None:
    """A place count is of identifiable spending: with no --table, table 2 (total
    identifiable expenditure) is the documented default, and the summary names it."""
    lines, _ = ons_table("North East", "Table 2: Total Identifiable Expenditure")
    the_place_is_the_region(db, 2_683_040)  # North East, ONS mid-2022 estimate
    args = ["ingest", "pesa", str(need(ONS)), "--region", "North East", "--year", "2022-23"]
    result = runner.invoke(app, [*args, "--share", "1", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert '"code": "table-taken"' in result.stdout
    assert "Total Identifiable Expenditure" in result.stdout
    with Store.open(db) as store:
        stored = store.con.execute("SELECT sum(amount_pence) FROM lines WHERE included").fetchone()
    assert stored == (sum(lines) * 100_000_000,)


def test_ons_table_through_the_cli_and_the_project_file(
    runner: CliRunner, db: Path, tmp_path: Path
) -> None:
    from placecount import run as runmod

    lines, _ = ons_table("North East", "Table 6: Current Identifiable Expenditure")
    expected = sum(lines) * 100_000_000
    the_place_is_the_region(db, 2_683_040)  # North East, ONS mid-2022 estimate
    args = ["ingest", "pesa", str(ONS), "--region", "North East", "--year", "2022-23"]
    result = runner.invoke(app, [*args, "--table", "6", "--share", "1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        stored = store.con.execute(
            "SELECT sum(amount_pence), min(spend_type), min(identifiable), min(table_name) "
            "FROM lines WHERE included"
        ).fetchone()
    assert stored == (
        expected,
        "current",
        "identifiable",
        "Table 6: Current Identifiable Expenditure",
    )
    # the same source, described in a project file, as `placecount run` reads it
    project = tmp_path / "ne" / "placecount.toml"
    project.parent.mkdir()
    project.write_text(
        '[place]\nname = "North East"\nfinancial_year = "2022-23"\npopulation = 2_600_000\n\n'
        f'[[sources]]\nkind = "pesa"\nfile = {json.dumps(str(ONS))}\n'
        'region = "North East"\nshare = "1"\ntable = "Current Identifiable Expenditure"\n'
    )
    manifest = runmod.run(project, tmp_path / "out")
    assert Decimal(manifest["totals"]["count_gbp"]) == Decimal(expected) / 100
