"""The bus messages around a moment, for a time-space diagram (the TUI's message view).

Read from the ``bus_message`` trace events (simulator/bus_trace.py; on in the TUI,
off by default headless). :class:`BusLog` indexes them incrementally as the trace
grows and keeps its prefix across a rewind; :func:`window` answers a
:class:`MessageQuery` (types, one node, how much heartbeat traffic) with the newest
rows at or before a moment, a broadcast (one packet to many receivers) folded into one
row.

A *heartbeat* is a PING or PONG whose gossip carries no PFAIL flag; one whose gossip
carries a ``fail?`` (PFAIL) flag is a *report* (§7-§8): the failure reports a majority
of masters must make before one marks the node FAIL, so it is kept when heartbeats
are thinned. (Entries flagged ``fail`` keep travelling in gossip as long as the node
stays failed; those are steady traffic.)
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

from simulator.trace import TraceEvent
from simulator.views.scan import positions_of

BUS_MESSAGE = "bus_message"
_TIME = itemgetter("t")
HEARTBEAT_TYPES = frozenset(("PING", "PONG"))
TYPE_ORDER = (
    "PING",
    "PONG",
    "MEET",
    "FAIL",
    "PUBLISH",
    "AUTH_REQUEST",
    "AUTH_ACK",
    "UPDATE",
    "MFSTART",
    "PUBLISHSHARD",
)
Heartbeats = Literal["hide", "reports", "all"]
"""``hide``: no PING/PONG at all; ``reports``: only those carrying PFAIL flags
(the default); ``all``: every one."""

SCAN_LIMIT = 20_000
"""At most this many messages are looked at per window (the newest first): at 100 nodes
the bus carries ~2,500 packets per simulated second, and a frame must stay cheap."""


@dataclass(frozen=True, slots=True)
class GossipRow:
    """One gossip entry: the node it is about and its flags as CLUSTER NODES prints them."""

    name: str
    flags: str

    @property
    def failing(self) -> bool:
        """A PFAIL (``fail?``) or FAIL report about ``name``."""
        return "fail" in self.flags


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One diagram row: a packet, or one broadcast to several receivers at once."""

    sent: int
    t: int  # arrival (the newest arrival of a broadcast)
    src: str
    dsts: tuple[str, ...]
    type: str
    epoch: int
    about: str | None
    gossip: tuple[GossipRow, ...]
    channel: str = ""
    about_epoch: int | None = None

    @property
    def reports(self) -> tuple[str, ...]:
        """The nodes its gossip flags as failing (PFAIL or FAIL)."""
        return tuple(g.name for g in self.gossip if g.failing)

    @property
    def flight_ms(self) -> int:
        return self.t - self.sent

    def summary(self) -> str:
        """A few words: the type and what it is about (epoch, subject, PFAIL reports)."""
        kind = self.type
        if kind in ("FAIL", "UPDATE") and self.about:
            return f"{kind} {self.about}"
        if kind in ("AUTH_REQUEST", "AUTH_ACK"):
            return f"{kind} epoch {self.epoch}"
        if kind in ("PUBLISH", "PUBLISHSHARD") and self.channel:
            return f"{kind} {self.channel}"
        reports = self.reports
        if reports:
            flags = {g.name: g.flags for g in self.gossip}
            return f"{kind} " + " ".join(
                f"{name}:{'FAIL' if 'fail?' not in flags[name] else 'PFAIL'}" for name in reports
            )
        return kind


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """What the message view asks for: the ``rows`` newest rows at or before ``until``."""

    until: int
    rows: int
    types: frozenset[str] | None = None  # None: every type
    node: str | None = None  # sender, receiver, subject or reported in gossip
    heartbeats: Heartbeats = "reports"


@dataclass(frozen=True, slots=True)
class MessageWindow:
    """The rows (oldest first), and how many messages the heartbeat setting hid."""

    query: MessageQuery
    rows: tuple[BusMessage, ...]
    hidden: int
    total: int  # bus messages traced up to ``until``
    traced: bool  # whether any bus_message was ever seen (off: the view says how to turn it on)


