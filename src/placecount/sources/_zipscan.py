"""How far a workbook really reaches, found before the workbook reader lays it out.

A workbook is a zip of XML parts. Its directory says how large each part inflates to, and
a sheet's ``<dimension>`` says how far its cells reach, but either may lie: a 2 KB file
can hold one cell at XFD1048576, and a part that says 1,000 bytes can inflate to 300 MB.
Here every part is inflated in pieces straight from the file, counting the bytes that
really come out, and each sheet's cells are scanned for the last row and column they
reach, so that :mod:`._grid` can refuse a hostile sheet with the figures and the flag
that raises the limit, before anything in proportion to it is allocated.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, column_letter
from ..models import Limits


def _not_a_workbook(path: Path) -> InputError:
    return InputError.one(
        "corrupt-workbook",
        "this is not a valid Excel workbook (it may be damaged, or saved with the "
        "wrong extension).",
        file=path.name,
        note="Open it in Excel and save it again as .xlsx.",
    )


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters[:8].decode():  # no sheet is 26**8 columns wide
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
    # the sizes above are what the zip says; the scan counts the bytes that come out
    _scan_workbook(path, limits)


# --- the workbook's parts as they really inflate -------------------------------------------

#: Parts are inflated in pieces of at most this many bytes, however large they say they are.
_PIECE = 4 << 20
#: The bytes at each end of a piece in which the widest cell is looked for first.
_SAMPLE = 64 << 10
#: No tag in a sheet's XML is this long; one that is makes the workbook damaged or hostile.
_MAX_TAG = 8 << 20


@dataclass
class _Extent:
    """How far a sheet's cells reach, as the workbook reader will lay them out."""

    rows: int = 0  # the last row, as Excel numbers it
    columns: int = 0  # the last column, 1 for A
    size: int = 0  # the bytes of XML the sheet inflates to
    exact: bool = True  # False: an upper bound (style-only cells included, say)


@dataclass
class _Scan:
    key: tuple[Any, ...]
    total: int
    extents: dict[str, _Extent]  # by zip part


_SCANNED: dict[str, _Scan] = {}


