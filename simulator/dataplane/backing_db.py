"""The backing database behind a cache: the authoritative value and version of every key.

Not Redis: the system of record a cache-aside client (:mod:`simulator.dataplane.
cache_aside`, docs/caching.md) reads on a miss and updates on a write. It is a server
with ``concurrency`` workers and a FIFO queue of at most ``queue`` waiting queries; a
query takes a service time drawn seeded-uniform from ``latency`` (ms, the round trip
included), so when clients send more than ``concurrency / latency`` queries per ms the
queue grows, the wait adds to every answer, and a full queue refuses at once (the
client's read fails, like a connection pool's "too many connections").

Every key exists from the start at version 1 (value ``v1``); a write commits when its
service ends and bumps the version. A read returns the version current when its service
ends. :meth:`BackingDB.superseded_at` tells when a version stopped being the newest,
which the stale-read ledger uses to say how long a read's value had been stale.

Simplified: the database is not a network endpoint (partitions and cuts do not reach
it) and never fails; its service time does not depend on load (only the queue does).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.engine import Engine

READ = "read"
WRITE = "write"

ERR_DB_BUSY = "database queue full"

Answer = Callable[..., None]
"""``answer(DbAnswer, *args)``: a bound method or module function, never a closure (a
rewind deep-copies the model, and a closure would keep pointing at the old one)."""


@dataclass(frozen=True, slots=True)
class DbConfig:
    """The database's shape: service time range (ms), workers, queue bound."""

    latency: tuple[float, float] = (5.0, 5.0)
    concurrency: int = 8
    queue: int = 1000

    def __post_init__(self) -> None:
        low, high = self.latency
        if not 0 <= low <= high:
            raise ValueError(f"database latency must be 0 <= low <= high ms, got {self.latency}")
        if self.concurrency < 1:
            raise ValueError(f"database concurrency must be >= 1, got {self.concurrency}")
        if self.queue < 0:
            raise ValueError(f"database queue must be >= 0, got {self.queue}")


@dataclass(frozen=True, slots=True)
class DbAnswer:
    """What a query got: the key's version after it (``None``: refused, queue full),
    the time it waited in the queue and its total latency (ms)."""

    key: str
    op: str
    version: int | None
    wait_ms: float
    latency_ms: float


@dataclass(slots=True)
class _Query:
    op: str
    key: str
    client: str
    submitted: float
    answer: Answer
    args: tuple[Any, ...]
    started: float = 0.0


@dataclass(slots=True)
class DbStats:
    """Counters of the whole run (per client in ``by_client``)."""

    reads: int = 0
    writes: int = 0
    refused: int = 0
    max_queue: int = 0
    reads_per_s: dict[int, int] = field(default_factory=dict)  # second -> reads answered
    by_client: dict[str, list[int]] = field(default_factory=dict)  # client -> [reads, writes]


class BackingDB:
    """The system of record (see the module docstring)."""

    def __init__(self, engine: Engine, config: DbConfig, trace: Callable[..., None]) -> None:
        self.engine = engine
        self.config = config
        self._emit = trace  # emit(kind, node, target, **fields)
        self.versions: dict[str, int] = {}
        self.history: dict[str, list[float]] = {}  # key -> commit time of versions 2, 3, ...
        self.busy = 0
        self.waiting: deque[_Query] = deque()
        self.stats = DbStats()

    @property
    def rng(self) -> Any:
        return self.engine.rng("backing-db")

    def version(self, key: str) -> int:
        """The key's current (authoritative) version."""
        return self.versions.get(key, 1)

    def superseded_at(self, key: str, version: int) -> float | None:
        """When ``version`` of ``key`` stopped being the newest (None: it still is)."""
        commits = self.history.get(key, [])
        index = version - 1  # commits[0] made version 2
        return commits[index] if 0 <= index < len(commits) else None

    def queued(self) -> int:
        return len(self.waiting)

    def summary(self) -> dict[str, Any]:
        """The counters as ``metrics.cache.database`` reports them (rcsim's run report and
        rcsim verify's stand-in both print this row)."""
        stats = self.stats
        per_second = stats.reads_per_s
        return {
            "reads": stats.reads,
            "writes": stats.writes,
            "refused": stats.refused,
            "max_queue": stats.max_queue,
            "queue": self.queued(),
            "peak_reads_per_s": max(per_second.values(), default=0),
            "reads_per_s": {str(s): per_second[s] for s in sorted(per_second)},
        }

    def submit(self, op: str, key: str, client: str, answer: Answer, *args: Any) -> None:
        """Send one query now; ``answer(DbAnswer, *args)`` runs when it is served or
        refused."""
        query = _Query(op, key, client, float(self.engine.instant), answer, args)
        if self.busy < self.config.concurrency:
            self._start(query)
            return
        if len(self.waiting) >= self.config.queue:
            self.stats.refused += 1
            answer(DbAnswer(key, op, None, 0.0, 0.0), *args)
            return
        self.waiting.append(query)
        self.stats.max_queue = max(self.stats.max_queue, len(self.waiting))

    def _start(self, query: _Query) -> None:
        self.busy += 1
        query.started = float(self.engine.instant)
        low, high = self.config.latency
        service = low if high == low else self.rng.uniform(low, high)
        self.engine.schedule_at(self.engine.instant + service, self._done, query)

    def _done(self, query: _Query) -> None:
        self.busy -= 1
        if self.waiting:
            self._start(self.waiting.popleft())
        now = float(self.engine.instant)
        key = query.key
        stats = self.stats
        per_client = stats.by_client.setdefault(query.client, [0, 0])
        if query.op == WRITE:
            self.versions[key] = self.version(key) + 1
            self.history.setdefault(key, []).append(now)
            stats.writes += 1
            per_client[1] += 1
        else:
            stats.reads += 1
            per_client[0] += 1
            second = int(now // 1000)
            stats.reads_per_s[second] = stats.reads_per_s.get(second, 0) + 1
        version = self.version(key)
        latency = now - query.submitted
        self._emit(
            "db_query",
            None,
            None,
            client=query.client,
            op=query.op,
            key=key,
            version=version,
            wait_ms=round(query.started - query.submitted, 3),
            queue=len(self.waiting),
            latency_ms=round(latency, 3),
        )
        wait = query.started - query.submitted
        query.answer(DbAnswer(key, query.op, version, wait, latency), *query.args)
