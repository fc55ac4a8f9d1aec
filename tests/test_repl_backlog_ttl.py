"""``repl-backlog-ttl`` (§20.1, ``replicationCron``): a master without replicas for more
than the TTL frees its backlog and takes a new replication ID, so a replica that comes
back needs a full sync; 0 keeps the backlog forever; the count starts again when a
replica is promoted (``replicationUnsetMaster``)."""

from __future__ import annotations

from simulator.dataplane import install
from simulator.dataplane.model import ClusterData
from simulator.resp.client import PortMap
from simulator.resp.info import replication_lines
from simulator.simulation import Simulation
from tests.test_replication_stream_tcp import cluster, cut_pair, kinds, writer


def backlog_info(dp: ClusterData, name: str) -> dict[str, str]:
    """INFO replication's backlog fields, as a RESP client reads them."""
    node = dp.cluster.nodes[name]
    lines = replication_lines(dp, node, PortMap())
    return dict(line.split(":", 1) for line in lines if line.startswith("repl_backlog_"))


def cut_until_dropped(sim: Simulation, dp: ClusterData) -> int:
    """Cut n1 from its replica n4 until n1 frees it (repl-timeout 5 s); the drop's time."""
    writer(dp, rate=20)
    sim.run_for(2000)
    cut_at = sim.now
    cut_pair(sim)
    while not kinds(sim, "repl_replica_dropped", cut_at):
        sim.run_for(100)
    return int(kinds(sim, "repl_replica_dropped", cut_at)[0]["t"])


def test_a_master_frees_its_backlog_after_the_ttl_without_replicas() -> None:
    sim, dp = cluster(**{"repl-timeout": 5, "repl-backlog-ttl": 10})
    dropped_at = cut_until_dropped(sim, dp)
    n1 = sim.cluster.node("n1")
    old_replid = n1.repl.replid
    assert n1.repl.no_replicas_since == dropped_at
    assert n1.repl.buffer_mem(n1.config.get("repl-backlog-size")) > 0
    assert backlog_info(dp, "n1")["repl_backlog_active"] == "1"
    sim.run_for(9000)
    assert kinds(sim, "backlog_freed", dropped_at) == []  # not yet: 10 whole seconds
    sim.run_for(4000)
    freed = kinds(sim, "backlog_freed", dropped_at)
    assert [(e["node"], e["ttl_s"]) for e in freed] == [("n1", 10)]
    # more than 10 whole unix seconds, seen by the once-a-second replicationCron
    assert 10_000 < freed[0]["t"] - dropped_at <= 12_000
    assert n1.repl.buffer_mem(n1.config.get("repl-backlog-size")) == 0
    assert n1.repl.replid != old_replid and n1.repl.replid2 == ""
    assert n1.repl.second_offset == -1
    assert backlog_info(dp, "n1") == {
        "repl_backlog_active": "0",
        "repl_backlog_size": "1048576",
        "repl_backlog_first_byte_offset": "0",
        "repl_backlog_histlen": "0",
    }
    heal_at = sim.now
    sim.inject("heal")
    sim.run_for(10_000)
    psync = kinds(sim, "psync", heal_at)
    assert [(e["node"], e["mode"]) for e in psync][:1] == [("n4", "full")]
    assert kinds(sim, "full_sync", heal_at)
    dp.clients["w"].set_workload(rate=0)
    sim.run_for(2000)
    assert dp.data(sim.cluster.node("n4")).keys == dp.data(n1).keys
    assert n1.repl.buffer_mem(n1.config.get("repl-backlog-size")) > 0  # a new backlog


def test_a_ttl_of_zero_keeps_the_backlog_and_the_return_is_partial() -> None:
    sim, dp = cluster(**{"repl-timeout": 5, "repl-backlog-ttl": 0})
    dropped_at = cut_until_dropped(sim, dp)
    sim.run_for(30_000)
    assert kinds(sim, "backlog_freed", 0) == []
    heal_at = sim.now
    sim.inject("heal")
    sim.run_for(10_000)
    assert dropped_at < heal_at
    psync = kinds(sim, "psync", heal_at)
    assert [(e["node"], e["mode"]) for e in psync][:1] == [("n4", "partial")]


def test_a_promoted_replica_counts_its_time_without_replicas_from_the_promotion() -> None:
    """n4 has run 15 s when it replaces n1 (which stays dead): without
    ``replicationUnsetMaster``'s reset it would free its backlog on its first cron."""
    sim, _ = cluster(**{"cluster-node-timeout": 2000, "repl-backlog-ttl": 10})
    sim.run_for(15_000)
    sim.inject("kill", node="n1")
    assert sim.run_until_condition(lambda: bool(kinds(sim, "promoted", 0)), 20_000)
    promoted = kinds(sim, "promoted", 0)[0]
    assert promoted["node"] == "n4"
    n4 = sim.cluster.node("n4")
    assert n4.repl.no_replicas_since == promoted["t"]
    sim.run_for(9000)
    assert kinds(sim, "backlog_freed", 0) == []
    sim.run_for(4000)
    freed = kinds(sim, "backlog_freed", 0)
    assert [e["node"] for e in freed] == ["n4"]
    assert 10_000 < freed[0]["t"] - promoted["t"] <= 12_000


def test_a_master_without_backlog_or_replicas_feeds_no_stream() -> None:
    """``replicationFeedSlaves`` returns at once without a backlog and a replica: a lone
    master's writes do not move its offset (the real one stayed at 50 after a SET)."""
    sim = Simulation(masters=3, replicas=0, seed=1, checkpoint_ms=None)
    dp = install(sim)
    writer(dp, rate=50)
    n1 = sim.cluster.node("n1")
    before = n1.repl.offset
    sim.run_for(3000)
    assert dp.data(n1).keys  # it took writes
    assert n1.repl.offset == before and not n1.repl.backlog
    assert backlog_info(dp, "n1")["repl_backlog_active"] == "0"
