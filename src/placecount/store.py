"""The DuckDB store: the only module that talks to the database.

Tables:

- ``sources``: one row per ingested file and sheet, with its SHA-256, the units,
  region, share and part used, and its control totals;
- ``lines``: every row read, kept or left out with its reason, with the Excel
  row and column it came from and its amount in integer pence;
- ``allocations``: each kept line's pence split over COFOG codes (shares from the
  mapping, parts adding up exactly to the line).

The view ``spend_lines`` joins them with the file name, hash and sheet, so every
pound can be walked back to its cell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, PlacecountError
from .models import SourceRead, exact_sum

SCHEMA_VERSION = "3"
#: Line columns added in schema 2: a fixed list of names, never user text.
_V2_LINE_COLUMNS = (
    "spend_type",
    "org_code",
    "org_class",
    "measure",
    "sector",
    "identifiable",
    "table_name",
    "paid_on",
)

_DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS sources (
        source_id INTEGER PRIMARY KEY,
        kind VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        file_sha256 VARCHAR NOT NULL,
        file_size BIGINT NOT NULL,
        sheet VARCHAR,
        header_row INTEGER,
        org VARCHAR,
        financial_year VARCHAR,
        units VARCHAR NOT NULL,
        units_from VARCHAR,
        region VARCHAR,
        part VARCHAR,
        pesa_share VARCHAR,
        share_basis VARCHAR,
        mapping VARCHAR,
        mapping_sha256 VARCHAR,
        encoding VARCHAR,
        lines_kept INTEGER NOT NULL,
        lines_left_out INTEGER NOT NULL,
        -- a sum of lines: 95,000 lines of £999,999,999,999 pass a BIGINT's range
        total_pence HUGEINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS lines (
        line_id BIGINT NOT NULL,
        source_id INTEGER NOT NULL,
        excel_row INTEGER NOT NULL,
        excel_column VARCHAR,
        kind VARCHAR NOT NULL,
        org VARCHAR,
        financial_year VARCHAR,
        native_code VARCHAR,
        native_label VARCHAR,
        recipient VARCHAR,
        status VARCHAR,
        sponsor VARCHAR,
        part VARCHAR,
        amount_text VARCHAR,
        before_share_pence BIGINT,
        amount_pence BIGINT,
        included BOOLEAN NOT NULL,
        reason VARCHAR,
        mapped BOOLEAN NOT NULL,
        transfer_to VARCHAR,
        transfer_basis VARCHAR,
        spend_type VARCHAR,
        org_code VARCHAR,
        org_class VARCHAR,
        measure VARCHAR,
        sector VARCHAR,
        identifiable VARCHAR,
        table_name VARCHAR,
        paid_on VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS allocations (
        line_id BIGINT NOT NULL,
        cofog_code VARCHAR NOT NULL,
        share VARCHAR NOT NULL,
        amount_pence BIGINT NOT NULL,
        rule VARCHAR
    )""",
    """CREATE OR REPLACE VIEW spend_lines AS
        SELECT l.line_id, s.source_id, s.file_name, s.file_sha256, s.sheet,
               l.excel_row, l.excel_column, l.kind, l.org, l.financial_year,
               l.native_code, l.native_label, l.recipient, l.part, s.units,
               s.region, s.pesa_share, l.amount_text,
               CAST(l.amount_pence AS DECIMAL(18, 0)) / 100 AS amount_gbp,
               l.included, l.reason, l.mapped, l.transfer_to, l.transfer_basis,
               l.spend_type, l.org_code, l.org_class, l.measure, l.sector, l.identifiable,
               l.table_name, l.paid_on
        FROM lines l JOIN sources s USING (source_id)""",
]


#: How long to wait for another placecount process to finish with the database (seconds);
#: the environment variable PLACECOUNT_LOCK_WAIT changes it.
LOCK_WAIT = 10.0


def _connect(path: str, read_only: bool = False) -> Any:
    """Connect, waiting a little while another process holds the database's lock.

    DuckDB lets one process write a database file at a time: a second one gets a lock
    error at once. A finance officer running two commands should see the second wait,
    then either go ahead or get a plain "in use" message, never a damaged file.
    """
    import os
    import time

    import duckdb

    wait = float(os.environ.get("PLACECOUNT_LOCK_WAIT", LOCK_WAIT))
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if _is_damaged(exc):
                raise _damaged(path, exc) from exc
            locked = re.search(r"\block", message, re.IGNORECASE) is not None  # not "block"
            if locked and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            if locked:
                raise InputError.one(
                    "database-in-use",
                    f"the database {Path(path).name!r} is in use by another placecount "
                    f"process (waited {wait:g} s).",
                    note="Try again when it has finished.",
                ) from exc
            raise InputError.one(
                "database-error", f"cannot open the database {Path(path).name!r}: {message}"
            ) from exc


def _current_schema(con: Any) -> bool:
    """Whether a database holds placecount's tables at the current schema version."""
    import duckdb

    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except duckdb.Error:
        return False
    return bool(row) and row[0] == SCHEMA_VERSION


def _is_damaged(exc: BaseException) -> bool:
    """Whether a DuckDB error says the file itself is damaged (a checksum that does not
    match, or no DuckDB header), which waiting or retrying cannot mend."""
    text = str(exc).lower()
    return "corrupt database file" in text or "not a valid duckdb database file" in text


def _damaged(path: str, exc: BaseException) -> InputError:
    name = Path(path).name
    detail = str(exc).splitlines()[0].replace(f'"{Path(path).resolve()}"', repr(name))
    detail = detail.replace(f'"{path}"', repr(name))
    return InputError.one(
        "database-damaged",
        f"the database file is damaged: {name!r} cannot be read ({detail}); restore it or "
        "run `placecount run` again.",
    )


