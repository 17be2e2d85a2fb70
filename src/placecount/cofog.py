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
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from pathlib import Path

from .errors import InputError, Issue
from .models import Line
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


def division_of(code: str) -> str:
    return code[:2]


def group_of(code: str) -> str | None:
    return code[:4] if len(code) >= 4 else None


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


@dataclass
class Allocation:
    """Part of a line's amount assigned to one COFOG code."""

    line_index: int
    cofog_code: str
    share: str
    amount_pence: int
    rule: str


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


def map_lines(
    lines: list[Line],
    mapping: Mapping | None,
    file_name: str,
    sheet: str | None,
    cofog_column: str | None = None,
) -> tuple[list[Allocation], list[Issue]]:
    """COFOG allocations for the kept lines; unmapped lines get none and an issue.

    With no mapping (the ``generic`` kind), each line's own ``cofog`` cell is used.
    """
    allocations: list[Allocation] = []
    issues: list[Issue] = []
    bad_codes: list[Issue] = []
    for i, line in enumerate(lines):
        if not line.included or line.amount_pence is None:
            continue
        if mapping is None:
            code = normalise_code(line.cofog or "")
            if code is None:
                bad_codes.append(
                    Issue(
                        code="unknown-cofog-code",
                        message=f"{line.cofog or ''!r} is not a COFOG code.",
                        file=file_name,
                        sheet=sheet,
                        row=line.row,
                        column=cofog_column,
                        value=line.cofog,
                        note="Use a code such as 07.3 or 10.2.",
                    )
                )
                continue
            allocations.append(Allocation(i, code, "1", line.amount_pence, "cofog column"))
            continue
        rows = mapping.lookup(line.native_code, line.native_label)
        if not rows:
            issues.append(
                Issue(
                    code="unmapped-line",
                    severity="warning",
                    message=f"{line.native_label or line.native_code!r} has no COFOG mapping: "
                    "kept and counted as unmapped.",
                    file=file_name,
                    sheet=sheet,
                    row=line.row,
                    note="Add it to a mapping file and ingest again with --mapping FILE --replace.",
                )
            )
            continue
        marked = next((r.transfer_to for r in rows if r.transfer_to), None)
        if marked and line.transfer_to is None:
            line.transfer_to, line.transfer_basis = (
                marked,
                f"{mapping.name}.csv line {rows[0].line}",
            )
        parts = split_pence(line.amount_pence, [r.share for r in rows])
        for r, part in zip(rows, parts, strict=True):
            allocations.append(
                Allocation(i, r.cofog_code, r.share_text, part, f"{mapping.name}.csv line {r.line}")
            )
    if bad_codes:
        raise InputError(issues=bad_codes[:20])
    return allocations, issues
