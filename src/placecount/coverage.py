"""Which estimates a place's actuals replace: the count's coverage rule, in one place.

A count is its local bodies' own accounts (**actuals**) plus the apportioned PESA and
CRA lines (**estimates**) that no counted actual covers, less transfers between counted
bodies. Two bundled tables say how, and both can be changed in ``placecount.toml``:

- ``data/method/kinds.csv``: the nature of each kind's lines when the sheet does not
  say: its basis (actual or estimate), its sector in PESA's terms (CG, LG, PC), its
  economic category (current, capital, or unknown) and its confidence grade;
- ``data/method/coverage.csv``: which estimates each kind of actual covers, at the
  finest level the estimate carries: a CRA line names its department and organisation,
  so NHS bodies replace exactly the Department of Health's NHS trusts and commissioning
  lines; a wide PESA table has only functions, so there they replace central
  government's division 07 and the replacement is marked *coarse*.

An estimate whose part cannot be told is an error at ingest (``--part``). A PESA
``total`` table mixes CG, LG and PC with no split: with actuals in the count it would
count local spending twice or lose central spending, so the count refuses it and says
what to use instead (:func:`check_parts`).

>>> [r.rule for r in load_rules()][:2]
['council-lg', 'police-lg']
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, excel_position
from .project import Project
from .resources import resource_path

#: The kinds whose lines are actuals (a body's own accounts); ``pesa`` is the estimate.
ACTUAL_KINDS = ("council", "nhs", "police", "ndpb", "generic")
SECTOR_OF_PART = {"central": "CG", "local": "LG", "public-corporation": "PC", "total": "total"}
GRADES = ("actual", "driver", "population", "assumption")


@dataclass(frozen=True)
class KindNature:
    """What a kind's lines are when the sheet does not say (``data/method/kinds.csv``)."""

    kind: str
    basis: str
    sector: str | None
    economic: str
    grade: str
    note: str
    income: str = "gross"


@dataclass(frozen=True)
class CoverageRule:
    """One row of the coverage table: estimates that one kind of actual replaces.

    Text patterns are compared as the store compares names (lower case, other
    characters as one space) and match names that begin with them: "nhs trusts" is the
    CRA's "NHS Trusts", never "Office of the Independent Regulator for NHS Foundation
    Trusts".
    ``organisation = "{org}"`` stands for each counted body of the kind by name.
    """

    rule: str
    actual_kind: str
    sector: str
    department: str | None
    organisation: str | None
    cofog: str | None
    except_cofog: str | None
    coarse_cofog: str | None
    note: str

    def describe(self) -> str:
        """The rule in words, e.g. for README's method section and the Method sheet."""
        what = [f"{KIND_NOUNS.get(self.actual_kind, self.actual_kind)} replace {self.sector} lines"]
        if self.department:
            what.append(f"department '{self.department}…'")
        if self.organisation == "{org}":
            what.append("the body's own CRA organisation")
        elif self.organisation:
            what.append(f"organisation '{self.organisation}…'")
        if self.cofog:
            what.append(f"COFOG {self.cofog}")
        if self.except_cofog:
            what.append(f"except COFOG {self.except_cofog}")
        text = ", ".join(what)
        if self.coarse_cofog:
            text += f"; where the estimate names no organisation, {self.sector} {self.coarse_cofog}"
            text += " (coarse)"
        return text


def _norm(text: str | None) -> str | None:
    from .count import simple_norm

    value = simple_norm(text)
    return value or None


def load_kinds(path: Path | None = None) -> dict[str, KindNature]:
    """Each kind's default nature, from ``data/method/kinds.csv``."""
    path = path or resource_path("data", "method", "kinds.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            r["kind"]: KindNature(
                kind=r["kind"],
                basis=r["basis"],
                sector=r["sector"] or None,
                economic=r["economic"],
                grade=r["grade"],
                note=r["note"],
                income=r.get("income") or "gross",
            )
            for r in csv.DictReader(fh)
        }


