"""Never a total and its parts: subtotals found by arithmetic, and the sheet's own total.

Council, NHS and police returns publish service totals over their detail lines (adult
social care over its client groups). A row labelled as a total is left out by the
table reader; a row whose amount equals the sum of the rows it heads (two or more,
directly below it) is a subtotal too, and is left out with its reason, so the most
detailed lines are kept and never both. The sheet's own total row (a total label below
every kept line) is a control total: when it differs from the kept lines by more than a
penny, the ingest says so with both figures, and ``--strict`` makes it an error.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError, Issue
from ._table import is_total_label

#: The longest run of lines one subtotal may head.
MAX_RUN = 60
#: Larger tables are lists of transactions, not returns with subtotals.
MAX_LINES = 20_000


def keep_most_detailed(
    table: Any, *, file_name: str, sheet: str | None, strict: bool, issues: list[Issue]
) -> Any:
    """The line table with arithmetic subtotals left out, and the control total checked."""
    import pyarrow as pa

    if table.num_rows > MAX_LINES:
        return table
    rows = table.column("row").to_pylist()
    pence = table.column("amount_pence").to_pylist()
    included = table.column("included").to_pylist()
    reasons = table.column("reason").to_pylist()
    labels = table.column("native_label").to_pylist()
    codes = table.column("native_code").to_pylist()
    kept = [i for i, inc in enumerate(included) if inc and pence[i] is not None]
    numbers = [_code_number(c) for c in codes]
    # the subtotals found below are guesses from arithmetic: kept only when the sheet's own
    # total does not say otherwise
    as_read = (list(included), list(reasons))
    for pos, i in enumerate(kept):
        if not included[i] or not pence[i]:
            continue
        total = 0
        for n, j in enumerate(kept[pos + 1 : pos + 1 + MAX_RUN], start=1):
            if not included[j] or not _same_block(numbers[i], numbers[j]):
                break
            total += pence[j]
            if n >= 2 and total == pence[i]:
                included[i] = False
                reasons[i] = (
                    f"subtotal: equals the {n} lines below it (rows {rows[kept[pos + 1]]}–"
                    f"{rows[j]}): they are counted"
                )
                break
    # A line whose code closes a block of codes (190 after 110–165) and equals their sum
    # is that block's total: codes are the evidence, so the lines above it may head it.
    for pos, i in enumerate(kept):
        code = numbers[i]
        if code is None or not included[i] or not pence[i]:
            continue
        total, last = 0, code
        for n, j in enumerate(reversed(kept[max(0, pos - MAX_RUN) : pos]), start=1):
            other = numbers[j]
            if not included[j] or other is None or other >= last:
                break
            if not _same_block(code, other):
                break
            total += pence[j]
            last = other
            if n >= 2 and total == pence[i]:
                included[i] = False
                reasons[i] = (
                    f"subtotal: code {codes[i]} closes the block of codes {codes[j]}–"
                    f"{codes[kept[pos - 1]]} above it (rows {rows[j]}–{rows[kept[pos - 1]]}) "
                    "and equals their sum: they are counted"
                )
                break
    own_total = _own_total(rows, pence, included, reasons, labels, codes)
    if own_total is not None:
        row, stated = own_total
        lines = _sum_included(pence, included)
        if abs(stated - lines) > 1 and abs(stated - _sum_included(pence, as_read[0])) <= 1:
            # every line as read adds up to the sheet's total: what looked like a subtotal
            # (100 = 0 + 100) is a line, and the total settles it
            included, reasons = as_read
            lines = _sum_included(pence, included)
        if abs(stated - lines) > 1:
            issue = Issue(
                code="control-total-mismatch",
                severity="error" if strict else "warning",
                message=f"the sheet's own total, £{_pounds(stated)}, differs from the lines "
                f"counted, £{_pounds(lines)}, by £{_pounds(abs(stated - lines))}.",
                file=file_name,
                sheet=sheet,
                row=row,
                note="Check for a line the sheet's total leaves out or a subtotal counted "
                "as a line.",
            )
            if strict:
                raise InputError(issues=[issue])
            issues.append(issue)
    return table.set_column(
        table.schema.get_field_index("included"), "included", pa.array(included, pa.bool_())
    ).set_column(table.schema.get_field_index("reason"), "reason", pa.array(reasons, pa.string()))


def _sum_included(pence: list[int | None], included: list[bool]) -> int:
    return sum(p for p, inc in zip(pence, included, strict=True) if inc and p is not None)


def _pounds(pence: int) -> str:
    """Pence as pounds with separators, exactly: 65100 → '651.00'."""
    sign = "-" if pence < 0 else ""
    whole, rest = divmod(abs(pence), 100)
    return f"{sign}{whole:,}.{rest:02d}"


def _code_number(code: str | None) -> int | None:
    """A service-line code as a number ('190' → 190), or None for other codes."""
    text = (code or "").strip()
    return int(text) if text.isdigit() and len(text) <= 4 else None


def _same_block(head: int | None, line: int | None) -> bool:
    """Whether two lines' codes allow one to head the other: the same hundred (110–190),
    or either line without a numeric code (then arithmetic alone decides)."""
    if head is None or line is None:
        return True
    return head // 100 == line // 100


def _own_total(
    rows: list[int],
    pence: list[int | None],
    included: list[bool],
    reasons: list[str | None],
    labels: list[str | None],
    codes: list[str | None],
) -> tuple[int, int] | None:
    """The sheet's total row: a total row below every kept line, with its amount."""
    last_kept = max((i for i, inc in enumerate(included) if inc), default=-1)
    for i in range(len(rows) - 1, last_kept, -1):
        amount = pence[i]
        if reasons[i] == "total row" and amount is not None:
            if is_total_label(f"{labels[i] or ''} {codes[i] or ''}"):
                return rows[i], amount
    return None
