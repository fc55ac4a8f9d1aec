"""The persistence model of one node: RDB save points and the AOF (§21).

A node holds one :class:`Persistence`, reports every write it applies
(:meth:`Persistence.record_write`), lets it take snapshots on its cron
(:meth:`Persistence.maybe_snapshot`), and asks it what survives a crash
(:meth:`Persistence.restore`). Times are simulated integer milliseconds, and must not
go backwards. Everything is deterministic.

What survives (§21.1, §21.2; the simplifications §23 allows):

| persistence | process crash (kill -9) | OS crash / power loss |
|---|---|---|
| AOF ``always`` | every write | every write |
| AOF ``everysec`` | every write | writes before the last whole-second fsync tick (≤ 1 s lost) |
| AOF ``no`` | every write | writes at least 30 s old (the kernel's dirty-page expiry) |
| RDB only | the last completed snapshot | the last completed snapshot |
| neither | nothing (an old RDB file, if one exists) | same |

With ``appendonly yes`` the AOF is loaded on start, otherwise the RDB file. An RDB
file also carries the replication ID and offset of the data it holds (its aux fields,
``rdbPopulateSaveInfo``); after loading it, :attr:`Persistence.loaded_repl` says what
they were, so that a replica can partially resynchronise after a restart (§21.3). Both
files keep each key's TTL as its absolute deadline (:meth:`Persistence.record_expire`,
:attr:`Persistence.loaded_ttls`, §21.4).

Simplified: a BGSAVE completes at the instant it starts (no fork time, no failed
saves, no MISCONF); the AOF fsync runs exactly on whole seconds (no 2 s postponed
write()); ``no`` uses a fixed 30 s window; no AOF rewrite; the save-point clock is
``t // 1000`` seconds as ``server.unixtime`` would be.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple, Protocol

from simulator.config import parse_save

OS_FLUSH_MS = 30000
"""How old dirty page-cache data must be before the kernel writes it (``appendfsync no``)."""

EVERYSEC_MS = 1000
"""The ``everysec`` fsync period."""


ReplInfo = tuple[str, int]
"""A replication ID and the offset of the data saved with it."""


class TtlChange(NamedTuple):
    """``PEXPIREAT key at_ms`` (``PERSIST key`` when ``at_ms`` is None), as the AOF and the
    dataset record it: deadlines are absolute unix ms, so they mean the same after a
    restart (an RDB stores them so too)."""

    at_ms: int | None


Change = str | None | TtlChange
"""What one entry changes about a key: its new value, its deletion, or its TTL."""


class Dataset:
    """Keys with their values and TTL deadlines: the live data, an RDB file's, the AOF's."""

    __slots__ = ("ttls", "values")

    def __init__(self, values: dict[str, str] | None = None, ttls: dict[str, int] | None = None):
        self.values: dict[str, str] = dict(values or {})
        self.ttls: dict[str, int] = dict(ttls or {})

    def copy(self) -> Dataset:
        return Dataset(self.values, self.ttls)

    def apply(self, key: str, change: Change) -> None:
        """A write (a value, or None: DEL) or a TTL change; a TTL on a missing key is
        ignored, as ``expireGenericCommand`` answers 0 for it."""
        if isinstance(change, TtlChange):
            if key not in self.values:
                return
            if change.at_ms is None:
                self.ttls.pop(key, None)
            else:
                self.ttls[key] = change.at_ms
        elif change is None:
            self.values.pop(key, None)
            self.ttls.pop(key, None)
        else:
            self.values[key] = change


class ConfigLike(Protocol):
    def get(self, name: str) -> Any: ...


class Persistence:
    """One node's durable state: the RDB file and the AOF, as a model (§21)."""

    def __init__(self, config: ConfigLike, start_time: int = 0) -> None:
        self._config = config
        self._read_config()
        self._live = Dataset()
        self._rdb: Dataset | None = None  # None: no RDB file on disk
        self._rdb_time: int | None = None
        self._rdb_repl: ReplInfo | None = None
        self.loaded_repl: ReplInfo | None = None
        self.loaded_ttls: dict[str, int] = {}  # the TTLs of what the last restore loaded
        self.loaded_from_rdb = False
        self._lastsave = start_time
        self._dirty = 0
        self._now = start_time
        self._durable = Dataset()  # AOF content that survives power loss
        self._pending: deque[tuple[int, str, Change]] = deque()

    def _read_config(self) -> None:
        self.appendonly = bool(self._config.get("appendonly"))
        self.appendfsync = str(self._config.get("appendfsync"))
        self.save_points = parse_save(self._config.get("save") or "")

    # ------------------------------------------------------------------ inputs

    def _tick(self, t: int) -> None:
        if t < self._now:
            raise ValueError(f"time went backwards: {t} ms after {self._now} ms")
        self._now = t
        self._flush(t)

    def _horizon(self, t: int) -> int:
        """Writes strictly before this time are on disk at time ``t`` (power-loss view)."""
        if self.appendfsync == "always":
            return t + 1
        if self.appendfsync == "everysec":
            return (t // EVERYSEC_MS) * EVERYSEC_MS
        return t - OS_FLUSH_MS + 1

    def _flush(self, t: int) -> None:
        horizon = self._horizon(t)
        pending = self._pending
        while pending and pending[0][0] < horizon:
            _, key, change = pending.popleft()
            self._durable.apply(key, change)

    def record_write(self, t: int, key: str, value: str | None) -> None:
        """The node applied a write (``None`` deletes the key) at time ``t``."""
        self._record(t, key, value)

    def record_expire(self, t: int, key: str, at_ms: int | None) -> None:
        """The node applied ``PEXPIREAT key at_ms`` (``PERSIST`` when None) at time ``t``:
        the RDB and the AOF keep TTLs as deadlines (§21)."""
        self._record(t, key, TtlChange(at_ms))

    def _record(self, t: int, key: str, change: Change) -> None:
        self._tick(t)
        self._live.apply(key, change)
        if not isinstance(change, TtlChange):
            self._dirty += 1  # simplified: a TTL alone (EXPIRE) is not counted
        if self.appendonly:
            self._pending.append((t, key, change))
            self._flush(t)

    def maybe_snapshot(self, t: int, repl: ReplInfo | None = None) -> bool:
        """The serverCron save-point check: BGSAVE when some ``save <s> <n>`` has
        ``dirty >= n`` and more than ``s`` seconds passed since the last save (§21.1).
        Returns whether a snapshot was taken."""
        self._tick(t)
        elapsed = t // 1000 - self._lastsave // 1000
        for seconds, changes in self.save_points:
            if self._dirty >= changes and elapsed > seconds:
                self.snapshot(t, repl)
                return True
        return False

    def snapshot(self, t: int, repl: ReplInfo | None = None) -> None:
        """BGSAVE/SAVE: the RDB file now holds the dataset as of ``t`` (and ``repl``)."""
        self._tick(t)
        self._rdb = self._live.copy()
        self._rdb_time = t
        self._rdb_repl = repl
        self._lastsave = t
        self._dirty = 0

    def shutdown(self, t: int, repl: ReplInfo | None = None) -> None:
        """Graceful SHUTDOWN: the AOF is fsynced, and an RDB saved if save points exist."""
        self._tick(t)
        if self.appendonly:
            self._durable = self._live.copy()
            self._pending.clear()
        if self.save_points:
            self.snapshot(t, repl)

    def full_sync(
        self,
        t: int,
        data: dict[str, str],
        repl: ReplInfo | None = None,
        ttls: dict[str, int] | None = None,
    ) -> None:
        """A disk-based full resync from the master replaced the dataset (and its TTLs):
        the received RDB file stays on disk as this node's RDB (repl-diskless-load
        disabled, the default), whatever the save points; with AOF the rewrite makes it
        durable."""
        self._tick(t)
        self._live = Dataset(data, ttls)
        self._rdb = self._live.copy()
        self._rdb_time = t
        self._rdb_repl = repl
        self._dirty = 0
        if self.appendonly:
            self._durable = self._live.copy()
            self._pending.clear()

    # ------------------------------------------------------------------ queries

    @property
    def last_snapshot_time(self) -> int | None:
        return self._rdb_time

    @property
    def snapshot_repl(self) -> ReplInfo | None:
        """The replication ID and offset the RDB file records (None: no history)."""
        return self._rdb_repl

    @property
    def dirty(self) -> int:
        """Changes since the last snapshot (``rdb_changes_since_last_save``)."""
        return self._dirty

    def survivors(self, crash_time: int, power_loss: bool) -> dict[str, str]:
        """What a restart after a crash at ``crash_time`` would load, without changing
        anything."""
        return self._survivors(crash_time, power_loss).values

    def _survivors(self, crash_time: int, power_loss: bool) -> Dataset:
        if crash_time < self._now:
            raise ValueError(f"crash at {crash_time} ms is before the last event ({self._now} ms)")
        if self.appendonly:
            if not power_loss:
                return self._live.copy()
            durable = self._durable.copy()
            horizon = self._horizon(crash_time)
            for t, key, change in self._pending:
                if t >= horizon:
                    break
                durable.apply(key, change)
            return durable
        return self._rdb.copy() if self._rdb is not None else Dataset()

    def restore(
        self,
        crash_time: int,
        power_loss: bool,
        restart_time: int | None = None,
        config: ConfigLike | None = None,
    ) -> dict[str, str]:
        """The node crashed at ``crash_time`` (``power_loss``: OS crash, else kill -9)
        and restarts at ``restart_time`` (default: at once): the dataset it loads, whose
        TTL deadlines are then :attr:`loaded_ttls` (:attr:`loaded_from_rdb` says which
        file it came from).

        The model continues from that dataset; the configuration is re-read, as a
        restarted process would (``config``: the new process's, without CONFIG SET).
        """
        data = self._survivors(crash_time, power_loss)
        self.loaded_from_rdb = not self.appendonly and self._rdb is not None
        self.loaded_repl = self._rdb_repl if self.loaded_from_rdb else None
        self.loaded_ttls = dict(data.ttls)
        start = crash_time if restart_time is None else restart_time
        if start < crash_time:
            raise ValueError(f"restart at {start} ms is before the crash at {crash_time} ms")
        if config is not None:
            self._config = config
        self._read_config()
        self._now = start
        self._live = data
        self._durable = data.copy()
        self._pending.clear()
        self._lastsave = start
        self._dirty = 0
        return dict(data.values)