def load_rules(path: Path | None = None) -> list[CoverageRule]:
    """The coverage table, from ``data/method/coverage.csv`` or the user's file."""
    from .cofog import normalise_code

    path = path or resource_path("data", "method", "coverage.csv")
    rules: list[CoverageRule] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError.one(
            "bad-coverage", f"cannot read the coverage table: {exc.strerror}.", file=path.name
        ) from exc
    needed = {"rule", "actual_kind", "sector"}
    for n, r in enumerate(rows, start=2):
        if not needed <= set(k for k, v in r.items() if v):
            raise InputError.one(
                "bad-coverage",
                "each coverage rule needs a rule name, an actual_kind and a sector.",
                file=path.name,
                row=n,
                note="Columns: rule, actual_kind, sector, department, organisation, cofog, "
                "except_cofog, coarse_cofog, note.",
            )
        if r["actual_kind"] not in ACTUAL_KINDS:
            raise InputError.one(
                "bad-coverage",
                f"actual_kind {r['actual_kind']!r} is not a kind of actual.",
                file=path.name,
                row=n,
                note="Use one of: " + ", ".join(ACTUAL_KINDS) + ".",
            )
        codes: dict[str, str | None] = {}
        for col in ("cofog", "except_cofog", "coarse_cofog"):
            text = (r.get(col) or "").strip()
            code = normalise_code(text) if text else None
            if text and code is None:
                raise InputError.one(
                    "bad-coverage",
                    f"{col} {text!r} is not a COFOG code.",
                    file=path.name,
                    row=n,
                )
            codes[col] = code
        organisation = (r.get("organisation") or "").strip()
        rules.append(
            CoverageRule(
                rule=r["rule"].strip(),
                actual_kind=r["actual_kind"].strip(),
                sector=r["sector"].strip().upper(),
                department=_norm(r.get("department")),
                organisation="{org}" if organisation == "{org}" else _norm(organisation),
                cofog=codes["cofog"],
                except_cofog=codes["except_cofog"],
                coarse_cofog=codes["coarse_cofog"],
                note=(r.get("note") or "").strip(),
            )
        )
    return rules


def rules_for(project: Project | None) -> list[CoverageRule]:
    """The project's ``[[coverage]]`` rules, then (unless switched off) the bundled table."""
    from .cofog import normalise_code

    own: list[CoverageRule] = []
    for n, e in enumerate(project.coverage if project else []):
        codes: dict[str, str | None] = {}
        for col in ("cofog", "except_cofog", "coarse_cofog"):
            text = getattr(e, col)
            code = normalise_code(text) if text else None
            if text and code is None:
                raise InputError.one(
                    "bad-coverage",
                    f"coverage[{n}].{col}: {text!r} is not a COFOG code.",
                    file="placecount.toml",
                )
            codes[col] = code
        own.append(
            CoverageRule(
                rule=e.rule,
                actual_kind=e.actual_kind,
                sector=e.sector,
                department=_norm(e.department),
                organisation="{org}" if e.organisation == "{org}" else _norm(e.organisation),
                cofog=codes["cofog"],
                except_cofog=codes["except_cofog"],
                coarse_cofog=codes["coarse_cofog"],
                note=e.note or "",
            )
        )
    if project is not None and not project.method.default_coverage:
        return own
    return own + load_rules()


