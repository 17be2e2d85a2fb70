"""Counts compared: several places or years side by side, by COFOG code, in £, £ per head
and share, with the change between them; optionally in real terms and beside published
benchmarks (the region's and England's £ per head from the PESA / CRA tables).

A count is read from what ``placecount run`` wrote (its ``manifest.json``, or a report in
JSON) or built afresh from a project file. Counts made differently (another method, another
COFOG mapping, a filtered report) are refused with the evidence, unless ``mixed`` is set,
when every output lists the differences. Money is exact: amounts are integer pence (or
exact fractions of them in real terms); each figure is rounded once, and the rows of every
count are made to add up to its rounded total, so the change columns add up too.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import InputError, Issue
from .rounding import (
    SHARE_PLACES,
    fraction_text,
    largest_remainder,
    pence_per_head,
    per_heads,
    pounds,
    round_half_up,
    shares,
)
from .sources._cells import financial_year, plain_decimal

LEVELS = ("division", "group", "class")
PRICES = ("nominal", "real")
#: The nine English regions, as the CRA names them (England is their sum where a table
#: gives no England figure of its own).
ENGLISH_REGIONS = [
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
]


@dataclass
class Count:
    """One count as the comparison sees it: pence by COFOG code, and how it was made."""

    label: str
    file: str
    place: str | None
    year: str | None
    population: int | None
    by: str
    pence: dict[str | None, int]
    names: dict[str | None, str]
    method: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    theme: str | None = None
    mappings: dict[str, str] | None = None
    pesa: list[dict[str, Any]] = field(default_factory=list)
    base: Path | None = None
    non_identifiable: str = "outside"


# -- reading counts -------------------------------------------------------------------------


def load_count(path: Path, by: str = "division") -> Count:
    """A count from a manifest.json, a report JSON, or a project file (built afresh)."""
    path = Path(path)
    if path.suffix.lower() == ".toml" or "#" in path.name:
        return _from_project(path, by)
    from .run import read_json

    data = read_json(path)
    if isinstance(data, dict) and "settings" in data and "records" in data.get("totals", {}):
        return _from_manifest(path, data, by)
    if isinstance(data, dict) and "records" in data and "reconciliation" in data:
        return _from_report(path.as_posix(), data, by)
    raise InputError.one(
        "bad-manifest",
        "this is neither a manifest.json, a report in JSON nor a project file.",
        file=path.name,
        note="Give files written by `placecount run` (manifest.json), by "
        "`placecount report --format json`, or placecount.toml files.",
    )


def _pence(text: str | None) -> int:
    return int((Decimal(text or "0") * 100).to_integral_value(rounding=ROUND_HALF_EVEN))


def _records_pence(
    records: list[dict[str, Any]],
) -> tuple[dict[str | None, int], dict[str | None, str]]:
    pence: dict[str | None, int] = {}
    names: dict[str | None, str] = {}
    for r in records:
        code = r.get("cofog_code")
        pence[code] = pence.get(code, 0) + _pence(r.get("amount_gbp"))
        names[code] = r.get("cofog_name") or ""
    return pence, names


def _label(place: dict[str, Any] | None, fallback: str) -> str:
    if not place:
        return fallback
    return f"{place.get('name')} {place.get('financial_year')}"


def _from_report(name: str, data: dict[str, Any], by: str) -> Count:
    if data.get("by") != by:
        raise InputError.one(
            "counts-differ",
            f"this report's rows are COFOG {data.get('by')}s, not {by}s.",
            file=name,
            note=f"Give a report made with `placecount report --by {by} --format json`, or "
            f"compare with --by {data.get('by')}.",
        )
    if "prices" in data:
        raise InputError.one("bad-manifest", "this is a comparison, not a count.", file=name)
    place = data.get("place") or {}
    pence, names = _records_pence(data["records"])
    mappings = data.get("mappings")
    theme = data.get("theme")
    method = dict(data.get("method") or {})
    return Count(
        label=_label(place, name),
        file=name,
        place=place.get("name"),
        year=place.get("financial_year"),
        population=place.get("population"),
        by=by,
        pence=pence,
        names=names,
        method=method,
        filters={k: v for k, v in (data.get("filters") or {}).items() if v},
        theme=theme.get("name") if isinstance(theme, dict) else theme,
        mappings=(
            {f"{m['kind']} mapping": m.get("sha256") or "" for m in mappings}
            if isinstance(mappings, list)
            else None
        ),
        non_identifiable=str(method.get("non_identifiable", "outside")),
    )


def _from_manifest(path: Path, data: dict[str, Any], by: str) -> Count:
    settings = data["settings"]
    place = settings.get("place") or {}
    base = (path.parent / data.get("project_file", "")).parent
    if by == "division":
        pence, names = _records_pence(data["totals"]["records"])
    else:
        report = _report_output(path, data, by)
        pence, names = _records_pence(report["records"])
    mappings: dict[str, str] = {}
    for item in data.get("reference_data", []):
        name = str(item["path"])
        if name.endswith(".csv") and "/cofog/" in name:
            mappings[name.split(":", 1)[-1]] = item["sha256"]
    users = {m for m in settings.get("mappings", {}).values()}
    users |= {s["mapping"] for s in settings.get("sources", []) if s.get("mapping")}
    for item in data.get("inputs", []):
        if item["path"] in users:
            mappings[f"user mapping {item['path']}"] = item["sha256"]
    method = dict(settings.get("method") or {})
    return Count(
        label=_label(place, path.as_posix()),
        file=path.as_posix(),
        place=place.get("name"),
        year=place.get("financial_year"),
        population=place.get("population"),
        by=by,
        pence=pence,
        names=names,
        method=method,
        mappings=mappings,
        pesa=[_pesa_spec(s, place) for s in settings.get("sources", []) if s["kind"] == "pesa"],
        base=base,
        non_identifiable=str(method.get("non_identifiable", "outside")),
    )


def _pesa_spec(src: dict[str, Any], place: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": src["file"],
        "region": src.get("region"),
        "year": src.get("year") or place.get("financial_year"),
        "region_population": src.get("region_population"),
        "part": src.get("part"),
        "table": src.get("table"),
        "sheet": src.get("sheet"),
        "units": src.get("units"),
    }


def _report_output(path: Path, data: dict[str, Any], by: str) -> dict[str, Any]:
    """A manifest's report JSON of the whole count at ``by`` level, checked by its SHA-256."""
    from .sources import file_digest

    digests = {o["path"]: o["sha256"] for o in data.get("outputs", [])}
    for spec in data["settings"].get("outputs", []):
        if (
            spec.get("type") == "report"
            and spec.get("by") == by
            and str(spec.get("file", "")).endswith(".json")
            and not (spec.get("kind") or spec.get("org") or spec.get("cofog") or spec.get("theme"))
        ):
            target = path.parent / spec["file"]
            if target.exists() and digests.get(spec["file"]) == file_digest(target)[0]:
                loaded: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
                return loaded
    raise InputError.one(
        "counts-differ",
        f"the manifest's totals are by COFOG division, and it lists no report JSON by {by}.",
        file=path.name,
        note=f"Add an [[outputs]] report with by = {by!r} and a .json file, or give the "
        "project file itself.",
    )


