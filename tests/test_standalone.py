"""The standalone topology (docs/redis-rules.md §28): one master with ``cluster-enabled no``
and its replicas: no bus, no slots, no redirections, no automatic failover."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cluster import ClusterError
from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.dataplane.client_op import Op
from simulator.dataplane.clients import Client
from simulator.dataplane.model import ClusterData
from simulator.dataplane.standalone_route import ERR_READONLY
from simulator.scenario import ScenarioError, parse_scenario
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot
from simulator.standalone import StandaloneNode

KEYS = ["user:1000", "user:1001", "a", "b", "c", "{x}1", "zzz"]


def standalone(replicas: int = 1, seed: int = 1) -> tuple[Simulation, ClusterData]:
    sim = Simulation(
        masters=1, replicas=replicas, seed=seed, latency_ms=(0.1, 0.5), topology="standalone"
    )
    return sim, install(sim)


def cluster(seed: int = 1) -> tuple[Simulation, ClusterData]:
    sim = Simulation(masters=3, replicas=1, seed=seed, latency_ms=(0.1, 0.5))
    return sim, install(sim)


def run(sim: Simulation, client: Client, *argv: str, node: str | None = None) -> Op:
    op = client.command(*argv, node=node)
    sim.run_for(2000)
    assert op.done
    return op


def test_standalone_master_answers_keys_of_any_slot() -> None:
    sim, dp = standalone()
    app = add_client(dp, "app")
    assert len({key_hash_slot(k) for k in KEYS}) > 3  # slots every shard of a cluster would own
    for key in KEYS:
        op = run(sim, app, "SET", key, "v", node="n1")
        assert (op.outcome, op.attempt) == ("ok", 1)  # no MOVED: served where it was sent
        assert run(sim, app, "GET", key, node="n1").result == "v"
    assert not [e for e in sim.trace.of_kind("request") if e["outcome"] != "ok"]


def test_mset_across_slots_ok_on_standalone_but_crossslot_on_cluster() -> None:
    pairs = ["user:1000", "a", "user:1001", "b"]
    assert key_hash_slot("user:1000") != key_hash_slot("user:1001")
    sim, dp = standalone()
    op = run(sim, add_client(dp, "app"), "MSET", *pairs)
    assert op.outcome == "ok"
    assert dp.data(sim.cluster.node("n1")).get("user:1001") == "b"
    sim, dp = cluster()
    app = add_client(dp, "app")
    op = run(sim, app, "MSET", *pairs)
    assert op.outcome == "crossslot"
    assert op.result == "CROSSSLOT Keys in request don't hash to the same slot"
    tagged = run(sim, app, "MSET", "{user}:1000", "a", "{user}:1001", "b")  # the fix
    assert tagged.outcome == "ok"


def test_standalone_replica_serves_reads_and_refuses_writes_with_readonly() -> None:
    sim, dp = standalone()
    app = add_client(dp, "app")
    run(sim, app, "SET", "k", "v")
    sim.run_for(500)  # replicated
    assert run(sim, app, "GET", "k", node="n2").result == "v"  # no READONLY needed
    op = run(sim, app, "SET", "k", "w", node="n2")
    assert (op.outcome, op.result) == ("error", ERR_READONLY)


def test_standalone_nodes_send_no_cluster_bus_message() -> None:
    sim, dp = standalone(replicas=2)
    add_client(dp, "app", rate=100).set_workload()
    sim.run_for(5000)
    assert all(isinstance(n, StandaloneNode) for n in sim.cluster.nodes.values())
    assert sum(sum(t.sent) for t in sim.cluster.bus_stats.nodes) == 0
    assert dp.data(sim.cluster.node("n3")).keys  # replication still runs
    sim, _ = cluster()
    sim.run_for(5000)
    assert sum(sum(t.sent) for t in sim.cluster.bus_stats.nodes) > 0


def test_crashed_standalone_master_is_an_outage_until_restarted() -> None:
    """No clusterCron, no failure detection, no election: the replica stays a replica."""
    sim, dp = standalone()
    app = add_client(dp, "app")
    sim.inject("kill", node="n1")
    sim.run_for(30_000)  # twice any node timeout: nobody takes over
    assert not sim.cluster.node("n2").is_master
    assert not sim.trace.of_kind("pfail") and not sim.trace.of_kind("promoted")
    assert run(sim, app, "SET", "k", "v").outcome == "error"
    assert run(sim, app, "SET", "k", "v", node="n2").result == ERR_READONLY
    sim.inject("restart", node="n1")
    sim.run_for(100)
    assert run(sim, app, "SET", "k", "v").outcome == "ok"


def test_standalone_refuses_cluster_failover() -> None:
    sim, _ = standalone()
    with pytest.raises(ClusterError, match="cluster support disabled"):
        sim.cluster.failover("n2")


def _share_down(sim: Simulation, dp: ClusterData) -> float:
    """The share of 300 keys whose SET fails once the first master is dead."""
    app = add_client(dp, "probe")
    sim.inject("kill", node="n1")
    ops = [app.command("SET", f"key:{i}", "v") for i in range(300)]
    sim.run_for(5000)
    assert all(op.done for op in ops)
    return sum(op.outcome != "ok" for op in ops) / len(ops)


def test_failure_of_standalone_master_takes_all_keys_down_vs_a_third_on_cluster() -> None:
    assert _share_down(*standalone()) == 1.0
    share = _share_down(*cluster())  # n1 serves 0-5460 until its replica is promoted
    assert 0.25 < share < 0.42


def test_publish_on_standalone_reaches_the_replicas_subscribers() -> None:
    """publishCommand without cluster: forceCommandPropagation(PROPAGATE_REPL) (§28.3)."""
    sim, dp = standalone()
    sim.inject("subscribe", channel="news", node="n2", client="reader")
    sim.run_for(20)
    op = sim.inject("publish", channel="news", message="hello", node="n1")
    sim.run_for(50)
    assert op.outcome == "ok"
    assert dp.delivered("news", "reader") == 1
    assert sum(sum(t.sent) for t in sim.cluster.bus_stats.nodes) == 0


def _scenario(cluster_text: str) -> str:
    return f"name: t\ncluster:\n{cluster_text}"


def test_standalone_topology_needs_exactly_one_master(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="standalone topology has exactly one master, not 3"):
        parse_scenario(_scenario("  masters: 3\n  topology: standalone\n"), "s.yaml")
    with pytest.raises(ScenarioError, match="no cluster bus"):
        parse_scenario(_scenario("  masters: 1\n  topology: standalone\n  start: meet\n"), "s.yaml")
    scenario = parse_scenario(
        _scenario("  masters: 1\n  replicas: 2\n  topology: standalone\n"), "s.yaml"
    )
    assert scenario.cluster.topology == "standalone"
    assert [n.role for n in scenario.cluster.nodes] == ["master", "replica", "replica"]


def test_real_clients_on_standalone_get_no_cluster_commands_and_no_redirects() -> None:
    """RESP front (§28.1): CLUSTER/READONLY answer 'cluster support disabled'; keys of any
    slot are served; INCRBY (a write the data plane runs as SET) is -READONLY on a replica."""
    from simulator.resp.client import ClientState, PortMap
    from simulator.resp.commands import Context, dispatch
    from simulator.resp.protocol import Error, Simple

    sim, _ = standalone()
    sim.run_until(100)

    def one(node: str, *argv: str) -> object:
        state = ClientState(1, "resp:test:1", "127.0.0.1:50000", "127.0.0.1:7500", 0)
        outcome = dispatch(
            Context(sim, node, state, PortMap(7500), [state]), [a.encode() for a in argv]
        )
        assert len(outcome.replies) == 1
        return outcome.replies[0]

    disabled = Error("ERR This instance has cluster support disabled")
    assert one("n1", "CLUSTER", "INFO") == disabled
    assert one("n2", "READONLY") == disabled
    assert one("n1", "MSET", "user:1000", "a", "user:1001", "b") == Simple("OK")
    assert one("n1", "INCRBY", "counter", "5") == 5
    assert one("n2", "INCRBY", "counter", "5") == Error(ERR_READONLY)


def test_verify_plays_a_standalone_scenario_and_its_multi_clients() -> None:
    """rcsim verify plays one instance (rcsim/verify/standalone.py) and MSET/MGET clients
    (rcsim/verify/multikey.py): nothing in the lesson is refused."""
    from rcsim.verify.playable import refusals
    from simulator.scenario import load_scenario

    assert refusals(load_scenario("one-instance-or-cluster"), None) == []


def test_cluster_only_actions_are_refused_on_a_standalone_topology() -> None:
    text = _scenario(
        "  masters: 1\n  replicas: 1\n  topology: standalone\n"
        "steps:\n  - failover: n2\n  - reshard: {from: n1, to: n2, slots: 10}\n  - add-node: n3\n"
    )
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, "s.yaml")
    lines = error.value.errors
    assert [line.split(": ", 1)[1].split(" needs")[0] for line in lines] == [
        "'failover'",
        "'reshard'",
        "'add-node'",
    ]
    assert all("a standalone topology has no slots" in line for line in lines)
