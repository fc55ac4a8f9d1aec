"""Panes over what happens: header, caption, election, clients, expectations, event log."""

from __future__ import annotations

from rich.console import RenderableType
from textual.reactive import reactive

from simulator.views import ClientView, ElectionView, LessonView
from tui import render
from tui.model import OUTCOMES
from tui.panes.base import SimPane

HeaderData = tuple[int, bool, float, int, str | None, str]
ClientsData = tuple[ClientView, tuple[tuple[str, float], ...]]
LogData = tuple[int, int, int]


class HeaderBar(SimPane[HeaderData], can_focus=False):
    """Time, play state, speed, seed, forks and the breakpoint that stopped playback."""

    def data(self) -> HeaderData:
        s = self.session
        return s.now, s.playing, s.speed, s.forks, s.break_reason, s.name

    def draw(self, data: HeaderData) -> RenderableType:
        return render.header(self.session)


class CaptionBar(SimPane[tuple[str, int | None]], can_focus=False):
    """The lesson's latest caption (or its description before the first one)."""

    LAYOUT = True

    def data(self) -> tuple[str, int | None]:
        facts = self.session.facts
        return facts.caption, facts.caption_t

    def draw(self, data: tuple[str, int | None]) -> RenderableType:
        return render.caption(self.session)


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


class ExpectationsPane(SimPane[LessonView | None]):
    """The lesson's checks as it reaches them."""

    TITLE = "expectations"
    HIDDEN_WHEN_COMPACT = True

    def data(self) -> LessonView | None:
        return self.session.sim.views.checks()

    def draw(self, data: LessonView | None) -> RenderableType:
        return render.expectations(data)


class LogPane(SimPane[LogData]):
    """The explained event log, newest last; ``scrolled`` lines back from the newest."""

    TITLE = "event log"
    scrolled: reactive[int] = reactive(0, init=False)

    def watch_scrolled(self) -> None:
        self.redraw()

    def data(self) -> LogData:
        return self.session.facts.changes, self.scrolled, max(1, self.content_size.height)

    def draw(self, data: LogData) -> RenderableType:
        _, offset, lines = data
        return render.event_log(list(self.session.facts.log), lines, offset)
