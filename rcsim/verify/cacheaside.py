"""Cache-aside clients on a real cluster: rcsim's client logic (docs/caching.md,
simulator/dataplane/cache_aside.py) with real commands, a stand-in database and the
same ledgers, so a lesson's ``cache`` conditions and figures mean the same on both sides.

A client with a ``cache`` record starts, at its rate (open loop, one thread per
operation, as :class:`~rcsim.verify.clients.Workload`), a read or a write of a key drawn
as rcsim draws it (:mod:`rcsim.verify.draws`: the same operations for the same seed):

* **read**: ``GET key`` with the routing rules of §15 (:class:`ClusterClient`). A value is
  a **hit**; a nil is a **miss**: read the database and ``SET key v<version> PX ttl``
  (``ttl`` plus a uniform ``0..jitter × ttl`` from the client's own ``cache:<name>`` stream
  of the scenario's seed). An error after the retries (``CLUSTERDOWN``, refused, timeout)
  falls through to the database without a SET (fail open).
* **write**: update the database, then ``DEL key`` (``invalidate``) or ``SET key
  v<version> PX ttl`` (``write_through``).
* ``stampede: lock``: on a miss ``SET lock:<key> <token> NX PX lock_ttl``; the winner
  refills, a loser waits ``retry`` and GETs again, at most ``retries`` times, then reads
  the database without filling; an error taking the lock fails open (refill).
* ``stampede: serve_stale``: values carry a soft deadline (``v7;fresh_until=<ms>``, on the
  run's clock) and PX is ttl + stale; a hit past it is answered and the client that wins
  ``SET lock:<key> NX`` refreshes it.

Every GET answered with a value or a nil goes to rcsim's stale-read ledger with the
database's version at that moment (a ``stale_read`` event when stale), every database
query to the stand-in's counters (:mod:`rcsim.verify.standin_db`), and every
acknowledged SET/DEL to the run's write ledger (a SET NX answered nil wrote nothing, as
rcsim records it), so lost writes count refills and invalidations too.

As in rcsim the fill is not awaited by the read: its latency ends when the database
answers (the fill SET then runs on the same thread). Each operation runs on its own
thread, so the waits are real sleeps; a loaded host adds to them, never to the
database's service times.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from rcsim.verify.clients import EXPIRED_BY, Ack, ClusterClient, Emit, Workload
from rcsim.verify.draws import RcsimDraws
from rcsim.verify.standin_db import StandInDB
from simulator.harness.reference import (
    INVALIDATE,
    LOCK,
    READ,
    SERVE_STALE,
    WRITE,
    CacheConfig,
    CacheMetrics,
    DbConfig,
    StaleReadLedger,
    decode,
    derive_seed,
    encode,
    episode_row,
    figure_of,
    percentile,
)

LogEvent = Callable[..., None]
"""``log(t, kind, node, **fields)``: the run's :class:`~rcsim.verify.events.EventLog.add`."""


def cache_config(spec: Any) -> CacheConfig:
    """rcsim's policy of a scenario's ``cache`` record (validated as rcsim validates it)."""
    return CacheConfig(
        spec.ttl_ms,
        spec.jitter,
        spec.on_write,
        spec.stampede,
        spec.lock_ms,
        spec.retry_ms,
        spec.retries,
        spec.stale_ms,
    )


def db_config(spec: Any) -> DbConfig:
    """The scenario's ``database`` record (None: rcsim's defaults)."""
    return DbConfig() if spec is None else DbConfig(spec.latency, spec.concurrency, spec.queue)


class RealCachePlane:
    """The stand-in database, the stale-read ledger and the cache-aside clients of one
    real run (rcsim's ``CachePlane``)."""

    def __init__(self, scenario: Any, now: Callable[[], float], log: LogEvent) -> None:
        self.now = now
        self.log = log
        self.seed = int(scenario.seed)
        self.db = StandInDB(db_config(scenario.database), self.seed, now)
        self.ledger = StaleReadLedger()
        self.lock = threading.Lock()
        self.clients: dict[str, CacheAsideWorkload] = {}
        self.started = False

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.db.start()

    def stop(self) -> None:
        self.db.stop()

    def record_read(
        self, client: CacheAsideWorkload, key: str, node: str, version: int | None
    ) -> None:
        """A GET answered now: the stale-read ledger's entry (rcsim's ``_got``)."""
        with self.lock:
            current, superseded = self.db.versions(key, version)
            at = round(self.now())
            stale = self.ledger.record(
                key, client.client.name, node, at, version, current, superseded
            )
        if stale is not None:
            client.count("stale_reads")
            self.log(
                at,
                "stale_read",
                node or None,
                client=client.client.name,
                key=key,
                version=stale.version,
                current=stale.current,
                stale_ms=round(stale.stale_ms, 3),
            )

    def metrics(self) -> dict[str, Any]:
        """The run's cache figures, shaped as rcsim's ``metrics.cache``."""
        with self.lock:
            episodes = self.ledger.episodes()
            stale_reads = len(self.ledger)
            stale_keys = self.ledger.keys()
        return {
            "database": self.db.stats(),
            "clients": {name: c.summary() for name, c in self.clients.items()},
            "stale_reads": stale_reads,
            "stale_keys": stale_keys,
            "stale_open": sum(1 for e in episodes if e.ended_at is None),
            "stale_episodes": [episode_row(e, round(self.now())) for e in episodes],
        }

    def figure(self, client: str | None, metric: str) -> Any:
        """One figure now, as rcsim's ``cache_figure`` reads it."""
        return figure_of(self.metrics(), client, metric)


