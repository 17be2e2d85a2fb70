"""Amounts, units, headers and years as public-sector spreadsheets write them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from placecount.sources._cells import (
    detect_units,
    financial_year,
    header_key,
    missing_reason,
    normalise,
    parse_amount,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1,234", ("number", Decimal("1234"))),
        ("£1,234.56", ("number", Decimal("1234.56"))),
        ("(1,234)", ("number", Decimal("-1234"))),
        ("(£1,234.50)", ("number", Decimal("-1234.50"))),
        ("-1,234", ("number", Decimal("-1234"))),
        ("−12", ("number", Decimal("-12"))),  # Unicode minus
        ("£-5", ("number", Decimal("-5"))),
        (" 12 ", ("number", Decimal("12"))),
        ("1 234 567", ("number", Decimal("1234567"))),
        (1234.567, ("number", Decimal("1234.567"))),
        (0.1 + 0.2, ("number", Decimal("0.30000000000000004"))),
        (42, ("number", Decimal(42))),
        ("-", ("nil", Decimal(0))),
        ("–", ("nil", Decimal(0))),
        ("—", ("nil", Decimal(0))),
        (None, ("blank", None)),
        ("", ("blank", None)),
        ("   ", ("blank", None)),
        ("..", ("not-available", None)),
        ("n/a", ("not-available", None)),
        ("1.2.3", ("bad", None)),
        ("(1,2O4)", ("bad", None)),
        # a comma with two digits after it and no other can only be a decimal comma
        # (was "bad": now read, and warned about by the table reader)
        ("12,34", ("decimal-comma", Decimal("12.34"))),
        ("1241,32", ("decimal-comma", Decimal("1241.32"))),
        ("12,3456", ("bad", None)),
        ("[x]", ("not-available", None)),
        ("[c]", ("not-available", None)),
        ("[z]", ("not-available", None)),
        ("[low]", ("not-available", None)),
        ("*", ("not-available", None)),
        ("Subsumed into line 310", ("not-available", None)),
        ("NaN", ("bad", None)),
        ("∞", ("bad", None)),
        (float("nan"), ("bad", None)),
        (float("inf"), ("bad", None)),
        (True, ("bad", None)),
        (dt.date(2009, 3, 31), ("bad", None)),
        ("1e3", ("number", Decimal("1E+3"))),
    ],
)
def test_parse_amount(cell: object, expected: tuple[str, Decimal | None]) -> None:
    assert parse_amount(cell) == expected


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2))
def test_amount_written_any_way_reads_back(value: Decimal) -> None:
    """However a finance officer formats a number, the same amount comes back."""
    plain = f"{abs(value):f}"
    grouped = f"{abs(value):,.2f}"
    for text, sign in [
        (plain, 1),
        (grouped, 1),
        (f"£{grouped}", 1),
        (f"({grouped})", -1),
        (f"-{grouped}", -1),
    ]:
        kind, number = parse_amount(text)
        assert kind == "number"
        assert number == sign * abs(value)


@given(st.text(max_size=30))
def test_parse_amount_never_raises(text: str) -> None:
    kind, number = parse_amount(text)
    assert kind in {"number", "decimal-comma", "nil", "blank", "not-available", "bad"}
    assert (number is None) == (kind in {"blank", "not-available", "bad"})


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("Net current expenditure (£ thousand)", "thousands"),
        ("Net expenditure £000", "thousands"),
        ("Net expenditure £'000", "thousands"),
        ("Spend (£k)", "thousands"),
        ("£ thousands", "thousands"),
        ("£m", "millions"),
        ("£ million", "millions"),
        ("Table 9.15 ... (£ millions)", "millions"),
        ("Net expenditure (£)", "pounds"),
        ("Net expenditure", None),
        ("Year 2008-09", None),
    ],
)
def test_detect_units(text: str, units: str | None) -> None:
    assert detect_units(text) == units


def test_header_key_drops_units_and_punctuation() -> None:
    assert header_key("Net current expenditure (£ thousand)") == "net current expenditure"
    assert header_key("Net expenditure £000") == "net expenditure"
    assert normalise("Children's & Families' Services") == "childrens and families services"
    assert normalise("7.1 Medical services") == "7.1 medical services"
    assert normalise("Education n.e.c.") == "education n e c"


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2008-09", "2008-09"),
        ("2008/09", "2008-09"),
        ("2008-2009", "2008-09"),
        ("Revenue outturn 2008/2009", "2008-09"),
        ("1999-00", "1999-00"),
        ("2008-10", None),
        ("2008", None),
        (None, None),
    ],
)
def test_financial_year(text: str | None, year: str | None) -> None:
    assert financial_year(text) == year


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("[x]", "suppressed [x] (not available)"),
        ("[c]", "suppressed [c] (confidential)"),
        ("[z]", "not applicable [z]"),
        ("[low]", "suppressed [low] (too small to show)"),
        ("..", "not available '..'"),
        ("*", "suppressed '*'"),
        ("N/A", "not available 'n/a'"),
        ("Subsumed into 310", "subsumed into another line: 'Subsumed into 310'"),
        ("1,234", None),
        ("free text", None),
    ],
)
def test_missing_reason(cell: str, reason: str | None) -> None:
    assert missing_reason(cell) == reason
