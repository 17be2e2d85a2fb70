"""The "mapping wall": a Sankey diagram of money passing from body to body, drawn offline.

Places showed the tangle of intermediaries between a funding source and the citizen as
a flow map: a picture of where the money goes, and how much of it is lost in
administration at each hand-over, beats the big spreadsheet (see the 20% rule in
the domain notes). :func:`sankey` draws one without a network or a browser:

- ``.html``: an interactive plotly Sankey with plotly.js inline, so the one file opens
  on a machine with no internet access (no CDN script);
- ``.svg`` / ``.png``: our own matplotlib drawing (node bars and Bézier bands), because
  plotly's static export needs kaleido and a Chrome binary, and ``matplotlib.sankey``
  only draws a single node.

Both share one layout (:func:`columns` and the vertical stacking below), so the two
renderings agree. plotly and matplotlib are imported inside the functions: the rest
of placecount does not pay their import time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

KINDS = ("flow", "admin")

#: Okabe and Ito's palette ("Color Universal Design"), told apart by readers with the common
#: forms of colour blindness. Every chart of placecount takes its colours from here.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "vermillion": "#D55E00",
    "yellow": "#F0E442",
    "black": "#000000",
}
#: Colours of bodies and sources, in order of first appearance. Vermillion is left out:
#: it is kept for losses. Yellow comes last: on white it is the hardest to see.
PALETTE = tuple(
    OKABE_ITO[k]
    for k in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "black", "yellow")
)
#: Administration lost at a hand-over: vermillion, which reads as "gone", not as a body.
LOSS_COLOUR = OKABE_ITO["vermillion"]
#: Scenario charts: savings, costs and the net Y.
SAVING_COLOUR = OKABE_ITO["bluish_green"]
COST_COLOUR = OKABE_ITO["vermillion"]
NET_COLOUR = OKABE_ITO["blue"]
#: matplotlib settings every static chart is drawn under. Labels are body and service
#: names, printed as given: mathtext off, so "$5m and $10m" is not set as italic maths
#: and a backslash word is not a TeX command that stops the drawing (matplotlib >= 3.5,
#: and we need 3.8). Fixed salt and no font embedding: the same chart gives the same bytes.
MPL_STYLE: dict[Any, Any] = {
    "svg.hashsalt": "placecount",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "text.parse_math": False,
}
BAND_ALPHA = 0.35
LOSS_BAND_ALPHA = 0.30

# Geometry, in axes units (0..1 both ways; y grows downwards until drawn).
_BAR_WIDTH = 0.012
_GAP = 0.035  # between two items of a column
_SWEEPS = 4  # barycentre passes: enough for the few-column charts places draw


@dataclass(frozen=True)
class Link:
    """Money passing from one body to another, or lost to administration at a hand-over."""

    source: str  # body name
    target: str  # body name, or a loss node name (e.g. "Administration (EMDA)")
    amount_pence: int  # >= 0
    kind: str = "flow"  # "flow" for money passing, "admin" for administration lost
    #: True where the amount is the hand-over rule's estimate, not what the books say
    estimated: bool = False

    def __post_init__(self) -> None:
        """Refuse links no chart can draw, at the point where they are made."""
        if self.kind not in KINDS:
            raise ValueError(f"a link's kind is 'flow' or 'admin', not {self.kind!r}")
        if isinstance(self.amount_pence, bool) or not isinstance(self.amount_pence, int):
            raise ValueError(f"a link's amount is whole pence, not {self.amount_pence!r}")
        if self.amount_pence < 0:
            raise ValueError(f"a link's amount cannot be negative: {self.amount_pence}")
        if self.source == self.target:
            raise ValueError(f"a link cannot go from {self.source!r} to itself")


def plotly_text(text: str) -> str:
    """A name as plotly text: plotly reads a few HTML tags and entities in labels, so a body
    called "Health & Care <North>" is escaped to show as given. ``<br>`` is added after."""
    import html

    return html.escape(text, quote=False)


def pounds_m(pence: int) -> str:
    """Pence as the £m a chart shows: 12_345_678_900 → '£123.5m' (half-up, like a printed table)."""
    millions = (Decimal(pence) / Decimal(100_000_000)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    return f"£{millions:,}m"


def amount_label(pence: int, estimated: bool = False) -> str:
    """An amount as a chart prints it: booked '£8.5m', or estimated '£1.7m est.'."""
    return f"{pounds_m(pence)} est." if estimated else pounds_m(pence)


def note(links: list[Link]) -> str:
    """The chart's key to its amounts: which are booked and which are estimates."""
    estimates = any(link.estimated and link.amount_pence for link in links)
    kept = any(link.kind == "admin" and link.target.startswith("Kept (") for link in links)
    if estimates:
        text = (
            'Amounts without "est." are as booked or measured; "est." marks an amount '
            "estimated by the rule of a share of the money lost to administration at each "
            "hand-over."
        )
    else:
        text = "Every amount is as booked or measured."
    if kept:
        text += " Kept: what a body's books say it received and did not pass on."
    return text


