"""Readers are bounded before they load anything, and never misread what they load.

The hostile files come from ``tests/corpus.py``; here they are run with the memory a small
laptop has, and the limits' edges, encodings and odd paths are checked one by one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.errors import InputError
from placecount.models import Limits
from placecount.sources import _grid, _zipscan

sys.path.insert(0, str(Path(__file__).parent))
from corpus import CORPUS, HEADER, HOSTILE, _deflate, _raw_zip  # noqa: E402

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
EXPECTED = {maker: (code, text) for maker, code, text, _ in CORPUS}


def _run_capped(args: list[str], timeout: float = 10) -> subprocess.CompletedProcess[str]:
    """placecount in a child process with 3 GB of address space, as a small laptop has."""
    resource = pytest.importorskip("resource", reason="no resource module: no memory cap")

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    return subprocess.run(
        [sys.executable, "-m", "placecount.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
    )


@pytest.mark.parametrize("maker", HOSTILE, ids=[m.__name__ for m in HOSTILE])
def test_hostile_files_under_a_memory_cap(tmp_path: Path, maker: Callable[[Path], Path]) -> None:
    """Each is refused (exit 2) in under 10 s in 3 GB, with a message and no backtrace: the
    far cell used to abort the Rust reader, the long cell and the list column to end as
    "internal problem" (exit 1)."""
    path = maker(tmp_path)
    code, text = EXPECTED[maker]
    done = _run_capped(
        ["ingest", "council", str(path), "--org", "X", "--db", str(tmp_path / "db.duckdb")]
    )
    assert done.returncode == code == 2, done.stderr[-2000:]
    for crash in ("Traceback", "panicked", "RUST_BACKTRACE", "internal problem"):
        assert crash not in done.stderr
    assert done.stderr.startswith(f"error: {path.name}")
    assert text in done.stderr


def test_far_cell_message_names_file_sheet_figures_and_flag(tmp_path: Path) -> None:
    [maker] = [m for m in HOSTILE if m.__name__ == "far_cell"]
    path = maker(tmp_path)
    with pytest.raises(InputError) as err:
        _zipscan.check_extent(path, "Sheet1", Limits())
    [issue] = err.value.issues
    assert (issue.code, issue.file, issue.sheet) == ("limit-exceeded", "far_cell.xlsx", "Sheet1")
    assert f"{1_048_576 * 16_384:,} cells" in issue.message
    assert "bytes of XML" in issue.message
    assert issue.note == "Raise it with --max-columns if the file is genuine."
    # wide enough: then it is the cells that are too many
    with pytest.raises(InputError) as err:
        _zipscan.check_extent(path, "Sheet1", Limits(max_columns=20_000))
    assert err.value.issues[0].note == "Raise it with --max-cells if the file is genuine."


def _sheet_xml_book(
    folder: Path,
    name: str,
    sheet_data: bytes,
    extra: list[tuple[str, bytes, int]] = (),  # type: ignore[assignment]
    part: str = "worksheets/sheet1.xml",
) -> Path:
    """A minimal workbook around the XML of one sheet's cells, written as given, in the
    part ``xl/{part}``."""
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
        b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/><Override '
        b'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
        + part.encode()
        + b'" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" '
        b'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0"?><Relationships xmlns="http://'
        b'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'worksheet" Target="' + part.encode() + b'"/></Relationships>',
        f"xl/{part}": b'<?xml version="1.0"?><worksheet xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B2"/><sheetData>'
        + sheet_data
        + b"</sheetData></worksheet>",
    }
    path = folder / name
    import zlib

    members = [(n, _deflate(d), len(d), zlib.crc32(d)) for n, d in parts.items()]
    members += [(n, _deflate(d), size, zlib.crc32(d)) for n, d, size in extra]
    _raw_zip(path, members)
    return path


def _inline(text: str) -> bytes:
    return b'<c t="inlineStr"><is><t>' + text.encode() + b"</t></is></c>"


def test_cells_without_references_are_placed_as_the_reader_places_them(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Cells need no r="B7": then each takes the next column, each row the next row, unless
    the row says its number. The extent is counted so, whatever <dimension> claims."""
    rows = (
        b"<row>" + _inline(HEADER[0]) + _inline(HEADER[1]) + b"</row>"
        b"<row>" + _inline("Education services") + b"<c><v>10</v></c></row>"
        b'<row r="5000">' + _inline("Library service") + b"<c><v>5</v></c><c/></row>"
    )
    path = _sheet_xml_book(tmp_path, "no_refs.xlsx", rows)
    scan = _zipscan._scan_workbook(path, Limits())
    extent = scan.extents["xl/worksheets/sheet1.xml"]
    # the empty <c/> takes column C, but holds nothing: the grid is two columns wide
    assert (extent.rows, extent.columns, extent.exact) == (5000, 2, True)
    db = str(tmp_path / "db.duckdb")
    small = runner.invoke(app, ["ingest", "council", str(path), "--max-rows", "4999", "--db", db])
    assert small.exit_code == 2
    assert "B5000: 5,000 rows × 2 columns" in small.stderr
    assert "Raise it with --max-rows" in small.stderr
    read = runner.invoke(
        app, ["ingest", "council", str(path), "--org", "X", "--year", "2023-24", "--db", db]
    )
    assert read.exit_code == 0, read.stderr
    assert api.sources(Path(db))[0]["total_gbp"] == "15.00"


