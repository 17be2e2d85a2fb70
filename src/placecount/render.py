"""Turning library results into tables, JSON and CSV. The renderer computes nothing."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from .errors import Issue


def money(text: str | None) -> str:
    """'1234567.5' → '1,234,567.50'; None → ''."""
    if text is None:
        return ""
    return f"{Decimal(text):,.2f}"


def to_json(data: Any) -> str:
    """JSON with sorted keys and money as decimal strings, so reruns are byte-identical."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return out.getvalue()


def issue_line(issue: Issue) -> str:
    """An issue as one line for the terminal: 'error: file › 'Sheet'!D14 (Header): message'."""
    return f"{issue.severity}: {issue}"


def print_issues(console: Console, issues: list[Issue], quiet: bool = False) -> None:
    for issue in issues:
        if quiet and issue.severity != "error":
            continue
        style = {"error": "bold red", "warning": "yellow", "info": "dim"}[issue.severity]
        console.print(issue_line(issue), style=style, markup=False, highlight=False, soft_wrap=True)


UNIT_NAMES = {"pounds": "£", "thousands": "£000", "millions": "£m"}


def ingest_lines(result: dict[str, Any]) -> list[str]:
    """An ingest as short plain-text blocks, one per file and sheet."""
    out: list[str] = []
    verb = {
        "added": "Added",
        "replaced": "Replaced",
        "unchanged": "Already ingested",
        "dry run": "Read (dry run, nothing written)",
    }
    for s in result["sources"]:
        where = s["file"] + (f" › {s['sheet']!r}" if s["sheet"] else "")
        out.append(
            f"{verb.get(s['status'], s['status'])} {where} "
            f"({s['kind']}, {s['org'] or 'no org'}, {s['financial_year'] or 'no year'})"
        )
        out.append(
            f"  header row {s['header_row']}; units {UNIT_NAMES[s['units']]} "
            f"(from {s['units_from']})"
        )
        if s.get("pesa_share"):
            out.append(
                f"  region {s['region']!r} × share {s['pesa_share']} "
                f"({s['share_basis']}); part: {s['part']}"
            )
        out.append(f"  {s['lines_kept']} lines kept, total £{money(s['total_gbp'])}")
        if s["unmapped_lines"]:
            out.append(
                f"  {s['unmapped_lines']} unmapped (kept, not classified): "
                f"£{money(s['unmapped_gbp'])}"
            )
        if s["left_out"]:
            out.append(f"  left out of the count ({len(s['left_out'])}):")
            for x in s["left_out"][:25]:
                label = f" {x['label']!r}" if x["label"] else ""
                amount = f" {x['amount']}" if x["amount"] else ""
                out.append(f"    row {x['row']}{label}{amount}: {x['reason']}")
            if len(s["left_out"]) > 25:
                out.append(f"    …and {len(s['left_out']) - 25} more")
    return out


def report_table(result: dict[str, Any]) -> Table:
    place = result.get("place") or {}
    title = "Count"
    if place:
        title = f"{place['name']} {place['financial_year']}: public spending by COFOG division"
    table = Table(title=title, show_footer=True)
    table.add_column("COFOG", footer="")
    table.add_column("Function", footer="Total")
    totals = result["totals"]
    for k in result["kinds"]:
        table.add_column(
            result["kind_titles"][k] + " £", justify="right", footer=money(totals["by_kind_gbp"][k])
        )
    table.add_column("Total £", justify="right", footer=money(totals["total_gbp"]), style="bold")
    if totals.get("per_head_gbp") is not None:
        table.add_column("£ per head", justify="right", footer=money(totals["per_head_gbp"]))
    for k in result["memo_kinds"]:
        table.add_column(
            result["kind_titles"][k] + " £",
            justify="right",
            style="dim",
            footer=money(totals["memo_gbp"][k]),
        )
    for r in result["rows"]:
        cells = [r["cofog_code"] or "—", r["cofog_name"]]
        cells += [money(r["by_kind_gbp"][k]) for k in result["kinds"]]
        cells.append(money(r["total_gbp"]))
        if totals.get("per_head_gbp") is not None:
            cells.append(money(r["per_head_gbp"]))
        cells += [money(r["memo_gbp"][k]) for k in result["memo_kinds"]]
        table.add_row(*cells)
    return table


def rows_table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> Table:
    table = Table(title=title)
    for key, head in columns:
        right = key.endswith("_gbp") or key in {"lines_kept", "lines_left_out", "excel_row"}
        table.add_column(head, justify="right" if right else "left")
    for r in rows:
        table.add_row(
            *[
                money(r[k]) if k.endswith("_gbp") else ("" if r.get(k) is None else str(r[k]))
                for k, _ in columns
            ]
        )
    return table
