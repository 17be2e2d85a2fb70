"""`_json.dumps` writes what ``json.dumps(indent=2, sort_keys=True, ...)`` writes, byte for byte."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placecount._json import dumps
from placecount.store import Store


def reference(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)


plain = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
nested = st.recursive(
    plain,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(nested)
def test_same_text_as_the_standard_library(data: Any) -> None:
    assert dumps(data) == reference(data)


#: Texts that look like the joins between objects the fast path mends (a newline inside a
#: string is written as \\n, never as itself).
tricky = st.sampled_from(["},\n      {", "}, {", "\n}", "{\n", "},", "\u2028{", ""]) | st.text()
rows = st.lists(
    st.dictionaries(st.text(max_size=5) | tricky, plain | tricky, max_size=5), max_size=6
)


@settings(max_examples=400, deadline=None)
@given(st.lists(rows, max_size=2) | st.dictionaries(st.text(max_size=3), rows, max_size=3))
def test_lists_of_rows_same_text_as_the_standard_library(data: Any) -> None:
    """Lists of flat objects (a trace's lines, every unmapped line), at any depth, with
    empty objects among them and keys and values that look like the joins mended."""
    assert dumps(data) == reference(data)


def test_a_trace_like_result() -> None:
    """Lines of plain values under a few levels: the shape the fast path is for."""
    data = {
        "cofog_code": "07.3",
        "lines": [
            {"amount_gbp": "12.50", "cell": "D7", "row": 7, "share": Decimal("0.35"), "x": None},
            {"amount_gbp": "-1.00", "cell": "D8", "row": 8, "share": "1", "x": 'é\n"q"'},
        ],
        "filters": {"kinds": ["nhs"], "orgs": []},
        "empty": {},
    }
    text = dumps(data)
    assert text == reference(data)
    assert '\n      "cell": "D7",\n' in text  # one value a line, six spaces in
    assert json.loads(text)["lines"][1]["x"] == 'é\n"q"'


@pytest.fixture(scope="module")
def store() -> Any:
    with Store.open(":memory:") as s:
        yield s


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text()
            | tricky
            | st.sampled_from(["\x1f", "\\u001F", "\x0b\x7f\u2028", "a'b", "\\\x1f", "\\\\\x0e"]),
            st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.none() | st.booleans(),
            st.none() | st.text(max_size=3),
        ),
        max_size=5,
    ),
    st.integers(min_value=0, max_value=3),
)
def test_rows_written_by_the_database_same_text(store: Any, rows: list[Any], level: int) -> None:
    """Store.json_rows (the database writes the text) gives what dumps gives of the same
    rows as dicts: control characters, quotes, backslashes, NULLs and every level."""
    store.con.execute("CREATE OR REPLACE TEMP TABLE t (z VARCHAR, b BIGINT, a BOOLEAN, m VARCHAR)")
    if rows:
        store.con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    sql = "SELECT * FROM t ORDER BY rowid"
    expected = reference(store.query(sql)).replace("\n", "\n" + "  " * level)
    assert store.json_rows(sql, level=level) == expected
    # written a few rows at a time, as a long list is: the same text
    assert "".join(store.json_chunks(sql, level=level, batch=2)) == expected
