"""Payment lists: a body's payments to suppliers, one row a payment.

Councils publish their payments over £500 each month, ICBs theirs over £25,000: a date,
a supplier, an amount and often an expense type or service. They are partial (small
payments, salaries and grants are left out), so a payment list is a deep-dive source:
kept out of the count unless ``ingest --count`` puts it in, and always there to trace.

- The supplier is the line's ``native_label`` (what ``trace`` shows); an expense type or
  service is its ``native_code``, mapped with ``data/cofog/mappings/payments.csv`` (the
  council service lines). A payment with neither is kept, unmapped.
- The payment date is stored as ISO in ``paid_on``, and its financial year in ``year``.
  Only the payments in the financial year (``--year``, else the project's) are kept; the
  others are left out with that reason and counted in one issue.
- Amounts are in pounds only on evidence: the file's own statement, else amounts that
  carry pence (a £000 file does not), checked by :func:`~._units.prove_units` against
  the place's population when it is known.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from decimal import Decimal
from typing import Any

from ..errors import InputError, Issue, column_letter
from ..models import KindSchema, ReadOptions, SourceRead
from ._cells import detect_units
from ._grid import Grid
from ._table import find_header, per_unique, read_long_table
from ._units import prove_units

ROLES = ["amount", "date", "supplier", "code", "org", "year"]

#: ``part`` of a payment source (and its lines): whether ``ingest --count`` put it in.
NOT_COUNTED = "partial, not counted"
COUNTED = "partial, counted"

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_D_MON_Y = re.compile(r"^(\d{1,2})[ \-]([A-Za-z]{3,9})[ \-,]*(\d{2}|\d{4})$")
_SERIAL = re.compile(r"^\d{4,5}(?:\.\d+)?$")
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}


def parse_date(text: str | None) -> _dt.date | None:
    """A payment date as written: ISO (as workbooks give it), UK day first, or an Excel
    serial number.

    >>> parse_date("2023-11-22 00:00:00"), parse_date("22/11/2023"), parse_date("45252")
    (datetime.date(2023, 11, 22), datetime.date(2023, 11, 22), datetime.date(2023, 11, 22))
    >>> parse_date("22-Nov-23")
    datetime.date(2023, 11, 22)
    """
    if text is None:
        return None
    s = text.strip()
    try:
        if m := _ISO.match(s):
            return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _DMY.match(s):
            year = int(m.group(3))
            return _dt.date(year + 2000 if year < 100 else year, int(m.group(2)), int(m.group(1)))
        if m := _D_MON_Y.match(s):
            month = _MONTHS.get(m.group(2).lower())
            year = int(m.group(3))
            if month is None:
                return None
            return _dt.date(year + 2000 if year < 100 else year, month, int(m.group(1)))
        if _SERIAL.match(s):
            # Excel's day 1 is 1900-01-01, counted as if 1900 were a leap year
            days = int(float(s))
            if 20_000 <= days <= 80_000:  # 1954 to 2119
                return _dt.date(1899, 12, 30) + _dt.timedelta(days=days)
    except ValueError:
        return None
    return None


def financial_year_of(day: _dt.date) -> str:
    """The UK financial year (1 April to 31 March) a date falls in.

    >>> financial_year_of(_dt.date(2024, 3, 31)), financial_year_of(_dt.date(2024, 4, 1))
    ('2023-24', '2024-25')
    """
    first = day.year if day.month >= 4 else day.year - 1
    return f"{first}-{(first + 1) % 100:02d}"


def read(
    grid: Grid, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> SourceRead | None:
    """Read a payment list, or return None when the sheet has no date and amount columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def accept(found: dict[str, int]) -> bool:
        return "amount" in found and "date" in found

    header = find_header(grid, schema, options, ROLES, accept)
    if header is None:
        return None
    amount_col = header.roles["amount"]
    stated = None if options.units else _stated_units(header.texts[amount_col], header.title)
    units = options.units or (stated[0] if stated else "pounds")
    # the supplier is read as the line's label, so that a total row among the payments is
    # found by arithmetic (and "Total Access Scaffolding Limited" stays a payment)
    roles = dict(header.roles)
    if "supplier" in roles:
        roles["label"] = roles.pop("supplier")
    reading = dataclasses.replace(header, roles=roles)
    read_options = dataclasses.replace(options, units=units)
    totals: list[dict[str, Any]] = []
    local: list[Issue] = []
    table, _, _ = read_long_table(grid, reading, schema, read_options, local, totals)

    # payment dates: parsed once per distinct text, stored as ISO with their financial year
    date_col = grid.columns[header.roles["date"]]
    index = pc.subtract(table.column("row"), pa.scalar(1, pa.int32()))
    date_text = pc.utf8_trim_whitespace(pc.take(date_col, index))
    iso = per_unique(date_text, lambda t: _iso(parse_date(t)), pa.string())
    years = per_unique(iso, lambda t: financial_year_of(_dt.date.fromisoformat(t)), pa.string())
    table = table.set_column(table.schema.get_field_index("paid_on"), "paid_on", iso)
    table = table.set_column(table.schema.get_field_index("year"), "year", years)
    table = _dated_rows_are_payments(table, totals, local, grid, header.roles["amount"])

    year = options.year or options.project_year
    included = table.column("included")
    kept_dates = pc.filter(iso, included)
    first, last = pc.min(kept_dates).as_py(), pc.max(kept_dates).as_py()
    file_name, sheet = grid.file_name, grid.sheet
    n_kept = int(pc.sum(included.cast(pa.int64())).as_py() or 0)
    if year:
        undated = pc.and_(included, pc.is_null(iso))
        outside = pc.and_(included, pc.fill_null(pc.not_equal(years, year), False))
        n_out = int(pc.sum(outside.cast(pa.int64())).as_py() or 0)
        n_undated = int(pc.sum(undated.cast(pa.int64())).as_py() or 0)
        reason = pc.if_else(
            outside,
            pa.scalar(f"paid outside {year}"),
            pc.if_else(undated, pa.scalar("no payment date"), table.column("reason")),
        )
        keep = pc.and_(included, pc.invert(pc.or_(outside, undated)))
        table = table.set_column(table.schema.get_field_index("included"), "included", keep)
        table = table.set_column(table.schema.get_field_index("reason"), "reason", reason)
        if n_out:
            local.append(
                Issue(
                    code="outside-year",
                    severity="info",
                    message=f"{n_out:,} payments outside {year} left out ({n_kept:,} read, "
                    f"paid {first} to {last}; {n_kept - n_out - n_undated:,} kept).",
                    note="Another year: --year YYYY-YY.",
                    file=file_name,
                    sheet=sheet,
                )
            )
        if n_undated:
            row = table.column("row")[pc.index(undated, True).as_py()].as_py()
            local.append(
                Issue(
                    code="outside-year",
                    severity="warning",
                    message=f"{n_undated:,} payments have no date that can be read, so no "
                    f"financial year: left out.",
                    row=row,
                    column=column_letter(header.roles["date"]),
                    header=header.texts[header.roles["date"]],
                    value=pc.take(date_text, [pc.index(undated, True).as_py()])[0].as_py(),
                    file=file_name,
                    sheet=sheet,
                )
            )
    elif first is not None:
        spans = sorted(set(pc.unique(pc.filter(years, included)).to_pylist()) - {None})
        local.append(
            Issue(
                code="year-not-stated",
                severity="warning",
                message=f"no financial year given: all {n_kept:,} payments kept, paid {first} "
                f"to {last} ({len(spans)} financial years).",
                note="Keep one year with --year 2023-24 (or the project file's year).",
                file=file_name,
                sheet=sheet,
            )
        )

    found = SourceRead(
        kind=schema.kind,
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=header.row + 1,
        units=units,
        units_from="",
        org=None,
        year=year,
        table=table,
        part=NOT_COUNTED,
        columns={role: column_letter(c) for role, c in header.roles.items()},
        total_rows=totals,
    )
    if options.units:
        found.units_from = "--units"
    elif stated:
        found.units_from = stated[1]
    else:
        proved = _prove_pounds(found, options)
        if proved[0] != units:  # the plausibility test says another unit: read it so
            again = read(grid, schema, dataclasses.replace(options, units=proved[0]), issues)
            if again is not None:
                again.units_from = proved[1]
            return again
        found.units_from = proved[1]
    issues.extend(local)
    set_counted(found, False)
    return found


