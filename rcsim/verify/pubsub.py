"""The scenario's pub/sub steps, for real (§19).

``subscribe`` opens a connection of its own for the subscriber (from its own loopback
address, after the workload clients', so a partition can name it) and sends
``SUBSCRIBE`` / ``PSUBSCRIBE`` / ``SSUBSCRIBE`` there; a reader thread then counts every
``message`` / ``pmessage`` / ``smessage`` push per (channel, subscriber), as rcsim's data
plane counts deliveries (a ``pmessage`` counts for the channel it was published on).
``publish`` sends ``PUBLISH`` / ``SPUBLISH`` from 127.0.0.1 (no partition rule names it:
in rcsim the publisher is a client of its own too) and records rcsim's ``publish`` event
with the reply as ``receivers``.

Which node: the step's ``node``; without one a shard channel goes to the master that
owns its slot (where rcsim's client routes it), a classic channel to the first running
node by name (rcsim's client picks one of the known nodes with its own random stream:
any node serves a classic channel).
"""

from __future__ import annotations

import contextlib
import fnmatch
import socket
import threading
from collections.abc import Callable
from typing import Any

from rcsim.verify.cleanup import Cleanup
from rcsim.verify.resp import Connection, encode
from rcsim.verify.scenario_api import model
from simulator.slots import key_hash_slot

Address = tuple[str, int]
PUSH_KINDS = {"message": 1, "smessage": 1, "pmessage": 2}
"""Push kind -> index of the channel the message was published on."""


def subscribe_command(action: model.Subscribe) -> tuple[str, str]:
    """The command a ``subscribe`` step sends."""
    verb = "SSUBSCRIBE" if action.sharded else "PSUBSCRIBE" if action.pattern else "SUBSCRIBE"
    return verb, action.channel


def publish_command(action: model.Publish) -> tuple[str, str, str]:
    """The command a ``publish`` step sends."""
    return ("SPUBLISH" if action.sharded else "PUBLISH"), action.channel, action.message


def target_node(
    node: str | None,
    sharded: bool,
    channel: str,
    owner_of: Callable[[int], str | None],
    running: Callable[[], list[str]],
) -> str:
    """The node a pub/sub step talks to (see the module's doc)."""
    if node is not None:
        return node
    if sharded:
        owner = owner_of(key_hash_slot(channel))
        if owner is None:
            raise RuntimeError(f"no node owns the slot of shard channel {channel!r}")
        return owner
    names = sorted(running())
    if not names:
        raise RuntimeError("no node is running")
    return names[0]


def plan(
    scenario: model.Scenario,
    owner_of: Callable[[int], str | None],
    running: Callable[[], list[str]],
) -> list[tuple[int, str, tuple[str, ...]]]:
    """(step index, node, command) of every pub/sub step, with the cluster as it is now:
    what :class:`RealPubSub` will send (for the docs and the tests)."""
    out: list[tuple[int, str, tuple[str, ...]]] = []
    for step in scenario.steps:
        action = step.action
        if isinstance(action, model.Subscribe):
            node = target_node(action.node, action.sharded, action.channel, owner_of, running)
            out.append((step.index, node, subscribe_command(action)))
        elif isinstance(action, model.Publish):
            node = target_node(action.node, action.sharded, action.channel, owner_of, running)
            out.append((step.index, node, publish_command(action)))
    return out


def delivered_channel(push: Any) -> str | None:
    """The channel a push message delivers on; None for anything else (a subscribe
    confirmation, ``sunsubscribe`` when a shard loses the slot)."""
    if not isinstance(push, list) or not push or not isinstance(push[0], str):
        return None
    index = PUSH_KINDS.get(push[0])
    if index is None or len(push) <= index:
        return None
    return str(push[index])


class Deliveries:
    """Push messages received, per (channel, subscriber); thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, channel: str, subscriber: str) -> None:
        with self.lock:
            key = (channel, subscriber)
            self.counts[key] = self.counts.get(key, 0) + 1

    def count(self, channel: str | None = None, subscriber: str | None = None) -> int:
        """As rcsim's ``DataPlane.delivered``."""
        with self.lock:
            return sum(
                n
                for (ch, client), n in self.counts.items()
                if (channel is None or ch == channel)
                and (subscriber is None or client == subscriber)
            )


class RealPubSub:
    """The subscribers' connections and reader threads of one real run."""

    def __init__(
        self,
        endpoint: Callable[[str], Address],
        owner_of: Callable[[int], str | None],
        running: Callable[[], list[str]],
        first_host: int,
        cleanup: Cleanup,
    ) -> None:
        self.endpoint = endpoint
        self.owner_of = owner_of
        self.running = running
        self.first_host = first_host
        self.deliveries = Deliveries()
        self.hosts: dict[str, str] = {}  # subscriber -> its loopback source address
        self.connections: dict[str, Connection] = {}
        self.threads: list[threading.Thread] = []
        self.subscriptions: list[tuple[str, str, str]] = []  # (node, verb, channel)
        cleanup.push("subscribers", self.close)

    def host(self, subscriber: str) -> str:
        if subscriber not in self.hosts:
            self.hosts[subscriber] = f"127.0.0.{self.first_host + len(self.hosts)}"
        return self.hosts[subscriber]

    def subscribe(self, action: model.Subscribe) -> dict[str, Any]:
        node = target_node(action.node, action.sharded, action.channel, self.owner_of, self.running)
        self.subscriptions.append((node, *subscribe_command(action)))
        connection = self.connections.get(action.client)
        if connection is None:
            host, port = self.endpoint(node)
            connection = Connection(host, port, timeout=2.0, source=self.host(action.client))
            self.connections[action.client] = connection
            reply = connection.call(*subscribe_command(action))
            connection.sock.settimeout(None)  # the reader blocks until close()
            thread = threading.Thread(
                target=self._read, args=(action.client, connection), daemon=True
            )
            thread.start()
            self.threads.append(thread)
        else:  # a second channel on the same connection: the reader sees the confirmation
            connection.sock.sendall(encode(subscribe_command(action)))
            reply = None
        return {"node": node, "client": action.client, "reply": reply}

    def subscribers(self, node: str, channel: str) -> int:
        """The scenario's subscriptions on ``node`` a publish on ``channel`` reaches
        (what PUBLISH counts as receivers there, the run's own observers left out)."""
        return sum(
            1
            for where, verb, name in self.subscriptions
            if where == node
            and (fnmatch.fnmatchcase(channel, name) if verb == "PSUBSCRIBE" else channel == name)
        )

    def _read(self, subscriber: str, connection: Connection) -> None:
        while True:
            try:
                push = connection.read_reply()
            except (OSError, ValueError):
                return
            channel = delivered_channel(push)
            if channel is not None:
                self.deliveries.add(channel, subscriber)

    def publish(self, action: model.Publish) -> dict[str, Any]:
        node = target_node(action.node, action.sharded, action.channel, self.owner_of, self.running)
        host, port = self.endpoint(node)
        connection = Connection(host, port, timeout=2.0)
        try:
            receivers = connection.call(*publish_command(action))
        finally:
            connection.close()
        return {
            "node": node,
            "channel": action.channel,
            "message": action.message,
            "sharded": action.sharded,
            "receivers": receivers,
        }

    def close(self) -> None:
        for connection in self.connections.values():
            with contextlib.suppress(OSError):  # wakes the reader blocked in recv
                connection.sock.shutdown(socket.SHUT_RDWR)
            connection.close()
        for thread in self.threads:
            thread.join(timeout=2)
