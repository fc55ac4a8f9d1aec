"""Client-side caching on a real cluster: ``local_cache`` clients with RESP3 ``CLIENT
TRACKING`` (§27), recording the events rcsim's client-side caching emits
(simulator/dataplane/client_tracking.py): ``local_read``, ``invalidation``,
``tracking_lost`` and ``cache_flush``.

* Each connection of a tracking client to a node is one :class:`TrackingConnection`:
  ``HELLO 3`` and ``CLIENT TRACKING ON`` (``BCAST PREFIX ...`` in BCAST mode) before its
  first command, then every command of the client to that node, pipelined in order, and
  a reader thread that reads every frame: replies go to their commands in order, push
  frames (``invalidate [keys]``, or a null: everything) to the client's local cache.
  A GET's value is stored by the reader itself, before it reads the next frame, so an
  invalidation sent after the reply can never be overtaken by the store.
* The local cache is rcsim's own :class:`LocalCache` (the entries, what each node's
  connection vouches for, the counters): what the messages and flushes do to it is
  the same code.
* A connection that ends under the client (the node died: the kernel's FIN/RST) is a
  ``tracking_lost`` (``how: closed``), once per node, with the entries it vouched for;
  with ``flush_on: [disconnect]`` they are dropped (``cache_flush``). ``flush_on:
  [moved]`` drops a slot's entries on a MOVED reply or a refreshed map that moved it.
* A GET of a cached key is answered from memory (``local_read``), with no request. It is
  **stale** when the value differs from what the key's owning master holds at that
  moment: a GET on the owner (the running master that claims the slot in its own view,
  as the pollers last saw it), from 127.0.0.1 on a connection without tracking, sent just
  before the cache is looked up (a value the master held before the lookup is one it
  still holds at it: a write after the GET is not mistaken for staleness); while no
  running master claims the slot there is nothing to compare with and it is not stale,
  as in rcsim. That check is the harness's, not the client's: its GET is not a request
  of the client and is not traced.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rcsim.verify.clients import Address, ClusterClient, Emit, Workload
from rcsim.verify.draws import RcsimDraws
from rcsim.verify.resp import Connection, Push, RespError, encode
from simulator.harness.reference import CacheOptions, LocalCache
from simulator.slots import key_hash_slot

LogEvent = Callable[..., None]
"""``log(t, kind, node, **fields)``: the run's :class:`~rcsim.verify.events.EventLog.add`."""
Truth = Callable[[str], tuple[bool, str | None]]
"""key -> (a running master owns its slot, the value it holds there)."""


def tracking_command(options: CacheOptions) -> tuple[str, ...]:
    """``CLIENT TRACKING ON`` with the client's mode and prefixes."""
    argv: tuple[str, ...] = ("CLIENT", "TRACKING", "ON")
    if options.bcast:
        argv += ("BCAST",)
        for prefix in options.prefixes:
            argv += ("PREFIX", prefix)
    return argv


def invalidated_keys(frame: Push) -> tuple[bool, tuple[str, ...] | None]:
    """(is an invalidation, its keys or None for "everything") of a push frame."""
    if len(frame) != 2 or str(frame[0]).lower() != "invalidate":
        return False, None
    keys = frame[1]
    return True, None if keys is None else tuple(str(k) for k in keys)


@dataclass
class _Pending:
    """One command sent on a tracking connection, waiting for its reply."""

    argv: tuple[str | int | bytes, ...]
    done: threading.Event = field(default_factory=threading.Event)
    reply: Any = None
    error: BaseException | None = None


