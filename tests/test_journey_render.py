"""Journeys as a workbook and a chart, like scenarios (issue 15).

The expected figures are worked from the journey file's own numbers here, with Decimal:
count × unit_cost, or count × hours × hourly_cost, each rounded half to even to the penny.
"""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

import placecount.cli_scenario  # noqa: F401  (adds the commands to the app)
from placecount.cli import app
from placecount.journey_render import journey_chart, journey_markdown, journey_output
from placecount.scenario import cost_journey, load_journey

D = Decimal
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FAMILY = ROOT / "examples" / "scenarios" / "family_journey.yaml"
GBP = "£#,##0.00;-£#,##0.00"
FORMULA = '=HYPERLINK("http://x","y")'


def by_hand(touchpoints: list[dict[str, Any]]) -> list[tuple[str, str, Decimal]]:
    """(agency, service, cost) for each touchpoint of the file, worked here."""
    out = []
    for tp in touchpoints:
        count = D(str(tp["count"]))
        if "unit_cost" in tp:
            cost = count * D(str(tp["unit_cost"]))
        else:
            cost = count * D(str(tp["hours"])) * D(str(tp["hourly_cost"]))
        out.append((tp["agency"], tp["service"], cost.quantize(D("0.01"), ROUND_HALF_EVEN)))
    return out


