"""Rewind checkpoints as pickles (simulator/checkpoints.py): in this process and in a
forked child, a rewind then a replay gives the byte-identical trace of an uninterrupted
run, including across injected faults; a checkpoint that could not be written costs only
a longer replay; a model that does not pickle falls back to the deep copy."""

from __future__ import annotations

import pytest

from simulator.checkpoints import DEEP_COPY, FORK_AVAILABLE, FORKED, INLINE, Snapshot
from simulator.simulation import Simulation
from simulator.trace import event_json

NT = {"cluster-node-timeout": 2000}


def _faulted(
    checkpoint_ms: int | None, background: bool = False, extras: dict[str, object] | None = None
) -> Simulation:
    """Six nodes; n1 killed at 2.5 s, n3 cut off at 7 s and healed at 11 s (injections)."""
    sim = Simulation(masters=3, replicas=1, seed=11, config=NT, checkpoint_ms=checkpoint_ms)
    if extras:
        sim.extras.update(extras)
        sim.restart_checkpoints()
    sim.checkpoint_in_background(background)
    sim.run_until(2500)
    sim.inject("kill", node="n1")
    sim.run_until(7000)
    sim.inject("partition", groups=[["n3"], ["n2", "n4", "n5", "n6"]])
    sim.run_until(11_000)
    sim.inject("heal")
    sim.run_until(16_000)
    return sim


def _lines(sim: Simulation) -> list[str]:
    return [event_json(e) for e in sim.trace.events]


@pytest.fixture(scope="module")
def straight() -> list[str]:
    return _lines(_faulted(None))


needs_fork = pytest.mark.skipif(not FORK_AVAILABLE, reason="os.fork: POSIX only")


@pytest.mark.parametrize(
    "background", [False, pytest.param(True, marks=needs_fork)], ids=[INLINE, FORKED]
)
@pytest.mark.parametrize("target", [0, 2499, 2500, 4000, 7000, 9500, 12_345])
def test_rewind_then_replay_is_byte_identical_across_the_faults(
    straight: list[str], background: bool, target: int
) -> None:
    sim = _faulted(1000, background)
    assert _lines(sim) == straight  # taking checkpoints changes nothing
    sim.rewind(target)
    assert sim.now == target and len(sim.injections) == 3
    sim.run_until(16_000)
    assert _lines(sim) == straight
    sim.rewind(target)  # twice from the same checkpoint: restoring leaves it intact
    sim.run_until(16_000)
    assert _lines(sim) == straight


@needs_fork
def test_a_forked_checkpoint_still_being_written_skips_the_next_ones(
    straight: list[str],
) -> None:
    """Checkpoints stay on the grid (model.py injects off it); the skipped ones only make
    a rewind replay further."""
    sim = _faulted(100, background=True)
    times = sim.checkpoint_times()
    assert all(t % 100 == 0 for t in times)
    assert len(times) + sim.checkpoints_skipped == 16_000 // 100 + 1
    sim.rewind(9000)
    sim.run_until(16_000)
    assert _lines(sim) == straight


@needs_fork
def test_a_checkpoint_the_child_could_not_write_costs_only_a_longer_replay(
    straight: list[str],
) -> None:
    """A lambda in the model: every pickle fails. The first checkpoint (in this process)
    falls back to a deep copy; the forked ones are lost, so the rewind restores t=0."""
    sim = _faulted(1000, background=True, extras={"unpicklable": lambda: None})
    first = sim._checkpoints[0].snapshot
    assert first.kind == DEEP_COPY
    sim.rewind(9500)
    assert sim._checkpoints[0].snapshot is first
    assert all(c.snapshot.kind == FORKED for c in sim._checkpoints[1:])
    sim.run_until(16_000)
    assert _lines(sim) == straight


def test_an_inline_checkpoint_is_one_bytes_object_and_shares_the_trace() -> None:
    sim = Simulation(masters=3, replicas=1, seed=2, config=NT, checkpoint_ms=1000)
    sim.run_until(1000)
    snapshot = sim._checkpoints[-1].snapshot
    assert snapshot.kind == INLINE and snapshot.size() > 10_000
    assert sim.checkpoint_bytes() >= snapshot.size()
    restored = snapshot.restore({"simulation": sim, "trace": sim.trace})
    assert restored["cluster"] is not sim.cluster
    assert restored["cluster"].trace is sim.trace  # shared, never copied


