"""Cache-aside clients (docs/caching.md): hit/miss and fill, TTL jitter, the stampede
mitigations (lock, serve-stale), write invalidation / write-through, the database's
workers and queue, and the scenario keys."""

from __future__ import annotations

import statistics

import pytest

from simulator.dataplane import install
from simulator.dataplane.actions import add_client
from simulator.dataplane.backing_db import READ, WRITE, BackingDB, DbAnswer, DbConfig
from simulator.dataplane.cache_aside import (
    LOCK,
    SERVE_STALE,
    WRITE_THROUGH,
    CacheAside,
    CacheConfig,
    CachePlane,
    cache_plane,
    decode,
    encode,
)
from simulator.dataplane.model import ClusterData
from simulator.dataplane.server import probe
from simulator.engine import Engine
from simulator.harness.runner import NO_CHECKPOINTS, build, run_to_end
from simulator.scenario import ScenarioError, parse_scenario
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot


def setup(
    db: DbConfig | None = None, **cache: object
) -> tuple[Simulation, ClusterData, CachePlane, CacheAside]:
    sim = Simulation(masters=3, replicas=1, seed=1, config={"cluster-node-timeout": 2000})
    dp = install(sim)
    sim.run_until(100)
    plane = cache_plane(dp, db or DbConfig(latency=(10.0, 10.0)))
    client = add_client(dp, "app", writes=0.0, keys="hot", key_count=1)
    return sim, dp, plane, plane.attach(client, CacheConfig(**cache))  # type: ignore[arg-type]


def stored(sim: Simulation, dp: ClusterData, key: str) -> str:
    owner = sim.cluster.truth_owner(key_hash_slot(key))
    assert owner is not None
    return probe(dp, sim.cluster.node(owner), key)


def test_values_carry_their_version_and_soft_deadline() -> None:
    assert decode(encode(7)) == (7, None)
    assert decode(encode(7, 1234)) == (7, 1234)
    assert decode("hello") == (None, None)


def test_a_miss_reads_the_database_and_fills_redis_then_reads_hit() -> None:
    sim, dp, plane, cache = setup(ttl_ms=3000)
    cache.read("hot")
    sim.run_until(sim.now + 50)
    assert (cache.metrics.misses, cache.metrics.hits, plane.db.stats.reads) == (1, 0, 1)
    assert stored(sim, dp, "hot") == "v1"  # SET hot v1 PX 3000 after the database answered
    cache.read("hot")
    sim.run_until(sim.now + 50)
    assert (cache.metrics.misses, cache.metrics.hits, plane.db.stats.reads) == (1, 1, 1)
    assert cache.summary()["hit_ratio"] == 0.5
    # the fill carries PX ttl: gone after 3 s, the next read misses again
    sim.run_until(sim.now + 3100)
    assert stored(sim, dp, "hot") == "(nil)"
    cache.read("hot")
    sim.run_until(sim.now + 50)
    assert (cache.metrics.misses, plane.db.stats.reads) == (2, 2)


def test_jitter_spreads_ttls_uniformly_between_ttl_and_ttl_plus_jitter() -> None:
    _, _, _, plain = setup(ttl_ms=10_000)
    assert {plain.ttl() for _ in range(100)} == {10_000}
    _, _, _, cache = setup(ttl_ms=10_000, jitter=0.2)
    ttls = [cache.ttl() for _ in range(4000)]
    assert min(ttls) >= 10_000 and max(ttls) < 12_000
    assert statistics.mean(ttls) == pytest.approx(11_000, abs=60)  # uniform: the middle
    quarters = [sum(1 for t in ttls if 10_000 + 500 * q <= t < 10_500 + 500 * q) for q in range(4)]
    assert all(900 <= n <= 1100 for n in quarters), quarters  # flat, not bunched
    _, _, _, again = setup(ttl_ms=10_000, jitter=0.2)
    assert [again.ttl() for _ in range(4000)] == ttls  # one seed, one sequence


def stampede(strategy: str, readers: int = 20) -> tuple[CachePlane, CacheAside]:
    sim, _, plane, cache = setup(
        DbConfig(latency=(50.0, 50.0)), ttl_ms=5000, stampede=strategy, retry_ms=5
    )
    for i in range(readers):  # one reader per ms, all within the database's 50 ms
        sim.cluster.engine.schedule(i, cache.read, "hot")
    sim.run_until(sim.now + 400)
    return plane, cache


def test_without_a_lock_every_reader_that_misses_refills() -> None:
    plane, cache = stampede("none")
    assert plane.db.stats.reads == 20
    assert cache.metrics.refills == 20
    assert len(cache.metrics.read_latency) == 20


def test_lock_lets_exactly_one_reader_refill_the_others_wait_and_hit() -> None:
    plane, cache = stampede(LOCK)
    assert plane.db.stats.reads == 1
    assert cache.metrics.refills == 1
    assert cache.metrics.lock_waits >= 19  # every loser waited at least once
    assert cache.metrics.misses == 20  # their first GET missed ...
    assert len(cache.metrics.read_latency) == 20  # ... and every read was answered
    assert max(cache.metrics.read_latency) < 100  # after the winner's 50 ms refill