class CacheAsideWorkload(Workload):
    """A scenario client with a ``cache`` record (see the module docstring)."""

    def __init__(
        self,
        client: ClusterClient,
        spec: Any,
        plane: RealCachePlane,
        acks: list[Ack],
        in_flight: set[str],
        acks_lock: threading.Lock,
        now: Callable[[], float],
        emit: Emit,
    ) -> None:
        super().__init__(client, spec, acks, in_flight, acks_lock, now, emit)
        self.plane = plane
        self.config = cache_config(spec.cache)
        self.metrics = CacheMetrics()
        self.metrics_lock = threading.Lock()
        self.refreshing: set[str] = set()
        self.jitter = random.Random(derive_seed(plane.seed, f"cache:{client.name}"))
        self.tokens = iter(range(1, 1 << 62))
        self.random = RcsimDraws(plane.seed, client.name)  # type: ignore[assignment]
        plane.clients[client.name] = self
        plane.start()

    # ------------------------------------------------------------------ bookkeeping

    def count(self, name: str, by: int = 1) -> None:
        with self.metrics_lock:
            setattr(self.metrics, name, getattr(self.metrics, name) + by)

    def _latency(self, which: str, started: float) -> None:
        with self.metrics_lock:
            getattr(self.metrics, which).append(self.now() - started)

    def ttl(self) -> int:
        """The PX of a fill: ttl, plus jitter, plus the stale window (rcsim's ``ttl``)."""
        config = self.config
        ttl = config.ttl_ms
        if config.jitter:
            with self.metrics_lock:
                ttl += int(self.jitter.uniform(0, config.jitter * config.ttl_ms))
        if config.stampede == SERVE_STALE:
            ttl += config.stale_ms
        return ttl

    def write_command(self, key: str, value: str | None, *args: str) -> tuple[str, Any]:
        """``SET key value *args`` (or ``DEL key`` for ``value`` None), recorded in the
        write ledger when acknowledged (a SET NX answered nil wrote nothing); SETs of one
        key one after the other, as :meth:`Workload.command` sends them. Not a lock's
        ``SET NX``: of those in flight at once only one writes (each token is unique), so
        there is no order to keep, and a stampede's losers would queue on each other."""
        argv = ("DEL", key) if value is None else ("SET", key, value, *args)
        ttl_ms = int(args[args.index("PX") + 1]) if "PX" in args else None
        with contextlib.nullcontext() if "NX" in args else self._key_lock(key):
            if value is not None:
                with self.acks_lock:
                    self.in_flight_values.add(value)
            outcome, reply, node, replied = "error", None, "", 0.0
            started = self.now()
            try:
                outcome, reply, node, replied = self.client.execute(self.emit, *argv)
            finally:
                with self.acks_lock:
                    if outcome == "ok" and (value is None or reply is not None):
                        self.acks.append((replied, key, value, node, self.client.name))
                        if ttl_ms and value is not None:
                            self.deadlines.append((node, started + ttl_ms))
                            gone = replied + ttl_ms / 1000
                            self.acks.append((gone, key, None, node, EXPIRED_BY))
                    if value is not None:
                        self.in_flight_values.discard(value)
        return outcome, reply

    # ------------------------------------------------------------------ operations

    def _one(self, write: bool, key: str) -> None:
        try:
            if write:
                self.cache_write(key)
            else:
                self.cache_read(key)
        except (OSError, ConnectionError, ValueError, TimeoutError):
            pass
        finally:
            self.in_flight.discard(threading.current_thread())

    def _fill(self, key: str, version: int) -> None:
        fresh_until = None
        if self.config.stampede == SERVE_STALE:
            fresh_until = int(self.now()) + self.config.ttl_ms
        self.write_command(key, encode(version, fresh_until), "PX", str(self.ttl()))

    def _take_lock(self, key: str) -> tuple[str, Any]:
        token = f"{self.client.name}:{next(self.tokens)}"
        return self.write_command(f"lock:{key}", token, "NX", "PX", str(self.config.lock_ms))

    def cache_read(self, key: str) -> None:
        self.count("reads")
        started = self.now()
        tries = 0
        while True:
            outcome, reply, node, _ = self.client.execute(self.emit, "GET", key)
            first = tries == 0
            if outcome != "ok":
                if first:
                    self.count("errors")
                self._db_read(key, started, fill=False)
                return
            value = reply if isinstance(reply, str) else None
            version, fresh_until = decode(value) if value is not None else (None, None)
            self.plane.record_read(self, key, node, version)
            if version is not None:
                break
            if first:
                self.count("misses")
            if self.config.stampede != LOCK:
                self._db_read(key, started, fill=True)
                return
            outcome, reply = self._take_lock(key)
            if outcome != "ok" or reply == "OK":  # won the lock, or none to be had: fail open
                self._db_read(key, started, fill=True)
                return
            if tries >= self.config.retries:
                self._db_read(key, started, fill=False)
                return
            tries += 1
            self.count("lock_waits")
            time.sleep(self.config.retry_ms / 1000)
        if tries == 0:
            self.count("hits")
        self._latency("read_latency", started)
        if fresh_until is not None and self.now() >= fresh_until:
            self.count("served_stale")
            self._refresh(key)

    def _refresh(self, key: str) -> None:
        """serve_stale: refresh ``key`` in the background if this client wins its lock."""
        with self.metrics_lock:
            if key in self.refreshing:
                return
            self.refreshing.add(key)
        try:
            outcome, reply = self._take_lock(key)
            if outcome != "ok" or reply != "OK":
                return
            answer = self.plane.db.query(READ, key, self.client.name)
            if answer.version is None:
                self.count("db_refused")
                return
            self.count("refills")
            self._fill(key, answer.version)
        finally:
            with self.metrics_lock:
                self.refreshing.discard(key)

    def _db_read(self, key: str, started: float, fill: bool) -> None:
        answer = self.plane.db.query(READ, key, self.client.name)
        if answer.version is None:
            self.count("db_refused")  # the read fails: nothing to answer
            return
        self._latency("read_latency", started)
        if fill:
            self.count("refills")
            self._fill(key, answer.version)

    def cache_write(self, key: str) -> None:
        self.count("writes")
        started = self.now()
        answer = self.plane.db.query(WRITE, key, self.client.name)
        if answer.version is None:
            self.count("db_refused")
            return
        if self.config.on_write == INVALIDATE:
            outcome, _ = self.write_command(key, None)
        else:
            fresh_until = None
            if self.config.stampede == SERVE_STALE:
                fresh_until = int(self.now()) + self.config.ttl_ms
            value = encode(answer.version, fresh_until)
            outcome, _ = self.write_command(key, value, "PX", str(self.ttl()))
        if outcome != "ok":
            self.count("invalidations_failed")
        self._latency("write_latency", started)

    # ------------------------------------------------------------------ figures

    def summary(self) -> dict[str, Any]:
        """rcsim's ``CacheAside.summary`` figures."""
        with self.metrics_lock:
            m = self.metrics
            counts = {
                "reads": m.reads,
                "hits": m.hits,
                "misses": m.misses,
                "errors": m.errors,
                "served_stale": m.served_stale,
                "lock_waits": m.lock_waits,
                "refills": m.refills,
                "db_refused": m.db_refused,
                "writes": m.writes,
                "invalidations_failed": m.invalidations_failed,
                "stale_reads": m.stale_reads,
            }
            reads = list(m.read_latency)
            writes = list(m.write_latency)
        looked = counts["hits"] + counts["misses"] + counts["errors"]
        db_reads, db_writes = self.plane.db.by_client(self.client.name)
        return {
            **counts,
            "hit_ratio": round(counts["hits"] / looked, 4) if looked else None,
            "db_reads": db_reads,
            "db_writes": db_writes,
            "read_p50_ms": percentile(reads, 50),
            "read_p95_ms": percentile(reads, 95),
            "read_p99_ms": percentile(reads, 99),
            "read_max_ms": round(max(reads), 3) if reads else None,
            "write_p50_ms": percentile(writes, 50),
        }