def test_a_snapshot_of_a_model_that_does_not_pickle_is_a_deep_copy() -> None:
    state = {"engine": object(), "cluster": [1, 2], "extras": {"f": lambda: 1}}
    snapshot = Snapshot.take(state, {}, INLINE)
    assert snapshot.kind == DEEP_COPY
    restored = snapshot.restore({})
    assert restored["cluster"] == [1, 2] and restored["cluster"] is not state["cluster"]


def test_stepping_over_two_checkpoint_times_between_two_events_takes_both(
    straight: list[str],
) -> None:
    """A checkpoint runs the events up to its time, which may include the one a step
    peeked; the step then looks again instead of running an event past the next
    checkpoint time (which used to leave that one behind and fail the next step)."""
    sim = Simulation(masters=3, replicas=1, seed=11, config=NT, checkpoint_ms=7)
    while (sim.engine.peek() or 0) < 2400:
        assert sim.step()
    times = sim.checkpoint_times()
    assert times == list(range(0, times[-1] + 1, 7)) and times[-1] > 2300
    sim.run_until(2500)
    sim.inject("kill", node="n1")
    sim.run_until(7000)
    sim.rewind(3000)
    sim.run_until(7000)
    events = _lines(sim)
    assert events == straight[: len(events)]


@needs_fork
def test_in_the_background_the_first_checkpoint_is_forked_and_checked() -> None:
    """The first checkpoint waits for the model's mode (a TUI turns forked checkpoints on
    after building) and is taken by a child, so this process never pickles the model (a
    1,000-node pickle's memo left ~2 GiB in the TUI's heap); it is waited for and good,
    because every rewind falls back on it."""
    sim = Simulation(masters=3, replicas=1, seed=11, config=NT, checkpoint_ms=1000)
    assert sim._checkpoints == []  # nothing taken while building
    sim.checkpoint_in_background()
    first = sim._checkpoints[0]
    assert (first.t, first.snapshot.kind, first.snapshot.busy) == (0, FORKED, False)
    assert first.snapshot.size() > 1000
    sim.run_until(1500)
    sim.rewind(200)  # from the first checkpoint
    sim.run_until(1500)
    assert _lines(sim) == _lines(_run_to(1500))


@needs_fork
def test_a_first_checkpoint_whose_child_did_not_finish_is_taken_again_in_this_process() -> None:
    sim = Simulation(masters=3, replicas=1, seed=11, config=NT, checkpoint_ms=1000)
    state = {"engine": sim.engine, "cluster": sim.cluster, "extras": sim.extras}
    shared: dict[str, object] = {"simulation": sim, "trace": sim.trace}
    good = Snapshot.take(state, shared, FORKED)
    assert good.kept(state, shared) is good
    lost = Snapshot.take(state, shared, FORKED)
    lost._wait()
    assert lost._file is not None
    lost._file.seek(0)
    lost._file.write(b"\x01")  # what a child killed while writing leaves
    kept = lost.kept(state, shared)
    assert kept.kind == INLINE and lost._file is None
    restored = kept.restore(shared)
    assert restored["cluster"] is not sim.cluster and restored["engine"].now == 0


def test_restarted_checkpoints_start_from_the_model_as_it_is_before_it_moves(
    straight: list[str],
) -> None:
    """restart_checkpoints (after an add-on changed the model at build time) takes the
    new first checkpoint when the model first moves: rewinding to its time keeps what was
    done to the model before, and replays the same past."""
    sim = Simulation(masters=3, replicas=1, seed=11, config=NT, checkpoint_ms=1000)
    sim.run_until(300)
    sim.restart_checkpoints()
    assert sim.checkpoint_times() == [300]
    sim.run_until(2500)
    sim.inject("kill", node="n1")
    sim.run_until(4000)
    sim.rewind(300)
    sim.run_until(4000)
    events = _lines(sim)
    assert events == straight[: len(events)] and sim.now == 4000


def _run_to(t: int) -> Simulation:
    sim = Simulation(masters=3, replicas=1, seed=11, config=NT, checkpoint_ms=None)
    sim.run_until(t)
    return sim
