"""The bus traffic a node has sent since the start (``NodeView.bus``): messages and
bytes by message type, as :mod:`simulator.bus_stats` counts them."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.bus_stats import TYPE_NAMES, BusStats


@dataclass(frozen=True, slots=True)
class BusTypeRow:
    """One message type: how many were sent, and their bytes on the wire."""

    type: str  # PING, PONG, MEET, FAIL, ...
    sent: int
    bytes: int


@dataclass(frozen=True, slots=True)
class BusView:
    """What one node sent on the bus over ``seconds`` of simulated time (the whole run so
    far, across its restarts); ``rows`` has the types it sent, in message-type order."""

    seconds: float
    rows: tuple[BusTypeRow, ...]

    @property
    def sent(self) -> int:
        return sum(row.sent for row in self.rows)

    @property
    def bytes(self) -> int:
        return sum(row.bytes for row in self.rows)

    def per_s(self, value: int) -> float:
        """``value`` spread over the view's time (0 at time 0)."""
        return value / self.seconds if self.seconds > 0 else 0.0


def bus_view(stats: BusStats, index: int, now_ms: int) -> BusView:
    """The node with global ``index``'s counters at ``now_ms``."""
    traffic = stats.node(index)
    rows = tuple(
        BusTypeRow(name, sent, size)
        for name, sent, size in zip(TYPE_NAMES, traffic.sent, traffic.bytes, strict=True)
        if sent
    )
    return BusView(now_ms / 1000, rows)
