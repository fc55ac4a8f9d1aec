"""The scenario driver: steps run as engine events, in the documented order and timing,
survive checkpoints and rewind, and fail clearly (never with a traceback)."""

from __future__ import annotations

import copy

import pytest

from simulator.harness.runner import WAIT_POLL_MS, build, driver_of, run, run_to_end
from simulator.scenario import parse_scenario
from simulator.simulation import RewindError, Simulation
from tests.conftest import CRASH_CLUSTER

CRASH = (
    "name: crash\nseed: 4\n"
    + CRASH_CLUSTER
    + """steps:
  - at: 1s
    kill: n1
    caption: n1 dies
  - wait_for: {promoted: n4}
    timeout: 20s
    caption: wait
  - after: 500ms
    expect: {role: {n4: master}}   # not cluster_state: the others turn ok ~40 ms later (§4.5)
run_until: 12s
expect:
  - role: {n4: master}
"""
)


def _scenario(text: str = CRASH):
    return parse_scenario(text, "t.yaml")


def _outcome(driver) -> list[tuple]:
    return [(r.kind, r.step, r.condition, r.passed, r.at, r.observed) for r in driver.results]


def test_steps_are_engine_events_and_the_driver_lives_in_extras() -> None:
    sim = build(_scenario())
    driver = sim.extras["driver"]
    assert driver_of(sim) is driver
    assert sim.engine.peek() is not None
    assert driver.results == []
    run_to_end(sim)
    assert driver.done and driver.passed
    assert sim.now == 12_000


def test_caption_event_carries_the_step_index() -> None:
    sim = run(_scenario())
    captions = sim.trace.of_kind("caption")
    waited = next(r for r in driver_of(sim).results if r.kind == "wait_for")
    assert [(e["t"], e["text"], e["step"]) for e in captions][:2] == [
        (1000, "n1 dies", 0),
        (waited.at, "wait", 1),
    ]


def test_a_step_that_only_waits_shows_its_caption_when_the_wait_ends() -> None:
    """The caption of a wait explains its outcome ("…so n4 is master"): it must not
    appear before the awaited event; a step with an action captions the action."""
    sim = run(_scenario())
    promoted = sim.trace.first("promoted", node="n4")
    caption = sim.trace.first("caption", text="wait")
    assert promoted is not None and caption is not None
    assert promoted["t"] <= caption["t"] < promoted["t"] + WAIT_POLL_MS
    crash = sim.trace.first("crash", node="n1")
    dies = sim.trace.first("caption", text="n1 dies")
    assert crash is not None and dies is not None and dies["t"] == crash["t"] == 1000


def test_wait_for_is_checked_every_10_ms_and_after_counts_from_previous_start() -> None:
    sim = run(_scenario())
    driver = driver_of(sim)
    waited = next(r for r in driver.results if r.kind == "wait_for")
    promoted = sim.trace.first("promoted", node="n4")
    assert promoted is not None
    assert (waited.at - 1000) % WAIT_POLL_MS == 0
    assert promoted["t"] <= waited.at < promoted["t"] + WAIT_POLL_MS
    expect = next(r for r in driver.results if r.kind == "expect")
    # `after: 500ms` counts from the start of the previous step (the wait started at 1 s),
    # but a step never starts before the previous one finished.
    assert expect.at == max(1000 + 500, waited.at)


def test_wait_for_timeout_is_a_failed_expectation() -> None:
    text = CRASH.replace("promoted: n4}", "promoted: n5}").replace("20s", "3s")
    driver = driver_of(run(_scenario(text)))
    failed = [r for r in driver.results if not r.passed]
    assert failed[0].kind == "wait_for"
    assert failed[0].observed.startswith("timed out;")
    assert "n4 was promoted instead" in failed[0].observed
    assert failed[0].at == 1000 + 3000
    assert failed[0].loc.startswith("t.yaml:")


