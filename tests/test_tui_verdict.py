"""Issue 16 item 4: the lesson's verdict is seen at every size.

At the lesson's end playback pauses and a scrollable verdict lists every check; every
check result (and the verdict) also reaches the event log, which the compact layout
keeps; the expectations pane puts the verdict first so it is never scrolled away.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.test_tui_app import Script, goto
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.screens import VerdictScreen
from tui.words import check_line, check_text, seconds


def drive(script: Script, size: tuple[int, int], lesson: str = "master-crash") -> RcsimApp:
    app = RcsimApp(scenario_session(lesson, playing=False), live=False, budget_s=60.0)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())
    return app


async def play_to_the_end(app: RcsimApp, pilot: Any) -> None:
    await pilot.press("space", "m")
    for _ in range(400):
        app.tick(0.05)
        await pilot.pause()
        if not app.session.playing:
            break


def test_playing_to_the_end_pauses_on_a_scrollable_verdict_with_every_check() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await play_to_the_end(app, pilot)
        driver = app.session.driver
        assert driver is not None and driver.done
        assert not app.session.playing
        screen = app.screen
        assert isinstance(screen, VerdictScreen)
        text = screen.plain
        assert "lesson over: all 9 checks hold" in text
        assert sum(text.count(mark) for mark in ("PASS ", "FAIL ")) == len(driver.results) == 9
        # Scrollable where it does not fit: the box scrolls to its last line.
        box = screen.query_one("#verdict-box")
        await pilot.press("end")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        await pilot.press("escape")
        assert not isinstance(app.screen, VerdictScreen)
        await pilot.press("space")  # plays on after the verdict, which is not shown twice
        app.tick(0.5)
        await pilot.pause()
        assert not isinstance(app.screen, VerdictScreen)

    drive(script, (140, 42))


def test_the_verdict_is_shown_in_the_compact_layout_too() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert app.compact
        await play_to_the_end(app, pilot)
        screen = app.screen
        assert isinstance(screen, VerdictScreen)
        await pilot.pause()
        driver = app.session.driver
        assert driver is not None
        assert "lesson over: all 13 checks hold" in screen.plain
        for result in driver.results:
            assert f"{result.condition}: {check_text(result.expected)}" in screen.plain
        await pilot.press("v")  # the key that opens it also closes it
        assert not isinstance(app.screen, VerdictScreen)

    drive(script, (80, 24), "manual-failover")


def test_a_verdict_taller_than_the_screen_scrolls() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await play_to_the_end(app, pilot)
        screen = app.screen
        assert isinstance(screen, VerdictScreen)
        await pilot.pause()
        box = screen.query_one("#verdict-box")
        assert box.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert box.scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert box.scroll_y == 0

    drive(script, (80, 16), "manual-failover")


def test_every_check_result_and_the_verdict_reach_the_log_below_110x32() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        assert app.compact and not app.query_one("#middle").display
        await goto(pilot, "25s")  # jumping past the end: no modal, but the log has it all
        assert not isinstance(app.screen, VerdictScreen)
        driver = app.session.driver
        assert driver is not None and driver.done
        lines = list(app.session.facts.log)
        checks = [line.text for line in lines if line.kind == "check"]
        assert checks == [check_line(r) for r in driver.results]
        assert lines[-1].text == "lesson over: all 9 checks hold"
        await pilot.press("l")  # focus moves off the topology: the log is the last pane
        app.query_one("#log").focus()
        await pilot.press("home")  # the first check is in the log, reachable by scrolling
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert "lesson over: all 9 checks hold" in str(app.query_one("#log").render())

    drive(script, (100, 30))


def test_the_expectations_pane_puts_the_verdict_first_at_140x42() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "25s")
        text = str(app.query_one("#expect").render())
        assert text.splitlines()[0].startswith("lesson over: all 9 checks hold")
        assert "earlier checks (v: all of them)" in text  # 9 checks do not fit 6 rows
        await pilot.press("v")
        assert isinstance(app.screen, VerdictScreen)

    drive(script, (140, 42))


def test_a_failed_lesson_says_which_checks_failed() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "3s")
        app.selected = "n2"
        await pilot.press("x")  # no majority can mark n1 FAIL: the lesson's checks fail
        await play_to_the_end(app, pilot)
        screen = app.screen
        assert isinstance(screen, VerdictScreen)
        driver = app.session.driver
        assert driver is not None
        failed = [r for r in driver.results if not r.passed]
        assert failed
        assert f"lesson over: {len(failed)} of {len(driver.results)} checks failed" in screen.plain
        assert all(f"FAIL {seconds(r.at)} {r.condition}" in screen.plain for r in failed)

    drive(script, (140, 42))
