"""Nothing long between a frame's redraw and its paint (tui/frame_path.py, issue 12).

The live app, playing at ``max``: no heap settle runs inside a redraw
(``refresh_panes``) or between a redraw and the paint that shows it, and no simulation
slice runs there either; the settles and slices still happen (between frames). And
:class:`FramePath` itself, with a stand-in for Textual's ``call_after_refresh``: a
settle asked for while a paint is pending waits for it, the pending paint waits two
rounds of callbacks, a lost callback does not hold the tick for ever.

These check the order of things, not their speed (measured in
benchmarks/bench_tui_big.py: "frame to paint").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import RenderableType
from textual.screen import Screen

from tui import frame_path, heap
from tui.app import RcsimApp
from tui.frame_path import FramePath
from tui.launch import cluster_session
from tui.model import MAX_SPEED

Log = list[tuple[str, int]]  # (what, nesting depth of refresh_panes when it ran)


def _play_and_log(app: RcsimApp, seconds: float) -> Log:
    """Play at max speed for ``seconds`` of wall time, logging each redraw's start and
    end, each paint, each heap settle and each simulation slice in the order they ran."""
    log: Log = []
    depth = [0]

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            refresh, settle, advance = app.refresh_panes, app.heap.settle, app.session.advance_to
            display = app._display

            def logged_refresh() -> None:
                log.append(("redraw", depth[0]))
                depth[0] += 1
                try:
                    refresh()
                finally:
                    depth[0] -= 1
                log.append(("drawn", depth[0]))

            def logged_settle(model: object, mark: int = 0) -> float:
                log.append(("settle", depth[0]))
                return settle(model, mark)

            def logged_advance(target: int, budget: float | None = None) -> bool:
                log.append(("slice", depth[0]))
                return advance(target, budget)

            def logged_display(screen: Screen[Any], renderable: RenderableType | None) -> None:
                if renderable is not None:
                    log.append(("paint", depth[0]))
                display(screen, renderable)

            app.refresh_panes = logged_refresh  # type: ignore[method-assign]
            app.heap.settle = logged_settle  # type: ignore[method-assign]
            app.session.advance_to = logged_advance  # type: ignore[method-assign]
            app._display = logged_display  # type: ignore[method-assign]
            app.session.speed = MAX_SPEED
            app.session.playing = True
            await asyncio.sleep(seconds)
            app.session.playing = False
            await pilot.pause()

    asyncio.run(main())
    return log


def test_no_settle_or_slice_runs_between_a_redraw_and_its_paint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap, "SETTLE_EVENTS", 1)  # a settle due after every slice
    monkeypatch.setattr(frame_path, "PAINT_WAIT_S", 60.0)  # a slow host never expires it
    session = cluster_session(3, 1, seed=1, playing=False)
    session.sim.run_until(1000)
    log = _play_and_log(RcsimApp(session, live=True), 1.0)

    assert [what for what, depth in log if what == "settle" and depth > 0] == []
    windows = 0
    gap: list[str] | None = None  # what ran since the last redraw, until its paint
    for what, _ in log:
        if what == "redraw":
            gap = []
        elif what == "paint":
            if gap is not None:
                windows += 1
                assert "settle" not in gap and "slice" not in gap, gap
            gap = None
        elif gap is not None and what != "drawn":
            gap.append(what)
    kinds = [what for what, _ in log]
    assert windows >= 3  # frames drawn and painted while playing
    assert kinds.count("settle") >= 2 and kinds.count("slice") >= 10  # between frames


class _Textual:
    """A stand-in for the app's screen and its ``call_after_refresh``: callbacks queued
    during a round run in the next round."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], object]] = []

    @property
    def screen(self) -> _Textual:
        return self

    def call_after_refresh(self, callback: Callable[[], object]) -> bool:
        self.queued.append(callback)
        return True

    def round(self) -> None:
        batch, self.queued = self.queued, []
        for callback in batch:
            callback()


