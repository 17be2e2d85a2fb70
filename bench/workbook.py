"""Peak memory and time of the workbook of a large count (issues 15 and 16).

    python bench/workbook.py                  # 500,000 lines
    python bench/workbook.py --lines 1000000  # a million

Builds a count database of that many lines (the same generator as ``bench/run.py``, into
``bench/data/``), then runs ``placecount report -o count.xlsx`` in its own process inside
a small wrapper whose ``getrusage(RUSAGE_CHILDREN)`` gives that one command's peak RSS,
and checks the workbook: its Lines sheets hold every line. The figures go to
``bench/workbook-results.json`` and stdout. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import run as base

TARGET_MIB = 500.0

WRAPPER = """
import resource, subprocess, sys, time
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(done.returncode, wall, use.ru_maxrss, use.ru_utime + use.ru_stime)
sys.stderr.write(done.stderr[-2000:])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--out", type=Path, default=base.ROOT / "bench" / "workbook-results.json")
    args = parser.parse_args()
    folder = base.DATA / f"workbook_{args.lines}"
    info = base.write_count_db(folder, args.lines)
    db = folder / "placecount.duckdb"
    book = folder / "count.xlsx"
    book.unlink(missing_ok=True)
    command = base.pc("report", "-o", str(book), "--db", str(db))
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command],
        capture_output=True,
        text=True,
        env=base.child_env(),
        check=True,
    )
    code, wall, max_rss_kib, cpu = done.stdout.split()
    assert code == "0", done.stderr
    with zipfile.ZipFile(book) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    from openpyxl import load_workbook

    wb = load_workbook(book, read_only=True)
    lines_rows = sum(
        (wb[name].max_row or 1) - 1 for name in wb.sheetnames if name.startswith("Lines")
    )
    wb.close()
    result = {
        "lines": info["lines"],
        "command": "placecount report -o count.xlsx",
        "max_rss_mib": round(int(max_rss_kib) / 1024, 1),
        "wall_s": round(float(wall), 1),
        "cpu_s": round(float(cpu), 1),
        "bytes": book.stat().st_size,
        "sheets": len(sheets),
        "lines_in_lines_sheets": lines_rows,
        "target_mib": TARGET_MIB,
        "met": int(max_rss_kib) / 1024 < TARGET_MIB and lines_rows == info["lines"],
        "measured": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result, indent=2, sort_keys=True))
    runs = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    runs[str(args.lines)] = result
    args.out.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
