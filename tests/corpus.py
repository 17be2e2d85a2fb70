"""A corpus of broken and hostile inputs, made by code (no binary blobs in the repository).

Each maker writes one file into a folder and returns its path. ``CORPUS`` lists them
with the message and exit code `placecount ingest council FILE` must give.
Run ``python tests/corpus.py FOLDER`` to write them all out for exploring by hand.
"""

from __future__ import annotations

import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

HEADER = ["Service", "Net expenditure (£)"]


def _book(folder: Path, name: str, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    path = folder / name
    wb.save(path)
    return path


def truncated(folder: Path) -> Path:
    path = _book(folder, "truncated.xlsx", [HEADER, ["Education services", 10]])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def corrupt(folder: Path) -> Path:
    path = folder / "corrupt.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00\xff" * 300)
    return path


def zip_not_workbook(folder: Path) -> Path:
    path = folder / "notes.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "this is a zip of notes, not a workbook")
    return path


def zip_bomb(folder: Path) -> Path:
    """A workbook whose sheet inflates to 300 MB of XML from a few hundred kilobytes."""
    path = folder / "bomb.xlsx"
    good = _book(folder, "bomb_base.xlsx", [HEADER, ["Education services", 10]])
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                with dst.open(item.filename, "w", force_zip64=True) as fh:
                    fh.write(data.replace(b"</worksheet>", b""))
                    block = b"<!--" + b" " * (1 << 20) + b"-->"
                    for _ in range(300):
                        fh.write(block)
                    fh.write(b"</worksheet>")
            else:
                dst.writestr(item, data)
    good.unlink()
    return path


def password_protected(folder: Path) -> Path:
    # Excel saves an encrypted workbook as an OLE compound file, whatever its extension.
    path = folder / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    return path


def macros_and_external_links(folder: Path) -> Path:
    """An .xlsm with a macro project and a formula linking another workbook: the cached
    value is read; nothing is run or fetched."""
    import xlsxwriter

    path = folder / "macros.xlsm"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("RO")
    ws.write_row(0, 0, HEADER)
    ws.write_string(1, 0, "Education services")
    ws.write_formula(1, 1, "='C:\\secret\\[other.xlsx]Sheet1'!A1*2", None, 1234)
    ws.write_string(2, 0, "Library service")
    ws.write_formula(2, 1, '=WEBSERVICE("http://example.invalid/")', None, 66)
    bin_path = folder / "vbaProject.bin"
    bin_path.write_bytes(b"\xd0\xcf\x11\xe0" + b'Attribute VB_Name = "Module1"' * 10)
    wb.add_vba_project(str(bin_path))
    wb.close()
    bin_path.unlink()
    return path


def mixed_encodings(folder: Path) -> Path:
    path = folder / "mixed.csv"
    path.write_bytes(
        "Service,Net expenditure (£)\n".encode()
        + "Education services,£1,000\n".encode("cp1252").replace(b",\xa31,000", b',"\xa31,000"')
        + 'Library service,"£2,000"\n'.encode()
    )
    return path


def nul_bytes(folder: Path) -> Path:
    path = folder / "nul.csv"
    path.write_bytes(b"Service,Net expenditure (\xc2\xa3)\nEducation\x00 services,10\x00\n")
    return path


def long_cells(folder: Path) -> Path:
    return _book(folder, "long.xlsx", [HEADER, ["x" * 10_000, 10], ["Education services", 5]])


def million_empty_rows(folder: Path) -> Path:
    import xlsxwriter

    path = folder / "empty_rows.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, HEADER)
    ws.write_row(1, 0, ["Education services", 10])
    ws.write_blank(1_000_000, 0, None, wb.add_format({"bold": True}))
    ws.write_string(1_000_001, 0, "")
    wb.close()
    return path


