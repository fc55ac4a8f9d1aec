"""The cluster as a graph (``G``, in place of the topology table): nodes and relations.

Each node is a label (``n1 M`` master, ``n4 r`` replica; red when dead or flagged FAIL
by others, yellow when flagged PFAIL). Replication links join a replica to its master
(``─│╱╲``, dim); a one-way cut is a red line with ``×`` in its middle and an arrow
head where the messages no longer arrive; the partition's sides are columns split by
``┆``. The relations are a networkx ``DiGraph``; the layout is its shell layout
(masters inside, replicas outside next to their master), one per side, side by side.
The layout is recomputed only when the nodes, roles or sides change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx
from rich.console import RenderableType
from rich.text import Text
from textual.reactive import reactive

from simulator.views import NodeRow, TruthView
from tui.model import Session
from tui.panes.base import SimPane

Point = tuple[float, float]
GraphData = tuple[tuple[NodeRow, ...], TruthView, str | None, int, int]
LayoutKey = tuple[tuple[tuple[str, bool, str | None], ...], tuple[tuple[str, ...], ...]]


def relations(rows: Sequence[NodeRow], truth: TruthView) -> nx.DiGraph:
    """Nodes with their side, replication edges (replica → master) and cuts."""
    graph = nx.DiGraph()
    side = {name: i for i, group in enumerate(truth.groups) for name in group}
    for row in rows:
        graph.add_node(row.name, master=row.is_master, side=side.get(row.name, 0))
    for row in rows:
        if not row.is_master and row.master_name in graph:
            graph.add_edge(row.name, row.master_name, kind="replication")
    for pair in truth.cuts:
        if len(pair) == 2 and pair[0] in graph and pair[1] in graph:
            graph.add_edge(pair[0], pair[1], kind="cut")
    return graph


def shell_positions(graph: nx.DiGraph, members: Sequence[str]) -> dict[str, Point]:
    """A shell layout in [-1, 1]² (as ``nx.shell_layout``, whose numpy dependency rcsim
    does not have): masters on the inner ring, evenly; each replica on the outer ring
    at its master's angle (several fanned out around it), the others evenly."""
    masters = [n for n in members if graph.nodes[n]["master"]]
    others = [n for n in members if not graph.nodes[n]["master"]]
    positions: dict[str, Point] = {}
    if not masters:
        masters, others = others, []
    inner = 0.0 if len(masters) == 1 and not others else (0.5 if others else 1.0)
    angle: dict[str, float] = {}
    for i, name in enumerate(masters):
        angle[name] = 2 * math.pi * i / len(masters) - math.pi / 2
        positions[name] = (inner * math.cos(angle[name]), inner * math.sin(angle[name]))
    under: dict[str, list[str]] = {}
    loose: list[str] = []
    for name in others:
        master = next((m for m in graph.successors(name) if m in angle), None)
        if master is None:
            loose.append(name)
        else:
            under.setdefault(master, []).append(name)
    spread = math.pi / max(2, len(masters)) / 2
    for master, replicas in under.items():
        for i, name in enumerate(replicas):
            a = angle[master] + spread * (i - (len(replicas) - 1) / 2)
            positions[name] = (math.cos(a), math.sin(a))
    for i, name in enumerate(loose):
        a = 2 * math.pi * (i + 0.5) / len(loose) - math.pi / 2
        positions[name] = (math.cos(a), math.sin(a))
    return positions


def layout(graph: nx.DiGraph) -> dict[str, Point]:
    """Positions in [0, 1]²: a shell layout per partition side, sides left to right."""
    sides = sorted({int(graph.nodes[n]["side"]) for n in graph})
    positions: dict[str, Point] = {}
    for column, side in enumerate(sides):
        members = [n for n in graph if graph.nodes[n]["side"] == side]
        for name, (x, y) in shell_positions(graph, members).items():
            px = (column + 0.5 + 0.42 * x) / len(sides)  # each side its own column
            positions[name] = (px, 0.5 + 0.45 * y)
    return positions


