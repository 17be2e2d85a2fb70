"""How each source kind's sheets are read: the rules in ``schemas/<kind>.toml``.

Model fields carry descriptions: ``schemas/kind.schema.json`` is generated from them.
"""

from __future__ import annotations

import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import InputError
from .models import KINDS, ROLES, Kind
from .resources import resource_path


class TransferRule(BaseModel):
    """A native line that is money handed to another body (a grant out), not spent here."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="Text the line's label contains, e.g. 'pooled budget'.")
    recipient: str = Field(
        description="Who receives it: a body's name, a source kind such as 'nhs', or a "
        "group of bodies in data/method/recipients.csv such as 'parish councils'."
    )
    books_as: Literal["income", "financing"] = Field(
        default="income",
        description="How the recipient books it: 'income' (a contribution netted off its "
        "spending when it reports net) or 'financing' (a precept or levy, never netted).",
    )


class KindSchema(BaseModel):
    """How one source kind's sheets are read: loaded from ``schemas/<kind>.toml``."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field(description="The source kind this file describes.")
    title: str = Field(description="A short human name for the kind.")
    native_classification: str = Field(description="The classification its lines use.")
    mapping: str | None = Field(
        default=None, description="Name of the mapping table in data/cofog/mappings/."
    )
    default_units: Literal["pounds", "thousands", "millions"] = Field(
        description="Units assumed when neither the header nor the title states them."
    )
    identity: list[str] = Field(
        description="Roles that identify a line; the header must have at least one."
    )
    columns: dict[str, list[str]] = Field(
        description="For each role, the header texts that play it, best first."
    )
    regions: list[str] = Field(default_factory=list, description="Region column names (PESA).")
    exclude_status: list[str] = Field(default_factory=list, description="Statuses left out.")
    exclude_sponsor: list[str] = Field(default_factory=list, description="Sponsors left out.")
    not_connected: list[str] = Field(
        default_factory=list, description="Values of the 'connected' column meaning no."
    )
    transfers: list[TransferRule] = Field(
        default_factory=list,
        description="Native lines that are transfers to another body (grants out).",
    )

    @field_validator("columns")
    @classmethod
    def _known_roles(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        return value


def load_kind_schema(kind: str) -> KindSchema:
    """The reading rules for ``kind``, from ``schemas/<kind>.toml``."""
    if kind not in KINDS:
        raise InputError.one(
            "unknown-kind",
            f"'{kind}' is not a source kind.",
            note="Use one of: " + ", ".join(KINDS) + ".",
        )
    path = resource_path("schemas", f"{kind}.toml")
    with path.open("rb") as fh:
        return KindSchema.model_validate(tomllib.load(fh))
