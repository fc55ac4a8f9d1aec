"""One node's expires table and the active expire cycle over it (§26.2, src/expire.c).

Plain values, no cluster and no clock: :class:`ExpireTable` is ``db->expires`` (key ->
absolute unix-ms deadline) kept as a hash table of buckets, and :func:`active_expire_cycle`
is ``activeExpireCycle`` (Redis 7.0.15) walking those buckets from ``expires_cursor``.
The caller (:mod:`simulator.dataplane.expiry`) deletes, propagates and notifies.

Simplifications (also in docs/redis-rules.md §26.2 and docs/fidelity.md):

* the bucket index is a keyed BLAKE2b of the key instead of SipHash with a random
  process seed: both spread keys over the buckets as a random function would; this one
  is deterministic. (A CRC-32 did not: names like ``key:0`` ... ``key:99999`` fell into
  runs of buckets, and a cycle that met a run of expired keys kept looping: 4x Redis's
  rate of expiry with a quarter of the keys stale, tests/data/expire-cpu.json);
* the table grows and shrinks at once instead of rehashing incrementally; it grows as
  ``_dictExpandIfNeeded`` (to the next power of two above ``used`` when full) and
  shrinks as ``tryResizeHashTables`` (when under 10 % full, from the cron);
* the cycle's running time comes from a cost model (µs per sampled key and per
  expired key, :data:`CALIBRATION_EXPIRE_SAMPLE_US`, :data:`CALIBRATION_EXPIRE_DELETE_US`)
  instead of ``ustime()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.dataplane.dicttable import key_hash64
from simulator.dataplane.memory import DICT_HT_INITIAL_SIZE

HASHTABLE_MIN_FILL = 10  # percent: below it, the cron shrinks the table (htNeedsResize)

ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP = 20
ACTIVE_EXPIRE_CYCLE_FAST_DURATION = 1000  # µs
ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC = 25  # % of the cron period
ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE = 10  # %

CALIBRATION_EXPIRE_SAMPLE_US = 0.2
"""µs the cycle spends per key it samples (a dict entry read, ``now > when``).

Fitted to tests/data/eviction-expiry.json part E together with
:data:`CALIBRATION_EXPIRE_DELETE_US`: the real server never reached the 25 ms limit of a
slow cycle (``expired_time_cap_reached_count`` stays 0) although a single cron period
expired up to ~20,000 keys, so a cycle of that size must fit in 25 ms; the split between
sampling and deleting follows the usual ratio of a dict lookup to a key's deletion."""

CALIBRATION_EXPIRE_DELETE_US = 0.9
"""µs per key the cycle expires (delete from both dicts, propagate the DEL, notify);
see :data:`CALIBRATION_EXPIRE_SAMPLE_US`."""

SLOW = "slow"
FAST = "fast"


def _next_power(n: int) -> int:
    size = DICT_HT_INITIAL_SIZE
    while size < n:
        size *= 2
    return size


class ExpireTable:
    """``db->expires``: key -> deadline (unix ms), in buckets a cursor walks.

    Also the per-node state of ``activeExpireCycle``'s statics and stats:
    ``cursor`` (``db->expires_cursor``), ``stale_perc`` (``stat_expired_stale_perc``, a
    fraction as 7.0 keeps it), ``timelimit_exit``, ``last_fast_us``, and ``expired``
    (``stat_expiredkeys``), ``time_cap`` (``stat_expired_time_cap_reached_count``)."""

    __slots__ = (
        "_buckets",
        "_mask",
        "_salt",
        "at",
        "cron",
        "cursor",
        "expired",
        "last_fast_us",
        "listener",
        "seed",
        "stale_perc",
        "time_cap",
        "timelimit_exit",
    )

    def __init__(self, seed: int = 0) -> None:
        self.at: dict[str, int] = {}
        self._buckets: list[list[str] | None] = [None] * DICT_HT_INITIAL_SIZE
        self._mask = DICT_HT_INITIAL_SIZE - 1
        self.seed = seed
        self._salt = seed.to_bytes(8, "little")
        self.cursor = 0
        self.stale_perc = 0.0
        self.timelimit_exit = False
        self.last_fast_us = -(10**18)
        self.expired = 0
        self.time_cap = 0
        self.cron = -1  # the process generation whose expire cron is ticking, or -1
        # told of every deadline set (key, when) or removed (key, None): the eviction
        # state's own view of db->expires for the volatile-* policies (§25.3)
        self.listener: Callable[[str, int | None], None] | None = None

    def __len__(self) -> int:
        return len(self.at)

    def __bool__(self) -> bool:
        return bool(self.at)

    def get(self, key: str) -> int | None:
        return self.at.get(key)

    @property
    def slots(self) -> int:
        """``dictSlots(db->expires)``."""
        return self._mask + 1

    def _index(self, key: str) -> int:
        return key_hash64(key, self._salt) & self._mask

    def set(self, key: str, when: int) -> None:
        """``setExpire``: add or change ``key``'s deadline."""
        if key not in self.at:
            if len(self.at) >= self.slots:  # _dictExpandIfNeeded, dict_can_resize
                self._rehash(_next_power(len(self.at) + 1))
            index = self._index(key)
            chain = self._buckets[index]
            if chain is None:
                self._buckets[index] = [key]
            else:
                chain.append(key)
        self.at[key] = when
        if self.listener is not None:
            self.listener(key, when)

    def discard(self, key: str) -> bool:
        """``removeExpire``: True when ``key`` had a deadline."""
        if self.at.pop(key, None) is None:
            return False
        index = self._index(key)
        chain = self._buckets[index]
        assert chain is not None
        chain.remove(key)
        if not chain:
            self._buckets[index] = None
        if self.listener is not None:
            self.listener(key, None)
        return True

    def clear(self) -> None:
        self.at = {}
        self._buckets = [None] * DICT_HT_INITIAL_SIZE
        self._mask = DICT_HT_INITIAL_SIZE - 1
        self.cursor = 0

    def resize_if_needed(self) -> None:
        """``tryResizeHashTables`` (databasesCron): shrink a table under 10 % full."""
        size = self.slots
        if size > DICT_HT_INITIAL_SIZE and len(self.at) * 100 // size < HASHTABLE_MIN_FILL:
            self._rehash(_next_power(len(self.at)))

    def _rehash(self, size: int) -> None:
        old = self._buckets
        self._buckets = [None] * size
        self._mask = size - 1
        for chain in old:
            for key in chain or ():
                index = self._index(key)
                bucket = self._buckets[index]
                if bucket is None:
                    self._buckets[index] = [key]
                else:
                    bucket.append(key)

    def bucket(self, index: int) -> list[str] | None:
        return self._buckets[index & self._mask]


