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
import statistics
import sys
import time

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


async def _frames(app: RcsimApp, pilot: object) -> list[float]:
    frames = []
    for _ in range(FRAMES):
        app.session.sim.run_for(100)  # new messages every frame
        start = time.perf_counter()
        app.refresh_panes()
        await pilot.pause()  # type: ignore[attr-defined]
        frames.append(time.perf_counter() - start)
    return frames


async def _measure(app: RcsimApp) -> dict[str, list[float]]:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("M")
        await pilot.pause()
        pane = app.query_one("#messages", MessagesPane)
        thinned = await _frames(app, pilot)
        await pilot.press("w")  # every PING/PONG
        every = await _frames(app, pilot)
        await pilot.press("w", "w")  # back to PFAIL reports only
        app.session.playing = True
        app.session.speed = 0.0  # max
        sim_start, wall_start = app.session.now, time.perf_counter()
        latencies: list[float] = []
        for i in range(KEYS):
            await asyncio.sleep(0.15)  # let a few ticks run between keys
            key = "k" if i % 2 == 0 else "j"
            before = pane.cursor
            start = time.perf_counter()
            app.post_message(events.Key(key, key))
            while pane.cursor == before:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - start)
        rate = (app.session.now - sim_start) / 1000 / (time.perf_counter() - wall_start)
        app.session.playing = False
    return {"thinned": thinned, "every": every, "keys": latencies, "rate": [rate]}


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


def main() -> str:
    rows = []
    for masters in SIZES:
        runs = [measure(masters) for _ in range(RUNS)]
        thinned = [f for r in runs for f in r["thinned"]]
        every = [f for r in runs for f in r["every"]]
        worst_keys = [max(r["keys"]) for r in runs]
        keys = [k for r in runs for k in r["keys"]]
        rate = statistics.median(r["rate"][0] for r in runs)
        rows.append(
            [
                str(masters * 2),
                f"{statistics.median(thinned) * 1000:.1f} / {max(thinned) * 1000:.1f} ms",
                f"{statistics.median(every) * 1000:.1f} / {max(every) * 1000:.1f} ms",
                f"{statistics.median(keys) * 1000:.0f} ms",
                " ".join(f"{w * 1000:.0f}" for w in worst_keys) + " ms",
                f"{max(worst_keys) * 1000:.0f} ms",
                f"{rate:.2f}×",
            ]
        )
    lines = [
        "## TUI with the message view: frame time and key latency",
        "",
        f"Headless app (120×40), message view shown (M), n1 killed at 1 s; {RUNS} runs per "
        f"size, {FRAMES} frames per setting and {KEYS} keys per run at maximum speed; "
        f"targets: keys within {KEY_TARGET_MS} ms (worst over the runs), frames within "
        f"{FRAME_TARGET_MS} ms.",
        "",
        table(
            [
                "nodes",
                "frame median / worst (reports only)",
                "frame median / worst (every PING/PONG)",
                "key median",
                "worst key per run",
                "worst key",
                "simulated s per wall s",
            ],
            rows,
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