@contextmanager
def _arrow_only() -> Iterator[None]:
    """Hand DuckDB Arrow tables without it importing pandas (a quarter of a second) just to
    check their type: only when the caller has not imported pandas already."""
    import sys

    if "pandas" in sys.modules:
        yield
        return
    sys.modules["pandas"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        del sys.modules["pandas"]


@dataclass
class Prepared:
    """One source ready to be written: its lines, their COFOG allocations and the mapping."""

    read: SourceRead
    allocations: Any  # Arrow table: line_index, cofog_code, share, amount_pence, rule
    mapping_name: str | None
    mapping_sha256: str | None


@dataclass
class Written:
    """What happened to one prepared source."""

    source_id: int | None
    status: str  # "added", "replaced", "unchanged"


#: The lines table's columns filled from a reader's table (column, the reader's field):
#: a fixed list, never names from a file.
_LINE_FIELDS = (
    ("excel_row", "row"),
    ("excel_column", "column"),
    ("org", "org"),
    ("financial_year", "year"),
    ("native_code", "native_code"),
    ("native_label", "native_label"),
    ("recipient", "recipient"),
    ("status", "status"),
    ("sponsor", "sponsor"),
    ("part", "part"),
    ("amount_text", "amount_text"),
    ("before_share_pence", "before_share_pence"),
    ("amount_pence", "amount_pence"),
    ("included", "included"),
    ("reason", "reason"),
    ("mapped", "mapped"),
    ("transfer_to", "transfer_to"),
    ("transfer_basis", "transfer_basis"),
    ("spend_type", "spend_type"),
    ("org_code", "org_code"),
    ("org_class", "org_class"),
    ("measure", "measure"),
    ("sector", "sector"),
    ("identifiable", "identifiable"),
    ("table_name", "table_name"),
    ("paid_on", "paid_on"),
)
_INSERT_LINES = """INSERT INTO lines (line_id, source_id, kind{columns})
SELECT ? + l.i, ?, ?{fields} FROM incoming_lines l"""


def _literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


#: DuckDB's JSON escape of a control character (``\u001F``: Python's hex digits are small),
#: with the escaped backslashes before it (a backslash that begins an escape follows an even
#: number of them: ``\\u001F`` is a backslash, then the text u001F, and stays as it is).
_UPPER_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u00([0-9A-F]{2})")


def _small_hex(text: str) -> str:
    """DuckDB's JSON text with each ``\\u00XX`` escape's hex digits as Python writes them."""
    if "\\u00" not in text:
        return text
    return _UPPER_ESCAPE.sub(lambda m: m.group(1) + "\\u00" + m.group(2).lower(), text)


def _quote(name: str) -> str:
    """An identifier, quoted (the names here are this module's own)."""
    return '"' + name.replace('"', '""') + '"'


class Store:
    """A placecount database file.

    >>> with Store.open(":memory:") as store:  # doctest: +SKIP
    ...     store.sources()
    []
    """

    def __init__(self, con: Any, path: str) -> None:
        self.con = con
        self.path = path

    @classmethod
    @contextmanager
    def open(
        cls, path: str | Path, create: bool = True, read_only: bool = False
    ) -> Iterator[Store]:
        """Open (and with ``create``, make) the database at ``path``; ``read_only`` for a
        command that only reads, so a database in a read-only file or folder (an archived
        count, a colleague's share) can still be reported from, beside other readers."""

        text = str(path)
        if text != ":memory:" and not create and not Path(text).exists():
            raise InputError.one(
                "database-error",
                f"there is no database {Path(text).name!r} here.",
                note="Run `placecount init` first, or point at it with --db PATH.",
            )
        read_only = read_only and text != ":memory:" and not create
        con = _connect(text, read_only)
        if read_only and not _current_schema(con):
            con.close()  # an older schema is upgraded first: that is a write
            con = _connect(text)
        store = cls(con, text)
        try:
            store._ensure_schema()
            # How names are compared across tables: lower case, other characters as one space.
            con.execute(
                "CREATE OR REPLACE TEMP MACRO norm(x) AS "
                "trim(regexp_replace(lower(coalesce(x, '')), '[^a-z0-9]+', ' ', 'g'))"
            )
            yield store
        except Exception as exc:
            if _is_damaged(exc):
                raise _damaged(text, exc) from exc
            raise
        finally:
            con.close()

    def _ensure_schema(self) -> None:
        tables = {
            r[0]
            for r in self.con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        if tables and "meta" not in tables:
            raise InputError.one(
                "database-error",
                f"{Path(self.path).name!r} is a DuckDB database but not a placecount one.",
                note="Use another --db PATH.",
            )
        if "meta" in tables:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row and row[0] == "1":
                self._upgrade_from_1()
                row = ("2",)
            if row and row[0] == "2":
                self._upgrade_from_2()
                return
            if row and row[0] != SCHEMA_VERSION:
                raise InputError.one(
                    "database-error",
                    f"the database was made by another version of placecount (schema {row[0]}).",
                )
            return
        self.con.execute("BEGIN TRANSACTION")
        for ddl in _DDL:
            self.con.execute(ddl)
        self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        self.con.execute("COMMIT")

    def _upgrade_from_1(self) -> None:
        """Schema 1 databases gain the line columns of schema 2 (empty for old lines)."""
        self.con.execute("BEGIN TRANSACTION")
        for name in _V2_LINE_COLUMNS:
            self.con.execute(f"ALTER TABLE lines ADD COLUMN IF NOT EXISTS {name} VARCHAR")
        self.con.execute(_DDL[-1])
        self.con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        self.con.execute("COMMIT")

    def _upgrade_from_2(self) -> None:
        """Schema 2 databases hold each source's total as HUGEINT (a sum can pass BIGINT)."""
        self.con.execute("BEGIN TRANSACTION")
        self.con.execute("ALTER TABLE sources ALTER total_pence TYPE HUGEINT")
        self.con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION])
        self.con.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------

    def find_existing(self, read: SourceRead) -> list[tuple[int, str]]:
        """Sources that are this file's sheet (same hash) or an earlier version of it.

        In a table of many bodies, only sources holding one of the same bodies count: the
        other rows of the sheet are other bodies' spending.
        """
        if read.bodies:
            rows = self.con.execute(
                """SELECT DISTINCT s.source_id, s.file_sha256 FROM sources s
                   JOIN lines l USING (source_id)
                   WHERE s.kind = ? AND s.sheet IS NOT DISTINCT FROM ?
                     AND (s.file_sha256 = ? OR s.file_name = ?) AND list_contains(?, l.org)
                   ORDER BY s.source_id""",
                [read.kind, read.sheet, read.file_sha256, read.file_name, read.bodies],
            ).fetchall()
            return [(int(r[0]), str(r[1])) for r in rows]
        rows = self.con.execute(
            """SELECT source_id, file_sha256 FROM sources
               WHERE kind = ? AND sheet IS NOT DISTINCT FROM ? AND region IS NOT DISTINCT FROM ?
                 AND (file_sha256 = ? OR (file_name = ? AND org IS NOT DISTINCT FROM ?))
               ORDER BY source_id""",
            [read.kind, read.sheet, read.region, read.file_sha256, read.file_name, read.org],
        ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def _same_bodies(self, source_ids: list[int], read: SourceRead) -> bool:
        """True unless a table of many bodies is read for other bodies than those stored."""
        if not read.bodies:
            return True
        stored = self.con.execute(
            "SELECT DISTINCT org FROM lines WHERE list_contains(?, source_id)", [source_ids]
        ).fetchall()
        return {r[0] for r in stored} == set(read.bodies)

    def write(self, prepared: Sequence[Prepared], replace: bool) -> list[Written]:
        """Write sources in one transaction: all of them, or (on any error) none."""
        import pyarrow as pa

        results: list[Written] = []
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for p in prepared:
                read = p.read
                existing = self.find_existing(read)
                same = [sid for sid, sha in existing if sha == read.file_sha256]
                if existing and not replace:
                    if same and self._same_bodies(same, read):
                        results.append(Written(same[0], "unchanged"))
                        continue
                    if same:
                        raise InputError.one(
                            "conflicting-source",
                            "some of these bodies are already ingested from this sheet, "
                            "with others: adding them again would count them twice.",
                            file=read.file_name,
                            sheet=read.sheet,
                            note="Use --replace, naming every body wanted from this sheet.",
                        )
                    raise InputError.one(
                        "conflicting-source",
                        "a different version of this file and sheet is already ingested; "
                        "adding it too would count it twice.",
                        file=read.file_name,
                        sheet=read.sheet,
                        note="Use --replace to swap the old lines for the new.",
                    )
                for sid, _ in existing:
                    con.execute(
                        "DELETE FROM allocations WHERE line_id IN "
                        "(SELECT line_id FROM lines WHERE source_id = ?)",
                        [sid],
                    )
                    con.execute("DELETE FROM lines WHERE source_id = ?", [sid])
                    con.execute("DELETE FROM sources WHERE source_id = ?", [sid])
                source_id = int(
                    con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchone()[0]
                )
                first_line = int(
                    con.execute("SELECT coalesce(max(line_id), 0) + 1 FROM lines").fetchone()[0]
                )
                con.execute(
                    "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?, ?)",
                    [
                        source_id,
                        read.kind,
                        read.file_name,
                        read.file_sha256,
                        read.file_size,
                        read.sheet,
                        read.header_row,
                        read.org,
                        read.year,
                        read.units,
                        read.units_from,
                        read.region,
                        read.part,
                        read.share,
                        read.share_basis,
                        p.mapping_name,
                        p.mapping_sha256,
                        read.encoding,
                        read.kept_count,
                        read.left_out_count,
                        read.total_pence,
                    ],
                )
                import pyarrow as pa

                from .sources._table import arange

                index = arange(0, read.table.num_rows, pa.int64())
                indexed = read.table.append_column("i", index)
                with _arrow_only():
                    con.register("incoming_lines", indexed)
                    con.register("incoming_allocations", p.allocations)
                # line ids follow the rows' order in the file; nothing here depends on a clock.
                # Columns the sheet leaves empty are left to their default (NULL), which
                # DuckDB stores as a constant rather than row by row.
                filled = [
                    (column, field)
                    for column, field in _LINE_FIELDS
                    if read.table.column(field).null_count < read.table.num_rows
                ]
                con.execute(
                    _INSERT_LINES.replace(
                        "{columns}", "".join(", " + _quote(c) for c, _ in filled)
                    ).replace("{fields}", "".join(", l." + _quote(f) for _, f in filled)),
                    [first_line, source_id, read.kind],
                )
                con.execute(
                    """INSERT INTO allocations
                       SELECT ? + line_index, cofog_code, share, amount_pence, rule
                       FROM incoming_allocations""",
                    [first_line],
                )
                con.unregister("incoming_lines")
                con.unregister("incoming_allocations")
                self._check_control_totals(source_id, read, p.allocations, first_line)
                results.append(Written(source_id, "replaced" if existing else "added"))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return results

    def _check_control_totals(
        self, source_id: int, read: SourceRead, allocations: Any, first_line: int
    ) -> None:
        """Stored sums must equal the sums read; a difference is placecount's fault.

        The source's lines have the ids from ``first_line`` on, one a row read, and no line
        had them before (they follow the largest id stored): its allocations are those whose
        line ids are in that range, found without joining every allocation to its line.
        """
        stored_lines, stored_alloc = self.con.execute(
            """SELECT
                 (SELECT coalesce(sum(amount_pence), 0) FROM lines
                   WHERE source_id = ? AND included),
                 (SELECT coalesce(sum(amount_pence), 0) FROM allocations
                   WHERE line_id >= ? AND line_id < ?)""",
            [source_id, first_line, first_line + read.table.num_rows],
        ).fetchone()
        mapped_read = exact_sum(allocations.column("amount_pence"))
        if int(stored_lines) != read.total_pence or int(stored_alloc) != mapped_read:
            raise PlacecountError(
                f"control total mismatch for {read.file_name}: read {read.total_pence} pence, "
                f"stored {stored_lines}; this is a placecount bug."
            )

    # -- reading ---------------------------------------------------------------------------

    def query(
        self, sql: str, params: Sequence[object] | dict[str, object] = ()
    ) -> list[dict[str, Any]]:
        """Rows of a read-only query as dictionaries."""
        cur = self.con.execute(sql, params if isinstance(params, dict) else list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def sources(self) -> list[dict[str, Any]]:
        return self.query(
            """SELECT source_id, kind, file_name, file_sha256, sheet, header_row, org,
                      financial_year, units, units_from, region, part, pesa_share, share_basis,
                      mapping, lines_kept, lines_left_out, total_pence
               FROM sources ORDER BY source_id"""
        )

    def json_rows(self, sql: str, params: Sequence[object] = (), level: int = 0) -> str:
        """Rows of a query as the JSON list :func:`placecount._json.dumps` writes of them
        (``json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False)``, ``level``
        deep), byte for byte, written by DuckDB: a quarter of a million lines take a
        quarter of the time of making each a Python dict and encoding it.

        Columns must be text, whole numbers or booleans (a query of ours, never a user's).
        """
        return "".join(self.json_chunks(sql, params, level))

    def json_chunks(
        self, sql: str, params: Sequence[object] = (), level: int = 0, batch: int = 20_000
    ) -> Iterator[str]:
        """The text of :meth:`json_rows` in pieces of ``batch`` rows, as the database hands
        them over: written out as they come, a list of a million rows is never held whole."""
        cur = self.con.execute(f"SELECT * FROM ({sql}) LIMIT 0", list(params))  # noqa: S608
        columns = sorted((d[0], str(d[1])) for d in cur.description)
        member = "  " * (level + 2)
        parts: list[str] = []
        for i, (name, kind) in enumerate(columns):
            if kind == "VARCHAR":
                value = f"to_json({_quote(name)})"
            elif kind in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}:
                value = f"CAST({_quote(name)} AS VARCHAR)"
            elif kind == "BOOLEAN":
                value = (
                    f"CASE WHEN {_quote(name)} THEN 'true' WHEN NOT {_quote(name)} THEN 'false' END"
                )
            else:
                raise TypeError(f"json_rows: column {name!r} is {kind}")
            key = ("{" if i == 0 else ",") + "\n" + member + json.dumps(name, ensure_ascii=False)
            parts += [_literal(key + ": "), f"coalesce({value}, 'null')"]
        inner = "  " * (level + 1)
        parts.append(_literal("\n" + inner + "}"))
        cur = self.con.execute(
            f"SELECT concat({', '.join(parts)}) FROM ({sql}) AS q",  # noqa: S608
            list(params),
        )
        between = ",\n" + inner
        start = "[\n" + inner
        while rows := cur.fetchmany(batch):
            # a row's text is whole in its piece: no escape spans two pieces
            yield start + _small_hex(between.join(t for (t,) in rows))
            start = between
        yield "[]" if start != between else "\n" + "  " * level + "]"

    #: Every kept line no mapping row matches, in file order, its amount in pounds.
    UNMAPPED_LINES = """SELECT s.file_name, s.sheet, l.excel_row, l.excel_column, l.kind, l.org,
                      l.native_code, l.native_label, l.amount_text,
                      CAST(CAST(coalesce(l.amount_pence, 0) AS DECIMAL(38, 0)) * 0.01
                           AS DECIMAL(38, 2))::VARCHAR AS amount_gbp
               FROM lines l JOIN sources s USING (source_id)
               WHERE l.included AND NOT l.mapped
               ORDER BY l.source_id, l.excel_row, l.line_id"""

    def unmapped(self) -> list[dict[str, Any]]:
        """Every kept line no mapping row matches, in file order, its amount in pounds."""
        return self.query(self.UNMAPPED_LINES)

    def unmapped_table(self) -> tuple[Any, Any]:
        """The same lines as :meth:`unmapped`, as an Arrow table with ``pence`` (not
        ``amount_gbp``) and the order to read it in: see :func:`sorted_table`."""
        return sorted_table(
            self.con,
            """SELECT s.file_name, s.sheet, l.excel_row, l.excel_column, l.kind, l.org,
                      l.native_code, l.native_label, l.amount_text,
                      coalesce(l.amount_pence, 0) AS pence, l.source_id, l.line_id
               FROM lines l JOIN sources s USING (source_id)
               WHERE l.included AND NOT l.mapped""",
            (),
            ("source_id", "excel_row", "line_id"),
        )

    def excluded_table(self) -> tuple[Any, Any]:
        """Rows read but left out of the count, with their reasons, as an Arrow table
        (``pence`` NULL where no amount was read) and the order to read them in (file
        order): see :func:`sorted_table`."""
        return sorted_table(
            self.con,
            """SELECT s.file_name, s.sheet, l.excel_row, l.kind, l.org, l.native_code,
                      l.native_label, l.amount_text, l.amount_pence AS pence, l.reason,
                      l.source_id, l.line_id
               FROM lines l JOIN sources s USING (source_id)
               WHERE NOT l.included""",
            (),
            ("source_id", "excel_row", "line_id"),
        )

    def unmapped_groups(self, limit: int | None = None) -> dict[str, Any]:
        """Kept lines no mapping row matches, one row per file, sheet, body, code and label
        (largest amount first, the first ``limit`` of them), with the lines, the first row
        and the amount; and the totals over all of them."""
        # one pass over the lines: the totals are taken over the groups, before the cut
        rows = self.query(
            """WITH g AS (
                 SELECT l.source_id, l.kind, l.org, l.native_code, l.native_label,
                        count(*) AS lines, min(l.excel_row) AS first_row,
                        coalesce(sum(l.amount_pence), 0) AS pence
                 FROM lines l WHERE l.included AND NOT l.mapped
                 GROUP BY ALL)
               SELECT s.file_name, s.sheet, g.kind, g.org, g.native_code, g.native_label,
                      g.lines, g.first_row,
                      CAST(CAST(g.pence AS DECIMAL(38, 0)) * 0.01 AS DECIMAL(38, 2))::VARCHAR
                        AS amount_gbp,
                      sum(g.lines) OVER () AS all_lines, count(*) OVER () AS label_count,
                      CAST(CAST(sum(g.pence) OVER () AS DECIMAL(38, 0)) * 0.01
                           AS DECIMAL(38, 2))::VARCHAR AS all_gbp
               FROM g JOIN sources s USING (source_id)
               ORDER BY abs(g.pence) DESC, g.source_id, g.native_label NULLS FIRST,
                        g.native_code NULLS FIRST, g.org NULLS FIRST
               LIMIT $limit""",
            {"limit": limit},
        )
        totals = {"lines": 0, "label_count": 0, "amount_gbp": "0.00"}
        if rows:
            first = rows[0]
            totals = {
                "lines": int(first["all_lines"]),
                "label_count": int(first["label_count"]),
                "amount_gbp": first["all_gbp"],
            }
        for row in rows:
            del row["all_lines"], row["label_count"], row["all_gbp"]
        return {"labels": rows, **totals}

    def unmapped_labels(self) -> list[dict[str, Any]]:
        """Kept lines no mapping row matches, one row per kind, code, label and parent."""
        return self.query(
            """SELECT kind, native_code, native_label, table_name AS parent,
                      count(*) AS lines, coalesce(sum(amount_pence), 0) AS pence
               FROM lines WHERE included AND NOT mapped
               GROUP BY ALL ORDER BY abs(coalesce(sum(amount_pence), 0)) DESC, kind,
                        native_label, native_code"""
        )

    # -- mapping again, without reading the files again -------------------------------------

    def lines_to_map(self, kind: str) -> Any:
        """A kind's stored lines as a line table for :func:`placecount.cofog.map_lines`.

        ``left_out_by`` holds the reason of lines a mapping row left out (outside the
        count, not spending, a transfer), which a new mapping may bring back.
        """
        return self.con.sql(
            """SELECT line_id, excel_row AS "row", native_code, native_label, table_name,
                      amount_pence, included, reason, transfer_to, transfer_basis, mapped,
                      CAST(NULL AS VARCHAR) AS cofog
               FROM lines WHERE kind = $kind ORDER BY line_id""",
            params={"kind": kind},
        ).to_arrow_table()

    def replace_mapping(self, table: Any, allocations: Any) -> None:
        """Store lines mapped again: their allocations, kept/left-out state and transfers."""
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = table.column("line_id")
        new_lines = pa.table(
            {
                "line_id": ids,
                "included": table.column("included"),
                "reason": table.column("reason"),
                "mapped": table.column("mapped"),
                "transfer_to": table.column("transfer_to"),
                "transfer_basis": table.column("transfer_basis"),
            }
        )
        new_allocations = pa.table(
            {
                "line_id": pc.take(ids, allocations.column("line_index")),
                "cofog_code": allocations.column("cofog_code"),
                "share": allocations.column("share"),
                "amount_pence": allocations.column("amount_pence"),
                "rule": allocations.column("rule"),
            }
        )
        con = self.con
        con.register("remapped_lines", new_lines)
        con.register("remapped_allocations", new_allocations)
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "DELETE FROM allocations WHERE line_id IN (SELECT line_id FROM remapped_lines)"
            )
            con.execute(
                """UPDATE lines SET included = r.included, reason = r.reason, mapped = r.mapped,
                          transfer_to = r.transfer_to, transfer_basis = r.transfer_basis
                   FROM remapped_lines r WHERE lines.line_id = r.line_id"""
            )
            con.execute(
                "INSERT INTO allocations SELECT line_id, cofog_code, share, amount_pence, rule "
                "FROM remapped_allocations"
            )
            con.execute("COMMIT")
        finally:
            con.unregister("remapped_lines")
            con.unregister("remapped_allocations")

    def moves_from(self, before: str) -> list[dict[str, Any]]:
        """Money that another database (the same lines, mapped otherwise) puts elsewhere.

        Each line is placed by division ('unmapped' when no row maps it, 'outside' when a
        row leaves it out); a line split over several divisions is 'several'.
        """
        self.con.execute("ATTACH ? AS before_remap (READ_ONLY)", [before])
        try:
            return self.query(_MOVES)
        finally:
            self.con.execute("DETACH before_remap")


