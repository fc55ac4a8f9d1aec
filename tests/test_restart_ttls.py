"""TTLs across a restart (§21.4): the RDB and the AOF keep them as absolute deadlines; a
master loading an RDB skips the keys whose deadline passed and feeds a DEL for each
into its new backlog, so a replica that resyncs partially deletes them too. Checked
against real Redis 7.0.15 (tests/data/master-restart.json, ``ttl``: recorded by
``python3 -m benchmarks.realredis_master_restart``)."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.config import NodeConfig
from simulator.dataplane.persistence import Persistence
from simulator.replication import UNIX_BASE_MS
from tests.test_expiry import cluster, key_on, run
from tests.test_replication_stream_tcp import kinds

REAL = json.loads((Path(__file__).parent / "data" / "master-restart.json").read_text())["ttl"]


def persistence(**config: object) -> Persistence:
    return Persistence(NodeConfig({"save": "", **config}))


def test_an_rdb_keeps_each_ttl_as_its_deadline() -> None:
    p = persistence(save="3600 1")
    p.record_write(10, "a", "1")
    p.record_expire(10, "a", UNIX_BASE_MS + 5000)
    p.record_write(20, "b", "2")
    p.record_expire(20, "b", UNIX_BASE_MS + 9000)
    p.record_expire(30, "b", None)  # PERSIST
    p.record_expire(30, "missing", UNIX_BASE_MS)  # EXPIRE on no key: nothing
    p.snapshot(40)
    p.record_expire(50, "a", UNIX_BASE_MS + 7000)  # after the snapshot: lost with it
    assert p.restore(60, power_loss=False) == {"a": "1", "b": "2"}
    assert p.loaded_ttls == {"a": UNIX_BASE_MS + 5000}
    assert p.loaded_from_rdb


def test_the_aof_replays_ttls_up_to_its_fsync_horizon() -> None:
    p = persistence(appendonly=True, appendfsync="everysec")
    p.record_write(100, "a", "1")
    p.record_expire(100, "a", UNIX_BASE_MS + 5000)
    p.record_expire(1500, "a", None)  # after the last whole-second fsync: lost
    assert p.restore(1700, power_loss=True) == {"a": "1"}
    assert p.loaded_ttls == {"a": UNIX_BASE_MS + 5000} and not p.loaded_from_rdb
    p.record_expire(1800, "a", None)
    p.record_write(1900, "a", None)  # DEL drops the key and its TTL
    assert p.restore(2000, power_loss=False) == {} and p.loaded_ttls == {}


def test_a_full_sync_leaves_the_masters_ttls_in_the_replicas_rdb() -> None:
    sim, dp = cluster(save="3600 1")
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "v", "EX", "100")
    sim.run_for(300)
    sim.inject("kill", node="n4")
    sim.inject("restart", node="n4")  # no RDB yet: empty, a full sync
    sim.run_for(8000)
    assert kinds(sim, "full_sync", 0)
    n4 = sim.cluster.node("n4")
    deadline = dp.data(sim.cluster.node("n1")).expires.get(key)
    sim.inject("kill", node="n4")
    sim.inject("restart", node="n4")  # loads the RDB the full sync left
    assert dp.data(n4).expires.get(key) == deadline


def test_a_master_restarted_from_its_rdb_keeps_ttls_and_drops_what_expired_meanwhile() -> None:
    assert REAL["master_loaded"] == "Done loading RDB, keys loaded: 2, keys expired: 1."
    assert 95 <= REAL["master_ttl_live"] <= 100
    assert (REAL["replica_dbsize_before"], REAL["replica_dbsize_after"]) == (3, 2)
    assert "Successful partial resynchronization with master." in REAL["replica_log"]
    sim, dp = cluster(save="3600 1", **{"cluster-node-timeout": 5000})
    live, short, plain = (
        key_on(sim, "n1", "live"),
        key_on(sim, "n1", "short"),
        key_on(sim, "n1", "p"),
    )
    run(dp, sim, "n1", "SET", live, "v", "EX", "100")
    run(dp, sim, "n1", "SET", short, "v", "PX", "1500")
    run(dp, sim, "n1", "SET", plain, "v")
    sim.run_for(300)
    n1, n4 = sim.cluster.node("n1"), sim.cluster.node("n4")
    assert len(dp.data(n4).keys) == 3
    deadline = dp.data(n1).expires.get(live)
    assert deadline == UNIX_BASE_MS + 100 + 100_000  # set at 100 ms
    sim.inject("shutdown", node="n1")
    sim.run_for(2000)  # short's deadline passes while n1 is down
    sim.inject("restart", node="n1")
    back_at = sim.now
    loaded = kinds(sim, "loaded", back_at)
    assert [(e["node"], e["keys"], e["expired"]) for e in loaded] == [("n1", 2, 1)]
    assert dp.data(n1).expires.get(live) == deadline
    assert sorted(dp.data(n1).keys) == sorted([live, plain])
    sim.run_for(3000)
    psync = [e for e in kinds(sim, "psync", back_at) if e["node"] == "n4"]
    assert psync and psync[0]["mode"] == "partial"
    assert sorted(dp.data(n4).keys) == sorted([live, plain])  # the DEL came with the PSYNC
    assert dp.data(n4).expires.get(live) == dp.data(n1).expires.get(live)


def test_a_replica_restarted_from_its_rdb_keeps_expired_keys_for_its_master_to_delete() -> None:
    sim, dp = cluster(save="3600 1")
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "v", "PX", "1000")
    sim.run_for(300)
    n4 = sim.cluster.node("n4")
    sim.inject("shutdown", node="n4")
    sim.run_for(1500)  # the deadline passes while n4 is down
    restart_at = sim.now
    sim.inject("restart", node="n4")
    loaded = kinds(sim, "loaded", restart_at)
    assert [(e["node"], e["keys"], e["expired"]) for e in loaded] == [("n4", 1, 0)]
    sim.run_for(500)
    # the master's DEL (its expire cycle ran meanwhile) reached n4 with the partial resync
    assert [e["mode"] for e in kinds(sim, "psync", restart_at)] == ["partial"]
    assert key not in dp.data(n4).keys