def grid_positions(
    graph: nx.DiGraph, names: Sequence[str], width: int, height: int
) -> dict[str, Point]:
    """Too many nodes for rings: ``names`` in rows of labels, one block per side."""
    sides = sorted({int(graph.nodes[n]["side"]) for n in names}) or [0]
    positions: dict[str, Point] = {}
    per_row = max(1, (width // len(sides)) // 9)  # "n100 M+1" and a space
    for column, side in enumerate(sides):
        members = [n for n in names if graph.nodes[n]["side"] == side]
        rows = max(1, -(-len(members) // per_row))
        for i, name in enumerate(members):
            row, col = divmod(i, per_row)
            x = (column + (col + 0.5) / per_row) / len(sides)
            y = (row + 0.5) / max(rows, height) if rows > height else (row + 0.5) / rows
            positions[name] = (x, y)
    return positions


def _line_char(dx: float, dy: float) -> str:
    if abs(dx) > 2 * abs(dy):
        return "─"
    if abs(dy) > 2 * abs(dx):
        return "│"
    return "╲" if (dx > 0) == (dy > 0) else "╱"


class Canvas:
    """A grid of styled characters."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells: list[list[tuple[str, str]]] = [[(" ", "")] * width for _ in range(height)]

    def put(self, x: int, y: int, char: str, style: str = "") -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.cells[y][x] = (char, style)

    def text(self, x: int, y: int, words: str, style: str) -> None:
        for i, char in enumerate(words):
            self.put(x + i, y, char, style)

    def line(self, a: tuple[int, int], b: tuple[int, int], style: str) -> list[tuple[int, int]]:
        """A straight line between two cells (ends excluded); returns its cells."""
        (x0, y0), (x1, y1) = a, b
        dx, dy = x1 - x0, y1 - y0
        char = _line_char(dx, dy * 2)  # a cell is about twice as tall as wide
        steps = max(abs(dx), abs(dy))
        drawn = []
        for i in range(1, steps):
            x = round(x0 + dx * i / steps)
            y = round(y0 + dy * i / steps)
            if (x, y) not in ((x0, y0), (x1, y1)):
                self.put(x, y, char, style)
                drawn.append((x, y))
        return drawn

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for y, row in enumerate(self.cells):
            if y:
                out.append("\n")
            for char, style in row:
                out.append(char, style)
        return out


def node_style(row: NodeRow, selected: bool) -> str:
    if not row.alive or row.observers_fail:
        style = "bold red"
    elif row.observers_pfail:
        style = "bold yellow"
    elif row.partitioned:
        style = "magenta"
    else:
        style = "bold" if row.is_master else ""
    return style + (" reverse" if selected else "")


def draw_graph(
    rows: Sequence[NodeRow],
    truth: TruthView,
    selected: str | None,
    width: int,
    height: int,
    positions: dict[str, Point] | None = None,
) -> Text:
    """The graph on a ``width`` × ``height`` canvas, and a legend line under it."""
    graph = relations(rows, truth)
    if positions is None:
        positions = layout(graph)
    height = max(3, height - 1)  # the legend
    canvas = Canvas(max(10, width), height)
    crowded = len(rows) * 6 > canvas.width * canvas.height // 3
    shown = [r for r in rows if not crowded or r.is_master or r.name == selected]

    if crowded:  # masters in a grid per side instead of rings that would overlap
        positions = grid_positions(graph, [r.name for r in shown], canvas.width, canvas.height)

    def cell(name: str) -> tuple[int, int]:
        x, y = positions[name]
        return (round(x * (canvas.width - 6)) + 1, round(y * (canvas.height - 1)))

    heads: list[tuple[list[tuple[int, int]], str]] = []  # cut lines: the arrow goes last
    sides = len(truth.groups) if len(truth.groups) > 1 else 1
    for i in range(1, sides):
        x = round(canvas.width * i / sides)
        for y in range(canvas.height):
            canvas.put(x, y, "┆", "magenta")
    for a, b, data in graph.edges(data=True):
        if data["kind"] == "replication" and (crowded or a not in positions):
            continue
        start, end = cell(a), cell(b)
        if data["kind"] == "replication":
            canvas.line(start, end, "dim")
        else:
            drawn = canvas.line(start, end, "bold red")
            if drawn:
                mx, my = drawn[len(drawn) // 2]
                canvas.put(mx, my, "×", "bold red")
                arrow = "▶" if end[0] > start[0] else "◀" if end[0] < start[0] else "▼"
                if end[0] == start[0] and end[1] < start[1]:
                    arrow = "▲"
                heads.append((drawn, arrow))
    for row in shown:
        x, y = cell(row.name)
        role = "M" if row.is_master else "r"
        if crowded and row.is_master:
            count = sum(1 for r in rows if r.master_name == row.name and not r.is_master)
            role = f"M+{count}"
        label = f"{row.name} {role}"
        canvas.text(x - len(label) // 2, y, label, node_style(row, row.name == selected))
    for drawn, arrow in heads:  # on the line's last cell a label left free
        free = [c for c in drawn if canvas.cells[c[1]][c[0]][0] in "─│╱╲×"]
        if free:
            canvas.put(free[-1][0], free[-1][1], arrow, "bold red")
    out = canvas.render()
    legend = "─ replica·master  ×▶ one-way cut  ┆ sides  red dead/FAIL  yellow PFAIL"
    if crowded:
        legend = f"{len(rows)} nodes: masters only (M+replicas)  " + legend
    out.append("\n" + legend, "dim")
    return out


class GraphPane(SimPane[GraphData]):
    """The cluster as a graph: replication, partitions and cuts, live."""

    TITLE = "cluster graph (G: back to the table)"

    selected: reactive[str | None] = reactive(None, init=False)

    def __init__(self, session: Session, *, id: str, classes: str = "pane") -> None:
        super().__init__(session, id=id, classes=classes)
        self._layout_key: LayoutKey | None = None
        self._positions: dict[str, Point] = {}

    def watch_selected(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if self.display:  # hidden (the table is shown): nothing to do
            super().redraw()

    def data(self) -> GraphData:
        views = self.session.sim.views
        size = self.content_size
        return views.topology(), views.truth(), self.selected, size.width, size.height

    def positions(self, rows: Sequence[NodeRow], truth: TruthView) -> dict[str, Point]:
        key: LayoutKey = (
            tuple((r.name, r.is_master, r.master_name) for r in rows),
            truth.groups,
        )
        if key != self._layout_key:
            self._layout_key = key
            self._positions = layout(relations(rows, truth))
        return self._positions

    def draw(self, data: GraphData) -> RenderableType:
        rows, truth, selected, width, height = data
        return draw_graph(rows, truth, selected, width, height, self.positions(rows, truth))


__all__ = ["GraphPane", "draw_graph", "layout", "relations"]
