"""The project file ``placecount.toml``: the place, the year and its population.

>>> p = Project(place=Place(name="Exampleshire", financial_year="2008-09", population=500000))
>>> p.place.financial_year
'2008-09'
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InputError
from .sources._cells import financial_year

PROJECT_FILE = "placecount.toml"


def check_year(value: str) -> str:
    """A financial year written like 2008-09, else a clear error."""
    fy = financial_year(value)
    if fy is None or len(value.strip()) > 9:
        raise InputError.one(
            "bad-year",
            f"{value!r} is not a financial year.",
            note="Write it like 2008-09 (April 2008 to March 2009).",
        )
    return fy


def control_characters(text: str) -> list[str]:
    r"""The control characters (C0, DEL, C1) and bidi controls in ``text``, as escapes.

    >>> control_characters("Ex\x7fshire\n")
    ['\\x7f', '\\x0a']
    """
    from .escape import visible

    return [visible(ch) for ch in dict.fromkeys(text) if visible(ch) != ch]


def check_name(value: str | None, option: str) -> str | None:
    """A name given on the command line (``--place``), refused if it holds a control
    character: a name is printed in every report and on the terminal, where a DEL, an
    escape or a newline would be obeyed or would break the project file."""
    found = control_characters(value or "")
    if found:
        from .escape import visible

        raise InputError.one(
            "bad-option",
            f"{option} '{visible(value or '')}' holds a control character "
            f"({', '.join(found)}): names are printed in reports and on the terminal.",
            note="Type the name again without it.",
        )
    return value


class Place(BaseModel):
    """The place being counted."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The place's name, e.g. 'Exampleshire'.")
    area_code: str | None = Field(default=None, description="ONS area code, e.g. E10000006.")
    financial_year: str = Field(description="The financial year counted, e.g. '2008-09'.")
    population: int | None = Field(
        default=None, gt=0, description="Residents, for £ per head (mid-year estimate)."
    )

    @field_validator("name", "area_code")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        found = control_characters(value or "")
        if found:
            raise ValueError(f"a name cannot hold a control character ({', '.join(found)})")
        return value

    @field_validator("financial_year")
    @classmethod
    def _year(cls, value: str) -> str:
        fy = financial_year(value)
        if fy is None:
            raise ValueError("write the financial year like 2008-09")
        return fy


class Method(BaseModel):
    """How the count is made: each step of the Cumbria method can be switched."""

    model_config = ConfigDict(extra="forbid")

    eliminate_transfers: bool = Field(
        default=True,
        description="Remove a transfer from the giver's side when its recipient is in the "
        "count (no pound counted twice).",
    )
    ndpbs: Literal["memo", "add-uncovered", "replace"] = Field(
        default="memo",
        description="'memo': NDPB spending is shown 'of which' and not added (it is inside "
        "PESA); 'add-uncovered': added where no PESA figure covers its sponsor department; "
        "'replace': an NDPB whose own CRA organisation is among the estimates is counted "
        "from its own figures, which replace that estimate.",
    )
    pesa_overlap: Literal["remove", "keep"] = Field(
        default="remove",
        description="'remove': a PESA or CRA estimate that a counted actual covers (the "
        "coverage table, data/method/coverage.csv) is replaced by it; 'keep' counts both "
        "(not advised).",
    )
    non_identifiable: Literal["outside", "per-head"] = Field(
        default="outside",
        description="'outside': non-identifiable spending (defence, debt interest, overseas) "
        "is shown beside the count, not in it; 'per-head': it is added at the UK per-head "
        "rate (ingest it with the place's share of the UK population). EU transactions, "
        "reserves, unallocated provision and AME margins are always outside.",
    )
    income: dict[str, Literal["gross", "net"]] = Field(
        default_factory=dict,
        description="Whether a kind's figures are gross or net of the income it receives, "
        "overriding data/method/kinds.csv (councils and police net, the rest gross): a "
        "contribution paid to a body that reports net stays on the giver's side.",
    )
    default_coverage: bool = Field(
        default=True,
        description="Use the bundled coverage table; false keeps only the [[coverage]] rules "
        "of placecount.toml.",
    )


