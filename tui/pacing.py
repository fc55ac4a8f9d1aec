"""How a live tick shares the event loop with the keys: slices back to back, yielding.

A tick used to advance the simulation once, for at most the app's budget (20 ms of each
50 ms tick period), in one synchronous call: a key pressed meanwhile waited for the
whole budget, so the budget could not grow without keys waiting longer (35 ms played
100 nodes at ~23× real time but held keys for up to 119 ms), and the loop idled for the
rest of the period (the app busy ~47 % of the wall time at ``max`` speed, 12.8× real time).

Here a tick that has more to run than one slice (``max`` speed, or a speed the cluster
cannot keep up with) runs slices of about ``SLICE_BUDGET_S`` of wall time each (the
session's adaptive slices, capped at ``MAX_SLICE_MS`` simulated ms: tui/model.py) for up
to ``FILL_S`` of the period, and after every slice folds it for the panes
(``after_slice``) and gives the event loop a turn (``await asyncio.sleep(0)``): the
frame timer, Textual's paint and the widgets' queues run there, between slices, and a
key from the terminal's input thread reaches the app's queue. The tick ends at once
when a message waits for the app (a key, a resize, a click), so the key's handling runs
without slices between its steps and waits at most the one slice in progress; the next
tick comes at the timer's next period. It ends too when the learner paused, changed the
speed or rewound (a key handled in a turn the loop gave) or a breakpoint stopped it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from tui.model import MAX_SPEED, MAX_SPEED_CAP, Session

FILL_S = 0.045  # wall time of slices between two pauses
GAP_S = 0.005  # the pause: the loop idles (a timer's work, the paint) before the next fill
SLICE_BUDGET_S = 0.004  # wall time per slice: what a key may wait for


class Player(Protocol):
    """What a tick needs of the app (tui/app.py ``RcsimApp``)."""

    session: Session

    @property
    def message_queue_size(self) -> int: ...

    def after_slice(self) -> None: ...


def target_of(app: Player, wall_delta: float) -> int:
    """Where ``wall_delta`` of wall time takes the simulation at the current speed (at
    ``max``, further than any tick reaches: the fill's time ends it)."""
    session = app.session
    speed = MAX_SPEED_CAP if session.speed == MAX_SPEED else session.speed
    return session.now + max(1, round(wall_delta * speed * 1000))


def input_waiting(app: Player) -> bool:
    """A message waits for the app (a key, a click, a resize)."""
    return app.message_queue_size > 0


async def fill(app: Player, wall_delta: float) -> None:
    """Advance toward ``wall_delta × speed`` in slices, yielding the event loop after
    each, pausing ``GAP_S`` after every ``FILL_S`` at ``max`` speed (a slower speed's
    target ends its tick first), and stopping as soon as input waits (module docstring)."""
    session = app.session
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
        if reached or not session.playing or input_waiting(app):
            return
        if clock() < deadline:
            await asyncio.sleep(0)  # the frame, the paint, the input thread's keys
        elif speed != MAX_SPEED:
            return  # behind a slower speed: the next tick's target moves on
        else:
            await asyncio.sleep(GAP_S)
            deadline = clock() + FILL_S
            target = target_of(app, 1.0)
        if (
            input_waiting(app)
            or not session.playing
            or sim.engine is not engine
            or session.sim is not sim
            or session.speed != speed
        ):
            return
