"""``maxmemory`` eviction as src/evict.c of Redis 7.0.15 runs it (§25).

One :class:`Eviction` per node that has ``maxmemory`` set: the memory accounting of
:mod:`simulator.dataplane.memory`, each key's ``robj->lru`` field (the LRU clock, or the
LFU counter and its minute), the keys with a TTL and their deadlines, the eviction pool
and the ``evicted_keys`` counter. :class:`~simulator.dataplane.keyspace.Keyspace` calls
:meth:`Eviction.on_put` on every change; the node's command path calls
:meth:`Eviction.perform` before each command (``processCommand``) and
:meth:`Eviction.touch` on each read lookup (``lookupKey``).

* ``performEvictions`` (§25.2): while ``used_memory`` is above ``maxmemory``, evict the
  best key and count what its deletion freed; ``noeviction`` (or no candidate) fails,
  and the caller refuses a ``denyoom`` command with ``-OOM``.
* ``evictionPoolPopulate`` (§25.3): the pool of :data:`EVPOOL_SIZE` candidates sorted by
  idle score, refilled with ``maxmemory-samples`` sampled keys before every eviction,
  keeping the score each key had when it was sampled (a key read later keeps its stale
  score); the best is taken from the right end; a candidate deleted meanwhile is a ghost
  and skipped. Candidates come from ``dictGetSomeKeys`` over a model of the dict's
  bucket table (:mod:`~simulator.dataplane.dicttable`: a walk over consecutive buckets
  from a random one, seeded), not from a uniform draw: the walk favours the heads of
  chains, the keys added last.
* The LRU clock (§25.4): seconds (``LRU_CLOCK_RESOLUTION`` 1000 ms), 24 bits, from the
  simulated clock (Redis caches it in ``serverCron`` at hz 10; that ≤ 100 ms lag is not
  modelled).
* The LFU counter (§25.5): ``LFULogIncr`` with ``lfu-log-factor``, ``LFUDecrAndReturn``
  with ``lfu-decay-time`` in minutes of the simulated clock (which starts at 0, not at a
  Unix time), new keys at ``LFU_INIT_VAL``; the increment's coin comes from the seeded
  stream.
* ``*-random`` (§25.6): ``dictGetRandomKey`` on the whole keyspace or the keys with a TTL.

TTLs come from the expiry layer through :meth:`Eviction.note_expire` (``db->expires``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

from simulator.config import MAXMEMORY_POLICIES
from simulator.dataplane.dicttable import DictTable
from simulator.dataplane.memory import (
    BUCKET_BYTES,
    CALIBRATION_EMPTY_USED_MEMORY,
    DICT_ENTRY_BYTES,
    key_bytes,
    not_counted_repl_buffer,
)

NOEVICTION = "noeviction"
POLICIES = MAXMEMORY_POLICIES
"""``maxmemory-policy``'s values, defined once in :mod:`simulator.config`."""

EVPOOL_SIZE = 16
"""evict.c: the eviction pool's size."""

LRU_CLOCK_RESOLUTION_MS = 1000
"""server.h: the LRU clock ticks once a second."""

LRU_CLOCK_MAX = (1 << 24) - 1
"""server.h: the LRU clock is the low 24 bits of the seconds."""

LFU_INIT_VAL = 5
"""server.h: a new key's LFU counter, so it is not evicted before it had a chance."""

LFU_COUNTER_MAX = 255
LFU_MINUTES_MASK = 65535
TTL_IDLE_BASE = (1 << 64) - 1
"""volatile-ttl's idle score is ``ULLONG_MAX - expire time``: the soonest deadline wins."""

ERR_OOM = "OOM command not allowed when used memory > 'maxmemory'."
"""server.c ``shared.oomerr``: a ``denyoom`` command refused because nothing can be evicted."""

DENYOOM = frozenset(
    {
        "SET",
        "MSET",
        "MSETNX",
        "SETNX",
        "SETEX",
        "PSETEX",
        "APPEND",
        "INCR",
        "INCRBY",
        "INCRBYFLOAT",
        "DECR",
        "DECRBY",
        "GETSET",
        "SETRANGE",
        "RESTORE",
        "RESTORE-ASKING",
    }
)
"""String commands with the ``denyoom`` flag in 7.0.15's commands.def (DEL, GET, EXPIRE,
PUBLISH … are not ``denyoom``: they still run when nothing can be evicted)."""

TOUCHING_READS = frozenset({"GET", "MGET", "GETSET", "GETDEL", "GETEX", "STRLEN", "GETRANGE"})
"""Reads that ``lookupKeyRead`` the key and so update its LRU/LFU field (EXISTS does not:
it looks up with ``LOOKUP_NOTOUCH``)."""


class Clock(Protocol):
    """Anything with the simulated time in ms (the engine)."""

    @property
    def now(self) -> int: ...


