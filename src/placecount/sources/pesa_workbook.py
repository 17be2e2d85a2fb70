"""PESA and CRA tables as HM Treasury and the ONS really publish them, a workbook at a time.

Three shapes, each recognised from its own headers, never from the file name:

- **The CRA database** (every vintage: the CRA 2010 in PESA 2010's chapter 9, the CRA
  2018 database, …): one row per department × organisation × segment × region, with one
  column per financial year. ``--region`` picks the rows (``ENGLAND_North West`` is the
  North West; ``Yorkshire and the Humber`` and ``…and The Humber`` are one region) and
  ``--year`` (else the project's year) picks one year's column: the years are never
  added together. Each line keeps its sector (CG, LG, PC; ``LA`` is read as LG, ``BOE``
  kept as published), whether it is identifiable, capital or current, and its
  department and organisation. The unit comes from a notes or metadata sheet ("Levels of
  expenditure shown are in £'000s"), else it is proved by plausibility a head of the
  region.
- **The published chapter 9 tables** (PESA 2024): one function per table, regions as
  rows, years as columns in blocks (the function's total, then "of which: current" and
  "of which: capital"). Each function table gives one line, its total block: current
  and capital are parts of it. The all-functions table (9.1a) is a control total: the
  functions must add up to it, within their rounding.
- **The ONS country and regional public sector finances tables**: one sheet per region,
  twelve tables each (total managed expenditure, identifiable, outside the UK,
  non-identifiable, each also current and capital). Which one is counted is the user's
  choice, ``--table``: the tables are listed when it is missing.

A line's organisation is "department / organisation" ("Department of Health / NHS
Trusts"), or the department alone when the organisation is the department. Amounts are
rounded to pence once per file (see ``_rounding``), so the lines add up to the exact
total rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from ..errors import InputError, Issue, column_letter
from ..models import KindSchema, Line, ReadOptions, SourceRead, lines_to_table
from ._cells import UNIT_FACTOR, cell_text, detect_units, normalise, parse_amount
from ._grid import Grid, read_grids, resolve_sheet
from ._rounding import round_once
from ._table import AmountErrors, Header, header_texts, is_total_label, row_is_empty
from ._units import prove_units

#: Column headers of the CRA database, as normalised text, best first. A role takes the
#: first of its headers the sheet has; no column plays two roles.
DATABASE_COLUMNS: dict[str, tuple[str, ...]] = {
    "department": ("department name", "dept name", "department"),
    "organisation": ("organisation name", "organization name", "organisation"),
    "region": ("nuts region", "nuts 1 region", "nuts1 region", "region", "country or region"),
    # the finest function level the row has: HMT sub-function, else the function
    "subfunction": (
        "hmt subfunction",
        "hmt sub function",
        "hmt functional classification",
        "sub function",
        "subfunction",
    ),
    "function": ("hmt function", "cofog level 0", "cofog level 1", "function"),
    "identifiable": ("id non id", "id or non id", "identifiable or non identifiable"),
    "spend_type": ("cap or cur", "capital or current", "cap cur"),
    "sector": ("cg lg pc boe", "cg lg or pc", "cg lg pc", "cg lg pc or boe"),
}
#: How each published sector is stored, and the part of PESA it belongs to.
SECTORS = {
    "cg": ("CG", "central"),
    "lg": ("LG", "local"),
    "la": ("LG", "local"),
    "pc": ("PC", "public-corporation"),
    "boe": ("BOE", "public-corporation"),
}
UNIT_WORDS = {"pounds": "£", "thousands": "£ thousand ", "millions": "£ million "}
IDENTIFIABLE = {"id": "identifiable", "non id": "non-identifiable"}
SPEND_TYPES = {"cap": "capital", "capital": "capital", "cur": "current", "current": "current"}
#: Region names as some tables spell them, and the name they are compared by.
REGION_ALIASES = {
    "east of england": "east",
    "eastern": "east",
    "yorkshire and humberside": "yorkshire and the humber",
    "yorkshire and humber": "yorkshire and the humber",
}
_REGION_PREFIX = re.compile(r"^(england|scotland|wales|northern ireland)[_:\- ]+(?=\S)", re.I)
_YEAR_WORDS = {"outturn", "plans", "plan", "estimated", "estimate", "provisional", "forecast"}
_FY = re.compile(r"((?:19|20)\d\d)\s*(?:[-/–]|to)\s*((?:19|20)?\d\d)")
# Written so that no run of spaces is scanned once a character (issue #14): "(.*\S|.)\s*$"
# for "(.+?)\s*$", "(?:\s*[:.])?\s+" for "\s*[:.]?\s+", a note's spaces taken from their first.
_CODE = re.compile(r"^\s*(\d{1,2})(?:\.([0-9A-Za-z]{1,2}))?\.?\s+(.*\S|.)\s*$")
_NOTE = re.compile(r"(?<!\s)\s*\[note \d+\]", re.I)
_TABLE_TITLE = re.compile(r"^\s*table\s+(\w+(?:\.\w+)?)(?:\s*[:.])?\s+(.*\S|.)\s*$", re.I)


def plain_region(text: object) -> str:
    """A region as compared: 'ENGLAND_Yorkshire and The Humber' → 'yorkshire and the humber'.

    >>> plain_region("ENGLAND_North West") == plain_region("North West")
    True
    """
    t = normalise(_REGION_PREFIX.sub("", cell_text(text)))
    return REGION_ALIASES.get(t, t)


def year_heading(text: object) -> str | None:
    """The financial year a column heading is, if it is only a year ('2018-19\\noutturn',
    '1999 to 2000', '2013-14'), as 2018-19."""
    t = cell_text(text)
    m = _FY.search(t)
    if not m:
        return None
    rest = normalise(t[: m.start()] + " " + t[m.end() :])
    if rest and not set(rest.split()) <= _YEAR_WORDS:
        return None
    first, second = int(m.group(1)), m.group(2)
    nxt = int(second) if len(second) == 4 else (first // 100 * 100 + int(second))
    if nxt % 100 != (first + 1) % 100:
        return None
    return f"{first}-{(first + 1) % 100:02d}"


def split_code(label: str) -> tuple[str | None, str]:
    """A function label's code, as published: '7.A Medical services' → ('7.A', 'Medical
    services'); '10.2 Old age' → ('10.2', 'Old age'); '4. Economic affairs' → ('4', …)."""
    m = _CODE.match(label)
    if not m:
        return None, label.strip()
    code = m.group(1) if m.group(2) is None else f"{m.group(1)}.{m.group(2)}"
    return code, m.group(3)


