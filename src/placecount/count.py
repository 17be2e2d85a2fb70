"""The count: spending by COFOG division and source kind, totals exact to the penny.

NDPB spending is shown as "of which" and not added: HM Treasury treats it as
identifiable and so already inside PESA's departmental figures (the Cumbria
rule). Lines with no COFOG mapping are counted in their own row, so the total is
everything kept, and a reader sees what is not classified.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .cofog import classification
from .models import pence_to_pounds
from .project import Project
from .store import Store

KIND_ORDER = ["council", "nhs", "police", "pesa", "generic"]
KIND_TITLES = {
    "council": "Councils",
    "nhs": "NHS",
    "police": "Police",
    "pesa": "Central govt (PESA)",
    "generic": "Other bodies",
    "ndpb": "NDPBs, of which (not added)",
}
MEMO_KINDS = {"ndpb"}
UNMAPPED = "unmapped"


def per_head(pence: int, population: int | None) -> str | None:
    """£ per resident to the penny, rounded half-even, or None without a population."""
    if not population:
        return None
    return str((Decimal(pence) / 100 / population).quantize(Decimal("0.01")))


def division_by_kind(store: Store, project: Project | None) -> dict[str, Any]:
    """The count as a table: rows COFOG divisions (and unmapped), columns source kinds."""
    cats = classification()
    cells: dict[tuple[str, str], int] = {}
    for r in store.totals_by_division_and_kind():
        cells[(r["division"] or UNMAPPED, r["kind"])] = int(r["amount_pence"])
    kinds = [k for k in KIND_ORDER if any(k == kk for (_, kk) in cells)]
    memo = [k for k in sorted(MEMO_KINDS) if any(k == kk for (_, kk) in cells)]
    population = project.place.population if project else None
    divisions = sorted({d for (d, _) in cells if d != UNMAPPED})
    if any(d == UNMAPPED for (d, _) in cells):
        divisions.append(UNMAPPED)
    rows: list[dict[str, Any]] = []
    grand = 0
    for d in divisions:
        by_kind = {k: cells.get((d, k), 0) for k in kinds}
        total = sum(by_kind.values())
        memo_vals = {k: cells.get((d, k), 0) for k in memo}
        if total == 0 and not any(memo_vals.values()):
            continue
        rows.append(
            {
                "cofog_code": None if d == UNMAPPED else d,
                "cofog_name": "Not mapped to COFOG" if d == UNMAPPED else cats[d].name,
                "by_kind_gbp": {k: str(pence_to_pounds(v)) for k, v in by_kind.items()},
                "memo_gbp": {k: str(pence_to_pounds(v)) for k, v in memo_vals.items()},
                "total_gbp": str(pence_to_pounds(total)),
                "per_head_gbp": per_head(total, population),
                "_total_pence": total,
            }
        )
    grand = sum(r.pop("_total_pence") for r in rows)
    kind_totals = {k: sum(cells.get((d, k), 0) for d in divisions) for k in kinds}
    memo_totals = {k: sum(cells.get((d, k), 0) for d in divisions) for k in memo}
    return {
        "place": project.place.model_dump() if project else None,
        "kinds": kinds,
        "memo_kinds": memo,
        "kind_titles": {k: KIND_TITLES[k] for k in kinds + memo},
        "rows": rows,
        "totals": {
            "by_kind_gbp": {k: str(pence_to_pounds(v)) for k, v in kind_totals.items()},
            "memo_gbp": {k: str(pence_to_pounds(v)) for k, v in memo_totals.items()},
            "total_gbp": str(pence_to_pounds(grand)),
            "per_head_gbp": per_head(grand, population),
        },
    }
