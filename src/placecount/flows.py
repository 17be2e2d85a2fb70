"""Funding chains and the Audit Commission's rule: some 20% lost at each hand-over.

A funding stream that passes from body to body loses part of its value in
administration at each hand-over. For a path with *n* hand-overs at rate *r*:

- forward, when the amount entering was measured: ``S`` delivers ``S·(1−r)^n``;
- gross-up, when the amount delivered was measured: delivering ``D`` needed
  ``D/(1−r)^n``, of which ``D·((1−r)^−n − 1)`` was administration.

Paths come from a chains file (``stream, path, amount_gbp, measured_at``), from a
flow graph (``from, to, amount_gbp[, stream]``) split into source → end paths by
the usual proportional flow decomposition, or from the transfers marked in the
store. Money is exact: fractions while splitting, integer pence in the results,
and delivered + administration = in, to the penny, on every path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from .errors import InputError, Issue, column_letter, shorten
from .models import pence_to_pounds
from .sources._cells import (
    UNIT_FACTOR,
    cell_text,
    detect_units,
    normalise,
    parse_amount,
    plain_decimal,
)

Measured = Literal["source", "delivered"]
DEFAULT_RATE = "0.20"
DEFAULT_TOLERANCE = "0.01"


@dataclass
class Chain:
    """One source → end path of a stream, with the amount measured on it."""

    stream: str
    bodies: list[str]
    amount_pence: int
    measured: Measured
    rows: list[int] = field(default_factory=list)

    @property
    def hand_overs(self) -> int:
        return len(self.bodies) - 1


@dataclass
class Edge:
    """One row of a flow graph: money passing along one hand-over."""

    source: str
    target: str
    amount_pence: int
    stream: str
    row: int


def parse_rate(text: str, option: str = "--rate") -> Fraction:
    """A hand-over rate such as '0.2' or '20%' as an exact fraction in [0, 1)."""
    raw = text.strip()
    try:
        value = plain_decimal(raw.rstrip("%"))
    except ValueError as why:
        raise InputError.one("bad-option", f"{option} {shorten(raw)!r} {why}.") from None
    if raw.endswith("%"):
        value /= 100
    if not value.is_finite() or not 0 <= value < 1:
        raise InputError.one(
            "bad-option",
            f"{option} {raw} must be at least 0 and below 1.",
            note="The Audit Commission's figure is 0.2 (20% per hand-over).",
        )
    return Fraction(value)


# -- reading inputs ----------------------------------------------------------------------

_CHAIN_COLUMNS = {
    "stream": ["stream", "funding stream", "programme"],
    "path": ["path", "chain", "route"],
    "amount": ["amount gbp", "amount", "value", "amount £"],
    "measured": ["measured at", "measured", "measured_at"],
}
_GRAPH_COLUMNS = {
    "from": ["from", "source", "payer", "from body"],
    "to": ["to", "target", "recipient", "to body"],
    "amount": ["amount gbp", "amount", "value", "amount £"],
    "stream": ["stream", "funding stream", "programme"],
}


def _find_columns(
    rows: Sequence[Sequence[object]], wanted: dict[str, list[str]], required: list[str]
) -> tuple[int, dict[str, int]] | None:
    from .sources._cells import header_key

    for r, row in enumerate(rows[:30]):
        keys = [header_key(v) for v in row]
        found: dict[str, int] = {}
        for role, aliases in wanted.items():
            for c, k in enumerate(keys):
                if k and k in {normalise(a) for a in aliases} and c not in found.values():
                    found[role] = c
                    break
        if all(x in found for x in required):
            return r, found
    return None


def read_flows(path: Path, sheet: str | None = None) -> tuple[str, list[Chain], list[Edge]]:
    """Read a chains file or a flow graph; which one is told by its header."""
    from .sources._grid import read_grids

    grid = next(read_grids(path, sheet))
    rows = grid.rows
    chains_header = _find_columns(rows, _CHAIN_COLUMNS, ["path", "amount"])
    graph_header = _find_columns(rows, _GRAPH_COLUMNS, ["from", "to", "amount"])
    file_name, sheet_name = grid.file_name, grid.sheet
    if chains_header is None and graph_header is None:
        raise InputError.one(
            "no-header",
            "no header found: a chains file has columns stream, path, amount_gbp, "
            "measured_at; a flow graph has from, to, amount_gbp (and optionally stream).",
            file=file_name,
            sheet=sheet_name,
        )
    issues: list[Issue] = []
    if chains_header is not None and (graph_header is None or chains_header[0] <= graph_header[0]):
        hr, cols = chains_header
        units = detect_units(cell_text(rows[hr][cols["amount"]])) or "pounds"
        chains: list[Chain] = []
        for row in _data_rows(rows, hr, cols, file_name, sheet_name, issues):
            cell, bad = row.cell, row.bad
            text = cell("path")
            bodies = [b.strip() for b in text.split(">")]
            if not text.strip():
                bad("path", "the path is empty: write the bodies in order, e.g. 'A > B > C'.")
                continue
            if any(not b for b in bodies):
                bad("path", f"{text!r} has an empty body between '>' signs.")
                continue
            if len(bodies) < 2:
                bad("path", f"{text!r} has no hand-over: a path needs at least two bodies.")
                continue
            if len(set(bodies)) != len(bodies):
                bad("path", f"{text!r} passes through the same body twice (a cycle).")
                continue
            pence = _amount(cell("amount"), units, lambda m, bad=bad: bad("amount", m))
            measured = cell("measured").strip().lower() or "delivered"
            if measured not in ("source", "delivered"):
                bad("measured", f"measured_at {measured!r} must be 'source' or 'delivered'.")
                continue
            if pence is None:
                continue
            side: Measured = "source" if measured == "source" else "delivered"
            chains.append(Chain(cell("stream") or "all", bodies, pence, side, [row.number]))
        if issues:
            raise InputError(issues=issues[:20])
        if not chains:
            raise InputError.one(
                "no-lines", "the chains file has no paths.", file=file_name, sheet=sheet_name
            )
        return "chains", chains, []
    assert graph_header is not None
    hr, cols = graph_header
    units = detect_units(cell_text(rows[hr][cols["amount"]])) or "pounds"
    edges: list[Edge] = []
    for row in _data_rows(rows, hr, cols, file_name, sheet_name, issues):
        gcell, gbad = row.cell, row.bad
        src, dst = gcell("from").strip(), gcell("to").strip()
        if not src or not dst:
            gbad("from" if not src else "to", "a hand-over needs a body in both from and to.")
            continue
        if src == dst:
            gbad("to", f"{src!r} pays itself: a hand-over is between two bodies.")
            continue
        pence = _amount(gcell("amount"), units, lambda m, gbad=gbad: gbad("amount", m))
        if pence is None:
            continue
        edges.append(Edge(src, dst, pence, gcell("stream") or "all", row.number))
    if issues:
        raise InputError(issues=issues[:20])
    if not edges:
        raise InputError.one(
            "no-lines", "the flow graph has no rows.", file=file_name, sheet=sheet_name
        )
    check_graph(edges, Fraction(Decimal(DEFAULT_TOLERANCE)), grid.file_name, grid.sheet)
    return "graph", [], edges


@dataclass
class _Row:
    """One data row of a chains file or flow graph, with its cells by role."""

    cells: Sequence[object]
    number: int  # as Excel numbers it
    header: Sequence[object]
    cols: dict[str, int]
    file_name: str
    sheet: str | None
    issues: list[Issue]

    def cell(self, role: str) -> str:
        c = self.cols.get(role)
        return cell_text(self.cells[c]) if c is not None and c < len(self.cells) else ""

    def bad(self, role: str, message: str) -> None:
        c = self.cols.get(role, 0)
        self.issues.append(
            Issue(
                code="bad-flow",
                message=message,
                row=self.number,
                column=column_letter(c),
                header=cell_text(self.header[c]),
                file=self.file_name,
                sheet=self.sheet,
            )
        )


def _data_rows(
    rows: Sequence[Sequence[object]],
    hr: int,
    cols: dict[str, int],
    file_name: str,
    sheet: str | None,
    issues: list[Issue],
) -> Iterator[_Row]:
    for r in range(hr + 1, len(rows)):
        if any(cell_text(v) for v in rows[r]):
            yield _Row(rows[r], r + 1, rows[hr], cols, file_name, sheet, issues)


def _amount(text: str, units: str, bad: Any) -> int | None:
    kind, value = parse_amount(text)
    if kind != "number" or value is None:
        bad(f"{text!r} is not an amount." if text else "the amount is missing.")
        return None
    if value < 0:
        bad(f"{text} is negative: money along a funding chain cannot be.")
        return None
    return round(Fraction(value) * UNIT_FACTOR[units] * 100)


# -- the flow graph -----------------------------------------------------------------------


def check_graph(
    edges: list[Edge],
    tolerance: Fraction,
    file_name: str | None = None,
    sheet: str | None = None,
) -> None:
    """Cycles and bodies paying out more than they receive are errors, with the row."""
    for stream, group in _by_stream(edges).items():
        order = _topological(group)
        if order is None:
            row = _cycle_row(group)
            raise InputError.one(
                "bad-flow",
                f"the flows of stream {stream!r} go round in a circle: money cannot be "
                "traced from a source to an end.",
                file=file_name,
                sheet=sheet,
                row=row,
                note="Check the from and to of this row and the rows it leads to.",
            )
        inflow: dict[str, int] = defaultdict(int)
        outflow: dict[str, int] = defaultdict(int)
        last_row: dict[str, int] = {}
        for e in group:
            inflow[e.target] += e.amount_pence
            outflow[e.source] += e.amount_pence
            last_row[e.source] = max(last_row.get(e.source, 0), e.row)
        for body, out in outflow.items():
            if body in inflow and out > inflow[body] * (1 + tolerance):
                raise InputError.one(
                    "bad-flow",
                    f"{body!r} pays out £{pence_to_pounds(out):,} but receives only "
                    f"£{pence_to_pounds(inflow[body]):,} (stream {stream!r}).",
                    file=file_name,
                    sheet=sheet,
                    row=last_row[body],
                    note=f"Outflows may exceed inflows by at most {float(tolerance):.1%}.",
                )


def _by_stream(edges: list[Edge]) -> dict[str, list[Edge]]:
    out: dict[str, list[Edge]] = {}
    for e in edges:
        out.setdefault(e.stream, []).append(e)
    return out


def _topological(edges: list[Edge]) -> list[str] | None:
    nodes = sorted({e.source for e in edges} | {e.target for e in edges})
    indegree = {n: 0 for n in nodes}
    for e in edges:
        indegree[e.target] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for e in edges:
            if e.source == n:
                indegree[e.target] -= 1
                if indegree[e.target] == 0:
                    ready.append(e.target)
    return order if len(order) == len(nodes) else None


def _cycle_row(edges: list[Edge]) -> int:
    """The row of an edge on a cycle (every edge left after removing the acyclic part)."""
    remaining = list(edges)
    while True:
        targets = {e.target for e in remaining}
        sources = {e.source for e in remaining}
        keep = [e for e in remaining if e.source in targets and e.target in sources]
        if len(keep) == len(remaining):
            return min(e.row for e in keep)
        remaining = keep


def decompose(edges: list[Edge], measured: Measured = "delivered") -> list[Chain]:
    """Every source → end path of a graph, with its amount (proportional decomposition).

    Each body's outflow is split over its inflows in proportion. Money a body
    receives and does not pass on ends its paths there. The amounts arriving at each
    end are rounded so that they add up exactly to what the end receives.
    """
    chains: list[Chain] = []
    for stream, group in _by_stream(edges).items():
        order = _topological(group)
        assert order is not None  # checked by check_graph
        out_edges: dict[str, list[Edge]] = defaultdict(list)
        inflow: dict[str, int] = defaultdict(int)
        for e in group:
            out_edges[e.source].append(e)
            inflow[e.target] += e.amount_pence
        arrivals: dict[str, dict[tuple[str, ...], Fraction]] = defaultdict(dict)
        rows: dict[tuple[str, ...], list[int]] = {}
        ending: dict[str, dict[tuple[str, ...], Fraction]] = defaultdict(dict)
        for node in order:
            outs = out_edges.get(node, [])
            out_total = sum(e.amount_pence for e in outs)
            if node not in inflow:  # a source: its paths start here with what it pays
                arrivals[node] = {(node,): Fraction(out_total)}
                rows[(node,)] = []
            total_in = sum(arrivals[node].values())
            if total_in == 0:
                continue
            for e in outs:
                for p, x in arrivals[node].items():
                    q = (*p, e.target)
                    arrivals[e.target][q] = arrivals[e.target].get(q, Fraction(0)) + (
                        x * e.amount_pence / total_in
                    )
                    rows[q] = [*rows.get(p, []), e.row]
            kept = total_in - out_total
            if kept > 0 and node in inflow:
                for p, x in arrivals[node].items():
                    ending[node][p] = x * kept / total_in
        for node in order:
            if node in inflow and not out_edges.get(node):
                ending[node] = dict(arrivals[node])
        for node in order:
            paths = ending.get(node, {})
            if not paths:
                continue
            total = round(sum(paths.values()))
            keys = sorted(paths)
            parts = _largest_remainder(total, [paths[k] for k in keys])
            for k, pence in zip(keys, parts, strict=True):
                chains.append(Chain(stream, list(k), pence, measured, rows.get(k, [])))
    return chains


def _largest_remainder(total: int, values: list[Fraction]) -> list[int]:
    parts = [int(v) for v in values]  # values are >= 0
    rest = total - sum(parts)
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - parts[i]), i))
    for i in order[: max(rest, 0)]:
        parts[i] += 1
    return parts


# -- the rule -----------------------------------------------------------------------------


@dataclass
class PathResult:
    """A path with the rule applied: amounts in pence, conserved to the penny."""

    stream: str
    bodies: list[str]
    hand_overs: int
    measured: Measured
    in_pence: int
    delivered_pence: int

    @property
    def admin_pence(self) -> int:
        return self.in_pence - self.delivered_pence

    def steps(self, rate: Fraction) -> list[int]:
        """What passes each hand-over: [in, after 1, …, delivered], exact at both ends."""
        amounts = [self.in_pence]
        for k in range(1, self.hand_overs):
            amounts.append(round(Fraction(self.in_pence) * (1 - rate) ** k))
        amounts.append(self.delivered_pence)
        return amounts


def apply_rule(chain: Chain, rate: Fraction, bodies: list[str] | None = None) -> PathResult:
    """Forward or gross-up, by what was measured on the chain.

    >>> r = apply_rule(Chain("s", ["A", "B", "C", "D"], 10000, "delivered"), Fraction(1, 5))
    >>> (r.in_pence, r.admin_pence)
    (19531, 9531)
    """
    path = bodies or chain.bodies
    n = len(path) - 1
    keep = (1 - rate) ** n
    if chain.measured == "delivered":
        if keep == 0:
            raise InputError.one("bad-option", "at a rate of 100% nothing is ever delivered.")
        amount_in = round(Fraction(chain.amount_pence) / keep)
        return PathResult(chain.stream, path, n, "delivered", amount_in, chain.amount_pence)
    delivered = round(Fraction(chain.amount_pence) * keep)
    return PathResult(chain.stream, path, n, "source", chain.amount_pence, delivered)


def apply_rule_all(
    chains: list[Chain], rate: Fraction, bodies: list[list[str]] | None = None
) -> list[PathResult]:
    """The rule on every path, rounded together (largest remainder, see
    :mod:`placecount.rounding`): the paths' pence add up to the exact total rounded once,
    so a table of paths adds up to its total."""
    from .rounding import largest_remainder

    results = [apply_rule(c, rate, bodies[i] if bodies else None) for i, c in enumerate(chains)]
    for side in ("delivered", "source"):
        picked = [i for i, c in enumerate(chains) if c.measured == side]
        if not picked:
            continue
        exact = []
        for i in picked:
            keep = (1 - rate) ** results[i].hand_overs
            amount = Fraction(chains[i].amount_pence)
            exact.append(amount / keep if side == "delivered" else amount * keep)
        for i, whole in zip(picked, largest_remainder(exact), strict=True):
            if side == "delivered":
                results[i].in_pence = whole
            else:
                results[i].delivered_pence = whole
    return results


def _ratio(admin: int, delivered: int) -> str | None:
    from .rounding import share

    return share(admin, delivered)


def _totals(results: list[PathResult]) -> dict[str, Any]:
    amount_in = sum(r.in_pence for r in results)
    delivered = sum(r.delivered_pence for r in results)
    admin = amount_in - delivered
    return {
        "paths": len(results),
        "in_gbp": str(pence_to_pounds(amount_in)),
        "delivered_gbp": str(pence_to_pounds(delivered)),
        "administration_gbp": str(pence_to_pounds(admin)),
        "administration_share_of_delivered": _ratio(admin, delivered),
    }


def flows(
    chains: list[Chain],
    *,
    rate: Fraction = Fraction(1, 5),
    sensitivity: list[Fraction] | None = None,
    collapse: str | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The rule applied to every path, by stream and in total, with what-ifs."""
    results = apply_rule_all(chains, rate)
    streams: dict[str, list[PathResult]] = {}
    for r in results:
        streams.setdefault(r.stream, []).append(r)
    out: dict[str, Any] = {
        "method": {
            "rule": "Audit Commission: some 20% of a funding stream lost per hand-over",
            "rate": str(Decimal(rate.numerator) / Decimal(rate.denominator)),
            "forward": "S entering delivers S·(1−r)^n",
            "gross_up": "delivering D needed D/(1−r)^n; administration D·((1−r)^−n − 1)",
            "rounding": "to the penny, once: paths rounded together by largest remainder, "
            "so they add up to the exact total rounded; delivered + administration = in",
        },
        "input": source or {},
        "paths": [
            {
                "stream": r.stream,
                "path": " > ".join(r.bodies),
                "hand_overs": r.hand_overs,
                "measured_at": r.measured,
                "in_gbp": str(pence_to_pounds(r.in_pence)),
                "delivered_gbp": str(pence_to_pounds(r.delivered_pence)),
                "administration_gbp": str(pence_to_pounds(r.admin_pence)),
                "administration_share_of_delivered": _ratio(r.admin_pence, r.delivered_pence),
            }
            for r in results
        ],
        "streams": [{"stream": s, **_totals(rs)} for s, rs in streams.items()],
        "totals": _totals(results),
        "sensitivity": [
            {
                "rate": str(Decimal(x.numerator) / Decimal(x.denominator)),
                **_totals(apply_rule_all(chains, x)),
            }
            for x in (sensitivity or [])
        ],
        "collapse": _collapse(chains, results, rate, collapse) if collapse else None,
    }
    return out


