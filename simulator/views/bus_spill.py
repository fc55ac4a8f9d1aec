"""Bounded memory for a long session's bus messages: old heartbeats spilled to disk.

The TUI traces every bus packet (``bus_message``, simulator/bus_trace.py) for its message
view. A 1,000-node cluster with the TUI's NT of 2 s carries over a million packets per
simulated second, most of them PING/PONG with ~100 gossip entries each: kept as trace
events, a session grew by gigabytes per simulated second and passed 10 GB while it
played (issue 12), while a headless ``rcsim run`` of the same cluster (no bus trace)
stayed near 1.2 GiB.

The message view never reads most of them: a window (simulator/views/bus.py) looks at
the newest :data:`~simulator.views.bus.SCAN_LIMIT` messages and the newest
``SCAN_LIMIT`` notable ones (not plain heartbeats), and counts the rest by their times.
:class:`BusSpill` moves every PING/PONG older than both (the newest :data:`KEEP` bus
messages, and for one carrying a PFAIL report the newest :data:`KEEP` notable ones) out
of memory: the event is written to an anonymous temporary file (``marshal``, ``zlib``,
:data:`CHUNK` events at a time) and its place in the trace taken by a *stub*, one dict
shared by every spilled heartbeat of the same millisecond and type, holding ``t``,
``kind``, ``type``, the gossip entries that flag a node PFAIL or FAIL (a report's, the
only part of a heartbeat the message view's index reads) and ``spilled``. What reads the
trace by kind and time (the log, the timeline, the flag and election folds, the message
view's index and counts) reads the same; an evicted heartbeat costs one list slot in the
trace and the message view's three array entries. :meth:`BusSpill.events` gives the
trace back whole, byte for byte (the TUI's export, ``J``); a rewind cuts the spill with
the trace (the message view's index notices the cut and says where, ``BusLog.cut_to``).

The stubs replace trace events in place, so the folds that remember the last event they
read (to notice a rewind by its identity) are fed up to the newest event first
(:meth:`simulator.views.accessor.Views.spill_bus`); the newest events are never spilled.
"""

from __future__ import annotations

import marshal
import tempfile
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from typing import IO

from simulator.trace import TraceEvent
from simulator.views.bus import HEARTBEAT_TYPES, SCAN_LIMIT, BusLog

KEEP = 2 * SCAN_LIMIT
"""Bus messages kept whole: the newest ``KEEP`` of all, and the newest ``KEEP`` notable ones
(PFAIL reports among them); a message view's window reads at most ``SCAN_LIMIT`` of each."""
CHUNK = 256
"""Spilled events written (and compressed) together: ``marshal`` and ``zlib`` cost about
10 µs a 300-node heartbeat, so a chunk is ~2.5 ms of the fold that fills it (2,000 made
one of ~20 ms; zlib's window is 32 KB, so the smaller chunks compress as well)."""
EVERY = 20_000
"""Trace events appended between two looks for heartbeats to spill (the message index
the look reads is fed at every fold: :meth:`simulator.views.accessor.Views.spill_bus`)."""
STEP = 128
"""Heartbeats one look spills at most, besides as many as the trace grew since the last
look when that one was behind (so the backlog never grows, and shrinks by ``STEP`` a
look). A look costs about 30 µs a 300-node heartbeat (its stub's scan of the gossip,
``marshal``, ``zlib``): 2,000 a look (the earlier step) was 20–36 ms after every
4 ms slice of a 300-node TUI while behind, what a key and a frame waited for (issue 12);
128 is ~4 ms, about a slice."""
STEP_ENTRIES = 4_000
"""Gossip entries one look spills at most (besides the trace's growth, as for
:data:`STEP`): a heartbeat costs about its gossip section, ~30 entries at 300 nodes but
~100 at 1,000, so a look spills about the same work at any size (~4 ms)."""
STUB = "spilled"


def is_stub(event: TraceEvent) -> bool:
    """A spilled heartbeat's stand-in (only ``t``, ``kind``, ``type`` and its reports)."""
    return event.get(STUB) is True


