"""Event kernel throughput: many periodic timers, as Redis's ``clusterCron`` makes them.

Workload: ``TIMERS`` timers with a ``PERIOD_MS`` period, phases spread over the period
(timer ``i`` first fires at ``i mod PERIOD_MS``, so ties happen too), each callback counts
and reschedules itself; run for ``DURATION_MS`` of simulated time. Measured on
(a) :class:`simulator.engine.Engine`, (b) SimPy processes doing ``yield env.timeout(100)``,
(c) a bare ``heapq`` loop calling the same kind of callback (the floor).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator
from typing import Any

import simpy

from benchmarks.common import best_wall_and_cpu, rate, table
from simulator.engine import Engine

TIMERS = 1000
PERIOD_MS = 100
DURATION_MS = 60_000
REPEATS = 9
"""More than the default 3: one run is under a second, and on this VM a single run of
any contender can be 20 % slow (CPU time included), which moved the ratio by ±0.2."""


class _EngineTicker:
    """One periodic timer on the rcsim engine: a bound method reschedules itself."""

    __slots__ = ("engine", "fired")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fired = 0

    def tick(self) -> None:
        self.fired += 1
        self.engine.schedule(PERIOD_MS, self.tick)


def run_engine() -> int:
    engine = Engine(seed=1)
    tickers = [_EngineTicker(engine) for _ in range(TIMERS)]
    for i, ticker in enumerate(tickers):
        engine.schedule_at(i % PERIOD_MS, ticker.tick)
    engine.run_until(DURATION_MS - 1)
    return sum(t.fired for t in tickers)


def run_simpy() -> int:
    env = simpy.Environment()
    fired = [0]

    def ticker(phase: int) -> Generator[Any, Any, None]:
        yield env.timeout(phase)
        while True:
            fired[0] += 1
            yield env.timeout(PERIOD_MS)

    for i in range(TIMERS):
        env.process(ticker(i % PERIOD_MS))
    env.run(until=DURATION_MS)  # events at exactly `until` do not run: same set as above
    return fired[0]


class _BareTicker:
    """The same callback on a bare heap: the least work a Python event loop can do."""

    __slots__ = ("fired", "loop")

    def __init__(self, loop: _BareLoop) -> None:
        self.loop = loop
        self.fired = 0

    def tick(self) -> None:
        self.fired += 1
        loop = self.loop
        loop.seq += 1
        heapq.heappush(loop.heap, (loop.now + PERIOD_MS, loop.seq, self.tick))


class _BareLoop:
    __slots__ = ("heap", "now", "seq")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, Callable[[], None]]] = []
        self.now = 0
        self.seq = 0

    def run(self, until: int) -> None:
        heap = self.heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            self.now, _, callback = pop(heap)
            callback()


def run_bare() -> int:
    loop = _BareLoop()
    tickers = [_BareTicker(loop) for _ in range(TIMERS)]
    for i, ticker in enumerate(tickers):
        loop.seq += 1
        heapq.heappush(loop.heap, (i % PERIOD_MS, loop.seq, ticker.tick))
    loop.run(DURATION_MS - 1)
    return sum(t.fired for t in tickers)


def main() -> str:
    runs = {"engine": run_engine, "simpy": run_simpy, "bare": run_bare}
    counts = {name: run() for name, run in runs.items()}  # also warms up each loop
    if len(set(counts.values())) != 1:
        raise AssertionError(f"the three loops ran different event counts: {counts}")
    events = counts["engine"]
    best = best_wall_and_cpu(runs, REPEATS)
    wall = {name: best[name][0] for name in runs}
    cpu = {name: best[name][1] for name in runs}
    labels = {
        "engine": "rcsim `Engine`",
        "simpy": "SimPy 4 (`yield env.timeout`)",
        "bare": "bare `heapq` loop (floor)",
    }
    rows = [
        [labels[n], f"{wall[n]:.3f}", rate(events, wall[n]), rate(events, cpu[n])] for n in runs
    ]
    ratios = [
        [
            "engine / SimPy (target ≥ 2)",
            f"{wall['simpy'] / wall['engine']:.2f}×",
            f"{cpu['simpy'] / cpu['engine']:.2f}×",
        ],
        [
            "bare / engine (target ≤ 3)",
            f"{wall['engine'] / wall['bare']:.2f}×",
            f"{cpu['engine'] / cpu['bare']:.2f}×",
        ],
    ]
    return (
        "## Event kernel (`bench_engine`)\n\n"
        f"{TIMERS:,} periodic timers, period {PERIOD_MS} ms, phases `i mod {PERIOD_MS}` ms, "
        f"{DURATION_MS // 1000} s simulated: {events:,} events per run; "
        f"best of {REPEATS} interleaved runs.\n\n"
        + table(["loop", "best wall s", "events/s (wall)", "events/s (CPU)"], rows)
        + "\n\n"
        + table(["events/s ratio", "wall (perf_counter)", "CPU (process_time)"], ratios)
        + "\n"
    )
