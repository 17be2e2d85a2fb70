"""Rounding a source's lines to pence once, so that they add up to the rounded total.

A PESA line in £ million with nine decimals, times a place's share, is a fraction of a
penny. Rounding each line on its own lets the pennies drift: 1,500 lines can add up to
several pounds more or less than the exact total rounded. Here the exact total is
rounded once (half to even); each line gets its exact amount rounded down, and the pence
left over go one each to the lines with the largest remainders. Every line is within a
penny of its exact amount, and the lines add up to the rounded total exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def round_once(exact: Sequence[Fraction]) -> list[int]:
    """Whole pence for exact amounts (in pence), adding up to their total rounded half-even.

    >>> round_once([Fraction(1, 3)] * 3)
    [1, 0, 0]
    >>> round_once([Fraction(5, 2), Fraction(-3, 2)])
    [2, -1]
    """
    if not exact:
        return []
    total = round(sum(exact, Fraction(0)))  # round() on a Fraction rounds half to even
    out = [math.floor(x) for x in exact]
    leftover = total - sum(out)
    # Largest remainder first; ties by position, so the result is the same on every run.
    order = sorted(range(len(exact)), key=lambda i: (out[i] - exact[i], i))
    for i in order[:leftover]:
        out[i] += 1
    return out