FAR = b"<v>1</v></c>"


@pytest.mark.parametrize(
    ("sheet_data", "corner"),
    [
        (b'<row r="1"><c\nr="XFD1048576">' + FAR + b"</row>", "XFD1048576"),  # a line break
        (b'<row r="1"><c s="0" r="XFD1048576">' + FAR + b"</row>", "XFD1048576"),  # r later
        (b'<row r="2"><c r="A99999999">' + FAR + b"</row>", "A99999999"),  # row's r is small
        (b'<row r="2"><c r="A0099999999">' + FAR + b"</row>", "A99999999"),  # leading zeros
        (b'<row r="1"><y:c xmlns:y="urn:y" r="XFD1">' + FAR + b"</row>", "XFD1"),  # a prefix
        (b'<row r="1"><c r="A1"><v>1</v></c><c r="XFD1" s="1"></c></row>', "XFD1"),  # empty
    ],
    ids=["line-break", "r-not-first", "row-beyond-rows", "leading-zeros", "prefix", "empty-c"],
)
def test_cells_written_unusually_are_still_counted(
    tmp_path: Path, sheet_data: bytes, corner: str
) -> None:
    path = _sheet_xml_book(tmp_path, "odd.xlsx", sheet_data)
    with pytest.raises(InputError) as err:
        _zipscan.check_extent(path, "Data", Limits())
    assert f"the sheet's cells reach {corner}:" in err.value.issues[0].message


def test_a_sheet_kept_outside_worksheets_is_counted(tmp_path: Path) -> None:
    """The workbook's relationships may put a sheet anywhere: its cells are counted there."""
    far = b'<row r="1"><c r="XFD1048576">' + FAR + b"</row>"
    path = _sheet_xml_book(tmp_path, "elsewhere.xlsx", far, part="data/cells.xml")
    assert "xl/data/cells.xml" in zipfile.ZipFile(path).namelist()
    with pytest.raises(InputError) as err:
        _zipscan.check_extent(path, "Data", Limits())
    assert "the sheet's cells reach XFD1048576:" in err.value.issues[0].message


