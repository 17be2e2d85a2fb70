"""HM Treasury PESA Country and Regional Analysis: wide regional tables and the long extract.

Wide tables have functions and sub-functions as rows and regions as columns.
Each function's total is printed above its sub-functions, with "of which" lines
here and there: the count takes the sub-functions, never both, and takes a
function whole only when it has no sub-functions. The long extract has one row
per department × function × sub-function × region × year; ``--region`` filters
its rows and ``--year`` picks the year.

Every amount is the region's figure times the place's share, recorded on the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ..errors import InputError, Issue, column_letter
from ..models import KindSchema, Line, ReadOptions, SourceRead, lines_to_table
from ._cells import cell_text, financial_year, normalise, parse_amount
from ._grid import Grid
from ._table import (
    AmountErrors,
    Header,
    find_header,
    header_texts,
    is_total_label,
    read_amount,
    resolve_units,
    row_is_empty,
    text_at,
)
from .pesa_workbook import plain_region, set_pence

# "(.*\S|.)\s*$", not "(.+?)\s*$": the lazy form scans trailing spaces once a character
# (quadratic on a long cell, issue #14); both take the label without its trailing spaces
_NUMBERED = re.compile(r"^\s*(\d{1,2})(?:\.(\d{1,2}))?\.?\s+(.*\S|.)\s*$")
_PART_WORDS = {
    "central": ("central government", "cg"),
    "local": ("local government", "lg"),
    "public-corporation": ("public corporation", "public corporations", "pc"),
}
LONG_ROLES = ["amount", "region", "subfunction", "function", "org", "year", "part", "spend_type"]


def split_number(label: str) -> tuple[str | None, str]:
    """'7.1 Medical services' → ('7.1', 'Medical services'); '1. General …' → ('1', 'General …')."""
    m = _NUMBERED.match(label)
    if not m:
        return None, label.strip()
    code = m.group(1) if m.group(2) is None else f"{m.group(1)}.{int(m.group(2))}"
    return code, m.group(3)


def guess_part(text: str | None) -> str | None:
    """Which part of PESA a title or a CG/LG/PC cell names, if any."""
    t = f" {normalise(text)} "
    named = [part for part, words in _PART_WORDS.items() if any(f" {w} " in t for w in words)]
    if len(named) > 1 or " total managed expenditure " in t:
        return "total"  # a title naming the parts together is all of them
    return named[0] if named else None


def _require_share(options: ReadOptions, file_name: str) -> None:
    if options.share is None:
        raise InputError.one(
            "share-required",
            "a PESA table gives a whole region's spending: the place's share of it is needed.",
            file=file_name,
            note="Give --share 0.0724, or --place-population N --region-population M.",
        )


def read(
    grid: Grid, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> SourceRead | None:
    """Read a PESA table, wide or long, whichever the sheet is."""
    long_header = find_header(
        grid,
        schema,
        options,
        LONG_ROLES,
        lambda f: "amount" in f and "region" in f and ("subfunction" in f or "function" in f),
    )
    if long_header is not None:
        return _read_long(grid, long_header, schema, options, issues)
    wide = _find_wide_header(grid, schema, options)
    if wide is None:
        return None
    return _read_wide(grid, wide, schema, options, issues)


@dataclass
class _Wide:
    row: int
    texts: list[str]
    regions: dict[str, int]
    label_col: int
    title: str


def _find_wide_header(grid: Grid, schema: KindSchema, options: ReadOptions) -> _Wide | None:
    known = {normalise(r) for r in schema.regions}
    rows = [options.header_row - 1] if options.header_row else range(min(60, grid.n_rows))
    for r in rows:
        texts = header_texts(grid, r)
        regions = {texts[c]: c for c in range(len(texts)) if normalise(texts[c]) in known}
        if options.region and len(regions) < 3:
            wanted = normalise(options.region)
            regions.update(
                {texts[c]: c for c in range(len(texts)) if normalise(texts[c]) == wanted}
            )
        if len(regions) < 3 and not (options.header_row and regions):
            continue
        first = min(regions.values())
        label_col = _label_column(grid, r, first, texts, schema)
        title = " ".join(cell_text(v) for row in grid.head(r) for v in row if cell_text(v))
        return _Wide(r, texts, regions, label_col, title)
    return None


def _label_column(
    grid: Grid, r: int, first_region: int, texts: list[str], schema: KindSchema
) -> int:
    aliases = {normalise(a) for a in schema.columns.get("label", [])}
    for c in range(first_region):
        if normalise(texts[c]) in aliases:
            return c
    # Otherwise the left-most column with text below the header.
    for c in range(first_region):
        if any(isinstance(grid.cell(i, c), str) for i in range(r + 1, min(r + 30, grid.n_rows))):
            return c
    return 0


def _pick_region(options: ReadOptions, regions: dict[str, int], grid: Grid, row: int) -> int:
    names = ", ".join(repr(n) for n in regions)
    if not options.region:
        raise InputError.one(
            "region-required",
            "say which region's column to take.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=row + 1,
            note=f"Use --region NAME; the regions are: {names}.",
        )
    wanted = normalise(options.region)
    for name, col in regions.items():
        if normalise(name) == wanted:
            return col
    raise InputError.one(
        "region-not-found",
        f"there is no region column {options.region!r}.",
        file=grid.file_name,
        sheet=grid.sheet,
        row=row + 1,
        note=f"The regions are: {names}.",
    )


def _read_wide(
    grid: Grid, wide: _Wide, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> SourceRead:
    col = _pick_region(options, wide.regions, grid, wide.row)
    _require_share(options, grid.file_name)
    header = Header(wide.row, wide.texts, {"amount": col, "label": wide.label_col}, wide.title)
    units, units_from = resolve_units(grid, header, col, schema, options, issues)
    errors = AmountErrors(grid, header, col)
    function_codes = _function_labels()
    lines: list[Line] = []
    current_fn: str | None = None
    fn_line: Line | None = None
    fn_subs: list[Line] = []

    def close_function() -> None:
        if fn_line is not None and fn_subs and fn_line.included:
            fn_line.included = False
            fn_line.reason = "function total: its sub-functions are counted"
            subs = sum(s.before_share_pence or 0 for s in fn_subs if s.included)
            if fn_line.before_share_pence is not None and subs != fn_line.before_share_pence:
                issues.append(
                    Issue(
                        code="subtotal-mismatch",
                        severity="info",
                        message=f"the sub-functions of {fn_line.native_label!r} add up to "
                        f"£{subs / 100:,.2f} against its printed total £"
                        f"{fn_line.before_share_pence / 100:,.2f} (published figures are rounded).",
                        file=grid.file_name,
                        sheet=grid.sheet,
                        row=fn_line.row,
                        column=column_letter(col),
                    )
                )

    body = [r for r in range(wide.row + 1, len(grid.rows)) if not row_is_empty(grid.rows[r])]
    departments = _department_rows(grid, body, wide.label_col, function_codes)
    dept: _Department | None = None

    def close_department() -> None:
        if dept is not None:
            dept.check(lines, grid, col, issues)

    for r in body:
        raw_label = text_at(grid, r, wide.label_col) or ""
        value = grid.cell(r, col)
        kind, pence, before = read_amount(value, r, units, options.share, errors)
        code, label = split_number(raw_label)
        line = Line(
            row=r + 1,
            column=column_letter(col),
            native_code=code,
            native_label=label or None,
            amount_text=cell_text(value) or None,
            amount_pence=pence,
            before_share_pence=before,
            part=options.part,
            org=dept.name if dept is not None else None,
        )
        lines.append(line)
        key = normalise(label)
        if kind == "bad":
            line.included, line.reason = False, "bad amount"
            continue
        if r in departments:
            # A department's row above its functions (PESA 2005-style tables): its amount,
            # if any, is the department's total, and its functions are counted.
            line.included, line.org = False, None
            close_function()
            close_department()
            current_fn, fn_line, fn_subs = None, None, []
            dept = _Department(raw_label.strip(), line)
            line.org = dept.name
            line.reason = (
                "department total: its functions are counted"
                if kind in ("number", "nil")
                else "department heading"
            )
            continue
        if kind in ("blank", "not-available"):
            line.included = False
            line.reason = "no amount" if kind == "blank" else "amount not available"
            if not raw_label or (code is None and key not in function_codes):
                continue
        if key.startswith("of which"):
            line.included, line.reason = False, "'of which' line: already in the line above"
            continue
        if is_total_label(raw_label):
            line.included, line.reason = False, "total row"
            continue
        is_function = (code is not None and "." not in code) or (
            code is None and key in function_codes
        )
        if is_function:
            close_function()
            line.native_code = code or function_codes.get(key)
            current_fn, fn_line, fn_subs = line.native_code, line, []
            continue
        if key == "la data" and current_fn:
            line.native_code = f"{current_fn}.LA"
        if fn_line is not None:
            fn_subs.append(line)
    close_function()
    close_department()
    errors.raise_if_any()
    part = options.part or guess_part(wide.title)
    if part is None:
        # a guess either way counts local spending twice or loses central spending
        raise InputError.one(
            "part-not-stated",
            "the title does not say whether this is central government, local government "
            "or total spending.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="Say which with --part central|local|total.",
        )
    for ln in lines:
        ln.part = part
    return SourceRead(
        kind="pesa",
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=wide.row + 1,
        units=units,
        units_from=units_from,
        org=None,
        year=financial_year(wide.title),
        region=wide.texts[col],
        part=part,
        share=options.share_text,
        share_basis=options.share_basis,
        table=lines_to_table(lines),
    )


def _is_function_label(raw_label: str, function_codes: dict[str, str]) -> bool:
    """A function or sub-function row: a number ('7.', '7.1') or a function's name."""
    code, label = split_number(raw_label)
    return code is not None or normalise(label) in function_codes


