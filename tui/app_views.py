"""The app's navigation keys and view toggles: which pane has the focus, the node and
slot selection, and the views that take another's place (CLUSTER NODES ``c``, the
message view ``M``, the cluster as a graph ``G``). A base of :class:`tui.app.RcsimApp`
(split out of it to keep it short); it owns the reactive selection the panes bind to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import RenderableType
from textual._compositor import LayoutUpdate
from textual.app import App
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui import panes, render
from tui.modals import PromptScreen
from tui.render_overview import NodeFilter

if TYPE_CHECKING:
    from textual.screen import Screen

    from tui.frame_path import FramePath
    from tui.heap import Heap
    from tui.model import Session

PANES = (
    "topology",
    "graph",
    "nodeview",
    "messages",
    "strip",
    "election",
    "clients",
    "expect",
    "log",
)
STORY = ("election", "clients", "expect")  # the middle row


class ViewKeys(App[None]):
    """Focus, selection and view toggles (the screen's classes choose what is shown)."""

    if TYPE_CHECKING:
        session: Session
        live: bool
        heap: Heap
        frame_path: FramePath

    selected: reactive[str | None] = reactive(None, init=False, repaint=False)
    cursor: reactive[int] = reactive(0, init=False, repaint=False)
    raw_view: reactive[bool] = reactive(False, init=False, repaint=False)

    def waiting_messages(self) -> Sequence[Message | None]:
        """The messages waiting in the app's queue, oldest first (tui/pacing.py
        ``input_waiting``). Textual's queue (``textual._queue.Queue``, private) keeps them
        in a deque ``values``; were that to change, each waiting message reads as
        ``None``, i.e. as input (tests/test_tui_pacing.py fails then)."""
        waiting = vars(self._message_queue).get("values")
        return tuple(waiting) if waiting is not None else (None,) * self.message_queue_size

    def after_slice(self) -> None:
        """After each simulation slice (a tick): fold what it traced into what the panes
        read (the log's facts, the elections, the flags, the message index while the
        view is shown). At 100 nodes a frame used to fold every event since the last
        frame itself: ~18,000 bus messages after a second's ping burst, 15–20 ms of its
        CPU. Folded here, each slice folds its own (a few ms within its 20 ms budget's
        worth of simulation) and the frame draws the same content from already folded
        logs. The heap is not settled here: the tick asks for that between slices
        (:meth:`settle_if_due`), and it runs in a turn of its own."""
        self.session.fold(bus=bool(self.screen_stack) and self.bus_view)

    def settle_if_due(self) -> None:
        """Queue a heap settle if the simulation made many new objects since the last
        (tui/heap.py ``SETTLE_EVENTS``), not a quarter second later all at once; it runs
        after the screen's next refresh, in a turn of its own (tui/frame_path.py)."""
        if self.live and self.heap.due(len(self.session.sim.trace)):
            self.frame_path.settle_soon()

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        """Textual's paint (every compositor update goes through here): the widgets it
        holds are on screen, and with them perhaps the redraw that waited for its paint
        (tui/frame_path.py). The screen's ``_dirty_widgets`` are those widgets (Textual
        clears them just after; private, as is ``_repaint_required``: both read only here,
        and tests/test_tui_frame_path.py fails if Textual changes them)."""
        super()._display(screen, renderable)
        self.frame_path.painted(
            screen._dirty_widgets,
            whole=isinstance(renderable, LayoutUpdate),
            empty=renderable is None,
        )

    def _repaints_due(self) -> list[Widget] | None:
        """The widgets whose repaint is yet to reach the screen (a redraw just changed
        them: Textual's ``_repaint_required``, cleared when the widget tells the screen);
        ``None`` when a modal screen is shown over the panes (its paints hold none of
        them)."""
        stack = self.screen_stack
        if not stack or stack[-1] is not stack[0]:
            return None
        screen = stack[0]
        return [
            widget
            for widget in screen.walk_children(Widget)
            if widget._repaint_required and widget.display and widget.is_attached
        ]

    def frame_drawn(self) -> None:
        """The end of a redraw (``refresh_panes``): the paint of what it changed is
        pending, so no slice runs until it is done; a settle due now (the first of all:
        the whole heap; one after a rewind, which replaced the model; one after a key's
        long jump) is queued after that paint instead of delaying it."""
        self.frame_path.drawn(self._repaints_due())
        heap, sim = self.heap, self.session.sim
        if self.live and (not heap.frozen or heap.replaced(sim.engine) or heap.due(len(sim.trace))):
            self.frame_path.settle_soon()

    @property
    def compact(self) -> bool:
        return self.screen.has_class("compact")

    @property
    def bus_view(self) -> bool:
        """The message view is shown (``M``), in place of the slot strip and story panes."""
        return self.screen.has_class("bus")

    @property
    def graph_view(self) -> bool:
        """The cluster graph is shown (``G``), in place of the topology table."""
        return self.screen.has_class("graph")

    def visible_panes(self) -> list[str]:
        hidden: set[str] = set()
        if self.compact:
            hidden.update(STORY)
        if self.raw_view:
            hidden.update(("topology", "graph"))
        hidden.add("topology" if self.graph_view else "graph")
        if self.bus_view:
            hidden.update(("strip", *STORY))
        else:
            hidden.add("messages")
        return [p for p in PANES if p not in hidden]

    def action_move(self, delta: int) -> None:
        focused = self.focused
        pane = focused.id if focused is not None else "topology"
        if pane == "log":
            self.query_one("#log", panes.LogPane).scroll_by(-delta)
        elif pane == "strip":
            self.action_slot(delta)
        else:
            order = self.query_one("#topology", panes.TopologyPane).navigable()
            if order:
                index = order.index(self.selected) if self.selected in order else 0
                self.selected = order[(index + delta) % len(order)]

    def action_pane(self, delta: int) -> None:
        visible = self.visible_panes()
        focused = self.focused
        current = focused.id if focused is not None and focused.id in visible else visible[0]
        target = visible[(visible.index(current) + delta) % len(visible)]
        self.query_one(f"#{target}", panes.SimPane).focus()

    def action_slot(self, delta: int) -> None:
        focused = self.focused
        if self.raw_view and focused is not None and focused.id == "nodeview":
            self.query_one("#nodeview", panes.NodeViewPane).scroll_columns(delta)
            return
        strip = self.query_one("#strip", panes.StripPane)
        cells = strip.cells_wide * strip.rows  # to the first slot of the next cell
        cell = render.cell_of(self.cursor, cells)
        self.cursor = render.cell_first((cell + delta) % cells, cells)

    def on_strip_pane_hovered(self, message: panes.StripPane.Hovered) -> None:
        self.cursor = message.cursor

    def _refocus(self) -> None:
        """After a toggle: keep the focus on a pane still shown."""
        focused = self.focused
        visible = self.visible_panes()
        if focused is None or focused.id not in visible:
            self.query_one(f"#{visible[0]}", panes.SimPane).focus()

    def action_toggle_raw(self) -> None:
        self.raw_view = not self.raw_view
        self.screen.set_class(self.raw_view, "raw-nodes")  # CLUSTER NODES gets the width
        focused = self.focused
        if self.raw_view and (focused is None or focused.id in ("topology", "graph")):
            self.query_one("#nodeview", panes.SimPane).focus()

    def action_bus_view(self) -> None:
        """``M``: show the message view (focused) or put the slot strip and story back."""
        self.screen.set_class(not self.bus_view, "bus")
        if self.bus_view:
            self.query_one("#messages", panes.SimPane).focus()
        self._refocus()
        self.query_one("#messages", panes.SimPane).redraw()

    def action_graph_view(self) -> None:
        """``G``: the cluster as a graph in place of the topology table, or back."""
        self.screen.set_class(not self.graph_view, "graph")
        focused = self.focused
        if focused is not None and focused.id in ("topology", "graph"):
            self.query_one("#graph" if self.graph_view else "#topology", panes.SimPane).focus()
        self._refocus()
        self.query_one("#graph", panes.SimPane).redraw()

    # ------------------------------------------------------------------ big clusters

    def action_node_filter(self) -> None:
        """``N``: list only the nodes that match (a name, part of one, a glob, or a
        condition: fail, pfail, crashed, …); the selection jumps to the first match."""
        topology = self.query_one("#topology", panes.TopologyPane)
        current = topology.node_filter

        def done(value: str | None) -> None:
            if value is None:
                return
            topology.node_filter = NodeFilter.parse(value)
            matches = topology.navigable()
            exact = [name for name in matches if name.lower() == value.strip().lower()]
            if exact or (matches and self.selected not in matches):
                self.selected = (exact or matches)[0]
            if self.graph_view:
                self.action_graph_view()  # the filtered list is the topology table

        self.push_screen(
            PromptScreen(
                "Filter the topology (empty: every node)",
                "" if current is None else current.text,
                "names, parts of names, globs (n1?) or conditions: ok fail pfail crashed "
                "paused stopped partitioned state:fail master replica changed notable",
            ),
            done,
        )

    def action_show_all(self) -> None:
        """``A``: a big cluster's topology with every node, or collapsed again."""
        topology = self.query_one("#topology", panes.TopologyPane)
        topology.show_all = not topology.show_all

    def action_page(self, direction: int) -> None:
        """PageUp/PageDown: the focused node view's peer table, else the event log."""
        focused = self.focused
        if isinstance(focused, panes.NodeViewPane) and not self.raw_view:
            focused.scroll_peers(-direction * focused.max_peers)
        else:
            log = self.query_one("#log", panes.LogPane)
            log.scroll_by(direction * log.page)
