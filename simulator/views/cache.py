"""The cache-aside clients' lane: per client, its hit ratio, stale reads and database
load (docs/caching.md), for the TUI's clients pane."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CacheClientRow:
    """One cache-aside client so far: lookups answered, hit ratio (None before any),
    stale reads (the stale-read ledger's entries for it), database reads and the
    database's queue now."""

    name: str
    lookups: int
    hit_ratio: float | None
    stale_reads: int
    db_reads: int
    db_queue: int


def cache_rows(plane: Any) -> tuple[CacheClientRow, ...]:
    """The rows of ``sim.extras["cache"]`` (a :class:`~simulator.dataplane.cache_aside.
    CachePlane`), in the order the clients were made; () without one."""
    if plane is None:
        return ()
    queue = plane.db.queued()
    rows = []
    for name, cache in plane.clients.items():
        m = cache.metrics
        looked = m.hits + m.misses + m.errors
        db = plane.db.stats.by_client.get(name, (0, 0))
        rows.append(
            CacheClientRow(
                name, looked, m.hits / looked if looked else None, m.stale_reads, db[0], queue
            )
        )
    return tuple(rows)
