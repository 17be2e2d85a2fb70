"""The count's tables fitted to a terminal: figures are never cut.

A rich table squeezed into a narrow terminal cuts its cells (``15,499,75…``). Here each
figure column is as wide as its widest figure and never narrower; names wrap; and when
the table is still too wide, whole columns are left out by priority (the NDPB memo first,
then the sources' columns from the smallest, then per head), with a line saying which
were left out and how to see them. ``--unit £000`` or ``£m`` shows the figures in a bigger
unit, for display only: the stored figures, and every other format, stay exact to the
penny; the shown figures are rounded together (largest remainder) so each column adds up.

>>> unit_of("£m").places
1
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.table import Table

from .errors import InputError
from .escape import visible
from .render import economic_columns, money, percent
from .rounding import scaled


@dataclass(frozen=True)
class Unit:
    """How figures are shown: '£' to the penny, '£000' in whole thousands, '£m' to £0.1m."""

    name: str
    divisor: int  # pence per shown unit
    places: int


UNITS = {
    "£": Unit("£", 1, 2),
    "£000": Unit("£000", 100_000, 0),
    "£m": Unit("£m", 100_000_000, 1),
}
_ALIASES = {
    "pounds": "£",
    "gbp": "£",
    "thousands": "£000",
    "000": "£000",
    "millions": "£m",
    "m": "£m",
}


def unit_of(text: str | None) -> Unit:
    """A unit from ``--unit``: £, £000 or £m (or pounds, thousands, millions)."""
    name = "£" if text is None else _ALIASES.get(text.strip().lower(), text.strip())
    if name not in UNITS:
        raise InputError.one("bad-option", f"--unit {text!r}: use £, £000 or £m.")
    return UNITS[name]


def _pence(text: str | None) -> int:
    return 0 if text is None else int(Decimal(text) * 100)


def column_figures(values: list[str | None], total: str | None, unit: Unit) -> list[str]:
    """The column's figures and then its total, as shown in ``unit``."""
    if unit.divisor == 1:
        return [money(v) for v in values] + [money(total)]
    shown = scaled([_pence(v) for v in values], unit.divisor, unit.places)
    whole = scaled([_pence(total)], unit.divisor, unit.places)[0]
    return [f"{Decimal(s):,.{unit.places}f}" for s in shown] + [
        f"{Decimal(whole):,.{unit.places}f}"
    ]


@dataclass
class _Column:
    head: str
    cells: list[str]  # the rows' cells, then the footer
    figure: bool
    priority: int  # 0: always shown; higher numbers are left out first
    style: str | None = None

    def width(self) -> int:
        """A figure column is as wide as its widest cell; a name column can wrap to 14."""
        head = max(len(w) for w in self.head.split()) if self.head else 0
        if self.figure:
            return max([head, min(len(self.head), 12), *(len(c) for c in self.cells)])
        return min(max([head, *(len(c) for c in self.cells)]), 14) if self.head else 5

    def header(self) -> str:
        """The heading wrapped to the column's width (a figure column does not wrap itself)."""
        import textwrap

        if not self.figure:
            return self.head
        return "\n".join(textwrap.wrap(self.head, self.width(), break_long_words=False))


def _fit(columns: list[_Column], width: int) -> tuple[list[_Column], list[_Column]]:
    """The columns that fit ``width`` (a rich box: 3 characters a column, plus 1), and those
    left out, dropped highest priority number first, rightmost first among equals."""
    kept = list(columns)
    dropped: list[_Column] = []

    def needed() -> int:
        return sum(c.width() for c in kept) + 3 * len(kept) + 1

    while needed() > width:
        candidates = [c for c in kept if c.priority > 0]
        if not candidates:
            break
        worst = max(candidates, key=lambda c: (c.priority, kept.index(c)))
        kept.remove(worst)
        dropped.append(worst)
    return kept, dropped


