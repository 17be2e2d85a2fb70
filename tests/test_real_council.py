"""Real published tables of many bodies, read by placecount and checked against figures
worked out here from the cells (read as text and summed in Decimal, without placecount's
reader) and against those in ``../shared/real/SOURCES.md``.

The files are not part of the project: the tests skip when the folder is absent.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placecount import api
from placecount.cli import app
from placecount.errors import InputError, Issue
from placecount.models import ReadOptions, SourceRead
from placecount.sources import read_sources
from placecount.store import Store

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
COUNCIL = REAL / "council"


@pytest.fixture(autouse=True)
def _real_files() -> None:
    if not REAL.is_dir():
        pytest.skip("../shared/real is not here: the real-file tests need it")


# -- reading cells independently --


def sheet_rows(path: Path, sheet: str | None = None) -> list[list[str]]:
    """A sheet's cells as text, row 1 first ('' when empty)."""
    if path.suffix == ".csv":
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")
        return [list(r) for r in csv.reader(text.splitlines(keepends=True))]
    import fastexcel

    ws = fastexcel.read_excel(str(path)).load_sheet(sheet, header_row=None, dtypes="string")
    table = ws.to_arrow()
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    lead = min((c.absolute_index for c in ws.available_columns()), default=0)
    return [[""] * lead + [v or "" for v in row] for row in zip(*cols, strict=True)]


def amount(text: str) -> Decimal:
    t = text.strip().replace(",", "")
    return Decimal(t) if t not in ("", "-") else Decimal(0)


