"""`placecount run`, `verify` and `diff`: reproducible counts for consultants and auditors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import run as runmod
from placecount.cli import app
from placecount.errors import InputError
from placecount.project import load_project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A copy of the example place, so tests can change its files."""
    folder = tmp_path / "exampleshire"
    shutil.copytree(ROOT / "examples" / "exampleshire", folder)
    return folder / "placecount.toml"


def hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.name != "placecount.duckdb" and not p.name.endswith(".wal")
    }


def test_two_runs_give_byte_identical_outputs(place: Path, tmp_path: Path) -> None:
    first = runmod.run(place, tmp_path / "one")
    second = runmod.run(place, tmp_path / "two")
    one, two = hashes(tmp_path / "one"), hashes(tmp_path / "two")
    assert one == two
    assert {
        "count.csv",
        "count.json",
        "count_by_group.xlsx",
        "count.parquet",
        "count.md",
        "manifest.json",
        "transfers.svg",
    } <= set(one)
    assert first == second
    # the manifest names every input and output with its hash, and carries no path or clock
    text = (tmp_path / "one" / "manifest.json").read_text()
    assert str(tmp_path) not in text and "2026" not in text
    names = [i["path"] for i in first["inputs"]]
    assert names[0] == "placecount.toml" and "county_council_outturn_2008-09.xlsx" in names
    assert first["outputs"][0]["sha256"] == one["count.csv"]


def test_manifest_totals_are_the_count(place: Path, tmp_path: Path) -> None:
    manifest = runmod.run(place, tmp_path / "out")
    records = manifest["totals"]["records"]
    assert sum(Decimal(r["amount_gbp"]) for r in records) == Decimal(
        manifest["totals"]["count_gbp"]
    )
    csv_lines = (tmp_path / "out" / "count.csv").read_text().splitlines()
    assert len(csv_lines) == len(records) + 1


def test_verify_passes_then_fails_on_one_changed_byte(
    place: Path, tmp_path: Path, runner: CliRunner
) -> None:
    runmod.run(place, tmp_path / "out")
    manifest = tmp_path / "out" / "manifest.json"
    ok = runner.invoke(app, ["verify", str(manifest)])
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert "Verified: everything matches." in ok.stdout
    csv_file = place.parent / "riverton_district_outturn_2008-09.csv"
    data = csv_file.read_bytes().replace(b"645,120", b"645,121")  # one byte: Homelessness +£1
    csv_file.write_bytes(data)
    bad = runner.invoke(app, ["verify", str(manifest)])
    assert bad.exit_code == 3
    assert "FAIL input   riverton_district_outturn_2008-09.csv: changed" in bad.stdout
    assert "FAIL output  count.csv: differs" in bad.stdout
    # the example's count: £4,038,100,327.47 of all lines less central government's health
    # estimate, £805,906,115.92, which the NHS bodies' own accounts replace (issue 12)
    assert "count_gbp: £3,232,194,211.55 → £3,232,194,212.55 (moved £1.00)" in bad.stdout


def test_verify_fails_when_one_mapping_line_changes(place: Path, tmp_path: Path) -> None:
    mapping = place.parent / "my_mapping.csv"
    mapping.write_text(
        "native_code,native_label,cofog_code,share,note\n"
        ",Library service,08.2,1,libraries are cultural services\n"
    )
    place.write_text(
        place.read_text().replace("[method]", '[mappings]\ncouncil = "my_mapping.csv"\n\n[method]')
    )
    runmod.run(place, tmp_path / "out")
    assert runmod.verify(tmp_path / "out" / "manifest.json")["ok"]
    mapping.write_text(mapping.read_text().replace("08.2", "08.1"))
    result = runmod.verify(tmp_path / "out" / "manifest.json")
    assert not result["ok"]
    assert {"what": "input", "path": "my_mapping.csv", "status": "changed"}.items() <= {
        **[c for c in result["checks"] if c["path"] == "my_mapping.csv"][0]
    }.items()


