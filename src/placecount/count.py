"""The count: spending by COFOG function and source kind, by the Cumbria method.

Each step is visible in the result and can be switched (``[method]`` in
``placecount.toml``, or options of ``placecount report``):

- **No pound counted twice.** A line marked as a transfer (a recipient column, a
  schema rule, or the user's mapping) whose recipient is in the count is removed
  from the giver's side and shown as a reconciling line.
- **NDPBs inside PESA.** NDPB spending is shown "of which" beside the count and
  not added: HM Treasury counts it inside its sponsor department's PESA figures.
  ``ndpbs = "add-uncovered"`` adds it where no PESA figure covers the department.
- **PESA apportioned** by the share recorded with each line, printed with the count.
- **PESA overlap.** A total or local-government PESA table repeats what councils,
  NHS bodies and police report themselves: its COFOG divisions that local sources
  cover are taken out, and the reconciliation says so.
- **Payment lists are partial** (payments over a threshold, no salaries): kept out of
  the count and shown beside it as "payments, not counted (partial)", unless ingested
  with ``--count``; their lines can always be traced.
- **Per head** with the project's population, and **coverage**: bodies with no
  data, unmapped lines and lines left out, with their totals.

Gross spend − transfers − overlap = the count, to the penny.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from . import coverage, rounding
from .cofog import classification, normalise_code
from .errors import InputError, shorten
from .models import pence_to_pounds
from .project import Method, Project, Theme
from .resources import resource_path
from .sources._cells import plain_decimal
from .store import CountQueries, Store

KIND_ORDER = ["council", "nhs", "police", "pesa", "ndpb", "payments", "generic"]
KIND_TITLES = {
    "council": "Councils",
    "nhs": "NHS",
    "police": "Police",
    "pesa": "Central government",
    "ndpb": "NDPBs (added)",
    "payments": "Payments (partial, counted)",
    "generic": "Other bodies",
}
#: Labels outside a place count by nature (non-identifiable whatever the file says).
OUTSIDE_LABELS = [
    "eu transactions",
    "ec receipts",
    "gni contribution",
    "gni based contribution",
    "reserves",
    "unallocated provision",
    "ame margin",
]
SECTOR_NAMES = {"CG": "central government", "LG": "local government", "PC": "public corporations"}
MEMO_TITLE = "of which NDPBs (not added)"
#: Payment lists are partial: kept out of the count unless ingested with --count.
NOT_COUNTED_TITLE = "payments, not counted (partial)"
UNMAPPED_NAME = "Not mapped to COFOG"
Level = Literal["division", "group", "class"]


def simple_norm(text: str | None) -> str:
    """Text as the store compares it: lower case, runs of other characters as one space."""
    return re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).strip()


@dataclass
class Filters:
    """``--kind``, ``--org`` and ``--cofog``: what part of the count to show."""

    kinds: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    cofog: list[str] = field(default_factory=list)

    def params(self) -> dict[str, Any]:
        return {
            "f_kinds": list(self.kinds),
            "f_orgs": [simple_norm(o) for o in self.orgs],
            "f_codes": list(self.cofog),
        }

    def to_dict(self) -> dict[str, list[str]]:
        return {"kinds": self.kinds, "orgs": self.orgs, "cofog": self.cofog}


def parse_cofog_filter(text: str | None) -> list[str]:
    """'07,10.2' → ['07', '10.2'], each checked against the classification."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        code = normalise_code(part)
        if code is None:
            raise InputError.one(
                "unknown-cofog-code",
                f"--cofog: {part.strip()!r} is not a COFOG code.",
                note="Use codes such as 07 or 10.2; `placecount cofog` lists them.",
            )
        out.append(code)
    return out


def department_key(name: str | None) -> str:
    """A department's name and its abbreviations compare equal: 'Defra' ~ 'DEFRA'."""
    key = simple_norm(name).replace("department for ", "").replace("department of ", "")
    return _aliases().get(key, key)


_ALIASES: dict[str, str] = {}


def _aliases() -> dict[str, str]:
    if not _ALIASES:
        path = resource_path("data", "reference", "departments.csv")
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                canonical = simple_norm(row["department"])
                _ALIASES[
                    simple_norm(row["alias"])
                    .replace("department for ", "")
                    .replace("department of ", "")
                ] = canonical
                _ALIASES[canonical] = canonical
    return _ALIASES


