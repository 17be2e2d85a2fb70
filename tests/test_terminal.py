"""The terminal table never cuts a figure (issue 15): at 80 and 120 columns every figure
shown is whole, names wrap, and columns left out are named."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "exampleshire"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("terminal") / "placecount.duckdb"
    api.init(db, "Exampleshire", "2008-09", population=512300)
    for kind, name, org in [
        ("council", "county_council_outturn_2008-09.xlsx", "Exampleshire County Council"),
        ("council", "riverton_district_outturn_2008-09.csv", "Riverton District Council"),
        ("nhs", "nhs_exampleshire_2008-09.xlsx", None),
        ("police", "police_authority_poa_2008-09.xlsx", "Exampleshire Police Authority"),
        ("ndpb", "ndpb_spending_2008-09.xlsx", None),
    ]:
        api.ingest(kind, [EXAMPLES / name], db, org=org)
    api.ingest(
        "pesa",
        [EXAMPLES / "pesa_cra_regional_2008-09.xlsx"],
        db,
        region="East Midlands",
        place_population=512300,
        region_population=4400000,
    )
    return db


def table_at(db: Path, width: int, *args: str) -> str:
    done = CliRunner().invoke(app, ["report", *args, "--db", str(db)], env={"COLUMNS": str(width)})
    assert done.exit_code == 0, done.output
    return done.stdout


@pytest.mark.parametrize("width", [80, 120])
def test_every_figure_is_whole_at_80_and_120_columns(demo_db: Path, width: int) -> None:
    out = table_at(demo_db, width)
    assert max(len(line) for line in out.splitlines()) <= width
    assert "…" not in out
    result = api.report(demo_db)
    cells = re.findall(r"[\d,]+\.\d\d|\d+\.\d%", out)
    # the essential columns are always there: each row's total, per head and share
    for r in result["rows"]:
        for figure in (
            f"{Decimal(r['total_gbp']):,.2f}",
            f"{Decimal(r['per_head_gbp']):,.2f}",
            f"{Decimal(r['share_of_total']) * 100:.1f}%",
        ):
            assert figure in cells, (figure, width)
    t = result["totals"]
    assert f"{Decimal(t['total_gbp']):,.2f}" in cells
    # a source's column is either shown whole or named as left out
    notes = " ".join(out.split())
    for k in result["kinds"]:
        head = f"{result['kind_titles'][k]} £"
        shown = f"{Decimal(t['by_kind_gbp'][k]):,.2f}" in cells
        assert shown or "Not shown at this width:" in notes and head in notes, (k, width)
    if width == 80:
        assert "Not shown at this width" in notes


def test_the_widest_terminal_shows_every_column(demo_db: Path) -> None:
    out = table_at(demo_db, 250)
    assert "Not shown" not in out
    result = api.report(demo_db)
    for k in result["kinds"]:
        assert f"{Decimal(result['totals']['by_kind_gbp'][k]):,.2f}" in out


def test_unit_millions_is_for_display_and_the_column_adds_up(demo_db: Path) -> None:
    out = table_at(demo_db, 120, "--unit", "£m")
    assert "£m, rounded for display" in " ".join(out.split())
    result = api.report(demo_db)
    # each row's total in £m to one decimal, by hand from the exact pence; then the column
    # adds up to the total shown (3,232.2)
    rows = [line for line in out.splitlines() if re.match(r"│ \d\d ", line)]
    first_table = rows[: len(result["rows"])]
    totals = []
    for line in first_table:
        cells = [c.strip() for c in line.split("│")[1:-1]]
        per_head = next(i for i, c in enumerate(cells) if re.fullmatch(r"[\d,]+\.\d\d", c))
        totals.append(Decimal(cells[per_head - 1].replace(",", "")))  # Total £m is just before
    assert sum(totals) == Decimal("3232.2")
    exact = [Decimal(r["total_gbp"]) / 1_000_000 for r in result["rows"]]
    for shown, value in zip(totals, exact, strict=True):
        assert abs(shown - value) <= Decimal("0.1")
    # the stored figures stay exact
    assert result["totals"]["total_gbp"] == "3232194211.55"


def test_unit_is_refused_for_file_formats(demo_db: Path) -> None:
    done = CliRunner().invoke(
        app, ["report", "--format", "csv", "--unit", "£m", "--db", str(demo_db)]
    )
    assert done.exit_code == 2
    assert "--unit is for the terminal table" in done.stderr


def test_an_unknown_unit_is_a_usage_error(demo_db: Path) -> None:
    done = CliRunner().invoke(app, ["report", "--unit", "£bn", "--db", str(demo_db)])
    assert done.exit_code == 2
    assert "use £, £000 or £m" in done.stderr


@pytest.mark.parametrize("width", [80, 120])
def test_the_flows_tables_never_cut_a_figure_issue_15(width: int) -> None:
    from rich.console import Console

    from placecount.render import money, percent
    from placecount.terminal import flows_tables

    chains = EXAMPLES.parent / "leicester" / "european_funding.csv"
    result = api.flows(chains, sensitivity="0.1,0.3")
    console = Console(width=width, record=True, highlight=False)
    parts, notes = flows_tables(result, width)
    for part in parts:
        console.print(part)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    cells = set(re.findall(r"[\d,]+\.\d\d%?", text))
    t = result["totals"]
    # every money figure of the paths, the streams, the totals and the what-ifs, whole
    wanted = [t["in_gbp"], t["delivered_gbp"], t["administration_gbp"]]
    for row in result["paths"] + result["streams"] + result["sensitivity"]:
        wanted += [row["in_gbp"], row["delivered_gbp"], row["administration_gbp"]]
    for figure in wanted:
        assert money(figure) in cells, figure
    assert "…" not in text
    # what is left out is named, and it is never a money column
    for note in notes:
        left_out = note.removeprefix("Not shown at this width: ").split(" (a wider")[0]
        assert "£" not in left_out, note
    if width == 120:
        assert percent(t["administration_share_of_delivered"]) in text
    else:
        assert any("Admin / delivered" in n for n in notes)


def test_tables_stay_in_line_where_the_encoding_lacks_pound_signs() -> None:
    """Written to an ASCII terminal, "£" is "GBP " and "→" is "->" before rich lays the
    table out: every line of it as wide as the others."""
    import codecs
    import io

    from rich.table import Table

    from placecount.cli import _plain
    from placecount.console import SafeConsole

    codecs.register_error("placecount-plain", _plain)
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="placecount-plain")
    table = Table(title="Spend")
    table.add_column("Body")
    table.add_column("Amount £", justify="right")
    table.add_row("County → parish", "£1,000.00")
    table.add_row("A much longer body name", "£2.00")
    SafeConsole(file=out, width=80).print(table)
    out.flush()
    lines = [line for line in raw.getvalue().decode("ascii").splitlines() if "|" in line]
    assert len(lines) == 4
    assert len({len(line) for line in lines}) == 1
    assert "GBP 1,000.00" in lines[2] and "County -> parish" in lines[2]
