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
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from .errors import InputError, Issue, shorten
from .resources import resource_path
from .sources._cells import normalise, plain_decimal

MAPPING_COLUMNS = [
    "native_code",
    "native_label",
    "parent",
    "cofog_code",
    "share",
    "treatment",
    "note",
    "source",
]
#: The columns a mapping file must have; the others may be left out.
REQUIRED_COLUMNS = ["native_label", "cofog_code"]
#: An optional column: the body a native line's money is handed to (a transfer).
TRANSFER_COLUMN = "transfer_to"
#: Where a transfer row with no code of its own puts a line it keeps: UN COFOG 01.8,
#: transfers of a general character between different levels of government.
TRANSFER_CODE = "01.8"
#: What a row can say instead of a COFOG code: the line is not a place's spending.
#: Such lines are left out of the count with the row's reason, shown, never "not mapped".
TREATMENTS = {
    "outside": "outside a place count",
    "not-spending": "not spending",
    "transfer": "a transfer to another body, counted where it is spent",
}


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
    """One row of a mapping table: a native line (or part of one) and where it goes."""

    native_code: str | None
    native_label: str
    cofog_code: str | None
    share: Fraction
    share_text: str
    note: str
    line: int
    transfer_to: str | None = None
    parent: str | None = None
    treatment: str | None = None
    source: str = ""
    table: str = ""

    @property
    def where(self) -> str:
        """The row as an auditor finds it: 'pesa.csv line 12'."""
        return f"{self.table} line {self.line}"


_LEADING_NUMBER = re.compile(r"^\s*\d{1,2}(?:\.[0-9A-Za-z]{1,2})?\.?\s+")


def parent_key(text: str | None) -> str:
    """A parent heading as compared: its number dropped, then normalised.

    >>> parent_key("4. of which: transport") == parent_key("of which: transport")
    True
    """
    return normalise(_LEADING_NUMBER.sub("", text or ""))


#: How a line found its rows, most specific first: the name stored with the allocation.
MATCH_STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("code, label and parent", ("code", "label", "parent")),
    ("code and label", ("code", "label")),
    ("code", ("code",)),
    ("label under its parent", ("label", "parent")),
    ("label", ("label",)),
]