def count_from_run(label: str, manifest: Path, report: dict[str, Any], project: Path) -> Count:
    """A count from what `run` built: its report (at the comparison's level) and its
    manifest (for the mapping versions), with the project's PESA sources for benchmarks."""
    from .project import load_project

    count = _from_report(label, report, str(report.get("by")))
    made = _from_manifest(manifest, json.loads(manifest.read_text(encoding="utf-8")), "division")
    count.mappings = made.mappings
    loaded = load_project(project)
    place = loaded.place.model_dump() if loaded else {}
    count.pesa = [
        _pesa_spec(s.model_dump(), place)
        for s in (loaded.sources if loaded else [])
        if s.kind == "pesa"
    ]
    count.base = project.parent
    return count


def _from_project(path: Path, by: str) -> Count:
    from . import api
    from .run import DB_NAME, MANIFEST, run

    real = path.with_name(path.name.split("#", 1)[0])
    if not real.exists():
        raise InputError.one("no-project", "there is no such project file.", file=real.name)
    with tempfile.TemporaryDirectory(prefix="placecount-compare-") as tmp:
        manifest = run(path, Path(tmp))
        if "places" in manifest:
            raise InputError.one(
                "bad-option",
                "this project holds several places: `placecount run` compares them.",
                file=real.name,
                note=f"Or give one place as {real.name}#KEY.",
            )
        report = api.report(Path(tmp) / DB_NAME, by=by, project_file=path)
        return count_from_run(path.as_posix(), Path(tmp) / MANIFEST, report, path)


# -- how the counts were made -------------------------------------------------------------------


def differences(counts: list[Count]) -> list[dict[str, Any]]:
    """What differs in how the counts were made: method, filters, mapping versions."""
    out: list[dict[str, Any]] = []
    first = counts[0]
    for other in counts[1:]:
        for key in sorted(set(first.method) | set(other.method)):
            a, b = first.method.get(key), other.method.get(key)
            if a != b:
                out.append(_diff("method", key, first, other, a, b))
        for what, a, b in (
            ("filters", first.filters, other.filters),
            ("theme", first.theme, other.theme),
        ):
            if a != b:
                out.append(_diff("selection", what, first, other, a, b))
        if first.mappings is None or other.mappings is None:
            missing = first if first.mappings is None else other
            out.append(
                {
                    "what": "mapping",
                    "key": "versions",
                    "counts": [first.label, other.label],
                    "values": [None, None],
                    "text": f"{missing.file} does not record its COFOG mapping versions",
                }
            )
            continue
        for key in sorted(set(first.mappings) & set(other.mappings)):
            a, b = first.mappings[key], other.mappings[key]
            if a != b:
                out.append(_diff("mapping", key, first, other, a[:12], b[:12]))
        for key in sorted(set(first.mappings) ^ set(other.mappings)):
            if key.startswith("user mapping"):
                holder = first if key in first.mappings else other
                out.append(
                    {
                        "what": "mapping",
                        "key": key,
                        "counts": [first.label, other.label],
                        "values": [first.mappings.get(key), other.mappings.get(key)],
                        "text": f"{key} is used by {holder.label} only",
                    }
                )
    return out