def read_workbook(
    path: Path, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> list[SourceRead] | None:
    """The PESA workbook reader: a CRA database, chapter 9 tables or ONS tables, else None."""
    every = list(read_grids(path, None, options.limits))
    grids = [g for g in every if not g.is_empty()]
    chosen = grids
    names = [g.sheet for g in every if g.sheet is not None]
    if options.sheet is not None and names:
        # the sheet asked for is looked in; the others may still hold its notes and units
        sheet = resolve_sheet(names, options.sheet, path.name)
        chosen = [g for g in grids if g.sheet == sheet]
    for grid in chosen:
        found = _find_database_header(grid)
        if found is not None:
            others = [g for g in grids if g is not grid]
            return [_read_database(grid, found, others, options, issues)]
    if sum(1 for g in grids if _ons_tables(g)) >= 2:
        return [_read_ons(grids, options, issues)]
    tables = [t for g in chosen if (t := _chapter9_table(g)) is not None]
    if any(t.function_code for t in tables):
        return _read_chapter9(tables, options, issues)
    return None


# --- the CRA database -------------------------------------------------------------------


@dataclass
class _DatabaseHeader:
    row: int
    texts: list[str]
    roles: dict[str, int]
    years: dict[str, int]


def _find_database_header(grid: Grid) -> _DatabaseHeader | None:
    for r in range(min(60, grid.n_rows)):
        texts = header_texts(grid, r)
        years: dict[str, int] = {}
        for c, t in enumerate(texts):
            fy = year_heading(t)
            if fy and fy not in years:
                years[fy] = c
        if not years:
            continue
        keys = [normalise(t) for t in texts]
        roles: dict[str, int] = {}
        for role, names in DATABASE_COLUMNS.items():
            for name in names:
                hits = [c for c, k in enumerate(keys) if k == name and c not in roles.values()]
                if hits:
                    roles[role] = hits[0]
                    break
        if "region" in roles and ("subfunction" in roles or "function" in roles):
            return _DatabaseHeader(r, texts, roles, years)
    return None


def _pick_year(
    years: dict[str, int], options: ReadOptions, grid: Grid, row: int
) -> tuple[str, int]:
    listed = ", ".join(years)
    wanted = options.year or options.project_year
    if wanted is None:
        if len(years) == 1:
            return next(iter(years.items()))
        raise InputError.one(
            "bad-option",
            f"the table has {len(years)} years as columns ({listed}): say which with --year "
            "(a year's column is counted, never several added together).",
            file=grid.file_name,
            sheet=grid.sheet,
            row=row + 1,
            note="Use --year 2017-18, or set the financial year in placecount.toml.",
        )
    if wanted not in years:
        how = "--year" if options.year else "the project's financial year"
        raise InputError.one(
            "year-not-found",
            f"there is no column for {wanted} ({how}): the years are {listed}.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=row + 1,
            note="Use --year with one of them.",
        )
    return wanted, years[wanted]


def _region_required(grid: Grid, names: list[str], what: str) -> InputError:
    return InputError.one(
        "region-required",
        f"this table has {what} for many regions: say which.",
        file=grid.file_name,
        sheet=grid.sheet,
        note="Use --region NAME; the regions are: " + ", ".join(repr(n) for n in names) + ".",
    )


def _require_share(options: ReadOptions, file_name: str) -> None:
    from .pesa import _require_share as require

    require(options, file_name)


def _read_database(
    grid: Grid,
    hdr: _DatabaseHeader,
    others: list[Grid],
    options: ReadOptions,
    issues: list[Issue],
) -> SourceRead:
    year, ycol = _pick_year(hdr.years, options, grid, hdr.row)
    roles = hdr.roles
    if "sector" not in roles and options.part is None:
        raise InputError.one(
            "part-not-stated",
            "this CRA database has no CG/LG/PC column: it cannot say which lines are central "
            "government, local government or public corporations.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=hdr.row + 1,
            note="Say which part the whole file is with --part central|local|total.",
        )
    rcol = roles["region"]
    rows = grid.rows
    published: dict[str, str] = {}
    for r in range(hdr.row + 1, len(rows)):
        name = cell_text(rows[r][rcol]) if rcol < len(rows[r]) else ""
        if name:
            published.setdefault(plain_region(name), name)
    names = sorted(set(published.values()))
    if not options.region:
        raise _region_required(grid, names, "rows")
    wanted = plain_region(options.region)
    if wanted not in published:
        raise InputError.one(
            "region-not-found",
            f"no rows for region {options.region!r}.",
            file=grid.file_name,
            sheet=grid.sheet,
            column=column_letter(rcol),
            note="The regions are: " + ", ".join(repr(n) for n in names) + ".",
        )
    _require_share(options, grid.file_name)
    header = Header(hdr.row, hdr.texts, {"amount": ycol}, "")
    errors = AmountErrors(grid, header, ycol)
    lines: list[Line] = []
    values: list[Decimal | None] = []

    def at(r: int, role: str) -> str | None:
        c = roles.get(role)
        t = cell_text(rows[r][c]) if c is not None and c < len(rows[r]) else ""
        return t or None

    for r in range(hdr.row + 1, len(rows)):
        if plain_region(at(r, "region")) != wanted:
            continue
        value = rows[r][ycol] if ycol < len(rows[r]) else None
        kind, number = parse_amount(value)
        if kind == "bad":
            errors.add(r, value, "unparseable-amount", f"{cell_text(value)!r} is not an amount.")
        finest = at(r, "subfunction") or at(r, "function") or ""
        code, label = split_code(finest)
        # the function a sub-function sits under: "LA data" or an "of which" line is
        # mapped by its label under it
        function = at(r, "function") if at(r, "subfunction") else None
        sector_text = at(r, "sector")
        sector, part = SECTORS.get(normalise(sector_text), (sector_text, None))
        extra = {
            k: v
            for k, v in (
                ("sector", sector),
                ("identifiable", IDENTIFIABLE.get(normalise(at(r, "identifiable")))),
                ("spend_type", SPEND_TYPES.get(normalise(at(r, "spend_type")))),
                ("table_name", function),
            )
            if v
        }
        dept, org = at(r, "department"), at(r, "organisation")
        line = Line(
            row=r + 1,
            column=column_letter(ycol),
            native_code=code,
            native_label=label or None,
            amount_text=cell_text(value) or None,
            amount_pence=None,
            before_share_pence=None,
            org=_org_name(dept, org),
            year=year,
            part=part or options.part or "total",
            extra=extra,
        )
        if number is None:
            line.included = False
            line.reason = {"bad": "bad amount", "blank": "no amount"}.get(
                kind, "amount not available"
            )
        lines.append(line)
        values.append(number)
    errors.raise_if_any()
    if not any(v is not None for v in values):
        raise InputError.one(
            "year-not-found",
            f"region {options.region!r} has {len(lines):,} rows but none has an amount for "
            f"{year} (column {column_letter(ycol)}).",
            file=grid.file_name,
            sheet=grid.sheet,
            column=column_letter(ycol),
            header=hdr.texts[ycol],
            note="Choose another year with --year: the years are " + ", ".join(hdr.years) + ".",
        )
    units, units_from = _database_units(grid, hdr, ycol, others, options, values)
    set_pence(lines, values, units, options.share)
    parts = sorted({ln.part for ln in lines if ln.part and ln.included})
    return SourceRead(
        kind="pesa",
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=hdr.row + 1,
        units=units,
        units_from=units_from,
        org=None,
        year=year,
        region=published[wanted],
        part=parts[0] if len(parts) == 1 else "mixed",
        share=options.share_text,
        share_basis=options.share_basis,
        table=lines_to_table(lines),
        columns={"amount": column_letter(ycol)},
    )


def _org_name(dept: str | None, org: str | None) -> str | None:
    if dept and org and normalise(dept) != normalise(org):
        return f"{dept} / {org}"
    return dept or org


_UNIT_SUBJECT = re.compile(r"\b(expenditure|figures|values|amounts|data|tables?)\b", re.I)
_UNIT_VERB = re.compile(r"\b(shown|are|in|equate)\b", re.I)


def unit_sentence(text: str) -> bool:
    """Whether a line of a notes sheet reads like a statement of the figures' unit: a word
    for the figures and then a verb. Two searches a line, not one pattern with ".*" between
    them, which went back over the rest of the cell for each "table" in it (issue #14).

    >>> unit_sentence("Figures in this table are shown in £ million")
    True
    """
    for line in text.split("\n"):
        subject = _UNIT_SUBJECT.search(line)
        if subject is not None and _UNIT_VERB.search(line, subject.end()):
            return True
    return False


def _stated_unit(grids: list[Grid], rows: int = 100) -> tuple[str, str] | None:
    """A unit stated in words on a notes or metadata sheet (in its first ``rows`` rows),
    and the cell that says it."""
    for g in grids:
        for r, row in enumerate(g.head(rows)):
            for c, v in enumerate(row):
                t = cell_text(v)
                if len(t) < 12 or not unit_sentence(t):
                    continue
                for sentence in re.split(r"(?<=\.)\s+", t):
                    unit = detect_units(sentence)
                    if unit and "per head" not in sentence.lower():
                        where = f"sheet {g.sheet!r} cell {column_letter(c)}{r + 1}"
                        return unit, f"{where}: {sentence.strip()[:120]!r}"
    return None


def _database_units(
    grid: Grid,
    hdr: _DatabaseHeader,
    ycol: int,
    others: list[Grid],
    options: ReadOptions,
    values: list[Decimal | None],
) -> tuple[str, str]:
    if options.units:
        return options.units, "--units"
    unit = detect_units(hdr.texts[ycol])
    if unit:
        return unit, f"header {hdr.texts[ycol]!r}"
    title = " ".join(cell_text(v) for row in grid.head(hdr.row) for v in row if cell_text(v))
    unit = detect_units(title)
    if unit:
        return unit, "title"
    stated = _stated_unit(others)
    if stated:
        return stated
    total = sum((v for v in values if v is not None), Decimal(0))
    people = options.region_population
    whose = "the region"
    if people is None and options.share:
        place = options.place_population or options.population
        if place:
            people = round(Fraction(place) / options.share)
            whose = "the region (the place's population divided by the share)"
    return prove_units(
        "pesa",
        total,
        people,
        file_name=grid.file_name,
        sheet=grid.sheet,
        what="the region's lines",
        whose=whose,
    )


def set_pence(
    lines: list[Line], values: list[Decimal | None], units: str, share: Fraction | None
) -> None:
    """Each kept line's pence, before and after the share, rounded once over the lines.

    A line left out with an amount (a total, an 'of which' line) is rounded on its own:
    it is shown, never added."""
    factor = UNIT_FACTOR[units] * 100
    kept: list[int] = []
    exact: list[Fraction] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = Fraction(v) * factor
        if lines[i].included:
            kept.append(i)
            exact.append(x)
        else:
            lines[i].before_share_pence = round(x)
            lines[i].amount_pence = round(x if share is None else x * share)
    before = round_once(exact)
    after = before if share is None else round_once([x * share for x in exact])
    for i, b, a in zip(kept, before, after, strict=True):
        lines[i].before_share_pence, lines[i].amount_pence = b, a


# --- the chapter 9 tables: regions as rows, one function per table -----------------------


@dataclass
class _Chapter9:
    grid: Grid
    number: str
    title: str
    units: str | None
    units_cell: str
    year_row: int
    #: the blocks of year columns: (heading, {year: column})
    blocks: list[tuple[str, dict[str, int]]]
    function_code: str | None = None
    function_label: str | None = None
    is_control: bool = False
    regions: dict[str, int] = field(default_factory=dict)


def _chapter9_table(grid: Grid) -> _Chapter9 | None:
    head = grid.head(12)
    if not head or not head[0]:
        return None
    first = cell_text(next((v for v in head[0] if cell_text(v)), None))
    m = _TABLE_TITLE.match(first)
    if not m:
        return None
    number, title = m.group(1), m.group(2)
    year_rows = [
        (r, cols)
        for r, row in enumerate(head)
        if len(cols := {c: fy for c, v in enumerate(row) if (fy := year_heading(v))}) >= 2
    ]
    if not year_rows:
        return None
    r, cols = year_rows[0]
    units, units_cell = None, ""
    for ur in range(1, r):
        for c, v in enumerate(head[ur]):
            u = detect_units(cell_text(v))
            if u and "per head" not in cell_text(v).lower() and units is None:
                units, units_cell = u, f"{column_letter(c)}{ur + 1}: {cell_text(v)!r}"
    blocks: list[tuple[str, dict[str, int]]] = []
    for c in sorted(cols):
        if not blocks or cols[c] in blocks[-1][1]:
            heading = ""
            for hr in range(r - 1, 0, -1):
                t = cell_text(grid.cell(hr, c))
                if t and normalise(t) != "national statistics" and not detect_units(t):
                    heading = t
                    break
            blocks.append((heading, {}))
        blocks[-1][1][cols[c]] = c
    table = _Chapter9(grid, number, title, units, units_cell, r, blocks)
    for rr in range(r + 1, grid.n_rows):
        name = cell_text(grid.cell(rr, 0))
        if name:
            table.regions.setdefault(plain_region(name), rr)
    key = normalise(title)
    if "per head" in key or "real terms" in key or "per cent" in key:
        return table
    if key.startswith("total identifiable expenditure on services"):
        table.is_control = True
        return table
    from .pesa import _function_labels

    fn = _function_labels().get(normalise(blocks[0][0]))
    if fn and key.startswith("identifiable expenditure on") and "of which" not in key:
        table.function_code, table.function_label = fn, blocks[0][0].strip()
    return table


def _read_chapter9(
    tables: list[_Chapter9], options: ReadOptions, issues: list[Issue]
) -> list[SourceRead]:
    functions = [t for t in tables if t.function_code]
    control = next((t for t in tables if t.is_control), None)
    first = functions[0]
    grid = first.grid
    year, _ = _pick_year(first.blocks[0][1], options, grid, first.year_row)
    if not options.region:
        names = [cell_text(grid.cell(r, 0)) for r in first.regions.values()]
        raise _region_required(grid, names, "rows")
    wanted = plain_region(options.region)
    _require_share(options, grid.file_name)
    lines: list[tuple[_Chapter9, Line]] = []
    values: list[Decimal | None] = []
    for t in functions:
        g = t.grid
        if year not in t.blocks[0][1]:
            raise InputError.one(
                "year-not-found",
                f"table {t.number} has no column for {year}.",
                file=g.file_name,
                sheet=g.sheet,
                row=t.year_row + 1,
            )
        col = t.blocks[0][1][year]
        if wanted not in t.regions:
            listed = ", ".join(repr(cell_text(g.cell(r, 0))) for r in t.regions.values())
            raise InputError.one(
                "region-not-found",
                f"table {t.number} has no row for region {options.region!r}.",
                file=g.file_name,
                sheet=g.sheet,
                column="A",
                note=f"The rows are: {listed}.",
            )
        r = t.regions[wanted]
        value = g.cell(r, col)
        kind, number = parse_amount(value)
        if kind == "bad":
            raise InputError.one(
                "unparseable-amount",
                f"{cell_text(value)!r} is not an amount.",
                file=g.file_name,
                sheet=g.sheet,
                row=r + 1,
                column=column_letter(col),
            )
        line = Line(
            row=r + 1,
            column=column_letter(col),
            native_code=t.function_code,
            native_label=t.function_label,
            amount_text=cell_text(value) or None,
            amount_pence=None,
            before_share_pence=None,
            year=year,
            part=options.part or "total",
            extra={"table_name": f"Table {t.number}", "identifiable": "identifiable"},
        )
        if number is None:
            line.included, line.reason = False, "no amount"
        lines.append((t, line))
        values.append(number)
    units = options.units or first.units
    if units is None:
        raise InputError.one(
            "unit-not-proved",
            "the tables do not state their unit.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="Say which with --units pounds|thousands|millions.",
        )
    set_pence([ln for _, ln in lines], values, units, options.share)
    blocks = ", ".join(repr(h) for h, _ in first.blocks[1:] if h)
    issues.append(
        Issue(
            code="total-block-taken",
            severity="info",
            message=f"each function table's total block is counted; its other blocks "
            f"({blocks or 'none'}) are parts of that total, so they are not.",
            file=grid.file_name,
        )
    )
    if control is not None:
        _check_control(control, wanted, year, lines, values, units, issues)
    else:
        issues.append(
            Issue(
                code="control-total",
                severity="warning",
                message="there is no all-functions table (9.1a) to check the functions "
                "against: a missing function table would go unnoticed.",
                file=grid.file_name,
            )
        )
    out = []
    for t, line in lines:
        out.append(
            SourceRead(
                kind="pesa",
                file_name=t.grid.file_name,
                sheet=t.grid.sheet,
                header_row=t.year_row + 1,
                units=units,
                units_from="--units"
                if options.units
                else f"sheet {t.grid.sheet!r} cell {t.units_cell}",
                org=None,
                year=year,
                region=cell_text(t.grid.cell(t.regions[wanted], 0)),
                part=line.part,
                share=options.share_text,
                share_basis=options.share_basis,
                table=lines_to_table([line]),
                columns={"amount": line.column or ""},
            )
        )
    return out


def _check_control(
    control: _Chapter9,
    wanted: str,
    year: str,
    lines: list[tuple[_Chapter9, Line]],
    values: list[Decimal | None],
    units: str,
    issues: list[Issue],
) -> None:
    """The functions must add up to the all-functions table, within their rounding."""
    g = control.grid
    col = control.blocks[0][1].get(year)
    r = control.regions.get(wanted)
    if col is None or r is None:
        return
    kind, printed = parse_amount(g.cell(r, col))
    if printed is None:
        return
    got = sum((v for v in values if v is not None), Decimal(0))
    diff = got - printed
    where = dict(file=g.file_name, sheet=g.sheet, row=r + 1, column=column_letter(col))
    # each published figure is rounded to the unit: n of them can be n/2 out, at most
    allowed = Decimal(len(values)) / 2
    text = (
        f"the {len(values)} function tables add up to {UNIT_WORDS[units]}{got:,} for "
        f"{year}, against {printed:,} printed in table {control.number}"
    )
    if abs(diff) > allowed:
        raise InputError.one(
            "control-total-mismatch",
            f"{text}: {abs(diff):,} apart, more than rounding can explain.",
            note="Check that every function table of the release is in the file.",
            **where,
        )
    issues.append(
        Issue(
            code="subtotal-mismatch" if diff else "control-total",
            severity="info",
            message=f"{text}" + (f" (a difference of {diff:,}, from rounding)." if diff else "."),
            **where,  # type: ignore[arg-type]
        )
    )


# --- the ONS country and regional public sector finances tables --------------------------


@dataclass
class _OnsTable:
    number: str
    name: str
    row: int
    years: dict[str, int]
    end: int  # the row of its total


def _ons_tables(grid: Grid) -> list[_OnsTable]:
    out: list[_OnsTable] = []
    rows = grid.rows
    for r, row in enumerate(rows):
        if not row:
            continue
        m = _TABLE_TITLE.match(cell_text(row[0]))
        if not m:
            continue
        years = {fy: c for c, v in enumerate(row) if (fy := year_heading(v))}
        if len(years) < 2:
            continue
        out.append(_OnsTable(m.group(1), m.group(2), r, years, len(rows)))
    for a, b in zip(out, out[1:], strict=False):
        a.end = b.row
    return out if len(out) >= 2 else []


def _ons_extra(table: _OnsTable) -> dict[str, str]:
    """What an ONS table's name says of its lines: identifiable or not, current or capital."""
    words = normalise(table.name).split()
    out = {"table_name": f"Table {table.number}: {table.name}"}
    if "non" in words and "identifiable" in words:
        out["identifiable"] = "non-identifiable"
    elif "identifiable" in words:
        out["identifiable"] = "identifiable"
    for word in ("current", "capital"):
        if word in words:
            out["spend_type"] = word
    return out


def _read_ons(grids: list[Grid], options: ReadOptions, issues: list[Issue]) -> SourceRead:
    sheets = {plain_region(g.sheet): g for g in grids if _ons_tables(g)}
    some = next(iter(sheets.values()))
    tables = _ons_tables(some)
    listed = "; ".join(f"{t.number}: {t.name}" for t in tables)
    chosen = options.table
    if not chosen:
        # A place count is of identifiable spending (non-identifiable spending, such as
        # defence and debt interest, is outside it): the documented default is the table of
        # total identifiable expenditure, current and capital together, and the summary
        # says it was taken. Without exactly one such table, the choice is the user's.
        default = [t for t in tables if normalise(t.name) == "total identifiable expenditure"]
        if len(default) != 1:
            raise InputError.one(
                "table-required",
                f"each sheet has {len(tables)} tables, and which one to count is a choice: "
                f"{listed}.",
                file=some.file_name,
                sheet=some.sheet,
                note="Pick one with --table N or --table NAME, e.g. "
                f"--table {tables[min(1, len(tables) - 1)].number}.",
            )
        chosen = default[0].number
        issues.append(
            Issue(
                code="table-taken",
                severity="info",
                message=f"took table {default[0].number} {default[0].name!r}: a place count is "
                "of identifiable spending, current and capital together.",
                file=some.file_name,
                sheet=some.sheet,
                row=default[0].row + 1,
                note=f"For another table say --table N ({listed}).",
            )
        )
    want = normalise(chosen)
    pick = [
        i for i, t in enumerate(tables) if normalise(t.number) == want or normalise(t.name) == want
    ]
    if not pick:
        raise InputError.one(
            "table-not-found",
            f"there is no table {options.table!r}: the tables are {listed}.",
            file=some.file_name,
            sheet=some.sheet,
            note="Pick one with --table N or --table NAME.",
        )
    index = pick[0]
    year, _ = _pick_year(tables[index].years, options, some, tables[index].row)
    if not options.region:
        raise _region_required(some, [g.sheet or "" for g in sheets.values()], "a sheet")
    grid = sheets.get(plain_region(options.region))
    if grid is None:
        raise InputError.one(
            "region-not-found",
            f"there is no sheet for region {options.region!r}.",
            file=some.file_name,
            note="The regions are: " + ", ".join(repr(g.sheet) for g in sheets.values()) + ".",
        )
    _require_share(options, grid.file_name)
    table = _ons_tables(grid)[index]
    if year not in table.years:
        raise InputError.one(
            "year-not-found",
            f"table {table.number} has no column for {year}.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=table.row + 1,
        )
    col = table.years[year]
    header = Header(table.row, header_texts(grid, table.row), {"amount": col}, "")
    errors = AmountErrors(grid, header, col)
    lines: list[Line] = []
    values: list[Decimal | None] = []
    total: tuple[int, Decimal] | None = None
    for r in range(table.row + 1, table.end):
        row = grid.rows[r]
        if row_is_empty(row):
            continue
        raw = _NOTE.sub("", cell_text(row[0]))
        value = grid.cell(r, col)
        kind, number = parse_amount(value)
        if kind == "bad":
            errors.add(r, value, "unparseable-amount", f"{cell_text(value)!r} is not an amount.")
        code, label = split_code(raw)
        line = Line(
            row=r + 1,
            column=column_letter(col),
            native_code=code,
            native_label=label or None,
            amount_text=cell_text(value) or None,
            amount_pence=None,
            before_share_pence=None,
            year=year,
            part=options.part or "total",
            extra=_ons_extra(table),
        )
        lines.append(line)
        values.append(number)
        if number is None:
            line.included, line.reason = False, "no amount"
        elif normalise(label).startswith("of which"):
            line.included, line.reason = False, "'of which' line: already in the function above"
        elif is_total_label(raw):
            line.included, line.reason = False, "total row: checked against the lines"
            total = (r, number)
    errors.raise_if_any()
    stated = _stated_unit([grid], rows=table.row)
    if options.units:
        units, units_from = options.units, "--units"
    elif stated:
        units, units_from = stated
    else:
        raise InputError.one(
            "unit-not-proved",
            "the sheet does not state its unit.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="Say which with --units pounds|thousands|millions.",
        )
    set_pence(lines, values, units, options.share)
    if total is not None:
        got = sum(
            (v for v, ln in zip(values, lines, strict=True) if v is not None and ln.included),
            Decimal(0),
        )
        diff = got - total[1]
        n = sum(1 for ln in lines if ln.included)
        where = dict(
            file=grid.file_name, sheet=grid.sheet, row=total[0] + 1, column=column_letter(col)
        )
        text = (
            f"the {n} lines add up to {UNIT_WORDS[units]}{got:,} against the printed total "
            f"{total[1]:,}"
        )
        if abs(diff) > Decimal(n) / 2:
            raise InputError.one(
                "control-total-mismatch",
                f"{text}: more than rounding can explain.",
                **where,
            )
        issues.append(
            Issue(
                code="subtotal-mismatch" if diff else "control-total",
                severity="info",
                message=text + (f" (a difference of {diff:,}, from rounding)." if diff else "."),
                **where,  # type: ignore[arg-type]
            )
        )
    return SourceRead(
        kind="pesa",
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=table.row + 1,
        units=units,
        units_from=units_from,
        org=None,
        year=year,
        region=grid.sheet,
        part=options.part or "total",
        share=options.share_text,
        share_basis=options.share_basis,
        table=lines_to_table(lines),
        columns={"amount": column_letter(col)},
    )
