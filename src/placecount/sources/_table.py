"""Finding the table in a sheet and reading its rows as lines.

Public-sector sheets put title and note rows above the header, footnotes and
"Total" rows in or under the table, and units in the header or the title. This
module finds the header a person would (the first row whose cells match the
kind's column aliases), works out the units, and turns each row into a
:class:`~placecount.models.Line`, kept or left out with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ..errors import InputError, Issue, column_letter
from ..models import KindSchema, Line, ReadOptions
from ._cells import (
    UNIT_FACTOR,
    cell_text,
    detect_units,
    financial_year,
    header_key,
    normalise,
    parse_amount,
)
from ._grid import Grid

#: How far down a sheet the header is looked for.
HEADER_SCAN_ROWS = 60
#: The largest amount believed: £1 trillion (UK public spending is below this).
MAX_POUNDS = Decimal(10) ** 12
#: How many bad cells are listed before the rest are only counted.
MAX_REPORTED = 20

_TOTAL = re.compile(r"^(grand |sub |sub-)?totals?\b|\btotals?$|^subtotal\b", re.IGNORECASE)


def is_total_label(text: str) -> bool:
    """A label that marks a total or subtotal row: "Total", "TOTAL EDUCATION", "Sub-total"."""
    return bool(_TOTAL.search(normalise(text)))


@dataclass
class Header:
    """Where the table starts and which column plays each role."""

    row: int  # 0-based index into grid.rows
    texts: list[str]
    roles: dict[str, int]
    title: str


def header_texts(grid: Grid, r: int) -> list[str]:
    """The header text of each column of row ``r``, merged cells filled in.

    A header merged down over two rows counts for the lower row too; a merge
    spanning several columns in the row above (a group heading over sub-headings)
    is put in front, e.g. "Body and programme Organisation".
    """
    width = grid.width
    texts = [cell_text(grid.cell(r, c)) for c in range(width)]
    for (r0, c0), (r1, c1) in grid.merged:
        top = cell_text(grid.cell(r0, c0))
        if r0 < r <= r1 and c0 < width and not texts[c0]:
            texts[c0] = top
        elif r1 == r - 1 and c1 > c0:
            for c in range(c0, min(c1, width - 1) + 1):
                if top and top not in texts[c]:
                    texts[c] = f"{top} {texts[c]}".strip()
    return texts


def own_texts(grid: Grid, r: int) -> list[str]:
    """Row ``r``'s own header cells, with headers merged down from the row above."""
    width = grid.width
    texts = [cell_text(grid.cell(r, c)) for c in range(width)]
    for (r0, c0), (r1, _c1) in grid.merged:
        if r0 < r <= r1 and c0 < width and not texts[c0]:
            texts[c0] = cell_text(grid.cell(r0, c0))
    return texts


def _rank(key: str, aliases: list[str]) -> int | None:
    best: int | None = None
    for i, alias in enumerate(aliases):
        a = normalise(alias)
        if key == a:
            rank = 2 * i
        elif a and f" {a} " in f" {key} ":
            rank = 2 * i + 1
        else:
            continue
        best = rank if best is None else min(best, rank)
    return best


def match_roles(
    texts: list[str],
    schema: KindSchema,
    roles: Iterable[str],
    overrides: dict[str, str],
    own: list[str] | None = None,
) -> tuple[dict[str, int], list[tuple[str, list[int]]]]:
    """Assign columns to roles. Returns the roles found and any ties (role, columns).

    A column's own header text counts first; a group heading above it only when
    its own text matches nothing (``own`` gives the cells without group headings).
    """
    keys = [header_key(t) for t in texts]
    own_keys = [header_key(t) for t in own] if own is not None else keys
    found: dict[str, int] = {}
    ties: list[tuple[str, list[int]]] = []
    used: set[int] = set()
    for role, wanted in overrides.items():
        w = normalise(wanted)
        hits = [c for c, t in enumerate(texts) if t and (normalise(t) == w or keys[c] == w)]
        if hits:
            found[role] = hits[0]
            used.add(hits[0])
    for role in roles:
        if role in found or role in overrides:
            continue
        aliases = schema.columns.get(role, [])
        ranked = []
        for c, k in enumerate(keys):
            if not k or c in used:
                continue
            r = _rank(own_keys[c], aliases) if own_keys[c] else None
            if r is None:
                r = _rank(k, aliases)
                r = None if r is None else r + 10_000
            if r is not None:
                ranked.append((r, c))
        if not ranked:
            continue
        best = min(r for r, _ in ranked)
        cols = [c for r, c in ranked if r == best]
        if len(cols) > 1:
            ties.append((role, cols))
        found[role] = cols[0]
        used.add(cols[0])
    return found, ties


