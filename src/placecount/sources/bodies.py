"""Tables of many bodies: one row per authority (or ICB), one column per service line.

Central government publishes local spending this way: MHCLG's Revenue Account and
Revenue Outturn "LA data" sheets, the RS and RSX summaries, the RO forms and the COR4
capital outturn each give every authority a row, its E-code, ONS code and class, and a
column per service line (with the line's number in a row above the header). Some forms
give each line several measures (employees, running expenses, total expenditure, sales,
other income, total income, net current expenditure). The rows below the authorities
(ENGLAND, the class totals) are totals, never bodies.

This module reads such a sheet for the bodies asked for with ``--org``: each chosen
row becomes lines (its service columns), with the body's name, code and class on every
line. TOTAL columns are control totals, not lines; the columns after TOTAL SERVICE
EXPENDITURE (housing benefit, precepts, levies, financing) are read and left out with
their reason, so a body's kept total is its service expenditure.

It also reads the "drop-down" sheets that stack one table per service group for one
authority, and refuses files that are not spending at all (reserves, council tax).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from ..errors import InputError, Issue, column_letter, shorten
from ..models import KindSchema, Line, ReadOptions, SourceRead, lines_to_table
from ._cells import UNIT_FACTOR, cell_text, detect_units, financial_year, normalise, parse_amount
from ._grid import Grid, read_grids
from ._rounding import round_once
from ._table import MAX_POUNDS, is_total_label, to_pence
from ._units import prove_units

#: How far down a sheet the header of a table of bodies is looked for.
HEADER_SCAN_ROWS = 40
#: How many rows above the header may hold line numbers, column numbers and labels.
ABOVE_ROWS = 8

_NAME_HEADERS = {
    "local authority",
    "local authority name",
    "la name",
    "authority",
    "authority name",
    "organisation name",
    "icb name",
    "name",
}
_CODE_HEADERS = {"e code": "e_code", "ecode": "e_code", "ons code": "ons_code", "ons": "ons_code"}
_CLASS_HEADERS = {"class"}
#: Columns beside the body's name that describe the row rather than hold amounts.
_META_HEADERS = {
    "subclass",
    "notes",
    "detailed class",
    "certified",
    "response rate",
    "region",
    "la code",
}

#: Measures, as headers word them, and the name stored for each. The three a count can
#: take are ``net``, ``gross`` (total expenditure) and ``income`` (total income); the
#: others are parts of them. Checked in order: the first pattern found in a header wins.
_MEASURES: list[tuple[str, str]] = [
    (r"net current expenditure", "net"),
    (r"total capital expenditure", "gross"),
    (r"total capital receipts", "income"),
    (r"cor1 2 (?:col 13 )?total receipts", "receipts on assets"),
    (r"cor1 2 total expenditure", "expenditure on assets"),
    (r"acquis(?:ition)? of share", "acquisition of share or loan capital"),
    (r"disposal of share", "disposal of share or loan capital"),
    (r"expenditure by (?:virtue of )?s 16", "expenditure by direction"),
    (r"expenditure on payment of lsvt levy", "lsvt levy"),
    (r"employees", "employees"),
    (r"running expenses", "running expenses"),
    (r"total expenditure", "gross"),
    (r"sales fees and charges", "sales, fees and charges"),
    (r"other income", "other income"),
    (r"total income", "income"),
]


def measure_of(header: str) -> tuple[str | None, str]:
    """The measure a column header names, and the line label left when it is taken out.

    >>> measure_of("Education services- Total Expenditure\\n (C3 = C1 + C2)")
    ('gross', 'Education services')
    >>> measure_of("Early years")
    (None, 'Early years')
    """
    key = normalise(header)
    for pattern, name in _MEASURES:
        m = re.search(rf"(?:^| ){pattern}(?: |$)", key)
        if m:
            words = key[: m.start()].split()
            label = _original_prefix(header, len(words))
            return name, label
    return None, header.strip()


def _original_prefix(text: str, n_words: int) -> str:
    """The first ``n_words`` words of ``text`` as written, without trailing dashes."""
    if n_words == 0:
        return ""
    seen = 0
    out = []
    for token in re.split(r"(\s+|-)", text):
        if normalise(token):
            seen += len(normalise(token).split())
        out.append(token)
        if seen >= n_words:
            break
    return "".join(out).strip(" -–:\n\t")


@dataclass
class ValueColumn:
    """One column of amounts: a service line (or a total) under one measure."""

    col: int
    header: str
    code: str | None
    col_no: str | None
    label: str
    section: str | None
    measure: str | None
    #: 'line', 'subtotal', 'total' (the grand total) or 'below' (below the line)
    role: str = "line"
    reason: str | None = None

    @property
    def key(self) -> str:
        return self.code or normalise(self.label)


@dataclass
class Body:
    """A row of the table that is one body."""

    row: int  # 0-based
    name: str
    e_code: str | None
    ons_code: str | None
    org_class: str | None

    @property
    def code(self) -> str | None:
        return self.ons_code or self.e_code

    def describe(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name


@dataclass
class BodyTable:
    """Where a table of bodies is in a sheet, and what each column holds."""

    grid: Grid
    header_row: int  # 0-based
    name_col: int
    code_cols: dict[str, int]
    class_col: int | None
    columns: list[ValueColumn]
    bodies: list[Body]
    not_bodies: list[Body]
    title: str

    @property
    def grand_total(self) -> list[ValueColumn]:
        return [c for c in self.columns if c.role == "total"]


# -- finding the table -----------------------------------------------------------------


def find_body_header(grid: Grid) -> tuple[int, int, dict[str, int], int | None] | None:
    """The header row of a table of bodies: (row, name column, code columns, class column)."""
    for r, row in enumerate(grid.head(HEADER_SCAN_ROWS)):
        keys = [normalise(v) for v in row]
        names = [c for c, k in enumerate(keys) if k in _NAME_HEADERS]
        codes = {_CODE_HEADERS[k]: c for c, k in enumerate(keys) if k in _CODE_HEADERS}
        if not names or not codes:
            continue
        name_col = names[0]
        filled_right = sum(1 for k in keys[name_col + 1 :] if k)
        if filled_right < 2:
            continue
        class_col = next((c for c, k in enumerate(keys) if k in _CLASS_HEADERS), None)
        return r, name_col, codes, class_col
    return None


def _title(grid: Grid, header_row: int) -> str:
    return " ".join(
        cell_text(v) for row in grid.head(header_row) for v in row[:2] if cell_text(v)
    ).strip()


def _is_int(text: str | None) -> bool:
    return bool(text) and bool(re.fullmatch(r"\d{1,5}", (text or "").strip()))


def _analyse_columns(grid: Grid, header_row: int, name_col: int, skip: set[int]) -> list[int]:
    head = grid.head(header_row + 1)
    header = head[header_row]
    out = []
    for c in range(name_col + 1, grid.width):
        if c in skip:
            continue
        text = normalise(header[c] if c < len(header) else None)
        if text in _META_HEADERS:
            continue
        if not text:
            continue
        out.append(c)
    return out


def _above_rows(grid: Grid, header_row: int, cols: list[int]) -> dict[str, int | None]:
    """Which rows above the header hold line numbers, column numbers and labels."""
    head = grid.head(header_row + 1)
    found: dict[str, int | None] = {"code": None, "col_no": None, "label": None}
    for r in range(header_row - 1, max(header_row - ABOVE_ROWS, 0) - 1, -1):
        row = head[r]
        cells = [cell_text(row[c]) if c < len(row) else "" for c in cols]
        filled = [t for t in cells if t]
        if not filled:
            continue
        left = " ".join(normalise(v) for v in row[: min(cols)] if v)
        ints = sum(1 for t in filled if _is_int(t))
        if ints >= 0.8 * len(filled) and len(filled) >= 0.5 * len(cols):
            # "Row_no" / "line number" rows give the line; "Col_no" rows (1…7) the measure
            words = left.split()
            says_col = "col" in words
            says_row = "row" in words or "line" in words
            small = max(int(t) for t in filled if _is_int(t)) <= 20
            if found["col_no"] is None and (
                says_col or (small and not says_row and found["code"] is None)
            ):
                found["col_no"] = r
            elif found["code"] is None:
                found["code"] = r
            continue
        if found["label"] is None and len(filled) < 0.9 * len(cols) and ints < len(filled):
            found["label"] = r
    # a column-number row is only that when a line-number row is there too
    if found["col_no"] is not None and found["code"] is None:
        found["code"], found["col_no"] = found["col_no"], None
    return found


def read_value_columns(grid: Grid, header_row: int, cols: list[int]) -> list[ValueColumn]:
    """Each amount column's line number, column number, label, section and measure."""
    head = grid.head(header_row + 1)
    where = _above_rows(grid, header_row, cols)

    def at(r: int | None, c: int) -> str | None:
        if r is None:
            return None
        row = head[r]
        return cell_text(row[c]) or None if c < len(row) else None

    raw = []
    for c in cols:
        header = cell_text(head[header_row][c])
        measure, stripped = measure_of(header)
        raw.append((c, header, at(where["code"], c), at(where["col_no"], c), measure, stripped))
    # a table of measures names one in most headers; a stray "Net current expenditure"
    # column among service lines does not make one
    measured = [m for *_, m, _ in raw if m]
    has_measures = len(set(measured)) >= 2 and len(measured) >= 0.2 * len(raw)
    if not has_measures:
        raw = [(c, h, code, col_no, None, h.strip()) for c, h, code, col_no, _, _ in raw]
    out: list[ValueColumn] = []
    carried: str | None = None
    carried_code: str | None = None
    for c, header, code, col_no, measure, stripped in raw:
        above = at(where["label"], c)
        if above is not None:
            carried, carried_code = above, code
        elif has_measures and code is not None and code != carried_code:
            carried = None
        above = carried
        if has_measures and measure is not None:
            label = above or stripped or header
            section = None
        else:
            label = stripped if measure else header
            section = above
        out.append(ValueColumn(c, header, code, col_no, label.strip(), section, measure))
    return out


