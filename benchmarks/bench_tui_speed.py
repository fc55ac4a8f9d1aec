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
  rate of a machine where the app gets a whole core.
- **in ticks**: the share of that CPU spent simulating (``Session.advance_to``, what a
  tick's slices call: tui/pacing.py); the rest is folding, frames and the event loop.
- **idle**: the share of the wall time the event loop waited in its selector with nothing
  to run (the timers' pauses: the loop's own idle, not the other processes' load).
- **quiet-host estimate**: simulated seconds per (CPU + idle) second: what × real time
  would be on a host where the app is never kept waiting for a CPU (an estimate from
  this run; it errs low under load, where a tick's fixed wall time holds less CPU).
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


def _idle_meter() -> list[float]:
    """Seconds the running loop's selector waits from now on (``[0]``): its idle time."""
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    select = selector.select
    idle = [0.0]

    def timed(timeout: float | None = None) -> object:
        start = time.perf_counter()
        try:
            return select(timeout)
        finally:
            idle[0] += time.perf_counter() - start

    selector.select = timed
    return idle


async def _play(app: RcsimApp, seconds: float) -> dict[str, float]:
    session = app.session
    advance = session.advance_to
    ticks = [0.0]

    def timed_advance(target: int, budget: float | None = None) -> bool:
        start = time.process_time()
        reached = advance(target, budget)
        ticks[0] += time.process_time() - start
        return reached

    session.advance_to = timed_advance  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        frames = app.frames
        session.playing = True
        session.speed = MAX_SPEED
        idle = _idle_meter()
        start, wall, cpu = session.now, time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        waited = idle[0]
        sim = (session.now - start) / 1000
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        session.playing = False
        frames = app.frames - frames
    session.advance_to = advance  # type: ignore[method-assign]
    return {
        "wall": sim / wall,
        "cpu": sim / cpu,
        "ticks": ticks[0] / cpu,
        "frames": frames / wall,
        "used": cpu / wall,
        "idle": waited / wall,
        "quiet": sim / (cpu + waited),
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
        figures("idle", unit="", digits=2),
        figures("quiet"),
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
                "idle per wall s",
                "quiet-host estimate (× real time)",
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
