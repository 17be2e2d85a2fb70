"""init, report, sources, unmapped and cofog through the CLI, and the shared options."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import __version__, api
from placecount.cli import app


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"placecount {__version__}"


def test_init_writes_project_and_database(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "count" / "placecount.duckdb"
    result = runner.invoke(
        app,
        [
            "init",
            "--place",
            "Cumbria",
            "--year",
            "2008/09",
            "--population",
            "496200",
            "--area-code",
            "E10000006",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert db.exists()
    project = tomllib.loads((db.parent / "placecount.toml").read_text(encoding="utf-8"))
    assert project == {
        "place": {
            "name": "Cumbria",
            "area_code": "E10000006",
            "financial_year": "2008-09",
            "population": 496200,
        }
    }
    again = runner.invoke(app, ["init", "--place", "X", "--year", "2008-09", "--db", str(db)])
    assert again.exit_code == 2
    assert "placecount.toml: a project file is already here. Use --force" in again.stderr


def test_init_rejects_a_bad_year(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["init", "--place", "X", "--year", "2008-10", "--db", str(tmp_path / "p.duckdb")]
    )
    assert result.exit_code == 2
    assert "'2008-10' is not a financial year" in result.stderr
    assert not (tmp_path / "placecount.toml").exists()


def test_db_from_environment(runner: CliRunner, tmp_path: Path, xlsx: Callable[..., Path]) -> None:
    db = tmp_path / "env.duckdb"
    env = {"PLACECOUNT_DB": str(db)}
    assert runner.invoke(app, ["init", "--place", "X", "--year", "2008-09"], env=env).exit_code == 0
    path = xlsx([["Service", "Net expenditure (£)"], ["Education services", 10]])
    assert runner.invoke(app, ["ingest", "council", str(path)], env=env).exit_code == 0
    assert [s["file_name"] for s in api.sources(db)] == ["book.xlsx"]


def test_commands_on_a_missing_database(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["sources", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "there is no database 'none.duckdb' here" in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_not_a_database(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("just some text")
    result = runner.invoke(app, ["sources", "--db", str(path)])
    assert result.exit_code == 2
    assert "the database file is damaged: 'notes.duckdb' cannot be read" in result.stderr
    assert "not a valid DuckDB database file" in result.stderr


@pytest.fixture
def counted(runner: CliRunner, db: Path, xlsx: Callable[..., Path]) -> Path:
    council = xlsx(
        [
            ["Service", "Net expenditure (£)"],
            ["Education services", "1,000.10"],
            ["Fire and rescue services", 200],
            ["Mystery line", 7],
        ],
        name="council.xlsx",
    )
    police = xlsx(
        [["Objective", "Net expenditure (£)"], ["Local policing", 300]], name="police.xlsx"
    )
    ndpb = xlsx(
        [
            ["Body", "Sponsor department", "Status", "Expenditure (£)"],
            ["Arts Council England", "DCMS", "Executive", 50],
        ],
        name="ndpb.xlsx",
    )
    for kind, path in [("council", council), ("police", police), ("ndpb", ndpb)]:
        result = runner.invoke(app, ["ingest", kind, str(path), "--org", kind, "--db", str(db)])
        assert result.exit_code == 0, result.stderr
    return db


def test_report_csv_adds_up_to_hand_total(runner: CliRunner, counted: Path) -> None:
    result = runner.invoke(app, ["report", "--format", "csv", "--db", str(counted)])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    cells = {(r["cofog_code"], r["kind"]): Decimal(r["amount_gbp"]) for r in rows}
    # Education 1,000.10 → 09; fire 200 → 03; police 300 → 03; 7 unmapped; NDPB not added.
    assert cells[("09", "council")] == Decimal("1000.10")
    assert cells[("03", "council")] == Decimal("200.00")
    assert cells[("03", "police")] == Decimal("300.00")
    assert cells[("", "council")] == Decimal("7.00")
    assert sum(cells.values()) == Decimal("1507.10")
    assert all(r["kind"] != "ndpb" for r in rows)


def test_report_json_matches_library(runner: CliRunner, counted: Path) -> None:
    result = runner.invoke(app, ["report", "--format", "json", "--db", str(counted)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data == json.loads(json.dumps(api.report(counted), default=str))
    assert data["totals"]["total_gbp"] == "1507.10"
    assert data["totals"]["ndpb_memo_gbp"] == "50.00"
    assert data["totals"]["per_head_gbp"] == "0.02"  # £1,507.10 / 100,000 people


def test_report_table(runner: CliRunner, counted: Path) -> None:
    result = runner.invoke(app, ["report", "--db", str(counted)])
    assert result.exit_code == 0
    assert "Testshire 2008-09" in result.stdout
    assert "1,507.10" in result.stdout and "Not mapped to COFOG" in result.stdout


def test_sources_and_unmapped(runner: CliRunner, counted: Path) -> None:
    result = runner.invoke(app, ["sources", "--json", "--db", str(counted)])
    data = json.loads(result.stdout)
    assert [(s["file_name"], s["kind"], s["lines_kept"], s["total_gbp"]) for s in data] == [
        ("council.xlsx", "council", 3, "1207.10"),
        ("police.xlsx", "police", 1, "300.00"),
        ("ndpb.xlsx", "ndpb", 1, "50.00"),
    ]
    table = runner.invoke(app, ["sources", "--db", str(counted)])
    assert "council.xlsx" in table.stdout
    unmapped = json.loads(
        runner.invoke(app, ["unmapped", "--lines", "--json", "--db", str(counted)]).stdout
    )
    assert [
        (u["file_name"], u["excel_row"], u["native_label"], u["amount_gbp"]) for u in unmapped
    ] == [("council.xlsx", 4, "Mystery line", "7.00")]
    assert "Mystery line" in runner.invoke(app, ["unmapped", "--db", str(counted)]).stdout


def test_every_unmapped_line_of_a_long_list_in_plain_columns(
    runner: CliRunner, db: Path, csv_file: Callable[..., Path]
) -> None:
    """Past 1,000 lines `unmapped --lines` prints plain aligned columns, not a rich table
    (which took seconds for a payments file's thousands): every line, its row and amount
    exact, the amounts right-aligned, a label's control character shown as an escape."""
    n = 1_500
    esc = "\x1b[2J"
    body = "".join(f"Mystery {i}{esc if i == 7 else ''},{i}.{i % 100:02d}\n" for i in range(n))
    path = csv_file("Service,Net expenditure (£)\n" + body, name="long.csv")
    done = runner.invoke(app, ["ingest", "council", str(path), "--org", "X", "--db", str(db)])
    assert done.exit_code == 0, done.output
    shown = runner.invoke(app, ["unmapped", "--lines", "--db", str(db)])
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == "Unmapped lines"
    heads = ["File", "Sheet", "Row", "Kind", "Org", "Code", "Label", "Amount", "£"]
    assert lines[1].split() == heads
    assert set(lines[2]) == {"-", " "} and "│" not in shown.stdout
    rows = lines[3:]
    assert len(rows) == n
    # the amounts, right-aligned to one edge, add up to the file's, worked here
    assert len({len(r) for r in rows}) == 1
    total = sum(Decimal(r.split()[-1].replace(",", "")) for r in rows)
    assert total == sum(Decimal(f"{i}.{i % 100:02d}") for i in range(n))
    # file, then (a csv has no sheet) the row as a spreadsheet numbers it: the header is 1
    assert [r.split()[:2] for r in rows[:2]] == [["long.csv", "2"], ["long.csv", "3"]]
    assert "Mystery 7\\x1b[2J" in shown.stdout and "\x1b" not in shown.stdout
    # --json writes them as the database hands them over: what json.dumps writes of them
    as_json = runner.invoke(app, ["unmapped", "--lines", "--json", "--db", str(db)])
    expected = json.dumps(api.unmapped(db), indent=2, sort_keys=True, ensure_ascii=False)
    assert as_json.stdout == expected + "\n"
    # a reader that stops early (`| head`) ends the command quietly, as for any output
    for args in (["--lines"], ["--lines", "--json"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "placecount.cli", "unmapped", *args, "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(10)
        proc.stdout.close()  # far more is on its way than a pipe holds
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) in (0, 1) and "bug" not in err and "Traceback" not in err


def test_strict_makes_unmapped_an_error(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx([["Service", "Net expenditure (£)"], ["Mystery line", 7]])
    result = runner.invoke(app, ["ingest", "council", str(path), "--strict", "--db", str(db)])
    assert result.exit_code == 2
    assert "book.xlsx › 'Sheet1' row 2: 'Mystery line' has no COFOG mapping" in result.stderr
    assert api.sources(db) == []


def test_user_mapping_overrides_default(
    runner: CliRunner, db: Path, tmp_path: Path, xlsx: Callable[..., Path]
) -> None:
    mapping = tmp_path / "mine.csv"
    mapping.write_text(
        "native_code,native_label,cofog_code,share,note\n"
        ",Mystery line,08.2,0.5,half culture\n"
        ",Mystery line,08.1,0.5,half sport\n"
        ",Education services,09.1,1,all primary here\n",
        encoding="utf-8",
    )
    path = xlsx(
        [["Service", "Net expenditure (£)"], ["Mystery line", "0.07"], ["Education services", 10]]
    )
    result = runner.invoke(
        app, ["ingest", "council", str(path), "--mapping", str(mapping), "--db", str(db)]
    )
    assert result.exit_code == 0, result.stderr
    data = api.report(db)
    assert [(r["cofog_code"], r["total_gbp"]) for r in data["rows"]] == [
        ("08", "0.07"),
        ("09", "10.00"),
    ]
    assert api.unmapped(db) == []


def test_cofog_browse(runner: CliRunner) -> None:
    top = runner.invoke(app, ["cofog", "--json"])
    assert [d["code"] for d in json.loads(top.stdout)] == [f"{i:02d}" for i in range(1, 11)]
    hospital = json.loads(runner.invoke(app, ["cofog", "7.3", "--json"]).stdout)
    assert [d["code"] for d in hospital] == ["07.3", "07.3.1", "07.3.2", "07.3.3", "07.3.4"]
    table = runner.invoke(app, ["cofog", "03.1"])
    assert "Police services" in table.stdout
    bad = runner.invoke(app, ["cofog", "99"])
    assert bad.exit_code == 2 and "'99' is not a COFOG code" in bad.stderr


COMMANDS = ["init", "ingest", "report", "trace", "flows", "run", "verify", "diff", "sources"]
COMMANDS += ["unmapped", "cofog", "compare", "scenario", "journey"]


@pytest.mark.parametrize("name", COMMANDS)
def test_the_app_of_one_command_is_the_whole_apps(runner: CliRunner, name: str) -> None:
    """`main` builds only the command asked for: its help is the whole app's, word for word."""
    from placecount.cli import app_for

    one = app_for([name, "--help"])
    assert [c.callback for c in one.registered_commands] != [
        c.callback for c in app.registered_commands
    ]
    assert len(one.registered_commands) == 1
    whole = runner.invoke(app, [name, "--help"])
    alone = runner.invoke(one, [name, "--help"])
    assert whole.exit_code == alone.exit_code == 0
    assert alone.output == whole.output


@pytest.mark.parametrize(
    "args", [["--help"], [], ["nosuch"], ["--debug"], ["--version"], ["--debug", "cofog", "07"]]
)
def test_no_command_or_an_unknown_one_gets_the_whole_app(
    runner: CliRunner, args: list[str]
) -> None:
    from placecount.cli import app_for

    chosen = app_for(args)
    whole = runner.invoke(app, args)
    assert runner.invoke(chosen, args).output == whole.output
    if args[-1:] != ["07"]:
        assert chosen is app
    else:
        assert len(chosen.registered_commands) == 1  # --debug before the command's name
        assert "Health" in whole.output


def test_workbook_lists_unmapped_then_left_out_lines_in_file_order(
    runner: CliRunner, db: Path, csv_file: Callable[..., Path], tmp_path: Path
) -> None:
    """The workbook's "Unmapped and Excluded" sheet (its lines now read from the database a
    batch at a time): every unmapped line, in file order, then every line left out, each
    with its file, row, label, amount as written and exact amount, worked here by hand."""
    first = csv_file(
        "Service,Net expenditure (£)\n"
        "Mystery one,12.34\n"
        "Education services,1000\n"
        "Mystery two,(5.50)\n"
        "Total,1006.84\n",
        name="first.csv",
    )
    second = csv_file("Service,Net expenditure (£)\nMystery three,0.01\n", name="second.csv")
    for path, org in [(first, "A"), (second, "B")]:
        done = runner.invoke(app, ["ingest", "council", str(path), "--org", org, "--db", str(db)])
        assert done.exit_code == 0, done.output
    out = tmp_path / "count.xlsx"
    assert runner.invoke(app, ["report", "-o", str(out), "--db", str(db)]).exit_code == 0
    from openpyxl import load_workbook

    ws = load_workbook(out, read_only=True)["Unmapped and Excluded"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    heads = list(rows[0])
    got = [
        (
            r[heads.index("Status")],
            r[heads.index("File")],
            r[heads.index("Row")],
            r[heads.index("Label")],
            r[heads.index("As written")],
            r[heads.index("Amount (£)")],
        )
        for r in rows[1:]
    ]
    unmapped = "not mapped (in the count)"
    assert got[:3] == [
        (unmapped, "first.csv", 2, "Mystery one", "12.34", 12.34),
        (unmapped, "first.csv", 4, "Mystery two", "(5.50)", -5.5),
        (unmapped, "second.csv", 2, "Mystery three", "0.01", 0.01),
    ]
    assert [(g[0], g[1], g[2], g[3]) for g in got[3:]] == [("left out", "first.csv", 5, "Total")]
