"""placecount: count all public money going into a place, on the UN COFOG classification.

The library is the CLI: ``placecount ingest`` is :func:`placecount.ingest`,
``placecount report`` is :func:`placecount.report`, and so on. Imports are lazy,
so ``placecount --help`` starts quickly.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["browse_cofog", "ingest", "init", "report", "sources", "unmapped", "__version__"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
