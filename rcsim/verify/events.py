"""rcsim's trace vocabulary, read off a real cluster.

The pollers store what each node reported whenever it changed; :class:`EventLog` turns
those changes into the trace events rcsim emits for the same facts (docs/trace.md):
``pfail`` / ``fail`` (an observer's view of a node gains the flag, §7/§8), ``role`` and
``promoted`` (a node's own role changes; replica -> master is a promotion, §11.5) and
``cluster_state`` (§14). The player adds the events of its own actions (``crash``,
``pause``, ``restart``, ``node_added``, ``reshard_done`` ...). With the same kinds and
fields, rcsim's own milestone code reads real runs too.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping
from typing import Any

from rcsim.verify.clusterview import Snapshot
from rcsim.verify.poller import Sample

Event = dict[str, Any]


def changes(
    previous: Snapshot | None, view: Snapshot, names: Mapping[str, str], t: int
) -> list[Event]:
    """The events between two consecutive views of the same node."""
    events: list[Event] = []
    node = view.name
    if previous is None:
        return events
    for target, line in view.peers.items():
        if target == node:
            continue
        before = previous.flags_of(target) or frozenset()
        for flag in ("pfail", "fail"):
            if flag in line.flags and flag not in before:
                events.append({"t": t, "kind": flag, "node": node, "target": target})
    old_role, new_role = previous.role(), view.role()
    old_master, new_master = previous.master_name(names), view.master_name(names)
    if old_role != new_role or old_master != new_master:
        if new_role == "master":
            events.append({"t": t, "kind": "role", "node": node, "role": "master"})
            if old_role == "replica":
                events.append({"t": t, "kind": "promoted", "node": node, "target": old_master})
        else:
            events.append(
                {"t": t, "kind": "role", "node": node, "role": "replica", "master": new_master}
            )
    if previous.state != view.state:
        events.append({"t": t, "kind": "cluster_state", "node": node, "state": view.state})
    return events


class EventLog:
    """Trace events of a real run, kept in time order as they arrive from three sources:
    the player's actions, the nodes' logs and the polls (in that order at equal times)."""

    ACTION, LOG, POLL = 0, 1, 2

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        self.lock = threading.Lock()
        self._events: list[tuple[int, int, int, Event]] = []
        self._last: dict[str, Snapshot] = {}
        self._seen = 0

    def _insert(self, source: int, event: Event) -> None:
        bisect.insort(self._events, (event["t"], source, len(self._events), event), key=_order)

    def consume(self, samples: list[Sample]) -> None:
        """Derive events from the samples not consumed yet (``samples`` grows only)."""
        with self.lock:
            for sample in samples[self._seen :]:
                if sample.view is None:
                    continue
                t = round(sample.t)
                for event in changes(self._last.get(sample.node), sample.view, self.names, t):
                    self._insert(self.POLL, event)
                self._last[sample.node] = sample.view
            self._seen = len(samples)

    def add(self, t: float, kind: str, node: str | None = None, **fields: Any) -> None:
        """An event of the player's (an action) or of a node's log."""
        event: Event = {"t": round(t), "kind": kind}
        if node is not None:
            event["node"] = node
        event.update(fields)
        with self.lock:
            self._insert(self.ACTION, event)

    def add_logged(self, t: float, event: Event) -> None:
        with self.lock:
            self._insert(self.LOG, {"t": round(t), **event})

    def events(self) -> list[Event]:
        """Every event, sorted by time."""
        with self.lock:
            return [item[3] for item in self._events]


def _order(item: tuple[int, int, int, Event]) -> tuple[int, int, int]:
    return item[0], item[1], item[2]
