"""`placecount ingest` through the CLI: what a finance officer sees, exit codes, the store."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.store import Store

COUNCIL_ROWS = [
    ["Testshire County Council"],
    ["Revenue outturn 2008-09"],
    ["Summary of net current expenditure by service"],
    ["Service", "Net current expenditure (£ thousand)"],
    ["Education services", 412_345.6],
    ["Highways and transport services", "38,210"],
    ["Children's social care", "(1,234)"],
    ["Court services", "-"],
    ["Total", 449_321.6],
    [],
    ["Source: RO forms. Figures are provisional."],
]


def db_state(db: Path) -> list[tuple[object, ...]]:
    """Everything in the store, to check that a failed command changed nothing."""
    with Store.open(db) as store:
        return [
            *store.con.execute("SELECT * FROM sources ORDER BY source_id").fetchall(),
            *store.con.execute("SELECT * FROM lines ORDER BY line_id").fetchall(),
            *store.con.execute("SELECT * FROM allocations ORDER BY line_id, cofog_code").fetchall(),
        ]


def run(runner: CliRunner, db: Path, *args: str) -> object:
    return runner.invoke(app, [*args, "--db", str(db)])


def test_council_workbook_with_titles_total_and_footnote(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(COUNCIL_ROWS, name="outturn_2008-09.xlsx", sheet="RO Summary")
    result = run(runner, db, "ingest", "council", str(path), "--org", "Testshire CC")
    assert result.exit_code == 0, result.stderr
    # £ thousand: 412,345.6 + 38,210 − 1,234 + 0, worked out by hand, in pounds.
    expected = Decimal("412345600") + Decimal("38210000") - Decimal("1234000")
    [src] = api.sources(db)
    assert Decimal(src["total_gbp"]) == expected
    assert src["lines_kept"] == 4
    assert src["header_row"] == 4 and src["units"] == "thousands"
    assert "row 9 'Total'" in result.stderr and "total row" in result.stderr
    with Store.open(db) as store:
        rows = store.con.execute(
            "SELECT excel_row, excel_column, native_label, amount_pence, included, reason "
            "FROM lines ORDER BY excel_row"
        ).fetchall()
    assert rows[:4] == [
        (5, "B", "Education services", 41_234_560_000, True, None),
        (6, "B", "Highways and transport services", 3_821_000_000, True, None),
        (7, "B", "Children's social care", -123_400_000, True, None),
        (8, "B", "Court services", 0, True, None),
    ]
    assert (9, "B", "Total", 44_932_160_000, False, "total row") in rows
    assert rows[-1][0] == 11 and rows[-1][5] == "note under the table"


def test_reingest_adds_nothing_and_replace_swaps(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(COUNCIL_ROWS)
    assert run(runner, db, "ingest", "council", str(path), "--org", "T").exit_code == 0
    before = db_state(db)
    again = run(runner, db, "ingest", "council", str(path), "--org", "T")
    assert again.exit_code == 0
    assert "already in the database: nothing added" in again.stderr
    assert db_state(db) == before
    swapped = run(runner, db, "ingest", "council", str(path), "--org", "T", "--replace")
    assert swapped.exit_code == 0
    assert "Replaced book.xlsx" in swapped.stderr
    [src] = api.sources(db)
    assert Decimal(src["total_gbp"]) == Decimal("449321600")  # 412,345.6 + 38,210 − 1,234 (£000)
    with Store.open(db) as store:
        # rows 5-9 and the footnote in row 11, once each
        assert store.con.execute("SELECT count(*) FROM lines").fetchone()[0] == 6


def test_changed_file_with_same_name_is_refused_without_replace(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(COUNCIL_ROWS)
    assert run(runner, db, "ingest", "council", str(path), "--org", "T").exit_code == 0
    before = db_state(db)
    changed = [list(r) for r in COUNCIL_ROWS]
    changed[4][1] = 999
    xlsx(changed)
    result = run(runner, db, "ingest", "council", str(path), "--org", "T")
    assert result.exit_code == 2
    assert "a different version of this file and sheet is already ingested" in result.stderr
    assert "--replace" in result.stderr
    assert db_state(db) == before


def test_failing_ingest_of_several_files_leaves_database_as_it_was(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    good = xlsx(COUNCIL_ROWS, name="good.xlsx")
    assert run(runner, db, "ingest", "council", str(good), "--org", "A").exit_code == 0
    before = db_state(db)
    other = xlsx([["Service", "Net expenditure"], ["Education services", 5]], name="other.xlsx")
    bad = xlsx([["Service", "Net expenditure"], ["Education services", "12x"]], name="bad.xlsx")
    # free text in an amount cell now leaves the line out (unparseable-amount, a warning);
    # --strict still stops at it, and then nothing of either file is written
    result = run(runner, db, "ingest", "council", str(other), str(bad), "--org", "B", "--strict")
    assert result.exit_code == 2
    assert db_state(db) == before


# --- every bad input gets one clear message and exit code 2 ------------------------------


def test_missing_file(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    result = run(runner, db, "ingest", "council", str(tmp_path / "nope.xlsx"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: nope.xlsx: the file does not exist. Check the path and the spelling."
    )


def test_corrupt_workbook(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file at all")
    result = run(runner, db, "ingest", "council", str(path))
    assert result.exit_code == 2
    assert "broken.xlsx: this is not a valid Excel workbook" in result.stderr
    assert "Traceback" not in result.stderr


def test_truncated_workbook(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx(COUNCIL_ROWS)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = run(runner, db, "ingest", "council", str(path))
    assert result.exit_code == 2
    assert "book.xlsx:" in result.stderr and "Traceback" not in result.stderr


def test_password_protected_workbook(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    # Excel saves an encrypted workbook as an OLE compound file, whatever its extension.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    result = run(runner, db, "ingest", "council", str(path))
    assert result.exit_code == 2
    assert "locked.xlsx: the workbook is password-protected" in result.stderr


def test_empty_sheet(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx([], sheet="Data")
    result = run(runner, db, "ingest", "council", str(path), "--sheet", "Data")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: book.xlsx › 'Data': the sheet is empty")


def test_no_recognisable_header(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx([["Colour", "Size"], ["red", 3]])
    result = run(runner, db, "ingest", "council", str(path))
    assert result.exit_code == 2
    assert "book.xlsx › 'Sheet1': no header row found" in result.stderr
    assert "--header-row" in result.stderr


def test_non_numeric_amount_names_the_cell(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(
        [["Title"], ["Service", "Net expenditure £000"], ["Education services", "(1,2O4)"]],
        name="outturn_2008-09.xlsx",
        sheet="RO Summary",
    )
    # unparseable-amount: free text leaves its line out with the reason (a warning naming
    # the cell); only --strict stops the file, as it did before for every such cell
    result = run(runner, db, "ingest", "council", str(path), "--strict")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: outturn_2008-09.xlsx › 'RO Summary'!B3 (Net expenditure £000): "
        "'(1,2O4)' is not an amount."
    )
    result = run(runner, db, "ingest", "council", str(path), "--org", "X")
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: outturn_2008-09.xlsx › 'RO Summary'!B3 (Net expenditure £000): "
        "'(1,2O4)' is not an amount: the line is left out."
    ) in result.stderr
    rows = api.sources(db)
    assert rows[0]["lines_kept"] == 0 and rows[0]["lines_left_out"] == 1


def test_duplicate_column_names(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx([["Service", "Net expenditure", "Net expenditure"], ["Education services", 1, 2]])
    result = run(runner, db, "ingest", "council", str(path))
    assert result.exit_code == 2
    assert "two columns are headed 'Net expenditure' (B, C)" in result.stderr
    assert "'Sheet1'!C1" in result.stderr


def test_unknown_kind(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    result = run(runner, db, "ingest", "parish", str(xlsx(COUNCIL_ROWS)))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: 'parish' is not a source kind. "
        "Use one of: council, nhs, police, pesa, ndpb, payments, generic."
    )


@pytest.mark.parametrize("share", ["1.5", "0", "-0.2", "abc"])
def test_share_outside_0_to_1(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path], share: str
) -> None:
    path = xlsx([["", "North West", "East Midlands", "London"], ["3.1 Police services", 1, 2, 3]])
    result = run(runner, db, "ingest", "pesa", str(path), "--region", "London", "--share", share)
    assert result.exit_code == 2
    # a share out of range is named as the flag and value; text is named as not a number
    assert f"--share {share}" in result.stderr or f"--share {share!r} is not a number" in (
        result.stderr
    )
    assert api.sources(db) == []


def test_sheet_not_found(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    result = run(runner, db, "ingest", "council", str(xlsx(COUNCIL_ROWS)), "--sheet", "Nope")
    assert result.exit_code == 2
    assert "there is no sheet 'Nope'. The sheets are: 'Sheet1'." in result.stderr


def test_bad_year_option(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    result = run(runner, db, "ingest", "council", str(xlsx(COUNCIL_ROWS)), "--year", "2008")
    assert result.exit_code == 2
    assert "'2008' is not a financial year" in result.stderr


def test_unsupported_format(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    path = tmp_path / "spend.pdf"
    path.write_bytes(b"%PDF")
    result = run(runner, db, "ingest", "council", str(path))
    assert result.exit_code == 2
    assert "'.pdf' files cannot be read" in result.stderr


def test_json_failure_shape(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    result = run(runner, db, "ingest", "council", str(tmp_path / "nope.csv"), "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert [(i["code"], i["file"]) for i in data["issues"]] == [("file-not-found", "nope.csv")]


def test_json_output_equals_library_result(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(COUNCIL_ROWS)
    result = run(runner, db, "ingest", "council", str(path), "--org", "T", "--json", "--dry-run")
    assert result.exit_code == 0
    library = api.ingest("council", [path], db, org="T", dry_run=True).to_dict()
    assert json.loads(result.stdout) == json.loads(json.dumps(library, default=str))
    assert api.sources(db) == []  # a dry run writes nothing


def test_internal_fault_is_exit_1_without_traceback(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("placecount.api.ingest", boom)
    result = run(runner, db, "ingest", "council", str(xlsx(COUNCIL_ROWS)))
    assert result.exit_code == 1
    assert "This is a bug in placecount" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_says_what_it_is_doing_for_each_file_issue_15(db: Path, tmp_path: Path) -> None:
    # one large file showed a spinner stuck at "0/1 files": the steps are now named
    one = tmp_path / "one.csv"
    one.write_text("Service,Net expenditure £\nParks,1000\nLibraries,2000\n", encoding="utf-8")
    two = tmp_path / "two.csv"
    two.write_text("Service,Net expenditure £\nRoads,500\n", encoding="utf-8")
    steps: list[str] = []
    api.ingest("council", [one, two], db, org="Testshire DC", progress=steps.append)
    assert steps == [
        "reading one.csv",
        "mapping one.csv (2 lines)",
        "reading two.csv",
        "mapping two.csv (1 line)",
        "writing 3 lines to the database",
    ]


def test_the_progress_line_counts_a_file_when_the_next_step_begins_issue_15() -> None:
    from placecount.cli import _ingest_progress

    class Bar:
        def __init__(self) -> None:
            self.done, self.shown = 0, ""

        def advance(self, task: object) -> None:
            self.done += 1

        def update(self, task: object, description: str) -> None:
            self.shown = description

    bar = Bar()
    step = _ingest_progress(bar, "task")
    seen = []
    for text in ["reading a.csv", "mapping a.csv (9 lines)", "reading b.csv", "writing 9 lines"]:
        step(text)
        seen.append((bar.done, bar.shown))
    assert seen == [
        (0, "reading a.csv"),
        (0, "mapping a.csv (9 lines)"),
        (1, "reading b.csv"),
        (2, "writing 9 lines"),
    ]
