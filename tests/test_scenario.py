"""Savings scenarios, A − (B + C) = Y, with every figure worked out by hand (issue #5)."""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

import placecount.cli_scenario  # noqa: F401  (adds the commands to the app)
from placecount import api
from placecount.cli import app
from placecount.errors import InputError
from placecount.render import to_json
from placecount.scenario import Scenario, load_scenario, price, toml_lines

D = Decimal
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "scenarios" / "older_people_dorset.yaml"
CASES = ("low", "central", "high")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def priced(folder: Path, text: str, db: Path | None = None, **kw: Any) -> dict[str, Any]:
    return price(load_scenario(write(folder, "s.yaml", text)), db, **kw)


def years(result: dict[str, Any], case: str, key: str) -> list[str]:
    return [r[key] for r in result["cases"][case]["years"]]


def totals(result: dict[str, Any], case: str = "central") -> dict[str, str]:
    return result["cases"][case]["totals"]  # type: ignore[no-any-return]


HEAD = """\
name: Test
theme: older people
start_year: 2010-11
"""

# --- each kind of item -------------------------------------------------------------------


def test_an_amount_a_year_discounted_green_book_style(tmp_path: Path) -> None:
    """£1,000 a year for 3 years at 3.5%, the first year t = 0 (not discounted):
    1000/1.035^0 = 1000; 1000/1.035 = 966.1835… → 966.18; 1000/1.071225 = 933.5107… → 933.51;
    1000 + 966.18 + 933.51 = 2,899.69 against 3,000.00 undiscounted."""
    r = priced(tmp_path, HEAD + "years: 3\nA:\n  - {name: s, agency: NHS, amount: 1000}\n")
    assert years(r, "central", "a_gbp") == ["1000.00", "1000.00", "1000.00"]
    assert years(r, "central", "discount_factor") == ["1.000000", "0.966184", "0.933511"]
    assert years(r, "central", "discounted_y_gbp") == ["1000.00", "966.18", "933.51"]
    assert totals(r)["a_gbp"] == totals(r)["y_gbp"] == "3000.00"
    assert totals(r)["discounted_a_gbp"] == totals(r)["discounted_y_gbp"] == "2899.69"
    assert years(r, "central", "year") == ["2010-11", "2011-12", "2012-13"]
    assert r["method"]["discount_rate"] == "0.035"
    assert "year t = 0" in r["method"]["discounting"]
    assert r["method"]["discount_rate_from"].startswith("default")


def test_volume_times_unit_cost(tmp_path: Path) -> None:
    """120 avoided admissions × £2,100 = £252,000 a year; less £100,000 of B: Y = £152,000."""
    r = priced(
        tmp_path,
        HEAD + "years: 2\n"
        "A:\n  - {name: admissions, agency: NHS, volume: 120, unit_cost: 2100}\n"
        "B:\n  - {name: team, agency: Council, amount: 100000}\n",
    )
    assert years(r, "central", "a_gbp") == ["252000.00", "252000.00"]
    assert years(r, "central", "y_gbp") == ["152000.00", "152000.00"]
    assert totals(r)["y_gbp"] == "304000.00"
    assert r["items"][0]["cases"]["central"]["formula"] == ("120 × £2,100.00 = £252,000.00 a year")


def test_a_profile_ramps_an_item_up(tmp_path: Path) -> None:
    """252,000 × 0.25 = 63,000; × 0.5 = 126,000; × 1 = 252,000; total 441,000."""
    r = priced(
        tmp_path,
        HEAD + "years: 3\nA:\n  - {name: a, agency: NHS, volume: 120, unit_cost: 2100, "
        "profile: [0.25, 0.5, 1]}\n",
    )
    assert years(r, "central", "a_gbp") == ["63000.00", "126000.00", "252000.00"]
    assert totals(r)["a_gbp"] == "441000.00"


def test_low_central_high_cases(tmp_path: Path) -> None:
    """The low case is prudent: savings low, costs high; the high case the reverse.

    low:     80 × 2,100 = 168,000 − 130,000 (B high) = 38,000
    central: 120 × 2,100 = 252,000 − 100,000 = 152,000
    high:    150 × 2,100 = 315,000 − 90,000 (B low) = 225,000
    """
    r = priced(
        tmp_path,
        HEAD + "years: 1\nA:\n  - {name: a, agency: NHS, volume: 120, unit_cost: 2100, "
        "low: {volume: 80}, high: {volume: 150}}\n"
        "B:\n  - {name: b, agency: Council, amount: 100000, low: {amount: 90000}, "
        "high: {amount: 130000}}\n",
    )
    got = {c: (totals(r, c)["a_gbp"], totals(r, c)["b_gbp"], totals(r, c)["y_gbp"]) for c in CASES}
    assert got == {
        "low": ("168000.00", "130000.00", "38000.00"),
        "central": ("252000.00", "100000.00", "152000.00"),
        "high": ("315000.00", "90000.00", "225000.00"),
    }


