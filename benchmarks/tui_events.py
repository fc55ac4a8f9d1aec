"""CPU of each engine event by kind in ``bench_tui_big``'s 300-node session (issue 12).

What a TUI slice can be held by: the slice reads the clock between events, so its
overrun is the events it runs between two readings (tui/model.py ``CUT_EVENTS``,
``HEAVY_S``). This steps the benchmark's session (150+150 nodes, NT 2 s, n1 killed at
500 ms, from its watch time 3.5 s) event by event to ``END_MS`` and reports, per
callback (``Cron.cron``, ``Link._arrive``, ...), the count, CPU sum, median, 99th and
99.9th percentiles and worst, and the slowest events with the garbage collections
inside them. Automatic full collections are off, as in the app (tui/heap.py).

    .venv/bin/python -m benchmarks.tui_events [MASTERS] [END_MS]

Not a ``bench_`` module (``make bench`` does not run it): a probe, ~1 min of CPU to
build and converge 300 nodes, ~30 s per simulated second stepped.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections import defaultdict

from benchmarks.bench_tui_big import session_for
from tui.heap import NO_AUTOMATIC_FULL

SLOW_S = 0.004  # an event over this is listed


def main(masters: int = 150, end_ms: int = 6000) -> str:
    session, build = session_for(masters)
    sim, engine = session.sim, session.sim.engine
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)
    collections: list[tuple[int, float]] = []
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            collections.append((info["generation"], time.process_time() - started[0]))

    gc.callbacks.append(timed)
    spent: dict[str, list[float]] = defaultdict(list)
    slow: list[tuple[float, int, str, str]] = []
    clock = time.process_time
    start = sim.now
    while (next_time := engine.peek()) is not None and next_time < end_ms:
        timer = engine.next_timer()
        kind = getattr(timer.callback, "__qualname__", repr(timer.callback)) if timer else "?"
        before = len(collections)
        cpu = clock()
        sim.step()
        took = clock() - cpu
        spent[kind].append(took)
        if took > SLOW_S:
            gcs = " ".join(f"g{g} {d * 1000:.1f}" for g, d in collections[before:]) or "none"
            slow.append((took, engine.now, kind, gcs))
    gc.callbacks.remove(timed)
    lines = [
        f"{masters * 2} nodes, {start}→{end_ms} ms stepped (build {build:.0f} s of CPU); "
        f"CPU ms per event by kind:",
        "",
        "| kind | events | CPU s | median | p99 | p99.9 | worst |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        ordered = sorted(times)

        def at(share: float, ordered: list[float] = ordered) -> str:
            return f"{ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000:.2f}"

        lines.append(
            f"| {kind} | {len(times)} | {sum(times):.2f} | "
            f"{statistics.median(times) * 1000:.3f} | {at(0.99)} | {at(0.999)} | "
            f"{ordered[-1] * 1000:.1f} |"
        )
    slow.sort(reverse=True)
    lines += ["", f"events over {SLOW_S * 1000:.0f} ms of CPU: {len(slow)}; the slowest:"]
    lines += [
        f"{t * 1000:.1f} ms at {at_ms} ms: {kind} (gc: {gcs})" for t, at_ms, kind, gcs in slow[:15]
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))
    args = [int(a) for a in sys.argv[1:3]]
    print(main(*args))
