"""Savings scenarios, A − (B + C) = Y, and citizens' journeys costed contact by contact.

A deep dive prices a proposition with the Dorset, Poole and Bournemouth formula:

- **A** the saving from less demand on costly services (fewer avoidable admissions,
  less intensive social care);
- **B** the extra investment in community services that diverts and prevents that demand;
- **C** the cost of sustaining universal services and social capital;
- **Y** = A − (B + C), the net contribution to a reduction in public spending.

A scenario file (YAML or TOML) lists the items of A, B and C. Each item hits one
agency's budget and is valued one way: an ``amount`` a year; ``volume`` × ``unit_cost``;
a ``share`` of a figure of this place's count (a COFOG code, optionally one source
``kind``), read from the store and traced to its lines; or ``per_family_saving`` (the
saving of a costed journey) × ``families``. A ``profile`` spreads an item over the years
(ramp-up), and ``low`` / ``high`` values give a range.

The maths is exact: values are fractions, each item's amount for an agency and a year
is rounded half-even to the penny once, and every total is a sum of those pence, so
Y = A − (B + C) to the penny in every year, case and format. Discounting follows the
HM Treasury Green Book: the first year is year 0 and is not discounted, year *t* is
multiplied by 1/(1 + r)^t.

A journey file costs one citizen's or family's contacts with services (touchpoints):
``count`` × ``unit_cost``, or ``count`` × ``hours`` × ``hourly_cost``, summed by agency
and kind of contact; ``redesigned`` touchpoints give the saving per family.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import InputError, Issue, shorten
from .models import KINDS, pence_to_pounds
from .sources._cells import plain_decimal

#: HM Treasury Green Book social time preference rate, for the first 30 years.
DEFAULT_DISCOUNT_RATE = Decimal("0.035")
TERMS = ("A", "B", "C")
CASES = ("low", "central", "high")
SUFFIXES = (".yaml", ".yml", ".toml")
#: The issue code of a scenario or journey file that cannot be used as written.
CODE = "bad-scenario"

Loc = tuple[str | int, ...]
Basis = Literal["amount", "volume", "share", "journey"]

# -- issues placed by line --------------------------------------------------------------


class FileIssue(Issue):
    """An issue in a scenario or journey file, placed by line and key path as editors do."""

    def position(self) -> str:
        """Where the issue is, e.g. ``older_people.yaml line 14 (A[2].unit_cost)``."""
        parts = [self.file] if self.file else []
        if self.row:
            parts.append(f"line {self.row}")
        if self.header:
            parts.append(f"({self.header})")
        return " ".join(parts)


def _issue(
    message: str,
    file: str | None,
    line: int | None = None,
    key: str | None = None,
    code: str = CODE,
    note: str | None = None,
) -> InputError:
    return InputError(
        issues=[FileIssue(code=code, message=message, file=file, row=line, header=key, note=note)]
    )


def key_path(loc: Iterable[str | int]) -> str:
    """A key path as written in messages: ``("A", 2, "unit_cost")`` → ``A[2].unit_cost``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


# -- the models -------------------------------------------------------------------------

_BASES: dict[str, tuple[str, ...]] = {
    "amount": ("amount",),
    "volume": ("volume", "unit_cost"),
    "share": ("share", "cofog"),
    "journey": ("per_family_saving", "families"),
}
#: The values ``low`` and ``high`` may vary, for each way of valuing an item.
_VARIES: dict[str, tuple[str, ...]] = {
    "amount": ("amount",),
    "volume": ("volume", "unit_cost"),
    "share": ("share",),
    "journey": ("families",),
}
_EXPLAIN = {
    "amount": "an amount a year",
    "volume": "volume × unit_cost",
    "share": "a share of a counted COFOG figure (share and cofog)",
    "journey": "per_family_saving × families",
}


def _problem(message: str, field: str = "", near: str = "", path: str = "") -> PydanticCustomError:
    """A validation error that says which key it is about (``field``, relative to the model,
    or ``path`` from the file's top), and a key beside it to point at when it is missing."""
    return PydanticCustomError("placecount", message, {"field": field, "near": near, "path": path})


class Values(BaseModel):
    """An item's low or high values: any of the values its valuing uses."""

    model_config = ConfigDict(extra="forbid")

    amount: Decimal | None = Field(default=None, ge=0, description="£ a year.")
    volume: Decimal | None = Field(default=None, ge=0, description="How many a year.")
    unit_cost: Decimal | None = Field(default=None, ge=0, description="£ each.")
    share: Decimal | None = Field(default=None, ge=0, le=1, description="Share, 0 to 1.")
    families: int | None = Field(default=None, ge=0, description="How many families.")


