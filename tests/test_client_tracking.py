"""Client-side caching with CLIENT TRACKING (docs/redis-rules.md §27): one node's tracking
table, invalidations over the network, a client's local cache, and what failovers and
slot moves do to it, checked against what a real 7.0.15 did
(tests/data/client-tracking.json)."""

from __future__ import annotations

import json
from pathlib import Path
from random import Random
from typing import Any

import pytest

from simulator.dataplane import install
from simulator.dataplane.actions import add_client, reshard
from simulator.dataplane.clients import Client
from simulator.dataplane.local_cache import CacheOptions
from simulator.dataplane.model import ClusterData
from simulator.dataplane.tracking import TrackingTable
from simulator.scenario.errors import ScenarioError
from simulator.scenario.loader import parse_scenario
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

REAL = json.loads((Path(__file__).parent / "data" / "client-tracking.json").read_text())


def cluster(**config: object) -> tuple[Simulation, ClusterData[Any, Any]]:
    sim = Simulation(masters=3, replicas=1, seed=1, config={"cluster-node-timeout": 2000, **config})
    dp = install(sim)
    sim.run_until(100)
    return sim, dp


def key_on(sim: Simulation, master: str, prefix: str = "k", skip: int = 0) -> str:
    owners = sim.cluster.truth_table()
    found = (
        f"{prefix}{i}" for i in range(100_000) if owners[key_hash_slot(f"{prefix}{i}")] == master
    )
    for _ in range(skip):
        next(found)
    return next(found)


def step(sim: Simulation, ms: int = 50) -> None:
    sim.run_until(sim.now + ms)


def invalidations(sim: Simulation, client: str) -> list[dict[str, Any]]:
    return [e for e in sim.trace.of_kind("invalidation") if e["target"] == client]


class Outbox:
    """A table's messages, kept in order (unit tests of the values layer)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[str, ...] | None, str]] = []
        self.closed_clients: list[str] = []
        self.woken = 0

    def __call__(self, client: str, keys: tuple[str, ...] | None, why: str) -> None:
        self.sent.append((client, keys, why))

    def closed(self, client: str) -> None:
        self.closed_clients.append(client)

    def wake(self) -> None:
        self.woken += 1


# ---------------------------------------------------------------------- §27.1 default mode


def test_default_mode_invalidates_a_read_key_once_then_forgets_it() -> None:
    """§27.1 (real: standalone.default): a write by anyone sends one invalidation, the
    second sends nothing until the key is read again."""
    real = REAL["standalone"]["default"]
    assert real["pushes_after_first_write_by_other"] == [["invalidate", ["k1"]]]
    assert real["pushes_after_second_write_without_reread"] == []
    sim, dp = cluster()
    key = key_on(sim, "n1")
    writer = add_client(dp, "w")
    reader = add_client(dp, "r", local_cache=CacheOptions())
    writer.command("SET", key, "v1")
    step(sim)
    reader.command("GET", key)
    step(sim)
    assert reader.cache is not None and reader.cache.get(key) == ("v1", "n1")
    writer.command("SET", key, "v2")
    step(sim)
    writer.command("SET", key, "v3")
    step(sim)
    got = invalidations(sim, "r")
    assert [(e["node"], e["keys"], e["why"]) for e in got] == [("n1", [key], "write")]
    assert reader.cache.get(key) is None


def test_a_missing_key_read_is_tracked_too() -> None:
    """§27.1 (real: pushes_after_write_to_key_read_while_missing): GET of a missing key
    is remembered; its creation invalidates it."""
    assert REAL["standalone"]["default"]["pushes_after_write_to_key_read_while_missing"] == [
        ["invalidate", ["missing"]]
    ]
    sim, dp = cluster()
    key = key_on(sim, "n2")
    reader = add_client(dp, "r", local_cache=CacheOptions())
    reader.command("GET", key)
    step(sim)
    assert reader.cache is not None and reader.cache.get(key) == (None, "n2")
    add_client(dp, "w").command("SET", key, "born")
    step(sim)
    assert [e["keys"] for e in invalidations(sim, "r")] == [[key]]


def test_a_local_hit_sends_no_request_and_counts() -> None:
    """§27.1: a cached GET is answered locally; one request for two reads."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    reader = add_client(dp, "r", local_cache=CacheOptions())
    reader.command("GET", key)
    step(sim)
    op = reader.command("GET", key)
    assert op.done and op.outcome == "ok"
    requests = [e for e in sim.trace.of_kind("request") if e["client"] == "r"]
    assert len(requests) == 1
    assert reader.cache is not None and (reader.cache.hits, reader.cache.stale) == (1, 0)
    assert [e["stale"] for e in sim.trace.of_kind("local_read")] == [False]


