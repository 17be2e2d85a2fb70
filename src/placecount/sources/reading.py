"""Reading a file as sources of a kind: the readers, one per source kind, each reading a
file into lines and never writing; imported by :mod:`placecount.sources` when first used.

>>> from placecount.models import ReadOptions
>>> read = read_source("council", Path("examples/exampleshire/county_council_outturn_2008-09.xlsx"),
...                    ReadOptions(org="Exampleshire County Council"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError, Issue
from ..models import KindSchema, ReadOptions, SourceRead, load_kind_schema
from . import bodies, file_digest, generic, ndpb, payments, pesa, pesa_workbook, simple
from ._cells import financial_year, normalise
from ._grid import Grid, _check_file, read_digest, read_grids, reading_once
from ._table import no_header_error, per_unique

#: Who a source is when no --org says: PESA is central government; an NDPB list is its bodies.
DEFAULT_ORGS = {"pesa": "Central government (PESA)", "ndpb": "NDPBs"}

READERS = {
    "council": simple.read,
    "nhs": simple.read,
    "police": simple.read,
    "ndpb": ndpb.read,
    "pesa": pesa.read,
    "payments": payments.read,
    "generic": generic.read,
}


#: Readers that look at a whole workbook (several sheets, a notes sheet) before the
#: sheet-by-sheet readers: each returns its sources (one per sheet read), or None when
#: the workbook is not of its form.
WorkbookReader = Callable[[Path, KindSchema, ReadOptions, list[Issue]], list[SourceRead] | None]
WORKBOOK_READERS: dict[str, list[WorkbookReader]] = {
    "council": [bodies.read_workbook],
    "nhs": [bodies.read_allocations],
    "pesa": [pesa_workbook.read_workbook],
    "ndpb": [ndpb.read_directory],
}


def read_sources(
    kind: str, path: Path, options: ReadOptions
) -> tuple[list[SourceRead], list[Issue]]:
    """Read one file as sources of ``kind``: one per sheet read (most files have one).

    Raises :class:`~placecount.errors.InputError` when the file cannot be read as asked.
    """
    with reading_once():
        return _read_sources(kind, path, options)


def _read_sources(
    kind: str, path: Path, options: ReadOptions
) -> tuple[list[SourceRead], list[Issue]]:
    _check_file(path)  # before any reader opens it: a named pipe would block the first
    schema = load_kind_schema(kind)
    issues: list[Issue] = []
    for reader in WORKBOOK_READERS.get(kind, []):
        found_all = reader(path, schema, options, issues)
        if found_all is None:
            continue
        sha, size = read_digest(path) or file_digest(path)
        for found in found_all:
            found.file_sha256, found.file_size = sha, size
            # a reader that picked its bodies itself has named them as the file does
            settle = replace(options, org=None) if found.org else options
            _settle_org_and_year(found, None, schema, settle, issues)
            mark_transfers(found, schema)
        return found_all, issues
    found, more = read_source(kind, path, options)
    return [found], issues + more


def read_source(kind: str, path: Path, options: ReadOptions) -> tuple[SourceRead, list[Issue]]:
    """Read one file's first sheet with a table of ``kind``: the lines found and the issues.

    Raises :class:`~placecount.errors.InputError` when the file cannot be read as asked.
    """
    schema = load_kind_schema(kind)
    issues: list[Issue] = []
    if options.units is None and options.notes_units is None:
        from ._units import notes_units

        _check_file(path)
        options = dataclasses.replace(options, notes_units=notes_units(path, options.limits))
    tried: list[tuple[str, str | None]] = []
    hints: list[str] = []
    non_empty = 0
    for grid in read_grids(path, options.sheet, options.limits):
        tried.append((grid.file_name, grid.sheet))
        if grid.is_empty():
            continue
        non_empty += 1
        found = READERS[kind](grid, schema, options, issues)
        if found is None:
            where = f"sheet {grid.sheet!r} " if grid.sheet else ""
            hints.extend(where + h for h in grid.hints)
            continue
        if found.table.num_rows == 0:
            what = "file" if grid.sheet is None else "sheet"
            raise InputError.one(
                "no-lines",
                f"the {what} has a header (row {found.header_row}) but no lines below it: "
                "there is nothing to count.",
                file=grid.file_name,
                sheet=grid.sheet,
                note="Check that this is the right file, and that it was saved with its data.",
            )
        sha, size = read_digest(path) or file_digest(path)
        found.file_sha256, found.file_size = sha, size
        found.encoding = grid.encoding
        _settle_org_and_year(found, grid, schema, options, issues)
        mark_transfers(found, schema)
        return found, issues
    if not tried:
        raise InputError.one("empty-sheet", "the file has no sheets.", file=path.name)
    if non_empty == 0:
        sheet = tried[0][1] if len(tried) == 1 else None
        what = "the sheet is empty" if len(tried) == 1 else "every sheet is empty"
        raise InputError.one(
            "empty-sheet",
            f"{what}: there is nothing to read.",
            file=path.name,
            sheet=sheet,
            note="Check that this is the right file and sheet (--sheet NAME).",
        )
    raise no_header_error(tried, schema, hints[:3])


def mark_transfers(found: SourceRead, schema: KindSchema) -> None:
    """Mark lines that hand money to another body: by a recipient column, or a schema rule."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = found.table
    rules = [(normalise(r.label), r.recipient, r.books_as) for r in schema.transfers]

    def rule_for(label: str) -> str | None:
        text = normalise(label)
        for needle, recipient, books_as in rules:
            if needle and needle in text:
                # the count reads "(financing)": a precept or levy is never netted off
                what = " (financing)" if books_as == "financing" else ""
                return f"{recipient}\x00schemas/{found.kind}.toml rule '{needle}'{what}"
        return None

    by_rule = (
        per_unique(t.column("native_label"), rule_for, pa.string())
        if rules
        else pa.nulls(t.num_rows, pa.string())
    )
    recipient = t.column("recipient")
    if by_rule.null_count == t.num_rows and recipient.null_count == t.num_rows:
        # no line hands money on: no transfer_to or transfer_basis (as a reader left them)
        for name in ("transfer_to", "transfer_basis"):
            if t.column(name).null_count < t.num_rows:
                t = t.set_column(
                    t.schema.get_field_index(name), name, pa.nulls(t.num_rows, pa.string())
                )
        found.table = t
        return
    has_recipient = pc.is_valid(recipient)
    rule_parts = pc.split_pattern(by_rule, "\x00")
    rule_to = pc.list_element(rule_parts, 0)
    rule_basis = pc.list_element(rule_parts, 1)
    included = t.column("included")
    transfer_to = pc.if_else(has_recipient, recipient, rule_to)
    basis = pc.if_else(has_recipient, pa.scalar("recipient column"), rule_basis)
    none = pa.scalar(None, pa.string())
    transfer_to = pc.if_else(included, transfer_to, none)
    basis = pc.if_else(pc.is_valid(transfer_to), basis, none)
    t = t.set_column(t.schema.get_field_index("transfer_to"), "transfer_to", transfer_to)
    t = t.set_column(t.schema.get_field_index("transfer_basis"), "transfer_basis", basis)
    found.table = t


