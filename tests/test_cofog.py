"""COFOG reference data, the bundled mapping tables and how shares split money."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from placecount.cofog import (
    classification,
    load_mapping,
    normalise_code,
    read_mapping,
    split_pence,
)
from placecount.errors import InputError

COFOG_DIR = Path(__file__).resolve().parents[1] / "data" / "cofog"
MAPPING_FILES = sorted((COFOG_DIR / "mappings").glob("*.csv"))


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def cofog_codes_from_file() -> dict[str, str]:
    """code → level, read straight from cofog.csv."""
    return {r["code"]: r["level"] for r in csv_rows(COFOG_DIR / "cofog.csv")}


# --- the classification ---------------------------------------------------------------------


def test_classification_has_10_divisions_69_groups_109_classes() -> None:
    codes = cofog_codes_from_file()
    by_shape = defaultdict(int)
    for code in codes:
        if re.fullmatch(r"\d\d", code):
            by_shape["division"] += 1
        elif re.fullmatch(r"\d\d\.\d", code):
            by_shape["group"] += 1
        elif re.fullmatch(r"\d\d\.\d\.\d", code):
            by_shape["class"] += 1
        else:
            by_shape["other"] += 1
    assert dict(by_shape) == {"division": 10, "group": 69, "class": 109}
    loaded = classification()
    levels = defaultdict(int)
    for cat in loaded.values():
        levels[cat.level] += 1
    assert dict(levels) == {1: 10, 2: 69, 3: 109}
    assert set(loaded) == set(codes)
    for cat in loaded.values():
        assert (cat.parent is None) == (cat.level == 1)
        if cat.parent is not None:
            assert cat.code.startswith(cat.parent + ".")
            assert cat.parent in loaded


def test_reference_files_match_the_checksums_in_the_readme() -> None:
    readme = (COFOG_DIR / "README.md").read_text(encoding="utf-8")
    written = dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)\s*$", readme, re.MULTILINE)
    )
    assert sorted(written) == ["cofog.csv", "cofog_notes.csv"]
    for name, digest in written.items():
        assert hashlib.sha256((COFOG_DIR / name).read_bytes()).hexdigest() == digest, name


# --- the mapping tables ------------------------------------------------------------------------


def test_there_is_a_mapping_for_each_kind_with_one() -> None:
    assert [p.stem for p in MAPPING_FILES] == [
        "council",
        "ndpb",
        "nhs",
        "payments",
        "pesa",
        "police",
    ]


@pytest.mark.parametrize("path", MAPPING_FILES, ids=lambda p: p.stem)
def test_mapping_file_loads(path: Path) -> None:
    mapping = load_mapping(path.stem)
    rows = csv_rows(path)
    assert len(mapping.rows) == len(rows)
    assert [(r.native_label, r.cofog_code or "") for r in mapping.rows] == [
        (r["native_label"], r["cofog_code"]) for r in rows
    ]


@pytest.mark.parametrize("path", MAPPING_FILES, ids=lambda p: p.stem)
def test_mapping_file_codes_exist_shares_add_to_one_and_every_row_has_a_reason_and_source(
    path: Path,
) -> None:
    codes = cofog_codes_from_file()
    rows = csv_rows(path)
    assert list(rows[0]) == [
        "native_code",
        "native_label",
        "parent",
        "cofog_code",
        "share",
        "treatment",
        "note",
        "source",
    ]
    totals: dict[tuple[str, str, str], Fraction] = defaultdict(Fraction)
    for line, row in enumerate(rows, start=2):
        if row["treatment"]:
            assert row["treatment"] in {"outside", "not-spending", "transfer"}, line
            assert row["cofog_code"] == "" or row["cofog_code"] in codes, line
        else:
            assert row["cofog_code"] in codes, (line, row["cofog_code"])
        assert row["note"].strip(), (line, row["native_label"])
        assert row["source"].strip(), (line, row["native_label"])
        share = Fraction(Decimal(row["share"]))
        assert 0 < share <= 1, (line, row["share"])
        totals[(row["native_code"], row["native_label"], row["parent"])] += share
    assert {k: v for k, v in totals.items() if v != 1} == {}


#: OpenSpending's sample of the HM Treasury CRA 2009/10: sub-function as published and
#: the COFOG group it was given. The six pairs without ambiguity, copied in by hand.
PESA_SAMPLE_PAIRS = [
    (
        "1.1",
        "Executive and legislative organs, financial and fiscal affairs, external affairs",
        "01.1",
    ),
    ("4.3", "Fuel and energy", "04.3"),
    ("5.6", "Environment protection n.e.c", "05.6"),
    ("8.1", "Recreational and sporting services", "08.1"),
    ("8.2", "Cultural services", "08.2"),
    ("9.8", "Education n.e.c", "09.8"),
]


@pytest.mark.parametrize(("code", "label", "group"), PESA_SAMPLE_PAIRS)
def test_pesa_verified_pairs(code: str, label: str, group: str) -> None:
    rows = load_mapping("pesa").lookup(code, label)
    assert rows is not None
    assert [(r.cofog_code, r.share) for r in rows] == [(group, 1)]


def test_pesa_central_and_other_health_services_stays_at_division_07() -> None:
    """The seventh sample pair (→ 07.4) is the known ambiguous one: kept at 07 on purpose."""
    for code in ("7.3", "7"):
        rows = load_mapping("pesa").lookup(code, "Central and other health services")
        assert rows is not None
        assert [r.cofog_code for r in rows] == ["07"]


def test_pesa_la_data_maps_to_its_function_division() -> None:
    pesa = load_mapping("pesa")
    for function in range(1, 11):
        rows = pesa.lookup(f"{function}.LA", "LA data")
        assert rows is not None
        assert [r.cofog_code for r in rows] == [f"{function:02d}"]


def test_pesa_la_data_with_no_code_is_mapped_under_its_function_or_not_at_all_issue_13() -> None:
    """'LA data' alone maps to a different division under each function: never to 01."""
    pesa = load_mapping("pesa")
    assert pesa.lookup(None, "LA data") is None
    assert pesa.lookup(None, "LA data sub_function") is None
    for parent, code in [
        ("9. Education", "09"),
        ("7. Health", "07"),
        ("of which: transport", "04.5"),
        ("4. Economic affairs - of which: employment policies", "04.1.2"),
        ("10. Social Protection", "10"),
    ]:
        for label in ("LA data", "LA data sub_function"):
            hit = pesa.find(None, label, parent)
            assert hit is not None, (label, parent)
            assert ([r.cofog_code for r in hit[0]], hit[1]) == ([code], "label under its parent")


def test_pesa_eu_transactions_reserves_and_unallocated_are_outside_the_count() -> None:
    pesa = load_mapping("pesa")
    for label in (
        "EU transactions",
        "EC receipts",
        "of which: UK abatement",
        "Departmental unallocated provision",
        "AME margin",
        "Reserve and other funds",
    ):
        rows = pesa.lookup(None, label)
        assert rows is not None, label
        assert [(r.cofog_code, r.treatment) for r in rows] == [(None, "outside")], label


def test_pesa_cra_2018_lettered_health_sub_functions_by_code() -> None:
    pesa = load_mapping("pesa")
    for code, label, cofog in [
        ("7.A", "Medical services", "07"),
        ("7.B", "Medical research", "07.5"),
        ("7.C", "Central and other health services", "07"),
    ]:
        hit = pesa.find(code, "a label no table has", "7. Health")
        assert hit is not None and [r.cofog_code for r in hit[0]] == [cofog], code
        assert hit[1] == "code"
        hit = pesa.find(code, label)
        assert hit is not None and hit[1] == "code and label"


def test_pesa_a_code_its_lines_split_finer_supports_its_group_alone() -> None:
    """4.5's lines go to 04.5.1 and 04.5.3: an unknown 4.5 line is 04.5, the code's level."""
    pesa = load_mapping("pesa")
    assert [r.cofog_code for r in pesa.lookup("4.5", "of which: local roads") or []] == ["04.5.1"]
    assert [r.cofog_code for r in pesa.lookup("4.5", "of which: trams") or []] == ["04.5"]
    assert [r.cofog_code for r in pesa.lookup("1", "General public services - x") or []] == ["01"]


def test_pesa_sub_function_1_1_depends_on_the_function_breakdown_above_it() -> None:
    pesa = load_mapping("pesa")
    label = "Executive and legislative organs, financial and fiscal affairs, external affairs"
    by = {
        parent: [r.cofog_code for r in pesa.lookup("1.1", label, parent) or []]
        for parent in (
            "1. of which: international services",
            "1. of which: public and common services",
        )
    }
    assert by == {
        "1. of which: international services": ["01.1.3"],
        "1. of which: public and common services": ["01.1"],
    }


# --- codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("07", "07"),
        ("7", "07"),
        ("10", "10"),
        ("7.3", "07.3"),
        ("07.3", "07.3"),
        (" 07.3 ", "07.3"),
        ("7.3.1", "07.3.1"),
        ("07.3.1", "07.3.1"),
        ("10.2.0", "10.2.0"),
        ("1.1.1", "01.1.1"),
        ("GF07", "07"),
        ("GF1002", "10.2"),
        ("11", None),
        ("00", None),
        ("7.9", None),
        ("07.3.9", None),
        ("10.10", None),
        ("abc", None),
        ("", None),
    ],
)
def test_normalise_code(text: str, code: str | None) -> None:
    assert normalise_code(text) == code


@pytest.mark.parametrize(("text", "code"), [("GF0703", "07.3"), ("GF0101", "01.1")])
def test_normalise_code_eurostat_spelling(text: str, code: str) -> None:
    assert normalise_code(text) == code


# --- splitting pence by shares -------------------------------------------------------------


def test_split_pence_examples() -> None:
    assert split_pence(100, [Fraction(1, 3)] * 3) == [34, 33, 33]
    assert split_pence(-100, [Fraction(1, 3)] * 3) == [-34, -33, -33]
    assert split_pence(1, [Fraction(1, 2), Fraction(1, 2)]) == [1, 0]
    assert split_pence(12_345, [Fraction(1)]) == [12_345]
    assert split_pence(0, [Fraction(1, 4), Fraction(3, 4)]) == [0, 0]


@given(
    pence=st.integers(min_value=-(10**14), max_value=10**14),
    weights=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=8),
)
def test_split_pence_parts_add_up_exactly(pence: int, weights: list[int]) -> None:
    total = sum(weights)
    shares = [Fraction(w, total) for w in weights]
    assert sum(shares) == 1
    parts = split_pence(pence, shares)
    assert len(parts) == len(shares)
    assert sum(parts) == pence
    for part, share in zip(parts, shares, strict=True):
        assert abs(part - pence * share) < 1


# --- a user's own mapping ---------------------------------------------------------------------

HEADER = "native_code,native_label,cofog_code,share,note\n"


def write(tmp_path: Path, text: str, name: str = "mine.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_mapping_replaces_a_default_line(tmp_path: Path) -> None:
    council = load_mapping("council")
    before = council.lookup(None, "Children's social care")
    assert before is not None and [r.cofog_code for r in before] == ["10.4.0"]
    mine = read_mapping(
        write(
            tmp_path,
            HEADER
            + (
                ",Children's social care,10.4.0,0.75,Our split from the 2008-09 accounts.\n"
                ",Children's social care,03.3.0,0.25,Youth justice, a quarter of the total.\n"
            ),
        )
    )
    merged = council.override(mine)
    rows = merged.lookup(None, "CHILDRENS SOCIAL CARE")
    assert rows is not None
    assert [(r.cofog_code, r.share) for r in rows] == [
        ("10.4.0", Fraction(3, 4)),
        ("03.3.0", Fraction(1, 4)),
    ]
    untouched = merged.lookup(None, "Education services")
    assert untouched is not None and [r.cofog_code for r in untouched] == ["09"]
    # the bundled table itself is not changed
    again = council.lookup(None, "Children's social care")
    assert again is not None and [r.cofog_code for r in again] == ["10.4.0"]


@pytest.mark.parametrize(
    ("text", "row", "words"),
    [
        (
            HEADER + ",Education services,09,1,fine\n"
            ",Adult social care,10.1,0.5,half\n,Adult social care,10.2,0.4,not quite half\n",
            3,
            "add up",
        ),
        (
            HEADER + ",Education services,09,1,fine\n,Libraries,08.9.9,1,no such class\n",
            3,
            "08.9.9",
        ),
        (HEADER + ",Education services,99,1,no such division\n", 2, "99"),
        (HEADER + ",Libraries,08.2.0,1.5,too much\n", 2, "1.5"),
        ("native_code,native_label,share,note\n,Libraries,1,no code column\n", 1, "cofog_code"),
    ],
    ids=["shares-not-1", "unknown-class", "unknown-division", "share-above-1", "missing-column"],
)
def test_bad_mapping_is_an_error_with_the_row(
    tmp_path: Path, text: str, row: int, words: str
) -> None:
    with pytest.raises(InputError) as info:
        read_mapping(write(tmp_path, text))
    [issue] = info.value.issues
    assert (issue.code, issue.file, issue.row) == ("bad-mapping", "mine.csv", row)
    assert words in issue.message


def test_civil_contingencies_have_one_code_whoever_plans_them_issue_13() -> None:
    codes = {
        (table, label): [r.cofog_code for r in load_mapping(table).lookup(None, label) or []]
        for table, label in [
            ("council", "Emergency planning"),
            ("council", "Fire/rescue service emergency planning and civil defence"),
            ("police", "Civil contingencies and planning"),
        ]
    }
    assert set(map(tuple, codes.values())) == {("02.2.0",)}, codes


@pytest.mark.parametrize("path", MAPPING_FILES, ids=lambda p: p.stem)
def test_no_bundled_row_invents_a_split_issue_13(path: Path) -> None:
    """Where a source does not say how a line divides, it is kept whole at its level."""
    assert [r["native_label"] for r in csv_rows(path) if Fraction(Decimal(r["share"])) != 1] == []


def test_every_pesa_row_lies_in_its_own_functions_division() -> None:
    """A sub-function, an "of which" line or an LA data line never leaves its function."""
    for row in csv_rows(COFOG_DIR / "mappings" / "pesa.csv"):
        if row["treatment"]:
            continue
        number = re.match(r"^(\d{1,2})(?:\.|$)", row["native_code"]) or re.match(
            r"^(\d{1,2})\.\s", row["parent"]
        )
        if number is None:
            named = {
                "general public services": "01",
                "economic affairs": "04",
                "social protection": "10",
            }
            words = row["parent"].lower()
            division = next((d for name, d in named.items() if name in words), None)
        else:
            division = f"{int(number.group(1)):02d}"
        if division is not None:
            assert row["cofog_code"][:2] == division, row


#: CIPFA's Police Objective Analysis: its categories and the sub-categories forces report.
POA = {
    "Local policing": [
        "Neighbourhood policing",
        "Incident (response) management",
        "Specialist community liaison",
        "Local investigation/prisoner processing",
    ],
    "Dealing with the public": ["Front desk", "Central communications unit"],
    "Criminal justice arrangements": [
        "Custody",
        "Police doctors/nurses and surgeons",
        "Criminal justice",
        "Police National Computer",
        "Property officer/stores",
        "Coroners officers",
    ],
    "Road policing": [
        "Traffic units",
        "Traffic wardens",
        "Casualty reduction partnership",
        "Vehicle recovery",
    ],
    "Operational support": [
        "Operational support (admin)",
        "Airport and ports policing unit",
        "Air operations",
        "Mounted police",
        "Police dogs",
        "Other operational support",
        "Civil contingencies and planning",
    ],
    "Intelligence": ["Central intelligence unit", "Intelligence analysis/threat assessments"],
    "Investigations": [
        "Major investigations unit",
        "Economic crime (including regional asset recovery team)",
        "Specialist investigation units",
        "Serious and organised crime unit",
        "Cyber crime",
    ],
    "Public protection": ["Child abuse investigation", "Domestic abuse", "Missing persons"],
    "Investigative support": [
        "Scenes of crime officers",
        "External forensic costs",
        "Fingerprint/internal forensic costs",
        "Photographic image recovery",
    ],
    "National policing": ["Secondments (out)", "Counter terrorism/special branch"],
    "Support functions": [
        "Human resources",
        "Finance",
        "Legal services",
        "Fleet services",
        "Estates",
        "Information communication technology",
        "Professional standards",
        "Press and media",
        "Performance review/corporate development",
        "Procurement",
        "Training",
        "Administration support",
        "Force command",
        "Support to associations and trade unions",
    ],
    "Central costs": [],
    "Office of the Police and Crime Commissioner": [],
}
#: The only POA lines that are not police services, and the code each has instead: the work
#: is the same as another body's line with that code.
NOT_POLICE = {
    "Civil contingencies and planning": "02.2.0",
    "Coroners officers": "03.3.0",
}


def test_every_poa_category_and_sub_category_is_mapped_issue_13() -> None:
    police = load_mapping("police")
    found: dict[str, str | None] = {}
    for category, lines in POA.items():
        for label, parent in [(category, None), *((line, category) for line in lines)]:
            rows = police.lookup(None, label, parent)
            found[label] = rows[0].cofog_code if rows and len(rows) == 1 else None
    assert [label for label, code in found.items() if code is None] == []
    assert {k: v for k, v in found.items() if v != "03.1.0"} == NOT_POLICE
    # the coroner's officers' code is the councils' coroners' code: one code for one work
    [coroners] = load_mapping("council").lookup(None, "Coroners' court services") or []
    assert coroners.cofog_code == NOT_POLICE["Coroners officers"]


def test_a_commissioners_services_bought_from_others_are_not_police_services_issue_13() -> None:
    police = load_mapping("police")
    parent = "Police and crime commissioner"
    for label in ["Commissioned services", "Victims services", "Community safety grants"]:
        [row] = police.lookup(None, label, parent) or []
        assert row.cofog_code == "03.6.0", label


def test_2014_support_settings_are_placed_by_their_reasons_age_band_never_alone_issue_13() -> None:
    council = load_mapping("council")
    for reason, code in [
        ("Physical support - adults (18-64)", "10.1.2"),
        ("Mental health support - older people (65+)", "10.2.0"),
        ("Learning disability support - older people (65+)", "10.2.0"),
        ("Sensory support - adults (18-64)", "10.1.2"),
    ]:
        [row] = council.lookup(None, "Long term support: residential", reason) or []
        assert row.cofog_code == code, reason
    assert council.lookup(None, "Long term support: residential") is None
    # the pre-2014 client group as the older forms word it, and its sub-lines under it
    old = "Adults aged under 65 with physical disability or sensory impairment"
    assert [r.cofog_code for r in council.lookup(None, old) or []] == ["10.1.2"]
    assert [r.cofog_code for r in council.lookup(None, "Home care", old) or []] == ["10.1.2"]


def test_the_landlord_accounts_subsidy_paid_over_is_a_transfer_issue_13() -> None:
    council = load_mapping("council")
    hra = "Housing Revenue Account"
    [paid] = council.lookup(None, "HRA subsidy payable", hra) or []
    [managed] = council.lookup(None, "Supervision and management - general", hra) or []
    assert (paid.treatment, managed.cofog_code) == ("transfer", "06.1.0")
