"""JSON as ``json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)``
writes it, byte for byte, but with the C encoder for the innermost objects and lists.

The standard library falls back to its pure-Python encoder whenever ``indent`` is given,
which costs about a second for a trace of ten thousand lines. Here every object or list
holding only plain values (a line of a trace, a row of a report) is written by one call of
the C encoder, its separators carrying the newline and indent; only the containers above
them are walked in Python. A list of such objects (the lines of a trace, every unmapped
line) is one call for the whole list: its separators indent the objects' members, and
the few places between objects are mended after (a newline inside a string is written
``\\n``, so a real newline followed by ``{`` or ``}`` is always the encoder's own).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

_INDENT = "  "


def dumps(data: Any, level: int = 0) -> str:
    """The text, as if ``level`` deep in a larger document (its first line not indented)."""
    return _encode(data, level)


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


def _all_flat_objects(values: Any) -> bool:
    """Every item a non-empty object of text keys and plain values: rows of a table."""
    return all(
        type(v) is dict and v and set(map(type, v)) == {str} and _all_plain(v.values())
        for v in values
    )


def _flat_objects(rows: Any, level: int) -> str:
    """A list of flat objects ``level`` deep, in one call of the C encoder."""
    pad, inner, member = _INDENT * level, _INDENT * (level + 1), _INDENT * (level + 2)
    text = _encoder(level + 2).encode(rows)
    # the encoder wrote '[{"a": 1,\n<member>"b": 2},\n<member>{"a": …}]'
    between = f"\n{inner}}},\n{inner}{{\n{member}"
    body = text[2:-2].replace(f"}},\n{member}{{", between)
    return f"[\n{inner}{{\n{member}{body}\n{inner}}}\n{pad}]"


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
    if not isinstance(value, dict) and _all_flat_objects(value):
        return _flat_objects(value, level)
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_encode(v, level + 1)}"
            for k, v in sorted(value.items())
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{_encode(v, level + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"
