"""The cluster-bus rules, one test per rule, named after it (behaviour reference §6–§14)."""

from __future__ import annotations

from simulator.cluster import NodeSpec
from simulator.messages import FAIL, MASTER, MIGRATE_TO, PFAIL, SLAVE, GossipEntry, MsgType
from simulator.node.peer import add_fail_report
from simulator.simulation import Simulation
from simulator.slots import parse_slot_ranges
from simulator.trace import event_json

NT = 1000

TWO_REPLICAS_ON_N1 = [
    NodeSpec("n1", "master", tuple(range(0, 5461))),
    NodeSpec("n2", "master", tuple(range(5461, 10923))),
    NodeSpec("n3", "master", tuple(range(10923, 16384))),
    NodeSpec("n4", "replica", (), "n1"),
    NodeSpec("n5", "replica", (), "n2"),
    NodeSpec("n6", "replica", (), "n3"),
    NodeSpec("n7", "replica", (), "n1"),
]
"""3 masters with a replica each, and a second one (n7) on n1: replica migration's set-up."""


def sim_of(masters: int = 3, replicas: int = 1, seed: int = 1, **config: object) -> Simulation:
    return Simulation(
        masters=masters, replicas=replicas, seed=seed, config={"cluster-node-timeout": NT, **config}
    )


def events(sim: Simulation, kind: str, **match: object) -> list[dict]:
    return [
        e
        for e in sim.trace.events
        if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())
    ]


def crash_and_wait_for_promotion(
    sim: Simulation, victim: str = "n1", limit: int = 20_000, at: int | None = 3000
) -> dict:
    if at is not None:
        sim.run_until(at)
    sim.inject("kill", node=victim)
    assert sim.run_until_condition(lambda: bool(events(sim, "promoted", target=victim)), limit)
    return events(sim, "promoted", target=victim)[0]


# --------------------------------------------------------------------------- failure detection


def test_pfail_only_after_a_ping_pending_longer_than_node_timeout() -> None:
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("pause", node="n1")
    sim.run_until(3000 + NT)  # nobody can have waited more than NT yet
    assert events(sim, "pfail", target="n1") == []
    sim.run_until(3000 + 3 * NT)
    pfails = events(sim, "pfail", target="n1")
    assert pfails, "every observer marks PFAIL within NT..1.5·NT (+ a tick)"
    assert all(e["delay_ms"] > NT for e in pfails)
    assert all(e["t"] - 3000 <= 1.5 * NT + 200 for e in pfails)


def test_pfail_is_cleared_by_a_pong_on_the_outbound_link() -> None:
    sim = sim_of(replicas=0)
    sim.run_until(3000)
    sim.inject("partition", groups=[["n1"], ["n2", "n3"]])
    sim.run_until(3000 + int(1.2 * NT))
    sim.inject("heal")
    sim.run_until(3000 + 3 * NT)
    observers = {e["node"] for e in events(sim, "pfail", target="n1")}
    cleared = {e["node"] for e in events(sim, "pfail_cleared", target="n1")}
    assert observers and observers <= cleared | {
        e["node"] for e in events(sim, "fail", target="n1")
    }


def test_fail_needs_a_quorum_of_master_reports_replica_reports_do_not_count() -> None:
    """Only the replicas lose n1: they PFAIL it, but replicas' gossip creates no reports."""
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("partition", groups=[["n1"], ["n4", "n5", "n6"]])  # masters n2, n3 reach everyone
    sim.run_until(3000 + 10 * NT)
    assert events(sim, "pfail", target="n1")
    assert events(sim, "fail", target="n1") == []


def test_fail_broadcast_forces_fail_on_every_reachable_node() -> None:
    sim = sim_of()
    crash_and_wait_for_promotion(sim)
    fails = events(sim, "fail", target="n1")
    first = min(e["t"] for e in fails)
    by_node = {e["node"]: e["t"] for e in fails}
    assert set(by_node) == {"n2", "n3", "n4", "n5", "n6"}
    assert max(by_node.values()) - first <= 1  # FAIL message, not independent detection
    assert any(e["via"] == "message" for e in fails)
    assert any(e["via"] == "quorum" for e in fails)


