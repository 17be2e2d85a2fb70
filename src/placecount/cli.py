"""The ``placecount`` command: a thin Typer layer over :mod:`placecount.api`.

Each command parses options, calls one library function, and renders the
result; messages go to stderr and data to stdout. Exit codes: 0 done, 2 an input
or option the user can fix, 1 a fault of placecount itself.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import __version__

app = typer.Typer(
    name="placecount",
    help="Count all public money going into a place, on the UN COFOG classification.\n\n"
    "Start with `placecount init`, then `placecount ingest KIND FILE...` for each body's "
    "spreadsheet, then `placecount report`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)

_STATE: dict[str, bool] = {"debug": False}

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        envvar="PLACECOUNT_DB",
        metavar="PATH",
        help="The database file (env PLACECOUNT_DB). Its project file placecount.toml "
        "sits beside it.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]


def _err_console() -> Any:
    from .console import SafeConsole as Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _out_console() -> Any:
    from .console import SafeConsole as Console

    # Piped or redirected output is not cut to 80 columns: a count's table is wide. COLUMNS,
    # when set, is the width either way (a script can ask for the table an 80-column
    # terminal shows).
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else (None if sys.stdout.isatty() else 200)
    return Console(highlight=False, width=width)


def _run(fn: Callable[[], Any], as_json: bool = False) -> Any:
    """Call the library; turn its errors into a message and an exit code."""
    from .errors import PlacecountError
    from .escape import visible

    try:
        return fn()
    except PlacecountError as exc:
        if _STATE["debug"]:
            raise
        _say_error(exc, as_json)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        # true of every command: the store writes in one transaction, rolled back when
        # interrupted, and files are written beside their place and renamed in at the end
        _err_console().print("Interrupted; nothing was changed.", markup=False)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        raise  # the reader of a streamed output stopped reading (`| head`): Typer's to end
    except Exception as exc:  # a fault of ours: say so plainly, traceback only with --debug
        if _STATE["debug"]:
            raise
        full = _disk_full(exc)
        if full is not None:
            _say_error(full, as_json)
            raise typer.Exit(full.exit_code) from None
        _err_console().print(
            f"error: placecount hit an internal problem ({type(exc).__name__}: "
            f"{visible(str(exc))}). "
            "This is a bug in placecount: run again with --debug and report the traceback.",
            style="bold red",
            markup=False,
        )
        raise typer.Exit(1) from None


def _say_error(exc: Any, as_json: bool) -> None:
    """A library error as JSON on stdout, or as its issues on stderr."""
    from .errors import Issue
    from .escape import visible

    if as_json:
        from .render import to_json

        sys.stdout.write(
            to_json(
                {
                    "ok": False,
                    "issues": [i.to_dict() for i in exc.issues]
                    or [Issue(code="error", message=str(exc)).to_dict()],
                }
            )
        )
    elif exc.issues:
        from .render import print_issues

        print_issues(_err_console(), exc.issues)
    else:
        _err_console().print(f"error: {visible(str(exc))}", style="bold red")


def _disk_full(exc: BaseException) -> Any:
    """A full disk (or quota) met while writing the database or an output, as an error of
    its own (exit 2), or None for any other fault. DuckDB says it in its message."""
    import errno

    from .errors import InputError

    no_space = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    if not (
        (isinstance(exc, OSError) and exc.errno in no_space)
        or "No space left on device" in str(exc)
        or "Disk quota exceeded" in str(exc)
    ):
        return None
    return InputError.one(
        "disk-full",
        "the disk is full: the command stopped, and the database and every output are "
        "as they were (a write is made whole or not at all).",
        note="Free some space, or put the database or the outputs on another disk "
        "(--db, -o, --out).",
    )


def _emit_rows(rows: Any, as_json: bool, title: str, columns: list[tuple[str, str]]) -> None:
    """Rows as JSON on stdout, or as a table with the given (key, heading) columns."""
    if as_json:
        from .render import to_json

        sys.stdout.write(to_json(rows))
        return
    from .render import PLAIN_ROWS, plain_table, rows_table

    if len(rows) > PLAIN_ROWS:  # a long listing (every unmapped line): plain columns, fast
        encoding = sys.stdout.encoding or "utf-8"
        sys.stdout.writelines(line + "\n" for line in plain_table(title, rows, columns, encoding))
        return
    _out_console().print(rows_table(title, rows, columns))


def _emit(data: str | bytes | Callable[[Path], Any], output: Path | None) -> None:
    """Data to stdout, or written atomically to ``output`` with a word on stderr (``data``
    may be a function that writes the file at the path it is given: a file format)."""
    if output is None:
        assert not callable(data), "a file format is written to a file"
        if data:
            sys.stdout.write(data if isinstance(data, str) else data.decode("utf-8"))
        return
    from .render import write_output

    def write() -> None:
        _check_output(output)
        try:
            write_output(output, data)
        except OSError as exc:
            raise _cannot_write(output, exc) from None

    _run(write)
    _err_console().print(f"Wrote {output}", markup=False)


def _cannot_write(path: Path, exc: OSError) -> Exception:
    from .errors import InputError

    reason = exc.strerror or type(exc).__name__
    return InputError.one(
        "cannot-write",
        f"cannot write {path}: {reason[0].lower() + reason[1:]}.",
        note="Write it to a folder you can write to, or close the file if another program "
        "has it open.",
    )


def _check_output(path: Path | None, option: str = "-o") -> None:
    """A file to write: its folder must exist (we do not guess at making one) and it must
    not be a folder itself. Checked before the work, so a long count is not lost."""
    from .errors import InputError

    if path is None:
        return
    folder = path.parent
    if not folder.is_dir():
        raise InputError.one(
            "cannot-write",
            f"{option} {path}: the folder {folder} does not exist.",
            note="Create the folder first, or give a file in a folder that exists.",
        )
    if path.is_dir():
        raise InputError.one(
            "cannot-write",
            f"{option} {path}: that is a folder; give a file name in it.",
        )


def _fail(message: str, code: int = 2) -> NoReturn:
    _err_console().print(f"error: {message}", style="bold red", markup=False)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"placecount {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of internal errors.")
    ] = False,
) -> None:
    """Count all public money going into a place, on the UN COFOG classification."""
    _STATE["debug"] = debug


@app.command()
def init(
    place: Annotated[str, typer.Option("--place", metavar="NAME", help="The place's name.")],
    year: Annotated[
        str, typer.Option("--year", metavar="YYYY-YY", help="Financial year, e.g. 2008-09.")
    ],
    population: Annotated[
        int | None, typer.Option("--population", metavar="N", help="Residents, for £ per head.")
    ] = None,
    area_code: Annotated[
        str | None,
        typer.Option("--area-code", metavar="CODE", help="ONS area code, e.g. E10000006."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite placecount.toml.")] = False,
    db: DbOption = Path("placecount.duckdb"),
) -> None:
    """Start a count: write placecount.toml and create the database.

    Example: placecount init --place Exampleshire --year 2008-09 --population 512000
    """
    from .api import init as do_init

    result = _run(lambda: do_init(db, place, year, population, area_code, force))
    _err_console().print(
        f"Wrote {result['project']} and created {result['database']} for "
        f"{place} {result['place']['financial_year']}.",
        markup=False,
    )


@app.command()
def ingest(
    kind: Annotated[
        str,
        typer.Argument(
            metavar="KIND",
            show_default=False,
            help="council, nhs, police, pesa, ndpb, payments or generic.",
        ),
    ],
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            show_default=False,
            help=".xlsx, .xlsm, .xls, .ods, .csv or .parquet files.",
        ),
    ],
    sheet: Annotated[
        str | None,
        typer.Option("--sheet", metavar="NAME|INDEX", help="Sheet name or 1-based position."),
    ] = None,
    org: Annotated[
        list[str] | None,
        typer.Option(
            "--org",
            metavar="NAME|CODE",
            help="The body whose spending this is; in a table of many bodies, the row to take "
            "(a name as published or an ONS code; repeatable).",
        ),
    ] = None,
    orgs_file: Annotated[
        Path | None,
        typer.Option(
            "--orgs", metavar="FILE", help="A text file of bodies to take, one name or code a line."
        ),
    ] = None,
    measure: Annotated[
        str | None,
        typer.Option(
            "--measure",
            metavar="MEASURE",
            help="Where each line has several measures: net (the default), gross or income.",
        ),
    ] = None,
    year: Annotated[
        str | None, typer.Option("--year", metavar="YYYY-YY", help="Financial year, e.g. 2008-09.")
    ] = None,
    units: Annotated[
        str | None, typer.Option("--units", metavar="UNITS", help="pounds, thousands or millions.")
    ] = None,
    header_row: Annotated[
        int | None,
        typer.Option("--header-row", metavar="N", help="Row of the header, as Excel numbers it."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", metavar="FILE.csv", help="Your mapping CSV, overriding the defaults."
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            metavar="ROLE=HEADER",
            help="ROLE=HEADER: which column plays a role (repeatable).",
        ),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", metavar="NAME", help="PESA: the region.")
    ] = None,
    share: Annotated[
        str | None,
        typer.Option(
            "--share", metavar="SHARE", help="PESA: the place's share of the region, 0–1."
        ),
    ] = None,
    place_population: Annotated[
        int | None,
        typer.Option("--place-population", metavar="N", help="PESA: the place's population."),
    ] = None,
    region_population: Annotated[
        int | None,
        typer.Option("--region-population", metavar="N", help="PESA: the region's population."),
    ] = None,
    part: Annotated[
        str | None, typer.Option("--part", metavar="PART", help="PESA: central, local or total.")
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            metavar="NAME|N",
            help="Which of a workbook's tables to count (ONS regional tables), by number or name.",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Swap lines already ingested from this file.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and check, write nothing.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="A line with no COFOG mapping, or an amount cell that is not a number, "
            "is an error.",
        ),
    ] = False,
    count: Annotated[
        bool,
        typer.Option(
            "--count",
            help="Payment lists: put them in the count (they are partial, so by default "
            "they are kept out of it and shown beside it).",
        ),
    ] = False,
    max_file_mb: Annotated[
        int,
        typer.Option("--max-file-mb", metavar="MB", min=1, help="Refuse a file larger than this."),
    ] = 1024,
    max_rows: Annotated[
        int,
        typer.Option(
            "--max-rows", metavar="N", min=1, help="Refuse a sheet with more rows than this."
        ),
    ] = 20_000_000,
    max_columns: Annotated[
        int,
        typer.Option(
            "--max-columns", metavar="N", min=1, help="Refuse a sheet with more columns than this."
        ),
    ] = 1_000,
    max_unzipped_mb: Annotated[
        int,
        typer.Option(
            "--max-unzipped-mb",
            metavar="MB",
            min=1,
            help="Refuse a workbook that would inflate past this when unzipped "
            "(a guard against 'zip bombs').",
        ),
    ] = 1024,
    max_cells: Annotated[
        int,
        typer.Option(
            "--max-cells",
            metavar="N",
            min=1,
            help="Refuse a workbook sheet whose grid (rows × columns, from A1 to its last "
            "cell with a value) is larger than this.",
        ),
    ] = 20_000_000,
    max_cell_chars: Annotated[
        int,
        typer.Option(
            "--max-cell-chars",
            metavar="N",
            min=1,
            help="Refuse a file with a cell longer than this many characters.",
        ),
    ] = 131_072,
    db: DbOption = Path("placecount.duckdb"),
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Read spending spreadsheets into the database, mapped to COFOG.

    Example: placecount ingest council outturn_2008-09.xlsx --org "Exampleshire CC"

    PESA: placecount ingest pesa cra_2009.xlsx --region "North West" --share 0.0724

    Payments: placecount ingest payments spend_over_500.xlsx --year 2023-24 (partial:
    kept out of the count unless --count)
    """
    from .api import ingest as do_ingest
    from .models import Limits

    progress_cb = None
    progress_ctx: Any = None
    if not quiet and not as_json and sys.stderr.isatty():
        # on a terminal: a spinner and a bar over the files, gone when the ingest is done
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        progress_ctx = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} files"),
            TimeElapsedColumn(),
            console=_err_console(),
            transient=True,
        )
        task = progress_ctx.add_task("reading", total=len(files))
        progress_ctx.start()
        progress_cb = _ingest_progress(progress_ctx, task)

    try:
        result = _run(
            lambda: do_ingest(
                kind,
                files,
                db,
                sheet=sheet,
                orgs=org or [],
                orgs_file=orgs_file,
                measure=measure,
                year=year,
                units=units,
                header_row=header_row,
                mapping=mapping,
                columns=column or [],
                region=region,
                share=share,
                place_population=place_population,
                region_population=region_population,
                part=part,
                table=table,
                replace=replace,
                dry_run=dry_run,
                strict=strict,
                count=count,
                progress=progress_cb,
                limits=Limits(
                    max_file_mb=max_file_mb,
                    max_rows=max_rows,
                    max_columns=max_columns,
                    max_unzipped_mb=max_unzipped_mb,
                    max_cells=max_cells,
                    max_cell_chars=max_cell_chars,
                ),
            ),
            as_json=as_json,
        )
    finally:
        if progress_ctx is not None:
            progress_ctx.stop()
    data = result.to_dict()
    if as_json:
        from .render import to_json

        sys.stdout.write(to_json(data))
        return
    if quiet and not result.issues:
        return  # nothing to say: no console (rich) to start
    from .render import ingest_lines, print_issues

    err = _err_console()
    print_issues(err, result.issues, quiet=quiet)
    if not quiet:
        for text in ingest_lines(data):
            err.print(text, markup=False)