def theme_rules(theme: Theme) -> list[dict[str, Any]]:
    """A theme as rows the store can match lines against."""
    rules: list[dict[str, Any]] = []
    for part in theme.cofog:
        code = normalise_code(part.cofog)
        if code is None:
            raise InputError.one(
                "unknown-cofog-code",
                f"theme code {part.cofog!r} is not a COFOG code.",
                file="placecount.toml",
            )
        rules.append({"kind": part.kind, "cofog": code, "share": part.share})
    for line in theme.lines:
        rules.append(
            {
                "kind": line.kind,
                "label": simple_norm(line.label) if line.label else None,
                "code": simple_norm(line.code) if line.code else None,
                "share": line.share,
            }
        )
    return rules


def per_head(pence: int, population: int | None) -> str | None:
    """£ per resident, to the penny (half-up, rounded once: see :mod:`placecount.rounding`),
    or None without a population."""
    return rounding.pounds(rounding.pence_per_head(pence, population))


def share_of(pence: int, total: int) -> str | None:
    """A part of the total as a fraction to 0.1%, e.g. '0.123' (see :mod:`placecount.rounding`)."""
    return rounding.share(pence, total)


def code_name(code: str | None) -> str:
    if code is None:
        return UNMAPPED_NAME
    return classification()[code].name


#: Said after the name of a row coarser than the report's level: only the lines mapped no
#: finer than that code (a division in a report by group), not the total of the codes under it.
NOT_SPLIT = "not split further"


def row_name(code: str | None, by: str) -> str:
    """A report row's name; a row coarser than the report's level says it holds only what
    is mapped no finer, e.g. row_name("07", "group") == "Health — not split further"."""
    name = code_name(code)
    level = {2: "division", 4: "group"}.get(len(code), "class") if code else None
    if level is not None and level != by:
        return f"{name} — {NOT_SPLIT}"
    return name


def _check_sources_per_head(store: Store, population: int | None) -> None:
    """No source may add up to more than a real body spends a head (a unit misread)."""
    from .sources._units import check_per_head

    if not population:
        return
    for src in store.sources():
        check_per_head(
            int(src["total_pence"]),
            population,
            src["kind"],
            file_name=src["file_name"],
            sheet=src["sheet"],
            units=src["units"],
            units_from=src["units_from"] or "the file",
        )