def test_the_clients_own_write_invalidates_its_own_copy_without_noloop() -> None:
    """§27.1 (real: pushes_after_own_write_without_noloop): the writer is invalidated too."""
    assert REAL["standalone"]["default"]["pushes_after_own_write_without_noloop"] == [
        ["invalidate", ["k1"]]
    ]
    sim, dp = cluster()
    key = key_on(sim, "n3")
    client = add_client(dp, "r", local_cache=CacheOptions())
    client.command("GET", key)
    step(sim)
    client.command("SET", key, "mine")
    step(sim)
    assert [e["keys"] for e in invalidations(sim, "r")] == [[key]]


def test_a_replicas_tracking_client_is_invalidated_by_the_replicated_write() -> None:
    """§27.1 (real: cluster.master_killed): a READONLY client tracking on the replica."""
    assert REAL["cluster"]["master_killed"][
        "pushes_on_replica_tracking_client_after_replicated_write"
    ] == [["invalidate", ["ft:{a}"]]]
    sim, dp = cluster()
    key = key_on(sim, "n1")
    replica = next(n for n in sim.cluster.nodes.values() if n.master_name == "n1").name
    reader = add_client(dp, "r", local_cache=CacheOptions())
    reader.command("READONLY", node=replica)
    reader.command("GET", key, node=replica)
    step(sim)
    add_client(dp, "w").command("SET", key, "v2")
    step(sim)
    assert [(e["node"], e["keys"]) for e in invalidations(sim, "r")] == [(replica, [key])]


def test_an_expired_key_invalidates_when_the_master_deletes_it() -> None:
    """§27.1 (real: standalone.expiry): deleteExpiredKeyAndPropagate signals the change."""
    assert REAL["standalone"]["expiry"]["pushes_when_active_expire_deletes_key"] == [
        ["invalidate", ["ttlkey"]]
    ]
    sim, dp = cluster()
    key = key_on(sim, "n1")
    add_client(dp, "w").command("SET", key, "v", "PX", "100")
    step(sim, 10)
    reader = add_client(dp, "r", local_cache=CacheOptions())
    reader.command("GET", key)
    step(sim, 1000)
    assert [e["keys"] for e in invalidations(sim, "r")] == [[key]]


# ---------------------------------------------------------------------- §27.2 BCAST


def test_bcast_sends_every_change_under_a_prefix_one_message_per_pass() -> None:
    """§27.2 (real: standalone.bcast): keys never read, every time, none outside the
    prefix, and an MSET's keys in one message."""
    real = REAL["standalone"]["bcast"]
    assert real["pushes_after_mset_two_in_prefix_one_out"] == [["invalidate", ["user:2", "user:3"]]]
    assert real["pushes_after_write_outside_prefix"] == []
    sim, dp = cluster()
    tag = "{" + key_on(sim, "n1") + "}"  # every key below in one slot of n1
    a = f"user:1{tag}"
    feed = add_client(dp, "feed", local_cache=CacheOptions(mode="bcast", prefixes=("user:",)))
    writer = add_client(dp, "w")
    writer.command("SET", a, "1")
    step(sim)
    writer.command("SET", a, "2")
    step(sim)
    writer.command("SET", f"other:{tag}", "x")
    step(sim)
    writer.command("MSET", f"user:2{tag}", "x", f"user:3{tag}", "y", f"other:2{tag}", "z")
    step(sim)
    got = [e["keys"] for e in invalidations(sim, "feed")]
    assert got == [[a], [a], [f"user:2{tag}", f"user:3{tag}"]]
    assert feed.cache is not None


def test_a_bcast_client_opens_tracking_on_every_master_at_start() -> None:
    """§27.2: it hears writes on every master without having read there."""
    sim, dp = cluster()
    add_client(dp, "feed", local_cache=CacheOptions(mode="bcast"))
    writer = add_client(dp, "w")
    keys = [key_on(sim, m) for m in ("n1", "n2", "n3")]
    for key in keys:
        writer.command("SET", key, "v")
    step(sim)
    assert sorted(e["node"] for e in invalidations(sim, "feed")) == ["n1", "n2", "n3"]