def _file_key(path: Path) -> tuple[Any, ...]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def _inflated(fh: Any, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's bytes as they inflate, in pieces of at most :data:`_PIECE`.

    The stored or deflated data is inflated from the file itself, not through
    ``zipfile``, which stops at the size the zip declares: a part may declare 1,000 bytes
    and inflate to 300 MB, and the workbook reader reads all of it.
    """
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        with zf.open(info) as member:  # bounded by the declared size, checked already
            while piece := member.read(_PIECE):
                yield piece
        return
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("a part's local header is missing")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    left = info.compress_size
    if info.compress_type == zipfile.ZIP_STORED:
        while left > 0 and (piece := fh.read(min(_PIECE, left))):
            left -= len(piece)
            yield piece
        return
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    while left > 0 and not inflate.eof:
        raw = fh.read(min(1 << 16, left))
        if not raw:
            break
        left -= len(raw)
        out = inflate.decompress(raw, _PIECE)
        while True:
            if out:
                yield out
            if not inflate.unconsumed_tail or inflate.eof:
                break
            out = inflate.decompress(inflate.unconsumed_tail, _PIECE)
    if tail := inflate.flush():
        yield tail


def _is_sheet_part(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".xml") and "worksheets/" in lowered and "_rels" not in lowered


def _scan_workbook(path: Path, limits: Limits) -> _Scan:
    """Inflate every part of the workbook, counting the bytes that really come out, and
    find how far each sheet's cells reach. Refuses the workbook when a part inflates past
    the size it declares, or all of them past ``--max-unzipped-mb``."""
    key = _file_key(path)
    scan = _SCANNED.get("last")
    cap = limits.max_unzipped_mb * 1024 * 1024
    if scan is None or scan.key != key:
        scan = _Scan(key, 0, {})
        try:
            with zipfile.ZipFile(path) as zf, path.open("rb") as fh:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    sheet = _SheetScan() if _is_sheet_part(info.filename) else None
                    got = 0
                    for piece in _inflated(fh, zf, info):
                        got += len(piece)
                        scan.total += len(piece)
                        if got > info.file_size:
                            raise _lying_part(path, info, got)
                        if scan.total > cap:
                            raise _too_big(path, cap, limits)
                        if sheet is not None:
                            sheet.feed(piece, path, info.filename)
                    if sheet is not None:
                        scan.extents[info.filename] = sheet.finish(got)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise _not_a_workbook(path) from exc
        _SCANNED["last"] = scan
    if scan.total > cap:
        raise _too_big(path, cap, limits)
    return scan


def _lying_part(path: Path, info: zipfile.ZipInfo, got: int) -> InputError:
    return InputError.one(
        "corrupt-workbook",
        f"the workbook's part {info.filename!r} says it holds {info.file_size:,} bytes but "
        f"inflates to more ({got:,} bytes read before stopping): the workbook is damaged "
        "or hostile.",
        file=path.name,
        note="Open it in Excel and save it again as .xlsx.",
    )


def _too_big(path: Path, cap: int, limits: Limits) -> InputError:
    return InputError.one(
        "limit-exceeded",
        f"the workbook inflates to more than {limits.max_unzipped_mb:,} MB "
        f"({cap:,} bytes) when opened, over the limit: it may be damaged or hostile.",
        file=path.name,
        note="If it is genuine, raise the limit with --max-unzipped-mb.",
    )


_NAMESPACED_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet\b")
_TOKEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*?)(/?)>")
_REF = re.compile(rb'\br="([A-Z]*)([0-9]*)"')


class _SheetScan:
    """How far one sheet's cells reach, read from its XML as it inflates.

    Excel writes every row and cell with its reference (``<c r="B7">``), first: that case
    is counted with byte searches, an upper bound (cells holding only a style count too).
    A sheet written otherwise is read tag by tag, placing cells as the reader does.
    """

    def __init__(self, mode: str = "bound") -> None:
        self.mode = mode  # bound, refs (rows exactly) or tokens (tag by tag)
        self.carry = b""
        self.prefix: bytes | None = None
        self.rows = 0
        self.columns = 0
        self.exact = True
        self.tokens = mode == "tokens"  # read tag by tag from here on
        self.widest = b""  # the widest cell's column letters so far
        self.row = 0  # where the tag-by-tag reading is
        self.column = 0
        self.guards: list[re.Pattern[bytes]] = []

    def feed(self, piece: bytes, path: Path, part: str) -> None:
        buf = self.carry + piece
        cut = buf.rfind(b"<")
        body, self.carry = (buf, b"") if cut == -1 else (buf[:cut], buf[cut:])
        if len(self.carry) > _MAX_TAG:
            end = self.carry.find(b">")
            if end == -1:
                raise InputError.one(
                    "corrupt-workbook",
                    f"the workbook's part {part!r} holds a tag over {_MAX_TAG:,} bytes long: "
                    "the workbook is damaged or hostile.",
                    file=path.name,
                )
            # past its '>' there is only text, which places no cell
            body, self.carry = body + self.carry[: end + 1], b""
        self._scan(body)

    def finish(self, size: int) -> _Extent:
        self._scan(self.carry)
        self.carry = b""
        return _Extent(self.rows, self.columns, size, self.exact)

    def _scan(self, body: bytes) -> None:
        if self.prefix is None:
            root = _NAMESPACED_ROOT.search(body)
            if root is None and _TOKEN.search(body) is None:
                return  # the prolog: no cells yet
            if root is None:  # cells, but no <worksheet>: read them tag by tag
                self.prefix, self.tokens = b"", True
            else:
                self.prefix = (root.group(1) + b":") if root.group(1) else b""
            self.guards = _guards(self.prefix)
        if not self.tokens and any(g.search(body) for g in self.guards):
            self.tokens = True  # a row or cell not written as Excel writes them
        if not self.tokens and not self._bound(body):
            self.tokens = True
        if self.tokens:
            self._tokens(body)

    def _bound(self, body: bytes) -> bool:
        """An upper bound from the references alone (every cell and row has one, first):
        the columns as far as any cell's, the rows to the largest number with as many
        digits as the last row's (or, in ``refs`` mode, as far as any cell's).

        The widest cell is guessed from the piece's two ends, and one search shows that no
        cell lies past it (nor names a row with more digits): a table is as wide at its end
        as in its middle, so the cells are rarely listed one by one. False when a cell is
        not written as Excel writes it, so the piece must be read tag by tag.
        """
        p = re.escape(b"<" + (self.prefix or b""))
        top = max(map(int, re.findall(p + rb'row r="([0-9]+)"', body)), default=0)
        digits = len(str(top))
        ends = body[:_SAMPLE] + b">" + body[-_SAMPLE:]
        letters = set(re.findall(p + rb'c r="([A-Z]+)', ends))
        widest = max(letters, key=lambda c: (len(c), c), default=b"")
        if self.widest and (len(self.widest), self.widest) > (len(widest), widest):
            widest = self.widest
        # one pass over the cells: one past the widest, one naming a longer row number, or
        # a tag beginning <c that is neither a cell written r="…" first nor another element
        past = re.search(
            p
            + rb'c(?: r="(?:'
            + _letters_after(widest)
            + rb"|[A-Z]+[0-9]{%d})" % (digits + 1)
            + rb'|(?! r="|ol|f[Rv]|ustom|on[td]|ell))',
            body,
        )
        if past is not None and not past.group(0).startswith(b"<" + (self.prefix or b"") + b"c r"):
            return False  # not as Excel writes it: read tag by tag
        if self.mode == "refs" or past is not None:
            pairs = set(re.findall(p + rb'c r="([A-Z]+)([0-9]+)"', body))
            if not pairs:
                return True
            widest = max((c for c, _ in pairs), key=lambda c: (len(c), c))
            top = max(top, max(int(r) for _, r in pairs))
        elif not widest:
            return True  # no cell in this piece
        else:
            top = 10**digits - 1
        self.exact = False  # cells holding only a style count here, not in the reader
        self.widest = widest
        self.columns = max(self.columns, _col_index(widest) + 1)
        self.rows = max(self.rows, top)
        return True

    def _tokens(self, body: bytes) -> None:
        for name, attrs, slash in _TOKEN.findall(body):
            ref = _REF.search(attrs)
            if name == b"row":
                self.row = int(ref.group(2)) if ref and ref.group(2) else self.row + 1
                self.column = 0
                continue
            if ref and ref.group(1):
                self.column = _col_index(ref.group(1)) + 1
                if ref.group(2):
                    self.row = int(ref.group(2))
            else:
                self.column += 1
            if not slash:  # a cell with only a style, <c r="X9" s="1"/>, is not laid out
                self.rows = max(self.rows, self.row)
                self.columns = max(self.columns, self.column)


def _guards(prefix: bytes) -> list[re.Pattern[bytes]]:
    """Searches that find a row tag not written ``<row r="…``, the first thing in it, or a
    row or cell with another namespace prefix (elements named row… are passed over)."""
    p = re.escape(b"<" + prefix)
    out = [re.compile(p + rb'row(?! r="|Breaks)')]  # cells: in the search for the widest
    if prefix:  # a cell with no prefix, or another one
        out.append(re.compile(rb"<(?:c|row)[\s>/]"))
        out.append(re.compile(rb"(?<!" + p + rb"):(?:c|row)[\s>/]"))
    else:
        out.append(re.compile(rb":(?:c|row)[\s>/]"))
    return out


def _letters_after(letters: bytes) -> bytes:
    """A pattern for the column letters past ``letters``: B → [C-Z]|[A-Z]{2,}."""
    n = len(letters)
    alternatives = [rb"[A-Z]{%d,}" % (n + 1)]
    for i in range(n):
        if letters[i] == ord("Z"):
            continue
        after = bytes([letters[i] + 1])
        rest = n - i - 1
        alternatives.append(
            letters[:i] + b"[" + after + b"-Z]" + (b"[A-Z]{%d}" % rest if rest else b"")
        )
    return b"|".join(alternatives)


def _sheet_extent(path: Path, part: str, mode: str) -> _Extent:
    """A sheet's extent read on its own: a part the workbook scan did not take for a
    sheet (``bound``), or more closely when the quick bound is over a limit: the rows of
    every cell (``refs``), or tag by tag (``tokens``)."""
    sheet = _SheetScan(mode)
    got = 0
    try:
        with zipfile.ZipFile(path) as zf, path.open("rb") as fh:
            for piece in _inflated(fh, zf, zf.getinfo(part)):
                got += len(piece)
                sheet.feed(piece, path, part)
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise _not_a_workbook(path) from exc
    return sheet.finish(got)


def check_extent(path: Path, sheet: str, limits: Limits) -> None:
    """Refuse an .xlsx sheet whose cells reach past the limits, before it is loaded.

    The extent is the grid from A1 to the last row and column holding a cell, read from
    the sheet's XML (its ``<dimension>`` may say anything, so the cells are counted).
    """
    if not zipfile.is_zipfile(path):
        return  # the workbook reader says what is wrong with it
    scan = _scan_workbook(path, limits)
    try:
        with zipfile.ZipFile(path) as zf:
            part = _sheet_part(zf, sheet)
    except (KeyError, OSError, zipfile.BadZipFile):
        part = None
    if part is not None and part not in scan.extents:  # a sheet kept outside worksheets/
        scan.extents[part] = _sheet_extent(path, part, "bound")
    parts = [part] if part is not None else list(scan.extents)
    for name in parts:
        extent = scan.extents[name]
        for mode in ("refs", "tokens"):
            if _over(extent, limits) and not extent.exact:
                extent = scan.extents[name] = _sheet_extent(path, name, mode)
        if _over(extent, limits):
            raise _extent_error(path, sheet, extent, limits)


def _over(extent: _Extent, limits: Limits) -> bool:
    return (
        extent.rows > limits.max_rows
        or extent.columns > limits.max_columns
        or extent.rows * extent.columns > limits.max_cells
    )


def _extent_error(path: Path, sheet: str, extent: _Extent, limits: Limits) -> InputError:
    rows, cols = extent.rows, extent.columns
    if cols > limits.max_columns:
        over, flag = f"over the limit of {limits.max_columns:,} columns", "--max-columns"
    elif rows > limits.max_rows:
        over, flag = f"over the limit of {limits.max_rows:,} rows", "--max-rows"
    else:
        over, flag = f"over the limit of {limits.max_cells:,} cells", "--max-cells"
    return InputError.one(
        "limit-exceeded",
        f"the sheet's cells reach {column_letter(cols - 1)}{rows}: {rows:,} rows × "
        f"{cols:,} columns ({rows * cols:,} cells, from {extent.size:,} bytes of XML), "
        f"{over}. The workbook reader would lay out every one of them in memory.",
        file=path.name,
        sheet=sheet,
        note=f"Raise it with {flag} if the file is genuine.",
    )
