"""One node's keyspace: db 0's keys with their values and versions, and the index of
each slot's keys that Redis 7.0 keeps for ``CLUSTER COUNTKEYSINSLOT`` / ``GETKEYSINSLOT``
(§18.5), resharding (§16.3) and ``delKeysInSlot``, and ``db->expires`` (§26). Plain
values: no cluster, no time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

from simulator.dataplane.expires import ExpireTable
from simulator.slots import key_hash_slot

if TYPE_CHECKING:
    from simulator.dataplane.eviction import Eviction
    from simulator.dataplane.tracking import TrackingTable


@lru_cache(maxsize=1 << 17)
def slot_of(key: str) -> int:
    """:func:`key_hash_slot`, memoised (a pure function; workloads reuse their keys)."""
    return key_hash_slot(key)


class Keyspace:
    """Keys -> (value, version), and slot -> keys in insertion order."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, int]] = {}  # key -> (value, version)
        self.by_slot: dict[int, dict[str, None]] = {}  # slot -> keys in insertion order
        self.eviction: Eviction | None = None  # memory and eviction state, with maxmemory (§25)
        self.expires = ExpireTable()  # key -> deadline (unix ms), only keys with a TTL
        self.tracking: TrackingTable | None = None  # CLIENT TRACKING, once a client asks

    def get(self, key: str) -> str | None:
        entry = self.keys.get(key)
        return None if entry is None else entry[0]

    def put(self, key: str, value: str | None, version: int) -> None:
        """Set ``key`` (``value`` None deletes it), keeping the slot index in step."""
        slot = slot_of(key)
        if self.eviction is not None:
            old = self.keys.get(key)
            self.eviction.on_put(key, None if old is None else old[0], value)
        if self.tracking is not None and (value is not None or key in self.keys):
            self.tracking.modified(key)  # signalModifiedKey -> trackingInvalidateKey
        if value is None:
            if self.keys.pop(key, None) is not None:
                if self.expires:
                    self.expires.discard(key)
                index = self.by_slot[slot]
                del index[key]
                if not index:
                    del self.by_slot[slot]
            return
        if key not in self.keys:
            self.by_slot.setdefault(slot, {})[key] = None
        self.keys[key] = (value, version)

    def replace(
        self, data: dict[str, tuple[str, int]], expires: dict[str, int] | None = None
    ) -> None:
        """The whole keyspace becomes ``data`` with the deadlines ``expires`` (a full
        resync or a load from disk)."""
        self.keys = {}
        self.by_slot = {}
        if self.tracking is not None:
            self.tracking.flushed()  # emptyData -> trackingInvalidateKeysOnFlush
        if self.eviction is not None:
            self.eviction.clear()
        self.expires.clear()
        for key, (value, version) in data.items():
            self.put(key, value, version)
        for key, when in (expires or {}).items():
            self.expires.set(key, when)

    def tracking_crash(self) -> None:
        """The process died: its CLIENT TRACKING connections close with it."""
        if self.tracking is not None:
            self.tracking.crash()

    @contextmanager
    def untracked(self) -> Iterator[None]:
        """Changes that invalidate nothing (``delKeysInSlot``: ``dbDelete`` only)."""
        tracking, self.tracking = self.tracking, None
        try:
            yield
        finally:
            self.tracking = tracking

    def keys_in_slot(self, slot: int, count: int | None = None) -> list[str]:
        """``CLUSTER GETKEYSINSLOT`` (insertion order)."""
        index = self.by_slot.get(slot, {})
        keys = list(index)
        return keys if count is None else keys[:count]