class Driver(BaseModel):
    """An apportionment driver: the place's share of the region for some estimates, e.g.
    its share of the region's pupils for education, in place of the population share."""

    model_config = ConfigDict(extra="forbid")

    cofog: str | None = Field(default=None, description="Estimates under this COFOG code.")
    department: str | None = Field(default=None, description="Estimates of this department.")
    share: str = Field(description="The place's share, e.g. '0.1300'.")
    basis: str = Field(description="What the share is worked from, e.g. 'pupils, DfE 2009'.")

    @field_validator("share", mode="before")
    @classmethod
    def _share_text(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format(Decimal(repr(value)), "f")  # 1e-05 as 0.00001
        return value


class CoverageEntry(BaseModel):
    """A coverage rule: the estimates that one kind of actual replaces in the count."""

    model_config = ConfigDict(extra="forbid")

    rule: str = Field(description="A short name for the rule, shown in the reconciliation.")
    actual_kind: Literal["council", "nhs", "police", "ndpb", "generic"] = Field(
        description="The kind of actual that covers the estimates."
    )
    sector: Literal["CG", "LG", "PC"] = Field(description="The estimates' sector.")
    department: str | None = Field(
        default=None, description="How the department's name begins (case and punctuation aside)."
    )
    organisation: str | None = Field(
        default=None,
        description="How the CRA organisation's name begins; '{org}': the body's own name.",
    )
    cofog: str | None = Field(default=None, description="Only estimates under this COFOG code.")
    except_cofog: str | None = Field(default=None, description="Not those under this code.")
    coarse_cofog: str | None = Field(
        default=None,
        description="Where the estimate does not name the department or organisation: the "
        "COFOG code covered instead (a coarse replacement).",
    )
    note: str | None = Field(default=None, description="Why the rule holds.")


class NoDataBody(BaseModel):
    """A body in the place whose spending could not be had: listed, not counted."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The body's name.")
    kind: str | None = Field(default=None, description="Its source kind, e.g. 'ndpb'.")
    note: str | None = Field(default=None, description="Why there is no data.")


class ThemeLine(BaseModel):
    """A native line in a theme, e.g. the council's older people's social care."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, description="The native label, as published.")
    code: str | None = Field(default=None, description="The native code.")
    kind: str | None = Field(default=None, description="Only lines of this source kind.")
    share: Decimal = Field(default=Decimal(1), gt=0, le=1, description="The part in the theme.")


class ThemePart(BaseModel):
    """A COFOG code, whole or in part, in a theme."""

    model_config = ConfigDict(extra="forbid")

    cofog: str = Field(description="A COFOG code: everything under it is in the theme.")
    share: Decimal = Field(default=Decimal(1), gt=0, le=1, description="The part in the theme.")
    kind: str | None = Field(default=None, description="Only lines of this source kind.")


class Theme(BaseModel):
    """A deep-dive theme: a named set of COFOG codes and native lines."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, description="What the theme covers.")
    cofog: list[ThemePart] = Field(default_factory=list, description="COFOG codes in it.")
    lines: list[ThemeLine] = Field(default_factory=list, description="Native lines in it.")

    @field_validator("cofog", mode="before")
    @classmethod
    def _plain_codes(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"cofog": v} if isinstance(v, str) else v for v in value]
        return value


class SourceSpec(BaseModel):
    """One spreadsheet to ingest, as ``placecount ingest`` would be told it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["council", "nhs", "police", "pesa", "ndpb", "payments", "generic"] = Field(
        description="The source kind."
    )
    file: str = Field(description="The file, relative to placecount.toml.")
    sheet: str | None = Field(default=None, description="Sheet name or 1-based position.")
    org: str | None = Field(default=None, description="The body whose spending this is.")
    orgs: list[str] = Field(
        default_factory=list,
        description="In a table of many bodies (one row per authority), the rows to take: "
        "names as published or ONS codes.",
    )
    measure: Literal["net", "gross", "income"] | None = Field(
        default=None, description="Where lines have several measures, which to count (net)."
    )
    year: str | None = Field(default=None, description="Financial year, if not the place's.")
    units: Literal["pounds", "thousands", "millions"] | None = Field(
        default=None, description="Units, when the sheet does not say."
    )
    header_row: int | None = Field(default=None, ge=1, description="The header's Excel row.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="Which column plays a role, e.g. amount = 'Outturn'."
    )
    mapping: str | None = Field(
        default=None, description="A mapping CSV overriding the defaults for this file."
    )
    region: str | None = Field(default=None, description="PESA: the region.")
    share: str | None = Field(default=None, description="PESA: the place's share, e.g. '0.0724'.")
    place_population: int | None = Field(default=None, gt=0, description="PESA: place people.")
    region_population: int | None = Field(default=None, gt=0, description="PESA: region people.")
    part: Literal["central", "local", "total", "public-corporation"] | None = Field(
        default=None, description="PESA: which part of public spending the table is."
    )
    table: str | None = Field(
        default=None,
        description="Which of a workbook's tables to count (ONS regional tables): number or name.",
    )
    strict: bool = Field(default=False, description="An unmapped line is an error.")
    count: bool = Field(
        default=False,
        description="Payment lists: put them in the count (by default they are kept out, "
        "being partial).",
    )

    @field_validator("share", mode="before")
    @classmethod
    def _share_as_text(cls, value: object) -> object:
        # share = 0.0724 in TOML is a float: keep the digits as written, never the float
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format(Decimal(repr(value)), "f")  # 1e-05 as 0.00001
        return value


class ReportOutput(BaseModel):
    """A report file to write."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["report"] = Field(description="'report'.")
    file: str = Field(description="Output file; its extension gives the format.")
    by: Literal["division", "group", "class"] = Field(default="division", description="Rows.")
    kind: list[str] = Field(default_factory=list, description="Only these source kinds.")
    org: list[str] = Field(default_factory=list, description="Only these organisations.")
    cofog: str | None = Field(default=None, description="Only these COFOG codes, e.g. '07,10.2'.")
    theme: str | None = Field(default=None, description="Only this theme.")


class TraceOutput(BaseModel):
    """The lines behind one figure, as JSON."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["trace"] = Field(description="'trace'.")
    file: str = Field(description="Output .json file.")
    code: str = Field(description="A COFOG code, or 'unmapped'.")
    kind: list[str] = Field(default_factory=list, description="Only these source kinds.")
    by: Literal["division", "group", "class"] | None = Field(
        default=None, description="The report level the code is from."
    )


class FlowsOutput(BaseModel):
    """Funding chains with the 20%-per-hand-over rule, and optionally the mapping wall."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["flows"] = Field(description="'flows'.")
    input: str | None = Field(
        default=None, description="Chains or flow-graph file; none: the store's transfers."
    )
    file: str = Field(description="Output file: .csv, .json or .xlsx.")
    rate: str = Field(default="0.20", description="Share lost per hand-over.")
    measured: Literal["delivered", "source"] = Field(
        default="delivered", description="For a flow graph: what its amounts are."
    )
    sensitivity: str | None = Field(default=None, description="Rates, e.g. '0.1,0.2,0.3'.")
    collapse: str | None = Field(default=None, description="An intermediary to take out.")
    chart: str | None = Field(default=None, description="The mapping wall: .html, .svg, .png.")
    title: str | None = Field(default=None, description="The chart's title.")


class ScenarioOutput(BaseModel):
    """A savings scenario (A − (B + C) = Y) priced against this count."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["scenario"] = Field(description="'scenario'.")
    input: str = Field(description="The scenario file (.yaml or .toml).")
    file: str = Field(description="Output file: .csv, .json, .md or .xlsx.")
    chart: str | None = Field(default=None, description="A chart of A, B + C and Y.")


Output = Annotated[
    ReportOutput | TraceOutput | FlowsOutput | ScenarioOutput, Field(discriminator="type")
]


class Project(BaseModel):
    """Everything ``placecount.toml`` says about a count."""

    model_config = ConfigDict(extra="forbid")

    place: Place = Field(description="The place, year and population.")
    mappings: dict[str, str] = Field(
        default_factory=dict,
        description="A user's mapping file per source kind, overriding the defaults "
        "line by line, e.g. council = 'my_council_mapping.csv'.",
    )
    method: Method = Field(default_factory=Method, description="The count's method switches.")
    drivers: list[Driver] = Field(
        default_factory=list,
        description="Apportionment drivers for estimates, tried in order; population (the "
        "share given at ingest) is the default.",
    )
    coverage: list[CoverageEntry] = Field(
        default_factory=list,
        description="Coverage rules of this count, tried before the bundled table's.",
    )
    no_data: list[NoDataBody] = Field(
        default_factory=list, description="Bodies in the place with no data: listed as gaps."
    )
    themes: dict[str, Theme] = Field(default_factory=dict, description="Deep-dive themes by name.")
    sources: list[SourceSpec] = Field(
        default_factory=list, description="The spreadsheets, ingested in this order by `run`."
    )
    outputs: list[Output] = Field(
        default_factory=list, description="The files `run` writes, in this order."
    )


class PlaceEntry(Place):
    """One place (or year) of a project of several: its own sources, drivers and gaps."""

    key: str | None = Field(
        default=None,
        description="A short name for the place's folder under --out and for "
        "'placecount.toml#KEY' (default: its name and year, e.g. 'riverton-2008-09').",
    )
    drivers: list[Driver] = Field(default_factory=list, description="Its drivers.")
    no_data: list[NoDataBody] = Field(default_factory=list, description="Its gaps.")
    sources: list[SourceSpec] = Field(
        default_factory=list, description="Its spreadsheets, ingested in this order."
    )
    outputs: list[Output] | None = Field(
        default=None, description="Its outputs (default: the project's [[outputs]])."
    )

    def slug(self) -> str:
        return self.key or place_key(self.name, self.financial_year)


def place_key(name: str, year: str) -> str:
    """'Riverton', '2008-09' → 'riverton-2008-09'."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", f"{name} {year}".lower()).strip("-")


class CompareSpec(BaseModel):
    """A comparison of the project's places that `run` writes."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="Output file: .txt, .csv, .json, .md, .xlsx or .html.")
    by: Literal["division", "group", "class"] = Field(default="division", description="Rows.")
    prices: Literal["nominal", "real"] = Field(default="nominal", description="Prices.")
    base_year: str | None = Field(default=None, description="With real prices: the base year.")
    deflators: str | None = Field(
        default=None, description="With real prices: the deflator table, relative to this file."
    )
    benchmarks: bool = Field(
        default=False, description="The region's and England's £ per head beside each place's."
    )
    england_population: int | None = Field(
        default=None, gt=0, description="England's population, for its £ per head."
    )
    mixed: bool = Field(
        default=False, description="Compare places counted differently, listing the differences."
    )


class ProjectSet(BaseModel):
    """A project of several places or years: ``[[places]]``, each with its sources, and
    what they share (mappings, method, coverage, themes, outputs)."""

    model_config = ConfigDict(extra="forbid")

    places: list[PlaceEntry] = Field(min_length=1, description="The places or years counted.")
    mappings: dict[str, str] = Field(
        default_factory=dict, description="User mapping files by kind, for every place."
    )
    method: Method = Field(default_factory=Method, description="The method, for every place.")
    coverage: list[CoverageEntry] = Field(default_factory=list, description="Coverage rules.")
    themes: dict[str, Theme] = Field(default_factory=dict, description="Deep-dive themes.")
    outputs: list[Output] = Field(
        default_factory=list, description="Each place's outputs, unless it lists its own."
    )
    compare: list[CompareSpec] = Field(
        default_factory=list, description="Comparisons of the places, written beside them."
    )

    @field_validator("places")
    @classmethod
    def _keys(cls, value: list[PlaceEntry]) -> list[PlaceEntry]:
        keys = [p.slug() for p in value]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"two places have the key {twice[0]!r}: give each a key")
        return value

    def project_for(self, key: str) -> Project:
        """The single-place project of one of the places."""
        for p in self.places:
            if p.slug() == key:
                return Project(
                    place=Place(
                        name=p.name,
                        area_code=p.area_code,
                        financial_year=p.financial_year,
                        population=p.population,
                    ),
                    mappings=self.mappings,
                    method=self.method,
                    drivers=p.drivers,
                    coverage=self.coverage,
                    no_data=p.no_data,
                    themes=self.themes,
                    sources=p.sources,
                    outputs=self.outputs if p.outputs is None else p.outputs,
                )
        raise InputError.one(
            "bad-project",
            f"there is no place {key!r} in the project.",
            note="Places: " + ", ".join(p.slug() for p in self.places) + ".",
        )


