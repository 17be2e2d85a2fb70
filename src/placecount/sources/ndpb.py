"""Non-departmental public bodies: one row per body, excluded by the Cumbria rules.

Kept: executive bodies with a direct connection to the place. Left out, each
with its reason: advisory bodies, tribunals, bodies sponsored by the Foreign
Office or DfID, and bodies marked as having no direct connection.
"""

from __future__ import annotations

from ..errors import Issue
from ..models import KindSchema, ReadOptions, SourceRead
from . import simple
from ._cells import normalise
from ._grid import Grid
from ._table import per_unique

ROLES = ["amount", "label", "sponsor", "status", "connected", "year", "recipient"]


def exclusion(
    schema: KindSchema, status: str | None, sponsor: str | None, connected: str | None
) -> str | None:
    """Why a body is left out of the count, or None when it is kept.

    >>> from placecount.models import load_kind_schema
    >>> exclusion(load_kind_schema("ndpb"), "Advisory", "DCMS", "Yes")
    'Advisory body (the count keeps executive bodies)'
    """
    words = normalise(status).split()
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
