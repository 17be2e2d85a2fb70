"""Cell-level parsing: amounts, units, header text and financial years.

Everything here is pure and exact: amounts become :class:`decimal.Decimal`, never
floats, so a pound read is the pound stored.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Literal

AmountKind = Literal["number", "decimal-comma", "nil", "blank", "not-available", "bad"]

_DASHES = {"-", "–", "—", "−", "--"}
_NOT_AVAILABLE = {"..", "...", "n/a", "na", "n.a.", "x", "c", "*", ":", "nk", "not available"}
#: Why a published marker leaves its line out: GOV.UK's symbols for statistics
#: ([x] not available, [c] confidential, [z] not applicable, [low] too small to show)
#: and the older ones ('..', '*', 'n/a').
MARKER_REASONS: dict[str, str] = {
    "[x]": "suppressed [x] (not available)",
    "x": "suppressed x (not available)",
    "[c]": "suppressed [c] (confidential)",
    "c": "suppressed c (confidential)",
    "[z]": "not applicable [z]",
    "[low]": "suppressed [low] (too small to show)",
    "[u]": "suppressed [u] (low reliability)",
    "[w]": "suppressed [w] (no data)",
    "..": "not available '..'",
    "...": "not available '...'",
    "*": "suppressed '*'",
    ":": "not available ':'",
    "n/a": "not available 'n/a'",
    "na": "not available 'na'",
    "n.a.": "not available 'n.a.'",
    "nk": "not known 'nk'",
    "not available": "not available",
}
_SUBSUMED = re.compile(r"^subsumed\b", re.IGNORECASE)
#: A comma that can only be a decimal comma: two digits after it and no other comma.
#: Digits are ASCII only: Arabic-Indic or full-width digits are text (Decimal would take
#: them, and no UK body publishes them).
_DECIMAL_COMMA = re.compile(r"^[0-9]+,[0-9]{2}$", re.ASCII)
_MINUS = "-−–—"
_PLAIN = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$", re.ASCII)
_GROUPED = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?$", re.ASCII)
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
#: Thousands grouped by spaces, as SI writes them: 1 234 567.
_SPACE_GROUPED = re.compile(r"^[0-9]{1,3}(?: [0-9]{3})+(?:\.[0-9]*)?$", re.ASCII)


#: The most digits a share or rate may be written with: more is no measurement, and an
#: exact fraction of ``1e-999999999`` would take minutes to make.
MAX_DIGITS = 30
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_EXPONENT = re.compile(r"[+-]?[0-9.]+[eE][+-]?[0-9]+", re.ASCII)


def plain_decimal(text: str) -> Decimal:
    """A share or rate written out plainly (``0.0724``, ``1``) as an exact Decimal.

    Raises ValueError saying why, to be put after the value in a message, for a number
    with an exponent (``1e-5``), with more than :data:`MAX_DIGITS` digits, or not a number:
    all are refused as text, before any arithmetic is done with them.
    """
    raw = text.strip()
    if _PLAIN_DECIMAL.fullmatch(raw):
        if sum(c.isdigit() for c in raw) > MAX_DIGITS:
            raise ValueError(f"has more than {MAX_DIGITS} digits: no share is known that finely")
        return Decimal(raw)
    if _EXPONENT.fullmatch(raw):
        raise ValueError("is written with an exponent: write the number out, e.g. 0.0724")
    raise ValueError("is not a number")


def parse_amount(value: object) -> tuple[AmountKind, Decimal | None]:
    """Read one amount cell the way a finance officer would.

    >>> parse_amount("(1,234)")
    ('number', Decimal('-1234'))
    >>> parse_amount("£1,234.50")
    ('number', Decimal('1234.50'))
    >>> parse_amount("–")
    ('nil', Decimal('0'))
    >>> parse_amount("[x]")
    ('not-available', None)
    >>> parse_amount("1241,32")  # two digits after the only comma: a decimal comma
    ('decimal-comma', Decimal('1241.32'))
    >>> parse_amount("(-5)")  # two signs: not an amount, never 5
    ('bad', None)
    """
    if value is None:
        return "blank", None
    if isinstance(value, bool) or isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        return "bad", None
    if isinstance(value, int):
        return "number", Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "bad", None
        # repr gives the shortest decimal that round-trips: 1234.567 stays 1234.567.
        return "number", Decimal(repr(value))
    if isinstance(value, Decimal):
        return ("number", value) if value.is_finite() else ("bad", None)
    text = _SPACES.sub(" ", str(value)).strip()
    if not text:
        return "blank", None
    if text in _DASHES:
        return "nil", Decimal(0)
    if text.lower() in _NOT_AVAILABLE or text.lower() in MARKER_REASONS or _SUBSUMED.match(text):
        return "not-available", None
    negative = bracketed = False
    if text.startswith("(") and text.endswith(")"):
        negative, bracketed, text = True, True, text[1:-1].strip()
    if text and text[0] in _MINUS:
        if bracketed:  # "(-5)": two signs, and which was meant cannot be known
            return "bad", None
        negative, text = True, text[1:].strip()
    text = text.replace("£", "").strip()
    if text and text[0] in _MINUS:
        if negative:  # "-£-5", "(£-5)"
            return "bad", None
        negative, text = True, text[1:].strip()
    if " " in text:
        if not _SPACE_GROUPED.match(text):  # "12 34": two numbers, or one misread; not 1234
            return "bad", None
        text = text.replace(" ", "")
    if _GROUPED.match(text):
        text = text.replace(",", "")
    elif _DECIMAL_COMMA.match(text):
        number = Decimal(text.replace(",", "."))
        return "decimal-comma", -number if negative else number
    if not _PLAIN.match(text):
        return "bad", None
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already guards this
        return "bad", None
    return "number", -number if negative else number


def missing_reason(value: object) -> str | None:
    """Why a published marker in an amount cell leaves its line out, or None.

    >>> missing_reason("[c]")
    'suppressed [c] (confidential)'
    >>> missing_reason("Subsumed into line 310")
    "subsumed into another line: 'Subsumed into line 310'"
    """
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    reason = MARKER_REASONS.get(text.lower())
    if reason is not None:
        return reason
    if _SUBSUMED.match(text):
        return f"subsumed into another line: {text[:60]!r}"
    return None


Units = Literal["pounds", "thousands", "millions"]
UNIT_FACTOR: dict[str, int] = {"pounds": 1, "thousands": 1_000, "millions": 1_000_000}

# "\s*(?:'\s*)?", not "\s*'?\s*": two runs of spaces side by side are tried at every split
# of a long run of spaces (quadratic, issue #14); both say the same.
_MILLIONS = re.compile(
    r"£\s*(?:'\s*)?(?:m\b|mn\b|mill?\b|millions?\b|000\s*(?:,\s*)?000\b)|\bmillions?\b"
    r"|\b£?m\s*\)|\(£?m\)",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(
    r"£\s*(?:'\s*)?(?:000s?\b|k\b|thousands?\b)|\bthousands?\b|'000s?\b|\(000s?\)|\b000s\b",
    re.IGNORECASE,
)
_POUNDS = re.compile(r"£|\bpounds?\b|\bgbp\b", re.IGNORECASE)


def detect_units(text: str) -> Units | None:
    """The unit a header or title states, if any.

    >>> detect_units("Net current expenditure (£ thousand)")
    'thousands'
    >>> detect_units("£m, 2008-09 prices")
    'millions'
    """
    if _MILLIONS.search(text):
        return "millions"
    if _THOUSANDS.search(text):
        return "thousands"
    if _POUNDS.search(text):
        return "pounds"
    return None


# A bracket and what follows it up to the next closing bracket (or the end) is taken whole
# and kept or removed by _unit_token: a pattern that looked for the unit inside the
# brackets backtracked cubically on "(000(000(000…" with no closing bracket (issue #14).
_UNIT_TOKENS = re.compile(r"[(\[][^)\]]*(?:[)\]]|\Z)|£\s*'?\s*\w*|'000s?", re.IGNORECASE)
_OTHER_UNIT_TOKENS = re.compile(r"£\s*'?\s*\w*|'000s?", re.IGNORECASE)
_UNIT_WORD = re.compile(r"£|000|thousand|million", re.IGNORECASE)


def _unit_token(m: re.Match[str]) -> str:
    token = m.group(0)
    if token[0] not in "([":
        return " "
    if token[-1] not in ")]":  # never closed: not a bracketed unit, but may hold '£000'
        return token[0] + _OTHER_UNIT_TOKENS.sub(" ", token[1:])
    return " " if _UNIT_WORD.search(token) else token


_NON_ALNUM = re.compile(r"[^0-9a-z.]+")
_APOSTROPHES = re.compile(r"['’‘`]")


def normalise(text: object) -> str:
    """Text as compared for matching: lower case, '&' as 'and', punctuation as spaces.

    >>> normalise("Children's  Social Care & Families")
    'childrens social care and families'
    """
    s = "" if text is None else str(text)
    s = _APOSTROPHES.sub("", s.lower()).replace("&", " and ")
    s = _NON_ALNUM.sub(" ", s)
    # a dot is kept inside numbers (7.1) but not at a word's end ("n.e.c." → "n e c")
    s = re.sub(r"(?<![0-9])\.|\.(?![0-9])", " ", s)
    return " ".join(s.split())


def header_key(text: object) -> str:
    """A header as matched against a schema's aliases: units removed, then normalised."""
    return normalise(_UNIT_TOKENS.sub(_unit_token, "" if text is None else str(text)))


_YEAR = re.compile(r"\b((?:19|20)\d\d)\s*[-/–]\s*((?:19|20)?\d\d)\b")


def financial_year(text: object) -> str | None:
    """A financial year in the form 2008-09, from 2008-09, 2008/09, 2008-2009 or 2008/2009."""
    if text is None:
        return None
    m = _YEAR.search(str(text))
    if not m:
        return None
    first = int(m.group(1))
    second = m.group(2)
    if len(second) == 4:
        ok = int(second) == first + 1
    else:
        ok = int(second) == (first + 1) % 100
    if not ok:
        return None
    second_full = first + 1
    return f"{first}-{second_full % 100:02d}"


def cell_text(value: object) -> str:
    """A cell as text: whole numbers without '.0', dates as ISO, None as ''."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value).strip()