class Config(Protocol):
    """The node's directives (:class:`~simulator.config.NodeConfig`)."""

    def get(self, name: str) -> Any: ...


class ReplBuffer(Protocol):
    """The node's replication state (:class:`~simulator.replication.Replication`)."""

    def buffer_mem(self, backlog_size: int) -> int: ...


class Eviction:
    """One node's memory accounting, key metadata and eviction pool (module docstring)."""

    def __init__(
        self, config: Config, clock: Clock, rng: random.Random, repl: ReplBuffer | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng
        self.repl = repl  # the replication buffer's blocks count too (§25.1)
        salt = rng.getrandbits(128).to_bytes(16, "little")  # dict_hash_function_seed
        self.keys = DictTable(salt)  # db->dict
        self.volatile = DictTable(salt)  # db->expires
        self.expires: dict[str, int] = {}  # key -> deadline (ms), the keys with a TTL
        self.meta: dict[str, int] = {}  # key -> robj->lru (LRU clock, or minutes<<8|counter)
        self.key_bytes = 0
        self.other_bytes = 0  # memory outside the keyspace (a harness may add some)
        self.pool: list[tuple[int, str]] = []  # (idle, key), ascending idle, <= EVPOOL_SIZE
        self.evicted = 0

    # ------------------------------------------------------------------ clocks

    def lru_clock(self) -> int:
        """``LRU_CLOCK()``: seconds of the simulated clock, 24 bits."""
        return (self.clock.now // LRU_CLOCK_RESOLUTION_MS) & LRU_CLOCK_MAX

    def lfu_minutes(self) -> int:
        """``LFUGetTimeInMinutes()``: minutes of the simulated clock, 16 bits."""
        return (self.clock.now // 60_000) & LFU_MINUTES_MASK

    @property
    def policy(self) -> str:
        return str(self.config.get("maxmemory-policy"))

    def _lfu(self) -> bool:
        return "lfu" in self.policy

    def _new_meta(self) -> int:
        """``createObject``: the LFU minute and ``LFU_INIT_VAL``, or the LRU clock."""
        if self._lfu():
            return (self.lfu_minutes() << 8) | LFU_INIT_VAL
        return self.lru_clock()

    # ------------------------------------------------------------------ memory

    @property
    def keyspace_memory(self) -> int:
        """``used_memory`` without the replication buffer: what deleting a key changes."""
        return (
            CALIBRATION_EMPTY_USED_MEMORY
            + self.key_bytes
            + BUCKET_BYTES * (self.keys.size + self.volatile.size)
            + DICT_ENTRY_BYTES * len(self.expires)
            + self.other_bytes
        )

    @property
    def repl_buffer_mem(self) -> int:
        """``server.repl_buffer_mem``: the replication buffer's blocks (0 without a backlog)."""
        return self._repl_buffer_mem(int(self.config.get("repl-backlog-size")))

    def _repl_buffer_mem(self, backlog_size: int) -> int:
        return 0 if self.repl is None else self.repl.buffer_mem(backlog_size)

    @property
    def used_memory(self) -> int:
        """``zmalloc_used_memory()`` as :mod:`~simulator.dataplane.memory` models it
        (``used_memory`` in INFO memory)."""
        return self.keyspace_memory + self.repl_buffer_mem

    @property
    def counted_memory(self) -> int:
        """What ``performEvictions`` compares with ``maxmemory``: ``used_memory`` less
        ``freeMemoryGetNotCountedMemory`` (§25.1)."""
        backlog = int(self.config.get("repl-backlog-size"))
        buffer = self._repl_buffer_mem(backlog)
        return self.keyspace_memory + buffer - not_counted_repl_buffer(buffer, backlog)

    def load(self, keys: dict[str, tuple[str, int]]) -> None:
        """Start accounting a keyspace that already holds ``keys`` (fresh metadata)."""
        for key, (value, _) in keys.items():
            self.on_put(key, None, value)

    def clear(self) -> None:
        """The keyspace was emptied (a full resync or a load replaces it)."""
        self.keys.clear()
        self.volatile.clear()
        self.expires.clear()
        self.meta.clear()
        self.key_bytes = 0
        self.pool.clear()

    # ------------------------------------------------------------------ hooks

    def on_put(self, key: str, old: str | None, new: str | None) -> None:
        """The keyspace set ``key`` from ``old`` to ``new`` (``None``: absent)."""
        if old is not None:
            self.key_bytes -= key_bytes(key, old)
        if new is None:
            if old is not None:
                self.keys.remove(key)
                self.meta.pop(key, None)
                self.note_expire(key, None)
            return
        self.key_bytes += key_bytes(key, new)
        if old is None:
            self.keys.add(key)
            self.meta[key] = self._new_meta()
        elif self._lfu():
            # setKey: lookupKeyWrite touched the old value, dbSetValue keeps its LFU field.
            self.touch(key)
        else:
            self.meta[key] = self.lru_clock()  # the new value object's createObject

    def note_expire(self, key: str, when: int | None) -> None:
        """``key`` got the deadline ``when`` (ms), or lost its TTL (``None``)."""
        if when is None:
            if self.expires.pop(key, None) is not None:
                self.volatile.remove(key)
            return
        self.expires[key] = when
        self.volatile.add(key)

    def touch(self, key: str) -> None:
        """``lookupKey`` without ``LOOKUP_NOTOUCH``: ``updateLFU`` or the LRU clock."""
        if key not in self.meta:
            return
        if not self._lfu():
            self.meta[key] = self.lru_clock()
            return
        counter = self._lfu_decayed(self.meta[key])
        if counter < LFU_COUNTER_MAX:  # LFULogIncr
            base = max(0, counter - LFU_INIT_VAL)
            if self.rng.random() < 1.0 / (base * int(self.config.get("lfu-log-factor")) + 1):
                counter += 1
        self.meta[key] = (self.lfu_minutes() << 8) | counter

    def _lfu_decayed(self, field: int) -> int:
        """``LFUDecrAndReturn``: the counter less one per ``lfu-decay-time`` minutes idle."""
        counter = field & 255
        decay = int(self.config.get("lfu-decay-time"))
        if not decay:
            return counter
        ldt, now = field >> 8, self.lfu_minutes()
        elapsed = now - ldt if now >= ldt else LFU_MINUTES_MASK - ldt + now
        periods = elapsed // decay
        return max(0, counter - periods)

    # ------------------------------------------------------------------ evicting

    def over_limit(self) -> bool:
        maxmemory = int(self.config.get("maxmemory"))
        return bool(maxmemory) and self.counted_memory > maxmemory

    def perform(self, delete: Callable[[str], None], replica: bool = False) -> bool:
        """``performEvictions``: evict until ``used_memory`` fits; False is EVICT_FAIL.

        ``delete(key)`` removes the key through the keyspace (whose :meth:`on_put` hook
        updates the accounting) and propagates it. A replica with
        ``replica-ignore-maxmemory yes`` never evicts (``isSafeToPerformEvictions``).
        Not modelled: the time limit of one call (``maxmemory-eviction-tenacity``, which
        hands the rest to a timer), lazy freeing, and several databases."""
        maxmemory = int(self.config.get("maxmemory"))
        if not maxmemory or (replica and self.config.get("replica-ignore-maxmemory")):
            return True
        used = self.counted_memory
        if used <= maxmemory:
            return True
        if self.policy == NOEVICTION:
            return False
        # mem_tofree is fixed before the loop, and each key's delta is taken around the
        # deletion alone: the DEL it sends down the replication stream (which may add a
        # block) is not counted as freed, the next command's performEvictions sees it.
        tofree, freed = used - maxmemory, 0
        while freed < tofree:
            key = self.best_key()
            if key is None:
                return False  # cant_free
            before = self.keyspace_memory
            delete(key)
            if key in self.keys:
                raise RuntimeError(f"evicting {key!r} did not delete it")
            self.evicted += 1
            freed += before - self.keyspace_memory
        return True

    def best_key(self) -> str | None:
        """The key the policy evicts next, or None when there is no candidate."""
        policy = self.policy
        index = self.keys if policy.startswith("allkeys") else self.volatile
        if not index:
            return None
        if policy.endswith("random"):
            return index.random_key(self.rng)
        while True:
            if not index:
                return None
            self._populate(index, policy)
            while self.pool:
                _, key = self.pool.pop()  # the best candidate is at the right end
                if key in index:
                    return key
                # a ghost: deleted since it was sampled; try the next one

    def _idle(self, key: str, policy: str) -> int:
        if policy.endswith("lru"):
            clock, lru = self.lru_clock(), self.meta[key]
            ticks = clock - lru if clock >= lru else clock + (LRU_CLOCK_MAX - lru)
            return ticks * LRU_CLOCK_RESOLUTION_MS  # estimateObjectIdleTime
        if policy.endswith("lfu"):
            return LFU_COUNTER_MAX - self._lfu_decayed(self.meta[key])
        return TTL_IDLE_BASE - self.expires[key]

    def _populate(self, index: DictTable, policy: str) -> None:
        """``evictionPoolPopulate``: sample, score and insert keeping the pool sorted."""
        pool = self.pool
        for key in index.some_keys(self.rng, int(self.config.get("maxmemory-samples"))):
            idle = self._idle(key, policy)
            k = 0
            while k < len(pool) and pool[k][0] < idle:
                k += 1
            if len(pool) < EVPOOL_SIZE:
                pool.insert(k, (idle, key))
            elif k > 0:
                # Full: drop the worst candidate (the left end) and insert before k.
                del pool[0]
                pool.insert(k - 1, (idle, key))
            # k == 0 on a full pool: worse than every candidate, not inserted