def test_optimism_bias_uplifts_b_and_c_and_is_shown_apart(tmp_path: Path) -> None:
    """At 15%: B 100,000 → 115,000, C 40,000 → 46,000, the uplift 21,000; A untouched;
    Y = 252,000 − (115,000 + 46,000) = 91,000."""
    r = priced(
        tmp_path,
        HEAD + "years: 1\noptimism_bias: 0.15\n"
        "A:\n  - {name: a, agency: NHS, volume: 120, unit_cost: 2100}\n"
        "B:\n  - {name: b, agency: Council, amount: 100000}\n"
        "C:\n  - {name: c, agency: Council, amount: 40000}\n",
    )
    t = totals(r)
    assert (t["a_gbp"], t["b_gbp"], t["c_gbp"]) == ("252000.00", "115000.00", "46000.00")
    assert (t["b_before_bias_gbp"], t["c_before_bias_gbp"]) == ("100000.00", "40000.00")
    assert t["optimism_bias_gbp"] == "21000.00"
    assert t["y_gbp"] == "91000.00"
    assert r["method"]["optimism_bias"] == "0.15"


def test_each_item_year_is_rounded_half_to_even_once(tmp_path: Path) -> None:
    """B £0.10 × 1.15 = 11.5p → 12p (even); C £0.30 × 1.15 = 34.5p → 34p (even)."""
    r = priced(
        tmp_path,
        HEAD + "years: 1\noptimism_bias: 0.15\n"
        "B:\n  - {name: b, agency: X, amount: 0.10}\nC:\n  - {name: c, agency: X, amount: 0.30}\n",
    )
    assert (totals(r)["b_gbp"], totals(r)["c_gbp"], totals(r)["y_gbp"]) == ("0.12", "0.34", "-0.46")


def test_options_override_the_files_rate_and_bias(tmp_path: Path) -> None:
    """At 5%: 1,000 + 1,000/1.05 (952.38) = 1,952.38. Bias 20%: B 500 → 600."""
    text = (
        HEAD
        + "years: 2\noptimism_bias: 0.1\nA:\n  - {name: a, agency: N, amount: 1000}\n"
        + "B:\n  - {name: b, agency: C, amount: 500, profile: [1, 0]}\n"
    )
    r = priced(tmp_path, text, discount_rate="0.05", optimism_bias="0.2")
    assert totals(r)["discounted_a_gbp"] == "1952.38"
    assert totals(r)["b_gbp"] == "600.00"
    assert (r["method"]["discount_rate_from"], r["method"]["optimism_bias_from"]) == (
        "option",
        "option",
    )
    with pytest.raises(InputError) as caught:
        priced(tmp_path, text, discount_rate="1.5")
    assert caught.value.issues[0].code == "bad-option"
    assert "--discount-rate 1.5 must be at least 0 and below 1" in str(caught.value)


# --- payback ------------------------------------------------------------------------------


def test_payback_year_after_a_negative_start(tmp_path: Path) -> None:
    """Y = 100 − 300 = −200, then 100, 100, 100: cumulative −200, −100, 0, 100, so the
    payback year is the third, 2012-13 (cumulative 0 counts as paid back).
    Discounted: −200, 100/1.035 = 96.62, 100/1.035² = 93.35, 100/1.035³ = 90.19;
    cumulative −200, −103.38, −10.03, 80.16: the fourth year, 2013-14."""
    r = priced(
        tmp_path,
        HEAD + "years: 4\nA:\n  - {name: a, agency: N, amount: 100}\n"
        "B:\n  - {name: b, agency: C, amount: 300, profile: [1, 0, 0, 0]}\n",
    )
    assert years(r, "central", "cumulative_y_gbp") == ["-200.00", "-100.00", "0.00", "100.00"]
    assert r["cases"]["central"]["payback"] == {
        "year": "2012-13",
        "year_number": 3,
        "text": "2012-13 (year 3)",
    }
    assert years(r, "central", "cumulative_discounted_y_gbp") == [
        "-200.00",
        "-103.38",
        "-10.03",
        "80.16",
    ]
    assert r["cases"]["central"]["discounted_payback"]["year"] == "2013-14"


def test_payback_first_year_when_never_negative_and_none_when_never_repaid(
    tmp_path: Path,
) -> None:
    never_negative = priced(tmp_path, HEAD + "years: 2\nA:\n  - {name: a, agency: N, amount: 1}\n")
    assert never_negative["cases"]["central"]["payback"]["text"] == "2010-11 (year 1)"
    # −900, then +100 a year: cumulative −900, −800, −700
    never = priced(
        tmp_path,
        HEAD + "years: 3\nA:\n  - {name: a, agency: N, amount: 100}\n"
        "B:\n  - {name: b, agency: C, amount: 1000, profile: [1, 0, 0]}\n",
    )
    assert never["cases"]["central"]["payback"] == {
        "year": None,
        "year_number": None,
        "text": "not within 3 years",
    }


# --- who pays, who gains ------------------------------------------------------------------


