"""TUI responsiveness with the message view shown (``M``), at 6 and 100 nodes (issue 14).

Workload as in :mod:`benchmarks.bench_tui`: a bare cluster (M masters, one replica
each, NT 2 s, bus messages traced as the TUI always does) whose master n1 is killed at
1 s; the real app runs headless (``App.run_test``, 120×40) with its timers live, the
message view shown, playing at maximum speed.

- **frame**: one redraw of every shown pane (``refresh_panes``) and Textual's paint,
  with the message view thinned (PFAIL reports only, its default) and with every
  PING/PONG (``w``): median and worst over ``FRAMES`` frames per run.
- **key latency**: wall time from posting a key (``j``: the message view's selection,
  which redraws it) to the app having handled it, while the simulation runs at maximum
  speed between keys; worst of ``KEYS`` presses per run, and the worst over ``RUNS``
  runs (the issue's target: within 100 ms; frames within 50 ms).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable

from textual import events

from benchmarks.common import table
from tui.app import RcsimApp
from tui.launch import cluster_session
from tui.panes import MessagesPane

SIZES = (3, 50)  # masters; one replica each: 6 and 100 nodes
RUNS = 5
FRAMES = 10
KEYS = 20
KEY_TARGET_MS = 100
FRAME_TARGET_MS = 50


Timed = tuple[list[float], list[float]]  # wall seconds, CPU seconds of this process


async def _frames(app: RcsimApp, pilot: object) -> Timed:
    frames: Timed = ([], [])
    for _ in range(FRAMES):
        app.session.sim.run_for(100)  # new messages every frame
        start, cpu = time.perf_counter(), time.process_time()
        app.refresh_panes()
        await pilot.pause()  # type: ignore[attr-defined]
        frames[0].append(time.perf_counter() - start)
        frames[1].append(time.process_time() - cpu)
    return frames


def _render(pane: MessagesPane) -> list[float]:
    """The message view's own work per frame: its view (``sim.views.messages``) and its
    diagram (no Textual paint)."""
    times = []
    for _ in range(FRAMES):
        pane.session.sim.run_for(100)
        start = time.perf_counter()
        pane.draw(pane.data())
        times.append(time.perf_counter() - start)
    return times


async def _keys(app: RcsimApp, moved: Callable[[], object], keys: str) -> Timed:
    latencies: Timed = ([], [])
    for i in range(KEYS):
        await asyncio.sleep(0.15)  # let a few ticks run between keys
        key = keys[i % len(keys)]
        before = moved()
        start, cpu = time.perf_counter(), time.process_time()
        app.post_message(events.Key(key, key))
        while moved() == before:
            await asyncio.sleep(0.001)
        latencies[0].append(time.perf_counter() - start)
        latencies[1].append(time.process_time() - cpu)
    return latencies


async def _measure(app: RcsimApp) -> dict[str, list[float]]:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        plain = await _frames(app, pilot)  # the default layout, for comparison
        await pilot.press("M")
        await pilot.pause()
        pane = app.query_one("#messages", MessagesPane)
        thinned = await _frames(app, pilot)
        render = _render(pane)
        await pilot.press("w")  # every PING/PONG
        every = await _frames(app, pilot)
        await pilot.press("w", "w")  # back to PFAIL reports only
        app.session.playing = True
        app.session.speed = 0.0  # max
        sim_start, wall_start = app.session.now, time.perf_counter()
        with_view = await _keys(app, lambda: pane.cursor, "kj")
        rate = (app.session.now - sim_start) / 1000 / (time.perf_counter() - wall_start)
        await pilot.press("M")  # hidden again: the same keys' cost without it
        app.query_one("#topology").focus()
        without = await _keys(app, lambda: app.selected, "j")
        app.session.playing = False
        checkpoint = _checkpoint(app)
    return {
        "plain": plain[0],
        "thinned": thinned[0],
        "every": every[0],
        "frames_cpu": plain[1] + thinned[1] + every[1],
        "render": render,
        "keys": with_view[0],
        "keys_without": without[0],
        "keys_cpu": with_view[1] + without[1],
        "rate": [rate],
        "checkpoint": [checkpoint],
        "startup": [app.heap.full_s],
    }


def _checkpoint(app: RcsimApp) -> float:
    """Wall time of one rewind checkpoint: the simulation's deep copy of the model, every
    5 s of simulated time at 6 nodes, 10 s at 100, inside the tick that crosses it, so a
    key waits for it. Timed as ``restart_checkpoints`` (the run is over: it also frees
    the run's earlier checkpoints, a little more than a tick's copy)."""
    start = time.perf_counter()
    app.session.sim.restart_checkpoints()
    return time.perf_counter() - start


def measure(masters: int) -> dict[str, list[float]]:
    # A 100-node Simulation's checkpoint deep copy recurses through the bus links (peer
    # to peer) deeper than Python's default 1000 frames (a RecursionError on main since
    # the TCP links landed, reported to the lead); raised here so the UI can be measured.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))
    session = cluster_session(masters, 1, seed=1, playing=False)
    session.sim.run_until(1000)
    session.inject("kill", node="n1")
    session.sim.run_until(4000)  # n1 PFAIL: reports in gossip
    app = RcsimApp(session, live=True)
    return asyncio.run(_measure(app))


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} / {max(values) * 1000:.1f} ms"


def main() -> str:
    rows = []
    for masters in SIZES:
        load_before = os.getloadavg()[0]
        runs = [measure(masters) for _ in range(RUNS)]
        load_after = os.getloadavg()[0]

        def every(name: str, runs: list[dict[str, list[float]]] = runs) -> list[float]:
            return [v for r in runs for v in r[name]]

        shown = [max(r["thinned"] + r["every"]) for r in runs]
        worst = [max(r["keys"]) for r in runs]
        worst_without = [max(r["keys_without"]) for r in runs]
        rows.append(
            [
                str(masters * 2),
                _ms(every("plain")),
                _ms(every("thinned")),
                _ms(every("every")),
                _ms(every("render")),
                f"{statistics.median(every('keys')) * 1000:.0f} ms; "
                + " ".join(f"{w * 1000:.0f}" for w in worst),
                f"{statistics.median(every('keys_without')) * 1000:.0f} ms; "
                + " ".join(f"{w * 1000:.0f}" for w in worst_without),
                f"{statistics.median(every('rate')):.2f}×",
                " ".join(f"{w * 1000:.0f}" for w in shown),
                _ms(every("frames_cpu")),
                _ms(every("keys_cpu")),
                f"{statistics.median(every('startup')) * 1000:.0f} ms",
                f"{statistics.median(every('checkpoint')) * 1000:.0f} / "
                f"{max(every('checkpoint')) * 1000:.0f} ms",
                f"{load_before:.1f} → {load_after:.1f}",
            ]
        )
    lines = [
        "## TUI with the message view: frame time and key latency",
        "",
        f"Headless app (120×40), n1 killed at 1 s and measured from 4 s (PFAIL reports in "
        f"gossip); {RUNS} runs per size, {FRAMES} frames per setting (the simulation "
        f"moved 100 ms before each) and {KEYS} keys per run while playing at maximum "
        f"speed; targets: keys within {KEY_TARGET_MS} ms, frames within "
        f"{FRAME_TARGET_MS} ms. Each run also measures the same things with the message "
        "view hidden, so a loaded machine's share can be told from the view's.",
        "",
        table(
            [
                "nodes",
                "frame, view hidden (median / worst)",
                "frame, view shown (reports only)",
                "frame, view shown (every PING/PONG)",
                "the view's own work (data + draw)",
                "keys, view shown: median; worst per run",
                "keys, view hidden: median; worst per run",
                "simulated s per wall s",
                "worst frame per run, view shown",
                "frame CPU (all settings; median / worst)",
                "key CPU (shown and hidden; median / worst)",
                "once at start: whole-heap collection",
                "one checkpoint (median / worst)",
                "load average (1 min) before → after",
            ],
            rows,
        ),
        "",
        "CPU: this process's CPU time over the same interval as the wall figure "
        "(time.process_time): what a frame or a key would take on an idle machine, "
        "less sensitive to the other processes' load than the wall time. "
        "The app collects and freezes the heap as it goes (tui/heap.py): once at start "
        "over the whole heap (its own column, a one-time cost), then four times a second "
        "over what is new. A checkpoint is the simulation's deep copy of the model for "
        "rewind (simulator/simulation.py), made inside the tick that crosses its time; "
        "keys wait for it, so it is shown apart: the keys above were pressed between "
        "checkpoints.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
