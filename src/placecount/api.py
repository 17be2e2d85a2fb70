"""The library behind each command: ``placecount ingest`` is :func:`ingest`, and so on.

Each function takes plain values, returns a result that the CLI renders as a
table or JSON, and raises :class:`~placecount.errors.InputError` for input the
user can fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .errors import InputError, Issue, shorten
from .models import KINDS, Limits, ReadOptions, exact_sum, pence_to_pounds

if TYPE_CHECKING:
    from .project import Project

# The project file's models, and through them every reader, are imported by the commands
# that need them: `sources` and `unmapped` start without them.

DEFAULT_DB = "placecount.duckdb"
UNITS = ("pounds", "thousands", "millions")
PARTS = ("central", "local", "total", "public-corporation")
MEASURES = ("net", "gross", "income")


def read_orgs_file(path: Path | None) -> list[str]:
    """The bodies listed in an ``--orgs`` file: one name or ONS code a line, '#' comments."""
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.one(
            "file-not-found", f"--orgs: the file cannot be read ({exc}).", file=path.name
        ) from exc
    names = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    out = [n for n in names if n]
    if not out:
        raise InputError.one("bad-option", "--orgs: the file names no bodies.", file=path.name)
    return out


def init(
    db: Path,
    place: str,
    financial_year: str,
    population: int | None = None,
    area_code: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write ``placecount.toml`` beside ``db`` and create the database.

    >>> init(Path("/tmp/x/placecount.duckdb"), "Exampleshire", "2008-09")  # doctest: +SKIP
    """
    from .project import Place, Project, check_name, check_year, project_path_for, write_project
    from .store import Store

    check_name(place, "--place")
    check_name(area_code, "--area-code")
    check_name(financial_year, "--year")
    check_name(db.name, "--db")
    path = project_path_for(db)
    if path.exists() and not force:
        raise InputError.one(
            "project-exists",
            "a project file is already here.",
            file=path.name,
            note="Use --force to overwrite it.",
        )
    if population is not None and population <= 0:
        raise InputError.one("bad-option", "--population must be a positive number of people.")
    project = Project(
        place=Place(
            name=place,
            area_code=area_code,
            financial_year=check_year(financial_year),
            population=population,
        )
    )
    db.parent.mkdir(parents=True, exist_ok=True)
    write_project(path, project)
    with Store.open(db):
        pass
    return {"project": path.name, "database": db.name, "place": project.place.model_dump()}


def parse_share(
    share: str | None, place_population: int | None, region_population: int | None
) -> tuple[Fraction | None, str | None, str | None]:
    """The PESA share as an exact fraction, its text and how it was worked out."""
    if share is not None and (place_population or region_population):
        raise InputError.one(
            "bad-option",
            "give --share or the two populations, not both.",
        )
    if share is not None:
        try:
            from .sources._cells import plain_decimal  # the readers: only when a share is given

            value = plain_decimal(share.strip().rstrip("%"))
        except ValueError as why:
            raise InputError.one(
                "share-out-of-range",
                f"--share {shorten(share)!r} {why}.",
                note="Write it as a fraction of the region, e.g. 0.0724.",
            ) from None
        if share.strip().endswith("%"):
            value = value / 100
        if not (0 < value <= 1) or not value.is_finite():
            raise InputError.one(
                "share-out-of-range",
                f"--share {share} is outside 0–1.",
                note="Write it as a fraction of the region, e.g. 0.0724 for 7.24%.",
            )
        return Fraction(value), str(value), "given"
    if place_population or region_population:
        if (
            not (place_population and region_population)
            or place_population <= 0
            or region_population <= 0
        ):
            raise InputError.one(
                "bad-option",
                "give both --place-population and --region-population, above 0.",
            )
        if place_population > region_population:
            raise InputError.one(
                "share-out-of-range",
                "--place-population is larger than --region-population: the share would be "
                "above 1.",
            )
        frac = Fraction(place_population, region_population)
        text = str(
            (Decimal(place_population) / Decimal(region_population)).quantize(Decimal("0.000001"))
        )
        return frac, text, f"population {place_population:,} / {region_population:,}"
    return None, None, None


def parse_columns(pairs: Sequence[str]) -> dict[str, str]:
    """``--column ROLE=HEADER`` options as a dictionary."""
    from .models import ROLES

    out: dict[str, str] = {}
    for pair in pairs:
        role, sep, header = pair.partition("=")
        role = role.strip().lower()
        if not sep or not header.strip():
            raise InputError.one(
                "bad-option",
                f"--column {pair!r} must be written ROLE=HEADER.",
                note='For example --column amount="Net expenditure".',
            )
        if role not in ROLES:
            raise InputError.one(
                "bad-option",
                f"--column: {role!r} is not a column role.",
                note="Roles: " + ", ".join(ROLES) + ".",
            )
        out[role] = header.strip()
    return out


