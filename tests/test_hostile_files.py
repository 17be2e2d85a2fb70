"""Files that are not files, manifests that point elsewhere, project files nested too deep
(issue #14): each is refused with exit code 2 and the file named, never a hang or a bug.

Every command runs in its own process under a time limit, so a hang fails the test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "exampleshire"
RIVERTON = "riverton_district_outturn_2008-09.csv"

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")


def placecount(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "placecount", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a project file, a database and one council CSV."""
    folder = tmp_path / "place"
    folder.mkdir()
    shutil.copy(EXAMPLE / RIVERTON, folder / RIVERTON)
    done = placecount(
        "init", "--place", "Riverton", "--year", "2008-09", "--db", "placecount.duckdb", cwd=folder
    )
    assert done.returncode == 0, done.stderr
    return folder


def ingest_with_mapping(folder: Path, mapping: str) -> subprocess.CompletedProcess[str]:
    return placecount(
        "ingest", "council", RIVERTON, "--org", "Riverton District Council",
        "--db", "placecount.duckdb", "--mapping", mapping, "--dry-run", cwd=folder,
    )  # fmt: skip


@needs_fifo
def test_a_named_pipe_as_a_mapping_is_refused(project: Path) -> None:
    os.mkfifo(project / "mapping.csv")
    result = ingest_with_mapping(project, "mapping.csv")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        "error: mapping.csv: the mapping file 'mapping.csv' is a named pipe (FIFO), not a file"
    )


@needs_dev_zero
def test_dev_zero_as_a_mapping_is_refused(project: Path) -> None:
    result = ingest_with_mapping(project, "/dev/zero")
    assert result.returncode == 2, result.stderr
    assert "the mapping file 'zero' is a device, not a file" in result.stderr


def test_a_folder_as_a_mapping_is_refused(project: Path) -> None:
    (project / "mapping.csv").mkdir()
    result = ingest_with_mapping(project, "mapping.csv")
    assert result.returncode == 2, result.stderr
    assert "the mapping file 'mapping.csv' is a folder, not a file" in result.stderr


def write_project(folder: Path, extra: str = "") -> Path:
    path = folder / "placecount.toml"
    path.write_text(
        '[place]\nname = "Riverton"\nfinancial_year = "2008-09"\npopulation = 98400\n'
        f"{extra}\n"
        f'[[sources]]\nkind = "council"\nfile = "{RIVERTON}"\norg = "Riverton District Council"\n'
        '\n[[outputs]]\ntype = "report"\nfile = "count.csv"\n',
        encoding="utf-8",
    )
    return path


@needs_fifo
def test_a_named_pipe_as_a_project_mapping_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy(EXAMPLE / RIVERTON, folder / RIVERTON)
    write_project(folder, '[mappings]\ncouncil = "mine.csv"\n')
    os.mkfifo(folder / "mine.csv")
    result = placecount("run", "placecount.toml", "--out", "out", cwd=folder)
    assert result.returncode == 2, result.stderr
    assert "the mapping file 'mine.csv' is a named pipe (FIFO), not a file" in result.stderr
    assert not (folder / "out").exists()