def count(
    store: Store,
    project: Project | None,
    *,
    by: Level = "division",
    method: Method | None = None,
    filters: Filters | None = None,
    theme: str | None = None,
    queries: CountQueries | None = None,
    lines_only: bool = False,
) -> dict[str, Any]:
    """The count as a dictionary: rows, totals, reconciliation, coverage and method.

    Pass ``queries`` to read the lines behind the count afterwards (``queries.lines()``);
    with ``lines_only``, the lines are classified but not summed (what trace needs), and
    only the filters are returned.
    """
    method = method or (project.method if project else Method())
    filters = filters or Filters()
    population = project.place.population if project else None
    theme_def: Theme | None = None
    if theme is not None:
        themes = project.themes if project else {}
        if theme not in themes:
            raise InputError.one(
                "unknown-theme",
                f"there is no theme {theme!r} in placecount.toml.",
                note="Themes: " + (", ".join(sorted(themes)) or "none declared") + ".",
            )
        theme_def = themes[theme]
    queries = queries or CountQueries(store)
    _check_sources_per_head(store, population)
    ctx = queries.context()
    covered = ndpb_coverage(ctx, queries)
    added = (
        [s for s, is_covered in covered.items() if not is_covered]
        if method.ndpbs == "add-uncovered"
        else []
    )
    ndpb_bodies = queries.ndpb_bodies()
    # "replace": an NDPB whose own CRA organisation is among the estimates is counted
    # from its own figures, and they replace that estimate (the coverage rule ndpb-own)
    bodies_added = (
        sorted({b["body"] for b in ndpb_bodies if b["has_estimate"]})
        if method.ndpbs == "replace"
        else []
    )
    added_names = [b["org"] for b in ndpb_bodies if b["sponsor"] in added] + [
        b["org"] for b in ndpb_bodies if b["body"] in bodies_added
    ]
    orgs = ctx["orgs"] + [simple_norm(n) for n in added_names]
    replace = method.pesa_overlap == "remove"
    counted_bodies = {k: v for k, v in ctx["bodies"].items() if k != "ndpb"}
    if added_names:
        counted_bodies["ndpb"] = sorted(set(added_names))
    rules = coverage.rules_for(project)
    groups, net_recipients = coverage.transfer_recipients(counted_bodies, method.income)
    orgs = orgs + groups
    if replace:
        coverage.check_parts(ctx["pesa_parts"], counted_bodies)
    queries.register_method(
        [vars(k) for k in coverage.load_kinds().values()],
        coverage.active_rules(rules, counted_bodies) if replace else [],
        drivers_for(project),
        view_kinds=filters.kinds,
    )
    queries.classify(
        {
            **filters.params(),
            "level": by,
            "ndpb_added": added,
            "ndpb_bodies_added": bodies_added,
            "transfers": method.eliminate_transfers,
            "orgs": orgs,
            "kinds": ctx["kinds"],
            "replace": replace,
            "net_recipients": net_recipients,
            "outside_labels": OUTSIDE_LABELS,
            "non_identifiable_per_head": method.non_identifiable == "per-head",
        },
        theme_rules(theme_def) if theme_def else None,
        summarise=not lines_only,
    )
    if lines_only:
        return {"filters": filters.to_dict()}
    cells: dict[tuple[str | None, str, str], int] = {}
    for r in queries.totals():
        cells[(r["code"], r["kind"], r["treatment"])] = int(r["pence"])
    kinds = [k for k in KIND_ORDER if any(kk == k and t == "counted" for (_, kk, t) in cells)]
    has_memo = any(t == "ndpb-memo" for (_, _, t) in cells)
    codes = sorted({c for (c, _, _) in cells if c is not None})
    if any(c is None for (c, _, _) in cells):
        codes_all: list[str | None] = [*codes, None]
    else:
        codes_all = list(codes)

    counted_total = sum(v for (_, _, t), v in cells.items() if t == "counted")
    nature = queries.by_nature()
    economic: dict[tuple[str | None, str], int] = {}
    grades: dict[tuple[str | None, str], int] = {}
    kind_economics: dict[str, set[str]] = {}
    by_record: dict[tuple[str | None, str, str], int] = {}
    for n in nature:
        for key in (f"{n['economic']}", f"grade_{n['grade']}"):
            rk = (n["code"], n["kind"], key)
            by_record[rk] = by_record.get(rk, 0) + int(n["pence"])
        pence = int(n["pence"])
        economic[(n["code"], n["economic"])] = economic.get((n["code"], n["economic"]), 0) + pence
        grades[(n["code"], n["grade"])] = grades.get((n["code"], n["grade"]), 0) + pence
        kind_economics.setdefault(n["kind"], set()).add(n["economic"])
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for code in codes_all:
        by_kind = {k: cells.get((code, k, "counted"), 0) for k in kinds}
        total = sum(by_kind.values())
        memo = sum(v for (c, k, t), v in cells.items() if c == code and t == "ndpb-memo")
        if memo == 0 and not any((code, k, "counted") in cells for k in kinds):
            continue  # only eliminated lines here: they are in the reconciliation
        rows.append(
            {
                "cofog_code": code,
                "cofog_name": row_name(code, by),
                "level": {2: "division", 4: "group"}.get(len(code), "class") if code else None,
                "by_kind_gbp": {k: money(v) for k, v in by_kind.items()},
                "total_gbp": money(total),
                "per_head_gbp": per_head(total, population),
                "share_of_total": share_of(total, counted_total),
                "ndpb_memo_gbp": money(memo) if has_memo else None,
                **{f"{e}_gbp": money(economic.get((code, key), 0)) for e, key in ECONOMIC_COLUMNS},
                "by_grade_gbp": {g: money(grades.get((code, g), 0)) for g in coverage.GRADES},
            }
        )
        for k in kinds:
            if (code, k, "counted") in cells:
                records.append(
                    {
                        "cofog_code": code,
                        "cofog_name": row_name(code, by),
                        "kind": k,
                        "amount_gbp": money(by_kind[k]),
                        **{
                            f"{e}_gbp": money(by_record.get((code, k, key), 0))
                            for e, key in ECONOMIC_COLUMNS
                        },
                        **{
                            f"grade_{g}_gbp": money(by_record.get((code, k, f"grade_{g}"), 0))
                            for g in coverage.GRADES
                        },
                    }
                )

    # shares and per-head figures rounded together, so the column adds up to its total
    row_pence = [sum(cells.get((r["cofog_code"], k, "counted"), 0) for k in kinds) for r in rows]
    for r, sh, ph in zip(
        rows,
        rounding.shares(row_pence, counted_total),
        rounding.per_heads(row_pence, population),
        strict=True,
    ):
        r["share_of_total"] = sh
        r["per_head_gbp"] = rounding.pounds(ph)
    ndpb_checks = memo_checks(cells, codes_all, queries, has_memo)
    # shown beside the count, never in it: NDPBs inside PESA, payment lists kept out
    gross = sum(v for (_, _, t), v in cells.items() if t not in ("ndpb-memo", "not-counted"))
    transfers = [
        {
            "kind": t["kind"],
            "from": t["org"],
            "to": t["transfer_to"],
            "basis": t["transfer_basis"],
            "label": t["native_label"],
            "lines": t["lines"],
            "amount_gbp": money(int(t["pence"])),
        }
        for t in queries.transfers()
    ]
    transfer_total = sum(v for (_, _, t), v in cells.items() if t == "transfer")
    mismatches = (
        coverage.transfer_mismatches(queries.transfer_cells(), queries.spending_by_org())
        if transfer_total
        else []
    )
    transfer_checks = [
        {
            "to": m["to"],
            "paid_gbp": money(m["paid_pence"]),
            "recipient_gbp": money(m["recipient_pence"]),
            "giver_cells": m["giver_cells"],
            "recipient_files": m["recipient_files"],
            "text": (
                f"£{money(m['paid_pence'])} is taken out of the count as paid to {m['to']} "
                f"({'; '.join(m['giver_cells'][:5])}"
                f"{' and more' if len(m['giver_cells']) > 5 else ''}), but "
                f"{', '.join(m['recipient_bodies']) or m['to']} spent only "
                f"£{money(m['recipient_pence'])} in the count "
                f"({', '.join(m['recipient_files']) or 'no lines'}): one side's figures are "
                "wrong or of another year. The amount is still taken out; check both files"
            ),
        }
        for m in mismatches
    ]
    replacements = [
        {
            "file": r["file_name"],
            "region": r["region"],
            "share": r["pesa_share"],
            "estimate": r["what"]
            or f"{SECTOR_NAMES.get(r['sector'], r['sector'])}, {r['division']} "
            f"{code_name(r['division'])}",
            "cofog_code": r["division"],
            "rule": r["rule"],
            "actual_kind": r["actual_kind"],
            "coarse": bool(r["coarse"]),
            "amount_gbp": money(int(r["pence"])),
            "bodies": len(counted_bodies.get(r["actual_kind"], [])),
            "actuals_gbp": money(
                sum(v for (_, k, t), v in cells.items() if k == r["actual_kind"] and t == "counted")
            ),
        }
        for r in queries.replacements()
    ]
    for r in replacements:
        r["text"] = coverage.replacement_text(r)
    replaced_total = sum(v for (_, _, t), v in cells.items() if t == "replaced")
    outside_total = sum(v for (_, _, t), v in cells.items() if t == "outside")
    if (
        gross - transfer_total - replaced_total - outside_total != counted_total
    ):  # pragma: no cover - a bug
        raise AssertionError("reconciliation does not add up")
    outside = [
        {
            "kind": o["kind"],
            "label": o["label"],
            "why": "non-identifiable"
            if o["identifiable"] == "non-identifiable"
            else ("outside a place count by nature"),
            "amount_gbp": money(int(o["pence"])),
            "per_head_gbp": per_head(int(o["pence"]), population),
        }
        for o in queries.outside()
    ]
    memo_total = sum(v for (_, _, t), v in cells.items() if t == "ndpb-memo")
    unmapped = sum(v for (c, _, t), v in cells.items() if c is None and t == "counted")

    totals = {
        "by_kind_gbp": {
            k: money(sum(cells.get((c, k, "counted"), 0) for c in codes_all)) for k in kinds
        },
        "total_gbp": money(counted_total),
        "per_head_gbp": per_head(counted_total, population),
        "ndpb_memo_gbp": money(memo_total) if has_memo else None,
        **{
            f"{e}_gbp": money(sum(v for (_, k), v in economic.items() if k == key))
            for e, key in ECONOMIC_COLUMNS
        },
        "by_grade_gbp": {
            g: money(sum(v for (_, k), v in grades.items() if k == g)) for g in coverage.GRADES
        },
        "by_grade_share": dict(
            zip(
                coverage.GRADES,
                rounding.shares(
                    [sum(v for (_, k), v in grades.items() if k == g) for g in coverage.GRADES],
                    counted_total,
                ),
                strict=True,
            )
        ),
    }
    return {
        "place": project.place.model_dump() if project else None,
        "by": by,
        "theme": ({"name": theme, **theme_def.model_dump(mode="json")} if theme_def else None),
        "filters": filters.to_dict(),
        "method": method.model_dump(),
        "coverage_rules": [
            {"rule": r.rule, "actual_kind": r.actual_kind, "text": r.describe(), "note": r.note}
            for r in rules
        ],
        "kinds": kinds,
        "kind_titles": {k: KIND_TITLES[k] for k in kinds},
        "memo_title": MEMO_TITLE if has_memo else None,
        "rows": rows,
        "totals": totals,
        "headline": headline(kinds, kind_economics, economic, counted_total, population),
        "records": records,
        "reconciliation": {
            "gross_gbp": money(gross),
            "transfers_gbp": money(transfer_total),
            "transfers": transfers,
            "transfer_checks": transfer_checks,
            "replaced_gbp": money(replaced_total),
            "replaced": replacements,
            "outside_gbp": money(outside_total),
            "outside": outside,
            "count_gbp": money(counted_total),
            "not_counted_gbp": money(
                sum(v for (_, _, t), v in cells.items() if t == "not-counted")
            ),
            "not_counted": [
                {
                    "kind": n["kind"],
                    "label": NOT_COUNTED_TITLE,
                    "sources": n["sources"],
                    "lines": n["lines"],
                    "amount_gbp": money(int(n["pence"])),
                }
                for n in queries.not_counted()
            ],
            "transfers_kept": [
                {
                    "kind": t["kind"],
                    "from": t["org"],
                    "to": t["transfer_to"],
                    "label": t["native_label"],
                    "amount_gbp": money(int(t["pence"])),
                    "why": (
                        "the recipient reports net of this income: its figures leave it out"
                        if simple_norm(t["transfer_to"]) in net_recipients
                        else "recipient is not in the count"
                    ),
                }
                for t in queries.kept_transfers()
            ],
        },
        "ndpb_checks": ndpb_checks,
        "ndpb_of_which": [
            {
                "sponsor": n["sponsor"],
                "bodies": n["bodies"],
                "amount_gbp": money(int(n["pence"])),
                "covered_by_pesa": covered.get(simple_norm(n["sponsor"]), True),
                "added": n["treatment"] == "counted",
            }
            for n in queries.ndpb_by_sponsor()
        ],
        "pesa": [
            {
                "file": p["file_name"],
                "sheet": p["sheet"],
                "region": p["region"],
                "part": p["part"],
                "share": p["pesa_share"],
                "share_basis": p["share_basis"],
                "amount_gbp": money(int(p["total_pence"])),
            }
            for p in queries.pesa_sources()
        ],
        "coverage": {
            "no_data": [b.model_dump() for b in (project.no_data if project else [])],
            "unmapped_gbp": money(unmapped),
            "excluded": [
                {
                    "kind": e["kind"],
                    "reason": e["reason"],
                    "lines": e["lines"],
                    "amount_gbp": money(int(e["pence"])),
                }
                for e in queries.excluded()
            ],
        },
    }


