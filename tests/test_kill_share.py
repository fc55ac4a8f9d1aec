"""``kill-masters``: a share of the masters crashed at once, chosen from the seed; each is
a fault with its milestones, and the sweep's ``recovery`` spans all of them."""

from __future__ import annotations

import random

import pytest

from simulator.harness.report import metrics
from simulator.harness.runner import run
from simulator.harness.sweep import recovery_ms, run_one
from simulator.kill_share import share_count
from simulator.scenario import parse_scenario
from simulator.simulation import ActionError, Simulation

TEXT = """\
name: mass failure, small
cluster:
  masters: 8
  replicas: 1
  config: {cluster-node-timeout: 1000}
steps:
  - at: 1s
    kill-masters: SHARE
  - wait_for: {cluster_state: ok, covered: true}
    timeout: 20s
run_until: 12s
"""


def scenario(share: str = "25%") -> str:
    return TEXT.replace("SHARE", share)


def crashed(sim: Simulation) -> list[str]:
    return [e["node"] for e in sim.trace.events if e["kind"] == "crash"]


@pytest.mark.parametrize(
    ("share", "candidates", "count"),
    [(0.25, 8, 2), (0.1, 8, 1), (0.001, 1000, 1), (0.33, 100, 33), (0.5, 5, 3), (1.0, 7, 7)],
)
def test_the_share_is_the_nearest_whole_count_at_least_one(share, candidates, count) -> None:
    assert share_count(share, candidates) == count


def test_a_share_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match="not in"):
        share_count(0.0, 10)


def test_the_killed_masters_are_drawn_from_the_seed_and_each_is_a_fault() -> None:
    parsed = parse_scenario(scenario("25%"), "s.yaml")
    first = run(parsed, 7)
    again = run(parsed, 7)
    victims = crashed(first)
    assert victims == crashed(again)
    assert len(victims) == 2 and all(v in {f"n{i}" for i in range(1, 9)} for v in victims)
    # Their kills happen in the same millisecond; every other node lives on.
    assert len({e["t"] for e in first.trace.events if e["kind"] == "crash"}) == 1
    driver = first.extras["driver"]
    assert driver.passed, [r for r in driver.results if not r.passed]
    assert [f.node for f in driver.faults] == victims
    failovers = metrics(first, driver)["failovers"]
    assert all(f["promoted"] is not None and f["all_ok"] is not None for f in failovers)
    # One election per orphaned replica: none split the votes, none had to retry (§11.4).
    started = [e for e in first.trace.events if e["kind"] == "election_started"]
    assert len(started) == len(victims)
    # Other seeds choose other masters (the draw is the seed's, not a fixed list).
    chosen = {tuple(crashed(run(parsed, seed))) for seed in (1, 2, 3, 4)}
    assert len(chosen) > 1


def test_the_draw_uses_a_stream_of_its_own() -> None:
    """kill-masters moves no other random stream: killing the same masters one by one
    with 'kill' at the same moment gives the same trace."""

    def cluster() -> Simulation:
        sim = Simulation(
            masters=6, replicas=1, seed=3, checkpoint_ms=None, config={"cluster-node-timeout": 1000}
        )
        sim.run_until(1000)
        return sim

    share = cluster()
    victims = share.inject("kill-masters", share=0.33)
    share.run_until(6000)
    by_hand = cluster()
    for name in victims:
        by_hand.inject("kill", node=name)
    by_hand.run_until(6000)
    assert len(victims) == 2
    assert by_hand.trace.events == share.trace.events
    assert sum(e["kind"] == "promoted" for e in share.trace.events) == 2


def test_recovery_spans_the_first_pfail_to_the_last_all_ok() -> None:
    row = run_one(scenario("33%"), "s.yaml", 5)
    sim = run(parse_scenario(scenario("33%"), "s.yaml"), 5)
    failovers = metrics(sim, sim.extras["driver"])["failovers"]
    assert len(failovers) == 3
    first_pfail = min(f["at"] + f["first_pfail"] for f in failovers)
    last_ok = max(f["at"] + f["all_ok"] for f in failovers)
    assert row["recovery"] == recovery_ms(failovers) == last_ok - first_pfail > 0
    # The first failed master's own milestones stay as they were.
    assert row["first_pfail"] == failovers[0]["first_pfail"]


def test_recovery_is_none_when_a_failed_master_is_never_replaced() -> None:
    failovers = [
        {"at": 1000, "first_pfail": 1000, "all_ok": 3000},
        {"at": 1000, "first_pfail": 1100, "all_ok": None},
    ]
    assert recovery_ms(failovers) is None
    assert recovery_ms([]) is None


def test_inject_returns_the_victims_and_refuses_when_no_master_serves_slots() -> None:
    sim = Simulation(masters=4, replicas=0, seed=2, checkpoint_ms=None)
    victims = sim.inject("kill-masters", share=0.5)
    assert len(victims) == 2 and sorted(victims) == victims
    assert all(not sim.cluster.nodes[v].alive for v in victims)
    sim.inject("kill-masters", share=1.0)
    with pytest.raises(ActionError, match="no live master serves slots"):
        sim.inject("kill-masters", share=0.5)


def test_the_choice_is_a_sample_of_the_slot_serving_masters() -> None:
    from simulator.kill_share import choose_masters

    class Node:
        def __init__(self, name: str, master: bool, alive: bool, slots: int) -> None:
            self.name, self.is_master, self.alive, self.slots = name, master, alive, slots

        def my_slots(self) -> list[int]:
            return list(range(self.slots))

    nodes = [
        Node("a", True, True, 10),
        Node("b", True, False, 10),  # dead
        Node("c", False, True, 0),  # replica
        Node("d", True, True, 0),  # empty master
        Node("e", True, True, 5),
    ]
    assert choose_masters(nodes, 1.0, random.Random(1)) == ["a", "e"]
    assert choose_masters(nodes, 0.5, random.Random(1)) in (["a"], ["e"])


def test_with_half_the_masters_dead_fail_is_never_reached() -> None:
    """FAIL needs reports from a majority of the masters that serve slots, dead ones
    included (§8.3): with 4 of 8 dead, the 4 survivors are never enough, so no replica
    may start an election and the run never recovers (Valkey's "50 %" was 499 of 1,000)."""
    row = run_one(scenario("50%"), "s.yaml", 1)
    sim = run(parse_scenario(scenario("50%"), "s.yaml"), 1)
    assert len(crashed(sim)) == 4
    assert [e for e in sim.trace.events if e["kind"] == "pfail"]
    assert not [e for e in sim.trace.events if e["kind"] in ("fail", "promoted")]
    # Each survivor reaches 4 of 8 masters, fewer than 5: the minority rule (§14) says fail.
    states = {e["node"]: e["state"] for e in sim.trace.events if e["kind"] == "cluster_state"}
    assert len(states) == 12 and set(states.values()) == {"fail"}
    assert row["recovery"] is None
    assert sim.extras["driver"].not_reached() == [1]  # still waiting for all ok at the end
