"""The event log of a big cluster (issue 12): a wave of identical verdicts is one line
that grows in place, ``enter`` in the focused log lists who said it, a lesson's log is
unchanged, and the log builds only the entries it shows."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, overload

from rich.text import Text

from tests.test_tui_big import at, big_app, drive
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.panes import LogPane
from tui.render_log import event_log
from tui.trace_facts import LogLine


def log_text(app: RcsimApp) -> str:
    pane = app.query_one("#log", LogPane)
    drawn = pane.draw(pane.data())
    assert isinstance(drawn, Text)
    return drawn.plain


def test_sixty_nodes_log_a_failure_as_a_line_per_wave_and_enter_lists_who() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        session = app.session
        await at(app, pilot, 500)
        session.inject("kill", node="n1")
        await at(app, pilot, 3000)  # some suspect n1, not all yet
        [pfail] = [line for line in session.facts.log if line.kind == "pfail"]
        assert pfail.group is not None and 1 < pfail.group.count < 59
        growing = pfail.text
        assert growing.startswith(f"PFAIL about n1 reached {pfail.group.count} nodes")
        await at(app, pilot, 6000)
        log = list(session.facts.log)
        # One line each for the waves, not 59 of each; the same line grew in place.
        assert [line.kind for line in log].count("pfail") == 1
        assert [line.kind for line in log].count("fail") == 1
        assert pfail.text != growing and pfail.text.startswith("PFAIL about n1 reached 59 nodes")
        [fail] = [line for line in log if line.kind == "fail"]
        assert fail.group is not None and fail.group.told > 0
        assert fail.text.startswith("FAIL about n1 reached 59 nodes")
        assert f"({fail.group.told} told by a FAIL message); first: " in fail.text
        trace_fails = [e for e in session.sim.trace.events if e["kind"] == "fail"]
        assert len(trace_fails) == 59  # the trace keeps every event
        assert len(log) < 20
        pane = app.query_one("#log", LogPane)
        pane.scroll_by(len(log) - 1 - log.index(fail))  # the FAIL wave's line at the bottom
        await pilot.pause()
        shown = " ".join(log_text(app).split())
        assert shown.endswith("masters agree)") and "FAIL about n1 reached 59 nodes" in shown
        assert "in order:" not in shown
        pane.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert pane.expanded
        shown = " ".join(log_text(app).split())
        last = fail.group.members()[-1][0]
        assert shown.endswith(f" {last}") and not shown.endswith("masters agree)")
        await pilot.press("enter")
        await pilot.pause()
        assert not pane.expanded and "in order:" not in log_text(app)
        # A rewind rebuilds the same lines.
        texts = [line.text for line in session.facts.log]
        session.seek(2000)
        app.refresh_panes()
        assert not [line for line in session.facts.log if line.kind == "fail"]
        await at(app, pilot, 6000)
        assert [line.text for line in session.facts.log] == texts

    drive(big_app(), script)


def test_a_lesson_of_six_nodes_logs_every_verdict_as_before() -> None:
    session = scenario_session("master-crash", playing=False)
    assert session.facts.verdicts is None
    session.seek(12_000)
    session.fold()
    fails = [e for e in session.sim.trace.events if e["kind"] == "fail"]
    logged = [line for line in session.facts.log if line.kind == "fail"]
    assert len(logged) == len(fails) > 1 and all(line.group is None for line in logged)


class Counted(Sequence[LogLine]):
    """A log that counts the entries read."""

    def __init__(self, lines: list[LogLine]) -> None:
        self.lines = lines
        self.read: set[int] = set()

    def __len__(self) -> int:
        return len(self.lines)

    @overload
    def __getitem__(self, index: int) -> LogLine: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[LogLine]: ...
    def __getitem__(self, index: int | slice) -> LogLine | Sequence[LogLine]:
        assert isinstance(index, int)  # the view reads entry by entry
        self.read.add(index)
        return self.lines[index]


def test_the_log_builds_only_the_entries_it_shows() -> None:
    lines = [LogLine(t, f"event number {t}", "info", "crash") for t in range(2000)]
    log = Counted(lines)
    text = event_log(log, 10, offset=500, width=80)
    assert text.plain.splitlines()[-1].endswith("event number 1499")
    assert len(text.plain.splitlines()) == 10
    assert log.read == set(range(1490, 1500))
    assert event_log(deque(lines), 10, 500, 80).plain == text.plain
