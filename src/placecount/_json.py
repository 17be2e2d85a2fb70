"""JSON as ``json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)``
writes it, byte for byte, but with the C encoder for the innermost objects and lists.

The standard library falls back to its pure-Python encoder whenever ``indent`` is given,
which costs about a second for a trace of ten thousand lines. Here every object or list
holding only plain values (a line of a trace, a row of a report) is written by one call of
the C encoder, its separators carrying the newline and indent; only the containers above
them are walked in Python.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

_INDENT = "  "


def dumps(data: Any) -> str:
    return _encode(data, 0)


@cache
def _encoder(level: int) -> json.JSONEncoder:
    """The C encoder for plain values, each on its own line ``level`` deep."""
    return json.JSONEncoder(
        sort_keys=True,
        ensure_ascii=False,
        default=str,
        separators=(",\n" + _INDENT * level, ": "),
    )


def _plain(value: Any) -> bool:
    return not isinstance(value, dict | list | tuple)


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def _all_plain(values: Any) -> bool:
    return set(map(type, values)) <= _PLAIN_TYPES or all(_plain(v) for v in values)


def _encode(value: Any, level: int) -> str:
    if _plain(value):
        return json.dumps(value, ensure_ascii=False, default=str)
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    pad, inner = _INDENT * level, _INDENT * (level + 1)
    if isinstance(value, dict):
        if not (set(map(type, value)) <= {str} or all(isinstance(k, str) for k in value)):
            # keys of other types are sorted before they become text: leave that to json
            text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
            return text.replace("\n", "\n" + pad)
        values = value.values()
    else:
        values = value
    if _all_plain(values):
        text = _encoder(level + 1).encode(value)
        return f"{text[0]}\n{inner}{text[1:-1]}\n{pad}{text[-1]}"
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_encode(v, level + 1)}"
            for k, v in sorted(value.items())
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{_encode(v, level + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"
