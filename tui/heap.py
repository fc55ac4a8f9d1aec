"""Keeping CPython's full garbage collections out of the frames and the keys.

Profiled with ``benchmarks/bench_tui_messages.py`` (issue 14, docs/benchmarks.md): the
TUI's worst frames and keys, with or without the message view, were CPython's
generation-2 collections, which scan every object the collector tracks: 150–220 ms at
6 nodes after a few minutes of play, 800–900 ms at 100 nodes. Almost all of those
objects live as long as the session: the trace's events, the live model and Textual's
widgets (the rewind checkpoints were deep copies of the model, a million objects each at
100 nodes; they are pickles now, one bytes object each or a file a forked child wrote:
simulator/checkpoints.py); a full collection finds next to nothing among them (at most
a few thousand objects of hundreds of thousands).

:func:`gc.freeze` moves every tracked object to a permanent generation that no
collection scans (what it is for: objects that live long). :meth:`Heap.settle`, called
by the app four times a second (``SETTLE_S``), collects what is not frozen yet (what the
last quarter second made: milliseconds) and freezes what survived, so an automatic
collection never scans the old heap again; automatic collections stop at generation 1
meanwhile (:data:`NO_AUTOMATIC_FULL`). Frozen objects are still freed by reference
counting when they are dropped; only garbage *cycles* among them would wait. A rewind
drops such cycles (the live model it replaces), so the first settle after a rewind (or
the first of all) unfreezes and collects the whole heap once: a one-time cost taken with
the rewind key, which already unpickles a checkpoint and replays up to it.

A settle's cost is the new objects it scans, and with the bus traced (the message view)
a 100-node simulation makes about 200,000 long-lived objects per simulated second (each
``bus_message`` event's gossip entries are lists). A quarter second of play at maximum
speed, or a key's long jump, left for the next timed settle made one collection of
40–55 ms inside a frame; the app also settles as soon as the trace grew by
:data:`SETTLE_EVENTS` (:meth:`Heap.due`, checked between a tick's slices and after each
redraw), so no settle scans much more than that.

No settle runs inside a frame: the app never calls :meth:`Heap.settle` directly but
queues it after the screen's next refresh, in a turn of the event loop of its own
(tui/frame_path.py), so the timer's, the trace growth's, the first and a rewind's all
come after the paint pending then (at 300 nodes a settle is 10–25 ms, the first or a
rewind's whole-heap collection 1–2 s).
:meth:`Heap.release` gives everything back to the collector when the app ends.
"""

from __future__ import annotations

import gc
import time

NO_AUTOMATIC_FULL = 1_000_000_000
"""The generation-2 threshold while the app runs: automatic collections stop at
generation 1 (young objects, a few thousand at most); :meth:`Heap.settle` makes the full
ones, each over what the last quarter second left (without it, an automatic full collection
would scan everything not frozen yet several times)."""


SETTLE_EVENTS = 2_000
"""Trace events after which the app settles without waiting for its timer: at 100 nodes
with every bus message traced, about 0.1 s of simulated time, ~20,000 new objects, a few
ms to collect."""


class Heap:
    """The app's use of :func:`gc.freeze`: settle what is new, re-collect after a rewind."""

    def __init__(self) -> None:
        self._model: object | None = None  # the live model frozen last (sim.engine)
        self._thresholds: tuple[int, int, int] | None = None  # as they were before the app
        self.frozen = False
        self.settles = 0
        self.full = 0  # whole-heap collections (the first settle, then one per rewind)
        self.full_s = 0.0  # wall seconds the last whole-heap collection took
        self._mark = 0  # the trace's length at the last settle

    def replaced(self, model: object) -> bool:
        """Whether ``model`` is not the one frozen last (a rewind restored a copy)."""
        return self.frozen and model is not self._model

    def due(self, mark: int) -> bool:
        """Whether the trace (``mark``: its length now) grew by :data:`SETTLE_EVENTS`
        since the last settle (or was cut back: a rewind)."""
        return self.frozen and abs(mark - self._mark) >= SETTLE_EVENTS

    def settle(self, model: object, mark: int = 0) -> float:
        """Collect what is not frozen and freeze the rest; the whole heap first when
        ``model`` (the simulation's engine, replaced by every rewind) changed. ``mark``:
        the trace's length now (for :meth:`due`). Returns the wall seconds it took."""
        start = time.perf_counter()
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)
        whole = model is not self._model
        if whole:
            gc.unfreeze()
            self._model = model
            self.full += 1
        gc.collect()
        gc.freeze()
        self.frozen = True
        self._mark = mark
        self.settles += 1
        took = time.perf_counter() - start
        if whole:
            self.full_s = took
        return took

    def release(self) -> None:
        """Hand every frozen object back to the collector (the app is ending)."""
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
            self._model = None
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