def _names(links: list[Link]) -> list[str]:
    """Every node name in order of first appearance, so layouts and colours are stable."""
    seen: dict[str, None] = {}
    for link in links:
        seen.setdefault(link.source, None)
        seen.setdefault(link.target, None)
    return list(seen)


def loss_nodes(links: list[Link]) -> set[str]:
    """Names that only receive administration: drawn in the loss colour, at the bottom."""
    in_flow = {n for link in links if link.kind == "flow" for n in (link.source, link.target)}
    return {link.target for link in links if link.kind == "admin" and link.target not in in_flow}


def columns(links: list[Link]) -> dict[str, int]:
    """Each node's column, left to right: sources at 0, ends in the right-most column.

    A body's column is the longest chain of "flow" links from any source to it, so a
    two-hand-over and a three-hand-over chain both start at the left edge and each
    intermediary sits as far right as its longest chain puts it. Ends (bodies money
    reaches and goes no further) are moved to the right-most flow column, so projects
    and citizens line up on the right, whatever the chain length. A loss node sits one
    column after the body whose administration it is.

    Raises ``ValueError`` if the flow links go round in a circle: money handed back
    up a chain has no left-to-right order to draw.
    """
    names = _names(links)
    losses = loss_nodes(links)
    flows = [link for link in links if link.kind == "flow"]
    succ: dict[str, list[str]] = defaultdict(list)
    indegree = {n: 0 for n in names if n not in losses}
    for link in flows:
        succ[link.source].append(link.target)
        indegree[link.target] += 1
    has_in = {n for n, d in indegree.items() if d}
    col = dict.fromkeys(indegree, 0)
    # Kahn's topological order, relaxing the longest path as each node is settled.
    ready = [n for n in indegree if not indegree[n]]
    settled = 0
    while ready:
        node = ready.pop(0)
        settled += 1
        for nxt in succ[node]:
            col[nxt] = max(col[nxt], col[node] + 1)
            indegree[nxt] -= 1
            if not indegree[nxt]:
                ready.append(nxt)
    if settled < len(indegree):
        circle = sorted(n for n, d in indegree.items() if d)
        raise ValueError("funding links go round in a circle through: " + ", ".join(circle))
    right = max(col.values(), default=0)
    for name in col:
        if name in has_in and not succ[name]:
            col[name] = right
    for link in links:
        if link.kind == "admin" and link.target in losses:
            col[link.target] = max(col.get(link.target, 0), col[link.source] + 1)
    return {n: col[n] for n in names}


# --- the layout both renderings share -------------------------------------------------------


@dataclass
class _Item:
    """Something stacked in a column: a node, or a band passing through on its way right."""

    key: str | tuple[int, int]  # node name, or (link index, column) for a pass-through
    size: int  # pence: a node's throughput, or the passing link's amount
    loss: bool = False
    top: float = 0.0  # y of the top edge, 0 at the top of the chart
    height: float = 0.0

    @property
    def centre(self) -> float:
        return self.top + self.height / 2


@dataclass
class _Layout:
    """Where everything goes: columns of items, and each band's slot at every item it meets."""

    n_columns: int
    column: dict[str, int]
    throughput: dict[str, int]
    items: list[list[_Item]]
    nodes: dict[str, _Item]
    losses: set[str]
    links: list[Link]  # the links drawn (amount > 0), in the caller's order
    note: str  # the key: which amounts are booked, which estimated
    # band index → [(column, top, bottom)] at each item it meets, left to right
    hops: dict[int, list[tuple[int, float, float]]] = field(default_factory=dict)
    #: nodes whose amount (their throughput) rests on an estimate
    estimated: set[str] = field(default_factory=set)