#: Each kept line's COFOG allocations (and each unmapped line, whole), weighed by a
#: theme and given a treatment. {base} is one row per allocation (_LINE_BASE: for trace,
#: the xlsx and the transfer check) or one row per group of allocations that the count
#: cannot tell apart (_GROUPED_BASE: for the count's sums).
_CLASSIFIED = """
WITH base AS ({base}),
natured AS (
    SELECT b.*,
        coalesce(k.basis, 'actual') AS basis,
        coalesce(CASE upper(b.line_sector) WHEN 'LA' THEN 'LG' ELSE upper(b.line_sector) END,
                 CASE b.part WHEN 'central' THEN 'CG' WHEN 'local' THEN 'LG'
                      WHEN 'public-corporation' THEN 'PC' WHEN 'total' THEN 'total' END,
                 k.sector) AS sector,
        coalesce(b.spend_type, CASE WHEN sn.capital_sheet THEN 'capital' END, k.economic,
                 'unknown') AS economic,
        CASE WHEN {driver_columns_first} IS NOT NULL THEN 'driver'
             WHEN k.basis = 'estimate' THEN coalesce(sn.grade, k.grade)
             ELSE coalesce(k.grade, 'actual') END AS grade,
        {driver_columns}{replaced_columns}
    FROM base b
    LEFT JOIN kind_nature k ON k.kind = b.kind
    LEFT JOIN source_nature sn ON sn.source_id = b.source_id
    {replaced_join}
    {driven_join}
),
weighted AS (
    SELECT b.* FROM natured b
)
SELECT w.*,
    w.amount_pence AS pence,
    CASE
        WHEN w.kind = 'payments' AND w.part IS DISTINCT FROM 'partial, counted'
            THEN 'not-counted'
        WHEN w.kind = 'ndpb' AND NOT list_contains($ndpb_added, norm(w.sponsor))
             AND NOT list_contains($ndpb_bodies_added, norm(w.org))
            THEN 'ndpb-memo'
        WHEN w.kind = 'pesa'
             AND (list_contains($outside_labels, lower(trim(w.native_label)))
                  OR (w.identifiable = 'non-identifiable' AND NOT $non_identifiable_per_head))
            THEN 'outside'
        WHEN $transfers AND w.transfer_to IS NOT NULL
             AND (list_contains($orgs, norm(w.transfer_to))
                  OR list_contains($kinds, norm(w.transfer_to)))
             AND norm(w.transfer_to) <> norm(w.org)
             -- a contribution to a body whose figures are net of it is spent only here
             AND (NOT list_contains($net_recipients, norm(w.transfer_to))
                  OR ends_with(coalesce(w.transfer_basis, ''), '(financing)'))
            THEN 'transfer'
        WHEN $replace AND w.replaced_by IS NOT NULL
            THEN 'replaced'
        ELSE 'counted'
    END AS treatment,
    CASE $level
        WHEN 'division' THEN substr(w.cofog_code, 1, 2)
        WHEN 'group' THEN CASE WHEN length(w.cofog_code) >= 4
                               THEN substr(w.cofog_code, 1, 4) ELSE w.cofog_code END
        ELSE w.cofog_code
    END AS level_code,
    (len($f_kinds) = 0 OR list_contains($f_kinds, w.kind))
      AND (len($f_orgs) = 0 OR list_contains($f_orgs, norm(w.org)))
      AND (len($f_codes) = 0 OR list_has_any($f_codes,
           [w.cofog_code, substr(w.cofog_code, 1, 2), substr(w.cofog_code, 1, 4)]))
      AS in_view
FROM weighted w
"""

