"""`placecount report` and `placecount trace`: the Cumbria method, worked by hand.

Testshire here is small enough to add up on paper:

- County council (£000): Education services 1,000; Fire and rescue services 250;
  "Contribution to pooled budget" 40, paid to "Testshire PCT" (a body in the count).
- Testshire PCT (£000): Acute services 600; General practice 150.
- Police (£): Local policing 300,000.
- PESA central-government table (£m), share 0.1: 3.1 Police services 2.0, 9.4 Tertiary
  education 5.0 (no actual covers them: kept) → £200,000 and £500,000; 7.1 Medical
  services 10.0 → £1,000,000, replaced by the NHS body's actuals (the table has functions
  only, so the NHS covers central government's division 07: a coarse replacement).
- PESA local-government table (£m), share 0.1: 3.1 Police services 1.5 → £150,000,
  replaced by the police authority's actuals; 4.5 Transport 3.0 → £300,000, replaced by
  the council's (councils cover local government except police).
- NDPBs (£000): Arts Council England (DCMS, executive) 80 shown, not added.

Gross = 1,000,000 + 250,000 + 40,000 + 600,000 + 150,000 + 300,000 + 200,000 + 500,000
        + 1,000,000 + 150,000 + 300,000 = 4,490,000.
Less the transfer 40,000 and the replaced estimates 1,000,000 + 150,000 + 300,000
= 1,450,000: the count is 3,000,000.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app

D = Decimal


@pytest.fixture
def place(db: Path, xlsx: Callable[..., Path]) -> Path:
    council = xlsx(
        [
            ["Testshire County Council"],
            ["Service", "Net expenditure (£000)", "Paid to"],
            ["Education services", 1000],
            ["Fire and rescue services", 250],
            ["Contribution to pooled budget", 40, "Testshire PCT"],
        ],
        name="council.xlsx",
    )
    nhs = xlsx(
        [["Programme", "Net expenditure £000"], ["Acute services", 600], ["General practice", 150]],
        name="pct.xlsx",
    )
    police = xlsx(
        [["Objective", "Net expenditure (£)"], ["Local policing", 300000]], name="police.xlsx"
    )
    central = xlsx(
        [
            ["Central government identifiable expenditure, £ million"],
            ["", "North West", "East Midlands", "London"],
            ["3.1 Police services", 9, 2.0, 9],
            ["9.4 Tertiary education", 9, 5.0, 9],
            ["7.1 Medical services", 9, 10.0, 9],
        ],
        name="pesa_cg.xlsx",
    )
    local = xlsx(
        [
            ["Local government identifiable expenditure, £ million"],
            ["", "North West", "East Midlands", "London"],
            ["3.1 Police services", 9, 1.5, 9],
            ["4.5 Transport", 9, 3.0, 9],
        ],
        name="pesa_lg.xlsx",
    )
    ndpb = xlsx(
        [
            ["Body", "Sponsor department", "Status", "Expenditure (£000)"],
            ["Arts Council England", "DCMS", "Executive", 80],
        ],
        name="ndpb.xlsx",
    )
    api.ingest("council", [council], db, org="Testshire County Council")
    api.ingest("nhs", [nhs], db, org="Testshire PCT")
    api.ingest("police", [police], db, org="Testshire Police Authority")
    api.ingest("pesa", [central], db, region="East Midlands", share="0.1", part="central")
    api.ingest("pesa", [local], db, region="East Midlands", share="0.1")
    api.ingest("ndpb", [ndpb], db)
    return db


def report_csv(runner: CliRunner, db: Path, *args: str) -> dict[tuple[str, str], Decimal]:
    result = runner.invoke(app, ["report", "--format", "csv", "--db", str(db), *args])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
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
    for r in rows:  # each record's economic columns and grades add up to its amount
        economic = sum(D(r[k]) for k in ("current_gbp", "capital_gbp", "unsplit_gbp"))
        grades = sum(D(v) for k, v in r.items() if k.startswith("grade_"))
        assert economic == grades == D(r["amount_gbp"]), r
    return {(r["cofog_code"], r["kind"]): D(r["amount_gbp"]) for r in rows}


def test_csv_is_the_count_worked_by_hand(runner: CliRunner, place: Path) -> None:
    cells = report_csv(runner, place)
    assert cells == {
        ("03", "council"): D("250000.00"),
        ("03", "police"): D("300000.00"),
        ("03", "pesa"): D("200000.00"),
        ("07", "nhs"): D("750000.00"),
        ("09", "council"): D("1000000.00"),
        ("09", "pesa"): D("500000.00"),
    }
    assert sum(cells.values()) == D("3000000.00")


def test_json_reconciliation_and_memo(runner: CliRunner, place: Path) -> None:
    data = json.loads(runner.invoke(app, ["report", "--format", "json", "--db", str(place)]).stdout)
    rec = data["reconciliation"]
    assert (rec["gross_gbp"], rec["transfers_gbp"], rec["replaced_gbp"], rec["count_gbp"]) == (
        "4490000.00",
        "40000.00",
        "1450000.00",
        "3000000.00",
    )
    assert [(t["from"], t["to"], t["amount_gbp"]) for t in rec["transfers"]] == [
        ("Testshire County Council", "Testshire PCT", "40000.00")
    ]
    assert [
        (o["file"], o["estimate"], o["rule"], o["coarse"], o["amount_gbp"], o["actuals_gbp"])
        for o in rec["replaced"]
    ] == [
        (
            "pesa_cg.xlsx",
            "central government, 07 Health",
            "nhs-trusts",
            True,
            "1000000.00",
            "750000.00",
        ),
        (
            "pesa_lg.xlsx",
            "local government, 04 Economic affairs",
            "council-lg",
            False,
            "300000.00",
            "1250000.00",
        ),
        (
            "pesa_lg.xlsx",
            "local government, 03 Public order and safety",
            "police-lg",
            False,
            "150000.00",
            "300000.00",
        ),
    ]
    assert rec["replaced"][0]["text"] == (
        "estimate: central government, 07 Health, East Midlands × 0.1 = £1,000,000.00 — "
        "replaced by the actuals of 1 NHS body, £750,000.00 (coarse: the estimate gives "
        "functions only)"
    )
    assert data["totals"]["ndpb_memo_gbp"] == "80000.00"
    assert data["totals"]["per_head_gbp"] == "30.00"  # £3,000,000 / 100,000
    assert [(n["sponsor"], n["added"], n["covered_by_pesa"]) for n in data["ndpb_of_which"]] == [
        ("DCMS", False, True)
    ]
    assert {p["part"] for p in data["pesa"]} == {"central", "local"}
    assert all(p["share"] == "0.1" and p["share_basis"] == "given" for p in data["pesa"])
    # the records are the CSV rows; the rows' totals and the shares agree with them
    assert sum(D(r["amount_gbp"]) for r in data["records"]) == D(data["totals"]["total_gbp"])
    assert sum(D(r["total_gbp"]) for r in data["rows"]) == D("3000000.00")
    assert sum(D(r["share_of_total"]) for r in data["rows"]) == pytest.approx(1, abs=0.001)


def test_switches_change_the_count_as_expected(runner: CliRunner, place: Path) -> None:
    keep = report_csv(runner, place, "--no-transfers", "--pesa-overlap", "keep")
    assert sum(keep.values()) == D("4490000.00")  # gross: nothing taken out
    added = report_csv(runner, place, "--ndpbs", "add-uncovered")
    assert sum(added.values()) == D("3000000.00")  # the wide PESA table covers DCMS


def test_ndpbs_added_where_no_pesa_covers_the_department(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    ndpb = xlsx(
        [
            ["Body", "Sponsor department", "Status", "Expenditure (£000)"],
            ["Arts Council England", "DCMS", "Executive", 80],
            ["Environment Agency", "Defra", "Executive", 20],
        ],
        name="ndpb.xlsx",
    )
    extract = xlsx(
        [
            ["Department", "Function", "Sub-function", "Region", "Year", "CG/LG/PC", "Amount £m"],
            [
                "Department for Environment, Food and Rural Affairs",
                "5. Environment protection",
                "5.3 Pollution abatement",
                "London",
                "2008-09",
                "CG",
                1.5,
            ],
        ],
        name="cra.xlsx",
    )
    api.ingest("ndpb", [ndpb], db)
    api.ingest("pesa", [extract], db, region="London", share="0.5")
    memo = report_csv(runner, db)
    assert sum(memo.values()) == D("750000.00")  # PESA only
    added = report_csv(runner, db, "--ndpbs", "add-uncovered")
    # DCMS has no PESA figure here: Arts Council England (08.2) is added; Defra is covered.
    assert added[("08", "ndpb")] == D("80000.00")
    assert sum(added.values()) == D("830000.00")


def test_schema_rule_marks_a_transfer(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    council = xlsx(
        [
            ["Service", "Net expenditure (£)"],
            ["Education services", 100],
            ["Section 75 pooled budget contribution", 30],
        ],
        name="c.xlsx",
    )
    nhs = xlsx([["Programme", "Net expenditure (£)"], ["Acute services", 60]], name="n.xlsx")
    api.ingest("council", [council], db, org="C")
    only_council = report_csv(runner, db)
    assert sum(only_council.values()) == D("130.00")  # no NHS in the count: kept
    api.ingest("nhs", [nhs], db, org="N")
    both = report_csv(runner, db)
    assert sum(both.values()) == D("160.00")  # 100 + 60; the 30 is the NHS's to spend


def test_by_group_and_class_and_filters(runner: CliRunner, place: Path) -> None:
    groups = report_csv(runner, place, "--by", "group")
    # Medical services maps to the whole division 07 only; NHS lines map to groups.
    assert groups[("07.3", "nhs")] == D("600000.00")
    assert groups[("07.2", "nhs")] == D("150000.00")
    assert sum(groups.values()) == D("3000000.00")
    classes = report_csv(runner, place, "--by", "class")
    assert sum(classes.values()) == D("3000000.00")
    assert report_csv(runner, place, "--kind", "nhs") == {("07", "nhs"): D("750000.00")}
    assert sum(report_csv(runner, place, "--cofog", "03,9.4").values()) == D("1250000.00")
    assert sum(report_csv(runner, place, "--org", "testshire pct").values()) == D("750000.00")


def test_bad_report_options(runner: CliRunner, place: Path) -> None:
    for args, message in [
        (["--by", "county"], "--by 'county': use division, group or class."),
        (["--kind", "parish"], "--kind 'parish' is not a source kind."),
        (["--cofog", "99"], "--cofog: '99' is not a COFOG code."),
        (["--theme", "nope"], "there is no theme 'nope' in placecount.toml."),
        (["--ndpbs", "all"], "--ndpbs 'all': use memo, add-uncovered or replace."),
    ]:
        result = runner.invoke(app, ["report", "--db", str(place), *args])
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)
    binary = runner.invoke(app, ["report", "--format", "xlsx", "--db", str(place)])
    assert binary.exit_code == 2 and "give -o FILE.xlsx" in binary.stderr


def test_trace_adds_up_to_every_figure(runner: CliRunner, place: Path) -> None:
    for by in ("division", "group", "class"):
        data = api.report(place, by=by)
        for row in data["rows"]:
            code = row["cofog_code"] or "unmapped"
            traced = api.trace(place, code, by=by)
            counted = sum(
                D(x["amount_gbp"]) for x in traced["lines"] if x["treatment"] == "counted"
            )
            assert counted == D(row["total_gbp"]) == D(traced["counted_gbp"]), (by, code)
    nhs = runner.invoke(app, ["trace", "07.3", "--kind", "nhs", "--json", "--db", str(place)])
    lines = json.loads(nhs.stdout)["lines"]
    assert [(x["file"], x["cell"], x["native_label"], x["amount_gbp"]) for x in lines] == [
        ("pct.xlsx", "B2", "Acute services", "600000.00")
    ]
    shown = runner.invoke(app, ["trace", "07", "--db", str(place)])
    assert (
        shown.exit_code == 0
        and "replaced" in shown.stdout
        and "Counted: £750,000.00" in shown.stdout
    )


def test_theme_from_project_file(runner: CliRunner, place: Path) -> None:
    project = place.parent / "placecount.toml"
    project.write_text(
        project.read_text()
        + (
            "\n[themes.health_and_care]\n"
            "description = 'Health and care'\n"
            "cofog = ['07', { cofog = '03.1', share = 0.25, kind = 'police' }]\n"
            "lines = [{ label = 'Education services', share = 0.1 }]\n"
        )
    )
    cells = report_csv(runner, place, "--theme", "health_and_care")
    # NHS 750,000 whole; police 300,000 × 25%; education 1,000,000 × 10%
    assert cells == {
        ("07", "nhs"): D("750000.00"),
        ("03", "police"): D("75000.00"),
        ("09", "council"): D("100000.00"),
    }
    traced = api.trace(place, "03", theme="health_and_care")
    assert [
        (x["native_label"], x["theme_share"], x["amount_gbp"])
        for x in traced["lines"]
        if x["treatment"] == "counted"
    ] == [("Local policing", "0.250000", "75000.00")]


def test_trace_json_is_the_trace_as_json_writes_it(runner: CliRunner, place: Path) -> None:
    """`trace --json` has its lines written by the database: the text must be what the
    standard library writes of the same trace, byte for byte, for every row of every
    level, unmapped lines, a code with no lines, a kind, a body and a theme."""
    project = place.parent / "placecount.toml"
    project.write_text(
        project.read_text()
        + "\n[themes.care]\ndescription = 'Care'\ncofog = [{ cofog = '03.1', share = 0.25 }]\n"
    )
    asks: list[tuple[str, dict[str, Any]]] = [("unmapped", {}), ("02", {}), ("05.1", {})]
    for by in ("division", "group", "class"):
        rows = api.report(place, by=by)["rows"]
        asks += [(r["cofog_code"] or "unmapped", {"by": by}) for r in rows]
    asks += [
        ("07.3", {"kinds": ["nhs"]}),
        ("07", {"orgs": ["Testshire PCT"]}),
        ("03", {"theme": "care"}),
    ]
    seen_lines = 0
    for code, kw in asks:
        expected = json.dumps(
            api.trace(place, code, **kw), indent=2, sort_keys=True, ensure_ascii=False, default=str
        )
        assert api.trace_json(place, code, **kw) == expected + "\n", (code, kw)
        seen_lines += len(json.loads(expected)["lines"])
    assert seen_lines > 20  # the comparison saw lines, not only empty lists
    args = ["trace", "03", "--theme", "care", "--json", "--db", str(place)]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0 and shown.stdout == api.trace_json(place, "03", theme="care")
    assert '"theme_share": "0.250000"' in shown.stdout


def test_formats_agree_to_the_penny(runner: CliRunner, place: Path, tmp_path: Path) -> None:
    csv_total = sum(report_csv(runner, place).values())
    out = tmp_path / "count.xlsx"
    assert runner.invoke(app, ["report", "-o", str(out), "--db", str(place)]).exit_code == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["Count", "Sources", "Method", "Unmapped and Excluded", "Lines"]
    ws = wb["Count"]
    header = [c.value for c in ws[4]]
    total_col = header.index("Total (£)") + 1
    values = [ws.cell(row=r, column=total_col).value for r in range(5, ws.max_row + 1)]
    numbers = [v for v in values if isinstance(v, (int, float))]
    assert all(not isinstance(v, str) for v in values if v is not None)
    labels = [ws.cell(row=r, column=2).value for r in range(5, ws.max_row + 1)]
    total_row = labels.index("Total")
    assert D(str(numbers[total_row])) == csv_total
    assert D(str(sum(numbers[:total_row]))).quantize(D("0.01")) == csv_total
    assert ws.freeze_panes == "C5"
    lines = wb["Lines"]
    assert lines.max_row - 1 == len(api.report(place, detail=True)["lines"])

    md = runner.invoke(app, ["report", "--format", "md", "--db", str(place)]).stdout
    assert "| **3,000,000.00** |" in md
    table = runner.invoke(app, ["report", "--db", str(place)]).stdout
    assert "3,000,000.00" in table and "The count" in table

    pq_path = tmp_path / "count.parquet"
    assert runner.invoke(app, ["report", "-o", str(pq_path), "--db", str(place)]).exit_code == 0
    import pyarrow.parquet as pq

    t = pq.read_table(pq_path)
    assert sum(t.column("amount_gbp").to_pylist()) == csv_total


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_xlsx_opens_in_libreoffice(runner: CliRunner, place: Path, tmp_path: Path) -> None:
    out = tmp_path / "count.xlsx"
    assert runner.invoke(app, ["report", "-o", str(out), "--db", str(place)]).exit_code == 0
    done = subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "count.pdf").stat().st_size > 1000


amounts = st.integers(min_value=-10_000_000, max_value=1_000_000_000)
LABELS = [
    "Education services",
    "Fire and rescue services",
    "Library service",
    "Waste collection",
    "Older people (aged 65 or over) including older mentally ill",
    "Mystery line",
]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(LABELS), amounts), min_size=1, max_size=12))
def test_totals_add_up_on_generated_data(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int]]
) -> None:
    """Ingest → count keeps every penny: divisions, groups, classes and lines agree."""
    folder = tmp_path_factory.mktemp("gen")
    db = folder / "placecount.duckdb"
    api.init(db, "Genshire", "2008-09", population=1000)
    path = folder / "gen.csv"
    text = "Service,Net expenditure (£)\n" + "".join(
        f'"{label}","{pence / 100:.2f}"\n' for label, pence in rows
    )
    path.write_text(text, encoding="utf-8")
    api.ingest("council", [path], db, org="Gen")
    expected = sum(D(p) for _, p in rows) / 100
    for by in ("division", "group", "class"):
        data = api.report(db, by=by)
        assert D(data["totals"]["total_gbp"]) == expected
        assert sum(D(r["total_gbp"]) for r in data["rows"]) == expected
        assert sum(D(r["amount_gbp"]) for r in data["records"]) == expected


def test_each_line_carries_its_nature_issue_12(runner: CliRunner, place: Path) -> None:
    """Basis, sector, economic category and grade, from the kind or the PESA table's part."""
    traced = json.loads(runner.invoke(app, ["trace", "03", "--json", "--db", str(place)]).stdout)[
        "lines"
    ]
    nature = {
        (x["kind"], x["native_label"]): (
            x["basis"],
            x["sector"],
            x["economic"],
            x["grade"],
            x["treatment"],
            x["replaced_by"],
        )
        for x in traced
        if x["kind"] != "pesa"
    }
    assert nature == {
        ("council", "Fire and rescue services"): (
            "actual",
            "LG",
            "current",
            "actual",
            "counted",
            None,
        ),
        ("police", "Local policing"): ("actual", "LG", "current", "actual", "counted", None),
    }
    # central government's police stays (police authorities are local government); the
    # local-government police estimate is replaced by the police authority's accounts
    pesa_police = sorted(
        (
            x["basis"],
            x["sector"],
            x["economic"],
            x["grade"],
            x["treatment"],
            x["replaced_by"],
            x["amount_gbp"],
            x["apportionment"],
        )
        for x in traced
        if x["kind"] == "pesa"
    )
    assert pesa_police == [
        ("estimate", "CG", "unknown", "assumption", "counted", None, "200000.00", "0.1"),
        ("estimate", "LG", "unknown", "assumption", "replaced", "police-lg", "150000.00", "0.1"),
    ]
    shown = runner.invoke(app, ["trace", "03", "--db", str(place)]).stdout
    assert "estimate" in shown and "Sector" in shown and "Grade" in shown


