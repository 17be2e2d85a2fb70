"""Non-departmental public bodies: one row per body, excluded by the Cumbria rules.

Kept: executive bodies with a direct connection to the place. Left out, each
with its reason: advisory bodies, tribunals, bodies sponsored by the Foreign
Office or DfID, and bodies marked as having no direct connection.

The Cabinet Office's Public Bodies Directory (a workbook with ``Data`` and
``Variables`` sheets) lists every arm's-length body with its national spending: it is
read by :func:`read_directory`. Executive agencies and non-ministerial departments are
part of central government, not NDPBs, and Crown NDPBs act for the Crown: they are left
out with that reason (PESA counts their spending with their department's).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import InputError, Issue, column_letter
from ..models import KindSchema, ReadOptions, SourceRead
from . import simple
from ._cells import cell_text, detect_units, header_key, normalise
from ._grid import Grid
from ._table import find_header, per_unique

ROLES = ["amount", "label", "sponsor", "status", "connected", "year", "recipient"]

#: Bodies in the Public Bodies Directory that are not NDPBs, and why they are left out.
NOT_NDPB = {
    "executive agency": "Executive Agency: part of its department, not an NDPB (PESA counts "
    "it with the department)",
    "non ministerial department": "Non-Ministerial Department: a government department, "
    "not an NDPB (PESA counts it)",
    "crown ndpb": "Crown NDPB: acts for the Crown and is counted with its department in "
    "PESA (the count keeps executive NDPBs)",
    "ministerial department": "Ministerial Department: not an NDPB (PESA counts it)",
    "public corporation": "Public Corporation: not an NDPB (PESA counts it as a public "
    "corporation)",
}


def exclusion(
    schema: KindSchema, status: str | None, sponsor: str | None, connected: str | None
) -> str | None:
    """Why a body is left out of the count, or None when it is kept.

    >>> from placecount.models import load_kind_schema
    >>> exclusion(load_kind_schema("ndpb"), "Advisory", "DCMS", "Yes")
    'Advisory body (the count keeps executive bodies)'
    """
    kind_of_body = normalise(status)
    if kind_of_body in NOT_NDPB:
        return NOT_NDPB[kind_of_body]
    words = kind_of_body.split()
    for word in schema.exclude_status:
        if normalise(word) in words:
            return f"{status} body (the count keeps executive bodies)"
    padded = f" {normalise(sponsor)} "
    for name in schema.exclude_sponsor:
        if f" {normalise(name)} " in padded:
            return f"sponsored by {sponsor} (overseas spending)"
    if connected is not None and normalise(connected) in {
        normalise(v) for v in schema.not_connected
    }:
        return "no direct connection to the place"
    return None


def read(
    grid: Grid, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> SourceRead | None:
    """Read an NDPB list; each body is its own organisation; apply the exclusion rules."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = simple.read(grid, schema, options, issues, roles=ROLES)
    if found is None:
        return None
    t = found.table
    # each distinct (status, sponsor, connected) is judged once
    key = pc.binary_join_element_wise(
        pc.fill_null(t.column("status"), "\x00"),
        pc.fill_null(t.column("sponsor"), "\x00"),
        pc.fill_null(t.column("connected"), "\x00"),
        "\x01",
    )

    def judge(k: str) -> str | None:
        status, sponsor, connected = (None if v == "\x00" else v for v in k.split("\x01"))
        return exclusion(schema, status, sponsor, connected)

    excluded = per_unique(key, judge, pa.string())
    keep = pc.and_(t.column("included"), pc.is_null(excluded))
    reason = pc.if_else(
        pc.and_(t.column("included"), pc.is_valid(excluded)), excluded, t.column("reason")
    )
    t = t.set_column(t.schema.get_field_index("org"), "org", t.column("native_label"))
    t = t.set_column(t.schema.get_field_index("included"), "included", keep)
    t = t.set_column(t.schema.get_field_index("reason"), "reason", reason)
    found.table = t
    return found


#: The sheets that make a workbook the Cabinet Office's Public Bodies Directory.
DIRECTORY_SHEETS = ("Data", "Variables")