def test_bcast_table_collects_keys_and_wakes_once_per_pass() -> None:
    """§27.2: trackingRememberKeyToBroadcast only with a BCAST client; one wake per batch."""
    outbox = Outbox()
    table = TrackingTable(outbox)
    table.enable("d")
    table.modified("a")
    assert outbox.woken == 0 and not table.pending  # no BCAST client: nothing collected
    table.enable("b", "bcast", ("a",))
    table.modified("a1")
    table.modified("a2")
    table.modified("x")
    assert outbox.woken == 1
    table.broadcast()
    assert outbox.sent == [("b", ("a1", "a2"), "bcast")]


# ---------------------------------------------------------------------- §27.3 the limit


def test_tracking_table_max_keys_invalidates_random_keys_like_real_redis() -> None:
    """§27.3 (real: standalone.tracking_table_max_keys): 20 reads with the limit 10 leave
    10 keys tracked and send 10 invalidations (the last one from serverCron)."""
    real = REAL["standalone"]["tracking_table_max_keys"]
    sim, dp = cluster(**{"tracking-table-max-keys": real["max_keys"]})
    reader = add_client(dp, "r", local_cache=CacheOptions())
    keys = [key_on(sim, "n1", skip=i) for i in range(real["keys_read"])]
    for key in keys:
        reader.command("GET", key)
        step(sim, 1)
    before_cron = len(invalidations(sim, "r"))
    step(sim, 300)
    got = invalidations(sim, "r")
    table = dp.data(sim.cluster.node("n1")).tracking
    assert table is not None
    assert before_cron == real["invalidations_received"] - 1
    assert len(got) == real["invalidations_received"]
    assert len(table.keys) == real["tracking_total_keys_after"]
    assert {e["why"] for e in got} == {"limit"}
    assert (
        reader.cache is not None and len(reader.cache.entries) == real["tracking_total_keys_after"]
    )


def test_the_limit_works_with_bounded_effort() -> None:
    """§27.3: at most 100 * (timeout_counter + 1) keys per call."""
    outbox = Outbox()
    table = TrackingTable(outbox)
    table.enable("c")
    table.remember("c", tuple(f"k{i}" for i in range(350)))
    table.limit(10, Random(1))
    assert len(table.keys) == 250 and table.timeout_counter == 1
    table.limit(10, Random(1))
    assert len(table.keys) == 50 and table.timeout_counter == 2
    table.limit(10, Random(1))
    assert len(table.keys) == 10 and table.timeout_counter == 0


# ---------------------------------------------------------------------- §27.4 flush, death, moves


def test_a_flush_sends_a_null_invalidation_to_every_tracking_client() -> None:
    """§27.4 (real: standalone.flushall): BCAST clients and clients that read nothing too."""
    real = REAL["standalone"]["flushall"]
    assert real["pushes_tracking_client_that_read_nothing"] == [["invalidate", None]]
    assert real["pushes_bcast_client"] == [["invalidate", None]]
    outbox = Outbox()
    table = TrackingTable(outbox)
    table.enable("read")
    table.enable("idle")
    table.enable("bcast", "bcast", ("x",))
    table.remember("read", ("k",))
    table.flushed()
    assert outbox.sent == [
        ("read", None, "flush"),
        ("idle", None, "flush"),
        ("bcast", None, "flush"),
    ]
    assert table.keys == {}


def killed_master_run(flush_on: tuple[str, ...]) -> tuple[Simulation, Client]:
    sim, dp = cluster()
    key = key_on(sim, "n1")
    writer = add_client(dp, "w")
    writer.command("SET", key, "before")
    step(sim)
    reader = add_client(dp, "r", local_cache=CacheOptions(flush_on=flush_on))
    reader.command("GET", key)
    step(sim)
    sim.cluster.kill("n1")
    sim.run_until(sim.now + 8000)  # n4 is promoted
    assert sim.cluster.node("n4").is_master
    writer.command("SET", key, "after")  # refused by n1, retried on n4 250 ms later
    step(sim, 600)
    reader.command("GET", key)
    step(sim, 600)
    return sim, reader


def test_a_dead_masters_client_sees_its_connection_close_and_no_invalidation() -> None:
    """§27.4 (real: cluster.master_killed): the socket closes, no push, and the promoted
    replica knows nothing of the client, so its write invalidates nothing: a client that
    keeps its cache across the disconnect reads a stale value."""
    real = REAL["cluster"]["master_killed"]
    assert real["master_client_after_sigkill"] == [["<connection closed>"]]
    sim, reader = killed_master_run(flush_on=())
    lost = sim.trace.of_kind("tracking_lost")
    assert [(e["node"], e["target"], e["how"], e["cached"]) for e in lost] == [
        ("n1", "r", "closed", 1)
    ]
    assert invalidations(sim, "r") == []
    reads = sim.trace.of_kind("local_read")
    assert [(e["value"], e["stale"]) for e in reads] == [("before", True)]
    assert reader.cache is not None and reader.cache.stale == 1