def _department_rows(
    grid: Grid, body: list[int], label_col: int, function_codes: dict[str, str]
) -> set[int]:
    """Rows naming a department above its functions, when the table is in department
    blocks (two or more of them): a label that is no function, total, 'of which' or
    'LA data' line, with a function on the next row."""
    labels = [text_at(grid, r, label_col) or "" for r in body]
    found = set()
    for i, label in enumerate(labels[:-1]):
        key = normalise(label)
        if (
            label
            and not _is_function_label(label, function_codes)
            and not is_total_label(label)
            and not key.startswith("of which")
            and key != "la data"
            and _is_function_label(labels[i + 1], function_codes)
        ):
            found.add(body[i])
    return found if len(found) >= 2 else set()


@dataclass
class _Department:
    """A department's block in a wide table: its row, and the lines read under it."""

    name: str
    line: Line

    def check(self, lines: list[Line], grid: Grid, col: int, issues: list[Issue]) -> None:
        """The department's printed total against its counted lines (published figures are
        rounded, so a difference is reported, not an error)."""
        printed = self.line.before_share_pence
        if printed is None:
            return
        start = lines.index(self.line)
        block = [ln for ln in lines[start + 1 :] if ln.org == self.name]
        counted = sum(ln.before_share_pence or 0 for ln in block if ln.included)
        if counted != printed:
            issues.append(
                Issue(
                    code="subtotal-mismatch",
                    severity="info",
                    message=f"the lines counted under {self.name!r} add up to "
                    f"£{counted / 100:,.2f} against its printed total £{printed / 100:,.2f} "
                    "(published figures are rounded).",
                    file=grid.file_name,
                    sheet=grid.sheet,
                    row=self.line.row,
                    column=column_letter(col),
                )
            )