@dataclass
class IngestResult:
    """What an ingest read and wrote."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "dry_run": self.dry_run,
            "sources": self.sources,
            "issues": [i.to_dict() for i in self.issues],
        }


def _unused_mapping_rows(mapping: Any) -> list[Issue]:
    """A warning for each row of the user's mapping file that matched no line read."""
    return [
        Issue(
            code="mapping-row-unused",
            severity="warning",
            message=f"mapping row {shorten(r.native_label or r.native_code or '')!r} "
            f"({r.native_code or 'no code'}) matches no line read.",
            file=r.table,
            row=r.line,
            note="Check its code and label against `placecount unmapped`, or remove it.",
        )
        for r in mapping.unused()
    ]


def ingest(
    kind: str,
    files: Sequence[Path],
    db: Path,
    *,
    sheet: str | None = None,
    org: str | None = None,
    orgs: Sequence[str] = (),
    orgs_file: Path | None = None,
    measure: str | None = None,
    year: str | None = None,
    units: str | None = None,
    header_row: int | None = None,
    mapping: Path | None = None,
    columns: Sequence[str] = (),
    region: str | None = None,
    share: str | None = None,
    place_population: int | None = None,
    region_population: int | None = None,
    part: str | None = None,
    table: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
    project_file: Path | None = None,
    limits: Limits | None = None,
    count: bool = False,
) -> IngestResult:
    """Read files of one kind, map them to COFOG and store them in one transaction.

    Nothing is written when any file fails, when ``dry_run`` is set, or when
    ``strict`` is set and a line has no mapping. Payment lists are partial: they are
    kept out of the count unless ``count`` puts them in.

    ``progress`` is told what is happening, as a line a person reads: "reading FILE" as
    each file starts, "mapping FILE › 'Sheet' (N lines)" for each table read, and
    "writing N lines to the database".
    """
    from .cofog import load_mapping, map_lines, read_mapping
    from .models import load_kind_schema
    from .project import check_year, load_project
    from .sources import read_sources
    from .sources._units import check_per_head
    from .store import Prepared, Store

    schema = load_kind_schema(kind)
    if count and kind != "payments":
        raise InputError.one(
            "bad-option",
            f"--count applies to payment lists only: {kind} sources are always counted.",
        )
    if not files:
        raise InputError.one("bad-option", "no files given.", note="placecount ingest KIND FILE...")
    if units is not None and units not in UNITS:
        raise InputError.one("bad-option", f"--units {units!r}: use pounds, thousands or millions.")
    if part is not None and part not in PARTS:
        raise InputError.one("bad-option", f"--part {part!r}: use central, local or total.")
    if header_row is not None and header_row < 1:
        raise InputError.one("bad-option", "--header-row counts from 1, as Excel does.")
    fraction, share_text, basis = parse_share(share, place_population, region_population)
    if fraction is not None and kind != "pesa":
        raise InputError.one("bad-option", "--share and populations apply to PESA tables only.")
    project = load_project(_project_file(db, project_file))
    all_orgs = ([org] if org else []) + list(orgs) + read_orgs_file(orgs_file)
    if measure is not None and measure not in MEASURES:
        raise InputError.one(
            "bad-option", f"--measure {measure!r}: use " + ", ".join(MEASURES) + "."
        )
    options = ReadOptions(
        sheet=sheet,
        org=all_orgs[0] if len(all_orgs) == 1 else None,
        orgs=all_orgs,
        measure=measure,
        strict=strict,
        population=project.place.population if project else None,
        year=check_year(year) if year else None,
        units=units,
        header_row=header_row,
        columns=parse_columns(columns),
        region=region,
        share=fraction,
        share_text=share_text,
        share_basis=basis,
        part=part,
        project_year=project.place.financial_year if project else None,
        place_population=place_population,
        region_population=region_population,
        table=table,
        limits=limits or Limits(),
    )
    base = load_mapping(schema.mapping) if schema.mapping else None
    user_mapping_path = mapping or (
        _project_file(db, project_file).parent / project.mappings[kind]
        if project and kind in project.mappings
        else None
    )
    active = base
    if user_mapping_path is not None:
        if base is None:
            raise InputError.one(
                "bad-option",
                "generic sheets carry their own COFOG codes: no --mapping.",
            )
        active = base.override(read_mapping(Path(user_mapping_path)))
    result = IngestResult(dry_run=dry_run)
    prepared: list[Prepared] = []
    for path in files:
        if progress:
            progress(f"reading {path.name}")
        reads, issues = read_sources(kind, Path(path), options)
        result.issues.extend(issues)
        for read in reads:
            if progress:
                where = read.file_name + (f" › {read.sheet!r}" if read.sheet else "")
                n = read.table.num_rows
                progress(f"mapping {where} ({n:,} line{'s' if n != 1 else ''})")
            check_per_head(
                read.total_pence,
                options.population,
                kind,
                file_name=read.file_name,
                sheet=read.sheet,
                units=read.units,
                units_from=read.units_from,
            )

            if read.kind == "payments":
                from .sources.payments import set_counted

                set_counted(read, count)
            cofog_col = read.columns.get("cofog")
            read.table, allocations, map_issues = map_lines(
                read.table, active, read.file_name, read.sheet, cofog_col
            )
            map_issues = _few_unmapped(map_issues, read)
            result.issues.extend(map_issues)
            if strict and map_issues:
                for i in map_issues:
                    i.severity = "error"
                raise InputError(issues=map_issues)
            prepared.append(
                Prepared(
                    read,
                    allocations,
                    active.name if active else None,
                    active.sha256 if active else None,
                )
            )
    if active is not None:
        result.issues.extend(_unused_mapping_rows(active))
    statuses: list[str] = ["dry run"] * len(prepared)
    if not dry_run:
        if progress:
            lines = sum(p.read.table.num_rows for p in prepared)
            progress(f"writing {lines:,} line{'s' if lines != 1 else ''} to the database")
        with Store.open(db) as store:
            written = store.write(prepared, replace=replace)
        statuses = [w.status for w in written]
    for p, status in zip(prepared, statuses, strict=True):
        read = p.read
        if status == "unchanged":
            result.issues.append(
                Issue(
                    code="already-ingested",
                    severity="info",
                    message="already in the database: nothing added.",
                    file=read.file_name,
                    sheet=read.sheet,
                    note="Use --replace to read it again.",
                )
            )
        unmapped_lines, unmapped_pence = _unmapped_summary(read.table, p.allocations)
        result.sources.append(
            {
                "status": status,
                "kind": read.kind,
                "file": read.file_name,
                "file_sha256": read.file_sha256,
                "sheet": read.sheet,
                "header_row": read.header_row,
                "org": read.org,
                "financial_year": read.year,
                "units": read.units,
                "units_from": read.units_from,
                # how a CSV's bytes were decoded (utf-8, utf-16-le, cp1252, …); None for workbooks
                "encoding": read.encoding,
                "columns": [
                    {"role": role, "column": letter, "header": read.headers.get(role)}
                    for role, letter in sorted(read.columns.items(), key=lambda kv: _col_key(kv[1]))
                ],
                "region": read.region,
                "part": read.part,
                "pesa_share": read.share,
                "share_basis": read.share_basis,
                "lines_kept": read.kept_count,
                "lines_left_out": read.left_out_count,
                "total_gbp": str(pence_to_pounds(read.total_pence)),
                "unmapped_lines": unmapped_lines,
                "unmapped_gbp": str(pence_to_pounds(unmapped_pence)),
                "left_out": read.left_out_summary(),
                "counted": read.part != "partial, not counted",
                "total_rows": [
                    {k: v for k, v in t.items() if k not in ("amount_text", "kept_as_line")}
                    for t in read.total_rows
                ],
                "tables": read.tables_summary(),
            }
        )
    return result


