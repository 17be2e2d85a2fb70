"""Hostile and broken inputs, interrupted runs, concurrent use and safe outputs (issue #8)."""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.errors import InputError
from placecount.render import safe_cell
from placecount.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from corpus import CORPUS  # noqa: E402

PYTHON = sys.executable


def db_state(db: Path) -> list[tuple[object, ...]]:
    with Store.open(db) as store:
        return [
            *store.con.execute("SELECT * FROM sources ORDER BY source_id").fetchall(),
            *store.con.execute("SELECT count(*), sum(amount_pence) FROM lines").fetchall(),
        ]


@pytest.mark.parametrize(
    ("maker", "code", "text", "total"), CORPUS, ids=[m.__name__ for m, *_ in CORPUS]
)
def test_corpus(
    runner: CliRunner,
    db: Path,
    tmp_path: Path,
    maker: Callable[[Path], Path],
    code: int,
    text: str,
    total: str | None,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = maker(folder)
    before = db_state(db)
    extra = ["--max-unzipped-mb", "100"] if path.name == "bomb.xlsx" else []
    started = time.monotonic()
    result = runner.invoke(
        app, ["ingest", "council", str(path), "--org", "X", "--db", str(db), *extra]
    )
    assert time.monotonic() - started < 20  # refused quickly, not after inflating it
    assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr
    assert text in result.stderr
    if code:
        assert result.stderr.startswith(f"error: {path.name}")
        assert db_state(db) == before
    if total is not None:
        [src] = api.sources(db)
        assert src["total_gbp"] == total


def test_limits_are_stated_and_enforced(
    runner: CliRunner, db: Path, xlsx: Callable[..., Path]
) -> None:
    help_text = runner.invoke(app, ["ingest", "--help"]).stdout
    options = ("--max-file-mb", "--max-rows", "--max-columns", "--max-unzipped-mb", "--max-cells")
    for option in (*options, "--max-cell-chars"):
        assert option in help_text
    path = xlsx([["Service", "Net expenditure (£)"], *[["Education services", 1]] * 5])
    rows = runner.invoke(app, ["ingest", "council", str(path), "--max-rows", "3", "--db", str(db)])
    assert rows.exit_code == 2
    # refused from the sheet's XML, before the sheet is loaded
    assert "the sheet's cells reach B6: 6 rows × 2 columns (12 cells" in rows.stderr
    assert "over the limit of 3 rows" in rows.stderr
    assert rows.stderr.endswith("Raise it with --max-rows if the file is genuine.\n")
    cells = runner.invoke(
        app, ["ingest", "council", str(path), "--max-cells", "11", "--db", str(db)]
    )
    assert cells.exit_code == 2 and "over the limit of 11 cells" in cells.stderr
    cols = runner.invoke(
        app, ["ingest", "council", str(path), "--max-columns", "1", "--db", str(db)]
    )
    assert cols.exit_code == 2 and "over the limit of 1" in cols.stderr


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000), st.sampled_from([".csv", ".xlsx", ".parquet"]))
def test_fuzz_readers_never_crash(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        api.ingest("council", [path], folder / "db.duckdb", dry_run=True)
    except InputError as exc:
        assert exc.issues and exc.exit_code == 2


cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["£1,234", "(12)", "-", "1.2.3", "1e308", "NaN", "∞", "Total", "=SUM(A1)", ""]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(cells, max_size=4), max_size=8))
def test_fuzz_sheets_never_crash(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    folder = tmp_path_factory.mktemp("fuzzcsv")
    out = io.StringIO()
    csv.writer(out).writerows([["Service", "Net expenditure (£)"], *rows])
    path = folder / "f.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    try:
        result = api.ingest("council", [path], folder / "db.duckdb", dry_run=True)
        assert result.sources[0]["lines_kept"] <= len(rows)
    except InputError as exc:
        assert exc.issues


# --- nothing lost: killed ingests and two processes ---------------------------------------


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "payments.csv"
    rng = random.Random(8)
    labels = ["Education services", "Waste collection", "Library service"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Service", "Supplier", "Net expenditure (£)"])
        for i in range(150_000):
            w.writerow([rng.choice(labels), f"Supplier {i % 997}", f"{rng.randint(500, 99999)}.25"])
    return path


def test_killed_ingest_leaves_the_database_as_it_was(
    db: Path, big_csv: Path, xlsx: Callable[..., Path]
) -> None:
    small = xlsx([["Service", "Net expenditure (£)"], ["Education services", 10]])
    api.ingest("council", [small], db, org="Before")
    rng = random.Random(1)
    outcomes = set()
    data = big_csv.read_bytes()
    for attempt in range(20):
        before = db_state(db)
        path = big_csv.with_name(f"payments_{attempt}.csv")  # a new file each time
        path.write_bytes(data + f"Library service,Extra {attempt},1.00\n".encode())
        child = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "placecount.cli",
                "ingest",
                "council",
                str(path),
                "--org",
                f"Run {attempt}",
                "--db",
                str(db),
                "--quiet",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 2.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        after = db_state(db)
        if after == before:
            outcomes.add("rolled back")
        else:  # it finished before the kill: the whole file is there, not a part
            outcomes.add("committed")
            assert len(after) == len(before) + 1
            assert after[-1][0] == before[-1][0] + 150_001
        with Store.open(db) as store:  # usable: a query and a write work
            store.con.execute("SELECT count(*) FROM allocations").fetchone()
    assert "rolled back" in outcomes
    later = xlsx([["Service", "Net expenditure (£)"], ["Library service", 7]], name="later.xlsx")
    api.ingest("council", [later], db, org="After")
    assert [s["org"] for s in api.sources(db)][-1] == "After"


def test_two_processes_on_one_database(db: Path, tmp_path: Path) -> None:
    holder = textwrap.dedent(f"""
        import sys, time
        from placecount.store import Store
        with Store.open({str(db)!r}) as store:
            print("holding", flush=True)
            time.sleep(float(sys.argv[1]))
    """)
    script = tmp_path / "hold.py"
    script.write_text(holder)
    # the holder keeps the database 3 s: long enough for the other command to start and
    # find it held even on a busy machine, short enough to wait out
    for attempt in range(6):
        hold = subprocess.Popen([PYTHON, str(script), "3.0"], stdout=subprocess.PIPE, text=True)
        assert hold.stdout is not None and hold.stdout.readline().strip() == "holding"
        wait = "0.2" if attempt % 2 == 0 else "10"
        other = subprocess.run(
            [PYTHON, "-m", "placecount.cli", "sources", "--json", "--db", str(db)],
            capture_output=True,
            text=True,
            env={**os.environ, "PLACECOUNT_LOCK_WAIT": wait},
        )
        hold.wait()
        if wait == "0.2":  # gives up quickly, with a plain message
            assert other.returncode == 2, other.stderr
            assert "is in use by another placecount process" in other.stdout
        else:  # waits its turn, then works
            assert other.returncode == 0, other.stderr
    assert api.sources(db) == []  # and the database is intact


# --- safe outputs --------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://x","y")'


def test_safe_cell() -> None:
    assert safe_cell(FORMULA) == "'" + FORMULA
    for risky in ("+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "- Other"):
        assert safe_cell(risky).startswith("'")
    for fine in ("-1234.00", "+12", "1234", "Education", "07.3", None, 12):
        assert safe_cell(fine) == fine


@pytest.fixture
def hostile(db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            [
                ["Service", "Net expenditure (£)", "Paid to"],
                [FORMULA, "10", ""],
                ["Education services", "20", FORMULA],
            ]
        )
    api.ingest("council", [path], db, org="@Council")
    return db


def test_csv_and_xlsx_outputs_carry_no_formula(
    runner: CliRunner, hostile: Path, tmp_path: Path
) -> None:
    flows = runner.invoke(app, ["flows", "--from-store", "--format", "csv", "--db", str(hostile)])
    assert flows.exit_code == 0, flows.stderr
    rows = list(csv.reader(io.StringIO(flows.stdout)))
    assert rows[1][1].startswith("'@Council > '=HYPERLINK") or rows[1][1].startswith("'@")
    out = tmp_path / "count.xlsx"
    assert runner.invoke(app, ["report", "-o", str(out), "--db", str(hostile)]).exit_code == 0
    wb = load_workbook(out)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    labels = [c.value for c in wb["Lines"]["H"]]
    assert FORMULA in labels  # kept as the text it was


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_them_as_text(hostile: Path, tmp_path: Path) -> None:
    """LibreOffice converts our CSV and xlsx; the converted cells hold text, not formulas."""
    out = tmp_path / "count.xlsx"
    data = api.report(hostile, detail=True)
    from placecount import render

    out.write_bytes(render.report_xlsx(data))
    flows_csv = tmp_path / "flows.csv"
    flows_csv.write_text(render.flows_csv(api.flows(None, db=hostile)), encoding="utf-8")
    converted = tmp_path / "converted"
    for src in (out, flows_csv):
        done = subprocess.run(
            ["soffice", "--headless", "--convert-to", "xlsx", "--outdir", str(converted), str(src)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
    for name in ("count.xlsx", "flows.xlsx"):
        wb = load_workbook(converted / name)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (name, ws.title, cell.coordinate, cell.value)
    text = [
        c.value
        for row in load_workbook(converted / "flows.xlsx").active.iter_rows()
        for c in row
        if isinstance(c.value, str)
    ]
    assert any("HYPERLINK" in t for t in text)


def test_outputs_name_no_path_or_user(hostile: Path) -> None:
    data = api.report(hostile, detail=True)
    from placecount import render

    blob = (
        render.report_xlsx(data) + render.report_csv(data).encode() + render.to_json(data).encode()
    )
    for secret in (str(hostile.parent), os.environ.get("USER", "root") + "/"):
        assert secret.encode() not in blob
    assert Decimal(data["totals"]["total_gbp"]) == Decimal("30.00")
