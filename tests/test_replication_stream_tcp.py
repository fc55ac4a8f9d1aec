"""The replication stream on a TCP connection (§20.4, issue 11): one test per rule.

A cut shorter than ``repl-timeout`` only delays the stream (it waits in the master's
socket and arrives in order at the next retransmission); a longer one makes the
replica drop the link (``replicationCron``) and PSYNC after the heal, partial when the
backlog still covers its offset, else full; the master frees a replica whose ACKs
stopped for ``repl-timeout``, or whose output buffer went over
``client-output-buffer-limit``; a freed socket loses what it held; REPLCONF ACKs ride
the same connection."""

from __future__ import annotations

from typing import Any

from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.dataplane.model import ClusterData
from simulator.introspection import info_replication
from simulator.links import CLOSED, LINUX
from simulator.simulation import Simulation

NT = 15_000  # the default: n4 cut off from n1 alone never fails anything over


def cluster(seed: int = 1, **config: Any) -> tuple[Simulation, ClusterData]:
    sim = Simulation(
        masters=3,
        replicas=1,
        seed=seed,
        config={"cluster-node-timeout": NT, **config},
        checkpoint_ms=None,  # never rewound here: a checkpoint is a pickle of the model
    )
    return sim, install(sim)


def writer(dp: ClusterData, rate: int = 50) -> None:
    """``rate`` SETs a second over every slot (a third on n1's shard), ~40 stream bytes each."""
    client = add_client(dp, "w", keys="k{i}", key_count=500, writes=1.0)
    client.set_workload(rate=rate)


def cut_pair(sim: Simulation) -> None:
    """n1 and its replica n4 cannot reach each other; everyone else reaches both."""
    sim.inject("cut", **{"from": ["n1"], "to": ["n4"]})
    sim.inject("cut", **{"from": ["n4"], "to": ["n1"]})


def kinds(sim: Simulation, kind: str, since: int) -> list[dict[str, Any]]:
    return [e for e in sim.trace.of_kind(kind) if e["t"] >= since]


def info(sim: Simulation, name: str) -> dict[str, str]:
    text = info_replication(sim.cluster, name)
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def test_a_cut_shorter_than_repl_timeout_delays_the_stream_and_loses_nothing() -> None:
    """5 s cut: the stream waits in n1's socket; n4 keeps its link (``master_link_status:
    up``, no resync), and after the heal everything arrives in order at the next
    retransmission (RTO 200 ms doubling: sent again at 0.2, 0.6, 1.4, 3.0, 6.2 s)."""
    sim, dp = cluster()
    writer(dp)
    sim.run_for(2000)
    n1, n4 = sim.cluster.node("n1"), sim.cluster.node("n4")
    cut_at = sim.now
    cut_pair(sim)
    offsets = [n4.repl_offset]
    for _ in range(50):
        sim.run_for(100)
        offsets.append(n4.repl_offset)
    assert n1.repl_offset > offsets[-1] == offsets[5]  # stalled behind the cut
    assert info(sim, "n4")["master_link_status"] == "up"
    sim.inject("heal")
    heal_at = sim.now
    sim.run_for(100)
    assert n4.repl_offset < n1.repl_offset  # not yet: the next RTO is ~1.2 s away
    while n4.repl_offset == offsets[-1]:
        sim.run_for(10)
    caught_up = sim.now
    # The stalled segment was first sent within 100 ms of the cut: retransmitted at
    # +0.2, +0.6, +1.4, +3.0, +6.2 s (plus the round trip); the heal falls before +6.2.
    assert heal_at < caught_up <= cut_at + 100 + 6200 + 50
    sim.run_for(3000)
    dp.clients["w"].set_workload(rate=0)
    sim.run_for(2000)
    offsets.append(n4.repl_offset)
    assert offsets == sorted(offsets)  # continuous: never reset by a resync
    assert kinds(sim, "psync", cut_at) == [] and kinds(sim, "sync", cut_at) == []
    assert kinds(sim, "repl_timeout", cut_at) == []
    assert n4.repl.down_since is None and n4.repl_offset == n1.repl_offset
    assert dp.data(n4).keys == dp.data(n1).keys
    assert dp.lost_writes() == []