class TrackingConnection(Connection):
    """One RESP3 connection with tracking on; a reader thread dispatches every frame."""

    def __init__(self, client: TrackingClient, address: Address, node: str, timeout: float) -> None:
        super().__init__(address[0], address[1], timeout, client.source)
        self.client = client
        self.node = node
        self.timeout = timeout
        hello, tracking = self.pipeline([("HELLO", "3"), tracking_command(client.cache.options)])
        for reply in (hello, tracking):
            if isinstance(reply, RespError):
                self.close()
                raise ConnectionError(f"{node}: {reply}")
        self.sock.settimeout(None)  # the reader blocks; requests time out on their own
        self.pending: deque[_Pending] = deque()
        self.send_lock = threading.Lock()
        self.closed = False
        self.reader = threading.Thread(target=self._read_loop, name=f"tracking-{node}", daemon=True)
        self.reader.start()

    def request(self, commands: list[tuple[str | int | bytes, ...]]) -> list[Any]:
        """Send ``commands`` at once and wait for their replies (errors returned)."""
        mine = [_Pending(c) for c in commands]
        with self.send_lock:
            if self.closed:
                raise ConnectionError(f"{self.node}: tracking connection closed")
            self.pending.extend(mine)
            self.sock.sendall(b"".join(encode(c) for c in commands))
        replies = []
        for pending in mine:
            if not pending.done.wait(self.timeout):
                raise TimeoutError(f"{self.node}: no reply within {self.timeout:g}s")
            if pending.error is not None:
                raise ConnectionError(str(pending.error))
            replies.append(pending.reply)
        return replies

    def _read_loop(self) -> None:
        error: BaseException | None = None
        try:
            while True:
                frame = self._read()
                if isinstance(frame, Push):
                    self.client.pushed(self.node, frame)
                    continue
                with self.send_lock:
                    pending = self.pending.popleft() if self.pending else None
                if pending is None:
                    continue
                self.client.replied(self.node, pending.argv, frame)
                pending.reply = frame
                pending.done.set()
        except (OSError, ConnectionError, ValueError) as exc:
            error = exc
        with self.send_lock:
            self.closed = True
            waiting = list(self.pending)
            self.pending.clear()
        for pending in waiting:
            pending.error = error or ConnectionError("closed")
            pending.done.set()
        super().close()
        self.client.lost(self, "closed")

    def close(self) -> None:
        """Close from our side (the end of the run): not a lost connection."""
        with self.send_lock:
            self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        super().close()


class TrackingClient(ClusterClient):
    """A cluster-aware client (§15 routing) whose connections track (§27.1)."""

    def __init__(
        self,
        name: str,
        source: str,
        seeds: Callable[[], list[Address]],
        names: Callable[[Address], str],
        options: CacheOptions,
        now: Callable[[], float],
        log: LogEvent,
    ) -> None:
        super().__init__(name, source, seeds, names)
        self.cache = LocalCache(options)
        self.cache_lock = threading.RLock()
        self.now = now
        self.log = log
        self.connections: dict[Address, TrackingConnection] = {}
        self.stopping = False

    # ------------------------------------------------------------------ connections

    def _connection(self, address: Address) -> TrackingConnection:
        with self.lock:
            connection = self.connections.get(address)
            if connection is not None and not connection.closed:
                return connection
        node = self.names(address)
        try:
            connection = TrackingConnection(self, address, node, self.timeout_s)
        except OSError:
            self.lost_node(node, "refused")
            raise
        with self.cache_lock:
            self.cache.connections[node] = self.cache.connections.get(node, 0) + 1
        with self.lock:
            self.connections[address] = connection
        return connection

    timeout_s = 1.0

    def _send(self, address: Address, commands: list[tuple[str | int | bytes, ...]]) -> list[Any]:
        return self._connection(address).request(commands)

    def warm(self, addresses: list[Address]) -> None:
        for address in addresses:
            self._connection(address)

    def close(self) -> None:
        self.stopping = True
        with self.lock:
            connections = list(self.connections.values())
            self.connections.clear()
        for connection in connections:
            connection.close()
        super().close()

    # ------------------------------------------------------------------ from the reader

    def replied(self, node: str, argv: tuple[str | int | bytes, ...], reply: Any) -> None:
        """A reply read (before the next frame): keep a GET's value; the client's own
        write drops its copy (rcsim's ``on_reply``)."""
        if isinstance(reply, RespError) or not argv:
            return
        command = str(argv[0]).upper()
        if command == "GET" and len(argv) == 2:
            with self.cache_lock:
                self.cache.store(str(argv[1]), reply if isinstance(reply, str) else None, node)
        elif command in ("SET", "DEL") and len(argv) >= 2:
            with self.cache_lock:
                self.cache.drop(str(argv[1]))

    def pushed(self, node: str, frame: Push) -> None:
        """An invalidation from ``node`` (rcsim's ``_invalidated``)."""
        ok, keys = invalidated_keys(frame)
        if not ok:
            return
        with self.cache_lock:
            dropped = self.cache.invalidate(node, keys)
        self.log(
            self.now(),
            "invalidation",
            node,
            target=self.name,
            keys=None if keys is None else list(keys),
            dropped=dropped,
        )

    def lost(self, connection: TrackingConnection, how: str) -> None:
        with self.lock:
            for address, known in list(self.connections.items()):
                if known is connection:
                    del self.connections[address]
        if not self.stopping:
            self.lost_node(connection.node, how)

    def lost_node(self, node: str, how: str) -> None:
        """rcsim's ``connection_lost``: once per connection, with what it vouched for."""
        with self.cache_lock:
            if self.cache.connections.pop(node, 0) == 0:
                return
            vouched = sum(1 for _, n in self.cache.entries.values() if n == node)
            dropped = 0
            flush = self.cache.flushes_on("disconnect") and vouched > 0
            if flush:
                dropped = self.cache.drop_node(node)
                self.cache.flushes += 1
        t = self.now()
        self.log(t, "tracking_lost", node, target=self.name, how=how, cached=vouched)
        if flush:
            self.log(
                t,
                "cache_flush",
                node,
                client=self.name,
                reason="disconnect",
                dropped=dropped,
                slot=None,
            )

    # ------------------------------------------------------------------ moves

    def moved(self, slot: int) -> None:
        """The client learned ``slot`` has a new owner (rcsim's ``moved``)."""
        with self.cache_lock:
            if not self.cache.flushes_on("moved"):
                return
            if not any(key_hash_slot(k) == slot for k in self.cache.entries):
                return
            dropped = self.cache.drop_slot(slot)
            self.cache.flushes += 1
        self.log(
            self.now(),
            "cache_flush",
            None,
            client=self.name,
            reason="moved",
            dropped=dropped,
            slot=slot,
        )

    def refreshed(self, before: list[Address | None]) -> None:
        """rcsim's ``map_changed``: every cached slot whose owner changed is a move."""
        with self.cache_lock:
            if not self.cache.flushes_on("moved") or not self.cache.entries:
                return
            slots = sorted({key_hash_slot(k) for k in self.cache.entries})
        for slot in slots:
            if before[slot] != self.slots[slot]:
                self.moved(slot)