#: --kind is applied as the lines are read (it is applied again in ``in_view``), and
#: trace's code as a prefix of the allocation's code (``{code_alloc}``, ``{code_unmapped}``),
#: so that a trace reads only the lines it shows.
_KIND_FILTER = " AND (len($f_kinds) = 0 OR list_contains($f_kinds, l.kind))"
_CODE_ALLOC = " AND ($code IS NULL OR ($code <> '' AND starts_with(a.cofog_code, $code)))"
_CODE_UNMAPPED = " AND ($code IS NULL OR $code = '')"

#: One row per allocation, with the cell it came from. The theme's share (NULL: the
#: theme leaves it out) comes from small tables of matches made once (see ``classify``),
#: and the pence are weighed by it line by line, rounded once each.
_LINE_BASE = """
    SELECT * EXCLUDE (amount_pence), CASE WHEN theme_share = 1 THEN amount_pence
        ELSE CAST(round(amount_pence * theme_share) AS BIGINT) END AS amount_pence
    FROM (
        SELECT l.line_id, l.source_id, l.kind, l.org, l.part, l.sponsor, l.transfer_to,
               l.transfer_basis, l.native_code, l.native_label, l.excel_row, l.excel_column,
               l.sector AS line_sector, l.spend_type, l.identifiable,
               a.cofog_code, a.share AS cofog_share, a.amount_pence,
               {theme_share_alloc} AS theme_share
        FROM lines l JOIN allocations a USING (line_id) {theme_joins_alloc}
        WHERE l.included{kind_filter}{code_alloc}{not_driven}
        UNION ALL
        SELECT l.line_id, l.source_id, l.kind, l.org, l.part, l.sponsor, l.transfer_to,
               l.transfer_basis, l.native_code, l.native_label, l.excel_row, l.excel_column,
               l.sector, l.spend_type, l.identifiable,
               NULL, '1', l.amount_pence, {theme_share_line} AS theme_share
        FROM lines l {theme_joins_line}
        WHERE l.included AND NOT l.mapped{kind_filter}{code_unmapped}
    ) x WHERE theme_share IS NOT NULL
"""

#: The count needs sums, not lines: allocations the classification cannot tell apart
#: are summed as they are read, before the (costlier) classification of each row. What
#: a row keeps is what the treatment, nature and summary look at: the line's id only for
#: transfers and NDPBs (counted exactly), its label only for transfers and PESA lines
#: that may be outside a place count, its body only where a treatment or --org reads it.
_GROUPED_BASE = """
    SELECT line_id, source_id, kind, org, part, sponsor, transfer_to, transfer_basis,
           CAST(NULL AS VARCHAR) AS native_code, native_label,
           CAST(NULL AS INTEGER) AS excel_row, CAST(NULL AS VARCHAR) AS excel_column,
           line_sector, spend_type, identifiable, cofog_code,
           CAST(NULL AS VARCHAR) AS cofog_share,
           replaced_by, replaced_kind, replaced_coarse, replaced_what, theme_share,
           sum(CASE WHEN theme_share = 1 THEN amount_pence
                    ELSE CAST(round(amount_pence * theme_share) AS BIGINT) END) AS amount_pence
    FROM (
        SELECT {grouped_keys}, a.cofog_code, a.amount_pence, {replaced_base},
               {theme_share_alloc} AS theme_share
        FROM lines l JOIN allocations a USING (line_id) {theme_joins_alloc} {replaced_base_join}
        WHERE l.included{kind_filter}
        UNION ALL
        SELECT {grouped_keys}, NULL, l.amount_pence,
               NULL, NULL, NULL, NULL, {theme_share_line} AS theme_share
        FROM lines l {theme_joins_line}
        WHERE l.included AND NOT l.mapped{kind_filter}
    ) x WHERE theme_share IS NOT NULL
    GROUP BY ALL
"""
_GROUPED_KEYS = """CASE WHEN l.transfer_to IS NOT NULL OR l.kind = 'ndpb' THEN l.line_id END
                   AS line_id,
               l.source_id, l.kind,
               CASE WHEN l.transfer_to IS NOT NULL OR l.kind = 'ndpb' OR len($f_orgs) > 0
                    THEN l.org END AS org,
               l.part, CASE WHEN l.kind = 'ndpb' THEN l.sponsor END AS sponsor,
               l.transfer_to, l.transfer_basis,
               CASE WHEN l.transfer_to IS NOT NULL
                         OR (l.kind = 'pesa' AND (l.identifiable = 'non-identifiable'
                             OR list_contains($outside_labels, lower(trim(l.native_label)))))
                    THEN l.native_label END AS native_label,
               l.sector AS line_sector, l.spend_type, l.identifiable"""
_REPLACED_BASE = (
    "rp.rule AS replaced_by, rp.actual_kind AS replaced_kind, "
    "rp.coarse AS replaced_coarse, rp.what AS replaced_what"
)
_REPLACED_BASE_JOIN = (
    "LEFT JOIN replaced rp ON rp.line_id = l.line_id AND rp.cofog_code = a.cofog_code"
)
_NO_REPLACED_BASE = (
    "CAST(NULL AS VARCHAR) AS replaced_by, CAST(NULL AS VARCHAR) AS replaced_kind, "
    "CAST(NULL AS BOOLEAN) AS replaced_coarse, CAST(NULL AS VARCHAR) AS replaced_what"
)

