"""Funding chains and the 20% rule, with figures worked out by hand."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.errors import InputError
from placecount.flows import Chain, Edge, apply_rule, decompose

D = Decimal
ROOT = Path(__file__).resolve().parents[1]
FIFTH = Fraction(1, 5)


def test_three_hand_overs_worked_by_hand() -> None:
    # £100 delivered through 3 hand-overs at 20%: 100 / 0.8³ = 195.3125 → £195.31.
    back = apply_rule(Chain("s", ["A", "B", "C", "D"], 10_000, "delivered"), FIFTH)
    assert (back.in_pence, back.delivered_pence, back.admin_pence) == (19_531, 10_000, 9_531)
    # £100 entering the same path: 100 × 0.8³ = 51.20.
    fwd = apply_rule(Chain("s", ["A", "B", "C", "D"], 10_000, "source"), FIFTH)
    assert (fwd.in_pence, fwd.delivered_pence, fwd.admin_pence) == (10_000, 5_120, 4_880)


@pytest.mark.parametrize(("n", "admin"), [(1, 2_500), (2, 5_625), (3, 9_531)])
def test_administration_as_share_of_delivered(n: int, admin: int) -> None:
    """DOMAIN: 1 hand-over costs 25% of what is delivered, 2 cost 56.25%, 3 cost 95.3%."""
    bodies = [f"B{i}" for i in range(n + 1)]
    assert apply_rule(Chain("s", bodies, 10_000, "delivered"), FIFTH).admin_pence == admin


@given(
    st.integers(min_value=0, max_value=10**13),
    st.integers(min_value=1, max_value=8),
    st.fractions(min_value=0, max_value=Fraction(9, 10)),
)
def test_forward_then_gross_up_returns_the_input(pence: int, n: int, rate: Fraction) -> None:
    bodies = [f"B{i}" for i in range(n + 1)]
    fwd = apply_rule(Chain("s", bodies, pence, "source"), rate)
    assert fwd.delivered_pence + fwd.admin_pence == pence
    back = apply_rule(Chain("s", bodies, fwd.delivered_pence, "delivered"), rate)
    keep = (1 - rate) ** n
    # rounding the delivered amount to a penny moves the gross-up by at most 1/keep pence
    assert abs(back.in_pence - pence) <= 1 / keep


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=8))
def test_more_hand_overs_never_deliver_more(pence: int, n: int) -> None:
    short = apply_rule(Chain("s", [f"B{i}" for i in range(n + 1)], pence, "source"), FIFTH)
    long = apply_rule(Chain("s", [f"B{i}" for i in range(n + 2)], pence, "source"), FIFTH)
    assert long.delivered_pence <= short.delivered_pence


def test_graph_decomposition_worked_by_hand() -> None:
    """A body fed by two sources paying three ends, keeping a little for itself.

    S1 pays B £60, S2 pays B £40; B pays E1 £45, E2 £30, E3 £15 and keeps £10.
    B's outflow splits over its inflows 60:40, so S1 → B → E1 carries 60 × 45/100 = £27,
    S2 → B → E1 40 × 45/100 = £18, and so on; what B keeps ends paths at B.
    """
    edges = [
        Edge("S1", "B", 6000, "eu", 2),
        Edge("S2", "B", 4000, "eu", 3),
        Edge("B", "E1", 4500, "eu", 4),
        Edge("B", "E2", 3000, "eu", 5),
        Edge("B", "E3", 1500, "eu", 6),
    ]
    got = {" > ".join(c.bodies): c.amount_pence for c in decompose(edges)}
    assert got == {
        "S1 > B > E1": 2700,
        "S2 > B > E1": 1800,
        "S1 > B > E2": 1800,
        "S2 > B > E2": 1200,
        "S1 > B > E3": 900,
        "S2 > B > E3": 600,
        "S1 > B": 600,
        "S2 > B": 400,
    }
    chains = decompose(edges)
    for c in chains:
        r = apply_rule(c, FIFTH)
        assert r.in_pence == r.delivered_pence + r.admin_pence
    # gross-up at 20%: 2-hand-over paths need delivered / 0.64, 1-hand-over / 0.8
    two = sum(c.amount_pence for c in chains if len(c.bodies) == 3)  # £90
    one = sum(c.amount_pence for c in chains if len(c.bodies) == 2)  # £10
    assert (two, one) == (9000, 1000)
    # by hand, each rounded half to even: 27/0.64 = 42.1875 → 4219p; 18/0.64 = 28.125 (twice)
    # → 2812p; 12/0.64 = 1875p; 9/0.64 = 14.0625 → 1406p; 6/0.64 = 9.375 → 938p;
    # 6/0.8 = 750p; 4/0.8 = 500p
    total_in = sum(apply_rule(c, FIFTH).in_pence for c in chains)
    assert total_in == 4219 + 2812 + 2812 + 1875 + 1406 + 938 + 750 + 500


def test_decomposition_keeps_every_penny_at_each_end() -> None:
    # thirds do not divide into pence: the ends still get exactly what the graph says
    edges = [
        Edge("A", "M", 100, "s", 2),
        Edge("B", "M", 200, "s", 3),
        Edge("M", "X", 101, "s", 4),
        Edge("M", "Y", 199, "s", 5),
    ]
    chains = decompose(edges)
    assert sum(c.amount_pence for c in chains if c.bodies[-1] == "X") == 101
    assert sum(c.amount_pence for c in chains if c.bodies[-1] == "Y") == 199


def write_csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_graph_file_through_the_cli(runner: CliRunner, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "graph.csv",
        "from,to,amount_gbp,stream\nS1,B,60,eu\nS2,B,40,eu\nB,E1,45,eu\nB,E2,30,eu\nB,E3,15,eu\n",
    )
    result = runner.invoke(app, ["flows", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by_path = {r["path"]: r for r in rows}
    assert by_path["S1 > B > E1"]["delivered_gbp"] == "27.00"
    assert by_path["S1 > B > E1"]["in_gbp"] == "42.19"  # 27 / 0.64 = 42.1875
    assert by_path["S1 > B"]["in_gbp"] == "7.50"  # 6 / 0.8
    for r in rows:
        assert D(r["in_gbp"]) == D(r["delivered_gbp"]) + D(r["administration_gbp"])


@pytest.mark.parametrize(
    ("text", "message", "row"),
    [
        ("from,to,amount_gbp\nA,B,10\nB,C,5\nC,A,5\n", "go round in a circle", 2),
        ("from,to,amount_gbp\nA,B,-10\n", "-10 is negative", 2),
        ("from,to,amount_gbp\nA,B,10\nB,C,25\n", "'B' pays out £25.00 but receives only £10.00", 3),
        ("from,to,amount_gbp\nA,,10\n", "needs a body in both from and to", 2),
        ("stream,path,amount_gbp,measured_at\nERDF,,10,delivered\n", "the path is empty", 2),
        ("stream,path,amount_gbp,measured_at\nERDF,A > > B,10,source\n", "empty body", 2),
        ("stream,path,amount_gbp,measured_at\nERDF,A,10,source\n", "no hand-over", 2),
        (
            "stream,path,amount_gbp,measured_at\nERDF,A > B,ten,source\n",
            "'ten' is not an amount",
            2,
        ),
        ("stream,path,amount_gbp,measured_at\nERDF,A > B,10,somewhere\n", "must be 'source'", 2),
    ],
)
def test_bad_flows_name_the_row(
    runner: CliRunner, tmp_path: Path, text: str, message: str, row: int
) -> None:
    path = write_csv(tmp_path, "bad.csv", text)
    result = runner.invoke(app, ["flows", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert f"bad.csv row {row}" in result.stderr or "bad.csv › " in result.stderr
    with pytest.raises(InputError) as err:
        api.flows(path)
    assert err.value.issues[0].row == row


def test_collapse_and_sensitivity(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "chains.csv",
        "stream,path,amount_gbp,measured_at\n"
        "ERDF,EC > DCLG > EMDA > Project,100,delivered\n"
        "ESF,EC > DWP > Provider,100,source\n",
    )
    result = api.flows(path, sensitivity="0.1,0.3", collapse="EMDA")
    assert [(p["path"], p["in_gbp"], p["delivered_gbp"]) for p in result["paths"]] == [
        ("EC > DCLG > EMDA > Project", "195.31", "100.00"),
        ("EC > DWP > Provider", "100.00", "64.00"),
    ]
    # without EMDA: 100 / 0.8² = 156.25 needed, saving 195.31 − 156.25 = 39.06
    assert result["collapse"]["administration_saved_gbp"] == "39.06"
    assert result["collapse"]["paths_changed"] == 1
    # at 10%: 100 / 0.729 = 137.17 and 100 × 0.81 = 81.00
    assert result["sensitivity"][0] == {
        "rate": "0.1",
        "paths": 2,
        "in_gbp": "237.17",
        "delivered_gbp": "181.00",
        "administration_gbp": "56.17",
        "administration_share_of_delivered": "0.310",
    }
    with pytest.raises(InputError, match="not an intermediary"):
        api.flows(path, collapse="Project")


def test_bad_rate(runner: CliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "c.csv", "stream,path,amount_gbp,measured_at\nS,A > B,1,source\n")
    result = runner.invoke(app, ["flows", str(path), "--rate", "1.2"])
    assert result.exit_code == 2 and "--rate 1.2 must be at least 0 and below 1" in result.stderr


def test_leicester_example_reproduces_the_guide() -> None:
    """About £230m delivered and about £180m administration at 20% (DOMAIN.md)."""
    result = api.flows(ROOT / "examples" / "leicester" / "european_funding.csv")
    # by hand: £130m through 3 hand-overs (× 0.953125) and £100m through 2 (× 0.5625)
    assert result["totals"]["delivered_gbp"] == "230000000.00"
    assert result["totals"]["administration_gbp"] == "180156250.00"
    assert D("175e6") < D(result["totals"]["administration_gbp"]) < D("185e6")


def test_formats(runner: CliRunner, tmp_path: Path) -> None:
    path = ROOT / "examples" / "leicester" / "european_funding.csv"
    data = json.loads(runner.invoke(app, ["flows", str(path), "--format", "json"]).stdout)
    assert data == json.loads(json.dumps(api.flows(path), default=str))
    out = tmp_path / "flows.xlsx"
    assert (
        runner.invoke(
            app, ["flows", str(path), "-o", str(out), "--sensitivity", "0.1,0.2"]
        ).exit_code
        == 0
    )
    wb = load_workbook(out)
    assert wb.sheetnames == ["Paths", "Streams", "Sensitivity", "Method"]
    totals = [r for r in wb["Streams"].iter_rows(values_only=True) if r[0] == "Total"][0]
    assert totals[3] == 230_000_000 and totals[4] == 180_156_250
    table = runner.invoke(app, ["flows", str(path)]).stdout
    assert "410,156,250.00" in table


def test_flows_from_the_store(db: Path, xlsx: Callable[..., Path]) -> None:
    council = xlsx(
        [
            ["Service", "Net expenditure (£)", "Paid to"],
            ["Education services", 100, None],
            ["Pooled budget", 80, "PCT"],
        ]
    )
    api.ingest("council", [council], db, org="County")
    result = api.flows(None, db=db)
    # issue 12: the County's books say £80 left it; the rule estimates what arrived
    # (80 × 0.8 = 64), never that £100 left
    assert [(p["path"], p["delivered_gbp"], p["in_gbp"]) for p in result["paths"]] == [
        ("County > PCT", "64.00", "80.00")
    ]
    assert result["books"] == []  # one hand-over: no body both receives and passes on


def test_flow_graph_shows_what_the_books_say_each_body_kept_issue_12(tmp_path: Path) -> None:
    """Department → Agency £100m, Agency → Council £70m, Council → Provider £60m: the
    books say the Agency kept £30m (the rule at 20% would say £20m) and the Council £10m
    (the rule: 20% of £70m = £14m)."""
    path = tmp_path / "graph.csv"
    path.write_text(
        "from,to,amount_gbp\n"
        "Department,Agency,100000000\n"
        "Agency,Council,70000000\n"
        "Council,Provider,60000000\n",
        encoding="utf-8",
    )
    result = api.flows(path)
    assert [
        (b["body"], b["in_gbp"], b["out_gbp"], b["kept_gbp"], b["rule_gbp"])
        for b in result["books"]
    ] == [
        ("Agency", "100000000.00", "70000000.00", "30000000.00", "20000000.00"),
        ("Council", "70000000.00", "60000000.00", "10000000.00", "14000000.00"),
    ]
    assert result["books"][0]["text"] == (
        "Agency: the books say £30.0m kept; 20% per hand-over would say £20.0m"
    )


def test_chart_files(tmp_path: Path) -> None:
    path = ROOT / "examples" / "leicester" / "european_funding.csv"
    for suffix in (".svg", ".png", ".html"):
        out = tmp_path / f"wall{suffix}"
        result = api.flows(path, chart=out, title="Leicester")
        assert out.stat().st_size > 1000
        assert result["chart"] == out.name
    assert "£230.0m delivered, £180.2m administration" in (tmp_path / "wall.svg").read_text()


def _svg_texts(path: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return ["".join(el.itertext()).strip() for el in root.iter() if el.tag.endswith("text")]


def test_a_graph_chart_shows_the_booked_payments_issue_15(tmp_path: Path) -> None:
    # the books: the county pays the district £8.5m, the district passes £6m to a trust.
    # The chart showed £10.6m leaving the county (8.5 / 0.8, grossed up without saying so).
    graph = tmp_path / "graph.csv"
    graph.write_text(
        "from,to,amount_gbp\nCounty,District,8500000\nDistrict,Trust,6000000\n",
        encoding="utf-8",
    )
    out = tmp_path / "wall.svg"
    api.flows(graph, chart=out)
    texts = _svg_texts(out)
    assert "£8.5m" in texts and "£6.0m" in texts  # the two payments, as booked, no "est."
    assert "£10.6m" not in " ".join(texts) and "£10.6m est." not in texts
    # the district kept £2.5m by its books; the trust's administration is the rule's:
    # 20% of the £6.0m it received = £1.2m, an estimate
    assert "Kept (District)" in texts and "£2.5m" in texts
    assert "Administration (Trust)" in texts and "£1.2m est." in texts
    assert any(t.startswith('Amounts without "est." are as booked or measured;') for t in texts)


def test_a_chains_chart_marks_the_rules_amounts_as_estimates_issue_15(tmp_path: Path) -> None:
    # £100m delivered through A > B > C at 20%: C received £100m (measured); B passed on
    # £100m of the £125m it got (est.); A paid £156.25m (est.) — 100 / 0.8 / 0.8.
    chains = tmp_path / "chains.csv"
    chains.write_text(
        "stream,path,amount_gbp,measured_at\ns,A > B > C,100000000,delivered\n", encoding="utf-8"
    )
    out = tmp_path / "wall.svg"
    api.flows(chains, chart=out)
    texts = _svg_texts(out)
    assert "£125.0m est." in texts  # A → B, the rule's
    assert "£100.0m" in texts  # B → C, what was measured delivered
    assert "£156.3m est." in texts  # what A paid in, the rule's
    assert "£31.3m est." in texts and "£25.0m est." in texts  # administration at A and B


def test_a_chart_in_a_missing_folder_is_exit_2_before_any_work_issue_15(tmp_path: Path) -> None:
    chains = ROOT / "examples" / "leicester" / "european_funding.csv"
    target = tmp_path / "nodir" / "wall.svg"
    result = CliRunner().invoke(app, ["flows", str(chains), "--chart", str(target)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"error: --chart {target}: the folder {target.parent} does not exist."
    )