def _layout(links: list[Link]) -> _Layout:
    """Order and stack the items of each column so that bands cross as little as they can.

    Bands that skip columns get an invisible pass-through item in each column they cross
    (the usual layered-graph trick), so no band is drawn over a node bar. The order in a
    column comes from a few barycentre sweeps (each item moved towards the items it is
    linked to); loss nodes always go to the bottom. One vertical scale serves every
    column, so band widths are proportional to money across the whole chart.
    """
    column = columns(links)
    losses = loss_nodes(links)
    drawn = [link for link in links if link.amount_pence > 0]
    inflow: dict[str, int] = defaultdict(int)
    outflow: dict[str, int] = defaultdict(int)
    for link in drawn:
        outflow[link.source] += link.amount_pence
        inflow[link.target] += link.amount_pence
    throughput = {n: max(inflow[n], outflow[n]) for n in column}
    n_columns = max(column.values(), default=0) + 1

    items: list[list[_Item]] = [[] for _ in range(n_columns)]
    nodes: dict[str, _Item] = {}
    for name, c in column.items():
        if throughput[name] > 0:
            nodes[name] = _Item(name, throughput[name], loss=name in losses)
            items[c].append(nodes[name])
    # Each band's chain of items, left to right: source, pass-throughs, target.
    chain: dict[int, list[_Item]] = {}
    for i, link in enumerate(drawn):
        a, b = column[link.source], column[link.target]
        via = [_Item((i, c), link.amount_pence) for c in range(a + 1, b)]
        for passing in via:
            items[passing.key[1]].append(passing)  # type: ignore[index]
        chain[i] = [nodes[link.source], *via, nodes[link.target]]
    # Neighbours of each item: (item, weight) on the left and on the right.
    left: dict[int, list[tuple[_Item, int]]] = defaultdict(list)
    right: dict[int, list[tuple[_Item, int]]] = defaultdict(list)
    for i, path in chain.items():
        for u, v in zip(path, path[1:], strict=False):
            right[id(u)].append((v, drawn[i].amount_pence))
            left[id(v)].append((u, drawn[i].amount_pence))

    scale, gap = _scale(items)

    def stack(col: list[_Item]) -> None:
        y = 0.0
        for item in col:
            item.top, item.height = y, item.size * scale
            y += item.height + gap

    def reorder(col: list[_Item], towards: dict[int, list[tuple[_Item, int]]]) -> None:
        def barycentre(item: _Item) -> float:
            linked = towards[id(item)]
            weight = sum(w for _, w in linked)
            if not weight:
                return item.centre
            return sum(other.centre * w for other, w in linked) / weight

        rank = {id(item): (item.loss, barycentre(item), k) for k, item in enumerate(col)}
        col.sort(key=lambda item: rank[id(item)])
        stack(col)

    for col in items:
        col.sort(key=lambda item: item.loss)  # stable: first appearance, losses last
        stack(col)
    for _ in range(_SWEEPS):
        for col in items[1:]:
            reorder(col, left)
        for col in reversed(items[:-1]):
            reorder(col, right)
    for col in items[1:]:
        reorder(col, left)

    layout = _Layout(n_columns, column, throughput, items, nodes, losses, drawn, note(links))
    layout.estimated = _estimated_nodes(drawn, throughput)
    # Slots: at each item, the bands leaving it are stacked in the order of where they go,
    # and the bands arriving in the order of where they come from, so they do not cross.
    out_slots: dict[int, list[int]] = defaultdict(list)
    in_slots: dict[int, list[int]] = defaultdict(list)
    for i, path in chain.items():
        out_slots[id(path[0])].append(i)
        in_slots[id(path[-1])].append(i)
    starts: dict[tuple[int, str], float] = {}
    for node in nodes.values():
        for bands, side, neighbour in ((out_slots, "out", 1), (in_slots, "in", -2)):
            y = node.top
            for _, i in sorted((chain[i][neighbour].centre, i) for i in bands[id(node)]):
                starts[(i, side)] = y
                y += drawn[i].amount_pence * scale
    for i, path in chain.items():
        width = drawn[i].amount_pence * scale
        first = column[drawn[i].source]
        hops = [(first, starts[(i, "out")])]
        hops += [(first + k, item.top) for k, item in enumerate(path[1:-1], start=1)]
        hops.append((column[drawn[i].target], starts[(i, "in")]))
        layout.hops[i] = [(c, top, top + width) for c, top in hops]
    return layout


