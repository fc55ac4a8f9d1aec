"""The real side's cache-aside client (rcsim/verify/cacheaside.py): rcsim's logic
(docs/caching.md) against a scripted Redis transport and the stand-in database: hits,
misses and refills, TTL jitter from rcsim's stream, invalidation, the lock, fail-open,
the stale-read ledger and the write ledger. No server is started."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from rcsim.verify.cacheaside import CacheAsideWorkload, RealCachePlane
from rcsim.verify.cacheclients import cache_figures
from rcsim.verify.clients import EXPIRED_BY, Ack, ClusterClient
from rcsim.verify.scenario_api import metrics, parse_scenario, run
from simulator.engine import Engine
from simulator.scenario.errors import Loc

LOC = Loc("t", 1, 1)


class ScriptedRedis(ClusterClient):
    """One node "n1" in memory: GET, SET [NX] [PX], DEL; ``down`` answers CLUSTERDOWN
    (what the routing rules return once their retries ran out)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, "127.0.0.1", lambda: [], lambda address: "n1")
        self.store: dict[str, str] = {}
        self.ttls: dict[str, int] = {}
        self.sent: list[tuple[str, ...]] = []
        self.down = False
        self.guard = threading.Lock()
        self.on_get: Any = None  # called with the number of GETs so far, before answering

    def execute(self, emit: Any, *args: str) -> tuple[str, Any, str, float]:
        with self.guard:
            self.sent.append(tuple(args))
            if self.down:
                return "clusterdown", None, "n1", time.monotonic()
            word, key = args[0], args[1]
            reply: Any
            if word == "GET":
                if self.on_get is not None:
                    self.on_get(sum(1 for a in self.sent if a[0] == "GET"))
                reply = self.store.get(key)
            elif word == "DEL":
                reply = int(self.store.pop(key, None) is not None)
            else:
                if "NX" in args and key in self.store:
                    reply = None
                else:
                    self.store[key] = args[2]
                    if "PX" in args:
                        self.ttls[key] = int(args[args.index("PX") + 1])
                    reply = "OK"
            return "ok", reply, "n1", time.monotonic()


def scenario_of(cache: str, database: str = "{latency: 0ms, concurrency: 4, queue: 10}") -> Any:
    return parse_scenario(
        f"""\
name: t
seed: 5
cluster: {{masters: 3, replicas: 0}}
database: {database}
clients:
  - {{name: app, rate: 0/s, writes: 0, keys: "page:{{i}}", key_count: 1, cache: {cache}}}
""",
        "t.yaml",
    )


class Harness:
    def __init__(self, cache: str) -> None:
        self.scenario = scenario_of(cache)
        origin = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.plane = RealCachePlane(
            self.scenario,
            lambda: (time.monotonic() - origin) * 1000,
            lambda t, kind, node=None, **f: self.events.append({"kind": kind, "node": node, **f}),
        )
        self.redis = ScriptedRedis("app")
        self.acks: list[Ack] = []
        self.workload = CacheAsideWorkload(
            self.redis,
            self.scenario.clients[0],
            self.plane,
            self.acks,
            set(),
            threading.Lock(),
            self.plane.now,
            lambda node, fields: None,
        )

    def summary(self) -> dict[str, Any]:
        return self.workload.summary()

    def close(self) -> None:
        self.plane.stop()


@pytest.fixture
def harness(request: pytest.FixtureRequest) -> Any:
    made: list[Harness] = []

    def make(cache: str) -> Harness:
        made.append(Harness(cache))
        return made[-1]

    yield make
    for h in made:
        h.close()


def test_a_miss_reads_the_database_and_fills_with_rcsim_jitter(harness: Any) -> None:
    h = harness("{ttl: 2s, jitter: 0.2}")
    h.workload.cache_read("page:0")
    stream = Engine(5).rng("cache:app")  # rcsim's stream for the client's jitter
    px = 2000 + int(stream.uniform(0, 0.2 * 2000))
    assert h.redis.sent == [("GET", "page:0"), ("SET", "page:0", "v1", "PX", str(px))]
    h.workload.cache_read("page:0")
    figures = h.summary()
    assert {k: figures[k] for k in ("reads", "hits", "misses", "refills", "db_reads")} == {
        "reads": 2,
        "hits": 1,
        "misses": 1,
        "refills": 1,
        "db_reads": 1,
    }
    assert [(a[1], a[2], a[4]) for a in sorted(h.acks)] == [
        ("page:0", "v1", "app"),
        ("page:0", None, EXPIRED_BY),  # the TTL's deletion, as rcsim's ledger has it
    ]
    assert h.plane.figure(None, "reads") == 1 and h.plane.figure(None, "stale_reads") == 0


def test_a_write_updates_the_database_then_deletes_and_stale_reads_are_ledgered(
    harness: Any,
) -> None:
    h = harness("{ttl: 8s, on_write: invalidate}")
    h.workload.cache_read("page:0")  # fills v1
    h.redis.down = True
    h.workload.cache_write("page:0")  # the database has v2; the DEL fails
    h.redis.down = False
    assert h.summary()["invalidations_failed"] == 1
    h.workload.cache_read("page:0")  # Redis still has v1: a stale read
    stale = [e for e in h.events if e["kind"] == "stale_read"]
    assert len(stale) == 1
    assert {k: stale[0][k] for k in ("client", "key", "version", "current")} == {
        "client": "app",
        "key": "page:0",
        "version": 1,
        "current": 2,
    }
    assert h.plane.figure("app", "stale_reads") == 1 and h.plane.figure(None, "stale_keys") == 1
    assert h.plane.figure(None, "stale_open") == 1
    h.workload.cache_write("page:0")  # v3, DEL lands
    assert ("DEL", "page:0") in h.redis.sent and "page:0" not in h.redis.store
    h.workload.cache_read("page:0")  # a miss closes the episode, refills v3
    assert h.redis.store["page:0"] == "v3"
    assert h.plane.figure(None, "stale_open") == 0
    assert h.plane.metrics()["stale_episodes"][0]["ended_by"] == "expired or deleted"
    assert ("page:0", None, "app") in [(a[1], a[2], a[4]) for a in h.acks]  # the DEL


