"""Keys that expire (docs/redis-rules.md §26): the commands, how TTLs replicate, lazy
expiry, the active expire cycle, replicas keeping expired keys, keyspace notifications,
and part E of the real data (tests/data/eviction-expiry.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.config import ConfigError, NodeConfig
from simulator.dataplane import expiry, install
from simulator.dataplane.expires import (
    FAST,
    SLOW,
    ExpireTable,
    active_expire_cycle,
)
from simulator.dataplane.model import ClusterData
from simulator.dataplane.routing import Session
from simulator.dataplane.server import execute
from simulator.fidelity_expiry import (
    PEAK_TOLERANCE,
    ZERO_TOLERANCE_MS,
    expiry_curve,
    summarise,
)
from simulator.replication import UNIX_BASE_MS, ExpireOp
from simulator.resp.client import ClientState, PortMap
from simulator.resp.commands import Context, dispatch
from simulator.resp.protocol import Error, Simple
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

DATA = Path(__file__).parent / "data"


def cluster(**config: object) -> tuple[Simulation, ClusterData]:
    sim = Simulation(
        masters=3,
        replicas=1,
        seed=1,
        config={"cluster-node-timeout": 2000, **config},
        checkpoint_ms=None,  # never rewound here: a checkpoint is a pickle of the model
    )
    dp = install(sim)
    sim.run_until(100)
    return sim, dp


def key_on(sim: Simulation, master: str, prefix: str = "k") -> str:
    owners = sim.cluster.truth_table()
    return next(
        f"{prefix}{i}" for i in range(10_000) if owners[key_hash_slot(f"{prefix}{i}")] == master
    )


def run(
    dp: ClusterData, sim: Simulation, node: str, *argv: str, session: Session | None = None
) -> str:
    reply = execute(dp, sim.cluster.node(node), "c", argv, session or Session())
    return reply.text


def readonly() -> Session:
    session = Session()
    session.after_command("READONLY")
    return session


# ---------------------------------------------------------------------- §26.1 commands


def test_ttl_pttl_persist_and_expire_replies_follow_redis() -> None:
    """§26.1: -2 missing, -1 no TTL, TTL rounds to seconds, PERSIST 1 then 0."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    assert run(dp, sim, "n1", "TTL", key) == "-2"
    assert run(dp, sim, "n1", "EXPIRE", key, "10") == "0"  # no key
    run(dp, sim, "n1", "SET", key, "v")
    assert run(dp, sim, "n1", "TTL", key) == "-1"
    assert run(dp, sim, "n1", "PEXPIRE", key, "2600") == "1"
    assert run(dp, sim, "n1", "PTTL", key) == "2600"
    assert run(dp, sim, "n1", "TTL", key) == "3"  # (2600 + 500) // 1000
    assert run(dp, sim, "n1", "PEXPIRETIME", key) == str(UNIX_BASE_MS + sim.now + 2600)
    assert run(dp, sim, "n1", "PERSIST", key) == "1"
    assert run(dp, sim, "n1", "PERSIST", key) == "0"
    assert run(dp, sim, "n1", "TTL", key) == "-1"


def test_expire_nx_xx_gt_lt_conditions() -> None:
    """§26.1: expireGenericCommand's NX/XX/GT/LT, and its option errors."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "v")
    assert run(dp, sim, "n1", "EXPIRE", key, "100", "XX") == "0"
    assert run(dp, sim, "n1", "EXPIRE", key, "100", "GT") == "0"  # no TTL = infinite
    assert run(dp, sim, "n1", "EXPIRE", key, "100", "LT") == "1"
    assert run(dp, sim, "n1", "EXPIRE", key, "50", "NX") == "0"
    assert run(dp, sim, "n1", "EXPIRE", key, "50", "GT") == "0"
    assert run(dp, sim, "n1", "EXPIRE", key, "200", "GT") == "1"
    assert run(dp, sim, "n1", "TTL", key) == "200"
    assert run(dp, sim, "n1", "EXPIRE", key, "1", "NX", "XX").startswith("ERR NX and XX")
    assert run(dp, sim, "n1", "EXPIRE", key, "1", "GT", "LT").startswith("ERR GT and LT")
    assert run(dp, sim, "n1", "EXPIRE", key, "1", "SOON") == "ERR Unsupported option SOON"
    assert run(dp, sim, "n1", "EXPIRE", key, "x") == "ERR value is not an integer or out of range"
    assert run(dp, sim, "n1", "EXPIRE", key, str(2**62)) == (
        "ERR invalid expire time in 'expire' command"
    )


def test_a_deadline_in_the_past_deletes_the_key_and_replicates_a_del() -> None:
    """§26.1 checkAlreadyExpired: EXPIRE with t <= now deletes at once (answer 1)."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "v")
    sim.run_for(50)
    assert run(dp, sim, "n1", "EXPIRE", key, "-1") == "1"
    assert key not in dp.data(sim.cluster.node("n1")).keys
    sim.run_for(50)
    assert key not in dp.data(sim.cluster.node("n4")).keys