def _estimated_nodes(drawn: list[Link], throughput: dict[str, int]) -> set[str]:
    """Bodies whose shown amount is an estimate: every side (money in, money out) that
    adds up to the amount shown has an estimated band in it."""
    sides: dict[tuple[str, str], tuple[int, bool]] = {}
    for link in drawn:
        for key in ((link.source, "out"), (link.target, "in")):
            total, est = sides.get(key, (0, False))
            sides[key] = (total + link.amount_pence, est or link.estimated)
    out = set()
    for name, amount in throughput.items():
        full = [sides[k] for k in ((name, "in"), (name, "out")) if k in sides]
        full = [side for side in full if side[0] == amount]
        if amount and full and all(est for _, est in full):
            out.add(name)
    return out


def _scale(items: list[list[_Item]]) -> tuple[float, float]:
    """Height per penny, and the gap between items, so the fullest column just fits."""
    most = max((len(col) for col in items), default=1)
    gap = min(_GAP, 0.4 / max(most - 1, 1))
    fits = [(1 - gap * (len(col) - 1)) / sum(i.size for i in col) for col in items if col]
    return min(fits, default=1.0), gap


def _colours(layout: _Layout) -> dict[str, str]:
    """A colour per node: bodies from the palette in order of appearance, losses in red."""
    out: dict[str, str] = {}
    k = 0
    for name in layout.column:
        if name in layout.losses:
            out[name] = LOSS_COLOUR
        else:
            out[name] = PALETTE[k % len(PALETTE)]
            k += 1
    return out


def _x(layout: _Layout, col: int) -> float:
    """Left edge of a column's bars, in axes units."""
    return col / max(layout.n_columns - 1, 1) * (1 - _BAR_WIDTH)


# --- rendering ------------------------------------------------------------------------------