class BusLog:
    """An index of the trace's ``bus_message`` events: their trace positions and arrival
    times, and the positions of the non-heartbeat ones. Incremental; after a rewind it
    keeps the prefix still in the trace and folds what follows. Numbers are in arrays
    (8 bytes each: a 1,000-node bus carries over a million packets per simulated
    second; old heartbeats are spilled to disk, simulator/views/bus_spill.py)."""

    def __init__(self) -> None:
        self.seen = 0  # trace events folded
        self.tail: TraceEvent | None = None  # events[seen - 1], to notice a rewind
        self.positions: array[int] = array("q")  # trace index of each bus_message
        self.objects: list[TraceEvent] = []  # the events themselves (to notice a rewind)
        self.times: array[int] = array("q")  # arrival of each
        self.notable: array[int] = array("q")  # indexes into the above: not plain heartbeats
        self.cut_to: int | None = None  # the lowest trace length a rewind cut back to

    def feed(self, events: Sequence[TraceEvent]) -> None:
        seen = self.seen
        if seen and (len(events) < seen or events[seen - 1] is not self.tail):
            self._cut(events)  # rewound: the trace was cut below ``seen`` (and maybe regrown)
            seen = self.seen
        end = len(events)
        if end == seen:
            return
        # At 100 nodes ~18,000 messages per 100 ms of simulated time (the once-a-second
        # pings): the kind filtered at C speed (simulator/views/scan.py), each
        # heartbeat's gossip read in one plain loop.
        found = positions_of(events, seen, BUS_MESSAGE)
        if found:
            fresh = [events[index] for index in found]
            notable = self.notable
            for k, event in enumerate(fresh, len(self.positions)):
                if event["type"] not in HEARTBEAT_TYPES:
                    notable.append(k)
                    continue
                for _, flags in event.get("gossip", ()):
                    if "fail?" in flags:  # a PFAIL report (``fail?``)
                        notable.append(k)
                        break
            self.positions.extend(found)
            self.objects.extend(fresh)
            self.times.extend(map(_TIME, fresh))
        self.seen = end
        self.tail = events[-1]

    def _valid(self, k: int, events: Sequence[TraceEvent]) -> bool:
        index = self.positions[k]
        return index < len(events) and events[index] is self.objects[k]

    def _cut(self, events: Sequence[TraceEvent]) -> None:
        """Drop the entries a rewind replaced (validity is a prefix: binary search it)."""
        low, high = 0, len(self.positions)  # entries [0, low) valid, [high, ...) not
        while low < high:
            middle = (low + high) // 2
            if self._valid(middle, events):
                low = middle + 1
            else:
                high = middle
        del self.positions[low:], self.objects[low:], self.times[low:]
        del self.notable[bisect_left(self.notable, low) :]
        self.seen = self.positions[-1] + 1 if self.positions else 0
        self.cut_to = self.seen if self.cut_to is None else min(self.cut_to, self.seen)

    def window(self, query: MessageQuery) -> MessageWindow:
        end = bisect_right(self.times, query.until)
        rows: list[BusMessage] = []
        hidden = 0
        wanted = query.rows
        if query.heartbeats == "all":
            candidates: Sequence[int] = range(end - 1, max(-1, end - 1 - SCAN_LIMIT), -1)
        else:
            stop = bisect_right(self.notable, end - 1)
            candidates = self.notable[max(0, stop - SCAN_LIMIT) : stop][::-1]
        pending: list[TraceEvent] = []  # newest row so far, not yet closed (a broadcast)
        for k in candidates:
            event = self.objects[k]
            if not _matches(event, query):
                continue
            if pending and _same_packet(pending[0], event):
                pending.append(event)
                continue
            if pending:
                rows.append(_row(pending))
                if len(rows) == wanted:
                    pending = []
                    break
            pending = [event]
        if pending and len(rows) < wanted:
            rows.append(_row(pending))
        if query.heartbeats != "all" and rows:
            # plain heartbeats within the span shown (from the oldest row on)
            low = bisect_left(self.times, rows[-1].t)
            notable = bisect_left(self.notable, end) - bisect_left(self.notable, low)
            hidden = end - low - notable
        rows.reverse()
        return MessageWindow(query, tuple(rows), hidden, end, bool(self.positions))


def _matches(event: TraceEvent, query: MessageQuery) -> bool:
    if query.types is not None and event["type"] not in query.types:
        return False
    if query.heartbeats == "hide" and event["type"] in HEARTBEAT_TYPES:
        return False
    node = query.node
    if node is None:
        return True
    if node in (event["node"], event["target"], event.get("about")):
        return True
    return any(name == node and "fail" in flags for name, flags in event.get("gossip", ()))


def _same_packet(first: TraceEvent, other: TraceEvent) -> bool:
    """One broadcast: the same sender, type, send time and content, another receiver."""
    return (
        other["node"] == first["node"]
        and other["sent"] == first["sent"]
        and other["type"] == first["type"]
        and other.get("about") == first.get("about")
        and other["epoch"] == first["epoch"]
        and other.get("gossip") == first.get("gossip")
        and other["target"] != first["target"]
    )


def _row(events: list[TraceEvent]) -> BusMessage:
    """``events``: newest first, one packet to each receiver."""
    first = events[0]
    receivers = tuple(sorted({str(e["target"]) for e in events}, key=_natural))
    return BusMessage(
        sent=int(first["sent"]),
        t=max(int(e["t"]) for e in events),
        src=str(first["node"]),
        dsts=receivers,
        type=str(first["type"]),
        epoch=int(first["epoch"]),
        about=first.get("about"),
        gossip=tuple(GossipRow(str(n), str(f)) for n, f in first.get("gossip", ())),
        channel=str(first.get("channel", "")),
        about_epoch=first.get("about_epoch"),
    )


def _natural(name: str) -> tuple[int, str]:
    digits = name.lstrip("abcdefghijklmnopqrstuvwxyz")
    return (int(digits) if digits.isdigit() else 0, name)


__all__ = [
    "HEARTBEAT_TYPES",
    "TYPE_ORDER",
    "BusLog",
    "BusMessage",
    "GossipRow",
    "Heartbeats",
    "MessageQuery",
    "MessageWindow",
]