def _ingest_progress(bar: Any, task: Any) -> Callable[[str], None]:
    """The ingest's steps on the progress line: what is being read, mapped or written
    (one large file is not a bar stuck at 0/1), and a file counted when the next starts
    or the writing begins. File names are shown as text, control characters escaped."""
    from .escape import visible

    started = [0]

    def step(text: str) -> None:
        if text.startswith(("reading ", "writing ")):
            if started[0]:
                bar.advance(task)
            started[0] += text.startswith("reading ")
        bar.update(task, description=visible(text))

    return step


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    md = "md"
    xlsx = "xlsx"
    parquet = "parquet"
    html = "html"


def _pick_format(fmt: ReportFormat | None, output: Path | None) -> str:
    from .render import SUFFIX_FORMATS

    if fmt is not None:
        return fmt.value
    if output is not None:
        if output.suffix.lower() not in SUFFIX_FORMATS:
            _fail(f"cannot tell the format of {output.name!r}: add --format.")
        return SUFFIX_FORMATS[output.suffix.lower()]
    return "table"


KindsOption = Annotated[
    list[str] | None,
    typer.Option("--kind", metavar="KIND", help="Only this source kind (repeatable)."),
]
OrgsOption = Annotated[
    list[str] | None,
    typer.Option("--org", metavar="NAME", help="Only this organisation (repeatable)."),
]
ThemeOption = Annotated[
    str | None,
    typer.Option("--theme", metavar="NAME", help="Only a deep-dive theme from placecount.toml."),
]


