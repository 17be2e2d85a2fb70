"""Rules for reading a long table's rows: published markers, odd cells, total rows.

Every expected figure is worked out here from the cells the test writes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


_LARGE_AND_SMALL = (
    "Service,{amount},Supplier\n"
    "Education services, 12.50 ,A\n"
    "Highways and transport services,(1234.56),B\n"
    "Children's social care,,C\n"
    "Adult social care,[x],D\n"
    "Service,{amount},Supplier\n"
    "Housing services,{odd},E\n"
    'Cultural and related services,"£1,000.10",F\n'
    "Total,1012.29,\n"
    "Note: provisional,,\n"
)


@pytest.mark.parametrize("amount", ["Net expenditure (£)", "Net expenditure (£000)"])
@pytest.mark.parametrize("odd", ["1.23", "1.235", "-0.5"])
def test_a_large_csv_is_read_as_a_small_one_issue_16(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, amount: str, odd: str
) -> None:
    """Past 8 MB a CSV is read by DuckDB, its columns in pieces and its plain amounts as
    DECIMAL(18, 2): the lines and messages are those of the same file read in Python."""
    from placecount.sources import _grid

    path = tmp_path / "payments.csv"
    path.write_text(_LARGE_AND_SMALL.format(amount=amount, odd=odd), encoding="utf-8")
    small, small_issues = read(path)
    monkeypatch.setattr(_grid, "CSV_PYTHON_LIMIT", 0)
    large, large_issues = read(path)
    assert large.table.to_pylist() == small.table.to_pylist()
    assert [i.message for i in large_issues] == [i.message for i in small_issues]
    assert small.table.column("reason").to_pylist()[4] == "header row repeated"


@given(
    st.lists(
        st.one_of(
            st.none(),
            # up to £10bn: in millions, the general path's pence stay within 64 bits
            st.decimals(min_value=-(10**10), max_value=10**10, places=2).map(str),
            st.decimals(min_value=-(10**9), max_value=10**9, places=4).map(str),
            st.sampled_from(["5.", ".5", "-0", "007.10", "x", "1e3"]),
        ),
        max_size=30,
    ),
    st.sampled_from(["pounds", "thousands", "millions"]),
)
def test_plain_amounts_are_exact_pence_issue_16(texts: list[str | None], units: str) -> None:
    """Plain numbers become pence rounded half to even, whichever path reads them."""
    from decimal import ROUND_HALF_EVEN

    import pyarrow as pa
    import pyarrow.compute as pc

    from placecount.sources._cells import UNIT_FACTOR
    from placecount.sources._table import _PLAIN_NUMBER, _plain_pence

    amount = pa.array(texts, pa.string())
    plain = pc.fill_null(pc.match_substring_regex(amount, _PLAIN_NUMBER), False)
    expected = [
        int((Decimal(t) * UNIT_FACTOR[units] * 100).quantize(Decimal(1), ROUND_HALF_EVEN))
        if is_plain
        else None
        for t, is_plain in zip(texts, plain.to_pylist(), strict=True)
    ]
    assert _plain_pence(amount, plain, units).to_pylist() == expected
