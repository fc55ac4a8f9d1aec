"""Modal screens for what a learner reads at length: the lesson's verdict and the
caption history. Both scroll (arrows, PageUp/PageDown, Home/End) and close on escape."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class _Reading(ModalScreen[None]):
    """A scrollable text with a bold title; escape (or the key that opened it) closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss", "close"),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "edge(-1)", "top", show=False),
        Binding("end", "edge(1)", "bottom", show=False),
    ]
    BOX_ID = "reading-box"

    def __init__(self, title: str, body: Text, *, at_end: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.at_end = at_end

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box", id=self.BOX_ID):
            yield Static(Text(self.title_text, style="bold"), classes="reading-title")
            yield Static(self.body, classes="reading-body")

    def on_mount(self) -> None:
        box = self.query_one(f"#{self.BOX_ID}", VerticalScroll)
        box.focus()
        if self.at_end:
            box.scroll_end(animate=False)

    def action_page(self, direction: int) -> None:
        box = self.query_one(f"#{self.BOX_ID}", VerticalScroll)
        if direction < 0:
            box.scroll_page_up(animate=False)
        else:
            box.scroll_page_down(animate=False)

    def action_edge(self, direction: int) -> None:
        box = self.query_one(f"#{self.BOX_ID}", VerticalScroll)
        if direction < 0:
            box.scroll_home(animate=False)
        else:
            box.scroll_end(animate=False)

    @property
    def plain(self) -> str:
        return f"{self.title_text}\n{self.body.plain}"


class VerdictScreen(_Reading):
    """The lesson's verdict and every check (playback paused until it is dismissed)."""

    BOX_ID = "verdict-box"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("v", "dismiss", "close", show=False)]

    def __init__(self, body: Text) -> None:
        super().__init__("The verdict (escape closes; space then plays on)", body)


class CaptionsScreen(_Reading):
    """Every caption so far, whole, newest last (opened scrolled to the newest)."""

    BOX_ID = "captions-box"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("H", "dismiss", "close", show=False)]

    def __init__(self, body: Text) -> None:
        super().__init__("Every caption so far (escape closes)", body, at_end=True)


class TimelineScreen(_Reading):
    """The run so far as a picture: node states over time, faults, captions (``T``)."""

    BOX_ID = "timeline-box"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("T", "dismiss", "close", show=False)]

    def __init__(self, body: Text) -> None:
        super().__init__("The run so far (escape closes)", body)
