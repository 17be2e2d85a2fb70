"""Citizens' journeys costed touchpoint by touchpoint, with figures worked by hand (issue #5)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import placecount.cli_scenario  # noqa: F401  (adds the commands to the app)
from placecount.cli import app
from placecount.errors import InputError
from placecount.render import to_json
from placecount.scenario import cost_journey, load_journey

D = Decimal
ROOT = Path(__file__).resolve().parents[1]
FAMILY = ROOT / "examples" / "scenarios" / "family_journey.yaml"
GUIDE_TOTAL = 56890  # "Family Bresha £56,890", the guide's section 6


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


SMALL = """\
name: Mr A
touchpoints:
  - {agency: NHS, service: GP, contact: visit, count: 3, unit_cost: 45.50}
  - {agency: Council, service: social work, contact: visit, count: 2, hours: 1.5, hourly_cost: 30}
  - {agency: Council, service: chasing, contact: call, count: 7, hours: 0.25, hourly_cost: 19.99}
  - {agency: NHS, service: letters, count: 4, unit_cost: 0.625}
"""


def test_a_journey_by_agency_and_contact_by_hand(tmp_path: Path) -> None:
    """GP 3 × 45.50 = 136.50; social work 2 × 1.5 × 30 = 90.00; calls 7 × 0.25 × 19.99 =
    34.9825 → 34.98; letters 4 × 0.625 = 2.50. Total 136.50 + 90 + 34.98 + 2.50 = 263.98.
    NHS 136.50 + 2.50 = 139.00; council 90.00 + 34.98 = 124.98.
    Visits 136.50 + 90.00 = 226.50; calls 34.98; not stated 2.50."""
    r = cost_journey(load_journey(write(tmp_path, "j.yaml", SMALL)))
    assert [tp["cost_gbp"] for tp in r["touchpoints"]] == ["136.50", "90.00", "34.98", "2.50"]
    assert r["total_gbp"] == "263.98"
    assert [(a["agency"], a["touchpoints"], a["cost_gbp"]) for a in r["by_agency"]] == [
        ("NHS", 2, "139.00"),
        ("Council", 2, "124.98"),
    ]
    assert [(c["contact"], c["cost_gbp"]) for c in r["by_contact"]] == [
        ("visit", "226.50"),
        ("call", "34.98"),
        ("not stated", "2.50"),
    ]
    assert r["touchpoints"][1]["basis"] == "2 × 1.5 h × £30.00"
    assert r["redesigned"] is None and r["saving_gbp"] is None


def test_each_touchpoint_is_rounded_half_to_even(tmp_path: Path) -> None:
    """1 × 0.5 h × £0.05 = 2.5p → 2p; 1 × 0.5 h × £0.07 = 3.5p → 4p; total 6p."""
    r = cost_journey(
        load_journey(
            write(
                tmp_path,
                "j.yaml",
                """\
                name: pennies
                touchpoints:
                  - {agency: X, service: a, count: 1, hours: 0.5, hourly_cost: 0.05}
                  - {agency: X, service: b, count: 1, hours: 0.5, hourly_cost: 0.07}
                """,
            )
        )
    )
    assert [tp["cost_gbp"] for tp in r["touchpoints"]] == ["0.02", "0.04"]
    assert r["total_gbp"] == "0.06"


def test_the_guides_family_costs_exactly_56890() -> None:
    r = cost_journey(load_journey(FAMILY))
    assert D(r["total_gbp"]) == GUIDE_TOTAL
    assert sum(D(tp["cost_gbp"]) for tp in r["touchpoints"]) == GUIDE_TOTAL
    assert sum(D(a["cost_gbp"]) for a in r["by_agency"]) == GUIDE_TOTAL
    assert sum(D(c["cost_gbp"]) for c in r["by_contact"]) == GUIDE_TOTAL
    assert "£56,890" in FAMILY.read_text(encoding="utf-8")
    assert "ILLUSTRATIVE" in FAMILY.read_text(encoding="utf-8")


def test_the_family_redesigned_by_hand() -> None:
    """Redesigned, by agency: children's social care 48 × 2 × 38 = 3,648 + 8 × 2.5 × 45 = 900
    + 650 + 6 × 300 = 1,800 + 40 × 0.25 × 40 = 400 + 1,200 + 48 × 95 = 4,560 → 13,158;
    Mayday 3 × 110 + 5 × 135 = 1,005; NHS Croydon 14 × 36 + 3 × 36 + 12 × 70 + 16 × 85 +
    6 × 180 + 14 × 88 = 504 + 108 + 840 + 1,360 + 1,080 + 1,232 = 5,124; SLaM 2,400;
    education 6,840 + 3,200 + 570 × 4.20 (2,394) + 2 × 75 = 12,584; children's centre 2,200;
    adult social care 4,200; housing 2 × 120 + 4 × 1.5 × 34 = 444; benefits 6 × 25 = 150;
    Jobcentre Plus 520; police 260. Total 42,045; saving 56,890 − 42,045 = 14,845.
    Now, children's social care: 2,700 + 2,900 + 4,950 + 1,400 + 1,200 + 4,560 = 17,710,
    so it saves 17,710 − 13,158 = 4,552."""
    r = cost_journey(load_journey(FAMILY))
    assert r["redesigned"]["total_gbp"] == "42045.00"
    assert r["saving_gbp"] == "14845.00"
    saving = {s["agency"]: s for s in r["saving_by_agency"]}
    care = saving["Croydon Council children's social care"]
    assert (care["now_gbp"], care["redesigned_gbp"], care["saving_gbp"]) == (
        "17710.00",
        "13158.00",
        "4552.00",
    )
    assert saving["Croydon Council legal services"]["saving_gbp"] == "3500.00"
    assert sum(D(s["saving_gbp"]) for s in r["saving_by_agency"]) == D("14845")


def test_a_redesign_with_a_new_agency_counts_it(tmp_path: Path) -> None:
    """Now: NHS 2 × 50 = 100. Redesigned: NHS 1 × 50 = 50, a charity 1 × 20 = 20.
    Saving 100 − 70 = 30: NHS +50, charity −20."""
    r = cost_journey(
        load_journey(
            write(
                tmp_path,
                "j.yaml",
                """\
                name: new body
                touchpoints:
                  - {agency: NHS, service: a, count: 2, unit_cost: 50}
                redesigned:
                  - {agency: NHS, service: a, count: 1, unit_cost: 50}
                  - {agency: Charity, service: b, count: 1, unit_cost: 20}
                """,
            )
        )
    )
    assert r["saving_gbp"] == "30.00"
    assert [(s["agency"], s["saving_gbp"]) for s in r["saving_by_agency"]] == [
        ("NHS", "50.00"),
        ("Charity", "-20.00"),
    ]


# --- the command --------------------------------------------------------------------------


def test_journey_json_equals_the_library(runner: CliRunner) -> None:
    result = runner.invoke(app, ["journey", str(FAMILY), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_json(cost_journey(load_journey(FAMILY)))


def test_journey_formats(runner: CliRunner, tmp_path: Path) -> None:
    table = runner.invoke(app, ["journey", str(FAMILY)])
    assert table.exit_code == 0
    assert "56,890.00" in table.stdout
    assert "saving per family £14,845.00" in table.stdout
    as_csv = runner.invoke(app, ["journey", str(FAMILY), "--format", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert sum(D(r["cost_gbp"]) for r in rows if r["journey"] == "now") == GUIDE_TOTAL
    assert sum(D(r["cost_gbp"]) for r in rows if r["journey"] == "redesigned") == D("42045")
    out = tmp_path / "family.md"
    result = runner.invoke(app, ["journey", str(FAMILY), "-o", str(out)])
    assert result.exit_code == 0
    assert f"Wrote {out}" in result.stderr
    md = out.read_text(encoding="utf-8")
    assert md.startswith("# Family Bresha")
    assert "| Total |  |  |  | 56,890.00 |" in md
    assert "| Total | 56,890.00 | 42,045.00 | 14,845.00 |" in md


def test_journey_output_of_an_unknown_kind_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    # .xlsx was refused here until journeys had a workbook (issue 15); .pdf still is
    result = runner.invoke(app, ["journey", str(FAMILY), "-o", str(tmp_path / "j.pdf")])
    assert result.exit_code == 2
    assert "cannot tell the format of 'j.pdf'" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "hourly_cost: 30}",
            "}",
            "j.yaml line 4 (touchpoints[1].hourly_cost): missing: hours needs hourly_cost.",
        ),
        (
            "count: 3,",
            "count: -3,",
            "j.yaml line 3 (touchpoints[0].count): count cannot be negative (-3).",
        ),
        (
            "contact: call,",
            "kind: call,",
            "j.yaml line 5 (touchpoints[2].kind): unknown key 'kind'.",
        ),
        (
            "unit_cost: 0.625}",
            "unit_cost: 0.625, hours: 1}",
            "j.yaml line 6 (touchpoints[3].hours): a touchpoint is costed one way",
        ),
        (
            "name: Mr A",
            "title: Mr A",
            "j.yaml line 1 (title): unknown key 'title'. Did you mean 'name', which is missing?",
        ),
    ],
)
def test_a_malformed_journey_names_its_line(
    runner: CliRunner, tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in SMALL
    path = write(tmp_path, "j.yaml", SMALL.replace(old, new))
    result = runner.invoke(app, ["journey", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: " + message), result.stderr
    failure = json.loads(runner.invoke(app, ["journey", str(path), "--format", "json"]).stdout)
    assert failure["ok"] is False
    assert failure["issues"][0]["file"] == "j.yaml"


def test_a_journey_needs_touchpoints(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_journey(write(tmp_path, "j.yaml", "name: x\ntouchpoints: []\n"))
    assert str(caught.value) == "j.yaml line 2 (touchpoints): touchpoints needs at least one entry."


def test_a_toml_journey(tmp_path: Path) -> None:
    """2 × £12.50 = 25.00 now; 1 × £12.50 = 12.50 redesigned; saving 12.50."""
    path = write(
        tmp_path,
        "j.toml",
        """\
        name = "toml"

        [[touchpoints]]
        agency = "NHS"
        service = "GP"
        count = 2
        unit_cost = 12.50

        [[redesigned]]
        agency = "NHS"
        service = "GP"
        count = 1
        unit_cost = 12.50
        """,
    )
    r = cost_journey(load_journey(path))
    assert (r["total_gbp"], r["redesigned"]["total_gbp"], r["saving_gbp"]) == (
        "25.00",
        "12.50",
        "12.50",
    )
    with pytest.raises(InputError) as caught:
        load_journey(
            write(tmp_path, "bad.toml", path.read_text().replace("count = 1", "count = -1"))
        )
    assert str(caught.value).startswith("bad.toml line 12 (redesigned[0].count)")