class _Stream:
    """Spilled events in trace order, with their trace indexes: chunks in a file, the
    newest in a buffer."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._chunks: list[tuple[int, int, int, int]] = []  # (first index, offset, size, n)
        self._buffer: list[tuple[int, TraceEvent]] = []
        self._end = 0  # the file's used length
        self.count = 0

    def add(self, index: int, event: TraceEvent) -> None:
        self._buffer.append((index, event))
        self.count += 1
        if len(self._buffer) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="rcsim-bus-")  # noqa: SIM115 (owned)
        data = zlib.compress(marshal.dumps(self._buffer), 1)
        self._file.seek(self._end)
        self._file.write(data)
        self._chunks.append((self._buffer[0][0], self._end, len(data), len(self._buffer)))
        self._end += len(data)
        self._buffer = []

    def _load(self, offset: int, size: int) -> list[tuple[int, TraceEvent]]:
        assert self._file is not None
        self._file.seek(offset)
        loaded: list[tuple[int, TraceEvent]] = marshal.loads(zlib.decompress(self._file.read(size)))
        return loaded

    def entries(self) -> Iterator[tuple[int, TraceEvent]]:
        for _, offset, size, _ in list(self._chunks):
            yield from self._load(offset, size)
        yield from list(self._buffer)

    def truncate(self, length: int) -> None:
        """Forget the events at trace index ``length`` and later (the trace was cut there)."""
        self._buffer = [entry for entry in self._buffer if entry[0] < length]
        while self._chunks and self._chunks[-1][0] >= length:  # wholly after the cut
            _, self._end, _, _ = self._chunks.pop()
        if not self._buffer and self._chunks:  # the newest chunk may straddle it
            _, offset, size, _ = self._chunks.pop()
            self._buffer = [entry for entry in self._load(offset, size) if entry[0] < length]
            self._end = offset
        if self._file is not None:
            self._file.truncate(self._end)
        self.count = sum(chunk[3] for chunk in self._chunks) + len(self._buffer)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._chunks, self._buffer, self._end, self.count = [], [], 0, 0


class BusSpill:
    """The heartbeats a :class:`BusLog` indexed, spilled once they are old enough."""

    def __init__(
        self, keep: int = KEEP, every: int = EVERY, step: int = STEP, entries: int = STEP_ENTRIES
    ) -> None:
        if keep < SCAN_LIMIT:
            raise ValueError(f"keep must be at least SCAN_LIMIT ({SCAN_LIMIT}), not {keep}")
        self.keep = keep
        self.every = every  # trace events appended between two looks (Views.spill_bus)
        self.step = step  # heartbeats one look spills at most
        self.entries = entries  # ... and gossip entries
        self._budget = 0  # gossip entries the current look may still spill
        self.behind = False  # the last look stopped at ``step``: look again at the next fold
        self._plain = _Stream()  # heartbeats without a PFAIL report, in trace order
        self._reports = _Stream()  # heartbeats with one, in trace order
        self._plain_k = 0  # BusLog entries below it were looked at for plain heartbeats
        self._notable_i = 0  # BusLog.notable entries below it were looked at
        self._stub_t = -1
        self._stubs: dict[tuple[str, tuple[tuple[str, str], ...]], TraceEvent] = {}
        self.checked = 0  # the trace's length at the last look (Views.spill_bus)

    @property
    def spilled(self) -> int:
        return self._plain.count + self._reports.count

    def _stub(self, event: TraceEvent) -> TraceEvent:
        t = event["t"]
        if t != self._stub_t:  # the trace is in time order: keep one millisecond's stubs
            self._stub_t = t
            self._stubs = {}
        reports = tuple(
            (str(name), str(flags)) for name, flags in event.get("gossip", ()) if "fail" in flags
        )
        key = (str(event["type"]), reports)
        stub = self._stubs.get(key)
        if stub is None:
            stub = {"t": t, "kind": event["kind"], "type": key[0]}
            if reports:
                stub["gossip"] = [list(entry) for entry in reports]
            stub[STUB] = True
            self._stubs[key] = stub
        return stub

    def follow_cut(self, log: BusLog) -> None:
        """Forget what a rewind cut from the trace (``log`` noticed it: ``cut_to``)."""
        if log.cut_to is not None:
            self._plain.truncate(log.cut_to)
            self._reports.truncate(log.cut_to)
            self._plain_k = min(self._plain_k, len(log.positions))
            self._notable_i = min(self._notable_i, len(log.notable))
            log.cut_to = None

    def compact(self, log: BusLog, events: list[TraceEvent]) -> int:
        """Spill what ``log`` (fed up to the end of ``events``) indexed and is old enough,
        at most ``step`` heartbeats holding ``entries`` gossip entries, and as many
        heartbeats more as the trace grew since the last look if that one was ``behind``
        too (so the backlog never grows); ``behind`` says whether more are due. Returns
        how many it spilled."""
        self.follow_cut(log)
        # Behind: as many as the trace grew since the last look (never further), and
        # ``step`` more (or ``entries``' worth): the backlog shrinks a little every look.
        grew = len(events) - self.checked if self.behind else 0
        self.checked = len(events)
        before = self.spilled
        limit = before + self.step + grew
        self._budget = self.entries
        floor = before + grew  # spilled whatever the entries say (the backlog's growth)
        positions, objects, notable = log.positions, log.objects, log.notable
        # plain heartbeats: older than the newest ``keep`` messages
        stop = len(positions) - self.keep
        k = self._plain_k
        i = bisect_left(notable, k)
        while k < stop and self.spilled < limit and (self._budget > 0 or self.spilled < floor):
            if i < len(notable) and notable[i] == k:
                i += 1  # notable: below
            else:
                self._spill(self._plain, positions[k], k, objects, events)
            k += 1
        self._plain_k = max(k, self._plain_k)
        self.behind = k < stop
        # heartbeats with a report: older than the newest ``keep`` notable messages
        stop = len(notable) - self.keep
        i = self._notable_i
        while i < stop and self.spilled < limit and (self._budget > 0 or self.spilled < floor):
            k = notable[i]
            if objects[k]["type"] in HEARTBEAT_TYPES:
                self._spill(self._reports, positions[k], k, objects, events)
            i += 1
        self._notable_i = max(i, self._notable_i)
        self.behind = self.behind or i < stop
        return self.spilled - before

    def _spill(
        self,
        stream: _Stream,
        index: int,
        k: int,
        objects: list[TraceEvent],
        events: list[TraceEvent],
    ) -> None:
        event = events[index]
        if is_stub(event):
            return
        stream.add(index, event)
        self._budget -= len(event.get("gossip", ()))
        stub = self._stub(event)
        events[index] = stub
        objects[k] = stub

    def events(self, events: list[TraceEvent]) -> Iterator[TraceEvent]:
        """``events`` (the trace) whole: each stub replaced by the event it stands for."""
        plain, reports = self._plain.entries(), self._reports.entries()
        next_plain, next_report = next(plain, None), next(reports, None)
        for index, event in enumerate(events):
            if not is_stub(event):
                yield event
            elif next_plain is not None and next_plain[0] == index:
                yield next_plain[1]
                next_plain = next(plain, None)
            elif next_report is not None and next_report[0] == index:
                yield next_report[1]
                next_report = next(reports, None)
            else:
                raise RuntimeError(f"the spilled bus message at trace index {index} is missing")

    def close(self) -> None:
        self._plain.close()
        self._reports.close()