def _diff(what: str, key: str, a: Count, b: Count, va: Any, vb: Any) -> dict[str, Any]:
    return {
        "what": what,
        "key": key,
        "counts": [a.label, b.label],
        "values": [va, vb],
        "text": f"{what} {key}: {a.label} has {va!r}, {b.label} has {vb!r}",
    }


# -- deflators --------------------------------------------------------------------------------

_YEAR = re.compile(r"^\s*(\d{4})[-/](\d{2}|\d{4})\s*$")
_BASE = re.compile(r"(\d{4}-\d{2})\s*=\s*100")


@dataclass
class Deflators:
    """A GDP deflator index by financial year, with where it comes from."""

    file: str
    sha256: str
    index: dict[str, Decimal]
    base_year: str | None
    source: str | None
    published: str | None

    def factor(self, year: str, base_year: str) -> Fraction:
        """What multiplies year's cash to give base_year's prices: index[base] / index[year]."""
        for y in (year, base_year):
            if y not in self.index:
                raise InputError.one(
                    "bad-deflators",
                    f"the deflator table has no figure for {y}.",
                    file=self.file,
                    note="Its years run from "
                    f"{min(self.index)} to {max(self.index)}; give a table that covers every "
                    "count's year and the base year (--deflators FILE).",
                )
        return Fraction(self.index[base_year]) / Fraction(self.index[year])


def read_deflators(path: Path) -> Deflators:
    """A deflator table: HM Treasury's CSV as published (title rows, then rows of a
    financial year and its index, the base year written '2022-23 = 100'), or a plain
    CSV ``financial_year,deflator`` with ``# source:``, ``# published:`` and
    ``# base_year:`` comment lines."""
    import hashlib

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError.one(
            "file-not-found", f"--deflators: the file cannot be read ({exc}).", file=path.name
        ) from exc
    text = raw.decode("utf-8-sig", errors="replace")
    meta: dict[str, str] = {}
    index: dict[str, Decimal] = {}
    base: str | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            key, _, value = line.lstrip("# ").partition(":")
            if value.strip():
                meta[key.strip().lower().replace(" ", "_")] = value.strip()
            continue
        cells = next(csv.reader([line]), [])
        joined = " ".join(cells)
        found = _BASE.search(joined)
        if found and base is None:
            base = found.group(1)
        if len(cells) < 2 or not _YEAR.match(cells[0]):
            continue
        year = financial_year(cells[0].strip())
        value = cells[1].strip().replace(",", "")
        if year is None:
            continue
        try:
            number = plain_decimal(value)
        except ValueError as exc:
            raise InputError.one(
                "bad-deflators",
                f"{value!r} {exc}: not an index number.",
                file=path.name,
                row=n,
                column="B",
                note="Each row is a financial year and its deflator, e.g. 2008-09,79.5.",
            ) from None
        if not number.is_finite() or number <= 0:
            raise InputError.one(
                "bad-deflators",
                f"{value!r} is not a positive index number.",
                file=path.name,
                row=n,
                column="B",
            )
        if year in index:
            raise InputError.one("bad-deflators", f"{year} is given twice.", file=path.name, row=n)
        index[year] = number
    if not index:
        raise InputError.one(
            "bad-deflators",
            "no rows of a financial year and an index number.",
            file=path.name,
            note="Give HM Treasury's 'GDP deflators at market prices' CSV, or a CSV "
            "financial_year,deflator.",
        )
    stated = meta.get("base_year")
    base = financial_year(stated) if stated else base
    if base is None:
        hundred = [y for y, v in index.items() if v == 100]
        base = hundred[0] if len(hundred) == 1 else None
    return Deflators(
        file=path.name,
        sha256=hashlib.sha256(raw).hexdigest(),
        index=index,
        base_year=base,
        source=meta.get("source"),
        published=meta.get("published"),
    )


# -- exact arithmetic, rounded once (by rounding.py, as every report is) -----------------------


def _factor_text(value: Fraction) -> str:
    """A factor or a deflator shown to six decimals, half-up."""
    return fraction_text(value, 6)


# -- the comparison --------------------------------------------------------------------------------


