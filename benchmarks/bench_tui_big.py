"""The TUI at 300 and 1,000 nodes (issue 12): frame time and key latency with the
collapsed topology, its filter and the node view's scrolled peer table.

Workload: a bare cluster (M masters with one replica each, NT 2 s, bus messages traced
as the TUI always does); n1 is killed at 500 ms and the cluster run to ``WATCH_MS``
(300 nodes: 3.5 s, so the others flag n1 PFAIL; 1,000 nodes: 1 s, n1 crashed but not
flagged yet — the 1,000-node simulation needs minutes of CPU per simulated second with
NT 2 s, far more than the TUI). The session is built once per size; each run opens a
fresh app on it (headless, ``App.run_test``, 120×40, its timers live) and goes on from
where the last run left the simulation.

Per run:

- **frame**: ``FRAMES`` redraws of every shown pane (``refresh_panes``) and Textual's
  paint, the simulation moved ``STEP_MS`` before each (wall and process CPU time), up
  to the app being idle (``pilot.pause()``: at least one 20 ms sleep of the harness,
  and whatever the app's timers and queued callbacks run meanwhile: the fold of the
  ``STEP_MS`` the benchmark simulated in one call, a heap settle of everything it
  made). Not a frame a learner sees while playing (the app simulates in slices, each
  folded); kept to compare with earlier figures. **frame → paint** is the same frames
  from the redraw's start to the end of the Textual paint that showed it (the
  compositor's update that held the last widget the redraw changed, handed to the
  driver: tui/frame_path.py ``FramePath.paints``; a terminal's write is not included,
  the app is headless).
- **frames while playing** (what the learner sees): every redraw the app made while
  playing at maximum speed (the frame timer's and the keys'), from its start to the
  end of the paint that showed it, wall time and the process's CPU over that interval
  (whatever ran in it: the redraw, other tasks' turns, the paint); and how many heap
  settles and simulation slices ran between a redraw's start and its paint
  (tui/frame_path.py keeps both out: 0 expected); for each run's slowest, what ran in
  it (as for the keys). Also from its start to the first paint of anything (what
  this column measured before 2026-12-02: a paint of another widget could end it).
- **the longest slices**: each time a slice is the longest of its run so far, its wall
  and CPU time, the trace events it made, the simulated ms it spanned, its page faults
  and context switches, the garbage collections inside it and whether a forked
  checkpoint child was writing (printed above the table).
- **keys** while playing at maximum speed (``KEYS`` presses, ~0.15 s apart): ``j``
  (the next node: topology and node view redraw), ``pagedown`` with the node view
  focused (its peer table scrolls) and the filter's ``enter`` (``N``, ``fail``,
  enter; then cleared): wall time from posting the key to the app having handled it,
  and the process's CPU time over the same interval.
- **redraws while playing**: every ``refresh_panes`` meanwhile (without the paint),
  and the longest simulation slice (``Session.advance_to``), which a key may have to
  wait for.

Sizes and runs: ``RCSIM_BENCH_TUI_SIZES`` (masters, default ``150,500``) and
``RCSIM_BENCH_TUI_RUNS`` (default ``5,3``: five runs at 300 nodes, three at 1,000).
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import RenderableType
from textual import events
from textual.screen import Screen

from benchmarks.common import table
from tui.app import RcsimApp
from tui.launch import cluster_session
from tui.model import Session
from tui.panes import NodeViewPane, TopologyPane
from tui.render_overview import NodeFilter

FRAMES = 8
KEYS = 18  # six of each kind
STEP_MS = {150: 20, 500: 5}
WATCH_MS = {150: 3500, 500: 1000}
KEY_TARGET_MS = 100
FRAME_TARGET_MS = 50

Samples = dict[str, list[float]]


def _sizes() -> list[tuple[int, int]]:
    masters = [int(m) for m in os.environ.get("RCSIM_BENCH_TUI_SIZES", "150,500").split(",")]
    runs = [int(r) for r in os.environ.get("RCSIM_BENCH_TUI_RUNS", "5,3").split(",")]
    return [(m, runs[min(i, len(runs) - 1)]) for i, m in enumerate(masters)]


def _add(samples: Samples, name: str, wall: float, cpu: float) -> None:
    samples.setdefault(name, []).append(wall)
    samples.setdefault(name + "_cpu", []).append(cpu)


Span = tuple[str, float, float, float]  # (what ran, wall start, wall end, its CPU s)


async def _press(
    app: RcsimApp,
    key: str,
    moved: Callable[[], object],
    samples: Samples,
    name: str,
    waits: list[Span] | None = None,
) -> None:
    before = moved()
    start, cpu = time.perf_counter(), time.process_time()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    while moved() == before:
        await asyncio.sleep(0.001)
    end = time.perf_counter()
    spent = time.process_time() - cpu
    _add(samples, name, end - start, spent)
    if waits is not None:
        waits.append((name, start, end, spent))


def _worst_key(waits: list[Span], spans: list[Span]) -> str:
    """What ran while the slowest key waited, wall ms / CPU ms: the simulation's slices
    (``tick``: the engine), the folds after them (``fold``, the spill in it apart:
    ``spill``), the heap settles, the frames' redraws (``frame``, the fold in them
    included), Textual's paints of the main screen (``paint``: the compositor's update
    and its hand-over to the driver); the rest is Textual (the key's own handling, the
    widgets' queues) and the loop. A span's CPU counts whole when it overlaps. Also used
    for the slowest frame → paint (``waits``: those intervals)."""
    if not waits:
        return "-"
    key, start, end, cpu = max(waits, key=lambda w: w[2] - w[1])
    spent: dict[str, float] = {}
    spent_cpu: dict[str, float] = {}
    count: dict[str, int] = {}
    for what, a, b, c in spans:
        overlap = min(b, end) - max(a, start)
        if overlap > 0:
            spent[what] = spent.get(what, 0.0) + overlap
            spent_cpu[what] = spent_cpu.get(what, 0.0) + c
            count[what] = count.get(what, 0) + 1
    parts = [
        f"{w} {spent[w] * 1000:.0f}/{spent_cpu[w] * 1000:.0f}"
        + (f"×{count[w]}" if count[w] > 1 else "")
        for w in spent
    ]
    head = f"{key.removeprefix('key_')} {(end - start) * 1000:.0f}/{cpu * 1000:.0f}: "
    return head + " ".join(parts)


Paint = tuple[float, float]  # (wall end of the paint, process CPU then)


def _time_paints(app: RcsimApp) -> tuple[list[Paint], list[Paint]]:
    """Record the end of every paint of the app's screen (the compositor's update
    handed to ``App._display``; headless, so nothing is written), and of those that
    painted a redraw's last changed widget (tui/frame_path.py ``FramePath.paints``)."""
    paints: list[Paint] = []
    own: list[Paint] = []
    display = app._display

    def timed_display(screen: Screen[Any], renderable: RenderableType | None) -> None:
        before = app.frame_path.paints
        display(screen, renderable)
        if renderable is not None or app.frame_path.paints > before:
            paint = (time.perf_counter(), time.process_time())
            paints.append(paint)
            if app.frame_path.paints > before:
                own.append(paint)

    app._display = timed_display  # type: ignore[method-assign]
    return paints, own


