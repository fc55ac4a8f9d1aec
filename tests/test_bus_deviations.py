"""The smaller deviations a review of cluster.c found (issue 11 §3), one test per rule,
named after it."""

from __future__ import annotations

import pytest

from simulator.cluster import NodeSpec
from simulator.dataplane import install
from simulator.messages import FAIL, MIGRATE_TO, NOFAILOVER, PFAIL, GossipEntry, MsgType
from simulator.simulation import Simulation

NT = 1000


def sim_of(specs: list[NodeSpec] | None = None, seed: int = 1) -> Simulation:
    if specs is None:
        return Simulation(masters=3, replicas=1, seed=seed, config={"cluster-node-timeout": NT})
    return Simulation(specs, seed=seed, config={"cluster-node-timeout": NT})


WITH_AN_EMPTY_MASTER = [
    NodeSpec("n1", "master", tuple(range(0, 5461))),
    NodeSpec("n2", "master", tuple(range(5461, 10923))),
    NodeSpec("n3", "master", tuple(range(10923, 16384))),
    NodeSpec("n4", "replica", (), "n1"),
    NodeSpec("n5", "replica", (), "n2"),
    NodeSpec("n6", "replica", (), "n3"),
    NodeSpec("n7", "master", ()),
]


def test_a_master_that_gets_its_first_slot_becomes_a_replica_migration_target() -> None:
    """``clusterNodeSetSlotBit``: numslots 0 -> 1 sets MIGRATE_TO when masters have replicas."""
    sim = sim_of(WITH_AN_EMPTY_MASTER)
    sim.run_until(1000)
    n1 = sim.cluster.node("n1")
    n7 = n1.peers["n7"]
    assert not n7.flags & MIGRATE_TO
    n1._set_slot(100, n7.index)
    assert n7.flags & MIGRATE_TO


def test_a_master_gets_no_migrate_to_when_no_master_has_replicas() -> None:
    specs = [s for s in WITH_AN_EMPTY_MASTER if s.role == "master"]
    sim = sim_of(specs)
    sim.run_until(1000)
    n1 = sim.cluster.node("n1")
    n7 = n1.peers["n7"]
    n1._set_slot(100, n7.index)
    assert not n7.flags & MIGRATE_TO


def test_a_node_learned_from_gossip_keeps_the_fail_flag_its_entry_carries() -> None:
    """``createClusterNode(g->nodename, flags)`` in ``clusterProcessGossipSection``."""
    sim = sim_of()
    sim.run_until(1000)
    n1, n2 = sim.cluster.node("n1"), sim.cluster.node("n2")
    n2.remove_peer("n6")  # n2 does not know n6 (and has not blacklisted it)
    n1.peers["n6"].flags |= FAIL
    msg = n1._header(MsgType.PING, gossip=(n1._gossip_entry(n1.peers["n6"]),))
    n2._process_gossip(msg, n2.peers["n1"], sim.now)
    assert n2.peers["n6"].flags & FAIL


def test_removing_a_node_clears_the_migrating_importing_entries_and_replica_links_naming_it() -> (
    None
):
    """``clusterDelNode`` clears ``migrating_slots_to``/``importing_slots_from``;
    ``freeClusterNode`` sets its replicas' ``slaveof`` to NULL."""
    sim = sim_of()
    sim.run_until(1000)
    n2 = sim.cluster.node("n2")
    n2.migrating[6000] = "n3"
    n2.importing[100] = "n3"
    n2.migrating[6001] = "n1"
    n2.remove_peer("n3")
    assert n2.migrating == {6001: "n1"}
    assert n2.importing == {}
    assert n2.peers["n6"].master is None  # n6 replicated n3


def test_the_gossip_section_appends_at_most_stats_pfail_nodes_pfail_entries() -> None:
    """``clusterSendPing``: ``pfail_wanted = stats_pfail_nodes`` bounds the PFAIL entries."""
    sim = sim_of()
    sim.run_until(1000)
    n1 = sim.cluster.node("n1")
    for name in ("n2", "n3", "n5"):
        n1.peers[name].flags |= PFAIL
    n1.stats_pfail_nodes = 1  # the last cron counted one
    entries = [GossipEntry._make(e) for e in n1._gossip()]
    assert sum(1 for e in entries if e.flags & PFAIL) == 1
    n1.stats_pfail_nodes = 3
    assert sum(1 for e in n1._gossip() if GossipEntry._make(e).flags & PFAIL) == 3