def _dated_rows_are_payments(
    table: Any, totals: list[dict[str, Any]], issues: list[Issue], grid: Grid, amount_col: int
) -> Any:
    """A row with a payment date is a payment, even when its amount happens to equal the
    payments above it: a list's total rows carry no date."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dated_totals = pc.and_(
        pc.fill_null(pc.equal(table.column("reason"), "total row"), False),
        pc.is_valid(table.column("paid_on")),
    )
    if not pc.any(dated_totals).as_py():
        return table
    rows = set(pc.filter(table.column("row"), dated_totals).to_pylist())
    for t in totals:
        if t["row"] in rows:
            t.update(matched=False, kept_as_line=True, heads="a dated payment, not a total")
            issues.append(
                Issue(
                    code="total-not-matched",
                    severity="info",
                    message=f"{t['label']!r} equals the payments above it but is dated: "
                    "kept as a payment, not a total.",
                    file=grid.file_name,
                    sheet=grid.sheet,
                    row=t["row"],
                    column=column_letter(amount_col),
                    value=t["amount_text"],
                )
            )
    none = pa.scalar(None, pa.string())
    reason = pc.if_else(dated_totals, none, table.column("reason"))
    included = pc.or_(table.column("included"), dated_totals)
    table = table.set_column(table.schema.get_field_index("reason"), "reason", reason)
    return table.set_column(table.schema.get_field_index("included"), "included", included)


def set_counted(found: SourceRead, counted: bool) -> None:
    """Mark a payment source, and each of its lines, as in the count or kept out of it."""
    import pyarrow as pa

    part = COUNTED if counted else NOT_COUNTED
    found.part = part
    t = found.table
    found.table = t.set_column(
        t.schema.get_field_index("part"), "part", pa.repeat(pa.scalar(part), t.num_rows)
    )


def _iso(day: _dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _stated_units(header: str, title: str) -> tuple[str, str] | None:
    """The unit the amount column's header or the title states: e.g. 'Amount (£)'."""
    u = detect_units(header)
    if u:
        return u, f"header {header!r}"
    u = detect_units(title)
    if u:
        return u, "title"
    return None


