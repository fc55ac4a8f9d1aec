"""Panes over the cluster itself: the topology (truth), one node's own view, the slot strip."""

from __future__ import annotations

from rich.console import RenderableType
from textual import events
from textual.message import Message
from textual.reactive import reactive

from simulator.views import NodeRow, NodeView, SlotMove, TruthView
from tui import render
from tui.panes.base import SimPane
from tui.render_overview import (
    COLLAPSE_ABOVE,
    Line,
    NodeFilter,
    NodeLine,
    collapsed_lines,
    collapsed_topology,
    filtered_lines,
    selected_line,
    summary,
    window,
)

TopologyData = tuple[tuple[NodeRow, ...], TruthView, str | None, int]
CollapsedData = tuple[
    tuple[tuple[str, int], ...],  # the summary's counts
    NodeFilter | None,
    int,  # nodes the filter matches
    tuple[Line, ...],  # the lines in view
    tuple[NodeRow, ...],  # their nodes' rows
    TruthView,
    str | None,
    int,
]
NodeData = tuple[NodeView | None, TruthView, bool, int, int, int]
StripData = tuple[TruthView, tuple[SlotMove, ...], int, int, int]


class TopologyPane(SimPane[TopologyData | CollapsedData]):
    """Every node as it really is, and how many others flag it; ``selected`` marked.
    Above ``COLLAPSE_ABOVE`` nodes (unless ``show_all``), or with a filter, it lists the
    notable shards and folds the quiet ones (tui/render_overview.py)."""

    TITLE = "topology (truth)"
    selected: reactive[str | None] = reactive(None, init=False)
    node_filter: reactive[NodeFilter | None] = reactive(None, init=False)
    show_all: reactive[bool] = reactive(False, init=False)  # ``A``: never collapse

    def watch_selected(self) -> None:
        self.redraw()

    def watch_node_filter(self) -> None:
        self.redraw()

    def watch_show_all(self) -> None:
        self.redraw()

    @property
    def collapsed(self) -> bool:
        """Whether the pane shows the overview rather than every node."""
        if self.node_filter is not None:
            return True
        return not self.show_all and len(self.session.sim.views.names()) > COLLAPSE_ABOVE

    def navigable(self) -> list[str]:
        """The nodes ``j``/``k`` move through: those the filter matches, else every node
        in topology order."""
        views = self.session.sim.views
        node_filter = self.node_filter
        if node_filter is None:
            return [name for name, _ in views.order()]
        view = views.overview()
        return [n.name for n in view.nodes if node_filter.matches(n, view.now)]

    def data(self) -> TopologyData | CollapsedData:
        views = self.session.sim.views
        height = self.content_size.height
        if self.collapsed:
            return self._collapsed(height)
        order = views.order()
        window = render.topology_window([name for name, _ in order], self.selected, height)
        rows = views.topology(order[window])
        return rows, views.truth(), self.selected, self.content_size.width

    def _collapsed(self, height: int) -> CollapsedData:
        views = self.session.sim.views
        view = views.overview()
        node_filter = self.node_filter
        if node_filter is None:
            lines = collapsed_lines(view, self.selected)
            matched = len(view.nodes)
        else:
            lines = filtered_lines(view, node_filter)
            matched = len(lines)
        head = 2 + (node_filter is not None)  # summary, filter, heading
        shown = tuple(lines[window(len(lines), selected_line(lines, self.selected), height - head)])
        rows = views.topology([(li.name, li.depth) for li in shown if isinstance(li, NodeLine)])
        truth = views.truth()
        width = self.content_size.width
        return view.counts(), node_filter, matched, shown, rows, truth, self.selected, width

    def draw(self, data: TopologyData | CollapsedData) -> RenderableType:
        if len(data) == 4:  # every node (TopologyData), else the collapsed overview
            rows, truth, selected, width = data
            return render.topology(rows, truth, selected, width=width)
        _, node_filter, matched, lines, rows, truth, selected, width = data
        head = summary(self.session.sim.views.overview(), node_filter, matched)
        return collapsed_topology(head, lines, rows, truth, selected, width)