@app.command()
def report(
    by: Annotated[
        str, typer.Option("--by", metavar="LEVEL", help="Rows: division, group or class.")
    ] = "division",
    kind: KindsOption = None,
    org: OrgsOption = None,
    cofog: Annotated[
        str | None,
        typer.Option("--cofog", metavar="CODES", help="Only these COFOG codes, e.g. 07,10.2."),
    ] = None,
    theme: ThemeOption = None,
    transfers: Annotated[
        bool | None,
        typer.Option(
            "--transfers/--no-transfers",
            help="Remove transfers between bodies in the count (default: as placecount.toml, "
            "else yes).",
            show_default=False,
        ),
    ] = None,
    ndpbs: Annotated[
        str | None,
        typer.Option(
            "--ndpbs",
            metavar="MODE",
            help="memo (shown, not added: the default), add-uncovered (added where no "
            "PESA figure covers the sponsor) or replace (an NDPB's own figures replace its "
            "CRA organisation's estimate).",
        ),
    ] = None,
    pesa_overlap: Annotated[
        str | None,
        typer.Option(
            "--pesa-overlap",
            metavar="MODE",
            help="remove (default): replace the PESA and CRA estimates that a counted "
            "body's own accounts cover (the coverage table); keep: count both.",
        ),
    ] = None,
    non_identifiable: Annotated[
        str | None,
        typer.Option(
            "--non-identifiable",
            metavar="MODE",
            help="outside (default): non-identifiable spending is shown beside the count, "
            "not in it; per-head: added at the UK per-head rate (its share of the UK's "
            "population), as ONS's country and regional public sector finances do.",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="table, csv, json, md, xlsx, parquet or html (one self-contained page: "
            "chart, table, reconciliation, method; default: from -o, else table).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE.")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            metavar="FILE",
            help="Count with this mapping file over the stored lines' mappings, without "
            "ingesting again (the database is not changed).",
        ),
    ] = None,
    what_if: Annotated[
        bool,
        typer.Option(
            "--what-if", help="With --mapping: also show what moved between COFOG divisions."
        ),
    ] = False,
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit",
            metavar="UNIT",
            help="The terminal table's figures in £ (to the penny, the default), £000 or £m: "
            "for display only, every file format stays exact.",
        ),
    ] = None,
    db: DbOption = Path("placecount.duckdb"),
) -> None:
    """The count: spending by COFOG function and source kind, with how it adds up.

    Example: placecount report --by group --format xlsx -o count.xlsx
    """
    from .api import report as do_report

    chosen = _pick_format(fmt, output)
    if unit is not None and chosen != "table":
        _fail("--unit is for the terminal table: the file formats keep exact pence.")
    if chosen in ("xlsx", "parquet", "html") and output is None:
        _fail(f"{chosen} is a file format: give -o FILE.{chosen}.")
    _run(lambda: _check_output(output), as_json=chosen == "json")
    result = _run(
        lambda: do_report(
            db,
            by=by,
            kinds=kind or [],
            orgs=org or [],
            cofog=cofog,
            theme=theme,
            eliminate_transfers=transfers,
            ndpbs=ndpbs,
            pesa_overlap=pesa_overlap,
            non_identifiable=non_identifiable,
            detail=chosen == "xlsx",
            mapping=mapping,
            what_if=what_if,
        ),
        as_json=chosen == "json",
    )
    from . import render

    if chosen == "html":
        from .api import sources as stored_sources
        from .report_html import project_charts

        result["sources"] = _run(lambda: stored_sources(db))
        result["charts"] = _run(lambda: project_charts(db))
    for warning in (result.get("mapping") or {}).get("warnings", []):
        _err_console().print(
            f"warning: {warning['file']} row {warning['row']}: {warning['message']}",
            markup=False,
        )
    if chosen == "table" and output is None:
        from .terminal import report_tables, unit_of

        shown = _run(lambda: unit_of(unit))
        console = _out_console()
        tables, notes = report_tables(result, console.width, shown)
        for table in tables:
            console.print(table)
        for line in notes + render.report_notes(result, console.width):
            console.print(line, markup=False)
        if "what_if" in result:
            console.print(render.what_if_table(result["what_if"]))
        return
    _emit(render.report_writer(result, chosen), output)


