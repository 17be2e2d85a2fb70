"""`placecount compare`: counts side by side, against figures worked out here by hand.

The two bundled example places are compared: Exampleshire (the county) and Riverton (its
district), both 2008-09. Their figures are worked from the example's own inputs
(examples/make_examples.py): Riverton has no NHS body, so its health is the PESA table's
East Midlands health, £6,921.7m, times its share 98,400 / 4,400,000; Exampleshire's health
is its NHS bodies' own accounts, £589,296,250.00, which replace that estimate.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from placecount import compare as cmp
from placecount import run as runmod
from placecount.cli import app
from placecount.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
CRA_2018 = REAL / "pesa" / "CRA_2018_Database_for_Publication_rvsd.xlsx"

#: worked by hand from the example's inputs (see the module's docstring)
RIVERTON_HEALTH = Decimal("154794381.82")  # 6,921,700,000 × 98,400 / 4,400,000 = …381.818
EXAMPLESHIRE_HEALTH = Decimal("589296250.00")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each example place built once by `run`, into its own folder."""
    out = tmp_path_factory.mktemp("counts")
    for name in ("exampleshire", "riverton"):
        runmod.run(EXAMPLES / name / "placecount.toml", out / name)
    return {
        "exampleshire": out / "exampleshire" / "manifest.json",
        "riverton": out / "riverton" / "manifest.json",
        "exampleshire_json": out / "exampleshire" / "count.json",
    }


def pence(text: str) -> int:
    return int(Decimal(text) * 100)


def row(result: dict[str, Any], code: str | None) -> dict[str, Any]:
    [r] = [r for r in result["rows"] if r["cofog_code"] == code]
    return r


def test_two_places_compare_with_the_figures_worked_by_hand(built: dict[str, Path]) -> None:
    result = cmp.compare([built["exampleshire"], built["riverton"]])
    health = row(result, "07")
    ex, rv = health["counts"]
    assert Decimal(ex["amount_gbp"]) == EXAMPLESHIRE_HEALTH
    assert Decimal(rv["amount_gbp"]) == RIVERTON_HEALTH
    # £ per head: each count's own population
    assert Decimal(rv["per_head_gbp"]) == (RIVERTON_HEALTH / 98_400).quantize(Decimal("0.01"))
    # 589,296,250 / 512,300 = 1,150.2952…, yet the column is shared out to add up to the
    # total per head (3,232,194,211.55 / 512,300 = 6,309.18), as the report's own is: the
    # £0.0048 below exact is where the column's last penny went
    assert Decimal(ex["per_head_gbp"]) == Decimal("1150.29")
    column = [Decimal(r["counts"][0]["per_head_gbp"]) for r in result["rows"]]
    assert (
        sum(column) == Decimal("6309.18") == Decimal(result["totals"]["counts"][0]["per_head_gbp"])
    )
    for r in result["rows"]:  # each within a penny of its exact value
        exact = Decimal(r["counts"][0]["amount_gbp"]) / 512_300
        assert abs(Decimal(r["counts"][0]["per_head_gbp"]) - exact) < Decimal("0.01")
    # the share: 589,296,250.00 / 3,232,194,211.55 = 18.232…%, kept to 0.1% as every format
    assert ex["share"] == "0.182"
    [change] = health["changes"]
    assert Decimal(change["amount_gbp"]) == RIVERTON_HEALTH - EXAMPLESHIRE_HEALTH
    assert change["amount_gbp"] == "-434501868.18"
    # (154,794,381.82 − 589,296,250.00) / 589,296,250.00 = −73.73…%
    assert change["percent"] == "-73.7"
    assert result["prices"]["basis"] == "nominal"
    assert result["differences"] == []


