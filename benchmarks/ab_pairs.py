"""A/B pairs: two source trees' converged idle cluster, run alternately, CPU time.

``.venv/bin/python -m benchmarks.ab_pairs MASTERS SECONDS TREE_A TREE_B PAIRS [WARM]`` runs a
``MASTERS`` + ``MASTERS`` cluster for ``SECONDS`` simulated seconds after a ``WARM`` s
warm-up (default 2: the window holds the ping bursts that follow the create-like start;
60 or more: the steady state of a converged idle cluster, docs/benchmarks.md Round 8),
once per tree per pair, each in a fresh process with that tree on ``PYTHONPATH``, and
prints each side's ratio to real time and B/A per pair (docs/benchmarks.md, Round 3).
Alternating the trees in one run is what makes the ratio meaningful on a shared host.

With ``--traced`` (anywhere in the arguments) each side builds the cluster as the TUI does
(``tui.launch.cluster_session``, NT 15 s: every bus message traced for the message view)
and times ``Simulation.run_until``: the simulation a TUI tick runs (docs/benchmarks.md,
Round 10).

A tree written ``TREE:compiled`` runs with ``RCSIM_COMPILED=1`` (its ``make fast`` build,
``TREE/build/fast``; docs/benchmarks.md, Round 6), e.g. ``. .:compiled``: the same sources
pure and compiled. A compiled side that ran pure Python (no current build) is an error.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import sys, time
from simulator.cluster import Cluster, standard_topology
from simulator.engine import Engine
from simulator.trace import Trace
m, s, w = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
engine = Engine(1)
Cluster(engine, Trace(), standard_topology(m, 1), {})
engine.run_until(w * 1000)
t = time.process_time()
engine.run_until(w * 1000 + s * 1000)
ratio = s / (time.process_time() - t)
try:
    from simulator.compiled import running_compiled
except ImportError:  # a tree from before Round 6
    def running_compiled(): return False
print(ratio, running_compiled())
"""

TRACED_CHILD = """
import sys, time
from tui.launch import cluster_session
m, s, w = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
session = cluster_session(m, 1, seed=1, node_timeout=15_000, playing=False)
session.sim.run_until(w * 1000)
t = time.process_time()
session.sim.run_until(w * 1000 + s * 1000)
ratio = s / (time.process_time() - t)
try:
    from simulator.compiled import running_compiled
except ImportError:  # a tree from before Round 6
    def running_compiled(): return False
print(ratio, running_compiled())
"""


def ratio(spec: str, masters: str, seconds: str, warm: str = "2", traced: bool = False) -> float:
    """Simulated seconds per CPU second of one run of ``spec`` (``TREE[:compiled]``)."""
    tree, _, mode = spec.partition(":")
    tree = os.path.abspath(tree)
    env = {"PYTHONPATH": tree}
    if mode == "compiled":
        env.update({"RCSIM_COMPILED": "1", "RCSIM_COMPILED_DIR": os.path.join(tree, "build/fast")})
    elif mode:
        raise SystemExit(f"ab_pairs: {spec}: unknown mode {mode!r} (TREE or TREE:compiled)")
    result = subprocess.run(
        [sys.executable, "-c", TRACED_CHILD if traced else CHILD, masters, seconds, warm],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    value, compiled = result.stdout.split()
    if (compiled == "True") != (mode == "compiled"):
        raise SystemExit(
            f"ab_pairs: {spec} ran {'compiled' if compiled == 'True' else 'pure'}: "
            f"{result.stderr.strip()}"
        )
    return float(value)


def main(argv: list[str]) -> int:
    traced = "--traced" in argv
    argv = [a for a in argv if a != "--traced"]
    if len(argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    masters, seconds, tree_a, tree_b, pairs = argv[:5]
    warm = argv[5] if len(argv) == 6 else "2"
    a_runs: list[float] = []
    b_runs: list[float] = []
    for _ in range(int(pairs)):
        a_runs.append(ratio(tree_a, masters, seconds, warm, traced))
        b_runs.append(ratio(tree_b, masters, seconds, warm, traced))
    print("A", a_runs, "B", b_runs, "B/A", [b / a for a, b in zip(a_runs, b_runs, strict=True)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