_ENGLAND = re.compile(r"^(england|class breakdown|total)\b")
_CLASS_CODE = re.compile(r"^E\d{2}$|^\[?[A-Z]\]?$")


def read_bodies(
    grid: Grid, header_row: int, name_col: int, code_cols: dict[str, int], class_col: int | None
) -> tuple[list[Body], list[Body]]:
    """The rows that are bodies, and those that are totals of them (ENGLAND, classes)."""
    names = grid.columns[name_col].to_pylist()
    codes = {role: grid.columns[c].to_pylist() for role, c in code_cols.items()}
    classes = grid.columns[class_col].to_pylist() if class_col is not None else None
    bodies: list[Body] = []
    totals: list[Body] = []
    below = False
    for r in range(header_row + 1, grid.n_rows):
        name = cell_text(names[r])
        if not name:
            continue
        e_code = cell_text(codes["e_code"][r]) or None if "e_code" in codes else None
        ons = cell_text(codes["ons_code"][r]) or None if "ons_code" in codes else None
        body = Body(r, name, e_code, ons, (cell_text(classes[r]) or None) if classes else None)
        key = normalise(name)
        is_header = key in _NAME_HEADERS or normalise(e_code) in _CODE_HEADERS
        if _ENGLAND.match(key) or is_header or ons == "E92000001":
            below = True
        if below or is_total_label(name) or _CLASS_CODE.match(ons or "") or not (e_code or ons):
            totals.append(body)
        else:
            bodies.append(body)
    return bodies, totals


def _sections(columns: list[ValueColumn]) -> dict[str | None, set[str]]:
    out: dict[str | None, set[str]] = {}
    for vc in columns:
        out.setdefault(vc.section, set()).add(vc.key)
    return out


