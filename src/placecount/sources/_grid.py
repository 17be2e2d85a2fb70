"""Read any supported file into a grid of cells, positions as Excel numbers them.

A :class:`Grid` is the sheet as a person sees it: ``rows[0]`` is Excel's row 1 and
``rows[r][0]`` is column A, whatever blank rows or columns lead the sheet. Readers
of every source kind work on grids, so xlsx, csv and parquet behave the same.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, column_letter
from ..models import Limits
from ._zipscan import _col_index, _not_a_workbook, _sheet_part, check_extent, check_unzipped

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
    #: True when the reader has shown no cell can be over ``--max-cell-chars`` (no line is)
    short_cells: bool = False
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
        if isinstance(a, pa.ChunkedArray) and a.num_chunks == 1:
            a = a.chunk(0)
        # a column in several pieces (as DuckDB hands a large CSV over) stays so: Arrow's
        # functions take either, and joining them would copy every cell once more
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
    """Refuse, before opening it, a path that is not a regular file: a folder, a named pipe
    or a device such as /dev/zero would block or never end when read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError.one(
            "file-not-found",
            "the file does not exist.",
            file=path.name,
            note="Check the path and the spelling.",
        ) from None
    except OSError as exc:
        raise InputError.one(
            "file-not-found", f"cannot be opened: {exc.strerror}.", file=path.name
        ) from exc
    if stat.S_ISDIR(st.st_mode):
        raise InputError.one("file-not-found", "this is a folder, not a file.", file=path.name)
    if not stat.S_ISREG(st.st_mode):
        what = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise InputError.one(
            "not-a-file",
            f"this is {what}, not a file saved on disk, so it is not read.",
            file=path.name,
            note="Save the data to a file and give that file's path.",
        )
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


def read_excel_grid(path: Path, sheet: str, wb: Any = None, limits: Limits | None = None) -> Grid:
    """One worksheet as a grid of text cells, read by a Rust reader straight into Arrow.

    ``wb`` is the workbook already opened by the caller, if any: it is opened once. An
    .xlsx sheet's extent is checked against ``limits`` first, from its XML: the reader
    lays out every cell from A1 to the last one in memory, so one cell at XFD1048576
    would ask for 17 billion.
    """
    import pyarrow as pa

    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        check_extent(path, sheet, limits or Limits())
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


#: Byte-order marks, longest first (UTF-32 LE's begins with UTF-16 LE's): Excel's
#: "Unicode text" is UTF-16 LE with a mark, tab-delimited.
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-16 or UTF-32 when a byte-order mark says so, else UTF-8 (with
    or without BOM), else Windows-1252, so '£' survives.

    A file pasted together from two sources can mix them: then each line is decoded on
    its own, UTF-8 where it is valid and Windows-1252 where it is not. Raises
    UnicodeDecodeError when a file marked UTF-16 or UTF-32 is not.

    >>> decode_text("£5".encode("utf-16"))
    ('£5', 'utf-16-le')
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(codec), codec
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, bom8 = raw[3:], True
    else:
        bom8 = False
    try:
        return raw.decode("utf-8"), "utf-8-sig" if bom8 else "utf-8"
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


def _decode_csv(path: Path, raw: bytes) -> tuple[str, str]:
    """The file's text and encoding, or a plain refusal: NUL bytes are never dropped
    silently, since a file that has them is not the text it seems."""
    marked = any(raw.startswith(bom) for bom, _ in _BOMS)
    if not marked and b"\x00" in raw:
        raise _nul_error(path, raw)
    try:
        text, encoding = decode_text(raw)
    except UnicodeDecodeError as exc:
        raise InputError.one(
            "bad-encoding",
            f"the file is marked as {exc.encoding.upper()} text (it begins with that "
            f"byte-order mark), but byte {exc.start:,} is not: it is damaged.",
            file=path.name,
            note="Save it again as CSV UTF-8 (in Excel: File › Save As › CSV UTF-8).",
        ) from exc
    if "\x00" in text:
        raise _nul_error(path, text)
    return text, encoding


