"""Snapshot tests of the TUI at a fixed size (pytest-textual-snapshot).

Regenerate after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the SVGs it writes under tests/__snapshots__/.
"""

from __future__ import annotations

from typing import Any

from tui.app import RcsimApp
from tui.launch import scenario_session

SIZE = (120, 40)


def lesson_app() -> RcsimApp:
    return RcsimApp(scenario_session("master-crash", playing=False), live=False, budget_s=60.0)


def test_main_screen_during_the_failover(snap_compare: Any) -> None:
    app = lesson_app()

    async def before(pilot: Any) -> None:
        # Just after n4 asks for votes (found by event, so a model change moves the moment
        # with it; the times shown still change, so regenerate the SVGs then).
        app.session.seek(8000)
        started = next(e["t"] for e in app.session.sim.trace if e["kind"] == "election_started")
        app.session.seek(started + 1)
        app.refresh_panes()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_node_view_of_a_replica_that_lost_its_master(snap_compare: Any) -> None:
    app = lesson_app()

    async def before(pilot: Any) -> None:
        app.session.seek(8000)
        failed = next(e["t"] for e in app.session.sim.trace if e["kind"] == "fail")
        app.session.seek(failed + 1)  # n1 just marked FAIL: the views disagree most
        app.selected = "n5"
        app.query_one("#nodeview").focus()
        app.refresh_panes()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare: Any) -> None:
    assert snap_compare(lesson_app(), terminal_size=SIZE, press=["question_mark"])
