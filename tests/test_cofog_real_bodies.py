"""The NDPB and payments mapping tables on the files bodies really publish (issue 13).

The expected sums are worked out here from the files with openpyxl and Decimal, never
from placecount's output. The files are not part of the project: the tests are skipped
when they are absent.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from placecount.cofog import load_mapping, map_lines
from placecount.models import ReadOptions
from placecount.sources import read_sources

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
PBD = REAL / "ndpb" / "Public_Bodies_Directory_2023_24.xlsx"
PAYMENTS = REAL / "payments" / "Babergh_District_Council_payments.xlsx"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the published file {path.name} is not here (see the project's sources)")
    return path


def penny(value: object) -> int:
    """A cell in pounds as pence, rounded once to the penny (binary noise such as
    851516711.580000043 is not money)."""
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# --- the Public Bodies Directory --------------------------------------------------------------


@cache
def directory_bodies() -> list[dict[str, Any]]:
    """Every body of the directory's ``Data`` sheet, read here by its header names."""
    wb = load_workbook(need(PBD), read_only=True, data_only=True)
    try:
        ws = wb["Data"]
        ws.reset_dimensions()  # the sheet's stated dimension is wrong: read every row
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    at = next(i for i, r in enumerate(rows) if r and r[0] == "overall_financial_year")
    header = [str(h) for h in rows[at]]
    return [dict(zip(header, r, strict=False)) for r in rows[at + 1 :] if r[1]]


def test_the_directorys_executive_ndpbs_add_up_to_the_published_figure() -> None:
    # the reading above is checked against the figure in the sources' notes first
    bodies = [b for b in directory_bodies() if b["overall_classification"] == "Executive NDPB"]
    total = sum(penny(b["finance_spend_tme"]) for b in bodies if b["finance_spend_tme"] is not None)
    assert len(bodies) == 116
    assert total == 22959066562694  # £229,590,665,626.94


@cache
def directory_mapped() -> tuple[Any, Any]:
    opts = ReadOptions(share=Fraction(1), share_text="1")
    reads, _ = read_sources("ndpb", need(PBD), opts)
    (read,) = reads
    table, allocations, _ = map_lines(read.table, load_mapping("ndpb"), read.file_name, read.sheet)
    return table, allocations


def test_ndpb_table_maps_at_least_99_5_percent_of_the_counted_bodies_money() -> None:
    # the bodies the Cumbria rules keep: executive NDPBs not sponsored by the Foreign Office
    kept = [
        b
        for b in directory_bodies()
        if b["overall_classification"] == "Executive NDPB"
        and "Foreign" not in b["overall_parent_department"]
        and b["finance_spend_tme"] is not None
    ]
    expected = sum(penny(b["finance_spend_tme"]) for b in kept)
    table, allocations = directory_mapped()
    lines = table.to_pylist()
    counted = [r for r in lines if r["included"]]
    outside = [r for r in lines if r["reason"] and r["reason"].startswith("not spending")]
    # every kept body is either counted or left out by its mapping row, with its reason
    assert {r["native_label"] for r in counted + outside} == {b["overall_alb_name"] for b in kept}
    assert sum(r["amount_pence"] for r in counted + outside) == expected
    assert sum(allocations["amount_pence"].to_pylist()) == sum(r["amount_pence"] for r in counted)
    done = sum(abs(r["amount_pence"]) for r in counted if r["mapped"])
    whole = sum(abs(r["amount_pence"]) for r in counted)
    rest = {r["native_label"]: r["amount_pence"] for r in counted if not r["mapped"]}
    assert Fraction(done, whole) >= Fraction(995, 1000), rest
    # each body is found under its sponsor department, or by a row written for its name
    rules = allocations["rule"].to_pylist()
    assert all(r.startswith("ndpb.csv line ") for r in rules)


def test_every_body_but_the_advisory_ones_has_a_row_under_its_sponsor() -> None:
    # executive agencies, non-ministerial departments, Crown NDPBs and tribunals are left
    # out of a count, but a list of spending in the place may name them: each has a row
    mapping = load_mapping("ndpb")
    money: dict[str, int] = defaultdict(int)
    found: dict[str, int] = defaultdict(int)
    missing: list[str] = []
    for b in directory_bodies():
        status = b["overall_classification"]
        if status == "Advisory NDPB":
            continue
        pence = abs(penny(b["finance_spend_tme"] or 0))
        money[status] += pence
        if mapping.find(None, b["overall_alb_name"], b["overall_parent_department"]):
            found[status] += pence
        else:
            missing.append(b["overall_alb_name"])
    assert set(money) == {
        "Executive NDPB",
        "Crown NDPB",
        "Executive Agency",
        "Non-Ministerial Department",
        "Tribunal NDPB",
    }
    assert missing == []
    assert found == money


# --- a council's payments to suppliers --------------------------------------------------------


@cache
def payments_2023_24() -> list[tuple[str, int]]:
    """(supplier, pence) of each payment dated 1 April 2023 - 31 March 2024, read here."""
    import datetime as dt

    wb = load_workbook(need(PAYMENTS), read_only=True, data_only=True)
    try:
        ws = wb["Sheet15"]
        ws.reset_dimensions()
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    assert rows[0][:4] == ("Council name", "Payment Date", "Supplier", "Amount")
    out = []
    for _, when, supplier, amount in (r[:4] for r in rows[1:]):
        if isinstance(when, dt.datetime):
            day = when.date()
        else:
            day = dt.date.fromisoformat(str(when)[:10])
        if dt.date(2023, 4, 1) <= day <= dt.date(2024, 3, 31):
            # one cell is written with a decimal comma, 1241,32
            text = amount.replace(",", ".") if isinstance(amount, str) else amount
            out.append((str(supplier).strip(), penny(text)))
    return out


def test_payments_list_carries_no_service_so_no_payment_is_placed_by_its_supplier() -> None:
    """The list gives a date, a supplier and an amount: nothing says what service a payment
    bought, so payments.csv (keyed by expense types and services) places none of it, and
    every payment is kept and shown as not mapped, by supplier, never guessed."""
    expected = payments_2023_24()
    assert (len(expected), sum(p for _, p in expected)) == (6258, 3260820940)
    opts = ReadOptions(share=Fraction(1), share_text="1", year="2023-24")
    reads, _ = read_sources("payments", need(PAYMENTS), opts)
    (read,) = reads
    assert "code" not in read.columns  # no expense type, service or cost centre column
    table, allocations, issues = map_lines(
        read.table, load_mapping("payments"), read.file_name, read.sheet
    )
    kept = [r for r in table.to_pylist() if r["included"]]
    assert sum(r["amount_pence"] for r in kept) == sum(p for _, p in expected)
    # the share mapped, and the rest listed by label: all of it, supplier by supplier
    done = sum(abs(r["amount_pence"]) for r in kept if r["mapped"])
    rest: dict[str, int] = defaultdict(int)
    for r in kept:
        if not r["mapped"]:
            rest[r["native_label"]] += r["amount_pence"]
    by_supplier: dict[str, int] = defaultdict(int)
    for supplier, pence in expected:
        by_supplier[supplier] += pence
    assert done == 0
    assert allocations.num_rows == 0
    assert rest == dict(by_supplier)
    assert len([i for i in issues if i.code == "unmapped-line"]) == len(by_supplier)