#: A theme's share of an allocation: the largest share of the rules that take it, by
#: its code (``theme_cofog``), its label or its native code. Each table is made once per
#: count over the distinct codes, labels and native codes, not once per line.
_THEME_TABLES = [
    """CREATE OR REPLACE TEMP TABLE theme_cofog AS
    SELECT k.kind, c.cofog_code, max(r.share) AS share
    FROM (SELECT DISTINCT kind FROM lines) k, (SELECT DISTINCT cofog_code FROM allocations) c,
         theme_rules r
    WHERE r.cofog IS NOT NULL AND (r.kind IS NULL OR r.kind = k.kind)
      AND (c.cofog_code = r.cofog OR starts_with(c.cofog_code, r.cofog || '.'))
    GROUP BY ALL""",
    """CREATE OR REPLACE TEMP TABLE theme_label AS
    SELECT k.kind, k.native_label, max(r.share) AS share
    FROM (SELECT DISTINCT kind, native_label FROM lines
          WHERE (SELECT count(*) FROM theme_rules WHERE label IS NOT NULL) > 0) k
    JOIN theme_rules r ON r.label IS NOT NULL AND norm(k.native_label) = r.label
         AND (r.kind IS NULL OR r.kind = k.kind)
    GROUP BY ALL""",
    """CREATE OR REPLACE TEMP TABLE theme_code AS
    SELECT k.kind, k.native_code, max(r.share) AS share
    FROM (SELECT DISTINCT kind, native_code FROM lines
          WHERE (SELECT count(*) FROM theme_rules WHERE code IS NOT NULL) > 0) k
    JOIN theme_rules r ON r.code IS NOT NULL AND norm(k.native_code) = r.code
         AND (r.kind IS NULL OR r.kind = k.kind)
    GROUP BY ALL""",
]
_THEME_JOINS_LINE = (
    "LEFT JOIN theme_label tl ON tl.kind = l.kind "
    "AND tl.native_label IS NOT DISTINCT FROM l.native_label "
    "LEFT JOIN theme_code tn ON tn.kind = l.kind "
    "AND tn.native_code IS NOT DISTINCT FROM l.native_code"
)
_THEME_JOINS_ALLOC = (
    "LEFT JOIN theme_cofog tc ON tc.kind = l.kind AND tc.cofog_code = {code} " + _THEME_JOINS_LINE
)
_THEME_SHARE_LINE = "greatest(tl.share, tn.share)"
_THEME_SHARE_ALLOC = "greatest(tc.share, tl.share, tn.share)"
_NO_THEME = "CAST(1 AS DECIMAL(18, 6))"

#: Estimates apportioned by a driver of placecount.toml instead of the share given at
#: ingest: the region's pence (before any share) × the COFOG share × the driver's share,
#: rounded once, half to even. The first driver that fits an allocation applies.
_DRIVEN = """
CREATE OR REPLACE TEMP TABLE driven AS
WITH m AS (
    SELECT l.line_id, a.cofog_code, a.share AS cofog_share, l.before_share_pence,
           dr.driver_id, dr.basis, dr.share
    FROM lines l JOIN allocations a USING (line_id) JOIN drivers dr
      ON (dr.cofog IS NULL OR starts_with(a.cofog_code, dr.cofog))
     AND (dr.department IS NULL OR starts_with(norm(l.org), dr.department))
    WHERE l.included AND l.kind = 'pesa' AND l.before_share_pence IS NOT NULL
)
SELECT line_id, cofog_code, arg_min(cofog_share, driver_id) AS cofog_share,
    arg_min(basis, driver_id) AS driver, arg_min(share, driver_id) AS driver_share,
    CAST(round_even(arg_min(CAST(before_share_pence AS DECIMAL(18, 0))
         * CAST(cofog_share AS DECIMAL(18, 9)) * CAST(share AS DECIMAL(18, 9)), driver_id), 0)
         AS BIGINT) AS pence
FROM m GROUP BY line_id, cofog_code
"""

#: Each source's nature: the grade of its estimates (by the basis of its share) and
#: whether its sheet says capital.
_SOURCE_NATURE = """
CREATE OR REPLACE TEMP TABLE source_nature AS
SELECT source_id,
    CASE WHEN kind <> 'pesa' THEN 'actual'
         WHEN starts_with(lower(coalesce(share_basis, '')), 'population') THEN 'population'
         WHEN starts_with(lower(coalesce(share_basis, '')), 'driver') THEN 'driver'
         ELSE NULL END AS grade,
    regexp_matches(lower(coalesce(sheet, '')), '\\bcapital\\b')
      AND NOT regexp_matches(lower(coalesce(sheet, '')), 'current|revenue') AS capital_sheet
FROM sources
"""

#: The level each PESA / CRA source's estimates carry: organisations, departments or
#: functions only: the start of a WITH clause, put in for {pesa_level} in the two queries
#: below.
_PESA_LEVEL = """WITH lv AS (
    SELECT source_id,
        CASE WHEN bool_or(contains(coalesce(org, ''), ' / ')) THEN 'organisation'
             WHEN bool_or(org IS NOT NULL AND norm(org) <> 'central government pesa')
                THEN 'department'
             ELSE 'function' END AS level
    FROM (SELECT DISTINCT source_id, org FROM lines WHERE kind = 'pesa' AND included)
    GROUP BY source_id
),
"""

#: The estimates (PESA and CRA allocations) that a counted actual covers, with the first
#: coverage rule that matches each. The level an estimate carries is its source's: a CRA
#: database names organisations ("Department / Organisation"), a long extract departments,
#: a wide table only functions. A rule naming a department or an organisation the
#: estimate does not carry matches only at its coarse COFOG code, and says so.
_REPLACED_RULES = """
CREATE OR REPLACE TEMP TABLE replaced_rules AS
{pesa_level}names AS (  -- each organisation's name parts, worked once, not once a line
    SELECT org,
        norm(split_part(coalesce(org, ''), ' / ', 1)) AS dept,
        norm(CASE WHEN contains(coalesce(org, ''), ' / ')
                  THEN substr(org, strpos(org, ' / ') + 3) ELSE org END) AS orgn
    FROM (SELECT DISTINCT org FROM lines WHERE kind = 'pesa' AND included)
),
combos AS (  -- the rules are matched once per code, level, body and sector, not per line
    SELECT DISTINCT c.cofog_code, lv.level, c.org, c.sector, n.dept, n.orgn
    FROM (
        SELECT DISTINCT l.source_id, l.org, a.cofog_code,
            coalesce(CASE upper(l.sector) WHEN 'LA' THEN 'LG' ELSE upper(l.sector) END,
                     CASE l.part WHEN 'central' THEN 'CG' WHEN 'local' THEN 'LG'
                          WHEN 'public-corporation' THEN 'PC' WHEN 'total' THEN 'total' END)
              AS sector
        FROM lines l JOIN allocations a USING (line_id)
        WHERE l.included AND l.kind = 'pesa'
    ) c JOIN lv USING (source_id) JOIN names n ON n.org IS NOT DISTINCT FROM c.org
),
m AS (
    SELECT e.*, r.rule_id, r.rule, r.actual_kind,
        NOT ((r.organisation IS NULL OR e.level = 'organisation')
             AND (r.department IS NULL OR e.level <> 'function')) AS coarse
    FROM combos e JOIN coverage_rules r ON r.sector = e.sector
    WHERE (r.cofog IS NULL OR starts_with(e.cofog_code, r.cofog))
      AND (r.except_cofog IS NULL OR NOT starts_with(e.cofog_code, r.except_cofog))
      AND CASE
        WHEN (r.organisation IS NULL OR e.level = 'organisation')
             AND (r.department IS NULL OR e.level <> 'function')
          THEN (r.department IS NULL OR starts_with(e.dept, r.department))
               AND (r.organisation IS NULL OR starts_with(e.orgn, r.organisation))
        ELSE r.coarse_cofog IS NOT NULL AND starts_with(e.cofog_code, r.coarse_cofog)
             AND (r.department IS NULL OR e.level = 'function'
                  OR starts_with(e.dept, r.department))
      END
)
SELECT cofog_code, level, org, sector,
    arg_min(rule, rule_id) AS rule,
    arg_min(actual_kind, rule_id) AS actual_kind,
    arg_min(coarse, rule_id) AS coarse,
    arg_min(CASE WHEN level = 'organisation' AND NOT coarse THEN org END, rule_id) AS what
FROM m GROUP BY cofog_code, level, org, sector
"""

#: The estimates that a rule of ``replaced_rules`` takes, line by line (made only when
#: some rule takes any).
_REPLACED = """
CREATE OR REPLACE TEMP TABLE replaced AS
{pesa_level}est AS (
    SELECT l.line_id, a.cofog_code, lv.level, l.org,
        coalesce(CASE upper(l.sector) WHEN 'LA' THEN 'LG' ELSE upper(l.sector) END,
                 CASE l.part WHEN 'central' THEN 'CG' WHEN 'local' THEN 'LG'
                      WHEN 'public-corporation' THEN 'PC' WHEN 'total' THEN 'total' END) AS sector
    FROM lines l JOIN allocations a USING (line_id) JOIN lv USING (source_id)
    WHERE l.included AND l.kind = 'pesa'
)
SELECT DISTINCT e.line_id, e.cofog_code, p.rule, p.actual_kind, p.coarse, p.what
FROM est e JOIN replaced_rules p ON p.cofog_code = e.cofog_code AND p.level = e.level
    AND p.org IS NOT DISTINCT FROM e.org AND p.sector IS NOT DISTINCT FROM e.sector
"""