def _painted(start: float, paints: list[Paint], until: float = math.inf) -> Paint | None:
    """The first paint after ``start`` (before ``until``: the next redraw)."""
    index = bisect.bisect_left(paints, (start, 0.0))
    if index < len(paints) and paints[index][0] < until:
        return paints[index]
    return None


def _frames_to_paint(
    samples: Samples,
    spans: list[Span],
    paints: tuple[list[Paint], list[Paint]],
    cpu_at: dict[float, float],
) -> str:
    """Per redraw while playing: its start to the paint that showed it (wall, and the
    process CPU over it; a redraw whose widgets were painted with the next redraw's is
    left out: that one counts); the settles and slices that ran in that gap; and to the
    first paint of anything (what this column measured before). Returns what ran in the
    slowest (``_worst_key``'s words: its own redraw is ``frame``)."""
    paints, own = paints
    frames = [(a, b) for what, a, b, _ in spans if what == "frame"]
    painted: list[Span] = []
    for i, (start, _) in enumerate(frames):
        first = _painted(start, paints)
        if first is not None:
            samples.setdefault("play_first_paint", []).append(first[0] - start)
        until = frames[i + 1][0] if i + 1 < len(frames) else math.inf
        paint = _painted(start, own, until)
        if paint is None:
            continue  # nothing changed on screen, or painted with the next redraw's
        _add(samples, "play_paint", paint[0] - start, paint[1] - cpu_at[start])
        painted.append(("frame", start, paint[0], paint[1] - cpu_at[start]))
        for what in ("settle", "tick"):
            inside = sum(1 for w, a, b, _ in spans if w == what and b > start and a < paint[0])
            samples.setdefault(f"{what}_in_frame", []).append(inside)
    return _worst_key(painted, spans)


