"""The data placecount works with, as plain records.

How each source kind is read (:class:`KindSchema`, a pydantic model) is in
:mod:`placecount.kinds`, imported only by the commands that read files; its names are
also reachable here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # re-exported: see __getattr__ at the end
    from .kinds import KindSchema as KindSchema
    from .kinds import TransferRule as TransferRule
    from .kinds import load_kind_schema as load_kind_schema

KINDS = ("council", "nhs", "police", "pesa", "ndpb", "payments", "generic")
Kind = Literal["council", "nhs", "police", "pesa", "ndpb", "payments", "generic"]
ROLES = (
    "amount",
    "code",
    "label",
    "org",
    "year",
    "recipient",
    "cofog",
    "status",
    "sponsor",
    "connected",
    "region",
    "function",
    "subfunction",
    "part",
    "spend_type",
    "org_code",
    "org_class",
    "identifiable",
    "date",
    "supplier",
)

#: Line columns beyond the core ones, kept in ``Line.extra`` when lines are records.
EXTRA_COLUMNS = (
    "connected",
    "spend_type",
    "org_code",
    "org_class",
    "measure",
    "sector",
    "identifiable",
    "table_name",
    "paid_on",
)


@dataclass
class ReadOptions:
    """What the user said about a file: every field may be left to detection."""

    sheet: str | None = None
    org: str | None = None
    year: str | None = None
    units: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    share: Fraction | None = None
    share_text: str | None = None
    share_basis: str | None = None
    part: str | None = None
    project_year: str | None = None
    limits: Limits = field(default_factory=lambda: Limits())
    #: every --org given (and the names in --orgs FILE): rows to pick in a table of many bodies
    orgs: list[str] = field(default_factory=list)
    #: which measure to count where a line has several (gross, income, net): default net
    measure: str | None = None
    #: stop at a cell that is not an amount, instead of leaving its line out with the reason
    strict: bool = False
    #: the place's population (project file), for checking that amounts are plausible
    population: int | None = None
    #: the unit a notes or metadata sheet of the workbook states, and where
    notes_units: tuple[str, str] | None = None
    #: PESA: the populations given for the share, kept to prove a unit the file leaves unstated
    place_population: int | None = None
    region_population: int | None = None
    #: which of a workbook's several tables to count (ONS regional tables: a number or name)
    table: str | None = None


@dataclass(frozen=True)
class Limits:
    """How much placecount reads from one file before it stops with a clear message.

    They guard against a damaged or hostile file (a "zip bomb" workbook that inflates
    to gigabytes) exhausting the machine; each can be raised with an ingest option.
    """

    max_file_mb: int = 1024
    max_rows: int = 20_000_000
    max_columns: int = 1_000
    #: how far a workbook may inflate when unzipped, in MB: the largest real workbooks
    #: inflate to tens of MB, and 1 GB of XML is as much as a 4 GB laptop can parse
    max_unzipped_mb: int = 1024
    #: a workbook sheet's grid (rows × columns from A1 to its last cell with a value): the
    #: workbook reader lays every cell of it out in memory, some 32 bytes each, so 20 M
    #: cells take some 640 MB before a value is read
    max_cells: int = 20_000_000
    #: the longest cell, in characters (Excel holds at most 32,767 in a cell)
    max_cell_chars: int = 131_072


@dataclass
class Line:
    """One row of a source as read: kept in the count or left out with a reason."""

    row: int
    column: str | None
    native_code: str | None
    native_label: str | None
    amount_text: str | None
    amount_pence: int | None
    before_share_pence: int | None
    included: bool = True
    reason: str | None = None
    org: str | None = None
    year: str | None = None
    recipient: str | None = None
    status: str | None = None
    sponsor: str | None = None
    part: str | None = None
    cofog: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    transfer_to: str | None = None
    transfer_basis: str | None = None


#: The columns of a source's line table, in order, with their Arrow types (as text).
LINE_COLUMNS: list[tuple[str, str]] = [
    ("row", "int32"),
    ("column", "string"),
    ("native_code", "string"),
    ("native_label", "string"),
    ("amount_text", "string"),
    ("amount_pence", "int64"),
    ("before_share_pence", "int64"),
    ("included", "bool_"),
    ("reason", "string"),
    ("org", "string"),
    ("year", "string"),
    ("recipient", "string"),
    ("status", "string"),
    ("sponsor", "string"),
    ("part", "string"),
    ("cofog", "string"),
    ("connected", "string"),
    ("spend_type", "string"),
    ("org_code", "string"),
    ("org_class", "string"),
    ("measure", "string"),
    ("sector", "string"),
    ("identifiable", "string"),
    ("table_name", "string"),
    ("paid_on", "string"),
    ("transfer_to", "string"),
    ("transfer_basis", "string"),
    ("mapped", "bool_"),
]


def line_schema() -> Any:
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in LINE_COLUMNS])


def lines_to_table(lines: list[Line]) -> Any:
    """Line records (small tables, such as PESA's) as a line table."""
    import pyarrow as pa

    data: dict[str, list[Any]] = {name: [] for name, _ in LINE_COLUMNS}
    for ln in lines:
        for name, _ in LINE_COLUMNS:
            if name in EXTRA_COLUMNS:
                data[name].append(ln.extra.get(name))
            elif name == "mapped":
                data[name].append(False)
            else:
                data[name].append(getattr(ln, name))
    return pa.table(data, schema=line_schema())


@dataclass
class SourceRead:
    """What a reader found in one file's sheet, before anything is written.

    ``table`` holds one row per row read (see LINE_COLUMNS): kept in the count or
    left out with a reason.
    """

    kind: str
    file_name: str
    sheet: str | None
    header_row: int
    units: str
    units_from: str
    org: str | None
    year: str | None
    table: Any
    region: str | None = None
    part: str | None = None
    share: str | None = None
    share_basis: str | None = None
    encoding: str | None = None
    #: the file's SHA-256 and size, filled in by the ingest (a reader sees only the grid)
    file_sha256: str = ""
    file_size: int = 0
    #: the column letter of each role found in the header, e.g. {"amount": "C"}
    columns: dict[str, str] = field(default_factory=dict)
    #: where the file states its financial year (a reader that finds it says where)
    year_from: str | None = None
    #: the header text of each role's column, e.g. {"amount": "Net expenditure (£000)"}
    headers: dict[str, str] = field(default_factory=dict)
    #: in a table of many bodies (one a row), the bodies read: the other rows of the same
    #: sheet are other bodies, which may be ingested as sources of their own
    bodies: list[str] = field(default_factory=list)
    #: each row labelled like a total, and whether the lines it heads add up to it (the
    #: control-total check): row, label, printed, sum (£ as text), lines, heads, matched
    total_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kept_count(self) -> int:
        import pyarrow.compute as pc

        return int(pc.sum(self.table.column("included").cast("int64")).as_py() or 0)

    @property
    def left_out_count(self) -> int:
        return int(self.table.num_rows) - self.kept_count

    @property
    def total_pence(self) -> int:
        import pyarrow.compute as pc

        kept = pc.filter(self.table.column("amount_pence"), self.table.column("included"))
        return exact_sum(kept)

    def left_out_summary(self) -> list[dict[str, Any]]:
        """The rows left out: row, label, what the amount cell said, and why."""
        import pyarrow.compute as pc

        out = self.table.filter(pc.invert(self.table.column("included")))
        cols = out.select(["row", "column", "native_label", "native_code", "amount_text", "reason"])
        return [
            {
                "row": r["row"],
                "column": r["column"],
                "label": r["native_label"] or r["native_code"],
                "reason": r["reason"],
                "amount": r["amount_text"],
            }
            for r in cols.to_pylist()
        ]

    def tables_summary(self) -> list[dict[str, Any]]:
        """The tables found on the sheet (stacked tables, ONS tables): lines kept in each."""
        import pyarrow.compute as pc

        names = self.table.column("table_name")
        if names.null_count == len(names):
            return []
        out = []
        for name in pc.unique(pc.drop_null(names)).to_pylist():
            rows = self.table.filter(pc.equal(names, name))
            out.append(
                {
                    "table": name,
                    "lines_kept": int(pc.sum(rows.column("included").cast("int64")).as_py() or 0),
                    "lines_left_out": int(
                        pc.sum(pc.invert(rows.column("included")).cast("int64")).as_py() or 0
                    ),
                }
            )
        return out

    @property
    def lines(self) -> list[Line]:
        """Every row read, as records (convenient for small tables and for tests)."""
        out = []
        for r in self.table.to_pylist():
            extra = {k: r.pop(k) for k in EXTRA_COLUMNS if r.get(k) is not None}
            for k in EXTRA_COLUMNS:
                r.pop(k, None)
            r.pop("mapped", None)
            out.append(Line(**r, extra=extra))
        return out

    @property
    def kept(self) -> list[Line]:
        return [ln for ln in self.lines if ln.included]

    @property
    def left_out(self) -> list[Line]:
        return [ln for ln in self.lines if not ln.included]


def exact_sum(pence: Any) -> int:
    """The sum of an Arrow column of pence, exactly: Arrow's own sum of int64 wraps past
    its range (95,000 lines of £999,999,999,999 do), so it is summed as DECIMAL(38, 0)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = pc.sum(pc.cast(pence, pa.decimal128(38, 0))).as_py()
    return int(total or 0)


def pence_to_pounds(pence: int) -> Decimal:
    """Integer pence as exact pounds: 123456 → Decimal('1234.56')."""
    return (Decimal(pence) / 100).quantize(Decimal("0.01"))


def __getattr__(name: str) -> Any:
    """The reading rules' names, from :mod:`placecount.kinds` when first asked for: a
    command on the store alone (``sources``, ``unmapped``) never imports pydantic."""
    if name in {"KindSchema", "TransferRule", "load_kind_schema"}:
        from . import kinds

        return getattr(kinds, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