class Item(BaseModel):
    """One line of A, B or C: an agency's saving or cost, valued one way, over the years."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="What it is, e.g. 'Avoided emergency admissions'.")
    agency: str | None = Field(
        default=None,
        description="The body whose budget it hits. Required, except for per_family_saving "
        "items: left out, their saving is split by the journey's agencies.",
    )
    note: str | None = Field(default=None, description="Where the figure comes from.")
    amount: Decimal | None = Field(default=None, ge=0, description="£ a year.")
    volume: Decimal | None = Field(
        default=None, ge=0, description="How many a year (e.g. 120 avoided admissions)."
    )
    unit_cost: Decimal | None = Field(default=None, ge=0, description="£ each (e.g. 2100).")
    share: Decimal | None = Field(
        default=None,
        ge=0,
        le=1,
        description="A share (0 to 1) of the figure this place's count holds for cofog.",
    )
    cofog: str | None = Field(
        default=None, description="The COFOG code whose counted figure share is of, e.g. 07.3."
    )
    kind: str | None = Field(
        default=None,
        description="With share: only this source kind's part of the figure (e.g. nhs).",
    )
    per_family_saving: str | None = Field(
        default=None,
        description="A journey file with redesigned touchpoints, relative to the scenario "
        "file: its saving per family.",
    )
    families: int | None = Field(
        default=None, ge=0, description="How many families (or people) the saving applies to."
    )
    profile: list[Annotated[Decimal, Field(ge=0)]] | None = Field(
        default=None,
        description="A factor per year (as many as years), e.g. [0.25, 0.5, 1, 1, 1] for a "
        "ramp-up. Default 1 every year.",
    )
    low: Values | None = Field(default=None, description="The item's lower values.")
    high: Values | None = Field(default=None, description="The item's higher values.")

    @field_validator("cofog")
    @classmethod
    def _cofog(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from .cofog import normalise_code

        code = normalise_code(str(value))
        if code is None:
            raise ValueError(
                f"{value!r} is not a COFOG code: divisions are 01 to 10, groups like 07.3, "
                "classes like 07.3.1 (`placecount cofog` lists them)"
            )
        return code

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        if value is not None and value not in KINDS:
            raise ValueError(f"{value!r} is not a source kind: use one of " + ", ".join(KINDS))
        return value

    @property
    def basis(self) -> Basis:
        """How the item is valued: amount, volume (× unit cost), share or journey."""
        for basis, keys in _BASES.items():
            if any(getattr(self, k) is not None for k in keys):
                return basis  # type: ignore[return-value]
        return "amount"  # pragma: no cover - the validator refuses an item valued no way

    @model_validator(mode="after")
    def _valued_one_way(self) -> Item:
        given = {b: [k for k in keys if getattr(self, k) is not None] for b, keys in _BASES.items()}
        present = [b for b, keys in given.items() if keys]
        if not present:
            raise _problem(
                "the item has no value: give amount; volume and unit_cost; share and cofog; "
                "or per_family_saving and families"
            )
        if len(present) > 1:
            first, second = present[0], present[1]
            raise _problem(
                f"an item is valued one way: {given[first][0]} ({_EXPLAIN[first]}) and "
                f"{given[second][0]} ({_EXPLAIN[second]}) are both given",
                field=given[second][0],
            )
        basis = present[0]
        for key in _BASES[basis]:
            if getattr(self, key) is None:
                other = given[basis][0]
                raise _problem(
                    f"missing: {other} needs {key} ({_EXPLAIN[basis]})", field=key, near=other
                )
        if self.kind is not None and basis != "share":
            raise _problem("kind goes only with share and cofog", field="kind")
        if self.agency is None and basis != "journey":
            raise _problem(
                "missing: whose budget does the item hit? Give its agency", field="agency"
            )
        for side in ("low", "high"):
            alt: Values | None = getattr(self, side)
            if alt is None:
                continue
            for key in sorted(alt.model_fields_set):
                value = getattr(alt, key)
                if value is None:
                    continue
                if key not in _VARIES[basis]:
                    raise _problem(
                        f"{side}.{key} does not apply: this item is valued by "
                        f"{_EXPLAIN[basis]}, so {side} may give " + " or ".join(_VARIES[basis]),
                        field=f"{side}.{key}",
                    )
                central = getattr(self, key)
                if (side == "low" and value > central) or (side == "high" and value < central):
                    raise _problem(
                        f"{side}.{key} {value} is {'above' if side == 'low' else 'below'} the "
                        f"central {central}: low and high are the item's own lower and higher "
                        "values (the low case takes savings low and costs high by itself)",
                        field=f"{side}.{key}",
                    )
        return self


class Scenario(BaseModel):
    """A deep-dive proposition priced as A − (B + C) = Y over the years."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The proposition's short name.")
    theme: str = Field(description="The deep-dive theme, e.g. 'older people'.")
    place: str | None = Field(default=None, description="The place, e.g. 'Dorset'.")
    question: str | None = Field(default=None, description="The question the deep dive asks.")
    proposition: str | None = Field(default=None, description="The proposition being tested.")
    start_year: str = Field(description="The first financial year, written like 2010-11.")
    years: int = Field(ge=1, le=60, description="How many years, from start_year.")
    discount_rate: Decimal = Field(
        default=DEFAULT_DISCOUNT_RATE,
        ge=0,
        lt=1,
        description="Discount rate a year: 0.035, the HM Treasury Green Book rate, by default.",
    )
    optimism_bias: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=5,
        description="Uplift on B and C for optimism bias, e.g. 0.15 for 15%. Default 0.",
    )
    A: list[Item] = Field(
        default_factory=list, description="Savings from less demand on costly services."
    )
    B: list[Item] = Field(
        default_factory=list,
        description="Investment in community services that diverts and prevents that demand.",
    )
    C: list[Item] = Field(
        default_factory=list,
        description="The cost of sustaining universal services and social capital.",
    )

    _base_dir: Path = PrivateAttr(default_factory=Path)
    _file: str | None = PrivateAttr(default=None)
    _lines: dict[Loc, int] = PrivateAttr(default_factory=dict)

    @field_validator("start_year", mode="before")
    @classmethod
    def _start_year(cls, value: Any) -> str:
        from .sources._cells import financial_year

        text = str(value).strip()
        year = financial_year(text) if len(text) <= 9 else None
        if year is None:
            raise PydanticCustomError(
                "placecount",
                f"{text!r} is not a financial year: write it like 2010-11 "
                "(April 2010 to March 2011)",
                {"field": "", "near": "", "path": "", "code": "bad-year"},
            )
        return year

    @model_validator(mode="after")
    def _lengths(self) -> Scenario:
        if not (self.A or self.B or self.C):
            raise _problem("the scenario has no items: list them under A, B and C", field="A")
        for term in TERMS:
            for i, item in enumerate(getattr(self, term)):
                if item.profile is not None and len(item.profile) != self.years:
                    raise _problem(
                        f"the profile has {len(item.profile)} factors for {self.years} years: "
                        "give one factor a year",
                        path=f"{term}.{i}.profile",
                    )
                if item.basis == "journey" and term != "A":
                    raise _problem(
                        "per_family_saving is a saving: it belongs in A",
                        path=f"{term}.{i}.per_family_saving",
                    )
        return self

    def year_labels(self) -> list[str]:
        """The financial years covered: 2010-11, 2011-12, …"""
        first = int(self.start_year[:4])
        return [f"{first + t}-{(first + t + 1) % 100:02d}" for t in range(self.years)]