#: The parts of the classification that only a count with drivers or replacements needs:
#: left out otherwise, so a count of ten million lines does not pay for empty joins.
_DRIVEN_PARTS = {
    "{not_driven}": """ AND NOT EXISTS (SELECT 1 FROM driven d WHERE d.line_id = l.line_id)
        UNION ALL
        SELECT l.line_id, l.source_id, l.kind, l.org, l.part, l.sponsor, l.transfer_to,
               l.transfer_basis, l.native_code, l.native_label, l.excel_row, l.excel_column,
               l.sector AS line_sector, l.spend_type, l.identifiable,
               d.cofog_code, d.cofog_share, d.pence, {theme_share_driven}
        FROM lines l JOIN driven d USING (line_id) {theme_joins_driven}""",
    "{driver_columns_first}": "dv.driver",
    "{driver_columns}": "dv.driver, dv.driver_share",
    "{driven_join}": "LEFT JOIN driven dv ON dv.line_id = b.line_id "
    "AND dv.cofog_code = b.cofog_code",
}
_NO_DRIVEN_PARTS = {
    "{not_driven}": "",
    "{driver_columns_first}": "CAST(NULL AS VARCHAR)",
    "{driver_columns}": "CAST(NULL AS VARCHAR) AS driver, CAST(NULL AS VARCHAR) AS driver_share",
    "{driven_join}": "",
}
_REPLACED_PARTS = {
    "{replaced_columns}": ", rp.rule AS replaced_by, rp.actual_kind AS replaced_kind, "
    "rp.coarse AS replaced_coarse, rp.what AS replaced_what",
    "{replaced_join}": "LEFT JOIN replaced rp ON rp.line_id = b.line_id "
    "AND rp.cofog_code = b.cofog_code",
}
_NO_REPLACED_PARTS = {
    "{replaced_columns}": ", CAST(NULL AS VARCHAR) AS replaced_by, "
    "CAST(NULL AS VARCHAR) AS replaced_kind, CAST(NULL AS BOOLEAN) AS replaced_coarse, "
    "CAST(NULL AS VARCHAR) AS replaced_what",
    "{replaced_join}": "",
}

#: The count needs sums, not lines: one pass over the allocations keeps what each
#: query groups by. Lines that are transfers or NDPBs keep their id (there are few),
#: so lines and bodies are counted exactly.
_SUMMARY = """
CREATE OR REPLACE TEMP TABLE classified_summary AS
SELECT level_code, kind, treatment, in_view,
       substr(cofog_code, 1, 2) AS division,
       basis, sector, economic, grade,
       CASE WHEN treatment = 'replaced' THEN source_id END AS source_id,
       CASE WHEN treatment = 'replaced' THEN replaced_by END AS replaced_by,
       CASE WHEN treatment = 'replaced' THEN replaced_kind END AS replaced_kind,
       CASE WHEN treatment = 'replaced' THEN replaced_coarse END AS replaced_coarse,
       CASE WHEN treatment = 'replaced' THEN replaced_what END AS replaced_what,
       CASE WHEN transfer_to IS NOT NULL THEN org END AS org,
       transfer_to, transfer_basis,
       CASE WHEN transfer_to IS NOT NULL OR treatment = 'outside' THEN native_label END
         AS native_label,
       CASE WHEN treatment = 'outside' THEN identifiable END AS identifiable,
       CASE WHEN kind = 'ndpb' THEN sponsor END AS sponsor,
       CASE WHEN transfer_to IS NOT NULL OR kind = 'ndpb' THEN line_id END AS line_id,
       sum(pence) AS pence
FROM ({select}) c
GROUP BY ALL
"""


#: Each counted body's gross spending by file, over the classified allocations.
_BY_ORG = """
SELECT c.kind, c.org, s.file_name, sum(c.pence) AS pence
FROM ({select}) c JOIN sources s USING (source_id)
WHERE c.in_view AND c.treatment IN ('counted', 'transfer')
GROUP BY ALL ORDER BY c.kind, c.org, s.file_name
"""


def _fill(sql: str, parts: dict[str, str]) -> str:
    """Put the parts (fixed SQL texts of this module, never user text) into a query."""
    for key, text in parts.items():
        sql = sql.replace(key, text)
    return sql.replace("{kind_filter}", _KIND_FILTER)


#: Small tables the count is given (kinds' natures, coverage rules, drivers, a theme):
#: made from lists passed as parameters, one per column, without a dataframe library.
_KIND_NATURE_TABLE = """CREATE OR REPLACE TEMP TABLE kind_nature AS
SELECT unnest($kind::VARCHAR[]) AS kind, unnest($basis::VARCHAR[]) AS basis,
       unnest($sector::VARCHAR[]) AS sector, unnest($economic::VARCHAR[]) AS economic,
       unnest($grade::VARCHAR[]) AS grade"""
_COVERAGE_RULES_TABLE = """CREATE OR REPLACE TEMP TABLE coverage_rules AS
SELECT unnest($rule_id::INTEGER[]) AS rule_id, unnest($rule::VARCHAR[]) AS rule,
       unnest($actual_kind::VARCHAR[]) AS actual_kind, unnest($sector::VARCHAR[]) AS sector,
       unnest($department::VARCHAR[]) AS department,
       unnest($organisation::VARCHAR[]) AS organisation, unnest($cofog::VARCHAR[]) AS cofog,
       unnest($except_cofog::VARCHAR[]) AS except_cofog,
       unnest($coarse_cofog::VARCHAR[]) AS coarse_cofog"""
_DRIVERS_TABLE = """CREATE OR REPLACE TEMP TABLE drivers AS
SELECT unnest($driver_id::INTEGER[]) AS driver_id, unnest($cofog::VARCHAR[]) AS cofog,
       unnest($department::VARCHAR[]) AS department, unnest($share::VARCHAR[]) AS share,
       unnest($basis::VARCHAR[]) AS basis"""
_THEME_RULES_TABLE = """CREATE OR REPLACE TEMP TABLE theme_rules AS
SELECT unnest($kind::VARCHAR[]) AS kind, unnest($cofog::VARCHAR[]) AS cofog,
       unnest($label::VARCHAR[]) AS label, unnest($code::VARCHAR[]) AS code,
       CAST(unnest($share::VARCHAR[]) AS DECIMAL(18, 6)) AS share"""


def _temp_table(con: Any, sql: str, rows: list[dict[str, Any]]) -> None:
    """Make a temporary table by ``sql`` from ``rows``: each of its parameters is a column
    (no rows: an empty table, its columns typed)."""
    names = re.findall(r"\$(\w+)::", sql)
    con.execute(sql, {n: [r.get(n) for r in rows] for n in names})


def sorted_table(
    con: Any, sql: str, params: dict[str, Any] | Sequence[object], keys: Sequence[str]
) -> tuple[Any, Any]:
    """The rows of ``sql`` (with no ORDER BY) as an Arrow table, and the order to read it in
    (by ``keys``, ascending, nulls last, as DuckDB's ORDER BY): a few bytes a cell rather
    than a Python dictionary a row, for hundreds of thousands of lines. The rows stream out
    of DuckDB unsorted, on one thread (a sort, or rows kept in order across threads, would
    hold every row again), every text is stored once (dictionary-encoded), and the order is
    worked out here from the keys. The order is None when there are no rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    batches = []
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET threads = 1")
    try:
        reader = con.sql(sql, params=params).to_arrow_reader(50_000)
        for batch in reader:
            # every column is copied (texts dictionary-encoded, the others as they are): a
            # column of DuckDB's batch keeps the whole batch, its texts too, alive
            columns = [
                pc.dictionary_encode(col)
                if pa.types.is_string(col.type)
                else pa.concat_arrays([col, pa.array([], col.type)])
                for col in batch.columns
            ]
            batches.append(pa.RecordBatch.from_arrays(columns, names=batch.schema.names))
    finally:
        con.execute("RESET threads")
        con.execute("RESET preserve_insertion_order")
    if not batches:
        return reader.read_all(), None
    table = pa.Table.from_batches(batches)
    sort = pa.table({k: _sort_key(table.column(k)) for k in keys})
    return table, pc.sort_indices(sort, sort_keys=[(k, "ascending") for k in keys])


def _sort_key(column: Any) -> Any:
    """A dictionary-encoded text column as the rank of each text (nulls last, as DuckDB's
    ORDER BY puts them), which Arrow can sort on; other columns as they are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(column.type):
        return column
    column = column.unify_dictionaries()
    chunks = []
    for chunk in column.chunks:
        ranks = pc.rank(chunk.dictionary, sort_keys="ascending", tiebreaker="dense")
        chunks.append(pc.take(ranks, chunk.indices))
    return pa.chunked_array(chunks, type=pa.uint64())


