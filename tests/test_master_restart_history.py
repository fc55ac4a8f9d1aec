"""A master's replication history across its first replica and a restart (§20.1, §21.3),
checked against what real Redis 7.0.15 did (tests/data/master-restart.json, recorded by
``python3 -m benchmarks.realredis_master_restart``):

* ``syncCommand``: a master that creates its backlog for its first replica takes a new
  replication ID and no second one;
* ``loadDataFromDisk``: a master that loads an RDB recording its history keeps it as its
  second ID, rebases its offset there and has a backlog at once, so a replica holding
  exactly the RDB's data resyncs partially; one ahead of the RDB gets a full sync at the
  RDB's offset; one whose master loaded nothing gets a full sync from offset 0;
* ``rdbPopulateSaveInfo``: a master without a backlog records no history in its RDB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simulator.dataplane import install
from simulator.dataplane.model import ClusterData
from simulator.resp.client import PortMap
from simulator.resp.info import replication_lines
from simulator.simulation import Simulation
from tests.test_replication_stream_tcp import cluster, kinds, writer

REAL = json.loads((Path(__file__).parent / "data" / "master-restart.json").read_text())
CASES = {case["case"]: case for case in REAL["cases"]}
NO_REPLID = "0" * 40


def info(sim: Simulation, name: str) -> dict[str, str]:
    """INFO replication as a RESP client reads it."""
    dp = sim.cluster.dataplane
    assert isinstance(dp, ClusterData)
    lines = replication_lines(dp, sim.cluster.node(name), PortMap())
    return dict(line.split(":", 1) for line in lines if ":" in line)


def history(sim: Simulation, name: str) -> tuple[str, str, int, int]:
    fields = info(sim, name)
    return (
        fields["master_replid"],
        fields["master_replid2"],
        int(fields["master_repl_offset"]),
        int(fields["second_repl_offset"]),
    )


def quiet_writes(sim: Simulation, dp: ClusterData) -> None:
    """Writes for 2 s, then none, until every replica has them all."""
    writer(dp, rate=50)
    sim.run_for(2000)
    dp.clients["w"].set_workload(rate=0)
    sim.run_for(1000)


def first_psync(sim: Simulation, since: int) -> dict[str, Any]:
    return next(e for e in kinds(sim, "psync", since) if e["node"] == "n4")


def test_real_redis_renews_a_masters_replid_at_its_first_replica_and_so_does_rcsim() -> None:
    for case in CASES.values():  # every real case started with a fresh master
        assert case["fresh_master"]["master_replid"] != case["after_first_replica"]["master_replid"]
        assert case["after_first_replica"]["master_replid2"] == NO_REPLID
    sim, _ = cluster(**{"repl-timeout": 5, "repl-backlog-ttl": 10})
    n1 = sim.cluster.node("n1")
    sim.run_for(500)
    sim.inject("kill", node="n4")  # n1's only replica: n1 keeps its backlog for the TTL
    sim.run_for(15_000)
    assert not n1.repl.has_backlog  # freed after repl-backlog-ttl
    freed_replid = n1.repl.replid
    sim.inject("restart", node="n4")
    back_at = sim.now
    sim.run_for(10_000)
    assert first_psync(sim, back_at)["mode"] == "full"
    replid, replid2, _, second = history(sim, "n1")
    assert replid != freed_replid  # syncCommand: a backlog from scratch, a new history
    assert (replid2, second) == (NO_REPLID, -1)
    assert info(sim, "n4")["master_replid"] == replid


def test_a_master_shut_down_cleanly_keeps_its_history_and_its_replica_resyncs_partially() -> None:
    real = CASES["shutdown"]
    assert real["after_restart"]["master_replid2"] == real["before_restart"]["master_replid"]
    assert int(real["after_restart"]["second_repl_offset"]) == (
        int(real["after_restart"]["master_repl_offset"]) + 1
    )
    assert "Successful partial resynchronization with master." in real["replica_log"]
    sim, dp = cluster(save="3600 1")
    quiet_writes(sim, dp)
    old_replid, _, old_offset, _ = history(sim, "n1")
    assert old_offset > 0 and info(sim, "n4")["master_repl_offset"] == str(old_offset)
    sim.inject("shutdown", node="n1")
    sim.run_for(1000)  # back well within NT: no failover
    sim.inject("restart", node="n1")
    back_at = sim.now
    replid, replid2, offset, second = history(sim, "n1")
    assert replid not in (old_replid, NO_REPLID)
    assert (replid2, offset, second) == (old_replid, old_offset, old_offset + 1)
    assert info(sim, "n1")["repl_backlog_active"] == "1"  # created before the load
    sim.run_for(5000)
    assert first_psync(sim, back_at)["mode"] == "partial"
    assert kinds(sim, "full_sync", back_at) == []
    assert info(sim, "n4")["master_replid"] == replid
    values = [
        {key: value for key, (value, _) in dp.data(sim.cluster.node(name)).keys.items()}
        for name in ("n1", "n4")
    ]
    assert values[0] == values[1] and values[0]


def test_a_replica_ahead_of_its_masters_rdb_gets_a_full_sync_at_the_rdb_offset() -> None:
    real = CASES["kill_after_bgsave"]
    saved = int(real["after_restart"]["master_repl_offset"])
    assert 0 < saved < int(real["replica_before_restart"]["master_repl_offset"])
    assert real["replica_log"][-1].endswith(f"{real['after_restart']['master_replid']}:{saved}")
    sim, dp = cluster(save="1 1")  # a save point that a second of writes reaches
    quiet_writes(sim, dp)
    n1 = sim.cluster.node("n1")
    persistence = dp.data(n1).persistence
    saved_replid, saved_offset = persistence.snapshot_repl or ("", -1)
    persistence.save_points = []  # no save after this one (as CONFIG SET save "")
    dp.clients["w"].set_workload(rate=50)
    sim.run_for(1000)
    dp.clients["w"].set_workload(rate=0)
    sim.run_for(1000)
    assert history(sim, "n1")[2] > saved_offset  # the replica holds more than the RDB
    sim.inject("kill", node="n1")
    sim.inject("restart", node="n1")
    back_at = sim.now
    replid, replid2, offset, _ = history(sim, "n1")
    assert (replid2, offset) == (saved_replid, saved_offset)
    sim.run_for(10_000)
    psync = first_psync(sim, back_at)
    assert psync["mode"] == "full"
    assert history(sim, "n1")[0] == replid  # it had a backlog: no new ID at the sync
    assert info(sim, "n4")["master_replid"] == replid


def test_a_master_restarted_with_nothing_to_load_starts_over_at_offset_0() -> None:
    real = CASES["kill_no_rdb"]
    assert real["after_restart"]["master_repl_offset"] == "0"
    assert real["after_restart"]["master_replid2"] == NO_REPLID
    sync_replid = real["replica_log"][-1].split("Full resync from master: ")[1].split(":")[0]
    assert sync_replid != real["after_restart"]["master_replid"]  # renewed at the sync
    sim, dp = cluster(save="")
    quiet_writes(sim, dp)
    sim.inject("kill", node="n1")
    sim.inject("restart", node="n1")
    back_at = sim.now
    replid, replid2, offset, second = history(sim, "n1")
    assert (replid2, offset, second) == (NO_REPLID, 0, -1)
    assert info(sim, "n1")["repl_backlog_active"] == "0"
    sim.run_for(10_000)
    assert first_psync(sim, back_at)["mode"] == "full"
    assert history(sim, "n1")[0] != replid


def test_rdb_populate_save_info_records_no_history_for_a_master_without_backlog() -> None:
    sim = Simulation(masters=3, replicas=0, seed=1, checkpoint_ms=None)
    dp = install(sim)
    n1 = sim.cluster.node("n1")
    assert not n1.repl.has_backlog
    assert dp.saved_repl_info(n1) is None
    sim2, dp2 = cluster()
    assert dp2.saved_repl_info(sim2.cluster.node("n1")) is not None
