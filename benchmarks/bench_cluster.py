"""Cluster-bus speed: simulated time per CPU time, and peak memory, by cluster size.

Each size runs in a fresh child process (so peak RSS is its own): a converged cluster
of M masters + M replicas at the default cluster-node-timeout (15 s) is built, runs
:data:`WARM_S` simulated seconds untimed (the converged start state's first pings come
in a burst), then a span of simulated time is timed; the factor is simulated seconds
per CPU second (1000× means an hour of cluster time in 3.6 s). Peak memory is the
child's peak RSS minus that of a child that only imports the simulator (same run).

``RCSIM_BENCH_BASELINE=/path/to/an/rcsim/tree`` also runs every size (up to
``RCSIM_BENCH_BASELINE_MAX`` nodes, default 1,000) with that tree on ``PYTHONPATH``
(e.g. ``mkdir -p build/base && git archive 1749710 | tar -x -C build/base``), in the same run, and adds its
factor and the speed-up. ``RCSIM_BENCH_MAX_NODES`` (default 2,000) leaves out bigger sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import table

# (masters, replicas per master, timed simulated seconds)
SIZES: tuple[tuple[int, int, int], ...] = (
    (3, 1, 3600),
    (50, 1, 30),
    (150, 1, 10),
    (500, 1, 3),
    (1000, 1, 1),
)
WARM_S = 2

_CHILD = """
import json, resource, sys, time
from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.trace import Trace
masters, replicas, seconds, warm = map(int, sys.argv[1:5])
events = 0
if masters:
    engine, trace = Engine(1), Trace()
    start = time.process_time()
    cluster = Cluster(engine, trace, standard_topology(masters, replicas), {})
    built = time.process_time() - start
    engine.run_until(warm * 1000)
    events = engine.events_run
    start = time.process_time()
    engine.run_until((warm + seconds) * 1000)
    cpu = time.process_time() - start
    events = engine.events_run - events
else:
    built = cpu = 0.0
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"build_s": built, "cpu_s": cpu, "rss_kib": rss_kib, "events": events}))
"""


def _child(masters: int, replicas: int, seconds: int, tree: str | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = tree
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(masters), str(replicas), str(seconds), str(WARM_S)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree or Path(__file__).resolve().parent.parent,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> str:
    baseline_tree = os.environ.get("RCSIM_BENCH_BASELINE")
    if baseline_tree:
        baseline_tree = os.path.abspath(baseline_tree)  # a relative tree, e.g. build/base
    baseline_max = int(os.environ.get("RCSIM_BENCH_BASELINE_MAX", "1000"))
    max_nodes = int(os.environ.get("RCSIM_BENCH_MAX_NODES", "2000"))
    empty = _child(0, 0, 0)
    rows = []
    for masters, replicas, seconds in SIZES:
        nodes = masters * (1 + replicas)
        if nodes > max_nodes:
            continue
        result = _child(masters, replicas, seconds)
        factor = seconds / result["cpu_s"]
        memory = (result["rss_kib"] - empty["rss_kib"]) / 1024
        row = [
            f"{nodes:,} ({masters}+{masters * replicas})",
            f"{seconds} s",
            f"{result['cpu_s']:.2f} s",
            f"{factor:,.2f}×" if factor < 10 else f"{factor:,.0f}×",
            f"{result['events'] / result['cpu_s']:,.0f}",
            f"{result['build_s']:.1f} s",
            f"{memory:,.0f} MiB",
        ]
        if baseline_tree:
            if nodes <= baseline_max:
                base = _child(masters, replicas, seconds, baseline_tree)
                base_factor = seconds / base["cpu_s"]
                base_memory = (base["rss_kib"] - empty["rss_kib"]) / 1024
                row += [
                    f"{base_factor:,.2f}×" if base_factor < 10 else f"{base_factor:,.0f}×",
                    f"{base_memory:,.0f} MiB",
                    f"{factor / base_factor:.1f}×",
                ]
            else:
                row += ["—", "—", "—"]
        rows.append(row)
    header = [
        "nodes",
        "timed",
        "CPU time",
        "simulated / CPU",
        "events/s",
        "build (CPU)",
        "peak memory over baseline",
    ]
    if baseline_tree:
        header += ["baseline simulated / CPU", "baseline memory", "speed-up"]
    return (
        "## Cluster bus speed (default NT 15 s, converged cluster, no clients)\n\n"
        f"Factor = simulated time / CPU time of the timed span, after {WARM_S} s of simulated "
        "warm-up (1000× = an hour of cluster time in 3.6 s). Memory = peak RSS of the run "
        "minus the peak RSS of a process that only imports the simulator "
        f"({empty['rss_kib'] / 1024:.1f} MiB), measured in the same run."
        + (f" Baseline: the tree at `{baseline_tree}`, same children." if baseline_tree else "")
        + "\n\n"
        + table(header, rows)
    )
