"""The stale-read ledger (docs/caching.md): a read is stale exactly when its value's
version is older than the database's at the moment it was answered; stale reads of a key
group into episodes closed by the next fresh read. And the two ways a cache-aside cache
goes stale on a cluster: the read/write race, and an invalidation lost in a failover."""

from __future__ import annotations

from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.dataplane.backing_db import DbConfig
from simulator.dataplane.cache_aside import CacheConfig, cache_plane
from simulator.dataplane.model import ClusterData
from simulator.dataplane.stale_reads import MISSED, REFRESHED, StaleReadLedger, episode_row
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot


def test_stale_ledger_counts_exactly_the_reads_older_than_the_database() -> None:
    ledger = StaleReadLedger()
    assert ledger.record("k", "c", "n1", 10, 1, 1, None) is None  # current: fresh
    assert ledger.record("k", "c", "n1", 20, None, 2, None) is None  # a miss: fresh
    stale = ledger.record("k", "c", "n4", 30, 1, 2, 12.5)  # v1 while the database has v2
    assert stale is not None and stale.stale_ms == 17.5
    assert ledger.record("k", "d", "n4", 40, 1, 3, 12.5) is not None
    assert ledger.record("j", "c", "n2", 45, 2, 2, None) is None
    assert len(ledger) == 2 and ledger.keys() == ["k"] and ledger.fresh == 3
    assert [r.client for r in ledger.reads(key="k")] == ["c", "d"]
    assert len(ledger.reads(client="d")) == 1
    (open_episode,) = ledger.episodes()
    assert open_episode.ended_at is None and open_episode.duration(100) == 87.5
    ledger.record("k", "c", "n4", 50, 3, 3, None)  # the current version: closes it
    (closed,) = ledger.episodes()
    assert (closed.first_at, closed.last_at, closed.ended_at, closed.ended_by) == (
        30,
        40,
        50,
        REFRESHED,
    )
    assert (closed.reads, closed.clients, closed.since) == (2, ("c", "d"), 12.5)
    ledger.record("k", "c", "n4", 60, 2, 4, 55.0)
    ledger.record("k", "c", "n4", 70, None, 4, None)  # the TTL ran out: a miss closes it
    assert [e.ended_by for e in ledger.episodes()] == [REFRESHED, MISSED]
    assert episode_row(ledger.episodes()[1], 100) == {
        "key": "k",
        "stale_since": 55.0,
        "first_read": 60,
        "last_read": 60,
        "ended_at": 70,
        "ended_by": MISSED,
        "reads": 1,
        "stale_ms": 15.0,
        "clients": ["c"],
    }


def cluster() -> tuple[Simulation, ClusterData]:
    sim = Simulation(
        masters=3, replicas=1, seed=1, config={"cluster-node-timeout": 2000}, latency_ms=(1, 1)
    )
    dp = install(sim)
    sim.run_until(100)
    return sim, dp


def test_a_read_between_the_database_write_and_its_del_is_stale() -> None:
    sim, dp = cluster()
    plane = cache_plane(dp, DbConfig(latency=(10.0, 10.0)))
    reader = plane.attach(add_client(dp, "reader", writes=0.0), CacheConfig(ttl_ms=60_000))
    writer = plane.attach(add_client(dp, "writer", writes=1.0), CacheConfig(ttl_ms=60_000))
    reader.read("user:1")
    sim.run_until(200)
    writer.write("user:1")  # the database commits v2 at 210 ms; the DEL runs at 211 ms
    engine = sim.cluster.engine
    # a GET takes 1 ms each way: answered at 207 (v1, current), at 211 (v1 after the
    # commit, before the DEL: stale) and at 232 (after the DEL: a miss)
    for delay in (5, 9, 30):
        engine.schedule(delay, reader.read, "user:1")
    sim.run_until(300)
    (stale,) = plane.ledger.reads()
    assert (stale.key, stale.client, stale.version, stale.current) == ("user:1", "reader", 1, 2)
    assert stale.at == 211 and stale.stale_ms == 1.0  # answered 1 ms after v2 committed
    (episode,) = plane.ledger.episodes()
    assert episode.ended_by == MISSED  # the read after the DEL missed and refilled v2
    assert [e["kind"] for e in sim.trace.events if e["kind"] == "stale_read"] == ["stale_read"]


def test_an_invalidation_lost_in_a_failover_keeps_the_old_value_until_the_ttl() -> None:
    sim, dp = cluster()
    plane = cache_plane(dp, DbConfig(latency=(2.0, 2.0)))
    web = plane.attach(add_client(dp, "web", writes=0.0), CacheConfig(ttl_ms=20_000))
    admin = plane.attach(add_client(dp, "admin", writes=1.0), CacheConfig(ttl_ms=20_000))
    key = next(f"user:{i}" for i in range(100) if key_hash_slot(f"user:{i}") <= 5460)
    other = next(f"user:{i}" for i in range(100) if key_hash_slot(f"user:{i}") > 5460)
    for k in (key, other):
        web.read(k)  # v1 cached on n1 (replicated to n4) and on another master
    sim.run_until(1000)
    sim.cluster.cut(["n1"], ["n4"])  # n1's stream no longer reaches n4
    admin.write(key)
    admin.write(other)
    sim.run_until(1100)
    assert admin.metrics.invalidations_failed == 0  # n1 acknowledged the DEL
    assert plane.ledger.reads() == []
    sim.cluster.kill("n1")
    sim.run_until_condition(lambda: sim.cluster.node("n4").is_master, 30_000)
    promoted_at = sim.now
    for t in range(0, 25_000, 500):  # read both keys every 500 ms, through the TTL
        sim.cluster.engine.schedule(t, web.read, key)
        sim.cluster.engine.schedule(t, web.read, other)
    sim.run_until(promoted_at + 25_000)
    assert plane.ledger.keys() == [key]  # exactly the key whose DEL was lost
    (episode,) = plane.ledger.episodes()
    assert episode.ended_by == MISSED  # the TTL of the v1 copy ended it
    fill_expiry = 100 + 20_000  # v1 was filled at about 100 ms with PX 20000
    assert fill_expiry <= episode.ended_at <= fill_expiry + 600
    assert episode.first_at <= promoted_at + 600
    assert all(r.version == 1 and r.current == 2 for r in plane.ledger.reads())
    assert episode.reads == len(plane.ledger.reads()) >= 30
    lost = dp.lost_writes()
    assert [(w["key"], w["value"], w["client"]) for w in lost] == [(key, None, "admin")]