async def _measure(
    app: RcsimApp, step_ms: int, worst_keys: list[str], worst_frames: list[str]
) -> Samples:
    samples: Samples = {}
    start, cpu = time.perf_counter(), time.process_time()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        _add(samples, "startup", time.perf_counter() - start, time.process_time() - cpu)
        paints = _time_paints(app)
        for _ in range(FRAMES):
            app.session.sim.run_for(step_ms)
            start, cpu = time.perf_counter(), time.process_time()
            app.refresh_panes()
            await pilot.pause()
            _add(samples, "frame", time.perf_counter() - start, time.process_time() - cpu)
            paint = _painted(start, paints[1])
            if paint is not None:
                _add(samples, "frame_paint", paint[0] - start, paint[1] - cpu)
        spans: list[Span] = []
        cpu_at: dict[float, float] = {}
        waits: list[Span] = []
        _time_play(app, samples, spans, cpu_at)
        topology = app.query_one("#topology", TopologyPane)
        nodeview = app.query_one("#nodeview", NodeViewPane)
        app.session.playing = True
        app.session.speed = 0.0  # max
        sim_start, wall_start = app.session.now, time.perf_counter()
        for i in range(KEYS):
            await asyncio.sleep(0.15)  # let a few ticks and frames run between keys
            kind = i % 3
            if kind == 0:
                topology.focus()
                await _press(app, "j", lambda: app.selected, samples, "key_j", waits)
            elif kind == 1:
                nodeview.focus()
                await _press(app, "pagedown", lambda: nodeview.first, samples, "key_page", waits)
            else:
                await pilot.press("N", *"fail")
                await _press(
                    app, "enter", lambda: topology.node_filter, samples, "key_filter", waits
                )
                topology.node_filter = None
        samples["rate"] = [
            (app.session.now - sim_start) / 1000 / (time.perf_counter() - wall_start)
        ]
        app.session.playing = False
        worst_keys.append(_worst_key(waits, spans))
        worst_frames.append(_frames_to_paint(samples, spans, paints, cpu_at))
        assert topology.node_filter is None or isinstance(topology.node_filter, NodeFilter)
    return samples


def _time_play(
    app: RcsimApp, samples: Samples, spans: list[Span], cpu_at: dict[float, float]
) -> None:
    """Time every redraw (the frame timer's and the keys') and every simulation slice
    from now on; ``spans`` gets those and every fold, spill and heap settle (what a key
    waits for); ``cpu_at`` the process CPU at each redraw's start."""
    slowest: list[float] = [0.0]  # the longest slice so far (wall s)
    collected = _time_collections()
    for owner, name in ((app.session, "advance_to"), (app.session, "fold")):
        vars(owner).pop(name, None)  # the last run's wrappers (the session is shared)
    vars(app.session.sim.views).pop("spill_bus", None)
    refresh = app.refresh_panes
    advance = app.session.advance_to
    fold = app.session.fold
    settle = app.heap.settle
    spill = app.session.sim.views.spill_bus

    def timed_refresh() -> None:
        start, cpu = time.perf_counter(), time.process_time()
        cpu_at[start] = cpu
        refresh()
        end, spent = time.perf_counter(), time.process_time() - cpu
        _add(samples, "play_frame", end - start, spent)
        spans.append(("frame", start, end, spent))

    sim = app.session.sim

    def timed_advance(target: int, budget: float | None = None) -> bool:
        before = resource.getrusage(resource.RUSAGE_SELF)
        collections = len(collected)
        events, now = len(sim.trace), sim.now
        child = _child_busy(app)
        start, cpu = time.perf_counter(), time.process_time()
        reached = advance(target, budget)
        end, spent = time.perf_counter(), time.process_time() - cpu
        _add(samples, "tick", end - start, spent)
        spans.append(("tick", start, end, spent))
        if end - start > slowest[0]:
            slowest[0] = end - start
            after = resource.getrusage(resource.RUSAGE_SELF)
            gcs = collected[collections:]
            slices.append(
                f"{(end - start) * 1000:.0f} ms wall, {(time.process_time() - cpu) * 1000:.0f}"
                f" CPU, {len(sim.trace) - events} trace events, {now}→{sim.now} ms,"
                f" minor faults {after.ru_minflt - before.ru_minflt},"
                f" major {after.ru_majflt - before.ru_majflt},"
                f" switches {after.ru_nvcsw - before.ru_nvcsw}+{after.ru_nivcsw - before.ru_nivcsw},"
                f" gc {' '.join(f'g{g} {d * 1000:.0f}ms' for g, d in gcs) or 'none'},"
                f" checkpoint child {'writing' if child else 'none'}"
            )
        return reached

    def timed(name: str, call: Callable[..., object]) -> Callable[..., object]:
        def run(*args: object, **kwargs: object) -> object:
            start, cpu = time.perf_counter(), time.process_time()
            result = call(*args, **kwargs)
            end, spent = time.perf_counter(), time.process_time() - cpu
            spans.append((name, start, end, spent))
            _add(samples, name, end - start, spent)
            return result

        return run

    app.refresh_panes = timed_refresh  # type: ignore[method-assign]
    app.session.advance_to = timed_advance  # type: ignore[method-assign]
    app.session.fold = timed("fold", fold)  # type: ignore[method-assign,assignment]
    app.heap.settle = timed("settle", settle)  # type: ignore[method-assign,assignment]
    app.session.sim.views.spill_bus = timed("spill", spill)  # type: ignore[method-assign,assignment]
    # Textual's paint: the panes' screen's update timer (a modal's paints are not timed).
    timer = app.screen_stack[0]._update_timer
    timer._callback = timed("paint", timer._callback)


