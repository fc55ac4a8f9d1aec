"""The scenario's clients, for real: cluster-aware clients with redis-py's routing rules,
the same as rcsim's simulated clients (simulator/dataplane/clients.py, §15).

A client keeps a slot map from ``CLUSTER SLOTS``. Per command: ``MOVED`` updates the map
and retries; ``ASK`` sends ``ASKING`` + the command to the target once; ``TRYAGAIN``
retries after 50 ms; ``CLUSTERDOWN``, connection errors and timeouts (1 s) refresh the
map and retry after 250 ms, at most 3 times; at most 16 attempts per command. Every
attempt is a ``request`` event (client, command, key, outcome). Each client connects
from its own loopback address (127.0.0.200 + k), so partitions can name it.

Like rcsim's workload clients, commands start at the scenario's rate whatever the ones
before them are waiting for (open loop, one thread per command in flight). Acknowledged
writes go to rcsim's own :class:`WriteLedger`, in the order their replies were read, and
lost writes are counted as rcsim counts them: by reading every written key back from its
slot's current owner.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from rcsim.verify.resp import Connection, RespError
from simulator.harness.reference import (
    DEFAULT_TIMEOUT_MS,
    ERROR_DELAY_MS,
    MAX_ATTEMPTS,
    MAX_ERRORS,
    TRYAGAIN_DELAY_MS,
    WriteLedger,
)
from simulator.slots import key_hash_slot

Address = tuple[str, int]
Ack = tuple[float, str, str | None, str, str]
"""(monotonic time the reply was read, key, value, node, client) of an acknowledged SET;
value None: a deletion by the server (expiry, eviction)."""
Emit = Callable[[str, dict[str, Any]], None]
"""(node name or "", request event fields) -> None."""

FIRST_CLIENT_HOST = 200
EXPIRED_BY = "expire"
"""The ledger's writer of a deletion by expiry (simulator/dataplane/expiry.py's)."""
EVICTED_BY = "(evicted)"
"""... and of an eviction (simulator/dataplane/maxmemory.py's; RealCluster.lost_writes
adds those from the evicted notifications)."""


def client_host(index: int) -> str:
    return f"127.0.0.{FIRST_CLIENT_HOST + index}"


def outcome_of(reply: Any) -> str:
    """A reply's outcome word (rcsim's request outcomes)."""
    if not isinstance(reply, RespError):
        return "ok"
    word = str(reply).split(" ", 1)[0].upper()
    return {
        "MOVED": "moved",
        "ASK": "ask",
        "TRYAGAIN": "tryagain",
        "CLUSTERDOWN": "clusterdown",
        "CROSSSLOT": "crossslot",
        "OOM": "oom",
    }.get(word, "error")


FINAL = frozenset({"error", "crossslot", "oom"})
"""Error replies a client never retries (rcsim's outcomes: CROSSSLOT, OOM, any other)."""


SLOT_COUNT = 16384


def slot_table(reply: list[list[object]]) -> list[Address | None]:
    """The slot -> master address table of a ``CLUSTER SLOTS`` reply, filled range by range
    (a cache-aside client in an outage refreshes hundreds of times a second: a loop over
    16,384 slots each time would hold the interpreter for seconds on a loaded host)."""
    table: list[Address | None] = [None] * SLOT_COUNT
    for low, high, master, *_ in reply:
        assert isinstance(master, list)
        address = (str(master[0]), int(str(master[1])))
        first, last = int(str(low)), int(str(high))
        table[first : last + 1] = [address] * (last - first + 1)
    return table


class ClusterClient:
    """A cluster-aware client bound to ``source``: a shared slot map and a pool of idle
    connections per node, so several commands can be in flight at once (open loop)."""

    def __init__(
        self,
        name: str,
        source: str,
        seeds: Callable[[], list[Address]],
        names: Callable[[Address], str],
    ) -> None:
        self.name = name
        self.source = source
        self.seeds = seeds
        self.names = names
        self.slots: list[Address | None] = [None] * 16384
        self.idle: dict[Address, list[Connection]] = {}
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            for pool in self.idle.values():
                for connection in pool:
                    connection.close()
            self.idle.clear()

    def _take(self, address: Address) -> Connection:
        with self.lock:
            pool = self.idle.get(address)
            if pool:
                return pool.pop()
        return Connection(address[0], address[1], DEFAULT_TIMEOUT_MS / 1000, self.source)

    def warm(self, addresses: list[Address]) -> None:
        """Open a pooled connection to each address now (the node's memory then holds it)."""
        for address in addresses:
            connection = self._take(address)
            connection.call("PING")
            self._give_back(address, connection)

    def _give_back(self, address: Address, connection: Connection) -> None:
        with self.lock:
            self.idle.setdefault(address, []).append(connection)

    def _send(self, address: Address, commands: list[tuple[str | int | bytes, ...]]) -> list[Any]:
        """Send on a pooled connection; a failed connection is closed, not pooled."""
        connection = self._take(address)
        try:
            replies = connection.pipeline(commands)
        except BaseException:
            connection.close()
            raise
        self._give_back(address, connection)
        return replies

    def refresh(self) -> None:
        """The slot map from the first node that answers ``CLUSTER SLOTS`` (§15)."""
        for address in self.seeds():
            try:
                reply = self._send(address, [("CLUSTER", "SLOTS")])[0]
            except (OSError, ConnectionError):
                continue
            if isinstance(reply, RespError) or not isinstance(reply, list):
                continue
            before, self.slots = self.slots, slot_table(reply)
            self.refreshed(before)
            return

    def refreshed(self, before: list[Address | None]) -> None:
        """Called after each new map with the old one (a subclass compares them)."""

    def execute(self, emit: Emit, *args: str) -> tuple[str, Any, str, float]:
        """Run one single-key command: (outcome, reply, node that answered last, monotonic
        time its reply was read: the order of acknowledgements)."""
        key = args[1]
        slot = key_hash_slot(key)
        if self.slots[slot] is None:
            self.refresh()
        address = self.slots[slot]
        asking = False
        errors = 0
        outcome, reply, node, replied = "error", None, "", time.monotonic()
        for _attempt in range(MAX_ATTEMPTS):
            transport = False
            if address is None:
                outcome, reply = "clusterdown", RespError("CLUSTERDOWN no owner known")
            else:
                node = self.names(address)
                sent = time.monotonic()
                try:
                    if asking:
                        reply = self._send(address, [("ASKING",), tuple(args)])[1]
                    else:
                        reply = self._send(address, [tuple(args)])[0]
                    replied = time.monotonic()
                    outcome = outcome_of(reply)
                except TimeoutError:
                    outcome, reply, transport = "timeout", None, True
                except (OSError, ConnectionError) as error:
                    outcome, reply, transport = "error", RespError(str(error)), True
            fields: dict[str, Any] = {
                "client": self.name,
                "command": args[0],
                "key": key,
                "slot": slot,
                "outcome": outcome,
            }
            if address is not None:  # the attempt's round trip (rcsim's latency_ms)
                fields["latency_ms"] = round((time.monotonic() - sent) * 1000, 3)
            if asking:
                fields["asking"] = True
            emit(node, fields)
            asking = False
            if outcome == "ok":
                return outcome, reply, node, replied
            if outcome in ("moved", "ask"):
                _, _, target = str(reply).split(" ")
                host, port = target.rsplit(":", 1)
                address = (host, int(port))
                if outcome == "moved":
                    self.slots[slot] = address
                else:
                    asking = True
                continue
            if outcome == "tryagain":
                time.sleep(TRYAGAIN_DELAY_MS / 1000)
                continue
            if outcome in FINAL and not transport:
                return outcome, reply, node, replied  # a plain error reply is final
            errors += 1
            if errors > MAX_ERRORS:
                return outcome, reply, node, replied
            time.sleep(ERROR_DELAY_MS / 1000)
            self.refresh()
            address = self.slots[slot]
        return outcome, reply, node, replied


class Workload(threading.Thread):
    """A scenario client: commands started at ``rate``/s (open loop: each in its own
    thread, so one that waits does not delay the next), a ``writes`` fraction SETs."""

    MAX_IN_FLIGHT = 1000

    def __init__(
        self,
        client: ClusterClient,
        spec: Any,
        acks: list[Ack],
        in_flight: set[str],
        acks_lock: threading.Lock,
        now: Callable[[], float],
        emit: Emit,
    ) -> None:
        super().__init__(name=f"client-{client.name}", daemon=True)
        self.client = client
        self.rate = float(spec.rate)
        self.writes = float(spec.writes)
        self.keys = str(spec.keys)
        self.key_count = int(spec.key_count)
        self.ttl_ms: int | None = getattr(spec, "ttl_ms", None)
        self.deadlines: list[tuple[str, float]] = []  # (node, ms) of acked writes with a TTL
        self.acks = acks
        self.in_flight_values = in_flight
        self.key_locks: dict[str, threading.Lock] = {}
        self.acks_lock = acks_lock
        self.now = now
        self.emit = emit
        self.random = random.Random(client.name)
        self.sequence = itertools.count(1)
        self.in_flight: set[threading.Thread] = set()
        self.skipped = 0  # commands not started because MAX_IN_FLIGHT were waiting
        self._stop_event = threading.Event()

    def stop(self, wait: bool = True) -> None:
        """Stop starting commands; with ``wait``, let those in flight end (within ~5 s:
        4 errors of at most 1 s plus 3 × 250 ms) so their acks are recorded. An
        interrupted run does not wait: the threads are daemons and die with the process."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=1)
        if wait:
            for thread in list(self.in_flight):
                thread.join(timeout=10)
        self.client.close()

    def set(self, rate: float | None, writes: float | None) -> None:
        if rate is not None:
            self.rate = rate
        if writes is not None:
            self.writes = writes

    def command(
        self, write: bool, key: str, value: str | None = None, ttl_ms: int | None = None
    ) -> tuple[str, Any]:
        """One SET or GET, with the routing rules; an acknowledged SET is recorded.

        SETs of one key are sent one after the other (a later one waits for the earlier
        one's reply): on a real server two concurrent SETs of a key may be applied in one
        order and their replies read in the other, and the ledger judges by the order of
        acknowledgements. rcsim's client has no such race, so this keeps them comparable."""
        if not write:
            outcome, reply, _, _ = self.client.execute(self.emit, "GET", key)
            return outcome, reply
        value = value if value is not None else f"{self.client.name}:{next(self.sequence)}"
        with self._key_lock(key):
            with self.acks_lock:
                self.in_flight_values.add(value)
            outcome, reply, node, replied = "error", None, "", 0.0
            started = self.now()  # the command goes out now: the server's deadline follows
            try:
                args = ("SET", key, value) + (("PX", str(ttl_ms)) if ttl_ms else ())
                outcome, reply, node, replied = self.client.execute(self.emit, *args)
            finally:
                with self.acks_lock:
                    if outcome == "ok":
                        self.acks.append((replied, key, value, node, self.client.name))
                        if ttl_ms:  # its deadline, on the run's clock (rcsim.verify.keystate):
                            # from the send, as the reply may be read late under load
                            self.deadlines.append((node, started + ttl_ms))
                            # expiry is a deletion the server does, not a lost write (as
                            # rcsim's ledger records it); the key reads as absent from then
                            gone = replied + ttl_ms / 1000
                            self.acks.append((gone, key, None, node, EXPIRED_BY))
                    self.in_flight_values.discard(value)
        return outcome, reply

    def _key_lock(self, key: str) -> threading.Lock:
        with self.acks_lock:
            return self.key_locks.setdefault(key, threading.Lock())

    def _one(self, write: bool, key: str) -> None:
        try:
            self.command(write, key, ttl_ms=self.ttl_ms)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            self.in_flight.discard(threading.current_thread())

    def draw(self) -> tuple[Callable[..., None], tuple[Any, ...]]:
        """The next command: (what its thread runs, its arguments)."""
        key = self.keys.replace("{i}", str(self.random.randrange(self.key_count)))
        write = self.random.random() < self.writes
        return self._one, (write, key)

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            if self.rate <= 0:
                self._stop_event.wait(0.05)
                next_at = time.monotonic()
                continue
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop_event.wait(delay)
                continue
            next_at += 1 / self.rate
            target, args = self.draw()
            if len(self.in_flight) >= self.MAX_IN_FLIGHT:
                self.skipped += 1
                continue
            thread = threading.Thread(target=target, args=args, daemon=True)
            self.in_flight.add(thread)
            thread.start()


def ledger_of(acks: list[Ack]) -> WriteLedger:
    """rcsim's write ledger, acks in the order their replies were read (threads may record
    them a little out of order; the ledger needs them in time order per key)."""
    ledger = WriteLedger()
    for replied, key, value, node, client in sorted(acks, key=lambda a: a[0]):
        ledger.record(key, value, round(replied * 1000), node, client)
    return ledger


Read = tuple[str | None, float]
"""A key read back: its value (None: absent or unreachable), monotonic time the GET was sent."""


READ_CHUNK = 500
"""GETs per pipeline when reading keys back."""


def read_owned(
    keys: list[str],
    owner_of: Callable[[int], Address | None],
    connect: Callable[[Address], Connection],
) -> dict[str, Read]:
    """Each key's value at the node that claims its slot in its own view (rcsim's true
    owner, §15), asked directly, pipelined: no routing, so a node that still points the
    slot at a dead one (an open slot) cannot send the read-back round in circles. A key
    whose owner is unknown, unreachable or answers an error reads as absent (None)."""
    by_owner: dict[Address | None, list[str]] = {}
    for key in keys:
        by_owner.setdefault(owner_of(key_hash_slot(key)), []).append(key)
    values: dict[str, Read] = {}
    for owner, owned in by_owner.items():
        connection = None
        try:
            connection = None if owner is None else connect(owner)
            for start in range(0, len(owned), READ_CHUNK):
                chunk = owned[start : start + READ_CHUNK]
                asked = time.monotonic()
                if connection is None:
                    replies: list[Any] = [None] * len(chunk)
                else:
                    replies = connection.pipeline([("GET", key) for key in chunk])
                for key, reply in zip(chunk, replies, strict=True):
                    values[key] = (reply if isinstance(reply, str) else None, asked)
        except OSError:
            asked = time.monotonic()
            for key in owned:
                values.setdefault(key, (None, asked))
        finally:
            if connection is not None:
                connection.close()
    return values


def _eviction_last(acks: list[Ack]) -> list[Ack]:
    """A key read back absent whose last eviction was seen before its last reply: the
    eviction came last. Its notification and the SET's reply travel on different
    connections (and the reply is read by a client thread, late on a loaded host), but a
    SET the server ran after the eviction would have left the key there."""
    evictions = [a for a in acks if a[4] == EVICTED_BY]
    if not evictions:
        return acks
    last = evictions[-1]
    latest = max(a[0] for a in acks)
    return [a for a in acks if a is not last] + [(latest, *last[1:])]


def lost_count(acks: list[Ack], in_flight: Collection[str], reads: Mapping[str, Read]) -> int:
    """rcsim's lost-write rule per key, on the writes acknowledged before the key was read.

    While clients still write, a key can hold the value of a write that was in flight when
    it was read (still in flight, or acknowledged after the read): that write is newer and
    hides nothing. Once the clients have stopped this is exactly the ledger's rule."""
    by_key: dict[str, list[Ack]] = {}
    for ack in sorted(acks, key=lambda a: a[0]):
        by_key.setdefault(ack[1], []).append(ack)
    lost = 0
    for key, key_acks in sorted(by_key.items()):
        if key not in reads:
            continue  # first written after the read-back began: judged by the next one
        value, asked = reads[key]
        before = [a for a in key_acks if a[0] < asked]
        if not before:
            continue
        later = {a[2] for a in key_acks if a[0] >= asked}
        if value is not None and (value in later or value in in_flight):
            continue
        if value is None:
            before = _eviction_last(before)
        lost += len(ledger_of(before).lost_writes({key: value}.get))
    return lost
