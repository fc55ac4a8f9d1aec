"""Issue 16 item 12: breakpoints read on/off without colour; the FAIL breakpoint stops
once per FAIL episode and names the first node that marked FAIL; the expectation
breakpoint names the expectation."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.test_tui_app import Script, goto, kinds
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.modals import BreakpointScreen
from tui.model import BREAKPOINTS
from tui.words import check_text


def drive(script: Script, size: tuple[int, int] = (140, 42)) -> RcsimApp:
    app = RcsimApp(scenario_session("master-crash", playing=False), live=False, budget_s=60.0)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())
    return app


def rows(screen: BreakpointScreen) -> list[str]:
    options = screen.query_one("#breakpoints")
    return [str(options.get_option_at_index(i).prompt) for i in range(len(BREAKPOINTS))]


def test_breakpoints_read_on_and_off_in_text_at_80x24() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("B")
        screen = app.screen
        assert isinstance(screen, BreakpointScreen)
        shown = rows(screen)
        assert shown[0] == f"[ ] {BREAKPOINTS['fail']}"
        assert shown[-1] == f"[x] {BREAKPOINTS['end']}"  # on by default in a lesson
        await pilot.press("space")
        assert rows(screen)[0] == f"[x] {BREAKPOINTS['fail']}"
        await pilot.press("space")
        assert rows(screen)[0] == f"[ ] {BREAKPOINTS['fail']}"
        await pilot.press("down", "space", "enter")
        assert app.session.breakpoints == {"state", "end"}

    drive(script, (80, 24))


def test_the_fail_breakpoint_stops_once_per_episode_naming_the_first_observer() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("B", "space", "enter")
        await pilot.press("space", "m")
        for _ in range(200):
            app.tick(0.05)
            if not app.session.playing:
                break
        first = kinds(app, "fail")[0]
        assert app.session.now == first["t"]
        assert app.session.break_reason == f"{first['node']} is the first to mark n1 FAIL"
        assert first["node"] in str(app.query_one("#header").render())
        # Play on: the other observers mark n1 FAIL in the same moment; no second stop.
        await pilot.press("space")
        for _ in range(20):
            app.tick(0.05)
            if not app.session.playing:
                break
        assert len(kinds(app, "fail")) > 1
        assert app.session.break_reason is None or "FAIL" not in app.session.break_reason

    drive(script)


def test_the_expectation_breakpoint_names_the_expectation_below_110x32() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "3s")
        app.selected = "n2"
        await pilot.press("x")  # no majority can mark n1 FAIL any more
        await pilot.press("B", "down", "down", "down", "space", "enter")
        assert "expect" in app.session.breakpoints
        await pilot.press("space", "m")
        for _ in range(60):
            app.tick(0.05)
            if not app.session.playing:
                break
        driver = app.session.driver
        assert driver is not None
        failed = [r for r in driver.results if not r.passed]
        assert failed
        reason = app.session.break_reason or ""
        assert (
            reason
            == f"expectation failed: {failed[-1].condition}: {check_text(failed[-1].expected)}"
        )

    drive(script, (100, 30))