def compare(
    files: list[Path],
    *,
    by: str = "division",
    prices: str = "nominal",
    base_year: str | None = None,
    deflators: Path | None = None,
    mixed: bool = False,
    benchmarks: bool = False,
    england_population: int | None = None,
    counts: list[Count] | None = None,
) -> dict[str, Any]:
    """Compare counts by COFOG code: £, £ per head, share, and the change between each
    count and the one before it, in £ and %."""
    from .cofog import classification

    if by not in LEVELS:
        raise InputError.one("bad-option", f"--by {by!r}: use division, group or class.")
    if prices not in PRICES:
        raise InputError.one("bad-option", f"--prices {prices!r}: use nominal or real.")
    if counts is None:
        if len(files) < 2:
            raise InputError.one(
                "bad-option",
                "give two or more counts to compare.",
                note="placecount compare A/manifest.json B/manifest.json",
            )
        counts = [load_count(Path(f), by) for f in files]
    found = differences(counts)
    if found and not mixed:
        raise InputError(
            issues=[
                Issue(code="counts-differ", message=d["text"] + ".", file=d.get("file"))
                for d in found
            ]
            + [
                Issue(
                    code="counts-differ",
                    message=f"{len(found)} differences in how the counts were made: their "
                    "figures would not compare like with like.",
                    note="Make the counts the same way, or pass --mixed to compare them all "
                    "the same (every output then lists these differences).",
                )
            ]
        )
    price_info: dict[str, Any] = {"basis": "nominal", "text": "nominal (cash) prices"}
    factors: dict[int, Fraction] = {i: Fraction(1) for i in range(len(counts))}
    if prices == "real":
        if deflators is None:
            raise InputError.one(
                "bad-deflators",
                "--prices real needs a deflator table: placecount bundles none.",
                note="Give HM Treasury's 'GDP deflators at market prices, and money GDP' CSV "
                "with --deflators FILE (data/deflators/README.md says why none is bundled).",
            )
        table = read_deflators(deflators)
        base = financial_year(base_year) if base_year else table.base_year
        if base is None:
            raise InputError.one(
                "bad-deflators",
                "say which year's prices to restate in: --base-year YYYY-YY.",
                file=table.file,
            )
        for i, c in enumerate(counts):
            if c.year is None:
                raise InputError.one(
                    "bad-deflators", f"{c.file} does not say its financial year.", file=c.file
                )
            factors[i] = table.factor(c.year, base)
        price_info = {
            "basis": "real",
            "base_year": base,
            "text": f"real terms, {base} prices (GDP deflator)",
            "deflators": {
                "file": table.file,
                "sha256": table.sha256,
                "source": table.source,
                "published": table.published,
                "index_base_year": table.base_year,
                "index": {c.year: str(table.index[c.year]) for c in counts if c.year}
                | {base: str(table.index[base])},
            },
            "factors": {c.label: _factor_text(factors[i]) for i, c in enumerate(counts)},
        }
    cats = classification()
    codes = sorted({k for c in counts for k in c.pence if k is not None})
    if any(None in c.pence for c in counts):
        codes_all: list[str | None] = [*codes, None]
    else:
        codes_all = list(codes)
    names: dict[str | None, str] = {}
    for c in counts:
        names.update(c.names)
    for known in codes:
        if known in cats:
            names[known] = cats[known].name
    # every figure is rounded once from its exact value, by the rules every report uses
    # (rounding.py): pence, per head and shares shared out so that each column adds up
    amounts: list[dict[str | None, int]] = []
    per_head: list[dict[str | None, int | None]] = []
    share_of: list[dict[str | None, str | None]] = []
    exacts: list[dict[str | None, Fraction]] = []
    totals: list[int] = []
    for i, c in enumerate(counts):
        exact = {code: c.pence.get(code, 0) * factors[i] for code in codes_all}
        values = list(exact.values())
        exacts.append(exact)
        amounts.append(dict(zip(codes_all, largest_remainder(values), strict=True)))
        per_head.append(dict(zip(codes_all, per_heads(values, c.population), strict=True)))
        share_of.append(dict(zip(codes_all, shares(values), strict=True)))
        totals.append(round_half_up(sum(values, Fraction(0))))

    def cell(i: int, code: str | None) -> dict[str, Any]:
        return {
            "amount_gbp": pounds(amounts[i][code]),
            "per_head_gbp": pounds(per_head[i][code]),
            "share": share_of[i][code],
        }

    def percent(a: Fraction, b: Fraction) -> str | None:
        return fraction_text((b - a) * 100 / abs(a), 1) if a else None

    def change(i: int, code: str | None) -> dict[str, Any]:
        return {
            "from": counts[i - 1].label,
            "to": counts[i].label,
            "amount_gbp": pounds(amounts[i][code] - amounts[i - 1][code]),
            "percent": percent(exacts[i - 1][code], exacts[i][code]),
        }

    rows = []
    for code in codes_all:
        rows.append(
            {
                "cofog_code": code,
                "cofog_name": names.get(code) or "Not mapped to COFOG",
                "counts": [cell(i, code) for i in range(len(counts))],
                "changes": [change(i, code) for i in range(1, len(counts))],
            }
        )
    total_cells = []
    for i, c in enumerate(counts):
        total_exact = sum(exacts[i].values(), Fraction(0))
        total_cells.append(
            {
                "amount_gbp": pounds(totals[i]),
                "per_head_gbp": pounds(pence_per_head(total_exact, c.population)),
                "share": fraction_text(Fraction(1), SHARE_PLACES) if total_exact else None,
            }
        )
    total_changes = []
    for i in range(1, len(counts)):
        total_changes.append(
            {
                "from": counts[i - 1].label,
                "to": counts[i].label,
                "amount_gbp": pounds(totals[i] - totals[i - 1]),
                "percent": percent(
                    sum(exacts[i - 1].values(), Fraction(0)), sum(exacts[i].values(), Fraction(0))
                ),
            }
        )
    notes = []
    if any(c.population is None for c in counts):
        notes.append(
            "£ per head is shown only for counts whose project gives a population: "
            + ", ".join(c.label for c in counts if c.population is None)
            + " has none"
        )
    result: dict[str, Any] = {
        "by": by,
        "prices": price_info,
        "counts": [
            {
                "label": c.label,
                "file": c.file,
                "place": c.place,
                "financial_year": c.year,
                "population": c.population,
                "method": c.method,
            }
            for c in counts
        ],
        "rows": rows,
        "totals": {"counts": total_cells, "changes": total_changes},
        "differences": found,
        "notes": notes,
    }
    if benchmarks:
        result["benchmarks"] = benchmark_rows(
            counts, result, factors, england_population=england_population
        )
    return result


