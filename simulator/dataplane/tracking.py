"""One node's client-side-caching state: the tracking table of src/tracking.c (§27).

A client that turned ``CLIENT TRACKING ON`` on its connection to this node is
registered here. In the default mode every key it reads is remembered
(``trackingRememberKeys``); the first change of such a key, by anyone, sends one
invalidation to each client that read it and forgets the key (``trackingInvalidateKey``
frees its entry), so the client hears of it again only after reading it again. In
``BCAST`` mode nothing is remembered: every change of a key under one of the client's
prefixes is collected and sent, once per event-loop pass, as one message listing the
keys (``trackingRememberKeyToBroadcast``, ``trackingBroadcastInvalidationMessages``).
A flush (FLUSHALL, or a replica's full resync emptying its data) sends a null
invalidation, "everything", to every tracking client (``trackingInvalidateKeysOnFlush``).
``tracking-table-max-keys`` caps the table: when it is over, keys picked at random are
invalidated as if they had changed (``trackingLimitUsedSlots``, before each command and
from ``serverCron``). A process that dies takes its connections with it: the table is
gone and each client sees its connection close.

Plain values: the table knows no cluster and no clock. What it sends goes through
``send(client, keys, why)`` (``keys`` None = every key), an :class:`Outbox` installed by the request
path (:mod:`simulator.dataplane.client_tracking`), which carries it over the network.

Simplified: ``NOLOOP``, ``OPTIN``/``OPTOUT`` and ``REDIRECT`` are not modelled (a
simulated client's own write also invalidates its own copy, as without ``NOLOOP``);
one event-loop pass is one engine instant (the request path flushes the broadcast
batch right after the command that filled it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import Protocol

DEFAULT = "default"
BCAST = "bcast"
MODES = (DEFAULT, BCAST)


class Outbox(Protocol):
    """Where a table's messages go (the request path carries them over the network)."""

    def __call__(self, client: str, keys: tuple[str, ...] | None, why: str) -> None:
        """One invalidation message to ``client`` (``keys`` None = every key)."""

    def closed(self, client: str) -> None:
        """``client``'s connection closed under it (the process died)."""

    def wake(self) -> None:
        """Keys changed for BCAST clients: send the batch at the end of this pass."""


LIMIT_EFFORT = 100
"""Keys one ``trackingLimitUsedSlots`` call may invalidate, times the number of calls in
a row that ended still over the limit (``effort = 100 * (timeout_counter + 1)``)."""


@dataclass(slots=True)
class Tracked:
    """One tracking connection: its mode and (BCAST) prefixes."""

    mode: str = DEFAULT
    prefixes: tuple[str, ...] = ("",)


@dataclass(slots=True)
class TrackingTable:
    """``TrackingTable`` (key -> client ids) and ``PrefixTable`` (prefix -> clients and
    the keys changed in this pass) of one node."""

    send: Outbox
    keys: dict[str, dict[str, None]] = field(default_factory=dict)
    clients: dict[str, Tracked] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # BCAST: changed keys this pass
    timeout_counter: int = 0
    evicted: int = 0  # keys dropped by tracking-table-max-keys

    # ------------------------------------------------------------------ connections

    def enable(self, client: str, mode: str = DEFAULT, prefixes: tuple[str, ...] = ()) -> None:
        """``CLIENT TRACKING ON [BCAST [PREFIX p ...]]`` (``enableTracking``)."""
        self.clients[client] = Tracked(mode, prefixes or ("",))

    def tracking(self, client: str) -> bool:
        return client in self.clients

    def disconnect(self, client: str) -> None:
        """The connection closed (``disableTracking``): its ids stay in the table and are
        skipped lazily when a key changes, as ``lookupClientByID`` finds no client."""
        self.clients.pop(client, None)

    def crash(self) -> list[str]:
        """The process died: every tracking connection closed. Returns their clients."""
        gone = list(self.clients)
        self.clients.clear()
        self.keys.clear()
        self.pending.clear()
        for client in gone:
            self.send.closed(client)
        return gone

    # ------------------------------------------------------------------ reads

    def remember(self, client: str, keys: tuple[str, ...]) -> None:
        """``trackingRememberKeys`` after a read-only command (default mode only)."""
        tracked = self.clients.get(client)
        if tracked is None or tracked.mode != DEFAULT:
            return
        for key in keys:
            self.keys.setdefault(key, {})[client] = None

    # ------------------------------------------------------------------ changes

    def modified(self, key: str) -> None:
        """``signalModifiedKey`` -> ``trackingInvalidateKey(c, key, bcast=1)``."""
        if any(t.mode == BCAST for t in self.clients.values()):
            if not self.pending:
                self.send.wake()
            self.pending[key] = key
        self._invalidate(key, "write")

    def _invalidate(self, key: str, why: str) -> None:
        ids = self.keys.pop(key, None)
        if ids is None:
            return
        for client in ids:
            tracked = self.clients.get(client)
            if tracked is None or tracked.mode != DEFAULT:
                continue  # lookupClientByID: gone; or switched to BCAST since
            self.send(client, (key,), why)

    def broadcast(self) -> None:
        """``trackingBroadcastInvalidationMessages`` (``beforeSleep``): each BCAST client
        gets one message with the changed keys under its prefixes."""
        if not self.pending:
            return
        changed = list(self.pending)
        self.pending.clear()
        for client, tracked in list(self.clients.items()):
            if tracked.mode != BCAST:
                continue
            keys = tuple(k for k in changed if any(k.startswith(p) for p in tracked.prefixes))
            if keys:
                self.send(client, keys, "bcast")

    def flushed(self) -> None:
        """``trackingInvalidateKeysOnFlush``: a null invalidation to every tracking
        client (BCAST ones and those that read nothing too), and the table is freed."""
        for client in list(self.clients):
            self.send(client, None, "flush")
        self.keys.clear()

    # ------------------------------------------------------------------ the limit

    def limit(self, max_keys: int, rng: Random) -> None:
        """``trackingLimitUsedSlots``: over ``max_keys`` (0 = no limit), invalidate keys
        picked at random (rax's random walk) until under it, at most the effort."""
        if max_keys == 0 or len(self.keys) <= max_keys:
            self.timeout_counter = 0
            return
        effort = LIMIT_EFFORT * (self.timeout_counter + 1)
        while effort > 0 and self.keys:
            effort -= 1
            names = list(self.keys)
            key = names[rng.randrange(len(names))]
            self.evicted += 1
            self._invalidate(key, "limit")
            if len(self.keys) <= max_keys:
                self.timeout_counter = 0
                return
        self.timeout_counter += 1
