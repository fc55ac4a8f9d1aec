"""The stale-read ledger: every cache read that returned an outdated value, exactly.

Definition (docs/caching.md, the counterpart of the lost-write ledger,
:mod:`simulator.dataplane.ledger`): a read is **stale** when the value it returned
carries a version older than the backing database's current version of that key *at
the moment the answer reached the client*. A read answered by the database, a miss and
a read of the current version are fresh. Values carry their version (a cache-aside
client writes ``v7`` for version 7), so the check is exact: no sampling, no window.

Each stale read is kept with how long its version had already been superseded then
(``stale_ms``). Stale reads of one key group into **episodes**: an episode opens at a
key's first stale read and closes at the next fresh read of that key; its end says why
it closed (``expired or deleted`` when that read missed — the TTL ran out or the next
write's invalidation landed — ``refreshed`` when it read the current version). An
episode still open at the end of the run has no end. So the ledger answers which keys
readers saw stale, from when to when, and how many reads each served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MISSED = "expired or deleted"
REFRESHED = "refreshed"


@dataclass(frozen=True, slots=True)
class StaleRead:
    """One read that returned an outdated version (times in ms)."""

    key: str
    client: str
    node: str
    at: int
    version: int  # the version the read returned
    current: int  # the database's version then
    stale_ms: float  # how long ``version`` had been superseded at ``at``


@dataclass(frozen=True, slots=True)
class Episode:
    """The stale reads of one key between two fresh reads."""

    key: str
    first_at: int  # the first stale read
    last_at: int  # the last stale read
    since: float  # when the first stale read's version was superseded
    reads: int
    ended_at: int | None  # the fresh read that closed it (None: still open)
    ended_by: str | None
    clients: tuple[str, ...]

    def duration(self, now: int) -> float:
        """How long readers could see a stale value: from when the version they read was
        superseded to the fresh read that closed the episode (or ``now``)."""
        end = self.ended_at if self.ended_at is not None else now
        return end - self.since


class StaleReadLedger:
    """Records reads; answers :meth:`reads`, :meth:`episodes`, :meth:`keys`."""

    def __init__(self) -> None:
        self._reads: list[StaleRead] = []
        self._open: dict[str, list[StaleRead]] = {}  # key -> stale reads since the last fresh
        self._closed: list[Episode] = []
        self.fresh = 0

    def __len__(self) -> int:
        return len(self._reads)

    def record(
        self,
        key: str,
        client: str,
        node: str,
        at: int,
        version: int | None,
        current: int,
        superseded_at: float | None,
    ) -> StaleRead | None:
        """One read answered at ``at``: ``version`` is what it returned (None: a miss or
        an error, so nothing stale), ``current`` the database's version then,
        ``superseded_at`` when ``version`` stopped being the newest. Returns the stale
        read, or None for a fresh read (which closes the key's open episode)."""
        if version is None or version >= current:
            self.fresh += 1
            self._close(key, at, MISSED if version is None else REFRESHED)
            return None
        stale = StaleRead(
            key, client, node, at, version, current, at - (superseded_at or float(at))
        )
        self._reads.append(stale)
        self._open.setdefault(key, []).append(stale)
        return stale

    def _close(self, key: str, at: int, why: str) -> None:
        reads = self._open.pop(key, None)
        if reads:
            self._closed.append(_episode(key, reads, at, why))

    def reads(self, key: str | None = None, client: str | None = None) -> list[StaleRead]:
        """The stale reads (of ``key``, by ``client``), in the order they were answered."""
        return [
            r
            for r in self._reads
            if (key is None or r.key == key) and (client is None or r.client == client)
        ]

    def episodes(self) -> list[Episode]:
        """Closed episodes, then the open ones; by first stale read, then key."""
        still = [_episode(k, reads, None, None) for k, reads in self._open.items()]
        return sorted(self._closed + still, key=lambda e: (e.first_at, e.key))

    def keys(self) -> list[str]:
        """Every key read stale at least once, sorted."""
        return sorted({r.key for r in self._reads})


def _episode(key: str, reads: list[StaleRead], ended_at: int | None, why: str | None) -> Episode:
    first = reads[0]
    clients = tuple(sorted({r.client for r in reads}))
    return Episode(
        key,
        first.at,
        reads[-1].at,
        first.at - first.stale_ms,
        len(reads),
        ended_at,
        why,
        clients,
    )


def episode_row(episode: Episode, now: int) -> dict[str, Any]:
    """An episode as the report prints it (JSON-ready)."""
    return {
        "key": episode.key,
        "stale_since": round(episode.since, 3),
        "first_read": episode.first_at,
        "last_read": episode.last_at,
        "ended_at": episode.ended_at,
        "ended_by": episode.ended_by,
        "reads": episode.reads,
        "stale_ms": round(episode.duration(now), 3),
        "clients": list(episode.clients),
    }