class NodeViewPane(SimPane[NodeData]):
    """The selected node's own view of the cluster, or its CLUSTER NODES (``raw``).
    A big cluster's peer table (above ``COLLAPSE_ABOVE`` nodes) lists the peers the
    node flags or holds reports about first and scrolls (``first``, PageUp/PageDown or
    the mouse wheel with the pane focused); only the rows in view are built."""

    TITLE = "node's own view"
    selected: reactive[str | None] = reactive(None, init=False)
    raw: reactive[bool] = reactive(False, init=False)
    column: reactive[int] = reactive(0, init=False)  # CLUSTER NODES scrolled sideways
    first: reactive[int] = reactive(0, init=False)  # the first peer row in view

    def watch_selected(self) -> None:
        self.first = 0
        self.redraw()

    def watch_raw(self) -> None:
        self.column = 0
        self.redraw()

    def watch_column(self) -> None:
        self.redraw()

    def watch_first(self) -> None:
        self.redraw()

    def scroll_columns(self, delta: int) -> None:
        """Scroll CLUSTER NODES sideways by a quarter of the pane (←/→ when focused):
        its lines are longer than a pane is wide, and flags and slots come last."""
        step = max(8, self.content_size.width // 4)
        self.column = max(0, min(self.column + delta * step, 200))

    @property
    def max_peers(self) -> int:
        return max(3, self.content_size.height - 6)

    def scroll_peers(self, delta: int) -> None:
        """Move the peer table ``delta`` rows down (negative: up), within the table."""
        node = self.session.sim.views.node(self.selected)
        last = 0 if node is None else max(0, node.peer_table - 1 - self.max_peers)
        self.first = max(0, min(self.first + delta, last))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.scroll_peers(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.scroll_peers(-3)

    def data(self) -> NodeData:
        self.border_title = f"{self.selected}'s own view" + (
            " (CLUSTER NODES, ←/→ scroll sideways)" if self.raw else ""
        )
        views = self.session.sim.views
        max_peers = self.max_peers
        big = len(views.names()) > COLLAPSE_ABOVE
        first = self.first if big else 0
        node = views.node(
            self.selected,
            peers=0 if self.raw else max_peers + 1,
            peers_from=first,
            flagged_first=big,
        )
        return node, views.truth(), self.raw, max_peers, self.column, first if big else -1

    def draw(self, data: NodeData) -> RenderableType:
        node, truth, raw, max_peers, column, first = data
        raw_text = None
        if raw and node is not None:
            raw_text = self.session.sim.views.cluster_nodes(node.name)
            raw_text = "\n".join(line[column:] for line in raw_text.splitlines())
        return render.node_view(node, truth, raw_text, max_peers=max_peers, first=first)


class StripPane(SimPane[StripData]):
    """The 16384 slots by true owner, and the slot under the cursor; hovering moves it."""

    TITLE = "16384 slots"
    cursor: reactive[int] = reactive(0, init=False)

    class Hovered(Message):
        """The mouse is over the cells of slot ``cursor``."""

        def __init__(self, cursor: int) -> None:
            super().__init__()
            self.cursor = cursor

    def watch_cursor(self) -> None:
        self.redraw()

    @property
    def rows(self) -> int:
        return 1 if self.compact else 2

    @property
    def cells_wide(self) -> int:
        return max(16, self.content_size.width)

    def data(self) -> StripData:
        views = self.session.sim.views
        return views.truth(), views.slot_moves(), self.cursor, self.cells_wide, self.rows

    def draw(self, data: StripData) -> RenderableType:
        truth, moves, cursor, width, rows = data
        text = render.slot_strip(truth, moves, cursor, width, rows)
        text.append("\n")
        cell = render.cell_range(cursor, width, rows)
        text.append_text(render.slot_cursor_line(truth, moves, cursor, cell))
        return text

    def cell_slot(self, x: int, y: int) -> int | None:
        """The first slot of the cell at content offset (x, y), None outside the strip."""
        width, rows = self.cells_wide, self.rows
        if not (0 <= x < width and 0 <= y < rows):
            return None
        return render.cell_first(y * width + x, width * rows)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        slot = self.cell_slot(offset.x, offset.y)
        if slot is not None and slot != self.cursor:
            self.post_message(self.Hovered(slot))


__all__ = ["NodeViewPane", "StripPane", "TopologyPane"]