def test_unregistered_data_plane_action_fails_with_the_step_position() -> None:
    text = """
name: w
cluster: {masters: 3}
clients: [{name: app, rate: 0/s}]
steps:
  - at: 1s
    write: {key: k, client: app}
"""
    sim = build(parse_scenario(text, "w.yaml"))
    sim._actions.pop("write", None)  # as before the data plane registers it
    driver = run_to_end(sim)
    assert not driver.passed
    assert driver.errors == [
        "w.yaml:7:5: write: the action 'write' is not available (no data plane registered it)"
    ]


def test_refused_action_fails_the_step_and_the_run_goes_on() -> None:
    text = """
name: twice
cluster: {masters: 3, replicas: 1}
steps:
  - at: 1s
    kill: n1
  - kill: n1
  - after: 1s
    expect: {role: {n4: replica}}
"""
    driver = driver_of(run(parse_scenario(text, "x.yaml")))
    assert [r.kind for r in driver.results] == ["action", "expect"]
    assert driver.results[0].observed == "n1 is not running"
    assert driver.errors == ["x.yaml:7:5: kill: n1 is not running"]


def test_until_cuts_the_run_and_reports_unreached_steps() -> None:
    sim = run(_scenario(), until=500)
    driver = driver_of(sim)
    assert sim.now == 500
    assert driver.not_reached() == [0, 1, 2]
    assert [r.kind for r in driver.results] == ["final"]


def test_default_end_is_five_seconds_after_the_last_step() -> None:
    text = """
name: tail
cluster: {masters: 3}
steps:
  - at: 2s
    caption: hi
"""
    sim = run(parse_scenario(text, "t.yaml"))
    assert sim.now == 7000


def test_rewind_replays_the_steps_identically() -> None:
    straight = run(_scenario())
    sim = build(_scenario(), checkpoint_ms=1000)
    sim.run_until(6000)
    sim.rewind(1500)
    run_to_end(sim)
    assert _outcome(driver_of(sim)) == _outcome(driver_of(straight))
    assert sim.trace.events == straight.trace.events


def test_rewind_to_zero_keeps_the_scenario() -> None:
    straight = run(_scenario())
    sim = build(_scenario(), checkpoint_ms=2000)
    sim.run_until(4000)
    sim.rewind(0)
    run_to_end(sim)
    assert sim.trace.events == straight.trace.events


def test_a_headless_run_keeps_no_checkpoint_and_refuses_to_rewind() -> None:
    sim = run(_scenario())
    assert not sim.rewindable
    assert sim.checkpoint_times() == []
    with pytest.raises(RewindError, match="checkpoint_ms=None"):
        sim.rewind(1000)
    rewindable = build(_scenario(), checkpoint_ms=2000)
    rewindable.run_until(4000)
    assert rewindable.checkpoint_times() == [0, 2000, 4000]


def test_a_100_node_simulation_checkpoints_and_rewinds_to_the_same_past() -> None:
    # Deep copies of the socket graph used to recurse past Python's limit from ~60 nodes.
    straight = Simulation(masters=50, replicas=1, seed=3, checkpoint_ms=None)
    sim = Simulation(masters=50, replicas=1, seed=3)
    assert sim.checkpoint_ms == 10_000  # 100 ms per node above 50 nodes
    for run_ in (straight, sim):
        run_.run_until(1_000)
        run_.inject("kill", node="n2")
        run_.run_until(21_000)
    assert sim.checkpoint_times() == [0, 10_000, 20_000]
    sim.rewind(12_000)
    sim.run_until(21_000)
    assert sim.trace.events == straight.trace.events
    assert any(e["kind"] == "pfail" for e in sim.trace.events)


def test_driver_deep_copies_with_the_model() -> None:
    sim = build(_scenario())
    sim.run_until(1200)
    state = copy.deepcopy({"engine": sim.engine, "extras": sim.extras}, {id(sim): sim})
    assert state["extras"]["driver"] is not sim.extras["driver"]
    assert state["extras"]["driver"].scenario is sim.extras["driver"].scenario


def test_seed_argument_overrides_the_file() -> None:
    assert run(_scenario(), seed=9).seed == 9
    assert run(_scenario()).seed == 4
