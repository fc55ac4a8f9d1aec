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

Two windows, same child: the first starts :data:`WARM_S` s after the converged start,
as it always has, so it holds the ping bursts every NT/2 that follow a cluster just
created (real Redis 7.0.15 has them after ``redis-cli --cluster create`` too:
tests/data/real-redis-ping-series.json, docs/benchmarks.md Round 7); issue 12 asks for a
*converged idle* cluster, so sizes up to ``RCSIM_BENCH_STEADY_MAX_NODES`` (default 300)
also time a second window of the same child starting at :data:`STEADY_WARM_S` s, when
the bursts have faded to the running cluster's rate (docs/benchmarks.md Round 8).
Both figures are reported, each labelled with its window.

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

# (masters, replicas per master, timed simulated seconds, steady-state timed seconds)
SIZES: tuple[tuple[int, int, int, int], ...] = (
    (3, 1, 3600, 600),
    (50, 1, 30, 30),
    (150, 1, 10, 20),
    (500, 1, 3, 3),
    (1000, 1, 1, 1),
)
WARM_S = 2
# The steady-state window starts here: a converged 300-node cluster's ping bursts after
# its create-like start fade over the first minute (150+150, seed 1: PINGs per second
# peak / median 5.5 over seconds 2-12, 1.8 over 60-80, mean 1,864 against 2,400; real
# 150+150 sampled ~2 min after its create: median 2,520, mean 2,571).
STEADY_WARM_S = 60

_CHILD = """
import json, resource, sys, time
from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.trace import Trace
masters, replicas, seconds, warm, steady, steady_warm = map(int, sys.argv[1:7])
events = steady_events = 0
steady_cpu = 0.0
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
    if steady:
        engine.run_until(max(steady_warm, warm + seconds) * 1000)
        steady_events = engine.events_run
        start = time.process_time()
        engine.run_until((max(steady_warm, warm + seconds) + steady) * 1000)
        steady_cpu = time.process_time() - start
        steady_events = engine.events_run - steady_events
else:
    built = cpu = 0.0
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    from simulator.compiled import running_compiled
    compiled = running_compiled()
except ImportError:  # a baseline tree from before Round 6
    compiled = False
print(json.dumps({"build_s": built, "cpu_s": cpu, "rss_kib": rss_kib, "events": events,
                  "compiled": compiled, "steady_cpu_s": steady_cpu,
                  "steady_events": steady_events}))
"""


def _child(
    masters: int,
    replicas: int,
    seconds: int,
    tree: str | None = None,
    compiled_dir: Path | None = None,
    steady: int = 0,
) -> dict[str, float]:
    """One size in a fresh process: CPU time of ``seconds`` simulated after :data:`WARM_S`,
    and (``steady`` > 0) of ``steady`` more simulated seconds from :data:`STEADY_WARM_S`
    on (``steady_cpu_s``; 0.0 when not asked or when ``tree`` is older than this)."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV, DIR_ENV)}
    if tree is not None:
        env["PYTHONPATH"] = tree
    if compiled_dir is not None:
        env.update({ENV: "1", DIR_ENV: str(compiled_dir)})
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            *map(str, (masters, replicas, seconds, WARM_S, steady, STEADY_WARM_S)),
        ],
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


def _steady(result: dict[str, float], steady: int) -> str:
    """The steady-state factor of a child, or a dash when that window was not timed."""
    return _factor(steady / result["steady_cpu_s"]) if result.get("steady_cpu_s") else "—"


def main() -> str:
    baseline_tree = os.environ.get("RCSIM_BENCH_BASELINE")
    if baseline_tree:
        baseline_tree = os.path.abspath(baseline_tree)  # a relative tree, e.g. build/base
    baseline_max = int(os.environ.get("RCSIM_BENCH_BASELINE_MAX", "1000"))
    max_nodes = int(os.environ.get("RCSIM_BENCH_MAX_NODES", "2000"))
    steady_max = int(os.environ.get("RCSIM_BENCH_STEADY_MAX_NODES", "300"))
    empty = _child(0, 0, 0)
    compiled_dir, compiled_note = _compiled_build()
    rows = []
    for masters, replicas, seconds, steady_s in SIZES:
        nodes = masters * (1 + replicas)
        if nodes > max_nodes:
            continue
        steady = steady_s if nodes <= steady_max else 0
        result = _child(masters, replicas, seconds, steady=steady)
        factor = seconds / result["cpu_s"]
        memory = (result["rss_kib"] - empty["rss_kib"]) / 1024
        start = max(STEADY_WARM_S, WARM_S + seconds)
        row = [
            f"{nodes:,} ({masters}+{masters * replicas})",
            f"{seconds} s",
            f"{result['cpu_s']:.2f} s",
            _factor(factor),
            f"{steady} s from {start} s" if steady else "—",
            _steady(result, steady),
            f"{result['events'] / result['cpu_s']:,.0f}",
            f"{result['build_s']:.1f} s",
            f"{memory:,.0f} MiB",
        ]
        if compiled_dir is not None:
            fast = _child(masters, replicas, seconds, compiled_dir=compiled_dir, steady=steady)
            fast_factor = seconds / fast["cpu_s"]
            fast_memory = (fast["rss_kib"] - empty["rss_kib"]) / 1024
            row += [
                _factor(fast_factor),
                _steady(fast, steady),
                f"{fast_memory:,.0f} MiB",
                f"{fast_factor / factor:.2f}×",
            ]
        if baseline_tree:
            if nodes <= baseline_max:
                base = _child(masters, replicas, seconds, baseline_tree, steady=steady)
                base_factor = seconds / base["cpu_s"]
                base_memory = (base["rss_kib"] - empty["rss_kib"]) / 1024
                base_steady = _steady(base, steady)
                row += [
                    _factor(base_factor),
                    base_steady,
                    f"{base_memory:,.0f} MiB",
                    f"{factor / base_factor:.2f}×",
                    f"{base['steady_cpu_s'] / result['steady_cpu_s']:.2f}×"
                    if base_steady != "—" and result["steady_cpu_s"]
                    else "—",
                ]
            else:
                row += ["—"] * 5
        rows.append(row)
    header = [
        "nodes",
        "timed",
        "CPU time",
        f"simulated / CPU (from {WARM_S} s)",
        "steady window",
        "steady simulated / CPU",
        "events/s",
        "build (CPU)",
        "peak memory over baseline",
    ]
    if compiled_dir is not None:
        header += ["compiled", "compiled steady", "compiled memory", "compiled ÷ pure"]
    if baseline_tree:
        header += [
            "baseline",
            "baseline steady",
            "baseline memory",
            "speed-up",
            "steady speed-up",
        ]
    return (
        "## Cluster bus speed (default NT 15 s, converged cluster, no clients)\n\n"
        f"Factor = simulated time / CPU time of the timed span, after {WARM_S} s of simulated "
        "warm-up (1000× = an hour of cluster time in 3.6 s); that window holds the ping "
        "bursts every NT/2 that follow a create-like start (real Redis has them too after "
        "`redis-cli --cluster create`). *Steady* = the same child timed again from "
        f"{STEADY_WARM_S} s of simulated time (or right after the first window, if later), "
        "when the bursts have faded: the converged idle cluster of issue 12 "
        "(docs/benchmarks.md, Round 8); sizes above "
        f"{steady_max:,} nodes are not timed there (`RCSIM_BENCH_STEADY_MAX_NODES`). "
        "Memory = peak RSS of the run minus the peak RSS of a process that only imports "
        f"the simulator ({empty['rss_kib'] / 1024:.1f} MiB), measured in the same run."
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