def test_the_local_cache_view_counts_hits_and_stale_local_reads() -> None:
    """§27.4: sim.views.local_caches() and the report's local_caches carry the counters."""
    sim, _ = killed_master_run(flush_on=())
    (row,) = sim.views.local_caches()
    assert (row.client, row.hits, row.misses, row.stale) == ("r", 1, 1, 1)
    assert row.as_dict()["hit_ratio"] == 0.5
    assert Simulation(masters=3, seed=1).views.local_caches() == ()


def test_flush_on_disconnect_drops_what_the_dead_node_vouched_for() -> None:
    """§27.4: with flush_on [disconnect] the read after the failover goes to n4."""
    sim, reader = killed_master_run(flush_on=("disconnect",))
    flushes = sim.trace.of_kind("cache_flush")
    assert [(e["node"], e["reason"], e["dropped"]) for e in flushes] == [("n1", "disconnect", 1)]
    assert sim.trace.of_kind("local_read") == []
    assert reader.cache is not None and reader.cache.get(next(iter(reader.cache.entries))) == (
        "after",
        "n4",
    )


def test_after_a_manual_failover_the_old_master_still_invalidates_through_replication() -> None:
    """§27.4 (real: cluster.manual_failover): the connection stays, and the old master,
    now a replica, applies the new master's write and invalidates."""
    real = REAL["cluster"]["manual_failover"]
    assert real["pushes_on_old_master_client_after_write_on_new_master"] == [
        ["invalidate", ["mf:{b}"]]
    ]
    sim, dp = cluster()
    key = key_on(sim, "n1")
    writer = add_client(dp, "w")
    writer.command("SET", key, "v1")
    step(sim)
    reader = add_client(dp, "r", local_cache=CacheOptions(flush_on=()))
    reader.command("GET", key)
    step(sim)
    sim.cluster.failover("n4")
    sim.run_until(sim.now + 2000)
    assert sim.cluster.node("n4").is_master and not sim.cluster.node("n1").is_master
    writer.command("SET", key, "v2")
    step(sim, 200)
    assert [(e["node"], e["keys"]) for e in invalidations(sim, "r")] == [("n1", [key])]
    assert sim.trace.of_kind("tracking_lost") == []


def test_migrate_invalidates_the_key_on_the_source() -> None:
    """§27.4 (real: cluster.slot_migrated): MIGRATE's delete signals the change; later
    writes on the target reach nobody who tracked on the source."""
    real = REAL["cluster"]["slot_migrated"]
    assert real["pushes_after_migrate_of_read_key"] == [["invalidate", ["mig:{c}"]]]
    assert real["pushes_after_write_on_target"] == []
    sim, dp = cluster()
    key = key_on(sim, "n1")
    slot = key_hash_slot(key)
    writer = add_client(dp, "w")
    writer.command("SET", key, "v1")
    step(sim)
    reader = add_client(dp, "r", local_cache=CacheOptions(flush_on=()))
    reader.command("GET", key)
    step(sim)
    reshard(sim, "n1", "n2", slots=[slot])
    sim.run_until(sim.now + 2000)
    assert sim.cluster.truth_owner(slot) == "n2"
    assert [(e["node"], e["keys"]) for e in invalidations(sim, "r")] == [("n1", [key])]
    assert reader.cache is not None and reader.cache.get(key) is None


def test_del_keys_in_slot_sends_no_invalidation() -> None:
    """§27.1 (real: cluster.slot_taken_by_update): a master that loses a slot with keys
    deletes them with dbDelete only; its tracking client hears nothing."""
    real = REAL["cluster"]["slot_taken_by_update"]
    assert real["keys_left_in_slot_on_loser"] == 0
    assert real["pushes_on_losers_tracking_client"] == []
    sim, dp = cluster()
    key = key_on(sim, "n1")
    add_client(dp, "w").command("SET", key, "v1")
    step(sim)
    reader = add_client(dp, "r", local_cache=CacheOptions(flush_on=()))
    reader.command("GET", key)
    step(sim)
    dp.delete_keys_in_slots(sim.cluster.node("n1"), [key_hash_slot(key)])
    step(sim)
    assert dp.data(sim.cluster.node("n1")).get(key) is None
    assert invalidations(sim, "r") == []
    assert reader.cache is not None and reader.cache.get(key) == ("v1", "n1")