@dataclass
class Mapping:
    """A native classification's mapping table, indexed for lookup.

    A line is looked up by the most specific key its rows allow: its own code with its
    label (and parent), its code, its label under its parent (client group, function or
    table), then its label. A key that several rows share is used only when they agree:
    a label such as "LA data" that maps to another division under each function is
    matched under its parent or not at all, never to whichever row comes first.
    A table made by :meth:`override` looks in the user's rows before the defaults.
    """

    name: str
    sha256: str
    rows: list[MappingRow]
    layers: list[Mapping] = field(default_factory=list)
    #: the (table, line) of every row a lookup has returned, for unused-row warnings
    used: set[tuple[str, int]] = field(default_factory=set)
    entries: dict[tuple[str, str, str], list[MappingRow]] = field(default_factory=dict)
    index: dict[tuple[str, ...], list[tuple[str, str, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spelling: dict[tuple[str, str, str], tuple[str, str]] = {}
        for row in self.rows:
            key = (
                normalise(row.native_code) if row.native_code else "",
                normalise(row.native_label),
                parent_key(row.parent),
            )
            # Two spellings of one line ("Doctors, nurses" / "Doctors/nurses") are aliases:
            # the first spelling's rows are the line's rows.
            spelt = (row.table, row.native_label)
            if spelling.setdefault(key, spelt) != spelt:
                continue
            self.entries.setdefault(key, []).append(row)
        for key in self.entries:
            fields = {"code": key[0], "label": key[1], "parent": key[2]}
            for stage, names in MATCH_STAGES:
                if all(fields[n] for n in names):
                    self.index.setdefault((stage, *(fields[n] for n in names)), []).append(key)

    def find(
        self, code: str | None, label: str | None, parent: str | None = None
    ) -> tuple[list[MappingRow], str] | None:
        """The rows for a native line and how they were found (the stage's name)."""
        for layer in self.layers:
            hit = layer.find(code, label, parent)
            if hit:
                return hit
        fields = {
            "code": normalise(code) if code else "",
            "label": normalise(label) if label else "",
            "parent": parent_key(parent),
        }
        for stage, names in MATCH_STAGES:
            if not all(fields[n] for n in names):
                continue
            keys = self.index.get((stage, *(fields[n] for n in names)))
            if not keys:
                continue
            if stage == "label":
                # a row written for the label alone speaks for it
                plain = [k for k in keys if not k[0] and not k[2]]
                keys = plain or keys
            found = [self.entries[k] for k in keys]
            if len({_signature(rows) for rows in found}) == 1:
                return found[0], stage
            if stage == "code":
                # a code whose lines go to several classes of one group ("4.5 of which:
                # local roads", "4.5 of which: railway") supports, alone, the group: the
                # code's own row, if it has one at that level
                broad = _common_row(found)
                if broad is not None:
                    return broad, stage
        return None

    def lookup(
        self, code: str | None, label: str | None, parent: str | None = None
    ) -> list[MappingRow] | None:
        """The rows for a native line, or None when no row (or no agreeing rows) match."""
        hit = self.find(code, label, parent)
        return hit[0] if hit else None

    def override(self, other: Mapping) -> Mapping:
        """This mapping with ``other``'s rows looked at first: a user's file over the defaults."""
        return Mapping(
            f"{self.name}+{other.name}",
            f"{self.sha256}+{other.sha256}",
            other.rows + self.rows,
            layers=[other, Mapping(self.name, self.sha256, self.rows)],
        )

    def unused(self) -> list[MappingRow]:
        """The user's rows (of an overriding table) that no line has matched."""
        if not self.layers:
            return []
        return [r for r in self.layers[0].rows if (r.table, r.line) not in self.used]


def _common_row(found: list[list[MappingRow]]) -> list[MappingRow] | None:
    """Of several lines' rows, the one whose code is the code they all fall under."""
    if any(len(rows) != 1 or rows[0].treatment for rows in found):
        return None
    codes = [rows[0].cofog_code or "" for rows in found]
    shortest = min(codes, key=len)
    if not all(c == shortest or c.startswith(shortest + ".") for c in codes):
        return None
    return next(rows for rows in found if rows[0].cofog_code == shortest)


def _signature(rows: list[MappingRow]) -> tuple[tuple[str, str, str], ...]:
    """What a native line's rows do with its money, to tell agreeing rows from others."""
    return tuple(sorted((r.cofog_code or "", r.share_text, r.treatment or "") for r in rows))


def read_mapping(path: Path, name: str | None = None) -> Mapping:
    """Read and check a mapping CSV: columns, codes or treatments, shares adding to 1."""

    def bad(message: str, line: int | None = None, column: str | None = None) -> InputError:
        return InputError.one(
            "bad-mapping",
            message,
            file=path.name,
            row=line,
            header=column,
            note="Each native line's rows need cofog_code codes that exist (or a treatment: "
            + ", ".join(TREATMENTS)
            + ") and shares that add up to 1.",
        )

    from .paths import read_regular

    raw = read_regular(path, "mapping file")  # a pipe or /dev/zero is refused, not read
    from .sources._grid import decode_text

    text, _ = decode_text(raw)
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise bad(
            f"missing column(s) {', '.join(missing)}; expected {','.join(MAPPING_COLUMNS)}.", 1
        )
    rows: list[MappingRow] = []
    # shares must add to 1 for each native line as spelled in the file
    totals: dict[tuple[str, str, str], tuple[Fraction, int]] = {}
    for i, rec in enumerate(reader, start=2):
        label = (rec.get("native_label") or "").strip()
        ncode = (rec.get("native_code") or "").strip() or None
        if not label and not ncode:
            continue
        treatment = (rec.get("treatment") or "").strip().lower() or None
        if treatment is not None and treatment not in TREATMENTS:
            raise bad(
                f"treatment {treatment!r} is not one of " + ", ".join(TREATMENTS) + ".",
                i,
                "treatment",
            )
        code_text = (rec.get("cofog_code") or "").strip()
        if not code_text and treatment is None:
            # a row not filled in yet (as `unmapped --suggest` writes them): no decision
            continue
        code = normalise_code(code_text) if code_text else None
        if code is None and code_text:
            raise bad(f"{rec.get('cofog_code')!r} is not a COFOG code.", i, "cofog_code")
        share_text = (rec.get("share") or "1").strip() or "1"
        try:
            share = Fraction(plain_decimal(share_text))
        except ValueError as why:
            raise bad(f"share {shorten(share_text)!r} {why}.", i, "share") from None
        if not 0 < share <= 1:
            raise bad(f"share {share_text} is outside 0–1.", i, "share")
        parent = (rec.get("parent") or "").strip() or None
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
                parent,
                treatment,
                (rec.get("source") or "").strip(),
                path.name,
            )
        )
        key = (normalise(ncode or ""), label, parent_key(parent))
        total, first = totals.get(key, (Fraction(0), i))
        totals[key] = (total + share, first)
    for (_, label, _), (total, first) in totals.items():
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
    stages: list[str] = []

    def lookup(key: str) -> int:
        code, label, parent = key.split("\x01", 2)
        hit = mapping.find(code or None, label or None, parent or None)
        found.append(hit[0] if hit else None)
        stages.append(hit[1] if hit else "")
        if hit:
            mapping.used.update((r.table, r.line) for r in hit[0])
        return len(found) - 1

    code_col, label_col = table.column("native_code"), table.column("native_label")
    table_col = table.column("table_name")
    if code_col.null_count == len(code_col) and table_col.null_count == len(table_col):
        # labels alone (a payments export): the same keys, without a joined text a row
        ids = per_unique(pc.fill_null(label_col, ""), lambda v: lookup(f"\x01{v}\x01"), pa.int64())
    else:
        keys = pc.binary_join_element_wise(
            pc.fill_null(code_col, ""),
            pc.fill_null(label_col, ""),
            pc.fill_null(table_col, ""),
            "\x01",
        )
        ids = per_unique(keys, lookup, pa.int64())

    def spread(values: list[Any], kind: Any, rows: Any = None) -> Any:
        """Values found once a distinct line, spread to each row (of ``rows``, a mask)."""
        per = pa.array(values, kind)
        which = ids if rows is None else pc.filter(ids, rows)
        if per.null_count == len(per):  # nothing to spread: no row takes a value
            return pa.nulls(len(which), kind)
        return pc.take(per, which)

    def rule(r: MappingRow, stage: str) -> str:
        return f"{r.where}, by {stage}"

    def per_id(fn: Callable[[MappingRow, str], str | None], rows: Any = None) -> Any:
        return spread(
            [
                fn(r[0], s) if r and len(r) == 1 and not r[0].treatment else None
                for r, s in zip(found, stages, strict=True)
            ],
            pa.string(),
            rows,
        )

    # A transfer row's line whose recipient is known (a recipient column, a schema rule
    # or the row's transfer_to) stays in the count: it is spending in the place until
    # the recipient's own accounts are counted, when the count eliminates it once.
    def transfer_row(r: list[MappingRow] | None) -> bool:
        return bool(r) and r is not None and r[0].treatment == "transfer"

    row_recipient = spread(
        [r[0].transfer_to if transfer_row(r) and r else None for r in found], pa.string()
    )
    is_transfer_row = spread([transfer_row(r) for r in found], pa.bool_())
    recipient_known = pc.or_(pc.is_valid(table.column("transfer_to")), pc.is_valid(row_recipient))
    kept_transfer = pc.and_(pc.and_(kept, is_transfer_row), recipient_known)
    # lines whose row says they are not a place's spending: left out, with the row's reason
    treated = spread(
        [
            f"{TREATMENTS[r[0].treatment]}: {_gist(r[0].note)} ({rule(r[0], s)})"
            if r and r[0].treatment
            else None
            for r, s in zip(found, stages, strict=True)
        ],
        pa.string(),
    )
    out_of_count = pc.and_(pc.and_(kept, pc.is_valid(treated)), pc.invert(kept_transfer))
    if pc.any(out_of_count).as_py():
        table = table.set_column(
            table.schema.get_field_index("included"),
            "included",
            pc.and_(table.column("included"), pc.invert(out_of_count)),
        )
        table = table.set_column(
            table.schema.get_field_index("reason"),
            "reason",
            pc.if_else(out_of_count, treated, table.column("reason")),
        )
        kept = pc.and_(kept, pc.invert(out_of_count))

    has_code = [
        bool(r)
        and r is not None
        and len(r) == 1
        and not r[0].treatment
        and r[0].cofog_code is not None
        for r in found
    ]
    whole = pc.and_(kept, spread(has_code, pa.bool_()))
    transfer_codes = [
        (r[0].cofog_code or TRANSFER_CODE) if transfer_row(r) and r else None for r in found
    ]
    transfer_rules = [
        f"{rule(r[0], s)}; a transfer: counted until its recipient is"
        if transfer_row(r) and r
        else None
        for r, s in zip(found, stages, strict=True)
    ]
    n_transfers = pc.sum(kept_transfer.cast(pa.int64())).as_py() or 0
    whole_table = pa.concat_tables(
        [
            pa.table(
                {
                    "line_index": pc.filter(index, whole),
                    "cofog_code": per_id(lambda r, s: r.cofog_code, whole),
                    "share": per_id(lambda r, s: r.share_text, whole),
                    "amount_pence": pc.filter(table.column("amount_pence"), whole),
                    "rule": per_id(rule, whole),
                }
            ),
            pa.table(
                {
                    "line_index": pc.filter(index, kept_transfer),
                    "cofog_code": spread(transfer_codes, pa.string(), kept_transfer),
                    "share": pa.repeat(pa.scalar("1"), n_transfers),
                    "amount_pence": pc.filter(table.column("amount_pence"), kept_transfer),
                    "rule": spread(transfer_rules, pa.string(), kept_transfer),
                }
            ),
        ]
    )
    special_ids = sorted(
        i
        for i, r in enumerate(found)
        if not r or (len(r) > 1 and not r[0].treatment) or any(x.transfer_to for x in r)
    )
    has_rows = spread([r is not None and not r[0].treatment for r in found], pa.bool_())
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
            transfer_to[i], basis[i] = target, rows[0].where
            marked = True
        if len(rows) > 1:
            for r, part in zip(rows, split_pence(pence, [r.share for r in rows]), strict=True):
                out["line_index"].append(i)
                out["cofog_code"].append(r.cofog_code)
                out["share"].append(r.share_text)
                out["amount_pence"].append(part)
                out["rule"].append(rule(r, stages[rid]))
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
                note="`placecount unmapped --suggest -o mapping.csv` writes a row for it to fill "
                "in; `report --mapping mapping.csv --what-if` shows the count with it.",
            )
        )
    if marked:
        for name, values in (("transfer_to", transfer_to), ("transfer_basis", basis)):
            table = table.set_column(
                table.schema.get_field_index(name), name, pa.array(values, pa.string())
            )
    allocations = whole_table
    if n_transfers or out["line_index"]:
        allocations = pa.concat_tables([whole_table, _allocation_table(out)]).sort_by(
            [("line_index", "ascending"), ("cofog_code", "ascending")]
        )
    # else: lines mapped whole, one allocation each, already in the order of their lines
    mapped = pc.or_(pc.and_(kept, has_rows), kept_transfer)
    return _with_mapped(table, mapped), allocations, issues


def _gist(note: str) -> str:
    """A row's note cut to its first clause, for a reason a report prints."""
    first = re.split(r"(?<=[a-z)])[.:;] ", note.strip(), maxsplit=1)[0].rstrip(".")
    return shorten(first, 80)


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
