"""``q`` with injections not saved asks first: save / quit without saving / cancel
(issue 16 item 17). Driven with Pilot by simulated time, like tests/test_tui_app.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.modals import ChoiceScreen

Script = Callable[[RcsimApp, Any], Awaitable[None]]


def drive(script: Script, tmp: Path) -> RcsimApp:
    session = scenario_session("master-crash", playing=False)
    app = RcsimApp(session, live=False, out_dir=tmp, budget_s=60.0)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())
    return app


async def crash_n2(app: RcsimApp, pilot: Any) -> None:
    app.selected = "n2"
    await pilot.press("x")
    await pilot.pause()
    assert app.session.unsaved


def test_q_without_injections_quits_at_once(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen)
        assert app.return_code is not None or not app.is_running

    drive(script, tmp_path)


def test_q_with_unsaved_injections_asks_and_cancel_keeps_the_session(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await crash_n2(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("c")  # cancel
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen)
        assert app.is_running
        await pilot.press("q", "escape")  # escape cancels too
        await pilot.pause()
        assert app.is_running and not list(tmp_path.glob("*.yaml"))

    drive(script, tmp_path)


def test_q_then_save_writes_the_file_and_quits(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await crash_n2(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()

    app = drive(script, tmp_path)
    assert len(list(tmp_path.glob("*.yaml"))) == 1
    assert not app.session.unsaved
    assert app.return_code == 0


def test_q_then_quit_without_saving_quits(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await crash_n2(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()

    app = drive(script, tmp_path)
    assert not list(tmp_path.glob("*.yaml"))
    assert app.return_code == 0


def test_saving_with_s_then_q_quits_without_asking(tmp_path: Path) -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await crash_n2(app, pilot)
        await pilot.press("S")
        await pilot.pause()
        assert not app.session.unsaved
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen)

    drive(script, tmp_path)