def _function_labels() -> dict[str, str]:
    """PESA function names (no sub-function) → function number, from the mapping table."""
    from ..cofog import load_mapping

    out: dict[str, str] = {}
    for row in load_mapping("pesa").rows:
        if row.native_code and "." not in row.native_code:
            out[normalise(row.native_label)] = row.native_code
    return out


def _read_long(
    grid: Grid, header: Header, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> SourceRead:
    if not options.region:
        raise InputError.one(
            "region-required",
            "this PESA extract has rows for many regions: say which.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="Use --region NAME.",
        )
    _require_share(options, grid.file_name)
    roles = header.roles
    col = roles["amount"]
    units, units_from = resolve_units(grid, header, col, schema, options, issues)
    errors = AmountErrors(grid, header, col)
    wanted_region = plain_region(options.region)
    wanted_year = options.year or options.project_year
    region_rows = 0
    values: list[Decimal | None] = []
    years: set[str] = set()
    regions: set[str] = set()
    lines: list[Line] = []
    for r in range(header.row + 1, len(grid.rows)):
        if row_is_empty(grid.rows[r]):
            continue
        region = text_at(grid, r, roles["region"]) or ""
        regions.add(region)
        if plain_region(region) != wanted_region:
            continue
        region_rows += 1
        year = financial_year(text_at(grid, r, roles.get("year")))
        if year:
            years.add(year)
        if wanted_year and "year" in roles and year != wanted_year:
            continue
        value = grid.cell(r, col)
        kind, pence, before = read_amount(value, r, units, options.share, errors)
        sub = text_at(grid, r, roles.get("subfunction"))
        function = text_at(grid, r, roles.get("function"))
        code, label = split_number(sub or function or "")
        part_cell = text_at(grid, r, roles.get("part"))
        line = Line(
            row=r + 1,
            column=column_letter(col),
            native_code=code,
            native_label=label or None,
            amount_text=cell_text(value) or None,
            amount_pence=pence,
            before_share_pence=before,
            org=text_at(grid, r, roles.get("org")),
            year=year,
            part=guess_part(part_cell) or options.part or "total",
            extra={k: v for k in ("spend_type",) if (v := text_at(grid, r, roles.get(k)))}
            # the function a sub-function sits under, by which "LA data" is mapped
            | ({"table_name": function} if sub and function else {}),
        )
        if kind not in ("number", "nil"):
            line.included, line.reason = (
                False,
                (
                    "bad amount"
                    if kind == "bad"
                    else "no amount"
                    if kind == "blank"
                    else "amount not available"
                ),
            )
        lines.append(line)
        values.append(parse_amount(value)[1] if kind in ("number", "nil") else None)
    errors.raise_if_any()
    # the extract's lines are rounded to pence once, so they add up to the exact total
    set_pence(lines, values, units, options.share)
    if not lines and region_rows and wanted_year:
        # the region has rows, but none for the year: say so, not that the region is missing
        raise InputError.one(
            "year-not-found",
            f"no rows for {wanted_year} in region {options.region!r}.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="The years are: " + ", ".join(sorted(years)) + ".",
        )
    if not lines:
        known = ", ".join(sorted(repr(x) for x in regions if x)[:12])
        raise InputError.one(
            "region-not-found",
            f"no rows for region {options.region!r}.",
            file=grid.file_name,
            sheet=grid.sheet,
            note=f"The regions are: {known}.",
        )
    if "year" in roles and not wanted_year and len(years) > 1:
        raise InputError.one(
            "bad-option",
            f"the extract has {len(years)} years: say which with --year.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="The years are: " + ", ".join(sorted(years)) + ".",
        )
    if "year" in roles and wanted_year and wanted_year not in years:
        raise InputError.one(
            "year-not-found",
            f"no rows for {wanted_year} in region {options.region!r}.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="The years are: " + ", ".join(sorted(years)) + ".",
        )
    if "part" not in roles and options.part is None:
        raise InputError.one(
            "part-not-stated",
            "this PESA extract has no CG/LG/PC column: it cannot say which lines are central "
            "government, local government or public corporations.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=header.row + 1,
            note="Say which part the whole file is with --part central|local|total.",
        )
    parts = sorted({ln.part for ln in lines if ln.part})
    return SourceRead(
        kind="pesa",
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=header.row + 1,
        units=units,
        units_from=units_from,
        org=None,
        year=wanted_year or (sorted(years)[0] if years else None),
        region=options.region,
        part=parts[0] if len(parts) == 1 else "mixed",
        share=options.share_text,
        share_basis=options.share_basis,
        table=lines_to_table(lines),
    )
