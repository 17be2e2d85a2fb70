"""Make the Exampleshire example place: one spreadsheet per body, as bodies publish them.

Exampleshire is invented (figures are plausible, not real): a county council and
a district council, a PCT and an acute trust, a police authority, HM Treasury's
PESA regional table, and a list of NDPBs. Each file has the quirks real ones
have: title rows, units in the header or title, Total and subtotal rows,
footnotes, negatives in brackets, dashes for nil, numbers stored as text,
merged header cells, a Windows-1252 CSV with a "£".

Run: python examples/make_examples.py  (writes examples/exampleshire/)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

OUT = Path(__file__).resolve().parent / "exampleshire"
FIXED = dt.datetime(2009, 9, 30, 12, 0, 0)

# --- Exampleshire County Council: Revenue Outturn summary, £ thousand --------------------
COUNTY_LINES: list[tuple[str, str, object]] = [
    ("RS01", "Education services", 412345.6),
    ("RS02", "Highways and transport services", 38210.4),
    ("RS03", "Children's social care", 61870),
    ("RS04", "Older people (aged 65 or over) including older mentally ill", 72456.25),
    ("RS05", "Adults aged under 65 with learning disabilities", 41230),
    ("RS06", "Adults aged under 65 with a physical disability or sensory impairment", 15890.5),
    ("RS07", "Adults aged under 65 with mental health needs", 9340),
    ("RS08", "Housing services (GFRA only)", 3120),
    ("RS09", "Cultural and related services", 17654.3),
    ("RS10", "Environmental and regulatory services", 29870.1),
    ("RS11", "Planning and development services", 12430),
    ("RS12", "Fire and rescue services", 27650),
    ("RS13", "Central services", 14320.8),
    ("RS14", "Court services", "-"),
    ("RS15", "Other services", "(1,234)"),
    ("RS16", "Contribution to pooled budget with NHS Exampleshire", "8,500"),
]


def county_council() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "RO Summary"
    ws["A1"] = "Exampleshire County Council"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells("A1:C1")
    ws["A2"] = "Revenue Outturn 2008-09: summary of service expenditure"
    ws["A3"] = "Source: RO forms submitted to Communities and Local Government, July 2009"
    ws.append(["Code", "Service", "Net current expenditure (£ thousand)", "Paid to"])
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for code, label, amount in COUNTY_LINES:
        # the pooled budget is handed to the PCT, which spends it: a transfer within the place
        paid_to = "NHS Exampleshire" if "pooled budget" in label else None
        ws.append([code, label, amount, paid_to])
    ws.append(
        [
            None,
            "Total net current expenditure",
            round(sum(_thousands(a) for *_, a in COUNTY_LINES), 2),
        ]
    )
    ws.append([])
    ws.append(["Note: figures are net of specific grants and sales, fees and charges."])
    ws.append(["1. Court services transferred to the Ministry of Justice in 2007-08."])
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 22
    ws.column_dimensions["D"].width = 20
    cover = wb.create_sheet("Notes", 0)
    cover["A1"] = "Exampleshire County Council: revenue outturn 2008-09"
    cover["A3"] = "The figures are on the sheet 'RO Summary'."
    _save(wb, "county_council_outturn_2008-09.xlsx")


def _thousands(value: object) -> float:
    """The number a cell shows, as the publisher's own Total row adds it up."""
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text == "-":
        return 0
    neg = text.startswith("(")
    number = float(text.strip("()").replace(",", ""))
    return -number if neg else number


# --- Riverton District Council: a CSV export in Windows-1252, whole pounds ----------------
DISTRICT_LINES: list[tuple[str, str]] = [
    ("Waste collection", "£3,214,560"),
    ("Street cleansing (not chargeable to highways)", "£1,102,345"),
    ("Recreation and sport", "£2,450,000"),
    ("Open spaces", "£987,654"),
    ("Housing benefits administration", "£1,210,300"),
    ("Homelessness", "£645,120"),
    ("Development control", "£734,210"),
    ("Council tax collection", "£891,450"),
    ("Corporate and democratic core", "£1,534,000"),
    ("Elections", "(£12,500)"),
]


