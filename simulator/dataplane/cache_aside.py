"""Cache-aside clients: Redis in front of a backing database (docs/caching.md).

The client model (an application pattern, not a Redis rule; its Redis commands follow
§15 and §26.1): a workload client (:class:`~simulator.dataplane.clients.Client`) whose
``cache`` is a :class:`CacheAside` starts, at its rate, reads and writes of keys drawn
as the plain workload draws them:

* **read**: ``GET key``; a value is a **hit** (answered then). A nil is a **miss**: read
  the database and ``SET key v<version> PX ttl`` (``ttl`` plus a seeded-uniform
  ``0..jitter × ttl`` when ``jitter`` is set), answering with the database's value.
  A Redis error (the client's retries ran out: ``CLUSTERDOWN``, refused, timeout) falls
  through to the database without a SET (fail open).
* **write**: update the database, then ``DEL key`` (``invalidate``) or
  ``SET key v<version> PX ttl`` (``write_through``).

Stampede mitigations (``stampede``):

* ``lock``: on a miss, ``SET lock:<key> <token> NX PX lock_ms``; the winner refills;
  the others wait ``retry_ms`` and ``GET`` again, at most ``retries`` times, then read
  the database without filling. The winner does not release the lock (that needs a
  compare-and-delete script); it expires after ``lock_ms``. If Redis cannot take the
  lock (an error), the read falls through to the database (fail open).
* ``serve_stale``: values carry a soft deadline (``v7;fresh_until=<ms>``) and are kept
  ``stale_ms`` longer in Redis; a hit past its soft deadline is answered with the old
  value at once while one client (the one whose ``SET lock:<key> NX`` wins) refreshes it.

Every answered cache lookup goes to the stale-read ledger
(:mod:`simulator.dataplane.stale_reads`); the database's queries and the stale reads are
traced (``db_query``, ``stale_read``) — only when a cache-aside client exists.

Simplified: open loop only (each operation starts on the rate's grid, whatever the
previous one does); the SET that fills a miss is not awaited (the read answers with the
database's value when the database answers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.dataplane import outcomes
from simulator.dataplane.backing_db import READ, WRITE, BackingDB, DbAnswer, DbConfig
from simulator.dataplane.client_op import Op
from simulator.dataplane.clients import Client
from simulator.dataplane.stale_reads import StaleReadLedger, episode_row

INVALIDATE = "invalidate"
WRITE_THROUGH = "write_through"
ON_WRITE = (INVALIDATE, WRITE_THROUGH)
NONE = "none"
LOCK = "lock"
SERVE_STALE = "serve_stale"
STAMPEDE = (NONE, LOCK, SERVE_STALE)

EXTRAS_KEY = "cache"
"""Where the :class:`CachePlane` lives: ``sim.extras["cache"]``."""


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """One cache-aside client's policy (times in ms)."""

    ttl_ms: int = 5000
    jitter: float = 0.0  # fraction of ttl added, seeded uniform 0..jitter
    on_write: str = INVALIDATE
    stampede: str = NONE
    lock_ms: int = 1000
    retry_ms: int = 20
    retries: int = 50
    stale_ms: int = 5000  # serve_stale: how much longer than ttl Redis keeps the value

    def __post_init__(self) -> None:
        if self.ttl_ms < 1:
            raise ValueError(f"cache ttl must be >= 1 ms, got {self.ttl_ms}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"cache jitter must be a fraction 0..1, got {self.jitter}")
        if self.on_write not in ON_WRITE:
            raise ValueError(f"cache on_write must be one of {', '.join(ON_WRITE)}")
        if self.stampede not in STAMPEDE:
            raise ValueError(f"cache stampede must be one of {', '.join(STAMPEDE)}")
        if self.lock_ms < 1 or self.retry_ms < 1 or self.retries < 0 or self.stale_ms < 1:
            raise ValueError("cache lock, retry and stale times must be >= 1 ms, retries >= 0")


def encode(version: int, fresh_until: int | None = None) -> str:
    """The value a cache-aside client stores for ``version``."""
    return f"v{version}" if fresh_until is None else f"v{version};fresh_until={fresh_until}"


def decode(value: str) -> tuple[int | None, int | None]:
    """(version, soft deadline) of a stored value; (None, None) if it is not one."""
    head, _, tail = value.partition(";fresh_until=")
    if not head.startswith("v") or not head[1:].isdigit():
        return None, None
    return int(head[1:]), (int(tail) if tail.isdigit() else None)


@dataclass(slots=True)
class CacheMetrics:
    """One client's counters (latencies in ms, one per finished operation)."""

    reads: int = 0
    hits: int = 0
    misses: int = 0
    errors: int = 0  # the GET failed: read from the database
    served_stale: int = 0  # serve_stale: answered past the soft deadline
    lock_waits: int = 0  # lock: retries after losing the lock
    refills: int = 0  # database reads whose value was SET back
    db_refused: int = 0
    writes: int = 0
    invalidations_failed: int = 0  # the DEL / SET after a database write failed
    stale_reads: int = 0  # this client's entries in the stale-read ledger
    read_latency: list[float] = field(default_factory=list)
    write_latency: list[float] = field(default_factory=list)


@dataclass(slots=True)
class _Read:
    key: str
    started: float
    tries: int = 0


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return round(ordered[int(rank) - 1], 3)


class CachePlane:
    """The backing database, the stale-read ledger and every cache-aside client."""

    def __init__(self, dp: Any, config: DbConfig) -> None:
        self.dp = dp
        self.db = BackingDB(dp.cluster.engine, config, dp.emit)
        self.ledger = StaleReadLedger()
        self.clients: dict[str, CacheAside] = {}

    def attach(self, client: Client, config: CacheConfig) -> CacheAside:
        cache = CacheAside(self, client, config)
        self.clients[client.name] = cache
        client.aside = cache
        client.closed_loop = False
        return cache

    def metrics(self) -> dict[str, Any]:
        """The run's cache figures (``rcsim run --report``'s ``metrics.cache``)."""
        now = self.dp.now
        return {
            "database": self.db.summary(),
            "clients": {name: c.summary() for name, c in self.clients.items()},
            "stale_reads": len(self.ledger),
            "stale_keys": self.ledger.keys(),
            "stale_open": sum(1 for e in self.ledger.episodes() if e.ended_at is None),
            "stale_episodes": [episode_row(e, now) for e in self.ledger.episodes()],
        }


class CacheAside:
    """One client's cache-aside logic (see the module docstring)."""

    def __init__(self, plane: CachePlane, client: Client, config: CacheConfig) -> None:
        self.plane = plane
        self.client = client
        self.config = config
        self.metrics = CacheMetrics()
        self.refreshing: dict[str, bool] = {}  # serve_stale: keys this client refreshes

    @property
    def rng(self) -> Any:
        return self.client.dp.cluster.engine.rng(f"cache:{self.client.name}")

    @property
    def now(self) -> float:
        return float(self.client.dp.cluster.engine.instant)

    # ------------------------------------------------------------------ the workload

    def next_op(self) -> None:
        """One operation of the workload: a read or a write of a drawn key."""
        client = self.client
        rng = client.rng
        write = rng.random() < client.writes
        if client.key_list is not None:
            key = client.key_list[rng.randrange(len(client.key_list))]
        else:
            key = client.keys.replace("{i}", str(rng.randrange(client.key_count)))
        if write:
            self.write(key)
        else:
            self.read(key)

    def ttl(self) -> int:
        """The PX of a fill: ttl, plus jitter (seeded uniform), plus the stale window."""
        config = self.config
        ttl = config.ttl_ms
        if config.jitter:
            ttl += int(self.rng.uniform(0, config.jitter * config.ttl_ms))
        if config.stampede == SERVE_STALE:
            ttl += config.stale_ms
        return ttl

    def _fill(self, key: str, version: int) -> None:
        """SET key v<version> PX ttl (not awaited)."""
        fresh_until = None
        if self.config.stampede == SERVE_STALE:
            fresh_until = int(self.now) + self.config.ttl_ms
        px = self.ttl()
        self.client.start(("SET", key, encode(version, fresh_until), "PX", str(px)))

    # ------------------------------------------------------------------ reads

    def read(self, key: str) -> None:
        self.metrics.reads += 1
        self.client.start(("GET", key), self._got, _Read(key, self.now))

    def _got(self, op: Op, read: _Read) -> None:
        metrics = self.metrics
        first = read.tries == 0
        if op.outcome != outcomes.OK:
            if first:
                metrics.errors += 1
            self._db_read(read, fill=False)
            return
        plane = self.plane
        db = plane.db
        value = op.result if isinstance(op.result, str) else None
        version, fresh_until = decode(value) if value is not None else (None, None)
        key = read.key
        stale = plane.ledger.record(
            key,
            self.client.name,
            op.node,
            plane.dp.now,
            version,
            db.version(key),
            None if version is None else db.superseded_at(key, version),
        )
        if stale is not None:
            metrics.stale_reads += 1
            plane.dp.emit(
                "stale_read",
                op.node or None,
                None,
                client=self.client.name,
                key=key,
                version=stale.version,
                current=stale.current,
                stale_ms=round(stale.stale_ms, 3),
            )
        if version is None:
            if first:
                metrics.misses += 1
            if self.config.stampede == LOCK:
                self._lock(read)
            else:
                self._db_read(read, fill=True)
            return
        if first:
            metrics.hits += 1
        if fresh_until is not None and plane.dp.now >= fresh_until:
            metrics.served_stale += 1
            if not self.refreshing.get(key):
                self.refreshing[key] = True
                self._take_lock(key, self._refresh_locked, key)
        self._answer_read(read)

    def _take_lock(self, key: str, then: Any, *args: Any) -> None:
        client = self.client
        token = f"{client.name}:{client.seq + 1}"
        lock_ms = str(self.config.lock_ms)
        client.start(("SET", f"lock:{key}", token, "NX", "PX", lock_ms), then, *args)

    def _lock(self, read: _Read) -> None:
        self._take_lock(read.key, self._locked, read)

    def _locked(self, op: Op, read: _Read) -> None:
        if op.outcome != outcomes.OK or op.result == "OK":
            self._db_read(read, fill=True)  # won the lock, or no lock to be had: fail open
            return
        if read.tries >= self.config.retries:
            self._db_read(read, fill=False)
            return
        read.tries += 1
        self.metrics.lock_waits += 1
        self.client.dp.cluster.engine.schedule(self.config.retry_ms, self._retry, read)

    def _retry(self, read: _Read) -> None:
        self.client.start(("GET", read.key), self._got, read)

    def _refresh_locked(self, op: Op, key: str) -> None:
        if op.outcome == outcomes.OK and op.result == "OK":
            self.plane.db.submit(READ, key, self.client.name, self._refreshed, key)
        else:
            self.refreshing.pop(key, None)

    def _refreshed(self, answer: DbAnswer, key: str) -> None:
        self.refreshing.pop(key, None)
        if answer.version is None:
            self.metrics.db_refused += 1
            return
        self.metrics.refills += 1
        self._fill(key, answer.version)

    def _db_read(self, read: _Read, fill: bool) -> None:
        self.plane.db.submit(READ, read.key, self.client.name, self._db_answered, read, fill)

    def _db_answered(self, answer: DbAnswer, read: _Read, fill: bool) -> None:
        if answer.version is None:
            self.metrics.db_refused += 1  # the read fails: nothing to answer
            return
        if fill:
            self.metrics.refills += 1
            self._fill(read.key, answer.version)
        self._answer_read(read)

    def _answer_read(self, read: _Read) -> None:
        self.metrics.read_latency.append(self.now - read.started)

    # ------------------------------------------------------------------ writes

    def write(self, key: str) -> None:
        self.metrics.writes += 1
        self.plane.db.submit(WRITE, key, self.client.name, self._db_written, key, self.now)

    def _db_written(self, answer: DbAnswer, key: str, started: float) -> None:
        if answer.version is None:
            self.metrics.db_refused += 1
            return
        if self.config.on_write == INVALIDATE:
            argv: tuple[str, ...] = ("DEL", key)
        else:
            fresh_until = None
            if self.config.stampede == SERVE_STALE:
                fresh_until = int(self.now) + self.config.ttl_ms
            argv = ("SET", key, encode(answer.version, fresh_until), "PX", str(self.ttl()))
        self.client.start(argv, self._written, started)

    def _written(self, op: Op, started: float) -> None:
        if op.outcome != outcomes.OK:
            self.metrics.invalidations_failed += 1
        self.metrics.write_latency.append(self.now - started)

    # ------------------------------------------------------------------ figures

    def summary(self) -> dict[str, Any]:
        m = self.metrics
        looked = m.hits + m.misses + m.errors
        db = self.plane.db.stats.by_client.get(self.client.name, [0, 0])
        reads = m.read_latency
        return {
            "reads": m.reads,
            "hits": m.hits,
            "misses": m.misses,
            "errors": m.errors,
            "hit_ratio": round(m.hits / looked, 4) if looked else None,
            "served_stale": m.served_stale,
            "lock_waits": m.lock_waits,
            "refills": m.refills,
            "db_reads": db[0],
            "db_writes": db[1],
            "db_refused": m.db_refused,
            "writes": m.writes,
            "invalidations_failed": m.invalidations_failed,
            "stale_reads": m.stale_reads,
            "read_p50_ms": percentile(reads, 50),
            "read_p95_ms": percentile(reads, 95),
            "read_p99_ms": percentile(reads, 99),
            "read_max_ms": round(max(reads), 3) if reads else None,
            "write_p50_ms": percentile(m.write_latency, 50),
        }


def cache_plane(dp: Any, config: DbConfig | None = None) -> CachePlane:
    """The data plane's :class:`CachePlane`, made on first use (kept on ``dp.cache_plane``)."""
    plane = getattr(dp, "cache_plane", None)
    if isinstance(plane, CachePlane):
        return plane
    plane = CachePlane(dp, config or DbConfig())
    dp.cache_plane = plane
    return plane


def attach_spec(dp: Any, client: Client, cache: Any, database: Any) -> CachePlane:
    """Make ``client`` a cache-aside client from a scenario's ``cache`` record, with the
    scenario's ``database`` record (or the defaults) behind it; returns the plane."""
    db = (
        DbConfig()
        if database is None
        else DbConfig(database.latency, database.concurrency, database.queue)
    )
    config = CacheConfig(
        cache.ttl_ms,
        cache.jitter,
        cache.on_write,
        cache.stampede,
        cache.lock_ms,
        cache.retry_ms,
        cache.retries,
        cache.stale_ms,
    )
    plane = cache_plane(dp, db)
    plane.attach(client, config)
    return plane