class Touchpoint(BaseModel):
    """One contact with a service on a journey, with its cost."""

    model_config = ConfigDict(extra="forbid")

    agency: str = Field(description="The body providing the service.")
    service: str = Field(description="The service, e.g. 'A&E' or 'social work'.")
    contact: str | None = Field(
        default=None, description="The kind of contact: visit, call, letter, assessment …"
    )
    count: Decimal = Field(ge=0, description="How many times (repeated calls and visits count).")
    unit_cost: Decimal | None = Field(default=None, ge=0, description="£ each time.")
    hours: Decimal | None = Field(default=None, ge=0, description="Staff hours each time.")
    hourly_cost: Decimal | None = Field(default=None, ge=0, description="£ an hour.")
    note: str | None = Field(default=None, description="Where the figure comes from.")

    @model_validator(mode="after")
    def _costed_one_way(self) -> Touchpoint:
        if self.unit_cost is not None and (self.hours is not None or self.hourly_cost is not None):
            key = "hours" if self.hours is not None else "hourly_cost"
            raise _problem(
                f"a touchpoint is costed one way: unit_cost and {key} are both given", field=key
            )
        if self.unit_cost is None:
            if self.hours is None and self.hourly_cost is None:
                raise _problem(
                    "missing: give unit_cost, or hours and hourly_cost", field="unit_cost"
                )
            if self.hours is None:
                raise _problem(
                    "missing: hourly_cost needs hours", field="hours", near="hourly_cost"
                )
            if self.hourly_cost is None:
                raise _problem(
                    "missing: hours needs hourly_cost", field="hourly_cost", near="hours"
                )
        return self


class Journey(BaseModel):
    """A citizen's or family's journey through services, costed contact by contact."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Whose journey, e.g. 'Family B, New Addington'.")
    description: str | None = Field(default=None, description="The story in a sentence or two.")
    place: str | None = Field(default=None, description="The place, e.g. 'Croydon'.")
    touchpoints: list[Touchpoint] = Field(
        min_length=1, description="Every contact with a service, as it happens now."
    )
    redesigned: list[Touchpoint] | None = Field(
        default=None, description="The contacts after a redesign, for the saving per family."
    )

    _file: str | None = PrivateAttr(default=None)


# -- reading files ----------------------------------------------------------------------


def read_document(path: Path) -> tuple[Any, dict[Loc, int]]:
    """A YAML or TOML file's data, with numbers as exact Decimals, and each key's line."""
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _issue(
            f"a scenario or journey file is .yaml, .yml or .toml, not {suffix or 'no suffix'}.",
            name,
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise _issue("the file does not exist.", name, code="file-not-found") from None
    except UnicodeDecodeError:
        raise _issue("the file is not UTF-8 text.", name) from None
    except OSError as exc:
        raise _issue(f"the file cannot be read ({exc.strerror}).", name) from None
    if suffix == ".toml":
        return _read_toml(text, name)
    return _read_yaml(text, name)


def _read_toml(text: str, name: str) -> tuple[Any, dict[Loc, int]]:
    import tomllib

    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise _issue(f"not valid TOML: {message}.", name, int(m.group(1)) if m else None) from None
    except RecursionError:  # "a = [[[[…" of some thousand brackets (issue #14)
        raise _issue("not valid TOML: its arrays or tables are nested too deeply.", name) from None
    return data, toml_lines(text)


_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*=\s*(.*)$"""
)
_TOML_INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_\-]+)\s*=")


