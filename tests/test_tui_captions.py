"""Issue 16 item 5: every caption can be read whole.

The caption bar wraps (up to 5 rows, 4 in the compact layout) and shows every caption
of the latest millisecond; the log wraps its entries instead of cutting them with "…";
``H`` opens the whole caption history, scrollable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from simulator.scenario import load_scenario
from tests.test_tui_app import Script, goto
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.panes import LogPane
from tui.screens import CaptionsScreen


def drive(script: Script, size: tuple[int, int], lesson: str) -> RcsimApp:
    app = RcsimApp(scenario_session(lesson, playing=False), live=False, budget_s=60.0)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())
    return app


def flat(text: str) -> str:
    """Rendered rows joined back into one line of words."""
    return " ".join(text.split())


def captions(app: RcsimApp) -> list[dict[str, Any]]:
    return [e for e in app.session.sim.trace.events if e["kind"] == "caption"]


def test_every_master_crash_caption_is_whole_in_the_bar_and_the_log_at_80x24() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "20s")
        shown = captions(app)
        assert len(shown) == 6
        for event in shown:
            await goto(pilot, f"{event['t'] + 1}ms")
            bar = flat(str(app.query_one("#caption").render()))
            assert flat(event["text"]) in bar, (event["text"], bar)
            assert "…" not in bar
            # The log wraps its entries instead of cutting them with "…" (its 3 rows at
            # 80x24 may show only a long caption's end: the bar and H have it whole).
            log = str(app.query_one("#log").render())
            assert "…" not in log
            assert " ".join(event["text"].split()[-3:]) in flat(log)

    drive(script, (80, 24), "master-crash")


def test_two_captions_in_the_same_millisecond_are_both_seen_at_80x24() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "20s")
        times = [e["t"] for e in captions(app)]
        shared = min(t for t in times if times.count(t) > 1)  # pubsub: two at 1.000 s
        await goto(pilot, f"{shared + 1}ms")
        same = [e for e in captions(app) if e["t"] == shared]
        assert len(same) == 2
        bar = flat(str(app.query_one("#caption").render()))
        for event in same:  # each keeps at least its opening words in the bar
            assert flat(event["text"])[:30] in bar
        await pilot.press("H")
        screen = app.screen
        assert isinstance(screen, CaptionsScreen)
        history = flat(screen.plain)
        for event in captions(app):  # the history has every caption so far, whole
            assert flat(event["text"]) in history
        await pilot.press("escape")
        assert not isinstance(app.screen, CaptionsScreen)

    drive(script, (80, 24), "pubsub")


def test_a_caption_too_long_for_the_bar_points_to_the_history_which_scrolls() -> None:
    # The lesson's longest caption, from its file: a step at a fixed time shows its caption
    # then, so the session goes there once (not to the end of the 120-node run and back).
    step = max(load_scenario("big-cluster-reports").steps, key=lambda s: len(s.caption or ""))
    assert step.caption is not None and len(step.caption) > 400
    assert step.at is not None

    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, f"{step.at + 1}ms")
        (longest,) = [e for e in captions(app) if e["step"] == step.index]
        assert longest["t"] == step.at
        bar = str(app.query_one("#caption").render())
        assert "(H: whole captions)" in bar
        assert len(bar.splitlines()) <= 4
        await pilot.press("H")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CaptionsScreen)
        assert flat(longest["text"]) in flat(screen.plain)
        box = screen.query_one("#captions-box")
        if box.max_scroll_y:  # opened at the newest caption
            assert box.scroll_y == box.max_scroll_y

    drive(script, (80, 24), "big-cluster-reports")


def test_the_caption_bar_wraps_at_140x42() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "20s")
        for event in captions(app):
            await goto(pilot, f"{event['t'] + 1}ms")
            bar = str(app.query_one("#caption").render())
            assert flat(event["text"]) in flat(bar)
            # Scrolled so the caption is the newest line in view, the log shows it whole.
            lines = list(app.session.facts.log)
            index = max(i for i, line in enumerate(lines) if line.text == event["text"])
            pane = app.query_one("#log", LogPane)
            pane.follow()
            pane.scroll_by(len(lines) - 1 - index)
            await pilot.pause()
            assert flat("── " + event["text"]) in flat(str(pane.render()))
            pane.follow()

    drive(script, (140, 42), "replica-ranking")
