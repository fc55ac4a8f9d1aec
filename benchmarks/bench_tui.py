"""TUI responsiveness: frame time and key latency for 6, 100 and 300 nodes.

Workload: a bare cluster (M masters with one replica each, NT 2 s) whose master n1 is
killed at 1 s, so the run includes PFAIL/FAIL gossip and an election. The real app runs
headless (``App.run_test``, 120×40) with its timers live, playing at maximum speed.

- **frame**: one redraw of every pane (``refresh_panes``: the renderers plus widget
  updates) and Textual's paint of it, best and median over several frames.
- **key latency**: wall time from posting a key (``j``, select the next node) to the
  app having handled it, while the simulation runs at maximum speed between keys;
  median and worst of ``KEYS`` presses. The worst includes waiting for a tick in
  progress, whose budget is ``tui.app.BUDGET_S``, and any checkpoint deep copy the
  simulation takes in that tick (every 5 s of simulated time).
- **sim speed**: simulated seconds advanced per wall second while playing at max.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from textual import events

from benchmarks.common import table
from tui.app import BUDGET_S, RcsimApp
from tui.launch import cluster_session

SIZES = (3, 50, 150)  # masters; one replica each: 6, 100, 300 nodes
FRAMES = 5
KEYS = 20
TARGET_MS = 100


async def _measure(app: RcsimApp) -> dict[str, float]:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        frames: list[float] = []
        for _ in range(FRAMES):
            start = time.perf_counter()
            app.refresh_panes()
            await pilot.pause()
            frames.append(time.perf_counter() - start)
        app.session.playing = True
        app.session.speed = 0.0  # max
        sim_start, wall_start = app.session.now, time.perf_counter()
        latencies: list[float] = []
        for _ in range(KEYS):
            await asyncio.sleep(0.15)  # let a few ticks run between keys
            before = app.selected
            start = time.perf_counter()
            app.post_message(events.Key("j", "j"))  # what a terminal key becomes
            while app.selected == before:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - start)
        sim_rate = (app.session.now - sim_start) / 1000 / (time.perf_counter() - wall_start)
        app.session.playing = False
    return {
        "frame_best": min(frames),
        "frame_median": statistics.median(frames),
        "key_median": statistics.median(latencies),
        "key_worst": max(latencies),
        "sim_rate": sim_rate,
    }


def measure(masters: int) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    session = cluster_session(masters, 1, seed=1, playing=False)
    session.sim.run_until(1000)
    session.inject("kill", node="n1")
    build = time.perf_counter() - start
    app = RcsimApp(session, live=True)
    return build, asyncio.run(_measure(app))


def main() -> str:
    rows = []
    results: dict[int, dict[str, float]] = {}
    for masters in SIZES:
        build, result = measure(masters)
        results[masters] = result
        rows.append(
            [
                str(masters * 2),
                f"{build:.1f} s",
                f"{result['frame_best'] * 1000:.1f} / {result['frame_median'] * 1000:.1f} ms",
                f"{result['key_median'] * 1000:.0f} / {result['key_worst'] * 1000:.0f} ms",
                f"{result['sim_rate']:.2f}×",
            ]
        )
    small, big = results[SIZES[0]], results[SIZES[-1]]
    ratio = big["frame_median"] / small["frame_median"] if small["frame_median"] else 0.0
    lines = [
        "## TUI: frame time and key latency",
        "",
        f"Headless app (120×40) at maximum speed, n1 killed at 1 s; per-tick wall budget "
        f"{BUDGET_S * 1000:.0f} ms; target: keys answered within {TARGET_MS} ms.",
        "",
        table(
            [
                "nodes",
                "build",
                "frame best / median",
                "key median / worst",
                "simulated s per wall s",
            ],
            rows,
        ),
        "",
        f"Frame time grows {ratio:.1f}× from {SIZES[0] * 2} to {SIZES[-1] * 2} nodes "
        "(the truth table, topology order and the node's own view are O(nodes) or O(slots)).",
    ]
    return "\n".join(lines)
