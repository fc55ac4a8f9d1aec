"""How a live tick shares the event loop with the keys: slices back to back, yielding.

A tick used to advance the simulation once, for at most the app's budget (20 ms of each
50 ms tick period), in one synchronous call: a key pressed meanwhile waited for the
whole budget, so the budget could not grow without keys waiting longer (35 ms played
100 nodes at ~23× real time but held keys for up to 119 ms), and the loop idled for the
rest of the period (the app busy ~47 % of the wall time at ``max`` speed, 12.8× real time).

Here a tick runs the simulation in slices of about ``SLICE_BUDGET_S`` of wall time
(``Session.advance_to`` with that budget: the session's adaptive slices, at most
``MAX_SLICE_MS`` simulated ms each, tui/model.py), folds each for the panes
(``after_slice``) and gives the event loop a turn after it (``await asyncio.sleep(0)``):
the frame timer, Textual's paint and the widgets' queues run there, between slices, and
a key from the terminal's input thread (``call_soon_threadsafe``) reaches the app's
queue. A slower speed's tick ends at its target (or after ``FILL_S`` when the cluster
cannot keep up); at ``max`` speed the slices go on, ``FILL_S`` of them, a ``GAP_S``
pause, and on, so the simulation has ~90 % of the loop instead of 40 %.

The tick ends as soon as a message waits for the app (a key, a click, a resize; not a
mouse move: ``NOT_INPUT``), so a key waits at most for the slice in progress; it then holds ``HOLD_S``
before returning, so the key's handling and the repaint it asks for (Textual paints at most 60 times a
second) run without slices between their steps, and the timer's next period starts the
next tick. It ends too when the learner paused, changed the speed or went back (a key
handled in one of the loop's turns) or a breakpoint stopped it.

A frame comes first (tui/frame_path.py): once the panes were redrawn, no slice runs
until Textual has painted them (``FramePath.clear`` before each slice), and the heap
settle the slices make due is queued to run after that paint, in a turn of its own
(``settle_if_due``), never inside the tick's turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

from textual import events
from textual.message import Message
from textual.messages import InvokeLater

from tui.frame_path import FramePath
from tui.model import MAX_SPEED, MAX_SPEED_CAP, Session

FILL_S = 0.045  # wall time of slices between two pauses
GAP_S = 0.005  # the pause: the loop idles (a timer's work, the paint) before the next fill
SLICE_BUDGET_S = 0.004  # wall time per slice: what a key may wait for
HOLD_S = 0.02  # after input: no slice until the key is handled and painted (60 fps)


class Player(Protocol):
    """What a tick needs of the app (tui/app.py ``RcsimApp``)."""

    session: Session
    frame_path: FramePath

    @property
    def message_queue_size(self) -> int: ...

    def waiting_messages(self) -> Sequence[Message | None]: ...

    def after_slice(self) -> None: ...

    def settle_if_due(self) -> None: ...


def target_of(app: Player, wall_delta: float) -> int:
    """Where ``wall_delta`` of wall time takes the simulation at the current speed (at
    ``max``, further than any tick reaches: the fill's time ends it)."""
    session = app.session
    speed = MAX_SPEED_CAP if session.speed == MAX_SPEED else session.speed
    return session.now + max(1, round(wall_delta * speed * 1000))


NOT_INPUT = (events.MouseMove, InvokeLater)
"""Messages that do not end a tick: a pointer's moves (a move per cell crossed; each
ended the tick and held it ``HOLD_S``, so the simulation all but stopped while the
mouse moved, issue 12) and the callbacks Textual queues for the app while it handles
them (``call_later``: a hover's). Both are handled in the loop's turn after the slice,
as any message is; only input needs the clean turn of ``HOLD_S``."""


def input_waiting(app: Player) -> bool:
    """A message waits for the app (a key, a click, a resize), not only mouse moves and
    Textual's queued callbacks (:data:`NOT_INPUT`)."""
    if app.message_queue_size == 0:
        return False
    return any(not isinstance(message, NOT_INPUT) for message in app.waiting_messages())


async def fill(app: Player, wall_delta: float) -> None:
    """Advance toward ``wall_delta × speed`` in slices, yielding the event loop after
    each, pausing ``GAP_S`` after every ``FILL_S`` at ``max`` speed (a slower speed's
    target ends its tick first), and stopping as soon as input waits (module docstring).
    No slice runs while a redraw waits for its paint."""
    session = app.session
    await app.frame_path.clear()  # a frame drawn before this tick: painted first
    if not session.playing:
        return
    session.stepped = None
    target = target_of(app, wall_delta)
    sim, speed = session.sim, session.speed
    engine = sim.engine  # a rewind replaces it
    clock = time.perf_counter
    deadline = clock() + FILL_S
    while True:
        reached = session.advance_to(target, SLICE_BUDGET_S)
        app.after_slice()
        if input_waiting(app):
            break
        if reached or not session.playing:
            return
        if clock() < deadline:
            await asyncio.sleep(0)  # the frame, the paint, the input thread's keys
        elif speed != MAX_SPEED:
            return  # behind a slower speed: the next tick's target moves on
        else:
            await asyncio.sleep(GAP_S)
            deadline = clock() + FILL_S
            target = target_of(app, 1.0)
        app.settle_if_due()  # queued: after the next paint, in a turn of its own
        await app.frame_path.clear()  # a frame drawn in those turns: painted first
        if input_waiting(app):
            break
        if (
            not session.playing
            or sim.engine is not engine
            or session.sim is not sim
            or session.speed != speed
        ):
            return
    await asyncio.sleep(HOLD_S)  # the key's handling and its repaint run alone
