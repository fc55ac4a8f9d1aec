"""The TUI's ``max`` speed at 100 nodes (issue 12: at least 20× real time).

Workload: a bare converged cluster of 50 masters with one replica each (100 nodes),
Redis's default ``cluster-node-timeout`` (15 s), no clients, no failure: the idle
cluster ``bench_cluster`` times headless, here with every bus message traced as the TUI
always does (the message view). The session is built once and run to 2 s; each run opens
a fresh app on it (headless, ``App.run_test``, 120×40, its timers live), plays at maximum
speed for ``PLAY_S`` seconds of wall time and counts the simulated time it advanced.

- **× real time (wall)**: simulated seconds per wall second: what a learner sees, on this
  machine at its load.
- **per CPU second**: simulated seconds per CPU second of the app's process (simulation,
  frames, Textual, the heap's settles; not the forked checkpoints' children): the wall
  rate of a machine where the app gets a whole core, which at maximum speed it uses
  (ticks follow each other: tui/app_views.py ``after_slice``).
- **in ticks**: the share of that CPU spent simulating (``Session.tick``); the rest is
  frames and the event loop.
- **headless**: the same session's simulation run directly (``Simulation.run_until``,
  bus traced), simulated seconds per CPU second: the ceiling.

``RCSIM_BENCH_TUI_SPEED`` = ``masters,runs,seconds`` (default ``50,5,10``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

from benchmarks.common import table
from tui.app import RcsimApp
from tui.launch import cluster_session
from tui.model import MAX_SPEED, Session

TARGET = 20.0  # × real time at 100 nodes (issue 12)
NODE_TIMEOUT = 15_000  # Redis's default


def _settings() -> tuple[int, int, float]:
    raw = os.environ.get("RCSIM_BENCH_TUI_SPEED", "50,5,10").split(",")
    return int(raw[0]), int(raw[1]), float(raw[2])


async def _play(app: RcsimApp, seconds: float) -> dict[str, float]:
    session = app.session
    tick = session.tick
    ticks = [0.0]

    def timed_tick(wall_delta: float, budget: float) -> bool:
        start = time.process_time()
        moved = tick(wall_delta, budget)
        ticks[0] += time.process_time() - start
        return moved

    session.tick = timed_tick  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        frames = app.frames
        session.playing = True
        session.speed = MAX_SPEED
        start, wall, cpu = session.now, time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        sim = (session.now - start) / 1000
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        session.playing = False
        frames = app.frames - frames
    session.tick = tick  # type: ignore[method-assign]
    return {
        "wall": sim / wall,
        "cpu": sim / cpu,
        "ticks": ticks[0] / cpu,
        "frames": frames / wall,
        "used": cpu / wall,
    }


def _headless(session: Session, ms: int = 3000) -> float:
    start = time.process_time()
    session.sim.run_until(session.now + ms)
    return ms / 1000 / (time.process_time() - start)


def main() -> str:
    masters, count, seconds = _settings()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))  # checkpoint pickles
    session = cluster_session(masters, 1, seed=1, node_timeout=NODE_TIMEOUT, playing=False)
    session.sim.run_until(2000)
    load_before = os.getloadavg()[0]
    headless = [_headless(session)]
    runs = [asyncio.run(_play(RcsimApp(session, live=True), seconds)) for _ in range(count)]
    headless.append(_headless(session))
    load_after = os.getloadavg()[0]

    def figures(name: str, unit: str = "×", digits: int = 1) -> str:
        values = [r[name] for r in runs]
        return (
            f"{statistics.median(values):.{digits}f}{unit} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})"
        )

    row = [
        f"{masters * 2} ({count} runs of {seconds:g} s)",
        figures("wall", digits=2),
        figures("cpu"),
        " ".join(f"{r['cpu']:.1f}" for r in runs),
        figures("ticks", unit="", digits=2),
        figures("used", unit="", digits=2),
        figures("frames", unit="/s"),
        " / ".join(f"{h:.1f}×" for h in headless),
        f"{load_before:.1f} → {load_after:.1f}",
    ]
    lines = [
        "## TUI at maximum speed, 100 nodes (`bench_tui_speed`, issue 12)",
        "",
        f"Idle converged cluster, NT {NODE_TIMEOUT / 1000:g} s, bus traced; headless app "
        f"120×40 playing at `max`; target ≥ {TARGET:g}× real time. Median (min–max) over "
        "the runs.",
        "",
        table(
            [
                "nodes",
                "× real time (wall)",
                "simulated s per app CPU s",
                "per run",
                "CPU share in ticks",
                "CPU used per wall s",
                "frames",
                "headless, before / after (per CPU s)",
                "load average (1 min)",
            ],
            [row],
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