def test_the_change_columns_and_every_count_add_up(built: dict[str, Path]) -> None:
    # by group, from the project files (built afresh): a manifest's totals are by division
    projects = [
        EXAMPLES / "exampleshire" / "placecount.toml",
        EXAMPLES / "riverton" / "placecount.toml",
    ]
    result = cmp.compare(projects, by="group")
    assert any(len(r["cofog_code"] or "") == 4 for r in result["rows"])
    for i in range(2):
        rows = sum(pence(r["counts"][i]["amount_gbp"]) for r in result["rows"])
        assert rows == pence(result["totals"]["counts"][i]["amount_gbp"])
    changes = sum(pence(r["changes"][0]["amount_gbp"]) for r in result["rows"])
    total = result["totals"]["changes"][0]["amount_gbp"]
    assert changes == pence(total)
    # each count's total is its report's count, unchanged in nominal prices
    report = json.loads(built["exampleshire_json"].read_text())
    assert result["totals"]["counts"][0]["amount_gbp"] == report["reconciliation"]["count_gbp"]


def test_a_count_compares_with_the_figures_its_report_prints(built: dict[str, Path]) -> None:
    """compare rounds by the same rules as report: the same count shows the same £ per head
    and the same shares in both, so a reader never sees 547.52 in one and 547.53 in the other."""
    result = cmp.compare([built["exampleshire"], built["riverton"]])
    report = json.loads(built["exampleshire_json"].read_text())
    by_code = {r["cofog_code"]: r for r in report["rows"]}
    assert {r["cofog_code"] for r in result["rows"]} == set(by_code)
    for r in result["rows"]:
        mine, theirs = r["counts"][0], by_code[r["cofog_code"]]
        assert mine["amount_gbp"] == theirs["total_gbp"], r["cofog_code"]
        assert mine["per_head_gbp"] == theirs["per_head_gbp"], r["cofog_code"]
        assert mine["share"] == theirs["share_of_total"], r["cofog_code"]
    # each change is the later figure less the earlier, row by row
    for r in result["rows"]:
        a, b = (pence(c["amount_gbp"]) for c in r["counts"])
        assert pence(r["changes"][0]["amount_gbp"]) == b - a


def test_report_json_and_manifest_give_the_same_comparison(built: dict[str, Path]) -> None:
    from_manifest = cmp.compare([built["exampleshire"], built["riverton"]])
    from_report = cmp.compare([built["exampleshire_json"], built["riverton"]])
    assert from_report["rows"] == from_manifest["rows"]
    assert from_report["totals"] == from_manifest["totals"]


def test_every_format_carries_the_figures_and_the_prices(
    built: dict[str, Path], tmp_path: Path, runner: CliRunner
) -> None:
    files = [str(built["exampleshire"]), str(built["riverton"])]
    got: dict[str, Any] = {}
    for fmt in cmp.FORMATS:
        target = tmp_path / f"compare.{'txt' if fmt == 'table' else fmt}"
        result = runner.invoke(app, ["compare", *files, "-o", str(target)])
        assert result.exit_code == 0, result.output
        got[fmt] = target
    text = got["table"].read_text()
    assert "154,794,381.82" in text and "-434,501,868.18" in text and "nominal" in text
    assert "154,794,381.82" in got["md"].read_text() and "nominal" in got["md"].read_text()
    html = got["html"].read_text()
    assert "<svg" in html and "154,794,381.82" in html and "<script" not in html
    rows = list(csv.DictReader(io.StringIO(got["csv"].read_text())))
    [rv_health] = [r for r in rows if r["cofog_code"] == "07" and r["count"].startswith("Riv")]
    assert rv_health["amount_gbp"] == "154794381.82"
    assert rv_health["change_gbp"] == "-434501868.18"
    assert {r["prices"] for r in rows} == {"nominal"}
    ws = load_workbook(got["xlsx"])["Comparison"]
    values = [c.value for line in ws.iter_rows() for c in line]
    assert float(RIVERTON_HEALTH) in values
    # the JSON is the library's result
    assert json.loads(got["json"].read_text()) == cmp.compare([Path(f) for f in files])