def split_selector(path: Path) -> tuple[Path, str | None]:
    """'placecount.toml#riverton-2008-09' → the file and the place's key."""
    name, sep, key = Path(path).name.partition("#")
    return Path(path).with_name(name), (key if sep else None)


def load_project_set(path: Path) -> ProjectSet | None:
    """A project of several places, or None when the file holds one place (or none)."""
    real, _ = split_selector(path)
    data = _read_toml(real)
    if data is None or "places" not in data:
        return None
    pset: ProjectSet = _validated(ProjectSet, data, real)
    return pset


def project_path_for(db: Path) -> Path:
    """The project file that goes with a database: ``placecount.toml`` beside it."""
    return db.parent / PROJECT_FILE


def _read_toml(path: Path) -> dict[str, Any] | None:
    from .paths import open_regular

    if not path.exists():
        return None
    try:
        with open_regular(path, "project file") as fh:  # a pipe or a device is refused
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError.one("bad-project", f"not valid TOML: {exc}.", file=path.name) from exc
    except RecursionError:
        # tomllib reads nested arrays and tables by recursion: "a = [[[[…" of some thousand
        # brackets exhausts Python's stack (issue #14)
        raise InputError.one(
            "bad-project",
            "not valid TOML: its arrays or tables are nested too deeply to read.",
            file=path.name,
            note="A project file nests a few levels at most; this one is damaged or hostile.",
        ) from None


