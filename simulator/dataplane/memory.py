"""The memory model behind ``maxmemory`` (§25.1): what ``used_memory`` a node reports.

Redis counts every allocation through zmalloc (``used_memory`` in ``INFO memory``);
``performEvictions`` compares that number with ``maxmemory``. rcsim cannot allocate, so
it adds up a model of the same allocations:

* an empty server: :data:`CALIBRATION_EMPTY_USED_MEMORY` (the real 7.0.15 server's
  ``used_memory`` before the first key, tests/data/eviction-expiry.json);
* per key: :data:`CALIBRATION_KEY_OVERHEAD_BYTES` plus the key's and the value's
  lengths (the ``dictEntry``, the key's sds, the value's ``robj``, allocator rounding);
* the main dict's bucket table: 8 bytes a bucket, a power of two that doubles when the
  dict is full (``_dictExpandIfNeeded``, dict.c; tables are never shrunk here:
  ``tryResizeHashTables`` is not modelled);
* per key with a TTL: a 24-byte ``dictEntry`` in ``db->expires`` and that dict's table.

The per-key overhead is a calibration, not a Redis constant: it is fitted so that
``SET <id> foo`` for ids 1, 2, 3, … reaches ``maxmemory`` 2,000,000 after as many keys as
the real server (11,755–11,757, ``bytes_per_key`` 88.1 including the table's share).
* the replication buffer (``server.repl_buffer_mem``, on a node with a backlog: a
  master that has had a replica, a replica that synced), as
  :func:`simulator.replication.repl_buffer_mem` counts its 20.5 kB blocks; ``maxmemory``
  counts it only up to about ``repl-backlog-size`` (:func:`not_counted_repl_buffer`).

Simplified: no allocator fragmentation or client buffers (what a real server's
``used_memory`` also holds); values are strings.
"""

from __future__ import annotations

CALIBRATION_EMPTY_USED_MEMORY = 963_904
"""``used_memory`` of an empty real 7.0.15 server (tests/data/eviction-expiry.json,
``used_memory_empty``, 963,840–964,064 over the runs)."""

CALIBRATION_KEY_OVERHEAD_BYTES = 70
"""Bytes one string key costs beyond its key and value lengths. Fitted on
tests/data/eviction-expiry.json: the real fill of ``SET <id> foo`` reaches 2,000,000 bytes
after 11,755–11,757 keys (88.1 bytes a key as ``used_memory`` counts them, of which the
16,384-bucket table is 11.2); with 70 the model reaches it after 11,745 (docs/fidelity.md)."""

DICT_ENTRY_BYTES = 24
"""A ``dictEntry`` (key, value and next pointers): what a TTL adds in ``db->expires``."""

BUCKET_BYTES = 8
"""One bucket pointer of a dict's table."""

DICT_HT_INITIAL_SIZE = 4
"""dict.h: the first table of a dict."""


def key_bytes(key: str, value: str) -> int:
    """What one string key adds to ``used_memory`` (besides its share of the table)."""
    return CALIBRATION_KEY_OVERHEAD_BYTES + len(key.encode()) + len(value.encode())


def table_size(used: int, current: int) -> int:
    """The dict's bucket count after it holds ``used`` entries, from ``current`` buckets:
    ``_dictExpandIfNeeded`` grows a full table to the next power of two (never shrinks)."""
    size = current
    if used and size == 0:
        size = DICT_HT_INITIAL_SIZE
    while used > size:
        size *= 2
    return size


def used_memory_of(keys: dict[str, tuple[str, int]]) -> int:
    """``used_memory`` of a keyspace with these keys and no TTLs, from scratch (what a
    node without eviction state shows; the eviction state keeps the same sum up to date)."""
    total = sum(key_bytes(key, entry[0]) for key, entry in keys.items())
    return CALIBRATION_EMPTY_USED_MEMORY + total + BUCKET_BYTES * table_size(len(keys), 0)


PROTO_REPLY_CHUNK_BYTES = 16 * 1024
"""server.h: the smallest reply and replication-buffer block."""

REPL_BLOCK_OVERHEAD_BYTES = 40 + 24
"""``sizeof(replBufBlock) + sizeof(listNode)``: evict.c's estimate of a block's bookkeeping."""


def not_counted_repl_buffer(repl_buffer_mem: int, backlog_size: int) -> int:
    """``freeMemoryGetNotCountedMemory`` (evict.c): the replication buffer counts toward
    ``maxmemory`` up to ``repl-backlog-size`` and an estimate of its blocks' bookkeeping;
    the rest is the replicas' own output buffers, left out. (AOF's buffer, also left
    out there, is not modelled.)"""
    if repl_buffer_mem <= backlog_size:
        return 0
    counted = (
        backlog_size + (backlog_size // PROTO_REPLY_CHUNK_BYTES + 1) * REPL_BLOCK_OVERHEAD_BYTES
    )
    return max(0, repl_buffer_mem - counted)