# -- benchmarks: the region's and England's £ per head from the PESA / CRA tables ------------------


def benchmark_rows(
    counts: list[Count],
    result: dict[str, Any],
    factors: dict[int, Fraction],
    *,
    england_population: int | None = None,
) -> list[dict[str, Any]]:
    """For each count with a PESA / CRA source: the region's and England's £ per head by
    COFOG division, read from that same table, beside the place's own per head."""
    out: list[dict[str, Any]] = []
    for i, c in enumerate(counts):
        if not c.pesa:
            out.append({"count": c.label, "available": False, "why": "no PESA or CRA table"})
            continue
        if c.base is None:
            out.append(
                {
                    "count": c.label,
                    "available": False,
                    "why": "a report JSON does not say where its PESA table is: give the "
                    "manifest.json or the project file",
                }
            )
            continue
        spec = c.pesa[0]
        path = c.base / spec["file"]
        region = spec["region"]
        region_pence, part = _table_divisions(path, spec, region)
        england_pence, england_from = _england(path, spec)
        place_pence: dict[str, int] = {}
        for code, p in c.pence.items():
            if code is not None:
                place_pence[code[:2]] = place_pence.get(code[:2], 0) + p
        rpop = spec.get("region_population")
        f = factors[i]
        codes = sorted(set(place_pence) | set(region_pence) | set(england_pence))

        place_col = _per_head_column(place_pence, codes, f, c.population)
        region_col = _per_head_column(region_pence, codes, f, rpop)
        england_col = _per_head_column(england_pence, codes, f, england_population)
        rows = [
            {
                "cofog_code": code,
                "place_per_head_gbp": pounds(place_col[k]),
                "region_per_head_gbp": pounds(region_col[k]),
                "england_per_head_gbp": pounds(england_col[k]) if england_pence else None,
            }
            for k, code in enumerate(codes)
        ]
        notes = [
            f"{region} and England from {path.name} ({spec['year']}): identifiable "
            f"spending, {_part_text(part)}, by the same COFOG mapping as the count"
        ]
        if c.non_identifiable == "per-head":
            notes.append(
                "not the same basis: the place's figures include non-identifiable spending "
                "per head (a total managed expenditure view); the benchmarks are identifiable "
                "spending only"
            )
        if part in ("central", "local", "public-corporation"):
            notes.append(
                f"not the same coverage: the benchmarks are {_part_text(part)} only, the "
                "place's count covers every body counted"
            )
        if not rpop:
            notes.append(
                f"no {region} population is given (region_population in the source), so "
                "its £ per head is not shown"
            )
        if england_pence and not england_population:
            notes.append("no England population is given (--england-population N)")
        if not england_pence:
            notes.append(f"England's figures are not in {path.name}")
        elif england_from:
            notes.append(f"England: {england_from}")
        out.append(
            {
                "count": c.label,
                "available": True,
                "file": path.name,
                "region": region,
                "financial_year": spec["year"],
                "region_population": rpop,
                "england_population": england_population,
                "basis": "identifiable",
                "rows": rows,
                "totals": {
                    "place_per_head_gbp": _per_head(sum(place_pence.values()) * f, c.population),
                    "region_per_head_gbp": _per_head(sum(region_pence.values()) * f, rpop),
                    "england_per_head_gbp": _per_head(
                        sum(england_pence.values()) * f, england_population
                    )
                    if england_pence
                    else None,
                },
                "notes": notes,
            }
        )
    return out


def _per_head_column(
    pence: dict[str, int], codes: list[str], factor: Fraction, population: int | None
) -> list[int | None]:
    """Each code's pence per head, rounded once and shared out so the column adds up to its
    total per head."""
    return per_heads([pence.get(code, 0) * factor for code in codes], population)


def _part_text(part: str | None) -> str:
    return {
        "central": "central government",
        "local": "local government",
        "public-corporation": "public corporations",
        "total": "all sectors",
        "mixed": "all sectors (each line's CG, LG or PC as the table gives it)",
        None: "all sectors",
    }.get(part, f"sectors: {part}")


def _per_head(pence: Fraction | int, population: int | None) -> str | None:
    return pounds(pence_per_head(pence, population))


_READ_CACHE: dict[tuple[Any, ...], tuple[dict[str, int], str | None]] = {}


def _table_divisions(
    path: Path, spec: dict[str, Any], region: str
) -> tuple[dict[str, int], str | None]:
    """A region's identifiable spending in a PESA / CRA table by COFOG division, in pence,
    read and mapped as the count's own ingest reads it (with a share of 1)."""
    from .sources import file_digest

    key = (
        file_digest(path)[0],
        region,
        *(spec.get(k) for k in ("year", "part", "table", "sheet", "units")),
    )
    if key not in _READ_CACHE:
        _READ_CACHE[key] = _read_divisions(path, spec, region)
    got, part = _READ_CACHE[key]
    return dict(got), part