@app.command()
def trace(
    code: Annotated[
        str,
        typer.Argument(
            metavar="CODE",
            show_default=False,
            help="A COFOG code (07, 07.3, 07.3.1) or 'unmapped'.",
        ),
    ],
    kind: KindsOption = None,
    org: OrgsOption = None,
    theme: ThemeOption = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="LEVEL",
            help="The report's rows the code is from: division, group or class "
            "(default: the code's own level).",
        ),
    ] = None,
    db: DbOption = Path("placecount.duckdb"),
    as_json: JsonOption = False,
) -> None:
    """Every line behind a figure of the report: file, sheet, cell, label, amount, share.

    Example: placecount trace 07.3 --kind nhs
    """
    from .api import trace as do_trace
    from .api import trace_json

    if as_json:
        text = _run(
            lambda: trace_json(
                db, code, kinds=kind or [], orgs=org or [], theme=theme, by=by, check_filters=True
            ),
            as_json=True,
        )
        sys.stdout.write(text)
        return
    result = _run(
        lambda: do_trace(
            db, code, kinds=kind or [], orgs=org or [], theme=theme, by=by, check_filters=True
        )
    )
    from .render import money, rows_table

    title = f"Lines behind {result['cofog_code'] or 'unmapped'} {result['cofog_name']}"
    console = _out_console()
    console.print(
        rows_table(
            title,
            result["lines"],
            [
                ("file", "File"),
                ("sheet", "Sheet"),
                ("cell", "Cell"),
                ("kind", "Kind"),
                ("org", "Org"),
                ("native_label", "Label"),
                ("cofog_code", "COFOG"),
                ("cofog_share", "Share"),
                ("basis", "Basis"),
                ("sector", "Sector"),
                ("economic", "Economic"),
                ("grade", "Grade"),
                ("amount_gbp", "Amount £"),
                ("treatment", "In the count as"),
            ],
        )
    )
    console.print(f"Counted: £{money(result['counted_gbp'])}", markup=False)


class FlowsFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


@app.command()
def flows(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE]",
            show_default=False,
            help="A chains file (stream, path, amount_gbp, measured_at) or a flow "
            "graph (from, to, amount_gbp[, stream]): .csv or .xlsx.",
        ),
    ] = None,
    from_store: Annotated[
        bool, typer.Option("--from-store", help="Use the transfers marked in the database.")
    ] = False,
    sheet: Annotated[
        str | None, typer.Option("--sheet", metavar="NAME|INDEX", help="The sheet to read.")
    ] = None,
    rate: Annotated[
        str, typer.Option("--rate", metavar="RATE", help="Share lost per hand-over.")
    ] = "0.20",
    measured: Annotated[
        str,
        typer.Option(
            "--measured",
            metavar="SIDE",
            help="For a flow graph: the amounts are what was delivered (gross up) "
            "or what entered at the source (forward).",
        ),
    ] = "delivered",
    tolerance: Annotated[
        str,
        typer.Option(
            "--tolerance",
            metavar="SHARE",
            help="How far a body's payments may exceed its receipts.",
        ),
    ] = "0.01",
    sensitivity: Annotated[
        str | None,
        typer.Option(
            "--sensitivity",
            metavar="RATES",
            help="The totals again at each rate, e.g. 0.1,0.15,0.2,0.25,0.3.",
        ),
    ] = None,
    collapse: Annotated[
        str | None,
        typer.Option(
            "--collapse",
            metavar="BODY",
            help="What if this intermediary were taken out: the saving.",
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            metavar="FILE",
            help="Draw the mapping wall: .html (interactive), .svg or .png.",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", metavar="TEXT", help="The chart's title.")
    ] = None,
    fmt: Annotated[
        FlowsFormat | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="table, csv, json or xlsx (default: from -o, else table).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE.")
    ] = None,
    db: DbOption = Path("placecount.duckdb"),
) -> None:
    """Funding chains: the Audit Commission's 20%-per-hand-over rule, and the flow map.

    Example: placecount flows examples/leicester/european_funding.csv --sensitivity
    0.1,0.2,0.3 --chart wall.html
    """
    from .api import flows as do_flows

    if file is None and not from_store:
        _fail("give a chains or flow-graph FILE, or --from-store.")
    chosen = (
        fmt.value
        if fmt
        else (
            {".csv": "csv", ".json": "json", ".xlsx": "xlsx"}.get(output.suffix.lower(), "table")
            if output
            else "table"
        )
    )
    if chosen == "xlsx" and output is None:
        _fail("xlsx is a file format: give -o FILE.xlsx.")

    def check() -> None:
        _check_output(output)
        _check_output(chart, "--chart")

    _run(check, as_json=chosen == "json")
    result = _run(
        lambda: do_flows(
            None if from_store else file,
            db=db,
            sheet=sheet,
            rate=rate,
            measured=measured,
            tolerance=tolerance,
            sensitivity=sensitivity,
            collapse=collapse,
            chart=chart,
            title=title,
        ),
        as_json=chosen == "json",
    )
    from . import render

    if chosen == "table" and output is None:
        from .terminal import flows_tables

        console = _out_console()
        parts, notes = flows_tables(result, console.width)
        for part in parts:
            console.print(part)
        for line in notes:
            console.print(line, markup=False)
        data: str | bytes = ""
    else:
        data = render.flows_output(result, chosen)
    _emit(data, output)
    if chart is not None:
        _err_console().print(f"Drew {chart}", markup=False)


