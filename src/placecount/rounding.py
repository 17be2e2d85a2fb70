"""Rounding, once and in one place, so every table adds up and every format agrees.

The count's amounts are whole pence and add up exactly; what is rounded is what cannot be
exact: a share of the total, a figure per head, an amount grossed up by the 20% rule, a
figure shown in £m. Each is rounded here, once, from the exact value (a Fraction), and the
parts of a whole are rounded together by the largest-remainder method: the parts' rounded
values add up to the whole's rounded value, so a column of shares adds to 100.0% and a
column of per-head figures adds to the total per head. Every format (table, CSV, JSON,
Markdown, workbook, HTML) prints the decimal strings made here and rounds nothing again.

>>> largest_remainder([Fraction(1, 3)] * 3)
[0, 0, 1]
>>> shares([1, 1, 1])
['0.333', '0.333', '0.334']
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

#: A share is kept to 0.1% (3 decimals of a fraction): what every format prints.
SHARE_PLACES = 3


def round_half_up(value: Fraction) -> int:
    """The nearest whole number, halves away from zero (as a printed table rounds)."""
    n = abs(value)
    whole = int(n + Fraction(1, 2))
    return whole if value >= 0 else -whole


def largest_remainder(exact: Sequence[Fraction], total: int | None = None) -> list[int]:
    """Whole numbers, one per exact value, that add up to ``total`` (by default the exact
    sum rounded half-up): each value is floored, then the ones with the largest remainders
    get one more until the sum is reached. Ties go to the larger value, then the first."""
    floors = [v.numerator // v.denominator for v in exact]
    target = round_half_up(sum(exact, Fraction(0))) if total is None else total
    rest = target - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), -abs(exact[i]), i))
    if rest >= 0:
        for i in order[:rest]:
            floors[i] += 1
    else:  # only when a total is forced below the floors' sum
        for i in reversed(order[: len(order)]):
            if rest == 0:
                break
            floors[i] -= 1
            rest += 1
    return floors


def _decimal(units: int, places: int) -> str:
    return str(Decimal(units).scaleb(-places).quantize(Decimal(1).scaleb(-places)))


def fraction_text(value: Fraction, places: int) -> str:
    """An exact value as a decimal string to ``places`` decimals, half-up:
    fraction_text(Fraction(-2, 3), 1) == '-0.7'."""
    return _decimal(round_half_up(value * 10**places), places)


def share(part: int, whole: int) -> str | None:
    """One share of a whole, to 0.1%, e.g. share(1, 8) == '0.125'; None when the whole is 0."""
    if whole == 0:
        return None
    return _decimal(round_half_up(Fraction(part, whole) * 10**SHARE_PLACES), SHARE_PLACES)


def shares(
    parts: Sequence[int | Fraction], whole: int | Fraction | None = None
) -> list[str | None]:
    """The parts' shares of their whole (by default their sum) to 0.1%, adding up to 100.0%
    when the parts make up the whole."""
    whole = sum(parts) if whole is None else whole
    if whole == 0:
        return [None] * len(parts)
    scale = 10**SHARE_PLACES
    exact = [Fraction(p, whole) * scale for p in parts]
    total = scale if sum(parts) == whole else None
    return [_decimal(u, SHARE_PLACES) for u in largest_remainder(exact, total)]


def pence_per_head(pence: int | Fraction, population: int | None) -> int | None:
    """A figure per resident, in whole pence, half-up."""
    if not population:
        return None
    return round_half_up(Fraction(pence, population))


def per_heads(parts: Sequence[int | Fraction], population: int | None) -> list[int | None]:
    """Each part per resident in whole pence, adding up to the whole per resident."""
    if not population:
        return [None] * len(parts)
    return list(largest_remainder([Fraction(p, population) for p in parts]))


def pounds(pence: int | None) -> str | None:
    """Whole pence as a decimal string of pounds: 123456 → '1234.56'."""
    return None if pence is None else _decimal(pence, 2)


def scaled(values: Sequence[int], divisor: int, places: int) -> list[str]:
    """Pence shown in a bigger unit (£000: divisor 100_000, 0 places), rounded together so
    the shown figures add up to the shown total of the exact sum."""
    exact = [Fraction(v, divisor) * 10**places for v in values]
    return [_decimal(u, places) for u in largest_remainder(exact)]