def _read_divisions(
    path: Path, spec: dict[str, Any], region: str
) -> tuple[dict[str, int], str | None]:
    from .cofog import load_mapping, map_lines
    from .models import ReadOptions, load_kind_schema
    from .sources import read_sources

    options = ReadOptions(
        region=region,
        year=spec.get("year"),
        share=Fraction(1),
        share_text="1",
        share_basis="the whole region",
        part=spec.get("part"),
        table=spec.get("table"),
        sheet=spec.get("sheet"),
        units=spec.get("units"),
        project_year=spec.get("year"),
    )
    reads, _ = read_sources("pesa", path, options)
    schema = load_kind_schema("pesa")
    mapping = load_mapping(schema.mapping) if schema.mapping else None
    out: dict[str, int] = {}
    part = None
    for read in reads:
        part = read.part
        table, allocations, _ = map_lines(read.table, mapping, read.file_name, read.sheet)
        included = table.column("included").to_pylist()
        ident = table.column("identifiable").to_pylist()
        labels = table.column("native_label").to_pylist()
        from .count import OUTSIDE_LABELS, simple_norm

        idx = allocations.column("line_index").to_pylist()
        codes = allocations.column("cofog_code").to_pylist()
        amounts = allocations.column("amount_pence").to_pylist()
        for li, code, amount in zip(idx, codes, amounts, strict=True):
            if not included[li] or ident[li] == "non-identifiable" or not code:
                continue
            if any(simple_norm(labels[li]).startswith(o) for o in OUTSIDE_LABELS):
                continue
            out[code[:2]] = out.get(code[:2], 0) + int(amount)
    return out, part


def _england(path: Path, spec: dict[str, Any]) -> tuple[dict[str, int], str | None]:
    """England by division: the table's own England figures, else its nine regions added."""
    try:
        got, _ = _table_divisions(path, spec, "England")
        if got:
            return got, "the table's England figures"
    except InputError:
        pass
    total: dict[str, int] = {}
    for region in ENGLISH_REGIONS:
        try:
            got, _ = _table_divisions(path, spec, region)
        except InputError:
            return {}, None
        for k, v in got.items():
            total[k] = total.get(k, 0) + v
    return total, "the nine English regions added together"


# -- output ----------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "prices",
    "cofog_code",
    "cofog_name",
    "count",
    "financial_year",
    "amount_gbp",
    "per_head_gbp",
    "share",
    "change_gbp",
    "change_percent",
]


def _flat(result: dict[str, Any]) -> list[dict[str, Any]]:
    prices = result["prices"]["basis"] + (
        f" {result['prices']['base_year']}" if result["prices"].get("base_year") else ""
    )
    out = []
    rows = [*result["rows"], {"cofog_code": "", "cofog_name": "Total", **result["totals"]}]
    for r in rows:
        for i, c in enumerate(r["counts"]):
            ch = r["changes"][i - 1] if i else None
            out.append(
                {
                    "prices": prices,
                    "cofog_code": r["cofog_code"],
                    "cofog_name": r["cofog_name"],
                    "count": result["counts"][i]["label"],
                    "financial_year": result["counts"][i]["financial_year"],
                    **c,
                    "change_gbp": ch["amount_gbp"] if ch else None,
                    "change_percent": ch["percent"] if ch else None,
                }
            )
    return out


def title(result: dict[str, Any]) -> str:
    labels = " · ".join(c["label"] for c in result["counts"])
    return f"{labels}: spending by COFOG {result['by']}, {result['prices']['text']}"


def _pct(share: str | None) -> str:
    return "" if share is None else f"{Decimal(share) * 100:.1f}%"


def _chg(p: str | None) -> str:
    return "" if p is None else f"{Decimal(p):+.1f}%"


def _gbp(text: str | None) -> str:
    return "" if text is None else f"{Decimal(text):,.2f}"


def headings(result: dict[str, Any]) -> list[str]:
    heads = ["COFOG", "Function"]
    for c in result["counts"]:
        heads += [f"{c['label']} £", f"{c['label']} £ per head", f"{c['label']} share"]
    for ch in result["totals"]["changes"]:
        heads += [f"Change {ch['from']} → {ch['to']} £", "Change %"]
    return heads


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in [*result["rows"], {"cofog_code": "", "cofog_name": "Total", **result["totals"]}]:
        cells = [r["cofog_code"] or ("—" if r["cofog_name"] != "Total" else ""), r["cofog_name"]]
        for c in r["counts"]:
            cells += [_gbp(c["amount_gbp"]), _gbp(c["per_head_gbp"]), _pct(c["share"])]
        for ch in r["changes"]:
            cells += [_gbp(ch["amount_gbp"]), _chg(ch["percent"])]
        rows.append(cells)
    return rows


