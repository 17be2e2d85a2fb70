"""A `run` killed part-way leaves the last complete output as it was, and the next run
clears what the killed one left (issue #14)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from placecount import run as runmod

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL and process ids")


def placecount(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "placecount", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def contents(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def aside(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".out-"))


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def place(tmp_path: Path) -> Path:
    folder = tmp_path / "exampleshire"
    shutil.copytree(ROOT / "examples" / "exampleshire", folder)
    return folder


def test_a_killed_run_leaves_the_last_output_and_the_next_run_clears_up(place: Path) -> None:
    first = placecount("run", "placecount.toml", "--out", "out", cwd=place)
    assert first.returncode == 0, first.stderr
    before = contents(place / "out")
    assert "manifest.json" in before

    child = subprocess.Popen(
        [sys.executable, "-m", "placecount", "run", "placecount.toml", "--out", "out"],
        cwd=place,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not any(n.endswith(".new") for n in aside(place)) and time.monotonic() < deadline:
        assert child.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    time.sleep(0.5)  # part-way through building
    assert child.poll() is None, "the run ended before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    # killed part-way: its half-built folder is left beside the last complete output
    assert [n for n in aside(place) if n.endswith(".new")]
    assert contents(place / "out") == before

    again = placecount("run", "placecount.toml", "--out", "out", cwd=place)
    assert again.returncode == 0, again.stderr
    assert aside(place) == []  # the killed run's folder is gone, and this run's own
    # the same count, byte for byte (a database file is not byte-identical from run to run)
    again_contents = contents(place / "out")
    assert again_contents.pop("placecount.duckdb") and before.pop("placecount.duckdb")
    assert again_contents == before
    verified = placecount("verify", "out/manifest.json", cwd=place)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_an_output_moved_aside_by_a_killed_swap_is_put_back(tmp_path: Path) -> None:
    """Killed between moving the last output aside and moving the new one in: the next
    run finds no output folder, and puts the last complete one back before building."""
    out = tmp_path / "out"
    pid = dead_pid()
    old = tmp_path / f".out-{pid}-abcdefgh.old"
    old.mkdir()
    (old / "count.csv").write_text("the last count\n", encoding="utf-8")
    (old / runmod.MARKER).write_text('{"files": ["count.csv"]}', encoding="utf-8")
    half = tmp_path / f".out-{pid}-ijklmnop.new"
    half.mkdir()
    (half / "count.csv").write_text("half", encoding="utf-8")
    mine = tmp_path / ".out-backup.old"  # not named as placecount names its folders
    mine.mkdir()
    running = tmp_path / f".out-{os.getpid()}-qrstuvwx.new"  # this process: running
    running.mkdir()

    runmod._clear_stale(out)

    assert (out / "count.csv").read_text(encoding="utf-8") == "the last count\n"
    assert not old.exists() and not half.exists()
    assert mine.exists() and running.exists()