def test_who_pays_and_who_gains_by_agency(tmp_path: Path) -> None:
    """Over 2 years: the NHS saves 100 × 2,000 = 200,000 a year → +400,000 (gains).
    The council saves 50,000 a year (100,000) but invests 120,000 (B, 240,000) and sustains
    30,000 (C, 60,000): 100,000 − 300,000 = −200,000 (pays). The trust sustains 10,000 a
    year: −20,000 (pays). The nets add up to Y: 400,000 − 200,000 − 20,000 = 180,000
    = A 500,000 − (B 240,000 + C 80,000)."""
    r = priced(
        tmp_path,
        HEAD + "years: 2\n"
        "A:\n  - {name: beds, agency: NHS, volume: 100, unit_cost: 2000}\n"
        "  - {name: care, agency: Council, amount: 50000}\n"
        "B:\n  - {name: team, agency: Council, amount: 120000}\n"
        "C:\n  - {name: clubs, agency: Council, amount: 30000}\n"
        "  - {name: advice, agency: Trust, amount: 10000}\n",
    )
    rows = [
        (a["agency"], a["a_gbp"], a["costs_gbp"], a["net_gbp"], a["role"])
        for a in r["cases"]["central"]["agencies"]
    ]
    assert rows == [
        ("NHS", "400000.00", "0.00", "400000.00", "gains"),
        ("Trust", "0.00", "20000.00", "-20000.00", "pays"),
        ("Council", "100000.00", "300000.00", "-200000.00", "pays"),
    ]
    assert totals(r)["y_gbp"] == "180000.00"


# --- per family saving from a journey -----------------------------------------------------

JOURNEY = """\
name: Mr A
touchpoints:
  - {agency: NHS, service: GP, contact: visit, count: 10, unit_cost: 36}
  - {agency: Council, service: social work, contact: visit, count: 4, hours: 2, hourly_cost: 40}
  - {agency: Council, service: chasing, contact: call, count: 20, hours: 0.25, hourly_cost: 30}
redesigned:
  - {agency: NHS, service: GP, contact: visit, count: 4, unit_cost: 36}
  - {agency: Council, service: social work, contact: visit, count: 2, hours: 2, hourly_cost: 40}
  - {agency: Council, service: chasing, contact: call, count: 4, hours: 0.25, hourly_cost: 30}
"""


def test_per_family_saving_split_by_the_journeys_agencies(tmp_path: Path) -> None:
    """Now: GP 10 × 36 = 360 (NHS); social work 4 × 2 × 40 = 320 and calls 20 × 0.25 × 30
    = 150 (council, 470); total 830. Redesigned: 4 × 36 = 144; 2 × 2 × 40 = 160 and
    4 × 0.25 × 30 = 30 (council, 190); total 334. Saving 496 a family: NHS 216, council
    280. × 100 families = 49,600 a year: NHS 21,600, council 28,000."""
    write(tmp_path, "journey.yaml", JOURNEY)
    r = priced(
        tmp_path,
        HEAD + "years: 1\nA:\n  - {name: j, per_family_saving: journey.yaml, families: 100}\n",
    )
    assert totals(r)["a_gbp"] == "49600.00"
    assert {a["agency"]: a["a_gbp"] for a in r["cases"]["central"]["agencies"]} == {
        "NHS": "21600.00",
        "Council": "28000.00",
    }
    [p] = r["provenance"]
    assert (p["total_gbp"], p["redesigned_total_gbp"], p["saving_per_family_gbp"]) == (
        "830.00",
        "334.00",
        "496.00",
    )
    named = priced(
        tmp_path,
        HEAD + "years: 1\nA:\n  - {name: j, agency: NHS, per_family_saving: journey.yaml, "
        "families: 100, low: {families: 50}}\n",
    )
    assert [(a["agency"], a["a_gbp"]) for a in named["cases"]["central"]["agencies"]] == [
        ("NHS", "49600.00")
    ]
    assert totals(named, "low")["a_gbp"] == "24800.00"  # 496 × 50


def test_per_family_saving_needs_a_redesigned_journey_and_the_file(tmp_path: Path) -> None:
    write(tmp_path, "plain.yaml", JOURNEY.split("redesigned:")[0])
    text = HEAD + "years: 1\nA:\n  - name: j\n    per_family_saving: {}\n    families: 5\n"
    with pytest.raises(InputError) as caught:
        priced(tmp_path, text.format("plain.yaml"))
    assert str(caught.value).startswith("s.yaml line 7 (A[0].per_family_saving): the journey")
    assert "no redesigned touchpoints" in str(caught.value)
    with pytest.raises(InputError) as caught:
        priced(tmp_path, text.format("missing.yaml"))
    assert caught.value.issues[0].code == "file-not-found"
    assert "line 7" in str(caught.value)


# --- a share of a counted COFOG figure ----------------------------------------------------

GENERIC = [
    ["COFOG code", "Description", "Amount (£)"],
    ["07.3", "Acute hospital services", 1_000_000],
    ["07.3", "Community hospital", 250_000],
    ["10.2", "Older people's day centres", 400_000],
]
SHARE = HEAD + "years: 2\nB:\n  - {name: beds, agency: NHS, share: 0.05, cofog: '7.3'}\n"