def test_flush_on_moved_drops_the_slots_entries() -> None:
    """§27.4: a MOVED reply (the client's write after a manual failover) drops the
    moved slot's entries; without 'moved' they stay."""
    for flush_on, expected in ((("moved",), 1), ((), 0)):
        sim, dp = cluster()
        key = key_on(sim, "n1")
        other = "{" + key + "}:other"  # the same slot
        client = add_client(dp, "r", local_cache=CacheOptions(flush_on=flush_on))
        client.command("GET", key)
        step(sim)
        sim.cluster.failover("n4")
        sim.run_until(sim.now + 2000)
        client.command("SET", other, "x")  # n1 answers MOVED
        step(sim, 200)
        flushes = [e for e in sim.trace.of_kind("cache_flush") if e["reason"] == "moved"]
        assert len(flushes) == expected, flush_on


def test_a_refreshed_slot_map_that_moved_a_slot_flushes_it_with_flush_on_moved() -> None:
    """§27.4: after the failover, a refused request refreshes the slot map; a slot whose
    owner changed is a move, and flush_on [moved] drops its entries."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    other = key_on(sim, "n1", skip=1)
    client = add_client(dp, "r", local_cache=CacheOptions(flush_on=("moved",)))
    client.command("GET", key)
    step(sim)
    sim.cluster.kill("n1")
    sim.run_until(sim.now + 8000)
    assert sim.cluster.node("n4").is_master
    client.command("GET", other)  # refused by n1: the map is refreshed
    step(sim, 600)
    flushes = [e for e in sim.trace.of_kind("cache_flush") if e["reason"] == "moved"]
    assert [(e["slot"], e["dropped"]) for e in flushes] == [(key_hash_slot(key), 1)]
    assert client.cache is not None and client.cache.get(key) is None


def test_a_bcast_client_hears_the_promoted_master_once_it_talks_to_it() -> None:
    """§27.2, §27.4: BCAST opens tracking on a new connection; until the client sends
    the promoted replica a command, its writes reach the client with no invalidation."""
    sim, dp = cluster()
    key = key_on(sim, "n1")
    writer = add_client(dp, "w")
    writer.command("SET", key, "v1")
    step(sim)
    feed = add_client(dp, "feed", local_cache=CacheOptions(mode="bcast", flush_on=()))
    feed.command("GET", key)
    step(sim)
    sim.cluster.kill("n1")
    sim.run_until(sim.now + 8000)
    writer.command("SET", key, "v2")
    step(sim, 600)
    assert [e for e in invalidations(sim, "feed") if e["node"] == "n4"] == []
    feed.command("GET", key)  # answered locally: stale
    assert feed.cache is not None and feed.cache.stale == 1
    feed.command("SET", key, "v3")  # its own write goes to n4: a tracking connection
    step(sim, 600)
    writer.command("SET", key, "v4")
    step(sim, 100)
    assert [e["keys"] for e in invalidations(sim, "feed") if e["node"] == "n4"][-1] == [key]


# ---------------------------------------------------------------------- the scenario key


def test_local_cache_scenario_key_builds_the_clients_cache() -> None:
    text = """
name: t
cluster: {masters: 3}
clients:
  - name: feed
    rate: 10/s
    local_cache: {mode: bcast, prefixes: ["user:", "session:"], flush_on: [moved]}
run_until: 1s
"""
    scenario = parse_scenario(text)
    spec = scenario.clients[0].local_cache
    assert spec is not None
    assert (spec.mode, spec.prefixes, spec.flush_on) == ("bcast", ("user:", "session:"), ("moved",))


@pytest.mark.parametrize(
    ("cache", "message"),
    [
        ('{prefixes: ["a"]}', "prefixes need mode: bcast"),
        ('{mode: bcast, prefixes: ["user:", "us"]}', "overlaps"),
        ("{flush_on: [disconect]}", "did you mean 'disconnect'"),
        ("{mode: optin}", "unknown tracking mode 'optin'"),
    ],
)
def test_bad_local_cache_gets_one_clear_message(cache: str, message: str) -> None:
    text = f"""
name: t
cluster: {{masters: 3}}
clients:
  - name: app
    rate: 10/s
    local_cache: {cache}
run_until: 1s
"""
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text)
    assert message in str(error.value)