def far_cell(folder: Path) -> Path:
    """A 5 KB workbook with a header and one number at XFD1048576, Excel's last cell: the
    workbook reader would lay out 17 billion cells for it."""
    import xlsxwriter

    path = folder / "far_cell.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, HEADER)
    ws.write_number(1_048_575, 16_383, 1)
    wb.close()
    return path


_MB = 1 << 20


def _raw_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    """Write a zip by hand from (name, deflated bytes, declared size, CRC-32): zipfile
    cannot write a part whose declared size is not the truth."""
    out, central = bytearray(), bytearray()
    for name, data, size, crc in members:
        offset, encoded = len(out), name.encode()
        fields = (20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + encoded + data
        central += (
            b"PK\x01\x02"
            + struct.pack("<HHHHHHIIIHHHHHII", 20, *fields, 0, 0, 0, 0, offset)
            + encoded
        )
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central) + b"PK\x05\x06" + end)


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _padded_sheet(folder: Path, name: str, megabytes: int, declared: int | None) -> Path:
    """A workbook whose sheet is padded with ``megabytes`` MB of spaces inside its XML,
    deflated to about 1 KB a MB; the sheet part declares ``declared`` bytes (None: the
    truth). The padding is deflated once and repeated: each copy starts afresh (a full
    flush), so the copies join into one valid stream without deflating gigabytes here."""
    base = _book(folder, f"{name}_base.xlsx", [HEADER, ["Education services", 10]])
    members = []
    with zipfile.ZipFile(base) as src:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename != "xl/worksheets/sheet1.xml":
                members.append((item.filename, _deflate(data), len(data), zlib.crc32(data)))
                continue
            head, tail = data.split(b"</worksheet>")[0], b"</worksheet>"
            c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
            first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
            block = b" " * _MB
            padding = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
            stream = first + padding * megabytes + c.compress(tail) + c.flush()
            size = len(head) + megabytes * _MB + len(tail)
            # the CRC is not worked out for gigabytes: the file is refused before anyone
            # could check it
            members.append((item.filename, stream, size if declared is None else declared, 0))
    base.unlink()
    path = folder / f"{name}.xlsx"
    _raw_zip(path, members)
    return path


def lying_part(folder: Path) -> Path:
    """A sheet part that declares 1,000 bytes and inflates to 300 MB."""
    return _padded_sheet(folder, "lying_part", 300, 1_000)


def bomb_4mb(folder: Path) -> Path:
    """A 4 MB workbook whose sheet inflates to 4,000 MB (declared truthfully)."""
    return _padded_sheet(folder, "bomb_4mb", 4_000, None)


def csv_wide_line(folder: Path) -> Path:
    """A CSV whose second line is 10 MB of '1,1,1,…': five million fields."""
    path = folder / "wide_line.csv"
    path.write_bytes("Service,Net expenditure (£)\n".encode() + b"1," * (5 * _MB) + b"1\n")
    return path


def csv_long_cell(folder: Path) -> Path:
    """A CSV with a cell of 131,073 characters, one over Python's csv field limit."""
    path = folder / "long_cell.csv"
    text = "Service,Net expenditure (£)\n" + "x" * 131_073 + ",10\nEducation services,5\n"
    path.write_text(text, encoding="utf-8")
    return path


