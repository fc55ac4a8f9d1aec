"""A big cluster's busy millisecond is cut by the slice's deadline (issue 12): at 300
nodes one simulated millisecond holds 3,000-7,000 events (250-400 ms of CPU), and a
slice of at least one whole millisecond held a key for all of it. After a millisecond
that took longer than ``DENSE_S`` the session steps the next ones event by event and
stops inside one when the deadline passes; the simulation is the same."""

from __future__ import annotations

import json

import pytest

from tui import model
from tui.launch import cluster_session
from tui.model import DENSE_S, Session


class Clock:
    """A wall clock that moves ``step`` seconds at every reading."""

    def __init__(self, step: float) -> None:
        self.t = 0.0
        self.step = step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def _session() -> Session:
    session = cluster_session(5, 1, seed=2, playing=False)
    session.sim.run_until(500)
    session.inject("kill", node="n1")
    return session


def test_a_slow_millisecond_makes_the_next_ones_stepped_and_cut_inside() -> None:
    session = _session()
    sim = session.sim
    session.clock = Clock(DENSE_S * 2)  # every millisecond looks slow
    cut_inside = 0
    while sim.now < 3000:
        before = sim.engine.events_run
        session.advance_to(3000, budget=DENSE_S)
        assert sim.engine.events_run > before  # every slice makes progress
        pending = sim.engine.peek()
        if pending is not None and pending <= sim.now + 1 and sim.engine.instant == sim.now:
            cut_inside += 1  # stopped with events of the same millisecond still due
    assert session._dense and cut_inside > 10
    reference = _session()
    reference.sim.run_until(3000)
    assert json.dumps(sim.trace.events) == json.dumps(reference.sim.trace.events)


def test_quick_milliseconds_run_whole_as_before() -> None:
    session = _session()
    session.clock = Clock(DENSE_S / 100)
    sim, steps = session.sim, []
    step = sim.step

    def counted() -> bool:
        steps.append(1)
        return step()

    sim.step = counted  # type: ignore[method-assign]
    assert session.advance_to(1000, budget=10.0)
    assert not session._dense and sim.now == 1000 and steps == []  # the engine's own loop


def test_a_slice_of_whole_milliseconds_is_cut_inside_one_by_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before any slow millisecond (the session not stepping yet), a slice still stops
    within ``CUT_EVENTS`` events of its deadline, inside a millisecond if need be: a
    1,000-node burst of 19,698 trace events in 2 ms ran as one slice, 3.5 s of CPU, a
    key waiting for all of it (docs/benchmarks.md). The same trace as a run without
    slices."""
    monkeypatch.setattr(model, "CUT_EVENTS", 2)
    session = _session()
    sim = session.sim
    session.clock = Clock(1.0)  # the deadline passed at the first reading after the start
    cut_whole = 0  # stopped inside a millisecond while not stepping event by event
    while sim.now < 1500:
        before, dense = sim.engine.events_run, session._dense
        session.advance_to(1500, budget=0.5)
        ran = sim.engine.events_run - before
        assert ran > 0
        pending = sim.engine.peek()
        if not dense and pending is not None and pending <= sim.now:
            assert ran <= 2
            cut_whole += 1
        session._dense_until = -1  # never step: the engine's own loop every time
    assert cut_whole > 10
    reference = _session()
    reference.sim.run_until(1500)
    assert json.dumps(sim.trace.events) == json.dumps(reference.sim.trace.events)


def test_a_slice_reaching_a_checkpoint_time_stops_at_its_end() -> None:
    """``Simulation.run_events`` runs a stretch holding a checkpoint time whole, taking
    the checkpoint, and no event after its end: the same trace as ``run_until``. (A first
    version stepped there and ran one event past its end in ``bench_tui_speed`` at the
    10 s checkpoint of 100 nodes; this small cluster does not reproduce that case.)"""
    session = _session()
    sim = session.sim
    due = (sim.now // sim.checkpoint_ms + 1) * sim.checkpoint_ms
    sim.run_until(due - 2)
    assert sim.run_events(due, 10**6)  # events at due - 1, then the checkpoint time
    pending = sim.engine.peek()
    assert sim.now == due and (pending is None or pending > due)
    assert due in sim.checkpoint_times()
    reference = _session()
    reference.sim.run_until(due)
    assert json.dumps(sim.trace.events) == json.dumps(reference.sim.trace.events)


def test_heavy_events_are_run_one_at_a_time_with_the_clock_read_after_each() -> None:
    """A batch of ``CUT_EVENTS`` events that took over ``HEAVY_S`` (a 300-node cron
    pinging 299 peers is 12-16 ms of CPU, four of them held a key for 54 ms) makes the
    session step, the clock read after every event: a slice whose deadline has passed
    at the first reading after its start runs exactly one event. The same trace."""
    session = _session()
    sim = session.sim
    session.clock = Clock(model.HEAVY_S * 2)  # every batch looks heavy, no slice dense
    session.advance_to(2000, budget=model.HEAVY_S * 3)
    assert session._dense  # the first batch was heavy
    singles = batches = 0
    while sim.now < 900:
        before, dense = sim.engine.events_run, session._dense
        session.advance_to(2000, budget=model.HEAVY_S * 3)
        ran = sim.engine.events_run - before
        if dense:
            assert ran == 1
            singles += 1
        else:  # HEAVY_HOLD_MS passed: one batch, found heavy again
            assert ran <= model.CUT_EVENTS and session._dense
            batches += 1
    assert singles > 100 and singles > 10 * batches
    sim.run_until(2000)
    reference = _session()
    reference.sim.run_until(2000)
    assert json.dumps(sim.trace.events) == json.dumps(reference.sim.trace.events)