def test_publish_and_spublish_are_postponed_during_the_manual_failover_write_pause() -> None:
    """PUBLISH and SPUBLISH are ``CMD_MAY_REPLICATE`` in 7.0.15: ``processCommand``
    postpones them while writes are paused (the master's MFSTART pause, §12)."""
    sim = sim_of()
    install(sim)
    sim.run_until(1000)
    sim.inject("failover", node="n4")
    assert sim.run_until_condition(
        lambda: bool(sim.trace.first("mf_paused", node="n1")), sim.now + 1000
    )
    assert sim.cluster.node("n1").writes_paused()
    paused_at = sim.now
    ops = [
        sim.inject("publish", channel="news", message="m", node="n1"),
        sim.inject("publish", channel="{b}news", message="m", node="n1", sharded=True),
    ]
    sim.run_for(0)
    assert not any(op.done for op in ops)
    assert sim.run_until_condition(lambda: all(op.done for op in ops), paused_at + 6000)
    promoted = sim.trace.first("promoted", node="n4")
    assert promoted is not None and promoted["t"] >= paused_at
    done = [e for e in sim.trace.of_kind("publish") if e["node"] == "n1" and e["t"] >= paused_at]
    assert done and all(e["t"] >= promoted["t"] for e in done)


def test_restart_restores_what_nodes_conf_holds_and_nothing_more() -> None:
    """``clusterLoadConfig`` reads no ``voted_time``; ``clusterSaveConfig`` writes no
    node in handshake; a new process reads redis.conf, so CONFIG SET changes are gone."""
    sim = sim_of()
    sim.run_until(1000)
    n2 = sim.cluster.node("n2")
    n2.peers["n1"].voted_time = sim.now
    n2.remove_peer("n6")
    n2._add_handshake_peer("n6")
    sim.inject(
        "set-config",
        node="n2",
        settings={"cluster-replica-no-failover": "yes", "repl-timeout": 5},
    )
    assert n2.me.flags & NOFAILOVER
    sim.inject("kill", node="n2")
    sim.run_until(1500)
    sim.inject("restart", node="n2")
    n2 = sim.cluster.node("n2")
    assert "n6" not in n2.peers
    assert n2.peers["n1"].voted_time < 0  # never voted, as a fresh clusterNode
    assert n2.config.get("repl-timeout") == 60
    assert not n2.config.get("cluster-replica-no-failover")
    assert not n2.me.flags & NOFAILOVER


def test_a_default_cluster_failover_starts_its_election_in_the_pass_that_saw_offsets_match() -> (
    None
):
    """``clusterHandleManualFailover`` flags the failover for ``clusterBeforeSleep``, which
    runs on every event-loop pass: with equal offsets the AUTH_REQUEST goes out in the
    same millisecond as the paused PING arrived, not a cron tick later."""
    for seed in (1, 2, 3):
        sim = sim_of(seed=seed)
        sim.run_until(1000)
        sim.inject("failover", node="n4")
        sim.run_until(sim.now + 2000)
        ready = sim.trace.first("mf_ready", node="n4")
        started = sim.trace.first("election_started", node="n4")
        assert ready is not None and started is not None
        assert started["t"] == ready["t"]
        assert started["manual"] is True


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_writes_the_pause_held_run_again_in_the_pass_that_ended_it(seed: int) -> None:
    """``resetManualFailover`` -> ``unpauseClients`` -> ``unblockPostponedClients``: the
    postponed writes run again in the same event-loop pass (``beforeSleep``), not on a
    later poll. The old master answers them MOVED in the millisecond it became a replica."""
    sim = sim_of(seed=seed)
    install(sim)
    sim.run_until(1000)
    sim.inject("failover", node="n4")
    assert sim.run_until_condition(
        lambda: bool(sim.trace.first("mf_paused", node="n1")), sim.now + 1000
    )
    ops = [sim.inject("write", key=f"{{b}}{i}", value="v") for i in range(3)]
    assert sim.run_until_condition(lambda: all(op.done for op in ops), sim.now + 6000)
    became_replica = next(
        e["t"] for e in sim.trace.of_kind("role") if e["node"] == "n1" and e["t"] > 1000
    )
    answered = [e for e in sim.trace.of_kind("request") if e["node"] == "n1" and e["t"] > 1000]
    assert [e["outcome"] for e in answered] == ["moved"] * 3
    assert {e["t"] for e in answered} == {became_replica}
