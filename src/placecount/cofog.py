"""COFOG: the classification, and native lines mapped to it.

The classification (UN COFOG 1999: 10 divisions, 69 groups, 109 classes) is read
from ``data/cofog/cofog.csv``. Each native classification maps to COFOG through
``data/cofog/mappings/<name>.csv`` (``native_code,native_label,cofog_code,share,note``):
one native line may split across codes with shares adding to 1. A user's own
mapping file overrides the defaults line by line. A line nothing maps is kept and
reported as unmapped, never dropped.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from .errors import InputError, Issue, shorten
from .resources import resource_path
from .sources._cells import normalise

MAPPING_COLUMNS = ["native_code", "native_label", "cofog_code", "share", "note"]
#: An optional column: the body a native line's money is handed to (a transfer).
TRANSFER_COLUMN = "transfer_to"


@dataclass(frozen=True)
class Category:
    """One COFOG code: a division (level 1), group (2) or class (3)."""

    code: str
    level: int
    name: str
    parent: str | None


@cache
def classification() -> dict[str, Category]:
    """Every COFOG code, in the order of the classification.

    >>> classification()["07.3"].name
    'Hospital services'
    """
    out: dict[str, Category] = {}
    with resource_path("data", "cofog", "cofog.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["code"]] = Category(
                row["code"], int(row["level"]), row["name"], row["parent"] or None
            )
    return out


_DOTTED = re.compile(r"^\s*(\d{1,2})(?:\.(\d{1,2}))?(?:\.(\d{1,2}))?\s*$")
_EUROSTAT = re.compile(r"^\s*GF(\d\d)(\d\d)?\s*$", re.IGNORECASE)


def normalise_code(text: str) -> str | None:
    """A COFOG code as the classification spells it: '7.3' → '07.3', 'GF0703' → '07.3'.

    Returns None when the text is not a code that exists.
    """
    raw = str(text).strip()
    if raw in classification():
        return raw
    m = _DOTTED.match(raw) or _EUROSTAT.match(raw)
    if not m:
        return None
    groups = [g for g in m.groups() if g is not None]
    code = f"{int(groups[0]):02d}" + "".join(f".{int(g)}" for g in groups[1:])
    return code if code in classification() else None


@dataclass(frozen=True)
class MappingRow:
    native_code: str | None
    native_label: str
    cofog_code: str
    share: Fraction
    share_text: str
    note: str
    line: int
    transfer_to: str | None = None


@dataclass
class Mapping:
    """A native classification's mapping table, indexed for lookup."""

    name: str
    sha256: str
    rows: list[MappingRow]
    by_pair: dict[tuple[str, str], list[MappingRow]] = field(default_factory=dict)
    by_label: dict[str, list[MappingRow]] = field(default_factory=dict)
    by_code: dict[str, list[MappingRow]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spelling: dict[tuple[str, str], str] = {}
        for row in self.rows:
            code = normalise(row.native_code) if row.native_code else ""
            label = normalise(row.native_label)
            # Two spellings of one line ("Doctors, nurses" / "Doctors/nurses") are aliases:
            # the first spelling's rows are the line's rows.
            if spelling.setdefault((code, label), row.native_label) != row.native_label:
                continue
            self.by_pair.setdefault((code, label), []).append(row)
        for (code, label), rows in self.by_pair.items():
            if label:
                self.by_label.setdefault(label, rows)
            if code:
                self.by_code.setdefault(code, rows)

    def lookup(self, code: str | None, label: str | None) -> list[MappingRow] | None:
        """The rows for a native line: code and label together, else label, else code."""
        c = normalise(code) if code else ""
        lab = normalise(label) if label else ""
        return (
            self.by_pair.get((c, lab))
            or (self.by_label.get(lab) if lab else None)
            or (self.by_code.get(c) if c else None)
        )

    def override(self, other: Mapping) -> Mapping:
        """This mapping with every native line that ``other`` names replaced by its rows."""
        keys = set(other.by_pair)
        labels = {lab for (_, lab) in keys if lab}
        kept = [
            r
            for r in self.rows
            if (normalise(r.native_code or ""), normalise(r.native_label)) not in keys
            and normalise(r.native_label) not in labels
        ]
        return Mapping(
            f"{self.name}+{other.name}", f"{self.sha256}+{other.sha256}", other.rows + kept
        )


def read_mapping(path: Path, name: str | None = None) -> Mapping:
    """Read and check a mapping CSV: columns, codes, and shares adding to exactly 1."""

    def bad(message: str, line: int | None = None, column: str | None = None) -> InputError:
        return InputError.one(
            "bad-mapping",
            message,
            file=path.name,
            row=line,
            header=column,
            note="Each native line's rows need cofog_code codes that exist "
            "and shares that add up to 1.",
        )

    if not path.exists():
        raise InputError.one("file-not-found", "the mapping file does not exist.", file=path.name)
    raw = path.read_bytes()
    from .sources._grid import decode_text

    text, _ = decode_text(raw)
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in ("native_label", "cofog_code") if c not in (reader.fieldnames or [])]
    if missing:
        raise bad(
            f"missing column(s) {', '.join(missing)}; expected {','.join(MAPPING_COLUMNS)}.", 1
        )
    rows: list[MappingRow] = []
    # shares must add to 1 for each native line as spelled in the file
    totals: dict[tuple[str, str], tuple[Fraction, int]] = {}
    for i, rec in enumerate(reader, start=2):
        label = (rec.get("native_label") or "").strip()
        ncode = (rec.get("native_code") or "").strip() or None
        if not label and not ncode:
            continue
        code = normalise_code(rec.get("cofog_code") or "")
        if code is None:
            raise bad(f"{rec.get('cofog_code')!r} is not a COFOG code.", i, "cofog_code")
        share_text = (rec.get("share") or "1").strip() or "1"
        try:
            share = Fraction(Decimal(share_text))
        except (InvalidOperation, ValueError):
            raise bad(f"share {share_text!r} is not a number.", i, "share") from None
        if not 0 < share <= 1:
            raise bad(f"share {share_text} is outside 0–1.", i, "share")
        rows.append(
            MappingRow(
                ncode,
                label,
                code,
                share,
                share_text,
                (rec.get("note") or "").strip(),
                i,
                (rec.get(TRANSFER_COLUMN) or "").strip() or None,
            )
        )
        key = (normalise(ncode or ""), label)
        total, first = totals.get(key, (Fraction(0), i))
        totals[key] = (total + share, first)
    for (_, label), (total, first) in totals.items():
        if total != 1:
            raise bad(
                f"the shares for {label!r} add up to {float(total):g}, not 1.", first, "share"
            )
    return Mapping(name or path.stem, hashlib.sha256(raw).hexdigest(), rows)