#: The report's economic columns: current, capital, and lines whose source does not split them.
ECONOMIC_COLUMNS = [("current", "current"), ("capital", "capital"), ("unsplit", "unknown")]


def headline(
    kinds: list[str],
    kind_economics: dict[str, set[str]],
    economic: dict[tuple[str | None, str], int],
    counted_total: int,
    population: int | None,
) -> dict[str, Any]:
    """The headline figure and its basis, the same for every source.

    Current and capital where every source has both (a source that does not split them,
    such as a wide PESA table, has both); where some source reports current spending only
    (Revenue Outturn), the headline is current spending, and what that leaves out is
    listed: other sources' capital, and the lines whose sources do not split the two
    (counted whole, as published).
    """
    current_only = [k for k in kinds if kind_economics.get(k, set()) == {"current"}]
    capital = sum(v for (_, e), v in economic.items() if e == "capital")
    unsplit = sum(v for (_, e), v in economic.items() if e == "unknown")
    if not current_only:
        return {
            "basis": "current and capital",
            "amount_gbp": money(counted_total),
            "per_head_gbp": per_head(counted_total, population),
            "current_only": [],
            "capital_left_out_gbp": money(0),
            "unsplit_gbp": money(unsplit),
            "gaps": [],
        }
    amount = counted_total - capital
    gaps = []
    if capital:
        gaps.append(
            f"capital spending of the sources that report it, £{money_text(capital)}, is left "
            "out of the headline: "
            + ", ".join(KIND_TITLES[k] for k in current_only)
            + " report current spending only"
        )
    if unsplit:
        gaps.append(
            f"£{money_text(unsplit)} comes from sources that do not split current and capital "
            "(counted whole, as published)"
        )
    return {
        # a source that does not split the two is counted whole: then the headline is
        # current spending plus that source's capital, and it says so
        "basis": "current" if not unsplit else "current and not-split",
        "amount_gbp": money(amount),
        "per_head_gbp": per_head(amount, population),
        "current_only": current_only,
        "capital_left_out_gbp": money(capital),
        "unsplit_gbp": money(unsplit),
        "gaps": gaps,
    }


