"""Outputs that cannot cost data: `run` builds aside and swaps in, writes only inside its
output folder, through temporary files nobody can predict (issue #14)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import run as runmod
from placecount.cli import app
from placecount.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A copy of the example place, so tests can change its files."""
    folder = tmp_path / "exampleshire"
    shutil.copytree(ROOT / "examples" / "exampleshire", folder)
    return folder / "placecount.toml"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_into_the_project_folder_leaves_a_hand_built_database(
    place: Path, runner: CliRunner
) -> None:
    folder = place.parent
    db = folder / "placecount.duckdb"
    built = runner.invoke(
        app,
        [
            "ingest",
            "council",
            str(folder / "riverton_district_outturn_2008-09.csv"),
            "--db",
            str(db),
            "--org",
            "Riverton District Council",
            "--quiet",
        ],
    )
    assert built.exit_code == 0, built.stderr
    before = digest(db)
    listing = sorted(p.name for p in folder.parent.iterdir())
    result = runner.invoke(app, ["run", str(place), "--out", str(folder)])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "the output folder holds the project's database placecount.duckdb" in result.stderr
    assert "--out" in result.stderr
    assert digest(db) == before
    # nothing left beside it: the refusal comes before any building
    assert sorted(p.name for p in folder.parent.iterdir()) == listing
    assert not (folder / "manifest.json").exists()


