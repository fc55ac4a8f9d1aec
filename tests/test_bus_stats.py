"""Bus traffic counters (simulator/bus_stats.py, docs/redis-rules.md §4.4): the sizes
Redis 7.0.15 puts on the wire, the counts agreeing with CLUSTER INFO's, the report's
``metrics.bus`` and the node view's line."""

from __future__ import annotations

import json
from pathlib import Path

from rcsim.cli import main
from simulator.bus_stats import TYPE_NAMES, wire_bytes
from simulator.messages import GossipEntry, Message, MsgType
from simulator.simulation import Simulation
from tests.conftest import CRASH_CLUSTER, KILL_N1_AND_WAIT


def _message(mtype: MsgType, **extra: object) -> Message:
    return Message(
        type=mtype,
        sender="n1",
        current_epoch=1,
        config_epoch=1,
        offset=0,
        slots=0,
        claim_fp=0,
        master=None,
        flags=1,
        state_ok=True,
        **extra,  # type: ignore[arg-type]
    )


def test_wire_sizes_are_redis_7_0_15_totlen() -> None:
    entry = GossipEntry("n2", 0, 0, 1)
    # clusterSendPing: header (offsetof(clusterMsg, data) = 2256) + 104 per gossip entry.
    assert wire_bytes(_message(MsgType.PING)) == 2256
    assert wire_bytes(_message(MsgType.PING, gossip=(entry,) * 3)) == 2256 + 3 * 104
    assert wire_bytes(_message(MsgType.PONG, gossip=(entry,) * 10)) == 2256 + 1040
    assert wire_bytes(_message(MsgType.MEET, gossip=(entry,))) == 2360
    # clusterBuildMessageHdr: FAIL and UPDATE have fixed payloads.
    assert wire_bytes(_message(MsgType.FAIL, about="n2")) == 2256 + 40
    assert wire_bytes(_message(MsgType.UPDATE, about="n2")) == 2256 + 8 + 40 + 2048
    # clusterSendPublish: header + 8 + channel + message (bytes, not characters).
    publish = _message(MsgType.PUBLISH, channel="news", payload="héllo")
    assert wire_bytes(publish) == 2256 + 8 + 4 + 6
    for header_only in (MsgType.AUTH_REQUEST, MsgType.AUTH_ACK, MsgType.MFSTART):
        assert wire_bytes(_message(header_only)) == 2256


def test_counts_match_cluster_info_and_sizes_match_the_types() -> None:
    sim = Simulation(masters=3, replicas=1, config={"cluster-node-timeout": 1000}, seed=3)
    sim.run_until(1000)
    sim.inject("kill", node="n1")
    sim.run_until(8000)
    stats = sim.cluster.bus_stats
    seen: set[str] = set()
    for node in sim.cluster.nodes.values():
        traffic = stats.node(node.index)
        # One process lived the whole run: its CLUSTER INFO counters are the same counts.
        assert traffic.sent == node.sent
        for mtype in MsgType:
            sent, size = traffic.sent[mtype], traffic.bytes[mtype]
            if sent:
                seen.add(mtype.name)
            if mtype in (MsgType.PING, MsgType.PONG, MsgType.MEET):
                assert size >= 2256 * sent and (size - 2256 * sent) % 104 == 0
            elif mtype == MsgType.FAIL:
                assert size == 2296 * sent
            elif mtype in (MsgType.AUTH_REQUEST, MsgType.AUTH_ACK):
                assert size == 2256 * sent
    # The failover used the failure and election messages, all counted.
    assert {"PING", "PONG", "FAIL", "AUTH_REQUEST", "AUTH_ACK"} <= seen
    view = sim.views.node("n4")
    assert view is not None and view.bus is not None
    n4 = stats.node(sim.cluster.node("n4").index)
    assert view.bus.sent == sum(n4.sent) and view.bus.bytes == sum(n4.bytes)
    assert view.bus.seconds == 8.0
    assert {row.type for row in view.bus.rows} >= {"PING", "PONG", "AUTH_REQUEST"}


def test_a_nodes_counters_outlive_its_restart() -> None:
    sim = Simulation(masters=3, replicas=1, config={"cluster-node-timeout": 1000}, seed=1)
    sim.run_until(3000)
    before = sum(sim.cluster.bus_stats.node(0).sent)
    assert before > 0
    sim.inject("kill", node="n1")
    sim.inject("restart", node="n1")
    sim.run_until(6000)
    n1 = sim.cluster.node("n1")
    # CLUSTER INFO restarts from zero with the process; the run's counters do not.
    assert sum(sim.cluster.bus_stats.node(n1.index).sent) == before + sum(n1.sent)


def test_report_has_metrics_bus_by_type_and_per_node(write_scenario, tmp_path: Path) -> None:
    text = (
        "name: bus\nseed: 2\n" + CRASH_CLUSTER + "steps:\n" + KILL_N1_AND_WAIT + "run_until: 6s\n"
    )
    out = tmp_path / "r.json"
    assert main(["run", str(write_scenario(text)), "--quiet", "--report", str(out)]) == 0
    bus = json.loads(out.read_text())["metrics"]["bus"]
    assert bus["seconds"] == 6.0
    assert list(bus["by_type"]) == list(TYPE_NAMES)  # every type, zeros included
    assert set(bus["per_node"]) == {f"n{i}" for i in range(1, 7)}
    for name in ("sent", "bytes"):
        assert bus["total"][name] == sum(t[name] for t in bus["by_type"].values())
        assert bus["total"][name] == sum(n["total"][name] for n in bus["per_node"].values())
    for name, row in bus["by_type"].items():
        assert set(row) == {"sent", "bytes", "sent_per_s", "bytes_per_s"}
        assert row["sent_per_s"] == round(row["sent"] / 6, 3), name
        per_node = sum(
            n["by_type"].get(name, {"sent": 0})["sent"] for n in bus["per_node"].values()
        )
        assert per_node == row["sent"]
    assert bus["by_type"]["FAIL"]["sent"] > 0 and bus["by_type"]["AUTH_ACK"]["sent"] > 0