def test_failure_reports_expire_after_twice_node_timeout() -> None:
    sim = sim_of()
    node = sim.cluster.node("n2")
    victim = node.peers["n1"]
    add_fail_report(victim, "n3", sim.now)
    assert node._count_reports(victim, sim.now + 2 * NT) == 1
    assert node._count_reports(victim, sim.now + 2 * NT + 1) == 0


def test_fail_of_a_master_with_slots_clears_only_after_twice_node_timeout() -> None:
    sim = sim_of(replicas=0)
    sim.run_until(3000)
    sim.inject("pause", node="n1")
    assert sim.run_until_condition(lambda: bool(events(sim, "fail", target="n1")), 20_000)
    fail_time = min(e["t"] for e in events(sim, "fail", target="n1"))
    sim.run_until(sim.now + 500)
    sim.inject("resume", node="n1")
    assert sim.run_until_condition(lambda: bool(events(sim, "fail_cleared", target="n1")), 30_000)
    cleared = events(sim, "fail_cleared", target="n1")
    assert min(e["t"] for e in cleared) - fail_time > 2 * NT
    assert all(e["reason"] == "master reachable after 2*NT" for e in cleared)


def test_fail_of_a_replica_clears_as_soon_as_it_answers() -> None:
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("pause", node="n4")
    assert sim.run_until_condition(lambda: bool(events(sim, "fail", target="n4")), 20_000)
    resumed = sim.now
    sim.inject("resume", node="n4")
    assert sim.run_until_condition(
        lambda: bool(events(sim, "fail_cleared", target="n4")), resumed + NT
    )
    assert events(sim, "fail_cleared", target="n4")[0]["reason"] == "replica"


