"""The project file ``placecount.toml``: the place, the year and its population.

>>> p = Project(place=Place(name="Exampleshire", financial_year="2008-09", population=500000))
>>> p.place.financial_year
'2008-09'
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Literal

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


class Place(BaseModel):
    """The place being counted."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The place's name, e.g. 'Exampleshire'.")
    area_code: str | None = Field(default=None, description="ONS area code, e.g. E10000006.")
    financial_year: str = Field(description="The financial year counted, e.g. '2008-09'.")
    population: int | None = Field(
        default=None, gt=0, description="Residents, for £ per head (mid-year estimate)."
    )

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
    ndpbs: Literal["memo", "add-uncovered"] = Field(
        default="memo",
        description="'memo': NDPB spending is shown 'of which' and not added (it is inside "
        "PESA); 'add-uncovered': added where no PESA figure covers its sponsor department.",
    )
    pesa_overlap: Literal["remove", "keep"] = Field(
        default="remove",
        description="For PESA total or local-government tables, 'remove' takes out the COFOG "
        "divisions that local bodies already report; 'keep' counts both (not advised).",
    )


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
    no_data: list[NoDataBody] = Field(
        default_factory=list, description="Bodies in the place with no data: listed as gaps."
    )
    themes: dict[str, Theme] = Field(default_factory=dict, description="Deep-dive themes by name.")


def project_path_for(db: Path) -> Path:
    """The project file that goes with a database: ``placecount.toml`` beside it."""
    return db.parent / PROJECT_FILE


def load_project(path: Path) -> Project | None:
    """Read the project file, or None when there is none."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError.one("bad-project", f"not valid TOML: {exc}.", file=path.name) from exc
    try:
        return Project.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise InputError.one(
            "bad-project",
            f"{key}: {err['msg']}.",
            file=path.name,
            header=key,
        ) from exc


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
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    tmp.replace(path)