def notes_lines(result: dict[str, Any]) -> list[str]:
    out = [f"Prices: {result['prices']['text']}."]
    d = result["prices"].get("deflators")
    if d:
        out.append(
            f"Deflators: {d['file']} (source: {d['source'] or 'not stated'}; published: "
            f"{d['published'] or 'not stated'}; index {d['index_base_year'] or '?'} = 100); "
            + ", ".join(f"{k} {v}" for k, v in sorted(d["index"].items()))
        )
        out.append(
            "Factors: " + ", ".join(f"{k} × {v}" for k, v in result["prices"]["factors"].items())
        )
    for c in result["counts"]:
        pop = f"population {c['population']:,}" if c["population"] else "no population"
        out.append(f"{c['label']}: {c['file']}, {pop}")
    out.append(
        "Change: each count against the one before it; £ columns add up to the totals "
        "(each count's total rounded once and its rows shared out to the penny)."
    )
    for d in result["differences"]:
        out.append(f"Differs (compared with --mixed): {d['text']}")
    out += [f"Note: {n}" for n in result["notes"]]
    for b in result.get("benchmarks", []):
        if not b["available"]:
            out.append(f"Benchmarks for {b['count']}: none ({b['why']})")
            continue
        out += [f"Benchmarks for {b['count']}: {n}" for n in b["notes"]]
    return out


def benchmark_headings(b: dict[str, Any]) -> list[str]:
    return [
        "COFOG",
        "Function",
        f"{b['count']} £ per head",
        f"{b['region']} £ per head",
        "England £ per head",
    ]


def benchmark_table_rows(b: dict[str, Any]) -> list[list[str]]:
    from .cofog import classification

    cats = classification()
    out = []
    for r in [*b["rows"], {"cofog_code": "", **b["totals"]}]:
        code = r["cofog_code"]
        out.append(
            [
                code,
                cats[code].name if code in cats else "Total",
                _gbp(r["place_per_head_gbp"]),
                _gbp(r["region_per_head_gbp"]),
                _gbp(r["england_per_head_gbp"]),
            ]
        )
    return out


def to_csv(result: dict[str, Any]) -> str:
    from .render import to_csv as write

    return write(_flat(result), CSV_COLUMNS)


def to_markdown(result: dict[str, Any]) -> str:
    from .escape import md_cell, md_fence

    def row(cells: list[str]) -> str:
        return "| " + " | ".join(md_cell(c) for c in cells) + " |"

    heads = headings(result)
    lines = [f"## {md_cell(title(result))}", "", row(heads)]
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(heads) - 2)) + "|")
    for cells in table_rows(result):
        lines.append(row(cells))
    for b in result.get("benchmarks", []):
        if b["available"]:
            bh = benchmark_headings(b)
            heading = md_cell(f"{b['count']} beside {b['region']} and England")
            lines += ["", f"### {heading}", ""]
            lines.append(row(bh))
            lines.append("|---|---|---:|---:|---:|")
            lines += [row(r) for r in benchmark_table_rows(b)]
    lines += ["", md_fence(notes_lines(result))]
    return "\n".join(lines) + "\n"


def to_text(result: dict[str, Any]) -> str:
    from rich.table import Table

    from .render import text_of

    table = Table(title=title(result), show_lines=False)
    heads = headings(result)
    for n, h in enumerate(heads):
        table.add_column(h, justify="left" if n < 2 else "right")
    body = table_rows(result)
    for n, cells in enumerate(body):
        table.add_row(*cells, end_section=n == len(body) - 2)
    parts: list[Any] = [table]
    for b in result.get("benchmarks", []):
        if b["available"]:
            bt = Table(
                title=f"{b['count']} beside {b['region']} and England ({b['financial_year']})"
            )
            for n, h in enumerate(benchmark_headings(b)):
                bt.add_column(h, justify="left" if n < 2 else "right")
            brows = benchmark_table_rows(b)
            for n, cells in enumerate(brows):
                bt.add_row(*cells, end_section=n == len(brows) - 2)
            parts.append(bt)
    parts += notes_lines(result)
    return text_of(parts)