def _col_key(letter: str) -> tuple[int, str]:
    return len(letter), letter


def _few_unmapped(issues: list[Issue], read: Any) -> list[Issue]:
    """More than 20 unmapped lines of a payment list or a bodies directory as one issue:
    an issue a supplier, or a body, would bury the rest."""
    unmapped = [i for i in issues if i.code == "unmapped-line"]
    if len(unmapped) <= 20:
        return issues
    lines, pence = _unmapped_summary(read.table, None)
    if read.kind == "ndpb":
        what, why = "bodies", "the NDPB mapping does not name them"
    elif read.kind == "payments" and "code" in read.columns:
        what, why = "payments", "their expense type or service is not in the mapping"
    elif read.kind == "payments":
        what, why = "payments", "the list gives no expense type or service to map them by"
    else:
        first = ", ".join(i.message.split(" has no COFOG", 1)[0] for i in unmapped[:3])
        what = "lines"
        why = f"no row of the {read.kind} mapping matches them" + (
            f" (the first: {first})" if first else ""
        )
    note_what = {"ndpb": "bodies", "payments": "expense types or suppliers"}.get(
        read.kind, "labels"
    )
    summary = Issue(
        code="unmapped-line",
        severity="warning",
        message=f"{lines:,} {what} (£{pence_to_pounds(pence):,}) have no COFOG mapping: "
        f"{why}. Kept and counted as unmapped.",
        file=read.file_name,
        sheet=read.sheet,
        note=f"Map the {note_what} in a mapping file (--mapping FILE --replace); "
        "`placecount unmapped` lists them.",
    )
    return [i for i in issues if i.code != "unmapped-line"] + [summary]


