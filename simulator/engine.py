"""A small discrete-event kernel: integer milliseconds, FIFO ties, seeded sub-streams.

In the spirit of SimPy's core (a heap of ``(time, sequence, action)``), without
processes or generators: Redis's cluster logic is timers and message handlers, so
plain callbacks are both simpler and several times faster.

Callbacks must be bound methods or module-level functions with explicit ``args``
(never closures), so that :func:`copy.deepcopy` of a simulation yields an
independent copy whose pending events point at the copied objects (checkpoints).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

Callback = Callable[..., Any]


class Timer:
    """A scheduled event; :meth:`cancel` it to drop it without running."""

    __slots__ = ("args", "callback", "cancelled", "time")

    def __init__(self, time: int, callback: Callback, args: tuple[Any, ...]) -> None:
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
    """The event loop. ``now`` is simulated time in integer milliseconds."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.now = 0
        self.events_run = 0
        # Entries are (time, sequence, callback, args, timer): the loop calls straight from
        # the tuple and reads the Timer only for its ``cancelled`` flag (bench_engine).
        self._queue: list[tuple[int, int, Callback, tuple[Any, ...], Timer]] = []
        self._sequence = 0
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
        """Run ``callback(*args)`` ``delay_ms`` from now (FIFO among equal times)."""
        if delay_ms < 0:
            raise ValueError(f"cannot schedule in the past (delay {delay_ms} ms)")
        time_ms = self.now + int(delay_ms)
        timer = Timer(time_ms, callback, args)
        self._sequence = sequence = self._sequence + 1
        heappush(self._queue, (time_ms, sequence, callback, args, timer))
        return timer

    def schedule_at(self, time_ms: int, callback: Callback, *args: Any) -> Timer:
        """Run ``callback(*args)`` at absolute time ``time_ms``."""
        if time_ms < self.now:
            raise ValueError(f"cannot schedule at {time_ms} ms, now is {self.now} ms")
        timer = Timer(time_ms, callback, args)
        self._sequence = sequence = self._sequence + 1
        heappush(self._queue, (time_ms, sequence, callback, args, timer))
        return timer

    @staticmethod
    def cancel(timer: Timer | None) -> None:
        """Cancel ``timer`` if it is pending; ``None`` is accepted and ignored."""
        if timer is not None:
            timer.cancelled = True

    # ------------------------------------------------------------------ running

    def peek(self) -> int | None:
        """Time of the next pending (non-cancelled) event, or ``None`` if there is none."""
        queue = self._queue
        while queue and queue[0][4].cancelled:
            heappop(queue)
        return queue[0][0] if queue else None

    def advance_clock(self, time_ms: int) -> None:
        """Move ``now`` forward to ``time_ms`` without running events (none may be due before it)."""
        next_time = self.peek()
        if time_ms < self.now or (next_time is not None and next_time < time_ms):
            raise ValueError(f"cannot advance the clock to {time_ms} ms past pending events")
        self.now = time_ms

    def pending(self) -> int:
        """How many events are queued (cancelled ones included until popped)."""
        return len(self._queue)

    def step(self) -> bool:
        """Run one event. Returns ``False`` when there was nothing to run."""
        queue = self._queue
        while queue:
            time, _, callback, args, timer = heappop(queue)
            if timer.cancelled:
                continue
            self.now = time
            self.events_run += 1
            callback(*args)
            return True
        return False

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
        if until < self.now:
            raise ValueError(f"cannot run back to {until} ms, now is {self.now} ms")
        queue = self._queue
        run = 0
        while queue and queue[0][0] <= until:
            time, _, callback, args, timer = heappop(queue)
            if timer.cancelled:
                continue
            self.now = time
            run += 1
            callback(*args)
        self.events_run += run
        self.now = until
        return True

    def _run_until_predicate(self, predicate: Callable[[], bool], limit_ms: int | None) -> bool:
        if predicate():
            return True
        queue = self._queue
        while True:
            next_time = self.peek()
            if next_time is None or (limit_ms is not None and next_time > limit_ms):
                if limit_ms is not None and limit_ms > self.now:
                    self.now = limit_ms
                return False
            self.step()
            if predicate():
                return True
            if not queue and limit_ms is None:
                return False