def to_xlsx(result: dict[str, Any]) -> bytes:
    """The comparison, its benchmarks and notes as a workbook that prints one page wide;
    amounts as £ numbers, shares and changes as percentages."""
    from .workbook import Book, human

    book = Book(title(result))
    s = book.sheet("Comparison")
    s.put(0, 0, title(result), book.wb.add_format({"bold": True, "font_size": 13}))
    heads = [human(h) for h in headings(result)]
    s.width(0, 0, 8)
    s.width(1, 1, 40)
    s.width(2, len(heads) - 1, 16)
    s.header(2, heads, height=32)
    rows = [*result["rows"], {"cofog_code": "", "cofog_name": "Total", **result["totals"]}]
    for r_i, r in enumerate(rows, start=3):
        total = r_i == len(rows) + 2
        gbp = book.total_gbp if total else book.gbp
        pct = book.total_pct if total else book.pct
        s.put(r_i, 0, r["cofog_code"] or "", book.total_text if total else None)
        s.put(r_i, 1, r["cofog_name"], book.total_text if total else None)
        col = 2
        for c in r["counts"]:
            s.put(r_i, col, float(Decimal(c["amount_gbp"])), gbp)
            if c["per_head_gbp"] is not None:
                s.put(r_i, col + 1, float(Decimal(c["per_head_gbp"])), gbp)
            if c["share"] is not None:
                s.put(r_i, col + 2, float(Decimal(c["share"])), pct)
            col += 3
        for ch in r["changes"]:
            s.put(r_i, col, float(Decimal(ch["amount_gbp"])), gbp)
            if ch["percent"] is not None:
                s.put(r_i, col + 1, float(Decimal(ch["percent"]) / 100), pct)
            col += 2
    s.ws.freeze_panes(3, 2)
    for b in result.get("benchmarks", []):
        if not b["available"]:
            continue
        wbm = book.sheet(f"Benchmarks {len(book.sheets)}")
        wbm.put(0, 0, f"{b['count']} beside {b['region']} and England", book.bold)
        wbm.width(0, 0, 8)
        wbm.width(1, 1, 40)
        wbm.width(2, 4, 20)
        wbm.header(2, [human(h) for h in benchmark_headings(b)])
        for r_i, cells in enumerate(benchmark_table_rows(b), start=3):
            for c, v in enumerate(cells):
                if c >= 2 and v:
                    wbm.put(r_i, c, float(Decimal(v.replace(",", ""))), book.gbp)
                else:
                    wbm.put(r_i, c, v)
    wn = book.sheet("Notes")
    wn.width(0, 0, 120)
    wn.header(0, ["Notes"])
    for i, line in enumerate(notes_lines(result), start=1):
        wn.put(i, 0, line)
    return book.close()


def to_html(result: dict[str, Any]) -> str:
    """One self-contained page: the table, a bar chart of £ per head (inline SVG, no
    script), the benchmarks and the notes."""
    from html import escape

    heads = headings(result)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title(result))}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:3px 6px}td.n{text-align:right}"
        "th{background:#ddebf7}</style></head><body>",
        f"<h1>{escape(title(result))}</h1>",
        "<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads) + "</tr></thead>",
        "<tbody>",
    ]
    for cells in table_rows(result):
        out.append(
            "<tr>"
            + "".join(
                f"<td{' class=n' if i >= 2 else ''}>{escape(v)}</td>" for i, v in enumerate(cells)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    out.append(_svg_chart(result))
    for b in result.get("benchmarks", []):
        if b["available"]:
            out.append(f"<h2>{escape(b['count'])} beside {escape(b['region'])} and England</h2>")
            out.append(
                "<table><tr>"
                + "".join(f"<th>{escape(h)}</th>" for h in benchmark_headings(b))
                + "</tr>"
            )
            for cells in benchmark_table_rows(b):
                out.append(
                    "<tr>"
                    + "".join(
                        f"<td{' class=n' if i >= 2 else ''}>{escape(v)}</td>"
                        for i, v in enumerate(cells)
                    )
                    + "</tr>"
                )
            out.append("</table>")
    out.append("<pre>" + escape("\n".join(notes_lines(result))) + "</pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _svg_chart(result: dict[str, Any]) -> str:
    """£ per head by code, a bar per count (or £ where no count has a population)."""
    from html import escape

    from .charts import PALETTE

    key = "per_head_gbp" if all(c["population"] for c in result["counts"]) else "amount_gbp"
    rows = result["rows"]
    values = [Decimal(c[key] or 0) for r in rows for c in r["counts"]]
    top = max([abs(v) for v in values] + [Decimal(1)])
    n = len(result["counts"])
    bar, gap, label_w, width = 10, 8, 260, 420
    height = len(rows) * (n * bar + gap) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 120}" '
        f'height="{height}" font-size="11">',
        f'<text x="0" y="12">{"£ per head" if key == "per_head_gbp" else "£"}, '
        f"{escape(result['prices']['text'])}</text>",
    ]
    y = 24
    for r in rows:
        parts.append(
            f'<text x="0" y="{y + n * bar / 2 + 4:.0f}">'
            f"{escape((r['cofog_code'] or '') + ' ' + r['cofog_name'])[:44]}</text>"
        )
        for i, c in enumerate(r["counts"]):
            v = Decimal(c[key] or 0)
            w = int(abs(v) / top * width)
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar - 1}" '
                f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            )
            parts.append(f'<text x="{label_w + w + 4}" y="{y + bar - 2}">{_gbp(c[key])}</text>')
            y += bar
        y += gap
    for i, c in enumerate(result["counts"]):
        parts.append(
            f'<rect x="{label_w + width - 150}" y="{4 + i * 12}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{label_w + width - 136}" '
            f'y="{13 + i * 12}">{escape(c["label"])}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


FORMATS = ("table", "csv", "json", "md", "xlsx", "html")
SUFFIXES = {
    ".csv": "csv",
    ".json": "json",
    ".md": "md",
    ".xlsx": "xlsx",
    ".html": "html",
    ".txt": "table",
}


def output(result: dict[str, Any], fmt: str) -> str | bytes:
    """The comparison in one of FORMATS."""
    from .render import to_json

    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return to_csv(result)
    if fmt == "md":
        return to_markdown(result)
    if fmt == "xlsx":
        return to_xlsx(result)
    if fmt == "html":
        return to_html(result)
    return to_text(result)


__all__ = ["Count", "compare", "load_count", "output", "read_deflators"]
