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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cofog import Allocation
from .errors import InputError, PlacecountError
from .models import SourceRead

SCHEMA_VERSION = "1"

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
        total_pence BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS lines (
        line_id BIGINT PRIMARY KEY,
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
        mapped BOOLEAN NOT NULL
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
               l.included, l.reason, l.mapped
        FROM lines l JOIN sources s USING (source_id)""",
]


@dataclass
class Prepared:
    """One source ready to be written: its lines, their COFOG allocations and the mapping."""

    read: SourceRead
    allocations: list[Allocation]
    mapping_name: str | None
    mapping_sha256: str | None


@dataclass
class Written:
    """What happened to one prepared source."""

    source_id: int | None
    status: str  # "added", "replaced", "unchanged"


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
    def open(cls, path: str | Path, create: bool = True) -> Iterator[Store]:
        """Open (and with ``create``, make) the database at ``path``."""
        import duckdb

        text = str(path)
        if text != ":memory:" and not create and not Path(text).exists():
            raise InputError.one(
                "database-error",
                f"there is no database {Path(text).name!r} here.",
                note="Run `placecount init` first, or point at it with --db PATH.",
            )
        try:
            con = duckdb.connect(text)
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if "lock" in message.lower():
                message = "the database is in use by another placecount process; try again."
            raise InputError.one(
                "database-error",
                f"cannot open the database {Path(text).name!r}: {message}",
            ) from exc
        store = cls(con, text)
        try:
            store._ensure_schema()
            yield store
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

    # -- writing ---------------------------------------------------------------------------

    def find_existing(self, read: SourceRead) -> list[tuple[int, str]]:
        """Sources that are this file's sheet (same hash) or an earlier version of it."""
        rows = self.con.execute(
            """SELECT source_id, file_sha256 FROM sources
               WHERE kind = ? AND sheet IS NOT DISTINCT FROM ? AND region IS NOT DISTINCT FROM ?
                 AND (file_sha256 = ? OR (file_name = ? AND org IS NOT DISTINCT FROM ?))
               ORDER BY source_id""",
            [read.kind, read.sheet, read.region, read.file_sha256, read.file_name, read.org],
        ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

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
                    if same:
                        results.append(Written(same[0], "unchanged"))
                        continue
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
                kept = read.kept
                mapped = {a.line_index for a in p.allocations}
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
                        len(kept),
                        len(read.lines) - len(kept),
                        read.total_pence,
                    ],
                )
                ls = read.lines
                lines_table = pa.table(
                    {
                        "line_id": pa.array([first_line + i for i in range(len(ls))], pa.int64()),
                        "source_id": pa.array([source_id] * len(ls), pa.int32()),
                        "excel_row": pa.array([ln.row for ln in ls], pa.int32()),
                        "excel_column": pa.array([ln.column for ln in ls], pa.string()),
                        "kind": pa.array([read.kind] * len(ls), pa.string()),
                        "org": pa.array([ln.org for ln in ls], pa.string()),
                        "financial_year": pa.array([ln.year for ln in ls], pa.string()),
                        "native_code": pa.array([ln.native_code for ln in ls], pa.string()),
                        "native_label": pa.array([ln.native_label for ln in ls], pa.string()),
                        "recipient": pa.array([ln.recipient for ln in ls], pa.string()),
                        "status": pa.array([ln.status for ln in ls], pa.string()),
                        "sponsor": pa.array([ln.sponsor for ln in ls], pa.string()),
                        "part": pa.array([ln.part for ln in ls], pa.string()),
                        "amount_text": pa.array([ln.amount_text for ln in ls], pa.string()),
                        "before_share_pence": pa.array(
                            [ln.before_share_pence for ln in ls], pa.int64()
                        ),
                        "amount_pence": pa.array([ln.amount_pence for ln in ls], pa.int64()),
                        "included": pa.array([ln.included for ln in ls], pa.bool_()),
                        "reason": pa.array([ln.reason for ln in ls], pa.string()),
                        "mapped": pa.array([i in mapped for i in range(len(ls))], pa.bool_()),
                    }
                )
                alloc_table = pa.table(
                    {
                        "line_id": pa.array(
                            [first_line + a.line_index for a in p.allocations], pa.int64()
                        ),
                        "cofog_code": pa.array([a.cofog_code for a in p.allocations], pa.string()),
                        "share": pa.array([a.share for a in p.allocations], pa.string()),
                        "amount_pence": pa.array(
                            [a.amount_pence for a in p.allocations], pa.int64()
                        ),
                        "rule": pa.array([a.rule for a in p.allocations], pa.string()),
                    }
                )
                con.register("incoming_lines", lines_table)
                con.register("incoming_allocations", alloc_table)
                con.execute("INSERT INTO lines SELECT * FROM incoming_lines")
                con.execute("INSERT INTO allocations SELECT * FROM incoming_allocations")
                con.unregister("incoming_lines")
                con.unregister("incoming_allocations")
                self._check_control_totals(source_id, read, p.allocations)
                results.append(Written(source_id, "replaced" if existing else "added"))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return results

    def _check_control_totals(
        self, source_id: int, read: SourceRead, allocations: list[Allocation]
    ) -> None:
        """Stored sums must equal the sums read; a difference is placecount's fault."""
        stored_lines, stored_alloc = self.con.execute(
            """SELECT
                 (SELECT coalesce(sum(amount_pence), 0) FROM lines
                   WHERE source_id = ? AND included),
                 (SELECT coalesce(sum(a.amount_pence), 0) FROM allocations a
                   JOIN lines l USING (line_id) WHERE l.source_id = ?)""",
            [source_id, source_id],
        ).fetchone()
        mapped_read = sum(a.amount_pence for a in allocations)
        if int(stored_lines) != read.total_pence or int(stored_alloc) != mapped_read:
            raise PlacecountError(
                f"control total mismatch for {read.file_name}: read {read.total_pence} pence, "
                f"stored {stored_lines}; this is a placecount bug."
            )

    # -- reading ---------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dictionaries."""
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def sources(self) -> list[dict[str, Any]]:
        return self.query(
            """SELECT source_id, kind, file_name, file_sha256, sheet, header_row, org,
                      financial_year, units, units_from, region, part, pesa_share, share_basis,
                      mapping, lines_kept, lines_left_out, total_pence
               FROM sources ORDER BY source_id"""
        )

    def unmapped(self) -> list[dict[str, Any]]:
        return self.query(
            """SELECT file_name, sheet, excel_row, excel_column, kind, org, native_code,
                      native_label, amount_text, CAST(amount_gbp * 100 AS BIGINT) AS amount_pence
               FROM spend_lines WHERE included AND NOT mapped
               ORDER BY source_id, excel_row"""
        )

    def totals_by_division_and_kind(self) -> list[dict[str, Any]]:
        """Pence by COFOG division and source kind, unmapped lines under division None."""
        return self.query(
            """SELECT substr(a.cofog_code, 1, 2) AS division, l.kind,
                      sum(a.amount_pence) AS amount_pence
               FROM allocations a JOIN lines l USING (line_id)
               WHERE l.included
               GROUP BY ALL
               UNION ALL
               SELECT NULL AS division, kind, sum(amount_pence) AS amount_pence
               FROM lines WHERE included AND NOT mapped
               GROUP BY ALL
               ORDER BY division NULLS LAST, kind"""
        )