@dataclass(slots=True)
class CycleResult:
    """What one ``activeExpireCycle`` call did: keys expired (to delete), keys sampled,
    modelled time and whether it stopped on its time limit."""

    kind: str
    expired: list[str] = field(default_factory=list)
    sampled: int = 0
    elapsed_us: float = 0.0
    timelimit_exit: bool = False
    ran: bool = True


def active_expire_cycle(
    table: ExpireTable,
    now_ms: int,
    kind: str,
    hz: int = 10,
    effort: int = 1,
    sample_us: float = CALIBRATION_EXPIRE_SAMPLE_US,
    delete_us: float = CALIBRATION_EXPIRE_DELETE_US,
) -> CycleResult:
    """``activeExpireCycle(type)`` on db 0 (expire.c, 7.0.15), removing what it expires
    from ``table``. The caller checks the client pause and ``iAmMaster`` first.

    Per loop it reads buckets from the cursor until it has 20 keys (or 400 buckets), and
    expires each key whose deadline passed (``now > when``); it loops again while more
    than 10 % of the sampled keys were stale, checking the time every 16 loops against
    25 % of the cron period (slow) or 1000 µs (fast). A fast cycle runs only if the last
    cycle hit its limit or ``stat_expired_stale_perc`` is over the acceptable stale: 7.0
    keeps that stat as a fraction and compares it with 10 (percent), so in practice only
    after a cycle that hit its time limit (§26.2)."""
    effort -= 1  # expire.c: "Rescale from 0 to the maximum expire effort."
    keys_per_loop = (
        ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP + ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP // 4 * effort
    )
    fast_duration = (
        ACTIVE_EXPIRE_CYCLE_FAST_DURATION + ACTIVE_EXPIRE_CYCLE_FAST_DURATION // 4 * effort
    )
    slow_perc = ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC + 2 * effort
    acceptable = ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE - effort
    start_us = now_ms * 1000
    result = CycleResult(kind)
    if kind == FAST:
        if not table.timelimit_exit and table.stale_perc < acceptable:
            result.ran = False
            return result
        if start_us < table.last_fast_us + fast_duration * 2:
            result.ran = False
            return result
        table.last_fast_us = start_us
    timelimit = slow_perc * 1_000_000 // hz // 100 if kind == SLOW else fast_duration
    timelimit = max(timelimit, 1)
    table.timelimit_exit = False
    at = table.at
    iteration = 0
    expired_keys = result.expired
    total_sampled = 0
    while True:
        iteration += 1
        num = len(at)
        if num == 0:
            break
        slots = table.slots
        if slots > DICT_HT_INITIAL_SIZE and num * 100 // slots < 1:
            break  # too sparse to sample: wait for the cron to shrink the table
        num = min(num, keys_per_loop)
        expired = sampled = 0
        checked = 0
        max_buckets = num * 20
        while sampled < num and checked < max_buckets:
            chain = table.bucket(table.cursor)
            checked += 1
            if chain is not None:
                for key in tuple(chain):
                    if now_ms > at[key]:
                        table.discard(key)
                        expired_keys.append(key)
                        expired += 1
                    sampled += 1
            table.cursor += 1
        total_sampled += sampled
        result.elapsed_us += sampled * sample_us + expired * delete_us
        if iteration & 0xF == 0 and result.elapsed_us > timelimit:
            table.timelimit_exit = True
            table.time_cap += 1
            break
        if not (sampled == 0 or expired * 100 // sampled > acceptable):
            break
    result.sampled = total_sampled
    result.timelimit_exit = table.timelimit_exit
    table.expired += len(expired_keys)
    current = len(expired_keys) / total_sampled if total_sampled else 0.0
    table.stale_perc = current * 0.05 + table.stale_perc * 0.95
    return result
