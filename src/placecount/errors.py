"""Issues as data, and the exceptions that carry them.

An :class:`Issue` is one thing placecount has to say about an input: where it is
(file, sheet, Excel row and column letter, header) and what it means. Commands
collect issues; an error-level issue stops the command with exit code 2 and the
database untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

Severity = Literal["error", "warning", "info"]

#: The issue-code catalogue: stable kebab-case codes and what each means.
#: README's table of codes is checked against this dictionary by the tests.
CODES: dict[str, str] = {
    "file-not-found": "The file does not exist or cannot be opened.",
    "unsupported-format": "The file is not .xlsx, .xlsm, .xls, .ods, .csv or .parquet.",
    "disk-full": "The disk (or the user's quota) filled up while writing the database or an output: the write was not made, and nothing was changed.",
    "not-a-file": "A file to read (an input, a mapping, the project file, a manifest's input) is a folder, a named pipe, a device or a socket, not a regular file: it is refused before anything is read.",
    "bad-encoding": "A CSV file's bytes are not the text they seem: NUL bytes (UTF-16 without a byte-order mark, or damage), or a UTF-16/UTF-32 mark the rest does not follow.",
    "corrupt-workbook": "The workbook cannot be opened: it is damaged or not a spreadsheet.",
    "password-protected": "The workbook is encrypted with a password; save an unprotected copy.",
    "sheet-not-found": "The sheet asked for with --sheet is not in the workbook.",
    "empty-sheet": "The sheet has no cells with data.",
    "no-header": "No row looks like the header the source kind expects.",
    "header-row-out-of-range": "--header-row points outside the sheet.",
    "column-not-found": "A column named with --column is not in the header row.",
    "duplicate-column": "Two columns share a name that placecount needs to tell apart.",
    "ambiguous-column": "More than one column could play the same role.",
    "unparseable-amount": "An amount cell holds text that is not a number: the line is left out (--strict stops instead).",
    "decimal-comma": "An amount written with a decimal comma (1241,32): read as 1241.32, and the cell named.",
    "total-not-matched": "A row labelled like a total whose amount the lines above do not add up to: kept as a line (one labelled only 'Total' is left out, with a warning).",
    "amount-too-large": "An amount is beyond any public body's spending (over £1 trillion).",
    "unit-proved": "No unit is stated: the one that gives a plausible £ a head was used, and the summary says so.",
    "unit-ambiguous": "The title rows state different units: say --units.",
    "unit-not-proved": "No unit is stated anywhere in the file and plausibility a head does not settle it: say --units.",
    "implausible-total": "A source adds up to more than any real body spends a head of the place (over £50,000): the unit or the share is wrong.",
    "year-mismatch": "The file's title, header, sheet name or year column names another year than the count's: say --year to use it all the same.",
    "several-years": "A year column holds several years and none is the count's: say --year.",
    "other-years-left-out": "Lines of years other than the count's were left out.",
    "table-taken": "A workbook of several tables had one documented default (ONS: total identifiable expenditure), and it was taken.",
    "unit-not-stated": "No unit (£, £000, £m) was found in the header or title; the default was used.",
    "unknown-kind": "The source kind is not one placecount knows.",
    "bad-option": "An option's value is not valid.",
    "share-out-of-range": "A PESA share must be above 0 and at most 1.",
    "region-not-found": "The region asked for with --region is not a column (or value) of the table.",
    "region-required": "A PESA table needs --region to say which region's figures to take.",
    "share-required": "A PESA table needs --share, or --place-population and --region-population.",
    "year-not-found": "No rows for the year asked for with --year.",
    "bad-year": "A financial year must be written like 2008-09.",
    "unknown-cofog-code": "A COFOG code that is not in the 1999 classification.",
    "bad-mapping": "A mapping file is malformed: missing column, unknown code or shares not adding to 1.",
    "unmapped-line": "A line that no mapping row matches: kept, counted as unmapped.",
    "mapping-row-unused": "A row of the user's mapping file matches no line read: its code or label is not the file's.",
    "already-ingested": "This file and sheet are already in the database; nothing was added.",
    "conflicting-source": "A different version of this file and sheet is already in the database.",
    "org-not-stated": "No organisation given by --org or a column; the file name was used.",
    "year-not-stated": "No financial year given by --year, a column, the title or the project file.",
    "left-out": "Rows left out of the count (totals, notes, excluded bodies), listed with reasons.",
    "not-available": "An amount marked not available or suppressed ('[x]', '[c]', '[z]', '[low]', '..', '*', 'n/a', 'Subsumed into …'): the row is left out with that reason.",
    "no-project": "No placecount.toml here: run `placecount init` first.",
    "bad-project": "placecount.toml cannot be read or holds a value that is not valid.",
    "project-exists": "placecount.toml already exists; use --force to overwrite it.",
    "database-error": "The database file cannot be opened or is not a placecount database.",
    "bad-flow": "A funding chain or flow graph row is not valid (empty path, negative amount, cycle, a body paying out more than it receives).",
    "limit-exceeded": "A file is larger, longer or wider than the limit set (a guard against damaged or hostile files); the limit can be raised.",
    "database-in-use": "Another placecount process is using the database; try again when it has finished.",
    "database-damaged": "The database file is damaged (a checksum does not match, or it is not a DuckDB file at all): restore it or run `placecount run` again.",
    "bad-scenario": "A scenario or journey file cannot be used as written: an unknown or missing key, a negative value, a share above 1, a profile of the wrong length, low or high on the wrong side.",
    "bad-manifest": "A manifest or report JSON file cannot be read.",
    "output-not-ours": "`run`'s output folder holds files placecount did not write there (the project's database, an input, anything else): `run` replaces the folder whole, so it refuses.",
    "output-outside": "An output path in a project file or manifest is absolute, climbs out with '..' or leads out by a symlink: outputs are written only inside their folder.",
    "input-outside": "A manifest lists an input that is neither inside its project's folder nor named by its project file (or bundled data that climbs out with '..'): `verify` refuses to read it.",
    "unknown-theme": "The theme asked for is not declared in placecount.toml.",
    "no-lines": "The sheet has a header but no lines with amounts.",
    "subtotal-mismatch": "A PESA function's printed total differs from the sum of its sub-functions.",
    "outside-year": "Dated rows (payments) outside the financial year, or with no date that can be read: left out and counted.",
    "national-totals": "A directory of bodies' national spending (the Public Bodies Directory): not the place's spending.",
    "part-not-stated": "A PESA table's title (or a CRA database's CG/LG/PC column) does not say "
    "central, local or total: give --part.",
    "total-with-actuals": "A PESA total table (no CG/LG/PC split) beside local bodies' actuals: "
    "use the central government table or a CRA database instead.",
    "bad-driver": "An apportionment driver in placecount.toml ([[drivers]]) names no COFOG "
    "code or its share is not between 0 and 1.",
    "bad-coverage": "A coverage rule (data/method/coverage.csv or [[coverage]] in "
    "placecount.toml) cannot be read.",
    "table-required": "A workbook has several tables (ONS regional tables) and counting one is a choice: say which with --table.",
    "table-not-found": "The table asked for with --table is not in the workbook.",
    "control-total": "A table's lines add up to its printed control total.",
    "control-total-mismatch": "A table's or a body's lines differ from the total printed beside them (a TOTAL row or column) by more than their rounding can explain.",
    "total-block-taken": "A PESA chapter 9 table's total block was counted; its current and capital blocks are parts of it.",
    "org-required": "A table of many bodies (one a row) needs --org NAME or CODE, or --orgs FILE, to say which to count.",
    "org-not-found": "A body named with --org is not a row of the table (names match in full, or by ONS code or E-code), or is a total row such as ENGLAND.",
    "body-suppressed": "A body chosen with --org has no figures in the file (suppressed as '[x]' or '…'): it cannot be counted from it.",
    "not-spending": "The file is not spending (reserves, council tax requirement): it is refused as a spending source.",
    "not-a-body": "The sheet shows a total of bodies (ENGLAND), not one body.",
    "measure-chosen": "Which of a line's measures (net, gross, income) is counted, when it is not the default.",
    "planned-spending": "The figures are allocations (planned spending), not outturn.",
    "counts-differ": "Counts to compare were made differently (method, COFOG mapping version, a filtered report or another row level): refused with the differences, unless --mixed.",
    "filter-matches-nothing": "A report's --org, --kind or --cofog matches no line in the database: refused, with the nearest names the database holds.",
    "strict-warnings": "`run --strict`: the sources' ingest gave warnings, listed above it; the run stops (exit 2) and the last complete output is kept.",
    "cannot-write": "An output file cannot be written: its folder does not exist, or the file or folder is not writable.",
    "bad-deflators": "A deflator table cannot be read, lacks a year asked for, or none was given for --prices real.",
}


def excel_position(
    file: str | None,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    header: str | None = None,
) -> str:
    """A cell as Excel users name it: ``outturn.xlsx › 'RO Summary'!D14 (Net expenditure)``."""
    parts: list[str] = []
    if file:
        parts.append(file)
    cell = ""
    if sheet is not None:
        cell = "'" + sheet.replace("'", "''") + "'"
    if column and row:
        ref = f"{column}{row}"
        cell = f"{cell}!{ref}" if cell else ref
    elif row:
        cell = f"{cell} row {row}" if cell else f"row {row}"
    elif column:
        cell = f"{cell} column {column}" if cell else f"column {column}"
    if header and (column or row):
        cell += f" ({header})"
    if cell:
        parts.append(cell)
    return " › ".join(parts)


@dataclass(kw_only=True, slots=True)
class Issue:
    """One finding about an input, with its position in Excel's terms."""

    # A plain dataclass, not a pydantic model: every command imports this module, and
    # pydantic's import is about 0.15 s, as long as a command's own work on a 1 M-line
    # store. The JSON Schema (schemas/issue.schema.json) still comes from pydantic, which
    # reads the fields' docstrings below as their descriptions.
    __pydantic_config__ = {"use_attribute_docstrings": True}

    code: str
    """Stable kebab-case issue code, see CODES."""
    severity: Severity = "error"
    """error stops the command."""
    message: str
    """Plain-English message for a finance officer."""
    file: str | None = None
    """File name (never its full path)."""
    sheet: str | None = None
    """Sheet name, or None for CSV/Parquet."""
    row: int | None = None
    """Row number as Excel shows it."""
    column: str | None = None
    """Column letter as Excel shows it."""
    header: str | None = None
    """The column's header text."""
    value: str | None = None
    """The offending cell value, as text."""
    note: str | None = None
    """What to do next."""

    def to_dict(self, exclude_none: bool = True) -> dict[str, str | int | None]:
        """The issue as JSON shows it: every field, or (the default) those that are set."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in out.items() if v is not None} if exclude_none else out

    def position(self) -> str:
        """Where the issue is, e.g. ``outturn.xlsx › 'RO Summary'!D14 (Net expenditure)``."""
        return excel_position(self.file, self.sheet, self.row, self.column, self.header)

    def __str__(self) -> str:
        where = self.position()
        message = self.message if len(self.message) <= 500 else self.message[:500] + "…"
        text = f"{where}: {message}" if where else message
        if self.note:
            text += f" {self.note}"
        return text


class PlacecountError(Exception):
    """placecount could not do what was asked."""

    exit_code = 1

    def __init__(self, message: str | None = None, issues: list[Issue] | None = None) -> None:
        self.issues: list[Issue] = list(issues or [])
        if message is None:
            message = str(self.issues[0]) if self.issues else (self.__doc__ or "").strip()
        super().__init__(message)


class InputError(PlacecountError):
    """An input cannot be used as asked; the user can fix it (exit code 2)."""

    exit_code = 2

    @classmethod
    def one(cls, code: str, message: str, **where: object) -> InputError:
        """Build the error from a single issue: ``InputError.one("bad-year", "...", file=...)``."""
        return cls(issues=[Issue(code=code, message=message, **where)])  # type: ignore[arg-type]


def shorten(text: object, limit: int = 80) -> str:
    """Text quoted in a message, cut to ``limit`` characters: a 10,000-character cell must
    not bury the message about it."""
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def column_letter(index: int) -> str:
    """Excel's letter for a 0-based column index: 0 → A, 27 → AB."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
