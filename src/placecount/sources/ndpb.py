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
    found = simple.read(grid, schema, options, issues, roles=ROLES)
    if found is None:
        return None
    for line in found.lines:
        line.org = line.native_label
        if not line.included:
            continue
        reason = exclusion(schema, line.status, line.sponsor, line.extra.get("connected"))
        if reason:
            line.included, line.reason = False, reason
    return found
