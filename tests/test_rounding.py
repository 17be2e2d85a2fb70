"""Rounding once (issue 15): shares and totals rounded from exact values in one place, the
same in every format, and every table adding up."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.rounding import largest_remainder, per_heads, round_half_up, shares

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "exampleshire"


def test_largest_remainder_by_hand() -> None:
    # thirds of 100: 33.33 each floors to 33; the first gets the missing 1
    assert largest_remainder([Fraction(100, 3)] * 3) == [34, 33, 33]
    # 4.45 + 4.45 + 91.1 = 100: floors 4 + 4 + 91 = 99, largest remainder .45 (the first)
    assert largest_remainder([Fraction("4.45"), Fraction("4.45"), Fraction("91.1")]) == [5, 4, 91]
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=30))
def test_shares_add_to_one_and_are_never_more_than_a_tenth_of_a_point_off(
    parts: list[int],
) -> None:
    got = shares(parts)
    if sum(parts) == 0:
        assert got == [None] * len(parts)
        return
    assert sum(Decimal(s or 0) for s in got) == Decimal("1.000")
    for p, s in zip(parts, got, strict=True):
        assert abs(Fraction(str(s)) - Fraction(p, sum(parts))) < Fraction(1, 1000)


@given(
    st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=30),
    st.integers(min_value=1, max_value=10**8),
)
def test_per_heads_add_up_to_the_total_per_head(parts: list[int], population: int) -> None:
    got = per_heads(parts, population)
    assert sum(g or 0 for g in got) == round_half_up(Fraction(sum(parts), population))


def test_three_paths_administration_is_the_exact_total_rounded_once(tmp_path: Path) -> None:
    # three paths, each delivering £1.00 through 3 hand-overs at 20%: each needed
    # 100 / 0.512 = 195.3125p; in all 585.9375p, so £5.86 in and £2.86 administration.
    # Rounded path by path it would be 3 × 195p = £5.85 and £2.85.
    path = tmp_path / "chains.csv"
    path.write_text(
        "stream,path,amount_gbp,measured_at\n"
        "S,A > B > C > X,1.00,delivered\n"
        "S,A > B > C > Y,1.00,delivered\n"
        "S,A > B > C > Z,1.00,delivered\n",
        encoding="utf-8",
    )
    result = api.flows(path)
    assert result["totals"]["in_gbp"] == "5.86"
    assert result["totals"]["administration_gbp"] == "2.86"
    assert sum(Decimal(p["administration_gbp"]) for p in result["paths"]) == Decimal("2.86")
    assert sum(Decimal(p["in_gbp"]) for p in result["paths"]) == Decimal("5.86")
    # 286 / 300 = 0.9533: 95.3% in every format
    assert result["totals"]["administration_share_of_delivered"] == "0.953"


def _example_db(tmp_path: Path) -> Path:
    db = tmp_path / "placecount.duckdb"
    api.init(db, "Exampleshire", "2008-09", population=512300)
    api.ingest(
        "council",
        [EXAMPLES / "county_council_outturn_2008-09.xlsx"],
        db,
        org="Exampleshire County Council",
    )
    api.ingest("nhs", [EXAMPLES / "nhs_exampleshire_2008-09.xlsx"], db)
    api.ingest(
        "police",
        [EXAMPLES / "police_authority_poa_2008-09.xlsx"],
        db,
        org="Exampleshire Police Authority",
    )
    return db


def test_every_format_shows_the_same_rounded_shares_and_totals(tmp_path: Path) -> None:
    db = _example_db(tmp_path)
    runner = CliRunner()

    def out(*args: str) -> str:
        done = runner.invoke(app, ["report", *args, "--db", str(db)], env={"COLUMNS": "200"})
        assert done.exit_code == 0, done.output
        return done.stdout

    data = json.loads(out("--format", "json"))
    rows = data["rows"]
    # worked out here from the exact pence, not taken from the report: each share to 0.1%
    total = sum(int(Decimal(r["total_gbp"]) * 100) for r in rows)
    assert Decimal(data["totals"]["total_gbp"]) * 100 == total
    wanted = [f"{s}%" for s in _by_hand_shares([int(Decimal(r["total_gbp"]) * 100) for r in rows])]
    assert [f"{Decimal(r['share_of_total']) * 100:.1f}%" for r in rows] == wanted
    assert sum(Decimal(r["share_of_total"]) for r in rows) == 1

    table = out()
    md = out("--format", "md")
    out("-o", str(tmp_path / "count.html"))
    page = (tmp_path / "count.html").read_text(encoding="utf-8")
    out("-o", str(tmp_path / "count.xlsx"))
    ws = load_workbook(tmp_path / "count.xlsx")["Count"]
    xlsx_shares = []
    xlsx_totals = []
    for row in ws.iter_rows():
        for cell in row:
            if cell.number_format.endswith("%") and isinstance(cell.value, float):
                xlsx_shares.append(f"{Decimal(str(cell.value)) * 100:.1f}%")
    for code in [r["cofog_code"] for r in rows]:
        for row in ws.iter_rows(values_only=True):
            if row and row[0] == code:
                xlsx_totals.append(row)
    assert xlsx_shares[: len(wanted)] == wanted
    for text in (table, md, page):
        found = re.findall(r"\d+\.\d%", text)
        for w in wanted:
            assert w in found
    csv_rows = list(csv.DictReader(io.StringIO(out("--format", "csv"))))
    assert sum(Decimal(r["amount_gbp"]) for r in csv_rows) == Decimal(data["totals"]["total_gbp"])
    for r in rows:
        for text in (table, md, page):
            assert f"{Decimal(r['total_gbp']):,.2f}" in text
    assert len(xlsx_totals) == len(rows)


def _by_hand_shares(parts: list[int]) -> list[str]:
    """Largest remainder to 0.1%, written out separately from the library."""
    whole = sum(parts)
    tenths = [Fraction(p * 1000, whole) for p in parts]
    floors = [int(t) for t in tenths]
    missing = 1000 - sum(floors)
    by_rest = sorted(range(len(parts)), key=lambda i: (floors[i] - tenths[i], -parts[i], i))
    for i in by_rest[:missing]:
        floors[i] += 1
    return [f"{Decimal(f) / 10:.1f}" for f in floors]
