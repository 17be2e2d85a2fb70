"""Header and label matching cannot be made to hang (issue #14): a header cell
"(000(000(000…" of 10,000 characters took over 400 s in one regular expression.

Each function that matches header or label cells is run on hostile strings (nested
brackets, long runs of digits, spaces and separators, 10,000-character cells) under an
alarm: a pattern that backtracks catastrophically again fails the test at the alarm
instead of hanging it. The budget is generous; timing itself is `make bench`'s business.
"""

from __future__ import annotations

import csv
import random
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from placecount import api, cofog
from placecount.errors import PlacecountError
from placecount.sources import _cells, _table, _units, bodies, pesa, pesa_workbook

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the time guard needs SIGALRM, which Windows lacks"
)

BUDGET = 3.0  # seconds a cell: some thousand times what a linear pattern needs

N = 10_000


def hostile_cells() -> list[str]:
    cells = [
        "(000" * (N // 4),  # the case of issue #14
        "(" * N,
        "[" * N,
        "(£" * (N // 2),
        "(£000 " * (N // 6),
        "0" * N,
        "1" * N,
        "2008-" * (N // 5),
        "2008/09 " * (N // 8),
        " " * N + "x",
        "1" + " " * N + "m",
        "£" + " " * N + "x",
        "£'" + " " * N,
        "000" + " " * N + ",",
        "," * N,
        "." * N,
        "-" * N,
        "1." * (N // 2),
        "1," * (N // 2),
        "1.1." * (N // 4),
        "1 a" + " " * N + "b",
        "1.1 " + " " * N + "b" + "\t" * N + "c",
        "table 1 a" + " " * N + "b",
        "table " * (N // 6),
        "figures " * (N // 8),
        "[note " * (N // 6),
        " " * N + "[note 1]x",
        "england_" * (N // 8),
        "total " * (N // 6),
        "\t" * N,
        "\n" * N,
        "12 " * (N // 3),
    ]
    rng = random.Random(14)
    for _ in range(4):
        cells.append("".join(rng.choice("()[]£0 1.,-/'ab\t\n") for _ in range(N)))
    return cells


HOSTILE = hostile_cells()

#: Every function that matches header or label text, by name.
MATCHERS: dict[str, Callable[[str], Any]] = {
    "normalise": _cells.normalise,
    "header_key": _cells.header_key,
    "detect_units": _cells.detect_units,
    "financial_year": _cells.financial_year,
    "is_total_label": _table.is_total_label,
    "measure_of": bodies.measure_of,
    "below_the_line_reason": bodies.below_the_line_reason,
    "split_number": pesa.split_number,
    "guess_part": pesa.guess_part,
    "plain_region": pesa_workbook.plain_region,
    "year_heading": pesa_workbook.year_heading,
    "split_code": pesa_workbook.split_code,
    "unit_sentence": pesa_workbook.unit_sentence,
    "normalise_code": cofog.normalise_code,
    "parent_key": cofog.parent_key,
    # patterns used inside readers on a cell's text
    "amount_in_text": lambda t: _units._AMOUNT_IN_TEXT.sub(" ", t),
    "table_title": lambda t: pesa_workbook._TABLE_TITLE.match(t),
    "note_marks": lambda t: pesa_workbook._NOTE.sub("", t),
}


class TooSlow(Exception):
    pass


@contextmanager
def within(seconds: float, what: str) -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise TooSlow(f"{what} took over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_guard_stops_a_catastrophic_pattern() -> None:
    """The test can fail: issue #14's pattern on its cell is stopped by the guard."""
    import re

    old = re.compile(r"[(\[][^)\]]*(?:£|000|thousand|million)[^)\]]*[)\]]")
    with pytest.raises(TooSlow), within(0.5, "the old pattern"):
        old.sub(" ", HOSTILE[0])


@pytest.mark.parametrize("name", sorted(MATCHERS))
def test_matching_a_hostile_cell_finishes(name: str) -> None:
    fn = MATCHERS[name]
    for n, cell in enumerate(HOSTILE):
        with within(BUDGET, f"{name} on hostile cell #{n} ({cell[:12]!r}…)"):
            fn(cell)


def test_header_key_still_removes_units() -> None:
    assert _cells.header_key("Net expenditure (£000)") == "net expenditure"
    assert _cells.header_key("Gross (£ thousand) [note 1]") == "gross note 1"
    assert _cells.header_key("Spend (see note £000") == "spend see note"
    assert _cells.header_key("Spend (all services)") == "spend all services"
    assert _cells.header_key("(000(000") == "000 000"  # never closed: no unit in brackets


def test_labels_are_still_split_from_their_numbers() -> None:
    assert pesa.split_number("  7.1  Police services   ") == ("7.1", "Police services")
    assert pesa_workbook.split_code("10.B Social protection ") == ("10.B", "Social protection")
    assert pesa_workbook.split_code("1 a" + " " * N + "b")[0] == "1"
    assert pesa_workbook.unit_sentence("Figures in this table are shown in £ million")
    assert not pesa_workbook.unit_sentence("Figures\nare shown")  # not on one line
    assert pesa_workbook._NOTE.sub("", "Health  [note 3]") == "Health"


@pytest.mark.parametrize("kind", ["council", "nhs", "police", "ndpb", "generic", "payments"])
def test_a_file_of_hostile_headers_is_read_or_refused_in_time(
    kind: str, db: Path, tmp_path: Path
) -> None:
    path = tmp_path / f"{kind}.csv"
    header = [HOSTILE[0], "1 a" + " " * N + "b", "£" + " " * N + "x", "Service", "Amount"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerow(["x", "1", "2", "Education", "10"])
        writer.writerow(HOSTILE[20:25])
    with within(30, f"ingest {kind}"):
        try:
            api.ingest(kind, [path], db, org="Testshire Council", dry_run=True)
        except PlacecountError as exc:
            assert exc.exit_code == 2, exc