@app.command()
def run(
    project: Annotated[
        Path,
        typer.Argument(
            metavar="[PROJECT]",
            show_default=False,
            help="The project file (default: placecount.toml here).",
        ),
    ] = Path("placecount.toml"),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Where the database, outputs and manifest.json go (default: out/ "
            "beside the project file).",
        ),
    ] = None,
    quiet: QuietOption = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="ingest's --strict for every source (a line with no COFOG mapping, or an "
            "amount cell that is not a number, is an error), and any other warning of a "
            "source (a control total not matched, an implausible total) stops the run too: "
            "exit 2, the last complete output kept.",
        ),
    ] = False,
) -> None:
    """Build the whole count from its project file, write every output and manifest.json.

    Each source's ingest summary and warnings are printed as `ingest` prints them
    (with --quiet, only errors and how many warnings there were).

    Example: placecount run examples/exampleshire/placecount.toml --out build/exampleshire
    """
    from .render import ingest_lines, print_issues
    from .run import run as do_run

    err = _err_console()
    show = not quiet
    warnings: list[Any] = []

    def progress(step: str) -> None:
        if show:
            err.print(f"  {step}", markup=False)

    def ingested(_file: str, result: Any) -> None:
        found = [i for i in result.issues if i.severity == "warning"]
        warnings.extend(found)
        if strict:  # stopped with every warning listed once, at the end
            return
        print_issues(err, result.issues, quiet=quiet)
        if show:
            for text in ingest_lines(result.to_dict()):
                err.print(f"  {text}", markup=False)

    manifest = _run(lambda: do_run(project, out, progress, strict=strict, ingested=ingested))
    if show:
        for o in manifest["outputs"]:
            err.print(f"Wrote {o['path']}  sha256 {o['sha256'][:12]}…", markup=False)
        said = ""
        if warnings:
            n = len(warnings)
            said = f"; {n} warning{'s' if n != 1 else ''} above"
        if "places" in manifest:
            for key, totals in manifest["totals"]["places"].items():
                err.print(f"{key}: the count £{_money(totals['count_gbp'])}", markup=False)
            err.print(
                f"{len(manifest['places'])} places{said}; manifest.json written.", markup=False
            )
        else:
            err.print(
                f"The count: £{_money(manifest['totals']['count_gbp'])}{said}; "
                "manifest.json written.",
                markup=False,
            )
    elif warnings:  # --quiet: how many, so a script's log still shows there were some
        n = len(warnings)
        err.print(
            f"{n} warning{'s' if n != 1 else ''} (run without --quiet to see them, or with "
            "--strict to stop on them).",
            markup=False,
        )


def _money(text: str) -> str:
    from .render import money

    return money(text)


