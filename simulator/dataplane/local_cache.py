"""A client's local cache kept coherent by ``CLIENT TRACKING`` (client-side caching, §27).

What a client library does with the invalidation messages (redis-py's and Lettuce's
client-side caching): a read served by a node is kept, with the node whose tracking
connection will invalidate it; an invalidation drops the keys it names, a null one
(a flush) drops everything that node's connection vouches for; the client's own write
drops its copy. ``flush_on`` says what else empties it:

* ``disconnect`` — a tracking connection closed (the node died, or refused a request):
  drop every entry that connection vouched for. Without it the entries stay, and no
  one will ever invalidate them (the node that replaces it never heard of this client).
* ``moved`` — the client learned that a slot has a new owner (a ``MOVED`` reply, or a
  refreshed slot map that differs): drop the entries of that slot.

Plain values: the counters (local hits, stale local reads) are kept here; whether a
local read is stale is decided by the caller, against the owning master.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.dataplane.keyspace import slot_of
from simulator.dataplane.tracking import BCAST, DEFAULT

FLUSH_ON = ("disconnect", "moved")


@dataclass(frozen=True, slots=True)
class CacheOptions:
    """The scenario's ``local_cache`` of a client."""

    mode: str = DEFAULT
    prefixes: tuple[str, ...] = ()
    flush_on: tuple[str, ...] = ("disconnect",)

    @property
    def bcast(self) -> bool:
        return self.mode == BCAST


@dataclass(slots=True)
class LocalCache:
    """key -> (value, node whose tracking connection vouches for it)."""

    options: CacheOptions
    entries: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    hits: int = 0
    stale: int = 0
    misses: int = 0
    invalidations: int = 0  # messages received
    flushes: int = 0
    connections: dict[str, int] = field(default_factory=dict)  # node -> tracking connections

    def get(self, key: str) -> tuple[str | None, str] | None:
        return self.entries.get(key)

    def store(self, key: str, value: str | None, node: str) -> None:
        if self.options.bcast and not self.covers(key):
            return  # BCAST: only keys under a prefix are ever invalidated
        self.entries[key] = (value, node)

    def covers(self, key: str) -> bool:
        prefixes = self.options.prefixes or ("",)
        return any(key.startswith(p) for p in prefixes)

    def drop(self, key: str) -> None:
        self.entries.pop(key, None)

    def invalidate(self, node: str, keys: tuple[str, ...] | None) -> int:
        """An invalidation from ``node``: its keys, or (None) all it vouches for.
        Returns how many entries went."""
        self.invalidations += 1
        if keys is None:
            return self.drop_node(node)
        gone = 0
        for key in keys:
            if self.entries.pop(key, None) is not None:
                gone += 1
        return gone

    def drop_node(self, node: str) -> int:
        doomed = [k for k, (_, n) in self.entries.items() if n == node]
        for key in doomed:
            del self.entries[key]
        return len(doomed)

    def drop_slot(self, slot: int) -> int:
        doomed = [k for k in self.entries if slot_of(k) == slot]
        for key in doomed:
            del self.entries[key]
        return len(doomed)

    def flushes_on(self, reason: str) -> bool:
        return reason in self.options.flush_on
