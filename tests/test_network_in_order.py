"""Network.delay keeps one connection's packets in order and remembers nothing it does
not need to: with no latency (the default) a packet arrives when it is sent, so the
per-pair memory stays empty (it was an N(N-1)-entry dict the TUI's heap settle walked
on every call, tui/heap.py)."""

from __future__ import annotations

import gc
import random

from simulator.network import Network


def test_no_latency_remembers_nothing_and_delivers_at_once() -> None:
    network = Network(random.Random(1))
    for now in range(0, 50, 5):
        assert network.delay("n1", "n2", now) == 0
        assert network.delay("n2", "n1", now) == 0
    assert network._last_arrival == {}
    assert not gc.is_tracked(network._last_arrival)


def test_random_latency_keeps_each_connection_in_order() -> None:
    network = Network(random.Random(7))
    network.latency_ms = (0.0, 40.0)
    delays = [(now, network.delay("n1", "n2", now)) for now in range(0, 200, 3)]
    arrivals = [now + (delay or 0) for now, delay in delays]
    assert arrivals == sorted(arrivals)
    assert max(delay or 0 for _, delay in delays) > 3  # packets were in flight together


def test_dropping_to_no_latency_still_waits_for_what_is_in_flight() -> None:
    """A packet sent after the latency falls to zero must not overtake one sent before
    it on the same connection (the shortcut only applies once nothing is in flight)."""
    network = Network(random.Random(3))
    network.latency_ms = (30.0, 30.0)
    assert network.delay("n1", "n2", 100) == 30  # arrives at 130
    network.latency_ms = (0.0, 0.0)
    assert network.delay("n1", "n2", 110) == 20  # held to 130, behind the first
    assert network.delay("n3", "n4", 110) == 0  # another connection: nothing in flight
    assert network.delay("n1", "n2", 131) == 0  # the first has arrived
