"""The TUI's model of a live session: playback, seeking, breakpoints, and facts read from
the trace. No Textual import, so it is tested and benchmarked without a screen.

Positions: the session sits either at the *start* of a millisecond ``t`` (every event
before ``t`` has run, none at ``t``: ``clean``), or somewhere inside one after single
steps. Injections are made only at a clean position that is not a checkpoint instant,
because that is where a saved injection ``at: t`` runs on replay (before the events of
that millisecond, see tui/session_io.py) and where :meth:`Simulation.rewind` replays it
exactly.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from simulator.scenario import Scenario
from simulator.simulation import ActionError, Injection, Simulation
from simulator.trace import TraceEvent, is_notable
from simulator.views import REQUEST_OUTCOMES, LessonDriver
from tui.log_words import GROUP_ABOVE
from tui.trace_facts import TraceFacts
from tui.words import LOGGED, check_text, describe, verdict_line

MAX_SPEED = 0.0  # sentinel: as fast as the per-tick budget allows
SPEEDS: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, MAX_SPEED)
DEFAULT_SPEED = 1.0
MAX_SPEED_CAP = 10_000.0  # "max" still has a target; the wall budget is what limits it
SLICE_S = 0.004  # wall time one slice of a budgeted advance aims at (_run_slices)
MAX_SLICE_MS = 4  # simulated ms: a quiet stretch must not grow a slice over a burst
DENSE_S = 0.016  # a slice that took longer: step event by event for a while (_run_slices)
DENSE_HOLD_MS = 1000  # simulated ms stepped after such a slice (a ping period at NT 2 s)
CUT_EVENTS = 4
"""Events a slice runs between two reads of the clock while events are light: a slice
of whole milliseconds after quiet ones met a 1,000-node burst (19,698 trace events in
2 ms, 3.5 s of CPU) and held a key for seconds, the deadline read only at its end
(issue 12). 16 events still overran a 4 ms slice by 77-79 ms of CPU at 300 nodes; a
clock read is ~0.1 µs, a call of ``run_events`` ~2."""
HEAVY_S = 0.002
"""Wall time of ``CUT_EVENTS`` events above which the session steps event by event with
the clock read after *every* event (:meth:`Session._run_slices`): at 300 nodes (NT 2 s)
each node's cron pings all 299 peers at once about once a second (their pongs all turn
older than NT/2 together), 290 pings with gossip, 12-16 ms of CPU for that one event
(``benchmarks/tui_events.py``), so four events between two clock reads overran a 4 ms
slice by up to 54 ms of CPU (docs/benchmarks.md, 2026-12-02)."""
HEAVY_HOLD_MS = 100
"""Simulated ms stepped after a heavy batch: one cron period, over which a storm's crons
are spread (4,189-4,290 ms at 300 nodes); stepping costs more per event than the
engine's loop, so light stretches after it go back to batches."""
NOTABLE_LIMIT_MS = 60_000  # "next notable event" looks at most this far ahead

BREAKPOINTS: dict[str, str] = {
    "fail": "a node enters FAIL (in any node's view)",
    "state": "a node's cluster_state changes",
    "lost": "an acknowledged write is lost",
    "expect": "an expectation fails",
    "end": "the lesson ends (pause and show the verdict)",
}

OUTCOMES = REQUEST_OUTCOMES  # the registry's, in its order


def speed_label(speed: float) -> str:
    if speed == MAX_SPEED:
        return "max"
    return f"{speed:g}×"