def money_text(pence: int) -> str:
    return f"{pence_to_pounds(pence):,.2f}"


def drivers_for(project: Project | None) -> list[dict[str, Any]]:
    """The project's apportionment drivers as rows for the store, each checked."""
    out: list[dict[str, Any]] = []
    for n, d in enumerate(project.drivers if project else []):
        code = normalise_code(d.cofog) if d.cofog else None
        if d.cofog and code is None:
            raise InputError.one(
                "bad-driver",
                f"drivers[{n}].cofog: {d.cofog!r} is not a COFOG code.",
                file="placecount.toml",
            )
        try:
            share = plain_decimal(d.share)
        except ValueError as why:
            raise InputError.one(
                "bad-driver",
                f"drivers[{n}].share: {shorten(d.share)!r} {why}.",
                file="placecount.toml",
            ) from None
        if not 0 < share <= 1:
            raise InputError.one(
                "bad-driver",
                f"drivers[{n}].share: {d.share} is not a share (above 0, at most 1).",
                file="placecount.toml",
            )
        out.append(
            {
                "cofog": code,
                "department": simple_norm(d.department) or None,
                "share": str(share),
                "basis": d.basis,
            }
        )
    return out


def memo_checks(
    cells: dict[tuple[str | None, str, str], int],
    codes: list[str | None],
    queries: CountQueries,
    has_memo: bool,
) -> list[dict[str, Any]]:
    """NDPBs checked, not assumed: an "of which" memo larger than the PESA figure it is
    said to sit inside is a warning with both numbers.

    The figure is the PESA estimate of the same COFOG row (before any replacement) and,
    where the estimates name departments, the sponsor department's.
    """
    if not has_memo or not any(k == "pesa" for (_, k, _) in cells):
        return []
    out: list[dict[str, Any]] = []
    for code in codes:
        memo = sum(v for (c, _, t), v in cells.items() if c == code and t == "ndpb-memo")
        pesa = sum(
            v for (c, k, t), v in cells.items() if c == code and k == "pesa" and t != "transfer"
        )
        if memo > pesa:
            out.append(
                {
                    "where": f"COFOG {code} {code_name(code)}" if code else UNMAPPED_NAME,
                    "memo_gbp": money(memo),
                    "pesa_gbp": money(pesa),
                    "text": f"NDPBs 'of which' in {code or 'unmapped'} {code_name(code)}, "
                    f"£{money_text(memo)}, are more than the PESA figure they are said to "
                    f"sit inside, £{money_text(pesa)}",
                }
            )
    departments: dict[str, int] = {}
    for d in queries.pesa_by_department():
        key = department_key(d["department"])
        departments[key] = departments.get(key, 0) + int(d["pence"])
    for n in queries.ndpb_by_sponsor():
        key = department_key(n["sponsor"])
        if n["treatment"] != "ndpb-memo" or key not in departments:
            continue
        if int(n["pence"]) > departments[key]:
            out.append(
                {
                    "where": f"sponsor {n['sponsor']}",
                    "memo_gbp": money(int(n["pence"])),
                    "pesa_gbp": money(departments[key]),
                    "text": f"NDPBs sponsored by {n['sponsor']}, £{money_text(int(n['pence']))}, "
                    f"are more than that department's PESA figure, "
                    f"£{money_text(departments[key])}",
                }
            )
    return out


