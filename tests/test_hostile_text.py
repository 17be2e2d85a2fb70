"""Text from the inputs cannot be turned against the reader of an output (issue #14): a
label cannot close a Markdown code block, add a table row or become HTML, and control
characters reach a terminal as visible escapes, never raw."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from placecount import api, compare, render
from placecount.cli import app
from placecount.console import SafeConsole
from placecount.errors import Issue
from placecount.escape import md_cell, md_fence, visible
from placecount.journey_render import journey_markdown
from placecount.scenario import cost_journey, load_journey

ROOT = Path(__file__).resolve().parents[1]

#: Closes a ``` fence, then adds a table row, a raw HTML tag and a heading.
HOSTILE = "Fees\n```\n| forged | row |\n<script>alert(1)</script>\n# Forged heading"


def parse(markdown: str) -> tuple[str, list[Any]]:
    """The HTML a GitHub-like Markdown reader makes of ``markdown``, and its tokens."""
    md = MarkdownIt("commonmark").enable("table")
    return md.render(markdown), md.parse(markdown)


def assert_inert(markdown: str) -> None:
    html, _ = parse(markdown)
    assert "<script>" not in html
    assert not re.search(r"<h\d>\s*Forged heading", html)  # no heading forged from a label
    # no cell of any table holds only the forged word
    assert not re.search(r"<t[dh][^>]*>\s*forged\s*</t[dh]>", html)


@pytest.fixture
def report_result(db: Path, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "council.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["Service", "Net expenditure (£)"], ["Education services", "20"]])
    api.ingest("council", [path], db, org="Testshire Council")
    return api.report(db)


def test_a_label_cannot_close_the_report_code_block(report_result: dict[str, Any]) -> None:
    result = report_result
    result["coverage"]["no_data"] = [{"name": HOSTILE, "kind": "council", "note": "a ```` b"}]
    result["rows"][0]["cofog_name"] = HOSTILE
    result["place"]["name"] = "Testshire <img src=x onerror=alert(1)>"
    markdown = render.report_markdown(result)
    assert_inert(markdown)
    assert "<img" not in parse(markdown)[0]
    _, tokens = parse(markdown)
    fences = [t for t in tokens if t.type == "fence"]
    # the notes are one code block, and it holds the whole label (shown, not obeyed)
    assert len(fences) == 1
    assert "No data: Fees\\x0a```\\x0a| forged | row |" in fences[0].content
    assert fences[0].content.rstrip().endswith("</script>\\x0a# Forged heading (council): a ```` b")
    # the table keeps its rows: the header, one line and the total
    table_rows = [t for t in tokens if t.type == "tr_open"]
    assert len(table_rows) == 3


def test_every_markdown_writer_fences_and_escapes() -> None:
    # compare's notes quote each count's label and file
    result = {
        "by": "division",
        "prices": {"text": "cash"},
        "counts": [{"label": HOSTILE, "file": "a```b.json", "population": None}],
        "rows": [],
        "totals": {
            "changes": [],
            "counts": [{"amount_gbp": "1", "per_head_gbp": None, "share": None}],
        },
        "differences": [],
        "notes": [HOSTILE],
        "benchmarks": [],
    }
    markdown = compare.to_markdown(result)
    assert_inert(markdown)
    fences = [t for t in parse(markdown)[1] if t.type == "fence"]
    assert len(fences) == 1 and "Note: Fees\\x0a```" in fences[0].content

    journey = cost_journey(load_journey(ROOT / "examples" / "scenarios" / "family_journey.yaml"))
    journey["journey"]["name"] = HOSTILE
    journey["journey"]["description"] = "# Forged heading\n<script>x</script>"
    journey["touchpoints"][0]["agency"] = "A | forged | row"
    markdown = journey_markdown(journey)
    assert_inert(markdown)
    html = parse(markdown)[0]
    assert "A | forged | row" in html  # the agency, kept whole in its one cell


def test_a_fence_is_longer_than_any_run_of_backticks() -> None:
    block = md_fence(["a ````` b", "```"])
    assert block.splitlines()[0] == "``````" and block.splitlines()[-1] == "``````"
    assert md_cell("a|b") == "a\\|b"


CONTROL = "Schools\x1b[2J\x1b[1;1HAll lines mapped\r\x08\x07\x9b\u202e\x7f"


def test_control_characters_reach_the_terminal_as_escapes() -> None:
    out = io.StringIO()
    console = SafeConsole(file=out, width=200, force_terminal=True, color_system="truecolor")
    from rich.table import Table

    table = Table(title="Spend \x1b]8;;http://x\x1b\\")
    table.add_column("Label")
    table.add_row(CONTROL)
    table.add_row("[link=http://example.com]click[/link]")
    console.print(table)
    text = out.getvalue()
    # rich's own styling is ESC[…m; nothing else of the cell's reaches the terminal raw
    raw = re.sub(r"\x1b\[[0-9;]*m", "", text)
    for ch in ("\x1b", "\r", "\x08", "\x07", "\x9b", "\u202e", "\x7f"):
        assert ch not in raw, repr(ch)
    assert "\\x1b[2J\\x1b[1;1HAll lines mapped\\x0d\\x08\\x07\\x9b\\u202e\\x7f" in raw
    assert "[link=http://example.com]click[/link]" in raw  # markup shown, not obeyed
    assert visible("plain £ text") == "plain £ text"


def test_issue_messages_show_control_characters_as_escapes() -> None:
    issue = Issue(code="unparseable-amount", file="a.csv", row=2, column="B", message=CONTROL)
    line = render.issue_line(issue)
    assert "\x1b" not in line and "\r" not in line
    assert "\\x1b[2J" in line
    out = io.StringIO()
    render.print_issues(SafeConsole(file=out, width=300), [issue])
    assert "\x1b" not in out.getvalue()
    assert "\\x1b[2J" in out.getvalue()
    multi = Issue(code="bad-year", message="one\nerror: forged line")
    assert "\n" not in render.issue_line(multi)


def test_the_report_table_and_its_issues_on_a_terminal(
    runner: CliRunner, db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "council.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            [
                ["Service", "Net expenditure (£)"],
                ["Education services", "20"],
                ["Fees\x1b[2J", "abc\x1b[31m"],
            ]
        )
    ingested = runner.invoke(app, ["ingest", "council", str(path), "--db", str(db)])
    assert ingested.exit_code == 0, ingested.stderr
    assert "\x1b" not in ingested.stderr
    assert "\\x1b[31m" in ingested.stderr  # the unparseable amount, quoted as it is
    unmapped = runner.invoke(app, ["unmapped", "--db", str(db)], env={"COLUMNS": "200"})
    assert unmapped.exit_code == 0, unmapped.stderr
    assert "\x1b" not in unmapped.stdout
