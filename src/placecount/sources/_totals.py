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
    for pos, i in enumerate(kept):
        if not included[i] or not pence[i]:
            continue
        total = 0
        for n, j in enumerate(kept[pos + 1 : pos + 1 + MAX_RUN], start=1):
            if not included[j]:
                break
            total += pence[j]
            if n >= 2 and total == pence[i]:
                included[i] = False
                reasons[i] = (
                    f"subtotal: equals the {n} lines below it (rows {rows[kept[pos + 1]]}–"
                    f"{rows[j]}): they are counted"
                )
                break
    own_total = _own_total(rows, pence, included, reasons, labels, codes)
    if own_total is not None:
        row, stated = own_total
        lines = sum(p for p, inc in zip(pence, included, strict=True) if inc and p is not None)
        if abs(stated - lines) > 1:
            issue = Issue(
                code="control-total-mismatch",
                severity="error" if strict else "warning",
                message=f"the sheet's own total, £{stated / 100:,.2f}, differs from the lines "
                f"counted, £{lines / 100:,.2f}, by £{abs(stated - lines) / 100:,.2f}.",
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
