"""placecount benchmarks (issue 7): each step beside the fastest bare tool for it.

    python bench/run.py              # full scale, median of 3 runs (under 10 minutes, 2 cores)
    python bench/run.py --quick      # 1/10 scale, 1 run: to try the harness
    python bench/run.py --fresh      # regenerate the data even if bench/data/ has it
    python bench/run.py --at a4498a9 # measure placecount as at a commit (the "before")

Every figure is a ratio measured in the same run on the same machine, so it holds
on any machine. Each command runs in its own subprocess (interpreter start-up and
imports count on both sides), inside a small wrapper process whose
``getrusage(RUSAGE_CHILDREN)`` gives that one command's wall time, CPU time and
peak RSS. The data is generated from fixed seeds into ``bench/data/`` (git-ignored)
and reused while its parameters are unchanged. The results go to
``bench/results.json`` (sorted keys) and a table on stdout.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "results.json"
PY = sys.executable
#: The placecount tree being measured: this checkout, or (with --at REV) an archive of REV.
PC_ROOT = ROOT
#: Set by --at: put first on the children's PYTHONPATH.
PC_PYTHONPATH: str | None = None

#: Bump when the generated data changes shape, so cached data is rebuilt.
DATA_VERSION = "2"
SEED = 20081

#: Full-scale sizes; --quick divides each by 10.
XLSX_ROWS = 200_000
CSV_ROWS = 2_000_000
COUNT_LINES = 10_000_000
SCALE_FACTORS = (1, 4, 16, 64)

#: Every run is killed when the whole benchmark reaches this many seconds (limit: 10 minutes).
BUDGET_S = 570.0
#: Longest a single placecount run may take before it is killed and recorded as timed out
#: (the largest csv is measured last and may use whatever time is left).
RUN_TIMEOUT_S = {"xlsx": 120.0, "csv": 400.0, "count": 90.0, "help": 20.0, "scale": 90.0}
#: No further run of a step starts when it would take the step past this many seconds:
#: a step far slower than its bare tool is then measured once, not three times.
STEP_BUDGET_S: dict[str, Any] = {
    "count": 60.0,
    "xlsx": 60.0,
    "csv": 120.0,
    "scale_count": 15.0,
    "scale_csv": [10.0, 20.0, 30.0],
}

TARGETS = {
    "xlsx_ingest_ratio": 1.5,
    "csv_ingest_ratio": 2.0,
    "count_ratio": 1.5,  # issue 16 (issue 7 asked for 2)
    "count_cpu_s": 1.0,
    "help_s": 0.3,
    "peak_rss_mib": 2048.0,
    "scaling_slope": 1.15,
}

PACKAGES = [
    "placecount",
    "duckdb",
    "fastexcel",
    "python-calamine",
    "pyarrow",
    "numpy",
    "pandas",
    "openpyxl",
    "xlsxwriter",
    "typer",
    "rich",
    "pydantic",
]

KINDS = ["council", "nhs", "police", "pesa"]
ORGS = {
    "council": ["Exampleshire County Council", "Riverton District Council", "Northby Borough"],
    "nhs": ["NHS Exampleshire", "Exampleshire Hospitals NHS Trust"],
    "police": ["Exampleshire Police Authority"],
    "pesa": ["HM Treasury PESA (East Midlands)"],
}
EXPENSE_TYPES = [
    "Supplies and services",
    "Premises-related expenditure",
    "Transport-related expenditure",
    "Third party payments",
    "Agency and contracted services",
    "Capital financing",
    "Professional fees",
    "Equipment and furniture",
]
SUPPLIER_STEMS = [
    "Anglia",
    "Beacon",
    "Carrick",
    "Derwent",
    "Eden",
    "Fenland",
    "Granite",
    "Harbour",
    "Ivel",
    "Juniper",
    "Kestrel",
    "Linden",
    "Meridian",
    "Northgate",
    "Oakfield",
    "Pennine",
    "Quarry",
    "Riverside",
    "Severn",
    "Trent",
    "Upland",
    "Vale",
    "Wolds",
    "Yarrow",
]
SUPPLIER_TRADES = [
    "Building Services",
    "Care Homes",
    "Cleaning",
    "Construction",
    "Consulting",
    "Catering",
    "Coaches",
    "Education Supplies",
    "Environmental",
    "Fleet Services",
    "Grounds Maintenance",
    "IT Solutions",
    "Legal Services",
    "Office Supplies",
    "Recycling",
    "Roadworks",
    "Security",
    "Stationers",
    "Training",
    "Waste Management",
]
SUPPLIER_FORMS = ["Ltd", "plc", "LLP", "& Co", "Limited", "Group"]

HEADER = [
    "Service",
    "Supplier",
    "Date",
    "Net expenditure (£)",
    "Expense type",
    "Transaction number",
]
TITLE_ROWS = ["Exampleshire County Council", "Payments over £500, 2008-09", None]
YEAR_START = dt.date(2008, 4, 1)
EXCEL_EPOCH = dt.date(1899, 12, 30)


# -- helpers --------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def scrub(text: str) -> str:
    """Remove this machine's paths from text kept in the results."""
    return text.replace(str(DATA), "<data>").replace(str(ROOT), "<repo>")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) against log(x)."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den


class Clock:
    """The whole run's budget: steps ask it how long they may still take."""

    def __init__(self, budget: float) -> None:
        self.start = time.perf_counter()
        self.budget = budget

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.budget - self.elapsed()


# -- the measuring wrapper ------------------------------------------------------------------

# Runs one command in a child process and prints {"wall_s", "cpu_s", "max_rss_kib", ...}.
# Being a fresh process, its RUSAGE_CHILDREN covers that one command only.
WRAPPER = r"""
import json, os, resource, signal, subprocess, sys, time
spec = json.loads(sys.argv[1])
out = open(spec["stdout"], "wb") if spec["stdout"] else subprocess.DEVNULL
err = open(spec["stderr"], "wb")
t0 = time.perf_counter()
p = subprocess.Popen(spec["cmd"], cwd=spec["cwd"], stdout=out, stderr=err,
                     start_new_session=True, env=spec["env"])
timed_out = False
try:
    rc = p.wait(timeout=spec["timeout"])
except subprocess.TimeoutExpired:
    timed_out = True
    os.killpg(p.pid, signal.SIGKILL)
    rc = p.wait()
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
                  "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
                  "max_rss_kib": ru.ru_maxrss, "rc": rc, "timed_out": timed_out}))
"""