def test_a_ttl_replicates_as_an_absolute_pexpireat() -> None:
    """§26.1: the replica holds the master's deadline, not a relative TTL restarted on
    arrival; the stream carries an ExpireOp (PEXPIREAT)."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "v", "PX", "5000")
    deadline = dp.data(sim.cluster.node("n1")).expires.get(key)
    assert deadline == UNIX_BASE_MS + sim.now + 5000
    sim.run_for(300)
    assert dp.data(sim.cluster.node("n4")).expires.get(key) == deadline
    ops = [op for _, batch in sim.cluster.node("n1").repl.backlog for op in batch]
    assert ExpireOp(key, deadline) in ops


def test_set_without_keepttl_drops_the_ttl_on_master_and_replica() -> None:
    """§26.1: setKey drops the TTL unless KEEPTTL; INCR keeps it."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "1", "EX", "100")
    run(dp, sim, "n1", "INCR", key)
    assert run(dp, sim, "n1", "TTL", key) == "100"
    run(dp, sim, "n1", "SET", key, "2", "KEEPTTL")
    assert run(dp, sim, "n1", "TTL", key) == "100"
    run(dp, sim, "n1", "SET", key, "3")
    assert run(dp, sim, "n1", "TTL", key) == "-1"
    sim.run_for(300)
    assert dp.data(sim.cluster.node("n4")).expires.get(key) is None
    assert dp.data(sim.cluster.node("n4")).get(key) == "3"


def test_set_rejects_bad_expiry_options() -> None:
    sim, dp = cluster()
    key = key_on(sim, "n1")
    assert run(dp, sim, "n1", "SET", key, "v", "EX", "0") == (
        "ERR invalid expire time in 'set' command"
    )
    assert run(dp, sim, "n1", "SET", key, "v", "PX") == "ERR syntax error"
    assert run(dp, sim, "n1", "SET", key, "v", "EX", "1", "KEEPTTL") == "ERR syntax error"
    assert key not in dp.data(sim.cluster.node("n1")).keys


# ---------------------------------------------------------------------- lazy expiry


def test_lazy_expiry_on_a_master_deletes_and_propagates_a_del() -> None:
    """§26.1 expireIfNeeded: a GET after the deadline finds nothing, and the master
    deletes the key then (before its cron would) and replicates the DEL."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    n1 = sim.cluster.node("n1")
    run(dp, sim, "n1", "SET", key, "v", "PX", "100")
    dp.data(n1).expires.cron = -2  # no cron: only a lookup can delete it
    sim.run_for(150)
    assert key in dp.data(n1).keys
    assert run(dp, sim, "n1", "GET", key) == "(nil)"
    assert key not in dp.data(n1).keys
    assert [e["how"] for e in sim.trace.of_kind("key_expired")] == ["lazy"]
    sim.run_for(50)
    assert key not in dp.data(sim.cluster.node("n4")).keys


def test_a_paused_master_reports_an_expired_key_missing_but_keeps_it() -> None:
    """§26.1 / §12: under a client write pause expireIfNeeded does not delete."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    n1 = sim.cluster.node("n1")
    run(dp, sim, "n1", "SET", key, "v", "PX", "100")
    sim.run_for(150)
    n1.writes_paused_until = sim.now + 1000  # as a manual failover does
    assert n1.writes_paused()
    assert expiry.expire_if_needed(dp, n1, key)
    assert key in dp.data(n1).keys


# ---------------------------------------------------------------------- §26.3 replicas