def _toml_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def toml_lines(text: str) -> dict[Loc, int]:
    """Where each key of a TOML file is: found by reading the text line by line.

    tomllib gives no positions, so this is a search, not a parse. It is right for
    files written the ordinary way: ``[table]`` and ``[[array]]`` headers (arrays of
    tables are counted, so the third ``[[A]]`` is ``A[2]``), ``key = value`` lines and
    inline tables on one line. A key inside an array of inline tables spread over
    several lines, or after a multi-line string, is placed at the nearest key found
    above it in the path (the message's key path is always exact).
    """
    lines: dict[Loc, int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    current: Loc = ()
    in_string: str | None = None

    def resolve(parts: tuple[str, ...]) -> Loc:
        out: list[str | int] = []
        for k in range(len(parts)):
            out.append(parts[k])
            if parts[: k + 1] in arrays:
                out.append(arrays[parts[: k + 1]])
        return tuple(out)

    for no, raw in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if raw.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _TOML_HEADER.match(raw)
        if header:
            parts = _toml_key(header.group(2))
            if header.group(1) == "[[":
                arrays[parts] = arrays.get(parts, -1) + 1
                lines.setdefault(resolve(parts[:-1]) + (parts[-1],), no)
            current = resolve(parts)
            lines.setdefault(current, no)
            continue
        key = _TOML_KEY.match(raw)
        if not key:
            continue
        path = current + _toml_key(key.group(1))
        lines.setdefault(path, no)
        value = key.group(2)
        if value.lstrip().startswith("{"):
            for inner in _TOML_INLINE_KEY.finditer(value):
                lines.setdefault(path + (inner.group(1),), no)
        for quote in ('"""', "'''"):
            if value.count(quote) % 2 == 1:
                in_string = quote
    return lines


#: Most nodes a YAML file may expand to (aliases can multiply a small file).
_MAX_NODES = 100_000


def _read_yaml(text: str, name: str) -> tuple[Any, dict[Loc, int]]:
    """Compose the YAML with the safe loader (no object construction), then build plain
    data from the nodes ourselves: numbers as Decimals (never floats), each key's line."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise _issue(
            f"not valid YAML: {problem}.", name, mark.line + 1 if mark is not None else None
        ) from None
    if root is None:
        raise _issue("the file is empty.", name)
    lines: dict[Loc, int] = {(): root.start_mark.line + 1}
    budget = [_MAX_NODES]
    return _yaml_value(root, (), lines, name, budget), lines


def _yaml_value(node: Any, loc: Loc, lines: dict[Loc, int], name: str, budget: list[int]) -> Any:
    import yaml
    from yaml.constructor import SafeConstructor

    budget[0] -= 1
    if budget[0] < 0:
        raise _issue("the file expands to too many values (aliases?).", name)
    line = node.start_mark.line + 1
    tag = node.tag.rsplit(":", 1)[-1]
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag.endswith(":merge"):
                raise _issue(
                    "YAML merge keys (<<) are not supported: write the keys out.",
                    name,
                    key_node.start_mark.line + 1,
                    key_path(loc) or None,
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise _issue("a key must be a word.", name, key_node.start_mark.line + 1)
            key = str(key_node.value)
            if key in out:
                raise _issue(
                    f"the key {key!r} appears twice.",
                    name,
                    key_node.start_mark.line + 1,
                    key_path(loc + (key,)),
                )
            lines.setdefault(loc + (key,), key_node.start_mark.line + 1)
            out[key] = _yaml_value(value_node, loc + (key,), lines, name, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        for i, child in enumerate(node.value):
            lines.setdefault(loc + (i,), child.start_mark.line + 1)
            items.append(_yaml_value(child, loc + (i,), lines, name, budget))
        return items
    value = node.value
    if tag == "str" or tag == "timestamp":
        return value
    if tag == "null":
        return None
    if tag in ("bool", "int"):
        return getattr(SafeConstructor(), f"construct_yaml_{tag}")(node)
    if tag == "float":
        try:
            number = Decimal(value.replace("_", ""))
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise _issue(
                f"{value!r} is not a number placecount can use.", name, line, key_path(loc)
            )
        return number
    raise _issue(f"the YAML tag {node.tag!r} is not allowed here.", name, line, key_path(loc))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    current = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        nxt = _model_in(field.annotation) if field is not None else None
        if nxt is None:
            return None
        current = nxt
    return current


def _line_for(lines: dict[Loc, int], loc: Loc, near: str = "") -> int | None:
    if loc in lines:
        return lines[loc]
    if near and loc and loc[:-1] + (near,) in lines:
        return lines[loc[:-1] + (near,)]
    for cut in range(len(loc) - 1, -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _words(value: Any) -> str:
    return str(value) if isinstance(value, Decimal | int | float) else repr(value)


def _message(
    error: dict[str, Any], model: type[BaseModel], loc: Loc, missing: list[str]
) -> tuple[str, str | None]:
    """A plain-English message (and what to do) for one pydantic error."""
    kind = error["type"]
    if loc and isinstance(loc[-1], int):
        key = key_path(loc[-2:])  # e.g. profile[3]
    else:
        key = str(loc[-1]) if loc else "value"
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        import difflib

        parent = _model_at(model, loc[:-1])
        allowed = sorted(parent.model_fields) if parent is not None else []
        close = difflib.get_close_matches(key, allowed, n=1)
        if missing and not close:
            close = missing[:1]
        suggest = f"Did you mean {close[0]!r}" if close else ""
        if close and close[0] in missing:
            suggest += ", which is missing"
        note = (suggest + "? " if suggest else "") + (
            "Keys here: " + ", ".join(allowed) + "." if allowed else ""
        )
        return f"unknown key {key!r}.", note or None
    if kind == "missing":
        return f"missing: {key} is required.", None
    if kind in ("greater_than_equal", "greater_than"):
        if ctx.get("ge") == 0 or ctx.get("gt") == 0:
            return f"{key} cannot be negative ({_words(given)}).", None
        bound = ctx.get("ge", ctx.get("gt"))
        return f"{key} must be at least {bound} ({_words(given)}).", None
    if kind in ("less_than_equal", "less_than"):
        if key == "share":
            return f"a share is at most 1 (100%); {_words(given)} is above 1.", (
                "Write 5% as 0.05."
            )
        bound = ctx.get("le", ctx.get("lt"))
        below = "at most" if kind == "less_than_equal" else "below"
        return f"{key} must be {below} {bound} ({_words(given)}).", None
    if kind.startswith("decimal") or kind in ("float_parsing", "float_type"):
        return f"{key} must be a number, not {_words(given)}.", None
    if kind.startswith("int"):
        return f"{key} must be a whole number, not {_words(given)}.", None
    if kind in ("string_type",):
        return f"{key} must be text, not {_words(given)}.", None
    if kind in ("list_type",):
        return f"{key} must be a list.", None
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{key} must be a set of keys.", None
    if kind == "too_short":
        return f"{key} needs at least one entry.", None
    if kind == "value_error":
        return str(ctx.get("error", error["msg"])).rstrip(".") + ".", None
    return str(error["msg"]).rstrip(".") + ".", None


def _validate(model: type[BaseModel], data: Any, lines: dict[Loc, int], file: str) -> Any:
    """The file's data as ``model``, or every problem as one issue each, placed by line."""
    if not isinstance(data, dict):
        raise _issue(
            "the file must hold keys: "
            + ", ".join(k for k, f in model.model_fields.items() if f.is_required())
            + ", …",
            file,
            lines.get(()),
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues: list[Issue] = []
        seen: set[tuple[str | None, str]] = set()
        errors = exc.errors()
        # A key spelt wrong is both unknown and missing: say it once, as the unknown key.
        missing: dict[Loc, list[str]] = {}
        for error in errors:
            if error["type"] == "missing" and error["loc"]:
                missing.setdefault(tuple(error["loc"][:-1]), []).append(str(error["loc"][-1]))
        unknown = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
        for error in errors:
            loc: Loc = tuple(error["loc"])
            ctx = error.get("ctx") or {}
            code = CODE
            if error["type"] == "missing" and loc[:-1] in unknown:
                continue
            if error["type"] == "placecount":
                if ctx.get("path"):
                    loc = tuple(int(p) if p.isdigit() else p for p in str(ctx["path"]).split("."))
                if ctx.get("field"):
                    loc = loc + tuple(str(ctx["field"]).split("."))
                code = str(ctx.get("code") or CODE)
                message, note = str(error["msg"]).rstrip(".") + ".", None
            else:
                message, note = _message(dict(error), model, loc, missing.get(loc[:-1], []))
                if loc and loc[-1] == "cofog" and error["type"] == "value_error":
                    code = "unknown-cofog-code"
            where = key_path(loc) or None
            if (where, message) in seen:
                continue
            seen.add((where, message))
            issues.append(
                FileIssue(
                    code=code,
                    message=message,
                    file=file,
                    row=_line_for(lines, loc, str(ctx.get("near") or "")),
                    header=where,
                    note=note,
                )
            )
        issues.sort(key=lambda i: (i.row or 0, i.header or ""))
        raise InputError(issues=issues) from None


def load_scenario(path: Path | str) -> Scenario:
    """Read and check a scenario file (.yaml, .yml or .toml).

    Raises :class:`~placecount.errors.InputError` naming the file, line and key path of
    each problem, e.g. ``older_people.yaml line 14 (A[2].unit_cost): missing: …``.
    """
    path = Path(path)
    data, lines = read_document(path)
    scenario: Scenario = _validate(Scenario, data, lines, path.name)
    scenario._base_dir = path.parent
    scenario._file = path.name
    scenario._lines = lines
    return scenario


def load_journey(path: Path | str) -> Journey:
    """Read and check a journey file (.yaml, .yml or .toml)."""
    path = Path(path)
    data, lines = read_document(path)
    journey: Journey = _validate(Journey, data, lines, path.name)
    journey._file = path.name
    return journey


# -- exact money ------------------------------------------------------------------------


def gbp(pence: int) -> str:
    """Integer pence as a decimal string of pounds: 123456 → '1234.56'."""
    return str(pence_to_pounds(pence))


def _pence(pounds: Fraction) -> int:
    """Pounds to pence, rounded half to even (banker's rounding), exactly."""
    return round(pounds * 100)


def _text(value: Decimal | int) -> str:
    """A number as written in a formula: 1200 → '1,200', 0.05 → '0.05'."""
    if isinstance(value, int):
        return f"{value:,}"
    value = value.normalize() if value == value.to_integral() else value
    return f"{value:,f}"


def _pounds(value: Decimal | Fraction) -> str:
    """Pounds as written in a formula, to the penny: '£2,100.00'."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return f"£{value:,.2f}"


# -- journeys ---------------------------------------------------------------------------

NOT_STATED = "not stated"


def _touchpoint_pence(tp: Touchpoint) -> int:
    if tp.unit_cost is not None:
        return _pence(Fraction(tp.count) * Fraction(tp.unit_cost))
    assert tp.hours is not None and tp.hourly_cost is not None  # checked by the model
    return _pence(Fraction(tp.count) * Fraction(tp.hours) * Fraction(tp.hourly_cost))


def _group(
    rows: list[tuple[Touchpoint, int]], key: Callable[[Touchpoint], str]
) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for tp, pence in rows:
        entry = out.setdefault(key(tp), [0, 0])
        entry[0] += 1
        entry[1] += pence
    return out


def _costed(touchpoints: list[Touchpoint]) -> dict[str, Any]:
    rows = [(tp, _touchpoint_pence(tp)) for tp in touchpoints]
    total = sum(p for _, p in rows)

    def table(groups: dict[str, list[int]], name: str) -> list[dict[str, Any]]:
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1][1], kv[0]))
        return [
            {name: k, "touchpoints": n, "cost_gbp": gbp(p), "share_of_total": _share(p, total)}
            for k, (n, p) in ordered
        ]

    return {
        "touchpoints": [
            {
                "index": i,
                "agency": tp.agency,
                "service": tp.service,
                "contact": tp.contact or NOT_STATED,
                "count": str(tp.count),
                "unit_cost_gbp": None if tp.unit_cost is None else str(tp.unit_cost),
                "hours": None if tp.hours is None else str(tp.hours),
                "hourly_cost_gbp": None if tp.hourly_cost is None else str(tp.hourly_cost),
                "basis": (
                    f"{_text(tp.count)} × {_pounds(tp.unit_cost)}"
                    if tp.unit_cost is not None
                    else f"{_text(tp.count)} × {_text(tp.hours or Decimal(0))} h × "
                    f"{_pounds(tp.hourly_cost or Decimal(0))}"
                ),
                "note": tp.note,
                "cost_gbp": gbp(p),
            }
            for i, (tp, p) in enumerate(rows)
        ],
        "by_agency": table(_group(rows, lambda tp: tp.agency), "agency"),
        "by_contact": table(_group(rows, lambda tp: tp.contact or NOT_STATED), "contact"),
        "total_gbp": gbp(total),
        "_pence": total,
        "_agency_pence": {k: p for k, (_, p) in _group(rows, lambda tp: tp.agency).items()},
    }


def _share(part: int, total: int) -> str | None:
    from .rounding import share

    return share(part, total)


def _journey_saving(journey: Journey) -> tuple[int, int | None, dict[str, int]]:
    """Total pence now, redesigned pence, and the saving per family by agency."""
    now = _costed(journey.touchpoints)
    if journey.redesigned is None:
        return now["_pence"], None, {}
    after = _costed(journey.redesigned)
    agencies = list(now["_agency_pence"]) + [
        a for a in after["_agency_pence"] if a not in now["_agency_pence"]
    ]
    saving = {
        a: now["_agency_pence"].get(a, 0) - after["_agency_pence"].get(a, 0) for a in agencies
    }
    return now["_pence"], after["_pence"], saving


def cost_journey(journey: Journey) -> dict[str, Any]:
    """The journey's cost by touchpoint, agency and kind of contact, its total, and with
    ``redesigned`` touchpoints the redesigned total and the saving per family.

    Each touchpoint's cost (count × unit_cost, or count × hours × hourly_cost) is
    rounded half-even to the penny once; every total is a sum of those pence.
    """
    now = _costed(journey.touchpoints)
    result: dict[str, Any] = {
        "journey": {
            "name": journey.name,
            "description": journey.description,
            "place": journey.place,
            "file": journey._file,
        },
        "touchpoints": now["touchpoints"],
        "by_agency": now["by_agency"],
        "by_contact": now["by_contact"],
        "total_gbp": now["total_gbp"],
        "redesigned": None,
        "saving_gbp": None,
        "saving_by_agency": None,
        "method": {
            "cost": "count × unit_cost, or count × hours × hourly_cost, for each touchpoint",
            "rounding": "each touchpoint's cost rounded half to even to the penny; totals are "
            "sums of those pence",
        },
    }
    if journey.redesigned is not None:
        after = _costed(journey.redesigned)
        _, _, saving = _journey_saving(journey)
        result["redesigned"] = {
            k: v for k, v in after.items() if k in ("touchpoints", "by_agency", "by_contact")
        } | {"total_gbp": after["total_gbp"]}
        result["saving_gbp"] = gbp(now["_pence"] - after["_pence"])
        result["saving_by_agency"] = [
            {
                "agency": a,
                "now_gbp": gbp(now["_agency_pence"].get(a, 0)),
                "redesigned_gbp": gbp(after["_agency_pence"].get(a, 0)),
                "saving_gbp": gbp(s),
            }
            for a, s in saving.items()
        ]
    return result


# -- pricing a scenario -----------------------------------------------------------------


def parse_fraction(
    value: Decimal | str | int | float | None, option: str, upper: Decimal, inclusive: bool
) -> Decimal | None:
    """A rate or uplift given on the command line or by a caller, checked."""
    if value is None:
        return None
    raw = str(value).strip()
    try:
        number = plain_decimal(raw.rstrip("%"))
    except ValueError as why:
        raise InputError.one("bad-option", f"{option} {shorten(raw)!r} {why}.") from None
    if raw.endswith("%"):
        number /= 100
    ok = number.is_finite() and number >= 0 and (number <= upper if inclusive else number < upper)
    if not ok:
        bound = f"at most {upper}" if inclusive else f"below {upper}"
        raise InputError.one("bad-option", f"{option} {raw} must be at least 0 and {bound}.")
    return number


def _case_values(item: Item, term: str, case: str) -> dict[str, Any]:
    """The values an item takes in a case. The low case is the prudent one: savings (A)
    at their low values, costs (B, C) at their high values; the high case the reverse."""
    side: str | None = None if case == "central" else case
    if side is not None and term != "A":
        side = "high" if side == "low" else "low"
    values = {k: getattr(item, k) for k in ("amount", "volume", "unit_cost", "share", "families")}
    alt: Values | None = getattr(item, side) if side else None
    if alt is not None:
        for key in alt.model_fields_set:
            if getattr(alt, key) is not None:
                values[key] = getattr(alt, key)
    return values


class _Inputs:
    """The figures items take from outside the file: the store and journey files."""

    def __init__(self, scenario: Scenario, db: Path | None) -> None:
        self.scenario = scenario
        self.db = db
        self.traces: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.journeys: dict[str, tuple[Journey, tuple[int, int | None, dict[str, int]]]] = {}

    def _where(self, term: str, index: int, key: str) -> tuple[str | None, int | None, str]:
        loc: Loc = (term, index, key)
        return self.scenario._file, _line_for(self.scenario._lines, loc), key_path(loc)

    def counted(self, term: str, index: int, item: Item) -> dict[str, Any]:
        """The counted figure for the item's COFOG code (and kind), traced to its lines."""
        assert item.cofog is not None
        key = (item.cofog, item.kind)
        if key not in self.traces:
            if self.db is None:
                file, line, where = self._where(term, index, "share")
                raise _issue(
                    "a share of a counted figure needs the count's database.",
                    file,
                    line,
                    where,
                    note="Give --db PATH (or PLACECOUNT_DB).",
                )
            from .api import trace

            self.traces[key] = trace(self.db, item.cofog, kinds=[item.kind] if item.kind else [])
        return self.traces[key]

    def journey(
        self, term: str, index: int, item: Item
    ) -> tuple[Journey, tuple[int, int | None, dict[str, int]]]:
        """The journey file's costs, and its saving per family by agency."""
        assert item.per_family_saving is not None
        name = item.per_family_saving
        if name not in self.journeys:
            file, line, where = self._where(term, index, "per_family_saving")
            path = self.scenario._base_dir / name
            if not path.is_file():
                raise _issue(
                    f"the journey file {name!r} does not exist.",
                    file,
                    line,
                    where,
                    code="file-not-found",
                    note="Its path is relative to the scenario file's folder.",
                )
            journey = load_journey(path)
            costs = _journey_saving(journey)
            if costs[1] is None:
                raise _issue(
                    f"the journey {journey.name!r} has no redesigned touchpoints, so no saving.",
                    file,
                    line,
                    where,
                    note="Add `redesigned:` touchpoints to the journey file.",
                )
            self.journeys[name] = (journey, costs)
        return self.journeys[name]


def _parts(
    term: str, index: int, item: Item, values: dict[str, Any], inputs: _Inputs
) -> tuple[list[tuple[str, Fraction]], str]:
    """The item's £ a year for each agency it hits (before the profile), and the formula."""
    basis = item.basis
    agency = item.agency or ""
    if basis == "amount":
        return [(agency, Fraction(values["amount"]))], f"{_pounds(values['amount'])} a year"
    if basis == "volume":
        value = Fraction(values["volume"]) * Fraction(values["unit_cost"])
        return [(agency, value)], (
            f"{_text(values['volume'])} × {_pounds(values['unit_cost'])} = {_pounds(value)} a year"
        )
    if basis == "share":
        traced = inputs.counted(term, index, item)
        counted = Fraction(Decimal(traced["counted_gbp"]))
        value = Fraction(values["share"]) * counted
        of = f"COFOG {item.cofog}" + (f" ({item.kind})" if item.kind else "")
        return [(agency, value)], (
            f"{_text(values['share'])} × {_pounds(counted)} counted under {of} = "
            f"{_pounds(value)} a year"
        )
    journey, (_, _, by_agency) = inputs.journey(term, index, item)
    families = int(values["families"])
    saving = sum(by_agency.values())
    formula = (
        f"{_pounds(Fraction(saving, 100))} saving per family (journey {journey.name!r}) × "
        f"{families:,} families = {_pounds(Fraction(saving * families, 100))} a year"
    )
    if item.agency:
        return [(item.agency, Fraction(saving * families, 100))], formula
    return [
        (a, Fraction(s * families, 100)) for a, s in by_agency.items() if s != 0
    ], formula + ", split by the journey's agencies"


def _payback(cumulative: list[int], labels: list[str]) -> dict[str, Any]:
    """The first year the cumulative Y is at least 0 after being negative; the first year
    if it is never negative; none within the years otherwise."""
    was_negative = False
    found: int | None = None
    for t, value in enumerate(cumulative):
        if value < 0:
            was_negative = True
        elif was_negative:
            found = t
            break
    if not was_negative:
        found = 0
    if found is None:
        return {"year": None, "year_number": None, "text": f"not within {len(labels)} years"}
    return {
        "year": labels[found],
        "year_number": found + 1,
        "text": f"{labels[found]} (year {found + 1})",
    }


def _factor_text(factor: Fraction) -> str:
    return str((Decimal(factor.numerator) / Decimal(factor.denominator)).quantize(Decimal("1e-6")))


def price(
    scenario: Scenario,
    db: Path | None = None,
    *,
    discount_rate: Decimal | str | None = None,
    optimism_bias: Decimal | str | None = None,
) -> dict[str, Any]:
    """Price a scenario: A, B, C and Y per year and in total for the low, central and high
    cases, cumulative Y and the payback year, discounted totals, who pays and who gains.

    ``db`` is the count's database, needed only by items that take a share of a counted
    COFOG figure. ``discount_rate`` and ``optimism_bias`` override the file's. The result
    is JSON-ready: money as decimal strings of pounds, no floats, no timestamps.
    """
    rate_override = parse_fraction(discount_rate, "--discount-rate", Decimal(1), False)
    bias_override = parse_fraction(optimism_bias, "--optimism-bias", Decimal(5), True)
    rate = rate_override if rate_override is not None else scenario.discount_rate
    bias = bias_override if bias_override is not None else scenario.optimism_bias
    fields_set = scenario.model_fields_set
    rate_from = (
        "option"
        if rate_override is not None
        else "scenario file"
        if "discount_rate" in fields_set
        else "default: the HM Treasury Green Book rate"
    )
    bias_from = (
        "option"
        if bias_override is not None
        else "scenario file"
        if "optimism_bias" in fields_set
        else "default: none"
    )
    n = scenario.years
    labels = scenario.year_labels()
    uplift = 1 + Fraction(bias)
    factors = [1 / (1 + Fraction(rate)) ** t for t in range(n)]
    inputs = _Inputs(scenario, db)

    # term -> case -> year -> pence (with the bias) and before it
    sums = {c: {k: [0] * n for k in ("A", "B", "C", "B0", "C0")} for c in CASES}
    by_agency: dict[str, dict[str, dict[str, int]]] = {c: {} for c in CASES}
    items: list[dict[str, Any]] = []
    provenance: list[dict[str, Any]] = []
    warnings: list[str] = []
    for term in TERMS:
        for index, item in enumerate(getattr(scenario, term)):
            profile = [Fraction(f) for f in item.profile] if item.profile else [Fraction(1)] * n
            out_cases: dict[str, Any] = {}
            for case in CASES:
                values = _case_values(item, term, case)
                parts, formula = _parts(term, index, item, values, inputs)
                if item.profile:
                    formula += ", × profile " + ", ".join(_text(f) for f in item.profile)
                before = [0] * n
                after = [0] * n
                agency_totals: dict[str, int] = {}
                for agency, value in parts:
                    for t in range(n):
                        exact = value * profile[t]
                        p0 = _pence(exact)
                        p1 = p0 if term == "A" else _pence(exact * uplift)
                        before[t] += p0
                        after[t] += p1
                        agency_totals[agency] = agency_totals.get(agency, 0) + p1
                        row = by_agency[case].setdefault(agency, {"A": 0, "B": 0, "C": 0})
                        row[term] += p1
                for t in range(n):
                    sums[case][term][t] += after[t]
                    if term != "A":
                        sums[case][term + "0"][t] += before[t]
                out_cases[case] = {
                    "formula": formula,
                    "values": {k: str(v) for k, v in values.items() if v is not None},
                    "years_gbp": [gbp(p) for p in after],
                    "total_gbp": gbp(sum(after)),
                    "years_before_bias_gbp": [gbp(p) for p in before],
                    "total_before_bias_gbp": gbp(sum(before)),
                    "by_agency_gbp": {a: gbp(p) for a, p in agency_totals.items()},
                }
            where = key_path((term, index))
            items.append(
                {
                    "term": term,
                    "index": index,
                    "path": where,
                    "name": item.name,
                    "agency": item.agency or "split by the journey's agencies",
                    "note": item.note,
                    "basis": item.basis,
                    "profile": [str(f) for f in item.profile] if item.profile else None,
                    "cases": out_cases,
                }
            )
            if item.basis == "share":
                traced = inputs.counted(term, index, item)
                used = [x for x in traced["lines"] if x["treatment"] == "counted"]
                provenance.append(
                    {
                        "item": where,
                        "name": item.name,
                        "source": "store",
                        "cofog": item.cofog,
                        "cofog_name": traced.get("cofog_name"),
                        "kind": item.kind,
                        "counted_gbp": traced["counted_gbp"],
                        "lines": [
                            {
                                k: x.get(k)
                                for k in (
                                    "file",
                                    "file_sha256",
                                    "sheet",
                                    "row",
                                    "cell",
                                    "kind",
                                    "org",
                                    "native_code",
                                    "native_label",
                                    "cofog_code",
                                    "cofog_share",
                                    "amount_gbp",
                                )
                            }
                            for x in used
                        ],
                    }
                )
                if not used:
                    warnings.append(
                        f"{where} {item.name!r} takes a share of COFOG {item.cofog}"
                        + (f" ({item.kind})" if item.kind else "")
                        + ", but the count has nothing there: it is £0."
                    )
            elif item.basis == "journey":
                journey, (now, redesigned, saving) = inputs.journey(term, index, item)
                provenance.append(
                    {
                        "item": where,
                        "name": item.name,
                        "source": "journey",
                        "journey_file": item.per_family_saving,
                        "journey": journey.name,
                        "total_gbp": gbp(now),
                        "redesigned_total_gbp": gbp(redesigned or 0),
                        "saving_per_family_gbp": gbp(sum(saving.values())),
                        "saving_by_agency_gbp": {a: gbp(s) for a, s in saving.items()},
                    }
                )
    if n > 30 and rate == DEFAULT_DISCOUNT_RATE:
        warnings.append(
            "The Green Book rate falls to 3.0% after year 30; one rate is used for every year."
        )

    cases: dict[str, Any] = {}
    for case in CASES:
        s = sums[case]
        rows: list[dict[str, Any]] = []
        cumulative: list[int] = []
        cumulative_discounted: list[int] = []
        totals = dict.fromkeys(("a", "b", "c", "b0", "c0", "y", "da", "db", "dc", "dy"), 0)
        for t in range(n):
            a, b, c, b0, c0 = s["A"][t], s["B"][t], s["C"][t], s["B0"][t], s["C0"][t]
            y = a - (b + c)
            f = factors[t]
            da, db_, dc = round(a * f), round(b * f), round(c * f)
            dy = da - (db_ + dc)
            cumulative.append((cumulative[-1] if cumulative else 0) + y)
            cumulative_discounted.append(
                (cumulative_discounted[-1] if cumulative_discounted else 0) + dy
            )
            for k, v in (
                ("a", a),
                ("b", b),
                ("c", c),
                ("b0", b0),
                ("c0", c0),
                ("y", y),
                ("da", da),
                ("db", db_),
                ("dc", dc),
                ("dy", dy),
            ):
                totals[k] += v
            rows.append(
                {
                    "year": labels[t],
                    "year_number": t + 1,
                    "t": t,
                    "a_gbp": gbp(a),
                    "b_gbp": gbp(b),
                    "c_gbp": gbp(c),
                    "b_before_bias_gbp": gbp(b0),
                    "c_before_bias_gbp": gbp(c0),
                    "optimism_bias_gbp": gbp(b + c - b0 - c0),
                    "b_plus_c_gbp": gbp(b + c),
                    "y_gbp": gbp(y),
                    "cumulative_y_gbp": gbp(cumulative[-1]),
                    "discount_factor": _factor_text(f),
                    "discounted_a_gbp": gbp(da),
                    "discounted_b_gbp": gbp(db_),
                    "discounted_c_gbp": gbp(dc),
                    "discounted_y_gbp": gbp(dy),
                    "cumulative_discounted_y_gbp": gbp(cumulative_discounted[-1]),
                }
            )
        agencies = []
        for agency, row in by_agency[case].items():
            costs = row["B"] + row["C"]
            net = row["A"] - costs
            agencies.append(
                {
                    "agency": agency,
                    "a_gbp": gbp(row["A"]),
                    "b_gbp": gbp(row["B"]),
                    "c_gbp": gbp(row["C"]),
                    "costs_gbp": gbp(costs),
                    "net_gbp": gbp(net),
                    "role": "gains" if net > 0 else "pays" if net < 0 else "even",
                }
            )
        agencies.sort(key=lambda r: (-Decimal(r["net_gbp"]), r["agency"]))
        cases[case] = {
            "years": rows,
            "totals": {
                "a_gbp": gbp(totals["a"]),
                "b_gbp": gbp(totals["b"]),
                "c_gbp": gbp(totals["c"]),
                "b_before_bias_gbp": gbp(totals["b0"]),
                "c_before_bias_gbp": gbp(totals["c0"]),
                "optimism_bias_gbp": gbp(totals["b"] + totals["c"] - totals["b0"] - totals["c0"]),
                "b_plus_c_gbp": gbp(totals["b"] + totals["c"]),
                "y_gbp": gbp(totals["y"]),
                "discounted_a_gbp": gbp(totals["da"]),
                "discounted_b_gbp": gbp(totals["db"]),
                "discounted_c_gbp": gbp(totals["dc"]),
                "discounted_y_gbp": gbp(totals["dy"]),
            },
            "payback": _payback(cumulative, labels),
            "discounted_payback": _payback(cumulative_discounted, labels),
            "agencies": agencies,
        }

    pct = f"{rate * 100:f}".rstrip("0").rstrip(".") + "%"
    return {
        "scenario": {
            "name": scenario.name,
            "theme": scenario.theme,
            "place": scenario.place,
            "question": scenario.question,
            "proposition": scenario.proposition,
            "file": scenario._file,
            "start_year": scenario.start_year,
            "years": n,
            "year_labels": labels,
        },
        "method": {
            "formula": "Y = A − (B + C): A savings from less demand on costly services; B "
            "investment that diverts and prevents that demand; C the cost of sustaining "
            "universal services and social capital; Y the net contribution to lower public "
            "spending",
            "discount_rate": str(rate),
            "discount_rate_from": rate_from,
            "discounting": f"HM Treasury Green Book convention at {pct} a year: the first year "
            "is year t = 0 and is not discounted; year t is multiplied by 1/(1 + r)^t. A, B and "
            "C are discounted each year and rounded to the penny; discounted Y = discounted A − "
            "(discounted B + discounted C)",
            "optimism_bias": str(bias),
            "optimism_bias_from": bias_from,
            "optimism_bias_applies_to": "B and C: each cost item's amount × (1 + optimism_bias); "
            "the figures before the uplift are shown beside",
            "rounding": "each item's amount for an agency and a year (value × profile factor, "
            "× (1 + optimism_bias) for B and C) is rounded half to even to the penny once; every "
            "total is a sum of those pence, so Y = A − (B + C) to the penny",
            "cases": "central takes each item's values; low is the prudent case, savings (A) at "
            "their low values and costs (B, C) at their high values; high the reverse. An item "
            "with no low or high value keeps its central one",
            "payback": "the first year the cumulative Y is at least 0 after being negative; the "
            "first year if it is never negative",
        },
        "cases": cases,
        "items": items,
        "provenance": provenance,
        "warnings": warnings,
    }