class CountQueries:
    """The count's queries, over a temporary table of classified allocations.

    Each kept line's COFOG allocations (and each unmapped line, whole) get a
    treatment: ``counted``, ``transfer`` (eliminated: its recipient is in the
    count), ``replaced`` (an estimate that a counted actual covers: see
    :mod:`placecount.coverage`), or ``ndpb-memo`` (shown, not added). Each also gets
    its nature: basis, sector, economic category and confidence grade.
    ``in_view`` applies --kind, --org, --cofog.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.params: dict[str, Any] = {}
        self.select = ""
        self.parts: dict[str, str] = {}

    def context(self) -> dict[str, Any]:
        """What the classification needs to know about the whole count."""
        q = self.store.query
        orgs = [
            r["o"]
            for r in q(
                "SELECT DISTINCT norm(org) AS o FROM (SELECT DISTINCT org FROM lines "
                "WHERE included AND kind <> 'ndpb' "
                # a payment list kept out of the count does not put its payer in it
                "AND NOT (kind = 'payments' AND part IS DISTINCT FROM 'partial, counted'))"
            )
        ]
        ndpb_orgs = [
            r["o"]
            for r in q(
                "SELECT DISTINCT norm(org) AS o FROM "
                "(SELECT DISTINCT org FROM lines WHERE included AND kind = 'ndpb')"
            )
        ]
        kinds = [r["kind"] for r in q("SELECT DISTINCT kind FROM sources ORDER BY kind")]
        # the bodies of each kind with lines in the count: what the coverage rule needs
        bodies: dict[str, list[str]] = {}
        for r in q(
            """SELECT l.kind, coalesce(l.org, s.org, s.file_name) AS body
               FROM (SELECT DISTINCT source_id, kind, org FROM lines
                     WHERE included AND kind <> 'pesa') l JOIN sources s USING (source_id)
               GROUP BY ALL ORDER BY l.kind, body"""
        ):
            bodies.setdefault(r["kind"], []).append(r["body"])
        pesa_parts = q(
            """SELECT file_name, sheet, part FROM sources WHERE kind = 'pesa'
               ORDER BY source_id"""
        )
        pesa_orgs = [
            r["o"]
            for r in q(
                "SELECT DISTINCT norm(org) AS o FROM "
                "(SELECT DISTINCT org FROM lines WHERE included AND kind = 'pesa')"
            )
        ]
        sponsors = [
            r["sp"]
            for r in q(
                """SELECT DISTINCT norm(sponsor) AS sp FROM lines
               WHERE included AND kind = 'ndpb' AND sponsor IS NOT NULL"""
            )
        ]
        return {
            "orgs": orgs,
            "ndpb_orgs": ndpb_orgs,
            "kinds": kinds,
            "bodies": bodies,
            "pesa_parts": pesa_parts,
            "pesa_orgs": sorted(pesa_orgs),
            "ndpb_sponsors": sponsors,
        }

    def register_method(
        self,
        kinds: list[dict[str, Any]],
        rules: list[dict[str, Any]],
        drivers: list[dict[str, Any]] | None = None,
        view_kinds: Sequence[str] = (),
    ) -> None:
        """The kinds' default natures and the active coverage rules, as temporary tables;
        then which estimates the counted actuals replace (``replaced``)."""
        con = self.store.con
        _temp_table(con, _KIND_NATURE_TABLE, kinds)
        _temp_table(con, _COVERAGE_RULES_TABLE, rules)
        drivers = [{**d, "driver_id": i} for i, d in enumerate(drivers or [], start=1)]
        _temp_table(con, _DRIVERS_TABLE, drivers)
        # drivers and replacements concern PESA estimates only: a view without them
        # (--kind nhs) has none to apportion or replace
        has_pesa = (not view_kinds or "pesa" in view_kinds) and bool(
            con.execute("SELECT count(*) FROM sources WHERE kind = 'pesa'").fetchone()[0]
        )
        replaces = False
        if rules and has_pesa:
            # which rules take which estimates, by code, level, body and sector; then,
            # only if any does, the lines they take
            con.execute(_REPLACED_RULES.replace("{pesa_level}", _PESA_LEVEL))
            replaces = bool(con.execute("SELECT count(*) FROM replaced_rules").fetchone()[0])
            if replaces:
                con.execute(_REPLACED.replace("{pesa_level}", _PESA_LEVEL))
        self.parts = {
            **(_DRIVEN_PARTS if drivers and has_pesa else _NO_DRIVEN_PARTS),
            **(_REPLACED_PARTS if replaces else _NO_REPLACED_PARTS),
        }
        if drivers and has_pesa:
            con.execute(_DRIVEN)
        con.execute(_SOURCE_NATURE)

    def ndpb_bodies(self) -> list[dict[str, Any]]:
        """Each NDPB in the store: its name, sponsor, and whether an estimate names it.

        An estimate names a body when a CRA line's organisation begins with its name.
        """
        return self.store.query(
            """WITH bodies AS (
                   SELECT DISTINCT org, norm(org) AS body, norm(sponsor) AS sponsor
                   FROM lines WHERE included AND kind = 'ndpb' AND org IS NOT NULL
               ),
               organisations AS (
                   SELECT DISTINCT norm(substr(org, strpos(org, ' / ') + 3)) AS orgn
                   FROM lines WHERE included AND kind = 'pesa' AND contains(org, ' / ')
               )
               SELECT b.org, b.body, b.sponsor,
                      EXISTS (SELECT 1 FROM organisations o
                              WHERE starts_with(o.orgn, b.body)) AS has_estimate
               FROM bodies b ORDER BY b.body"""
        )

    def pesa_by_department(self) -> list[dict[str, Any]]:
        """PESA pence by the department a line names (lines that name none are left out)."""
        return self.store.query(
            """SELECT split_part(org, ' / ', 1) AS department, sum(amount_pence) AS pence
               FROM lines
               WHERE included AND kind = 'pesa' AND org IS NOT NULL
                 AND norm(org) <> 'central government pesa'
               GROUP BY ALL ORDER BY department"""
        )

    def classify(
        self,
        params: dict[str, Any],
        theme_rules: list[dict[str, Any]] | None,
        summarise: bool = True,
    ) -> None:
        """Classify the allocations; with ``summarise``, sum them into ``classified_summary``
        (what the count's queries read). Without, only ``lines()`` is ready (for trace)."""
        con = self.store.con
        parts = self.parts or {**_NO_DRIVEN_PARTS, **_NO_REPLACED_PARTS}
        if theme_rules is not None:
            rules = [{**r, "share": str(r["share"])} for r in theme_rules]
            _temp_table(con, _THEME_RULES_TABLE, rules)
            for sql in _THEME_TABLES:
                con.execute(sql)
            theme = {
                "{theme_joins_alloc}": _THEME_JOINS_ALLOC.replace("{code}", "a.cofog_code"),
                "{theme_joins_driven}": _THEME_JOINS_ALLOC.replace("{code}", "d.cofog_code"),
                "{theme_joins_line}": _THEME_JOINS_LINE,
                "{theme_share_alloc}": _THEME_SHARE_ALLOC,
                "{theme_share_driven}": _THEME_SHARE_ALLOC,
                "{theme_share_line}": _THEME_SHARE_LINE,
            }
        else:
            theme = {
                "{theme_joins_alloc}": "",
                "{theme_joins_driven}": "",
                "{theme_joins_line}": "",
                "{theme_share_alloc}": _NO_THEME,
                "{theme_share_driven}": _NO_THEME,
                "{theme_share_line}": _NO_THEME,
            }
        self.params = params
        self.select = _fill(_CLASSIFIED.replace("{base}", _LINE_BASE), {**parts, **theme})
        if not summarise:
            return
        if parts["{not_driven}"]:
            # drivers re-apportion single allocations: sum them line by line
            grouped = self.select.replace("{code_alloc}", "").replace("{code_unmapped}", "")
        else:
            replaced = parts["{replaced_join}"] != ""
            grouped = _fill(
                _CLASSIFIED.replace("{base}", _GROUPED_BASE),
                {
                    **parts,
                    **theme,
                    "{replaced_columns}": "",
                    "{replaced_join}": "",
                    "{grouped_keys}": _GROUPED_KEYS,
                    "{replaced_base}": _REPLACED_BASE if replaced else _NO_REPLACED_BASE,
                    "{replaced_base_join}": _REPLACED_BASE_JOIN if replaced else "",
                },
            )
        con.execute(_SUMMARY.replace("{select}", grouped), params)

    def totals(self) -> list[dict[str, Any]]:
        """Pence by (code at the level, kind, treatment), for the lines in view."""
        return self.store.query(
            """SELECT level_code AS code, kind, treatment, sum(pence) AS pence
               FROM classified_summary WHERE in_view
               GROUP BY ALL ORDER BY code NULLS LAST, kind, treatment"""
        )

    def transfers(self) -> list[dict[str, Any]]:
        return self.store.query(
            """SELECT kind, org, transfer_to, transfer_basis, native_label,
                      sum(pence) AS pence, count(DISTINCT line_id) AS lines
               FROM classified_summary WHERE treatment = 'transfer' AND in_view
               GROUP BY ALL ORDER BY kind, org, transfer_to, native_label"""
        )

    def transfer_cells(self) -> list[dict[str, Any]]:
        """The giver's cells of each eliminated transfer: file, sheet, row and column."""
        return self.store.query(
            """SELECT c.transfer_to, c.org, s.file_name, s.sheet, l.excel_row,
                      l.excel_column, sum(c.pence) AS pence
               FROM classified_summary c JOIN lines l USING (line_id)
               JOIN sources s ON s.source_id = l.source_id
               WHERE c.treatment = 'transfer' AND c.in_view
               GROUP BY ALL ORDER BY c.transfer_to, s.file_name, l.excel_row"""
        )

    def spending_by_org(self) -> list[dict[str, Any]]:
        """Each counted body's gross spending (its own transfers out included), by file.

        The recipients' side of the transfer check: one more pass over the classified
        lines, run only when some transfer is eliminated.
        """
        select = self.select.replace("{code_alloc}", "").replace("{code_unmapped}", "")
        return self.store.query(_BY_ORG.replace("{select}", select), self.params)

    def kept_transfers(self) -> list[dict[str, Any]]:
        """Lines marked as transfers whose recipient is not in the count: kept, listed."""
        return self.store.query(
            """SELECT kind, org, transfer_to, native_label, sum(pence) AS pence
               FROM classified_summary
               WHERE treatment = 'counted' AND transfer_to IS NOT NULL AND in_view
               GROUP BY ALL ORDER BY kind, org, transfer_to, native_label"""
        )

    def not_counted(self) -> list[dict[str, Any]]:
        """Payment lists kept out of the count (partial sources), with their lines."""
        pence = {
            r["kind"]: int(r["pence"])
            for r in self.store.query(
                """SELECT kind, sum(pence) AS pence FROM classified_summary
                   WHERE treatment = 'not-counted' AND in_view GROUP BY ALL"""
            )
        }
        if not pence:
            return []
        lines = self.store.query(
            """SELECT kind, count(*) AS lines, count(DISTINCT source_id) AS sources FROM lines
               WHERE included AND kind = 'payments' AND part IS DISTINCT FROM 'partial, counted'
               GROUP BY ALL ORDER BY kind"""
        )
        return [{**r, "pence": pence.get(r["kind"], 0)} for r in lines if r["kind"] in pence]

    def replacements(self) -> list[dict[str, Any]]:
        """Estimates replaced by actuals: by source, rule and what the estimate was."""
        return self.store.query(
            """SELECT c.source_id, s.file_name, s.region, s.pesa_share, c.replaced_by AS rule,
                      c.replaced_kind AS actual_kind, c.replaced_coarse AS coarse,
                      c.replaced_what AS what, c.sector,
                      CASE WHEN c.replaced_what IS NULL THEN c.division END AS division,
                      sum(c.pence) AS pence
               FROM classified_summary c JOIN sources s USING (source_id)
               WHERE c.treatment = 'replaced' AND c.in_view
               GROUP BY ALL ORDER BY c.source_id, rule, what, division"""
        )

    def outside(self) -> list[dict[str, Any]]:
        """Spending shown beside the count: non-identifiable, EU, reserves, margins."""
        return self.store.query(
            """SELECT kind, native_label AS label, identifiable, sum(pence) AS pence
               FROM classified_summary WHERE treatment = 'outside' AND in_view
               GROUP BY ALL ORDER BY kind, label"""
        )

    def by_nature(self) -> list[dict[str, Any]]:
        """Counted pence by basis, sector, economic category and grade, for the lines in view."""
        return self.store.query(
            """SELECT level_code AS code, kind, basis, sector, economic, grade,
                      sum(pence) AS pence
               FROM classified_summary WHERE in_view AND treatment = 'counted'
               GROUP BY ALL ORDER BY code NULLS LAST, kind, basis, sector, economic, grade"""
        )

    def ndpb_by_sponsor(self) -> list[dict[str, Any]]:
        return self.store.query(
            """SELECT coalesce(sponsor, '(no sponsor given)') AS sponsor, treatment,
                      sum(pence) AS pence, count(DISTINCT line_id) AS bodies
               FROM classified_summary WHERE kind = 'ndpb' AND in_view
               GROUP BY ALL ORDER BY sponsor, treatment"""
        )

    def lines(self, code: str | None = None) -> list[dict[str, Any]]:
        """Every allocation in view, with its source cell (for trace and the xlsx).

        ``code`` keeps the lines of one row of the report (its code at the report's
        level); '' keeps unmapped lines.
        """
        return self.store.query(*self._lines_sql(code))

    def lines_table(self, code: str | None = None) -> tuple[Any, Any]:
        """The same lines as :meth:`lines`, as an Arrow table and the order to read it in
        (the order of :meth:`lines`), for a workbook of hundreds of thousands of lines: see
        :func:`sorted_table`."""
        sql, params = self._lines_sql(code)
        sql = sql[: sql.rindex("ORDER BY")]
        keys = ("kind", "file_name", "sheet", "excel_row", "cofog_code", "line_id")
        return sorted_table(self.store.con, sql, params, keys)

    def trace_json(self, code: str | None, theme: bool, level: int) -> tuple[str, int]:
        """The lines of :meth:`lines` as the list ``placecount trace --json`` writes of them,
        ``level`` deep (each line's keys as :func:`placecount.count.trace` names them),
        written by the database; and the pence counted among them. The lines are held once,
        in a temporary table, for both."""
        sql, params = self._lines_sql(code)
        sql = sql[: sql.rindex("ORDER BY")]
        share = "coalesce(CAST(theme_share AS VARCHAR), 'None')" if theme else "NULL"
        con = self.store.con
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE trace_lines AS
            SELECT file_name AS file, file_sha256, sheet,
                   concat(coalesce(excel_column, ''), coalesce(CAST(excel_row AS VARCHAR), 'None'))
                     AS cell,
                   excel_row AS "row", kind, org, native_code, native_label, cofog_code,
                   cofog_share, CAST({share} AS VARCHAR) AS theme_share,
                   CAST(CAST(pence AS DECIMAL(38, 0)) * 0.01 AS DECIMAL(38, 2))::VARCHAR
                     AS amount_gbp,
                   treatment, transfer_to, basis, sector, economic, grade, identifiable,
                   apportionment, replaced_by, driver, pence, file_name, line_id
            FROM ({sql}) AS t""",  # noqa: S608 (our own query; no names from input)
            params,
        )
        try:
            text = self.store.json_rows(
                """SELECT * EXCLUDE (pence, file_name, line_id) FROM trace_lines
                   ORDER BY kind, file_name, sheet, "row", cofog_code, line_id""",
                level=level,
            )
            (counted,) = con.execute(
                "SELECT coalesce(sum(pence) FILTER (WHERE treatment = 'counted'), 0) "
                "FROM trace_lines"
            ).fetchone()
        finally:
            con.execute("DROP TABLE IF EXISTS trace_lines")
        return text, int(counted)

    def _lines_sql(self, code: str | None) -> tuple[str, dict[str, Any]]:
        return (
            """SELECT s.file_name, s.file_sha256, s.sheet, c.excel_row, c.excel_column,
                      c.kind, c.org, c.native_code, c.native_label, c.cofog_code,
                      c.cofog_share, c.theme_share, c.pence, c.treatment, c.transfer_to,
                      c.line_id, c.basis, c.sector, c.economic, c.grade, c.identifiable,
                      CASE WHEN c.treatment = 'replaced' THEN c.replaced_by END AS replaced_by,
                      CASE WHEN c.kind = 'pesa' THEN coalesce(c.driver_share, s.pesa_share)
                      END AS apportionment,
                      c.driver
               FROM ({select}) c JOIN sources s USING (source_id)
               WHERE c.in_view AND ($code IS NULL
                     OR ($code = '' AND c.cofog_code IS NULL) OR c.level_code = $code)
               ORDER BY c.kind, s.file_name, s.sheet, c.excel_row, c.cofog_code,
                        c.line_id""".replace(
                "{select}",
                self.select.replace("{code_alloc}", _CODE_ALLOC).replace(
                    "{code_unmapped}", _CODE_UNMAPPED
                ),
            ),
            {**self.params, "code": code},
        )

    def excluded(self) -> list[dict[str, Any]]:
        """Lines read but left out, by kind and reason, with the amounts they showed."""
        return self.store.query(
            """SELECT kind, reason, count(*) AS lines, coalesce(sum(amount_pence), 0) AS pence
               FROM lines WHERE NOT included AND amount_pence IS NOT NULL
               GROUP BY ALL ORDER BY kind, reason"""
        )

    def pesa_sources(self) -> list[dict[str, Any]]:
        return self.store.query(
            """SELECT file_name, sheet, region, part, pesa_share, share_basis, total_pence
               FROM sources WHERE kind = 'pesa' ORDER BY source_id"""
        )


#: Each line's division now and in the attached database ``before_remap`` (the same lines,
#: mapped otherwise), and the money whose division differs. A fixed text, no names in it.
_MOVES = """
WITH now_lines AS (
    SELECT l.line_id, l.kind, l.included, l.mapped, l.amount_pence,
           count(DISTINCT substr(a.cofog_code, 1, 2)) AS n, min(substr(a.cofog_code, 1, 2)) AS d
    FROM lines l LEFT JOIN allocations a USING (line_id)
    WHERE l.amount_pence IS NOT NULL
    GROUP BY l.line_id, l.kind, l.included, l.mapped, l.amount_pence
),
before_lines AS (
    SELECT l.line_id, l.kind, l.included, l.mapped, l.amount_pence,
           count(DISTINCT substr(a.cofog_code, 1, 2)) AS n, min(substr(a.cofog_code, 1, 2)) AS d
    FROM before_remap.lines l LEFT JOIN before_remap.allocations a USING (line_id)
    WHERE l.amount_pence IS NOT NULL
    GROUP BY l.line_id, l.kind, l.included, l.mapped, l.amount_pence
),
placed AS (
    SELECT 'now' AS side, line_id, kind, amount_pence,
           CASE WHEN NOT included THEN 'outside' WHEN NOT mapped THEN 'unmapped'
                WHEN n > 1 THEN 'several' ELSE d END AS division
    FROM now_lines
    UNION ALL
    SELECT 'before', line_id, kind, amount_pence,
           CASE WHEN NOT included THEN 'outside' WHEN NOT mapped THEN 'unmapped'
                WHEN n > 1 THEN 'several' ELSE d END
    FROM before_lines
)
SELECT b.division AS from_division, n.division AS to_division, b.kind,
       count(*) AS lines, sum(b.amount_pence) AS pence
FROM placed b JOIN placed n USING (line_id)
WHERE b.side = 'before' AND n.side = 'now' AND b.division IS DISTINCT FROM n.division
GROUP BY ALL ORDER BY from_division, to_division, b.kind
"""