def classify_columns(columns: list[ValueColumn]) -> bool:
    """Mark each column a line, a subtotal, the grand total or below the line.

    Returns False when no column is a service total (the table is not service spending).
    """
    g = next(
        (
            i
            for i, vc in enumerate(columns)
            if normalise(vc.label).startswith("total service expenditure")
            or normalise(vc.section) == "all services"
            or normalise(vc.label) == "all services"
        ),
        None,
    )
    if g is None and all(vc.section is None for vc in columns):
        g = next(
            (
                i
                for i, vc in enumerate(columns)
                if normalise(vc.label).startswith("total ") and is_total_label(vc.label)
            ),
            None,
        )
    if g is None:
        return False
    total = columns[g]
    in_total = [
        i
        for i, vc in enumerate(columns)
        if i >= g
        and (
            vc.key == total.key
            or (total.section is not None and normalise(vc.section) == normalise(total.section))
        )
    ]
    last_total = max(in_total)
    before = columns[:g]
    sections = _sections(before)
    for i, vc in enumerate(columns):
        if i in in_total or (g <= i <= last_total and vc.key == total.key):
            vc.role = "total"
            vc.reason = f"control total ({shorten(total.label, 60)})"
        elif i > g:
            vc.role = "below"
            vc.reason = below_the_line_reason(vc.label)
        elif (
            vc.section is not None
            and is_total_label(vc.label)
            and len(sections.get(vc.section, set())) > 1
        ):
            vc.role = "subtotal"
            vc.reason = f"subtotal of {shorten(vc.section, 60)}: a control total, not a line"
        else:
            vc.role = "line"
    return True


def below_the_line_reason(label: str) -> str:
    """Why a column after TOTAL SERVICE EXPENDITURE is not counted as spending."""
    key = normalise(label)
    if "housing benefit" in key:
        return (
            "below the line: housing benefit, paid for DWP and counted in its lines, not "
            "service spending"
        )
    if "contribution to the hra" in key:
        return "below the line: a transfer to the council's own Housing Revenue Account"
    if "precept" in key or re.search(r"\blev(y|ies)\b", key):
        return "below the line: a transfer (a precept or levy paid to another body)"
    if is_total_label(label) or re.match(
        r"^(net current expenditure|revenue expenditure|net revenue expenditure|"
        r"council tax requirement)",
        key,
    ):
        return "below the line: a total, not spending"
    if re.search(r"\b(number|numbers) of\b|please confirm", key):
        return "below the line: not money"
    if re.search(
        r"\bgrants?\b|revenue support|rate retention|collection fund|business rates|"
        r"council tax|\bincome\b|receipts?\b|financ",
        key,
    ):
        return "below the line: financing, not spending"
    if "reserve" in key:
        return "below the line: reserves, not spending"
    return "below the line: an accounting adjustment, not spending"


# -- choosing bodies ---------------------------------------------------------------------


def choose_bodies(table: BodyTable, options: ReadOptions, file_name: str) -> list[Body]:
    """The bodies asked for (names exactly, or codes), or an error saying how to choose."""
    grid = table.grid
    wanted = options.orgs or ([options.org] if options.org else [])
    if not wanted:
        if len(table.bodies) == 1:
            return list(table.bodies)
        examples = _examples(table.bodies)
        raise InputError.one(
            "org-required",
            f"this sheet has {len(table.bodies):,} bodies, one a row: say which to count.",
            file=file_name,
            sheet=grid.sheet,
            note=f"Use --org NAME or --org CODE (repeatable), or --orgs FILE; e.g. {examples}.",
        )
    chosen: list[Body] = []
    problems: list[Issue] = []
    for text in wanted:
        hits = [b for b in table.bodies if _matches(b, text)]
        if len(hits) == 1:
            if hits[0] not in chosen:
                chosen.append(hits[0])
            continue
        if len(hits) > 1:
            problems.append(
                Issue(
                    code="org-not-found",
                    message=f"--org {text!r} matches more than one row: "
                    + ", ".join(f"{b.describe()} (row {b.row + 1})" for b in hits)
                    + ".",
                    file=file_name,
                    sheet=grid.sheet,
                    note="Give the ONS code or E-code instead.",
                )
            )
            continue
        total = next((b for b in table.not_bodies if _matches(b, text)), None)
        if total is not None:
            problems.append(
                Issue(
                    code="org-not-found",
                    message=f"--org {text!r} is row {total.row + 1}, {total.describe()}, a "
                    "total of authorities (England or a class of them) or a row below it, "
                    "not a body: it would count them twice.",
                    file=file_name,
                    sheet=grid.sheet,
                    row=total.row + 1,
                    note="Name the authorities themselves.",
                )
            )
            continue
        close = [b for b in table.bodies if _near(b.name, text)]
        hint = (
            "Did you mean " + " or ".join(repr(b.name) for b in close[:4]) + "? Names must match "
            "in full; codes (ONS or E-code) work too."
            if close
            else f"Names must match in full; e.g. {_examples(table.bodies)}."
        )
        problems.append(
            Issue(
                code="org-not-found",
                message=f"no body {text!r} among the {len(table.bodies):,} rows of the table.",
                file=file_name,
                sheet=grid.sheet,
                note=hint,
            )
        )
    if problems:
        raise InputError(issues=problems)
    return chosen


def _near(name: str, text: str) -> bool:
    """A name that holds the words asked for, or is held in them: a suggestion, never a match."""
    a, b = f" {normalise(name)} ", f" {normalise(text)} "
    return bool(b.strip()) and (b.strip() in a or a in b)


def _matches(body: Body, text: str) -> bool:
    t = text.strip()
    if not t:
        return False
    if normalise(body.name) == normalise(t):
        return True
    return any(code and code.strip().upper() == t.upper() for code in (body.ons_code, body.e_code))


