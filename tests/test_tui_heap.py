"""The TUI's heap policy (tui/heap.py): what is new is collected and frozen, so no
automatic collection scans the session's long-lived objects (checkpoints, trace, model);
a rewind collects the whole heap once; the app gives everything back when it ends.

Speed is measured in benchmarks/bench_tui_messages.py, not here: these tests check the
policy's behaviour (what is frozen, what is collected, what is restored).
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from tests.tui_pilot import goto
from tui.app import RcsimApp
from tui.heap import NO_AUTOMATIC_FULL, Heap
from tui.launch import scenario_session


class Cycle:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture()
def heap() -> Iterator[Heap]:
    before = gc.get_threshold()
    heap = Heap()
    try:
        yield heap
    finally:
        heap.release()
        gc.unfreeze()
        gc.set_threshold(*before)


def _dropped_cycle() -> weakref.ref[Cycle]:
    cycle = Cycle()
    return weakref.ref(cycle)  # the only strong reference dies with this frame


def test_settle_freezes_what_survives_and_stops_automatic_full_collections(heap: Heap) -> None:
    young, middle, _ = gc.get_threshold()
    model = object()
    kept = Cycle()
    heap.settle(model)
    assert gc.get_freeze_count() > 0 and heap.frozen
    assert gc.get_threshold() == (young, middle, NO_AUTOMATIC_FULL)
    assert gc.is_tracked(kept) and heap.full == 1


def test_a_cycle_dropped_after_a_settle_is_collected_by_the_next(heap: Heap) -> None:
    model = object()
    heap.settle(model)
    ref = _dropped_cycle()
    assert ref() is not None  # a cycle: reference counting alone does not free it
    heap.settle(model)
    assert ref() is None
    assert heap.full == 1  # same model: no whole-heap collection


def test_a_frozen_cycle_waits_for_a_new_model_then_goes(heap: Heap) -> None:
    model = object()
    cycle = Cycle()
    ref = weakref.ref(cycle)
    heap.settle(model)  # frozen while still referenced
    del cycle
    heap.settle(model)
    assert ref() is not None  # frozen: not scanned (the documented cost)
    assert not heap.replaced(model) and heap.replaced(object())
    heap.settle(object())  # a rewind's copy: the whole heap once
    assert ref() is None and heap.full == 2


def test_release_gives_back_the_frozen_objects_and_the_thresholds() -> None:
    before = gc.get_threshold()
    heap = Heap()
    heap.settle(object())
    heap.release()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    heap.release()  # twice is harmless
    assert gc.get_threshold() == before


def test_the_live_app_settles_at_start_and_after_a_rewind_and_releases_at_the_end() -> None:
    before = gc.get_threshold()
    session = scenario_session("master-crash", playing=False)
    app = RcsimApp(session, live=True, budget_s=60.0)
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            seen["start"] = (app.heap.full, app.heap.frozen, gc.get_freeze_count() > 0)
            await goto(pilot, "6s")  # forward: the same model
            seen["forward"] = app.heap.full
            await pilot.press("left_square_bracket")  # back 1 s: a rewind
            await pilot.pause()
            seen["rewound"] = (app.session.now, app.heap.full)

    try:
        asyncio.run(main())
        frozen_after = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen_after == 0
    assert seen["start"] == (1, True, True)
    assert seen["forward"] == 1
    assert seen["rewound"] == (5000, 2)
    assert gc.get_threshold() == before  # the app gave the collector back