def find_header(
    grid: Grid,
    schema: KindSchema,
    options: ReadOptions,
    roles: list[str],
    accept: Callable[[dict[str, int]], bool],
) -> Header | None:
    """The first row (or the one given by --header-row) whose cells make a header."""
    if options.header_row is not None:
        r = options.header_row - 1
        if r < 0 or r >= len(grid.rows):
            raise InputError.one(
                "header-row-out-of-range",
                f"--header-row {options.header_row} is outside the sheet, which has "
                f"{len(grid.rows)} rows.",
                file=grid.file_name,
                sheet=grid.sheet,
            )
        candidates: Iterable[int] = [r]
    else:
        candidates = range(min(HEADER_SCAN_ROWS, len(grid.rows)))
    for r in candidates:
        texts = header_texts(grid, r)
        if sum(1 for t in texts if t) < 2 and options.header_row is None:
            continue
        found, ties = match_roles(texts, schema, roles, options.columns, own_texts(grid, r))
        if accept(found):
            if options.header_row is None and r + 1 < len(grid.rows):
                # A two-row header: the row below names more roles, so it is the header.
                below = header_texts(grid, r + 1)
                found2, ties2 = match_roles(
                    below, schema, roles, options.columns, own_texts(grid, r + 1)
                )
                if accept(found2) and len(found2) > len(found):
                    r, texts, found, ties = r + 1, below, found2, ties2
            _check_header(grid, r, texts, found, ties, options)
            title = " ".join(cell_text(v) for row in grid.rows[:r] for v in row if cell_text(v))
            return Header(r, texts, found, title)
    return None


def _check_header(
    grid: Grid,
    r: int,
    texts: list[str],
    found: dict[str, int],
    ties: list[tuple[str, list[int]]],
    options: ReadOptions,
) -> None:
    for role, wanted in options.columns.items():
        if role not in found:
            raise InputError.one(
                "column-not-found",
                f"--column {role}={wanted!r}: no such column in the header row.",
                file=grid.file_name,
                sheet=grid.sheet,
                row=r + 1,
                note="The headers are: " + ", ".join(repr(t) for t in texts if t) + ".",
            )
    for role, col in found.items():
        same = [c for c, t in enumerate(texts) if t and normalise(t) == normalise(texts[col])]
        if len(same) > 1:
            raise InputError.one(
                "duplicate-column",
                f"two columns are headed {texts[col]!r} "
                f"({', '.join(column_letter(c) for c in same)}), so the {role} column is "
                "ambiguous.",
                file=grid.file_name,
                sheet=grid.sheet,
                row=r + 1,
                column=column_letter(same[1]),
                header=texts[col],
                note=f"Rename one of them, or use --header-row and --column {role}=HEADER.",
            )
    for role, cols in ties:
        if role == "amount":
            names = ", ".join(f"{column_letter(c)} {texts[c]!r}" for c in cols)
            raise InputError.one(
                "ambiguous-column",
                f"more than one column could be the amount: {names}.",
                file=grid.file_name,
                sheet=grid.sheet,
                row=r + 1,
                note=f"Say which with --column amount={texts[cols[0]]!r}.",
            )


def no_header_error(grid_names: list[tuple[str, str | None]], schema: KindSchema) -> InputError:
    """The message when no sheet has a header the kind recognises."""
    file_name = grid_names[0][0]
    sheets = [s for _, s in grid_names if s is not None]
    amount = ", ".join(repr(a) for a in schema.columns.get("amount", [])[:4])
    ident = " or ".join(schema.identity)
    where = f" (looked in sheets {', '.join(repr(s) for s in sheets)})" if len(sheets) > 1 else ""
    return InputError(
        issues=[
            Issue(
                code="no-header",
                message=f"no header row found{where}: expected a {ident} column and an "
                f"amount column such as {amount}.",
                file=file_name,
                sheet=sheets[0] if len(sheets) == 1 else None,
                note="Point at it with --header-row N and --column amount=HEADER.",
            )
        ]
    )


def resolve_units(
    grid: Grid,
    header: Header,
    amount_col: int,
    schema: KindSchema,
    options: ReadOptions,
    issues: list[Issue],
) -> tuple[str, str]:
    """The units of the amount column, and where they came from."""
    if options.units:
        return options.units, "--units"
    u = detect_units(header.texts[amount_col])
    if u:
        return u, f"header {header.texts[amount_col]!r}"
    u = detect_units(header.title)
    if u:
        return u, "title"
    issues.append(
        Issue(
            code="unit-not-stated",
            severity="warning",
            message=f"no unit (£, £000, £m) in the header or title: assumed "
            f"{schema.default_units}, the usual unit for {schema.kind} sheets.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=header.row + 1,
            column=column_letter(amount_col),
            header=header.texts[amount_col],
            note="Say which with --units pounds|thousands|millions.",
        )
    )
    return schema.default_units, "default"


def to_pence(value: Decimal, units: str, share: Fraction | None) -> tuple[int, int]:
    """Exact pence for an amount in ``units``, before and after the share, rounded half-even."""
    whole = Fraction(value) * UNIT_FACTOR[units] * 100
    before = round(whole)
    after = before if share is None else round(whole * share)
    return before, after


