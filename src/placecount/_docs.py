"""Text generated into README.md by cog (``make docs``; ``make lint`` checks it)."""

from __future__ import annotations

import os

from .errors import CODES

COMMANDS = [
    "init",
    "ingest",
    "report",
    "trace",
    "scenario",
    "journey",
    "flows",
    "run",
    "verify",
    "diff",
    "compare",
    "sources",
    "unmapped",
    "cofog",
]


def help_text(command: str | None = None) -> str:
    """The ``--help`` of the app or one command, as a terminal 88 columns wide shows it."""
    from typer.testing import CliRunner

    from .cli import app

    args = [command, "--help"] if command else ["--help"]
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "TERM")}
    os.environ["COLUMNS"] = "88"
    os.environ["TERM"] = "dumb"
    try:
        result = CliRunner().invoke(app, args, prog_name="placecount", env={"COLUMNS": "88"})
    finally:
        # the help is drawn at 88 columns; nothing else in the process is
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return result.output.rstrip() + "\n"


def cli_reference() -> str:
    """Each command's help in a fenced block, under its own heading."""
    out = []
    for command in COMMANDS:
        out.append(f"### placecount {command}\n\n```\n{help_text(command)}```\n")
    return "\n".join(out)


def issue_table() -> str:
    """The issue-code catalogue as a Markdown table."""
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| `{code}` | {text} |" for code, text in CODES.items()]
    return "\n".join(rows) + "\n"


#: The example count, run by ``make demo`` and shown in README: one list, so they agree.
DEMO: list[list[str]] = [
    [
        "init",
        "--place",
        "Exampleshire",
        "--year",
        "2008-09",
        "--population",
        "512300",
        "--area-code",
        "E10000099",
    ],
    [
        "ingest",
        "council",
        "examples/exampleshire/county_council_outturn_2008-09.xlsx",
        "--org",
        "Exampleshire County Council",
    ],
    [
        "ingest",
        "council",
        "examples/exampleshire/riverton_district_outturn_2008-09.csv",
        "--org",
        "Riverton District Council",
    ],
    ["ingest", "nhs", "examples/exampleshire/nhs_exampleshire_2008-09.xlsx"],
    [
        "ingest",
        "police",
        "examples/exampleshire/police_authority_poa_2008-09.xlsx",
        "--org",
        "Exampleshire Police Authority",
    ],
    [
        "ingest",
        "pesa",
        "examples/exampleshire/pesa_cra_regional_2008-09.xlsx",
        "--region",
        "East Midlands",
        "--place-population",
        "512300",
        "--region-population",
        "4400000",
    ],
    ["ingest", "ndpb", "examples/exampleshire/ndpb_spending_2008-09.xlsx"],
    ["report"],
]


def shell_line(args: list[str]) -> str:
    import shlex

    return "placecount " + " ".join(shlex.quote(a) for a in args)


def run_demo(folder: str, quiet: bool = False) -> str:
    """Run the example count in ``folder`` (paths are from the repository root).

    Returns the report's text; with ``quiet`` False, prints each command and its output.
    """
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    db = Path(folder).resolve() / "placecount.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COLUMNS": "200"}
    report = ""
    for args in DEMO:
        if not quiet:
            print(f"$ {shell_line(args)}", flush=True)
        cmd = [sys.executable, "-m", "placecount.cli", *args, "--db", str(db)]
        if args[0] == "init":
            cmd.append("--force")
        done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        if not quiet:
            sys.stdout.write(done.stderr + done.stdout)
        if done.returncode != 0:
            raise SystemExit(
                f"demo step failed ({done.returncode}): {shell_line(args)}\n" + done.stderr
            )
        report = done.stdout
    return report


def quickstart() -> str:
    """README's quickstart: the demo's commands and the count it prints."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        report = run_demo(folder, quiet=True)
    commands = "\n".join(shell_line(a) for a in DEMO)
    table = "\n".join(line.rstrip() for line in report.strip("\n").splitlines())
    return f"```sh\n{commands}\n```\n\nprints:\n\n```\n{table}\n```\n"


#: The comparison README shows: the two example places built by one project file, then
#: compared beside their region (the commands run from the build folder's parent).
COMPARE_RUN = ["run", "examples/places/placecount.toml", "--out", "build/places"]
COMPARE = [
    "compare",
    "build/places/exampleshire-2008-09/manifest.json",
    "build/places/riverton-2008-09/manifest.json",
    "--benchmarks",
    "--format",
    "md",
]


def compare_example() -> str:
    """README's comparison: the commands, and the Markdown `compare` writes (its headings
    put two levels down, under README's own)."""
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(root / "examples", Path(folder) / "examples")
        env = {**os.environ, "COLUMNS": "200"}
        outputs = []
        for args in (COMPARE_RUN, COMPARE):
            done = subprocess.run(
                [sys.executable, "-m", "placecount.cli", *args],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SystemExit(f"failed ({done.returncode}): {shell_line(args)}\n{done.stderr}")
            outputs.append(done.stdout)
    body = "\n".join(
        "##" + line if line.startswith("#") else line for line in outputs[-1].strip().splitlines()
    )
    commands = "\n".join(shell_line(a) for a in (COMPARE_RUN, COMPARE))
    return f"```sh\n{commands}\n```\n\nwrites:\n\n{body}\n"


if __name__ == "__main__":
    import sys

    if len(sys.argv) >= 3 and sys.argv[1] == "demo":
        run_demo(sys.argv[2])
    else:
        raise SystemExit("usage: python -m placecount._docs demo FOLDER")