def write_deflators(path: Path) -> Path:
    """A deflator table laid out as HM Treasury publishes it. The index figures are the
    test's own (not HM Treasury's): what matters is that the restatement follows them."""
    path.write_text(
        "GDP DEFLATORS AT MARKET PRICES, AND MONEY GDP,,,\n"
        "Test figures written for this test,,,\n"
        "Financial year,GDP deflator at market prices,,\n"
        "Financial year,2022-23 = 100,per cent change on previous year,\n"
        "2007-08,77.216,,\n"
        "2008-09,79.532,3.0,\n"
        "2022-23,100.000,,\n",
        encoding="utf-8",
    )
    return path


def test_real_terms_restate_every_figure_from_the_table(
    built: dict[str, Path], tmp_path: Path
) -> None:
    table = write_deflators(tmp_path / "deflators.csv")
    nominal = cmp.compare([built["exampleshire"], built["riverton"]])
    real = cmp.compare(
        [built["exampleshire"], built["riverton"]],
        prices="real",
        base_year="2022-23",
        deflators=table,
    )
    factor = Fraction(Decimal("100.000")) / Fraction(Decimal("79.532"))
    assert real["prices"]["basis"] == "real" and real["prices"]["base_year"] == "2022-23"
    assert "2022-23 prices" in real["prices"]["text"]
    # by hand: Riverton's health, £154,794,381.82 × 100 / 79.532 = £194,631,571.971…
    health = row(real, "07")["counts"][1]
    exact = Fraction(pence(str(RIVERTON_HEALTH))) * factor
    assert abs(Fraction(pence(health["amount_gbp"])) - exact) < 1
    assert health["amount_gbp"] == "194631571.97"
    # each total is rounded once from the exact restatement, and its rows add up to it
    for i, before in enumerate(nominal["totals"]["counts"]):
        exact_total = Fraction(pence(before["amount_gbp"])) * factor
        rounded = int(
            (Decimal(exact_total.numerator) / Decimal(exact_total.denominator)).quantize(
                Decimal(1), rounding=ROUND_HALF_EVEN
            )
        )
        assert pence(real["totals"]["counts"][i]["amount_gbp"]) == rounded
        assert sum(pence(r["counts"][i]["amount_gbp"]) for r in real["rows"]) == rounded
        for r_real, r_nom in zip(real["rows"], nominal["rows"], strict=True):
            ex = Fraction(pence(r_nom["counts"][i]["amount_gbp"])) * factor
            assert abs(pence(r_real["counts"][i]["amount_gbp"]) - ex) < 1
    changes = sum(pence(r["changes"][0]["amount_gbp"]) for r in real["rows"])
    assert changes == pence(real["totals"]["changes"][0]["amount_gbp"])
    # a share does not move with prices
    assert [r["counts"][0]["share"] for r in real["rows"]] == [
        r["counts"][0]["share"] for r in nominal["rows"]
    ]
    # £ per head from the exact restatement: 589,296,250.00 × 100 / 79.532 / 512,300
    ph = Fraction(58_929_625_000) * factor / 100 / 512_300
    expected = (Decimal(ph.numerator) / Decimal(ph.denominator)).quantize(Decimal("0.01"))
    assert Decimal(row(real, "07")["counts"][0]["per_head_gbp"]) == expected
    assert "real" in cmp.to_csv(real).splitlines()[1]
    assert "2022-23 prices" in cmp.to_text(real)


