"""Council, NHS and police sheets: a long table of native lines with an amount each.

The three kinds differ only in their column aliases and mapping table
(``schemas/council.toml``, ``nhs.toml``, ``police.toml``), so one reader serves all.
"""

from __future__ import annotations

from typing import Any

from ..errors import Issue, column_letter
from ..models import KindSchema, ReadOptions, SourceRead
from ._grid import Grid
from ._table import find_header, read_long_table

LONG_ROLES = ["amount", "code", "label", "org", "year", "recipient"]


def read(
    grid: Grid,
    schema: KindSchema,
    options: ReadOptions,
    issues: list[Issue],
    roles: list[str] | None = None,
) -> SourceRead | None:
    """Read a long table, or return None when the sheet has no header for this kind."""
    wanted = roles or LONG_ROLES

    def accept(found: dict[str, int]) -> bool:
        return "amount" in found and any(r in found for r in schema.identity)

    header = find_header(grid, schema, options, wanted, accept)
    if header is None:
        return None
    totals: list[dict[str, Any]] = []
    table, units, units_from = read_long_table(grid, header, schema, options, issues, totals)
    if schema.kind in ("council", "nhs", "police"):
        from ._totals import keep_most_detailed

        table = keep_most_detailed(
            table,
            file_name=grid.file_name,
            sheet=grid.sheet,
            strict=options.strict,
            issues=issues,
        )
    return SourceRead(
        kind=schema.kind,
        file_name=grid.file_name,
        sheet=grid.sheet,
        header_row=header.row + 1,
        units=units,
        units_from=units_from,
        org=None,
        year=None,
        table=table,
        columns={role: column_letter(c) for role, c in header.roles.items()},
        headers={role: header.texts[c] for role, c in header.roles.items()},
        total_rows=totals,
    )