def active_rules(rules: list[CoverageRule], counted: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The rules whose kind of actual is in the count, as rows for the store.

    ``counted`` gives, for each kind with counted lines, the names of its bodies; a
    ``{org}`` rule becomes one row per body. Rows keep the table's order: the first
    rule that matches an estimate replaces it.
    """
    out: list[dict[str, Any]] = []
    for rule in rules:
        bodies = counted.get(rule.actual_kind)
        if not bodies:
            continue
        names = [_norm(b) for b in bodies] if rule.organisation == "{org}" else [rule.organisation]
        for name in names:
            if rule.organisation == "{org}" and not name:
                continue
            out.append(
                {
                    "rule_id": len(out) + 1,
                    "rule": rule.rule,
                    "actual_kind": rule.actual_kind,
                    "sector": rule.sector,
                    "department": rule.department,
                    "organisation": name,
                    "cofog": rule.cofog,
                    "except_cofog": rule.except_cofog,
                    "coarse_cofog": rule.coarse_cofog,
                }
            )
    return out


def transfer_recipients(
    bodies: dict[str, list[str]], income: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Who a transfer can be to, of the bodies in the count, and which report net.

    Returns the recipient names in the count (normalised): the groups of
    ``data/method/recipients.csv`` (parish councils, the Environment Agency, waste and
    transport authorities) that some counted body's name places it in; and the names
    (bodies, kinds and groups) whose figures are net of the income they receive, so a
    contribution paid to them stays on the giver's side.
    """
    kinds = load_kinds()
    net_kinds = {k for k in kinds if income.get(k, kinds[k].income) == "net" and k in bodies}
    groups = _recipient_groups()
    present: set[str] = set()
    net: set[str] = set(net_kinds)
    for kind, names in bodies.items():
        for name in names:
            body = _norm(name) or ""
            if kind in net_kinds:
                net.add(body)
            for group, needle in groups:
                if group and needle and needle in body:
                    present.add(group)
                    if kind in net_kinds:
                        net.add(group)
    return sorted(present), sorted(net)


def _recipient_groups() -> list[tuple[str, str]]:
    """(group, needle) pairs of ``data/method/recipients.csv``, normalised."""
    path = resource_path("data", "method", "recipients.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            (_norm(r["recipient"]) or "", _norm(r["body_name_contains"]) or "")
            for r in csv.DictReader(fh)
        ]


def transfer_mismatches(
    cells: list[dict[str, Any]], spending: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Eliminated transfers that the recipients' own books cannot hold.

    As Whole of Government Accounts' counterparty checks do, each recipient's side is
    compared with what the givers say they paid it: a recipient whose counted spending is
    less than the transfers eliminated against it cannot have spent them all, so one side
    is wrong. The count keeps the rule's choice (the transfer is eliminated); the
    mismatch is listed with the giver's cells and the recipient's files.
    """
    groups = _recipient_groups()
    paid: dict[str, dict[str, Any]] = {}
    for c in cells:
        to = _norm(c["transfer_to"]) or ""
        entry = paid.setdefault(to, {"to": c["transfer_to"], "pence": 0, "cells": []})
        entry["pence"] += int(c["pence"])
        entry["cells"].append(
            excel_position(c["file_name"], c["sheet"], c["excel_row"], c["excel_column"])
        )
    out: list[dict[str, Any]] = []
    for to, entry in paid.items():
        needles = [n for g, n in groups if g == to and n]

        def holds(row: dict[str, Any], to: str = to, needles: list[str] = needles) -> bool:
            org = _norm(row["org"]) or ""
            return org == to or row["kind"] == to or any(n in org for n in needles)

        own = [r for r in spending if holds(r)]
        received = sum(int(r["pence"]) for r in own)
        if received >= entry["pence"]:
            continue
        out.append(
            {
                "to": entry["to"],
                "paid_pence": entry["pence"],
                "giver_cells": entry["cells"],
                "recipient_pence": received,
                "recipient_files": sorted({r["file_name"] for r in own}),
                "recipient_bodies": sorted({r["org"] for r in own if r["org"]}),
            }
        )
    return out


def check_parts(pesa_parts: list[dict[str, Any]], counted: dict[str, list[str]]) -> None:
    """A PESA ``total`` table cannot stand beside actuals: refuse it, saying what to use."""
    totals = [p for p in pesa_parts if p["part"] == "total"]
    actuals = sorted(k for k in counted if k in ACTUAL_KINDS)
    if not totals or not actuals:
        return
    p = totals[0]
    bodies = sum(len(counted[k]) for k in actuals)
    raise InputError.one(
        "total-with-actuals",
        f"this PESA table is total public spending (central and local government and "
        f"public corporations with no split), and the count also has the actuals of "
        f"{bodies} local {'body' if bodies == 1 else 'bodies'} ({', '.join(actuals)}): "
        "together they would count local spending twice.",
        file=p["file_name"],
        sheet=p["sheet"],
        note="Use the central government table of the same release (ingest it with --part "
        "central), or a CRA database with its CG/LG/PC column; then `placecount ingest "
        "pesa ... --replace`. Alone, a total table is the place's whole estimated public "
        "spending.",
    )


def replacement_text(r: dict[str, Any]) -> str:
    """One replacement in words: 'estimate: … × 0.0685 = £731.5m — replaced by …'."""
    from .render import money

    what = r["estimate"]
    bodies = r["bodies"]
    by = f"the actuals of {bodies} {KIND_NOUNS.get(r['actual_kind'], r['actual_kind'])}"
    if bodies == 1:
        by = f"the actuals of 1 {KIND_NOUN.get(r['actual_kind'], r['actual_kind'])}"
    coarse = " (coarse: the estimate gives functions only)" if r["coarse"] else ""
    return (
        f"estimate: {what}, {r['region']} × {r['share']} = £{money(r['amount_gbp'])} — "
        f"replaced by {by}, £{money(r['actuals_gbp'])}{coarse}"
    )


KIND_NOUN = {
    "council": "council",
    "nhs": "NHS body",
    "police": "police body",
    "ndpb": "NDPB",
    "generic": "body",
}
KIND_NOUNS = {
    "council": "councils",
    "nhs": "NHS bodies",
    "police": "police bodies",
    "ndpb": "NDPBs",
    "generic": "bodies",
}


def method_text(rules: list[CoverageRule] | None = None) -> str:
    """The coverage table as Markdown bullets (README's method section, ``make docs``)."""
    rules = rules if rules is not None else load_rules()
    return (
        "\n".join(
            f"- `{r.rule}`: {r.describe()}." + (f" {r.note.rstrip('.')}." if r.note else "")
            for r in rules
        )
        + "\n"
    )
