"""Persistence on crash and restart in the running cluster (§21): what each policy
brings back after kill -9 and after a power loss, graceful shutdown, and the trap of
§20.2/§21.3 — a master without persistence restarted inside NT comes back empty and
its replica resyncs to empty, with no failover."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.dataplane import install
from simulator.dataplane.model import ClusterData
from simulator.introspection import cluster_nodes
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

WRITE_TIMES = list(range(100, 3000, 100))  # 29 writes, one every 100 ms
CRASH_AT = 2950


def n1_keys(count: int) -> list[str]:
    keys: list[str] = []
    i = 0
    while len(keys) < count:
        if key_hash_slot(f"p{i}") <= 5460:
            keys.append(f"p{i}")
        i += 1
    return keys


def crash_and_restart(config: dict[str, Any], power_loss: bool) -> tuple[Simulation, ClusterData]:
    """3 masters without replicas (so nothing else holds the data); 29 writes to n1;
    n1 crashes at 2950 ms and restarts 50 ms later (inside NT, so it stays master)."""
    sim = Simulation(masters=3, replicas=0, seed=1, config={"cluster-node-timeout": 5000, **config})
    dp = install(sim)
    for key, t in zip(n1_keys(len(WRITE_TIMES)), WRITE_TIMES, strict=True):
        sim.run_until(t)
        sim.inject("write", key=key, value=f"v{t}")
    sim.run_until(CRASH_AT)
    sim.inject("kill", node="n1", power_loss=power_loss)
    sim.run_for(50)
    sim.inject("restart", node="n1")
    sim.run_for(100)
    return sim, dp


def kept(dp: ClusterData, sim: Simulation) -> list[int]:
    """The write times whose value n1 holds after the restart."""
    data = dp.data(sim.cluster.node("n1"))
    return sorted(int(v[1:]) for v in (value for value, _ in data.keys.values()))


AOF = {"appendonly": True, "save": ""}


@pytest.mark.parametrize(
    ("name", "config", "power_loss", "survivors"),
    [
        ("aof-always/kill", {**AOF, "appendfsync": "always"}, False, WRITE_TIMES),
        ("aof-always/power", {**AOF, "appendfsync": "always"}, True, WRITE_TIMES),
        ("aof-everysec/kill", {**AOF, "appendfsync": "everysec"}, False, WRITE_TIMES),
        # fsynced on the whole-second tick before the crash: writes before 2000 ms
        ("aof-everysec/power", {**AOF, "appendfsync": "everysec"}, True, WRITE_TIMES[:19]),
        ("aof-no/kill", {**AOF, "appendfsync": "no"}, False, WRITE_TIMES),
        ("aof-no/power", {**AOF, "appendfsync": "no"}, True, []),  # nothing 30 s old
        ("none/kill", {"appendonly": False, "save": ""}, False, []),
        ("none/power", {"appendonly": False, "save": ""}, True, []),
    ],
)
def test_what_each_aof_policy_brings_back(
    name: str, config: dict[str, Any], power_loss: bool, survivors: list[int]
) -> None:
    sim, dp = crash_and_restart(config, power_loss)
    assert kept(dp, sim) == survivors, name
    lost = sorted(int(w["value"][1:]) for w in dp.lost_writes())
    assert lost == sorted(set(WRITE_TIMES) - set(survivors))
    assert [e["keys"] for e in sim.trace.of_kind("loaded")] == [len(survivors)]


@pytest.mark.parametrize("power_loss", [False, True])
def test_rdb_restores_the_last_snapshot_either_way(power_loss: bool) -> None:
    """``save 1 1``: a snapshot once more than a second passed with a change (§21.1);
    the restart loads exactly the writes up to the last one, crash kind regardless."""
    sim, dp = crash_and_restart({"appendonly": False, "save": "1 1"}, power_loss)
    snapshot = dp.data(sim.cluster.node("n1")).persistence.last_snapshot_time
    assert snapshot is not None and snapshot < CRASH_AT
    survivors = kept(dp, sim)
    assert 0 < len(survivors) < len(WRITE_TIMES)
    assert survivors == WRITE_TIMES[: len(survivors)]
    assert survivors[-1] <= snapshot < WRITE_TIMES[len(survivors)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_save_points_are_checked_on_every_server_cron_pass(seed: int) -> None:
    """``serverCron`` (``hz`` 10) checks ``dirty >= changes && unixtime - lastsave >
    seconds`` on every pass: with ``save 1 1`` the BGSAVE starts on the first 100 ms pass
    after the unix second that makes it true, not up to a second later (§21.1)."""
    sim = Simulation(masters=3, replicas=0, seed=seed, config={"save": "1 1", "appendonly": False})
    dp = install(sim)
    sim.run_for(100)
    sim.inject("write", key=n1_keys(1)[0], value="v")
    sim.run_for(3000)
    persistence = dp.data(sim.cluster.node("n1")).persistence
    saved = persistence.last_snapshot_time
    assert saved is not None
    due = (0 // 1000 + 2) * 1000  # lastsave at 0: true once unixtime - 0 > 1 s
    assert due <= saved < due + 100


def test_graceful_shutdown_saves_an_rdb_when_save_points_exist() -> None:
    sim = Simulation(masters=3, replicas=0, seed=1, config={"save": "3600 1", "appendonly": False})
    dp = install(sim)
    keys = n1_keys(5)
    for key in keys:
        sim.inject("write", key=key, value="v")
    sim.run_for(100)
    sim.inject("shutdown", node="n1")
    sim.run_for(100)
    sim.inject("restart", node="n1")
    sim.run_for(100)
    assert sorted(dp.data(sim.cluster.node("n1")).keys) == sorted(keys)
    assert dp.lost_writes() == []


def test_master_restarted_within_nt_without_persistence_empties_its_shard() -> None:
    """The trap (§20.2, §21.3): n1 comes back empty as master (nodes.conf), no one marked
    it FAIL so there is no failover, and its replica full-resyncs to the empty dataset
    after repl-diskless-sync-delay ([obs]: replica at 0 keys about 6 s later)."""
    sim = Simulation(
        masters=3,
        replicas=1,
        seed=1,
        config={"cluster-node-timeout": 3000, "save": "", "appendonly": False},
    )
    dp = install(sim)
    keys = n1_keys(85)
    for key in keys:
        sim.inject("write", key=key, value=f"v-{key}")
    sim.run_for(1000)
    n1, n4 = sim.cluster.node("n1"), sim.cluster.node("n4")
    assert len(dp.data(n4).keys) == 85
    sim.inject("kill", node="n1")
    sim.run_for(500)
    sim.inject("restart", node="n1")
    restarted = sim.now
    sim.run_for(100)
    n1 = sim.cluster.node("n1")
    assert n1.is_master and dp.data(n1).keys == {}
    assert len(dp.data(n4).keys) == 85  # not yet: the full sync waits 5 s
    sim.run_for(8000)
    full = sim.trace.first("full_sync", node="n4")
    assert full is not None and full["keys"] == 0
    # n4 reconnects at its next replicationCron pass (once a second), then waits 5 s
    assert 5000 <= full["t"] - restarted <= 6200
    assert dp.data(n4).keys == {}
    assert n1.is_master and n4.master_name == "n1"
    assert sim.trace.of_kind("promoted") == []
    assert sorted(w["key"] for w in dp.lost_writes()) == sorted(keys)


def test_with_aof_the_same_restart_loses_nothing() -> None:
    sim = Simulation(
        masters=3,
        replicas=1,
        seed=1,
        config={"cluster-node-timeout": 3000, "save": "", "appendonly": True},
    )
    dp = install(sim)
    for key in n1_keys(20):
        sim.inject("write", key=key, value=f"v-{key}")
    sim.run_for(1000)
    sim.inject("kill", node="n1")
    sim.run_for(500)
    sim.inject("restart", node="n1")
    sim.run_for(8000)
    assert len(dp.data(sim.cluster.node("n4")).keys) == 20
    assert dp.lost_writes() == []


def replica_restart(config: dict[str, Any]) -> tuple[Simulation, ClusterData, int]:
    """n4 (n1's replica) is killed after 10 writes, 10 more land on n1 while it is down,
    and it restarts 2 s later (inside NT: still n1's replica). Returns the restart time."""
    sim = Simulation(
        masters=3,
        replicas=1,
        seed=2,
        config={"cluster-node-timeout": 5000, **config},
    )
    dp = install(sim)
    keys = n1_keys(20)
    for key in keys[:10]:
        sim.inject("write", key=key, value=f"before-{key}")
    sim.run_for(2500)  # with "1 1", a save point fires on the server cron at 2 s
    sim.inject("kill", node="n4")
    for key in keys[10:]:
        sim.inject("write", key=key, value=f"while-down-{key}")
    sim.run_for(2000)
    sim.inject("restart", node="n4")
    restarted = sim.now
    sim.run_for(100)
    return sim, dp, restarted


def test_a_replica_restarted_from_its_rdb_partially_resyncs() -> None:
    """§21.3: replicas keep their replication ID/offset in the RDB, so a restarted one
    can partial-resync (``loadDataFromDisk`` restores them for a replica): it gets the
    10 writes it missed from n1's backlog at once, with no full sync."""
    sim, dp, restarted = replica_restart({"save": "1 1", "appendonly": False})
    loaded = sim.trace.first("loaded", node="n4")
    assert loaded is not None and loaded["keys"] == 10 and loaded["offset"] > 0
    psync = [e for e in sim.trace.of_kind("psync") if e["node"] == "n4" and e["t"] >= restarted]
    assert [e["mode"] for e in psync] == ["partial"]
    assert psync[0]["offset"] == loaded["offset"]
    n1, n4 = sim.cluster.node("n1"), sim.cluster.node("n4")
    assert dp.data(n4).keys.keys() == dp.data(n1).keys.keys() and len(dp.data(n4).keys) == 20
    assert n4.repl_offset == n1.repl_offset
    assert [e for e in sim.trace.of_kind("full_sync") if e["t"] >= restarted] == []


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("no persistence", {"save": "", "appendonly": False}),
        ("aof only", {"save": "", "appendonly": True}),
    ],
)
def test_a_replica_restarted_without_an_rdb_starts_at_offset_0_and_full_resyncs(
    name: str, config: dict[str, Any]
) -> None:
    """Without an RDB (or with the AOF, which 7.0 loads instead and which carries no
    replication ID) the restarted process has a new ID and offset 0, ranks last in an
    election meanwhile, and can only full-resync, after repl-diskless-sync-delay."""
    sim, _, restarted = replica_restart(config)
    loaded = sim.trace.first("loaded", node="n4")
    assert loaded is not None and loaded["offset"] == 0
    psync = [e for e in sim.trace.of_kind("psync") if e["node"] == "n4" and e["t"] >= restarted]
    assert [e["mode"] for e in psync] == ["full"] and psync[0]["offset"] == 0
    sim.run_for(7000)
    full = [e for e in sim.trace.of_kind("full_sync") if e["node"] == "n4"]
    # 5 whole unix seconds of waiting, checked by the master's once-a-second
    # replicationCron (§20.5): 4-6 s after the PSYNC
    assert full and 4000 < full[-1]["t"] - psync[0]["t"] <= 6100 and full[-1]["keys"] == 20


