"""The backing database of a real run's cache-aside clients: a stand-in in the harness.

A real cluster has no "database" behind it: in a real run the system of record that
cache-aside clients (:mod:`rcsim.verify.cacheaside`) read on a miss and update on a
write is part of verify's client harness, in the verify process, **not Redis and not a
server**. It is rcsim's own :class:`BackingDB` (simulator/dataplane/backing_db.py,
docs/caching.md): the same service model by construction — ``concurrency`` workers, a
FIFO queue of at most ``queue`` waiting queries (one more is refused at once), a service
time per query drawn seeded-uniform from ``latency`` out of the ``backing-db`` stream of
the scenario's seed — and the same counters (reads, writes, refused, max queue, reads
per second), so the tables compare like with like.

What differs is the clock: :class:`WallEngine` offers the part of rcsim's engine the
database uses (``instant``, ``rng``, ``schedule_at``) on the run's clock (ms since the
scenario's time 0). Events come due in time order, first in first out at equal times,
as in rcsim's engine; every query first runs what is due by now (so it finds the workers
that finished before it free), and a driver thread runs the rest when due, which is when
a blocked client thread gets its answer. A service ends at its drawn time exactly (the
answer's latency and wait are the model's); the client thread wakes a little later
(thread scheduling on a loaded host), which adds to its read latency, not to the
database's figures.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.harness.reference import BackingDB, DbAnswer, DbConfig, derive_seed

Clock = Callable[[], float]
"""ms on the run's clock."""

QUERY_TIMEOUT_S = 30.0
"""A blocked query gives up after this long (only if the driver thread died)."""


class WallEngine:
    """The part of :class:`simulator.engine.Engine` :class:`BackingDB` uses, run by
    :meth:`advance` to a time of the caller's clock."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.instant: float = 0.0
        self.now = 0
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._order = itertools.count()
        self._streams: dict[str, random.Random] = {}

    def rng(self, name: str) -> random.Random:
        """The stream ``name`` of the seed, as rcsim's engine derives it."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = random.Random(derive_seed(self.seed, name))
        return stream

    def schedule_at(self, time_ms: float, callback: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (max(time_ms, self.instant), next(self._order), callback, args))

    def due(self) -> float | None:
        """When the next event is due (None: nothing pending)."""
        return self._heap[0][0] if self._heap else None

    def advance(self, now: float) -> None:
        """Run every event due by ``now``, each at its own time; then the time is ``now``."""
        while self._heap and self._heap[0][0] <= now:
            t, _, callback, args = heapq.heappop(self._heap)
            self.instant, self.now = t, int(t)
            callback(*args)
        if now > self.instant:
            self.instant, self.now = now, int(now)


@dataclass
class _Box:
    """Where a blocked query's answer lands."""

    event: threading.Event = field(default_factory=threading.Event)
    answer: DbAnswer | None = None


def _deliver(answer: DbAnswer, box: _Box) -> None:
    box.answer = answer
    box.event.set()


def _no_trace(*_args: Any, **_fields: Any) -> None:
    """``db_query`` events are not kept on the real side (rcsim traces them, but no
    bundled lesson waits on one; the counters are compared instead)."""


class StandInDB:
    """:class:`BackingDB` on the run's clock, safe to query from many threads."""

    def __init__(self, config: DbConfig, seed: int, clock: Clock) -> None:
        self.clock = clock
        self.engine = WallEngine(seed)
        self.db = BackingDB(self.engine, config, _no_trace)  # type: ignore[arg-type]
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._driver = threading.Thread(target=self._drive, name="standin-db", daemon=True)

    # ------------------------------------------------------------------ queries

    def submit(
        self, op: str, key: str, client: str, answer: Callable[..., None], *args: Any
    ) -> None:
        """Send one query now (``answer(DbAnswer, *args)`` when served or refused)."""
        with self.lock:
            self.engine.advance(self.clock())
            self.db.submit(op, key, client, answer, *args)
        self._wake.set()

    def query(self, op: str, key: str, client: str) -> DbAnswer:
        """Send one query and wait for its answer (``version`` None: refused)."""
        box = _Box()
        self.submit(op, key, client, _deliver, box)
        if not box.event.wait(QUERY_TIMEOUT_S) or box.answer is None:
            raise TimeoutError(f"the stand-in database did not answer {op} {key}")
        return box.answer

    def versions(self, key: str, version: int | None) -> tuple[int, float | None]:
        """(the key's current version, when ``version`` was superseded) now."""
        with self.lock:
            self.engine.advance(self.clock())
            superseded = None if version is None else self.db.superseded_at(key, version)
            return self.db.version(key), superseded

    # ------------------------------------------------------------------ the driver

    def start(self) -> None:
        self._driver.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._driver.is_alive():
            self._driver.join(timeout=2)

    def _drive(self) -> None:
        """Run the events when due; sleep until the next one or a new query."""
        while not self._stop.is_set():
            self._wake.clear()  # before reading the queue: a query after this wakes us
            with self.lock:
                now = self.clock()
                self.engine.advance(now)
                due = self.engine.due()
            delay = 0.05 if due is None else min(0.05, max(0.0, (due - now) / 1000))
            if delay > 0:
                self._wake.wait(delay)

    def stats(self) -> dict[str, Any]:
        """The database's counters, as rcsim's ``metrics.cache.database``."""
        with self.lock:
            return self.db.summary()

    def by_client(self, client: str) -> tuple[int, int]:
        """(reads, writes) served to ``client``."""
        with self.lock:
            reads, writes = self.db.stats.by_client.get(client, [0, 0])
            return reads, writes