def load_project(path: Path) -> Project | None:
    """Read the project file, or None when there is none.

    ``placecount.toml#KEY`` is one place of a project of several (``[[places]]``).
    """
    real, key = split_selector(path)
    data = _read_toml(real)
    if data is None:
        return None
    if "places" in data:
        pset = _validated(ProjectSet, data, real)
        if key is None:
            raise InputError.one(
                "bad-project",
                "this project holds several places ([[places]]).",
                file=real.name,
                note="Build them with `placecount run`; a single place is "
                f"{real.name}#KEY, with KEY one of: "
                + ", ".join(p.slug() for p in pset.places)
                + ".",
            )
        one: Project = pset.project_for(key)
        return one
    if key is not None:
        raise InputError.one(
            "bad-project", f"{real.name} holds one place: drop '#{key}'.", file=real.name
        )
    project: Project = _validated(Project, data, real)
    return project


def _validated(model: Any, data: dict[str, Any], path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
        key = key_path(loc)
        row = toml_line(path.read_text(encoding="utf-8"), loc)
        raise InputError.one(
            "bad-project",
            f"{err['msg'][0].lower()}{err['msg'][1:]}." if row else f"{key}: {err['msg']}.",
            file=path.name,
            row=row,
            header=key,
        ) from exc


#: pydantic puts a discriminated union's tag in an error's location: not a key of the file
_UNION_TAGS = {"report", "trace", "flows", "scenario"}


def key_path(loc: Sequence[object]) -> str:
    """A location as a reader writes it: ``sources[2].share``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def toml_line(text: str, loc: Sequence[object]) -> int | None:
    """The line of a key in TOML text (tomllib keeps no positions, so it is looked up).

    Follows ``[table]`` and ``[[array]]`` headers to the right entry, then the key in it;
    for a key that is missing, the line of its table. None when nothing is found.
    """
    lines = text.splitlines()
    start, end = 0, len(lines)
    found: int | None = None
    i = 0

    def table_end(first: int) -> int:
        later = [n for n in range(first + 1, len(lines)) if lines[n].lstrip().startswith("[")]
        return later[0] if later else len(lines)

    while i < len(loc):
        part, nxt = loc[i], loc[i + 1] if i + 1 < len(loc) else None
        if isinstance(part, str) and isinstance(nxt, int):
            headers = [
                n for n in range(start, end) if lines[n].replace(" ", "").strip() == f"[[{part}]]"
            ]
            if nxt < len(headers):
                start = headers[nxt]
                end, found = table_end(start), start + 1
            i += 2
            continue
        if isinstance(part, str):
            dotted = ".".join(str(k) for k in loc[: i + 1])
            header = [
                n
                for n in range(start, end)
                if lines[n].replace(" ", "").strip() in (f"[{part}]", f"[{dotted}]")
            ]
            if header:
                start = header[0]
                end, found = table_end(start), start + 1
            else:
                hit = [
                    n
                    for n in range(start, end)
                    if "=" in lines[n] and lines[n].split("=")[0].strip().strip('"') == part
                ]
                if hit:
                    found = hit[0] + 1
        i += 1
    return found


def write_project(path: Path, project: Project) -> None:
    """Write ``placecount.toml`` (TOML strings are written with JSON's escaping)."""
    place = project.place
    out = ["# placecount project file: the place counted and its year.", "[place]"]
    out.append(f"name = {json.dumps(place.name, ensure_ascii=False)}")
    if place.area_code:
        out.append(f"area_code = {json.dumps(place.area_code)}")
    out.append(f"financial_year = {json.dumps(place.financial_year)}")
    if place.population is not None:
        out.append(f"population = {place.population}")
    if project.mappings:
        out += ["", "[mappings]"]
        out += [
            f"{k} = {json.dumps(v, ensure_ascii=False)}"
            for k, v in sorted(project.mappings.items())
        ]
    from .render import write_output

    write_output(path, "\n".join(out) + "\n")
