"""A small discrete-event kernel: millisecond clock, FIFO ties, seeded sub-streams.

In the spirit of SimPy's core, without processes or generators: Redis's cluster logic
is timers and message handlers, so plain callbacks are simpler and faster. The queue
is a calendar: a heap of the *distinct* pending times, each with a FIFO deque of its
events. A simulated cluster schedules many events in the same millisecond (every
node's cron, every message on loopback), so most schedules are a dict lookup and an
append instead of a heap push, and ties run in scheduling order by construction.

The cluster bus lives on whole milliseconds. The data plane needs finer order inside
one: a client issues a command every 35 µs while redis-cli's MIGRATE blocks the source
for 130 µs (§16.2), and which of them comes first decides whether the client sees
``ASK``. So an event may be scheduled at a fractional time (:meth:`Engine.schedule_at`
with a float); it runs after the whole-millisecond events of that millisecond and in
time order with the other fractional ones. ``now`` stays the whole millisecond (what
traces and the bus read); ``instant`` is the exact time, and delays scheduled from a
fractional event keep its fraction.

Callbacks must be bound methods or module-level functions with explicit ``args``
(never closures), so that :func:`copy.deepcopy` of a simulation yields an
independent copy whose pending events point at the copied objects (checkpoints).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import random
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any, Final, ParamSpec

from simulator.native import mypyc_attr

Callback = Callable[..., Any]
Time = int | float
"""A simulated time: a whole millisecond is an ``int``, a fraction a ``float``. Not plain
``float``: mypyc (``make fast``) stores a ``float``-typed value as a C double, so a whole
millisecond would come back as ``5.0`` and print differently."""
_P = ParamSpec("_P")

# run_until(t) is run_events(t, _NO_LIMIT): more events than any run holds, and a small
# int (a machine word in the compiled build).
_NO_LIMIT: Final = 2**60


FREEZE_MIN_OBJECTS = 200_000
"""A build that leaves at least this many new objects (a cluster of ~200 nodes) is
frozen out of the collector's full passes (see :func:`without_gc`)."""


def without_gc(build: Callable[_P, None]) -> Callable[_P, None]:
    """Run ``build`` with Python's cyclic garbage collector paused, and keep a big
    result out of the collector's full passes.

    Building a big cluster allocates millions of long-lived objects (a 300-node
    cluster's 90,000 peer views and 180,000 sockets) and nothing to collect; every
    700 allocations the collector would look at the young ones, and each full pass
    at all of them, which took half of the build's CPU time. Reference counting
    still frees what dies; cycles are collected once the collector runs again.

    When the build left at least :data:`FREEZE_MIN_OBJECTS` objects, they are frozen
    (``gc.freeze``): a full pass over a 300-node cluster's objects costs ~0.25 s of CPU
    and came every few simulated seconds (~15 % of an idle run). Frozen objects are
    never collected, so any build after a big one first unfreezes everything and
    collects: what the earlier runs left (their clusters, if nothing holds them any
    more) is freed then, and a process that builds big clusters one after another
    keeps at most the last one frozen. Nothing is frozen while the collector is off
    or after a small build (tests build thousands of small clusters)."""

    @functools.wraps(build)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> None:
        enabled = gc.isenabled()
        if enabled and gc.get_freeze_count():
            gc.unfreeze()  # an earlier big build may be garbage by now
            gc.collect()
        gc.disable()
        before = gc.get_count()[0]
        try:
            build(*args, **kwargs)
        finally:
            if enabled:
                if gc.get_count()[0] - before >= FREEZE_MIN_OBJECTS:
                    gc.freeze()
                gc.enable()

    return paused


