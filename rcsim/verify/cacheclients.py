"""The caching clients of a real run, and the figures both sides are compared on.

:class:`CachingClients` makes the workload of a scenario client with a ``cache`` record
(:mod:`rcsim.verify.cacheaside`, with the stand-in database) or a ``local_cache``
(:mod:`rcsim.verify.tracking`); any other client stays a plain
:class:`~rcsim.verify.clients.Workload`. :func:`cache_figures` reads the same rows from
rcsim's report metrics (``metrics.cache``, ``metrics.local_caches``) and from a real run's
equivalents, so the table compares like with like:

* per cache-aside client: reads started (does the real client keep the rate?), database reads, refills, hits, misses, errors (reads that fell
  through), lock waits, database refusals, stale reads;
* the database: reads, refusals, longest queue, peak reads in one second; the stale-read
  ledger: stale reads and keys read stale;
* per local cache: local hits, misses, stale local reads, invalidations, flushes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rcsim.verify.cacheaside import CacheAsideWorkload, RealCachePlane
from rcsim.verify.cleanup import Cleanup
from rcsim.verify.clients import Address, ClusterClient, Workload
from rcsim.verify.tracking import LocalCacheWorkload, LogEvent, OwnerReader, TrackingClient
from simulator.harness.reference import CacheOptions
from simulator.views.local_caches import local_cache_rows

Figures = dict[str, float | None]

CLIENT_ROWS = (
    "reads",
    "db_reads",
    "refills",
    "hits",
    "misses",
    "errors",
    "lock_waits",
    "db_refused",
    "stale_reads",
)
DATABASE_ROWS = ("reads", "refused", "max_queue", "peak_reads_per_s")
LOCAL_ROWS = ("hits", "misses", "stale_local_reads", "invalidations", "flushes")


def cache_figures(metrics: Mapping[str, Any]) -> Figures:
    """The caching rows of a run's metrics (rcsim's report shape; none without caching
    clients)."""
    out: Figures = {}
    cache = metrics.get("cache")
    if cache:
        for name, figures in cache["clients"].items():
            for row in CLIENT_ROWS:
                out[f"cache {name} {row}"] = figures.get(row)
        for row in DATABASE_ROWS:
            out[f"database {row}"] = cache["database"].get(row)
        out["stale reads"] = cache["stale_reads"]
        out["keys read stale"] = len(cache["stale_keys"])
    for local in metrics.get("local_caches", ()):
        for row in LOCAL_ROWS:
            out[f"local cache {local['client']} {row}"] = local.get(row)
    return out


class CachingClients:
    """The shared parts of a run's caching clients: the cache-aside plane (stand-in
    database, stale-read ledger) and the truth reader of the local caches."""

    def __init__(
        self,
        scenario: Any,
        now: Callable[[], float],
        log: LogEvent,
        owner: Callable[[int], Address | None],
        cleanup: Cleanup,
    ) -> None:
        self.now = now
        self.log = log
        self.seed = int(scenario.seed)
        self.plane: RealCachePlane | None = None
        self.truth: OwnerReader | None = None
        self.trackers: dict[str, TrackingClient] = {}
        if any(c.cache is not None for c in scenario.clients):
            self.plane = RealCachePlane(scenario, now, log)
        if any(c.local_cache is not None for c in scenario.clients):
            self.truth = OwnerReader(owner)
        if self.plane is not None or self.truth is not None:
            cleanup.push("caching clients", self.close)

    def workload(self, client: ClusterClient, spec: Any, *shared: Any) -> Workload | None:
        """The workload of a caching client (None: a plain one); ``shared`` is the rest
        of :class:`Workload`'s arguments (the run's ledger, clock and request log)."""
        if spec.cache is not None and self.plane is not None:
            routed = ClusterClient(client.name, client.source, client.seeds, client.names)
            return CacheAsideWorkload(routed, spec, self.plane, *shared)
        if spec.local_cache is not None and self.truth is not None:
            local = spec.local_cache
            options = CacheOptions(local.mode, tuple(local.prefixes), tuple(local.flush_on))
            tracker = TrackingClient(
                client.name, client.source, client.seeds, client.names, options, self.now, self.log
            )
            self.trackers[client.name] = tracker
            return LocalCacheWorkload(tracker, spec, self.truth, self.seed, *shared)
        return None

    def figure(self, client: str | None, metric: str) -> Any:
        """A ``cache`` condition's figure now (None: no cache-aside client)."""
        return None if self.plane is None else self.plane.figure(client, metric)

    def metrics(self) -> dict[str, Any]:
        """``metrics.cache`` and ``metrics.local_caches`` as rcsim's report has them."""
        out: dict[str, Any] = {}
        if self.plane is not None:
            out["cache"] = self.plane.metrics()
        rows = local_cache_rows(self.trackers)
        if rows:
            out["local_caches"] = [row.as_dict() for row in rows]
        return out

    def close(self) -> None:
        if self.plane is not None:
            self.plane.stop()
        if self.truth is not None:
            self.truth.close()
