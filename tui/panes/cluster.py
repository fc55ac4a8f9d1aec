"""Panes over the cluster itself: the topology (truth), one node's own view, the slot strip."""

from __future__ import annotations

from rich.console import RenderableType
from textual import events
from textual.message import Message
from textual.reactive import reactive

from simulator.views import NodeRow, NodeView, SlotMove, TruthView
from tui import render
from tui.panes.base import SimPane

TopologyData = tuple[tuple[NodeRow, ...], TruthView, str | None, int]
NodeData = tuple[NodeView | None, TruthView, bool, int, int]
StripData = tuple[TruthView, tuple[SlotMove, ...], int, int, int]


class TopologyPane(SimPane[TopologyData]):
    """Every node as it really is, and how many others flag it; ``selected`` marked."""

    TITLE = "topology (truth)"
    selected: reactive[str | None] = reactive(None, init=False)

    def watch_selected(self) -> None:
        self.redraw()

    def data(self) -> TopologyData:
        views = self.session.sim.views
        order = views.order()
        height = self.content_size.height
        window = render.topology_window([name for name, _ in order], self.selected, height)
        rows = views.topology(order[window])
        return rows, views.truth(), self.selected, self.content_size.width

    def draw(self, data: TopologyData) -> RenderableType:
        rows, truth, selected, width = data
        return render.topology(rows, truth, selected, width=width)


class NodeViewPane(SimPane[NodeData]):
    """The selected node's own view of the cluster, or its CLUSTER NODES (``raw``)."""

    TITLE = "node's own view"
    selected: reactive[str | None] = reactive(None, init=False)
    raw: reactive[bool] = reactive(False, init=False)
    column: reactive[int] = reactive(0, init=False)  # CLUSTER NODES scrolled sideways

    def watch_selected(self) -> None:
        self.redraw()

    def watch_raw(self) -> None:
        self.column = 0
        self.redraw()

    def watch_column(self) -> None:
        self.redraw()

    def scroll_columns(self, delta: int) -> None:
        """Scroll CLUSTER NODES sideways by a quarter of the pane (←/→ when focused):
        its lines are longer than a pane is wide, and flags and slots come last."""
        step = max(8, self.content_size.width // 4)
        self.column = max(0, min(self.column + delta * step, 200))

    def data(self) -> NodeData:
        self.border_title = f"{self.selected}'s own view" + (
            " (CLUSTER NODES, ←/→ scroll sideways)" if self.raw else ""
        )
        views = self.session.sim.views
        max_peers = max(3, self.content_size.height - 6)
        node = views.node(self.selected, peers=0 if self.raw else max_peers + 1)
        return node, views.truth(), self.raw, max_peers, self.column

    def draw(self, data: NodeData) -> RenderableType:
        node, truth, raw, max_peers, column = data
        raw_text = None
        if raw and node is not None:
            raw_text = self.session.sim.views.cluster_nodes(node.name)
            raw_text = "\n".join(line[column:] for line in raw_text.splitlines())
        return render.node_view(node, truth, raw_text, max_peers=max_peers)


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
