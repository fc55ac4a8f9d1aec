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

Every size also runs with the mypyc build of ``make fast`` (``RCSIM_COMPILED=1``,
simulator/compiled.py; built first if it is missing or stale), right after the pure
run, and the section gives both factors and their ratio (docs/benchmarks.md, Round 6).
``RCSIM_BENCH_COMPILED=0`` leaves the compiled runs out; if the build fails (no C
compiler), the section says why and gives the pure figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import table
from simulator.compiled import DIR_ENV, ENV
from simulator.compiled_build import ensure_built

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
try:
    from simulator.compiled import running_compiled
    compiled = running_compiled()
except ImportError:  # a baseline tree from before Round 6
    compiled = False
print(json.dumps({"build_s": built, "cpu_s": cpu, "rss_kib": rss_kib, "events": events,
                  "compiled": compiled}))
"""


def _child(
    masters: int,
    replicas: int,
    seconds: int,
    tree: str | None = None,
    compiled_dir: Path | None = None,
) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in (ENV, DIR_ENV)}
    if tree is not None:
        env["PYTHONPATH"] = tree
    if compiled_dir is not None:
        env.update({ENV: "1", DIR_ENV: str(compiled_dir)})
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(masters), str(replicas), str(seconds), str(WARM_S)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree or Path(__file__).resolve().parent.parent,
    ).stdout
    result: dict[str, float] = json.loads(out)
    if bool(result["compiled"]) != (compiled_dir is not None):
        raise RuntimeError(f"a child meant to run {'compiled' if compiled_dir else 'pure'} did not")
    return result


def _compiled_build() -> tuple[Path | None, str]:
    """The ``make fast`` build (built now if missing or stale), or why there is none."""
    if os.environ.get("RCSIM_BENCH_COMPILED", "1") in ("0", "no", "false"):
        return None, "left out (RCSIM_BENCH_COMPILED=0)"
    try:
        return ensure_built().directory, ""
    except (RuntimeError, OSError) as error:
        return None, f"not built: {str(error).splitlines()[0]}"


def _factor(value: float) -> str:
    return f"{value:,.2f}×" if value < 10 else f"{value:,.0f}×"


def main() -> str:
    baseline_tree = os.environ.get("RCSIM_BENCH_BASELINE")
    if baseline_tree:
        baseline_tree = os.path.abspath(baseline_tree)  # a relative tree, e.g. build/base
    baseline_max = int(os.environ.get("RCSIM_BENCH_BASELINE_MAX", "1000"))
    max_nodes = int(os.environ.get("RCSIM_BENCH_MAX_NODES", "2000"))
    empty = _child(0, 0, 0)
    compiled_dir, compiled_note = _compiled_build()
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
            _factor(factor),
            f"{result['events'] / result['cpu_s']:,.0f}",
            f"{result['build_s']:.1f} s",
            f"{memory:,.0f} MiB",
        ]
        if compiled_dir is not None:
            fast = _child(masters, replicas, seconds, compiled_dir=compiled_dir)
            fast_factor = seconds / fast["cpu_s"]
            fast_memory = (fast["rss_kib"] - empty["rss_kib"]) / 1024
            row += [_factor(fast_factor), f"{fast_memory:,.0f} MiB", f"{fast_factor / factor:.2f}×"]
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
    if compiled_dir is not None:
        header += ["compiled simulated / CPU", "compiled memory", "compiled ÷ pure"]
    if baseline_tree:
        header += ["baseline simulated / CPU", "baseline memory", "speed-up"]
    return (
        "## Cluster bus speed (default NT 15 s, converged cluster, no clients)\n\n"
        f"Factor = simulated time / CPU time of the timed span, after {WARM_S} s of simulated "
        "warm-up (1000× = an hour of cluster time in 3.6 s). Memory = peak RSS of the run "
        "minus the peak RSS of a process that only imports the simulator "
        f"({empty['rss_kib'] / 1024:.1f} MiB), measured in the same run."
        + (f" Baseline: the tree at `{baseline_tree}`, same children." if baseline_tree else "")
        + (
            f" Compiled: the same sources with the mypyc build in `{compiled_dir}` "
            "(`make fast`, `RCSIM_COMPILED=1`), run right after the pure child of each size."
            if compiled_dir is not None
            else f" Compiled (mypyc, `make fast`): {compiled_note}."
        )
        + "\n\n"
        + table(header, rows)
    )
