"""The clients' local caches (client-side caching with CLIENT TRACKING, redis-rules §27):
one row per client that has one, for the headless report and a UI's client lane."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LocalCacheRow:
    """One client's local cache: its options, size and counters."""

    client: str
    mode: str
    flush_on: tuple[str, ...]
    entries: int
    hits: int
    misses: int
    stale: int  # local reads whose value differed from the owning master's
    invalidations: int
    flushes: int

    @property
    def hit_ratio(self) -> float:
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "mode": self.mode,
            "flush_on": list(self.flush_on),
            "entries": self.entries,
            "hits": self.hits,
            "misses": self.misses,
            "hit_ratio": round(self.hit_ratio, 4),
            "stale_local_reads": self.stale,
            "invalidations": self.invalidations,
            "flushes": self.flushes,
        }


def local_cache_rows(clients: Mapping[str, Any]) -> tuple[LocalCacheRow, ...]:
    """Rows for the clients with a ``cache`` (creation order); none without one."""
    rows = []
    for name, client in clients.items():
        cache = getattr(client, "cache", None)
        if cache is None:
            continue
        rows.append(
            LocalCacheRow(
                name,
                cache.options.mode,
                tuple(cache.options.flush_on),
                len(cache.entries),
                cache.hits,
                cache.misses,
                cache.stale,
                cache.invalidations,
                cache.flushes,
            )
        )
    return tuple(rows)