def district_council() -> None:
    rows = [
        "Riverton District Council,,",
        "Revenue outturn 2008-09,,",
        ",,",
        "Service,Net expenditure £,Notes",
    ]
    for label, amount in DISTRICT_LINES:
        quoted = f'"{amount}"' if "," in amount else amount
        rows.append(f'"{label}",{quoted},')
    total = sum(_pounds(a) for _, a in DISTRICT_LINES)
    rows.append(f'Total,"£{total:,}",')
    rows.append("Figures are unaudited.,,")
    (OUT / "riverton_district_outturn_2008-09.csv").write_bytes(
        ("\r\n".join(rows) + "\r\n").encode("cp1252")
    )


def _pounds(text: str) -> int:
    neg = text.startswith("(")
    value = int(text.strip("()").replace("£", "").replace(",", ""))
    return -value if neg else value


# --- NHS: the PCT's programme spending and the acute trust's own, £000 --------------------
NHS_LINES: list[tuple[str, str, object]] = [
    ("NHS Exampleshire", "Acute services", 298450),
    ("NHS Exampleshire", "Community health services", 64320.5),
    ("NHS Exampleshire", "Mental health services", 52110),
    ("NHS Exampleshire", "General practice", 58760),
    ("NHS Exampleshire", "Prescribing", 71230.75),
    ("NHS Exampleshire", "Dental services", 18940),
    ("NHS Exampleshire", "Public health", 6230),
    ("NHS Exampleshire", "Management and administration", 12870),
    ("Exampleshire Hospitals NHS Trust", "Research and development", 3410),
    ("Exampleshire Hospitals NHS Trust", "Specialised commissioning", "2,975"),
]


def nhs() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Programme spend"
    ws["A1"] = "NHS bodies in Exampleshire: net expenditure by programme of care, 2008-09"
    ws["A2"] = "Unaudited outturn"
    ws["A4"] = "Body and programme"
    ws.merge_cells("A4:B4")
    ws["C4"] = "Net expenditure (£000)"
    ws.merge_cells("C4:C5")
    ws["A5"] = "Organisation"
    ws["B5"] = "Programme of care"
    for org, label, amount in NHS_LINES:
        ws.append([org, label, amount])
    ws.append([None, "Sub-total", round(sum(_thousands(a) for *_, a in NHS_LINES), 2)])
    ws.append([])
    ws.append(["Source: PCT and trust annual accounts 2008-09."])
    _save(wb, "nhs_exampleshire_2008-09.xlsx")


# --- Exampleshire Police Authority: Police Objective Analysis, whole pounds --------------
POLICE_LINES: list[tuple[str, object]] = [
    ("Local policing", 48_765_432),
    ("Dealing with the public", 6_123_400),
    ("Criminal justice arrangements", 9_876_000),
    ("Road policing", 4_321_987),
    ("Operational support", 7_654_321),
    ("Intelligence", "5,432,100"),
    ("Investigations", 14_210_000),
    ("Investigative support", 3_210_500),
    ("National policing", 1_050_000),
    ("Support functions", 21_345_678),
]


def police() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "POA 2008-09"
    ws["B2"] = "Exampleshire Police Authority"
    ws["B3"] = "Police Objective Analysis 2008-09"
    ws.append([])
    ws["B5"] = "Objective"
    ws["C5"] = "Net expenditure (£)"
    for i, (label, amount) in enumerate(POLICE_LINES, start=6):
        ws.cell(row=i, column=2, value=label)
        ws.cell(row=i, column=3, value=amount)
    end = 6 + len(POLICE_LINES)
    ws.cell(row=end, column=2, value="TOTAL")
    ws.cell(row=end, column=3, value=sum(_whole(a) for _, a in POLICE_LINES))
    _save(wb, "police_authority_poa_2008-09.xlsx")


def _whole(value: object) -> int:
    return int(str(value).replace(",", ""))