@app.command()
def verify(
    manifest: Annotated[
        Path, typer.Argument(metavar="MANIFEST", show_default=False, help="A manifest.json.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Re-run the count a manifest describes and check every input, output and total.

    Exit code 0 when everything matches, 3 when anything differs.

    Example: placecount verify out/manifest.json
    """
    from .run import verify as do_verify

    result = _run(lambda: do_verify(manifest), as_json=as_json)
    if as_json:
        from .render import to_json

        sys.stdout.write(to_json(result))
    else:
        console = _out_console()
        for c in result["checks"]:
            mark = "ok  " if c["status"] == "same" else "FAIL"
            console.print(f"{mark} {c['what']:<7} {c['path']}: {c['status']}", markup=False)
        moved = [t for t in result["totals"] if t["moved_gbp"] != "0.00"]
        for t in moved:
            console.print(
                f"FAIL total   {t['total']}: £{_money(t['expected_gbp'] or '0')} → "
                f"£{_money(t['actual_gbp'] or '0')} (moved £{_money(t['moved_gbp'])})",
                markup=False,
            )
        if not moved:
            console.print(f"ok   totals: {len(result['totals'])} figures match", markup=False)
        console.print(
            "Verified: everything matches."
            if result["ok"]
            else "NOT verified: see the FAIL lines.",
            markup=False,
        )
    if not result["ok"]:
        raise typer.Exit(3)


@app.command()
def diff(
    first: Annotated[
        Path,
        typer.Argument(
            metavar="A.json", show_default=False, help="A manifest.json or report JSON."
        ),
    ],
    second: Annotated[
        Path,
        typer.Argument(
            metavar="B.json", show_default=False, help="Another, to compare with the first."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """What changed between two counts, by COFOG code and kind.

    Example: placecount diff last_year/manifest.json this_year/manifest.json
    """
    from .run import diff as do_diff

    result = _run(lambda: do_diff(first, second), as_json=as_json)
    if as_json:
        from .render import to_json

        sys.stdout.write(to_json(result))
        return
    from .render import rows_table

    console = _out_console()
    if not result["changed"]:
        console.print(f"No change: all {result['unchanged']} figures are the same.", markup=False)
        return
    console.print(
        rows_table(
            f"{result['first']} → {result['second']}",
            result["changed"],
            [
                ("total", "Figure"),
                ("expected_gbp", "Before £"),
                ("actual_gbp", "After £"),
                ("moved_gbp", "Change £"),
            ],
        )
    )


@app.command()
def sources(db: DbOption = Path("placecount.duckdb"), as_json: JsonOption = False) -> None:
    """List what has been ingested: file, kind, org, sheet, lines kept and left out, total.

    Example: placecount sources --json
    """
    from .api import sources as do_sources

    rows = _run(lambda: do_sources(db), as_json=as_json)
    _emit_rows(
        rows,
        as_json,
        "Sources",
        [
            ("file_name", "File"),
            ("sheet", "Sheet"),
            ("kind", "Kind"),
            ("org", "Org"),
            ("financial_year", "Year"),
            ("units", "Units"),
            ("lines_kept", "Lines"),
            ("lines_left_out", "Left out"),
            ("total_gbp", "Total £"),
        ],
    )


@app.command()
def unmapped(
    db: DbOption = Path("placecount.duckdb"),
    as_json: JsonOption = False,
    suggest: Annotated[
        bool,
        typer.Option(
            "--suggest",
            help="Write a ready-to-edit mapping file instead: one row per unmapped label with "
            "its amount and the nearest known labels and their codes.",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="With --suggest: write to FILE."),
    ] = None,
    lines: Annotated[
        bool,
        typer.Option(
            "--lines", help="Every unmapped line with its row, instead of one row per label."
        ),
    ] = False,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            metavar="N",
            min=0,
            help="The table shows the N labels with the most money unmapped (0: all); "
            "--json always gives all.",
        ),
    ] = 50,
) -> None:
    """List what no COFOG mapping matches: one row per label, largest amount first, with
    its lines, first row and amount (--lines: every line).

    Example: placecount unmapped --suggest -o mapping.csv
    """
    from .api import unmapped as do_unmapped
    from .api import unmapped_labels

    if suggest:
        from .api import suggest_mapping, suggest_mapping_csv

        suggested = _run(lambda: suggest_mapping(db), as_json=as_json)
        _emit(suggest_mapping_csv(suggested), output)
        if output is not None:
            _err_console().print(
                f"Wrote {len(suggested)} rows to {output.name}: fill in cofog_code (or "
                f"treatment) and a note, then `placecount report --mapping {output.name} "
                "--what-if`.",
                markup=False,
            )
        return

    if not lines:
        # grouped and cut in the database: a payments file has thousands of lines, and a
        # table of every one of them takes minutes to draw
        limit = None if as_json or top == 0 else top
        found = _run(lambda: unmapped_labels(db, limit), as_json=as_json)
        if as_json:
            from .render import to_json

            sys.stdout.write(to_json(found))
            return
        from .render import money, rows_table

        console = _out_console()
        console.print(
            rows_table(
                "Unmapped labels",
                found["labels"],
                [
                    ("file_name", "File"),
                    ("sheet", "Sheet"),
                    ("kind", "Kind"),
                    ("org", "Org"),
                    ("native_code", "Code"),
                    ("native_label", "Label"),
                    ("lines", "Lines"),
                    ("first_row", "First row"),
                    ("amount_gbp", "Amount £"),
                ],
            )
        )
        shown = len(found["labels"])
        more = (
            f"; the {shown:,} largest shown (--top 0 for all, --lines for every line)"
            if shown < found["label_count"]
            else ""
        )
        console.print(
            f"Unmapped: £{money(found['amount_gbp'])} in {found['lines']:,} lines under "
            f"{found['label_count']:,} labels{more}.",
            markup=False,
        )
        return
    if as_json:
        from .api import write_unmapped_json

        _run(lambda: write_unmapped_json(db, sys.stdout), as_json=True)
        return
    rows = _run(lambda: do_unmapped(db), as_json=as_json)
    _emit_rows(
        rows,
        as_json,
        "Unmapped lines",
        [
            ("file_name", "File"),
            ("sheet", "Sheet"),
            ("excel_row", "Row"),
            ("kind", "Kind"),
            ("org", "Org"),
            ("native_code", "Code"),
            ("native_label", "Label"),
            ("amount_gbp", "Amount £"),
        ],
    )


@app.command()
def cofog(
    code: Annotated[
        str | None,
        typer.Argument(metavar="[CODE]", show_default=False, help="A COFOG code, e.g. 07 or 07.3."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Browse the COFOG classification: the divisions, or one code and its parts.

    Example: placecount cofog 07.3
    """
    from .api import browse_cofog

    rows = _run(lambda: browse_cofog(code), as_json=as_json)
    cols = [("code", "Code"), ("name", "Name")]
    if code is not None:
        cols.append(("note", "UN note"))
    _emit_rows(rows, as_json, "COFOG 1999", cols)


class _NoPandasForArrow:
    """An import hook: pyarrow and DuckDB ask whether pandas is installed the first time
    they meet almost any value, and import it to find out (a tenth of a second, on every
    command). placecount never uses pandas, so when the import comes from placecount,
    pyarrow or DuckDB the answer is "not installed"; a library that imports pandas for
    itself (a chart's) still gets it."""

    _ASKERS = ("placecount", "pyarrow", "duckdb")

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name != "pandas":
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith(
            ("importlib", "_frozen_importlib")
        ):
            frame = frame.f_back  # type: ignore[assignment]
        asker = frame.f_globals.get("__name__", "") if frame is not None else ""
        if asker.split(".")[0] in self._ASKERS:
            raise ImportError("placecount does not use pandas")
        return None


def _plain(exc: UnicodeError) -> tuple[str, int]:
    """A codec error handler: the ASCII look-alike of each character the encoding lacks."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    from .escape import LOOK_ALIKES

    text = exc.object[exc.start : exc.end]
    return "".join(LOOK_ALIKES.get(ch, "?") for ch in text), exc.end


def _safe_streams() -> None:
    """stdout and stderr that never fail on a character: `placecount report > count.txt`
    under a Windows code page (cp1252 has no "→") writes "->" instead of raising."""
    import codecs

    codecs.register_error("placecount-plain", _plain)
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and not encoding.startswith("utf"):
            reconfigure(errors="placecount-plain")


def app_for(args: list[str]) -> typer.Typer:
    """The app with only the command ``args`` ask for, when they name one: Typer turns
    every command's signature into options before it runs any, about 0.05 s of a
    command's start-up for the dozen it does not run. Help, a mistyped command and no
    command at all get the whole app."""
    at = _first_word(args)
    name = args[at] if at < len(args) else None
    chosen = [c for c in app.registered_commands if _command_name(c) == name]
    if not chosen:
        return app
    one = copy.copy(app)
    one.registered_commands = chosen
    return one


def _first_word(args: list[str]) -> int:
    """Where the command's name must be: after the app's own flags (--debug)."""
    i = 0
    while i < len(args) and args[i] in {"--debug"}:
        i += 1
    return i


def _command_name(info: Any) -> str:
    return str(info.name or info.callback.__name__.replace("_", "-"))


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    _safe_streams()
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandasForArrow())
    app_for(sys.argv[1:])()


# the scenario and journey commands live in their own module, on the same app
from . import cli_compare, cli_scenario  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    # `python -m placecount.cli`: run the imported module's app, on which every command
    # (the scenario ones included) is registered
    from placecount.cli import main as registered_main

    registered_main()
