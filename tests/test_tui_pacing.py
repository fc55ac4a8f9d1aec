"""A live tick's slices and the keys (tui/pacing.py): the tick gives the event loop a
turn after every slice, stops after the slice in progress as soon as a message waits
for the app (posted in the loop, or from the terminal's input thread), stops when the
learner paused or rewound in one of those turns, and at ``max`` speed keeps playing
past one fill, pausing between fills.

Speed and latency are measured in benchmarks/bench_tui_speed.py and
bench_tui_messages.py, not here: these tests check the schedule (what runs when).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from textual import events

from tui import pacing
from tui.app import RcsimApp
from tui.launch import cluster_session
from tui.model import MAX_SPEED


def _app() -> RcsimApp:
    session = cluster_session(3, 1, seed=1, playing=False)
    session.sim.run_until(1000)
    return RcsimApp(session, live=False)


def _run(app: RcsimApp, body: Callable[[RcsimApp], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.session.playing = True
            app.session.speed = MAX_SPEED
            await body(app)

    asyncio.run(main())


def _counting(app: RcsimApp, on_slice: Callable[[int], None]) -> list[int]:
    """Count the session's slices (``advance_to`` calls); ``on_slice(n)`` after the n-th."""
    session = app.session
    advance = session.advance_to
    calls = [0]

    def counted(target: int, budget: float | None = None) -> bool:
        reached = advance(target, budget)
        calls[0] += 1
        on_slice(calls[0])
        return reached

    session.advance_to = counted  # type: ignore[method-assign]
    return calls


def test_a_key_posted_during_a_slice_ends_the_tick_after_that_slice() -> None:
    app = _app()
    key = events.Key("j", "j")
    calls = _counting(app, lambda n: n == 3 and app.post_message(key))

    async def body(app: RcsimApp) -> None:
        await pacing.fill(app, 0.05)
        assert calls[0] == 3  # no slice after the one the key came in, nor while it held
        assert app.session.playing

    _run(app, body)


def test_a_key_from_the_input_thread_ends_the_tick_after_one_turn_of_the_loop() -> None:
    """The terminal's driver posts from its own thread (``call_soon_threadsafe``): the
    key reaches the app's queue in the loop's next turn, which the tick gives it."""
    app = _app()
    key = events.Key("j", "j")

    def post_from_a_thread(n: int) -> None:
        if n == 2:
            thread = threading.Thread(target=app.post_message, args=(key,))
            thread.start()
            thread.join()

    calls = _counting(app, post_from_a_thread)

    async def body(app: RcsimApp) -> None:
        await pacing.fill(app, 0.05)
        assert calls[0] == 2

    _run(app, body)


def _move(x: int) -> events.MouseMove:
    return events.MouseMove(None, x, 5, 1, 0, 0, False, False, False, screen_x=x, screen_y=5)


