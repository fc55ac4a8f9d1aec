"""What may run between a frame's redraw and its paint: nothing long (issue 12).

A frame the learner sees is the panes' redraw (:meth:`tui.app.RcsimApp.refresh_panes`,
run by the frame timer or by a key) and then Textual's paint of what changed (the
screen's update timer, a few turns of the event loop later, once the widgets have told
the screen what changed). Every task that gets a turn of the loop in between delays the
paint: at 300 nodes a frame's redraw took 15–30 ms but its paint came 26–195 ms after
the redraw began (``benchmarks/bench_tui_big.py``, "frame → paint"), because the
yielding tick (tui/pacing.py) ran more simulation slices there, each folded, and a heap
settle (tui/heap.py, 10–25 ms: a full collection of what the slices made) ran after one
of them, from the settle timer, or at the start of the redraw itself.

:class:`FramePath` keeps that gap clear:

- the redraw marks a paint *pending* (:meth:`FramePath.drawn`) until the screen has
  painted every widget the redraw changed (:meth:`FramePath.painted`, called from the
  app's ``_display``, where Textual hands every compositor update to the terminal, with
  the widgets that update holds) or until :data:`PAINT_WAIT_S` passed; the tick awaits
  :meth:`FramePath.clear` before each slice, so no slice runs in the gap. (Textual's
  ``call_after_refresh`` alone cannot say when the paint was: it runs its callbacks at
  the screen's first idle moment, which can come before the widgets have reported what
  the redraw changed.)
- *its* paint, not the next one: a widget tells the screen what changed in a turn of
  its own, and the screen's update timer paints whatever widgets have told it so far,
  so the first paint after a redraw can be another widget's (one changed before the
  redraw, the header's clock) while the redraw's panes are still on their way. Released
  by that paint, the pending paint let the tick run slices and their folds before the
  frame reached the screen: the 300-node frame of 75 ms (three slices inside, each
  folded with a spill look of 28 ms; docs/benchmarks.md). So the redraw names the
  widgets it changed (:meth:`FramePath.drawn`), each paint crosses off those it holds,
  and the frame is painted when none is left (or a whole-screen update came).
- a heap settle is never run directly: :meth:`FramePath.settle_soon` queues it with the
  screen's ``call_after_refresh``, so it runs in a turn of its own, and when a paint is
  pending then, it waits for that paint and is queued again after it: never inside a
  redraw, never between a redraw and its paint. One is queued at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection
from typing import Protocol

from textual.app import ScreenStackError

PAINT_WAIT_S = 0.25
"""Longest a pending paint holds the slices and settles: a redraw that changed nothing is
not painted (rare: the header's clock changes whenever the simulation moved); a loaded
host's paint of a 300-node screen can come 100–150 ms after its redraw."""


class Refreshing(Protocol):
    """A Textual message pump (the app's current screen)."""

    def call_after_refresh(self, callback: Callable[[], object]) -> bool: ...


class Painter(Protocol):
    """What the frame path needs of the app (Textual's ``App``)."""

    @property
    def screen(self) -> Refreshing: ...


class FramePath:
    """The gap between a redraw and its paint, kept free of slices and settles."""

    def __init__(self, app: Painter, settle: Callable[[], object]) -> None:
        self._app = app
        self._settle = settle  # the heap's work (tui/app.py ``_settle``)
        self._painted = asyncio.Event()
        self._painted.set()
        self._since = 0.0  # the last redraw not painted yet
        self._waiting: set[object] | None = None  # its changed widgets not painted yet
        self._settle_queued = False  # a settle is queued with call_after_refresh
        self._settle_waiting = False  # a settle waits for the pending paint
        self.waits = 0  # slices that waited for a paint
        self.settles = 0
        self.paints = 0  # redraws painted (a paint that crossed off the last widget)

    @property
    def pending(self) -> bool:
        """A redraw waits for its paint (for at most :data:`PAINT_WAIT_S`)."""
        return not self._painted.is_set() and time.perf_counter() - self._since < PAINT_WAIT_S

    def drawn(self, changed: Collection[object] | None = None) -> None:
        """The panes were redrawn: the paint of the widgets it ``changed`` is pending
        (with those of an earlier redraw not painted yet). ``None``: not known (the
        panes are under a modal screen, whose paints hold none of them), so whichever
        paint comes next; none changed: nothing to paint, nothing pending."""
        if changed is not None and not changed:
            return
        if not self.pending or changed is None or self._waiting is None:
            self._waiting = None if changed is None else set(changed)
        else:
            self._waiting.update(changed)
        self._since = time.perf_counter()
        self._painted.clear()

    def painted(
        self, shown: Collection[object] = (), *, whole: bool = False, empty: bool = False
    ) -> None:
        """The screen painted the widgets ``shown`` (Textual's compositor update handed
        to the driver; ``whole``: the whole screen; ``empty``: none of them visible, so
        nothing was written); once the pending redraw's widgets are all painted, a
        settle that waited for it is queued after it."""
        if self._painted.is_set():
            return
        waiting = self._waiting
        if self.pending and not whole:
            if waiting is None:
                if empty:
                    return  # the redraw's widgets unknown: a paint that wrote something
            else:
                waiting.difference_update(shown)
                if waiting:
                    return  # another widget's paint: the redraw's is still to come
        self._waiting = None
        self.paints += 1
        self._painted.set()
        if self._settle_waiting:
            self._settle_waiting = False
            self.settle_soon()

    async def clear(self) -> None:
        """Return once no paint is pending."""
        if not self.pending:
            return
        self.waits += 1
        left = self._since + PAINT_WAIT_S - time.perf_counter()
        with contextlib.suppress(TimeoutError):  # no paint came: nothing on screen
            await asyncio.wait_for(self._painted.wait(), max(0.0, left))  # changed

    def settle_soon(self) -> None:
        """Settle the heap in a turn of its own after the screen's next refresh, and
        after the pending paint if there is one; one settle queued at a time."""
        if self._settle_queued:
            return
        if self.pending:
            self._settle_waiting = True
            return
        self._settle_queued = self._after_refresh(self._settle_now)

    def _settle_now(self) -> None:
        self._settle_queued = False
        if self.pending:  # a redraw since it was queued: after its paint
            self._settle_waiting = True
            return
        self.settles += 1
        self._settle()

    def _after_refresh(self, callback: Callable[[], object]) -> bool:
        """``callback`` after the screen's next refresh, in a turn of its own. Asked of
        the screen, not the app: the request is a message to whichever it is asked of,
        and one in the app's queue would look like input to the tick (tui/pacing.py
        ``input_waiting``), which then ends (measured: the loop idle 12–26 % of the time
        at ``max`` instead of 7 %)."""
        try:
            return self._app.screen.call_after_refresh(callback)
        except ScreenStackError:  # no screen: the app is ending
            return False