def test_gossip_carries_max_3_or_n_over_10_entries_plus_every_pfail_node() -> None:
    specs = [NodeSpec(f"n{i}", "master", tuple(parse_slot_ranges(str(i)))) for i in range(1, 41)]
    sim = Simulation(specs, seed=2, config={"cluster-node-timeout": NT})
    sim.run_until(2000)
    node = sim.cluster.node("n1")
    assert len(node._gossip()) == max(3, 40 // 10)
    node.peers["n7"].flags |= PFAIL
    node.stats_pfail_nodes = 1
    entries = [GossipEntry._make(e) for e in node._gossip()]
    assert [e.name for e in entries].count("n7") == 1
    assert len(entries) == 5


def test_only_master_senders_create_failure_reports() -> None:
    sim = sim_of()
    sim.run_until(2000)
    node = sim.cluster.node("n2")
    entry = GossipEntry("n1", 0, 0, MASTER | PFAIL)
    replica_msg = sim.cluster.node("n4")._header(MsgType.PING, gossip=(entry,))
    node.receive(replica_msg)
    assert node.peers["n1"].fail_reports == {}
    master_msg = sim.cluster.node("n3")._header(MsgType.PING, gossip=(entry,))
    node.receive(master_msg)
    assert set(node.peers["n1"].fail_reports) == {"n3"}


# --------------------------------------------------------------------------- elections


def test_election_delay_is_500_plus_random_500_plus_1000_per_rank() -> None:
    for seed in range(12):
        sim = sim_of(seed=seed)
        crash_and_wait_for_promotion(sim)
        for e in events(sim, "election_scheduled"):
            low = 500 + 1000 * e["rank"]
            assert low <= e["delay_ms"] < low + 500


def test_rank_is_the_number_of_siblings_with_a_higher_offset_and_the_best_wins() -> None:
    for seed in range(6):
        sim = sim_of(replicas=2, seed=seed)
        sim.run_until(3000)
        sibling_a, sibling_b = sim.cluster.node("n1").me.replicas
        laggard, leader = (sibling_a, sibling_b) if seed % 2 else (sibling_b, sibling_a)
        for name in ("n1", leader):
            sim.cluster.node(name).repl_offset += 40_000_000
        sim.run_until(3100)  # offsets travel in heartbeats
        promoted = crash_and_wait_for_promotion(sim, at=None)
        assert promoted["node"] == leader
        ranks = {e["node"]: e["rank"] for e in events(sim, "election_scheduled")}
        assert ranks[leader] == 0
        assert ranks.get(laggard, 1) == 1


def test_quorum_counts_the_failed_master_so_three_masters_need_two_votes() -> None:
    sim = sim_of()
    promoted = crash_and_wait_for_promotion(sim)
    started = events(sim, "election_started", node=promoted["node"])[0]
    assert started["quorum"] == 2
    voters = {e["node"] for e in events(sim, "vote", target=promoted["node"])}
    assert voters == {"n2", "n3"}


def test_one_vote_per_epoch() -> None:
    sim = sim_of(replicas=2)
    sim.run_until(2000)
    voter = sim.cluster.node("n2")
    voter.peers["n1"].flags |= FAIL
    first, second = sim.cluster.node("n1").me.replicas
    for name in (first, second):
        candidate = sim.cluster.node(name)
        candidate.current_epoch = 20
        voter.receive(candidate._header(MsgType.AUTH_REQUEST))
    assert [e["target"] for e in events(sim, "vote", node="n2")] == [first]
    denied = events(sim, "vote_denied", node="n2", target=second)
    assert denied and "already voted" in denied[0]["reason"]


def test_no_second_vote_for_replicas_of_the_same_master_within_twice_node_timeout() -> None:
    sim = sim_of(replicas=2)
    sim.run_until(2000)
    voter = sim.cluster.node("n2")
    voter.peers["n1"].flags |= FAIL
    first, second = sim.cluster.node("n1").me.replicas
    sim.cluster.node(first).current_epoch = 20
    voter.receive(sim.cluster.node(first)._header(MsgType.AUTH_REQUEST))
    sim.cluster.node(second).current_epoch = 21
    voter.receive(sim.cluster.node(second)._header(MsgType.AUTH_REQUEST))
    denied = events(sim, "vote_denied", node="n2", target=second)
    assert denied and "2*NT" in denied[0]["reason"]


def test_masters_do_not_vote_while_the_master_is_not_failing() -> None:
    sim = sim_of()
    sim.run_until(2000)
    voter = sim.cluster.node("n2")
    candidate = sim.cluster.node("n4")
    candidate.current_epoch = 20
    voter.receive(candidate._header(MsgType.AUTH_REQUEST))
    assert events(sim, "vote") == []
    assert events(sim, "vote_denied")[0]["reason"] == "its master is not failing"


def test_promotion_takes_the_slots_with_a_unique_higher_config_epoch() -> None:
    sim = sim_of()
    promoted = crash_and_wait_for_promotion(sim)
    winner = sim.cluster.node(promoted["node"])
    sim.run_until(sim.now + 3 * NT)
    assert winner.is_master and winner.config_epoch == promoted["epoch"] == 7
    epochs = [n.config_epoch for n in sim.cluster.live_nodes() if n.is_master]
    assert len(epochs) == len(set(epochs))
    assert all(sim.cluster.truth_owner(s) == winner.name for s in (0, 2000, 5460))
    assert sim.cluster.agree()


def test_no_failover_when_the_replica_has_no_failover_set() -> None:
    sim = sim_of(**{"cluster-replica-no-failover": "yes"})
    sim.run_until(3000)
    sim.inject("kill", node="n1")
    sim.run_until(3000 + 10 * NT)
    assert events(sim, "fail", target="n1")
    assert events(sim, "election_scheduled") == []
    assert all(n.state == "fail" for n in sim.cluster.running_nodes())


def test_data_age_beyond_the_validity_limit_refuses_automatic_failover() -> None:
    sim = sim_of(**{"cluster-replica-validity-factor": 1, "repl-ping-replica-period": 1})
    sim.run_until(3000)
    replica = sim.cluster.node("n4")
    replica.repl_link_up = False
    replica.repl_down_since = sim.now - 60_000  # replication has been down for a minute
    sim.inject("kill", node="n1")
    sim.run_until(3000 + 10 * NT)
    assert events(sim, "cant_failover", node="n4")[0]["reason"] == "data_age"
    assert events(sim, "promoted") == []


# --------------------------------------------------------------------------- epochs and slot config


def test_returning_old_master_becomes_a_replica_of_the_winner() -> None:
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("pause", node="n1")
    assert sim.run_until_condition(lambda: bool(events(sim, "promoted", target="n1")), 20_000)
    winner = events(sim, "promoted", target="n1")[0]["node"]
    sim.run_until(sim.now + 1000)
    sim.inject("resume", node="n1")
    sim.run_until(sim.now + 100)
    old = sim.cluster.node("n1")
    assert not old.is_master and old.master_name == winner
    assert events(sim, "role", node="n1")[-1]["master"] == winner
    assert old.my_slots() == []


def test_update_message_tells_a_stale_master_about_a_newer_claim() -> None:
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("pause", node="n1")
    assert sim.run_until_condition(lambda: bool(events(sim, "promoted", target="n1")), 20_000)
    sim.run_until(sim.now + 1000)
    stale = sim.cluster.node("n1")
    other = sim.cluster.node("n2")
    # A heartbeat from the stale master claims slots whose owner has a higher epoch.
    other.receive(stale._header(MsgType.PING))
    sent = events(sim, "update_sent", node="n2", target="n1")
    assert sent and sent[0]["about"] == events(sim, "promoted", target="n1")[0]["node"]


def test_config_epoch_collision_the_smaller_id_bumps() -> None:
    sim = sim_of(replicas=0)
    sim.run_until(2000)
    a, b = sim.cluster.node("n2"), sim.cluster.node("n3")
    a.me.config_epoch = b.me.config_epoch = 2
    smaller, larger = (a, b) if a.id < b.id else (b, a)
    sim.run_until(sim.now + 3 * NT)
    collisions = events(sim, "epoch_collision")
    assert [e["node"] for e in collisions] == [smaller.name]
    assert smaller.config_epoch > larger.config_epoch == 2


def test_equal_config_epochs_never_steal_a_claimed_slot() -> None:
    sim = sim_of(replicas=0)
    sim.run_until(2000)
    thief, owner = sim.cluster.node("n2"), sim.cluster.node("n1")
    owner_epoch = owner.me.config_epoch
    observer = sim.cluster.node("n3")
    observer.peers["n2"].config_epoch = owner_epoch
    claim = thief.claimed_bits() | 1  # slot 0 too
    observer.update_slots_config_with(observer.peers["n2"], owner_epoch, claim)
    assert observer.slot_owner(0) == "n1"
    observer.update_slots_config_with(observer.peers["n2"], owner_epoch + 1, claim)
    assert observer.slot_owner(0) == "n2"


# --------------------------------------------------------------------------- manual failover


def test_manual_failover_default_pauses_master_writes_and_swaps_roles() -> None:
    sim = sim_of()
    sim.run_until(3000)
    assert sim.inject("failover", node="n4", mode="default") == "OK"
    assert sim.run_until_condition(lambda: bool(events(sim, "mf_paused", node="n1")), 3001)
    assert sim.cluster.node("n1").writes_paused()
    sim.run_until(sim.now + 300)
    assert sim.cluster.node("n4").is_master and not sim.cluster.node("n1").is_master
    assert not sim.cluster.node("n1").writes_paused()  # becoming a replica ends the pause
    assert events(sim, "vote", target="n4")


def test_manual_failover_default_is_refused_when_the_master_is_failed() -> None:
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("kill", node="n1")
    sim.run_until_condition(lambda: sim.cluster.node("n4").peers["n1"].flags & FAIL != 0, 20_000)
    reply = sim.cluster.node("n4").cluster_failover("default")
    assert reply == "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"


def test_manual_failover_to_a_master_is_an_error() -> None:
    sim = sim_of()
    assert (
        sim.cluster.node("n1").cluster_failover("default")
        == "ERR You should send CLUSTER FAILOVER to a replica"
    )


def test_manual_failover_default_times_out_after_5s_with_a_hung_master() -> None:
    sim = sim_of(**{"cluster-node-timeout": 15000})
    sim.run_until(3000)
    sim.inject("pause", node="n1")
    sim.inject("failover", node="n4", mode="default")
    sim.run_until(3000 + 8000)
    timeout = events(sim, "mf_timeout", node="n4")
    assert timeout and 5000 <= timeout[0]["t"] - 3000 <= 5100
    assert events(sim, "promoted") == []


def test_every_ping_stamps_ping_sent_so_a_manual_failover_master_never_flags_its_replica() -> None:
    """``clusterSendPing`` sets ``ping_sent = now`` on every PING, pending or not (§6 step
    3d): the master pings its ``mf_slave`` every tick for the failover's 5 s, so a replica
    that stops answering is not PFAIL to it then, while the other masters (NT 1 s) flag it.
    With a pending ping kept, the master would flag it NT after its first tick ping."""
    sim = sim_of()
    sim.run_until(3000)
    assert sim.inject("failover", node="n4", mode="default") == "OK"
    assert sim.run_until_condition(lambda: bool(events(sim, "mf_paused", node="n1")), 3050)
    sim.inject("pause", node="n4")  # MFSTART delivered; the replica goes silent
    paused = sim.now
    sim.run_until(paused + 4500)  # within the master's mf_end (5 s)
    assert events(sim, "pfail", node="n1", target="n4") == []
    assert events(sim, "pfail", node="n2", target="n4")  # no manual failover there
    master_view = sim.cluster.node("n1").peers["n4"]
    assert 0 < sim.now - master_view.ping_sent <= 100  # stamped at the last tick


def test_manual_failover_force_needs_votes_but_no_master() -> None:
    sim = sim_of(**{"cluster-node-timeout": 15000})
    sim.run_until(3000)
    sim.inject("pause", node="n1")
    sim.inject("failover", node="n4", mode="force")
    sim.run_until(3000 + 300)
    assert events(sim, "promoted", node="n4")
    assert {e["node"] for e in events(sim, "vote", target="n4")} == {"n2", "n3"}


def test_manual_failover_takeover_needs_no_votes() -> None:
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("failover", node="n4", mode="takeover")
    assert sim.cluster.node("n4").is_master
    assert events(sim, "vote") == []
    assert events(sim, "epoch_bumped", node="n4")[0]["epoch"] == 7


# --------------------------------------------------------------------------- replica migration


def test_replica_migration_moves_the_smallest_id_replica_to_an_orphaned_master() -> None:
    sim = Simulation(TWO_REPLICAS_ON_N1, seed=3, config={"cluster-node-timeout": NT})
    sim.run_until(3000)
    sim.inject("kill", node="n5")  # n2 loses its only replica
    sim.run_until(3000 + 15_000)
    moved = events(sim, "migration")
    candidates = sorted(("n4", "n7"), key=lambda n: sim.cluster.node(n).id)
    assert [e["node"] for e in moved] == [candidates[0]]
    assert moved[0]["target"] == "n2"
    # The orphan delay: after FAIL the master must stay orphaned for more than 5 s.
    fail_time = min(e["t"] for e in events(sim, "fail", target="n5"))
    assert moved[0]["t"] - fail_time > 5000
    assert sim.cluster.node(candidates[0]).master_name == "n2"
    assert sim.cluster.node("n2").peers["n2"].flags & MIGRATE_TO


# --------------------------------------------------------------------------- cluster state


def test_minority_master_goes_fail_after_node_timeout_and_waits_the_rejoin_delay() -> None:
    sim = sim_of(replicas=0)
    sim.run_until(3000)
    sim.inject("partition", groups=[["n1"], ["n2", "n3"]])
    assert sim.run_until_condition(lambda: sim.cluster.node("n1").state == "fail", 3000 + 3 * NT)
    assert NT < sim.now - 3000 <= 1.5 * NT + 200
    sim.run_until(3000 + 3 * NT)
    sim.inject("heal")
    healed = sim.now
    assert sim.run_until_condition(lambda: sim.cluster.node("n1").state == "ok", healed + 5 * NT)
    # clamp(NT, 500, 5000) after the last time it saw itself in the minority
    assert sim.now - healed >= 500


def test_full_coverage_makes_every_node_fail_while_a_slot_owner_is_failed() -> None:
    sim = sim_of(replicas=0)
    sim.run_until(3000)
    sim.inject("kill", node="n1")
    sim.run_until(3000 + 5 * NT)
    assert all(n.state == "fail" for n in sim.cluster.running_nodes())


def test_full_coverage_no_keeps_the_state_ok_with_a_failed_master() -> None:
    sim = sim_of(replicas=0, **{"cluster-require-full-coverage": "no"})
    sim.run_until(3000)
    sim.inject("kill", node="n1")
    sim.run_until(3000 + 5 * NT)
    assert events(sim, "fail", target="n1")
    assert all(n.state == "ok" for n in sim.cluster.running_nodes())


def test_restarted_master_waits_the_2s_writable_delay() -> None:
    sim = sim_of(replicas=0, **{"cluster-node-timeout": 2000})
    sim.run_until(3000)
    sim.inject("kill", node="n1")
    sim.run_until(12_000)
    sim.inject("restart", node="n1")
    restarted = sim.now
    assert sim.run_until_condition(lambda: sim.cluster.node("n1").state == "ok", restarted + 10_000)
    assert 2000 <= sim.now - restarted <= 2200


def test_restart_restores_identity_epochs_and_beliefs_from_nodes_conf() -> None:
    sim = sim_of()
    sim.run_until(3000)
    before = sim.cluster.node("n2")
    identity = (before.id, before.config_epoch, before.current_epoch, before.my_slots())
    sim.inject("kill", node="n2")
    sim.run_until(3500)
    sim.inject("restart", node="n2")
    after = sim.cluster.node("n2")
    assert (after.id, after.config_epoch, after.current_epoch, after.my_slots()) == identity
    assert after.peers["n5"].flags & SLAVE and after.peers["n5"].master == "n2"
    assert after.state == "fail"  # starts FAIL, as clusterInit does


def test_graceful_shutdown_triggers_no_failover_until_node_timeout() -> None:
    sim = sim_of()
    sim.run_until(3000)
    sim.inject("shutdown", node="n1")
    sim.run_until(3000 + NT)
    assert events(sim, "election_scheduled") == []
    assert sim.run_until_condition(lambda: bool(events(sim, "promoted", target="n1")), 20_000)


def test_new_node_joins_by_meet_and_everyone_learns_it_by_gossip() -> None:
    sim = sim_of()
    sim.run_until(2000)
    sim.inject("add-node", name="n7")
    sim.run_until(2000 + 10 * NT)
    for node in sim.cluster.running_nodes():
        peer = node.peers.get("n7")
        assert peer is not None and peer.flags & MASTER, node.name
    assert sim.cluster.node("n7").state == "ok"


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_trace_byte_for_byte_and_another_seed_differs() -> None:
    def run(seed: int) -> list[str]:
        sim = sim_of(seed=seed)
        crash_and_wait_for_promotion(sim)
        sim.run_until(sim.now + 2000)
        return [event_json(e) for e in sim.trace.events]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_rewind_then_replay_gives_the_same_trace_and_an_injection_forks() -> None:
    sim = sim_of(seed=4)
    sim.run_until(3000)
    sim.inject("kill", node="n1")
    sim.run_until(12_000)
    original = [event_json(e) for e in sim.trace.events]
    sim.rewind(2500)
    sim.run_until(12_000)
    assert [event_json(e) for e in sim.trace.events] == original
    sim.rewind(3000)
    sim.inject("kill", node="n2")
    sim.run_until(12_000)
    fresh = sim_of(seed=4)
    fresh.run_until(3000)
    fresh.inject("kill", node="n2")
    fresh.run_until(12_000)
    assert [event_json(e) for e in sim.trace.events] == [event_json(e) for e in fresh.trace.events]


def test_migration_barrier_keeps_a_replica_with_a_master_that_has_only_barrier_many() -> None:
    """§13: a replica moves only if its master keeps more than cluster-migration-barrier."""
    sim = Simulation(
        TWO_REPLICAS_ON_N1,
        seed=3,
        config={"cluster-node-timeout": NT, "cluster-migration-barrier": 2},
    )
    sim.run_until(3000)
    sim.inject("kill", node="n5")
    sim.run_until(3000 + 15_000)
    assert events(sim, "fail", target="n5")
    assert events(sim, "migration") == []  # n1 has 2 replicas, not more than the barrier


def test_link_refresh_frees_an_unanswered_link_and_reconnects() -> None:
    """§6 step 3b: link older than NT, ping pending > NT/2, no data for NT/2 => free, reconnect."""
    sim = sim_of(replicas=0)
    sim.run_until(3000)
    observer = sim.cluster.node("n2")
    before = observer.peers["n1"].link_ctime
    sim.inject("partition", groups=[["n1"], ["n2", "n3"]])
    sim.run_until(3000 + 3 * NT)
    # read from the trace, not the link at one moment: a reconnect that the partition
    # leaves hanging is freed in turn, and the next cron tick reconnects
    freed = events(sim, "link_freed", node="n2", target="n1")
    connects = events(sim, "link_connect", node="n2", target="n1")
    assert freed and freed[0]["reason"] == "ping_timeout" and freed[0]["t"] > 3000 + NT // 2
    assert connects and 0 < connects[0]["t"] - freed[0]["t"] <= 110  # the next cron tick
    peer = observer.peers["n1"]
    assert peer.link_ctime > 3000 + NT // 2 > before  # a fresh link, after a free
    assert peer.ping_sent and peer.ping_sent < 3000 + NT  # the old pending ping was kept
