"""Units proved, never assumed.

A sheet's unit (pounds, £ thousand, £ million) comes from what the file says: the
amount column's header, the title rows, a notes or metadata sheet ("Levels of
expenditure shown are in £'000s"), or cells that carry their unit ("£1,021,386,000").
When the file says nothing, the candidates are tested against what a real body could
spend a head: a council's service spending is some £20 to £15,000 a resident, never
£2 and never £2 million. Exactly one plausible candidate proves the unit, and the
summary says it was proved so; otherwise the ingest stops with the evidence and asks
for ``--units``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from ..errors import InputError, column_letter
from ..models import Limits
from ._cells import UNIT_FACTOR

#: What one body of each kind could plausibly spend a year, in £ a head of the
#: population it serves. Each range spans less than 1,000×, so at most one of the three
#: units (each 1,000× the last) falls inside it.
PLAUSIBLE_PER_HEAD: dict[str, tuple[Decimal, Decimal]] = {
    # a district's services (~£100) to a metropolitan borough's with schools (~£2,500)
    "council": (Decimal(20), Decimal(15_000)),
    # an ICB or PCT commissions some £1,500–£3,000 a head
    "nhs": (Decimal(50), Decimal(20_000)),
    # police forces spend some £150–£600 a head; a fire authority some £40
    "police": (Decimal(20), Decimal(5_000)),
    # a region's identifiable spending is some £8,000–£15,000 a head
    "pesa": (Decimal(50), Decimal(30_000)),
    # the NDPBs' spending in a place: some £10–£300 a head
    "ndpb": (Decimal(1), Decimal(800)),
    # a council's or an ICB's payments over £500: some £40–£2,000 a head
    "payments": (Decimal(3), Decimal(2_990)),
    "generic": (Decimal(1), Decimal(800)),
}

#: No real body spends more than this a head of the people it serves: a count or a source
#: above it has been read in the wrong unit.
MAX_PER_HEAD = Decimal(50_000)

_UNIT_NAMES = {"pounds": "£", "thousands": "£ thousand", "millions": "£ million"}


def per_head_text(pounds: Decimal) -> str:
    """'£1,234 a head' (whole pounds below £100, pence only when under £1)."""
    if abs(pounds) < 1:
        return f"£{pounds:,.2f} a head"
    return f"£{pounds:,.0f} a head"


def per_head_by_unit(total: Decimal, people: int) -> dict[str, Decimal]:
    """The total (as written in the file) per head under each candidate unit."""
    return {u: total * f / people for u, f in UNIT_FACTOR.items()}


def prove_units(
    kind: str,
    total: Decimal,
    people: int | None,
    *,
    file_name: str,
    sheet: str | None,
    what: str = "the lines kept",
    whose: str = "the place",
) -> tuple[str, str]:
    """The unit a sheet with no stated unit must be in, from plausibility, or an error.

    ``total`` is the sum of the amounts kept, as numbers written in the file; ``people``
    is the population the source serves (the place's, or the region's for PESA).

    >>> prove_units("council", Decimal(1_500_000), 1_000_000, file_name="f.xlsx", sheet=None)[0]
    'thousands'

    """
    lo, hi = PLAUSIBLE_PER_HEAD.get(kind, PLAUSIBLE_PER_HEAD["generic"])
    if not people or people <= 0 or total == 0:
        raise _not_proved(
            kind,
            file_name,
            sheet,
            "no unit is stated in the header, the title or a notes sheet, and there is no "
            "population to test the candidates against"
            if not people
            else "no unit is stated in the header, the title or a notes sheet, and the "
            "lines add up to nothing",
        )
    heads = per_head_by_unit(abs(total), people)
    fits = [u for u, v in heads.items() if lo <= v <= hi]
    described = "; ".join(f"in {_UNIT_NAMES[u]}: {per_head_text(v)}" for u, v in heads.items())
    if len(fits) != 1:
        raise _not_proved(
            kind,
            file_name,
            sheet,
            f"no unit is stated, and {what} ({total:,} as written) give {described} of "
            f"{whose} ({people:,} people); a {kind} source plausibly spends "
            f"£{lo:,}–£{hi:,} a head, which "
            + ("no unit gives" if not fits else "more than one unit gives"),
        )
    unit = fits[0]
    others = ", ".join(
        f"in {_UNIT_NAMES[u]} it would be {per_head_text(v)}" for u, v in heads.items() if u != unit
    )
    return unit, (
        f"proved by plausibility: {per_head_text(heads[unit])} of {whose} in "
        f"{_UNIT_NAMES[unit]} ({others})"
    )


def _not_proved(kind: str, file_name: str, sheet: str | None, evidence: str) -> InputError:
    return InputError.one(
        "unit-not-proved",
        f"the unit of the amounts cannot be proved: {evidence}.",
        file=file_name,
        sheet=sheet,
        note="Say which with --units pounds|thousands|millions.",
    )


def implausible_unit_hint(total_pence: int, people: int, kind: str, units: str) -> str | None:
    """For a source whose total is beyond any real body a head: the unit that would fit."""
    pounds = Decimal(total_pence) / 100
    lo, hi = PLAUSIBLE_PER_HEAD.get(kind, PLAUSIBLE_PER_HEAD["generic"])
    for other, factor in UNIT_FACTOR.items():
        if other == units:
            continue
        ratio = Decimal(factor) / UNIT_FACTOR[units]
        scaled = abs(pounds * ratio) / people
        if lo <= scaled <= hi:
            size = f"{1 / ratio:,.0f}× smaller" if ratio < 1 else f"{ratio:,.0f}× larger"
            return (
                f"read in {_UNIT_NAMES[other]} ({size}) it would be {per_head_text(scaled)}, "
                f"plausible for {kind}: if so, say --units {other}"
            )
    return None


#: Sheets that hold notes about the data rather than the data: where a unit may be stated.
_NOTES_SHEET = re.compile(
    r"note|meta ?data|front|cover|contents|read ?me|about|information|variables|guidance|"
    r"definitions|introduction",
    re.IGNORECASE,
)
#: A notes cell that states the unit of the figures, not of something else.
_UNIT_SENTENCE = re.compile(
    r"\b(figures?|expenditure|spending|amounts?|values?|units?|data|shown|numbers|levels?)\b",
    re.IGNORECASE,
)
#: An amount written in a note ("a difference of £40 million") says nothing of the unit.
#: Spaces before it are part of it only after a '£': "£?\s*" was tried from every space of a
#: long run (quadratic, issue #14); the match is replaced by a space either way.
_AMOUNT_IN_TEXT = re.compile(
    r"(?:£\s*)?(?<![\d.,])(?!0{3}s?\b)\d[\d,.]*\s*"
    r"(?:bn|billion|m|mn|million|millions|k|thousand|thousands)?\b",
    re.IGNORECASE,
)
_PER_HEAD = re.compile(r"£\s*(?:/|per)\s*(?:head|capita|person)|\bper (?:head|capita)\b", re.I)
_NOTES_ROWS = 200
_NOTES_SHEETS = 6


def notes_units(path: Path, limits: Limits) -> tuple[str, str] | None:
    """The unit a workbook's notes or metadata sheet states for its figures, if one does.

    "Levels of expenditure shown are in £'000s" on a sheet named Metadata settles the unit
    of a data sheet that says nothing itself. Statements that disagree settle nothing.
    """
    from ._cells import cell_text, detect_units
    from ._grid import EXCEL_SUFFIXES, _open_workbook, read_excel_grid
    from ._zipscan import check_unzipped

    if path.suffix.lower() not in EXCEL_SUFFIXES:
        return None
    try:
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            check_unzipped(path, limits)
        wb = _open_workbook(path)
        names = [n for n in wb.sheet_names if _NOTES_SHEET.search(n)][:_NOTES_SHEETS]
        found: list[tuple[str, str]] = []
        for name in names:
            grid = read_excel_grid(path, name, wb, limits)
            for r, row in enumerate(grid.head(_NOTES_ROWS)):
                for c, value in enumerate(row):
                    text = cell_text(value)
                    if not text or len(text) > 400 or not _UNIT_SENTENCE.search(text):
                        continue
                    unit = detect_units(_AMOUNT_IN_TEXT.sub(" ", text.replace("'000", "£'000")))
                    if unit is not None and not _PER_HEAD.search(text):
                        found.append((unit, f"sheet {name!r} {column_letter(c)}{r + 1}: {text!r}"))
    except InputError:
        return None  # the data sheet's own reading gives the plain message
    units = {u for u, _ in found}
    if len(units) != 1:
        return None
    return found[0]


def check_per_head(
    total_pence: int,
    population: int | None,
    kind: str,
    *,
    file_name: str,
    sheet: str | None,
    units: str,
    units_from: str,
) -> None:
    """Refuse a source whose total is beyond what any real body spends a head of the place.

    A pounds file read as £000 gives a count 1,000 times too high; no council, NHS body or
    department spends over £50,000 a head, so such a total is a misreading, not a finding.
    """
    if not population or population <= 0:
        return
    per_head = Decimal(abs(total_pence)) / 100 / population
    if per_head <= MAX_PER_HEAD:
        return
    hint = implausible_unit_hint(total_pence, population, kind, units)
    raise InputError.one(
        "implausible-total",
        f"the lines kept add up to £{Decimal(total_pence) / 100:,.2f}, {per_head_text(per_head)} "
        f"of the place's {population:,} people: beyond any real body (over "
        f"£{MAX_PER_HEAD:,} a head). The amounts were read in {_UNIT_NAMES[units]} "
        f"(from {units_from}).",
        file=file_name,
        sheet=sheet,
        note=(hint[0].upper() + hint[1:] + "." if hint else "Check the unit with --units.")
        + " A national or regional total needs the place's share (--share).",
    )
