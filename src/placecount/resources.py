"""Where the bundled reference data lives: ``data/`` and ``schemas/``.

In a source checkout (and an editable install) they sit at the repository root;
in a wheel they are packed under ``placecount/_data/``.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """The path of a bundled file, e.g. ``resource_path("data", "cofog", "cofog.csv")``."""
    packed = _HERE / "_data" / Path(*parts)
    if packed.exists():
        return packed
    return _HERE.parents[1] / Path(*parts)
