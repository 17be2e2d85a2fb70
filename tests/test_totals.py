"""Never a total and its parts (issue 12): a council sheet's service totals over their
detail lines count each pound once, and the sheet's own total is a control total.

The sheet, in £: Early years 100 and Primary schools 200 under "TOTAL EDUCATION SERVICES"
300 (a total by its label); "Adult social care" 300 over Older people 100 and Learning
disabilities 200 (a total by arithmetic: it equals the rows it heads); Housing 50; and
the sheet's TOTAL, 651, a pound more than the lines (100 + 200 + 100 + 200 + 50 = 650).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from placecount import api
from placecount.cli import app

ROWS = [
    ["Code", "Service", "Net expenditure (£)"],
    [110, "Early years", 100],
    [120, "Primary schools", 200],
    [190, "TOTAL EDUCATION SERVICES", 300],
    [None, "Adult social care", 300],
    [None, "Older people", 100],
    [None, "Learning disabilities", 200],
    [None, "Housing", 50],
    [None, "TOTAL", 651],
]


def test_service_totals_and_their_lines_count_each_pound_once(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(ROWS, name="council.xlsx")
    result = runner.invoke(app, ["ingest", "council", str(path), "--org", "C", "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "row 5 'Adult social care' 300: subtotal: equals the 2 lines below it" in shown
    assert "row 4 'TOTAL EDUCATION SERVICES' 300: total row" in shown
    assert (
        "the sheet's own total, £651.00, differs from the lines counted, £650.00, by £1.00"
        in result.stderr
    )
    assert api.report(db)["totals"]["total_gbp"] == "650.00"


def test_a_control_total_that_disagrees_is_an_error_with_strict(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(ROWS, name="council.xlsx")
    result = runner.invoke(
        app, ["ingest", "council", str(path), "--org", "C", "--strict", "--db", str(db)]
    )
    assert result.exit_code == 2
    assert "council.xlsx › 'Sheet1' row 9: the sheet's own total, £651.00" in result.stderr
    assert "Traceback" not in result.stderr
    assert api.report(db)["totals"]["total_gbp"] == "0.00"  # nothing written


def test_a_sheet_whose_total_agrees_says_nothing(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx([*ROWS[:-1], [None, "TOTAL", 650]], name="council.xlsx")
    result = runner.invoke(app, ["ingest", "council", str(path), "--org", "C", "--db", str(db)])
    assert result.exit_code == 0 and "own total" not in result.stderr


def test_a_code_that_closes_its_block_is_the_block_total(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    """Revenue Account style: the service total follows its lines, with a code of the
    same hundred and no TOTAL in its label (RSX's "190 Education services")."""
    rows = [
        ["Code", "Service", "Net expenditure (£)"],
        [110, "Early years", 100],
        [120, "Primary schools", 200],
        [190, "Education services", 300],
        [210, "Highways maintenance", 40],
        [220, "Parking services", 60],
        [330, "Children's social care", 100],
    ]
    path = xlsx(rows, name="council.xlsx")
    result = runner.invoke(app, ["ingest", "council", str(path), "--org", "C", "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    assert "code 190 closes the block of codes 110–120" in result.stdout + result.stderr
    # 100 + 200 + 40 + 60 + 100: "Children's social care" 100 equals 40 + 60 above it,
    # but its code 330 is of another block, so it is a line
    assert api.report(db)["totals"]["total_gbp"] == "500.00"


def test_codes_of_another_block_are_not_a_subtotal_below(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    rows = [
        ["Code", "Service", "Net expenditure (£)"],
        [590, "Planning and development", 300],
        [610, "Police", 100],
        [620, "Fire", 200],
    ]
    path = xlsx(rows, name="council.xlsx")
    result = runner.invoke(app, ["ingest", "council", str(path), "--org", "C", "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    assert api.report(db)["totals"]["total_gbp"] == "600.00"


def test_a_line_that_only_looks_like_a_subtotal_is_kept_when_the_sheets_total_says_so(
    xlsx: Callable[..., Path],
) -> None:
    """£100 = £0 + £100 below it looks like a subtotal, but the sheet's Total, £200, is
    the sum of all three lines: the control total settles it, every line is counted."""
    from placecount.models import ReadOptions
    from placecount.sources import read_source

    path = xlsx(
        [
            ["Code", "Service", "Net current expenditure (£ thousand)"],
            ["RS01", "Service line 1", 0.1],
            ["RS02", "Service line 2", 0.0],
            ["RS03", "Service line 3", 0.1],
            [None, "Total", 0.2],
        ]
    )
    found, issues = read_source("council", path, ReadOptions())
    assert "control-total-mismatch" not in {i.code for i in issues}
    assert [ln.native_code for ln in found.kept] == ["RS01", "RS02", "RS03"]
    assert sum(ln.amount_pence for ln in found.kept) == 20_000  # £0.1k + £0 + £0.1k, in pence
    assert [ln.reason for ln in found.left_out] == ["total row"]