def _unmapped_summary(table: Any, allocations: Any) -> tuple[int, int]:
    """How many kept lines have no COFOG allocation, and their pence."""
    import pyarrow.compute as pc

    unmapped = pc.and_(table.column("included"), pc.invert(table.column("mapped")))
    rows = table.filter(unmapped)
    return rows.num_rows, exact_sum(rows.column("amount_pence"))


def _project_file(db: Path, project_file: Path | None) -> Path:
    """The project file: the one given, else ``placecount.toml`` beside the database."""
    from .project import project_path_for

    return project_file if project_file is not None else project_path_for(db)


def _nearest(wanted: str, names: list[str], limit: int = 5) -> str:
    """The names most like ``wanted``, for a message: 'Exampleshire County Council, …'."""
    import difflib

    from .count import simple_norm

    by_key = {simple_norm(n): n for n in names}
    close = difflib.get_close_matches(simple_norm(wanted), list(by_key), n=limit, cutoff=0.4)
    picked = [by_key[k] for k in close] or sorted(names)[:limit]
    more = len(names) - len(picked)
    return ", ".join(repr(n) for n in picked) + (
        f" (and {more} more)" if more > 0 and not close else ""
    )


def _check_filters(store: Any, filters: Any) -> None:
    """A --org, --kind or --cofog that matches no stored line is a mistake to say, not a
    count of £0.00: name what was asked and the nearest names the database holds."""
    from .count import simple_norm

    if not (filters.orgs or filters.kinds or filters.cofog):
        return
    pairs = [
        (r["kind"], r["org"])
        for r in store.query("SELECT DISTINCT kind, org FROM lines WHERE included")
    ]
    orgs = sorted({o for _, o in pairs if o})
    kinds = sorted({k for k, _ in pairs})
    known = {simple_norm(o) for o in orgs}
    for org in filters.orgs:
        if simple_norm(org) not in known:
            raise InputError.one(
                "filter-matches-nothing",
                f"--org {org!r} matches no body in the database.",
                note=f"Bodies with that kind of name: {_nearest(org, orgs)}."
                if orgs
                else "The database holds no lines yet.",
            )
    for kind in filters.kinds:
        if kind not in kinds:
            raise InputError.one(
                "filter-matches-nothing",
                f"--kind {kind!r}: no {kind} source is in the database.",
                note="Kinds in the database: " + (", ".join(kinds) or "none") + ".",
            )
    wanted_orgs = {simple_norm(o) for o in filters.orgs}
    both = [
        (k, o)
        for k, o in pairs
        if (not filters.kinds or k in filters.kinds)
        and (not wanted_orgs or simple_norm(o) in wanted_orgs)
    ]
    if not both:
        raise InputError.one(
            "filter-matches-nothing",
            "--kind "
            + ", ".join(filters.kinds)
            + " and --org "
            + ", ".join(filters.orgs)
            + " match no line together.",
            note="Bodies of "
            + ", ".join(filters.kinds)
            + ": "
            + (
                ", ".join(repr(o) for o in sorted({o for k, o in pairs if k in filters.kinds}))
                or "none"
            )
            + ".",
        )
    if filters.cofog:
        codes = [
            r["cofog_code"] for r in store.query("SELECT DISTINCT cofog_code FROM allocations")
        ]
        for code in filters.cofog:
            if not any(c and (c == code or c.startswith(code + ".")) for c in codes):
                divisions = sorted({c[:2] for c in codes if c})
                raise InputError.one(
                    "filter-matches-nothing",
                    f"--cofog {code}: no line in the database is mapped to it.",
                    note="COFOG divisions in the database: "
                    + (", ".join(divisions) or "none")
                    + ".",
                )


def _with_store(db: Path, fn: Callable[[Any], Any]) -> Any:
    from .store import Store

    with Store.open(db, create=False, read_only=True) as store:
        return fn(store)


def sources(db: Path) -> list[dict[str, Any]]:
    """What has been ingested: file, kind, org, sheet, lines kept and left out, total."""
    return _source_rows(_with_store(db, lambda s: s.sources()))


def unmapped(db: Path) -> list[dict[str, Any]]:
    """Kept lines that no mapping row matches, with the rows they came from."""
    return _with_store(db, lambda s: s.unmapped())  # type: ignore[no-any-return]


def unmapped_json(db: Path) -> str:
    """The same lines as the JSON ``--json`` prints (``render.to_json(unmapped(db))``),
    made by the database: a payments file's every line in a fraction of the time."""
    import io

    out = io.StringIO()
    write_unmapped_json(db, out)
    return out.getvalue()


def write_unmapped_json(db: Path, out: TextIO) -> None:
    """The text of :func:`unmapped_json` written to ``out`` as the database hands it over,
    a few thousand lines at a time: never held whole, however many lines are unmapped."""

    def write(store: Any) -> None:
        for piece in store.json_chunks(store.UNMAPPED_LINES):
            out.write(piece)
        out.write("\n")

    _with_store(db, write)


