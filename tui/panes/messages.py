"""The message view: the bus messages around the current moment, as a time-space diagram.

Shown with ``M`` (it takes the place of the slot strip and the story panes). When it is
focused: ``y`` cycles the type filter, ``z`` the node filter (``Z``: the selected node; a node sent, received,
is the subject of, or is reported PFAIL/FAIL in the message), ``w`` the heartbeats
(PFAIL reports only, all, none), ``j``/``k`` move the selection and ``d`` shows the
selected message's content. It follows the simulation: play, step and rewind redraw it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from simulator.views import Heartbeats, MessageQuery, MessageWindow
from tui.panes.base import SimPane
from tui.panes.bus_render import message_view

TYPE_FILTERS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("every type", None),
    ("FAIL", frozenset(("FAIL",))),
    ("AUTH_REQUEST/ACK", frozenset(("AUTH_REQUEST", "AUTH_ACK"))),
    ("UPDATE", frozenset(("UPDATE",))),
    ("PING/PONG", frozenset(("PING", "PONG"))),
    ("MEET", frozenset(("MEET",))),
    ("PUBLISH", frozenset(("PUBLISH", "PUBLISHSHARD"))),
    ("MFSTART", frozenset(("MFSTART",))),
)
HEARTBEATS: tuple[tuple[Heartbeats, str], ...] = (
    ("reports", "PING/PONG: PFAIL reports only"),
    ("all", "PING/PONG: all"),
    ("hide", "PING/PONG: hidden"),
)

MessageData = tuple[MessageWindow, tuple[str, ...], int, int, bool, int]


class MessagesPane(SimPane[MessageData]):
    """Bus messages up to now, newest at the bottom, filtered by type and node."""

    TITLE = "bus messages"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "types", "message view: next type filter", show=False),
        Binding("z", "node", "message view: next node filter", show=False),
        Binding("Z", "node_selected", "message view: filter by the selected node", show=False),
        Binding("w", "heartbeats", "message view: PING/PONG reports, all, none", show=False),
        Binding("d", "details", "message view: the selected message's content", show=False),
        Binding("j,down", "cursor(-1)", "message view: newer message", show=False),
        Binding("k,up", "cursor(1)", "message view: older message", show=False),
    ]

    types: reactive[int] = reactive(0, init=False)
    node: reactive[str | None] = reactive(None, init=False)
    heartbeats: reactive[int] = reactive(0, init=False)
    show_details: reactive[bool] = reactive(False, init=False)
    cursor: reactive[int] = reactive(0, init=False)  # rows up from the newest
    selected: reactive[str | None] = reactive(None, init=False)  # the app's node selection

    def redraw(self) -> None:
        if self.display:  # hidden until M shows it: costs nothing meanwhile
            super().redraw()

    def watch_types(self) -> None:
        self.cursor = 0
        self.redraw()

    def watch_node(self) -> None:
        self.cursor = 0
        self.redraw()

    def watch_heartbeats(self) -> None:
        self.redraw()

    def watch_show_details(self) -> None:
        self.redraw()

    def watch_cursor(self) -> None:
        self.redraw()

    def action_types(self) -> None:
        self.types = (self.types + 1) % len(TYPE_FILTERS)

    def action_node(self) -> None:
        names = list(self.session.sim.views.names())
        if self.node not in names:
            self.node = names[0] if names else None
        else:
            index = names.index(self.node) + 1
            self.node = names[index] if index < len(names) else None

    def action_node_selected(self) -> None:
        """``Z``: the node selected in the topology (j/k there), or no filter if it is on."""
        self.node = None if self.node == self.selected else self.selected

    def action_heartbeats(self) -> None:
        self.heartbeats = (self.heartbeats + 1) % len(HEARTBEATS)

    def action_details(self) -> None:
        self.show_details = not self.show_details

    def action_cursor(self, delta: int) -> None:
        self.cursor = max(0, min(self.cursor + delta, max(0, self._rows() - 1)))

    def _rows(self) -> int:
        """Diagram rows that fit: the lane names and the ``now`` line take two, the
        content of a selected message up to four."""
        return max(1, self.content_size.height - 2 - (4 if self.show_details else 0))

    def message_query(self) -> MessageQuery:
        return MessageQuery(
            until=self.session.now,
            rows=self._rows(),
            types=TYPE_FILTERS[self.types][1],
            node=self.node,
            heartbeats=HEARTBEATS[self.heartbeats][0],
        )

    def data(self) -> MessageData:
        views = self.session.sim.views
        window = views.messages(self.message_query())
        self.border_title = (
            f"bus messages · {TYPE_FILTERS[self.types][0]} (y)"
            f" · node {self.node or 'any'} (z) · {HEARTBEATS[self.heartbeats][1]} (w)"
            + (f" · {window.hidden} heartbeats hidden" if window.hidden else "")
        )
        return (
            window,
            views.names(),
            self.content_size.width,
            self.cursor,
            self.show_details,
            self.session.now,
        )

    def draw(self, data: MessageData) -> RenderableType:
        window, names, width, cursor, show_details, now = data
        return message_view(window, names, width, cursor, show_details, now)


__all__ = ["HEARTBEATS", "TYPE_FILTERS", "MessagesPane"]