def _distinct(column: Any) -> list[str]:
    import pyarrow.compute as pc

    return sorted(v for v in pc.unique(column).to_pylist() if v)


def _settle_org_and_year(
    found: SourceRead,
    grid: Grid | None,
    schema: KindSchema,
    options: ReadOptions,
    issues: list[Issue],
) -> None:
    """Org and year for the source and each line: option, else column, else title or file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = found.table
    included = t.column("included")
    col_orgs = _distinct(pc.filter(t.column("org"), included))
    if options.org:
        found.org = options.org
    elif found.org is None and len(col_orgs) == 1:
        found.org = col_orgs[0]
    elif found.org is None and found.kind in DEFAULT_ORGS:
        found.org = DEFAULT_ORGS[found.kind]
    elif found.org is None and not col_orgs:
        found.org = Path(found.file_name).stem
        issues.append(
            Issue(
                code="org-not-stated",
                severity="warning",
                message=f"no organisation given: using the file name {found.org!r}.",
                file=found.file_name,
                sheet=found.sheet,
                note="Say which with --org NAME.",
            )
        )
    elif found.org is None:
        found.org = "; ".join(col_orgs) if len(col_orgs) <= 3 else f"{len(col_orgs)} bodies"
    t = _one_year_only(found, options, issues)
    included = t.column("included")
    col_years = _distinct(pc.filter(t.column("year"), included))
    _check_stated_year(found, grid, col_years, options)
    if options.year:
        found.year = options.year
    elif found.year is None and len(col_years) == 1:
        found.year = col_years[0]
    if found.year is None and not col_years:
        title_text = (
            " ".join(str(v) for r in grid.head(found.header_row - 1) for v in r if v)
            if grid is not None
            else ""
        )
        found.year = financial_year(title_text) or options.project_year
        if found.year is None:
            issues.append(
                Issue(
                    code="year-not-stated",
                    severity="warning",
                    message="no financial year in the options, columns, title or project file.",
                    file=found.file_name,
                    sheet=found.sheet,
                    note="Say which with --year 2008-09.",
                )
            )
    # An NDPB list's lines are each their own body; other kinds take the source's org.
    org = t.column("org")
    if found.kind != "ndpb":
        source_org = pa.scalar(found.org, pa.string())
        org = (
            pc.if_else(pc.is_valid(org), org, source_org)
            if not options.org
            else pa.repeat(pa.scalar(found.org, pa.string()), t.num_rows)
        )
    year = t.column("year")
    source_year = pa.scalar(found.year, pa.string())
    year = (
        pc.if_else(pc.is_valid(year), year, source_year)
        if not options.year
        else pa.repeat(source_year, t.num_rows)
    )
    t = t.set_column(t.schema.get_field_index("org"), "org", org)
    t = t.set_column(t.schema.get_field_index("year"), "year", year)
    found.table = t


def _one_year_only(found: SourceRead, options: ReadOptions, issues: list[Issue]) -> Any:
    """A table whose year column holds several years is never summed into one count: the
    count's year is kept and the others are left out, or it stops and asks which."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = found.table
    included = t.column("included")
    years = _distinct(pc.filter(t.column("year"), included))
    if len(years) <= 1 or found.kind == "payments":
        # a payment list keeps its financial year by the dates (its reader says how many
        # it left out), or all of them with a warning when no year is given
        return t
    wanted = options.year or options.project_year
    if wanted is None or wanted not in years:
        raise InputError.one(
            "several-years",
            f"the year column holds {len(years)} years ({', '.join(years[:6])}"
            + (", …" if len(years) > 6 else "")
            + ")"
            + (f", and not the count's {wanted}" if wanted else "")
            + ": a count is of one year.",
            file=found.file_name,
            sheet=found.sheet,
            note="Say which with --year " + years[-1] + ".",
        )
    other = pc.and_(included, pc.fill_null(pc.not_equal(t.column("year"), wanted), False))
    n_other = int(pc.sum(other.cast("int64")).as_py() or 0)
    reason = pc.binary_join_element_wise(
        pa.scalar("another year ("), t.column("year"), pa.scalar(")"), ""
    )
    t = t.set_column(
        t.schema.get_field_index("included"), "included", pc.and_(included, pc.invert(other))
    )
    t = t.set_column(
        t.schema.get_field_index("reason"), "reason", pc.if_else(other, reason, t.column("reason"))
    )
    issues.append(
        Issue(
            code="other-years-left-out",
            severity="info",
            message=f"{n_other:,} lines of years other than {wanted} left out.",
            file=found.file_name,
            sheet=found.sheet,
        )
    )
    found.table = t
    return t


