"""The coverage rule (issue 12): which estimates a place's actuals replace.

The real-file test works its expected lines out from the CRA 2018 database with its own
code (openpyxl and Decimal): which rows a council and NHS bodies cover, and their sums.
It is skipped when the published file is not here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from placecount import api
from placecount.coverage import active_rules, load_kinds, load_rules, method_text
from placecount.errors import InputError

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
CRA_2018 = REAL / "pesa" / "CRA_2018_Database_for_Publication_rvsd.xlsx"
SHARE = Decimal("0.0685")
NHS_ORGANISATIONS = {"NHS Trusts", "NHS Commissioning Board (NHS England)", "Foundation Trusts"}


def test_bundled_tables_read_and_every_kind_has_a_nature() -> None:
    kinds = load_kinds()
    assert set(kinds) == {"council", "nhs", "police", "ndpb", "generic", "pesa"}
    assert (kinds["council"].sector, kinds["council"].economic) == ("LG", "current")
    assert (kinds["nhs"].sector, kinds["police"].sector, kinds["ndpb"].sector) == ("CG", "LG", "CG")
    assert kinds["pesa"].basis == "estimate"
    rules = {r.rule: r for r in load_rules()}
    assert (rules["council-lg"].sector, rules["council-lg"].except_cofog) == ("LG", "03.1")
    assert (rules["police-lg"].sector, rules["police-lg"].cofog) == ("LG", "03.1")
    assert rules["nhs-trusts"].organisation == "nhs trusts"
    assert rules["nhs-trusts"].coarse_cofog == "07"
    assert method_text().splitlines()[2] == (
        "- `nhs-trusts`: NHS bodies replace CG lines, department 'department of health…', "
        "organisation 'nhs trusts…'; where the estimate names no organisation, CG 07 (coarse). "
        "NHS bodies' accounts replace the Department of Health's NHS trusts."
    )


def test_rules_apply_only_for_kinds_in_the_count() -> None:
    rules = load_rules()
    assert active_rules(rules, {}) == []
    only_police = active_rules(rules, {"police": ["Testshire Police"]})
    assert [(r["rule"], r["cofog"]) for r in only_police] == [("police-lg", "03.1")]
    # an NDPB rule names each counted body
    ndpbs = active_rules(rules, {"ndpb": ["Sellafield Ltd", "Arts Council England"]})
    assert [r["organisation"] for r in ndpbs] == ["sellafield ltd", "arts council england"]


def test_a_bad_coverage_file_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "coverage.csv"
    path.write_text(
        "rule,actual_kind,sector,department,organisation,cofog,except_cofog,coarse_cofog,note\n"
        "a,council,LG,,,,,,\n"
        "b,council,LG,,,7.x,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_rules(path)
    issue = info.value.issues[0]
    assert (issue.code, issue.file, issue.row) == ("bad-coverage", "coverage.csv", 3)
    assert "'7.x' is not a COFOG code" in str(issue)


@cache
def cra_north_west() -> list[dict[str, Any]]:
    """The CRA 2018 rows of ENGLAND_North West with their Excel row and 2017-18 £000."""
    wb = load_workbook(CRA_2018, read_only=True, data_only=True)
    try:
        rows = list(wb["CRA 2018 database"].iter_rows(values_only=True))
    finally:
        wb.close()
    head = list(rows[0])
    col = {name: head.index(name) for name in head if name}
    out = []
    for n, r in enumerate(rows[1:], start=2):
        if r[col["NUTS Region"]] != "ENGLAND_North West":
            continue
        value = r[col["2017-18"]]
        out.append(
            {
                "row": n,
                "department": r[col["Department Name"]],
                "organisation": r[col["Organisation Name"]],
                "sector": r[col["CG, LG, PC, BOE"]],
                "subfunction": str(r[col["HMT Subfunction"]]),
                "economic": r[col["CAP or CUR"]],
                "thousands": Decimal(repr(value)) if isinstance(value, float) else Decimal(value),
            }
        )
    return out


def test_cra_2018_north_west_council_and_nhs_replace_exactly_what_they_cover(
    tmp_path: Path, xlsx: Callable[..., Path]
) -> None:
    """Done when (issue 12): every CG line stands except the Department of Health's NHS
    organisations; every LG line is replaced by the council except police (3.1), which
    no counted body reports; PC lines stand."""
    if not CRA_2018.exists():
        pytest.skip(f"the published file {CRA_2018.name} is not here (see the project's sources)")
    rows = cra_north_west()
    assert len(rows) == 1576  # as recorded with the file
    expected: dict[int, str] = {}
    for r in rows:
        nhs = r["department"].startswith("Department of Health") and (
            r["organisation"] in NHS_ORGANISATIONS
        )
        council = r["sector"] == "LG" and not r["subfunction"].startswith("3.1 ")
        expected[r["row"]] = "nhs" if nhs else "council" if council else "stands"
    thousands: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        thousands[expected[r["row"]]] += r["thousands"]
    # the NHS organisations, as recorded with the file
    assert thousands["nhs"] == Decimal("15591404")
    lg_police = sum(
        (
            r["thousands"]
            for r in rows
            if r["sector"] == "LG" and r["subfunction"].startswith("3.1 ")
        ),
        Decimal(0),
    )
    # LG identifiable current 15,227,880 + capital 3,105,672 (recorded), less police
    assert thousands["council"] == Decimal("15227880") + Decimal("3105672") - lg_police

    db = tmp_path / "placecount.duckdb"
    api.init(db, "North West place", "2017-18", population=500_000)
    council = xlsx(
        [["Service", "Net expenditure (£)"], ["Education services", 1_000_000]], name="c.xlsx"
    )
    nhs = xlsx([["Programme", "Net expenditure (£)"], ["Acute services", 2_000_000]], name="n.xlsx")
    api.ingest("council", [council], db, org="A Council")
    api.ingest("nhs", [nhs], db, org="An NHS Trust")
    other = xlsx(
        [["Programme", "Net expenditure (£)"], ["General practice", 2_000_000]], name="n2.xlsx"
    )
    api.ingest("nhs", [other], db, org="Another NHS Trust")
    api.ingest("pesa", [CRA_2018], db, region="North West", year="2017-18", share="0.0685")
    report = api.report(db, detail=True)

    treatment: dict[int, set[tuple[str, str | None]]] = defaultdict(set)
    pence: dict[int, int] = defaultdict(int)
    for line in report["lines"]:
        if line["kind"] != "pesa":
            continue
        treatment[line["excel_row"]].add((line["treatment"], line["replaced_by"]))
        pence[line["excel_row"]] += int(Decimal(line["amount_gbp"]) * 100)
    got: dict[int, str] = {}
    for row, seen in treatment.items():
        assert len(seen) == 1, (row, seen)  # a line is replaced whole or not at all
        what, rule = next(iter(seen))
        got[row] = (
            "stands"
            if what == "counted"
            else "council"
            if rule == "council-lg"
            else "nhs"
            if rule and rule.startswith("nhs-")
            else what
        )
    with_amount = {r["row"] for r in rows if r["row"] in got}
    assert got == {row: expected[row] for row in with_amount}
    # every row of the region with an amount is a line of the count
    assert {r["row"] for r in rows if r["thousands"]} <= set(got)
    for r in rows:  # each line is its cell × 1,000 × share, to the penny
        if r["row"] in pence:
            assert abs(pence[r["row"]] - r["thousands"] * 1000 * SHARE * 100) <= 1, r["row"]

    rec = report["reconciliation"]
    by_rule: dict[str, Decimal] = defaultdict(Decimal)
    for x in rec["replaced"]:
        by_rule["nhs" if x["rule"].startswith("nhs-") else "council"] += Decimal(x["amount_gbp"])
        assert not x["coarse"]  # the CRA names its organisations: replaced line by line
    for key in ("nhs", "council"):
        exact = thousands[key] * 1000 * SHARE
        lines = sum(1 for v in expected.values() if v == key)
        assert abs(by_rule[key] - exact) <= Decimal(lines) / 100, key  # a penny a line at most
    nhs_trusts = next(x for x in rec["replaced"] if x["rule"] == "nhs-trusts")
    assert nhs_trusts["estimate"] == "Department of Health and Social Care / NHS Trusts"
    assert nhs_trusts["bodies"] == 2 and nhs_trusts["actuals_gbp"] == "4000000.00"
    # NHS Trusts alone: 10,679,217 £000 × 0.0685 = £731,526,364.50, to a penny a line
    trusts = [r for r in rows if r["organisation"] == "NHS Trusts"]
    exact = sum((r["thousands"] for r in trusts), Decimal(0)) * 1000 * SHARE
    assert exact == Decimal("731526364.5")
    assert abs(Decimal(nhs_trusts["amount_gbp"]) - exact) <= Decimal(len(trusts)) / 100
    assert nhs_trusts["text"] == (
        "estimate: Department of Health and Social Care / NHS Trusts, ENGLAND_North West "
        f"× 0.0685 = £{Decimal(nhs_trusts['amount_gbp']):,.2f} — replaced by the actuals of "
        "2 NHS bodies, £4,000,000.00"
    )
    # the count: actuals 1,000,000 + 4,000,000, and what stands of the CRA
    stands = thousands["stands"] * 1000 * SHARE
    count = Decimal(rec["count_gbp"])
    assert abs(count - (Decimal(5_000_000) + stands)) <= Decimal(len(rows)) / 100
    # capital and current: the CRA says which; the council and NHS files are current only
    t = report["totals"]
    capital = sum(
        (
            r["thousands"]
            for r in rows
            if expected[r["row"]] == "stands" and str(r["economic"]).upper().startswith("CAP")
        ),
        Decimal(0),
    )
    assert abs(Decimal(t["capital_gbp"]) - capital * 1000 * SHARE) <= Decimal(len(rows)) / 100
    assert Decimal(t["unsplit_gbp"]) == 0
    hl = report["headline"]
    assert hl["basis"] == "current"  # councils and NHS bodies report current spending only
    assert Decimal(hl["amount_gbp"]) == count - Decimal(t["capital_gbp"])