def test_replicas_keep_expired_keys_until_the_masters_del() -> None:
    """§26.3: the replica answers nil (READONLY GET, TTL -2, EXISTS 0) but keeps the key
    and counts it (DBSIZE) while its master is frozen; the master's DEL removes it."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "v", "PX", "500")
    sim.run_for(100)
    sim.inject("pause", node="n1")
    sim.run_for(600)
    n4 = sim.cluster.node("n4")
    ro = readonly()
    assert run(dp, sim, "n4", "GET", key, session=ro) == "(nil)"
    assert run(dp, sim, "n4", "TTL", key, session=ro) == "-2"
    assert run(dp, sim, "n4", "EXISTS", key, session=ro) == "0"
    assert key in dp.data(n4).keys and len(dp.data(n4).expires) == 1
    assert sim.trace.of_kind("key_expired") == []
    sim.inject("resume", node="n1")
    sim.run_for(300)
    assert [e["node"] for e in sim.trace.of_kind("key_expired")] == ["n1"]
    assert key not in dp.data(n4).keys


def test_after_a_failover_the_new_master_expires() -> None:
    """§26.3: once promoted, the replica's own cron deletes what is due."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    run(dp, sim, "n1", "SET", key, "v", "PX", "500")
    sim.run_for(100)
    sim.inject("kill", node="n1")
    sim.run_for(8000)
    assert sim.cluster.node("n4").is_master
    assert [e["node"] for e in sim.trace.of_kind("key_expired")] == ["n4"]
    assert key not in dp.data(sim.cluster.node("n4")).keys


def test_dbsize_and_info_keyspace_on_a_replica_count_expired_keys() -> None:
    """§26.3 through the RESP front (redis-cli): DBSIZE and INFO keyspace still count."""
    sim, _ = cluster()
    key = key_on(sim, "n1")
    state = ClientState(1, "resp:test:1", "127.0.0.1:50000", "127.0.0.1:7500", 0)

    def resp(node: str, *argv: str) -> object:
        ctx = Context(sim, node, state, PortMap(7500), [state])
        replies = dispatch(ctx, [a.encode() for a in argv]).replies
        return replies[0]

    assert resp("n1", "SET", key, "v", "PX", "400") == Simple("OK")
    assert resp("n1", "PTTL", key) == 400
    assert resp("n1", "EXPIRE", key, "1", "GT", "LT") == Error(
        "ERR GT and LT options at the same time are not compatible"
    )
    sim.run_for(100)
    sim.inject("pause", node="n1")
    sim.run_for(500)
    assert resp("n4", "DBSIZE") == 1
    assert "db0:keys=1,expires=1" in str(resp("n4", "INFO", "keyspace"))


# ---------------------------------------------------------------------- §26.2 the cycle


def _table(stale: int, live: int, now: int = 10_000) -> ExpireTable:
    table = ExpireTable()
    for i in range(stale):
        table.set(f"s{i}", now - 1)
    for i in range(live):
        table.set(f"l{i}", now + 60_000)
    return table


def test_the_active_cycle_stops_after_a_sample_at_most_10_percent_stale() -> None:
    """§26.2: with 1 % stale keys one loop of 20 keys is enough: about 20 sampled."""
    table = _table(stale=10, live=990)
    result = active_expire_cycle(table, 10_000, SLOW)
    assert 20 <= result.sampled < 60
    assert len(result.expired) <= 3


def test_the_active_cycle_loops_while_more_than_10_percent_are_stale() -> None:
    """§26.2: with every key stale it loops until the table is under 1 % full (too
    sparse to sample); the cron shrinks the table and the next cycle finishes."""
    table = _table(stale=2000, live=0)
    result = active_expire_cycle(table, 10_000, SLOW)
    assert not result.timelimit_exit
    assert len(table) > 0 and len(table) * 100 // table.slots < 1
    table.resize_if_needed()
    active_expire_cycle(table, 10_100, SLOW)
    assert len(table) == 0


def test_the_slow_cycle_stops_at_25_percent_of_the_cron_period() -> None:
    """§26.2: 25 ms at hz 10 (checked every 16 loops), counted by the cost model."""
    table = _table(stale=200_000, live=0)
    result = active_expire_cycle(table, 10_000, SLOW)
    assert result.timelimit_exit and table.time_cap == 1
    assert 25_000 < result.elapsed_us < 25_000 + 16 * 20 * 1.5
    assert 0 < len(table) < 200_000


