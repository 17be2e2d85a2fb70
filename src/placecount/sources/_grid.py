"""Read any supported file into a grid of cells, positions as Excel numbers them.

A :class:`Grid` is the sheet as a person sees it: ``rows[0]`` is Excel's row 1 and
``rows[r][0]`` is column A, whatever blank rows or columns lead the sheet. Readers
of every source kind work on grids, so xlsx, csv and parquet behave the same.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
SUFFIXES = EXCEL_SUFFIXES | {".csv", ".parquet"}
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class Grid:
    """One sheet's cells; ``rows[i]`` is Excel row ``i + 1``."""

    file_name: str
    sheet: str | None
    rows: list[list[object]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    encoding: str | None = None

    def cell(self, row: int, col: int) -> object:
        """The value at 0-based ``row``, ``col``, or None beyond the data."""
        if 0 <= row < len(self.rows):
            r = self.rows[row]
            if 0 <= col < len(r):
                v = r[col]
                return None if v == "" else v
        return None

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def sheet_names(path: Path) -> list[str] | None:
    """The sheet names of a workbook, or None for csv and parquet."""
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        return None
    return list(_open_workbook(path).sheet_names)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError.one(
            "file-not-found",
            "the file does not exist.",
            file=path.name,
            note="Check the path and the spelling.",
        )
    if not path.is_file():
        raise InputError.one("file-not-found", "this is a folder, not a file.", file=path.name)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError.one(
            "unsupported-format",
            f"'{suffix or 'no extension'}' files cannot be read.",
            file=path.name,
            note="Save it as .xlsx or .csv (UTF-8) and try again.",
        )


def _open_workbook(path: Path):  # type: ignore[no-untyped-def]
    import python_calamine as pc

    suffix = path.suffix.lower()
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputError.one(
            "file-not-found", f"cannot be opened: {exc.strerror}.", file=path.name
        ) from exc
    if suffix in {".xlsx", ".xlsm"}:
        if head.startswith(_CFB_MAGIC):
            raise InputError.one(
                "password-protected",
                "the workbook is password-protected (encrypted), so it cannot be read.",
                file=path.name,
                note="Open it in Excel, remove the password (File › Info › Protect Workbook) "
                "and save a copy.",
            )
        if not zipfile.is_zipfile(path):
            raise InputError.one(
                "corrupt-workbook",
                "this is not a valid Excel workbook (it may be damaged, or saved with the "
                "wrong extension).",
                file=path.name,
                note="Open it in Excel and save it again as .xlsx.",
            )
    try:
        return pc.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise InputError.one(
            "corrupt-workbook",
            f"the workbook cannot be read: {str(exc).strip() or type(exc).__name__}.",
            file=path.name,
            note="Open it in Excel and save it again as .xlsx.",
        ) from exc


def resolve_sheet(names: list[str], sheet: str | int | None, file_name: str) -> str:
    """The sheet name that ``--sheet`` means: a name, or a 1-based position."""
    if sheet is None:
        return names[0]
    if isinstance(sheet, str) and sheet in names:
        return sheet
    text = str(sheet).strip()
    lowered = {n.strip().lower(): n for n in names}
    if text.lower() in lowered:
        return lowered[text.lower()]
    if text.isdigit() and 1 <= int(text) <= len(names):
        return names[int(text) - 1]
    raise InputError.one(
        "sheet-not-found",
        f"there is no sheet {text!r}.",
        file=file_name,
        note="The sheets are: " + ", ".join(repr(n) for n in names) + ".",
    )


def read_excel_grid(path: Path, sheet: str) -> Grid:
    """One worksheet as a grid, values typed as calamine reads them (text stays text)."""
    wb = _open_workbook(path)
    try:
        ws = wb.get_sheet_by_name(sheet)
        rows = ws.to_python(skip_empty_area=False)
        merged = list(ws.merged_cell_ranges or [])
    except InputError:
        raise
    except Exception as exc:
        raise InputError.one(
            "corrupt-workbook",
            f"the sheet cannot be read: {str(exc).strip() or type(exc).__name__}.",
            file=path.name,
            sheet=sheet,
        ) from exc
    return Grid(path.name, sheet, [list(r) for r in rows], merged=merged)


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM), else Windows-1252, so '£' survives."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def read_csv_grid(path: Path) -> Grid:
    """A CSV file as a grid of text cells."""
    text, encoding = decode_text(path.read_bytes())
    text = text.replace("\x00", "")
    sample = text[:16384]
    delimiter = ","
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    return Grid(path.name, None, rows, encoding=encoding)  # type: ignore[arg-type]


def read_parquet_grid(path: Path) -> Grid:
    """A Parquet file as a grid: its column names are row 1."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise InputError.one(
            "corrupt-workbook", f"the Parquet file cannot be read: {exc}.", file=path.name
        ) from exc
    columns = [c.to_pylist() for c in table.columns]
    rows: list[list[object]] = [list(table.column_names)]
    rows.extend([list(r) for r in zip(*columns, strict=True)] if columns else [])
    return Grid(path.name, None, rows)


def read_grids(path: Path, sheet: str | int | None) -> Iterator[Grid]:
    """The grids to look at: the sheet asked for, or each sheet in turn when none is.

    Sheets are read one at a time, so a reader that finds its table on the first
    sheet never parses the rest.
    """
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield read_csv_grid(path)
        return
    if suffix == ".parquet":
        yield read_parquet_grid(path)
        return
    names = list(_open_workbook(path).sheet_names)
    if not names:
        raise InputError.one("empty-sheet", "the workbook has no sheets.", file=path.name)
    if sheet is not None:
        yield read_excel_grid(path, resolve_sheet(names, sheet, path.name))
        return
    for name in names:
        yield read_excel_grid(path, name)
