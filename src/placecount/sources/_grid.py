"""Read any supported file into a grid of cells, positions as Excel numbers them.

A :class:`Grid` is the sheet as a person sees it: ``rows[0]`` is Excel's row 1 and
``rows[r][0]`` is column A, whatever blank rows or columns lead the sheet. Readers
of every source kind work on grids, so xlsx, csv and parquet behave the same.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models import Limits

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
SUFFIXES = EXCEL_SUFFIXES | {".csv", ".parquet"}
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


#: Rows kept as Python lists for header detection and titles; the rest stay in Arrow.
HEAD_ROWS = 100


@dataclass
class Grid:
    """One sheet's cells as text columns; row ``i`` is Excel row ``i + 1``, column ``c``
    is Excel column ``c`` (0 is A), whatever blank rows or columns lead the sheet.

    Cells are text (``None`` when empty): numbers as their shortest decimal, so that
    amounts are parsed exactly. The columns are Arrow arrays, so a large sheet is never
    held as Python objects row by row.
    """

    file_name: str
    sheet: str | None
    columns: list[Any]  # pyarrow string arrays, all of length n_rows
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    encoding: str | None = None
    #: what a reader noticed while looking for the header (fits it would not take)
    hints: list[str] = field(default_factory=list)
    _head: list[list[str | None]] | None = field(default=None, repr=False)
    _rows: list[list[str | None]] | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @property
    def width(self) -> int:
        return len(self.columns)

    def head(self, n: int = HEAD_ROWS) -> list[list[str | None]]:
        """The first ``n`` rows (at most HEAD_ROWS) as lists of cells."""
        if self._head is None:
            k = min(HEAD_ROWS, self.n_rows)
            cols = [c.slice(0, k).to_pylist() for c in self.columns]
            self._head = [list(r) for r in zip(*cols, strict=True)] if cols else []
        return self._head[:n]

    @property
    def rows(self) -> list[list[str | None]]:
        """Every row as a list (for small tables such as PESA's; large ones use columns)."""
        if self._rows is None:
            cols = [c.to_pylist() for c in self.columns]
            self._rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
        return self._rows

    def cell(self, row: int, col: int) -> str | None:
        """The text at 0-based ``row``, ``col``, or None when empty or beyond the data."""
        if not (0 <= row < self.n_rows and 0 <= col < self.width):
            return None
        if row < HEAD_ROWS:
            value = self.head()[row][col]
        elif self._rows is not None:
            value = self._rows[row][col]
        else:
            value = self.columns[col][row].as_py()
        return None if value == "" else value

    def is_empty(self) -> bool:
        """True when no cell has text."""
        import pyarrow.compute as pc

        if any(v is not None and v.strip() for row in self.head() for v in row):
            return False
        for c in self.columns:
            if c.null_count == len(c):
                continue
            if pc.any(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(c)), 0)).as_py():
                return False
        return True


def _string_columns(arrays: list[Any], offset: int = 0, n_rows: int | None = None) -> list[Any]:
    """Arrow arrays as text columns, with ``offset`` empty columns in front (for column A)."""
    import pyarrow as pa

    n = n_rows if n_rows is not None else (len(arrays[0]) if arrays else 0)
    out = [pa.nulls(n, pa.string()) for _ in range(offset)]
    for a in arrays:
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        out.append(a if a.type == pa.string() else a.cast(pa.string()))
    return out


def grid_from_rows(file_name: str, sheet: str | None, rows: list[list[object]], **kw: Any) -> Grid:
    """A grid from rows of Python values (small files, and tests)."""
    import pyarrow as pa

    from ._cells import cell_text

    width = max((len(r) for r in rows), default=0)
    cols = [
        pa.array([(cell_text(r[c]) or None) if c < len(r) else None for r in rows], pa.string())
        for c in range(width)
    ]
    return Grid(file_name, sheet, cols, **kw)


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