def test_a_cell_with_only_a_style_far_away_is_not_refused(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Formatting reaching XFD1048576 makes no cell for the reader: the sheet is read."""
    rows = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>Service</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><t>Net expenditure (&#163;)</t></is></c></row>'
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>Education services</t></is></c>'
        b'<c r="B2"><v>7</v></c></row>'
        b'<row r="1048576"><c r="XFD1048576" s="1"/></row>'
    )
    path = _sheet_xml_book(tmp_path, "styled.xlsx", rows)
    db = str(tmp_path / "db.duckdb")
    done = runner.invoke(
        app, ["ingest", "council", str(path), "--org", "X", "--year", "2023-24", "--db", db]
    )
    assert done.exit_code == 0, done.stderr
    assert api.sources(Path(db))[0]["total_gbp"] == "7.00"


def test_every_part_is_inflated_and_counted(tmp_path: Path) -> None:
    """Not only sheets: the reader loads shared strings whole, so a shared-strings part
    that says 100 bytes and inflates to 3 MB is refused as well."""
    rows = b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    filler = b"<sst><si><t>x</t></si>" + b" " * (3 << 20) + b"</sst>"
    path = _sheet_xml_book(
        tmp_path, "lying_strings.xlsx", rows, [("xl/sharedStrings.xml", filler, 100)]
    )
    assert zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml").file_size == 100
    _zipscan._SCANNED.clear()
    with pytest.raises(InputError) as err:
        _zipscan.check_unzipped(path, Limits())
    assert "'xl/sharedStrings.xml' says it holds 100 bytes but inflates to more" in str(err.value)
    assert err.value.issues[0].code == "corrupt-workbook"


@pytest.mark.parametrize(
    ("codec", "bom", "delimiter"),
    [
        ("utf-16-le", b"\xff\xfe", "\t"),  # Excel's "Unicode text"
        ("utf-16-be", b"\xfe\xff", ","),
        ("utf-32-le", b"\xff\xfe\x00\x00", ","),
        ("utf-32-be", b"\x00\x00\xfe\xff", ";"),
    ],
)
def test_byte_order_marks_are_followed(
    runner: CliRunner, tmp_path: Path, codec: str, bom: bytes, delimiter: str
) -> None:
    rows = [HEADER, ["Children’s social care", "£1234"], ["Éducation — adults", "66"]]
    path = tmp_path / "unicode.csv"
    text = "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"
    path.write_bytes(bom + text.encode(codec))
    db = tmp_path / "db.duckdb"
    done = runner.invoke(
        app, ["ingest", "council", str(path), "--org", "X", "--year", "2023-24", "--db", str(db)]
    )
    assert done.exit_code == 0, done.stderr
    assert f"  text encoding {codec}\n" in done.stderr
    result = api.ingest("council", [path], db, org="X", year="2023-24", dry_run=True)
    assert result.to_dict()["sources"][0]["encoding"] == codec
    assert stored_lines(db) == [("Children’s social care", 123_400), ("Éducation — adults", 6_600)]


def stored_lines(db: Path) -> list[tuple[str, int]]:
    """The stored lines' labels and pence, in row order."""
    from placecount.store import Store

    with Store.open(db) as store:
        rows = store.con.execute(
            "SELECT native_label, amount_pence FROM lines ORDER BY excel_row"
        ).fetchall()
    return [(str(a), int(b)) for a, b in rows]


def test_a_false_byte_order_mark_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(b"\xff\xfe" + "Service,Net\n".encode("utf-16-le") + b"\x00\xd8")
    done = runner.invoke(app, ["ingest", "council", str(path), "--db", str(tmp_path / "d")])
    assert done.exit_code == 2
    assert "marked as UTF-16-LE text" in done.stderr and "Traceback" not in done.stderr


def test_quoted_delimiters_are_not_fields(runner: CliRunner, tmp_path: Path) -> None:
    """2,000 commas inside quotes are one cell, not 2,000 columns."""
    path = tmp_path / "quoted.csv"
    note = "a," * 2_000
    path.write_text(f'Service,Net expenditure (£),Note\nEducation services,10,"{note}"\n')
    db = tmp_path / "db.duckdb"
    done = runner.invoke(
        app, ["ingest", "council", str(path), "--org", "X", "--year", "2023-24", "--db", str(db)]
    )
    assert done.exit_code == 0, done.stderr


def test_a_wide_line_deep_in_a_large_csv_is_found(runner: CliRunner, tmp_path: Path) -> None:
    """Past 8 MB the CSV is read by DuckDB; the line with 1,500 fields is refused first, by
    its row as Excel would number it (quoted line breaks do not start rows)."""
    path = tmp_path / "large.csv"
    line = b"Education services,12.50,Supplier with a longish name for padding\n"
    head = b'Service,Net expenditure (\xc2\xa3),Supplier\n"Two\nlines",1,x\n'
    body = line * 80_000 + b"1," * 1_499 + b"1\n" + line * 80_000
    path.write_bytes(head + body)
    assert path.stat().st_size > _grid.CSV_PYTHON_LIMIT
    done = runner.invoke(app, ["ingest", "council", str(path), "--db", str(tmp_path / "d")])
    assert done.exit_code == 2
    assert f"large.csv › ALM{80_003}: row {80_003:,} has more than 1,000 fields" in done.stderr
    assert "Raise it with --max-columns" in done.stderr


def test_max_cell_chars_can_be_raised(runner: CliRunner, tmp_path: Path) -> None:
    [maker] = [m for m in HOSTILE if m.__name__ == "csv_long_cell"]
    path = maker(tmp_path)
    db = tmp_path / "db.duckdb"
    args = ["ingest", "council", str(path), "--org", "X", "--year", "2023-24", "--db", str(db)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "long_cell.csv › A2: the cell holds 131,073 characters" in refused.stderr
    assert "Raise it with --max-cell-chars" in refused.stderr
    read = runner.invoke(app, [*args, "--max-cell-chars", "200000"])
    assert read.exit_code == 0, read.stderr
    assert api.sources(db)[0]["total_gbp"] == "15.00"


def test_a_long_cell_in_a_workbook_is_refused(tmp_path: Path, xlsx: Callable[..., Path]) -> None:
    path = xlsx([HEADER, ["Education services", 10], ["y" * 600, 5]])
    with pytest.raises(InputError) as err:
        list(_grid.read_grids(path, None, Limits(max_cell_chars=500)))
    [issue] = err.value.issues
    assert (issue.row, issue.column, issue.code) == (3, "A", "limit-exceeded")
    assert "600 characters" in issue.message


def test_a_header_only_workbook_has_no_lines(
    runner: CliRunner, tmp_path: Path, xlsx: Callable[..., Path]
) -> None:
    path = xlsx([HEADER])
    done = runner.invoke(app, ["ingest", "council", str(path), "--db", str(tmp_path / "d")])
    assert done.exit_code == 2
    assert "the sheet has a header (row 1) but no lines below it" in done.stderr


def _not_files(tmp_path: Path) -> list[tuple[Path, str]]:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    out = [(folder, "this is a folder, not a file")]
    if Path("/dev/zero").exists():
        zero = tmp_path / "zero.csv"
        zero.symlink_to("/dev/zero")
        out.append((zero, "this is a device, not a file saved on disk"))
    if hasattr(os, "mkfifo"):
        pipe = tmp_path / "pipe.xlsx"
        os.mkfifo(pipe)
        out.append((pipe, "this is a named pipe (FIFO), not a file saved on disk"))
    return out


@pytest.mark.parametrize("kind", ["council", "pesa", "ndpb", "payments"])
def test_pipes_devices_and_folders_are_not_opened(tmp_path: Path, kind: str) -> None:
    """Reading a named pipe blocks until someone writes to it, /dev/zero never ends: both
    are refused from their type on disk, before they are opened (the timeout is the test)."""
    for path, text in _not_files(tmp_path):
        done = subprocess.run(
            [sys.executable, "-m", "placecount.cli", "ingest", kind, str(path)]
            + ["--db", str(tmp_path / "db.duckdb")],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert done.returncode == 2, (path, done.stderr)
        assert done.stderr.startswith(f"error: {path.name}: {text}"), done.stderr


def _real_files(suffixes: set[str]) -> list[Path]:
    if not REAL.is_dir():
        return []
    return sorted(p for p in REAL.rglob("*") if p.suffix.lower() in suffixes)


@pytest.mark.skipif(not REAL.is_dir(), reason="the real published files are not here")
def test_default_limits_pass_every_real_file() -> None:
    """Every real workbook and CSV passes the default limits, sheet by sheet."""
    import fastexcel

    workbooks = _real_files({".xlsx", ".xlsm"})
    assert workbooks
    for path in workbooks:
        _zipscan.check_unzipped(path, Limits())
        for sheet in fastexcel.read_excel(str(path)).sheet_names:
            _zipscan.check_extent(path, sheet, Limits())
    for path in _real_files({".csv"}):
        grid = _grid.read_csv_grid(path, Limits())
        _grid.check_shape(grid, Limits())
    # and the largest inflates to less than a fiftieth of the unzipped limit
    largest = max(sum(i.file_size for i in zipfile.ZipFile(p).infolist()) for p in workbooks)
    assert largest * 50 < Limits().max_unzipped_mb * 1024 * 1024
