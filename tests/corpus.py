"""A corpus of broken and hostile inputs, made by code (no binary blobs in the repository).

Each maker writes one file into a folder and returns its path. ``CORPUS`` lists them
with the message and exit code `placecount ingest council FILE` must give.
Run ``python tests/corpus.py FOLDER`` to write them all out for exploring by hand.
"""

from __future__ import annotations

import sys
import zipfile
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
    (nul_bytes, 0, "", "10.00"),
    (long_cells, 0, "has no COFOG mapping", "15.00"),
    (million_empty_rows, 0, "", "10.00"),
    (repeated_headers, 0, "header row repeated", "15.00"),
    # unparseable-amount: free text leaves its line out with a warning (--strict stops);
    # an amount beyond belief is still an error
    (bad_amount("1.2.3"), 0, "'1.2.3' is not an amount: the line is left out", "0.00"),
    (bad_amount("1e308"), 2, "over £1 trillion", None),
    (bad_amount("NaN"), 0, "'NaN' is not an amount: the line is left out", "0.00"),
    (bad_amount("∞"), 0, "'∞' is not an amount: the line is left out", "0.00"),
]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    target.mkdir(parents=True, exist_ok=True)
    for maker, *_ in CORPUS:
        print(maker(target).name)