def test_mouse_moves_do_not_end_the_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pointer crossing the screen posts a move per cell; each ended the tick and held
    it ``HOLD_S`` (the simulation all but stopped while the mouse moved). Moves from the
    input thread during slices 1-4 leave the tick running until the learner's pause
    (handled after slice 8). On a loaded host another of Textual's messages can come
    first (once, beside a benchmark: after slice 3): the tick may end for it, never for
    moves alone."""
    app = _app()
    ended_for: list[list[str]] = []
    waiting = pacing.input_waiting

    def recorded(app: RcsimApp) -> bool:
        if waiting(app):
            ended_for.append([type(m).__name__ for m in app.waiting_messages()])
            return True
        return False

    monkeypatch.setattr(pacing, "input_waiting", recorded)

    def on_slice(n: int) -> None:
        if n <= 4:
            thread = threading.Thread(target=app.post_message, args=(_move(n),))
            thread.start()
            thread.join()
        elif n == 8:
            app.session.playing = False

    calls = _counting(app, on_slice)

    async def body(app: RcsimApp) -> None:
        await pacing.fill(app, 0.05)
        assert calls[0] == 8 or set(ended_for[-1]) - {"MouseMove"}

    _run(app, body)


def test_waiting_messages_are_the_app_queue_s_own() -> None:
    """``input_waiting`` reads the messages in Textual's queue (a private deque of its
    ``asyncio.Queue``): posted and not yet handled, they are there, in order."""
    app = _app()

    async def body(app: RcsimApp) -> None:
        move, key = _move(3), events.Key("j", "j")
        app.post_message(move)
        assert not pacing.input_waiting(app)
        app.post_message(key)
        assert list(app.waiting_messages())[-2:] == [move, key]
        assert pacing.input_waiting(app)

    _run(app, body)


def test_the_loop_gets_a_turn_between_slices_and_a_pause_there_ends_the_tick() -> None:
    app = _app()
    turns: list[int] = []
    calls = _counting(app, lambda n: None)

    async def other_task() -> None:  # a timer's work (the frame, the paint)
        while calls[0] < 4:
            turns.append(calls[0])
            await asyncio.sleep(0)
        app.session.playing = False  # the learner's space, handled between slices

    async def body(app: RcsimApp) -> None:
        task = asyncio.create_task(other_task())
        await pacing.fill(app, 0.05)
        await task
        assert calls[0] == 4  # stopped by the pause, not by its time
        assert {1, 2, 3} <= set(turns)  # a turn after each slice

    _run(app, body)


def test_a_rewind_between_slices_ends_the_tick() -> None:
    app = _app()
    session = app.session
    calls = _counting(app, lambda n: None)
    seen: list[int] = []

    async def rewind_after_two() -> None:
        while calls[0] < 2:
            await asyncio.sleep(0)
        session.seek(500)  # `g` back: the engine is restored from a checkpoint (and
        seen.append(calls[0])  # replayed to 500 ms with one advance of its own)

    async def body(app: RcsimApp) -> None:
        task = asyncio.create_task(rewind_after_two())
        await pacing.fill(app, 0.05)
        await task
        assert calls[0] == seen[0] and session.now == 500  # no slice after the rewind

    _run(app, body)


def test_at_max_speed_a_tick_plays_on_past_one_fill_pausing_between_fills() -> None:
    app = _app()
    times: list[float] = []
    calls = _counting(app, lambda n: times.append(asyncio.get_running_loop().time()))

    async def stop_later() -> None:
        """Pause once the tick has played two fills and more than three slices: by what
        it did, not by a wall time, which a loaded host's slow slices overran (3 slices
        in 3 fills' time once, on a CI run beside a test suite)."""
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline and not (
            len(times) > 3 and times[-1] - times[0] > 2 * pacing.FILL_S
        ):
            await asyncio.sleep(pacing.GAP_S / 5)
        app.session.playing = False

    async def body(app: RcsimApp) -> None:
        task = asyncio.create_task(stop_later())
        await pacing.fill(app, 0.05)
        await task
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) >= pacing.GAP_S  # paused between fills
        assert times[-1] - times[0] > 2 * pacing.FILL_S  # and played on after the pause

    _run(app, body)
    assert calls[0] > 3


def test_a_slower_speed_ends_its_tick_at_its_target() -> None:
    """At 1× a 50 ms tick plays 50 simulated ms and stops there: no slice after the one
    that reached the target. (One slice usually suffices; a loaded host's first slice
    can end on its 4 ms budget first, so the count is not asserted, the stop is.)"""
    app = _app()
    session = app.session
    advance = session.advance_to
    reached: list[bool] = []

    def recorded(target: int, budget: float | None = None) -> bool:
        reached.append(advance(target, budget))
        return reached[-1]

    session.advance_to = recorded  # type: ignore[method-assign]

    async def body(app: RcsimApp) -> None:
        app.session.speed = 1.0
        start = app.session.now
        await pacing.fill(app, 0.05)
        assert app.session.now == start + 50
        assert reached[-1] and not any(reached[:-1])  # stopped at the first that got there

    _run(app, body)