@cache
def load_mapping(name: str) -> Mapping:
    """A bundled mapping table, e.g. ``load_mapping("council")``."""
    return read_mapping(resource_path("data", "cofog", "mappings", f"{name}.csv"), name)


def split_pence(pence: int, shares: list[Fraction]) -> list[int]:
    """Split pence by shares so the parts add up exactly (largest remainder).

    >>> split_pence(100, [Fraction(1, 3)] * 3)
    [34, 33, 33]
    """
    sign = -1 if pence < 0 else 1
    whole = abs(pence)
    raw = [whole * s for s in shares]
    parts = [int(r) for r in raw]
    rest = whole - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[:rest]:
        parts[i] += 1
    return [sign * p for p in parts]


ALLOCATION_COLUMNS = ["line_index", "cofog_code", "share", "amount_pence", "rule"]


def map_lines(
    table: Any,
    mapping: Mapping | None,
    file_name: str,
    sheet: str | None,
    cofog_column: str | None = None,
) -> tuple[Any, Any, list[Issue]]:
    """COFOG allocations for the kept lines of a line table; unmapped lines get none.

    Returns the line table (with transfers marked by the mapping), the allocations
    (``line_index`` into the table, ``cofog_code``, ``share``, ``amount_pence``,
    ``rule``) and the issues. With no mapping (the ``generic`` kind), each line's own
    ``cofog`` cell is used. Each distinct native line is looked up once; lines that map
    whole to one code are allocated as Arrow columns, and only split lines, transfers
    named by the mapping and unmapped lines are looked at one by one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from .sources._table import arange, per_unique

    kept = pc.and_(table.column("included"), pc.is_valid(table.column("amount_pence")))
    index = arange(0, table.num_rows, pa.int64())
    if mapping is None:
        codes = per_unique(table.column("cofog"), lambda v: normalise_code(v) or "", pa.string())
        bad = pc.and_(kept, pc.fill_null(pc.equal(codes, ""), True))
        bad_codes = [
            Issue(
                code="unknown-cofog-code",
                message=f"{table.column('cofog')[i].as_py() or ''!r} is not a COFOG code.",
                file=file_name,
                sheet=sheet,
                row=table.column("row")[i].as_py(),
                column=cofog_column,
                value=table.column("cofog")[i].as_py(),
                note="Use a code such as 07.3 or 10.2.",
            )
            for i in pc.indices_nonzero(bad).to_pylist()[:20]
        ]
        if bad_codes:
            raise InputError(issues=bad_codes)
        n = int(pc.sum(kept.cast(pa.int64())).as_py() or 0)
        allocations = pa.table(
            {
                "line_index": pc.filter(index, kept),
                "cofog_code": pc.filter(codes, kept),
                "share": pa.repeat(pa.scalar("1"), n),
                "amount_pence": pc.filter(table.column("amount_pence"), kept),
                "rule": pa.repeat(pa.scalar("cofog column"), n),
            }
        )
        return _with_mapped(table, kept), allocations, []

    found: list[list[MappingRow] | None] = []

    def lookup(key: str) -> int:
        code, label = key.split("\x01", 1)
        found.append(mapping.lookup(code or None, label or None))
        return len(found) - 1

    keys = pc.binary_join_element_wise(
        pc.fill_null(table.column("native_code"), ""),
        pc.fill_null(table.column("native_label"), ""),
        "\x01",
    )
    ids = per_unique(keys, lookup, pa.int64())

    def per_id(fn: Callable[[MappingRow], str]) -> Any:
        return pc.take(
            pa.array([fn(r[0]) if r and len(r) == 1 else None for r in found], pa.string()), ids
        )

    codes = per_id(lambda r: r.cofog_code)
    whole = pc.and_(kept, pc.is_valid(codes))
    whole_table = pa.table(
        {
            "line_index": pc.filter(index, whole),
            "cofog_code": pc.filter(codes, whole),
            "share": pc.filter(per_id(lambda r: r.share_text), whole),
            "amount_pence": pc.filter(table.column("amount_pence"), whole),
            "rule": pc.filter(per_id(lambda r: f"{mapping.name}.csv line {r.line}"), whole),
        }
    )
    special_ids = sorted(
        i for i, r in enumerate(found) if not r or len(r) > 1 or any(x.transfer_to for x in r)
    )
    has_rows = pc.take(pa.array([bool(r) for r in found], pa.bool_()), ids)
    todo = pc.indices_nonzero(
        pc.and_(kept, pc.is_in(ids, value_set=pa.array(special_ids, pa.int64())))
    ).to_pylist()
    out: dict[str, list[Any]] = {c: [] for c in ALLOCATION_COLUMNS}
    unmapped: dict[int, list[int]] = {}
    transfer_to = table.column("transfer_to").to_pylist() if todo else []
    basis = table.column("transfer_basis").to_pylist() if todo else []
    marked = False
    todo_ids = pc.take(ids, todo).to_pylist() if todo else []
    todo_pence = pc.take(table.column("amount_pence"), todo).to_pylist() if todo else []
    for i, rid, pence in zip(todo, todo_ids, todo_pence, strict=True):
        rows = found[rid]
        if not rows:
            unmapped.setdefault(rid, []).append(i)
            continue
        target = next((r.transfer_to for r in rows if r.transfer_to), None)
        if target and transfer_to[i] is None:
            transfer_to[i], basis[i] = target, f"{mapping.name}.csv line {rows[0].line}"
            marked = True
        if len(rows) > 1:
            for r, part in zip(rows, split_pence(pence, [r.share for r in rows]), strict=True):
                out["line_index"].append(i)
                out["cofog_code"].append(r.cofog_code)
                out["share"].append(r.share_text)
                out["amount_pence"].append(part)
                out["rule"].append(f"{mapping.name}.csv line {r.line}")
    issues: list[Issue] = []
    for lines in unmapped.values():
        first = lines[0]
        what = (
            table.column("native_label")[first].as_py()
            or table.column("native_code")[first].as_py()
        )
        more = f" ({len(lines)} lines)" if len(lines) > 1 else ""
        issues.append(
            Issue(
                code="unmapped-line",
                severity="warning",
                message=f"{shorten(what)!r}{more} has no COFOG mapping: kept and counted as "
                "unmapped.",
                file=file_name,
                sheet=sheet,
                row=table.column("row")[first].as_py(),
                note="Add it to a mapping file and ingest again with --mapping FILE --replace.",
            )
        )
    if marked:
        for name, values in (("transfer_to", transfer_to), ("transfer_basis", basis)):
            table = table.set_column(
                table.schema.get_field_index(name), name, pa.array(values, pa.string())
            )
    allocations = pa.concat_tables([whole_table, _allocation_table(out)]).sort_by(
        [("line_index", "ascending"), ("cofog_code", "ascending")]
    )
    return _with_mapped(table, pc.and_(kept, has_rows)), allocations, issues


def _with_mapped(table: Any, mapped: Any) -> Any:
    """The line table with its ``mapped`` column set: the kept lines that got a COFOG code."""
    return table.set_column(table.schema.get_field_index("mapped"), "mapped", mapped)


def _allocation_table(data: dict[str, list[Any]]) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "line_index": pa.array(data["line_index"], pa.int64()),
            "cofog_code": pa.array(data["cofog_code"], pa.string()),
            "share": pa.array(data["share"], pa.string()),
            "amount_pence": pa.array(data["amount_pence"], pa.int64()),
            "rule": pa.array(data["rule"], pa.string()),
        }
    )
