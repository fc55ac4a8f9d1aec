"""Drive the real TUI headless (App.run_test + Pilot) by simulated time, for the
tests of the slot strip, the election pane and the dialogs (issue 16, items 10-16)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.widget import Widget

from tui.app import RcsimApp
from tui.launch import scenario_session

Script = Callable[[RcsimApp, Any], Awaitable[None]]


def drive(
    lesson: str, script: Script, size: tuple[int, int] = (140, 42), out_dir: Path | None = None
) -> RcsimApp:
    """Run ``script(app, pilot)`` against the paused lesson ``lesson`` (saves and exports
    go to ``out_dir``)."""
    session = scenario_session(lesson, playing=False)
    # A generous wall budget: how far a tick goes must not depend on the machine's speed.
    app = RcsimApp(session, live=False, out_dir=out_dir, budget_s=60.0)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())
    return app


async def goto(pilot: Any, text: str) -> None:
    await pilot.press("g", *["backspace"] * 12, *text, "enter")
    await pilot.pause()


async def prompt(pilot: Any, key: str, text: str) -> None:
    """Open the dialog of ``key``, replace its prefilled line with ``text``, enter."""
    await pilot.press(key)
    await pilot.pause()
    await pilot.press("ctrl+u", *text, "enter")
    await pilot.pause()


def shown(widget: Widget) -> list[str]:
    """The lines a widget shows on screen (its content, cropped as the terminal shows it)."""
    return [widget.render_line(y).text for y in range(widget.size.height)]