# --- HM Treasury PESA CRA: central government spending by function and region, £ million --
REGIONS = [
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East",
    "London",
    "South East",
    "South West",
    "England",
    "Scotland",
    "Wales",
    "Northern Ireland",
    "UK identifiable expenditure",
]
# (label, East Midlands £m); other regions are scaled copies.
PESA_ROWS: list[tuple[str, object]] = [
    ("1. General public services", 412.6),
    ("1.1 Executive and legislative organs, financial and fiscal affairs, external affairs", 301.2),
    ("1.3 General services", 111.4),
    ("3. Public order and safety", 1123.9),
    ("3.1 Police services", 402.5),
    ("3.3 Law courts", 309.8),
    ("3.4 Prisons", 411.6),
    ("4. Economic affairs", 1215.3),
    ("of which: enterprise and economic development", 210.7),
    ("4.1 General economic, commercial and labour affairs", 402.1),
    ("4.5 Transport", 813.2),
    ("5. Environment protection", 98.4),
    ("7. Health", 6921.7),
    ("7.1 Medical services", 6711.4),
    ("7.2 Medical research", 54.9),
    ("7.3 Central and other health services", 155.4),
    ("8. Recreation, culture and religion", 141.2),
    ("9. Education", 2210.5),
    ("9.4 Tertiary education", 1020.3),
    ("9.8 Education n.e.c.", 1190.2),
    ("10. Social protection", 9854.1),
    ("10.1 Sickness and disability", 2321.7),
    ("10.2 Old age", 5012.8),
    ("10.4 Family and children", 1210.4),
    ("10.5 Unemployment", 512.3),
    ("10.7 Social exclusion n.e.c.", 796.9),
    ("11. EU transactions", "-"),
    ("Total identifiable expenditure on services", 21977.7),
]


def pesa() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Table 9.15"
    ws["A1"] = (
        "Table 9.15 Central government identifiable expenditure on services "
        "by function, country and region, 2008-09"
    )
    ws["A2"] = "£ million"
    ws.append([])
    ws.append([None, *REGIONS])
    for label, em in PESA_ROWS:
        row: list[object] = [label]
        for i, region in enumerate(REGIONS):
            if region == "East Midlands" or not isinstance(em, float):
                row.append(em)
            else:
                row.append(round(em * (0.6 + 0.17 * i), 1))
        ws.append(row)
    ws.append([])
    ws.append(
        [
            "Source: HM Treasury, Public Expenditure Statistical Analyses 2010, "
            "Country and Regional Analysis."
        ]
    )
    _save(wb, "pesa_cra_regional_2008-09.xlsx")


# --- NDPBs spending in Exampleshire, £000 --------------------------------------------------
NDPB_LINES: list[tuple[str, str, str, str, object]] = [
    ("Environment Agency", "Defra", "Executive", "Yes", 18230),
    ("Natural England", "Defra", "Executive", "Yes", 4120),
    ("Arts Council England", "DCMS", "Executive", "Yes", 3350.5),
    ("Sport England", "DCMS", "Executive", "Yes", 2870),
    ("Homes and Communities Agency", "CLG", "Executive", "Yes", 21450),
    ("East Midlands Development Agency", "BIS", "Executive", "Yes", 15340),
    ("British Council", "Foreign and Commonwealth Office", "Executive", "Yes", 120),
    ("Low Pay Commission", "BIS", "Advisory", "Yes", 15),
    ("Employment Tribunals", "BIS", "Tribunal", "Yes", 640),
    ("British Museum", "DCMS", "Executive", "No", 210),
]


def ndpb() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "NDPBs"
    ws["A1"] = "Non-departmental public bodies: expenditure in Exampleshire 2008-09"
    ws["A2"] = "£000"
    ws.append([])
    ws.append(["Body", "Sponsor department", "Status", "Direct connection", "Expenditure in area"])
    for row in NDPB_LINES:
        ws.append(list(row))
    ws.append([])
    ws.append(["Information for a further two bodies was not available."])
    _save(wb, "ndpb_spending_2008-09.xlsx")


def _save(wb: Workbook, name: str) -> None:
    wb.properties.creator = "placecount examples"
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    wb.save(OUT / name)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    county_council()
    district_council()
    nhs()
    police()
    pesa()
    ndpb()
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT.name}/")


if __name__ == "__main__":
    main()
