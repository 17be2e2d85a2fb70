"""The mapping-wall Sankey: its columns, and the three files it draws without a network."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from placecount.charts import Link, _layout, columns, pounds_m, sankey
from placecount.errors import InputError

M = 100_000_000  # pence in £1m

#: Two departments fund a council, which pays three services and loses some to administration.
COUNCIL = [
    Link("Department for Education", "Council", 120 * M),
    Link("Department of Health", "Council", 60 * M),
    Link("Council", "Schools", 100 * M),
    Link("Council", "Care homes", 40 * M),
    Link("Council", "Youth service", 4 * M),
    Link("Council", "Administration (Council)", 36 * M, "admin"),
]
COUNCIL_TITLE = "Testshire 2008-09: £144.0m delivered, £36.0m administration"

#: The guide's Leicester example at 20% a hand-over: a three-hand-over chain delivering
#: £130m and a two-hand-over chain delivering £100m; £180.2m lost on the way.
LEICESTER = [
    Link("European Commission", "DCLG", 25_390_625_000),
    Link("DCLG", "EMDA", 20_312_500_000),
    Link("DCLG", "Administration (DCLG)", 5_078_125_000, "admin"),
    Link("EMDA", "Project A", 80 * M),
    Link("EMDA", "Project B", 50 * M),
    Link("EMDA", "Administration (EMDA)", 7_312_500_000, "admin"),
    Link("European Commission", "DWP", 15_625_000_000),
    Link("DWP", "Skills providers", 100 * M),
    Link("DWP", "Administration (DWP)", 5_625_000_000, "admin"),
]


# --- layout ---------------------------------------------------------------------------------


def test_columns_of_two_and_three_hand_over_chains() -> None:
    col = columns(LEICESTER)
    assert col["European Commission"] == 0
    # intermediaries of the three-hand-over chain at 1 and 2; of the two-hand-over one at 1
    assert (col["DCLG"], col["EMDA"], col["DWP"]) == (1, 2, 1)
    # every end in the right-most column, however short its chain
    right = max(col.values())
    assert right == 3
    assert col["Project A"] == col["Project B"] == col["Skills providers"] == right
    # a loss sits one column after the body whose administration it is
    assert col["Administration (DCLG)"] == col["Administration (DWP)"] == 2
    assert col["Administration (EMDA)"] == 3


def test_columns_of_two_sources_feeding_one_body() -> None:
    col = columns(COUNCIL)
    assert col == {
        "Department for Education": 0,
        "Council": 1,
        "Department of Health": 0,
        "Schools": 2,
        "Care homes": 2,
        "Youth service": 2,
        "Administration (Council)": 2,
    }


def test_columns_refuse_a_circle() -> None:
    with pytest.raises(ValueError, match="circle"):
        columns([Link("A", "B", 1), Link("B", "C", 1), Link("C", "B", 1)])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("A", "B", -1), "negative"),
        (("A", "B", 1.5), "whole pence"),
        (("A", "B", 1, "grant"), "kind"),
        (("A", "A", 1), "itself"),
    ],
)
def test_links_that_cannot_be_drawn_are_refused(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Link(*args)


def test_pounds_m_rounds_half_up_to_one_decimal() -> None:
    assert pounds_m(12_345_000_000) == "£123.5m"
    assert pounds_m(0) == "£0.0m"
    assert pounds_m(123_456_789_000_000) == "£1,234,567.9m"


def test_bands_are_proportional_and_stacked_inside_their_bars() -> None:
    layout = _layout(LEICESTER)
    scale = layout.nodes["Skills providers"].height / (100 * M)
    for name, node in layout.nodes.items():
        assert node.height == pytest.approx(layout.throughput[name] * scale)
    # losses at the bottom of their column; items in a column never overlap
    for col in layout.items:
        losses = [item.loss for item in col]
        assert losses == sorted(losses)
        for upper, lower in zip(col, col[1:], strict=False):
            assert upper.top + upper.height < lower.top
    # each band leaves its source and reaches its target inside the bars, without overlapping
    for end in (0, -1):
        spans: dict[str, list[tuple[float, float]]] = {}
        for i, link in enumerate(layout.links):
            _, top, bottom = layout.hops[i][end]
            assert bottom - top == pytest.approx(link.amount_pence * scale)
            spans.setdefault(link.source if end == 0 else link.target, []).append((top, bottom))
        for name, slots in spans.items():
            node = layout.nodes[name]
            slots.sort()
            assert slots[0][0] == pytest.approx(node.top)
            assert slots[-1][1] <= node.top + node.height + 1e-9
            for (_, b), (t, _) in zip(slots, slots[1:], strict=False):
                assert b == pytest.approx(t)


# --- files ----------------------------------------------------------------------------------


def test_html_is_one_offline_file(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    path = tmp_path / "wall.html"
    sankey(COUNCIL, COUNCIL_TITLE, path)
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size > 1_000_000  # plotly.js is inline
    assert "<script" in text
    assert not re.search(r"<script[^>]*\bsrc=", text)  # no CDN (or any other) script to fetch
    assert "cdn.plot.ly/plotly" not in text
    assert "Council" in text and "Testshire 2008-09" in text
    assert not list(tmp_path.glob(".*.tmp"))


def test_svg_is_xml_with_labels_and_title_as_text(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "wall.svg"
    sankey(COUNCIL, COUNCIL_TITLE, path)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = {"".join(el.itertext()).strip() for el in root.iter() if el.tag.endswith("text")}
    assert COUNCIL_TITLE in texts
    for label in ("Department for Education", "Council", "Schools", "Administration (Council)"):
        assert label in texts
    assert {"£180.0m", "£120.0m", "£36.0m"} <= texts  # throughput = max(inflow, outflow)


def test_png_has_the_png_signature(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "wall.png"
    sankey(LEICESTER, "Leicester", path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_static_charts_are_byte_identical_on_rerun(tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("matplotlib")
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    sankey(LEICESTER, "Leicester", first)
    sankey(LEICESTER, "Leicester", second)
    assert first.read_bytes() == second.read_bytes()


def test_a_chart_replaces_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "wall.svg"
    path.write_text("old", encoding="utf-8")
    sankey(COUNCIL, COUNCIL_TITLE, path)
    assert path.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["wall.svg"]


def test_an_empty_chart_still_draws(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "empty.svg"
    sankey([Link("A", "B", 0)], "Nothing to show", path)
    assert "Nothing to show" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["wall.pdf", "wall", "wall.HTM"])
def test_other_suffixes_are_a_bad_option(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as caught:
        sankey(COUNCIL, COUNCIL_TITLE, tmp_path / name)
    assert caught.value.issues[0].code == "bad-option"
    assert ".html, .svg or .png" in str(caught.value)
    assert not list(tmp_path.iterdir())


# --- labels as plain text, colour-blind-safe colours (issue 15) -----------------------------

ODD_NAMES = [
    Link("The $5m and $10m Fund", "Council of $\\ell$ and \\mathbb", 30 * M),
    Link("Council of $\\ell$ and \\mathbb", "Services $\\notacommand$", 24 * M),
]


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_names_with_dollars_and_backslashes_draw_verbatim_issue_15(
    tmp_path: Path, suffix: str
) -> None:
    # "$…$" was mathtext: italics, and "\mathbb" outside a known command stopped the drawing
    pytest.importorskip("matplotlib")
    path = tmp_path / f"odd{suffix}"
    sankey(ODD_NAMES, "Costs of $5m and $10m", path)
    assert path.stat().st_size > 0
    if suffix == ".svg":
        root = ET.parse(path).getroot()
        texts = {"".join(el.itertext()).strip() for el in root.iter() if el.tag.endswith("text")}
        for name in (
            "The $5m and $10m Fund",
            "Council of $\\ell$ and \\mathbb",
            "Services $\\notacommand$",
        ):
            assert name in texts
        assert "Costs of $5m and $10m" in texts


def test_every_colour_drawn_is_from_the_colour_blind_safe_palette_issue_15(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    from placecount.charts import OKABE_ITO

    path = tmp_path / "wall.svg"
    sankey(LEICESTER, "Leicester", path)
    fills = {c.lower() for c in re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", path.read_text())}
    allowed = {c.lower() for c in OKABE_ITO.values()} | {"#ffffff"}
    assert fills and fills <= allowed
    assert len(fills - {"#ffffff", "#000000"}) >= 4  # bodies are told apart, not all one colour


def test_labels_of_a_20_edge_chain_do_not_overlap_issue_15() -> None:
    pytest.importorskip("matplotlib")
    from placecount.charts import label_boxes

    # 21 bodies in a row, each passing on £1m less than it got and losing £1m (est.)
    chain = [Link(f"Body {i}", f"Body {i + 1}", (100 - i) * M) for i in range(20)]
    chain += [
        Link(f"Body {i}", f"Administration (Body {i})", M, "admin", estimated=True)
        for i in range(1, 20)
    ]
    boxes = label_boxes(chain, "Twenty hand-overs")
    texts = [t for t, _ in boxes]
    for i in range(20):  # every band's amount is labelled
        assert pounds_m((100 - i) * M) in texts
    assert any("£1.0m est." in t for t in texts)
    for k, (a, (ax0, ay0, ax1, ay1)) in enumerate(boxes):
        assert ax1 > ax0 and ay1 > ay0
        for b, (bx0, by0, bx1, by1) in boxes[k + 1 :]:
            assert not (ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1), (a, b)


def test_the_html_chart_marks_estimates_and_shows_names_as_given_issue_15(
    tmp_path: Path,
) -> None:
    pytest.importorskip("plotly")
    import json

    links = [
        Link("Health & Care <North>", "Trust", 30 * M),
        Link("Trust", "Administration (Trust)", 6 * M, "admin", estimated=True),
    ]
    path = tmp_path / "wall.html"
    sankey(links, "Booked and estimated", path)
    text = path.read_text(encoding="utf-8")
    start = text.index('"placecount-sankey",')
    data, end = json.JSONDecoder().raw_decode(text[text.index("[", start) :])
    layout, _ = json.JSONDecoder().raw_decode(text[text.index("[", start) + end :].lstrip(", \n"))
    sankey_trace = data[0]
    # plotly reads tags and entities in labels: the name is escaped to show as written
    assert sankey_trace["node"]["label"][0] == "Health &amp; Care &lt;North&gt;<br>£30.0m"
    assert sankey_trace["link"]["label"] == ["£30.0m", "£6.0m est."]
    assert "Administration (Trust)<br>£6.0m est." in sankey_trace["node"]["label"]
    key = layout["annotations"][0]["text"]
    assert key.startswith('Amounts without "est." are as booked or measured;')
