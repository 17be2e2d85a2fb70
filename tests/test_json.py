"""`_json.dumps` writes what ``json.dumps(indent=2, sort_keys=True, ...)`` writes, byte for byte."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from placecount._json import dumps


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
