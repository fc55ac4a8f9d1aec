"""``MIGRATE`` to a target behind a cut (issue 11 §3 item 8), against the real Redis
7.0.15 measurements in tests/data/migrate-behind-cut.json (tests/data/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.dataplane import install
from simulator.dataplane.migrate_cut import ERR_READING, ERR_WRITING, retransmissions_ms
from simulator.dataplane.model import ClusterData
from simulator.dataplane.resharding import Job
from simulator.fidelity_reshard import slot_tags
from simulator.simulation import Simulation

DATA = json.loads((Path(__file__).parent / "data" / "migrate-behind-cut.json").read_text())
SUMMARY = DATA["summary"]
NT = DATA["cluster_node_timeout_ms"]  # 5000
SLOT, WARM_SLOT = 0, 1  # slots of n1 (the source); n2 is the target


def setup(seed: int = 1) -> tuple[Simulation, ClusterData]:
    sim = Simulation(masters=3, replicas=1, seed=seed, config={"cluster-node-timeout": NT})
    dp = install(sim)
    tags = slot_tags()
    dp.populate({f"{{{tags[s]}}}:{i}": "v" for s in (SLOT, WARM_SLOT) for i in range(10)})
    sim.run_until(3000)
    return sim, dp


def move(sim: Simulation, dp: ClusterData, slot: int) -> Job:
    job = Job(dp, "reshard", moves=[(slot, "n1", "n2")], others=["n1", "n2", "n3"])
    job.start()
    return job


def run(sim: Simulation, job: Job, limit: int) -> None:
    deadline = sim.now + limit
    while not job.done and sim.now < deadline:
        sim.run_for(20)


def block_of(sim: Simulation, job: Job) -> tuple[int, str | None]:
    blocked = sim.trace.first("migrate_blocked", node="n1")
    done = [e for e in sim.trace.of_kind("reshard_done") if e["job"] == job.label]
    assert blocked is not None and done
    return done[-1]["t"] - blocked["t"], job.error


def cut_and_move(cached: bool, heal_after: int | None) -> tuple[Simulation, ClusterData, Job]:
    sim, dp = setup()
    if cached:  # the source caches a socket to the target (migrateGetSocket)
        warm = move(sim, dp, WARM_SLOT)
        run(sim, warm, 5000)
        assert warm.error is None
    sim.inject("cut", **{"from": ["n1"], "to": ["n2"]})
    sim.inject("cut", **{"from": ["n2"], "to": ["n1"]})
    sim.run_for(50)
    job = move(sim, dp, SLOT)
    if heal_after is not None:
        sim.run_for(heal_after)
        sim.inject("heal")
    run(sim, job, 200_000)
    assert job.done
    return sim, dp, job


def within(value: float, real: dict, slack: float) -> bool:
    return real["min"] * (1 - slack) <= value <= real["max"] * (1 + slack)


def test_migrate_behind_a_cut_blocks_the_source_twice_the_timeout_on_a_fresh_connection() -> None:
    sim, _, job = cut_and_move(cached=False, heal_after=None)
    blocked, error = block_of(sim, job)
    real = SUMMARY["fresh-60000"]
    assert within(blocked, real["migrate_block_ms"], 0.01), blocked
    assert error is not None and error.endswith(ERR_WRITING)
    assert real["replies"] == [ERR_WRITING]


def test_migrate_behind_a_cut_blocks_the_timeout_on_a_cached_connection() -> None:
    sim, _, job = cut_and_move(cached=True, heal_after=None)
    blocked, error = block_of(sim, job)
    real = SUMMARY["cached-60000"]
    assert within(blocked, real["migrate_block_ms"], 0.01), blocked
    assert error is not None and error.endswith(ERR_READING)
    assert real["replies"] == [ERR_READING]


def test_the_blocked_source_serves_nothing_so_its_replica_is_promoted() -> None:
    """During the block the source is as frozen as under SIGSTOP: peers flag it and
    its replica (n4) takes over, as in the measured runs with a block over NT."""
    sim, _, _ = cut_and_move(cached=False, heal_after=None)
    blocked = sim.trace.first("migrate_blocked", node="n1")
    promoted = sim.trace.first("promoted", target="n1")
    assert blocked is not None and promoted is not None
    real = SUMMARY["fresh-60000"]["source_replica_promoted_ms"]
    assert within(promoted["t"] - blocked["t"], real, 0.25)


@pytest.mark.parametrize("cached", [False, True])
def test_a_cut_that_heals_during_the_block_lets_the_migrate_finish(cached: bool) -> None:
    """The connect (fresh) or the data (cached) gets through at the kernel's next
    retransmission after the heal, and MIGRATE moves the keys."""
    sim, dp, job = cut_and_move(cached=cached, heal_after=5000)
    blocked, error = block_of(sim, job)
    assert error is None and job.keys_moved == 10
    real = SUMMARY[f"{'cached' if cached else 'fresh'}-60000-heal-5000"]["migrate_block_ms"]
    assert within(blocked, real, 0.10), blocked
    assert len(dp.data(sim.cluster.node("n2")).keys_in_slot(SLOT, 100)) == 10


def test_the_retransmission_schedules_are_linuxs() -> None:
    """SYNs at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s (tcp_syn_linear_timeouts 4, the
    measuring kernel's); data from TCP_RTO_MIN 200 ms, doubling."""
    assert retransmissions_ms(False, 120_000) == [
        1000, 2000, 3000, 4000, 5000, 7000, 11000, 19000, 35000, 67000
    ]  # fmt: skip
    assert retransmissions_ms(True, 7000)[:5] == [200, 600, 1400, 3000, 6200]


def test_killing_the_blocked_source_ends_redis_clis_reshard_at_once() -> None:
    """redis-cli waits in a blocking read for MIGRATE's reply; the source's death resets
    that connection, so the reshard stops in the same instant (1-13 ms on Redis,
    tests/data/verify-reports/open-slot.json), not at the next SYN retransmission."""
    sim, dp = setup()
    sim.inject("cut", **{"from": ["n1"], "to": ["n2"]})
    sim.run_for(50)
    job = move(sim, dp, SLOT)
    sim.run_until_condition(lambda: sim.trace.first("migrate_blocked") is not None, 5000)
    sim.run_for(400)  # between two retransmissions (1 s apart at first)
    assert not job.done
    killed_at = sim.now
    sim.inject("kill", node="n1")
    sim.run_for(1)
    assert job.done and job.error == "[ERR] Calling MIGRATE on n1: I/O error"
    done = sim.trace.first("reshard_done")
    assert done is not None and done["t"] == killed_at and done["ok"] is False
