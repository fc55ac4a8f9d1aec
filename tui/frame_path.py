"""What may run between a frame's redraw and its paint: nothing long (issue 12).

A frame the learner sees is the panes' redraw (:meth:`tui.app.RcsimApp.refresh_panes`,
run by the frame timer or by a key) and then Textual's paint of what changed (the
screen's update timer, a few turns of the event loop later, once the screen's queue is
idle). Every task that gets a turn of the loop in between delays the paint: at 300 nodes
a frame's redraw took 15–30 ms but its paint came 26–195 ms after the redraw began
(``benchmarks/bench_tui_big.py``, "frame to paint"), because the yielding tick
(tui/pacing.py) ran more simulation slices there, each folded, and a heap settle
(tui/heap.py, 10–25 ms of a full collection of what the slices made) ran after one of
them, from the settle timer, or at the start of the redraw itself.

:class:`FramePath` keeps that gap clear:

- the redraw marks a paint *pending* (:meth:`FramePath.drawn`) and asks Textual to call
  back after the screen's next refresh (``call_after_refresh``: after the paint, or at
  idle when nothing needed one; asked twice in a row, because a callback queued just
  after a paint can run in that paint's batch, before the redraw's own paint); the tick
  awaits :meth:`FramePath.clear` before each slice, so no slice runs in the gap
  (bounded by :data:`PAINT_WAIT_S` should the callback never come: the app closing);
- a heap settle is never run directly: :meth:`FramePath.settle_soon` queues it with
  ``call_after_refresh`` too, so it runs in a turn of its own after whatever paint is
  pending (a frame's or a key's), never inside a redraw or between a redraw and its
  paint (queued again if a redraw came between the paint it waited for and its turn:
  Textual runs those callbacks after the paint even if the screen is dirty again).
  One is queued at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

PAINT_WAIT_S = 0.1
"""Longest a slice waits for a pending paint (the callback lost: the app closing)."""


class Painter(Protocol):
    """What the frame path needs of the app (Textual's ``App``)."""

    def call_after_refresh(self, callback: Callable[[], object]) -> bool: ...


class FramePath:
    """The gap between a redraw and its paint, kept free of slices and settles."""

    def __init__(self, app: Painter, settle: Callable[[], object]) -> None:
        self._app = app
        self._settle = settle  # the heap's work (tui/app.py ``_settle``)
        self._painted = asyncio.Event()
        self._painted.set()
        self._since = 0.0  # when the pending paint was asked for
        self._hops = 0  # call_after_refresh rounds the pending paint has waited
        self._settle_queued = False
        self.waits = 0  # slices that waited for a paint
        self.settles = 0  # settles run after a refresh

    @property
    def pending(self) -> bool:
        """A redraw waits for its paint."""
        return not self._painted.is_set()

    def drawn(self) -> None:
        """The panes were redrawn: their paint is pending until the screen refreshed."""
        if self.pending:
            return  # the callback asked for the last redraw comes after this one's paint
        self._since = time.perf_counter()
        if self._app.call_after_refresh(self._refreshed):
            self._painted.clear()
            self._hops = 1

    def _refreshed(self) -> None:
        """Twice: Textual runs the callbacks queued before a paint's in the batch after
        the paint before (when a redraw came between that paint and the batch's turn);
        one queued from inside a batch runs after the next paint, or at idle when
        nothing is dirty."""
        if self._hops == 1 and self._app.call_after_refresh(self._refreshed):
            self._hops = 2
        else:
            self._painted.set()

    async def clear(self) -> None:
        """Return once no paint is pending (at most :data:`PAINT_WAIT_S` after it was
        asked for)."""
        if not self.pending:
            return
        self.waits += 1
        left = self._since + PAINT_WAIT_S - time.perf_counter()
        try:
            await asyncio.wait_for(self._painted.wait(), max(0.0, left))
        except TimeoutError:
            self._painted.set()  # no paint came: the app is closing or suspended

    def settle_soon(self) -> None:
        """Settle the heap in a turn of its own after the screen's next refresh (after
        any pending paint); one settle queued at a time."""
        if not self._settle_queued:
            self._settle_queued = self._app.call_after_refresh(self._settle_now)

    def _settle_now(self) -> None:
        self._settle_queued = False
        if self.pending:  # a redraw since it was queued (Textual's callbacks after the
            self.settle_soon()  # last paint run even when the screen is dirty again)
            return
        self.settles += 1
        self._settle()
