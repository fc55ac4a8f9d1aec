"""Trace listeners: one may unsubscribe itself while an event is being emitted."""

from __future__ import annotations

from simulator.trace import Trace, TraceEvent


def test_a_listener_unsubscribing_itself_does_not_make_the_next_one_miss_the_event() -> None:
    trace = Trace()
    heard: list[tuple[str, str]] = []

    def once(event: TraceEvent) -> None:
        heard.append(("once", event["kind"]))
        trace.unsubscribe(once)

    def always(event: TraceEvent) -> None:
        heard.append(("always", event["kind"]))

    trace.subscribe(once)
    trace.subscribe(always)
    trace.emit(1, "crash", "n1")
    trace.emit(2, "restart", "n1")
    assert heard == [("once", "crash"), ("always", "crash"), ("always", "restart")]