def unmapped_labels(db: Path, limit: int | None = None) -> dict[str, Any]:
    """Kept lines that no mapping row matches, one row per file, body, code and label,
    largest amount first (the first ``limit``), and the lines, labels and pounds in all.

    ``unmapped_labels(db, 20)["labels"][0]`` is the label with the most money unmapped.
    """
    return _with_store(db, lambda s: s.unmapped_groups(limit))  # type: ignore[no-any-return]


def browse_cofog(code: str | None = None) -> list[dict[str, Any]]:
    """The COFOG classification, or one code and what lies beneath it."""
    from .cofog import classification, normalise_code

    cats = classification()
    if code is None:
        return [c.__dict__ for c in cats.values() if c.level == 1]
    norm = normalise_code(code)
    if norm is None:
        raise InputError.one(
            "unknown-cofog-code",
            f"{code!r} is not a COFOG code.",
            note="Divisions are 01 to 10; try `placecount cofog` for the list.",
        )
    notes = _cofog_notes()
    return [
        {**c.__dict__, "note": notes.get(c.code, "")}
        for c in cats.values()
        if c.code == norm or c.code.startswith(norm + ".")
    ]


def _cofog_notes() -> dict[str, str]:
    import csv

    from .resources import resource_path

    path = resource_path("data", "cofog", "cofog_notes.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["code"]: r["explanatory_note"] for r in csv.DictReader(fh)}


def _method(project: Project | None, overrides: dict[str, Any]) -> Any:
    from .project import Method

    base = project.method if project else Method()
    changes = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=changes) if changes else base


def report(
    db: Path,
    *,
    by: str = "division",
    kinds: Sequence[str] = (),
    orgs: Sequence[str] = (),
    cofog: str | None = None,
    theme: str | None = None,
    eliminate_transfers: bool | None = None,
    ndpbs: str | None = None,
    pesa_overlap: str | None = None,
    non_identifiable: str | None = None,
    detail: bool = False,
    project_file: Path | None = None,
    mapping: Path | None = None,
    what_if: bool = False,
) -> dict[str, Any]:
    """The count by COFOG code and source kind, with its reconciliation and coverage.

    ``detail`` adds the sources and every line behind the count (for the xlsx).
    ``mapping`` counts with that mapping file over the stored lines' mappings, without
    reading the source files again (the database itself is not changed); ``what_if``
    adds what moved between divisions. See :mod:`placecount.count` for the method.
    """
    from .project import load_project

    if what_if and mapping is None:
        raise InputError.one("bad-option", "--what-if needs --mapping FILE: the mapping to try.")
    if mapping is not None:
        import hashlib
        import tempfile

        from .store import Store

        with tempfile.TemporaryDirectory() as tmp:
            trial = Path(tmp) / "what-if.duckdb"
            warnings = remap(db, mapping, trial, project_file)
            result = report(
                trial,
                by=by,
                kinds=kinds,
                orgs=orgs,
                cofog=cofog,
                theme=theme,
                eliminate_transfers=eliminate_transfers,
                ndpbs=ndpbs,
                pesa_overlap=pesa_overlap,
                detail=detail,
                project_file=_project_file(db, project_file),
            )
            result["mapping"] = {
                "file": Path(mapping).name,
                "sha256": hashlib.sha256(Path(mapping).read_bytes()).hexdigest(),
                "warnings": [w.to_dict() for w in warnings],
            }
            if what_if:
                with Store.open(trial, create=False) as store:
                    moves = store.moves_from(str(db))
                before = _with_store(db, lambda s: s.query(_UNMAPPED_SQL))[0]["pence"]
                after = _with_store(trial, lambda s: s.query(_UNMAPPED_SQL))[0]["pence"]
                result["what_if"] = {
                    "moves": [
                        {
                            "from": m["from_division"],
                            "to": m["to_division"],
                            "kind": m["kind"],
                            "lines": int(m["lines"]),
                            "amount_gbp": str(pence_to_pounds(int(m["pence"]))),
                        }
                        for m in moves
                    ],
                    "unmapped_before_gbp": str(pence_to_pounds(int(before))),
                    "unmapped_after_gbp": str(pence_to_pounds(int(after))),
                }
        return result
    from .count import Filters, count, parse_cofog_filter

    if by not in ("division", "group", "class"):
        raise InputError.one("bad-option", f"--by {by!r}: use division, group or class.")
    for k in kinds:
        if k not in KINDS:
            raise InputError.one(
                "unknown-kind",
                f"--kind {k!r} is not a source kind.",
                note="Use one of: " + ", ".join(KINDS) + ".",
            )
    if ndpbs is not None and ndpbs not in ("memo", "add-uncovered", "replace"):
        raise InputError.one(
            "bad-option", f"--ndpbs {ndpbs!r}: use memo, add-uncovered or replace."
        )
    if pesa_overlap is not None and pesa_overlap not in ("remove", "keep"):
        raise InputError.one("bad-option", f"--pesa-overlap {pesa_overlap!r}: use remove or keep.")
    if non_identifiable is not None and non_identifiable not in ("outside", "per-head"):
        raise InputError.one(
            "bad-option", f"--non-identifiable {non_identifiable!r}: use outside or per-head."
        )
    project = load_project(_project_file(db, project_file))
    method = _method(
        project,
        {
            "eliminate_transfers": eliminate_transfers,
            "ndpbs": ndpbs,
            "pesa_overlap": pesa_overlap,
            "non_identifiable": non_identifiable,
        },
    )
    filters = Filters(list(kinds), list(orgs), parse_cofog_filter(cofog))

    def run(store: Any) -> dict[str, Any]:
        from .store import CountQueries

        _check_filters(store, filters)
        queries = CountQueries(store)
        result = count(
            store,
            project,
            by=by,  # type: ignore[arg-type]  # checked above
            method=method,
            filters=filters,
            theme=theme,
            queries=queries,
        )
        result["mappings"] = [
            {"kind": m["kind"], "mapping": m["mapping"], "sha256": m["mapping_sha256"]}
            for m in store.query(
                "SELECT DISTINCT kind, mapping, mapping_sha256 FROM sources ORDER BY ALL"
            )
        ]
        if detail:
            result["sources"] = _source_rows(store.sources())
            result["lines"] = LineRows(*queries.lines_table())
            # as tables too: a payments file can leave hundreds of thousands unmapped
            result["unmapped_lines"] = ListedRows(*store.unmapped_table())
            result["excluded_lines"] = ListedRows(*store.excluded_table())
        return result

    return _with_store(db, run)  # type: ignore[no-any-return]