def test_a_restarted_master_with_keys_of_a_slot_it_lost_marks_it_importing() -> None:
    """verifyClusterConfigWithData (§16.1, §21.3): n1's RDB still holds slot 0's keys,
    but its nodes.conf says n2 owns slot 0 now: at start-up n1 marks slot 0 importing
    from n2 (CLUSTER NODES shows ``[0-<-n2's id]``) instead of serving or dropping it."""
    sim = Simulation(
        masters=3, replicas=0, seed=3, config={"save": "", "cluster-node-timeout": 5000}
    )
    dp = install(sim)
    slot0 = [f"{{{_tag(0)}}}:{j}" for j in range(5)]
    for key in slot0:
        sim.inject("write", key=key, value="v")
    sim.run_for(100)
    n1 = sim.cluster.node("n1")
    dp.data(n1).persistence.snapshot(sim.now)  # BGSAVE with slot 0's keys in it
    job = sim.inject("reshard", source="n1", target="n2", slots=[0])
    while not job.done:
        sim.run_for(20)
    sim.run_for(500)
    sim.inject("kill", node="n1")
    sim.run_for(50)
    sim.inject("restart", node="n1")
    sim.run_for(100)
    n1, n2 = sim.cluster.node("n1"), sim.cluster.node("n2")
    assert n1.slot_owner(0) == "n2" and n1.importing == {0: "n2"}
    event = sim.trace.first("setslot", node="n1", by="verifyClusterConfigWithData")
    assert event is not None and event["arg"] == "IMPORTING" and event["target"] == "n2"
    assert f"[0-<-{n2.id}]" in cluster_nodes(sim.cluster, "n1")
    assert sorted(dp.data(n1).keys) == sorted(slot0)


def test_a_restarted_master_with_keys_of_an_unassigned_slot_claims_it() -> None:
    sim = Simulation(
        masters=3,
        replicas=0,
        seed=3,
        config={"save": "", "appendonly": True, "cluster-node-timeout": 5000},
    )
    install(sim)
    sim.inject("write", key=f"{{{_tag(7)}}}:a", value="v")
    sim.run_for(100)
    n1 = sim.cluster.node("n1")
    assert n1.cluster_delslots([7]) == "OK"  # CLUSTER DELSLOTS 7 on n1 only, keys kept
    sim.run_for(50)
    sim.inject("kill", node="n1")
    sim.run_for(50)
    sim.inject("restart", node="n1")
    sim.run_for(100)
    n1 = sim.cluster.node("n1")
    assert n1.slot_owner(7) == "n1"
    event = sim.trace.first("setslot", node="n1", by="verifyClusterConfigWithData")
    assert event is not None and event["arg"] == "ADDSLOTS" and event["slot"] == 7


def _tag(slot: int) -> str:
    i = 0
    while key_hash_slot(f"t{i}") != slot:
        i += 1
    return f"t{i}"
