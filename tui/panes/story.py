"""Panes over what happens: header, caption, election, clients, expectations, event log."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from simulator.views import ClientView, ElectionView, LessonView
from tui import render, render_log
from tui.model import OUTCOMES, Session
from tui.panes.base import SimPane

HeaderData = tuple[int, bool, float, int, str | None, str, str | None]
CaptionData = tuple[int, int | None, int, int]
ClientsData = tuple[ClientView, tuple[tuple[str, float], ...]]
ExpectData = tuple[LessonView | None, int]
LogData = tuple[int, int, int, int, bool]
ALL_CHECKS = 10_000  # the verdict and the pane read every check, not the newest few
CAPTION_ROWS = 5
CAPTION_ROWS_COMPACT = 4


class HeaderBar(SimPane[HeaderData], can_focus=False):
    """Time, play state, speed, seed, forks, the breakpoint that stopped playback and
    what ``s`` stepped (a second row when one is not enough)."""

    LAYOUT = True

    def __init__(self, session: Session, *, id: str, classes: str = "pane") -> None:
        super().__init__(session, id=id, classes=classes)
        self._shape: tuple[int, int] | None = None  # (rows, width) at the last layout

    def data(self) -> HeaderData:
        s = self.session
        return s.now, s.playing, s.speed, s.forks, s.break_reason, s.name, s.stepped

    def draw(self, data: HeaderData) -> RenderableType:
        return render.header(self.session)

    def resized_by(self, drawn: RenderableType) -> bool:
        """Only when its rows may change (one, or two when the text is wider than the
        bar, ``max-height: 2``) or the bar's width did: the time changes every frame,
        and a layout of the whole screen per frame cost ~2 ms of a 100-node frame."""
        assert isinstance(drawn, Text)
        width = self.content_size.width
        rows = 1 if cell_len(drawn.plain.rstrip()) <= width else 2
        shape, self._shape = self._shape, (rows, width)
        return shape != self._shape


class CaptionBar(SimPane[CaptionData], can_focus=False):
    """The lesson's latest caption, whole (wrapped; every caption of that millisecond),
    or its description before the first one; ``H`` opens the history."""

    LAYOUT = True

    def data(self) -> CaptionData:
        facts = self.session.facts
        rows = CAPTION_ROWS_COMPACT if self.compact else CAPTION_ROWS
        # The bar's own width is the screen's (less the padding): the content may be empty.
        width = max(20, self.screen.size.width - 2)
        return len(facts.captions), facts.caption_t, width, rows

    def draw(self, data: CaptionData) -> RenderableType:
        _, _, width, rows = data
        return render.caption(self.session, width, rows)


class ElectionPane(SimPane[ElectionView | None]):
    """The newest election: candidates by rank, their votes and delays (§11)."""

    TITLE = "election"
    HIDDEN_WHEN_COMPACT = True

    def data(self) -> ElectionView | None:
        return self.session.sim.views.election()

    def draw(self, data: ElectionView | None) -> RenderableType:
        return render.election(data)


class ClientsPane(SimPane[ClientsData]):
    """Requests per second and in total by outcome, and lost acknowledged writes."""

    TITLE = "clients"
    HIDDEN_WHEN_COMPACT = True

    def data(self) -> ClientsData:
        session = self.session
        view = session.sim.views.clients(OUTCOMES, dict(session.facts.outcomes))
        return view, tuple(session.request_rates().items())

    def draw(self, data: ClientsData) -> RenderableType:
        view, rates = data
        return render.clients(view, dict(rates))


class ExpectationsPane(SimPane[ExpectData]):
    """The lesson's checks as it reaches them; the verdict on top once it is over."""

    TITLE = "expectations"
    HIDDEN_WHEN_COMPACT = True

    def data(self) -> ExpectData:
        return self.session.sim.views.checks(ALL_CHECKS), max(1, self.content_size.height)

    def draw(self, data: ExpectData) -> RenderableType:
        view, rows = data
        return render.expectations(view, rows)


class LogPane(SimPane[LogData]):
    """The explained event log, newest last. It follows the newest lines until scrolled;
    scrolled, it holds still and its subtitle counts the newer lines below. A big
    cluster's waves of verdicts are a line each; ``enter`` (focused) lists who said it."""

    TITLE = "event log"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "expand", "event log (focused): who said a grouped line", show=False),
    ]
    scrolled: reactive[int] = reactive(0, init=False)  # entries below the view
    expanded: reactive[bool] = reactive(False, init=False)  # waves list their nodes

    def __init__(self, session: Session, *, id: str, classes: str = "pane") -> None:
        super().__init__(session, id=id, classes=classes)
        self._appended = session.facts.appended  # lines the view has accounted for
        self.border_subtitle = "following"

    def watch_scrolled(self) -> None:
        self.redraw()

    def watch_expanded(self) -> None:
        self.redraw()

    def action_expand(self) -> None:
        self.expanded = not self.expanded

    @property
    def page(self) -> int:
        return max(1, self.content_size.height - 1)

    def scroll_by(self, delta: int) -> None:
        """``delta`` entries towards older (positive) or newer (negative) ones."""
        self._hold_still()
        self.scrolled = max(0, min(self.scrolled + delta, len(self.session.facts.log) - 1))

    def follow(self) -> None:
        self.scrolled = 0

    def oldest(self) -> None:
        self.scroll_by(len(self.session.facts.log))

    def _hold_still(self) -> None:
        """New lines arrived: a scrolled view keeps showing the same ones."""
        facts = self.session.facts
        new = facts.appended - self._appended
        self._appended = facts.appended
        if self.scrolled and new > 0:
            self.set_reactive(LogPane.scrolled, min(self.scrolled + new, len(facts.log) - 1))

    def data(self) -> LogData:
        self._hold_still()
        below = self.scrolled
        self.border_subtitle = (
            "following" if not below else f"scrolled: {below} newer below (End follows)"
        )
        size = self.content_size
        height, width = max(1, size.height), max(20, size.width)
        return self.session.facts.changes, below, height, width, self.expanded

    def draw(self, data: LogData) -> RenderableType:
        _, offset, lines, width, expanded = data
        return render_log.event_log(self.session.facts.log, lines, offset, width, expanded)