def test_serve_stale_answers_the_old_value_while_one_client_refreshes() -> None:
    sim, dp, plane, cache = setup(
        DbConfig(latency=(50.0, 50.0)), ttl_ms=1000, stampede=SERVE_STALE, stale_ms=5000
    )
    cache.read("hot")
    sim.run_until(sim.now + 100)
    assert plane.db.stats.reads == 1
    sim.run_until(sim.now + 1000)  # past the soft deadline, well within ttl + stale
    for i in range(20):
        sim.cluster.engine.schedule(i, cache.read, "hot")
    sim.run_until(sim.now + 200)
    assert plane.db.stats.reads == 2  # one refresh, not twenty
    assert cache.metrics.served_stale == 20
    assert cache.metrics.hits == 20 and cache.metrics.misses == 1
    assert max(cache.metrics.read_latency[1:]) < 5  # none of them waited for the database
    assert decode(stored(sim, dp, "hot"))[1] is not None  # refilled with a new soft deadline


def test_invalidate_deletes_and_write_through_sets_after_the_database_write() -> None:
    sim, dp, plane, cache = setup(ttl_ms=5000)
    cache.read("hot")
    sim.run_until(sim.now + 50)
    cache.write("hot")
    sim.run_until(sim.now + 50)
    assert plane.db.version("hot") == 2
    assert stored(sim, dp, "hot") == "(nil)"
    sim2, dp2, plane2, through = setup(ttl_ms=5000, on_write=WRITE_THROUGH)
    through.write("hot")
    sim2.run_until(sim2.now + 50)
    assert stored(sim2, dp2, "hot") == "v2"
    assert plane2.db.stats.writes == 1 and plane2.db.stats.reads == 0


def test_the_database_serves_concurrency_queries_at_once_then_queues_then_refuses() -> None:
    engine = Engine(1)
    events: list[str] = []
    db = BackingDB(engine, DbConfig((10.0, 10.0), concurrency=2, queue=2), lambda *a, **f: None)
    answers: list[DbAnswer] = []
    for i in range(5):
        db.submit(READ if i else WRITE, "k", "c", answers.append)
    engine.run_until(100)
    done = [(a.op, a.version, a.wait_ms, a.latency_ms) for a in answers]
    assert done[0] == (READ, None, 0.0, 0.0)  # the fifth query found the queue full
    assert done[1:] == [
        (WRITE, 2, 0.0, 10.0),
        (READ, 2, 0.0, 10.0),
        (READ, 2, 10.0, 20.0),
        (READ, 2, 10.0, 20.0),
    ]
    assert db.stats.refused == 1 and db.stats.max_queue == 2
    assert db.superseded_at("k", 1) == 10.0 and db.superseded_at("k", 2) is None
    assert events == []


SCENARIO = """
name: cache
cluster: {masters: 3}
database: {latency: 5ms..10ms, concurrency: 2, queue: 10}
clients:
  - name: web
    rate: 100/s
    writes: 0.1
    keys: "u:{i}"
    key_count: 5
    cache: {ttl: 1s, jitter: 0.5, on_write: write_through, stampede: lock}
run_until: 3s
expect:
  - cache: {client: web, metric: hit_ratio, min: 0.5}
"""


def test_a_scenario_builds_the_database_and_the_cache_client() -> None:
    sim = build(parse_scenario(SCENARIO, "t"), checkpoint_ms=NO_CHECKPOINTS)
    driver = run_to_end(sim)
    assert [r.passed for r in driver.results] == [True]
    plane = sim.extras["cache"]
    assert plane.db.config == DbConfig((5.0, 10.0), 2, 10)
    assert plane.clients["web"].config == CacheConfig(1000, 0.5, WRITE_THROUGH, LOCK)
    figures = plane.metrics()
    assert figures["clients"]["web"]["writes"] > 0
    assert figures["database"]["reads"] == figures["clients"]["web"]["db_reads"]


@pytest.mark.parametrize(
    ("cache", "message"),
    [
        ("{ttl: 1s, on_write: delete}", "on_write"),
        ("{ttl: 1s, stampede: mutex}", "stampede"),
        ("{jitter: 0.1}", "ttl"),
        ("{ttl: 1s, jitter: 2}", "fraction from 0 to 1, got 2"),
    ],
)
def test_bad_cache_keys_get_one_clear_message(cache: str, message: str) -> None:
    text = SCENARIO.replace(
        "{ttl: 1s, jitter: 0.5, on_write: write_through, stampede: lock}", cache
    )
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, "t.yaml")
    assert message in str(error.value)
    assert "t.yaml:" in str(error.value)


def test_a_rewind_replays_the_cache_exactly() -> None:
    sim = build(parse_scenario(SCENARIO, "t"), checkpoint_ms=500)
    sim.run_until(2500)
    first = sim.extras["cache"].metrics()
    sim.rewind(1000)
    sim.run_until(2500)
    assert sim.extras["cache"].metrics() == first


def test_a_cache_client_takes_its_ttl_from_the_cache_record_only() -> None:
    text = SCENARIO.replace("    key_count: 5\n", "    key_count: 5\n    ttl: 1s\n")
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, "t.yaml")
    assert "t.yaml:11:10: a cache-aside client's TTL is its cache's ttl" in str(error.value)


def test_the_cache_condition_names_a_known_metric() -> None:
    text = SCENARIO.replace("metric: hit_ratio", "metric: hit_rate")
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, "t.yaml")
    assert (
        str(error.value)
        == "t.yaml:14:34: unknown cache metric 'hit_rate' (did you mean 'hit_ratio'?)"
    )