def test_a_share_of_a_counted_figure_follows_the_data_and_names_its_lines(
    tmp_path: Path, db: Path, xlsx: Callable[..., Path]
) -> None:
    """5% of COFOG 07.3 counted £1,000,000 + £250,000 = £1,250,000 → £62,500 a year.
    After the workbook changes to £1,200,000 + £250,000 = £1,450,000: £72,500 a year."""
    path = xlsx(GENERIC, name="hospitals.xlsx")
    api.ingest("generic", [path], db, org="Testshire NHS")
    before = priced(tmp_path, SHARE, db)
    assert years(before, "central", "b_gbp") == ["62500.00", "62500.00"]
    [p] = before["provenance"]
    assert (p["cofog"], p["counted_gbp"]) == ("07.3", "1250000.00")
    assert [(x["file"], x["sheet"], x["row"], x["cell"], x["amount_gbp"]) for x in p["lines"]] == [
        ("hospitals.xlsx", "Sheet1", 2, "C2", "1000000.00"),
        ("hospitals.xlsx", "Sheet1", 3, "C3", "250000.00"),
    ]
    assert before["items"][0]["cases"]["central"]["formula"] == (
        "0.05 × £1,250,000.00 counted under COFOG 07.3 = £62,500.00 a year"
    )
    changed = [list(r) for r in GENERIC]
    changed[1][2] = 1_200_000
    xlsx(changed, name="hospitals.xlsx")
    api.ingest("generic", [path], db, org="Testshire NHS", replace=True)
    after = priced(tmp_path, SHARE, db)
    assert years(after, "central", "b_gbp") == ["72500.00", "72500.00"]
    assert after["provenance"][0]["counted_gbp"] == "1450000.00"
    assert after["provenance"][0]["lines"][0]["amount_gbp"] == "1200000.00"


def test_a_share_of_one_kind_and_of_nothing_warns(
    tmp_path: Path, db: Path, xlsx: Callable[..., Path]
) -> None:
    api.ingest("generic", [xlsx(GENERIC)], db, org="T")
    r = priced(tmp_path, SHARE.replace("'7.3'}", "'07.3', kind: nhs}"), db)
    assert totals(r)["b_gbp"] == "0.00"
    assert r["provenance"][0]["lines"] == []
    assert "the count has nothing there" in r["warnings"][0]
    generic = priced(tmp_path, SHARE.replace("'7.3'}", "'07.3', kind: generic}"), db)
    assert totals(generic)["b_gbp"] == "125000.00"  # 2 × 62,500