def test_a_settle_waits_for_the_pending_paint_then_runs_in_a_turn_of_its_own() -> None:
    textual = _Textual()
    settled: list[bool] = []
    path = FramePath(textual, lambda: settled.append(path.pending))
    path.settle_soon()
    path.drawn()  # a redraw after the settle was queued, before its turn
    textual.round()  # the settle's turn: the redraw is not painted yet
    assert path.pending and settled == [] and textual.queued == []
    textual.round()  # the screen idle again before the paint (the widgets still busy)
    assert settled == []
    path.painted()
    assert not path.pending and settled == []  # not inside the paint
    textual.round()  # after it
    assert settled == [False]
    path.settle_soon()
    path.settle_soon()  # one queued at a time
    textual.round()
    assert settled == [False, False] and textual.queued == []
    path.drawn()
    path.settle_soon()  # asked for while a paint is pending: after it
    textual.round()
    assert settled == [False, False]
    path.painted()
    textual.round()
    assert settled == [False, False, False]


def test_a_tick_waits_for_a_pending_paint_but_not_for_one_that_never_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> None:
        textual = _Textual()
        path = FramePath(textual, lambda: None)
        path.drawn()
        waiter = asyncio.create_task(path.clear())
        await asyncio.sleep(0)
        textual.round()
        await asyncio.sleep(0)
        assert not waiter.done()  # the screen's idle moments are not the paint
        path.painted()
        await asyncio.wait_for(waiter, 1.0)
        assert path.waits == 1

        monkeypatch.setattr(frame_path, "PAINT_WAIT_S", 0.05)
        unchanged = FramePath(_Textual(), lambda: None)
        unchanged.drawn()  # a redraw that changed nothing on screen: no paint
        await asyncio.wait_for(unchanged.clear(), 1.0)  # released after PAINT_WAIT_S
        assert not unchanged.pending

    asyncio.run(main())


def test_a_frame_is_painted_by_its_own_paint_not_by_another_widgets() -> None:
    """The screen paints whatever widgets have told it they changed: a paint of a widget
    changed before the redraw can come while the redraw's panes are still on their way
    to the screen. That paint does not release the redraw's pending paint (it did: the
    tick then ran slices before the frame was on screen, docs/benchmarks.md); the
    panes' own paint does."""
    session = cluster_session(3, 1, seed=1, playing=False)
    session.sim.run_until(1000)
    app = RcsimApp(session, live=False)
    seen: dict[str, object] = {}

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            screen = app.screen
            paints: list[set[str]] = []
            display = app._display

            def logged_display(shown: Screen[Any], renderable: RenderableType | None) -> None:
                if renderable is not None:
                    paints.append({str(w.id) for w in shown._dirty_widgets})
                display(shown, renderable)

            app._display = logged_display  # type: ignore[method-assign]
            caption = app.query_one("#caption")
            caption.refresh()  # changed before the redraw: told the screen first
            for _ in range(100):
                if caption in screen._dirty_widgets:
                    break
                await asyncio.sleep(0)
            assert caption in screen._dirty_widgets
            session.sim.run_for(200)
            before = app.frame_path.paints
            app.refresh_panes()
            seen["pending after the redraw"] = app.frame_path.pending
            screen._on_timer_update()  # the update timer fires first: the caption's paint
            seen["first paint"] = paints[-1] if paints else None
            seen["pending after it"] = app.frame_path.pending
            await pilot.pause()
            seen["pending after the panes' paint"] = app.frame_path.pending
            seen["frames painted"] = app.frame_path.paints - before

    asyncio.run(main())
    assert seen == {
        "pending after the redraw": True,
        "first paint": {"caption"},
        "pending after it": True,
        "pending after the panes' paint": False,
        "frames painted": 1,
    }


def test_a_pending_paint_waits_for_every_widget_the_redraw_changed() -> None:
    path = FramePath(_Textual(), lambda: None)
    topology, log, header = object(), object(), object()
    path.drawn([topology, log])
    path.painted([header])  # another widget's paint
    assert path.pending
    path.painted([topology], empty=True)  # composed but not visible: crossed off
    assert path.pending
    path.drawn([header])  # a second redraw before the first was painted: both wait
    path.painted([header])
    assert path.pending
    path.painted([log])
    assert not path.pending and path.paints == 1
    path.drawn([])  # a redraw that changed nothing: no paint to wait for
    assert not path.pending
    path.drawn([log])
    path.painted([], whole=True)  # a whole-screen update holds every widget
    assert not path.pending and path.paints == 2
    path.drawn(None)  # the redraw's widgets unknown (a modal screen over the panes)
    path.painted([header], empty=True)  # nothing written: not the paint
    assert path.pending
    path.painted([header])
    assert not path.pending and path.paints == 3