class TableRows:
    """Rows held as an Arrow table and read as dictionaries a batch at a time (in the
    given order), so a count of a million lines never holds a million dictionaries at
    once. ``len()`` is the number of rows; each row is finished by :meth:`finish`."""

    BATCH = 20_000

    def __init__(self, table: Any, order: Any = None) -> None:
        self.table = table
        self.order = order

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, len(self), self.BATCH):
            if self.order is None:
                batch = self.table.slice(start, self.BATCH)
            else:
                batch = self.table.take(self.order.slice(start, self.BATCH))
            for row in batch.to_pylist():
                yield self.finish(row)

    def finish(self, row: dict[str, Any]) -> dict[str, Any]:
        return row

    def __str__(self) -> str:
        return f"{len(self)} lines"


class LineRows(TableRows):
    """The lines behind a count (:meth:`CountQueries.lines_table`), each with its
    ``amount_gbp``."""

    def finish(self, row: dict[str, Any]) -> dict[str, Any]:
        row["amount_gbp"] = str(pence_to_pounds(int(row.pop("pence"))))
        row["theme_share"] = str(row["theme_share"])
        return row


class ListedRows(TableRows):
    """Unmapped or left-out lines (:meth:`Store.unmapped_table`, :meth:`Store.excluded_table`),
    each with its ``amount_gbp`` (None where no amount was read), without the keys they
    were ordered by."""

    def finish(self, row: dict[str, Any]) -> dict[str, Any]:
        pence = row.pop("pence")
        del row["source_id"], row["line_id"]
        row["amount_gbp"] = None if pence is None else str(pence_to_pounds(int(pence)))
        return row


_UNMAPPED_SQL = (
    "SELECT coalesce(sum(amount_pence), 0) AS pence FROM lines WHERE included AND NOT mapped"
)


def trace(
    db: Path,
    code: str,
    *,
    kinds: Sequence[str] = (),
    orgs: Sequence[str] = (),
    theme: str | None = None,
    by: str | None = None,
    project_file: Path | None = None,
    check_filters: bool = False,
    lines_json: bool = False,
) -> dict[str, Any]:
    """Every line behind one figure of the report, e.g. ``trace(db, "07.3", kinds=["nhs"])``.

    ``check_filters`` refuses a kind or body that no stored line has, naming the nearest
    (the command does; a scenario asking for a share of nothing is told so, not stopped).
    With ``lines_json``, ``lines`` is the text of their JSON list (see :func:`trace_json`)."""
    from .count import Filters
    from .count import trace as do_trace
    from .project import load_project

    if by is not None and by not in ("division", "group", "class"):
        raise InputError.one("bad-option", f"--by {by!r}: use division, group or class.")
    project = load_project(_project_file(db, project_file))
    filters = Filters(list(kinds), list(orgs), [])

    def run(store: Any) -> dict[str, Any]:
        if check_filters:
            _check_filters(store, filters)
        return do_trace(
            store,
            project,
            code,
            by=by,  # type: ignore[arg-type]
            filters=filters,
            theme=theme,
            lines_json=lines_json,
        )

    return _with_store(db, run)  # type: ignore[no-any-return]