def test_a_share_needs_the_database(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        priced(tmp_path, SHARE)
    assert str(caught.value).startswith(
        "s.yaml line 6 (B[0].share): a share of a counted figure needs the count's database."
    )


# --- Y = A − (B + C) to the penny, everywhere ---------------------------------------------

ODD = """\
name: Odd pennies
theme: test
start_year: 2009-10
years: 4
optimism_bias: 0.17
A:
  - {name: a1, agency: NHS, volume: 37, unit_cost: 123.457, profile: [0.333, 0.5, 1, 1.1],
     low: {volume: 21}, high: {volume: 44}}
  - {name: a2, agency: Council, amount: 9999.995}
B:
  - {name: b1, agency: Council, amount: 1234.565, high: {amount: 2000.005}}
C:
  - {name: c1, agency: Trust, volume: 3, unit_cost: 0.125, profile: [1, 1, 0, 3]}
"""


def check_identity(result: dict[str, Any]) -> None:
    for case in CASES:
        c = result["cases"][case]
        for r in c["years"]:
            assert D(r["y_gbp"]) == D(r["a_gbp"]) - (D(r["b_gbp"]) + D(r["c_gbp"]))
            assert D(r["discounted_y_gbp"]) == D(r["discounted_a_gbp"]) - (
                D(r["discounted_b_gbp"]) + D(r["discounted_c_gbp"])
            )
        t = c["totals"]
        assert D(t["y_gbp"]) == D(t["a_gbp"]) - (D(t["b_gbp"]) + D(t["c_gbp"]))
        assert D(t["y_gbp"]) == sum(D(r["y_gbp"]) for r in c["years"])
        assert D(t["discounted_y_gbp"]) == sum(D(r["discounted_y_gbp"]) for r in c["years"])
        assert D(t["y_gbp"]) == sum(D(a["net_gbp"]) for a in c["agencies"])
        assert D(c["years"][-1]["cumulative_y_gbp"]) == D(t["y_gbp"])


def test_odd_pennies_by_hand(tmp_path: Path) -> None:
    """a1 year 1: 37 × 123.457 = 4,567.909 × 0.333 = 1,521.113697 → 1,521.11.
    a2: 9,999.995 → 10,000.00 (half to even: 999,999.5p → 1,000,000p).
    b1: 1,234.565 × 1.17 = 1,444.44105 → 1,444.44.
    c1: 3 × 0.125 = 0.375 × 1.17 = 0.43875 → 0.44.
    Y year 1 = 1,521.11 + 10,000.00 − (1,444.44 + 0.44) = 10,076.23."""
    r = priced(tmp_path, ODD)
    first = r["cases"]["central"]["years"][0]
    assert (first["a_gbp"], first["b_gbp"], first["c_gbp"]) == ("11521.11", "1444.44", "0.44")
    assert first["y_gbp"] == "10076.23"
    check_identity(r)


def test_y_adds_up_in_json_csv_xlsx_and_md(tmp_path: Path, runner: CliRunner) -> None:
    path = write(tmp_path, "odd.yaml", ODD)
    as_json = runner.invoke(app, ["scenario", str(path), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    check_identity(json.loads(as_json.stdout))

    as_csv = runner.invoke(app, ["scenario", str(path), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(rows[0]) == [
        "year",
        "case",
        "a_gbp",
        "b_gbp",
        "c_gbp",
        "y_gbp",
        "cumulative_y_gbp",
        "discounted_y_gbp",
    ]
    assert len(rows) == 12  # 4 years × 3 cases
    for row in rows:
        assert D(row["y_gbp"]) == D(row["a_gbp"]) - (D(row["b_gbp"]) + D(row["c_gbp"]))

    out = tmp_path / "odd.xlsx"
    assert runner.invoke(app, ["scenario", str(path), "-o", str(out)]).exit_code == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "Years", "Agencies", "Items", "Method"]
    ws = wb["Years"]
    header = [c.value for c in ws[1]]
    col = {h: header.index(h) for h in header}
    checked = 0
    for row in ws.iter_rows(min_row=2, values_only=True):
        a, b, c, y = (
            D(repr(row[col[h]]))
            for h in (
                "A savings (£)",
                "B investment (£)",
                "C universal services (£)",
                "Y = A − (B + C) (£)",
            )
        )
        assert y == a - (b + c)
        checked += 1
    assert checked == 12
    assert ws.cell(row=2, column=col["A savings (£)"] + 1).number_format == "£#,##0.00;-£#,##0.00"
    summary = wb["Summary"]
    sh = [c.value for c in summary[3]]
    for row in summary.iter_rows(min_row=4, values_only=True):
        a, b, c, y = (
            D(repr(row[sh.index(h)]))
            for h in (
                "A savings (£)",
                "B investment (£)",
                "C universal services (£)",
                "Y = A − (B + C) (£)",
            )
        )
        assert y == a - (b + c)

    md = runner.invoke(app, ["scenario", str(path), "--format", "md"]).stdout
    table_rows = re.findall(
        r"^\| (\d{4}-\d{2}|Total) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|", md, re.M
    )
    assert len(table_rows) == 15  # 3 cases × (4 years + total)
    for _, a_, b_, c_, y_ in table_rows:
        a, b, c, y = (D(x.strip().replace(",", "")) for x in (a_, b_, c_, y_))
        assert y == a - (b + c)


money = st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False)
factor = st.decimals(min_value=0, max_value=3, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=6))

    def item(i: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": f"item {i}",
            "agency": draw(st.sampled_from(["NHS", "Council", "Police"])),
        }
        if draw(st.booleans()):
            out["amount"] = draw(money)
        else:
            out["volume"] = draw(st.decimals(min_value=0, max_value=10**4, places=2))
            out["unit_cost"] = draw(money)
        if draw(st.booleans()):
            out["profile"] = [draw(factor) for _ in range(n)]
        return out

    terms = {t: [item(i) for i in range(draw(st.integers(0, 3)))] for t in "ABC"}
    if not any(terms.values()):
        terms["A"] = [item(0)]
    return {
        "name": "random",
        "theme": "property",
        "start_year": "2010-11",
        "years": n,
        "discount_rate": draw(st.decimals(min_value=0, max_value="0.2", places=4)),
        "optimism_bias": draw(st.decimals(min_value=0, max_value=1, places=3)),
        **terms,
    }


@settings(max_examples=80, deadline=None)
@given(scenarios())
def test_y_is_a_minus_b_plus_c_in_decimal_for_random_items(data: dict[str, Any]) -> None:
    check_identity(price(Scenario.model_validate(data)))


# --- the CLI is the library ---------------------------------------------------------------


def test_scenario_json_equals_the_library(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path], tmp_path: Path
) -> None:
    api.ingest("generic", [xlsx(GENERIC)], db, org="T")
    path = write(tmp_path, "share.yaml", SHARE)
    result = runner.invoke(app, ["scenario", str(path), "--format", "json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_json(price(load_scenario(path), db))
    # the table and the workbook say which lines the share was taken from
    table = runner.invoke(app, ["scenario", str(path), "--db", str(db)])
    assert "COFOG 07.3 Hospital services, counted £1,250,000.00 from 2 lines:" in table.stdout
    assert "book.xlsx › 'Sheet1'!C2 T Acute hospital services: £1,000,000.00" in table.stdout
    out = tmp_path / "share.xlsx"
    assert (
        runner.invoke(app, ["scenario", str(path), "--db", str(db), "-o", str(out)]).exit_code == 0
    )
    method = [[c for c in row if c is not None] for row in load_workbook(out)["Method"].values]
    assert [
        "B[0]",
        "07.3",
        "book.xlsx",
        "Sheet1",
        "C3",
        "T",
        "Community hospital",
        "1",
        250000,
    ] in (method)


def test_the_example_runs_in_every_format(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenario", str(EXAMPLE), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert result.stdout == to_json(price(load_scenario(EXAMPLE)))
    check_identity(data)
    assert data["scenario"]["place"] == "Dorset, Poole and Bournemouth"
    assert "ILLUSTRATIVE" in EXAMPLE.read_text(encoding="utf-8")
    assert {p["source"] for p in data["provenance"]} == {"journey"}
    table = runner.invoke(app, ["scenario", str(EXAMPLE)])
    assert table.exit_code == 0
    assert "Who pays and who gains" in table.stdout
    assert "A − (B + C) = Y" in table.stdout
    out = tmp_path / "dorset.md"
    assert runner.invoke(app, ["scenario", str(EXAMPLE), "-o", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("# Older people in Dorset")


def test_xlsx_is_byte_identical_and_needs_a_file(runner: CliRunner, tmp_path: Path) -> None:
    one, two = tmp_path / "1.xlsx", tmp_path / "2.xlsx"
    for out in (one, two):
        assert runner.invoke(app, ["scenario", str(EXAMPLE), "-o", str(out)]).exit_code == 0
    assert one.read_bytes() == two.read_bytes()
    bare = runner.invoke(app, ["scenario", str(EXAMPLE), "--format", "xlsx"])
    assert bare.exit_code == 2
    assert "give -o FILE.xlsx" in bare.stderr


@pytest.mark.parametrize("suffix", ["svg", "png", "html"])
def test_the_chart_is_deterministic(runner: CliRunner, tmp_path: Path, suffix: str) -> None:
    one, two = tmp_path / f"1.{suffix}", tmp_path / f"2.{suffix}"
    for chart in (one, two):
        result = runner.invoke(app, ["scenario", str(EXAMPLE), "--chart", str(chart)])
        assert result.exit_code == 0, result.output
        assert f"Drew {chart}" in result.stderr
    assert one.read_bytes() == two.read_bytes()
    if suffix == "svg":
        assert "A savings" in one.read_text(encoding="utf-8")
    if suffix == "html":
        text = one.read_text(encoding="utf-8")
        assert (
            "placecount-scenario" in text and "plotly" in text and '<script src="http' not in text
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([one.name, two.name])


def test_a_chart_of_another_kind_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenario", str(EXAMPLE), "--chart", str(tmp_path / "y.pdf")])
    assert result.exit_code == 2
    assert "give a .svg, .png or .html file" in result.stderr


# --- malformed scenarios: one clear message with its line, exit code 2 --------------------

BASE = """\
name: Older people
theme: older people
start_year: 2010-11
years: 3
A:
  - name: Avoided admissions
    agency: NHS Testshire
    volume: 120
    unit_cost: 2100
B:
  - name: Community team
    agency: Testshire County Council
    amount: 100000
"""


@pytest.mark.parametrize(
    ("old", "new", "code", "message"),
    [
        (
            "unit_cost: 2100",
            "unit_cots: 2100",
            "bad-scenario",
            "older_people.yaml line 9 (A[0].unit_cots): unknown key 'unit_cots'. "
            "Did you mean 'unit_cost'?",
        ),
        (
            "    unit_cost: 2100\n",
            "",
            "bad-scenario",
            "older_people.yaml line 8 (A[0].unit_cost): missing: volume needs unit_cost "
            "(volume × unit_cost).",
        ),
        (
            "volume: 120",
            "volume: -120",
            "bad-scenario",
            "older_people.yaml line 8 (A[0].volume): volume cannot be negative (-120).",
        ),
        (
            "amount: 100000",
            "share: 1.2\n    cofog: '07.3'",
            "bad-scenario",
            "older_people.yaml line 13 (B[0].share): a share is at most 1 (100%); "
            "1.2 is above 1. Write 5% as 0.05.",
        ),
        (
            "amount: 100000",
            "share: 0.05\n    cofog: '07.9'",
            "unknown-cofog-code",
            "older_people.yaml line 14 (B[0].cofog): '07.9' is not a COFOG code",
        ),
        (
            "amount: 100000",
            "amount: 100000\n    profile: [0.5, 1]",
            "bad-scenario",
            "older_people.yaml line 14 (B[0].profile): the profile has 2 factors for 3 years: "
            "give one factor a year.",
        ),
        (
            "start_year: 2010-11",
            "start_year: 2010-12",
            "bad-year",
            "older_people.yaml line 3 (start_year): '2010-12' is not a financial year: "
            "write it like 2010-11",
        ),
        (
            "years: 3",
            "years: 3\nlength: 5",
            "bad-scenario",
            "older_people.yaml line 5 (length): unknown key 'length'.",
        ),
        (
            "amount: 100000",
            "amount: 100000\n    volume: 3",
            "bad-scenario",
            "older_people.yaml line 14 (B[0].volume): an item is valued one way: amount",
        ),
    ],
    ids=[
        "unknown-key",
        "missing-unit-cost",
        "negative-volume",
        "share-above-1",
        "unknown-cofog",
        "profile-length",
        "bad-start-year",
        "unknown-top-key",
        "two-ways",
    ],
)
def test_a_malformed_scenario_names_its_line(
    runner: CliRunner, tmp_path: Path, old: str, new: str, code: str, message: str
) -> None:
    assert old in BASE
    path = write(tmp_path, "older_people.yaml", BASE.replace(old, new))
    result = runner.invoke(app, ["scenario", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: " + message), result.stderr
    assert result.stderr.count("error:") == 1
    as_json = runner.invoke(app, ["scenario", str(path), "--format", "json"])
    assert as_json.exit_code == 2
    failure = json.loads(as_json.stdout)
    assert failure["ok"] is False
    [issue] = failure["issues"]
    line = int(re.search(r"line (\d+)", message).group(1))  # type: ignore[union-attr]
    assert (issue["code"], issue["file"], issue["row"]) == (code, "older_people.yaml", line)
    assert issue["header"] == re.search(r"\((\w+(?:\[\d\])?(?:\.\w+)?)\)", message).group(1)  # type: ignore[union-attr]


def test_the_exact_message_for_a_missing_unit_cost(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "older_people.yaml", BASE.replace("    unit_cost: 2100\n", ""))
    result = runner.invoke(app, ["scenario", str(path)])
    assert result.stderr == (
        "error: older_people.yaml line 8 (A[0].unit_cost): missing: volume needs unit_cost "
        "(volume × unit_cost).\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed\n", "line 2: not valid YAML"),
        ("- a\n- b\n", "line 1: the file must hold keys: name, theme, start_year, years"),
        ("", "the file is empty."),
        (BASE + "name: again\n", "line 14 (name): the key 'name' appears twice."),
        (BASE.replace("amount: 100000", "amount: !!python/object:os.system x"), "line 13"),
        (BASE.replace("amount: 100000", "amount: .inf"), "is not a number placecount can use"),
        (BASE.replace("    unit_cost: 2100\n", "    low: {volume: 90}\n"), "missing"),
        (
            BASE.replace("amount: 100000", "amount: 100000\n    low: {volume: 1}"),
            "line 14 (B[0].low.volume): low.volume does not apply",
        ),
        (
            BASE.replace("amount: 100000", "amount: 100000\n    low: {amount: 200000}"),
            "low.amount 200000 is above the central 100000",
        ),
        (BASE.replace("    agency: NHS Testshire\n", ""), "(A[0].agency): missing"),
        (HEAD + "years: 1\n", "line 1 (A): the scenario has no items"),
    ],
)
def test_other_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_files_that_are_not_there_or_not_yaml(tmp_path: Path, runner: CliRunner) -> None:
    missing = runner.invoke(app, ["scenario", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert missing.stderr == "error: nope.yaml: the file does not exist.\n"
    other = tmp_path / "s.json"
    other.write_text("{}", encoding="utf-8")
    assert "is .yaml, .yml or .toml" in runner.invoke(app, ["scenario", str(other)]).stderr


def test_yaml_numbers_are_exact_decimals(tmp_path: Path) -> None:
    s = load_scenario(
        write(tmp_path, "s.yaml", HEAD + "years: 1\nA:\n  - {name: a, agency: N, amount: 0.1}\n")
    )
    assert s.A[0].amount == D("0.1") and isinstance(s.A[0].amount, Decimal)


# --- TOML ---------------------------------------------------------------------------------

TOML = """\
name = "Older people"
theme = "older people"
start_year = "2010-11"
years = 3

[[A]]
name = "Avoided admissions"
agency = "NHS"
volume = 120
unit_cost = 2100

[[A]]
name = "Beds"
agency = "NHS"
amount = 1000.5
low = { amount = 900 }

[[B]]
name = "Team"
agency = "Council"
amount = 100000
"""


def test_toml_scenario_prices_like_yaml(tmp_path: Path) -> None:
    """252,000 + 1,000.50 − 100,000 = 153,000.50 a year; low: 252,000 + 900 − 100,000."""
    r = price(load_scenario(write(tmp_path, "s.toml", TOML)))
    assert years(r, "central", "y_gbp") == ["153000.50"] * 3
    assert years(r, "low", "y_gbp") == ["152900.00"] * 3


def test_toml_lines_are_found_by_searching_the_text() -> None:
    lines = toml_lines(TOML)
    assert lines[("A", 0, "unit_cost")] == 10
    assert lines[("A", 1, "low", "amount")] == 16
    assert lines[("B", 0, "amount")] == 21


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("unit_cost = 2100", "unit_cots = 2100", "s.toml line 10 (A[0].unit_cots): unknown key"),
        ("low = { amount = 900 }", "low = { amount = 1900 }", "s.toml line 16 (A[1].low.amount)"),
        ("amount = 100000", "amount = -1", "s.toml line 21 (B[0].amount): amount cannot be"),
        ('start_year = "2010-11"', 'start_year = "2010"', "s.toml line 3 (start_year)"),
        ("years = 3", "years = = 3", "s.toml line 4: not valid TOML"),
    ],
)
def test_toml_errors_name_their_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_scenario(write(tmp_path, "s.toml", TOML.replace(old, new)))
    assert str(caught.value).startswith(message), str(caught.value)


# --- the JSON Schema ----------------------------------------------------------------------


def test_the_json_schemas_are_current() -> None:
    from placecount.scenario import Journey

    for name, model in (("scenario.schema.json", Scenario), ("journey.schema.json", Journey)):
        text = json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        assert (ROOT / "schemas" / name).read_text(encoding="utf-8") == text, name


def test_warnings_go_to_stderr_beside_the_data(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path], tmp_path: Path
) -> None:
    api.ingest("generic", [xlsx(GENERIC)], db, org="T")
    path = write(tmp_path, "s.yaml", SHARE.replace("'7.3'}", "'07.3', kind: police}"))
    result = runner.invoke(app, ["scenario", str(path), "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0
    assert result.stdout.startswith("year,case,")
    assert result.stderr.startswith("warning: B[0] 'beds' takes a share of COFOG 07.3 (police)")


def test_scenario_output_by_format_for_placecount_run(tmp_path: Path) -> None:
    from placecount.scenario_render import SCENARIO_FORMATS, scenario_output

    result = price(load_scenario(EXAMPLE))
    assert scenario_output(result, "json") == to_json(result)
    assert isinstance(scenario_output(result, "xlsx"), bytes)
    for fmt in SCENARIO_FORMATS:
        assert scenario_output(result, fmt)
    with pytest.raises(InputError) as caught:
        scenario_output(result, "parquet")
    assert caught.value.issues[0].code == "bad-option"


def _plotly_figure(html_text: str, div_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The data and layout plotly.newPlot is given in a written HTML chart."""
    start = html_text.index(f'Plotly.newPlot(                        "{div_id}",')
    decoder = json.JSONDecoder()
    rest = html_text[html_text.index("[", start) :]
    data, end = decoder.raw_decode(rest)
    rest = rest[end:].lstrip(", \n")
    layout, _ = decoder.raw_decode(rest)
    return data, layout


def test_the_html_chart_has_one_category_per_financial_year_issue_15(tmp_path: Path) -> None:
    # plotly read "2010-11" as November 2010: a date axis with two of five years drawn
    model = load_scenario(EXAMPLE)
    result = price(model)
    years = result["scenario"]["year_labels"]
    assert len(years) >= 3 and all(re.fullmatch(r"\d{4}-\d{2}", y) for y in years)
    out = tmp_path / "y.html"
    from placecount.scenario_render import scenario_chart

    scenario_chart(result, out)
    data, layout = _plotly_figure(out.read_text(encoding="utf-8"), "placecount-scenario")
    assert layout["xaxis"]["type"] == "category"
    assert layout["xaxis"]["categoryarray"] == years
    for trace in data:
        assert trace["x"] == years  # every series has a point (or bar) in every year


def test_the_static_chart_labels_each_financial_year_issue_15(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from placecount.scenario_render import scenario_chart

    result = price(load_scenario(EXAMPLE))
    out = tmp_path / "y.svg"
    scenario_chart(result, out)
    root = ET.parse(out).getroot()
    texts = ["".join(el.itertext()).strip() for el in root.iter() if el.tag.endswith("text")]
    ticks = [t for t in texts if re.fullmatch(r"\d{4}-\d{2}", t)]
    assert ticks == result["scenario"]["year_labels"]  # one tick per year, as written


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_a_scenario_named_with_dollars_draws_its_name_verbatim_issue_15(
    tmp_path: Path, suffix: str
) -> None:
    import xml.etree.ElementTree as ET

    from placecount.scenario_render import scenario_chart

    result = price(load_scenario(EXAMPLE))
    name = "Care at $5m and $10m, and $\\notacommand$"
    result["scenario"]["name"] = name
    out = tmp_path / f"y.{suffix}"
    scenario_chart(result, out)  # mathtext stopped here: "\notacommand" is no TeX command
    assert out.stat().st_size > 0
    if suffix == "svg":
        root = ET.parse(out).getroot()
        texts = ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("text")]
        assert name in texts


def test_axis_labels_do_not_misstate_their_ticks() -> None:
    from placecount.scenario_render import _short

    # a tick at 7,500 was labelled £8k, one at 2,500 £2k
    assert [_short(v) for v in (7_500, 2_500, 12_000, 2_500_000, -1_250_000, 640)] == [
        "£7.5k",
        "£2.5k",
        "£12k",
        "£2.5m",
        "−£1.25m",
        "£640",
    ]