def sankey(links: list[Link], title: str, path: Path) -> None:
    """Draw the flows as a Sankey diagram to path (.html, .svg or .png).

    The file is rendered next to its destination and moved into place, so a reader
    (or a rerun that fails half-way) never sees half a chart.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".svg", ".png"):
        raise InputError.one(
            "bad-option", f"a chart can be .html, .svg or .png, not {path.suffix!r}."
        )
    layout = _layout(list(links))
    from .render import atomic_path

    with atomic_path(path) as tmp:
        if suffix == ".html":
            _write_html(layout, title, tmp)
        else:
            _write_static(layout, title, tmp, suffix[1:])


def rgba(colour: str, alpha: float) -> str:
    """'#1f77b4', 0.35 → 'rgba(31,119,180,0.35)', the form plotly takes for see-through bands."""
    r, g, b = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _write_html(layout: _Layout, title: str, tmp: Path) -> None:
    """plotly's own Sankey, with our columns and order as its starting positions.

    plotly sizes node bars itself (by pixel height and its own padding), so our centres
    are a starting point: "snap" keeps each node in its column and pushes overlapping
    nodes apart. plotly.js goes inline so the file works with no network.
    """
    import plotly.graph_objects as go

    names = [n for n in layout.column if n in layout.nodes]
    index = {n: k for k, n in enumerate(names)}
    colours = _colours(layout)

    def inside(v: float) -> float:
        # plotly ignores a position of exactly 0 (it tests truthiness), so keep off the edges
        return min(max(v, 0.001), 0.999)

    node = {
        "label": [
            f"{plotly_text(n)}<br>{amount_label(layout.throughput[n], n in layout.estimated)}"
            for n in names
        ],
        "color": [colours[n] for n in names],
        "x": [inside(layout.column[n] / max(layout.n_columns - 1, 1)) for n in names],
        "y": [inside(layout.nodes[n].centre) for n in names],
        "pad": 18,
        "thickness": 16,
        "line": {"width": 0},
        "hovertemplate": "%{label}<extra></extra>",
    }
    link = {
        "source": [index[x.source] for x in layout.links],
        "target": [index[x.target] for x in layout.links],
        "value": [x.amount_pence / 100_000_000 for x in layout.links],
        "label": [amount_label(x.amount_pence, x.estimated) for x in layout.links],
        "color": [
            rgba(LOSS_COLOUR, LOSS_BAND_ALPHA)
            if x.kind == "admin"
            else rgba(colours[x.source], BAND_ALPHA)
            for x in layout.links
        ],
        "hovertemplate": "%{source.label} → %{target.label}: %{label}<extra></extra>",
    }
    fig = go.Figure(
        go.Sankey(arrangement="snap", node=node, link=link, valueformat=",.1f", valuesuffix="m")
    )
    fig.update_layout(
        title={"text": plotly_text(title), "x": 0.5, "xanchor": "center"},
        font={"size": 12},
        height=800,
        margin={"l": 30, "r": 30, "t": 70, "b": 60},
        annotations=[
            {
                "text": plotly_text(layout.note),
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": -0.05,
                "xanchor": "left",
                "font": {"size": 11},
            }
        ],
    )
    fig.write_html(
        tmp,
        include_plotlyjs=True,
        full_html=True,
        div_id="placecount-sankey",  # a fixed id, not a random one: reruns give the same file
        config={"displaylogo": False},
    )


def _write_static(layout: _Layout, title: str, tmp: Path, fmt: str) -> None:
    """Our own drawing with matplotlib's Agg renderer: no browser, no global pyplot state.

    SVG text stays text (searchable, selectable, screen-readable), and the dates,
    software names and random ids matplotlib would stamp in are fixed, so the same
    links give byte-identical files.
    """
    import matplotlib

    with matplotlib.rc_context(MPL_STYLE):
        fig, _ = _figure(layout, title)
        if fmt == "svg":
            fig.savefig(tmp, format="svg", bbox_inches="tight", metadata={"Date": None})
        else:
            fig.savefig(
                tmp, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None}
            )


def label_boxes(
    links: list[Link], title: str
) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each label of the static chart with its box (x0, y0, x1, y1, in pixels) as drawn:
    for checking that no two labels overlap."""
    import matplotlib

    with matplotlib.rc_context(MPL_STYLE):
        fig, texts = _figure(_layout(list(links)), title)
        renderer = fig.canvas.get_renderer()
        boxes = []
        for t in texts:
            x0, y0, x1, y1 = (float(v) for v in t.get_window_extent(renderer).extents)
            boxes.append((str(t.get_text()), (x0, y0, x1, y1)))
        return boxes


