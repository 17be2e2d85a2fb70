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


def flows_tables(result: dict[str, Any], width: int) -> tuple[list[Any], list[str]]:
    """The flows command's tables (paths, what the books say, streams, sensitivity) fitted
    to ``width`` as the count's are: figures whole, names wrapped, columns left out by
    priority with a note; then the collapse what-if as a line."""
    rate = percent(result["method"]["rate"])
    out: list[Any] = []
    notes: list[str] = []

    def add(title: str, cols: list[_Column], rows: int, footer: bool) -> None:
        table, said = _table(title, cols, width, rows)
        table.show_footer = footer
        out.append(table)
        notes.extend(n for n in said if n not in notes)

    def money_col(head: str, rows: list[dict[str, Any]], key: str, total: str | None) -> _Column:
        return _Column(head, [money(r[key]) for r in rows] + [money(total)], True, 0)

    paths, t = result["paths"], result["totals"]
    share = "administration_share_of_delivered"
    add(
        result["title"],
        [
            _Column("Stream", [p["stream"] for p in paths] + [""], False, 4),
            _Column("Path", [p["path"] for p in paths] + ["Total"], False, 0),
            _Column("Hand-overs", [str(p["hand_overs"]) for p in paths] + [""], True, 2),
            _Column("Measured", [p["measured_at"] for p in paths] + [""], False, 3),
            money_col("In £", paths, "in_gbp", t["in_gbp"]),
            money_col("Delivered £", paths, "delivered_gbp", t["delivered_gbp"]),
            money_col("Administration £", paths, "administration_gbp", t["administration_gbp"]),
            _Column(
                "Admin / delivered",
                [percent(p[share]) for p in paths] + [percent(t[share])],
                True,
                1,
            ),
        ],
        len(paths),
        footer=True,
    )
    books = result.get("books") or []
    if books:
        add(
            "What the books say each body kept, and the rule beside it",
            [
                _Column("Stream", [b["stream"] for b in books] + [""], False, 4),
                _Column("Body", [b["body"] for b in books] + [""], False, 0),
                money_col("In £", books, "in_gbp", None),
                money_col("Out £", books, "out_gbp", None),
                money_col("Kept (books) £", books, "kept_gbp", None),
                _Column(f"Rule at {rate} £", [money(b["rule_gbp"]) for b in books] + [""], True, 1),
            ],
            len(books),
            footer=False,
        )
    streams = result["streams"]
    add(
        f"By stream, at {rate} per hand-over",
        [
            _Column("Stream", [s["stream"] for s in streams] + ["Total"], False, 0),
            _Column("Paths", [str(s["paths"]) for s in streams] + [str(t["paths"])], True, 2),
            money_col("In £", streams, "in_gbp", t["in_gbp"]),
            money_col("Delivered £", streams, "delivered_gbp", t["delivered_gbp"]),
            money_col("Administration £", streams, "administration_gbp", t["administration_gbp"]),
            _Column(
                "Admin / delivered",
                [percent(s[share]) for s in streams] + [percent(t[share])],
                True,
                1,
            ),
        ],
        len(streams),
        footer=True,
    )
    sens = result["sensitivity"]
    if sens:
        add(
            "Sensitivity to the rate",
            [
                _Column("Rate", [percent(s["rate"]) for s in sens] + [""], True, 0),
                money_col("In £", sens, "in_gbp", None),
                money_col("Delivered £", sens, "delivered_gbp", None),
                money_col("Administration £", sens, "administration_gbp", None),
                _Column("Admin / delivered", [percent(s[share]) for s in sens] + [""], True, 1),
            ],
            len(sens),
            footer=False,
        )
    if result.get("collapse"):
        from .render import collapse_line

        out.append(collapse_line(result["collapse"]))
    return out, notes