def _table(title: str, columns: list[_Column], width: int, rows: int) -> tuple[Table, list[str]]:
    kept, dropped = _fit(columns, width)
    table = Table(title=title, show_footer=True, width=None)
    for c in kept:
        if c.figure:
            table.add_column(
                c.header(),
                footer=c.cells[-1],
                justify="right",
                no_wrap=True,
                min_width=c.width(),
                style=c.style,
                overflow="fold",
            )
        else:
            table.add_column(c.head, footer=c.cells[-1], overflow="fold", ratio=None)
    for i in range(rows):
        table.add_row(*[c.cells[i] for c in kept])
    notes = []
    if dropped:
        names = ", ".join(c.head for c in sorted(dropped, key=columns.index))
        notes.append(
            f"Not shown at this width: {names} (a wider terminal, --unit £m, or "
            "--format csv/md/xlsx/html shows every column)."
        )
    return table, notes


def report_tables(result: dict[str, Any], width: int, unit: Unit) -> tuple[list[Table], list[str]]:
    """The count's two tables (by source; current and capital) fitted to ``width``, and
    notes naming any columns left out."""
    place = result.get("place") or {}
    title = f"Public spending by COFOG {result['by']}"
    if place:
        title = f"{place['name']} {place['financial_year']}: {title[0].lower()}{title[1:]}"
    if result.get("theme"):
        title += f" — theme {result['theme']['name']!r}"
    if unit.name != "£":
        title += f" ({unit.name}, rounded for display)"
    rows = result["rows"]
    t = result["totals"]
    u = unit.name
    # shown as escapes by the console: measured as shown
    names = [visible(r["cofog_name"]) for r in rows] + ["Total"]
    codes = [r["cofog_code"] or "—" for r in rows] + [""]
    cols = [
        _Column("COFOG", codes, figure=False, priority=0),
        _Column("Function", names, figure=False, priority=0),
    ]
    by_size = sorted(result["kinds"], key=lambda k: Decimal(t["by_kind_gbp"][k]))
    for k in result["kinds"]:
        figs = column_figures([r["by_kind_gbp"][k] for r in rows], t["by_kind_gbp"][k], unit)
        # the smallest source is left out first
        prio = 3 + len(by_size) - by_size.index(k)
        cols.append(_Column(f"{result['kind_titles'][k]} {u}", figs, True, prio))
    cols.append(
        _Column(
            f"Total {u}",
            column_figures([r["total_gbp"] for r in rows], t["total_gbp"], unit),
            True,
            0,
            "bold",
        )
    )
    if t.get("per_head_gbp") is not None:
        per_head = [money(r["per_head_gbp"]) for r in rows] + [money(t["per_head_gbp"])]
        cols.append(_Column("£ per head", per_head, True, 2))
    shares = [percent(r["share_of_total"]) for r in rows] + ["100.0%" if rows else ""]
    cols.append(_Column("Share", shares, True, 1))
    if result.get("memo_title"):
        memo = column_figures([r["ndpb_memo_gbp"] for r in rows], t["ndpb_memo_gbp"], unit)
        cols.append(_Column(f"{result['memo_title']} {u}", memo, True, 99, "dim"))
    first, notes = _table(title, cols, width, len(rows))

    hl = result["headline"]
    econ_cols = [
        _Column("COFOG", codes, figure=False, priority=0),
        _Column("Function", names, figure=False, priority=0),
    ]
    for i, (key, head) in enumerate(economic_columns(result)):
        figs = column_figures([r[key] for r in rows], t[key], unit)
        econ_cols.append(_Column(head.replace("£", u), figs, True, 3 + i))
    econ_cols.append(
        _Column(
            f"Total {u}",
            column_figures([r["total_gbp"] for r in rows], t["total_gbp"], unit),
            True,
            0,
            "bold",
        )
    )
    second, more = _table(
        f"Current and capital spending (the headline is {hl['basis']} spending)",
        econ_cols,
        width,
        len(rows),
    )
    return [first, second], notes + [n for n in more if n not in notes]
