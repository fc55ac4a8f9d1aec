"""Cluster-bus speed: simulated time per wall time, and peak memory, by cluster size.

Each size runs in a fresh child process (so peak RSS is its own): a converged cluster
of M masters + M replicas at the default cluster-node-timeout (15 s) runs for a span
of simulated time; the factor is simulated seconds per wall second (the baseline is
real time itself: 1000× means an hour of cluster time in 3.6 s). Peak memory is the
child's peak RSS minus that of a child that only imports the simulator (same run).
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import table

# (masters, replicas per master, simulated seconds)
SIZES: tuple[tuple[int, int, int], ...] = ((3, 1, 3600), (15, 1, 300), (50, 1, 30), (150, 1, 5))

_CHILD = """
import json, resource, sys, time
from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.trace import Trace
masters, replicas, seconds = map(int, sys.argv[1:4])
if masters:
    engine, trace = Engine(1), Trace()
    start = time.perf_counter()
    cluster = Cluster(engine, trace, standard_topology(masters, replicas), {})
    built = time.perf_counter() - start
    start = time.process_time()
    engine.run_until(seconds * 1000)
    cpu = time.process_time() - start
else:
    built = cpu = 0.0
    engine = None
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"build_s": built, "cpu_s": cpu, "rss_kib": rss_kib,
                  "events": engine.events_run if engine else 0}))
"""


def _child(masters: int, replicas: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(masters), str(replicas), str(seconds)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> str:
    baseline = _child(0, 0, 0)
    rows = []
    for masters, replicas, seconds in SIZES:
        nodes = masters * (1 + replicas)
        result = _child(masters, replicas, seconds)
        factor = seconds / result["cpu_s"]
        memory = (result["rss_kib"] - baseline["rss_kib"]) / 1024
        rows.append(
            [
                f"{nodes} ({masters}+{masters * replicas})",
                f"{seconds} s",
                f"{result['cpu_s']:.2f} s",
                f"{factor:,.0f}×",
                f"{result['events'] / result['cpu_s']:,.0f}",
                f"{result['build_s']:.2f} s",
                f"{memory:.1f} MiB",
            ]
        )
    header = [
        "nodes",
        "simulated",
        "CPU time",
        "simulated / real",
        "events/s",
        "build",
        "peak memory over baseline",
    ]
    return (
        "## Cluster bus speed (default NT 15 s, converged cluster, no clients)\n\n"
        "Factor = simulated time / CPU time of the run (1000× = an hour of cluster time in 3.6 s). "
        "Memory = peak RSS of the run minus the peak RSS of a process that only imports the "
        f"simulator ({baseline['rss_kib'] / 1024:.1f} MiB), measured in the same run.\n\n"
        + table(header, rows)
    )
