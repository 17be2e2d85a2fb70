"""``placecount compare``: counts side by side, added to the app of :mod:`placecount.cli`.

The command builds its inputs, calls :func:`placecount.compare.compare` and renders the
result with the same module. Data goes to stdout, messages to stderr.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .cli import _emit, _fail, _run, app


class CompareFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    md = "md"
    xlsx = "xlsx"
    html = "html"


@app.command()
def compare(
    counts: Annotated[
        list[Path],
        typer.Argument(
            metavar="COUNT...",
            show_default=False,
            help="Two or more counts: manifest.json or report JSON files written by "
            "`placecount run`, or placecount.toml project files (built afresh).",
        ),
    ],
    by: Annotated[
        str, typer.Option("--by", metavar="LEVEL", help="Rows: division, group or class.")
    ] = "division",
    prices: Annotated[
        str,
        typer.Option(
            "--prices", metavar="BASIS", help="nominal (cash, the default) or real (deflated)."
        ),
    ] = "nominal",
    base_year: Annotated[
        str | None,
        typer.Option(
            "--base-year",
            metavar="YYYY-YY",
            help="With --prices real: the year whose prices every figure is restated in "
            "(default: the deflator table's base year).",
        ),
    ] = None,
    deflators: Annotated[
        Path | None,
        typer.Option(
            "--deflators",
            metavar="FILE",
            help="A GDP deflator table: HM Treasury's CSV as published, or "
            "financial_year,deflator.",
        ),
    ] = None,
    benchmarks: Annotated[
        bool,
        typer.Option(
            "--benchmarks",
            help="Beside each place's £ per head, its region's and England's, from the "
            "PESA / CRA table the count ingests.",
        ),
    ] = False,
    england_population: Annotated[
        int | None,
        typer.Option(
            "--england-population",
            metavar="N",
            min=1,
            help="England's population, for its £ per head.",
        ),
    ] = None,
    mixed: Annotated[
        bool,
        typer.Option(
            "--mixed",
            help="Compare counts made differently (method, mapping version) all the same; "
            "every output lists the differences.",
        ),
    ] = False,
    fmt: Annotated[
        CompareFormat | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="table, csv, json, md, xlsx or html (default: from -o, else table).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE.")
    ] = None,
) -> None:
    """Counts side by side by COFOG code: £, £ per head, share, and the change.

    Example: placecount compare a/manifest.json b/manifest.json --prices real
    --base-year 2022-23 --deflators gdp_deflators.csv
    """
    from . import compare as cmp

    if fmt is not None:
        chosen = fmt.value
    elif output is not None:
        found = cmp.SUFFIXES.get(output.suffix.lower())
        if found is None:
            _fail(f"cannot tell the format of {output.name!r}: add --format.")
        chosen = found
    else:
        chosen = "table"
    if chosen == "xlsx" and output is None:
        _fail("xlsx is a file format: give -o FILE.xlsx.")
    result = _run(
        lambda: cmp.compare(
            counts,
            by=by,
            prices=prices,
            base_year=base_year,
            deflators=deflators,
            mixed=mixed,
            benchmarks=benchmarks,
            england_population=england_population,
        ),
        as_json=chosen == "json",
    )
    _emit(cmp.output(result, chosen), output)
