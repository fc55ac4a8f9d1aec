"""The replication link as replication.c runs it (issue 11 §2), one test per rule:
``repl_state``, ``repl_down_since``, INFO replication's link fields, the data age an
election reads, replicationCron's period, repl-timeout, the full sync's duration and
the master's once-a-second replicationCron that starts it (§20.5)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from simulator.dataplane import install
from simulator.introspection import info_replication
from simulator.replication import (
    RDB_KEY_OVERHEAD_BYTES,
    REPL_CONNECT,
    REPL_CONNECTED,
    REPL_TRANSFER,
    Replication,
    full_sync_transfer_ms,
    rdb_transfer_ms,
    whole_seconds_idle,
)
from simulator.simulation import Simulation

NT = 1000


def sim_of(seed: int = 1, data: bool = True, **config: Any) -> Simulation:
    sim = Simulation(
        masters=3, replicas=1, seed=seed, config={"cluster-node-timeout": NT, **config}
    )
    if data:
        install(sim)
    return sim


def events(sim: Simulation, kind: str, **match: object) -> list[dict]:
    return [
        e
        for e in sim.trace.events
        if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())
    ]


def info(sim: Simulation, name: str) -> dict[str, str]:
    text = info_replication(sim.cluster, name)
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def n1_restarted_as_replica_of_n4(sim: Simulation) -> None:
    """Kill n1, wait for n4's promotion, restart n1: it rejoins as n4's replica."""
    sim.run_until(max(sim.now, 3000))
    sim.inject("kill", node="n1")
    assert sim.run_until_condition(
        lambda: bool(events(sim, "promoted", target="n1")), sim.now + 30_000
    )
    sim.inject("restart", node="n1")
    n1 = sim.cluster.node("n1")
    assert sim.run_until_condition(lambda: not n1.is_master, sim.now + 5000)
    assert n1.master_name == "n4"


def test_a_replica_that_never_finished_its_sync_cannot_be_elected() -> None:
    """``clusterHandleSlaveFailover``: not connected, the data age runs from
    ``repl_down_since``, which is 0 ("since ever") for a link that never came up."""
    for data in (True, False):
        sim = sim_of(data=data)
        n1_restarted_as_replica_of_n4(sim)
        assert sim.cluster.node("n1").repl.state == REPL_TRANSFER  # full sync pending
        sim.run_until(sim.now + 1000)
        kill_at = sim.now
        sim.inject("kill", node="n4")
        sim.run_until(kill_at + 30 * NT)
        assert [e for e in events(sim, "promoted") if e["t"] > kill_at] == []
        refusal = events(sim, "cant_failover", node="n1", target="n4")
        assert refusal and refusal[0]["reason"] == "data_age"
        assert all(n.state == "fail" for n in sim.cluster.running_nodes())


def test_repl_down_since_is_never_until_an_established_link_is_lost() -> None:
    repl = Replication()
    assert repl.down_since is None  # server.c: 0, never connected
    repl.set_master(1000)
    repl.handshake()
    repl.transfer()
    repl.broken(2000)  # a transfer that fails leaves it alone
    assert repl.down_since is None and repl.state == REPL_CONNECT
    assert repl.data_age(3000, NT) > 10**12  # ages from the Unix epoch
    repl.connected(4000)
    assert repl.down_since is None and repl.state == REPL_CONNECTED
    repl.broken(7000)  # an established link dropped
    assert repl.down_since == 7000
    assert repl.data_age(9500, 15_000) == 2000
    repl.connected(10_000)
    assert repl.down_since is None
    repl.unset_master(12_000)  # replicationUnsetMaster resets it
    assert repl.down_since is None
    assert repl.no_replicas_since == 12_000  # and repl-backlog-ttl counts from here


def test_master_link_status_and_last_io_as_info_replication_prints_them() -> None:
    sim = sim_of()
    sim.run_until(12_500)  # n1 has PINGed its replica (repl-ping-replica-period 10 s)
    up = info(sim, "n4")
    assert up["role"] == "slave" and up["master_link_status"] == "up"
    assert 0 <= int(up["master_last_io_seconds_ago"]) <= 10
    assert "master_link_down_since_seconds" not in up
    assert sim.views.node("n4").master_link_status == "up"
    assert info(sim, "n1")["role"] == "master"
    n1_restarted_as_replica_of_n4(sim)
    syncing = info(sim, "n1")
    assert syncing["master_link_status"] == "down"
    assert syncing["master_last_io_seconds_ago"] == "-1"
    assert syncing["master_sync_in_progress"] == "1"
    assert syncing["master_link_down_since_seconds"] == "-1"  # never connected
    assert sim.views.node("n1").master_last_io_seconds_ago == -1


def test_replication_cron_retries_the_master_link_once_a_second() -> None:
    sim = sim_of(data=False, **{"cluster-node-timeout": 60_000})
    sim.run_until(3000)
    n4 = sim.cluster.node("n4")
    attempts: list[int] = []
    connect = sim.cluster.replication_connect

    def counting(replica: Any) -> None:
        if replica.name == "n4":
            attempts.append(sim.now)
        connect(replica)

    sim.cluster.replication_connect = counting  # type: ignore[method-assign]
    sim.inject("cut", **{"from": ["n1"], "to": ["n4"]})
    n4.repl.broken(sim.now)  # the link dropped behind the cut
    sim.run_until(8000)
    assert 4 <= len(attempts) <= 6, attempts  # not every 100 ms cron tick
    gaps = [b - a for a, b in pairwise(attempts)]
    assert all(gap >= 1000 for gap in gaps), gaps
    assert not n4.repl.link_up


def test_repl_timeout_drops_a_master_silent_for_longer() -> None:
    sim = sim_of(data=False, **{"cluster-node-timeout": 200_000, "repl-timeout": 20})
    sim.run_until(3000)
    sim.inject("pause", node="n1")
    sim.run_until(3000 + 15_000)
    n4 = sim.cluster.node("n4")
    assert n4.repl.link_up  # within repl-timeout the link stays up (data age keeps growing)
    sim.run_until(3000 + 35_000)
    timeout = events(sim, "repl_timeout", node="n4", target="n1")
    assert timeout
    # more than 20 s after the master's last PING (at most 10 s before the pause)
    assert timeout[0]["t"] // 1000 - n4.repl.last_interaction // 1000 > 20
    assert 3000 + 10_000 < timeout[0]["t"] <= 3000 + 23_000
    assert n4.repl.down_since == timeout[0]["t"]
    assert not n4.repl.link_up


def test_a_full_sync_takes_time_from_the_dataset_size() -> None:
    keys = {f"key{i:05d}": (20 * "v", i) for i in range(20_000)}
    size = sum(len(k) + len(v) + RDB_KEY_OVERHEAD_BYTES for k, (v, _) in keys.items())
    assert full_sync_transfer_ms(keys) == rdb_transfer_ms(len(keys), size) == 33  # 28.8 + 3.9
    assert full_sync_transfer_ms({}) == 0
    sim = sim_of(**{"repl-diskless-sync-delay": 0})
    dp = sim.extras["dataplane"]
    dp.populate({k: v for k, (v, _) in keys.items()})
    n1_restarted_as_replica_of_n4(sim)
    full = events(sim, "psync", node="n1", mode="full")[-1]
    started = events(sim, "rdb_transfer", node="n4", target="n1")[-1]
    n4_keys = dp.data(sim.cluster.node("n4")).keys
    # delay 0: the master forks at once (syncCommand), the transfer is the dataset's
    assert started["t"] == full["t"] and started["waited_ms"] == 0
    assert started["transfer_ms"] == full_sync_transfer_ms(n4_keys) > 0


def _grid_and_transfer(
    sim: Simulation, master: str, replica: str, until: int
) -> tuple[list[int], dict[str, Any]]:
    """Step ``sim``: the times the master's cron ran ``replicationCron`` (§20.5: its
    iteration is 1 modulo 10), and the first ``rdb_transfer`` to ``replica``."""
    grid: list[int] = []
    node = sim.cluster.node(master)
    last = node.iteration
    while sim.now < until:
        sim.step()
        node = sim.cluster.node(master)
        if node.iteration != last:
            last = node.iteration
            if node.iteration % 10 == 1:
                grid.append(sim.now)
        started = events(sim, "rdb_transfer", node=master, target=replica)
        if started:
            return grid, started[0]
    raise AssertionError(f"no full sync of {replica} started before {until}")


def test_a_full_sync_starts_on_the_masters_once_a_second_replication_cron() -> None:
    """``replicationStartPendingFork`` / ``shouldStartChildReplication`` (§20.5): a
    replica that needs a full sync waits for the master's ``replicationCron``, which runs
    on a 1 s grid phased from the master's start (``run_with_period(1000)``), and the
    first run that finds it idle ``repl-diskless-sync-delay`` whole unix seconds starts
    it: not a flat delay after the PSYNC."""
    offsets = set()
    for seed, kill_at in ((1, 3000), (2, 3337), (3, 4761), (4, 5123)):
        sim = sim_of(seed=seed, data=False)
        origin = sim.cluster.unix_origin_ms
        sim.run_until(kill_at)
        sim.inject("kill", node="n4")
        sim.run_for(200)
        sim.inject("restart", node="n4")  # a new process, offset 0: a full sync
        psync_at = sim.now
        grid, started = _grid_and_transfer(sim, "n1", "n4", psync_at + 8000)
        assert started["t"] == grid[-1]  # on one of n1's replicationCron runs
        assert all(950 <= b - a <= 1030 for a, b in pairwise(grid))  # ten ~100 ms ticks
        assert whole_seconds_idle(origin, psync_at, started["t"]) >= 5
        assert whole_seconds_idle(origin, psync_at, grid[-2]) < 5  # the run before: not yet
        assert 4000 < started["waited_ms"] == started["t"] - psync_at <= 6000
        offsets.add(started["waited_ms"] % 1000)
        n4 = sim.cluster.node("n4")
        assert sim.run_until_condition(lambda n4=n4: n4.repl.link_up, sim.now + 10)
    assert len(offsets) > 1  # not a fixed wait after the PSYNC


def test_a_paused_master_starts_no_full_sync_until_it_resumes() -> None:
    """§20.5: the child is forked by the master's own cron, which a SIGSTOPped process
    does not run; the first run after SIGCONT (overdue) starts it."""
    sim = sim_of(seed=5, data=False)
    sim.run_until(3000)
    sim.inject("kill", node="n4")
    sim.run_for(200)
    sim.inject("restart", node="n4")
    psync_at = sim.now
    sim.inject("pause", node="n1")
    sim.run_until(psync_at + 9000)
    assert events(sim, "rdb_transfer", node="n1") == []
    sim.inject("resume", node="n1")
    sim.run_for(1100)
    started = events(sim, "rdb_transfer", node="n1", target="n4")
    assert started and started[0]["t"] - psync_at >= 9000