def test_write_through_sets_the_new_version(harness: Any) -> None:
    h = harness("{ttl: 8s, on_write: write_through}")
    h.workload.cache_write("page:0")
    assert h.redis.sent == [("SET", "page:0", "v2", "PX", "8000")]


def test_the_lock_loser_waits_and_reads_again(harness: Any) -> None:
    h = harness("{ttl: 2s, stampede: lock, lock_ttl: 200ms, retry: 10ms, retries: 3}")
    h.redis.store["lock:page:0"] = "other:1"  # another reader holds the lock...

    def refilled_by_the_winner(gets: int) -> None:
        if gets == 3:  # ... and refills between our second and third GET
            h.redis.store["page:0"] = "v1"

    h.redis.on_get = refilled_by_the_winner
    h.workload.cache_read("page:0")
    figures = h.summary()
    assert figures["lock_waits"] == 2 and figures["refills"] == 0 and figures["db_reads"] == 0
    assert figures["misses"] == 1 and figures["hits"] == 0  # a retry's hit is not a hit
    lock_sets = [s for s in h.redis.sent if s[1] == "lock:page:0"]
    assert lock_sets == [
        ("SET", "lock:page:0", "app:1", "NX", "PX", "200"),
        ("SET", "lock:page:0", "app:2", "NX", "PX", "200"),
    ]
    assert not [a for a in h.acks if a[1] == "lock:page:0"]  # SET NX answered nil: no write


def test_the_lock_winner_refills_and_gives_up_after_its_retries(harness: Any) -> None:
    h = harness("{ttl: 2s, stampede: lock, lock_ttl: 200ms, retry: 1ms, retries: 2}")
    h.workload.cache_read("page:0")
    assert h.redis.store["page:0"] == "v1" and h.summary()["refills"] == 1
    assert [a[1] for a in h.acks if a[4] == "app"] == ["lock:page:0", "page:0"]
    del h.redis.store["page:0"]  # expired; the lock is still held (no release)
    h.workload.cache_read("page:0")
    figures = h.summary()
    assert figures["lock_waits"] == 2 and figures["refills"] == 1 and figures["db_reads"] == 2


def test_an_error_falls_through_to_the_database_without_a_fill(harness: Any) -> None:
    h = harness("{ttl: 2s}")
    h.redis.down = True
    h.workload.cache_read("page:0")
    figures = h.summary()
    assert (figures["errors"], figures["db_reads"], figures["refills"]) == (1, 1, 0)
    assert [s[0] for s in h.redis.sent] == ["GET"]


def test_serve_stale_answers_the_old_value_and_one_refresh(harness: Any) -> None:
    h = harness("{ttl: 2s, stampede: serve_stale, stale: 5s}")
    h.redis.store["page:0"] = "v1;fresh_until=0"
    h.workload.cache_read("page:0")
    figures = h.summary()
    assert (figures["hits"], figures["served_stale"], figures["refills"]) == (1, 1, 1)
    value = h.redis.store["page:0"]
    assert value.startswith("v1;fresh_until=") and h.redis.ttls["page:0"] == 7000


def test_the_figures_have_rcsims_rows() -> None:
    """The table's cache rows are read alike from rcsim's report and a real run's plane."""
    scenario = parse_scenario(
        """\
name: t
seed: 5
cluster: {masters: 3, replicas: 0}
database: {latency: 1ms, concurrency: 2, queue: 5}
clients:
  - {name: app, rate: 50/s, writes: 0.1, keys: "page:{i}", key_count: 3, cache: {ttl: 200ms}}
run_until: 1s
""",
        "t.yaml",
    )
    sim = run(scenario, 1)
    sim_rows = cache_figures(metrics(sim, sim.extras["driver"]))
    plane = RealCachePlane(scenario, lambda: 0.0, lambda *a, **k: None)
    CacheAsideWorkload(
        ScriptedRedis("app"), scenario.clients[0], plane, [], set(), threading.Lock(),
        lambda: 0.0, lambda node, fields: None,
    )  # fmt: skip
    real_rows = cache_figures({"cache": plane.metrics()})
    plane.stop()
    assert list(real_rows) == list(sim_rows)
    assert sim_rows["cache app db_reads"] and sim_rows["database reads"]


def test_operations_are_drawn_as_rcsim_draws_them() -> None:
    """invalidation-lost's admin writes, in rcsim, the keys the real client will write,
    in the same order (the run loop asks for the key, then the write decision)."""
    from rcsim.verify.draws import RcsimDraws
    from rcsim.verify.scenario_api import load_scenario

    scenario = load_scenario("invalidation-lost")
    sim = run(scenario, 1)
    rcsim_writes = [
        e["key"]
        for e in sim.trace.events
        if e["kind"] == "db_query" and e.get("client") == "admin" and e.get("op") == "write"
    ]
    assert len(rcsim_writes) >= 10
    draws = RcsimDraws(scenario.seed, "admin")
    real = []
    for _ in rcsim_writes:
        key = f"user:{draws.randrange(12)}"
        assert draws.random() < 1  # writes: 1
        real.append(key)
    assert real == rcsim_writes
    assert {"user:3", "user:7"} <= set(real)  # the lesson's two keys on n1