def child_env() -> dict[str, str]:
    # Bytecode is written as in a normal install: a shell that sets PYTHONDONTWRITEBYTECODE
    # would make every run compile placecount's modules again.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLACECOUNT_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONUNBUFFERED"] = "1"
    if PC_PYTHONPATH:
        env["PYTHONPATH"] = os.pathsep.join(
            [PC_PYTHONPATH, *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    return env


def run_once(
    cmd: list[str], cwd: Path, timeout: float, stdout: Path | None = None
) -> dict[str, Any]:
    """One measured run of ``cmd``."""
    cwd.mkdir(parents=True, exist_ok=True)
    errfile = cwd / "stderr.txt"
    spec = {
        "cmd": cmd,
        "cwd": str(cwd),
        "timeout": timeout,
        "stdout": str(stdout) if stdout else None,
        "stderr": str(errfile),
        "env": child_env(),
    }
    done = subprocess.run(
        [PY, "-c", WRAPPER, json.dumps(spec)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    if result["rc"] != 0 and not result["timed_out"]:
        text = errfile.read_text(encoding="utf-8", errors="replace")
        result["stderr_tail"] = scrub(text[-2000:])
    return result


class Series:
    """Repeated runs of one command: wall time, CPU time and peak RSS of each.

    A run is killed after ``timeout`` seconds (or when the whole benchmark's budget
    ends); no further run starts when it would take this series past
    ``step_budget`` seconds, so a step far slower than its bare tool is measured
    once rather than three times.
    """

    def __init__(
        self,
        name: str,
        cmd_for: Callable[[int], list[str]],
        cwd_for: Callable[[int], Path],
        *,
        runs: int,
        timeout: float,
        clock: Clock,
        step_budget: float | None = None,
        prepare: Callable[[int], None] | None = None,
        stdout_for: Callable[[int], Path | None] | None = None,
        check: Callable[[int], dict[str, Any]] | None = None,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        self.name, self.cmd_for, self.cwd_for = name, cmd_for, cwd_for
        self.runs, self.timeout, self.clock, self.step_budget = runs, timeout, clock, step_budget
        self.prepare, self.stdout_for, self.check, self.cleanup = (
            prepare,
            stdout_for,
            check,
            cleanup,
        )
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.rss: list[float] = []
        self.spent = 0.0
        self.stopped = False
        self.out: dict[str, Any] = {"timed_out": False, "ok": True, "runs_wanted": runs}

    def warm_up(self) -> None:
        """One untimed run (compiles anything not yet compiled, fills the page cache)."""
        if self.prepare:
            self.prepare(-1)
        run_once(self.cmd_for(-1), self.cwd_for(-1), self.timeout)

    def wants_more(self) -> bool:
        if self.stopped or len(self.walls) >= self.runs:
            return False
        if self.walls:
            over = self.step_budget is not None and self.spent + self.walls[-1] > self.step_budget
            if over or self.clock.left() < self.walls[-1] + 10:
                self.out["note"] = (
                    f"{len(self.walls)} of {self.runs} runs: another would overrun the time budget"
                )
                self.stopped = True
                return False
        return True

    def run(self) -> None:
        i = len(self.walls)
        t0 = time.perf_counter()
        if self.prepare:
            self.prepare(i)
        t = max(1.0, min(self.timeout, self.clock.left()))
        stdout = self.stdout_for(i) if self.stdout_for else None
        r = run_once(self.cmd_for(i), self.cwd_for(i), t, stdout)
        self.rss.append(r["max_rss_kib"] / 1024)
        if r["timed_out"]:
            self.out.update(timed_out=True, ok=False, timeout_s=round(t, 1))
            self.stopped = True
            say(f"  {self.name}: timed out after {t:.0f} s (peak RSS {self.rss[-1]:.0f} MiB)")
        elif r["rc"] != 0:
            self.out.update(ok=False, exit_code=r["rc"], stderr_tail=r.get("stderr_tail", ""))
            self.stopped = True
            say(f"  {self.name}: exit code {r['rc']}\n{self.out['stderr_tail']}")
        else:
            self.walls.append(r["wall_s"])
            self.cpus.append(r["cpu_s"])
            if self.check and i == 0:
                self.out["check"] = self.check(i)
            say(
                f"  {self.name}: run {i + 1}: {r['wall_s']:.3f} s, cpu {r['cpu_s']:.2f} s, "
                f"rss {self.rss[-1]:.0f} MiB"
            )
        self.spent += time.perf_counter() - t0

    def result(self) -> dict[str, Any]:
        if self.cleanup:
            self.cleanup()
        out = dict(self.out)
        out["runs_s"] = [round(w, 4) for w in self.walls]
        out["cpu_runs_s"] = [round(c, 4) for c in self.cpus]
        out["median_s"] = round(median(self.walls), 4) if self.walls else None
        out["median_cpu_s"] = round(median(self.cpus), 4) if self.cpus else None
        out["max_rss_mib"] = round(max(self.rss), 1) if self.rss else None
        return out


def measure(*series: Series) -> list[dict[str, Any]]:
    """Run the series in turn, one run of each at a time, so that anything else the
    machine is doing meanwhile slows placecount and its bare tool alike."""
    more = True
    while more:
        more = False
        for s in series:
            if s.wants_more():
                s.run()
                more = True
    return [s.result() for s in series]


def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    if a.get("median_s") is None or not b.get("median_s"):
        return None
    return round(float(a["median_s"]) / float(b["median_s"]), 3)


# -- data -----------------------------------------------------------------------------------


def service_labels() -> list[str]:
    """Council mapping labels that map whole to one COFOG code (no totals, no transfers)."""
    path = PC_ROOT / "data" / "cofog" / "mappings" / "council.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    seen: dict[str, int] = {}
    for r in rows:
        seen[r["native_label"]] = seen.get(r["native_label"], 0) + 1
    skip = re.compile(r"total|pooled|section 75|contribution", re.IGNORECASE)
    return sorted(
        r["native_label"]
        for r in rows
        if r["native_label"]
        and r["cofog_code"]
        and r["share"] == "1"
        and seen[r["native_label"]] == 1
        and not skip.search(r["native_label"])
    )


def cofog_classes() -> list[str]:
    with (PC_ROOT / "data" / "cofog" / "cofog.csv").open(encoding="utf-8", newline="") as fh:
        return [r["code"] for r in csv.DictReader(fh) if r["level"] == "3"]


def suppliers() -> list[str]:
    return [
        f"{stem} {trade} {form}"
        for stem in SUPPLIER_STEMS
        for trade in SUPPLIER_TRADES
        for form in SUPPLIER_FORMS
    ]


def transactions(n: int, seed: int) -> Any:
    """``n`` payments as an Arrow table: the same columns as the workbook and CSV."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    services = service_labels()
    supplier_names = suppliers()
    service = rng.integers(0, len(services), n)
    supplier = rng.integers(0, len(supplier_names), n)
    day = rng.integers(0, 365, n)
    # Payments over £500: log-normal around £2,500, a long tail, 2% credit notes.
    pence = np.maximum(50_000, np.round(np.exp(rng.normal(12.4, 1.1, n)))).astype(np.int64)
    pence = np.minimum(pence, 2_500_000_000)
    pence = np.where(rng.random(n) < 0.02, -pence, pence)
    expense = rng.integers(0, len(EXPENSE_TYPES), n)
    return pa.table(
        {
            "service": pa.DictionaryArray.from_arrays(
                pa.array(service, pa.int32()), pa.array(services)
            ).cast(pa.string()),
            "supplier": pa.DictionaryArray.from_arrays(
                pa.array(supplier, pa.int32()), pa.array(supplier_names)
            ).cast(pa.string()),
            "day": pa.array(day, pa.int32()),
            "pence": pa.array(pence, pa.int64()),
            "expense": pa.DictionaryArray.from_arrays(
                pa.array(expense, pa.int32()), pa.array(EXPENSE_TYPES)
            ).cast(pa.string()),
            "trn": pa.array(np.arange(n, dtype=np.int64) + 1_000_001),
        }
    )


def pc_sum(t: Any) -> int:
    """The payments' total in pence."""
    import pyarrow.compute as pac

    return int(pac.sum(t["pence"]).as_py())


def write_xlsx(path: Path, n: int) -> dict[str, Any]:
    """The council transactions workbook: three title rows, the header, ``n`` payments."""
    import xlsxwriter

    t = transactions(n, SEED)
    service = t["service"].to_pylist()
    supplier = t["supplier"].to_pylist()
    day = t["day"].to_pylist()
    pence = t["pence"].to_pylist()
    expense = t["expense"].to_pylist()
    trn = t["trn"].to_pylist()
    tmp = path.with_suffix(".tmp.xlsx")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    ws = wb.add_worksheet("Payments")
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    bold = wb.add_format({"bold": True})
    ws.write_string(0, 0, TITLE_ROWS[0], bold)
    ws.write_string(1, 0, TITLE_ROWS[1])
    for c, h in enumerate(HEADER):
        ws.write_string(3, c, h, bold)
    serial0 = (YEAR_START - EXCEL_EPOCH).days
    write_string, write_number = ws.write_string, ws.write_number
    for i in range(n):
        r = i + 4
        write_string(r, 0, service[i])
        write_string(r, 1, supplier[i])
        write_number(r, 2, serial0 + day[i], date_fmt)
        write_number(r, 3, pence[i] / 100, money_fmt)
        write_string(r, 4, expense[i])
        write_string(r, 5, f"PAY{trn[i]}")
    wb.close()
    tmp.replace(path)
    return {"rows": n, "total_pence": int(sum(pence)), "bytes": path.stat().st_size}


def write_csv(path: Path, n: int) -> dict[str, Any]:
    """The same payments as CSV: header row first, no titles, UTF-8, UK dates."""
    import duckdb

    t = transactions(n, SEED)
    tmp = path.with_suffix(".tmp.csv")
    con = duckdb.connect()
    con.register("t", t)
    con.execute(
        # The names are this module's constants, not input.
        f"""COPY (
            SELECT service AS "{HEADER[0]}", supplier AS "{HEADER[1]}",
                   strftime(DATE '{YEAR_START.isoformat()}' + day, '%d/%m/%Y') AS "{HEADER[2]}",
                   CAST(pence AS DECIMAL(20, 0)) * 0.01 AS "{HEADER[3]}",
                   expense AS "{HEADER[4]}", 'PAY' || trn AS "{HEADER[5]}"
            FROM t
        ) TO '{tmp}' (HEADER, DELIMITER ',')"""  # noqa: S608
    )
    total = int(pc_sum(t))
    con.close()
    tmp.replace(path)
    return {"rows": n, "total_pence": total, "bytes": path.stat().st_size}


def write_count_db(folder: Path, n: int) -> dict[str, Any]:
    """A placecount database with ``n`` stored lines, filled in SQL (not through the ingest).

    The schema is placecount's own (``Store.open`` creates it); ``placecount init``
    writes the project file beside it. Values come from integer hashing of the line
    number, so the database is the same on every machine and DuckDB version.
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    db = folder / "placecount.duckdb"
    subprocess.run(
        [
            PY,
            "-m",
            "placecount.cli",
            "init",
            "--place",
            "Benchshire",
            "--year",
            "2008-09",
            "--population",
            "1000000",
            "--db",
            str(db),
        ],
        cwd=folder,
        env=child_env(),
        check=True,
        capture_output=True,
    )
    from placecount.store import Store

    orgs = [(k, o) for k in KINDS for o in ORGS[k]]
    # 40 sources: each org publishes several sheets
    sources = [(i + 1, *orgs[i % len(orgs)]) for i in range(40)]
    codes = cofog_classes()
    labels = service_labels()
    with Store.open(db) as store:
        con = store.con
        con.execute("BEGIN TRANSACTION")
        for sid, kind, org in sources:
            con.execute(
                "INSERT INTO sources (source_id, kind, file_name, file_sha256, file_size, sheet, "
                "header_row, org, financial_year, units, units_from, region, part, pesa_share, "
                "share_basis, mapping, lines_kept, lines_left_out, total_pence) VALUES "
                "(?, ?, ?, ?, ?, 'Sheet1', 4, ?, '2008-09', 'pounds', 'header', ?, ?, ?, ?, ?, "
                "0, 0, 0)",
                [
                    sid,
                    kind,
                    f"{kind}_{sid:02d}_2008-09.xlsx",
                    f"{sid:064x}",
                    1_000_000 + sid,
                    org,
                    "East Midlands" if kind == "pesa" else None,
                    "central" if kind == "pesa" else None,
                    "0.1164" if kind == "pesa" else None,
                    "given" if kind == "pesa" else None,
                    kind,
                ],
            )
        # Line i belongs to source i % 40 + 1. MINSTD-style hashes of the line number
        # give the pseudo-random label, code and amount: the same on every machine.
        # amount_text stays NULL: the count never reads it, and formatting 10M amounts
        # would double the time to build the database.
        con.execute(
            """
            INSERT INTO lines (line_id, source_id, excel_row, excel_column, kind, org,
                financial_year, native_code, native_label, recipient, status, sponsor, part,
                amount_text, before_share_pence, amount_pence, included, reason, mapped,
                transfer_to, transfer_basis)
            SELECT i + 1, CAST(i % 40 + 1 AS INTEGER), CAST(i // 40 + 5 AS INTEGER), 'D',
                   $kinds[i % 40 + 1], $orgs[i % 40 + 1], '2008-09', NULL,
                   $labels[1 + (i * 16807 + 11) % 2147483647 % len($labels)],
                   NULL, NULL, NULL, CASE WHEN $kinds[i % 40 + 1] = 'pesa' THEN 'central' END,
                   NULL, p, p, TRUE, NULL, TRUE, NULL, NULL
            FROM (SELECT range AS i, 100 + (range * 48271 + 7) % 2147483647 % 10000000 AS p
                  FROM range($n))
            """,
            {
                "n": n,
                "labels": labels,
                "kinds": [k for _, k, _ in sources],
                "orgs": [o for _, _, o in sources],
            },
        )
        con.execute(
            """
            INSERT INTO allocations (line_id, cofog_code, share, amount_pence, rule)
            SELECT i + 1, $codes[1 + (i * 69621 + 3) % 2147483647 % len($codes)], '1',
                   100 + (i * 48271 + 7) % 2147483647 % 10000000, 'council.csv line 2'
            FROM range($n) t(i)
            """,
            {"n": n, "codes": codes},
        )
        con.execute(
            """UPDATE sources SET lines_kept = a.k, total_pence = a.t
               FROM (SELECT source_id, count(*) AS k, sum(amount_pence) AS t
                     FROM lines GROUP BY 1) a
               WHERE sources.source_id = a.source_id"""
        )
        total = int(con.execute("SELECT sum(amount_pence) FROM allocations").fetchone()[0])
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    return {"lines": n, "total_pence": total, "bytes": db.stat().st_size}


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def schema_sha() -> str:
    """A hash of the store's tables and columns, as placecount creates them."""
    from placecount.store import Store

    with Store.open(":memory:") as store:
        cols = store.con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY ALL"
        ).fetchall()
    return hashlib.sha256(json.dumps(cols).encode()).hexdigest()[:16]


def prepare_data(sizes: dict[str, Any], fresh: bool) -> dict[str, Any]:
    """Generate (or reuse) every input; returns what each file holds and how long it took.

    A file is reused while its key (generator version, seed, size and the reference
    data it is drawn from) is unchanged; the count databases also key on the store schema
    (tables and columns) they are written in.
    """
    DATA.mkdir(parents=True, exist_ok=True)
    manifest_path = DATA / "manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_path.exists() and not fresh:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    cofog_dir = PC_ROOT / "data" / "cofog"
    base = {"version": DATA_VERSION, "seed": SEED}
    labels_key = {**base, "council.csv": file_sha(cofog_dir / "mappings" / "council.csv")}
    count_key = {
        **labels_key,
        "cofog.csv": file_sha(cofog_dir / "cofog.csv"),
        "schema": schema_sha(),
    }
    made: dict[str, Any] = {}
    timings: dict[str, float] = {}

    def ensure(
        name: str, target: Path, key: dict[str, Any], fn: Callable[[], dict[str, Any]]
    ) -> None:
        old = manifest.get(name)
        if old and old.get("key") == key and target.exists():
            made[name] = old
            return
        say(f"generating {name} ...")
        t0 = time.perf_counter()
        made[name] = {**fn(), "key": key}
        timings[name] = round(time.perf_counter() - t0, 2)
        say(f"  {name}: {timings[name]:.1f} s")
        manifest[name] = made[name]
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")

    n_x = sizes["xlsx_rows"]
    xlsx = DATA / f"transactions_{n_x}.xlsx"
    ensure(f"xlsx_{n_x}", xlsx, {**labels_key, "rows": n_x}, lambda: write_xlsx(xlsx, n_x))
    for n in sizes["csv_scale_rows"]:
        p = DATA / f"transactions_{n}.csv"
        ensure(f"csv_{n}", p, {**labels_key, "rows": n}, functools.partial(write_csv, p, n))
    for n in sizes["count_scale_lines"]:
        f = DATA / f"count_{n}"
        ensure(
            f"count_{n}",
            f / "placecount.duckdb",
            {**count_key, "lines": n},
            functools.partial(write_count_db, f, n),
        )
    import commands

    nq = sizes["query_lines"]
    fq = DATA / f"queries_{nq}"
    ensure(
        f"queries_{nq}",
        fq / "placecount.duckdb",
        {**count_key, "lines": nq, "unmapped_every": commands.UNMAPPED_EVERY, "theme": 1},
        functools.partial(commands.write_query_db, fq, nq),
    )
    ns = commands.SMALL_ROWS
    small = DATA / f"transactions_{ns}.xlsx"
    ensure(f"xlsx_{ns}", small, {**labels_key, "rows": ns}, lambda: write_xlsx(small, ns))
    files = {k: {kk: vv for kk, vv in v.items() if kk != "key"} for k, v in made.items()}
    return {"files": files, "generated_s": timings}


def use_revision(rev: str) -> str:
    """Measure placecount as it was at git revision ``rev``: an archive of its tree."""
    global PC_ROOT, PC_PYTHONPATH
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = DATA / f"src-{sha[:12]}"
    if not (tree / "src" / "placecount").exists():
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "src", "data", "schemas"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        tmp = DATA / f"src-{sha[:12]}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        tmp.rename(tree)
    PC_ROOT = tree
    PC_PYTHONPATH = str(tree / "src")
    sys.path.insert(0, PC_PYTHONPATH)
    return sha


# -- steps ----------------------------------------------------------------------------------


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def pc(*args: str) -> list[str]:
    return [PY, "-m", "placecount.cli", *args]


BARE_XLSX = """
import sys, duckdb, fastexcel
arrow_table = fastexcel.read_excel(sys.argv[1]).load_sheet(0, header_row=3).to_arrow()
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.register("arrow_table", arrow_table)
con.execute("CREATE TABLE t AS SELECT * FROM arrow_table")
con.close()
"""

BARE_CSV = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[1]])
con.close()
"""

BARE_COUNT_SQL = (
    "SELECT substr(a.cofog_code, 1, 2) AS division, l.kind, sum(a.amount_pence) AS pence "
    "FROM allocations a JOIN lines l USING (line_id) WHERE l.included GROUP BY ALL"
)
BARE_COUNT = f"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
rows = con.execute({BARE_COUNT_SQL!r}).fetchall()
print(len(rows), sum(r[2] for r in rows))
con.close()
"""


def stored(db: Path, sql: str) -> list[Any]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return list(con.execute(sql).fetchone() or ())
    finally:
        con.close()


def ingest_series(
    label: str,
    file: Path,
    expected: dict[str, Any],
    *,
    runs: int,
    timeout: float,
    step_budget: float,
    clock: Clock,
) -> Series:
    """``placecount ingest council FILE`` into a fresh database, each run."""
    work = DATA / "work" / label

    def cwd(i: int) -> Path:
        return work / f"pc{i}"

    def prepare(i: int) -> None:
        d = fresh_dir(cwd(i))
        db = str(d / "pc.duckdb")
        subprocess.run(
            pc("init", "--place", "Exampleshire", "--year", "2008-09", "--db", db),
            cwd=d,
            env=child_env(),
            check=True,
            capture_output=True,
        )

    def check(i: int) -> dict[str, Any]:
        n, total, mapped = stored(
            cwd(i) / "pc.duckdb",
            "SELECT count(*), sum(amount_pence), count(*) FILTER (WHERE mapped) "
            "FROM lines WHERE included",
        )
        return {
            "lines_stored": n,
            "lines_mapped": mapped,
            "total_matches": n == expected["rows"] and int(total or 0) == expected["total_pence"],
        }

    def cmd(i: int) -> list[str]:
        org = "Exampleshire County Council"
        db = str(cwd(i) / "pc.duckdb")
        return pc("ingest", "council", str(file), "--org", org, "--db", db, "--quiet")

    return Series(
        f"placecount ingest {label}",
        cmd,
        cwd,
        runs=runs,
        timeout=timeout,
        step_budget=step_budget,
        clock=clock,
        prepare=prepare,
        check=check,
        cleanup=lambda: shutil.rmtree(work, ignore_errors=True),
    )


def bare_series(
    label: str, script: str, file: Path, expected_rows: int, *, runs: int, clock: Clock
) -> Series:
    """The bare tool's script, writing table ``t`` into a fresh database file, each run."""
    work = DATA / "work" / f"bare_{label}"

    def cwd(i: int) -> Path:
        return work / f"b{i}"

    def check(i: int) -> dict[str, Any]:
        (n,) = stored(cwd(i) / "bare.duckdb", "SELECT count(*) FROM t")
        return {"rows_stored": n, "rows_match": n == expected_rows}

    return Series(
        f"bare {label}",
        lambda i: [PY, "-c", script, str(file), str(cwd(i) / "bare.duckdb")],
        cwd,
        runs=runs,
        timeout=300,
        step_budget=60,
        clock=clock,
        prepare=lambda i: None if fresh_dir(cwd(i)) else None,
        check=check,
        cleanup=lambda: shutil.rmtree(work, ignore_errors=True),
    )


def count_series(
    folder: Path,
    expected_total: int,
    *,
    runs: int,
    timeout: float,
    step_budget: float,
    clock: Clock,
) -> tuple[Series, Series]:
    """``placecount report --format csv`` over a stored database, and the bare GROUP BY."""
    db = folder / "placecount.duckdb"
    work = fresh_dir(DATA / "work" / f"count_{folder.name}")

    def check_report(i: int) -> dict[str, Any]:
        text = (work / "report.csv").read_text(encoding="utf-8")
        out: dict[str, Any] = {"report_bytes": len(text.encode()), "report_lines": text.count("\n")}
        # The report's amounts add up to what was stored (every line is counted).
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
            if rows and "amount_gbp" in rows[0]:
                total = sum(Decimal(r["amount_gbp"]) for r in rows if r["amount_gbp"])
                out["total_matches"] = int(total * 100) == expected_total
        except (ArithmeticError, ValueError, csv.Error) as exc:
            out["not_csv"] = f"{type(exc).__name__}: {scrub(str(exc))[:200]}"
        return out

    def check_bare(i: int) -> dict[str, Any]:
        groups, total = (work / "bare.txt").read_text(encoding="utf-8").split()
        return {"groups": int(groups), "total_matches": int(total) == expected_total}

    report = Series(
        f"placecount report {folder.name}",
        lambda i: pc("report", "--format", "csv", "--db", str(db)),
        lambda i: work,
        runs=runs,
        timeout=timeout,
        step_budget=step_budget,
        clock=clock,
        stdout_for=lambda i: work / "report.csv",
        check=check_report,
    )
    bare = Series(
        f"bare GROUP BY {folder.name}",
        lambda i: [PY, "-c", BARE_COUNT, str(db)],
        lambda i: work,
        runs=runs,
        timeout=300,
        step_budget=60,
        clock=clock,
        stdout_for=lambda i: work / "bare.txt",
        check=check_bare,
        cleanup=lambda: shutil.rmtree(work, ignore_errors=True),
    )
    return report, bare


def compare(pc_series: Series, bare: Series) -> dict[str, Any]:
    """Both, alternating runs (bare first), and placecount's time as a ratio of the bare tool's."""
    load = os.getloadavg()[0]
    b, p = measure(bare, pc_series)
    return {"placecount": p, "bare": b, "ratio": ratio(p, b), "load_average_1m": round(load, 2)}


def scaling(
    sizes: list[int], timings: list[dict[str, Any]], startup_s: float | None
) -> dict[str, Any]:
    """Time per row at each size, and how time grows (slope of log time on log size)."""
    rows = []
    for n, t in zip(sizes, timings, strict=True):
        m = t.get("median_s")
        rows.append(
            {
                "size": n,
                "median_s": m,
                "timed_out": t.get("timed_out", False),
                "runs_s": t.get("runs_s", []),
                "us_per_row": round(m / n * 1e6, 3) if m else None,
                "us_per_row_after_startup": round((m - startup_s) / n * 1e6, 3)
                if m and startup_s
                else None,
            }
        )
    done = [(r["size"], r["median_s"]) for r in rows if r["median_s"]]
    result: dict[str, Any] = {"sizes": rows}
    if len(done) == len(sizes):
        xs, ys = [d[0] for d in done], [d[1] for d in done]
        result["slope"] = round(fit_slope(xs, ys), 3)
        result["segment_slopes"] = [
            round(math.log(ys[k + 1] / ys[k]) / math.log(xs[k + 1] / xs[k]), 3)
            for k in range(len(xs) - 1)
        ]
        # Start-up hides growth at small sizes, so the largest step must be linear too.
        worst = max(result["slope"], result["segment_slopes"][-1])
        result["worst_slope"] = worst
        result["linear"] = worst <= TARGETS["scaling_slope"]
    else:
        result["linear"] = False
        result["note"] = "a size timed out or failed: growth not measured"
    return result


# -- report ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu_count": os.cpu_count(),
        "memory_gib": mem,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "packages": versions,
    }


def target(
    name: str,
    wanted: str,
    measured: str,
    met: bool,
    value: float | None,
    limit: float,
    note: str = "",
) -> dict[str, Any]:
    """One target: ``measured`` as printed, ``value`` as a number (None when timed out)."""
    return {
        "name": name,
        "target": wanted,
        "measured": measured,
        "met": met,
        "value": value,
        "limit": limit,
        "note": note,
    }


def fmt_s(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def print_tables(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=150)
    s = res["steps"]
    t = Table(title=f"placecount vs the fastest bare tool ({res['mode']} run, medians)")
    cols = ["step", "size", "placecount s", "runs", "bare tool", "bare s", "ratio"]
    cols += ["placecount CPU s", "placecount RSS MiB", "bare RSS MiB"]
    for col in cols:
        t.add_column(col, justify="left" if col in ("step", "size", "bare tool") else "right")

    def mib(x: dict[str, Any]) -> str:
        return f"{x['max_rss_mib']:.0f}" if x.get("max_rss_mib") else "—"

    rows = [
        ("xlsx ingest", f"{res['sizes']['xlsx_rows']:,} rows", "xlsx_ingest", "fastexcel → DuckDB"),
        ("csv ingest", f"{res['sizes']['csv_rows']:,} rows", "csv_ingest", "DuckDB read_csv"),
        ("report", f"{res['sizes']['count_lines']:,} lines", "count", "DuckDB GROUP BY"),
        ("--help", "", "startup", "python -c pass"),
    ]
    for step, size, key, tool in rows:
        p, b, r = s[key]["placecount"], s[key]["bare"], s[key]["ratio"]
        shown = "timed out" if p.get("timed_out") else fmt_s(p.get("median_s"))
        if not p.get("ok") and not p.get("timed_out"):
            shown = "failed"
        t.add_row(
            step,
            size,
            shown,
            f"{len(p.get('runs_s', []))}/{p.get('runs_wanted', '?')}",
            tool,
            fmt_s(b.get("median_s")),
            "—" if r is None else f"{r:.2f}×",
            fmt_s(p.get("median_cpu_s")),
            mib(p),
            mib(b),
        )
    con.print(t)

    for key, what in (("csv_ingest", "csv ingest"), ("count", "report")):
        sc = res["scaling"][key]
        st = Table(
            title=f"Scaling: {what} (slope {sc.get('slope', '—')}, segments "
            f"{sc.get('segment_slopes', '—')})"
        )
        for col in ("size", "median s", "µs per row", "µs per row after start-up"):
            st.add_column(col, justify="right")
        for r in sc["sizes"]:
            st.add_row(
                f"{r['size']:,}",
                "timed out" if r["timed_out"] else fmt_s(r["median_s"]),
                "—" if r["us_per_row"] is None else f"{r['us_per_row']:.2f}",
                "—"
                if r["us_per_row_after_startup"] is None
                else f"{r['us_per_row_after_startup']:.2f}",
            )
        con.print(st)

    more = res.get("commands", {})
    ct = Table(title=f"Store commands over {more.get('query_lines', 0):,} lines, outputs, small files")
    for col in ("step", "placecount s", "bare s", "ratio", "placecount RSS MiB"):
        ct.add_column(col, justify="left" if col == "step" else "right")
    pairs = [(k, v) for k, v in more.get("queries", {}).items()]
    pairs += [("small workbook ingest", more["small"])] if more.get("small") else []
    pairs += [("unmapped, real payments", more["real_payments"])] if more.get("real_payments") else []
    for name, st in pairs:
        r = st.get("ratio")
        ct.add_row(
            name,
            fmt_s(st["placecount"].get("median_s")),
            fmt_s(st["bare"].get("median_s")),
            "—" if r is None else f"{r:.2f}×",
            mib(st["placecount"]),
        )
    for fmt, st in more.get("outputs", {}).items():
        ct.add_row(f"report -o report.{fmt}", fmt_s(st.get("median_s")), "", "", mib(st))
    if more.get("hostile"):
        st = more["hostile"]
        ct.add_row("4 MB bomb refused, 3 GB cap", fmt_s(st.get("median_s")), "", "", mib(st))
    con.print(ct)

    tt = Table(title="Targets")
    for col in ("target", "wanted", "measured", "result"):
        tt.add_column(col)
    for tg in res["targets"]:
        result = "MET" if tg["met"] else "NOT MET"
        tt.add_row(
            tg["name"],
            tg["target"],
            str(tg["measured"]),
            result + (f" ({tg['note']})" if tg["note"] else ""),
        )
    con.print(tt)
    gen = res["data"]["generation_s"]
    con.print(f"Total wall time {res['total_wall_s']:.0f} s (data generation {gen:.0f} s).")


def evaluate_targets(
    steps: dict[str, Any], scal: dict[str, Any], count_lines: int
) -> list[dict[str, Any]]:
    """Each target of issue 7, met or not, with the figure behind it."""

    def ratio_target(name: str, step: str, limit: float, what: str) -> dict[str, Any]:
        st = steps[step]
        p = st["placecount"]
        wanted = f"≤ {limit}× {what}"
        if p.get("timed_out"):
            bare = st["bare"].get("median_s")
            bound = p["timeout_s"] / bare if bare else None
            shown = f"timed out (> {bound:.1f}×)" if bound else "timed out"
            return target(
                name, wanted, shown, False, None, limit, f"killed after {p['timeout_s']:.0f} s"
            )
        if not st["bare"].get("ok"):
            return target(name, wanted, "bare tool failed", False, None, limit, "see its stderr")
        if not p.get("ok") or st.get("ratio") is None:
            return target(
                name, wanted, "failed", False, None, limit, f"exit code {p.get('exit_code')}"
            )
        r = st["ratio"]
        return target(name, wanted, f"{r:.2f}×", r <= limit, r, limit)

    peaks = {k: steps[k]["placecount"].get("max_rss_mib") for k in steps}
    known = [v for v in peaks.values() if v is not None]
    peak = max(known) if known else None
    any_timeout = any(steps[k]["placecount"].get("timed_out") for k in steps)
    cpu = steps["count"]["placecount"].get("median_cpu_s")
    help_s = steps["startup"]["placecount"].get("median_s")
    slope = TARGETS["scaling_slope"]
    out = [
        ratio_target(
            "xlsx ingest", "xlsx_ingest", TARGETS["xlsx_ingest_ratio"], "fastexcel → DuckDB"
        ),
        ratio_target("csv ingest", "csv_ingest", TARGETS["csv_ingest_ratio"], "DuckDB read_csv"),
        ratio_target("report", "count", TARGETS["count_ratio"], "bare GROUP BY"),
        target(
            "report CPU",
            f"< {TARGETS['count_cpu_s']} s CPU at {count_lines:,} lines",
            "timed out" if cpu is None else f"{cpu:.2f} s",
            cpu is not None and cpu < TARGETS["count_cpu_s"],
            cpu,
            TARGETS["count_cpu_s"],
        ),
        target(
            "--help start-up",
            f"< {TARGETS['help_s']} s",
            f"{fmt_s(help_s)} s",
            help_s is not None and help_s < TARGETS["help_s"],
            help_s,
            TARGETS["help_s"],
        ),
        target(
            "peak memory",
            f"< {TARGETS['peak_rss_mib']:.0f} MiB, largest case",
            "—" if peak is None else f"{peak:.0f} MiB",
            peak is not None and peak < TARGETS["peak_rss_mib"] and not any_timeout,
            peak,
            TARGETS["peak_rss_mib"],
            "a step timed out: its peak is a lower bound" if any_timeout else "",
        ),
    ]
    for key, name in (("csv_ingest", "scaling: csv ingest"), ("count", "scaling: report")):
        sc = scal[key]
        w = sc.get("worst_slope")
        out.append(
            target(
                name,
                f"log-log slope ≤ {slope} (overall and largest step)",
                "not measured" if w is None else f"{w:.2f}",
                sc["linear"],
                w,
                slope,
                sc.get("note", ""),
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    # bench/commands.py imports this module as `run`: let it find this one, not a copy
    sys.modules.setdefault("run", sys.modules[__name__])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1/10 scale, 1 run each")
    ap.add_argument("--fresh", action="store_true", help="regenerate the data")
    ap.add_argument(
        "--at",
        metavar="REV",
        help="measure placecount as at this git revision (e.g. a 'before' commit)",
    )
    ap.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="where to write the results (default: bench/results.json; with --quick, "
        "bench/data/results-quick.json)",
    )
    args = ap.parse_args(argv)

    clock = Clock(BUDGET_S)
    try:
        checkout = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        checkout = ""
    # What was measured: this checkout as it stands, or an archive of one commit.
    source: dict[str, str] = {"tree": "working tree", "checkout": checkout}
    if args.at:
        source = {"tree": "git archive", "revision": args.at, "commit": use_revision(args.at)}
    div = 10 if args.quick else 1
    reps = 1 if args.quick else 3
    csv_base = CSV_ROWS // div // SCALE_FACTORS[-1]
    count_base = COUNT_LINES // div // SCALE_FACTORS[-1]
    sizes: dict[str, Any] = {
        "xlsx_rows": XLSX_ROWS // div,
        "csv_rows": CSV_ROWS // div,
        "count_lines": COUNT_LINES // div,
        "csv_scale_rows": [csv_base * f for f in SCALE_FACTORS],
        "count_scale_lines": [count_base * f for f in SCALE_FACTORS],
        "query_lines": 1_000_000 // div,
    }
    timeouts = {k: v / (4 if args.quick else 1) for k, v in RUN_TIMEOUT_S.items()}
    shrink = 4 if args.quick else 1
    budget: dict[str, Any] = {
        k: [x / shrink for x in v] if isinstance(v, list) else v / shrink
        for k, v in STEP_BUDGET_S.items()
    }

    load_start = os.getloadavg()
    # As `pip install` does: compile placecount's modules once, before anything is timed.
    subprocess.run(
        [PY, "-m", "compileall", "-q", str(PC_ROOT / "src" / "placecount")],
        env=child_env(),
        check=True,
    )
    t0 = time.perf_counter()
    data = prepare_data(sizes, args.fresh)
    gen_s = time.perf_counter() - t0
    files = data["files"]
    shutil.rmtree(DATA / "work", ignore_errors=True)

    steps: dict[str, Any] = {}
    say("start-up ...")
    work = fresh_dir(DATA / "work" / "startup")
    help_runs = 1 if args.quick else 5
    bare_py = Series(
        "python -c pass",
        lambda i: [PY, "-c", "pass"],
        lambda i: work,
        runs=help_runs,
        timeout=30,
        clock=clock,
    )
    pc_help = Series(
        "placecount --help",
        lambda i: pc("--help"),
        lambda i: work,
        runs=help_runs,
        timeout=timeouts["help"],
        clock=clock,
    )
    bare_py.warm_up()
    pc_help.warm_up()
    steps["startup"] = compare(pc_help, bare_py)

    say("count ...")
    big_count = sizes["count_lines"]
    report, bare = count_series(
        DATA / f"count_{big_count}",
        files[f"count_{big_count}"]["total_pence"],
        runs=reps,
        timeout=timeouts["count"],
        step_budget=budget["count"],
        clock=clock,
    )
    steps["count"] = compare(report, bare)

    say("xlsx ingest ...")
    n_x = sizes["xlsx_rows"]
    xlsx = DATA / f"transactions_{n_x}.xlsx"
    steps["xlsx_ingest"] = compare(
        ingest_series(
            "xlsx",
            xlsx,
            files[f"xlsx_{n_x}"],
            runs=reps,
            timeout=timeouts["xlsx"],
            step_budget=budget["xlsx"],
            clock=clock,
        ),
        bare_series("xlsx", BARE_XLSX, xlsx, n_x, runs=reps, clock=clock),
    )

    # Scaling: the largest size of each is the main step, measured once.
    say("scaling: report ...")
    count_times: list[dict[str, Any]] = []
    for n in sizes["count_scale_lines"][:-1]:
        report, _ = count_series(
            DATA / f"count_{n}",
            files[f"count_{n}"]["total_pence"],
            runs=reps,
            timeout=timeouts["scale"],
            step_budget=budget["scale_count"],
            clock=clock,
        )
        count_times.extend(measure(report))
    shutil.rmtree(DATA / "work", ignore_errors=True)
    count_times.append(steps["count"]["placecount"])
    say("scaling: csv ingest ...")
    csv_times: list[dict[str, Any]] = []
    for k, n in enumerate(sizes["csv_scale_rows"][:-1]):
        series = ingest_series(
            f"csv_{n}",
            DATA / f"transactions_{n}.csv",
            files[f"csv_{n}"],
            runs=reps,
            timeout=timeouts["scale"],
            step_budget=budget["scale_csv"][k],
            clock=clock,
        )
        csv_times.extend(measure(series))

    # The largest csv last: at "before" speeds it may take all the time that is left.
    say("csv ingest ...")
    n_c = sizes["csv_rows"]
    csv_file = DATA / f"transactions_{n_c}.csv"
    steps["csv_ingest"] = compare(
        ingest_series(
            "csv",
            csv_file,
            files[f"csv_{n_c}"],
            runs=reps,
            timeout=timeouts["csv"],
            step_budget=budget["csv"],
            clock=clock,
        ),
        bare_series("csv", BARE_CSV, csv_file, n_c, runs=reps, clock=clock),
    )
    csv_times.append(steps["csv_ingest"]["placecount"])

    startup_s = steps["startup"]["placecount"].get("median_s")
    scal = {
        "csv_ingest": scaling(sizes["csv_scale_rows"], csv_times, startup_s),
        "count": scaling(sizes["count_scale_lines"], count_times, startup_s),
    }
    shutil.rmtree(DATA / "work", ignore_errors=True)

    import commands

    nq = sizes["query_lines"]
    dbq = DATA / f"queries_{nq}" / "placecount.duckdb"
    more: dict[str, Any] = {"query_lines": nq}
    say("store commands ...")
    more["queries"] = commands.query_steps(dbq, reps, clock, timeouts["count"])
    say("report outputs ...")
    more["outputs"] = commands.output_steps(dbq, clock, timeouts["count"])
    say("small workbook ...")
    small = DATA / f"transactions_{commands.SMALL_ROWS}.xlsx"
    more["small"] = commands.small_step(small, help_runs, clock)
    say("hostile workbook ...")
    more["hostile"] = commands.hostile_step(reps, clock)
    say("real payments file ...")
    real = commands.real_payments_step(reps, clock)
    if real is not None:
        more["real_payments"] = real

    targets = evaluate_targets(steps, scal, big_count) + commands.evaluate(more, args.quick)
    if args.quick:
        for tg in targets:
            tg["note"] = (tg["note"] + "; " if tg["note"] else "") + "quick run: 1/10 scale"

    res = {
        "mode": "quick" if args.quick else "full",
        "repetitions": reps,
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "machine": {
            **machine(),
            "load_average_1m_start": round(load_start[0], 2),
            "load_average_1m_end": round(os.getloadavg()[0], 2),
        },
        "placecount_source": source,
        "sizes": sizes,
        "data": {
            "files": {k: {kk: vv for kk, vv in v.items()} for k, v in files.items()},
            "generated_now_s": data["generated_s"],
            "generation_s": round(gen_s, 2),
        },
        "steps": steps,
        "commands": more,
        "peak_rss_mib": {k: v["placecount"].get("max_rss_mib") for k, v in steps.items()},
        "scaling": scal,
        "targets": targets,
        "total_wall_s": round(clock.elapsed(), 1),
    }
    # A quick run must not overwrite the full run's results, which the README quotes.
    out = args.out or (DATA / "results-quick.json" if args.quick else RESULTS)
    out.write_text(
        json.dumps(res, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print_tables(res)
    say(f"wrote {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