def ndpb_coverage(ctx: dict[str, Any], queries: CountQueries) -> dict[str, bool]:
    """For each NDPB sponsor (normalised), whether a PESA figure covers its department.

    A wide PESA table covers every department; a long extract only those it names.
    """
    pesa_orgs = ctx["pesa_orgs"]
    if not pesa_orgs:
        return {s: False for s in ctx["ndpb_sponsors"]}
    wide = simple_norm("Central government (PESA)") in pesa_orgs or "" in pesa_orgs
    departments = {department_key(o) for o in pesa_orgs}
    return {s: wide or department_key(s) in departments for s in ctx["ndpb_sponsors"]}


def money(pence: int) -> str:
    return str(pence_to_pounds(pence))


def trace(
    store: Store,
    project: Project | None,
    code: str,
    *,
    by: Level | None = None,
    method: Method | None = None,
    filters: Filters | None = None,
    theme: str | None = None,
    lines_json: bool = False,
) -> dict[str, Any]:
    """Every line behind one figure: the cells, their shares, and what the count did.

    ``by`` is the level of the report whose row is traced; by default the code's own
    level, so ``07`` takes everything in division 07. With ``by="group"``, ``07`` is
    the group-level row of lines mapped only to the division. With ``lines_json``,
    ``lines`` is the text of their JSON list as ``render.to_json`` would write it one
    level deep (written by the database: a payments file's lines in a fraction of the time).
    """
    if code.lower() in {"unmapped", "none", "-"}:
        prefix = ""
    else:
        norm = normalise_code(code)
        if norm is None:
            raise InputError.one(
                "unknown-cofog-code",
                f"{code!r} is not a COFOG code.",
                note="Use a code such as 07.3, or 'unmapped' for lines with no code.",
            )
        prefix = norm
    level: Level = by or {2: "division", 4: "group"}.get(len(prefix), "class")  # type: ignore[assignment]
    queries = CountQueries(store)
    result = count(
        store,
        project,
        by=level,
        method=method,
        filters=filters,
        theme=theme,
        queries=queries,
        lines_only=True,
    )
    head = {
        "cofog_code": prefix or None,
        "cofog_name": code_name(prefix or None),
        "by": level,
        "filters": result["filters"],
        "theme": theme,
    }
    if lines_json:
        text, counted = queries.trace_json(prefix, bool(theme), level=1)
        return {**head, "counted_gbp": money(counted), "lines": text}
    lines = queries.lines(prefix)
    counted = sum(int(x["pence"]) for x in lines if x["treatment"] == "counted")
    return {
        **head,
        "counted_gbp": money(counted),
        "lines": [
            {
                "file": x["file_name"],
                "file_sha256": x["file_sha256"],
                "sheet": x["sheet"],
                "cell": f"{x['excel_column'] or ''}{x['excel_row']}",
                "row": x["excel_row"],
                "kind": x["kind"],
                "org": x["org"],
                "native_code": x["native_code"],
                "native_label": x["native_label"],
                "cofog_code": x["cofog_code"],
                "cofog_share": x["cofog_share"],
                "theme_share": str(x["theme_share"]) if theme else None,
                "amount_gbp": money(int(x["pence"])),
                "treatment": x["treatment"],
                "transfer_to": x["transfer_to"],
                "basis": x["basis"],
                "sector": x["sector"],
                "economic": x["economic"],
                "grade": x["grade"],
                "identifiable": x["identifiable"],
                "apportionment": x["apportionment"],
                "replaced_by": x["replaced_by"],
                "driver": x["driver"],
            }
            for x in lines
        ],
    }
