"""Finding the table in a sheet and reading its rows as lines.

Public-sector sheets put title and note rows above the header, footnotes and
"Total" rows in or under the table, and units in the header or the title. This
module finds the header a person would (the first row whose cells match the
kind's column aliases), works out the units, and turns each row into a
:class:`~placecount.models.Line`, kept or left out with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import InputError, Issue, column_letter, shorten
from ..models import KindSchema, ReadOptions, exact_sum, pence_to_pounds
from ._cells import (
    UNIT_FACTOR,
    cell_text,
    detect_units,
    financial_year,
    header_key,
    missing_reason,
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


#: Words that may qualify a header without changing what it is: "Net expenditure 2008-09",
#: "Outturn (final)", "Actual net expenditure". A header that is an alias plus only these
#: is a strong match (the documented pattern); any other extra word makes the match weak.
QUALIFIERS = frozenset(
    "actual actuals outturn final provisional revised audited unaudited budget estimate "
    "estimates forecast plan planned original total of in the for year fy financial ending "
    "march april 31 30 gbp pounds pound thousand thousands million millions k m bn".split()
)
_YEARISH = re.compile(r"^(?:19|20)\d\d$|^\d\d$")

#: Tiers of a header's fit for a role: the lower the better.
EXACT, QUALIFIED, WEAK = 0, 1, 2


def _fit(key: str, aliases: list[str]) -> tuple[int, int] | None:
    """How well a header fits a role: (tier, alias position), or None for no fit.

    Exact: the whole cell is an alias (after case, punctuation and units are set aside).
    Qualified: an alias plus years or words such as "outturn", "actual", "final".
    Weak: an alias inside other words ("Winter service" holds "service"): never taken
    without ``--column``.
    """
    best: tuple[int, int] | None = None
    words = key.split()
    for i, alias in enumerate(aliases):
        a = normalise(alias)
        if not a:
            continue
        if key == a:
            fit = (EXACT, i)
        elif f" {a} " in f" {key} ":
            rest = f" {key} ".replace(f" {a} ", " ", 1).split()
            extra = [w for w in rest if w not in QUALIFIERS and not _YEARISH.match(w)]
            fit = (WEAK, i) if extra else (QUALIFIED, i)
        else:
            continue
        if len(words) > 12:  # a sentence (a note or a title), not a header
            fit = (WEAK, i)
        best = fit if best is None else min(best, fit)
    return best


@dataclass
class RoleMatch:
    """The columns found for each role, the ties at the best fit, and the weak fits set aside."""

    found: dict[str, int]
    ties: list[tuple[str, list[int]]]
    weak: list[tuple[str, int]]


def match_roles(
    texts: list[str],
    schema: KindSchema,
    roles: Iterable[str],
    overrides: dict[str, str],
    own: list[str] | None = None,
) -> tuple[dict[str, int], list[tuple[str, list[int]]]]:
    """Assign columns to roles. Returns the roles found and any ties (role, columns)."""
    m = match_roles_fully(texts, schema, roles, overrides, own)
    return m.found, m.ties


def match_roles_fully(
    texts: list[str],
    schema: KindSchema,
    roles: Iterable[str],
    overrides: dict[str, str],
    own: list[str] | None = None,
) -> RoleMatch:
    """Assign columns to roles, best fit first; weak fits are listed, never taken.

    A column's own header text counts first; a group heading above it only when
    its own text matches nothing (``own`` gives the cells without group headings).
    """
    keys = [header_key(t) for t in texts]
    own_keys = [header_key(t) for t in own] if own is not None else keys
    found: dict[str, int] = {}
    ties: list[tuple[str, list[int]]] = []
    weak: list[tuple[str, int]] = []
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
        ranked: list[tuple[tuple[int, int, int], int]] = []
        for c, k in enumerate(keys):
            if not k or c in used:
                continue
            fit = _fit(own_keys[c], aliases) if own_keys[c] else None
            grouped = 0
            if fit is None:
                fit, grouped = _fit(k, aliases), 1
            if fit is not None:
                ranked.append(((fit[0], grouped, fit[1]), c))
        strong = [(r, c) for r, c in ranked if r[0] != WEAK]
        weak.extend((role, c) for r, c in ranked if r[0] == WEAK)
        if not strong:
            continue
        best = min(r for r, _ in strong)
        cols = [c for r, c in strong if r == best]
        if len(cols) > 1:
            ties.append((role, cols))
        found[role] = cols[0]
        used.add(cols[0])
    weak = [(role, c) for role, c in weak if role not in found and c not in used]
    return RoleMatch(found, ties, weak)


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
        if r < 0 or r >= grid.n_rows:
            raise InputError.one(
                "header-row-out-of-range",
                f"--header-row {options.header_row} is outside the sheet, which has "
                f"{grid.n_rows} rows.",
                file=grid.file_name,
                sheet=grid.sheet,
            )
        candidates: Iterable[int] = [r]
    else:
        candidates = range(min(HEADER_SCAN_ROWS, grid.n_rows))
    for r in candidates:
        texts = header_texts(grid, r)
        if sum(1 for t in texts if t) < 2 and options.header_row is None:
            continue
        m = match_roles_fully(texts, schema, roles, options.columns, own_texts(grid, r))
        found, ties = m.found, m.ties
        if not accept(found) and m.weak and len(grid.hints) < 3:
            grid.hints.append(
                f"row {r + 1}: "
                + "; ".join(
                    f"column {column_letter(c)} {texts[c]!r} only partly fits '{role}'"
                    for role, c in m.weak[:3]
                )
            )
        if accept(found):
            if options.header_row is None and r + 1 < grid.n_rows:
                # A two-row header: the row below names more roles, so it is the header.
                below = header_texts(grid, r + 1)
                found2, ties2 = match_roles(
                    below, schema, roles, options.columns, own_texts(grid, r + 1)
                )
                if accept(found2) and len(found2) > len(found):
                    r, texts, found, ties = r + 1, below, found2, ties2
            _check_header(grid, r, texts, found, ties, options)
            title = " ".join(cell_text(v) for row in grid.head(r) for v in row if cell_text(v))
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
        names = ", ".join(f"{column_letter(c)} {texts[c]!r}" for c in cols)
        what = "the amount" if role == "amount" else f"the {role} column"
        raise InputError.one(
            "ambiguous-column",
            f"more than one column could be {what}, and they fit equally: {names}.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=r + 1,
            note=f"Say which with --column {role}={texts[cols[0]]!r}.",
        )


def no_header_error(
    grid_names: list[tuple[str, str | None]], schema: KindSchema, hints: Sequence[str] = ()
) -> InputError:
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
                note=(
                    "Some headers fit only in part, so they were not taken: "
                    + " · ".join(hints)
                    + ". If one is right, say so with --column ROLE=HEADER. "
                    if hints
                    else ""
                )
                + "Point at it with --header-row N and --column amount=HEADER.",
            )
        ]
    )


def stated_units(
    grid: Grid, header: Header, amount_col: int, options: ReadOptions
) -> tuple[str, str] | None:
    """The unit the file states for the amount column, and where; None when it says nothing.

    In order: ``--units``; the amount column's header; a title cell above the header; a
    notes or metadata sheet (found before the sheet was read); cells that carry a "£"
    themselves ("£1,021,386") in a column whose header states no multiple.
    """
    if options.units:
        return options.units, "--units"
    text = header.texts[amount_col]
    u = detect_units(text)
    where = f"{column_letter(amount_col)}{header.row + 1}"
    if u:
        return u, f"header {where} {text!r}"
    stated: list[tuple[str, str]] = []
    for r, row in enumerate(grid.head(header.row)):
        for c, value in enumerate(row):
            t = cell_text(value)
            if t and len(t) <= 300 and (unit := detect_units(t)):
                stated.append((unit, f"title {column_letter(c)}{r + 1} {shorten(t)!r}"))
    if stated:
        units = sorted({u for u, _ in stated})
        if len(units) > 1:
            raise InputError.one(
                "unit-ambiguous",
                "the title rows state different units: "
                + "; ".join(f"{w} says {UNIT_NAMES_PLAIN[u]}" for u, w in stated[:4])
                + ".",
                file=grid.file_name,
                sheet=grid.sheet,
                note="Say which applies to the amounts with --units pounds|thousands|millions.",
            )
        return stated[0]
    if options.notes_units is not None:
        return options.notes_units
    start = header.row + 1
    sample = grid.columns[amount_col].slice(start, 500).to_pylist() if grid.columns else []
    for i, v in enumerate(sample):
        if v and "£" in v and parse_amount(v)[0] == "number":
            cell = f"{column_letter(amount_col)}{start + i + 1}"
            return "pounds", f"cells written in pounds, such as {cell} {v.strip()!r}"
    return None


UNIT_NAMES_PLAIN = {"pounds": "£", "thousands": "£ thousand", "millions": "£ million"}


def resolve_units(
    grid: Grid,
    header: Header,
    amount_col: int,
    schema: KindSchema,
    options: ReadOptions,
    issues: list[Issue],
) -> tuple[str, str]:
    """The units of the amount column, and where they came from; the kind's usual unit,
    with a warning, when the file says nothing (for readers that cannot test plausibility)."""
    stated = stated_units(grid, header, amount_col, options)
    if stated is not None:
        return stated
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
            if self.issues[0].code == "amount-too-large":
                # issue 11: a figure in £ read as £m is a unit error, not a column error
                hint = (
                    " If the figures are in a smaller unit than that, say so with "
                    "--units pounds|thousands; if this is not the amount column, use "
                    "--column amount=HEADER."
                )
            else:
                hint = (
                    " Correct the cell (a number such as 1234, 1,234 or (1,234)), or use "
                    "--column amount=HEADER if this is not the amount column."
                )
            self.issues[0].note = ((self.issues[0].note or "") + hint).strip()
            raise InputError(issues=self.issues)


class CellNotes:
    """Warnings about amount cells read or left out: free text, decimal commas.

    One issue a cell up to MAX_REPORTED of each sort; past that, the last says how many more.
    """

    def __init__(self, grid: Grid, header: Header, col: int) -> None:
        self.grid, self.header, self.col = grid, header, col
        self.found: dict[str, list[Issue]] = {"unparseable-amount": [], "decimal-comma": []}
        self.counts: dict[str, int] = {"unparseable-amount": 0, "decimal-comma": 0}
        self.markers: dict[str, Issue] = {}
        self.marker_counts: dict[str, int] = {}

    def _add(self, code: str, row: int, value: object, message: str, note: str) -> None:
        self.counts[code] += 1
        if len(self.found[code]) < MAX_REPORTED:
            self.found[code].append(
                Issue(
                    code=code,
                    severity="warning",
                    message=message,
                    file=self.grid.file_name,
                    sheet=self.grid.sheet,
                    row=row + 1,
                    column=column_letter(self.col),
                    header=self.header.texts[self.col],
                    value=cell_text(value),
                    note=note,
                )
            )

    def free_text(self, row: int, value: object) -> None:
        self._add(
            "unparseable-amount",
            row,
            value,
            f"{shorten(cell_text(value))!r} is not an amount: the line is left out.",
            "Correct the cell, or use --strict to stop at such cells.",
        )

    def decimal_comma(self, row: int, value: object) -> None:
        text = cell_text(value)
        self._add(
            "decimal-comma",
            row,
            value,
            f"{text!r} is written with a decimal comma: read as {text.replace(',', '.')}.",
            "Check the cell; a comma here can only be a decimal comma.",
        )

    def marker(self, row: int, value: object, reason: str) -> None:
        """A published marker ([x], '..'): one info issue a marker, at its first cell."""
        first = self.markers.get(reason)
        if first is None:
            self.markers[reason] = Issue(
                code="not-available",
                severity="info",
                message=f"{reason}: 1 line left out.",
                file=self.grid.file_name,
                sheet=self.grid.sheet,
                row=row + 1,
                column=column_letter(self.col),
                header=self.header.texts[self.col],
                value=cell_text(value),
            )
            self.marker_counts[reason] = 1
        else:
            self.marker_counts[reason] += 1
            n = self.marker_counts[reason]
            first.message = f"{reason}: {n:,} lines left out (the first here)."

    def issues(self) -> list[Issue]:
        out: list[Issue] = []
        for code, found in self.found.items():
            more = self.counts[code] - len(found)
            if found and more:
                found[
                    -1
                ].note = f"{found[-1].note or ''} …and {more:,} more cells like these.".strip()
            out.extend(found)
        return out + list(self.markers.values())


#: Labels that are nothing but a total: such a row is a total even when its lines do not
#: add up to it (it is left out, with a warning), never a line.
BARE_TOTALS = {"total", "totals", "grand total", "sub total", "subtotal", "overall total"}


def _printed_decimals(text: str | None) -> int:
    if not text or "." not in text:
        return 0
    return len(text.rsplit(".", 1)[1].rstrip(")"))


def total_rows_by_arithmetic(
    candidates: Any,
    has_amount: Any,
    pence: Any,
    amount_text: Any,
    label: Any,
    code: Any,
    start: int,
    units: str,
) -> tuple[Any, list[dict[str, Any]]]:
    """Which rows labelled as totals really are totals: their amount is the sum of the lines
    they head (the lines since the previous total, or every line above).

    ``candidates`` marks the rows whose label or code reads like a total; the others with
    an amount are lines. A candidate that nothing adds up to stays a line (a supplier called
    "Total Access Scaffolding Limited" is paid, not a total). A printed total may differ
    from its lines by their rounding: half a unit of its last printed digit a line.

    Returns a mask of the total rows and, for each candidate, what was checked: Excel
    ``row``, ``label``, ``printed`` and ``sum`` (£), ``lines`` added, ``heads``
    ("lines since row N", "all lines above", or "lines below" for a total printed above
    its lines), ``matched``.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(has_amount)
    idx = pc.indices_nonzero(candidates).to_pylist()
    if not idx:
        return pa.repeat(pa.scalar(False), n), []
    values = np.asarray(pc.fill_null(pence, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    is_line = np.asarray(has_amount.to_numpy(zero_copy_only=False), dtype=bool).copy()
    line_count = np.zeros(n + 1, dtype=np.int64)
    is_line[idx] = False
    lines_only = np.where(is_line, values, 0)
    peak = int(np.abs(lines_only).max()) if n else 0
    # exact either way: int64 while no running sum can overflow it, Python ints beyond
    wide = peak * n >= 2**62
    cum = np.zeros(n + 1, dtype=object if wide else np.int64)
    cum[1:] = np.cumsum(lines_only.astype(object) if wide else lines_only)
    line_count[1:] = np.cumsum(is_line.astype(np.int64))
    texts, labels, codes = amount_text.to_pylist(), label.to_pylist(), code.to_pylist()
    mask = [False] * n
    found: list[dict[str, Any]] = []
    since = 0  # first row after the previous total
    base = 0  # first row after the previous grand total
    extra_since = 0  # candidates found not to be totals are lines: their pence and count
    extra_base = extra_all = 0
    n_since = n_base = n_all = 0
    unit = UNIT_FACTOR[units] * 100
    for k, i in enumerate(idx):
        printed = int(values[i])
        following = idx[k + 1] if k + 1 < len(idx) else n
        segment = int(cum[i] - cum[since]) + extra_since
        seg_lines = int(line_count[i] - line_count[since]) + n_since
        above = int(cum[i] - cum[base]) + extra_base
        above_lines = int(line_count[i] - line_count[base]) + n_base
        digits = _printed_decimals(texts[i])
        step = max(unit / (10**digits), 1)  # pence: each line is rounded to the penny

        def close(total: int, lines: int, printed: int = printed, step: float = step) -> bool:
            return lines > 0 and abs(printed - total) <= max(lines, 1) * step / 2

        heads = None
        if close(segment, seg_lines):
            heads, total, lines = (
                (f"lines since row {start + since + 1}" if since else "all lines above"),
                segment,
                seg_lines,
            )
        elif close(above, above_lines):
            heads, total, lines = "all lines above", above, above_lines
        elif base and close(int(cum[i]) + extra_all, int(line_count[i]) + n_all):
            # a grand total over totals of totals: every line of the table
            heads, total, lines = (
                "all lines above",
                int(cum[i]) + extra_all,
                int(line_count[i]) + n_all,
            )
        elif close(
            int(cum[following] - cum[i + 1]), int(line_count[following] - line_count[i + 1])
        ):
            # a total printed above its lines: the lines below it, up to the next total
            heads, total, lines = (
                "lines below",
                int(cum[following] - cum[i + 1]),
                int(line_count[following] - line_count[i + 1]),
            )
        else:
            total, lines = segment if seg_lines else above, seg_lines or above_lines
        bare = normalise(labels[i] or codes[i]) in BARE_TOTALS
        found.append(
            {
                "row": start + i + 1,
                "label": labels[i] or codes[i],
                "amount_text": texts[i],
                "printed": str(pence_to_pounds(printed)),
                "sum": str(pence_to_pounds(total)),
                "lines": lines,
                "heads": heads or "nothing adds up to it",
                "matched": heads is not None,
                # a row labelled only "Total" is a total even when its lines do not add up
                "kept_as_line": heads is None and not bare,
            }
        )
        if heads is None and not bare:
            extra_since += printed
            extra_base += printed
            extra_all += printed
            n_since += 1
            n_base += 1
            n_all += 1
            continue
        mask[i] = True
        since, extra_since, n_since = i + 1, 0, 0
        if heads == "all lines above" or heads is None:
            base, extra_base, n_base = i + 1, 0, 0
    return pa.array(mask, pa.bool_()), found


def row_is_empty(row: Sequence[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def text_at(grid: Grid, r: int, col: int | None) -> str | None:
    if col is None:
        return None
    t = cell_text(grid.cell(r, col))
    return t or None


def read_amount(
    value: object,
    row: int,
    units: str,
    share: Fraction | None,
    errors: AmountErrors,
    parsed: tuple[str, Decimal | None] | None = None,
) -> tuple[str, int | None, int | None]:
    """Parse one amount cell: ('number'|'decimal-comma'|'nil'|'blank'|'not-available'|'bad',
    pence, before). ``parsed`` is the cell's :func:`parse_amount`, when already known."""
    kind, number = parsed if parsed is not None else parse_amount(value)
    if kind == "bad":
        errors.add(
            row, value, "unparseable-amount", f"{shorten(cell_text(value))!r} is not an amount."
        )
        return "bad", None, None
    if number is None:
        return kind, None, None
    if abs(number) * UNIT_FACTOR[units] > MAX_POUNDS:
        errors.add(
            row,
            value,
            "amount-too-large",
            f"{cell_text(value)!r} ({units}) is over £1 trillion: not a believable amount.",
        )
        return "bad", None, None
    before, after = to_pence(number, units, share)
    return kind, after, before


#: A plain decimal as spreadsheets and exports write it: the fast, vectorised case.
_PLAIN_NUMBER = r"^-?(\d{1,15}(\.\d{0,12})?|\.\d{1,12})$"


def distinct_texts(column: Any) -> Any:
    """A column dictionary-encoded as one array: its distinct texts and each row's index."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column)
    return encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded


def per_unique(column: Any, fn: Callable[[str], Any], out_type: Any) -> Any:
    """Apply ``fn`` to each distinct text of a column once, and spread the answers back.

    A sheet of 200,000 payments has a few dozen distinct service labels: labels are
    classified once each, not once a row.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = distinct_texts(column)
    values = [None if v is None else fn(v) for v in encoded.dictionary.to_pylist()]
    if all(v is None for v in values):  # no answer to spread: every row's is None
        return pa.nulls(len(encoded), out_type)
    return pc.take(pa.array(values, out_type), encoded.indices)


def _plain_pence(amount: Any, plain: Any, units: str) -> Any:
    """The pence of the amounts that are plain numbers (``plain``), exactly; None elsewhere.

    Pounds and pence as exports write them (at most two decimals) are read as
    DECIMAL(18, 2) and multiplied by 100: no rounding, and faster than the general path,
    which reads up to twelve decimals and rounds half to even.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(amount)
    every = int(pc.sum(plain).as_py() or 0) == n - amount.null_count
    if UNIT_FACTOR[units] == 1:
        try:
            cents = pc.cast(amount if every else pc.filter(amount, plain), pa.decimal128(18, 2))
        except pa.ArrowInvalid:  # more than two decimals: the general path below
            cents = None
        if cents is not None:
            # × 100 leaves no fraction, so the cast to whole pence is exact (checked by Arrow)
            hundred = pa.scalar(Decimal(100), pa.decimal128(3, 0))
            pence = pc.cast(pc.multiply(cents, hundred), pa.int64())
            if every:
                return pence
            return pc.replace_with_mask(pa.nulls(n, pa.int64()), plain, pence)
    factor = UNIT_FACTOR[units] * 100
    numbers = pc.cast(pc.filter(amount, plain), pa.decimal128(27, 12))
    scaled = pc.multiply(numbers, pa.scalar(Decimal(factor), pa.decimal128(10, 0)))
    pence = pc.cast(pc.round(scaled, 0, round_mode="half_to_even"), pa.int64())
    return pc.replace_with_mask(pa.nulls(n, pa.int64()), plain, pence)


def read_long_table(
    grid: Grid,
    header: Header,
    schema: KindSchema,
    options: ReadOptions,
    issues: list[Issue],
    totals_out: list[dict[str, Any]] | None = None,
) -> tuple[Any, str, str]:
    """Read every row below the header of a long table (one line per row), in Arrow.

    Returns the line table (see ``placecount.models.LINE_COLUMNS``), the units and
    where they came from. Amounts are parsed exactly; plain numbers in one vectorised
    step, anything else (brackets, £, commas, dashes) cell by cell. A published marker
    ([x], '..') or free text in an amount cell leaves its line out with the reason
    (free text stops the file under ``options.strict``). Total rows are found by
    arithmetic (:func:`total_rows_by_arithmetic`); each one found is appended to
    ``totals_out`` when given.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    roles = header.roles
    amount_col = roles["amount"]
    stated = stated_units(grid, header, amount_col, options)
    if stated is None:
        return _read_with_proved_units(grid, header, schema, options, issues)
    units, units_from = stated
    start = header.row + 1
    n = max(grid.n_rows - start, 0)
    # a large CSV's columns come in pieces: those the table reads are joined into one (the
    # masks and amounts below are single arrays); the others are only tested for cells
    body = [
        _whole(c.slice(start)) if i in roles.values() else c.slice(start)
        for i, c in enumerate(grid.columns)
    ]

    no_text = pa.nulls(n, pa.string())  # one array for every column the sheet lacks

    def col(role: str) -> Any:
        c = roles.get(role)
        if c is None:
            return no_text
        trimmed = pc.utf8_trim_whitespace(body[c])
        if not pc.any(pc.equal(trimmed, "")).as_py():  # the usual case: blanks are nulls
            return trimmed
        return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)

    rows = arange(start + 1, n, pa.int32())
    # a row is empty when no cell has text (cells are None when empty; blanks are rare)
    non_empty = pa.repeat(pa.scalar(False), n)
    if any(c.null_count == 0 for c in body):  # a column with a cell in every row
        non_empty = pa.repeat(pa.scalar(True), n)
    else:
        for c in body:
            if c.null_count < len(c):
                non_empty = pc.or_(non_empty, pc.is_valid(c))
    non_empty = _whole(non_empty)
    amount_raw = body[amount_col]
    amount = col("amount")
    label, code = col("label"), col("code")

    # amounts: plain numbers in one vectorised step; the rest cell by cell
    plain = pc.fill_null(pc.match_substring_regex(amount, _PLAIN_NUMBER), False)
    before = _plain_pence(amount, plain, units)
    kind = pc.if_else(plain, pa.scalar("number"), pa.scalar(None, pa.string()))
    errors = AmountErrors(grid, header, amount_col)
    too_large = pc.fill_null(pc.greater(pc.abs(before), int(MAX_POUNDS * 100)), False)
    for i in pc.indices_nonzero(too_large).to_pylist():
        value = amount[i].as_py()
        errors.add(
            start + i,
            value,
            "amount-too-large",
            f"{value!r} ({units}) is over £1 trillion: not a believable amount.",
        )
    share = options.share
    after = before
    if share is not None:
        after = pa.array(
            [None if b is None else round(Fraction(b) * share) for b in before.to_pylist()],
            pa.int64(),
        )
    repeated = _repeated_header(body, header.texts, non_empty)
    odd = pc.indices_nonzero(
        pc.and_(pc.and_(pc.invert(plain), non_empty), pc.invert(repeated))
    ).to_pylist()
    cell_notes = CellNotes(grid, header, amount_col)
    odd_reasons: dict[int, str] = {}
    if odd:
        kinds, befores, afters = kind.to_pylist(), before.to_pylist(), after.to_pylist()
        for i in odd:
            value = amount_raw[i].as_py()
            parsed = parse_amount(value)
            if not options.strict and parsed[0] == "bad":
                # free text in an amount cell: the line is left out with its reason and the
                # rest of the file is read (--strict stops at it instead)
                odd_reasons[i] = f"not an amount: {shorten(cell_text(value), 40)!r}"
                cell_notes.free_text(start + i, value)
                kinds[i], afters[i], befores[i] = "bad", None, None
                continue
            found, after_pence, before_pence = read_amount(
                value, start + i, units, share, errors, parsed
            )
            if found == "decimal-comma":
                cell_notes.decimal_comma(start + i, value)
            elif found == "not-available":
                odd_reasons[i] = missing_reason(value) or "amount not available"
                cell_notes.marker(start + i, value, odd_reasons[i])
            kinds[i], afters[i], befores[i] = found, after_pence, before_pence
        kind = pa.array(kinds, pa.string())
        before, after = pa.array(befores, pa.int64()), pa.array(afters, pa.int64())
    errors.raise_if_any()
    issues.extend(cell_notes.issues())

    labelled_total = pc.or_(
        pc.fill_null(per_unique(label, is_total_label, pa.bool_()), False),
        pc.fill_null(per_unique(code, is_total_label, pa.bool_()), False),
    )
    has_amount = pc.fill_null(
        pc.is_in(kind, value_set=pa.array(["number", "decimal-comma", "nil"])), False
    )
    is_total, found_totals = total_rows_by_arithmetic(
        pc.and_(has_amount, labelled_total), has_amount, before, amount, label, code, start, units
    )
    for t in found_totals:
        if t["matched"]:
            continue
        where = f"(£{t['printed']} printed, £{t['sum']} above)"
        issues.append(
            Issue(
                code="total-not-matched",
                severity="info" if t["kept_as_line"] else "warning",
                message=f"{shorten(t['label'])!r} looks like a total but the lines above do "
                f"not add up to it {where}: kept as a line."
                if t["kept_as_line"]
                else f"the total row does not equal the lines above it {where}: left out "
                "as a total, and the lines counted.",
                file=grid.file_name,
                sheet=grid.sheet,
                row=t["row"],
                column=column_letter(amount_col),
                header=header.texts[amount_col],
                value=t["amount_text"],
                note=None if t["kept_as_line"] else "Check the sheet: a line may be missing.",
            )
        )
    if totals_out is not None:
        totals_out.extend(found_totals)
    with_amount = pc.indices_nonzero(has_amount)
    last_amount = with_amount[-1].as_py() if len(with_amount) else -1
    after_last = pc.greater(arange(0, n, pa.int64()), last_amount)
    none = pa.scalar(None, pa.string())
    reason = pc.case_when(
        pc.make_struct(
            pc.invert(non_empty),
            repeated,
            pc.and_(has_amount, is_total),
            has_amount,
            pc.fill_null(pc.equal(kind, "not-available"), False),
            pc.and_(pc.fill_null(pc.equal(kind, "blank"), True), after_last),
            pc.fill_null(pc.equal(kind, "blank"), True),
        ),
        pa.scalar("empty"),
        pa.scalar("header row repeated"),
        pa.scalar("total row"),
        none,
        pa.scalar("amount not available"),
        pa.scalar("note under the table"),
        pa.scalar("no amount"),
        pa.scalar("bad amount"),
    )
    if odd_reasons:
        texts = reason.to_pylist()
        for i, why in odd_reasons.items():
            texts[i] = why
        reason = pa.array(texts, pa.string())
    reason_arr = reason
    included = pc.is_null(reason_arr)
    year = per_unique(col("year"), lambda v: financial_year(v), pa.string())
    table = pa.table(
        {
            "row": rows,
            "column": pa.repeat(pa.scalar(column_letter(amount_col)), n),
            "native_code": code,
            "native_label": label,
            "amount_text": amount,
            "amount_pence": after,
            "before_share_pence": before,
            "included": included,
            "reason": reason_arr,
            "org": col("org"),
            "year": year,
            "recipient": col("recipient"),
            "status": col("status"),
            "sponsor": col("sponsor"),
            "part": col("part"),
            "cofog": col("cofog"),
            "connected": col("connected"),
            "spend_type": col("spend_type"),
            "org_code": col("org_code"),
            "org_class": col("org_class"),
            "measure": no_text,
            "sector": no_text,
            "identifiable": col("identifiable"),
            "table_name": no_text,
            "paid_on": no_text,
            "transfer_to": no_text,
            "transfer_basis": no_text,
            "mapped": pa.repeat(pa.scalar(False), n),
        }
    )
    # empty rows are not lines: they are dropped, and the Excel row numbers kept
    empty = pc.fill_null(pc.equal(reason_arr, "empty"), False)
    if pc.any(empty).as_py():
        table = table.filter(pc.invert(empty))
    return table.cast(_schema()), units, units_from


def _read_with_proved_units(
    grid: Grid, header: Header, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> tuple[Any, str, str]:
    """A table whose file states no unit: read the numbers as written, prove the unit from
    what a body could spend a head, then read it in that unit (or stop and ask)."""
    import dataclasses

    import pyarrow.compute as pc

    from ._units import prove_units

    as_written = dataclasses.replace(options, units="pounds", share=None)
    table, _, _ = read_long_table(grid, header, schema, as_written, [])
    kept = pc.filter(table.column("before_share_pence"), table.column("included"))
    total = Decimal(exact_sum(kept)) / 100
    units, why = prove_units(
        schema.kind,
        total,
        options.population,
        file_name=grid.file_name,
        sheet=grid.sheet,
    )
    table, _, _ = read_long_table(
        grid, header, schema, dataclasses.replace(options, units=units), issues
    )
    issues.append(
        Issue(
            code="unit-proved",
            severity="info",
            message=f"no unit is stated: read as {UNIT_NAMES_PLAIN[units]}, {why}.",
            file=grid.file_name,
            sheet=grid.sheet,
            row=header.row + 1,
            column=column_letter(header.roles["amount"]),
            note="If that is wrong, say which with --units.",
        )
    )
    return table, units, why


def _whole(column: Any) -> Any:
    """A column as one Arrow array (a chunked one is joined; an array is as it is)."""
    import pyarrow as pa

    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _schema() -> Any:
    from ..models import line_schema

    return line_schema()


def _repeated_header(body: list[Any], texts: list[str], non_empty: Any) -> Any:
    """Rows that repeat the header (as printed at the top of each page of some exports)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(non_empty)
    checks = [(c, normalise(t)) for c, t in enumerate(texts) if t.strip() and c < len(body)]
    if not checks:
        return pa.repeat(pa.scalar(False), n)
    first_col = checks[0][0]
    wanted = texts[first_col].strip().lower()

    def header_like(texts: Any) -> Any:
        return pc.equal(
            pc.utf8_lower(pc.utf8_trim_whitespace(texts)), pa.scalar(wanted, pa.string())
        )

    # a column of few distinct texts (a label, a code) is compared once a text, not once a row
    encoded = distinct_texts(body[first_col])
    if len(encoded.dictionary) * 4 <= n:
        candidates = pc.fill_null(pc.take(header_like(encoded.dictionary), encoded.indices), False)
    else:
        candidates = _whole(pc.fill_null(header_like(body[first_col]), False))
    hits = [
        i
        for i in pc.indices_nonzero(candidates).to_pylist()
        if all(normalise(body[c][i].as_py()) == h for c, h in checks)
    ]
    if not hits:
        return pa.repeat(pa.scalar(False), n)
    mask = [False] * n
    for i in hits:
        mask[i] = True
    return pa.array(mask, pa.bool_())


def arange(start: int, n: int, kind: Any) -> Any:
    """``start, start + 1, …`` as an Arrow array of ``n`` values, without a Python list."""
    import numpy as np
    import pyarrow as pa

    # from the buffer, not ``pa.array(ndarray)``: that asks whether the array is a pandas
    # Series and so imports pandas (a tenth of a second) on every ingest
    values = np.arange(start, start + n, dtype=kind.to_pandas_dtype())
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(values)])