class AmountErrors:
    """Collects bad amount cells so one message can list them all."""

    def __init__(self, grid: Grid, header: Header, col: int) -> None:
        self.grid, self.header, self.col = grid, header, col
        self.issues: list[Issue] = []
        self.count = 0

    def add(self, row: int, value: object, code: str, message: str) -> None:
        self.count += 1
        if len(self.issues) < MAX_REPORTED:
            self.issues.append(
                Issue(
                    code=code,
                    message=message,
                    file=self.grid.file_name,
                    sheet=self.grid.sheet,
                    row=row + 1,
                    column=column_letter(self.col),
                    header=self.header.texts[self.col],
                    value=cell_text(value),
                )
            )

    def raise_if_any(self) -> None:
        if self.issues:
            more = self.count - len(self.issues)
            if more:
                self.issues[-1].note = f"…and {more} more cells like these."
            self.issues[0].note = (self.issues[0].note or "") + (
                " Correct the cell (a number such as 1234, 1,234 or (1,234)), or use "
                "--column amount=HEADER if this is not the amount column."
            ).strip()
            raise InputError(issues=self.issues)


def read_amount(
    value: object, row: int, units: str, share: Fraction | None, errors: AmountErrors
) -> tuple[str, int | None, int | None]:
    """Parse one amount cell: ('number'|'nil'|'blank'|'not-available'|'bad', pence, before)."""
    kind, number = parse_amount(value)
    if kind == "bad":
        errors.add(row, value, "unparseable-amount", f"{cell_text(value)!r} is not an amount.")
        return "bad", None, None
    if number is None:
        return kind, None, None
    if abs(number) * UNIT_FACTOR[units] > MAX_POUNDS:
        errors.add(
            row,
            value,
            "amount-too-large",
            f"{cell_text(value)!r} {units} is over £1 trillion: not a believable amount.",
        )
        return "bad", None, None
    before, after = to_pence(number, units, share)
    return kind, after, before


def row_is_empty(row: list[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def text_at(grid: Grid, r: int, col: int | None) -> str | None:
    if col is None:
        return None
    t = cell_text(grid.cell(r, col))
    return t or None


def read_long_table(
    grid: Grid,
    header: Header,
    schema: KindSchema,
    options: ReadOptions,
    issues: list[Issue],
) -> tuple[list[Line], str, str]:
    """Read every row below the header of a long table (one line per row)."""
    roles = header.roles
    amount_col = roles["amount"]
    units, units_from = resolve_units(grid, header, amount_col, schema, options, issues)
    errors = AmountErrors(grid, header, amount_col)
    header_norm = [normalise(t) for t in header.texts]
    lines: list[Line] = []
    last_amount_row = -1
    for r in range(header.row + 1, len(grid.rows)):
        raw = grid.rows[r]
        if row_is_empty(raw):
            continue
        if [normalise(cell_text(v)) for v in raw[: len(header_norm)]] == header_norm[: len(raw)]:
            lines.append(_left_out(r, amount_col, "header row repeated", grid, roles))
            continue
        value = grid.cell(r, amount_col)
        kind, pence, before = read_amount(value, r, units, options.share, errors)
        code = text_at(grid, r, roles.get("code"))
        label = text_at(grid, r, roles.get("label"))
        line = Line(
            row=r + 1,
            column=column_letter(amount_col),
            native_code=code,
            native_label=label,
            amount_text=cell_text(value) or None,
            amount_pence=pence,
            before_share_pence=before,
            org=text_at(grid, r, roles.get("org")),
            year=financial_year(text_at(grid, r, roles.get("year"))),
            recipient=text_at(grid, r, roles.get("recipient")),
            status=text_at(grid, r, roles.get("status")),
            sponsor=text_at(grid, r, roles.get("sponsor")),
            part=text_at(grid, r, roles.get("part")),
            cofog=text_at(grid, r, roles.get("cofog")),
            extra={
                role: t
                for role in ("connected", "spend_type")
                if (t := text_at(grid, r, roles.get(role))) is not None
            },
        )
        if kind in ("number", "nil"):
            last_amount_row = r
            if is_total_label(label or "") or is_total_label(code or ""):
                line.included, line.reason = False, "total row"
        elif kind == "not-available":
            line.included, line.reason = False, "amount not available"
        elif kind == "blank":
            line.included, line.reason = False, "no amount"
        else:
            line.included, line.reason = False, "bad amount"
        lines.append(line)
    errors.raise_if_any()
    # Rows with no amount after the last amount are notes under the table.
    for line in lines:
        if line.reason == "no amount" and line.row - 1 > last_amount_row:
            line.reason = "note under the table"
    return lines, units, units_from


def _left_out(r: int, col: int, reason: str, grid: Grid, roles: dict[str, int]) -> Line:
    return Line(
        row=r + 1,
        column=column_letter(col),
        native_code=text_at(grid, r, roles.get("code")),
        native_label=text_at(grid, r, roles.get("label")),
        amount_text=cell_text(grid.cell(r, col)) or None,
        amount_pence=None,
        before_share_pence=None,
        included=False,
        reason=reason,
    )
