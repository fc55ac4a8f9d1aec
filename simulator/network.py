"""The network between endpoints (nodes and clients): directed reachability, latency, loss.

A packet from A to B gets through iff A→B is connected, when it is sent and when it
arrives; packets from A to B arrive in order. Partitions are groups; one-way cuts block
one direction only (behaviour reference §23 item 12). What TCP does on top of that
(retransmitting what a cut or a loss held back, refusing a connect to a dead process)
is the bus links' model, :mod:`simulator.links`, which asks this module per packet.

Simplification: latencies are integer milliseconds (the engine's unit); a range below
1 ms, like real loopback, rounds to 0 ms and ordering is kept by the engine's FIFO.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import networkx as nx

from simulator.native import mypyc_attr


@mypyc_attr(allow_interpreted_subclasses=True)
class Network:
    """Who can reach whom, and how long a message takes."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._group: dict[str, int] = {}  # endpoint -> partition group (absent: reaches all)
        self._cuts: dict[tuple[str, str], None] = {}  # ordered set of blocked (src, dst)
        self.latency_ms: tuple[float, float] = (0.0, 0.0)
        self.loss: float = 0.0
        self._last_arrival: dict[tuple[str, str], int] = {}
        self._latest_arrival = 0  # the latest arrival ever remembered in _last_arrival

    # ------------------------------------------------------------------ faults

    def partition(self, groups: Iterable[Iterable[str]]) -> None:
        """Split into groups that cannot reach each other; unnamed endpoints reach everyone."""
        self._group = {}
        for index, group in enumerate(groups):
            for name in group:
                self._group[name] = index

    def cut(self, sources: Iterable[str], targets: Iterable[str]) -> None:
        """One-way cut: ``sources`` can no longer reach ``targets`` (the reverse still works)."""
        for src in sources:
            for dst in targets:
                if src != dst:
                    self._cuts[(src, dst)] = None

    def heal(self, groups: Iterable[Iterable[str]] | None = None) -> None:
        """Heal everything, or only the links among the named endpoints."""
        if groups is None:
            self._group = {}
            self._cuts = {}
            return
        for group in groups:
            names = list(group)
            # Endpoints named together rejoin each other: move them into one group.
            known = [self._group[n] for n in names if n in self._group]
            if known:
                target = min(known)
                for name in names:
                    if name in self._group:
                        self._group[name] = target
            for src in names:
                for dst in names:
                    self._cuts.pop((src, dst), None)
        if len(set(self._group.values())) <= 1:
            self._group = {}

    @property
    def is_partitioned(self) -> bool:
        return bool(self._group) or bool(self._cuts)

    # ------------------------------------------------------------------ queries

    def reachable(self, src: str, dst: str) -> bool:
        """Whether a packet from ``src`` would reach ``dst`` now."""
        if self._group:
            a = self._group.get(src)
            b = self._group.get(dst)
            if a is not None and b is not None and a != b:
                return False
        return not (self._cuts and (src, dst) in self._cuts)

    def delay(self, src: str, dst: str, now: int) -> int | None:
        """Arrival delay for a packet sent now, or ``None`` if it is lost."""
        if self.loss and self._rng.random() < self.loss:
            return None
        low, high = self.latency_ms
        # random.uniform(low, high), inlined (the same expression, so the same float):
        # every SYN and its answer draw here, two per connect, most of them refused.
        latency = round(low if low == high else low + (high - low) * self._rng.random())
        if latency == 0 and now >= self._latest_arrival:
            # Nothing remembered arrives after now, and whatever is sent later arrives
            # at its own send time or after: already in order, nothing to remember. (The
            # default, no latency: without this every bus packet made a fresh key tuple,
            # which re-tracked the N(N-1)-entry dict for the collector; the TUI's heap
            # settle then walked all of it, ~30 ms at 1,000 nodes, tui/heap.py.)
            return 0
        arrival = now + latency
        key = (src, dst)
        last = self._last_arrival.get(key, 0)
        if arrival < last:
            arrival = last  # in order on one connection
        self._last_arrival[key] = arrival
        if arrival > self._latest_arrival:
            self._latest_arrival = arrival
        return arrival - now

    def graph(self, endpoints: Iterable[str]) -> nx.DiGraph:
        """The directed reachability graph among ``endpoints``."""
        names = list(endpoints)
        graph = nx.DiGraph()
        graph.add_nodes_from(names)
        graph.add_edges_from(
            (a, b) for a in names for b in names if a != b and self.reachable(a, b)
        )
        return graph

    def describe(self) -> dict[str, object]:
        groups: dict[int, list[str]] = {}
        for name, index in self._group.items():
            groups.setdefault(index, []).append(name)
        return {
            "groups": [groups[k] for k in sorted(groups)],
            "cuts": [list(pair) for pair in self._cuts],
        }
