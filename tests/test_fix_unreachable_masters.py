"""What ``redis-cli --cluster`` loads (redis-rules §16.6): nodes that disagree on the
slot map make reshard and rebalance refuse; ``fix`` with a master it cannot reach
refuses, exit 1, unless ``--cluster-fix-with-unreachable-masters``. Checked on Redis
7.0.15 by the open-slot lesson's verify report (tests/data/verify-reports/open-slot.json)
and tests/data/redis-cli-start.json."""

from __future__ import annotations

from typing import Any

from simulator.dataplane import install
from simulator.dataplane.model import ClusterData
from simulator.dataplane.redis_cli_fix import DISAGREE, unreachable_warning
from simulator.dataplane.resharding import Job, load_cluster
from simulator.simulation import Simulation

SLOT = 100  # one of n1's slots, n4's once n4 replaced n1


def failed_over(seed: int = 1) -> tuple[Simulation, ClusterData]:
    """3 masters + 3 replicas, n1 killed and replaced by n4, every live node ok."""
    sim = Simulation(masters=3, replicas=1, seed=seed, config={"cluster-node-timeout": 2000})
    dp = install(sim)
    sim.run_for(500)
    sim.inject("kill", node="n1")
    sim.run_until_condition(lambda: sim.cluster.node("n4").is_master, sim.now + 20_000)
    sim.run_for(1000)
    assert sim.cluster.node("n4").is_master
    return sim, dp


def run(sim: Simulation, job: Job) -> None:
    deadline = sim.now + 20_000
    while not job.done and sim.now < deadline:
        sim.run_for(10)
    assert job.done


def test_a_dead_master_without_slots_still_counts_as_unreachable() -> None:
    _, dp = failed_over()
    loaded = load_cluster(dp)
    assert [m.name for m in loaded.masters] == ["n2", "n3", "n4"]  # the entry, n2, first
    assert loaded.unreachable == 1 and loaded.consistent


def test_a_dead_replica_is_not_an_unreachable_master() -> None:
    sim, dp = failed_over()
    sim.inject("kill", node="n5")
    sim.run_for(100)
    assert load_cluster(dp).unreachable == 1  # n1 only


def test_a_live_master_the_entry_flags_fail_is_not_loaded() -> None:
    """A partitioned master is alive, but the entry's CLUSTER NODES flags it ``fail``:
    redis-cli skips it and counts it unreachable."""
    sim = Simulation(masters=3, replicas=0, seed=3, config={"cluster-node-timeout": 2000})
    dp = install(sim)
    sim.run_for(500)
    sim.inject("partition", groups=[["n3"], ["n1", "n2"]])
    sim.run_for(8000)
    loaded = load_cluster(dp)
    assert [m.name for m in loaded.masters] == ["n1", "n2"] and loaded.unreachable == 1
    assert loaded.consistent  # n1 and n2 still map n3's slots to n3


def test_fix_refuses_an_open_slot_while_a_master_is_unreachable() -> None:
    sim, _ = failed_over()
    n2 = sim.cluster.node("n2")
    assert n2.cluster_setslot(SLOT, "IMPORTING", "n4") == "OK"
    job = sim.inject("fix")
    run(sim, job)
    assert job.error is not None
    assert job.error.startswith("*** Fixing open slots with 1 unreachable masters is dangerous")
    assert n2.importing == {SLOT: "n4"}  # nothing touched
    done = sim.trace.of_kind("reshard_done")[-1]
    assert done["job"] == "fix" and done["ok"] is False and done["error"] == job.error


def test_fix_with_unreachable_masters_closes_the_open_slot() -> None:
    sim, _ = failed_over()
    n2 = sim.cluster.node("n2")
    n2.cluster_setslot(SLOT, "IMPORTING", "n4")
    job = sim.inject("fix", with_unreachable_masters=True)
    run(sim, job)
    sim.run_for(500)
    assert job.error is None and not n2.importing
    assert sim.cluster.truth_owner(SLOT) == "n4" and sim.cluster.agree()


def test_fix_with_nothing_open_succeeds_despite_an_unreachable_master() -> None:
    """The refusal is in the fixing passes: with no open slot and every slot covered by a
    loaded master there is nothing to refuse, and redis-cli exits 0."""
    sim, _ = failed_over()
    job = sim.inject("fix")
    run(sim, job)
    assert job.error is None


def test_verify_passes_the_option_to_the_real_redis_cli() -> None:
    from types import SimpleNamespace

    from rcsim.verify.realcluster import RealCluster
    from simulator.scenario import Fix, Loc

    entry = SimpleNamespace(endpoint="127.0.0.1:7001")
    cluster: Any = SimpleNamespace(any_running=lambda: entry)
    loc = Loc("x.yaml", 1, 1)
    plain = RealCluster.redis_cli_args(cluster, Fix(loc=loc))
    forced = RealCluster.redis_cli_args(cluster, Fix(loc=loc, with_unreachable_masters=True))
    assert plain == ["--cluster", "fix", "127.0.0.1:7001", "--cluster-yes"]
    assert forced == [*plain, "--cluster-fix-with-unreachable-masters"]


