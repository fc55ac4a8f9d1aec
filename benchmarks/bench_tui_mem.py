"""Peak memory of a TUI session playing a big cluster, against ``rcsim run`` (issue 12).

A 1,000-node TUI session grew past 10 GB while it played: the TUI traces every bus
packet for its message view (``bus_message``), over a million per simulated second at
1,000 nodes with NT 2 s, each with ~100 gossip entries. Since then a traced gossip
entry is a shared list (simulator/bus_trace.py) and the heartbeats no message view
reads are spilled to disk (simulator/views/bus_spill.py).

Workload: a generated scenario, M masters with one replica each (``cluster-node-timeout``
``NT_MS``), n1 killed at 2 s, ending at ``N`` simulated seconds. Each measurement runs
in a child process of its own under a memory cap (``RLIMIT_AS``, ``CAP_BYTES``: a runaway
dies instead of taking the machine down), which prints its own peak RSS (``VmHWM``):

- **headless**: ``rcsim run FILE`` (no bus trace, no checkpoints), in the child;
- **tui**: the TUI on the same file (``scenario_session``: bus trace on, forked
  checkpoints), headless (``App.run_test``, 120×40, its timers live), playing at
  maximum speed until the simulation reaches ``N`` s; the message view shown (``M``), so
  its index is built too;
- **tui, no spill** (``--no-spill``): the same with the spill's limit raised past the
  run (the memory before the spill, with the shared gossip entries).

Sizes: ``RCSIM_BENCH_TUI_MEM`` (``masters:seconds,...``, default ``150:20,500:4``).
``python -m benchmarks.bench_tui_mem [--no-spill]``; ``--growth MASTERS SECONDS
[no-spill|headless]`` prints the RSS of the TUI's model (no Textual; ``headless``: the
model ``rcsim run`` plays, no bus trace, no checkpoints) every 500 simulated ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CAP_BYTES = 5_000_000_000
NT_MS = 2000
KILL_MS = 2000
SIZES = "150:20,500:4"
PROGRESS_S = 30.0  # wall seconds between a playing child's progress lines


def scenario_text(masters: int, seconds: int) -> str:
    return (
        f"name: {masters * 2}-node cluster, n1 killed (benchmark)\n"
        "description: benchmarks/bench_tui_mem.py, not a lesson.\n"
        "seed: 1\n"
        "cluster:\n"
        f"  masters: {masters}\n"
        "  replicas: 1\n"
        f"  config: {{cluster-node-timeout: {NT_MS}}}\n"
        "steps:\n"
        f"  - at: {KILL_MS}ms\n"
        "    kill: n1\n"
        f"  - at: {seconds}s\n"
        "    caption: the end of the benchmark\n"
    )


def _progress(now_ms: int) -> None:
    """A line on stderr: how far the session is, its RSS and peak so far (the last one is
    what ``measure`` reports if the child is stopped)."""
    with open("/proc/self/status", encoding="ascii") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith("Vm"))
    rss, hwm = (int(fields.get(k, "0 kB").split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
    sys.stderr.write(
        f"PROGRESS reached {now_ms} ms: RSS {rss:,.0f} MiB, peak {hwm:,.0f} MiB, "
        f"CPU {time.process_time():.0f} s\n"
    )
    sys.stderr.flush()


def _peak_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---------------------------------------------------------------------- children


def _headless(path: str) -> dict[str, object]:
    from rcsim.cli import main

    code = main(["run", path])
    return {"exit": code}


def _tui(path: str, seconds: int, spill: bool) -> dict[str, object]:
    from tui.app import RcsimApp
    from tui.launch import scenario_session
    from tui.model import MAX_SPEED

    session = scenario_session(path, playing=False)
    if not spill:  # the limit past anything this run traces: nothing is spilled
        views = session.sim.views
        views._spill = type(views._spill)(keep=10**12)  # a benchmark's switch
    target = seconds * 1000
    app = RcsimApp(session, live=True)

    async def play() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("M")  # the message view: its index is built as it plays
            session.speed = MAX_SPEED
            session.playing = True
            said = time.perf_counter()
            while session.now < target and session.playing:
                await asyncio.sleep(0.05)
                if time.perf_counter() - said > PROGRESS_S:  # a long run says how far it is
                    said = time.perf_counter()
                    _progress(session.now)
            session.playing = False
            await pilot.pause()

    asyncio.run(play())
    spill_bus = getattr(session.sim.views, "spill_bus", None)  # None: a tree before it
    return {
        "reached_ms": session.now,
        "events": len(session.sim.trace.events),
        "spilled": spill_bus() if spill_bus is not None else 0,
    }


def child(argv: list[str]) -> None:
    """``--child headless FILE`` or ``--child tui FILE SECONDS [no-spill]``: one
    measurement; prints a JSON line with the peak RSS."""
    start, cpu = time.perf_counter(), time.process_time()
    if argv[0] == "headless":
        result = _headless(argv[1])
    else:
        result = _tui(argv[1], int(argv[2]), spill=argv[3:4] != ["no-spill"])
    result.update(
        peak_mib=_peak_mib(), wall_s=time.perf_counter() - start, cpu_s=time.process_time() - cpu
    )
    print("RESULT " + json.dumps(result), flush=True)


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))


def measure(args: list[str]) -> dict[str, object]:
    """One child under the memory cap; its RESULT line, or why it died."""
    done = subprocess.run(  # our own interpreter and module
        [sys.executable, "-m", "benchmarks.bench_tui_mem", "--child", *args],
        capture_output=True,
        text=True,
        preexec_fn=_cap,  # no threads in this parent
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, object] = json.loads(line[len("RESULT ") :])
            return result
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"died": f"exit {done.returncode}: {tail[:120]}"}


def _peak(result: dict[str, object]) -> float | None:
    peak = result.get("peak_mib")
    return float(peak) if isinstance(peak, (int, float)) else None


def _mib(result: dict[str, object]) -> str:
    peak = _peak(result)
    return f"{peak:,.0f} MiB" if peak is not None else str(result.get("died"))


def _number(result: dict[str, object], name: str) -> float:
    value = result.get(name)
    return float(value) if isinstance(value, (int, float)) else 0.0


def main(no_spill: bool = False) -> str:
    from benchmarks.common import table

    sizes = [
        tuple(int(x) for x in item.split(":"))
        for item in os.environ.get("RCSIM_BENCH_TUI_MEM", SIZES).split(",")
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="rcsim-bench-mem-") as folder:
        for masters, seconds in sizes:
            path = Path(folder) / f"cluster-{masters}.yaml"
            path.write_text(scenario_text(masters, seconds), encoding="utf-8")
            load = os.getloadavg()[0]
            headless = measure(["headless", str(path)])
            tui = measure(["tui", str(path), str(seconds)])
            before = measure(["tui", str(path), str(seconds), "no-spill"]) if no_spill else {}
            peaks = _peak(tui), _peak(headless)
            ratio = f"{peaks[0] / peaks[1]:.2f}×" if peaks[0] and peaks[1] else "-"
            rows.append(
                [
                    f"{masters * 2}",
                    f"{seconds} s",
                    f"{_mib(headless)} ({_number(headless, 'cpu_s'):.0f} s CPU)",
                    f"{_mib(tui)} ({_number(tui, 'cpu_s'):.0f} s CPU, reached "
                    f"{_number(tui, 'reached_ms') / 1000:g} s)",
                    ratio,
                    f"{_number(tui, 'events'):,.0f} / {_number(tui, 'spilled'):,.0f}",
                    _mib(before) if no_spill else "not run (--no-spill)",
                    f"{load:.1f}",
                ]
            )
    lines = [
        "## TUI session memory at 300 and 1,000 nodes",
        "",
        f"(`bench_tui_mem`; NT {NT_MS} ms, n1 killed at {KILL_MS} ms; each run a child "
        f"process capped at {CAP_BYTES / 1e9:g} GB of address space; peak RSS = VmHWM)",
        "",
        table(
            [
                "nodes",
                "simulated",
                "rcsim run: peak RSS",
                "TUI session (max speed, message view shown): peak RSS",
                "TUI / run",
                "trace events / heartbeats spilled",
                "TUI without the spill",
                "load (1 min)",
            ],
            rows,
        ),
    ]
    return "\n".join(lines)


def growth(masters: int, seconds: float, spill: bool = True, headless: bool = False) -> str:
    """``--growth MASTERS SECONDS [no-spill|headless]``: the TUI's model of a bare cluster
    (``cluster_session``: bus trace on, forked checkpoints, NT 2 s, no Textual) run in
    500 ms slices, each followed by the sync a frame makes (which spills, a few looks
    until it caught up); RSS and peak after each slice. ``headless``: the model a
    ``rcsim run`` plays instead (no bus trace, no checkpoints). Run it under a cap:
    ``prlimit --as=5000000000 python -m benchmarks.bench_tui_mem --growth 100 5``."""
    from simulator.simulation import Simulation
    from tui.launch import cluster_session

    if headless:
        config = {"cluster-node-timeout": NT_MS}
        sim = Simulation(masters=masters, replicas=1, config=config, seed=1, checkpoint_ms=None)
        session = None
    else:
        session = cluster_session(masters, 1, seed=1, playing=False)
        sim = session.sim
    views = sim.views
    if not spill and hasattr(views, "_spill"):
        views._spill = type(views._spill)(keep=10**12)  # a benchmark's switch
    lines = [f"built: RSS {_rss_mib():.0f} MiB, peak {_peak_mib():.0f} MiB"]
    t = 0
    while t < seconds * 1000:
        t += 500
        sim.run_until(t)
        while session is not None:  # a frame's looks, until the spill caught up
            session.sync()
            if not getattr(getattr(views, "_spill", None), "behind", False):
                break
        events = len(sim.trace.events)
        spilled = views.spill_bus() if session is not None and hasattr(views, "spill_bus") else 0
        lines.append(
            f"{t / 1000:g} s: RSS {_rss_mib():.0f} MiB, peak {_peak_mib():.0f} MiB, "
            f"{events:,} trace events, {spilled:,} spilled, CPU {time.process_time():.1f} s"
        )
    return "\n".join(lines)


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    elif sys.argv[1:2] == ["--growth"]:
        flag = sys.argv[4:5]
        print(
            growth(
                int(sys.argv[2]),
                float(sys.argv[3]),
                spill=flag != ["no-spill"],
                headless=flag == ["headless"],
            )
        )
    else:
        print(main(no_spill="--no-spill" in sys.argv[1:]))