def parquet_list_column(folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "lists.parquet"
    pq.write_table(pa.table({"Service": ["Education services"], HEADER[1]: [[1, 2]]}), path)
    return path


def unicode_text(folder: Path) -> Path:
    """Excel's "Unicode text": UTF-16 LE with a byte-order mark, tab-delimited."""
    path = folder / "unicode.csv"
    rows = [HEADER, ["Éducation services", "1,000"], ["Library service", "£2,000"]]
    path.write_bytes("\r\n".join("\t".join(r) for r in rows).encode("utf-16"))
    return path


def utf16_without_bom(folder: Path) -> Path:
    path = folder / "utf16_nobom.csv"
    path.write_bytes("Service,Net expenditure (£)\r\nEducation services,10\r\n".encode("utf-16-le"))
    return path


def header_only(folder: Path) -> Path:
    path = folder / "header_only.csv"
    path.write_text("Service,Net expenditure (£)\n", encoding="utf-8")
    return path


def repeated_headers(folder: Path) -> Path:
    return _book(
        folder, "pages.xlsx", [HEADER, ["Education services", 10], HEADER, ["Library service", 5]]
    )


def bad_amount(text: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        safe = "".join(c if c.isalnum() else "_" for c in text)
        return _book(folder, f"amount_{safe}.xlsx", [HEADER, ["Education services", text]])

    make.__name__ = f"amount {text}"
    return make


#: (maker, exit code, text the message must contain, total £ when it is read)
CORPUS: list[tuple[Callable[[Path], Path], int, str, str | None]] = [
    (truncated, 2, "not a valid Excel workbook", None),
    (corrupt, 2, "not a valid Excel workbook", None),
    (zip_not_workbook, 2, "a zip file, but not an Excel workbook", None),
    (zip_bomb, 2, "would inflate to 300 MB", None),
    (password_protected, 2, "password-protected", None),
    (macros_and_external_links, 0, "", "1300.00"),
    (mixed_encodings, 0, "", "3000.00"),
    # NUL bytes were dropped silently: now the file is refused, the first one's line named
    (nul_bytes, 2, "holds NUL bytes (the first on line 2)", None),
    (long_cells, 0, "has no COFOG mapping", "15.00"),
    (million_empty_rows, 0, "", "10.00"),
    (repeated_headers, 0, "header row repeated", "15.00"),
    # unparseable-amount: free text leaves its line out with a warning (--strict stops);
    # an amount beyond belief is still an error
    (bad_amount("1.2.3"), 0, "'1.2.3' is not an amount: the line is left out", "0.00"),
    (bad_amount("1e308"), 2, "over £1 trillion", None),
    (bad_amount("NaN"), 0, "'NaN' is not an amount: the line is left out", "0.00"),
    (bad_amount("∞"), 0, "'∞' is not an amount: the line is left out", "0.00"),
    # read as 5, 1234, 123 and 0.00… before: each is text now
    (bad_amount("(-5)"), 0, "B2 (Net expenditure (£)): '(-5)' is not an amount", "0.00"),
    (bad_amount("12 34"), 0, "B2 (Net expenditure (£)): '12 34' is not an amount", "0.00"),
    (bad_amount("١٢٣"), 0, "'١٢٣' is not an amount: the line is left out", "0.00"),
    (bad_amount("１２３"), 0, "'１２３' is not an amount: the line is left out", "0.00"),
    (bad_amount("1e999999999"), 0, "'1e999999999' is not an amount", "0.00"),
    (far_cell, 2, "reach XFD1048576: 1,048,576 rows × 16,384 columns", None),
    (lying_part, 2, "says it holds 1,000 bytes but inflates to more", None),
    (bomb_4mb, 2, "would inflate to 4,000 MB when opened, over the limit of 1,024 MB", None),
    (csv_wide_line, 2, "row 2 has more than 1,000 fields", None),
    (csv_long_cell, 2, "A2: the cell holds 131,073 characters", None),
    (parquet_list_column, 2, "column B: column 'Net expenditure (£)' holds list", None),
    (unicode_text, 0, "", "3000.00"),
    (utf16_without_bom, 2, "looks like UTF-16 LE text without a byte-order mark", None),
    (header_only, 2, "the file has a header (row 1) but no lines below it", None),
]

#: The makers whose files must not exhaust a 3 GB machine: run with memory capped.
HOSTILE = [far_cell, lying_part, bomb_4mb, csv_wide_line, csv_long_cell, parquet_list_column]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    target.mkdir(parents=True, exist_ok=True)
    for maker, *_ in CORPUS:
        print(maker(target).name)