@needs_fifo
def test_a_named_pipe_as_the_project_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "placecount.toml")
    result = placecount("report", "--db", "placecount.duckdb", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "the project file 'placecount.toml' is a named pipe (FIFO)" in result.stderr


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A project run once: its folder, with out/manifest.json."""
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy(EXAMPLE / RIVERTON, folder / RIVERTON)
    write_project(folder)
    done = placecount("run", "placecount.toml", "--out", "out", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def tamper(folder: Path, path: str) -> Path:
    """The manifest with one more input entry, as someone else might publish it."""
    manifest = folder / "out" / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["inputs"].append({"path": path, "sha256": "0" * 64, "bytes": 1})
    manifest.write_text(json.dumps(data), encoding="utf-8")
    return manifest


@pytest.mark.parametrize("entry", ["/etc/passwd", "../../../../../../etc/passwd", "../x.csv"])
def test_verify_refuses_an_input_outside_the_project(built: Path, entry: str) -> None:
    (built.parent / "x.csv").write_text("secret\n", encoding="utf-8")
    tamper(built, entry)
    result = placecount("verify", "out/manifest.json", cwd=built)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: manifest.json: the manifest's input {entry!r} " in result.stderr
    assert "`verify` reads only the inputs its project file names" in result.stderr


def test_verify_refuses_an_absolute_project_file(built: Path) -> None:
    manifest = built / "out" / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["project_file"] = "/etc/passwd"
    manifest.write_text(json.dumps(data), encoding="utf-8")
    result = placecount("verify", "out/manifest.json", cwd=built)
    assert result.returncode == 2, result.stderr
    assert "the manifest's project file '/etc/passwd' is an absolute path" in result.stderr


def test_verify_refuses_bundled_data_that_climbs_out(built: Path) -> None:
    tamper(built, "placecount:../../../../etc/passwd")
    result = placecount("verify", "out/manifest.json", cwd=built)
    assert result.returncode == 2, result.stderr
    assert "climbs out of it with '..'" in result.stderr


@needs_fifo
def test_verify_refuses_a_named_pipe_in_the_project(built: Path) -> None:
    os.mkfifo(built / "pipe.csv")
    tamper(built, "pipe.csv")
    result = placecount("verify", "out/manifest.json", cwd=built)
    assert result.returncode == 2, result.stderr
    assert "the manifest's input 'pipe.csv' is a named pipe (FIFO), not a file" in result.stderr


def test_verify_reads_inputs_the_project_names_outside_its_folder(tmp_path: Path) -> None:
    """The example of two places reads ../exampleshire/…: its own inputs, so verified."""
    shutil.copytree(EXAMPLE, tmp_path / "exampleshire")
    shutil.copytree(ROOT / "examples" / "riverton", tmp_path / "riverton")
    folder = tmp_path / "riverton"
    assert placecount("run", "placecount.toml", "--out", "out", cwd=folder).returncode == 0
    result = placecount("verify", "out/manifest.json", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "text", ["a = " + "[" * 100_000, "a = " + "[" * 990 + "]" * 990, "a = " + "{b = " * 5000]
)
def test_a_project_file_nested_too_deeply_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "placecount.toml").write_text(text + "\n", encoding="utf-8")
    result = placecount("report", "--db", "placecount.duckdb", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        "error: placecount.toml: not valid TOML: its arrays or tables are nested too deeply"
    )


def test_a_scenario_file_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    (tmp_path / "deep.toml").write_text("a = " + "[" * 100_000 + "\n", encoding="utf-8")
    result = placecount("journey", "deep.toml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "nested too deeply" in result.stderr


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["--place", "Ex\x7fshire"], "--place 'Ex\\x7fshire' holds a control character (\\x7f)"),
        (["--place", "Ex\x1b[2Jshire"], "--place 'Ex\\x1b[2Jshire' holds a control character"),
        (["--place", "Ex\nshire"], "--place 'Ex\\x0ashire' holds a control character (\\x0a)"),
        (["--place", "Ex\u202eshire"], "--place 'Ex\\u202eshire' holds a control character"),
        (["--place", "X", "--area-code", "E1\x00"], "--area-code 'E1\\x00' holds a control"),
    ],
)
def test_init_refuses_names_with_control_characters(
    tmp_path: Path, args: list[str], shown: str
) -> None:
    from typer.testing import CliRunner

    from placecount.cli import app

    db = tmp_path / "placecount.duckdb"
    result = CliRunner().invoke(app, ["init", *args, "--year", "2008-09", "--db", str(db)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: " + shown), result.stderr
    assert not (tmp_path / "placecount.toml").exists() and not db.exists()


def test_a_project_file_naming_the_place_with_a_control_character_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "placecount.toml").write_text(
        '[place]\nname = "A\\u001b[2J"\nfinancial_year = "2008-09"\n', encoding="utf-8"
    )
    result = placecount("report", "--db", "placecount.duckdb", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "placecount.toml › row 2 (place.name)" in result.stderr
    assert "a name cannot hold a control character (\\x1b)" in result.stderr


@pytest.fixture
def counted(tmp_path: Path) -> Path:
    """A database with the Riverton district council's outturn in it."""
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "placecount.duckdb"
    for args in (
        ["init", "--place", "Riverton", "--year", "2008-09", "--population", "98400"],
        ["ingest", "council", str(EXAMPLE / RIVERTON), "--org", "Riverton District Council"],
    ):
        done = placecount(*args, "--db", str(db), cwd=folder)
        assert done.returncode == 0, done.stderr
    return db


def riverton_total(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["totals"]["total_gbp"])


#: Riverton's net current expenditure, from the example file's TOTAL row
RIVERTON_TOTAL = "12757139.00"


def test_a_read_only_database_in_a_read_only_folder_can_be_reported_from(counted: Path) -> None:
    folder = counted.parent
    counted.chmod(0o444)
    folder.chmod(0o555)
    try:
        result = placecount("report", "--db", str(counted), "--format", "json", cwd=folder.parent)
        assert riverton_total(result) == RIVERTON_TOTAL
        sources = placecount("sources", "--db", str(counted), cwd=folder.parent)
        assert sources.returncode == 0, sources.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["placecount.duckdb", "placecount.toml"]
    finally:
        folder.chmod(0o755)
        counted.chmod(0o644)


def test_reports_read_beside_another_reader(counted: Path) -> None:
    """Reading commands open the database read-only: a second process reading it at the
    same time (an auditor's report while a colleague's is open) neither waits nor fails."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb\n"
            "con = duckdb.connect(sys.argv[1], read_only=True)\n"
            "print('open', flush=True)\n"
            "sys.stdin.read()\n",
            str(counted),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        result = subprocess.run(
            [sys.executable, "-m", "placecount", "report", "--db", str(counted), "--format",
             "json"],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "PLACECOUNT_LOCK_WAIT": "0"},
        )  # fmt: skip
        assert riverton_total(result) == RIVERTON_TOTAL
    finally:
        holder.communicate("", timeout=30)
