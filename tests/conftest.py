"""Shared fixtures: workbooks built in code, a fresh project, the CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from placecount.api import init

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "exampleshire"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A fresh project: placecount.toml and an empty database in a temporary folder."""
    path = tmp_path / "placecount.duckdb"
    init(path, "Testshire", "2008-09", population=100_000)
    return path


Rows = Sequence[Sequence[Any]]


@pytest.fixture
def xlsx(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (lists of cell values, row 1 first) to an .xlsx file and return its path."""

    def make(
        rows: Rows,
        name: str = "book.xlsx",
        sheet: str = "Sheet1",
        merges: Sequence[str] = (),
        extra_sheets: dict[str, Rows] | None = None,
    ) -> Path:
        wb = Workbook()
        ws = wb.active
        ws.title = sheet
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
        for m in merges:
            ws.merge_cells(m)
        for title, more in (extra_sheets or {}).items():
            other = wb.create_sheet(title)
            for row in more:
                other.append(list(row))
        path = tmp_path / name
        wb.save(path)
        return path

    return make


@pytest.fixture
def csv_file(tmp_path: Path) -> Callable[..., Path]:
    """Write text to a CSV file in the given encoding."""

    def make(text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return make