def test_a_cut_longer_than_repl_timeout_drops_the_link_then_partial_resync() -> None:
    """70 s cut: ``replicationCron`` on n4 sees its master silent for over repl-timeout
    (60 s) and frees it (``master_link_status:down``, ``repl_down_since`` set); n1 frees
    n4 for its missing ACKs; after the heal n4 PSYNCs and the backlog (1 MiB) covers it."""
    sim, dp = cluster()
    writer(dp, rate=20)
    sim.run_for(2000)
    n1, n4 = sim.cluster.node("n1"), sim.cluster.node("n4")
    cut_at = sim.now
    master_end = n1.repl.streams["n4"]
    cut_pair(sim)
    sim.run_for(30_000)
    assert info(sim, "n4")["master_link_status"] == "up"
    assert master_end.queued_bytes > 0  # the stream waits in n1's socket
    offset_at_cut = n4.repl_offset
    sim.run_for(40_000)
    timeout = kinds(sim, "repl_timeout", cut_at)
    assert [(e["node"], e["target"]) for e in timeout] == [("n4", "n1")]
    assert 60_000 < timeout[0]["t"] - cut_at <= 62_000
    assert info(sim, "n4")["master_link_status"] == "down"
    assert n4.repl.down_since == timeout[0]["t"]
    dropped = kinds(sim, "repl_replica_dropped", cut_at)
    assert [(e["node"], e["target"], e["reason"]) for e in dropped] == [("n1", "n4", "timeout")]
    # A freed socket loses what it held: nothing of it is delivered after the heal.
    assert master_end.state == CLOSED and master_end.queued_bytes == 0
    assert "n4" not in n1.repl.streams
    heal_at = sim.now
    sim.inject("heal")
    sim.run_for(3000)
    psync = kinds(sim, "psync", heal_at)
    assert [(e["node"], e["target"], e["mode"]) for e in psync] == [("n4", "n1", "partial")]
    assert psync[0]["offset"] == offset_at_cut  # it resumes where the cut left it
    assert info(sim, "n4")["master_link_status"] == "up"
    dp.clients["w"].set_workload(rate=0)
    sim.run_for(1000)
    assert n4.repl_offset == n1.repl_offset and dp.data(n4).keys == dp.data(n1).keys


def test_a_cut_longer_than_repl_timeout_beyond_the_backlog_needs_a_full_sync() -> None:
    """Same 70 s cut with ``repl-backlog-size`` 16 KB and enough writes to overrun it:
    the backlog no longer covers n4's offset, so its PSYNC gets a full resync."""
    sim, dp = cluster(**{"repl-backlog-size": 16_384})
    writer(dp, rate=300)
    sim.run_for(2000)
    cut_at = sim.now
    cut_pair(sim)
    sim.run_for(70_000)
    heal_at = sim.now
    sim.inject("heal")
    sim.run_for(10_000)
    assert [e["node"] for e in kinds(sim, "repl_timeout", cut_at)] == ["n4"]
    psync = kinds(sim, "psync", heal_at)
    assert [(e["node"], e["mode"]) for e in psync] == [("n4", "full")]
    assert kinds(sim, "full_sync", heal_at)


def test_replconf_acks_ride_the_link_and_wait_behind_a_cut() -> None:
    """``replicationSendAck`` once a second on n4's socket: during a 5 s cut n1's
    ``repl_ack_time`` for n4 stops; the ACKs n4 queued arrive after the heal."""
    sim, _ = cluster()
    sim.run_for(5000)
    n1 = sim.cluster.node("n1")
    before = n1.repl.acks["n4"][1]
    assert sim.now - before <= 1100
    cut_pair(sim)
    sim.run_for(5000)
    assert n1.repl.acks["n4"][1] == before  # nothing gets through
    assert sim.cluster.node("n4").repl.link is not None
    assert sim.cluster.node("n4").repl.link.queued_bytes > 0  # waiting in n4's socket
    sim.inject("heal")
    sim.run_for(LINUX.rto_max_ms // 20)  # 6 s: past the next retransmission
    assert n1.repl.acks["n4"][1] > before + 5000


def test_client_output_buffer_limit_frees_a_replica_over_the_hard_limit() -> None:
    """``checkClientOutputBufferLimits``: what n4's socket did not take is n1's output
    buffer for it (beyond the kernel's 16 KB); over the hard limit n1 frees n4 at once
    (here lowered to 8 KB so a short cut fills it); n4 learns by RST after the heal and
    resyncs."""
    sim, dp = cluster()
    sim.cluster.replica_obuf_limit = (8 * 1024, 4 * 1024, 60)
    writer(dp, rate=600)
    sim.run_for(2000)
    cut_at = sim.now
    n1 = sim.cluster.node("n1")
    cut_pair(sim)
    sim.run_for(5000)
    dropped = kinds(sim, "repl_replica_dropped", cut_at)
    assert [(e["node"], e["target"], e["reason"]) for e in dropped] == [
        ("n1", "n4", "output_buffer_limit")
    ]
    assert dropped[0]["bytes"] > 8 * 1024
    assert "n4" not in n1.repl.streams
    heal_at = sim.now
    sim.inject("heal")
    sim.run_for(10_000)
    assert [e["node"] for e in kinds(sim, "psync", heal_at)] == ["n4"]


def test_client_output_buffer_limit_soft_limit_needs_its_seconds() -> None:
    """Over the soft limit (but under the hard one) for fewer than its seconds: kept;
    for longer: freed (``obuf_soft_limit_reached_time``)."""
    sim, dp = cluster()
    sim.cluster.replica_obuf_limit = (1 << 30, 4 * 1024, 10)
    writer(dp, rate=600)
    sim.run_for(2000)
    cut_at = sim.now
    cut_pair(sim)
    sim.run_for(5000)
    assert kinds(sim, "repl_replica_dropped", cut_at) == []
    sim.run_for(10_000)
    dropped = kinds(sim, "repl_replica_dropped", cut_at)
    assert [(e["target"], e["reason"]) for e in dropped] == [("n4", "output_buffer_limit")]
    assert 10_000 <= dropped[0]["t"] - cut_at <= 15_000