def test_the_fast_cycle_runs_only_after_a_cycle_hit_its_time_limit() -> None:
    """§26.2, the 7.0 quirk: stat_expired_stale_perc is a fraction compared with 10, so
    a fast cycle never runs on staleness alone; after a time-limited slow cycle it runs
    (1000 µs budget), and not again within 2000 µs."""
    table = _table(stale=500, live=500)
    table.stale_perc = 0.9
    assert not active_expire_cycle(table, 10_000, FAST).ran
    table = _table(stale=200_000, live=0)
    assert active_expire_cycle(table, 10_000, SLOW).timelimit_exit
    fast = active_expire_cycle(table, 10_001, FAST)
    assert fast.ran and fast.timelimit_exit and fast.elapsed_us < 1000 + 16 * 20 * 1.5
    assert not active_expire_cycle(table, 10_002, FAST).ran  # within 2 × 1000 µs
    assert active_expire_cycle(table, 10_003, FAST).ran


def test_the_expires_table_shrinks_under_10_percent_full() -> None:
    """tryResizeHashTables: the cron shrinks a table under 10 % full."""
    table = _table(stale=0, live=1000)
    assert table.slots == 1024
    for i in range(950):
        table.discard(f"l{i}")
    table.resize_if_needed()
    assert table.slots == 64 and len(table) == 50


