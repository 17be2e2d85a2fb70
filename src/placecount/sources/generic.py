"""Any other body whose sheet already carries a COFOG code column.

EU programmes, regional agencies and partnerships publish this way. The COFOG
codes are checked against the classification when the lines are mapped.
"""

from __future__ import annotations

from ..errors import Issue
from ..models import KindSchema, ReadOptions, SourceRead
from . import simple
from ._grid import Grid

ROLES = ["amount", "cofog", "code", "label", "org", "year", "recipient"]


def read(
    grid: Grid, schema: KindSchema, options: ReadOptions, issues: list[Issue]
) -> SourceRead | None:
    """Read a long table with a COFOG column."""
    return simple.read(grid, schema, options, issues, roles=ROLES)