#: Pence evidence: at least this many amounts with a fraction, and most of those with two
#: decimals and hardly any with more (a £000 file carries three, or none).
MIN_FRACTIONS = 5


def pence_evidence(amount_text: Any) -> tuple[bool, str]:
    """Whether the amounts look like pounds and pence, and the counts that say so.

    >>> import pyarrow as pa
    >>> pence_evidence(pa.array(["12.50", "3", "1241,32", "7.25", "8.4", "9.99", "1.01"]))[0]
    True
    """
    import pyarrow.compute as pc

    texts = pc.drop_null(amount_text)
    frac = pc.match_substring_regex(texts, r"[.,]\d+\)?$")
    two = pc.match_substring_regex(texts, r"[.,]\d{2}\)?$")
    more = pc.match_substring_regex(texts, r"[.,]\d{3,}\)?$")
    n_frac = int(pc.sum(frac.cast("int64")).as_py() or 0)
    n_two = int(pc.sum(two.cast("int64")).as_py() or 0)
    n_more = int(pc.sum(more.cast("int64")).as_py() or 0)
    ok = n_frac >= MIN_FRACTIONS and n_two * 2 > n_frac and n_more * 100 <= n_frac
    text = (
        f"{n_two:,} of the {n_frac:,} amounts with a fraction have two decimals, "
        f"{n_more:,} more than two"
    )
    return ok, text


def _prove_pounds(found: SourceRead, options: ReadOptions) -> tuple[str, str]:
    """The unit of a payment list that states none: pence, and plausibility a head."""
    import pyarrow.compute as pc

    # the evidence is the file's: every amount read, in the year or not
    t = found.table
    has_pence, counts = pence_evidence(
        pc.filter(t.column("amount_text"), pc.is_valid(t.column("amount_pence")))
    )
    written = Decimal(found.total_pence) / 100  # as written: read provisionally as pounds
    if has_pence and written == 0:  # nothing kept to test a head against
        return "pounds", f"amounts carry pence ({counts})"
    if options.population:
        unit, why = prove_units(
            "payments",
            written,
            options.population,
            file_name=found.file_name,
            sheet=found.sheet,
            what="the payments kept",
        )
        if has_pence and unit != "pounds":
            raise InputError.one(
                "unit-not-proved",
                f"the unit of the amounts cannot be proved: they carry pence ({counts}), "
                f"which says pounds, but {why}.",
                file=found.file_name,
                sheet=found.sheet,
                note="Say which with --units pounds|thousands|millions.",
            )
        return unit, (f"amounts carry pence ({counts}); {why}" if has_pence else why)
    if has_pence:
        return "pounds", f"amounts carry pence ({counts}); no population to check a head"
    # no pence and no population: prove_units explains that nothing settles it
    return prove_units("payments", written, None, file_name=found.file_name, sheet=found.sheet)
