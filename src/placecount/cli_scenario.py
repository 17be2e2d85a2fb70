"""``placecount scenario`` and ``placecount journey``: deep dives priced and costed.

The commands are added to the app of :mod:`placecount.cli`; each builds its inputs,
calls one library function of :mod:`placecount.scenario` and renders the result with
:mod:`placecount.scenario_render` or :mod:`placecount.journey_render`. Data goes to
stdout, messages to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .cli import DbOption, _cannot_write, _check_output, _emit, _err_console, _fail, _run, app


class ScenarioFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"
    md = "md"


class JourneyFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"
    md = "md"


_SUFFIXES = {".csv": "csv", ".json": "json", ".md": "md", ".xlsx": "xlsx", ".txt": "table"}


def _format(chosen: str | None, output: Path | None, allowed: tuple[str, ...]) -> str:
    if chosen is not None:
        return chosen
    if output is None:
        return "table"
    fmt = _SUFFIXES.get(output.suffix.lower())
    if fmt is None or fmt not in allowed:
        _fail(f"cannot tell the format of {output.name!r}: add --format.")
    return fmt


OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE.")
]


@app.command()
def scenario(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            show_default=False,
            help="A scenario file, .yaml or .toml: items of A, B and C.",
        ),
    ],
    db: DbOption = Path("placecount.duckdb"),
    fmt: Annotated[
        ScenarioFormat | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="table, csv, json, xlsx or md (default: from -o, else table).",
        ),
    ] = None,
    output: OutputOption = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            metavar="FILE",
            help="Draw A, B + C and Y over the years: .svg, .png or .html.",
        ),
    ] = None,
    discount_rate: Annotated[
        str | None,
        typer.Option(
            "--discount-rate",
            metavar="RATE",
            help="Discount rate a year, e.g. 0.035 (default: the file's, else 0.035, the "
            "Green Book rate).",
        ),
    ] = None,
    optimism_bias: Annotated[
        str | None,
        typer.Option(
            "--optimism-bias",
            metavar="UPLIFT",
            help="Uplift on B and C, e.g. 0.15 (default: the file's, else 0).",
        ),
    ] = None,
) -> None:
    """Price a deep-dive proposition: A − (B + C) = Y by year, low / central / high.

    Example: placecount scenario examples/scenarios/older_people_dorset.yaml --chart y.svg
    """
    from . import scenario as sc

    chosen = _format(fmt.value if fmt else None, output, tuple(ScenarioFormat))
    if chosen == "xlsx" and output is None:
        _fail("xlsx is a file format: give -o FILE.xlsx.")
    _check_targets(output, chart)
    result = _run(
        lambda: sc.price(
            sc.load_scenario(file),
            db,
            discount_rate=discount_rate,
            optimism_bias=optimism_bias,
        ),
        as_json=chosen == "json",
    )
    from . import scenario_render as sr

    width = None if output is None and sys.stdout.isatty() else 200
    data = sr.scenario_output(result, chosen, width)
    _emit(data, output)
    if chosen != "table":  # the table prints them with its notes
        for warning in result["warnings"]:
            _err_console().print(f"warning: {warning}", style="yellow", markup=False)
    if chart is not None:
        _draw(lambda: sr.scenario_chart(result, chart), chart)


@app.command()
def journey(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            show_default=False,
            help="A journey file, .yaml or .toml: touchpoints, and optionally redesigned.",
        ),
    ],
    fmt: Annotated[
        JourneyFormat | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="table, csv, json, xlsx or md (default: from -o, else table).",
        ),
    ] = None,
    output: OutputOption = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            metavar="FILE",
            help="Draw the cost by agency (now and redesigned): .svg, .png or .html.",
        ),
    ] = None,
) -> None:
    """Cost a citizen's or family's journey through services, touchpoint by touchpoint.

    Example: placecount journey examples/scenarios/family_journey.yaml --chart family.svg
    """
    from . import scenario as sc

    chosen = _format(fmt.value if fmt else None, output, tuple(JourneyFormat))
    if chosen == "xlsx" and output is None:
        _fail("xlsx is a file format: give -o FILE.xlsx.")
    _check_targets(output, chart)
    result = _run(lambda: sc.cost_journey(sc.load_journey(file)), as_json=chosen == "json")
    from . import journey_render as jr

    width = None if output is None and sys.stdout.isatty() else 200
    _emit(jr.journey_output(result, chosen, width), output)
    if chart is not None:
        _draw(lambda: jr.journey_chart(result, chart), chart)


def _check_targets(output: Path | None, chart: Path | None) -> None:
    """The files to write, checked before the work: a chart's kind by its suffix, and
    both in a folder that exists."""
    if chart is not None and chart.suffix.lower() not in (".svg", ".png", ".html"):
        _fail(f"--chart {chart.name!r}: give a .svg, .png or .html file.")

    def check() -> None:
        _check_output(output)
        _check_output(chart, "--chart")

    _run(check)


def _draw(draw: Callable[[], None], chart: Path) -> None:
    """Draw a chart; a write that fails (a full disk, no permission) is exit 2, not a bug."""

    def drawn() -> None:
        try:
            draw()
        except OSError as exc:
            raise _cannot_write(chart, exc) from None

    _run(drawn)
    _err_console().print(f"Drew {chart}", markup=False)