def pence(value: Decimal, factor: int = 1000) -> int:
    """A cell in £ thousand as pence, rounded half-even (one cell at a time)."""
    return int((value * factor * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def find_row(rows: list[list[str]], col: int, value: str) -> int:
    """The 0-based index of the first row whose cell in ``col`` is ``value``."""
    return next(i for i, r in enumerate(rows) if len(r) > col and r[col].strip() == value)


def read(
    path: Path, *orgs: str, kind: str = "council", **kw: object
) -> tuple[list[SourceRead], list[Issue]]:
    options = ReadOptions(orgs=list(orgs), org=orgs[0] if len(orgs) == 1 else None, **kw)  # type: ignore[arg-type]
    return read_sources(kind, path, options)


def kept_by_org(reads: list[SourceRead]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in reads:
        for ln in r.kept:
            assert ln.org is not None and ln.amount_pence is not None
            out[ln.org] = out.get(ln.org, 0) + ln.amount_pence
    return out


def codes_of(read_: SourceRead, org: str) -> Iterator[str | None]:
    return (ln.native_code for ln in read_.kept if ln.org == org)


# -- RA 2024-25, one row per authority --

RA25 = COUNCIL / "RA_2024-25_data_Part_1.ods"
RA_TOTAL_CODES = {"190", "290", "330", "360", "390", "490", "509", "590", "599", "690", "799"}


def ra25_expected(rows: list[list[str]], ons: str) -> tuple[Decimal, Decimal, int]:
    """Sum of the service lines (codes in row 9 up to 799, TOTALs left out) and line 799."""
    codes = rows[8]
    tse = codes.index("799")
    lines = [c for c in range(6, tse) if codes[c] and codes[c] not in RA_TOTAL_CODES]
    r = rows[find_row(rows, 1, ons)]
    return sum((amount(r[c]) for c in lines), Decimal(0)), amount(r[tse]), len(lines)


@pytest.mark.parametrize(
    ("ons", "name", "sources_figure"),
    [
        ("E09000004", "Bexley", "348978"),
        ("E08000003", "Manchester", "1228047"),
        ("E06000063", "Cumberland", "554895"),
        ("E10000017", "Lancashire", "2355686"),
        ("E23000003", "Lancashire Police and Crime Commissioner", "382994"),
        ("E31000023", "Lancashire Fire & Rescue Authority", "75389"),
    ],
)
def test_ra_2024_25_authority_total_is_its_service_expenditure(
    ons: str, name: str, sources_figure: str
) -> None:
    rows = sheet_rows(RA25, "RA_LA_Data_2024-25")
    lines, tse, n = ra25_expected(rows, ons)
    assert n == 137
    assert lines == tse == Decimal(sources_figure)
    reads, _ = read(RA25, ons)
    [src] = reads
    assert src.sheet == "RA_LA_Data_2024-25"
    assert src.total_pence == pence(lines)
    assert src.kept_count == 137
    assert {ln.org for ln in src.lines} == {name}
    assert src.units == "thousands" and "A3" in src.units_from
    assert src.year == "2024-25"
    kept = src.kept
    assert {ln.extra.get("org_code") for ln in kept} == {ons}
    # nothing below TOTAL SERVICE EXPENDITURE is kept, and no TOTAL column is a line but
    # the one-line tables (police, fire, other services)
    assert not RA_TOTAL_CODES & {ln.native_code for ln in kept}
    assert all(int(ln.native_code or 0) < 799 for ln in kept)


def test_ra_2024_25_police_is_one_line_table() -> None:
    rows = sheet_rows(RA25, "RA_LA_Data_2024-25")
    r = rows[find_row(rows, 1, "E23000003")]
    police = amount(r[rows[8].index("601")])
    assert police == Decimal(381100)  # SOURCES.md
    reads, _ = read(RA25, "Lancashire Police and Crime Commissioner")
    [line] = [ln for ln in reads[0].kept if ln.native_code == "601"]
    assert line.native_label == "TOTAL POLICE SERVICES"
    assert line.amount_pence == pence(police)
    assert line.extra["org_class"] == "O"


def test_ra_2024_25_below_the_line_read_and_left_out_with_reasons() -> None:
    reads, _ = read(RA25, "Bexley")
    out = {ln.native_code: ln.reason or "" for ln in reads[0].left_out}
    assert "housing benefit" in out["811"]
    assert "transfer" in out["821"] and "transfer" in out["828"]
    assert "accounting" in out["847"]
    assert "total" in out["849"]
    assert "control total" in out["799"]
    assert "subtotal" in out["190"]
    rows = sheet_rows(RA25, "RA_LA_Data_2024-25")
    r = rows[find_row(rows, 1, "E09000004")]
    net = amount(r[rows[8].index("849")])
    assert net == Decimal(406701)  # SOURCES.md: NET CURRENT EXPENDITURE is not the count


def test_ra_2024_25_several_bodies_in_one_read() -> None:
    reads, _ = read(RA25, "Bexley", "E08000003")
    assert kept_by_org(reads) == {"Bexley": 34_897_800_000, "Manchester": 122_804_700_000}


def test_ra_2024_25_name_never_matches_by_prefix() -> None:
    rows = sheet_rows(RA25, "RA_LA_Data_2024-25")
    lines, _, _ = ra25_expected(rows, "E07000128")  # Wyre
    forest, _, _ = ra25_expected(rows, "E07000239")  # Wyre Forest
    assert lines != forest
    reads, _ = read(RA25, "Wyre")
    assert kept_by_org(reads) == {"Wyre": pence(lines)}
    with pytest.raises(InputError) as exc:
        read(RA25, "Wyre Fo")
    assert exc.value.issues[0].code == "org-not-found"
    assert "Wyre Forest" in (exc.value.issues[0].note or "")


def test_ra_2024_25_england_is_never_a_body() -> None:
    rows = sheet_rows(RA25, "RA_LA_Data_2024-25")
    england = find_row(rows, 1, "E92000001")
    with pytest.raises(InputError) as exc:
        read(RA25, "ENGLAND")
    [issue] = exc.value.issues
    assert (issue.code, issue.row) == ("org-not-found", england + 1)
    with pytest.raises(InputError) as exc:
        read(RA25, "E08")  # the class total of metropolitan districts
    assert exc.value.issues[0].code == "org-not-found"


def test_ra_2024_25_without_org_says_how_to_choose() -> None:
    with pytest.raises(InputError) as exc:
        read(RA25)
    [issue] = exc.value.issues
    assert issue.code == "org-required" and issue.sheet == "RA_LA_Data_2024-25"
    assert "--org" in (issue.note or "") and "E07000223" in (issue.note or "")


# -- the stacked drop-down sheet --


def test_ra_2024_25_drop_down_sheet_england_service_lines() -> None:
    rows = sheet_rows(RA25, "LA_drop-down_2024-25")
    ra = sheet_rows(RA25, "RA_LA_Data_2024-25")
    service = {c for c in ra[8][6 : ra[8].index("799")] if c and c not in RA_TOTAL_CODES}
    cells = [r[2] for r in rows if r[0].strip() in service]
    assert len(cells) == 137
    exact = sum((amount(c) for c in cells), Decimal(0))
    assert exact == Decimal("127067076.740199682")  # SOURCES.md
    reads, issues = read(RA25, sheet="LA_drop-down_2024-25")
    [src] = reads
    assert src.org == "ENGLAND" and src.kept_count == 137
    assert src.total_pence == sum(pence(amount(c)) for c in cells)
    assert abs(src.total_pence - exact * 100_000) <= Decimal(137) / 2
    assert {ln.extra["table_name"][:9] for ln in src.kept} >= {"Table 1a:", "Table 1m:"}
    assert [ln.native_code for ln in src.kept if ln.native_label.startswith("TOTAL")] == [
        "601",
        "602",
        "698",
    ]
    assert any(i.code == "not-a-body" for i in issues)
    left = {ln.native_code: ln.reason or "" for ln in src.left_out}
    assert "control total" in left["799"] and "housing benefit" in left["811"]


# -- RA 2023-24 as CSV --

RA24 = COUNCIL / "RA_2023-24_data_Part_1.csv"


def test_ra_2023_24_csv_birmingham() -> None:
    rows = sheet_rows(RA24)
    codes, header = rows[8], rows[9]
    tse = header.index("TOTAL SERVICE EXPENDITURE")
    r = rows[find_row(rows, 2, "Birmingham")]
    lines = [c for c in range(6, tse) if codes[c] and codes[c] not in RA_TOTAL_CODES]
    # one line is no longer collected: its cell says so in words
    assert [r[c] for c in lines if not any(ch.isdigit() for ch in r[c])] == [
        "Category discontinued"
    ]
    total = sum((amount(r[c]) for c in lines if any(ch.isdigit() for ch in r[c])), Decimal(0))
    assert total == amount(r[tse]) == Decimal(2193531)  # SOURCES.md
    reads, _ = read(RA24, "Birmingham")
    [src] = reads
    assert src.total_pence == pence(total)
    assert src.encoding == "cp1252" and src.units == "thousands"
    assert src.year == "2023-24"
    [gone] = [ln for ln in src.left_out if ln.amount_text == "Category discontinued"]
    assert "not available" in (gone.reason or "")


def test_ra_2023_24_suppressed_chosen_body_is_an_error() -> None:
    rows = sheet_rows(RA24)
    chesterfield = find_row(rows, 2, "Chesterfield")
    with pytest.raises(InputError) as exc:
        read(RA24, "Chesterfield")
    [issue] = exc.value.issues
    assert (issue.code, issue.row) == ("body-suppressed", chesterfield + 1)
    assert "Chesterfield" in issue.message


def test_ra_2023_24_other_bodies_suppressed_cells_are_not_this_counts_business() -> None:
    reads, _ = read(RA24, "Bexley")
    assert kept_by_org(reads)["Bexley"] > 0


# -- RS 2013-14 (.xls) --

RS = COUNCIL / "RS_2013-14_by_LA.xls"


@pytest.mark.parametrize(
    ("code", "name", "figure"),
    [
        ("E4601", "Birmingham", "1838818"),
        ("E2321", "Lancashire CC", "1630082"),
        ("E2302", "Blackpool UA", "247777"),
        ("E7023", "Lancashire Police and Crime Commissioner and Chief Constable", "261702"),
    ],
)
def test_rs_2013_14_service_expenditure(code: str, name: str, figure: str) -> None:
    rows = sheet_rows(RS, "RS LA Data 2013-14 (1)")
    header = rows[5]
    tse = next(c for c, h in enumerate(header) if h.startswith("TOTAL SERVICE EXPENDITURE"))
    r = rows[find_row(rows, 0, code)]
    services = list(range(5, tse))
    assert len(services) == 13
    total = sum((amount(r[c]) for c in services), Decimal(0))
    assert total == amount(r[tse]) == Decimal(figure)
    reads, _ = read(RS, code)
    [src] = reads
    assert src.sheet == "RS LA Data 2013-14 (1)"
    assert kept_by_org(reads) == {name: pence(total)}
    assert src.kept_count == 13 and src.year == "2013-14"


# -- RSX 2023-24: measures C1…C7, a second table below ENGLAND --

RSX = COUNCIL / "RSX_2023-24_data_by_LA.csv"


def rsx_expected(rows: list[list[str]], ons: str, col_no: str) -> Decimal:
    r = rows[find_row(rows, 1, ons)]
    cols = [
        c
        for c, (row_no, cn) in enumerate(zip(rows[8], rows[9], strict=True))
        if row_no.isdigit() and row_no != "699" and cn == col_no
    ]
    assert len(cols) == 13
    return sum((amount(r[c]) for c in cols), Decimal(0))


def test_rsx_net_and_gross() -> None:
    rows = sheet_rows(RSX)
    net = rsx_expected(rows, "E10000003", "7")
    gross = rsx_expected(rows, "E10000003", "3")
    assert (net, gross) == (Decimal(888194), Decimal(1202490))  # SOURCES.md
    assert rsx_expected(rows, "E09000007", "7") == Decimal(595835)  # Camden
    reads, _ = read(RSX, "E10000003")
    assert kept_by_org(reads) == {"Cambridgeshire CC": pence(net)}
    assert {ln.extra["measure"] for ln in reads[0].kept} == {"net"}
    assert {ln.native_code for ln in reads[0].kept} >= {"190", "698"}
    reads, _ = read(RSX, "E10000003", measure="gross")
    assert kept_by_org(reads) == {"Cambridgeshire CC": pence(gross)}
    assert {ln.extra["measure"] for ln in reads[0].kept} == {"gross"}


def test_rsx_gla_in_the_class_table_is_never_a_body() -> None:
    rows = sheet_rows(RSX)
    england = find_row(rows, 2, "ENGLAND")
    gla = [i for i, r in enumerate(rows) if r[:1] == ["E5100"]]
    assert len(gla) == 2 and gla[0] < england < gla[1]
    reads, _ = read(RSX, "E5100")
    assert {ln.row for ln in reads[0].lines} == {gla[0] + 1}


def test_rsx_suppressed_birmingham() -> None:
    with pytest.raises(InputError) as exc:
        read(RSX, "Birmingham")
    assert exc.value.issues[0].code == "body-suppressed"


# -- RO2 2017-18 and COR4 2016-17 --

RO2 = COUNCIL / "RO2_2017-18_by_LA.xlsx"
COR4 = COUNCIL / "COR4_2016-17_capital_by_LA.xlsx"


def ro2_expected(rows: list[list[str]], name: str, col_no: str) -> Decimal:
    r = rows[find_row(rows, 2, name)]
    cols = [
        c
        for c, (row_no, cn) in enumerate(zip(rows[2], rows[3], strict=False))
        if row_no.isdigit() and 11 <= int(row_no) <= 80 and cn == col_no
    ]
    return sum((amount(r[c]) for c in cols), Decimal(0))


def test_ro2_measures() -> None:
    rows = sheet_rows(RO2, "RO2 LA Data 2017-18")
    net, gross = ro2_expected(rows, "Birmingham", "7"), ro2_expected(rows, "Birmingham", "3")
    assert (net, gross) == (Decimal(78103), Decimal(104673))  # SOURCES.md
    assert ro2_expected(rows, "Kent", "7") == Decimal(69923)
    reads, _ = read(RO2, "Birmingham", "Kent")
    assert kept_by_org(reads) == {"Birmingham": pence(net), "Kent": 6_992_300_000}
    reads, _ = read(RO2, "Birmingham", measure="gross")
    assert kept_by_org(reads) == {"Birmingham": pence(gross)}


def test_cor4_capital() -> None:
    rows = sheet_rows(COR4, "Expenditure & Receipts")

    def total(name: str) -> Decimal:
        r = rows[find_row(rows, 2, name)]
        cols = [
            c
            for c, (row, col) in enumerate(zip(rows[3], rows[4], strict=False))
            if row.isdigit() and 1 <= int(row) <= 12 and col == "3"
        ]
        return sum((amount(r[c]) for c in cols), Decimal(0))

    assert (total("Birmingham"), total("Kent")) == (Decimal(325823), Decimal(208647))
    reads, issues = read(COR4, "Birmingham", "Kent")
    assert kept_by_org(reads) == {
        "Birmingham": pence(total("Birmingham")),
        "Kent": pence(total("Kent")),
    }
    assert {ln.extra["spend_type"] for ln in reads[0].kept} == {"capital"}
    assert any(i.code == "measure-chosen" for i in issues)
    with pytest.raises(InputError) as exc:
        read(COR4, "Isles of Scilly")
    assert exc.value.issues[0].code == "body-suppressed"


# -- not spending --


@pytest.mark.parametrize(
    ("name", "what"),
    [("RA_2024-25_data_Part_2.ods", "reserves"), ("CT_table9_2024-25.ods", "council tax")],
)
def test_not_spending_files_are_refused(name: str, what: str) -> None:
    with pytest.raises(InputError) as exc:
        read(COUNCIL / name, "Bexley")
    [issue] = exc.value.issues
    assert issue.code == "not-spending" and what in issue.message


# -- NHS allocations --

NHS = REAL / "nhs" / "nhs_allocations_2023-24_2024-25.xlsx"


NHS_2023_24 = {
    "ICB Core Allocations 2023-24": "2023/24 Combined allocation",
    "PMC Allocations 2023-24": "2023/24 Recurrent allocation (£k)",
    "Other Primary Care": "2023/24 Recurrent allocation £k",
    "ICB running cost allowance": "2023/24 £k",
}


def nhs_cells(code: str) -> list[Decimal]:
    """An ICB's 2023-24 allocation in each of the four sheets, £ thousand."""
    cells = []
    for sheet, header in NHS_2023_24.items():
        rows = sheet_rows(NHS, sheet)
        col = next(c for c, h in enumerate(rows[2]) if h.startswith(header))
        cells.append(amount(rows[find_row(rows, 2, code)][col]))
    return cells


def test_nhs_allocations_icb_year() -> None:
    want = NHS_2023_24
    cells = nhs_cells("QHM")
    exact = sum(cells, Decimal(0))
    assert exact.quantize(Decimal("0.001")) == Decimal("7021877.625")  # SOURCES.md
    reads, issues = read(NHS, "North East and North Cumbria ICB", kind="nhs", year="2023-24")
    assert [r.sheet for r in reads] == list(want)
    assert sum(r.total_pence for r in reads) == sum(pence(c) for c in cells)
    assert any(i.code == "planned-spending" for i in issues)
    reads, _ = read(NHS, "QHM", kind="nhs", year="2023-24")
    assert sum(r.total_pence for r in reads) == sum(pence(c) for c in cells)


# -- through the CLI --


def test_cli_ingest_ra_body_into_the_store(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "placecount.duckdb"
    api.init(db, "Bexley", "2024-25", population=250_000)
    result = runner.invoke(app, ["ingest", "council", str(RA25), "--db", str(db)])
    assert result.exit_code == 2
    assert "--org" in result.stderr and "Traceback" not in result.stderr
    with Store.open(db) as store:
        assert store.sources() == []
    result = runner.invoke(
        app, ["ingest", "council", str(RA25), "--org", "E09000004", "--db", str(db)]
    )
    assert result.exit_code == 0, result.stderr
    rows = sheet_rows(RA25, "RA_LA_Data_2024-25")
    lines, _, _ = ra25_expected(rows, "E09000004")
    [src] = api.sources(db)
    assert Decimal(src["total_gbp"]) == lines * 1000
    assert src["org"] == "Bexley" and src["financial_year"] == "2024-25"
    with Store.open(db) as store:
        got = store.con.execute(
            "SELECT DISTINCT org, org_code, org_class, measure FROM spend_lines WHERE included"
        ).fetchall()
    assert got == [("Bexley", "E09000004", "LB", "net")]
    result = runner.invoke(
        app,
        [
            "ingest",
            "council",
            str(COUNCIL / "CT_table9_2024-25.ods"),
            "--org",
            "Bexley",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 2 and "not spending" in result.stderr


def test_cli_ingest_nhs_allocations(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "placecount.duckdb"
    api.init(db, "North East", "2023-24", population=3_000_000)
    result = runner.invoke(app, ["ingest", "nhs", str(NHS), "--org", "QHM", "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    assert "planned spending" in result.stderr
    srcs = api.sources(db)
    assert len(srcs) == 4 and {s["financial_year"] for s in srcs} == {"2023-24"}
    total = sum(Decimal(s["total_gbp"]) for s in srcs)
    assert total * 100 == sum(pence(c) for c in nhs_cells("QHM"))


@pytest.mark.parametrize(
    ("path", "sheet", "name_col", "figure"),
    [
        (RA24, None, 2, 410),
        (RSX, None, 2, 411),
        (RS, "RS LA Data 2013-14 (1)", 1, 444),
        (COR4, "Expenditure & Receipts", 2, 444),
    ],
)
def test_every_authority_row_and_only_those_are_bodies(
    path: Path, sheet: str | None, name_col: int, figure: int
) -> None:
    rows = sheet_rows(path, sheet)
    header = next(i for i, r in enumerate(rows) if r[0].strip() in ("E-code", "Ecode"))
    england = (
        next(
            i for i, r in enumerate(rows) if i > header and r[name_col].strip().lower() == "england"
        )
        if any(r[name_col].strip().lower() == "england" for r in rows)
        else len(rows)
    )
    n = sum(1 for r in rows[header + 1 : england] if r[name_col].strip() and r[0].strip())
    assert n == figure  # SOURCES.md
    with pytest.raises(InputError) as exc:
        read(path)
    assert f"has {figure:,} bodies" in exc.value.issues[0].message


def test_rs_all_authorities_against_englands_service_expenditure() -> None:
    rows = sheet_rows(RS, "RS LA Data 2013-14 (1)")
    header = rows[5]
    tse = next(c for c, h in enumerate(header) if h.startswith("TOTAL SERVICE EXPENDITURE"))
    end = find_row(rows, 1, "ENGLAND")
    authorities = [r for r in rows[7:end] if r[0].strip()]
    assert len(authorities) == 444
    lines = [sum((amount(r[c]) for c in range(5, tse)), Decimal(0)) for r in authorities]
    totals = [amount(r[tse]) for r in authorities]
    # SOURCES.md: the authorities' TSE add up to ENGLAND's, 91,808,869; and ENGLAND's own
    # services to 91,808,865. Ten authorities' printed TSE is 1 away from their lines
    # (rounding), which is the same 4.
    assert sum(totals, Decimal(0)) == amount(rows[end][tse]) == Decimal(91_808_869)
    assert sum(lines, Decimal(0)) == Decimal(91_808_865)
    off = [t - n for t, n in zip(totals, lines, strict=True) if t != n]
    assert len(off) == 10 and all(abs(d) == 1 for d in off)
    reads, issues = read(RS, *[r[0] for r in authorities])
    assert reads[0].total_pence == pence(sum(lines, Decimal(0)))
    assert len({ln.org for ln in reads[0].kept}) == 444
    # a difference of one printed unit is rounding, not a mismatch
    assert [i for i in issues if i.code == "control-total-mismatch"] == []
