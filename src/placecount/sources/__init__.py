"""Readers, one per source kind. Each reads a file into lines and never writes.

>>> from placecount.models import ReadOptions
>>> read = read_source("council", Path("examples/exampleshire/county_council_outturn_2008-09.xlsx"),
...                    ReadOptions(org="Exampleshire County Council"))  # doctest: +SKIP

The readers (:mod:`placecount.sources.reading`, with pyarrow and pydantic behind them) are
imported when one of their names is first used, not with the package: a command that needs
only a helper of ``_cells`` (the count, a project file's year) does not load them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # re-exported: see __getattr__
    from .reading import DEFAULT_ORGS as DEFAULT_ORGS
    from .reading import READERS as READERS
    from .reading import WORKBOOK_READERS as WORKBOOK_READERS
    from .reading import mark_transfers as mark_transfers
    from .reading import read_source as read_source
    from .reading import read_sources as read_sources


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of a file, read in blocks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def __getattr__(name: str) -> Any:
    if name.startswith("__") or name == "reading":
        raise AttributeError(name)
    from importlib import import_module

    reading = import_module(".reading", __name__)
    try:
        return getattr(reading, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