slices: list[str] = []
"""What ran in each new longest slice (printed at the end): the CPU, the trace events,
the page faults and context switches, the garbage collections inside it and whether a
forked checkpoint child was still writing (its copy-on-write faults land in the slices)."""


def _time_collections() -> list[tuple[int, float]]:
    """Every garbage collection from now on: (generation, wall seconds)."""
    collected: list[tuple[int, float]] = []
    started = [0.0]
    for callback in list(gc.callbacks):
        if getattr(callback, "bench_tui_big", False):
            gc.callbacks.remove(callback)

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            collected.append((info["generation"], time.perf_counter() - started[0]))

    timed.bench_tui_big = True  # type: ignore[attr-defined]
    gc.callbacks.append(timed)
    return collected


def _child_busy(app: RcsimApp) -> bool:
    """A forked checkpoint child is still writing (simulator/checkpoints.py)."""
    return any(c.snapshot.busy for c in app.session.sim._checkpoints)


def session_for(masters: int) -> tuple[Session, float]:
    """The cluster with n1 killed at 500 ms, run to ``WATCH_MS`` (and its CPU time)."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))  # checkpoint deep copies
    cpu = time.process_time()
    session = cluster_session(masters, 1, seed=1, playing=False)
    session.sim.run_until(500)
    session.inject("kill", node="n1")
    session.sim.run_until(WATCH_MS.get(masters, 1000))
    return session, time.process_time() - cpu


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} / {max(values) * 1000:.1f}"


def _per_run(runs: list[Samples], name: str) -> str:
    return " ".join(f"{max(r[name]) * 1000:.0f}" for r in runs if r.get(name))


def main() -> str:
    rows = []
    for masters, count in _sizes():
        session, build = session_for(masters)
        load_before = os.getloadavg()[0]
        worst_keys: list[str] = []
        worst_frames: list[str] = []
        step = STEP_MS.get(masters, 5)
        runs = [
            asyncio.run(_measure(RcsimApp(session, live=True), step, worst_keys, worst_frames))
            for _ in range(count)
        ]
        session_cpu = time.process_time()
        load_after = os.getloadavg()[0]

        def every(name: str, runs: list[Samples] = runs) -> list[float]:
            return [v for r in runs for v in r.get(name, [])] or [0.0]

        keys = [*every("key_j"), *every("key_page"), *every("key_filter")]
        keys_cpu = [*every("key_j_cpu"), *every("key_page_cpu"), *every("key_filter_cpu")]
        rows.append(
            [
                f"{masters * 2} ({count} runs)",
                f"{build:.0f} s",
                _ms(every("frame_cpu")),
                _ms(every("frame")),
                _ms(every("frame_paint")),
                f"{_ms(every('play_paint'))}; CPU {_ms(every('play_paint_cpu'))}",
                _ms(every("play_first_paint")),
                _per_run(runs, "play_paint"),
                f"{len(every('settle_in_frame'))}; "
                f"{sum(1 for v in every('settle_in_frame') if v)}; "
                f"{sum(1 for v in every('tick_in_frame') if v)}",
                _ms(every("play_frame_cpu")),
                _ms(keys_cpu),
                f"{statistics.median(keys) * 1000:.0f}; "
                + " ".join(
                    f"{max(r['key_j'] + r['key_page'] + r['key_filter']) * 1000:.0f}" for r in runs
                ),
                f"j {_ms(every('key_j_cpu'))} · PgDn {_ms(every('key_page_cpu'))}"
                f" · filter {_ms(every('key_filter_cpu'))}",
                _per_run(runs, "frame"),
                _per_run(runs, "tick"),
                _per_run(runs, "tick_cpu"),
                f"paint {_ms(every('paint_cpu'))} · settle {_ms(every('settle_cpu'))}"
                f" · fold {_ms(every('fold_cpu'))}",
                f"{statistics.median(every('startup_cpu')):.1f} s",
                f"{statistics.median(every('rate')):.3f}×",
                f"{load_before:.1f} → {load_after:.1f}",
                " / ".join(worst_keys),
                " / ".join(worst_frames),
                f"{session_cpu / 60:.1f} min",
            ]
        )
    lines = [
        "longest slices, each new longest as it came: " + " | ".join(slices),
        "",
        "## TUI at 300 and 1,000 nodes: the collapsed topology",
        "",
        f"(`bench_tui_big`; headless app 120×40; n1 killed at 500 ms; {FRAMES} frames and "
        f"{KEYS} keys per run while playing at maximum speed; targets: keys within "
        f"{KEY_TARGET_MS} ms, frames within {FRAME_TARGET_MS} ms of their start to their "
        "paint. Times in ms unless said; median / worst. *frame* is the benchmark's "
        "redraw after a synchronous simulation, up to the app being idle; *frame → "
        "paint* a redraw's start to the end of Textual's paint: module docstring.)",
        "",
        table(
            [
                "nodes",
                "build + run to the watch time (CPU)",
                "frame CPU",
                "frame wall",
                "frame → paint, the same frames (wall)",
                "**frame → its paint while playing** (wall; CPU)",
                "frame → the first paint of anything, playing (wall)",
                "worst frame → paint per run, playing (wall)",
                "frames painted while playing; with a settle inside; with a slice inside",
                "frame CPU while playing (no paint)",
                "key CPU",
                "key wall: median; worst per run",
                "key CPU by key",
                "worst frame per run (wall, the benchmark's frames)",
                "longest simulation slice per run (wall)",
                "longest simulation slice per run (CPU)",
                "CPU of Textual's paints, the heap settles, the folds while playing",
                "app start (CPU, whole-heap collection)",
                "simulated s per wall s at max",
                "load average (1 min)",
                "worst key per run: what ran while it waited (wall ms)",
                "worst frame → paint per run, playing: what ran in it (wall ms)",
                "process CPU so far",
            ],
            rows,
        ),
    ]
    return "\n".join(lines)


async def _paused_keys(app: RcsimApp, presses: int = 12) -> Samples:
    """Each key's own cost: the app live but paused (no simulation slice to wait for),
    the repaint included; and one frame's redraw without paint after 5 ms more."""
    samples: Samples = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await asyncio.sleep(0.5)
        topology = app.query_one("#topology", TopologyPane)
        nodeview = app.query_one("#nodeview", NodeViewPane)
        for _ in range(presses):
            topology.focus()
            await _press(app, "j", lambda: app.selected, samples, "j")
            nodeview.focus()
            await _press(app, "pagedown", lambda: nodeview.first, samples, "PgDn")
            await pilot.press("N", *"n1")
            start, cpu = time.perf_counter(), time.process_time()
            await pilot.press("enter")
            await pilot.pause()
            _add(samples, "filter", time.perf_counter() - start, time.process_time() - cpu)
            topology.node_filter = None
            app.session.sim.run_for(5)
            start, cpu = time.perf_counter(), time.process_time()
            app.refresh_panes()
            _add(samples, "redraw", time.perf_counter() - start, time.process_time() - cpu)
            await pilot.pause()
    return samples


def paused(masters: int, watch_ms: int) -> str:
    """``python -m benchmarks.bench_tui_big --paused MASTERS WATCH_MS``."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))
    session = cluster_session(masters, 1, seed=1, playing=False)
    session.sim.run_until(min(500, watch_ms))
    session.inject("kill", node="n1")
    session.sim.run_until(watch_ms)
    samples = asyncio.run(_paused_keys(RcsimApp(session, live=True)))
    return "\n".join(
        f"{name}: CPU {_ms(samples[name + '_cpu'])} ms, wall {_ms(samples[name])} ms"
        for name in ("j", "PgDn", "filter", "redraw")
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--paused"]:
        print(paused(int(sys.argv[2]), int(sys.argv[3])))
    else:
        print(main())