class LocalCacheWorkload(Workload):
    """A scenario client with a ``local_cache``: its GETs are answered from the local
    cache when it holds the key (see the module docstring); its operations are drawn as
    rcsim draws them (:mod:`rcsim.verify.draws`)."""

    def __init__(
        self, client: TrackingClient, spec: Any, truth: Truth, seed: int, *args: Any
    ) -> None:
        super().__init__(client, spec, *args)
        self.random = RcsimDraws(seed, client.name)  # type: ignore[assignment]
        self.tracker = client
        self.truth = truth
        plain_emit: Emit = self.emit

        def emit(node: str, fields: dict[str, Any]) -> None:
            plain_emit(node, fields)
            if fields.get("outcome") == "moved":
                client.moved(int(fields["slot"]))

        self.emit = emit

    def command(
        self, write: bool, key: str, value: str | None = None, ttl_ms: int | None = None
    ) -> tuple[str, Any]:
        if not write:
            local = self.local_read(key)
            if local is not None:
                return "ok", local[0]
        return super().command(write, key, value, ttl_ms)

    def local_read(self, key: str) -> tuple[str | None] | None:
        """The cached value of ``key`` as a 1-tuple (None: not cached, a miss)."""
        cache = self.tracker.cache
        owned, current = self.truth(key)  # first: the master held it then, and still does
        with self.tracker.cache_lock:
            entry = cache.get(key)
            if entry is None:
                cache.misses += 1
                return None
            cache.hits += 1
        cached, node = entry
        stale = owned and cached != current
        if stale:
            with self.tracker.cache_lock:
                cache.stale += 1
        self.tracker.log(
            self.now(),
            "local_read",
            node,
            client=self.client.name,
            key=key,
            value=cached,
            stale=stale,
        )
        return (cached,)


class OwnerReader:
    """The harness's truth for stale local reads: GET on the slot's owner (no tracking)."""

    def __init__(self, owner: Callable[[int], Address | None]) -> None:
        self.owner = owner
        self.connections: dict[Address, Connection] = {}
        self.lock = threading.Lock()

    def __call__(self, key: str) -> tuple[bool, str | None]:
        address = self.owner(key_hash_slot(key))
        if address is None:
            return False, None
        with self.lock:
            try:
                connection = self.connections.get(address)
                if connection is None:
                    connection = self.connections[address] = Connection(*address, timeout=0.5)
                reply = connection.pipeline([("GET", key)])[0]
            except (OSError, ConnectionError):
                dead = self.connections.pop(address, None)
                if dead is not None:
                    dead.close()
                return False, None
        if isinstance(reply, RespError):
            return False, None  # MOVED: the owner changed since the last poll
        return True, reply if isinstance(reply, str) else None

    def close(self) -> None:
        with self.lock:
            for connection in self.connections.values():
                connection.close()
            self.connections.clear()
