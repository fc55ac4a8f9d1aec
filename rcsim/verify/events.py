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
    """Trace events of a real run, in time order: derived from samples plus the player's."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        self.lock = threading.Lock()
        self._derived: list[Event] = []
        self._actions: list[Event] = []
        self._last: dict[str, Snapshot] = {}
        self._seen = 0

    def consume(self, samples: list[Sample]) -> None:
        """Derive events from the samples not consumed yet (``samples`` grows only)."""
        with self.lock:
            for sample in samples[self._seen :]:
                if sample.view is None:
                    continue
                t = round(sample.t)
                self._derived.extend(
                    changes(self._last.get(sample.node), sample.view, self.names, t)
                )
                self._last[sample.node] = sample.view
            self._seen = len(samples)

    def add(self, t: float, kind: str, node: str | None = None, **fields: Any) -> None:
        event: Event = {"t": round(t), "kind": kind}
        if node is not None:
            event["node"] = node
        event.update(fields)
        with self.lock:
            self._actions.append(event)

    def events(self) -> list[Event]:
        """Every event, sorted by time (actions before derived events at the same ms)."""
        with self.lock:
            merged = [(e["t"], 0, i, e) for i, e in enumerate(self._actions)]
            merged += [(e["t"], 1, i, e) for i, e in enumerate(self._derived)]
        return [e for *_, e in sorted(merged, key=lambda item: item[:3])]