def _collapse(
    chains: list[Chain], results: list[PathResult], rate: Fraction, body: str
) -> dict[str, Any]:
    """What if ``body`` were taken out of every chain it sits in the middle of?"""
    wanted = normalise(body)
    changed_before: list[PathResult] = []
    changed_chains: list[Chain] = []
    shorter_paths: list[list[str]] = []
    for chain, before in zip(chains, results, strict=True):
        middle = [normalise(b) for b in chain.bodies[1:-1]]
        if wanted not in middle:
            continue
        changed_chains.append(chain)
        shorter_paths.append([b for b in chain.bodies if normalise(b) != wanted])
        changed_before.append(before)
    changed_after = apply_rule_all(changed_chains, rate, shorter_paths)
    if not changed_before:
        ends = sorted({b for c in chains for b in (c.bodies[0], c.bodies[-1])})
        raise InputError.one(
            "bad-option",
            f"--collapse {body!r}: it is not an intermediary on any path.",
            note="Only a body between a source and an end can be taken out"
            + (f" (sources and ends: {', '.join(ends[:8])})." if ends else "."),
        )
    before_t, after_t = _totals(changed_before), _totals(changed_after)
    admin_saving = sum(b.admin_pence for b in changed_before) - sum(
        a.admin_pence for a in changed_after
    )
    more_delivered = sum(a.delivered_pence for a in changed_after) - sum(
        b.delivered_pence for b in changed_before
    )
    return {
        "body": body,
        "paths_changed": len(changed_before),
        "before": before_t,
        "after": after_t,
        "administration_saved_gbp": str(pence_to_pounds(admin_saving)),
        "more_delivered_gbp": str(pence_to_pounds(more_delivered)),
    }