def _figure(layout: _Layout, title: str) -> tuple[Any, list[Any]]:
    """The static chart as a matplotlib Figure, and its labels (title, note, nodes, bands).

    Wide enough for its columns; labels are moved up or down, off each other, once their
    drawn sizes are known."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(14.0, 1.5 * layout.n_columns), 8))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.08, 0.06, 0.84, 0.84))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    nodes, bands = _draw(ax, layout)
    head = fig.suptitle(title, fontsize=14, fontweight="bold", y=0.97)
    key = fig.text(0.08, 0.015, layout.note, fontsize=9, color="black", va="bottom")
    _spread([head, key], nodes + bands, fig)
    return fig, [head, key, *nodes, *bands]


def _overlaps(a: Any, b: Any) -> bool:
    return bool(a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1)


def _spread(fixed: list[Any], movable: list[Any], fig: Any) -> None:
    """Move each label in turn (nodes first, then bands) up or down by steps of its own
    height until it is clear of every label already placed."""
    renderer = fig.canvas.get_renderer()
    pad = 3.0  # pixels round each label, for its white box and some air

    def box(text: Any) -> Any:
        return text.get_window_extent(renderer).expanded(1, 1).padded(pad)

    placed = [box(t) for t in fixed]
    for text in movable:
        x, y = text.get_position()
        here = box(text)
        step = here.height / fig.bbox.height / 0.84  # the label's height, in axes units
        for k in range(200):
            dy = (k + 1) // 2 * step * (1 if k % 2 else -1)
            text.set_position((x, y + dy))
            here = box(text)
            if not any(_overlaps(here, other) for other in placed):
                break
        placed.append(here)


def _draw(ax: Axes, layout: _Layout) -> tuple[list[Any], list[Any]]:
    """Bands first (behind), then node bars, then labels on top: the node labels and the
    band labels, returned for spreading."""
    from matplotlib.patches import PathPatch, Rectangle

    colours = _colours(layout)
    last = layout.n_columns - 1
    white = {"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5}
    band_labels: list[Any] = []
    for i, link in enumerate(layout.links):
        if link.kind == "admin":
            colour, alpha = LOSS_COLOUR, LOSS_BAND_ALPHA
        else:
            colour, alpha = colours[link.source], BAND_ALPHA
        hops = layout.hops[i]
        ax.add_patch(PathPatch(_band(layout, hops), facecolor=colour, alpha=alpha, lw=0))
        if link.kind == "flow":  # a loss's amount is on its own node
            (c0, t0, b0), (c1, t1, b1) = hops[0], hops[1]
            x = (_x(layout, c0) + _BAR_WIDTH + _x(layout, c1)) / 2
            y = 1 - (t0 + b0 + t1 + b1) / 4
            band_labels.append(
                ax.text(
                    x,
                    y,
                    amount_label(link.amount_pence, link.estimated),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black",
                    bbox=white,
                )
            )
    node_labels: list[Any] = []
    for name, node in layout.nodes.items():
        x = _x(layout, layout.column[name])
        y = 1 - node.top - node.height  # drawn with y growing upwards
        ax.add_patch(Rectangle((x, y), _BAR_WIDTH, node.height, facecolor=colours[name], lw=0))
        text = f"{name}\n{amount_label(layout.throughput[name], name in layout.estimated)}"
        style: dict[str, Any] = {"va": "center", "fontsize": 10, "linespacing": 1.15}
        if layout.column[name] == 0 and last > 0:
            node_labels.append(ax.text(x - 0.006, 1 - node.centre, text, ha="right", **style))
        else:
            box = white if layout.column[name] != last else None  # over the bands leaving it
            colour = LOSS_COLOUR if name in layout.losses else "black"
            node_labels.append(
                ax.text(
                    x + _BAR_WIDTH + 0.006,
                    1 - node.centre,
                    text,
                    ha="left",
                    color=colour,
                    bbox=box,
                    **style,
                )
            )
    return node_labels, band_labels


def _band(layout: _Layout, hops: list[tuple[int, float, float]]) -> Any:
    """A band as one closed path: the top edge left to right, the bottom edge back.

    Between columns each edge is a cubic Bézier with both control points half-way
    across, so the band leaves and enters every bar horizontally; across a column it
    only passes through, the band runs straight.
    """
    from matplotlib.path import Path as MplPath

    def edge(points: list[tuple[float, float, float]]) -> list[tuple[float, float]]:
        """Vertices after the first point: (x where it leaves, x where it arrives, y)."""
        verts: list[tuple[float, float]] = []
        for (xa, _, ya), (_, xb, yb) in zip(points, points[1:], strict=False):
            mid = (xa + xb) / 2
            verts += [(mid, ya), (mid, yb), (xb, yb)]
        return verts

    # Each hop: where the band leaves it (right edge) and arrives (left edge), going right.
    top = [(_x(layout, c) + _BAR_WIDTH, _x(layout, c), 1 - t) for c, t, _ in hops]
    bottom = [(_x(layout, c), _x(layout, c) + _BAR_WIDTH, 1 - b) for c, _, b in reversed(hops)]
    verts: list[tuple[float, float]] = [(top[0][0], top[0][2])]
    codes: list[Any] = [MplPath.MOVETO]  # numpy uint8 codes
    for k in range(1, len(top)):
        verts += edge(top[k - 1 : k + 1])
        codes += [MplPath.CURVE4] * 3
        if k < len(top) - 1:  # a pass-through: straight across the column
            verts.append((top[k][0], top[k][2]))
            codes.append(MplPath.LINETO)
    verts.append((bottom[0][0], bottom[0][2]))
    codes.append(MplPath.LINETO)
    for k in range(1, len(bottom)):
        verts += edge(bottom[k - 1 : k + 1])
        codes += [MplPath.CURVE4] * 3
        if k < len(bottom) - 1:
            verts.append((bottom[k][0], bottom[k][2]))
            codes.append(MplPath.LINETO)
    verts.append(verts[0])
    codes.append(MplPath.CLOSEPOLY)
    return MplPath(verts, codes)
