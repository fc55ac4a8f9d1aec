"""The trace: an append-only list of events, the one place facts flow out of a simulation.

A trace event is a plain ``dict`` with ``t`` (simulated ms) and ``kind`` first, then
``node`` / ``target`` where they apply, then the kind's own fields in a fixed order.
Because insertion order is fixed by the emitting code, :func:`event_json` is
byte-identical for identical runs. Every kind is registered in :mod:`simulator.trace_kinds` and documented in
``docs/trace.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from simulator.trace_kinds import ROUTINE

TraceEvent = dict[str, Any]
Listener = Callable[[TraceEvent], None]

ROUTINE_KINDS = ROUTINE
"""Kinds that describe routine traffic rather than a change a learner should notice
(from the registry, :mod:`simulator.trace_kinds`)."""


class Trace:
    """Append-only event list with listeners (the TUI, checkers, writers)."""

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []
        self._listeners: list[Listener] = []

    def emit(
        self,
        t: int,
        kind: str,
        node: str | None = None,
        target: str | None = None,
        **fields: Any,
    ) -> TraceEvent:
        event: TraceEvent = {"t": t, "kind": kind}
        if node is not None:
            event["node"] = node
        if target is not None:
            event["target"] = target
        event.update(fields)
        self.events.append(event)
        for listener in self._listeners:
            listener(event)
        return event

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``; safe from inside a listener: the list is replaced,
        not changed in place, so an :meth:`emit` in progress still calls every listener
        that was subscribed when it began (removing in place would skip the next one)."""
        listeners = list(self._listeners)
        listeners.remove(listener)
        self._listeners = listeners

    def truncate(self, length: int) -> None:
        """Drop every event after the first ``length`` (used when rewinding)."""
        del self.events[length:]

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self.events)

    def of_kind(self, *kinds: str) -> list[TraceEvent]:
        wanted = set(kinds)
        return [e for e in self.events if e["kind"] in wanted]

    def first(self, kind: str, **match: Any) -> TraceEvent | None:
        for event in self.events:
            if event["kind"] == kind and all(event.get(k) == v for k, v in match.items()):
                return event
        return None

    # Deep copies of a simulation share the trace (see simulator.simulation checkpoints).
    def __deepcopy__(self, memo: dict[int, Any]) -> Trace:
        return self


def event_json(event: TraceEvent) -> str:
    """One JSON line for ``event``; stable across runs (no sorting, no floats drift)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def write_jsonl(
    events: Iterable[TraceEvent], stream: IO[str], header: TraceEvent | None = None
) -> int:
    """Write ``events`` as JSON lines (with an optional first ``header`` line)."""
    count = 0
    if header is not None:
        stream.write(event_json(header) + "\n")
    for event in events:
        stream.write(event_json(event) + "\n")
        count += 1
    return count


def is_notable(event: TraceEvent) -> bool:
    """Whether an event is a state change worth stopping on (not routine traffic)."""
    return event["kind"] not in ROUTINE_KINDS