def chart_links(chains: list[Chain], rate: Fraction, booked: list[Edge] | None = None) -> list[Any]:
    """The Sankey's bands: what passes each hand-over, and what is lost or kept at it.

    With ``booked`` (a flow graph, or the transfers in the store) the bands between bodies
    are the payments the books record, as booked: no band shows more leaving a body than
    its books say it paid. A body that passes money on keeps what its books say it kept
    (in − out); at a body that passes nothing on, the 20% rule's administration on what
    it received is drawn and marked as an estimate.

    From a chains file only one amount of each path is measured (where it entered, or
    what was delivered); the amounts between are the rule's, and marked as estimates.
    """
    from .charts import Link

    if booked:
        flow_b: dict[tuple[str, str], int] = defaultdict(int)
        inflow: dict[str, int] = defaultdict(int)
        outflow: dict[str, int] = defaultdict(int)
        for e in booked:
            flow_b[(e.source, e.target)] += e.amount_pence
            inflow[e.target] += e.amount_pence
            outflow[e.source] += e.amount_pence
        links = [Link(s, t, v) for (s, t), v in sorted(flow_b.items())]
        for body in sorted(inflow):
            if body in outflow:
                kept = inflow[body] - outflow[body]
                if kept > 0:
                    links.append(Link(body, f"Kept ({body})", kept, "admin"))
            else:
                estimate = round(Fraction(inflow[body]) * rate)
                if estimate:
                    links.append(
                        Link(body, f"Administration ({body})", estimate, "admin", estimated=True)
                    )
        return links
    flow: dict[tuple[str, str], int] = defaultdict(int)
    admin: dict[str, int] = defaultdict(int)
    estimated: set[tuple[str, str]] = set()
    for chain in chains:
        r = apply_rule(chain, rate)
        amounts = r.steps(rate)
        for k in range(r.hand_overs):
            giver, receiver = r.bodies[k], r.bodies[k + 1]
            flow[(giver, receiver)] += amounts[k + 1]
            admin[giver] += amounts[k] - amounts[k + 1]
            # what reaches the end was measured when the chain was measured "delivered";
            # every other amount between bodies is the rule's
            if not (chain.measured == "delivered" and k == r.hand_overs - 1):
                estimated.add((giver, receiver))
    links = [Link(s, t, v, estimated=(s, t) in estimated) for (s, t), v in sorted(flow.items())]
    links += [
        Link(b, f"Administration ({b})", v, "admin", estimated=True)
        for b, v in sorted(admin.items())
        if v
    ]
    return links


