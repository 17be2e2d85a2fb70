"""Write the JSON Schemas in ``schemas/`` from the pydantic models, or check them.

``python -m placecount.schemas`` writes them; ``--check`` exits 1 when a file is
out of date (run by ``make lint`` and by the tests).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from .errors import Issue
from .models import KindSchema
from .project import Project, ProjectSet
from .resources import resource_path
from .scenario import Journey, Scenario

#: Pydantic models, and the dataclass Issue (whose fields' docstrings describe them).
MODELS: dict[str, Any] = {
    "placecount.toml.schema.json": Project,
    "placecount.places.toml.schema.json": ProjectSet,
    "kind.schema.json": KindSchema,
    "issue.schema.json": Issue,
    "scenario.schema.json": Scenario,
    "journey.schema.json": Journey,
}


def rendered() -> dict[str, str]:
    """Each schema file's text, as it should be."""
    return {
        name: json.dumps(TypeAdapter(model).json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in MODELS.items()
    }


def main(argv: list[str]) -> int:
    folder: Path = resource_path("schemas")
    stale = []
    for name, text in rendered().items():
        path = folder / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if "--check" in argv:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote schemas/{name}")
    if stale:
        print("out of date: " + ", ".join(stale) + " (run `make schemas`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
