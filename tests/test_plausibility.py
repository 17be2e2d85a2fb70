"""Counts checked against what a real body could spend a head (issue 11).

A pounds payments file read as £000 gave a count of £6.27m a head with exit code 0. No
council, NHS body or department spends over £50,000 a head of the people it serves, so
such a total is refused, at ingest and again when the count is made, with the unit
that would make it plausible.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.project import load_project, write_project

# An NHS body's figures in pounds under a header that wrongly says £000: £627m as
# written, £627bn as read, £6,270,000 a head of 100,000 people.
ROWS = [
    ["NHS Testshire net expenditure"],
    ["Code", "Service", "Amount (£000)"],
    ["A1", "Acute services", 400_000_000],
    ["A2", "Community services", 227_000_000],
]


def test_a_source_beyond_any_real_body_a_head_is_refused_at_ingest(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(ROWS)  # the project (conftest) has 100,000 people
    result = runner.invoke(app, ["ingest", "nhs", str(path), "--db", str(db), "--json"])
    assert result.exit_code == 2
    assert '"code": "implausible-total"' in result.stdout
    # £627,000,000,000 over 100,000 people is £6,270,000 a head
    assert "£6,270,000 a head" in result.stdout
    # read 1,000 times smaller: £627,000,000 / 100,000 = £6,270 a head
    [issue] = json.loads(result.stdout)["issues"]
    assert "£6,270,000 a head" in issue["message"]
    assert "Read in £ (1,000× smaller) it would be £6,270 a head" in issue["note"]
    assert "--units pounds" in issue["note"]
    assert api.sources(db) == []


def test_the_count_refuses_it_when_the_population_comes_later(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx(ROWS)
    project_file = db.with_name("placecount.toml")
    project = load_project(project_file)
    assert project is not None
    project.place.population = None
    write_project(project_file, project)
    ingest = runner.invoke(app, ["ingest", "nhs", str(path), "--db", str(db)])
    assert ingest.exit_code == 0, ingest.stderr
    project.place.population = 100_000
    write_project(project_file, project)
    report = runner.invoke(app, ["report", "--db", str(db)])
    assert report.exit_code == 2
    assert "implausible-total" in report.stderr or "beyond any real body" in report.stderr


def test_a_plausible_source_passes(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> None:
    rows = [*ROWS[:2], ["A1", "Acute services", 400_000], ["A2", "Community services", 227_000]]
    result = runner.invoke(app, ["ingest", "nhs", str(xlsx(rows)), "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    [src] = api.sources(db)
    # (400,000 + 227,000) × £1,000: £6,270 a head
    assert src["total_gbp"] == "627000000.00"
