"""Payment lists: dated payments to suppliers, kept to the year, out of the count by default.

Every expected figure is worked out here from the cells the test writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.errors import InputError
from placecount.models import ReadOptions
from placecount.sources import read_source
from placecount.sources.payments import financial_year_of, parse_date, pence_evidence

HEADER = ["Council name", "Payment Date", "Supplier", "Amount"]


def payments(year_rows: list[tuple[dt.date, str, object]]) -> list[list[object]]:
    return [HEADER] + [["Testshire DC", d, s, a] for d, s, a in year_rows]


ROWS = [
    (dt.date(2008, 3, 31), "Early Ltd", 100000.25),  # 2007-08
    (dt.date(2008, 4, 1), "Acme Ltd", 250000.5),
    # a supplier called "Total …" paid exactly the sum of the payments above it: it is
    # dated, so it is a payment, not a total row
    (dt.date(2008, 9, 30), "Total Access Scaffolding Limited", 350000.75),
    (dt.date(2009, 3, 31), "Beta plc", 199999.99),
    (dt.date(2009, 4, 1), "Late Ltd", 70000.01),  # 2009-10
    (dt.date(2008, 6, 1), "Gamma LLP", "241241,32"),
    (dt.date(2008, 7, 1), "Delta Ltd", 212000.34),
]
IN_YEAR = ["250000.5", "350000.75", "199999.99", "241241.32", "212000.34"]


def read(path: Path, **options: Any) -> tuple[Any, list[Any]]:
    return read_source("payments", path, ReadOptions(**options))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2023-11-22 00:00:00", dt.date(2023, 11, 22)),
        ("22/11/2023", dt.date(2023, 11, 22)),
        ("22.11.23", dt.date(2023, 11, 22)),
        ("22 Nov 2023", dt.date(2023, 11, 22)),
        ("22-November-2023", dt.date(2023, 11, 22)),
        ("45252", dt.date(2023, 11, 22)),
        ("31/02/2023", None),
        ("soon", None),
    ],
)
def test_parse_date(text: str, day: dt.date | None) -> None:
    assert parse_date(text) == day


def test_financial_year_of() -> None:
    assert financial_year_of(dt.date(2009, 3, 31)) == "2008-09"
    assert financial_year_of(dt.date(2009, 4, 1)) == "2009-10"


def test_only_the_year_is_kept_and_the_rest_counted_in_an_issue(
    xlsx: Callable[..., Path],
) -> None:
    found, issues = read(xlsx(payments(ROWS)), year="2008-09", population=100_000)
    assert found.total_pence == int(sum(Decimal(a) for a in IN_YEAR) * 100)
    assert [(ln.row, ln.reason) for ln in found.left_out] == [
        (2, "paid outside 2008-09"),
        (6, "paid outside 2008-09"),
    ]
    [outside] = [i for i in issues if i.code == "outside-year"]
    assert outside.message.startswith("2 payments outside 2008-09 left out")
    kept = found.kept
    assert [ln.extra["paid_on"] for ln in kept][:2] == ["2008-04-01", "2008-09-30"]
    # the supplier is the line's label; a supplier called "Total …" is a payment
    assert "Total Access Scaffolding Limited" in [ln.native_label for ln in kept]
    assert {ln.org for ln in kept} == {"Testshire DC"}
    assert found.units == "pounds" and "carry pence" in found.units_from
    assert found.part == "partial, not counted"
    [comma] = [i for i in issues if i.code == "decimal-comma"]
    assert (comma.row, comma.column) == (7, "D")
    [check] = found.total_rows
    assert (check["row"], check["matched"]) == (4, False)


def test_the_project_year_is_used_when_no_year_is_given(xlsx: Callable[..., Path]) -> None:
    found, _ = read(xlsx(payments(ROWS)), project_year="2009-10", units="pounds")
    assert found.total_pence == 7000001


def test_with_no_year_every_payment_is_kept_with_a_warning(xlsx: Callable[..., Path]) -> None:
    found, issues = read(xlsx(payments(ROWS)))
    every = sum(Decimal(str(a).replace(",", ".")) for _, _, a in ROWS)
    assert found.total_pence == int(every * 100)
    [warn] = [i for i in issues if i.code == "year-not-stated"]
    assert "2008-03-31 to 2009-04-01 (3 financial years)" in warn.message


def test_an_expense_type_maps_the_payment(xlsx: Callable[..., Path], db: Path) -> None:
    rows: list[list[object]] = [["Date", "Supplier", "Service", "Amount (£)"]]
    rows += [[dt.date(2008, 5, 1), "Books Ltd", "Library service", 120.5]]
    rows += [[dt.date(2008, 5, 2), "Stone Ltd", "Mystery", 80]]
    # the header states £: the unit needs no other evidence
    result = api.ingest("payments", [xlsx(rows)], db, org="Testshire DC")
    [src] = result.sources
    assert (src["units"], src["units_from"]) == ("pounds", "header 'Amount (£)'")
    assert (src["unmapped_lines"], src["unmapped_gbp"]) == (1, "80.00")


def test_units_not_proved_without_pence_or_population(xlsx: Callable[..., Path]) -> None:
    rows = payments([(dt.date(2008, 5, 1), "A", 100), (dt.date(2008, 5, 2), "B", 200)])
    with pytest.raises(InputError) as err:
        read(xlsx(rows), year="2008-09")
    assert err.value.issues[0].code == "unit-not-proved"


def test_pence_evidence_tells_pounds_from_thousands() -> None:
    import pyarrow as pa

    assert pence_evidence(pa.array(["1.25", "2.5", "3.99", "4.01", "5.10", "7"]))[0]
    assert not pence_evidence(pa.array(["1.253", "2.5", "3.994", "4.012", "5.101"]))[0]
    assert not pence_evidence(pa.array(["1", "2", "3"]))[0]


def test_payments_are_out_of_the_count_unless_ingested_with_count(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(payments(ROWS))
    in_year = sum(Decimal(a) for a in IN_YEAR)
    result = runner.invoke(app, ["ingest", "payments", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    report = api.report(db)
    assert report["totals"]["total_gbp"] == "0.00"
    assert report["reconciliation"]["not_counted"] == [
        {
            "kind": "payments",
            "label": "payments, not counted (partial)",
            "sources": 1,
            "lines": 5,
            "amount_gbp": f"{in_year:.2f}",
        }
    ]
    traced = api.trace(db, "unmapped")
    assert {x["treatment"] for x in traced["lines"]} == {"not-counted"}
    assert len(traced["lines"]) == 5
    result = runner.invoke(
        app, ["ingest", "payments", str(path), "--count", "--replace", "--db", str(db)]
    )
    assert result.exit_code == 0, result.stderr
    report = api.report(db)
    assert report["totals"]["total_gbp"] == f"{in_year:.2f}"
    assert report["reconciliation"]["not_counted"] == []


def test_count_is_for_payment_lists_only(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx([["Service", "Net expenditure"], ["Education services", 5]])
    result = runner.invoke(app, ["ingest", "council", str(path), "--count", "--db", str(db)])
    assert result.exit_code == 2
    assert "--count applies to payment lists only" in result.stderr


def test_a_year_with_no_payments_keeps_none(xlsx: Callable[..., Path]) -> None:
    found, issues = read(xlsx(payments(ROWS)), year="2015-16", population=100_000)
    assert found.kept_count == 0
    [outside] = [i for i in issues if i.code == "outside-year"]
    assert outside.message.startswith(f"{len(ROWS)} payments outside 2015-16 left out")


def test_an_undated_payment_is_left_out_when_a_year_is_asked(xlsx: Callable[..., Path]) -> None:
    rows = payments(ROWS)
    rows.insert(3, ["Testshire DC", "soon", "Vague Ltd", 10.5])
    found, issues = read(xlsx(rows), year="2008-09")
    assert [(ln.row, ln.reason) for ln in found.left_out if ln.reason == "no payment date"] == [
        (4, "no payment date")
    ]
    [warn] = [i for i in issues if i.code == "outside-year" and i.severity == "warning"]
    assert (warn.row, warn.column, warn.value) == (4, "B", "soon")