def trace_json(db: Path, code: str, **options: Any) -> str:
    """The same trace as JSON (``render.to_json(trace(db, code, **options))``, byte for
    byte), its lines written by the database: a payments file's lines in a fraction of the
    time."""
    import json

    from .render import to_json

    result = trace(db, code, lines_json=True, **options)
    # the lines' list goes in the place of a mark no other value of the trace can hold: a
    # NUL (the others are codes, and names given on the command line, which has no NUL)
    lines = result.pop("lines")
    mark = "\x00lines\x00"
    text = to_json({**result, "lines": mark})
    return text.replace(json.dumps(mark), lines, 1)


def _source_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["total_gbp"] = str(pence_to_pounds(int(r.pop("total_pence"))))
    return rows


def flows(
    file: Path | None,
    *,
    db: Path | None = None,
    sheet: str | None = None,
    rate: str = "0.20",
    measured: str = "delivered",
    tolerance: str = "0.01",
    sensitivity: str | None = None,
    collapse: str | None = None,
    chart: Path | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """Funding chains with the 20%-per-hand-over rule applied (see :mod:`placecount.flows`).

    ``file`` is a chains file or a flow graph; with ``file=None`` the transfers marked
    in the store at ``db`` are the graph. ``chart`` draws the mapping wall.
    """
    from . import flows as fl

    r = fl.parse_rate(rate)
    tol = fl.parse_rate(tolerance, "--tolerance")
    rates = (
        [fl.parse_rate(x, "--sensitivity") for x in sensitivity.split(",")] if sensitivity else []
    )
    if measured not in ("delivered", "source"):
        raise InputError.one("bad-option", f"--measured {measured!r}: use delivered or source.")
    side: fl.Measured = "source" if measured == "source" else "delivered"
    if file is not None:
        form, chains, edges = fl.read_flows(Path(file), sheet)
        if form == "graph":
            fl.check_graph(edges, tol, Path(file).name, sheet)
            chains = fl.decompose(edges, side)
        source = {"form": form, "file": Path(file).name}
    else:
        if db is None:
            raise InputError.one("bad-option", "give a chains or flow file, or --from-store.")

        def transfers(store: Any) -> list[dict[str, Any]]:
            return store.query(  # type: ignore[no-any-return]
                """SELECT kind, org, transfer_to, sum(amount_pence) AS pence
                   FROM lines WHERE included AND transfer_to IS NOT NULL
                   GROUP BY ALL ORDER BY kind, org, transfer_to"""
            )

        edges = fl.store_edges(_with_store(db, transfers))
        if not edges:
            raise InputError.one(
                "no-lines",
                "no transfers are marked in the database.",
                note="Transfers come from a recipient column, a schema rule or a mapping.",
            )
        fl.check_graph(edges, tol)
        # the store's transfers are what each giver's books say it paid: measured where
        # the money left, so no path shows more leaving a body than its books say
        chains = fl.decompose(edges, "source")
        source = {"form": "store", "file": db.name}
    result = fl.flows(chains, rate=r, sensitivity=rates, collapse=collapse, source=source)
    result["books"] = fl.observed_kept(edges, r) if edges else []
    t = result["totals"]
    pct = f"{float(Decimal(result['method']['rate']) * 100):g}%"
    heading = title or (Path(file).stem if file else "Transfers in the count")
    result["title"] = (
        f"{heading}: £{Decimal(t['delivered_gbp']) / 1_000_000:,.1f}m delivered, "
        f"£{Decimal(t['administration_gbp']) / 1_000_000:,.1f}m administration "
        f"at {pct} per hand-over"
    )
    if chart is not None:
        from .charts import sankey

        try:
            # a flow graph's and the store's amounts are booked: the chart shows them as booked
            booked = edges if source["form"] in ("graph", "store") else None
            sankey(fl.chart_links(chains, r, booked), result["title"], Path(chart))
        except ValueError as exc:  # e.g. two chains handing money in opposite directions
            raise InputError.one(
                "bad-flow", f"the flow map cannot be drawn: {exc}", file=Path(chart).name
            ) from exc
        result["chart"] = Path(chart).name
    return result


# -- the mapping workflow: suggest rows for unmapped lines, count with a changed mapping --------

#: Columns of a suggested mapping file: a mapping table's, then what helps fill it in.
SUGGEST_COLUMNS = [
    "native_code",
    "native_label",
    "parent",
    "cofog_code",
    "share",
    "treatment",
    "note",
    "source",
    "kind",
    "lines",
    "amount_gbp",
    "suggested_code",
    "nearest_known_labels",
]


def suggest_mapping(db: Path, nearest: int = 3) -> list[dict[str, Any]]:
    """One ready-to-edit mapping row per unmapped label, with the nearest known labels.

    The rows leave ``cofog_code`` empty: a row left empty is skipped when the file is read
    back with ``--mapping``, so only the rows filled in change the count. The nearest
    labels come from the kind's bundled table, by a fuzzy match of the normalised labels
    (difflib's ratio), best first, each with its code.
    """
    import difflib

    from .cofog import load_mapping
    from .models import load_kind_schema
    from .sources._cells import normalise

    rows = _with_store(db, lambda s: s.unmapped_labels())
    out: list[dict[str, Any]] = []
    for r in rows:
        schema = load_kind_schema(r["kind"])
        known: dict[str, tuple[str, str]] = {}
        if schema.mapping:
            for m in load_mapping(schema.mapping).rows:
                known.setdefault(
                    normalise(m.native_label), (m.native_label, m.cofog_code or m.treatment or "")
                )
        label = r["native_label"] or ""
        near = difflib.get_close_matches(normalise(label), list(known), n=nearest, cutoff=0.5)
        out.append(
            {
                "native_code": r["native_code"] or "",
                "native_label": label,
                "parent": r["parent"] or "",
                "cofog_code": "",
                "share": "1",
                "treatment": "",
                "note": "",
                "source": "",
                "kind": r["kind"],
                "lines": int(r["lines"]),
                "amount_gbp": str(pence_to_pounds(int(r["pence"]))),
                "suggested_code": known[near[0]][1] if near else "",
                "nearest_known_labels": "; ".join(f"{known[k][0]} → {known[k][1]}" for k in near),
            }
        )
    return out


def suggest_mapping_csv(rows: list[dict[str, Any]]) -> str:
    """The suggested rows as a mapping CSV (formula-looking cells are not escaped: the
    file is read back by placecount, not opened as a report)."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, SUGGEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return buf.getvalue()


def remap(db: Path, mapping: Path, out: Path, project_file: Path | None = None) -> list[Issue]:
    """Copy the database to ``out`` and map every stored line again, ``mapping`` first.

    Each kind's lines are looked up in ``mapping``, then the project's own mapping file for
    the kind (placecount.toml), then the bundled table; nothing is read from the source
    files again. Lines a mapping row had left out (outside the count, not spending, a
    transfer) are looked up again too. Returns the warnings for rows that matched nothing.
    """
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc

    from .cofog import TREATMENTS, load_mapping, map_lines, read_mapping
    from .models import load_kind_schema
    from .project import load_project
    from .store import Store

    if not Path(db).exists():
        raise InputError.one(
            "database-error",
            f"there is no database {Path(db).name!r} here.",
            note="Run `placecount init` first, or point at it with --db PATH.",
        )
    user = read_mapping(Path(mapping))
    project_path = _project_file(db, project_file)
    project = load_project(project_path)
    shutil.copyfile(db, out)
    wal = Path(f"{db}.wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{out}.wal"))
    used: set[tuple[str, int]] = set()
    with Store.open(out, create=False) as store:
        kinds = [str(r["kind"]) for r in store.query("SELECT DISTINCT kind FROM sources")]
        for kind in sorted(kinds):
            schema = load_kind_schema(kind)
            if not schema.mapping:
                continue
            active = load_mapping(schema.mapping)
            if project and kind in project.mappings:
                active = active.override(read_mapping(project_path.parent / project.mappings[kind]))
            active = active.override(user)
            table = store.lines_to_map(kind)
            reasons = table.column("reason")
            by_mapping = pc.fill_null(
                _any_starts(reasons, [f"{text}: " for text in TREATMENTS.values()]), False
            )
            table = table.set_column(
                table.schema.get_field_index("included"),
                "included",
                pc.or_(table.column("included"), by_mapping),
            )
            table = table.set_column(
                table.schema.get_field_index("reason"),
                "reason",
                pc.if_else(by_mapping, pa.nulls(len(reasons), reasons.type), reasons),
            )
            table, allocations, _ = map_lines(table, active, "", None)
            store.replace_mapping(table, allocations)
            used |= active.used
    return [
        Issue(
            code="mapping-row-unused",
            severity="warning",
            message=f"mapping row {shorten(r.native_label or r.native_code or '')!r} "
            f"({r.native_code or 'no code'}) matches no stored line.",
            file=r.table,
            row=r.line,
            note="Check its code and label against `placecount unmapped`, or remove it.",
        )
        for r in user.rows
        if (r.table, r.line) not in used
    ]


def _any_starts(texts: Any, prefixes: list[str]) -> Any:
    import pyarrow.compute as pc

    out = pc.starts_with(texts, prefixes[0])
    for p in prefixes[1:]:
        out = pc.or_(out, pc.starts_with(texts, p))
    return out
