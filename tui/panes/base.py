"""The pane base: a widget that owns what it shows and redraws itself when that changes.

Each pane names the data it draws (:meth:`SimPane.data`: frozen views from
``sim.views`` plus its own state: selection, cursor, size) and how to draw it
(:meth:`SimPane.draw`, a call into the pure :mod:`tui.render`). It redraws when the app
bumps ``version`` (the simulation moved), when one of its own reactive attributes
changes, or when it is resized, and skips the widget update when the data equals
what it drew last (Toolong's ``log_view.py``: reactive attributes and ``watch_*``).
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from rich.console import RenderableType
from textual import events
from textual.reactive import reactive
from textual.widgets import Static

from tui.model import Session

T = TypeVar("T")


class _Nothing:
    """Drawn nothing yet (never equal to any data)."""


NOTHING = _Nothing()


class SimPane(Static, Generic[T], can_focus=True):
    """A focusable, bordered pane over one part of the simulation."""

    TITLE: ClassVar[str] = ""
    LAYOUT: ClassVar[bool] = False  # whether an update may change the pane's size
    HIDDEN_WHEN_COMPACT: ClassVar[bool] = False

    version: reactive[int] = reactive(0, init=False, repaint=False)  # redraw() repaints

    def __init__(self, session: Session, *, id: str, classes: str = "pane") -> None:
        super().__init__(id=id, classes=classes)
        self.session = session
        self._drawn: T | _Nothing = NOTHING
        if self.TITLE:
            self.border_title = self.TITLE

    @property
    def compact(self) -> bool:
        return self.screen.has_class("compact")

    def data(self) -> T:
        """Everything the pane's content depends on (comparable)."""
        raise NotImplementedError

    def draw(self, data: T) -> RenderableType:
        raise NotImplementedError

    def redraw(self) -> None:
        """Draw again if the data changed since the last draw."""
        if not self.is_mounted or (self.HIDDEN_WHEN_COMPACT and self.compact):
            return
        data = self.data()
        if data == self._drawn:
            return
        self._drawn = data
        drawn = self.draw(data)
        self.update(drawn, layout=self.LAYOUT and self.resized_by(drawn))

    def resized_by(self, drawn: RenderableType) -> bool:
        """Whether showing ``drawn`` may change the pane's size (a ``LAYOUT`` pane's
        update then lays the screen out again); by default always."""
        return True

    def watch_version(self) -> None:
        self.redraw()

    def on_resize(self, event: events.Resize) -> None:
        self.redraw()