class Session:
    """A simulation being watched: playback speed, position, breakpoints, injections."""

    def __init__(
        self,
        sim: Simulation,
        *,
        name: str = "",
        scenario: Scenario | None = None,
        playing: bool = True,
        speed: float = DEFAULT_SPEED,
        source_text: str | None = None,
        cluster_spec: dict[str, object] | None = None,
    ) -> None:
        self.sim = sim
        # Checkpoints pickled by a forked child, not inside the tick that reaches them:
        # a 100-node one took 370–500 ms of CPU there, and a key waited for it.
        sim.checkpoint_in_background()
        self.name = name
        self.scenario = scenario
        self.source_text = source_text  # the scenario file, for "save session"
        self.cluster_spec = cluster_spec or {"masters": 3, "replicas": 1}
        self.playing = playing
        self.speed = speed
        self.breakpoints: set[str] = set()  # the learner opts in (B)
        self.break_reason: str | None = None
        self.verdict_due = False  # the "end" breakpoint stopped here: the app shows the verdict
        self.fork_marks: list[tuple[int, int]] = []  # (time, fork number), for the log
        self.stepped: str | None = None  # what the last `s` ran, in words
        self._fail_open: set[str] = set()  # nodes in a FAIL episode (the breakpoint fires once)
        self._done_seen = False
        self.clean = True
        self.facts = TraceFacts(grouped=len(sim.views.names()) > GROUP_ABOVE)
        self.facts.feed(sim.trace.events)
        self._reset_watermarks()
        self.saved: list[Injection] = []  # sim.injections as last saved (S)
        self.forks = 0
        self._samples: deque[tuple[int, dict[str, int]]] = deque()
        self.horizon = 0  # the furthest time reached on this timeline (a rewind goes below it)
        self.clock: Callable[[], float] = time.perf_counter  # pacing only, never results
        self._slice_ms = 1  # simulated ms per slice of a budgeted advance (_run_slices)
        self._dense_until = -1  # milliseconds before it are stepped event by event
        self._observe_driver()

    # ------------------------------------------------------------------ reading

    @property
    def now(self) -> int:
        return self.sim.now

    @property
    def driver(self) -> LessonDriver | None:
        """The lesson's progress (None for a bare cluster)."""
        return self.sim.views.lesson

    def lost_writes(self) -> int:
        return self.sim.views.lost_writes()

    def failed_expectations(self) -> int:
        driver = self.driver
        return 0 if driver is None else sum(1 for r in driver.results if not r.passed)

    def fold(self, *, bus: bool = False) -> list[TraceEvent]:
        """Fold new trace events into the facts (rebuilds after a rewind) and into the
        views' incremental logs (the message index too when ``bus``: the view is shown).
        The app calls it after every simulation slice, so a frame folds only what came
        after the last one (tui/app_views.py ``after_slice``)."""
        driver = self.driver
        results = () if driver is None else driver.results
        verdict = verdict_line(results) if driver is not None and driver.done else None
        new = self.facts.feed(
            self.sim.trace.events, results, self.fork_marks, verdict, self.sim.now
        )
        self.sim.views.fold(bus=bus)
        # Old heartbeats to disk once a big cluster's bus trace grows (after the facts
        # and the views read them: simulator/views/bus_spill.py); a no-op below 20,000
        # new events.
        self.sim.views.spill_bus()
        return new

    def sync(self) -> list[TraceEvent]:
        """Fold new trace events into the facts (rebuilds after a rewind)."""
        new = self.fold()
        samples = self._samples
        if samples and samples[-1][0] > self.now:
            samples.clear()  # rewound
        totals = self.request_totals()
        if not samples or samples[-1][0] != self.now:
            samples.append((self.now, totals))
        while len(samples) > 2 and samples[1][0] <= self.now - 1000:
            samples.popleft()
        return new

    def request_totals(self) -> dict[str, int]:
        """Requests so far by outcome: the data plane's counters, else the trace's."""
        counts = self.sim.views.request_counts()
        totals = dict(self.facts.outcomes) if counts is None else counts
        return {o: totals.get(o, 0) for o in OUTCOMES}

    def request_rates(self) -> dict[str, float]:
        """Requests per simulated second by outcome, over about the last second."""
        samples = self._samples
        if len(samples) < 2 or samples[-1][0] == samples[0][0]:
            return dict.fromkeys(OUTCOMES, 0.0)
        (t0, first), (t1, last) = samples[0], samples[-1]
        scale = 1000 / (t1 - t0)
        return {o: (last[o] - first[o]) * scale for o in OUTCOMES}

    def _observe_driver(self) -> None:
        self.horizon = max(self.horizon, self.sim.now)

    @property
    def unsaved(self) -> bool:
        """Whether the injections differ from what ``S`` last saved (``q`` asks then)."""
        return self.sim.injections != self.saved

    def mark_saved(self) -> None:
        self.saved = list(self.sim.injections)

    # ------------------------------------------------------------------ speed

    def faster(self) -> None:
        index = SPEEDS.index(self.speed) if self.speed in SPEEDS else 3
        self.speed = SPEEDS[min(index + 1, len(SPEEDS) - 1)]

    def slower(self) -> None:
        index = SPEEDS.index(self.speed) if self.speed in SPEEDS else 3
        self.speed = SPEEDS[max(index - 1, 0)]

    # ------------------------------------------------------------------ moving forward

    def tick(self, wall_delta: float, budget: float) -> bool:
        """Advance by ``wall_delta × speed`` (or as far as ``budget`` seconds allow at max
        speed); returns whether anything changed. Never blocks longer than about ``budget``."""
        if not self.playing:
            return False
        self.stepped = None
        speed = MAX_SPEED_CAP if self.speed == MAX_SPEED else self.speed
        target = self.now + max(1, round(wall_delta * speed * 1000))
        before = (self.now, len(self.sim.trace))
        self.advance_to(target, budget)
        return before != (self.now, len(self.sim.trace))

    def advance_to(self, target: int, budget: float | None = None) -> bool:
        """Run every event before ``target`` and stop at its start; ``False`` if a
        breakpoint or the wall ``budget`` (seconds) stopped it first."""
        sim = self.sim
        deadline = None if budget is None else self.clock() + budget
        checks = bool(self.breakpoints)
        if not checks and deadline is not None:
            self._run_slices(target, deadline)
            pending = sim.engine.peek()
            if pending is not None and pending < target:
                return False  # out of time
        count = 0
        while True:
            next_time = sim.engine.peek()
            if next_time is None or next_time >= target:
                break
            length = len(sim.trace)
            sim.step()
            self.clean = False
            self._observe_driver()
            count += 1
            if checks and self._breakpoint_hit(length):
                return False
            if deadline is not None and count % 16 == 0 and self.clock() > deadline:
                self._observe_driver()
                return False
        if target - 1 >= sim.now:
            sim.run_until(target - 1)
        if sim.now < target:
            sim.engine.advance_clock(target)
        self.clean = True
        self._observe_driver()
        return not (checks and self._slow_breakpoints())

    def _run_slices(self, target: int, deadline: float) -> None:
        """Run whole milliseconds before ``target`` in slices (``Simulation.run_events``,
        the engine's own loop, the clock read every ``CUT_EVENTS`` events so the deadline
        cuts inside a millisecond too) until ``deadline``: about twice as fast per event
        as stepping one event at a time, which only breakpoints need (checked after each
        event). A slice spans ``_slice_ms``, doubled while one takes under a quarter of
        ``SLICE_S`` and halved over ``SLICE_S``, at most ``MAX_SLICE_MS``, so the deadline
        is overrun by about ``CUT_EVENTS`` events (it was one slice, at least one
        millisecond's events: a slice grown long over a quiet stretch that met the
        once-a-second burst of pings at 100 nodes held a key for 130 ms of CPU, a 1,000-node
        burst for seconds). A slice over ``DENSE_S`` (a big cluster's busy
        milliseconds), or ``CUT_EVENTS`` events over ``HEAVY_S`` (a 300-node cron's ping
        storm), makes the next ``DENSE_HOLD_MS`` (``HEAVY_HOLD_MS``) stepped with the clock
        read after every event, so the deadline is overrun by one event at most
        (:meth:`_step_millisecond`)."""
        sim = self.sim
        engine = sim.engine
        clock = self.clock
        while True:
            next_time = engine.peek()
            if next_time is None or next_time >= target:
                return
            start = clock()
            if self._dense:
                whole = self._step_millisecond(target, deadline)
            else:
                end = min(target - 1, math.ceil(next_time) + self._slice_ms - 1)
                whole = self._run_batches(end, deadline)
            self.clean = False
            if not whole:
                self._observe_driver()
                return
            now = clock()
            self._adapt(now - start)
            if now > deadline:
                self._observe_driver()
                return

    def _run_batches(self, end: int, deadline: float) -> bool:
        """Events up to ``end`` in the engine's loop, ``CUT_EVENTS`` at a time, the clock
        read between two batches: ``False`` when the ``deadline`` cut it; ``True`` when it
        reached ``end``, or stopped early because a batch took over ``HEAVY_S`` (then the
        session steps event by event for ``HEAVY_HOLD_MS``: :attr:`_dense`)."""
        sim, clock = self.sim, self.clock
        last = clock()
        while True:
            done = sim.run_events(end, CUT_EVENTS)
            now = clock()
            if now - last > HEAVY_S:
                self._dense_until = max(self._dense_until, sim.now + HEAVY_HOLD_MS)
                return True
            if done:
                return True
            if now > deadline:
                return False
            last = now

    def _adapt(self, spent: float) -> None:
        """The next slice's span from how long this one took (wall s, :meth:`_run_slices`)."""
        if spent > DENSE_S:  # busy: one millisecond per slice, stepped, for a while
            self._slice_ms, self._dense_until = 1, self.sim.now + DENSE_HOLD_MS
        elif spent < SLICE_S / 4:
            self._slice_ms = min(self._slice_ms * 2, MAX_SLICE_MS)
        elif spent > SLICE_S:
            self._slice_ms = max(1, self._slice_ms // 2)

    @property
    def _dense(self) -> bool:
        """Whether a budgeted advance steps each millisecond event by event."""
        return self.sim.now < self._dense_until

    def _step_millisecond(self, target: int, deadline: float) -> bool:
        """The next millisecond's events one by one, the clock read after each, so the
        ``deadline`` cuts inside it after one event at most: a big cluster's busy
        millisecond (3,000-7,000 events, 250-400 ms of CPU at 300 nodes, issue 12) held
        a key for all of it as one slice, and four events between two clock reads still
        could hold it for 54 ms of CPU (:data:`HEAVY_S`). A clock read is ~0.1 µs against
        several µs for the step. Whether the millisecond was run to its end."""
        sim, engine, clock = self.sim, self.sim.engine, self.clock
        next_time = engine.peek()
        assert next_time is not None
        end = min(target - 1, math.ceil(next_time))  # what run_until(end) would run
        while next_time is not None and next_time <= end:
            sim.step()
            if clock() > deadline:
                return False
            next_time = engine.peek()
        return True

    def step_event(self) -> None:
        """Run exactly one engine event (or one due injection)."""
        length = len(self.sim.trace)
        what = self.sim.views.next_event()
        if self.sim.step():
            self.clean = False
        emitted = [e for e in self.sim.trace.events[length:] if e["kind"] in LOGGED]
        said = "; ".join(describe(e) for e in emitted[:2])
        self.stepped = (what or "nothing left to run") + (f" → {said}" if said else "")
        if self.breakpoints:
            self._breakpoint_hit(length)
        self._observe_driver()

    def step_notable(self, limit_ms: int = NOTABLE_LIMIT_MS) -> bool:
        """Run events until one emits a notable trace event (a state change, not traffic)."""
        sim = self.sim
        self.stepped = None
        limit = sim.now + limit_ms
        while True:
            next_time = sim.engine.peek()
            if next_time is None or next_time > limit:
                self.advance_to(limit)
                return False
            length = len(sim.trace)
            sim.step()
            self.clean = False
            self._observe_driver()
            events = sim.trace.events
            if self._lesson_ended() or any(is_notable(e) for e in events[length:]):
                self._observe_driver()
                return True

    # ------------------------------------------------------------------ moving back

    def seek(self, t: int) -> None:
        """Go to the start of millisecond ``t``, rewinding through checkpoints if needed."""
        t = max(0, t)
        sim = self.sim
        self.stepped = None
        if t < sim.now or (t == sim.now and not self.clean):
            sim.rewind(max(0, t - 1))
            # Rewinding to 0 runs millisecond 0's events: only a fresh start is clean at 0
            # (otherwise the position is the start of 1 ms, below).
            self.clean = t == 0 and sim.now == 0 and sim.engine.events_run == 0
        if t > sim.now or not self.clean:
            saved, self.breakpoints = self.breakpoints, set()
            try:
                self.advance_to(max(t, sim.now + (0 if self.clean else 1)))
            finally:
                self.breakpoints = saved
        self.break_reason = None
        self._reset_watermarks()
        self._observe_driver()

    def step_back(self) -> int:
        """Go back to just before the latest notable event strictly before now."""
        self.sync()
        times = [t for t in self.facts.notable_times if t < self.now]
        target = times[-1] if times else 0
        self.seek(target)
        return target

    def _reset_watermarks(self) -> None:
        self._lost_seen = self.lost_writes()
        self._failed_seen = self.failed_expectations()
        self._results_seen = self._results_count()
        driver = self.driver
        self._done_seen = driver is not None and driver.done
        self._fail_open = {row.name for row in self.sim.views.topology() if row.observers_fail}

    def set_breakpoints(self, active: set[str]) -> None:
        """Arm ``active`` from here on (what already happened does not fire them)."""
        self.breakpoints = set(active)
        self._reset_watermarks()

    # ------------------------------------------------------------------ breakpoints

    def _results_count(self) -> int:
        driver = self.driver
        return 0 if driver is None else len(driver.results)

    def _breakpoint_hit(self, start: int) -> bool:
        """Checks after one event: trace events from ``start`` on, new check results."""
        driver = self.driver
        if "expect" in self.breakpoints and self._results_count() != self._results_seen:
            self._results_seen = self._results_count()
            failed = self.failed_expectations()
            if failed > self._failed_seen and driver is not None:
                self._failed_seen = failed
                failing = [r for r in driver.results if not r.passed][-1]
                expected = check_text(failing.expected)
                return self._stop(f"expectation failed: {failing.condition}: {expected}")
        if self._lesson_ended():
            return True
        if len(self.sim.trace) == start:
            return False
        for event in self.sim.trace.events[start:]:
            kind = event["kind"]
            if kind == "fail":
                # One stop per FAIL episode: the first observer names it; the others that
                # agree in the same moment (FAIL messages, §8.4) do not stop again.
                target = str(event.get("target"))
                if target not in self._fail_open:
                    self._fail_open.add(target)
                    if "fail" in self.breakpoints:
                        return self._stop(f"{event.get('node')} is the first to mark {target} FAIL")
            elif kind == "fail_cleared":
                self._fail_open.discard(str(event.get("target")))
            elif kind == "cluster_state" and "state" in self.breakpoints:
                return self._stop(f"{event.get('node')} says cluster_state:{event.get('state')}")
        return False

    def _lesson_ended(self) -> bool:
        """The "end" breakpoint: stop where the lesson's last check is made, once."""
        driver = self.driver
        if "end" not in self.breakpoints or driver is None or not driver.done or self._done_seen:
            return False
        self._done_seen = True
        self.verdict_due = True
        return self._stop("the lesson is over")

    def _slow_breakpoints(self) -> bool:
        """Checks too costly for every event (the ledger), done once per slice."""
        if "lost" in self.breakpoints and self.sim.views.has_dataplane:
            lost = self.lost_writes()
            if lost > self._lost_seen:
                self._lost_seen = lost
                return self._stop(f"{lost} acknowledged write(s) lost")
        return False

    def _stop(self, reason: str) -> bool:
        self.playing = False
        self.break_reason = reason
        return True

    # ------------------------------------------------------------------ injections

    def _clean_point(self) -> None:
        """Move to a position a scenario step can reproduce (see the module docstring)."""
        sim = self.sim
        target = sim.now if self.clean else sim.now + 1
        times = sim.checkpoint_times()
        origin = times[0] if times else 0
        while target > origin and (target - origin) % sim.checkpoint_ms == 0:
            target += 1
        if target != sim.now or not self.clean:
            saved, self.breakpoints = self.breakpoints, set()
            try:
                self.advance_to(target)
            finally:
                self.breakpoints = saved

    def inject(self, action: str, **args: object) -> str:
        """Apply ``action`` now (forking the timeline if we rewound); returns what happened.

        Raises :class:`ActionError` with a readable message when it cannot be applied.
        """
        self._clean_point()
        forked = (
            self.sim.now < self.horizon or len(self.sim.injections) > self._applied_injections()
        )
        try:
            result = self.sim.inject(action, **args)
        except ActionError as error:
            if str(error).startswith("unknown action"):
                raise ActionError(
                    f"'{action}' is not available here (no data plane registered it)"
                ) from None
            raise
        now = self.sim.now
        if forked:
            self.forks += 1
            self.fork_marks = [m for m in self.fork_marks if m[0] < now]
            self.fork_marks.append((now, self.forks))
        self.horizon = now
        self._observe_driver()
        return result if isinstance(result, str) else ""  # a redis-cli job is no reply

    def has_action(self, action: str) -> bool:
        return self.sim.has_action(action)

    def _applied_injections(self) -> int:
        return self.sim.applied_injections