def test_current_capital_and_grades_issue_12(runner: CliRunner, place: Path) -> None:
    """Councils, NHS and police report current spending only; the wide PESA tables do not
    split current and capital. The shares are given, not worked from populations: the
    estimates' grade is 'assumption'."""
    data = api.report(place)
    t = data["totals"]
    # actuals: council 1,250,000 + NHS 750,000 + police 300,000; estimates 200,000 + 500,000
    assert (t["current_gbp"], t["capital_gbp"], t["unsplit_gbp"]) == (
        "2300000.00",
        "0.00",
        "700000.00",
    )
    assert t["by_grade_gbp"] == {
        "actual": "2300000.00",
        "driver": "0.00",
        "population": "0.00",
        "assumption": "700000.00",
    }
    assert t["by_grade_share"]["actual"] == "0.767"  # 2,300,000 / 3,000,000, to 0.1%
    for row in data["rows"]:
        parts = sum(D(row[k]) for k in ("current_gbp", "capital_gbp", "unsplit_gbp"))
        assert parts == D(row["total_gbp"]) == sum(D(v) for v in row["by_grade_gbp"].values())
    hl = data["headline"]
    # the unsplit PESA £700,000 is counted whole, so the headline says so in its basis
    assert (hl["basis"], hl["amount_gbp"], hl["capital_left_out_gbp"]) == (
        "current and not-split",
        "3000000.00",
        "0.00",
    )
    assert hl["current_only"] == ["council", "nhs", "police"]
    table = runner.invoke(app, ["report", "--db", str(place)]).stdout
    assert "Current £" in table and "Capital £" in table and "Not split £" in table
    assert "Headline, current and not-split spending" in table
    assert "By confidence grade: actual £2,300,000.00 (76.7%) · assumption £700,000.00" in table
    md = runner.invoke(app, ["report", "--format", "md", "--db", str(place)]).stdout
    assert "| Current £ | Capital £ | Not split £ | Total £ |" in md