def test_the_tui_explains_a_refused_fix_and_the_way_out() -> None:
    from tui.hints import hint

    event: Any = {"kind": "reshard_done", "job": "fix", "ok": False}
    why = hint({**event, "error": unreachable_warning("open slots", 1)})
    assert why is not None and "cannot reach 1 master(s)" in why
    assert "unreachable masters too" in why
    why = hint({**event, "error": DISAGREE})
    assert why is not None and "do not agree" in why


def test_the_refusal_is_the_real_redis_clis_word_for_word() -> None:
    """tests/data/redis-cli-start.json: 7.0.15's fix with a killed master and an open
    slot exits 1 with this warning, in every run."""
    import json
    from pathlib import Path

    real = json.loads((Path(__file__).parent / "data" / "redis-cli-start.json").read_text())
    assert real["fix_refused_exit_codes"] == [1]
    assert real["fix_nothing_to_fix_exit_codes"] == [0]
    assert unreachable_warning("open slots", 1) == real["fix_refused_warning"]


def test_a_reshard_is_refused_while_the_loaded_nodes_disagree_on_the_slot_map() -> None:
    """Right after add-node the new node knows its first peer's slots but not yet the
    others': redis-cli's check says "Nodes don't agree about configuration!" and
    reshard refuses (clusterManagerCommandReshard); once gossip has spread the map it
    goes ahead."""
    import pytest

    from simulator.simulation import ActionError

    sim = Simulation(masters=3, replicas=0, seed=1, config={"cluster-node-timeout": 2000})
    install(sim)
    sim.run_for(500)
    sim.inject("add-node", name="n4")
    sim.run_until_condition(lambda: not load_cluster(sim.cluster.dataplane).consistent, 2000)
    with pytest.raises(ActionError, match="Nodes don't agree about configuration"):
        sim.inject("reshard", source="n1", target="n4", count=1)
    with pytest.raises(ActionError, match=r"before rebalancing.*Nodes don't agree"):
        sim.inject("rebalance", use_empty_masters=True)
    sim.run_for(5000)
    assert load_cluster(sim.cluster.dataplane).consistent
    job = sim.inject("reshard", source="n1", target="n4", count=1)
    run(sim, job)
    assert job.error is None


def test_del_node_refuses_a_node_redis_cli_cannot_load() -> None:
    """clusterManagerCommandDeleteNode looks the ID up among the nodes it loaded: a dead
    node is not one ("No such node ID"), so nothing is forgotten."""
    import pytest

    from simulator.simulation import ActionError

    sim, _ = failed_over()
    with pytest.raises(ActionError, match="No such node ID n1"):
        sim.inject("del-node", node="n1")
    assert "n1" in sim.cluster.nodes and "n1" in sim.cluster.node("n2").peers


def test_a_reshard_names_masters_redis_cli_loaded_or_is_refused() -> None:
    """redis-cli looks the target, then the source, up among the masters it loaded
    (clusterNodeForResharding): a replica, or a master the entry flags fail, gets "The
    specified node (...) is not known or not a master, please retry." (on Redis 7.0.15,
    with the entry not yet told of a node just added, for its first 830-860 ms:
    tests/data/add-node-reshard.json)."""
    import pytest

    from simulator.simulation import ActionError

    sim, _ = failed_over()  # n1 dead and flagged fail, n4 promoted
    with pytest.raises(ActionError, match=r"The specified node \(n5\) is not known"):
        sim.inject("reshard", source="n2", target="n5", count=1)  # n5 is n2's replica
    with pytest.raises(ActionError, match=r"The specified node \(n1\) is not known"):
        sim.inject("reshard", source="n1", target="n2", count=1)
    job = sim.inject("reshard", source="n4", target="n2", count=1)
    run(sim, job)
    assert job.error is None


def test_reshard_refusals_are_the_real_redis_clis_word_for_word() -> None:
    """tests/data/add-node-reshard.json: every real run answers "not known" first, then
    "Nodes don't agree", then runs the reshard: the two texts rcsim refuses with."""
    import json
    from pathlib import Path

    import pytest

    from simulator.simulation import ActionError

    real = json.loads((Path(__file__).parent / "data" / "add-node-reshard.json").read_text())
    for timeline in real["runs"]:
        said = [step["answer"] for step in timeline if step["answer"] != "rc=1"]
        assert said == [
            "rc=1 *** The specified node (<new node>) is not known or not a master, please retry.",
            f"rc=1 {DISAGREE}",
            "rc=0",
        ]
    sim, _ = failed_over()
    with pytest.raises(ActionError) as refused:
        sim.inject("reshard", source="n2", target="n5", count=1)
    assert str(refused.value).endswith(
        "*** The specified node (n5) is not known or not a master, please retry."
    )