def _examples(bodies: list[Body]) -> str:
    picks = bodies[:: max(len(bodies) // 3, 1)][:3]
    return ", ".join(f"--org {b.name!r}" + (f" or --org {b.code}" if b.code else "") for b in picks)


# -- reading the chosen rows -------------------------------------------------------------

_MARKER = re.compile(r"^(\[[a-z]\]|[…]+|\.{2,3}|[a-z]|n/?a|-)$", re.IGNORECASE)


def _unavailable(text: str) -> bool:
    """A cell that says the figure is missing: '[x]', '…', '..', 'M', 'Category discontinued'."""
    t = text.strip()
    return bool(_MARKER.match(t)) or (
        not re.search(r"\d", t) and bool(re.search(r"[a-z]", t, re.I))
    )


def _parse(text: str | None) -> tuple[str, Decimal | None]:
    """('number', value) | ('blank', None) | ('not-available', None) | ('bad', None)."""
    if text is None or not text.strip():
        return "blank", None
    kind, number = parse_amount(text)
    if kind in ("number", "nil"):
        return "number", number
    if kind == "not-available" or _unavailable(text):
        return "not-available", None
    return "bad", None


def read_body_lines(
    table: BodyTable,
    bodies: list[Body],
    units: str,
    counted: str | None,
    spend_type: str | None,
    issues: list[Issue],
) -> list[Line]:
    """The lines of each chosen body: its service columns kept, the rest left out."""
    grid = table.grid
    header = grid.head(table.header_row + 1)[table.header_row]
    lines: list[Line] = []
    bad: list[Issue] = []
    for body in bodies:
        cells = {vc.col: cell_text(grid.cell(body.row, vc.col)) or None for vc in table.columns}
        counted_cols = [
            vc for vc in table.columns if vc.role == "line" and vc.measure in (counted, None)
        ]
        kinds = {vc.col: _parse(cells[vc.col]) for vc in table.columns}
        totals = [vc for vc in table.grand_total if vc.measure in (counted, None)]
        numbers = [vc for vc in counted_cols if kinds[vc.col][0] == "number"]
        total_missing = bool(totals) and all(kinds[t.col][0] != "number" for t in totals)
        if not numbers or total_missing:
            said = [
                t
                for t, _ in Counter(cells[vc.col] for vc in counted_cols + totals).most_common()
                if t
            ]
            raise InputError.one(
                "body-suppressed",
                f"{body.describe()} is suppressed in this file: its cells read "
                + (", ".join(repr(s) for s in said[:3]) or "nothing")
                + ", so it cannot be counted from it.",
                file=grid.file_name,
                sheet=grid.sheet,
                row=body.row + 1,
                column=column_letter((totals or counted_cols or table.columns)[0].col),
                note="Leave it out of --org, or take its figures from another release "
                "(the notes sheet says why the figures are missing).",
            )
        for vc in table.columns:
            text = cells[vc.col]
            kind, number = kinds[vc.col]
            pence: int | None = None
            if number is not None and abs(number) * UNIT_FACTOR[units] <= MAX_POUNDS:
                pence = to_pence(number, units, None)[0]
            reason = vc.reason
            if vc.role == "line":
                if vc.measure not in (counted, None):
                    reason = f"measure {vc.measure}: the count takes {counted}"
                elif kind == "bad" or (number is not None and pence is None):
                    bad.append(
                        Issue(
                            code="unparseable-amount" if kind == "bad" else "amount-too-large",
                            message=f"{shorten(text)!r} is not an amount ({body.describe()}).",
                            file=grid.file_name,
                            sheet=grid.sheet,
                            row=body.row + 1,
                            column=column_letter(vc.col),
                            header=cell_text(header[vc.col]),
                            value=text,
                        )
                    )
                elif kind == "not-available":
                    reason = f"amount not available ({shorten(text, 40)!r})"
                elif kind == "blank":
                    reason = "no amount"
            extra = {
                "org_class": body.org_class,
                "org_code": body.code,
                "measure": vc.measure or counted,
                "spend_type": spend_type,
            }
            lines.append(
                Line(
                    row=body.row + 1,
                    column=column_letter(vc.col),
                    native_code=vc.code,
                    native_label=vc.label,
                    amount_text=text,
                    amount_pence=pence,
                    before_share_pence=pence,
                    included=reason is None,
                    reason=reason,
                    org=body.name,
                    extra={k: v for k, v in extra.items() if v},
                )
            )
        check_controls(table, body, kinds, counted, issues)
    if bad:
        bad[0].note = "Correct the cell, or leave the body out of --org."
        raise InputError(issues=bad[:20])
    return lines


def check_controls(
    table: BodyTable,
    body: Body,
    kinds: dict[int, tuple[str, Decimal | None]],
    counted: str | None,
    issues: list[Issue],
) -> None:
    """Each TOTAL column equals the sum of its lines; a mismatch names the total's cell."""
    grid = table.grid
    lines = [vc for vc in table.columns if vc.role == "line" and vc.measure in (counted, None)]
    checks: list[tuple[ValueColumn, list[ValueColumn]]] = []
    for vc in table.columns:
        if vc.measure not in (counted, None):
            continue
        if vc.role == "subtotal":
            checks.append((vc, [ln for ln in lines if ln.section == vc.section]))
        elif vc.role == "total" and (vc.measure == counted or vc.measure is None):
            checks.append((vc, lines))
            break
    for total, parts in checks:
        value = kinds[total.col][1]
        if value is None:
            continue
        values = [kinds[p.col][1] or Decimal(0) for p in parts]
        got = sum(values, Decimal(0))
        if abs(got - value) > rounding_allowance([value, *values]):
            issues.append(
                Issue(
                    code="control-total-mismatch",
                    severity="warning",
                    message=f"{body.describe()}: the lines add up to {got:,} but the total "
                    f"reads {value:,} (a difference of {got - value:,}).",
                    file=grid.file_name,
                    sheet=grid.sheet,
                    row=body.row + 1,
                    column=column_letter(total.col),
                    header=total.header,
                    note="The lines are counted as published; check the file.",
                )
            )


def rounding_allowance(values: list[Decimal]) -> Decimal:
    """How far a printed total may be from the sum of its printed lines by rounding alone.

    Each figure printed to whole units may be half a unit out, the total too; figures
    written with decimals (exact, or with binary noise) leave nothing to rounding.

    >>> rounding_allowance([Decimal(30), Decimal(10), Decimal(20)])
    Decimal('1.5')
    """
    exponents = [v.as_tuple().exponent for v in values]
    if all(isinstance(e, int) and e >= 0 for e in exponents):
        return Decimal("0.5") * len(values)
    return Decimal("0.000001") * len(values)


# -- units, year, kind of money ------------------------------------------------------------


def stated_units(grid: Grid, header_row: int, front: list[Grid]) -> tuple[str, str] | None:
    """The unit the file states: this sheet's title rows, then a notes or front sheet."""
    for g, rows in [(grid, header_row)] + [(f, 40) for f in front]:
        for r, row in enumerate(g.head(rows)):
            for c, v in enumerate(row[:12]):
                text = cell_text(v)
                if not text or len(text) > 400:
                    continue
                u = detect_units(text)
                if u and (u != "pounds" or re.search(r"\bpounds?\b|£\s*$|in £", text, re.I)):
                    where = f"sheet {g.sheet!r} " if g.sheet else ""
                    phrase = _unit_phrase(text)
                    return u, f"{where}{column_letter(c)}{r + 1}: {shorten(phrase, 80)!r}"
    return None


def _unit_phrase(text: str) -> str:
    """The sentence of a note that states the unit ("Data is reported in £ thousand.")."""
    for sentence in re.split(r"(?<=[.;])\s+", text):
        if detect_units(sentence):
            return sentence.strip()
    return text.strip()


def stated_year(grid: Grid, header_row: int, front: list[Grid]) -> str | None:
    """The financial year the file states: title, sheet name, then the front sheet."""
    title = _title(grid, header_row)
    year = financial_year(title) or financial_year(grid.sheet or "")
    if year:
        return year
    for f in front:
        for row in f.head(12):
            for v in row[:3]:
                year = financial_year(cell_text(v))
                if year:
                    return year
    return None


def _is_capital(grid: Grid, header_row: int, front: list[Grid]) -> bool:
    texts = [_title(grid, header_row)] + [_title(f, 3) for f in front[:1]]
    text = normalise(" ".join(texts))
    return "capital expenditure" in text or "capital outturn" in text


# -- the stacked one-authority sheet ---------------------------------------------------------


@dataclass
class StackedTable:
    name: str
    header_row: int
    rows: list[int]


def find_stacked_tables(grid: Grid) -> list[StackedTable]:
    """Tables stacked down a sheet, each with a title, a header (code, description, amount)
    and rows with a line number in column A."""
    rows = grid.rows
    out: list[StackedTable] = []
    current: StackedTable | None = None
    title = ""
    for r, row in enumerate(rows):
        a = cell_text(row[0]) if row else ""
        b = cell_text(row[1]) if len(row) > 1 else ""
        key = normalise(a)
        if key.endswith("code") and normalise(b).endswith("description"):
            current = StackedTable(title, r, [])
            out.append(current)
            continue
        if current is not None and _is_int(a) and b:
            current.rows.append(r)
            continue
        if a and not _is_int(a):
            title = a
            current = None
    return [t for t in out if t.rows]


def read_stacked(
    grid: Grid, schema: KindSchema, options: ReadOptions, issues: list[Issue], front: list[Grid]
) -> SourceRead | None:
    """A sheet of stacked tables for one body (a "drop-down" sheet), or None."""
    tables = find_stacked_tables(grid)
    if len(tables) < 2:
        return None
    header = grid.rows[tables[0].header_row]
    amount_col = next((c for c in range(2, len(header)) if cell_text(header[c])), None)
    if amount_col is None:
        return None
    amount_header = cell_text(header[amount_col])
    # the body shown: the non-title text between the sheet's title rows and the first table
    shown = _shown_body(grid, tables[0].header_row)
    org = (options.org or shown or "").strip() or None
    if options.org and shown and normalise(options.org) != normalise(shown):
        raise InputError.one(
            "org-not-found",
            f"this sheet shows {shown!r}, not {options.org!r}: it holds one body at a time.",
            file=grid.file_name,
            sheet=grid.sheet,
            note="Read the sheet with one row per authority instead (drop --sheet), or "
            "choose the body in the sheet and save it.",
        )
    if shown and normalise(shown) == "england":
        issues.append(
            Issue(
                code="not-a-body",
                severity="warning",
                message="this sheet shows ENGLAND, the total of all authorities, not one body.",
                file=grid.file_name,
                sheet=grid.sheet,
                note="Counting it with the authorities in it would count them twice.",
            )
        )
    units = _units(grid, tables[0].header_row, amount_header, front, options)
    measure, _ = measure_of(amount_header)
    tse = next(
        (
            i
            for i, t in enumerate(tables)
            if any(
                normalise(cell_text(grid.rows[r][1])).startswith("total service expenditure")
                for r in t.rows
            )
        ),
        None,
    )
    if tse is None:
        what = _what_it_is(t.name for t in tables)
        if what is None:
            return None  # stacked tables, but not of service expenditure: not this form
        raise not_spending(grid.file_name, grid.sheet, what)
    lines: list[Line] = []
    kept: list[Decimal] = []
    for i, t in enumerate(tables):
        labels = [cell_text(grid.rows[r][1]) for r in t.rows]
        one_line = len(t.rows) == 1
        for r, label in zip(t.rows, labels, strict=True):
            text = cell_text(grid.rows[r][amount_col]) or None
            kind, number = _parse(text)
            pence = to_pence(number, units[0], None)[0] if number is not None else None
            reason: str | None
            if i < tse:
                reason = (
                    None
                    if one_line or not is_total_label(label)
                    else f"subtotal of {shorten(t.name, 60)}: a control total, not a line"
                )
                if reason is None and kind == "bad":
                    raise InputError.one(
                        "unparseable-amount",
                        f"{shorten(text)!r} is not an amount.",
                        file=grid.file_name,
                        sheet=grid.sheet,
                        row=r + 1,
                        column=column_letter(amount_col),
                        header=amount_header,
                        value=text,
                    )
                if reason is None and kind != "number":
                    reason = "no amount" if kind == "blank" else "amount not available"
            elif i == tse:
                reason = f"control total ({shorten(label, 60)})"
            else:
                reason = below_the_line_reason(label)
            if reason is None and number is not None:
                kept.append(number)
            lines.append(
                Line(
                    row=r + 1,
                    column=column_letter(amount_col),
                    native_code=cell_text(grid.rows[r][0]),
                    native_label=label,
                    amount_text=text,
                    amount_pence=pence,
                    before_share_pence=pence,
                    included=reason is None,
                    reason=reason,
                    org=org,
                    extra={
                        k: v
                        for k, v in {
                            "measure": measure,
                            "table_name": t.name,
                            "spend_type": "current",
                        }.items()
                        if v
                    },
                )
            )
    # round once: the kept lines add up to their exact total rounded to the penny (a
    # sheet of figures with binary noise would otherwise drift a few pence)
    factor = UNIT_FACTOR[units[0]] * 100
    counted = [ln for ln in lines if ln.included and ln.amount_pence is not None]
    exact = [Fraction(_parse(ln.amount_text)[1] or 0) * factor for ln in counted]
    for ln, p in zip(counted, round_once(exact), strict=True):
        ln.amount_pence = ln.before_share_pence = p
    kept_total = sum(kept, Decimal(0))
    for r in tables[tse].rows:
        total = _parse(cell_text(grid.rows[r][amount_col]))[1]
        if total is not None and abs(total - kept_total) > rounding_allowance([total, *kept]):
            issues.append(
                Issue(
                    code="control-total-mismatch",
                    severity="warning",
                    message=f"the service lines add up to {kept_total:,} but the total reads "
                    f"{total:,}.",
                    file=grid.file_name,
                    sheet=grid.sheet,
                    row=r + 1,
                    column=column_letter(amount_col),
                    header=amount_header,
                )
            )
        break
    return SourceRead(
        kind=schema.kind,
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=tables[0].header_row + 1,
        units=units[0],
        units_from=units[1],
        org=org,
        year=options.year or stated_year(grid, tables[0].header_row, front),
        table=lines_to_table(lines),
        columns={"amount": column_letter(amount_col), "code": "A", "label": "B"},
    )


def _shown_body(grid: Grid, first_header: int) -> str | None:
    rows = grid.rows
    for r in range(first_header - 1, -1, -1):
        a = cell_text(rows[r][0]) if rows[r] else ""
        if not a:
            continue
        if re.match(r"^table\b", a, re.I):
            continue
        if re.search(r"select|click|worksheet|source|produced|updated|contains", a, re.I):
            return None
        return a.strip()
    return None


def _units(
    grid: Grid, header_row: int, header: str, front: list[Grid], options: ReadOptions
) -> tuple[str, str]:
    if options.units:
        return options.units, "--units"
    u = detect_units(header)
    if u:
        return u, f"header {shorten(header, 60)!r}"
    found = stated_units(grid, header_row, front)
    if found:
        return found
    raise InputError.one(
        "unit-not-proved",
        "the unit of the amounts is not stated in the header, the title or a notes sheet.",
        file=grid.file_name,
        sheet=grid.sheet,
        note="Say which with --units pounds|thousands|millions.",
    )


# -- not spending ----------------------------------------------------------------------------

_NOT_SPENDING = [
    (re.compile(r"\breserves?\b"), "reserves and other balances"),
    (re.compile(r"council tax (requirement|levels?)|\bctr\d?\b"), "the council tax requirement"),
]


def not_spending(file_name: str, sheet: str | None, what: str) -> InputError:
    return InputError.one(
        "not-spending",
        f"this file is not spending: it holds {what}, which is not money spent on services.",
        file=file_name,
        sheet=sheet,
        note="Ingest the spending release instead (e.g. the Revenue Account or Revenue "
        "Outturn part 1).",
    )


def _what_it_is(texts: Iterable[str]) -> str | None:
    joined = normalise(" ".join(texts))
    for pattern, what in _NOT_SPENDING:
        if pattern.search(joined):
            return what
    return None


# -- the workbook reader ----------------------------------------------------------------------


#: A stacked one-body sheet is short; longer sheets are not searched for stacked tables.
STACKED_MAX_ROWS = 5_000
#: How many sheets without a table of bodies are looked at before giving the file back.
FRONT_SHEETS = 6
#: A release's cover that says it is council tax, not spending.
_COUNCIL_TAX_COVER = re.compile(r"council tax (levels|requirement return)|\bctr ?\d\b")


def read_workbook(
    path: Path, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> list[SourceRead] | None:
    """A council file of many bodies (or a stacked one-body sheet): its sources, or None
    when it is not of this form (the ordinary sheet reader then tries it).

    The first sheet with one row per authority is read (the RS workbook's other views of
    the same figures, and COR4's financing sheet, would count them again); a stacked
    one-body sheet is read when --sheet names it, or when the file has no table of bodies.
    """
    front: list[Grid] = []
    stacked: Grid | None = None
    for grid in read_grids(path, options.sheet, options.limits):
        if grid.is_empty():
            continue
        found = find_body_header(grid)
        if found is not None:
            header_row, name_col, code_cols, class_col = found
            read = read_body_table(
                grid, header_row, name_col, code_cols, class_col, schema, options, issues, front
            )
            return [read] if read is not None else None
        if not front and _COUNCIL_TAX_COVER.search(normalise(_title(grid, 3))):
            # a council tax release: its cover says so before any table
            raise not_spending(path.name, None, "the council tax requirement")
        if stacked is None and grid.n_rows <= STACKED_MAX_ROWS and find_stacked_tables(grid):
            stacked = grid
        front.append(grid)
        if len(front) > FRONT_SHEETS:
            break
    if stacked is not None:
        read_ = read_stacked(stacked, schema, options, issues, front)
        if read_ is not None:
            return [read_]
    return None


def read_body_table(
    grid: Grid,
    header_row: int,
    name_col: int,
    code_cols: dict[str, int],
    class_col: int | None,
    schema: KindSchema,
    options: ReadOptions,
    issues: list[Issue],
    front: list[Grid],
) -> SourceRead | None:
    """Read the chosen bodies' rows of a table of many bodies (None: it is not one)."""
    skip = set(code_cols.values()) | ({class_col} if class_col is not None else set())
    cols = _analyse_columns(grid, header_row, name_col, skip)
    columns = read_value_columns(grid, header_row, cols)
    title = _title(grid, header_row)
    if not classify_columns(columns):
        what = _what_it_is(
            [title] + [vc.label for vc in columns] + [vc.section or "" for vc in columns]
        )
        if what is None:
            return None  # not a table of service lines: perhaps a long table with codes
        raise not_spending(grid.file_name, grid.sheet, what)
    bodies, not_bodies = read_bodies(grid, header_row, name_col, code_cols, class_col)
    table = BodyTable(
        grid, header_row, name_col, code_cols, class_col, columns, bodies, not_bodies, title
    )
    chosen = choose_bodies(table, options, grid.file_name)
    capital = _is_capital(grid, header_row, front)
    counted = choose_measure(table, options, capital, issues)
    units = _body_units(grid, header_row, front, options) or _proved_units(
        table, chosen, counted, schema.kind, options
    )
    spend_type = "capital" if capital else "current"
    lines = read_body_lines(table, chosen, units[0], counted, spend_type, issues)
    org = chosen[0].name if len(chosen) == 1 else None
    if org is None:
        names = [b.name for b in chosen]
        org = "; ".join(names) if len(names) <= 3 else f"{len(names)} bodies"
    return SourceRead(
        kind=schema.kind,
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=header_row + 1,
        units=units[0],
        units_from=units[1],
        org=org,
        year=options.year or stated_year(grid, header_row, front),
        table=lines_to_table(lines),
        encoding=grid.encoding,
        bodies=[b.name for b in chosen],
        columns={
            "org": column_letter(name_col),
            **{
                ("org_code" if role == "ons_code" else role): column_letter(c)
                for role, c in code_cols.items()
            },
            **({"org_class": column_letter(class_col)} if class_col is not None else {}),
        },
    )


def choose_measure(
    table: BodyTable, options: ReadOptions, capital: bool, issues: list[Issue]
) -> str | None:
    """The measure counted: --measure, else net; a capital table with no net takes gross."""
    wanted = options.measure or "net"
    present = {vc.measure for vc in table.columns if vc.role == "line" and vc.measure}
    grid = table.grid
    if not present:
        if options.measure and options.measure != "net":
            raise InputError.one(
                "bad-option",
                f"--measure {options.measure}: this table has one figure a line "
                "(net current expenditure), not gross and income.",
                file=grid.file_name,
                sheet=grid.sheet,
            )
        title = normalise(table.title)
        return "net" if "net" in title.split() or not capital else None
    if wanted in present:
        return wanted
    if wanted == "net" and capital and "gross" in present:
        issues.append(
            Issue(
                code="measure-chosen",
                severity="info",
                message="capital spending has no net measure: total capital expenditure "
                "(gross) is counted.",
                file=grid.file_name,
                sheet=grid.sheet,
            )
        )
        return "gross"
    raise InputError.one(
        "bad-option",
        f"--measure {wanted}: this table's measures are " + ", ".join(sorted(present)) + ".",
        file=grid.file_name,
        sheet=grid.sheet,
    )


def _body_units(
    grid: Grid, header_row: int, front: list[Grid], options: ReadOptions
) -> tuple[str, str] | None:
    if options.units:
        return options.units, "--units"
    return stated_units(grid, header_row, front)


def _proved_units(
    table: BodyTable, chosen: list[Body], counted: str | None, kind: str, options: ReadOptions
) -> tuple[str, str]:
    """No unit stated anywhere: the one that gives a plausible spending a head, or an error."""
    total = Decimal(0)
    for body in chosen:
        for vc in table.columns:
            if vc.role == "line" and vc.measure in (counted, None):
                number = _parse(cell_text(table.grid.cell(body.row, vc.col)))[1]
                total += number or Decimal(0)
    return prove_units(
        kind,
        total,
        options.population,
        file_name=table.grid.file_name,
        sheet=table.grid.sheet,
        what="the chosen bodies' service lines",
    )


# -- NHS allocations: one row per ICB, one sheet per allocation type ------------------------

_ICB_CODE_HEADERS = {"icb23", "icb22", "icb code", "icb ods code", "ods code"}
_ICB_NAME_HEADERS = {"system name", "integrated care board", "icb name", "icb"}
#: Sheets of allocations, by what their title or name says, and the line each gives.
_ALLOCATION_KINDS = [
    ("core", "ICB core services"),
    ("primary medical", "Primary medical care"),
    ("other primary", "Other primary care"),
    ("running cost", "Administration"),
]
#: Which £k column of a sheet is the year's allocation, best first.
_ALLOCATION_COLUMNS = ["combined allocation", "total allocation", "recurrent allocation", ""]


def _find_icb_header(grid: Grid) -> tuple[int, int, int] | None:
    for r, row in enumerate(grid.head(12)):
        keys = [normalise(v) for v in row]
        code = next((c for c, k in enumerate(keys) if k in _ICB_CODE_HEADERS), None)
        name = next((c for c, k in enumerate(keys) if k in _ICB_NAME_HEADERS), None)
        if code is not None and name is not None:
            return r, code, name
    return None


def _slash_year(year: str) -> str:
    return f"{year[:4]}/{year[5:]}"


def _allocation_column(grid: Grid, header_row: int, year: str) -> int | None:
    """The column of the year's allocation in £k: combined, else total, else recurrent."""
    header = grid.head(header_row + 1)[header_row]
    candidates = []
    for c, v in enumerate(header):
        text = cell_text(v)
        key = normalise(text)
        if not text.startswith(_slash_year(year)) or "£k" not in text.replace(" ", ""):
            continue
        if re.search(r"growth|per head|/head|%|baseline|target", text, re.I):
            continue
        rank = next(i for i, want in enumerate(_ALLOCATION_COLUMNS) if want in key)
        candidates.append((rank, c))
    return min(candidates)[1] if candidates else None


def read_allocations(
    path: Path, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> list[SourceRead] | None:
    """NHS England's allocations to ICBs: the year's allocation sheets, one line each for
    each ICB chosen, or None when the file is not of this form."""
    grids: list[tuple[Grid, tuple[int, int, int]]] = []
    for grid in read_grids(path, options.sheet, options.limits):
        if grid.is_empty():
            continue
        found = _find_icb_header(grid)
        if found is None:
            if not grids:
                return None
            continue
        grids.append((grid, found))
    titles = " ".join(normalise(_title(g, r) + " " + (g.sheet or "")) for g, (r, _, _) in grids)
    if not grids or "allocation" not in titles:
        return None
    year = options.year or options.project_year
    if year is None:
        years = sorted(
            {
                y
                for g, (r, _, _) in grids
                for v in g.head(r + 1)[r]
                if (y := financial_year(cell_text(v).split(" ")[0]))
            }
        )
        raise InputError.one(
            "bad-option",
            "this file holds allocations for several years ("
            + ", ".join(years[-3:])
            + "): say which to count.",
            file=path.name,
            note="Use --year, e.g. --year " + (years[-2] if len(years) > 1 else "2023-24") + ".",
        )
    out: list[SourceRead] = []
    for grid, (header_row, code_col, name_col) in grids:
        sheet = grid.sheet or ""
        if "baseline" in sheet.lower():
            continue  # how a baseline was built, not an allocation
        sheet_year = financial_year(sheet)
        if sheet_year is not None and sheet_year != year:
            continue
        col = _allocation_column(grid, header_row, year)
        if col is None:
            continue
        read = _read_allocation_sheet(grid, header_row, code_col, name_col, col, schema, options)
        out.append(read)
    if not out:
        raise InputError.one(
            "year-not-found",
            f"no allocations for {year} in this file.",
            file=path.name,
            note="Check --year.",
        )
    issues.append(
        Issue(
            code="planned-spending",
            severity="info",
            message=f"these are NHS England's allocations for {year}: planned spending, not "
            "outturn (what the ICBs spent).",
            file=path.name,
            note="Use the ICBs' own accounts for what was spent, where they are published.",
        )
    )
    return out


def _read_allocation_sheet(
    grid: Grid,
    header_row: int,
    code_col: int,
    name_col: int,
    col: int,
    schema: KindSchema,
    options: ReadOptions,
) -> SourceRead:
    title = normalise(_title(grid, header_row) + " " + (grid.sheet or ""))
    label = next((lab for key, lab in _ALLOCATION_KINDS if key in title), grid.sheet or "")
    bodies: list[Body] = []
    not_bodies: list[Body] = []
    names = grid.columns[name_col].to_pylist()
    codes = grid.columns[code_col].to_pylist()
    for r in range(header_row + 1, grid.n_rows):
        name, code = cell_text(names[r]), cell_text(codes[r])
        if not name:
            continue
        body = Body(r, name, None, code or None, "ICB")
        is_icb = bool(re.fullmatch(r"Q[A-Z0-9]{2}", code)) and normalise(name).endswith("icb")
        (bodies if is_icb else not_bodies).append(body)
    header_text = cell_text(grid.head(header_row + 1)[header_row][col])
    table = BodyTable(
        grid,
        header_row,
        name_col,
        {"ons_code": code_col},
        None,
        [ValueColumn(col, header_text, None, None, label, None, None)],
        bodies,
        not_bodies,
        _title(grid, header_row),
    )
    nhs_options = replace(options, orgs=[_nhs_name(o, bodies) for o in options.orgs])
    chosen = choose_bodies(table, nhs_options, grid.file_name)
    units = (options.units, "--units") if options.units else None
    if units is None:
        u = detect_units(header_text)
        if u is None:
            raise InputError.one(
                "unit-not-proved",
                "the allocation column does not state its unit.",
                file=grid.file_name,
                sheet=grid.sheet,
                row=header_row + 1,
                column=column_letter(col),
                note="Say which with --units pounds|thousands|millions.",
            )
        units = (u, f"header {shorten(header_text, 60)!r}")
    lines = read_body_lines(table, chosen, units[0], None, "current", [])
    for ln in lines:
        ln.extra.pop("measure", None)
        ln.year = options.year or options.project_year
    org = chosen[0].name if len(chosen) == 1 else f"{len(chosen)} bodies"
    return SourceRead(
        kind=schema.kind,
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=header_row + 1,
        units=units[0],
        units_from=units[1],
        org=org,
        year=options.year or options.project_year,
        table=lines_to_table(lines),
        columns={"amount": column_letter(col), "org": column_letter(name_col)},
        bodies=[b.name for b in chosen],
    )


def _nhs_name(text: str, bodies: list[Body]) -> str:
    """An ICB named without its "NHS " prefix is the ICB with it."""
    if any(_matches(b, text) for b in bodies):
        return text
    prefixed = f"NHS {text.strip()}"
    return prefixed if any(_matches(b, prefixed) for b in bodies) else text
