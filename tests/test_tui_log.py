"""Issue 16 items 7, 8 (forks) and 13: the event log follows or says it doesn't; a fork is
marked in it; ``s`` says which event it ran."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.test_tui_app import Script, goto
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.panes import LogPane


def drive(script: Script, size: tuple[int, int], lesson: str = "master-crash") -> RcsimApp:
    app = RcsimApp(scenario_session(lesson, playing=False), live=False, budget_s=60.0)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())
    return app


def log_pane(app: RcsimApp) -> LogPane:
    return app.query_one("#log", LogPane)


async def scrolled_then_followed(app: RcsimApp, pilot: Any) -> None:
    pane = log_pane(app)
    await goto(pilot, "5s")
    assert pane.border_subtitle == "following"
    newest = app.session.facts.log[-1].text
    assert newest.split()[0] in str(pane.render())
    await pilot.press("pageup")
    await pilot.pause()
    subtitle = str(pane.border_subtitle)
    match = re.fullmatch(r"scrolled: (\d+) newer below \(End follows\)", subtitle)
    assert match and int(match.group(1)) == pane.page
    held = str(pane.render())
    await pilot.press("space")
    app.tick(4.0)  # four simulated seconds: the failover's lines arrive
    await pilot.press("space")
    await pilot.pause()
    assert str(pane.render()) == held  # scrolled, the view holds still...
    later = re.fullmatch(r"scrolled: (\d+) newer below \(End follows\)", str(pane.border_subtitle))
    assert later and int(later.group(1)) > int(match.group(1))  # ...and counts what came
    await pilot.press("end")
    await pilot.pause()
    assert pane.border_subtitle == "following"
    assert app.session.facts.log[-1].text.split()[-1] in str(pane.render())
    await pilot.press("home")
    await pilot.pause()
    oldest = app.session.facts.log[0]
    assert oldest.text.split()[0] in str(pane.render()).splitlines()[0]
    await pilot.press("pagedown")
    await pilot.pause()
    assert pane.scrolled == max(0, len(app.session.facts.log) - 1 - pane.page)


def test_log_follows_or_says_it_is_scrolled_at_140x42() -> None:
    drive(scrolled_then_followed, (140, 42))


def test_log_follows_or_says_it_is_scrolled_at_80x24() -> None:
    drive(scrolled_then_followed, (80, 24))


def test_j_and_k_scroll_the_focused_log() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "9s")
        pane = log_pane(app)
        pane.focus()
        await pilot.press("k", "k")
        assert pane.scrolled == 2 and "2 newer below" in str(pane.border_subtitle)
        await pilot.press("j", "j")
        assert pane.scrolled == 0 and pane.border_subtitle == "following"

    drive(script, (100, 30))


def test_a_fork_is_marked_in_the_log() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "9s")
        await goto(pilot, "3s")
        app.selected = "n2"
        await pilot.press("x")
        assert app.session.forks == 1
        await pilot.pause()
        lines = list(app.session.facts.log)
        marks = [i for i, line in enumerate(lines) if line.kind == "fork"]
        assert len(marks) == 1
        mark = lines[marks[0]]
        assert mark.t == 3000 and mark.text.startswith("fork 1:")
        assert lines[marks[0] + 1].text == "n2 crashes (kill -9)"  # the fork, then its cause
        assert "fork 1:" in str(log_pane(app).render())
        await goto(pilot, "2s")  # rewound before the fork: not in the log yet
        assert not [line for line in app.session.facts.log if line.kind == "fork"]
        await goto(pilot, "4s")
        assert [line for line in app.session.facts.log if line.kind == "fork"]

    drive(script, (140, 42))


def test_s_shows_the_event_it_ran_in_words() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        seen = set()
        for _ in range(40):
            await pilot.press("s")
            await pilot.pause()
            header = str(app.query_one("#header").render())
            assert "stepped: " in header
            stepped = app.session.stepped or ""
            assert stepped and stepped in header
            assert "object at" not in stepped and "None" not in stepped and "_" not in stepped
            seen.add(stepped.split(" → ")[0])
        assert any("runs clusterCron" in s for s in seen)
        assert any(re.search(r"'s PING message reaches n\d", s) for s in seen)
        await pilot.press("space")  # playing clears it
        app.tick(0.1)
        await pilot.pause()
        assert "stepped:" not in str(app.query_one("#header").render())

    drive(script, (140, 42))


def test_s_is_readable_at_80x24() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        for _ in range(5):
            await pilot.press("s")
        await pilot.pause()
        header = " ".join(str(app.query_one("#header").render()).split())
        assert f"stepped: {app.session.stepped}" in header
        assert app.query_one("#header").size.height <= 2

    drive(script, (80, 24))