def observed_kept(edges: list[Edge], rate: Fraction) -> list[dict[str, Any]]:
    """What the books say each intermediary kept (in − out), beside the rule's estimate.

    In a flow graph the amounts on the edges are observed: a body that receives money
    and passes part of it on kept the difference, its observed administration (or its
    own spending). The Audit Commission rule would say ``rate × in`` is lost at that
    body's hand-over; both are shown, and the books come first.
    """
    inflow: dict[tuple[str, str], int] = defaultdict(int)
    outflow: dict[tuple[str, str], int] = defaultdict(int)
    for e in edges:
        inflow[(e.stream, e.target)] += e.amount_pence
        outflow[(e.stream, e.source)] += e.amount_pence
    out = []
    for stream, body in sorted(set(inflow) & set(outflow)):
        amount_in, amount_out = inflow[(stream, body)], outflow[(stream, body)]
        kept = amount_in - amount_out
        rule = round(Fraction(amount_in) * rate)
        pct = f"{float(rate * 100):g}%"
        out.append(
            {
                "stream": stream,
                "body": body,
                "in_gbp": str(pence_to_pounds(amount_in)),
                "out_gbp": str(pence_to_pounds(amount_out)),
                "kept_gbp": str(pence_to_pounds(kept)),
                "rule_gbp": str(pence_to_pounds(rule)),
                "text": f"{body}: the books say £{kept / 100_000_000:,.1f}m kept; {pct} per "
                f"hand-over would say £{rule / 100_000_000:,.1f}m",
            }
        )
    return out


def store_edges(rows: list[dict[str, Any]]) -> list[Edge]:
    """Transfers marked in the store (giver → recipient) as a flow graph."""
    return [
        Edge(r["org"], r["transfer_to"], int(r["pence"]), r["kind"], i + 1)
        for i, r in enumerate(rows)
        if int(r["pence"]) > 0
    ]