def _open_workbook(path: Path, checked: bool = False) -> Any:
    """The workbook's reader; the checks that give plain messages come first (unless the
    caller has ``checked`` already)."""
    import fastexcel

    if not checked and path.suffix.lower() in {".xlsx", ".xlsm"}:
        _open_workbook_checks(path)
    try:
        return fastexcel.read_excel(str(path))
    except Exception as exc:  # the reader raises its own error types for damaged files
        raise InputError.one(
            "corrupt-workbook",
            f"the workbook cannot be read: {_reason(exc)}.",
            file=path.name,
            note="Open it in Excel and save it again as .xlsx.",
        ) from exc


def _open_workbook_checks(path: Path) -> None:
    """An encrypted workbook, or a file that is not a zip, gets its own plain message."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputError.one(
            "file-not-found", f"cannot be opened: {exc.strerror}.", file=path.name
        ) from exc
    if head.startswith(_CFB_MAGIC):
        raise InputError.one(
            "password-protected",
            "the workbook is password-protected (encrypted), so it cannot be read.",
            file=path.name,
            note="Open it in Excel, remove the password (File › Info › Protect Workbook) "
            "and save a copy.",
        )
    if not zipfile.is_zipfile(path):
        raise _not_a_workbook(path)


def _not_a_workbook(path: Path) -> InputError:
    return InputError.one(
        "corrupt-workbook",
        "this is not a valid Excel workbook (it may be damaged, or saved with the "
        "wrong extension).",
        file=path.name,
        note="Open it in Excel and save it again as .xlsx.",
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


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


def read_excel_grid(path: Path, sheet: str, wb: Any = None) -> Grid:
    """One worksheet as a grid of text cells, read by a Rust reader straight into Arrow.

    ``wb`` is the workbook already opened by the caller, if any: it is opened once.
    """
    import pyarrow as pa

    wb = wb if wb is not None else _open_workbook(path)
    try:
        ws = wb.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string")
        table = ws.to_arrow()
        first_col = min((c.absolute_index for c in ws.available_columns()), default=0)
    except InputError:
        raise
    except Exception as exc:
        raise InputError.one(
            "corrupt-workbook",
            f"the sheet cannot be read: {_reason(exc)}.",
            file=path.name,
            sheet=sheet,
        ) from exc
    arrays = [table.column(i) for i in range(table.num_columns)]
    if not arrays:
        arrays = [pa.array([], pa.string())]
    return Grid(
        path.name, sheet, _string_columns(arrays, first_col), merged=merged_ranges(path, sheet)
    )


#: Merged cells are read from the sheet's XML only up to this size (they matter in headers,
#: and large machine-written sheets have none); past it the scan is skipped.
MERGE_SCAN_LIMIT = 16 * 1024 * 1024


def merged_ranges(path: Path, sheet: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """A sheet's merged cell ranges as ((row, col), (row, col)), 0-based, from its XML."""
    import re

    try:
        with zipfile.ZipFile(path) as zf:
            part = _sheet_part(zf, sheet)
            if part is None or zf.getinfo(part).file_size > MERGE_SCAN_LIMIT:
                return []
            xml = zf.read(part)
    except (KeyError, OSError, zipfile.BadZipFile):
        return []
    out = []
    for m in re.finditer(rb'<mergeCell[^>]*\sref="([A-Z]+)(\d+):([A-Z]+)(\d+)"', xml):
        c0, r0, c1, r1 = m.groups()
        out.append(((int(r0) - 1, _col_index(c0)), (int(r1) - 1, _col_index(c1))))
    return out


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters.decode():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _sheet_part(zf: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding a sheet's cells, found through the workbook's relationships."""
    import re
    from html import unescape

    workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    rid = None
    for m in re.finditer(r"<(?:\w+:)?sheet\b[^>]*>", workbook):
        tag = m.group(0)
        name = re.search(r'\bname="([^"]*)"', tag)
        ref = re.search(r'\br:id="([^"]*)"', tag) or re.search(r'\bid="([^"]*)"', tag)
        if name and ref and unescape(name.group(1)) == sheet:
            rid = ref.group(1)
            break
    if rid is None:
        return None
    for m in re.finditer(r"<Relationship\b[^>]*>", rels):
        tag = m.group(0)
        if f'Id="{rid}"' in tag:
            target = re.search(r'Target="([^"]*)"', tag)
            if target:
                t = target.group(1)
                return t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    return None


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM), else Windows-1252, so '£' survives.

    A file pasted together from two sources can mix them: then each line is decoded on
    its own, UTF-8 where it is valid and Windows-1252 where it is not.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, bom = raw[3:], True
    else:
        bom = False
    try:
        return raw.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    lines = raw.splitlines(keepends=True)
    utf8 = 0
    out = []
    for line in lines:
        try:
            out.append(line.decode("utf-8"))
            utf8 += any(b > 127 for b in line)
        except UnicodeDecodeError:
            out.append(_cp1252(line))
    return "".join(out), ("mixed utf-8 and cp1252" if utf8 else "cp1252")


def _cp1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # five bytes have no Windows-1252 meaning: read as Latin-1
        return data.decode("latin-1")


#: CSV files up to this size are read in Python; larger ones by DuckDB's reader.
CSV_PYTHON_LIMIT = 8 * 1024 * 1024


def read_csv_grid(path: Path) -> Grid:
    """A CSV file as a grid of text cells (UTF-8, UTF-8 with BOM, else Windows-1252)."""
    raw = path.read_bytes()
    if len(raw) > CSV_PYTHON_LIMIT and b"\n\n" not in raw and b"\n\r\n" not in raw:
        grid = _read_csv_duckdb(path, raw)
        if grid is not None:
            return grid
    text, encoding = decode_text(raw)
    text = text.replace("\x00", "")
    sample = text[:16384]
    delimiter = ","
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    return grid_from_rows(path.name, None, rows, encoding=encoding)  # type: ignore[arg-type]


def _read_csv_duckdb(path: Path, raw: bytes) -> Grid | None:
    """A large UTF-8 CSV read by DuckDB into Arrow (blank lines would shift row numbers, so
    files with them take the Python path)."""
    import duckdb

    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    sample = raw[:16384].decode("utf-8", "replace")
    delimiter = ","
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    con = duckdb.connect()
    try:
        table = con.sql(
            "SELECT * FROM read_csv(?, header = false, all_varchar = true, "
            "null_padding = true, delim = ?, quote = '\"', escape = '\"', "
            "strict_mode = false)",
            params=[str(path), delimiter],
        ).to_arrow_table()
    except duckdb.Error:
        return None
    finally:
        con.close()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    arrays = [table.column(i) for i in range(table.num_columns)]
    return Grid(path.name, None, _string_columns(arrays), encoding=encoding)


def read_parquet_grid(path: Path) -> Grid:
    """A Parquet file as a grid: its column names are row 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise InputError.one(
            "corrupt-workbook",
            f"the Parquet file cannot be read: {_reason(exc)}.",
            file=path.name,
        ) from exc
    columns = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        text = col.combine_chunks()
        if pa.types.is_floating(text.type):
            # the shortest decimal that round-trips, as for spreadsheet cells
            text = pa.array([None if v is None else repr(v) for v in text.to_pylist()], pa.string())
        elif text.type != pa.string():
            text = text.cast(pa.string())
        columns.append(pa.concat_arrays([pa.array([name], pa.string()), text]))
    return Grid(path.name, None, columns)


#: While a file is being read (see :func:`reading_once`): its sheets' cells as read, by the
#: file's identity on disk. The whole-workbook readers look at a file before the sheet
#: readers do; without this, a 2 M-row CSV would be parsed twice.
_READ_ONCE: dict[str, Any] = {}


@contextmanager
def reading_once() -> Iterator[None]:
    """Within this block each file's sheets are parsed once, however many readers look."""
    outer = _READ_ONCE.get("on", False)
    _READ_ONCE["on"] = True
    try:
        yield
    finally:
        if not outer:
            _READ_ONCE.clear()


def _read_once_files(path: Path) -> dict[str | None, Any]:
    """What has been read of this file (a workbook's sheet names under the key ``""``)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if _READ_ONCE.get("key") != key:
        _READ_ONCE.update(key=key, sheets={})
    return _READ_ONCE["sheets"]  # type: ignore[no-any-return]


def _read_once_names(path: Path, read: Callable[[], list[str]]) -> list[str]:
    if not _READ_ONCE.get("on"):
        return read()
    sheets = _read_once_files(path)
    if "" not in sheets:
        sheets[""] = read()
    return list(sheets[""])


def _read_once(path: Path, sheet: str | None, read: Callable[[], Grid]) -> Grid:
    if not _READ_ONCE.get("on"):
        return read()
    sheets = _read_once_files(path)
    if sheet not in sheets:
        g = read()
        sheets[sheet] = (g.file_name, g.sheet, g.columns, g.merged, g.encoding)
    name, sh, columns, merged, encoding = sheets[sheet]
    # a new grid each time: readers note hints on the grid they are given
    return Grid(name, sh, columns, merged=list(merged), encoding=encoding)


def read_grids(path: Path, sheet: str | int | None, limits: Limits | None = None) -> Iterator[Grid]:
    """The grids to look at: the sheet asked for, or each sheet in turn when none is.

    Sheets are read one at a time, so a reader that finds its table on the first
    sheet never parses the rest. The file's size, and a workbook's size once
    unzipped, are checked against ``limits`` before anything is parsed.
    """
    limits = limits or Limits()
    _check_file(path)
    check_size(path, limits)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield check_shape(_read_once(path, None, lambda: read_csv_grid(path)), limits)
        return
    if suffix == ".parquet":
        yield check_shape(read_parquet_grid(path), limits)
        return
    if suffix in {".xlsx", ".xlsm"}:
        _open_workbook_checks(path)
        check_unzipped(path, limits)
    opened: list[Any] = []

    def workbook() -> Any:
        if not opened:
            opened.append(_open_workbook(path, checked=True))
        return opened[0]

    names = _read_once_names(path, lambda: list(workbook().sheet_names))
    if not names:
        raise InputError.one("empty-sheet", "the workbook has no sheets.", file=path.name)
    if sheet is not None:
        names = [resolve_sheet(names, sheet, path.name)]
    for name in names:
        yield check_shape(
            _read_once(path, name, lambda name=name: read_excel_grid(path, name, workbook())),  # type: ignore[misc]
            limits,
        )


def check_size(path: Path, limits: Limits) -> None:
    size = path.stat().st_size
    if size > limits.max_file_mb * 1024 * 1024:
        raise InputError.one(
            "limit-exceeded",
            f"the file is {size / 1024 / 1024:,.0f} MB, over the limit of "
            f"{limits.max_file_mb:,} MB.",
            file=path.name,
            note="Raise it with --max-file-mb if the file is genuine.",
        )


def check_unzipped(path: Path, limits: Limits) -> None:
    """Refuse a workbook whose parts would inflate past the limit (a "zip bomb"), before
    a byte of it is parsed: the sizes are declared in the zip's directory."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise _not_a_workbook(path) from exc
    if "xl/workbook.xml" not in names:
        raise InputError.one(
            "corrupt-workbook",
            "this is a zip file, but not an Excel workbook (it has no workbook inside).",
            file=path.name,
            note="Check that this is the right file.",
        )
    if total > limits.max_unzipped_mb * 1024 * 1024:
        raise InputError.one(
            "limit-exceeded",
            f"the workbook would inflate to {total / 1024 / 1024:,.0f} MB when opened, over "
            f"the limit of {limits.max_unzipped_mb:,} MB: it may be damaged or hostile.",
            file=path.name,
            note="If it is genuine, raise the limit with --max-unzipped-mb.",
        )


def check_shape(grid: Grid, limits: Limits) -> Grid:
    if grid.n_rows > limits.max_rows:
        raise InputError.one(
            "limit-exceeded",
            f"the sheet has {grid.n_rows:,} rows, over the limit of {limits.max_rows:,}.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="Raise it with --max-rows if the file is genuine.",
        )
    if grid.width > limits.max_columns:
        raise InputError.one(
            "limit-exceeded",
            f"the sheet has {grid.width:,} columns, over the limit of {limits.max_columns:,}.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="Raise it with --max-columns if the file is genuine.",
        )
    return grid