def test_total_table_beside_actuals_is_refused_issue_12(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    total = xlsx(
        [
            ["Total identifiable expenditure on services, £ million"],
            ["", "North West", "East Midlands", "London"],
            ["7.1 Medical services", 9, 10.0, 9],
            ["10.2 Old age", 9, 3.0, 9],
        ],
        name="pesa_total.xlsx",
    )
    untitled = runner.invoke(
        app,
        [
            "ingest",
            "pesa",
            str(total),
            "--region",
            "East Midlands",
            "--share",
            "0.1",
            "--db",
            str(db),
        ],
    )
    assert untitled.exit_code == 2
    assert "does not say whether this is central government, local government" in untitled.stderr
    assert "--part central|local|total" in untitled.stderr
    assert api.report(db)["totals"]["total_gbp"] == "0.00"  # nothing was written
    api.ingest("pesa", [total], db, region="East Midlands", share="0.1", part="total")
    alone = api.report(db)
    assert alone["totals"]["total_gbp"] == "1300000.00"  # (10.0 + 3.0) £m × 0.1: all of it
    council = xlsx([["Service", "Net expenditure (£)"], ["Education services", 100]], name="c.xlsx")
    api.ingest("council", [council], db, org="C")
    refused = runner.invoke(app, ["report", "--db", str(db)])
    assert refused.exit_code == 2
    assert "pesa_total.xlsx" in refused.stderr
    assert "total public spending" in refused.stderr
    assert "Use the central government table" in refused.stderr
    assert "CG/LG/PC column" in refused.stderr
    assert "Traceback" not in refused.stderr
    kept = runner.invoke(
        app, ["report", "--pesa-overlap", "keep", "--format", "csv", "--db", str(db)]
    )
    assert kept.exit_code == 0  # asked for by name: both counted


def test_coverage_overridden_in_the_project_file_issue_12(runner: CliRunner, place: Path) -> None:
    project = place.parent / "placecount.toml"
    project.write_text(
        project.read_text()
        + "\n[method]\ndefault_coverage = false\n\n[[coverage]]\nrule = 'nhs-only-07.1'\n"
        "actual_kind = 'nhs'\nsector = 'CG'\ncofog = '07'\n"
    )
    data = api.report(place)
    rec = data["reconciliation"]
    # only the NHS rule: the local-government table now stands, 150,000 + 300,000
    assert [(r["rule"], r["amount_gbp"]) for r in rec["replaced"]] == [
        ("nhs-only-07.1", "1000000.00")
    ]
    assert rec["count_gbp"] == "3450000.00"


def test_pooled_budget_to_a_body_reporting_net_is_kept_once_issue_12(
    runner: CliRunner, place: Path
) -> None:
    """The NHS body's figures, said to be net of its income, leave out the council's
    £40,000 contribution: it is spent only on the council's side, so it stays there."""
    project = place.parent / "placecount.toml"
    project.write_text(project.read_text() + "\n[method]\nincome = { nhs = 'net' }\n")
    data = api.report(place)
    rec = data["reconciliation"]
    assert rec["transfers"] == []
    assert [(t["from"], t["to"], t["amount_gbp"], t["why"]) for t in rec["transfers_kept"]] == [
        (
            "Testshire County Council",
            "Testshire PCT",
            "40000.00",
            "the recipient reports net of this income: its figures leave it out",
        )
    ]
    # 3,000,000 + the 40,000 kept on the council's side
    assert rec["count_gbp"] == "3040000.00"


def test_parish_precepts_and_the_parish_count_once_issue_12(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    district = xlsx(
        [
            ["Service", "Net expenditure (£)"],
            ["Cultural and related services", 500],
            ["Parish precepts", 120],
            ["Environment Agency levy", 30],
        ],
        name="district.xlsx",
    )
    parish = xlsx(
        [["Service", "Net expenditure (£)"], ["Cultural and related services", 120]],
        name="parish.xlsx",
    )
    api.ingest("council", [district], db, org="Riverton District Council")
    alone = api.report(db)
    # No parish is counted: the precept is the parishes' spending in the place, so it
    # stays on the district's side (500 + 120 + the Environment Agency levy 30), listed
    # as a transfer kept, under COFOG 01.8 (transfers between levels of government).
    assert alone["reconciliation"]["count_gbp"] == "650.00"
    kept = {t["to"]: t["amount_gbp"] for t in alone["reconciliation"]["transfers_kept"]}
    assert kept == {"parish councils": "120.00", "Environment Agency": "30.00"}
    assert {r["cofog_code"]: r["total_gbp"] for r in alone["rows"]}["01"] == "120.00"
    api.ingest("council", [parish], db, org="Anytown Parish Council")
    both = api.report(db)
    rec = both["reconciliation"]
    # 500 + 30 + the parish's own 120: the precept's pound is counted once, by the parish
    assert rec["count_gbp"] == "650.00"
    assert [(t["to"], t["amount_gbp"]) for t in rec["transfers"]] == [("parish councils", "120.00")]
    assert rec["gross_gbp"] == "770.00"


def test_ndpb_memo_larger_than_its_pesa_figure_is_a_warning_issue_12(place: Path) -> None:
    """Arts Council England (08.2, £80,000) is said to sit inside PESA, but the PESA
    tables here have nothing in division 08."""
    data = api.report(place)
    assert [(c["where"], c["memo_gbp"], c["pesa_gbp"]) for c in data["ndpb_checks"]] == [
        ("COFOG 08 Recreation, culture and religion", "80000.00", "0.00")
    ]


def cra_database(xlsx: Callable[..., Path], rows: list[list[Any]]) -> Path:
    head = [
        "Department Name",
        "Organisation Name",
        "HMT Function",
        "HMT Subfunction",
        "ID/non-ID",
        "CAP or CUR",
        "CG, LG, PC, BOE",
        "NUTS Region",
        "2017-18",
    ]
    return xlsx([head, *rows], name="cra.xlsx", sheet="CRA database")


def test_an_ndpb_from_its_own_figures_replaces_its_cra_organisation_issue_12(
    runner: CliRunner, tmp_path: Path, xlsx: Callable[..., Path]
) -> None:
    db = tmp_path / "placecount.duckdb"
    api.init(db, "Copeland", "2017-18", population=70_000)
    cra = cra_database(
        xlsx,
        [
            [
                "Department for Business, Energy and Industrial Strategy",
                "Nuclear Decommissioning Authority",
                "4. Economic affairs",
                "4.4 Mining, manufacturing and construction",
                "ID",
                "CUR",
                "CG",
                "ENGLAND_North West",
                100,
            ],
            [
                "Department for Business, Energy and Industrial Strategy",
                "Department for Business, Energy and Industrial Strategy",
                "4. Economic affairs",
                "4.1 General economic, commercial and labour affairs",
                "ID",
                "CUR",
                "CG",
                "ENGLAND_North West",
                40,
            ],
        ],
    )
    ndpb = xlsx(
        [
            ["Body", "Sponsor department", "Status", "Expenditure (£000)"],
            ["Nuclear Decommissioning Authority", "BEIS", "Executive", 2500],
        ],
        name="ndpb.xlsx",
    )
    api.ingest(
        "pesa", [cra], db, region="North West", year="2017-18", share="0.5", units="millions"
    )
    api.ingest("ndpb", [ndpb], db)
    memo = api.report(db)
    # £m × 0.5: 100 → £50m, 40 → £20m; the NDPB only "of which"
    assert memo["reconciliation"]["count_gbp"] == "70000000.00"
    replaced = api.report(db, ndpbs="replace")
    rec = replaced["reconciliation"]
    assert [(r["rule"], r["estimate"], r["amount_gbp"]) for r in rec["replaced"]] == [
        (
            "ndpb-own",
            "Department for Business, Energy and Industrial Strategy / "
            "Nuclear Decommissioning Authority",
            "50000000.00",
        )
    ]
    # the NDPB's own £2.5m replaces the £50m estimate; the department's £20m stands
    assert rec["count_gbp"] == "22500000.00"
    assert replaced["totals"]["by_kind_gbp"] == {"pesa": "20000000.00", "ndpb": "2500000.00"}


def test_non_identifiable_spending_is_shown_beside_the_count_issue_12(
    runner: CliRunner, tmp_path: Path, xlsx: Callable[..., Path]
) -> None:
    """ONS 2019-20: defence £42,174m and international services £11,798m are
    non-identifiable; over the UK's 66,796,807 people they are £631.38 and £176.63 a head
    (42,174,000,000 / 66,796,807 = 631.376…; 11,798,000,000 / 66,796,807 = 176.626…)."""
    db = tmp_path / "placecount.duckdb"
    api.init(db, "Anyshire", "2019-20", population=100_000)
    head = [
        "Department Name",
        "Organisation Name",
        "HMT Function",
        "HMT Subfunction",
        "ID/non-ID",
        "CAP or CUR",
        "CG, LG, PC, BOE",
        "NUTS Region",
        "2019-20",
    ]
    rows = [
        [
            "Ministry of Defence",
            "Ministry of Defence",
            "2. Defence",
            "2.1 Military defence",
            "Non-ID",
            "CUR",
            "CG",
            "NON-REGIONAL",
            42174,
        ],
        [
            "Foreign Office",
            "Foreign Office",
            "1. General public services",
            "1.2 Foreign economic aid",
            "Non-ID",
            "CUR",
            "CG",
            "NON-REGIONAL",
            11798,
        ],
    ]
    cra = xlsx([head, *rows], name="non_id.xlsx", sheet="CRA database")
    api.ingest(
        "pesa",
        [cra],
        db,
        region="NON-REGIONAL",
        year="2019-20",
        units="millions",
        place_population=100_000,
        region_population=66_796_807,
    )
    data = api.report(db)
    rec = data["reconciliation"]
    assert rec["count_gbp"] == "0.00"
    assert sorted((o["why"], o["per_head_gbp"]) for o in rec["outside"]) == [
        ("non-identifiable", "176.63"),
        ("non-identifiable", "631.38"),
    ]
    table = runner.invoke(app, ["report", "--db", str(db)]).stdout
    assert "Outside the count, shown beside it:" in table
    per_head = api.report(db, non_identifiable="per-head")
    # added at the UK rate: (42,174m + 11,798m) × 100,000 / 66,796,807, to the penny per line
    expected = (D(42_174_000_000) + D(11_798_000_000)) * 100_000 / 66_796_807
    assert abs(D(per_head["reconciliation"]["count_gbp"]) - expected) <= D("0.02")
    assert per_head["reconciliation"]["outside"] == []
    assert per_head["totals"]["by_grade_gbp"]["population"] == per_head["totals"]["total_gbp"]
    bad = runner.invoke(app, ["report", "--non-identifiable", "all", "--db", str(db)])
    assert bad.exit_code == 2 and "use outside or per-head" in bad.stderr


def test_a_driver_apportions_an_estimate_and_grades_it_issue_12(
    runner: CliRunner, place: Path
) -> None:
    """Tertiary education (9.4) is £5.0m for the East Midlands; the place has 13% of the
    region's students, so £650,000 (not £500,000 at the 0.1 share), graded 'driver'."""
    project = place.parent / "placecount.toml"
    project.write_text(
        project.read_text()
        + "\n[[drivers]]\ncofog = '09'\nshare = '0.13'\nbasis = 'students, HESA 2008-09'\n"
    )
    data = api.report(place)
    assert data["reconciliation"]["count_gbp"] == "3150000.00"  # 3,000,000 + 150,000
    assert data["totals"]["by_grade_gbp"] == {
        "actual": "2300000.00",
        "driver": "650000.00",
        "population": "0.00",
        "assumption": "200000.00",
    }
    traced = api.trace(place, "09")
    pesa = [x for x in traced["lines"] if x["kind"] == "pesa"]
    assert [(x["amount_gbp"], x["grade"], x["apportionment"], x["driver"]) for x in pesa] == [
        ("650000.00", "driver", "0.13", "students, HESA 2008-09")
    ]
    project.write_text(project.read_text().replace("share = '0.13'", "share = '1.3'"))
    bad = runner.invoke(app, ["report", "--db", str(place)])
    assert bad.exit_code == 2
    assert "drivers[0].share: 1.3 is not a share" in bad.stderr


def test_nhs_transfers_matched_on_both_sides_issue_12(db: Path, xlsx: Callable[..., Path]) -> None:
    """A commissioner buys £500 of care from NHS bodies and pays a council £50 under
    s.256; the counted trust's own accounts show £300 of spending; the council reports
    net of its NHS income (Revenue Outturn figures are net)."""
    ccg = xlsx(
        [
            ["Programme", "Net expenditure (£)"],
            ["Purchase of healthcare from NHS bodies", 500],
            ["Section 256 payments to local authorities", 50],
            ["Prescribing", 80],
        ],
        name="ccg.xlsx",
    )
    trust = xlsx([["Programme", "Net expenditure (£)"], ["Acute", 300]], name="trust.xlsx")
    council = xlsx(
        [["Service", "Net expenditure (£)"], ["Adult social care", 400]], name="council.xlsx"
    )
    api.ingest("nhs", [ccg], db, org="Testshire CCG")
    api.ingest("nhs", [trust], db, org="Testshire Hospitals NHS Foundation Trust")
    api.ingest("council", [council], db, org="Testshire County Council")
    rec = api.report(db)["reconciliation"]
    # gross 500 + 50 + 80 + 300 + 400 = 1,330; the £500 of purchases is eliminated once
    # (the trust is counted, and trusts' figures are gross); the s.256 payment stays,
    # since the council's net figures leave that income out
    assert rec["gross_gbp"] == "1330.00"
    assert [(t["from"], t["to"], t["amount_gbp"]) for t in rec["transfers"]] == [
        ("Testshire CCG", "NHS trusts", "500.00")
    ]
    assert rec["count_gbp"] == "830.00"
    [kept] = rec["transfers_kept"]
    assert (kept["to"], kept["amount_gbp"]) == ("council", "50.00")
    assert "net of this income" in kept["why"]
    # the trust spent £300, less than the £500 said to be paid to it: listed with both
    # sides' cells and files
    [check] = rec["transfer_checks"]
    assert (check["paid_gbp"], check["recipient_gbp"]) == ("500.00", "300.00")
    assert check["giver_cells"] == ["ccg.xlsx › 'Sheet1'!B2"]
    assert "£500.00 is taken out of the count as paid to NHS trusts" in check["text"]
    assert check["recipient_files"] == ["trust.xlsx"]


def test_transfers_that_the_recipient_can_hold_are_not_flagged_issue_12(
    db: Path, xlsx: Callable[..., Path]
) -> None:
    ccg = xlsx(
        [["Programme", "Net expenditure (£)"], ["Purchase of healthcare from NHS bodies", 200]],
        name="ccg.xlsx",
    )
    trust = xlsx([["Programme", "Net expenditure (£)"], ["Acute", 300]], name="trust.xlsx")
    api.ingest("nhs", [ccg], db, org="Testshire CCG")
    api.ingest("nhs", [trust], db, org="Testshire Hospitals NHS Trust")
    rec = api.report(db)["reconciliation"]
    assert rec["count_gbp"] == "300.00"
    assert rec["transfer_checks"] == []


# --- filters that match nothing, outputs that cannot be written, Ctrl-C (issue 15) ----------


@pytest.mark.parametrize(
    ("args", "message", "nearest"),
    [
        (
            ["--org", "Testshire CC"],
            "error: --org 'Testshire CC' matches no body in the database.",
            "'Testshire County Council'",
        ),
        (
            ["--kind", "payments"],
            "error: --kind 'payments': no payments source is in the database.",
            "Kinds in the database: council, ndpb, nhs, pesa, police.",
        ),
        (
            ["--kind", "police", "--org", "Testshire PCT"],
            "error: --kind police and --org Testshire PCT match no line together.",
            "Bodies of police: 'Testshire Police Authority'.",
        ),
        (
            ["--cofog", "02"],
            "error: --cofog 02: no line in the database is mapped to it.",
            # 08: the Arts Council (an NDPB, shown beside the count) is mapped to culture
            "COFOG divisions in the database: 03, 04, 07, 08, 09.",
        ),
    ],
)
def test_a_filter_that_matches_nothing_is_exit_2_with_the_names_there_are_issue_15(
    runner: CliRunner, place: Path, args: list[str], message: str, nearest: str
) -> None:
    # it was a £0.00 count with exit 0
    result = runner.invoke(app, ["report", "--db", str(place), *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert nearest in result.stderr
    as_json = runner.invoke(app, ["report", "--db", str(place), "--format", "json", *args])
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["issues"][0]["code"] == "filter-matches-nothing"


def test_an_output_in_a_missing_folder_is_exit_2_not_a_bug_issue_15(
    runner: CliRunner, place: Path, tmp_path: Path
) -> None:
    target = tmp_path / "nodir" / "count.xlsx"
    result = runner.invoke(app, ["report", "--db", str(place), "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: -o {target}: the folder {target.parent} does not exist. "
        "Create the folder first, or give a file in a folder that exists.\n"
    )
    assert not (tmp_path / "nodir").exists()


def test_an_unwritable_output_is_exit_2_not_a_bug_issue_15(
    runner: CliRunner, place: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from placecount import render

    def refuse(path: Any, data: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(render, "write_output", refuse)
    target = tmp_path / "count.csv"
    result = runner.invoke(app, ["report", "--db", str(place), "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot write {target}: permission denied.")
    assert "bug" not in result.stderr


def test_a_windows_code_page_degrades_the_output_instead_of_failing_issue_15(
    place: Path, tmp_path: Path
) -> None:
    # `placecount report > count.txt` under cp1252 raised UnicodeEncodeError on "→"
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "placecount", "report", "--db", str(place)],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    text = done.stdout.decode("cp1252")  # every byte is cp1252
    assert "Traceback" not in done.stderr.decode("cp1252", "replace")
    assert "→" not in text
    # the transfer line's arrow, as ASCII
    assert "Testshire County Council -> Testshire PCT" in text
    assert "3,000,000.00" in text  # the count itself is whole


def test_ctrl_c_says_nothing_was_changed_and_exits_130_issue_15(
    runner: CliRunner, place: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from placecount import api

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "report", interrupted)
    result = runner.invoke(app, ["report", "--db", str(place)])
    assert result.exit_code == 130
    assert result.stderr == "Interrupted; nothing was changed.\n"


def test_ctrl_c_during_an_ingest_leaves_the_database_as_it_was_issue_15(
    runner: CliRunner, place: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from placecount import api
    from placecount.store import Store

    before = api.sources(place)
    extra = tmp_path / "extra.csv"
    extra.write_text("Service,Net expenditure £\nParks,1000\n", encoding="utf-8")

    def interrupted(self: Any, *args: Any) -> None:  # inside the write's transaction
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "_check_control_totals", interrupted)
    result = runner.invoke(
        app, ["ingest", "council", str(extra), "--org", "Extra", "--db", str(place)]
    )
    assert result.exit_code == 130
    assert result.stderr.endswith("Interrupted; nothing was changed.\n")
    monkeypatch.undo()
    assert api.sources(place) == before


def test_trace_with_an_org_that_matches_nothing_is_exit_2_issue_15(
    runner: CliRunner, place: Path
) -> None:
    result = runner.invoke(
        app, ["trace", "07", "--org", "Testshire Primary Care", "--db", str(place)]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: --org 'Testshire Primary Care' matches no body in the database."
    )
    assert "'Testshire PCT'" in result.stderr


def test_sums_past_a_bigint_stay_exact_issue_16(
    runner: CliRunner, csv_file: Callable[..., str], tmp_path: Path
) -> None:
    """95,000 lines of £999,999,999,999 add up to £94,999,999,999,905,000: past the range
    of a 64-bit sum of pence (9.22 × 10^18), which wrapped round to a negative total."""
    db = tmp_path / "big" / "placecount.duckdb"
    db.parent.mkdir()
    api.init(db, "Testshire", "2008-09")  # no population: no £-a-head plausibility check
    rows = "".join(f"Education services,999999999999.00,{i}\n" for i in range(95_000))
    src = csv_file("Service,Net expenditure (£),Ref\n" + rows, name="big.csv")
    done = runner.invoke(
        app, ["ingest", "council", str(src), "--org", "Testshire CC", "--db", str(db), "--quiet"]
    )
    assert done.exit_code == 0, done.output
    # 95,000 × 99,999,999,999,900 pence, worked by hand
    total = "94999999999905000.00"
    assert 95_000 * 99_999_999_999_900 == 9_499_999_999_990_500_000 > 2**63
    [source] = api.sources(db)
    assert source["total_gbp"] == total
    report = json.loads(runner.invoke(app, ["report", "--format", "json", "--db", str(db)]).stdout)
    assert report["totals"]["total_gbp"] == total
    pq_path = tmp_path / "big.parquet"
    done = runner.invoke(app, ["report", "-o", str(pq_path), "--db", str(db)])
    assert done.exit_code == 0, done.output
    import pyarrow.parquet as pq

    t = pq.read_table(pq_path)
    assert sum(t.column("amount_gbp").to_pylist()) == D(total)
    assert t.schema.field("amount_gbp").type.precision >= 19


def test_a_schema_2_database_gets_hugeint_totals_issue_16(db: Path) -> None:
    """A database made before sources' totals were HUGEINT is upgraded when opened."""
    import duckdb

    from placecount.store import Store

    with Store.open(db):
        pass
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE sources ALTER total_pence TYPE BIGINT")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    with Store.open(db) as store:
        kinds = store.query(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'sources' AND column_name = 'total_pence'"
        )
        version = store.query("SELECT value FROM meta WHERE key = 'schema_version'")
    assert kinds == [{"data_type": "HUGEINT"}]
    assert version == [{"value": "3"}]


@pytest.mark.parametrize("as_json", [False, True])
def test_a_full_disk_is_exit_2_and_changes_nothing(
    runner: CliRunner,
    place: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    """DuckDB says a full disk in its message: it is the user's to mend, not a bug."""
    import duckdb

    from placecount import api
    from placecount.store import Store

    before = api.sources(place)
    extra = tmp_path / "extra.csv"
    extra.write_text("Service,Net expenditure £\nParks,1000\n", encoding="utf-8")

    def full(self: Any, *args: Any) -> None:  # inside the write's transaction
        raise duckdb.IOException(
            'IO Error: Could not write file "placecount.duckdb.wal": No space left on device'
        )

    monkeypatch.setattr(Store, "_check_control_totals", full)
    args = ["ingest", "council", str(extra), "--org", "Extra", "--db", str(place)]
    result = runner.invoke(app, [*args, "--json"] if as_json else args)
    assert result.exit_code == 2
    assert "bug" not in result.output
    if as_json:
        [issue] = json.loads(result.stdout)["issues"]
        assert issue["code"] == "disk-full"
    else:
        assert "error: the disk is full: the command stopped" in result.stderr
        assert "--db, -o, --out" in result.stderr
    monkeypatch.undo()
    assert api.sources(place) == before


@pytest.mark.parametrize(
    ("errno_code", "said"),
    [(28, "count.xlsx: no space left on device"), (5, "count.xlsx: input/output error")],
)
def test_a_workbook_that_cannot_be_written_leaves_nothing(
    runner: CliRunner,
    place: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    errno_code: int,
    said: str,
) -> None:
    """The workbook is written straight into its file (a million lines are never held in
    memory): a full disk or a failing device while it is written is exit 2, with no
    workbook and no half-written file left beside it."""
    import xlsxwriter

    def fails(self: Any) -> None:
        raise OSError(errno_code, os.strerror(errno_code))

    monkeypatch.setattr(xlsxwriter.Workbook, "_store_workbook", fails)
    out = tmp_path / "out" / "count.xlsx"
    out.parent.mkdir()
    result = runner.invoke(app, ["report", "-o", str(out), "--db", str(place)])
    assert result.exit_code == 2, result.output
    assert said in result.stderr and "bug" not in result.output
    assert list(out.parent.iterdir()) == []