def test_real_terms_need_a_table_and_its_years(built: dict[str, Path], tmp_path: Path) -> None:
    files = [built["exampleshire"], built["riverton"]]
    with pytest.raises(InputError) as err:
        cmp.compare(files, prices="real", base_year="2022-23")
    assert err.value.issues[0].code == "bad-deflators"
    table = write_deflators(tmp_path / "deflators.csv")
    with pytest.raises(InputError) as err:
        cmp.compare(files, prices="real", base_year="2015-16", deflators=table)
    assert "2015-16" in err.value.issues[0].message
    bad = tmp_path / "bad.csv"
    bad.write_text("financial_year,deflator\n2008-09,eighty\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        cmp.compare(files, prices="real", base_year="2008-09", deflators=bad)
    issue = err.value.issues[0]
    assert (issue.code, issue.file, issue.row, issue.column) == ("bad-deflators", "bad.csv", 2, "B")
    # an exponent is refused as text, before an exact fraction with a billion digits is made
    bad.write_text("financial_year,deflator\n2008-09,1e999999999\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        cmp.compare(files, prices="real", base_year="2008-09", deflators=bad)
    assert "exponent" in err.value.issues[0].message


def test_counts_made_differently_are_refused_with_the_evidence(
    built: dict[str, Path], tmp_path: Path, runner: CliRunner
) -> None:
    other = json.loads(built["riverton"].read_text())
    other["settings"]["method"]["ndpbs"] = "add-uncovered"
    for item in other["reference_data"]:
        if item["path"].endswith("mappings/pesa.csv"):
            item["sha256"] = "0" * 64
    changed = tmp_path / "manifest.json"
    changed.write_text(json.dumps(other), encoding="utf-8")
    args = ["compare", str(built["exampleshire"]), str(changed)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "method ndpbs" in result.stderr and "'memo'" in result.stderr
    assert "mappings/pesa.csv" in result.stderr and "--mixed" in result.stderr
    assert "Traceback" not in result.output
    mixed = runner.invoke(app, [*args, "--mixed", "--format", "json"])
    assert mixed.exit_code == 0
    data = json.loads(mixed.stdout)
    assert {d["key"] for d in data["differences"]} == {"ndpbs", "data/cofog/mappings/pesa.csv"}
    text = runner.invoke(app, [*args, "--mixed"]).stdout
    assert "Differs (compared with --mixed): method ndpbs" in text


def test_a_report_at_another_level_is_refused(built: dict[str, Path], runner: CliRunner) -> None:
    args = ["compare", str(built["exampleshire_json"]), str(built["riverton"]), "--by", "group"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "divisions, not groups" in result.stderr


def test_not_a_count(tmp_path: Path, runner: CliRunner) -> None:
    junk = tmp_path / "x.json"
    junk.write_text("[1, 2]", encoding="utf-8")
    result = runner.invoke(app, ["compare", str(junk), str(junk)])
    assert result.exit_code == 2 and "neither a manifest.json" in result.stderr


def test_benchmarks_from_the_example_table_beside_the_place(built: dict[str, Path]) -> None:
    result = cmp.compare([built["exampleshire"], built["riverton"]], benchmarks=True)
    ex = result["benchmarks"][0]
    assert ex["region"] == "East Midlands"
    health = [r for r in ex["rows"] if r["cofog_code"] == "07"][0]
    # the region's health, £6,921.7m, over its 4,400,000 people
    assert health["region_per_head_gbp"] == "1573.11"
    # the place's own, as its report prints it (the column shared out to add up)
    assert health["place_per_head_gbp"] == "1150.29"
    # the table is central government spending: said, since the place counts every body
    assert any("not the same coverage" in n for n in ex["notes"])


def test_project_of_several_places_runs_compares_and_verifies(
    tmp_path: Path, runner: CliRunner
) -> None:
    shutil.copytree(EXAMPLES / "places", tmp_path / "places")
    shutil.copytree(EXAMPLES / "exampleshire", tmp_path / "exampleshire")
    project = tmp_path / "places" / "placecount.toml"
    first = runmod.run(project, tmp_path / "one")
    second = runmod.run(project, tmp_path / "two")
    assert first == second
    for out in first["outputs"]:
        a = (tmp_path / "one" / out["path"]).read_bytes()
        assert a == (tmp_path / "two" / out["path"]).read_bytes(), out["path"]
    assert [p["key"] for p in first["places"]] == ["exampleshire-2008-09", "riverton-2008-09"]
    compared = json.loads((tmp_path / "one" / "compare.json").read_text())
    health = row(compared, "07")
    assert [Decimal(c["amount_gbp"]) for c in health["counts"]] == [
        EXAMPLESHIRE_HEALTH,
        RIVERTON_HEALTH,
    ]
    # each place's own count is the single-place project's count, unchanged
    alone = runmod.run(EXAMPLES / "riverton" / "placecount.toml", tmp_path / "alone")
    assert (
        first["totals"]["places"]["riverton-2008-09"]["count_gbp"] == alone["totals"]["count_gbp"]
    )
    assert str(tmp_path) not in (tmp_path / "one" / "manifest.json").read_text()
    result = runner.invoke(app, ["verify", str(tmp_path / "one" / "manifest.json")])
    assert result.exit_code == 0, result.output
    assert "Verified: everything matches." in result.stdout
    # an input changed: verify says so, exit 3
    csv_file = tmp_path / "exampleshire" / "riverton_district_outturn_2008-09.csv"
    csv_file.write_bytes(csv_file.read_bytes().replace(b"Elections", b"Election"))
    result = runner.invoke(app, ["verify", str(tmp_path / "one" / "manifest.json")])
    assert result.exit_code == 3
    assert "riverton_district_outturn_2008-09.csv: changed" in result.stdout


def test_one_place_of_several_by_its_key(tmp_path: Path, runner: CliRunner) -> None:
    project = EXAMPLES / "places" / "placecount.toml"
    result = runner.invoke(
        app, ["run", f"{project}#riverton-2008-09", "--out", str(tmp_path), "-q"]
    )
    assert result.exit_code == 0, result.output
    got = json.loads((tmp_path / "manifest.json").read_text())
    assert got["settings"]["place"]["name"] == "Riverton"
    assert got["project_file"].endswith("placecount.toml#riverton-2008-09")
    result = runner.invoke(app, ["run", f"{project}#atlantis", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "riverton-2008-09" in result.stderr


def test_places_with_the_same_key_are_refused(tmp_path: Path, runner: CliRunner) -> None:
    project = tmp_path / "placecount.toml"
    project.write_text(
        '[[places]]\nname = "A"\nfinancial_year = "2008-09"\n\n'
        '[[places]]\nname = "a"\nfinancial_year = "2008-09"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["run", str(project), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "two places have the key 'a-2008-09'" in result.stderr


# --- benchmarks from the real CRA database ----------------------------------------------------


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the published file {path.name} is not here (see the project's sources)")
    return path


NORTH_WEST = 7_258_658  # the North West's people, mid-2017 (the test's input)
ENGLAND = 55_619_430  # England's people, mid-2017 (the test's input)
PLACE = 1_210_000  # a place of the North West (the test's input)


def cra_by_division(path: Path) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The North West's and England's 2017-18 spending by COFOG division, in pounds, from
    the cells (openpyxl and Decimal): £'000s, as the Metadata sheet says; England is the
    rows of every ENGLAND_ region."""
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = wb["CRA 2018 database"].iter_rows(values_only=True)
        head = list(next(rows))
        at = {name: head.index(name) for name in head if name}
        nw: dict[str, Decimal] = {}
        eng: dict[str, Decimal] = {}
        for r in rows:
            region = str(r[at["NUTS Region"]] or "")
            if not region.startswith("ENGLAND_") or r[at["ID/non-ID"]] != "ID":
                continue
            value = r[at["2017-18"]]
            pounds = (Decimal(repr(value)) if isinstance(value, float) else Decimal(value)) * 1000
            division = f"{int(str(r[at['COFOG Level 0']]).split('.')[0]):02d}"
            eng[division] = eng.get(division, Decimal(0)) + pounds
            if region == "ENGLAND_North West":
                nw[division] = nw.get(division, Decimal(0)) + pounds
    finally:
        wb.close()
    return nw, eng


def test_a_real_count_beside_the_north_west_and_england_from_the_cra(tmp_path: Path) -> None:
    cra = need(CRA_2018)
    project = tmp_path / "placecount.toml"
    project.write_text(
        "[place]\n"
        'name = "A North West place"\n'
        'financial_year = "2017-18"\n'
        f"population = {PLACE}\n\n"
        "[[sources]]\n"
        'kind = "pesa"\n'
        f"file = {json.dumps(str(cra))}\n"
        'region = "North West"\n'
        f"place_population = {PLACE}\n"
        f"region_population = {NORTH_WEST}\n",
        encoding="utf-8",
    )
    manifest = runmod.run(project, tmp_path / "out")
    del manifest
    result = cmp.compare(
        [tmp_path / "out" / "manifest.json", project],
        benchmarks=True,
        england_population=ENGLAND,
    )
    nw, eng = cra_by_division(cra)
    assert sum(nw.values()) == 71_185_419_000  # SOURCES.md: all of the North West, 2017-18
    bench = result["benchmarks"][0]
    assert bench["region"] == "North West" and bench["financial_year"] == "2017-18"
    got = {r["cofog_code"]: r for r in bench["rows"]}
    assert set(got) == set(eng)
    # each column is rounded once and shared out: every figure within a penny of the
    # exact £ per head worked from the file, and the column adds up to its total
    for code in eng:
        exact_nw = nw.get(code, Decimal(0)) / NORTH_WEST
        exact_eng = eng[code] / ENGLAND
        assert abs(Decimal(got[code]["region_per_head_gbp"]) - exact_nw) < Decimal("0.01"), code
        assert abs(Decimal(got[code]["england_per_head_gbp"]) - exact_eng) < Decimal("0.01"), code
        # the place is the region's share: its own per head is the region's, to a penny
        assert abs(Decimal(got[code]["place_per_head_gbp"]) - exact_nw) <= Decimal("0.02")
    for column, whole, people in (
        ("england_per_head_gbp", sum(eng.values()), ENGLAND),
        ("region_per_head_gbp", sum(nw.values()), NORTH_WEST),
    ):
        total = (whole / people).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert Decimal(bench["totals"][column]) == total
        assert sum(Decimal(r[column]) for r in bench["rows"]) == total, column
    assert any("identifiable" in n for n in bench["notes"])
    text = cmp.to_text(result)
    assert "North West £ per head" in text and "England £ per head" in text


def test_the_html_comparison_in_a_browser(built: dict[str, Path], tmp_path: Path) -> None:
    """The page renders in a real browser with no request made, and shows every figure of
    the comparison's JSON: each count's £, £ per head and share, the changes, and the
    benchmarks; its chart has a bar per count and row."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_report_html import open_in_browser, text_and_links

    result = cmp.compare([built["exampleshire"], built["riverton"]], benchmarks=True)
    page = tmp_path / "compare.html"
    page.write_text(cmp.to_html(result), encoding="utf-8")
    dom, requests, errors = open_in_browser(page)
    assert requests == [] and errors == []
    text, links = text_and_links(dom)
    assert [x for x in links if not x.startswith(("#", "data:"))] == []

    def shown(amount: str | None) -> str:
        return f"{Decimal(amount or 0):,.2f}"

    wanted = []
    for r in [*result["rows"], result["totals"]]:
        for c in r["counts"]:
            wanted += [shown(c["amount_gbp"]), shown(c["per_head_gbp"])]
            wanted.append(f"{Decimal(c['share']) * 100:.1f}%")
        for ch in r["changes"]:
            wanted += [shown(ch["amount_gbp"]), f"{Decimal(ch['percent']):+.1f}%"]
    for b in result["benchmarks"]:
        for r in [*b["rows"], b["totals"]]:
            wanted += [shown(r["place_per_head_gbp"]), shown(r["region_per_head_gbp"])]
    missing = sorted({w for w in wanted if w not in text})
    assert missing == [], missing
    # 9 divisions × 2 counts, and a key square per count
    assert dom.count("<rect") == len(result["rows"]) * 2 + 2