def _nul_error(path: Path, data: bytes | str) -> InputError:
    sample = data[:65536]
    zero = b"\x00" if isinstance(sample, bytes) else "\x00"
    nuls = sample.count(zero)  # type: ignore[arg-type]
    if isinstance(sample, bytes) and nuls * 4 >= len(sample):
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        guess = "UTF-16 LE" if odd > even else "UTF-16 BE"
        return InputError.one(
            "bad-encoding",
            f"the file looks like {guess} text without a byte-order mark ({nuls:,} of its "
            f"first {len(sample):,} bytes are NUL), so it cannot be read as it is.",
            file=path.name,
            note="Save it again as CSV UTF-8 (in Excel: File › Save As › CSV UTF-8), or as "
            "Unicode text, which has the mark.",
        )
    first = data.index(zero)  # type: ignore[arg-type]
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, first) + 1  # type: ignore[arg-type]
    return InputError.one(
        "bad-encoding",
        f"the file holds NUL bytes (the first on line {line:,}): it is damaged, or is not "
        "a text file, and is not read rather than read wrongly.",
        file=path.name,
        note="Open it in Excel and save it again as CSV UTF-8.",
    )


def _sniff(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv_grid(path: Path, limits: Limits | None = None) -> Grid:
    """A CSV file as a grid of text cells (UTF-8, UTF-8 with BOM, UTF-16 or UTF-32 with a
    byte-order mark, else Windows-1252).

    Rows with more fields than ``limits.max_columns``, and cells longer than
    ``limits.max_cell_chars``, are refused while the file is read, before their cells are
    made: a 10 MB line of ``1,1,1,…`` is five million of them.
    """
    limits = limits or Limits()
    raw = path.read_bytes()
    _digest_while_reading(path, raw)
    marked = any(raw.startswith(bom) for bom, _ in _BOMS)
    if len(raw) > CSV_PYTHON_LIMIT and not marked and b"\x00" not in raw:
        longest = _line_lengths(raw)
        if longest is not None:
            grid = _read_csv_duckdb(path, raw, limits, longest)
            if grid is not None:
                return grid
    text, encoding = _decode_csv(path, raw)
    del raw
    delimiter = _sniff(text[:16384])
    check_fields(text, delimiter, path.name, limits)
    old = csv.field_size_limit(limits.max_cell_chars)
    rows: list[list[str]] = []
    try:
        for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(r)
    except csv.Error as exc:
        if "field limit" not in str(exc):
            raise InputError.one(
                "corrupt-workbook",
                f"row {len(rows) + 1} cannot be read as CSV: {_reason(exc)}.",
                file=path.name,
                row=len(rows) + 1,
            ) from exc
        raise _long_cell(text, delimiter, len(rows), path.name, limits) from None
    finally:
        csv.field_size_limit(old)
    return grid_from_rows(path.name, None, rows, encoding=encoding)  # type: ignore[arg-type]


def _long_cell(text: str, delimiter: str, index: int, file_name: str, limits: Limits) -> InputError:
    """The error for record ``index`` (0-based), which has a cell over the limit."""
    old = csv.field_size_limit(max(len(text), limits.max_cell_chars) + 1)
    column, length = 0, 0
    try:
        for i, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
            if i == index:
                for c, cell in enumerate(record):
                    if len(cell) > limits.max_cell_chars:
                        column, length = c, len(cell)
                        break
                break
    finally:
        csv.field_size_limit(old)
    return _cell_chars_error(file_name, None, index, column, length, limits)


def _cell_chars_error(
    file_name: str, sheet: str | None, row: int, column: int, length: int, limits: Limits
) -> InputError:
    size = f"{length:,} characters" if length else "more characters than that"
    return InputError.one(
        "limit-exceeded",
        f"the cell holds {size}, over the limit of {limits.max_cell_chars:,}: no amount "
        "or label is that long, so the file is damaged or not the table it seems.",
        file=file_name,
        sheet=sheet,
        row=row + 1,
        column=column_letter(column),
        note="Raise it with --max-cell-chars if the file is genuine.",
    )


#: Lines are looked at in pieces of about this size when counting fields.
_FIELD_PIECE = 1 << 22


def check_fields(data: str | bytes, delimiter: str, file_name: str, limits: Limits) -> None:
    """Refuse a CSV record with more fields than ``--max-columns``, before it is split.

    Only lines longer than the limit can have that many fields, so the search for them is
    made where there are such lines; quoted text is then set aside, as its delimiters
    separate nothing.
    """
    n = limits.max_columns
    if isinstance(data, bytes):
        d = re.escape(delimiter.encode())
        quick: re.Pattern[Any] = re.compile(rb"(?m)^(?:[^" + d + rb"\n]*+" + d + rb"){%d}" % n)
        quoted: re.Pattern[Any] = re.compile(rb'"[^"]*+"')
        newline: Any = b"\n"
        empty: Any = b""
    else:
        d2 = re.escape(delimiter)
        quick = re.compile(rf"(?m)^(?:[^{d2}\n]*+{d2}){{{n}}}")
        quoted = re.compile(r'"[^"]*+"')
        newline, empty = "\n", ""
    start, suspect = 0, False
    while start < len(data):
        end = data.find(newline, start + _FIELD_PIECE)
        end = len(data) if end == -1 else end + 1
        piece = data[start:end]
        if max(map(len, piece.split(newline))) > n and quick.search(piece):
            suspect = True
            break
        start = end
    if not suspect:
        return
    plain = quoted.sub(empty, data)
    found = quick.search(plain)
    if found is None:
        return
    row = plain.count(newline, 0, found.start()) + 1
    raise InputError.one(
        "limit-exceeded",
        f"row {row:,} has more than {n:,} fields, over the limit of {n:,} columns.",
        file=file_name,
        row=row,
        column=column_letter(n),
        note="Raise it with --max-columns if the file is genuine.",
    )


def _line_lengths(raw: bytes) -> int | None:
    """The longest line's length in bytes, or None when the bytes have a blank line
    (``\\n\\n`` or ``\\n\\r\\n``): DuckDB's reader skips those, which would shift row numbers.

    One pass over the newlines' positions answers both, where searching the bytes for
    each pattern and splitting them into lines took three.
    """
    import numpy as np

    data = np.frombuffer(raw, np.uint8)
    longest = 0
    at = 0  # where the line being measured began
    for start in range(0, len(raw), _LINE_PIECE):
        ends = np.flatnonzero(data[start : start + _LINE_PIECE] == 10) + start
        if not len(ends):
            continue
        gaps = np.diff(ends, prepend=at - 1)  # each line's length, plus one for its newline
        longest = max(longest, int(gaps.max()) - 1)
        first, at = at == 0, int(ends[-1]) + 1
        if first:  # the file's first line follows no newline: it is not a blank line
            ends, gaps = ends[1:], gaps[1:]
        if (gaps == 1).any():
            return None
        one_byte = ends[gaps == 2]
        if len(one_byte) and (data[one_byte - 1] == 13).any():
            return None
    return max(longest, len(raw) - at)


#: Bytes looked at together when measuring lines (a bounded working set for numpy).
_LINE_PIECE = 1 << 24


def _read_csv_duckdb(path: Path, raw: bytes, limits: Limits, longest: int) -> Grid | None:
    """A large UTF-8 CSV read by DuckDB into Arrow (blank lines would shift row numbers, so
    files with them take the Python path, as do files that are not UTF-8: DuckDB's reader
    refuses any byte that is not, and the Python path then decodes them)."""
    import duckdb

    delimiter = _sniff(raw[:16384].decode("utf-8", "replace"))
    if longest > limits.max_columns:  # only a line this long can have too many fields
        check_fields(raw, delimiter, path.name, limits)
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
    short = longest <= limits.max_cell_chars  # a cell's characters are at most its line's bytes
    return Grid(path.name, None, _string_columns(arrays), encoding=encoding, short_cells=short)


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
    for c, (name, col) in enumerate(zip(table.column_names, table.columns, strict=True)):
        text = col.combine_chunks()
        if pa.types.is_dictionary(text.type):
            text = text.dictionary_decode()
        if pa.types.is_nested(text.type):
            # a cell of a sheet holds one value; a list or record is not a line's amount
            raise InputError.one(
                "unsupported-format",
                f"column {name!r} holds {text.type} values (lists or records), not text or "
                "numbers, so the file is not a table of lines.",
                file=path.name,
                column=column_letter(c),
                note="Write the table with one value a cell (flatten the column) and try again.",
            )
        try:
            if pa.types.is_floating(text.type):
                # the shortest decimal that round-trips, as for spreadsheet cells
                text = pa.array(
                    [None if v is None else repr(v) for v in text.to_pylist()], pa.string()
                )
            elif text.type != pa.string():
                text = text.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError.one(
                "unsupported-format",
                f"column {name!r} ({text.type}) cannot be read as text: {_reason(exc)}.",
                file=path.name,
                column=column_letter(c),
            ) from exc
        columns.append(pa.concat_arrays([pa.array([str(name)], pa.string()), text]))
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
        _READ_ONCE.pop("digest", None)
        _READ_ONCE.update(key=key, sheets={})
    return _READ_ONCE["sheets"]  # type: ignore[no-any-return]


def _digest_while_reading(path: Path, raw: bytes) -> None:
    """Hash the bytes just read, for the source's SHA-256, while they are parsed: the
    hash would otherwise read the file again afterwards (a 230 MB CSV: 0.3 s), and it
    leaves Python's lock free as it runs."""
    if not _READ_ONCE.get("on"):
        return
    import hashlib
    import threading

    _read_once_files(path)
    found: dict[str, tuple[str, int]] = {}

    def work() -> None:
        found["digest"] = (hashlib.sha256(raw).hexdigest(), len(raw))

    thread = threading.Thread(target=work, name="placecount-digest", daemon=True)
    thread.start()
    _READ_ONCE["digest"] = (thread, found)


def read_digest(path: Path) -> tuple[str, int] | None:
    """The SHA-256 (hex) and size of the bytes the CSV reader read from ``path`` while
    reading once, or None when it has not read this file (then hash the file itself)."""
    if not _READ_ONCE.get("on") or "digest" not in _READ_ONCE:
        return None
    st = path.stat()
    if _READ_ONCE.get("key") != (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino):
        return None
    thread, found = _READ_ONCE["digest"]
    thread.join()
    digest: tuple[str, int] | None = found.get("digest")
    return digest


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
        sheets[sheet] = (g.file_name, g.sheet, g.columns, g.merged, g.encoding, g.short_cells)
    name, sh, columns, merged, encoding, short = sheets[sheet]
    # a new grid each time: readers note hints on the grid they are given
    return Grid(name, sh, columns, merged=list(merged), encoding=encoding, short_cells=short)


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
        # checked as it is first read: the grid is the same however many readers look
        yield _read_once(path, None, lambda: check_shape(read_csv_grid(path, limits), limits))
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
        yield _read_once(
            path,
            name,
            lambda name=name: check_shape(  # type: ignore[misc]
                read_excel_grid(path, name, workbook(), limits), limits
            ),
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
    _check_cell_chars(grid, limits)
    return grid


def _check_cell_chars(grid: Grid, limits: Limits) -> None:
    """Refuse a grid with a cell over ``--max-cell-chars`` (the CSV reader stops at one
    while reading; the others read it whole, and it is found here)."""
    if grid.short_cells:
        return
    import pyarrow.compute as pc

    for c, column in enumerate(grid.columns):
        if column.null_count == len(column):
            continue
        lengths = pc.utf8_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limits.max_cell_chars:
            row = pc.index(lengths, longest).as_py()
            raise _cell_chars_error(grid.file_name, grid.sheet, row, c, longest, limits)
