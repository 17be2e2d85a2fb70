"""README stays true: every command, option and issue code is in it, generated parts are current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main

from placecount import schemas
from placecount.cli import app
from placecount.errors import CODES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def test_every_command_is_in_readme() -> None:
    names = list(commands())
    assert {"init", "ingest", "report", "sources", "unmapped", "cofog"} <= set(names)
    for name in names:
        assert f"placecount {name}" in README, name


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_is_in_readme(name: str) -> None:
    for param in commands()[name].params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("-"):
                assert opt in README, f"{name} {opt}"


def test_every_issue_code_is_in_readme() -> None:
    for code in CODES:
        assert f"`{code}`" in README, code


def test_readme_generated_parts_are_current() -> None:
    from cogapp import Cog

    assert Cog().main(["cog", "--check", str(ROOT / "README.md")]) == 0


def test_json_schemas_are_current() -> None:
    for name, text in schemas.rendered().items():
        assert (ROOT / "schemas" / name).read_text(encoding="utf-8") == text, name


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen
