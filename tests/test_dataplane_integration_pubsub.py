"""Pub/Sub across the cluster bus (§19), checked against tests/data/pubsub.json: PUBLISH
reaches every node's subscribers and replies with local receivers only; sharded pub/sub
stays in the owning shard; slot moves send ``sunsubscribe``; delivery is at most once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.dataplane.model import ClusterData
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

DATA = json.loads((Path(__file__).parent / "data" / "pubsub.json").read_text())
SHARDED = DATA["sharded"]
CHANNEL = SHARDED["channel"]
PORTS = sorted(DATA["nodes"])  # port order = node index: 21240 -> n1 (M), 21243 -> n4 (R)


def node_of(port: str | int) -> str:
    return f"n{PORTS.index(str(port)) + 1}"


def cluster(seed: int = 1) -> tuple[Simulation, ClusterData]:
    sim = Simulation(masters=3, replicas=1, seed=seed, latency_ms=(0.1, 1.0))
    return sim, install(sim)


def real_reply(text: str, sim: Simulation) -> str:
    """A recorded ``ERR-REPLY: MOVED 7 127.0.0.1:21240`` with the simulated address."""
    reply = text.removeprefix("ERR-REPLY: ")
    for port in PORTS:
        reply = reply.replace(f"127.0.0.1:{port}", sim.cluster.node(node_of(port)).addr)
    return reply


@pytest.mark.parametrize("trial", DATA["classic"]["trials"], ids=lambda t: t["publisher"])
def test_publish_reaches_a_subscriber_on_every_node_and_counts_local_ones(trial: dict) -> None:
    sim, dp = cluster()
    for port in PORTS:
        sim.inject("subscribe", channel="news", node=node_of(port), client=f"s{port}")
    sim.run_for(20)
    op = sim.inject(
        "publish", channel="news", message="hello", node=node_of(trial["publisher_port"])
    )
    sim.run_for(50)
    assert (op.outcome, op.result) == ("ok", trial["publish_reply"])
    received = {c for c in dp.clients if c.startswith("s") and dp.delivered("news", c)}
    assert received == {f"s{port}" for port in trial["received_by"]}
    assert dp.delivered("news") == trial["received_count"]
    publishes = sim.trace.of_kind("publish")
    assert [e["receivers"] for e in publishes] == [1]


def test_subscribing_to_a_shard_channel_where_redis_did() -> None:
    sim, dp = cluster()
    assert key_hash_slot(CHANNEL) == SHARDED["channel_slot"]
    cases = SHARDED["subscribe_cases"]
    on_m = dp.clients.get("m") or add_client(dp, "m")
    on_r = add_client(dp, "r")
    on_n = add_client(dp, "n")
    on_n_replica = add_client(dp, "nr", readonly=True)
    ops = {
        "SSUBSCRIBE on owner master M": on_m.command("SSUBSCRIBE", CHANNEL, node="n1"),
        "SSUBSCRIBE on replica R (no READONLY)": on_r.command("SSUBSCRIBE", CHANNEL, node="n4"),
        "SSUBSCRIBE on non-owner master N": on_n.command("SSUBSCRIBE", CHANNEL, node="n2"),
        "READONLY then SSUBSCRIBE on replica of non-owner N": on_n_replica.command(
            "SSUBSCRIBE", CHANNEL, node="n5"
        ),
        "SSUBSCRIBE two channels in different slots (on M)": add_client(dp, "x").command(
            "SSUBSCRIBE", CHANNEL, "other", node="n1"
        ),
    }
    sim.run_for(20)
    for case, op in ops.items():
        expected = cases[case][-1]
        if isinstance(expected, str):
            assert op.result == real_reply(expected, sim), case
        else:
            assert [list(r) for r in op.result] == [expected], case


@pytest.mark.parametrize("case", SHARDED["spublish_deliveries"], ids=lambda c: c["case"])
def test_spublish_is_delivered_within_the_owning_shard_only(case: dict) -> None:
    sim, dp = cluster()
    listeners = {"M": ("n1", False), "R": ("n4", False), "R-readonly": ("n4", True)}
    for name, (node, readonly) in listeners.items():
        add_client(dp, name, readonly=readonly).command("SSUBSCRIBE", CHANNEL, node=node)
    for name in ("N", "N-replica"):
        add_client(dp, name)
    sim.run_for(20)
    where = {
        "SPUBLISH on owner master M": "n1",
        "SPUBLISH on replica R (no READONLY)": "n4",
        "READONLY then SPUBLISH on replica R": "n4",
        "SPUBLISH on non-owner master N": "n2",
        "SPUBLISH on replica of N": "n5",
    }[case["case"]]
    op = sim.inject("publish", channel=CHANNEL, message="hi", node=where, sharded=True)
    sim.run_for(50)
    if isinstance(case["reply"], str):
        assert (op.outcome, op.result) == ("moved", real_reply(case["reply"], sim))
    else:
        assert op.result == case["reply"]
    assert {c for c in listeners if dp.delivered(CHANNEL, c)} == set(case["received_by"])
    other_nodes = {"n2", "n3", "n5", "n6"}
    delivering = {e["node"] for e in sim.trace.of_kind("deliver")}
    assert not delivering & other_nodes


def test_moving_the_slot_unsubscribes_shard_subscribers_on_the_master_and_its_replica() -> None:
    sim, dp = cluster()
    add_client(dp, "M").command("SSUBSCRIBE", CHANNEL, node="n1")
    add_client(dp, "R").command("SSUBSCRIBE", CHANNEL, node="n4")
    sim.run_for(20)
    job = sim.inject("reshard", source="n1", target="n2", slots=[key_hash_slot(CHANNEL)])
    sim.run_for(3000)
    assert job.done and job.error is None
    pushes = [
        (e["node"], e["target"], e["channel"])
        for e in sim.trace.of_kind("deliver")
        if e["push"] == "sunsubscribe"
    ]
    assert sorted(pushes) == [("n1", "M", CHANNEL), ("n4", "R", CHANNEL)]
    op = sim.inject("publish", channel=CHANNEL, message="after", node="n2", sharded=True)
    sim.run_for(50)
    assert op.result == 0 and dp.delivered(CHANNEL) == 0


def test_delivery_is_at_most_once_across_a_partition_and_a_crash() -> None:
    sim, dp = cluster()
    for i in range(1, 7):
        sim.inject("subscribe", channel="news", node=f"n{i}", client=f"s{i}")
    sim.inject("subscribe", channel="n*", node="n2", client="p2", pattern=True)
    sim.run_for(20)
    sim.inject("partition", groups=[["s3"], ["n1", "n2", "n3", "n4", "n5", "n6", "publisher"]])
    sim.inject("kill", node="n6")
    sim.inject("publish", channel="news", message="m1", node="n1")
    sim.run_for(50)
    sim.inject("heal")
    sim.inject("publish", channel="news", message="m2", node="n1")
    sim.run_for(50)
    assert {f"s{i}": dp.delivered("news", f"s{i}") for i in range(1, 7)} == {
        "s1": 2,
        "s2": 2,
        "s3": 1,
        "s4": 2,
        "s5": 2,
        "s6": 0,
    }
    assert dp.delivered(subscriber="p2") == 2
    pmessages = [e for e in sim.trace.of_kind("deliver") if e["target"] == "p2"]
    assert {e["push"] for e in pmessages} == {"pmessage"}
