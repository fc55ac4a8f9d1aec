"""Pollers: one thread per node asks ``CLUSTER NODES`` + ``CLUSTER INFO`` (pipelined;
with ``stats``, ``INFO stats`` too, for the keys expired and evicted) every 20 ms and stamps the reply with the midpoint between request and reply, on a
monotonic clock (the method of the real-redis measurements). Only changes are stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rcsim.verify.clusterview import Snapshot, snapshot
from rcsim.verify.resp import Connection

POLL_MS = 20
STATS_KEPT = ("expired_keys", "evicted_keys")
"""INFO stats counters a poller with ``stats`` keeps (keys that expire or are evicted)."""
READ_TIMEOUT_S = 0.2


class Clock:
    """Milliseconds since the run's origin (the scenario's time 0), monotonic."""

    def __init__(self) -> None:
        self.origin = time.monotonic()
        self.wall_origin_ms = time.time() * 1000.0

    def reset(self) -> None:
        self.origin = time.monotonic()
        self.wall_origin_ms = time.time() * 1000.0

    def now_ms(self) -> float:
        return (time.monotonic() - self.origin) * 1000.0


@dataclass(frozen=True, slots=True)
class Sample:
    """A change in what ``node`` reports; ``view`` None: it stopped answering."""

    t: float
    node: str
    view: Snapshot | None


class Observations:
    """What the pollers saw: the change history and each node's latest answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.history: list[Sample] = []
        self.latest: dict[str, Snapshot] = {}
        self.answering: dict[str, bool] = {}
        self.stats: dict[str, tuple[float, dict[str, int]]] = {}  # node -> (t, INFO stats)

    def record(self, t: float, node: str, view: Snapshot | None) -> None:
        with self.lock:
            if view is None:
                if self.answering.get(node, False):
                    self.history.append(Sample(t, node, None))
                self.answering[node] = False
                return
            changed = self.latest.get(node) != view or not self.answering.get(node, False)
            self.latest[node] = view
            self.answering[node] = True
            if changed:
                self.history.append(Sample(t, node, view))

    def record_stats(self, t: float, node: str, text: str) -> None:
        """The counters of STATS_KEPT in an ``INFO stats`` reply, the latest only."""
        values = {}
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in STATS_KEPT and value.strip().isdigit():
                values[key] = int(value)
        with self.lock:
            self.stats[node] = (t, values)

    def latest_stats(self) -> dict[str, tuple[float, dict[str, int]]]:
        with self.lock:
            return dict(self.stats)

    def views(self) -> dict[str, Snapshot]:
        with self.lock:
            return dict(self.latest)

    def samples(self) -> list[Sample]:
        with self.lock:
            return list(self.history)


class Poller(threading.Thread):
    """Polls one node until :meth:`stop`; reconnects after any error."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], Connection],
        names: Mapping[str, str],
        clock: Clock,
        observations: Observations,
        stats: bool = False,
    ) -> None:
        super().__init__(name=f"poll-{name}", daemon=True)
        self.stats = stats
        self.node = name
        self._connect = connect
        self.names = names
        self.clock = clock
        self.observations = observations
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def poll_once(self, connection: Connection) -> None:
        """One poll: CLUSTER NODES + CLUSTER INFO (+ INFO stats), recorded."""
        sent = self.clock.now_ms()
        commands: list[tuple[str | int | bytes, ...]] = [
            ("CLUSTER", "NODES"),
            ("CLUSTER", "INFO"),
        ]
        if self.stats:
            commands.append(("INFO", "stats"))
        replies = connection.pipeline(commands)
        nodes, info = replies[0], replies[1]
        t = (sent + self.clock.now_ms()) / 2
        if self.stats and isinstance(replies[2], str):
            self.observations.record_stats(t, self.node, replies[2])
        if isinstance(nodes, str) and isinstance(info, str):
            self.observations.record(t, self.node, snapshot(self.node, nodes, info, self.names))

    def run(self) -> None:
        connection: Connection | None = None
        next_poll = time.monotonic()
        while not self._stop_event.is_set():
            try:
                if connection is None:
                    connection = self._connect()
                    connection.sock.settimeout(READ_TIMEOUT_S)
                self.poll_once(connection)
            except (OSError, ConnectionError, ValueError):
                if connection is not None:
                    connection.close()
                    connection = None
                self.observations.record(self.clock.now_ms(), self.node, None)
            next_poll += POLL_MS / 1000
            delay = next_poll - time.monotonic()
            if delay > 0:
                self._stop_event.wait(delay)
            else:
                next_poll = time.monotonic()
        if connection is not None:
            connection.close()