@mypyc_attr(allow_interpreted_subclasses=True)
class Timer:
    """A scheduled event; :meth:`cancel` it to drop it without running."""

    __slots__ = ("args", "callback", "cancelled", "time")

    def __init__(self, time: Time, callback: Callback, args: tuple[Any, ...]) -> None:
        self.time = time
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        name = getattr(self.callback, "__qualname__", repr(self.callback))
        state = " cancelled" if self.cancelled else ""
        return f"<Timer t={self.time} {name}{state}>"


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for the sub-stream ``name``; independent of every other name."""
    digest = hashlib.sha256(f"rcsim:{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Engine:
    """The event loop. ``now`` is simulated time in whole milliseconds, ``instant`` the
    exact time of the running event (the same unless it was scheduled at a fraction)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.now = 0
        self.instant: Time = 0
        self.events_run = 0
        self._times: list[Time] = []  # heap of distinct pending times
        self._buckets: dict[Time, deque[Timer]] = {}  # time -> its events, FIFO
        self._streams: dict[str, random.Random] = {}

    # ------------------------------------------------------------------ randomness

    def rng(self, name: str) -> random.Random:
        """The random stream called ``name`` (e.g. a node's name), derived from the seed.

        Adding a stream never changes the values another stream produces.
        """
        stream = self._streams.get(name)
        if stream is None:
            stream = random.Random(derive_seed(self.seed, name))
            self._streams[name] = stream
        return stream

    # ------------------------------------------------------------------ scheduling

    def schedule(self, delay_ms: int, callback: Callback, *args: Any) -> Timer:
        """Run ``callback(*args)`` ``delay_ms`` (whole ms) from now, FIFO among equal times."""
        if delay_ms.__class__ is not int:
            delay_ms = int(delay_ms)  # whole ms only: fractions come from schedule_at
        if delay_ms < 0:
            raise ValueError(f"cannot schedule in the past (delay {delay_ms} ms)")
        time_ms = self.instant + delay_ms
        timer = Timer(time_ms, callback, args)
        try:  # _insert, inlined: this is the hottest call of a simulation
            self._buckets[time_ms].append(timer)
        except KeyError:
            self._buckets[time_ms] = deque((timer,))
            heappush(self._times, time_ms)
        return timer

    def schedule_at(self, time_ms: Time, callback: Callback, *args: Any) -> Timer:
        """Run ``callback(*args)`` at absolute time ``time_ms``, which may be fractional.

        A time earlier than :attr:`instant` but inside the current millisecond means
        "as soon as possible" (callers often compute whole-ms times from ``now``)."""
        if time_ms < self.now:
            raise ValueError(f"cannot schedule at {time_ms} ms, now is {self.now} ms")
        time_ms = max(time_ms, self.instant)
        if time_ms == int(time_ms):
            time_ms = int(time_ms)  # one bucket per millisecond, whatever the number type
        timer = Timer(time_ms, callback, args)
        self._insert(time_ms, timer)
        return timer

    def schedule_first(self, time_ms: int, callback: Callback, *args: Any) -> Timer:
        """Run ``callback(*args)`` at the *start* of millisecond ``time_ms`` (after ``now``):
        before every event already queued for it. This is where the TUI injects (at a
        clean millisecond boundary), so a saved injection replays in the same place."""
        if time_ms < self.now or (time_ms == self.now and self.events_run):
            raise ValueError(f"cannot schedule at the start of {time_ms} ms, now is {self.now} ms")
        timer = Timer(time_ms, callback, args)
        bucket = self._buckets.get(time_ms)
        if bucket is None:
            self._buckets[time_ms] = deque((timer,))
            heappush(self._times, time_ms)
        else:
            bucket.appendleft(timer)
        return timer

    def _insert(self, time_ms: Time, timer: Timer) -> None:
        """Queue ``timer`` at ``time_ms``, after the events already there."""
        try:
            self._buckets[time_ms].append(timer)
        except KeyError:  # the first event at this time: a new bucket, a new heap entry
            self._buckets[time_ms] = deque((timer,))
            heappush(self._times, time_ms)

    @staticmethod
    def cancel(timer: Timer | None) -> None:
        """Cancel ``timer`` if it is pending; ``None`` is accepted and ignored."""
        if timer is not None:
            timer.cancelled = True

    # ------------------------------------------------------------------ running

    def peek(self) -> Time | None:
        """Time of the next pending (non-cancelled) event, or ``None`` if there is none."""
        times = self._times
        buckets = self._buckets
        while times:
            bucket = buckets[times[0]]
            while bucket and bucket[0].cancelled:
                bucket.popleft()
            if bucket:
                return times[0]
            del buckets[heappop(times)]
        return None

    def next_timer(self) -> Timer | None:
        """The next pending (non-cancelled) event, left in the queue (for a UI's "what
        runs next"); ``None`` if there is none."""
        if self.peek() is None:
            return None
        return self._buckets[self._times[0]][0]

    def advance_clock(self, time_ms: int) -> None:
        """Move ``now`` forward to ``time_ms`` without running events (none may be due before it)."""
        next_time = self.peek()
        if time_ms < self.now or (next_time is not None and next_time < time_ms):
            raise ValueError(f"cannot advance the clock to {time_ms} ms past pending events")
        self.now = self.instant = time_ms

    def pending(self) -> int:
        """How many events are queued (cancelled ones included until skipped)."""
        return sum(len(bucket) for bucket in self._buckets.values())

    def step(self) -> bool:
        """Run one event. Returns ``False`` when there was nothing to run."""
        if self.peek() is None:
            return False
        time = self._times[0]
        timer = self._buckets[time].popleft()
        self.instant = time
        self.now = int(time)
        self.events_run += 1
        timer.callback(*timer.args)
        return True

    def run_until(self, until: int | Callable[[], bool], limit_ms: int | None = None) -> bool:
        """Advance simulated time.

        ``run_until(t)`` runs every event at or before ``t`` and leaves ``now == t``;
        it returns ``True``. ``run_until(predicate, limit_ms)`` runs events until
        ``predicate()`` holds (checked before the first event and after each one) and
        returns ``True``, or stops at ``limit_ms`` (absolute) and returns ``False``.
        """
        if callable(until):
            return self._run_until_predicate(until, limit_ms)
        return self._run_until_time(int(until))

    def _run_until_time(self, until: int) -> bool:
        return self.run_events(until, _NO_LIMIT)

    def run_events(self, until: int, limit: int) -> bool:
        """:meth:`run_until` ``(until)`` but at most ``limit`` events: ``True`` when every
        event at or before ``until`` ran (``now == until``), ``False`` when it stopped after
        ``limit`` of them, perhaps inside a millisecond (a caller with a deadline reads
        the clock between two calls: one millisecond of a 1,000-node cluster can hold
        20,000 events, seconds of CPU, issue 12).

        The one loop that runs events up to a time: :meth:`run_until` ``(t)`` is this
        with no limit (one int comparison per event, against microseconds of callback)."""
        if until < self.now:
            raise ValueError(f"cannot run back to {until} ms, now is {self.now} ms")
        times = self._times
        buckets = self._buckets
        run = 0
        while times and times[0] <= until:
            time = times[0]
            bucket = buckets[time]
            self.instant = time
            self.now = int(time)
            popleft = bucket.popleft
            while bucket:
                if run >= limit:
                    self.events_run += run
                    return False
                timer = popleft()
                if timer.cancelled:
                    continue
                run += 1
                timer.callback(*timer.args)
            heappop(times)
            del buckets[time]
        self.events_run += run
        self.now = self.instant = until
        return True

    def _run_until_predicate(self, predicate: Callable[[], bool], limit_ms: int | None) -> bool:
        if predicate():
            return True
        while True:
            next_time = self.peek()
            if next_time is None or (limit_ms is not None and next_time > limit_ms):
                if limit_ms is not None and limit_ms > self.now:
                    self.now = self.instant = limit_ms
                return False
            self.step()
            if predicate():
                return True