def _check_stated_year(
    found: SourceRead, grid: Grid | None, col_years: list[str], options: ReadOptions
) -> None:
    """A file whose title, header or columns name another year than the count's is refused,
    unless --year says otherwise."""
    if options.year or not options.project_year:
        return
    stated: list[tuple[str, str]] = [(y, "its year column") for y in col_years]
    if found.year_from and found.year:
        stated.append((found.year, found.year_from))
    for role, text in found.headers.items():
        if (y := financial_year(text)) is not None and role == "amount":
            stated.append((y, f"the header {text!r}"))
    if grid is not None:
        from ..errors import column_letter

        for r, row in enumerate(grid.head(found.header_row - 1)):
            for c, value in enumerate(row):
                if value and (y := financial_year(value)) is not None:
                    stated.append((y, f"the title {column_letter(c)}{r + 1} {value.strip()!r}"))
        if grid.sheet and (y := financial_year(grid.sheet)) is not None:
            stated.append((y, f"the sheet's name {grid.sheet!r}"))
    if not stated or any(y == options.project_year for y, _ in stated):
        return
    year, where = stated[0]
    raise InputError.one(
        "year-mismatch",
        f"the file is for {year} ({where} says so), but the count is for {options.project_year}.",
        file=found.file_name,
        sheet=found.sheet,
        note=f"If this file is meant for the {options.project_year} count all the same, say "
        f"--year {year}; otherwise use the file for {options.project_year}.",
    )
