"""Keys that expire or are evicted, seen on a real cluster (§25, §26).

rcsim traces ``key_expired`` and ``key_evicted`` (with the key) and ``keyspace_event``
(a notification a node published to its own subscribers, §26.4). A real node says which
key it expired or evicted only through its keyspace notifications (``notifyKeyspaceEvent``
in ``deleteExpiredKeyAndPropagate`` and ``performEvictions``), so when a scenario's
conditions name one of these kinds the nodes get the notification classes they need
(``E`` and ``x`` / ``e``, added to the scenario's own ``notify-keyspace-events``) and an
observer connection per node (from 127.0.0.1, which no partition rule names)
PSUBSCRIBEs to every key-event channel:

* ``__keyevent@0__:expired`` from node N -> ``key_expired`` {node N, key};
* ``__keyevent@0__:evicted`` -> ``key_evicted`` {node, key, policy: N's configured
  ``maxmemory-policy``};
* every notification the scenario's *own* flags produce -> ``keyspace_event`` {node,
  channel, message, receivers}; ``receivers`` is the number of the scenario's subscribers
  to that channel on N (the observer itself is not one of them: Redis counts it, rcsim
  has no such client).

An event is stamped when its push arrives (loopback: well under a poll period after the
deletion). A node restarted during the run is not re-subscribed (none of the lessons that
need this restarts a node). ``how`` (lazy or active) and the memory figures of
``key_evicted`` are not observable.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rcsim.verify import keystate
from rcsim.verify.resp import Connection
from rcsim.verify.scenario_api import model

PATTERN = "__keyevent@*__:*"
KIND_CLASS = {"key_expired": "x", "key_evicted": "e"}
"""rcsim trace kind -> the notify-keyspace-events class that reveals it."""
EVENT_CLASS = {"expired": "x", "evicted": "e"}
"""Key-event name -> its class (the only events rcsim models, §26.4)."""


def conditions(scenario: model.Scenario) -> list[model.Condition]:
    """Every condition of the scenario: steps' waits and expects, and the final ones."""
    out: list[model.Condition] = []
    for step in scenario.steps:
        out.extend(step.wait_for)
        out.extend(step.expect)
    out.extend(scenario.expect)
    return out


def needed_classes(scenario: model.Scenario) -> str:
    """The notification classes the conditions need ("" when none): ``x`` for a
    ``key_expired`` condition, ``e`` for ``key_evicted`` (and with maxmemory and clients:
    the lost-write count needs the evicted keys, RealCluster.lost_writes), and for
    ``keyspace_event`` the scenario's own flags (they are what it observes)."""
    kinds = {c.kind for c in conditions(scenario) if isinstance(c, model.Event)}
    if scenario.clients and any(
        keystate.maxmemory_of({**scenario.cluster.config, **n.config})
        for n in scenario.cluster.nodes
    ):
        kinds.add("key_evicted")  # an evicted key is a deletion, not a lost write
    classes = "".join(sorted(KIND_CLASS[k] for k in kinds if k in KIND_CLASS))
    if "keyspace_event" in kinds and own_flags(scenario.cluster.config):
        classes += "x"
    return "".join(sorted(set(classes)))


def own_flags(config: Mapping[str, Any]) -> str:
    value = config.get("notify-keyspace-events")
    return "" if value is None else str(value)


def merged_flags(own: str, classes: str) -> str:
    """The scenario's flags with ``E`` and ``classes`` added."""
    return "".join(sorted(set(own) | set(classes) | {"E"}))


def produces(flags: str, channel: str) -> bool:
    """Whether a scenario's own ``flags`` publish on ``channel`` (``__keyevent@0__:expired``)."""
    if not channel.startswith("__keyevent@") or "E" not in flags:
        return False
    event = channel.rsplit(":", 1)[-1]
    wanted = EVENT_CLASS.get(event)
    return wanted is not None and (wanted in flags or "A" in flags)


def event_of(
    node: str,
    channel: str,
    message: str,
    own: str,
    policy: str | None,
    receivers: int,
) -> list[dict[str, Any]]:
    """The rcsim trace events a notification from ``node`` stands for (without ``t``)."""
    events: list[dict[str, Any]] = []
    name = channel.rsplit(":", 1)[-1] if channel.startswith("__keyevent@") else ""
    if name == "expired":
        events.append({"kind": "key_expired", "node": node, "key": message})
    elif name == "evicted":
        fields: dict[str, Any] = {"kind": "key_evicted", "node": node, "key": message}
        if policy is not None:
            fields["policy"] = policy
        events.append(fields)
    if produces(own, channel):
        events.append(
            {
                "kind": "keyspace_event",
                "node": node,
                "channel": channel,
                "message": message,
                "receivers": receivers,
            }
        )
    return events


class Observer:
    """One PSUBSCRIBE connection per node; each notification becomes trace events."""

    def __init__(
        self,
        own: str,
        policy_of: Callable[[str], str | None],
        receivers: Callable[[str, str], int],
        add: Callable[[float, dict[str, Any]], None],
        now: Callable[[], float],
    ) -> None:
        self.own = own
        self.policy_of = policy_of
        self.receivers = receivers
        self.add = add
        self.now = now
        self.connections: list[Connection] = []
        self.threads: list[threading.Thread] = []

    def start(self, nodes: Iterable[tuple[str, str, int]]) -> None:
        """Subscribe on every (name, host, port)."""
        for name, host, port in nodes:
            connection = Connection(host, port, timeout=2.0)
            connection.call("PSUBSCRIBE", PATTERN)
            connection.sock.settimeout(None)
            self.connections.append(connection)
            thread = threading.Thread(
                target=self._read, args=(name, connection), name=f"keyspace-{name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def _read(self, node: str, connection: Connection) -> None:
        while True:
            try:
                push = connection.read_reply()
            except (OSError, ValueError):
                return
            if not (isinstance(push, list) and len(push) == 4 and push[0] == "pmessage"):
                continue
            channel, message = str(push[2]), str(push[3])
            t = self.now()
            receivers = self.receivers(node, channel)
            for event in event_of(
                node, channel, message, self.own, self.policy_of(node), receivers
            ):
                self.add(t, event)

    def close(self) -> None:
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
            connection.close()
        for thread in self.threads:
            thread.join(timeout=2)