def test_run_refuses_a_folder_holding_an_input(place: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", str(place), "--out", str(place.parent)])
    assert result.exit_code == 2
    assert "the output folder holds an input of the count, 'placecount.toml'" in result.stderr


def test_run_refuses_a_folder_holding_files_it_did_not_write(
    place: Path, tmp_path: Path, runner: CliRunner
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    notes = out / "notes.txt"
    notes.write_text("an auditor's own notes\n")
    result = runner.invoke(app, ["run", str(place), "--out", str(out)])
    assert result.exit_code == 2
    assert "holds 'notes.txt', which placecount did not write" in result.stderr
    assert notes.read_text() == "an auditor's own notes\n"


def test_a_second_run_replaces_its_own_folder_whole(place: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runmod.run(place, out)
    assert (out / ".placecount-output").is_file()
    first = digest(out / "count.csv")
    # an output dropped from the project does not linger from the run before
    text = place.read_text().replace('file = "older_people.csv"', 'file = "older.csv"')
    place.write_text(text)
    runmod.run(place, out)
    assert not (out / "older_people.csv").exists() and (out / "older.csv").exists()
    assert digest(out / "count.csv") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exampleshire", "out"]


def test_a_failed_run_leaves_the_last_complete_output(place: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runmod.run(place, out)
    before = {p.name: digest(p) for p in out.iterdir()}
    (place.parent / "ndpb_spending_2008-09.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(Exception) as err:
        runmod.run(place, out)
    assert "ndpb_spending_2008-09.xlsx" in str(err.value)
    assert {p.name: digest(p) for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exampleshire", "out"]


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('file = "../escaped.csv"', "row 13 (outputs[0].file)"),
        ('file = "{abs}"', "row 13 (outputs[0].file)"),
        ('file = "t.csv"\nchart = "sub/../../escaped.svg"', "row 14 (outputs[0].chart)"),
    ],
)
def test_run_refuses_outputs_outside_the_output_folder(
    tmp_path: Path, runner: CliRunner, line: str, where: str
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy(
        ROOT / "examples" / "exampleshire" / "riverton_district_outturn_2008-09.csv", folder
    )
    escaped = tmp_path / "escaped.csv"
    project = folder / "placecount.toml"
    kind = "flows" if "chart" in line else "report"
    project.write_text(
        '[place]\nname = "Riverton"\nfinancial_year = "2008-09"\npopulation = 100000\n\n'
        '[[sources]]\nkind = "council"\nfile = "riverton_district_outturn_2008-09.csv"\n'
        'org = "Riverton District Council"\n\n'
        f'[[outputs]]\ntype = "{kind}"\n' + line.format(abs=escaped) + "\n"
    )
    result = runner.invoke(app, ["run", str(project)])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert f"placecount.toml › {where}: the output " in result.stderr
    assert "`run` writes only inside its output folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["placecount.toml", "riverton_district_outturn_2008-09.csv"]
    )


def test_an_output_is_not_written_through_a_symlink_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(tmp_path)
    with pytest.raises(InputError) as err:
        runmod._target(out, "sub/count.csv")
    assert err.value.issues[0].code == "output-outside"
    assert "'sub/count.csv' would be written outside the output folder" in str(err.value)
    assert runmod._target(out, "a/count.csv") == out / "a" / "count.csv"


def test_verify_refuses_a_manifest_with_outputs_outside_its_folder(
    place: Path, tmp_path: Path, runner: CliRunner
) -> None:
    out = tmp_path / "out"
    runmod.run(place, out)
    manifest = out / "manifest.json"
    data = json.loads(manifest.read_text())
    for bad in ("../../victim.txt", "/etc/victim.txt"):
        data["outputs"][0]["path"] = bad
        manifest.write_text(json.dumps(data))
        result = runner.invoke(app, ["verify", str(manifest)])
        assert result.exit_code == 2, result.stdout + result.stderr
        assert f"manifest.json: the manifest's output {bad!r} " in result.stderr
        assert "a manifest's outputs are inside its folder" in result.stderr


def _writer(name: str) -> Callable[[Path], None]:
    from placecount.charts import Link, sankey
    from placecount.project import Place, Project, write_project
    from placecount.render import write_output
    from placecount.scenario import load_scenario, price
    from placecount.scenario_render import scenario_chart

    if name == "count.csv":
        return lambda p: write_output(p, "code,amount\n")
    if name == "wall.svg":
        return lambda p: sankey([Link("Department", "Council", 10**10)], "T", p)
    if name == "scenario.svg":
        scenario = price(
            load_scenario(ROOT / "examples" / "scenarios" / "older_people_dorset.yaml")
        )
        return lambda p: scenario_chart(scenario, p)
    project = Project(place=Place(name="Testshire", financial_year="2008-09"))
    return lambda p: write_project(p, project)


@pytest.mark.parametrize("name", ["count.csv", "wall.svg", "scenario.svg", "placecount.toml"])
def test_a_symlink_at_the_old_temporary_name_is_not_followed(tmp_path: Path, name: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("the victim's own text\n")
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / name
    old_tmp = "placecount.toml.tmp" if name == "placecount.toml" else f".{name}.tmp"
    (folder / old_tmp).symlink_to(victim)
    _writer(name)(target)
    assert victim.read_text() == "the victim's own text\n"
    assert target.is_file() and not target.is_symlink()
    assert target.stat().st_size > 0
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as a plain open() makes it
    # nothing of the write is left behind beside the planted link
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, old_tmp])


def _damage_in_the_middle(db: Path) -> None:
    """The middle half of a real database overwritten: found when its lines are read."""
    data = bytearray(db.read_bytes())
    n = len(data)
    data[n // 4 : 3 * n // 4] = b"\xa5" * (3 * n // 4 - n // 4)
    db.write_bytes(bytes(data))


def _damage_all_but_the_header(db: Path) -> None:
    """Everything after the headers overwritten: found on opening, where DuckDB's message
    ("... in block at location ...") holds the word "lock"."""
    data = bytearray(db.read_bytes())
    data[12288:-4096] = b"\xa5" * (len(data) - 4096 - 12288)
    db.write_bytes(bytes(data))


def _random_megabyte(db: Path) -> None:
    db.write_bytes(random.Random(14).randbytes(1 << 20))


@pytest.mark.parametrize(
    "damage", [_random_megabyte, _damage_in_the_middle, _damage_all_but_the_header]
)
def test_a_damaged_database_is_said_to_be_damaged_at_once(
    place: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    runmod.run(place, tmp_path / "out")
    db = tmp_path / "out" / "placecount.duckdb"
    damage(db)
    before = digest(db)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "placecount", "report", "--db", str(db), "--format", "csv"],
        capture_output=True,
        text=True,
        env={**os.environ, "PLACECOUNT_LOCK_WAIT": "10"},
        timeout=60,
    )
    took = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: the database file is damaged: 'placecount.duckdb'" in result.stderr
    assert "restore it or run `placecount run` again" in result.stderr
    assert "in use" not in result.stderr and "Traceback" not in result.stderr
    assert str(tmp_path) not in result.stderr
    assert took < 8, f"waited {took:.1f} s as if the file were locked"
    assert digest(db) == before


# -- shares and rates refused as text --------------------------------------------------------

EXAMPLE = ROOT / "examples" / "exampleshire"
HUGE = "1e999999999"
TINY = "1e-999999999"


def placecount(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line in its own process, with a time limit: a value that would take
    minutes to turn into an exact fraction fails the test rather than hanging it."""
    return subprocess.run(
        [sys.executable, "-m", "placecount", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=30,
    )


@pytest.mark.parametrize("value", [TINY, HUGE, "0." + "1" * 40])
def test_a_pesa_share_with_an_exponent_or_too_many_digits_is_refused(
    tmp_path: Path, value: str
) -> None:
    result = placecount(
        "ingest", "pesa", str(EXAMPLE / "pesa_cra_regional_2008-09.xlsx"),
        "--region", "East Midlands", "--share", value, "--db", "x.duckdb", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    why = "has more than 30 digits" if "e" not in value else "is written with an exponent"
    assert f"error: --share {value!r} {why}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_mapping_share_with_an_exponent_is_refused(tmp_path: Path) -> None:
    mapping = tmp_path / "mine.csv"
    mapping.write_text(
        "native_code,native_label,cofog_code,share,note\n"
        f",Education services,09,{TINY},tiny\n,Education services,09,1,whole\n"
    )
    result = placecount(
        "ingest", "council", str(EXAMPLE / "riverton_district_outturn_2008-09.csv"),
        "--org", "Riverton District Council", "--mapping", str(mapping),
        "--db", "x.duckdb", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"mine.csv › row 2 (share): share {TINY!r} is written with an exponent" in (
        result.stderr
    )


def test_a_hand_over_rate_with_an_exponent_is_refused(tmp_path: Path) -> None:
    chains = ROOT / "examples" / "leicester" / "european_funding.csv"
    result = placecount("flows", str(chains), "--rate", TINY, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"error: --rate {TINY!r} is written with an exponent" in result.stderr


def test_a_driver_share_with_an_exponent_is_refused(place: Path) -> None:
    text = place.read_text().replace(
        "[[sources]]",
        f'[[drivers]]\ncofog = "09"\nshare = "{TINY}"\nbasis = "pupils"\n\n[[sources]]',
        1,
    )
    place.write_text(text)
    result = placecount("run", str(place), "--out", "built", cwd=place.parent)
    assert result.returncode == 2, result.stderr
    assert f"drivers[0].share: {TINY!r} is written with an exponent" in result.stderr
    assert not (place.parent / "built").exists()