def test_part_e_backlog_within_25_percent_and_zero_within_1s_of_real_redis() -> None:
    """§26.2 against tests/data/eviction-expiry.json part E: peak of logically expired
    keys still in memory within 25 % of the real median, zero within 1 s."""
    runs = json.loads((DATA / "eviction-expiry.json").read_text())["active_expiry"]
    peaks, zeros = [], []
    for run_ in runs:
        samples = run_["samples"]
        peak = max(s["expired_still_in_memory"] for s in samples)
        peaks.append(peak)
        at = next(s["t_ms"] for s in samples if s["expired_still_in_memory"] == peak)
        zeros.append(
            next(s["t_ms"] for s in samples if s["t_ms"] > at and s["expired_still_in_memory"] == 0)
        )
    real_peak = sorted(peaks)[len(peaks) // 2]
    real_zero = sorted(zeros)[len(zeros) // 2]
    sim = summarise(expiry_curve(seed=0))
    assert sim["peak_keys"] is not None and sim["zero_at_ms"] is not None
    assert abs(sim["peak_keys"] - real_peak) <= PEAK_TOLERANCE * real_peak
    assert abs(sim["zero_at_ms"] - real_zero) <= ZERO_TOLERANCE_MS


# ---------------------------------------------------------------------- §26.4 notifications


def test_notify_keyspace_events_flags_parse_like_redis() -> None:
    config = NodeConfig({"notify-keyspace-events": "xE"})
    assert config.get("notify-keyspace-events") == "xE"
    assert NodeConfig({"notify-keyspace-events": "KA"}).get("notify-keyspace-events") == "AK"
    with pytest.raises(ConfigError, match="unknown event class 'q'"):
        NodeConfig({"notify-keyspace-events": "Eq"})


def test_keyspace_notifications_are_local_to_the_node() -> None:
    """§26.4, as observed on real 7.0.15 (tests/data/keyspace-notifications.json): an
    expired key's event reaches only its owner master's subscribers — not the other
    masters', not the replicas'."""
    real = json.loads((DATA / "keyspace-notifications.json").read_text())
    for run_ in real["runs"]:
        for row in run_["keys"]:
            assert row["received_on_ports"] == [row["owner_port"]]
    sim, dp = cluster(**{"notify-keyspace-events": "Ex"})
    for name in sim.cluster.nodes:
        sim.inject("subscribe", channel="__keyevent@0__:expired", node=name, client=f"w-{name}")
    keys = {master: key_on(sim, master) for master in ("n1", "n2")}
    for key in keys.values():
        sim.inject("write", key=key, value="v", ttl=500)
    sim.run_for(1500)
    fired = {(e["node"], e["message"], e["receivers"]) for e in sim.trace.of_kind("keyspace_event")}
    assert fired == {(master, key, 1) for master, key in keys.items()}
    assert dp.delivered(subscriber="w-n1") == 1 and dp.delivered(subscriber="w-n2") == 1
    assert dp.delivered(subscriber="w-n3") == 0
    assert all(dp.delivered(subscriber=f"w-n{r}") == 0 for r in (4, 5, 6))


def test_an_expired_event_fires_at_deletion_not_at_the_ttl() -> None:
    """§26.4: alone, a key's event follows its TTL within a cron period; among 3,000
    keys with long TTLs it waits for the cycle's cursor — seconds, as on real Redis."""
    real = json.loads((DATA / "keyspace-notifications.json").read_text())
    lags = {
        row["other_keys_with_ttl_on_owner"]: row["lag_after_ttl_ms"][0]
        for run_ in real["runs"]
        for row in run_["keys"]
    }
    sim, dp = cluster(**{"notify-keyspace-events": "Ex"})
    n3 = sim.cluster.node("n3")
    alone = key_on(sim, "n1")
    crowded = key_on(sim, "n3", prefix="c")
    far = expiry.unix_ms(dp) + 3_600_000
    data = dp.data(n3)
    for i in range(3000):
        name = f"{{{crowded}}}f{i}"
        data.put(name, "x", 0)
        data.expires.set(name, far)
    start = sim.now
    sim.inject("write", key=alone, value="v", ttl=1000)
    sim.inject("write", key=crowded, value="v", ttl=1000)
    sim.run_for(30_000)
    fired = {e["message"]: e["t"] - start - 1000 for e in sim.trace.of_kind("keyspace_event")}
    assert 0 < fired[alone] <= 110 and lags[0] <= 110
    assert fired[crowded] > 1000 and min(v for k, v in lags.items() if k) > 1000


# ---------------------------------------------------------------------- the TUI's views


def test_the_key_and_node_views_show_ttls_and_expired_keys_a_replica_still_stores() -> None:
    """§26.3 in the UI seam (simulator/views): the key view gives each node's TTL left,
    the node view counts keys, keys with a TTL and expired keys still stored."""
    from rich.console import Console

    from tui.render import key_lookup, node_view

    def text(renderable: object) -> str:
        console = Console(record=True, width=200)
        console.print(renderable)
        return console.export_text()

    sim, dp = cluster()
    key = key_on(sim, "n1")
    views = sim.views
    assert views.node("n4") is not None and views.node("n4").expires == 0
    run(dp, sim, "n1", "SET", key, "v", "PX", "500")
    sim.run_for(100)
    rows = {row.name: row.ttl_ms for row in views.key(key).nodes}
    assert rows["n1"] == rows["n4"] and 300 <= (rows["n1"] or 0) <= 400
    assert rows["n2"] is None
    sim.inject("pause", node="n1")
    sim.run_for(600)
    n4 = views.node("n4")
    assert n4 is not None and (n4.keys, n4.expires, n4.stale) == (1, 1, 1)
    shown = text(node_view(n4, views.truth()))
    assert "1 expired but stored (waits for its master's DEL)" in shown
    assert "still stored" in key_lookup(views.key(key)).plain


def test_a_workload_client_with_a_ttl_writes_keys_that_expire() -> None:
    """§26.1: a client's ``ttl`` makes its writes SET ... PX ttl; the masters expire them."""
    from simulator.dataplane.actions import add_client

    sim, dp = cluster()
    client = add_client(dp, "cache", writes=1.0, keys="c:{i}", key_count=100_000, ttl_ms=300)
    client.set_workload(rate=200)
    sim.run_for(500)
    client.set_workload(rate=0)
    written = {e["key"] for e in sim.trace.of_kind("request") if e["command"] == "SET"}
    assert len(written) > 50
    sim.run_for(1000)
    expired = {e["key"] for e in sim.trace.of_kind("key_expired")}
    assert expired == written
    assert all(not dp.data(n).keys for n in sim.cluster.nodes.values())


def test_migrate_carries_ttls_and_skips_expired_keys() -> None:
    """§26.1, migrateCommand: a resharded key keeps its deadline on the target; a key
    already expired is not sent: MIGRATE's lookupKeyRead deletes it on the source."""
    sim, dp = cluster()
    n1, n2 = sim.cluster.node("n1"), sim.cluster.node("n2")
    live = key_on(sim, "n1")
    slot = key_hash_slot(live)
    dead = next(f"{{{live}}}d{i}" for i in range(100) if key_hash_slot(f"{{{live}}}d{i}") == slot)
    run(dp, sim, "n1", "SET", live, "v", "PX", "60000")
    run(dp, sim, "n1", "SET", dead, "v", "PX", "100")
    deadline = dp.data(n1).expires.get(live)
    dp.data(n1).expires.cron = -2  # keep the dead key in memory: only MIGRATE looks at it
    sim.run_for(200)
    sim.inject("reshard", source="n1", target="n2", slots=[slot])
    sim.run_for(3000)
    assert sim.cluster.truth_owner(slot) == "n2"
    assert dp.data(n2).expires.get(live) == deadline
    assert dead not in dp.data(n2).keys and dead not in dp.data(n1).keys
    assert [(e["node"], e["key"], e["how"]) for e in sim.trace.of_kind("key_expired")] == [
        ("n1", dead, "lazy")
    ]