def test_diff_two_counts(place: Path, tmp_path: Path, runner: CliRunner) -> None:
    runmod.run(place, tmp_path / "before")
    police = place.parent / "police_authority_poa_2008-09.xlsx"
    from openpyxl import load_workbook

    wb = load_workbook(police)
    wb.active["C6"] = 48_765_432 + 1_000  # Local policing up £1,000
    wb.save(police)
    runmod.run(place, tmp_path / "after")
    result = runner.invoke(
        app,
        [
            "diff",
            str(tmp_path / "before" / "manifest.json"),
            str(tmp_path / "after" / "manifest.json"),
            "--json",
        ],
    )
    data = json.loads(result.stdout)
    moved = {r["total"]: r["moved_gbp"] for r in data["changed"]}
    assert moved == {"count_gbp": "1000.00", "gross_gbp": "1000.00", "03 police": "1000.00"}
    # two report JSON files work too
    same = runner.invoke(
        app,
        ["diff", str(tmp_path / "before" / "count.json"), str(tmp_path / "before" / "count.json")],
    )
    assert "No change" in same.stdout


def test_project_errors_name_the_key_and_line(tmp_path: Path, runner: CliRunner) -> None:
    project = tmp_path / "placecount.toml"
    project.write_text(
        '[place]\nname = "X"\nfinancial_year = "2008-09"\n\n'
        '[[sources]]\nkind = "council"\nfile = "a.xlsx"\n\n'
        '[[sources]]\nkind = "pesa"\nfile = "b.xlsx"\nplace_population = -5\n'
    )
    with pytest.raises(InputError) as err:
        load_project(project)
    issue = err.value.issues[0]
    assert (issue.header, issue.row) == ("sources[1].place_population", 12)
    result = runner.invoke(app, ["run", str(project)])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: placecount.toml › row 12 (sources[1].place_population): input should be "
        "greater than 0."
    )
    project.write_text('[place]\nname = "X"\nfinancial_year = "2008-09"\ncolour = "red"\n')
    with pytest.raises(InputError) as err:
        load_project(project)
    assert (err.value.issues[0].header, err.value.issues[0].row) == ("place.colour", 4)


