"""The mapping workflow (issue 13): suggest rows for unmapped lines, count with them.

Testshire's council publishes (£000): Education services 1,000 (bundled row); Bespoke
widgets 300, Our own odd line 45.5 and Twin line 7 twice (no row matches them); and
mandatory rent allowances 12, which the bundled table marks outside a place count (housing
benefit, counted in DWP's lines). Unmapped before: £359,500.
The officer fills in Bespoke widgets (→ 04.1.1) and Twin line (→ 05.1.0), 300 + 7 + 7:
the unmapped amount must fall by exactly £314,000, to £45,500.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.store import Store


@pytest.fixture
def place(db: Path, xlsx: Callable[..., Path], runner: CliRunner) -> Path:
    council = xlsx(
        [
            ["Testshire County Council"],
            ["Service", "Net expenditure (£000)"],
            ["Education services", 1000],
            ["Bespoke widgets", 300],
            ["Our own odd line", 45.5],
            ["Twin line", 7],
            ["Twin line", 7],
            ["Housing benefits: rent allowances - mandatory payments", 12],
        ],
        name="council.xlsx",
    )
    result = runner.invoke(
        app, ["ingest", "council", str(council), "--org", "Testshire CC", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    return db


def unmapped_pounds(db: Path) -> Decimal:
    return sum((Decimal(r["amount_gbp"]) for r in api.unmapped(db)), Decimal(0))


def suggested(runner: CliRunner, db: Path, out: Path) -> list[dict[str, str]]:
    result = runner.invoke(app, ["unmapped", "--suggest", "-o", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "fill in cofog_code" in result.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_suggest_writes_one_row_per_unmapped_label_with_its_amount(
    place: Path, runner: CliRunner, tmp_path: Path
) -> None:
    rows = suggested(runner, place, tmp_path / "mapping.csv")
    assert [(r["native_label"], r["lines"], r["amount_gbp"], r["cofog_code"]) for r in rows] == [
        ("Bespoke widgets", "1", "300000.00", ""),
        ("Our own odd line", "1", "45500.00", ""),
        ("Twin line", "2", "14000.00", ""),
    ]
    assert unmapped_pounds(place) == Decimal("359500.00")


def test_suggest_names_the_nearest_known_labels_and_their_codes(
    db: Path, xlsx: Callable[..., Path], runner: CliRunner, tmp_path: Path
) -> None:
    council = xlsx([["Service", "Net £000"], ["Libary service", 5]], name="typo.xlsx")
    runner.invoke(app, ["ingest", "council", str(council), "--org", "X", "--db", str(db)])
    [row] = suggested(runner, db, tmp_path / "m.csv")
    assert row["suggested_code"] == "08.2.0"
    assert row["nearest_known_labels"].startswith("Library service → 08.2.0")


def fill_in(path: Path, codes: dict[str, str]) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    for r in rows:
        if r["native_label"] in codes:
            r["cofog_code"], r["note"] = codes[r["native_label"]], "From our ledger."
    buf = io.StringIO()
    writer = csv.DictWriter(buf, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def test_suggest_round_trips_the_unmapped_amount_falls_by_the_rows_filled_in(
    place: Path, runner: CliRunner, tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.csv"
    suggested(runner, place, mapping)
    fill_in(mapping, {"Bespoke widgets": "04.1.1", "Twin line": "05.1.0"})
    result = runner.invoke(
        app,
        ["report", "--mapping", str(mapping), "--what-if", "--format", "json", "--db", str(place)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert Decimal(report["coverage"]["unmapped_gbp"]) == Decimal("359500.00") - Decimal(
        "314000.00"
    )
    assert report["what_if"] == {
        "moves": [
            {
                "from": "unmapped",
                "to": "04",
                "kind": "council",
                "lines": 1,
                "amount_gbp": "300000.00",
            },
            {
                "from": "unmapped",
                "to": "05",
                "kind": "council",
                "lines": 2,
                "amount_gbp": "14000.00",
            },
        ],
        "unmapped_before_gbp": "359500.00",
        "unmapped_after_gbp": "45500.00",
    }
    records = {r["cofog_code"]: Decimal(r["amount_gbp"]) for r in report["records"]}
    assert records["04"] == Decimal("300000.00") and records["05"] == Decimal("14000.00")
    assert report["mapping"]["file"] == "mapping.csv" and report["mapping"]["warnings"] == []
    # the database itself is not changed: the lines are unmapped until ingested again
    assert unmapped_pounds(place) == Decimal("359500.00")
    # the same count the library gives
    assert api.report(place, mapping=mapping, what_if=True)["what_if"] == report["what_if"]


def test_a_user_row_that_matches_nothing_is_a_warning_naming_the_row(
    place: Path, runner: CliRunner, tmp_path: Path
) -> None:
    mapping = tmp_path / "mine.csv"
    mapping.write_text(
        "native_code,native_label,cofog_code,share,note\n"
        ",Bespoke widgets,04.1.1,1,ours\n"
        ",Widgets we do not have,04.1.1,1,a row for another council\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["report", "--mapping", str(mapping), "--db", str(place)])
    assert result.exit_code == 0, result.output
    assert "mine.csv row 3" in result.stderr
    assert "'Widgets we do not have'" in result.stderr and "matches no stored line" in result.stderr
    # and at ingest, for the lines read
    council = tmp_path / "council.xlsx"
    result = runner.invoke(
        app,
        [
            "ingest", "council", str(council), "--org", "Testshire CC", "--mapping",
            str(mapping), "--replace", "--db", str(place), "--json",
        ],
    )  # fmt: skip
    issues = json.loads(result.stdout)["issues"]
    [unused] = [i for i in issues if i["code"] == "mapping-row-unused"]
    assert (unused["file"], unused["row"]) == ("mine.csv", 3)


def test_a_mapping_can_bring_back_a_line_a_bundled_row_left_out(
    place: Path, tmp_path: Path
) -> None:
    with Store.open(place) as store:
        [(reason,)] = store.con.execute(
            "SELECT reason FROM lines WHERE native_label LIKE 'Housing benefits: rent%'"
        ).fetchall()
    assert reason.startswith("outside a place count: Mandatory housing benefit")
    mapping = tmp_path / "mine.csv"
    mapping.write_text(
        "native_label,cofog_code,note\nHousing benefits: rent allowances - mandatory payments,"
        "10.6.0,DWP's lines are not in our count\n",
        encoding="utf-8",
    )
    report = api.report(place, mapping=mapping, what_if=True)
    assert {
        "from": "outside",
        "to": "10",
        "kind": "council",
        "lines": 1,
        "amount_gbp": "12000.00",
    } in (report["what_if"]["moves"])


def test_what_if_needs_a_mapping(place: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["report", "--what-if", "--db", str(place)])
    assert result.exit_code == 2
    assert "--what-if needs --mapping" in result.stderr