def per_agency(costs: list[tuple[str, str, Decimal]]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for agency, _, cost in costs:
        sums[agency] += cost
    return dict(sums)


def money_of(value: Any) -> Decimal:
    """A cell's number as pence-exact Decimal (a double holds any such amount exactly enough)."""
    assert isinstance(value, (int, float)) and not isinstance(value, bool), value
    return D(repr(value)).quantize(D("0.01"))


def table_rows(ws: Any, head_row: int = 3) -> tuple[list[str], list[tuple[Any, ...]]]:
    rows = list(ws.iter_rows(min_row=head_row, values_only=True))
    return list(rows[0]), rows[1:]


@pytest.fixture(scope="module")
def family() -> dict[str, Any]:
    return yaml.safe_load(FAMILY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("book") / "journey.xlsx"
    result = CliRunner().invoke(app, ["journey", str(FAMILY), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stderr
    return load_workbook(out)


def test_the_workbook_has_its_sheets_and_prints_one_page_wide(book: Any) -> None:
    assert book.sheetnames == [
        "Touchpoints",
        "Redesigned",
        "By agency",
        "By contact",
        "Saving",
        "Method",
    ]
    for ws in book.worksheets:
        letter = ws.cell(row=1, column=ws.max_column).column_letter
        assert ws.print_area == f"'{ws.title}'!$A$1:${letter}${ws.max_row}", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (None, 1), ws.title  # None is Excel's default, 1
        assert ws.page_setup.fitToHeight == 0, ws.title
        assert ws.page_setup.paperSize == 9, ws.title  # A4
        assert ws.print_title_rows == ("$1:$1" if ws.title == "Method" else "$3:$3"), ws.title


def test_the_touchpoints_cost_what_the_file_says(book: Any, family: dict[str, Any]) -> None:
    for sheet, key, total in (
        ("Touchpoints", "touchpoints", D("56890.00")),
        ("Redesigned", "redesigned", D("42045.00")),
    ):
        expected = by_hand(family[key])
        assert sum(c for _, _, c in expected) == total
        head, rows = table_rows(book[sheet])
        assert head[:3] == ["Agency", "Service", "Contact"]
        assert head[head.index("Cost (£)")] == "Cost (£)"
        cost = head.index("Cost (£)")
        body, last = rows[:-1], rows[-1]
        assert [(r[0], r[1], money_of(r[cost])) for r in body] == expected
        assert (last[0], money_of(last[cost])) == ("Total", total)
        ws = book[sheet]
        assert ws.cell(row=4, column=cost + 1).number_format == GBP
        assert ws.cell(row=4 + len(body), column=cost + 1).number_format == GBP  # the total


def test_by_agency_by_contact_and_the_saving_by_hand(book: Any, family: dict[str, Any]) -> None:
    now = per_agency(by_hand(family["touchpoints"]))
    after = per_agency(by_hand(family["redesigned"]))
    _, rows = table_rows(book["By agency"])
    assert {r[0]: money_of(r[2]) for r in rows[:-1]} == now
    assert rows[-1][:3] == ("Total", len(family["touchpoints"]), 56890)
    contacts: dict[str, Decimal] = defaultdict(Decimal)
    for tp, (_, _, cost) in zip(family["touchpoints"], by_hand(family["touchpoints"]), strict=True):
        contacts[tp.get("contact", "not stated")] += cost
    _, rows = table_rows(book["By contact"])
    assert {r[0]: money_of(r[2]) for r in rows[:-1]} == dict(contacts)
    # share of total: a rounded number with a % format, 17,710 / 56,890 = 0.3113… → 31.1%
    care = next(r for r in table_rows(book["By agency"])[1] if r[0].endswith("social care"))
    assert care[3] == pytest.approx(0.311)
    assert book["By agency"].cell(row=4, column=4).number_format == "0.0%"
    head, rows = table_rows(book["Saving"])
    assert head == ["Agency", "Now (£)", "Redesigned (£)", "Saving (£)"]
    for agency, n, a, s in rows[:-1]:
        assert money_of(n) == now.get(agency, D(0))
        assert money_of(a) == after.get(agency, D(0))
        assert money_of(s) == money_of(n) - money_of(a)
    assert {r[0] for r in rows[:-1]} == set(now) | set(after)
    assert [rows[-1][0], *map(money_of, rows[-1][1:])] == [
        "Total",
        D("56890.00"),
        D("42045.00"),
        D("14845.00"),
    ]
    method = dict(book["Method"].iter_rows(min_row=2, values_only=True))
    assert method["Saving per family"] == "£14,845.00"
    assert method["Journey file"] == "family_journey.yaml"


HOSTILE = """\
name: '=HYPERLINK("http://x","y")'
description: '+1+1'
touchpoints:
  - {agency: '@SUM(A1)', service: '-2+3', contact: '=1+1', count: 2, unit_cost: 10}
  - {agency: 'Care at $5m and $10m, and $\\notacommand$', service: x, count: 1, unit_cost: 3}
"""


def write(folder: Path, text: str) -> Path:
    path = folder / "j.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_text_from_the_file_is_text_never_a_formula(tmp_path: Path, runner: CliRunner) -> None:
    path = write(tmp_path, HOSTILE)
    out = tmp_path / "j.xlsx"
    result = runner.invoke(app, ["journey", str(path), "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["Touchpoints", "By agency", "By contact", "Method"]  # no redesign
    texts = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    # kept as written: Excel shows a text cell as it is, with no apostrophe added
    assert {"@SUM(A1)", "-2+3", "=1+1", "+1+1", FORMULA} <= texts
    _, rows = table_rows(wb["Touchpoints"])
    assert [money_of(r[8]) for r in rows] == [D("20.00"), D("3.00"), D("23.00")]


def test_xlsx_needs_a_file_and_gives_the_same_bytes(runner: CliRunner, tmp_path: Path) -> None:
    bare = runner.invoke(app, ["journey", str(FAMILY), "--format", "xlsx"])
    assert bare.exit_code == 2
    assert "give -o FILE.xlsx" in bare.stderr
    one, two = tmp_path / "1.xlsx", tmp_path / "2.xlsx"
    for out in (one, two):
        assert runner.invoke(app, ["journey", str(FAMILY), "-o", str(out)]).exit_code == 0
    assert one.read_bytes() == two.read_bytes()


def svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("text")]


def test_the_chart_names_every_agency_and_states_the_saving(
    runner: CliRunner, tmp_path: Path, family: dict[str, Any]
) -> None:
    out = tmp_path / "family.svg"
    result = runner.invoke(app, ["journey", str(FAMILY), "--chart", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Drew {out}" in result.stderr
    texts = svg_texts(out)
    agencies = {tp["agency"] for tp in family["touchpoints"] + family["redesigned"]}
    assert len(agencies) == 12
    for agency in agencies:
        assert agency in texts, agency
    title = next(t for t in texts if t.startswith("Cost by agency"))
    assert "£56,890.00 now" in title and "£42,045.00 redesigned" in title
    assert "saving £14,845.00 per family" in title
    assert {"Now", "Redesigned"} <= set(texts)  # the legend


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_names_with_dollars_are_drawn_verbatim(tmp_path: Path, suffix: str) -> None:
    result = cost_journey(load_journey(write(tmp_path, HOSTILE)))
    out = tmp_path / f"j.{suffix}"
    journey_chart(result, out)  # mathtext would stop at "\notacommand"
    assert out.stat().st_size > 0
    if suffix == "svg":
        texts = svg_texts(out)
        assert "Care at $5m and $10m, and $\\notacommand$" in texts
        assert "@SUM(A1)" in texts
        assert not any(t.startswith("Cost by agency") and "saving" in t for t in texts)


def test_the_html_chart_is_self_contained(
    runner: CliRunner, tmp_path: Path, family: dict[str, Any]
) -> None:
    out = tmp_path / "family.html"
    assert runner.invoke(app, ["journey", str(FAMILY), "--chart", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*\bsrc\s*=", text) is None  # plotly.js inline, no CDN
    assert "placecount-journey" in text and "Plotly.newPlot" in text
    start = text.index('Plotly.newPlot(                        "placecount-journey",')
    decoder = json.JSONDecoder()
    rest = text[text.index("[", start) :]
    data, end = decoder.raw_decode(rest)
    layout, _ = decoder.raw_decode(rest[end:].lstrip(", \n"))
    assert [t["name"] for t in data] == ["Now", "Redesigned"]
    agencies = {tp["agency"] for tp in family["touchpoints"] + family["redesigned"]}
    for trace in data:
        assert set(trace["y"]) == agencies  # no name here needs escaping for plotly
    assert "saving £14,845.00 per family" in layout["title"]["text"]


@pytest.mark.parametrize("suffix", ["svg", "png", "html"])
def test_the_chart_gives_the_same_bytes(tmp_path: Path, suffix: str) -> None:
    result = cost_journey(load_journey(FAMILY))
    one, two = tmp_path / f"1.{suffix}", tmp_path / f"2.{suffix}"
    journey_chart(result, one)
    journey_chart(result, two)
    assert one.read_bytes() == two.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1." + suffix, "2." + suffix]


def test_a_chart_of_another_kind_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["journey", str(FAMILY), "--chart", str(tmp_path / "j.pdf")])
    assert result.exit_code == 2
    assert "give a .svg, .png or .html file" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_command_writes_what_the_library_renders(runner: CliRunner) -> None:
    result = cost_journey(load_journey(FAMILY))
    md = runner.invoke(app, ["journey", str(FAMILY), "--format", "md"])
    assert md.exit_code == 0
    assert md.stdout == journey_markdown(result) == journey_output(result, "md")
    assert md.stdout.startswith("# Family Bresha")


@pytest.mark.parametrize("command", ["scenario", "journey"])
def test_a_chart_in_a_missing_folder_is_exit_2_before_the_work(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    # `scenario --chart nodir/x.svg` ended "a bug in placecount" (exit 1)
    example = {
        "scenario": EXAMPLES / "scenarios" / "older_people_dorset.yaml",
        "journey": EXAMPLES / "scenarios" / "family_journey.yaml",
    }[command]
    target = tmp_path / "nodir" / "chart.svg"
    result = runner.invoke(app, [command, str(example), "--chart", str(target)])
    assert result.exit_code == 2
    assert f"--chart {target}: the folder {target.parent} does not exist." in result.stderr
    assert "bug" not in result.output
