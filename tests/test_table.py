"""Rules for reading a long table's rows: published markers, odd cells, total rows.

Every expected figure is worked out here from the cells the test writes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from placecount.errors import InputError
from placecount.models import ReadOptions
from placecount.sources import read_source

HEADER = ["Service", "Net expenditure (£)"]


def read(path: Path, **options: Any) -> tuple[Any, list[Any]]:
    return read_source("council", path, ReadOptions(org="X", **options))


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ("[x]", "suppressed [x] (not available)"),
        ("[c]", "suppressed [c] (confidential)"),
        ("[z]", "not applicable [z]"),
        ("[low]", "suppressed [low] (too small to show)"),
        ("..", "not available '..'"),
        ("*", "suppressed '*'"),
        ("n/a", "not available 'n/a'"),
        ("Subsumed into Education", "subsumed into another line: 'Subsumed into Education'"),
    ],
)
def test_published_markers_leave_the_line_out_with_their_reason(
    xlsx: Callable[..., Path], marker: str, reason: str
) -> None:
    path = xlsx([HEADER, ["Education services", 100], ["Library service", marker]])
    found, issues = read(path)
    assert [(ln.row, ln.reason) for ln in found.left_out] == [(3, reason)]
    assert found.total_pence == 100 * 100
    assert not [i for i in issues if i.severity == "error"]
    [note] = [i for i in issues if i.code == "not-available"]
    assert (note.severity, note.row, note.column) == ("info", 3, "B")


def test_a_decimal_comma_is_read_and_its_cell_named(xlsx: Callable[..., Path]) -> None:
    path = xlsx([HEADER, ["Education services", 1000.5], ["Library service", "1241,32"]])
    found, issues = read(path)
    assert found.total_pence == 100050 + 124132
    [warn] = [i for i in issues if i.code == "decimal-comma"]
    assert (warn.row, warn.column, warn.value, warn.severity) == (3, "B", "1241,32", "warning")


def test_free_text_leaves_its_line_out_and_the_file_is_read(xlsx: Callable[..., Path]) -> None:
    rows: list[list[object]] = [HEADER, ["Education services", 10]]
    rows += [[f"Line {i}", "see note"] for i in range(25)]
    rows.append(["Library service", 5])
    found, issues = read(xlsx(rows))
    assert found.total_pence == 15 * 100
    assert found.left_out[0].reason == "not an amount: 'see note'"
    bad = [i for i in issues if i.code == "unparseable-amount"]
    # an issue a cell up to the limit, then a count of the rest
    assert [(i.row, i.column) for i in bad] == [(r, "B") for r in range(3, 23)]
    assert "…and 5 more cells like these." in (bad[-1].note or "")


def test_strict_stops_at_free_text(xlsx: Callable[..., Path]) -> None:
    path = xlsx([HEADER, ["Education services", 10], ["Library service", "(1,2O4)"]])
    with pytest.raises(InputError) as err:
        read(path, strict=True)
    [issue] = err.value.issues
    assert (issue.code, issue.row, issue.column) == ("unparseable-amount", 3, "B")


def test_total_rows_are_found_by_arithmetic(xlsx: Callable[..., Path]) -> None:
    rows = [
        HEADER,
        ["Education services", 100],
        ["Total Access Scaffolding Limited", 40],  # a supplier: 40 is not 100
        ["Subtotal", 140],  # 100 + 40
        ["Library service", 7],
        ["Parks", 3],
        ["Total culture", 10],  # 7 + 3
        ["Grand total", 150],  # 140 + 10: every line above
        ["Total misprint", 999],  # nothing adds up to it: a line
    ]
    found, issues = read(xlsx(rows))
    assert [(ln.row, ln.reason) for ln in found.left_out] == [
        (4, "total row"),
        (7, "total row"),
        (8, "total row"),
    ]
    assert found.total_pence == (100 + 40 + 7 + 3 + 999) * 100
    summary = [(t["row"], t["printed"], t["sum"], t["matched"]) for t in found.total_rows]
    assert summary == [
        (3, "40.00", "100.00", False),
        (4, "140.00", "140.00", True),
        (7, "10.00", "10.00", True),
        (8, "150.00", "150.00", True),
        (9, "999.00", "0.00", False),
    ]
    unmatched = [(i.row, i.severity) for i in issues if i.code == "total-not-matched"]
    assert unmatched == [(3, "info"), (9, "info")]


def test_stacked_tables_each_with_a_total(xlsx: Callable[..., Path]) -> None:
    rows = [HEADER, ["A", 1], ["B", 2], ["TOTAL", 3], ["C", 5], ["D", 6], ["TOTAL", 11]]
    rows += [["TOTAL SERVICES", 14]]  # totals of totals: every line of the table
    found, _ = read(xlsx(rows))
    assert found.total_pence == 14 * 100
    assert [t["matched"] for t in found.total_rows] == [True, True, True]


def test_a_printed_total_may_differ_by_its_lines_rounding(xlsx: Callable[..., Path]) -> None:
    # £ thousand, rounded: three lines of 1.4 each print as 1, and the total of 4.2 as 4
    rows = [["Service", "Net expenditure (£000)"], ["A", 1], ["B", 1], ["C", 1], ["Total", 4]]
    found, _ = read(xlsx(rows))
    assert found.total_pence == 3 * 1000 * 100
    assert found.total_rows[0]["matched"] is True


def test_ingest_reports_total_rows(xlsx: Callable[..., Path], db: Path) -> None:
    from placecount import api

    path = xlsx([HEADER, ["A", 1.5], ["B", 2], ["Total", 3.5]])
    result = api.ingest("council", [path], db, org="X", dry_run=True)
    [src] = result.sources
    assert src["total_rows"] == [
        {
            "row": 4,
            "label": "Total",
            "printed": "3.50",
            "sum": "3.50",
            "lines": 2,
            "heads": "all lines above",
            "matched": True,
        }
    ]
    assert Decimal(src["total_gbp"]) == Decimal("3.5")


def test_a_bare_total_that_does_not_add_up_is_still_a_total(xlsx: Callable[..., Path]) -> None:
    # "Total" alone names nothing that could be paid: left out, with a warning to check
    found, issues = read(xlsx([HEADER, ["A", 1], ["B", 2], ["TOTAL", 10]]))
    assert found.total_pence == 3 * 100
    assert [(ln.row, ln.reason) for ln in found.left_out] == [(4, "total row")]
    [warn] = [i for i in issues if i.code == "total-not-matched"]
    assert (warn.row, warn.severity) == (4, "warning")


def test_a_total_printed_above_its_lines(xlsx: Callable[..., Path]) -> None:
    rows = [HEADER, ["Total expenditure", 30], ["A", 10], ["B", 20]]
    found, _ = read(xlsx(rows))
    assert found.total_pence == 30 * 100
    [check] = found.total_rows
    assert (check["row"], check["heads"], check["matched"]) == (2, "lines below", True)


def test_subtotals_name_the_rows_they_head(xlsx: Callable[..., Path]) -> None:
    rows = [HEADER, ["A", 1], ["Total A", 1], ["B", 2], ["C", 3], ["Total B and C", 5]]
    found, _ = read(xlsx(rows))
    assert [t["heads"] for t in found.total_rows] == ["all lines above", "lines since row 4"]