def test_run_without_sources(tmp_path: Path, runner: CliRunner) -> None:
    project = tmp_path / "placecount.toml"
    project.write_text('[place]\nname = "X"\nfinancial_year = "2008-09"\n')
    result = runner.invoke(app, ["run", str(project)])
    assert result.exit_code == 2 and "lists no [[sources]]" in result.stderr
    missing = runner.invoke(app, ["run", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "there is no project file 'nope.toml'" in missing.stderr


def test_examples_makefile_is_incremental(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    examples = tmp_path / "examples"
    shutil.copytree(
        ROOT / "examples", examples, ignore=shutil.ignore_patterns("build", "leicester")
    )
    cmd = f"{sys.executable} -m placecount.cli"
    first = subprocess.run(
        ["make", "-C", str(examples), f"PLACECOUNT={cmd}"], capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert (examples / "build" / "riverton" / "count.xlsx").exists()
    again = subprocess.run(
        ["make", "-C", str(examples), f"PLACECOUNT={cmd}"], capture_output=True, text=True
    )
    assert "placecount.cli run" not in again.stdout  # nothing changed: nothing re-run
    (examples / "riverton" / "placecount.toml").touch()
    third = subprocess.run(
        ["make", "-C", str(examples), f"PLACECOUNT={cmd}"], capture_output=True, text=True
    )
    assert "riverton/placecount.toml" in third.stdout
    assert "exampleshire/placecount.toml" not in third.stdout
    check = subprocess.run(
        ["make", "-C", str(examples), "verify", f"PLACECOUNT={cmd}"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


# --- run never hides the ingest's warnings (issue 15) --------------------------------------

UNMAPPED_ROW = "'Contribution to pooled budget with NHS Exampleshire' has no COFOG mapping"


def test_run_prints_each_sources_warnings_and_summary_issue_15(
    place: Path, tmp_path: Path, runner: CliRunner
) -> None:
    # the county's row 20 has no mapping: £8.5m kept as unmapped; `run` used to say only
    # "The count: £…; manifest.json written."
    result = runner.invoke(app, ["run", str(place), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: county_council_outturn_2008-09.xlsx › 'RO Summary' row 20: " + UNMAPPED_ROW
    ) in result.stderr
    assert "1 unmapped (kept, not classified): £8,500,000.00" in result.stderr
    assert "Added riverton_district_outturn_2008-09.csv" in result.stderr
    assert result.stderr.rstrip().endswith("; 1 warning above; manifest.json written.")


def test_run_quiet_prints_only_errors_issue_15(
    place: Path, tmp_path: Path, runner: CliRunner
) -> None:
    result = runner.invoke(app, ["run", str(place), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert (tmp_path / "out" / "manifest.json").exists()


def test_run_strict_stops_on_an_unmapped_line_issue_15(
    place: Path, tmp_path: Path, runner: CliRunner
) -> None:
    # --strict is ingest's --strict for every source: an unmapped line is an error
    result = runner.invoke(app, ["run", str(place), "--out", str(tmp_path / "out"), "--strict"])
    assert result.exit_code == 2
    assert "error: county_council_outturn_2008-09.xlsx › 'RO Summary' row 20: " in result.stderr
    assert UNMAPPED_ROW in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def test_run_strict_stops_on_a_control_total_and_keeps_the_last_output_issue_15(
    place: Path, tmp_path: Path, runner: CliRunner
) -> None:
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(place), "--out", str(out)]).exit_code == 0
    before = hashes(out)
    # map the county's unmapped row, and print a wrong total under the district's lines
    (place.parent / "pooled.csv").write_text(
        "native_label,cofog_code\nContribution to pooled budget with NHS Exampleshire,07.3\n",
        encoding="utf-8",
    )
    csv = place.parent / "riverton_district_outturn_2008-09.csv"
    csv.write_bytes(csv.read_bytes().replace(b"12,757,139", b"12,857,139"))
    text = place.read_text(encoding="utf-8").replace(
        'file = "county_council_outturn_2008-09.xlsx"',
        'file = "county_council_outturn_2008-09.xlsx"\nmapping = "pooled.csv"',
    )
    place.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["run", str(place), "--out", str(out), "--strict"])
    assert result.exit_code == 2
    assert (
        "error: riverton_district_outturn_2008-09.csv › row 15: the sheet's own total, "
        "£12,857,139.00, differs"
    ) in result.stderr
    assert hashes(out) == before  # the last complete output, as it was


def test_run_strict_stops_on_a_warning_ingest_strict_lets_through_issue_15(
    place: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a warning ingest --strict does not make an error (here one added to the district's
    # result) still stops run --strict, before anything is written
    from placecount import api
    from placecount.errors import Issue

    real = api.ingest

    def ingest(kind: str, files: list[Path], *args: object, **kw: object) -> object:
        kw["strict"] = False  # let the county's unmapped line through, as a warning
        result = real(kind, files, *args, **kw)  # type: ignore[arg-type]
        if files[0].name.startswith("riverton"):
            result.issues.append(Issue(code="unit-proved", severity="warning", message="W"))
        return result

    monkeypatch.setattr(api, "ingest", ingest)
    seen: list[str] = []
    with pytest.raises(InputError) as caught:
        runmod.run(place, tmp_path / "out", strict=True, ingested=lambda f, r: seen.append(f))
    codes = [i.code for i in caught.value.issues]
    assert codes == ["unmapped-line", "unit-proved", "strict-warnings"]
    assert caught.value.issues[-1].message.startswith("--strict: 2 warnings above stop the run")
    assert seen == [
        "county_council_outturn_2008-09.xlsx",
        "riverton_district_outturn_2008-09.csv",
        "nhs_exampleshire_2008-09.xlsx",
        "police_authority_poa_2008-09.xlsx",
        "pesa_cra_regional_2008-09.xlsx",
        "ndpb_spending_2008-09.xlsx",
    ]
    assert not (tmp_path / "out").exists()