def read_directory(
    path: Path, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> list[SourceRead] | None:
    """The Public Bodies Directory's ``Data`` sheet, or None when the file is not one.

    Its amounts are each body's national spending in pounds (the ``Variables`` sheet
    names the column, and the summary sheets state "(£)"): a warning says that these are
    national totals, not the place's spending.
    """
    from ._grid import (
        EXCEL_SUFFIXES,
        _check_file,
        _open_workbook,
        check_shape,
        check_size,
        read_excel_grid,
    )
    from ._zipscan import check_unzipped

    _check_file(path)
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        return None
    limits = options.limits
    check_size(path, limits)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        check_unzipped(path, limits)
    wb = _open_workbook(path)
    names = list(wb.sheet_names)
    if any(n not in names for n in DIRECTORY_SHEETS):
        return None
    if options.sheet is not None and str(options.sheet).strip().lower() != "data":
        return None
    grid = check_shape(read_excel_grid(path, "Data", wb, limits), limits)
    header = find_header(grid, schema, options, ROLES, lambda f: "amount" in f and "label" in f)
    if header is None:
        return None
    amount_header = header.texts[header.roles["amount"]]
    read_options = options
    units_from = None
    if options.units is None and detect_units(amount_header) is None:
        found_units = _directory_units(path, wb, names, amount_header)
        if found_units is None:
            raise InputError.one(
                "unit-not-proved",
                f"the unit of {amount_header!r} is stated nowhere in the directory (neither "
                "the Variables sheet nor the summary sheets).",
                file=path.name,
                sheet="Data",
                note="Say which with --units pounds|thousands|millions.",
            )
        units, units_from = found_units
        read_options = dataclasses.replace(options, units=units)
    found = read(grid, schema, read_options, issues)
    if found is None:
        return None
    if units_from is not None:
        found.units_from = units_from
    # The directory names each body with its sponsor department: the department is the
    # body's parent in ndpb.csv, so a body is mapped under the department the file gives.
    t = found.table
    found.table = t.set_column(t.schema.get_field_index("table_name"), "table_name", t["sponsor"])
    issues.append(
        Issue(
            code="national-totals",
            severity="warning",
            message=f"these are each body's national spending ({amount_header!r}), not its "
            "spending in the place: a place count uses an NDPB's spending in the place.",
            file=path.name,
            sheet="Data",
            row=header.row + 1,
            column=column_letter(header.roles["amount"]),
            header=amount_header,
            note="Scale each body to the place, or give a sheet of the bodies' spending in "
            "the place.",
        )
    )
    return [found]


def _directory_units(
    path: Path, wb: object, names: list[str], amount_header: str
) -> tuple[str, str] | None:
    """The unit of a directory column: what ``Variables`` calls it, then a sheet's heading
    of that name stating its unit, e.g. "Total Managed Expenditure For ALBs (£)"."""
    from ._grid import read_excel_grid

    variables = read_excel_grid(path, "Variables", wb)
    wanted = header_key(amount_header)
    meaning = None
    where = ""
    for r, row in enumerate(variables.rows):
        cells = [cell_text(v) for v in row]
        if cells and header_key(cells[0]) == wanted:
            for c, text in enumerate(cells[1:], start=1):
                u = detect_units(text)
                if u:
                    return u, f"'Variables'!{column_letter(c)}{r + 1} {text!r}"
            meaning = next((t for t in cells[1:] if t), None)
            where = f"'Variables'!B{r + 1}"
            break
    if not meaning:
        return None
    key = normalise(meaning)
    for name in names:
        if name in ("Data", "Variables"):
            continue
        grid = read_excel_grid(path, name, wb)
        for r, row in enumerate(grid.head()):
            for c, value in enumerate(row):
                text = cell_text(value)
                if text and normalise(text).startswith(key):
                    u = detect_units(text)
                    if u:
                        return u, (
                            f"'{name}'!{column_letter(c)}{r + 1} {text!r} "
                            f"({amount_header} is {meaning!r}, {where})"
                        )
    return None
